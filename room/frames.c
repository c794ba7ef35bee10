/*
 * frames.c - what a member says once it is in a room: which epoch it
 * holds (RDY), that it wants a new one (RKY), a key for someone (KEY),
 * and its messages (DAT). The relay believes a member holds an epoch
 * only when it says so, passes a KEY only to its addressee and only from
 * a member holding the current epoch, and lets nobody choose an epoch
 * that leaves no room for rekeys (PROTOCOL.md 5.2).
 */
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "proto/msg.h"
#include "room/int.h"

/* A member has the room rekeyed (RKY) at most this often. */
#define RM_RKY_MIN_MS 1000u

/* The rekeyer named for this epoch confirms it: the room moves on. */
static void rekeyed(struct rm_member *m, uint32_t epoch)
{
	struct rm_room *r = m->room;
	struct rm_hub *h = r->hub;
	struct rm_member *p;
	char label[RM_LABEL_MAX];

	rm_cancel_rekey(r);
	r->epoch = epoch;
	r->epoch_known = 1;
	rm_clear_join(m);
	m->keyed = 1;
	m->unconfirmed = 0;
	m->epoch = epoch;
	m->epoch_known = 1;
	rm_log_info(h, "room %s: epoch %u made by %s", r->name, epoch,
		    rm_who(m, label, sizeof(label)));
	rm_keep_room(r);
	rm_keep_member(m);
	/* Everyone else is behind now and waits for the rekeyer's KEY;
	 * whoever it does not reach in time is caught up by another. */
	TAILQ_FOREACH(p, &r->members, next) {
		if (p == m || !rm_live(p))
			continue;
		rm_clear_join(p);
		if (p->keyed) {
			p->asked = m;
			p->asked_ms = p->ask_armed_ms = rm_now(h);
			p->ask_seq = 0; /* all at once: none is later than another */
			rm_arm(h, p->ask_timer, h->conf.join_timeout_ms);
		}
	}
	rm_schedule(r);
}

int rm_rdy(struct rm_member *m, uint32_t epoch, char *why, size_t cap)
{
	struct rm_room *r = m->room;

	if (r->rekeyer == m && epoch == r->rekey_epoch) {
		rekeyed(m, epoch);
		return 0;
	}
	if (!r->epoch_known && epoch > COVE_EPOCH_FIRST_MAX) {
		/* A first key starts low: nobody may choose an epoch that leaves
		 * no room for rekeys. */
		snprintf(why, cap, "epoch %u of room %s is above what a first key may take (%u)",
			 epoch, r->name, COVE_EPOCH_FIRST_MAX);
		return COVE_EC_STALE_EPOCH;
	}
	if (m->epoch_known && epoch < m->epoch) {
		/* Honest members only move up; one going down could make the
		 * relay fall back to an epoch it already named, and so give one
		 * epoch two keys. */
		snprintf(why, cap, "epoch %u of room %s is below epoch %u, which you confirmed "
			 "before", epoch, r->name, m->epoch);
		return COVE_EC_STALE_EPOCH;
	}
	if (!r->epoch_known) {
		r->epoch = epoch; /* the first member's key */
		r->epoch_known = 1;
		if (epoch > r->epoch_top)
			r->epoch_top = epoch;
		rm_keep_room(r);
	}
	if (epoch > r->epoch) {
		snprintf(why, cap, "epoch %u of room %s was not given to you to make (the room is "
			 "at epoch %u)", epoch, r->name, r->epoch);
		return COVE_EC_STALE_EPOCH;
	}
	m->keyed = 1;
	m->unconfirmed = 0;
	m->returning = 0; /* it said */
	m->epoch = epoch;
	m->epoch_known = 1;
	rm_keep_member(m);
	if (epoch == r->epoch) {
		rm_clear_join(m);
		rm_unstick_all(r); /* one more member can answer */
	}
	rm_schedule(r);
	return 0;
}

int rm_rky(struct rm_member *m, uint32_t epoch)
{
	struct rm_room *r = m->room;
	uint64_t now = rm_now(r->hub);

	/* Only from a member holding the current epoch; one rekey at a time,
	 * so a request during one is already served; at most one a second
	 * from one member, so that no member can race the epochs up. Not
	 * before the room's first key is confirmed, as routing would not
	 * either: another member's RDY could then confirm an epoch above the
	 * one named, and the rekeyer's take the room back down. */
	if (!r->epoch_known || !rm_up_to_date(m) || epoch != r->epoch || r->rekeyer ||
	    now - m->last_rky_ms < RM_RKY_MIN_MS)
		return 0;
	m->last_rky_ms = now;
	/* Not while a member here still waits for the current epoch: a
	 * rekeyer that sealed it to some only, asking again and again,
	 * would keep the others from ever being given a key by another
	 * member (the rescue takes --join-timeout). It waits its turn. */
	if (rm_someone_waits(r)) {
		r->rky_deferred = 1;
		r->rky_by = m;
		return 0;
	}
	rm_designate(r, m);
	return 0;
}

int rm_key(struct rm_member *k, const struct cove_frame *f, const uint8_t *raw, size_t len,
	   char *why, size_t cap)
{
	struct rm_room *r = k->room;
	struct rm_stats *st = r->hub->deps.stats;
	struct rm_member *j;

	if (!k->keyed) {
		snprintf(why, cap, "KEY refused: you do not hold the key of room %s", r->name);
		return COVE_EC_NOT_MEMBER;
	}
	if (!rm_up_to_date(k) || (r->epoch_known && f->u.key.epoch != r->epoch)) {
		snprintf(why, cap, "KEY refused: room %s is at epoch %u; you hold %u, the KEY is "
			 "for %u", r->name, r->epoch, k->epoch, f->u.key.epoch);
		return COVE_EC_STALE_EPOCH;
	}
	j = rm_key_addressee(r, f->u.key.to, f->u.key.xpk);
	if (!j) {
		rm_log_debug(r->hub, "room %s: a KEY for one who is not a member", r->name);
		return 0;
	}
	/* Here, it gets it now; away, it is kept for its catch-up (R8). Not
	 * counted as holding the key yet: that is the recipient's to say
	 * (RDY). The ask timer goes on in case it refuses this KEY. */
	st->frames_forwarded++;
	rm_keep_frame(r, COVE_F_KEY, k->pk, f->u.key.to, f->u.key.xpk, 0, raw, len);
	rm_ask_progress(k, j);
	return 0;
}

int rm_dat(struct rm_member *m, const uint8_t *raw, size_t len)
{
	struct rm_room *r = m->room;
	struct rm_stats *st = r->hub->deps.stats;

	if (!m->keyed)
		return COVE_EC_NOT_MEMBER;
	st->frames_forwarded++;
	rm_keep_frame(r, COVE_F_DAT, m->pk, NULL, NULL, 0, raw, len);
	return 0;
}
