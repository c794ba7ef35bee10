/*
 * core_world.h - the world the chat core's unit tests play in: alice's
 * core, a fake clock, a fake network that records every frame the core
 * sends, and the relay and the other members, whose frames the tests make
 * and sign. Included by tests/unit/test_core_*.c only.
 */
#ifndef COVE_TESTS_UNIT_CORE_WORLD_H
#define COVE_TESTS_UNIT_CORE_WORLD_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/group.h"
#include "crypto/whitelist.h"
#include "chat/chat.h"
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
	struct cove_chat *core;
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
	int first, rejoin;          /* of the last ready event */
	size_t nleft;               /* left events */
	uint64_t gap_first, gap_last; /* of the last gap event */
	uint8_t alice_xpk[COVE_XPK_LEN];
	struct cove_chat_persist persist; /* what alice_starts() hands the core */
	int new_relay;              /* the relay keeps rooms: no refusal of SYN */
	size_t ncaught;             /* caught_up events */
	uint64_t caught_shown, caught_missed; /* of the last one */
} w;

static inline uint64_t fake_ms(void)
{
	return w.clock_ms;
}

static inline uint64_t fake_us(void)
{
	return w.clock_ms * 1000;
}

static inline int fake_send(void *ctx, const struct cove_frame *f)
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

static inline void ui_ready(void *ctx, const char *room, int first, int rejoin,
		     const char *const *members, size_t n)
{
	(void)ctx, (void)room, (void)members, (void)n;
	w.ready++;
	w.first = first;
	w.rejoin = rejoin;
}

static inline void ui_left(void *ctx, const char *room, const char *name)
{
	(void)ctx, (void)room, (void)name;
	w.nleft++;
}

static inline void ui_message(void *ctx, const char *room, const char *from, const char *text,
		       size_t len, uint64_t ts)
{
	(void)ctx, (void)room, (void)from, (void)ts;
	if (w.ntexts < MAX_EV)
		snprintf(w.texts[w.ntexts++], sizeof(w.texts[0]), "%.*s", (int)len, text);
}

static inline void ui_gap(void *ctx, const char *room, const char *from, uint64_t first, uint64_t last)
{
	(void)ctx, (void)room, (void)from;
	w.gap_first = first;
	w.gap_last = last;
	if (w.nerrors < MAX_EV)
		snprintf(w.errors[w.nerrors++], sizeof(w.errors[0]), "%s", "gap");
}

static inline void ui_error(void *ctx, const char *room, const char *code, const char *msg, int fatal)
{
	(void)ctx, (void)room, (void)msg, (void)fatal;
	if (w.nerrors < MAX_EV)
		snprintf(w.errors[w.nerrors++], sizeof(w.errors[0]), "%s", code);
}

static inline void ui_notice(void *ctx, const char *room, const char *code, const char *msg)
{
	(void)ctx, (void)room, (void)msg;
	if (w.nnotices < MAX_EV)
		snprintf(w.notices[w.nnotices++], sizeof(w.notices[0]), "%s", code);
}

static inline void ui_caught_up(void *ctx, const char *room, uint64_t shown, uint64_t missed)
{
	(void)ctx, (void)room;
	w.ncaught++;
	w.caught_shown = shown;
	w.caught_missed = missed;
}

static inline size_t count_code(char (*list)[32], size_t n, const char *code)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += strcmp(list[i], code) == 0;
	return k;
}

static inline size_t errors(const char *code)
{
	return count_code(w.errors, w.nerrors, code);
}

static inline void clear_out(void)
{
	for (size_t i = 0; i < w.nout; i++)
		free(w.out[i].raw);
	w.nout = 0;
}

/* The i-th frame alice sent since the last clear_out(), decoded (DAT ct
 * points into the recorded bytes). */
static inline struct cove_frame sent(size_t i)
{
	struct cove_frame f;

	assert_ok(cove_frame_decode(&f, w.out[i].raw, w.out[i].len));
	return f;
}

static inline size_t sent_count(uint8_t type)
{
	size_t n = 0;

	for (size_t i = 0; i < w.nout; i++)
		n += sent(i).type == type;
	return n;
}

/* The last frame of type alice sent, or the test fails. */
static inline struct cove_frame last_sent(uint8_t type)
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

static inline void tick(uint64_t ms)
{
	/* in steps, as the program's timer would */
	for (uint64_t t = 0; t < ms; t += 50) {
		w.clock_ms += 50;
		cove_chat_tick(w.core);
	}
}

/* Hands alice a frame as the relay would: encoded, decoded again, so that
 * it carries the bytes a real link would; sig: what the program says it
 * found of its member signature (cove_chat_frame_checked()). */
