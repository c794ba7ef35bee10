/*
 * test_msg.c - where keys meet frames: every signed frame verifies only
 * as signed, a DAT opens only in its own room, epoch, session, number and
 * sequence under its own group key and carries that key's id, and a KEY
 * opens only for its joiner, only to the key its kid commits to, and
 * carries the sender's view of the room.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "proto/msg.h"
#include "tests/unit/check.h"

static const uint8_t no_view[COVE_VIEW_LEN];

static const uint8_t signed_types[] = {
	COVE_F_INI, COVE_F_KEY, COVE_F_DAT, COVE_F_ERR, COVE_F_ASK, COVE_F_BYE, COVE_F_WLC,
	COVE_F_RDY, COVE_F_RKY, COVE_F_REK,
};

struct keys {
	struct cove_ident *alice, *bob;
	uint8_t *gk;
};

static int setup(void **state)
{
	struct keys *k = calloc(1, sizeof(*k));

	if (!k)
		return -1;
	k->alice = cove_ident_new();
	k->bob = cove_ident_new();
	k->gk = cove_gk_new();
	if (!k->alice || !k->bob || !k->gk)
		return -1;
	cove_ident_generate(k->alice);
	cove_ident_generate(k->bob);
	*state = k;
	return 0;
}

static int teardown(void **state)
{
	struct keys *k = *state;

	cove_ident_free(k->alice);
	cove_ident_free(k->bob);
	cove_gk_free(k->gk);
	free(k);
	return 0;
}

static uint8_t ct_buf[64];
static char text_buf[32] = "rate limited";

/* A signed frame of `type` from id with every field set. */
static void make_signed(struct cove_frame *f, uint8_t type, const struct cove_ident *id)
{
	assert_ok(cove_msg_init(f, type, "lobby", 5, id->pk, 77, 1700000000000ULL));
	switch (type) {
	case COVE_F_INI: memset(f->u.ini.xpk, 1, COVE_WXPK_LEN); break;
	case COVE_F_KEY:
		memset(f->u.key.to, 2, COVE_ID_LEN);
		memset(f->u.key.xpk, 3, COVE_WXPK_LEN);
		f->u.key.epoch = 4;
		memset(f->u.key.sealed, 5, COVE_WSEALED_LEN);
		memset(f->u.key.kid, 21, COVE_WKID_LEN);
		memset(f->u.key.view, 14, COVE_WVIEW_LEN);
		break;
	case COVE_F_DAT:
		f->u.dat.epoch = 6;
		memset(f->u.dat.sid, 7, COVE_WSID_LEN);
		f->u.dat.n = 15;
		memset(f->u.dat.kid, 16, COVE_WKID_LEN);
		memset(ct_buf, 8, sizeof(ct_buf));
		f->u.dat.ct = ct_buf;
		f->u.dat.ct_len = sizeof(ct_buf);
		break;
	case COVE_F_ERR:
		f->u.err.code = COVE_EC_LIMIT;
		f->u.err.ref = 76;
		f->u.err.text = text_buf;
		f->u.err.text_len = strlen(text_buf);
		break;
	case COVE_F_ASK:
		memset(f->u.ask.to, 9, COVE_ID_LEN);
		memset(f->u.ask.joiner, 10, COVE_ID_LEN);
		memset(f->u.ask.xpk, 11, COVE_WXPK_LEN);
		break;
	case COVE_F_BYE: memset(f->u.bye.who, 12, COVE_ID_LEN); break;
	case COVE_F_WLC: memset(f->u.wlc.you, 13, COVE_ID_LEN); break;
	case COVE_F_RDY: f->u.rdy.epoch = 17; break;
	case COVE_F_RKY: f->u.rdy.epoch = 18; break;
	case COVE_F_REK:
		memset(f->u.rek.to, 19, COVE_ID_LEN);
		f->u.rek.epoch = 20;
		break;
	}
}

TEST(each_signed_type_verifies_after_signing_and_after_the_wire)
{
	struct keys *k = *cmocka_state_;

	for (size_t t = 0; t < sizeof(signed_types); t++) {
		struct cove_frame f, g;
		uint8_t enc[1024];
		size_t len = 0;

		make_signed(&f, signed_types[t], k->alice);
		assert_ok(cove_msg_sign(&f, k->alice));
		assert_ok(cove_msg_verify(&f));
		assert_ok(cove_msg_verify_by(&f, k->alice->pk));
		assert_err(cove_msg_verify_by(&f, k->bob->pk), COVE_ERR_SIGNATURE);
		assert_ok(cove_frame_encode(&f, enc, sizeof(enc), &len));
		assert_ok(cove_frame_decode(&g, enc, len));
		assert_ok(cove_msg_verify(&g));
	}
}

TEST(signing_with_a_key_other_than_from_is_refused)
{
	struct keys *k = *cmocka_state_;
	struct cove_frame f;

	make_signed(&f, COVE_F_BYE, k->alice);
	assert_err(cove_msg_sign(&f, k->bob), COVE_ERR_INVAL);
}

TEST(handshake_frames_cannot_be_signed_or_verified)
{
	struct keys *k = *cmocka_state_;
	struct cove_frame f;

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_HELLO;
	memcpy(f.from, k->alice->pk, COVE_ID_LEN);
	assert_err(cove_msg_sign(&f, k->alice), COVE_ERR_INVAL);
	assert_err(cove_msg_verify(&f), COVE_ERR_INVAL);
}

