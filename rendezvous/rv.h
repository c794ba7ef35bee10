/*
 * rv.h - the rendezvous's internal contract between its modules:
 *
 *   server.c   the listener, accepting, whitelist reloads, keepalive, stats
 *   conn.c     one connection: handshake glue, output caps, orderly closing,
 *              the log budget
 *   relay.c    the checks every INI, KEY, DAT, RDY, RKY and BYE must pass,
 *              the rate limit, DAT fan-out
 *   room.c     membership: joins, who holds which epoch, rekeying, grace
 *   rooms.c    the room table (a hash map keyed with SipHash)
 *   verify.c   signature checks on worker threads; each connection's
 *              frames acted on in the order they arrived
 *   run.c      options, keys, signals: rv_main() (run.h)
 *   main.c     main(), which only calls rv_main()
 *
 * Everything runs on one libevent loop, so nothing here is locked, except
 * the verification pool of verify.c: its section below says which thread
 * touches what.
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

/* What a tamper hook wants done with a DAT. */
enum rv_tamper {
	RV_TAMPER_PASS,     /* go on with the frame as it came */
	RV_TAMPER_REPLACE,  /* go on with the bytes the hook gave instead */
	RV_TAMPER_DROP,     /* lose the frame, as a faulty relay would */
};

/* A test hook, so that tests can show what nodes do with frames a relay
 * altered or lost (tests/tools/tamper.c builds build/tests/
 * cove-rendezvous-tamper from the relay's own objects with one). It sees
 * the bytes of each DAT, on the event loop, before the relay acts on
 * them; for RV_TAMPER_REPLACE it points *out at bytes it owns, valid
 * until its next call, and sets *out_len. */
typedef enum rv_tamper (*rv_tamper_fn)(const uint8_t *raw, size_t len, const uint8_t **out,
				       size_t *out_len);

struct rv_conf {
	size_t max_conns;         /* connections at once */
	size_t max_unauth;        /* connections still in the handshake */
	size_t max_queue;         /* output bytes queued for one connection */
	size_t max_rooms;         /* rooms one connection may join */
	unsigned auth_timeout_ms; /* time allowed for the handshake */
	unsigned join_timeout_ms; /* time a member has to answer an ASK or a REK */
	unsigned grace_ms;        /* a lost member stays this long before it is gone */
	unsigned keepalive_ms;    /* PING after this much silence; close after 3x */
	unsigned rate;            /* DATs per second per connection */
	unsigned burst;           /* DATs a connection may send at once */
	unsigned verify_threads;  /* signature checks on this many threads; 0: on the loop */
	unsigned verify_inline;   /* below this many checks a second, the loop makes them */
	rv_tamper_fn tamper;      /* a test hook; NULL in the relay that ships */
};

#define RV_DEFAULT_MAX_CONNS 16384
#define RV_DEFAULT_MAX_UNAUTH 1024
#define RV_DEFAULT_MAX_QUEUE (16u << 20)
#define RV_DEFAULT_MAX_ROOMS 64
#define RV_DEFAULT_AUTH_TIMEOUT_MS 10000
#define RV_DEFAULT_JOIN_TIMEOUT_MS 3000
#define RV_DEFAULT_GRACE_MS 10000
#define RV_DEFAULT_KEEPALIVE_MS 15000
#define RV_DEFAULT_RATE 50
#define RV_DEFAULT_BURST 200
/* --verify-threads: at most this many; by default one per online CPU but
 * one, at most RV_VERIFY_THREADS_AUTO. */
#define RV_VERIFY_THREADS_MAX 64
#define RV_VERIFY_THREADS_AUTO 16
/* --verify-inline: under this many checks a second (10% of a core at
 * ~50 us each), with the workers idle, the loop checks signatures itself,
 * which spares each frame two thread wake-ups at light load. */
#define RV_DEFAULT_VERIFY_INLINE 2000
#define RV_VERIFY_INLINE_MAX 100000
/* A connection with more frames, or bytes of frames, than this waiting
 * for their turn is not read until fewer than half are left. The bytes
 * also bound how much of one sender is acted on at once when its checks
 * come back together: a burst that a reader's --max-queue must absorb. */
