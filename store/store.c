/*
 * store.c - the store's public functions: check the arguments once, then
 * call the backend chosen at open. Backends may rely on these checks.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/backends.h"
#include "store/store.h"

struct cove_store {
	const struct cove_store_ops *ops;
	void *state;
};

const struct cove_store_ops *const cove_store_backends[] = {
	&cove_store_mem_ops,
	&cove_store_sqlite_ops,
	NULL,
};

const struct cove_store_ops *cove_store_backend(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; cove_store_backends[i]; i++)
		if (strcmp(cove_store_backends[i]->name, name) == 0)
			return cove_store_backends[i];
	return NULL;
}

static int room_ok(const char *room, size_t room_len)
{
	return room && room_len >= 1 && room_len <= COVE_STORE_ROOM_MAX;
}

int cove_store_open(struct cove_store **out, const struct cove_store_ops *ops,
		    const char *path, const struct cove_store_conf *conf)
{
	struct cove_store *s;
	int ret;

	if (!out || !ops || !conf)
		return COVE_ERR_INVAL;
	*out = NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return COVE_ERR_NOMEM;
	s->ops = ops;
	ret = ops->open(&s->state, path, conf);
	if (ret != COVE_OK) {
		free(s);
		return ret;
	}
	*out = s;
	return COVE_OK;
}

void cove_store_close(struct cove_store *s)
{
	if (!s)
		return;
	s->ops->close(s->state);
	free(s);
}

const char *cove_store_name(const struct cove_store *s)
{
	return s ? s->ops->name : NULL;
}

int cove_store_load(struct cove_store *s, cove_store_room_fn room_fn,
		    cove_store_member_fn member_fn, void *arg)
{
	if (!s || !room_fn || !member_fn)
		return COVE_ERR_INVAL;
	return s->ops->load(s->state, room_fn, member_fn, arg);
}

int cove_store_room_put(struct cove_store *s, const struct cove_store_room *r)
{
	if (!s || !r || !room_ok(r->name, r->name_len))
		return COVE_ERR_INVAL;
	return s->ops->room_put(s->state, r);
}

int cove_store_room_del(struct cove_store *s, const char *room, size_t room_len)
{
	if (!s || !room_ok(room, room_len))
		return COVE_ERR_INVAL;
	return s->ops->room_del(s->state, room, room_len);
}

int cove_store_member_put(struct cove_store *s, const char *room, size_t room_len,
			  const struct cove_store_member *m)
{
	if (!s || !room_ok(room, room_len) || !m || (m->ini_len > 0 && !m->ini))
		return COVE_ERR_INVAL;
	return s->ops->member_put(s->state, room, room_len, m);
}

int cove_store_member_del(struct cove_store *s, const char *room, size_t room_len,
			  const uint8_t pk[COVE_STORE_ID_LEN])
{
	if (!s || !room_ok(room, room_len) || !pk)
		return COVE_ERR_INVAL;
	return s->ops->member_del(s->state, room, room_len, pk);
}

int cove_store_append(struct cove_store *s, const char *room, size_t room_len,
		      const struct cove_store_frame *f, cove_store_done_fn done, void *arg)
{
	if (!s || !room_ok(room, room_len) || !f || !f->raw || f->len == 0 || !done)
		return COVE_ERR_INVAL;
	return s->ops->append(s->state, room, room_len, f, done, arg);
}

int cove_store_read(struct cove_store *s, const char *room, size_t room_len,
		    const uint8_t reader[COVE_STORE_ID_LEN], uint64_t after, size_t max,
		    cove_store_frame_fn fn, void *arg)
{
	if (!s || !room_ok(room, room_len) || !reader || !fn)
		return COVE_ERR_INVAL;
	if (max > INT_MAX)
		max = INT_MAX; /* the count comes back as an int */
	return s->ops->read(s->state, room, room_len, reader, after, max, fn, arg);
}

int cove_store_span(struct cove_store *s, const char *room, size_t room_len,
		    struct cove_store_span *out)
{
	if (!s || !room_ok(room, room_len) || !out)
		return COVE_ERR_INVAL;
	return s->ops->span(s->state, room, room_len, out);
}

int cove_store_trim(struct cove_store *s, uint64_t now_ms)
{
	if (!s)
		return COVE_ERR_INVAL;
	return s->ops->trim(s->state, now_ms);
}

int cove_store_flush(struct cove_store *s)
{
	if (!s)
		return COVE_ERR_INVAL;
	return s->ops->flush(s->state);
}
