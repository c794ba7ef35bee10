/*
 * test_frame.c - frames: encode/decode round trips, strict decoding of
 * hostile bytes, fixed-width encoding (sizes leak nothing about counters),
 * the exact bytes of each layout, and the exact bytes signatures and the
 * DAT AEAD cover.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <msgpack.h>
#include <sodium.h>

#include "tests/unit/check.h"
#include "wire/frame.h"

static const uint8_t all_types[] = {
	COVE_F_INI, COVE_F_KEY, COVE_F_DAT, COVE_F_ERR, COVE_F_ASK, COVE_F_BYE, COVE_F_WLC,
	COVE_F_RDY, COVE_F_RKY, COVE_F_REK, COVE_F_PING, COVE_F_PONG, COVE_F_FWD, COVE_F_SYN,
	COVE_F_UPD, COVE_F_HELLO, COVE_F_CHALLENGE, COVE_F_SRV_AUTH, COVE_F_CLI_AUTH,
	COVE_F_VERSION, COVE_F_PRS,
};
#define N_TYPES (sizeof(all_types) / sizeof(all_types[0]))

static const uint8_t signed_types[] = {
	COVE_F_INI, COVE_F_KEY, COVE_F_DAT, COVE_F_ERR, COVE_F_ASK, COVE_F_BYE, COVE_F_WLC,
	COVE_F_RDY, COVE_F_RKY, COVE_F_REK, COVE_F_SYN, COVE_F_UPD, COVE_F_PRS,
};
#define N_SIGNED (sizeof(signed_types) / sizeof(signed_types[0]))

static uint8_t ct_store[300];
static const char err_text[] = "not on the whitelist";

static void pattern(uint8_t *p, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(start + 7 * i);
}

/* A frame of the given type with every field set to a distinct value. */
static void make_frame(struct cove_frame *f, uint8_t type)
{
	memset(f, 0, sizeof(*f));
	f->version = COVE_PROTO_VERSION;
	f->type = type;
	if (cove_frame_is_signed(type)) {
		assert_ok(cove_frame_set_room(f, "general", 7));
		pattern(f->from, sizeof(f->from), 0x10);
		f->seq = 0x0102030405060708ULL;
		f->ts = 1700000000123ULL;
		pattern(f->sig, sizeof(f->sig), 0xe0);
	}
	switch (type) {
	case COVE_F_INI:
		pattern(f->u.ini.xpk, COVE_WXPK_LEN, 0x20);
		break;
	case COVE_F_KEY:
		pattern(f->u.key.to, COVE_ID_LEN, 0x30);
		pattern(f->u.key.xpk, COVE_WXPK_LEN, 0x40);
		f->u.key.epoch = 0xa1b2c3d4;
		pattern(f->u.key.sealed, COVE_WSEALED_LEN, 0x50);
		pattern(f->u.key.kid, COVE_WKID_LEN, 0x54);
		pattern(f->u.key.view, COVE_WVIEW_LEN, 0x58);
		break;
	case COVE_F_DAT:
		f->u.dat.epoch = 7;
		pattern(f->u.dat.sid, COVE_WSID_LEN, 0x60);
		f->u.dat.n = 0x1112131415161718ULL;
		pattern(f->u.dat.kid, COVE_WKID_LEN, 0x68);
		pattern(ct_store, sizeof(ct_store), 0x70);
		f->u.dat.ct = ct_store;
		f->u.dat.ct_len = sizeof(ct_store);
		break;
	case COVE_F_ERR:
		f->u.err.code = COVE_EC_NOT_WHITELISTED;
		f->u.err.ref = 99;
		f->u.err.text = err_text;
		f->u.err.text_len = sizeof(err_text) - 1;
		break;
	case COVE_F_ASK:
		pattern(f->u.ask.to, COVE_ID_LEN, 0x80);
		pattern(f->u.ask.joiner, COVE_ID_LEN, 0x90);
		pattern(f->u.ask.xpk, COVE_WXPK_LEN, 0xa0);
		break;
	case COVE_F_BYE:
		pattern(f->u.bye.who, COVE_ID_LEN, 0xb0);
		break;
	case COVE_F_WLC:
		pattern(f->u.wlc.you, COVE_ID_LEN, 0xc0);
		f->u.wlc.rate = 0x0a0b0c0du;
		f->u.wlc.burst = 0x0e0f1011u;
		break;
	case COVE_F_RDY:
		f->u.rdy.epoch = 0x01020304u;
		break;
	case COVE_F_RKY:
		f->u.rdy.epoch = 0x05060708u;
		break;
	case COVE_F_REK:
		pattern(f->u.rek.to, COVE_ID_LEN, 0xc8);
		f->u.rek.epoch = 0x090a0b0cu;
		break;
	case COVE_F_PING:
		f->u.ping.n = 0x2122232425262728ULL;
		break;
	case COVE_F_PONG:
		f->u.ping.n = 0x3132333435363738ULL;
		break;
	case COVE_F_FWD:
		f->u.fwd.rseq = 0x4142434445464748ULL;
		f->u.fwd.rdat = 0x5152535455565758ULL;
		pattern(ct_store, sizeof(ct_store), 0x71);
		f->u.fwd.frame = ct_store;
		f->u.fwd.frame_len = sizeof(ct_store);
		break;
	case COVE_F_SYN:
		f->u.syn.after = 0x6162636465666768ULL;
		f->u.syn.after_dat = 0x7172737475767778ULL;
		break;
	case COVE_F_UPD:
		f->u.upd.next = 0x8182838485868788ULL;
		f->u.upd.missed = 0x9192939495969798ULL;
		break;
	case COVE_F_PRS:
		pattern(f->u.prs.who, COVE_ID_LEN, 0xcc);
		f->u.prs.here = 1;
		f->u.prs.seen = 1700000000456ULL;
		break;
	case COVE_F_HELLO:
	case COVE_F_CHALLENGE:
		pattern(f->u.hello.eph, COVE_WXPK_LEN, 0xd0);
		pattern(f->u.hello.nonce, COVE_WNONCE_LEN, 0xd8);
		break;
	case COVE_F_SRV_AUTH:
	case COVE_F_CLI_AUTH:
		pattern(f->u.auth.id, COVE_ID_LEN, 0xf0);
		pattern(f->u.auth.sig, COVE_WSIG_LEN, 0xf8);
		break;
	}
}

/* Encodes f into a heap buffer of exactly its size (so ASan sees any
 * overrun); the caller frees it. */
static uint8_t *encode(const struct cove_frame *f, size_t *len)
{
	size_t want = cove_frame_size(f);
	uint8_t *buf;

	if (want == 0)
		fail_msg("cove_frame_size(type %u) = 0, want a size", f->type);
	buf = malloc(want);
	assert_non_null(buf);
	assert_ok(cove_frame_encode(f, buf, want, len));
	assert_u64(*len, want);
	return buf;
}

static void assert_frames_equal(const struct cove_frame *a, const struct cove_frame *b)
{
	assert_u64(a->version, b->version);
	assert_u64(a->type, b->type);
	if (cove_frame_is_signed(a->type)) {
		assert_u64(a->room_len, b->room_len);
		assert_bytes(a->room, b->room, a->room_len + 1u);
		assert_bytes(a->from, b->from, COVE_ID_LEN);
		assert_u64(a->seq, b->seq);
		assert_u64(a->ts, b->ts);
		assert_bytes(a->sig, b->sig, COVE_WSIG_LEN);
	}
	switch (a->type) {
	case COVE_F_INI:
		assert_bytes(a->u.ini.xpk, b->u.ini.xpk, COVE_WXPK_LEN);
		break;
	case COVE_F_KEY:
		assert_bytes(a->u.key.to, b->u.key.to, COVE_ID_LEN);
		assert_bytes(a->u.key.xpk, b->u.key.xpk, COVE_WXPK_LEN);
		assert_u64(a->u.key.epoch, b->u.key.epoch);
		assert_bytes(a->u.key.sealed, b->u.key.sealed, COVE_WSEALED_LEN);
		assert_bytes(a->u.key.kid, b->u.key.kid, COVE_WKID_LEN);
		assert_bytes(a->u.key.view, b->u.key.view, COVE_WVIEW_LEN);
		break;
	case COVE_F_DAT:
		assert_u64(a->u.dat.epoch, b->u.dat.epoch);
		assert_bytes(a->u.dat.sid, b->u.dat.sid, COVE_WSID_LEN);
		assert_u64(a->u.dat.n, b->u.dat.n);
		assert_bytes(a->u.dat.kid, b->u.dat.kid, COVE_WKID_LEN);
		assert_u64(a->u.dat.ct_len, b->u.dat.ct_len);
		assert_bytes(a->u.dat.ct, b->u.dat.ct, a->u.dat.ct_len);
		break;
	case COVE_F_ERR:
		assert_u64(a->u.err.code, b->u.err.code);
		assert_u64(a->u.err.ref, b->u.err.ref);
		assert_u64(a->u.err.text_len, b->u.err.text_len);
		assert_bytes(a->u.err.text, b->u.err.text, a->u.err.text_len);
		break;
	case COVE_F_ASK:
		assert_bytes(a->u.ask.to, b->u.ask.to, COVE_ID_LEN);
		assert_bytes(a->u.ask.joiner, b->u.ask.joiner, COVE_ID_LEN);
		assert_bytes(a->u.ask.xpk, b->u.ask.xpk, COVE_WXPK_LEN);
		break;
	case COVE_F_BYE:
		assert_bytes(a->u.bye.who, b->u.bye.who, COVE_ID_LEN);
		break;
	case COVE_F_WLC:
		assert_bytes(a->u.wlc.you, b->u.wlc.you, COVE_ID_LEN);
		assert_u64(a->u.wlc.rate, b->u.wlc.rate);
		assert_u64(a->u.wlc.burst, b->u.wlc.burst);
		break;
	case COVE_F_RDY:
	case COVE_F_RKY:
		assert_u64(a->u.rdy.epoch, b->u.rdy.epoch);
		break;
	case COVE_F_REK:
		assert_bytes(a->u.rek.to, b->u.rek.to, COVE_ID_LEN);
		assert_u64(a->u.rek.epoch, b->u.rek.epoch);
		break;
	case COVE_F_PING:
	case COVE_F_PONG:
		assert_u64(a->u.ping.n, b->u.ping.n);
		break;
	case COVE_F_FWD:
		assert_u64(a->u.fwd.rseq, b->u.fwd.rseq);
		assert_u64(a->u.fwd.rdat, b->u.fwd.rdat);
		assert_u64(a->u.fwd.frame_len, b->u.fwd.frame_len);
		assert_bytes(a->u.fwd.frame, b->u.fwd.frame, a->u.fwd.frame_len);
		break;
	case COVE_F_SYN:
		assert_u64(a->u.syn.after, b->u.syn.after);
		assert_u64(a->u.syn.after_dat, b->u.syn.after_dat);
		break;
	case COVE_F_UPD:
		assert_u64(a->u.upd.next, b->u.upd.next);
		assert_u64(a->u.upd.missed, b->u.upd.missed);
		break;
	case COVE_F_PRS:
		assert_bytes(a->u.prs.who, b->u.prs.who, COVE_ID_LEN);
		assert_u64(a->u.prs.here, b->u.prs.here);
		assert_u64(a->u.prs.seen, b->u.prs.seen);
		break;
	case COVE_F_HELLO:
	case COVE_F_CHALLENGE:
		assert_bytes(a->u.hello.eph, b->u.hello.eph, COVE_WXPK_LEN);
		assert_bytes(a->u.hello.nonce, b->u.hello.nonce, COVE_WNONCE_LEN);
		break;
	case COVE_F_SRV_AUTH:
	case COVE_F_CLI_AUTH:
		assert_bytes(a->u.auth.id, b->u.auth.id, COVE_ID_LEN);
		assert_bytes(a->u.auth.sig, b->u.auth.sig, COVE_WSIG_LEN);
		break;
	}
}

