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
 *   grace      a member whose connection is lost stays "away" for the
 *              grace period: it gets nothing, but when its identity joins
 *              again in time it simply takes its place, with no leave and
 *              no rekey. After that it is gone, and the room rekeyed.
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
static void grace_timeout_cb(void *arg);
static void route_cb(void *arg);
static void room_route(struct rm_room *r);

static struct rm_timer *timer_new(const struct rm_hub *h, rm_timer_fn fn, void *arg)
{
	return h->deps.timers->create(h->deps.timers_ctx, fn, arg);
}

static void timer_free(const struct rm_hub *h, struct rm_timer *t)
{
	if (t)
		h->deps.timers->free(t);
}

static int needs_key(const struct rm_member *m)
{
	if (!rm_live(m))
		return 0;
	if (!m->keyed)
		return 1;
	return m->room->epoch_known && m->epoch_known && m->epoch < m->room->epoch;
}

static void route_cb(void *arg)
{
	struct rm_hub *h = arg;
	struct rm_room *r;

	while ((r = TAILQ_FIRST(&h->to_route))) {
		TAILQ_REMOVE(&h->to_route, r, route_next);
		r->route_pending = 0;
		room_route(r);
	}
}

void rm_clear_join(struct rm_member *m)
{
	rm_cancel(m->room->hub, m->ask_timer);
	m->asked = NULL;
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

static struct rm_room *room_new(struct rm_hub *h, const char *name, size_t len)
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
	r->rekey_timer = timer_new(h, rekey_timeout_cb, r);
	if (!r->rekey_timer) {
		free(r);
		return NULL;
	}
	r->id = ++h->next_room_id;
	r->entry.name = r->name;
	r->entry.len = len;
	rm_table_add(&h->rooms, &r->entry);
	rm_keep_room(r);
	return r;
}

/* Frees an empty room. */
static void room_free(struct rm_room *r)
{
	struct rm_hub *h = r->hub;

	if (r->route_pending)
		TAILQ_REMOVE(&h->to_route, r, route_next);
	timer_free(h, r->rekey_timer);
	rm_table_remove(&h->rooms, &r->entry);
	free(r);
}

/* ---- leaving ------------------------------------------------------------------- */

static void detach_from_peer(struct rm_member *m)
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

static void member_free(struct rm_member *m)
{
	const struct rm_hub *h = m->room->hub;

	detach_from_peer(m);
	timer_free(h, m->ask_timer);
	timer_free(h, m->grace_timer);
	free(m->tried);
	free(m->ini);
	free(m);
}

/* Takes m out of its room. With announce, the others are told (bye: the
 * member's own signed BYE; NULL: one signed by the relay) and the room is
 * to be rekeyed. Never routes directly: callers may be iterating. */
static void member_remove(struct rm_member *m, int announce, const uint8_t *bye, size_t bye_len)
{
	struct rm_room *r = m->room;
	struct rm_member *p;

	TAILQ_REMOVE(&r->members, m, next);
	r->nmembers--;
	detach_from_peer(m);
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
	rm_keep_member_del(m);
	if (announce && r->nmembers > 0) {
		if (bye)
			rm_keep_frame(r, COVE_F_BYE, m->pk, NULL, NULL, 0, bye, bye_len);
		else
			announce_bye(r, m);
		r->rekey_wanted = 1;
	}
	member_free(m);
	if (r->nmembers == 0) {
		rm_keep_room_del(r);
		room_free(r);
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
	member_remove(m, 1, bye, bye_len);
}

static void grace_timeout_cb(void *arg)
{
	struct rm_member *m = arg;
	struct rm_hub *h = m->room->hub;
	char b64[COVE_PK_B64_LEN + 1];

	h->deps.stats->graces_expired++;
	cove_pk_to_b64(b64, m->pk);
	rm_log_info(h, "room %s: %s did not come back within the grace period; it has left",
		    m->room->name, b64);
	member_remove(m, 1, NULL, 0);
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
		if (r->rekeyer == m) {
			rm_cancel_rekey(r);
			r->rekey_wanted = 1;
		}
		rm_schedule(r);
	}
}

