/*
 * test_core.c - the node's chat core against a relay played by the test:
 * a fake clock, a fake network that records every frame the core sends,
 * and frames made and signed here. No process, no socket.
 *
 * The relay here is hostile when a test needs it to be: it drops RKYs,
 * never names a rekeyer, fakes stale_epoch, replays a departed member's
 * join, hides a BYE from the rekeyer, forwards what it should not. Each
 * test states one promise of docs/SECURITY.md ("Removal") and checks it
 * from alice's side: nothing she sends after someone left or lost her
 * trust is encrypted under a key that one may hold, and she is told.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/group.h"
#include "crypto/whitelist.h"
#include "node/core.h"
#include "proto/msg.h"
#include "tests/unit/check.h"

#define ROOM "lobby"
#define MAX_OUT 4096
#define MAX_EV 256

/* ---- the world ------------------------------------------------------------- */

enum who { ALICE, BOB, CAROL, DAVE, RELAY, NIDS };

struct out {
	uint8_t *raw;
	size_t len;
};

static struct {
	struct cove_ident *id[NIDS];
	struct cove_wl *wl;
	struct nd_core *core;
	uint64_t clock_ms;
	uint64_t seq[NIDS];
	struct out out[MAX_OUT];
	size_t nout;
	char errors[MAX_EV][32];
	size_t nerrors;
	char notices[MAX_EV][32];
	size_t nnotices;
	char texts[MAX_EV][64];
	size_t ntexts;
	int ready;
	uint8_t alice_xpk[COVE_XPK_LEN];
} w;

static uint64_t fake_ms(void)
{
	return w.clock_ms;
}

static uint64_t fake_us(void)
{
	return w.clock_ms * 1000;
}

static int fake_send(void *ctx, const struct cove_frame *f)
{
	size_t n = cove_frame_size(f), len = 0;
	uint8_t *raw = malloc(n);

	(void)ctx;
	assert_non_null(raw);
	assert_ok(cove_frame_encode(f, raw, n, &len));
	if (w.nout == MAX_OUT)
		fail_msg("the core sent more than %d frames", MAX_OUT);
	w.out[w.nout].raw = raw;
	w.out[w.nout].len = len;
	w.nout++;
	if (f->type == COVE_F_INI)
		memcpy(w.alice_xpk, f->u.ini.xpk, COVE_XPK_LEN);
	return COVE_OK;
}

static void ui_ready(void *ctx, const char *room, int first, int rejoin,
		     const char *const *members, size_t n)
{
	(void)ctx, (void)room, (void)first, (void)rejoin, (void)members, (void)n;
	w.ready++;
}

static void ui_message(void *ctx, const char *room, const char *from, const char *text,
		       size_t len, uint64_t ts)
{
	(void)ctx, (void)room, (void)from, (void)ts;
	if (w.ntexts < MAX_EV)
		snprintf(w.texts[w.ntexts++], sizeof(w.texts[0]), "%.*s", (int)len, text);
}

static void ui_gap(void *ctx, const char *room, const char *from, uint64_t first,
		   uint64_t last);

static void ui_error(void *ctx, const char *room, const char *code, const char *msg, int fatal)
{
	(void)ctx, (void)room, (void)msg, (void)fatal;
	if (w.nerrors < MAX_EV)
		snprintf(w.errors[w.nerrors++], sizeof(w.errors[0]), "%s", code);
}

static void ui_notice(void *ctx, const char *room, const char *code, const char *msg)
{
	(void)ctx, (void)room, (void)msg;
	if (w.nnotices < MAX_EV)
		snprintf(w.notices[w.nnotices++], sizeof(w.notices[0]), "%s", code);
}

static size_t count_code(char (*list)[32], size_t n, const char *code)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += strcmp(list[i], code) == 0;
	return k;
}

static size_t errors(const char *code)
{
	return count_code(w.errors, w.nerrors, code);
}

static void clear_out(void)
{
	for (size_t i = 0; i < w.nout; i++)
		free(w.out[i].raw);
	w.nout = 0;
}

/* The i-th frame alice sent since the last clear_out(), decoded (DAT ct
 * points into the recorded bytes). */
static struct cove_frame sent(size_t i)
{
	struct cove_frame f;

	assert_ok(cove_frame_decode(&f, w.out[i].raw, w.out[i].len));
	return f;
}

static size_t sent_count(uint8_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < w.nout; i++)
		n += sent(i).type == type;
	return n;
}

