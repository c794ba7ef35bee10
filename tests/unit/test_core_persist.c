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
	dat_from(BOB, gk0, 0, 7, "said once");
	assert_u64(w.ntexts, 1);
	assert_u64(mem.refused, 1);
	assert_u64(mem.nmsgs, 1);
	dat_from(BOB, gk0, 0, 8, "said after");
	assert_u64(w.ntexts, 2);
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

static void quitting_says_bye_only_when_bye_on_quit(void **state)
{
	struct cove_chat_opts no = { .bye_on_quit = -1 }, yes = { .bye_on_quit = 1 };
	uint8_t gk0[COVE_GK_LEN];
	struct cove_xkp *bob;

	(void)state;
	/* the default, until the relay keeps members who are away */
	bob = with_bob(gk0);
	clear_out();
	cove_chat_quit(w.core);
	assert_u64(sent_count(COVE_F_BYE), COVE_CHAT_BYE_ON_QUIT);
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

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup_persist, teardown)
	const struct CMUnitTest tests[] = {
		T(every_message_shown_is_kept_with_its_sender_and_number),
		T(a_message_kept_before_is_not_shown_again_after_a_restart),
		T(a_message_that_cannot_be_kept_is_shown_anyway),
		T(leaving_says_bye_forgets_the_room_and_the_core_goes_on),
		T(leaving_while_the_link_is_down_waits_for_the_link),
		T(quitting_says_bye_only_when_bye_on_quit),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
