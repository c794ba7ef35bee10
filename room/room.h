/*
 * room.h - the relay's rooms: who is in each, who holds which epoch of
 * its key, and what must happen next (PROTOCOL.md 5): joins and the ASKs
 * that route them, rekeys (REK), members away and back (PRS, SYN, UPD,
 * FWD; docs/design/persistent-rooms.md), and the checks of RDY, RKY and
 * KEY. No sockets, no event loop, no clock of its own:
 * everything that varies arrives in struct rm_deps, so that
 * tests/unit/test_room.c drives it with a fake clock, fake timers and a
 * fake network, in milliseconds.
 *
 * The relay's program (rendezvous/) checks each frame first (sender,
 * whitelist, sequence, rate, signature) and hands only good ones here.
 * This layer trusts those checks and nothing else: what a frame means for
 * the room is decided here.
 *
 *   hub     every room of one relay, and what they depend on
 *   peer    one identity connected to this relay, with a link to reach it
 *           (rendezvous/conn.c implements the link for a connection; a
 *           cluster will add links to members on other relays); a peer
 *           is a member of up to conf.max_rooms rooms
 *   member  one identity's place in one room; it outlives its peer (it
 *           is then "away") until it leaves, expires or is removed
 *
 * Not thread-safe: one hub is used from one loop. Links and fan-out are
 * called from inside these functions and may call back only
 * rm_peer_closing() (a link that finds its reader too slow closes it
 * there and then), which frees nothing; timers fire from the loop.
 */
#ifndef COVE_ROOM_ROOM_H
#define COVE_ROOM_ROOM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "room/fanout.h"
#include "room/timer.h"
#include "store/store.h"
#include "wire/frame.h"

/* How the room logic reaches one peer. */
struct rm_link_ops {
	/* Sends a frame's bytes to the peer as they are (borrowed for the
	 * call). Returns 0, or a negative cove_err: not sent (the peer is
	 * going away; its owner says so with rm_peer_closing()). */
	int (*send)(void *ctx, const uint8_t *raw, size_t len);
	/* Tells the peer, with a signed ERR of code (COVE_EC_*) about room,
	 * what went wrong; text is the reason, NUL-terminated. */
	void (*err)(void *ctx, const char *room, uint32_t code, const char *text);
	/* Names the peer for a log line ("conn 7 alice"), in buf. */
	const char *(*label)(void *ctx, char *buf, size_t cap);
	/* Bytes sent to the peer and not yet written out. A catch-up reads
	 * more from the store only while this is small; the owner calls
	 * rm_peer_drained() when it has fallen. */
	size_t (*queued)(void *ctx);
};

struct rm_link {
	const struct rm_link_ops *ops;
	void *ctx;
};

enum rm_log_level { RM_LOG_ERROR, RM_LOG_WARN, RM_LOG_INFO, RM_LOG_DEBUG };

/* What happened, counted; the program owns the counters and reads them. */
struct rm_stats {
	uint64_t joins, firsts, asks, ask_timeouts, join_failures;
	uint64_t rekeys, rekey_timeouts, leaves;
	uint64_t returns, expired, removed;     /* came back; removed: expiry, whitelist */
	uint64_t syncs, caught_up;              /* SYNs; frames sent in catch-ups */
	uint64_t frames_forwarded, deliveries; /* KEYs and DATs passed on; copies sent */
	uint64_t store_failures;        /* writes the store refused or failed to commit */
};

/* Everything the room logic gets from its program. Borrowed: each must
 * outlive the hub. */