/* The last frame of type alice sent, or the test fails. */
static struct cove_frame last_sent(uint8_t type)
{
	for (size_t i = w.nout; i-- > 0;) {
		struct cove_frame f = sent(i);

		if (f.type == type)
			return f;
	}
	fail_msg("alice sent no frame of type %u", type);
	abort();
}

static const uint8_t *pk(enum who who)
{
	return w.id[who]->pk;
}

static void tick(uint64_t ms)
{
	/* in steps, as the program's timer would */
	for (uint64_t t = 0; t < ms; t += 50) {
		w.clock_ms += 50;
		nd_core_tick(w.core);
	}
}

/* Hands alice a frame as the relay would: encoded, decoded again, so that
 * it carries the bytes a real link would. */
static void feed(const struct cove_frame *f)
{
	size_t n = cove_frame_size(f), len = 0;
	uint8_t *raw = malloc(n);
	struct cove_frame d;

	assert_non_null(raw);
	assert_ok(cove_frame_encode(f, raw, n, &len));
	assert_ok(cove_frame_decode(&d, raw, len));
	assert_ok(nd_core_frame(w.core, &d, raw, len));
	free(raw);
}

static struct cove_frame frame_of(enum who who, uint8_t type)
{
	struct cove_frame f;

	cove_msg_init(&f, type, ROOM, strlen(ROOM), pk(who), ++w.seq[who], w.clock_ms);
	return f;
}

static void sign_feed(enum who who, struct cove_frame *f)
{
	assert_ok(cove_msg_sign(f, w.id[who]));
	feed(f);
}

static void set_whitelist(const char *names)
{
	char text[1024] = "";
	static const char *const all[] = { "alice", "bob", "carol", "dave" };
	struct cove_wl *old = w.wl;

	for (int i = 0; i < 4; i++) {
		char b64[COVE_PK_B64_LEN + 1], line[128];

		if (!strstr(names, all[i]))
			continue;
		cove_pk_to_b64(b64, pk((enum who)i));
		snprintf(line, sizeof(line), "%s %s\n", all[i], b64);
		strcat(text, line);
	}
	assert_ok(cove_wl_parse(&w.wl, text, strlen(text), NULL));
	if (w.core)
		nd_core_set_whitelist(w.core, w.wl);
	cove_wl_free(old);
}

static int setup(void **state)
{
	static const struct nd_ui ui = {
		.ready = ui_ready,
		.message = ui_message,
		.error = ui_error,
		.notice = ui_notice,
		.gap = ui_gap,
	};
	static const struct nd_core_deps deps = {
		.send = fake_send,
		.now_ms = fake_ms,
		.now_us = fake_us,
	};
	struct cove_frame f;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.clock_ms = 1800000000000ull;
	for (int i = 0; i < NIDS; i++) {
		uint8_t seed[COVE_SEED_LEN];

		memset(seed, 0x11 * (i + 1), sizeof(seed));
		w.id[i] = cove_ident_new();
		assert_non_null(w.id[i]);
		assert_ok(cove_ident_from_seed(w.id[i], seed));
		w.seq[i] = w.clock_ms * 1000;
	}
	set_whitelist("alice bob carol");
	w.core = nd_core_new(w.id[ALICE], w.wl, pk(RELAY), &ui, &deps, NULL);
	assert_non_null(w.core);
	assert_ok(nd_core_add_room(w.core, ROOM));
	assert_ok(nd_core_link_up(w.core));
	cove_msg_init(&f, COVE_F_WLC, "", 0, pk(RELAY), ++w.seq[RELAY], w.clock_ms);
	memcpy(f.u.wlc.you, pk(ALICE), COVE_ID_LEN);
	sign_feed(RELAY, &f);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nd_core_free(w.core);
	clear_out();
	cove_wl_free(w.wl);
	for (int i = 0; i < NIDS; i++)
		cove_ident_free(w.id[i]);
	return 0;
}

/* ---- what the relay and the others do ---------------------------------------- */

/* The relay tells alice she is first: she makes epoch 0. */
static void be_first(void)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_INI);

	memcpy(f.u.ini.xpk, w.alice_xpk, COVE_XPK_LEN);
	sign_feed(RELAY, &f);
	assert_int_equal(w.ready, 1);
}

/* who's INI (forwarded by the relay), with a fresh session key. */
static struct cove_frame ini_of(enum who who, struct cove_xkp *kp)
{
	struct cove_frame f = frame_of(who, COVE_F_INI);

	memcpy(f.u.ini.xpk, kp->pk, COVE_XPK_LEN);
	assert_ok(cove_msg_sign(&f, w.id[who]));
	return f;
}

