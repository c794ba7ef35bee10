/*
 * keep.c - the node's history file, as the core and the front-ends use it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/err.h"
#include "common/file.h"
#include "hist/hist.h"
#include "node/keep.h"

struct keep_room {
	const char *name;
	int64_t id;
	/* the cursor handed over and not written yet: it goes into the file
	 * with the commit that holds the messages it counts */
	uint64_t rseq, rdat;
	int cursor_pending;
	uint64_t seen_start;        /* last seen, as read at start */
	uint64_t seen_written_ms;
	/* where nd_keep_older() goes on: the oldest message shown so far */
	uint64_t older_ts, older_id;
	int older_started;
};

struct nd_keep {
	struct cove_hist *h;        /* NULL: --history none */
	struct event *flush_ev;     /* active: commit at the end of this loop turn */
	struct event *batch_ev;     /* a timer: commit the messages waiting */
	int dirty;                  /* flush_ev is active */
	int batch_armed;            /* batch_ev is pending */
	size_t waiting;             /* messages and cursors written since the last commit */
	void (*warn)(void *ctx, const char *msg);
	void *warn_ctx;
	int warned_add, warned_flush;
	struct keep_room *rooms;
	size_t nrooms;
};

static void flush_cb(evutil_socket_t fd, short what, void *arg);
static void write_cursors(struct nd_keep *k);

int nd_keep_open(struct nd_keep **out, struct event_base *base, const char *path,
		 const struct cove_ident *id,
		 void (*warn)(void *ctx, const char *msg), void *ctx)
{
	struct nd_keep *k = calloc(1, sizeof(*k));
	int ret;

	*out = NULL;
	if (!k)
		return COVE_ERR_NOMEM;
	k->warn = warn;
	k->warn_ctx = ctx;
	if (path) {
		/* The folder says who is there and when: the owner's alone. */
		if (cove_file_make_parents(path, 0700) != 0) {
			free(k);
			return COVE_ERR_IO;
		}
		ret = cove_hist_open(&k->h, path, id);
		if (ret != COVE_OK) {
			free(k);
			return ret;
		}
		k->flush_ev = event_new(base, -1, 0, flush_cb, k);
		k->batch_ev = event_new(base, -1, 0, flush_cb, k);
		if (!k->flush_ev || !k->batch_ev) {
			if (k->flush_ev)
				event_free(k->flush_ev);
			if (k->batch_ev)
				event_free(k->batch_ev);
			cove_hist_close(k->h);
			free(k);
			return COVE_ERR_NOMEM;
		}
	}
	*out = k;
	return COVE_OK;
}

const char *nd_keep_strerror(char *buf, size_t cap, int err, const char *path)
{
	static const char what_to_do[] =
		"; start with --history none to keep nothing, or --history PATH for another file";
	struct stat sb;

	switch (err) {
	case COVE_ERR_STORE_FORMAT:
		if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
			snprintf(buf, cap, "history file %s is not a regular file (a FIFO or a "
				 "device?)%s", path, what_to_do);
		else
			snprintf(buf, cap, "history file %s is not a Cove history file, or is "
				 "damaged; it was left as it is%s", path, what_to_do);
		break;
	case COVE_ERR_VERSION:
		snprintf(buf, cap, "history file %s was written by a newer cove-node; it was left "
			 "as it is (use that version)%s", path, what_to_do);
		break;
	case COVE_ERR_KEY_MISMATCH:
		snprintf(buf, cap, "history file %s belongs to another identity (it does not open "
			 "with this key); it was left as it is%s", path, what_to_do);
		break;
	case COVE_ERR_BUSY:
		snprintf(buf, cap, "history file %s is in use by another cove-node%s", path,
			 what_to_do);
		break;
	case COVE_ERR_IO:
		if (errno == EBUSY)
			snprintf(buf, cap, "history file %s is in use by another cove-node%s", path,
				 what_to_do);
		else if (errno == EISDIR)
			snprintf(buf, cap, "history file %s is a folder: give the path of a file, "
				 "such as --history %s/history.db, or --history none to keep "
				 "nothing", path, path);
		else
			snprintf(buf, cap, "cannot open history file %s: %s%s", path,
				 strerror(errno), what_to_do);
		break;
	default:
		snprintf(buf, cap, "cannot open history file %s: %s%s", path, cove_strerror(err),
			 what_to_do);
	}
	return buf;
}

