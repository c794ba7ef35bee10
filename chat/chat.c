/*
 * chat.c - the chat core's driver: its life cycle, what each frame from
 * the relay does, joins, the link, and catching up on what the relay
 * kept for us (SYN, FWD, UPD). What the user does is user.c's.
 *
 * A room goes IDLE -> JOINING (INI sent, session X25519 key held) ->
 * READY (group key held) or FAILED, and back to IDLE when the link goes.
 * Before acting on a frame the core checks that it concerns one of our
 * rooms, that its sender is who the frame type allows (the pinned relay,
 * or a member on our own whitelist), and its signature. Keys and epochs
 * are epoch.c's business, messages msgs.c's; this file calls both and
 * neither calls it back: what a key frame leads to (the room ready, the
 * room told whom we gave a key, the messages that waited) epoch.c says
 * in a struct epoch_done, and this file does it with msgs.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chat/epoch.h"
#include "chat/msgs.h"
#include "chat/room.h"
#include "common/err.h"
#include "common/utf8.h"
#include "proto/msg.h"

/* ---- life cycle ----------------------------------------------------------- */

struct cove_chat *cove_chat_new(const struct cove_ident *id, const struct cove_wl *wl,
				const uint8_t relay_pk[COVE_ID_LEN],
				const struct cove_chat_ui *ui, const struct cove_chat_deps *deps,
				const struct cove_chat_opts *opts)
{
	struct cove_chat *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->id = id;
	c->wl = wl;
	memcpy(c->relay, relay_pk, COVE_ID_LEN);
	c->ui = *ui;
	c->deps = *deps;
	if (opts)
		c->opts = *opts;
	if (!c->opts.rekey_interval_s)
		c->opts.rekey_interval_s = COVE_CHAT_REKEY_INTERVAL_S;
	if (!c->opts.rekey_messages)
		c->opts.rekey_messages = COVE_CHAT_REKEY_MESSAGES;
	/* Sequence numbers start at the clock in microseconds, so that they
	 * keep rising across restarts and receivers can drop replays. */
	c->seq = deps->now_us();
	c->rate = COVE_CHAT_RATE_DEFAULT;
	c->burst = COVE_CHAT_BURST_DEFAULT;
	c->tokens = c->burst * COVE_CHAT_PACE_SHARE;
	c->tokens_ms = deps->now_ms();
	c->pt = sodium_malloc(COVE_PAD_MAX);
	c->ct = malloc(COVE_DAT_CT_MAX);
	if (!c->pt || !c->ct) {
		cove_chat_free(c);
		return NULL;
	}
	return c;
}

void chat_room_free(struct room *r)
{
	cove_xkp_free(r->xkp);
	cove_xkp_free(r->old_xkp);
	cove_xkp_free(r->away_xkp[0]);
	cove_xkp_free(r->away_xkp[1]);
	for (size_t k = 0; k < r->nckeys; k++)
		cove_gk_free(r->ckeys[k].gk);
	epoch_wipe(r);
	msgs_free(r);
	room_gone_clear(r);
	for (size_t k = 0; k < r->nmembers; k++)
		free(r->members[k].gaps);
	free(r->members);
	free(r->strangers);
}

void cove_chat_free(struct cove_chat *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrooms; i++) {
		if (c->rooms[i].numbers_dirty)
			persist_save(c, &c->rooms[i]);
		chat_room_free(&c->rooms[i]);
	}
	free(c->rooms);
	if (c->pt)
		sodium_free(c->pt);
	free(c->ct);
	free(c);
}

int cove_chat_add_room(struct cove_chat *c, const char *name)
{
	size_t len = strlen(name);
	struct room *nr;

	if (!cove_room_valid(name, len))
		return COVE_ERR_INVAL;
	if (room_find(c, name, len))
		return COVE_ERR_EXISTS;
	nr = realloc(c->rooms, (c->nrooms + 1) * sizeof(*nr));
	if (!nr)
		return COVE_ERR_NOMEM;
	c->rooms = nr;
	nr = &c->rooms[c->nrooms++];
	memset(nr, 0, sizeof(*nr));
	memcpy(nr->name, name, len);
	nr->name_len = len;
	/* One session id per room for the life of the process: it names our
	 * messages across reconnects, so receivers can drop what they have. */
	randombytes_buf(nr->sid, sizeof(nr->sid));
	return persist_load(c, nr);
}

