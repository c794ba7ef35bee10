/*
 * room.c - who is in each room, and who holds which of its keys.
 *
 * The relay never holds a key; it keeps track of who says they hold one
 * (RDY carries the epoch) and routes work accordingly:
 *
 *   joins      the joiner learns the members from their signed INIs and
 *              they learn of it. In a room where nobody live holds a key,
 *              the oldest member gets the relay's signed INI, "you are
 *              first", and makes a new group. Otherwise one member holding
 *              the current epoch, the longest present, gets an ASK; when
 *              it has not answered (the joiner's RDY) in time, or leaves,
 *              the next one does, until none is left (ERR no_key).
 *   rekeys     when a member leaves (its own BYE, its grace period over,
 *              or revoked), or one asks (RKY), one member holding the
 *              current epoch is named (REK) to make the next one. Its RDY
 *              moves the room to the new epoch; it then hands the key to
 *              every member it trusts, and those it does not reach in time
 *              are caught up like joiners, by another member. A silent
 *              rekeyer is replaced, with a higher epoch number, so two
 *              keys are never made for one epoch.
 *   away       a member whose connection is lost is away (life.c): it
 *              gets nothing live and is never asked, but stays a member
 *              until it leaves, expires or is removed.
 *
 * The first INI into an empty room is "first" and every later one is
 * routed to that member, all on one loop: two nodes joining at once end
 * with one key.
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

static void ask_timeout_cb(void *arg);
static void rekey_timeout_cb(void *arg);

struct rm_timer *rm_timer_new(const struct rm_hub *h, rm_timer_fn fn, void *arg)
{
	return h->deps.timers->create(h->deps.timers_ctx, fn, arg);
}

void rm_timer_free(const struct rm_hub *h, struct rm_timer *t)
{
	if (t)
		h->deps.timers->free(t);
}

static int needs_key(const struct rm_member *m)
{
	/* one that came back is given its turn to say what it holds first */
	if (!rm_live(m) || m->returning || m->catching)
		return 0;
	/* one back after leaving waits for the next epoch (rm_room.departed) */
	if (m->wait_epoch && m->room->epoch_known && m->room->epoch == m->not_epoch)
		return 0;
	if (!m->keyed || m->unconfirmed)
		return 1;
	return m->room->epoch_known && m->epoch_known && m->epoch < m->room->epoch;
}

void rm_route_cb(void *arg)
{
	struct rm_hub *h = arg;
	struct rm_room *r;

	while ((r = TAILQ_FIRST(&h->to_route))) {
		TAILQ_REMOVE(&h->to_route, r, route_next);
		r->route_pending = 0;
		rm_route(r);
	}
}

void rm_clear_join(struct rm_member *m)
{
	rm_cancel(m->room->hub, m->ask_timer);
	m->asked = NULL;
	m->returning = 0;
	free(m->tried);
	m->tried = NULL;
	m->ntried = 0;
	m->stuck = 0;
}

void rm_unstick_all(struct rm_room *r)
{
	struct rm_member *m;

	TAILQ_FOREACH(m, &r->members, next)
		m->stuck = 0;
}

void rm_cancel_rekey(struct rm_room *r)
{
	rm_cancel(r->hub, r->rekey_timer);
	r->rekeyer = NULL;
}

/* ---- rooms ------------------------------------------------------------------------ */

struct rm_room *rm_room_new(struct rm_hub *h, const char *name, size_t len, int keep)
{
	struct rm_room *r;

	if (len > COVE_ROOM_MAX)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->hub = h;
	memcpy(r->name, name, len);
	r->name_len = (uint8_t)len;
	TAILQ_INIT(&r->members);
	r->rekey_timer = rm_timer_new(h, rekey_timeout_cb, r);
	if (!r->rekey_timer) {
		free(r);
		return NULL;
	}
	r->id = ++h->next_room_id;
	r->entry.name = r->name;
	r->entry.len = len;
	rm_table_add(&h->rooms, &r->entry);
	if (keep)
		rm_keep_room(r);
	return r;
}

