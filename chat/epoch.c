/*
 * epoch.c - a room's group keys and epochs, seen from a member.
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
 * COVE_CHAT_OLD_EPOCH_MS, since some were in flight. We ask for a rekey
 * (RKY) on a schedule, after COVE_CHAT_REKEY_MESSAGES of our messages
 * under one key, when someone present leaves our whitelist, and when the
 * user asks.
 *
 * Removal does not rest on the relay: once we know that someone who left,
 * or whom we no longer trust, may hold our current key (it was in the
 * room during the epoch, a KEY's member list may include it, or it sent
 * a DAT under that key), the key is *tainted*: nothing more is encrypted
 * under it, what the user sends waits, and we keep asking for a new
 * epoch and warn if it does not come. Epochs only rise, by bounded steps,
 * and never reach COVE_EPOCH_END, so no member or relay can stop them.
 *
 * What a key frame leads to beyond the key (the room shown ready, the
 * room told whom we gave the key, the messages that waited for it) is
 * the driver's: each handler says it in a struct epoch_done (epoch.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/epoch.h"
#include "common/err.h"
#include "proto/msg.h"

/* Our own rekey requests are at most this frequent (the user's are not
 * limited); while the same one taints key after key, the requests back
 * off to one every TAINT_RKY_MAX_MS. */
#define RKY_MIN_MS 5000u
#define TAINT_RKY_MAX_MS (5u * 60 * 1000)

const uint8_t *epoch_gk(struct room *r, uint32_t epoch, const uint8_t **kid)
{
	if (r->gk && epoch == r->epoch) {
		*kid = r->kid;
		return r->gk;
	}
	if (r->old_gk && epoch == r->old_epoch) {
		*kid = r->old_kid;
		return r->old_gk;
	}
	for (size_t i = 0; i < r->nckeys; i++) {
		if (r->ckeys[i].epoch == epoch) {
			*kid = r->ckeys[i].kid;
			return r->ckeys[i].gk;
		}
	}
	return NULL;
}

static void drop_old(struct cove_chat *c, struct room *r)
{
	persist_gk_drop_prev(c, r);
	/* While catching up, DATs under any epoch we passed through may
	 * still be in the backlog: keep the newest few until its end. */
	if (r->catching_up && r->old_gk) {
		if (r->nckeys == ROOM_CATCHUP_KEYS) {
			cove_gk_free(r->ckeys[0].gk);
			memmove(r->ckeys, r->ckeys + 1, (ROOM_CATCHUP_KEYS - 1) * sizeof(r->ckeys[0]));
			r->nckeys--;
		}
		r->ckeys[r->nckeys].epoch = r->old_epoch;
		r->ckeys[r->nckeys].gk = r->old_gk;
		memcpy(r->ckeys[r->nckeys].kid, r->old_kid, COVE_KID_LEN);
		r->nckeys++;
		r->old_gk = NULL;
		return;
	}
	cove_gk_free(r->old_gk);
	r->old_gk = NULL;
}

void epoch_wipe(struct room *r)
{
	cove_gk_free(r->gk);
	r->gk = NULL;
	cove_gk_free(r->old_gk);
	r->old_gk = NULL;
}

/* A session key of ours (current or the one it replaced) by its public
 * half, or NULL. */
static const struct cove_xkp *session_key(struct room *r, const uint8_t xpk[COVE_XPK_LEN])
{
	if (r->xkp && memcmp(r->xkp->pk, xpk, COVE_XPK_LEN) == 0)
		return r->xkp;
	if (r->old_xkp && memcmp(r->old_xkp->pk, xpk, COVE_XPK_LEN) == 0)
		return r->old_xkp;
	/* membership keys from before we came back: what was sealed to us
	 * while we were away, opened during the catch-up only */
	for (int i = 0; i < 2 && r->catching_up; i++)
		if (r->away_xkp[i] && memcmp(r->away_xkp[i]->pk, xpk, COVE_XPK_LEN) == 0)
			return r->away_xkp[i];
	return NULL;
}

const char *epoch_blocked(const struct cove_chat *c, const struct room *r)
{
	if (!r->gk)
		return "the room has no key in place";
	if (r->tainted)
		return "the room's key is held by someone who left or whom you no longer trust";
	if (r->holders_wait)
		return "the member that gave the room's new key has not said yet whom it gave it to";
	if (r->epoch_msgs >= c->opts.rekey_messages)
		return "the room's key has encrypted as many messages as it may";
	return NULL;
}