/* who is in the room (its INI reaches alice); returns its session key. */
static struct cove_xkp *here(enum who who)
{
	struct cove_xkp *kp = cove_xkp_new();
	struct cove_frame f;

	assert_non_null(kp);
	f = ini_of(who, kp);
	feed(&f);
	return kp;
}

/* The relay asks alice to give who (session key kp) the key. */
static void ask(enum who who, const struct cove_xkp *kp)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_ASK);

	memcpy(f.u.ask.to, pk(ALICE), COVE_ID_LEN);
	memcpy(f.u.ask.joiner, pk(who), COVE_ID_LEN);
	memcpy(f.u.ask.xpk, kp->pk, COVE_XPK_LEN);
	sign_feed(RELAY, &f);
}

/* The group key in the last KEY alice sent to kp; the test fails if she
 * sent none. gk: COVE_GK_LEN bytes. */
static void open_last_key(const struct cove_xkp *kp, uint8_t *gk, uint32_t *epoch)
{
	struct cove_frame k = last_sent(COVE_F_KEY);

	assert_bytes(k.u.key.xpk, kp->pk, COVE_XPK_LEN);
	assert_ok(cove_msg_key_open(&k, kp, gk));
	if (epoch)
		*epoch = k.u.key.epoch;
}

/* bob joins: INI, the relay's ASK, alice's KEY. Returns bob's session
 * key pair; gk0 receives the key alice gave him. */
static struct cove_xkp *join(enum who who, uint8_t *gk0)
{
	struct cove_xkp *kp = cove_xkp_new();
	struct cove_frame f;

	assert_non_null(kp);
	f = ini_of(who, kp);
	feed(&f);
	ask(who, kp);
	open_last_key(kp, gk0, NULL);
	return kp;
}

static void bye_of(enum who who)
{
	struct cove_frame f = frame_of(who, COVE_F_BYE);

	memcpy(f.u.bye.who, pk(who), COVE_ID_LEN);
	sign_feed(who, &f);
}

static void rek(uint32_t epoch)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_REK);

	memcpy(f.u.rek.to, pk(ALICE), COVE_ID_LEN);
	f.u.rek.epoch = epoch;
	sign_feed(RELAY, &f);
}

/* The view a KEY from a member carries: the sorted identities. */
static void view_of(uint8_t view[COVE_VIEW_LEN], uint32_t epoch, const enum who *ids, size_t n)
{
	uint8_t list[8][32];

	for (size_t i = 0; i < n; i++)
		memcpy(list[i], pk(ids[i]), 32);
	cove_view_hash(view, epoch, list, n);
}

/* from gives alice gk for epoch, sealed to her current session key, with
 * the view of the members it sealed to. */
static void key_from(enum who from, const uint8_t *gk, uint32_t epoch, const enum who *ids,
		     size_t n)
{
	struct cove_frame f = frame_of(from, COVE_F_KEY);
	uint8_t view[COVE_VIEW_LEN];

	view_of(view, epoch, ids, n);
	assert_ok(cove_msg_key_seal(&f, pk(ALICE), w.alice_xpk, epoch, gk, view, w.id[from]));
	feed(&f);
}

/* A DAT of text from who under gk of epoch. */
static void dat_from(enum who who, const uint8_t *gk, uint32_t epoch, uint64_t n,
		     const char *text)
{
	static uint8_t ct[COVE_DAT_CT_MAX];
	struct cove_frame f = frame_of(who, COVE_F_DAT);
	struct cove_payload pl;

	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_TEXT;
	pl.text = text;
	pl.text_len = strlen(text);
	f.u.dat.epoch = epoch;
	memset(f.u.dat.sid, who, COVE_SID_LEN);
	f.u.dat.n = n;
	assert_ok(cove_msg_dat_seal(&f, ct, sizeof(ct), &pl, gk, w.id[who]));
	feed(&f);
}

static void request_from(enum who who, const uint8_t *gk, uint32_t epoch,
			 const struct cove_payload *pl)
{
	static uint8_t ct[COVE_DAT_CT_MAX];
	struct cove_frame f = frame_of(who, COVE_F_DAT);

	f.u.dat.epoch = epoch;
	memset(f.u.dat.sid, who, COVE_SID_LEN);
	f.u.dat.n = UINT64_MAX;
	assert_ok(cove_msg_dat_seal(&f, ct, sizeof(ct), pl, gk, w.id[who]));
	feed(&f);
}

static void say(const char *text)
{
	assert_ok(nd_core_send_text(w.core, ROOM, text, strlen(text)));
}

/* Every DAT alice sent since the last clear_out() is of an epoch above
 * `above`, and no key below it opens any of them: returns how many. */
