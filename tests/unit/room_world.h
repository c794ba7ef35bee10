/*
 * room_world.h - the world the relay's room logic (room/room.h) plays in
 * for its tests: a fake clock in milliseconds, fake timers that fire only
 * when the clock is moved, and a fake network of peers whose links record
 * every frame and ERR they are sent. No sockets, no processes, no event
 * loop. Plain C, so that tests/unit/test_room.c (cmocka) and
 * tests/fuzz/fuzz_room.c (libFuzzer) share it.
 *
 * Peers are numbered 0..RW_PEERS-1; peer i's identity is RW_PK(i). The
 * relay's frames are "signed" with zeros (the room logic never checks a
 * signature; the relay's program does, before it). Every operation runs
 * the timers due at the current time afterwards, as the relay's loop
 * does at the end of a turn.
 */
#ifndef COVE_TESTS_UNIT_ROOM_WORLD_H
#define COVE_TESTS_UNIT_ROOM_WORLD_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "room/room.h"
#include "wire/frame.h"

#define RW_PEERS 8
#define RW_JOIN_TIMEOUT_MS 3000u
#define RW_EXPIRY_MS 3600000u /* a member away this long is removed */
#define RW_MAX_ROOMS 4

/* A frame or an ERR a peer was sent. */
struct rw_got {
	uint8_t *raw;                  /* a frame's bytes; NULL for an ERR */
	size_t len;
	uint32_t err;                  /* an ERR's code */
	char room[COVE_ROOM_MAX + 1];  /* an ERR's room */
};

struct rw_world;

struct rw_peer {
	struct rw_world *w;
	int i;
	struct rm_peer *p;             /* NULL while not connected */
	int closing;                   /* rm_peer_closing() was called */
	uint32_t xgen;                 /* session keys made so far */
	uint8_t xpk[COVE_WXPK_LEN];    /* the latest the relay took */
	uint64_t seq;
	size_t queued;                 /* bytes its link holds, not written yet */
	struct rw_got *got;
	size_t ngot, cap;
};

struct rm_timer {
	struct rw_world *w;
	struct rm_timer *next;         /* every live timer */
	rm_timer_fn fn;
	void *arg;
	int armed;
	uint64_t due;
	uint64_t order;                /* arming order, for timers due at once */
};

struct rw_world {
	struct rm_hub *hub;
	struct rm_stats stats;
	uint64_t now;
	uint64_t relay_seq;
	uint64_t arms;
	struct rm_timer *timers;
	size_t ntimers;
	struct rw_peer peer[RW_PEERS];
	size_t errors_logged;          /* log lines at RM_LOG_ERROR */
	/* Set: the operations on frames leave the timers due for the caller
	 * to run (rw_run), so that it can first note what they returned. */
	int hold;
	/* Called with each frame and ERR a link is given, before it is
	 * recorded (the fuzzer checks its invariants here). */
	void (*on_send)(struct rw_world *w, int peer, const uint8_t *raw, size_t len);
	void (*on_err)(struct rw_world *w, int peer, const char *room, uint32_t code);
};

static inline void rw_pk(uint8_t pk[COVE_ID_LEN], int i)
{
	memset(pk, 0xa0 + i, COVE_ID_LEN);
}

/* Peer i's gen-th session key. */
static inline void rw_xpk(uint8_t xpk[COVE_WXPK_LEN], int i, uint32_t gen)
{
	memset(xpk, 0x10 + i, COVE_WXPK_LEN);
	memcpy(xpk, &gen, sizeof(gen));
}

/* ---- the deps ------------------------------------------------------------------ */

static inline uint64_t rw_now(void *ctx)
{
	return ((struct rw_world *)ctx)->now;
}

static inline int rw_sign(void *ctx, struct cove_frame *f)
{
	struct rw_world *w = ctx;

	memset(f->from, 0xee, COVE_ID_LEN);
	f->seq = ++w->relay_seq;
	f->ts = w->now;
	memset(f->sig, 0, sizeof(f->sig));
	return COVE_OK;
}

static inline void rw_log(void *ctx, enum rm_log_level level, const char *file, int line,
			  const char *fmt, va_list ap)
{
	(void)file, (void)line, (void)fmt, (void)ap;
	if (level == RM_LOG_ERROR)
		((struct rw_world *)ctx)->errors_logged++;
}

static inline struct rm_timer *rw_timer_create(void *ctx, rm_timer_fn fn, void *arg)
{
	struct rw_world *w = ctx;
	struct rm_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->w = w;
	t->fn = fn;
	t->arg = arg;
	t->next = w->timers;
	w->timers = t;
	w->ntimers++;
	return t;
}