void epoch_taint(struct cove_chat *c, struct room *r, const char *who, const char *why,
		 int lasting)
{
	if (r->tainted)
		return;
	r->tainted = 1;
	if (r->gk) {
		/* the newest four: forget the oldest to make room */
		if (r->ntaint_kids == ROOM_TAINT_KIDS) {
			memmove(r->taint_kids, r->taint_kids + 1,
				(ROOM_TAINT_KIDS - 1) * sizeof(r->taint_kids[0]));
			r->ntaint_kids--;
		}
		memcpy(r->taint_kids[r->ntaint_kids++], r->kid, COVE_KID_LEN);
	}
	/* The same one tainting key after key (others keep giving it the key:
	 * trust that is not mutual) gets our requests ever less often. */
	if (lasting && strcmp(r->taint_who, who) == 0 && r->taint_rky_every_ms)
		r->taint_rky_every_ms = r->taint_rky_every_ms * 2 > TAINT_RKY_MAX_MS
						? TAINT_RKY_MAX_MS
						: r->taint_rky_every_ms * 2;
	else
		r->taint_rky_every_ms = RKY_MIN_MS;
	snprintf(r->taint_who, sizeof(r->taint_who), "%s", who);
	r->taint_why = why;
	r->taint_ms = c->deps.now_ms();
	r->taint_warned_ms = 0;
	r->taint_noted = 0;
	if (r->taint_rky_every_ms == RKY_MIN_MS)
		r->last_rky_ms = 0; /* at once, the first time */
	epoch_request(c, r, why);
}

/* Whether we seal keys to m: present, on our whitelist, not gone, and
 * with a session key from a recent INI (an old one may be a departed
 * member's, replayed to us). */
static int sealable(const struct cove_chat *c, const struct member *m, uint64_t now)
{
	return m->present && !m->left && cove_wl_find_pk(c->wl, m->pk) &&
	       m->ini_ts + COVE_CHAT_INI_MAX_AGE_MS >= now &&
	       !(m->reported_gone && m->reported_gone_ini == m->ini_seq);
}

/* Whether we seal a new epoch to m while it is away (design 3): it held
 * the epoch before (prev) by end-to-end evidence (we sealed it that key,
 * it gave us that key, or a member we trust named it in a HOLDERS), has
 * not left since, and is on our whitelist. The relay's word that it is
 * a member adds nothing; its INI may be as old as the relay's member
 * expiry, which is why the evidence replaces the INI's age here. */
static int sealable_away(const struct cove_chat *c, const struct member *m, uint32_t prev)
{
	return !m->present && !m->left && m->held && m->held_epoch == prev &&
	       cove_wl_find_pk(c->wl, m->pk) &&
	       !(m->reported_gone && m->reported_gone_ini == m->ini_seq);
}

/* Someone who may be inside another member's list of recipients although
 * we would never give it the key: present and not on our whitelist, or
 * gone. Returns its name in buf, or NULL. */
static const char *suspect(const struct cove_chat *c, const struct room *r, char *buf,
			   size_t cap, const char **why, int *lasting)
{
	for (size_t i = 0; i < r->nmembers; i++) {
		const struct member *m = &r->members[i];

		if (m->left || m->reported_gone || (m->present && !cove_wl_find_pk(c->wl, m->pk))) {
			*why = m->left || m->reported_gone ? "has left the room"
							   : "is no longer on your whitelist";
			*lasting = !(m->left || m->reported_gone);
			snprintf(buf, cap, "%s", m->name);
			return buf;
		}
	}
	for (size_t i = 0; i < r->nstrangers; i++) {
		if (r->strangers[i].present) {
			*why = "is not on your whitelist";
			*lasting = 1;
			return room_who(c, r->strangers[i].pk, buf, cap);
		}
	}
	return NULL;
}

/* The epoch credit (proto/msg.h): r->credit_ms is the time at which it
 * was zero, so that it is COVE_EPOCH_STEP_PER_S for each second since,
 * at most COVE_EPOCH_CREDIT_DAYS days' worth; each epoch skipped moves
 * that time on by its share of a second. A relay (or a member it names)
 * can thus move us at most 16 epochs a second on the whole, whatever it
 * sends, and a member away for a while can take all the epochs made
 * meanwhile at the pace an honest relay allows (one rekey a second). */
#define CREDIT_CAP_MS ((uint64_t)COVE_EPOCH_CREDIT_DAYS * 86400 * 1000)
#define MS_PER_EPOCH(n) (((uint64_t)(n) * 1000 + COVE_EPOCH_STEP_PER_S - 1) / COVE_EPOCH_STEP_PER_S)

static uint64_t credit_from(uint64_t credit_ms, uint64_t now)
{
	if (now > CREDIT_CAP_MS && credit_ms < now - CREDIT_CAP_MS)
		credit_ms = now - CREDIT_CAP_MS;
	return credit_ms;
}

static uint64_t credit(const struct cove_chat *c, const struct room *r)
{
	uint64_t now = c->deps.now_ms(), from = credit_from(r->credit_ms, now);

	return now > from ? (now - from) * COVE_EPOCH_STEP_PER_S / 1000 : 0;
}

