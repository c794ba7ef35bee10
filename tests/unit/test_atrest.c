/*
 * test_atrest.c - encryption at rest: only the identity that sealed a
 * blob opens it, only where it was sealed for, and tags are keyed by the
 * identity. The vectors were computed independently of libsodium (Python's
 * hashlib BLAKE2b, HChaCha20 by hand, ChaCha20-Poly1305 from the
 * cryptography package), so they pin the derivation documented in
 * crypto/atrest.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/atrest.h"
#include "tests/unit/check.h"

/* seed 00 01 .. 1f, context COVEHIST */
#define KAT_TAG_LOBBY "8f23a39f2677c88d1fbda31d0828699c6e29f675ef87d4b231c4ebc32db5d6cb"
/* "hello at rest" sealed with ad "kat.ad" and nonce 40 41 .. 57 */
#define KAT_BLOB                                                                         \
	"404142434445464748494a4b4c4d4e4f5051525354555657256879ee1a71e277d8bd0de6af"   \
	"45f6bfaef6df618dfcbb8c624d38f2a8"

static const uint8_t text[] = "the meeting moved to thursday";
static const uint8_t ad_here[] = "msg.body\0row-1";
static const uint8_t ad_there[] = "msg.body\0row-2";

static struct cove_atrest *keys_of_seed(uint8_t first)
{
	struct cove_ident *id = cove_ident_new();
	struct cove_atrest *ar = NULL;
	uint8_t seed[COVE_SEED_LEN];

	assert_non_null(id);
	for (size_t i = 0; i < sizeof(seed); i++)
		seed[i] = (uint8_t)(first + i);
	assert_ok(cove_ident_from_seed(id, seed));
	assert_ok(cove_atrest_new(&ar, id, COVE_ATREST_CTX_HIST));
	cove_ident_free(id);
	return ar;
}

static void seal_text(const struct cove_atrest *ar, uint8_t *blob, const uint8_t *ad,
		      size_t ad_len)
{
	assert_ok(cove_atrest_seal(ar, blob, text, sizeof(text), ad, ad_len));
}

TEST(sealed_blob_opens_to_the_same_bytes)
{
	struct cove_atrest *ar = keys_of_seed(1);
	uint8_t blob[sizeof(text) + COVE_ATREST_OVERHEAD], back[sizeof(text)];

	seal_text(ar, blob, ad_here, sizeof(ad_here));
	assert_ok(cove_atrest_open(ar, back, blob, sizeof(blob), ad_here, sizeof(ad_here)));
	assert_bytes(back, text, sizeof(text));
	cove_atrest_free(ar);
}

TEST(two_seals_of_one_text_differ)
{
	struct cove_atrest *ar = keys_of_seed(1);
	uint8_t a[sizeof(text) + COVE_ATREST_OVERHEAD], b[sizeof(a)];

	seal_text(ar, a, ad_here, sizeof(ad_here));
	seal_text(ar, b, ad_here, sizeof(ad_here));
	assert_bytes_differ(a, b, COVE_ATREST_NONCE_LEN);
	assert_bytes_differ(a + COVE_ATREST_NONCE_LEN, b + COVE_ATREST_NONCE_LEN,
			    sizeof(a) - COVE_ATREST_NONCE_LEN);
	cove_atrest_free(ar);
}

TEST(another_identity_cannot_open)
{
	struct cove_atrest *mine = keys_of_seed(1), *theirs = keys_of_seed(2);
	uint8_t blob[sizeof(text) + COVE_ATREST_OVERHEAD], back[sizeof(text)];

	seal_text(mine, blob, ad_here, sizeof(ad_here));
	assert_err(cove_atrest_open(theirs, back, blob, sizeof(blob), ad_here, sizeof(ad_here)),
		   COVE_ERR_DECRYPT);
	cove_atrest_free(mine);
	cove_atrest_free(theirs);
}

TEST(another_context_of_the_same_identity_cannot_open)
{
	struct cove_ident *id = cove_ident_new();
	struct cove_atrest *hist = NULL, *other = NULL;
	uint8_t blob[sizeof(text) + COVE_ATREST_OVERHEAD], back[sizeof(text)];

	assert_ok(cove_ident_generate(id));
	assert_ok(cove_atrest_new(&hist, id, COVE_ATREST_CTX_HIST));
	assert_ok(cove_atrest_new(&other, id, "COVEOTHR"));
	seal_text(hist, blob, ad_here, sizeof(ad_here));
	assert_err(cove_atrest_open(other, back, blob, sizeof(blob), ad_here, sizeof(ad_here)),
		   COVE_ERR_DECRYPT);
	cove_atrest_free(hist);
	cove_atrest_free(other);
	cove_ident_free(id);
}

TEST(every_flipped_bit_is_detected)
{
	struct cove_atrest *ar = keys_of_seed(1);
	uint8_t blob[sizeof(text) + COVE_ATREST_OVERHEAD], back[sizeof(text)];

	seal_text(ar, blob, ad_here, sizeof(ad_here));
	for (size_t i = 0; i < sizeof(blob) * 8; i++) {
		blob[i / 8] ^= (uint8_t)(1u << (i % 8));
		if (cove_atrest_open(ar, back, blob, sizeof(blob), ad_here, sizeof(ad_here)) !=
		    COVE_ERR_DECRYPT)
			fail_msg("bit %zu of the blob flipped, and it still opened", i);
		blob[i / 8] ^= (uint8_t)(1u << (i % 8));
	}
	cove_atrest_free(ar);
}

