/*
 * test_sess.c - a client and a server session wired together in memory:
 * the handshake completes (whole or a byte at a time), frames travel both
 * ways, and every way of tampering with the bytes in between stops the
 * session with the documented error instead of delivering anything.
 * Every record is padded to its size class, so that its length tells an
 * observer nothing about the frame type.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "crypto/ident.h"
#include "crypto/pad.h"
#include "crypto/sizes.h"
#include "proto/sess.h"
#include "tests/unit/check.h"

/* ---- an in-memory connection ------------------------------------------- */

struct end {
	struct cove_sess *s;
	uint8_t *out;             /* bytes this side has sent, not yet delivered */
	size_t len, cap;
	int refuse;               /* reserve fails: the program refuses to queue */
	/* what the callbacks saw */
	unsigned frames;
	int frame_err;            /* err of the last frame callback */
	uint8_t last_type;        /* type of the last frame that decoded */
	uint8_t raw[COVE_FRAME_MAX];
	size_t raw_len;
	int frame_ret;            /* what the frame callback returns */
	int authed;
	uint8_t authed_id[COVE_ID_LEN];
	int authed_at_first_frame;    /* authed when the first frame came */
	int ping_when_authed;         /* the authed callback sends a PING */
};

struct conn {
	struct end c, srv;
	struct cove_ident *cid, *sid;
	/* tampering: flip bit flip_bit of chunk flip_chunk sent by flip_from */
	const struct end *flip_from;
	unsigned flip_chunk;
	size_t flip_bit;
	unsigned chunks_c, chunks_s;
	/* where the pump stopped */
	int err;
	const struct end *err_at;
};

static uint8_t *io_reserve(void *ctx, size_t len)
{
	struct end *e = ctx;

	if (e->refuse)
		return NULL;
	if (e->cap - e->len < len) {
		size_t cap = (e->len + len) * 2;
		uint8_t *p = realloc(e->out, cap);

		if (!p)
			return NULL;
		e->out = p;
		e->cap = cap;
	}
	return e->out + e->len;
}

static void io_commit(void *ctx, size_t len)
{
	struct end *e = ctx;

	e->len += len;
}

static int io_frame(void *ctx, int err, const struct cove_frame *f, const uint8_t *raw,
		    size_t raw_len)
{
	struct end *e = ctx;

	if (e->frames++ == 0)
		e->authed_at_first_frame = e->authed;
	e->frame_err = err;
	if (f)
		e->last_type = f->type;
	assert_true((err == 0) == (f != NULL));
	assert_true(raw_len <= sizeof(e->raw));
	memcpy(e->raw, raw, raw_len);
	e->raw_len = raw_len;
	return e->frame_ret;
}

static int io_authed(void *ctx, const uint8_t id[COVE_ID_LEN])
{
	struct end *e = ctx;

	e->authed++;
	memcpy(e->authed_id, id, COVE_ID_LEN);
	if (e->ping_when_authed) {
		struct cove_frame f;

		memset(&f, 0, sizeof(f));
		f.type = COVE_F_PING;
		f.u.ping.n = 7;
		assert_ok(cove_sess_send(e->s, &f));
	}
	return 0;
}

/* Client and server identities, the client pinned to pinned (the
 * server's own key when NULL), the server signing with server_id (a fresh
 * key when NULL). */
static struct conn *conn_new(const uint8_t *pinned, struct cove_ident *server_id)
{
	struct conn *k = calloc(1, sizeof(*k));
	struct cove_sess_io io = { io_reserve, io_commit, io_frame, io_authed, NULL };

	assert_non_null(k);
	k->cid = cove_ident_new();
	assert_non_null(k->cid);
	cove_ident_generate(k->cid);
	if (server_id) {
		k->sid = server_id;
	} else {
		k->sid = cove_ident_new();
		assert_non_null(k->sid);
		cove_ident_generate(k->sid);
	}
	io.ctx = &k->c;
	k->c.s = cove_sess_new_client(k->cid, pinned ? pinned : k->sid->pk, &io);
	io.ctx = &k->srv;
	k->srv.s = cove_sess_new_server(k->sid, &io);
	assert_non_null(k->c.s);
	assert_non_null(k->srv.s);
	return k;
}

static void conn_free(struct conn *k)
{
	cove_sess_free(k->c.s);
	cove_sess_free(k->srv.s);
	free(k->c.out);
	free(k->srv.out);
	cove_ident_free(k->cid);
	cove_ident_free(k->sid);
	free(k);
}

/* Moves what `from` has sent to `to`, whole or a byte at a time, applying
 * the tampering set in k. Returns what cove_sess_input() returned. */
static int deliver(struct conn *k, struct end *from, struct end *to, int byte_by_byte)
{
	unsigned *chunks = from == &k->c ? &k->chunks_c : &k->chunks_s;
	size_t n = from->len;
	uint8_t *data = malloc(n);
	int r = 0;

	assert_non_null(data);
	memcpy(data, from->out, n);
	from->len = 0;
	if (k->flip_from == from && *chunks == k->flip_chunk && k->flip_bit < 8 * n)
		data[k->flip_bit / 8] ^= (uint8_t)(1u << (k->flip_bit % 8));
	(*chunks)++;
	if (byte_by_byte) {
		for (size_t i = 0; i < n && r == 0; i++)
			r = cove_sess_input(to->s, data + i, 1);
	} else {
		r = cove_sess_input(to->s, data, n);
	}
	free(data);
	return r;
}

/* Delivers bytes both ways until nothing moves or a side fails; the
 * failure is left in k->err and k->err_at. */
