/*
 * room_fixture.h - what the tests of the relay's room logic share
 * (test_room.c, test_room_away.c): the world (room_world.h) run without a
 * store and then over each backend of cove_store_backends, and the
 * helpers that read what peers got. Peers A, B, C, D are members 0..3; a
 * member "keyed" at epoch e has confirmed e with RDY.
 *
 * Include after <cmocka.h> (and its prerequisites), once per program.
 */
#ifndef COVE_TESTS_UNIT_ROOM_FIXTURE_H
#define COVE_TESTS_UNIT_ROOM_FIXTURE_H

#include <string.h>

#include "store/store.h"
#include "tests/unit/check.h"
#include "tests/unit/room_world.h"
#include "tests/unit/tmpdir.h"

#define ROOM "lobby"

enum { A, B, C, D, E, F, G, H };

static struct rw_world w;

/* Every test runs without a store, then over each backend of
 * cove_store_backends (SQLite on a file of its own): what members see
 * must not depend on where the relay keeps its rooms. */
static const struct cove_store_ops *backend;
static struct cove_store_conf store_conf;
static struct cove_store *store;
static char store_dir[64], store_path[128];

static inline void store_open(void)
{
	assert_ok(cove_store_open(&store, backend, store_path, &store_conf));
}

static inline int setup(void **state)
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

static inline int teardown(void **state)
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

static inline int from_relay(const struct cove_frame *f)
{
	static const uint8_t relay[COVE_ID_LEN] = { [0 ... COVE_ID_LEN - 1] = 0xee };

	return memcmp(f->from, relay, COVE_ID_LEN) == 0;
}

static inline int is_peer(const uint8_t pk[COVE_ID_LEN], int i)
{
	uint8_t want[COVE_ID_LEN];

	rw_pk(want, i);
	return memcmp(pk, want, COVE_ID_LEN) == 0;
}

/* How many times the relay told peer i it is first (its own INI). */
static inline size_t firsts(int i)
{
	struct cove_frame f;
	size_t n = 0;

	for (size_t k = 0; k < w.peer[i].ngot; k++)
		if (rw_frame(&w, i, k, &f) && f.type == COVE_F_INI && from_relay(&f))
			n++;
	return n;
}

/* The last ASK peer i got, which must name joiner. */
static inline void assert_asked(int i, int joiner, size_t times)
{
	struct cove_frame f;

	assert_u64(rw_count(&w, i, COVE_F_ASK, &f), times);
	assert_true(is_peer(f.u.ask.to, i));
	assert_true(is_peer(f.u.ask.joiner, joiner));
	assert_bytes(f.u.ask.xpk, w.peer[joiner].xpk, COVE_WXPK_LEN);
}

/* The last REK peer i got, which must name epoch. */
static inline void assert_rek(int i, uint32_t epoch)
{
	struct cove_frame f;

	assert_true(rw_count(&w, i, COVE_F_REK, &f) >= 1);
	assert_true(is_peer(f.u.rek.to, i));
	assert_u64(f.u.rek.epoch, epoch);
}

/* The last BYE peer i got, which must be the relay's, about who. */
static inline void assert_relay_bye(int i, int who)
{
	struct cove_frame f;

	assert_true(rw_count(&w, i, COVE_F_BYE, &f) >= 1);
	assert_true(from_relay(&f));
	assert_true(is_peer(f.u.bye.who, who));
}

static inline void assert_room_epoch(uint32_t want)
{
	uint32_t e = 0;

	assert_int_equal(rm_hub_epoch(w.hub, ROOM, strlen(ROOM), &e), 1);
	assert_u64(e, want);
}

/* Peers 0..n-1 connect and join ROOM one by one, each given the key of
 * epoch 0 by peer 0, the first; then what they were sent is forgotten. */
static inline void keyed(int n)
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
static inline void joins(int i)
{
	assert_int_equal(rw_connect(&w, i), 0);
	assert_int_equal(rw_join(&w, i, ROOM), 0);
}

/* Runs tests without a store, then once over each backend. Returns 0
 * when every one passed. */
static inline int room_run(const struct CMUnitTest *tests, size_t n)
{
	int failed = _cmocka_run_group_tests("no store", tests, n, NULL, NULL);

	for (size_t i = 0; cove_store_backends[i]; i++) {
		backend = cove_store_backends[i];
		failed += _cmocka_run_group_tests(backend->name, tests, n, NULL, NULL);
	}
	return failed != 0;
}

#endif
