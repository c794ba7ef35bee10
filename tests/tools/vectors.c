/*
 * vectors.c - prints the test vectors of docs/PROTOCOL.md.
 *
 * Fixed seeds, a fixed clock and a deterministic random generator (a
 * ChaCha20 stream under a fixed key, installed as libsodium's randombytes
 * before sodium_init) make every byte reproducible.
 * tests/integration/test_protocol_vectors.py compares this output with the
 * block in docs/PROTOCOL.md (scripts/update-vectors.sh writes it there), so
 * the document cannot drift from the code, and test_protocol_independent.py
 * re-derives every vector it can from the document's text alone.
 *
 * Frames are printed in an order that keeps the generator's draws where
 * they were: a new vector that draws nothing (a signature, a FWD) may go
 * anywhere; one that draws (a sealed box) goes last, or every later
 * vector changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "common/err.h"
#include "crypto/group.h"
#include "crypto/ident.h"
#include "crypto/keyfile.h"
#include "crypto/pad.h"
#include "proto/msg.h"
#include "proto/sess.h"
#include "wire/frame.h"
#include "wire/payload.h"

static void die(const char *what) __attribute__((noreturn));

/* ---- a deterministic randombytes ----------------------------------------- */

static uint64_t rng_counter;

/* Every 32-byte draw, so the handshake's ephemeral secrets (drawn inside
 * the sessions) can be found again and printed. */
static uint8_t rng_draws[64][32];
static size_t rng_ndraws;

static void rng_buf(void *buf, size_t n)
{
	static const uint8_t key[32] = "cove test vectors, not random!!";
	uint8_t nonce[8];

	for (int i = 0; i < 8; i++)
		nonce[i] = (uint8_t)(rng_counter >> (8 * i));
	rng_counter++;
	crypto_stream_chacha20((uint8_t *)buf, n, nonce, key);
	if (n == 32 && rng_ndraws < 64)
		memcpy(rng_draws[rng_ndraws++], buf, 32);
}

/* Finds the drawn secret whose X25519 public key is pk. */
static const uint8_t *secret_of(const uint8_t pk[32])
{
	uint8_t q[32];

	for (size_t i = 0; i < rng_ndraws; i++) {
		crypto_scalarmult_base(q, rng_draws[i]);
		if (memcmp(q, pk, 32) == 0)
			return rng_draws[i];
	}
	die("ephemeral secret not found");
	return NULL;
}

static uint32_t rng_random(void)
{
	uint32_t v;

	rng_buf(&v, sizeof(v));
	return v;
}

static const char *rng_name(void)
{
	return "cove-vectors";
}

static struct randombytes_implementation rng = {
	.implementation_name = rng_name,
	.random = rng_random,
	.buf = rng_buf,
};

/* ---- output --------------------------------------------------------------- */

static void hex(const char *name, const void *p, size_t n)
{
	const uint8_t *b = p;

	printf("%s =", name);
	for (size_t i = 0; i < n; i++) {
		if (i % 32 == 0)
			printf("\n   ");
		printf(" %02x", b[i]);
	}
	printf("\n");
}

static void text(const char *name, const char *s)
{
	printf("%s = \"%s\"\n", name, s);
}

static void num(const char *name, unsigned long long v)
{
	printf("%s = %llu\n", name, v);
}

static void section(const char *title)
{
	printf("\n# %s\n", title);
}

static void die(const char *what)
{
	fprintf(stderr, "vectors: %s failed\n", what);
	exit(1);
}

static void seeded(struct cove_ident *id, uint8_t first)
{
	uint8_t seed[COVE_SEED_LEN];

	for (int i = 0; i < COVE_SEED_LEN; i++)
		seed[i] = (uint8_t)(first + i);
	if (cove_ident_from_seed(id, seed) != 0)
		die("seed");
}

/* The encodings of two frames of the "lobby" section, which the FWD
 * vectors carry (re-encoding them would draw from the generator again). */
static uint8_t kept_dat[COVE_FRAME_MAX], kept_key1[COVE_FRAME_MAX];
static size_t kept_dat_len, kept_key1_len;

static void frame_keep(struct cove_frame *f, uint8_t *out, size_t *len)
{
	if (cove_frame_encode(f, out, COVE_FRAME_MAX, len) != 0)
		die("encode to keep");
}

