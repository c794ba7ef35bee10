/*
 * test_keyfile.c - secret key files: round trips with and without a
 * passphrase, the errors a user will see (wrong or missing passphrase,
 * corrupt file, a public key that is not the secret key's or cannot be
 * anyone's, loose permissions, existing file), and that no single flipped
 * bit yields a key.
 *
 * Argon2id runs at libsodium's minimum costs to keep the suite fast.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "crypto/keyfile.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

#define OPS crypto_pwhash_OPSLIMIT_MIN
#define MEM crypto_pwhash_MEMLIMIT_MIN
#define PASS "correct horse battery staple"

/* The record layout of keyfile.h, for building and altering files. */
#define REC_PLAIN 128   /* 4+4+8+8+16+24+32 header + 32-byte seed */
#define REC_SEALED 144  /* ... + 16-byte tag */
#define OFF_MEM 16
#define OFF_PK 64

/* An unencrypted key file for the RFC 8032 test key, built independently
 * (Python) from the layout in keyfile.h. */
static const char rfc_file[] =
	"untrusted comment: test\n"
	"Q1ZTSwEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	"AAAAAAAAANdamAGCsQq31Uv+08lkBzoO4XLz2qYjJa8CGmj3B1EanWGxne/9WmC6hEr0kuwsxERJ"
	"xWl7MmkZcDusAxyuf2A=\n";
#define RFC_PK "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"

struct ctx {
	char dir[64];
	char path[128];
	struct cove_ident *id;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return -1;
	if (tmpdir_make(c->dir, "kf") != 0)
		return -1;
	snprintf(c->path, sizeof(c->path), "%s/key", c->dir);
	c->id = cove_ident_new();
	if (!c->id)
		return -1;
	cove_ident_generate(c->id);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	tmpdir_remove(c->dir);
	cove_ident_free(c->id);
	free(c);
	return 0;
}

static void assert_same_ident(const struct cove_ident *a, const struct cove_ident *b)
{
	assert_bytes(a->pk, b->pk, COVE_PK_LEN);
	assert_bytes(a->sk, b->sk, COVE_SK_LEN);
}

/* Encodes id, parses it back and unlocks it with pass; returns the
 * unlock result and leaves the identity in *out. */
static int encode_parse_unlock(const struct cove_ident *id, const char *enc_pass,
			       const char *pass, struct cove_ident *out, int *encrypted)
{
	char text[COVE_KF_MAX_FILE];
	struct cove_kf *kf = NULL;
	size_t len = 0;
	int r;

	assert_ok(cove_kf_encode(text, sizeof(text), &len, id, enc_pass,
				 enc_pass ? strlen(enc_pass) : 0, OPS, MEM));
	assert_u64(strlen(text), len);
	assert_ok(cove_kf_parse(&kf, text, len));
	assert_bytes(cove_kf_public(kf), id->pk, COVE_PK_LEN);
	*encrypted = cove_kf_encrypted(kf);
	r = cove_kf_unlock(kf, pass, pass ? strlen(pass) : 0, out);
	cove_kf_free(kf);
	return r;
}

TEST(unencrypted_key_round_trips)
{
	struct cove_ident *id = cove_ident_new(), *back = cove_ident_new();
	int enc = -1;

	assert_non_null(id);
	assert_non_null(back);
	cove_ident_generate(id);
	assert_ok(encode_parse_unlock(id, NULL, NULL, back, &enc));
	assert_int_equal(enc, 0);
	assert_same_ident(back, id);
	/* A passphrase given for an unencrypted file is ignored. */
	assert_ok(encode_parse_unlock(id, NULL, "whatever", back, &enc));
	assert_same_ident(back, id);
	cove_ident_free(id);
	cove_ident_free(back);
}

TEST(known_key_file_gives_the_known_key)
{
	struct cove_ident *id = cove_ident_new();
	struct cove_kf *kf = NULL;
	uint8_t pk[COVE_PK_LEN];

	assert_non_null(id);
	unhex(pk, sizeof(pk), RFC_PK);
	assert_ok(cove_kf_parse(&kf, rfc_file, strlen(rfc_file)));
	assert_int_equal(cove_kf_encrypted(kf), 0);
	assert_bytes(cove_kf_public(kf), pk, COVE_PK_LEN);
	assert_ok(cove_kf_unlock(kf, NULL, 0, id));
	assert_bytes(id->pk, pk, COVE_PK_LEN);
	cove_kf_free(kf);
	cove_ident_free(id);
}

