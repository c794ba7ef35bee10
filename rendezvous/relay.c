/*
 * relay.c - what the rendezvous does with each frame a node sends.
 *
 * Every INI, KEY, DAT, RDY, RKY and BYE is checked before anything else
 * happens, cheapest first: a type nodes may send, signed by the
 * connection's own identity, that identity still whitelisted, its sequence
 * number above the connection's last, within the rate limit (DATs), and
 * the signature valid. A refusal is a signed ERR with the reason. Then
 * room.c decides what the frame means for the room; DATs are fanned out
 * here, as the bytes that were verified.
 *
 * In two steps, so that the signature can be checked on a worker thread
 * (verify/verify.c): the precheck, when the frame arrives, decides whether a
 * check is worth paying for and takes the rate token; the act, in the
 * frame's turn, makes every decision with the state of then.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "common/err.h"
#include "proto/msg.h"
#include "rendezvous/relay.h"

#define RATE_LOG_WINDOW_MS 10000u

/* A DAT's rate check, made on arrival (the verdict's tag). */
enum { RV_RATE_UNCHECKED = 0, RV_RATE_TAKEN, RV_RATE_OVER };

int rv_relay_check(const struct cove_frame *f)
{
	return cove_msg_verify(f) == COVE_OK ? VF_SIG_GOOD : VF_SIG_BAD;
}

/* What the relay keeps of a connection that is up. */
struct rv_client {
	struct rv_conn *conn;
	struct rv_server *srv;
	struct rm_peer *peer;          /* its place in the rooms */
	struct vf_fifo *fifo;          /* frames waiting for their turn; NULL without a pool */
	uint64_t last_seq;
	/* rate limit on DATs (token bucket) */
	double tokens;
	uint64_t tokens_ms;
	/* rate-limit refusals are logged once per window */
	uint64_t rate_log_ms;
};

static const char *type_name(uint8_t type)
{
	switch (type) {
	case COVE_F_INI: return "INI";
	case COVE_F_KEY: return "KEY";
	case COVE_F_DAT: return "DAT";
	case COVE_F_RDY: return "RDY";
	case COVE_F_RKY: return "RKY";
	case COVE_F_BYE: return "BYE";
	case COVE_F_SYN: return "SYN";
	}
	return "frame";
}

/* A token bucket per connection: DATs beyond the burst arrive at no more
 * than the rate, whatever one member does to a room. */
static int within_rate(struct rv_client *c)
{
	const struct rv_conf *conf = &c->srv->conf;
	uint64_t now = cove_now_ms();

	if (c->tokens_ms == 0) {
		c->tokens = conf->burst;
		c->tokens_ms = now;
	}
	c->tokens += (double)(now - c->tokens_ms) * conf->rate / 1000.0;
	c->tokens_ms = now;
	if (c->tokens > conf->burst)
		c->tokens = conf->burst;
	if (c->tokens < 1.0)
		return 0;
	c->tokens -= 1.0;
	return 1;
}

static struct rm_member *member_of(struct rv_client *c, const struct cove_frame *f)
{
	return rm_peer_member(c->peer, f->room, f->room_len);
}

static void refuse(struct rv_client *c, const struct cove_frame *f, uint32_t code,
		   const char *why)
{
	if (code == COVE_EC_RATE) {
		/* A flood is one event, not one per frame: once per window. */
		uint64_t now = cove_now_ms();

		if (now - c->rate_log_ms >= RATE_LOG_WINDOW_MS) {
			c->rate_log_ms = now;
			rv_conn_log(c->conn, "sending DATs faster than --rate %u (burst %u); "
				    "refusing the excess (counted, logged again in %u s if it "
				    "goes on)", c->srv->conf.rate, c->srv->conf.burst,
				    RATE_LOG_WINDOW_MS / 1000);
		}
	} else {
		rv_conn_log(c->conn, "refused %s seq %llu: %s", type_name(f->type),
			    (unsigned long long)f->seq, why);
	}
	rv_conn_send_err(c->conn, f->room, code, f->seq, "%s", why);
}