static int pump(struct conn *k, int byte_by_byte)
{
	for (;;) {
		int moved = 0, r;

		if (k->c.len > 0) {
			moved = 1;
			r = deliver(k, &k->c, &k->srv, byte_by_byte);
			if (r != 0) {
				k->err = r;
				k->err_at = &k->srv;
				return r;
			}
		}
		if (k->srv.len > 0) {
			moved = 1;
			r = deliver(k, &k->srv, &k->c, byte_by_byte);
			if (r != 0) {
				k->err = r;
				k->err_at = &k->c;
				return r;
			}
		}
		if (!moved)
			return 0;
	}
}

static struct conn *connected(void)
{
	struct conn *k = conn_new(NULL, NULL);

	assert_ok(cove_sess_start(k->c.s));
	assert_ok(pump(k, 0));
	assert_true(cove_sess_established(k->c.s));
	assert_true(cove_sess_established(k->srv.s));
	return k;
}

static void make_bye(struct cove_frame *f, const uint8_t *from, uint64_t seq)
{
	memset(f, 0, sizeof(*f));
	f->type = COVE_F_BYE;
	assert_ok(cove_frame_set_room(f, "lobby", 5));
	memcpy(f->from, from, COVE_ID_LEN);
	f->seq = seq;
	f->ts = 1234;
	memset(f->u.bye.who, 0x77, COVE_ID_LEN);
	memset(f->sig, 0x55, COVE_WSIG_LEN);
}

/* ---- the handshake ------------------------------------------------------ */

TEST(handshake_completes_and_each_side_knows_the_other)
{
	struct conn *k = conn_new(NULL, NULL);

	assert_false(cove_sess_established(k->c.s));
	assert_null(cove_sess_peer(k->c.s));
	assert_null(cove_sess_peer(k->srv.s));
	assert_ok(cove_sess_start(k->c.s));
	assert_ok(pump(k, 0));
	assert_true(cove_sess_established(k->c.s));
	assert_true(cove_sess_established(k->srv.s));
	assert_int_equal(k->srv.authed, 1);
	assert_bytes(k->srv.authed_id, k->cid->pk, COVE_ID_LEN);
	assert_int_equal(k->c.authed, 1);
	assert_bytes(k->c.authed_id, k->sid->pk, COVE_ID_LEN);
	assert_non_null(cove_sess_peer(k->srv.s));
	assert_bytes(cove_sess_peer(k->srv.s), k->cid->pk, COVE_ID_LEN);
	assert_non_null(cove_sess_peer(k->c.s));
	assert_bytes(cove_sess_peer(k->c.s), k->sid->pk, COVE_ID_LEN);
	/* SRV_AUTH and CLI_AUTH are the first record each way. */
	assert_u64(cove_sess_records_out(k->c.s), 1);
	assert_u64(cove_sess_records_in(k->c.s), 1);
	assert_u64(cove_sess_records_out(k->srv.s), 1);
	assert_u64(cove_sess_records_in(k->srv.s), 1);
	assert_int_equal(k->c.frames + k->srv.frames, 0);
	conn_free(k);
}

TEST(handshake_completes_when_fed_one_byte_at_a_time)
{
	struct conn *k = conn_new(NULL, NULL);

	assert_ok(cove_sess_start(k->c.s));
	assert_ok(pump(k, 1));
	assert_true(cove_sess_established(k->c.s));
	assert_true(cove_sess_established(k->srv.s));
	assert_int_equal(k->srv.authed, 1);
	assert_bytes(k->srv.authed_id, k->cid->pk, COVE_ID_LEN);
	conn_free(k);
}

/* A client need not wait for the server's answer to CLI_AUTH: what it
 * sends from its authed callback follows CLI_AUTH in the same flight and
 * reaches the server's program after the server accepted the client. */
TEST(a_client_may_send_from_its_authed_callback_and_the_server_gets_it_after_accepting)
{
	struct conn *k = conn_new(NULL, NULL);
	struct cove_frame g;

	k->c.ping_when_authed = 1;
	assert_ok(cove_sess_start(k->c.s));
	assert_ok(deliver(k, &k->c, &k->srv, 0));  /* HELLO */
	assert_ok(deliver(k, &k->srv, &k->c, 0));  /* CHALLENGE, SRV_AUTH */
	assert_int_equal(k->c.authed, 1);
	assert_u64(cove_sess_records_out(k->c.s), 2); /* CLI_AUTH, then the PING */
	assert_ok(deliver(k, &k->c, &k->srv, 0));  /* both, in one flight */
	assert_int_equal(k->srv.authed, 1);
	assert_int_equal(k->srv.frames, 1);
	assert_int_equal(k->srv.authed_at_first_frame, 1);
	assert_ok(cove_frame_decode(&g, k->srv.raw, k->srv.raw_len));
	assert_u64(g.type, COVE_F_PING);
	assert_u64(g.u.ping.n, 7);
	conn_free(k);
}

TEST(hello_is_the_documented_clear_frame)
{
	struct conn *k = conn_new(NULL, NULL);
	struct cove_frame f;

	assert_ok(cove_sess_start(k->c.s));
	/* u32be length || [2, 16, eph, nonce] */
	assert_u64(k->c.len, 4 + 71);
	assert_bytes(k->c.out, "\0\0\0\x47\x94\x02\x10", 7);
	assert_ok(cove_frame_decode(&f, k->c.out + 4, 71));
	assert_u64(f.type, COVE_F_HELLO);
	/* Starting twice, or starting a server, is a state error. */
	assert_err(cove_sess_start(k->c.s), COVE_ERR_STATE);
	assert_err(cove_sess_start(k->srv.s), COVE_ERR_STATE);
	conn_free(k);
}

