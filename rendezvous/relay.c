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
 * (verify.c): the precheck, when the frame arrives, decides whether a
 * check is worth paying for and takes the rate token; the act, in the
 * frame's turn, makes every decision with the state of then.
 */
#include <string.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "common/err.h"
#include "proto/msg.h"
#include "rendezvous/rv.h"

#define RATE_LOG_WINDOW_MS 10000u

static const char *type_name(uint8_t type)
{
	switch (type) {
	case COVE_F_INI: return "INI";
	case COVE_F_KEY: return "KEY";
	case COVE_F_DAT: return "DAT";
	case COVE_F_RDY: return "RDY";
	case COVE_F_RKY: return "RKY";
	case COVE_F_BYE: return "BYE";
	}
	return "frame";
}

/* A token bucket per connection: DATs beyond the burst arrive at no more
 * than the rate, whatever one member does to a room. */
static int within_rate(struct rv_conn *c)
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

static struct rv_member *member_of(struct rv_conn *c, const struct cove_frame *f)
{
	struct rv_room *r = rv_rooms_find(&c->srv->rooms, f->room, f->room_len);

	return r ? rv_room_member(c, r) : NULL;
}

static void refuse(struct rv_conn *c, const struct cove_frame *f, uint32_t code, const char *why)
{
	if (code == COVE_EC_RATE) {
		/* A flood is one event, not one per frame: once per window. */
		uint64_t now = cove_now_ms();

		if (now - c->rate_log_ms >= RATE_LOG_WINDOW_MS) {
			c->rate_log_ms = now;
			rv_conn_log(c, "sending DATs faster than --rate %u (burst %u); refusing "
				    "the excess (counted, logged again in %u s if it goes on)",
				    c->srv->conf.rate, c->srv->conf.burst, RATE_LOG_WINDOW_MS / 1000);
		}
	} else {
		rv_conn_log(c, "refused %s seq %llu: %s", type_name(f->type),
			    (unsigned long long)f->seq, why);
	}
	rv_send_err(c, f->room, code, f->seq, "%s", why);
}

static void on_dat(struct rv_conn *c, const struct cove_frame *f, const uint8_t *raw, size_t len)
{
	struct rv_member *m = member_of(c, f);

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

	if (!m || !m->keyed) {
		char why[160];

		snprintf(why, sizeof(why), "DAT refused: you have not joined room %s (or hold no "
			 "key yet)", f->room);
		refuse(c, f, COVE_EC_NOT_MEMBER, why);
		return;
	}
	c->srv->stats.frames_forwarded++;
	c->srv->stats.deliveries += rv_room_broadcast(m->room, m, raw, len, 1);
}

static void on_room_frame(struct rv_conn *c, const struct cove_frame *f, const uint8_t *raw,
			  size_t len)
{
	struct rv_member *m = member_of(c, f);
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
		code = rv_room_key(m, f, raw, len, why, sizeof(why));
		break;
	case COVE_F_RDY:
		code = rv_room_rdy(m, f->u.rdy.epoch, why, sizeof(why));
		break;
	case COVE_F_RKY:
		code = rv_room_rky(m, f->u.rdy.epoch);
		break;
	case COVE_F_BYE:
		if (memcmp(f->u.bye.who, f->from, COVE_ID_LEN) != 0) {
			code = COVE_EC_BAD_FRAME;
			snprintf(why, sizeof(why), "BYE refused: a node may only say it leaves itself");
			break;
		}
		rv_room_leave(m, raw, len);
		break;
	}
	if (code)
		refuse(c, f, (uint32_t)code, why);
}

/* The checks before the signature's, cheapest first, with the state of
 * now: 0 when f passes them, else the ERR code to refuse it with (the
 * reason written to why). The rate limit is not among them: its token is
 * taken once, when the frame arrives (rv_relay_precheck). */