/* PING and PONG ride on the link's authentication alone. */
TEST(ping_and_pong_cannot_be_signed_or_verified)
{
	static const uint8_t link[] = { COVE_F_PING, COVE_F_PONG };
	struct keys *k = *cmocka_state_;

	for (size_t i = 0; i < sizeof(link); i++) {
		struct cove_frame f;

		memset(&f, 0, sizeof(f));
		f.version = COVE_PROTO_VERSION;
		f.type = link[i];
		f.u.ping.n = 1;
		memcpy(f.from, k->alice->pk, COVE_ID_LEN);
		assert_ok(cove_frame_set_room(&f, "lobby", 5));
		assert_err(cove_msg_sign(&f, k->alice), COVE_ERR_INVAL);
		assert_err(cove_msg_verify(&f), COVE_ERR_INVAL);
	}
}

/* Flips a bit in each byte of every field of every signed type in turn:
 * the signature must no longer verify. */
TEST(verify_fails_when_any_field_changes)
{
	struct keys *k = *cmocka_state_;

	for (size_t t = 0; t < sizeof(signed_types); t++) {
		struct cove_frame f;
		uint8_t *fp = (uint8_t *)&f;
		struct { size_t off, n; const char *name; } r[12];
		size_t nr = 0;

		make_signed(&f, signed_types[t], k->alice);
		assert_ok(cove_msg_sign(&f, k->alice));
#define FIELD(x, name_) r[nr].off = (size_t)((uint8_t *)&(x) - fp); r[nr].n = sizeof(x); r[nr++].name = name_
		FIELD(f.from, "from");
		FIELD(f.seq, "seq");
		FIELD(f.ts, "ts");
		FIELD(f.sig, "sig");
		switch (f.type) {
		case COVE_F_INI: FIELD(f.u.ini.xpk, "xpk"); break;
		case COVE_F_KEY:
			FIELD(f.u.key.to, "to"); FIELD(f.u.key.xpk, "xpk");
			FIELD(f.u.key.epoch, "epoch"); FIELD(f.u.key.sealed, "sealed");
			FIELD(f.u.key.kid, "kid"); FIELD(f.u.key.view, "view");
			break;
		case COVE_F_DAT:
			FIELD(f.u.dat.epoch, "epoch"); FIELD(f.u.dat.sid, "sid");
			FIELD(f.u.dat.n, "n"); FIELD(f.u.dat.kid, "kid");
			break;
		case COVE_F_ERR: FIELD(f.u.err.code, "code"); FIELD(f.u.err.ref, "ref"); break;
		case COVE_F_ASK:
			FIELD(f.u.ask.to, "to"); FIELD(f.u.ask.joiner, "joiner");
			FIELD(f.u.ask.xpk, "xpk");
			break;
		case COVE_F_BYE: FIELD(f.u.bye.who, "who"); break;
		case COVE_F_WLC: FIELD(f.u.wlc.you, "you"); break;
		case COVE_F_RDY:
		case COVE_F_RKY: FIELD(f.u.rdy.epoch, "epoch"); break;
		case COVE_F_REK: FIELD(f.u.rek.to, "to"); FIELD(f.u.rek.epoch, "epoch"); break;
		}
#undef FIELD
		for (size_t i = 0; i < nr; i++) {
			for (size_t j = 0; j < r[i].n; j++) {
				int v;

				fp[r[i].off + j] ^= 0x04;
				v = cove_msg_verify_by(&f, k->alice->pk);
				fp[r[i].off + j] ^= 0x04;
				if (v != COVE_ERR_SIGNATURE)
					fail_msg("type %u, byte %zu of %s changed: got %d (%s)", f.type,
						 j, r[i].name, v, cove_strerror(v));
			}
		}
		/* The room, and the variable-length bodies. */
		f.room[0] ^= 0x02;
		assert_err(cove_msg_verify(&f), COVE_ERR_SIGNATURE);
		f.room[0] ^= 0x02;
		f.room_len--;
		assert_err(cove_msg_verify(&f), COVE_ERR_SIGNATURE);
		f.room_len++;
		if (f.type == COVE_F_DAT) {
			ct_buf[10] ^= 1;
			assert_err(cove_msg_verify(&f), COVE_ERR_SIGNATURE);
			ct_buf[10] ^= 1;
			f.u.dat.ct_len--;
			assert_err(cove_msg_verify(&f), COVE_ERR_SIGNATURE);
			f.u.dat.ct_len++;
		}
		if (f.type == COVE_F_ERR) {
			text_buf[0] ^= 1;
			assert_err(cove_msg_verify(&f), COVE_ERR_SIGNATURE);
			text_buf[0] ^= 1;
			f.u.err.text_len--;
			assert_err(cove_msg_verify(&f), COVE_ERR_SIGNATURE);
			f.u.err.text_len++;
		}
		/* The type is signed too: a BYE and a WLC carry the same bytes
		 * (one 32-byte key), so only the type tells them apart. */
		if (f.type == COVE_F_BYE) {
			f.type = COVE_F_WLC;
			assert_err(cove_msg_verify(&f), COVE_ERR_SIGNATURE);
			f.type = COVE_F_BYE;
		}
		/* Likewise an RDY ("I hold the key") and an RKY ("rekey, please"). */
		if (f.type == COVE_F_RDY || f.type == COVE_F_RKY) {
			uint8_t type = f.type;

			f.type = type == COVE_F_RDY ? COVE_F_RKY : COVE_F_RDY;
			assert_err(cove_msg_verify(&f), COVE_ERR_SIGNATURE);
			f.type = type;
		}
		assert_ok(cove_msg_verify(&f));
	}
}

