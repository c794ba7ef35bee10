/*
 * mem_persist.h - the chat core's persistence table kept in memory, as
 * the node keeps it in its history file (node/keep.c): what the core
 * hands over outlives the core, so a test can stop alice's core and
 * start another on the same memory, as a restart would.
 */
#ifndef COVE_TESTS_UNIT_MEM_PERSIST_H
#define COVE_TESTS_UNIT_MEM_PERSIST_H

#include <string.h>

#include "chat/chat.h"
#include "common/err.h"

#define MEM_MSGS 256

struct mem_msg {
	uint8_t from[COVE_ID_LEN];
	uint8_t sid[COVE_SID_LEN];
	uint64_t n, ts, rseq;
	char text[64];
};

static struct {
	struct mem_msg msgs[MEM_MSGS];
	size_t nmsgs;
	size_t refused;             /* messages handed over again (COVE_ERR_EXISTS) */
	char forgot[64];            /* the last room forgotten */
	/* the core's state, secrets and cursor (tests use one room) */
	uint8_t state[1 << 16];
	size_t state_len;
	int have_state;
	struct { uint32_t kind, id; uint8_t s[64]; size_t len; int used; } secrets[32];
	uint64_t rseq, rdat;
} mem;

static inline int mem_state_get(void *ctx, const char *room, uint8_t *out, size_t cap,
				size_t *len)
{
	(void)ctx, (void)room;
	if (!mem.have_state)
		return COVE_ERR_NOTFOUND;
	*len = mem.state_len;
	if (cap < mem.state_len)
		return COVE_ERR_SPACE;
	memcpy(out, mem.state, mem.state_len);
	return COVE_OK;
}

static inline int mem_state_put(void *ctx, const char *room, const uint8_t *st, size_t len)
{
	(void)ctx, (void)room;
	if (len > sizeof(mem.state))
		return COVE_ERR_FULL;
	memcpy(mem.state, st, len);
	mem.state_len = len;
	mem.have_state = 1;
	return COVE_OK;
}

static inline int mem_secret_find(uint32_t kind, uint32_t id)
{
	for (int i = 0; i < 32; i++)
		if (mem.secrets[i].used && mem.secrets[i].kind == kind && mem.secrets[i].id == id)
			return i;
	return -1;
}

static inline int mem_secret_get(void *ctx, const char *room, uint32_t kind, uint32_t id,
				 uint8_t *out, size_t cap, size_t *len)
{
	int i = mem_secret_find(kind, id);

	(void)ctx, (void)room;
	if (i < 0)
		return COVE_ERR_NOTFOUND;
	*len = mem.secrets[i].len;
	if (cap < *len)
		return COVE_ERR_SPACE;
	memcpy(out, mem.secrets[i].s, *len);
	return COVE_OK;
}

static inline int mem_secret_put(void *ctx, const char *room, uint32_t kind, uint32_t id,
				 const uint8_t *secret, size_t len)
{
	int i = mem_secret_find(kind, id);

	(void)ctx, (void)room;
	for (int k = 0; i < 0 && k < 32; k++)
		if (!mem.secrets[k].used)
			i = k;
	if (i < 0 || len > sizeof(mem.secrets[0].s))
		return COVE_ERR_FULL;
	mem.secrets[i].used = 1;
	mem.secrets[i].kind = kind;
	mem.secrets[i].id = id;
	memcpy(mem.secrets[i].s, secret, len);
	mem.secrets[i].len = len;
	return COVE_OK;
}

static inline int mem_secret_del(void *ctx, const char *room, uint32_t kind, uint32_t id)
{
	int i = mem_secret_find(kind, id);

	(void)ctx, (void)room;
	if (i < 0)
		return COVE_ERR_NOTFOUND;
	sodium_memzero(&mem.secrets[i], sizeof(mem.secrets[i]));
	return COVE_OK;
}

/* Whether the table holds the membership secret whose public half is xpk. */
static inline int mem_has_membership(const uint8_t xpk[COVE_XPK_LEN])
{
	for (int i = 0; i < 32; i++) {
		uint8_t pk[32];

		if (!mem.secrets[i].used || mem.secrets[i].kind != COVE_CHAT_SECRET_MEMBERSHIP)
			continue;
		crypto_scalarmult_base(pk, mem.secrets[i].s);
		if (memcmp(pk, xpk, 32) == 0)
			return 1;
	}
	return 0;
}

static inline int mem_cursor_get(void *ctx, const char *room, uint64_t *rseq, uint64_t *rdat)
{
	(void)ctx, (void)room;
	*rseq = mem.rseq;
	*rdat = mem.rdat;
	return COVE_OK;
}

static inline int mem_cursor_set(void *ctx, const char *room, uint64_t rseq, uint64_t rdat)
{
	(void)ctx, (void)room;
	mem.rseq = rseq;
	mem.rdat = rdat;
	return COVE_OK;
}

static inline void mem_forget(void *ctx, const char *room)
{
	(void)ctx;
	snprintf(mem.forgot, sizeof(mem.forgot), "%s", room);
}

static inline int mem_message(void *ctx, const struct cove_chat_msg *m)
{
	struct mem_msg *k;

	(void)ctx;
	for (size_t i = 0; i < mem.nmsgs; i++) {
		k = &mem.msgs[i];
		if (memcmp(k->from, m->from, COVE_ID_LEN) == 0 &&
		    memcmp(k->sid, m->sid, COVE_SID_LEN) == 0 && k->n == m->n) {
			mem.refused++;
			return COVE_ERR_EXISTS;
		}
	}
	if (mem.nmsgs == MEM_MSGS)
		return COVE_ERR_FULL;
	k = &mem.msgs[mem.nmsgs++];
	memcpy(k->from, m->from, COVE_ID_LEN);
	memcpy(k->sid, m->sid, COVE_SID_LEN);
	k->n = m->n;
	k->ts = m->ts_ms;
	k->rseq = m->rseq;
	snprintf(k->text, sizeof(k->text), "%.*s", (int)m->len, m->text);
	return COVE_OK;
}

/* Gives the cores alice starts from now on the table in memory. */
static inline void mem_persist_on(void)
{
	memset(&mem, 0, sizeof(mem));
	w.persist.message = mem_message;
	w.persist.forget = mem_forget;
	w.persist.state_get = mem_state_get;
	w.persist.state_put = mem_state_put;
	w.persist.secret_get = mem_secret_get;
	w.persist.secret_put = mem_secret_put;
	w.persist.secret_del = mem_secret_del;
	w.persist.cursor_get = mem_cursor_get;
	w.persist.cursor_set = mem_cursor_set;
	w.persist.ctx = NULL;
}

#endif
