/*
 * test_store.c - what every store backend does, run once per backend of
 * cove_store_backends (a cmocka group each; SQLite's on a real file in a
 * private folder): rooms, members in join order, frames numbered per
 * room, completions, reads for one reader, spans, retention by bytes and
 * by age, a full store. What only a file can do (reopening, refusing
 * other files, crashes) is in test_store_sqlite.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/store_world.h"

/* The backend the group being run tests. */
static const struct cove_store_ops *backend;

static int setup(void **state)
{
	struct world *w = w_new(backend, "store");

	w_open(w);
	*state = w;
	return 0;
}

#define WORLD struct world *w = *cmocka_state_

/* What cove_store_load gave, flattened: a room line, then its members. */
struct seen {
	char rooms[8][COVE_STORE_ROOM_MAX + 1];
	struct cove_store_room room[8];
	size_t n_rooms;
	struct cove_store_member member[8];
	uint8_t ini[8][512];
	char member_room[8][COVE_STORE_ROOM_MAX + 1];
	size_t n_members;
	int stop_after;   /* return 5 from the nth callback; 0: never */
	int calls;
};

static int seen_room(void *arg, const struct cove_store_room *r)
{
	struct seen *s = arg;

	assert_true(s->n_rooms < 8 && r->name_len <= COVE_STORE_ROOM_MAX);
	memcpy(s->rooms[s->n_rooms], r->name, r->name_len);
	s->room[s->n_rooms] = *r;
	s->room[s->n_rooms].name = s->rooms[s->n_rooms];
	s->n_rooms++;
	return ++s->calls == s->stop_after ? 5 : 0;
}

static int seen_member(void *arg, const struct cove_store_room *r,
		       const struct cove_store_member *m)
{
	struct seen *s = arg;

	assert_true(s->n_members < 8 && m->ini_len <= sizeof(s->ini[0]));
	memcpy(s->member_room[s->n_members], r->name, r->name_len);
	s->member[s->n_members] = *m;
	if (m->ini_len)
		memcpy(s->ini[s->n_members], m->ini, m->ini_len);
	s->member[s->n_members].ini = s->ini[s->n_members];
	s->n_members++;
	return ++s->calls == s->stop_after ? 5 : 0;
}

static void load(struct world *w, struct seen *s)
{
	memset(s, 0, sizeof(*s));
	assert_ok(cove_store_load(w->s, seen_room, seen_member, s));
}

static void assert_member(const struct cove_store_member *got, const struct cove_store_member *want)
{
	assert_bytes(got->pk, want->pk, COVE_STORE_ID_LEN);
	assert_u64(got->serial, want->serial);
	assert_u64(got->joined_ms, want->joined_ms);
	assert_u64(got->seen_ms, want->seen_ms);
	assert_u64(got->since, want->since);
	assert_int_equal(got->epoch_known, want->epoch_known);
	assert_u64(got->epoch, want->epoch);
	assert_u64(got->ini_len, want->ini_len);
	assert_bytes(got->ini, want->ini, want->ini_len);
}

TEST(backends_are_found_by_name_mem_first)
{
	WORLD;

	assert_ptr_equal(cove_store_backends[0], cove_store_backend("mem"));
	assert_ptr_equal(cove_store_backend(w->ops->name), w->ops);
	assert_string_equal(cove_store_name(w->s), w->ops->name);
	assert_null(cove_store_backend("nats-someday"));
	assert_null(cove_store_backend(NULL));
}

TEST(arguments_out_of_range_are_invalid)
{
	WORLD;
	char long_name[COVE_STORE_ROOM_MAX + 2] = { 0 };
	struct cove_store_room r;
	struct cove_store_member m = w_member(1, 1, 0);
	struct cove_store_frame f = { .raw = (const uint8_t *)"x", .len = 1 };
	struct cove_store_span sp;
	uint8_t pk[COVE_STORE_ID_LEN] = { 0 };

	memset(long_name, 'x', COVE_STORE_ROOM_MAX + 1);
	r = w_room(long_name, 1);
	assert_err(cove_store_room_put(w->s, &r), COVE_ERR_INVAL);
	r.name_len = 0;
	assert_err(cove_store_room_put(w->s, &r), COVE_ERR_INVAL);
	assert_err(cove_store_room_put(w->s, NULL), COVE_ERR_INVAL);
	assert_err(cove_store_room_del(w->s, NULL, 1), COVE_ERR_INVAL);
	m.ini = NULL;
	m.ini_len = 1;
	assert_err(cove_store_member_put(w->s, "r", 1, &m), COVE_ERR_INVAL);
	assert_err(cove_store_member_del(w->s, "r", 1, NULL), COVE_ERR_INVAL);
	assert_err(cove_store_append(w->s, "r", 1, &f, NULL, NULL), COVE_ERR_INVAL);
	f.len = 0;
	assert_err(cove_store_append(w->s, "r", 1, &f, w_on_done, w), COVE_ERR_INVAL);
	assert_err(cove_store_read(w->s, "r", 1, NULL, 0, 1, w_on_frame, w), COVE_ERR_INVAL);
	assert_err(cove_store_read(w->s, "r", 1, pk, 0, 1, NULL, w), COVE_ERR_INVAL);
	assert_err(cove_store_span(w->s, long_name, COVE_STORE_ROOM_MAX + 1, &sp), COVE_ERR_INVAL);
	assert_err(cove_store_load(w->s, NULL, seen_member, NULL), COVE_ERR_INVAL);
	assert_err(cove_store_open(NULL, w->ops, w->path, &w->conf), COVE_ERR_INVAL);
	assert_u64(w->n_done, 0);
}

