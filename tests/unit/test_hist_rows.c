/*
 * test_hist_rows.c - what a node's history keeps: messages come back in
 * order and once, and rooms, cursors, secrets, state and when the user
 * last looked survive a restart. Real SQLite files in a private folder.
 */
#include "tests/unit/hist_fixture.h"

TEST(added_messages_come_back_oldest_first_with_every_field)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	struct cove_hist_msg m = msg(7, 42, 1000, "first");
	struct got g;

	m.rseq = 0;
	assert_ok(cove_hist_add(h, room, &m));
	assert_ok(add(h, room, 8, 1, 3000, "third"));
	assert_ok(add(h, room, 9, 5, 2000, "second"));
	page(h, room, 0, 10, &g);
	assert_u64(g.n, 3);
	assert_string_equal(g.text[0], "first");
	assert_string_equal(g.text[1], "second");
	assert_string_equal(g.text[2], "third");
	assert_bytes(g.m[0].from, m.from, COVE_PK_LEN);
	assert_bytes(g.m[0].sid, m.sid, COVE_SID_LEN);
	assert_u64(g.m[0].n, 42);
	assert_u64(g.m[0].ts_ms, 1000);
	assert_u64(g.m[0].rseq, 0);
	assert_u64(g.m[1].rseq, 1005);
	assert_u64(g.m[2].n, 1);
	assert_ok(cove_hist_close(h));
}

TEST(page_gives_the_newest_before_a_time_oldest_first)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	struct got g;

	add_numbered(h, room, 50, 10, 10);
	page(h, room, 0, 20, &g);
	assert_u64(g.n, 20);
	assert_string_equal(g.text[0], "m31");
	assert_string_equal(g.text[19], "m50");
	page(h, room, 310, 20, &g);
	assert_u64(g.n, 20);
	assert_string_equal(g.text[0], "m11");
	assert_string_equal(g.text[19], "m30");
	page(h, room, 110, 20, &g);
	assert_u64(g.n, 10);
	assert_string_equal(g.text[0], "m1");
	page(h, room, 10, 20, &g);
	assert_u64(g.n, 0);
	assert_ok(cove_hist_close(h));
}

TEST(page_before_an_id_goes_on_inside_a_run_of_equal_times)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	struct got g;
	uint64_t ts, id;

	add_numbered(h, room, 30, 5000, 0);
	page(h, room, 0, 20, &g);
	assert_u64(g.n, 20);
	assert_string_equal(g.text[0], "m11");
	ts = g.m[0].ts_ms;
	id = g.m[0].id;
	memset(&g, 0, sizeof(g));
	assert_ok(cove_hist_page_before(h, room, ts, id, 20, collect, &g));
	assert_u64(g.n, 10);
	assert_string_equal(g.text[0], "m1");
	assert_string_equal(g.text[9], "m10");
	assert_ok(cove_hist_close(h));
}

TEST(page_of_an_empty_room_or_of_limit_zero_gives_nothing)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t lobby = room_of(h, "lobby"), empty = room_of(h, "empty");
	struct got g;

	assert_ok(add(h, lobby, 1, 1, 10, "hello"));
	page(h, empty, 0, 20, &g);
	assert_u64(g.n, 0);
	page(h, lobby, 0, 0, &g);
	assert_u64(g.n, 0);
	assert_err(cove_hist_page(h, 999, 0, 20, collect, &g), COVE_ERR_NOTFOUND);
	assert_ok(cove_hist_close(h));
}

static int stop_at_first(void *arg, const struct cove_hist_msg *m)
{
	(void)m;
	++*(int *)arg;
	return 77;
}

TEST(page_stops_when_the_callback_says_so)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	int calls = 0;

	assert_ok(add(h, room, 1, 1, 10, "a"));
	assert_ok(add(h, room, 1, 2, 20, "b"));
	assert_int_equal(cove_hist_page(h, room, 0, 20, stop_at_first, &calls), 77);
	assert_int_equal(calls, 1);
	assert_ok(add(h, room, 1, 3, 30, "c")); /* the handle still works */
	assert_ok(cove_hist_close(h));
}