TEST(encrypted_key_round_trips)
{
	struct cove_ident *id = cove_ident_new(), *back = cove_ident_new();
	int enc = -1;

	assert_non_null(id);
	assert_non_null(back);
	cove_ident_generate(id);
	assert_ok(encode_parse_unlock(id, PASS, PASS, back, &enc));
	assert_int_equal(enc, 1);
	assert_same_ident(back, id);
	cove_ident_free(id);
	cove_ident_free(back);
}

TEST(wrong_passphrase_is_reported_as_such)
{
	static const char *wrong[] = { "correct horse battery stapl", "Correct horse battery staple",
				       "correct horse battery staple ", "x" };
	struct cove_ident *id = cove_ident_new(), *back = cove_ident_new();
	int enc = -1;

	assert_non_null(id);
	assert_non_null(back);
	cove_ident_generate(id);
	for (size_t i = 0; i < sizeof(wrong) / sizeof(wrong[0]); i++)
		assert_err(encode_parse_unlock(id, PASS, wrong[i], back, &enc),
			   COVE_ERR_PASSPHRASE);
	/* An empty passphrase is a passphrase, and a wrong one. */
	assert_err(encode_parse_unlock(id, PASS, "", back, &enc), COVE_ERR_PASSPHRASE);
	cove_ident_free(id);
	cove_ident_free(back);
}

TEST(encrypted_key_without_passphrase_needs_one)
{
	struct cove_ident *id = cove_ident_new(), *back = cove_ident_new();
	int enc = -1;

	assert_non_null(id);
	assert_non_null(back);
	cove_ident_generate(id);
	assert_err(encode_parse_unlock(id, PASS, NULL, back, &enc), COVE_ERR_NEED_PASSPHRASE);
	cove_ident_free(id);
	cove_ident_free(back);
}

/* ---- record tampering --------------------------------------------------- */

