/*
 * relay.c - what the rendezvous does with each frame a node sends.
 *
 * Every INI, KEY and DAT is checked before anything else happens: a type
 * nodes may send, signed by the connection's own identity, that identity
 * still whitelisted, its sequence number above the connection's last, the
 * signature valid. Then:
 *
 *   INI  the joiner learns the members (their signed INIs) and the members
 *        learn the joiner. In a room where nobody holds the key, the oldest
 *        joiner gets the relay's signed INI, "you are first". Otherwise
 *        one keyed member, the longest present, gets an ASK; if it does not
 *        answer in time, the next one does, until one does or none is left.
 *   KEY  only from a keyed member, only to the joiner it names. The join
 *        is complete only when the joiner confirms with RDY: a KEY the
 *        joiner refuses (it does not trust the sender) leaves the ask
 *        timer running, and the next member is asked in time.
 *   RDY  the joiner holds the key.
 *   DAT  only from a keyed member, to every other keyed member.
 *
 * Since all of this happens on one event loop, the first INI into an
 * empty room is "first" and every later one is routed to it: two nodes
 * joining at the same moment cannot both generate a key.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "cli/log.h"
#include "common/err.h"
#include "proto/msg.h"
#include "rendezvous/rv.h"

static void ask_timeout_cb(evutil_socket_t fd, short what, void *arg);
static void room_route(struct rv_room *r);

static struct rv_member *conn_member(const struct rv_conn *c, const struct rv_room *r)
{
	for (size_t i = 0; i < c->nrooms; i++)
		if (c->rooms[i]->room == r)
			return c->rooms[i];
	return NULL;
}

static int live(const struct rv_member *m)
{
	return !m->gone;
}

/* Sends the same bytes to every live member but skip; with keyed_only,
 * only to those who hold the key or have been sent one: a joiner's KEY
 * and the DATs after it travel in order on its link, so it can read
 * every message sent after it was given the key. */
static size_t broadcast(struct rv_room *r, const struct rv_member *skip, const uint8_t *raw,
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
}

static void set_keyed(struct rv_member *m)
{
	if (m->keyed)
		return;
	m->keyed = 1;
	m->room->nkeyed++;
	clear_join(m);
}

static void announce_bye(struct rv_room *r, const struct rv_member *gone)
{
	struct rv_server *s = gone->conn->srv;
	uint8_t buf[256];
	struct cove_frame f;
	size_t len = 0;

	if (TAILQ_EMPTY(&r->members))
		return;
	memset(&f, 0, sizeof(f));
	f.type = COVE_F_BYE;
	cove_frame_set_room(&f, r->name, r->name_len);
	memcpy(f.u.bye.who, gone->conn->pk, COVE_ID_LEN);
	if (rv_sign(s, &f) != COVE_OK || cove_frame_encode(&f, buf, sizeof(buf), &len) != COVE_OK)
		return;
	broadcast(r, NULL, buf, len, 0);
}

/* Takes m out of its room and its connection and tells the others. With
 * route, re-routes the joins that were waiting on m; room_route() itself
 * passes 0, as it is iterating the room. Frees m, and the room if empty. */
static void member_leave(struct rv_member *m, int route)
{
	struct rv_room *r = m->room;
	struct rv_conn *c = m->conn;
	struct rv_member *p;
	struct rv_server *s = c->srv;

	TAILQ_REMOVE(&r->members, m, next);
	r->nmembers--;
	if (m->keyed && !m->gone)
		r->nkeyed--;
	clear_join(m);
	if (m->ask_timer)
		event_free(m->ask_timer);
	for (size_t i = 0; i < c->nrooms; i++) {
		if (c->rooms[i] == m) {
			c->rooms[i] = c->rooms[--c->nrooms];
			break;
		}
	}
	announce_bye(r, m);
	TAILQ_FOREACH(p, &r->members, next) {
		if (p->asked == m) {
			evtimer_del(p->ask_timer);
			p->asked = NULL;
		}
	}
	free(m->ini);
	free(m);
	if (r->nmembers == 0) {
		if (r->route_pending)
			TAILQ_REMOVE(&s->to_route, r, route_next);
		rv_rooms_remove(&s->rooms, r);
	} else if (route) {
		room_route(r);
	}
}

void rv_relay_drop_conn(struct rv_conn *c)
{
	while (c->nrooms > 0)
		member_leave(c->rooms[c->nrooms - 1], 1);
}

