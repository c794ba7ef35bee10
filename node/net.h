/*
 * net.h - a node's connection to the rendezvous: TCP through a libevent
 * bufferevent, the handshake and link through a cove_sess.
 */
#ifndef COVE_NODE_NET_H
#define COVE_NODE_NET_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "crypto/ident.h"
#include "verify/verify.h"
#include "wire/frame.h"

struct nd_net_cb {
	/* A frame arrived (raw: its encoding), in its turn; sig: what was
	 * found of the member signature it carries (COVE_CHAT_SIG_*, for
	 * cove_chat_frame_checked()). Return 0, or negative to close the
	 * link. */
	int (*frame)(void *ctx, const struct cove_frame *f, const uint8_t *raw, size_t len,
		     int sig);
	/* The link is gone. why says what happened and what to do, or is
	 * NULL after nd_net_finish() when the relay closed in good order.
	 * permanent: trying again would fail the same way (the server is not
	 * the pinned one, or speaks another version). */
	void (*down)(void *ctx, const char *why, int permanent);
	/* The relay proved its key and ours is on its way: frames may be
	 * sent now, ahead of the relay's WLC (see cove_sess_io.authed).
	 * Return 0, or negative to close the link. May be NULL. */
	int (*linked)(void *ctx);
	void *ctx;
};

struct nd_net;

/* Prepares a connection to host:port that accepts only relay_pk. With a
 * pool (made with nd_net_check), the member signatures of frames that
 * come fast (a catch-up) are checked on its workers while earlier frames
 * are handled, and every frame is handed to cb.frame in the order it
 * came; NULL: the core checks each. pool, id, relay_pk and host are
 * borrowed. NULL when out of memory. */
struct nd_net *nd_net_new(struct event_base *base, struct vf_pool *pool,
			  const struct cove_ident *id, const uint8_t relay_pk[COVE_ID_LEN],
			  const char *host, uint16_t port, const struct nd_net_cb *cb);

/* The check a node's pool makes (vf_check): of the frame a FWD carries,
 * by its author, or of a frame by its sender. */
int nd_net_check(const struct cove_frame *f);

/* The workers a node's pool has: one per CPU but one, at most
 * ND_VERIFY_THREADS_MAX; 0 on one CPU (threads would gain nothing: the
 * core checks). Below ND_VERIFY_INLINE checks a second, with the workers
 * idle, the loop checks itself (a live room). */
#define ND_VERIFY_THREADS_MAX 4
#define ND_VERIFY_INLINE 2000
unsigned nd_net_verify_threads(void);

/* Starts a node's pool on base, as vf_pool_new(): threads workers
 * (nd_net_verify_threads()) checking with nd_net_check, and a link's
 * frames waiting up to ND_VERIFY_PENDING_BYTES (some 1,900 stored
 * messages) before it stops reading: the relay reads a catch-up from its
 * store in batches as the link drains, and a short queue left the node
 * idle between them (docs/PERFORMANCE.md). */
#define ND_VERIFY_PENDING_MAX 4096
#define ND_VERIFY_PENDING_BYTES (1u << 20)
int nd_net_pool_new(struct vf_pool **out, struct event_base *base, unsigned threads,
		    struct vf_stats *stats);

/* Starts connecting (the name is resolved synchronously). Returns 0 or -1
 * after calling down(). */
int nd_net_connect(struct nd_net *n);

/* Sends a frame; matches cove_chat_deps.send. Returns 0, COVE_ERR_STATE (not
 * connected) or another negative cove_err. */
int nd_net_send(void *n, const struct cove_frame *f);

/* Bytes written by the node but not yet handed to the kernel. */
size_t nd_net_unsent(const struct nd_net *n);

/* Whether the link is up and authenticated. */
int nd_net_up(const struct nd_net *n);

/* Whether the link is gone for good (down() has been called). */
int nd_net_dead(const struct nd_net *n);

/* When a byte last arrived, and when we last sent one (ms, the clock of
 * cove_now_ms()). */
uint64_t nd_net_last_rx(const struct nd_net *n);
uint64_t nd_net_last_tx(const struct nd_net *n);

/* Sends a PING (keepalive). */
int nd_net_ping(struct nd_net *n, uint64_t token);

/* Gives the link up (no sign of life): calls down(why, 0). */
void nd_net_kill(struct nd_net *n, const char *why);

/* Ends the connection in good order: once everything queued is written,
 * shuts down the sending side and waits (frames still arrive) for the
 * relay to close, then calls down(NULL). If the relay has not closed
 * after ms, calls down(NULL) when the kernel has delivered every byte we
 * sent, and down() with the reason otherwise. */
void nd_net_finish(struct nd_net *n, unsigned ms);

/* Closes the connection (without calling down) and frees n. */
void nd_net_free(struct nd_net *n);

#endif
