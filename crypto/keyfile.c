#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/file.h"
#include "crypto/b64.h"
#include "crypto/keyfile.h"

#define KF_MAGIC "CVSK"
#define KF_VERSION 1
#define KF_KDF_NONE 0
#define KF_KDF_ARGON2ID13 1
#define KF_AEAD_NONE 0
#define KF_AEAD_XCHACHA20POLY1305 1
#define KF_SALT_LEN 16
#define KF_NONCE_LEN 24
#define KF_TAG_LEN 16
#define KF_HEADER_LEN (4 + 4 + 8 + 8 + KF_SALT_LEN + KF_NONCE_LEN + COVE_PK_LEN)
#define KF_PLAIN_LEN (KF_HEADER_LEN + COVE_SEED_LEN)
#define KF_SEALED_LEN (KF_PLAIN_LEN + KF_TAG_LEN)
#define KF_COMMENT "untrusted comment: "

_Static_assert(KF_SALT_LEN == crypto_pwhash_SALTBYTES, "Argon2id salt size");
_Static_assert(KF_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "XChaCha nonce");
_Static_assert(KF_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "XChaCha tag");

struct cove_kf {
	uint8_t rec[KF_SEALED_LEN]; /* the decoded record */
	size_t rec_len;
	int encrypted;
	unsigned long long opslimit;
	size_t memlimit;
};

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

#define OFF_OPS 8
#define OFF_MEM 16
#define OFF_SALT 24
#define OFF_NONCE (OFF_SALT + KF_SALT_LEN)
#define OFF_PK (OFF_NONCE + KF_NONCE_LEN)
#define OFF_PAYLOAD (OFF_PK + COVE_PK_LEN)

_Static_assert(OFF_PAYLOAD == KF_HEADER_LEN, "key file layout");

static int all_zero(const uint8_t *p, size_t n)
{
	return sodium_is_zero(p, n);
}

/* Validates the header fields of a decoded record. */
static int kf_check_record(struct cove_kf *kf)
{
	const uint8_t *r = kf->rec;
	uint64_t ops, mem;

	if (memcmp(r, KF_MAGIC, 4) != 0)
		return COVE_ERR_KEYFILE;
	if (r[4] != KF_VERSION)
		return COVE_ERR_VERSION;
	if (r[7] != 0)
		return COVE_ERR_KEYFILE;
	ops = get_be64(r + OFF_OPS);
	mem = get_be64(r + OFF_MEM);
	if (r[5] == KF_KDF_NONE && r[6] == KF_AEAD_NONE) {
		if (kf->rec_len != KF_PLAIN_LEN || ops != 0 || mem != 0 ||
		    !all_zero(r + OFF_SALT, KF_SALT_LEN + KF_NONCE_LEN))
			return COVE_ERR_KEYFILE;
		kf->encrypted = 0;
		return COVE_OK;
	}
	if (r[5] != KF_KDF_ARGON2ID13 || r[6] != KF_AEAD_XCHACHA20POLY1305)
		return COVE_ERR_KEYFILE;
	if (kf->rec_len != KF_SEALED_LEN)
		return COVE_ERR_KEYFILE;
	if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > COVE_KF_OPSLIMIT_MAX ||
	    mem < crypto_pwhash_MEMLIMIT_MIN || mem > COVE_KF_MEMLIMIT_MAX)
		return COVE_ERR_KEYFILE;
	kf->encrypted = 1;
	kf->opslimit = ops;
	kf->memlimit = (size_t)mem;
	return COVE_OK;
}

/* The stored public key is what `cove-keys public` prints without asking
 * for a passphrase, so it is checked here rather than at unlock: it must
 * be a usable key, and, where the seed is in the clear, the seed's own. */
static int kf_check_public(const struct cove_kf *kf)
{
	struct cove_ident *id;
	int ret;

	if (cove_pk_check(kf->rec + OFF_PK) != COVE_OK)
		return COVE_ERR_BAD_KEY;
	if (kf->encrypted)
		return COVE_OK; /* compared at unlock, once the seed is open */
	id = cove_ident_new();
	if (!id)
		return COVE_ERR_NOMEM;
	ret = cove_ident_from_seed(id, kf->rec + OFF_PAYLOAD);
	if (ret == COVE_OK && sodium_memcmp(id->pk, kf->rec + OFF_PK, COVE_PK_LEN) != 0)
		ret = COVE_ERR_KEY_MISMATCH;
	cove_ident_free(id);
	return ret;
}