static void frame_out(const char *name, struct cove_frame *f)
{
	uint8_t buf[COVE_FRAME_MAX];
	char label[64];
	size_t n = 0;

	if (cove_frame_is_signed(f->type)) {
		if (cove_frame_sigbytes(f, buf, sizeof(buf), &n) != 0)
			die("sigbytes");
		snprintf(label, sizeof(label), "%s.signed_bytes", name);
		hex(label, buf, n);
		snprintf(label, sizeof(label), "%s.signature", name);
		hex(label, f->sig, COVE_SIG_LEN);
	}
	if (cove_frame_encode(f, buf, sizeof(buf), &n) != 0)
		die("encode");
	snprintf(label, sizeof(label), "%s.frame", name);
	hex(label, buf, n);
}

/* ---- the handshake, through two sessions wired back to back --------------- */

struct pipe {
	uint8_t buf[8192];     /* bytes written, not yet delivered */
	size_t len, resv;
	struct cove_sess *peer;
	const char *name;
	int msgs;
	struct cove_frame got;
	int have;
};

static uint8_t *pipe_reserve(void *ctx, size_t len)
{
	struct pipe *p = ctx;

	if (len > sizeof(p->buf) - p->len)
		return NULL;
	p->resv = len;
	return p->buf + p->len;
}

static uint8_t hello_eph[32], challenge_eph[32];

static void pipe_commit(void *ctx, size_t len)
{
	struct pipe *p = ctx;
	char label[64];

	/* The first message each way is HELLO or CHALLENGE in the clear:
	 * 4-byte length, 94 01 10|11 c4 20, then the ephemeral key. */
	if (p->msgs == 0 && len >= 4 + 5 + 32)
		memcpy(strstr(p->name, "client_to") ? hello_eph : challenge_eph,
		       p->buf + p->len + 4 + 5, 32);
	snprintf(label, sizeof(label), "%s.%d", p->name, ++p->msgs);
	hex(label, p->buf + p->len, len);
	p->len += len;
}

/* Delivers what each side wrote to the other until both are quiet. */
static void pump(struct pipe *a, struct pipe *b)
{
	while (a->len || b->len) {
		struct pipe *p = a->len ? a : b;
		uint8_t tmp[sizeof(p->buf)];
		size_t n = p->len;

		memcpy(tmp, p->buf, n);
		p->len = 0;
		if (cove_sess_input(p->peer, tmp, n) < 0)
			die("handshake input");
	}
}

static int pipe_frame(void *ctx, int err, const struct cove_frame *f, const uint8_t *raw,
		      size_t len)
{
	struct pipe *p = ctx;

	(void)raw;
	(void)len;
	if (err)
		die("frame");
	p->got = *f;
	p->have = 1;
	return 0;
}

