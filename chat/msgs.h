/*
 * msgs.h - a room's messages (msgs.c): numbering, sending, the queue, the
 * history and resending, receiving, duplicates and gaps.
 *
 * msgs.c encrypts only under a key epoch.c says may be used, and hands
 * epoch.c what a message says about keys (HOLDERS, GONE, a DAT that
 * proves someone holds ours). It never calls the driver (chat.c).
 *
 * Nothing outside chat/ includes this.
 */
#ifndef COVE_CHAT_MSGS_H
#define COVE_CHAT_MSGS_H

#include "chat/room.h"

/* Sends text (len bytes) now, numbered and kept for sending again; the
 * caller checked that r may send and took the pace's token. Returns 0,
 * COVE_ERR_UTF8, COVE_ERR_NOMEM, COVE_ERR_STATE or the send's error. */
int msgs_send(struct cove_chat *c, struct room *r, const char *text, size_t len);
/* Queues text until r may send. Returns 0, COVE_ERR_UTF8, COVE_ERR_LIMIT
 * (COVE_CHAT_QUEUE_MAX queued) or COVE_ERR_NOMEM. */
int msgs_queue(struct room *r, const char *text, size_t len);
/* Sends what is queued, as far as the key and the pace allow. */
void msgs_flush(struct cove_chat *c, struct room *r);
/* Tells the room, in a numbered HOLDERS message, that we sealed the key of
 * the current epoch to ids (n of them, 32 bytes each). */
int msgs_holders(struct cove_chat *c, struct room *r, const uint8_t (*ids)[32], size_t n);
/* Tells the room, in a numbered GONE message carrying it, of a member's
 * own signed BYE (bye, len bytes: its encoding, copied). It goes under
 * the current key even if that key is tainted: it tells the one gone
 * nothing it does not know. */
int msgs_gone(struct cove_chat *c, struct room *r, const uint8_t *bye, size_t len);
/* After a rejoin: send again what may have been lost with the old link. */
void msgs_resend_recent(struct cove_chat *c, struct room *r);
/* After a rejoin: ask the room for what was sent while our link was
 * down (a CATCHUP). */
void msgs_catch_up(struct cove_chat *c, struct room *r);
/* Send again what we sent since since_ms (our epoch was refused). */
void msgs_resend_since(struct cove_chat *c, struct room *r, uint64_t since_ms);
/* An ERR rate_limited about the frame with seq ref: send it again later. */
void msgs_rate_limited(struct cove_chat *c, uint64_t ref);
/* Handles a DAT for r (raw: its encoding, copied when it must wait for
 * its key). Returns 0 or COVE_ERR_NOMEM. */
int msgs_dat(struct cove_chat *c, struct room *r, const struct cove_frame *f,
	     const uint8_t *raw, size_t len);
/* Keeps a copy of raw at the end of list (for frames held back while
 * catching up). Returns 1, or 0 when the list is full or memory is out. */
int msgs_hold_frame(struct held **list, size_t *n, const uint8_t *raw, size_t len);
/* The catch-up is over: the DATs that came live meanwhile are handled
 * now, in the order they came, but for those the backlog brought (held
 * for the room's key when it has none yet). */
void msgs_caught_up(struct cove_chat *c, struct room *r);
/* DATs held for a newer epoch: try them again (retry: a key arrived) or
 * drop those whose key did not come in time. */
void msgs_held(struct cove_chat *c, struct room *r, uint64_t now, int retry);
/* Timers: the history's age, held DATs, sending again what the pace or
 * the relay held back, gaps to ask for or report. */
void msgs_tick(struct cove_chat *c, struct room *r, uint64_t now);
/* Wipes and frees r's history, queue and held DATs. */
void msgs_free(struct room *r);

#endif
