/*
 * conn.h - one connection to the rendezvous: the handshake through a
 * cove_sess, output caps, keepalive, orderly closing, and the log budget.
 *
 * A connection knows frames as bytes on its link only. What they mean is
 * the business of whoever the server chose (rv_server.cb, relay.c): a
 * connection hands each of its frames there, and says when it is
 * admitted, closing and gone. The rooms reach it through rv_conn_link.
 */
#ifndef COVE_RV_CONN_H
#define COVE_RV_CONN_H

#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "rendezvous/server.h"
#include "room/room.h"
#include "wire/frame.h"

struct rv_conn;

/* What a connection calls, on the loop, about itself. */
struct rv_conn_cb {
	/* c has proved its identity, which is on the whitelist: set up what
	 * its frames need. Returns 0, or negative (out of memory: c is
	 * closed). */
	int (*up)(struct rv_conn *c);
	/* One frame of c, once c is up (err: its decoding error, f then
	 * NULL). Returns 0, or 1 when c is being closed. */
	int (*frame)(struct rv_conn *c, int err, const struct cove_frame *f, const uint8_t *raw,
		     size_t len);
	/* Whether frames of c still wait to be acted on (then c has spoken
	 * and waits for the relay, and its input ends only once they are
	 * done: rv_conn_drained()). */
	int (*busy)(const struct rv_conn *c);
	/* Act on every frame c has waiting, now (a newer connection of its
	 * key takes over). */
	void (*finish)(struct rv_conn *c);
	/* c, once up, is closing: it reads no more; what it sent and was not
	 * acted on is dropped; it answers nothing in its rooms. */
	void (*closing)(struct rv_conn *c);
	/* c, once up and not closing, has written out all it was sent. */
	void (*output_low)(struct rv_conn *c);
	/* c, once up, is being freed: its members in its rooms are away. */
	void (*gone)(struct rv_conn *c);
};

/* The rooms' link to a connection (ctx: the struct rv_conn). */
extern const struct rm_link_ops rv_conn_link;

/* A new connection on fd, from the address text addr. NULL on failure
 * (fd is closed). */
struct rv_conn *rv_conn_new(struct rv_server *s, evutil_socket_t fd, const char *addr);

struct rv_server *rv_conn_server(const struct rv_conn *c);

/* The identity c proved (once up). */
const uint8_t *rv_conn_pk(const struct rv_conn *c);

/* The pointer of whoever c's frames are handed to (rv_conn_cb), NULL
 * until set. */
void *rv_conn_ctx(const struct rv_conn *c);
void rv_conn_set_ctx(struct rv_conn *c, void *ctx);

/* Whether c is closing: it sends and acts on nothing more. */
int rv_conn_closing(const struct rv_conn *c);

/* Marks c for closing: reads stop at once; with flush, queued output is
 * written first (bounded by a deadline). c leaves its rooms from the event
 * loop, never inside the caller's stack, so callers may go on iterating
 * rooms and connections. */
void rv_conn_close(struct rv_conn *c, int flush);

/* Sends an unsigned link frame (PING, PONG). Returns 0 or negative. */
int rv_conn_send_link(struct rv_conn *c, uint8_t type, uint64_t n);

/* Sends a signed ERR with code and text about the frame with seq ref. */
void rv_conn_send_err(struct rv_conn *c, const char *room, uint32_t code, uint64_t ref,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Stops reading c (paused), or reads it again: too many of its frames
 * wait for their turn. */
void rv_conn_pause(struct rv_conn *c, int paused);

/* Every frame of c has been acted on: if its input had ended meanwhile,
 * c closes now. */
void rv_conn_drained(struct rv_conn *c);

/* Logs a refusal about c, at most a few lines per connection per
 * ten seconds so that a hostile peer cannot flood the log. */
void rv_conn_log(struct rv_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "conn 7 alice" or "conn 7 127.0.0.1:4242" for log lines. */
const char *rv_conn_label(const struct rv_conn *c, char *buf, size_t cap);

/* Logs a line about a connection's life (accepted, authenticated, gone)
 * within a global budget, so that a flood of connections cannot flood
 * the log; lines over budget are counted and the count logged later. */
void rv_log_conn_event(struct rv_server *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Closes the oldest connection still in its handshake, if any. */
void rv_conn_evict_unauth(struct rv_server *s);

/* Keepalive, every third of conf.keepalive_ms: a connection silent for
 * keepalive_ms gets a PING; one silent for three times that is taken for
 * dead and closed. */
void rv_conn_sweep(struct rv_server *s);

/* The whitelist is now s->wl: connections whose key is no longer on it
 * are told (ERR revoked) and closed, leaving their rooms at once; the
 * others take their names from it. Returns how many were revoked. */
size_t rv_conn_revoke(struct rv_server *s);

/* Frees the connections marked for closing. */
void rv_conn_reap(struct rv_server *s);

/* Tells every node the relay stops (ERR shutdown) and frees every
 * connection. */
void rv_conn_shutdown_all(struct rv_server *s);

#endif
