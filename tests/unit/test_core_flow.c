/*
 * test_core_flow.c - the chat core's message flow, against a relay played
 * by the test (tests/unit/core_world.h): requests to send again and their
 * bounds, pacing to the relay's limits, gaps reported only once they are
 * real, messages that cannot be sent named, members coming back.
 */
#include "tests/unit/core_world.h"

/* ---- requests -------------------------------------------------------------------- */

static struct cove_payload catchup(void)
{
	struct cove_payload pl;

	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_CATCHUP;
	pl.catchup.within_ms = COVE_CHAT_HISTORY_MS;
	return pl;
}

TEST(catchup_is_answered_once_and_only_just_after_a_join)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct cove_payload pl = catchup();

	be_first();
	bob = join(BOB, gk0);
	for (int i = 0; i < 5; i++)
		say("hello");
	clear_out();
	/* the five, and the HOLDERS that told the room bob got the key */
	request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), 6);
	request_from(BOB, gk0, 0, &pl);
	request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), 6);
	cove_xkp_free(bob);
}

TEST(catchup_long_after_the_join_is_not_answered)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct cove_payload pl = catchup();

	be_first();
	bob = join(BOB, gk0);
	tick(COVE_CHAT_CATCHUP_WINDOW_MS + 1000);
	say("hello");
	clear_out();
	request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), 0);
	cove_xkp_free(bob);
}

TEST(resend_answers_are_bounded_per_requester)
{
	uint8_t gk0[COVE_GK_LEN], sid[COVE_SID_LEN];
	struct cove_xkp *bob;
	struct cove_payload pl;

	be_first();
	cove_chat_set_limits(w.core, 1000000, 1000000); /* the budget, not the pace */
	tick(1000);
	bob = join(BOB, gk0);
	for (int i = 0; i < 100; i++)
		say("x");
	memcpy(sid, last_sent(COVE_F_DAT).u.dat.sid, COVE_SID_LEN);
	clear_out();
	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_RESEND;
	memcpy(pl.resend.from, pk(ALICE), 32);
	memcpy(pl.resend.sid, sid, COVE_SID_LEN);
	pl.resend.first = 0;
	pl.resend.last = 99;
	for (int i = 0; i < 30; i++)
		request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), COVE_CHAT_HISTORY_MAX);
	clear_out();
	tick(COVE_CHAT_HISTORY_MS / 2);
	request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), 0);
	cove_xkp_free(bob);
}

/* ---- pacing and gaps ------------------------------------------------------------- */


TEST(dats_are_paced_inside_the_relays_limits_and_none_is_lost)
{
	uint64_t n_seen = 0;

	be_first();
	cove_chat_set_limits(w.core, 100, 50);
	tick(1000); /* the bucket is full: 45 (90% of the burst of 50) */
	clear_out();
	for (int i = 0; i < 400; i++)
		say("paced");
	assert_u64(sent_count(COVE_F_DAT), 45);
	assert_u64(cove_chat_queued(w.core), 400 - 45);
	tick(1000);
	/* 90 a second, at 90% of the relay's rate; never a burst above it */
	assert_true(sent_count(COVE_F_DAT) >= 45 + 85 && sent_count(COVE_F_DAT) <= 45 + 91);
	tick(5000);
	assert_u64(sent_count(COVE_F_DAT), 400);
	assert_u64(cove_chat_queued(w.core), 0);
	for (size_t i = 0; i < w.nout; i++) {
		struct cove_frame f = sent(i);

		if (f.type == COVE_F_DAT)
			assert_u64(f.u.dat.n, n_seen++);
	}
}

TEST(messages_queued_past_the_key_budget_wait_for_the_next_key)
{
	static const struct cove_chat_opts opts = { .rekey_messages = 3 };
	uint64_t n = 0;

	alice_starts(&opts);
	be_first();
	say("a");
	say("b");
	say("c");
	/* the budget of epoch 0 is spent: the rest waits */
	say("d");
	say("e");
	say("f");
	say("g");
	assert_u64(cove_chat_queued(w.core), 4);
	clear_out();
	rek(1);
	/* epoch 1 takes three, and g still waits for epoch 2 */
	assert_u64(sent_count(COVE_F_DAT), 3);
	assert_u64(cove_chat_queued(w.core), 1);
	rek(2);
	assert_u64(sent_count(COVE_F_DAT), 4);
	assert_u64(cove_chat_queued(w.core), 0);
	for (size_t i = 0; i < w.nout; i++) {
		struct cove_frame f = sent(i);

		if (f.type == COVE_F_DAT)
			assert_u64(f.u.dat.n, 3 + n++); /* d, e, f, g: no number lost */
	}
}

