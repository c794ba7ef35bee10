/*
 * store_world.h - a store opened in a private folder, and the helpers the
 * store's tests share: frames whose bytes say which frame they are, and
 * recorders for completions, loads and reads.
 *
 * Include after <cmocka.h> (and its prerequisites).
 */
#ifndef COVE_TESTS_UNIT_STORE_WORLD_H
#define COVE_TESTS_UNIT_STORE_WORLD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

#define W_MAX 4096       /* completions, frames or members one test records */
#define W_FRAME_MAX 9000 /* the largest frame a test appends */

struct w_done {
	uint64_t seq;
	uint64_t rdat;
	int err;
};

struct world {
	const struct cove_store_ops *ops;
	char dir[64];
	char path[128];
	struct cove_store_conf conf;
	struct cove_store *s;
	struct w_done done[W_MAX];  /* every completion, in the order called */
	size_t n_done;
	uint64_t seqs[W_MAX];       /* what the last w_read gave: seqs and tags */
	uint32_t tags[W_MAX];
	uint64_t rdats[W_MAX];
	size_t n_read;
};

/* A world for ops, with its folder; the store is not open yet. */
static inline struct world *w_new(const struct cove_store_ops *ops, const char *tag)
{
	struct world *w = calloc(1, sizeof(*w));

	assert_non_null(w);
	w->ops = ops;
	/* in memory where there is a tmpfs: the tests fsync often, and
	 * what they test does not depend on the disk */
	snprintf(w->dir, sizeof(w->dir), "/dev/shm/cove-%s-XXXXXX", tag);
	if (!mkdtemp(w->dir) && tmpdir_make(w->dir, tag) != 0)
		fail_msg("cannot make a folder for %s", tag);
	snprintf(w->path, sizeof(w->path), "%s/store.db", w->dir);
	w->conf.retain_bytes = UINT64_MAX;
	return w;
}

static inline void w_free(struct world *w)
{
	cove_store_close(w->s);
	tmpdir_remove(w->dir);
	free(w);
}

/* A cmocka teardown for a world in *state. */
static inline int w_teardown(void **state)
{
	w_free(*state);
	return 0;
}

static inline void w_open(struct world *w)
{
	assert_ok(cove_store_open(&w->s, w->ops, w->path, &w->conf));
}

static inline void w_close(struct world *w)
{
	cove_store_close(w->s);
	w->s = NULL;
}

/* A room record with the given epoch (and other fields derived from it). */
static inline struct cove_store_room w_room(const char *name, uint32_t epoch)
{
	struct cove_store_room r = {
		.name = name, .name_len = strlen(name), .epoch_known = (int)(epoch & 1),
		.epoch = epoch, .epoch_top = epoch + 1, .next_serial = 100 + epoch,
	};

	return r;
}

static inline void w_put_room(struct world *w, const char *name)
{
	struct cove_store_room r = w_room(name, 7);

	assert_ok(cove_store_room_put(w->s, &r));
}

/* A member whose key is 32 times byte k, with serial and an INI of
 * ini_len bytes that also say k. */
static inline struct cove_store_member w_member(uint8_t k, uint64_t serial, size_t ini_len)
{
	static uint8_t ini[256][512];
	struct cove_store_member m = {
		.serial = serial, .joined_ms = 1000 + k, .seen_ms = 2000 + k,
		.epoch_known = k & 1, .epoch = 30u + k, .ini = ini[k], .ini_len = ini_len,
		.since = 500u + k,
	};

	memset(m.pk, k, sizeof(m.pk));
	for (size_t i = 0; i < sizeof(ini[k]); i++)
		ini[k][i] = (uint8_t)(k + i);
	return m;
}

/* The bytes of frame tag, len bytes long: its first four bytes are the
 * tag, the rest follow from it. */