TEST(a_room_put_again_is_replaced)
{
	WORLD;
	struct cove_store_room r = w_room("lobby", 1);
	struct seen s;

	assert_ok(cove_store_room_put(w->s, &r));
	r = w_room("lobby", 2);
	assert_ok(cove_store_room_put(w->s, &r));
	load(w, &s);
	assert_u64(s.n_rooms, 1);
	assert_string_equal(s.rooms[0], "lobby");
	assert_u64(s.room[0].name_len, 5);
	assert_int_equal(s.room[0].epoch_known, 0);
	assert_u64(s.room[0].epoch, 2);
	assert_u64(s.room[0].epoch_top, 3);
	assert_u64(s.room[0].next_serial, 102);
}

TEST(a_room_put_again_keeps_its_frames_and_numbering)
{
	WORLD;

	w_put_room(w, "lobby");
	assert_ok(w_append(w, "lobby", 1, 100));
	w_put_room(w, "lobby");
	assert_ok(w_append(w, "lobby", 2, 100));
	assert_ok(cove_store_flush(w->s));
	assert_span(w_span(w, "lobby"), 1, 3, 200);
}

TEST(a_deleted_room_goes_with_its_members_and_frames)
{
	WORLD;
	struct cove_store_member m = w_member(1, 1, 40);
	struct seen s;

	w_put_room(w, "lobby");
	w_put_room(w, "other");
	assert_ok(cove_store_member_put(w->s, "lobby", 5, &m));
	assert_ok(w_append(w, "lobby", 1, 100));
	assert_ok(w_append(w, "lobby", 2, 100));
	assert_ok(cove_store_flush(w->s));
	assert_ok(cove_store_room_del(w->s, "lobby", 5));
	load(w, &s);
	assert_u64(s.n_rooms, 1);
	assert_string_equal(s.rooms[0], "other");
	assert_u64(s.n_members, 0);
	assert_err(w_read(w, "lobby", 1, 0, 10), COVE_ERR_NOTFOUND);
	assert_err(w_append(w, "lobby", 3, 100), COVE_ERR_NOTFOUND);

	w_put_room(w, "lobby");
	load(w, &s);
	assert_u64(s.n_members, 0);
	assert_span(w_span(w, "lobby"), 1, 1, 0);
	assert_int_equal(w_read(w, "lobby", 1, 0, 10), 0);
	assert_ok(w_append(w, "lobby", 4, 100));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->done[w->n_done - 1].seq, 1);
}

TEST(a_new_room_never_sees_the_frames_of_a_deleted_one)
{
	WORLD;

	w_put_room(w, "a");
	w_put_room(w, "b");
	assert_ok(w_append(w, "a", 1, 100));
	assert_ok(w_append(w, "a", 2, 100));
	assert_ok(cove_store_flush(w->s));
	assert_ok(cove_store_room_del(w->s, "a", 1));
	w_put_room(w, "c"); /* sqlite gives it the id a had */
	assert_span(w_span(w, "c"), 1, 1, 0);
	assert_int_equal(w_read(w, "c", 1, 0, 10), 0);
	assert_ok(w_append(w, "c", 3, 100));
	assert_ok(cove_store_flush(w->s));
	assert_int_equal(w_read(w, "c", 1, 0, 10), 1);
	assert_u64(w->tags[0], 3);
	assert_u64(w->seqs[0], 1);
}

TEST(deleting_a_missing_room_is_notfound)
{
	WORLD;

	assert_err(cove_store_room_del(w->s, "nowhere", 7), COVE_ERR_NOTFOUND);
	w_put_room(w, "lobby");
	assert_ok(cove_store_room_del(w->s, "lobby", 5));
	assert_err(cove_store_room_del(w->s, "lobby", 5), COVE_ERR_NOTFOUND);
}

