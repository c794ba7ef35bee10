/*
 * hist_fixture.h - what the history's tests share: a private folder with
 * a history path, two identities, messages made from a few numbers, and
 * ways to look at the files as someone holding them (not the key) would.
 */
#ifndef COVE_TESTS_UNIT_HIST_FIXTURE_H
#define COVE_TESTS_UNIT_HIST_FIXTURE_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "common/file.h"
#include "crypto/atrest.h"
#include "hist/hist.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

struct ctx {
	char dir[64];
	char path[128];
	struct cove_ident *alice, *bob;
};

static inline struct cove_ident *ident_of_seed(uint8_t first)
{
	struct cove_ident *id = cove_ident_new();
	uint8_t seed[COVE_SEED_LEN];

	assert_non_null(id);
	memset(seed, first, sizeof(seed));
	assert_ok(cove_ident_from_seed(id, seed));
	return id;
}

static inline int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c || tmpdir_make(c->dir, "hist") != 0)
		return -1;
	snprintf(c->path, sizeof(c->path), "%s/h.db", c->dir);
	c->alice = ident_of_seed(1);
	c->bob = ident_of_seed(2);
	*state = c;
	return 0;
}

static inline int teardown(void **state)
{
	struct ctx *c = *state;

	tmpdir_remove(c->dir);
	cove_ident_free(c->alice);
	cove_ident_free(c->bob);
	free(c);
	return 0;
}

static inline struct cove_hist *open_as(const struct ctx *c, const struct cove_ident *id)
{
	struct cove_hist *h = NULL;

	assert_ok(cove_hist_open(&h, c->path, id));
	return h;
}

static inline int64_t room_of(struct cove_hist *h, const char *name)
{
	int64_t room = 0;

	assert_ok(cove_hist_room(h, name, strlen(name), &room));
	return room;
}

/* A message from sender `who` (its key is 32 bytes of who), session
 * 16 bytes of who + 1. */
static inline struct cove_hist_msg msg(uint8_t who, uint64_t n, uint64_t ts_ms, const char *text)
{
	struct cove_hist_msg m;

	memset(&m, 0, sizeof(m));
	memset(m.from, who, sizeof(m.from));
	memset(m.sid, who + 1, sizeof(m.sid));
	m.n = n;
	m.ts_ms = ts_ms;
	m.rseq = 1000 + n;
	m.text = text;
	m.text_len = strlen(text);
	return m;
}

static inline int add(struct cove_hist *h, int64_t room, uint8_t who, uint64_t n, uint64_t ts,
	       const char *text)
{
	struct cove_hist_msg m = msg(who, n, ts, text);

	return cove_hist_add(h, room, &m);
}

/* Adds messages "m1" .. "m<count>" from sender 1, numbered 1..count,
 * at times first, first + step, ... */
static inline void add_numbered(struct cove_hist *h, int64_t room, uint64_t count,
				uint64_t first, uint64_t step)
{
	char text[24];

	for (uint64_t i = 1; i <= count; i++) {
		snprintf(text, sizeof(text), "m%llu", (unsigned long long)i);
		assert_ok(add(h, room, 1, i, first + (i - 1) * step, text));
	}
}

#define GOT_MAX 64

struct got {
	size_t n;
	struct cove_hist_msg m[GOT_MAX];
	char text[GOT_MAX][128];
};

static inline int collect(void *arg, const struct cove_hist_msg *m)
{
	struct got *g = arg;

	assert_true(g->n < GOT_MAX);
	assert_true(m->text_len < sizeof(g->text[0]));
	g->m[g->n] = *m;
	memcpy(g->text[g->n], m->text, m->text_len);
	g->text[g->n][m->text_len] = '\0';
	g->m[g->n].text = g->text[g->n];
	g->n++;
	return 0;
}

static inline void page(struct cove_hist *h, int64_t room, uint64_t before, unsigned limit,
		 struct got *g)
{
	memset(g, 0, sizeof(*g));
	assert_ok(cove_hist_page(h, room, before, limit, collect, g));
}

/* The whole of a file, or NULL when there is none; *len its size. */
static inline uint8_t *slurp(const char *path, size_t *len)
{
	char *buf = NULL;

	*len = 0;
	if (access(path, F_OK) != 0)
		return NULL;
	assert_ok(cove_file_read(path, 1u << 28, 0, &buf, len, NULL));
	return (uint8_t *)buf;
}

/* Whether the history file or any file SQLite keeps beside it holds the
 * n bytes of needle. */
static inline int files_hold(const struct ctx *c, const void *needle, size_t n)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	int found = 0;

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		char p[160];
		size_t len;
		uint8_t *data;

		snprintf(p, sizeof(p), "%s%s", c->path, suffix[i]);
		data = slurp(p, &len);
		if (data && memmem(data, len, needle, n))
			found = 1;
		free(data);
	}
	return found;
}

/* Runs SQL on the file with SQLite directly, as someone holding the file
 * (and not the key) could. */
static inline void raw_sql(const struct ctx *c, const char *sql)
{
	sqlite3 *db = NULL;
	char *err = NULL;

	assert_int_equal(sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

/* A file that must be refused with want and left byte for byte as it
 * was, with its log if it has one, and nothing made beside it. */
static inline void refused_untouched(const struct ctx *c, const struct cove_ident *id, int want)
{
	struct cove_hist *h = (struct cove_hist *)&h; /* not NULL: the open must clear it */
	char paths[2][160];
	size_t before_len[2], after_len;
	uint8_t *before[2], *after;
	int files = tmpdir_count(c->dir);

	snprintf(paths[0], sizeof(paths[0]), "%s", c->path);
	snprintf(paths[1], sizeof(paths[1]), "%s-wal", c->path);
	for (int i = 0; i < 2; i++)
		before[i] = slurp(paths[i], &before_len[i]);
	assert_err(cove_hist_open(&h, c->path, id), want);
	assert_null(h);
	for (int i = 0; i < 2; i++) {
		after = slurp(paths[i], &after_len);
		if (!before[i] != !after)
			fail_msg("%s: %s by the open", paths[i], after ? "made" : "removed");
		assert_u64(after_len, before_len[i]);
		if (after_len)
			assert_bytes(after, before[i], after_len);
		free(before[i]);
		free(after);
	}
	assert_int_equal(tmpdir_count(c->dir), files);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

#endif
