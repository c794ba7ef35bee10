/*
 * core_int.h - the node core's own structures, shared by its parts:
 *
 *   core.c   rooms, the roster, frame dispatch, joins, the link
 *   keys.c   group keys and epochs: first, KEY, making an epoch (REK),
 *            RDY and RKY, fork and view checks
 *   track.c  messages: numbering, sending, the history and resending,
 *            receiving, duplicates and gaps
 *
 * Nothing outside node/core*.c, keys.c and track.c includes this.
 */
#ifndef COVE_NODE_CORE_INT_H
#define COVE_NODE_CORE_INT_H

#include <stdarg.h>

#include "crypto/group.h"
#include "node/core.h"
#include "wire/payload.h"

enum room_state { R_IDLE, R_JOINING, R_READY, R_FAILED };

/* Commitments of tainted keys remembered per room. */
#define ND_TAINT_KIDS 4

struct gap {
	uint64_t first, last;
	uint64_t noticed_ms;
	uint64_t asked_ms;          /* when we asked for it (RESEND), 0: not yet */
};

struct member {
	uint8_t pk[COVE_ID_LEN];
	char name[COVE_NAME_MAX + 1];
	uint8_t xpk[COVE_XPK_LEN];  /* from its latest INI: where keys go */
	int present;
	uint64_t ini_seq;           /* seq of its latest INI: older INIs are replays */
	uint64_t ini_ts;            /* its latest INI's ts: keys go only to a recent one */
	uint64_t ini_seen_ms;       /* when we took that INI: a CATCHUP soon after is a return */
	int caught_up;              /* we answered a CATCHUP of it since that INI */
	uint64_t member_since_ms;   /* its first INI, or its first after it left: we resend
				     * it only what we sent since */
	uint64_t returned_ms;       /* its INI after it left: it gets a new epoch, not ours */
	uint64_t answer_from_ms;    /* what we resent for it (RESEND, CATCHUP) since then */
	size_t answered;
	/* Its BYE was seen (it left, or the relay says it is gone): it is back
	 * only with an INI newer than its last and a session key other than
	 * the one it left with, and its DATs are dropped meanwhile. */
	int left;
	uint8_t left_xpk[COVE_XPK_LEN];
	int exposed;                /* may hold our current epoch's key */
	/* Another member says it saw this one leave (GONE), a BYE the relay
	 * did not show us: no key goes to it until an INI newer than this. */
	int reported_gone;
	uint64_t reported_gone_ini;
	uint64_t last_seq;          /* highest DAT seq accepted: replays fall below */
	/* its messages, by number, in its current session (sid) */
	uint8_t sid[COVE_SID_LEN];
	int have_sid;
	uint64_t high;              /* highest number seen */
	uint64_t seen[ND_WINDOW / 64]; /* bit i: high - i seen */
	struct gap *gaps;
	size_t ngaps;
};

/* Someone in the room that is not on our whitelist: it gets nothing from
 * us, but may hold the key from members who trust it. */
struct stranger {
	uint8_t pk[COVE_ID_LEN];
	int present;
	int exposed;                /* may hold our current epoch's key */
};

struct sent {
	uint64_t n;
	uint64_t sent_ms;
	uint64_t seq;               /* of the frame that last carried it */
	uint64_t retry_ms;          /* refused for rate: send again then */
	uint32_t epoch;
	uint32_t kind;              /* COVE_PL_TEXT, or COVE_PL_HOLDERS */
	uint32_t about;             /* HOLDERS: the epoch whose holders it names */
	char *text;                 /* TEXT: the text; HOLDERS: the ids, 32 bytes each */
	size_t len;
};

struct queued {
	char *text;
	size_t len;
};

struct held {
	uint8_t *raw;               /* a DAT for an epoch we do not hold yet */
	size_t len;
	uint64_t until_ms;
};

