/*
 * persist.c - what a room keeps across restarts, through the core's
 * persistence table (chat.h): the members it knows (their newest INI,
 * who left, who held which epoch by our evidence), the group key of the
 * epoch it holds, the secret of its membership key, the relay cursor.
 *
 * The state is a small versioned record of our own making; the table
 * keeps it opaque (encrypted, in cove-node's history file). Secrets go
 * to the table on their own, never inside the state, so that the one a
 * catch-up used can be deleted alone. Each membership secret is kept
 * under a new id BEFORE the INI announcing its public half goes: a KEY
 * sealed to a key we announced must always find its secret, whatever
 * happens to the process next.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "chat/room.h"
#include "common/err.h"

#define STATE_MAGIC "CVS1"
/* Version 2 adds a second away key, the group key kept from before the
 * current one, whether the current one is tainted (and by whom), and each
 * member's message numbers (its session, the highest number and the
 * window of those seen), so that what is missing after a restart is
 * still a gap; version 1 (unreleased builds) still reads. */
/* Version 3 adds the room's epoch credit (PROTOCOL.md 5.2: how far the
 * next key may skip; the time at which it was zero); one of version 2
 * reads with a fresh credit. */
#define STATE_VERSION 3u
#define STATE_HEAD_V1 (4 + 4 + 4 + 4 + 1 + 4 + 4 + 1 + 4)
#define STATE_HEAD_V2 (STATE_HEAD_V1 + 4 + 1 + 4 + 1 + STATE_WHO)
#define STATE_HEAD (STATE_HEAD_V2 + 8)
#define STATE_WHO (COVE_NAME_MAX + 1)
#define STATE_MEMBER_V1 (32 + 32 + 8 + 8 + 1 + 32 + 8 + 4 + 8)
#define STATE_NUMBERS (1 + COVE_SID_LEN + 8 + COVE_CHAT_WINDOW / 8)
#define STATE_MEMBER (STATE_MEMBER_V1 + STATE_NUMBERS)
#define STATE_MAX_MEMBERS 4096

/* member flags */
#define MF_LEFT 1
#define MF_GONE 2
#define MF_HELD 4
#define MF_EXPOSED 8

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--)
		*p++ = (uint8_t)(v >> (8 * i));
	return p;
}

static uint32_t get32(const uint8_t **p)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = v << 8 | *(*p)++;
	return v;
}

static uint64_t get64(const uint8_t **p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | *(*p)++;
	return v;
}

static int on(const struct cove_chat *c)
{
	return c->deps.persist.state_put != NULL;
}

void persist_save(struct cove_chat *c, struct room *r)
{
	size_t n = 0, len;
	uint8_t *buf, *p;

	r->state_dirty = 0;
	r->numbers_dirty = 0;
	r->numbers_saved_ms = c->deps.now_ms();
	if (!on(c))
		return;
	for (size_t i = 0; i < r->nmembers; i++)
		n += memcmp(r->members[i].pk, c->id->pk, COVE_ID_LEN) != 0;
	if (n > STATE_MAX_MEMBERS)
		n = STATE_MAX_MEMBERS;
	len = STATE_HEAD + n * STATE_MEMBER;
	buf = malloc(len);
	if (!buf)
		return;
	p = buf;
	memcpy(p, STATE_MAGIC, 4);
	p = put32(p + 4, STATE_VERSION);
	p = put32(p, r->mkey_id);
	p = put32(p, r->away_id[0]);
	*p++ = (uint8_t)r->ever_keyed;
	p = put32(p, r->epoch);
	p = put32(p, r->top_epoch);
	*p++ = r->gk != NULL;
	p = put32(p, (uint32_t)n);
	p = put32(p, r->away_id[1]);
	*p++ = (uint8_t)r->gk_prev_kept;
	p = put32(p, r->gk_prev_epoch);
	*p++ = (uint8_t)(r->tainted && r->gk);
	memset(p, 0, STATE_WHO);
	memcpy(p, r->taint_who, strnlen(r->taint_who, STATE_WHO - 1));
	p += STATE_WHO;
	p = put64(p, r->credit_ms);
	for (size_t i = 0, k = 0; i < r->nmembers && k < n; i++) {
		const struct member *m = &r->members[i];

		if (memcmp(m->pk, c->id->pk, COVE_ID_LEN) == 0)
			continue;
		memcpy(p, m->pk, 32);
		memcpy(p + 32, m->xpk, 32);
		p = put64(p + 64, m->ini_seq);
		p = put64(p, m->ini_ts);
		*p++ = (uint8_t)((m->left ? MF_LEFT : 0) | (m->reported_gone ? MF_GONE : 0) |
				 (m->held ? MF_HELD : 0) | (m->exposed ? MF_EXPOSED : 0));
		memcpy(p, m->left_xpk, 32);
		p = put64(p + 32, m->reported_gone_ini);
		p = put32(p, m->held_epoch);
		p = put64(p, m->member_since_ms);
		*p++ = (uint8_t)m->have_sid;
		memcpy(p, m->sid, COVE_SID_LEN);
		p = put64(p + COVE_SID_LEN, m->high);
		for (size_t w = 0; w < COVE_CHAT_WINDOW / 64; w++)
			p = put64(p, m->seen[w]);
		k++;
	}
	c->deps.persist.state_put(c->deps.persist.ctx, r->name, buf, len);
	sodium_memzero(buf, len);
	free(buf);
}

