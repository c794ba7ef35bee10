/*
 * chat_world.h - the world fuzz_chat.c plays in: fixed identities (alice,
 * whose chat core is under test; bob and carol on her whitelist; dave
 * not; the relay she pins), a fake clock, a deterministic randombytes, a
 * fake relay that checks and records every frame alice sends, and the
 * front-end that checks every event she shows. Included by fuzz_chat.c
 * only.
 *
 * randombytes is a ChaCha20 stream restarted for each input, so that an
 * input always does the same thing. The checks, on everything alice
 * sends and shows:
 *  - each frame is of a type a node sends (INI, KEY, DAT, RDY, RKY, BYE),
 *    from alice, in one of her rooms, signed, and encodes within
 *    COVE_FRAME_MAX; sequence numbers only rise; no epoch is the last
 *    number; the epochs she confirms (RDY) in a room never fall;
 *  - a KEY goes only to someone on alice's whitelist, sealed to a session
 *    key that one signed in an INI in that room;
 *  - removal: once someone alice gave a key to has left (a BYE she took)
 *    or is off her whitelist, nothing but a GONE goes under that key;
 *  - a message shown is from someone on her whitelist, whose name it
 *    bears, in the room it was sent to, and no message (room, sender,
 *    session, number) is shown twice.
 *
 * The world also keeps a digest of everything the core did (w.trace):
 * two builds of the core can be compared input by input with it, to show
 * that a change meant to change no behaviour changed none.
 */
#ifndef COVE_TESTS_FUZZ_CHAT_WORLD_H
#define COVE_TESTS_FUZZ_CHAT_WORLD_H

#include <string.h>

#include "chat/chat.h"
#include "common/err.h"
#include "common/utf8.h"
#include "crypto/group.h"
#include "crypto/whitelist.h"
#include "proto/msg.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/rng.h"

enum { ALICE, BOB, CAROL, DAVE, RELAY, NIDS };

#define NROOMS 2
#define NKEYS 16      /* group keys the world knows, per room */
#define NRING 16      /* frames remembered for REPLAY, MUTATE and ECHO */
#define NMSGS 1024    /* texts the members sent, by tag */
#define MAX_OPS 256
/* The relay hangs up after this many frames from alice: sending again what
 * members ask for is bounded per member and time, and an input that keeps
 * asking for hours would only run into libFuzzer's time limit. */
#define MAX_SENT 20000
#define START_MS 1800000000000ull

static const char *const room_names[NROOMS] = { "lobby", "ops" };
static const char *const names[4] = { "alice", "bob", "carol", "dave" };

/* A group key the world holds, and whom alice sealed it to. */
struct fz_key {
	uint32_t epoch;
	uint8_t gk[COVE_GK_LEN];
	uint8_t kid[COVE_KID_LEN];
	unsigned given;             /* bit per member: alice sealed it to them */
	unsigned gone;              /* ... and then they left (a BYE alice took) */
};

struct fz_member {
	struct cove_xkp *xkp, *prev;
	uint8_t *ini;               /* its last INI, as fed */
	size_t ini_len;
	unsigned inis;              /* how many INIs it signed in the room */
	uint8_t xpks[8][COVE_XPK_LEN]; /* the last session keys it signed */
	uint8_t sid[COVE_SID_LEN];
	unsigned sidgen;
	uint64_t next_n;
};

struct fz_room {
	uint8_t axpk[2][COVE_XPK_LEN]; /* alice's session keys: current, previous */
	int naxpk;
	uint8_t asid[COVE_SID_LEN];
	uint64_t ahigh;             /* her highest message number */
	uint64_t rdy_seq, dat_seq;
	uint32_t epoch;             /* her last RDY's */
	int have_epoch;
	struct fz_key keys[NKEYS];
	size_t nkeys, key_next;
	struct fz_member mem[4];
};

struct fz_raw {
	uint8_t *raw;
	size_t len;
};

/* A text a member sent: in which room, from whom, in which of its
 * sessions there, with which number. */
struct fz_msg {
	int room, who;
	unsigned sidgen;
	uint64_t n;
	int shown;
};

