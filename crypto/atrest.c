#include <string.h>

#include "common/err.h"
#include "crypto/atrest.h"

#define ROOT_LABEL "COVE-ATREST-V1"
#define SUBKEY_ENC 1
#define SUBKEY_TAG 2

struct cove_atrest {
	uint8_t enc[COVE_ATREST_KEY_LEN];
	uint8_t tag[COVE_ATREST_KEY_LEN];
};

int cove_atrest_new(struct cove_atrest **out, const struct cove_ident *id,
		    const char ctx[COVE_ATREST_CTX_LEN])
{
	struct cove_atrest *ar = sodium_malloc(sizeof(*ar));
	uint8_t seed[COVE_SEED_LEN];
	uint8_t root[crypto_kdf_KEYBYTES];

	*out = NULL;
	if (!ar)
		return COVE_ERR_NOMEM;
	/* The seed, not the 64-byte secret key, is what a key file holds and
	 * what determines the identity; keying the root hash with it keeps
	 * these keys unrelated to the Ed25519 scalar used for signing. */
	cove_ident_seed(id, seed);
	crypto_generichash(root, sizeof(root), (const uint8_t *)ROOT_LABEL,
			   sizeof(ROOT_LABEL) - 1, seed, sizeof(seed));
	sodium_memzero(seed, sizeof(seed));
	crypto_kdf_derive_from_key(ar->enc, sizeof(ar->enc), SUBKEY_ENC, ctx, root);
	crypto_kdf_derive_from_key(ar->tag, sizeof(ar->tag), SUBKEY_TAG, ctx, root);
	sodium_memzero(root, sizeof(root));
	*out = ar;
	return COVE_OK;
}

void cove_atrest_free(struct cove_atrest *ar)
{
	if (ar)
		sodium_free(ar); /* sodium_free wipes before it unmaps */
}

int cove_atrest_seal(const struct cove_atrest *ar, uint8_t *out, const uint8_t *pt,
		     size_t pt_len, const uint8_t *ad, size_t ad_len)
{
	uint8_t *nonce = out;

	randombytes_buf(nonce, COVE_ATREST_NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + COVE_ATREST_NONCE_LEN, NULL, pt, pt_len,
						   ad, ad_len, NULL, nonce, ar->enc);
	return COVE_OK;
}

int cove_atrest_open(const struct cove_atrest *ar, uint8_t *pt, const uint8_t *blob,
		     size_t blob_len, const uint8_t *ad, size_t ad_len)
{
	if (blob_len < COVE_ATREST_OVERHEAD)
		return COVE_ERR_INVAL;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL, blob + COVE_ATREST_NONCE_LEN,
						       blob_len - COVE_ATREST_NONCE_LEN, ad,
						       ad_len, blob, ar->enc) != 0)
		return COVE_ERR_DECRYPT;
	return COVE_OK;
}

void cove_atrest_tag(const struct cove_atrest *ar, uint8_t out[COVE_ATREST_TAG_LEN],
		     const uint8_t *bytes, size_t len)
{
	crypto_generichash(out, COVE_ATREST_TAG_LEN, bytes, len, ar->tag, sizeof(ar->tag));
}