static inline void feed_checked(const struct cove_frame *f, int sig)
{
	size_t n = cove_frame_size(f), len = 0;
	uint8_t *raw = malloc(n);
	struct cove_frame d;

	assert_non_null(raw);
	assert_ok(cove_frame_encode(f, raw, n, &len));
	assert_ok(cove_frame_decode(&d, raw, len));
	assert_ok(cove_chat_frame_checked(w.core, &d, raw, len, sig));
	free(raw);
}

static inline void feed(const struct cove_frame *f)
{
	feed_checked(f, COVE_CHAT_SIG_UNCHECKED);
}

static inline struct cove_frame frame_of(enum who who, uint8_t type)
{
	struct cove_frame f;

	cove_msg_init(&f, type, ROOM, strlen(ROOM), pk(who), ++w.seq[who], w.clock_ms);
	return f;
}

static inline void sign_feed(enum who who, struct cove_frame *f)
{
	assert_ok(cove_msg_sign(f, w.id[who]));
	feed(f);
}

static inline void set_whitelist(const char *names)
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
		cove_chat_set_whitelist(w.core, w.wl);
	cove_wl_free(old);
}

/* The relay of protocol version 1, which keeps nothing, refuses the SYN
 * alice sent after her INI (wrong_direction): she has nothing to catch
 * up and goes on as that relay expects. */
static inline void old_relay_refuses_syn(void)
{
	for (size_t i = w.nout; i-- > 0;) {
		struct cove_frame s, err;

		assert_ok(cove_frame_decode(&s, w.out[i].raw, w.out[i].len));
		if (s.type != COVE_F_SYN)
			continue;
		cove_msg_init(&err, COVE_F_ERR, "", 0, pk(RELAY), ++w.seq[RELAY], w.clock_ms);
		err.u.err.code = COVE_EC_WRONG_DIRECTION;
		err.u.err.ref = s.seq;
		err.u.err.text = "wrong direction";
		err.u.err.text_len = 15;
		assert_ok(cove_msg_sign(&err, w.id[RELAY]));
		feed(&err);
		return;
	}
}

/* alice's core, with opts (NULL: the defaults), in ROOM, linked and
 * welcomed by a relay of today (w.new_relay 0: it refuses her SYN) or
 * one that keeps rooms (w.new_relay 1: the test sends UPD); any core she
 * had is freed. */
static inline void alice_starts(const struct cove_chat_opts *opts)
{
	static const struct cove_chat_ui ui = {
		.ready = ui_ready,
		.message = ui_message,
		.left = ui_left,
		.error = ui_error,
		.notice = ui_notice,
		.gap = ui_gap,
		.caught_up = ui_caught_up,
	};
	struct cove_chat_deps deps = {
		.send = fake_send,
		.now_ms = fake_ms,
		.now_us = fake_us,
		.persist = w.persist,
	};
	struct cove_frame f;

	cove_chat_free(w.core);
	w.core = cove_chat_new(w.id[ALICE], w.wl, pk(RELAY), &ui, &deps, opts);
	assert_non_null(w.core);
	assert_ok(cove_chat_add_room(w.core, ROOM));
	assert_ok(cove_chat_link_up(w.core));
	cove_msg_init(&f, COVE_F_WLC, "", 0, pk(RELAY), ++w.seq[RELAY], w.clock_ms);
	memcpy(f.u.wlc.you, pk(ALICE), COVE_ID_LEN);
	sign_feed(RELAY, &f);
	if (!w.new_relay)
		old_relay_refuses_syn();
}

static inline int setup(void **state)
{
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
	alice_starts(NULL);
	return 0;
}

static inline int teardown(void **state)
{
	(void)state;
	cove_chat_free(w.core);
	clear_out();
	cove_wl_free(w.wl);
	for (int i = 0; i < NIDS; i++)
		cove_ident_free(w.id[i]);
	return 0;
}

/* ---- what the relay and the others do ---------------------------------------- */

/* The relay tells alice she is first: she makes epoch 0. */
static inline void be_first(void)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_INI);

	memcpy(f.u.ini.xpk, w.alice_xpk, COVE_XPK_LEN);
	sign_feed(RELAY, &f);
	assert_int_equal(w.ready, 1);
}

/* who's INI (forwarded by the relay), with a fresh session key. */
static inline struct cove_frame ini_of(enum who who, struct cove_xkp *kp)
{
	struct cove_frame f = frame_of(who, COVE_F_INI);

	memcpy(f.u.ini.xpk, kp->pk, COVE_XPK_LEN);
	assert_ok(cove_msg_sign(&f, w.id[who]));
	return f;
}

