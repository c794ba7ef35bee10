/*
 * peer.c - a simulated node for the relay's benchmarks.
 *
 * It speaks the real protocol with real keys: the handshake and the
 * encrypted link through proto/sess, signed INI, RDY, KEY and BYE frames,
 * and DATs padded, encrypted under the room's key and signed exactly as
 * cove-node makes them. What it leaves out is what makes a node trustworthy
 * and costs a verification per frame: it takes the relay's word for who is
 * in the room (it does not verify the INIs the relay forwards) and checks
 * the DATs it receives only when asked to (check_every). That keeps one
 * bench process able to stand in for a thousand nodes without becoming
 * the bottleneck; bench/node.c runs the real node core where a scenario
 * measures a node's own work.
 */
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>

#include "bench/bn.h"
#include "cli/cli.h"
#include "common/err.h"
#include "crypto/group.h"
#include "proto/msg.h"
#include "proto/sess.h"

/* While sending prepared DATs, keep about this much queued for the
 * kernel: enough to fill the socket, little enough to stay in cache. */
#define SEND_HIGH (256u << 10)
#define SEND_LOW (64u << 10)

struct member {
	uint8_t pk[COVE_ID_LEN];
	uint8_t xpk[COVE_XPK_LEN];
	int present;
};

struct bn_peer {
	struct event_base *base;
	struct bn_peer_conf conf;
	size_t room_len;
	struct bufferevent *bev;
	struct cove_sess *sess;
	struct evbuffer_iovec iov;   /* the reservation being filled */
	uint64_t seq;
	int authed, joined, keyed, dead;
	struct cove_xkp xkp;         /* the session key of our join */
	uint8_t gk[COVE_GK_LEN];
	uint32_t epoch;
	uint8_t sid[COVE_SID_LEN];
	uint64_t next_n;
	struct member *members;
	size_t nmembers, cap_members;
	/* prepared DATs: n frames of frame_len bytes each, back to back */
	uint8_t *frames;
	size_t nframes, frame_len, next_frame;
	int sending;
	size_t ndat_seen;
};

static void read_cb(struct bufferevent *bev, void *arg);
static void write_cb(struct bufferevent *bev, void *arg);
static void event_cb(struct bufferevent *bev, short what, void *arg);

/* ---- the link -------------------------------------------------------------------- */

static uint8_t *io_reserve(void *ctx, size_t len)
{
	struct bn_peer *p = ctx;

	if (evbuffer_reserve_space(bufferevent_get_output(p->bev), (ev_ssize_t)len, &p->iov,
				   1) != 1)
		return NULL;
	return p->iov.iov_base;
}

static void io_commit(void *ctx, size_t len)
{
	struct bn_peer *p = ctx;

	p->iov.iov_len = len;
	evbuffer_commit_space(bufferevent_get_output(p->bev), &p->iov, 1);
}

static int send_signed(struct bn_peer *p, struct cove_frame *f)
{
	int ret = cove_msg_sign(f, p->conf.id);

	return ret == COVE_OK ? cove_sess_send(p->sess, f) : ret;
}

static void header(struct bn_peer *p, struct cove_frame *f, uint8_t type)
{
	cove_msg_init(f, type, p->conf.room, p->room_len, p->conf.id->pk, ++p->seq, cove_now_ms());
}

static void go_down(struct bn_peer *p)
{
	if (p->dead)
		return;
	p->dead = 1;
	bufferevent_disable(p->bev, EV_READ | EV_WRITE);
	atomic_fetch_add(&p->conf.counts->down, 1);
}

/* ---- keys ---------------------------------------------------------------------------- */

static struct member *member(struct bn_peer *p, const uint8_t pk[COVE_ID_LEN], int add)
{
	for (size_t i = 0; i < p->nmembers; i++)
		if (memcmp(p->members[i].pk, pk, COVE_ID_LEN) == 0)
			return &p->members[i];
	if (!add)
		return NULL;
	if (p->nmembers == p->cap_members) {
		size_t cap = p->cap_members ? p->cap_members * 2 : 16;
		struct member *more = realloc(p->members, cap * sizeof(*more));

		if (!more)
			return NULL;
		p->members = more;
		p->cap_members = cap;
	}
	memset(&p->members[p->nmembers], 0, sizeof(p->members[0]));
	memcpy(p->members[p->nmembers].pk, pk, COVE_ID_LEN);
	return &p->members[p->nmembers++];
}

