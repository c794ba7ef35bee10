/*
 * rv.h - the rendezvous's internal contract between its modules:
 *
 *   server.c   listener, connections, handshake glue, output caps, logs
 *   relay.c    what each INI, KEY and DAT does: checks, rooms, routing
 *   rooms.c    the room table (a hash map keyed with SipHash)
 *   main.c     options, keys, signals
 *
 * Everything runs on one libevent loop, so nothing here is locked.
 */
#ifndef COVE_RV_H
#define COVE_RV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>

#include "crypto/ident.h"
#include "crypto/whitelist.h"
#include "wire/frame.h"

#ifndef TAILQ_FOREACH_SAFE /* glibc's sys/queue.h predates it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                                   \
	for ((var) = TAILQ_FIRST(head); (var) && ((tvar) = TAILQ_NEXT(var, field), 1); \
	     (var) = (tvar))
#endif

struct rv_conf {
	size_t max_conns;         /* connections at once */
	size_t max_unauth;        /* connections still in the handshake */
	size_t max_queue;         /* output bytes queued for one connection */
	size_t max_rooms;         /* rooms one connection may join */
	unsigned auth_timeout_ms; /* time allowed for the handshake */
	unsigned join_timeout_ms; /* time a member has to answer an ASK */
};

#define RV_DEFAULT_MAX_CONNS 16384
#define RV_DEFAULT_MAX_UNAUTH 1024
#define RV_DEFAULT_MAX_QUEUE (4u << 20)
#define RV_DEFAULT_MAX_ROOMS 64
#define RV_DEFAULT_AUTH_TIMEOUT_MS 10000
#define RV_DEFAULT_JOIN_TIMEOUT_MS 3000

struct rv_stats {
	uint64_t conns_accepted, conns_refused, auth_ok, auth_refused, auth_failed,
		auth_timeouts, slow_readers;
	uint64_t frames_in, frames_forwarded, deliveries;
	uint64_t refused[16]; /* by ERR code */
	uint64_t joins, firsts, asks, ask_timeouts, join_failures;
};

struct rv_room;
struct rv_conn;

/* One connection's place in one room. */
struct rv_member {
	TAILQ_ENTRY(rv_member) next;   /* room's members, in join order */
	struct rv_room *room;
	struct rv_conn *conn;
	uint64_t serial;               /* join order within the room */
	uint8_t xpk[COVE_WXPK_LEN];    /* session key from its INI */
	uint8_t *ini;                  /* its signed INI, replayed to later joiners */
	size_t ini_len;
	int keyed;                     /* holds the group key, as far as we know */
	int key_sent;                  /* a KEY went to it: it gets DATs from then on */
	int gone;                      /* its connection is closing: it counts for nothing */
	/* while not keyed: the join in progress */
	struct rv_member *asked;       /* member asked to answer, or NULL */
	struct event *ask_timer;
	uint64_t *tried;               /* serials of members that did not answer */
	size_t ntried;
};

TAILQ_HEAD(rv_member_list, rv_member);

struct rv_room {
	struct rv_room *hnext;         /* hash chain */
	TAILQ_ENTRY(rv_room) route_next; /* in rv_server.to_route */
	int route_pending;
	char name[COVE_ROOM_MAX + 1];
	uint8_t name_len;
	struct rv_member_list members;
	size_t nmembers, nkeyed;       /* nkeyed counts key holders not gone */
	uint64_t next_serial;
};

TAILQ_HEAD(rv_room_list, rv_room);

struct rv_rooms {
	struct rv_room **slots;
	size_t nslots, n;
	uint8_t key[16];               /* SipHash key: room names are chosen by peers */
};

struct rv_conn {
	TAILQ_ENTRY(rv_conn) next;
	struct rv_server *srv;
	struct bufferevent *bev;
	struct cove_sess *sess;
	uint64_t num;                  /* for logs */
	char addr[64];
	int authed;
	int closing;                   /* no more input; freed once flushed or timed out */
	uint8_t pk[COVE_ID_LEN];
	char name[COVE_NAME_MAX + 1];
	uint64_t last_seq;
	struct event *timer;           /* handshake deadline, then flush deadline */
	struct rv_member **rooms;
	size_t nrooms;
	/* log rate limit */
	uint64_t log_window_ms;
	unsigned log_count;
};

TAILQ_HEAD(rv_conn_list, rv_conn);