static size_t dats_above(uint32_t above, const uint8_t *old_gk)
{
	static uint8_t pt[COVE_PAD_MAX];
	size_t n = 0;

	for (size_t i = 0; i < w.nout; i++) {
		struct cove_frame f = sent(i);
		struct cove_payload pl;

		if (f.type != COVE_F_DAT)
			continue;
		if (f.u.dat.epoch <= above)
			fail_msg("alice sent a DAT under epoch %u, not above %u", f.u.dat.epoch,
				 above);
		if (old_gk && cove_msg_dat_open(&f, old_gk, pt, sizeof(pt), &pl) == COVE_OK)
			fail_msg("the old key opens a DAT alice sent after the removal");
		n++;
	}
	return n;
}

/* ---- removal: someone left ------------------------------------------------------ */

TEST(after_a_leave_nothing_is_sent_under_the_key_the_leaver_holds)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *carol;

	be_first();
	carol = join(CAROL, gk0);
	clear_out();
	bye_of(CAROL);
	say("after carol left");
	/* held, and a new epoch asked for */
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(sent_count(COVE_F_RKY), 1);
	assert_u64(nd_core_queued(w.core), 1);
	assert_u64(count_code(w.notices, w.nnotices, "held"), 1);
	/* the relay names alice: her epoch goes to bob only (not carol) and
	 * the message leaves under it */
	rek(1);
	assert_u64(sent_count(COVE_F_KEY), 0);
	assert_u64(dats_above(0, gk0), 1);
	assert_u64(nd_core_queued(w.core), 0);
	cove_xkp_free(carol);
}

TEST(a_relay_that_never_rekeys_gets_nothing_sent_and_the_user_is_warned)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	clear_out();
	say("one");
	say("two");
	/* The relay drops every RKY and names no one, for ten minutes. */
	tick(10 * 60 * 1000);
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_true(sent_count(COVE_F_RKY) >= 2); /* alice keeps asking */
	assert_true(errors("rekey_stalled") >= 2);
	assert_u64(nd_core_queued(w.core), 2);
	/* bob, at last, brings epoch 1 for alice and bob */
	{
		uint8_t gk1[COVE_GK_LEN];
		static const enum who both[] = { ALICE, BOB };

		randombytes_buf(gk1, sizeof(gk1));
		key_from(BOB, gk1, 1, both, 2);
	}
	assert_u64(dats_above(0, gk0), 2);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_faked_stale_epoch_never_sends_the_room_back_to_the_old_key)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;
	struct cove_frame err;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	rek(1);
	/* the relay refuses alice's epoch 1 as stale */
	err = frame_of(RELAY, COVE_F_ERR);
	err.room_len = 0;
	err.room[0] = '\0';
	err.u.err.code = COVE_EC_STALE_EPOCH;
	err.u.err.ref = last_sent(COVE_F_RDY).seq;
	err.u.err.text = "stale";
	err.u.err.text_len = 5;
	sign_feed(RELAY, &err);
	clear_out();
	say("after the refusal");
	tick(30 * 1000);
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(nd_core_queued(w.core), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_rekey_sealed_for_a_list_that_may_hold_the_leaver_is_not_used)
{
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	static const enum who with_carol[] = { ALICE, BOB, CAROL };
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	/* The relay hid carol's BYE from bob, who seals epoch 1 to carol too. */
	randombytes_buf(gk1, sizeof(gk1));
	clear_out();
	key_from(BOB, gk1, 1, with_carol, 3);
	say("not for carol");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(nd_core_queued(w.core), 1);
	assert_true(sent_count(COVE_F_RKY) >= 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_departed_members_dats_are_dropped)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *carol;

	be_first();
	carol = join(CAROL, gk0);
	dat_from(CAROL, gk0, 0, 0, "before");
	bye_of(CAROL);
	dat_from(CAROL, gk0, 0, 1, "after");
	assert_u64(w.ntexts, 1);
	assert_string_equal(w.texts[0], "before");
	assert_u64(errors("left"), 1);
	cove_xkp_free(carol);
}

/* ---- removal: someone is no longer trusted -------------------------------------- */