static struct {
	struct cove_ident *id[NIDS];
	struct cove_wl *wls[16];    /* by whom they list: bits of alice..dave */
	unsigned wl_mask;
	struct cove_chat *core;
	uint64_t clock_ms;
	uint64_t seq[NIDS];
	uint64_t alice_seq;         /* of the last frame alice sent */
	size_t nalice;              /* frames she sent */
	int link_up, dead;
	uint64_t syn[NROOMS];       /* seq of alice's SYN on this link; 0: none */
	struct fz_room room[NROOMS];
	struct fz_raw fed[NRING], sent[NRING];
	size_t nfed, nsent;
	struct fz_msg msgs[NMSGS];
	size_t nmsgs;
	crypto_generichash_state trace;
} w;

/* ---- the clock, the world's tables ---------------------------------------- */

static uint64_t fake_ms(void)
{
	return w.clock_ms;
}

static uint64_t fake_us(void)
{
	return w.clock_ms * 1000;
}

static const uint8_t *pk(int who)
{
	return w.id[who]->pk;
}

static const struct cove_wl *wl(void)
{
	return w.wls[w.wl_mask];
}

static void trace(const char *what, const void *p, size_t n)
{
	crypto_generichash_update(&w.trace, (const uint8_t *)what, strlen(what) + 1);
	crypto_generichash_update(&w.trace, p, n);
}

static void trace_str(const char *what, const char *s)
{
	trace(what, s ? s : "", s ? strlen(s) : 0);
}

static void ring_put(struct fz_raw *ring, size_t *n, const uint8_t *raw, size_t len)
{
	struct fz_raw *slot = &ring[*n % NRING];

	free(slot->raw);
	slot->raw = malloc(len);
	FUZZ_CHECK(slot->raw, "out of memory");
	memcpy(slot->raw, raw, len);
	slot->len = len;
	(*n)++;
}

static int room_index(const struct cove_frame *f)
{
	for (int i = 0; i < NROOMS; i++)
		if (f->room_len == strlen(room_names[i]) &&
		    memcmp(f->room, room_names[i], f->room_len) == 0)
			return i;
	return -1;
}

static int who_of(const uint8_t id[COVE_ID_LEN])
{
	for (int i = 0; i < NIDS; i++)
		if (memcmp(id, pk(i), COVE_ID_LEN) == 0)
			return i;
	return -1;
}

static struct fz_key *key_by_kid(struct fz_room *r, const uint8_t kid[COVE_KID_LEN])
{
	for (size_t i = 0; i < r->nkeys; i++)
		if (memcmp(r->keys[i].kid, kid, COVE_KID_LEN) == 0)
			return &r->keys[i];
	return NULL;
}

/* Remembers gk of epoch (the oldest known key makes room). */
static struct fz_key *key_add(struct fz_room *r, const uint8_t *gk, uint32_t epoch)
{
	uint8_t kid[COVE_KID_LEN];
	struct fz_key *k;

	cove_gk_kid(kid, gk, epoch);
	k = key_by_kid(r, kid);
	if (k)
		return k;
	k = &r->keys[r->key_next++ % NKEYS];
	if (r->nkeys < NKEYS)
		r->nkeys++;
	memset(k, 0, sizeof(*k));
	k->epoch = epoch;
	memcpy(k->gk, gk, COVE_GK_LEN);
	memcpy(k->kid, kid, COVE_KID_LEN);
	return k;
}

/* ---- what alice sends (the fake relay) ------------------------------------- */

static void check_dat(struct fz_room *r, const struct cove_frame *f)
{
	static uint8_t pt[COVE_PAD_MAX];
	static struct cove_payload pl;
	struct fz_key *k = key_by_kid(r, f->u.dat.kid);

	memcpy(r->asid, f->u.dat.sid, COVE_SID_LEN);
	if (f->u.dat.n != COVE_CHAT_UNNUMBERED && f->u.dat.n > r->ahigh)
		r->ahigh = f->u.dat.n;
	r->dat_seq = f->seq;
	if (!k)
		return;
	FUZZ_CHECK(k->epoch == f->u.dat.epoch, "a DAT of epoch %u under the key of %u",
		   f->u.dat.epoch, k->epoch);
	FUZZ_CHECK(cove_msg_dat_open(f, k->gk, pt, sizeof(pt), &pl) == COVE_OK,
		   "alice's DAT does not open under its key");
	FUZZ_CHECK(pl.kind == COVE_PL_GONE ||
			   !(k->gone || (k->given & ~w.wl_mask & 0xe)),
		   "alice sent kind %u under epoch %u, whose key she gave to one who left "
		   "(%#x) or whom she no longer trusts (%#x)", pl.kind, k->epoch, k->gone,
		   k->given & ~w.wl_mask);
	if (pl.kind == COVE_PL_TEXT)
		FUZZ_CHECK(cove_utf8_valid(pl.text, pl.text_len), "alice sent bad UTF-8");
}

