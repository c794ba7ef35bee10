/*
 * conn.c - one connection to the rendezvous (conn.h): the handshake
 * through a cove_sess, output caps, keepalive, orderly closing, and the
 * log budget.
 */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "common/err.h"
#include "proto/msg.h"
#include "proto/sess.h"
#include "rendezvous/conn.h"

/* How long a closing connection may take to flush its last frames, and
 * then to let the peer read them before the socket is closed. */
#define RV_FLUSH_MS 2000
#define RV_LINGER_MS 1000

/* Log lines about one connection: at most this many per window. */
#define RV_LOG_BURST 5
#define RV_LOG_WINDOW_MS 10000

enum { CLOSE_NONE = 0, CLOSE_FLUSH, CLOSE_LINGER, CLOSE_DOOMED };

/* How a connection's input ended while frames of it were waiting. */
enum { END_NONE = 0, END_GONE, END_BAD_RECORD };

struct rv_conn {
	TAILQ_ENTRY(rv_conn) next;
	struct rv_server *srv;
	struct bufferevent *bev;
	struct cove_sess *sess;
	void *ctx;                     /* rv_conn_cb's, once up */
	uint64_t num;                  /* for logs */
	char addr[64];
	int authed;
	int closing;                   /* CLOSE_*: no more input; freed once flushed or timed out */
	uint8_t pk[COVE_ID_LEN];
	char name[COVE_NAME_MAX + 1];
	struct event *timer;           /* handshake deadline, then flush deadline */
	/* keepalive: a sign of life is a byte read from the peer (nodes PING
	 * on their own when they have sent nothing for a while, so a node busy
	 * with a backlog still shows it is alive) */
	uint64_t last_rx_ms, last_ping_ms;
	/* log rate limit */
	uint64_t log_window_ms;
	unsigned log_count;
	int input_end;                 /* END_*: closes once nothing waits */
};

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void timer_cb(evutil_socket_t fd, short what, void *arg);
static uint8_t *io_reserve(void *ctx, size_t len);
static void io_commit(void *ctx, size_t len);
static int io_frame(void *ctx, int err, const struct cove_frame *f, const uint8_t *raw,
		    size_t len);
static int io_authed(void *ctx, const uint8_t id[COVE_ID_LEN]);
static void end_input(struct rv_conn *c, int how);

/* The reservation a send is filling; one at a time, on one thread. */
static struct evbuffer_iovec pending_iov;

struct rv_server *rv_conn_server(const struct rv_conn *c)
{
	return c->srv;
}

const uint8_t *rv_conn_pk(const struct rv_conn *c)
{
	return c->pk;
}

void *rv_conn_ctx(const struct rv_conn *c)
{
	return c->ctx;
}

void rv_conn_set_ctx(struct rv_conn *c, void *ctx)
{
	c->ctx = ctx;
}

int rv_conn_closing(const struct rv_conn *c)
{
	return c->closing != CLOSE_NONE;
}

const char *rv_conn_label(const struct rv_conn *c, char *buf, size_t cap)
{
	if (c->authed)
		snprintf(buf, cap, "conn %llu %s", (unsigned long long)c->num, c->name);
	else
		snprintf(buf, cap, "conn %llu %s", (unsigned long long)c->num, c->addr);
	return buf;
}

/* Takes a token from the global log budget; returns 0 when there is none. */
static int log_budget(struct rv_server *s)
{
	uint64_t now = cove_now_ms();

	s->log_tokens += (double)(now - s->log_refill_ms) * RV_LOG_GLOBAL_RATE / 1000.0;
	s->log_refill_ms = now;
	if (s->log_tokens > RV_LOG_GLOBAL_BURST)
		s->log_tokens = RV_LOG_GLOBAL_BURST;
	if (s->log_tokens < 1.0) {
		s->log_suppressed++;
		return 0;
	}
	s->log_tokens -= 1.0;
	if (s->log_suppressed) {
		log_warn("%llu log lines about connections were not written (too many at "
			 "once); the counters (SIGUSR1) have them all",
			 (unsigned long long)s->log_suppressed);
		s->log_suppressed = 0;
	}
	return 1;
}

void rv_log_conn_event(struct rv_server *s, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	if (!log_budget(s))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_info("%s", msg);
}

