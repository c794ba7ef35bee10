#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "chat/chat.h"
#include "cli/cli.h"
#include "common/err.h"
#include "node/net.h"
#include "proto/msg.h"
#include "proto/sess.h"
#include "verify/verify.h"

/* Output the node will queue when the relay stops reading: past this the
 * link is considered dead rather than buffering without end. */
#define ND_MAX_QUEUE (16u << 20)

struct nd_net {
	struct event_base *base;
	const struct cove_ident *id;
	uint8_t relay[COVE_ID_LEN];
	const char *host;
	uint16_t port;
	struct nd_net_cb cb;
	struct vf_fifo *fifo;        /* frames waiting for their turn; NULL without a pool */
	struct vf_pool *pool;
	int oom;                     /* a frame could not be queued: the link goes */
	struct bufferevent *bev;
	struct cove_sess *sess;
	struct evbuffer_iovec iov;   /* the reservation being filled */
	int connected;               /* TCP up */
	int dead;                    /* down() has been called */
	int finishing;               /* nd_net_finish() was called */
	struct event *finish_timer;
	uint64_t last_rx_ms;
	uint64_t last_tx_ms;
};

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);
static void finish_timeout_cb(evutil_socket_t fd, short what, void *arg);

static uint8_t *io_reserve(void *ctx, size_t len)
{
	struct nd_net *n = ctx;
	struct evbuffer *out = bufferevent_get_output(n->bev);

	if (evbuffer_get_length(out) + len > ND_MAX_QUEUE)
		return NULL;
	if (evbuffer_reserve_space(out, (ev_ssize_t)len, &n->iov, 1) != 1)
		return NULL;
	return n->iov.iov_base;
}

static void io_commit(void *ctx, size_t len)
{
	struct nd_net *n = ctx;

	n->iov.iov_len = len;
	n->last_tx_ms = cove_now_ms();
	evbuffer_commit_space(bufferevent_get_output(n->bev), &n->iov, 1);
}

int nd_net_check(const struct cove_frame *f)
{
	struct cove_frame in;

	if (f->type == COVE_F_FWD) {
		/* what the core checks of a FWD: the frame inside, by its author */
		if (cove_frame_decode(&in, f->u.fwd.frame, f->u.fwd.frame_len) != COVE_OK)
			return VF_SIG_BAD; /* the core drops it before any check */
		f = &in;
	}
	return cove_msg_verify(f) == COVE_OK ? VF_SIG_GOOD : VF_SIG_BAD;
}

int nd_net_pool_new(struct vf_pool **out, struct event_base *base, unsigned threads,
		    struct vf_stats *stats)
{
	const struct vf_pool_conf pc = { threads, ND_VERIFY_INLINE, nd_net_check,
					 ND_VERIFY_PENDING_MAX, ND_VERIFY_PENDING_BYTES };

	return vf_pool_new(out, base, &pc, stats);
}

unsigned nd_net_verify_threads(void)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	if (cpus <= 1)
		return 0;
	return cpus - 1 > ND_VERIFY_THREADS_MAX ? ND_VERIFY_THREADS_MAX : (unsigned)(cpus - 1);
}

/* Whether f carries a member's signature the core would check: a stored
 * frame, or a member's own (not one the relay signed: those are few, and
 * the core checks them against the relay's key). */
static int member_signed(const struct nd_net *n, const struct cove_frame *f)
{
	switch (f->type) {
	case COVE_F_FWD:
		return 1;
	case COVE_F_INI:
	case COVE_F_KEY:
	case COVE_F_DAT:
	case COVE_F_BYE:
		return memcmp(f->from, n->relay, COVE_ID_LEN) != 0;
	}
	return 0;
}

/* A frame in its turn. Returns 0 to go on, 1 when the core gave up on the
 * link (it has said why). */