/* Makes gk (ownership taken) the room's key for epoch; the previous key
 * stays readable for a while. */
static void set_key(struct cove_chat *c, struct room *r, uint8_t *gk, uint32_t epoch)
{
	uint64_t now = c->deps.now_ms();

	drop_old(c, r);
	if (r->gk) {
		r->old_gk = r->gk;
		r->old_epoch = r->epoch;
		memcpy(r->old_kid, r->kid, COVE_KID_LEN);
		r->old_until_ms = now + COVE_CHAT_OLD_EPOCH_MS;
	}
	r->gk = gk;
	r->epoch = epoch;
	cove_gk_kid(r->kid, gk, epoch);
	if (!r->ever_keyed) {
		r->credit_ms = room_credit_start(now);
	} else if (epoch > r->top_epoch) {
		/* the epochs skipped come out of the credit (refusal() checked it) */
		r->credit_ms = credit_from(r->credit_ms, now) + MS_PER_EPOCH(epoch - r->top_epoch);
	}
	if (!r->ever_keyed || epoch > r->top_epoch)
		r->top_epoch = epoch;
	r->ever_keyed = 1;
	r->epoch_msgs = 0;
	r->holders_wait = 0; /* the caller waits again for a key it was given */
	r->tainted = 0;
	for (size_t i = 0; i < r->ntaint_kids; i++)
		if (sodium_memcmp(r->taint_kids[i], r->kid, COVE_KID_LEN) == 0)
			r->tainted = 1; /* found tainted before: still is (taint_why kept) */
	/* Who may hold the new key: those present now (the caller narrows
	 * this when it knows the recipients), and whoever joins later. */
	for (size_t i = 0; i < r->nmembers; i++)
		r->members[i].exposed = r->members[i].present;
	for (size_t i = 0; i < r->nstrangers; i++)
		r->strangers[i].exposed = r->strangers[i].present;
	if (c->deps.keylog)
		c->deps.keylog(c->deps.keylog_ctx, r->name, r->epoch, r->gk);
	persist_gk(c, r);
	room_rekey_schedule(c, r, now);
}

static int send_rdy(struct cove_chat *c, struct room *r, uint64_t *seq)
{
	struct cove_frame f;
	int ret;

	/* A key taken from the backlog may be long replaced: the relay
	 * hears which we hold once the catch-up is over (epoch_confirm). */
	if (r->catching_up)
		return COVE_OK;
	cove_msg_init(&f, COVE_F_RDY, r->name, r->name_len, c->id->pk, room_seq(c),
		      c->deps.now_ms());
	f.u.rdy.epoch = r->epoch;
	ret = cove_msg_sign(&f, c->id);
	if (ret == COVE_OK)
		ret = c->deps.send(c->deps.send_ctx, &f);
	if (ret != COVE_OK)
		room_say(c, r, "send_failed", 0, "cannot confirm the key of room %s: %s", r->name,
			 cove_strerror(ret));
	else if (seq)
		*seq = f.seq;
	return ret;
}

/* The hash of who we count as in the room (us, and the present members
 * we trust) at epoch, as KEY carries it. */
static void our_view(struct cove_chat *c, struct room *r, uint32_t epoch,
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
		if (sealable(c, &r->members[i], c->deps.now_ms()))
			memcpy(ids[n++], r->members[i].pk, 32);
	cove_view_hash(view, epoch, ids, n);
	*count = n;
	free(ids);
}

/* Whether a key for epoch may be taken: never COVE_EPOCH_END, never below
 * the highest epoch we held here, and no further above it than our epoch
 * credit; a first key of ours (or one given to us on our first join) at
 * most COVE_EPOCH_FIRST_MAX. Returns NULL or why not. */
static const char *refusal(const struct cove_chat *c, const struct room *r, uint32_t epoch,
			   int rekey)
{
	if (epoch == COVE_EPOCH_END)
		return "it is the last epoch number, which is never used";
	if (!r->ever_keyed)
		return epoch > COVE_EPOCH_FIRST_MAX ? "a first key never takes so high an epoch"
						    : NULL;
	if (rekey ? epoch <= r->top_epoch : epoch < r->top_epoch)
		return "it is older than a key you already held";
	if (epoch - r->top_epoch > credit(c, r))
		return "it skips more epochs than the time since your last keys allows (16 a "
		       "second)";
	return NULL;
}

int epoch_confirm(struct cove_chat *c, struct room *r)
{
	return r->gk ? send_rdy(c, r, NULL) : COVE_OK;
}

int epoch_first(struct cove_chat *c, struct room *r, const struct cove_frame *f,
		struct epoch_done *done)
{
	uint32_t epoch = r->ever_keyed ? r->top_epoch + 1 : 0;
	uint8_t *gk;

