/*
 * test_room.c - the relay's room logic (room/room.h, PROTOCOL.md 5) with
 * a fake clock, fake timers and a fake network (room_world.h): joins,
 * ASK routing, rekeys, grace periods, and what a hostile member must not
 * get away with (issue 8), each in milliseconds and without a process.
 *
 * Peers A, B, C, D are members 0..3; a member "keyed" at epoch e has
 * confirmed e with RDY.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/msg.h"
#include "store/store.h"
#include "tests/unit/check.h"
#include "tests/unit/room_world.h"
#include "tests/unit/tmpdir.h"

#define ROOM "lobby"

enum { A, B, C, D, E };

static struct rw_world w;

/* Every test runs without a store, then over each backend of
 * cove_store_backends (SQLite on a file of its own): what members see
 * must not depend on where the relay keeps its rooms. */
static const struct cove_store_ops *backend;
static struct cove_store_conf store_conf;
static struct cove_store *store;
static char store_dir[64], store_path[128];

static void store_open(void)
{
	assert_ok(cove_store_open(&store, backend, store_path, &store_conf));
}

static int setup(void **state)
{
	(void)state;
	store = NULL;
	memset(&store_conf, 0, sizeof(store_conf));
	store_conf.retain_bytes = UINT64_MAX;
	if (backend) {
		snprintf(store_dir, sizeof(store_dir), "/dev/shm/cove-room-XXXXXX");
		if (!mkdtemp(store_dir) && tmpdir_make(store_dir, "room") != 0)
			return -1;
		snprintf(store_path, sizeof(store_path), "%s/store.db", store_dir);
		store_open();
	}
	return rw_init_store(&w, store);
}

static int teardown(void **state)
{
	(void)state;
	assert_u64(rw_free(&w), 0); /* no timer left behind */
	if (backend) {
		cove_store_close(store);
		tmpdir_remove(store_dir);
	}
	return 0;
}

/* ---- helpers ------------------------------------------------------------------- */

static int from_relay(const struct cove_frame *f)
{
	static const uint8_t relay[COVE_ID_LEN] = { [0 ... COVE_ID_LEN - 1] = 0xee };

	return memcmp(f->from, relay, COVE_ID_LEN) == 0;
}

static int is_peer(const uint8_t pk[COVE_ID_LEN], int i)
{
	uint8_t want[COVE_ID_LEN];

	rw_pk(want, i);
	return memcmp(pk, want, COVE_ID_LEN) == 0;
}

/* How many times the relay told peer i it is first (its own INI). */
static size_t firsts(int i)
{
	struct cove_frame f;
	size_t n = 0;

	for (size_t k = 0; k < w.peer[i].ngot; k++)
		if (rw_frame(&w, i, k, &f) && f.type == COVE_F_INI && from_relay(&f))
			n++;
	return n;
}

/* The last ASK peer i got, which must name joiner. */
static void assert_asked(int i, int joiner, size_t times)
{
	struct cove_frame f;

	assert_u64(rw_count(&w, i, COVE_F_ASK, &f), times);
	assert_true(is_peer(f.u.ask.to, i));
	assert_true(is_peer(f.u.ask.joiner, joiner));
	assert_bytes(f.u.ask.xpk, w.peer[joiner].xpk, COVE_WXPK_LEN);
}

/* The last REK peer i got, which must name epoch. */
static void assert_rek(int i, uint32_t epoch)
{
	struct cove_frame f;

	assert_true(rw_count(&w, i, COVE_F_REK, &f) >= 1);
	assert_true(is_peer(f.u.rek.to, i));
	assert_u64(f.u.rek.epoch, epoch);
}

/* The last BYE peer i got, which must be the relay's, about who. */
static void assert_relay_bye(int i, int who)
{
	struct cove_frame f;

	assert_true(rw_count(&w, i, COVE_F_BYE, &f) >= 1);
	assert_true(from_relay(&f));
	assert_true(is_peer(f.u.bye.who, who));
}

static void assert_room_epoch(uint32_t want)
{
	uint32_t e = 0;

	assert_int_equal(rm_hub_epoch(w.hub, ROOM, strlen(ROOM), &e), 1);
	assert_u64(e, want);
}

/* Peers 0..n-1 connect and join ROOM one by one, each given the key of
 * epoch 0 by peer 0, the first; then what they were sent is forgotten. */
static void keyed(int n)
{
	for (int i = 0; i < n; i++) {
		assert_int_equal(rw_connect(&w, i), 0);
		assert_int_equal(rw_join(&w, i, ROOM), 0);
		if (i > 0)
			assert_int_equal(rw_key(&w, A, ROOM, i, 0), 0);
		assert_int_equal(rw_rdy(&w, i, ROOM, 0), 0);
	}
	rw_clear_all(&w);
}

/* A fresh peer i connects and joins ROOM; the world forgets the rest. */
static void joins(int i)
{
	assert_int_equal(rw_connect(&w, i), 0);
	assert_int_equal(rw_join(&w, i, ROOM), 0);
}

/* ---- joins --------------------------------------------------------------------- */

TEST(first_join_makes_the_joiner_first)
{
	struct cove_frame f;
	uint32_t epoch;

	joins(A);
	assert_u64(firsts(A), 1);
	assert_u64(rw_count(&w, A, COVE_F_INI, &f), 1);
	assert_bytes(f.u.ini.xpk, w.peer[A].xpk, COVE_WXPK_LEN); /* its own session key */
	assert_u64(w.stats.firsts, 1);
	assert_int_equal(rm_hub_epoch(w.hub, ROOM, strlen(ROOM), &epoch), 0); /* not said yet */
	assert_int_equal(rw_rdy(&w, A, ROOM, 0), 0); /* the joiner makes the first key */
	assert_room_epoch(0);
}

