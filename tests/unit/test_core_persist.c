/*
 * test_core_persist.c - what the chat core hands its persistence table
 * (chat/chat.h, struct cove_chat_persist), and what it does with the
 * answers: the node's history and state, seen from the core.
 */
#include "tests/unit/core_world.h"
#include "tests/unit/mem_persist.h"

/* alice in ROOM with bob, both holding epoch 0 (alice made it). */
static struct cove_xkp *with_bob(uint8_t *gk0)
{
	be_first();
	return join(BOB, gk0);
}

static int setup_persist(void **state)
{
	setup(state);
	mem_persist_on();
	alice_starts(NULL);
	return 0;
}

static void every_message_shown_is_kept_with_its_sender_and_number(void **state)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	(void)state;
	bob = with_bob(gk0);
	dat_from(BOB, gk0, 0, 0, "hello alice");
	say("hello bob");
	assert_u64(w.ntexts, 1);
	assert_u64(mem.nmsgs, 2);
	assert_bytes(mem.msgs[0].from, pk(BOB), COVE_ID_LEN);
	assert_u64(mem.msgs[0].n, 0);
	assert_string_equal(mem.msgs[0].text, "hello alice");
	assert_u64(mem.msgs[0].rseq, 0); /* it came bare: no relay number */
	/* ours too, under the session alice's DATs carry */
	assert_bytes(mem.msgs[1].from, pk(ALICE), COVE_ID_LEN);
	assert_string_equal(mem.msgs[1].text, "hello bob");
	assert_bytes(mem.msgs[1].sid, last_sent(COVE_F_DAT).u.dat.sid, COVE_SID_LEN);
	cove_xkp_free(bob);
}

static void a_message_kept_before_is_not_shown_again_after_a_restart(void **state)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	(void)state;
	bob = with_bob(gk0);
	dat_from(BOB, gk0, 0, 7, "said once");
	assert_u64(w.ntexts, 1);
	/* alice's node restarts; the relay delivers bob's message again
	 * (sent again by bob after his reconnect, or in a catch-up) */
	w.ready = 0;
	alice_starts(NULL);
	cove_xkp_free(bob);
	be_first();
	bob = join(BOB, gk0);
	/* she knew the room: her new key is epoch 1, above the one she kept */
	dat_from(BOB, gk0, 1, 7, "said once");
	assert_u64(w.ntexts, 1);
	assert_u64(mem.nmsgs, 1);
	dat_from(BOB, gk0, 1, 8, "said after");
	assert_u64(w.ntexts, 2);
	cove_xkp_free(bob);
}

/* The numbers seen are kept at most once a second: should they be lost
 * (a crash), the history still knows what was shown. */
static void a_message_in_the_history_is_not_shown_again_without_the_numbers(void **state)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	(void)state;
	bob = with_bob(gk0);
	dat_from(BOB, gk0, 0, 7, "said once");
	assert_u64(w.ntexts, 1);
	w.ready = 0;
	cove_chat_free(w.core);
	w.core = NULL;
	mem.have_state = 0; /* what the core kept is gone, the history is not */
	alice_starts(NULL);
	cove_xkp_free(bob);
	be_first();
	bob = join(BOB, gk0);
	dat_from(BOB, gk0, 0, 7, "said once");
	assert_u64(w.ntexts, 1);
	assert_u64(mem.refused, 1);
	cove_xkp_free(bob);
}

static int full(void *ctx, const struct cove_chat_msg *m)
{
	(void)ctx;
	(void)m;
	return COVE_ERR_FULL;
}

static void a_message_that_cannot_be_kept_is_shown_anyway(void **state)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	(void)state;
	w.persist.message = full;
	alice_starts(NULL);
	bob = with_bob(gk0);
	dat_from(BOB, gk0, 0, 0, "the disk is full");
	assert_u64(w.ntexts, 1);
	cove_xkp_free(bob);
}

static void leaving_says_bye_forgets_the_room_and_the_core_goes_on(void **state)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct cove_frame bye;

	(void)state;
	bob = with_bob(gk0);
	clear_out();
	assert_ok(cove_chat_leave(w.core, ROOM));
	assert_u64(sent_count(COVE_F_BYE), 1);
	bye = last_sent(COVE_F_BYE);
	assert_bytes(bye.u.bye.who, pk(ALICE), COVE_ID_LEN);
	assert_ok(cove_msg_verify(&bye));
	assert_string_equal(mem.forgot, ROOM);
	assert_u64(cove_chat_room_count(w.core), 0);
	/* nothing more goes to it, and nothing from it is shown */
	assert_int_equal(cove_chat_send_text(w.core, ROOM, "x", 1), COVE_ERR_NOTFOUND);
	dat_from(BOB, gk0, 0, 0, "after you left");
	assert_u64(w.ntexts, 0);
	tick(1000);
	assert_int_equal(cove_chat_leave(w.core, ROOM), COVE_ERR_NOTFOUND);
	/* and it may join again, as a new member */
	assert_ok(cove_chat_add_room(w.core, ROOM));
	cove_xkp_free(bob);
}

