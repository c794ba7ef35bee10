/*
 * room.h - the chat core's state, and what each of its parts needs to act
 * in a room. The parts, from the top down (each calls only those below):
 *
 *   user.c   what the user does and asks (chat.h): send, rekey, leave,
 *            quit, a new whitelist, who is in a room
 *   chat.c   the driver: the core's life cycle, frame dispatch,
 *            joins and leaves, the link; it hands keys to epoch.c and
 *            messages to msgs.c, and finishes what epoch.c began
 *   msgs.c   messages: numbering, sending, the queue, the history and
 *            resending, receiving, duplicates and gaps
 *   epoch.c  group keys and epochs: first, KEY, ASK, making an epoch
 *            (REK), RDY and RKY, fork and view checks, taints
 *   numbers.c  each sender's message numbers: duplicates and gaps
 *   persist.c  what outlives the process, through the persistence table
 *            (chat.h): a room's state, its membership and group keys, the
 *            relay cursor
 *   room.c   the tables of rooms, members and strangers; telling the user;
 *            numbering frames; pacing DATs
 *
 * Nothing outside chat/ includes this.
 */
#ifndef COVE_CHAT_ROOM_H
#define COVE_CHAT_ROOM_H

#include <stdarg.h>

#include "chat/chat.h"
#include "crypto/group.h"
#include "wire/payload.h"

enum room_state { R_IDLE, R_JOINING, R_READY, R_FAILED };

/* Commitments of tainted keys remembered per room. */
#define ROOM_TAINT_KIDS 4
/* Keys of epochs passed during one catch-up, kept until its UPD (DATs
 * under them may still be in the backlog): the newest ones. */
#define ROOM_CATCHUP_KEYS 8

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
	/* End-to-end evidence that it held epoch held_epoch: we sealed it
	 * that key, or a member we trust named it in a HOLDERS. Only such a
	 * member away gets the next epoch from us (design 3). */
	int held;
	uint32_t held_epoch;
	int gave;                   /* we sealed it gave_epoch ourselves */
	int gave_away;              /* ... while it was away */
	uint32_t gave_epoch;
	int away;                   /* the relay says it is away (PRS) */
	uint64_t seen_ms;           /* when the relay last saw it connected */
	/* its messages, by number, in its current session (sid) */
	uint8_t sid[COVE_SID_LEN];
	int have_sid;
	uint64_t high;              /* highest number seen */
	uint64_t seen[COVE_CHAT_WINDOW / 64]; /* bit i: high - i seen */
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
	uint32_t kind;              /* COVE_PL_TEXT, COVE_PL_HOLDERS or COVE_PL_GONE */
	uint32_t about;             /* HOLDERS: the epoch whose holders it names */
	char *text;                 /* TEXT: the text; HOLDERS: the ids, 32 bytes each;
				     * GONE: the BYE's encoding */
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
	int gk_prev_kept;           /* the table holds gk_prev_epoch's key too */
	uint32_t gk_prev_epoch;
	uint32_t old_epoch;
	uint8_t old_kid[COVE_KID_LEN];
	uint64_t old_until_ms;
	int ever_keyed;
	uint32_t top_epoch;         /* never accept a key below it */
	uint64_t credit_ms;         /* our epoch credit was zero then (epoch.c; kept) */
	/* Our current key is known to be held by someone who left or whom
	 * we no longer trust: nothing is encrypted under it. What the user
	 * sends waits (queued) until a new epoch is in place. */
	int tainted;
	/* The member's BYE we last told the room of (GONE), while our key is
	 * tainted by it: told again, as a new message, each time the rekey
	 * is said to stall, so that a relay hiding the leave from some must
	 * drop every one of them (msgs.c; dropped once a key nobody gone
	 * holds is in use, epoch.c). */
	uint8_t *gone_bye;
	size_t gone_len;
	/* A new epoch's key taken from a member is not used until that
	 * member's HOLDERS for it (whom it sealed it to) has come: only that
	 * says whether someone who left was given it, since the KEY's view
	 * names no one away. */
	int holders_wait;
	uint8_t holders_from[COVE_ID_LEN];
	uint32_t holders_epoch;
	uint64_t holders_due_ms;
	/* The commitments of keys found tainted here: such a key, handed to
	 * us again (after a reconnect, by a lagging member), stays tainted. */
	uint8_t taint_kids[ROOM_TAINT_KIDS][COVE_KID_LEN];
	size_t ntaint_kids;
	char taint_who[COVE_NAME_MAX + 1];
	const char *taint_why;
	uint64_t taint_ms;
	uint64_t taint_warned_ms;
	/* Replayed DATs are said at most once a COVE_CHAT_REPLAY_QUIET_MS
	 * (a relay can send thousands): when the last was said, and how many
	 * were dropped since without a word (said then, from the tick). */
	uint64_t replay_said_ms;
	uint64_t replays_quiet;
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
	struct sent *hist;          /* ring of COVE_CHAT_HISTORY_MAX, oldest at hist_head */
	size_t hist_head, nhist;
	struct queued *q;
	size_t nq;
	struct held *held;
	size_t nheld;
	/* DATs that came bare (not in a FWD) while we caught up: the backlog
	 * may hold older ones of their senders, so they wait for its end. */
	struct held *bare;
	size_t nbare;
	/* INIs and PRSs that came bare while we caught up (the relay telling
	 * us who is a member, and who is here, as we came back), in the order
	 * they came: the backlog may hold an older BYE of the same member,
	 * which must not be taken as newer than them. */
	struct held *bare_ini;
	size_t nbare_ini;
	uint64_t joined_ms;         /* when we sent our latest INI */
	uint64_t down_ms;           /* when the link went, for resending */
	struct member *members;     /* in the order we learnt of them */
	size_t nmembers;
	struct stranger *strangers;
	size_t nstrangers;
	/* persistent rooms (persist.c) */
	int has_state;              /* state was kept for it: we have been here */
	int state_dirty;            /* to be put at the end of this frame or tick */
	/* Members' message numbers moved: kept at most once a second (and at
	 * the end of a catch-up, a lost link, and the end), not per message. */
	int numbers_dirty;
	uint64_t numbers_saved_ms;
	uint32_t mkey_id;           /* id of our membership secret in the table */
	struct cove_xkp *away_xkp[2]; /* membership keys from before we came back */
	uint32_t away_id[2];
	int catching_up;            /* SYN sent, no UPD yet */
	uint64_t cu_last_ms;        /* the SYN, or the last frame of its catch-up */
	uint64_t syn_seq;
	int ready_deferred;         /* it got its key during the catch-up */
	int ready_first;
	uint64_t caught_shown;      /* messages shown since the SYN */
	uint64_t rseq, rdat;        /* the relay cursor */
	struct {
		uint32_t epoch;
		uint8_t *gk;
		uint8_t kid[COVE_KID_LEN];
	} ckeys[ROOM_CATCHUP_KEYS];
	size_t nckeys;
};

