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
} mem;

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
	w.persist.ctx = NULL;
}

#endif
