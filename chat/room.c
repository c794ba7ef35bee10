/*
 * room.c - the chat core's tables (rooms, members, strangers) and what
 * every part of the core needs to act in a room: telling the user,
 * naming a key, numbering a frame, pacing a DAT. It calls no other part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/room.h"
#include "common/err.h"
#include "proto/msg.h"

/* ---- the tables ---------------------------------------------------------- */

struct room *room_find(struct cove_chat *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->nrooms; i++)
		if (c->rooms[i].name_len == len && memcmp(c->rooms[i].name, name, len) == 0)
			return &c->rooms[i];
	return NULL;
}

struct member *room_member(struct room *r, const uint8_t pk[COVE_ID_LEN])
{
	for (size_t i = 0; i < r->nmembers; i++)
		if (memcmp(r->members[i].pk, pk, COVE_ID_LEN) == 0)
			return &r->members[i];
	return NULL;
}

struct member *room_member_add(struct room *r, const uint8_t pk[COVE_ID_LEN], const char *name)
{
	struct member *m = room_member(r, pk), *nm;

	if (m)
		return m;
	nm = realloc(r->members, (r->nmembers + 1) * sizeof(*nm));
	if (!nm)
		return NULL;
	r->members = nm;
	m = &r->members[r->nmembers++];
	memset(m, 0, sizeof(*m));
	memcpy(m->pk, pk, COVE_ID_LEN);
	snprintf(m->name, sizeof(m->name), "%s", name);
	return m;
}

int room_stranger(struct room *r, const uint8_t pk[COVE_ID_LEN], int present)
{
	struct stranger *st;

	for (size_t i = 0; i < r->nstrangers; i++) {
		if (memcmp(r->strangers[i].pk, pk, COVE_ID_LEN) == 0) {
			r->strangers[i].present = present;
			r->strangers[i].exposed |= present;
			return COVE_OK;
		}
	}
	if (!present)
		return COVE_OK;
	st = realloc(r->strangers, (r->nstrangers + 1) * sizeof(*st));
	if (!st)
		return COVE_ERR_NOMEM;
	r->strangers = st;
	st = &r->strangers[r->nstrangers++];
	memcpy(st->pk, pk, COVE_ID_LEN);
	st->present = 1;
	st->exposed = 1;
	return COVE_OK;
}

/* ---- telling the user ------------------------------------------------------ */

void room_say(struct cove_chat *c, const struct room *r, const char *code, int fatal,
	      const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!c->ui.error)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->ui.error(c->ui.ctx, r ? r->name : NULL, code, msg, fatal);
}

void room_note(struct cove_chat *c, const struct room *r, const char *code, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!c->ui.notice)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	c->ui.notice(c->ui.ctx, r ? r->name : NULL, code, msg);
}

int room_gone_keep(struct room *r, const uint8_t *bye, size_t len)
{
	uint8_t *copy;

	if (bye == r->gone_bye)
		return COVE_OK;
	copy = malloc(len);
	if (!copy)
		return COVE_ERR_NOMEM;
	memcpy(copy, bye, len);
	room_gone_clear(r);
	r->gone_bye = copy;
	r->gone_len = len;
	return COVE_OK;
}

void room_gone_clear(struct room *r)
{
	free(r->gone_bye);
	r->gone_bye = NULL;
	r->gone_len = 0;
}

uint64_t room_credit_start(uint64_t now)
{
	uint64_t full = (uint64_t)COVE_EPOCH_STEP_MAX * 1000 / COVE_EPOCH_STEP_PER_S;

	return now > full ? now - full : 0;
}

int room_verify(const struct cove_chat *c, const struct cove_frame *f)
{
	/* Only the object the check was given for: a frame decoded again
	 * later (a DAT that waited for its key) is checked again. */
	if (c->sig_of && f == c->sig_of)
		return c->sig == COVE_CHAT_SIG_GOOD ? COVE_OK : COVE_ERR_SIGNATURE;
	return cove_msg_verify(f);
}

const char *room_who(const struct cove_chat *c, const uint8_t pk[COVE_ID_LEN], char *buf,
		     size_t cap)
{
	const struct cove_wl_entry *e = cove_wl_find_pk(c->wl, pk);
	char fp[COVE_FP_LEN + 1];

	if (e) {
		snprintf(buf, cap, "%s", e->name);
	} else {
		cove_pk_fingerprint(fp, pk);
		snprintf(buf, cap, "key %s", fp);
	}
	return buf;
}

/* ---- numbering and pacing what we send ------------------------------------ */

uint64_t room_seq(struct cove_chat *c)
{
	return ++c->seq;
}

static void pace_fill(struct cove_chat *c, uint64_t now)
{
	double cap = c->burst * COVE_CHAT_PACE_SHARE;

	c->tokens += (double)(now - c->tokens_ms) * c->rate * COVE_CHAT_PACE_SHARE / 1000.0;
	c->tokens_ms = now;
	if (c->tokens > cap)
		c->tokens = cap;
}

int room_pace(struct cove_chat *c, int force)
{
	pace_fill(c, c->deps.now_ms());
	if (c->tokens < 1.0 && !force)
		return 0;
	c->tokens -= 1.0;
	return 1;
}

void room_rekey_schedule(struct cove_chat *c, struct room *r, uint64_t now)
{
	uint32_t jitter = randombytes_uniform(c->opts.rekey_interval_s * 100u + 1);

	r->epoch_start_ms = now;
	r->rekey_due_ms = now + (uint64_t)c->opts.rekey_interval_s * 1000 + jitter;
	r->rekey_sched_ms = r->rekey_due_ms;
	r->sched_warned_ms = 0;
}

void room_pace_limits(struct cove_chat *c, unsigned rate, unsigned burst)
{
	if (rate)
		c->rate = rate;
	if (burst)
		c->burst = burst;
	pace_fill(c, c->deps.now_ms());
}