static struct cove_xkp *xkp_of(struct cove_chat *c, struct room *r, uint32_t id)
{
	struct cove_xkp *kp;
	size_t len = 0;

	if (!id || !c->deps.persist.secret_get)
		return NULL;
	kp = cove_xkp_new();
	if (!kp)
		return NULL;
	if (c->deps.persist.secret_get(c->deps.persist.ctx, r->name, COVE_CHAT_SECRET_MEMBERSHIP,
				       id, kp->sk, sizeof(kp->sk), &len) != COVE_OK ||
	    len != sizeof(kp->sk) || crypto_scalarmult_base(kp->pk, kp->sk) != 0) {
		cove_xkp_free(kp);
		return NULL;
	}
	return kp;
}

/* The group key of epoch kept in the table, in *out (NULL when there is
 * none) with its key id in kid. Returns 0 or COVE_ERR_NOMEM. */
static int gk_of(struct cove_chat *c, struct room *r, uint32_t epoch, uint8_t **out,
		 uint8_t kid[COVE_KID_LEN])
{
	uint8_t *gk;
	size_t len = 0;

	*out = NULL;
	if (!c->deps.persist.secret_get)
		return COVE_OK;
	gk = cove_gk_alloc();
	if (!gk)
		return COVE_ERR_NOMEM;
	if (c->deps.persist.secret_get(c->deps.persist.ctx, r->name, COVE_CHAT_SECRET_GROUP, epoch,
				       gk, COVE_GK_LEN, &len) != COVE_OK || len != COVE_GK_LEN) {
		cove_gk_free(gk);
		return COVE_OK;
	}
	cove_gk_kid(kid, gk, epoch);
	*out = gk;
	return COVE_OK;
}