TEST(same_message_twice_is_stored_once_and_refused_with_exists)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t lobby = room_of(h, "lobby"), other = room_of(h, "other");
	struct cove_hist_msg m = msg(1, 7, 100, "once");
	struct got g;

	assert_ok(cove_hist_add(h, lobby, &m));
	assert_err(cove_hist_add(h, lobby, &m), COVE_ERR_EXISTS);
	m.ts_ms = 200; /* delivered again later, by a catch-up */
	m.rseq = 0;
	assert_err(cove_hist_add(h, lobby, &m), COVE_ERR_EXISTS);
	assert_ok(cove_hist_flush(h));
	assert_err(cove_hist_add(h, lobby, &m), COVE_ERR_EXISTS);
	assert_ok(cove_hist_close(h));

	h = open_as(c, c->alice);
	assert_err(cove_hist_add(h, lobby, &m), COVE_ERR_EXISTS);
	/* Not the same message: another room, sender, session or number. */
	assert_ok(cove_hist_add(h, other, &m));
	m.from[0] ^= 1;
	assert_ok(cove_hist_add(h, lobby, &m));
	m.sid[0] ^= 1;
	assert_ok(cove_hist_add(h, lobby, &m));
	m.n++;
	assert_ok(cove_hist_add(h, lobby, &m));
	page(h, lobby, 0, 20, &g);
	assert_u64(g.n, 4);
	assert_u64(g.m[0].ts_ms, 100);
	assert_ok(cove_hist_close(h));
}

TEST(count_since_counts_the_messages_after_a_time)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby"), other = room_of(h, "other");
	uint64_t n = 99;

	for (uint64_t i = 1; i <= 10; i++)
		assert_ok(add(h, room, 1, i, i * 100, "x"));
	assert_ok(add(h, other, 1, 1, 5000, "x"));
	assert_ok(cove_hist_count_since(h, room, 0, &n));
	assert_u64(n, 10);
	assert_ok(cove_hist_count_since(h, room, 700, &n));
	assert_u64(n, 3);
	assert_ok(cove_hist_count_since(h, room, 1000, &n));
	assert_u64(n, 0);
	assert_ok(cove_hist_count_since(h, room, UINT64_MAX, &n));
	assert_u64(n, 0);
	assert_err(cove_hist_count_since(h, 999, 0, &n), COVE_ERR_NOTFOUND);
	assert_ok(cove_hist_close(h));
}

TEST(rooms_are_found_again_by_name_and_listed_with_their_names)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t lobby = room_of(h, "lobby"), ops = room_of(h, "ops");

	assert_true(lobby != ops);
	assert_true(room_of(h, "lobby") == lobby);
	assert_ok(cove_hist_close(h));
	h = open_as(c, c->alice);
	assert_true(room_of(h, "ops") == ops);
	assert_true(room_of(h, "lobby") == lobby);
	assert_ok(cove_hist_close(h));
}

struct names {
	int n;
	char name[4][COVE_HIST_ROOM_MAX + 1];
	int64_t id[4];
};

static int name_of(void *arg, int64_t room, const char *name, size_t len)
{
	struct names *s = arg;

	assert_true(s->n < 4);
	memcpy(s->name[s->n], name, len);
	s->name[s->n][len] = '\0';
	s->id[s->n++] = room;
	return 0;
}

TEST(rooms_lists_every_room_with_its_name_in_the_order_added)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	char longest[COVE_HIST_ROOM_MAX + 1];
	int64_t lobby = room_of(h, "lobby"), ops;
	struct names s = { 0 };

	memset(longest, 'r', COVE_HIST_ROOM_MAX);
	longest[COVE_HIST_ROOM_MAX] = '\0';
	ops = room_of(h, longest);
	assert_ok(cove_hist_close(h));
	h = open_as(c, c->alice);
	assert_ok(cove_hist_rooms(h, name_of, &s));
	assert_int_equal(s.n, 2);
	assert_string_equal(s.name[0], "lobby");
	assert_string_equal(s.name[1], longest);
	assert_true(s.id[0] == lobby && s.id[1] == ops);
	assert_ok(cove_hist_close(h));
}