/* ---- re-encoding a valid frame with one element changed ---------------- */

struct blob {
	uint8_t *p;
	size_t n;
};

/* Unpacks the encoded frame enc and packs it again with element idx
 * replaced by the raw msgpack bytes repl (dropped when repl is NULL) and
 * `extra` fixint elements appended. The result is in a heap buffer of
 * exactly its size; free blob.p. */
static struct blob rebuild(const uint8_t *enc, size_t len, int idx, const void *repl,
			   size_t repl_len, unsigned extra)
{
	msgpack_zone zone;
	msgpack_object root;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t off = 0;
	struct blob out;
	uint32_t n;

	msgpack_zone_init(&zone, 1024);
	assert_int_equal(msgpack_unpack((const char *)enc, len, &off, &zone, &root),
			 MSGPACK_UNPACK_SUCCESS);
	assert_int_equal(root.type, MSGPACK_OBJECT_ARRAY);
	n = root.via.array.size;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, n - (idx >= 0 && !repl ? 1 : 0) + extra);
	for (uint32_t i = 0; i < n; i++) {
		if ((int)i == idx) {
			if (repl)
				msgpack_sbuffer_write(&sb, repl, repl_len);
			continue;
		}
		msgpack_pack_object(&pk, root.via.array.ptr[i]);
	}
	for (unsigned i = 0; i < extra; i++)
		msgpack_pack_fix_uint8(&pk, 1);
	out.n = sb.size;
	out.p = malloc(sb.size);
	assert_non_null(out.p);
	memcpy(out.p, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	msgpack_zone_destroy(&zone);
	return out;
}

/* Decodes the frame of `type` with element idx replaced by repl; returns
 * the decoder's verdict. */
static int decode_with(uint8_t type, int idx, const void *repl, size_t repl_len)
{
	struct cove_frame f, g;
	size_t len = 0;
	uint8_t *enc;
	struct blob b;
	int r;

	make_frame(&f, type);
	enc = encode(&f, &len);
	b = rebuild(enc, len, idx, repl, repl_len, 0);
	r = cove_frame_decode(&g, b.p, b.n);
	free(b.p);
	free(enc);
	return r;
}

/* The msgpack bytes of a bin or str of n bytes. */
static struct blob mp_bin(size_t n, int as_str)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;
	struct blob out;
	uint8_t body[512];

	assert_true(n <= sizeof(body));
	pattern(body, n, 0x41);
	for (size_t i = 0; i < n; i++)
		body[i] = (uint8_t)('a' + body[i] % 26);
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	if (as_str)
		msgpack_pack_str_with_body(&pk, body, n);
	else
		msgpack_pack_bin_with_body(&pk, body, n);
	out.n = sb.size;
	out.p = malloc(sb.size);
	assert_non_null(out.p);
	memcpy(out.p, sb.data, sb.size);
	msgpack_sbuffer_destroy(&sb);
	return out;
}

/* Fields by element index: 'b' a bin of n bytes, 'u' a u32, 'U' a u64. */
struct field {
	uint8_t type;
	int idx;
	char kind;
	size_t n;
	const char *name;
};

static const struct field fields[] = {
	{ COVE_F_INI, 3, 'b', 32, "INI from" },     { COVE_F_INI, 4, 'U', 8, "INI seq" },
	{ COVE_F_INI, 5, 'U', 8, "INI ts" },        { COVE_F_INI, 6, 'b', 32, "INI xpk" },
	{ COVE_F_INI, 7, 'b', 64, "INI sig" },
	{ COVE_F_KEY, 3, 'b', 32, "KEY from" },     { COVE_F_KEY, 4, 'U', 8, "KEY seq" },
	{ COVE_F_KEY, 5, 'U', 8, "KEY ts" },        { COVE_F_KEY, 6, 'b', 32, "KEY to" },
	{ COVE_F_KEY, 7, 'b', 32, "KEY xpk" },      { COVE_F_KEY, 8, 'u', 4, "KEY epoch" },
	{ COVE_F_KEY, 9, 'b', 80, "KEY sealed" },   { COVE_F_KEY, 10, 'b', 32, "KEY kid" },
	{ COVE_F_KEY, 11, 'b', 16, "KEY view" },    { COVE_F_KEY, 12, 'b', 64, "KEY sig" },
	{ COVE_F_DAT, 3, 'b', 32, "DAT from" },     { COVE_F_DAT, 4, 'U', 8, "DAT seq" },
	{ COVE_F_DAT, 5, 'U', 8, "DAT ts" },        { COVE_F_DAT, 6, 'u', 4, "DAT epoch" },
	{ COVE_F_DAT, 7, 'b', 16, "DAT sid" },      { COVE_F_DAT, 8, 'U', 8, "DAT n" },
	{ COVE_F_DAT, 9, 'b', 32, "DAT kid" },       { COVE_F_DAT, 11, 'b', 64, "DAT sig" },
	{ COVE_F_ERR, 3, 'b', 32, "ERR from" },     { COVE_F_ERR, 4, 'U', 8, "ERR seq" },
	{ COVE_F_ERR, 5, 'U', 8, "ERR ts" },        { COVE_F_ERR, 6, 'u', 4, "ERR code" },
	{ COVE_F_ERR, 7, 'U', 8, "ERR ref" },       { COVE_F_ERR, 9, 'b', 64, "ERR sig" },
	{ COVE_F_ASK, 3, 'b', 32, "ASK from" },     { COVE_F_ASK, 4, 'U', 8, "ASK seq" },
	{ COVE_F_ASK, 5, 'U', 8, "ASK ts" },        { COVE_F_ASK, 6, 'b', 32, "ASK to" },
	{ COVE_F_ASK, 7, 'b', 32, "ASK joiner" },   { COVE_F_ASK, 8, 'b', 32, "ASK xpk" },
	{ COVE_F_ASK, 9, 'b', 64, "ASK sig" },
	{ COVE_F_BYE, 3, 'b', 32, "BYE from" },     { COVE_F_BYE, 4, 'U', 8, "BYE seq" },
	{ COVE_F_BYE, 5, 'U', 8, "BYE ts" },        { COVE_F_BYE, 6, 'b', 32, "BYE who" },
	{ COVE_F_BYE, 7, 'b', 64, "BYE sig" },
	{ COVE_F_WLC, 3, 'b', 32, "WLC from" },     { COVE_F_WLC, 4, 'U', 8, "WLC seq" },
	{ COVE_F_WLC, 5, 'U', 8, "WLC ts" },        { COVE_F_WLC, 6, 'b', 32, "WLC you" },
	{ COVE_F_WLC, 7, 'u', 4, "WLC rate" },      { COVE_F_WLC, 8, 'u', 4, "WLC burst" },
	{ COVE_F_WLC, 9, 'b', 64, "WLC sig" },
	{ COVE_F_RDY, 3, 'b', 32, "RDY from" },     { COVE_F_RDY, 4, 'U', 8, "RDY seq" },
	{ COVE_F_RDY, 5, 'U', 8, "RDY ts" },        { COVE_F_RDY, 6, 'u', 4, "RDY epoch" },
	{ COVE_F_RDY, 7, 'b', 64, "RDY sig" },
	{ COVE_F_RKY, 3, 'b', 32, "RKY from" },     { COVE_F_RKY, 4, 'U', 8, "RKY seq" },
	{ COVE_F_RKY, 5, 'U', 8, "RKY ts" },        { COVE_F_RKY, 6, 'u', 4, "RKY epoch" },
	{ COVE_F_RKY, 7, 'b', 64, "RKY sig" },
	{ COVE_F_REK, 3, 'b', 32, "REK from" },     { COVE_F_REK, 4, 'U', 8, "REK seq" },
	{ COVE_F_REK, 5, 'U', 8, "REK ts" },        { COVE_F_REK, 6, 'b', 32, "REK to" },
	{ COVE_F_REK, 7, 'u', 4, "REK epoch" },     { COVE_F_REK, 8, 'b', 64, "REK sig" },
	{ COVE_F_SYN, 3, 'b', 32, "SYN from" },     { COVE_F_SYN, 4, 'U', 8, "SYN seq" },
	{ COVE_F_SYN, 5, 'U', 8, "SYN ts" },        { COVE_F_SYN, 6, 'U', 8, "SYN after" },
	{ COVE_F_SYN, 7, 'U', 8, "SYN after_dat" }, { COVE_F_SYN, 8, 'b', 64, "SYN sig" },
	{ COVE_F_UPD, 3, 'b', 32, "UPD from" },     { COVE_F_UPD, 4, 'U', 8, "UPD seq" },
	{ COVE_F_UPD, 5, 'U', 8, "UPD ts" },        { COVE_F_UPD, 6, 'U', 8, "UPD next" },
	{ COVE_F_UPD, 7, 'U', 8, "UPD missed" },    { COVE_F_UPD, 8, 'b', 64, "UPD sig" },
	{ COVE_F_PRS, 3, 'b', 32, "PRS from" },     { COVE_F_PRS, 4, 'U', 8, "PRS seq" },
	{ COVE_F_PRS, 5, 'U', 8, "PRS ts" },        { COVE_F_PRS, 6, 'b', 32, "PRS who" },
	{ COVE_F_PRS, 7, 'h', 4, "PRS here" },      { COVE_F_PRS, 8, 'U', 8, "PRS seen" },
	{ COVE_F_PRS, 9, 'b', 64, "PRS sig" },
	{ COVE_F_FWD, 2, 'U', 8, "FWD rseq" },      { COVE_F_FWD, 3, 'U', 8, "FWD rdat" },
	{ COVE_F_PING, 2, 'U', 8, "PING n" },       { COVE_F_PONG, 2, 'U', 8, "PONG n" },
	{ COVE_F_HELLO, 2, 'b', 32, "HELLO eph" },  { COVE_F_HELLO, 3, 'b', 32, "HELLO nonce" },
	{ COVE_F_CHALLENGE, 2, 'b', 32, "CHALLENGE eph" },
	{ COVE_F_CHALLENGE, 3, 'b', 32, "CHALLENGE nonce" },
	{ COVE_F_SRV_AUTH, 2, 'b', 32, "SRV_AUTH id" },
	{ COVE_F_SRV_AUTH, 3, 'b', 64, "SRV_AUTH sig" },
	{ COVE_F_CLI_AUTH, 2, 'b', 32, "CLI_AUTH id" },
	{ COVE_F_CLI_AUTH, 3, 'b', 64, "CLI_AUTH sig" },
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

static void expect_decode(uint8_t type, int idx, const void *repl, size_t repl_len, int want,
			  const char *what)
{
	int r = decode_with(type, idx, repl, repl_len);

	if (r != want)
		fail_msg("type %u, element %d %s: got %d (%s), want %d (%s)", type, idx, what, r,
			 cove_strerror(r), want, cove_strerror(want));
}

/* ---- round trips and sizes ---------------------------------------------- */

TEST(every_frame_type_round_trips)
{
	for (size_t i = 0; i < N_TYPES; i++) {
		struct cove_frame f, g;
		size_t len = 0;
		uint8_t *enc;

		make_frame(&f, all_types[i]);
		enc = encode(&f, &len);
		assert_ok(cove_frame_decode(&g, enc, len));
		assert_frames_equal(&g, &f);
		free(enc);
	}
}

TEST(ping_and_pong_round_trip_any_n)
{
	static const uint8_t link[] = { COVE_F_PING, COVE_F_PONG };
	static const uint64_t ns[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX,
				       (uint64_t)UINT32_MAX + 1, UINT64_MAX };

	for (size_t t = 0; t < sizeof(link); t++) {
		for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
			struct cove_frame f, g;
			size_t len = 0;
			uint8_t *enc;

			make_frame(&f, link[t]);
			f.u.ping.n = ns[i];
			enc = encode(&f, &len);
			assert_ok(cove_frame_decode(&g, enc, len));
			assert_u64(g.type, link[t]);
			assert_u64(g.u.ping.n, ns[i]);
			free(enc);
		}
	}
}