static int act(struct nd_net *n, int err, const struct cove_frame *f, const uint8_t *raw,
	       size_t len, int sig)
{
	if (err)
		return 0; /* an undecodable frame from the relay: skip it */
	if (f->type == COVE_F_PING) {
		struct cove_frame pong;

		/* after what came before it: a PONG says all that was handled */
		memset(&pong, 0, sizeof(pong));
		pong.type = COVE_F_PONG;
		pong.u.ping.n = f->u.ping.n;
		cove_sess_send(n->sess, &pong);
		return 0;
	}
	if (f->type == COVE_F_PONG)
		return 0; /* a sign of life, already noted */
	if (n->cb.frame(n->cb.ctx, f, raw, len, sig) < 0) {
		n->dead = 1;
		bufferevent_disable(n->bev, EV_READ | EV_WRITE);
		return 1;
	}
	return 0;
}

static int fifo_act(void *ctx, int err, const struct cove_frame *f, const uint8_t *raw,
		    size_t len, const struct vf_verdict *v)
{
	struct nd_net *n = ctx;

	if (n->dead)
		return 1;
	return act(n, err, f, raw, len, v->sig == VF_SIG_GOOD ? COVE_CHAT_SIG_GOOD :
					   v->sig == VF_SIG_BAD ? COVE_CHAT_SIG_BAD :
					   COVE_CHAT_SIG_UNCHECKED);
}

/* Too much waits for its turn: the relay's frames stay in the kernel, and
 * its TCP window closes, until half of it is handled. */
static void fifo_pause(void *ctx, int paused)
{
	struct nd_net *n = ctx;

	if (n->dead)
		return;
	if (paused)
		bufferevent_disable(n->bev, EV_READ);
	else
		bufferevent_enable(n->bev, EV_READ);
}

static void fifo_drained(void *ctx)
{
	(void)ctx;
}

static const struct vf_fifo_ops fifo_ops = { fifo_act, fifo_pause, fifo_drained };

static int io_frame(void *ctx, int err, const struct cove_frame *f, const uint8_t *raw,
		    size_t len)
{
	struct nd_net *n = ctx;
	struct vf_verdict v = { 0, VF_SIG_UNCHECKED };
	int check = !err && member_signed(n, f);

	if (n->dead)
		return 1;
	/* A frame checked on the loop, in the core, as ever when nothing
	 * waits and frames come slowly (a live room: a hand-off to a worker
	 * would cost more than it saves); else it takes its turn in the
	 * FIFO, its check on a worker meanwhile (a catch-up). */
	if (!n->fifo || (vf_fifo_empty(n->fifo) && (!check || vf_pool_inline(n->pool))))
		return act(n, err, f, raw, len, COVE_CHAT_SIG_UNCHECKED);
	if (vf_fifo_push(n->fifo, err, f, raw, len, &v, check) != COVE_OK) {
		n->oom = 1;
		return 1;
	}
	return 0;
}

static int io_authed(void *ctx, const uint8_t id[COVE_ID_LEN])
{
	struct nd_net *n = ctx;

	(void)id; /* the session checked it is the pinned key */
	if (n->cb.linked && n->cb.linked(n->cb.ctx) < 0)
		return 1;
	return 0;
}

static void go_down_as(struct nd_net *n, const char *why, int permanent)
{
	if (n->dead)
		return;
	/* What arrived before the end is the relay's word all the same (its
	 * last ERR, say): handled first, those still being checked checked
	 * by the core. */
	vf_fifo_finish(n->fifo);
	if (n->dead)
		return; /* the core gave up meanwhile (and said why) */
	n->dead = 1;
	bufferevent_disable(n->bev, EV_READ | EV_WRITE);
	if (n->finish_timer)
		evtimer_del(n->finish_timer);
	n->cb.down(n->cb.ctx, why, permanent);
}

static void go_down(struct nd_net *n, const char *why)
{
	go_down_as(n, why, 0);
}