/* who is in the room (its INI reaches alice); returns its session key. */
static inline struct cove_xkp *here(enum who who)
{
	struct cove_xkp *kp = cove_xkp_new();
	struct cove_frame f;

	assert_non_null(kp);
	f = ini_of(who, kp);
	feed(&f);
	return kp;
}

/* The relay asks alice to give who (session key kp) the key. */
static inline void ask(enum who who, const struct cove_xkp *kp)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_ASK);

	memcpy(f.u.ask.to, pk(ALICE), COVE_ID_LEN);
	memcpy(f.u.ask.joiner, pk(who), COVE_ID_LEN);
	memcpy(f.u.ask.xpk, kp->pk, COVE_XPK_LEN);
	sign_feed(RELAY, &f);
}

/* The group key in the last KEY alice sent to kp; the test fails if she
 * sent none. gk: COVE_GK_LEN bytes. */
static inline void open_last_key(const struct cove_xkp *kp, uint8_t *gk, uint32_t *epoch)
{
	struct cove_frame k = last_sent(COVE_F_KEY);

	assert_bytes(k.u.key.xpk, kp->pk, COVE_XPK_LEN);
	assert_ok(cove_msg_key_open(&k, kp, gk));
	if (epoch)
		*epoch = k.u.key.epoch;
}

/* bob joins: INI, the relay's ASK, alice's KEY. Returns bob's session
 * key pair; gk0 receives the key alice gave him. */
static inline struct cove_xkp *join(enum who who, uint8_t *gk0)
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

static inline void bye_of(enum who who)
{
	struct cove_frame f = frame_of(who, COVE_F_BYE);

	memcpy(f.u.bye.who, pk(who), COVE_ID_LEN);
	sign_feed(who, &f);
}

/* The relay says who is gone: its connection was lost and did not come
 * back within the relay's grace period. */
static inline void relay_bye(enum who who)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_BYE);

	memcpy(f.u.bye.who, pk(who), COVE_ID_LEN);
	sign_feed(RELAY, &f);
}

/* The link goes, and a new one comes: alice joins her room again (a new
 * INI) and the relay welcomes her. */
static inline void reconnect(void)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_WLC);

	cove_chat_link_down(w.core);
	assert_ok(cove_chat_link_up(w.core));
	f.room_len = 0;
	f.room[0] = '\0';
	memcpy(f.u.wlc.you, pk(ALICE), COVE_ID_LEN);
	sign_feed(RELAY, &f);
	if (!w.new_relay)
		old_relay_refuses_syn();
}

/* who, with session key kp, is still in the room: after a reconnect the
 * relay tells alice (its INI, as it holds it). */
static inline void still_here(enum who who, const struct cove_xkp *kp)
{
	struct cove_frame f = frame_of(who, COVE_F_INI);

	memcpy(f.u.ini.xpk, kp->pk, COVE_XPK_LEN);
	sign_feed(who, &f);
}

static inline void rek(uint32_t epoch)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_REK);

	memcpy(f.u.rek.to, pk(ALICE), COVE_ID_LEN);
	f.u.rek.epoch = epoch;
	sign_feed(RELAY, &f);
}

/* The relay refuses alice's last RDY as stale_epoch. */
static inline void refuse_last_rdy(void)
{
	struct cove_frame err = frame_of(RELAY, COVE_F_ERR);

	err.room_len = 0;
	err.room[0] = '\0';
	err.u.err.code = COVE_EC_STALE_EPOCH;
	err.u.err.ref = last_sent(COVE_F_RDY).seq;
	err.u.err.text = "stale";
	err.u.err.text_len = 5;
	sign_feed(RELAY, &err);
}

/* The view a KEY from a member carries: the sorted identities. */
static inline void view_of(uint8_t view[COVE_VIEW_LEN], uint32_t epoch, const enum who *ids, size_t n)
{
	uint8_t list[8][32];

	for (size_t i = 0; i < n; i++)
		memcpy(list[i], pk(ids[i]), 32);
	cove_view_hash(view, epoch, list, n);
}

/* from gives alice gk for epoch, sealed to her current session key, with
 * the view of the members it sealed to. */
static inline void request_from(enum who who, const uint8_t *gk, uint32_t epoch,
				const struct cove_payload *pl);
static inline struct cove_frame request_of(enum who who, const uint8_t *gk, uint32_t epoch,
					   const struct cove_payload *pl);

/* from's KEY of gk for epoch reaches alice, alone: its HOLDERS does not
 * (yet). */
static inline void key_only_from(enum who from, const uint8_t *gk, uint32_t epoch,
				 const enum who *ids, size_t n)
{
	struct cove_frame f = frame_of(from, COVE_F_KEY);
	uint8_t view[COVE_VIEW_LEN];

	view_of(view, epoch, ids, n);
	assert_ok(cove_msg_key_seal(&f, pk(ALICE), w.alice_xpk, epoch, gk, view, w.id[from]));
	feed(&f);
}

