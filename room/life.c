/*
 * life.c - members across connections (design note persistent-rooms.md,
 * R1-R12): a member is an identity that joined a room and has not left.
 *
 *   join     an INI from an identity that is not a member: it is one from
 *            that INI's rseq on (since), and live at once.
 *   away     its connection ends, for any reason: it stays a member, gets
 *            nothing live, is never asked, and the others are told (PRS).
 *            No BYE, no rekey.
 *   return   the first INI on a connection from a member: it takes its
 *            place back with its new session key; the others are told
 *            (its INI, PRS). It is first given the time of a join to say
 *            which epoch it holds (RDY) or to ask for what it missed
 *            (SYN, sync.c), and only then is a member asked for it.
 *   renewal  a further INI on the same connection: a new session key.
 *   removal  an identity dropped from the relay's whitelist, or away for
 *            longer than conf.member_expiry_ms: it leaves every room with
 *            a BYE signed by the relay, and the rooms are rekeyed.
 *
 * At start the relay loads its rooms and members from the store: every
 * member is away until it comes back, with the epochs the store kept.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "crypto/ident.h"
#include "proto/msg.h"
#include "room/int.h"

/* A member replaces its session key (a new INI) at most this often. */
#define RM_REFRESH_MIN_MS 1000u

/* Expiry is checked this often, or four times per expiry when shorter. */
#define RM_SWEEP_MS 60000u

/* ---- presence ------------------------------------------------------------------- */

static void prs_frame(struct cove_frame *f, const struct rm_member *about)
{
	rm_own_frame(f, COVE_F_PRS, about->room);
	memcpy(f->u.prs.who, about->pk, COVE_ID_LEN);
	f->u.prs.here = about->peer && rm_live(about);
	f->u.prs.seen = about->seen_ms;
}

/* Tells the members here that m went away (PRS, not stored); its arrival
 * its INI tells. */
static void presence(struct rm_member *m)
{
	struct rm_room *r = m->room;
	uint8_t buf[RM_OWN_FRAME_MAX];
	size_t len = 0;
	struct cove_frame f;

	prs_frame(&f, m);
	if (rm_sign_own(r, &f, buf, &len) == COVE_OK)
		rm_fan_raw(r, m, buf, len, RM_TO_ALL);
}

/* Tells m, arriving, who the others are: their latest INIs (nodes check
 * each themselves), then which of them are away (an INI says here: a PRS
 * for each member here too made every arrival cost a signature per member
 * and a room's fan-out of joins twice what it was). */
static void introduce(struct rm_member *m)
{
	struct rm_member *k;
	struct cove_frame f;

	TAILQ_FOREACH(k, &m->room->members, next)
		if (k != m && k->ini_len > 0)
			rm_send_raw(m, k->ini, k->ini_len);
	TAILQ_FOREACH(k, &m->room->members, next) {
		if (k == m)
			continue;
		prs_frame(&f, k);
		if (!f.u.prs.here)
			rm_send_own(m, &f);
	}
}

/* ---- peers ---------------------------------------------------------------------- */

struct rm_peer *rm_peer_new(struct rm_hub *h, const uint8_t pk[COVE_ID_LEN],
			    const struct rm_link *link)
{
	struct rm_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->hub = h;
	p->link = *link;
	memcpy(p->pk, pk, COVE_ID_LEN);
	return p;
}

void rm_peer_closing(struct rm_peer *p)
{
	for (size_t i = 0; i < p->nrooms; i++) {
		struct rm_member *m = p->rooms[i];
		struct rm_room *r = m->room;

		if (m->gone)
			continue;
		m->gone = 1;
		rm_clear_join(m);
		rm_sync_stop(m);
		if (r->rekeyer == m) {
			rm_cancel_rekey(r);
			r->rekey_wanted = 1;
		}
		rm_schedule(r);
	}
}

void rm_peer_free(struct rm_peer *p)
{
	if (!p)
		return;
	rm_peer_closing(p);
	while (p->nrooms > 0) {
		struct rm_member *m = p->rooms[p->nrooms - 1];

		/* away: a member still, that nobody waits for */
		rm_detach(m);
		m->synced = 0;
		m->joined_here = 0;
		m->seen_ms = rm_now(p->hub);
		rm_keep_member(m);
		presence(m);
	}
	free(p->rooms);
	free(p);
}

struct rm_member *rm_peer_member(const struct rm_peer *p, const char *room, size_t len)
{
	for (size_t i = 0; i < p->nrooms; i++) {
		const struct rm_room *r = p->rooms[i]->room;

		if (r->name_len == len && memcmp(r->name, room, len) == 0)
			return p->rooms[i];
	}
	return NULL;
}

/* ---- joins, renewals, returns ----------------------------------------------------- */