static void say_once(struct nd_keep *k, int *warned, const char *what, int err)
{
	char msg[200];

	if (*warned || !k->warn)
		return;
	*warned = 1;
	snprintf(msg, sizeof(msg), "history: %s failed (%s); messages are still shown but may "
		 "not be kept", what, cove_strerror(err));
	k->warn(k->warn_ctx, msg);
}

void nd_keep_flush(struct nd_keep *k)
{
	int ret;

	if (!k || !k->h || (!k->dirty && !k->waiting))
		return;
	if (k->batch_armed) {
		event_del(k->batch_ev);
		k->batch_armed = 0;
	}
	k->dirty = 0;
	k->waiting = 0;
	write_cursors(k);
	ret = cove_hist_flush(k->h);
	if (ret != COVE_OK)
		say_once(k, &k->warned_flush, "writing to the file", ret);
}

static void flush_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nd_keep_flush(arg);
}

/* A write was made: commit it at the end of this loop turn (an active
 * event runs after the callbacks already due), so a burst of frames read
 * in one turn is one transaction. */
static void touch(struct nd_keep *k)
{
	if (k->dirty)
		return;
	k->dirty = 1;
	event_active(k->flush_ev, EV_TIMEOUT, 0);
}

/* A message (or a cursor) was written: commit it with those that follow
 * it within ND_KEEP_BATCH_MS, or at the end of the turn that makes
 * ND_KEEP_BATCH of them. A catch-up brings a few frames a loop turn (one
 * read of the link), and a commit for each few cost the node more than
 * its signature checks; the cursor goes into the same commit as the
 * messages it counts, so a crash in between loses nothing the relay does
 * not send again. */
static void touch_msg(struct nd_keep *k)
{
	static const struct timeval delay = { 0, ND_KEEP_BATCH_MS * 1000 };

	if (++k->waiting >= ND_KEEP_BATCH) {
		touch(k);
		return;
	}
	if (k->batch_armed || k->dirty)
		return;
	if (event_add(k->batch_ev, &delay) == 0)
		k->batch_armed = 1;
	else
		touch(k);
}

static struct keep_room *find(struct nd_keep *k, const char *room)
{
	for (size_t i = 0; k && i < k->nrooms; i++)
		if (strcmp(k->rooms[i].name, room) == 0)
			return &k->rooms[i];
	return NULL;
}

void nd_keep_close(struct nd_keep *k, uint64_t now_ms)
{
	if (!k)
		return;
	for (size_t i = 0; k->h && i < k->nrooms; i++)
		if (cove_hist_seen_set(k->h, k->rooms[i].id, now_ms) == COVE_OK)
			k->dirty = 1;
	nd_keep_flush(k);
	cove_hist_close(k->h);
	if (k->flush_ev)
		event_free(k->flush_ev);
	if (k->batch_ev)
		event_free(k->batch_ev);
	free(k->rooms);
	free(k);
}

int nd_keep_on(const struct nd_keep *k)
{
	return k && k->h;
}

int nd_keep_room(struct nd_keep *k, const char *room)
{
	struct keep_room *nr;
	int ret;

	if (!k->h || find(k, room))
		return COVE_OK;
	nr = realloc(k->rooms, (k->nrooms + 1) * sizeof(*nr));
	if (!nr)
		return COVE_ERR_NOMEM;
	k->rooms = nr;
	nr = &k->rooms[k->nrooms];
	memset(nr, 0, sizeof(*nr));
	nr->name = room;
	ret = cove_hist_room(k->h, room, strlen(room), &nr->id);
	if (ret == COVE_OK)
		ret = cove_hist_seen_get(k->h, nr->id, &nr->seen_start);
	if (ret != COVE_OK)
		return ret;
	k->nrooms++;
	touch(k);
	return COVE_OK;
}

static void keep_forget(void *ctx, const char *room)
{
	nd_keep_forget(ctx, room);
}

static int keep_message(void *ctx, const struct cove_chat_msg *m)
{
	struct nd_keep *k = ctx;
	struct keep_room *r = find(k, m->room);
	struct cove_hist_msg hm;
	int ret;

	if (!k->h || !r)
		return COVE_ERR_NOTFOUND;
	memset(&hm, 0, sizeof(hm));
	memcpy(hm.from, m->from, sizeof(hm.from));
	memcpy(hm.sid, m->sid, sizeof(hm.sid));
	hm.n = m->n;
	hm.ts_ms = m->ts_ms;
	hm.rseq = m->rseq;
	hm.text = m->text;
	hm.text_len = m->len;
	ret = cove_hist_add(k->h, r->id, &hm);
	if (ret == COVE_OK)
		touch_msg(k);
	else if (ret != COVE_ERR_EXISTS)
		say_once(k, &k->warned_add, "keeping a message", ret);
	return ret;
}

