/*
 * keep.h - what cove-node keeps across restarts: its history file
 * (hist/hist.h) seen from the node. It gives the chat core its
 * persistence table (chat/chat.h, struct cove_chat_persist), commits what
 * was written in batches from the event loop (ND_KEEP_BATCH_MS), pages
 * back through a room's messages for the front-ends, and remembers when
 * the user last had each room open.
 *
 * With no file (--history none) every call is valid and keeps nothing:
 * the table's callbacks say "not kept before", pages are empty.
 *
 * Nothing here prints: errors are returned, and those found while the
 * node runs (a full disk) go to the warn callback, once per kind.
 */
#ifndef COVE_NODE_KEEP_H
#define COVE_NODE_KEEP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "chat/chat.h"
#include "crypto/ident.h"

/* Messages shown per room at start, and by default per /history. */
#define ND_KEEP_START_SHOW 20u
/* While a room is open its last-seen time is written at most this often. */
#define ND_KEEP_SEEN_EVERY_MS 60000u
/* Messages shown, and the room's place (cursor) that goes with them, are
 * committed at most ND_KEEP_BATCH_MS after the first of them, or at the
 * end of the loop turn that makes ND_KEEP_BATCH of them; every other
 * write (state, secrets) at the end of its loop turn, with them. */
#define ND_KEEP_BATCH_MS 50u
#define ND_KEEP_BATCH 512u

struct nd_keep;

/* One message kept, as a front-end shows it. Lent for the call. */
struct nd_keep_msg {
	const uint8_t *from;        /* COVE_PK_LEN bytes */
	const char *text;
	size_t len;
	uint64_t ts_ms;
};
typedef void (*nd_keep_msg_fn)(void *arg, const struct nd_keep_msg *m);

/* Opens the history file at path for id (NULL: keep nothing), making its
 * folder (mode 0700) when missing; the file is made mode 0600. base runs
 * the flush once per loop turn. warn (may be NULL) is told, with ctx, of
 * errors found later. id and base are borrowed and must outlive *out.
 * Returns 0, or what cove_hist_open() returned (nothing is written to a
 * file refused; nd_keep_strerror() says what to do). */
int nd_keep_open(struct nd_keep **out, struct event_base *base, const char *path,
		 const struct cove_ident *id,
		 void (*warn)(void *ctx, const char *msg), void *ctx);

/* Writes into buf (cap bytes) one line saying why path could not be
 * opened (err from nd_keep_open) and what to do; returns buf. */
const char *nd_keep_strerror(char *buf, size_t cap, int err, const char *path);

/* Marks every room seen now, commits and closes; NULL is a no-op. */
void nd_keep_close(struct nd_keep *k, uint64_t now_ms);

/* Whether a file is kept at all. */
int nd_keep_on(const struct nd_keep *k);

/* Names room (NUL-terminated, kept by the caller for k's life) as one of
 * the node's, reading when it was last seen. Returns 0, COVE_ERR_NOMEM or
 * a store error. */
int nd_keep_room(struct nd_keep *k, const char *room);

/* The table for cove_chat_deps.persist; it borrows k. */
struct cove_chat_persist nd_keep_persist(struct nd_keep *k);

/* Sets *n to how many messages of room were stored after the user last
 * had it open (as read at start). Returns 0, COVE_ERR_NOTFOUND (never
 * seen: nothing to count from) or a store error. */
int nd_keep_new_since(struct nd_keep *k, const char *room, uint64_t *n);

/* Calls fn, oldest first, for at most limit messages of room older than
 * those shown by the calls before (the first call: the newest). Sets
 * *count to how many. Returns 0 or a store error. */
int nd_keep_older(struct nd_keep *k, const char *room, unsigned limit, nd_keep_msg_fn fn,
		  void *arg, unsigned *count);

/* As nd_keep_older, for the messages with a time before before_ts (0:
 * the newest), without moving where nd_keep_older goes on. */
int nd_keep_page(struct nd_keep *k, const char *room, uint64_t before_ts, unsigned limit,
		 nd_keep_msg_fn fn, void *arg, unsigned *count);

/* The user has room open now: its last-seen time moves on (written at
 * most every ND_KEEP_SEEN_EVERY_MS). */
void nd_keep_seen(struct nd_keep *k, const char *room, uint64_t now_ms);

/* Forgets room's secrets and state (its messages stay), and the room:
 * it was left. The table's forget calls this. */
void nd_keep_forget(struct nd_keep *k, const char *room);

/* Commits what was written (the cursors kept in memory first); called
 * from the loop, and before exit. */
void nd_keep_flush(struct nd_keep *k);

#endif
