/*
 * chat.h - a node's chat core: rooms, group keys and their epochs,
 * members, and messages, with neither sockets nor a terminal. It is a
 * library of its own (libcovechat.a): cove-node links it behind its
 * network and front-ends, cove-bench behind its load, and the tests
 * behind a fake relay and a fake clock.
 *
 * The core takes decoded frames from the link (cove_chat_frame) and text
 * from the user (cove_chat_send_text), and gives back frames to send
 * (through cove_chat_deps.send) and events for the user (cove_chat_ui),
 * with the time from cove_chat_deps' clock. It trusts
 * the relay for nothing but delivery: every identity is checked against
 * the node's own whitelist and every frame's signature verified.
 *
 * It survives the link: when the link goes (cove_chat_link_down) the rooms
 * keep their keys, what the user sends is queued, and once a new link is
 * authenticated the rooms are joined again and the messages sent shortly
 * before the loss are sent again; receivers drop what they already have.
 */
#ifndef COVE_CHAT_CHAT_H
#define COVE_CHAT_CHAT_H

#include <stddef.h>
#include <stdint.h>

#include "crypto/ident.h"
#include "crypto/whitelist.h"
#include "wire/frame.h"

/* Messages the user may send while a room is not ready (joining, or the
 * link down); one more is refused with an error. */
#define COVE_CHAT_QUEUE_MAX 1000

/* A DAT stamped more than this before we joined its room is taken for
 * an old message replayed, and dropped; the slack allows for clocks that
 * disagree. */
#define COVE_CHAT_STALE_MS (120u * 1000)

/* Sent messages are kept (at most COVE_CHAT_HISTORY_MAX, for
 * COVE_CHAT_HISTORY_MS) to be sent again: those sent in the last
 * COVE_CHAT_RESEND_MS before the link went down, once a new one is up (the
 * relay may have died holding them), and any a receiver asks for after
 * finding a gap. */
#define COVE_CHAT_HISTORY_MAX 1000
#define COVE_CHAT_HISTORY_MS (120u * 1000)
#define COVE_CHAT_RESEND_MS (30u * 1000)

/* A message the relay refused for going too fast is sent again after. */
#define COVE_CHAT_RATE_RETRY_MS 1000u

/* The relay allows each connection `rate` DATs a second after a burst of
 * `burst` (it says so in its WLC; before that, and from a relay that
 * does not, these defaults). The node paces its DATs a little inside
 * that, so that the relay never has to refuse one: what cannot go yet
 * waits in the room's queue, in order. */
#define COVE_CHAT_RATE_DEFAULT 50u
#define COVE_CHAT_BURST_DEFAULT 200u
#define COVE_CHAT_PACE_SHARE 0.9
#define COVE_CHAT_PACE_RETRY_MS 100u

/* Each sender's message numbers are remembered this far back: a number
 * seen again inside the window is a duplicate and dropped silently.
 * Requests (RESEND, CATCHUP) are not numbered: they carry COVE_CHAT_UNNUMBERED,
 * are never sent twice, and a lost one leaves no gap. */
#define COVE_CHAT_WINDOW 1024
#define COVE_CHAT_UNNUMBERED UINT64_MAX

/* A gap in a sender's numbers is asked for again (RESEND) after
 * COVE_CHAT_GAP_ASK_MS, and reported to the user if still open
 * COVE_CHAT_GAP_REPORT_MS after that request. */
#define COVE_CHAT_GAP_ASK_MS 1000u
#define COVE_CHAT_GAP_REPORT_MS 5000u

/* After a rekey, DATs of the previous epoch are still read for this long
 * (they were in flight), and DATs of a newer epoch than ours are held this
 * long, at most COVE_CHAT_FUTURE_MAX of them, waiting for its key. */
#define COVE_CHAT_OLD_EPOCH_MS 10000u
#define COVE_CHAT_FUTURE_MS 5000u
#define COVE_CHAT_FUTURE_MAX 256