static void check_key(struct fz_room *r, const struct cove_frame *f)
{
	int to = who_of(f->u.key.to);
	struct fz_member *m;
	uint8_t gk[COVE_GK_LEN];
	int signed_it = 0;

	FUZZ_CHECK(to > ALICE && to < RELAY, "alice sealed a key to %d", to);
	FUZZ_CHECK(cove_wl_find_pk(wl(), f->u.key.to), "alice sealed a key to %s, who is "
		   "not on her whitelist", names[to]);
	m = &r->mem[to];
	for (unsigned i = 0; i < m->inis && i < 8; i++)
		signed_it |= memcmp(m->xpks[i], f->u.key.xpk, COVE_XPK_LEN) == 0;
	FUZZ_CHECK(signed_it, "alice sealed a key to a session key %s never signed", names[to]);
	if (m->xkp && memcmp(m->xkp->pk, f->u.key.xpk, COVE_XPK_LEN) == 0 &&
	    cove_msg_key_open(f, m->xkp, gk) == COVE_OK)
		key_add(r, gk, f->u.key.epoch)->given |= 1u << to;
	else if (m->prev && memcmp(m->prev->pk, f->u.key.xpk, COVE_XPK_LEN) == 0 &&
		 cove_msg_key_open(f, m->prev, gk) == COVE_OK)
		key_add(r, gk, f->u.key.epoch)->given |= 1u << to;
	sodium_memzero(gk, sizeof(gk));
}

static int fake_send(void *ctx, const struct cove_frame *f)
{
	static uint8_t raw[COVE_FRAME_MAX];
	size_t n = cove_frame_size(f), len = 0;
	struct cove_frame d;
	struct fz_room *r;
	int ri;

	(void)ctx;
	if (!w.link_up)
		return COVE_ERR_STATE; /* as the node's send with no link */
	FUZZ_CHECK(n > 0 && n <= sizeof(raw), "alice's frame of type %u has size %zu", f->type, n);
	FUZZ_CHECK(cove_frame_encode(f, raw, sizeof(raw), &len) == COVE_OK && len == n,
		   "alice's frame of type %u does not encode", f->type);
	FUZZ_CHECK(cove_frame_decode(&d, raw, len) == COVE_OK, "alice's frame does not decode");
	trace("sent", raw, len);
	ring_put(w.sent, &w.nsent, raw, len);
	FUZZ_CHECK(d.type == COVE_F_INI || d.type == COVE_F_KEY || d.type == COVE_F_DAT ||
			   d.type == COVE_F_RDY || d.type == COVE_F_RKY || d.type == COVE_F_BYE ||
			   d.type == COVE_F_SYN,
		   "alice sent a frame of type %u", d.type);
	FUZZ_CHECK(memcmp(d.from, pk(ALICE), COVE_ID_LEN) == 0, "alice's frame is not from her");
	FUZZ_CHECK(cove_msg_verify(&d) == COVE_OK, "alice's frame of type %u is not signed",
		   d.type);
	FUZZ_CHECK(d.seq > w.alice_seq, "alice's seq %llu after %llu",
		   (unsigned long long)d.seq, (unsigned long long)w.alice_seq);
	w.alice_seq = d.seq;
	if (++w.nalice >= MAX_SENT)
		w.dead = 1;
	ri = room_index(&d);
	FUZZ_CHECK(ri >= 0, "alice sent a frame of type %u to room %s", d.type, d.room);
	r = &w.room[ri];
	switch (d.type) {
	case COVE_F_INI:
		memcpy(r->axpk[1], r->axpk[0], COVE_XPK_LEN);
		memcpy(r->axpk[0], d.u.ini.xpk, COVE_XPK_LEN);
		r->naxpk++;
		break;
	case COVE_F_SYN:
		w.syn[ri] = d.seq;
		break;
	case COVE_F_RDY:
		FUZZ_CHECK(d.u.rdy.epoch != COVE_EPOCH_END, "alice confirmed the last epoch");
		FUZZ_CHECK(!r->have_epoch || d.u.rdy.epoch >= r->epoch,
			   "alice went back from epoch %u to %u in room %s", r->epoch,
			   d.u.rdy.epoch, d.room);
		r->epoch = d.u.rdy.epoch;
		r->have_epoch = 1;
		r->rdy_seq = d.seq;
		break;
	case COVE_F_KEY:
		FUZZ_CHECK(d.u.key.epoch != COVE_EPOCH_END, "alice sealed the last epoch");
		check_key(r, &d);
		break;
	case COVE_F_DAT:
		FUZZ_CHECK(d.u.dat.epoch != COVE_EPOCH_END, "alice used the last epoch");
		check_dat(r, &d);
		break;
	}
	return COVE_OK;
}