static void on_dat(struct rv_client *c, const struct cove_frame *f, const uint8_t *raw,
		   size_t len)
{
	struct rm_member *m = member_of(c, f);

	if (c->srv->conf.tamper) {
		const uint8_t *evil;
		size_t evil_len;

		switch (c->srv->conf.tamper(raw, len, &evil, &evil_len)) {
		case RV_TAMPER_PASS:
			break;
		case RV_TAMPER_REPLACE:
			raw = evil;
			len = evil_len;
			break;
		case RV_TAMPER_DROP:
			return;
		}
	}

	if (!m || rm_dat(m, raw, len) != 0) {
		char why[160];

		snprintf(why, sizeof(why), "DAT refused: you have not joined room %s (or hold no "
			 "key yet)", f->room);
		refuse(c, f, COVE_EC_NOT_MEMBER, why);
	}
}

static void on_room_frame(struct rv_client *c, const struct cove_frame *f, const uint8_t *raw,
			  size_t len)
{
	struct rm_member *m = member_of(c, f);
	char why[200];
	int code = 0;

	if (!m) {
		snprintf(why, sizeof(why), "%s refused: you have not joined room %s",
			 type_name(f->type), f->room);
		refuse(c, f, COVE_EC_NOT_MEMBER, why);
		return;
	}
	why[0] = '\0';
	switch (f->type) {
	case COVE_F_KEY:
		code = rm_key(m, f, raw, len, why, sizeof(why));
		break;
	case COVE_F_RDY:
		code = rm_rdy(m, f->u.rdy.epoch, why, sizeof(why));
		break;
	case COVE_F_RKY:
		code = rm_rky(m, f->u.rdy.epoch);
		break;
	case COVE_F_SYN:
		code = rm_syn(m, f->u.syn.after, f->u.syn.after_dat);
		if (code)
			snprintf(why, sizeof(why), "SYN refused: you asked for room %s's frames "
				 "once already on this connection", f->room);
		break;
	case COVE_F_BYE:
		if (memcmp(f->u.bye.who, f->from, COVE_ID_LEN) != 0) {
			code = COVE_EC_BAD_FRAME;
			snprintf(why, sizeof(why), "BYE refused: a node may only say it leaves itself");
			break;
		}
		rm_leave(m, raw, len);
		break;
	}
	if (code)
		refuse(c, f, (uint32_t)code, why);
}

/* The checks before the signature's, cheapest first, with the state of
 * now: 0 when f passes them, else the ERR code to refuse it with (the
 * reason written to why). The rate limit is not among them: its token is
 * taken once, when the frame arrives (precheck). */
static uint32_t check(struct rv_client *c, const struct cove_frame *f, char *why, size_t cap)
{
	const char *tn = type_name(f->type);

	switch (f->type) {
	case COVE_F_INI:
	case COVE_F_KEY:
	case COVE_F_DAT:
	case COVE_F_RDY:
	case COVE_F_RKY:
	case COVE_F_BYE:
	case COVE_F_SYN:
		break;
	default:
		snprintf(why, cap, "frame type %u is not one nodes may send", f->type);
		return COVE_EC_WRONG_DIRECTION;
	}
	if (memcmp(f->from, rv_conn_pk(c->conn), COVE_ID_LEN) != 0) {
		snprintf(why, cap, "%s refused: its sender is not the identity of this "
			 "connection", tn);
		return COVE_EC_WRONG_SENDER;
	}
	if (!cove_wl_find_pk(c->srv->wl, f->from)) {
		snprintf(why, cap, "%s refused: your key is not on this rendezvous's whitelist",
			 tn);
		return COVE_EC_NOT_WHITELISTED;
	}
	if (f->seq <= c->last_seq) {
		snprintf(why, cap, "%s refused: sequence number %llu is not above your last, "
			 "%llu", tn, (unsigned long long)f->seq, (unsigned long long)c->last_seq);
		return COVE_EC_REPLAY;
	}
	return 0;
}

static int is_link_frame(const struct cove_frame *f)
{
	return f->type == COVE_F_PING || f->type == COVE_F_PONG;
}

/* The checks of PROTOCOL.md 5 a frame can be given when it arrives, with
 * the state of that moment: whether a signature check is worth paying
 * for. Takes a DAT's rate token (v->tag says whether it got one).
 * Returns 1 when the frame's signature is to be checked, else 0 (a link
 * frame, or one that is going to be refused). */