static void handshake(const struct cove_ident *relay, const struct cove_ident *alice)
{
	struct pipe to_server = { .name = "wire.client_to_relay" };
	struct pipe to_client = { .name = "wire.relay_to_client" };
	struct cove_sess_io cio = { pipe_reserve, pipe_commit, pipe_frame, NULL, &to_server };
	struct cove_sess_io sio = { pipe_reserve, pipe_commit, pipe_frame, NULL, &to_client };

	/* to_server collects what the client writes and delivers it to the
	 * server. Each side's io context is the pipe it writes to, so frames
	 * the client receives land in to_server.got, the server's in
	 * to_client.got. */
	struct cove_sess *client, *server;
	struct cove_frame wlc;

	section("Handshake: alice connects to the relay; every byte on the wire in order");
	printf("# client_to_relay.1 is HELLO (clear), relay_to_client.1 CHALLENGE (clear),\n"
	       "# relay_to_client.2 SRV_AUTH (record 0), client_to_relay.2 CLI_AUTH\n"
	       "# (record 0), relay_to_client.3 the relay's WLC (record 1), then\n"
	       "# client_to_relay.3 alice's INI of the frames section (record 1).\n"
	       "# Each record's plaintext is its frame, 0x80, then zeros up to 640\n"
	       "# bytes: every record here is 4 + 640 + 16 = 660 bytes on the wire.\n");
	client = cove_sess_new_client(alice, relay->pk, &cio);
	server = cove_sess_new_server(relay, &sio);
	if (!client || !server)
		die("sessions");
	to_server.peer = server;
	to_client.peer = client;
	if (cove_sess_start(client) != 0)
		die("HELLO");
	pump(&to_server, &to_client);
	if (!cove_sess_established(server) || !cove_sess_established(client))
		die("handshake");
	cove_msg_init(&wlc, COVE_F_WLC, "", 0, relay->pk, 1700000000000001ULL, 1700000000000ULL);
	memcpy(wlc.u.wlc.you, alice->pk, COVE_ID_LEN);
	wlc.u.wlc.rate = 50;
	wlc.u.wlc.burst = 200;
	if (cove_msg_sign(&wlc, relay) != 0 || cove_sess_send(server, &wlc) != 0)
		die("WLC");
	pump(&to_server, &to_client);
	if (!to_server.have || to_server.got.type != COVE_F_WLC)
		die("WLC delivery");
	{
		/* HELLO is [1, 16, eph_c, nonce_c]: eph_c at byte 4+3+2 of the
		 * wire; CHALLENGE likewise. */
		const uint8_t *eph_c = hello_eph, *eph_s = challenge_eph;
		uint8_t rx[32], tx[32];

		hex("handshake.client_ephemeral_secret", secret_of(eph_c), 32);
		hex("handshake.relay_ephemeral_secret", secret_of(eph_s), 32);
		if (crypto_kx_client_session_keys(rx, tx, eph_c, secret_of(eph_c), eph_s) != 0)
			die("kx");
		hex("handshake.key_client_to_relay", tx, 32);
		hex("handshake.key_relay_to_client", rx, 32);
	}
	{
		struct cove_frame ini;
		struct cove_xkp kp;
		uint8_t xseed[32];

		for (int i = 0; i < 32; i++)
			xseed[i] = (uint8_t)(0xa0 + i);
		crypto_box_seed_keypair(kp.pk, kp.sk, xseed);
		cove_msg_init(&ini, COVE_F_INI, "lobby", 5, alice->pk, 1700000000000000ULL,
			      1700000000000ULL);
		memcpy(ini.u.ini.xpk, kp.pk, COVE_XPK_LEN);
		if (cove_msg_sign(&ini, alice) != 0 || cove_sess_send(client, &ini) != 0)
			die("INI over the link");
		pump(&to_server, &to_client);
		if (!to_client.have || to_client.got.type != COVE_F_INI)
			die("INI delivery");
	}
	cove_sess_free(client);
	cove_sess_free(server);
}

/* ---- frames ---------------------------------------------------------------- */

