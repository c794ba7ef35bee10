/*
 * fuzz_room.c - libFuzzer target: the relay's room logic (room/room.h)
 * driven by sequences of operations (room_ops.h: peers connecting,
 * joining, confirming epochs, asking for rekeys, handing over keys,
 * sending, leaving, losing their connection, being revoked, and the clock
 * moving on) in the fake world of tests/unit/room_world.h.
 *
 * A model of each peer's place in each room, kept from what the room
 * logic returns and sends, is checked at every frame and after every
 * operation:
 *
 *   - nothing goes to a connection that is closing or gone;
 *   - a KEY goes only to the peer it names, sealed to a session key the
 *     relay took from that peer for that room, and it does go there;
 *   - a DAT goes to exactly the other members present that hold a key of
 *     the room or were sent one, and only from a member holding one;
 *   - a member whose connection goes is away: still a member (PRS
 *     about it, no BYE), back with its next INI; only whitelist removal
 *     (REVOKE) or its expiry take it out;
 *   - ASK, REK, BYE and the relay's INI go only to members present; ASK
 *     and REK name their recipient, an ASK a member joining with its
 *     session key;
 *   - a REK never names 2^32 - 1, nor an epoch at or below the room's or
 *     one a member present confirmed: epochs only rise; no member
 *     present holds an epoch above the room's; a room's first RDY above
 *     2^31 - 1 is refused;
 *   - who the room logic counts as a member, here or away, is who the
 *     model does (an away member may be gone past its expiry);
 *   - every timer is freed with the hub.
 *
 * ASan and UBSan catch the rest, such as a member freed while another
 * still points at it.
 */
#include <string.h>

#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/room_ops.h"
#include "tests/unit/room_world.h"

/* What the model knows of one peer in one room. */
struct place {
	int member;                    /* a member of the room, here or away */
	int in;                        /* a member on its current connection */
	int joined_here;               /* became one on its current connection */
	int unconfirmed;               /* back keyed, no RDY since */
	uint64_t away_ms;              /* when it went away */
	int keyed, key_sent;
	int epoch_known;
	uint32_t epoch;                /* confirmed with its last accepted RDY */
	uint8_t xpk[COVE_WXPK_LEN];    /* the session key the relay took last */
	uint8_t old[COVE_WXPK_LEN];    /* the one that replaced */
	int has_old;
	uint32_t rek;                  /* the epoch of the last REK it got */
};

static struct {
	struct rw_world w;
	struct place m[RW_PEERS][ROOM_FUZZ_ROOMS];
	int key_to, key_got;           /* a KEY op: its addressee; copies it got */
	int dat_from, dat_room;        /* a DAT op */
	int dat_got[RW_PEERS];
} F;

static const char *const room_names[ROOM_FUZZ_ROOMS] = { "r0", "r1", "r2", "r3", "r4" };

static int live(int i)
{
	return F.w.peer[i].p && !F.w.peer[i].closing;
}

static int present(int i, int r)
{
	return live(i) && F.m[i][r].in;
}

static int room_of(const char *name, size_t len)
{
	for (int r = 0; r < ROOM_FUZZ_ROOMS; r++)
		if (strlen(room_names[r]) == len && memcmp(room_names[r], name, len) == 0)
			return r;
	FUZZ_CHECK(0, "a frame of room '%.*s', which nobody joined", (int)len, name);
	return 0;
}

static int peer_of(const uint8_t pk[COVE_ID_LEN])
{
	uint8_t want[COVE_ID_LEN];

	for (int i = 0; i < RW_PEERS; i++) {
		rw_pk(want, i);
		if (memcmp(pk, want, COVE_ID_LEN) == 0)
			return i;
	}
	return -1;
}

static int from_relay(const struct cove_frame *f)
{
	return f->from[0] == 0xee;
}

/* The room's confirmed epoch, or -1. */
static int64_t room_epoch(int r)
{
	uint32_t e;

	return rm_hub_epoch(F.w.hub, room_names[r], strlen(room_names[r]), &e) ? (int64_t)e : -1;
}