/* ---- DAT ---------------------------------------------------------------- */

static void dat_header(struct cove_frame *f, const struct cove_ident *id, const char *room,
		       uint64_t seq)
{
	assert_ok(cove_msg_init(f, COVE_F_DAT, room, strlen(room), id->pk, seq, 1700000000000ULL));
	f->u.dat.epoch = 2;
	memset(f->u.dat.sid, 0x42, COVE_WSID_LEN);
	f->u.dat.n = seq + 1000;
}

static int seal_text(struct cove_frame *f, uint8_t *ct, const char *text, const uint8_t *gk,
		     const struct cove_ident *id)
{
	struct cove_payload pl = { .kind = COVE_PL_TEXT, .text = text, .text_len = strlen(text) };

	return cove_msg_dat_seal(f, ct, COVE_DAT_CT_MAX, &pl, gk, id);
}

static int open_dat(const struct cove_frame *f, const uint8_t *gk, struct cove_payload *pl,
		    uint8_t *pt)
{
	return cove_msg_dat_open(f, gk, pt, COVE_PAD_MAX, pl);
}

TEST(dat_seal_then_open_round_trips_through_the_wire)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX], pt[COVE_PAD_MAX], enc[COVE_FRAME_MAX];
	struct cove_frame f, g;
	struct cove_payload pl;
	size_t len = 0;

	dat_header(&f, k->alice, "lobby", 1);
	assert_ok(seal_text(&f, ct, "hello, bob \xf0\x9f\x90\x9f", k->gk, k->alice));
	assert_ptr_equal(f.u.dat.ct, ct);
	assert_u64(f.u.dat.ct_len, COVE_PAD_MIN + COVE_GCM_TAG_LEN);
	assert_ok(cove_msg_verify(&f));
	assert_ok(cove_frame_encode(&f, enc, sizeof(enc), &len));
	assert_ok(cove_frame_decode(&g, enc, len));
	assert_ok(cove_msg_verify(&g));
	assert_ok(open_dat(&g, k->gk, &pl, pt));
	assert_u64(pl.kind, COVE_PL_TEXT);
	assert_u64(pl.text_len, strlen("hello, bob \xf0\x9f\x90\x9f"));
	assert_bytes(pl.text, "hello, bob \xf0\x9f\x90\x9f", pl.text_len);
}

TEST(short_messages_all_have_the_same_size)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX];
	char text[250];

	for (size_t n = 1; n < sizeof(text); n += 7) {
		struct cove_frame f;

		memset(text, 'y', n);
		text[n] = '\0';
		dat_header(&f, k->alice, "lobby", n);
		assert_ok(seal_text(&f, ct, text, k->gk, k->alice));
		if (f.u.dat.ct_len != COVE_PAD_MIN + COVE_GCM_TAG_LEN)
			fail_msg("a %zu-byte text gives %zu bytes of ciphertext", n, f.u.dat.ct_len);
	}
}

TEST(largest_text_dat_fits_a_frame)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX], pt[COVE_PAD_MAX], enc[COVE_FRAME_MAX];
	static char text[COVE_TEXT_MAX + 1];
	struct cove_payload pl = { .kind = COVE_PL_TEXT, .text = text, .text_len = COVE_TEXT_MAX }, out;
	struct cove_frame f, g;
	char room[COVE_ROOM_MAX + 1];
	size_t len = 0;

	memset(text, 'w', COVE_TEXT_MAX);
	memset(room, 'r', COVE_ROOM_MAX);
	room[COVE_ROOM_MAX] = '\0';
	dat_header(&f, k->alice, room, UINT64_MAX);
	assert_ok(cove_msg_dat_seal(&f, ct, sizeof(ct), &pl, k->gk, k->alice));
	assert_u64(f.u.dat.ct_len, COVE_DAT_CT_MAX);
	assert_true(cove_frame_size(&f) > 0);
	assert_ok(cove_frame_encode(&f, enc, sizeof(enc), &len));
	assert_ok(cove_frame_decode(&g, enc, len));
	assert_ok(cove_msg_verify(&g));
	assert_ok(open_dat(&g, k->gk, &out, pt));
	assert_u64(out.text_len, COVE_TEXT_MAX);
	/* One byte more is refused before anything is encrypted. */
	pl.text_len = COVE_TEXT_MAX + 1;
	text[COVE_TEXT_MAX] = 'w';
	assert_err(cove_msg_dat_seal(&f, ct, sizeof(ct), &pl, k->gk, k->alice), COVE_ERR_INVAL);
}

