/*
 * msgs.c - messages: numbering, sending, the queue, the history and
 * resending, receiving, duplicates and gaps.
 *
 * Every message we send in a room gets the next number n of our session
 * (sid, fixed for the life of the process), and is kept for a while. The
 * same message sent again (after a reconnect, or because a receiver asked)
 * is a new frame with the same (sid, n), so each receiver shows it at
 * most once: it remembers, per sender, the numbers of the last
 * COVE_CHAT_WINDOW messages. A number that jumps ahead leaves a gap: after
 * COVE_CHAT_GAP_ASK_MS the receiver asks the room for it (a RESEND
 * payload), and after COVE_CHAT_GAP_REPORT_MS still open it tells the
 * user which messages never came.
 */
#include <stdlib.h>
#include <string.h>

#include "chat/epoch.h"
#include "chat/msgs.h"
#include "common/err.h"
#include "common/utf8.h"
#include "proto/msg.h"


/* ---- the history -------------------------------------------------------------- */

static void sent_free(struct sent *h)
{
	if (h->text) {
		sodium_memzero(h->text, h->len);
		free(h->text);
	}
	memset(h, 0, sizeof(*h));
}

/* The i-th oldest entry of the ring. */
static struct sent *hist_at(struct room *r, size_t i)
{
	return &r->hist[(r->hist_head + i) % COVE_CHAT_HISTORY_MAX];
}

static struct sent *hist_push(struct room *r)
{
	struct sent *h;

	if (!r->hist) {
		r->hist = calloc(COVE_CHAT_HISTORY_MAX, sizeof(*r->hist));
		if (!r->hist)
			return NULL;
	}
	if (r->nhist == COVE_CHAT_HISTORY_MAX) {
		sent_free(hist_at(r, 0));
		r->hist_head = (r->hist_head + 1) % COVE_CHAT_HISTORY_MAX;
		r->nhist--;
	}
	h = hist_at(r, r->nhist++);
	memset(h, 0, sizeof(*h));
	return h;
}

static struct sent *hist_find(struct room *r, uint64_t n)
{
	/* numbers rise through the ring: binary search */
	size_t lo = 0, hi = r->nhist;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct sent *h = hist_at(r, mid);

