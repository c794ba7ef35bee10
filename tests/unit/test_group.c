/*
 * test_group.c - a room's group key: sealing it to a joiner, deriving the
 * per-sender DAT keys, the key id every DAT carries, the hash of a member
 * list every KEY carries, and the AES-256-GCM of DAT payloads. Known
 * answers were computed independently (Python hashlib and cryptography)
 * from the formulas in group.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "crypto/group.h"
#include "crypto/ident.h"
#include "tests/unit/check.h"

#define KAT_FROM "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define KAT_DATKEY "6cdde1c688aedfc3f19c461452497d89f6deefb7bca706e3e33626d8f3657c25"
#define KAT_GCM "146dff2d39552d03e5a9e49ab70f8ef57d2febf6da16c8d8c4c4c1"
/* hashlib.blake2b(b"COVE-KID-V2\0" + epoch.to_bytes(4, "big"), digest_size=32,
 * key=bytes(range(32))) for epochs 0 and 0x01020304. */
#define KAT_KID_EPOCH_0 "65bd83e7dfc5ccddde77062b25e04c1b7d7f275b5ab98814f52d53cd1aff2441"
#define KAT_KID_EPOCH_01020304 "47c14e001a07267a6756b059e2932e18acbffd6cffe402a62a66397cde3fe599"
/* hashlib.blake2b(b"COVE-VIEW-V1\0" + (0x01020304).to_bytes(4, "big") +
 * b"".join(sorted(ids)), digest_size=16) for the three ids of view_ids(). */
#define KAT_VIEW "16396d4b005eacfa3a6f4e3b4791aee1"
/* The same with no ids at epoch 0. */
#define KAT_VIEW_EMPTY "f64c7402d0c90a920478df2f834d8ae9"

struct inputs {
	uint8_t gk[COVE_GK_LEN];
	char room[256];
	size_t room_len;
	uint8_t from[32];
	uint32_t epoch;
	uint8_t sid[COVE_SID_LEN];
};

static void kat_inputs(struct inputs *in)
{
	for (int i = 0; i < COVE_GK_LEN; i++)
		in->gk[i] = (uint8_t)i;
	memcpy(in->room, "general", 7);
	in->room_len = 7;
	unhex(in->from, sizeof(in->from), KAT_FROM);
	in->epoch = 0x01020304;
	for (int i = 0; i < COVE_SID_LEN; i++)
		in->sid[i] = (uint8_t)(0xa0 + i);
}

static void derive(uint8_t out[COVE_DATKEY_LEN], const struct inputs *in)
{
	assert_ok(cove_dat_key(out, in->gk, in->room, in->room_len, in->from, in->epoch, in->sid));
}

TEST(dat_key_is_the_known_answer)
{
	struct inputs in;
	uint8_t key[COVE_DATKEY_LEN], want[COVE_DATKEY_LEN];

	kat_inputs(&in);
	unhex(want, sizeof(want), KAT_DATKEY);
	derive(key, &in);
	assert_bytes(key, want, COVE_DATKEY_LEN);
}

