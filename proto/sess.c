#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "crypto/group.h"
#include "crypto/hs.h"
#include "crypto/link.h"
#include "crypto/pad.h"
#include "proto/sess.h"
#include "wire/stream.h"

_Static_assert(COVE_ID_LEN == COVE_PK_LEN, "identity size");
_Static_assert(COVE_WSIG_LEN == COVE_SIG_LEN, "signature size");
_Static_assert(COVE_WXPK_LEN == COVE_XPK_LEN, "X25519 size");
_Static_assert(COVE_WNONCE_LEN == COVE_HS_NONCE_LEN, "challenge size");
_Static_assert(COVE_RECORD_MAX == COVE_LINK_PAD_MAX + COVE_LINK_TAG_LEN, "record size");
_Static_assert(COVE_FRAME_MAX == COVE_LINK_FRAME_MAX, "frame size");

enum sess_state {
	C_INIT,            /* client, HELLO not yet sent */
	C_WAIT_CHALLENGE,
	C_WAIT_SRV_AUTH,
	S_WAIT_HELLO,
	S_WAIT_CLI_AUTH,
	ESTABLISHED,
	DEAD,
};

struct cove_sess {
	enum sess_state st;
	int server;
	const struct cove_ident *id;
	uint8_t pinned[COVE_ID_LEN];   /* client: the server we accept */
	uint8_t peer[COVE_ID_LEN];
	int have_peer;
	unsigned peer_version;
	struct cove_xkp *eph;          /* until the handshake ends */
	struct cove_hs_transcript t;
	struct cove_link link;
	struct cove_stream in;
	int in_dead;                   /* input failed: no more reading */
	struct cove_sess_io io;
};

static struct cove_sess *sess_new(const struct cove_ident *id, const struct cove_sess_io *io,
				  int server)
{
	struct cove_sess *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->server = server;
	s->id = id;
	s->io = *io;
	s->st = server ? S_WAIT_HELLO : C_INIT;
	s->t.version = COVE_PROTO_VERSION;
	cove_stream_init(&s->in, COVE_HS_FRAME_MAX);
	return s;
}

struct cove_sess *cove_sess_new_client(const struct cove_ident *id,
				       const uint8_t server_pk[COVE_ID_LEN],
				       const struct cove_sess_io *io)
{
	struct cove_sess *s = sess_new(id, io, 0);

	if (s)
		memcpy(s->pinned, server_pk, COVE_ID_LEN);
	return s;
}

struct cove_sess *cove_sess_new_server(const struct cove_ident *id,
				       const struct cove_sess_io *io)
{
	return sess_new(id, io, 1);
}

static void sess_end_handshake(struct cove_sess *s)
{
	cove_xkp_free(s->eph);
	s->eph = NULL;
	sodium_memzero(&s->t, sizeof(s->t));
}

void cove_sess_free(struct cove_sess *s)
{
	if (!s)
		return;
	sess_end_handshake(s);
	cove_link_wipe(&s->link);
	cove_stream_free(&s->in);
	free(s);
}

int cove_sess_established(const struct cove_sess *s)
{
	return s->st == ESTABLISHED;
}

const uint8_t *cove_sess_peer(const struct cove_sess *s)
{
	return s->have_peer ? s->peer : NULL;
}

unsigned cove_sess_peer_version(const struct cove_sess *s)
{
	return s->peer_version;
}

uint64_t cove_sess_records_out(const struct cove_sess *s)
{
	return s->link.tx_n;
}