void rm_room_free(struct rm_room *r)
{
	struct rm_hub *h = r->hub;

	if (r->route_pending)
		TAILQ_REMOVE(&h->to_route, r, route_next);
	rm_timer_free(h, r->rekey_timer);
	rm_table_remove(&h->rooms, &r->entry);
	free(r->departed);
	free(r);
}

static size_t departed_at(const struct rm_room *r, const uint8_t pk[COVE_ID_LEN])
{
	size_t i = 0;

	while (i < r->ndeparted && memcmp(r->departed[i].pk, pk, COVE_ID_LEN) != 0)
		i++;
	return i;
}

static void departed_forget(struct rm_room *r, size_t i)
{
	r->ndeparted--;
	memmove(&r->departed[i], &r->departed[i + 1], (r->ndeparted - i) * sizeof(*r->departed));
}

static void departed_add(struct rm_room *r, const uint8_t pk[COVE_ID_LEN], uint32_t epoch)
{
	struct rm_departed *d;
	size_t i = departed_at(r, pk);

	if (i < r->ndeparted)
		departed_forget(r, i);
	if (r->ndeparted == RM_DEPARTED_MAX)
		departed_forget(r, 0); /* the oldest */
	d = realloc(r->departed, (r->ndeparted + 1) * sizeof(*d));
	if (!d)
		return; /* the members that saw it leave still refuse it */
	r->departed = d;
	memcpy(d[r->ndeparted].pk, pk, COVE_ID_LEN);
	d[r->ndeparted++].epoch = epoch;
}

int rm_departed_before(struct rm_room *r, const uint8_t pk[COVE_ID_LEN])
{
	size_t i = departed_at(r, pk);
	int before;

	if (i == r->ndeparted)
		return 0;
	before = r->epoch_known && r->epoch > r->departed[i].epoch;
	departed_forget(r, i);
	return before;
}

/* ---- leaving ------------------------------------------------------------------- */

void rm_detach(struct rm_member *m)
{
	struct rm_peer *p = m->peer;

	if (!p)
		return;
	for (size_t i = 0; i < p->nrooms; i++) {
		if (p->rooms[i] == m) {
			p->rooms[i] = p->rooms[--p->nrooms];
			break;
		}
	}
	m->peer = NULL;
}

static void announce_bye(struct rm_room *r, const struct rm_member *gone)
{
	struct cove_frame f;

	rm_own_frame(&f, COVE_F_BYE, r);
	memcpy(f.u.bye.who, gone->pk, COVE_ID_LEN);
	rm_keep_own(r, &f);
}

void rm_member_free(struct rm_member *m)
{
	const struct rm_hub *h = m->room->hub;

	rm_detach(m);
	rm_timer_free(h, m->ask_timer);
	free(m->tried);
	free(m->ini);
	free(m);
}

void rm_member_remove(struct rm_member *m, int announce, const uint8_t *bye, size_t bye_len)
{
	struct rm_room *r = m->room;
	struct rm_member *p;

	TAILQ_REMOVE(&r->members, m, next);
	r->nmembers--;
	rm_detach(m);
	TAILQ_FOREACH(p, &r->members, next) {
		if (p->asked == m) {
			rm_cancel(r->hub, p->ask_timer);
			p->asked = NULL;
		}
	}
	if (r->rekeyer == m) {
		rm_cancel_rekey(r);
		r->rekey_wanted = 1;
	}
	if (r->rky_by == m)
		r->rky_by = NULL; /* its request stands, without it */
	rm_keep_member_del(m);
	if (announce && r->nmembers > 0 && m->keyed && m->epoch_known)
		departed_add(r, m->pk, m->epoch);
	if (announce && r->nmembers > 0) {
		if (bye)
			rm_keep_frame(r, COVE_F_BYE, m->pk, NULL, NULL, 0, bye, bye_len);
		else
			announce_bye(r, m);
		r->rekey_wanted = 1;
	}
	rm_member_free(m);
	if (r->nmembers == 0) {
		rm_keep_room_del(r);
		rm_room_free(r);
	} else {
		rm_schedule(r);
	}
}

