/*
 * sync.c - a member that comes back catches up (design note R5): after
 * its SYN it is sent, as FWDs, every stored frame for it after its cursor
 * (and from its joining on), in order, then UPD; only then does it get
 * the room's frames live.
 *
 * The backlog may be large (days of a busy room): it is read from the
 * store in batches of RM_SYNC_BATCH, and only while the link holds less
 * than RM_SYNC_QUEUE bytes not yet written, so that a catch-up costs the
 * relay a bounded buffer per member however much it missed. The link's
 * owner says when it has drained (rm_peer_drained), and the next batch
 * goes. Frames that complete meanwhile are in the store, so the reads
 * find them; the member turns live when a read comes back short, and
 * from then on every completion fans out to it: nothing is sent twice or
 * skipped.
 */
#include <string.h>

#include "common/err.h"
#include "room/int.h"

#define RM_SYNC_BATCH 256
#define RM_SYNC_QUEUE (256u * 1024)

/* Room for a FWD of the largest frame the relay stores. */
#define RM_SYNC_FWD_MAX COVE_FRAME_MAX

static int send_upd(struct rm_member *m, uint64_t next, uint64_t missed)
{
	struct cove_frame f;

	rm_own_frame(&f, COVE_F_UPD, m->room);
	f.u.upd.next = next;
	f.u.upd.missed = missed;
	return rm_send_own(m, &f);
}

void rm_sync_stop(struct rm_member *m)
{
	m->catching = 0;
}

/* The catch-up is done: UPD, and m is live. Then, like a member that
 * comes back, it has its turn to say which epoch it holds (RDY) before
 * anyone is asked for it. */
static void finish(struct rm_member *m)
{
	struct rm_hub *h = m->room->hub;
	struct cove_store_span sp;
	uint64_t next = 0, missed = 0;

	memset(&sp, 0, sizeof(sp));
	if (h->deps.store &&
	    cove_store_span(h->deps.store, m->room->name, m->room->name_len, &sp) == COVE_OK) {
		next = sp.next;
		/* DATs dropped by retention after its cursor, exactly */
		if (m->cu_from + 1 < sp.first && sp.dropped_dats > m->cu_from_dat)
			missed = sp.dropped_dats - m->cu_from_dat;
	}
	m->catching = 0;
	send_upd(m, next, missed);
	/* A node says which epoch it holds (RDY) once it has the UPD: until
	 * then the epoch the store kept for it is unconfirmed, and counting
	 * it for nothing would make a room whose members all come back (a
	 * relay restarted) start a new group. */
	if (!m->keyed || m->unconfirmed) {
		m->returning = 1;
		rm_arm(h, m->ask_timer, h->conf.join_timeout_ms);
	}
	rm_schedule(m->room);
}

static int send_one(void *arg, const struct cove_store_frame *f)
{
	struct rm_member *m = arg;
	static uint8_t buf[RM_SYNC_FWD_MAX];
	size_t len = 0;

	m->cu_after = f->seq;
	if (rm_fwd_encode(f->seq, f->rdat, f->raw, f->len, buf, sizeof(buf), &len) != COVE_OK)
		return 0; /* cannot happen for a frame the relay took; skipped */
	m->room->hub->deps.stats->caught_up++;
	return rm_send_raw(m, buf, len) == COVE_OK ? 0 : 1;
}

/* Sends m the next batches while its link has room. */
static void pump(struct rm_member *m)
{
	struct rm_hub *h = m->room->hub;
	const struct rm_link *link;
	int n;

	while (m->catching && m->peer && !m->gone) {
		link = &m->peer->link;
		if (link->ops->queued && link->ops->queued(link->ctx) >= RM_SYNC_QUEUE)
			return; /* rm_peer_drained goes on */
		n = cove_store_read(h->deps.store, m->room->name, m->room->name_len, m->pk,
				    m->cu_after, RM_SYNC_BATCH, send_one, m);
		if (n < 0) {
			rm_log_error(h, "room %s: reading a catch-up from the store: %s; it ends "
				     "here", m->room->name, cove_strerror(n));
			finish(m);
			return;
		}
		if (!m->peer || m->gone)
			return; /* its link refused a frame: it is going */
		if (n < RM_SYNC_BATCH)
			finish(m);
	}
}

int rm_syn(struct rm_member *m, uint64_t after, uint64_t after_dat)
{
	struct rm_hub *h = m->room->hub;
	struct cove_store_span sp;

	if (m->synced)
		return COVE_EC_ALREADY_JOINED;
	m->synced = 1;
	h->deps.stats->syncs++;
	if (m->joined_here || after == UINT64_MAX || !h->deps.store) {
		/* nothing to catch up on: it gets what follows its joining */
		memset(&sp, 0, sizeof(sp));
		if (h->deps.store)
			cove_store_span(h->deps.store, m->room->name, m->room->name_len, &sp);
		send_upd(m, sp.next, 0);
		return 0;
	}
	/* its turn to say what it holds comes after the catch-up */
	rm_clear_join(m);
	m->catching = 1;
	m->cu_from = after;
	m->cu_from_dat = after_dat;
	/* never a frame from before it was a member */
	m->cu_after = m->since > 1 && after < m->since - 1 ? m->since - 1 : after;
	pump(m);
	return 0;
}

void rm_peer_drained(struct rm_peer *p)
{
	for (size_t i = 0; i < p->nrooms; i++)
		if (p->rooms[i]->catching)
			pump(p->rooms[i]);
}