static void say_unsent(void *arg, const char *room, const char *text, size_t len)
{
	struct cove_chat *c = arg;

	(void)room;
	room_say(c, NULL, "not_sent", 0, "not sent to room %s: \"%.*s%s\" (%zu bytes)", room,
		 (int)cove_utf8_cut(text, len, 60), text, len > 60 ? "..." : "", len);
}

int cove_chat_settled(const struct cove_chat *c)
{
	for (size_t i = 0; i < c->nrooms; i++)
		if (c->rooms[i].st != R_READY && c->rooms[i].st != R_FAILED)
			return 0;
	return 1;
}

size_t cove_chat_ready_count(const struct cove_chat *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nrooms; i++)
		n += c->rooms[i].st == R_READY;
	return n;
}

void cove_chat_set_limits(struct cove_chat *c, unsigned rate, unsigned burst)
{
	room_pace_limits(c, rate, burst);
}

/* ---- the link -------------------------------------------------------------- */

/* When to replace our session key next: at the rekey schedule, and at
 * least every COVE_CHAT_INI_REFRESH_MAX_S, so that members (who seal only
 * to a recent INI) never find ours too old. */
static uint64_t next_refresh(const struct cove_chat *c, uint64_t now)
{
	unsigned s = c->opts.rekey_interval_s < COVE_CHAT_INI_REFRESH_MAX_S
			     ? c->opts.rekey_interval_s
			     : COVE_CHAT_INI_REFRESH_MAX_S;

	return now + (uint64_t)s * 1000 + randombytes_uniform(s * 100u + 1);
}

/* Sends an INI with a fresh session key: a join, or (refresh) the
 * replacement of the session key of a room we are in. The replaced key
 * still opens the KEYs in flight for a while, then is wiped. */
static int send_ini(struct cove_chat *c, struct room *r, int refresh)
{
	struct cove_frame f;
	int ret;

	if (refresh && r->xkp) {
		cove_xkp_free(r->old_xkp);
		r->old_xkp = r->xkp;
		r->old_xkp_until_ms = c->deps.now_ms() + COVE_CHAT_OLD_EPOCH_MS;
	} else {
		/* A new link: what was sealed to the key of the last one while
		 * we were away comes in the catch-up, and must open. */
		persist_keep_away(c, r);
	}
	r->xkp = cove_xkp_new();
	if (!r->xkp)
		return COVE_ERR_NOMEM;
	/* Kept before it is announced: a KEY sealed to it while we are away
	 * must find its secret when we come back. */
	ret = persist_mkey(c, r, r->xkp);
	if (ret != COVE_OK)
		room_say(c, r, "history", 0, "room %s: your membership key could not be kept "
			 "(%s); keys sealed to it while you are away will not open",
			 r->name, cove_strerror(ret));
	r->ini_refresh_ms = next_refresh(c, c->deps.now_ms());
	/* Staleness is judged against our first join: rejoining must not make
	 * what was resent to us after a reconnect look old. */
	if (!r->joined_ms)
		r->joined_ms = c->deps.now_ms();
	cove_msg_init(&f, COVE_F_INI, r->name, r->name_len, c->id->pk, room_seq(c),
		      c->deps.now_ms());
	memcpy(f.u.ini.xpk, r->xkp->pk, COVE_XPK_LEN);
	ret = cove_msg_sign(&f, c->id);
	if (ret == COVE_OK)
		ret = c->deps.send(c->deps.send_ctx, &f);
	if (ret == COVE_OK && !refresh)
		r->st = R_JOINING;
	return ret;
}

/* After a join's INI: "send me what I missed since my cursor" (a room
 * we have been in, in this process or before it), or "nothing before
 * now" (2^64-1) for a room new to us. Until the relay's UPD the room
 * catches up: it takes the backlog in order and asks for nothing. */
