/*
 * test_link.c - the record layer between a node and the relay: both ends
 * agree on keys, records open only in the order they were sealed, and any
 * change to a record or its associated data is caught.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "crypto/ident.h"
#include "crypto/link.h"
#include "tests/unit/check.h"

/* ChaCha20-Poly1305-IETF of "record" with AD 00000016 under the key
 * 40..5f and nonce 0^4 || u64be n, computed independently (Python). */
#define KAT_REC0 "f47b55ed96358c1a2182c0a5b2915fbc942e737f01ce"
#define KAT_REC1 "42d449df768bf84365e0097f417da6c279f18e2aa0d7"

struct pair {
	struct cove_link c, s;
};

static void connect_pair(struct pair *p)
{
	struct cove_xkp *ce = cove_xkp_new(), *se = cove_xkp_new();

	assert_non_null(ce);
	assert_non_null(se);
	assert_ok(cove_link_client(&p->c, ce, se->pk));
	assert_ok(cove_link_server(&p->s, se, ce->pk));
	cove_xkp_free(ce);
	cove_xkp_free(se);
}

TEST(client_and_server_derive_matching_keys)
{
	struct pair p;

	connect_pair(&p);
	assert_bytes(p.c.tx, p.s.rx, COVE_LINK_KEY_LEN);
	assert_bytes(p.c.rx, p.s.tx, COVE_LINK_KEY_LEN);
	assert_bytes_differ(p.c.tx, p.c.rx, COVE_LINK_KEY_LEN);
	assert_u64(p.c.tx_n, 0);
	assert_u64(p.c.rx_n, 0);
	cove_link_wipe(&p.c);
	cove_link_wipe(&p.s);
}

TEST(a_weak_peer_key_is_refused)
{
	static const uint8_t zero[COVE_XPK_LEN];
	struct cove_xkp *e = cove_xkp_new();
	struct cove_link l;

	assert_non_null(e);
	assert_err(cove_link_client(&l, e, zero), COVE_ERR_PEER_KEY);
	assert_err(cove_link_server(&l, e, zero), COVE_ERR_PEER_KEY);
	cove_xkp_free(e);
}

TEST(records_are_the_known_answer)
{
	struct cove_link l;
	uint8_t out[6 + COVE_LINK_TAG_LEN], want[6 + COVE_LINK_TAG_LEN];
	static const uint8_t ad[4] = { 0, 0, 0, 0x16 };

	memset(&l, 0, sizeof(l));
	for (int i = 0; i < COVE_LINK_KEY_LEN; i++)
		l.tx[i] = l.rx[i] = (uint8_t)(0x40 + i);
	assert_ok(cove_link_seal(&l, out, (const uint8_t *)"record", 6, ad, 4));
	unhex(want, sizeof(want), KAT_REC0);
	assert_bytes(out, want, sizeof(want));
	assert_ok(cove_link_seal(&l, out, (const uint8_t *)"record", 6, ad, 4));
	unhex(want, sizeof(want), KAT_REC1);
	assert_bytes(out, want, sizeof(want));
	assert_u64(l.tx_n, 2);
}

static void seal_n(struct cove_link *l, uint8_t ct[][32 + COVE_LINK_TAG_LEN], unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		uint8_t pt[32];

		memset(pt, (int)i, sizeof(pt));
		assert_ok(cove_link_seal(l, ct[i], pt, sizeof(pt), (const uint8_t *)"ad", 2));
	}
}

static int open_one(struct cove_link *l, const uint8_t *ct, unsigned want_i)
{
	uint8_t pt[32], want[32];
	int r = cove_link_open(l, pt, ct, 32 + COVE_LINK_TAG_LEN, (const uint8_t *)"ad", 2);

	if (r == COVE_OK) {
		memset(want, (int)want_i, sizeof(want));
		assert_bytes(pt, want, sizeof(want));
	}
	return r;
}