void rm_leave(struct rm_member *m, const uint8_t *bye, size_t bye_len)
{
	char label[RM_LABEL_MAX];

	m->room->hub->deps.stats->leaves++;
	rm_log_info(m->room->hub, "room %s: %s leaves", m->room->name,
		    rm_who(m, label, sizeof(label)));
	rm_member_remove(m, 1, bye, bye_len);
}

/* ---- routing ------------------------------------------------------------------------ */

static void grant_first(struct rm_member *m)
{
	struct rm_room *r = m->room;
	struct rm_member *k;
	struct cove_frame f;
	char label[RM_LABEL_MAX];

	rm_own_frame(&f, COVE_F_INI, r);
	memcpy(f.u.ini.xpk, m->xpk, COVE_WXPK_LEN);
	rm_clear_join(m);
	m->keyed = 1;
	m->unconfirmed = 0;
	m->epoch_known = 0;
	r->epoch_known = 0; /* a new group: its epoch is the first member's to say */
	/* those back that never said they hold the old key are given the new
	 * one like joiners (their turn is over, or there would be no first) */
	TAILQ_FOREACH(k, &r->members, next) {
		if (k != m && rm_live(k) && k->unconfirmed)
			k->keyed = k->epoch_known = k->unconfirmed = 0;
	}
	rm_cancel_rekey(r);
	r->rekey_wanted = 0;
	rm_keep_room(r);
	rm_keep_member(m);
	r->hub->deps.stats->firsts++;
	rm_log_info(r->hub, "room %s: %s is first and makes the group key", r->name,
		    rm_who(m, label, sizeof(label)));
	rm_send_own(m, &f);
}

static int was_tried(const struct rm_member *p, uint64_t serial)
{
	for (size_t i = 0; i < p->ntried; i++)
		if (p->tried[i] == serial)
			return 1;
	return 0;
}

static void add_tried(struct rm_member *p, uint64_t serial)
{
	uint64_t *t = realloc(p->tried, (p->ntried + 1) * sizeof(*t));

	if (t) {
		p->tried = t;
		p->tried[p->ntried++] = serial;
	}
}

static void join_failed(struct rm_member *p)
{
	struct rm_room *r = p->room;
	unsigned ms = r->hub->conf.join_timeout_ms;
	char label[RM_LABEL_MAX];

	r->hub->deps.stats->join_failures++;
	rm_log_info(r->hub, "room %s: no member gave %s the key", r->name,
		    rm_who(p, label, sizeof(label)));
	if (p->ntried)
		rm_tell(p, COVE_EC_NO_KEY,
			"no member of room %s gave you its key: %zu asked, each given %u ms; "
			"members give the key only to keys on their own whitelists", r->name,
			p->ntried, ms);
	else
		rm_tell(p, COVE_EC_NO_KEY, "no member of room %s who holds its key is connected",
			r->name);
	if (p->keyed || !p->joined_here) {
		/* it keeps its older key, or was a member before (it came
		 * back): it stays, retried when things change */
		p->stuck = 1;
		rm_schedule(r); /* a rekey asked for meanwhile may go now */
		return;
	}
	rm_member_remove(p, 1, NULL, 0);
}

/* Asks the longest-present member holding the current epoch that has not
 * failed p yet to give p the key. */
static void ask_next(struct rm_member *p)
{
	struct rm_room *r = p->room;
	struct rm_member *k;
	struct cove_frame f;

	TAILQ_FOREACH(k, &r->members, next) {
		if (k == p || !rm_up_to_date(k) || was_tried(p, k->serial))
			continue;
		rm_own_frame(&f, COVE_F_ASK, r);
		memcpy(f.u.ask.to, k->pk, COVE_ID_LEN);
		memcpy(f.u.ask.joiner, p->pk, COVE_ID_LEN);
		memcpy(f.u.ask.xpk, p->xpk, COVE_WXPK_LEN);
		if (rm_send_own(k, &f) != COVE_OK)
			continue; /* k is being dropped; try the next */
		p->asked = k;
		p->asked_ms = p->ask_armed_ms = rm_now(r->hub);
		p->ask_seq = ++r->hub->ask_seq;
		r->hub->deps.stats->asks++;
		rm_arm(r->hub, p->ask_timer, r->hub->conf.join_timeout_ms);
		return;
	}
	join_failed(p);
}