/* The largest values of the new fields survive the wire: DAT n (u64) and
 * the epochs of RDY, RKY and REK (u32). */
TEST(new_fields_round_trip_at_their_extremes)
{
	static const uint64_t ns[] = { 0, UINT64_MAX };
	static const uint32_t epochs[] = { 0, UINT32_MAX };

	for (size_t i = 0; i < 2; i++) {
		struct cove_frame f, g;
		size_t len = 0;
		uint8_t *enc;

		make_frame(&f, COVE_F_DAT);
		f.u.dat.n = ns[i];
		enc = encode(&f, &len);
		assert_ok(cove_frame_decode(&g, enc, len));
		assert_frames_equal(&g, &f);
		free(enc);
	}
	for (size_t i = 0; i < 2; i++) {
		static const uint8_t types[] = { COVE_F_RDY, COVE_F_RKY, COVE_F_REK };

		for (size_t t = 0; t < sizeof(types); t++) {
			struct cove_frame f, g;
			size_t len = 0;
			uint8_t *enc;

			make_frame(&f, types[t]);
			if (types[t] == COVE_F_REK)
				f.u.rek.epoch = epochs[i];
			else
				f.u.rdy.epoch = epochs[i];
			enc = encode(&f, &len);
			assert_ok(cove_frame_decode(&g, enc, len));
			assert_frames_equal(&g, &f);
			free(enc);
		}
	}
}

TEST(room_lengths_one_to_64_round_trip)
{
	char room[COVE_ROOM_MAX];

	for (size_t n = 1; n <= COVE_ROOM_MAX; n++) {
		struct cove_frame f, g;
		size_t len = 0;
		uint8_t *enc;

		for (size_t i = 0; i < n; i++)
			room[i] = (char)(0x21 + (i * 13) % 94);
		make_frame(&f, COVE_F_BYE);
		assert_ok(cove_frame_set_room(&f, room, n));
		enc = encode(&f, &len);
		assert_ok(cove_frame_decode(&g, enc, len));
		assert_frames_equal(&g, &f);
		free(enc);
	}
}

TEST(err_and_wlc_round_trip_without_a_room)
{
	static const uint8_t types[] = { COVE_F_ERR, COVE_F_WLC };

	for (size_t i = 0; i < 2; i++) {
		struct cove_frame f, g;
		size_t len = 0;
		uint8_t *enc;

		make_frame(&f, types[i]);
		assert_ok(cove_frame_set_room(&f, "", 0));
		f.u.err.text_len = types[i] == COVE_F_ERR ? 0 : f.u.err.text_len;
		enc = encode(&f, &len);
		assert_ok(cove_frame_decode(&g, enc, len));
		assert_frames_equal(&g, &f);
		free(enc);
	}
}

/* msgpack-c hands back a NULL pointer for an empty str; a decoded ERR
 * with no room and no text must still re-encode and give the same signed
 * bytes as the frame it came from. */
TEST(decoded_err_without_room_or_text_encodes_and_signs_like_the_original)
{
	struct cove_frame f, g;
	uint8_t a[512], b[512], *enc, *again;
	size_t na = 0, nb = 0, len = 0, len2 = 0;

	make_frame(&f, COVE_F_ERR);
	assert_ok(cove_frame_set_room(&f, "", 0));
	f.u.err.text = "";
	f.u.err.text_len = 0;
	enc = encode(&f, &len);
	assert_ok(cove_frame_decode(&g, enc, len));
	assert_u64(g.room_len, 0);
	assert_u64(g.u.err.text_len, 0);
	assert_ok(cove_frame_sigbytes(&f, a, sizeof(a), &na));
	assert_ok(cove_frame_sigbytes(&g, b, sizeof(b), &nb));
	assert_u64(nb, na);
	assert_bytes(b, a, na);
	again = encode(&g, &len2);
	assert_u64(len2, len);
	assert_bytes(again, enc, len);
	free(again);
	free(enc);
}

TEST(frame_size_equals_encoded_length)
{
	static const size_t ct_lens[] = { 1, 15, 16, 31, 32, 255, 256, 257, 4096, 65535 - 200 };
	static char text[COVE_ERR_TEXT_MAX];
	char room[COVE_ROOM_MAX];
	uint8_t *ct = malloc(COVE_FRAME_MAX);

	assert_non_null(ct);
	memset(text, 'e', sizeof(text));
	memset(room, 'r', sizeof(room));
	memset(ct, 0xcc, COVE_FRAME_MAX);
	for (size_t rl = 0; rl <= COVE_ROOM_MAX; rl++) {
		for (size_t t = 0; t < N_TYPES; t++) {
			struct cove_frame f;
			size_t len = 0;
			uint8_t *enc;

			make_frame(&f, all_types[t]);
			if (cove_frame_is_signed(f.type) &&
			    (rl > 0 || f.type == COVE_F_ERR || f.type == COVE_F_WLC))
				assert_ok(cove_frame_set_room(&f, room, rl));
			enc = encode(&f, &len); /* asserts size == length */
			free(enc);
		}
	}
	for (size_t tl = 0; tl <= COVE_ERR_TEXT_MAX; tl++) {
		struct cove_frame f;
		size_t len = 0;
		uint8_t *enc;

		make_frame(&f, COVE_F_ERR);
		f.u.err.text = text;
		f.u.err.text_len = tl;
		enc = encode(&f, &len);
		free(enc);
	}
	for (size_t i = 0; i < sizeof(ct_lens) / sizeof(ct_lens[0]); i++) {
		struct cove_frame f;
		size_t len = 0;
		uint8_t *enc;

		make_frame(&f, COVE_F_DAT);
		f.u.dat.ct = ct;
		f.u.dat.ct_len = ct_lens[i];
		enc = encode(&f, &len);
		free(enc);
	}
	free(ct);
}

/* Fixed-width integers: an observer of sizes learns nothing of counters. */
TEST(dat_size_does_not_depend_on_seq_ts_epoch_or_n)
{
	static const uint64_t u64s[] = { 0, 1, 127, 128, 255, 256, 65535, 65536,
					 UINT32_MAX, 1ULL << 63, UINT64_MAX };
	static const uint32_t u32s[] = { 0, 1, 127, 128, 65536, UINT32_MAX };
	struct cove_frame f;
	size_t base = 0;
	uint8_t *enc;

	make_frame(&f, COVE_F_DAT);
	f.seq = 1;
	enc = encode(&f, &base);
	free(enc);
	for (size_t i = 0; i < sizeof(u64s) / sizeof(u64s[0]); i++) {
		for (size_t j = 0; j < sizeof(u32s) / sizeof(u32s[0]); j++) {
			size_t len = 0;

			f.seq = u64s[i];
			f.ts = u64s[(i + 3) % (sizeof(u64s) / sizeof(u64s[0]))];
			f.u.dat.n = u64s[(i + 5) % (sizeof(u64s) / sizeof(u64s[0]))];
			f.u.dat.epoch = u32s[j];
			enc = encode(&f, &len);
			if (len != base)
				fail_msg("seq %llu n %llu epoch %u: %zu bytes, want %zu",
					 (unsigned long long)f.seq, (unsigned long long)f.u.dat.n,
					 f.u.dat.epoch, len, base);
			free(enc);
		}
	}
}

/* RDY, RKY and REK carry an epoch, PING and PONG a counter: fixed width
 * too. */
TEST(epoch_and_ping_frame_sizes_do_not_depend_on_their_numbers)
{
	static const uint8_t types[] = { COVE_F_RDY, COVE_F_RKY, COVE_F_REK, COVE_F_PING,
					 COVE_F_PONG };
	static const uint64_t vals[] = { 0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX,
					 (uint64_t)UINT32_MAX + 1, UINT64_MAX };

	for (size_t t = 0; t < sizeof(types); t++) {
		struct cove_frame f;
		size_t base = 0;
		uint8_t *enc;

		make_frame(&f, types[t]);
		f.u.rdy.epoch = 0;
		f.u.rek.epoch = 0;
		f.u.ping.n = 0;
		enc = encode(&f, &base);
		free(enc);
		for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
			size_t len = 0;

			if (types[t] == COVE_F_PING || types[t] == COVE_F_PONG)
				f.u.ping.n = vals[i];
			else if (vals[i] > UINT32_MAX)
				continue;
			else if (types[t] == COVE_F_REK)
				f.u.rek.epoch = (uint32_t)vals[i];
			else
				f.u.rdy.epoch = (uint32_t)vals[i];
			enc = encode(&f, &len);
			if (len != base)
				fail_msg("type %u with %llu: %zu bytes, want %zu", f.type,
					 (unsigned long long)vals[i], len, base);
			free(enc);
		}
	}
}

TEST(err_size_does_not_depend_on_code_or_ref)
{
	struct cove_frame f;
	size_t a = 0, b = 0;
	uint8_t *enc;

	make_frame(&f, COVE_F_ERR);
	f.u.err.code = 1;
	f.u.err.ref = 0;
	f.seq = 0;
	enc = encode(&f, &a);
	free(enc);
	f.u.err.code = UINT32_MAX;
	f.u.err.ref = UINT64_MAX;
	f.seq = UINT64_MAX;
	enc = encode(&f, &b);
	free(enc);
	assert_u64(b, a);
}

/* Known answer: the exact bytes of a DAT, written out from the layout in
 * frame.h, so an accidental change of the wire format fails here. */
TEST(dat_encodes_to_known_bytes)
{
	static const uint8_t ct[3] = { 0xaa, 0xbb, 0xcc };
	uint8_t want[256], *p = want, out[256];
	struct cove_frame f;
	size_t len = 0;

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_DAT;
	assert_ok(cove_frame_set_room(&f, "ab", 2));
	memset(f.from, 0x11, sizeof(f.from));
	f.seq = 2;
	f.ts = 0x0102030405060708ULL;
	f.u.dat.epoch = 5;
	memset(f.u.dat.sid, 0x22, sizeof(f.u.dat.sid));
	f.u.dat.n = 0x0a0b0c0d0e0f1011ULL;
	memset(f.u.dat.kid, 0x44, sizeof(f.u.dat.kid));
	f.u.dat.ct = ct;
	f.u.dat.ct_len = sizeof(ct);
	memset(f.sig, 0x33, sizeof(f.sig));

	*p++ = 0x9c; *p++ = 0x02; *p++ = 0x03;                 /* [12 elems], 2, DAT */
	*p++ = 0xa2; *p++ = 'a'; *p++ = 'b';                   /* room */
	*p++ = 0xc4; *p++ = 32; memset(p, 0x11, 32); p += 32;  /* from */
	*p++ = 0xcf; memcpy(p, "\0\0\0\0\0\0\0\x02", 8); p += 8;
	*p++ = 0xcf; memcpy(p, "\x01\x02\x03\x04\x05\x06\x07\x08", 8); p += 8;
	*p++ = 0xce; memcpy(p, "\0\0\0\x05", 4); p += 4;       /* epoch */
	*p++ = 0xc4; *p++ = 16; memset(p, 0x22, 16); p += 16;  /* sid */
	*p++ = 0xcf; memcpy(p, "\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11", 8); p += 8; /* n */
	*p++ = 0xc4; *p++ = 32; memset(p, 0x44, 32); p += 32;  /* kid */
	*p++ = 0xc4; *p++ = 3; memcpy(p, ct, 3); p += 3;       /* ct */
	*p++ = 0xc4; *p++ = 64; memset(p, 0x33, 64); p += 64;  /* sig */

	assert_ok(cove_frame_encode(&f, out, sizeof(out), &len));
	assert_u64(len, (size_t)(p - want));
	assert_bytes(out, want, len);
}

