/*
 * test_room.c - the relay's room logic (room/room.h, PROTOCOL.md 5) with
 * a fake clock, fake timers and a fake network (room_world.h): joins,
 * ASK routing, rekeys, epochs, keys and messages, and what a hostile
 * member must not get away with (issue 8), each in milliseconds and
 * without a process, without a store and over every store backend
 * (room_fixture.h). Members away and back, and the store: test_room_away.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "proto/msg.h"
#include "tests/unit/room_fixture.h"

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

/* A storm of joins: the oldest member answers the ASKs in order, slowly. */
TEST(a_member_answering_joiners_in_order_keeps_the_later_ones_asks)
{
	const uint64_t t = RW_JOIN_TIMEOUT_MS;

	keyed(2);
	for (int i = C; i <= F; i++)
		joins(i); /* C, D, E, F: each asked of A, in that order */
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL), 4);
	rw_advance(&w, t / 2);
	assert_int_equal(rw_key(&w, A, ROOM, C, 0), 0); /* C's, first */
	assert_int_equal(rw_rdy(&w, C, ROOM, 0), 0);
	rw_advance(&w, t / 2);
	assert_u64(w.stats.ask_timeouts, 0); /* D, E and F were given more time */
	/* A answers E before D: D, skipped, is given none */
	assert_int_equal(rw_key(&w, A, ROOM, E, 0), 0);
	assert_int_equal(rw_rdy(&w, E, ROOM, 0), 0);
	rw_advance(&w, t / 2);
	assert_u64(w.stats.ask_timeouts, 1);
	assert_asked(B, D, 1);
	rw_advance(&w, t / 2);
	assert_u64(w.stats.ask_timeouts, 2); /* F: A answered nobody more */
	assert_u64(rw_count(&w, B, COVE_F_ASK, NULL), 2);
}

TEST(a_member_answering_slowly_keeps_an_ask_at_most_its_patience)
{
	const uint64_t t = RW_JOIN_TIMEOUT_MS, step = t * 9 / 10;

	keyed(2);
	for (int i = C; i <= H; i++)
		joins(i);
	/* A answers one every 0.9 timeouts, in order: each answer gives
	 * those behind another timeout, but H, last, no more than
	 * RM_ASK_PATIENCE timeouts since it asked */
	for (int i = C; i <= F; i++) {
		rw_advance(&w, step);
		assert_int_equal(rw_key(&w, A, ROOM, i, 0), 0);
		assert_int_equal(rw_rdy(&w, i, ROOM, 0), 0);
	}
	rw_advance(&w, RM_ASK_PATIENCE * t - 4 * step - 1);
	assert_u64(w.stats.ask_timeouts, 0);
	rw_advance(&w, 1);
	assert_u64(w.stats.ask_timeouts, 2); /* G and H */
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

/* C left at epoch 0 and the room moved to epoch 1 without it; C joins
 * again: nobody is asked to give it epoch 1 (D, who joined since, could
 * not know to refuse), a new epoch is made, and C is given that. */
TEST(a_member_back_after_leaving_gets_a_new_epoch_not_the_one_made_without_it)
{
	keyed(3);
	assert_int_equal(rw_bye(&w, C, ROOM), 0);
	assert_rek(A, 1);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	assert_int_equal(rw_key(&w, A, ROOM, B, 1), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), 0);
	rw_clear_all(&w);
	assert_int_equal(rw_join(&w, C, ROOM), 0);
	rw_advance(&w, RW_JOIN_TIMEOUT_MS / 2);
	assert_u64(rw_count(&w, A, COVE_F_ASK, NULL) + rw_count(&w, B, COVE_F_ASK, NULL), 0);
	assert_rek(A, 2);
	assert_int_equal(rw_rdy(&w, A, ROOM, 2), 0);
	assert_int_equal(rw_key(&w, A, ROOM, C, 2), 0);
	assert_u64(rw_count(&w, C, COVE_F_KEY, NULL), 1);
	assert_int_equal(rw_rdy(&w, C, ROOM, 2), 0);
	assert_room_epoch(2);
}

/* One that left and joins again while the room is still at the epoch it
 * held is given that key like any joiner (the leave's rekey moves the
 * room on as ever). */