int cove_kf_parse(struct cove_kf **out, const char *text, size_t len)
{
	const char *nl, *b64, *end;
	size_t b64_len, got = 0;
	struct cove_kf *kf;
	int ret;

	*out = NULL;
	if (len > COVE_KF_MAX_FILE || len < sizeof(KF_COMMENT) - 1 ||
	    memcmp(text, KF_COMMENT, sizeof(KF_COMMENT) - 1) != 0)
		return COVE_ERR_KEYFILE;
	nl = memchr(text, '\n', len);
	if (!nl)
		return COVE_ERR_KEYFILE;
	b64 = nl + 1;
	end = text + len;
	/* The record line may end with "\n" or "\r\n"; nothing may follow. */
	if (end > b64 && end[-1] == '\n')
		end--;
	if (end > b64 && end[-1] == '\r')
		end--;
	b64_len = (size_t)(end - b64);
	if (b64_len == 0 || memchr(b64, '\n', b64_len))
		return COVE_ERR_KEYFILE;
	kf = sodium_malloc(sizeof(*kf));
	if (!kf)
		return COVE_ERR_NOMEM;
	sodium_memzero(kf, sizeof(*kf));
	if (cove_b64_decode(kf->rec, sizeof(kf->rec), b64, b64_len, &got) != COVE_OK ||
	    got < KF_PLAIN_LEN) {
		ret = COVE_ERR_KEYFILE;
		goto fail;
	}
	kf->rec_len = got;
	ret = kf_check_record(kf);
	if (ret == COVE_OK)
		ret = kf_check_public(kf);
	if (ret != COVE_OK)
		goto fail;
	*out = kf;
	return COVE_OK;
fail:
	sodium_free(kf);
	return ret;
}

int cove_kf_load(struct cove_kf **out, const char *path, int check_perms)
{
	char *text = NULL;
	size_t len = 0;
	struct stat st;
	int fd, ret;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return COVE_ERR_IO;
	if (fstat(fd, &st) != 0) {
		ret = COVE_ERR_IO;
		goto out;
	}
	/* Checked before a byte is read, as ssh does: a key others can read
	 * may already be theirs, and the user should hear so at once. */
	if (check_perms && (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0)) {
		ret = COVE_ERR_PERMS;
		goto out;
	}
	/* A fixed buffer in locked memory: growing one with realloc would
	 * leave copies of an unencrypted seed in freed heap. */
	text = sodium_malloc(COVE_KF_MAX_FILE + 1);
	if (!text) {
		ret = COVE_ERR_NOMEM;
		goto out;
	}
	for (;;) {
		ssize_t r = read(fd, text + len, COVE_KF_MAX_FILE + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = COVE_ERR_IO;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > COVE_KF_MAX_FILE) {
			ret = COVE_ERR_KEYFILE;
			goto out;
		}
	}
	ret = cove_kf_parse(out, text, len);
out:
	if (text)
		sodium_free(text);
	if (ret == COVE_ERR_IO) {
		int e = errno;

		close(fd);
		errno = e;
	} else {
		close(fd);
	}
	return ret;
}

void cove_kf_free(struct cove_kf *kf)
{
	if (kf)
		sodium_free(kf);
}

int cove_kf_encrypted(const struct cove_kf *kf)
{
	return kf->encrypted;
}

const uint8_t *cove_kf_public(const struct cove_kf *kf)
{
	return kf->rec + OFF_PK;
}