/* The hash of us and the members present, as a KEY carries it. */
static void view(struct bn_peer *p, uint32_t epoch, uint8_t out[COVE_VIEW_LEN])
{
	uint8_t(*ids)[32] = malloc((p->nmembers + 1) * sizeof(*ids));
	size_t n = 0;

	if (!ids) {
		memset(out, 0, COVE_VIEW_LEN);
		return;
	}
	memcpy(ids[n++], p->conf.id->pk, 32);
	for (size_t i = 0; i < p->nmembers; i++)
		if (p->members[i].present)
			memcpy(ids[n++], p->members[i].pk, 32);
	cove_view_hash(out, epoch, ids, n);
	free(ids);
}

static void send_rdy(struct bn_peer *p)
{
	struct cove_frame f;

	header(p, &f, COVE_F_RDY);
	f.u.rdy.epoch = p->epoch;
	send_signed(p, &f);
}

static void give_key(struct bn_peer *p, const uint8_t to[COVE_ID_LEN],
		     const uint8_t xpk[COVE_XPK_LEN], const uint8_t v[COVE_VIEW_LEN])
{
	struct cove_frame k;

	header(p, &k, COVE_F_KEY);
	if (cove_msg_key_seal(&k, to, xpk, p->epoch, p->gk, v, p->conf.id) == COVE_OK)
		cove_sess_send(p->sess, &k);
}

static void took_key(struct bn_peer *p)
{
	if (!p->keyed) {
		p->keyed = 1;
		atomic_fetch_add(&p->conf.counts->keyed, 1);
	} else {
		atomic_fetch_add(&p->conf.counts->rekeyed, 1);
	}
	if (p->conf.on_key)
		p->conf.on_key(p->conf.arg, p->epoch);
}

static void on_ini(struct bn_peer *p, const struct cove_frame *f)
{
	struct member *m;

	if (memcmp(f->from, p->conf.relay_pk, COVE_ID_LEN) == 0) {
		/* "you are first": a new group */
		if (p->keyed || memcmp(f->u.ini.xpk, p->xkp.pk, COVE_XPK_LEN) != 0)
			return;
		randombytes_buf(p->gk, sizeof(p->gk));
		p->epoch = 0;
		send_rdy(p);
		took_key(p);
		return;
	}
	m = member(p, f->from, 1);
	if (m) {
		memcpy(m->xpk, f->u.ini.xpk, COVE_XPK_LEN);
		m->present = 1;
	}
}

static void on_ask(struct bn_peer *p, const struct cove_frame *f)
{
	uint8_t v[COVE_VIEW_LEN];

	if (!p->keyed || memcmp(f->u.ask.to, p->conf.id->pk, COVE_ID_LEN) != 0)
		return;
	view(p, p->epoch, v);
	give_key(p, f->u.ask.joiner, f->u.ask.xpk, v);
}

static void on_key(struct bn_peer *p, const struct cove_frame *f)
{
	if (memcmp(f->u.key.to, p->conf.id->pk, COVE_ID_LEN) != 0 ||
	    memcmp(f->u.key.xpk, p->xkp.pk, COVE_XPK_LEN) != 0 ||
	    (p->keyed && f->u.key.epoch <= p->epoch))
		return;
	if (cove_msg_key_open(f, &p->xkp, p->gk) != COVE_OK) {
		atomic_fetch_add(&p->conf.counts->bad, 1);
		return;
	}
	p->epoch = f->u.key.epoch;
	send_rdy(p);
	took_key(p);
}

static void on_rek(struct bn_peer *p, const struct cove_frame *f)
{
	uint8_t v[COVE_VIEW_LEN];

	if (!p->keyed || memcmp(f->u.rek.to, p->conf.id->pk, COVE_ID_LEN) != 0 ||
	    f->u.rek.epoch <= p->epoch)
		return;
	randombytes_buf(p->gk, sizeof(p->gk));
	p->epoch = f->u.rek.epoch;
	send_rdy(p); /* first: the relay takes our KEYs once we hold the epoch */
	view(p, p->epoch, v);
	for (size_t i = 0; i < p->nmembers; i++)
		if (p->members[i].present)
			give_key(p, p->members[i].pk, p->members[i].xpk, v);
	took_key(p);
}