void rv_relay_conn_closing(struct rv_conn *c)
{
	struct rv_server *s = c->srv;

	for (size_t i = 0; i < c->nrooms; i++) {
		struct rv_member *m = c->rooms[i];

		if (m->gone)
			continue;
		m->gone = 1;
		if (m->keyed)
			m->room->nkeyed--;
		clear_join(m);
		if (!m->room->route_pending) {
			m->room->route_pending = 1;
			TAILQ_INSERT_TAIL(&s->to_route, m->room, route_next);
			event_active(s->router, EV_TIMEOUT, 0);
		}
	}
}

void rv_relay_route_pending(struct rv_server *s)
{
	struct rv_room *r;

	while ((r = TAILQ_FIRST(&s->to_route))) {
		TAILQ_REMOVE(&s->to_route, r, route_next);
		r->route_pending = 0;
		room_route(r);
	}
}

/* ---- joins ----------------------------------------------------------------- */

static void grant_first(struct rv_member *m)
{
	struct rv_room *r = m->room;
	struct cove_frame f;
	char label[96];

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_INI;
	cove_frame_set_room(&f, r->name, r->name_len);
	memcpy(f.u.ini.xpk, m->xpk, COVE_WXPK_LEN);
	set_keyed(m);
	m->conn->srv->stats.firsts++;
	log_info("room %s: %s is first and makes the group key", r->name,
		 rv_conn_label(m->conn, label, sizeof(label)));
	rv_send_signed(m->conn, &f);
}

static int was_tried(const struct rv_member *p, uint64_t serial)
{
	for (size_t i = 0; i < p->ntried; i++)
		if (p->tried[i] == serial)
			return 1;
	return 0;
}

static void join_failed(struct rv_member *p)
{
	struct rv_conn *c = p->conn;
	struct rv_room *r = p->room;
	unsigned ms = c->srv->conf.join_timeout_ms;
	char label[96];

	c->srv->stats.join_failures++;
	log_info("room %s: no member gave %s the key; join failed", r->name,
		 rv_conn_label(c, label, sizeof(label)));
	if (p->ntried)
		rv_send_err(c, r->name, COVE_EC_NO_KEY, 0,
			    "no member of room %s gave you its key: %zu asked, each given %u ms; "
			    "members give the key only to keys on their own whitelists", r->name,
			    p->ntried, ms);
	else
		rv_send_err(c, r->name, COVE_EC_NO_KEY, 0,
			    "no member of room %s who holds its key is connected", r->name);
	member_leave(p, 0);
}

/* Asks the longest-present keyed member that has not failed p yet. */
static void ask_next(struct rv_member *p)
{
	struct rv_server *s = p->conn->srv;
	unsigned ms = s->conf.join_timeout_ms;
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };
	struct rv_member *k;
	struct cove_frame f;

	TAILQ_FOREACH(k, &p->room->members, next) {
		if (k == p || !k->keyed || !live(k) || was_tried(p, k->serial))
			continue;
		memset(&f, 0, sizeof(f));
		f.type = COVE_F_ASK;
		cove_frame_set_room(&f, p->room->name, p->room->name_len);
		memcpy(f.u.ask.to, k->conn->pk, COVE_ID_LEN);
		memcpy(f.u.ask.joiner, p->conn->pk, COVE_ID_LEN);
		memcpy(f.u.ask.xpk, p->xpk, COVE_WXPK_LEN);
		if (rv_send_signed(k->conn, &f) != COVE_OK)
			continue; /* k is being dropped; try the next */
		p->asked = k;
		s->stats.asks++;
		evtimer_add(p->ask_timer, &tv);
		return;
	}
	join_failed(p);
}

/* Restores the room's invariants: someone holds (or is making) the key
 * whenever anyone is in the room, and every waiting joiner has a member
 * asked on its behalf. */
static void room_route(struct rv_room *r)
{
	struct rv_member *m, *tmp;

	if (r->nkeyed == 0) {
		TAILQ_FOREACH(m, &r->members, next) {
			if (live(m)) {
				grant_first(m);
				break;
			}
		}
	}
	TAILQ_FOREACH_SAFE(m, &r->members, next, tmp) {
		if (m->asked && m->asked->gone) {
			evtimer_del(m->ask_timer); /* that member is leaving: ask another */
			m->asked = NULL;
		}
		if (!m->keyed && live(m) && !m->asked)
			ask_next(m); /* may remove m (failed join), never another */
	}
}