TEST(members_come_back_in_join_order)
{
	WORLD;
	struct cove_store_member m3 = w_member(3, 30, 300), m1 = w_member(1, 10, 100);
	struct cove_store_member m2 = w_member(2, 20, 0), other = w_member(9, 5, 9);
	struct seen s;

	w_put_room(w, "lobby");
	w_put_room(w, "other");
	assert_ok(cove_store_member_put(w->s, "lobby", 5, &m3));
	assert_ok(cove_store_member_put(w->s, "lobby", 5, &m1));
	assert_ok(cove_store_member_put(w->s, "other", 5, &other));
	assert_ok(cove_store_member_put(w->s, "lobby", 5, &m2));
	load(w, &s);
	assert_u64(s.n_rooms, 2);
	assert_u64(s.n_members, 4);
	for (size_t i = 0, lobby = 0; i < s.n_members; i++) {
		if (strcmp(s.member_room[i], "other") == 0) {
			assert_member(&s.member[i], &other);
			continue;
		}
		assert_member(&s.member[i], lobby == 0 ? &m1 : lobby == 1 ? &m2 : &m3);
		lobby++;
	}
}

TEST(a_member_put_again_is_replaced)
{
	WORLD;
	struct cove_store_member m = w_member(1, 10, 100), later = w_member(1, 40, 200);
	struct cove_store_member m2 = w_member(2, 20, 50);
	struct seen s;

	w_put_room(w, "lobby");
	assert_ok(cove_store_member_put(w->s, "lobby", 5, &m));
	assert_ok(cove_store_member_put(w->s, "lobby", 5, &m2));
	later.seen_ms = 99999;
	assert_ok(cove_store_member_put(w->s, "lobby", 5, &later));
	load(w, &s);
	assert_u64(s.n_members, 2);
	assert_member(&s.member[0], &m2);
	assert_member(&s.member[1], &later);
}

TEST(a_member_needs_a_room)
{
	WORLD;
	struct cove_store_member m = w_member(1, 1, 10);

	assert_err(cove_store_member_put(w->s, "nowhere", 7, &m), COVE_ERR_NOTFOUND);
}

/* Room "lobby" with members 1 and 2, joined in that order. */
static void lobby_of_two(struct world *w, struct cove_store_member *m1,
			 struct cove_store_member *m2)
{
	*m1 = w_member(1, 1, 10);
	*m2 = w_member(2, 2, 10);
	w_put_room(w, "lobby");
	assert_ok(cove_store_member_put(w->s, "lobby", 5, m1));
	assert_ok(cove_store_member_put(w->s, "lobby", 5, m2));
}

TEST(removing_a_stranger_is_notfound)
{
	WORLD;
	struct cove_store_member m, m2;
	struct seen s;

	lobby_of_two(w, &m, &m2);
	assert_err(cove_store_member_del(w->s, "lobby", 5, w_member(3, 0, 0).pk), COVE_ERR_NOTFOUND);
	assert_err(cove_store_member_del(w->s, "nowhere", 7, m.pk), COVE_ERR_NOTFOUND);
	assert_ok(cove_store_member_del(w->s, "lobby", 5, m.pk));
	assert_err(cove_store_member_del(w->s, "lobby", 5, m.pk), COVE_ERR_NOTFOUND);
	load(w, &s);
	assert_u64(s.n_members, 1);
	assert_member(&s.member[0], &m2);
}

TEST(load_stops_when_a_callback_says_so)
{
	WORLD;
	struct cove_store_member m, m2;
	struct seen s;

	lobby_of_two(w, &m, &m2);
	memset(&s, 0, sizeof(s));
	s.stop_after = 2;
	assert_int_equal(cove_store_load(w->s, seen_room, seen_member, &s), 5);
	assert_u64(s.n_members, 1);
}

TEST(appends_are_numbered_from_one_in_each_room)
{
	WORLD;

	w_put_room(w, "a");
	w_put_room(w, "b");
	assert_ok(w_append(w, "a", 1, 50));
	assert_ok(w_append(w, "a", 2, 50));
	assert_ok(w_append(w, "b", 3, 50));
	assert_ok(w_append(w, "a", 4, 50));
	assert_ok(w_append(w, "b", 5, 50));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->n_done, 5);
	static const uint64_t want[] = { 1, 2, 1, 3, 2 };
	for (size_t i = 0; i < 5; i++) {
		assert_err(w->done[i].err, COVE_OK);
		assert_u64(w->done[i].seq, want[i]);
	}
	assert_int_equal(w_read(w, "b", 1, 0, 10), 2);
	assert_u64(w->tags[0], 3);
	assert_u64(w->tags[1], 5);
}

