#include <string.h>

#include "common/err.h"
#include "crypto/b64.h"
#include "crypto/ident.h"

int cove_crypto_init(void)
{
	if (sodium_init() < 0)
		return COVE_ERR_SODIUM;
	if (!crypto_aead_aes256gcm_is_available())
		return COVE_ERR_NO_AES;
	return COVE_OK;
}

struct cove_ident *cove_ident_new(void)
{
	struct cove_ident *id = sodium_malloc(sizeof(*id));

	if (id)
		sodium_memzero(id, sizeof(*id));
	return id;
}

void cove_ident_free(struct cove_ident *id)
{
	if (id)
		sodium_free(id);
}

int cove_ident_generate(struct cove_ident *id)
{
	crypto_sign_keypair(id->pk, id->sk);
	return COVE_OK;
}

int cove_ident_from_seed(struct cove_ident *id, const uint8_t seed[COVE_SEED_LEN])
{
	if (crypto_sign_seed_keypair(id->pk, id->sk, seed) != 0)
		return COVE_ERR_INVAL;
	return COVE_OK;
}

void cove_ident_seed(const struct cove_ident *id, uint8_t seed[COVE_SEED_LEN])
{
	crypto_sign_ed25519_sk_to_seed(seed, id->sk);
}

int cove_sign(const struct cove_ident *id, const uint8_t *msg, size_t len,
	      uint8_t sig[COVE_SIG_LEN])
{
	crypto_sign_detached(sig, NULL, msg, len, id->sk);
	return COVE_OK;
}

int cove_verify(const uint8_t pk[COVE_PK_LEN], const uint8_t *msg, size_t len,
		const uint8_t sig[COVE_SIG_LEN])
{
	if (crypto_sign_verify_detached(sig, msg, len, pk) != 0)
		return COVE_ERR_SIGNATURE;
	return COVE_OK;
}

_Static_assert(COVE_PK_LEN == crypto_core_ed25519_BYTES, "an Ed25519 point");

int cove_pk_check(const uint8_t pk[COVE_PK_LEN])
{
	return crypto_core_ed25519_is_valid_point(pk) ? COVE_OK : COVE_ERR_BAD_KEY;
}

void cove_pk_to_b64(char out[COVE_PK_B64_LEN + 1], const uint8_t pk[COVE_PK_LEN])
{
	sodium_bin2base64(out, COVE_PK_B64_LEN + 1, pk, COVE_PK_LEN,
			  sodium_base64_VARIANT_ORIGINAL);
}

int cove_pk_from_b64(uint8_t pk[COVE_PK_LEN], const char *s, size_t len)
{
	size_t got = 0;

	if (len != COVE_PK_B64_LEN || cove_b64_decode(pk, COVE_PK_LEN, s, len, &got) != COVE_OK ||
	    got != COVE_PK_LEN)
		return COVE_ERR_BASE64;
	return COVE_OK;
}

void cove_pk_fingerprint(char out[COVE_FP_LEN + 1], const uint8_t pk[COVE_PK_LEN])
{
	static const char domain[] = "COVE-FP-V1";
	static const char hex[] = "0123456789abcdef";
	crypto_generichash_state st;
	uint8_t h[16];
	size_t o = 0;

	crypto_generichash_init(&st, NULL, 0, sizeof(h));
	crypto_generichash_update(&st, (const uint8_t *)domain, sizeof(domain) - 1);
	crypto_generichash_update(&st, pk, COVE_PK_LEN);
	crypto_generichash_final(&st, h, sizeof(h));
	for (size_t i = 0; i < sizeof(h); i++) {
		if (i > 0 && i % 2 == 0)
			out[o++] = ' ';
		out[o++] = hex[h[i] >> 4];
		out[o++] = hex[h[i] & 15];
	}
	out[o] = '\0';
}