static size_t record_of(const char *text, uint8_t *rec, size_t cap)
{
	const char *b64 = strchr(text, '\n') + 1;
	size_t got = 0;

	assert_int_equal(sodium_base642bin(rec, cap, b64, strcspn(b64, "\n"), NULL, &got, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	return got;
}

static void text_of(char *text, size_t cap, const uint8_t *rec, size_t n)
{
	size_t o = (size_t)snprintf(text, cap, "untrusted comment: altered\n");

	sodium_bin2base64(text + o, cap - o - 1, rec, n, sodium_base64_VARIANT_ORIGINAL);
	strcat(text, "\n");
}

/* Parses and unlocks a record; returns the first error, or 0 when a key
 * came out. */
static int try_record(const uint8_t *rec, size_t n, const char *pass)
{
	char text[COVE_KF_MAX_FILE];
	struct cove_kf *kf = NULL;
	struct cove_ident *id = cove_ident_new();
	int r;

	assert_non_null(id);
	text_of(text, sizeof(text), rec, n);
	r = cove_kf_parse(&kf, text, strlen(text));
	if (r == COVE_OK)
		r = cove_kf_unlock(kf, pass, pass ? strlen(pass) : 0, id);
	cove_kf_free(kf);
	cove_ident_free(id);
	return r;
}

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static void flip_every_bit(const char *pass)
{
	struct cove_ident *id = cove_ident_new();
	char text[COVE_KF_MAX_FILE];
	uint8_t rec[256];
	size_t len = 0, n;

	assert_non_null(id);
	cove_ident_generate(id);
	assert_ok(cove_kf_encode(text, sizeof(text), &len, id, pass, pass ? strlen(pass) : 0,
				 OPS, MEM));
	n = record_of(text, rec, sizeof(rec));
	assert_u64(n, pass ? REC_SEALED : REC_PLAIN);
	assert_ok(try_record(rec, n, pass));
	for (size_t bit = 0; bit < 8 * n; bit++) {
		int r;

		rec[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		/* A memlimit flipped up to gigabytes is still within the accepted
		 * range and would only cost time and memory: it is refused by
		 * the AEAD like any header change, checked below at 16 MiB. */
		if (be64(rec + OFF_MEM) > (16u << 20)) {
			rec[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			continue;
		}
		r = try_record(rec, n, pass);
		rec[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (r == COVE_OK)
			fail_msg("%s record with bit %zu (byte %zu) flipped gave a key",
				 pass ? "encrypted" : "unencrypted", bit, bit / 8);
	}
	cove_ident_free(id);
}

TEST(flipped_bit_in_unencrypted_record_gives_no_key)
{
	flip_every_bit(NULL);
}

TEST(flipped_bit_in_encrypted_record_gives_no_key)
{
	flip_every_bit(PASS);
}

/* id's seed with other's public key: what a file whose public key was
 * swapped by hand (or by an attacker who knew the passphrase) holds. */
static void encode_with_public_of(char *text, size_t cap, const struct cove_ident *id,
				  const struct cove_ident *other, const char *pass)
{
	struct cove_ident *fake = cove_ident_new();
	size_t len = 0;

	assert_non_null(fake);
	memcpy(fake->sk, id->sk, COVE_SK_LEN);
	memcpy(fake->pk, other->pk, COVE_PK_LEN);
	assert_ok(cove_kf_encode(text, cap, &len, fake, pass, pass ? strlen(pass) : 0, OPS, MEM));
	cove_ident_free(fake);
}

TEST(unencrypted_file_with_another_public_key_is_refused_when_parsed)
{
	struct cove_ident *id = cove_ident_new(), *other = cove_ident_new();
	char text[COVE_KF_MAX_FILE];
	struct cove_kf *kf = (struct cove_kf *)1;

	assert_non_null(id);
	assert_non_null(other);
	cove_ident_generate(id);
	cove_ident_generate(other);
	encode_with_public_of(text, sizeof(text), id, other, NULL);
	/* Refused before unlock: `cove-keys public` must not print it. */
	assert_err(cove_kf_parse(&kf, text, strlen(text)), COVE_ERR_KEY_MISMATCH);
	assert_null(kf);
	cove_ident_free(id);
	cove_ident_free(other);
}

TEST(encrypted_file_with_another_public_key_fails_unlock_leaving_no_key)
{
	struct cove_ident *id = cove_ident_new(), *other = cove_ident_new(), *out = cove_ident_new();
	static const struct cove_ident zero;
	char text[COVE_KF_MAX_FILE];
	struct cove_kf *kf = NULL;

	assert_non_null(id);
	assert_non_null(other);
	assert_non_null(out);
	cove_ident_generate(id);
	cove_ident_generate(other);
	encode_with_public_of(text, sizeof(text), id, other, PASS);
	assert_ok(cove_kf_parse(&kf, text, strlen(text))); /* the seed is sealed */
	assert_err(cove_kf_unlock(kf, PASS, strlen(PASS), out), COVE_ERR_KEY_MISMATCH);
	assert_bytes(out, &zero, sizeof(zero));
	cove_kf_free(kf);
	cove_ident_free(id);
	cove_ident_free(other);
	cove_ident_free(out);
}

TEST(stored_public_key_that_cannot_be_anyones_is_refused_when_parsed)
{
	static const char *const bad[] = {
		"0000000000000000000000000000000000000000000000000000000000000000", /* order 4 */
		"0100000000000000000000000000000000000000000000000000000000000000", /* identity */
		"c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a", /* order 8 */
		"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", /* y = p */
		"0200000000000000000000000000000000000000000000000000000000000000", /* off curve */
	};
	struct cove_ident *id = cove_ident_new();

	assert_non_null(id);
	cove_ident_generate(id);
	for (int enc = 0; enc < 2; enc++) {
		const char *pass = enc ? PASS : NULL;
		char text[COVE_KF_MAX_FILE];
		uint8_t rec[256];
		size_t len = 0, n;

		assert_ok(cove_kf_encode(text, sizeof(text), &len, id, pass,
					 pass ? strlen(pass) : 0, OPS, MEM));
		n = record_of(text, rec, sizeof(rec));
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			struct cove_kf *kf = NULL;
			int r;

			unhex(rec + OFF_PK, COVE_PK_LEN, bad[i]);
			text_of(text, sizeof(text), rec, n);
			r = cove_kf_parse(&kf, text, strlen(text));
			if (r != COVE_ERR_BAD_KEY || kf)
				fail_msg("%s file with public key %s: got %d (%s), want %d",
					 enc ? "encrypted" : "unencrypted", bad[i], r,
					 cove_strerror(r), COVE_ERR_BAD_KEY);
		}
	}
	cove_ident_free(id);
}

TEST(other_record_versions_are_reported_as_versions)
{
	char text[COVE_KF_MAX_FILE];
	uint8_t rec[256];
	size_t n = record_of(rfc_file, rec, sizeof(rec));
	struct cove_kf *kf = NULL;

	rec[4] = 2;
	text_of(text, sizeof(text), rec, n);
	assert_err(cove_kf_parse(&kf, text, strlen(text)), COVE_ERR_VERSION);
	assert_null(kf);
}

TEST(malformed_key_file_text_is_refused)
{
	char text[COVE_KF_MAX_FILE + 64];
	const char *rec_line = strchr(rfc_file, '\n') + 1;
	struct cove_kf *kf = NULL;
	uint8_t rec[256];
	size_t n;
	static const char *bad[] = {
		"",
		"untrusted comment: no record\n",
		"untrusted comment: no newline",
		"trusted comment: x\nQ1ZTSwEA\n",
		"untrusted comment: x\n\n",
		"untrusted comment: x\nQ1ZTSwEA\n",
		"untrusted comment: x\n!!!!\n",
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_err(cove_kf_parse(&kf, bad[i], strlen(bad[i])), COVE_ERR_KEYFILE);
	/* A third line, or junk after the record. */
	snprintf(text, sizeof(text), "%sextra\n", rfc_file);
	assert_err(cove_kf_parse(&kf, text, strlen(text)), COVE_ERR_KEYFILE);
	snprintf(text, sizeof(text), "untrusted comment: x\n%.*s junk\n",
		 (int)strcspn(rec_line, "\n"), rec_line);
	assert_err(cove_kf_parse(&kf, text, strlen(text)), COVE_ERR_KEYFILE);
	/* A record one byte short or long. */
	n = record_of(rfc_file, rec, sizeof(rec));
	text_of(text, sizeof(text), rec, n - 1);
	assert_err(cove_kf_parse(&kf, text, strlen(text)), COVE_ERR_KEYFILE);
	rec[n] = 0;
	text_of(text, sizeof(text), rec, n + 1);
	assert_err(cove_kf_parse(&kf, text, strlen(text)), COVE_ERR_KEYFILE);
	/* Over COVE_KF_MAX_FILE bytes, whatever they are. */
	memset(text, 'A', sizeof(text));
	memcpy(text, rfc_file, strlen(rfc_file));
	assert_err(cove_kf_parse(&kf, text, COVE_KF_MAX_FILE + 1), COVE_ERR_KEYFILE);
	assert_null(kf);
}

TEST(record_line_may_end_in_crlf_or_nothing)
{
	char text[COVE_KF_MAX_FILE];
	struct cove_kf *kf = NULL;
	size_t n = strlen(rfc_file);

	memcpy(text, rfc_file, n - 1);
	memcpy(text + n - 1, "\r\n", 3);
	assert_ok(cove_kf_parse(&kf, text, n + 1));
	cove_kf_free(kf);
	assert_ok(cove_kf_parse(&kf, rfc_file, n - 1));
	cove_kf_free(kf);
}

TEST(encode_refuses_argon2_costs_out_of_range)
{
	struct cove_ident *id = cove_ident_new();
	char text[COVE_KF_MAX_FILE];
	size_t len = 0;

	assert_non_null(id);
	cove_ident_generate(id);
	assert_err(cove_kf_encode(text, sizeof(text), &len, id, PASS, 4, 0, MEM), COVE_ERR_INVAL);
	assert_err(cove_kf_encode(text, sizeof(text), &len, id, PASS, 4, COVE_KF_OPSLIMIT_MAX + 1,
				  MEM), COVE_ERR_INVAL);
	assert_err(cove_kf_encode(text, sizeof(text), &len, id, PASS, 4, OPS, MEM - 1),
		   COVE_ERR_INVAL);
	assert_err(cove_kf_encode(text, sizeof(text), &len, id, PASS, 4, OPS,
				  (size_t)COVE_KF_MEMLIMIT_MAX + 1), COVE_ERR_INVAL);
	cove_ident_free(id);
}

TEST(encode_into_too_small_buffer_fails_with_space)
{
	struct cove_ident *id = cove_ident_new();
	char text[COVE_KF_MAX_FILE];
	size_t len = 0, dummy = 0;

	assert_non_null(id);
	cove_ident_generate(id);
	assert_ok(cove_kf_encode(text, sizeof(text), &len, id, NULL, 0, OPS, MEM));
	assert_err(cove_kf_encode(text, len, &dummy, id, NULL, 0, OPS, MEM), COVE_ERR_SPACE);
	assert_ok(cove_kf_encode(text, len + 1, &dummy, id, NULL, 0, OPS, MEM));
	cove_ident_free(id);
}

/* ---- files -------------------------------------------------------------- */

TEST(saved_key_loads_back)
{
	struct ctx *c = *cmocka_state_;
	struct cove_ident *back = cove_ident_new();
	struct cove_kf *kf = NULL;

	assert_non_null(back);
	assert_ok(cove_kf_save(c->path, 0, c->id, PASS, strlen(PASS), OPS, MEM));
	assert_ok(cove_kf_load(&kf, c->path, 1));
	assert_int_equal(cove_kf_encrypted(kf), 1);
	assert_ok(cove_kf_unlock(kf, PASS, strlen(PASS), back));
	assert_same_ident(back, c->id);
	cove_kf_free(kf);
	cove_ident_free(back);
}

TEST(save_writes_mode_0600_whatever_the_umask)
{
	struct ctx *c = *cmocka_state_;
	mode_t old = umask(0);
	struct stat st;

	assert_ok(cove_kf_save(c->path, 0, c->id, NULL, 0, OPS, MEM));
	umask(old);
	assert_int_equal(stat(c->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	if ((st.st_mode & 07777) != 0600)
		fail_msg("mode %04o, want 0600", (unsigned)(st.st_mode & 07777));
}

TEST(save_refuses_an_existing_file_without_overwrite)
{
	struct ctx *c = *cmocka_state_;
	struct cove_ident *other = cove_ident_new(), *back = cove_ident_new();
	struct cove_kf *kf = NULL;

	assert_non_null(other);
	assert_non_null(back);
	cove_ident_generate(other);
	assert_ok(cove_kf_save(c->path, 0, c->id, NULL, 0, OPS, MEM));
	assert_err(cove_kf_save(c->path, 0, other, NULL, 0, OPS, MEM), COVE_ERR_EXISTS);
	/* The first key is still there, and no temporary file is left. */
	assert_ok(cove_kf_load(&kf, c->path, 1));
	assert_ok(cove_kf_unlock(kf, NULL, 0, back));
	assert_same_ident(back, c->id);
	cove_kf_free(kf);
	{
		DIR *d = opendir(c->dir);
		struct dirent *e;
		int files = 0;

		assert_non_null(d);
		while ((e = readdir(d)) != NULL)
			files += e->d_name[0] != '.';
		closedir(d);
		assert_int_equal(files, 1);
	}
	/* With overwrite, the new key replaces it. */
	assert_ok(cove_kf_save(c->path, 1, other, NULL, 0, OPS, MEM));
	assert_ok(cove_kf_load(&kf, c->path, 1));
	assert_bytes(cove_kf_public(kf), other->pk, COVE_PK_LEN);
	cove_kf_free(kf);
	cove_ident_free(other);
	cove_ident_free(back);
}

TEST(load_with_check_perms_refuses_a_readable_file)
{
	static const mode_t loose[] = { 0644, 0640, 0604, 0620, 0602, 0660 };
	struct ctx *c = *cmocka_state_;
	struct cove_kf *kf = NULL;

	assert_ok(cove_kf_save(c->path, 0, c->id, NULL, 0, OPS, MEM));
	for (size_t i = 0; i < sizeof(loose) / sizeof(loose[0]); i++) {
		assert_int_equal(chmod(c->path, loose[i]), 0);
		assert_err(cove_kf_load(&kf, c->path, 1), COVE_ERR_PERMS);
		assert_null(kf);
		/* Without the check the same file loads. */
		assert_ok(cove_kf_load(&kf, c->path, 0));
		cove_kf_free(kf);
		kf = NULL;
	}
	assert_int_equal(chmod(c->path, 0400), 0);
	assert_ok(cove_kf_load(&kf, c->path, 1));
	cove_kf_free(kf);
}

TEST(load_with_check_perms_refuses_what_is_not_a_regular_file)
{
	struct ctx *c = *cmocka_state_;
	struct cove_kf *kf = NULL;

	assert_int_equal(chmod(c->dir, 0700), 0);
	assert_err(cove_kf_load(&kf, c->dir, 1), COVE_ERR_PERMS);
}

TEST(load_of_a_missing_file_is_an_io_error)
{
	struct ctx *c = *cmocka_state_;
	struct cove_kf *kf = NULL;

	errno = 0;
	assert_err(cove_kf_load(&kf, c->path, 1), COVE_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_null(kf);
}

TEST(load_refuses_a_file_over_the_size_limit)
{
	struct ctx *c = *cmocka_state_;
	struct cove_kf *kf = NULL;
	char *big = malloc(COVE_KF_MAX_FILE + 10);
	int fd;

	assert_non_null(big);
	memset(big, 'A', COVE_KF_MAX_FILE + 10);
	memcpy(big, rfc_file, strlen(rfc_file));
	fd = open(c->path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, big, COVE_KF_MAX_FILE + 10), COVE_KF_MAX_FILE + 10);
	close(fd);
	assert_err(cove_kf_load(&kf, c->path, 1), COVE_ERR_KEYFILE);
	free(big);
}

#define FILE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(unencrypted_key_round_trips),
		cmocka_unit_test(known_key_file_gives_the_known_key),
		cmocka_unit_test(encrypted_key_round_trips),
		cmocka_unit_test(wrong_passphrase_is_reported_as_such),
		cmocka_unit_test(encrypted_key_without_passphrase_needs_one),
		cmocka_unit_test(flipped_bit_in_unencrypted_record_gives_no_key),
		cmocka_unit_test(flipped_bit_in_encrypted_record_gives_no_key),
		cmocka_unit_test(unencrypted_file_with_another_public_key_is_refused_when_parsed),
		cmocka_unit_test(encrypted_file_with_another_public_key_fails_unlock_leaving_no_key),
		cmocka_unit_test(stored_public_key_that_cannot_be_anyones_is_refused_when_parsed),
		cmocka_unit_test(other_record_versions_are_reported_as_versions),
		cmocka_unit_test(malformed_key_file_text_is_refused),
		cmocka_unit_test(record_line_may_end_in_crlf_or_nothing),
		cmocka_unit_test(encode_refuses_argon2_costs_out_of_range),
		cmocka_unit_test(encode_into_too_small_buffer_fails_with_space),
		FILE_TEST(saved_key_loads_back),
		FILE_TEST(save_writes_mode_0600_whatever_the_umask),
		FILE_TEST(save_refuses_an_existing_file_without_overwrite),
		FILE_TEST(load_with_check_perms_refuses_a_readable_file),
		FILE_TEST(load_with_check_perms_refuses_what_is_not_a_regular_file),
		FILE_TEST(load_of_a_missing_file_is_an_io_error),
		FILE_TEST(load_refuses_a_file_over_the_size_limit),
	};
	int r = cove_crypto_init();

	if (r != COVE_OK) {
		fprintf(stderr, "cove_crypto_init: %s\n", cove_strerror(r));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