static void ask_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rv_member *p = arg;
	struct rv_room *r = p->room;
	uint64_t *t;
	char a[96], b[96];

	(void)fd;
	(void)what;
	if (!p->asked)
		return;
	p->conn->srv->stats.ask_timeouts++;
	log_info("room %s: %s did not answer the join of %s in time; asking another member",
		 r->name, rv_conn_label(p->asked->conn, a, sizeof(a)),
		 rv_conn_label(p->conn, b, sizeof(b)));
	t = realloc(p->tried, (p->ntried + 1) * sizeof(*t));
	if (t) {
		p->tried = t;
		p->tried[p->ntried++] = p->asked->serial;
	}
	p->asked = NULL;
	ask_next(p);
}

static int on_ini(struct rv_conn *c, const struct cove_frame *f, const uint8_t *raw, size_t len)
{
	struct rv_server *s = c->srv;
	struct rv_room *r = rv_rooms_find(&s->rooms, f->room, f->room_len);
	struct rv_member *m, *k;
	struct rv_member **rooms;

	if (r && conn_member(c, r)) {
		rv_send_err(c, f->room, COVE_EC_ALREADY_JOINED, f->seq,
			    "you are already in room %s on this connection", f->room);
		return 0;
	}
	if (c->nrooms >= s->conf.max_rooms) {
		rv_send_err(c, f->room, COVE_EC_LIMIT, f->seq,
			    "at most %zu rooms per connection on this rendezvous", s->conf.max_rooms);
		return 0;
	}
	rooms = realloc(c->rooms, (c->nrooms + 1) * sizeof(*rooms));
	if (!rooms)
		return 0;
	c->rooms = rooms;
	if (!r)
		r = rv_rooms_get(&s->rooms, f->room, f->room_len);
	m = calloc(1, sizeof(*m));
	if (!r || !m || !(m->ini = malloc(len)) ||
	    !(m->ask_timer = evtimer_new(s->base, ask_timeout_cb, m))) {
		if (m)
			free(m->ini);
		free(m);
		if (r && r->nmembers == 0)
			rv_rooms_remove(&s->rooms, r);
		log_error("out of memory for a join");
		return 0;
	}
	memcpy(m->ini, raw, len);
	m->ini_len = len;
	memcpy(m->xpk, f->u.ini.xpk, COVE_WXPK_LEN);
	m->room = r;
	m->conn = c;
	m->serial = r->next_serial++;
	/* The joiner learns who is here from their own signed INIs; they learn
	 * of the joiner from its INI. Nodes verify all of these themselves. */
	TAILQ_FOREACH(k, &r->members, next) {
		if (!live(k))
			continue;
		rv_send_raw(c, k->ini, k->ini_len);
		rv_send_raw(k->conn, raw, len);
	}
	TAILQ_INSERT_TAIL(&r->members, m, next);
	r->nmembers++;
	c->rooms[c->nrooms++] = m;
	s->stats.joins++;
	log_debug("room %s: %s joins (%zu members)", r->name, c->name, r->nmembers);
	room_route(r);
	return 0;
}

static int on_key(struct rv_conn *c, const struct cove_frame *f, const uint8_t *raw, size_t len)
{
	struct rv_room *r = rv_rooms_find(&c->srv->rooms, f->room, f->room_len);
	struct rv_member *k = r ? conn_member(c, r) : NULL, *j;

	if (!k || !k->keyed) {
		rv_send_err(c, f->room, COVE_EC_NOT_MEMBER, f->seq,
			    "KEY refused: you do not hold the key of room %s", f->room);
		return 0;
	}
	TAILQ_FOREACH(j, &r->members, next) {
		if (memcmp(j->conn->pk, f->u.key.to, COVE_ID_LEN) == 0 &&
		    memcmp(j->xpk, f->u.key.xpk, COVE_WXPK_LEN) == 0)
			break;
	}
	if (!j || !live(j)) {
		log_debug("room %s: KEY from %s for a joiner who has gone", r->name, c->name);
		return 0;
	}
	/* Not counted as holding the key yet: that is the joiner's to say
	 * (RDY). The ask timer goes on in case it refuses this KEY. */
	if (rv_send_raw(j->conn, raw, len) == COVE_OK) {
		c->srv->stats.frames_forwarded++;
		c->srv->stats.deliveries++;
		j->key_sent = 1;
	}
	return 0;
}

