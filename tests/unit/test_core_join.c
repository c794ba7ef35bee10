/*
 * test_core_join.c - joining a room, against a relay played by the test
 * (tests/unit/core_world.h): the first in an empty room, a joiner whose
 * first member never answers, a member that refuses a joiner, a link
 * lost and a room joined again, a member whose grace period ran out.
 */
#include "tests/unit/core_world.h"

/* Whether the i-th frame alice sent is a DAT that opens under gk to a
 * text equal to s. */
static int is_text(size_t i, const uint8_t *gk, const char *s)
{
	const struct cove_payload *pl;

	if (sent(i).type != COVE_F_DAT)
		return 0;
	pl = opened(i, gk);
	return pl->kind == COVE_PL_TEXT && pl->text_len == strlen(s) &&
	       memcmp(pl->text, s, pl->text_len) == 0;
}

/* ---- the first in a room ------------------------------------------------------ */

TEST(the_first_in_an_empty_room_makes_epoch_zero_and_is_ready)
{
	struct cove_frame dat;

	assert_u64(sent_count(COVE_F_RDY), 0);
	be_first();
	assert_true(w.first);
	assert_false(w.rejoin);
	assert_u64(sent_count(COVE_F_RDY), 1);
	assert_u64(last_sent(COVE_F_RDY).u.rdy.epoch, 0);
	clear_out();
	say("hello");
	dat = last_sent(COVE_F_DAT);
	assert_u64(dat.u.dat.epoch, 0);
	assert_u64(dat.u.dat.n, 0);
}

TEST(a_you_are_first_about_another_join_is_ignored)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_INI);

	/* the relay's "you are first" for a session key that is not alice's
	 * (an old join of hers, replayed) */
	randombytes_buf(f.u.ini.xpk, COVE_XPK_LEN);
	clear_out();
	sign_feed(RELAY, &f);
	assert_int_equal(w.ready, 0);
	assert_u64(w.nout, 0);
	say("waits for the key");
	assert_u64(cove_chat_queued(w.core), 1);
}

/* ---- joining where others are ------------------------------------------------- */

TEST(a_joiner_takes_the_key_from_the_next_member_when_the_first_stays_silent)
{
	/* bob and carol are in the room; the relay asks bob for alice, bob
	 * never answers, the relay asks carol */
	static const enum who all[] = { ALICE, BOB, CAROL };
	uint8_t gk[COVE_GK_LEN];
	struct cove_xkp *bob = here(BOB), *carol = here(CAROL);

	clear_out();
	say("waiting for the key");
	tick(5000);
	assert_int_equal(w.ready, 0);
	assert_u64(w.nout, 0); /* nothing goes out without a key */
	randombytes_buf(gk, sizeof(gk));
	key_from(CAROL, gk, 0, all, 3);
	assert_int_equal(w.ready, 1);
	assert_false(w.first);
	assert_u64(last_sent(COVE_F_RDY).u.rdy.epoch, 0);
	/* what waited goes under carol's key */
	assert_u64(sent_count(COVE_F_DAT), 1);
	assert_true(is_text(w.nout - 1, gk, "waiting for the key"));
	assert_u64(cove_chat_queued(w.core), 0);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_member_refuses_a_joiner_that_is_not_on_its_whitelist)
{
	struct cove_xkp *dave;

	be_first();
	dave = here(DAVE);
	clear_out();
	ask(DAVE, dave);
	assert_u64(sent_count(COVE_F_KEY), 0);
	assert_u64(errors("refused_key"), 1);
	cove_xkp_free(dave);
}

/* ---- the link ----------------------------------------------------------------- */

TEST(after_a_lost_link_what_may_have_been_lost_is_sent_again_and_asked_for)
{
	static const enum who both[] = { ALICE, BOB };
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	size_t before = 0, away = 0, catchups = 0;
	uint64_t n_before;

	be_first();
	bob = join(BOB, gk0);
	say("before");
	n_before = last_sent(COVE_F_DAT).u.dat.n;
	tick(1000);
	cove_chat_link_down(w.core);
	say("while away");
	assert_u64(cove_chat_queued(w.core), 1);
	tick(5000);
	clear_out();
	reconnect();
	assert_u64(sent_count(COVE_F_INI), 1); /* the room joined again */
	still_here(BOB, bob);
	key_from(BOB, gk0, 0, both, 2);
	assert_int_equal(w.ready, 2);
	assert_true(w.rejoin);
	for (size_t i = 0; i < w.nout; i++) {
		struct cove_frame f = sent(i);

		if (f.type != COVE_F_DAT)
			continue;
		if (is_text(i, gk0, "before")) {
			assert_u64(f.u.dat.n, n_before); /* the same message: receivers drop it */
			before++;
		} else if (is_text(i, gk0, "while away")) {
			away++;
		} else if (opened(i, gk0)->kind == COVE_PL_CATCHUP) {
			catchups++;
		}
	}
	assert_u64(before, 1);
	assert_u64(catchups, 1);
	assert_u64(away, 1);
	assert_u64(cove_chat_queued(w.core), 0);
	cove_xkp_free(bob);
}

TEST(a_member_whose_grace_period_ran_out_is_gone_once_the_relay_says_so)
{
	/* carol's connection was lost; the relay kept her place for its grace
	 * period, then signs her BYE */
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	clear_out();
	relay_bye(CAROL);
	assert_u64(w.nleft, 1);
	assert_u64(sent_count(COVE_F_RKY), 1);
	say("carol is gone");
	assert_u64(cove_chat_queued(w.core), 1);
	assert_u64(dats_above(0, gk0), 0); /* only the GONE */
	rek(1);
	assert_u64(sent_count(COVE_F_KEY), 1);
	assert_bytes(last_sent(COVE_F_KEY).u.key.to, pk(BOB), COVE_ID_LEN);
	assert_u64(cove_chat_queued(w.core), 0);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_bye_for_another_signed_by_a_member_is_ignored)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;
	struct cove_frame f;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	clear_out();
	/* bob says carol left: only carol, or the relay, can say that */
	f = frame_of(BOB, COVE_F_BYE);
	memcpy(f.u.bye.who, pk(CAROL), COVE_ID_LEN);
	sign_feed(BOB, &f);
	assert_u64(w.nleft, 0);
	say("carol is still here");
	assert_u64(sent_count(COVE_F_DAT), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(the_first_in_an_empty_room_makes_epoch_zero_and_is_ready),
		T(a_you_are_first_about_another_join_is_ignored),
		T(a_joiner_takes_the_key_from_the_next_member_when_the_first_stays_silent),
		T(a_member_refuses_a_joiner_that_is_not_on_its_whitelist),
		T(after_a_lost_link_what_may_have_been_lost_is_sent_again_and_asked_for),
		T(a_member_whose_grace_period_ran_out_is_gone_once_the_relay_says_so),
		T(a_bye_for_another_signed_by_a_member_is_ignored),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