TEST(joiner_and_members_learn_of_each_other_and_the_oldest_is_asked)
{
	struct cove_frame f;

	keyed(2);
	joins(C);
	/* C gets A's and B's INIs as they sent them; they get C's */
	assert_u64(rw_count(&w, C, COVE_F_INI, NULL), 2);
	assert_u64(rw_count(&w, A, COVE_F_INI, &f), 1);
	assert_true(is_peer(f.from, C));
	assert_u64(rw_count(&w, B, COVE_F_INI, NULL), 1);
	/* one member asked, the one present longest; C is not first */
	assert_asked(A, C, 1);
	assert_u64(rw_count(&w, B, COVE_F_ASK, NULL), 0);
	assert_u64(firsts(C), 0);
	assert_int_equal(rw_key(&w, A, ROOM, C, 0), 0);
	assert_u64(rw_count(&w, C, COVE_F_KEY, NULL), 1);
	assert_int_equal(rw_rdy(&w, C, ROOM, 0), 0);
	rw_advance(&w, 10 * RW_JOIN_TIMEOUT_MS); /* nobody else is asked */
	assert_u64(rw_count(&w, B, COVE_F_ASK, NULL), 0);
}

TEST(two_joiners_at_once_end_with_one_key)
{
	assert_int_equal(rw_connect(&w, A), 0);
	assert_int_equal(rw_connect(&w, B), 0);
	assert_int_equal(rw_join(&w, A, ROOM), 0);
	assert_int_equal(rw_join(&w, B, ROOM), 0); /* before A confirmed its key */
	assert_u64(firsts(A) + firsts(B), 1);
	assert_asked(A, B, 1);
}

TEST(join_with_a_refusing_member_asks_the_next)
{
	keyed(2);
	joins(C);
	assert_asked(A, C, 1);
	rw_advance(&w, RW_JOIN_TIMEOUT_MS - 1); /* A stays silent */
	assert_u64(rw_count(&w, B, COVE_F_ASK, NULL), 0);
	rw_advance(&w, 1);
	assert_asked(B, C, 1);
	assert_u64(w.stats.ask_timeouts, 1);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 1); /* A is not asked again */
	assert_int_equal(rw_key(&w, B, ROOM, C, 0), 0);
	assert_int_equal(rw_rdy(&w, C, ROOM, 0), 0);
	rw_advance(&w, 10 * RW_JOIN_TIMEOUT_MS);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL) + rw_count(&w, B, COVE_F_ASK, NULL), 2);
	assert_u64(rw_errs(&w, C, COVE_EC_NO_KEY), 0);
}

TEST(join_fails_when_no_member_gives_the_key)
{
	keyed(2);
	joins(C);
	rw_advance(&w, 2 * RW_JOIN_TIMEOUT_MS);
	assert_u64(rw_errs(&w, C, COVE_EC_NO_KEY), 1);
	assert_null(rw_member(&w, C, ROOM)); /* out of the room */
	assert_relay_bye(A, C);
	assert_relay_bye(B, C);
	assert_u64(w.stats.join_failures, 1);
}

TEST(when_every_key_holder_is_away_the_oldest_present_makes_a_new_key)
{
	keyed(1);
	joins(B);
	assert_asked(A, B, 1);
	rw_disconnect(&w, A); /* A away */
	assert_u64(firsts(B), 1);
}

TEST(member_limit_of_rooms_per_peer_holds)
{
	char room[8];

	assert_int_equal(rw_connect(&w, A), 0);
	for (int i = 0; i < RW_MAX_ROOMS; i++) {
		snprintf(room, sizeof(room), "r%d", i);
		assert_int_equal(rw_join(&w, A, room), 0);
	}
	assert_int_equal(rw_join(&w, A, "one-more"), COVE_EC_LIMIT);
	assert_u64(rm_hub_nrooms(w.hub), RW_MAX_ROOMS);
}

TEST(renewal_within_a_second_is_refused_then_passed_on)
{
	struct cove_frame f;

	keyed(2);
	assert_int_equal(rw_join(&w, B, ROOM), COVE_EC_ALREADY_JOINED);
	rw_advance(&w, 1000);
	assert_int_equal(rw_join(&w, B, ROOM), 0);
	assert_u64(rw_count(&w, A, COVE_F_INI, &f), 1);
	assert_bytes(f.u.ini.xpk, w.peer[B].xpk, COVE_WXPK_LEN);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 0); /* no join: B keeps its epoch */
	joins(C); /* a later joiner learns B's newest session key only */
	for (size_t k = 0; k < w.peer[C].ngot; k++)
		if (rw_frame(&w, C, k, &f) && f.type == COVE_F_INI && is_peer(f.from, B))
			assert_bytes(f.u.ini.xpk, w.peer[B].xpk, COVE_WXPK_LEN);
}

TEST(last_member_out_frees_the_room)
{
	keyed(2);
	assert_int_equal(rw_bye(&w, A, ROOM), 0);
	assert_int_equal(rw_bye(&w, B, ROOM), 0);
	assert_u64(rm_hub_nrooms(w.hub), 0);
}

/* ---- rekeys --------------------------------------------------------------------- */