		if (h->n == n)
			return h;
		if (h->n < n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void held_free(struct held **list, size_t *n)
{
	for (size_t i = 0; i < *n; i++)
		free((*list)[i].raw);
	free(*list);
	*list = NULL;
	*n = 0;
}

void msgs_free(struct room *r)
{
	for (size_t i = 0; i < r->nhist; i++)
		sent_free(hist_at(r, i));
	free(r->hist);
	r->hist = NULL;
	r->nhist = 0;
	r->hist_head = 0;
	for (size_t i = 0; i < r->nq; i++) {
		sodium_memzero(r->q[i].text, r->q[i].len);
		free(r->q[i].text);
	}
	free(r->q);
	r->q = NULL;
	r->nq = 0;
	held_free(&r->held, &r->nheld);
	held_free(&r->bare, &r->nbare);
	held_free(&r->bare_ini, &r->nbare_ini);
}

/* ---- keeping ---------------------------------------------------------------------- */

/* Hands a text to the persistence table; whether it was kept before (and
 * so shown before, in this process or an earlier one). */
static int keep(struct cove_chat *c, const struct room *r, const uint8_t *from,
		const uint8_t *sid, uint64_t n, uint64_t ts, const char *text, size_t len)
{
	struct cove_chat_msg m = { r->name, from, sid, n, ts, c->rseq_now, text, len };

	if (!c->deps.persist.message)
		return 0;
	return c->deps.persist.message(c->deps.persist.ctx, &m) == COVE_ERR_EXISTS;
}

static int kept_before(struct cove_chat *c, const struct room *r, const struct cove_frame *f,
		       const struct cove_payload *pl)
{
	return keep(c, r, f->from, f->u.dat.sid, f->u.dat.n, f->ts, pl->text, pl->text_len);
}

/* ---- sending ---------------------------------------------------------------------- */

static int send_payload(struct cove_chat *c, struct room *r, uint64_t n,
			const struct cove_payload *pl, uint64_t *seq)
{
	struct cove_frame f;
	int ret;

	/* The one place anything is encrypted: never under a key someone
	 * who left or whom we distrust may hold, nor past its budget (but a
	 * GONE, which tells the one gone nothing it does not know, may go
	 * under a key tainted by its leaving). */
	if (pl->kind == COVE_PL_GONE ? !r->gk : epoch_blocked(c, r) != NULL)
		return COVE_ERR_STATE;
	cove_msg_init(&f, COVE_F_DAT, r->name, r->name_len, c->id->pk, room_seq(c),
		      c->deps.now_ms());
	f.u.dat.epoch = r->epoch;
	memcpy(f.u.dat.sid, r->sid, COVE_SID_LEN);
	f.u.dat.n = n;
	ret = cove_msg_dat_seal(&f, c->ct, COVE_DAT_CT_MAX, pl, r->gk, c->id);
	if (ret == COVE_OK)
		ret = c->deps.send(c->deps.send_ctx, &f);
	if (ret == COVE_OK) {
		r->epoch_msgs++;
		if (seq)
			*seq = f.seq;
	}
	return ret;
}

static int send_text(struct cove_chat *c, struct room *r, struct sent *h)
{
	static struct cove_payload pl; /* 8 KiB with HOLDERS: not on the stack */

	memset(&pl, 0, sizeof(pl));
	pl.kind = h->kind;
	if (h->kind == COVE_PL_HOLDERS) {
		pl.holders.epoch = h->about;
		pl.holders.nids = h->len / 32;
		memcpy(pl.holders.ids, h->text, h->len);
	} else if (h->kind == COVE_PL_GONE) {
		pl.gone.nbyes = 1;
		pl.gone.bye[0] = (const uint8_t *)h->text;
		pl.gone.bye_len[0] = h->len;
	} else {
		pl.text = h->text;
		pl.text_len = h->len;
	}
	h->retry_ms = 0;
	return send_payload(c, r, h->n, &pl, &h->seq);
}

/* Whether someone who may hold our current key became a member after h
 * was first sent: sent again now, under that key, h would tell it what
 * was said before it came (perhaps under a key it never held). */
static int said_before_someone_came(const struct room *r, const struct sent *h)
{
	for (size_t i = 0; i < r->nmembers; i++)
		if (r->members[i].exposed && r->members[i].member_since_ms > h->sent_ms)
			return 1;
	return 0;
}

static int send_entry(struct cove_chat *c, struct room *r, struct sent *h)
{
	/* Sent again (asked for, or after a reconnect) to the whole room:
	 * never to a newcomer that was not there to read it. */
	if (said_before_someone_came(r, h)) {
		h->retry_ms = 0;
		return COVE_ERR_STATE;
	}
	/* Within the pace too; what must wait is tried again from the tick. */
	if (!room_pace(c, 0)) {
		h->retry_ms = c->deps.now_ms() + COVE_CHAT_PACE_RETRY_MS;
		return COVE_ERR_STATE;
	}
	return send_text(c, r, h);
}

int msgs_send(struct cove_chat *c, struct room *r, const char *text, size_t len)
{
	struct sent *h;

	if (!cove_utf8_valid(text, len))
		return COVE_ERR_UTF8;
	h = hist_push(r);
	if (!h)
		return COVE_ERR_NOMEM;
	h->text = malloc(len);
	if (!h->text) {
		r->nhist--; /* never used: take it back */
		return COVE_ERR_NOMEM;
	}
	memcpy(h->text, text, len);
	h->len = len;
	h->kind = COVE_PL_TEXT;
	h->n = r->next_n++;
	h->sent_ms = c->deps.now_ms();
	h->epoch = r->epoch;
	keep(c, r, c->id->pk, r->sid, h->n, h->sent_ms, text, len);
	/* A failed send stays in the history with its number: the next
	 * reconnect sends it again, so the number is never a gap for long.
	 * The caller took the pace's token for it. */
	return send_text(c, r, h);
}

static int track_ids(struct cove_chat *c, struct room *r, uint32_t kind, const uint8_t (*ids)[32],
		     size_t n);
static int track_bytes(struct cove_chat *c, struct room *r, uint32_t kind, const uint8_t *b,
		       size_t len);

int msgs_holders(struct cove_chat *c, struct room *r, const uint8_t (*ids)[32], size_t n)
{
	return track_ids(c, r, COVE_PL_HOLDERS, ids, n);
}

int msgs_gone(struct cove_chat *c, struct room *r, const uint8_t *bye, size_t len)
{
	if (len == 0 || len > COVE_GONE_BYE_MAX)
		return COVE_OK; /* no BYE a node makes */
	if (room_gone_keep(r, bye, len) != COVE_OK)
		return COVE_ERR_NOMEM;
	return track_bytes(c, r, COVE_PL_GONE, r->gone_bye, r->gone_len);
}

static int track_ids(struct cove_chat *c, struct room *r, uint32_t kind, const uint8_t (*ids)[32],
		     size_t n)
{
	if (n == 0)
		return COVE_OK;
	if (n > COVE_HOLDERS_MAX)
		n = COVE_HOLDERS_MAX; /* a room's rekey names the rest in its KEYs' views */
	return track_bytes(c, r, kind, (const uint8_t *)ids, n * 32);
}

/* A numbered message of the room's own (HOLDERS: ids; GONE: a BYE), kept
 * and sent again like a text. */
static int track_bytes(struct cove_chat *c, struct room *r, uint32_t kind, const uint8_t *b,
		       size_t len)
{
	struct sent *h;

	h = hist_push(r);
	if (!h)
		return COVE_ERR_NOMEM;
	h->text = malloc(len);
	if (!h->text) {
		r->nhist--;
		return COVE_ERR_NOMEM;
	}
	memcpy(h->text, b, len);
	h->len = len;
	h->kind = kind;
	h->about = r->epoch;
	h->n = r->next_n++;
	h->sent_ms = c->deps.now_ms();
	h->epoch = r->epoch;
	/* Numbered like a message, so that a relay that drops it leaves a gap
	 * the others see; small and rare, so not held back by the pace. */
	room_pace(c, 1);
	return send_text(c, r, h);
}

/* Sends a request (RESEND, CATCHUP): unnumbered, not kept. */
static int send_request(struct cove_chat *c, struct room *r, const struct cove_payload *pl)
{
	/* While catching up the relay is still bringing what we lack. */
	if (r->catching_up)
		return COVE_ERR_STATE;
	/* Rare and small: not held back by the pace, but counted in it. */
	room_pace(c, 1);
	return send_payload(c, r, COVE_CHAT_UNNUMBERED, pl, NULL);
}

void msgs_rate_limited(struct cove_chat *c, uint64_t ref)
{
	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];

		for (size_t k = r->nhist; k-- > 0;) {
			struct sent *h = hist_at(r, k);

			if (h->seq == ref) {
				h->retry_ms = c->deps.now_ms() + COVE_CHAT_RATE_RETRY_MS;
				return;
			}
		}
	}
}