void rv_conn_log(struct rv_conn *c, const char *fmt, ...)
{
	uint64_t now = cove_now_ms();
	char label[96], msg[512];
	va_list ap;

	if (now - c->log_window_ms > RV_LOG_WINDOW_MS) {
		c->log_window_ms = now;
		c->log_count = 0;
	}
	if (++c->log_count > RV_LOG_BURST) {
		if (c->log_count == RV_LOG_BURST + 1 && log_budget(c->srv))
			log_warn("%s: more refusals; not logging them for %d s (counters go on)",
				 rv_conn_label(c, label, sizeof(label)), RV_LOG_WINDOW_MS / 1000);
		return;
	}
	if (!log_budget(c->srv))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("%s: %s", rv_conn_label(c, label, sizeof(label)), msg);
}

/* ---- sending ------------------------------------------------------------ */

static uint8_t *io_reserve(void *ctx, size_t len)
{
	struct rv_conn *c = ctx;
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (c->closing >= CLOSE_LINGER)
		return NULL;
	if (evbuffer_get_length(out) + len > c->srv->conf.max_queue) {
		char label[96];

		/* A reader this far behind is not reading: dropping it keeps
		 * the relay's memory bounded and everyone else at full speed. */
		c->srv->stats.slow_readers++;
		log_warn("%s: output queue above %zu bytes; disconnecting a slow reader",
			 rv_conn_label(c, label, sizeof(label)), c->srv->conf.max_queue);
		rv_conn_close(c, 0);
		return NULL;
	}
	if (evbuffer_reserve_space(out, (ev_ssize_t)len, &pending_iov, 1) != 1)
		return NULL;
	return pending_iov.iov_base;
}

static void io_commit(void *ctx, size_t len)
{
	struct rv_conn *c = ctx;

	pending_iov.iov_len = len;
	evbuffer_commit_space(bufferevent_get_output(c->bev), &pending_iov, 1);
}

int rv_conn_send_link(struct rv_conn *c, uint8_t type, uint64_t n)
{
	struct cove_frame f;

	if (c->closing || !c->authed)
		return COVE_ERR_STATE;
	memset(&f, 0, sizeof(f));
	f.type = type;
	f.u.ping.n = n;
	return cove_sess_send(c->sess, &f);
}

static int send_raw(struct rv_conn *c, const uint8_t *raw, size_t len)
{
	if (c->closing || !c->authed)
		return COVE_ERR_STATE;
	return cove_sess_send_raw(c->sess, raw, len);
}

static int send_signed(struct rv_conn *c, struct cove_frame *f)
{
	int ret = rv_sign(&c->srv->signer, f);

	if (ret == COVE_OK)
		ret = cove_sess_send(c->sess, f);
	return ret;
}

void rv_conn_send_err(struct rv_conn *c, const char *room, uint32_t code, uint64_t ref,
		      const char *fmt, ...)
{
	char text[COVE_ERR_TEXT_MAX + 1];
	struct cove_frame f;
	va_list ap;
	int n;

	if (c->closing >= CLOSE_LINGER || !cove_sess_established(c->sess))
		return;
	va_start(ap, fmt);
	n = vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > COVE_ERR_TEXT_MAX)
		n = COVE_ERR_TEXT_MAX;
	memset(&f, 0, sizeof(f));
	f.type = COVE_F_ERR;
	if (cove_frame_set_room(&f, room, strlen(room)) != COVE_OK)
		cove_frame_set_room(&f, "", 0);
	f.u.err.code = code;
	f.u.err.ref = ref;
	f.u.err.text = text;
	f.u.err.text_len = (size_t)n;
	if (code < sizeof(c->srv->stats.refused) / sizeof(c->srv->stats.refused[0]))
		c->srv->stats.refused[code]++;
	send_signed(c, &f);
}

/* ---- the rooms' link ----------------------------------------------------- */

static int link_send(void *ctx, const uint8_t *raw, size_t len)
{
	return send_raw(ctx, raw, len);
}

static void link_err(void *ctx, const char *room, uint32_t code, const char *text)
{
	rv_conn_send_err(ctx, room, code, 0, "%s", text);
}

static const char *link_label(void *ctx, char *buf, size_t cap)
{
	return rv_conn_label(ctx, buf, cap);
}