TEST(dat_sealed_for_one_room_does_not_open_as_another)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX], pt[COVE_PAD_MAX];
	struct cove_frame f;
	struct cove_payload pl;

	dat_header(&f, k->alice, "room-a", 5);
	assert_ok(seal_text(&f, ct, "for room a only", k->gk, k->alice));
	/* The relay moves it, even re-signed by the sender's key. */
	assert_ok(cove_frame_set_room(&f, "room-b", 6));
	assert_ok(cove_msg_sign(&f, k->alice));
	assert_ok(cove_msg_verify(&f));
	assert_err(open_dat(&f, k->gk, &pl, pt), COVE_ERR_DECRYPT);
	assert_ok(cove_frame_set_room(&f, "room-a", 6));
	assert_ok(open_dat(&f, k->gk, &pl, pt));
}

TEST(dat_does_not_open_when_a_header_field_changes)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX], pt[COVE_PAD_MAX];
	struct cove_frame f, g;
	struct cove_payload pl;

	dat_header(&f, k->alice, "lobby", 5);
	assert_ok(seal_text(&f, ct, "header bound", k->gk, k->alice));
	g = f; g.seq++;
	assert_err(open_dat(&g, k->gk, &pl, pt), COVE_ERR_DECRYPT);
	g = f; g.ts++;
	assert_err(open_dat(&g, k->gk, &pl, pt), COVE_ERR_DECRYPT);
	g = f; g.u.dat.epoch++;
	assert_err(open_dat(&g, k->gk, &pl, pt), COVE_ERR_DECRYPT);
	g = f; g.u.dat.sid[3] ^= 1;
	assert_err(open_dat(&g, k->gk, &pl, pt), COVE_ERR_DECRYPT);
	g = f; g.u.dat.n++;
	assert_err(open_dat(&g, k->gk, &pl, pt), COVE_ERR_DECRYPT);
	g = f; g.u.dat.kid[COVE_WKID_LEN - 1] ^= 1;
	assert_err(open_dat(&g, k->gk, &pl, pt), COVE_ERR_DECRYPT);
	g = f; memcpy(g.from, k->bob->pk, COVE_ID_LEN);
	assert_err(open_dat(&g, k->gk, &pl, pt), COVE_ERR_DECRYPT);
	assert_ok(open_dat(&f, k->gk, &pl, pt));
}

TEST(dat_does_not_open_under_another_group_key)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX], pt[COVE_PAD_MAX];
	uint8_t *other = cove_gk_new();
	struct cove_frame f;
	struct cove_payload pl;

	assert_non_null(other);
	dat_header(&f, k->alice, "lobby", 5);
	assert_ok(seal_text(&f, ct, "members only", k->gk, k->alice));
	assert_err(open_dat(&f, other, &pl, pt), COVE_ERR_DECRYPT);
	cove_gk_free(other);
}

TEST(dat_with_a_flipped_ciphertext_bit_does_not_open)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX], pt[COVE_PAD_MAX];
	struct cove_frame f;
	struct cove_payload pl;

	dat_header(&f, k->alice, "lobby", 5);
	assert_ok(seal_text(&f, ct, "x", k->gk, k->alice));
	for (size_t bit = 0; bit < 8 * f.u.dat.ct_len; bit += 3) {
		int r;

		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = open_dat(&f, k->gk, &pl, pt);
		ct[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (r != COVE_ERR_DECRYPT)
			fail_msg("ct bit %zu flipped: got %d (%s)", bit, r, cove_strerror(r));
	}
}

/* The sender need not set kid: sealing sets it from gk and the epoch,
 * whatever was there before. */
TEST(dat_seal_sets_kid_from_the_group_key_and_epoch)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX];
	uint8_t want[COVE_KID_LEN];
	struct cove_frame f;

	dat_header(&f, k->alice, "lobby", 5);
	memset(f.u.dat.kid, 0xee, COVE_WKID_LEN);
	assert_ok(seal_text(&f, ct, "with a key id", k->gk, k->alice));
	cove_gk_kid(want, k->gk, 2);
	assert_bytes(f.u.dat.kid, want, COVE_KID_LEN);
	/* Another epoch, another id. */
	f.u.dat.epoch = 3;
	assert_ok(seal_text(&f, ct, "with a key id", k->gk, k->alice));
	cove_gk_kid(want, k->gk, 3);
	assert_bytes(f.u.dat.kid, want, COVE_KID_LEN);
}

TEST(dats_under_two_group_keys_carry_different_kids)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX];
	uint8_t *other = cove_gk_new();
	struct cove_frame f, g;

	assert_non_null(other);
	dat_header(&f, k->alice, "lobby", 5);
	assert_ok(seal_text(&f, ct, "fork", k->gk, k->alice));
	dat_header(&g, k->alice, "lobby", 5);
	assert_ok(seal_text(&g, ct, "fork", other, k->alice));
	assert_bytes_differ(f.u.dat.kid, g.u.dat.kid, COVE_WKID_LEN);
	cove_gk_free(other);
}

/* n is the caller's: sealing keeps it, and it survives the wire. */
TEST(dat_seal_keeps_n_through_the_wire)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX], enc[COVE_FRAME_MAX];
	struct cove_frame f, g;
	size_t len = 0;

	dat_header(&f, k->alice, "lobby", 5);
	f.u.dat.n = UINT64_MAX - 1;
	assert_ok(seal_text(&f, ct, "numbered", k->gk, k->alice));
	assert_u64(f.u.dat.n, UINT64_MAX - 1);
	assert_ok(cove_frame_encode(&f, enc, sizeof(enc), &len));
	assert_ok(cove_frame_decode(&g, enc, len));
	assert_u64(g.u.dat.n, UINT64_MAX - 1);
	assert_bytes(g.u.dat.kid, f.u.dat.kid, COVE_WKID_LEN);
	assert_ok(cove_msg_verify(&g));
}