TEST(rekey_on_leave_moves_the_others_to_a_new_epoch)
{
	struct cove_frame f;

	keyed(3);
	assert_int_equal(rw_bye(&w, C, ROOM), 0);
	assert_u64(rw_count(&w, A, COVE_F_BYE, &f), 1);
	assert_true(is_peer(f.from, C)); /* C's own BYE, as it sent it */
	assert_u64(rw_count(&w, B, COVE_F_BYE, NULL), 1);
	assert_rek(A, 1); /* the member present longest makes the next epoch */
	assert_u64(rw_count(&w, B, COVE_F_REK, NULL), 0);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	assert_room_epoch(1);
	assert_int_equal(rw_key(&w, A, ROOM, B, 1), 0);
	assert_u64(rw_count(&w, B, COVE_F_KEY, NULL), 1);
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), 0);
	rw_advance(&w, 10 * RW_JOIN_TIMEOUT_MS); /* nothing more to do */
	assert_u64(rw_count(&w, A, COVE_F_REK, NULL), 1);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL) + rw_count(&w, B, COVE_F_ASK, NULL), 0);
}

TEST(member_the_rekeyer_misses_is_caught_up_by_another)
{
	keyed(4);
	assert_int_equal(rw_bye(&w, D, ROOM), 0);
	assert_rek(A, 1);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	assert_int_equal(rw_key(&w, A, ROOM, C, 1), 0); /* A reaches C, not B */
	assert_int_equal(rw_rdy(&w, C, ROOM, 1), 0);
	rw_advance(&w, RW_JOIN_TIMEOUT_MS);
	assert_asked(C, B, 1);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 0);
}

TEST(silent_rekeyer_is_replaced_with_a_higher_epoch)
{
	keyed(3);
	assert_int_equal(rw_bye(&w, C, ROOM), 0);
	assert_rek(A, 1);
	rw_advance(&w, RW_JOIN_TIMEOUT_MS - 1);
	assert_u64(rw_count(&w, B, COVE_F_REK, NULL), 0);
	rw_advance(&w, 1);
	assert_rek(B, 2); /* never 1 again: one epoch, one key */
	assert_u64(w.stats.rekey_timeouts, 1);
	/* A's late RDY for the epoch it was named for is refused */
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), COVE_EC_STALE_EPOCH);
	assert_int_equal(rw_rdy(&w, B, ROOM, 2), 0);
	assert_room_epoch(2);
}

TEST(rekeyer_that_leaves_is_replaced)
{
	keyed(3);
	assert_int_equal(rw_bye(&w, C, ROOM), 0);
	assert_rek(A, 1);
	assert_int_equal(rw_bye(&w, A, ROOM), 0);
	assert_rek(B, 2);
}

TEST(rky_makes_its_sender_the_rekeyer_at_most_once_a_second)
{
	keyed(2);
	assert_int_equal(rw_rky(&w, B, ROOM, 0), 0);
	assert_rek(B, 1); /* the one who asked makes it */
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), 0);
	rw_advance(&w, 999);
	assert_int_equal(rw_rky(&w, B, ROOM, 1), 0);
	assert_u64(rw_count(&w, B, COVE_F_REK, NULL), 1); /* within a second: ignored */
	rw_advance(&w, 1);
	assert_int_equal(rw_rky(&w, B, ROOM, 1), 0);
	assert_rek(B, 2);
	assert_u64(rw_count(&w, B, COVE_F_REK, NULL), 2);
}

TEST(rky_from_a_member_behind_or_during_a_rekey_is_ignored)
{
	keyed(3);
	assert_int_equal(rw_bye(&w, C, ROOM), 0);
	assert_rek(A, 1);
	assert_int_equal(rw_rky(&w, B, ROOM, 0), 0); /* a rekey is under way */
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	assert_int_equal(rw_rky(&w, B, ROOM, 0), 0); /* B is behind */
	assert_int_equal(rw_rky(&w, B, ROOM, 1), 0); /* saying otherwise does not help */
	assert_u64(rw_count(&w, A, COVE_F_REK, NULL) + rw_count(&w, B, COVE_F_REK, NULL), 1);
}

/* ---- epochs ---------------------------------------------------------------------- */

TEST(first_rdy_above_2_31_minus_1_is_refused)
{
	joins(A);
	assert_int_equal(rw_rdy(&w, A, ROOM, COVE_EPOCH_END), COVE_EC_STALE_EPOCH);
	assert_int_equal(rw_rdy(&w, A, ROOM, COVE_EPOCH_FIRST_MAX + 1), COVE_EC_STALE_EPOCH);
	assert_int_equal(rm_hub_epoch(w.hub, ROOM, strlen(ROOM), &(uint32_t){ 0 }), 0);
	assert_int_equal(rw_rdy(&w, A, ROOM, COVE_EPOCH_FIRST_MAX), 0);
	assert_room_epoch(COVE_EPOCH_FIRST_MAX);
}

TEST(rdy_for_an_epoch_nobody_named_is_refused)
{
	keyed(2);
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), COVE_EC_STALE_EPOCH);
	assert_int_equal(rw_rdy(&w, B, ROOM, 7), COVE_EC_STALE_EPOCH);
	assert_room_epoch(0);
	assert_int_equal(rw_rky(&w, A, ROOM, 0), 0); /* A is named for 1, B is not */
	assert_rek(A, 1);
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), COVE_EC_STALE_EPOCH);
	assert_room_epoch(0);
}

TEST(rdy_below_an_epoch_the_member_confirmed_is_refused)
{
	/* Going down would let a lone holder make the relay fall back to an
	 * epoch it already named: two keys for one epoch. */
	keyed(2);
	assert_int_equal(rw_rky(&w, A, ROOM, 0), 0);
	assert_rek(A, 1);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 0), COVE_EC_STALE_EPOCH);
	assert_int_equal(rw_rdy(&w, A, ROOM, 0), COVE_EC_STALE_EPOCH);
	assert_room_epoch(1);
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), 0); /* the same again is no harm */
}