#define RV_PENDING_MAX 256
#define RV_PENDING_BYTES_MAX (64u << 10)

/* Log lines about connections coming and going, all together: a burst of
 * this many, refilled at this rate per second. */
#define RV_LOG_GLOBAL_BURST 50.0
#define RV_LOG_GLOBAL_RATE 20.0

struct rv_stats {
	uint64_t conns_accepted, conns_refused, auth_ok, auth_refused, auth_failed,
		auth_timeouts, slow_readers, dead_peers, replaced, evicted;
	uint64_t frames_in, frames_forwarded, deliveries;
	uint64_t refused[16]; /* by ERR code */
	uint64_t joins, firsts, asks, ask_timeouts, join_failures;
	uint64_t rekeys, rekey_timeouts, leaves, graces_expired, rejoins;
	uint64_t verified_workers, verified_loop; /* signature checks, by where */
	uint64_t pauses;               /* connections no longer read: too much pending */
	size_t pending_max;            /* most frames one connection had waiting */
};

struct rv_room;
struct rv_conn;
struct rv_pool;

/* What was decided about a frame before it is acted on. */
enum { RV_RATE_UNCHECKED = 0, RV_RATE_TAKEN, RV_RATE_OVER };
enum { RV_SIG_UNCHECKED = 0, RV_SIG_GOOD, RV_SIG_BAD };
struct rv_verdict {
	int rate;                      /* a DAT's rate check, made when it arrived */
	int sig;                       /* the signature check, when it was made */
};

/* A frame waiting for its turn (verify.c). */
struct rv_job {
	STAILQ_ENTRY(rv_job) pool_next; /* in the pool's queue or done list */
	TAILQ_ENTRY(rv_job) conn_next; /* in its connection's pending FIFO */
	struct rv_conn *conn;          /* NULL once the connection has gone */
	int in_pool;                   /* handed to the pool, not back yet */
	int cancelled;                 /* under the pool's lock: not worth a check */
	int err;                       /* the frame's decoding error, or 0 */
	struct rv_verdict v;
	struct cove_frame f;           /* decoded; what it borrows points into raw */
	size_t len;
	uint8_t raw[];                 /* a copy of the frame's bytes */
};

TAILQ_HEAD(rv_job_list, rv_job);

/* How a connection's input ended while frames of it were pending. */
enum { RV_END_NONE = 0, RV_END_GONE, RV_END_BAD_RECORD };

/* One identity's place in one room. */
struct rv_member {
	TAILQ_ENTRY(rv_member) next;   /* room's members, in join order */
	struct rv_room *room;
	struct rv_conn *conn;          /* NULL while away (lost, in its grace period) */
	uint8_t pk[COVE_ID_LEN];
	uint64_t serial;               /* join order within the room */
	uint8_t xpk[COVE_WXPK_LEN];    /* session key from its INI */
	uint8_t old_xpk[COVE_WXPK_LEN]; /* the one its latest INI replaced, for KEYs in flight */
	int has_old_xpk;
	uint64_t refreshed_ms;         /* when it joined or last replaced its session key */
	uint64_t last_rky_ms;          /* when its last RKY was acted on */
	uint8_t *ini;                  /* its signed INI, replayed to later joiners */
	size_t ini_len;
	int keyed;                     /* holds a key of the room, as far as we know */
	int epoch_known;
	uint32_t epoch;                /* the epoch it confirmed last (RDY) */
	int key_sent;                  /* a KEY went to it: it gets DATs from then on */
	int gone;                      /* closing or away: it counts for nothing */
	/* while it needs the key (joining, or behind after a rekey) */
	struct rv_member *asked;       /* member expected to send it, or NULL */
	struct event *ask_timer;
	uint64_t *tried;               /* serials of members that did not */
	size_t ntried;
	int stuck;                     /* every candidate failed it */
	struct event *grace_timer;     /* while away */
};

TAILQ_HEAD(rv_member_list, rv_member);