TEST(a_gap_is_reported_only_after_its_resend_had_its_chance)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	dat_from(BOB, gk0, 0, 0, "zero");
	dat_from(BOB, gk0, 0, 3, "three"); /* 1 and 2 missing */
	clear_out();
	tick(COVE_CHAT_GAP_ASK_MS + 100);
	assert_u64(sent_count(COVE_F_DAT), 1); /* the RESEND */
	/* still coming: the sender is slow to answer */
	tick(COVE_CHAT_GAP_REPORT_MS - 500);
	assert_u64(errors("gap"), 0);
	dat_from(BOB, gk0, 0, 1, "one");
	tick(1000);
	assert_u64(errors("gap"), 1); /* 2 never came */
	assert_u64(w.ntexts, 3);
	cove_xkp_free(bob);
}

TEST(a_gap_is_asked_for_once_the_ask_delay_passed_naming_the_missing_numbers)
{
	uint8_t gk0[COVE_GK_LEN], sid[COVE_SID_LEN];
	struct cove_payload *pl;
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	dat_from(BOB, gk0, 0, 0, "zero");
	dat_from(BOB, gk0, 0, 3, "three"); /* 1 and 2 missing */
	clear_out();
	tick(COVE_CHAT_GAP_ASK_MS - 100);
	assert_u64(sent_count(COVE_F_DAT), 0); /* they may still be on their way */
	tick(200);
	assert_u64(sent_count(COVE_F_DAT), 1);
	assert_u64(last_sent(COVE_F_DAT).u.dat.n, COVE_CHAT_UNNUMBERED);
	pl = opened(w.nout - 1, gk0);
	assert_u64(pl->kind, COVE_PL_RESEND);
	memset(sid, BOB, sizeof(sid)); /* dat_from's session id */
	assert_bytes(pl->resend.from, pk(BOB), COVE_ID_LEN);
	assert_bytes(pl->resend.sid, sid, COVE_SID_LEN);
	assert_u64(pl->resend.first, 1);
	assert_u64(pl->resend.last, 2);
	tick(3 * COVE_CHAT_GAP_ASK_MS);
	assert_u64(sent_count(COVE_F_DAT), 1); /* asked once */
	cove_xkp_free(bob);
}

TEST(a_gap_still_open_is_reported_once_the_report_delay_after_its_request)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	dat_from(BOB, gk0, 0, 0, "zero");
	dat_from(BOB, gk0, 0, 3, "three");
	tick(COVE_CHAT_GAP_ASK_MS + 50); /* asked for at COVE_CHAT_GAP_ASK_MS */
	tick(COVE_CHAT_GAP_REPORT_MS - 100);
	assert_u64(errors("gap"), 0);
	tick(200);
	assert_u64(errors("gap"), 1);
	assert_u64(w.gap_first, 1);
	assert_u64(w.gap_last, 2);
	tick(2 * COVE_CHAT_GAP_REPORT_MS);
	assert_u64(errors("gap"), 1); /* once */
	cove_xkp_free(bob);
}

TEST(messages_a_failed_join_drops_are_each_named)
{
	struct cove_frame err = frame_of(RELAY, COVE_F_ERR);

	say("first words");
	say("second words");
	assert_u64(cove_chat_queued(w.core), 2);
	err.u.err.code = COVE_EC_NO_KEY;
	err.u.err.text = "no key";
	err.u.err.text_len = 6;
	assert_ok(cove_msg_sign(&err, w.id[RELAY]));
	/* the only room failed: the node cannot go on, and says what it lost */
	assert_err(cove_chat_frame(w.core, &err, NULL, 0), COVE_ERR_STATE);
	assert_u64(errors("not_sent"), 2);
	assert_u64(cove_chat_queued(w.core), 0);
}

TEST(a_member_back_after_leaving_gets_a_new_epoch_not_the_one_made_without_it)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol, *carol2;
	struct cove_frame f;
	size_t keys;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	rek(1);
	say("while carol is away");
	/* carol comes back with a new join */
	carol2 = cove_xkp_new();
	f = ini_of(CAROL, carol2);
	feed(&f);
	keys = sent_count(COVE_F_KEY);
	clear_out();
	ask(CAROL, carol2);
	assert_u64(sent_count(COVE_F_KEY), 0);   /* not epoch 1 */
	assert_u64(sent_count(COVE_F_RKY), 1);   /* a new one asked for */
	rek(2);
	assert_u64(sent_count(COVE_F_KEY), 2);   /* epoch 2, to bob and carol */
	(void)keys;
	cove_xkp_free(bob);
	cove_xkp_free(carol);
	cove_xkp_free(carol2);
}