static size_t link_queued(void *ctx)
{
	struct rv_conn *c = ctx;

	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

const struct rm_link_ops rv_conn_link = {
	.send = link_send,
	.err = link_err,
	.label = link_label,
	.queued = link_queued,
};

/* ---- closing ------------------------------------------------------------ */

static void arm_timer(struct rv_conn *c, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	evtimer_add(c->timer, &tv);
}

static void doom(struct rv_conn *c)
{
	if (c->closing == CLOSE_DOOMED)
		return;
	c->closing = CLOSE_DOOMED;
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	evtimer_del(c->timer);
	TAILQ_REMOVE(&c->srv->conns, c, next);
	TAILQ_INSERT_TAIL(&c->srv->doomed, c, next);
	event_active(c->srv->reaper, EV_TIMEOUT, 0);
}

/* Output flushed: stop sending and give the peer a moment to read what we
 * sent before the close, since closing a socket with unread input makes
 * the kernel send a reset that can destroy our last frames in flight. */
static void start_linger(struct rv_conn *c)
{
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	c->closing = CLOSE_LINGER;
	if (fd >= 0)
		shutdown(fd, SHUT_WR);
	bufferevent_enable(c->bev, EV_READ);
	arm_timer(c, RV_LINGER_MS);
}

void rv_conn_close(struct rv_conn *c, int flush)
{
	if (c->closing)
		return;
	/* No more input: what it sent and we have not acted on yet goes too
	 * (a revoked identity's frames are not forwarded). */
	c->input_end = END_NONE;
	c->srv->nclosing++;
	if (!c->authed)
		c->srv->nunauth--;
	else if (c->ctx)
		c->srv->cb->closing(c);
	bufferevent_disable(c->bev, EV_READ);
	if (flush && evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
		c->closing = CLOSE_FLUSH;
		bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
		arm_timer(c, RV_FLUSH_MS);
	} else if (flush) {
		c->closing = CLOSE_FLUSH;
		start_linger(c);
	} else {
		c->closing = CLOSE_FLUSH;
		doom(c);
	}
}

static void conn_free(struct rv_conn *c)
{
	if (c->ctx)
		c->srv->cb->gone(c);
	event_free(c->timer);
	bufferevent_free(c->bev);
	cove_sess_free(c->sess);
	c->srv->nconns--;
	c->srv->nclosing--;
	free(c);
}

void rv_conn_reap(struct rv_server *s)
{
	struct rv_conn *c;

	/* Dropping one connection can doom another (a BYE that overflows a
	 * slow reader's queue), which lands at the tail and is freed here too. */
	while ((c = TAILQ_FIRST(&s->doomed))) {
		TAILQ_REMOVE(&s->doomed, c, next);
		conn_free(c);
	}
}

/* ---- events --------------------------------------------------------------- */

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rv_conn *c = arg;
	char label[96];

	(void)fd;
	(void)what;
	switch (c->closing) {
	case CLOSE_NONE:
		/* Only unauthenticated connections have a running timer. */
		c->srv->stats.auth_timeouts++;
		rv_log_conn_event(c->srv, "%s: no handshake within %u ms; closing",
				  rv_conn_label(c, label, sizeof(label)),
				  c->srv->conf.auth_timeout_ms);
		rv_conn_close(c, 0);
		break;
	case CLOSE_FLUSH:
	case CLOSE_LINGER:
		doom(c);
		break;
	}
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct rv_conn *c = arg;

	(void)bev;
	if (c->closing == CLOSE_FLUSH)
		start_linger(c);
	else if (!c->closing && c->ctx)
		c->srv->cb->output_low(c); /* a catch-up may send more */
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rv_conn *c = arg;
	char label[96];

	(void)bev;
	if (c->closing) {
		doom(c);
		return;
	}
	if (c->input_end) {
		/* Already ending: closed once its pending frames are done;
		 * if writing failed too, there is nothing to flush then. */
		if (what & BEV_EVENT_WRITING)
			c->input_end = END_GONE;
		return;
	}
	if (what & BEV_EVENT_ERROR)
		rv_log_conn_event(c->srv, "%s: connection error: %s",
				  rv_conn_label(c, label, sizeof(label)),
				  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	else
		rv_log_conn_event(c->srv, "%s: disconnected",
				  rv_conn_label(c, label, sizeof(label)));
	end_input(c, END_GONE);
}

/* The peer's input has ended: it closed the connection (END_GONE), or
 * sent a record too big to frame (END_BAD_RECORD: it is told so). The
 * frames it sent before are still acted on, in order; then c is closed. */
static void end_input(struct rv_conn *c, int how)
{
	if (c->ctx && c->srv->cb->busy(c)) {
		/* What it sent before goes on as if it were still here; the
		 * relay says when that is done (rv_conn_drained). */
		c->input_end = how;
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	c->input_end = END_NONE;
	if (how == END_BAD_RECORD)
		/* A record we cannot frame ends our reading, not our writing:
		 * the node hears why before the close. */
		rv_conn_send_err(c, "", COVE_EC_BAD_FRAME, 0,
				 "a record length of 0 or above %d; closing the connection",
				 COVE_RECORD_MAX);
	rv_conn_close(c, how == END_BAD_RECORD);
}

void rv_conn_drained(struct rv_conn *c)
{
	if (c->input_end)
		end_input(c, c->input_end);
}

void rv_conn_pause(struct rv_conn *c, int paused)
{
	if (paused) {
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	/* Its silence was ours: the keepalive counts from now. */
	c->last_rx_ms = cove_now_ms();
	if (!c->input_end)
		bufferevent_enable(c->bev, EV_READ);
}

static const char *handshake_reason(int err)
{
	switch (err) {
	case COVE_ERR_SIGNATURE: return "the client's handshake signature does not verify";
	case COVE_ERR_VERSION: return "the client speaks another protocol version";
	case COVE_ERR_STATE: return "a message out of handshake order";
	case COVE_ERR_FRAME_SIZE: return "a length prefix of 0 or above the maximum";
	case COVE_ERR_DECRYPT: return "a record failed authentication";
	case COVE_ERR_PADDING: return "a record whose padding is malformed (not a Cove node?)";
	default: return cove_strerror(err);
	}
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct rv_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (c->closing || c->input_end) {
		/* lingering, or its input has ended: read and discard */
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	c->last_rx_ms = cove_now_ms(); /* a sign of life, for the keepalive */
	while (evbuffer_get_length(in) > 0 && !c->closing) {
		struct evbuffer_iovec v;
		int ret;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		ret = cove_sess_input(c->sess, v.iov_base, v.iov_len);
		evbuffer_drain(in, v.iov_len);
		if (ret < 0) {
			char label[96];
			int answer = ret == COVE_ERR_VERSION;

			if (!c->authed) {
				c->srv->stats.auth_failed++;
				if (answer)
					rv_conn_log(c, "handshake failed: the client speaks protocol "
						    "version %u, this relay version %u; told it so",
						    cove_sess_peer_version(c->sess),
						    (unsigned)COVE_PROTO_VERSION);
				else
					rv_conn_log(c, "handshake failed: %s", handshake_reason(ret));
				/* VERSION is queued for the peer: let it go out. */
				rv_conn_close(c, answer);
				return;
			}
			log_warn("%s: link failed: %s; closing", rv_conn_label(c, label, sizeof(label)),
				 handshake_reason(ret));
			end_input(c, ret == COVE_ERR_FRAME_SIZE ? END_BAD_RECORD : END_GONE);
			return;
		}
		if (ret > 0)
			return;
	}
}

static int io_frame(void *ctx, int err, const struct cove_frame *f, const uint8_t *raw,
		    size_t len)
{
	struct rv_conn *c = ctx;

	if (c->closing)
		return 1;
	if (!c->authed)
		return COVE_ERR_STATE;
	return c->srv->cb->frame(c, err, f, raw, len);
}

/* At most this much of what the kernel still holds for a connection
 * being replaced is read at once (a peer streaming would be unbounded). */
#define READ_NOW_MAX (4u << 20)

/* Reads what the kernel holds for c now, paused or not, and hands its
 * frames on as its read event would: a connection that is replaced
 * loses nothing it sent before the newer one came (the socket is
 * non-blocking: this stops at what has arrived). */
static void read_now(struct rv_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	evutil_socket_t fd = bufferevent_getfd(c->bev);

	if (c->closing || c->input_end || fd < 0)
		return;
	/* A socket bufferevent keeps the end of its input frozen, so that
	 * only its own read event adds to it (libevent thaws it around that
	 * read): frozen, evbuffer_read fails at once and reads nothing, and
	 * what the kernel held was then read and discarded by the close's
	 * linger, acted on by nobody and told to nobody. Thawed for our
	 * reads the same way, and frozen again for libevent. */
	evbuffer_unfreeze(in, 0);
	while (evbuffer_get_length(in) < READ_NOW_MAX && evbuffer_read(in, fd, 16384) > 0)
		;
	evbuffer_freeze(in, 0);
	read_cb(c->bev, c);
}

/* One connection per identity: a newer one takes over (a node that
 * reconnects before the relay noticed its old connection died), and the
 * older is told so and closed. Its rooms wait for the newer's joins. */
static void replace_older(struct rv_conn *c, const uint8_t id[COVE_ID_LEN])
{
	struct rv_conn *o;
	char label[96];

	TAILQ_FOREACH(o, &c->srv->conns, next) {
		if (o == c || !o->authed || o->closing || memcmp(o->pk, id, COVE_ID_LEN) != 0)
			continue;
		/* What the older sent before the newer came is acted on
		 * first, as if it had all been checked at once, what the
		 * kernel still holds of it included. */
		read_now(o);
		if (o->ctx)
			c->srv->cb->finish(o);
		if (o->closing)
			continue;
		c->srv->stats.replaced++;
		rv_log_conn_event(c->srv, "%s: replaced by a newer connection of the same key",
				  rv_conn_label(o, label, sizeof(label)));
		rv_conn_send_err(o, "", COVE_EC_REPLACED, 0,
				 "a newer connection with your key has taken over from this one");
		rv_conn_close(o, 1);
	}
}

static int io_authed(void *ctx, const uint8_t id[COVE_ID_LEN])
{
	struct rv_conn *c = ctx;
	struct rv_server *s = c->srv;
	const struct cove_wl_entry *e = cove_wl_find_pk(s->wl, id);
	char b64[COVE_PK_B64_LEN + 1], label[96];
	struct cove_frame f;

	cove_pk_to_b64(b64, id);
	if (!e) {
		s->stats.auth_refused++;
		rv_conn_log(c, "refused key %s: not on the whitelist", b64);
		rv_conn_send_err(c, "", COVE_EC_NOT_WHITELISTED, 0,
				 "your key %s is not on this rendezvous's whitelist; "
				 "ask its operator to add it", b64);
		rv_conn_close(c, 1);
		return 1;
	}
	evtimer_del(c->timer);
	replace_older(c, id);
	memcpy(c->pk, id, COVE_ID_LEN);
	snprintf(c->name, sizeof(c->name), "%s", e->name);
	if (s->cb->up(c) != 0) {
		log_error("%s: out of memory for a new connection; closing",
			  rv_conn_label(c, label, sizeof(label)));
		rv_conn_close(c, 0);
		return 1;
	}
	c->authed = 1;
	s->nunauth--;
	c->last_rx_ms = cove_now_ms();
	s->stats.auth_ok++;
	rv_log_conn_event(s, "%s: authenticated as %s from %s",
			  rv_conn_label(c, label, sizeof(label)), b64, c->addr);
	memset(&f, 0, sizeof(f));
	f.type = COVE_F_WLC;
	memcpy(f.u.wlc.you, id, COVE_ID_LEN);
	/* Our limits, so that the node paces itself and we never refuse it. */
	f.u.wlc.rate = s->conf.rate;
	f.u.wlc.burst = s->conf.burst;
	if (c->closing || send_signed(c, &f) != COVE_OK)
		return 1;
	return 0;
}

/* ---- birth ----------------------------------------------------------------- */

struct rv_conn *rv_conn_new(struct rv_server *s, evutil_socket_t fd, const char *addr)
{
	struct cove_sess_io io = { io_reserve, io_commit, io_frame, io_authed, NULL };
	struct rv_conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c) {
		evutil_closesocket(fd);
		return NULL;
	}
	c->srv = s;
	c->num = ++s->next_conn;
	snprintf(c->addr, sizeof(c->addr), "%s", addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	io.ctx = c;
	c->bev = bufferevent_socket_new(s->base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->sess = cove_sess_new_server(s->id, &io);
	c->timer = evtimer_new(s->base, timer_cb, c);
	if (!c->bev || !c->sess || !c->timer) {
		if (c->bev)
			bufferevent_free(c->bev);
		else
			evutil_closesocket(fd);
		cove_sess_free(c->sess);
		if (c->timer)
			event_free(c->timer);
		free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	TAILQ_INSERT_TAIL(&s->conns, c, next);
	s->nconns++;
	s->nunauth++;
	s->stats.conns_accepted++;
	arm_timer(c, s->conf.auth_timeout_ms);
	log_debug("conn %llu: accepted from %s", (unsigned long long)c->num, c->addr);
	return c;
}

/* ---- all of them --------------------------------------------------------------- */

/* Makes room for a new handshake by closing the oldest one still in
 * progress: a flood of silent connections then only ever delays itself. */
void rv_conn_evict_unauth(struct rv_server *s)
{
	struct rv_conn *c;

	TAILQ_FOREACH(c, &s->conns, next) {
		if (!c->authed && !c->closing) {
			char label[96];

			s->stats.evicted++;
			log_debug("%s: evicted: too many handshakes in progress",
				  rv_conn_label(c, label, sizeof(label)));
			rv_conn_close(c, 0);
			return;
		}
	}
}

/* A connection silent for three keepalive periods is taken for dead
 * (half-open: the peer vanished without a FIN) and closed: its members
 * are away. */
void rv_conn_sweep(struct rv_server *s)
{
	uint64_t now = cove_now_ms(), ka = s->conf.keepalive_ms;
	struct rv_conn *c, *tmp;
	char label[96];

	for (c = TAILQ_FIRST(&s->conns); c; c = tmp) {
		tmp = TAILQ_NEXT(c, next);
		/* One with frames pending has spoken and waits for us (its
		 * reading paused, perhaps): it is not silent. */
		if (!c->authed || c->closing || (c->ctx && s->cb->busy(c)))
			continue;
		if (now - c->last_rx_ms >= 3 * ka) {
			s->stats.dead_peers++;
			rv_log_conn_event(s, "%s: no sign of life for %llu ms; closing",
					  rv_conn_label(c, label, sizeof(label)),
					  (unsigned long long)(now - c->last_rx_ms));
			rv_conn_close(c, 0);
		} else if (now - c->last_rx_ms >= ka && now - c->last_ping_ms >= ka) {
			c->last_ping_ms = now;
			rv_conn_send_link(c, COVE_F_PING, now);
		}
	}
}

size_t rv_conn_revoke(struct rv_server *s)
{
	struct rv_conn *c, *tmp;
	size_t revoked = 0;

	for (c = TAILQ_FIRST(&s->conns); c; c = tmp) {
		const struct cove_wl_entry *e;
		char label[96];

		tmp = TAILQ_NEXT(c, next);
		if (!c->authed || c->closing)
			continue;
		e = cove_wl_find_pk(s->wl, c->pk);
		if (e) {
			snprintf(c->name, sizeof(c->name), "%s", e->name);
			continue;
		}
		revoked++;
		log_info("%s: removed from the whitelist; disconnecting",
			 rv_conn_label(c, label, sizeof(label)));
		rv_conn_send_err(c, "", COVE_EC_REVOKED, 0,
				 "your key was removed from this rendezvous's whitelist");
		rv_conn_close(c, 1);
	}
	return revoked;
}

void rv_conn_shutdown_all(struct rv_server *s)
{
	struct rv_conn *c;

	while ((c = TAILQ_FIRST(&s->conns))) {
		if (c->authed && !c->closing) {
			rv_conn_send_err(c, "", COVE_EC_SHUTDOWN, 0,
					 "the rendezvous is shutting down");
			/* one best-effort write; the loop is not running any more */
			evbuffer_write(bufferevent_get_output(c->bev), bufferevent_getfd(c->bev));
		}
		if (!c->closing && !c->authed)
			s->nunauth--;
		if (!c->closing)
			s->nclosing++;
		c->closing = CLOSE_FLUSH;
		doom(c);
	}
	rv_conn_reap(s);
}