TEST(member_racing_epochs_up_then_leaving_leaves_no_gap)
{
	/* C asks for a rekey every second and makes each epoch for itself
	 * alone, then leaves: the next epoch is named from what those
	 * present hold, not from C's. */
	keyed(3);
	for (uint32_t e = 1; e <= 5; e++) {
		assert_int_equal(rw_rky(&w, C, ROOM, e - 1), 0);
		assert_rek(C, e);
		assert_int_equal(rw_rdy(&w, C, ROOM, e), 0);
		rw_advance(&w, 1000);
	}
	assert_room_epoch(5);
	rw_clear_all(&w);
	assert_int_equal(rw_bye(&w, C, ROOM), 0);
	assert_rek(A, 1);
}

TEST(rky_before_the_first_key_is_confirmed_cannot_take_the_epoch_down)
{
	/* A, first, asks for a rekey before it says which key it made; B,
	 * given a key by A, confirms epoch 3; A's RDY for an epoch it was
	 * named for would then take the room back to 1 (found by fuzz_room). */
	joins(A);
	assert_int_equal(rw_rky(&w, A, ROOM, 0), 0);
	assert_u64(rw_count(&w, A, COVE_F_REK, NULL), 0);
	joins(B);
	assert_int_equal(rw_key(&w, A, ROOM, B, 3), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 3), 0);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0); /* A is behind, nothing more */
	assert_room_epoch(3);
	assert_asked(B, A, 1); /* and is caught up by B */
}

TEST(epochs_only_rise_through_rekeys)
{
	uint32_t last = 0;

	keyed(3);
	for (int round = 0; round < 5; round++) {
		struct cove_frame f = { 0 };
		int who = round % 3;

		rw_clear_all(&w);
		assert_int_equal(rw_rky(&w, who, ROOM, last), 0);
		assert_u64(rw_count(&w, who, COVE_F_REK, &f), 1);
		assert_true(f.u.rek.epoch > last);
		last = f.u.rek.epoch;
		assert_int_equal(rw_rdy(&w, who, ROOM, last), 0);
		for (int i = 0; i < 3; i++) {
			if (i == who)
				continue;
			assert_int_equal(rw_key(&w, who, ROOM, i, last), 0);
			assert_int_equal(rw_rdy(&w, i, ROOM, last), 0);
		}
		assert_room_epoch(last);
		rw_advance(&w, 1000);
	}
}

/* ---- keys ------------------------------------------------------------------------ */

TEST(key_goes_only_to_its_named_joiner)
{
	uint8_t wrong[COVE_WXPK_LEN];

	keyed(3);
	joins(D);
	rw_clear_all(&w);
	memset(wrong, 0x77, sizeof(wrong));
	assert_int_equal(rw_key_to(&w, A, ROOM, D, 0, wrong), 0); /* not D's session key */
	assert_int_equal(rw_key(&w, A, ROOM, E, 0), 0);           /* not a member */
	assert_int_equal(rw_key(&w, A, ROOM, D, 0), 0);
	for (int i = A; i <= E; i++)
		assert_u64(rw_count(&w, i, COVE_F_KEY, NULL), i == D ? 1 : 0);
}

TEST(key_sealed_to_a_replaced_session_key_still_reaches_it)
{
	uint8_t old[COVE_WXPK_LEN];

	keyed(2);
	memcpy(old, w.peer[B].xpk, sizeof(old));
	rw_advance(&w, 1000);
	assert_int_equal(rw_join(&w, B, ROOM), 0); /* renews its session key */
	assert_int_equal(rw_key_to(&w, A, ROOM, B, 0, old), 0);
	assert_u64(rw_count(&w, B, COVE_F_KEY, NULL), 1);
}

TEST(key_from_a_member_without_the_current_epoch_is_refused)
{
	keyed(3);
	joins(D);
	assert_int_equal(rw_key(&w, D, ROOM, B, 0), COVE_EC_NOT_MEMBER); /* holds no key */
	assert_int_equal(rw_bye(&w, D, ROOM), 0);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);                     /* A made epoch 1 */
	assert_int_equal(rw_key(&w, B, ROOM, C, 0), COVE_EC_STALE_EPOCH); /* B holds 0 */
	assert_int_equal(rw_key(&w, A, ROOM, C, 0), COVE_EC_STALE_EPOCH); /* not the current */
	assert_int_equal(rw_key(&w, B, ROOM, C, 1), COVE_EC_STALE_EPOCH); /* nor by saying so */
	assert_u64(rw_count(&w, C, COVE_F_KEY, NULL), 0);
}

TEST(key_for_a_member_closing_or_away_is_not_sent_now)
{
	uint64_t before;

	keyed(3);
	before = w.stats.deliveries;
	rw_closing(&w, B);
	assert_int_equal(rw_key(&w, A, ROOM, B, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_KEY, NULL), 0);
	rw_disconnect(&w, C);
	assert_int_equal(rw_key(&w, A, ROOM, C, 0), 0);
	assert_u64(w.stats.deliveries - before, 0);
}

/* ---- messages --------------------------------------------------------------------- */

TEST(broadcast_goes_to_keyed_members_only)
{
	uint64_t before;

	keyed(2);
	joins(C);
	before = w.stats.deliveries;
	assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 1);
	assert_u64(rw_count(&w, C, COVE_F_DAT, NULL), 0); /* no key yet */
	assert_u64(rw_count(&w, A, COVE_F_DAT, NULL), 0); /* not back to its sender */
	assert_int_equal(rw_dat(&w, C, ROOM, 0), COVE_EC_NOT_MEMBER);
	assert_int_equal(rw_key(&w, A, ROOM, C, 0), 0);
	assert_int_equal(rw_dat(&w, A, ROOM, 0), 0); /* sent a KEY: DATs follow it in order */
	assert_u64(rw_count(&w, C, COVE_F_DAT, NULL), 1);
	assert_u64(w.stats.deliveries - before, 1 + 1 + 2); /* DAT, KEY, DAT */
}