static void on_dat(struct bn_peer *p, const struct cove_frame *f)
{
	static _Thread_local uint8_t pt[COVE_PAD_MAX];
	struct cove_payload pl;

	atomic_store_explicit(&p->conf.counts->last_dat_ns, bn_now_ns(), memory_order_relaxed);
	if (p->conf.check_every && ++p->ndat_seen % p->conf.check_every == 0) {
		if (f->u.dat.epoch != p->epoch || cove_msg_verify(f) != COVE_OK ||
		    cove_msg_dat_open(f, p->gk, pt, sizeof(pt), &pl) != COVE_OK)
			atomic_fetch_add(&p->conf.counts->bad, 1);
		else
			atomic_fetch_add(&p->conf.counts->dats_checked, 1);
	}
	/* counted last: whoever waits for the count of DATs then reads
	 * the checks of all of them */
	atomic_fetch_add(&p->conf.counts->dats, 1);
}

/* ---- frames from the relay ------------------------------------------------------- */

static void send_ini(struct bn_peer *p)
{
	struct cove_frame f;

	header(p, &f, COVE_F_INI);
	memcpy(f.u.ini.xpk, p->xkp.pk, COVE_XPK_LEN);
	send_signed(p, &f);
	p->joined = 1;
}

static int io_frame(void *ctx, int err, const struct cove_frame *f, const uint8_t *raw,
		    size_t len)
{
	struct bn_peer *p = ctx;
	struct cove_frame pong;

	(void)raw;
	(void)len;
	if (err)
		return 0;
	switch (f->type) {
	case COVE_F_WLC:
		p->authed = 1;
		atomic_fetch_add(&p->conf.counts->authed, 1);
		if (p->conf.room)
			send_ini(p);
		break;
	case COVE_F_INI: on_ini(p, f); break;
	case COVE_F_ASK: on_ask(p, f); break;
	case COVE_F_KEY: on_key(p, f); break;
	case COVE_F_REK: on_rek(p, f); break;
	case COVE_F_DAT: on_dat(p, f); break;
	case COVE_F_BYE: {
		struct member *m = member(p, f->u.bye.who, 0);

		if (m)
			m->present = 0;
		break;
	}
	case COVE_F_ERR:
		atomic_store(&p->conf.counts->last_err, f->u.err.code);
		atomic_fetch_add(&p->conf.counts->errs, 1);
		break;
	case COVE_F_PING:
		memset(&pong, 0, sizeof(pong));
		pong.type = COVE_F_PONG;
		pong.u.ping.n = f->u.ping.n;
		cove_sess_send(p->sess, &pong);
		break;
	case COVE_F_PONG:
		atomic_fetch_add(&p->conf.counts->pongs, 1);
		break;
	case COVE_F_PRS: {
		/* The relay's word on who is connected. The peer's view (the
		 * members a KEY says the key went to) counts those here, as a
		 * node counts those it would seal to when none away has held
		 * a key by its evidence. */
		struct member *m = member(p, f->u.prs.who, 0);

		if (m)
			m->present = f->u.prs.here != 0;
		if (!f->u.prs.here)
			atomic_fetch_add(&p->conf.counts->away, 1);
		break;
	}
	}
	return 0;
}

static void read_cb(struct bufferevent *bev, void *arg)
{
	struct bn_peer *p = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!p->dead && evbuffer_get_length(in) > 0) {
		struct evbuffer_iovec v;
		int ret;

		if (evbuffer_peek(in, -1, NULL, &v, 1) < 1)
			break;
		ret = cove_sess_input(p->sess, v.iov_base, v.iov_len);
		evbuffer_drain(in, v.iov_len);
		if (ret < 0) {
			bn_err("%s: link failed: %s", p->conf.room ? p->conf.room : "peer",
			       cove_strerror(ret));
			go_down(p);
		}
	}
}

static void event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct bn_peer *p = arg;

	if (what & BEV_EVENT_CONNECTED) {
		bn_nodelay(bev);
		return;
	}
	go_down(p);
}

/* ---- life ------------------------------------------------------------------------------ */

struct bn_peer *bn_peer_new(struct event_base *base, const struct bn_peer_conf *conf)
{
	struct cove_sess_io io = { io_reserve, io_commit, io_frame, NULL, NULL };
	struct bn_peer *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->base = base;
	p->conf = *conf;
	p->room_len = conf->room ? strlen(conf->room) : 0;
	p->seq = cove_now_us();
	crypto_box_keypair(p->xkp.pk, p->xkp.sk);
	randombytes_buf(p->sid, sizeof(p->sid));
	io.ctx = p;
	p->bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	p->sess = cove_sess_new_client(conf->id, conf->relay_pk, &io);
	if (!p->bev || !p->sess) {
		bn_peer_free(p);
		return NULL;
	}
	bufferevent_setcb(p->bev, read_cb, NULL, event_cb, p);
	return p;
}