static int parse(struct cove_chat *c, struct room *r, const uint8_t *buf, size_t len)
{
	const uint8_t *p = buf;
	uint32_t n, version, away, away2 = 0, prev = 0;
	int has_gk, has_prev = 0, tainted = 0;
	char taint_who[STATE_WHO] = "";
	size_t head, member;

	if (len < STATE_HEAD_V1 || memcmp(p, STATE_MAGIC, 4) != 0)
		return COVE_ERR_STORE_FORMAT;
	p += 4;
	version = get32(&p);
	if (version < 1 || version > STATE_VERSION)
		return COVE_ERR_VERSION;
	head = version == 1 ? STATE_HEAD_V1 : version == 2 ? STATE_HEAD_V2 : STATE_HEAD;
	member = version == 1 ? STATE_MEMBER_V1 : STATE_MEMBER;
	if (len < head)
		return COVE_ERR_STORE_FORMAT;
	r->mkey_id = get32(&p);
	away = get32(&p);
	r->ever_keyed = *p++ != 0;
	r->epoch = get32(&p);
	r->top_epoch = get32(&p);
	has_gk = *p++ != 0;
	n = get32(&p);
	if (version >= 2) {
		away2 = get32(&p);
		has_prev = *p++ != 0;
		prev = get32(&p);
		tainted = *p++ != 0;
		memcpy(taint_who, p, STATE_WHO - 1);
		p += STATE_WHO;
	}
	r->credit_ms = version >= 3 ? get64(&p) : room_credit_start(c->deps.now_ms());
	if (n > STATE_MAX_MEMBERS || len != head + (size_t)n * member)
		return COVE_ERR_STORE_FORMAT;
	for (uint32_t i = 0; i < n; i++) {
		char name[64];
		struct member *m;
		uint8_t flags;

		m = room_member_add(r, p, room_who(c, p, name, sizeof(name)));
		if (!m)
			return COVE_ERR_NOMEM;
		memcpy(m->xpk, p + 32, 32);
		p += 64;
		m->ini_seq = get64(&p);
		m->ini_ts = get64(&p);
		flags = *p++;
		m->left = !!(flags & MF_LEFT);
		m->reported_gone = !!(flags & MF_GONE);
		m->held = !!(flags & MF_HELD);
		/* it may hold the key we come back with: who left since, the
		 * backlog tells, and that taints it */
		m->exposed = !!(flags & MF_EXPOSED);
		memcpy(m->left_xpk, p, 32);
		p += 32;
		m->reported_gone_ini = get64(&p);
		m->held_epoch = get32(&p);
		m->member_since_ms = get64(&p);
		m->away = 1; /* until the relay says otherwise */
		if (version >= 2) {
			m->have_sid = *p++ != 0;
			memcpy(m->sid, p, COVE_SID_LEN);
			p += COVE_SID_LEN;
			m->high = get64(&p);
			for (size_t w = 0; w < COVE_CHAT_WINDOW / 64; w++)
				m->seen[w] = get64(&p);
		}
		/* One that may hold our key and left, or that we no longer
		 * trust, taints it, whatever the flag kept says. */
		if (m->exposed && !tainted &&
		    (m->left || m->reported_gone || !cove_wl_find_pk(c->wl, m->pk))) {
			tainted = 1;
			snprintf(taint_who, sizeof(taint_who), "%s", m->name);
		}
	}
	if (has_gk && gk_of(c, r, r->epoch, &r->gk, r->kid) != COVE_OK)
		return COVE_ERR_NOMEM;
	if (r->gk) {
		/* its schedule starts again: how old it is was not kept */
		room_rekey_schedule(c, r, c->deps.now_ms());
		/* the key it replaced, while DATs under it may still come */
		if (has_prev && prev != r->epoch) {
			if (gk_of(c, r, prev, &r->old_gk, r->old_kid) != COVE_OK)
				return COVE_ERR_NOMEM;
			r->old_epoch = prev;
			r->old_until_ms = c->deps.now_ms() + COVE_CHAT_OLD_EPOCH_MS;
		}
	}
	if (r->gk && tainted) {
		/* A tainted key stays so across a restart: nothing is sent
		 * under it, and a new one is asked for once the catch-up ends. */
		r->tainted = 1;
		memcpy(r->taint_kids[0], r->kid, COVE_KID_LEN);
		r->ntaint_kids = 1;
		snprintf(r->taint_who, sizeof(r->taint_who), "%s", taint_who);
		r->taint_why = "made the key unsafe before the node restarted";
		r->taint_ms = c->deps.now_ms();
	}
	r->gk_prev_kept = has_prev && r->old_gk;
	r->gk_prev_epoch = r->gk_prev_kept ? prev : 0;
	/* The secret of our last membership key opens what was sealed to it
	 * while we were away; those of catch-ups cut short did not delete,
	 * too (the newest of them). */
	r->away_xkp[0] = xkp_of(c, r, r->mkey_id);
	r->away_id[0] = r->away_xkp[0] ? r->mkey_id : 0;
	if (!away || away == r->mkey_id)
		away = away2;
	if (away && away != r->mkey_id) {
		r->away_xkp[1] = xkp_of(c, r, away);
		r->away_id[1] = r->away_xkp[1] ? away : 0;
	}
	if (away2 && away2 != r->away_id[0] && away2 != r->away_id[1] &&
	    c->deps.persist.secret_del)
		c->deps.persist.secret_del(c->deps.persist.ctx, r->name,
					   COVE_CHAT_SECRET_MEMBERSHIP, away2);
	return COVE_OK;
}

int persist_load(struct cove_chat *c, struct room *r)
{
	uint8_t *buf;
	size_t len = 0;
	int ret;

	if (!on(c) || !c->deps.persist.state_get)
		return COVE_OK;
	if (c->deps.persist.cursor_get)
		c->deps.persist.cursor_get(c->deps.persist.ctx, r->name, &r->rseq, &r->rdat);
	ret = c->deps.persist.state_get(c->deps.persist.ctx, r->name, NULL, 0, &len);
	if (ret != COVE_OK && ret != COVE_ERR_SPACE)
		return COVE_OK; /* nothing kept: a room new to us */
	if (len == 0)
		return COVE_OK;
	buf = malloc(len);
	if (!buf)
		return COVE_ERR_NOMEM;
	ret = c->deps.persist.state_get(c->deps.persist.ctx, r->name, buf, len, &len);
	if (ret == COVE_OK)
		ret = parse(c, r, buf, len);
	sodium_memzero(buf, len);
	free(buf);
	if (ret == COVE_ERR_NOMEM)
		return ret;
	if (ret != COVE_OK) {
		room_say(c, r, "bad_state", 0, "the state kept for room %s does not read (%s); "
			 "joining it as a new member", r->name, cove_strerror(ret));
		for (size_t i = 0; i < r->nmembers; i++)
			free(r->members[i].gaps);
		free(r->members);
		r->members = NULL;
		r->nmembers = 0;
		cove_gk_free(r->gk);
		r->gk = NULL;
		r->ever_keyed = 0;
		r->epoch = r->top_epoch = 0;
		r->rseq = r->rdat = 0;
		return COVE_OK;
	}
	r->has_state = 1;
	return COVE_OK;
}