TEST(appending_to_a_missing_room_is_notfound_and_never_completes)
{
	WORLD;

	assert_err(w_append(w, "nowhere", 1, 50), COVE_ERR_NOTFOUND);
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->n_done, 0);
}

TEST(each_append_completes_once_in_order_by_flush)
{
	WORLD;

	w_put_room(w, "lobby");
	for (uint32_t i = 1; i <= 50; i++)
		assert_ok(w_append(w, "lobby", i, 100 + i));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->n_done, 50);
	for (size_t i = 0; i < 50; i++) {
		assert_err(w->done[i].err, COVE_OK);
		assert_u64(w->done[i].seq, i + 1);
	}
	assert_ok(cove_store_flush(w->s));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->n_done, 50);
}

/* A completion that appends again, as a relay answering a frame might. */
static void append_again(void *arg, uint64_t seq, uint64_t rdat, int err)
{
	struct world *w = arg;

	w_on_done(w, seq, rdat, err);
	if (seq == 1)
		assert_ok(w_append(w, "lobby", 100, 60));
}

TEST(a_completion_may_append_again)
{
	WORLD;
	static uint8_t buf[60];
	struct cove_store_frame f = { .type = 1, .raw = buf, .len = sizeof(buf) };

	w_put_room(w, "lobby");
	w_frame_bytes(buf, sizeof(buf), 1);
	assert_ok(cove_store_append(w->s, "lobby", 5, &f, append_again, w));
	assert_ok(w_append(w, "lobby", 2, 60));
	assert_ok(cove_store_flush(w->s));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->n_done, 3);
	/* mem numbers the completion's frame second, sqlite third (it
	 * completes at the flush): either way the seqs complete in order */
	for (size_t i = 0; i < 3; i++)
		assert_u64(w->done[i].seq, i + 1);
	assert_int_equal(w_read(w, "lobby", 1, 0, 10), 3);
}

/* A completion that reads its room: it must see its own frame and those
 * completed before it, and none after. */
static void read_in_completion(void *arg, uint64_t seq, uint64_t rdat, int err)
{
	struct world *w = arg;
	uint8_t pk[COVE_STORE_ID_LEN] = { 0 };
	int n;

	w_on_done(w, seq, rdat, err);
	n = cove_store_read(w->s, "lobby", 5, pk, 0, 100, w_on_frame, w);
	w->n_read = 0;
	if (n != (int)seq)
		fail_msg("completion of seq %llu reads %d frames", (unsigned long long)seq, n);
}

TEST(a_completion_reads_the_frames_completed_so_far)
{
	WORLD;
	static uint8_t buf[80];

	w_put_room(w, "lobby");
	for (uint32_t i = 1; i <= 5; i++) {
		struct cove_store_frame f = { .type = i % 7, .dat = i % 7 == W_DAT_TYPE,
					      .raw = buf, .len = sizeof(buf) };

		w_frame_bytes(buf, sizeof(buf), i);
		assert_ok(cove_store_append(w->s, "lobby", 5, &f, read_in_completion, w));
	}
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->n_done, 5);
}

TEST(read_gives_frames_after_n_up_to_max)
{
	WORLD;

	w_put_room(w, "lobby");
	for (uint32_t i = 1; i <= 10; i++)
		assert_ok(w_append(w, "lobby", 1000 + i, 4 + 97 * i));
	assert_ok(cove_store_flush(w->s));
	assert_int_equal(w_read(w, "lobby", 1, 3, 4), 4);
	for (size_t i = 0; i < 4; i++) {
		assert_u64(w->seqs[i], 4 + i);
		assert_u64(w->tags[i], 1004 + i);
	}
	assert_int_equal(w_read(w, "lobby", 1, 8, 100), 2);
	assert_u64(w->seqs[1], 10);
	assert_int_equal(w_read(w, "lobby", 1, 10, 100), 0);
	assert_int_equal(w_read(w, "lobby", 1, UINT64_MAX, 100), 0);
	assert_int_equal(w_read(w, "lobby", 1, 0, 0), 0);
	assert_int_equal(w_read(w, "lobby", 1, 0, SIZE_MAX), 10);
}

static int stop_at_second(void *arg, const struct cove_store_frame *f)
{
	int *n = arg;

	(void)f;
	return ++*n == 2 ? 42 : 0;
}