/* The header of the known-answer frames below: room "ab", from 0x11...,
 * seq 2, ts 0x0102030405060708, signature 0x33... */
static void known_header(struct cove_frame *f, uint8_t type)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	assert_ok(cove_frame_set_room(f, "ab", 2));
	memset(f->from, 0x11, sizeof(f->from));
	f->seq = 2;
	f->ts = 0x0102030405060708ULL;
	memset(f->sig, 0x33, sizeof(f->sig));
}

/* Its msgpack bytes, written out by hand, after an array of `elems`. */
static uint8_t *want_known_header(uint8_t *p, uint8_t elems, uint8_t type)
{
	*p++ = (uint8_t)(0x90 | elems); *p++ = 0x02; *p++ = type;
	*p++ = 0xa2; *p++ = 'a'; *p++ = 'b';                   /* room */
	*p++ = 0xc4; *p++ = 32; memset(p, 0x11, 32); p += 32;  /* from */
	*p++ = 0xcf; memcpy(p, "\0\0\0\0\0\0\0\x02", 8); p += 8;
	*p++ = 0xcf; memcpy(p, "\x01\x02\x03\x04\x05\x06\x07\x08", 8); p += 8;
	return p;
}

static uint8_t *want_known_sig(uint8_t *p)
{
	*p++ = 0xc4; *p++ = 64; memset(p, 0x33, 64);
	return p + 64;
}

static void assert_encodes_to(const struct cove_frame *f, const uint8_t *want, size_t n)
{
	uint8_t out[512];
	size_t len = 0;

	assert_ok(cove_frame_encode(f, out, sizeof(out), &len));
	assert_u64(len, n);
	assert_bytes(out, want, len);
}

TEST(key_encodes_to_known_bytes)
{
	uint8_t want[400], *p = want;
	struct cove_frame f;

	known_header(&f, COVE_F_KEY);
	memset(f.u.key.to, 0x44, COVE_ID_LEN);
	memset(f.u.key.xpk, 0x55, COVE_WXPK_LEN);
	f.u.key.epoch = 0x0a0b0c0d;
	memset(f.u.key.sealed, 0x66, COVE_WSEALED_LEN);
	memset(f.u.key.kid, 0x6b, COVE_WKID_LEN);
	memset(f.u.key.view, 0x77, COVE_WVIEW_LEN);

	p = want_known_header(p, 13, 0x02);                    /* [13 elems], 2, KEY */
	*p++ = 0xc4; *p++ = 32; memset(p, 0x44, 32); p += 32;  /* to */
	*p++ = 0xc4; *p++ = 32; memset(p, 0x55, 32); p += 32;  /* xpk */
	*p++ = 0xce; memcpy(p, "\x0a\x0b\x0c\x0d", 4); p += 4; /* epoch */
	*p++ = 0xc4; *p++ = 80; memset(p, 0x66, 80); p += 80;  /* sealed */
	*p++ = 0xc4; *p++ = 32; memset(p, 0x6b, 32); p += 32;  /* kid */
	*p++ = 0xc4; *p++ = 16; memset(p, 0x77, 16); p += 16;  /* view */
	p = want_known_sig(p);
	assert_encodes_to(&f, want, (size_t)(p - want));
}

TEST(rdy_encodes_to_known_bytes)
{
	uint8_t want[200], *p = want;
	struct cove_frame f;

	known_header(&f, COVE_F_RDY);
	f.u.rdy.epoch = 0x0a0b0c0d;

	p = want_known_header(p, 8, 0x08);                     /* [8 elems], 2, RDY */
	*p++ = 0xce; memcpy(p, "\x0a\x0b\x0c\x0d", 4); p += 4; /* epoch */
	p = want_known_sig(p);
	assert_encodes_to(&f, want, (size_t)(p - want));
}

TEST(rky_encodes_to_known_bytes)
{
	uint8_t want[200], *p = want;
	struct cove_frame f;

	known_header(&f, COVE_F_RKY);
	f.u.rdy.epoch = 0x0a0b0c0d;

	p = want_known_header(p, 8, 0x09);                     /* [8 elems], 2, RKY */
	*p++ = 0xce; memcpy(p, "\x0a\x0b\x0c\x0d", 4); p += 4; /* epoch */
	p = want_known_sig(p);
	assert_encodes_to(&f, want, (size_t)(p - want));
}

TEST(rek_encodes_to_known_bytes)
{
	uint8_t want[200], *p = want;
	struct cove_frame f;

	known_header(&f, COVE_F_REK);
	memset(f.u.rek.to, 0x44, COVE_ID_LEN);
	f.u.rek.epoch = 0x0a0b0c0d;

	p = want_known_header(p, 9, 0x0a);                     /* [9 elems], 2, REK */
	*p++ = 0xc4; *p++ = 32; memset(p, 0x44, 32); p += 32;  /* to */
	*p++ = 0xce; memcpy(p, "\x0a\x0b\x0c\x0d", 4); p += 4; /* epoch */
	p = want_known_sig(p);
	assert_encodes_to(&f, want, (size_t)(p - want));
}

TEST(syn_encodes_to_known_bytes)
{
	uint8_t want[200], *p = want;
	struct cove_frame f;

	known_header(&f, COVE_F_SYN);
	f.u.syn.after = 0x0102030405060708ULL;
	f.u.syn.after_dat = 5;

	p = want_known_header(p, 9, 0x0e);                     /* [9 elems], 2, SYN */
	*p++ = 0xcf; memcpy(p, "\x01\x02\x03\x04\x05\x06\x07\x08", 8); p += 8;
	*p++ = 0xcf; memcpy(p, "\0\0\0\0\0\0\0\x05", 8); p += 8;
	p = want_known_sig(p);
	assert_encodes_to(&f, want, (size_t)(p - want));
}

TEST(upd_encodes_to_known_bytes)
{
	uint8_t want[200], *p = want;
	struct cove_frame f;

	known_header(&f, COVE_F_UPD);
	f.u.upd.next = 1001;
	f.u.upd.missed = 0;

	p = want_known_header(p, 9, 0x0f);                     /* [9 elems], 2, UPD */
	*p++ = 0xcf; memcpy(p, "\0\0\0\0\0\0\x03\xe9", 8); p += 8;
	*p++ = 0xcf; memset(p, 0, 8); p += 8;
	p = want_known_sig(p);
	assert_encodes_to(&f, want, (size_t)(p - want));
}

TEST(prs_encodes_to_known_bytes)
{
	uint8_t want[200], *p = want;
	struct cove_frame f;

	known_header(&f, COVE_F_PRS);
	memset(f.u.prs.who, 0x55, COVE_ID_LEN);
	f.u.prs.here = 0;
	f.u.prs.seen = 0x0102030405060708ULL;

	p = want_known_header(p, 10, 0x15);                    /* [10 elems], 2, PRS */
	*p++ = 0xc4; *p++ = 32; memset(p, 0x55, 32); p += 32;  /* who */
	*p++ = 0xce; memset(p, 0, 4); p += 4;                  /* here */
	*p++ = 0xcf; memcpy(p, "\x01\x02\x03\x04\x05\x06\x07\x08", 8); p += 8;
	p = want_known_sig(p);
	assert_encodes_to(&f, want, (size_t)(p - want));
}

/* FWD: [2, 13, rseq, rdat, frame] with fixed-width numbers, unsigned. */
TEST(fwd_encodes_to_known_bytes)
{
	static const uint8_t want[] = { 0x95, 0x02, 0x0d, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x07,
					0xcf, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xc4, 0x02, 0xab, 0xcd };
	static const uint8_t inner[] = { 0xab, 0xcd };
	struct cove_frame f;

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_FWD;
	f.u.fwd.rseq = 7;
	f.u.fwd.rdat = 3;
	f.u.fwd.frame = inner;
	f.u.fwd.frame_len = sizeof(inner);
	assert_encodes_to(&f, want, sizeof(want));
}

/* PING and PONG: [1, type, n] with n a fixed-width uint64, no header, no
 * signature. */
TEST(ping_encodes_to_known_bytes)
{
	static const uint8_t want[] = { 0x93, 0x02, 0x0b, 0xcf, 0x01, 0x02, 0x03, 0x04,
					0x05, 0x06, 0x07, 0x08 };
	struct cove_frame f;

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_PING;
	f.u.ping.n = 0x0102030405060708ULL;
	assert_encodes_to(&f, want, sizeof(want));
}

TEST(pong_encodes_to_known_bytes)
{
	static const uint8_t want[] = { 0x93, 0x02, 0x0c, 0xcf, 0, 0, 0, 0, 0, 0, 0, 0x2a };
	struct cove_frame f;

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_PONG;
	f.u.ping.n = 42;
	assert_encodes_to(&f, want, sizeof(want));
}

TEST(handshake_frames_encode_to_known_bytes)
{
	uint8_t out[128], want[128];
	struct cove_frame f;
	size_t len = 0;

	memset(&f, 0, sizeof(f));
	f.type = COVE_F_VERSION;
	assert_ok(cove_frame_encode(&f, out, sizeof(out), &len));
	assert_u64(len, 3);
	assert_bytes(out, "\x92\x02\x14", 3);

	f.type = COVE_F_HELLO;
	memset(f.u.hello.eph, 0x44, COVE_WXPK_LEN);
	memset(f.u.hello.nonce, 0x55, COVE_WNONCE_LEN);
	want[0] = 0x94; want[1] = 0x02; want[2] = 0x10;
	want[3] = 0xc4; want[4] = 32; memset(want + 5, 0x44, 32);
	want[37] = 0xc4; want[38] = 32; memset(want + 39, 0x55, 32);
	assert_ok(cove_frame_encode(&f, out, sizeof(out), &len));
	assert_u64(len, 71);
	assert_bytes(out, want, 71);
	assert_true(len <= COVE_HS_FRAME_MAX);
}

TEST(largest_dat_fits_frame_max_and_one_more_byte_does_not)
{
	struct cove_frame f, g;
	uint8_t *ct = calloc(1, COVE_FRAME_MAX + 1), *enc;
	size_t n, len = 0;

	assert_non_null(ct);
	make_frame(&f, COVE_F_DAT);
	f.u.dat.ct = ct;
	/* Search down for the ct length that makes the frame exactly max. */
	for (n = COVE_FRAME_MAX; n > 0; n--) {
		f.u.dat.ct_len = n;
		if (cove_frame_size(&f) != 0)
			break;
	}
	assert_u64(cove_frame_size(&f), COVE_FRAME_MAX);
	enc = encode(&f, &len);
	assert_ok(cove_frame_decode(&g, enc, len));
	assert_u64(g.u.dat.ct_len, n);
	free(enc);
	f.u.dat.ct_len = n + 1;
	assert_u64(cove_frame_size(&f), 0);
	{
		uint8_t *big = malloc(COVE_FRAME_MAX + 64);

		assert_non_null(big);
		assert_err(cove_frame_encode(&f, big, COVE_FRAME_MAX + 64, &len), COVE_ERR_INVAL);
		free(big);
	}
	free(ct);
}

TEST(encode_into_too_small_buffer_fails_with_space)
{
	for (size_t t = 0; t < N_TYPES; t++) {
		struct cove_frame f;
		size_t want, len = 0;
		uint8_t *small;

		make_frame(&f, all_types[t]);
		want = cove_frame_size(&f);
		small = malloc(want - 1);
		assert_non_null(small);
		assert_err(cove_frame_encode(&f, small, want - 1, &len), COVE_ERR_SPACE);
		free(small);
	}
}

