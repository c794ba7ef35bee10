/*
 * int.h - the room logic's own structures, shared by its parts:
 *
 *   out.c     everything it sends: relay frames, ERRs, fan-out, log lines
 *   keep.c    what it records in the store, frames fanned out from their
 *             append's completion, and the rooms waiting to be routed
 *   room.c    rooms and members: leaving, and routing (first, ASK, REK)
 *             with their timeouts
 *   sync.c    catching up after SYN: FWDs read from the store, then UPD
 *   life.c    the hub, peers, and members across connections: joins,
 *             renewals, away and back, presence, expiry and removal,
 *             and the rooms loaded from the store at start
 *   frames.c  what members say once in a room: RDY, RKY, KEY, DAT
 *
 * each using only those above it in this list. Nothing outside room/
 * includes this.
 */
#ifndef COVE_ROOM_INT_H
#define COVE_ROOM_INT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "room/room.h"
#include "room/table.h"

#ifndef TAILQ_FOREACH_SAFE /* glibc's sys/queue.h predates it */
#define TAILQ_FOREACH_SAFE(var, head, field, tvar)                                   \
	for ((var) = TAILQ_FIRST(head); (var) && ((tvar) = TAILQ_NEXT(var, field), 1); \
	     (var) = (tvar))
#endif

/* Room for a frame the relay makes (INI, ASK, REK, BYE), whose largest
 * part is a room name of COVE_ROOM_MAX bytes. */
#define RM_OWN_FRAME_MAX 512
/* Identities remembered per room as departed since its epoch began. */
#define RM_DEPARTED_MAX 256

/* Room for a label of a member in a log line. */
#define RM_LABEL_MAX 96

/* Retention by age is applied this often. */
#define RM_TRIM_MS 60000u

struct rm_peer {
	struct rm_hub *hub;
	struct rm_link link;
	uint8_t pk[COVE_ID_LEN];
	struct rm_member **rooms;      /* its member of each room it is in */
	size_t nrooms;
};

/* One identity's place in one room. */
struct rm_member {
	/* it left since not_epoch began and joined again: it is asked for
	 * only once the room has a newer epoch */
	int wait_epoch;
	uint32_t not_epoch;
	TAILQ_ENTRY(rm_member) next;   /* room's members, in join order */
	struct rm_room *room;
	struct rm_peer *peer;          /* NULL while away */
	uint8_t pk[COVE_ID_LEN];
	uint64_t serial;               /* join order within the room */
	uint64_t joined_ms;            /* when it joined */
	uint64_t seen_ms;              /* when it was last connected */
	uint64_t since;                /* the rseq of its joining INI; 0: not known yet */
	uint8_t xpk[COVE_WXPK_LEN];    /* session key from its INI */
	uint8_t old_xpk[COVE_WXPK_LEN]; /* the one its latest INI replaced, for KEYs in flight */
	int has_old_xpk;
	uint64_t refreshed_ms;         /* when it joined or last replaced its session key */
	uint64_t last_rky_ms;          /* when its last RKY was acted on */
	uint8_t *ini;                  /* its signed INI, replayed to later joiners */
	size_t ini_len;
	int keyed;                     /* holds a key of the room, as far as we know */
	int epoch_known;
	uint32_t epoch;                /* the epoch it confirmed last (RDY) */
	int key_sent;                  /* a KEY went to it: it gets DATs from then on */
	int gone;                      /* closing or away: it counts for nothing */
	int returning;                 /* came back: its ask_timer runs while it may say
					* (RDY) which epoch it holds, before anyone is
					* asked for it */
	int catching;                  /* came back, and is sent what it missed (SYN) */
	int unconfirmed;               /* came back keyed, by the relay's records only:
					* no RDY on this connection yet */
	int synced;                    /* said SYN on this connection: frames in FWD */
	int joined_here;               /* became a member on this connection */
	uint64_t cu_after;             /* catching up: the last rseq sent */
	uint64_t cu_from, cu_from_dat; /* its SYN's cursor, for UPD's missed */
	/* while it needs the key (joining, or behind after a rekey) */
	struct rm_member *asked;       /* member expected to send it, or NULL */
	uint64_t asked_ms;             /* when that member was asked */
	uint64_t ask_seq;              /* the hub's count of ASKs then (0: a rekey's wait) */
	uint64_t ask_armed_ms;         /* when its timer last got the full timeout */
	struct rm_timer *ask_timer;
	uint64_t *tried;               /* serials of members that did not */
	size_t ntried;
	int stuck;                     /* every candidate failed it */
};

