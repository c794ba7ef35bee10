/*
 * fuzz_keyfile.c - cove_kf_parse() and cove_kf_unlock() on hostile key
 * files.
 *
 * Checked:
 *  - parsing returns COVE_OK, COVE_ERR_KEYFILE, COVE_ERR_VERSION,
 *    COVE_ERR_BAD_KEY or COVE_ERR_KEY_MISMATCH, and a key file only with
 *    COVE_OK, whose public key passes cove_pk_check();
 *  - an unencrypted file unlocks (with or without a passphrase, which it
 *    ignores) to the stored public key (parsing has refused a seed that
 *    does not match it); what unlocks encodes again to a file that
 *    parses and unlocks to the same key;
 *  - an encrypted file asks for a passphrase (COVE_ERR_NEED_PASSPHRASE),
 *    and with one unlocks to the stored public key or fails with
 *    COVE_ERR_PASSPHRASE or COVE_ERR_KEY_MISMATCH. Argon2id runs only when the
 *    file asks for libsodium's minimum costs (1 pass, 8 KiB): the parser
 *    accepts up to 16 passes and 4 GiB, far too slow for fuzzing.
 */
#include <string.h>

#include "common/err.h"
#include "crypto/ident.h"
#include "crypto/keyfile.h"
#include "tests/fuzz/fuzz.h"

/* The passphrase of the encrypted seeds in the corpus. */
#define FUZZ_PASS "cove fuzz"

static uint64_t be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

/* Reads the Argon2id costs from the record line of a file that parsed;
 * keyfile.h documents the layout (opslimit at byte 8, memlimit at 16). */
static int costs_minimal(const char *text, size_t len)
{
	const char *b64 = memchr(text, '\n', len) + 1, *end = text + len;
	uint8_t rec[256];
	size_t got = 0;

	if (end > b64 && end[-1] == '\n')
		end--;
	if (end > b64 && end[-1] == '\r')
		end--;
	if (sodium_base642bin(rec, sizeof(rec), b64, (size_t)(end - b64), NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0 || got < 24)
		return 0;
	return be64(rec + 8) == crypto_pwhash_OPSLIMIT_MIN &&
	       be64(rec + 16) == crypto_pwhash_MEMLIMIT_MIN;
}

static void check_unlocked(const struct cove_kf *kf, const struct cove_ident *id, int r,
			   const char *how)
{
	FUZZ_CHECK(r == COVE_OK || (cove_kf_encrypted(kf) && (r == COVE_ERR_KEY_MISMATCH ||
		   r == COVE_ERR_PASSPHRASE)), "unlock %s returned %d (%s)", how, r,
		   cove_strerror(r));
	if (r == COVE_OK)
		FUZZ_CHECK(memcmp(id->pk, cove_kf_public(kf), COVE_PK_LEN) == 0,
			   "unlock %s gave a key other than the stored one", how);
}

/* An identity that unlocked must survive a round trip through a plain
 * key file. */
static void check_reencode(const struct cove_ident *id)
{
	char text[COVE_KF_MAX_FILE];
	struct cove_ident *id2 = cove_ident_new();
	struct cove_kf *kf2 = NULL;
	size_t len = 0;
	int r;

	FUZZ_CHECK(id2 != NULL, "out of memory");
	r = cove_kf_encode(text, sizeof(text), &len, id, NULL, 0, 0, 0);
	FUZZ_CHECK(r == COVE_OK, "cove_kf_encode returned %d", r);
	r = cove_kf_parse(&kf2, text, len);
	FUZZ_CHECK(r == COVE_OK, "the re-encoded file does not parse: %d", r);
	r = cove_kf_unlock(kf2, NULL, 0, id2);
	FUZZ_CHECK(r == COVE_OK && memcmp(id2->pk, id->pk, COVE_PK_LEN) == 0 &&
			   memcmp(id2->sk, id->sk, COVE_SK_LEN) == 0,
		   "the re-encoded file unlocks to another key (%d)", r);
	cove_kf_free(kf2);
	cove_ident_free(id2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct cove_kf *kf = (struct cove_kf *)&kf; /* must be reset to NULL */
	struct cove_ident *id;
	int r;

	fuzz_sodium_init();
	r = cove_kf_parse(&kf, text, size);
	FUZZ_CHECK(r == COVE_OK || r == COVE_ERR_KEYFILE || r == COVE_ERR_VERSION ||
		   r == COVE_ERR_BAD_KEY || r == COVE_ERR_KEY_MISMATCH,
		   "cove_kf_parse returned %d (%s)", r, cove_strerror(r));
	FUZZ_CHECK((r == COVE_OK) == (kf != NULL), "returned %d and a key file %p", r,
		   (void *)kf);
	if (r != COVE_OK)
		return 0;
	FUZZ_CHECK(cove_pk_check(cove_kf_public(kf)) == COVE_OK,
		   "a parsed key file holds a public key that cannot be anyone's");
	id = cove_ident_new();
	FUZZ_CHECK(id != NULL, "out of memory");
	if (!cove_kf_encrypted(kf)) {
		r = cove_kf_unlock(kf, NULL, 0, id);
		check_unlocked(kf, id, r, "without a passphrase");
		if (r == COVE_OK)
			check_reencode(id);
		r = cove_kf_unlock(kf, FUZZ_PASS, strlen(FUZZ_PASS), id);
		check_unlocked(kf, id, r, "with a passphrase it should ignore");
	} else {
		r = cove_kf_unlock(kf, NULL, 0, id);
		FUZZ_CHECK(r == COVE_ERR_NEED_PASSPHRASE,
			   "an encrypted file unlocked without a passphrase returned %d", r);
		if (costs_minimal(text, size)) {
			r = cove_kf_unlock(kf, FUZZ_PASS, strlen(FUZZ_PASS), id);
			check_unlocked(kf, id, r, "with the passphrase");
			if (r == COVE_OK)
				check_reencode(id);
			r = cove_kf_unlock(kf, "wrong", 5, id);
			check_unlocked(kf, id, r, "with a wrong passphrase");
		}
	}
	cove_ident_free(id);
	cove_kf_free(kf);
	return 0;
}
