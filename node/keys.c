/*
 * keys.c - a room's group keys and epochs, seen from a member.
 *
 *   first    the relay says we are first: we make the room's key.
 *   KEY      a member we trust gives us the key, sealed to our session
 *            key: while joining, any epoch; once in, only a newer epoch
 *            (a rekey). The same epoch with another key is a fork, said
 *            loudly; an older epoch is a late answer, ignored.
 *   ASK      the relay asks us to give a joiner (or a member behind after
 *            a rekey) the key: only to one on our whitelist, and only
 *            sealed to a session key it signed.
 *   REK      the relay names us to make the next epoch: we confirm it
 *            (RDY) and seal it to every member present that we trust.
 *
 * After a change of key the previous one still opens DATs for
 * ND_OLD_EPOCH_MS, since some were in flight. We ask for a rekey (RKY) on
 * a schedule, after ND_REKEY_MESSAGES of our messages under one key, when
 * someone present leaves our whitelist, and when the user asks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "node/core_int.h"
#include "proto/msg.h"

/* Our own rekey requests are at most this frequent (the user's are not
 * limited). */
#define RKY_MIN_MS 5000u

const uint8_t *nd_keys_for(struct room *r, uint32_t epoch, const uint8_t **kid)
{
	if (r->gk && epoch == r->epoch) {
		*kid = r->kid;
		return r->gk;
	}
	if (r->old_gk && epoch == r->old_epoch) {
		*kid = r->old_kid;
		return r->old_gk;
	}
	return NULL;
}

static void drop_old(struct room *r)
{
	cove_gk_free(r->old_gk);
	r->old_gk = NULL;
}

void nd_keys_wipe(struct room *r)
{
	cove_gk_free(r->gk);
	r->gk = NULL;
	drop_old(r);
}

#ifdef COVE_TEST_KEYLOG
/* Test builds only (build/tests/cove-node-keylog): every group key this
 * node takes, written to the file COVE_TEST_KEYLOG names, so a test can
 * show what a removed member's last key can and cannot open. */
static void keylog(const struct room *r)
{
	const char *path = getenv("COVE_TEST_KEYLOG");
	FILE *f = path ? fopen(path, "a") : NULL;

	if (!f)
		return;
	fprintf(f, "%s %u ", r->name, r->epoch);
	for (size_t i = 0; i < COVE_GK_LEN; i++)
		fprintf(f, "%02x", r->gk[i]);
	fprintf(f, "\n");
	fclose(f);
}
#else
static void keylog(const struct room *r)
{
	(void)r;
}
#endif

/* Makes gk (ownership taken) the room's key for epoch; the previous key
 * stays readable for a while. */
static void set_key(struct nd_core *c, struct room *r, uint8_t *gk, uint32_t epoch)
{
	uint64_t now = c->deps.now_ms();
	uint32_t jitter;

	drop_old(r);
	if (r->gk) {
		r->old_gk = r->gk;
		r->old_epoch = r->epoch;
		memcpy(r->old_kid, r->kid, COVE_KID_LEN);
		r->old_until_ms = now + ND_OLD_EPOCH_MS;
	}
	r->gk = gk;
	r->epoch = epoch;
	cove_gk_kid(r->kid, gk, epoch);
	if (!r->ever_keyed || epoch > r->top_epoch)
		r->top_epoch = epoch;
	r->ever_keyed = 1;
	r->epoch_start_ms = now;
	r->epoch_msgs = 0;
	keylog(r);
	/* spread the members' schedules so they do not all ask at once */
	jitter = randombytes_uniform(c->opts.rekey_interval_s * 100u + 1);
	r->rekey_due_ms = now + (uint64_t)c->opts.rekey_interval_s * 1000 + jitter;
}

static int send_rdy(struct nd_core *c, struct room *r, uint64_t *seq)
{
	struct cove_frame f;
	int ret;

	cove_msg_init(&f, COVE_F_RDY, r->name, r->name_len, c->id->pk, nd_next_seq(c),
		      c->deps.now_ms());
	f.u.rdy.epoch = r->epoch;
	ret = cove_msg_sign(&f, c->id);
	if (ret == COVE_OK)
		ret = c->deps.send(c->deps.send_ctx, &f);
	if (ret != COVE_OK)
		nd_say(c, r, "send_failed", 0, "cannot confirm the key of room %s: %s", r->name,
		       cove_strerror(ret));
	else if (seq)
		*seq = f.seq;
	return ret;
}

/* The hash of who we count as in the room (us, and the present members
 * we trust) at epoch, as KEY carries it. */