static void leaving_while_the_link_is_down_waits_for_the_link(void **state)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	(void)state;
	bob = with_bob(gk0);
	cove_chat_link_down(w.core);
	assert_int_equal(cove_chat_leave(w.core, ROOM), COVE_ERR_STATE);
	assert_u64(cove_chat_room_count(w.core), 1);
	assert_string_equal(mem.forgot, "");
	cove_xkp_free(bob);
}

static void quitting_is_away_unless_bye_on_quit(void **state)
{
	struct cove_chat_opts no = { .bye_on_quit = -1 }, yes = { .bye_on_quit = 1 };
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	(void)state;
	/* the default: away, not gone (version 2) */
	bob = with_bob(gk0);
	clear_out();
	cove_chat_quit(w.core);
	assert_u64(sent_count(COVE_F_BYE), 0);
	cove_xkp_free(bob);

	alice_starts(&no);
	w.ready = 0;
	bob = with_bob(gk0);
	clear_out();
	cove_chat_quit(w.core);
	assert_u64(sent_count(COVE_F_BYE), 0);
	assert_string_equal(mem.forgot, ""); /* away, not gone: the room is kept */
	cove_xkp_free(bob);

	alice_starts(&yes);
	w.ready = 0;
	bob = with_bob(gk0);
	clear_out();
	cove_chat_quit(w.core);
	assert_u64(sent_count(COVE_F_BYE), 1);
	assert_string_equal(mem.forgot, "");
	cove_xkp_free(bob);
}

/* ---- coming back (design 3 and 4; rules N1-N4, N6) ------------------------- */

static const struct cove_chat_opts stay = { .bye_on_quit = -1 };

/* An encoded frame, for the relay to store and forward. */
struct raw {
	uint8_t b[COVE_FRAME_MAX];
	size_t len;
};

static void encode(const struct cove_frame *f, struct raw *out)
{
	assert_ok(cove_frame_encode(f, out->b, sizeof(out->b), &out->len));
}

/* The relay forwards a stored frame with its room numbers. */
static void fwd(const struct raw *in, uint64_t rseq, uint64_t rdat)
{
	struct cove_frame f;

	memset(&f, 0, sizeof(f));
	f.version = COVE_PROTO_VERSION;
	f.type = COVE_F_FWD;
	f.u.fwd.rseq = rseq;
	f.u.fwd.rdat = rdat;
	f.u.fwd.frame = in->b;
	f.u.fwd.frame_len = in->len;
	feed(&f);
}

static void upd(uint64_t next, uint64_t missed)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_UPD);

	f.u.upd.next = next;
	f.u.upd.missed = missed;
	sign_feed(RELAY, &f);
}

static void prs(enum who who, int here)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_PRS);

	memcpy(f.u.prs.who, pk(who), COVE_ID_LEN);
	f.u.prs.here = (uint32_t)here;
	f.u.prs.seen = w.clock_ms;
	sign_feed(RELAY, &f);
}

/* who's DAT of text under gk, encoded. */
static void dat_raw(struct raw *out, enum who who, const uint8_t *gk, uint32_t epoch,
		    uint64_t n, const char *text)
{
	struct cove_frame f = dat_of(who, gk, epoch, n, text);

	encode(&f, out);
}

/* from's KEY of gk for epoch, sealed to alice's key xpk, encoded. */
static void key_raw(struct raw *out, enum who from, const uint8_t *gk, uint32_t epoch,
		    const uint8_t xpk[COVE_XPK_LEN], const enum who *ids, size_t n)
{
	struct cove_frame f = frame_of(from, COVE_F_KEY);
	uint8_t view[COVE_VIEW_LEN];

	view_of(view, epoch, ids, n);
	assert_ok(cove_msg_key_seal(&f, pk(ALICE), xpk, epoch, gk, view, w.id[from]));
	encode(&f, out);
}

/* from's HOLDERS for epoch under gk (it gave the key to ids but itself),
 * encoded: what the relay stores right after a rekey's KEYs. */
static void holders_raw(struct raw *out, enum who from, const uint8_t *gk, uint32_t epoch,
			const enum who *ids, size_t n)
{
	struct cove_frame f = request_of(from, gk, epoch, holders_payload(from, epoch, ids, n));

	encode(&f, out);
}

static void bye_raw(struct raw *out, enum who who)
{
	struct cove_frame f = frame_of(who, COVE_F_BYE);

	memcpy(f.u.bye.who, pk(who), COVE_ID_LEN);
	assert_ok(cove_msg_sign(&f, w.id[who]));
	encode(&f, out);
}

/* The relay says alice is first, on a relay that keeps rooms: she makes
 * the key, and is shown ready only after the UPD. */
static void first_then_upd(uint64_t next, uint64_t missed)
{
	struct cove_frame f = frame_of(RELAY, COVE_F_INI);

	memcpy(f.u.ini.xpk, w.alice_xpk, COVE_XPK_LEN);
	sign_feed(RELAY, &f);
	assert_int_equal(w.ready, 0);
	assert_u64(sent_count(COVE_F_RDY), 0);
	upd(next, missed);
	assert_int_equal(w.ready, 1);
	assert_u64(sent_count(COVE_F_RDY), 1);
}