int msgs_queue(struct room *r, const char *text, size_t len)
{
	struct queued *nq;
	char *copy;

	if (!cove_utf8_valid(text, len))
		return COVE_ERR_UTF8;
	if (r->nq >= COVE_CHAT_QUEUE_MAX)
		return COVE_ERR_LIMIT;
	nq = realloc(r->q, (r->nq + 1) * sizeof(*nq));
	if (!nq)
		return COVE_ERR_NOMEM;
	r->q = nq;
	copy = malloc(len);
	if (!copy)
		return COVE_ERR_NOMEM;
	memcpy(copy, text, len);
	r->q[r->nq].text = copy;
	r->q[r->nq].len = len;
	r->nq++;
	return COVE_OK;
}

void msgs_flush(struct cove_chat *c, struct room *r)
{
	size_t done = 0;

	if (r->st != R_READY || !c->authed)
		return;
	/* The key may reach its message budget on the way: what is left then
	 * waits for the next key, as it would have had it come later. */
	while (done < r->nq && !epoch_blocked(c, r) && room_pace(c, 0)) {
		int ret = msgs_send(c, r, r->q[done].text, r->q[done].len);

		if (ret != COVE_OK && ret != COVE_ERR_STATE) {
			room_say(c, r, "send_failed", 0, "a queued message could not be sent: %s",
				 cove_strerror(ret));
			break;
		}
		done++;
	}
	for (size_t i = 0; i < done; i++) {
		sodium_memzero(r->q[i].text, r->q[i].len);
		free(r->q[i].text);
	}
	if (done == 0)
		return; /* also when nothing was queued and r->q is NULL */
	memmove(r->q, r->q + done, (r->nq - done) * sizeof(*r->q));
	r->nq -= done;
}