static int send_syn(struct cove_chat *c, struct room *r)
{
	struct cove_frame f;
	int back = r->has_state || r->was_ready;
	int ret;

	cove_msg_init(&f, COVE_F_SYN, r->name, r->name_len, c->id->pk, room_seq(c),
		      c->deps.now_ms());
	f.u.syn.after = back ? r->rseq : UINT64_MAX;
	f.u.syn.after_dat = back ? r->rdat : 0;
	ret = cove_msg_sign(&f, c->id);
	if (ret == COVE_OK)
		ret = c->deps.send(c->deps.send_ctx, &f);
	if (ret == COVE_OK) {
		r->catching_up = 1;
		r->cu_last_ms = c->deps.now_ms();
		r->syn_seq = f.seq;
		r->caught_shown = 0;
		r->ready_deferred = 0;
	}
	return ret;
}

int cove_chat_link_up(struct cove_chat *c)
{
	/* Our INIs go right behind CLI_AUTH: the relay acts on them once it
	 * has accepted us, and we save the round trip to its WLC. Should it
	 * refuse us, it closes the link and drops them unread. */
	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];
		int ret;

		if (r->st != R_IDLE)
			continue; /* failed */
		ret = send_ini(c, r, 0);
		if (ret == COVE_OK)
			ret = send_syn(c, r);
		if (ret != COVE_OK) {
			room_say(c, r, "send_failed", 1, "cannot send the join: %s",
				 cove_strerror(ret));
			return ret;
		}
	}
	return COVE_OK;
}

void cove_chat_link_down(struct cove_chat *c)
{
	uint64_t now = c->deps.now_ms();

	c->authed = 0;
	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];

		if (r->st == R_FAILED)
			continue;
		if (r->st == R_READY)
			r->down_ms = now;
		r->st = R_IDLE;
		r->catching_up = 0; /* the next link starts another */
		r->state_dirty |= r->numbers_dirty;
		/* Who is present we learn again from the next link. */
		for (size_t k = 0; k < r->nmembers; k++)
			r->members[k].present = 0;
		for (size_t k = 0; k < r->nstrangers; k++)
			r->strangers[k].present = 0;
	}
}

static int on_wlc(struct cove_chat *c, const struct cove_frame *f)
{
	if (c->authed || memcmp(f->u.wlc.you, c->id->pk, COVE_ID_LEN) != 0)
		return COVE_OK;
	c->authed = 1; /* the rooms were joined at cove_chat_link_up() */
	/* The relay's limits: we pace our DATs inside them. */
	cove_chat_set_limits(c, f->u.wlc.rate, f->u.wlc.burst);
	if (c->ui.connected)
		c->ui.connected(c->ui.ctx);
	return COVE_OK;
}

/* The room holds its key: tell the user, and (after a reconnect) send
 * again what the old link may have lost and ask for what we missed;
 * then what waited. */
static void show_ready(struct cove_chat *c, struct room *r, int first)
{
	const char **names = calloc(r->nmembers + 1, sizeof(*names));
	int rejoin = r->was_ready;
	size_t n = 0;

	r->st = R_READY;
	r->was_ready = 1;
	if (names)
		for (size_t i = 0; i < r->nmembers; i++)
			if (r->members[i].present)
				names[n++] = r->members[i].name;
	if (c->ui.ready)
		c->ui.ready(c->ui.ctx, r->name, first, rejoin, names, names ? n : 0);
	free(names);
	if (rejoin) {
		msgs_resend_recent(c, r);
		msgs_catch_up(c, r);
	}
	msgs_flush(c, r);
}

typedef int (*epoch_fn)(struct cove_chat *c, struct room *r, const struct cove_frame *f,
			struct epoch_done *done);