/* i's connection is going: its places are away. */
static void gone(int i)
{
	for (int r = 0; r < ROOM_FUZZ_ROOMS; r++) {
		if (F.m[i][r].in)
			F.m[i][r].away_ms = F.w.now;
		F.m[i][r].in = 0;
		F.m[i][r].joined_here = 0;
	}
}

static int keep_but(void *arg, const uint8_t pk[COVE_ID_LEN])
{
	return peer_of(pk) != *(const int *)arg;
}

/* i is dropped from the whitelist: out of every room. */
static void revoke(int i)
{
	gone(i);
	rw_disconnect(&F.w, i);
	rm_hub_remove(F.w.hub, keep_but, &i);
	for (int r = 0; r < ROOM_FUZZ_ROOMS; r++)
		F.m[i][r].member = 0;
}

/* ---- every frame ----------------------------------------------------------------- */

static void check_rek(int i, int r, const struct cove_frame *f)
{
	int64_t e = room_epoch(r);

	FUZZ_CHECK(peer_of(f->u.rek.to) == i, "a REK for another went to peer %d", i);
	FUZZ_CHECK(f->u.rek.epoch != COVE_EPOCH_END, "a REK named epoch 2^32-1");
	FUZZ_CHECK(e < 0 || f->u.rek.epoch > e, "a REK named epoch %u in a room at %lld",
		   f->u.rek.epoch, (long long)e);
	for (int k = 0; k < RW_PEERS; k++)
		FUZZ_CHECK(!present(k, r) || !F.m[k][r].epoch_known ||
				   f->u.rek.epoch > F.m[k][r].epoch,
			   "a REK named epoch %u; peer %d holds %u", f->u.rek.epoch, k,
			   F.m[k][r].epoch);
	F.m[i][r].rek = f->u.rek.epoch;
}

static void check_ask(int i, int r, const struct cove_frame *f)
{
	int j = peer_of(f->u.ask.joiner);

	FUZZ_CHECK(peer_of(f->u.ask.to) == i, "an ASK for another went to peer %d", i);
	FUZZ_CHECK(j >= 0 && j != i && present(j, r), "peer %d asked for joiner %d, not in", i,
		   j);
	FUZZ_CHECK(memcmp(f->u.ask.xpk, F.m[j][r].xpk, COVE_WXPK_LEN) == 0,
		   "an ASK for peer %d with a session key it did not give", j);
}

static void on_send(struct rw_world *w, int i, const uint8_t *raw, size_t len)
{
	struct cove_frame f;
	struct place *s;
	int r;

	(void)w;
	FUZZ_CHECK(cove_frame_decode(&f, raw, len) == COVE_OK, "undecodable frame to peer %d", i);
	FUZZ_CHECK(live(i), "a frame of type %u to peer %d, whose connection is %s", f.type, i,
		   F.w.peer[i].p ? "closing" : "gone");
	r = room_of(f.room, f.room_len);
	s = &F.m[i][r];
	FUZZ_CHECK(s->in, "a frame of type %u of room %d to peer %d, not in it", f.type, r, i);
	switch (f.type) {
	case COVE_F_INI:
		if (!from_relay(&f))
			break;
		FUZZ_CHECK(memcmp(f.u.ini.xpk, s->xpk, COVE_WXPK_LEN) == 0,
			   "'first' to peer %d with another session key", i);
		s->keyed = 1;
		s->epoch_known = 0;
		s->unconfirmed = 0;
		for (int k = 0; k < RW_PEERS; k++) {
			struct place *o = &F.m[k][r];

			if (k != i && present(k, r) && o->unconfirmed)
				o->keyed = o->epoch_known = o->unconfirmed = 0;
		}
		break;
	case COVE_F_KEY:
		FUZZ_CHECK(i == F.key_to && peer_of(f.u.key.to) == i,
			   "a KEY for peer %d went to peer %d", F.key_to, i);
		FUZZ_CHECK(memcmp(f.u.key.xpk, s->xpk, COVE_WXPK_LEN) == 0 ||
				   (s->has_old && memcmp(f.u.key.xpk, s->old, COVE_WXPK_LEN) == 0),
			   "a KEY to peer %d sealed to a session key it never gave", i);
		s->key_sent = 1;
		F.key_got++;
		break;
	case COVE_F_DAT:
		FUZZ_CHECK(F.dat_from >= 0 && r == F.dat_room && i != F.dat_from,
			   "a DAT of room %d to peer %d that nobody sent it", r, i);
		FUZZ_CHECK(s->keyed || s->key_sent, "a DAT to peer %d, which holds no key", i);
		F.dat_got[i]++;
		break;
	case COVE_F_ASK:
		check_ask(i, r, &f);
		break;
	case COVE_F_REK:
		check_rek(i, r, &f);
		break;
	case COVE_F_BYE:
		break;
	case COVE_F_PRS: {
		int j = peer_of(f.u.prs.who);

		FUZZ_CHECK(from_relay(&f) && j >= 0 && j != i, "a PRS to peer %d about %d", i, j);
		FUZZ_CHECK(f.u.prs.here == (uint32_t)present(j, r),
			   "a PRS says peer %d is %s in room %d", j, f.u.prs.here ? "here" : "away",
			   r);
		break;
	}
	default:
		FUZZ_CHECK(0, "a frame of type %u from the room logic", f.type);
	}
}

