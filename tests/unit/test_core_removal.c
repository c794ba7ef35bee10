/*
 * test_core_removal.c - removal, against a relay played by the test
 * (tests/unit/core_world.h): a relay that drops RKYs, never names a
 * rekeyer, fakes stale_epoch, replays a departed member's join, hides a
 * BYE from the rekeyer, cuts the link; members that leave, lose trust,
 * hand out keys they should not. Each test states one promise of
 * docs/SECURITY.md ("Removal") and checks it from alice's side: nothing
 * she sends after someone left or lost her trust is encrypted under a key
 * that one may hold, and she is told.
 */
#include "tests/unit/core_world.h"

/* ---- removal: someone left ------------------------------------------------------ */

TEST(after_a_leave_nothing_is_sent_under_the_key_the_leaver_holds)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *carol;

	be_first();
	carol = join(CAROL, gk0);
	clear_out();
	bye_of(CAROL);
	say("after carol left");
	/* held, and a new epoch asked for; only the GONE that tells the room
	 * carol left went under the old key */
	assert_u64(dats_above(0, gk0), 0);
	assert_u64(sent_count(COVE_F_DAT), 1);
	assert_u64(sent_count(COVE_F_RKY), 1);
	assert_u64(cove_chat_queued(w.core), 1);
	assert_u64(count_code(w.notices, w.nnotices, "held"), 1);
	/* the relay names alice: her epoch goes to bob only (not carol) and
	 * the message leaves under it */
	rek(1);
	assert_u64(sent_count(COVE_F_KEY), 0);
	assert_u64(dats_above(0, gk0), 1);
	assert_u64(cove_chat_queued(w.core), 0);
	cove_xkp_free(carol);
}

