/*
 * make-seeds.c - writes the seed corpus of the fuzz targets.
 *
 *   make-seeds DIR    writes DIR/frame, DIR/stream, DIR/whitelist,
 *                     DIR/keyfile and DIR/payload (the folders must exist)
 *
 * Frames are made by the current encoder, so the seeds follow the wire
 * format as it is now, not as docs/PROTOCOL.md last described it. Fixed
 * seeds and a deterministic randombytes (a ChaCha20 stream under a fixed
 * key, installed before sodium_init) make every byte reproducible: running
 * it again over the committed corpus changes nothing.
 */
#include <errno.h>
#include <stdarg.h>
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
#include "tests/fuzz/rng.h"
#include "wire/frame.h"
#include "wire/payload.h"

static const char *outdir;
static const uint8_t rng_key[32] = "cove fuzz seeds, not random!!!!";

static void die(const char *what) __attribute__((noreturn));
static void die(const char *what)
{
	fprintf(stderr, "make-seeds: %s failed\n", what);
	exit(1);
}

/* An entry of a table of raw seeds: the literal's bytes without its NUL. */
#define RAW(name, lit) { name, lit, sizeof(lit) - 1 }

/* ---- output ---------------------------------------------------------------- */

static void put(const char *target, const void *p, size_t n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void put(const char *target, const void *p, size_t n, const char *fmt, ...)
{
	char name[200], path[512];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(name, sizeof(name), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	f = fopen(path, "wb");
	if (!f || (n && fwrite(p, 1, n, f) != n) || fclose(f) != 0) {
		fprintf(stderr, "make-seeds: %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void put_str(const char *target, const char *name, const char *s)
{
	put(target, s, strlen(s), "%s", name);
}

/* ---- identities ------------------------------------------------------------ */

static struct cove_ident *relay, *alice, *bob, *carol;

static struct cove_ident *seeded(uint8_t first)
{
	struct cove_ident *id = cove_ident_new();
	uint8_t seed[COVE_SEED_LEN];

	if (!id)
		die("cove_ident_new");
	for (int i = 0; i < COVE_SEED_LEN; i++)
		seed[i] = (uint8_t)(first + i);
	if (cove_ident_from_seed(id, seed) != 0)
		die("seed");
	return id;
}

/* ---- frames ---------------------------------------------------------------- */

/* One encoded frame split into its top-level msgpack elements. */
struct parts {
	uint8_t buf[COVE_FRAME_MAX];
	size_t len;
	size_t off[16], n[16], count;
};

/* Size of one element as the encoder writes them: ints, str, bin, nil. */
static size_t elem_len(const uint8_t *p)
{
	uint8_t b = p[0];

	if (b <= 0x7f || b == 0xc0)
		return 1;
	if (b >= 0xa0 && b <= 0xbf)
		return 1 + (b & 0x1f);
	switch (b) {
	case 0xcc: return 2;
	case 0xcd: return 3;
	case 0xce: return 5;
	case 0xcf: return 9;
	case 0xc4: case 0xd9: return 2 + p[1];
	case 0xc5: case 0xda: return 3 + ((size_t)p[1] << 8 | p[2]);
	}
	die("elem_len: unexpected msgpack byte");
}

static void split(struct parts *pt, const struct cove_frame *f)
{
	size_t pos = 1;

	if (cove_frame_encode(f, pt->buf, sizeof(pt->buf), &pt->len) != 0)
		die("cove_frame_encode");
	if ((pt->buf[0] & 0xf0) != 0x90)
		die("split: not a fixarray");
	pt->count = pt->buf[0] & 0x0f;
	for (size_t i = 0; i < pt->count; i++) {
		pt->off[i] = pos;
		pt->n[i] = elem_len(pt->buf + pos);
		pos += pt->n[i];
	}
	if (pos != pt->len)
		die("split: length");
}

/* Writes the frame with element i replaced by rep[0..rn) (rn 0 and rep
 * NULL: element i removed), and count elements in the header. */
static void put_variant(const struct parts *pt, size_t i, const uint8_t *rep, size_t rn,
			const char *name)
{
	uint8_t out[COVE_FRAME_MAX + 32];
	size_t len = 1;
	size_t count = pt->count - (rep ? 0 : 1);

	out[0] = (uint8_t)(0x90 | count);
	for (size_t k = 0; k < pt->count; k++) {
		if (k == i) {
			if (rn)
				memcpy(out + len, rep, rn);
			len += rn;
		} else {
			memcpy(out + len, pt->buf + pt->off[k], pt->n[k]);
			len += pt->n[k];
		}
	}
	{
		/* The name says what the decoder must do: "valid-" and
		 * "noncanonical-" seeds decode, "bad-" ones do not, and a name
		 * starting with '?' gets whichever prefix is true. */
		struct cove_frame f;
		int ok = cove_frame_decode(&f, out, len) == COVE_OK;

		if (name[0] == '?')
			put("frame", out, len, "%s%s", ok ? "valid" : "bad", name + 1);
		else if (ok != (strncmp(name, "bad-", 4) != 0))
			die(name);
		else
			put("frame", out, len, "%s", name);
	}
}

static const char *type_name(uint8_t t)
{
	switch (t) {
	case COVE_F_INI: return "ini";
	case COVE_F_KEY: return "key";
	case COVE_F_DAT: return "dat";
	case COVE_F_ERR: return "err";
	case COVE_F_ASK: return "ask";
	case COVE_F_BYE: return "bye";
	case COVE_F_WLC: return "wlc";
	case COVE_F_RDY: return "rdy";
	case COVE_F_RKY: return "rky";
	case COVE_F_REK: return "rek";
	case COVE_F_PING: return "ping";
	case COVE_F_PONG: return "pong";
	case COVE_F_FWD: return "fwd";
	case COVE_F_SYN: return "syn";
	case COVE_F_UPD: return "upd";
	case COVE_F_PRS: return "prs";
	case COVE_F_HELLO: return "hello";
	case COVE_F_CHALLENGE: return "challenge";
	case COVE_F_SRV_AUTH: return "srv-auth";
	case COVE_F_CLI_AUTH: return "cli-auth";
	case COVE_F_VERSION: return "version";
	}
	return "unknown";
}

/* Writes a valid frame, then one copy per kind of damage: each element
 * nil, each bin one byte short, each integer as the largest uint64, each
 * str as a bin, an element missing or extra, and truncations. */
static void put_frame(const struct cove_frame *f, const char *label)
{
	static const uint8_t nil = 0xc0;
	static const uint8_t u64max[9] = { 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	struct parts *pt = malloc(sizeof(*pt));
	uint8_t rep[COVE_FRAME_MAX];
	const char *t = type_name(f->type);
	size_t last;

	if (!pt)
		die("malloc");
	split(pt, f);
	put("frame", pt->buf, pt->len, "valid-%s-%s", t, label);
	if (strcmp(label, "base") != 0) {
		free(pt);
		return; /* damage only one frame of each type */
	}
	last = pt->count - 1;
	for (size_t i = 0; i < pt->count; i++) {
		const uint8_t *e = pt->buf + pt->off[i];
		size_t en = pt->n[i];
		char name[128];

		snprintf(name, sizeof(name), "bad-%s-e%zu-nil", t, i);
		put_variant(pt, i, &nil, 1, name);
		if (e[0] == 0xc4 && en > 2) {
			rep[0] = 0xc4;
			rep[1] = (uint8_t)(e[1] - 1);
			memcpy(rep + 2, e + 2, en - 3);
			snprintf(name, sizeof(name), "bad-%s-e%zu-bin-short", t, i);
			put_variant(pt, i, rep, en - 1, name);
		} else if (e[0] <= 0x7f || (e[0] >= 0xcc && e[0] <= 0xcf)) {
			/* bad for the narrower fields, an edge for seq and ts */
			snprintf(name, sizeof(name), "?-%s-e%zu-uint64-max", t, i);
			put_variant(pt, i, u64max, sizeof(u64max), name);
		} else if (e[0] >= 0xa0 && e[0] <= 0xbf) {
			rep[0] = 0xc4;
			rep[1] = (uint8_t)(en - 1);
			memcpy(rep + 2, e + 1, en - 1);
			snprintf(name, sizeof(name), "bad-%s-e%zu-str-as-bin", t, i);
			put_variant(pt, i, rep, en + 1, name);
		}
	}
	{
		char name[128];

		snprintf(name, sizeof(name), "bad-%s-missing-last", t);
		put_variant(pt, last, NULL, 0, name);
		/* one nil more than the type has */
		rep[0] = (uint8_t)(pt->buf[0] + 1);
		memcpy(rep + 1, pt->buf + 1, pt->len - 1);
		rep[pt->len] = 0xc0;
		put("frame", rep, pt->len + 1, "bad-%s-extra-nil", t);
	}
	put("frame", pt->buf, pt->len / 2, "truncated-%s-half", t);
	put("frame", pt->buf, pt->len - 1, "truncated-%s-last-byte", t);
	{
		uint8_t trail[COVE_FRAME_MAX + 1];

		memcpy(trail, pt->buf, pt->len);
		trail[pt->len] = 0x00;
		put("frame", trail, pt->len + 1, "bad-%s-trailing-zero", t);
	}
	free(pt);
}

/* Element i of f's encoding written in a wider or narrower form than the
 * encoder uses: the decoder accepts any width. */
static void put_noncanonical(const struct cove_frame *f, size_t i, const uint8_t *rep,
			     size_t rn, const char *name)
{
	struct parts *pt = malloc(sizeof(*pt));

	if (!pt)
		die("malloc");
	split(pt, f);
	put_variant(pt, i, rep, rn, name);
	free(pt);
}

static void sign(struct cove_frame *f, const struct cove_ident *id)
{
	if (cove_msg_sign(f, id) != 0)
		die("cove_msg_sign");
}

static void frames(void)
{
	static const char room[] = "lobby";
	const uint64_t ts = 1700000000000ULL;
	uint8_t xpk[32], gk[COVE_GK_LEN], view[COVE_VIEW_LEN], ct[COVE_DAT_CT_MAX];
	static uint8_t dat[COVE_FRAME_MAX], fwd[COVE_FRAME_MAX];
	size_t dat_len = 0, fwd_len = 0;
	char big[300];
	struct cove_frame f;
	struct cove_payload p = { .kind = COVE_PL_TEXT, .text = "hello, lobby", .text_len = 12 };

	for (int i = 0; i < 32; i++)
		xpk[i] = (uint8_t)(0xa0 + i);
	for (int i = 0; i < COVE_GK_LEN; i++)
		gk[i] = (uint8_t)(0x10 + i);
	for (int i = 0; i < COVE_VIEW_LEN; i++)
		view[i] = (uint8_t)(0x70 + i);

	cove_msg_init(&f, COVE_F_INI, room, 5, alice->pk, 1, ts);
	memcpy(f.u.ini.xpk, xpk, 32);
	sign(&f, alice);
	put_frame(&f, "base");
	{
		/* seq 1 as a positive fixint rather than a uint64 */
		static const uint8_t one = 0x01;
		static const uint8_t ts32[5] = { 0xce, 0x65, 0x53, 0xf1, 0x00 };

		put_noncanonical(&f, 4, &one, 1, "noncanonical-ini-seq-fixint");
		put_noncanonical(&f, 5, ts32, sizeof(ts32), "noncanonical-ini-ts-uint32");
	}
	cove_msg_init(&f, COVE_F_INI, room, 5, relay->pk, 2, ts);
	memcpy(f.u.ini.xpk, xpk, 32);
	sign(&f, relay);
	put_frame(&f, "first-from-relay");
	{
		char r64[COVE_ROOM_MAX];

		memset(r64, 'r', sizeof(r64));
		cove_msg_init(&f, COVE_F_INI, r64, sizeof(r64), alice->pk, 3, ts);
		memcpy(f.u.ini.xpk, xpk, 32);
		sign(&f, alice);
		put_frame(&f, "room-64-bytes");
		/* the same with a 65-byte room, and with bad characters */
		{
			struct parts *pt = malloc(sizeof(*pt));
			uint8_t rep[80];

			if (!pt)
				die("malloc");
			split(pt, &f);
			rep[0] = 0xd9;
			rep[1] = 65;
			memset(rep + 2, 'r', 65);
			put_variant(pt, 2, rep, 67, "bad-ini-room-65-bytes");
			memcpy(rep, "\xa5lo by", 6);
			put_variant(pt, 2, rep, 6, "bad-ini-room-space");
			memcpy(rep, "\xa5lo\x7f" "by", 6);
			put_variant(pt, 2, rep, 6, "bad-ini-room-del");
			memcpy(rep, "\xa5lo\xc3\xa9y", 6);
			put_variant(pt, 2, rep, 6, "bad-ini-room-utf8");
			rep[0] = 0xa0;
			put_variant(pt, 2, rep, 1, "bad-ini-room-empty");
			free(pt);
		}
	}

	cove_msg_init(&f, COVE_F_KEY, room, 5, alice->pk, 4, ts + 1);
	if (cove_msg_key_seal(&f, bob->pk, xpk, 7, gk, view, alice) != 0)
		die("cove_msg_key_seal");
	put_frame(&f, "base");
	{
		/* Version 1's KEY had no kid (12 elements), and its kid was 8
		 * bytes: both are refused now. */
		struct parts *pt = malloc(sizeof(*pt));
		uint8_t rep[40];

		if (!pt)
			die("malloc");
		split(pt, &f);
		put_variant(pt, 10, NULL, 0, "bad-key-without-kid");
		rep[0] = 0xc4;
		rep[1] = 8;
		memcpy(rep + 2, f.u.key.kid, 8);
		put_variant(pt, 10, rep, 10, "bad-key-kid-8-bytes");
		free(pt);
	}

	cove_msg_init(&f, COVE_F_DAT, room, 5, alice->pk, 5, ts + 2);
	f.u.dat.epoch = 7;
	memset(f.u.dat.sid, 0xe0, COVE_WSID_LEN);
	f.u.dat.n = 1;
	if (crypto_aead_aes256gcm_is_available()) {
		if (cove_msg_dat_seal(&f, ct, sizeof(ct), &p, gk, alice) != 0)
			die("cove_msg_dat_seal");
	} else {
		memset(ct, 0x5a, 256 + 16);
		f.u.dat.ct = ct;
		f.u.dat.ct_len = 256 + 16;
		sign(&f, alice);
	}
	put_frame(&f, "base");
	if (cove_frame_encode(&f, dat, sizeof(dat), &dat_len) != 0)
		die("cove_frame_encode");
	{
		/* n as a positive fixint, epoch as a fixint */
		static const uint8_t one = 0x01, seven = 0x07;

		put_noncanonical(&f, 8, &one, 1, "noncanonical-dat-n-fixint");
		put_noncanonical(&f, 6, &seven, 1, "noncanonical-dat-epoch-fixint");
	}
	memset(ct, 0x11, 20);
	f.u.dat.ct = ct;
	f.u.dat.ct_len = 1;
	sign(&f, alice);
	put_frame(&f, "ct-1-byte");
	{
		struct parts *pt = malloc(sizeof(*pt));

		if (!pt)
			die("malloc");
		split(pt, &f);
		put_variant(pt, 10, (const uint8_t *)"\xc4\x00", 2, "bad-dat-ct-empty");
		put_variant(pt, 10, (const uint8_t *)"\xc5\x00\x01\x11", 4,
			    "noncanonical-dat-ct-bin16");
		put_variant(pt, 7, (const uint8_t *)"\xc6\x00\x00\x00\x10\xe0\xe0\xe0\xe0\xe0\xe0"
			    "\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0\xe0", 21,
			    "noncanonical-dat-sid-bin32");
		free(pt);
	}

	cove_msg_init(&f, COVE_F_ERR, room, 5, relay->pk, 6, ts + 3);
	f.u.err.code = COVE_EC_BAD_SIGNATURE;
	f.u.err.ref = 5;
	f.u.err.text = "the signature does not verify";
	f.u.err.text_len = strlen(f.u.err.text);
	sign(&f, relay);
	put_frame(&f, "base");
	cove_msg_init(&f, COVE_F_ERR, "", 0, relay->pk, 7, ts + 3);
	f.u.err.code = COVE_EC_NOT_WHITELISTED;
	sign(&f, relay);
	put_frame(&f, "no-room-no-text");
	memset(big, 'e', sizeof(big));
	f.u.err.text = big;
	f.u.err.text_len = COVE_ERR_TEXT_MAX;
	f.u.err.code = 99;
	sign(&f, relay);
	put_frame(&f, "text-256-unknown-code");
	{
		struct parts *pt = malloc(sizeof(*pt));
		uint8_t rep[300];

		if (!pt)
			die("malloc");
		split(pt, &f);
		rep[0] = 0xda;
		rep[1] = 0x01;
		rep[2] = 0x01;
		memset(rep + 3, 'e', 257);
		put_variant(pt, 8, rep, 260, "bad-err-text-257");
		put_variant(pt, 8, (const uint8_t *)"\xd9\x02hi", 4, "noncanonical-err-text-str8");
		free(pt);
	}

	cove_msg_init(&f, COVE_F_ASK, room, 5, relay->pk, 8, ts + 4);
	memcpy(f.u.ask.to, alice->pk, 32);
	memcpy(f.u.ask.joiner, bob->pk, 32);
	memcpy(f.u.ask.xpk, xpk, 32);
	sign(&f, relay);
	put_frame(&f, "base");

	cove_msg_init(&f, COVE_F_BYE, room, 5, relay->pk, 9, ts + 5);
	memcpy(f.u.bye.who, bob->pk, 32);
	sign(&f, relay);
	put_frame(&f, "base");

	cove_msg_init(&f, COVE_F_WLC, "", 0, relay->pk, 10, ts + 6);
	memcpy(f.u.wlc.you, alice->pk, 32);
	sign(&f, relay);
	put_frame(&f, "base");

	cove_msg_init(&f, COVE_F_RDY, room, 5, bob->pk, 11, ts + 7);
	f.u.rdy.epoch = 7;
	sign(&f, bob);
	put_frame(&f, "base");

	cove_msg_init(&f, COVE_F_RKY, room, 5, bob->pk, 12, ts + 8);
	f.u.rdy.epoch = 7;
	sign(&f, bob);
	put_frame(&f, "base");

	cove_msg_init(&f, COVE_F_REK, room, 5, relay->pk, 13, ts + 9);
	memcpy(f.u.rek.to, carol->pk, 32);
	f.u.rek.epoch = 8;
	sign(&f, relay);
	put_frame(&f, "base");

	/* the frames of persistent rooms (version 2) */
	cove_msg_init(&f, COVE_F_SYN, room, 5, bob->pk, 14, ts + 10);
	f.u.syn.after = 41;
	f.u.syn.after_dat = 40;
	sign(&f, bob);
	put_frame(&f, "base");
	f.u.syn.after = UINT64_MAX; /* nothing yet: from the start */
	f.u.syn.after_dat = 0;
	sign(&f, bob);
	put_frame(&f, "from-the-start");

	cove_msg_init(&f, COVE_F_UPD, room, 5, relay->pk, 15, ts + 11);
	f.u.upd.next = 42;
	f.u.upd.missed = 3;
	sign(&f, relay);
	put_frame(&f, "base");

	cove_msg_init(&f, COVE_F_PRS, room, 5, relay->pk, 16, ts + 12);
	memcpy(f.u.prs.who, bob->pk, 32);
	f.u.prs.here = 0;
	f.u.prs.seen = ts + 5;
	sign(&f, relay);
	put_frame(&f, "base");

	memset(&f, 0, sizeof(f));
	f.version = COVE_PROTO_VERSION;
	f.type = COVE_F_FWD;
	f.u.fwd.rseq = 5;
	f.u.fwd.rdat = 3;
	f.u.fwd.frame = dat;
	f.u.fwd.frame_len = dat_len;
	put_frame(&f, "base");
	if (cove_frame_encode(&f, fwd, sizeof(fwd), &fwd_len) != 0)
		die("cove_frame_encode");
	/* the decoder takes any bytes inside; the node refuses these */
	f.u.fwd.frame = fwd;
	f.u.fwd.frame_len = fwd_len;
	put_frame(&f, "fwd-inside");
	f.u.fwd.frame = (const uint8_t *)"\x01";
	f.u.fwd.frame_len = 1;
	put_frame(&f, "one-byte-inside");

	memset(&f, 0, sizeof(f));
	f.version = COVE_PROTO_VERSION;
	f.type = COVE_F_PING;
	f.u.ping.n = 42;
	put_frame(&f, "base");
	f.type = COVE_F_PONG;
	put_frame(&f, "base");
	put_noncanonical(&f, 2, (const uint8_t *)"\xcc\x2a", 2, "noncanonical-pong-n-uint8");

	memset(&f, 0, sizeof(f));
	f.version = COVE_PROTO_VERSION;
	f.type = COVE_F_HELLO;
	memcpy(f.u.hello.eph, xpk, 32);
	memset(f.u.hello.nonce, 0x33, 32);
	put_frame(&f, "base");
	f.type = COVE_F_CHALLENGE;
	put_frame(&f, "base");

	memset(&f, 0, sizeof(f));
	f.version = COVE_PROTO_VERSION;
	f.type = COVE_F_SRV_AUTH;
	memcpy(f.u.auth.id, relay->pk, 32);
	memset(f.u.auth.sig, 0x44, 64);
	put_frame(&f, "base");
	f.type = COVE_F_CLI_AUTH;
	memcpy(f.u.auth.id, alice->pk, 32);
	put_frame(&f, "base");

	memset(&f, 0, sizeof(f));
	f.version = COVE_PROTO_VERSION;
	f.type = COVE_F_VERSION;
	put_frame(&f, "base");
}

/* The "frames a decoder must refuse" of docs/PROTOCOL.md, and a few more
 * structural ones. */
static void refusals(void)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t n;
	} r[] = {
		RAW("refuse-array32-claiming-4294967295-elements", "\xdd\xff\xff\xff\xff"),
		RAW("refuse-fixstr-longer-than-the-input", "\x92\x02\xa5\xff"),
		RAW("refuse-trailing-byte-after-a-version-frame", "\x92\x02\x14\xc0"),
		RAW("refuse-nested-array", "\x93\x02\x02\x91"),
		RAW("refuse-version-1", "\x92\x01\x14"),
		RAW("refuse-version-3", "\x92\x03\x14"),
		RAW("refuse-unknown-type-99", "\x92\x02\x63"),
		RAW("refuse-float-as-type", "\x92\x02\xca\x41\xa0\x00\x00"),
		RAW("refuse-map16-claiming-65535-pairs", "\xde\xff\xff"),
		RAW("refuse-bin32-claiming-4-gib", "\x92\xc6\xff\xff\xff\xff"),
		RAW("refuse-c1-never-used", "\x92\x02\xc1"),
		RAW("refuse-map-root", "\x81\x02\x14"),
		RAW("refuse-one-element", "\x91\x02"),
		RAW("refuse-version-255-as-uint8", "\x92\xcc\xff\x14"),
		RAW("refuse-negative-version", "\x92\xff\x14"),
		RAW("refuse-ext-as-type", "\x92\x02\xd4\x01\x14"),
		RAW("refuse-empty-array", "\x90"),
		RAW("refuse-nil", "\xc0"),
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		put("frame", r[i].bytes, r[i].n, "%s", r[i].name);
	{
		/* HELLO with a 31-byte key, from docs/PROTOCOL.md */
		uint8_t h[3 + 2 + 31 + 2 + 32] = { 0x94, 0x02, 0x10, 0xc4, 0x1f };

		h[36] = 0xc4;
		h[37] = 0x20;
		put("frame", h, sizeof(h), "refuse-hello-with-a-31-byte-key");
	}
	{
		/* A version-1 node's HELLO: refused for its version (a relay
		 * answers VERSION [2, 20]). */
		uint8_t h[3 + 2 + 32 + 2 + 32] = { 0x94, 0x01, 0x10, 0xc4, 0x20 };

		h[37] = 0xc4;
		h[38] = 0x20;
		put("frame", h, sizeof(h), "refuse-version-1-hello");
	}
}

/* ---- streams ----------------------------------------------------------------- */

struct sbuf {
	uint8_t p[8192];
	size_t len;
};

static void sb_add(struct sbuf *b, const void *p, size_t n)
{
	if (n > sizeof(b->p) - b->len)
		die("sb_add");
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void sb_rec(struct sbuf *b, const void *p, size_t n)
{
	uint8_t h[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

	sb_add(b, h, 4);
	sb_add(b, p, n);
}

static void sb_len(struct sbuf *b, uint32_t n)
{
	uint8_t h[4] = { (uint8_t)(n >> 24), (uint8_t)(n >> 16), (uint8_t)(n >> 8), (uint8_t)n };

	sb_add(b, h, 4);
}

/* Writes "u8 m | u8 k | sizes | stream" (fuzz_stream.c). */
static void put_stream(const char *name, uint8_t m, const char *sizes, const struct sbuf *s)
{
	struct sbuf out = { .len = 0 };
	uint8_t k = (uint8_t)strlen(sizes);

	sb_add(&out, &m, 1);
	sb_add(&out, &k, 1);
	for (size_t i = 0; i < k; i++) {
		/* sizes as digits 0-9 and letters a-z for 10-35, Z for 255 */
		char c = sizes[i];
		uint8_t v = c >= '0' && c <= '9' ? (uint8_t)(c - '0') :
			    c == 'Z' ? 255 : (uint8_t)(c - 'a' + 10);

		sb_add(&out, &v, 1);
	}
	sb_add(&out, s->p, s->len);
	put("stream", out.p, out.len, "%s", name);
}

#define MAX128 127 /* m for a maximum of 128 bytes */
#define MAX4100 153 /* m for 4000 + 4 * 25 = 4100 bytes */

static void streams(void)
{
	struct cove_frame f;
	uint8_t hello[COVE_HS_FRAME_MAX], ver[8], big[4200];
	size_t hn = 0, vn = 0;
	struct sbuf s;

	memset(&f, 0, sizeof(f));
	f.version = COVE_PROTO_VERSION;
	f.type = COVE_F_HELLO;
	memset(f.u.hello.eph, 0xab, 32);
	memset(f.u.hello.nonce, 0xcd, 32);
	if (cove_frame_encode(&f, hello, sizeof(hello), &hn) != 0)
		die("hello");
	f.type = COVE_F_VERSION;
	if (cove_frame_encode(&f, ver, sizeof(ver), &vn) != 0)
		die("version");
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)i;

	s.len = 0;
	sb_rec(&s, hello, hn);
	put_stream("hello-record-whole", MAX128, "", &s);
	put_stream("hello-record-bytewise", MAX128, "1", &s);
	put_stream("hello-record-split-3-at-header", MAX128, "3Z", &s);
	sb_rec(&s, ver, vn);
	sb_rec(&s, hello, hn);
	put_stream("three-records-whole", MAX128, "", &s);
	put_stream("three-records-chunks-5-2-9", MAX128, "529", &s);
	put_stream("three-records-with-empty-chunks", MAX128, "0307", &s);
	put_stream("three-records-max-3", 2, "", &s);

	s.len = 0;
	sb_rec(&s, big, 128);
	sb_rec(&s, big, 1);
	put_stream("record-exactly-max", MAX128, "", &s);
	put_stream("record-exactly-max-in-chunks", MAX128, "h", &s);
	s.len = 0;
	sb_rec(&s, big, 129);
	put_stream("record-max-plus-1", MAX128, "", &s);
	put_stream("record-max-plus-1-header-split", MAX128, "2", &s);
	s.len = 0;
	sb_len(&s, 0);
	sb_rec(&s, big, 4);
	put_stream("zero-length", MAX128, "", &s);
	s.len = 0;
	sb_len(&s, 0xffffffffu);
	put_stream("length-ffffffff", MAX128, "1", &s);
	s.len = 0;
	sb_rec(&s, big, 10);
	sb_rec(&s, big, 20);
	sb_len(&s, 200);
	sb_add(&s, big, 50);
	put_stream("records-then-oversized", MAX128, "7", &s);
	s.len = 0;
	sb_rec(&s, big, 10);
	sb_add(&s, "\x00\x00", 2);
	put_stream("partial-header-at-end", MAX128, "", &s);
	s.len = 0;
	sb_rec(&s, big, 10);
	sb_len(&s, 40);
	sb_add(&s, big, 17);
	put_stream("partial-record-at-end", MAX128, "4", &s);
	s.len = 0;
	for (int i = 1; i <= 12; i++)
		sb_rec(&s, big, (size_t)i);
	put_stream("many-small-records", 15, "", &s);
	put_stream("many-small-records-chunks-1-2-3", 15, "123", &s);
	put_stream("many-small-records-max-8", 7, "", &s);

	/* Above 4096 bytes the stream frees its buffer between records. */
	s.len = 0;
	sb_rec(&s, big, 4097);
	sb_rec(&s, big, 5);
	sb_rec(&s, big, 30);
	put_stream("big-record-4097-then-small", MAX4100, "", &s);
	put_stream("big-record-4097-then-small-chunked", MAX4100, "ZZZZZZZZZZZZZZZZZ1", &s);
	s.len = 0;
	sb_rec(&s, big, 2000);
	sb_rec(&s, big, 2001);
	put_stream("two-records-2000-chunked", MAX4100, "Zj", &s);

	/* Link records as they are now: every control frame and short DAT
	 * padded to 640 bytes, 656 with the tag; a longer one's class. */
	s.len = 0;
	sb_rec(&s, big, 656);
	sb_rec(&s, big, 656);
	sb_rec(&s, big, 656);
	put_stream("three-link-records-656", MAX4100, "", &s);
	put_stream("three-link-records-656-chunked", MAX4100, "Zd1", &s);
	s.len = 0;
	sb_rec(&s, big, 656);
	sb_rec(&s, big, 4096 + 16);
	sb_rec(&s, big, 656);
	put_stream("link-records-656-4112-656", MAX4100 + 4, "", &s);
}

/* ---- whitelists -------------------------------------------------------------- */

static void whitelists(void)
{
	char a[COVE_PK_B64_LEN + 1], b[COVE_PK_B64_LEN + 1], c[COVE_PK_B64_LEN + 1];
	char t[4096];

	cove_pk_to_b64(a, alice->pk);
	cove_pk_to_b64(b, bob->pk);
	cove_pk_to_b64(c, carol->pk);

#define WL(name, ...) do { snprintf(t, sizeof(t), __VA_ARGS__); put_str("whitelist", name, t); } while (0)
	WL("valid-team", "# the blue team\nalice  %s\nbob    %s   # laptop\n\ncarol\t%s\n", a, b, c);
	WL("valid-one", "alice %s\n", a);
	WL("valid-no-final-newline", "alice %s\nbob %s", a, b);
	WL("valid-crlf", "# team\r\nalice %s\r\nbob %s\r\n", a, b);
	WL("valid-tabs-and-spaces", "\t alice\t \t%s \t\n", a);
	WL("valid-comment-touching", "alice %s# no space before the comment\n", a);
	WL("valid-name-chars", "A.b_c-9 %s\n", a);
	WL("valid-name-32", "abcdefghijklmnopqrstuvwxyz012345 %s\n", a);
	WL("valid-only-comments", "# nobody yet\n#\n   # indented\n");
	WL("valid-blank-lines", "\n\n   \n\t\n\r\n");
	put("whitelist", "", 0, "valid-empty");
	WL("error-one-field", "alice\n");
	WL("error-three-fields", "alice %s extra\n", a);
	WL("error-name-bad-char", "al/ice %s\n", a);
	WL("error-name-33", "abcdefghijklmnopqrstuvwxyz0123456 %s\n", a);
	WL("error-name-escape", "\x1b[31mred %s\n", a);
	WL("error-key-short", "alice %.40s\n", a);
	WL("error-key-long", "alice %sA\n", a);
	WL("error-key-no-padding", "alice %.43s\n", a);
	WL("error-key-url-safe", "alice %.40s-_-=\n", a);
	WL("error-key-non-ascii", "alice %.42s\xc3\xa9\n", a);
	WL("error-key-bad-padding-bits", "alice %.42sB=\n", a);
	WL("error-duplicate-name", "alice %s\nalice %s\n", a, b);
	WL("error-duplicate-key", "alice %s\nbob %s\ncarol %s\n", a, b, a);
	WL("error-many", "x\nalice %s\n\nbad name %s\nbob %s\nbob %s\ncarol %s\n", a, a, b, c, b);
	WL("error-cr-only-line-ends", "alice %s\rbob %s\r", a, b);
	WL("error-form-feed", "alice\f%s\n", a);
	/* base64 of 32 bytes, but no key: all zero (order 4), order 8, y = p */
	WL("error-key-zero", "alice AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\nbob %s\n", b);
	WL("error-key-small-order", "alice JuiVj8KyJ7BFw/SJ8u+Y8NXfrAXTxjM5sTgCiG1T/AU=\n");
	WL("error-key-non-canonical", "alice 7f///////////////////////////////////////38=\n");
#undef WL
	{
		char nul[128];
		int n = snprintf(nul, sizeof(nul), "alice %s\n#", a);

		nul[n] = '\0';
		put("whitelist", nul, (size_t)n + 1, "error-nul-byte");
	}
}

/* ---- key files --------------------------------------------------------------- */

#define KF_OPS_MIN crypto_pwhash_OPSLIMIT_MIN
#define KF_MEM_MIN crypto_pwhash_MEMLIMIT_MIN

static void kf_encode(char *out, size_t cap, const struct cove_ident *id, const char *pass,
		      unsigned long long ops, size_t mem)
{
	size_t len = 0;

	if (cove_kf_encode(out, cap, &len, id, pass, pass ? strlen(pass) : 0, ops, mem) != 0)
		die("cove_kf_encode");
}

/* Decodes the record line of a key file text into rec. */
static size_t kf_record(const char *text, uint8_t *rec, size_t cap, char *comment, size_t ccap)
{
	const char *nl = strchr(text, '\n');
	size_t got = 0;

	if (!nl || (size_t)(nl - text + 2) > ccap)
		die("kf_record");
	memcpy(comment, text, (size_t)(nl - text + 1));
	comment[nl - text + 1] = '\0';
	if (sodium_base642bin(rec, cap, nl + 1, strcspn(nl + 1, "\r\n"), NULL, &got, NULL,
			      sodium_base64_VARIANT_ORIGINAL) != 0)
		die("kf_record base64");
	return got;
}

/* Writes comment + base64(rec) + end. */
static void put_record(const char *name, const char *comment, const uint8_t *rec, size_t n,
		       const char *end)
{
	char t[1024], b64[512];

	sodium_bin2base64(b64, sizeof(b64), rec, n, sodium_base64_VARIANT_ORIGINAL);
	snprintf(t, sizeof(t), "%s%s%s", comment, b64, end);
	put_str("keyfile", name, t);
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void keyfiles(void)
{
	char plain[1024], enc[1024], comment[256], t[2048];
	uint8_t rec[256], mod[256];
	size_t pn, en;

	kf_encode(plain, sizeof(plain), alice, NULL, 0, 0);
	kf_encode(enc, sizeof(enc), alice, "cove fuzz", KF_OPS_MIN, KF_MEM_MIN);
	put_str("keyfile", "valid-plain", plain);
	put_str("keyfile", "valid-encrypted-min-costs", enc);
	pn = kf_record(plain, rec, sizeof(rec), comment, sizeof(comment));
	put_record("valid-plain-crlf", comment, rec, pn, "\r\n");
	put_record("valid-plain-no-final-newline", comment, rec, pn, "");
	put_record("valid-plain-other-comment", "untrusted comment: \xff\x01 anything\n", rec, pn,
		   "\n");

	/* plain records with one field wrong */
	memcpy(mod, rec, pn);
	memcpy(mod + 64, bob->pk, 32);
	put_record("plain-public-key-of-another", comment, mod, pn, "\n");
	memcpy(mod, rec, pn);
	mod[4] = 2;
	put_record("plain-version-2", comment, mod, pn, "\n");
	memcpy(mod, rec, pn);
	mod[0] = 'X';
	put_record("plain-bad-magic", comment, mod, pn, "\n");
	memcpy(mod, rec, pn);
	mod[7] = 1;
	put_record("plain-reserved-byte-set", comment, mod, pn, "\n");
	memcpy(mod, rec, pn);
	mod[30] = 1;
	put_record("plain-salt-not-zero", comment, mod, pn, "\n");
	memcpy(mod, rec, pn);
	mod[15] = 1;
	put_record("plain-opslimit-not-zero", comment, mod, pn, "\n");
	memcpy(mod, rec, pn);
	mod[5] = 1;
	put_record("plain-kdf-without-aead", comment, mod, pn, "\n");
	put_record("plain-record-truncated", comment, rec, pn - 1, "\n");
	memcpy(mod, rec, pn);
	mod[pn] = 0;
	put_record("plain-record-one-byte-long", comment, mod, pn + 1, "\n");
	snprintf(t, sizeof(t), "%s# a third line\n", plain);
	put_str("keyfile", "plain-extra-line", t);
	snprintf(t, sizeof(t), "untrusted comment: no record\n");
	put_str("keyfile", "comment-only", t);
	snprintf(t, sizeof(t), "untrusted comment:\n!!!!\n");
	put_str("keyfile", "record-not-base64", t);
	snprintf(t, sizeof(t), "%s", plain + strlen("untrusted comment: "));
	put_str("keyfile", "no-comment-prefix", t);

	/* encrypted: costs, passphrase and fields */
	en = kf_record(enc, rec, sizeof(rec), comment, sizeof(comment));
	put_record("valid-encrypted-min-costs-crlf", comment, rec, en, "\r\n");
	kf_encode(t, sizeof(t), alice, "another passphrase", KF_OPS_MIN, KF_MEM_MIN);
	put_str("keyfile", "valid-encrypted-other-passphrase", t);
	kf_encode(t, sizeof(t), bob, "cove fuzz", 2, 16384);
	put_str("keyfile", "valid-encrypted-ops-2-mem-16k", t);
	memcpy(mod, rec, en);
	mod[50] ^= 1;
	put_record("encrypted-nonce-changed", comment, mod, en, "\n");
	memcpy(mod, rec, en);
	mod[en - 1] ^= 1;
	put_record("encrypted-tag-changed", comment, mod, en, "\n");
	memcpy(mod, rec, en);
	memcpy(mod + 64, bob->pk, 32);
	put_record("encrypted-public-key-of-another", comment, mod, en, "\n");
	memcpy(mod, rec, en);
	put_be64(mod + 8, 17);
	put_record("encrypted-opslimit-17", comment, mod, en, "\n");
	memcpy(mod, rec, en);
	put_be64(mod + 8, 0);
	put_record("encrypted-opslimit-0", comment, mod, en, "\n");
	memcpy(mod, rec, en);
	put_be64(mod + 16, KF_MEM_MIN - 1);
	put_record("encrypted-memlimit-below-min", comment, mod, en, "\n");
	memcpy(mod, rec, en);
	put_be64(mod + 16, (4ULL << 30) + 1);
	put_record("encrypted-memlimit-above-4g", comment, mod, en, "\n");
	memcpy(mod, rec, en);
	mod[6] = 0;
	put_record("encrypted-aead-none", comment, mod, en, "\n");
	put_record("encrypted-without-tag", comment, rec, en - 16, "\n");
}

/* ---- payloads ---------------------------------------------------------------- */

static void put_payload(const char *name, const char *text, size_t n, int padded)
{
	struct cove_payload p = { .kind = COVE_PL_TEXT, .text = text, .text_len = n };
	uint8_t buf[COVE_PAD_MAX];
	size_t len = 0, plen = 0;

	if (cove_payload_encode(&p, buf, sizeof(buf), &len) != 0)
		die("cove_payload_encode");
	if (padded) {
		if (cove_pad(buf, len, sizeof(buf), &plen) != 0)
			die("cove_pad");
		len = plen;
	}
	put("payload", buf, len, "%s", name);
}

static void payloads(void)
{
	static const struct {
		const char *name;
		const char *bytes;
		size_t n;
	} raw[] = {
		RAW("noncanonical-text-str8", "\x92\x01\xd9\x02hi"),
		RAW("noncanonical-text-str16", "\x92\x01\xda\x00\x02hi"),
		RAW("noncanonical-kind-uint32", "\x92\xce\x00\x00\x00\x01\xa2hi"),
		RAW("kind-2-unknown", "\x92\x02\xa1x"),
		RAW("kind-99-with-a-map", "\x92\x63\x81\x01\x02"),
		RAW("kind-uint64-max", "\x92\xcf\xff\xff\xff\xff\xff\xff\xff\xff\xa1x"),
		RAW("kind-alone", "\x91\x01"),
		RAW("bad-text-empty", "\x92\x01\xa0"),
		RAW("bad-text-nul", "\x92\x01\xa3h\x00i"),
		RAW("bad-text-overlong-nul", "\x92\x01\xa2\xc0\x80"),
		RAW("bad-text-surrogate", "\x92\x01\xa3\xed\xa0\x80"),
		RAW("bad-text-above-10ffff", "\x92\x01\xa4\xf4\x90\x80\x80"),
		RAW("bad-text-truncated-utf8", "\x92\x01\xa2h\xe2"),
		RAW("bad-text-as-bin", "\x92\x01\xc4\x02hi"),
		RAW("bad-three-elements", "\x93\x01\xa2hi\xc0"),
		RAW("bad-nested-4-deep", "\x92\x01\x91\x91\x91\x91\x01"),
		RAW("bad-nested-5-deep", "\x92\x01\x91\x91\x91\x91\x91\x01"),
		RAW("bad-map-root", "\x81\x01\xa2hi"),
		RAW("bad-negative-kind", "\x92\xff\xa2hi"),
		RAW("bad-trailing-byte", "\x92\x01\xa2hi\x00"),
		RAW("bad-array32-huge", "\xdd\xff\xff\xff\xff\x01"),
		/* RESEND: [2, from: bin 32, sid: bin 16, first, last] */
		RAW("resend-1-to-5", "\x95\x02\xc4\x20" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "\xc4\x10"
		  "SSSSSSSSSSSSSSSS" "\x01\x05"),
		RAW("resend-uint64-bounds", "\x95\x02\xc4\x20" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		  "\xc4\x10" "SSSSSSSSSSSSSSSS" "\xcf\x00\x00\x00\x00\x00\x00\x00\x00"
		  "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),
		RAW("resend-first-above-last", "\x95\x02\xc4\x20" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		  "\xc4\x10" "SSSSSSSSSSSSSSSS" "\x05\x01"),
		/* CATCHUP: [3, within_ms, heads], heads [[from: bin 32, sid: bin 16, n]],
		 * and its first form [3, within_ms] */
		RAW("catchup-no-heads", "\x93\x03\xcd\x75\x30\x90"),
		RAW("catchup-one-head", "\x93\x03\xcd\x75\x30\x91\x93\xc4\x20"
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "\xc4\x10" "SSSSSSSSSSSSSSSS" "\x07"),
		RAW("catchup-head-not-an-array", "\x93\x03\x00\x91\x07"),
		RAW("catchup-first-form", "\x92\x03\xcd\x75\x30"),
		/* HOLDERS: [4, epoch, ids: [bin 32...]] */
		RAW("holders-none", "\x93\x04\xce\x00\x00\x00\x01\x90"),
		RAW("holders-one", "\x93\x04\x01\x91\xc4\x20"
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		RAW("holders-id-31-bytes", "\x93\x04\x01\x91\xc4\x1f"
		  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		/* GONE: [5, ids: [bin 32...]] */
		RAW("gone-one", "\x92\x05\x91\xc4\x20" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
		RAW("gone-with-an-epoch", "\x93\x05\x01\x90"),
		RAW("holders-epoch-above-32-bits", "\x93\x04\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x90"),
		RAW("resend-sid-15-bytes", "\x95\x02\xc4\x20" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		  "\xc4\x0f" "SSSSSSSSSSSSSSS" "\x01\x05"),
	};
	char text[300];

	for (size_t i = 0; i < sizeof(raw) / sizeof(raw[0]); i++)
		put("payload", raw[i].bytes, raw[i].n, "%s", raw[i].name);
	put_payload("text-hello", "hello, lobby", 12, 0);
	put_payload("text-one-byte", "x", 1, 0);
	put_payload("text-utf8", "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x91\x8b", 15, 0);
	memset(text, 'a', sizeof(text));
	put_payload("text-31-bytes-fixstr", text, 31, 0);
	put_payload("text-32-bytes-str8", text, 32, 0);
	put_payload("text-300-bytes-str16", text, 300, 0);
	put_payload("padded-text-hello", "hello, lobby", 12, 1);
	put_payload("padded-text-300-bytes", text, 300, 1);
	{
		uint8_t buf[COVE_PAD_MIN];

		memset(buf, 0, sizeof(buf));
		memcpy(buf, "\x92\x01\xa2hi\x81", 6);
		put("payload", buf, sizeof(buf), "padded-bad-marker");
		buf[5] = 0x80;
		buf[100] = 1;
		put("payload", buf, sizeof(buf), "padded-nonzero-after-marker");
		put("payload", buf, 255, "padded-wrong-bucket");
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make-seeds DIR\n");
		return 2;
	}
	outdir = argv[1];
	fuzz_rng_install(rng_key);
	if (sodium_init() < 0)
		die("sodium_init");
	relay = seeded(0x00);
	alice = seeded(0x20);
	bob = seeded(0x40);
	carol = seeded(0x60);
	frames();
	refusals();
	streams();
	whitelists();
	keyfiles();
	payloads();
	cove_ident_free(relay);
	cove_ident_free(alice);
	cove_ident_free(bob);
	cove_ident_free(carol);
	return 0;
}