/* m's latest INI becomes ini, with session key xpk; KEYs sealed to the
 * one it replaces are still delivered. Returns 0 or COVE_EC_LIMIT. */
static int new_ini(struct rm_member *m, const uint8_t *xpk, const uint8_t *ini, size_t ini_len)
{
	uint8_t *copy = malloc(ini_len);

	if (!copy)
		return COVE_EC_LIMIT;
	memcpy(copy, ini, ini_len);
	free(m->ini);
	m->ini = copy;
	m->ini_len = ini_len;
	memcpy(m->old_xpk, m->xpk, COVE_WXPK_LEN);
	m->has_old_xpk = 1;
	memcpy(m->xpk, xpk, COVE_WXPK_LEN);
	m->refreshed_ms = rm_now(m->room->hub);
	return 0;
}

/* A member already in the room replaces its session key with a new INI
 * (nodes do every hour or so, so that no session key lives long and
 * members can refuse old INIs). Everyone present learns the new key. At
 * most one a second. */
static int refresh(struct rm_member *m, const uint8_t *xpk, const uint8_t *ini, size_t ini_len)
{
	if (rm_now(m->room->hub) - m->refreshed_ms < RM_REFRESH_MIN_MS)
		return COVE_EC_ALREADY_JOINED;
	if (new_ini(m, xpk, ini, ini_len) != 0)
		return COVE_EC_LIMIT;
	rm_keep_member(m);
	rm_keep_frame(m->room, COVE_F_INI, m->pk, NULL, NULL, 0, ini, ini_len);
	return 0;
}

/* m, a member away (or on an older connection), comes back on p, which
 * has room for it. */
static int member_return(struct rm_peer *p, struct rm_member *m, const uint8_t *xpk,
			 const uint8_t *ini, size_t ini_len)
{
	struct rm_room *r = m->room;
	struct rm_hub *h = r->hub;
	char label[RM_LABEL_MAX];

	if (new_ini(m, xpk, ini, ini_len) != 0)
		return COVE_EC_LIMIT;
	rm_detach(m);
	rm_sync_stop(m);
	rm_clear_join(m);
	m->peer = p;
	p->rooms[p->nrooms++] = m;
	m->gone = 0;
	m->synced = 0;
	m->joined_here = 0;
	m->seen_ms = rm_now(h);
	/* What the store says it held is not known to be true any more (a
	 * node started afresh holds nothing): it counts as holding it, so
	 * that a room whose members all come back (a relay restarted) is not
	 * rekeyed, but unconfirmed until its RDY. Its turn to say so comes
	 * first (returning); after that it is given the key like a joiner.
	 * An epoch above the room's, which fell back while it was away
	 * (room.c), or in a room making a new group, is not the room's key:
	 * it needs the room's. */
	m->key_sent = m->key_sent || m->keyed;
	if (m->epoch_known && (!r->epoch_known || m->epoch > r->epoch))
		m->keyed = m->epoch_known = 0;
	m->unconfirmed = m->keyed;
	m->returning = 1;
	rm_arm(h, m->ask_timer, h->conf.join_timeout_ms);
	if (r->rekeyer == m)
		rm_cancel_rekey(r);
	h->deps.stats->returns++;
	rm_log_debug(h, "room %s: %s is back", r->name, rm_who(m, label, sizeof(label)));
	rm_keep_member(m);
	introduce(m);
	/* its INI, fanned out, tells those here it is back: no PRS (5.10) */
	rm_keep_frame(r, COVE_F_INI, m->pk, NULL, NULL, 0, ini, ini_len);
	rm_route(r);
	return 0;
}

