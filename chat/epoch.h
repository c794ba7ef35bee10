/*
 * epoch.h - a room's group keys and epochs, seen from a member (epoch.c).
 *
 * epoch.c takes keys (the relay's "you are first", a member's KEY, the
 * relay's REK naming us) and gives them (ASK, REK), and taints a key that
 * someone gone or distrusted may hold. It shows no room ready and sends
 * no message: a frame that moved a key says what followed in struct
 * epoch_done, and the driver (chat.c) does the rest with msgs.c.
 *
 * Nothing outside chat/ includes this.
 */
#ifndef COVE_CHAT_EPOCH_H
#define COVE_CHAT_EPOCH_H

#include "chat/room.h"

/* What a frame did to the room's key, for the driver to finish. */
struct epoch_done {
	enum {
		EPOCH_NONE,         /* nothing more to do */
		EPOCH_READY,        /* the room holds its key: show it ready (first:
				     * we made the key), then the DATs held for it */
		EPOCH_NEW,          /* a member's new epoch replaced ours: send again
				     * what went under a refused epoch of ours
				     * (resend_since_ms), what waited, what was held */
		EPOCH_MADE,         /* we made the next epoch: tell the room whom we
				     * sealed it to (holders), then as EPOCH_NEW */
		EPOCH_GAVE,         /* we sealed the key to a joiner: tell the room */
	} what;
	int first;
	uint64_t resend_since_ms;   /* 0: nothing to send again */
	uint8_t (*holders)[32];     /* EPOCH_MADE, EPOCH_GAVE: nholders ids; the driver
				     * frees */
	size_t nholders;
	/* EPOCH_GAVE: holders are everyone we gave this epoch to, the joiner
	 * included */
};

/* Each handles one frame of its type for room r, checked by the driver
 * to be for r and, for the relay's (first, ASK, REK), signed by it; they
 * check the rest. done receives what is left to do (EPOCH_NONE on an
 * error). Return 0, or COVE_ERR_NOMEM. */
int epoch_first(struct cove_chat *c, struct room *r, const struct cove_frame *f,
		struct epoch_done *done);
int epoch_key(struct cove_chat *c, struct room *r, const struct cove_frame *f,
	      struct epoch_done *done);
int epoch_ask(struct cove_chat *c, struct room *r, const struct cove_frame *f,
	      struct epoch_done *done);
int epoch_rek(struct cove_chat *c, struct room *r, const struct cove_frame *f,
	      struct epoch_done *done);

/* Tells the relay we hold r's current key (RDY), once a catch-up is
 * over. Returns 0 or the send error. */
int epoch_confirm(struct cove_chat *c, struct room *r);
/* Why nothing may be encrypted in r now (no key, a key someone who left
 * or is distrusted holds, the message budget spent), or NULL. */
const char *epoch_blocked(const struct cove_chat *c, const struct room *r);
/* The key (and its kid) for a DAT of epoch, or NULL. Both stay r's. */
const uint8_t *epoch_gk(struct room *r, uint32_t epoch, const uint8_t **kid);
/* The current key is held by who (a name) who left or is distrusted:
 * stop encrypting under it, ask for a new epoch, tell the user. lasting:
 * others keep giving who the key (it is on their whitelists, not ours),
 * so a new epoch may not cure it: repeated requests back off. why must
 * be a string literal (it is kept). */
void epoch_taint(struct cove_chat *c, struct room *r, const char *who, const char *why,
		 int lasting);
/* A member's HOLDERS: whom it sealed a key to. Anyone named for our
 * current epoch may hold it: one gone or untrusted taints it. */
void epoch_holders(struct cove_chat *c, struct room *r, const struct member *from,
		   const struct cove_payload *pl);
/* A member's GONE: the signed BYEs of members it saw leave. Each BYE that
 * is its member's own, for this room, and newer than the INI we have of
 * it counts as that member's leave: one that held our key taints it, and
 * gets no key from us until its next INI. Any other is ignored (said). */
void epoch_gone(struct cove_chat *c, struct room *r, const struct member *from,
		const struct cove_payload *pl);
/* An ERR stale_epoch about the frame with seq ref: when it was our RDY as
 * a room's rekeyer, our epoch was not taken. */
void epoch_stale(struct cove_chat *c, uint64_t ref);
/* Sends RKY for r (rate-limited; the caller may reset r->last_rky_ms). */
void epoch_request(struct cove_chat *c, struct room *r, const char *why);
/* Timers: the previous epoch's key, the session key it replaced, taints,
 * the schedule, the message budget. Returns 1 when it has just said that
 * a rekey a taint waits for stalls (rekey_stalled), else 0. */
int epoch_tick(struct cove_chat *c, struct room *r, uint64_t now);
/* Wipes and frees r's keys. */
void epoch_wipe(struct room *r);

#endif