/* Hands a frame about keys to epoch.c, then does what followed. */
static int on_key_frame(struct cove_chat *c, struct room *r, const struct cove_frame *f,
			epoch_fn fn)
{
	struct epoch_done d;
	int ret = fn(c, r, f, &d);

	switch (d.what) {
	case EPOCH_NONE:
		break;
	case EPOCH_READY:
		if (r->catching_up) {
			/* shown, and confirmed, when the backlog is in */
			r->ready_deferred = 1;
			r->ready_first = d.first;
			break;
		}
		show_ready(c, r, d.first);
		msgs_held(c, r, c->deps.now_ms(), 1);
		break;
	case EPOCH_NEW:
		if (d.resend_since_ms)
			msgs_resend_since(c, r, d.resend_since_ms);
		msgs_flush(c, r);
		msgs_held(c, r, c->deps.now_ms(), 1);
		break;
	case EPOCH_MADE:
		/* everyone learns whom the new key went to, end to end */
		msgs_holders(c, r, (const uint8_t (*)[32])d.holders, d.nholders);
		free(d.holders);
		msgs_held(c, r, c->deps.now_ms(), 1);
		msgs_flush(c, r);
		break;
	case EPOCH_GAVE:
		msgs_holders(c, r, (const uint8_t (*)[32])d.holders, d.nholders);
		free(d.holders);
		break;
	}
	return ret;
}

/* The catch-up is over (the relay's UPD; upd 0: a relay that keeps
 * nothing refused our SYN). The secrets of our membership keys from
 * before are wiped, the keys of the epochs we passed through go (the
 * previous one after the usual grace), and a room that holds a key is
 * ready: confirmed (RDY) and shown. */
static int on_ini(struct cove_chat *c, struct room *r, const struct cove_frame *f);
static int on_prs(struct cove_chat *c, struct room *r, const struct cove_frame *f);

/* The INIs and PRSs that came bare during the catch-up, after its
 * backlog and in their order: who is a member and who is here now, as the
 * relay told us when we came back. */
static void replay_bare_inis(struct cove_chat *c, struct room *r)
{
	struct held *list = r->bare_ini;
	size_t n = r->nbare_ini;

	r->bare_ini = NULL;
	r->nbare_ini = 0;
	for (size_t i = 0; i < n; i++) {
		struct cove_frame f;

		if (cove_frame_decode(&f, list[i].raw, list[i].len) == COVE_OK)
			(f.type == COVE_F_INI ? on_ini : on_prs)(c, r, &f);
		free(list[i].raw);
	}
	free(list);
}

static void end_catch_up(struct cove_chat *c, struct room *r, int upd)
{
	uint64_t now = c->deps.now_ms();

	r->catching_up = 0;
	replay_bare_inis(c, r);
	r->state_dirty |= r->numbers_dirty;
	if (r->holders_wait && r->holders_due_ms < now + COVE_CHAT_HOLDERS_WAIT_MS)
		r->holders_due_ms = now + COVE_CHAT_HOLDERS_WAIT_MS; /* from now on it may come */
	persist_drop_away(c, r);
	for (size_t k = 0; k < r->nckeys; k++)
		cove_gk_free(r->ckeys[k].gk);
	r->nckeys = 0;
	if (r->old_gk)
		r->old_until_ms = now + COVE_CHAT_OLD_EPOCH_MS;
	/* With a relay that keeps nothing, a key we had from before is not
	 * the room's until a member gives it again (ASK, KEY). */
	if (r->st != R_JOINING || !r->gk || (!upd && !r->ready_deferred)) {
		msgs_caught_up(c, r);
		return;
	}
	epoch_confirm(c, r);
	show_ready(c, r, r->ready_deferred && r->ready_first);
	msgs_held(c, r, now, 1);
	msgs_caught_up(c, r);
	/* someone in the backlog left holding this key: a new one, now */
	if (r->tainted)
		epoch_request(c, r, "held");
}

static int on_upd(struct cove_chat *c, struct room *r, const struct cove_frame *f)
{
	if (!r->catching_up)
		return COVE_OK;
	if (c->ui.caught_up)
		c->ui.caught_up(c->ui.ctx, r->name, r->caught_shown, f->u.upd.missed);
	/* The relay numbers the room's frames below our cursor: it lost
	 * them (a relay with --store none started again, or the room was
	 * made anew). Its numbers are the ones to ask by from now on, or we
	 * would skip what it numbers up to our old cursor. The DAT count is
	 * not known until the next FWD brings it. */
	if (f->u.upd.next && r->rseq >= f->u.upd.next)
		persist_cursor_reset(c, r, f->u.upd.next - 1, 0);
	end_catch_up(c, r, 1);
	return COVE_OK;
}