TEST(cursor_and_seen_round_trip_and_survive_a_restart)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	uint64_t rseq = 9, rdat = 9, seen = 9;

	assert_ok(cove_hist_cursor_get(h, room, &rseq, &rdat));
	assert_u64(rseq, 0);
	assert_u64(rdat, 0);
	assert_ok(cove_hist_seen_get(h, room, &seen));
	assert_u64(seen, 0);
	assert_ok(cove_hist_cursor_set(h, room, UINT64_MAX, 12345));
	assert_ok(cove_hist_seen_set(h, room, 1700000000123ULL));
	assert_ok(cove_hist_close(h));

	h = open_as(c, c->alice);
	assert_ok(cove_hist_cursor_get(h, room, &rseq, &rdat));
	assert_u64(rseq, UINT64_MAX);
	assert_u64(rdat, 12345);
	assert_ok(cove_hist_seen_get(h, room, &seen));
	assert_u64(seen, 1700000000123ULL);
	assert_err(cove_hist_cursor_set(h, 999, 1, 1), COVE_ERR_NOTFOUND);
	assert_err(cove_hist_seen_get(h, 999, &seen), COVE_ERR_NOTFOUND);
	assert_ok(cove_hist_close(h));
}

TEST(secrets_round_trip_and_survive_a_restart)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	uint8_t xsk[32], gk[32], out[32];
	size_t len = 0;

	memset(xsk, 0xa1, sizeof(xsk));
	memset(gk, 0xb2, sizeof(gk));
	assert_ok(cove_hist_secret_put(h, room, COVE_HIST_MEMBERSHIP, 1, xsk, sizeof(xsk)));
	assert_ok(cove_hist_secret_put(h, room, COVE_HIST_GROUP_KEY, 3, gk, sizeof(gk)));
	assert_ok(cove_hist_close(h));

	h = open_as(c, c->alice);
	assert_ok(cove_hist_secret_get(h, room, COVE_HIST_MEMBERSHIP, 1, out, sizeof(out), &len));
	assert_u64(len, 32);
	assert_bytes(out, xsk, sizeof(xsk));
	assert_ok(cove_hist_secret_get(h, room, COVE_HIST_GROUP_KEY, 3, out, sizeof(out), &len));
	assert_bytes(out, gk, sizeof(gk));
	assert_err(cove_hist_secret_get(h, room, COVE_HIST_GROUP_KEY, 4, out, sizeof(out), &len),
		   COVE_ERR_NOTFOUND);
	assert_err(cove_hist_secret_get(h, room, COVE_HIST_GROUP_KEY, 3, out, 31, &len),
		   COVE_ERR_SPACE);
	assert_u64(len, 32);
	/* A put replaces. */
	gk[0] = 0;
	assert_ok(cove_hist_secret_put(h, room, COVE_HIST_GROUP_KEY, 3, gk, sizeof(gk)));
	assert_ok(cove_hist_secret_get(h, room, COVE_HIST_GROUP_KEY, 3, out, sizeof(out), &len));
	assert_bytes(out, gk, sizeof(gk));
	sodium_memzero(out, sizeof(out));
	assert_ok(cove_hist_close(h));
}

TEST(deleted_secrets_are_gone_and_older_epochs_go_together)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	uint8_t gk[32], out[32];
	size_t len;
	uint64_t n = 0;

	memset(gk, 0x33, sizeof(gk));
	for (uint32_t e = 1; e <= 5; e++)
		assert_ok(cove_hist_secret_put(h, room, COVE_HIST_GROUP_KEY, e, gk, sizeof(gk)));
	assert_ok(cove_hist_secret_put(h, room, COVE_HIST_MEMBERSHIP, 1, gk, sizeof(gk)));
	assert_ok(cove_hist_secret_del(h, room, COVE_HIST_GROUP_KEY, 5));
	assert_err(cove_hist_secret_del(h, room, COVE_HIST_GROUP_KEY, 5), COVE_ERR_NOTFOUND);
	assert_ok(cove_hist_secret_del_older(h, room, COVE_HIST_GROUP_KEY, 4, &n));
	assert_u64(n, 3);
	assert_ok(cove_hist_close(h));

	h = open_as(c, c->alice);
	for (uint32_t e = 1; e <= 5; e++)
		assert_err(cove_hist_secret_get(h, room, COVE_HIST_GROUP_KEY, e, out, sizeof(out),
						&len),
			   e == 4 ? COVE_OK : COVE_ERR_NOTFOUND);
	assert_ok(cove_hist_secret_get(h, room, COVE_HIST_MEMBERSHIP, 1, out, sizeof(out), &len));
	assert_ok(cove_hist_close(h));
}