TEST(encode_refuses_unknown_type_and_bad_room)
{
	static const uint8_t unknown[] = { 0, 22, 23, 31, 255 };
	struct cove_frame f;
	uint8_t out[512];
	size_t len = 0;

	for (size_t i = 0; i < sizeof(unknown); i++) {
		make_frame(&f, COVE_F_BYE);
		f.type = unknown[i];
		assert_u64(cove_frame_size(&f), 0);
		assert_err(cove_frame_encode(&f, out, sizeof(out), &len), COVE_ERR_INVAL);
	}
	make_frame(&f, COVE_F_BYE);
	f.room_len = 0; /* a BYE must name a room */
	assert_err(cove_frame_encode(&f, out, sizeof(out), &len), COVE_ERR_INVAL);
	make_frame(&f, COVE_F_BYE);
	f.room[1] = ' ';
	assert_err(cove_frame_encode(&f, out, sizeof(out), &len), COVE_ERR_INVAL);
}

/* ---- strict decoding ---------------------------------------------------- */

TEST(decode_rejects_wrong_element_count)
{
	for (size_t t = 0; t < N_TYPES; t++) {
		struct cove_frame f, g;
		size_t len = 0;
		uint8_t *enc;
		struct blob more, fewer;
		int r;

		make_frame(&f, all_types[t]);
		enc = encode(&f, &len);
		more = rebuild(enc, len, -1, NULL, 0, 1);
		r = cove_frame_decode(&g, more.p, more.n);
		if (r != COVE_ERR_FIELD)
			fail_msg("type %u with one element more: got %d (%s)", f.type, r,
				 cove_strerror(r));
		/* Drop the element after the type (VERSION has none: drop its
		 * type, leaving [1]). */
		fewer = rebuild(enc, len, f.type == COVE_F_VERSION ? 1 : 2, NULL, 0, 0);
		r = cove_frame_decode(&g, fewer.p, fewer.n);
		if (r != COVE_ERR_FIELD)
			fail_msg("type %u with one element fewer: got %d (%s)", f.type, r,
				 cove_strerror(r));
		free(more.p);
		free(fewer.p);
		free(enc);
	}
}

TEST(decode_rejects_other_versions)
{
	static const uint8_t versions[] = { 0, 1, 3, 127, 255 };

	for (size_t t = 0; t < N_TYPES; t++) {
		for (size_t v = 0; v < sizeof(versions); v++) {
			uint8_t repl[2] = { 0xcc, versions[v] };

			expect_decode(all_types[t], 0, repl, sizeof(repl), COVE_ERR_VERSION,
				      "(version)");
		}
	}
}

TEST(decode_rejects_unknown_types)
{
	static const uint8_t types[] = { 0, 22, 23, 31, 127, 128, 255 };
	/* Every known type's shape with another type number. */
	for (size_t t = 0; t < N_TYPES; t++) {
		for (size_t u = 0; u < sizeof(types); u++) {
			uint8_t repl[2] = { 0xcc, types[u] };

			expect_decode(all_types[t], 1, repl, sizeof(repl), COVE_ERR_TYPE,
				      "(type)");
		}
	}
}

/* A known type number on a frame with another element count is refused:
 * a PING's number on a signed frame, an RDY's on [1, type, n], and so on. */
TEST(decode_rejects_a_type_number_on_another_types_element_count)
{
	for (size_t a = 0; a < N_TYPES; a++) {
		for (size_t b = 0; b < N_TYPES; b++) {
			struct cove_frame fa, fb;
			size_t la = 0, lb = 0;
			uint8_t *ea, *eb;
			uint8_t repl[2] = { 0xcc, all_types[b] };

			make_frame(&fa, all_types[a]);
			make_frame(&fb, all_types[b]);
			ea = encode(&fa, &la);
			eb = encode(&fb, &lb);
			/* Every frame is a fixarray: its count is the first byte's low nibble. */
			if ((ea[0] & 0x0f) != (eb[0] & 0x0f))
				expect_decode(all_types[a], 1, repl, sizeof(repl), COVE_ERR_FIELD,
					      "(another type's number)");
			free(ea);
			free(eb);
		}
	}
}

TEST(decode_rejects_fixed_size_bins_one_byte_short_or_long)
{
	for (size_t i = 0; i < N_FIELDS; i++) {
		if (fields[i].kind != 'b')
			continue;
		for (int d = -1; d <= 1; d += 2) {
			struct blob b = mp_bin(fields[i].n + (size_t)d, 0);
			int r = decode_with(fields[i].type, fields[i].idx, b.p, b.n);

			if (r != COVE_ERR_FIELD)
				fail_msg("%s as bin of %zu bytes: got %d (%s), want %d",
					 fields[i].name, fields[i].n + (size_t)d, r,
					 cove_strerror(r), COVE_ERR_FIELD);
			free(b.p);
		}
		{
			struct blob b = mp_bin(fields[i].n, 0);

			expect_decode(fields[i].type, fields[i].idx, b.p, b.n, COVE_OK,
				      fields[i].name);
			free(b.p);
		}
	}
}

TEST(decode_rejects_str_where_bin_is_required)
{
	for (size_t i = 0; i < N_FIELDS; i++) {
		struct blob b;
		int r;

		if (fields[i].kind != 'b')
			continue;
		b = mp_bin(fields[i].n, 1);
		r = decode_with(fields[i].type, fields[i].idx, b.p, b.n);
		if (r != COVE_ERR_FIELD)
			fail_msg("%s as str of %zu bytes: got %d (%s)", fields[i].name,
				 fields[i].n, r, cove_strerror(r));
		free(b.p);
	}
	/* DAT ct is variable-length but still a bin. */
	expect_decode(COVE_F_DAT, 10, "\xa3" "abc", 4, COVE_ERR_FIELD, "(ct as str)");
}

TEST(decode_rejects_bin_where_str_is_required)
{
	expect_decode(COVE_F_BYE, 2, "\xc4\x07" "general", 9, COVE_ERR_FIELD, "(room as bin)");
	expect_decode(COVE_F_ERR, 8, "\xc4\x02" "no", 4, COVE_ERR_FIELD, "(text as bin)");
}

TEST(decode_rejects_non_uints_where_a_uint_is_required)
{
	static const struct { const char *bytes; size_t len; const char *what; } bad[] = {
		{ "\xff", 1, "negative fixint -1" },
		{ "\xd0\xff", 2, "int8 -1" },
		{ "\xd3\x80\0\0\0\0\0\0\0", 9, "int64 min" },
		{ "\xca\x3f\x80\0\0", 5, "float32 1.0" },
		{ "\xcb\x3f\xf0\0\0\0\0\0\0", 9, "float64 1.0" },
		{ "\xc0", 1, "nil" },
		{ "\xc2", 1, "false" },
		{ "\xc3", 1, "true" },
		{ "\xd4\x01\x01", 3, "fixext1" },
		{ "\xc7\x01\x01\x01", 4, "ext8" },
		{ "\xa1" "1", 2, "str \"1\"" },
		{ "\xc4\x01\x01", 3, "bin of one byte" },
	};

	for (size_t i = 0; i < N_FIELDS; i++) {
		if (fields[i].kind != 'u' && fields[i].kind != 'U')
			continue;
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			int r = decode_with(fields[i].type, fields[i].idx, bad[k].bytes, bad[k].len);

			if (r != COVE_ERR_FIELD)
				fail_msg("%s as %s: got %d (%s), want %d", fields[i].name,
					 bad[k].what, r, cove_strerror(r), COVE_ERR_FIELD);
		}
	}
	/* The version and type elements too. */
	for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		for (int idx = 0; idx <= 1; idx++) {
			int r = decode_with(COVE_F_INI, idx, bad[k].bytes, bad[k].len);

			if (r != COVE_ERR_FIELD)
				fail_msg("element %d as %s: got %d (%s), want %d", idx,
					 bad[k].what, r, cove_strerror(r), COVE_ERR_FIELD);
		}
	}
}