static void on_err(struct rw_world *w, int i, const char *room, uint32_t code)
{
	int r = room_of(room, strlen(room));

	(void)w;
	FUZZ_CHECK(live(i) && F.m[i][r].in, "an ERR to peer %d, not in room %d", i, r);
	FUZZ_CHECK(code == COVE_EC_NO_KEY, "ERR %u from the room logic", code);
	if (!F.m[i][r].keyed && F.m[i][r].joined_here)
		F.m[i][r].in = F.m[i][r].member = 0; /* its join failed: it is out */
}

/* ---- after every operation ----------------------------------------------------------- */

static void check_state(void)
{
	for (int r = 0; r < ROOM_FUZZ_ROOMS; r++) {
		int64_t e = room_epoch(r);

		FUZZ_CHECK(e != COVE_EPOCH_END, "room %d at epoch 2^32-1", r);
		for (int i = 0; i < RW_PEERS; i++) {
			int is = rw_member(&F.w, i, room_names[r]) != NULL;
			uint8_t pk[COVE_ID_LEN];
			struct place *s = &F.m[i][r];
			int st;

			rw_pk(pk, i);
			st = rm_hub_member(F.w.hub, room_names[r], strlen(room_names[r]), pk);
			if (s->member && !s->in && st == 0) {
				FUZZ_CHECK(F.w.now - s->away_ms >= RW_EXPIRY_MS,
					   "peer %d, away from room %d for %llu ms, was removed", i, r,
					   (unsigned long long)(F.w.now - s->away_ms));
				s->member = 0;
			}
			FUZZ_CHECK(st == (s->in ? 1 : s->member ? 2 : 0),
				   "peer %d is %d in room %d, the model says %d/%d", i, st, r, s->member,
				   s->in);

			FUZZ_CHECK(is == present(i, r), "peer %d is%s in room %d, the model says "
				   "otherwise", i, is ? "" : " not", r);
			FUZZ_CHECK(!present(i, r) || !F.m[i][r].epoch_known || e < 0 ||
					   F.m[i][r].epoch <= e,
				   "peer %d holds epoch %u above its room's, %lld", i,
				   F.m[i][r].epoch, (long long)e);
		}
	}
}

/* ---- operations ------------------------------------------------------------------------ */

static uint32_t epoch_arg(int i, int r, uint8_t a)
{
	int64_t e;

	if (a < ROOM_E_REK)
		return a;
	if (a < ROOM_E_ROOM)
		return F.m[i][r].rek;
	if (a < ROOM_E_EDGE) {
		e = room_epoch(r);
		return e < 0 ? 0 : (uint32_t)(e + (a & 3) - 1);
	}
	return room_e_edges[a & 7];
}