TEST(client_refuses_a_server_that_is_not_the_pinned_key)
{
	struct cove_ident *someone = cove_ident_new();
	struct conn *k;

	assert_non_null(someone);
	cove_ident_generate(someone);
	k = conn_new(someone->pk, NULL);
	assert_ok(cove_sess_start(k->c.s));
	assert_err(pump(k, 0), COVE_ERR_PEER_KEY);
	assert_ptr_equal(k->err_at, &k->c);
	assert_false(cove_sess_established(k->c.s));
	assert_false(cove_sess_established(k->srv.s));
	assert_int_equal(k->srv.authed, 0);
	assert_int_equal(k->c.authed, 0);
	assert_null(cove_sess_peer(k->c.s));
	conn_free(k);
	cove_ident_free(someone);
}

TEST(client_refuses_a_server_claiming_the_pinned_key_without_holding_it)
{
	struct cove_ident *real = cove_ident_new(), *fake = cove_ident_new();
	struct conn *k;

	assert_non_null(real);
	assert_non_null(fake);
	cove_ident_generate(real);
	cove_ident_generate(fake);
	/* The impostor announces the real key but signs with its own. */
	memcpy(fake->pk, real->pk, COVE_PK_LEN);
	k = conn_new(real->pk, fake);
	assert_ok(cove_sess_start(k->c.s));
	assert_err(pump(k, 0), COVE_ERR_SIGNATURE);
	assert_ptr_equal(k->err_at, &k->c);
	assert_false(cove_sess_established(k->c.s));
	assert_int_equal(k->srv.authed, 0);
	assert_int_equal(k->c.authed, 0);
	conn_free(k);
	cove_ident_free(real);
}

/* No single flipped bit anywhere in the handshake's traffic may let it
 * complete: chunk 0 each way is HELLO and CHALLENGE + SRV_AUTH, chunk 1
 * from the client is CLI_AUTH. */
static size_t chunk_size(int from_client, unsigned chunk)
{
	struct conn *k = conn_new(NULL, NULL);
	size_t n = 0;

	assert_ok(cove_sess_start(k->c.s));
	if (from_client && chunk == 0) {
		n = k->c.len;
	} else {
		assert_ok(deliver(k, &k->c, &k->srv, 0));
		if (!from_client) {
			n = k->srv.len;
		} else {
			assert_ok(deliver(k, &k->srv, &k->c, 0));
			n = k->c.len;
		}
	}
	conn_free(k);
	return n;
}

static void flip_each_bit(int from_client, unsigned chunk)
{
	size_t n = chunk_size(from_client, chunk);

	assert_true(n > 0);
	for (size_t bit = 0; bit < 8 * n; bit++) {
		struct conn *k = conn_new(NULL, NULL);

		k->flip_from = from_client ? &k->c : &k->srv;
		k->flip_chunk = chunk;
		k->flip_bit = bit;
		assert_ok(cove_sess_start(k->c.s));
		pump(k, 0);
		if (k->srv.authed || cove_sess_established(k->srv.s))
			fail_msg("%s chunk %u (%zu bytes), bit %zu flipped: the server accepted "
				 "the client", from_client ? "client" : "server", chunk, n, bit);
		if (!(from_client && chunk == 1) && cove_sess_established(k->c.s))
			fail_msg("%s chunk %u (%zu bytes), bit %zu flipped: the client accepted "
				 "the server", from_client ? "client" : "server", chunk, n, bit);
		conn_free(k);
	}
}

TEST(no_flipped_bit_in_hello_lets_the_handshake_complete)
{
	flip_each_bit(1, 0);
}

TEST(no_flipped_bit_in_challenge_or_server_auth_lets_the_handshake_complete)
{
	flip_each_bit(0, 0);
}

TEST(no_flipped_bit_in_client_auth_lets_the_server_accept)
{
	flip_each_bit(1, 1);
}

/* ---- versions ----------------------------------------------------------- */

TEST(server_answers_another_version_with_version)
{
	/* A version-1 client (the version before this one), and a newer one. */
	static const uint8_t others[] = { 0x01, 0x03 };

	assert_u64(COVE_PROTO_VERSION, 2);
	for (size_t i = 0; i < sizeof(others); i++) {
		struct conn *k = conn_new(NULL, NULL);
		uint8_t hello[4 + 71];

		assert_ok(cove_sess_start(k->c.s));
		memcpy(hello, k->c.out, sizeof(hello));
		k->c.len = 0;
		hello[5] = others[i]; /* [v, 16, eph, nonce] */
		assert_err(cove_sess_input(k->srv.s, hello, sizeof(hello)), COVE_ERR_VERSION);
		/* VERSION in the clear: [2, 20], "I speak version 2", and nothing
		 * else: no CHALLENGE, no record. */
		assert_u64(k->srv.len, 7);
		assert_bytes(k->srv.out, "\0\0\0\x03\x92\x02\x14", 7);
		assert_false(cove_sess_established(k->srv.s));
		/* The client hears it as a version mismatch and learns the version. */
		assert_err(cove_sess_input(k->c.s, k->srv.out, k->srv.len), COVE_ERR_VERSION);
		assert_u64(cove_sess_peer_version(k->c.s), COVE_PROTO_VERSION);
		assert_false(cove_sess_established(k->c.s));
		conn_free(k);
	}
}

/* What a client of this version hears from a server that speaks only
 * version v: [v, 20]. cove_sess_peer_version() must say v, so the program
 * can tell the user which version the relay wants. */
static void client_hears_version(uint8_t v)
{
	const uint8_t rec[] = { 0, 0, 0, 3, 0x92, v, 0x14 };
	struct conn *k = conn_new(NULL, NULL);
	unsigned version;
	int r;

	assert_ok(cove_sess_start(k->c.s));
	r = cove_sess_input(k->c.s, rec, sizeof(rec));
	version = cove_sess_peer_version(k->c.s);
	conn_free(k); /* before the checks, so a failure leaks nothing */
	assert_err(r, COVE_ERR_VERSION);
	assert_u64(version, v);
}