void msgs_resend_since(struct cove_chat *c, struct room *r, uint64_t since_ms)
{
	for (size_t i = 0; i < r->nhist; i++) {
		struct sent *h = hist_at(r, i);

		if (h->sent_ms >= since_ms)
			send_entry(c, r, h);
	}
}

void msgs_resend_recent(struct cove_chat *c, struct room *r)
{
	/* The relay may have died holding what we sent just before the link
	 * went: send it again; receivers drop what they already have. */
	msgs_resend_since(c, r,
			  r->down_ms > COVE_CHAT_RESEND_MS ? r->down_ms - COVE_CHAT_RESEND_MS : 0);
}

static void ask_resend(struct cove_chat *c, struct room *r, const struct member *m,
		       uint64_t first, uint64_t last)
{
	struct cove_payload pl;

	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_RESEND;
	memcpy(pl.resend.from, m->pk, 32);
	memcpy(pl.resend.sid, m->sid, 16);
	pl.resend.first = first;
	pl.resend.last = last;
	send_request(c, r, &pl);
}

void msgs_catch_up(struct cove_chat *c, struct room *r)
{
	/* What others sent while our link was down was lost for us; their
	 * histories still have it. The time is relative, so clocks that
	 * disagree do not matter; the slack covers what was in flight. */
	static struct cove_payload pl; /* 7 KiB of heads: not on the stack */
	uint64_t within = c->deps.now_ms() - r->down_ms + COVE_CHAT_RESEND_MS;

	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_CATCHUP;
	pl.catchup.within_ms = within > COVE_CHAT_HISTORY_MS ? COVE_CHAT_HISTORY_MS : within;
	/* Say what we have, so that each member sends only what we lack. */
	for (size_t i = 0; i < r->nmembers && pl.catchup.nheads < COVE_CATCHUP_MAX; i++) {
		const struct member *m = &r->members[i];

		if (!m->have_sid)
			continue;
		memcpy(pl.catchup.heads[pl.catchup.nheads].from, m->pk, 32);
		memcpy(pl.catchup.heads[pl.catchup.nheads].sid, m->sid, 16);
		pl.catchup.heads[pl.catchup.nheads].n = m->high;
		pl.catchup.nheads++;
	}
	send_request(c, r, &pl);
}

/* Whether we may send one more message again for m (RESEND, CATCHUP):
 * at most COVE_CHAT_HISTORY_MAX per COVE_CHAT_HISTORY_MS for each
 * requester, so that no member can make us re-encrypt our history over
 * and over. */
static int answer_budget(struct cove_chat *c, struct member *m, const struct sent *h)
{
	uint64_t now = c->deps.now_ms();

	/* Only what we sent while it was a member: a newcomer, or one back
	 * after leaving, gets nothing said before. */
	if (h->sent_ms < m->member_since_ms)
		return 0;

	if (now - m->answer_from_ms > COVE_CHAT_HISTORY_MS) {
		m->answer_from_ms = now;
		m->answered = 0;
	}
	if (m->answered >= COVE_CHAT_HISTORY_MAX)
		return 0;
	m->answered++;
	return 1;
}