void bn_peer_free(struct bn_peer *p)
{
	if (!p)
		return;
	if (p->bev)
		bufferevent_free(p->bev);
	cove_sess_free(p->sess);
	sodium_memzero(p->gk, sizeof(p->gk));
	sodium_memzero(&p->xkp, sizeof(p->xkp));
	free(p->members);
	free(p->frames);
	free(p);
}

int bn_peer_connect(struct bn_peer *p)
{
	if (bn_connect(p->bev, p->conf.host, p->conf.port) != 0) {
		go_down(p);
		return -1;
	}
	return cove_sess_start(p->sess) == COVE_OK ? 0 : -1;
}

int bn_peer_prepare(struct bn_peer *p, size_t n, size_t text_len)
{
	static _Thread_local uint8_t ct[COVE_DAT_CT_MAX];
	struct cove_payload pl;
	char *text;

	if (!p->keyed || text_len == 0 || text_len > COVE_TEXT_MAX)
		return -1;
	text = malloc(text_len);
	if (!text)
		return -1;
	memset(text, 'x', text_len);
	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_TEXT;
	pl.text = text;
	pl.text_len = text_len;
	free(p->frames);
	p->frames = NULL;
	p->nframes = p->next_frame = 0;
	for (size_t i = 0; i < n; i++) {
		struct cove_frame f;
		size_t len;

		header(p, &f, COVE_F_DAT);
		f.u.dat.epoch = p->epoch;
		memcpy(f.u.dat.sid, p->sid, COVE_SID_LEN);
		f.u.dat.n = p->next_n++;
		if (cove_msg_dat_seal(&f, ct, sizeof(ct), &pl, p->gk, p->conf.id) != COVE_OK)
			goto fail;
		if (!p->frames) {
			/* fixed-width integers: every DAT of this text has this size */
			p->frame_len = cove_frame_size(&f);
			p->frames = malloc(n * p->frame_len);
			if (!p->frames)
				goto fail;
		}
		if (cove_frame_encode(&f, p->frames + i * p->frame_len, p->frame_len, &len) !=
			    COVE_OK ||
		    len != p->frame_len)
			goto fail;
		p->nframes++;
	}
	free(text);
	return 0;
fail:
	free(text);
	return -1;
}

size_t bn_peer_frame_len(const struct bn_peer *p)
{
	return p->frame_len;
}

/* Writes prepared DATs until about SEND_HIGH is queued; the write
 * callback comes back for more once the kernel has taken most of it. */
static void pump(struct bn_peer *p)
{
	struct evbuffer *out = bufferevent_get_output(p->bev);
	size_t sent = 0;

	while (p->next_frame < p->nframes && evbuffer_get_length(out) < SEND_HIGH && !p->dead) {
		if (cove_sess_send_raw(p->sess, p->frames + p->next_frame * p->frame_len,
				       p->frame_len) != COVE_OK) {
			go_down(p);
			break;
		}
		p->next_frame++;
		sent++;
	}
	atomic_fetch_add(&p->conf.counts->sent, sent);
	if (p->sending && p->next_frame == p->nframes) {
		struct cove_frame ping;

		/* The relay acts on a connection's frames in order, so its PONG
		 * says every DAT before it has been handled. */
		p->sending = 0;
		memset(&ping, 0, sizeof(ping));
		ping.type = COVE_F_PING;
		ping.u.ping.n = 1;
		cove_sess_send(p->sess, &ping);
		atomic_fetch_add(&p->conf.counts->done_sending, 1);
	}
}

static void write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	pump(arg);
}

int bn_peer_send(struct bn_peer *p)
{
	if (p->dead || !p->frames)
		return -1;
	p->sending = 1;
	bufferevent_setwatermark(p->bev, EV_WRITE, SEND_LOW, 0);
	bufferevent_setcb(p->bev, read_cb, write_cb, event_cb, p);
	pump(p);
	return 0;
}

int bn_peer_bye(struct bn_peer *p)
{
	struct cove_frame f;

	if (p->dead || !p->joined)
		return -1;
	header(p, &f, COVE_F_BYE);
	memcpy(f.u.bye.who, p->conf.id->pk, COVE_ID_LEN);
	return send_signed(p, &f) == COVE_OK ? 0 : -1;
}

uint32_t bn_peer_epoch(const struct bn_peer *p)
{
	return p->epoch;
}