struct nd_net *nd_net_new(struct event_base *base, struct vf_pool *pool,
			  const struct cove_ident *id, const uint8_t relay_pk[COVE_ID_LEN],
			  const char *host, uint16_t port, const struct nd_net_cb *cb)
{
	struct cove_sess_io io = { io_reserve, io_commit, io_frame, io_authed, NULL };
	struct nd_net *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->base = base;
	n->id = id;
	memcpy(n->relay, relay_pk, COVE_ID_LEN);
	n->host = host;
	n->port = port;
	n->cb = *cb;
	io.ctx = n;
	n->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	n->sess = cove_sess_new_client(id, relay_pk, &io);
	n->finish_timer = evtimer_new(base, finish_timeout_cb, n);
	n->pool = pool;
	if (pool)
		n->fifo = vf_fifo_new(pool, &fifo_ops, n);
	if (!n->bev || !n->sess || !n->finish_timer || (pool && !n->fifo)) {
		nd_net_free(n);
		return NULL;
	}
	bufferevent_setcb(n->bev, read_cb, write_cb, event_cb, n);
	return n;
}

void nd_net_free(struct nd_net *n)
{
	if (!n)
		return;
	vf_fifo_free(n->fifo);
	if (n->bev)
		bufferevent_free(n->bev);
	if (n->finish_timer)
		event_free(n->finish_timer);
	cove_sess_free(n->sess);
	free(n);
}

/* Everything is written: half-close, so the relay reads all we sent, sees
 * our end of stream and closes its side; our reads go on until then.
 * Closing outright instead could make the kernel reset the connection
 * (we have unread input) and destroy our last frames in flight. */
static void half_close(struct nd_net *n)
{
	evutil_socket_t fd = bufferevent_getfd(n->bev);

	if (fd >= 0)
		shutdown(fd, SHUT_WR);
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	struct nd_net *n = arg;

	(void)bev;
	if (n->finishing == 1) {
		n->finishing = 2;
		half_close(n);
	}
}

static void finish_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
	struct nd_net *n = arg;
	evutil_socket_t sock = bufferevent_getfd(n->bev);
	size_t queued = evbuffer_get_length(bufferevent_get_output(n->bev));
	int unacked = 0;
	char why[200];

	(void)fd;
	(void)what;
	/* SIOCOUTQ: bytes the peer's kernel has not yet acknowledged. */
	if (sock >= 0 && ioctl(sock, SIOCOUTQ, &unacked) != 0)
		unacked = 0;
	if (queued == 0 && unacked == 0) {
		go_down(n, NULL); /* all delivered; the relay is just slow to close */
		return;
	}
	snprintf(why, sizeof(why), "quit before the rendezvous took everything: %zu bytes "
		 "unsent and %d unacknowledged; the last messages may be lost", queued, unacked);
	go_down(n, why);
}

void nd_net_finish(struct nd_net *n, unsigned ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	if (n->dead || n->finishing)
		return;
	if (!n->connected) {
		go_down(n, NULL);
		return;
	}
	n->finishing = 1;
	evtimer_add(n->finish_timer, &tv);
	if (evbuffer_get_length(bufferevent_get_output(n->bev)) == 0) {
		n->finishing = 2;
		half_close(n);
	}
}

int nd_net_connect(struct nd_net *n)
{
	char why[300];

	bufferevent_enable(n->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect_hostname(n->bev, NULL, AF_UNSPEC, n->host, n->port) != 0) {
		snprintf(why, sizeof(why), "cannot connect to %s:%u: %s", n->host, n->port,
			 evutil_gai_strerror(bufferevent_socket_get_dns_error(n->bev)));
		go_down(n, why);
		return -1;
	}
	return 0;
}

int nd_net_send(void *arg, const struct cove_frame *f)
{
	struct nd_net *n = arg;

	if (n->dead || !cove_sess_established(n->sess))
		return COVE_ERR_STATE;
	return cove_sess_send(n->sess, f);
}

size_t nd_net_unsent(const struct nd_net *n)
{
	return evbuffer_get_length(bufferevent_get_output(n->bev));
}

int nd_net_up(const struct nd_net *n)
{
	return !n->dead && cove_sess_established(n->sess);
}

int nd_net_dead(const struct nd_net *n)
{
	return n->dead;
}

uint64_t nd_net_last_rx(const struct nd_net *n)
{
	return n->last_rx_ms;
}

uint64_t nd_net_last_tx(const struct nd_net *n)
{
	return n->last_tx_ms;
}