static void answer_catch_up(struct cove_chat *c, struct room *r, struct member *m,
			    const struct cove_payload *pl)
{
	uint64_t now = c->deps.now_ms(), after = 0;
	int have_head = 0;

	/* Only a member that has just come back (its INI is fresh) lacks what
	 * was said while it was away; once per return. */
	if (m->caught_up || now - m->ini_seen_ms > COVE_CHAT_CATCHUP_WINDOW_MS)
		return;
	m->caught_up = 1;

	for (size_t i = 0; i < pl->catchup.nheads; i++) {
		if (memcmp(pl->catchup.heads[i].from, c->id->pk, COVE_ID_LEN) == 0 &&
		    memcmp(pl->catchup.heads[i].sid, r->sid, COVE_SID_LEN) == 0) {
			after = pl->catchup.heads[i].n;
			have_head = 1;
		}
	}
	for (size_t i = 0; i < r->nhist; i++) {
		struct sent *h = hist_at(r, i);

		if (now - h->sent_ms <= pl->catchup.within_ms && (!have_head || h->n > after) &&
		    answer_budget(c, m, h))
			send_entry(c, r, h);
	}
}

/* ---- receiving ------------------------------------------------------------------- */

static void answer_resend(struct cove_chat *c, struct room *r, struct member *m,
			  const struct cove_payload *pl)
{
	uint64_t last = pl->resend.last;

	if (memcmp(pl->resend.from, c->id->pk, COVE_ID_LEN) != 0 ||
	    memcmp(pl->resend.sid, r->sid, COVE_SID_LEN) != 0)
		return;
	if (last - pl->resend.first >= COVE_CHAT_HISTORY_MAX)
		last = pl->resend.first + COVE_CHAT_HISTORY_MAX - 1;
	if (last == COVE_CHAT_UNNUMBERED)
		last--;
	for (uint64_t n = pl->resend.first; n <= last; n++) {
		struct sent *h = hist_find(r, n);

		if (h && h->sent_ms >= m->member_since_ms && !answer_budget(c, m, h))
			break;
		if (h && h->sent_ms >= m->member_since_ms)
			send_entry(c, r, h);
		if (n == UINT64_MAX)
			break;
	}
}

/* Appends a copy of raw to list; 0 when it is full or memory is out. */
static int hold_in(struct held **list, size_t *n, const uint8_t *raw, size_t len,
		   uint64_t until_ms)
{
	struct held *nh;

	if (*n >= COVE_CHAT_FUTURE_MAX)
		return 0;
	nh = realloc(*list, (*n + 1) * sizeof(*nh));
	if (!nh)
		return 0;
	*list = nh;
	nh[*n].raw = malloc(len);
	if (!nh[*n].raw)
		return 0;
	memcpy(nh[*n].raw, raw, len);
	nh[*n].len = len;
	nh[*n].until_ms = until_ms;
	(*n)++;
	return 1;
}

int msgs_hold_frame(struct held **list, size_t *n, const uint8_t *raw, size_t len)
{
	return hold_in(list, n, raw, len, 0);
}

static int hold(struct cove_chat *c, struct room *r, const uint8_t *raw, size_t len)
{
	return hold_in(&r->held, &r->nheld, raw, len, c->deps.now_ms() + COVE_CHAT_FUTURE_MS);
}