TEST(read_stops_when_fn_says_so)
{
	WORLD;
	uint8_t pk[COVE_STORE_ID_LEN] = { 0 };
	int n = 0;

	w_put_room(w, "lobby");
	for (uint32_t i = 1; i <= 5; i++)
		assert_ok(w_append(w, "lobby", i, 40));
	assert_ok(cove_store_flush(w->s));
	assert_int_equal(cove_store_read(w->s, "lobby", 5, pk, 0, 10, stop_at_second, &n), 42);
	assert_int_equal(n, 2);
}

TEST(read_skips_frames_for_another_member)
{
	WORLD;
	const uint8_t alice = 0xa1, bob = 0xb0;

	w_put_room(w, "lobby");
	assert_ok(w_append_at(w, "lobby", 1, 100, NULL, 1));
	assert_ok(w_append_at(w, "lobby", 2, 100, &alice, 2));
	assert_ok(w_append_at(w, "lobby", 3, 100, &bob, 3));
	assert_ok(w_append_at(w, "lobby", 4, 100, NULL, 4));
	assert_ok(cove_store_flush(w->s));
	assert_int_equal(w_read(w, "lobby", bob, 0, 10), 3);
	assert_u64(w->tags[0], 1);
	assert_u64(w->tags[1], 3);
	assert_u64(w->tags[2], 4);
	/* max counts the frames given, not those skipped */
	assert_int_equal(w_read(w, "lobby", alice, 0, 2), 2);
	assert_u64(w->seqs[1], 2);
	assert_int_equal(w_read(w, "lobby", 0x33, 1, 10), 1);
	assert_u64(w->seqs[0], 4);
}

static int keep_to(void *arg, const struct cove_store_frame *f)
{
	struct cove_store_frame *out = arg;

	*out = *f;
	out->raw = NULL;
	return 0;
}

TEST(read_gives_the_frames_facts_back)
{
	WORLD;
	const uint8_t bob = 0xb0;
	uint8_t pk[COVE_STORE_ID_LEN];
	struct cove_store_frame f;

	w_put_room(w, "lobby");
	assert_ok(w_append_at(w, "lobby", 12, 100, &bob, 1765000000123ULL));
	assert_ok(cove_store_flush(w->s));
	memset(pk, bob, sizeof(pk));
	assert_int_equal(cove_store_read(w->s, "lobby", 5, pk, 0, 1, keep_to, &f), 1);
	assert_u64(f.seq, 1);
	assert_u64(f.ts_ms, 1765000000123ULL);
	assert_int_equal(f.type, 12 % 7);
	assert_int_equal(f.has_to, 1);
	assert_bytes(f.to, pk, COVE_STORE_ID_LEN);
	assert_u64(f.len, 100);
}

TEST(read_gives_only_frames_whose_completion_came)
{
	WORLD;

	w_put_room(w, "lobby");
	assert_ok(w_append(w, "lobby", 1, 100));
	assert_ok(w_append(w, "lobby", 2, 100));
	/* mem completes at once, sqlite at the flush: either way a frame is
	 * read only once its completion (which fans it out) has come */
	assert_int_equal(w_read(w, "lobby", 1, 0, 10), (int)w->n_done);
	assert_ok(cove_store_flush(w->s));
	assert_int_equal(w_read(w, "lobby", 1, 0, 10), 2);
}

TEST(span_says_first_next_dropped_and_bytes)
{
	WORLD;

	w_put_room(w, "lobby");
	assert_span(w_span(w, "lobby"), 1, 1, 0);
	assert_ok(w_append(w, "lobby", 1, 100));
	assert_ok(w_append(w, "lobby", 2, 250));
	assert_ok(cove_store_flush(w->s));
	assert_span(w_span(w, "lobby"), 1, 3, 350);
	struct cove_store_span sp;
	assert_err(cove_store_span(w->s, "nowhere", 7, &sp), COVE_ERR_NOTFOUND);
}

/* rdat: how many DATs the room took up to and including a frame, as a
 * member that comes back is told how many it missed. */
TEST(each_frame_carries_the_dats_counted_through_it)
{
	WORLD;
	struct cove_store_span sp;

	w_put_room(w, "lobby");
	w_put_room(w, "other");
	for (uint32_t i = 1; i <= 10; i++) /* DATs: 3 and 10 */
		assert_ok(w_append(w, "lobby", i, 100));
	assert_ok(w_append(w, "other", 3, 100));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->done[0].rdat, 0);
	assert_u64(w->done[2].rdat, 1);
	assert_u64(w->done[8].rdat, 1);
	assert_u64(w->done[9].rdat, 2);
	assert_u64(w->done[10].rdat, 1); /* each room counts its own */
	assert_int_equal(w_read(w, "lobby", 1, 0, 100), 10);
	for (size_t i = 0; i < 10; i++)
		assert_u64(w->rdats[i], w->done[i].rdat);
	sp = w_span(w, "lobby");
	assert_u64(sp.dats, 2);
	assert_u64(sp.dropped_dats, 0);
}