/* Keys are sealed only to a session key from an INI signed at most this
 * long ago (by the member's clock, with slack): a departed member's old
 * INI, replayed to a node that has just started and knows no history,
 * gets nothing. Members therefore replace their session key (a new INI)
 * at every scheduled rekey, and at least every COVE_CHAT_INI_REFRESH_MAX_S. The
 * replaced key still opens KEYs for COVE_CHAT_OLD_EPOCH_MS. */
#define COVE_CHAT_INI_MAX_AGE_MS (24ull * 3600 * 1000)
#define COVE_CHAT_INI_REFRESH_MAX_S (12u * 3600)

/* A CATCHUP is answered only from a member that joined (sent its INI)
 * at most this long before, and once per INI; what we send again for one
 * requester (RESEND and CATCHUP answers) is at most COVE_CHAT_HISTORY_MAX
 * messages per COVE_CHAT_HISTORY_MS. */
#define COVE_CHAT_CATCHUP_WINDOW_MS (30u * 1000)

/* While our key is held by someone who left or whom we stopped trusting,
 * nothing is sent: if no new epoch is in place after this long, the user
 * is warned (and again every COVE_CHAT_REKEY_STALL_REPEAT_MS), and we keep
 * asking for one. */
#define COVE_CHAT_REKEY_STALL_MS 10000u
#define COVE_CHAT_REKEY_STALL_REPEAT_MS 60000u
/* Replayed messages are reported at most once this often; those dropped
 * in between are counted and reported together. */
#define COVE_CHAT_REPLAY_QUIET_MS 1000u
/* How long a new epoch's key taken from a member waits for that member's
 * HOLDERS (whom it sealed the key to) before it is taken as tainted. */
#define COVE_CHAT_HOLDERS_WAIT_MS 10000u
/* Members' message numbers (for gaps) are kept with a room's state at
 * most this often, so that a restart still finds what is missing. */
#define COVE_CHAT_NUMBERS_SAVE_MS 1000u
/* A catch-up (SYN, then FWDs, then UPD) with nothing of it for this long
 * has stalled: the relay lost it, or withholds it. */
#define COVE_CHAT_SYN_TIMEOUT_MS 30000u
/* A scheduled rekey this late is warned about (rekey_stalled), every
 * COVE_CHAT_REKEY_STALL_REPEAT_MS; messages go on under the current key. */
#define COVE_CHAT_REKEY_OVERDUE_MS 60000u

/* Defaults: a scheduled rekey every hour, and one after 2^24 messages of
 * ours under one epoch, well inside AES-GCM's limits for one key (see
 * docs/SECURITY.md). */
#define COVE_CHAT_REKEY_INTERVAL_S 3600u
#define COVE_CHAT_REKEY_MESSAGES (1ull << 24)

/* What the core tells the user. Every callback is optional. */
struct cove_chat_ui {
	/* The node is authenticated to the relay. */
	void (*connected)(void *ctx);
	/* The node holds the room's key (again, after a reconnect: rejoin).
	 * members: names of those present. */
	void (*ready)(void *ctx, const char *room, int first, int rejoin,
		      const char *const *members, size_t nmembers);
	/* text: len bytes of well-formed UTF-8 without NUL (the core checks
	 * every payload); room and from: printable ASCII. */
	void (*message)(void *ctx, const char *room, const char *from, const char *text,
			size_t len, uint64_t ts_ms);
	void (*joined)(void *ctx, const char *room, const char *name);
	void (*left)(void *ctx, const char *room, const char *name);
	/* The room moved to a new key; by names who made it (NULL: us). */
	void (*epoch)(void *ctx, const char *room, uint32_t epoch, const char *by);
	/* Messages first..last of `from` never arrived and will not. */
	void (*gap)(void *ctx, const char *room, const char *from, uint64_t first, uint64_t last);
	/* Something went wrong. room may be NULL; code is a stable snake_case
	 * word (not_whitelisted, bad_signature, replay, fork, ...); msg says
	 * what happened and what to do. fatal: the node cannot go on. */
	void (*error)(void *ctx, const char *room, const char *code, const char *msg, int fatal);
	/* Something the user should know that is not an error, such as a
	 * message held while the room moves to a new key. code is a stable
	 * snake_case word (held). */
	void (*notice)(void *ctx, const char *room, const char *code, const char *msg);
	/* Back in room after being away: what the relay kept for us is in
	 * (UPD). shown: messages shown from it; missed: messages the relay's
	 * retention dropped before we came back (0: none). */
	void (*caught_up)(void *ctx, const char *room, uint64_t shown, uint64_t missed);
	/* The relay says who is here (connected) or away, and since when
	 * (PRS). */
	void (*presence)(void *ctx, const char *room, const char *name, int here,
			 uint64_t seen_ms);
	void *ctx;
};