TEST(member_who_left_gets_and_sends_nothing_more)
{
	keyed(3);
	assert_int_equal(rw_bye(&w, B, ROOM), 0);
	rw_clear_all(&w);
	assert_null(rw_member(&w, B, ROOM));
	assert_int_equal(rw_dat(&w, B, ROOM, 0), -1); /* the relay refuses: not joined */
	assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 0);
	assert_u64(rw_count(&w, C, COVE_F_DAT, NULL), 1);
}

/* ---- away and back (design note persistent-rooms.md, R1-R12) ------------------- */

static int member_state(int i)
{
	uint8_t pk[COVE_ID_LEN];

	rw_pk(pk, i);
	return rm_hub_member(w.hub, ROOM, strlen(ROOM), pk);
}

/* The last PRS peer i got, which must be the relay's, about who. */
static void assert_prs(int i, int who, int here)
{
	struct cove_frame f;

	assert_true(rw_count(&w, i, COVE_F_PRS, &f) >= 1);
	assert_true(from_relay(&f));
	assert_true(is_peer(f.u.prs.who, who));
	assert_u64(f.u.prs.here, here);
}

/* Was a lost member's grace expiry; a lost member is away now, for good. */
TEST(a_lost_member_is_away_with_no_bye_and_no_rekey)
{
	uint64_t before;

	keyed(2);
	rw_disconnect(&w, B);
	assert_prs(A, B, 0);
	assert_int_equal(member_state(B), 2);
	before = w.stats.deliveries;
	assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(w.stats.deliveries - before, 0); /* away: it gets nothing live */
	rw_advance(&w, RW_EXPIRY_MS - 60000);
	assert_u64(rw_count(&w, A, COVE_F_BYE, NULL), 0);
	assert_u64(rw_count(&w, A, COVE_F_REK, NULL), 0);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 0);
	assert_int_equal(member_state(B), 2);
}

TEST(a_member_away_past_its_expiry_is_removed_and_the_room_rekeyed)
{
	keyed(2);
	rw_disconnect(&w, B);
	rw_advance(&w, RW_EXPIRY_MS + 60000);
	assert_relay_bye(A, B);
	assert_rek(A, 1);
	assert_u64(w.stats.expired, 1);
	assert_int_equal(member_state(B), 0);
	joins(B); /* back only as a new member */
	assert_u64(w.stats.joins, 3);
	assert_asked(A, B, 1);
}

TEST(presence_says_who_is_here_and_who_is_away)
{
	keyed(2);
	rw_disconnect(&w, B);
	rw_clear_all(&w);
	joins(C); /* told of each member: A here, B away */
	assert_u64(rw_count(&w, C, COVE_F_PRS, NULL), 2);
	assert_u64(rw_count(&w, C, COVE_F_INI, NULL), 2); /* and each one's latest INI */
	assert_prs(A, C, 1);
	joins(B);
	assert_prs(A, B, 1);
	assert_prs(C, B, 1);
}

/* Was a member back within its grace period: it takes its place back. */
TEST(a_member_that_comes_back_takes_its_place_with_no_rekey)
{
	struct cove_frame f;

	keyed(2);
	rw_disconnect(&w, B);
	rw_advance(&w, RW_EXPIRY_MS / 2);
	joins(B);
	assert_u64(rw_count(&w, A, COVE_F_INI, &f), 1); /* with its new session key */
	assert_bytes(f.u.ini.xpk, w.peer[B].xpk, COVE_WXPK_LEN);
	assert_int_equal(member_state(B), 1);
	/* it is given its turn to say what it holds before anyone is asked */
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 0), 0);
	rw_advance(&w, 2 * RW_JOIN_TIMEOUT_MS);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 0);
	assert_u64(rw_count(&w, A, COVE_F_BYE, NULL), 0); /* no leave */
	assert_u64(rw_count(&w, A, COVE_F_REK, NULL), 0); /* no rekey */
	assert_u64(w.stats.returns, 1);
	assert_u64(w.stats.joins, 2);
	assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 1);
}

TEST(a_member_back_without_its_key_is_given_it_after_its_turn)
{
	keyed(2);
	rw_disconnect(&w, B);
	joins(B); /* a node started afresh: it holds nothing */
	rw_advance(&w, RW_JOIN_TIMEOUT_MS - 1);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 0);
	rw_advance(&w, 1);
	assert_asked(A, B, 1);
}

TEST(a_lone_member_back_keeps_its_room)
{
	/* Its away place was the room's only member: the room stays (found
	 * by fuzz_room with the grace period of before). */
	keyed(1);
	rw_disconnect(&w, A);
	assert_u64(rm_hub_nrooms(w.hub), 1);
	joins(A);
	assert_u64(w.stats.returns, 1);
	assert_u64(rm_hub_nrooms(w.hub), 1);
	assert_u64(firsts(A), 0); /* it may hold the key: its turn first */
	rw_advance(&w, RW_JOIN_TIMEOUT_MS);
	assert_u64(firsts(A), 1); /* it did not say: nobody here holds a key */
	joins(B);
	assert_asked(A, B, 1);
	assert_u64(firsts(B), 0);
}

static int keep_only_a(void *arg, const uint8_t pk[COVE_ID_LEN])
{
	(void)arg;
	return is_peer(pk, A);
}

/* Was: revoked, it leaves at once. Removal from the whitelist reaches the
 * members away too. */
