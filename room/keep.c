/*
 * keep.c - what the room logic records in its store (rm_deps.store):
 * rooms, members, and the frames it accepts, each frame fanned out from
 * its append's completion so that nothing reaches a member that the store
 * does not hold (design note persistent-rooms.md, R13).
 *
 * A completion may come inside cove_store_append (the memory backend), at
 * the end of the loop's turn (SQLite commits then), or later still (a
 * cluster's acknowledgement). So a pending frame carries its own copy of
 * the bytes and finds its room again by name and by the room's id: the
 * room, its members, even the hub may have gone meanwhile. While a room
 * has frames in flight, its routing (first, ASK, REK) waits for them
 * (room_route), so that members see a join or a leave before being asked
 * to act on it, in the order the relay acted.
 *
 * A store that fails (a full disk) costs nobody their live frames: the
 * frame is fanned out anyway to those here, counted and logged, at most
 * once per RM_KEEP_LOG_MS.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "crypto/ident.h"
#include "room/int.h"

#define RM_KEEP_LOG_MS 10000u

/* A FWD's bytes beyond its frame's: array, type, version, two uint64, bin header. */
#define RM_FWD_OVERHEAD 32

struct rm_pending {
	TAILQ_ENTRY(rm_pending) next;  /* in the hub's list */
	struct rm_hub *hub;            /* NULL once the hub has gone */
	uint64_t room_id;
	char room[COVE_ROOM_MAX];
	uint8_t room_len;
	uint8_t type;
	int join;                      /* an INI that made its author a member */
	uint8_t from[COVE_ID_LEN];     /* its author (not sent back to it) */
	int has_to;                    /* a KEY: to whom, sealed to which key */
	uint8_t to[COVE_ID_LEN];
	uint8_t xpk[COVE_WXPK_LEN];
	size_t len;
	uint8_t raw[];
};

/* ---- records -------------------------------------------------------------------- */

static void failed(struct rm_hub *h, const char *what, const char *room, int err)
{
	uint64_t now = rm_now(h);

	h->deps.stats->store_failures++;
	if (h->store_log_ms && now - h->store_log_ms < RM_KEEP_LOG_MS) {
		h->store_quiet++;
		return;
	}
	h->store_log_ms = now ? now : 1;
	rm_say(h, RM_LOG_ERROR, __FILE__, __LINE__,
	       "store: cannot keep %s of room %s: %s (live delivery goes on; %llu more "
	       "failure%s not logged)", what, room, cove_strerror(err),
	       (unsigned long long)h->store_quiet, h->store_quiet == 1 ? "" : "s");
	h->store_quiet = 0;
}

void rm_keep_room(struct rm_room *r)
{
	struct rm_hub *h = r->hub;
	struct cove_store_room rec = {
		.name = r->name, .name_len = r->name_len, .epoch_known = r->epoch_known,
		.epoch = r->epoch, .epoch_top = r->epoch_top, .next_serial = r->next_serial,
	};
	int ret;

	if (!h->deps.store)
		return;
	ret = cove_store_room_put(h->deps.store, &rec);
	if (ret != COVE_OK)
		failed(h, "the record", r->name, ret);
}

void rm_keep_room_del(struct rm_room *r)
{
	struct rm_hub *h = r->hub;
	int ret;

	if (!h->deps.store)
		return;
	ret = cove_store_room_del(h->deps.store, r->name, r->name_len);
	if (ret != COVE_OK && ret != COVE_ERR_NOTFOUND)
		failed(h, "the end", r->name, ret);
}

void rm_keep_member(struct rm_member *m)
{
	struct rm_hub *h = m->room->hub;
	struct cove_store_member rec;
	int ret;

	if (!h->deps.store)
		return;
	memset(&rec, 0, sizeof(rec));
	memcpy(rec.pk, m->pk, COVE_ID_LEN);
	rec.serial = m->serial;
	rec.joined_ms = m->joined_ms;
	rec.seen_ms = m->seen_ms;
	rec.since = m->since;
	rec.epoch_known = m->epoch_known;
	rec.epoch = m->epoch;
	rec.ini = m->ini;
	rec.ini_len = m->ini_len;
	ret = cove_store_member_put(h->deps.store, m->room->name, m->room->name_len, &rec);
	if (ret != COVE_OK)
		failed(h, "a member", m->room->name, ret);
}

