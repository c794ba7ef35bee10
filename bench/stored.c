/*
 * stored.c - what a relay's SQLite store holds once the relay has
 * stopped: the bytes of its file (and of a -wal left beside it) against
 * the bytes of the frames its rooms keep, as the store itself counts them
 * (cove_store_span). The files are measured before the store is opened
 * here, since opening and closing it may checkpoint.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench/bn.h"
#include "common/err.h"
#include "store/store.h"

/* The rooms' names, gathered by cove_store_load: a callback may not call
 * the store itself. */
struct names {
	char (*name)[COVE_STORE_ROOM_MAX];
	size_t *len;
	size_t n, cap;
};

static long long size_of(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static int add_room(void *arg, const struct cove_store_room *r)
{
	struct names *nm = arg;

	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 16;
		char (*name)[COVE_STORE_ROOM_MAX] = realloc(nm->name, cap * sizeof(*name));
		size_t *len = name ? realloc(nm->len, cap * sizeof(*len)) : NULL;

		if (name)
			nm->name = name;
		if (!len)
			return COVE_ERR_NOMEM;
		nm->len = len;
		nm->cap = cap;
	}
	memcpy(nm->name[nm->n], r->name, r->name_len);
	nm->len[nm->n++] = r->name_len;
	return 0;
}

static int skip_member(void *arg, const struct cove_store_room *r,
		       const struct cove_store_member *m)
{
	(void)arg;
	(void)r;
	(void)m;
	return 0;
}

int bn_stored_measure(const char *path, struct bn_stored *out)
{
	struct cove_store_conf conf = { 0 };
	struct names nm = { NULL, NULL, 0, 0 };
	struct cove_store *s = NULL;
	char wal[4200];
	int ret;

	memset(out, 0, sizeof(*out));
	snprintf(wal, sizeof(wal), "%s-wal", path);
	out->file_bytes = size_of(path);
	out->wal_bytes = size_of(wal);
	if (out->file_bytes == 0) {
		bn_err("no store at %s: %s", path, strerror(errno));
		return -1;
	}
	/* retention as large as it goes: opening must drop nothing */
	conf.retain_bytes = UINT64_MAX;
	ret = cove_store_open(&s, cove_store_backend("sqlite"), path, &conf);
	if (ret == COVE_OK)
		ret = cove_store_load(s, add_room, skip_member, &nm);
	for (size_t i = 0; ret == COVE_OK && i < nm.n; i++) {
		struct cove_store_span sp;

		ret = cove_store_span(s, nm.name[i], nm.len[i], &sp);
		out->frames += (long long)(sp.next - sp.first);
		out->frame_bytes += (long long)sp.bytes;
	}
	out->rooms = nm.n;
	cove_store_close(s);
	free(nm.name);
	free(nm.len);
	if (ret != COVE_OK) {
		bn_err("cannot read the store %s: %s", path, cove_strerror(ret));
		return -1;
	}
	return 0;
}

void bn_stored_json(struct bn_json *j, const struct bn_stored *s)
{
	bn_json_int(j, "store_file_bytes", s->file_bytes);
	bn_json_int(j, "store_wal_bytes", s->wal_bytes);
	bn_json_int(j, "store_frames", s->frames);
	bn_json_int(j, "store_frame_bytes", s->frame_bytes);
	bn_json_num(j, "store_size_ratio", s->frame_bytes > 0 ?
		    (double)(s->file_bytes + s->wal_bytes) / (double)s->frame_bytes : 0);
}