	memset(done, 0, sizeof(*done));
	if (r->st != R_JOINING || !r->xkp ||
	    memcmp(f->u.ini.xpk, r->xkp->pk, COVE_XPK_LEN) != 0)
		return COVE_OK; /* not about our current join: stale, ignore */
	if (epoch == COVE_EPOCH_END) {
		room_say(c, r, "epoch_exhausted", 0,
			 "room %s has used every epoch number; leave it and use another room",
			 r->name);
		return COVE_OK;
	}
	gk = cove_gk_new();
	if (!gk)
		return COVE_ERR_NOMEM;
	/* A new group: a fresh key, numbered above any we have seen here. */
	set_key(c, r, gk, epoch);
	for (size_t i = 0; i < r->nstrangers; i++)
		r->strangers[i].exposed = 0; /* only we hold it */
	send_rdy(c, r, NULL);
	done->what = EPOCH_READY;
	done->first = 1;
	return COVE_OK;
}

/* After taking a KEY from sender: if its member list is not ours and
 * someone we would never give the key to may be on it, the key is
 * tainted from the start. */
static void check_view(struct cove_chat *c, struct room *r, const struct cove_frame *f,
		       const char *sender, int joining)
{
	uint8_t view[COVE_VIEW_LEN];
	char name[64];
	int lasting = 0;
	const char *why = NULL;
	size_t n = 0;

	our_view(c, r, f->u.key.epoch, view, &n);
	if (sodium_memcmp(view, f->u.key.view, COVE_VIEW_LEN) == 0) {
		/* The same list as ours: the key went to no one we distrust. */
		for (size_t i = 0; i < r->nstrangers; i++)
			r->strangers[i].exposed = 0;
		return;
	}
	/* From the backlog our list cannot be the sealer's (who was here then
	 * is not who is here now); whom it went to the sealer's HOLDERS says,
	 * end to end, and a departed member named there taints the key. */
	if (r->catching_up)
		return;
	if (suspect(c, r, name, sizeof(name), &why, &lasting)) {
		epoch_taint(c, r, name, why, lasting);
		return;
	}
	if (!joining)
		room_say(c, r, "view", 0,
			 "your list of room %s's members (%zu with you) is not the one %s "
			 "sealed epoch %u for; a join or leave may be on its way, but if this "
			 "persists the rendezvous may be showing members different rooms",
			 r->name, n, sender, f->u.key.epoch);
}

/* Back in a room after a lost link, at a key we held before: whoever was
 * here under it and is not here now may have left while we were away
 * (we saw no BYE), so the key may be held by someone gone. */
static void gone_while_away(struct cove_chat *c, struct room *r)
{
	if (r->catching_up)
		return; /* who left while we were away, the backlog says in order */
	for (size_t i = 0; i < r->nmembers; i++) {
		struct member *m = &r->members[i];

		if (m->exposed && !m->present) {
			epoch_taint(c, r, m->name, "is no longer in the room", 0);
			return;
		}
	}
}

int epoch_key(struct cove_chat *c, struct room *r, const struct cove_frame *f,
	      struct epoch_done *done)
{
	const struct cove_wl_entry *e;
	const struct member *sender;
	const struct cove_xkp *kp;
	uint32_t epoch = f->u.key.epoch;
	int joining = r->st == R_JOINING, rekeyed;
	const char *no;
	uint8_t *gk;
	char name[64];
	int ret;