struct cove_chat {
	const struct cove_ident *id;
	const struct cove_wl *wl;
	uint8_t relay[COVE_ID_LEN];
	struct cove_chat_ui ui;
	struct cove_chat_deps deps;
	struct cove_chat_opts opts;
	int authed;
	uint64_t seq;
	uint64_t rseq_now;          /* the relay's number of the frame being handled; 0: none */
	/* The caller's check of a member's signature (cove_chat_frame_checked),
	 * for the one frame it is about while that frame is handled: the
	 * frame given, or the one a FWD carries. NULL: none. */
	const struct cove_frame *sig_of;
	int sig;                    /* COVE_CHAT_SIG_GOOD or _BAD */
	struct room *rooms;
	size_t nrooms;
	/* pacing our DATs to the relay's limits (a token bucket like its own) */
	unsigned rate, burst;
	double tokens;
	uint64_t tokens_ms;
	uint8_t *pt;                /* DAT plaintext scratch, COVE_PAD_MAX bytes */
	uint8_t *ct;                /* DAT ciphertext scratch, COVE_DAT_CT_MAX bytes */
};

/* ---- chat.c: the driver ----------------------------------------------------- */

/* Wipes and frees what room r holds (not r itself). */
void chat_room_free(struct room *r);

/* ---- numbers.c: a sender's message numbers --------------------------------- */

/* Takes message number n of m's session sid (a new session starts
 * afresh; a number past the highest opens a gap for what is between).
 * Returns 1 for a number not seen before, 0 for a duplicate. */
int numbers_track(struct member *m, const uint8_t sid[COVE_SID_LEN], uint64_t n, uint64_t now);

/* ---- persist.c: what outlives the process --------------------------------- */

/* Reads what the table kept of r (state, keys, cursor): members known,
 * the group key of the epoch held, the membership secret(s) kept, as
 * away keys. A room without a table or state starts empty. Returns 0 or
 * COVE_ERR_NOMEM; a state that does not parse is said and ignored. */