TEST(whitelist_removal_removes_here_and_away_with_a_bye_and_a_rekey)
{
	keyed(3);
	rw_disconnect(&w, C);
	assert_u64(rm_hub_remove(w.hub, keep_only_a, NULL), 2);
	rw_run(&w);
	assert_u64(rw_count(&w, A, COVE_F_BYE, NULL), 2);
	assert_rek(A, 1);
	assert_int_equal(member_state(B), 0);
	assert_int_equal(member_state(C), 0);
	assert_u64(w.stats.removed, 2);
}

/* Was: a joiner without a key got no grace. Now it is a member too. */
TEST(a_joiner_without_a_key_that_goes_is_away_too)
{
	keyed(1);
	joins(C);
	rw_disconnect(&w, C);
	assert_u64(rw_count(&w, A, COVE_F_BYE, NULL), 0);
	assert_int_equal(member_state(C), 2);
	assert_prs(A, C, 0);
}

TEST(a_member_that_never_says_syn_gets_frames_bare)
{
	keyed(2);
	rw_disconnect(&w, B);
	joins(B);
	assert_int_equal(rw_rdy(&w, B, ROOM, 0), 0);
	assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 1);
	assert_u64(rw_count(&w, B, COVE_F_FWD, NULL), 0);
}

TEST(a_second_syn_is_refused_and_a_joiner_is_up_to_date_at_once)
{
	struct cove_frame f;

	keyed(1);
	joins(B);
	assert_int_equal(rw_syn(&w, B, ROOM, UINT64_MAX, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_UPD, &f), 1);
	assert_u64(f.u.upd.missed, 0);
	assert_int_equal(rw_syn(&w, B, ROOM, 0, 0), COVE_EC_ALREADY_JOINED);
	assert_int_equal(rw_key(&w, A, ROOM, B, 0), 0);
	/* from its SYN on in FWD, with the rseq of a store (none without) */
	assert_u64(rw_count(&w, B, COVE_F_FWD, &f), backend ? 1 : 0);
}

/* ---- the store ------------------------------------------------------------------ */

/* What a read of the store gave: each frame's type and addressee. */
struct seen_frames {
	size_t n;
	uint8_t type[64];
	int to[64];                    /* the peer a KEY is for; -1: everyone */
	uint64_t seq[64], rdat[64];
};

static int seen_frame(void *arg, const struct cove_store_frame *f)
{
	struct seen_frames *s = arg;

	if (s->n == 64)
		return 1;
	s->type[s->n] = f->type;
	s->to[s->n] = f->has_to ? f->to[0] - 0xa0 : -1;
	s->seq[s->n] = f->seq;
	s->rdat[s->n] = f->rdat;
	s->n++;
	return 0;
}

static struct seen_frames stored_for(int reader)
{
	struct seen_frames s;
	uint8_t pk[COVE_ID_LEN];

	memset(&s, 0, sizeof(s));
	rw_pk(pk, reader);
	assert_true(cove_store_read(store, ROOM, strlen(ROOM), pk, 0, 64, seen_frame, &s) >= 0);
	return s;
}

struct seen_members {
	size_t n;
	uint32_t epoch;
	int epoch_known;
	uint64_t since[RW_PEERS];
	uint32_t member_epoch[RW_PEERS];
	int who[RW_PEERS];
};

static int seen_room(void *arg, const struct cove_store_room *r)
{
	struct seen_members *s = arg;

	s->epoch = r->epoch;
	s->epoch_known = r->epoch_known;
	return 0;
}

static int seen_member(void *arg, const struct cove_store_room *r,
		       const struct cove_store_member *m)
{
	struct seen_members *s = arg;

	(void)r;
	if (s->n < RW_PEERS) {
		s->who[s->n] = m->pk[0] - 0xa0;
		s->since[s->n] = m->since;
		s->member_epoch[s->n] = m->epoch;
		s->n++;
	}
	return 0;
}

TEST(the_store_holds_the_frames_fanned_out_and_who_is_in)
{
	struct seen_frames s;
	struct seen_members m;

	if (!backend)
		skip();
	keyed(2);
	assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 1);
	/* A's INI, B's INI, the KEY A sealed to B, the DAT: KEYs only for
	 * their addressee, rdat counting DATs */
	s = stored_for(B);
	assert_u64(s.n, 4);
	assert_int_equal(s.type[0], COVE_F_INI);
	assert_int_equal(s.type[1], COVE_F_INI);
	assert_int_equal(s.type[2], COVE_F_KEY);
	assert_int_equal(s.to[2], B);
	assert_int_equal(s.type[3], COVE_F_DAT);
	assert_u64(s.rdat[2], 0);
	assert_u64(s.rdat[3], 1);
	s = stored_for(C);
	assert_u64(s.n, 3);
	assert_int_equal(s.type[2], COVE_F_DAT);
	memset(&m, 0, sizeof(m));
	assert_ok(cove_store_load(store, seen_room, seen_member, &m));
	assert_int_equal(m.epoch_known, 1);
	assert_u64(m.epoch, 0);
	assert_u64(m.n, 2);
	assert_int_equal(m.who[0], A);
	assert_int_equal(m.who[1], B);
	assert_u64(m.since[0], 1); /* the seq of each one's INI */
	assert_u64(m.since[1], 2);
	/* a leave: the BYE is kept, the member goes, the epoch moves on */
	assert_int_equal(rw_bye(&w, B, ROOM), 0);
	assert_rek(A, 1);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	s = stored_for(C);
	assert_int_equal(s.type[s.n - 1], COVE_F_BYE);
	memset(&m, 0, sizeof(m));
	assert_ok(cove_store_load(store, seen_room, seen_member, &m));
	assert_u64(m.n, 1);
	assert_u64(m.epoch, 1);
	assert_u64(m.member_epoch[0], 1);
	/* the last one out: the room is forgotten */
	assert_int_equal(rw_bye(&w, A, ROOM), 0);
	memset(&m, 0, sizeof(m));
	assert_ok(cove_store_load(store, seen_room, seen_member, &m));
	assert_u64(m.n, 0);
}

