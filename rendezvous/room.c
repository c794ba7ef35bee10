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
 * routed to that member, all on one event loop: two nodes joining at once
 * end with one key.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "common/err.h"
#include "proto/msg.h"
#include "rendezvous/rv.h"

/* A member replaces its session key (a new INI) at most this often, and
 * has the room rekeyed (RKY) at most this often. */
#define RV_REFRESH_MIN_MS 1000u
#define RV_RKY_MIN_MS 1000u

static void ask_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void rekey_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void grace_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void room_route(struct rv_room *r);

static int live(const struct rv_member *m)
{
	return !m->gone;
}

/* Holds the room's current epoch: may answer joins and catch-ups. While
 * the room's epoch is not known yet (a first member has not confirmed its
 * new key), its keyed member counts: it holds the key by the time an ASK,
 * sent after its "first", reaches it. */
static int up_to_date(const struct rv_member *m)
{
	if (!live(m) || !m->keyed)
		return 0;
	if (!m->room->epoch_known)
		return 1;
	return m->epoch_known && m->epoch == m->room->epoch;
}

static int needs_key(const struct rv_member *m)
{
	if (!live(m))
		return 0;
	if (!m->keyed)
		return 1;
	return m->room->epoch_known && m->epoch_known && m->epoch < m->room->epoch;
}

static const char *who(const struct rv_member *m, char *buf, size_t cap)
{
	char b64[COVE_PK_B64_LEN + 1];

	if (m->conn)
		return rv_conn_label(m->conn, buf, cap);
	cove_pk_to_b64(b64, m->pk);
	snprintf(buf, cap, "away %.12s", b64);
	return buf;
}

static void timer_in(struct event *ev, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(ev, &tv);
}

/* Re-routes r from the event loop, after whatever is iterating now. */
static void schedule(struct rv_room *r)
{
	struct rv_server *s = r->srv;

	if (r->route_pending)
		return;
	r->route_pending = 1;
	TAILQ_INSERT_TAIL(&s->to_route, r, route_next);
	event_active(s->router, EV_TIMEOUT, 0);
}

void rv_room_route_pending(struct rv_server *s)
{
	struct rv_room *r;

	while ((r = TAILQ_FIRST(&s->to_route))) {
		TAILQ_REMOVE(&s->to_route, r, route_next);
		r->route_pending = 0;
		room_route(r);
	}
}

struct rv_member *rv_room_member(const struct rv_conn *c, const struct rv_room *r)
{
	for (size_t i = 0; i < c->nrooms; i++)
		if (c->rooms[i]->room == r)
			return c->rooms[i];
	return NULL;
}

size_t rv_room_broadcast(struct rv_room *r, const struct rv_member *skip, const uint8_t *raw,
			 size_t len, int keyed_only)
{
	struct rv_member *m;
	size_t n = 0;

	TAILQ_FOREACH(m, &r->members, next) {
		if (m == skip || !live(m) || (keyed_only && !m->keyed && !m->key_sent))
			continue;
		if (rv_send_raw(m->conn, raw, len) == COVE_OK)
			n++;
	}
	return n;
}

static void clear_join(struct rv_member *m)
{
	if (m->ask_timer)
		evtimer_del(m->ask_timer);
	m->asked = NULL;
	free(m->tried);
	m->tried = NULL;
	m->ntried = 0;
	m->stuck = 0;
}

static void unstick_all(struct rv_room *r)
{
	struct rv_member *m;

	TAILQ_FOREACH(m, &r->members, next)
		m->stuck = 0;
}

static void cancel_rekey(struct rv_room *r)
{
	evtimer_del(r->rekey_timer);
	r->rekeyer = NULL;
}

/* ---- leaving -------------------------------------------------------------- */

static void detach_from_conn(struct rv_member *m)
{
	struct rv_conn *c = m->conn;

	if (!c)
		return;
	for (size_t i = 0; i < c->nrooms; i++) {
		if (c->rooms[i] == m) {
			c->rooms[i] = c->rooms[--c->nrooms];
			break;
		}
	}
	m->conn = NULL;
}