/* To whom alice sealed keys since the last clear_out(): a bit per who. */
static unsigned sealed_to(void)
{
	unsigned bits = 0;

	for (size_t i = 0; i < w.nout; i++) {
		struct cove_frame f = sent(i);

		for (int k = 0; k < NIDS && f.type == COVE_F_KEY; k++)
			if (memcmp(f.u.key.to, pk((enum who)k), COVE_ID_LEN) == 0)
				bits |= 1u << k;
	}
	return bits;
}

/* alice, on a relay that keeps rooms, first in ROOM (epoch 0), then bob
 * (and carol when with_carol) join and get the key from her; she quits
 * (away, no BYE). Returns her membership key's public half as she left. */
static void alice_then_away(uint8_t *gk0, struct cove_xkp **bob, struct cove_xkp **carol,
			    uint8_t old_xpk[COVE_XPK_LEN])
{
	w.new_relay = 1;
	alice_starts(&stay);
	first_then_upd(1, 0);
	*bob = join(BOB, gk0);
	if (carol)
		*carol = join(CAROL, gk0);
	memcpy(old_xpk, w.alice_xpk, COVE_XPK_LEN);
	cove_chat_quit(w.core);
	assert_u64(sent_count(COVE_F_BYE), 0);
	cove_chat_free(w.core);
	w.core = NULL;
	clear_out();
	w.ready = 0;
	w.ncaught = 0;
}

static void coming_back_opens_the_key_sealed_to_the_old_membership_key_and_the_backlog(void **state)
{
	static const enum who both[] = { ALICE, BOB };
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN], old_xpk[COVE_XPK_LEN];
	struct cove_xkp *bob;
	struct raw d1, d1again, k1, h1, d2, d3, d3again;
	struct cove_frame syn;

	(void)state;
	alice_then_away(gk0, &bob, NULL, old_xpk);
	/* while she is away: bob says two things under epoch 0, makes epoch
	 * 1 (sealed to her membership key) and says one more under it */
	randombytes_buf(gk1, sizeof(gk1));
	dat_raw(&d1, BOB, gk0, 0, 0, "one");
	dat_raw(&d2, BOB, gk0, 0, 1, "two");
	key_raw(&k1, BOB, gk1, 1, old_xpk, both, 2);
	holders_raw(&h1, BOB, gk1, 1, both, 2);
	dat_raw(&d3, BOB, gk1, 1, 2, "three");
	d1again = d1;
	d3again = d3;
	w.clock_ms += 3600 * 1000; /* an hour later: nothing is dropped for its age */
	assert_true(mem_has_membership(old_xpk));

	alice_starts(&stay);
	/* a fresh membership key, kept before its INI went, then SYN(cursor) */
	assert_memory_not_equal(w.alice_xpk, old_xpk, COVE_XPK_LEN);
	assert_true(mem_has_membership(w.alice_xpk));
	syn = last_sent(COVE_F_SYN);
	assert_ok(cove_msg_verify(&syn));
	assert_u64(syn.u.syn.after, mem.rseq);
	assert_true(cove_chat_catching_up(w.core, ROOM));
	still_here(BOB, bob);
	prs(BOB, 1);
	fwd(&d1, 5, 1);
	fwd(&d2, 6, 2);
	fwd(&k1, 7, 2);
	fwd(&h1, 8, 3);
	fwd(&d1again, 5, 1); /* the relay repeats itself: nothing twice */
	fwd(&d3, 9, 4);
	fwd(&d3again, 9, 4);
	assert_u64(w.ntexts, 3);
	assert_string_equal(w.texts[0], "one");
	assert_string_equal(w.texts[1], "two");
	assert_string_equal(w.texts[2], "three");
	/* catching up, she asks for nothing, confirms nothing, answers nothing */
	assert_u64(sent_count(COVE_F_RKY) + sent_count(COVE_F_RDY) + sent_count(COVE_F_DAT) +
		   sent_count(COVE_F_KEY), 0);
	assert_int_equal(w.ready, 0);
	assert_true(mem_has_membership(old_xpk));
	assert_u64(mem.rseq, 9);
	assert_u64(mem.rdat, 4);

	upd(10, 0);
	assert_false(cove_chat_catching_up(w.core, ROOM));
	assert_int_equal(w.ready, 1);
	assert_u64(last_sent(COVE_F_RDY).u.rdy.epoch, 1);
	assert_u64(w.ncaught, 1);
	assert_u64(w.caught_shown, 3);
	assert_u64(w.caught_missed, 0);
	/* the old secret did its job: gone from memory and from the table */
	assert_false(mem_has_membership(old_xpk));
	assert_true(mem_has_membership(w.alice_xpk));
	/* and she is a member as before: she writes under epoch 1 */
	clear_out();
	say("back");
	assert_u64(last_sent(COVE_F_DAT).u.dat.epoch, 1);
	cove_xkp_free(bob);
}