/* Changing any bit of any input gives another key. */
TEST(dat_key_depends_on_every_input)
{
	struct inputs in;
	uint8_t base[COVE_DATKEY_LEN], key[COVE_DATKEY_LEN];
	struct { uint8_t *p; size_t n; const char *name; } parts[5];

	kat_inputs(&in);
	derive(base, &in);
	parts[0].p = in.gk; parts[0].n = COVE_GK_LEN; parts[0].name = "gk";
	parts[1].p = (uint8_t *)in.room; parts[1].n = in.room_len; parts[1].name = "room";
	parts[2].p = in.from; parts[2].n = 32; parts[2].name = "from";
	parts[3].p = (uint8_t *)&in.epoch; parts[3].n = 4; parts[3].name = "epoch";
	parts[4].p = in.sid; parts[4].n = COVE_SID_LEN; parts[4].name = "sid";
	for (size_t k = 0; k < 5; k++) {
		for (size_t bit = 0; bit < 8 * parts[k].n; bit++) {
			parts[k].p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			derive(key, &in);
			parts[k].p[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (memcmp(key, base, COVE_DATKEY_LEN) == 0)
				fail_msg("flipping bit %zu of %s leaves the DAT key unchanged", bit,
					 parts[k].name);
		}
	}
	/* The room's length counts, not just its bytes. */
	in.room_len = 6;
	derive(key, &in);
	assert_bytes_differ(key, base, COVE_DATKEY_LEN);
}

TEST(dat_key_needs_a_room_of_1_to_255_bytes)
{
	struct inputs in;
	uint8_t key[COVE_DATKEY_LEN];

	kat_inputs(&in);
	memset(in.room, 'r', sizeof(in.room));
	assert_err(cove_dat_key(key, in.gk, in.room, 0, in.from, 1, in.sid), COVE_ERR_INVAL);
	assert_err(cove_dat_key(key, in.gk, in.room, 256, in.from, 1, in.sid), COVE_ERR_INVAL);
	assert_ok(cove_dat_key(key, in.gk, in.room, 255, in.from, 1, in.sid));
}

TEST(dat_seal_is_the_known_answer)
{
	uint8_t key[COVE_DATKEY_LEN], ct[64], want[27], pt[32];

	unhex(key, sizeof(key), KAT_DATKEY);
	unhex(want, sizeof(want), KAT_GCM);
	assert_ok(cove_dat_seal(ct, (const uint8_t *)"hello, cove", 11,
				(const uint8_t *)"associated", 10, 0x0102030405060708ULL, key));
	assert_bytes(ct, want, sizeof(want));
	assert_ok(cove_dat_open(pt, want, sizeof(want), (const uint8_t *)"associated", 10,
				0x0102030405060708ULL, key));
	assert_bytes(pt, "hello, cove", 11);
}

TEST(dat_seal_then_open_round_trips)
{
	uint8_t key[COVE_DATKEY_LEN], pt[600], ct[600 + COVE_GCM_TAG_LEN], back[600];

	randombytes_buf(key, sizeof(key));
	for (size_t n = 0; n <= 512; n += 32) {
		randombytes_buf(pt, n);
		assert_ok(cove_dat_seal(ct, pt, n, (const uint8_t *)"ad", 2, n, key));
		assert_ok(cove_dat_open(back, ct, n + COVE_GCM_TAG_LEN, (const uint8_t *)"ad", 2, n,
					key));
		assert_bytes(back, pt, n);
	}
}

struct sealed {
	uint8_t key[COVE_DATKEY_LEN];
	uint8_t ad[24];
	uint8_t ct[40 + COVE_GCM_TAG_LEN];
	uint8_t pt[40];
};

static void seal_sample(struct sealed *s)
{
	randombytes_buf(s->key, sizeof(s->key));
	randombytes_buf(s->ad, sizeof(s->ad));
	randombytes_buf(s->pt, sizeof(s->pt));
	assert_ok(cove_dat_seal(s->ct, s->pt, sizeof(s->pt), s->ad, sizeof(s->ad), 42, s->key));
}

TEST(dat_open_fails_on_any_flipped_ciphertext_bit)
{
	struct sealed s;
	uint8_t out[40];

	seal_sample(&s);
	for (size_t bit = 0; bit < 8 * sizeof(s.ct); bit++) {
		int r;

		s.ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = cove_dat_open(out, s.ct, sizeof(s.ct), s.ad, sizeof(s.ad), 42, s.key);
		s.ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (r != COVE_ERR_DECRYPT)
			fail_msg("ct bit %zu flipped: got %d (%s)", bit, r, cove_strerror(r));
	}
}

TEST(dat_open_fails_on_any_flipped_ad_bit)
{
	struct sealed s;
	uint8_t out[40];

	seal_sample(&s);
	for (size_t bit = 0; bit < 8 * sizeof(s.ad); bit++) {
		int r;

		s.ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = cove_dat_open(out, s.ct, sizeof(s.ct), s.ad, sizeof(s.ad), 42, s.key);
		s.ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (r != COVE_ERR_DECRYPT)
			fail_msg("ad bit %zu flipped: got %d (%s)", bit, r, cove_strerror(r));
	}
	assert_err(cove_dat_open(out, s.ct, sizeof(s.ct), s.ad, sizeof(s.ad) - 1, 42, s.key),
		   COVE_ERR_DECRYPT);
}

TEST(dat_open_with_another_seq_or_key_fails)
{
	static const uint64_t seqs[] = { 0, 41, 43, 42ULL | (1ULL << 32), 42ULL << 56, UINT64_MAX };
	struct sealed s;
	uint8_t out[40];

	seal_sample(&s);
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
		assert_err(cove_dat_open(out, s.ct, sizeof(s.ct), s.ad, sizeof(s.ad), seqs[i], s.key),
			   COVE_ERR_DECRYPT);
	s.key[0] ^= 1;
	assert_err(cove_dat_open(out, s.ct, sizeof(s.ct), s.ad, sizeof(s.ad), 42, s.key),
		   COVE_ERR_DECRYPT);
	s.key[0] ^= 1;
	assert_ok(cove_dat_open(out, s.ct, sizeof(s.ct), s.ad, sizeof(s.ad), 42, s.key));
}

TEST(dat_open_of_truncated_ciphertext_fails)
{
	struct sealed s;
	uint8_t out[40];

	seal_sample(&s);
	assert_err(cove_dat_open(out, s.ct, COVE_GCM_TAG_LEN - 1, s.ad, sizeof(s.ad), 42, s.key),
		   COVE_ERR_INVAL);
	assert_err(cove_dat_open(out, s.ct, sizeof(s.ct) - 1, s.ad, sizeof(s.ad), 42, s.key),
		   COVE_ERR_DECRYPT);
	assert_err(cove_dat_open(out, s.ct, COVE_GCM_TAG_LEN, s.ad, sizeof(s.ad), 42, s.key),
		   COVE_ERR_DECRYPT);
}

TEST(group_key_sealed_to_a_joiner_opens_with_its_key_pair)
{
	uint8_t *gk = cove_gk_new(), *back = cove_gk_alloc();
	struct cove_xkp *kp = cove_xkp_new();
	uint8_t sealed[COVE_SEALED_GK_LEN];
	static const uint8_t zero[COVE_GK_LEN];

	assert_non_null(gk);
	assert_non_null(back);
	assert_non_null(kp);
	assert_bytes(back, zero, COVE_GK_LEN);
	assert_ok(cove_gk_seal(sealed, gk, kp->pk));
	assert_ok(cove_gk_open(back, sealed, kp));
	assert_bytes(back, gk, COVE_GK_LEN);
	cove_gk_free(gk);
	cove_gk_free(back);
	cove_xkp_free(kp);
}

TEST(group_key_does_not_open_with_another_key_pair)
{
	uint8_t *gk = cove_gk_new(), *back = cove_gk_alloc();
	struct cove_xkp *kp = cove_xkp_new(), *other = cove_xkp_new();
	uint8_t sealed[COVE_SEALED_GK_LEN];

	assert_non_null(gk);
	assert_non_null(back);
	assert_non_null(kp);
	assert_non_null(other);
	assert_ok(cove_gk_seal(sealed, gk, kp->pk));
	assert_err(cove_gk_open(back, sealed, other), COVE_ERR_DECRYPT);
	cove_gk_free(gk);
	cove_gk_free(back);
	cove_xkp_free(kp);
	cove_xkp_free(other);
}

TEST(sealed_group_key_with_a_flipped_bit_does_not_open)
{
	uint8_t *gk = cove_gk_new(), *back = cove_gk_alloc();
	struct cove_xkp *kp = cove_xkp_new();
	uint8_t sealed[COVE_SEALED_GK_LEN];

	assert_non_null(gk);
	assert_non_null(back);
	assert_non_null(kp);
	assert_ok(cove_gk_seal(sealed, gk, kp->pk));
	for (size_t bit = 0; bit < 8 * sizeof(sealed); bit++) {
		int r;

		sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = cove_gk_open(back, sealed, kp);
		sealed[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (r != COVE_ERR_DECRYPT)
			fail_msg("sealed bit %zu flipped: got %d (%s)", bit, r, cove_strerror(r));
	}
	cove_gk_free(gk);
	cove_gk_free(back);
	cove_xkp_free(kp);
}

TEST(fresh_keys_differ_and_free_of_null_is_a_no_op)
{
	uint8_t *a = cove_gk_new(), *b = cove_gk_new();
	struct cove_xkp *x = cove_xkp_new(), *y = cove_xkp_new();

	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(x);
	assert_non_null(y);
	assert_bytes_differ(a, b, COVE_GK_LEN);
	assert_bytes_differ(x->pk, y->pk, COVE_XPK_LEN);
	assert_bytes_differ(x->sk, y->sk, COVE_XSK_LEN);
	cove_gk_free(a);
	cove_gk_free(b);
	cove_xkp_free(x);
	cove_xkp_free(y);
	cove_gk_free(NULL);
	cove_xkp_free(NULL);
}

/* ---- key id ------------------------------------------------------------- */

static void kat_gk(uint8_t gk[COVE_GK_LEN])
{
	for (int i = 0; i < COVE_GK_LEN; i++)
		gk[i] = (uint8_t)i;
}

TEST(gk_kid_is_the_known_answer)
{
	uint8_t gk[COVE_GK_LEN], kid[COVE_KID_LEN], want[COVE_KID_LEN];

	kat_gk(gk);
	cove_gk_kid(kid, gk, 0);
	unhex(want, sizeof(want), KAT_KID_EPOCH_0);
	assert_bytes(kid, want, COVE_KID_LEN);
	cove_gk_kid(kid, gk, 0x01020304);
	unhex(want, sizeof(want), KAT_KID_EPOCH_01020304);
	assert_bytes(kid, want, COVE_KID_LEN);
}

/* Exactly COVE_KID_LEN (32: a 256-bit commitment) bytes are written,
 * nothing around them. */
TEST(gk_kid_writes_exactly_32_bytes)
{
	uint8_t gk[COVE_GK_LEN], buf[8 + COVE_KID_LEN + 8], fill[8];

	assert_u64(COVE_KID_LEN, 32);
	kat_gk(gk);
	memset(buf, 0xa5, sizeof(buf));
	memset(fill, 0xa5, sizeof(fill));
	cove_gk_kid(buf + 8, gk, 0);
	assert_bytes(buf, fill, 8);
	assert_bytes(buf + 8 + COVE_KID_LEN, fill, 8);
	assert_bytes_differ(buf + 8, fill, COVE_KID_LEN);
}

TEST(gk_kid_depends_on_every_bit_of_the_group_key)
{
	uint8_t gk[COVE_GK_LEN], base[COVE_KID_LEN], kid[COVE_KID_LEN];

	kat_gk(gk);
	cove_gk_kid(base, gk, 5);
	for (size_t bit = 0; bit < 8 * COVE_GK_LEN; bit++) {
		gk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		cove_gk_kid(kid, gk, 5);
		gk[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (memcmp(kid, base, COVE_KID_LEN) == 0)
			fail_msg("flipping bit %zu of gk leaves the key id unchanged", bit);
	}
}

TEST(gk_kid_depends_on_every_bit_of_the_epoch)
{
	uint8_t gk[COVE_GK_LEN], base[COVE_KID_LEN], kid[COVE_KID_LEN];
	const uint32_t epoch = 0x01020304;

	kat_gk(gk);
	cove_gk_kid(base, gk, epoch);
	for (unsigned bit = 0; bit < 32; bit++) {
		cove_gk_kid(kid, gk, epoch ^ (1u << bit));
		if (memcmp(kid, base, COVE_KID_LEN) == 0)
			fail_msg("flipping bit %u of the epoch leaves the key id unchanged", bit);
	}
}

TEST(gk_kid_is_the_same_for_the_same_key_and_epoch)
{
	uint8_t *gk = cove_gk_new(), a[COVE_KID_LEN], b[COVE_KID_LEN];

	assert_non_null(gk);
	cove_gk_kid(a, gk, 9);
	cove_gk_kid(b, gk, 9);
	assert_bytes(b, a, COVE_KID_LEN);
	cove_gk_free(gk);
}

/* ---- member-list hash --------------------------------------------------- */

/* Three identities given out of order; two share all but their last byte,
 * so only a comparison of all 32 bytes sorts them. Sorted: 2, 1, 0. */
static void view_ids(uint8_t ids[3][32])
{
	memset(ids[0], 0x55, 32);
	ids[0][31] = 0x02;
	memset(ids[1], 0x55, 32);
	ids[1][31] = 0x01;
	memset(ids[2], 0xff, 32);
	ids[2][0] = 0x01;
}

TEST(view_hash_is_the_known_answer)
{
	uint8_t ids[3][32], out[COVE_VIEW_LEN], want[COVE_VIEW_LEN];

	view_ids(ids);
	cove_view_hash(out, 0x01020304, ids, 3);
	unhex(want, sizeof(want), KAT_VIEW);
	assert_bytes(out, want, COVE_VIEW_LEN);
}

TEST(view_hash_of_no_ids_is_the_known_answer)
{
	uint8_t out[COVE_VIEW_LEN], want[COVE_VIEW_LEN];

	cove_view_hash(out, 0, NULL, 0);
	unhex(want, sizeof(want), KAT_VIEW_EMPTY);
	assert_bytes(out, want, COVE_VIEW_LEN);
}

/* Exactly COVE_VIEW_LEN (16) bytes are written, nothing around them. */
TEST(view_hash_writes_exactly_16_bytes)
{
	uint8_t ids[3][32], buf[8 + COVE_VIEW_LEN + 8], fill[8];

	assert_u64(COVE_VIEW_LEN, 16);
	view_ids(ids);
	memset(buf, 0xa5, sizeof(buf));
	memset(fill, 0xa5, sizeof(fill));
	cove_view_hash(buf + 8, 7, ids, 3);
	assert_bytes(buf, fill, 8);
	assert_bytes(buf + 8 + COVE_VIEW_LEN, fill, 8);
	assert_bytes_differ(buf + 8, fill, 8);
}

/* Every one of the 3! orders of the same three ids gives the same hash. */
TEST(view_hash_does_not_depend_on_the_order_of_ids)
{
	static const int perms[6][3] = {
		{ 0, 1, 2 }, { 0, 2, 1 }, { 1, 0, 2 }, { 1, 2, 0 }, { 2, 0, 1 }, { 2, 1, 0 },
	};
	uint8_t ids[3][32], order[3][32], base[COVE_VIEW_LEN], out[COVE_VIEW_LEN];

	view_ids(ids);
	memcpy(order, ids, sizeof(order));
	cove_view_hash(base, 7, order, 3);
	for (size_t p = 0; p < 6; p++) {
		for (int i = 0; i < 3; i++)
			memcpy(order[i], ids[perms[p][i]], 32);
		cove_view_hash(out, 7, order, 3);
		if (memcmp(out, base, COVE_VIEW_LEN) != 0)
			fail_msg("order %d %d %d gives another hash", perms[p][0], perms[p][1],
				 perms[p][2]);
	}
}

/* group.h: "ids is sorted in place". */
TEST(view_hash_sorts_the_ids_in_place)
{
	uint8_t ids[3][32], want[3][32], out[COVE_VIEW_LEN];

	view_ids(ids);
	memcpy(want[0], ids[2], 32);
	memcpy(want[1], ids[1], 32);
	memcpy(want[2], ids[0], 32);
	cove_view_hash(out, 7, ids, 3);
	assert_bytes(ids, want, sizeof(want));
}

TEST(view_hash_changes_when_any_bit_of_any_id_changes)
{
	uint8_t ids[3][32], work[3][32], base[COVE_VIEW_LEN], out[COVE_VIEW_LEN];

	view_ids(ids);
	memcpy(work, ids, sizeof(work));
	cove_view_hash(base, 7, work, 3);
	for (size_t k = 0; k < 3; k++) {
		for (size_t bit = 0; bit < 8 * 32; bit++) {
			memcpy(work, ids, sizeof(work));
			work[k][bit / 8] ^= (uint8_t)(1u << (bit % 8));
			cove_view_hash(out, 7, work, 3);
			if (memcmp(out, base, COVE_VIEW_LEN) == 0)
				fail_msg("flipping bit %zu of id %zu leaves the hash unchanged", bit,
					 k);
		}
	}
}

TEST(view_hash_changes_when_any_bit_of_the_epoch_changes)
{
	uint8_t ids[3][32], base[COVE_VIEW_LEN], out[COVE_VIEW_LEN];
	const uint32_t epoch = 0x01020304;

	view_ids(ids);
	cove_view_hash(base, epoch, ids, 3);
	for (unsigned bit = 0; bit < 32; bit++) {
		cove_view_hash(out, epoch ^ (1u << bit), ids, 3);
		if (memcmp(out, base, COVE_VIEW_LEN) == 0)
			fail_msg("flipping bit %u of the epoch leaves the hash unchanged", bit);
	}
}

/* A member more or fewer is another view. */
TEST(view_hash_changes_when_a_member_is_added_or_removed)
{
	uint8_t ids[3][32], all[COVE_VIEW_LEN], two[COVE_VIEW_LEN], one[COVE_VIEW_LEN];
	uint8_t none[COVE_VIEW_LEN];

	view_ids(ids);
	cove_view_hash(all, 7, ids, 3);
	view_ids(ids);
	cove_view_hash(two, 7, ids, 2);
	view_ids(ids);
	cove_view_hash(one, 7, ids, 1);
	cove_view_hash(none, 7, NULL, 0);
	assert_bytes_differ(all, two, COVE_VIEW_LEN);
	assert_bytes_differ(two, one, COVE_VIEW_LEN);
	assert_bytes_differ(one, none, COVE_VIEW_LEN);
	assert_bytes_differ(all, none, COVE_VIEW_LEN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dat_key_is_the_known_answer),
		cmocka_unit_test(dat_key_depends_on_every_input),
		cmocka_unit_test(dat_key_needs_a_room_of_1_to_255_bytes),
		cmocka_unit_test(dat_seal_is_the_known_answer),
		cmocka_unit_test(dat_seal_then_open_round_trips),
		cmocka_unit_test(dat_open_fails_on_any_flipped_ciphertext_bit),
		cmocka_unit_test(dat_open_fails_on_any_flipped_ad_bit),
		cmocka_unit_test(dat_open_with_another_seq_or_key_fails),
		cmocka_unit_test(dat_open_of_truncated_ciphertext_fails),
		cmocka_unit_test(group_key_sealed_to_a_joiner_opens_with_its_key_pair),
		cmocka_unit_test(group_key_does_not_open_with_another_key_pair),
		cmocka_unit_test(sealed_group_key_with_a_flipped_bit_does_not_open),
		cmocka_unit_test(fresh_keys_differ_and_free_of_null_is_a_no_op),
		cmocka_unit_test(gk_kid_is_the_known_answer),
		cmocka_unit_test(gk_kid_writes_exactly_32_bytes),
		cmocka_unit_test(gk_kid_depends_on_every_bit_of_the_group_key),
		cmocka_unit_test(gk_kid_depends_on_every_bit_of_the_epoch),
		cmocka_unit_test(gk_kid_is_the_same_for_the_same_key_and_epoch),
		cmocka_unit_test(view_hash_is_the_known_answer),
		cmocka_unit_test(view_hash_of_no_ids_is_the_known_answer),
		cmocka_unit_test(view_hash_writes_exactly_16_bytes),
		cmocka_unit_test(view_hash_does_not_depend_on_the_order_of_ids),
		cmocka_unit_test(view_hash_sorts_the_ids_in_place),
		cmocka_unit_test(view_hash_changes_when_any_bit_of_any_id_changes),
		cmocka_unit_test(view_hash_changes_when_any_bit_of_the_epoch_changes),
		cmocka_unit_test(view_hash_changes_when_a_member_is_added_or_removed),
	};
	int r = cove_crypto_init();

	if (r != COVE_OK) {
		fprintf(stderr, "cove_crypto_init: %s\n", cove_strerror(r));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
