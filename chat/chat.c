/*
 * chat.c - the chat core's driver: the interface of chat.h, what each
 * frame from the relay does, joins and leaves, the link.
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

static void room_free(struct room *r)
{
	cove_xkp_free(r->xkp);
	cove_xkp_free(r->old_xkp);
	epoch_wipe(r);
	msgs_free(r);
	for (size_t k = 0; k < r->nmembers; k++)
		free(r->members[k].gaps);
	free(r->members);
	free(r->strangers);
}

void cove_chat_free(struct cove_chat *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrooms; i++)
		room_free(&c->rooms[i]);
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
	return COVE_OK;
}

size_t cove_chat_room_count(const struct cove_chat *c)
{
	return c->nrooms;
}

const char *cove_chat_room_name(const struct cove_chat *c, size_t i)
{
	return i < c->nrooms ? c->rooms[i].name : NULL;
}

size_t cove_chat_queued(const struct cove_chat *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nrooms; i++)
		n += c->rooms[i].nq;
	return n;
}

void cove_chat_each_queued(const struct cove_chat *c,
			   void (*fn)(void *arg, const char *room, const char *text, size_t len),
			   void *arg)
{
	for (size_t i = 0; i < c->nrooms; i++)
		for (size_t k = 0; k < c->rooms[i].nq; k++)
			fn(arg, c->rooms[i].name, c->rooms[i].q[k].text, c->rooms[i].q[k].len);
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

int cove_chat_authed(const struct cove_chat *c)
{
	return c->authed;
}

void cove_chat_set_limits(struct cove_chat *c, unsigned rate, unsigned burst)
{
	room_pace_limits(c, rate, burst);
}

int cove_chat_who(const struct cove_chat *c, const char *room,
		  void (*fn)(void *arg, const char *name, const uint8_t pk[COVE_ID_LEN], int self),
		  void *arg)
{
	struct room *r = room_find((struct cove_chat *)c, room, strlen(room));
	const struct cove_wl_entry *me;

	if (!r)
		return COVE_ERR_NOTFOUND;
	me = cove_wl_find_pk(c->wl, c->id->pk);
	fn(arg, me ? me->name : "(you)", c->id->pk, 1);
	for (size_t i = 0; i < r->nmembers; i++)
		if (r->members[i].present)
			fn(arg, r->members[i].name, r->members[i].pk, 0);
	return COVE_OK;
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
		cove_xkp_free(r->xkp);
	}
	r->xkp = cove_xkp_new();
	if (!r->xkp)
		return COVE_ERR_NOMEM;
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
		msgs_holders(c, r, (const uint8_t (*)[32])d.gave, 1);
		break;
	}
	return ret;
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

	if (memcmp(f->from, c->relay, COVE_ID_LEN) == 0)
		return on_key_frame(c, r, f, epoch_first);
	if (memcmp(f->from, c->id->pk, COVE_ID_LEN) == 0)
		return COVE_OK; /* our own INI, echoed: nothing to learn */
	e = cove_wl_find_pk(c->wl, f->from);
	if (!e) {
		if (cove_msg_verify(f) != COVE_OK)
			return COVE_OK;
		cove_pk_fingerprint(fp, f->from);
		room_say(c, r, "not_whitelisted", 0,
			 "key %s joined room %s but is not on your whitelist; it will not get "
			 "the key from you and its messages will not be shown", fp, r->name);
		return room_stranger(r, f->from, 1);
	}
	if (cove_msg_verify(f) != COVE_OK) {
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
	 * back after leaving gets a new epoch, not the one made without it. */
	if (!m->member_since_ms || m->left)
		m->member_since_ms = c->deps.now_ms();
	if (m->left)
		m->returned_ms = c->deps.now_ms();
	if (f->seq > m->ini_seq)
		m->reported_gone = 0; /* a newer INI: back, whatever was said */
	m->ini_seq = f->seq;
	m->ini_ts = f->ts;
	m->left = 0;
	memcpy(m->xpk, f->u.ini.xpk, COVE_XPK_LEN);
	if (!m->present) {
		m->present = 1;
		m->exposed = 1; /* it gets the current key, from us or another */
		if (r->st == R_READY && c->ui.joined)
			c->ui.joined(c->ui.ctx, r->name, m->name);
	}
	return COVE_OK;
}