void rm_keep_member_del(struct rm_member *m)
{
	struct rm_hub *h = m->room->hub;
	int ret;

	if (!h->deps.store)
		return;
	ret = cove_store_member_del(h->deps.store, m->room->name, m->room->name_len, m->pk);
	if (ret != COVE_OK && ret != COVE_ERR_NOTFOUND)
		failed(h, "a member's leaving", m->room->name, ret);
}

/* ---- frames --------------------------------------------------------------------- */

struct rm_room *rm_room_find(const struct rm_hub *h, const char *name, size_t len)
{
	struct rm_entry *e = rm_table_find(&h->rooms, name, len);

	return e ? (struct rm_room *)((char *)e - offsetof(struct rm_room, entry)) : NULL;
}

/* Here rather than in room.c: a completion routes its room again. */
void rm_schedule(struct rm_room *r)
{
	struct rm_hub *h = r->hub;

	if (r->route_pending)
		return;
	r->route_pending = 1;
	TAILQ_INSERT_TAIL(&h->to_route, r, route_next);
	rm_arm(h, h->router, 0);
}


static struct rm_room *room_of(struct rm_hub *h, const struct rm_pending *p)
{
	struct rm_room *r = rm_room_find(h, p->room, p->room_len);

	return r && r->id == p->room_id ? r : NULL;
}

struct rm_member *rm_room_member(struct rm_room *r, const uint8_t pk[COVE_ID_LEN])
{
	struct rm_member *m;

	TAILQ_FOREACH(m, &r->members, next)
		if (memcmp(m->pk, pk, COVE_ID_LEN) == 0)
			return m;
	return NULL;
}

/* The member a KEY is for: its identity, with the session key it was
 * sealed to its latest (or the one that replaced it). */
struct rm_member *rm_key_addressee(struct rm_room *r, const uint8_t to[COVE_ID_LEN],
				   const uint8_t xpk[COVE_WXPK_LEN])
{
	struct rm_member *j = rm_room_member(r, to);

	if (j && (memcmp(j->xpk, xpk, COVE_WXPK_LEN) == 0 ||
		  (j->has_old_xpk && memcmp(j->old_xpk, xpk, COVE_WXPK_LEN) == 0)))
		return j;
	return NULL;
}

int rm_fwd_encode(uint64_t rseq, uint64_t rdat, const uint8_t *raw, size_t len, uint8_t *buf,
		  size_t cap, size_t *out_len)
{
	struct cove_frame f;

	if (len > COVE_FWD_INNER_MAX)
		return COVE_ERR_INVAL;
	memset(&f, 0, sizeof(f));
	f.type = COVE_F_FWD;
	f.u.fwd.rseq = rseq;
	f.u.fwd.rdat = rdat;
	f.u.fwd.frame = raw;
	f.u.fwd.frame_len = len;
	return cove_frame_encode(&f, buf, cap, out_len);
}

/* A frame the store holds (seq, rdat; 0 when it failed to) goes to those
 * it is for: in a FWD to those that said SYN, bare to the others. */
static void deliver(struct rm_hub *h, struct rm_room *r, struct rm_pending *p, uint64_t seq,
		    uint64_t rdat)
{
	struct rm_stats *st = h->deps.stats;
	struct rm_member *author = rm_room_member(r, p->from), *j;
	struct rm_out o = { p->raw, p->len, NULL, 0 };
	uint8_t *fwd = NULL;

	/* a frame the store failed to keep has no rseq: bare to everyone */
	if (seq && (fwd = malloc(p->len + RM_FWD_OVERHEAD)) &&
	    rm_fwd_encode(seq, rdat, p->raw, p->len, fwd, p->len + RM_FWD_OVERHEAD,
			  &o.fwd_len) == COVE_OK)
		o.fwd = fwd;
	switch (p->type) {
	case COVE_F_INI:
		if (p->join && author && seq) {
			author->since = seq;
			rm_keep_member(author);
		}
		rm_fan_out(r, author, &o, RM_TO_ALL);
		break;
	case COVE_F_BYE:
		rm_fan_out(r, author, &o, RM_TO_ALL);
		break;
	case COVE_F_DAT:
		st->deliveries += rm_fan_out(r, author, &o, RM_TO_KEYED);
		break;
	case COVE_F_KEY:
		/* to one away (or catching up): its catch-up reads it (R8) */
		j = rm_key_addressee(r, p->to, p->xpk);
		if (j && rm_gets_live(j) && rm_send_out(j, &o) == COVE_OK) {
			st->deliveries++;
			j->key_sent = 1;
		}
		break;
	}
	free(fwd);
}