TEST(a_full_store_is_counted_and_live_delivery_goes_on)
{
	if (!backend)
		skip();
	assert_u64(rw_free(&w), 0);
	cove_store_close(store);
	store_conf.max_bytes = 64 * 1024;
	store_open();
	assert_int_equal(rw_init_store(&w, store), 0);
	keyed(2);
	for (int i = 0; i < 400; i++)
		assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 400);
	assert_true(w.stats.store_failures > 0);
	assert_true(w.errors_logged >= 1);
	assert_true(w.errors_logged < 10); /* rate-limited, not one a frame */
}

/* Where the room's frames stand in the store: what a member that had
 * processed everything so far would say in its SYN. */
static struct cove_store_span span_now(void)
{
	struct cove_store_span sp;

	assert_ok(cove_store_span(store, ROOM, strlen(ROOM), &sp));
	return sp;
}

/* The FWDs peer i got, in order: their rseqs strictly rise, and each
 * frame's type is counted. Returns how many. */
static size_t fwds(int i, size_t *dats, size_t *keys_to_i, size_t *keys_to_others)
{
	struct cove_frame f, in;
	uint64_t last = 0;
	size_t n = 0;

	*dats = *keys_to_i = *keys_to_others = 0;
	for (size_t k = 0; k < w.peer[i].ngot; k++) {
		if (!rw_frame(&w, i, k, &f) || f.type != COVE_F_FWD)
			continue;
		assert_true(f.u.fwd.rseq > last);
		last = f.u.fwd.rseq;
		assert_ok(cove_frame_decode(&in, f.u.fwd.frame, f.u.fwd.frame_len));
		if (in.type == COVE_F_DAT)
			(*dats)++;
		if (in.type == COVE_F_KEY && is_peer(in.u.key.to, i))
			(*keys_to_i)++;
		else if (in.type == COVE_F_KEY)
			(*keys_to_others)++;
		n++;
	}
	return n;
}

TEST(a_member_back_catches_up_in_order_with_its_keys_and_nobody_elses)
{
	struct cove_store_span sp;
	struct cove_frame f;
	size_t dats, mine, others;

	if (!backend)
		skip();
	keyed(3);
	sp = span_now(); /* B has everything up to here */
	rw_disconnect(&w, B);
	for (int i = 0; i < 5; i++)
		assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	assert_int_equal(rw_key(&w, A, ROOM, B, 0), 0); /* stored for it (R8) */
	assert_int_equal(rw_key(&w, A, ROOM, C, 0), 0); /* for C only */
	joins(B);
	assert_int_equal(rw_syn(&w, B, ROOM, sp.next - 1, sp.dats), 0);
	fwds(B, &dats, &mine, &others);
	assert_u64(dats, 5);
	assert_u64(mine, 1);
	assert_u64(others, 0);
	assert_u64(rw_count(&w, B, COVE_F_UPD, &f), 1);
	assert_u64(f.u.upd.next, span_now().next);
	assert_u64(f.u.upd.missed, 0);
	/* the UPD comes after the last FWD, then it is live, in FWD */
	assert_true(rw_frame(&w, B, w.peer[B].ngot - 1, &f) && f.type == COVE_F_UPD);
	assert_int_equal(rw_rdy(&w, B, ROOM, 0), 0);
	assert_int_equal(rw_dat(&w, C, ROOM, 0), 0);
	fwds(B, &dats, &mine, &others);
	assert_u64(dats, 6);
	assert_u64(rw_count(&w, B, COVE_F_DAT, NULL), 0); /* never bare after SYN */
}

TEST(a_catch_up_goes_in_batches_as_the_link_drains)
{
	struct cove_store_span sp;
	size_t dats, mine, others, first;

	if (!backend)
		skip();
	keyed(2);
	sp = span_now();
	rw_disconnect(&w, B);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	joins(B);
	w.peer[B].queued = 300 * 1024; /* its link is full */
	assert_int_equal(rw_syn(&w, B, ROOM, sp.next - 1, sp.dats), 0);
	assert_u64(fwds(B, &dats, &mine, &others), 0);
	rw_drained(&w, B, 200 * 1024); /* room for one batch of 256, not more */
	first = fwds(B, &dats, &mine, &others);
	assert_u64(first, 256);
	assert_u64(rw_count(&w, B, COVE_F_UPD, NULL), 0);
	/* each drain lets at most what fits under the bound go */
	for (int turn = 0; turn < 10 && !rw_count(&w, B, COVE_F_UPD, NULL); turn++) {
		size_t before = fwds(B, &dats, &mine, &others);

		rw_drained(&w, B, 0);
		assert_true(fwds(B, &dats, &mine, &others) - before <= 3 * 256);
	}
	fwds(B, &dats, &mine, &others);
	assert_u64(dats, 1000);
	assert_u64(rw_count(&w, B, COVE_F_UPD, NULL), 1);
}