/* A relay that renumbers a DAT (to hide a gap or fake a duplicate) or
 * swaps its key id breaks the sender's signature. */
TEST(sealed_dat_with_n_altered_fails_to_verify)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX];
	static const uint64_t deltas[] = { 1, 2, 1ULL << 32, 1ULL << 63 };
	struct cove_frame f;

	dat_header(&f, k->alice, "lobby", 5);
	assert_ok(seal_text(&f, ct, "number five", k->gk, k->alice));
	assert_ok(cove_msg_verify(&f));
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		struct cove_frame g = f;
		int r;

		g.u.dat.n ^= deltas[i];
		r = cove_msg_verify(&g);
		if (r != COVE_ERR_SIGNATURE)
			fail_msg("n %llu instead of %llu: got %d (%s), want %d",
				 (unsigned long long)g.u.dat.n, (unsigned long long)f.u.dat.n, r,
				 cove_strerror(r), COVE_ERR_SIGNATURE);
	}
}

TEST(sealed_dat_with_kid_altered_fails_to_verify)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX];
	uint8_t *other = cove_gk_new();
	struct cove_frame f, g;

	assert_non_null(other);
	dat_header(&f, k->alice, "lobby", 5);
	assert_ok(seal_text(&f, ct, "key id bound", k->gk, k->alice));
	for (size_t i = 0; i < COVE_WKID_LEN; i++) {
		int r;

		g = f;
		g.u.dat.kid[i] ^= 0x10;
		r = cove_msg_verify(&g);
		if (r != COVE_ERR_SIGNATURE)
			fail_msg("kid byte %zu changed: got %d (%s), want %d", i, r,
				 cove_strerror(r), COVE_ERR_SIGNATURE);
	}
	/* The id of another key for the same epoch is refused too. */
	g = f;
	cove_gk_kid(g.u.dat.kid, other, g.u.dat.epoch);
	assert_err(cove_msg_verify(&g), COVE_ERR_SIGNATURE);
	cove_gk_free(other);
}

/* Control payloads travel like text: a RESEND sealed in a DAT opens. */
TEST(dat_carries_a_resend_payload)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX], pt[COVE_PAD_MAX];
	struct cove_payload pl = { .kind = COVE_PL_RESEND }, out;
	struct cove_frame f;

	memcpy(pl.resend.from, k->bob->pk, 32);
	memset(pl.resend.sid, 0x5e, 16);
	pl.resend.first = 3;
	pl.resend.last = 9;
	dat_header(&f, k->alice, "lobby", 5);
	assert_ok(cove_msg_dat_seal(&f, ct, sizeof(ct), &pl, k->gk, k->alice));
	assert_ok(cove_msg_verify(&f));
	assert_ok(open_dat(&f, k->gk, &out, pt));
	assert_u64(out.kind, COVE_PL_RESEND);
	assert_bytes(out.resend.from, k->bob->pk, 32);
	assert_bytes(out.resend.sid, pl.resend.sid, 16);
	assert_u64(out.resend.first, 3);
	assert_u64(out.resend.last, 9);
}

TEST(dat_seal_refuses_bad_input)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX];
	struct cove_payload bad = { .kind = COVE_PL_TEXT, .text = "\xff", .text_len = 1 };
	struct cove_payload ok = { .kind = COVE_PL_TEXT, .text = "hi", .text_len = 2 };
	struct cove_frame f;

	dat_header(&f, k->alice, "lobby", 5);
	assert_err(cove_msg_dat_seal(&f, ct, sizeof(ct), &bad, k->gk, k->alice), COVE_ERR_UTF8);
	assert_err(cove_msg_dat_seal(&f, ct, COVE_PAD_MIN + COVE_GCM_TAG_LEN - 1, &ok, k->gk,
				     k->alice), COVE_ERR_SPACE);
	make_signed(&f, COVE_F_BYE, k->alice);
	assert_err(cove_msg_dat_seal(&f, ct, sizeof(ct), &ok, k->gk, k->alice), COVE_ERR_INVAL);
}

TEST(dat_open_needs_room_for_the_padded_plaintext)
{
	struct keys *k = *cmocka_state_;
	static uint8_t ct[COVE_DAT_CT_MAX], pt[COVE_PAD_MAX];
	struct cove_frame f;
	struct cove_payload pl;

	dat_header(&f, k->alice, "lobby", 5);
	assert_ok(seal_text(&f, ct, "hi", k->gk, k->alice));
	assert_err(cove_msg_dat_open(&f, k->gk, pt, COVE_PAD_MIN - 1, &pl), COVE_ERR_SPACE);
	assert_ok(cove_msg_dat_open(&f, k->gk, pt, COVE_PAD_MIN, &pl));
}

/* A sender with the group key can still send well-encrypted garbage; the
 * layers under the AEAD must each refuse their part. */