struct room {
	char name[COVE_ROOM_MAX + 1];
	size_t name_len;
	enum room_state st;
	int was_ready;              /* ready on an earlier link: a rejoin */
	struct cove_xkp *xkp;       /* our session key, from our latest INI */
	struct cove_xkp *old_xkp;   /* the one it replaced, for KEYs in flight */
	uint64_t old_xkp_until_ms;
	uint64_t ini_refresh_ms;    /* when to replace our session key */
	/* keys */
	uint8_t *gk;                /* locked memory */
	uint32_t epoch;
	uint8_t kid[COVE_KID_LEN];
	uint8_t *old_gk;            /* the previous epoch's, for DATs in flight */
	uint32_t old_epoch;
	uint8_t old_kid[COVE_KID_LEN];
	uint64_t old_until_ms;
	int ever_keyed;
	uint32_t top_epoch;         /* never accept a key below it */
	/* Our current key is known to be held by someone who left or whom
	 * we no longer trust: nothing is encrypted under it. What the user
	 * sends waits (queued) until a new epoch is in place. */
	int tainted;
	/* The commitments of keys found tainted here: such a key, handed to
	 * us again (after a reconnect, by a lagging member), stays tainted. */
	uint8_t taint_kids[ND_TAINT_KIDS][COVE_KID_LEN];
	size_t ntaint_kids;
	char taint_who[COVE_NAME_MAX + 1];
	const char *taint_why;
	uint64_t taint_ms;
	uint64_t taint_warned_ms;
	uint64_t taint_rky_every_ms; /* how often we ask again: doubles while the
				      * same one keeps tainting new keys */
	int taint_noted;            /* the user was told a message waits */
	uint64_t epoch_start_ms;
	uint64_t epoch_msgs;        /* our DATs under the current epoch */
	uint64_t rekey_due_ms;      /* scheduled rekey (asked for again while it does not come) */
	uint64_t rekey_sched_ms;    /* when it was first due */
	uint64_t sched_warned_ms;
	uint64_t last_rky_ms;
	uint64_t refused_since_ms;  /* our epoch was refused: resend from here */
	uint64_t rek_rdy_seq;       /* seq of our RDY as this room's rekeyer */
	/* our messages */
	uint8_t sid[COVE_SID_LEN];  /* fixed for the life of the process */
	uint64_t next_n;
	struct sent *hist;          /* ring of ND_HISTORY_MAX, oldest at hist_head */
	size_t hist_head, nhist;
	struct queued *q;
	size_t nq;
	struct held *held;
	size_t nheld;
	uint64_t joined_ms;         /* when we sent our latest INI */
	uint64_t down_ms;           /* when the link went, for resending */
	struct member *members;     /* in the order we learnt of them */
	size_t nmembers;
	struct stranger *strangers;
	size_t nstrangers;
};

struct nd_core {
	const struct cove_ident *id;
	const struct cove_wl *wl;
	uint8_t relay[COVE_ID_LEN];
	struct nd_ui ui;
	struct nd_core_deps deps;
	struct nd_core_opts opts;
	int authed;
	uint64_t seq;
	struct room *rooms;
	size_t nrooms;
	/* pacing our DATs to the relay's limits (a token bucket like its own) */
	unsigned rate, burst;
	double tokens;
	uint64_t tokens_ms;
	uint8_t *pt;                /* DAT plaintext scratch, COVE_PAD_MAX bytes */
	uint8_t *ct;                /* DAT ciphertext scratch, COVE_DAT_CT_MAX bytes */
};

/* ---- core.c ---------------------------------------------------------------- */