TEST(upd_counts_exactly_the_dats_retention_dropped)
{
	struct cove_store_span sp;
	struct cove_frame f;
	size_t dats, mine, others;

	memset(&f, 0, sizeof(f));
	if (!backend)
		skip();
	assert_u64(rw_free(&w), 0);
	cove_store_close(store);
	store_conf.retain_bytes = 4000; /* about ten DATs */
	store_open();
	assert_int_equal(rw_init_store(&w, store), 0);
	keyed(2);
	sp = span_now();
	rw_disconnect(&w, B);
	for (int i = 0; i < 50; i++)
		assert_int_equal(rw_dat(&w, A, ROOM, 0), 0);
	joins(B);
	assert_int_equal(rw_syn(&w, B, ROOM, sp.next - 1, sp.dats), 0);
	fwds(B, &dats, &mine, &others);
	assert_u64(rw_count(&w, B, COVE_F_UPD, &f), 1);
	assert_true(dats > 0 && dats < 50);
	assert_u64(f.u.upd.missed + dats, 50);
}

TEST(a_restarted_relay_keeps_members_and_epochs)
{
	keyed(2);
	assert_int_equal(rw_rky(&w, A, ROOM, 0), 0);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	assert_int_equal(rw_key(&w, A, ROOM, B, 1), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), 0);
	if (!backend)
		skip();
	/* the relay stops (its connections go) and starts on the same store */
	assert_u64(rw_free(&w), 0);
	if (strcmp(backend->name, "mem") != 0) {
		cove_store_close(store);
		store_open();
	}
	assert_int_equal(rw_init_store(&w, store), 0);
	assert_ok(rm_hub_load(w.hub));
	assert_u64(rm_hub_nrooms(w.hub), 1);
	assert_int_equal(member_state(A), 2);
	assert_int_equal(member_state(B), 2);
	assert_room_epoch(1);
	joins(A);
	joins(B);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), 0);
	rw_advance(&w, 2 * RW_JOIN_TIMEOUT_MS);
	assert_u64(w.stats.joins, 0); /* members, not joiners */
	assert_u64(w.stats.returns, 2);
	assert_u64(rw_count(&w, A, COVE_F_REK, NULL), 0);
	assert_u64(firsts(A) + firsts(B), 0);
	assert_room_epoch(1);
}

TEST(closing_connection_answers_nothing_and_its_ask_moves_on)
{
	keyed(2);
	joins(C);
	assert_asked(A, C, 1);
	rw_closing(&w, A); /* A's connection is going: another is asked at once */
	assert_asked(B, C, 1);
	assert_int_equal(rw_dat(&w, B, ROOM, 0), 0);
	assert_u64(rw_count(&w, A, COVE_F_DAT, NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(first_join_makes_the_joiner_first),
		T(joiner_and_members_learn_of_each_other_and_the_oldest_is_asked),
		T(two_joiners_at_once_end_with_one_key),
		T(join_with_a_refusing_member_asks_the_next),
		T(join_fails_when_no_member_gives_the_key),
		T(when_every_key_holder_is_away_the_oldest_present_makes_a_new_key),
		T(member_limit_of_rooms_per_peer_holds),
		T(renewal_within_a_second_is_refused_then_passed_on),
		T(last_member_out_frees_the_room),
		T(rekey_on_leave_moves_the_others_to_a_new_epoch),
		T(member_the_rekeyer_misses_is_caught_up_by_another),
		T(silent_rekeyer_is_replaced_with_a_higher_epoch),
		T(rekeyer_that_leaves_is_replaced),
		T(rky_makes_its_sender_the_rekeyer_at_most_once_a_second),
		T(rky_from_a_member_behind_or_during_a_rekey_is_ignored),
		T(first_rdy_above_2_31_minus_1_is_refused),
		T(rdy_for_an_epoch_nobody_named_is_refused),
		T(rdy_below_an_epoch_the_member_confirmed_is_refused),
		T(member_racing_epochs_up_then_leaving_leaves_no_gap),
		T(rky_before_the_first_key_is_confirmed_cannot_take_the_epoch_down),
		T(epochs_only_rise_through_rekeys),
		T(key_goes_only_to_its_named_joiner),
		T(key_sealed_to_a_replaced_session_key_still_reaches_it),
		T(key_from_a_member_without_the_current_epoch_is_refused),
		T(key_for_a_member_closing_or_away_is_not_sent_now),
		T(broadcast_goes_to_keyed_members_only),
		T(member_who_left_gets_and_sends_nothing_more),
		T(a_lost_member_is_away_with_no_bye_and_no_rekey),
		T(a_member_away_past_its_expiry_is_removed_and_the_room_rekeyed),
		T(presence_says_who_is_here_and_who_is_away),
		T(a_member_that_comes_back_takes_its_place_with_no_rekey),
		T(a_member_back_without_its_key_is_given_it_after_its_turn),
		T(a_lone_member_back_keeps_its_room),
		T(whitelist_removal_removes_here_and_away_with_a_bye_and_a_rekey),
		T(a_joiner_without_a_key_that_goes_is_away_too),
		T(a_member_that_never_says_syn_gets_frames_bare),
		T(a_second_syn_is_refused_and_a_joiner_is_up_to_date_at_once),
		T(closing_connection_answers_nothing_and_its_ask_moves_on),
		T(the_store_holds_the_frames_fanned_out_and_who_is_in),
		T(a_full_store_is_counted_and_live_delivery_goes_on),
		T(a_member_back_catches_up_in_order_with_its_keys_and_nobody_elses),
		T(a_catch_up_goes_in_batches_as_the_link_drains),
		T(upd_counts_exactly_the_dats_retention_dropped),
		T(a_restarted_relay_keeps_members_and_epochs),
#undef T
	};

	int failed;

	if (sodium_init() < 0)
		return 1;
	failed = cmocka_run_group_tests_name("no store", tests, NULL, NULL);
	for (size_t i = 0; cove_store_backends[i]; i++) {
		backend = cove_store_backends[i];
		failed += cmocka_run_group_tests_name(backend->name, tests, NULL, NULL);
	}
	return failed != 0;
}
