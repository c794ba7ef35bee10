/*
 * core.c - the node's rooms and what each frame from the relay does.
 *
 * A room goes JOINING (INI sent, session X25519 key held) -> READY (group
 * key held; the session key wiped) or FAILED. Before it acts on a frame
 * the core checks, in this order: that it concerns one of our rooms, that
 * its sender is who the frame type allows (the pinned relay, or a member
 * on our own whitelist), and its signature.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/utf8.h"
#include "crypto/group.h"
#include "node/core.h"
#include "proto/msg.h"

enum room_state { R_IDLE, R_JOINING, R_READY, R_FAILED };

struct member {
	uint8_t pk[COVE_ID_LEN];
	char name[COVE_NAME_MAX + 1];
	uint8_t xpk[COVE_XPK_LEN];  /* from its latest INI */
	int present;
	uint64_t ini_seq;           /* seq of its latest INI: older INIs are replays */
	uint64_t last_seq;          /* highest DAT seq accepted: replays fall below */
};

struct queued {
	char *text;
	size_t len;
};

struct room {
	char name[COVE_ROOM_MAX + 1];
	size_t name_len;
	enum room_state st;
	struct cove_xkp *xkp;       /* while joining */
	uint8_t *gk;                /* locked memory, once ready */
	uint32_t epoch;
	uint8_t sid[COVE_SID_LEN];
	uint64_t joined_ms;         /* when we sent our INI */
	struct member *members;
	size_t nmembers;
	struct queued *q;
	size_t nq;
};

struct nd_core {
	const struct cove_ident *id;
	const struct cove_wl *wl;
	uint8_t relay[COVE_ID_LEN];
	struct nd_ui ui;
	struct nd_core_deps deps;
	int authed;
	uint64_t seq;
	struct room *rooms;
	size_t nrooms;
	uint8_t *pt;                /* DAT plaintext scratch, COVE_PAD_MAX bytes */
	uint8_t *ct;                /* DAT ciphertext scratch, COVE_DAT_CT_MAX bytes */
};

/* ---- small helpers -------------------------------------------------------- */