/* A message the core shows, or one of ours it just sent, as a history
 * keeps it. Every pointer is lent for the call. */
struct cove_chat_msg {
	const char *room;
	const uint8_t *from;        /* the sender's identity, COVE_ID_LEN bytes */
	const uint8_t *sid;         /* its session, COVE_SID_LEN bytes */
	uint64_t n;                 /* its number within the session */
	uint64_t ts_ms;             /* the sender's time */
	uint64_t rseq;              /* the relay's number for it; 0: none known */
	const char *text;           /* UTF-8, not NUL-terminated */
	size_t len;
};

/* Where the core keeps what must outlive the process: cove-node puts it
 * in its history file (node/keep.h), tests in memory. Every callback is
 * optional; a table left zero keeps nothing, and the core then behaves
 * as it always did. Callbacks must not call back into the core. */
struct cove_chat_persist {
	/* A message about to be shown (or ours, just sent). Returns 0: show
	 * it; COVE_ERR_EXISTS: kept before, so shown before: not again; any
	 * other negative cove_err: it could not be kept, and is shown
	 * anyway (keeping history must never cost the user a message). */
	int (*message)(void *ctx, const struct cove_chat_msg *m);
	/* We left room for good: forget its secrets and state (its messages
	 * may stay; they were ours to read). */
	void (*forget)(void *ctx, const char *room);
	/* A room's state, opaque to the table (what the core knows of its
	 * members and keys, a few KiB): get copies it into out (cap bytes)
	 * and sets *len, or returns COVE_ERR_NOTFOUND (none kept) or
	 * COVE_ERR_SPACE; put replaces it. Return 0 or a negative cove_err. */
	int (*state_get)(void *ctx, const char *room, uint8_t *out, size_t cap, size_t *len);
	int (*state_put)(void *ctx, const char *room, const uint8_t *state, size_t len);
	/* Secrets of a room: kind COVE_CHAT_SECRET_MEMBERSHIP (the X25519
	 * secret of a membership key; id tells the core's pairs apart) or
	 * COVE_CHAT_SECRET_GROUP (a group key; id: its epoch). The table keeps
	 * them encrypted and wipes what it deletes from its files. get returns
	 * COVE_ERR_NOTFOUND when there is none. Return 0 or a negative cove_err. */
	int (*secret_get)(void *ctx, const char *room, uint32_t kind, uint32_t id,
			  uint8_t *out, size_t cap, size_t *len);
	int (*secret_put)(void *ctx, const char *room, uint32_t kind, uint32_t id,
			  const uint8_t *secret, size_t len);
	int (*secret_del)(void *ctx, const char *room, uint32_t kind, uint32_t id);
	/* The relay cursor of a room: the last rseq and rdat handled (0, 0:
	 * none). Return 0 or a negative cove_err. */
	int (*cursor_get)(void *ctx, const char *room, uint64_t *rseq, uint64_t *rdat);
	int (*cursor_set)(void *ctx, const char *room, uint64_t rseq, uint64_t rdat);
	void *ctx;
};

#define COVE_CHAT_SECRET_MEMBERSHIP 1
#define COVE_CHAT_SECRET_GROUP 2

/* A member as cove_chat_members() shows it; lent for the call. */
struct cove_chat_member {
	const char *name;
	const uint8_t *pk;          /* COVE_ID_LEN bytes */
	int self;
	int here;                   /* connected now (the relay's word, PRS) */
	uint64_t seen_ms;           /* when the relay last saw it connected; 0: unknown */
};