/* The relay fans out live to a member that came back from its INI on,
 * and its SYN comes a moment later: a DAT can arrive bare before the
 * backlog that holds its sender's older ones. None is lost for it. */
static void a_message_live_before_the_backlog_waits_for_it(void **state)
{
	uint8_t gk0[COVE_GK_LEN], old_xpk[COVE_XPK_LEN];
	struct cove_xkp *bob;
	struct cove_frame live;
	struct raw d1, d2, d3;

	(void)state;
	alice_then_away(gk0, &bob, NULL, old_xpk);
	dat_raw(&d1, BOB, gk0, 0, 0, "one");
	dat_raw(&d2, BOB, gk0, 0, 1, "two");
	live = dat_of(BOB, gk0, 0, 2, "three");
	encode(&live, &d3);
	alice_starts(&stay);
	still_here(BOB, bob);
	feed(&live); /* bare, between her INI and her SYN */
	assert_u64(w.ntexts, 0);
	fwd(&d1, 5, 1);
	fwd(&d2, 6, 2);
	fwd(&d3, 7, 3); /* the backlog has it as well */
	upd(8, 0);
	assert_u64(w.ntexts, 3);
	assert_string_equal(w.texts[0], "one");
	assert_string_equal(w.texts[1], "two");
	assert_string_equal(w.texts[2], "three");
	assert_u64(errors("replay"), 0);
	cove_xkp_free(bob);
}

/* A frame the relay failed to store comes bare and is in no backlog: it
 * is shown once the catch-up ends. */
static void a_message_live_during_the_catch_up_and_in_no_backlog_is_shown_after(void **state)
{
	uint8_t gk0[COVE_GK_LEN], old_xpk[COVE_XPK_LEN];
	struct cove_xkp *bob;
	struct cove_frame live;
	struct raw d1;

	(void)state;
	alice_then_away(gk0, &bob, NULL, old_xpk);
	dat_raw(&d1, BOB, gk0, 0, 0, "one");
	alice_starts(&stay);
	still_here(BOB, bob);
	live = dat_of(BOB, gk0, 0, 1, "not stored");
	fwd(&d1, 5, 1);
	feed(&live);
	assert_u64(w.ntexts, 1);
	upd(6, 0);
	assert_u64(w.ntexts, 2);
	assert_string_equal(w.texts[1], "not stored");
	cove_xkp_free(bob);
}

/* A relay with --store none started again numbers the room from 1: the
 * cursor follows it down, or the next return would skip what the relay
 * numbers up to the old cursor. */
static void a_relay_numbering_the_room_below_our_cursor_resets_it(void **state)
{
	uint8_t gk0[COVE_GK_LEN], old_xpk[COVE_XPK_LEN];
	struct cove_xkp *bob;
	struct raw d1, d2;

	(void)state;
	alice_then_away(gk0, &bob, NULL, old_xpk);
	dat_raw(&d1, BOB, gk0, 0, 0, "one");
	alice_starts(&stay);
	still_here(BOB, bob);
	fwd(&d1, 20, 5);
	upd(21, 0);
	assert_u64(mem.rseq, 20);
	/* her link goes; the relay she finds numbers the room up to 2 */
	cove_chat_link_down(w.core);
	assert_ok(cove_chat_link_up(w.core));
	assert_u64(last_sent(COVE_F_SYN).u.syn.after, 20);
	upd(3, 0);
	assert_u64(mem.rseq, 2);
	assert_u64(mem.rdat, 0);
	/* and the relay's next frame moves it on, with its DAT count */
	dat_raw(&d2, BOB, gk0, 0, 1, "two");
	fwd(&d2, 3, 1);
	assert_u64(mem.rseq, 3);
	assert_u64(mem.rdat, 1);
	cove_xkp_free(bob);
}

/* The link goes and comes back while the program runs: a rekey while
 * it was down was sealed to the membership key of the link before, and
 * must open in the catch-up (as after a restart). */
static void a_key_sealed_while_the_link_was_down_opens_after_it_comes_back(void **state)
{
	static const enum who both[] = { ALICE, BOB };
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN], link_xpk[COVE_XPK_LEN];
	struct cove_xkp *bob;
	struct raw k1, d1;

	(void)state;
	w.new_relay = 1;
	alice_starts(&stay);
	first_then_upd(1, 0);
	bob = join(BOB, gk0);
	memcpy(link_xpk, w.alice_xpk, COVE_XPK_LEN);
	cove_chat_link_down(w.core);
	randombytes_buf(gk1, sizeof(gk1));
	key_raw(&k1, BOB, gk1, 1, link_xpk, both, 2);
	dat_raw(&d1, BOB, gk1, 1, 0, "while the link was down");
	clear_out();
	reconnect();
	assert_memory_not_equal(w.alice_xpk, link_xpk, COVE_XPK_LEN);
	assert_true(mem_has_membership(link_xpk)); /* until the catch-up used it */
	still_here(BOB, bob);
	fwd(&k1, 5, 1);
	fwd(&d1, 6, 2);
	upd(7, 0);
	assert_u64(errors("wrong_epoch"), 0);
	assert_u64(w.ntexts, 1);
	assert_string_equal(w.texts[0], "while the link was down");
	assert_u64(last_sent(COVE_F_RDY).u.rdy.epoch, 1);
	assert_false(mem_has_membership(link_xpk));
	assert_true(mem_has_membership(w.alice_xpk));
	cove_xkp_free(bob);
}

