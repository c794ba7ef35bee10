/*
 * app.c - the node's life: links that come and go, input, quitting.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"
#include "common/err.h"
#include "common/utf8.h"
#include "node/app.h"

/* Backpressure on input: pause above the high marks, resume below the low. */
#define QUEUE_HIGH (COVE_CHAT_QUEUE_MAX / 2)
#define QUEUE_LOW 16
#define UNSENT_HIGH (1u << 20)
#define UNSENT_LOW (256u << 10)

static void input_line(void *ctx, char *line, size_t len);
static void input_too_long(void *ctx);
static void input_eof(void *ctx);
static void reconnect_cb(evutil_socket_t fd, short what, void *arg);
static int net_frame(void *ctx, const struct cove_frame *f, const uint8_t *raw, size_t len,
		     int sig);
static void net_down(void *ctx, const char *why, int permanent);

static size_t unsent(const struct nd_app *a)
{
	return a->net ? nd_net_unsent(a->net) : 0;
}

static int congested(const struct nd_app *a)
{
	return cove_chat_queued(a->core) >= QUEUE_HIGH || unsent(a) >= UNSENT_HIGH;
}

static int relieved(const struct nd_app *a)
{
	return cove_chat_queued(a->core) <= QUEUE_LOW && unsent(a) <= UNSENT_LOW;
}

/* ---- links ---------------------------------------------------------------- */

int nd_app_send_frame(void *app, const struct cove_frame *f)
{
	struct nd_app *a = app;

	if (!a->net)
		return COVE_ERR_STATE;
	return nd_net_send(a->net, f);
}

static int net_frame(void *ctx, const struct cove_frame *f, const uint8_t *raw, size_t len,
		     int sig)
{
	struct nd_app *a = ctx;

	return cove_chat_frame_checked(a->core, f, raw, len, sig);
}

static int net_linked(void *ctx)
{
	struct nd_app *a = ctx;

	return cove_chat_link_up(a->core);
}

static int new_link(struct nd_app *a)
{
	struct nd_net_cb cb = { .frame = net_frame, .down = net_down, .linked = net_linked,
				.ctx = a };

	a->net = nd_net_new(a->base, a->pool, a->id, a->conf.relay, a->conf.host, a->conf.port, &cb);
	if (!a->net)
		return -1;
	a->last_ping_ms = 0;
	return nd_net_connect(a->net);
}

int nd_app_connect(struct nd_app *a)
{
	a->backoff_ms = ND_BACKOFF_MIN_MS;
	a->reconnect = evtimer_new(a->base, reconnect_cb, a);
	if (!a->reconnect)
		return -1;
	new_link(a);
	return 0;
}

static void reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nd_app *a = arg;

	(void)fd;
	(void)what;
	nd_net_free(a->dead_net);
	a->dead_net = NULL;
	new_link(a);
}

static void net_down(void *ctx, const char *why, int permanent)
{
	struct nd_app *a = ctx;
	struct timeval tv;
	unsigned wait;

	cove_chat_link_down(a->core);
	if (!why) { /* we finished the link ourselves, in good order */
		nd_app_exit(a, a->status);
		return;
	}
	if (permanent || a->conf.no_reconnect) {
		if (a->fe->ui.error)
			a->fe->ui.error(a, NULL, "link", why, 1);
		nd_app_exit(a, 1);
		return;
	}
	if (a->quitting && cove_chat_queued(a->core) == 0) {
		/* nothing left to deliver: no point in coming back */
		nd_app_exit(a, a->status);
		return;
	}
	/* The link cannot be freed from inside its own callback. */
	nd_net_free(a->dead_net);
	a->dead_net = a->net;
	a->net = NULL;
	wait = a->backoff_ms / 2 + randombytes_uniform(a->backoff_ms / 2 + 1);
	a->backoff_ms = a->backoff_ms * 2 > ND_BACKOFF_MAX_MS ? ND_BACKOFF_MAX_MS
							       : a->backoff_ms * 2;
	if (a->fe->disconnected)
		a->fe->disconnected(a, why, wait);
	tv.tv_sec = wait / 1000;
	tv.tv_usec = (suseconds_t)(wait % 1000) * 1000;
	evtimer_add(a->reconnect, &tv);
}

/* ---- input ------------------------------------------------------------------- */

static void input_line(void *ctx, char *line, size_t len)
{
	struct nd_app *a = ctx;

	a->fe->line(a, line, len);
	if (!a->quitting && congested(a)) {
		nd_input_pause(a->in);
		if (a->fe->paused)
			a->fe->paused(a);
	}
}

static void input_too_long(void *ctx)
{
	struct nd_app *a = ctx;

	if (a->fe->ui.error)
		a->fe->ui.error(a, NULL, "too_long",
				"an input line longer than 64 KiB was skipped", 0);
}