static uint32_t check(struct rv_conn *c, const struct cove_frame *f, char *why, size_t cap)
{
	const char *tn = type_name(f->type);

	switch (f->type) {
	case COVE_F_INI:
	case COVE_F_KEY:
	case COVE_F_DAT:
	case COVE_F_RDY:
	case COVE_F_RKY:
	case COVE_F_BYE:
		break;
	default:
		snprintf(why, cap, "frame type %u is not one nodes may send", f->type);
		return COVE_EC_WRONG_DIRECTION;
	}
	if (memcmp(f->from, c->pk, COVE_ID_LEN) != 0) {
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

int rv_relay_precheck(struct rv_conn *c, int err, const struct cove_frame *f,
		      struct rv_verdict *v)
{
	char why[200];

	if (err || is_link_frame(f) || check(c, f, why, sizeof(why)))
		return 0;
	/* before the signature: a flood should not cost a verification each */
	if (f->type == COVE_F_DAT) {
		v->rate = within_rate(c) ? RV_RATE_TAKEN : RV_RATE_OVER;
		if (v->rate == RV_RATE_OVER)
			return 0;
	}
	return 1;
}

int rv_relay_act(struct rv_conn *c, int err, const struct cove_frame *f, const uint8_t *raw,
		 size_t len, const struct rv_verdict *v)
{
	struct rv_server *s = c->srv;
	uint32_t code;
	int sig;
	char why[200];

	if (err) {
		rv_conn_log(c, "refused a frame: %s", cove_strerror(err));
		rv_send_err(c, "", COVE_EC_BAD_FRAME, 0, "frame refused: %s", cove_strerror(err));
		return 0;
	}
	if (f->type == COVE_F_PING) {
		rv_send_link(c, COVE_F_PONG, f->u.ping.n);
		return 0;
	}
	if (f->type == COVE_F_PONG)
		return 0; /* any frame is a sign of life: read_cb noted it */
	code = check(c, f, why, sizeof(why));
	if (code) {
		/* An earlier frame, accepted after this one arrived, raised
		 * last_seq past it: the token it took is given back, as if
		 * it had been refused on arrival. */
		if (v->rate == RV_RATE_TAKEN && (c->tokens += 1.0) > s->conf.burst)
			c->tokens = s->conf.burst;
		refuse(c, f, code, why);
		return 0;
	}
	if (f->type == COVE_F_DAT &&
	    (v->rate == RV_RATE_OVER || (v->rate == RV_RATE_UNCHECKED && !within_rate(c)))) {
		snprintf(why, sizeof(why), "DAT refused: more than %u a second (burst %u); slow "
			 "down and send it again", s->conf.rate, s->conf.burst);
		refuse(c, f, COVE_EC_RATE, why);
		return 0;
	}
	sig = v->sig;
	if (sig == RV_SIG_UNCHECKED) {
		s->stats.verified_loop++;
		sig = rv_verify_sig(f);
	}
	if (sig != RV_SIG_GOOD) {
		snprintf(why, sizeof(why), "%s refused: its signature does not verify",
			 type_name(f->type));
		refuse(c, f, COVE_EC_BAD_SIGNATURE, why);
		return 0;
	}
	c->last_seq = f->seq;
	if (f->type == COVE_F_INI) {
		code = (uint32_t)rv_room_join(c, f->room, f->room_len, f->u.ini.xpk, raw, len);
		if (code == COVE_EC_ALREADY_JOINED)
			snprintf(why, sizeof(why), "you are already in room %s on this connection",
				 f->room);
		else if (code)
			snprintf(why, sizeof(why), "at most %zu rooms per connection on this "
				 "rendezvous", s->conf.max_rooms);
		if (code)
			refuse(c, f, code, why);
		return c->closing ? 1 : 0;
	}
	if (f->type == COVE_F_DAT)
		on_dat(c, f, raw, len);
	else
		on_room_frame(c, f, raw, len);
	return c->closing ? 1 : 0;
}

int rv_relay_frame(struct rv_conn *c, int err, const struct cove_frame *f, const uint8_t *raw,
		   size_t len)
{
	struct rv_verdict v = { RV_RATE_UNCHECKED, RV_SIG_UNCHECKED };
	int verify;

	c->srv->stats.frames_in++;
	verify = rv_relay_precheck(c, err, f, &v);
	/* The fast path, as without a pool: nothing to wait for, or a check
	 * cheaper here than on a worker. */
	if (!c->srv->pool ||
	    (TAILQ_EMPTY(&c->pending) && (!verify || rv_verify_inline(c->srv))))
		return rv_relay_act(c, err, f, raw, len, &v);
	return rv_verify_queue(c, err, f, raw, len, &v, verify);
}