TEST(decode_rejects_u32_fields_above_uint32_max)
{
	static const uint8_t over[] = { 0xcf, 0, 0, 0, 1, 0, 0, 0, 0 };      /* 2^32 */
	static const uint8_t top[] = { 0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t u64max[] = { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	for (size_t i = 0; i < N_FIELDS; i++) {
		if (fields[i].kind == 'u') {
			expect_decode(fields[i].type, fields[i].idx, over, sizeof(over),
				      COVE_ERR_FIELD, fields[i].name);
			expect_decode(fields[i].type, fields[i].idx, top, sizeof(top), COVE_OK,
				      fields[i].name);
		} else if (fields[i].kind == 'U') {
			expect_decode(fields[i].type, fields[i].idx, u64max, sizeof(u64max),
				      COVE_OK, fields[i].name);
		}
	}
}

/* PRS's here is a flag: 0 and 1 only, however encoded. */
TEST(decode_rejects_prs_here_other_than_0_or_1)
{
	struct cove_frame f;
	uint8_t out[512];
	size_t len = 0;

	expect_decode(COVE_F_PRS, 7, "\x00", 1, COVE_OK, "(here 0)");
	expect_decode(COVE_F_PRS, 7, "\xce\x00\x00\x00\x01", 5, COVE_OK, "(here 1 as u32)");
	expect_decode(COVE_F_PRS, 7, "\x02", 1, COVE_ERR_FIELD, "(here 2)");
	expect_decode(COVE_F_PRS, 7, "\xce\xff\xff\xff\xff", 5, COVE_ERR_FIELD, "(here 2^32-1)");
	make_frame(&f, COVE_F_PRS);
	f.u.prs.here = 2;
	assert_err(cove_frame_encode(&f, out, sizeof(out), &len), COVE_ERR_INVAL);
}

/* A FWD carries one frame of 1 to COVE_FWD_INNER_MAX bytes, and a FWD of
 * the largest fits COVE_FRAME_MAX. */
TEST(fwd_carries_1_to_fwd_inner_max_bytes)
{
	static uint8_t inner[COVE_FWD_INNER_MAX + 1];
	struct cove_frame f, g;
	uint8_t *buf;
	size_t len = 0;

	expect_decode(COVE_F_FWD, 4, "\xc4\x00", 2, COVE_ERR_FIELD, "(empty frame)");
	expect_decode(COVE_F_FWD, 4, "\xc4\x01\x00", 3, COVE_OK, "(one-byte frame)");
	expect_decode(COVE_F_FWD, 4, "\xa1x", 2, COVE_ERR_FIELD, "(str frame)");
	make_frame(&f, COVE_F_FWD);
	f.u.fwd.frame = inner;
	f.u.fwd.frame_len = COVE_FWD_INNER_MAX;
	buf = encode(&f, &len);
	assert_true(len <= COVE_FRAME_MAX);
	assert_ok(cove_frame_decode(&g, buf, len));
	assert_u64(g.u.fwd.frame_len, COVE_FWD_INNER_MAX);
	free(buf);
	f.u.fwd.frame_len = COVE_FWD_INNER_MAX + 1;
	assert_u64(cove_frame_size(&f), 0);
	f.u.fwd.frame_len = 0;
	assert_u64(cove_frame_size(&f), 0);
}

TEST(decode_rejects_empty_room_except_in_err_and_wlc)
{
	for (size_t t = 0; t < N_SIGNED; t++) {
		uint8_t type = signed_types[t];
		int want = type == COVE_F_ERR || type == COVE_F_WLC ? COVE_OK : COVE_ERR_FIELD;

		expect_decode(type, 2, "\xa0", 1, want, "(empty room)");
	}
}

TEST(decode_rejects_rooms_with_spaces_or_control_characters)
{
	static const struct { const char *bytes; size_t len; } bad[] = {
		{ "\xa3" "a b", 4 },   { "\xa3" "a\tb", 4 },  { "\xa3" "ab\n", 4 },
		{ "\xa1" "\x01", 2 },  { "\xa2" "a\x7f", 3 }, { "\xa2" "a\0", 3 },
		{ "\xa2" "\xc3\xa9", 3 }, { "\xa1" " ", 2 },
	};

	for (size_t t = 0; t < N_SIGNED; t++)
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++)
			expect_decode(signed_types[t], 2, bad[k].bytes, bad[k].len, COVE_ERR_FIELD,
				      "(room with a bad byte)");
}

TEST(decode_rejects_room_of_65_bytes)
{
	struct blob ok = mp_bin(COVE_ROOM_MAX, 1), over = mp_bin(COVE_ROOM_MAX + 1, 1);

	for (size_t t = 0; t < N_SIGNED; t++) {
		expect_decode(signed_types[t], 2, ok.p, ok.n, COVE_OK, "(64-byte room)");
		expect_decode(signed_types[t], 2, over.p, over.n, COVE_ERR_FIELD, "(65-byte room)");
	}
	free(ok.p);
	free(over.p);
}

TEST(decode_rejects_dat_with_empty_ct)
{
	struct cove_frame f;
	uint8_t out[512];
	size_t len = 0;

	expect_decode(COVE_F_DAT, 10, "\xc4\x00", 2, COVE_ERR_FIELD, "(empty ct)");
	expect_decode(COVE_F_DAT, 10, "\xc4\x01\x00", 3, COVE_OK, "(one-byte ct)");
	make_frame(&f, COVE_F_DAT);
	f.u.dat.ct_len = 0;
	assert_err(cove_frame_encode(&f, out, sizeof(out), &len), COVE_ERR_INVAL);
}

TEST(decode_rejects_err_text_over_256_bytes)
{
	struct blob ok = mp_bin(COVE_ERR_TEXT_MAX, 1), over = mp_bin(COVE_ERR_TEXT_MAX + 1, 1);
	static char text[COVE_ERR_TEXT_MAX + 1];
	struct cove_frame f;
	uint8_t out[1024];
	size_t len = 0;

	expect_decode(COVE_F_ERR, 8, ok.p, ok.n, COVE_OK, "(256-byte text)");
	expect_decode(COVE_F_ERR, 8, over.p, over.n, COVE_ERR_FIELD, "(257-byte text)");
	free(ok.p);
	free(over.p);
	memset(text, 'x', sizeof(text));
	make_frame(&f, COVE_F_ERR);
	f.u.err.text = text;
	f.u.err.text_len = sizeof(text);
	assert_err(cove_frame_encode(&f, out, sizeof(out), &len), COVE_ERR_INVAL);
	assert_err(cove_frame_sigbytes(&f, out, sizeof(out), &len), COVE_ERR_INVAL);
}

TEST(decode_rejects_trailing_bytes)
{
	for (size_t t = 0; t < N_TYPES; t++) {
		struct cove_frame f, g;
		size_t len = 0;
		uint8_t *enc, *longer;

		make_frame(&f, all_types[t]);
		enc = encode(&f, &len);
		longer = malloc(len + 1);
		assert_non_null(longer);
		memcpy(longer, enc, len);
		longer[len] = 0x00;
		assert_err(cove_frame_decode(&g, longer, len + 1), COVE_ERR_TRAILING);
		free(longer);
		free(enc);
	}
}

TEST(decode_rejects_every_prefix_of_a_valid_frame)
{
	for (size_t t = 0; t < N_TYPES; t++) {
		struct cove_frame f, g;
		size_t len = 0;
		uint8_t *enc;

		make_frame(&f, all_types[t]);
		enc = encode(&f, &len);
		for (size_t n = 0; n < len; n++) {
			/* A copy of exactly n bytes, so reading past n is caught. */
			uint8_t *pre = malloc(n ? n : 1);
			int r;

			assert_non_null(pre);
			memcpy(pre, enc, n);
			r = cove_frame_decode(&g, pre, n);
			if (r == COVE_OK)
				fail_msg("type %u: prefix of %zu of %zu bytes decoded", f.type, n, len);
			if (r != (n == 0 ? COVE_ERR_FRAME_SIZE : COVE_ERR_MSGPACK))
				fail_msg("type %u: prefix of %zu bytes: got %d (%s)", f.type, n, r,
					 cove_strerror(r));
			free(pre);
		}
		free(enc);
	}
}

TEST(decode_rejects_length_zero_and_above_frame_max)
{
	struct cove_frame f;
	uint8_t *big = calloc(1, COVE_FRAME_MAX + 1);

	assert_non_null(big);
	assert_err(cove_frame_decode(&f, big, 0), COVE_ERR_FRAME_SIZE);
	assert_err(cove_frame_decode(&f, big, COVE_FRAME_MAX + 1), COVE_ERR_FRAME_SIZE);
	free(big);
}

TEST(decode_rejects_roots_that_are_not_frame_arrays)
{
	static const struct { const char *bytes; size_t len; int want; } bad[] = {
		{ "\x01", 1, COVE_ERR_FIELD },         /* a number */
		{ "\x90", 1, COVE_ERR_FIELD },         /* [] */
		{ "\x91\x01", 2, COVE_ERR_FIELD },     /* [1] */
		{ "\x81\x01\x03", 3, COVE_ERR_FIELD }, /* {1: 3} */
		{ "\xa2" "hi", 3, COVE_ERR_FIELD },    /* "hi" */
		{ "\x92\x01\x91\x14", 4, COVE_ERR_DEPTH }, /* [1, [20]]: frames are flat */
	};
	struct cove_frame f;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cove_frame_decode(&f, (const uint8_t *)bad[i].bytes, bad[i].len);

		if (r != bad[i].want)
			fail_msg("case %zu: got %d (%s), want %d (%s)", i, r, cove_strerror(r),
				 bad[i].want, cove_strerror(bad[i].want));
	}
	/* A nested array in place of the DAT's ciphertext. */
	expect_decode(COVE_F_DAT, 10, "\x91\x01", 2, COVE_ERR_DEPTH, "(ct as an array)");
}

/* ---- signed bytes and the DAT AD ---------------------------------------- */

TEST(signed_bytes_start_with_domain_and_header)
{
	uint8_t sb[1024], want[128];
	size_t n = 0, w = 0;

	for (size_t t = 0; t < N_SIGNED; t++) {
		struct cove_frame f;

		make_frame(&f, signed_types[t]);
		assert_ok(cove_frame_sigbytes(&f, sb, sizeof(sb), &n));
		w = 0;
		memcpy(want, "COVE-FRAME-V1\0", 14);
		w = 14;
		want[w++] = COVE_PROTO_VERSION;
		want[w++] = f.type;
		want[w++] = f.room_len;
		memcpy(want + w, f.room, f.room_len);
		w += f.room_len;
		memcpy(want + w, f.from, COVE_ID_LEN);
		w += COVE_ID_LEN;
		for (int i = 7; i >= 0; i--)
			want[w++] = (uint8_t)(f.seq >> (8 * i));
		for (int i = 7; i >= 0; i--)
			want[w++] = (uint8_t)(f.ts >> (8 * i));
		assert_true(n > w);
		assert_bytes(sb, want, w);
	}
}

/* The header of the signed-bytes known answers below: room "x", from
 * 0xf0..., seq 0x1112131415161718, ts 0x2122232425262728, and a signature
 * that is not signed over. */
static void sig_header(struct cove_frame *f, uint8_t type)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	assert_ok(cove_frame_set_room(f, "x", 1));
	memset(f->from, 0xf0, sizeof(f->from));
	f->seq = 0x1112131415161718ULL;
	f->ts = 0x2122232425262728ULL;
	memset(f->sig, 0x99, sizeof(f->sig));
}

/* Its signed bytes, written out by hand. */
static uint8_t *want_sig_header(uint8_t *p, uint8_t type)
{
	memcpy(p, "COVE-FRAME-V1", 14); p += 14;
	*p++ = 2; *p++ = type; *p++ = 1; *p++ = 'x';
	memset(p, 0xf0, 32); p += 32;
	memcpy(p, "\x11\x12\x13\x14\x15\x16\x17\x18\x21\x22\x23\x24\x25\x26\x27\x28", 16);
	return p + 16;
}

static void assert_signed_bytes(const struct cove_frame *f, const uint8_t *want, size_t n)
{
	uint8_t sb[512];
	size_t len = 0;

	assert_ok(cove_frame_sigbytes(f, sb, sizeof(sb), &len));
	assert_u64(len, n);
	assert_bytes(sb, want, len);
}

/* Known answer for a whole DAT: the header, u32be epoch, sid, u64be n,
 * kid, then the ciphertext with its u32be length. */
TEST(dat_signed_bytes_are_the_documented_layout)
{
	static const uint8_t ct[2] = { 0xde, 0xad };
	uint8_t want[256], *p = want;
	struct cove_frame f;

	sig_header(&f, COVE_F_DAT);
	f.u.dat.epoch = 0x31323334;
	memset(f.u.dat.sid, 0x5a, sizeof(f.u.dat.sid));
	f.u.dat.n = 0x4142434445464748ULL;
	memset(f.u.dat.kid, 0x6b, sizeof(f.u.dat.kid));
	f.u.dat.ct = ct;
	f.u.dat.ct_len = 2;

	p = want_sig_header(p, 3);
	memcpy(p, "\x31\x32\x33\x34", 4); p += 4;                  /* epoch */
	memset(p, 0x5a, 16); p += 16;                              /* sid */
	memcpy(p, "\x41\x42\x43\x44\x45\x46\x47\x48", 8); p += 8;  /* n */
	memset(p, 0x6b, 32); p += 32;                              /* kid */
	memcpy(p, "\0\0\0\x02\xde\xad", 6); p += 6;                /* len(ct), ct */
	assert_signed_bytes(&f, want, (size_t)(p - want));
}

/* Known answer for the DAT's AES-GCM associated data: the signed bytes up
 * to and including kid. */
TEST(dat_ad_is_the_documented_layout_up_to_and_including_kid)
{
	static const uint8_t ct[2] = { 0xde, 0xad };
	uint8_t ad[COVE_DAT_AD_MAX], want[256], *p = want;
	struct cove_frame f;
	size_t n = 0;

	sig_header(&f, COVE_F_DAT);
	f.u.dat.epoch = 0x31323334;
	memset(f.u.dat.sid, 0x5a, sizeof(f.u.dat.sid));
	f.u.dat.n = 0x4142434445464748ULL;
	memset(f.u.dat.kid, 0x6b, sizeof(f.u.dat.kid));
	f.u.dat.ct = ct;
	f.u.dat.ct_len = 2;

	p = want_sig_header(p, 3);
	memcpy(p, "\x31\x32\x33\x34", 4); p += 4;                  /* epoch */
	memset(p, 0x5a, 16); p += 16;                              /* sid */
	memcpy(p, "\x41\x42\x43\x44\x45\x46\x47\x48", 8); p += 8;  /* n */
	memset(p, 0x6b, 32); p += 32;                              /* kid */
	assert_ok(cove_frame_dat_ad(&f, ad, sizeof(ad), &n));
	assert_u64(n, (size_t)(p - want));
	assert_bytes(ad, want, n);
}