	memset(done, 0, sizeof(*done));
	if (memcmp(f->u.key.to, c->id->pk, COVE_ID_LEN) != 0)
		return COVE_OK;
	e = cove_wl_find_pk(c->wl, f->from);
	if (!e) {
		room_say(c, r, "not_whitelisted", 0,
			 "ignored a key for room %s from %s: not on your whitelist", r->name,
			 room_who(c, f->from, name, sizeof(name)));
		return COVE_OK;
	}
	if (room_verify(c, f) != COVE_OK) {
		room_say(c, r, "bad_signature", 0,
			 "ignored a key for room %s from %s: bad signature", r->name, e->name);
		return COVE_OK;
	}
	kp = session_key(r, f->u.key.xpk);
	if (!kp)
		return COVE_OK; /* sealed to a session key of ours that is gone */
	/* Only a member in the room gives keys: not one that has left (a KEY
	 * it made before its BYE, delivered late), nor one that never joined. */
	sender = room_member(r, f->from);
	/* From the backlog its sender may be away now: a member all the same. */
	if (!sender || (!sender->present && !r->catching_up) || sender->left) {
		room_say(c, r, "refused_key", 0,
			 "refused a key for room %s from %s: %s", r->name, e->name,
			 sender && sender->left ? "it has left the room" : "it is not in the room");
		return COVE_OK;
	}
	if (!joining && (r->st != R_READY || epoch < r->epoch))
		return COVE_OK; /* a late answer to a join of ours */
	if (!joining && r->gk && epoch == r->epoch) {
		/* Another KEY for the epoch we hold: the same key, or a fork. */
		uint8_t kid[COVE_KID_LEN];

		cove_gk_kid(kid, r->gk, epoch);
		if (sodium_memcmp(kid, f->u.key.kid, COVE_KID_LEN) != 0)
			room_say(c, r, "fork", 0,
				 "room %s has split: %s holds another key for epoch %u than "
				 "you. Members on either side cannot read each other; the "
				 "rendezvous may be dividing the room. Leaving and joining "
				 "again mends it.", r->name, e->name, epoch);
		return COVE_OK;
	}
	no = refusal(c, r, epoch, !joining);
	if (no) {
		room_say(c, r, "bad_epoch", 0,
			 "refused the key of epoch %u for room %s from %s: %s", epoch, r->name,
			 e->name, no);
		return COVE_OK;
	}
	gk = cove_gk_alloc();
	if (!gk)
		return COVE_ERR_NOMEM;
	ret = cove_msg_key_open(f, kp, gk);
	if (ret != COVE_OK) {
		cove_gk_free(gk);
		room_say(c, r, "bad_key", 0,
			 "refused the key for room %s from %s: %s; another member will be asked",
			 r->name, e->name,
			 ret == COVE_ERR_KEY_COMMIT ? "it is not the key it claims to be"
						  : "it does not open");
		return COVE_OK;
	}
	if (joining && r->gk && epoch == r->epoch) {
		/* Back in a room at the epoch we hold: it must be our key, and it
		 * stays as it was (who may hold it, whether it is tainted). */
		cove_gk_free(gk);
		if (sodium_memcmp(r->kid, f->u.key.kid, COVE_KID_LEN) != 0) {
			room_say(c, r, "fork", 0,
				 "room %s has split: %s gave you another key for epoch %u than "
				 "the one you hold; refused", r->name, e->name, epoch);
			return COVE_OK;
		}
		send_rdy(c, r, NULL);
		check_view(c, r, f, e->name, joining);
		gone_while_away(c, r);
		done->what = EPOCH_READY;
		return COVE_OK;
	}
	rekeyed = r->ever_keyed && epoch > r->top_epoch;
	set_key(c, r, gk, epoch);
	send_rdy(c, r, NULL);
	check_view(c, r, f, e->name, joining);
	if (rekeyed) {
		/* a key for an epoch we were not in: see holders_wait */
		r->holders_wait = 1;
		memcpy(r->holders_from, f->from, COVE_ID_LEN);
		r->holders_epoch = epoch;
		r->holders_due_ms = c->deps.now_ms() + COVE_CHAT_HOLDERS_WAIT_MS;
	}
	/* whoever gave it holds it: evidence for sealing to it while away */
	{
		struct member *s = room_member(r, f->from);

		s->held = 1;
		s->held_epoch = epoch;
		r->state_dirty = 1;
	}
	if (joining) {
		done->what = EPOCH_READY;
	} else {
		if (c->ui.epoch)
			c->ui.epoch(c->ui.ctx, r->name, epoch, e->name);
		done->what = EPOCH_NEW;
		done->resend_since_ms = r->refused_since_ms;
		r->refused_since_ms = 0;
	}
	return COVE_OK;
}

/* Seals the room's key to m's session key and sends it. */
static int give_key(struct cove_chat *c, struct room *r, const struct member *m,
		    const uint8_t view[COVE_VIEW_LEN])
{
	struct cove_frame k;
	int ret;

	cove_msg_init(&k, COVE_F_KEY, r->name, r->name_len, c->id->pk, room_seq(c),
		      c->deps.now_ms());
	ret = cove_msg_key_seal(&k, m->pk, m->xpk, r->epoch, r->gk, view, c->id);
	if (ret == COVE_OK)
		ret = c->deps.send(c->deps.send_ctx, &k);
	if (ret != COVE_OK)
		room_say(c, r, "send_failed", 0, "cannot send the key to %s: %s", m->name,
			 cove_strerror(ret));
	return ret;
}

/* We sealed m the current key: it holds it, by our own evidence. */
static void gave(struct room *r, struct member *m)
{
	m->held = 1;
	m->held_epoch = r->epoch;
	m->gave = 1;
	m->gave_away = 0;
	m->gave_epoch = r->epoch;
	r->state_dirty = 1;
}

int epoch_ask(struct cove_chat *c, struct room *r, const struct cove_frame *f,
	      struct epoch_done *done)
{
	uint8_t view[COVE_VIEW_LEN];
	struct member *m;
	char name[64];
	size_t n = 0;