void msgs_caught_up(struct cove_chat *c, struct room *r)
{
	size_t n = r->nbare;
	struct held *list = r->bare;

	r->bare = NULL;
	r->nbare = 0;
	for (size_t i = 0; i < n; i++) {
		struct cove_frame f;
		struct member *m;

		if (cove_frame_decode(&f, list[i].raw, list[i].len) != COVE_OK ||
		    ((m = room_member(r, f.from)) && f.seq <= m->last_seq)) {
			free(list[i].raw); /* the backlog brought it already */
			continue;
		}
		if (r->st == R_READY)
			msgs_dat(c, r, &f, list[i].raw, list[i].len);
		else if (!hold(c, r, list[i].raw, list[i].len)) /* until the room's key */
			room_say(c, r, "wrong_epoch", 0, "dropped a message in room %s: too "
				 "many wait for the room's key", r->name);
		free(list[i].raw);
	}
	free(list);
}

/* A DAT from someone who should not hold our current key, encrypted
 * under it (its kid is ours): proof that it holds the key. */
static void holds_our_key(struct cove_chat *c, struct room *r, const struct cove_frame *f,
			  const char *who, const char *why, int lasting)
{
	if (!r->gk || f->u.dat.epoch != r->epoch || room_verify(c, f) != COVE_OK)
		return;
	if (sodium_memcmp(r->kid, f->u.dat.kid, COVE_KID_LEN) == 0)
		epoch_taint(c, r, who, why, lasting);
}

/* Whether a replayed DAT is to be dropped without a word: one was said
 * less than COVE_CHAT_REPLAY_QUIET_MS ago (counted, and said later by
 * replays_said()). A replay loses nothing (we have the message), but a
 * relay sending the same frames again and again would bury the user's
 * other errors under one line each. */
static int replay_quiet(struct cove_chat *c, struct room *r)
{
	uint64_t now = c->deps.now_ms();

	if (r->replay_said_ms && now - r->replay_said_ms < COVE_CHAT_REPLAY_QUIET_MS) {
		r->replays_quiet++;
		return 1;
	}
	r->replay_said_ms = now;
	return 0;
}