static size_t rooms_in(int i)
{
	size_t n = 0;

	for (int r = 0; r < ROOM_FUZZ_ROOMS; r++)
		n += F.m[i][r].in;
	return n;
}

static void op_join(int i, int r)
{
	struct place *s = &F.m[i][r];
	uint8_t next[COVE_WXPK_LEN];
	int was_in = present(i, r), ret;
	size_t n = rooms_in(i);
	struct place saved;

	if (!live(i))
		return;
	rw_xpk(next, i, F.w.peer[i].xgen + 1);
	saved = *s;
	if (!was_in && s->member) {
		/* back: its new key, and the relay no longer counts it keyed */
		s->in = 1;
		memcpy(s->old, s->xpk, COVE_WXPK_LEN);
		s->has_old = 1;
		memcpy(s->xpk, next, COVE_WXPK_LEN);
		s->key_sent = s->key_sent || s->keyed;
		if (s->epoch_known && (room_epoch(r) < 0 || s->epoch > room_epoch(r)))
			s->keyed = s->epoch_known = 0; /* the room fell back meanwhile */
		s->unconfirmed = s->keyed;
	} else if (!was_in) {
		/* in from the start: the joiner is sent INIs during the call */
		memset(s, 0, sizeof(*s));
		s->member = s->in = s->joined_here = 1;
		memcpy(s->xpk, next, COVE_WXPK_LEN);
	}
	ret = rw_join(&F.w, i, room_names[r]);
	FUZZ_CHECK(ret == 0 || (ret == COVE_EC_ALREADY_JOINED && was_in) ||
			   (ret == COVE_EC_LIMIT && !was_in && n >= RW_MAX_ROOMS),
		   "peer %d's INI into room %d (%s, in %zu rooms): %d", i, r,
		   was_in ? "in" : "not in", n, ret);
	if (ret != 0 && !was_in)
		*s = saved;
	if (ret == 0 && was_in) {
		memcpy(s->old, s->xpk, COVE_WXPK_LEN);
		s->has_old = 1;
		memcpy(s->xpk, next, COVE_WXPK_LEN);
	}
}

static void op_rdy(int i, int r, uint8_t a)
{
	struct place *s = &F.m[i][r];
	uint32_t e = epoch_arg(i, r, a);
	int first = room_epoch(r) < 0 && s->rek != e;
	int ret = rw_rdy(&F.w, i, room_names[r], e); /* the timers wait for the model */

	FUZZ_CHECK(ret == 0 || ret == COVE_EC_STALE_EPOCH || (ret == -1 && !present(i, r)),
		   "peer %d's RDY %u: %d", i, e, ret);
	FUZZ_CHECK(!first || e <= COVE_EPOCH_FIRST_MAX || ret != 0,
		   "a first RDY for epoch %u was taken", e);
	if (ret == 0) {
		s->keyed = 1;
		s->unconfirmed = 0;
		s->epoch_known = 1;
		s->epoch = e;
	}
}

static void op_key(int i, int r, int j, uint8_t a, uint8_t x)
{
	struct place *t = &F.m[j][r];
	uint8_t none[COVE_WXPK_LEN];
	const uint8_t *xpk = t->xpk;
	int will, ret;

	memset(none, 0x77, sizeof(none));
	if (x % 3 == ROOM_X_OLD && t->has_old)
		xpk = t->old;
	else if (x % 3 != ROOM_X_CURRENT)
		xpk = none;
	will = present(j, r) && (memcmp(xpk, t->xpk, COVE_WXPK_LEN) == 0 ||
				 (t->has_old && memcmp(xpk, t->old, COVE_WXPK_LEN) == 0));
	F.key_to = j;
	F.key_got = 0;
	ret = rw_key_to(&F.w, i, room_names[r], j, epoch_arg(i, r, a), xpk);
	F.key_to = -1;
	FUZZ_CHECK(ret == 0 || ret == COVE_EC_STALE_EPOCH ||
			   (ret == COVE_EC_NOT_MEMBER && !F.m[i][r].keyed) ||
			   (ret == -1 && !present(i, r)),
		   "peer %d's KEY: %d", i, ret);
	FUZZ_CHECK(F.key_got == (ret == 0 && will), "a KEY to peer %d went %d times (%s)", j,
		   F.key_got, will ? "due" : "not due");
}