void rm_ask_progress(struct rm_member *k, const struct rm_member *j)
{
	struct rm_hub *h = k->room->hub;
	uint64_t now = rm_now(h), t = h->conf.join_timeout_ms;
	struct rm_member *p;

	if (j->asked != k || !j->ask_seq)
		return; /* not an answer to an ASK of j's */
	TAILQ_FOREACH(p, &k->room->members, next) {
		uint64_t end = p->asked_ms + RM_ASK_PATIENCE * t;

		/* A quarter of the timeout apart at most: a storm's KEYs re-arm
		 * each waiting member's timer a few times, not once per KEY. */
		if (p->asked != k || p->ask_seq <= j->ask_seq || end <= now ||
		    now - p->ask_armed_ms < t / 4)
			continue;
		p->ask_armed_ms = now;
		rm_arm(h, p->ask_timer, end - now < t ? end - now : t);
	}
}

int rm_someone_waits(const struct rm_room *r)
{
	const struct rm_member *m;

	TAILQ_FOREACH(m, &r->members, next)
		if (needs_key(m) && !m->stuck)
			return 1;
	return 0;
}

static void ask_timeout_cb(void *arg)
{
	struct rm_member *p = arg;
	struct rm_hub *h = p->room->hub;
	char a[RM_LABEL_MAX], b[RM_LABEL_MAX];

	if (p->returning) {
		/* it came back and did not say it holds the key: ask for it */
		p->returning = 0;
		rm_schedule(p->room);
		return;
	}
	if (!p->asked)
		return;
	h->deps.stats->ask_timeouts++;
	rm_log_info(h, "room %s: %s did not give %s the key in time; asking another member",
		    p->room->name, rm_who(p->asked, a, sizeof(a)), rm_who(p, b, sizeof(b)));
	add_tried(p, p->asked->serial);
	p->asked = NULL;
	ask_next(p);
}

/* Names a member to make the next epoch: prefer, else the longest-present
 * member holding the current one (after `after`, when a rekeyer failed). */
static void designate(struct rm_room *r, struct rm_member *prefer, struct rm_member *after)
{
	struct rm_hub *h = r->hub;
	struct rm_member *m = prefer, *k;
	struct cove_frame f;
	/* Above every epoch ever named here, so that a failed rekeyer's key
	 * and its replacement's never share a number; never the last number,
	 * so that epochs cannot wrap. */
	uint32_t top = r->epoch_top > r->epoch ? r->epoch_top : r->epoch;
	uint32_t epoch = top + 1;
	char label[RM_LABEL_MAX];

	if (epoch == COVE_EPOCH_END) {
		rm_cancel_rekey(r);
		r->rekey_wanted = 0;
		rm_log_error(h, "room %s: every epoch number is used; it cannot be rekeyed",
			     r->name);
		return;
	}

	if (!m) {
		int passed = after == NULL;

		TAILQ_FOREACH(k, &r->members, next) {
			if (!passed) {
				passed = k == after;
				continue;
			}
			if (rm_up_to_date(k)) {
				m = k;
				break;
			}
		}
	}
	rm_cancel_rekey(r);
	if (!m) {
		r->rekey_wanted = 1; /* when someone holds the current epoch again */
		return;
	}
	rm_own_frame(&f, COVE_F_REK, r);
	memcpy(f.u.rek.to, m->pk, COVE_ID_LEN);
	f.u.rek.epoch = epoch;
	if (rm_send_own(m, &f) != COVE_OK) {
		r->rekey_wanted = 1;
		return;
	}
	r->rekeyer = m;
	r->rekey_epoch = epoch;
	r->epoch_top = epoch;
	r->rekey_wanted = 0;
	rm_keep_room(r);
	h->deps.stats->rekeys++;
	rm_log_info(h, "room %s: %s is to make epoch %u", r->name,
		    rm_who(m, label, sizeof(label)), epoch);
	rm_arm(h, r->rekey_timer, h->conf.join_timeout_ms);
}