static int on_prs(struct cove_chat *c, struct room *r, const struct cove_frame *f)
{
	struct member *m = room_member(r, f->u.prs.who);

	/* Presence is the relay's word, and only that: it changes who we
	 * count as here, never who holds a key. */
	if (!m || m->left)
		return COVE_OK;
	m->seen_ms = f->u.prs.seen;
	m->away = !f->u.prs.here;
	if (m->away)
		m->present = 0;
	if (c->ui.presence)
		c->ui.presence(c->ui.ctx, r->name, m->name, !m->away, m->seen_ms);
	return COVE_OK;
}

/* ---- frames ------------------------------------------------------------------ */

static int on_err(struct cove_chat *c, const struct cove_frame *f)
{
	struct room *r = f->room_len ? room_find(c, f->room, f->room_len) : NULL;
	char text[COVE_ERR_TEXT_MAX + 1];
	const char *code = cove_errcode_name(f->u.err.code);
	int fatal = 0;

	/* The relay's words, shown to the user: printable ASCII only, so a
	 * broken relay can neither garble a terminal nor make the JSON event
	 * fail to encode. */
	for (size_t i = 0; i < f->u.err.text_len; i++) {
		char ch = f->u.err.text[i];

		text[i] = (ch >= 0x20 && ch < 0x7f) ? ch : '?';
	}
	text[f->u.err.text_len] = '\0';
	if (f->u.err.code == COVE_EC_WRONG_DIRECTION && f->u.err.ref) {
		for (size_t i = 0; i < c->nrooms; i++) {
			struct room *sr = &c->rooms[i];

			if (sr->catching_up && sr->syn_seq == f->u.err.ref) {
				/* A relay before persistent rooms: it keeps nothing for
				 * us, so there is nothing to catch up. */
				end_catch_up(c, sr, 0);
				return COVE_OK;
			}
		}
	}
	switch (f->u.err.code) {
	case COVE_EC_NOT_WHITELISTED:
		if (!c->authed) {
			room_say(c, NULL, code, 1, "the rendezvous refused this node: %s", text);
			return COVE_ERR_STATE;
		}
		break;
	case COVE_EC_REVOKED:
	case COVE_EC_REPLACED:
		fatal = 1; /* reconnecting would only repeat it */
		break;
	case COVE_EC_STALE_EPOCH:
		epoch_stale(c, f->u.err.ref);
		break;
	case COVE_EC_RATE:
		msgs_rate_limited(c, f->u.err.ref);
		return COVE_OK; /* it goes again shortly: not the user's concern */
	case COVE_EC_NO_KEY:
		if (r && r->st == R_JOINING && !r->gk) {
			r->st = R_FAILED;
			cove_xkp_free(r->xkp);
			r->xkp = NULL;
			/* Each message that waited for this room is lost: say which. */
			for (size_t k = 0; k < r->nq; k++)
				say_unsent(c, r->name, r->q[k].text, r->q[k].len);
			msgs_free(r);
			fatal = cove_chat_ready_count(c) == 0 && cove_chat_settled(c);
		}
		break;
	}
	room_say(c, r, code, fatal, "the rendezvous says: %s", text);
	return fatal ? COVE_ERR_STATE : COVE_OK;
}