	memset(done, 0, sizeof(*done));
	if (memcmp(f->u.ask.to, c->id->pk, COVE_ID_LEN) != 0 || r->st != R_READY || !r->gk ||
	    r->catching_up)
		return COVE_OK;
	if (!cove_wl_find_pk(c->wl, f->u.ask.joiner)) {
		room_say(c, r, "refused_key", 0,
			 "refusing to give the key of room %s to %s: not on your whitelist",
			 r->name, room_who(c, f->u.ask.joiner, name, sizeof(name)));
		return COVE_OK;
	}
	m = room_member(r, f->u.ask.joiner);
	if (!m || !m->present || m->left || memcmp(m->xpk, f->u.ask.xpk, COVE_XPK_LEN) != 0) {
		/* The key may only go to a session key the joiner signed. */
		room_say(c, r, "refused_key", 0,
			 "not giving the key of room %s to %s: no join signed by it with that "
			 "session key", r->name, room_who(c, f->u.ask.joiner, name, sizeof(name)));
		return COVE_OK;
	}
	if (m->reported_gone && m->reported_gone_ini == m->ini_seq) {
		room_say(c, r, "refused_key", 0,
			 "not giving the key of room %s to %s: another member said it saw it "
			 "leave (GONE); it gets a key once it joins again", r->name, m->name);
		return COVE_OK;
	}
	if (!sealable(c, m, c->deps.now_ms())) {
		room_say(c, r, "refused_key", 0,
			 "not giving the key of room %s to %s: its join is more than %llu hours "
			 "old (an old join replayed?)", r->name, m->name,
			 (unsigned long long)(COVE_CHAT_INI_MAX_AGE_MS / 3600000));
		return COVE_OK;
	}
	if (m->returned_ms && r->epoch_start_ms <= m->returned_ms) {
		/* Back after leaving: this key was made without it, for what was
		 * said while it was gone. It gets the next epoch instead. */
		room_say(c, r, "refused_key", 0,
			 "not giving %s the key of room %s: it left and came back, and this key "
			 "was made without it; asking for a new one", m->name, r->name);
		r->last_rky_ms = 0;
		epoch_request(c, r, "a member came back");
		return COVE_OK;
	}
	if (r->holders_wait) {
		room_say(c, r, "refused_key", 0,
			 "not giving %s the key of room %s yet: whom else it went to is not known "
			 "yet; asked again in %u s", m->name, r->name, c->deps.now_ms() <
			 r->holders_due_ms ? (unsigned)((r->holders_due_ms - c->deps.now_ms()) /
							1000 + 1) : 1);
		return COVE_OK;
	}
	if (r->tainted) {
		/* Not a key someone gone holds: it gets the next one. */
		room_say(c, r, "refused_key", 0,
			 "not giving %s the key of room %s yet: %s %s and may hold it; %s gets the "
			 "room's next key", m->name, r->name, r->taint_who, r->taint_why, m->name);
		return COVE_OK;
	}
	our_view(c, r, r->epoch, view, &n);
	m->exposed = 1;
	if (give_key(c, r, m, view) == COVE_OK) {
		gave(r, m);
		done->what = EPOCH_GAVE;
		/* The joiner, and those we sealed this epoch to while they were
		 * away: a member that takes the key from us learns from this
		 * HOLDERS alone whether someone who left holds it (epoch_key
		 * waits for it; those here it sees in the KEY's view). */
		done->holders = calloc(r->nmembers, sizeof(*done->holders));
		if (!done->holders)
			return COVE_ERR_NOMEM;
		memcpy(done->holders[done->nholders++], m->pk, 32);
		for (size_t i = 0; i < r->nmembers; i++)
			if (r->members[i].gave && r->members[i].gave_away &&
			    r->members[i].gave_epoch == r->epoch && &r->members[i] != m)
				memcpy(done->holders[done->nholders++], r->members[i].pk, 32);
	}
	return COVE_OK;
}

int epoch_rek(struct cove_chat *c, struct room *r, const struct cove_frame *f,
	      struct epoch_done *done)
{
	uint8_t view[COVE_VIEW_LEN];
	uint32_t epoch = f->u.rek.epoch, prev = r->epoch;
	uint64_t now = c->deps.now_ms();
	uint8_t (*holders)[32];
	const char *no;
	uint8_t *gk;
	size_t n = 0, nh = 0;