static void op_dat(int i, int r)
{
	int ret;

	memset(F.dat_got, 0, sizeof(F.dat_got));
	F.dat_from = i;
	F.dat_room = r;
	ret = rw_dat(&F.w, i, room_names[r], 0);
	F.dat_from = -1;
	FUZZ_CHECK(ret == -1 ? !present(i, r) :
		   ret == COVE_EC_NOT_MEMBER ? !F.m[i][r].keyed : ret == 0 && F.m[i][r].keyed,
		   "peer %d's DAT: %d", i, ret);
	for (int k = 0; k < RW_PEERS; k++) {
		int due = ret == 0 && k != i && present(k, r) &&
			  (F.m[k][r].keyed || F.m[k][r].key_sent);

		FUZZ_CHECK(F.dat_got[k] == due, "peer %d's DAT went %d times to peer %d (%s)", i,
			   F.dat_got[k], k, due ? "due" : "not due");
	}
}

static void op_bye(int i, int r)
{
	int was = present(i, r);

	F.m[i][r].in = 0; /* from now on, it is sent nothing */
	if (was)
		F.m[i][r].member = 0;
	FUZZ_CHECK((rw_bye(&F.w, i, room_names[r]) == 0) == was, "peer %d's BYE", i);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;

	fuzz_sodium_init();
	memset(&F, 0, sizeof(F));
	F.key_to = F.dat_from = -1;
	if (rw_init(&F.w) != 0)
		return 0;
	F.w.on_send = on_send;
	F.w.on_err = on_err;
	F.w.hold = 1;
	while (at < size) {
		uint8_t op = data[at] % ROOM_OP_COUNT;
		const uint8_t *a = data + at + 1;
		int i, r;

		if (size - at - 1 < room_op_args[op])
			break;
		at += 1 + (size_t)room_op_args[op];
		i = a[0] % RW_PEERS;
		r = room_op_args[op] > 1 ? a[1] % ROOM_FUZZ_ROOMS : 0;
		switch (op) {
		case ROOM_OP_CONNECT:
			gone(i);
			FUZZ_CHECK(rw_connect(&F.w, i) == 0, "out of memory");
			break;
		case ROOM_OP_JOIN:
			op_join(i, r);
			break;
		case ROOM_OP_RDY:
			op_rdy(i, r, a[2]);
			break;
		case ROOM_OP_RKY:
			FUZZ_CHECK(rw_rky(&F.w, i, room_names[r], epoch_arg(i, r, a[2])) ==
					   (present(i, r) ? 0 : -1),
				   "peer %d's RKY", i);
			break;
		case ROOM_OP_KEY:
			op_key(i, r, a[2] % RW_PEERS, a[3], a[4]);
			break;
		case ROOM_OP_DAT:
			op_dat(i, r);
			break;
		case ROOM_OP_BYE:
			op_bye(i, r);
			break;
		case ROOM_OP_LOST:
			gone(i);
			rw_disconnect(&F.w, i);
			break;
		case ROOM_OP_REVOKE:
			revoke(i);
			break;
		case ROOM_OP_CLOSING:
			gone(i);
			rw_closing(&F.w, i);
			break;
		case ROOM_OP_TICK:
			rw_advance(&F.w, room_op_ms(a[0]));
			break;
		}
		rw_run(&F.w);
		check_state();
	}
	for (int i = 0; i < RW_PEERS; i++) {
		gone(i);
		rw_disconnect(&F.w, i);
	}
	FUZZ_CHECK(rw_free(&F.w) == 0, "timers left after the hub was freed");
	return 0;
}