static inline void rw_timer_arm(struct rm_timer *t, uint64_t ms)
{
	t->armed = 1;
	t->due = t->w->now + ms;
	t->order = ++t->w->arms;
}

static inline void rw_timer_cancel(struct rm_timer *t)
{
	t->armed = 0;
}

static inline void rw_timer_free(struct rm_timer *t)
{
	struct rm_timer **pp;

	if (!t)
		return;
	for (pp = &t->w->timers; *pp != t; pp = &(*pp)->next)
		;
	*pp = t->next;
	t->w->ntimers--;
	free(t);
}

static const struct rm_timer_ops rw_timer_ops = {
	rw_timer_create, rw_timer_arm, rw_timer_cancel, rw_timer_free,
};

/* ---- the links ------------------------------------------------------------------ */

static inline struct rw_got *rw_record(struct rw_peer *p)
{
	if (p->ngot == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		struct rw_got *got = realloc(p->got, cap * sizeof(*got));

		if (!got)
			abort();
		p->got = got;
		p->cap = cap;
	}
	memset(&p->got[p->ngot], 0, sizeof(p->got[0]));
	return &p->got[p->ngot++];
}

static inline int rw_link_send(void *ctx, const uint8_t *raw, size_t len)
{
	struct rw_peer *p = ctx;
	struct rw_got *g;

	if (p->w->on_send)
		p->w->on_send(p->w, p->i, raw, len);
	g = rw_record(p);
	g->raw = malloc(len);
	if (!g->raw)
		abort();
	memcpy(g->raw, raw, len);
	g->len = len;
	p->queued += len; /* written out only when a test says (rw_drained) */
	return COVE_OK;
}

static inline void rw_link_err(void *ctx, const char *room, uint32_t code, const char *text)
{
	struct rw_peer *p = ctx;
	struct rw_got *g;

	(void)text;
	if (p->w->on_err)
		p->w->on_err(p->w, p->i, room, code);
	g = rw_record(p);
	g->err = code;
	snprintf(g->room, sizeof(g->room), "%s", room);
}

static inline const char *rw_link_label(void *ctx, char *buf, size_t cap)
{
	snprintf(buf, cap, "peer %d", ((struct rw_peer *)ctx)->i);
	return buf;
}

static inline size_t rw_link_queued(void *ctx)
{
	return ((struct rw_peer *)ctx)->queued;
}

static const struct rm_link_ops rw_link_ops = { rw_link_send, rw_link_err, rw_link_label,
						rw_link_queued };

/* Forgets what peer i was sent so far. */
static inline void rw_clear(struct rw_world *w, int i)
{
	struct rw_peer *p = &w->peer[i];

	for (size_t k = 0; k < p->ngot; k++)
		free(p->got[k].raw);
	p->ngot = 0;
}

static inline void rw_clear_all(struct rw_world *w)
{
	for (int i = 0; i < RW_PEERS; i++)
		rw_clear(w, i);
}

/* ---- time ------------------------------------------------------------------------ */

/* The armed timer due first (by arming order among equals), or NULL. */
static inline struct rm_timer *rw_next_timer(const struct rw_world *w)
{
	struct rm_timer *t, *best = NULL;

	for (t = w->timers; t; t = t->next)
		if (t->armed && (!best || t->due < best->due ||
				 (t->due == best->due && t->order < best->order)))
			best = t;
	return best;
}

/* Fires the timers due by now, in order; a callback may arm, cancel or
 * free any timer (its own too). */
static inline void rw_run(struct rw_world *w)
{
	struct rm_timer *t;

	while ((t = rw_next_timer(w)) && t->due <= w->now) {
		t->armed = 0;
		t->fn(t->arg);
	}
}

/* Moves the clock ms forward, firing each timer at its own time. */
static inline void rw_advance(struct rw_world *w, uint64_t ms)
{
	uint64_t end = w->now + ms;
	struct rm_timer *t;

	while ((t = rw_next_timer(w)) && t->due <= end) {
		if (t->due > w->now)
			w->now = t->due;
		rw_run(w);
	}
	w->now = end;
	rw_run(w);
}

/* ---- the world ------------------------------------------------------------------ */

/* A world at time 1,000,000 ms with no peers connected, whose rooms are
 * kept in store (borrowed; NULL: none). Returns 0, or -1 when out of
 * memory. */
static inline int rw_init_store(struct rw_world *w, struct cove_store *store)
{
	struct rm_deps deps;
	struct rm_conf conf = { RW_MAX_ROOMS, RW_JOIN_TIMEOUT_MS, RW_EXPIRY_MS };

	memset(w, 0, sizeof(*w));
	w->now = 1000000;
	for (int i = 0; i < RW_PEERS; i++) {
		w->peer[i].w = w;
		w->peer[i].i = i;
	}
	memset(&deps, 0, sizeof(deps));
	deps.ctx = w;
	deps.now_ms = rw_now;
	deps.sign = rw_sign;
	deps.log = rw_log;
	deps.timers = &rw_timer_ops;
	deps.timers_ctx = w;
	deps.fanout = &rm_fanout_local;
	deps.stats = &w->stats;
	deps.store = store;
	w->hub = rm_hub_new(&deps, &conf);
	return w->hub ? 0 : -1;
}