/* The sealed bytes of one secret as they lie in the file. */
TEST(state_round_trips_survives_a_restart_and_tells_its_size)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	static uint8_t state[100000], out[100000];
	size_t len = 1;

	for (size_t i = 0; i < sizeof(state); i++)
		state[i] = (uint8_t)(i * 31);
	assert_err(cove_hist_state_get(h, room, out, sizeof(out), &len), COVE_ERR_NOTFOUND);
	assert_ok(cove_hist_state_put(h, room, state, sizeof(state)));
	assert_ok(cove_hist_close(h));

	h = open_as(c, c->alice);
	assert_err(cove_hist_state_get(h, room, NULL, 0, &len), COVE_ERR_SPACE);
	assert_u64(len, sizeof(state));
	assert_ok(cove_hist_state_get(h, room, out, sizeof(out), &len));
	assert_bytes(out, state, sizeof(state));
	assert_ok(cove_hist_state_put(h, room, state, 10));
	assert_ok(cove_hist_state_get(h, room, out, sizeof(out), &len));
	assert_u64(len, 10);
	assert_ok(cove_hist_state_put(h, room, NULL, 0));
	assert_ok(cove_hist_state_get(h, room, out, sizeof(out), &len));
	assert_u64(len, 0);
	assert_err(cove_hist_state_put(h, 999, state, 10), COVE_ERR_NOTFOUND);
	assert_ok(cove_hist_close(h));
}

TEST(out_of_range_arguments_are_invalid)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	char name[COVE_HIST_ROOM_MAX + 1];
	int64_t room = room_of(h, "lobby"), r2;
	static char big[COVE_HIST_TEXT_MAX + 2];
	struct cove_hist_msg m = msg(1, 1, 1, "x");
	uint8_t secret[COVE_HIST_SECRET_MAX + 1] = { 0 };

	memset(name, 'n', sizeof(name));
	assert_err(cove_hist_room(h, name, 0, &r2), COVE_ERR_INVAL);
	assert_err(cove_hist_room(h, name, COVE_HIST_ROOM_MAX + 1, &r2), COVE_ERR_INVAL);
	memset(big, 'b', sizeof(big));
	m.text = big;
	m.text_len = COVE_HIST_TEXT_MAX + 1;
	assert_err(cove_hist_add(h, room, &m), COVE_ERR_INVAL);
	m.text_len = COVE_HIST_TEXT_MAX; /* the longest text fits */
	assert_ok(cove_hist_add(h, room, &m));
	m.n++;
	m.ts_ms = (uint64_t)INT64_MAX + 1;
	assert_err(cove_hist_add(h, room, &m), COVE_ERR_INVAL);
	m.ts_ms = 5;
	assert_err(cove_hist_add(h, 999, &m), COVE_ERR_NOTFOUND);
	assert_err(cove_hist_secret_put(h, room, 1, 1, secret, 0), COVE_ERR_INVAL);
	assert_err(cove_hist_secret_put(h, room, 1, 1, secret, sizeof(secret)), COVE_ERR_INVAL);
	assert_ok(cove_hist_secret_put(h, room, 1, 1, secret, sizeof(secret) - 1));
	assert_ok(cove_hist_close(h));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(added_messages_come_back_oldest_first_with_every_field),
		T(page_gives_the_newest_before_a_time_oldest_first),
		T(page_before_an_id_goes_on_inside_a_run_of_equal_times),
		T(page_of_an_empty_room_or_of_limit_zero_gives_nothing),
		T(page_stops_when_the_callback_says_so),
		T(same_message_twice_is_stored_once_and_refused_with_exists),
		T(count_since_counts_the_messages_after_a_time),
		T(rooms_are_found_again_by_name_and_listed_with_their_names),
		T(rooms_lists_every_room_with_its_name_in_the_order_added),
		T(cursor_and_seen_round_trip_and_survive_a_restart),
		T(secrets_round_trip_and_survive_a_restart),
		T(deleted_secrets_are_gone_and_older_epochs_go_together),
		T(state_round_trips_survives_a_restart_and_tells_its_size),
		T(out_of_range_arguments_are_invalid),
	};
	int r = cove_crypto_init();

	if (r != COVE_OK) {
		fprintf(stderr, "cove_crypto_init: %s\n", cove_strerror(r));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
