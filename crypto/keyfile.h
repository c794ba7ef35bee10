/*
 * keyfile.h - secret key files.
 *
 * A key file is two lines, in the manner of minisign:
 *
 *   untrusted comment: <free text>
 *   <standard base64 of the record>
 *
 * The record (all integers big-endian):
 *
 *   "CVSK" | u8 version=1 | u8 kdf | u8 aead | u8 0 | u64 opslimit |
 *   u64 memlimit | salt[16] | nonce[24] | pk[32] | payload
 *
 * kdf=0, aead=0: no passphrase; opslimit, memlimit, salt and nonce are 0;
 * payload is the 32-byte Ed25519 seed.
 * kdf=1 (Argon2id v1.3), aead=1 (XChaCha20-Poly1305-IETF): the key is
 * crypto_pwhash(passphrase, salt, opslimit, memlimit); payload is the
 * encrypted seed and its 16-byte tag; the associated data is every byte
 * of the record before the payload. A wrong passphrase is told apart from
 * a corrupt file by the AEAD failing while the header parses.
 *
 * The public key is kept in the clear so `cove-keys public` needs no
 * passphrase. Parsing refuses one that cove_pk_check() refuses and, when
 * the seed is in the clear, one that is not the seed's; every unlock
 * checks it against the seed again.
 */
#ifndef COVE_CRYPTO_KEYFILE_H
#define COVE_CRYPTO_KEYFILE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ident.h"

/* Argon2id cost used by `cove-keys generate`: libsodium's "moderate"
 * (3 passes, 256 MiB), about a second on a laptop. */
#define COVE_KF_OPSLIMIT crypto_pwhash_OPSLIMIT_MODERATE
#define COVE_KF_MEMLIMIT crypto_pwhash_MEMLIMIT_MODERATE

/* Ceilings a key file may ask for; larger values are taken as corrupt
 * rather than spending minutes or gigabytes on them. */
#define COVE_KF_OPSLIMIT_MAX 16ULL
#define COVE_KF_MEMLIMIT_MAX (4ULL << 30)

#define COVE_KF_MAX_FILE 4096  /* a key file is ~250 bytes; more is not one */

struct cove_kf; /* a parsed key file; opaque, in locked memory */

/* Parses the text of a key file. On success *out is a new key file the
 * caller frees with cove_kf_free(). Returns 0, COVE_ERR_KEYFILE,
 * COVE_ERR_VERSION, COVE_ERR_BAD_KEY (the stored public key is no usable
 * key), COVE_ERR_KEY_MISMATCH (an unencrypted seed gives another public
 * key) or COVE_ERR_NOMEM. */
int cove_kf_parse(struct cove_kf **out, const char *text, size_t len);

/* Reads and parses path. With check_perms, refuses (COVE_ERR_PERMS) a
 * file that is not a regular file or that group or others may read or
 * write. Returns as cove_kf_parse() or COVE_ERR_IO with errno set. */
int cove_kf_load(struct cove_kf **out, const char *path, int check_perms);

void cove_kf_free(struct cove_kf *kf);

/* Whether the secret is passphrase-protected. */
int cove_kf_encrypted(const struct cove_kf *kf);

/* The public key stored in the file (32 bytes, owned by kf). */
const uint8_t *cove_kf_public(const struct cove_kf *kf);

/* Recovers the identity into id. pass is ignored for an unencrypted file.
 * Returns 0, COVE_ERR_NEED_PASSPHRASE (encrypted, pass NULL),
 * COVE_ERR_PASSPHRASE, COVE_ERR_KEY_MISMATCH (seed and public key
 * disagree) or COVE_ERR_NOMEM. */
int cove_kf_unlock(const struct cove_kf *kf, const char *pass, size_t pass_len,
		   struct cove_ident *id);

/* Encodes id as key file text into out (cap bytes, NUL-terminated), with
 * the secret protected by pass when pass_len > 0 (Argon2id with the
 * given costs and a random salt). *len receives the text length.
 * Returns 0, COVE_ERR_SPACE, COVE_ERR_INVAL (costs out of range) or
 * COVE_ERR_NOMEM (Argon2id could not get its memory). */
int cove_kf_encode(char *out, size_t cap, size_t *len, const struct cove_ident *id,
		   const char *pass, size_t pass_len,
		   unsigned long long opslimit, size_t memlimit);

/* Writes the encoded key to path with mode 0600 through a temporary file
 * in the same folder, so a crash never leaves half a key. Without
 * overwrite an existing path is kept and COVE_ERR_EXISTS returned.
 * Returns as cove_kf_encode() or COVE_ERR_IO with errno set. */
int cove_kf_save(const char *path, int overwrite, const struct cove_ident *id,
		 const char *pass, size_t pass_len,
		 unsigned long long opslimit, size_t memlimit);

#endif