static void input_eof(void *ctx)
{
	nd_app_quit(ctx, 0);
}

int nd_app_input(struct nd_app *a)
{
	struct nd_input_cb cb = { input_line, input_too_long, input_eof, a };

	a->in = nd_input_new(a->base, 0, &cb);
	return a->in ? 0 : -1;
}

const char *nd_app_send_error(int err)
{
	switch (err) {
	case COVE_ERR_NOTFOUND: return "no such room (join it with -r)";
	case COVE_ERR_INVAL: return "a message must be 1 to 32760 bytes long";
	case COVE_ERR_UTF8: return "a message must be valid UTF-8 without NUL bytes";
	case COVE_ERR_LIMIT: return "1000 messages are already waiting to be sent (the "
				    "link is down or the room not joined yet); try again later";
	case COVE_ERR_STATE: return "this room could not be joined; nothing can be sent to it";
	default: return cove_strerror(err);
	}
}

int nd_app_send(struct nd_app *a, const char *room, const char *text, size_t len)
{
	return cove_chat_send_text(a->core, room ? room : a->room, text, len);
}

/* ---- rooms ------------------------------------------------------------------ */

void nd_app_set_room(struct nd_app *a, const char *room)
{
	snprintf(a->cur_room, sizeof(a->cur_room), "%s", room);
	a->room = a->cur_room;
}

int nd_app_leave(struct nd_app *a, const char *room)
{
	char name[COVE_ROOM_MAX + 1];
	int ret;

	/* Copied: the core's name goes with its room. */
	snprintf(name, sizeof(name), "%s", room ? room : a->room);
	ret = cove_chat_leave(a->core, name);
	if (ret != COVE_OK)
		return ret;
	if (strcmp(name, a->room) == 0)
		nd_app_set_room(a, cove_chat_room_count(a->core) ? cove_chat_room_name(a->core, 0)
								 : "");
	if (a->fe->ui.left)
		a->fe->ui.left(a, name, a->self);
	return COVE_OK;
}

/* ---- history -------------------------------------------------------------- */

struct shown {
	struct nd_app *a;
	const char *room;
};

static void show_kept(void *arg, const struct nd_keep_msg *m)
{
	struct shown *s = arg;
	struct nd_app *a = s->a;
	const struct cove_wl_entry *e = cove_wl_find_pk(a->wl, m->from);
	char name[COVE_FP_LEN + 8];

	/* Named as today's whitelist names them: one removed since shows as
	 * its key, as a stranger's live message would. */
	if (sodium_memcmp(m->from, a->id->pk, COVE_PK_LEN) == 0) {
		snprintf(name, sizeof(name), "%s", a->self);
	} else if (e) {
		snprintf(name, sizeof(name), "%s", e->name);
	} else {
		char fp[COVE_FP_LEN + 1];

		cove_pk_fingerprint(fp, m->from);
		snprintf(name, sizeof(name), "key %s", fp);
	}
	a->fe->history(a, s->room, name, m->text, m->len, m->ts_ms);
}

static const char *room_named(struct nd_app *a, const char *room)
{
	size_t n = cove_chat_room_count(a->core);

	for (size_t i = 0; i < n; i++)
		if (strcmp(cove_chat_room_name(a->core, i), room) == 0)
			return cove_chat_room_name(a->core, i);
	return NULL;
}

int nd_app_history(struct nd_app *a, const char *room, uint64_t before_ts, unsigned limit)
{
	struct shown s = { a, room_named(a, room ? room : a->room) };
	unsigned count = 0;
	int ret;

	if (!s.room)
		return COVE_ERR_NOTFOUND;
	if (!a->fe->history || !nd_keep_on(a->keep))
		ret = COVE_OK;
	else if (before_ts)
		ret = nd_keep_page(a->keep, s.room, before_ts, limit, show_kept, &s, &count);
	else
		ret = nd_keep_older(a->keep, s.room, limit, show_kept, &s, &count);
	if (a->fe->history_end)
		a->fe->history_end(a, s.room, count);
	return ret;
}

void nd_app_history_start(struct nd_app *a)
{
	if (!nd_keep_on(a->keep) || !a->fe->history)
		return;
	for (size_t i = 0; i < cove_chat_room_count(a->core); i++) {
		const char *room = cove_chat_room_name(a->core, i);
		uint64_t n = 0;

		nd_app_history(a, room, 0, ND_KEEP_START_SHOW);
		if (nd_keep_new_since(a->keep, room, &n) == COVE_OK && a->fe->unread)
			a->fe->unread(a, room, n);
	}
}