TEST(nobody_gets_again_what_was_said_before_it_was_a_member)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct cove_payload pl = catchup();

	be_first();
	say("before bob");
	say("also before bob");
	tick(1000);
	bob = join(BOB, gk0);
	say("with bob");
	clear_out();
	/* "with bob" and the HOLDERS of bob's key; nothing said before */
	request_from(BOB, gk0, 0, &pl);
	assert_u64(sent_count(COVE_F_DAT), 2);
	cove_xkp_free(bob);
}

TEST(nobody_gets_again_what_was_said_before_it_came_when_another_asks)
{
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN], sid[COVE_SID_LEN];
	struct cove_xkp *bob, *carol;
	struct cove_payload pl;
	size_t with = 0;

	be_first();
	bob = join(BOB, gk0);
	tick(1000);
	say("before carol");
	memcpy(sid, last_sent(COVE_F_DAT).u.dat.sid, COVE_SID_LEN);
	tick(1000);
	rek(1);
	open_last_key(bob, gk1, NULL);
	tick(1000);
	/* carol comes, under epoch 1: she never held the key of what was
	 * said before */
	carol = cove_xkp_new();
	assert_non_null(carol);
	{
		struct cove_frame f = ini_of(CAROL, carol);

		feed(&f);
	}
	ask(CAROL, carol);
	say("with carol");
	clear_out();
	/* bob (a relay dropped his copies) asks for all of alice's messages */
	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_RESEND;
	memcpy(pl.resend.from, pk(ALICE), 32);
	memcpy(pl.resend.sid, sid, COVE_SID_LEN);
	pl.resend.first = 0;
	pl.resend.last = 10;
	request_from(BOB, gk1, 1, &pl);
	for (size_t i = 0; i < w.nout; i++) {
		const struct cove_payload *p = opened(i, gk1);

		if (p->kind != COVE_PL_TEXT)
			continue;
		assert_u64(p->text_len, strlen("with carol"));
		assert_bytes(p->text, "with carol", p->text_len);
		with++;
	}
	assert_u64(with, 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_refused_rekey_is_asked_for_again_and_warned_about)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	be_first();
	bob = join(BOB, gk0);
	rek(1);
	refuse_last_rdy();
	clear_out();
	tick(COVE_CHAT_REKEY_STALL_MS + 1000);
	assert_true(sent_count(COVE_F_RKY) >= 1);
	assert_u64(errors("rekey_stalled"), 1);
	cove_xkp_free(bob);
}

TEST(an_overdue_scheduled_rekey_is_warned_about_but_does_not_hold)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	tick((uint64_t)COVE_CHAT_REKEY_INTERVAL_S * 1100 + COVE_CHAT_REKEY_OVERDUE_MS + 1000);
	assert_true(errors("rekey_stalled") >= 1);
	clear_out();
	say("still sent");
	assert_u64(sent_count(COVE_F_DAT), 1);
	cove_xkp_free(bob);
}

/* ---- signatures the program checked ahead (cove-node's verify pool) ------------- */

/* bob's DAT of text, number n, with its signature broken when bad. */
static struct cove_frame bobs_dat(const uint8_t *gk, uint64_t n, const char *text, int bad)
{
	struct cove_frame f = dat_of(BOB, gk, 0, n, text);

	if (bad)
		f.sig[0] ^= 1;
	return f;
}

/* The same frame inside a FWD, numbered rseq by the relay (the DAT's
 * bytes in buf). */
static struct cove_frame fwd_of(const struct cove_frame *in, uint8_t *buf, size_t cap,
				uint64_t rseq)
{
	struct cove_frame f;
	size_t len = 0;

	assert_ok(cove_frame_encode(in, buf, cap, &len));
	memset(&f, 0, sizeof(f));
	f.version = COVE_PROTO_VERSION;
	f.type = COVE_F_FWD;
	f.u.fwd.rseq = rseq;
	f.u.fwd.rdat = rseq;
	f.u.fwd.frame = buf;
	f.u.fwd.frame_len = len;
	return f;
}

TEST(a_message_the_program_found_badly_signed_is_dropped)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct cove_frame f;

	be_first();
	bob = join(BOB, gk0);
	f = bobs_dat(gk0, 0, "one", 0);
	feed_checked(&f, COVE_CHAT_SIG_BAD);
	assert_u64(w.ntexts, 0);
	assert_u64(errors("bad_signature"), 1);
	f = bobs_dat(gk0, 1, "two", 0);
	feed_checked(&f, COVE_CHAT_SIG_UNCHECKED); /* the core checks: good */
	assert_u64(w.ntexts, 1);
	assert_string_equal(w.texts[0], "two");
	cove_xkp_free(bob);
}