static int kf_derive(uint8_t key[32], const char *pass, size_t pass_len, const uint8_t *salt,
		     unsigned long long ops, size_t mem)
{
	if (crypto_pwhash(key, 32, pass, pass_len, salt, ops, mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0)
		return COVE_ERR_NOMEM;
	return COVE_OK;
}

int cove_kf_unlock(const struct cove_kf *kf, const char *pass, size_t pass_len,
		   struct cove_ident *id)
{
	uint8_t *seed = sodium_malloc(COVE_SEED_LEN + 32);
	uint8_t *key;
	int ret;

	if (!seed)
		return COVE_ERR_NOMEM;
	key = seed + COVE_SEED_LEN;
	if (!kf->encrypted) {
		memcpy(seed, kf->rec + OFF_PAYLOAD, COVE_SEED_LEN);
	} else {
		if (!pass) {
			ret = COVE_ERR_NEED_PASSPHRASE;
			goto out;
		}
		ret = kf_derive(key, pass, pass_len, kf->rec + OFF_SALT, kf->opslimit,
				kf->memlimit);
		if (ret != COVE_OK)
			goto out;
		if (crypto_aead_xchacha20poly1305_ietf_decrypt(
			    seed, NULL, NULL, kf->rec + OFF_PAYLOAD, COVE_SEED_LEN + KF_TAG_LEN,
			    kf->rec, KF_HEADER_LEN, kf->rec + OFF_NONCE, key) != 0) {
			ret = COVE_ERR_PASSPHRASE;
			goto out;
		}
	}
	ret = cove_ident_from_seed(id, seed);
	if (ret == COVE_OK && sodium_memcmp(id->pk, kf->rec + OFF_PK, COVE_PK_LEN) != 0) {
		sodium_memzero(id, sizeof(*id));
		ret = COVE_ERR_KEY_MISMATCH;
	}
out:
	sodium_free(seed);
	return ret;
}

int cove_kf_encode(char *out, size_t cap, size_t *len, const struct cove_ident *id,
		   const char *pass, size_t pass_len,
		   unsigned long long opslimit, size_t memlimit)
{
	static const char comment[] = KF_COMMENT "cove secret key; keep this file private\n";
	uint8_t *buf = sodium_malloc(KF_SEALED_LEN + COVE_SEED_LEN + 32);
	uint8_t *rec, *seed, *key;
	size_t rec_len, b64_len;
	int ret = COVE_OK;

	if (!buf)
		return COVE_ERR_NOMEM;
	rec = buf;
	seed = buf + KF_SEALED_LEN;
	key = seed + COVE_SEED_LEN;
	sodium_memzero(rec, KF_SEALED_LEN);
	memcpy(rec, KF_MAGIC, 4);
	rec[4] = KF_VERSION;
	memcpy(rec + OFF_PK, id->pk, COVE_PK_LEN);
	cove_ident_seed(id, seed);
	if (pass_len == 0) {
		memcpy(rec + OFF_PAYLOAD, seed, COVE_SEED_LEN);
		rec_len = KF_PLAIN_LEN;
	} else {
		if (opslimit < crypto_pwhash_OPSLIMIT_MIN || opslimit > COVE_KF_OPSLIMIT_MAX ||
		    memlimit < crypto_pwhash_MEMLIMIT_MIN || memlimit > COVE_KF_MEMLIMIT_MAX) {
			ret = COVE_ERR_INVAL;
			goto out;
		}
		rec[5] = KF_KDF_ARGON2ID13;
		rec[6] = KF_AEAD_XCHACHA20POLY1305;
		put_be64(rec + OFF_OPS, opslimit);
		put_be64(rec + OFF_MEM, memlimit);
		randombytes_buf(rec + OFF_SALT, KF_SALT_LEN);
		randombytes_buf(rec + OFF_NONCE, KF_NONCE_LEN);
		ret = kf_derive(key, pass, pass_len, rec + OFF_SALT, opslimit, memlimit);
		if (ret != COVE_OK)
			goto out;
		crypto_aead_xchacha20poly1305_ietf_encrypt(rec + OFF_PAYLOAD, NULL, seed,
							   COVE_SEED_LEN, rec, KF_HEADER_LEN,
							   NULL, rec + OFF_NONCE, key);
		rec_len = KF_SEALED_LEN;
	}
	b64_len = sodium_base64_ENCODED_LEN(rec_len, sodium_base64_VARIANT_ORIGINAL) - 1;
	if (cap < sizeof(comment) - 1 + b64_len + 2) {
		ret = COVE_ERR_SPACE;
		goto out;
	}
	memcpy(out, comment, sizeof(comment) - 1);
	sodium_bin2base64(out + sizeof(comment) - 1, b64_len + 1, rec, rec_len,
			  sodium_base64_VARIANT_ORIGINAL);
	*len = sizeof(comment) - 1 + b64_len;
	out[(*len)++] = '\n';
	out[*len] = '\0';
out:
	sodium_free(buf);
	return ret;
}

int cove_kf_save(const char *path, int overwrite, const struct cove_ident *id,
		 const char *pass, size_t pass_len,
		 unsigned long long opslimit, size_t memlimit)
{
	char *text = sodium_malloc(COVE_KF_MAX_FILE);
	size_t len = 0;
	int ret, e = 0;

	if (!text)
		return COVE_ERR_NOMEM;
	ret = cove_kf_encode(text, COVE_KF_MAX_FILE, &len, id, pass, pass_len, opslimit,
			     memlimit);
	if (ret == COVE_OK) {
		ret = cove_file_replace(path, text, len, 0600, overwrite);
		e = errno;
	}
	sodium_free(text);
	errno = e;
	return ret;
}