int msgs_dat(struct cove_chat *c, struct room *r, const struct cove_frame *f,
	     const uint8_t *raw, size_t len)
{
	const struct cove_wl_entry *e;
	const uint8_t *key, *kid = NULL;
	struct cove_payload pl;
	struct member *m;
	int ret;

	if ((r->st != R_READY && !r->catching_up) || memcmp(f->from, c->id->pk, COVE_ID_LEN) == 0)
		return COVE_OK;
	/* Live while we catch up (the relay fanned it out between our INI
	 * and our SYN): older DATs of its sender may be in the backlog still
	 * to come, and would look like replays after it. It waits for the
	 * end of the catch-up, where it is dropped if the backlog had it. */
	if (r->catching_up && !c->rseq_now &&
	    hold_in(&r->bare, &r->nbare, raw, len, 0))
		return COVE_OK;
	e = cove_wl_find_pk(c->wl, f->from);
	if (!e) {
		char name[64];

		room_who(c, f->from, name, sizeof(name));
		room_say(c, r, "not_whitelisted", 0,
			 "dropped a message in room %s from %s: not on your whitelist", r->name,
			 name);
		holds_our_key(c, r, f, name, "is not on your whitelist", 1);
		return COVE_OK;
	}
	if (room_verify(c, f) != COVE_OK) {
		room_say(c, r, "bad_signature", 0,
			 "dropped a message in room %s claiming to be from %s: bad signature",
			 r->name, e->name);
		return COVE_OK;
	}
	m = room_member_add(r, f->from, e->name);
	if (!m)
		return COVE_ERR_NOMEM;
	if (m->left) {
		room_say(c, r, "left", 0,
			 "dropped a message in room %s from %s, who has left the room", r->name,
			 e->name);
		holds_our_key(c, r, f, e->name, "has left the room", 0);
		return COVE_OK;
	}
	/* Sequence numbers only rise, so a DAT numbered below its sender's
	 * latest INI comes from an earlier session, and one stamped well
	 * before we joined was recorded before: both are replays of old
	 * traffic, whatever the relay claims. */
	/* But the backlog of a catch-up is old traffic by design, sent
	 * before its senders' latest INIs: there the history's (sender,
	 * session, number) drops what was seen before. */
	if (!r->catching_up && (f->seq <= m->ini_seq || f->ts + COVE_CHAT_STALE_MS < r->joined_ms)) {
		if (replay_quiet(c, r))
			return COVE_OK;
		room_say(c, r, "replay", 0,
			 "dropped a message in room %s from %s sent before you joined (an old "
			 "message replayed)", r->name, e->name);
		return COVE_OK;
	}
	if (f->seq <= m->last_seq) {
		if (replay_quiet(c, r))
			return COVE_OK;
		room_say(c, r, "replay", 0,
			 "dropped a replayed message in room %s from %s (seq %llu, already at "
			 "%llu)", r->name, e->name, (unsigned long long)f->seq,
			 (unsigned long long)m->last_seq);
		return COVE_OK;
	}
	key = epoch_gk(r, f->u.dat.epoch, &kid);
	if (!key) {
		if (f->u.dat.epoch > r->epoch && hold(c, r, raw, len))
			return COVE_OK; /* its key is on its way */
		if (!r->gk && f->u.dat.epoch == r->epoch)
			room_say(c, r, "wrong_epoch", 0,
				 "dropped a message in room %s from %s: it is under the key of "
				 "epoch %u you made, which the rendezvous refused; waiting for "
				 "the room's next key", r->name, e->name, f->u.dat.epoch);
		else
			room_say(c, r, "wrong_epoch", 0,
				 "dropped a message in room %s from %s: key epoch %u, ours is %u",
				 r->name, e->name, f->u.dat.epoch, r->epoch);
		return COVE_OK;
	}
	if (sodium_memcmp(kid, f->u.dat.kid, COVE_KID_LEN) != 0) {
		room_say(c, r, "fork", 0,
			 "room %s has split: %s encrypts epoch %u with another key than yours. "
			 "Members on either side cannot read each other; the rendezvous may be "
			 "dividing the room. Leaving and joining again mends it.", r->name, e->name,
			 f->u.dat.epoch);
		return COVE_OK;
	}
	ret = cove_msg_dat_open(f, key, c->pt, COVE_PAD_MAX, &pl);
	if (ret == COVE_OK || ret == COVE_ERR_TYPE) {
		m->last_seq = f->seq;
		r->numbers_dirty = 1; /* numbers_track below moves them */
	}
	if (ret == COVE_ERR_TYPE) {
		if (numbers_track(m, f->u.dat.sid, f->u.dat.n, c->deps.now_ms()))
			room_say(c, r, "unsupported", 0,
				 "%s sent content of kind %u, which this version cannot show",
				 e->name, pl.kind);
	} else if (ret != COVE_OK) {
		room_say(c, r, "bad_message", 0, "dropped a message in room %s from %s: %s",
			 r->name, e->name, cove_strerror(ret));
	} else if (numbers_track(m, f->u.dat.sid, f->u.dat.n, c->deps.now_ms())) {
		if (pl.kind == COVE_PL_TEXT && !kept_before(c, r, f, &pl)) {
			r->caught_shown += r->catching_up;
			if (c->ui.message)
				c->ui.message(c->ui.ctx, r->name, e->name, pl.text, pl.text_len,
					      f->ts);
		}
		else if (pl.kind == COVE_PL_HOLDERS) {
			epoch_holders(c, r, m, &pl);
			msgs_flush(c, r); /* what waited for it, if it did */
		}
		else if (pl.kind == COVE_PL_GONE)
			epoch_gone(c, r, m, &pl);
		else if (pl.kind == COVE_PL_RESEND)
			answer_resend(c, r, m, &pl);
		else if (pl.kind == COVE_PL_CATCHUP)
			answer_catch_up(c, r, m, &pl);
	}
	{
		/* the plaintext, or whatever part of it decryption wrote */
		size_t n = f->u.dat.ct_len > COVE_GCM_TAG_LEN ? f->u.dat.ct_len - COVE_GCM_TAG_LEN : 0;

		sodium_memzero(c->pt, n < COVE_PAD_MAX ? n : COVE_PAD_MAX);
	}
	return COVE_OK;
}