/* The group key kept across a restart starts a new schedule: no rekey
 * asked for at once, and no warning that one is overdue. */
static void a_key_kept_across_a_restart_is_not_overdue(void **state)
{
	uint8_t gk0[COVE_GK_LEN], old_xpk[COVE_XPK_LEN];
	struct cove_xkp *bob;

	(void)state;
	alice_then_away(gk0, &bob, NULL, old_xpk);
	w.clock_ms += 7200 * 1000; /* back two hours later */
	alice_starts(&stay);
	still_here(BOB, bob);
	upd(1, 0);
	assert_int_equal(w.ready, 1);
	clear_out();
	tick(10 * 1000);
	assert_u64(sent_count(COVE_F_RKY), 0);
	assert_u64(errors("rekey_stalled"), 0);
	cove_xkp_free(bob);
}

static size_t group_keys_kept(void)
{
	size_t n = 0;

	for (int i = 0; i < 32; i++)
		n += mem.secrets[i].used && mem.secrets[i].kind == COVE_CHAT_SECRET_GROUP;
	return n;
}

/* Whatever epochs are skipped, the table holds the current group key and
 * the one it replaced only while DATs under that may still come. */
static void the_table_keeps_at_most_the_current_group_key_and_the_one_before(void **state)
{
	static const enum who both[] = { ALICE, BOB };
	static const uint32_t epochs[] = { 1, 5, 9, 10 };
	uint8_t gk0[COVE_GK_LEN], gk[COVE_GK_LEN];
	struct cove_xkp *bob;

	(void)state;
	w.new_relay = 1;
	alice_starts(&stay);
	first_then_upd(1, 0);
	bob = join(BOB, gk0);
	assert_u64(group_keys_kept(), 1);
	for (size_t i = 0; i < sizeof(epochs) / sizeof(epochs[0]); i++) {
		randombytes_buf(gk, sizeof(gk));
		key_from(BOB, gk, epochs[i], both, 2);
		assert_u64(last_sent(COVE_F_RDY).u.rdy.epoch, epochs[i]);
		assert_u64(group_keys_kept(), 2);
		assert_true(mem_secret_find(COVE_CHAT_SECRET_GROUP, epochs[i]) >= 0);
	}
	tick(COVE_CHAT_OLD_EPOCH_MS + 100);
	assert_u64(group_keys_kept(), 1);
	assert_true(mem_secret_find(COVE_CHAT_SECRET_GROUP, 10) >= 0);
	cove_xkp_free(bob);
}

/* A restart in the seconds after a rekey: a DAT still under the key it
 * replaced comes in the backlog, and opens. */
static void a_restart_just_after_a_rekey_still_opens_the_epoch_before(void **state)
{
	static const enum who both[] = { ALICE, BOB };
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN];
	struct cove_xkp *bob;
	struct raw late;

	(void)state;
	w.new_relay = 1;
	alice_starts(&stay);
	first_then_upd(1, 0);
	bob = join(BOB, gk0);
	randombytes_buf(gk1, sizeof(gk1));
	key_from(BOB, gk1, 1, both, 2);
	/* she stops at once; carol-like stragglers still wrote under epoch 0 */
	cove_chat_quit(w.core);
	cove_chat_free(w.core);
	w.core = NULL;
	dat_raw(&late, BOB, gk0, 0, 0, "under the key before");
	alice_starts(&stay);
	still_here(BOB, bob);
	fwd(&late, 9, 1);
	upd(10, 0);
	assert_u64(errors("wrong_epoch"), 0);
	assert_u64(w.ntexts, 1);
	assert_string_equal(w.texts[0], "under the key before");
	assert_u64(last_sent(COVE_F_RDY).u.rdy.epoch, 1);
	cove_xkp_free(bob);
}

/* How many TEXT messages alice sent under gk since the last clear_out(). */
static size_t texts_sent_under(const uint8_t *gk)
{
	size_t n = 0;

	for (size_t i = 0; i < w.nout; i++)
		if (sent(i).type == COVE_F_DAT && opened(i, gk)->kind == COVE_PL_TEXT)
			n++;
	return n;
}

/* A key known to be held by someone who left stays tainted when the
 * node restarts before the rekey comes (a relay that withholds it must
 * not win by waiting for a restart). */
/* A member away while another raced the room's epochs up (more than
 * COVE_EPOCH_STEP_MAX) takes the room's key when it is back: its time
 * away, kept across the restart, allows the step. */