static int on_ini(struct cove_chat *c, struct room *r, const struct cove_frame *f)
{
	const struct cove_wl_entry *e;
	struct member *m;
	char fp[COVE_FP_LEN + 1];
	int joins;

	if (memcmp(f->from, c->relay, COVE_ID_LEN) == 0)
		return on_key_frame(c, r, f, epoch_first);
	if (memcmp(f->from, c->id->pk, COVE_ID_LEN) == 0)
		return COVE_OK; /* our own INI, echoed: nothing to learn */
	e = cove_wl_find_pk(c->wl, f->from);
	if (!e) {
		if (room_verify(c, f) != COVE_OK)
			return COVE_OK;
		cove_pk_fingerprint(fp, f->from);
		room_say(c, r, "not_whitelisted", 0,
			 "key %s joined room %s but is not on your whitelist; it will not get "
			 "the key from you and its messages will not be shown", fp, r->name);
		return room_stranger(r, f->from, 1);
	}
	if (room_verify(c, f) != COVE_OK) {
		room_say(c, r, "bad_signature", 0, "dropped a join of %s with a bad signature",
			 e->name);
		return COVE_OK;
	}
	m = room_member_add(r, f->from, e->name);
	if (!m)
		return COVE_ERR_NOMEM;
	if (f->seq < m->ini_seq)
		return COVE_OK; /* older than its latest INI: a replay */
	if (m->left && (f->seq == m->ini_seq ||
			sodium_memcmp(f->u.ini.xpk, m->left_xpk, COVE_XPK_LEN) == 0)) {
		/* It left: only a new join brings it back, with a session key it
		 * did not leave with (the relay may be replaying its old one). */
		room_say(c, r, "replay", 0,
			 "ignored an old join of %s in room %s: it left, and comes back only with "
			 "a new one", m->name, r->name);
		return COVE_OK;
	}
	/* The same INI again is the relay telling a new link who is here; a
	 * newer one with another session key replaces the key it had. */
	if (f->seq != m->ini_seq) {
		m->ini_seen_ms = c->deps.now_ms();
		m->caught_up = 0;
	}
	/* A member from now on: we send it again only what we send from here
	 * (not what was said before it came, or while it was gone), and one
	 * back after leaving gets a new epoch, not the one made without it.
	 * One that was a member already comes back from away: that is news
	 * of presence (PRS), not of a join. */
	joins = !m->member_since_ms || m->left;
	if (joins)
		m->member_since_ms = c->deps.now_ms();
	if (m->left)
		m->returned_ms = c->deps.now_ms();
	if (f->seq > m->ini_seq)
		m->reported_gone = 0; /* a newer INI: back, whatever was said */
	m->ini_seq = f->seq;
	m->ini_ts = f->ts;
	m->left = 0;
	memcpy(m->xpk, f->u.ini.xpk, COVE_XPK_LEN);
	r->state_dirty = 1;
	if (r->catching_up && c->rseq_now) {
		/* From the backlog: who joined while we were away, and the key
		 * it had then; whether it is here now is the relay's PRS. */
		m->exposed = 1;
		return COVE_OK;
	}
	m->away = 0;
	if (!m->present) {
		m->present = 1;
		m->exposed = 1; /* it gets the current key, from us or another */
		m->seen_ms = c->deps.now_ms();
		/* a member new to us joined; one we knew is back (its INI, not a
		 * PRS, says so: PROTOCOL.md 5.10) */
		if (r->st == R_READY && c->ui.joined && joins)
			c->ui.joined(c->ui.ctx, r->name, m->name);
		else if (r->st == R_READY && c->ui.presence && !joins)
			c->ui.presence(c->ui.ctx, r->name, m->name, 1, m->seen_ms);
	}
	return COVE_OK;
}

static int on_bye(struct cove_chat *c, struct room *r, const struct cove_frame *f,
		  const uint8_t *raw, size_t len, int from_relay)
{
	struct member *m = room_member(r, f->u.bye.who);

	/* A member's own BYE is its signed leave; the relay signs the BYE of
	 * one whose connection was lost. */
	if (!from_relay && (memcmp(f->from, f->u.bye.who, COVE_ID_LEN) != 0 ||
			    room_verify(c, f) != COVE_OK))
		return COVE_OK;
	if (!m)
		return room_stranger(r, f->u.bye.who, 0);
	if (!m->present && m->left)
		return COVE_OK;
	if (!from_relay && f->seq <= m->ini_seq) {
		/* Older than the join we have of it: a goodbye from before it
		 * came back, replayed (a member's numbers only rise). */
		room_say(c, r, "replay", 0, "ignored an old goodbye of %s in room %s: it has "
			 "joined again since", m->name, r->name);
		return COVE_OK;
	}
	m->present = 0;
	m->left = 1;
	memcpy(m->left_xpk, m->xpk, COVE_XPK_LEN);
	r->state_dirty = 1;
	if ((r->st == R_READY || r->catching_up) && c->ui.left)
		c->ui.left(c->ui.ctx, r->name, m->name);
	/* It was here under our current key: it may hold it. */
	if (m->exposed)
		epoch_taint(c, r, m->name, "has left the room", 0);
	/* Tell the others, end to end, with the member's own signed BYE as
	 * proof: a relay may show it to some of us only. A BYE the relay
	 * signed (a removal) is the relay's own word, which it could as well
	 * not give: no GONE can add to it. */
	if (r->st == R_READY && c->authed && !from_relay && raw)
		msgs_gone(c, r, raw, len);
	return COVE_OK;
}

