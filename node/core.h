/*
 * core.h - a node's chat core: rooms, group keys, members and messages,
 * with neither sockets nor a terminal.
 *
 * The core takes decoded frames from the link (nd_core_frame) and text
 * from the user (nd_core_send_text), and gives back frames to send
 * (through nd_core_deps.send) and events for the user (nd_ui). It trusts
 * the relay for nothing but delivery: every identity is checked against
 * the node's own whitelist and every frame's signature verified.
 */
#ifndef COVE_NODE_CORE_H
#define COVE_NODE_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ident.h"
#include "crypto/whitelist.h"
#include "wire/frame.h"

/* Messages the user may send before a room is ready (or while the link
 * is down); one more is refused with an error. */
#define ND_QUEUE_MAX 1000

/* A DAT stamped more than this before we joined its room is taken for
 * an old message replayed, and dropped; the slack allows for clocks that
 * disagree. */
#define ND_STALE_MS (120u * 1000)

/* What the core tells the user. Every callback is optional. */
struct nd_ui {
	/* The node is authenticated to the relay. */
	void (*connected)(void *ctx);
	/* The node holds the room's key. members: names of those present. */
	void (*ready)(void *ctx, const char *room, int first, const char *const *members,
		      size_t nmembers);
	void (*message)(void *ctx, const char *room, const char *from, const char *text,
			size_t len, uint64_t ts_ms);
	void (*joined)(void *ctx, const char *room, const char *name);
	void (*left)(void *ctx, const char *room, const char *name);
	/* Something went wrong. room may be NULL; code is a stable snake_case
	 * word (not_whitelisted, bad_signature, replay, ...); msg says what
	 * happened and what to do. fatal: the node cannot go on. */
	void (*error)(void *ctx, const char *room, const char *code, const char *msg, int fatal);
	void *ctx;
};

struct nd_core_deps {
	/* Sends a frame to the relay. Returns 0 or a negative cove_err. */
	int (*send)(void *ctx, const struct cove_frame *f);
	void *send_ctx;
	uint64_t (*now_ms)(void);   /* wall clock, for timestamps */
	uint64_t (*now_us)(void);   /* where sequence numbers start */
};

struct nd_core;

/* id, wl, relay_pk, ui and deps are borrowed and must outlive the core.
 * Returns NULL when out of memory. */
struct nd_core *nd_core_new(const struct cove_ident *id, const struct cove_wl *wl,
			    const uint8_t relay_pk[COVE_ID_LEN], const struct nd_ui *ui,
			    const struct nd_core_deps *deps);
void nd_core_free(struct nd_core *c);

/* Adds a room to join once connected. Returns 0, COVE_ERR_INVAL (bad
 * name), COVE_ERR_EXISTS or COVE_ERR_NOMEM. */
int nd_core_add_room(struct nd_core *c, const char *room);

/* Handles one frame from the relay. Returns 0, or a negative cove_err
 * when the node cannot go on (the ui's error callback has said why). */
int nd_core_frame(struct nd_core *c, const struct cove_frame *f);

/* Sends text to room (NULL: the first room), or queues it until the room
 * is ready. Returns 0; COVE_ERR_NOTFOUND (no such room), COVE_ERR_INVAL
 * (empty or longer than COVE_TEXT_MAX), COVE_ERR_UTF8, COVE_ERR_LIMIT
 * (queue full) or the send error. */
int nd_core_send_text(struct nd_core *c, const char *room, const char *text, size_t len);

/* Messages queued and not yet sent. */
size_t nd_core_queued(const struct nd_core *c);

/* Whether every room is ready or has failed (nothing left to wait for). */
int nd_core_settled(const struct nd_core *c);

/* Rooms that are ready. */
size_t nd_core_ready_count(const struct nd_core *c);

/* The rooms, in the order they were added. */
size_t nd_core_room_count(const struct nd_core *c);
const char *nd_core_room_name(const struct nd_core *c, size_t i);

/* Calls fn for each member present in room (self included, flagged). */
int nd_core_who(const struct nd_core *c, const char *room,
		void (*fn)(void *arg, const char *name, const uint8_t pk[COVE_ID_LEN], int self),
		void *arg);

#endif