TEST(client_reports_the_version_a_newer_server_speaks)
{
	client_hears_version(3);
}

/* A relay not yet upgraded answers a version-2 HELLO with [1, 20]. */
TEST(client_reports_the_version_an_older_server_speaks)
{
	client_hears_version(1);
}

/* ---- the established link ----------------------------------------------- */

TEST(frames_sent_both_ways_arrive_through_the_frame_callback)
{
	struct conn *k = connected();
	struct cove_frame f, g;
	uint8_t ct[40000];

	/* Server to client: a WLC naming the client. */
	memset(&f, 0, sizeof(f));
	f.type = COVE_F_WLC;
	memcpy(f.from, k->sid->pk, COVE_ID_LEN);
	memcpy(f.u.wlc.you, k->cid->pk, COVE_ID_LEN);
	f.seq = 1;
	assert_ok(cove_sess_send(k->srv.s, &f));
	assert_ok(pump(k, 0));
	assert_int_equal(k->c.frames, 1);
	assert_ok(k->c.frame_err);
	assert_ok(cove_frame_decode(&g, k->c.raw, k->c.raw_len));
	assert_u64(g.type, COVE_F_WLC);
	assert_bytes(g.u.wlc.you, k->cid->pk, COVE_ID_LEN);

	/* Client to server: a DAT big enough to need the heap on the way. */
	memset(&f, 0, sizeof(f));
	f.type = COVE_F_DAT;
	assert_ok(cove_frame_set_room(&f, "lobby", 5));
	memcpy(f.from, k->cid->pk, COVE_ID_LEN);
	f.seq = 9;
	f.u.dat.epoch = 3;
	for (size_t i = 0; i < sizeof(ct); i++)
		ct[i] = (uint8_t)i;
	f.u.dat.ct = ct;
	f.u.dat.ct_len = sizeof(ct);
	assert_ok(cove_sess_send(k->c.s, &f));
	assert_ok(pump(k, 0));
	assert_int_equal(k->srv.frames, 1);
	assert_ok(k->srv.frame_err);
	assert_ok(cove_frame_decode(&g, k->srv.raw, k->srv.raw_len));
	assert_u64(g.type, COVE_F_DAT);
	assert_u64(g.seq, 9);
	assert_u64(g.u.dat.ct_len, sizeof(ct));
	assert_bytes(g.u.dat.ct, ct, sizeof(ct));

	/* Many frames in one delivery, and byte by byte. */
	for (uint64_t i = 0; i < 50; i++) {
		make_bye(&f, k->cid->pk, 100 + i);
		assert_ok(cove_sess_send(k->c.s, &f));
	}
	assert_ok(pump(k, 0));
	assert_int_equal(k->srv.frames, 51);
	assert_ok(cove_frame_decode(&g, k->srv.raw, k->srv.raw_len));
	assert_u64(g.seq, 149);
	make_bye(&f, k->sid->pk, 7);
	assert_ok(cove_sess_send(k->srv.s, &f));
	assert_ok(pump(k, 1));
	assert_int_equal(k->c.frames, 2);
	assert_u64(cove_sess_records_out(k->c.s), 1 + 1 + 50);
	assert_u64(cove_sess_records_in(k->srv.s), 1 + 1 + 50);
	conn_free(k);
}

TEST(raw_frames_are_forwarded_unchanged)
{
	struct conn *k = connected();
	struct cove_frame f;
	uint8_t enc[512];
	size_t len = 0;

	make_bye(&f, k->cid->pk, 5);
	assert_ok(cove_frame_encode(&f, enc, sizeof(enc), &len));
	assert_ok(cove_sess_send_raw(k->srv.s, enc, len));
	assert_ok(pump(k, 0));
	assert_int_equal(k->c.frames, 1);
	assert_u64(k->c.raw_len, len);
	assert_bytes(k->c.raw, enc, len);
	/* Nothing empty or above a frame's maximum. */
	assert_err(cove_sess_send_raw(k->srv.s, enc, 0), COVE_ERR_INVAL);
	{
		uint8_t *big = calloc(1, COVE_FRAME_MAX + 1);

		assert_non_null(big);
		assert_err(cove_sess_send_raw(k->srv.s, big, COVE_FRAME_MAX + 1), COVE_ERR_INVAL);
		free(big);
	}
	conn_free(k);
}

TEST(frames_that_do_not_decode_reach_the_callback_as_errors)
{
	struct conn *k = connected();

	assert_ok(cove_sess_send_raw(k->srv.s, (const uint8_t *)"\xc1", 1));
	k->c.frame_ret = 0;
	assert_ok(deliver(k, &k->srv, &k->c, 0));
	assert_int_equal(k->c.frames, 1);
	assert_err(k->c.frame_err, COVE_ERR_MSGPACK);
	conn_free(k);
}

/* A handshake frame has no place on the established link, but refusing
 * it is the program's business (a relay answers wrong_direction): it
 * reaches the callback decoded. */
TEST(handshake_frames_after_the_handshake_reach_the_program_decoded)
{
	struct conn *k = connected();
	uint8_t hello[128];
	struct cove_frame f;
	size_t len = 0;

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_HELLO;
	assert_ok(cove_frame_encode(&f, hello, sizeof(hello), &len));
	assert_ok(cove_sess_send_raw(k->srv.s, hello, len));
	k->c.frame_ret = 0;
	assert_ok(deliver(k, &k->srv, &k->c, 0));
	assert_int_equal(k->c.frames, 1);
	assert_err(k->c.frame_err, COVE_OK);
	assert_int_equal(k->c.last_type, COVE_F_HELLO);
	conn_free(k);
}