static void announce_bye(struct rv_room *r, const struct rv_member *gone)
{
	uint8_t buf[256];
	struct cove_frame f;
	size_t len = 0;

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_BYE;
	cove_frame_set_room(&f, r->name, r->name_len);
	memcpy(f.u.bye.who, gone->pk, COVE_ID_LEN);
	if (rv_sign(r->srv, &f) != COVE_OK || cove_frame_encode(&f, buf, sizeof(buf), &len) != COVE_OK)
		return;
	rv_room_broadcast(r, NULL, buf, len, 0);
}

/* Takes m out of its room. With announce, the others are told (bye: the
 * member's own signed BYE; NULL: one signed by the relay) and the room is
 * to be rekeyed. Never routes directly: callers may be iterating. */
static void member_remove(struct rv_member *m, int announce, const uint8_t *bye, size_t bye_len)
{
	struct rv_room *r = m->room;
	struct rv_server *s = r->srv;
	struct rv_member *p;

	TAILQ_REMOVE(&r->members, m, next);
	r->nmembers--;
	detach_from_conn(m);
	clear_join(m);
	if (m->ask_timer)
		event_free(m->ask_timer);
	if (m->grace_timer)
		event_free(m->grace_timer);
	TAILQ_FOREACH(p, &r->members, next) {
		if (p->asked == m) {
			evtimer_del(p->ask_timer);
			p->asked = NULL;
		}
	}
	if (r->rekeyer == m) {
		cancel_rekey(r);
		r->rekey_wanted = 1;
	}
	if (announce && r->nmembers > 0) {
		if (bye)
			rv_room_broadcast(r, NULL, bye, bye_len, 0);
		else
			announce_bye(r, m);
		r->rekey_wanted = 1;
	}
	free(m->ini);
	free(m);
	if (r->nmembers == 0) {
		if (r->route_pending)
			TAILQ_REMOVE(&s->to_route, r, route_next);
		event_free(r->rekey_timer);
		rv_rooms_remove(&s->rooms, r);
	} else {
		schedule(r);
	}
}

void rv_room_leave(struct rv_member *m, const uint8_t *bye, size_t bye_len)
{
	char label[96];

	m->room->srv->stats.leaves++;
	log_info("room %s: %s leaves", m->room->name, who(m, label, sizeof(label)));
	member_remove(m, 1, bye, bye_len);
}

void rv_room_conn_closing(struct rv_conn *c)
{
	for (size_t i = 0; i < c->nrooms; i++) {
		struct rv_member *m = c->rooms[i];
		struct rv_room *r = m->room;

		if (m->gone)
			continue;
		m->gone = 1;
		clear_join(m);
		if (r->rekeyer == m) {
			cancel_rekey(r);
			r->rekey_wanted = 1;
		}
		schedule(r);
	}
}

static void grace_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rv_member *m = arg;
	char b64[COVE_PK_B64_LEN + 1];

	(void)fd;
	(void)what;
	m->room->srv->stats.graces_expired++;
	cove_pk_to_b64(b64, m->pk);
	log_info("room %s: %s did not come back within the grace period; it has left",
		 m->room->name, b64);
	member_remove(m, 1, NULL, 0);
}

void rv_room_conn_gone(struct rv_conn *c)
{
	struct rv_server *s = c->srv;

	while (c->nrooms > 0) {
		struct rv_member *m = c->rooms[c->nrooms - 1];

		if (c->no_grace || s->conf.grace_ms == 0 || !m->keyed) {
			member_remove(m, 1, NULL, 0);
			continue;
		}
		/* Away: it receives nothing and counts for nothing, but its
		 * identity may come back and take its place. */
		m->gone = 1;
		detach_from_conn(m);
		m->grace_timer = evtimer_new(s->base, grace_timeout_cb, m);
		if (!m->grace_timer) {
			member_remove(m, 1, NULL, 0);
			continue;
		}
		timer_in(m->grace_timer, s->conf.grace_ms);
	}
}

/* ---- routing --------------------------------------------------------------- */

