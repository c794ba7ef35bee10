/*
 * atrest.h - encryption at rest bound to an identity: what a node keeps
 * on its disk (history, membership secrets, group keys) is sealed under
 * keys that only the identity's secret key gives back.
 *
 * Keys, from the identity's 32-byte Ed25519 seed (never stored):
 *
 *   root = BLAKE2b-256(key = seed, "COVE-ATREST-V1")
 *   enc  = crypto_kdf_derive_from_key(32, 1, ctx, root)
 *   tag  = crypto_kdf_derive_from_key(32, 2, ctx, root)
 *
 * ctx is eight bytes naming what the keys protect (COVE_ATREST_CTX_HIST
 * for a node's history file), so two stores of one identity never share
 * a key. crypto_kdf_derive_from_key(len, id, ctx, k) is libsodium's
 * BLAKE2b-256 keyed with k over nothing, with salt u64le(id) || 8 zero
 * bytes and personalisation ctx || 8 zero bytes.
 *
 * A sealed blob is nonce[24] || XChaCha20-Poly1305-IETF(enc, nonce, ad,
 * plaintext) || mac[16], with a fresh random nonce each time (192 bits:
 * random nonces never collide in practice). The associated data names
 * where the blob belongs (its table, column and row key, built by the
 * caller), so a blob copied to another place fails to open.
 *
 * A tag is BLAKE2b-256(key = tag, bytes): a keyed hash that indexes rows
 * (a room by its name, a message by who sent it) without showing what
 * it hashes, and that differs between identities.
 *
 * Both keys live in one struct cove_atrest in libsodium's guarded,
 * locked memory, wiped when freed.
 */
#ifndef COVE_CRYPTO_ATREST_H
#define COVE_CRYPTO_ATREST_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ident.h"

#define COVE_ATREST_KEY_LEN 32
#define COVE_ATREST_NONCE_LEN 24
#define COVE_ATREST_MAC_LEN 16
#define COVE_ATREST_OVERHEAD (COVE_ATREST_NONCE_LEN + COVE_ATREST_MAC_LEN)
#define COVE_ATREST_TAG_LEN 32
#define COVE_ATREST_CTX_LEN 8

/* The context of a node's history and state file. */
#define COVE_ATREST_CTX_HIST "COVEHIST"

_Static_assert(COVE_ATREST_KEY_LEN == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
	       "XChaCha20-Poly1305 key size");
_Static_assert(COVE_ATREST_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	       "XChaCha20-Poly1305 nonce size");
_Static_assert(COVE_ATREST_MAC_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES,
	       "XChaCha20-Poly1305 tag size");
_Static_assert(COVE_ATREST_KEY_LEN == crypto_kdf_KEYBYTES, "kdf master key size");
_Static_assert(COVE_ATREST_CTX_LEN == crypto_kdf_CONTEXTBYTES, "kdf context size");
_Static_assert(COVE_ATREST_TAG_LEN == crypto_generichash_BYTES, "BLAKE2b-256 size");

struct cove_atrest; /* the two keys; opaque, in locked memory */

/* Derives the keys of id's store named by ctx (exactly
 * COVE_ATREST_CTX_LEN bytes, not NUL-terminated) into a new struct the
 * caller releases with cove_atrest_free(). id is only read: the caller
 * keeps it and may free it at once. Returns 0 or COVE_ERR_NOMEM. */
int cove_atrest_new(struct cove_atrest **out, const struct cove_ident *id,
		    const char ctx[COVE_ATREST_CTX_LEN]);

/* Wipes and frees; NULL is a no-op. */
void cove_atrest_free(struct cove_atrest *ar);

/* Seals pt_len bytes of pt, bound to ad, into out, which holds
 * pt_len + COVE_ATREST_OVERHEAD bytes. pt and out must not overlap.
 * Returns 0. */
int cove_atrest_seal(const struct cove_atrest *ar, uint8_t *out, const uint8_t *pt,
		     size_t pt_len, const uint8_t *ad, size_t ad_len);

/* Opens a blob of blob_len bytes sealed with the same ad into pt, which
 * holds blob_len - COVE_ATREST_OVERHEAD bytes (the caller owns it and
 * wipes it when it held a secret). pt is left unspecified on failure.
 * Returns 0, COVE_ERR_INVAL (shorter than the overhead) or
 * COVE_ERR_DECRYPT (another identity's blob, another ad, or changed). */
int cove_atrest_open(const struct cove_atrest *ar, uint8_t *pt, const uint8_t *blob,
		     size_t blob_len, const uint8_t *ad, size_t ad_len);

/* The keyed hash of len bytes into out. */
void cove_atrest_tag(const struct cove_atrest *ar, uint8_t out[COVE_ATREST_TAG_LEN],
		     const uint8_t *bytes, size_t len);

#endif