/* PING and PONG are unsigned but belong on the link: they reach the
 * callback as frames, not as the error a handshake frame gives. */
TEST(ping_and_pong_pass_the_established_link)
{
	struct conn *k = connected();
	struct cove_frame f, g;

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_PING;
	f.u.ping.n = 41;
	assert_ok(cove_sess_send(k->srv.s, &f));
	assert_ok(pump(k, 0));
	assert_int_equal(k->c.frames, 1);
	assert_ok(k->c.frame_err);
	assert_ok(cove_frame_decode(&g, k->c.raw, k->c.raw_len));
	assert_u64(g.type, COVE_F_PING);
	assert_u64(g.u.ping.n, 41);

	f.type = COVE_F_PONG;
	assert_ok(cove_sess_send(k->c.s, &f));
	assert_ok(pump(k, 0));
	assert_int_equal(k->srv.frames, 1);
	assert_ok(k->srv.frame_err);
	assert_ok(cove_frame_decode(&g, k->srv.raw, k->srv.raw_len));
	assert_u64(g.type, COVE_F_PONG);
	assert_u64(g.u.ping.n, 41);
	conn_free(k);
}

TEST(callback_return_values_stop_input)
{
	struct conn *k = connected();
	struct cove_frame f;

	make_bye(&f, k->sid->pk, 1);
	assert_ok(cove_sess_send(k->srv.s, &f));
	assert_ok(cove_sess_send(k->srv.s, &f));
	/* A positive value stops reading: the second frame is dropped. */
	k->c.frame_ret = 7;
	assert_int_equal(deliver(k, &k->srv, &k->c, 0), 7);
	assert_int_equal(k->c.frames, 1);
	conn_free(k);
	/* A negative one is the session's error: it reads no more. */
	k = connected();
	make_bye(&f, k->sid->pk, 1);
	assert_ok(cove_sess_send(k->srv.s, &f));
	assert_ok(cove_sess_send(k->srv.s, &f));
	k->c.frame_ret = COVE_ERR_LIMIT;
	assert_err(deliver(k, &k->srv, &k->c, 0), COVE_ERR_LIMIT);
	assert_int_equal(k->c.frames, 1);
	assert_ok(cove_sess_send(k->srv.s, &f));
	assert_err(deliver(k, &k->srv, &k->c, 0), COVE_ERR_STATE);
	assert_int_equal(k->c.frames, 1);
	conn_free(k);
}

/* Sends one BYE from server to client with bit `bit` of its record
 * flipped; returns the client's verdict after all the record's bytes and,
 * if it is still waiting for more, as many zero bytes as a record can
 * hold. */
static int tampered_record(size_t bit, size_t *record_len, unsigned *frames)
{
	struct conn *k = connected();
	struct cove_frame f;
	int r;

	make_bye(&f, k->sid->pk, 1);
	assert_ok(cove_sess_send(k->srv.s, &f));
	*record_len = k->srv.len;
	k->flip_from = &k->srv;
	k->flip_chunk = k->chunks_s;
	k->flip_bit = bit;
	r = deliver(k, &k->srv, &k->c, 0);
	if (r == 0 && k->c.frames == 0) {
		uint8_t *zeros = calloc(1, COVE_RECORD_MAX + 4);

		assert_non_null(zeros);
		r = cove_sess_input(k->c.s, zeros, COVE_RECORD_MAX + 4);
		free(zeros);
	}
	*frames = k->c.frames;
	conn_free(k);
	return r;
}

TEST(a_flipped_bit_in_a_record_body_is_a_decrypt_error)
{
	size_t len = 0;
	unsigned frames = 0;
	int r = tampered_record(SIZE_MAX, &len, &frames);

	assert_ok(r); /* untouched, the record is delivered */
	assert_int_equal(frames, 1);
	for (size_t bit = 32; bit < 8 * len; bit++) {
		r = tampered_record(bit, &len, &frames);
		if (r != COVE_ERR_DECRYPT || frames != 0)
			fail_msg("bit %zu of %zu flipped: got %d (%s), %u frames delivered", bit,
				 8 * len, r, cove_strerror(r), frames);
	}
}

TEST(a_flipped_bit_in_a_record_length_delivers_nothing)
{
	size_t len = 0;
	unsigned frames = 0;

	for (size_t bit = 0; bit < 32; bit++) {
		int r = tampered_record(bit, &len, &frames);

		/* Shorter: the tag fails. Longer: the zeros fail it. Too long or
		 * zero: refused at once. */
		if ((r != COVE_ERR_DECRYPT && r != COVE_ERR_FRAME_SIZE) || frames != 0)
			fail_msg("length bit %zu flipped: got %d (%s), %u frames delivered", bit, r,
				 cove_strerror(r), frames);
	}
}

TEST(a_replayed_record_is_a_decrypt_error)
{
	struct conn *k = connected();
	struct cove_frame f;
	uint8_t rec[1024];
	size_t n;

	make_bye(&f, k->cid->pk, 1);
	assert_ok(cove_sess_send(k->c.s, &f));
	n = k->c.len;
	assert_true(n <= sizeof(rec));
	memcpy(rec, k->c.out, n);
	assert_ok(pump(k, 0));
	assert_int_equal(k->srv.frames, 1);
	assert_err(cove_sess_input(k->srv.s, rec, n), COVE_ERR_DECRYPT);
	assert_int_equal(k->srv.frames, 1);
	conn_free(k);
}

/* ---- padded records ------------------------------------------------------ */

/* The record of a frame of n bytes: the length prefix, the plaintext
 * padded to its size class, the tag. */
static size_t record_size(size_t n)
{
	return 4 + cove_link_pad_size(n) + COVE_LINK_TAG_LEN;
}