void nd_say(struct nd_core *c, const struct room *r, const char *code, int fatal,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void nd_note(struct nd_core *c, const struct room *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "alice" for whitelisted keys, else "key <fingerprint>". */
const char *nd_who(const struct nd_core *c, const uint8_t pk[COVE_ID_LEN], char *buf,
		   size_t cap);
struct member *nd_member(struct room *r, const uint8_t pk[COVE_ID_LEN]);
struct member *nd_member_add(struct room *r, const uint8_t pk[COVE_ID_LEN], const char *name);
uint64_t nd_next_seq(struct nd_core *c);
/* Takes the token one DAT needs from the pace: 1, or 0 when it must wait
 * (force: take it anyway, for a frame that cannot wait). */
int nd_pace_take(struct nd_core *c, int force);
/* The room moved to a ready state with a key: events, RDY is the caller's. */
void nd_room_ready(struct nd_core *c, struct room *r, int first);

/* ---- keys.c ------------------------------------------------------------------ */

/* Why nothing may be encrypted in r now (no key, a key someone who left
 * or is distrusted holds, the message budget spent), or NULL. */
const char *nd_keys_blocked(const struct nd_core *c, const struct room *r);
/* The current key is held by who (a name) who left or is distrusted:
 * stop encrypting under it, ask for a new epoch, tell the user. lasting:
 * others keep giving who the key (it is on their whitelists, not ours),
 * so a new epoch may not cure it: repeated requests back off. */
void nd_keys_taint(struct nd_core *c, struct room *r, const char *who, const char *why,
		   int lasting);
/* A member's HOLDERS: whom it sealed a key to. Anyone named for our
 * current epoch may hold it: one gone or untrusted taints it. */
void nd_keys_holders(struct nd_core *c, struct room *r, const struct member *from,
		     const struct cove_payload *pl);
/* A member's GONE: whom it saw leave. One that held our key taints it,
 * and gets no key from us until its next INI. */
void nd_keys_gone(struct nd_core *c, struct room *r, const struct member *from,
		  const struct cove_payload *pl);
/* A session key of ours (current or the one it replaced) by its public
 * half, or NULL. */
const struct cove_xkp *nd_keys_session(struct room *r, const uint8_t xpk[COVE_XPK_LEN]);

int nd_keys_first(struct nd_core *c, struct room *r, const struct cove_frame *f);
int nd_keys_key(struct nd_core *c, struct room *r, const struct cove_frame *f);
int nd_keys_ask(struct nd_core *c, struct room *r, const struct cove_frame *f);
int nd_keys_rek(struct nd_core *c, struct room *r, const struct cove_frame *f);
/* An ERR stale_epoch about one of our RDYs: our epoch was not taken. */
void nd_keys_refused(struct nd_core *c, uint64_t ref);
/* Sends RKY for r (rate-limited). */
void nd_keys_request(struct nd_core *c, struct room *r, const char *why);
/* Timers: the previous epoch's key, the schedule, the message budget. */
void nd_keys_tick(struct nd_core *c, struct room *r, uint64_t now);
/* The key (and kid) for a DAT of epoch, or NULL. */
const uint8_t *nd_keys_for(struct room *r, uint32_t epoch, const uint8_t **kid);
void nd_keys_wipe(struct room *r);

/* ---- track.c ------------------------------------------------------------------ */

int nd_track_send(struct nd_core *c, struct room *r, const char *text, size_t len);
/* Tells the room, in a numbered HOLDERS message, that we sealed the key of
 * the current epoch to ids (n of them, 32 bytes each). */
int nd_track_holders(struct nd_core *c, struct room *r, const uint8_t (*ids)[32], size_t n);
/* Tells the room, in a numbered GONE message, that we saw id leave. It
 * goes under the current key even if that key is tainted: it tells the
 * one gone nothing it does not know. */
int nd_track_gone(struct nd_core *c, struct room *r, const uint8_t id[32]);
int nd_track_queue(struct room *r, const char *text, size_t len);
void nd_track_flush(struct nd_core *c, struct room *r);
/* After a rejoin: send again what may have been lost with the old link. */
void nd_track_resend_recent(struct nd_core *c, struct room *r);
/* After a rejoin: ask the room for what was sent while our link was
 * down (a CATCHUP). */
void nd_track_catch_up(struct nd_core *c, struct room *r);
/* Send again what we sent since since_ms (our epoch was refused). */
void nd_track_resend_since(struct nd_core *c, struct room *r, uint64_t since_ms);
/* An ERR rate_limited about the frame with seq ref: send it again later. */
void nd_track_rate_limited(struct nd_core *c, uint64_t ref);
int nd_track_dat(struct nd_core *c, struct room *r, const struct cove_frame *f,
		 const uint8_t *raw, size_t len);
/* DATs held for a newer epoch: try them again (a key arrived) or expire. */
void nd_track_held(struct nd_core *c, struct room *r, uint64_t now, int retry);
void nd_track_tick(struct nd_core *c, struct room *r, uint64_t now);
void nd_track_free(struct room *r);

#endif