void msgs_held(struct cove_chat *c, struct room *r, uint64_t now, int retry)
{
	size_t keep = 0, n = r->nheld;
	struct held *list = r->held;

	if (n == 0)
		return;
	/* Take the list out: a frame tried again may be held again. */
	r->held = NULL;
	r->nheld = 0;
	for (size_t i = 0; i < n; i++) {
		struct cove_frame f;
		const uint8_t *kid;

		if (cove_frame_decode(&f, list[i].raw, list[i].len) != COVE_OK) {
			free(list[i].raw);
			continue;
		}
		if (retry && epoch_gk(r, f.u.dat.epoch, &kid)) {
			msgs_dat(c, r, &f, list[i].raw, list[i].len);
			free(list[i].raw);
		} else if (now >= list[i].until_ms) {
			room_say(c, r, "wrong_epoch", 0,
				 "dropped a message in room %s: the key of epoch %u never came",
				 r->name, f.u.dat.epoch);
			free(list[i].raw);
		} else {
			list[keep++] = list[i];
		}
	}
	/* Only frames whose key we hold were tried again, so nothing was held
	 * anew meanwhile; should something have been, it goes after these. */
	if (r->nheld) {
		struct held *all = realloc(list, (keep + r->nheld) * sizeof(*all));

		if (all) {
			memcpy(all + keep, r->held, r->nheld * sizeof(*all));
			list = all;
			keep += r->nheld;
		} else {
			for (size_t i = 0; i < r->nheld; i++)
				free(r->held[i].raw);
		}
		free(r->held);
	}
	r->held = keep ? list : NULL;
	r->nheld = keep;
	if (!keep)
		free(list);
}

static void replays_said(struct cove_chat *c, struct room *r, uint64_t now)
{
	if (!r->replays_quiet || now - r->replay_said_ms < COVE_CHAT_REPLAY_QUIET_MS)
		return;
	room_say(c, r, "replay", 0, "dropped %llu more replayed message%s in room %s",
		 (unsigned long long)r->replays_quiet, r->replays_quiet == 1 ? "" : "s", r->name);
	r->replays_quiet = 0;
	r->replay_said_ms = now;
}

void msgs_tick(struct cove_chat *c, struct room *r, uint64_t now)
{
	replays_said(c, r, now);
	/* forget what is too old to be asked for again */
	while (r->nhist > 0 && now - hist_at(r, 0)->sent_ms > COVE_CHAT_HISTORY_MS) {
		sent_free(hist_at(r, 0));
		r->hist_head = (r->hist_head + 1) % COVE_CHAT_HISTORY_MAX;
		r->nhist--;
	}
	msgs_held(c, r, now, 0);
	if (r->st != R_READY)
		return;
	for (size_t i = 0; i < r->nhist && c->authed; i++) {
		struct sent *h = hist_at(r, i);

		if (h->retry_ms && now >= h->retry_ms)
			send_entry(c, r, h);
	}
	for (size_t i = 0; i < r->nmembers; i++) {
		struct member *m = &r->members[i];

		for (size_t k = 0; k < m->ngaps;) {
			struct gap *g = &m->gaps[k];

			/* Lost only once the sender has had its chance to send it
			 * again: never reported while it may still be coming. */
			if (g->asked_ms && now - g->asked_ms >= COVE_CHAT_GAP_REPORT_MS) {
				if (c->ui.gap)
					c->ui.gap(c->ui.ctx, r->name, m->name, g->first, g->last);
				m->gaps[k] = m->gaps[--m->ngaps];
				continue;
			}
			if (!g->asked_ms && now - g->noticed_ms >= COVE_CHAT_GAP_ASK_MS &&
			    c->authed) {
				ask_resend(c, r, m, g->first, g->last);
				g->asked_ms = now;
			}
			k++;
		}
	}
}