static void frames(const struct cove_ident *relay, const struct cove_ident *alice,
		   const struct cove_ident *bob)
{
	static const char room[] = "lobby";
	const uint64_t ts = 1700000000000ULL;
	struct cove_xkp alice_x, bob_x;
	uint8_t xseed[32], gk[COVE_GK_LEN], sid[COVE_SID_LEN], datkey[COVE_DATKEY_LEN];
	uint8_t ct[COVE_DAT_CT_MAX], pl[COVE_PAD_MAX], ad[COVE_DAT_AD_MAX];
	struct cove_payload p = { .kind = COVE_PL_TEXT, .text = "hello, lobby", .text_len = 12 };
	uint8_t view[COVE_VIEW_LEN], ids[2][32], kid[COVE_KID_LEN];
	struct cove_frame f;
	size_t n = 0, padded = 0, ad_len = 0;

	section("Frames in room \"lobby\"");
	for (int i = 0; i < 32; i++)
		xseed[i] = (uint8_t)(0xa0 + i);
	crypto_box_seed_keypair(alice_x.pk, alice_x.sk, xseed);
	for (int i = 0; i < 32; i++)
		xseed[i] = (uint8_t)(0xc0 + i);
	crypto_box_seed_keypair(bob_x.pk, bob_x.sk, xseed);
	hex("alice.session_x25519_public", alice_x.pk, 32);
	hex("bob.session_x25519_public", bob_x.pk, 32);

	cove_msg_init(&f, COVE_F_INI, room, 5, alice->pk, 1700000000000000ULL, ts);
	memcpy(f.u.ini.xpk, alice_x.pk, 32);
	if (cove_msg_sign(&f, alice) != 0)
		die("INI");
	frame_out("ini_alice", &f);

	cove_msg_init(&f, COVE_F_INI, room, 5, relay->pk, 1700000000000002ULL, ts);
	memcpy(f.u.ini.xpk, alice_x.pk, 32);
	if (cove_msg_sign(&f, relay) != 0)
		die("first");
	frame_out("ini_first_from_relay", &f);

	cove_msg_init(&f, COVE_F_INI, room, 5, bob->pk, 1700000000500000ULL, ts + 500);
	memcpy(f.u.ini.xpk, bob_x.pk, 32);
	if (cove_msg_sign(&f, bob) != 0)
		die("INI bob");
	frame_out("ini_bob", &f);

	cove_msg_init(&f, COVE_F_ASK, room, 5, relay->pk, 1700000000000003ULL, ts + 500);
	memcpy(f.u.ask.to, alice->pk, 32);
	memcpy(f.u.ask.joiner, bob->pk, 32);
	memcpy(f.u.ask.xpk, bob_x.pk, 32);
	if (cove_msg_sign(&f, relay) != 0)
		die("ASK");
	frame_out("ask_alice_for_bob", &f);

	for (int i = 0; i < COVE_GK_LEN; i++)
		gk[i] = (uint8_t)(0x10 + i);
	hex("group_key", gk, sizeof(gk));
	memcpy(ids[0], alice->pk, 32);
	memcpy(ids[1], bob->pk, 32);
	cove_view_hash(view, 0, ids, 2);
	hex("key.view_of_alice_and_bob_at_epoch_0", view, sizeof(view));
	printf("# the sealed box's ephemeral key comes from the generator; its secret\n"
	       "# (as drawn, before clamping) is listed after the frame, so that\n"
	       "# crypto_box_seal can be redone: sealed = epk || crypto_box_easy(...)\n");
	cove_msg_init(&f, COVE_F_KEY, room, 5, alice->pk, 1700000000000001ULL, ts + 501);
	if (cove_msg_key_seal(&f, bob->pk, bob_x.pk, 0, gk, view, alice) != 0)
		die("KEY");
	frame_out("key_alice_to_bob", &f);
	hex("key_alice_to_bob.kid", f.u.key.kid, COVE_KID_LEN);
	hex("key_alice_to_bob.sealed_ephemeral_secret", secret_of(f.u.key.sealed), 32);

	for (int i = 0; i < COVE_SID_LEN; i++)
		sid[i] = (uint8_t)(0xe0 + i);
	hex("dat.sid", sid, sizeof(sid));
	cove_msg_init(&f, COVE_F_DAT, room, 5, alice->pk, 1700000000000002ULL, ts + 1000);
	f.u.dat.epoch = 0;
	memcpy(f.u.dat.sid, sid, sizeof(sid));
	f.u.dat.n = 0; /* alice's first message in this session */
	cove_gk_kid(kid, gk, 0);
	hex("dat.kid", kid, sizeof(kid));
	if (cove_payload_encode(&p, pl, sizeof(pl), &n) != 0)
		die("payload");
	hex("dat.payload", pl, n);
	if (cove_pad(pl, n, sizeof(pl), &padded) != 0)
		die("pad");
	num("dat.padded_length", padded);
	if (cove_dat_key(datkey, gk, room, 5, alice->pk, 0, sid) != 0)
		die("dat key");
	hex("dat.key", datkey, sizeof(datkey));
	cove_gk_kid(f.u.dat.kid, gk, 0); /* as cove_msg_dat_seal() will */
	if (cove_frame_dat_ad(&f, ad, sizeof(ad), &ad_len) != 0)
		die("ad");
	hex("dat.associated_data", ad, ad_len);
	if (cove_msg_dat_seal(&f, ct, sizeof(ct), &p, gk, alice) != 0)
		die("DAT");
	frame_out("dat_alice", &f);
	frame_keep(&f, kept_dat, &kept_dat_len);

	cove_msg_init(&f, COVE_F_WLC, "", 0, relay->pk, 1700000000000001ULL, ts);
	memcpy(f.u.wlc.you, alice->pk, 32);
	f.u.wlc.rate = 50;
	f.u.wlc.burst = 200;
	if (cove_msg_sign(&f, relay) != 0)
		die("WLC");
	frame_out("wlc_alice", &f);

	cove_msg_init(&f, COVE_F_RDY, room, 5, bob->pk, 1700000000500001ULL, ts + 502);
	f.u.rdy.epoch = 0;
	if (cove_msg_sign(&f, bob) != 0)
		die("RDY");
	frame_out("rdy_bob", &f);

	cove_msg_init(&f, COVE_F_RKY, room, 5, bob->pk, 1700000000500002ULL, ts + 1500);
	f.u.rdy.epoch = 0;
	if (cove_msg_sign(&f, bob) != 0)
		die("RKY");
	frame_out("rky_bob", &f);

	cove_msg_init(&f, COVE_F_REK, room, 5, relay->pk, 1700000000000007ULL, ts + 1501);
	memcpy(f.u.rek.to, alice->pk, 32);
	f.u.rek.epoch = 1;
	if (cove_msg_sign(&f, relay) != 0)
		die("REK");
	frame_out("rek_alice_epoch_1", &f);

	{
		struct cove_payload rs = { .kind = COVE_PL_RESEND };
		uint8_t buf[128];
		size_t bl = 0;

		memcpy(rs.resend.from, alice->pk, 32);
		memcpy(rs.resend.sid, sid, sizeof(sid));
		rs.resend.first = 3;
		rs.resend.last = 5;
		if (cove_payload_encode(&rs, buf, sizeof(buf), &bl) != 0)
			die("RESEND payload");
		hex("payload.resend_alice_3_to_5", buf, bl);
	}

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_PING;
	f.u.ping.n = 42;
	frame_out("ping_42", &f);
	f.type = COVE_F_PONG;
	frame_out("pong_42", &f);

	{
		static struct cove_payload cu; /* big: not on the stack */
		uint8_t buf[256];
		size_t bl = 0;

		cu.kind = COVE_PL_CATCHUP;
		cu.catchup.within_ms = 45000;
		cu.catchup.nheads = 1;
		memcpy(cu.catchup.heads[0].from, alice->pk, 32);
		memcpy(cu.catchup.heads[0].sid, sid, sizeof(sid));
		cu.catchup.heads[0].n = 7;
		if (cove_payload_encode(&cu, buf, sizeof(buf), &bl) != 0)
			die("CATCHUP payload");
		hex("payload.catchup_45s_alice_after_7", buf, bl);
	}

	/* the rekey of the REK above: alice made epoch 1, its key is 30..4f */
	{
		uint8_t gk1[COVE_GK_LEN], view1[COVE_VIEW_LEN];

		for (int i = 0; i < COVE_GK_LEN; i++)
			gk1[i] = (uint8_t)(0x30 + i);
		hex("group_key_epoch_1", gk1, sizeof(gk1));
		memcpy(ids[0], alice->pk, 32);
		memcpy(ids[1], bob->pk, 32);
		cove_view_hash(view1, 1, ids, 2);
		cove_msg_init(&f, COVE_F_KEY, room, 5, alice->pk, 1700000000000003ULL, ts + 1502);
		if (cove_msg_key_seal(&f, bob->pk, bob_x.pk, 1, gk1, view1, alice) != 0)
			die("rekey KEY");
		frame_out("key_alice_to_bob_epoch_1", &f);
		frame_keep(&f, kept_key1, &kept_key1_len);
		hex("key_alice_to_bob_epoch_1.kid", f.u.key.kid, COVE_KID_LEN);
		hex("key_alice_to_bob_epoch_1.sealed_ephemeral_secret",
		    secret_of(f.u.key.sealed), 32);
	}

	cove_msg_init(&f, COVE_F_BYE, room, 5, bob->pk, 1700000000500003ULL, ts + 1900);
	memcpy(f.u.bye.who, bob->pk, 32);
	if (cove_msg_sign(&f, bob) != 0)
		die("member BYE");
	frame_out("bye_from_bob_himself", &f);

	cove_msg_init(&f, COVE_F_BYE, room, 5, relay->pk, 1700000000000004ULL, ts + 2000);
	memcpy(f.u.bye.who, bob->pk, 32);
	if (cove_msg_sign(&f, relay) != 0)
		die("BYE");
	frame_out("bye_bob", &f);

	cove_msg_init(&f, COVE_F_ERR, room, 5, relay->pk, 1700000000000005ULL, ts + 3000);
	f.u.err.code = COVE_EC_BAD_SIGNATURE;
	f.u.err.ref = 1700000000000009ULL;
	f.u.err.text = "DAT refused: its signature does not verify";
	f.u.err.text_len = strlen(f.u.err.text);
	if (cove_msg_sign(&f, relay) != 0)
		die("ERR");
	frame_out("err_bad_signature", &f);

	cove_msg_init(&f, COVE_F_ERR, "", 0, relay->pk, 1700000000000006ULL, ts + 4000);
	f.u.err.code = COVE_EC_NOT_WHITELISTED;
	f.u.err.ref = 0;
	f.u.err.text = "your key is not on this rendezvous's whitelist";
	f.u.err.text_len = strlen(f.u.err.text);
	if (cove_msg_sign(&f, relay) != 0)
		die("ERR");
	frame_out("err_not_whitelisted", &f);

	cove_msg_init(&f, COVE_F_ERR, room, 5, relay->pk, 1700000000000008ULL, ts + 5000);
	f.u.err.code = COVE_EC_STALE_EPOCH;
	f.u.err.ref = 1700000000500001ULL;
	f.u.err.text = "epoch 3 of room lobby was not given to you to make (the room is at epoch 1)";
	f.u.err.text_len = strlen(f.u.err.text);
	if (cove_msg_sign(&f, relay) != 0)
		die("ERR stale");
	frame_out("err_stale_epoch", &f);

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_VERSION;
	frame_out("version_from_a_version_2_relay", &f);
}