/* The core's state, secrets and cursor, each in its row of the room. */

static int keep_state_get(void *ctx, const char *room, uint8_t *out, size_t cap, size_t *len)
{
	struct nd_keep *k = ctx;
	struct keep_room *r = find(k, room);

	return r ? cove_hist_state_get(k->h, r->id, out, cap, len) : COVE_ERR_NOTFOUND;
}

static int keep_state_put(void *ctx, const char *room, const uint8_t *st, size_t len)
{
	struct nd_keep *k = ctx;
	struct keep_room *r = find(k, room);
	int ret = r ? cove_hist_state_put(k->h, r->id, st, len) : COVE_ERR_NOTFOUND;

	if (ret == COVE_OK)
		touch(k);
	else
		say_once(k, &k->warned_add, "keeping a room's state", ret);
	return ret;
}

static int keep_secret_get(void *ctx, const char *room, uint32_t kind, uint32_t id,
			   uint8_t *out, size_t cap, size_t *len)
{
	struct nd_keep *k = ctx;
	struct keep_room *r = find(k, room);

	return r ? cove_hist_secret_get(k->h, r->id, kind, id, out, cap, len) : COVE_ERR_NOTFOUND;
}

static int keep_secret_put(void *ctx, const char *room, uint32_t kind, uint32_t id,
			   const uint8_t *secret, size_t len)
{
	struct nd_keep *k = ctx;
	struct keep_room *r = find(k, room);
	int ret;

	if (!r)
		return COVE_ERR_NOTFOUND;
	ret = cove_hist_secret_put(k->h, r->id, kind, id, secret, len);
	/* A membership secret must be on disk before its INI goes: commit
	 * now, not at the end of the turn. */
	if (ret == COVE_OK && kind == COVE_CHAT_SECRET_MEMBERSHIP)
		ret = cove_hist_flush(k->h);
	else if (ret == COVE_OK)
		touch(k);
	if (ret != COVE_OK)
		say_once(k, &k->warned_add, "keeping a secret", ret);
	return ret;
}

static int keep_secret_del(void *ctx, const char *room, uint32_t kind, uint32_t id)
{
	struct nd_keep *k = ctx;
	struct keep_room *r = find(k, room);
	int ret;

	if (!r)
		return COVE_ERR_NOTFOUND;
	ret = cove_hist_secret_del(k->h, r->id, kind, id);
	/* a membership secret once used: gone from both files at once */
	if (ret == COVE_OK && kind == COVE_CHAT_SECRET_MEMBERSHIP)
		ret = cove_hist_checkpoint(k->h);
	else if (ret == COVE_OK)
		touch(k);
	return ret;
}

static int keep_cursor_get(void *ctx, const char *room, uint64_t *rseq, uint64_t *rdat)
{
	struct nd_keep *k = ctx;
	struct keep_room *r = find(k, room);

	if (r && r->cursor_pending) {
		*rseq = r->rseq;
		*rdat = r->rdat;
		return COVE_OK;
	}
	return r ? cove_hist_cursor_get(k->h, r->id, rseq, rdat) : COVE_ERR_NOTFOUND;
}

/* The core moves a room's cursor with every frame it takes: kept here and
 * written once, just before the commit (write_cursors). */
static int keep_cursor_set(void *ctx, const char *room, uint64_t rseq, uint64_t rdat)
{
	struct nd_keep *k = ctx;
	struct keep_room *r = find(k, room);

	if (!r)
		return COVE_ERR_NOTFOUND;
	r->rseq = rseq;
	r->rdat = rdat;
	r->cursor_pending = 1;
	touch_msg(k);
	return COVE_OK;
}

static void write_cursors(struct nd_keep *k)
{
	for (size_t i = 0; i < k->nrooms; i++) {
		struct keep_room *r = &k->rooms[i];
		int ret;

		if (!r->cursor_pending)
			continue;
		r->cursor_pending = 0;
		ret = cove_hist_cursor_set(k->h, r->id, r->rseq, r->rdat);
		if (ret != COVE_OK)
			say_once(k, &k->warned_add, "keeping a room's place", ret);
	}
}