static int on_fwd(struct cove_chat *c, const struct cove_frame *f);

static int core_frame(struct cove_chat *c, const struct cove_frame *f, const uint8_t *raw,
		      size_t len)
{
	struct room *r;
	int from_relay = memcmp(f->from, c->relay, COVE_ID_LEN) == 0;

	/* Frames only the relay may send must carry its signature; a bad one
	 * over our authenticated link means a broken relay: say so, drop it. */
	switch (f->type) {
	case COVE_F_WLC:
	case COVE_F_ERR:
	case COVE_F_ASK:
	case COVE_F_REK:
	case COVE_F_UPD:
	case COVE_F_PRS:
		if (!from_relay || cove_msg_verify_by(f, c->relay) != COVE_OK) {
			room_say(c, NULL, "bad_signature", 0,
				 "dropped a frame of type %u not signed by the rendezvous",
				 f->type);
			return COVE_OK;
		}
		break;
	case COVE_F_INI:
	case COVE_F_BYE:
		if (from_relay && cove_msg_verify_by(f, c->relay) != COVE_OK) {
			room_say(c, NULL, "bad_signature", 0,
				 "dropped a frame of type %u not signed by the rendezvous",
				 f->type);
			return COVE_OK;
		}
		break;
	}
	if (f->type == COVE_F_WLC)
		return on_wlc(c, f);
	if (f->type == COVE_F_ERR)
		return on_err(c, f);
	if (f->type == COVE_F_FWD)
		return on_fwd(c, f);
	r = room_find(c, f->room, f->room_len);
	if (!r)
		return COVE_OK; /* not one of our rooms: the relay erred; ignore */
	/* A member's INI, and presence, that come bare while we catch up wait
	 * for the backlog: see room.h, bare_ini. */
	if (((f->type == COVE_F_INI && !from_relay && memcmp(f->from, c->id->pk, COVE_ID_LEN)) ||
	     f->type == COVE_F_PRS) &&
	    r->catching_up && !c->rseq_now && raw &&
	    msgs_hold_frame(&r->bare_ini, &r->nbare_ini, raw, len))
		return COVE_OK;
	switch (f->type) {
	case COVE_F_INI: return on_ini(c, r, f);
	case COVE_F_ASK: return on_key_frame(c, r, f, epoch_ask);
	case COVE_F_KEY: return on_key_frame(c, r, f, epoch_key);
	case COVE_F_REK: return on_key_frame(c, r, f, epoch_rek);
	case COVE_F_DAT: return msgs_dat(c, r, f, raw, len);
	case COVE_F_BYE: return on_bye(c, r, f, raw, len, from_relay);
	case COVE_F_UPD: return on_upd(c, r, f);
	case COVE_F_PRS: return on_prs(c, r, f);
	}
	return COVE_OK;
}

/* A stored frame of a room, as the relay numbered it: handled as if it
 * had come bare (its author's signature is checked as ever), then the
 * cursor moves to it. Only what a room stores may be inside. */