static void say(struct nd_core *c, const struct room *r, const char *code, int fatal,
		const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void say(struct nd_core *c, const struct room *r, const char *code, int fatal,
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

/* "alice" for whitelisted keys, else the fingerprint, for messages. */
static const char *who(const struct nd_core *c, const uint8_t pk[COVE_ID_LEN], char *buf,
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

static struct room *find_room(struct nd_core *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->nrooms; i++)
		if (c->rooms[i].name_len == len && memcmp(c->rooms[i].name, name, len) == 0)
			return &c->rooms[i];
	return NULL;
}

static struct member *find_member(struct room *r, const uint8_t pk[COVE_ID_LEN])
{
	for (size_t i = 0; i < r->nmembers; i++)
		if (memcmp(r->members[i].pk, pk, COVE_ID_LEN) == 0)
			return &r->members[i];
	return NULL;
}

static struct member *add_member(struct room *r, const uint8_t pk[COVE_ID_LEN],
				 const char *name)
{
	struct member *m = find_member(r, pk), *nm;

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

static uint64_t next_seq(struct nd_core *c)
{
	return ++c->seq;
}

/* ---- life cycle ----------------------------------------------------------- */

struct nd_core *nd_core_new(const struct cove_ident *id, const struct cove_wl *wl,
			    const uint8_t relay_pk[COVE_ID_LEN], const struct nd_ui *ui,
			    const struct nd_core_deps *deps)
{
	struct nd_core *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->id = id;
	c->wl = wl;
	memcpy(c->relay, relay_pk, COVE_ID_LEN);
	c->ui = *ui;
	c->deps = *deps;
	/* Sequence numbers start at the clock in microseconds, so that they
	 * keep rising across restarts and receivers can drop replays. */
	c->seq = deps->now_us();
	c->pt = sodium_malloc(COVE_PAD_MAX);
	c->ct = malloc(COVE_DAT_CT_MAX);
	if (!c->pt || !c->ct) {
		nd_core_free(c);
		return NULL;
	}
	return c;
}

static void room_clear_queue(struct room *r)
{
	for (size_t i = 0; i < r->nq; i++) {
		sodium_memzero(r->q[i].text, r->q[i].len);
		free(r->q[i].text);
	}
	free(r->q);
	r->q = NULL;
	r->nq = 0;
}

void nd_core_free(struct nd_core *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nrooms; i++) {
		struct room *r = &c->rooms[i];

		cove_xkp_free(r->xkp);
		cove_gk_free(r->gk);
		free(r->members);
		room_clear_queue(r);
	}
	free(c->rooms);
	if (c->pt)
		sodium_free(c->pt);
	free(c->ct);
	free(c);
}

int nd_core_add_room(struct nd_core *c, const char *name)
{
	size_t len = strlen(name);
	struct room *nr;

	if (!cove_room_valid(name, len))
		return COVE_ERR_INVAL;
	if (find_room(c, name, len))
		return COVE_ERR_EXISTS;
	nr = realloc(c->rooms, (c->nrooms + 1) * sizeof(*nr));
	if (!nr)
		return COVE_ERR_NOMEM;
	c->rooms = nr;
	nr = &c->rooms[c->nrooms++];
	memset(nr, 0, sizeof(*nr));
	memcpy(nr->name, name, len);
	nr->name_len = len;
	return COVE_OK;
}

size_t nd_core_room_count(const struct nd_core *c)
{
	return c->nrooms;
}

const char *nd_core_room_name(const struct nd_core *c, size_t i)
{
	return i < c->nrooms ? c->rooms[i].name : NULL;
}

size_t nd_core_queued(const struct nd_core *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nrooms; i++)
		n += c->rooms[i].nq;
	return n;
}

int nd_core_settled(const struct nd_core *c)
{
	for (size_t i = 0; i < c->nrooms; i++)
		if (c->rooms[i].st != R_READY && c->rooms[i].st != R_FAILED)
			return 0;
	return 1;
}

size_t nd_core_ready_count(const struct nd_core *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->nrooms; i++)
		n += c->rooms[i].st == R_READY;
	return n;
}