struct rm_deps {
	void *ctx;                      /* for now_ms, sign and log */
	/* The wall clock, in milliseconds. */
	uint64_t (*now_ms)(void *ctx);
	/* Fills f's from, seq and ts as the relay's and signs it. Returns 0
	 * or a negative cove_err. */
	int (*sign)(void *ctx, struct cove_frame *f);
	/* A log line, with the place it comes from; never a key. NULL:
	 * nothing is logged. */
	void (*log)(void *ctx, enum rm_log_level level, const char *file, int line,
		    const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
	const struct rm_timer_ops *timers;
	void *timers_ctx;
	const struct rm_fanout_ops *fanout;
	void *fanout_ctx;
	struct rm_stats *stats;         /* added to, never reset */
	/* Where rooms, members, epochs and the frames fanned out are kept
	 * (design note persistent-rooms.md; NULL: nowhere). The room logic
	 * records a room when it is made or its epochs change, a member when
	 * it joins, renews its INI or confirms an epoch, forgets them when
	 * they leave or the room empties, and appends each INI, KEY, DAT and
	 * BYE it accepts, fanning the frame out from the append's
	 * completion, so that nothing is delivered that the store does not
	 * hold. It commits the store (cove_store_flush) from a timer of 0 ms
	 * armed at each append: once per turn of the loop, after the turn's
	 * frames are acted on. A store that fails costs no live delivery
	 * (stats.store_failures). The program closes the store after
	 * rm_hub_free. */
	struct cove_store *store;
};

/* A member asked for a key that goes on handing keys to others (a storm
 * of joins queues many ASKs to it) is given the join timeout again with
 * each, up to this many timeouts since it was asked. */
#define RM_ASK_PATIENCE 4

struct rm_conf {
	size_t max_rooms;               /* rooms one peer may be in at once */
	unsigned join_timeout_ms;       /* time a member has to answer an ASK or a REK,
					 * while it answers none (RM_ASK_PATIENCE) */
	uint64_t member_expiry_ms;      /* a member away this long is removed; 0: never */
};

struct rm_hub;
struct rm_peer;
struct rm_room;
struct rm_member;

/* A hub with no rooms. deps and conf are copied. NULL when out of memory. */
struct rm_hub *rm_hub_new(const struct rm_deps *deps, const struct rm_conf *conf);

/* Frees every room, member and timer. Call after every peer is freed.
 * NULL is a no-op. */
void rm_hub_free(struct rm_hub *h);

/* Rooms that exist (a room exists while it has a member, away or not). */
size_t rm_hub_nrooms(const struct rm_hub *h);

/* The epoch of room (len bytes) that a member confirmed as current:
 * 1 with *epoch set, or 0 when there is no such room or no confirmed
 * epoch yet (a first member has not said which it made). */
int rm_hub_epoch(const struct rm_hub *h, const char *room, size_t len, uint32_t *epoch);

/* Whether identity pk is a member of room (len bytes): 0 not, 1 here
 * (connected, in it on its connection), 2 away. */
int rm_hub_member(const struct rm_hub *h, const char *room, size_t len,
		  const uint8_t pk[COVE_ID_LEN]);

/* A peer of identity pk, reached through link (copied). It is in no room
 * yet. NULL when out of memory. Freed by rm_peer_free(). */
struct rm_peer *rm_peer_new(struct rm_hub *h, const uint8_t pk[COVE_ID_LEN],
			    const struct rm_link *link);

/* p's connection is closing: from now on it holds no key, gets nothing
 * and answers nothing in any room; the rooms route around it from the
 * loop (a timer of 0 ms), never inside this call, so the caller may be
 * iterating rooms or peers. */
void rm_peer_closing(struct rm_peer *p);

/* Frees p. Each of its members is away: still a member, told of nothing,
 * asked nothing; the others are told (PRS). No BYE, no rekey. NULL is a
 * no-op. */
void rm_peer_free(struct rm_peer *p);

/* p's link has written out most of what it was sent: the catch-ups of
 * its members go on. */
void rm_peer_drained(struct rm_peer *p);

/* p's member of room, or NULL when p is not in it. */
struct rm_member *rm_peer_member(const struct rm_peer *p, const char *room, size_t len);

/* p joins room (created if need be) with its checked INI, ini (ini_len
 * bytes, copied), whose session key is xpk: the members and p learn of
 * each other from their INIs and PRS, and p is given the key (an ASK)
 * or told it is first. From an identity that is a member (away, or on an
 * older connection) it is a return: it takes its place back. An INI for
 * a room p is in renews p's session key instead. Returns 0, or the COVE_EC_* code to refuse the INI with:
 * ALREADY_JOINED (a renewal within a second of the last), LIMIT
 * (conf.max_rooms, or out of memory). */
int rm_join(struct rm_peer *p, const char *room, size_t len, const uint8_t xpk[COVE_WXPK_LEN],
	    const uint8_t *ini, size_t ini_len);

/* m, here, asks for what it missed (SYN): every stored frame for it after
 * rseq after (or since it joined), as FWDs, read from the store as its
 * link drains, then UPD; 2^64-1, or a member that joined on this
 * connection, gets UPD at once. Before its SYN a member gets frames bare,
 * after it in FWD. Returns 0, or COVE_EC_ALREADY_JOINED (a second SYN on
 * this connection). */
int rm_syn(struct rm_member *m, uint64_t after, uint64_t after_dat);

/* Removes, with a BYE signed by the relay and a rekey, every member of
 * every room, here or away, whose identity keep(arg, pk) says no to (the
 * whitelist no longer has it). Returns how many places were removed. */
size_t rm_hub_remove(struct rm_hub *h, int (*keep)(void *arg, const uint8_t pk[COVE_ID_LEN]),
		     void *arg);

/* Loads the rooms and members deps.store holds, before any peer: every
 * member away, epochs as stored. Returns 0 or a negative cove_err. */
int rm_hub_load(struct rm_hub *h);

/* m leaves its room (its own BYE, bye, is passed on; bye NULL: one signed
 * by the relay) and is freed; the room is rekeyed. */
void rm_leave(struct rm_member *m, const uint8_t *bye, size_t bye_len);

/* m says it holds epoch (RDY). Returns 0, or COVE_EC_STALE_EPOCH with the
 * reason in why (cap bytes): an epoch nobody gave it to make, or a first
 * key above COVE_EPOCH_FIRST_MAX. */
int rm_rdy(struct rm_member *m, uint32_t epoch, char *why, size_t cap);

/* m asks for a rekey (RKY) at epoch: acted on only from a member holding
 * the current epoch, with no rekey under way, once a second per member.
 * Returns 0 (a request is never refused, only served or not). */
int rm_rky(struct rm_member *m, uint32_t epoch);

/* k hands over a key: the KEY f, raw (len bytes), goes to the member it
 * names, by identity and session key, and to nobody else. Returns 0 (also
 * when its addressee has gone: dropped), or COVE_EC_NOT_MEMBER (k holds no
 * key) or COVE_EC_STALE_EPOCH (not for the current epoch, or k does not
 * hold it), with the reason in why. */
int rm_key(struct rm_member *k, const struct cove_frame *f, const uint8_t *raw, size_t len,
	   char *why, size_t cap);

/* A DAT of m, raw (len bytes), to every other member that holds a key of
 * the room or was sent one. Returns 0, or COVE_EC_NOT_MEMBER when m holds
 * no key (nothing is sent). */
int rm_dat(struct rm_member *m, const uint8_t *raw, size_t len);

/* For fan-out backends: sends o to this relay's own members of r that
 * `to` selects, but skip: o->fwd to those that said SYN, when there is
 * one, else o->raw. Returns how many it went to. */
size_t rm_room_deliver(struct rm_room *r, const struct rm_member *skip, const struct rm_out *o,
		       enum rm_to to);

#endif