TEST(distrusting_a_member_holds_messages_until_our_own_epoch_without_it)
{
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;
	uint32_t epoch = 0;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	clear_out();
	set_whitelist("alice bob");
	say("carol must not read this");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(sent_count(COVE_F_RKY), 1);
	rek(1);
	/* the new key went to bob only, and the message under it */
	assert_u64(sent_count(COVE_F_KEY), 1);
	open_last_key(bob, gk1, &epoch);
	assert_u64(epoch, 1);
	assert_u64(dats_above(0, gk0), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_dat_under_our_key_from_someone_we_do_not_trust_holds_our_messages)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *dave = cove_xkp_new();
	struct cove_frame ini;

	be_first();
	bob = join(BOB, gk0);
	/* dave (not on alice's whitelist) is in the room; someone who trusts
	 * him gave him the key, and he uses it */
	ini = ini_of(DAVE, dave);
	feed(&ini);
	clear_out();
	say("fine");
	assert_u64(sent_count(COVE_F_DAT), 1);
	dat_from(DAVE, gk0, 0, 0, "I read you");
	clear_out();
	say("held");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(nd_core_queued(w.core), 1);
	cove_xkp_free(bob);
	cove_xkp_free(dave);
}

/* ---- epochs --------------------------------------------------------------------- */