static int precheck(struct rv_client *c, int err, const struct cove_frame *f,
		    struct vf_verdict *v)
{
	char why[200];

	if (err || is_link_frame(f) || check(c, f, why, sizeof(why)))
		return 0;
	/* before the signature: a flood should not cost a verification each */
	if (f->type == COVE_F_DAT) {
		v->tag = within_rate(c) ? RV_RATE_TAKEN : RV_RATE_OVER;
		if (v->tag == RV_RATE_OVER)
			return 0;
	}
	return 1;
}

/* Acts on a frame in its turn: every check again, in PROTOCOL.md's order,
 * with the state of now, except the rate (v->tag, from the arrival) and
 * the signature (v->sig; checked here when VF_SIG_UNCHECKED); then a
 * refusal, or what the frame means. Returns 0, or 1 when c is closing. */
static int act(struct rv_client *c, int err, const struct cove_frame *f, const uint8_t *raw,
	       size_t len, const struct vf_verdict *v)
{
	struct rv_server *s = c->srv;
	uint32_t code;
	int sig;
	char why[200];

	if (err) {
		rv_conn_log(c->conn, "refused a frame: %s", cove_strerror(err));
		rv_conn_send_err(c->conn, "", COVE_EC_BAD_FRAME, 0, "frame refused: %s",
				 cove_strerror(err));
		return 0;
	}
	if (f->type == COVE_F_PING) {
		rv_conn_send_link(c->conn, COVE_F_PONG, f->u.ping.n);
		return 0;
	}
	if (f->type == COVE_F_PONG)
		return 0; /* any frame is a sign of life: read_cb noted it */
	code = check(c, f, why, sizeof(why));
	if (code) {
		/* An earlier frame, accepted after this one arrived, raised
		 * last_seq past it: the token it took is given back, as if
		 * it had been refused on arrival. */
		if (v->tag == RV_RATE_TAKEN && (c->tokens += 1.0) > s->conf.burst)
			c->tokens = s->conf.burst;
		refuse(c, f, code, why);
		return 0;
	}
	if ((f->type == COVE_F_INI || f->type == COVE_F_KEY || f->type == COVE_F_DAT ||
	     f->type == COVE_F_BYE) && len > COVE_FWD_INNER_MAX) {
		/* The relay keeps what it fans out and hands it over later in a
		 * FWD, which must fit a frame: larger would be lost to members
		 * catching up. No honest node makes one (padding tops out at
		 * COVE_PAD_MAX). */
		snprintf(why, sizeof(why), "%s refused: %zu bytes, above the %u a room keeps",
			 type_name(f->type), len, (unsigned)COVE_FWD_INNER_MAX);
		refuse(c, f, COVE_EC_BAD_FRAME, why);
		return 0;
	}
	if (f->type == COVE_F_DAT &&
	    (v->tag == RV_RATE_OVER || (v->tag == RV_RATE_UNCHECKED && !within_rate(c)))) {
		snprintf(why, sizeof(why), "DAT refused: more than %u a second (burst %u); slow "
			 "down and send it again", s->conf.rate, s->conf.burst);
		refuse(c, f, COVE_EC_RATE, why);
		return 0;
	}
	sig = v->sig;
	if (sig == VF_SIG_UNCHECKED) {
		s->stats.verify.loop++;
		sig = rv_relay_check(f);
	}
	if (sig != VF_SIG_GOOD) {
		snprintf(why, sizeof(why), "%s refused: its signature does not verify",
			 type_name(f->type));
		refuse(c, f, COVE_EC_BAD_SIGNATURE, why);
		return 0;
	}
	c->last_seq = f->seq;
	if (f->type == COVE_F_INI) {
		code = (uint32_t)rm_join(c->peer, f->room, f->room_len, f->u.ini.xpk, raw, len);
		if (code == COVE_EC_ALREADY_JOINED)
			snprintf(why, sizeof(why), "you are already in room %s on this connection",
				 f->room);
		else if (code)
			snprintf(why, sizeof(why), "at most %zu rooms per connection on this "
				 "rendezvous", s->conf.max_rooms);
		if (code)
			refuse(c, f, code, why);
		return rv_conn_closing(c->conn);
	}
	if (f->type == COVE_F_DAT)
		on_dat(c, f, raw, len);
	else
		on_room_frame(c, f, raw, len);
	return rv_conn_closing(c->conn);
}