int rm_join(struct rm_peer *p, const char *room, size_t len, const uint8_t xpk[COVE_WXPK_LEN],
	    const uint8_t *ini, size_t ini_len)
{
	struct rm_hub *h = p->hub;
	struct rm_room *r = rm_room_find(h, room, len);
	struct rm_member *m, **rooms;
	char label[RM_LABEL_MAX];

	if (r && (m = rm_peer_member(p, room, len)))
		return refresh(m, xpk, ini, ini_len);
	if (p->nrooms >= h->conf.max_rooms)
		return COVE_EC_LIMIT;
	rooms = realloc(p->rooms, (p->nrooms + 1) * sizeof(*rooms));
	if (!rooms)
		return COVE_EC_LIMIT;
	p->rooms = rooms;
	if (r && (m = rm_room_member(r, p->pk)))
		return member_return(p, m, xpk, ini, ini_len);
	if (!r)
		r = rm_room_new(h, room, len, 1);
	m = r ? rm_member_new(r, ini, ini_len) : NULL;
	if (!m) {
		if (r && r->nmembers == 0) {
			rm_keep_room_del(r);
			rm_room_free(r);
		}
		rm_log_error(h, "out of memory for a join");
		return COVE_EC_LIMIT;
	}
	memcpy(m->xpk, xpk, COVE_WXPK_LEN);
	m->refreshed_ms = rm_now(h); /* no renewal within a second of the join */
	m->joined_ms = m->seen_ms = m->refreshed_ms;
	memcpy(m->pk, p->pk, COVE_ID_LEN);
	m->peer = p;
	m->joined_here = 1;
	TAILQ_INSERT_TAIL(&r->members, m, next);
	r->nmembers++;
	p->rooms[p->nrooms++] = m;
	m->serial = r->next_serial++;
	rm_keep_room(r);
	introduce(m);
	/* recorded at its completion, which gives it its since */
	rm_keep_frame(r, COVE_F_INI, m->pk, NULL, NULL, 1, ini, ini_len);
	if (rm_departed_before(r, m->pk)) {
		/* It left since this epoch began: it gets the next one, made
		 * with it, never this one (a member that joined since could
		 * not know to refuse it). */
		m->wait_epoch = 1;
		m->not_epoch = r->epoch;
		r->rekey_wanted = 1;
		rm_log_info(h, "room %s: %s joins again after leaving; it gets a new epoch",
			    r->name, rm_who(m, label, sizeof(label)));
	}
	h->deps.stats->joins++;
	rm_log_debug(h, "room %s: %s joins (%zu members)", r->name,
		     rm_who(m, label, sizeof(label)), r->nmembers);
	rm_route(r);
	return 0;
}

/* ---- removal ---------------------------------------------------------------------- */

struct remove_ctx {
	int (*keep)(void *arg, const uint8_t pk[COVE_ID_LEN]);
	void *arg;
	uint64_t now;
	size_t n;
};

static int expired(const struct rm_hub *h, const struct rm_member *m, uint64_t now)
{
	return !m->peer && h->conf.member_expiry_ms && now >= m->seen_ms &&
	       now - m->seen_ms >= h->conf.member_expiry_ms;
}

static void remove_in_room(struct rm_entry *e, void *arg)
{
	struct rm_room *r = (struct rm_room *)((char *)e - offsetof(struct rm_room, entry));
	struct remove_ctx *c = arg;
	struct rm_hub *h = r->hub;
	struct rm_member *m, *tmp;
	char b64[COVE_PK_B64_LEN + 1];
	size_t left = r->nmembers;

	TAILQ_FOREACH_SAFE(m, &r->members, next, tmp) {
		int gone = c->keep ? !c->keep(c->arg, m->pk) : expired(h, m, c->now);

		if (!gone)
			continue;
		cove_pk_to_b64(b64, m->pk);
		if (c->keep) {
			h->deps.stats->removed++;
			rm_log_info(h, "room %s: %s is no longer on the whitelist; removed", r->name,
				    b64);
		} else {
			h->deps.stats->expired++;
			rm_log_info(h, "room %s: %s was away longer than the member expiry; removed",
				    r->name, b64);
		}
		c->n++;
		/* the room goes with its last member: stop touching it */
		if (--left == 0) {
			rm_member_remove(m, 1, NULL, 0);
			return;
		}
		rm_member_remove(m, 1, NULL, 0);
	}
}

size_t rm_hub_remove(struct rm_hub *h, int (*keep)(void *arg, const uint8_t pk[COVE_ID_LEN]),
		     void *arg)
{
	struct remove_ctx c = { keep, arg, rm_now(h), 0 };

	rm_table_each(&h->rooms, remove_in_room, &c);
	return c.n;
}

static uint64_t sweep_ms(const struct rm_hub *h)
{
	uint64_t q = h->conf.member_expiry_ms / 4;

	return q == 0 ? 1 : q < RM_SWEEP_MS ? q : RM_SWEEP_MS;
}

static void sweep_cb(void *arg)
{
	struct rm_hub *h = arg;
	struct remove_ctx c = { NULL, NULL, rm_now(h), 0 };

	rm_table_each(&h->rooms, remove_in_room, &c);
	rm_arm(h, h->sweeper, sweep_ms(h));
}

/* ---- loading ---------------------------------------------------------------------- */

static int load_room(void *arg, const struct cove_store_room *rec)
{
	struct rm_hub *h = arg;
	struct rm_room *r;

	if (rec->name_len == 0 || rec->name_len > COVE_ROOM_MAX ||
	    rm_room_find(h, rec->name, rec->name_len))
		return COVE_ERR_STORE_FORMAT;
	r = rm_room_new(h, rec->name, rec->name_len, 0);
	if (!r)
		return COVE_ERR_NOMEM;
	r->epoch_known = rec->epoch_known;
	r->epoch = rec->epoch;
	r->epoch_top = rec->epoch_top;
	r->next_serial = rec->next_serial;
	return 0;
}