TEST(a_key_of_the_last_epoch_number_or_too_high_for_a_first_key_is_refused)
{
	uint8_t gk[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob = here(BOB);

	randombytes_buf(gk, sizeof(gk));
	key_from(BOB, gk, COVE_EPOCH_END, both, 2);
	key_from(BOB, gk, COVE_EPOCH_FIRST_MAX + 1, both, 2);
	assert_int_equal(w.ready, 0);
	assert_u64(errors("bad_epoch"), 2);
	key_from(BOB, gk, COVE_EPOCH_FIRST_MAX, both, 2);
	assert_int_equal(w.ready, 1);
	cove_xkp_free(bob);
}

TEST(rekeys_never_go_back_nor_jump_too_far)
{
	uint8_t gk0[COVE_GK_LEN], gk[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	randombytes_buf(gk, sizeof(gk));
	key_from(BOB, gk, 5, both, 2);
	clear_out();
	rek(5);                         /* not above what she holds */
	rek(5 + COVE_EPOCH_STEP_MAX + 1); /* too far */
	assert_u64(sent_count(COVE_F_RDY), 0);
	assert_u64(errors("bad_epoch"), 2);
	key_from(BOB, gk0, 3, both, 2); /* older: ignored */
	say("under five");
	assert_u64(last_sent(COVE_F_DAT).u.dat.epoch, 5);
	rek(6);
	assert_u64(last_sent(COVE_F_RDY).u.rdy.epoch, 6);
	cove_xkp_free(bob);
}

TEST(a_key_that_does_not_match_its_commitment_is_refused)
{
	uint8_t gk[COVE_GK_LEN], other[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob = here(BOB);
	struct cove_frame f = frame_of(BOB, COVE_F_KEY);
	uint8_t view[COVE_VIEW_LEN];

	randombytes_buf(gk, sizeof(gk));
	randombytes_buf(other, sizeof(other));
	view_of(view, 0, both, 2);
	assert_ok(cove_msg_key_seal(&f, pk(ALICE), w.alice_xpk, 0, gk, view, w.id[BOB]));
	/* the commitment of another key: a broken or lying member */
	cove_gk_kid(f.u.key.kid, other, 0);
	sign_feed(BOB, &f);
	assert_int_equal(w.ready, 0);
	assert_u64(errors("bad_key"), 1);
	cove_xkp_free(bob);
}

TEST(a_key_from_a_member_that_left_is_refused_even_if_made_before)
{
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob, *carol;
	struct cove_frame late = frame_of(CAROL, COVE_F_KEY);
	uint8_t view[COVE_VIEW_LEN];

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	/* carol makes epoch 1 for alice and bob, signs it, then leaves; the
	 * relay delivers it after her BYE */
	randombytes_buf(gk1, sizeof(gk1));
	view_of(view, 1, both, 2);
	assert_ok(cove_msg_key_seal(&late, pk(ALICE), w.alice_xpk, 1, gk1, view, w.id[CAROL]));
	bye_of(CAROL);
	feed(&late);
	clear_out();
	say("not for carol");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(errors("refused_key"), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_key_from_someone_who_never_joined_is_refused)
{
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob, *carol;

	set_whitelist("alice bob carol dave");
	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	/* dave, on alice's whitelist but never in the room, brings epoch 1 */
	randombytes_buf(gk1, sizeof(gk1));
	key_from(DAVE, gk1, 1, both, 2);
	clear_out();
	say("held");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(errors("refused_key"), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_tainted_key_stays_tainted_after_a_reconnect)
{
	uint8_t gk0[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	/* the relay cuts alice's link; back in, bob hands her the same key */
	nd_core_link_down(w.core);
	assert_ok(nd_core_link_up(w.core));
	{
		struct cove_frame f = frame_of(RELAY, COVE_F_WLC);

		f.room_len = 0;
		f.room[0] = '\0';
		memcpy(f.u.wlc.you, pk(ALICE), COVE_ID_LEN);
		sign_feed(RELAY, &f);
	}
	{
		struct cove_frame f = ini_of(BOB, bob);

		w.seq[BOB]--; /* the same INI again, as the relay replays it */
		f.seq = w.seq[BOB];
		assert_ok(cove_msg_sign(&f, w.id[BOB]));
		feed(&f);
	}
	key_from(BOB, gk0, 0, both, 2);
	assert_int_equal(w.ready, 2);
	clear_out();
	say("carol holds that key");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(nd_core_queued(w.core), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_member_that_vanished_while_we_were_away_taints_the_key_we_come_back_to)
{
	uint8_t gk0[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	nd_core_link_down(w.core);
	assert_ok(nd_core_link_up(w.core));
	/* back in: bob is here, carol is not (she left while we were away,
	 * and the relay does not rekey) */
	{
		struct cove_frame f = ini_of(BOB, bob);

		feed(&f);
	}
	key_from(BOB, gk0, 0, both, 2);
	clear_out();
	say("carol may still hold the key");
	assert_u64(sent_count(COVE_F_DAT), 0);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

/* ---- joins ---------------------------------------------------------------------- */

TEST(a_departed_members_old_join_gets_no_key)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *carol, *fresh = cove_xkp_new();
	struct cove_frame old, again;
	size_t keys;

	be_first();
	carol = cove_xkp_new();
	old = ini_of(CAROL, carol);
	feed(&old);
	ask(CAROL, carol);
	open_last_key(carol, gk0, NULL);
	bye_of(CAROL);
	rek(1);
	keys = sent_count(COVE_F_KEY);
	/* the relay replays carol's old INI and asks for her */
	feed(&old);
	ask(CAROL, carol);
	assert_u64(sent_count(COVE_F_KEY), keys);
	/* a new INI with the same old session key is refused as well */
	again = ini_of(CAROL, carol);
	feed(&again);
	ask(CAROL, carol);
	assert_u64(sent_count(COVE_F_KEY), keys);
	/* a real new join, with a fresh session key, is welcome: in the next
	 * epoch, made with it */
	again = ini_of(CAROL, fresh);
	feed(&again);
	ask(CAROL, fresh);
	rek(2);
	assert_u64(sent_count(COVE_F_KEY), keys + 1);
	assert_bytes(last_sent(COVE_F_KEY).u.key.xpk, fresh->pk, COVE_XPK_LEN);
	cove_xkp_free(carol);
	cove_xkp_free(fresh);
}

TEST(a_join_older_than_a_day_gets_no_key)
{
	struct cove_xkp *bob = cove_xkp_new();
	struct cove_frame f;

	be_first();
	w.clock_ms -= ND_INI_MAX_AGE_MS + 60000;
	f = ini_of(BOB, bob);
	w.clock_ms += ND_INI_MAX_AGE_MS + 60000;
	feed(&f);
	clear_out();
	ask(BOB, bob);
	assert_u64(sent_count(COVE_F_KEY), 0);
	assert_u64(errors("refused_key"), 1);
	cove_xkp_free(bob);
}

TEST(members_replace_their_session_key_at_the_schedule)
{
	uint8_t old_xpk[COVE_XPK_LEN];

	be_first();
	memcpy(old_xpk, w.alice_xpk, COVE_XPK_LEN);
	clear_out();
	tick((uint64_t)ND_REKEY_INTERVAL_S * 1100);
	assert_true(sent_count(COVE_F_INI) >= 1);
	assert_bytes_differ(old_xpk, w.alice_xpk, COVE_XPK_LEN);
}

TEST(a_tainted_member_gives_no_joiner_the_key)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *carol, *bob = cove_xkp_new();
	struct cove_frame f;

	be_first();
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	f = ini_of(BOB, bob);
	feed(&f);
	clear_out();
	ask(BOB, bob);
	assert_u64(sent_count(COVE_F_KEY), 0);
	/* bob gets the next epoch instead */
	rek(1);
	assert_u64(sent_count(COVE_F_KEY), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

/* ---- requests -------------------------------------------------------------------- */

static struct cove_payload catchup(void)
{
	struct cove_payload pl;

	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_CATCHUP;
	pl.catchup.within_ms = ND_HISTORY_MS;
	return pl;
}

TEST(catchup_is_answered_once_and_only_just_after_a_join)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct cove_payload pl = catchup();

	be_first();
	bob = join(BOB, gk0);
	for (int i = 0; i < 5; i++)
		say("hello");
	clear_out();
	request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), 5);
	request_from(BOB, gk0, 0, &pl);
	request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), 5);
	cove_xkp_free(bob);
}

TEST(catchup_long_after_the_join_is_not_answered)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct cove_payload pl = catchup();

	be_first();
	bob = join(BOB, gk0);
	tick(ND_CATCHUP_WINDOW_MS + 1000);
	say("hello");
	clear_out();
	request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), 0);
	cove_xkp_free(bob);
}

TEST(resend_answers_are_bounded_per_requester)
{
	uint8_t gk0[COVE_GK_LEN], sid[COVE_SID_LEN];
	struct cove_xkp *bob;
	struct cove_payload pl;

	be_first();
	nd_core_set_limits(w.core, 1000000, 1000000); /* the budget, not the pace */
	tick(1000);
	bob = join(BOB, gk0);
	for (int i = 0; i < 100; i++)
		say("x");
	memcpy(sid, last_sent(COVE_F_DAT).u.dat.sid, COVE_SID_LEN);
	clear_out();
	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_RESEND;
	memcpy(pl.resend.from, pk(ALICE), 32);
	memcpy(pl.resend.sid, sid, COVE_SID_LEN);
	pl.resend.first = 0;
	pl.resend.last = 99;
	for (int i = 0; i < 30; i++)
		request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), ND_HISTORY_MAX);
	clear_out();
	tick(ND_HISTORY_MS / 2);
	request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), 0);
	cove_xkp_free(bob);
}