	memset(done, 0, sizeof(*done));
	if (memcmp(f->u.rek.to, c->id->pk, COVE_ID_LEN) != 0 || r->st != R_READY || !r->gk ||
	    r->catching_up)
		return COVE_OK;
	no = refusal(c, r, epoch, 1);
	if (no) {
		room_say(c, r, "bad_epoch", 0, "refused to make epoch %u of room %s: %s", epoch,
			 r->name, no);
		return COVE_OK;
	}
	gk = cove_gk_new();
	if (!gk)
		return COVE_ERR_NOMEM;
	set_key(c, r, gk, epoch);
	/* RDY first: the relay takes our KEYs only once we hold the epoch. */
	send_rdy(c, r, &r->rek_rdy_seq);
	our_view(c, r, epoch, view, &n);
	holders = calloc(r->nmembers ? r->nmembers : 1, sizeof(*holders));
	for (size_t i = 0; i < r->nmembers; i++) {
		struct member *m = &r->members[i];

		/* those here, and those away who held the epoch before */
		int away = !sealable(c, m, now) && sealable_away(c, m, prev);

		m->exposed = away || sealable(c, m, now);
		if (m->exposed && give_key(c, r, m, view) == COVE_OK) {
			gave(r, m);
			m->gave_away = away;
			if (holders)
				memcpy(holders[nh++], m->pk, 32);
		}
	}
	for (size_t i = 0; i < r->nstrangers; i++)
		r->strangers[i].exposed = 0;
	if (c->ui.epoch)
		c->ui.epoch(c->ui.ctx, r->name, epoch, NULL);
	done->what = EPOCH_MADE;
	done->holders = holders;
	done->nholders = nh;
	return COVE_OK;
}

void epoch_holders(struct cove_chat *c, struct room *r, const struct member *from,
		   const struct cove_payload *pl)
{
	char name[64];
	struct member *sender = room_member(r, from->pk);

	/* Evidence of who held which epoch, for sealing to members away: the
	 * sender, and the members on our whitelist it names. */
	if (sender && (!sender->held || sender->held_epoch < pl->holders.epoch)) {
		sender->held = 1;
		sender->held_epoch = pl->holders.epoch;
	}
	for (size_t i = 0; i < pl->holders.nids; i++) {
		struct member *m = room_member(r, pl->holders.ids[i]);

		if (m && !m->left && (!m->held || m->held_epoch < pl->holders.epoch)) {
			m->held = 1;
			m->held_epoch = pl->holders.epoch;
		}
	}
	r->state_dirty = 1;
	if (!r->gk || pl->holders.epoch != r->epoch)
		return; /* about a key we do not hold (any more) */
	if (r->holders_wait && memcmp(from->pk, r->holders_from, COVE_ID_LEN) == 0 &&
	    pl->holders.epoch == r->holders_epoch)
		r->holders_wait = 0; /* its list is below: whoever is on it may hold the key */
	for (size_t i = 0; i < pl->holders.nids; i++) {
		const uint8_t *id = pl->holders.ids[i];
		const struct cove_wl_entry *e;
		struct member *m;

		if (memcmp(id, c->id->pk, COVE_ID_LEN) == 0)
			continue;
		e = cove_wl_find_pk(c->wl, id);
		if (!e) {
			epoch_taint(c, r, room_who(c, id, name, sizeof(name)),
				    "holds the room's key, given by another member, and is not "
				    "on your whitelist", 1);
			continue;
		}
		m = room_member_add(r, id, e->name);
		if (!m)
			return;
		/* perhaps never shown to us (its join withheld): it holds the key */
		m->exposed = 1;
		if (m->left)
			epoch_taint(c, r, m->name, "has left the room but was given its key", 0);
	}
	(void)from;
}

/* A BYE in a GONE: the member it proves left after the INI we have of it
 * (*m), or none (*m NULL) when it is about someone we never saw, or older
 * than that INI (the member joined again since: a sender's numbers only
 * rise, so an old BYE replayed is older). Returns 0, or -1 when it is no
 * proof at all: not a BYE of this room, not the member's own, or not
 * signed by it. */
static int gone_proof(struct cove_chat *c, struct room *r, const uint8_t *bye, size_t len,
		      struct member **m)
{
	struct cove_frame f;

	*m = NULL;
	if (cove_frame_decode(&f, bye, len) != COVE_OK || f.type != COVE_F_BYE ||
	    f.room_len != r->name_len || memcmp(f.room, r->name, r->name_len) != 0 ||
	    memcmp(f.from, f.u.bye.who, COVE_ID_LEN) != 0 || cove_msg_verify(&f) != COVE_OK)
		return -1;
	if (memcmp(f.from, c->id->pk, COVE_ID_LEN) == 0)
		return 0; /* ours: we know where we are */
	*m = room_member(r, f.from);
	if (*m && f.seq <= (*m)->ini_seq)
		*m = NULL;
	return 0;
}

void epoch_gone(struct cove_chat *c, struct room *r, const struct member *from,
		const struct cove_payload *pl)
{
	for (size_t i = 0; i < pl->gone.nbyes; i++) {
		struct member *m;

		if (gone_proof(c, r, pl->gone.bye[i], pl->gone.bye_len[i], &m) != 0) {
			room_say(c, r, "bad_gone", 0,
				 "room %s: %s said someone left, but what it gave as proof is not "
				 "that member's signed goodbye; ignored", r->name, from->name);
			continue;
		}
		if (!m || m->left || (m->reported_gone && m->reported_gone_ini == m->ini_seq))
			continue; /* never here, back since, or we know already */
		m->reported_gone = 1;
		m->reported_gone_ini = m->ini_seq;
		if (m->exposed)
			epoch_taint(c, r, m->name, "has left the room, another member saw", 0);
	}
}