static void grant_first(struct rv_member *m)
{
	struct rv_room *r = m->room;
	struct cove_frame f;
	char label[96];

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_INI;
	cove_frame_set_room(&f, r->name, r->name_len);
	memcpy(f.u.ini.xpk, m->xpk, COVE_WXPK_LEN);
	clear_join(m);
	m->keyed = 1;
	m->epoch_known = 0;
	r->epoch_known = 0; /* a new group: its epoch is the first member's to say */
	cancel_rekey(r);
	r->rekey_wanted = 0;
	r->srv->stats.firsts++;
	log_info("room %s: %s is first and makes the group key", r->name,
		 who(m, label, sizeof(label)));
	rv_send_signed(m->conn, &f);
}

static int was_tried(const struct rv_member *p, uint64_t serial)
{
	for (size_t i = 0; i < p->ntried; i++)
		if (p->tried[i] == serial)
			return 1;
	return 0;
}

static void add_tried(struct rv_member *p, uint64_t serial)
{
	uint64_t *t = realloc(p->tried, (p->ntried + 1) * sizeof(*t));

	if (t) {
		p->tried = t;
		p->tried[p->ntried++] = serial;
	}
}

static void join_failed(struct rv_member *p)
{
	struct rv_room *r = p->room;
	unsigned ms = r->srv->conf.join_timeout_ms;
	char label[96];

	r->srv->stats.join_failures++;
	log_info("room %s: no member gave %s the key", r->name, who(p, label, sizeof(label)));
	if (p->ntried)
		rv_send_err(p->conn, r->name, COVE_EC_NO_KEY, 0,
			    "no member of room %s gave you its key: %zu asked, each given %u ms; "
			    "members give the key only to keys on their own whitelists", r->name,
			    p->ntried, ms);
	else
		rv_send_err(p->conn, r->name, COVE_EC_NO_KEY, 0,
			    "no member of room %s who holds its key is connected", r->name);
	if (p->keyed) {
		p->stuck = 1; /* it keeps its older key and stays; retried when things change */
		return;
	}
	member_remove(p, 1, NULL, 0);
}

/* Asks the longest-present member holding the current epoch that has not
 * failed p yet to give p the key. */
static void ask_next(struct rv_member *p)
{
	struct rv_room *r = p->room;
	struct rv_member *k;
	struct cove_frame f;

	TAILQ_FOREACH(k, &r->members, next) {
		if (k == p || !up_to_date(k) || was_tried(p, k->serial))
			continue;
		memset(&f, 0, sizeof(f));
		f.type = COVE_F_ASK;
		cove_frame_set_room(&f, r->name, r->name_len);
		memcpy(f.u.ask.to, k->pk, COVE_ID_LEN);
		memcpy(f.u.ask.joiner, p->pk, COVE_ID_LEN);
		memcpy(f.u.ask.xpk, p->xpk, COVE_WXPK_LEN);
		if (rv_send_signed(k->conn, &f) != COVE_OK)
			continue; /* k is being dropped; try the next */
		p->asked = k;
		r->srv->stats.asks++;
		timer_in(p->ask_timer, r->srv->conf.join_timeout_ms);
		return;
	}
	join_failed(p);
}

static void ask_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rv_member *p = arg;
	char a[96], b[96];

	(void)fd;
	(void)what;
	if (!p->asked)
		return;
	p->room->srv->stats.ask_timeouts++;
	log_info("room %s: %s did not give %s the key in time; asking another member",
		 p->room->name, who(p->asked, a, sizeof(a)), who(p, b, sizeof(b)));
	add_tried(p, p->asked->serial);
	p->asked = NULL;
	ask_next(p);
}

/* Names a member to make the next epoch: prefer, else the longest-present
 * member holding the current one (after `after`, when a rekeyer failed). */