void rm_designate(struct rm_room *r, struct rm_member *prefer)
{
	designate(r, prefer, NULL);
}

static void rekey_timeout_cb(void *arg)
{
	struct rm_room *r = arg;
	struct rm_member *late = r->rekeyer;
	char label[RM_LABEL_MAX];

	if (!late)
		return;
	r->hub->deps.stats->rekey_timeouts++;
	rm_log_info(r->hub, "room %s: %s did not make epoch %u in time; naming another member",
		    r->name, rm_who(late, label, sizeof(label)), r->rekey_epoch);
	designate(r, NULL, late);
}

void rm_route(struct rm_room *r)
{
	struct rm_member *m, *tmp, *oldest = NULL;
	int any_keyed = 0, any_current = 0;
	uint32_t best = 0;

	if (r->inflight) {
		r->route_held = 1; /* after the frames in flight: their completion routes */
		return;
	}
	TAILQ_FOREACH(m, &r->members, next) {
		if (!rm_live(m))
			continue;
		if (!oldest && !m->returning && !m->catching)
			oldest = m; /* one that came back may hold the key: it says first */
		/* One back whose turn is over and did not say it holds the key
		 * may hold nothing (a node started afresh), and a node of
		 * before answers no ASK until it is given the key itself: it
		 * counts for nothing (a relay restarted with only such: one of
		 * them makes a new key, the others are given it). */
		if (m->keyed && (!m->unconfirmed || m->returning || m->catching))
			any_keyed = 1;
		if (rm_up_to_date(m))
			any_current = 1;
		if (m->keyed && m->epoch_known && m->epoch >= best)
			best = m->epoch;
	}
	if (!oldest && !any_keyed)
		return; /* only away members, or ones about to say what they hold */
	if (!any_keyed) {
		grant_first(oldest);
	} else if (!any_current && r->epoch_known && !r->rekeyer && best < r->epoch) {
		/* Those who held the current epoch are gone: fall back to the
		 * newest epoch still held, and move everyone on from there. */
		r->epoch = best;
		/* Name the next epoch from there: the epochs above were made by
		 * members now gone (perhaps pushed up by one of them to stop
		 * rekeys), and those present take at most 1024 more than they
		 * hold. */
		r->epoch_top = best;
		r->rekey_wanted = 1;
		rm_unstick_all(r);
		rm_keep_room(r);
	}
	if (r->rekey_wanted && !r->rekeyer && r->epoch_known)
		designate(r, NULL, NULL);
	if (r->rky_deferred && !r->rekeyer && r->epoch_known && !rm_someone_waits(r)) {
		struct rm_member *by = r->rky_by;

		r->rky_deferred = 0;
		r->rky_by = NULL;
		designate(r, by && rm_live(by) && rm_up_to_date(by) ? by : NULL, NULL);
	}
	TAILQ_FOREACH_SAFE(m, &r->members, next, tmp) {
		if (m->asked && m->asked->gone) {
			rm_cancel(r->hub, m->ask_timer); /* that member is leaving: ask another */
			m->asked = NULL;
		}
		if (needs_key(m) && !m->asked && !m->stuck)
			ask_next(m); /* may remove m (a failed join), never another */
	}
}

struct rm_member *rm_member_new(struct rm_room *r, const uint8_t *ini, size_t ini_len)
{
	struct rm_member *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->room = r;
	m->ini = malloc(ini_len);
	m->ask_timer = rm_timer_new(r->hub, ask_timeout_cb, m);
	if (!m->ini || !m->ask_timer) {
		rm_member_free(m);
		return NULL;
	}
	memcpy(m->ini, ini, ini_len);
	m->ini_len = ini_len;
	return m;
}