/* ---- what alice shows ------------------------------------------------------ */

static void check_code(const char *code, const char *msg)
{
	FUZZ_CHECK(code && *code, "an event without a code");
	for (const char *p = code; *p; p++)
		FUZZ_CHECK((*p >= 'a' && *p <= 'z') || *p == '_', "event code \"%s\"", code);
	FUZZ_CHECK(msg && strlen(msg) < 4096, "event %s without a message", code);
}

static void ui_connected(void *ctx)
{
	(void)ctx;
	trace_str("connected", "");
}

static void ui_ready(void *ctx, const char *room, int first, int rejoin,
		     const char *const *members, size_t n)
{
	(void)ctx;
	trace_str("ready", room);
	trace("ready.flags", (int[2]){ first, rejoin }, 2 * sizeof(int));
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(members[i], "a member shown as ready has no name");
		trace_str("ready.member", members[i]);
	}
}

static void ui_message(void *ctx, const char *room, const char *from, const char *text,
		       size_t len, uint64_t ts)
{
	unsigned long tag;
	char hex[5], *end;

	(void)ctx;
	(void)ts;
	trace_str("message", room);
	trace_str("message.from", from);
	trace("message.text", text, len);
	FUZZ_CHECK(cove_wl_find_name(wl(), from), "a message shown from %s, not on the whitelist",
		   from);
	FUZZ_CHECK(len >= 1 && len <= COVE_TEXT_MAX && cove_utf8_valid(text, len),
		   "a message of %zu bytes shown", len);
	if (len < 6 || text[0] != '#' || text[5] != ':')
		return;
	memcpy(hex, text + 1, 4);
	hex[4] = '\0';
	tag = strtoul(hex, &end, 16);
	if (*end || tag >= w.nmsgs)
		return;
	FUZZ_CHECK(strcmp(room_names[w.msgs[tag].room], room) == 0, "a message to %s shown in %s",
		   room_names[w.msgs[tag].room], room);
	FUZZ_CHECK(strcmp(names[w.msgs[tag].who], from) == 0, "%s's message shown as %s's",
		   names[w.msgs[tag].who], from);
	for (size_t i = 0; i < w.nmsgs; i++) {
		const struct fz_msg *m = &w.msgs[i];

		FUZZ_CHECK(!(m->shown && m->room == w.msgs[tag].room && m->who == w.msgs[tag].who &&
			     m->sidgen == w.msgs[tag].sidgen && m->n == w.msgs[tag].n),
			   "%s's message %llu shown twice", from, (unsigned long long)m->n);
	}
	w.msgs[tag].shown = 1;
}

static void ui_joined(void *ctx, const char *room, const char *name)
{
	(void)ctx;
	trace_str("joined", room);
	trace_str("joined.name", name);
}

static void ui_left(void *ctx, const char *room, const char *name)
{
	(void)ctx;
	trace_str("left", room);
	trace_str("left.name", name);
}

static void ui_caught_up(void *ctx, const char *room, uint64_t shown, uint64_t missed)
{
	(void)ctx;
	(void)missed;
	trace_str("caught_up", room);
	FUZZ_CHECK(shown <= NMSGS * 64ull, "caught up with %llu shown",
		   (unsigned long long)shown);
}

static void ui_presence(void *ctx, const char *room, const char *name, int here,
			uint64_t seen)
{
	(void)ctx;
	(void)seen;
	trace_str("presence", room);
	trace_str("presence.name", name);
	FUZZ_CHECK(here == 0 || here == 1, "presence %d", here);
}