TEST(a_relay_that_never_rekeys_gets_nothing_sent_and_the_user_is_warned)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	clear_out();
	say("one");
	say("two");
	/* The relay drops every RKY and names no one, for ten minutes. */
	tick(10 * 60 * 1000);
	assert_u64(dats_above(0, gk0), 0); /* only GONEs, telling again of the leave */
	assert_true(sent_count(COVE_F_RKY) >= 2); /* alice keeps asking */
	assert_true(errors("rekey_stalled") >= 2);
	assert_u64(cove_chat_queued(w.core), 2);
	/* bob, at last, brings epoch 1 for alice and bob */
	{
		uint8_t gk1[COVE_GK_LEN];
		static const enum who both[] = { ALICE, BOB };

		randombytes_buf(gk1, sizeof(gk1));
		key_from(BOB, gk1, 1, both, 2);
	}
	assert_u64(dats_above(0, gk0), 2);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_rekeyer_that_stays_silent_is_asked_for_again_every_few_seconds)
{
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob, *carol;
	size_t rkys;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	clear_out();
	bye_of(CAROL);
	assert_u64(sent_count(COVE_F_RKY), 1); /* at once */
	say("held");
	/* The relay names bob to make epoch 1; bob never does. */
	tick(30 * 1000);
	rkys = sent_count(COVE_F_RKY);
	assert_true(rkys >= 6 && rkys <= 7); /* about every 5 s, not more often */
	assert_u64(last_sent(COVE_F_RKY).u.rdy.epoch, 0);
	assert_u64(errors("rekey_stalled"), 1);
	assert_u64(cove_chat_queued(w.core), 1);
	assert_u64(dats_above(0, gk0), 0);
	/* another rekeyer brings epoch 1 */
	randombytes_buf(gk1, sizeof(gk1));
	key_from(BOB, gk1, 1, both, 2);
	assert_u64(cove_chat_queued(w.core), 0);
	assert_u64(dats_above(0, gk0), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_faked_stale_epoch_never_sends_the_room_back_to_the_old_key)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	rek(1);
	/* the relay refuses alice's epoch 1 as stale */
	refuse_last_rdy();
	clear_out();
	say("after the refusal");
	tick(30 * 1000);
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(cove_chat_queued(w.core), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_rekey_sealed_for_a_list_that_may_hold_the_leaver_is_not_used)
{
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	static const enum who with_carol[] = { ALICE, BOB, CAROL };
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	/* The relay hid carol's BYE from bob, who seals epoch 1 to carol too. */
	randombytes_buf(gk1, sizeof(gk1));
	clear_out();
	key_from(BOB, gk1, 1, with_carol, 3);
	say("not for carol");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(cove_chat_queued(w.core), 1);
	assert_true(sent_count(COVE_F_RKY) >= 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_departed_members_dats_are_dropped)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *carol;

	be_first();
	carol = join(CAROL, gk0);
	dat_from(CAROL, gk0, 0, 0, "before");
	bye_of(CAROL);
	dat_from(CAROL, gk0, 0, 1, "after");
	assert_u64(w.ntexts, 1);
	assert_string_equal(w.texts[0], "before");
	assert_u64(errors("left"), 1);
	cove_xkp_free(carol);
}

/* ---- removal: someone is no longer trusted -------------------------------------- */

TEST(distrusting_a_member_holds_messages_until_our_own_epoch_without_it)
{
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;
	uint32_t epoch = 0;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	clear_out();
	set_whitelist("alice bob");
	say("carol must not read this");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(sent_count(COVE_F_RKY), 1);
	rek(1);
	/* the new key went to bob only, and the message under it */
	assert_u64(sent_count(COVE_F_KEY), 1);
	open_last_key(bob, gk1, &epoch);
	assert_u64(epoch, 1);
	/* the HOLDERS telling the room the key went to bob, then the message */
	assert_u64(dats_above(0, gk0), 2);
	{
		static uint8_t pt[COVE_PAD_MAX];
		static struct cove_payload pl;
		size_t holders = 0;

		for (size_t i = 0; i < w.nout; i++) {
			struct cove_frame f = sent(i);

			if (f.type != COVE_F_DAT)
				continue;
			assert_ok(cove_msg_dat_open(&f, gk1, pt, sizeof(pt), &pl));
			if (pl.kind == COVE_PL_HOLDERS) {
				assert_u64(pl.holders.epoch, 1);
				assert_u64(pl.holders.nids, 1);
				assert_bytes(pl.holders.ids[0], pk(BOB), 32);
				holders++;
			}
		}
		assert_u64(holders, 1);
	}
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(distrusting_a_member_while_rejoining_holds_messages_until_a_new_epoch)
{
	uint8_t gk0[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	reconnect();
	still_here(BOB, bob);
	still_here(CAROL, carol);
	/* the whitelist is reloaded while alice waits for the key again */
	set_whitelist("alice bob");
	clear_out();
	/* bob hands her back the key she gave carol, for a list without her */
	key_from(BOB, gk0, 0, both, 2);
	assert_int_equal(w.ready, 2);
	say("carol must not read this");
	assert_u64(dats_above(0, gk0), 0);
	assert_u64(cove_chat_queued(w.core), 1);
	tick(6000);
	assert_true(sent_count(COVE_F_RKY) >= 1);
	rek(1);
	assert_u64(sent_count(COVE_F_KEY), 1);
	assert_bytes(last_sent(COVE_F_KEY).u.key.to, pk(BOB), COVE_ID_LEN);
	assert_u64(cove_chat_queued(w.core), 0);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_dat_under_our_key_from_someone_we_do_not_trust_holds_our_messages)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *dave = cove_xkp_new();
	struct cove_frame ini;

	be_first();
	bob = join(BOB, gk0);
	/* dave (not on alice's whitelist) is in the room; someone who trusts
	 * him gave him the key, and he uses it */
	ini = ini_of(DAVE, dave);
	feed(&ini);
	clear_out();
	say("fine");
	assert_u64(sent_count(COVE_F_DAT), 1);
	dat_from(DAVE, gk0, 0, 0, "I read you");
	clear_out();
	say("held");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(cove_chat_queued(w.core), 1);
	cove_xkp_free(bob);
	cove_xkp_free(dave);
}

/* ---- epochs --------------------------------------------------------------------- */

TEST(a_key_of_the_last_epoch_number_or_too_high_for_a_first_key_is_refused)
{
	uint8_t gk[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob = here(BOB);

	randombytes_buf(gk, sizeof(gk));
	key_from(BOB, gk, COVE_EPOCH_END, both, 2);
	key_from(BOB, gk, COVE_EPOCH_FIRST_MAX + 1, both, 2);
	assert_int_equal(w.ready, 0);
	assert_u64(errors("bad_epoch"), 2);
	key_from(BOB, gk, COVE_EPOCH_FIRST_MAX, both, 2);
	assert_int_equal(w.ready, 1);
	cove_xkp_free(bob);
}

TEST(rekeys_never_go_back_nor_jump_too_far)
{
	uint8_t gk0[COVE_GK_LEN], gk[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	randombytes_buf(gk, sizeof(gk));
	key_from(BOB, gk, 5, both, 2);
	clear_out();
	rek(5);                         /* not above what she holds */
	rek(5 + COVE_EPOCH_STEP_MAX + 1); /* too far */
	assert_u64(sent_count(COVE_F_RDY), 0);
	assert_u64(errors("bad_epoch"), 2);
	key_from(BOB, gk0, 3, both, 2); /* older: ignored */
	say("under five");
	assert_u64(last_sent(COVE_F_DAT).u.dat.epoch, 5);
	rek(6);
	assert_u64(last_sent(COVE_F_RDY).u.rdy.epoch, 6);
	cove_xkp_free(bob);
}

TEST(the_step_a_rekey_may_take_grows_with_the_time_since_the_last_key)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	uint32_t step = COVE_EPOCH_STEP_MAX + 100 * COVE_EPOCH_STEP_PER_S;

	be_first();
	bob = join(BOB, gk0);
	w.clock_ms += 100 * 1000; /* 100 s since epoch 0, and no tick */
	clear_out();
	rek(step + 1);
	assert_u64(sent_count(COVE_F_RDY), 0);
	assert_u64(errors("bad_epoch"), 1);
	rek(step);
	assert_u64(last_sent(COVE_F_RDY).u.rdy.epoch, step);
	/* from the new key on, the step is counted afresh */
	rek(2 * step);
	assert_u64(errors("bad_epoch"), 2);
	cove_xkp_free(bob);
}

TEST(epochs_named_back_to_back_move_a_member_at_most_its_credit)
{
	/* a relay names alice for epoch after epoch, each as far as the one
	 * before allowed: after the first credit, 16 a second, not more */
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	uint32_t e = COVE_EPOCH_STEP_MAX;

	be_first();
	bob = join(BOB, gk0);
	clear_out();
	rek(e); /* the first credit, whole */
	assert_u64(last_sent(COVE_F_RDY).u.rdy.epoch, e);
	rek(e + COVE_EPOCH_STEP_MAX);
	rek(e + 2);
	assert_u64(errors("bad_epoch"), 2);
	w.clock_ms += 1000;
	rek(e + COVE_EPOCH_STEP_PER_S + 1);
	assert_u64(errors("bad_epoch"), 3);
	rek(e + COVE_EPOCH_STEP_PER_S);
	assert_u64(last_sent(COVE_F_RDY).u.rdy.epoch, e + COVE_EPOCH_STEP_PER_S);
	cove_xkp_free(bob);
}

TEST(a_key_that_does_not_match_its_commitment_is_refused)
{
	uint8_t gk[COVE_GK_LEN], other[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob = here(BOB);
	struct cove_frame f = frame_of(BOB, COVE_F_KEY);
	uint8_t view[COVE_VIEW_LEN];

	randombytes_buf(gk, sizeof(gk));
	randombytes_buf(other, sizeof(other));
	view_of(view, 0, both, 2);
	assert_ok(cove_msg_key_seal(&f, pk(ALICE), w.alice_xpk, 0, gk, view, w.id[BOB]));
	/* the commitment of another key: a broken or lying member */
	cove_gk_kid(f.u.key.kid, other, 0);
	sign_feed(BOB, &f);
	assert_int_equal(w.ready, 0);
	assert_u64(errors("bad_key"), 1);
	cove_xkp_free(bob);
}

TEST(a_key_from_a_member_that_left_is_refused_even_if_made_before)
{
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob, *carol;
	struct cove_frame late = frame_of(CAROL, COVE_F_KEY);
	uint8_t view[COVE_VIEW_LEN];

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	/* carol makes epoch 1 for alice and bob, signs it, then leaves; the
	 * relay delivers it after her BYE */
	randombytes_buf(gk1, sizeof(gk1));
	view_of(view, 1, both, 2);
	assert_ok(cove_msg_key_seal(&late, pk(ALICE), w.alice_xpk, 1, gk1, view, w.id[CAROL]));
	bye_of(CAROL);
	feed(&late);
	clear_out();
	say("not for carol");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(errors("refused_key"), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_key_from_someone_who_never_joined_is_refused)
{
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob, *carol;

	set_whitelist("alice bob carol dave");
	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	/* dave, on alice's whitelist but never in the room, brings epoch 1 */
	randombytes_buf(gk1, sizeof(gk1));
	key_from(DAVE, gk1, 1, both, 2);
	clear_out();
	say("held");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(errors("refused_key"), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_tainted_key_stays_tainted_after_a_reconnect)
{
	uint8_t gk0[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	/* the relay cuts alice's link; back in, bob hands her the same key */
	cove_chat_link_down(w.core);
	assert_ok(cove_chat_link_up(w.core));
	old_relay_refuses_syn();
	{
		struct cove_frame f = frame_of(RELAY, COVE_F_WLC);

		f.room_len = 0;
		f.room[0] = '\0';
		memcpy(f.u.wlc.you, pk(ALICE), COVE_ID_LEN);
		sign_feed(RELAY, &f);
	}
	{
		struct cove_frame f = ini_of(BOB, bob);

		w.seq[BOB]--; /* the same INI again, as the relay replays it */
		f.seq = w.seq[BOB];
		assert_ok(cove_msg_sign(&f, w.id[BOB]));
		feed(&f);
	}
	key_from(BOB, gk0, 0, both, 2);
	assert_int_equal(w.ready, 2);
	clear_out();
	say("carol holds that key");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(cove_chat_queued(w.core), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_member_that_vanished_while_we_were_away_taints_the_key_we_come_back_to)
{
	uint8_t gk0[COVE_GK_LEN];
	static const enum who both[] = { ALICE, BOB };
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	cove_chat_link_down(w.core);
	assert_ok(cove_chat_link_up(w.core));
	old_relay_refuses_syn();
	/* back in: bob is here, carol is not (she left while we were away,
	 * and the relay does not rekey) */
	{
		struct cove_frame f = ini_of(BOB, bob);

		feed(&f);
	}
	key_from(BOB, gk0, 0, both, 2);
	clear_out();
	say("carol may still hold the key");
	assert_u64(sent_count(COVE_F_DAT), 0);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

/* ---- joins ---------------------------------------------------------------------- */

TEST(a_departed_members_old_join_gets_no_key)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *carol, *fresh = cove_xkp_new();
	struct cove_frame old, again;
	size_t keys;

	be_first();
	carol = cove_xkp_new();
	old = ini_of(CAROL, carol);
	feed(&old);
	ask(CAROL, carol);
	open_last_key(carol, gk0, NULL);
	bye_of(CAROL);
	rek(1);
	keys = sent_count(COVE_F_KEY);
	/* the relay replays carol's old INI and asks for her */
	feed(&old);
	ask(CAROL, carol);
	assert_u64(sent_count(COVE_F_KEY), keys);
	/* a new INI with the same old session key is refused as well */
	again = ini_of(CAROL, carol);
	feed(&again);
	ask(CAROL, carol);
	assert_u64(sent_count(COVE_F_KEY), keys);
	/* a real new join, with a fresh session key, is welcome: in the next
	 * epoch, made with it */
	again = ini_of(CAROL, fresh);
	feed(&again);
	ask(CAROL, fresh);
	rek(2);
	assert_u64(sent_count(COVE_F_KEY), keys + 1);
	assert_bytes(last_sent(COVE_F_KEY).u.key.xpk, fresh->pk, COVE_XPK_LEN);
	cove_xkp_free(carol);
	cove_xkp_free(fresh);
}

TEST(a_join_older_than_a_day_gets_no_key)
{
	struct cove_xkp *bob = cove_xkp_new();
	struct cove_frame f;

	be_first();
	w.clock_ms -= COVE_CHAT_INI_MAX_AGE_MS + 60000;
	f = ini_of(BOB, bob);
	w.clock_ms += COVE_CHAT_INI_MAX_AGE_MS + 60000;
	feed(&f);
	clear_out();
	ask(BOB, bob);
	assert_u64(sent_count(COVE_F_KEY), 0);
	assert_u64(errors("refused_key"), 1);
	cove_xkp_free(bob);
}

TEST(members_replace_their_session_key_at_the_schedule)
{
	uint8_t old_xpk[COVE_XPK_LEN];

	be_first();
	memcpy(old_xpk, w.alice_xpk, COVE_XPK_LEN);
	clear_out();
	tick((uint64_t)COVE_CHAT_REKEY_INTERVAL_S * 1100);
	assert_true(sent_count(COVE_F_INI) >= 1);
	assert_bytes_differ(old_xpk, w.alice_xpk, COVE_XPK_LEN);
}

TEST(a_tainted_member_gives_no_joiner_the_key)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *carol, *bob = cove_xkp_new();
	struct cove_frame f;

	be_first();
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	f = ini_of(BOB, bob);
	feed(&f);
	clear_out();
	ask(BOB, bob);
	assert_u64(sent_count(COVE_F_KEY), 0);
	/* bob gets the next epoch instead */
	rek(1);
	assert_u64(sent_count(COVE_F_KEY), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

/* A HOLDERS payload from `from` naming ids for epoch, under gk. */
static void holders_from(enum who from, const uint8_t *gk, uint32_t epoch, const enum who *ids,
			 size_t n, uint64_t num)
{
	static uint8_t ct[COVE_DAT_CT_MAX];
	static struct cove_payload pl;
	struct cove_frame f = frame_of(from, COVE_F_DAT);

	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_HOLDERS;
	pl.holders.epoch = epoch;
	pl.holders.nids = n;
	for (size_t i = 0; i < n; i++)
		memcpy(pl.holders.ids[i], pk(ids[i]), 32);
	f.u.dat.epoch = epoch;
	memset(f.u.dat.sid, from, COVE_SID_LEN);
	f.u.dat.n = num;
	assert_ok(cove_msg_dat_seal(&f, ct, sizeof(ct), &pl, gk, w.id[from]));
	feed(&f);
}

TEST(a_member_hidden_from_us_is_known_once_another_names_it_a_holder)
{
	/* The relay never shows alice carol's join; bob gives carol the key
	 * and says so (HOLDERS). When alice stops trusting carol, she holds. */
	uint8_t gk0[COVE_GK_LEN];
	static const enum who carol_only[] = { CAROL };
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	holders_from(BOB, gk0, 0, carol_only, 1, 0);
	clear_out();
	say("before");
	assert_u64(sent_count(COVE_F_DAT), 1);
	set_whitelist("alice bob");
	say("carol must not read this");
	assert_u64(sent_count(COVE_F_DAT), 1);
	assert_u64(cove_chat_queued(w.core), 1);
	cove_xkp_free(bob);
}

TEST(a_holder_we_do_not_trust_taints_the_key_at_once)
{
	uint8_t gk0[COVE_GK_LEN];
	static const enum who dave_only[] = { DAVE };
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	holders_from(BOB, gk0, 0, dave_only, 1, 0);
	clear_out();
	say("dave must not read this");
	assert_u64(sent_count(COVE_F_DAT), 0);
	assert_u64(cove_chat_queued(w.core), 1);
	cove_xkp_free(bob);
}

TEST(we_tell_the_room_whom_we_gave_the_key)
{
	uint8_t gk0[COVE_GK_LEN];
	static uint8_t pt[COVE_PAD_MAX];
	static struct cove_payload pl;
	struct cove_xkp *bob;
	struct cove_frame f;

	be_first();
	bob = join(BOB, gk0);
	f = last_sent(COVE_F_DAT);
	assert_ok(cove_msg_dat_open(&f, gk0, pt, sizeof(pt), &pl));
	assert_u64(pl.kind, COVE_PL_HOLDERS);
	assert_u64(pl.holders.nids, 1);
	assert_bytes(pl.holders.ids[0], pk(BOB), 32);
	assert_true(f.u.dat.n != UINT64_MAX); /* numbered: a relay that drops it leaves a gap */
	cove_xkp_free(bob);
}

/* The encoding of a BYE naming who, from and signed by signer (who
 * itself, or another claiming who left), in out (COVE_GONE_BYE_MAX bytes);
 * returns its length. */
static size_t bye_bytes(enum who who, enum who signer, uint8_t *out)
{
	struct cove_frame f = frame_of(signer, COVE_F_BYE);
	size_t len = 0;

	memcpy(f.u.bye.who, pk(who), COVE_ID_LEN);
	assert_ok(cove_msg_sign(&f, w.id[signer]));
	assert_ok(cove_frame_encode(&f, out, COVE_GONE_BYE_MAX, &len));
	return len;
}

/* bob's GONE under gk of epoch, message n of his session, carrying bye
 * (len bytes). */
static void gone_from_bob(const uint8_t *gk, uint32_t epoch, uint64_t n, const uint8_t *bye,
			  size_t len)
{
	static uint8_t ct[COVE_DAT_CT_MAX];
	static struct cove_payload pl;
	struct cove_frame f = frame_of(BOB, COVE_F_DAT);

	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_GONE;
	pl.gone.nbyes = 1;
	pl.gone.bye[0] = bye;
	pl.gone.bye_len[0] = len;
	f.u.dat.epoch = epoch;
	memset(f.u.dat.sid, BOB, COVE_SID_LEN);
	f.u.dat.n = n;
	assert_ok(cove_msg_dat_seal(&f, ct, sizeof(ct), &pl, gk, w.id[BOB]));
	feed(&f);
}

TEST(a_bye_hidden_from_us_is_known_once_another_member_saw_it)
{
	/* The relay shows carol's BYE to bob only; bob says so (GONE), with
	 * her signed BYE. */
	uint8_t gk0[COVE_GK_LEN], bye[COVE_GONE_BYE_MAX];
	struct cove_xkp *bob, *carol;
	size_t len;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	len = bye_bytes(CAROL, CAROL, bye);
	gone_from_bob(gk0, 0, 0, bye, len);
	clear_out();
	say("carol must not read this");
	assert_u64(sent_count(COVE_F_DAT), 0);
	/* and alice's next epoch does not go to carol, whom she still counts
	 * present */
	rek(1);
	assert_u64(sent_count(COVE_F_KEY), 1);
	assert_bytes(last_sent(COVE_F_KEY).u.key.to, pk(BOB), 32);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_gone_whose_bye_is_not_the_members_own_changes_nothing)
{
	/* bob claims carol left, with a BYE he signed himself: no proof */
	uint8_t gk0[COVE_GK_LEN], bye[COVE_GONE_BYE_MAX];
	struct cove_xkp *bob, *carol;
	size_t len;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	len = bye_bytes(CAROL, BOB, bye);
	gone_from_bob(gk0, 0, 0, bye, len);
	assert_u64(errors("bad_gone"), 1);
	clear_out();
	say("carol may read this");
	assert_u64(sent_count(COVE_F_DAT), 1);
	rek(1);
	assert_u64(sent_count(COVE_F_KEY), 2); /* bob and carol */
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_gone_with_a_bye_older_than_the_members_last_join_changes_nothing)
{
	/* carol left once and joined again; bob replays her old BYE */
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN], bye[COVE_GONE_BYE_MAX];
	struct cove_xkp *bob, *carol, *carol2;
	struct cove_frame f;
	uint32_t e1;
	size_t len;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	len = bye_bytes(CAROL, CAROL, bye); /* her goodbye, as bob saw it */
	assert_ok(cove_frame_decode(&f, bye, len));
	feed(&f);
	rek(1);
	open_last_key(bob, gk1, &e1);
	assert_u64(e1, 1);
	carol2 = here(CAROL); /* a new join, newer than that BYE */
	clear_out();
	gone_from_bob(gk1, 1, 0, bye, len);
	assert_u64(errors("bad_gone"), 0); /* a real BYE, just stale: no alarm */
	say("carol is back; she gets this epoch's key");
	assert_u64(sent_count(COVE_F_DAT), 1);
	/* the same kind of GONE with a goodbye of hers since does count */
	len = bye_bytes(CAROL, CAROL, bye);
	gone_from_bob(gk1, 1, 1, bye, len);
	clear_out();
	say("held");
	assert_u64(sent_count(COVE_F_DAT), 0);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
	cove_xkp_free(carol2);
}

TEST(an_old_bye_replayed_after_the_member_joined_again_changes_nothing)
{
	/* carol left once and joined again; the relay replays her old BYE */
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN], bye[COVE_GONE_BYE_MAX];
	struct cove_xkp *bob, *carol, *carol2;
	struct cove_frame f;
	size_t len;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	len = bye_bytes(CAROL, CAROL, bye);
	assert_ok(cove_frame_decode(&f, bye, len));
	feed(&f);
	assert_u64(w.nleft, 1);
	rek(1);
	open_last_key(bob, gk1, NULL);
	carol2 = here(CAROL);
	clear_out();
	feed(&f); /* the same BYE again */
	assert_u64(w.nleft, 1);
	assert_u64(errors("replay"), 1);
	say("carol is back and may read this");
	assert_u64(sent_count(COVE_F_DAT), 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
	cove_xkp_free(carol2);
}

TEST(we_tell_the_room_when_we_see_a_member_leave)
{
	uint8_t gk0[COVE_GK_LEN];
	static uint8_t pt[COVE_PAD_MAX];
	static struct cove_payload pl;
	struct cove_xkp *bob, *carol;
	struct cove_frame f, bye;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	clear_out();
	bye_of(CAROL);
	f = last_sent(COVE_F_DAT);
	assert_ok(cove_msg_dat_open(&f, gk0, pt, sizeof(pt), &pl));
	assert_u64(pl.kind, COVE_PL_GONE);
	assert_u64(pl.gone.nbyes, 1);
	/* her own signed BYE, as proof */
	assert_ok(cove_frame_decode(&bye, pl.gone.bye[0], pl.gone.bye_len[0]));
	assert_u64(bye.type, COVE_F_BYE);
	assert_bytes(bye.from, pk(CAROL), 32);
	assert_ok(cove_msg_verify(&bye));
	assert_true(f.u.dat.n != UINT64_MAX);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

/* How many GONEs alice sent since the last clear_out() (opened with gk),
 * the number of the last in *n. */
static size_t gones_sent(const uint8_t *gk, uint64_t *n)
{
	size_t k = 0;

	for (size_t i = 0; i < w.nout; i++) {
		if (sent(i).type != COVE_F_DAT || opened(i, gk)->kind != COVE_PL_GONE)
			continue;
		*n = sent(i).u.dat.n;
		k++;
	}
	return k;
}

TEST(a_leave_is_told_again_while_the_rekey_it_needs_stalls)
{
	/* a relay hiding carol's BYE from bob, dropping alice's GONE and
	 * withholding the rekey: alice tells the room again, as a new
	 * message, each time she warns of the stall */
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;
	uint64_t n1 = 0, n2 = 0;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	clear_out();
	bye_of(CAROL);
	assert_u64(gones_sent(gk0, &n1), 1);
	clear_out();
	tick(COVE_CHAT_REKEY_STALL_MS + 100);
	assert_u64(errors("rekey_stalled"), 1);
	assert_u64(gones_sent(gk0, &n2), 1);
	assert_true(n2 > n1); /* a new message, not the same one again */
	/* the rekey comes: nothing more is told */
	rek(1);
	open_last_key(bob, gk1, NULL);
	clear_out();
	tick(2 * COVE_CHAT_REKEY_STALL_REPEAT_MS);
	assert_u64(errors("rekey_stalled"), 1);
	assert_u64(gones_sent(gk1, &n2), 0);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_removal_by_the_relay_is_not_told_again_by_members)
{
	/* the relay's own word: a GONE could carry no member's proof of it */
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	clear_out();
	relay_bye(CAROL);
	assert_u64(w.nleft, 1);
	assert_u64(sent_count(COVE_F_DAT), 0);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

/* ---- a new key waits for its sealer's HOLDERS ---------------------------------- */

/* The KEY's view names nobody away, so only its sealer's HOLDERS says
 * whether someone who left was given the new key (a sealer that missed
 * the BYE, restarted, with the BYE kept from it): alice sends nothing
 * under it before that list has come. */
TEST(a_new_key_is_used_only_once_its_sealers_holders_came)
{
	static const enum who both[] = { ALICE, BOB };
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	randombytes_buf(gk1, sizeof(gk1));
	clear_out();
	key_only_from(BOB, gk1, 1, both, 2);
	say("waits for bob's list");
	assert_u64(dats_above(0, gk0), 0);
	assert_u64(cove_chat_queued(w.core), 1);
	holders_of(BOB, gk1, 1, both, 2);
	assert_u64(dats_above(0, gk0), 1);
	assert_u64(cove_chat_queued(w.core), 0);
	cove_xkp_free(bob);
}

TEST(a_new_key_whose_holders_name_one_who_left_is_tainted)
{
	static const enum who both[] = { ALICE, BOB }, with_carol[] = { ALICE, BOB, CAROL };
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;

	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL);
	randombytes_buf(gk1, sizeof(gk1));
	clear_out();
	/* bob never saw carol go, and sealed epoch 1 to her as well */
	key_only_from(BOB, gk1, 1, both, 2);
	holders_of(BOB, gk1, 1, with_carol, 3);
	say("carol must not read this");
	tick(1000);
	assert_u64(dats_above(1, gk1), 0);
	assert_true(sent_count(COVE_F_RKY) >= 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

TEST(a_new_key_whose_holders_never_come_is_tainted_and_a_rekey_asked)
{
	static const enum who both[] = { ALICE, BOB };
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	struct cove_xkp *bob;

	be_first();
	bob = join(BOB, gk0);
	randombytes_buf(gk1, sizeof(gk1));
	key_only_from(BOB, gk1, 1, both, 2);
	clear_out();
	say("held");
	tick(COVE_CHAT_HOLDERS_WAIT_MS - 500);
	assert_u64(sent_count(COVE_F_RKY), 0);
	tick(1000);
	assert_u64(sent_count(COVE_F_RKY), 1);
	assert_u64(dats_above(0, gk0), 0);
	assert_u64(cove_chat_queued(w.core), 1);
	cove_xkp_free(bob);
}

/* A member that hands the key to one more (ASK) names in its HOLDERS,
 * besides the newcomer, those it sealed that epoch to while they were
 * away (those here the newcomer sees in the KEY's view): so that the one
 * it gives the key to learns from that HOLDERS alone whom else it went
 * to, and no way of handing over a key skips the list. */
TEST(a_holders_after_an_ask_names_the_members_away_given_the_epoch)
{
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	struct cove_xkp *bob, *carol, *dave;
	struct cove_frame prs = frame_of(RELAY, COVE_F_PRS);
	struct cove_payload *pl;
	size_t last = 0;

	set_whitelist("alice bob carol dave");
	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	/* carol goes away; alice gave her epoch 0, so she gets epoch 1 too */
	memcpy(prs.u.prs.who, pk(CAROL), COVE_ID_LEN);
	prs.u.prs.here = 0;
	prs.u.prs.seen = w.clock_ms;
	sign_feed(RELAY, &prs);
	rek(1);
	open_last_key(carol, gk1, NULL); /* sealed to her, away */
	dave = here(DAVE);
	clear_out();
	ask(DAVE, dave);
	assert_u64(sent_count(COVE_F_KEY), 1);
	for (size_t i = 0; i < w.nout; i++)
		if (sent(i).type == COVE_F_DAT)
			last = i;
	pl = opened(last, gk1);
	assert_int_equal(pl->kind, COVE_PL_HOLDERS);
	assert_u64(pl->holders.epoch, 1);
	assert_u64(pl->holders.nids, 2);
	assert_memory_equal(pl->holders.ids[0], pk(DAVE), 32);
	assert_memory_equal(pl->holders.ids[1], pk(CAROL), 32);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
	cove_xkp_free(dave);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(a_member_hidden_from_us_is_known_once_another_names_it_a_holder),
		T(a_holder_we_do_not_trust_taints_the_key_at_once),
		T(we_tell_the_room_whom_we_gave_the_key),
		T(a_bye_hidden_from_us_is_known_once_another_member_saw_it),
		T(a_gone_whose_bye_is_not_the_members_own_changes_nothing),
		T(a_gone_with_a_bye_older_than_the_members_last_join_changes_nothing),
		T(a_removal_by_the_relay_is_not_told_again_by_members),
		T(a_leave_is_told_again_while_the_rekey_it_needs_stalls),
		T(an_old_bye_replayed_after_the_member_joined_again_changes_nothing),
		T(we_tell_the_room_when_we_see_a_member_leave),
		T(after_a_leave_nothing_is_sent_under_the_key_the_leaver_holds),
		T(a_relay_that_never_rekeys_gets_nothing_sent_and_the_user_is_warned),
		T(a_rekeyer_that_stays_silent_is_asked_for_again_every_few_seconds),
		T(a_faked_stale_epoch_never_sends_the_room_back_to_the_old_key),
		T(a_rekey_sealed_for_a_list_that_may_hold_the_leaver_is_not_used),
		T(a_departed_members_dats_are_dropped),
		T(distrusting_a_member_holds_messages_until_our_own_epoch_without_it),
		T(distrusting_a_member_while_rejoining_holds_messages_until_a_new_epoch),
		T(a_dat_under_our_key_from_someone_we_do_not_trust_holds_our_messages),
		T(a_key_of_the_last_epoch_number_or_too_high_for_a_first_key_is_refused),
		T(rekeys_never_go_back_nor_jump_too_far),
		T(the_step_a_rekey_may_take_grows_with_the_time_since_the_last_key),
		T(epochs_named_back_to_back_move_a_member_at_most_its_credit),
		T(a_key_that_does_not_match_its_commitment_is_refused),
		T(a_departed_members_old_join_gets_no_key),
		T(a_join_older_than_a_day_gets_no_key),
		T(members_replace_their_session_key_at_the_schedule),
		T(a_tainted_member_gives_no_joiner_the_key),
		T(a_key_from_a_member_that_left_is_refused_even_if_made_before),
		T(a_key_from_someone_who_never_joined_is_refused),
		T(a_tainted_key_stays_tainted_after_a_reconnect),
		T(a_member_that_vanished_while_we_were_away_taints_the_key_we_come_back_to),
		T(a_new_key_is_used_only_once_its_sealers_holders_came),
		T(a_new_key_whose_holders_name_one_who_left_is_tainted),
		T(a_new_key_whose_holders_never_come_is_tainted_and_a_rekey_asked),
		T(a_holders_after_an_ask_names_the_members_away_given_the_epoch),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