TEST(a_member_back_at_the_epoch_it_held_is_asked_for_as_ever)
{
	keyed(3);
	assert_int_equal(rw_bye(&w, C, ROOM), 0);
	rw_clear_all(&w);
	assert_int_equal(rw_join(&w, C, ROOM), 0);
	assert_asked(A, C, 1);
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
	assert_int_equal(rw_key(&w, B, ROOM, A, 1), 0);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
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
		if (e > 1) /* A and B wait for e - 1 until nobody can give it */
			rw_advance(&w, RW_JOIN_TIMEOUT_MS);
		assert_rek(C, e);
		assert_int_equal(rw_rdy(&w, C, ROOM, e), 0);
		rw_advance(&w, 1000);
	}
	assert_room_epoch(5);
	rw_clear_all(&w);
	assert_int_equal(rw_bye(&w, C, ROOM), 0);
	assert_rek(A, 1);
}

TEST(a_rekeyer_sealing_to_some_only_cannot_rekey_again_before_the_others_have_the_key)
{
	/* C asks for a rekey every second and seals each epoch to A only:
	 * its next request waits until B has been given the epoch by A */
	keyed(3);
	assert_int_equal(rw_rky(&w, C, ROOM, 0), 0);
	assert_rek(C, 1);
	assert_int_equal(rw_rdy(&w, C, ROOM, 1), 0);
	assert_int_equal(rw_key(&w, C, ROOM, A, 1), 0);
	assert_int_equal(rw_rdy(&w, A, ROOM, 1), 0);
	rw_advance(&w, 1000);
	assert_int_equal(rw_rky(&w, C, ROOM, 1), 0);
	assert_u64(rw_count(&w, C, COVE_F_REK, NULL), 1); /* B still waits: not now */
	rw_advance(&w, RW_JOIN_TIMEOUT_MS - 1000);
	assert_asked(A, B, 1); /* B's rescue came first */
	assert_u64(rw_count(&w, C, COVE_F_REK, NULL), 1);
	assert_int_equal(rw_key(&w, A, ROOM, B, 1), 0);
	assert_int_equal(rw_rdy(&w, B, ROOM, 1), 0);
	assert_rek(C, 2); /* then C's request */
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
		T(a_member_answering_joiners_in_order_keeps_the_later_ones_asks),
		T(a_member_answering_slowly_keeps_an_ask_at_most_its_patience),
		T(join_fails_when_no_member_gives_the_key),
		T(when_every_key_holder_is_away_the_oldest_present_makes_a_new_key),
		T(member_limit_of_rooms_per_peer_holds),
		T(renewal_within_a_second_is_refused_then_passed_on),
		T(last_member_out_frees_the_room),
		T(rekey_on_leave_moves_the_others_to_a_new_epoch),
		T(a_member_back_after_leaving_gets_a_new_epoch_not_the_one_made_without_it),
		T(a_member_back_at_the_epoch_it_held_is_asked_for_as_ever),
		T(member_the_rekeyer_misses_is_caught_up_by_another),
		T(silent_rekeyer_is_replaced_with_a_higher_epoch),
		T(rekeyer_that_leaves_is_replaced),
		T(rky_makes_its_sender_the_rekeyer_at_most_once_a_second),
		T(rky_from_a_member_behind_or_during_a_rekey_is_ignored),
		T(first_rdy_above_2_31_minus_1_is_refused),
		T(rdy_for_an_epoch_nobody_named_is_refused),
		T(rdy_below_an_epoch_the_member_confirmed_is_refused),
		T(member_racing_epochs_up_then_leaving_leaves_no_gap),
		T(a_rekeyer_sealing_to_some_only_cannot_rekey_again_before_the_others_have_the_key),
		T(rky_before_the_first_key_is_confirmed_cannot_take_the_epoch_down),
		T(epochs_only_rise_through_rekeys),
		T(key_goes_only_to_its_named_joiner),
		T(key_sealed_to_a_replaced_session_key_still_reaches_it),
		T(key_from_a_member_without_the_current_epoch_is_refused),
		T(key_for_a_member_closing_or_away_is_not_sent_now),
		T(broadcast_goes_to_keyed_members_only),
		T(member_who_left_gets_and_sends_nothing_more),
		T(closing_connection_answers_nothing_and_its_ask_moves_on),
#undef T
	};

	if (sodium_init() < 0)
		return 1;
	return room_run(tests, sizeof(tests) / sizeof(tests[0]));
}
