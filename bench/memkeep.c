/*
 * memkeep.c - a chat core's persistence table (chat/chat.h) in memory:
 * what cove-node keeps in its history file, less the messages. A core
 * made again on the same table comes back to its rooms with its state,
 * keys and cursor, as cove-node does after a restart, and shows every
 * message (none was kept, so none was "shown before"). The catch-up
 * scenario compares it with the node's own file to show what keeping
 * history costs. Secrets sit in plain memory: throw-away keys.
 */
#include <stdlib.h>
#include <string.h>

#include "bench/bn.h"
#include "common/err.h"

#define MK_ROOMS 8
#define MK_SECRETS 32
#define MK_SECRET_MAX 64

struct mk_secret {
	uint32_t kind, id;
	uint8_t s[MK_SECRET_MAX];
	size_t len;
	int used;
};

struct mk_room {
	char name[COVE_ROOM_MAX + 1];
	uint8_t *state;
	size_t state_len;
	struct mk_secret secrets[MK_SECRETS];
	uint64_t rseq, rdat;
};

struct bn_memkeep {
	struct mk_room rooms[MK_ROOMS];
	size_t nrooms;
};

struct bn_memkeep *bn_memkeep_new(void)
{
	return calloc(1, sizeof(struct bn_memkeep));
}

void bn_memkeep_free(struct bn_memkeep *k)
{
	if (!k)
		return;
	for (size_t i = 0; i < k->nrooms; i++)
		free(k->rooms[i].state);
	free(k);
}

static struct mk_room *room_of(struct bn_memkeep *k, const char *name, int add)
{
	for (size_t i = 0; i < k->nrooms; i++)
		if (strcmp(k->rooms[i].name, name) == 0)
			return &k->rooms[i];
	if (!add || k->nrooms == MK_ROOMS || strlen(name) > COVE_ROOM_MAX)
		return NULL;
	strcpy(k->rooms[k->nrooms].name, name);
	return &k->rooms[k->nrooms++];
}

static void mk_forget(void *ctx, const char *room)
{
	struct mk_room *r = room_of(ctx, room, 0);

	if (!r)
		return;
	free(r->state);
	r->state = NULL;
	r->state_len = 0;
	memset(r->secrets, 0, sizeof(r->secrets));
	r->rseq = r->rdat = 0;
}

static int mk_state_get(void *ctx, const char *room, uint8_t *out, size_t cap, size_t *len)
{
	struct mk_room *r = room_of(ctx, room, 0);

	if (!r || !r->state)
		return COVE_ERR_NOTFOUND;
	*len = r->state_len;
	if (cap < r->state_len)
		return COVE_ERR_SPACE;
	memcpy(out, r->state, r->state_len);
	return COVE_OK;
}

static int mk_state_put(void *ctx, const char *room, const uint8_t *st, size_t len)
{
	struct mk_room *r = room_of(ctx, room, 1);
	uint8_t *copy;

	if (!r)
		return COVE_ERR_LIMIT;
	copy = malloc(len ? len : 1);
	if (!copy)
		return COVE_ERR_NOMEM;
	memcpy(copy, st, len);
	free(r->state);
	r->state = copy;
	r->state_len = len;
	return COVE_OK;
}

static struct mk_secret *secret_of(struct mk_room *r, uint32_t kind, uint32_t id)
{
	for (size_t i = 0; r && i < MK_SECRETS; i++)
		if (r->secrets[i].used && r->secrets[i].kind == kind && r->secrets[i].id == id)
			return &r->secrets[i];
	return NULL;
}

static int mk_secret_get(void *ctx, const char *room, uint32_t kind, uint32_t id, uint8_t *out,
			 size_t cap, size_t *len)
{
	struct mk_secret *s = secret_of(room_of(ctx, room, 0), kind, id);

	if (!s)
		return COVE_ERR_NOTFOUND;
	*len = s->len;
	if (cap < s->len)
		return COVE_ERR_SPACE;
	memcpy(out, s->s, s->len);
	return COVE_OK;
}

static int mk_secret_put(void *ctx, const char *room, uint32_t kind, uint32_t id,
			 const uint8_t *secret, size_t len)
{
	struct mk_room *r = room_of(ctx, room, 1);
	struct mk_secret *s = secret_of(r, kind, id);

	if (!r || len > MK_SECRET_MAX)
		return COVE_ERR_LIMIT;
	for (size_t i = 0; !s && i < MK_SECRETS; i++)
		if (!r->secrets[i].used)
			s = &r->secrets[i];
	if (!s)
		return COVE_ERR_LIMIT;
	s->used = 1;
	s->kind = kind;
	s->id = id;
	memcpy(s->s, secret, len);
	s->len = len;
	return COVE_OK;
}

static int mk_secret_del(void *ctx, const char *room, uint32_t kind, uint32_t id)
{
	struct mk_secret *s = secret_of(room_of(ctx, room, 0), kind, id);

	if (!s)
		return COVE_ERR_NOTFOUND;
	memset(s, 0, sizeof(*s));
	return COVE_OK;
}

static int mk_cursor_get(void *ctx, const char *room, uint64_t *rseq, uint64_t *rdat)
{
	struct mk_room *r = room_of(ctx, room, 0);

	if (!r)
		return COVE_ERR_NOTFOUND;
	*rseq = r->rseq;
	*rdat = r->rdat;
	return COVE_OK;
}

static int mk_cursor_set(void *ctx, const char *room, uint64_t rseq, uint64_t rdat)
{
	struct mk_room *r = room_of(ctx, room, 1);

	if (!r)
		return COVE_ERR_LIMIT;
	r->rseq = rseq;
	r->rdat = rdat;
	return COVE_OK;
}

struct cove_chat_persist bn_memkeep_persist(struct bn_memkeep *k)
{
	struct cove_chat_persist p = { 0 };

	p.forget = mk_forget;
	p.state_get = mk_state_get;
	p.state_put = mk_state_put;
	p.secret_get = mk_secret_get;
	p.secret_put = mk_secret_put;
	p.secret_del = mk_secret_del;
	p.cursor_get = mk_cursor_get;
	p.cursor_set = mk_cursor_set;
	p.ctx = k;
	return p;
}