static uint32_t be32_at(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* SRV_AUTH and CLI_AUTH are records like any other: 640 bytes padded,
 * 656 with the tag, so the handshake's records look like the rest. */
TEST(the_handshake_records_are_padded_to_the_smallest_class)
{
	struct conn *k = conn_new(NULL, NULL);

	assert_ok(cove_sess_start(k->c.s));
	assert_u64(k->c.len, 4 + 71);                      /* HELLO, clear */
	assert_ok(deliver(k, &k->c, &k->srv, 0));
	assert_u64(k->srv.len, 4 + 71 + 4 + 656);          /* CHALLENGE, SRV_AUTH */
	assert_u64(be32_at(k->srv.out + 4 + 71), 656);
	assert_ok(deliver(k, &k->srv, &k->c, 0));
	assert_u64(k->c.len, 4 + 656);                     /* CLI_AUTH */
	assert_u64(be32_at(k->c.out), 656);
	assert_ok(pump(k, 0));
	assert_true(cove_sess_established(k->srv.s));
	conn_free(k);
}

/* A frame of `type` as large as its type allows (the longest room, the
 * longest ERR text, a DAT of a short chat line's ciphertext). */
static void largest_frame(struct cove_frame *f, uint8_t type, const uint8_t *ct, size_t ct_len)
{
	static const char text[COVE_ERR_TEXT_MAX + 1] = { [0 ... COVE_ERR_TEXT_MAX - 1] = 't' };
	char room[COVE_ROOM_MAX];

	memset(room, 'r', sizeof(room));
	memset(f, 0, sizeof(*f));
	f->type = type;
	if (cove_frame_is_signed(type))
		assert_ok(cove_frame_set_room(f, room, sizeof(room)));
	memset(f->from, 0x11, COVE_ID_LEN);
	f->seq = UINT64_MAX;
	f->ts = UINT64_MAX;
	memset(f->sig, 0x22, COVE_WSIG_LEN);
	switch (type) {
	case COVE_F_DAT:
		f->u.dat.ct = ct;
		f->u.dat.ct_len = ct_len;
		break;
	case COVE_F_ERR:
		f->u.err.text = text;
		f->u.err.text_len = COVE_ERR_TEXT_MAX;
		break;
	}
}

/* What an observer of the stream sees of each frame type: one length,
 * 656. Every control frame, at its largest, and a DAT of every short
 * message (its padded payload is 256 bytes; the ciphertext adds the
 * 16-byte GCM tag) make the same record. */
TEST(every_frame_type_makes_a_record_of_the_same_656_bytes)
{
	static const uint8_t types[] = {
		COVE_F_INI, COVE_F_KEY, COVE_F_DAT, COVE_F_ERR, COVE_F_ASK, COVE_F_BYE,
		COVE_F_WLC, COVE_F_RDY, COVE_F_RKY, COVE_F_REK, COVE_F_PING, COVE_F_PONG,
	};
	static uint8_t ct[256 + 16];
	struct conn *k = connected();

	for (size_t i = 0; i < sizeof(types); i++) {
		struct cove_frame f;

		largest_frame(&f, types[i], ct, sizeof(ct));
		if (cove_frame_size(&f) >= 640)
			fail_msg("type %u: %zu bytes, want fewer than 640", types[i],
				 cove_frame_size(&f));
		assert_ok(cove_sess_send(k->srv.s, &f));
		if (k->srv.len != 4 + 656 || be32_at(k->srv.out) != 656)
			fail_msg("type %u (%zu bytes): a record of %zu bytes, L %u; want 660, L 656",
				 types[i], cove_frame_size(&f), k->srv.len, be32_at(k->srv.out));
		assert_ok(pump(k, 0));
		assert_u64(k->c.last_type, types[i]);
		assert_u64(k->c.raw_len, cove_frame_size(&f));
	}
	assert_int_equal(k->c.frames, sizeof(types));
	conn_free(k);
}

/* Frames at the edges of the size classes travel whole, in a record of
 * exactly their class; the receiver hands on the frame without padding. */
TEST(records_are_the_size_class_of_their_frame_and_arrive_unpadded)
{
	static const size_t sizes[] = { 1, 2, 100, 638, 639, 640, 641, 671, 672, 1000, 4096,
					32768, 65535, COVE_FRAME_MAX };
	uint8_t *frame = malloc(COVE_FRAME_MAX);
	struct conn *k = connected();

	assert_non_null(frame);
	for (size_t i = 0; i < COVE_FRAME_MAX; i++)
		frame[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		size_t n = sizes[i];

		assert_ok(cove_sess_send_raw(k->srv.s, frame, n));
		if (k->srv.len != record_size(n))
			fail_msg("frame of %zu bytes: record of %zu bytes, want %zu", n, k->srv.len,
				 record_size(n));
		assert_u64(be32_at(k->srv.out), cove_link_pad_size(n) + COVE_LINK_TAG_LEN);
		assert_ok(pump(k, 0));
		assert_u64(k->c.raw_len, n);
		assert_bytes(k->c.raw, frame, n);
	}
	/* The largest record is COVE_RECORD_MAX; nothing larger is sent. */
	assert_u64(record_size(COVE_FRAME_MAX), 4 + COVE_RECORD_MAX);
	assert_err(cove_sess_send_raw(k->srv.s, frame, COVE_FRAME_MAX + 1), COVE_ERR_INVAL);
	assert_u64(k->srv.len, 0);
	free(frame);
	conn_free(k);
}

/* A man in the middle that knows the client's ephemeral secret (taken
 * from a randombytes that remembers its 32-byte draws, installed by
 * main() for every test) holds the link
 * key client -> server and can make records the server decrypts: so the
 * padding inside them, not only the tag, is what the server checks. */
static uint8_t draws[16][32];
static size_t ndraws;

static void recording_buf(void *buf, size_t n)
{
	randombytes_sysrandom_implementation.buf(buf, n);
	if (n == 32)
		memcpy(draws[ndraws++ % 16], buf, 32);
}

static uint32_t recording_random(void)
{
	return randombytes_sysrandom_implementation.random();
}

static const char *recording_name(void)
{
	return "test_sess recording";
}

static struct randombytes_implementation recording = {
	.implementation_name = recording_name,
	.random = recording_random,
	.buf = recording_buf,
};

/* A connected pair, and the key and next record number of the client's
 * direction. */
static struct conn *connected_with_client_key(uint8_t tx[32])
{
	struct conn *k = conn_new(NULL, NULL);
	const uint8_t *eph_c, *eph_s, *sk = NULL;
	uint8_t rx[32], q[32];

	ndraws = 0;
	assert_ok(cove_sess_start(k->c.s));
	eph_c = k->c.out + 4 + 5; /* [2, 16, bin 32 eph, ...] */
	for (size_t i = 0; i < 16 && i < ndraws && !sk; i++) {
		crypto_scalarmult_base(q, draws[i]);
		if (memcmp(q, eph_c, 32) == 0)
			sk = draws[i];
	}
	assert_non_null(sk);
	assert_ok(deliver(k, &k->c, &k->srv, 0));
	eph_s = k->srv.out + 4 + 5;
	assert_int_equal(crypto_kx_client_session_keys(rx, tx, eph_c, sk, eph_s), 0);
	assert_ok(pump(k, 0));
	assert_true(cove_sess_established(k->srv.s));
	assert_u64(cove_sess_records_in(k->srv.s), 1); /* CLI_AUTH was record 0 */
	return k;
}

/* Encrypts pt as the client's record number n. */
static size_t forge_record(uint8_t *out, const uint8_t tx[32], uint64_t n, const uint8_t *pt,
			   size_t len)
{
	uint8_t nonce[12] = { 0 };

	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (56 - 8 * i));
	out[0] = (uint8_t)((len + 16) >> 24);
	out[1] = (uint8_t)((len + 16) >> 16);
	out[2] = (uint8_t)((len + 16) >> 8);
	out[3] = (uint8_t)(len + 16);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + 4, NULL, pt, len, out, 4, NULL, nonce, tx);
	return 4 + len + 16;
}

