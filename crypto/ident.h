/*
 * ident.h - Ed25519 identities: generation, signing, verification and
 * the textual forms of public keys (base64 and fingerprint).
 *
 * A struct cove_ident holds a secret key. Get one only from
 * cove_ident_new(), which places it in libsodium's guarded, locked memory;
 * release it with cove_ident_free(), which wipes it.
 */
#ifndef COVE_CRYPTO_IDENT_H
#define COVE_CRYPTO_IDENT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/sizes.h"

struct cove_ident {
	uint8_t pk[COVE_PK_LEN];
	uint8_t sk[COVE_SK_LEN];
};

/* Initialises libsodium and checks that AES-256-GCM is usable on this CPU.
 * Call first in every main. Returns 0, COVE_ERR_SODIUM or COVE_ERR_NO_AES. */
int cove_crypto_init(void);

/* Returns a zeroed identity in locked memory, or NULL. */
struct cove_ident *cove_ident_new(void);

/* Wipes and frees; NULL is a no-op. */
void cove_ident_free(struct cove_ident *id);

/* Fills id with a fresh random key pair. Returns 0. */
int cove_ident_generate(struct cove_ident *id);

/* Derives the key pair from a 32-byte seed. Returns 0 or COVE_ERR_INVAL. */
int cove_ident_from_seed(struct cove_ident *id, const uint8_t seed[COVE_SEED_LEN]);

/* Copies the 32-byte seed out of id (the part a key file stores). */
void cove_ident_seed(const struct cove_ident *id, uint8_t seed[COVE_SEED_LEN]);

/* Signs msg with id into sig. Returns 0. */
int cove_sign(const struct cove_ident *id, const uint8_t *msg, size_t len,
	      uint8_t sig[COVE_SIG_LEN]);

/* Returns 0 when sig is pk's signature of msg, else COVE_ERR_SIGNATURE. */
int cove_verify(const uint8_t pk[COVE_PK_LEN], const uint8_t *msg, size_t len,
		const uint8_t sig[COVE_SIG_LEN]);

/* Whether pk can be someone's Ed25519 public key: the canonical encoding
 * of a point on the curve, in its prime-order subgroup, and not of small
 * order (so not all zeros, not the identity; libsodium's
 * crypto_core_ed25519_is_valid_point). A key that fails this cannot have
 * come from any secret key, and the signatures it would "verify" prove
 * nothing. Check every public key that arrives from outside (a file, a
 * command line, a frame) before trusting it.
 * Returns 0 or COVE_ERR_BAD_KEY. */
int cove_pk_check(const uint8_t pk[COVE_PK_LEN]);

/* Writes the 44-character standard base64 of pk and a NUL into out. */
void cove_pk_to_b64(char out[COVE_PK_B64_LEN + 1], const uint8_t pk[COVE_PK_LEN]);

/* Parses exactly len characters of standard base64 (with '=' padding) that
 * must decode to 32 bytes. Returns 0 or COVE_ERR_BASE64. */
int cove_pk_from_b64(uint8_t pk[COVE_PK_LEN], const char *s, size_t len);

/* Writes a short fingerprint of pk, eight groups of four hex digits from
 * BLAKE2b-128("COVE-FP-V1" || pk), and a NUL into out. */
void cove_pk_fingerprint(char out[COVE_FP_LEN + 1], const uint8_t pk[COVE_PK_LEN]);

#endif