struct rv_server {
	struct event_base *base;
	struct evconnlistener *listener;
	struct cove_ident *id;
	struct cove_wl *wl;
	const char *wl_path;
	struct rv_conf conf;
	struct rv_conn_list conns;
	size_t nconns, nunauth;
	size_t nclosing;               /* of nconns, those closing */
	uint64_t next_conn;
	struct rv_rooms rooms;
	uint64_t seq;                  /* the relay's own frame counter */
	struct rv_stats stats;
	struct event *reaper;          /* frees connections marked for closing */
	struct rv_conn_list doomed;
	struct event *router;          /* re-routes joins of rooms in to_route */
	struct rv_room_list to_route;
	struct event *listen_retry;    /* re-enables accepting after EMFILE */
	/* a global budget for log lines about connections (token bucket) */
	double log_tokens;
	uint64_t log_refill_ms;
	uint64_t log_suppressed;
};

/* ---- server.c ---------------------------------------------------------- */

/* Starts listening on host:port (port 0 picks one). Fills bound with the
 * actual address as text. Returns 0 or -1 (logged). */
int rv_server_listen(struct rv_server *s, const char *host, uint16_t port, char *bound,
		     size_t bound_cap);

/* Initialises s around base, id (the relay's key) and wl. */
int rv_server_init(struct rv_server *s, struct event_base *base, struct cove_ident *id,
		   struct cove_wl *wl, const char *wl_path, const struct rv_conf *conf);

/* Closes every connection (each gets ERR SHUTDOWN) and frees everything. */
void rv_server_shutdown(struct rv_server *s);

/* Re-reads the whitelist. On failure keeps the old list and logs why.
 * Disconnects identities that are no longer on it. Returns 0 or -1. */
int rv_server_reload(struct rv_server *s);

/* Logs the counters at INFO level. */
void rv_server_log_stats(const struct rv_server *s);

/* Signs f (header filled by the caller except from/seq/ts) as the relay
 * and sends it to c. Returns 0 or a negative error (the connection is then
 * being closed). */
int rv_send_signed(struct rv_conn *c, struct cove_frame *f);

/* Forwards frame bytes as they are. Returns 0 or negative (closing). */
int rv_send_raw(struct rv_conn *c, const uint8_t *raw, size_t len);

/* Fills f's from, seq and ts as the relay's and signs it, for frames
 * that go to many connections as the same bytes. Returns 0 or negative. */
int rv_sign(struct rv_server *s, struct cove_frame *f);

/* Sends a signed ERR with code and text about the frame with seq ref. */
void rv_send_err(struct rv_conn *c, const char *room, uint32_t code, uint64_t ref,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Marks c for closing: reads stop at once; with flush, queued output is
 * written first (bounded by a deadline). The connection is freed from the
 * event loop, never inside the caller's stack, so callers may go on
 * iterating rooms. */
void rv_conn_close(struct rv_conn *c, int flush);

/* Logs a refusal about c, at most a few lines per connection per
 * ten seconds so that a hostile peer cannot flood the log. */
void rv_conn_log(struct rv_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs a line about a connection's life (accepted, authenticated, gone)
 * within a global budget, so that a flood of connections cannot flood
 * the log; lines over budget are counted and the count logged later. */
void rv_log_conn_event(struct rv_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "conn 7 alice" or "conn 7 127.0.0.1:4242" for log lines. */
const char *rv_conn_label(const struct rv_conn *c, char *buf, size_t cap);

/* ---- relay.c ----------------------------------------------------------- */

/* Handles one frame from an authenticated connection. err is the decoding
 * error, if any. Returns 0, or 1 when c is being closed. */
int rv_relay_frame(struct rv_conn *c, int err, const struct cove_frame *f, const uint8_t *raw,
		   size_t len);

/* Removes c from every room it is in (announcing BYE and re-routing
 * pending joins). */
void rv_relay_drop_conn(struct rv_conn *c);

/* c has started closing: from now on it holds no key and answers no
 * join, in every room it is in; joins waiting on it are re-routed from
 * the event loop. Changes no list, so callers may be iterating rooms. */
void rv_relay_conn_closing(struct rv_conn *c);

/* Re-routes the joins of every room queued by rv_relay_conn_closing(). */
void rv_relay_route_pending(struct rv_server *s);

/* ---- rooms.c ----------------------------------------------------------- */

int rv_rooms_init(struct rv_rooms *t);
void rv_rooms_free(struct rv_rooms *t);
struct rv_room *rv_rooms_find(struct rv_rooms *t, const char *name, size_t len);
/* Finds or creates; NULL when out of memory. */
struct rv_room *rv_rooms_get(struct rv_rooms *t, const char *name, size_t len);
/* Unlinks and frees an empty room (the caller takes it off to_route). */
void rv_rooms_remove(struct rv_rooms *t, struct rv_room *r);

#endif