static void a_key_many_epochs_on_is_taken_after_a_long_enough_absence(void **state)
{
	static const enum who both[] = { ALICE, BOB };
	uint8_t gk0[COVE_GK_LEN], gk[COVE_GK_LEN], old_xpk[COVE_XPK_LEN];
	uint32_t far = COVE_EPOCH_STEP_MAX + 7000 * COVE_EPOCH_STEP_PER_S;
	struct cove_xkp *bob;

	(void)state;
	alice_then_away(gk0, &bob, NULL, old_xpk);
	w.clock_ms += 7200 * 1000; /* back two hours later */
	alice_starts(&stay);
	still_here(BOB, bob);
	upd(1, 0);
	assert_int_equal(w.ready, 1);
	randombytes_buf(gk, sizeof(gk));
	key_from(BOB, gk, far + 7200 * COVE_EPOCH_STEP_PER_S, both, 2); /* beyond even that */
	assert_u64(errors("bad_epoch"), 1);
	key_from(BOB, gk, far, both, 2);
	assert_u64(errors("bad_epoch"), 1);
	clear_out();
	say("under the far epoch");
	assert_u64(last_sent(COVE_F_DAT).u.dat.epoch, far);
	cove_xkp_free(bob);
}

static void a_tainted_key_stays_tainted_across_a_restart(void **state)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;

	(void)state;
	w.new_relay = 1;
	alice_starts(&stay);
	first_then_upd(1, 0);
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	bye_of(CAROL); /* she left, holding epoch 0; no rekey comes */
	clear_out();
	say("held, not under epoch 0");
	assert_u64(texts_sent_under(gk0), 0);
	cove_chat_quit(w.core);
	cove_chat_free(w.core);
	w.core = NULL;
	clear_out();
	alice_starts(&stay);
	still_here(BOB, bob);
	upd(9, 0);
	assert_u64(sent_count(COVE_F_RKY), 1); /* a new key, at once */
	say("after the restart");
	tick(2000);
	assert_u64(texts_sent_under(gk0), 0);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

/* What a relay leaves out of a catch-up after a restart is a gap, as it
 * is within one run: the numbers seen are kept with the room's state. */
static void a_message_left_out_of_a_catch_up_after_a_restart_is_a_gap(void **state)
{
	uint8_t gk0[COVE_GK_LEN], old_xpk[COVE_XPK_LEN];
	struct cove_xkp *bob;
	struct raw d4;

	(void)state;
	w.new_relay = 1;
	alice_starts(&stay);
	first_then_upd(1, 0);
	bob = join(BOB, gk0);
	dat_from(BOB, gk0, 0, 1, "m1");
	memcpy(old_xpk, w.alice_xpk, COVE_XPK_LEN);
	cove_chat_quit(w.core);
	cove_chat_free(w.core);
	w.core = NULL;
	clear_out();
	w.nerrors = 0;
	dat_raw(&d4, BOB, gk0, 0, 4, "m4"); /* m2 and m3 are left out */
	alice_starts(&stay);
	still_here(BOB, bob);
	fwd(&d4, 7, 4);
	upd(8, 0);
	assert_u64(w.ntexts, 2);
	assert_string_equal(w.texts[1], "m4");
	tick(COVE_CHAT_GAP_ASK_MS + COVE_CHAT_GAP_REPORT_MS + 500);
	assert_u64(errors("gap"), 1);
	assert_u64(w.gap_first, 2);
	assert_u64(w.gap_last, 3);
	cove_xkp_free(bob);
}

/* carol left and joined again while alice was away: alice, coming back,
 * is told carol is here (her new INI, bare) before her catch-up brings
 * carol's old BYE and that same INI. carol is a member for her, not one
 * that left: her messages are shown, no join of hers is "old". */
static void a_member_that_left_and_came_back_while_we_were_away_is_a_member(void **state)
{
	uint8_t gk0[COVE_GK_LEN], old_xpk[COVE_XPK_LEN];
	struct cove_xkp *bob, *carol, *carol2 = cove_xkp_new();
	struct cove_frame ini2;
	struct raw bye, ini2_raw;

	(void)state;
	assert_non_null(carol2);
	alice_then_away(gk0, &bob, &carol, old_xpk);
	bye_raw(&bye, CAROL);
	ini2 = ini_of(CAROL, carol2);
	encode(&ini2, &ini2_raw);
	alice_starts(&stay);
	still_here(BOB, bob);
	feed(&ini2); /* the relay's word that she is here, before the backlog */
	fwd(&bye, 10, 0);
	fwd(&ini2_raw, 11, 0);
	upd(12, 0);
	assert_u64(errors("replay"), 0);
	dat_from(CAROL, gk0, 0, 0, "carol is back");
	assert_u64(errors("left"), 0);
	assert_u64(w.ntexts, 1);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
	cove_xkp_free(carol2);
}

static void note_here(void *arg, const struct cove_chat_member *m)
{
	unsigned *bits = arg;

	if (!m->self && m->here)
		*bits |= 1u << (memcmp(m->pk, pk(BOB), COVE_ID_LEN) == 0 ? BOB : CAROL);
}

/* Coming back, alice is told who is a member (their INIs) and who of
 * them is here (PRS), bare, during her catch-up: the INIs wait for the
 * backlog, and the presence with them, in their order, so that one away
 * is not taken as here. */