struct rv_room {
	struct rv_room *hnext;         /* hash chain */
	TAILQ_ENTRY(rv_room) route_next; /* in rv_server.to_route */
	int route_pending;
	struct rv_server *srv;
	char name[COVE_ROOM_MAX + 1];
	uint8_t name_len;
	struct rv_member_list members;
	size_t nmembers;
	uint64_t next_serial;
	int epoch_known;               /* the room's current epoch, once confirmed */
	uint32_t epoch;
	uint32_t epoch_top;            /* the highest epoch ever named or confirmed */
	/* rekeying: a member was named (REK) to make rekey_epoch */
	struct rv_member *rekeyer;
	uint32_t rekey_epoch;
	struct event *rekey_timer;
	int rekey_wanted;              /* someone left: rekey once possible */
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
	int no_grace;                  /* leaves its rooms at once (revoked, kicked) */
	uint8_t pk[COVE_ID_LEN];
	char name[COVE_NAME_MAX + 1];
	uint64_t last_seq;
	struct event *timer;           /* handshake deadline, then flush deadline */
	struct rv_member **rooms;
	size_t nrooms;
	/* keepalive: a sign of life is a byte read from the peer (nodes PING
	 * on their own when they have sent nothing for a while, so a node busy
	 * with a backlog still shows it is alive) */
	uint64_t last_rx_ms, last_ping_ms;
	/* rate-limit refusals are logged once per window */
	uint64_t rate_log_ms;
	/* rate limit on DATs (token bucket) */
	double tokens;
	uint64_t tokens_ms;
	/* log rate limit */
	uint64_t log_window_ms;
	unsigned log_count;
	/* frames waiting to be acted on, in the order they arrived (verify.c) */
	struct rv_job_list pending;
	size_t npending, pending_bytes;
	int paused;                    /* not read: too many frames pending */
	int input_end;                 /* RV_END_*: closes once pending is done */
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
	struct event *sweep;           /* keepalive */
	struct rv_pool *pool;          /* signature checks; NULL: on the loop */
	size_t npending, npaused;      /* frames pending; connections paused */
	/* a global budget for log lines about connections (token bucket) */
	double log_tokens;
	uint64_t log_refill_ms;
	uint64_t log_suppressed;
};

/* ---- server.c ---------------------------------------------------------- */

/* Initialises s around base, id (the relay's key) and wl. */
int rv_server_init(struct rv_server *s, struct event_base *base, struct cove_ident *id,
		   struct cove_wl *wl, const char *wl_path, const struct rv_conf *conf);

/* Starts listening on host:port (port 0 picks one). Fills bound with the
 * actual address as text. Returns 0 or -1 (logged). */
int rv_server_listen(struct rv_server *s, const char *host, uint16_t port, char *bound,
		     size_t bound_cap);

/* Closes every connection (each gets ERR SHUTDOWN) and frees everything. */
void rv_server_shutdown(struct rv_server *s);

/* Re-reads the whitelist. On failure keeps the old list and logs why.
 * Disconnects identities that are no longer on it. Returns 0 or -1. */
int rv_server_reload(struct rv_server *s);

/* Logs the counters at INFO level. */
void rv_server_log_stats(const struct rv_server *s);

/* ---- conn.c ------------------------------------------------------------ */

/* A new connection on fd, from the address text addr. NULL on failure
 * (fd is closed). */
struct rv_conn *rv_conn_new(struct rv_server *s, evutil_socket_t fd, const char *addr);

/* Fills f's from, seq and ts as the relay's and signs it, for frames
 * that go to many connections as the same bytes. Returns 0 or negative. */
int rv_sign(struct rv_server *s, struct cove_frame *f);

/* Signs f (header filled by the caller except from/seq/ts) as the relay
 * and sends it to c. Returns 0 or a negative error (c is then being
 * closed or refused the bytes). */
int rv_send_signed(struct rv_conn *c, struct cove_frame *f);

/* Forwards frame bytes as they are. Returns 0 or negative. */
int rv_send_raw(struct rv_conn *c, const uint8_t *raw, size_t len);

/* Sends an unsigned link frame (PING, PONG). */
int rv_send_link(struct rv_conn *c, uint8_t type, uint64_t n);