TAILQ_HEAD(rm_member_list, rm_member);

struct rm_room {
	struct rm_entry entry;         /* in the hub's table, by name */
	TAILQ_ENTRY(rm_room) route_next; /* in rm_hub.to_route */
	int route_pending;
	struct rm_hub *hub;
	uint64_t id;                   /* unique in the hub: a room made again is another */
	size_t inflight;               /* frames appended whose completion is to come */
	int route_held;                /* routing waits for them */
	char name[COVE_ROOM_MAX + 1];
	uint8_t name_len;
	struct rm_member_list members;
	size_t nmembers;
	uint64_t next_serial;
	int epoch_known;               /* the room's current epoch, once confirmed */
	uint32_t epoch;
	uint32_t epoch_top;            /* the highest epoch ever named or confirmed */
	/* rekeying: a member was named (REK) to make rekey_epoch */
	struct rm_member *rekeyer;
	uint32_t rekey_epoch;
	struct rm_timer *rekey_timer;
	int rekey_wanted;              /* someone left: rekey once possible */
	/* An RKY that came while a member here still waited for the current
	 * epoch's key: acted on once none does (rm_rky), so that no member
	 * can have epochs made faster than the others are given them. The
	 * member that asked (NULL: it has left), or the flag alone. */
	int rky_deferred;
	struct rm_member *rky_by;
	/* Who left, or was removed, and the epoch it held then: one of them
	 * joining again while the room is at a later epoch (made without it)
	 * gets the next one, not that. A member that saw it leave refuses it
	 * that key anyway; one that joined since cannot know. In memory only;
	 * the oldest are forgotten past RM_DEPARTED_MAX. */
	struct rm_departed {
		uint8_t pk[COVE_ID_LEN];
		uint32_t epoch;
	} *departed;
	size_t ndeparted;
};

struct rm_hub {
	struct rm_deps deps;
	struct rm_conf conf;
	struct rm_table rooms;
	TAILQ_HEAD(, rm_room) to_route; /* rooms to re-route from the loop */
	struct rm_timer *router;
	uint64_t next_room_id;
	uint64_t ask_seq;              /* ASKs sent so far: their order (rm_ask_progress) */
	TAILQ_HEAD(, rm_pending) pending; /* frames appended, completion to come */
	struct rm_timer *flusher;      /* commits the store at the end of the turn */
	int flush_armed;               /* flusher is set for this turn already */
	struct rm_timer *trimmer;      /* applies retention by age */
	struct rm_timer *sweeper;      /* removes members away past their expiry */
	uint64_t store_log_ms;         /* the last store failure logged */
	uint64_t store_quiet;          /* failures since, not logged */
};

/* ---- the state of a member ------------------------------------------------------ */

static inline int rm_live(const struct rm_member *m)
{
	return !m->gone;
}

/* Gets the room's frames as they come: here, and not catching up (it
 * reads them from the store then). */
static inline int rm_gets_live(const struct rm_member *m)
{
	return rm_live(m) && m->peer && !m->catching;
}

/* Holds the room's current epoch: may answer joins and catch-ups. While
 * the room's epoch is not known yet (a first member has not confirmed its
 * new key), its keyed member counts: it holds the key by the time an ASK,
 * sent after its "first", reaches it. */
static inline int rm_up_to_date(const struct rm_member *m)
{
	/* one back and unconfirmed is not asked: it may hold nothing */
	if (!rm_live(m) || !m->keyed || m->unconfirmed)
		return 0;
	if (!m->room->epoch_known)
		return 1;
	return m->epoch_known && m->epoch == m->room->epoch;
}

/* ---- what the hub depends on ---------------------------------------------------- */