struct cove_chat_persist nd_keep_persist(struct nd_keep *k)
{
	struct cove_chat_persist p = { 0 };

	_Static_assert(COVE_CHAT_SECRET_MEMBERSHIP == COVE_HIST_MEMBERSHIP &&
		       COVE_CHAT_SECRET_GROUP == COVE_HIST_GROUP_KEY, "the kinds of secret");
	if (k && k->h) {
		p.message = keep_message;
		p.forget = keep_forget;
		p.state_get = keep_state_get;
		p.state_put = keep_state_put;
		p.secret_get = keep_secret_get;
		p.secret_put = keep_secret_put;
		p.secret_del = keep_secret_del;
		p.cursor_get = keep_cursor_get;
		p.cursor_set = keep_cursor_set;
		p.ctx = k;
	}
	return p;
}

int nd_keep_new_since(struct nd_keep *k, const char *room, uint64_t *n)
{
	struct keep_room *r = find(k, room);

	*n = 0;
	if (!r || !r->seen_start)
		return COVE_ERR_NOTFOUND;
	return cove_hist_count_since(k->h, r->id, r->seen_start, n);
}

struct page {
	nd_keep_msg_fn fn;
	void *arg;
	unsigned count;
	uint64_t first_ts, first_id;
};

static int page_one(void *arg, const struct cove_hist_msg *m)
{
	struct page *p = arg;
	struct nd_keep_msg km = { m->from, m->text, m->text_len, m->ts_ms };

	if (p->count++ == 0) { /* oldest first: the first is where to go on */
		p->first_ts = m->ts_ms;
		p->first_id = m->id;
	}
	p->fn(p->arg, &km);
	return 0;
}

int nd_keep_older(struct nd_keep *k, const char *room, unsigned limit, nd_keep_msg_fn fn,
		  void *arg, unsigned *count)
{
	struct keep_room *r = find(k, room);
	struct page p = { fn, arg, 0, 0, 0 };
	int ret;

	*count = 0;
	if (!r || limit == 0)
		return COVE_OK;
	if (r->older_started && r->older_id == 0)
		return COVE_OK; /* went back to the first message already */
	ret = cove_hist_page_before(k->h, r->id, r->older_ts, r->older_id, limit, page_one, &p);
	r->older_started = 1;
	r->older_ts = p.first_ts;
	r->older_id = p.count ? p.first_id : 0;
	*count = p.count;
	return ret;
}

int nd_keep_page(struct nd_keep *k, const char *room, uint64_t before_ts, unsigned limit,
		 nd_keep_msg_fn fn, void *arg, unsigned *count)
{
	struct keep_room *r = find(k, room);
	struct page p = { fn, arg, 0, 0, 0 };
	int ret;

	*count = 0;
	if (!r || limit == 0)
		return COVE_OK;
	ret = cove_hist_page(k->h, r->id, before_ts, limit, page_one, &p);
	*count = p.count;
	return ret;
}

void nd_keep_seen(struct nd_keep *k, const char *room, uint64_t now_ms)
{
	struct keep_room *r = find(k, room);

	if (!r || now_ms - r->seen_written_ms < ND_KEEP_SEEN_EVERY_MS)
		return;
	r->seen_written_ms = now_ms;
	if (cove_hist_seen_set(k->h, r->id, now_ms) == COVE_OK)
		touch(k);
}

void nd_keep_forget(struct nd_keep *k, const char *room)
{
	struct keep_room *r = find(k, room);

	if (!r)
		return;
	/* Secrets of a room left open nothing we may read any more: gone,
	 * from both files (the checkpoint), not just unlinked. */
	cove_hist_secret_del_older(k->h, r->id, COVE_HIST_MEMBERSHIP, UINT32_MAX, NULL);
	cove_hist_secret_del_older(k->h, r->id, COVE_HIST_GROUP_KEY, UINT32_MAX, NULL);
	cove_hist_state_put(k->h, r->id, NULL, 0);
	r->cursor_pending = 0;
	cove_hist_cursor_set(k->h, r->id, 0, 0);
	cove_hist_seen_set(k->h, r->id, 0);
	*r = k->rooms[--k->nrooms];
	k->dirty = 0;
	if (cove_hist_checkpoint(k->h) != COVE_OK)
		say_once(k, &k->warned_flush, "forgetting a room's keys", COVE_ERR_IO);
}
