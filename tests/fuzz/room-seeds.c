/*
 * room-seeds.c - writes the seed corpus of fuzz_room: the stories of
 * tests/unit/test_room.c told as operations (room_ops.h), each also in a
 * second room with other peers, so that the fuzzer starts from every
 * state the unit tests reach.
 *
 *   room-seeds DIR     writes DIR/NAME for each story (DIR must exist)
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/room_ops.h"

enum { A, B, C, D };

static const char *outdir;
static uint8_t buf[4096];
static size_t len;
/* Peers and room of the story being written: 0 keeps them, others shift
 * them, so the same story runs elsewhere. */
static int shift;

static void op(enum room_op o, int n, ...)
{
	va_list ap;

	buf[len++] = (uint8_t)o;
	va_start(ap, n);
	for (int k = 0; k < n; k++) {
		int v = va_arg(ap, int);

		/* the first argument is a peer, the second (but for TICK) a room */
		if (k == 0 && o != ROOM_OP_TICK)
			v += shift;
		else if (k == 1)
			v += shift;
		buf[len++] = (uint8_t)v;
	}
	va_end(ap);
}

#define CONNECT(p) op(ROOM_OP_CONNECT, 1, p)
#define JOIN(p) op(ROOM_OP_JOIN, 2, p, 0)
#define RDY(p, e) op(ROOM_OP_RDY, 3, p, 0, e)
#define RKY(p, e) op(ROOM_OP_RKY, 3, p, 0, e)
#define KEY(p, to, e) op(ROOM_OP_KEY, 5, p, 0, (to) + shift, e, ROOM_X_CURRENT)
#define KEY_X(p, to, e, x) op(ROOM_OP_KEY, 5, p, 0, (to) + shift, e, x)
#define DAT(p) op(ROOM_OP_DAT, 2, p, 0)
#define BYE(p) op(ROOM_OP_BYE, 2, p, 0)
#define LOST(p) op(ROOM_OP_LOST, 1, p)
#define CLOSING(p) op(ROOM_OP_CLOSING, 1, p)
#define REVOKE(p) op(ROOM_OP_REVOKE, 1, p)
#define TICK(t) op(ROOM_OP_TICK, 1, t)

/* the room's epoch, and the epoch of the last REK the peer got */
#define E_ROOM (ROOM_E_ROOM + 1)
#define E_REK ROOM_E_REK

static void put(const char *name)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s%s", outdir, name, shift ? "-moved" : "");
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "room-seeds: cannot write %s\n", path);
		exit(1);
	}
	len = 0;
}

/* Peers 0..n-1 join one by one, each keyed at the room's epoch by A. */
static void keyed(int n)
{
	for (int p = 0; p < n; p++) {
		CONNECT(p);
		JOIN(p);
		if (p > 0)
			KEY(A, p, E_ROOM);
		RDY(p, p ? E_ROOM : 0);
	}
}

static void stories(void)
{
	keyed(1);
	put("first-join");

	keyed(2);
	DAT(A);
	DAT(B);
	put("second-joiner-keyed");

	CONNECT(A), CONNECT(B), JOIN(A), JOIN(B), RDY(A, 0);
	put("two-joiners-at-once");

	keyed(2), CONNECT(C), JOIN(C), TICK(ROOM_T_S(3)), KEY(B, C, E_ROOM), RDY(C, E_ROOM);
	put("refusing-member");

	keyed(2), CONNECT(C), JOIN(C), TICK(ROOM_T_S(6));
	put("join-fails");

	keyed(3), BYE(C), RDY(A, E_REK), KEY(A, B, E_ROOM), RDY(B, E_ROOM), DAT(A);
	put("rekey-on-leave");

	keyed(4), BYE(D), RDY(A, E_REK), KEY(A, C, E_ROOM), RDY(C, E_ROOM), TICK(ROOM_T_S(3));
	put("rekeyer-misses-one");

	keyed(3), BYE(C), TICK(ROOM_T_S(3)), RDY(A, E_ROOM + 1), RDY(B, E_REK);
	put("silent-rekeyer");

	keyed(3), BYE(C), BYE(A), RDY(B, E_REK);
	put("rekeyer-leaves");

	keyed(2), RKY(B, E_ROOM), RDY(B, E_REK), RKY(B, E_ROOM), TICK(ROOM_T_S(1)),
		RKY(B, E_ROOM);
	put("rky-once-a-second");

	keyed(3);
	for (int e = 0; e < 5; e++)
		RKY(C, E_ROOM), RDY(C, E_REK), TICK(ROOM_T_S(1));
	BYE(C), RDY(A, E_REK);
	put("racing-epochs");

	CONNECT(A), JOIN(A), RDY(A, ROOM_E_EDGE + 3), RDY(A, ROOM_E_EDGE + 1),
		RDY(A, ROOM_E_EDGE + 0);
	put("first-rdy-edges");

	keyed(2), RDY(B, 7), RKY(A, E_ROOM), RDY(B, E_REK);
	put("rdy-not-named");

	keyed(3), CONNECT(D), JOIN(D), KEY_X(A, D, E_ROOM, ROOM_X_NONE), KEY(A, D, E_ROOM);
	put("key-to-named-joiner");

	keyed(2), TICK(ROOM_T_S(1)), JOIN(B), KEY_X(A, B, E_ROOM, ROOM_X_OLD);
	put("key-to-old-session-key");

	keyed(2), CONNECT(C), JOIN(C), DAT(A), DAT(C), KEY(A, C, E_ROOM), DAT(A);
	put("broadcast-keyed-only");

	keyed(2), LOST(B), DAT(A), TICK(ROOM_T_S(10)), RDY(A, E_REK);
	put("grace-expiry");

	keyed(2), LOST(B), TICK(ROOM_T_S(9)), CONNECT(B), JOIN(B), KEY(A, B, E_ROOM),
		RDY(B, E_ROOM), TICK(ROOM_T_S(20));
	put("back-within-grace");

	keyed(2), REVOKE(B), RDY(A, E_REK);
	put("revoked");

	keyed(2), CONNECT(C), JOIN(C), CLOSING(A), DAT(B), LOST(A);
	put("closing-ask-moves-on");

	keyed(1), CONNECT(B), JOIN(B), LOST(A), RDY(B, 0);
	put("key-holder-away");

	CONNECT(A);
	for (int r = 0; r < ROOM_FUZZ_ROOMS; r++)
		op(ROOM_OP_JOIN, 2, A, r - shift);
	put("room-limit");
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: room-seeds DIR\n");
		return 2;
	}
	outdir = argv[1];
	stories();
	shift = 1;
	stories();
	return 0;
}