/* ---- pacing and gaps ------------------------------------------------------------- */

static void ui_gap(void *ctx, const char *room, const char *from, uint64_t first, uint64_t last)
{
	(void)ctx, (void)room, (void)from, (void)first, (void)last;
	if (w.nerrors < MAX_EV)
		snprintf(w.errors[w.nerrors++], sizeof(w.errors[0]), "%s", "gap");
}

TEST(dats_are_paced_inside_the_relays_limits_and_none_is_lost)
{
	uint64_t n_seen = 0;

	be_first();
	nd_core_set_limits(w.core, 100, 50);
	tick(1000); /* the bucket is full: 45 (90% of the burst of 50) */
	clear_out();
	for (int i = 0; i < 400; i++)
		say("paced");
	assert_u64(sent_count(COVE_F_DAT), 45);
	assert_u64(nd_core_queued(w.core), 400 - 45);
	tick(1000);
	/* 90 a second, at 90% of the relay's rate; never a burst above it */
	assert_true(sent_count(COVE_F_DAT) >= 45 + 85 && sent_count(COVE_F_DAT) <= 45 + 91);
	tick(5000);
	assert_u64(sent_count(COVE_F_DAT), 400);
	assert_u64(nd_core_queued(w.core), 0);
	for (size_t i = 0; i < w.nout; i++) {
		struct cove_frame f = sent(i);

		if (f.type == COVE_F_DAT)
			assert_u64(f.u.dat.n, n_seen++);
	}
}

TEST(a_gap_is_reported_only_after_its_resend_had_its_chance)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	dat_from(BOB, gk0, 0, 0, "zero");
	dat_from(BOB, gk0, 0, 3, "three"); /* 1 and 2 missing */
	clear_out();
	tick(ND_GAP_ASK_MS + 100);
	assert_u64(sent_count(COVE_F_DAT), 1); /* the RESEND */
	/* still coming: the sender is slow to answer */
	tick(ND_GAP_REPORT_MS - 500);
	assert_u64(errors("gap"), 0);
	dat_from(BOB, gk0, 0, 1, "one");
	tick(1000);
	assert_u64(errors("gap"), 1); /* 2 never came */
	assert_u64(w.ntexts, 3);
	cove_xkp_free(bob);
}

TEST(messages_a_failed_join_drops_are_each_named)
{
	struct cove_frame err = frame_of(RELAY, COVE_F_ERR);

	say("first words");
	say("second words");
	assert_u64(nd_core_queued(w.core), 2);
	err.u.err.code = COVE_EC_NO_KEY;
	err.u.err.text = "no key";
	err.u.err.text_len = 6;
	assert_ok(cove_msg_sign(&err, w.id[RELAY]));
	/* the only room failed: the node cannot go on, and says what it lost */
	assert_err(nd_core_frame(w.core, &err, NULL, 0), COVE_ERR_STATE);
	assert_u64(errors("not_sent"), 2);
	assert_u64(nd_core_queued(w.core), 0);
}