int persist_mkey(struct cove_chat *c, struct room *r, const struct cove_xkp *kp)
{
	uint32_t old = r->mkey_id;
	int ret;

	if (!on(c) || !c->deps.persist.secret_put)
		return COVE_OK;
	r->mkey_id = old + 1 ? old + 1 : 1;
	ret = c->deps.persist.secret_put(c->deps.persist.ctx, r->name,
					 COVE_CHAT_SECRET_MEMBERSHIP, r->mkey_id, kp->sk,
					 sizeof(kp->sk));
	if (ret != COVE_OK) {
		r->mkey_id = old;
		return ret;
	}
	persist_save(c, r);
	/* The pair it replaces opens nothing stored any more, unless it is an
	 * away key, which the catch-up deletes once used. */
	if (old && old != r->away_id[0] && old != r->away_id[1] && c->deps.persist.secret_del)
		c->deps.persist.secret_del(c->deps.persist.ctx, r->name,
					   COVE_CHAT_SECRET_MEMBERSHIP, old);
	return COVE_OK;
}

static void gk_del(struct cove_chat *c, struct room *r, uint32_t epoch)
{
	if (c->deps.persist.secret_del)
		c->deps.persist.secret_del(c->deps.persist.ctx, r->name, COVE_CHAT_SECRET_GROUP,
					   epoch);
}

void persist_gk(struct cove_chat *c, struct room *r)
{
	if (!r->gk || !c->deps.persist.secret_put)
		return;
	c->deps.persist.secret_put(c->deps.persist.ctx, r->name, COVE_CHAT_SECRET_GROUP, r->epoch,
				   r->gk, COVE_GK_LEN);
	/* Whatever the epochs skipped, the table holds at most two keys: this
	 * one, and the one it replaced while DATs under that may still come
	 * (a crash in those seconds must not cost the backlog its key). */
	if (r->gk_prev_kept && r->gk_prev_epoch != r->epoch &&
	    !(r->old_gk && r->gk_prev_epoch == r->old_epoch))
		gk_del(c, r, r->gk_prev_epoch);
	r->gk_prev_kept = r->old_gk && r->old_epoch != r->epoch;
	r->gk_prev_epoch = r->gk_prev_kept ? r->old_epoch : 0;
	r->state_dirty = 1;
}

void persist_gk_drop_prev(struct cove_chat *c, struct room *r)
{
	if (!r->gk_prev_kept)
		return;
	if (r->gk_prev_epoch != r->epoch)
		gk_del(c, r, r->gk_prev_epoch);
	r->gk_prev_kept = 0;
	r->gk_prev_epoch = 0;
	r->state_dirty = 1;
}

void persist_keep_away(struct cove_chat *c, struct room *r)
{
	if (!r->xkp)
		return;
	if (r->away_xkp[1]) {
		cove_xkp_free(r->away_xkp[1]);
		if (r->away_id[1] && r->away_id[1] != r->mkey_id && c->deps.persist.secret_del)
			c->deps.persist.secret_del(c->deps.persist.ctx, r->name,
						   COVE_CHAT_SECRET_MEMBERSHIP, r->away_id[1]);
	}
	r->away_xkp[1] = r->away_xkp[0];
	r->away_id[1] = r->away_id[0];
	r->away_xkp[0] = r->xkp;
	r->away_id[0] = r->mkey_id;
	r->xkp = NULL;
	r->state_dirty = 1;
}

void persist_drop_away(struct cove_chat *c, struct room *r)
{
	for (int i = 0; i < 2; i++) {
		cove_xkp_free(r->away_xkp[i]);
		r->away_xkp[i] = NULL;
		if (r->away_id[i] && r->away_id[i] != r->mkey_id && c->deps.persist.secret_del)
			c->deps.persist.secret_del(c->deps.persist.ctx, r->name,
						   COVE_CHAT_SECRET_MEMBERSHIP, r->away_id[i]);
		r->away_id[i] = 0;
	}
	r->state_dirty = 1;
}

void persist_cursor(struct cove_chat *c, struct room *r, uint64_t rseq, uint64_t rdat)
{
	if (rseq <= r->rseq)
		return;
	persist_cursor_reset(c, r, rseq, rdat);
}

void persist_cursor_reset(struct cove_chat *c, struct room *r, uint64_t rseq, uint64_t rdat)
{
	r->rseq = rseq;
	r->rdat = rdat;
	if (c->deps.persist.cursor_set)
		c->deps.persist.cursor_set(c->deps.persist.ctx, r->name, rseq, rdat);
}