struct cove_chat_deps {
	/* Sends a frame to the relay. Returns 0 or a negative cove_err. */
	int (*send)(void *ctx, const struct cove_frame *f);
	void *send_ctx;
	uint64_t (*now_ms)(void);   /* wall clock, for timestamps and timers */
	uint64_t (*now_us)(void);   /* where sequence numbers start */
	/* Optional, and NULL in the node that ships: a test hook called with
	 * each group key the core takes, as it takes it, so that a test can
	 * show what a removed member's last key can and cannot open
	 * (tests/tools/keylog.c). gk (COVE_GK_LEN bytes) stays the core's and
	 * is valid only during the call. */
	void (*keylog)(void *ctx, const char *room, uint32_t epoch, const uint8_t *gk);
	void *keylog_ctx;
	struct cove_chat_persist persist;
};

/* Whether quitting (cove_chat_quit) says goodbye in every room, as
 * protocol version 1 did, so that the others rekey without us at once.
 * Version 2 makes a member whose node closed "away", not gone: it keeps
 * its rooms and gets what it missed when it comes back, and leaving is
 * explicit (cove_chat_leave). A program that wants the old behaviour
 * sets cove_chat_opts.bye_on_quit to 1. */
#define COVE_CHAT_BYE_ON_QUIT 0

struct cove_chat_opts {
	unsigned rekey_interval_s;  /* 0: COVE_CHAT_REKEY_INTERVAL_S */
	uint64_t rekey_messages;    /* 0: COVE_CHAT_REKEY_MESSAGES */
	int bye_on_quit;            /* 0: COVE_CHAT_BYE_ON_QUIT; 1: yes; -1: no */
};

struct cove_chat;

/* id, wl, relay_pk, ui and deps are borrowed and must outlive the core
 * (wl until replaced). opts may be NULL. Returns NULL when out of memory. */
struct cove_chat *cove_chat_new(const struct cove_ident *id, const struct cove_wl *wl,
				const uint8_t relay_pk[COVE_ID_LEN],
				const struct cove_chat_ui *ui, const struct cove_chat_deps *deps,
				const struct cove_chat_opts *opts);
void cove_chat_free(struct cove_chat *c);

/* Adds a room to join once connected. Returns 0, COVE_ERR_INVAL (bad
 * name), COVE_ERR_EXISTS or COVE_ERR_NOMEM. */
int cove_chat_add_room(struct cove_chat *c, const char *room);

/* Handles one frame from the relay; raw is its encoding (kept when a DAT
 * must wait for its key). Returns 0, or a negative cove_err when the node
 * cannot go on (the ui's error callback has said why). */
int cove_chat_frame(struct cove_chat *c, const struct cove_frame *f, const uint8_t *raw,
		    size_t len);

/* What the caller knows of the member signature a frame carries: that of
 * f by f->from, or for a FWD that of the frame inside it by its from. */
enum { COVE_CHAT_SIG_UNCHECKED = 0, COVE_CHAT_SIG_GOOD, COVE_CHAT_SIG_BAD };

/* cove_chat_frame(), with that signature checked by the caller over these
 * very bytes (sig GOOD or BAD), ahead of the frame's turn: cove-node
 * checks a catch-up's thousands on a second core (verify/). UNCHECKED:
 * the core checks, as cove_chat_frame() does. A signature by the relay is
 * always checked here. */
int cove_chat_frame_checked(struct cove_chat *c, const struct cove_frame *f, const uint8_t *raw,
			    size_t len, int sig);

/* The link may carry frames (the relay proved its key; cove-node's
 * nd_net_cb.linked): the core joins its rooms, without waiting for the
 * relay's WLC. Call it once per link, after cove_chat_link_down() for the
 * link before. Returns 0, or a negative cove_err when the node cannot
 * go on (the ui's error callback said why). */
int cove_chat_link_up(struct cove_chat *c);

/* The link is gone: rooms keep their keys and wait for the next link. */
void cove_chat_link_down(struct cove_chat *c);

/* Whether the relay has welcomed us on the current link. */
int cove_chat_authed(const struct cove_chat *c);

/* The relay's limits for our DATs (its WLC): rate a second after a burst
 * of burst. 0 leaves a value as it is. */