TEST(the_programs_check_stands_for_the_cores_own)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct cove_frame f;

	be_first();
	bob = join(BOB, gk0);
	/* checked by the core, a broken signature is refused ... */
	f = bobs_dat(gk0, 0, "one", 1);
	feed(&f);
	assert_u64(w.ntexts, 0);
	assert_u64(errors("bad_signature"), 1);
	/* ... so a message shown with one proves the core did not check it
	 * again: the program's check is the one made */
	f = bobs_dat(gk0, 1, "two", 1);
	feed_checked(&f, COVE_CHAT_SIG_GOOD);
	assert_u64(w.ntexts, 1);
	assert_string_equal(w.texts[0], "two");
	cove_xkp_free(bob);
}

TEST(the_check_of_a_forwarded_frame_is_of_the_frame_inside)
{
	uint8_t gk0[COVE_GK_LEN], buf[COVE_FRAME_MAX];
	struct cove_xkp *bob;
	struct cove_frame in, f;

	be_first();
	bob = join(BOB, gk0);
	in = bobs_dat(gk0, 0, "one", 0);
	f = fwd_of(&in, buf, sizeof(buf), 1);
	feed_checked(&f, COVE_CHAT_SIG_BAD);
	assert_u64(w.ntexts, 0);
	assert_u64(errors("bad_signature"), 1);
	in = bobs_dat(gk0, 1, "two", 1);
	f = fwd_of(&in, buf, sizeof(buf), 2);
	feed_checked(&f, COVE_CHAT_SIG_GOOD);
	assert_u64(w.ntexts, 1);
	assert_string_equal(w.texts[0], "two");
	in = bobs_dat(gk0, 2, "three", 1);
	f = fwd_of(&in, buf, sizeof(buf), 3);
	feed(&f); /* unchecked: the core checks the frame inside */
	assert_u64(w.ntexts, 1);
	assert_u64(errors("bad_signature"), 2);
	cove_xkp_free(bob);
}

/* ---- replays ------------------------------------------------------------------ */

TEST(replayed_messages_are_said_once_a_second_with_their_count)
{
	/* a relay sends the same frame again and again: the user is told
	 * without being buried (each replay loses nothing) */
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct cove_frame f;

	be_first();
	bob = join(BOB, gk0);
	f = bobs_dat(gk0, 0, "once", 0);
	feed(&f);
	assert_u64(w.ntexts, 1);
	for (int i = 0; i < 100; i++)
		feed(&f);
	assert_u64(w.ntexts, 1);
	assert_u64(errors("replay"), 1);
	tick(COVE_CHAT_REPLAY_QUIET_MS + 100);
	assert_u64(errors("replay"), 2); /* "dropped 99 more" */
	tick(10 * COVE_CHAT_REPLAY_QUIET_MS);
	assert_u64(errors("replay"), 2); /* nothing more to say */
	feed(&f);
	assert_u64(errors("replay"), 3); /* a new one, after a quiet second */
	cove_xkp_free(bob);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(catchup_is_answered_once_and_only_just_after_a_join),
		T(catchup_long_after_the_join_is_not_answered),
		T(resend_answers_are_bounded_per_requester),
		T(dats_are_paced_inside_the_relays_limits_and_none_is_lost),
		T(messages_queued_past_the_key_budget_wait_for_the_next_key),
		T(a_gap_is_reported_only_after_its_resend_had_its_chance),
		T(a_gap_is_asked_for_once_the_ask_delay_passed_naming_the_missing_numbers),
		T(a_gap_still_open_is_reported_once_the_report_delay_after_its_request),
		T(messages_a_failed_join_drops_are_each_named),
		T(a_member_back_after_leaving_gets_a_new_epoch_not_the_one_made_without_it),
		T(nobody_gets_again_what_was_said_before_it_was_a_member),
		T(nobody_gets_again_what_was_said_before_it_came_when_another_asks),
		T(a_refused_rekey_is_asked_for_again_and_warned_about),
		T(an_overdue_scheduled_rekey_is_warned_about_but_does_not_hold),
		T(a_message_the_program_found_badly_signed_is_dropped),
		T(the_programs_check_stands_for_the_cores_own),
		T(the_check_of_a_forwarded_frame_is_of_the_frame_inside),
		T(replayed_messages_are_said_once_a_second_with_their_count),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