/* ---- persistent rooms: SYN, FWD, UPD, PRS ---------------------------------- */

/* What PROTOCOL.md 5.7-5.10 tells in words, as bytes: bob comes back to
 * "lobby" holding the room up to its frame 3 (his KEY of epoch 0, the
 * room's 0th DAT count), asks for the rest (SYN), is sent alice's DAT
 * (frame 4, the room's first DAT) and the KEY of epoch 1 sealed to him
 * while he was away (frame 5), then UPD; alice, new to the room, asks
 * for nothing before her join; and the relay says who is here. */
static void persistent(const struct cove_ident *relay, const struct cove_ident *alice,
		       const struct cove_ident *bob)
{
	static const char room[] = "lobby";
	const uint64_t ts = 1700000000000ULL;
	struct cove_frame f;

	section("Persistent rooms: SYN, FWD, UPD and PRS in room \"lobby\"");
	printf("# bob is back holding the room up to its frame 3 (rseq 3, rdat 0);\n"
	       "# frame 4 is dat_alice (the room's first DAT, rdat 1) and frame 5 the\n"
	       "# KEY of epoch 1 sealed to bob while he was away; the room's next\n"
	       "# frame will be 6. FWD is unsigned: the link vouches for it.\n");
	cove_msg_init(&f, COVE_F_SYN, room, 5, bob->pk, 1700000000500004ULL, ts + 2500);
	f.u.syn.after = 3;
	f.u.syn.after_dat = 0;
	if (cove_msg_sign(&f, bob) != 0)
		die("SYN");
	frame_out("syn_bob_after_3", &f);

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_FWD;
	f.u.fwd.rseq = 4;
	f.u.fwd.rdat = 1;
	f.u.fwd.frame = kept_dat;
	f.u.fwd.frame_len = kept_dat_len;
	frame_out("fwd_4_dat_alice", &f);
	f.u.fwd.rseq = 5;
	f.u.fwd.rdat = 1;
	f.u.fwd.frame = kept_key1;
	f.u.fwd.frame_len = kept_key1_len;
	frame_out("fwd_5_key_alice_to_bob_epoch_1", &f);

	cove_msg_init(&f, COVE_F_UPD, room, 5, relay->pk, 1700000000000010ULL, ts + 2501);
	f.u.upd.next = 6;
	f.u.upd.missed = 0;
	if (cove_msg_sign(&f, relay) != 0)
		die("UPD");
	frame_out("upd_bob_next_6", &f);

	printf("# a member back after retention dropped 2 of the DATs after its cursor\n");
	cove_msg_init(&f, COVE_F_UPD, room, 5, relay->pk, 1700000000000011ULL, ts + 2502);
	f.u.upd.next = 40;
	f.u.upd.missed = 2;
	if (cove_msg_sign(&f, relay) != 0)
		die("UPD missed");
	frame_out("upd_next_40_missed_2", &f);

	printf("# a new member has no cursor: after = 2^64-1\n");
	cove_msg_init(&f, COVE_F_SYN, room, 5, alice->pk, 1700000000000004ULL, ts + 1);
	f.u.syn.after = UINT64_MAX;
	f.u.syn.after_dat = 0;
	if (cove_msg_sign(&f, alice) != 0)
		die("SYN new");
	frame_out("syn_alice_new_member", &f);

	cove_msg_init(&f, COVE_F_PRS, room, 5, relay->pk, 1700000000000012ULL, ts + 2000);
	memcpy(f.u.prs.who, bob->pk, 32);
	f.u.prs.here = 0;
	f.u.prs.seen = ts + 1950;
	if (cove_msg_sign(&f, relay) != 0)
		die("PRS away");
	frame_out("prs_bob_away", &f);

	cove_msg_init(&f, COVE_F_PRS, room, 5, relay->pk, 1700000000000013ULL, ts + 2500);
	memcpy(f.u.prs.who, bob->pk, 32);
	f.u.prs.here = 1;
	f.u.prs.seen = ts + 2500;
	if (cove_msg_sign(&f, relay) != 0)
		die("PRS here");
	frame_out("prs_bob_here", &f);
}