int nd_core_who(const struct nd_core *c, const char *room,
		void (*fn)(void *arg, const char *name, const uint8_t pk[COVE_ID_LEN], int self),
		void *arg)
{
	struct room *r = find_room((struct nd_core *)c, room, strlen(room));
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

/* ---- sending -------------------------------------------------------------- */

static int send_ini(struct nd_core *c, struct room *r)
{
	struct cove_frame f;
	int ret;

	cove_xkp_free(r->xkp);
	r->xkp = cove_xkp_new();
	if (!r->xkp)
		return COVE_ERR_NOMEM;
	r->joined_ms = c->deps.now_ms();
	cove_msg_init(&f, COVE_F_INI, r->name, r->name_len, c->id->pk, next_seq(c),
		      r->joined_ms);
	memcpy(f.u.ini.xpk, r->xkp->pk, COVE_XPK_LEN);
	ret = cove_msg_sign(&f, c->id);
	if (ret == COVE_OK)
		ret = c->deps.send(c->deps.send_ctx, &f);
	if (ret == COVE_OK)
		r->st = R_JOINING;
	return ret;
}

static int send_dat(struct nd_core *c, struct room *r, const char *text, size_t len)
{
	struct cove_payload pl = { COVE_PL_TEXT, text, len };
	struct cove_frame f;
	int ret;

	cove_msg_init(&f, COVE_F_DAT, r->name, r->name_len, c->id->pk, next_seq(c),
		      c->deps.now_ms());
	f.u.dat.epoch = r->epoch;
	memcpy(f.u.dat.sid, r->sid, COVE_SID_LEN);
	ret = cove_msg_dat_seal(&f, c->ct, COVE_DAT_CT_MAX, &pl, r->gk, c->id);
	if (ret == COVE_OK)
		ret = c->deps.send(c->deps.send_ctx, &f);
	return ret;
}

static void flush_queue(struct nd_core *c, struct room *r)
{
	size_t done = 0;

	while (done < r->nq) {
		int ret = send_dat(c, r, r->q[done].text, r->q[done].len);

		if (ret != COVE_OK) {
			say(c, r, "send_failed", 0, "a queued message could not be sent: %s",
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

int nd_core_send_text(struct nd_core *c, const char *room, const char *text, size_t len)
{
	struct room *r = room ? find_room(c, room, strlen(room)) : (c->nrooms ? c->rooms : NULL);
	struct queued *nq;
	char *copy;

	if (!r)
		return COVE_ERR_NOTFOUND;
	if (len == 0 || len > COVE_TEXT_MAX)
		return COVE_ERR_INVAL;
	if (!cove_utf8_valid(text, len))
		return COVE_ERR_UTF8;
	if (r->st == R_FAILED)
		return COVE_ERR_STATE;
	if (r->st == R_READY && r->nq > 0)
		flush_queue(c, r); /* what an earlier failure left, first */
	if (r->st == R_READY && r->nq == 0)
		return send_dat(c, r, text, len);
	if (r->nq >= ND_QUEUE_MAX)
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

/* ---- receiving ------------------------------------------------------------ */

/* Tells the relay we hold the key, which completes our join there. */
static void send_rdy(struct nd_core *c, struct room *r)
{
	struct cove_frame f;
	int ret;

	cove_msg_init(&f, COVE_F_RDY, r->name, r->name_len, c->id->pk, next_seq(c),
		      c->deps.now_ms());
	f.u.rdy.epoch = r->epoch;
	ret = cove_msg_sign(&f, c->id);
	if (ret == COVE_OK)
		ret = c->deps.send(c->deps.send_ctx, &f);
	if (ret != COVE_OK)
		say(c, r, "send_failed", 0, "cannot confirm the join of room %s: %s", r->name,
		    cove_strerror(ret));
}

static void become_ready(struct nd_core *c, struct room *r, int first)
{
	const char **names;
	size_t n = 0;

	cove_xkp_free(r->xkp); /* the session key has done its job */
	r->xkp = NULL;
	randombytes_buf(r->sid, sizeof(r->sid));
	r->st = R_READY;
	send_rdy(c, r);
	names = calloc(r->nmembers + 1, sizeof(*names));
	if (names)
		for (size_t i = 0; i < r->nmembers; i++)
			if (r->members[i].present)
				names[n++] = r->members[i].name;
	if (c->ui.ready)
		c->ui.ready(c->ui.ctx, r->name, first, names, names ? n : 0);
	free(names);
	flush_queue(c, r);
}

static int on_wlc(struct nd_core *c, const struct cove_frame *f)
{
	if (c->authed || memcmp(f->u.wlc.you, c->id->pk, COVE_ID_LEN) != 0)
		return COVE_OK;
	c->authed = 1;
	if (c->ui.connected)
		c->ui.connected(c->ui.ctx);
	for (size_t i = 0; i < c->nrooms; i++) {
		int ret = send_ini(c, &c->rooms[i]);

		if (ret != COVE_OK) {
			say(c, &c->rooms[i], "send_failed", 1, "cannot send the join: %s",
			    cove_strerror(ret));
			return ret;
		}
	}
	return COVE_OK;
}

static int on_err(struct nd_core *c, const struct cove_frame *f)
{
	struct room *r = f->room_len ? find_room(c, f->room, f->room_len) : NULL;
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
			say(c, NULL, code, 1, "the rendezvous refused this node: %s", text);
			return COVE_ERR_STATE;
		}
		break;
	case COVE_EC_REVOKED:
	case COVE_EC_SHUTDOWN:
		fatal = 1;
		break;
	case COVE_EC_NO_KEY:
		if (r && r->st == R_JOINING) {
			r->st = R_FAILED;
			cove_xkp_free(r->xkp);
			r->xkp = NULL;
			if (r->nq)
				say(c, r, "dropped", 0, "%zu queued message%s for room %s dropped",
				    r->nq, r->nq == 1 ? "" : "s", r->name);
			room_clear_queue(r);
			fatal = nd_core_ready_count(c) == 0 && nd_core_settled(c);
		}
		break;
	}
	say(c, r, code, fatal, "the rendezvous says: %s", text);
	return fatal ? COVE_ERR_STATE : COVE_OK;
}

static int on_first(struct nd_core *c, struct room *r, const struct cove_frame *f)
{
	if (r->st != R_JOINING || !r->xkp ||
	    memcmp(f->u.ini.xpk, r->xkp->pk, COVE_XPK_LEN) != 0)
		return COVE_OK; /* not about our current join: stale, ignore */
	r->gk = cove_gk_new();
	if (!r->gk) {
		say(c, r, "no_memory", 1, "out of locked memory for the group key");
		return COVE_ERR_NOMEM;
	}
	r->epoch = 0;
	become_ready(c, r, 1);
	return COVE_OK;
}

static int on_ini(struct nd_core *c, struct room *r, const struct cove_frame *f)
{
	const struct cove_wl_entry *e;
	struct member *m;
	char fp[COVE_FP_LEN + 1];

	if (memcmp(f->from, c->relay, COVE_ID_LEN) == 0)
		return on_first(c, r, f);
	if (memcmp(f->from, c->id->pk, COVE_ID_LEN) == 0)
		return COVE_OK; /* our own INI, echoed: nothing to learn */
	e = cove_wl_find_pk(c->wl, f->from);
	if (!e) {
		cove_pk_fingerprint(fp, f->from);
		say(c, r, "not_whitelisted", 0,
		    "key %s joined room %s but is not on your whitelist; it will not get "
		    "the key from you and its messages will not be shown", fp, r->name);
		return COVE_OK;
	}
	if (cove_msg_verify(f) != COVE_OK) {
		say(c, r, "bad_signature", 0, "dropped a join of %s with a bad signature",
		    e->name);
		return COVE_OK;
	}
	m = add_member(r, f->from, e->name);
	if (!m)
		return COVE_ERR_NOMEM;
	if (f->seq <= m->ini_seq)
		return COVE_OK; /* an INI we have seen, or an older one: a replay */
	m->ini_seq = f->seq;
	memcpy(m->xpk, f->u.ini.xpk, COVE_XPK_LEN);
	if (!m->present) {
		m->present = 1;
		if (r->st == R_READY && c->ui.joined)
			c->ui.joined(c->ui.ctx, r->name, m->name);
	}
	return COVE_OK;
}

static int on_ask(struct nd_core *c, struct room *r, const struct cove_frame *f)
{
	struct cove_frame k;
	struct member *m;
	char name[64];
	int ret;

	if (memcmp(f->u.ask.to, c->id->pk, COVE_ID_LEN) != 0 || r->st != R_READY)
		return COVE_OK;
	if (!cove_wl_find_pk(c->wl, f->u.ask.joiner)) {
		say(c, r, "refused_key", 0,
		    "refusing to give the key of room %s to %s: not on your whitelist", r->name,
		    who(c, f->u.ask.joiner, name, sizeof(name)));
		return COVE_OK;
	}
	m = find_member(r, f->u.ask.joiner);
	if (!m || !m->present || memcmp(m->xpk, f->u.ask.xpk, COVE_XPK_LEN) != 0) {
		/* The key may only go to a session key the joiner signed. */
		say(c, r, "refused_key", 0,
		    "not giving the key of room %s to %s: no join signed by it with that "
		    "session key", r->name, who(c, f->u.ask.joiner, name, sizeof(name)));
		return COVE_OK;
	}
	cove_msg_init(&k, COVE_F_KEY, r->name, r->name_len, c->id->pk, next_seq(c),
		      c->deps.now_ms());
	ret = cove_msg_key_seal(&k, m->pk, m->xpk, r->epoch, r->gk, c->id);
	if (ret == COVE_OK)
		ret = c->deps.send(c->deps.send_ctx, &k);
	if (ret != COVE_OK)
		say(c, r, "send_failed", 0, "cannot send the key to %s: %s", m->name,
		    cove_strerror(ret));
	return COVE_OK;
}

static int on_key(struct nd_core *c, struct room *r, const struct cove_frame *f)
{
	const struct cove_wl_entry *e;
	uint8_t *gk;
	char name[64];
	int ret;

	if (memcmp(f->u.key.to, c->id->pk, COVE_ID_LEN) != 0)
		return COVE_OK;
	e = cove_wl_find_pk(c->wl, f->from);
	if (!e) {
		say(c, r, "not_whitelisted", 0,
		    "ignored a key for room %s from %s: not on your whitelist", r->name,
		    who(c, f->from, name, sizeof(name)));
		return COVE_OK;
	}
	if (cove_msg_verify(f) != COVE_OK) {
		say(c, r, "bad_signature", 0, "ignored a key for room %s from %s: bad signature",
		    r->name, e->name);
		return COVE_OK;
	}
	if (r->st != R_JOINING || !r->xkp)
		return COVE_OK; /* a late second answer to our join */
	gk = cove_gk_alloc();
	if (!gk)
		return COVE_ERR_NOMEM;
	ret = cove_msg_key_open(f, r->xkp, gk);
	if (ret != COVE_OK) {
		cove_gk_free(gk);
		if (ret != COVE_ERR_INVAL) /* INVAL: sealed to an older session key */
			say(c, r, "bad_key", 0, "the key for room %s from %s does not open",
			    r->name, e->name);
		return COVE_OK;
	}
	r->gk = gk;
	r->epoch = f->u.key.epoch;
	become_ready(c, r, 0);
	return COVE_OK;
}

static int on_dat(struct nd_core *c, struct room *r, const struct cove_frame *f)
{
	const struct cove_wl_entry *e;
	struct cove_payload pl;
	struct member *m;
	char name[64];
	int ret;

	if (r->st != R_READY || memcmp(f->from, c->id->pk, COVE_ID_LEN) == 0)
		return COVE_OK;
	e = cove_wl_find_pk(c->wl, f->from);
	if (!e) {
		say(c, r, "not_whitelisted", 0,
		    "dropped a message in room %s from %s: not on your whitelist", r->name,
		    who(c, f->from, name, sizeof(name)));
		return COVE_OK;
	}
	if (cove_msg_verify(f) != COVE_OK) {
		say(c, r, "bad_signature", 0,
		    "dropped a message in room %s claiming to be from %s: bad signature",
		    r->name, e->name);
		return COVE_OK;
	}
	if (f->u.dat.epoch != r->epoch) {
		say(c, r, "wrong_epoch", 0,
		    "dropped a message in room %s from %s: key epoch %u, ours is %u", r->name,
		    e->name, f->u.dat.epoch, r->epoch);
		return COVE_OK;
	}
	m = add_member(r, f->from, e->name);
	if (!m)
		return COVE_ERR_NOMEM;
	/* Sequence numbers only rise, so a DAT numbered below its sender's
	 * latest INI comes from an earlier session, and one stamped well
	 * before we joined was recorded before: both are replays of old
	 * traffic, whatever the relay claims. */
	if (f->seq <= m->ini_seq || f->ts + ND_STALE_MS < r->joined_ms) {
		say(c, r, "replay", 0,
		    "dropped a message in room %s from %s sent before you joined (an old "
		    "message replayed)", r->name, e->name);
		return COVE_OK;
	}
	if (f->seq <= m->last_seq) {
		say(c, r, "replay", 0,
		    "dropped a replayed message in room %s from %s (seq %llu, already at %llu)",
		    r->name, e->name, (unsigned long long)f->seq,
		    (unsigned long long)m->last_seq);
		return COVE_OK;
	}
	ret = cove_msg_dat_open(f, r->gk, c->pt, COVE_PAD_MAX, &pl);
	if (ret == COVE_ERR_TYPE) {
		m->last_seq = f->seq;
		say(c, r, "unsupported", 0,
		    "%s sent content of kind %u, which this version cannot show", e->name,
		    pl.kind);
	} else if (ret != COVE_OK) {
		say(c, r, "bad_message", 0,
		    "dropped a message in room %s from %s: %s", r->name, e->name,
		    cove_strerror(ret));
	} else {
		m->last_seq = f->seq;
		if (c->ui.message)
			c->ui.message(c->ui.ctx, r->name, e->name, pl.text, pl.text_len, f->ts);
	}
	{
		/* the plaintext, or whatever part of it decryption wrote */
		size_t n = f->u.dat.ct_len > COVE_GCM_TAG_LEN ? f->u.dat.ct_len - COVE_GCM_TAG_LEN : 0;

		sodium_memzero(c->pt, n < COVE_PAD_MAX ? n : COVE_PAD_MAX);
	}
	return COVE_OK;
}

static int on_bye(struct nd_core *c, struct room *r, const struct cove_frame *f)
{
	struct member *m = find_member(r, f->u.bye.who);

	if (!m || !m->present)
		return COVE_OK;
	m->present = 0;
	if (r->st == R_READY && c->ui.left)
		c->ui.left(c->ui.ctx, r->name, m->name);
	return COVE_OK;
}

static int core_frame(struct nd_core *c, const struct cove_frame *f);

int nd_core_frame(struct nd_core *c, const struct cove_frame *f)
{
	int ret = core_frame(c, f);

	if (ret == COVE_ERR_NOMEM)
		say(c, NULL, "no_memory", 1, "out of memory; the node cannot go on");
	return ret;
}

static int core_frame(struct nd_core *c, const struct cove_frame *f)
{
	struct room *r;
	int from_relay = memcmp(f->from, c->relay, COVE_ID_LEN) == 0;

	/* Frames only the relay may send must carry its signature; a bad one
	 * over our authenticated link means a broken relay: say so, drop it. */
	switch (f->type) {
	case COVE_F_WLC:
	case COVE_F_ERR:
	case COVE_F_ASK:
	case COVE_F_BYE:
		if (!from_relay || cove_msg_verify_by(f, c->relay) != COVE_OK) {
			say(c, NULL, "bad_signature", 0,
			    "dropped a frame of type %u not signed by the rendezvous", f->type);
			return COVE_OK;
		}
		break;
	case COVE_F_INI:
		if (from_relay && cove_msg_verify_by(f, c->relay) != COVE_OK) {
			say(c, NULL, "bad_signature", 0,
			    "dropped a 'you are first' not signed by the rendezvous");
			return COVE_OK;
		}
		break;
	}
	if (f->type == COVE_F_WLC)
		return on_wlc(c, f);
	if (f->type == COVE_F_ERR)
		return on_err(c, f);
	r = find_room(c, f->room, f->room_len);
	if (!r)
		return COVE_OK; /* not one of our rooms: the relay erred; ignore */
	switch (f->type) {
	case COVE_F_INI: return on_ini(c, r, f);
	case COVE_F_ASK: return on_ask(c, r, f);
	case COVE_F_KEY: return on_key(c, r, f);
	case COVE_F_DAT: return on_dat(c, r, f);
	case COVE_F_BYE: return on_bye(c, r, f);
	}
	return COVE_OK;
}