TEST(blob_moved_to_another_place_fails)
{
	struct cove_atrest *ar = keys_of_seed(1);
	uint8_t blob[sizeof(text) + COVE_ATREST_OVERHEAD], back[sizeof(text)];

	seal_text(ar, blob, ad_here, sizeof(ad_here));
	assert_err(cove_atrest_open(ar, back, blob, sizeof(blob), ad_there, sizeof(ad_there)),
		   COVE_ERR_DECRYPT);
	assert_err(cove_atrest_open(ar, back, blob, sizeof(blob), ad_here, sizeof(ad_here) - 1),
		   COVE_ERR_DECRYPT);
	cove_atrest_free(ar);
}

TEST(truncated_blob_fails)
{
	struct cove_atrest *ar = keys_of_seed(1);
	uint8_t blob[sizeof(text) + COVE_ATREST_OVERHEAD], back[sizeof(text)];

	seal_text(ar, blob, ad_here, sizeof(ad_here));
	assert_err(cove_atrest_open(ar, back, blob, sizeof(blob) - 1, ad_here, sizeof(ad_here)),
		   COVE_ERR_DECRYPT);
	assert_err(cove_atrest_open(ar, back, blob, COVE_ATREST_OVERHEAD - 1, ad_here,
				    sizeof(ad_here)),
		   COVE_ERR_INVAL);
	cove_atrest_free(ar);
}

TEST(empty_plaintext_round_trips)
{
	struct cove_atrest *ar = keys_of_seed(1);
	uint8_t blob[COVE_ATREST_OVERHEAD], back[1];

	assert_ok(cove_atrest_seal(ar, blob, back, 0, NULL, 0));
	assert_ok(cove_atrest_open(ar, back, blob, sizeof(blob), NULL, 0));
	cove_atrest_free(ar);
}

TEST(tags_are_stable_for_one_identity_and_differ_between_identities)
{
	struct cove_atrest *a = keys_of_seed(1), *a2 = keys_of_seed(1), *b = keys_of_seed(2);
	uint8_t ta[COVE_ATREST_TAG_LEN], ta2[COVE_ATREST_TAG_LEN], tb[COVE_ATREST_TAG_LEN];

	cove_atrest_tag(a, ta, (const uint8_t *)"lobby", 5);
	cove_atrest_tag(a2, ta2, (const uint8_t *)"lobby", 5);
	cove_atrest_tag(b, tb, (const uint8_t *)"lobby", 5);
	assert_bytes(ta, ta2, sizeof(ta));
	assert_bytes_differ(ta, tb, sizeof(ta));
	cove_atrest_tag(a, ta2, (const uint8_t *)"lobbz", 5);
	assert_bytes_differ(ta, ta2, sizeof(ta));
	cove_atrest_free(a);
	cove_atrest_free(a2);
	cove_atrest_free(b);
}

TEST(tag_of_a_fixed_seed_is_the_known_vector)
{
	struct cove_atrest *ar = keys_of_seed(0);
	uint8_t tag[COVE_ATREST_TAG_LEN], want[COVE_ATREST_TAG_LEN];

	unhex(want, sizeof(want), KAT_TAG_LOBBY);
	cove_atrest_tag(ar, tag, (const uint8_t *)"lobby", 5);
	assert_bytes(tag, want, sizeof(want));
	cove_atrest_free(ar);
}

TEST(blob_of_a_fixed_seed_and_nonce_opens_to_the_known_text)
{
	struct cove_atrest *ar = keys_of_seed(0);
	uint8_t blob[sizeof(KAT_BLOB) / 2], back[sizeof(blob) - COVE_ATREST_OVERHEAD];

	unhex(blob, sizeof(blob), KAT_BLOB);
	assert_ok(cove_atrest_open(ar, back, blob, sizeof(blob), (const uint8_t *)"kat.ad", 6));
	assert_u64(sizeof(back), 13);
	assert_bytes(back, "hello at rest", sizeof(back));
	cove_atrest_free(ar);
}

TEST(free_of_null_is_a_no_op)
{
	cove_atrest_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sealed_blob_opens_to_the_same_bytes),
		cmocka_unit_test(two_seals_of_one_text_differ),
		cmocka_unit_test(another_identity_cannot_open),
		cmocka_unit_test(another_context_of_the_same_identity_cannot_open),
		cmocka_unit_test(every_flipped_bit_is_detected),
		cmocka_unit_test(blob_moved_to_another_place_fails),
		cmocka_unit_test(truncated_blob_fails),
		cmocka_unit_test(empty_plaintext_round_trips),
		cmocka_unit_test(tags_are_stable_for_one_identity_and_differ_between_identities),
		cmocka_unit_test(tag_of_a_fixed_seed_is_the_known_vector),
		cmocka_unit_test(blob_of_a_fixed_seed_and_nonce_opens_to_the_known_text),
		cmocka_unit_test(free_of_null_is_a_no_op),
	};
	int r = cove_crypto_init();

	if (r != COVE_OK) {
		fprintf(stderr, "cove_crypto_init: %s\n", cove_strerror(r));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