static void designate(struct rv_room *r, struct rv_member *prefer, struct rv_member *after)
{
	struct rv_member *m = prefer, *k;
	struct cove_frame f;
	/* Above every epoch ever named here, so that a failed rekeyer's key
	 * and its replacement's never share a number; never the last number,
	 * so that epochs cannot wrap. */
	uint32_t top = r->epoch_top > r->epoch ? r->epoch_top : r->epoch;
	uint32_t epoch = top + 1;
	char label[96];

	if (epoch == COVE_EPOCH_END) {
		cancel_rekey(r);
		r->rekey_wanted = 0;
		log_error("room %s: every epoch number is used; it cannot be rekeyed", r->name);
		return;
	}

	if (!m) {
		int passed = after == NULL;

		TAILQ_FOREACH(k, &r->members, next) {
			if (!passed) {
				passed = k == after;
				continue;
			}
			if (up_to_date(k)) {
				m = k;
				break;
			}
		}
	}
	cancel_rekey(r);
	if (!m) {
		r->rekey_wanted = 1; /* when someone holds the current epoch again */
		return;
	}
	memset(&f, 0, sizeof(f));
	f.type = COVE_F_REK;
	cove_frame_set_room(&f, r->name, r->name_len);
	memcpy(f.u.rek.to, m->pk, COVE_ID_LEN);
	f.u.rek.epoch = epoch;
	if (rv_send_signed(m->conn, &f) != COVE_OK) {
		r->rekey_wanted = 1;
		return;
	}
	r->rekeyer = m;
	r->rekey_epoch = epoch;
	r->epoch_top = epoch;
	r->rekey_wanted = 0;
	r->srv->stats.rekeys++;
	log_info("room %s: %s is to make epoch %u", r->name, who(m, label, sizeof(label)), epoch);
	timer_in(r->rekey_timer, r->srv->conf.join_timeout_ms);
}

static void rekey_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rv_room *r = arg;
	struct rv_member *late = r->rekeyer;
	char label[96];

	(void)fd;
	(void)what;
	if (!late)
		return;
	r->srv->stats.rekey_timeouts++;
	log_info("room %s: %s did not make epoch %u in time; naming another member", r->name,
		 who(late, label, sizeof(label)), r->rekey_epoch);
	designate(r, NULL, late);
}

/* Restores the room's invariants: someone live holds a key (or is making
 * one) whenever anyone is in the room; a due rekey has a rekeyer; every
 * member that needs the current key has someone asked on its behalf. */
static void room_route(struct rv_room *r)
{
	struct rv_member *m, *tmp, *oldest = NULL;
	int any_keyed = 0, any_current = 0;
	uint32_t best = 0;

	TAILQ_FOREACH(m, &r->members, next) {
		if (!live(m))
			continue;
		if (!oldest)
			oldest = m;
		if (m->keyed)
			any_keyed = 1;
		if (up_to_date(m))
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
		unstick_all(r);
	}
	if (r->rekey_wanted && !r->rekeyer && r->epoch_known)
		designate(r, NULL, NULL);
	TAILQ_FOREACH_SAFE(m, &r->members, next, tmp) {
		if (m->asked && m->asked->gone) {
			evtimer_del(m->ask_timer); /* that member is leaving: ask another */
			m->asked = NULL;
		}
		if (needs_key(m) && !m->asked && !m->stuck)
			ask_next(m); /* may remove m (a failed join), never another */
	}
}

/* ---- what members send ------------------------------------------------------ */

/* A member already in the room replaces its session key with a new INI
 * (nodes do every hour or so, so that no session key lives long and
 * members can refuse old INIs). Everyone present learns the new key;
 * KEYs sealed to the one it replaced are still delivered. At most one a
 * second. */
static int refresh(struct rv_member *m, const uint8_t *xpk, const uint8_t *ini, size_t ini_len)
{
	struct rv_member *k;
	uint64_t now = cove_now_ms();
	uint8_t *copy;

	if (now - m->refreshed_ms < RV_REFRESH_MIN_MS)
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
	TAILQ_FOREACH(k, &m->room->members, next)
		if (k != m && live(k))
			rv_send_raw(k->conn, ini, ini_len);
	return 0;
}