/* KEY: the header, to, xpk, u32be epoch, sealed, kid, view. */
TEST(key_signed_bytes_are_the_documented_layout)
{
	uint8_t want[512], *p = want;
	struct cove_frame f;

	sig_header(&f, COVE_F_KEY);
	memset(f.u.key.to, 0x44, COVE_ID_LEN);
	memset(f.u.key.xpk, 0x55, COVE_WXPK_LEN);
	f.u.key.epoch = 0x31323334;
	memset(f.u.key.sealed, 0x66, COVE_WSEALED_LEN);
	memset(f.u.key.kid, 0x6b, COVE_WKID_LEN);
	memset(f.u.key.view, 0x77, COVE_WVIEW_LEN);

	p = want_sig_header(p, 2);
	memset(p, 0x44, 32); p += 32;                              /* to */
	memset(p, 0x55, 32); p += 32;                              /* xpk */
	memcpy(p, "\x31\x32\x33\x34", 4); p += 4;                  /* epoch */
	memset(p, 0x66, 80); p += 80;                              /* sealed */
	memset(p, 0x6b, 32); p += 32;                              /* kid */
	memset(p, 0x77, 16); p += 16;                              /* view */
	assert_signed_bytes(&f, want, (size_t)(p - want));
}

/* RDY: the header, u32be epoch. */
TEST(rdy_signed_bytes_are_the_documented_layout)
{
	uint8_t want[256], *p = want;
	struct cove_frame f;

	sig_header(&f, COVE_F_RDY);
	f.u.rdy.epoch = 0x31323334;

	p = want_sig_header(p, 8);
	memcpy(p, "\x31\x32\x33\x34", 4); p += 4;                  /* epoch */
	assert_signed_bytes(&f, want, (size_t)(p - want));
}

/* RKY: as RDY, with its own type byte. */
TEST(rky_signed_bytes_are_the_documented_layout)
{
	uint8_t want[256], *p = want;
	struct cove_frame f;

	sig_header(&f, COVE_F_RKY);
	f.u.rdy.epoch = 0x31323334;

	p = want_sig_header(p, 9);
	memcpy(p, "\x31\x32\x33\x34", 4); p += 4;                  /* epoch */
	assert_signed_bytes(&f, want, (size_t)(p - want));
}

/* REK: the header, to, u32be epoch. */
TEST(rek_signed_bytes_are_the_documented_layout)
{
	uint8_t want[256], *p = want;
	struct cove_frame f;

	sig_header(&f, COVE_F_REK);
	memset(f.u.rek.to, 0x44, COVE_ID_LEN);
	f.u.rek.epoch = 0x31323334;

	p = want_sig_header(p, 10);
	memset(p, 0x44, 32); p += 32;                              /* to */
	memcpy(p, "\x31\x32\x33\x34", 4); p += 4;                  /* epoch */
	assert_signed_bytes(&f, want, (size_t)(p - want));
}

TEST(syn_upd_and_prs_signed_bytes_are_the_documented_layout)
{
	uint8_t want[256], *p;
	struct cove_frame f;

	sig_header(&f, COVE_F_SYN);
	f.u.syn.after = 0x0102030405060708ULL;
	f.u.syn.after_dat = 0x1112131415161718ULL;
	p = want_sig_header(want, 14);
	memcpy(p, "\x01\x02\x03\x04\x05\x06\x07\x08\x11\x12\x13\x14\x15\x16\x17\x18", 16);
	p += 16;
	assert_signed_bytes(&f, want, (size_t)(p - want));

	sig_header(&f, COVE_F_UPD);
	f.u.upd.next = 0x0102030405060708ULL;
	f.u.upd.missed = 0x1112131415161718ULL;
	p = want_sig_header(want, 15);
	memcpy(p, "\x01\x02\x03\x04\x05\x06\x07\x08\x11\x12\x13\x14\x15\x16\x17\x18", 16);
	p += 16;
	assert_signed_bytes(&f, want, (size_t)(p - want));

	sig_header(&f, COVE_F_PRS);
	memset(f.u.prs.who, 0x66, COVE_ID_LEN);
	f.u.prs.here = 1;
	f.u.prs.seen = 0x2122232425262728ULL;
	p = want_sig_header(want, 21);
	memset(p, 0x66, 32); p += 32;
	memcpy(p, "\0\0\0\x01\x21\x22\x23\x24\x25\x26\x27\x28", 12); p += 12;
	assert_signed_bytes(&f, want, (size_t)(p - want));
}

/* Flips one bit of every byte of every signed field in turn; the signed
 * bytes must change each time. */
struct region {
	void *p;
	size_t n;
	const char *name;
};

static size_t signed_regions(struct cove_frame *f, uint8_t *ct, struct region *r)
{
	size_t k = 0;

	r[k++] = (struct region){ f->room, f->room_len, "room" };
	r[k++] = (struct region){ f->from, COVE_ID_LEN, "from" };
	r[k++] = (struct region){ &f->seq, sizeof(f->seq), "seq" };
	r[k++] = (struct region){ &f->ts, sizeof(f->ts), "ts" };
	switch (f->type) {
	case COVE_F_INI:
		r[k++] = (struct region){ f->u.ini.xpk, COVE_WXPK_LEN, "xpk" };
		break;
	case COVE_F_KEY:
		r[k++] = (struct region){ f->u.key.to, COVE_ID_LEN, "to" };
		r[k++] = (struct region){ f->u.key.xpk, COVE_WXPK_LEN, "xpk" };
		r[k++] = (struct region){ &f->u.key.epoch, 4, "epoch" };
		r[k++] = (struct region){ f->u.key.sealed, COVE_WSEALED_LEN, "sealed" };
		r[k++] = (struct region){ f->u.key.kid, COVE_WKID_LEN, "kid" };
		r[k++] = (struct region){ f->u.key.view, COVE_WVIEW_LEN, "view" };
		break;
	case COVE_F_DAT:
		r[k++] = (struct region){ &f->u.dat.epoch, 4, "epoch" };
		r[k++] = (struct region){ f->u.dat.sid, COVE_WSID_LEN, "sid" };
		r[k++] = (struct region){ &f->u.dat.n, 8, "n" };
		r[k++] = (struct region){ f->u.dat.kid, COVE_WKID_LEN, "kid" };
		r[k++] = (struct region){ ct, f->u.dat.ct_len, "ct" };
		break;
	case COVE_F_ERR:
		r[k++] = (struct region){ &f->u.err.code, 4, "code" };
		r[k++] = (struct region){ &f->u.err.ref, 8, "ref" };
		r[k++] = (struct region){ ct, f->u.err.text_len, "text" };
		break;
	case COVE_F_ASK:
		r[k++] = (struct region){ f->u.ask.to, COVE_ID_LEN, "to" };
		r[k++] = (struct region){ f->u.ask.joiner, COVE_ID_LEN, "joiner" };
		r[k++] = (struct region){ f->u.ask.xpk, COVE_WXPK_LEN, "xpk" };
		break;
	case COVE_F_BYE:
		r[k++] = (struct region){ f->u.bye.who, COVE_ID_LEN, "who" };
		break;
	case COVE_F_WLC:
		r[k++] = (struct region){ f->u.wlc.you, COVE_ID_LEN, "you" };
		r[k++] = (struct region){ &f->u.wlc.rate, 4, "rate" };
		r[k++] = (struct region){ &f->u.wlc.burst, 4, "burst" };
		break;
	case COVE_F_RDY:
	case COVE_F_RKY:
		r[k++] = (struct region){ &f->u.rdy.epoch, 4, "epoch" };
		break;
	case COVE_F_REK:
		r[k++] = (struct region){ f->u.rek.to, COVE_ID_LEN, "to" };
		r[k++] = (struct region){ &f->u.rek.epoch, 4, "epoch" };
		break;
	case COVE_F_SYN:
		r[k++] = (struct region){ &f->u.syn.after, 8, "after" };
		r[k++] = (struct region){ &f->u.syn.after_dat, 8, "after_dat" };
		break;
	case COVE_F_UPD:
		r[k++] = (struct region){ &f->u.upd.next, 8, "next" };
		r[k++] = (struct region){ &f->u.upd.missed, 8, "missed" };
		break;
	case COVE_F_PRS:
		r[k++] = (struct region){ f->u.prs.who, COVE_ID_LEN, "who" };
		r[k++] = (struct region){ &f->u.prs.here, 4, "here" };
		r[k++] = (struct region){ &f->u.prs.seen, 8, "seen" };
		break;
	}
	return k;
}

TEST(signed_bytes_change_when_any_signed_field_changes)
{
	static uint8_t a[1024], b[1024];
	uint8_t ct[300];

	for (size_t t = 0; t < N_SIGNED; t++) {
		struct cove_frame f;
		struct region reg[12];
		size_t na = 0, nb = 0, nr;

		make_frame(&f, signed_types[t]);
		/* Variable-length fields point at a copy this test may alter. */
		if (f.type == COVE_F_DAT) {
			memcpy(ct, f.u.dat.ct, f.u.dat.ct_len);
			f.u.dat.ct = ct;
		} else if (f.type == COVE_F_ERR) {
			memcpy(ct, f.u.err.text, f.u.err.text_len);
			f.u.err.text = (const char *)ct;
		}
		assert_ok(cove_frame_sigbytes(&f, a, sizeof(a), &na));
		nr = signed_regions(&f, ct, reg);
		for (size_t i = 0; i < nr; i++) {
			for (size_t j = 0; j < reg[i].n; j++) {
				uint8_t *byte = (uint8_t *)reg[i].p + j;
				uint8_t flip = reg[i].p == f.room ? 0x02 : 0x01; /* stay printable */

				*byte ^= flip;
				assert_ok(cove_frame_sigbytes(&f, b, sizeof(b), &nb));
				if (na == nb && memcmp(a, b, na) == 0)
					fail_msg("type %u: changing byte %zu of %s leaves the signed "
						 "bytes unchanged", f.type, j, reg[i].name);
				*byte ^= flip;
			}
		}
		/* Shorter variable-length fields change them too. */
		f.room_len--;
		assert_ok(cove_frame_sigbytes(&f, b, sizeof(b), &nb));
		if (na == nb && memcmp(a, b, na) == 0)
			fail_msg("type %u: a shorter room leaves the signed bytes unchanged", f.type);
		f.room_len++;
		if (f.type == COVE_F_DAT || f.type == COVE_F_ERR) {
			size_t *len = f.type == COVE_F_DAT ? &f.u.dat.ct_len : &f.u.err.text_len;

			(*len)--;
			assert_ok(cove_frame_sigbytes(&f, b, sizeof(b), &nb));
			if (na == nb && memcmp(a, b, na) == 0)
				fail_msg("type %u: a shorter body leaves the signed bytes unchanged",
					 f.type);
			(*len)++;
		}
		/* The signature itself is not signed over. */
		f.sig[0] ^= 1;
		assert_ok(cove_frame_sigbytes(&f, b, sizeof(b), &nb));
		assert_u64(nb, na);
		assert_bytes(b, a, na);
	}
}

/* RDY and RKY carry the same fields: only the signed type byte tells "I
 * hold the key" from "please rekey". */
TEST(rdy_and_rky_with_the_same_fields_sign_different_bytes)
{
	struct cove_frame f, g;
	uint8_t a[512], b[512];
	size_t na = 0, nb = 0;

	make_frame(&f, COVE_F_RDY);
	g = f;
	g.type = COVE_F_RKY;
	assert_ok(cove_frame_sigbytes(&f, a, sizeof(a), &na));
	assert_ok(cove_frame_sigbytes(&g, b, sizeof(b), &nb));
	assert_u64(nb, na);
	assert_bytes_differ(a, b, na);
}

/* Moving bytes between the room and the fields after it must not give
 * the same signed bytes: the room carries its length. */