static void ui_epoch(void *ctx, const char *room, uint32_t epoch, const char *by)
{
	(void)ctx;
	trace_str("epoch", room);
	trace("epoch.n", &epoch, sizeof(epoch));
	trace_str("epoch.by", by);
}

static void ui_gap(void *ctx, const char *room, const char *from, uint64_t first, uint64_t last)
{
	(void)ctx;
	FUZZ_CHECK(first <= last, "a gap from %llu to %llu", (unsigned long long)first,
		   (unsigned long long)last);
	trace_str("gap", room);
	trace_str("gap.from", from);
	trace("gap.range", (uint64_t[2]){ first, last }, 2 * sizeof(uint64_t));
}

static void ui_error(void *ctx, const char *room, const char *code, const char *msg, int fatal)
{
	(void)ctx;
	check_code(code, msg);
	trace_str("error", room);
	trace_str("error.code", code);
	trace_str("error.msg", msg);
	trace("error.fatal", &fatal, sizeof(fatal));
}

static void ui_notice(void *ctx, const char *room, const char *code, const char *msg)
{
	(void)ctx;
	check_code(code, msg);
	trace_str("notice", room);
	trace_str("notice.code", code);
	trace_str("notice.msg", msg);
}

static void keylog(void *ctx, const char *room, uint32_t epoch, const uint8_t *gk)
{
	(void)ctx;
	FUZZ_CHECK(room && gk && epoch != COVE_EPOCH_END, "keylog of epoch %u", epoch);
	trace_str("keylog", room);
	trace("keylog.epoch", &epoch, sizeof(epoch));
}

/* What alice's core is given: the front-end above, the fake relay, the
 * fake clock, and a message budget small enough for inputs to spend. */
static const struct cove_chat_ui world_ui = {
	.connected = ui_connected,
	.ready = ui_ready,
	.message = ui_message,
	.joined = ui_joined,
	.left = ui_left,
	.epoch = ui_epoch,
	.gap = ui_gap,
	.error = ui_error,
	.notice = ui_notice,
	.caught_up = ui_caught_up,
	.presence = ui_presence,
};
static const struct cove_chat_deps world_deps = {
	.send = fake_send,
	.now_ms = fake_ms,
	.now_us = fake_us,
	.keylog = keylog,
};

static const struct cove_chat_opts world_opts = { .rekey_messages = 32 };

/* ---- the world's life ------------------------------------------------------ */

static void world_init(void)
{
	static const uint8_t key[32] = "cove fuzz chat, never random!!!";

	fuzz_rng_install(key);
	fuzz_sodium_init();
	for (int i = 0; i < NIDS; i++) {
		uint8_t seed[COVE_SEED_LEN];

		memset(seed, 0x11 * (i + 1), sizeof(seed));
		w.id[i] = cove_ident_new();
		FUZZ_CHECK(w.id[i] && cove_ident_from_seed(w.id[i], seed) == COVE_OK, "identity");
	}
	for (unsigned mask = 0; mask < 16; mask++) {
		char text[1024] = "";

		for (int i = 0; i < 4; i++) {
			char b64[COVE_PK_B64_LEN + 1], line[128];

			if (!(mask & (1u << i)))
				continue;
			cove_pk_to_b64(b64, pk(i));
			snprintf(line, sizeof(line), "%s %s\n", names[i], b64);
			strcat(text, line);
		}
		FUZZ_CHECK(cove_wl_parse(&w.wls[mask], text, strlen(text), NULL) == COVE_OK,
			   "whitelist %u", mask);
	}
}

static void world_clear(void)
{
	cove_chat_free(w.core);
	w.core = NULL;
	for (int ri = 0; ri < NROOMS; ri++) {
		for (int k = 0; k < 4; k++) {
			struct fz_member *m = &w.room[ri].mem[k];

			cove_xkp_free(m->xkp);
			cove_xkp_free(m->prev);
			free(m->ini);
		}
		sodium_memzero(&w.room[ri], sizeof(w.room[ri]));
	}
	for (size_t i = 0; i < NRING; i++) {
		free(w.fed[i].raw);
		free(w.sent[i].raw);
		w.fed[i].raw = w.sent[i].raw = NULL;
	}
	w.nfed = w.nsent = w.nmsgs = 0;
}

#endif