static void done_cb(void *arg, uint64_t seq, uint64_t rdat, int err)
{
	struct rm_pending *p = arg;
	struct rm_hub *h = p->hub;
	struct rm_room *r;

	if (!h) {
		free(p);
		return;
	}
	TAILQ_REMOVE(&h->pending, p, next);
	r = room_of(h, p);
	if (err != COVE_OK)
		failed(h, "a frame", p->room, err);
	if (r) {
		deliver(h, r, p, err == COVE_OK ? seq : 0, err == COVE_OK ? rdat : 0);
		if (--r->inflight == 0 && r->route_held) {
			r->route_held = 0;
			rm_schedule(r);
		}
	}
	free(p);
}

/* Commits the turn's writes once, at its end: armed at the first write of
 * a turn, not re-armed (and the loop's timer heap touched) for each frame. */
static void arm_flush(struct rm_hub *h)
{
	if (h->flush_armed)
		return;
	h->flush_armed = 1;
	rm_arm(h, h->flusher, 0);
}

void rm_keep_frame(struct rm_room *r, uint8_t type, const uint8_t from[COVE_ID_LEN],
		   const uint8_t *to, const uint8_t *xpk, int join, const uint8_t *raw,
		   size_t len)
{
	struct rm_hub *h = r->hub;
	struct rm_pending *p = malloc(sizeof(*p) + len);
	struct cove_store_frame f;
	int ret;

	if (!p) {
		rm_log_error(h, "room %s: out of memory for a frame; it is lost", r->name);
		return;
	}
	memset(p, 0, sizeof(*p));
	p->hub = h;
	p->room_id = r->id;
	memcpy(p->room, r->name, r->name_len);
	p->room_len = r->name_len;
	p->type = type;
	p->join = join;
	memcpy(p->from, from, COVE_ID_LEN);
	if (to) {
		p->has_to = 1;
		memcpy(p->to, to, COVE_ID_LEN);
		memcpy(p->xpk, xpk, COVE_WXPK_LEN);
	}
	p->len = len;
	memcpy(p->raw, raw, len);
	TAILQ_INSERT_TAIL(&h->pending, p, next);
	r->inflight++;
	if (!h->deps.store) {
		done_cb(p, 0, 0, COVE_OK);
		return;
	}
	memset(&f, 0, sizeof(f));
	f.ts_ms = rm_now(h);
	f.type = type;
	f.dat = type == COVE_F_DAT;
	f.has_to = p->has_to;
	memcpy(f.to, p->to, COVE_ID_LEN);
	f.raw = p->raw;
	f.len = len;
	ret = cove_store_append(h->deps.store, r->name, r->name_len, &f, done_cb, p);
	if (ret != COVE_OK)
		done_cb(p, 0, 0, ret); /* never completes: fanned out now, unstored */
	else
		arm_flush(h);
}

void rm_keep_own(struct rm_room *r, struct cove_frame *f)
{
	uint8_t buf[RM_OWN_FRAME_MAX];
	size_t len = 0;

	if (rm_sign_own(r, f, buf, &len) == COVE_OK)
		rm_keep_frame(r, f->type, f->from, NULL, NULL, 0, buf, len);
}

/* ---- the hub's part ------------------------------------------------------------- */

void rm_keep_flush(void *arg)
{
	struct rm_hub *h = arg;
	int ret;

	h->flush_armed = 0;
	if (!h->deps.store)
		return;
	ret = cove_store_flush(h->deps.store);
	if (ret != COVE_OK)
		failed(h, "the frames of a turn", "(any)", ret);
}

void rm_keep_trim(void *arg)
{
	struct rm_hub *h = arg;
	int ret;

	if (!h->deps.store)
		return;
	ret = cove_store_trim(h->deps.store, rm_now(h));
	if (ret != COVE_OK)
		failed(h, "retention", "(any)", ret);
	rm_arm(h, h->trimmer, RM_TRIM_MS);
	arm_flush(h);
}

void rm_keep_orphan(struct rm_hub *h)
{
	struct rm_pending *p;

	while ((p = TAILQ_FIRST(&h->pending))) {
		TAILQ_REMOVE(&h->pending, p, next);
		p->hub = NULL; /* its completion, when it comes, only frees it */
	}
}