TEST(signed_bytes_are_unambiguous_across_room_boundary)
{
	struct cove_frame f, g;
	uint8_t a[512], b[512];
	size_t na = 0, nb = 0;

	make_frame(&f, COVE_F_BYE);
	assert_ok(cove_frame_set_room(&f, "ab", 2));
	g = f;
	assert_ok(cove_frame_set_room(&g, "a", 1));
	assert_ok(cove_frame_sigbytes(&f, a, sizeof(a), &na));
	assert_ok(cove_frame_sigbytes(&g, b, sizeof(b), &nb));
	assert_true(na != nb || memcmp(a, b, na) != 0);
}

TEST(signed_bytes_are_refused_for_handshake_frames)
{
	static const uint8_t hs[] = { COVE_F_HELLO, COVE_F_CHALLENGE, COVE_F_SRV_AUTH,
				      COVE_F_CLI_AUTH, COVE_F_VERSION };
	uint8_t out[512];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(hs); i++) {
		struct cove_frame f;

		make_frame(&f, hs[i]);
		assert_err(cove_frame_sigbytes(&f, out, sizeof(out), &n), COVE_ERR_INVAL);
	}
}

/* PING and PONG are authenticated by the link alone: not signed types,
 * no signed bytes, no signature on the wire. */
TEST(ping_and_pong_are_not_signed_types)
{
	static const uint8_t link[] = { COVE_F_PING, COVE_F_PONG };
	uint8_t out[512];
	size_t n = 0;

	for (size_t i = 0; i < sizeof(link); i++) {
		struct cove_frame f;

		make_frame(&f, link[i]);
		if (cove_frame_is_signed(link[i]))
			fail_msg("cove_frame_is_signed(%u) = %d, want 0", link[i],
				 cove_frame_is_signed(link[i]));
		assert_err(cove_frame_sigbytes(&f, out, sizeof(out), &n), COVE_ERR_INVAL);
		/* version, type, n: no room to put a signature in. */
		assert_u64(cove_frame_size(&f), 1 + 1 + 1 + 9);
	}
}

TEST(signed_bytes_into_too_small_buffer_fail_with_space)
{
	struct cove_frame f;
	uint8_t out[1024];
	size_t n = 0, m = 0;

	make_frame(&f, COVE_F_DAT);
	assert_ok(cove_frame_sigbytes(&f, out, sizeof(out), &n));
	assert_err(cove_frame_sigbytes(&f, out, n - 1, &m), COVE_ERR_SPACE);
}

TEST(dat_ad_is_a_prefix_of_the_signed_bytes)
{
	uint8_t sb[1024], ad[COVE_DAT_AD_MAX];
	struct cove_frame f;
	size_t ns = 0, na = 0;
	char room[COVE_ROOM_MAX];

	make_frame(&f, COVE_F_DAT);
	assert_ok(cove_frame_sigbytes(&f, sb, sizeof(sb), &ns));
	assert_ok(cove_frame_dat_ad(&f, ad, sizeof(ad), &na));
	assert_bytes(ad, sb, na);
	/* Everything but the ciphertext and its length. */
	assert_u64(na, ns - 4 - f.u.dat.ct_len);
	/* The largest room still fits COVE_DAT_AD_MAX. */
	memset(room, 'r', sizeof(room));
	assert_ok(cove_frame_set_room(&f, room, sizeof(room)));
	assert_ok(cove_frame_dat_ad(&f, ad, sizeof(ad), &na));
	assert_u64(na, COVE_DAT_AD_MAX);
	/* Other types have no AD. */
	make_frame(&f, COVE_F_KEY);
	assert_err(cove_frame_dat_ad(&f, ad, sizeof(ad), &na), COVE_ERR_INVAL);
}

/* ---- small helpers ------------------------------------------------------ */

TEST(room_names_are_visible_ascii_of_1_to_64_bytes)
{
	char room[COVE_ROOM_MAX + 1];
	struct cove_frame f;

	memset(room, 'a', sizeof(room));
	assert_true(cove_room_valid("a", 1));
	assert_true(cove_room_valid("!~", 2));
	assert_true(cove_room_valid(room, COVE_ROOM_MAX));
	assert_false(cove_room_valid(room, COVE_ROOM_MAX + 1));
	assert_false(cove_room_valid("", 0));
	assert_false(cove_room_valid("a b", 3));
	assert_false(cove_room_valid("a\x7f", 2));
	assert_false(cove_room_valid("\xc3\xa9", 2));
	memset(&f, 0, sizeof(f));
	assert_err(cove_frame_set_room(&f, room, COVE_ROOM_MAX + 1), COVE_ERR_INVAL);
	assert_err(cove_frame_set_room(&f, "a b", 3), COVE_ERR_INVAL);
	assert_ok(cove_frame_set_room(&f, room, COVE_ROOM_MAX));
	assert_u64(f.room_len, COVE_ROOM_MAX);
	assert_u64(f.room[COVE_ROOM_MAX], 0);
}

TEST(only_types_1_to_10_14_15_and_21_are_signed)
{
	for (unsigned t = 0; t < 256; t++)
		if (cove_frame_is_signed((uint8_t)t) !=
		    ((t >= 1 && t <= 10) || t == 14 || t == 15 || t == 21))
			fail_msg("cove_frame_is_signed(%u) = %d", t, cove_frame_is_signed((uint8_t)t));
}

/* The names are part of the JSON front-end's output and the relay's
 * stats line; the numbers are on the wire. Both are pinned here. */
TEST(error_codes_have_stable_names)
{
	static const struct { uint32_t code; const char *name; } v[] = {
		{ 1, "bad_frame" },       { 2, "bad_signature" },  { 3, "not_whitelisted" },
		{ 4, "wrong_sender" },    { 5, "not_member" },     { 6, "already_joined" },
		{ 7, "wrong_direction" }, { 8, "replay" },         { 9, "limit" },
		{ 10, "no_key" },         { 11, "shutdown" },      { 12, "revoked" },
		{ 13, "replaced" },       { 14, "rate_limited" },  { 15, "stale_epoch" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strcmp(cove_errcode_name(v[i].code), v[i].name) != 0)
			fail_msg("cove_errcode_name(%u) = \"%s\", want \"%s\"", v[i].code,
				 cove_errcode_name(v[i].code), v[i].name);
}

TEST(new_error_codes_have_their_wire_numbers)
{
	assert_u64(COVE_EC_REPLACED, 13);
	assert_u64(COVE_EC_RATE, 14);
	assert_u64(COVE_EC_STALE_EPOCH, 15);
}

TEST(error_codes_outside_1_to_15_are_unknown)
{
	static const uint32_t v[] = { 0, 16, 17, 255, 256, UINT32_MAX };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strcmp(cove_errcode_name(v[i]), "unknown") != 0)
			fail_msg("cove_errcode_name(%u) = \"%s\", want \"unknown\"", v[i],
				 cove_errcode_name(v[i]));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_frame_type_round_trips),
		cmocka_unit_test(ping_and_pong_round_trip_any_n),
		cmocka_unit_test(new_fields_round_trip_at_their_extremes),
		cmocka_unit_test(room_lengths_one_to_64_round_trip),
		cmocka_unit_test(err_and_wlc_round_trip_without_a_room),
		cmocka_unit_test(decoded_err_without_room_or_text_encodes_and_signs_like_the_original),
		cmocka_unit_test(frame_size_equals_encoded_length),
		cmocka_unit_test(dat_size_does_not_depend_on_seq_ts_epoch_or_n),
		cmocka_unit_test(epoch_and_ping_frame_sizes_do_not_depend_on_their_numbers),
		cmocka_unit_test(err_size_does_not_depend_on_code_or_ref),
		cmocka_unit_test(dat_encodes_to_known_bytes),
		cmocka_unit_test(key_encodes_to_known_bytes),
		cmocka_unit_test(rdy_encodes_to_known_bytes),
		cmocka_unit_test(rky_encodes_to_known_bytes),
		cmocka_unit_test(rek_encodes_to_known_bytes),
		cmocka_unit_test(syn_encodes_to_known_bytes),
		cmocka_unit_test(upd_encodes_to_known_bytes),
		cmocka_unit_test(prs_encodes_to_known_bytes),
		cmocka_unit_test(fwd_encodes_to_known_bytes),
		cmocka_unit_test(ping_encodes_to_known_bytes),
		cmocka_unit_test(pong_encodes_to_known_bytes),
		cmocka_unit_test(handshake_frames_encode_to_known_bytes),
		cmocka_unit_test(largest_dat_fits_frame_max_and_one_more_byte_does_not),
		cmocka_unit_test(encode_into_too_small_buffer_fails_with_space),
		cmocka_unit_test(encode_refuses_unknown_type_and_bad_room),
		cmocka_unit_test(decode_rejects_wrong_element_count),
		cmocka_unit_test(decode_rejects_other_versions),
		cmocka_unit_test(decode_rejects_unknown_types),
		cmocka_unit_test(decode_rejects_a_type_number_on_another_types_element_count),
		cmocka_unit_test(decode_rejects_fixed_size_bins_one_byte_short_or_long),
		cmocka_unit_test(decode_rejects_str_where_bin_is_required),
		cmocka_unit_test(decode_rejects_bin_where_str_is_required),
		cmocka_unit_test(decode_rejects_non_uints_where_a_uint_is_required),
		cmocka_unit_test(decode_rejects_u32_fields_above_uint32_max),
		cmocka_unit_test(decode_rejects_prs_here_other_than_0_or_1),
		cmocka_unit_test(fwd_carries_1_to_fwd_inner_max_bytes),
		cmocka_unit_test(decode_rejects_empty_room_except_in_err_and_wlc),
		cmocka_unit_test(decode_rejects_rooms_with_spaces_or_control_characters),
		cmocka_unit_test(decode_rejects_room_of_65_bytes),
		cmocka_unit_test(decode_rejects_dat_with_empty_ct),
		cmocka_unit_test(decode_rejects_err_text_over_256_bytes),
		cmocka_unit_test(decode_rejects_trailing_bytes),
		cmocka_unit_test(decode_rejects_every_prefix_of_a_valid_frame),
		cmocka_unit_test(decode_rejects_length_zero_and_above_frame_max),
		cmocka_unit_test(decode_rejects_roots_that_are_not_frame_arrays),
		cmocka_unit_test(signed_bytes_start_with_domain_and_header),
		cmocka_unit_test(dat_signed_bytes_are_the_documented_layout),
		cmocka_unit_test(dat_ad_is_the_documented_layout_up_to_and_including_kid),
		cmocka_unit_test(key_signed_bytes_are_the_documented_layout),
		cmocka_unit_test(rdy_signed_bytes_are_the_documented_layout),
		cmocka_unit_test(rky_signed_bytes_are_the_documented_layout),
		cmocka_unit_test(rek_signed_bytes_are_the_documented_layout),
		cmocka_unit_test(syn_upd_and_prs_signed_bytes_are_the_documented_layout),
		cmocka_unit_test(signed_bytes_change_when_any_signed_field_changes),
		cmocka_unit_test(rdy_and_rky_with_the_same_fields_sign_different_bytes),
		cmocka_unit_test(signed_bytes_are_unambiguous_across_room_boundary),
		cmocka_unit_test(signed_bytes_are_refused_for_handshake_frames),
		cmocka_unit_test(ping_and_pong_are_not_signed_types),
		cmocka_unit_test(signed_bytes_into_too_small_buffer_fail_with_space),
		cmocka_unit_test(dat_ad_is_a_prefix_of_the_signed_bytes),
		cmocka_unit_test(room_names_are_visible_ascii_of_1_to_64_bytes),
		cmocka_unit_test(only_types_1_to_10_14_15_and_21_are_signed),
		cmocka_unit_test(error_codes_have_stable_names),
		cmocka_unit_test(new_error_codes_have_their_wire_numbers),
		cmocka_unit_test(error_codes_outside_1_to_15_are_unknown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