/* Prints bytes a decoder must refuse, and the reason the code gives. */
static void refusal(const char *name, const uint8_t *buf, size_t n)
{
	char label[96];
	struct cove_frame f;
	int ret = cove_frame_decode(&f, buf, n);

	if (ret == 0)
		die("a refusal vector decoded");
	snprintf(label, sizeof(label), "refuse.%s", name);
	hex(label, buf, n);
	snprintf(label, sizeof(label), "refuse.%s.because", name);
	text(label, cove_strerror(ret));
}

/* The frames of persistent rooms, each spoiled in one field. */
static void refusals_v2(const struct cove_ident *relay, const struct cove_ident *bob)
{
	static const uint8_t empty_fwd[] = {
		0x95, 0x02, 0x0d, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x04, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x01,
		0xc4, 0x00,
	};
	uint8_t buf[512];
	struct cove_frame f;
	size_t n = 0, at;

	refusal("fwd_of_an_empty_frame", empty_fwd, sizeof(empty_fwd));

	/* PRS: here is 0 or 1, nothing else */
	cove_msg_init(&f, COVE_F_PRS, "lobby", 5, relay->pk, 1700000000000013ULL,
		      1700000002500ULL);
	memcpy(f.u.prs.who, bob->pk, 32);
	f.u.prs.here = 1;
	f.u.prs.seen = 1700000002500ULL;
	if (cove_msg_sign(&f, relay) != 0 || cove_frame_encode(&f, buf, sizeof(buf), &n) != 0)
		die("PRS to spoil");
	at = 3 + 6 + 34 + 9 + 9 + 34; /* header, room, from, seq, ts, who: here's ce */
	if (buf[at] != 0xce || buf[at + 4] != 1)
		die("PRS layout");
	buf[at + 4] = 2;
	refusal("prs_with_here_2", buf, n);

	/* SYN: "no cursor" is 2^64-1, a uint; a negative number is no uint */
	cove_msg_init(&f, COVE_F_SYN, "lobby", 5, bob->pk, 1700000000500004ULL, 1700000002500ULL);
	f.u.syn.after = 3;
	f.u.syn.after_dat = 0;
	if (cove_msg_sign(&f, bob) != 0 || cove_frame_encode(&f, buf, sizeof(buf), &n) != 0)
		die("SYN to spoil");
	at = 3 + 6 + 34 + 9 + 9; /* after's cf */
	if (buf[at] != 0xcf || buf[at + 8] != 3)
		die("SYN layout");
	buf[at] = 0xd3; /* int64 */
	memset(buf + at + 1, 0xff, 8);
	refusal("syn_with_after_minus_1", buf, n);
}

