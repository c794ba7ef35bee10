/*
 * sess.h - one end of a node <-> rendezvous connection, without sockets.
 *
 * A session runs the link handshake (docs/PROTOCOL.md, "Handshake") and
 * then the record layer: every frame after the handshake travels as
 * u32be length || ChaCha20-Poly1305(frame) with per-direction keys and
 * counters. The program moves bytes: it hands received bytes to
 * cove_sess_input() and gives the session an output sink; the session
 * calls back with each decoded frame.
 *
 *   client                                   server
 *     HELLO      [clear]  ------------------>
 *                <------------------  CHALLENGE  [clear]
 *                <------------------  SRV_AUTH   [record 0]
 *     CLI_AUTH   [record 0] -------------->      (authed callback)
 *                <------------------  WLC or ERR [record 1]  (sent by the program)
 *
 * Callbacks run inside cove_sess_input() and must not free the session.
 * A callback returns 0 to go on, a positive value to stop reading input
 * now (cove_sess_input() returns it), or a negative error.
 */
#ifndef COVE_PROTO_SESS_H
#define COVE_PROTO_SESS_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ident.h"
#include "wire/frame.h"

struct cove_sess_io {
	/* Returns a contiguous buffer of len bytes at the end of the output,
	 * to be filled and then committed, or NULL (out of memory, or the
	 * program refuses to queue more: the send fails with COVE_ERR_LIMIT). */
	uint8_t *(*reserve)(void *ctx, size_t len);
	void (*commit)(void *ctx, size_t len);
	/* A frame arrived on the established link. err is 0 and f the decoded
	 * frame, or err says why raw did not decode and f is NULL. raw is the
	 * frame's plaintext bytes, valid during the call. */
	int (*frame)(void *ctx, int err, const struct cove_frame *f, const uint8_t *raw,
		     size_t raw_len);
	/* The handshake is done and the link may carry frames. On a server:
	 * the client has proved it holds the key id, and the program answers
	 * by sending WLC or ERR. On a client: the server proved it is id (the
	 * pinned key) and our CLI_AUTH is queued; frames sent now follow it,
	 * and the server acts on them once it has accepted us (so a client
	 * need not wait a round trip for WLC). May be NULL. */
	int (*authed)(void *ctx, const uint8_t id[COVE_ID_LEN]);
	void *ctx;
};

struct cove_sess;

/* A client session that will accept only server_pk. Both keys are copied
 * by reference: id must outlive the session. NULL when out of memory. */
struct cove_sess *cove_sess_new_client(const struct cove_ident *id,
				       const uint8_t server_pk[COVE_ID_LEN],
				       const struct cove_sess_io *io);

/* A server session signing with id (which must outlive it). */
struct cove_sess *cove_sess_new_server(const struct cove_ident *id,
				       const struct cove_sess_io *io);

/* Wipes the session's keys and frees it. NULL is a no-op. */
void cove_sess_free(struct cove_sess *s);

/* Client: sends HELLO. Returns 0 or a negative error. */
int cove_sess_start(struct cove_sess *s);

/* Feeds bytes received from the peer. Returns 0 when all were consumed, a
 * callback's positive stop value (the bytes after that frame are dropped:
 * the program is closing the connection), or a negative error after which
 * the session reads no more and the connection must be closed (an
 * established session may still send, e.g. an ERR saying why):
 * COVE_ERR_DECRYPT (a record failed authentication), COVE_ERR_FRAME_SIZE,
 * COVE_ERR_STATE (a message the handshake does not allow), COVE_ERR_PEER_KEY
 * (the server is not the pinned key), COVE_ERR_SIGNATURE (a handshake
 * signature), COVE_ERR_VERSION (the server speaks another version; see
 * cove_sess_peer_version()), a frame decoding error during the handshake,
 * or an error a callback returned. */
int cove_sess_input(struct cove_sess *s, const uint8_t *data, size_t len);

/* Sends a frame on the established link. Returns 0, COVE_ERR_STATE (not
 * established), COVE_ERR_INVAL (f does not encode), COVE_ERR_LIMIT (the
 * sink refused, or the record counter is exhausted). */
int cove_sess_send(struct cove_sess *s, const struct cove_frame *f);

/* Sends already-encoded frame bytes (e.g. forwarding), len <= COVE_FRAME_MAX. */
int cove_sess_send_raw(struct cove_sess *s, const uint8_t *frame, size_t len);

/* Whether the handshake has completed (client: after CLI_AUTH is sent;
 * server: after CLI_AUTH verified). */
int cove_sess_established(const struct cove_sess *s);

/* The peer's identity once proven, else NULL. Owned by s. */
const uint8_t *cove_sess_peer(const struct cove_sess *s);

/* After COVE_ERR_VERSION: the version the peer speaks (on a client, the
 * server's; on a server, the one the client's HELLO declared). */
unsigned cove_sess_peer_version(const struct cove_sess *s);

/* Records sent and received on the link so far. */
uint64_t cove_sess_records_out(const struct cove_sess *s);
uint64_t cove_sess_records_in(const struct cove_sess *s);

#endif