/* from's HOLDERS payload for epoch: it gave the key to ids (but itself).
 * Static, valid until the next call (8 KiB: not on the stack). */
static inline const struct cove_payload *holders_payload(enum who from, uint32_t epoch,
							 const enum who *ids, size_t n)
{
	static struct cove_payload pl;

	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_HOLDERS;
	pl.holders.epoch = epoch;
	for (size_t i = 0; i < n; i++)
		if (ids[i] != from)
			memcpy(pl.holders.ids[pl.holders.nids++], pk(ids[i]), 32);
	return &pl;
}

/* from's HOLDERS for epoch, under gk, reaches alice. */
static inline void holders_of(enum who from, const uint8_t *gk, uint32_t epoch,
				const enum who *ids, size_t n)
{
	request_from(from, gk, epoch, holders_payload(from, epoch, ids, n));
}

/* from's KEY of gk for epoch, sealed to alice with the list ids, then its
 * HOLDERS naming them, as an honest member sends both. */
static inline void key_from(enum who from, const uint8_t *gk, uint32_t epoch, const enum who *ids,
		     size_t n)
{
	key_only_from(from, gk, epoch, ids, n);
	holders_of(from, gk, epoch, ids, n);
}

/* A DAT of text from who under gk of epoch, message number n of its
 * session; its ciphertext is static, valid until the next call. */
static inline struct cove_frame dat_of(enum who who, const uint8_t *gk, uint32_t epoch,
				       uint64_t n, const char *text)
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
	return f;
}

/* who's DAT reaches alice. */
static inline void dat_from(enum who who, const uint8_t *gk, uint32_t epoch, uint64_t n,
		     const char *text)
{
	struct cove_frame f = dat_of(who, gk, epoch, n, text);

	feed(&f);
}

/* who's unnumbered DAT of pl under gk; its ciphertext is static, valid
 * until the next call. */
static inline struct cove_frame request_of(enum who who, const uint8_t *gk, uint32_t epoch,
					   const struct cove_payload *pl)
{
	static uint8_t ct[COVE_DAT_CT_MAX];
	struct cove_frame f = frame_of(who, COVE_F_DAT);

	f.u.dat.epoch = epoch;
	memset(f.u.dat.sid, who, COVE_SID_LEN);
	f.u.dat.n = UINT64_MAX;
	assert_ok(cove_msg_dat_seal(&f, ct, sizeof(ct), pl, gk, w.id[who]));
	return f;
}

static inline void request_from(enum who who, const uint8_t *gk, uint32_t epoch,
			 const struct cove_payload *pl)
{
	struct cove_frame f = request_of(who, gk, epoch, pl);

	feed(&f);
}

/* The payload of the i-th frame alice sent (a DAT), opened with gk; the
 * test fails if it does not open. Text points into static memory, valid
 * until the next call. */
static inline struct cove_payload *opened(size_t i, const uint8_t *gk)
{
	static uint8_t pt[COVE_PAD_MAX];
	static struct cove_payload pl;
	struct cove_frame f = sent(i);

	assert_int_equal(f.type, COVE_F_DAT);
	assert_ok(cove_msg_dat_open(&f, gk, pt, sizeof(pt), &pl));
	return &pl;
}

static inline void say(const char *text)
{
	assert_ok(cove_chat_send_text(w.core, ROOM, text, strlen(text)));
}

/* Every DAT alice sent since the last clear_out() is of an epoch above
 * `above` (but the GONEs telling the room someone left), and no key below
 * it opens any of them: returns how many. */
static inline size_t dats_above(uint32_t above, const uint8_t *old_gk)
{
	static uint8_t pt[COVE_PAD_MAX];
	size_t n = 0;

	for (size_t i = 0; i < w.nout; i++) {
		struct cove_frame f = sent(i);
		struct cove_payload pl;

		if (f.type != COVE_F_DAT)
			continue;
		if (f.u.dat.epoch <= above) {
			/* only a GONE, which tells the one gone that it went */
			if (!old_gk || cove_msg_dat_open(&f, old_gk, pt, sizeof(pt), &pl) != COVE_OK ||
			    pl.kind != COVE_PL_GONE)
				fail_msg("alice sent a DAT under epoch %u, not above %u",
					 f.u.dat.epoch, above);
			continue;
		}
		if (old_gk && cove_msg_dat_open(&f, old_gk, pt, sizeof(pt), &pl) == COVE_OK)
			fail_msg("the old key opens a DAT alice sent after the removal");
		n++;
	}
	return n;
}

#endif