int rv_room_join(struct rv_conn *c, const char *room, size_t room_len, const uint8_t *xpk,
		 const uint8_t *ini, size_t ini_len)
{
	struct rv_server *s = c->srv;
	struct rv_room *r = rv_rooms_find(&s->rooms, room, room_len);
	struct rv_member *m, *k, *tmp, **rooms;

	if (r && (m = rv_room_member(c, r)))
		return refresh(m, xpk, ini, ini_len);
	if (c->nrooms >= s->conf.max_rooms)
		return COVE_EC_LIMIT;
	rooms = realloc(c->rooms, (c->nrooms + 1) * sizeof(*rooms));
	if (!rooms)
		return COVE_EC_LIMIT;
	c->rooms = rooms;
	if (!r) {
		r = rv_rooms_get(&s->rooms, room, room_len);
		if (r && !r->srv) {
			r->srv = s;
			r->rekey_timer = evtimer_new(s->base, rekey_timeout_cb, r);
			if (!r->rekey_timer) {
				rv_rooms_remove(&s->rooms, r);
				r = NULL;
			}
		}
	}
	m = calloc(1, sizeof(*m));
	if (!r || !m || !(m->ini = malloc(ini_len)) ||
	    !(m->ask_timer = evtimer_new(s->base, ask_timeout_cb, m))) {
		if (m)
			free(m->ini);
		free(m);
		if (r && r->nmembers == 0) {
			event_free(r->rekey_timer);
			rv_rooms_remove(&s->rooms, r);
		}
		log_error("out of memory for a join");
		return COVE_EC_LIMIT;
	}
	/* The same identity, away or on an older connection: this is its
	 * return, not a new member; it takes the old place's without a leave. */
	TAILQ_FOREACH_SAFE(k, &r->members, next, tmp) {
		if (memcmp(k->pk, c->pk, COVE_ID_LEN) == 0) {
			s->stats.rejoins++;
			member_remove(k, 0, NULL, 0);
		}
	}
	memcpy(m->ini, ini, ini_len);
	m->ini_len = ini_len;
	memcpy(m->xpk, xpk, COVE_WXPK_LEN);
	m->refreshed_ms = cove_now_ms(); /* no renewal within a second of the join */
	memcpy(m->pk, c->pk, COVE_ID_LEN);
	m->room = r;
	m->conn = c;
	m->serial = r->next_serial++;
	/* The joiner learns who is here from their own signed INIs; they learn
	 * of the joiner from its INI. Nodes verify all of these themselves. */
	TAILQ_FOREACH(k, &r->members, next) {
		if (!live(k))
			continue;
		rv_send_raw(c, k->ini, k->ini_len);
		rv_send_raw(k->conn, ini, ini_len);
	}
	TAILQ_INSERT_TAIL(&r->members, m, next);
	r->nmembers++;
	c->rooms[c->nrooms++] = m;
	s->stats.joins++;
	log_debug("room %s: %s joins (%zu members)", r->name, c->name, r->nmembers);
	room_route(r);
	return 0;
}

int rv_room_rdy(struct rv_member *m, uint32_t epoch, char *why, size_t cap)
{
	struct rv_room *r = m->room;
	struct rv_member *p;
	char label[96];

	if (r->rekeyer == m && epoch == r->rekey_epoch) {
		cancel_rekey(r);
		r->epoch = epoch;
		r->epoch_known = 1;
		clear_join(m);
		m->keyed = 1;
		m->epoch = epoch;
		m->epoch_known = 1;
		log_info("room %s: epoch %u made by %s", r->name, epoch, who(m, label, sizeof(label)));
		/* Everyone else is behind now and waits for the rekeyer's KEY;
		 * whoever it does not reach in time is caught up by another. */
		TAILQ_FOREACH(p, &r->members, next) {
			if (p == m || !live(p))
				continue;
			clear_join(p);
			if (p->keyed) {
				p->asked = m;
				timer_in(p->ask_timer, r->srv->conf.join_timeout_ms);
			}
		}
		schedule(r);
		return 0;
	}
	if (!r->epoch_known && epoch > COVE_EPOCH_FIRST_MAX) {
		/* A first key starts low: nobody may choose an epoch that leaves
		 * no room for rekeys. */
		snprintf(why, cap, "epoch %u of room %s is above what a first key may take (%u)",
			 epoch, r->name, COVE_EPOCH_FIRST_MAX);
		return COVE_EC_STALE_EPOCH;
	}
	if (!r->epoch_known) {
		r->epoch = epoch; /* the first member's key */
		r->epoch_known = 1;
		if (epoch > r->epoch_top)
			r->epoch_top = epoch;
	}
	if (epoch > r->epoch) {
		snprintf(why, cap, "epoch %u of room %s was not given to you to make (the room is "
			 "at epoch %u)", epoch, r->name, r->epoch);
		return COVE_EC_STALE_EPOCH;
	}
	m->keyed = 1;
	m->epoch = epoch;
	m->epoch_known = 1;
	if (epoch == r->epoch) {
		clear_join(m);
		unstick_all(r); /* one more member can answer */
	}
	schedule(r);
	return 0;
}