int nd_net_ping(struct nd_net *n, uint64_t token)
{
	struct cove_frame f;

	if (n->dead || !cove_sess_established(n->sess))
		return COVE_ERR_STATE;
	memset(&f, 0, sizeof(f));
	f.type = COVE_F_PING;
	f.u.ping.n = token;
	return cove_sess_send(n->sess, &f);
}

void nd_net_kill(struct nd_net *n, const char *why)
{
	go_down(n, why);
}

static const char *link_error(const struct nd_net *n, int err, char *buf, size_t cap)
{
	switch (err) {
	case COVE_ERR_DECRYPT:
		return "the link to the rendezvous failed authentication: data was corrupted or "
		       "tampered with in transit; connection closed";
	case COVE_ERR_PEER_KEY:
		snprintf(buf, cap, "the server at %s:%u is not the rendezvous pinned with -S (its "
			 "key differs); check -S and -s", n->host, n->port);
		return buf;
	case COVE_ERR_SIGNATURE:
		return "the rendezvous's handshake signature does not verify; connection closed";
	case COVE_ERR_VERSION:
		snprintf(buf, cap, "the rendezvous speaks protocol version %u, this node %u; "
			 "upgrade the older one", cove_sess_peer_version(n->sess),
			 COVE_PROTO_VERSION);
		return buf;
	case COVE_ERR_FRAME_SIZE:
		return "the rendezvous sent a record of length 0 or above the maximum; "
		       "connection closed";
	case COVE_ERR_PADDING:
		return "the rendezvous sent a record whose padding is malformed (a broken or "
		       "hostile relay); connection closed";
	default:
		snprintf(buf, cap, "link to the rendezvous failed: %s", cove_strerror(err));
		return buf;
	}
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct nd_net *n = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	n->last_rx_ms = cove_now_ms();
	while (!n->dead && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		char buf[300];
		int ret;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		ret = cove_sess_input(n->sess, v.iov_base, v.iov_len);
		evbuffer_drain(in, v.iov_len);
		if (ret < 0) {
			/* the wrong server, or another version: retrying cannot help */
			go_down_as(n, link_error(n, ret, buf, sizeof(buf)),
				   ret == COVE_ERR_PEER_KEY || ret == COVE_ERR_VERSION ||
					   ret == COVE_ERR_SIGNATURE);
			return;
		}
		if (ret > 0 && n->oom) {
			go_down(n, "out of memory: a frame from the rendezvous could not wait for "
				"its turn; connection closed");
			return;
		}
		if (ret > 0) {
			/* The core gave up on the link (it has said why). */
			n->dead = 1;
			bufferevent_disable(n->bev, EV_READ | EV_WRITE);
			return;
		}
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct nd_net *n = arg;
	char why[300];

	if (what & BEV_EVENT_CONNECTED) {
		evutil_socket_t fd = bufferevent_getfd(bev);
		int one = 1, ret;

		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		n->connected = 1;
		n->last_rx_ms = cove_now_ms();
		ret = cove_sess_start(n->sess);
		if (ret != COVE_OK) {
			snprintf(why, sizeof(why), "cannot start the handshake: %s",
				 cove_strerror(ret));
			go_down(n, why);
		}
		return;
	}
	if (!n->connected) {
		int e = EVUTIL_SOCKET_ERROR();
		int dns = bufferevent_socket_get_dns_error(bev);

		if (dns)
			snprintf(why, sizeof(why), "cannot resolve %s: %s", n->host,
				 evutil_gai_strerror(dns));
		else
			snprintf(why, sizeof(why), "cannot connect to %s:%u: %s; is cove-rendezvous "
				 "running there?", n->host, n->port,
				 evutil_socket_error_to_string(e));
	} else if (n->finishing) {
		go_down(n, NULL); /* the relay closed after our end of stream */
		return;
	} else if (what & BEV_EVENT_EOF) {
		snprintf(why, sizeof(why), "the rendezvous closed the connection%s",
			 cove_sess_established(n->sess) ? "" :
			 " during the handshake (is -S its key, and is this node on its whitelist?)");
	} else {
		snprintf(why, sizeof(why), "connection to the rendezvous lost: %s",
			 evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
	}
	go_down(n, why);
}