static inline int rw_init(struct rw_world *w)
{
	return rw_init_store(w, NULL);
}

/* Peer i's connection goes: it is closing, then freed (its places in
 * its rooms are away). */
static inline void rw_disconnect(struct rw_world *w, int i)
{
	struct rw_peer *p = &w->peer[i];

	if (!p->p)
		return;
	if (!p->closing)
		rm_peer_closing(p->p);
	p->closing = 1;
	rw_run(w);
	rm_peer_free(p->p);
	p->p = NULL;
	p->closing = 0;
	rw_run(w);
}

/* Frees the world. Returns how many timers the room logic left behind
 * (freed here), which should be none. */
static inline size_t rw_free(struct rw_world *w)
{
	size_t left;

	for (int i = 0; i < RW_PEERS; i++) {
		rw_disconnect(w, i);
		rw_clear(w, i);
		free(w->peer[i].got);
	}
	rm_hub_free(w->hub);
	left = w->ntimers;
	while (w->timers)
		rw_timer_free(w->timers);
	return left;
}

/* Peer i connects (replacing a connection it still has, as the relay
 * does: the older one closes and is freed). Returns 0 or -1. */
static inline int rw_connect(struct rw_world *w, int i)
{
	struct rw_peer *p = &w->peer[i];
	struct rm_link link = { &rw_link_ops, p };
	uint8_t pk[COVE_ID_LEN];

	rw_disconnect(w, i);
	rw_pk(pk, i);
	p->p = rm_peer_new(w->hub, pk, &link);
	return p->p ? 0 : -1;
}

/* Peer i's connection starts closing (it is freed by rw_disconnect). */
static inline void rw_closing(struct rw_world *w, int i)
{
	struct rw_peer *p = &w->peer[i];

	if (!p->p || p->closing)
		return;
	p->closing = 1;
	rm_peer_closing(p->p);
	rw_run(w);
}

/* ---- frames from peers ------------------------------------------------------------ */

/* The end of an operation's turn of the loop. */
static inline void rw_settle(struct rw_world *w)
{
	if (!w->hold)
		rw_run(w);
}

/* Zeroes f and makes it a frame of type about room. */
static inline void rw_start(struct cove_frame *f, uint8_t type, const char *room)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	cove_frame_set_room(f, room, strlen(room));
}

/* Encodes f as peer i's next frame; the bytes are valid until the next
 * call. */
static inline const uint8_t *rw_encode(struct rw_world *w, int i, struct cove_frame *f,
				       size_t *len)
{
	static uint8_t buf[COVE_FRAME_MAX];

	rw_pk(f->from, i);
	f->seq = ++w->peer[i].seq;
	f->ts = w->now;
	if (cove_frame_encode(f, buf, sizeof(buf), len) != COVE_OK)
		abort();
	return buf;
}

static inline struct rm_member *rw_member(struct rw_world *w, int i, const char *room)
{
	struct rw_peer *p = &w->peer[i];

	return p->p && !p->closing ? rm_peer_member(p->p, room, strlen(room)) : NULL;
}

/* Peer i joins room with a new session key (or renews it, when already
 * in): rm_join's result, or -1 when i is not connected. */
static inline int rw_join(struct rw_world *w, int i, const char *room)
{
	struct rw_peer *p = &w->peer[i];
	struct cove_frame f;
	const uint8_t *raw;
	size_t len;
	int ret;

	if (!p->p || p->closing)
		return -1;
	rw_start(&f, COVE_F_INI, room);
	rw_xpk(f.u.ini.xpk, i, ++p->xgen);
	raw = rw_encode(w, i, &f, &len);
	ret = rm_join(p->p, room, strlen(room), f.u.ini.xpk, raw, len);
	if (ret == 0)
		memcpy(p->xpk, f.u.ini.xpk, COVE_WXPK_LEN);
	rw_settle(w);
	return ret;
}

/* Peer i says it holds epoch of room: rm_rdy's result, or -1 when it is
 * not in the room. */
static inline int rw_rdy(struct rw_world *w, int i, const char *room, uint32_t epoch)
{
	struct rm_member *m = rw_member(w, i, room);
	char why[200];
	int ret;

	if (!m)
		return -1;
	ret = rm_rdy(m, epoch, why, sizeof(why));
	rw_settle(w);
	return ret;
}

