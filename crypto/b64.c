#include <sodium.h>

#include "common/err.h"
#include "crypto/b64.h"

static int in_alphabet(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '+' || c == '/' || c == '=';
}

int cove_b64_decode(uint8_t *out, size_t cap, const char *s, size_t len, size_t *out_len)
{
	const char *end = NULL;
	size_t got = 0;

	if (len == 0 || len % 4 != 0)
		return COVE_ERR_BASE64;
	for (size_t i = 0; i < len; i++)
		if (!in_alphabet((unsigned char)s[i]))
			return COVE_ERR_BASE64;
	if (sodium_base642bin(out, cap, s, len, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || end != s + len)
		return COVE_ERR_BASE64;
	*out_len = got;
	return COVE_OK;
}