/* Sends a signed ERR with code and text about the frame with seq ref. */
void rv_send_err(struct rv_conn *c, const char *room, uint32_t code, uint64_t ref,
		 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Marks c for closing: reads stop at once; with flush, queued output is
 * written first (bounded by a deadline). c leaves its rooms from the event
 * loop, never inside the caller's stack, so callers may go on iterating
 * rooms and connections. */
void rv_conn_close(struct rv_conn *c, int flush);

/* Logs a refusal about c, at most a few lines per connection per
 * ten seconds so that a hostile peer cannot flood the log. */
void rv_conn_log(struct rv_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs a line about a connection's life (accepted, authenticated, gone)
 * within a global budget, so that a flood of connections cannot flood
 * the log; lines over budget are counted and the count logged later. */
void rv_log_conn_event(struct rv_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* The peer's input has ended: it closed the connection (RV_END_GONE), or
 * sent a record too big to frame (RV_END_BAD_RECORD: it is told so). The
 * frames it sent before are still acted on, in order; then c is closed. */
void rv_conn_end_input(struct rv_conn *c, int how);

/* "conn 7 alice" or "conn 7 127.0.0.1:4242" for log lines. */
const char *rv_conn_label(const struct rv_conn *c, char *buf, size_t cap);

/* Frees the connections marked for closing. */
void rv_conn_reap(struct rv_server *s);

/* Tells every node the relay stops (ERR shutdown) and frees every
 * connection. */
void rv_conn_shutdown_all(struct rv_server *s);

/* ---- relay.c ----------------------------------------------------------- */

/* Handles one frame from an authenticated connection. err is the decoding
 * error, if any (f is then NULL). Acts on it at once when nothing of c is
 * pending and it needs no signature check, or one the loop had better make
 * itself (rv_verify_inline); otherwise queues a copy behind c's pending
 * frames (verify.c). Returns 0, or 1 when c is being closed. */
int rv_relay_frame(struct rv_conn *c, int err, const struct cove_frame *f, const uint8_t *raw,
		   size_t len);

/* The checks of PROTOCOL.md 5 a frame can be given when it arrives, with
 * the state of that moment: whether a signature check is worth paying
 * for. Takes a DAT's rate token (v->rate says whether it got one).
 * Returns 1 when the frame's signature is to be checked, else 0 (a link
 * frame, or one that is going to be refused). */
int rv_relay_precheck(struct rv_conn *c, int err, const struct cove_frame *f,
		      struct rv_verdict *v);

/* Acts on a frame in its turn: every check again, in PROTOCOL.md's order,
 * with the state of now, except the rate (v->rate, from the arrival) and
 * the signature (v->sig; checked here when RV_SIG_UNCHECKED); then a
 * refusal, or what the frame means. Returns 0, or 1 when c is closing. */
int rv_relay_act(struct rv_conn *c, int err, const struct cove_frame *f, const uint8_t *raw,
		 size_t len, const struct rv_verdict *v);

/* ---- verify.c ------------------------------------------------------------
 *
 * The verification pool: Ed25519 checks, the relay's most costly step,
 * run on --verify-threads worker threads, while every decision stays on
 * the loop.
 *
 * Who owns what:
 *   - The loop thread owns every connection, room and counter, and every
 *     job outside the pool: it creates jobs, links them into their
 *     connection's FIFO (c->pending) and frees them. Only the loop reads
 *     or writes a job's conn, in_pool, conn_next, err, v.rate and raw.
 *   - A job in the pool (in_pool set, from rv_verify_queue() until the
 *     loop takes it off the done list) is the worker's only for reading
 *     its f (and the bytes f points into, in raw) and writing v.sig. A
 *     worker touches nothing else: no connection, room, counter, libevent
 *     or log; it checks the signature, a pure function of the job.
 *   - The pool's queue and done list, its stop flag and each job's
 *     cancelled flag are under its mutex; workers wait on its condition variable for jobs. A worker
 *     that makes the done list non-empty writes one byte to a pipe, whose
 *     read end wakes the loop (a libevent event); the loop empties the
 *     pipe, then takes the whole done list at once, and acts on each
 *     connection's FIFO from its head while the head is back.
 *   - A connection that closes drops its pending frames: jobs back from
 *     the pool are freed at once; those still in it get conn = NULL and
 *     cancelled (a worker that has not started on one skips its check)
 *     and are freed by the loop when they come back.
 */

/* The signature check itself: RV_SIG_GOOD or RV_SIG_BAD. A pure
 * function of f, safe on any thread. */
int rv_verify_sig(const struct cove_frame *f);

/* Starts s->conf.verify_threads workers (none for 0: every check then
 * runs on the loop). Returns 0 or a negative errno value. */
int rv_verify_start(struct rv_server *s);

/* Stops and joins the workers and frees every job left. Call after every
 * connection is gone (rv_conn_shutdown_all). No-op without a pool. */
void rv_verify_stop(struct rv_server *s);

/* Whether the next signature check had better run on the loop: the
 * workers are idle and fewer than conf.verify_inline checks a second were
 * asked for lately. Counts the check as asked for. Needs a pool. */
int rv_verify_inline(struct rv_server *s);

/* Queues a copy of a frame at the tail of c's FIFO, and in the pool when
 * verify is set (otherwise it is ready to be acted on in its turn). Stops
 * reading c above RV_PENDING_MAX pending frames. Returns 0, or 1 when c
 * is being closed (out of memory). */
int rv_verify_queue(struct rv_conn *c, int err, const struct cove_frame *f, const uint8_t *raw,
		    size_t len, const struct rv_verdict *v, int verify);

/* Drops every frame c has pending (c is closing or being freed). */
void rv_verify_drop(struct rv_conn *c);

/* Acts on every frame c has pending, in order, now: those still with a
 * worker are checked on the loop (c is about to be closed, and what it
 * sent before must not be lost, e.g. when a newer connection of the same
 * key takes over). Stops early if c closes. */
void rv_verify_finish(struct rv_conn *c);

/* ---- room.c ------------------------------------------------------------ */

/* The member of c in r, or NULL. */
struct rv_member *rv_room_member(const struct rv_conn *c, const struct rv_room *r);

/* c joins r (created if needed) with its checked INI. Returns 0, or a
 * COVE_EC_* code to refuse it with. */
int rv_room_join(struct rv_conn *c, const char *room, size_t room_len, const uint8_t *xpk,
		 const uint8_t *ini, size_t ini_len);

/* m leaves its room at once: the others get bye (the member's own signed
 * BYE) or, when bye is NULL, a BYE signed by the relay; the room is
 * rekeyed. */
void rv_room_leave(struct rv_member *m, const uint8_t *bye, size_t bye_len);

/* Handles a checked RDY, RKY or KEY; returns 0 or a COVE_EC_* code to
 * refuse it with (text written to why). */
int rv_room_rdy(struct rv_member *m, uint32_t epoch, char *why, size_t cap);
int rv_room_rky(struct rv_member *m, uint32_t epoch);
int rv_room_key(struct rv_member *k, const struct cove_frame *f, const uint8_t *raw,
		size_t len, char *why, size_t cap);

/* Sends raw to every live member of r but skip; with keyed_only, only to
 * those who hold the key or were sent one. Returns deliveries. */
size_t rv_room_broadcast(struct rv_room *r, const struct rv_member *skip, const uint8_t *raw,
			 size_t len, int keyed_only);

/* c has started closing: it holds no key and answers nothing from now on
 * in every room; re-routing happens from the event loop. */
void rv_room_conn_closing(struct rv_conn *c);

/* c is being freed: its members leave (no_grace) or stay away for the
 * grace period, and the rooms are told. */
void rv_room_conn_gone(struct rv_conn *c);

/* Re-routes the joins of every room queued by the two above. */
void rv_room_route_pending(struct rv_server *s);

/* Frees every room and member (shutdown). */
void rv_room_free_all(struct rv_server *s);

/* ---- rooms.c ----------------------------------------------------------- */

int rv_rooms_init(struct rv_rooms *t);
void rv_rooms_free(struct rv_rooms *t);
struct rv_room *rv_rooms_find(struct rv_rooms *t, const char *name, size_t len);
/* Finds or creates; NULL when out of memory. */
struct rv_room *rv_rooms_get(struct rv_rooms *t, const char *name, size_t len);
/* Unlinks and frees an empty room (the caller takes it off to_route). */
void rv_rooms_remove(struct rv_rooms *t, struct rv_room *r);
/* Calls fn on every room. fn must not add or remove rooms. */
void rv_rooms_each(struct rv_rooms *t, void (*fn)(struct rv_room *r, void *arg), void *arg);

#endif