uint64_t cove_sess_records_in(const struct cove_sess *s)
{
	return s->link.rx_n;
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Sends a frame in the clear (handshake only). */
static int send_clear(struct cove_sess *s, const struct cove_frame *f)
{
	size_t n = cove_frame_size(f), len = 0;
	uint8_t *p;
	int ret;

	if (n == 0)
		return COVE_ERR_INVAL;
	p = s->io.reserve(s->io.ctx, 4 + n);
	if (!p)
		return COVE_ERR_LIMIT;
	ret = cove_frame_encode(f, p + 4, n, &len);
	if (ret != COVE_OK)
		return ret;
	put_be32(p, (uint32_t)len);
	s->io.commit(s->io.ctx, 4 + len);
	return COVE_OK;
}

/* Frames a plaintext of n bytes, which fill() writes in place, as a
 * record padded to its size class (so that its length does not tell the
 * frame type), and encrypts it where it lies. */
static int send_record(struct cove_sess *s, size_t n,
		       int (*fill)(uint8_t *out, size_t n, const void *arg), const void *arg)
{
	size_t padded = cove_link_pad_size(n);
	size_t total = 4 + padded + COVE_LINK_TAG_LEN;
	uint8_t *p;
	int ret;

	if (padded == 0)
		return COVE_ERR_INVAL;
	p = s->io.reserve(s->io.ctx, total);
	if (!p)
		return COVE_ERR_LIMIT;
	ret = fill(p + 4, n, arg);
	if (ret == COVE_OK) {
		p[4 + n] = 0x80;
		memset(p + 4 + n + 1, 0, padded - n - 1);
		put_be32(p, (uint32_t)(padded + COVE_LINK_TAG_LEN));
		ret = cove_link_seal(&s->link, p + 4, p + 4, padded, p, 4);
	}
	if (ret != COVE_OK) {
		/* The reserved space is abandoned uncommitted; wipe plaintext. */
		sodium_memzero(p, total);
		return ret;
	}
	s->io.commit(s->io.ctx, total);
	return COVE_OK;
}

static int fill_frame(uint8_t *out, size_t n, const void *arg)
{
	size_t len = 0;
	int ret = cove_frame_encode(arg, out, n, &len);

	return ret == COVE_OK && len != n ? COVE_ERR_SPACE : ret;
}

struct raw_arg {
	const uint8_t *p;
};

static int fill_raw(uint8_t *out, size_t n, const void *arg)
{
	memcpy(out, ((const struct raw_arg *)arg)->p, n);
	return COVE_OK;
}

static int send_frame(struct cove_sess *s, const struct cove_frame *f)
{
	size_t n = cove_frame_size(f);

	if (n == 0)
		return COVE_ERR_INVAL;
	return send_record(s, n, fill_frame, f);
}

int cove_sess_send(struct cove_sess *s, const struct cove_frame *f)
{
	if (s->st != ESTABLISHED)
		return COVE_ERR_STATE;
	return send_frame(s, f);
}

int cove_sess_send_raw(struct cove_sess *s, const uint8_t *frame, size_t len)
{
	struct raw_arg a = { frame };

	if (s->st != ESTABLISHED)
		return COVE_ERR_STATE;
	return send_record(s, len, fill_raw, &a);
}

int cove_sess_start(struct cove_sess *s)
{
	struct cove_frame f;

	if (s->server || s->st != C_INIT)
		return COVE_ERR_STATE;
	s->eph = cove_xkp_new();
	if (!s->eph)
		return COVE_ERR_NOMEM;
	memset(&f, 0, sizeof(f));
	f.type = COVE_F_HELLO;
	randombytes_buf(s->t.nonce_c, sizeof(s->t.nonce_c));
	memcpy(s->t.eph_c, s->eph->pk, COVE_XPK_LEN);
	memcpy(f.u.hello.eph, s->t.eph_c, COVE_XPK_LEN);
	memcpy(f.u.hello.nonce, s->t.nonce_c, COVE_HS_NONCE_LEN);
	s->st = C_WAIT_CHALLENGE;
	return send_clear(s, &f);
}

/* Server: HELLO in, CHALLENGE and SRV_AUTH out. */
static int on_hello(struct cove_sess *s, const uint8_t *rec, size_t len)
{
	struct cove_frame f;
	int ret = cove_frame_decode(&f, rec, len);

	if (ret == COVE_ERR_VERSION) {
		struct cove_frame v;

		s->peer_version = f.version;
		memset(&v, 0, sizeof(v));
		v.type = COVE_F_VERSION;
		send_clear(s, &v);
		return COVE_ERR_VERSION;
	}
	if (ret != COVE_OK)
		return ret;
	if (f.type != COVE_F_HELLO)
		return COVE_ERR_STATE;
	s->eph = cove_xkp_new();
	if (!s->eph)
		return COVE_ERR_NOMEM;
	memcpy(s->t.eph_c, f.u.hello.eph, COVE_XPK_LEN);
	memcpy(s->t.nonce_c, f.u.hello.nonce, COVE_HS_NONCE_LEN);
	memcpy(s->t.eph_s, s->eph->pk, COVE_XPK_LEN);
	randombytes_buf(s->t.nonce_s, sizeof(s->t.nonce_s));
	ret = cove_link_server(&s->link, s->eph, s->t.eph_c);
	if (ret != COVE_OK)
		return ret;
	memset(&f, 0, sizeof(f));
	f.type = COVE_F_CHALLENGE;
	memcpy(f.u.hello.eph, s->t.eph_s, COVE_XPK_LEN);
	memcpy(f.u.hello.nonce, s->t.nonce_s, COVE_HS_NONCE_LEN);
	ret = send_clear(s, &f);
	if (ret != COVE_OK)
		return ret;
	memset(&f, 0, sizeof(f));
	f.type = COVE_F_SRV_AUTH;
	memcpy(f.u.auth.id, s->id->pk, COVE_ID_LEN);
	cove_hs_server_sign(f.u.auth.sig, s->id, &s->t);
	ret = send_frame(s, &f);
	if (ret != COVE_OK)
		return ret;
	cove_stream_set_max(&s->in, COVE_RECORD_MAX);
	s->st = S_WAIT_CLI_AUTH;
	return COVE_OK;
}

/* Client: CHALLENGE in; link keys from here on. */
static int on_challenge(struct cove_sess *s, const uint8_t *rec, size_t len)
{
	struct cove_frame f;
	int ret = cove_frame_decode(&f, rec, len);

	/* A server of another version answers VERSION, [v, 20], in its own
	 * version: the decoder stops at v, which is what we report. */
	if (ret == COVE_ERR_VERSION || (ret == COVE_OK && f.type == COVE_F_VERSION)) {
		s->peer_version = f.version;
		return COVE_ERR_VERSION;
	}
	if (ret != COVE_OK)
		return ret;
	if (f.type != COVE_F_CHALLENGE)
		return COVE_ERR_STATE;
	memcpy(s->t.eph_s, f.u.hello.eph, COVE_XPK_LEN);
	memcpy(s->t.nonce_s, f.u.hello.nonce, COVE_HS_NONCE_LEN);
	ret = cove_link_client(&s->link, s->eph, s->t.eph_s);
	if (ret != COVE_OK)
		return ret;
	cove_stream_set_max(&s->in, COVE_RECORD_MAX);
	s->st = C_WAIT_SRV_AUTH;
	return COVE_OK;
}

/* Client: SRV_AUTH in (the server is who we pinned), CLI_AUTH out. */
static int on_srv_auth(struct cove_sess *s, const struct cove_frame *f)
{
	struct cove_frame a;
	int ret;

	if (f->type != COVE_F_SRV_AUTH)
		return COVE_ERR_STATE;
	if (sodium_memcmp(f->u.auth.id, s->pinned, COVE_ID_LEN) != 0)
		return COVE_ERR_PEER_KEY;
	ret = cove_hs_server_verify(s->pinned, &s->t, f->u.auth.sig);
	if (ret != COVE_OK)
		return ret;
	memcpy(s->peer, s->pinned, COVE_ID_LEN);
	s->have_peer = 1;
	memset(&a, 0, sizeof(a));
	a.type = COVE_F_CLI_AUTH;
	memcpy(a.u.auth.id, s->id->pk, COVE_ID_LEN);
	cove_hs_client_sign(a.u.auth.sig, s->id, &s->t, s->pinned);
	ret = send_frame(s, &a);
	if (ret != COVE_OK)
		return ret;
	sess_end_handshake(s);
	s->st = ESTABLISHED;
	return s->io.authed ? s->io.authed(s->io.ctx, s->peer) : COVE_OK;
}

/* Server: CLI_AUTH in; the program decides what to answer. */
static int on_cli_auth(struct cove_sess *s, const struct cove_frame *f)
{
	int ret;

	if (f->type != COVE_F_CLI_AUTH)
		return COVE_ERR_STATE;
	ret = cove_hs_client_verify(f->u.auth.id, &s->t, s->id->pk, f->u.auth.sig);
	if (ret != COVE_OK)
		return ret;
	memcpy(s->peer, f->u.auth.id, COVE_ID_LEN);
	s->have_peer = 1;
	sess_end_handshake(s);
	s->st = ESTABLISHED;
	return s->io.authed ? s->io.authed(s->io.ctx, s->peer) : COVE_OK;
}

/* One whole record (or clear handshake frame) from the stream. */
static int on_record(struct cove_sess *s, const uint8_t *rec, size_t len)
{
	uint8_t small[2048], *pt = NULL;
	size_t n;
	struct cove_frame f;
	int ret;

	switch (s->st) {
	case S_WAIT_HELLO:
		return on_hello(s, rec, len);
	case C_WAIT_CHALLENGE:
		return on_challenge(s, rec, len);
	case C_WAIT_SRV_AUTH:
	case S_WAIT_CLI_AUTH:
	case ESTABLISHED:
		break;
	default:
		return COVE_ERR_STATE;
	}
	/* Records are decrypted in place; the stream's buffer (or the caller's
	 * input, on the stream's fast path) is ours only until the next feed,
	 * and the input is const, so copy when it is not the stream buffer. */
	if (rec != s->in.buf) {
		pt = len <= sizeof(small) ? small : malloc(len);
		if (!pt)
			return COVE_ERR_NOMEM;
		memcpy(pt, rec, len);
	} else {
		pt = (uint8_t *)s->in.buf;
	}
	{
		uint8_t ad[4];

		put_be32(ad, (uint32_t)len);
		ret = cove_link_open(&s->link, pt, pt, len, ad, sizeof(ad));
	}
	if (ret != COVE_OK)
		goto out;
	ret = cove_link_unpad(pt, len - COVE_LINK_TAG_LEN, &n);
	if (ret != COVE_OK)
		goto out;
	if (s->st != ESTABLISHED) {
		ret = cove_frame_decode(&f, pt, n);
		if (ret == COVE_OK)
			ret = s->st == C_WAIT_SRV_AUTH ? on_srv_auth(s, &f) : on_cli_auth(s, &f);
		goto out;
	}
	/* Every frame that decodes goes to the program, handshake types too:
	 * it is the program's to refuse them (a relay says wrong_direction). */
	ret = cove_frame_decode(&f, pt, n);
	ret = s->io.frame(s->io.ctx, ret, ret == COVE_OK ? &f : NULL, pt, n);
out:
	/* Frames carry identities, rooms and handshake secrets: no copy of
	 * a decrypted one outlives its handling. */
	sodium_memzero(pt, len);
	if (pt != small && pt != s->in.buf)
		free(pt);
	return ret;
}

/* After bad input the session reads no more; an established one may
 * still send (say, the ERR that explains the close). */
static void fail_input(struct cove_sess *s)
{
	if (s->st == ESTABLISHED)
		s->in_dead = 1;
	else
		s->st = DEAD;
}

int cove_sess_input(struct cove_sess *s, const uint8_t *data, size_t len)
{
	while (len > 0) {
		const uint8_t *rec = NULL;
		size_t used = 0, rec_len = 0;
		int ret;

		if (s->st == DEAD || s->st == C_INIT || s->in_dead)
			return COVE_ERR_STATE;
		ret = cove_stream_feed(&s->in, data, len, &used, &rec, &rec_len);
		data += used;
		len -= used;
		if (ret == 0)
			continue;
		if (ret > 0)
			ret = on_record(s, rec, rec_len);
		if (ret < 0) {
			fail_input(s);
			return ret;
		}
		if (ret > 0)
			return ret;
	}
	return COVE_OK;
}