/* The server's verdict on one forged record whose plaintext is the
 * 12-byte PING frame followed by `tail`, padded_len bytes in all. */
static int verdict(size_t padded_len, void (*tail)(uint8_t *pt, size_t len), unsigned *frames)
{
	static const uint8_t ping[12] = { 0x93, 0x02, 0x0b, 0xcf, 0, 0, 0, 0, 0, 0, 0, 9 };
	static uint8_t pt[COVE_LINK_PAD_MAX + 64], rec[COVE_LINK_PAD_MAX + 64 + 20];
	uint8_t tx[32];
	struct conn *k = connected_with_client_key(tx);
	size_t n;
	int r;

	memset(pt, 0, sizeof(pt));
	memcpy(pt, ping, sizeof(ping));
	tail(pt, padded_len);
	n = forge_record(rec, tx, 1, pt, padded_len);
	r = cove_sess_input(k->srv.s, rec, n);
	*frames = k->srv.frames;
	conn_free(k);
	return r;
}

static void good_padding(uint8_t *pt, size_t len)
{
	(void)len;
	pt[12] = 0x80;
}

static void no_marker(uint8_t *pt, size_t len)
{
	(void)pt;
	(void)len;
}

static void a_one_after_the_marker(uint8_t *pt, size_t len)
{
	pt[12] = 0x80;
	pt[len - 1] = 0x01;
}

static void marker_0x81(uint8_t *pt, size_t len)
{
	(void)len;
	pt[12] = 0x81;
}

TEST(the_receiver_ends_the_link_on_a_record_with_wrong_padding)
{
	unsigned frames = 0;

	/* The forgery itself works: well padded, the frame arrives. */
	assert_ok(verdict(640, good_padding, &frames));
	assert_int_equal(frames, 1);
	/* Each of these ends the connection, and nothing is delivered. */
	assert_err(verdict(640, no_marker, &frames), COVE_ERR_PADDING);
	assert_int_equal(frames, 0);
	assert_err(verdict(640, a_one_after_the_marker, &frames), COVE_ERR_PADDING);
	assert_int_equal(frames, 0);
	assert_err(verdict(640, marker_0x81, &frames), COVE_ERR_PADDING);
	assert_int_equal(frames, 0);
	/* The 12-byte frame padded to a larger class than its own. */
	assert_err(verdict(672, good_padding, &frames), COVE_ERR_PADDING);
	assert_int_equal(frames, 0);
	assert_err(verdict(COVE_LINK_PAD_MAX, good_padding, &frames), COVE_ERR_PADDING);
	assert_int_equal(frames, 0);
	/* Or to no class at all: shorter than the smallest, between two. */
	assert_err(verdict(13, good_padding, &frames), COVE_ERR_PADDING);
	assert_int_equal(frames, 0);
	assert_err(verdict(639, good_padding, &frames), COVE_ERR_PADDING);
	assert_int_equal(frames, 0);
	assert_err(verdict(641, good_padding, &frames), COVE_ERR_PADDING);
	assert_int_equal(frames, 0);
}