void rm_peer_free(struct rm_peer *p, int grace)
{
	struct rm_hub *h;

	if (!p)
		return;
	h = p->hub;
	while (p->nrooms > 0) {
		struct rm_member *m = p->rooms[p->nrooms - 1];

		if (!grace || h->conf.grace_ms == 0 || !m->keyed) {
			member_remove(m, 1, NULL, 0);
			continue;
		}
		/* Away: it receives nothing and counts for nothing, but its
		 * identity may come back and take its place. */
		m->gone = 1;
		detach_from_peer(m);
		m->grace_timer = timer_new(h, grace_timeout_cb, m);
		if (!m->grace_timer) {
			member_remove(m, 1, NULL, 0);
			continue;
		}
		rm_arm(h, m->grace_timer, h->conf.grace_ms);
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

/* ---- routing ------------------------------------------------------------------------ */

static void grant_first(struct rm_member *m)
{
	struct rm_room *r = m->room;
	struct cove_frame f;
	char label[RM_LABEL_MAX];

	rm_own_frame(&f, COVE_F_INI, r);
	memcpy(f.u.ini.xpk, m->xpk, COVE_WXPK_LEN);
	rm_clear_join(m);
	m->keyed = 1;
	m->epoch_known = 0;
	r->epoch_known = 0; /* a new group: its epoch is the first member's to say */
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
	if (p->keyed) {
		p->stuck = 1; /* it keeps its older key and stays; retried when things change */
		return;
	}
	member_remove(p, 1, NULL, 0);
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
		r->hub->deps.stats->asks++;
		rm_arm(r->hub, p->ask_timer, r->hub->conf.join_timeout_ms);
		return;
	}
	join_failed(p);
}

static void ask_timeout_cb(void *arg)
{
	struct rm_member *p = arg;
	struct rm_hub *h = p->room->hub;
	char a[RM_LABEL_MAX], b[RM_LABEL_MAX];

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

/* Restores the room's invariants: someone live holds a key (or is making
 * one) whenever anyone is in the room; a due rekey has a rekeyer; every
 * member that needs the current key has someone asked on its behalf. */
static void room_route(struct rm_room *r)
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
		if (!oldest)
			oldest = m;
		if (m->keyed)
			any_keyed = 1;
		if (rm_up_to_date(m))
			any_current = 1;
		if (m->keyed && m->epoch_known && m->epoch >= best)
			best = m->epoch;
	}
	if (!oldest)
		return; /* only away members: wait for them or their grace */
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
	TAILQ_FOREACH_SAFE(m, &r->members, next, tmp) {
		if (m->asked && m->asked->gone) {
			rm_cancel(r->hub, m->ask_timer); /* that member is leaving: ask another */
			m->asked = NULL;
		}
		if (needs_key(m) && !m->asked && !m->stuck)
			ask_next(m); /* may remove m (a failed join), never another */
	}
}

/* ---- what members send ------------------------------------------------------------ */

/* A member already in the room replaces its session key with a new INI
 * (nodes do every hour or so, so that no session key lives long and
 * members can refuse old INIs). Everyone present learns the new key;
 * KEYs sealed to the one it replaced are still delivered. At most one a
 * second. */
static int refresh(struct rm_member *m, const uint8_t *xpk, const uint8_t *ini, size_t ini_len)
{
	uint64_t now = rm_now(m->room->hub);
	uint8_t *copy;

	if (now - m->refreshed_ms < RM_REFRESH_MIN_MS)
		return COVE_EC_ALREADY_JOINED;
	copy = malloc(ini_len);
	if (!copy)
		return COVE_EC_LIMIT;
	memcpy(copy, ini, ini_len);
	free(m->ini);
	m->ini = copy;
	m->ini_len = ini_len;
	memcpy(m->old_xpk, m->xpk, COVE_WXPK_LEN);
	m->has_old_xpk = 1;
	memcpy(m->xpk, xpk, COVE_WXPK_LEN);
	m->refreshed_ms = now;
	rm_keep_member(m);
	rm_keep_frame(m->room, COVE_F_INI, m->pk, NULL, NULL, 0, ini, ini_len);
	return 0;
}