static int on_bye(struct cove_chat *c, struct room *r, const struct cove_frame *f, int from_relay)
{
	struct member *m = room_member(r, f->u.bye.who);

	/* A member's own BYE is its signed leave; the relay signs the BYE of
	 * one whose connection was lost. */
	if (!from_relay && (memcmp(f->from, f->u.bye.who, COVE_ID_LEN) != 0 ||
			    cove_msg_verify(f) != COVE_OK))
		return COVE_OK;
	if (!m)
		return room_stranger(r, f->u.bye.who, 0);
	if (!m->present && m->left)
		return COVE_OK;
	m->present = 0;
	m->left = 1;
	memcpy(m->left_xpk, m->xpk, COVE_XPK_LEN);
	if (r->st == R_READY && c->ui.left)
		c->ui.left(c->ui.ctx, r->name, m->name);
	/* It was here under our current key: it may hold it. */
	if (m->exposed)
		epoch_taint(c, r, m->name, "has left the room", 0);
	/* Tell the others, end to end: a relay may show this BYE to some of
	 * us only. */
	if (r->st == R_READY && c->authed)
		msgs_gone(c, r, m->pk);
	return COVE_OK;
}

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
	r = room_find(c, f->room, f->room_len);
	if (!r)
		return COVE_OK; /* not one of our rooms: the relay erred; ignore */
	switch (f->type) {
	case COVE_F_INI: return on_ini(c, r, f);
	case COVE_F_ASK: return on_key_frame(c, r, f, epoch_ask);
	case COVE_F_KEY: return on_key_frame(c, r, f, epoch_key);
	case COVE_F_REK: return on_key_frame(c, r, f, epoch_rek);
	case COVE_F_DAT: return msgs_dat(c, r, f, raw, len);
	case COVE_F_BYE: return on_bye(c, r, f, from_relay);
	}
	return COVE_OK;
}

int cove_chat_frame(struct cove_chat *c, const struct cove_frame *f, const uint8_t *raw, size_t len)
{
	int ret = core_frame(c, f, raw, len);

	if (ret == COVE_ERR_NOMEM)
		room_say(c, NULL, "no_memory", 1, "out of memory; the node cannot go on");
	return ret;
}

/* ---- what the user does -------------------------------------------------------- */

int cove_chat_send_text(struct cove_chat *c, const char *room, const char *text, size_t len)
{
	struct room *r = room ? room_find(c, room, strlen(room)) : (c->nrooms ? c->rooms : NULL);

	if (!r)
		return COVE_ERR_NOTFOUND;
	if (len == 0 || len > COVE_TEXT_MAX)
		return COVE_ERR_INVAL;
	if (r->st == R_FAILED)
		return COVE_ERR_STATE;
	if (r->st == R_READY && c->authed && r->nq == 0 && !epoch_blocked(c, r) &&
	    room_pace(c, 0))
		return msgs_send(c, r, text, len);
	if (r->st == R_READY && r->tainted && !r->taint_noted) {
		r->taint_noted = 1;
		room_note(c, r, "held",
			  "room %s: your message waits for the room's next key (%s %s)", r->name,
			  r->taint_who, r->taint_why);
	}
	return msgs_queue(r, text, len);
}

int cove_chat_rekey(struct cove_chat *c, const char *room)
{
	int any = 0;

	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];

		if (room && strcmp(r->name, room) != 0)
			continue;
		if (r->st != R_READY || !c->authed) {
			if (room)
				return COVE_ERR_STATE;
			continue;
		}
		r->last_rky_ms = 0; /* asked for by the user: not rate-limited */
		epoch_request(c, r, "asked for");
		any = 1;
	}
	return any || !room ? COVE_OK : COVE_ERR_NOTFOUND;
}

