/*
 * server.h - the rendezvous as a whole: its options, its counters, and
 * the state its modules share, which server.c owns:
 *
 *   server.c   the listener, accepting, whitelist reloads, counters; makes
 *              the rooms (room/), the verify pool and the connections'
 *              callbacks, and frees them
 *   relay.c    the checks every INI, KEY, DAT, RDY, RKY and BYE must pass,
 *              the rate limit, and handing good frames to the rooms
 *   conn.c     one connection: handshake, output caps, keepalive, orderly
 *              closing, the log budget; the rooms' link to it
 *   sign.c     the relay's own signed frames
 *   evtimer.c  the rooms' timers on the loop
 *   run.c      options, keys, signals: rv_main() (run.h)
 *
 * Signature checks run on the verification pool (verify/verify.h, shared
 * with cove-node), which hands each connection's frames back in the order
 * they arrived. Everything else runs on one libevent loop, so nothing here
 * is locked, except that pool (verify.h says which thread touches what).
 */
#ifndef COVE_RV_SERVER_H
#define COVE_RV_SERVER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "crypto/ident.h"
#include "crypto/whitelist.h"
#include "rendezvous/sign.h"
#include "verify/verify.h"
#include "room/room.h"

struct event;
struct event_base;
struct evconnlistener;
struct rv_conn;
struct rv_conn_cb;

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
	unsigned keepalive_ms;    /* PING after this much silence; close after 3x */
	unsigned rate;            /* DATs per second per connection */
	unsigned burst;           /* DATs a connection may send at once */
	unsigned verify_threads;  /* signature checks on this many threads; 0: on the loop */
	unsigned verify_inline;   /* below this many checks a second, the loop makes them */
	uint64_t member_expiry_ms; /* a member away this long is removed */
	struct cove_store *store; /* where rooms are kept (borrowed); NULL: nowhere */
	rv_tamper_fn tamper;      /* a test hook; NULL in the relay that ships */
};

#define RV_DEFAULT_MAX_CONNS 16384
#define RV_DEFAULT_MAX_UNAUTH 1024
#define RV_DEFAULT_MAX_QUEUE (16u << 20)
#define RV_DEFAULT_MAX_ROOMS 64
#define RV_DEFAULT_AUTH_TIMEOUT_MS 10000
#define RV_DEFAULT_JOIN_TIMEOUT_MS 3000
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

/* Log lines about connections coming and going, all together: a burst of
 * this many, refilled at this rate per second. */
#define RV_LOG_GLOBAL_BURST 50.0
#define RV_LOG_GLOBAL_RATE 20.0

struct rv_stats {
	uint64_t conns_accepted, conns_refused, auth_ok, auth_refused, auth_failed,
		auth_timeouts, slow_readers, dead_peers, replaced, evicted;
	uint64_t frames_in;
	uint64_t refused[16]; /* by ERR code */
	struct rm_stats room;          /* joins, rekeys, ..., frames forwarded */
	struct vf_stats verify; /* signature checks, pending frames */
};

TAILQ_HEAD(rv_conn_list, rv_conn);

struct rv_server {
	struct event_base *base;
	struct evconnlistener *listener;
	struct cove_ident *id;
	struct cove_wl *wl;
	const char *wl_path;
	struct rv_conf conf;
	struct rv_signer signer;       /* the relay's own frames */
	struct rm_hub *hub;            /* the rooms */
	struct vf_pool *pool;          /* signature checks; NULL: on the loop */
	const struct rv_conn_cb *cb;   /* what a connection's frames are handed to */
	struct rv_conn_list conns;
	size_t nconns, nunauth;
	size_t nclosing;               /* of nconns, those closing */
	uint64_t next_conn;
	struct rv_stats stats;
	struct event *reaper;          /* frees connections marked for closing */
	struct rv_conn_list doomed;
	struct event *listen_retry;    /* re-enables accepting after EMFILE */
	struct event *sweep;           /* keepalive */
	/* a global budget for log lines about connections (token bucket) */
	double log_tokens;
	uint64_t log_refill_ms;
	uint64_t log_suppressed;
};

/* Initialises s around base, id (the relay's key) and wl, and loads the
 * rooms of conf->store. Returns 0, COVE_ERR_NOMEM, or
 * COVE_ERR_STORE_FORMAT (the store's rooms do not load: it is damaged). */
int rv_server_init(struct rv_server *s, struct event_base *base, struct cove_ident *id,
		   struct cove_wl *wl, const char *wl_path, const struct rv_conf *conf);

/* Starts conf.verify_threads signature workers (none for 0: every check
 * then runs on the loop). Returns 0 or a negative errno value. */
int rv_server_verify(struct rv_server *s);

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

#endif