TEST(a_session_whose_input_failed_reads_no_more_but_still_sends)
{
	struct conn *k = connected();
	struct cove_frame f;

	assert_err(cove_sess_input(k->c.s, (const uint8_t *)"\0\0\0\0", 4), COVE_ERR_FRAME_SIZE);
	make_bye(&f, k->sid->pk, 1);
	assert_ok(cove_sess_send(k->srv.s, &f));
	assert_err(deliver(k, &k->srv, &k->c, 0), COVE_ERR_STATE);
	assert_int_equal(k->c.frames, 0);
	/* it may still say why it closes */
	make_bye(&f, k->cid->pk, 2);
	assert_ok(cove_sess_send(k->c.s, &f));
	assert_ok(deliver(k, &k->c, &k->srv, 0));
	assert_int_equal(k->srv.frames, 1);
	conn_free(k);
}

TEST(sending_before_the_handshake_is_a_state_error)
{
	struct conn *k = conn_new(NULL, NULL);
	struct cove_frame f;

	make_bye(&f, k->cid->pk, 1);
	assert_err(cove_sess_send(k->c.s, &f), COVE_ERR_STATE);
	assert_err(cove_sess_send(k->srv.s, &f), COVE_ERR_STATE);
	assert_err(cove_sess_send_raw(k->c.s, (const uint8_t *)"x", 1), COVE_ERR_STATE);
	/* A client that has not started takes no input either. */
	assert_err(cove_sess_input(k->c.s, (const uint8_t *)"\0\0\0\x01\x01", 5), COVE_ERR_STATE);
	assert_u64(k->c.len + k->srv.len, 0);
	conn_free(k);
}

TEST(an_oversized_clear_frame_is_refused_before_the_handshake)
{
	struct conn *k = conn_new(NULL, NULL);
	uint8_t big[4] = { 0, 0, 0, COVE_HS_FRAME_MAX + 1 };

	assert_err(cove_sess_input(k->srv.s, big, sizeof(big)), COVE_ERR_FRAME_SIZE);
	assert_u64(k->srv.len, 0);
	conn_free(k);
}

TEST(a_server_hearing_something_other_than_hello_gives_up)
{
	struct conn *k = conn_new(NULL, NULL);
	uint8_t rec[4 + 3] = { 0, 0, 0, 3, 0x92, 0x02, 0x14 }; /* VERSION */

	assert_err(cove_sess_input(k->srv.s, rec, sizeof(rec)), COVE_ERR_STATE);
	assert_u64(k->srv.len, 0);
	conn_free(k);
}

TEST(a_refusing_sink_makes_sends_fail_with_limit)
{
	struct conn *k = connected();
	struct cove_frame f;

	make_bye(&f, k->cid->pk, 1);
	k->c.refuse = 1;
	assert_err(cove_sess_send(k->c.s, &f), COVE_ERR_LIMIT);
	assert_u64(k->c.len, 0);
	k->c.refuse = 0;
	/* The failed send used no record number: the next one still opens. */
	assert_ok(cove_sess_send(k->c.s, &f));
	assert_ok(pump(k, 0));
	assert_int_equal(k->srv.frames, 1);
	conn_free(k);
	cove_sess_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(handshake_completes_and_each_side_knows_the_other),
		cmocka_unit_test(handshake_completes_when_fed_one_byte_at_a_time),
		cmocka_unit_test(a_client_may_send_from_its_authed_callback_and_the_server_gets_it_after_accepting),
		cmocka_unit_test(hello_is_the_documented_clear_frame),
		cmocka_unit_test(client_refuses_a_server_that_is_not_the_pinned_key),
		cmocka_unit_test(client_refuses_a_server_claiming_the_pinned_key_without_holding_it),
		cmocka_unit_test(no_flipped_bit_in_hello_lets_the_handshake_complete),
		cmocka_unit_test(no_flipped_bit_in_challenge_or_server_auth_lets_the_handshake_complete),
		cmocka_unit_test(no_flipped_bit_in_client_auth_lets_the_server_accept),
		cmocka_unit_test(server_answers_another_version_with_version),
		cmocka_unit_test(client_reports_the_version_a_newer_server_speaks),
		cmocka_unit_test(client_reports_the_version_an_older_server_speaks),
		cmocka_unit_test(frames_sent_both_ways_arrive_through_the_frame_callback),
		cmocka_unit_test(raw_frames_are_forwarded_unchanged),
		cmocka_unit_test(frames_that_do_not_decode_reach_the_callback_as_errors),
		cmocka_unit_test(handshake_frames_after_the_handshake_reach_the_program_decoded),
		cmocka_unit_test(ping_and_pong_pass_the_established_link),
		cmocka_unit_test(callback_return_values_stop_input),
		cmocka_unit_test(a_flipped_bit_in_a_record_body_is_a_decrypt_error),
		cmocka_unit_test(a_flipped_bit_in_a_record_length_delivers_nothing),
		cmocka_unit_test(a_replayed_record_is_a_decrypt_error),
		cmocka_unit_test(the_handshake_records_are_padded_to_the_smallest_class),
		cmocka_unit_test(every_frame_type_makes_a_record_of_the_same_656_bytes),
		cmocka_unit_test(records_are_the_size_class_of_their_frame_and_arrive_unpadded),
		cmocka_unit_test(the_receiver_ends_the_link_on_a_record_with_wrong_padding),
		cmocka_unit_test(a_session_whose_input_failed_reads_no_more_but_still_sends),
		cmocka_unit_test(sending_before_the_handshake_is_a_state_error),
		cmocka_unit_test(an_oversized_clear_frame_is_refused_before_the_handshake),
		cmocka_unit_test(a_server_hearing_something_other_than_hello_gives_up),
		cmocka_unit_test(a_refusing_sink_makes_sends_fail_with_limit),
	};
	int r;

	/* before sodium_init, as libsodium asks */
	randombytes_set_implementation(&recording);
	r = cove_crypto_init();
	if (r != COVE_OK) {
		fprintf(stderr, "cove_crypto_init: %s\n", cove_strerror(r));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