/* Bytes a decoder must refuse, with the reason the code gives. */
static void refusals(const struct cove_ident *relay, const struct cove_ident *bob)
{
	static const struct {
		const char *name;
		const char *hex;
	} bad[] = {
		{ "array32_claiming_4294967295_elements", "ddffffffff" },
		{ "fixstr_longer_than_the_input", "9202a5ff" },
		{ "trailing_byte_after_a_version_frame", "920214c0" },
		{ "nested_array", "93020291" },
		{ "version_1", "920114" },
		{ "version_1_hello",
		  "9401 10 c420 0000000000000000000000000000000000000000000000000000000000000000"
		  " c420 0000000000000000000000000000000000000000000000000000000000000000" },
		{ "version_3", "920314" },
		{ "unknown_type_99", "920263" },
		{ "float_as_type", "9202ca41a00000" },
		{ "not_an_array_but_a_uint", "02" },
		{ "a_map_instead_of_an_array", "82020b020c" },
		{ "an_array_of_one_element", "9102" },
		{ "ping_with_two_elements_not_three", "92020b" },
		{ "ping_with_four_elements_not_three", "94020b0000" },
		{ "hello_with_a_31_byte_key",
		  "9402 10 c41f 00000000000000000000000000000000000000000000000000000000000000"
		  " c420 0000000000000000000000000000000000000000000000000000000000000000" },
	};
	uint8_t buf[256];

	section("Frames a decoder must refuse (hex in, reason out)");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = 0;

		for (const char *h = bad[i].hex; *h; h++) {
			unsigned v;

			if (*h == ' ')
				continue;
			if (sscanf(h, "%2x", &v) != 1)
				die("refusal hex");
			buf[n++] = (uint8_t)v;
			h++;
		}
		refusal(bad[i].name, buf, n);
	}
	refusals_v2(relay, bob);
}