void epoch_stale(struct cove_chat *c, uint64_t ref)
{
	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];

		if (!ref || r->rek_rdy_seq != ref || !r->gk)
			continue;
		/* The relay named someone else for that epoch: our key is not
		 * the room's. We do not go back to the previous one (someone
		 * gone may hold it): nothing is sent until the room's next key
		 * reaches us, and then what we sent meanwhile goes again. */
		r->refused_since_ms = r->epoch_start_ms;
		cove_gk_free(r->gk);
		r->gk = NULL;
		r->rek_rdy_seq = 0;
		room_say(c, r, "stale_epoch", 0,
			 "room %s: the rendezvous did not take your key of epoch %u; your messages "
			 "wait for the room's next key", r->name, r->epoch);
		/* Waiting for a key is waiting like a taint: asked for again,
		 * and warned about if it does not come. */
		epoch_taint(c, r, "the rendezvous", "refused the key you made", 0);
	}
}

void epoch_request(struct cove_chat *c, struct room *r, const char *why)
{
	uint64_t now = c->deps.now_ms();
	struct cove_frame f;

	(void)why;
	if (!c->authed || r->st != R_READY || r->catching_up ||
	    now - r->last_rky_ms < RKY_MIN_MS)
		return;
	r->last_rky_ms = now;
	cove_msg_init(&f, COVE_F_RKY, r->name, r->name_len, c->id->pk, room_seq(c), now);
	f.u.rdy.epoch = r->epoch;
	if (cove_msg_sign(&f, c->id) == COVE_OK)
		c->deps.send(c->deps.send_ctx, &f);
}

int epoch_tick(struct cove_chat *c, struct room *r, uint64_t now)
{
	int stalled = 0;

	if (r->old_gk && now >= r->old_until_ms && !r->catching_up)
		drop_old(c, r);
	if (r->old_xkp && now >= r->old_xkp_until_ms) {
		cove_xkp_free(r->old_xkp);
		r->old_xkp = NULL;
	}
	if (r->st != R_READY || !c->authed)
		return 0;
	/* a key nobody gone holds, that waits for nothing more: the leave
	 * told of was acted on */
	if (r->gone_bye && r->gk && !r->tainted && !r->holders_wait)
		room_gone_clear(r);
	if (r->holders_wait && !r->catching_up && now >= r->holders_due_ms) {
		const struct member *s = room_member(r, r->holders_from);

		r->holders_wait = 0;
		epoch_taint(c, r, s ? s->name : "a member",
			    "gave you the room's new key but never said whom else it gave it to "
			    "(the rendezvous may be hiding it)", 0);
	}
	if (r->tainted) {
		/* Keep asking; say so loudly when the rekey does not come. */
		if (now - r->last_rky_ms >= r->taint_rky_every_ms)
			epoch_request(c, r, "held");
		if (now - r->taint_ms >= COVE_CHAT_REKEY_STALL_MS &&
		    (!r->taint_warned_ms ||
		     now - r->taint_warned_ms >= COVE_CHAT_REKEY_STALL_REPEAT_MS)) {
			r->taint_warned_ms = now;
			stalled = 1;
			room_say(c, r, "rekey_stalled", 0,
				 "room %s: no new key %llu s after %s %s; %zu message%s held "
				 "and nothing sent under the old key. The rendezvous may be "
				 "withholding the rekey.", r->name,
				 (unsigned long long)((now - r->taint_ms) / 1000), r->taint_who,
				 r->taint_why, r->nq, r->nq == 1 ? "" : "s");
		}
	}
	if (now >= r->rekey_due_ms) {
		epoch_request(c, r, "scheduled");
		r->rekey_due_ms = now + RKY_MIN_MS * 2; /* again soon if nothing came of it */
	}
	/* A scheduled rekey that does not come is not a reason to hold (no
	 * one gone holds the key), but the user should know: the hour that a
	 * leaked key exposes is growing. */
	if (r->gk && !r->tainted && now > r->rekey_sched_ms + COVE_CHAT_REKEY_OVERDUE_MS &&
	    (!r->sched_warned_ms || now - r->sched_warned_ms >= COVE_CHAT_REKEY_STALL_REPEAT_MS)) {
		r->sched_warned_ms = now;
		room_say(c, r, "rekey_stalled", 0,
			 "room %s: its scheduled rekey is %llu s overdue; the rendezvous may be "
			 "withholding it. Messages still go under the current key (epoch %u).",
			 r->name, (unsigned long long)((now - r->rekey_sched_ms) / 1000), r->epoch);
	}
	if (r->epoch_msgs >= c->opts.rekey_messages)
		epoch_request(c, r, "message budget");
	return stalled;
}