static void our_view(struct nd_core *c, struct room *r, uint32_t epoch,
		     uint8_t view[COVE_VIEW_LEN], size_t *count)
{
	uint8_t (*ids)[32] = malloc((r->nmembers + 1) * sizeof(*ids));
	size_t n = 0;

	if (!ids) {
		memset(view, 0, COVE_VIEW_LEN);
		*count = 0;
		return;
	}
	memcpy(ids[n++], c->id->pk, 32);
	for (size_t i = 0; i < r->nmembers; i++)
		if (r->members[i].present && cove_wl_find_pk(c->wl, r->members[i].pk))
			memcpy(ids[n++], r->members[i].pk, 32);
	cove_view_hash(view, epoch, ids, n);
	*count = n;
	free(ids);
}

int nd_keys_first(struct nd_core *c, struct room *r, const struct cove_frame *f)
{
	uint8_t *gk;

	if (r->st != R_JOINING || !r->xkp ||
	    memcmp(f->u.ini.xpk, r->xkp->pk, COVE_XPK_LEN) != 0)
		return COVE_OK; /* not about our current join: stale, ignore */
	gk = cove_gk_new();
	if (!gk)
		return COVE_ERR_NOMEM;
	/* A new group: a fresh key, numbered above any we have seen here. */
	set_key(c, r, gk, r->ever_keyed ? r->top_epoch + 1 : 0);
	send_rdy(c, r, NULL);
	nd_room_ready(c, r, 1);
	nd_track_held(c, r, c->deps.now_ms(), 1);
	return COVE_OK;
}

int nd_keys_key(struct nd_core *c, struct room *r, const struct cove_frame *f)
{
	const struct cove_wl_entry *e;
	uint32_t epoch = f->u.key.epoch;
	int joining = r->st == R_JOINING;
	uint8_t *gk;
	char name[64];
	int ret;

	if (memcmp(f->u.key.to, c->id->pk, COVE_ID_LEN) != 0)
		return COVE_OK;
	e = cove_wl_find_pk(c->wl, f->from);
	if (!e) {
		nd_say(c, r, "not_whitelisted", 0,
		       "ignored a key for room %s from %s: not on your whitelist", r->name,
		       nd_who(c, f->from, name, sizeof(name)));
		return COVE_OK;
	}
	if (cove_msg_verify(f) != COVE_OK) {
		nd_say(c, r, "bad_signature", 0, "ignored a key for room %s from %s: bad signature",
		       r->name, e->name);
		return COVE_OK;
	}
	if (!r->xkp || memcmp(f->u.key.xpk, r->xkp->pk, COVE_XPK_LEN) != 0)
		return COVE_OK; /* sealed to a session key of ours that is gone */
	if (!joining && (r->st != R_READY || epoch < r->epoch))
		return COVE_OK; /* a late answer to a join of ours */
	gk = cove_gk_alloc();
	if (!gk)
		return COVE_ERR_NOMEM;
	ret = cove_msg_key_open(f, r->xkp, gk);
	if (ret != COVE_OK) {
		cove_gk_free(gk);
		nd_say(c, r, "bad_key", 0, "the key for room %s from %s does not open", r->name,
		       e->name);
		return COVE_OK;
	}
	if (!joining && epoch == r->epoch) {
		if (sodium_memcmp(gk, r->gk, COVE_GK_LEN) != 0)
			nd_say(c, r, "fork", 0,
			       "room %s has split: %s holds another key for epoch %u than you. "
			       "Members on either side cannot read each other; the rendezvous may "
			       "be dividing the room. Leaving and joining again mends it.",
			       r->name, e->name, epoch);
		cove_gk_free(gk);
		return COVE_OK;
	}
	set_key(c, r, gk, epoch);
	send_rdy(c, r, NULL);
	if (joining) {
		nd_room_ready(c, r, 0);
	} else {
		uint8_t view[COVE_VIEW_LEN];
		size_t n = 0;

		if (c->ui.epoch)
			c->ui.epoch(c->ui.ctx, r->name, epoch, e->name);
		our_view(c, r, epoch, view, &n);
		if (sodium_memcmp(view, f->u.key.view, COVE_VIEW_LEN) != 0)
			nd_say(c, r, "view", 0,
			       "your list of room %s's members (%zu with you) is not the one %s "
			       "sealed epoch %u for; a join or leave may be on its way, but if this "
			       "persists the rendezvous may be showing members different rooms",
			       r->name, n, e->name, epoch);
		if (r->refused_since_ms) {
			nd_track_resend_since(c, r, r->refused_since_ms);
			r->refused_since_ms = 0;
		}
		nd_track_flush(c, r);
	}
	nd_track_held(c, r, c->deps.now_ms(), 1);
	return COVE_OK;
}

