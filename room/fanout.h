/*
 * fanout.h - how a frame for a room reaches the members who should get
 * it: one table of functions, one backend per way of reaching them,
 * chosen once by the program (rm_deps.fanout):
 *
 *   fanout_local.c  this relay's own members, through their links (today's
 *                   relay: every member is a connection to it)
 *   (later)         a cluster's: published to the other relays too, each
 *                   of which delivers to its own members
 *
 * The room logic decides what goes to a room and to whom; a backend only
 * carries it. A frame for one member (a KEY, an ASK) does not come here:
 * it goes to that member's link.
 */
#ifndef COVE_ROOM_FANOUT_H
#define COVE_ROOM_FANOUT_H

#include <stddef.h>
#include <stdint.h>

struct rm_room;
struct rm_member;

/* Who of a room's members gets a frame. Members away, closing, or
 * catching up (they read it from the store) get nothing. */
enum rm_to {
	RM_TO_ALL,   /* every member present (INI, BYE) */
	RM_TO_KEYED, /* those who hold a key of the room or were sent one (DAT) */
};

/* A frame as it goes out: its bytes, and the same wrapped in a FWD with
 * its room sequence numbers (NULL: a frame that is not stored, PRS). */
struct rm_out {
	const uint8_t *raw;
	size_t len;
	const uint8_t *fwd;
	size_t fwd_len;
};

struct rm_fanout_ops {
	const char *name;
	/* Sends o (a frame of room r, borrowed for the call) to the
	 * members of r that `to` selects, but skip (may be NULL). Returns
	 * how many members it went to. */
	size_t (*send)(void *ctx, struct rm_room *r, const struct rm_member *skip,
		       const struct rm_out *o, enum rm_to to);
};

/* Delivers to this relay's own members, as rm_room_deliver() does. Its
 * ctx is unused. */
extern const struct rm_fanout_ops rm_fanout_local;

#endif