int persist_load(struct cove_chat *c, struct room *r);
/* Puts r's state now (when the table has one). */
void persist_save(struct cove_chat *c, struct room *r);
/* Keeps the secret of our new membership key pair kp under a new id,
 * then the state naming it, before its INI goes. The id it replaces is
 * deleted unless it is an away key. Returns 0 or the table's error. */
int persist_mkey(struct cove_chat *c, struct room *r, const struct cove_xkp *kp);
/* Keeps r's current group key; of those before it, the table keeps only
 * the one it replaced (old_gk), while the room still takes DATs under it. */
void persist_gk(struct cove_chat *c, struct room *r);
/* The room no longer takes DATs under the key it replaced: deleted. */
void persist_gk_drop_prev(struct cove_chat *c, struct room *r);
/* A new link: our membership key of the link before becomes an away key
 * (what was sealed to it may be in the coming catch-up); of those, the
 * two newest are kept and an older one is deleted. */
void persist_keep_away(struct cove_chat *c, struct room *r);
/* The catch-up is over: wipes the away keys, in memory and in the table. */
void persist_drop_away(struct cove_chat *c, struct room *r);
/* Moves r's cursor to rseq/rdat (never back) and keeps it. */
void persist_cursor(struct cove_chat *c, struct room *r, uint64_t rseq, uint64_t rdat);
/* Sets r's cursor to rseq/rdat, back as well, and keeps it. */
void persist_cursor_reset(struct cove_chat *c, struct room *r, uint64_t rseq, uint64_t rdat);

/* ---- room.c: the tables, and what every part shares ------------------------ */

/* The room named name (len bytes), or NULL. */
struct room *room_find(struct cove_chat *c, const char *name, size_t len);
/* The member with identity pk, or NULL. */
struct member *room_member(struct room *r, const uint8_t pk[COVE_ID_LEN]);
/* The member with identity pk, added (named name) if new; NULL when out
 * of memory. The pointer lasts until the next member is added. */
struct member *room_member_add(struct room *r, const uint8_t pk[COVE_ID_LEN], const char *name);
/* Someone not on our whitelist is present (or no longer): it gets nothing
 * from us, but we keep track of it, since members who trust it may give
 * it the key. Returns 0 or COVE_ERR_NOMEM. */
int room_stranger(struct room *r, const uint8_t pk[COVE_ID_LEN], int present);

/* Tells the user of an error (the ui's error callback), in room r (NULL:
 * none). */
void room_say(struct cove_chat *c, const struct room *r, const char *code, int fatal,
	      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Tells the user something that is not an error (the ui's notice). */
void room_note(struct cove_chat *c, const struct room *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "alice" for whitelisted keys, else "key <fingerprint>", in buf. */
const char *room_who(const struct cove_chat *c, const uint8_t pk[COVE_ID_LEN], char *buf,
		     size_t cap);

/* Whether f's signature by f->from verifies: the caller's check when it
 * made one of this very frame (c->sig_of), else checked here. Returns 0
 * or COVE_ERR_SIGNATURE (or cove_msg_verify()'s other errors). */
int room_verify(const struct cove_chat *c, const struct cove_frame *f);

/* Keeps a copy of bye (len bytes) as r's gone_bye (bye may be it already).
 * Returns 0 or COVE_ERR_NOMEM. */
int room_gone_keep(struct room *r, const uint8_t *bye, size_t len);
/* Forgets r's gone_bye. */
void room_gone_clear(struct room *r);

/* The time from which an epoch credit (epoch.c) is COVE_EPOCH_STEP_MAX at
 * now: a member's first key in a room, or a state that kept none. Here,
 * not in epoch.c: persist.c needs it, and epoch.c calls persist.c. */
uint64_t room_credit_start(uint64_t now);

/* The sequence number of the next frame we send. */
uint64_t room_seq(struct cove_chat *c);
/* Starts r's schedule for its current key (rekey_interval from now, with
 * a spread so that members do not all ask at once). */
void room_rekey_schedule(struct cove_chat *c, struct room *r, uint64_t now);
/* Takes the token one DAT needs from the pace: 1, or 0 when it must wait
 * (force: take it anyway, for a frame that cannot wait). */
int room_pace(struct cove_chat *c, int force);
/* The relay's limits (0 leaves one as it is): the pace follows them. */
void room_pace_limits(struct cove_chat *c, unsigned rate, unsigned burst);

#endif