static int on_rdy(struct rv_conn *c, const struct cove_frame *f)
{
	struct rv_room *r = rv_rooms_find(&c->srv->rooms, f->room, f->room_len);
	struct rv_member *m = r ? conn_member(c, r) : NULL;

	if (!m) {
		rv_send_err(c, f->room, COVE_EC_NOT_MEMBER, f->seq,
			    "RDY refused: you have not joined room %s", f->room);
		return 0;
	}
	if (!m->keyed && live(m)) {
		set_keyed(m);
		log_debug("room %s: %s holds the key", r->name, c->name);
	}
	return 0;
}

#ifdef COVE_TEST_TAMPER
/* Test builds only (build/tests/cove-rendezvous-tamper): a relay that
 * alters DATs before forwarding them, to show receivers drop them. */
int rv_test_tamper(const uint8_t *raw, size_t len, uint8_t *out, size_t cap, size_t *out_len);
#endif

static int on_dat(struct rv_conn *c, const struct cove_frame *f, const uint8_t *raw, size_t len)
{
	struct rv_room *r = rv_rooms_find(&c->srv->rooms, f->room, f->room_len);
	struct rv_member *m = r ? conn_member(c, r) : NULL;
#ifdef COVE_TEST_TAMPER
	static uint8_t evil[COVE_FRAME_MAX];
	size_t evil_len = 0;

	if (rv_test_tamper(raw, len, evil, sizeof(evil), &evil_len) == 0) {
		raw = evil;
		len = evil_len;
	}
#endif

	if (!m || !m->keyed) {
		rv_send_err(c, f->room, COVE_EC_NOT_MEMBER, f->seq,
			    "DAT refused: you have not joined room %s (or hold no key yet)",
			    f->room);
		return 0;
	}
	c->srv->stats.frames_forwarded++;
	c->srv->stats.deliveries += broadcast(r, m, raw, len, 1);
	return 0;
}

int rv_relay_frame(struct rv_conn *c, int err, const struct cove_frame *f, const uint8_t *raw,
		   size_t len)
{
	struct rv_server *s = c->srv;
	static const char *const names[] = { "?", "INI", "KEY", "DAT", "", "", "", "", "RDY" };
	const char *tn;

	s->stats.frames_in++;
	if (err) {
		rv_conn_log(c, "refused a frame: %s", cove_strerror(err));
		rv_send_err(c, "", COVE_EC_BAD_FRAME, 0, "frame refused: %s", cove_strerror(err));
		return 0;
	}
	if (f->type != COVE_F_INI && f->type != COVE_F_KEY && f->type != COVE_F_DAT &&
	    f->type != COVE_F_RDY) {
		rv_conn_log(c, "refused frame type %u: nodes may not send it", f->type);
		rv_send_err(c, f->room, COVE_EC_WRONG_DIRECTION, f->seq,
			    "frame type %u is not one nodes may send", f->type);
		return 0;
	}
	tn = names[f->type];
	if (memcmp(f->from, c->pk, COVE_ID_LEN) != 0) {
		rv_conn_log(c, "refused %s seq %llu: signed by another identity", tn,
			    (unsigned long long)f->seq);
		rv_send_err(c, f->room, COVE_EC_WRONG_SENDER, f->seq,
			    "%s refused: its sender is not the identity of this connection", tn);
		return 0;
	}
	if (!cove_wl_find_pk(s->wl, f->from)) {
		rv_send_err(c, f->room, COVE_EC_NOT_WHITELISTED, f->seq,
			    "%s refused: your key is not on this rendezvous's whitelist", tn);
		return 0;
	}
	if (f->seq <= c->last_seq) {
		rv_conn_log(c, "refused %s seq %llu: not above the last (%llu)", tn,
			    (unsigned long long)f->seq, (unsigned long long)c->last_seq);
		rv_send_err(c, f->room, COVE_EC_REPLAY, f->seq,
			    "%s refused: sequence number %llu is not above your last, %llu", tn,
			    (unsigned long long)f->seq, (unsigned long long)c->last_seq);
		return 0;
	}
	if (cove_msg_verify(f) != COVE_OK) {
		rv_conn_log(c, "refused %s seq %llu: bad signature", tn, (unsigned long long)f->seq);
		rv_send_err(c, f->room, COVE_EC_BAD_SIGNATURE, f->seq,
			    "%s refused: its signature does not verify", tn);
		return 0;
	}
	c->last_seq = f->seq;
	switch (f->type) {
	case COVE_F_INI: return on_ini(c, f, raw, len);
	case COVE_F_KEY: return on_key(c, f, raw, len);
	case COVE_F_RDY: return on_rdy(c, f);
	default: return on_dat(c, f, raw, len);
	}
}