static int on_fwd(struct cove_chat *c, const struct cove_frame *f)
{
	struct cove_frame in;
	struct room *r;
	int ret;

	ret = cove_frame_decode(&in, f->u.fwd.frame, f->u.fwd.frame_len);
	if (ret == COVE_OK && in.type != COVE_F_INI && in.type != COVE_F_KEY &&
	    in.type != COVE_F_DAT && in.type != COVE_F_BYE)
		ret = COVE_ERR_TYPE;
	r = ret == COVE_OK ? room_find(c, in.room, in.room_len) : NULL;
	if (!r) {
		room_say(c, NULL, "bad_forward", 0, "dropped a frame the rendezvous forwarded "
			 "(room number %llu): %s", (unsigned long long)f->u.fwd.rseq,
			 ret == COVE_OK ? "not for one of your rooms" :
			 ret == COVE_ERR_TYPE ? "a room stores no frame of its type" :
			 cove_strerror(ret));
		return COVE_OK;
	}
	c->rseq_now = f->u.fwd.rseq;
	r->cu_last_ms = c->deps.now_ms(); /* the catch-up moves */
	/* a check the caller made of the FWD is of the frame it carries */
	if (c->sig_of == f)
		c->sig_of = &in;
	ret = core_frame(c, &in, f->u.fwd.frame, f->u.fwd.frame_len);
	c->sig_of = NULL; /* &in ends here */
	c->rseq_now = 0;
	if (ret == COVE_OK)
		persist_cursor(c, r, f->u.fwd.rseq, f->u.fwd.rdat);
	return ret;
}

static void save_dirty(struct cove_chat *c)
{
	for (size_t i = 0; i < c->nrooms; i++)
		if (c->rooms[i].state_dirty)
			persist_save(c, &c->rooms[i]);
}

int cove_chat_frame(struct cove_chat *c, const struct cove_frame *f, const uint8_t *raw, size_t len)
{
	return cove_chat_frame_checked(c, f, raw, len, COVE_CHAT_SIG_UNCHECKED);
}

int cove_chat_frame_checked(struct cove_chat *c, const struct cove_frame *f, const uint8_t *raw,
			    size_t len, int sig)
{
	int ret;

	if (sig == COVE_CHAT_SIG_GOOD || sig == COVE_CHAT_SIG_BAD) {
		c->sig_of = f;
		c->sig = sig;
	}
	ret = core_frame(c, f, raw, len);
	c->sig_of = NULL;
	save_dirty(c);
	if (ret == COVE_ERR_NOMEM)
		room_say(c, NULL, "no_memory", 1, "out of memory; the node cannot go on");
	return ret;
}

/* A catch-up that has not moved for COVE_CHAT_SYN_TIMEOUT_MS: neither a
 * frame of it nor its UPD nor an ERR came. The relay refuses a second SYN
 * on a link, so only a new link asks again (from the cursor reached). */
static int catch_up_stalled(struct cove_chat *c, struct room *r, uint64_t now)
{
	if (!r->catching_up || now - r->cu_last_ms < COVE_CHAT_SYN_TIMEOUT_MS)
		return 0;
	r->cu_last_ms = now; /* said once per period */
	room_say(c, r, "catch_up_stalled", 0,
		 "room %s: the rendezvous sent nothing of what you missed for %u s; "
		 "connecting again to ask for it", r->name, COVE_CHAT_SYN_TIMEOUT_MS / 1000);
	return 1;
}

int cove_chat_tick(struct cove_chat *c)
{
	uint64_t now = c->deps.now_ms();
	int stalled = 0;

	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];

		stalled |= catch_up_stalled(c, r, now);
		if (r->numbers_dirty && now - r->numbers_saved_ms >= COVE_CHAT_NUMBERS_SAVE_MS)
			r->state_dirty = 1;
		if (r->st == R_READY && c->authed && now >= r->ini_refresh_ms)
			send_ini(c, r, 1);
		/* A rekey that stalls after a leave: tell the room of it again,
		 * as a new message (room.h, gone_bye). */
		if (epoch_tick(c, r, now) && r->gone_bye && r->tainted)
			msgs_gone(c, r, r->gone_bye, r->gone_len);
		msgs_tick(c, r, now);
		msgs_flush(c, r); /* what the pace held back */
	}
	save_dirty(c);
	return stalled ? COVE_ERR_TIMEOUT : COVE_OK;
}