static inline void w_frame_bytes(uint8_t *buf, size_t len, uint32_t tag)
{
	for (size_t i = 0; i < len; i++)
		buf[i] = i < 4 ? (uint8_t)(tag >> (8 * i)) : (uint8_t)(tag * 31 + i);
}

static inline void w_on_done(void *arg, uint64_t seq, uint64_t rdat, int err)
{
	struct world *w = arg;

	if (w->n_done == W_MAX)
		fail_msg("more than %d completions", W_MAX);
	w->done[w->n_done].seq = seq;
	w->done[w->n_done].rdat = rdat;
	w->done[w->n_done].err = err;
	w->n_done++;
}

/* A frame whose tag is this modulo 7 is a DAT (counts in rdat). */
#define W_DAT_TYPE 3

/* Appends frame tag of len bytes to room, for everyone (to NULL) or for
 * the member whose key is 32 times *to, accepted at ts_ms. Its type is
 * tag % 7. */
static inline int w_append_at(struct world *w, const char *room, uint32_t tag, size_t len,
			      const uint8_t *to, uint64_t ts_ms)
{
	static uint8_t buf[W_FRAME_MAX];
	struct cove_store_frame f = { .ts_ms = ts_ms, .type = (uint8_t)(tag % 7), .raw = buf,
				      .len = len, .dat = tag % 7 == W_DAT_TYPE };

	assert_true(len >= 4 && len <= sizeof(buf));
	w_frame_bytes(buf, len, tag);
	if (to) {
		f.has_to = 1;
		memset(f.to, *to, sizeof(f.to));
	}
	return cove_store_append(w->s, room, strlen(room), &f, w_on_done, w);
}

static inline int w_append(struct world *w, const char *room, uint32_t tag, size_t len)
{
	return w_append_at(w, room, tag, len, NULL, 1000000 + tag);
}

/* Checks a frame's bytes against its tag, and records both. */
static inline int w_on_frame(void *arg, const struct cove_store_frame *f)
{
	static uint8_t want[W_FRAME_MAX];
	struct world *w = arg;
	uint32_t tag;

	assert_true(f->len >= 4 && f->len <= sizeof(want));
	tag = (uint32_t)f->raw[0] | (uint32_t)f->raw[1] << 8 | (uint32_t)f->raw[2] << 16 |
	      (uint32_t)f->raw[3] << 24;
	w_frame_bytes(want, f->len, tag);
	assert_bytes(f->raw, want, f->len);
	assert_int_equal(f->type, tag % 7);
	assert_int_equal(f->dat, tag % 7 == W_DAT_TYPE);
	if (w->n_read == W_MAX)
		fail_msg("more than %d frames read", W_MAX);
	w->seqs[w->n_read] = f->seq;
	w->tags[w->n_read] = tag;
	w->rdats[w->n_read] = f->rdat;
	w->n_read++;
	return 0;
}

/* Reads room as the member whose key is 32 times reader; returns what
 * cove_store_read returned, and w->seqs, w->tags hold what it gave. */
static inline int w_read(struct world *w, const char *room, uint8_t reader, uint64_t after,
			 size_t max)
{
	uint8_t pk[COVE_STORE_ID_LEN];

	memset(pk, reader, sizeof(pk));
	w->n_read = 0;
	return cove_store_read(w->s, room, strlen(room), pk, after, max, w_on_frame, w);
}

static inline struct cove_store_span w_span(struct world *w, const char *room)
{
	struct cove_store_span sp;

	assert_ok(cove_store_span(w->s, room, strlen(room), &sp));
	return sp;
}

#define assert_span(sp, first_, next_, bytes_)                                           \
	do {                                                                             \
		struct cove_store_span sp_ = (sp);                                       \
		assert_u64(sp_.first, first_);                                           \
		assert_u64(sp_.next, next_);                                             \
		assert_u64(sp_.dropped, (first_) - 1);                                   \
		assert_u64(sp_.bytes, bytes_);                                           \
	} while (0)

#endif