TEST(a_member_back_after_leaving_gets_a_new_epoch_not_the_one_made_without_it)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol, *carol2;
	struct cove_frame f;
	size_t keys;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	rek(1);
	say("while carol is away");
	/* carol comes back with a new join */
	carol2 = cove_xkp_new();
	f = ini_of(CAROL, carol2);
	feed(&f);
	keys = sent_count(COVE_F_KEY);
	clear_out();
	ask(CAROL, carol2);
	assert_u64(sent_count(COVE_F_KEY), 0);   /* not epoch 1 */
	assert_u64(sent_count(COVE_F_RKY), 1);   /* a new one asked for */
	rek(2);
	assert_u64(sent_count(COVE_F_KEY), 2);   /* epoch 2, to bob and carol */
	(void)keys;
	cove_xkp_free(bob);
	cove_xkp_free(carol);
	cove_xkp_free(carol2);
}

TEST(nobody_gets_again_what_was_said_before_it_was_a_member)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct cove_payload pl = catchup();

	be_first();
	say("before bob");
	say("also before bob");
	tick(1000);
	bob = join(BOB, gk0);
	say("with bob");
	clear_out();
	request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), 1);
	cove_xkp_free(bob);
}

TEST(a_refused_rekey_is_asked_for_again_and_warned_about)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct cove_frame err;

	be_first();
	bob = join(BOB, gk0);
	rek(1);
	err = frame_of(RELAY, COVE_F_ERR);
	err.room_len = 0;
	err.room[0] = '\0';
	err.u.err.code = COVE_EC_STALE_EPOCH;
	err.u.err.ref = last_sent(COVE_F_RDY).seq;
	err.u.err.text = "stale";
	err.u.err.text_len = 5;
	sign_feed(RELAY, &err);
	clear_out();
	tick(ND_REKEY_STALL_MS + 1000);
	assert_true(sent_count(COVE_F_RKY) >= 1);
	assert_u64(errors("rekey_stalled"), 1);
	cove_xkp_free(bob);
}

TEST(an_overdue_scheduled_rekey_is_warned_about_but_does_not_hold)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	tick((uint64_t)ND_REKEY_INTERVAL_S * 1100 + ND_REKEY_OVERDUE_MS + 1000);
	assert_true(errors("rekey_stalled") >= 1);
	clear_out();
	say("still sent");
	assert_u64(sent_count(COVE_F_DAT), 1);
	cove_xkp_free(bob);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(after_a_leave_nothing_is_sent_under_the_key_the_leaver_holds),
		T(a_relay_that_never_rekeys_gets_nothing_sent_and_the_user_is_warned),
		T(a_faked_stale_epoch_never_sends_the_room_back_to_the_old_key),
		T(a_rekey_sealed_for_a_list_that_may_hold_the_leaver_is_not_used),
		T(a_departed_members_dats_are_dropped),
		T(distrusting_a_member_holds_messages_until_our_own_epoch_without_it),
		T(a_dat_under_our_key_from_someone_we_do_not_trust_holds_our_messages),
		T(a_key_of_the_last_epoch_number_or_too_high_for_a_first_key_is_refused),
		T(rekeys_never_go_back_nor_jump_too_far),
		T(a_key_that_does_not_match_its_commitment_is_refused),
		T(a_departed_members_old_join_gets_no_key),
		T(a_join_older_than_a_day_gets_no_key),
		T(members_replace_their_session_key_at_the_schedule),
		T(a_tainted_member_gives_no_joiner_the_key),
		T(catchup_is_answered_once_and_only_just_after_a_join),
		T(catchup_long_after_the_join_is_not_answered),
		T(resend_answers_are_bounded_per_requester),
		T(dats_are_paced_inside_the_relays_limits_and_none_is_lost),
		T(a_gap_is_reported_only_after_its_resend_had_its_chance),
		T(messages_a_failed_join_drops_are_each_named),
		T(a_key_from_a_member_that_left_is_refused_even_if_made_before),
		T(a_key_from_someone_who_never_joined_is_refused),
		T(a_tainted_key_stays_tainted_after_a_reconnect),
		T(a_member_that_vanished_while_we_were_away_taints_the_key_we_come_back_to),
		T(a_member_back_after_leaving_gets_a_new_epoch_not_the_one_made_without_it),
		T(nobody_gets_again_what_was_said_before_it_was_a_member),
		T(a_refused_rekey_is_asked_for_again_and_warned_about),
		T(an_overdue_scheduled_rekey_is_warned_about_but_does_not_hold),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