static inline int rw_rky(struct rw_world *w, int i, const char *room, uint32_t epoch)
{
	struct rm_member *m = rw_member(w, i, room);
	int ret;

	if (!m)
		return -1;
	ret = rm_rky(m, epoch);
	rw_settle(w);
	return ret;
}

/* Peer i sends a KEY for epoch to peer j, sealed to xpk (NULL: j's
 * latest session key). */
static inline int rw_key_to(struct rw_world *w, int i, const char *room, int j, uint32_t epoch,
			    const uint8_t *xpk)
{
	struct rm_member *m = rw_member(w, i, room);
	struct cove_frame f;
	const uint8_t *raw;
	size_t len;
	char why[200];
	int ret;

	if (!m)
		return -1;
	rw_start(&f, COVE_F_KEY, room);
	rw_pk(f.u.key.to, j);
	memcpy(f.u.key.xpk, xpk ? xpk : w->peer[j].xpk, COVE_WXPK_LEN);
	f.u.key.epoch = epoch;
	memset(f.u.key.sealed, 0x5e, sizeof(f.u.key.sealed));
	raw = rw_encode(w, i, &f, &len);
	ret = rm_key(m, &f, raw, len, why, sizeof(why));
	rw_settle(w);
	return ret;
}

static inline int rw_key(struct rw_world *w, int i, const char *room, int j, uint32_t epoch)
{
	return rw_key_to(w, i, room, j, epoch, NULL);
}

static inline int rw_dat(struct rw_world *w, int i, const char *room, uint32_t epoch)
{
	static const uint8_t ct[256 + 16]; /* a short line, padded, and its tag */
	struct rm_member *m = rw_member(w, i, room);
	struct cove_frame f;
	const uint8_t *raw;
	size_t len;
	int ret;

	if (!m)
		return -1;
	rw_start(&f, COVE_F_DAT, room);
	f.u.dat.epoch = epoch;
	f.u.dat.n = w->peer[i].seq;
	f.u.dat.ct = ct;
	f.u.dat.ct_len = sizeof(ct);
	raw = rw_encode(w, i, &f, &len);
	ret = rm_dat(m, raw, len);
	rw_settle(w);
	return ret;
}

static inline int rw_bye(struct rw_world *w, int i, const char *room)
{
	struct rm_member *m = rw_member(w, i, room);
	struct cove_frame f;
	const uint8_t *raw;
	size_t len;

	if (!m)
		return -1;
	rw_start(&f, COVE_F_BYE, room);
	rw_pk(f.u.bye.who, i);
	raw = rw_encode(w, i, &f, &len);
	rm_leave(m, raw, len);
	rw_settle(w);
	return 0;
}

/* Peer i asks for room's frames after rseq after (SYN): rm_syn's result,
 * or -1 when it is not in the room. */
static inline int rw_syn(struct rw_world *w, int i, const char *room, uint64_t after,
			 uint64_t after_dat)
{
	struct rm_member *m = rw_member(w, i, room);
	int ret;

	if (!m)
		return -1;
	ret = rm_syn(m, after, after_dat);
	rw_settle(w);
	return ret;
}

/* Peer i's link says its output has drained to queued bytes. */
static inline void rw_drained(struct rw_world *w, int i, size_t queued)
{
	struct rw_peer *p = &w->peer[i];

	p->queued = queued;
	if (p->p && !p->closing)
		rm_peer_drained(p->p);
	rw_settle(w);
}

/* ---- what peers got ---------------------------------------------------------------- */

/* Decodes the k-th thing peer i got into f: 1, or 0 when it is an ERR. */
static inline int rw_frame(const struct rw_world *w, int i, size_t k, struct cove_frame *f)
{
	const struct rw_got *g = &w->peer[i].got[k];

	if (!g->raw)
		return 0;
	if (cove_frame_decode(f, g->raw, g->len) != COVE_OK)
		abort();
	return 1;
}

/* How many frames of type peer i got, the last one in *last (may be NULL). */
static inline size_t rw_count(const struct rw_world *w, int i, uint8_t type, struct cove_frame *last)
{
	struct cove_frame f;
	size_t n = 0;

	for (size_t k = 0; k < w->peer[i].ngot; k++) {
		if (rw_frame(w, i, k, &f) && f.type == type) {
			n++;
			if (last)
				*last = f;
		}
	}
	return n;
}

/* How many ERRs of code peer i got. */
static inline size_t rw_errs(const struct rw_world *w, int i, uint32_t code)
{
	size_t n = 0;

	for (size_t k = 0; k < w->peer[i].ngot; k++)
		if (!w->peer[i].got[k].raw && w->peer[i].got[k].err == code)
			n++;
	return n;
}

#endif