/* ---- key files, padding, fingerprints -------------------------------------- */

static void keyfiles(const struct cove_ident *alice)
{
	char buf[COVE_KF_MAX_FILE];
	size_t n = 0;

	section("Key files of alice (passphrase \"correct horse\", Argon2id ops=1 mem=8192)");
	if (cove_kf_encode(buf, sizeof(buf), &n, alice, NULL, 0, 0, 0) != 0)
		die("key file");
	buf[n - 1] = '\0';
	text("keyfile_plain.line2", strchr(buf, '\n') + 1);
	if (cove_kf_encode(buf, sizeof(buf), &n, alice, "correct horse", 13, 1, 8192) != 0)
		die("encrypted key file");
	buf[n - 1] = '\0';
	text("keyfile_encrypted.line2", strchr(buf, '\n') + 1);
}

static void padding(void)
{
	static const size_t sizes[] = { 0, 1, 200, 254, 255, 256, 300, 1000, 5000, 32767 };
	static const size_t frames[] = { 1, 12, 394, 639, 640, 641, 672, 1000, 4096, 32768,
					 65535, 65536 };

	section("Padding: payload length -> padded length (a TEXT payload is its text + 3 or 4)");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		printf("pad(%zu) = %zu\n", sizes[i], cove_pad_size(sizes[i]));
	section("Link records: frame length -> padded plaintext length (L is 16 more)");
	for (size_t i = 0; i < sizeof(frames) / sizeof(frames[0]); i++)
		printf("link_pad(%zu) = %zu\n", frames[i], cove_link_pad_size(frames[i]));
}

int main(void)
{
	struct cove_ident *relay, *alice, *bob;
	char b64[COVE_PK_B64_LEN + 1], fp[COVE_FP_LEN + 1];

	randombytes_set_implementation(&rng);
	if (sodium_init() < 0)
		die("sodium_init");
	relay = cove_ident_new();
	alice = cove_ident_new();
	bob = cove_ident_new();
	if (!relay || !alice || !bob)
		die("alloc");
	seeded(relay, 0x00);
	seeded(alice, 0x20);
	seeded(bob, 0x40);
	section("Identities: Ed25519 from the seeds 00..1f (relay), 20..3f (alice), 40..5f (bob)");
	hex("relay.public", relay->pk, 32);
	hex("alice.public", alice->pk, 32);
	hex("bob.public", bob->pk, 32);
	cove_pk_to_b64(b64, alice->pk);
	text("alice.public_base64", b64);
	cove_pk_fingerprint(fp, alice->pk);
	text("alice.fingerprint", fp);
	frames(relay, alice, bob);
	persistent(relay, alice, bob);
	handshake(relay, alice);
	keyfiles(alice);
	padding();
	refusals(relay, bob);
	cove_ident_free(relay);
	cove_ident_free(alice);
	cove_ident_free(bob);
	return 0;
}