/* ---- what a connection calls --------------------------------------------- */

static int fifo_act(void *ctx, int err, const struct cove_frame *f, const uint8_t *raw,
		    size_t len, const struct vf_verdict *v)
{
	return act(ctx, err, f, raw, len, v);
}

static void fifo_pause(void *ctx, int paused)
{
	rv_conn_pause(((struct rv_client *)ctx)->conn, paused);
}

static void fifo_drained(void *ctx)
{
	rv_conn_drained(((struct rv_client *)ctx)->conn);
}

static const struct vf_fifo_ops fifo_ops = { fifo_act, fifo_pause, fifo_drained };

static int conn_up(struct rv_conn *conn)
{
	struct rv_server *s = rv_conn_server(conn);
	struct rm_link link = { &rv_conn_link, conn };
	struct rv_client *c = calloc(1, sizeof(*c));

	if (!c)
		return COVE_ERR_NOMEM;
	c->conn = conn;
	c->srv = s;
	c->peer = rm_peer_new(s->hub, rv_conn_pk(conn), &link);
	if (s->pool)
		c->fifo = vf_fifo_new(s->pool, &fifo_ops, c);
	if (!c->peer || (s->pool && !c->fifo)) {
		rm_peer_free(c->peer);
		free(c);
		return COVE_ERR_NOMEM;
	}
	rv_conn_set_ctx(conn, c);
	return 0;
}

/* Acts on the frame at once when nothing of c is pending and it needs no
 * signature check, or one the loop had better make itself; otherwise
 * queues a copy behind c's pending frames. */
static int conn_frame(struct rv_conn *conn, int err, const struct cove_frame *f,
		      const uint8_t *raw, size_t len)
{
	struct rv_client *c = rv_conn_ctx(conn);
	struct vf_verdict v = { RV_RATE_UNCHECKED, VF_SIG_UNCHECKED };
	int verify;

	c->srv->stats.frames_in++;
	verify = precheck(c, err, f, &v);
	/* The fast path, as without a pool: nothing to wait for, or a check
	 * cheaper here than on a worker. */
	if (!c->fifo || (vf_fifo_empty(c->fifo) && (!verify || vf_pool_inline(c->srv->pool))))
		return act(c, err, f, raw, len, &v);
	if (vf_fifo_push(c->fifo, err, f, raw, len, &v, verify) != COVE_OK) {
		char label[96];

		/* It cannot be skipped (what follows would be acted on out of
		 * order) nor acted on early: the connection goes. */
		log_error("%s: out of memory for a pending frame; closing",
			  rv_conn_label(conn, label, sizeof(label)));
		rv_conn_close(conn, 0);
		return 1;
	}
	return 0;
}

static int conn_busy(const struct rv_conn *conn)
{
	const struct rv_client *c = rv_conn_ctx(conn);

	return !vf_fifo_empty(c->fifo);
}

static void conn_finish(struct rv_conn *conn)
{
	struct rv_client *c = rv_conn_ctx(conn);

	if (c->fifo)
		vf_fifo_finish(c->fifo);
}

static void conn_closing(struct rv_conn *conn)
{
	struct rv_client *c = rv_conn_ctx(conn);

	vf_fifo_drop(c->fifo);
	rm_peer_closing(c->peer);
}

static void conn_output_low(struct rv_conn *conn)
{
	struct rv_client *c = rv_conn_ctx(conn);

	rm_peer_drained(c->peer);
}

static void conn_gone(struct rv_conn *conn)
{
	struct rv_client *c = rv_conn_ctx(conn);

	vf_fifo_free(c->fifo);
	rm_peer_free(c->peer); /* its members are away */
	rv_conn_set_ctx(conn, NULL);
	free(c);
}

const struct rv_conn_cb rv_relay_cb = {
	.up = conn_up,
	.frame = conn_frame,
	.busy = conn_busy,
	.finish = conn_finish,
	.closing = conn_closing,
	.output_low = conn_output_low,
	.gone = conn_gone,
};
