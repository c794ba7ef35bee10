/*
 * room_ops.h - the input of fuzz_room: a sequence of operations on the
 * relay's room logic, each an opcode byte (taken modulo ROOM_OP_COUNT)
 * and then its argument bytes, all in the world of
 * tests/unit/room_world.h (peers 0..7, rooms "r0".."r4"). An operation cut
 * short by the end of the input is not done. room-seeds.c writes the seed
 * corpus with the same encoding.
 */
#ifndef COVE_TESTS_FUZZ_ROOM_OPS_H
#define COVE_TESTS_FUZZ_ROOM_OPS_H

#include <stdint.h>

#include "proto/msg.h"

#define ROOM_FUZZ_ROOMS 5

enum room_op {
	ROOM_OP_CONNECT, /* peer: connects, replacing its connection if it has one */
	ROOM_OP_JOIN,    /* peer room: an INI with a new session key */
	ROOM_OP_RDY,     /* peer room epoch */
	ROOM_OP_RKY,     /* peer room epoch */
	ROOM_OP_KEY,     /* peer room to epoch xpk: a KEY to peer `to` */
	ROOM_OP_DAT,     /* peer room */
	ROOM_OP_BYE,     /* peer room */
	ROOM_OP_LOST,    /* peer: its connection ends; its places are away */
	ROOM_OP_CLOSING, /* peer: its connection starts closing */
	ROOM_OP_REVOKE,  /* peer: removed from the whitelist, out of every room at once */
	ROOM_OP_TICK,    /* time: the clock moves on */
	ROOM_OP_COUNT
};

/* Argument bytes of each operation. */
static const uint8_t room_op_args[ROOM_OP_COUNT] = {
	[ROOM_OP_CONNECT] = 1, [ROOM_OP_JOIN] = 2, [ROOM_OP_RDY] = 3, [ROOM_OP_RKY] = 3,
	[ROOM_OP_KEY] = 5,     [ROOM_OP_DAT] = 2,  [ROOM_OP_BYE] = 2, [ROOM_OP_LOST] = 1,
	[ROOM_OP_CLOSING] = 1, [ROOM_OP_REVOKE] = 1, [ROOM_OP_TICK] = 1,
};

/* An epoch argument: a small number itself (0x00-0x3f); the epoch of the
 * last REK the peer got in that room (ROOM_E_REK, 0x40-0x7f); the room's
 * confirmed epoch minus one, itself, plus one or plus two (ROOM_E_ROOM +
 * 0..3, 0x80-0xbf); or one of the edges of room_e_edges (ROOM_E_EDGE +
 * 0..7, 0xc0-0xff). */
#define ROOM_E_REK 0x40
#define ROOM_E_ROOM 0x80
#define ROOM_E_EDGE 0xc0
static const uint32_t room_e_edges[8] = {
	COVE_EPOCH_FIRST_MAX, COVE_EPOCH_FIRST_MAX + 1, COVE_EPOCH_END - 1, COVE_EPOCH_END,
	COVE_EPOCH_STEP_MAX, COVE_EPOCH_STEP_MAX + 1, 0x80000000u, 2,
};

/* An xpk argument of a KEY (modulo 3): the addressee's session key, the
 * one it replaced, or one it never had. */
enum { ROOM_X_CURRENT, ROOM_X_OLD, ROOM_X_NONE };

/* A time argument: 8 ms steps (0x00-0x7f), 100 ms steps (0x80-0xbf) or
 * seconds (0xc0-0xff). */
static inline uint64_t room_op_ms(uint8_t t)
{
	if (t < 0x80)
		return t * 8u;
	if (t < 0xc0)
		return (t & 0x3fu) * 100u;
	return (t & 0x3fu) * 1000u;
}

#define ROOM_T_MS(ms) ((uint8_t)((ms) / 8))           /* ms < 1024, a multiple of 8 */
#define ROOM_T_100MS(n) ((uint8_t)(0x80 | (n)))       /* n < 64 */
#define ROOM_T_S(n) ((uint8_t)(0xc0 | (n)))           /* n < 64 */

#endif