/* The DATs among the frames retention dropped, exactly: by bytes, by age,
 * and a frame too large to keep. */
TEST(span_counts_the_dats_retention_dropped)
{
	WORLD;
	struct cove_store_span sp;

	w_close(w);
	w->conf.retain_bytes = 1000;
	w->conf.retain_ms = 1000;
	w_open(w);
	w_put_room(w, "lobby");
	for (uint32_t i = 1; i <= 10; i++) /* DATs: 3 and 10 */
		assert_ok(w_append_at(w, "lobby", i, 300, NULL, 100000 + i));
	assert_ok(cove_store_flush(w->s));
	sp = w_span(w, "lobby"); /* 1..7 dropped: one DAT */
	assert_u64(sp.first, 8);
	assert_u64(sp.dats, 2);
	assert_u64(sp.dropped_dats, 1);
	assert_ok(cove_store_trim(w->s, 100000 + 9 + 1000)); /* 8 goes, 9 and 10 stay */
	assert_ok(cove_store_flush(w->s));
	sp = w_span(w, "lobby");
	assert_u64(sp.first, 9);
	assert_u64(sp.dropped_dats, 1);
	assert_ok(cove_store_trim(w->s, 100000 + 11 + 1000)); /* 9 and the DAT 10 go */
	assert_ok(cove_store_flush(w->s));
	sp = w_span(w, "lobby");
	assert_u64(sp.first, 11);
	assert_u64(sp.dropped_dats, 2);
	assert_ok(w_append_at(w, "lobby", 17, 1001, NULL, 200000)); /* a DAT kept by nobody */
	assert_ok(cove_store_flush(w->s));
	sp = w_span(w, "lobby");
	assert_u64(sp.first, 12);
	assert_u64(sp.dats, 3);
	assert_u64(sp.dropped_dats, 3);
	assert_u64(w->done[w->n_done - 1].rdat, 3);
}

TEST(retention_by_bytes_drops_the_oldest_frames)
{
	WORLD;

	w_close(w);
	w->conf.retain_bytes = 1000;
	w_open(w);
	w_put_room(w, "lobby");
	w_put_room(w, "other");
	for (uint32_t i = 1; i <= 10; i++)
		assert_ok(w_append(w, "lobby", i, 300));
	assert_ok(w_append(w, "other", 99, 1000));
	assert_ok(cove_store_flush(w->s));
	/* 3 of 300 bytes fit in 1000: 1..7 dropped */
	assert_span(w_span(w, "lobby"), 8, 11, 900);
	assert_span(w_span(w, "other"), 1, 2, 1000);
	assert_int_equal(w_read(w, "lobby", 1, 0, 100), 3);
	assert_u64(w->seqs[0], 8);
	assert_u64(w->tags[2], 10);
	/* one of 700 bytes makes room by dropping two */
	assert_ok(w_append(w, "lobby", 11, 700));
	assert_ok(cove_store_flush(w->s));
	assert_span(w_span(w, "lobby"), 10, 12, 1000);
	assert_u64(w->done[w->n_done - 1].seq, 11);
}

/* A member away must still get the KEY of the messages kept after it:
 * retention by bytes keeps a frame for one member apart, out of the bytes
 * counted, and a read gives it first, in order. */
TEST(retention_by_bytes_keeps_a_frame_for_one_member_apart)
{
	WORLD;
	const uint8_t bob = 0xb0, carol = 0xca;

	w_close(w);
	w->conf.retain_bytes = 1000;
	w->conf.retain_ms = 1000;
	w_open(w);
	w_put_room(w, "lobby");
	assert_ok(w_append(w, "lobby", 1, 300));
	assert_ok(w_append_at(w, "lobby", 2, 100, &bob, 1000002));   /* bob's KEY */
	assert_ok(w_append_at(w, "lobby", 4, 100, &carol, 1000004)); /* carol's */
	for (uint32_t i = 5; i <= 10; i++)
		assert_ok(w_append(w, "lobby", i, 300));
	assert_ok(cove_store_flush(w->s));
	/* seqs 1..9; the last three fit: 1..6 are dropped but for the KEYs */
	assert_span(w_span(w, "lobby"), 7, 10, 900);
	assert_int_equal(w_read(w, "lobby", bob, 0, 100), 4);
	assert_u64(w->seqs[0], 2);
	assert_u64(w->tags[0], 2);
	assert_u64(w->seqs[1], 7);
	assert_int_equal(w_read(w, "lobby", carol, 0, 100), 4);
	assert_u64(w->seqs[0], 3);
	/* after its seq: not given again; a batch counts it */
	assert_int_equal(w_read(w, "lobby", bob, 2, 100), 3);
	assert_int_equal(w_read(w, "lobby", bob, 0, 2), 2);
	assert_u64(w->seqs[1], 7);
	/* retention by age takes it, like any frame */
	assert_ok(cove_store_trim(w->s, 1000003 + 1000)); /* cut-off 1000003 */
	assert_ok(cove_store_flush(w->s));
	assert_int_equal(w_read(w, "lobby", bob, 0, 100), 3);
	assert_int_equal(w_read(w, "lobby", carol, 0, 100), 4);
	assert_u64(w->seqs[0], 3);
}