int rv_room_rky(struct rv_member *m, uint32_t epoch)
{
	struct rv_room *r = m->room;

	uint64_t now = cove_now_ms();

	/* Only from a member holding the current epoch; one rekey at a time,
	 * so a request during one is already served; at most one a second
	 * from one member, so that no member can race the epochs up. */
	if (!up_to_date(m) || epoch != r->epoch || r->rekeyer ||
	    now - m->last_rky_ms < RV_RKY_MIN_MS)
		return 0;
	m->last_rky_ms = now;
	designate(r, m, NULL);
	return 0;
}

int rv_room_key(struct rv_member *k, const struct cove_frame *f, const uint8_t *raw,
		size_t len, char *why, size_t cap)
{
	struct rv_room *r = k->room;
	struct rv_member *j;

	if (!k->keyed) {
		snprintf(why, cap, "KEY refused: you do not hold the key of room %s", r->name);
		return COVE_EC_NOT_MEMBER;
	}
	if (!up_to_date(k) || (r->epoch_known && f->u.key.epoch != r->epoch)) {
		snprintf(why, cap, "KEY refused: room %s is at epoch %u; you hold %u, the KEY is "
			 "for %u", r->name, r->epoch, k->epoch, f->u.key.epoch);
		return COVE_EC_STALE_EPOCH;
	}
	TAILQ_FOREACH(j, &r->members, next) {
		if (memcmp(j->pk, f->u.key.to, COVE_ID_LEN) == 0 &&
		    (memcmp(j->xpk, f->u.key.xpk, COVE_WXPK_LEN) == 0 ||
		     (j->has_old_xpk && memcmp(j->old_xpk, f->u.key.xpk, COVE_WXPK_LEN) == 0)))
			break;
	}
	if (!j || !live(j)) {
		log_debug("room %s: a KEY for a member who has gone", r->name);
		return 0;
	}
	/* Not counted as holding the key yet: that is the recipient's to say
	 * (RDY). The ask timer goes on in case it refuses this KEY. */
	if (rv_send_raw(j->conn, raw, len) == COVE_OK) {
		r->srv->stats.frames_forwarded++;
		r->srv->stats.deliveries++;
		j->key_sent = 1;
	}
	return 0;
}

/* ---- shutdown ---------------------------------------------------------------- */

static void free_room(struct rv_room *r, void *arg)
{
	struct rv_member *m;

	(void)arg;
	while ((m = TAILQ_FIRST(&r->members))) {
		TAILQ_REMOVE(&r->members, m, next);
		detach_from_conn(m);
		if (m->ask_timer)
			event_free(m->ask_timer);
		if (m->grace_timer)
			event_free(m->grace_timer);
		free(m->tried);
		free(m->ini);
		free(m);
	}
	r->nmembers = 0;
	if (r->rekey_timer)
		event_free(r->rekey_timer);
	r->rekey_timer = NULL;
}

void rv_room_free_all(struct rv_server *s)
{
	TAILQ_INIT(&s->to_route);
	rv_rooms_each(&s->rooms, free_room, NULL);
	rv_rooms_free(&s->rooms);
}