static int open_crafted(struct keys *k, const uint8_t *plain, size_t n, struct cove_payload *pl)
{
	static uint8_t ct[COVE_DAT_CT_MAX], pt[COVE_PAD_MAX];
	uint8_t key[COVE_DATKEY_LEN], ad[COVE_DAT_AD_MAX];
	struct cove_frame f;
	size_t ad_len = 0;

	dat_header(&f, k->alice, "lobby", 9);
	f.u.dat.ct = ct;
	f.u.dat.ct_len = n + COVE_GCM_TAG_LEN;
	assert_ok(cove_frame_dat_ad(&f, ad, sizeof(ad), &ad_len));
	assert_ok(cove_dat_key(key, k->gk, f.room, f.room_len, f.from, f.u.dat.epoch,
			       f.u.dat.sid));
	assert_ok(cove_dat_seal(ct, plain, n, ad, ad_len, f.seq, key));
	return open_dat(&f, k->gk, pl, pt);
}

TEST(dat_with_bad_padding_inside_is_a_padding_error)
{
	struct keys *k = *cmocka_state_;
	uint8_t plain[COVE_PAD_MIN];
	struct cove_payload pl;

	memset(plain, 0, sizeof(plain)); /* no marker */
	assert_err(open_crafted(k, plain, sizeof(plain), &pl), COVE_ERR_PADDING);
	memset(plain, 'a', 100);
	plain[100] = 0x80;
	assert_err(open_crafted(k, plain, 200, &pl), COVE_ERR_PADDING); /* not a bucket */
}

TEST(dat_with_an_unknown_kind_inside_reports_the_kind)
{
	struct keys *k = *cmocka_state_;
	uint8_t plain[COVE_PAD_MIN];
	struct cove_payload pl;
	size_t n = 0;

	memset(plain, 0, sizeof(plain));
	memcpy(plain, "\x92\x63\xa1x", 4); /* [99, "x"] */
	assert_ok(cove_pad(plain, 4, sizeof(plain), &n));
	assert_err(open_crafted(k, plain, n, &pl), COVE_ERR_TYPE);
	assert_u64(pl.kind, 99);
}

/* ---- KEY ---------------------------------------------------------------- */

TEST(key_sealed_to_a_joiner_opens_with_its_session_key)
{
	struct keys *k = *cmocka_state_;
	struct cove_xkp *joiner = cove_xkp_new();
	uint8_t *gk = cove_gk_alloc();
	struct cove_frame f, g;
	uint8_t enc[512];
	size_t len = 0;

	assert_non_null(joiner);
	assert_non_null(gk);
	assert_ok(cove_msg_init(&f, COVE_F_KEY, "lobby", 5, k->alice->pk, 3, 4));
	assert_ok(cove_msg_key_seal(&f, k->bob->pk, joiner->pk, 7, k->gk, no_view, k->alice));
	assert_bytes(f.u.key.to, k->bob->pk, COVE_ID_LEN);
	assert_bytes(f.u.key.xpk, joiner->pk, COVE_XPK_LEN);
	assert_u64(f.u.key.epoch, 7);
	assert_ok(cove_frame_encode(&f, enc, sizeof(enc), &len));
	assert_ok(cove_frame_decode(&g, enc, len));
	assert_ok(cove_msg_verify(&g));
	assert_ok(cove_msg_key_open(&g, joiner, gk));
	assert_bytes(gk, k->gk, COVE_GK_LEN);
	cove_xkp_free(joiner);
	cove_gk_free(gk);
}

TEST(key_does_not_open_with_another_session_key)
{
	struct keys *k = *cmocka_state_;
	struct cove_xkp *joiner = cove_xkp_new(), *other = cove_xkp_new();
	uint8_t *gk = cove_gk_alloc();
	struct cove_frame f;

	assert_non_null(joiner);
	assert_non_null(other);
	assert_non_null(gk);
	assert_ok(cove_msg_init(&f, COVE_F_KEY, "lobby", 5, k->alice->pk, 3, 4));
	assert_ok(cove_msg_key_seal(&f, k->bob->pk, joiner->pk, 7, k->gk, no_view, k->alice));
	/* Addressed to another session key: refused without trying. */
	assert_err(cove_msg_key_open(&f, other, gk), COVE_ERR_INVAL);
	/* Readdressed to the other key: the sealed box still will not open. */
	memcpy(f.u.key.xpk, other->pk, COVE_XPK_LEN);
	assert_err(cove_msg_key_open(&f, other, gk), COVE_ERR_DECRYPT);
	/* And a flipped bit of the sealed key is caught. */
	memcpy(f.u.key.xpk, joiner->pk, COVE_XPK_LEN);
	f.u.key.sealed[40] ^= 0x20;
	assert_err(cove_msg_key_open(&f, joiner, gk), COVE_ERR_DECRYPT);
	cove_xkp_free(joiner);
	cove_xkp_free(other);
	cove_gk_free(gk);
}

/* The view is the caller's hash of its member list: carried as given,
 * through the wire, under the signature. */
TEST(key_seal_carries_the_view)
{
	struct keys *k = *cmocka_state_;
	struct cove_xkp *joiner = cove_xkp_new();
	uint8_t view[COVE_VIEW_LEN], ids[2][32], enc[512];
	struct cove_frame f, g;
	size_t len = 0;

	assert_non_null(joiner);
	memcpy(ids[0], k->alice->pk, 32);
	memcpy(ids[1], k->bob->pk, 32);
	cove_view_hash(view, 7, ids, 2);
	assert_ok(cove_msg_init(&f, COVE_F_KEY, "lobby", 5, k->alice->pk, 3, 4));
	assert_ok(cove_msg_key_seal(&f, k->bob->pk, joiner->pk, 7, k->gk, view, k->alice));
	assert_bytes(f.u.key.view, view, COVE_VIEW_LEN);
	assert_ok(cove_frame_encode(&f, enc, sizeof(enc), &len));
	assert_ok(cove_frame_decode(&g, enc, len));
	assert_bytes(g.u.key.view, view, COVE_VIEW_LEN);
	assert_ok(cove_msg_verify(&g));
	cove_xkp_free(joiner);
}