void nd_app_reload(struct nd_app *a)
{
	struct cove_wl_diag d = { 0, "" };
	struct cove_wl *wl = NULL;
	char msg[400];
	int ret = cove_wl_load(&wl, a->conf.wl_path, &d);

	if (ret != COVE_OK) {
		if (ret == COVE_ERR_IO)
			snprintf(msg, sizeof(msg), "whitelist reload failed: cannot read %s: %s; "
				 "keeping the previous one", a->conf.wl_path, strerror(errno));
		else
			snprintf(msg, sizeof(msg), "whitelist reload failed: %s:%u: %s; keeping "
				 "the previous one", a->conf.wl_path, d.line,
				 d.msg[0] ? d.msg : cove_strerror(ret));
		if (a->fe->ui.error)
			a->fe->ui.error(a, NULL, "reload_failed", msg, 0);
		return;
	}
	cove_chat_set_whitelist(a->core, wl);
	cove_wl_free(a->wl);
	a->wl = wl;
}

/* ---- ending --------------------------------------------------------------------- */

void nd_app_exit(struct nd_app *a, int status)
{
	a->status = status;
	event_base_loopexit(a->base, NULL);
}

void nd_app_quit(struct nd_app *a, int status)
{
	if (a->quitting)
		return;
	a->quitting = 1;
	a->status = status;
	a->quit_deadline_ms = cove_now_ms() + ND_QUIT_WAIT_MS;
	if (a->in)
		nd_input_stop(a->in);
}

static void quit_unsent(void *arg, const char *room, const char *text, size_t len)
{
	struct nd_app *a = arg;
	char msg[200];

	snprintf(msg, sizeof(msg), "not sent: \"%.*s%s\" (%zu bytes)", (int)cove_utf8_cut(text, len, 60),
		 text, len > 60 ? "..." : "", len);
	if (a->fe->ui.error)
		a->fe->ui.error(a, room, "not_sent", msg, 0);
}

static void keepalive(struct nd_app *a, uint64_t now)
{
	unsigned ka = a->conf.keepalive_ms;
	uint64_t idle;

	if (!a->net || !nd_net_up(a->net))
		return;
	idle = now - nd_net_last_rx(a->net);
	if (idle >= 3ull * ka) {
		char why[120];

		snprintf(why, sizeof(why), "no sign of life from the rendezvous for %llu ms",
			 (unsigned long long)idle);
		nd_net_kill(a->net, why);
	} else if ((idle >= ka || now - nd_net_last_tx(a->net) >= ka) &&
		   now - a->last_ping_ms >= ka) {
		/* Also when we have only been reading: the relay judges us by
		 * what we send, and a PING from a node busy with a backlog tells
		 * it we are alive long before its own PING gets through. */
		a->last_ping_ms = now;
		nd_net_ping(a->net, now);
	}
}

void nd_app_tick(struct nd_app *a)
{
	uint64_t now = cove_now_ms();

	if (cove_chat_tick(a->core) == COVE_ERR_TIMEOUT && a->net && nd_net_up(a->net))
		nd_net_kill(a->net, "the rendezvous did not finish the catch-up");
	keepalive(a, now);
	/* Every room the node holds is open: what arrives is shown now. */
	for (size_t i = 0; i < cove_chat_room_count(a->core); i++)
		nd_keep_seen(a->keep, cove_chat_room_name(a->core, i), now);
	if (!a->quitting) {
		if (a->in && relieved(a))
			nd_input_resume(a->in);
		return;
	}
	/* Quit once nothing is queued and every byte is handed to the kernel.
	 * Messages wait in their room's queue until it is joined, so a link
	 * still connecting, or a room still joining, holds the quit up only
	 * when something waits to be sent there. */
	if (a->quitting == 1 && cove_chat_queued(a->core) == 0 && unsent(a) == 0) {
		a->quitting = 2;
		if (a->net) {
			cove_chat_quit(a->core); /* BYEs, if bye_on_quit */
			nd_net_finish(a->net, ND_FINISH_MS);
		} else {
			nd_app_exit(a, a->status);
		}
		return;
	}
	if (a->quitting == 1 && now > a->quit_deadline_ms) {
		char msg[200];

		/* Name each message that never left, then the total. */
		cove_chat_each_queued(a->core, quit_unsent, a);
		snprintf(msg, sizeof(msg), "%zu message%s could not be sent before quitting "
			 "(%zu bytes waiting to be written)", cove_chat_queued(a->core),
			 cove_chat_queued(a->core) == 1 ? "" : "s", unsent(a));
		if (a->fe->ui.error)
			a->fe->ui.error(a, NULL, "not_sent", msg, 1);
		nd_app_exit(a, 1);
	}
}

void nd_app_free_links(struct nd_app *a)
{
	nd_net_free(a->net);
	nd_net_free(a->dead_net);
	a->net = a->dead_net = NULL;
	if (a->reconnect)
		event_free(a->reconnect);
	a->reconnect = NULL;
}