TEST(a_frame_larger_than_retain_bytes_is_numbered_and_dropped)
{
	WORLD;

	w_close(w);
	w->conf.retain_bytes = 500;
	w_open(w);
	w_put_room(w, "lobby");
	assert_ok(w_append(w, "lobby", 1, 200));
	assert_ok(w_append(w, "lobby", 2, 501));
	assert_ok(cove_store_flush(w->s));
	assert_span(w_span(w, "lobby"), 3, 3, 0);
	assert_u64(w->done[1].seq, 2);
	assert_int_equal(w_read(w, "lobby", 1, 0, 10), 0);
	assert_ok(w_append(w, "lobby", 3, 200));
	assert_ok(cove_store_flush(w->s));
	assert_span(w_span(w, "lobby"), 3, 4, 200);
}

TEST(retain_bytes_zero_keeps_nothing_but_numbers)
{
	WORLD;

	w_close(w);
	w->conf.retain_bytes = 0;
	w_open(w);
	w_put_room(w, "lobby");
	for (uint32_t i = 1; i <= 3; i++)
		assert_ok(w_append(w, "lobby", i, 100));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->n_done, 3);
	assert_u64(w->done[2].seq, 3);
	assert_span(w_span(w, "lobby"), 4, 4, 0);
	assert_int_equal(w_read(w, "lobby", 1, 0, 10), 0);
}

TEST(trim_drops_frames_older_than_retain_ms)
{
	WORLD;

	w_close(w);
	w->conf.retain_ms = 1000;
	w_open(w);
	w_put_room(w, "a");
	w_put_room(w, "b");
	for (uint32_t i = 1; i <= 5; i++) {
		assert_ok(w_append_at(w, "a", i, 100, NULL, 10000 + 100 * i));
		assert_ok(w_append_at(w, "b", 10 + i, 50, NULL, 10000 + 300 * i));
	}
	assert_ok(cove_store_trim(w->s, 10000)); /* before retain_ms has passed */
	assert_ok(cove_store_flush(w->s));
	assert_span(w_span(w, "a"), 1, 6, 500);
	/* cut-off 11300: a's 10100..10500 all go, b keeps 11500 */
	assert_ok(cove_store_trim(w->s, 12300));
	assert_ok(cove_store_flush(w->s));
	assert_span(w_span(w, "a"), 6, 6, 0);
	assert_span(w_span(w, "b"), 5, 6, 50);
	assert_int_equal(w_read(w, "b", 1, 0, 10), 1);
	assert_u64(w->tags[0], 15);
}

TEST(trim_stops_at_the_first_frame_young_enough)
{
	WORLD;

	w_close(w);
	w->conf.retain_ms = 1000;
	w_open(w);
	w_put_room(w, "a");
	/* the clock went back after the second frame */
	assert_ok(w_append_at(w, "a", 1, 100, NULL, 5000));
	assert_ok(w_append_at(w, "a", 2, 100, NULL, 9000));
	assert_ok(w_append_at(w, "a", 3, 100, NULL, 4000));
	assert_ok(cove_store_trim(w->s, 7000));
	assert_ok(cove_store_flush(w->s));
	assert_span(w_span(w, "a"), 2, 4, 200);
}

TEST(trim_without_retain_ms_keeps_everything)
{
	WORLD;

	w_put_room(w, "a");
	assert_ok(w_append_at(w, "a", 1, 100, NULL, 1));
	assert_ok(cove_store_trim(w->s, UINT64_MAX));
	assert_ok(cove_store_flush(w->s));
	assert_span(w_span(w, "a"), 1, 2, 100);
}