static int load_member(void *arg, const struct cove_store_room *rec,
		       const struct cove_store_member *s)
{
	struct rm_hub *h = arg;
	struct rm_room *r = rm_room_find(h, rec->name, rec->name_len);
	struct rm_member *m;
	struct cove_frame f;

	if (!r)
		return COVE_ERR_STORE_FORMAT;
	m = rm_member_new(r, s->ini, s->ini_len);
	if (!m)
		return COVE_ERR_NOMEM;
	/* its session key, for the KEYs sealed to it while it is away */
	if (cove_frame_decode(&f, s->ini, s->ini_len) == COVE_OK && f.type == COVE_F_INI)
		memcpy(m->xpk, f.u.ini.xpk, COVE_WXPK_LEN);
	memcpy(m->pk, s->pk, COVE_ID_LEN);
	m->serial = s->serial;
	m->joined_ms = s->joined_ms;
	m->seen_ms = s->seen_ms;
	m->since = s->since;
	m->epoch_known = s->epoch_known;
	m->epoch = s->epoch;
	m->keyed = s->epoch_known;
	m->gone = 1; /* away until it comes back */
	TAILQ_INSERT_TAIL(&r->members, m, next);
	r->nmembers++;
	return 0;
}

static void drop_empty(struct rm_entry *e, void *arg)
{
	struct rm_room *r = (struct rm_room *)((char *)e - offsetof(struct rm_room, entry));

	(void)arg;
	if (r->nmembers == 0) {
		rm_keep_room_del(r);
		rm_room_free(r);
	}
}

int rm_hub_load(struct rm_hub *h)
{
	int ret;

	if (!h->deps.store)
		return 0;
	ret = cove_store_load(h->deps.store, load_room, load_member, h);
	if (ret != COVE_OK)
		return ret < 0 ? ret : COVE_ERR_STORE_FORMAT;
	rm_table_each(&h->rooms, drop_empty, NULL);
	return 0;
}

/* ---- the hub ---------------------------------------------------------------------- */

struct rm_hub *rm_hub_new(const struct rm_deps *deps, const struct rm_conf *conf)
{
	struct rm_hub *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->deps = *deps;
	h->conf = *conf;
	TAILQ_INIT(&h->to_route);
	TAILQ_INIT(&h->pending);
	if (rm_table_init(&h->rooms) != COVE_OK) {
		free(h);
		return NULL;
	}
	h->router = rm_timer_new(h, rm_route_cb, h);
	h->flusher = rm_timer_new(h, rm_keep_flush, h);
	h->trimmer = rm_timer_new(h, rm_keep_trim, h);
	h->sweeper = rm_timer_new(h, sweep_cb, h);
	if (!h->router || !h->flusher || !h->trimmer || !h->sweeper) {
		rm_hub_free(h);
		return NULL;
	}
	if (h->deps.store)
		rm_arm(h, h->trimmer, RM_TRIM_MS);
	if (h->conf.member_expiry_ms)
		rm_arm(h, h->sweeper, sweep_ms(h));
	return h;
}

static void free_room(struct rm_entry *e, void *arg)
{
	struct rm_room *r = (struct rm_room *)((char *)e - offsetof(struct rm_room, entry));
	struct rm_member *m;

	(void)arg;
	while ((m = TAILQ_FIRST(&r->members))) {
		TAILQ_REMOVE(&r->members, m, next);
		rm_member_free(m);
	}
	rm_room_free(r);
}

void rm_hub_free(struct rm_hub *h)
{
	if (!h)
		return;
	rm_keep_orphan(h);
	rm_table_each(&h->rooms, free_room, NULL);
	rm_table_fini(&h->rooms);
	rm_timer_free(h, h->router);
	rm_timer_free(h, h->flusher);
	rm_timer_free(h, h->trimmer);
	rm_timer_free(h, h->sweeper);
	free(h);
}

int rm_hub_member(const struct rm_hub *h, const char *room, size_t len,
		  const uint8_t pk[COVE_ID_LEN])
{
	struct rm_room *r = rm_room_find(h, room, len);
	struct rm_member *m = r ? rm_room_member(r, pk) : NULL;

	if (!m)
		return 0;
	return m->peer && !m->gone ? 1 : 2;
}

size_t rm_hub_nrooms(const struct rm_hub *h)
{
	return h->rooms.n;
}

int rm_hub_epoch(const struct rm_hub *h, const char *room, size_t len, uint32_t *epoch)
{
	const struct rm_room *r = rm_room_find(h, room, len);

	if (!r || !r->epoch_known)
		return 0;
	*epoch = r->epoch;
	return 1;
}