TEST(records_open_in_the_order_they_were_sealed)
{
	uint8_t ct[20][32 + COVE_LINK_TAG_LEN];
	struct pair p;

	connect_pair(&p);
	seal_n(&p.c, ct, 20);
	for (unsigned i = 0; i < 20; i++)
		assert_ok(open_one(&p.s, ct[i], i));
	assert_u64(p.c.tx_n, 20);
	assert_u64(p.s.rx_n, 20);
	/* And the other direction, independently. */
	seal_n(&p.s, ct, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_ok(open_one(&p.c, ct[i], i));
}

TEST(a_dropped_record_makes_the_next_fail)
{
	uint8_t ct[3][32 + COVE_LINK_TAG_LEN];
	struct pair p;

	connect_pair(&p);
	seal_n(&p.c, ct, 3);
	assert_ok(open_one(&p.s, ct[0], 0));
	assert_err(open_one(&p.s, ct[2], 2), COVE_ERR_DECRYPT);
}

TEST(a_replayed_record_fails)
{
	uint8_t ct[2][32 + COVE_LINK_TAG_LEN];
	struct pair p;

	connect_pair(&p);
	seal_n(&p.c, ct, 2);
	assert_ok(open_one(&p.s, ct[0], 0));
	assert_err(open_one(&p.s, ct[0], 0), COVE_ERR_DECRYPT);
	assert_ok(open_one(&p.s, ct[1], 1));
	assert_err(open_one(&p.s, ct[1], 1), COVE_ERR_DECRYPT);
}

TEST(reordered_records_fail)
{
	uint8_t ct[2][32 + COVE_LINK_TAG_LEN];
	struct pair p;

	connect_pair(&p);
	seal_n(&p.c, ct, 2);
	assert_err(open_one(&p.s, ct[1], 1), COVE_ERR_DECRYPT);
}

TEST(a_record_does_not_open_in_the_direction_it_was_not_sent)
{
	uint8_t ct[1][32 + COVE_LINK_TAG_LEN];
	struct pair p;

	connect_pair(&p);
	seal_n(&p.c, ct, 1);
	/* Reflected back to the client, which receives with the other key. */
	assert_err(open_one(&p.c, ct[0], 0), COVE_ERR_DECRYPT);
}

TEST(a_flipped_bit_anywhere_in_a_record_fails)
{
	uint8_t ct[1][32 + COVE_LINK_TAG_LEN];
	struct pair p;

	connect_pair(&p);
	seal_n(&p.c, ct, 1);
	for (size_t bit = 0; bit < 8 * sizeof(ct[0]); bit++) {
		int r;

		ct[0][bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = open_one(&p.s, ct[0], 0);
		ct[0][bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (r != COVE_ERR_DECRYPT)
			fail_msg("bit %zu flipped: got %d (%s)", bit, r, cove_strerror(r));
		assert_u64(p.s.rx_n, 0);
	}
}

TEST(associated_data_is_authenticated)
{
	uint8_t pt[8] = "payload", ct[8 + COVE_LINK_TAG_LEN], out[8];
	uint8_t ad[4] = { 0, 0, 0, 24 };
	struct pair p;

	connect_pair(&p);
	assert_ok(cove_link_seal(&p.c, ct, pt, sizeof(pt), ad, sizeof(ad)));
	for (size_t bit = 0; bit < 8 * sizeof(ad); bit++) {
		int r;

		ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = cove_link_open(&p.s, out, ct, sizeof(ct), ad, sizeof(ad));
		ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (r != COVE_ERR_DECRYPT)
			fail_msg("ad bit %zu flipped: got %d (%s)", bit, r, cove_strerror(r));
	}
	assert_err(cove_link_open(&p.s, out, ct, sizeof(ct), NULL, 0), COVE_ERR_DECRYPT);
	assert_ok(cove_link_open(&p.s, out, ct, sizeof(ct), ad, sizeof(ad)));
	assert_bytes(out, pt, sizeof(pt));
}

TEST(records_seal_and_open_in_place)
{
	uint8_t buf[64 + COVE_LINK_TAG_LEN], want[64];
	struct pair p;

	connect_pair(&p);
	memset(buf, 0x3c, 64);
	memcpy(want, buf, 64);
	assert_ok(cove_link_seal(&p.c, buf, buf, 64, NULL, 0));
	assert_bytes_differ(buf, want, 64);
	assert_ok(cove_link_open(&p.s, buf, buf, sizeof(buf), NULL, 0));
	assert_bytes(buf, want, 64);
}

TEST(a_record_shorter_than_a_tag_is_invalid)
{
	uint8_t ct[COVE_LINK_TAG_LEN], out[1];
	struct pair p;

	connect_pair(&p);
	memset(ct, 0, sizeof(ct));
	assert_err(cove_link_open(&p.s, out, ct, COVE_LINK_TAG_LEN - 1, NULL, 0), COVE_ERR_INVAL);
	assert_u64(p.s.rx_n, 0);
}

TEST(exhausted_counters_refuse_to_go_on)
{
	uint8_t ct[4 + COVE_LINK_TAG_LEN], out[4];
	struct pair p;

	connect_pair(&p);
	p.c.tx_n = UINT64_MAX - 1;
	p.s.rx_n = UINT64_MAX - 1;
	assert_ok(cove_link_seal(&p.c, ct, (const uint8_t *)"last", 4, NULL, 0));
	assert_ok(cove_link_open(&p.s, out, ct, sizeof(ct), NULL, 0));
	assert_err(cove_link_seal(&p.c, ct, (const uint8_t *)"more", 4, NULL, 0), COVE_ERR_LIMIT);
	assert_err(cove_link_open(&p.s, out, ct, sizeof(ct), NULL, 0), COVE_ERR_LIMIT);
}

TEST(wipe_clears_keys_and_counters)
{
	static const struct cove_link zero;
	struct pair p;

	connect_pair(&p);
	p.c.tx_n = 5;
	cove_link_wipe(&p.c);
	assert_bytes(&p.c, &zero, sizeof(zero));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(client_and_server_derive_matching_keys),
		cmocka_unit_test(a_weak_peer_key_is_refused),
		cmocka_unit_test(records_are_the_known_answer),
		cmocka_unit_test(records_open_in_the_order_they_were_sealed),
		cmocka_unit_test(a_dropped_record_makes_the_next_fail),
		cmocka_unit_test(a_replayed_record_fails),
		cmocka_unit_test(reordered_records_fail),
		cmocka_unit_test(a_record_does_not_open_in_the_direction_it_was_not_sent),
		cmocka_unit_test(a_flipped_bit_anywhere_in_a_record_fails),
		cmocka_unit_test(associated_data_is_authenticated),
		cmocka_unit_test(records_seal_and_open_in_place),
		cmocka_unit_test(a_record_shorter_than_a_tag_is_invalid),
		cmocka_unit_test(exhausted_counters_refuse_to_go_on),
		cmocka_unit_test(wipe_clears_keys_and_counters),
	};
	int r = cove_crypto_init();

	if (r != COVE_OK) {
		fprintf(stderr, "cove_crypto_init: %s\n", cove_strerror(r));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
