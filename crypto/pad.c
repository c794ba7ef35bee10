#include <sodium.h>

#include "common/err.h"
#include "crypto/pad.h"

static unsigned floor_log2(size_t x)
{
	unsigned r = 0;

	while (x >>= 1)
		r++;
	return r;
}

static size_t padme(size_t n)
{
	unsigned e = floor_log2(n);
	unsigned s = floor_log2(e) + 1;
	size_t mask = ((size_t)1 << (e - s)) - 1;

	return (n + mask) & ~mask;
}

size_t cove_pad_size(size_t len)
{
	if (len > COVE_PAD_MAX_PAYLOAD)
		return 0;
	if (len + 1 <= COVE_PAD_MIN)
		return COVE_PAD_MIN;
	return padme(len + 1);
}

int cove_pad(uint8_t *buf, size_t len, size_t cap, size_t *padded_len)
{
	size_t want = cove_pad_size(len);

	if (want == 0)
		return COVE_ERR_INVAL;
	if (cap < want)
		return COVE_ERR_SPACE;
	buf[len] = 0x80;
	sodium_memzero(buf + len + 1, want - len - 1);
	*padded_len = want;
	return COVE_OK;
}

int cove_unpad(const uint8_t *buf, size_t padded_len, size_t *len)
{
	size_t n = 0;

	if (padded_len < COVE_PAD_MIN || padded_len > COVE_PAD_MAX)
		return COVE_ERR_PADDING;
	/* sodium_unpad reads the ISO/IEC 7816-4 padding without branching on
	 * secret bytes; the block size is the whole buffer. */
	if (sodium_unpad(&n, buf, padded_len, padded_len) != 0)
		return COVE_ERR_PADDING;
	if (cove_pad_size(n) != padded_len)
		return COVE_ERR_PADDING;
	*len = n;
	return COVE_OK;
}

size_t cove_link_pad_size(size_t len)
{
	if (len == 0 || len > COVE_LINK_FRAME_MAX)
		return 0;
	if (len + 1 <= COVE_LINK_PAD_MIN)
		return COVE_LINK_PAD_MIN;
	return padme(len + 1);
}

int cove_link_unpad(const uint8_t *buf, size_t padded_len, size_t *len)
{
	size_t n = 0;

	if (padded_len < COVE_LINK_PAD_MIN || padded_len > COVE_LINK_PAD_MAX)
		return COVE_ERR_PADDING;
	if (sodium_unpad(&n, buf, padded_len, padded_len) != 0)
		return COVE_ERR_PADDING;
	if (cove_link_pad_size(n) != padded_len)
		return COVE_ERR_PADDING;
	*len = n;
	return COVE_OK;
}