TEST(key_with_the_view_altered_fails_to_verify)
{
	struct keys *k = *cmocka_state_;
	struct cove_xkp *joiner = cove_xkp_new();
	uint8_t view[COVE_VIEW_LEN];
	struct cove_frame f;

	assert_non_null(joiner);
	memset(view, 0x3c, sizeof(view));
	assert_ok(cove_msg_init(&f, COVE_F_KEY, "lobby", 5, k->alice->pk, 3, 4));
	assert_ok(cove_msg_key_seal(&f, k->bob->pk, joiner->pk, 7, k->gk, view, k->alice));
	for (size_t i = 0; i < COVE_VIEW_LEN; i++) {
		struct cove_frame g = f;
		int r;

		g.u.key.view[i] ^= 0x01;
		r = cove_msg_verify(&g);
		if (r != COVE_ERR_SIGNATURE)
			fail_msg("view byte %zu changed: got %d (%s), want %d", i, r,
				 cove_strerror(r), COVE_ERR_SIGNATURE);
	}
	cove_xkp_free(joiner);
}

/* KEY commits to the key it seals: its kid is cove_gk_kid() of the group
 * key and the epoch, the same id every DAT under that key carries. */
TEST(key_seal_commits_to_the_key_with_its_kid)
{
	struct keys *k = *cmocka_state_;
	struct cove_xkp *joiner = cove_xkp_new();
	uint8_t want[COVE_KID_LEN], enc[512];
	struct cove_frame f, g;
	size_t len = 0;

	assert_non_null(joiner);
	assert_u64(COVE_KID_LEN, COVE_WKID_LEN);
	assert_ok(cove_msg_init(&f, COVE_F_KEY, "lobby", 5, k->alice->pk, 3, 4));
	memset(f.u.key.kid, 0xee, COVE_WKID_LEN); /* the caller need not set it */
	assert_ok(cove_msg_key_seal(&f, k->bob->pk, joiner->pk, 7, k->gk, no_view, k->alice));
	cove_gk_kid(want, k->gk, 7);
	assert_bytes(f.u.key.kid, want, COVE_KID_LEN);
	assert_ok(cove_frame_encode(&f, enc, sizeof(enc), &len));
	assert_ok(cove_frame_decode(&g, enc, len));
	assert_bytes(g.u.key.kid, want, COVE_KID_LEN);
	assert_ok(cove_msg_verify(&g));
	cove_xkp_free(joiner);
}

TEST(key_with_the_kid_altered_fails_to_verify)
{
	struct keys *k = *cmocka_state_;
	struct cove_xkp *joiner = cove_xkp_new();
	struct cove_frame f;

	assert_non_null(joiner);
	assert_ok(cove_msg_init(&f, COVE_F_KEY, "lobby", 5, k->alice->pk, 3, 4));
	assert_ok(cove_msg_key_seal(&f, k->bob->pk, joiner->pk, 7, k->gk, no_view, k->alice));
	for (size_t i = 0; i < COVE_WKID_LEN; i++) {
		struct cove_frame g = f;
		int r;

		g.u.key.kid[i] ^= 0x01;
		r = cove_msg_verify(&g);
		if (r != COVE_ERR_SIGNATURE)
			fail_msg("kid byte %zu changed: got %d (%s), want %d", i, r,
				 cove_strerror(r), COVE_ERR_SIGNATURE);
	}
	cove_xkp_free(joiner);
}

/* Opening f must fail with COVE_ERR_KEY_COMMIT and leave gk all zero. */
static void assert_refused_and_wiped(const struct cove_frame *f, const struct cove_xkp *joiner,
				     const char *what)
{
	static const uint8_t zero[COVE_GK_LEN];
	uint8_t *gk = cove_gk_alloc();
	int r;

	assert_non_null(gk);
	memset(gk, 0x5a, COVE_GK_LEN);
	r = cove_msg_key_open(f, joiner, gk);
	if (r != COVE_ERR_KEY_COMMIT)
		fail_msg("%s: got %d (%s), want %d (%s)", what, r, cove_strerror(r),
			 COVE_ERR_KEY_COMMIT, cove_strerror(COVE_ERR_KEY_COMMIT));
	assert_bytes(gk, zero, COVE_GK_LEN);
	cove_gk_free(gk);
}

/* A sender (broken, or hostile and signing what it sends) seals one key
 * but commits to another: the box opens, the joiner refuses the key and
 * is left with none of it. */