TEST(a_full_store_stores_nothing_and_works_again_when_space_is_freed)
{
	WORLD;
	struct cove_store_span before, after;
	size_t stored = 0;
	int ret = COVE_OK;

	w_close(w);
	w->conf.max_bytes = 64 * 1024;
	w_open(w);
	w_put_room(w, "lobby");
	w_put_room(w, "spare");
	for (uint32_t i = 1; i <= 20; i++)
		assert_ok(w_append(w, "spare", 5000 + i, 656));
	assert_ok(cove_store_flush(w->s));
	before = w_span(w, "lobby");
	/* no flush in between: the frames before the one that does not fit
	 * stay in the batch */
	for (uint32_t i = 1; i <= 200 && ret == COVE_OK; i++) {
		ret = w_append(w, "lobby", i, 1500);
		stored += ret == COVE_OK;
	}
	assert_err(ret, COVE_ERR_FULL);
	assert_true(stored > 0);
	after = w_span(w, "lobby");
	assert_u64(after.next, before.next + stored);
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->n_done, 20 + stored);
	for (size_t i = 20; i < w->n_done; i++) {
		assert_err(w->done[i].err, COVE_OK);
		assert_u64(w->done[i].seq, i - 19);
	}
	assert_span(w_span(w, "lobby"), 1, stored + 1, stored * 1500);
	assert_int_equal(w_read(w, "lobby", 1, 0, 1000), (int)stored);

	assert_ok(cove_store_room_del(w->s, "spare", 5));
	assert_ok(cove_store_flush(w->s));
	assert_ok(w_append(w, "lobby", 999, 1500));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->done[w->n_done - 1].seq, stored + 1);
	assert_int_equal(w_read(w, "lobby", 1, stored, 10), 1);
	assert_u64(w->tags[0], 999);
}

TEST(catching_up_on_many_frames_gives_each_once_in_order)
{
	WORLD;
	uint64_t after = 0;
	int n;

	w_put_room(w, "lobby");
	w_put_room(w, "other");
	for (uint32_t i = 1; i <= 3000; i++) {
		assert_ok(w_append(w, i % 3 ? "lobby" : "other", i, 64 + i % 200));
		if (i % 100 == 0)
			assert_ok(cove_store_flush(w->s));
	}
	while ((n = w_read(w, "lobby", 1, after, 700)) > 0) {
		for (int i = 0; i < n; i++)
			assert_u64(w->seqs[i], after + 1 + (uint64_t)i);
		after = w->seqs[n - 1];
	}
	assert_int_equal(n, 0);
	assert_u64(after, 2000);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, w_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(backends_are_found_by_name_mem_first),
		T(arguments_out_of_range_are_invalid),
		T(a_room_put_again_is_replaced),
		T(a_room_put_again_keeps_its_frames_and_numbering),
		T(a_deleted_room_goes_with_its_members_and_frames),
		T(a_new_room_never_sees_the_frames_of_a_deleted_one),
		T(deleting_a_missing_room_is_notfound),
		T(members_come_back_in_join_order),
		T(a_member_put_again_is_replaced),
		T(a_member_needs_a_room),
		T(removing_a_stranger_is_notfound),
		T(load_stops_when_a_callback_says_so),
		T(appends_are_numbered_from_one_in_each_room),
		T(appending_to_a_missing_room_is_notfound_and_never_completes),
		T(each_append_completes_once_in_order_by_flush),
		T(a_completion_may_append_again),
		T(a_completion_reads_the_frames_completed_so_far),
		T(read_gives_frames_after_n_up_to_max),
		T(read_stops_when_fn_says_so),
		T(read_skips_frames_for_another_member),
		T(read_gives_the_frames_facts_back),
		T(read_gives_only_frames_whose_completion_came),
		T(span_says_first_next_dropped_and_bytes),
		T(each_frame_carries_the_dats_counted_through_it),
		T(span_counts_the_dats_retention_dropped),
		T(retention_by_bytes_drops_the_oldest_frames),
		T(retention_by_bytes_keeps_a_frame_for_one_member_apart),
		T(a_frame_larger_than_retain_bytes_is_numbered_and_dropped),
		T(retain_bytes_zero_keeps_nothing_but_numbers),
		T(trim_drops_frames_older_than_retain_ms),
		T(trim_stops_at_the_first_frame_young_enough),
		T(trim_without_retain_ms_keeps_everything),
		T(a_full_store_stores_nothing_and_works_again_when_space_is_freed),
		T(catching_up_on_many_frames_gives_each_once_in_order),
	};
	int failed = 0;

	for (size_t i = 0; cove_store_backends[i]; i++) {
		backend = cove_store_backends[i];
		failed += cmocka_run_group_tests_name(backend->name, tests, NULL, NULL);
	}
	return failed != 0;
}