/* Our signed BYE for r, when r has sent its INI on this link: joining or
 * ready (cove_chat_link_down() sets rooms idle), perhaps before the
 * relay's WLC came, and the relay acts on a BYE behind it. Returns
 * whether it went. */
static int say_bye(struct cove_chat *c, struct room *r)
{
	struct cove_frame f;

	if (r->st != R_READY && r->st != R_JOINING)
		return 0;
	cove_msg_init(&f, COVE_F_BYE, r->name, r->name_len, c->id->pk, room_seq(c),
		      c->deps.now_ms());
	memcpy(f.u.bye.who, c->id->pk, COVE_ID_LEN);
	r->st = R_IDLE;
	return cove_msg_sign(&f, c->id) == COVE_OK && c->deps.send(c->deps.send_ctx, &f) == COVE_OK;
}

void cove_chat_leave_all(struct cove_chat *c)
{
	for (size_t i = 0; i < c->nrooms; i++)
		say_bye(c, &c->rooms[i]);
}

void cove_chat_quit(struct cove_chat *c)
{
	int bye = c->opts.bye_on_quit ? c->opts.bye_on_quit > 0 : COVE_CHAT_BYE_ON_QUIT;

	if (bye)
		cove_chat_leave_all(c);
}

int cove_chat_leave(struct cove_chat *c, const char *room)
{
	struct room *r = room_find(c, room, strlen(room));
	size_t i;

	if (!r)
		return COVE_ERR_NOTFOUND;
	/* Joined on an earlier link, and this one not up yet: without the
	 * BYE the others would keep us a member. */
	if (r->st == R_IDLE && r->ever_keyed)
		return COVE_ERR_STATE;
	say_bye(c, r);
	if (r->nq)
		room_say(c, r, "not_sent", 0, "%zu message%s waiting for room %s were dropped: "
			 "you left it", r->nq, r->nq == 1 ? "" : "s", r->name);
	if (c->deps.persist.forget)
		c->deps.persist.forget(c->deps.persist.ctx, r->name);
	room_free(r);
	i = (size_t)(r - c->rooms);
	memmove(r, r + 1, (c->nrooms - i - 1) * sizeof(*r));
	c->nrooms--;
	return COVE_OK;
}

void cove_chat_set_whitelist(struct cove_chat *c, const struct cove_wl *wl)
{
	c->wl = wl;
	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];
		int distrusted = 0;

		for (size_t k = 0; k < r->nmembers; k++) {
			struct member *m = &r->members[k];
			const struct cove_wl_entry *e = cove_wl_find_pk(wl, m->pk);

			if (e) {
				snprintf(m->name, sizeof(m->name), "%s", e->name);
			} else if (m->exposed && r->gk) {
				/* It may hold our key: nothing more under it, and a
				 * new epoch asked for (made by us, since we ask: it
				 * goes only to those we trust). Also while the room
				 * is joined again after a lost link: the key we hold
				 * comes back as it was, and must stay tainted. */
				epoch_taint(c, r, m->name, "is no longer on your whitelist", 0);
			} else if (m->present) {
				distrusted = 1;
			}
		}
		if (distrusted && r->st == R_READY && !r->tainted) {
			r->last_rky_ms = 0;
			epoch_request(c, r, "someone present left your whitelist");
		}
	}
}

void cove_chat_tick(struct cove_chat *c)
{
	uint64_t now = c->deps.now_ms();

	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];

		if (r->st == R_READY && c->authed && now >= r->ini_refresh_ms)
			send_ini(c, r, 1);
		epoch_tick(c, r, now);
		msgs_tick(c, r, now);
		msgs_flush(c, r); /* what the pace held back */
	}
}