void cove_chat_set_limits(struct cove_chat *c, unsigned rate, unsigned burst);

/* Sends text to room (NULL: the first room), or queues it until the room
 * is ready. Returns 0; COVE_ERR_NOTFOUND (no such room), COVE_ERR_INVAL
 * (empty or longer than COVE_TEXT_MAX), COVE_ERR_UTF8, COVE_ERR_STATE (the
 * room could not be joined), COVE_ERR_LIMIT (queue full) or the send
 * error. */
int cove_chat_send_text(struct cove_chat *c, const char *room, const char *text, size_t len);

/* Asks the relay to have room (NULL: every ready room) rekeyed. Returns
 * 0 or COVE_ERR_NOTFOUND / COVE_ERR_STATE (not ready). */
int cove_chat_rekey(struct cove_chat *c, const char *room);

/* Says goodbye: a signed BYE for every room joined on this link, so the
 * others know at once that we left (and rekey without us). */
void cove_chat_leave_all(struct cove_chat *c);

/* The node is quitting (not leaving): cove_chat_leave_all() when
 * bye_on_quit (COVE_CHAT_BYE_ON_QUIT), else nothing, and the rooms stay
 * ours while we are away. Call it before the link is closed in good
 * order. */
void cove_chat_quit(struct cove_chat *c);

/* Leaves room for good: its BYE goes (the others rekey without us), its
 * keys are wiped, the persistence table forgets its state
 * (persist.forget), and the room is taken out of the core: names got
 * from cove_chat_room_name() before are no longer valid, and messages
 * still queued for it are dropped (said, as not_sent). Returns 0,
 * COVE_ERR_NOTFOUND, or COVE_ERR_STATE when the room is joined but the
 * link is down (the BYE cannot go now: leave once connected). */
int cove_chat_leave(struct cove_chat *c, const char *room);

/* Replaces the whitelist (borrowed; the old one may be freed after this
 * returns). Rooms where someone no longer on it is present are rekeyed,
 * so that they cannot read what follows. */
void cove_chat_set_whitelist(struct cove_chat *c, const struct cove_wl *wl);

/* Runs the timers: gaps, scheduled rekeys, old keys, held DATs. Call
 * every few tens of milliseconds. Returns 0, or COVE_ERR_TIMEOUT when a
 * room's catch-up has stalled (COVE_CHAT_SYN_TIMEOUT_MS with nothing of
 * it; the ui was told, as catch_up_stalled): drop the link and make a
 * new one, which asks again from where the catch-up stopped. */
int cove_chat_tick(struct cove_chat *c);

/* Messages queued and not yet sent. */
size_t cove_chat_queued(const struct cove_chat *c);

/* Calls fn for each message queued and not yet sent, oldest first (text
 * is borrowed for the call), so that a sender can be told which ones. */
void cove_chat_each_queued(const struct cove_chat *c,
			   void (*fn)(void *arg, const char *room, const char *text, size_t len),
			   void *arg);

/* Whether every room is ready or has failed (nothing left to wait for). */
int cove_chat_settled(const struct cove_chat *c);

/* Rooms that are ready. */
size_t cove_chat_ready_count(const struct cove_chat *c);

/* The rooms, in the order they were added. */
size_t cove_chat_room_count(const struct cove_chat *c);
const char *cove_chat_room_name(const struct cove_chat *c, size_t i);

/* Calls fn for each member of room here or away (not one that left),
 * ourselves first. Returns 0 or COVE_ERR_NOTFOUND. */
int cove_chat_members(const struct cove_chat *c, const char *room,
		      void (*fn)(void *arg, const struct cove_chat_member *m), void *arg);

/* Whether room is catching up (SYN sent, the relay's UPD not yet in). */
int cove_chat_catching_up(const struct cove_chat *c, const char *room);

/* Calls fn for each member present in room (self included, flagged). */
int cove_chat_who(const struct cove_chat *c, const char *room,
		  void (*fn)(void *arg, const char *name, const uint8_t pk[COVE_ID_LEN], int self),
		  void *arg);

#endif