/* Seals the room's key to m's session key and sends it. */
static int give_key(struct nd_core *c, struct room *r, const struct member *m,
		    const uint8_t view[COVE_VIEW_LEN])
{
	struct cove_frame k;
	int ret;

	cove_msg_init(&k, COVE_F_KEY, r->name, r->name_len, c->id->pk, nd_next_seq(c),
		      c->deps.now_ms());
	ret = cove_msg_key_seal(&k, m->pk, m->xpk, r->epoch, r->gk, view, c->id);
	if (ret == COVE_OK)
		ret = c->deps.send(c->deps.send_ctx, &k);
	if (ret != COVE_OK)
		nd_say(c, r, "send_failed", 0, "cannot send the key to %s: %s", m->name,
		       cove_strerror(ret));
	return ret;
}

int nd_keys_ask(struct nd_core *c, struct room *r, const struct cove_frame *f)
{
	uint8_t view[COVE_VIEW_LEN];
	struct member *m;
	char name[64];
	size_t n = 0;

	if (memcmp(f->u.ask.to, c->id->pk, COVE_ID_LEN) != 0 || r->st != R_READY)
		return COVE_OK;
	if (!cove_wl_find_pk(c->wl, f->u.ask.joiner)) {
		nd_say(c, r, "refused_key", 0,
		       "refusing to give the key of room %s to %s: not on your whitelist", r->name,
		       nd_who(c, f->u.ask.joiner, name, sizeof(name)));
		return COVE_OK;
	}
	m = nd_member(r, f->u.ask.joiner);
	if (!m || !m->present || memcmp(m->xpk, f->u.ask.xpk, COVE_XPK_LEN) != 0) {
		/* The key may only go to a session key the joiner signed. */
		nd_say(c, r, "refused_key", 0,
		       "not giving the key of room %s to %s: no join signed by it with that "
		       "session key", r->name, nd_who(c, f->u.ask.joiner, name, sizeof(name)));
		return COVE_OK;
	}
	our_view(c, r, r->epoch, view, &n);
	give_key(c, r, m, view);
	return COVE_OK;
}

int nd_keys_rek(struct nd_core *c, struct room *r, const struct cove_frame *f)
{
	uint8_t view[COVE_VIEW_LEN];
	uint32_t epoch = f->u.rek.epoch;
	uint8_t *gk;
	size_t n = 0;

	if (memcmp(f->u.rek.to, c->id->pk, COVE_ID_LEN) != 0 || r->st != R_READY || !r->gk ||
	    epoch <= r->epoch)
		return COVE_OK;
	gk = cove_gk_new();
	if (!gk)
		return COVE_ERR_NOMEM;
	set_key(c, r, gk, epoch);
	/* RDY first: the relay takes our KEYs only once we hold the epoch. */
	send_rdy(c, r, &r->rek_rdy_seq);
	our_view(c, r, epoch, view, &n);
	for (size_t i = 0; i < r->nmembers; i++) {
		const struct member *m = &r->members[i];

		if (m->present && cove_wl_find_pk(c->wl, m->pk))
			give_key(c, r, m, view);
	}
	if (c->ui.epoch)
		c->ui.epoch(c->ui.ctx, r->name, epoch, NULL);
	nd_track_held(c, r, c->deps.now_ms(), 1);
	return COVE_OK;
}

void nd_keys_refused(struct nd_core *c, uint64_t ref)
{
	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];

		if (!ref || r->rek_rdy_seq != ref || !r->old_gk)
			continue;
		/* The relay named someone else for that epoch: our key is not
		 * the room's. Back to the previous one; what we sent meanwhile
		 * goes again once the room's new key reaches us. */
		r->refused_since_ms = r->epoch_start_ms;
		cove_gk_free(r->gk);
		r->gk = r->old_gk;
		r->epoch = r->old_epoch;
		memcpy(r->kid, r->old_kid, COVE_KID_LEN);
		r->old_gk = NULL;
		r->rek_rdy_seq = 0;
	}
}

void nd_keys_request(struct nd_core *c, struct room *r, const char *why)
{
	uint64_t now = c->deps.now_ms();
	struct cove_frame f;

	(void)why;
	if (!c->authed || r->st != R_READY || now - r->last_rky_ms < RKY_MIN_MS)
		return;
	r->last_rky_ms = now;
	cove_msg_init(&f, COVE_F_RKY, r->name, r->name_len, c->id->pk, nd_next_seq(c), now);
	f.u.rdy.epoch = r->epoch;
	if (cove_msg_sign(&f, c->id) == COVE_OK)
		c->deps.send(c->deps.send_ctx, &f);
}

void nd_keys_tick(struct nd_core *c, struct room *r, uint64_t now)
{
	if (r->old_gk && now >= r->old_until_ms)
		drop_old(r);
	if (r->st != R_READY || !c->authed)
		return;
	if (now >= r->rekey_due_ms) {
		nd_keys_request(c, r, "scheduled");
		r->rekey_due_ms = now + RKY_MIN_MS * 2; /* again soon if nothing came of it */
	}
	if (r->epoch_msgs >= c->opts.rekey_messages)
		nd_keys_request(c, r, "message budget");
}