TEST(key_whose_kid_commits_to_another_key_is_refused_and_wiped)
{
	struct keys *k = *cmocka_state_;
	struct cove_xkp *joiner = cove_xkp_new();
	uint8_t *other = cove_gk_new(), *gk = cove_gk_alloc();
	struct cove_frame f, g;

	assert_non_null(joiner);
	assert_non_null(other);
	assert_non_null(gk);
	assert_ok(cove_msg_init(&f, COVE_F_KEY, "lobby", 5, k->alice->pk, 3, 4));
	assert_ok(cove_msg_key_seal(&f, k->bob->pk, joiner->pk, 7, k->gk, no_view, k->alice));
	assert_ok(cove_msg_key_open(&f, joiner, gk));
	assert_bytes(gk, k->gk, COVE_GK_LEN);

	/* The kid of another key, signed: the signature is good, the key is not. */
	g = f;
	cove_gk_kid(g.u.key.kid, other, 7);
	assert_ok(cove_msg_sign(&g, k->alice));
	assert_ok(cove_msg_verify(&g));
	assert_refused_and_wiped(&g, joiner, "kid of another key");

	/* The kid of the same key at another epoch. */
	g = f;
	cove_gk_kid(g.u.key.kid, k->gk, 8);
	assert_ok(cove_msg_sign(&g, k->alice));
	assert_refused_and_wiped(&g, joiner, "kid of another epoch");

	/* The right kid, but the frame names an epoch it does not commit to. */
	g = f;
	g.u.key.epoch = 8;
	assert_ok(cove_msg_sign(&g, k->alice));
	assert_refused_and_wiped(&g, joiner, "epoch changed under the kid");

	/* Another key sealed under the kid of the room's key. */
	g = f;
	assert_ok(cove_msg_key_seal(&g, k->bob->pk, joiner->pk, 7, other, no_view, k->alice));
	cove_gk_kid(g.u.key.kid, k->gk, 7);
	assert_ok(cove_msg_sign(&g, k->alice));
	assert_refused_and_wiped(&g, joiner, "another key sealed");

	/* Every byte of the kid counts: the check is on all 32. */
	for (size_t i = 0; i < COVE_WKID_LEN; i++) {
		g = f;
		g.u.key.kid[i] ^= 0x80;
		assert_refused_and_wiped(&g, joiner, "one kid bit flipped");
	}
	cove_xkp_free(joiner);
	cove_gk_free(other);
	cove_gk_free(gk);
}

TEST(key_seal_and_open_refuse_other_frame_types)
{
	struct keys *k = *cmocka_state_;
	struct cove_xkp *joiner = cove_xkp_new();
	uint8_t *gk = cove_gk_alloc();
	struct cove_frame f;

	assert_non_null(joiner);
	assert_non_null(gk);
	make_signed(&f, COVE_F_INI, k->alice);
	assert_err(cove_msg_key_seal(&f, k->bob->pk, joiner->pk, 1, k->gk, no_view, k->alice),
		   COVE_ERR_INVAL);
	assert_err(cove_msg_key_open(&f, joiner, gk), COVE_ERR_INVAL);
	cove_xkp_free(joiner);
	cove_gk_free(gk);
}

#define MSG_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		MSG_TEST(each_signed_type_verifies_after_signing_and_after_the_wire),
		MSG_TEST(signing_with_a_key_other_than_from_is_refused),
		MSG_TEST(handshake_frames_cannot_be_signed_or_verified),
		MSG_TEST(ping_and_pong_cannot_be_signed_or_verified),
		MSG_TEST(verify_fails_when_any_field_changes),
		MSG_TEST(dat_seal_then_open_round_trips_through_the_wire),
		MSG_TEST(short_messages_all_have_the_same_size),
		MSG_TEST(largest_text_dat_fits_a_frame),
		MSG_TEST(dat_sealed_for_one_room_does_not_open_as_another),
		MSG_TEST(dat_does_not_open_when_a_header_field_changes),
		MSG_TEST(dat_does_not_open_under_another_group_key),
		MSG_TEST(dat_with_a_flipped_ciphertext_bit_does_not_open),
		MSG_TEST(dat_seal_sets_kid_from_the_group_key_and_epoch),
		MSG_TEST(dats_under_two_group_keys_carry_different_kids),
		MSG_TEST(dat_seal_keeps_n_through_the_wire),
		MSG_TEST(sealed_dat_with_n_altered_fails_to_verify),
		MSG_TEST(sealed_dat_with_kid_altered_fails_to_verify),
		MSG_TEST(dat_carries_a_resend_payload),
		MSG_TEST(dat_seal_refuses_bad_input),
		MSG_TEST(dat_open_needs_room_for_the_padded_plaintext),
		MSG_TEST(dat_with_bad_padding_inside_is_a_padding_error),
		MSG_TEST(dat_with_an_unknown_kind_inside_reports_the_kind),
		MSG_TEST(key_sealed_to_a_joiner_opens_with_its_session_key),
		MSG_TEST(key_does_not_open_with_another_session_key),
		MSG_TEST(key_seal_carries_the_view),
		MSG_TEST(key_with_the_view_altered_fails_to_verify),
		MSG_TEST(key_seal_commits_to_the_key_with_its_kid),
		MSG_TEST(key_with_the_kid_altered_fails_to_verify),
		MSG_TEST(key_whose_kid_commits_to_another_key_is_refused_and_wiped),
		MSG_TEST(key_seal_and_open_refuse_other_frame_types),
	};
	int r = cove_crypto_init();

	if (r != COVE_OK) {
		fprintf(stderr, "cove_crypto_init: %s\n", cove_strerror(r));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