static inline uint64_t rm_now(const struct rm_hub *h)
{
	return h->deps.now_ms(h->deps.ctx);
}

static inline void rm_arm(const struct rm_hub *h, struct rm_timer *t, uint64_t ms)
{
	h->deps.timers->arm(t, ms);
}

static inline void rm_cancel(const struct rm_hub *h, struct rm_timer *t)
{
	if (t)
		h->deps.timers->cancel(t);
}

/* ---- out.c ------------------------------------------------------------------------ */

/* A log line through deps.log, if any. */
void rm_say(const struct rm_hub *h, enum rm_log_level level, const char *file, int line,
	    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

#define rm_log_error(h, ...) rm_say((h), RM_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define rm_log_info(h, ...) rm_say((h), RM_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define rm_log_debug(h, ...) rm_say((h), RM_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)

/* "conn 7 alice" (its link's label), or "away AbCd..." without a link. */
const char *rm_who(const struct rm_member *m, char *buf, size_t cap);

/* Sends frame bytes to m. Returns 0 or a negative cove_err (away, or its
 * link refused them). */
int rm_send_raw(const struct rm_member *m, const uint8_t *raw, size_t len);

/* Zeroes f and makes it a frame of type about r. */
void rm_own_frame(struct cove_frame *f, uint8_t type, const struct rm_room *r);

/* Signs f as the relay and sends it to m. Returns 0 or negative. */
int rm_send_own(const struct rm_member *m, struct cove_frame *f);

/* Signs f as the relay into buf (RM_OWN_FRAME_MAX bytes), *len bytes.
 * Returns 0 or negative. */
int rm_sign_own(const struct rm_room *r, struct cove_frame *f, uint8_t *buf, size_t *len);

/* Sends o to the members of r that `to` selects but skip, through the
 * fan-out backend; rm_fan_raw: a frame that is not stored (no FWD).
 * Returns how many it went to. */
size_t rm_fan_out(struct rm_room *r, const struct rm_member *skip, const struct rm_out *o,
		  enum rm_to to);
size_t rm_fan_raw(struct rm_room *r, const struct rm_member *skip, const uint8_t *raw,
		  size_t len, enum rm_to to);

/* Sends o to m: its FWD when m said SYN, else its bytes. */
int rm_send_out(const struct rm_member *m, const struct rm_out *o);

/* Sends m a signed ERR with code about its room. */
void rm_tell(const struct rm_member *m, uint32_t code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- keep.c ----------------------------------------------------------------------- */

/* Records r (its epochs and join order), or forgets it with its members
 * and frames (its last member has gone). */
void rm_keep_room(struct rm_room *r);
void rm_keep_room_del(struct rm_room *r);

/* Records m as it stands, or forgets it (it left or was removed). */
void rm_keep_member(struct rm_member *m);
void rm_keep_member_del(struct rm_member *m);

/* Appends a frame of r, raw (len bytes, copied), of type by from, and
 * fans it out from the append's completion: a KEY (to and xpk set) to its
 * addressee, a DAT to the members keyed but from, an INI or BYE to every
 * member here but from. join: an INI that made from a member (its since
 * is set from the frame's rseq). Without a store, at once. Until the
 * completion, r's routing waits (room_route). */
void rm_keep_frame(struct rm_room *r, uint8_t type, const uint8_t from[COVE_ID_LEN],
		   const uint8_t *to, const uint8_t *xpk, int join, const uint8_t *raw,
		   size_t len);

/* Signs f as the relay and keeps it, as rm_keep_frame (a BYE). */
void rm_keep_own(struct rm_room *r, struct cove_frame *f);

/* Encodes a FWD of raw (len bytes) with its rseq and rdat into buf (cap
 * bytes), *out_len bytes. Returns 0 or negative (too large: sent bare). */
int rm_fwd_encode(uint64_t rseq, uint64_t rdat, const uint8_t *raw, size_t len, uint8_t *buf,
		  size_t cap, size_t *out_len);

/* ---- sync.c ----------------------------------------------------------------------- */

/* m's catch-up, if any, ends (its connection goes or it came back). */
void rm_sync_stop(struct rm_member *m);

/* The room called name, or NULL. */
struct rm_room *rm_room_find(const struct rm_hub *h, const char *name, size_t len);

/* Re-routes r from the loop, after whatever is iterating now (routing
 * itself is room.c's: route_cb). */
void rm_schedule(struct rm_room *r);

/* r's member of identity pk, or NULL. */
struct rm_member *rm_room_member(struct rm_room *r, const uint8_t pk[COVE_ID_LEN]);

/* The member of r a KEY to `to` sealed to xpk is for (its latest session
 * key or the one that replaced it), or NULL. */
struct rm_member *rm_key_addressee(struct rm_room *r, const uint8_t to[COVE_ID_LEN],
				   const uint8_t xpk[COVE_WXPK_LEN]);

/* Timer callbacks of the hub (arg: the hub): commits the store's writes
 * of this turn, and applies retention by age. */
void rm_keep_flush(void *arg);
void rm_keep_trim(void *arg);

/* The hub is going: completions still to come only free their frames. */
void rm_keep_orphan(struct rm_hub *h);

/* ---- room.c ----------------------------------------------------------------------- */


struct rm_timer *rm_timer_new(const struct rm_hub *h, rm_timer_fn fn, void *arg);
void rm_timer_free(const struct rm_hub *h, struct rm_timer *t);

/* A room called name (len <= COVE_ROOM_MAX), in the hub's table, recorded
 * in the store with keep; NULL when out of memory. Freed, once empty, by
 * rm_room_free. */
struct rm_room *rm_room_new(struct rm_hub *h, const char *name, size_t len, int keep);
void rm_room_free(struct rm_room *r);

/* A member of r with its INI (copied), in no list yet; NULL when out of
 * memory. Freed by rm_member_free (which detaches it from its peer). */
struct rm_member *rm_member_new(struct rm_room *r, const uint8_t *ini, size_t ini_len);
void rm_member_free(struct rm_member *m);

/* m is no longer reached through its peer. */
void rm_detach(struct rm_member *m);

/* Takes m out of its room. With announce, the others are told (bye: the
 * member's own signed BYE; NULL: one signed by the relay) and the room is
 * to be rekeyed. Never routes directly: callers may be iterating. Frees
 * the room when it empties. */
void rm_member_remove(struct rm_member *m, int announce, const uint8_t *bye, size_t bye_len);

/* Restores the room's invariants: someone live holds a key (or is making
 * one) whenever anyone is in the room; a due rekey has a rekeyer; every
 * member that needs the current key has someone asked on its behalf.
 * Waits while frames of the room are in flight. */
void rm_route(struct rm_room *r);
/* Whether pk left r, or was removed, holding an epoch below r's current
 * one (so that this one was made without it); it is forgotten there. */
int rm_departed_before(struct rm_room *r, const uint8_t pk[COVE_ID_LEN]);

/* The router's timer callback (arg: the hub): routes the rooms scheduled. */
void rm_route_cb(void *arg);

/* m no longer waits for anyone to give it the key. */
void rm_clear_join(struct rm_member *m);

/* Every member may be asked for again (one more can answer). */
void rm_unstick_all(struct rm_room *r);

/* k handed j a key (a KEY): when j had asked k for it, k is answering
 * its ASKs, in order, only slowly (a storm of joins queues many behind
 * each other), so everyone that asked k after j gets the join timeout
 * again, up to RM_ASK_PATIENCE timeouts since it asked: a member that
 * answers goes on being asked, one that drips answers holds nobody
 * longer than that, and one that skips someone (a KEY to a later asker
 * first, or a rekeyer sealing to some only) gains it no time. */
void rm_ask_progress(struct rm_member *k, const struct rm_member *j);

/* Whether a member here still waits for r's current epoch (a joiner, or
 * one behind after a rekey) and may yet be given it. */
int rm_someone_waits(const struct rm_room *r);

/* Names a member to make the next epoch (REK): prefer, else the
 * longest-present member holding the current one. */
void rm_designate(struct rm_room *r, struct rm_member *prefer);

/* No rekey is under way any more. */
void rm_cancel_rekey(struct rm_room *r);

#endif