/* A new member of r for p, in no list yet; NULL when out of memory. */
static struct rm_member *member_new(struct rm_room *r, const uint8_t *ini, size_t ini_len)
{
	struct rm_member *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->room = r;
	m->ini = malloc(ini_len);
	m->ask_timer = timer_new(r->hub, ask_timeout_cb, m);
	if (!m->ini || !m->ask_timer) {
		member_free(m);
		return NULL;
	}
	memcpy(m->ini, ini, ini_len);
	m->ini_len = ini_len;
	return m;
}

int rm_join(struct rm_peer *p, const char *room, size_t len, const uint8_t xpk[COVE_WXPK_LEN],
	    const uint8_t *ini, size_t ini_len)
{
	struct rm_hub *h = p->hub;
	struct rm_room *r = rm_room_find(h, room, len);
	struct rm_member *m, *k, *tmp, **rooms;
	char label[RM_LABEL_MAX];

	if (r && (m = rm_peer_member(p, room, len)))
		return refresh(m, xpk, ini, ini_len);
	if (p->nrooms >= h->conf.max_rooms)
		return COVE_EC_LIMIT;
	rooms = realloc(p->rooms, (p->nrooms + 1) * sizeof(*rooms));
	if (!rooms)
		return COVE_EC_LIMIT;
	p->rooms = rooms;
	if (!r)
		r = room_new(h, room, len);
	m = r ? member_new(r, ini, ini_len) : NULL;
	if (!m) {
		if (r && r->nmembers == 0) {
			rm_keep_room_del(r);
			room_free(r);
		}
		rm_log_error(h, "out of memory for a join");
		return COVE_EC_LIMIT;
	}
	memcpy(m->xpk, xpk, COVE_WXPK_LEN);
	m->refreshed_ms = rm_now(h); /* no renewal within a second of the join */
	m->joined_ms = m->seen_ms = m->refreshed_ms;
	memcpy(m->pk, p->pk, COVE_ID_LEN);
	m->peer = p;
	TAILQ_INSERT_TAIL(&r->members, m, next);
	r->nmembers++;
	p->rooms[p->nrooms++] = m;
	/* The same identity, away or on an older connection: this is its
	 * return, not a new member; it takes the old place's without a leave.
	 * In first, so that the room never empties meanwhile: a room whose
	 * last member is removed is freed. */
	TAILQ_FOREACH_SAFE(k, &r->members, next, tmp) {
		if (k != m && memcmp(k->pk, p->pk, COVE_ID_LEN) == 0) {
			h->deps.stats->rejoins++;
			member_remove(k, 0, NULL, 0);
		}
	}
	m->serial = r->next_serial++;
	rm_keep_room(r);
	/* The joiner learns who is here from their own signed INIs; they learn
	 * of the joiner from its INI. Nodes verify all of these themselves. */
	TAILQ_FOREACH(k, &r->members, next)
		if (k != m && rm_live(k))
			rm_send_raw(m, k->ini, k->ini_len);
	/* recorded at its completion, which gives it its since */
	rm_keep_frame(r, COVE_F_INI, m->pk, NULL, NULL, 1, ini, ini_len);
	h->deps.stats->joins++;
	rm_log_debug(h, "room %s: %s joins (%zu members)", r->name,
		     rm_who(m, label, sizeof(label)), r->nmembers);
	room_route(r);
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
	h->router = timer_new(h, route_cb, h);
	h->flusher = timer_new(h, rm_keep_flush, h);
	h->trimmer = timer_new(h, rm_keep_trim, h);
	if (!h->router || !h->flusher || !h->trimmer) {
		rm_hub_free(h);
		return NULL;
	}
	if (h->deps.store)
		rm_arm(h, h->trimmer, RM_TRIM_MS);
	return h;
}

static void free_room(struct rm_entry *e, void *arg)
{
	struct rm_room *r = (struct rm_room *)((char *)e - offsetof(struct rm_room, entry));
	struct rm_member *m;

	(void)arg;
	while ((m = TAILQ_FIRST(&r->members))) {
		TAILQ_REMOVE(&r->members, m, next);
		member_free(m);
	}
	room_free(r);
}

void rm_hub_free(struct rm_hub *h)
{
	if (!h)
		return;
	rm_keep_orphan(h);
	rm_table_each(&h->rooms, free_room, NULL);
	rm_table_fini(&h->rooms);
	timer_free(h, h->router);
	timer_free(h, h->flusher);
	timer_free(h, h->trimmer);
	free(h);
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