static void who_is_here_when_we_come_back_is_as_the_relay_said(void **state)
{
	uint8_t gk0[COVE_GK_LEN], old_xpk[COVE_XPK_LEN];
	struct cove_xkp *bob, *carol;
	unsigned here = 0;

	(void)state;
	alice_then_away(gk0, &bob, &carol, old_xpk);
	alice_starts(&stay);
	still_here(BOB, bob);
	still_here(CAROL, carol);
	prs(BOB, 1);
	prs(CAROL, 0);
	upd(1, 0);
	assert_ok(cove_chat_members(w.core, ROOM, note_here, &here));
	assert_int_equal(here, 1u << BOB);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

static void a_backlog_with_a_bye_then_a_later_key_ends_with_that_key_untainted(void **state)
{
	static const enum who both[] = { ALICE, BOB };
	uint8_t gk0[COVE_GK_LEN], gk1[COVE_GK_LEN], old_xpk[COVE_XPK_LEN];
	struct cove_xkp *bob, *carol;
	struct raw bye, k1, h1, d;

	(void)state;
	alice_then_away(gk0, &bob, &carol, old_xpk);
	randombytes_buf(gk1, sizeof(gk1));
	bye_raw(&bye, CAROL);
	key_raw(&k1, BOB, gk1, 1, old_xpk, both, 2);
	holders_raw(&h1, BOB, gk1, 1, both, 2);
	dat_raw(&d, BOB, gk1, 1, 0, "without carol");
	alice_starts(&stay);
	still_here(BOB, bob);
	fwd(&bye, 10, 0);
	fwd(&k1, 11, 0);
	fwd(&h1, 12, 1);
	fwd(&d, 13, 2);
	upd(14, 0);
	assert_int_equal(w.ready, 1);
	assert_u64(w.nleft, 1);
	assert_u64(w.ntexts, 1);
	clear_out();
	say("carol cannot read this");
	assert_u64(sent_count(COVE_F_DAT), 1);
	assert_u64(last_sent(COVE_F_DAT).u.dat.epoch, 1);
	assert_u64(errors("rekey_stalled"), 0);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

static void a_backlog_with_a_bye_and_no_later_key_leaves_the_old_key_tainted(void **state)
{
	uint8_t gk0[COVE_GK_LEN], old_xpk[COVE_XPK_LEN];
	struct cove_xkp *bob, *carol;
	struct raw bye;

	(void)state;
	alice_then_away(gk0, &bob, &carol, old_xpk);
	bye_raw(&bye, CAROL);
	alice_starts(&stay);
	still_here(BOB, bob);
	fwd(&bye, 10, 0);
	upd(11, 0);
	assert_int_equal(w.ready, 1);
	assert_u64(sent_count(COVE_F_RKY), 1); /* she asks for a new epoch at once */
	clear_out();
	say("carol may hold epoch 0");
	assert_u64(sent_count(COVE_F_DAT), 0);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

static void a_member_away_gets_the_next_epoch_only_on_evidence(void **state)
{
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;
	struct cove_frame ini;

	(void)state;
	/* alice gave bob and carol epoch 0; carol leaves, bob goes away */
	be_first();
	bob = join(BOB, gk0);
	carol = join(CAROL, gk0);
	ini = ini_of(CAROL, carol);
	bye_of(CAROL);
	prs(BOB, 0);
	/* the relay keeps carol as "away": her old INI again, presence away */
	w.seq[CAROL]--;
	ini.seq = w.seq[CAROL];
	assert_ok(cove_msg_sign(&ini, w.id[CAROL]));
	feed(&ini);
	prs(CAROL, 0);
	clear_out();
	rek(1);
	/* bob, away, held epoch 0 by her own evidence: he gets epoch 1;
	 * carol, whose BYE she saw, gets nothing */
	assert_int_equal(sealed_to(), 1u << BOB);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

static void a_departed_member_shown_as_away_to_a_newcomer_gets_no_key(void **state)
{
	static const enum who both[] = { ALICE, BOB };
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob, *carol;

	(void)state;
	/* alice joins a room bob is in; the relay also shows her carol (who
	 * in truth left) as a member away. Nobody ever said carol held a key */
	randombytes_buf(gk0, sizeof(gk0));
	bob = here(BOB);
	carol = here(CAROL);
	prs(CAROL, 0);
	key_from(BOB, gk0, 0, both, 2);
	assert_int_equal(w.ready, 1);
	clear_out();
	rek(1);
	assert_int_equal(sealed_to(), 1u << BOB);
	cove_xkp_free(bob);
	cove_xkp_free(carol);
}

static void messages_dropped_by_retention_are_reported(void **state)
{
	(void)state;
	w.new_relay = 1;
	alice_starts(&stay);
	first_then_upd(1, 5);
	assert_u64(w.ncaught, 1);
	assert_u64(w.caught_missed, 5);
}

static void a_forwarded_frame_a_room_does_not_store_is_dropped_and_said(void **state)
{
	struct cove_frame f = frame_of(ALICE, COVE_F_RDY);
	struct raw r;

	(void)state;
	be_first();
	f.u.rdy.epoch = 0;
	assert_ok(cove_msg_sign(&f, w.id[ALICE]));
	encode(&f, &r);
	fwd(&r, 3, 0);
	assert_u64(errors("bad_forward"), 1);
	assert_u64(mem.rseq, 0); /* the cursor stays */
	/* nor bytes that are no frame */
	memset(r.b, 0xc1, 16);
	r.len = 16;
	fwd(&r, 4, 0);
	assert_u64(errors("bad_forward"), 2);
	assert_u64(mem.rseq, 0);
}

static void a_syn_refused_by_a_relay_of_today_is_no_error(void **state)
{
	(void)state;
	/* setup_persist started alice on a relay of today: it refused her SYN */
	assert_u64(w.nerrors, 0);
	assert_false(cove_chat_catching_up(w.core, ROOM));
	clear_out();
	be_first();
	assert_u64(sent_count(COVE_F_RDY), 1);
}

/* Ticks for ms; whether the core asked for a new link (a stalled
 * catch-up) on the way. */
static int stalls_within(uint64_t ms)
{
	int stalled = 0;

	for (uint64_t t = 0; t < ms; t += 50) {
		w.clock_ms += 50;
		stalled |= cove_chat_tick(w.core) == COVE_ERR_TIMEOUT;
	}
	return stalled;
}

static void a_catch_up_that_stops_moving_asks_for_a_new_link(void **state)
{
	struct cove_xkp *bob = cove_xkp_new();
	struct cove_frame ini;
	struct raw r;

	(void)state;
	assert_non_null(bob);
	w.new_relay = 1;
	alice_starts(&stay);
	assert_true(cove_chat_catching_up(w.core, ROOM));
	assert_false(stalls_within(COVE_CHAT_SYN_TIMEOUT_MS - 1000));
	/* a frame of the catch-up: it moves, and the wait starts again */
	ini = ini_of(BOB, bob);
	encode(&ini, &r);
	fwd(&r, 1, 0);
	assert_false(stalls_within(COVE_CHAT_SYN_TIMEOUT_MS - 1000));
	assert_u64(errors("catch_up_stalled"), 0);
	assert_true(stalls_within(2000));
	assert_u64(errors("catch_up_stalled"), 1);
	/* said once a period, not at every tick */
	assert_false(stalls_within(COVE_CHAT_SYN_TIMEOUT_MS - 2000));
	assert_u64(errors("catch_up_stalled"), 1);
	/* its UPD ends it: no more stalls */
	upd(2, 0);
	assert_false(cove_chat_catching_up(w.core, ROOM));
	assert_false(stalls_within(3 * COVE_CHAT_SYN_TIMEOUT_MS));
	assert_u64(errors("catch_up_stalled"), 1);
	cove_xkp_free(bob);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup_persist, teardown)
	const struct CMUnitTest tests[] = {
		T(every_message_shown_is_kept_with_its_sender_and_number),
		T(a_message_kept_before_is_not_shown_again_after_a_restart),
		T(a_message_in_the_history_is_not_shown_again_without_the_numbers),
		T(a_message_that_cannot_be_kept_is_shown_anyway),
		T(leaving_says_bye_forgets_the_room_and_the_core_goes_on),
		T(leaving_while_the_link_is_down_waits_for_the_link),
		T(quitting_is_away_unless_bye_on_quit),
		T(coming_back_opens_the_key_sealed_to_the_old_membership_key_and_the_backlog),
		T(a_message_live_before_the_backlog_waits_for_it),
		T(a_message_live_during_the_catch_up_and_in_no_backlog_is_shown_after),
		T(a_relay_numbering_the_room_below_our_cursor_resets_it),
		T(a_key_sealed_while_the_link_was_down_opens_after_it_comes_back),
		T(a_key_kept_across_a_restart_is_not_overdue),
		T(the_table_keeps_at_most_the_current_group_key_and_the_one_before),
		T(a_restart_just_after_a_rekey_still_opens_the_epoch_before),
		T(a_key_many_epochs_on_is_taken_after_a_long_enough_absence),
		T(a_tainted_key_stays_tainted_across_a_restart),
		T(a_message_left_out_of_a_catch_up_after_a_restart_is_a_gap),
		T(a_member_that_left_and_came_back_while_we_were_away_is_a_member),
		T(who_is_here_when_we_come_back_is_as_the_relay_said),
		T(a_backlog_with_a_bye_then_a_later_key_ends_with_that_key_untainted),
		T(a_backlog_with_a_bye_and_no_later_key_leaves_the_old_key_tainted),
		T(a_member_away_gets_the_next_epoch_only_on_evidence),
		T(a_departed_member_shown_as_away_to_a_newcomer_gets_no_key),
		T(messages_dropped_by_retention_are_reported),
		T(a_forwarded_frame_a_room_does_not_store_is_dropped_and_said),
		T(a_syn_refused_by_a_relay_of_today_is_no_error),
		T(a_catch_up_that_stops_moving_asks_for_a_new_link),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
