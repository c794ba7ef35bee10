/*
 * test_payload.c - the typed plaintext inside a DAT: text round trips,
 * only valid UTF-8 passes either way, RESEND and CATCHUP requests keep
 * their exact layout and refuse every other shape, and an unknown kind is
 * reported with its number so a node can say what it could not show.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <msgpack.h>
#include <sodium.h>

#include "crypto/pad.h"
#include "tests/unit/check.h"
#include "wire/payload.h"

static void roundtrip(const char *text, size_t len)
{
	struct cove_payload p = { .kind = COVE_PL_TEXT, .text = text, .text_len = len }, q;
	uint8_t *buf = malloc(COVE_PAYLOAD_MAX);
	size_t n = 0;

	assert_non_null(buf);
	assert_ok(cove_payload_encode(&p, buf, COVE_PAYLOAD_MAX, &n));
	assert_true(n <= COVE_PAYLOAD_MAX);
	assert_ok(cove_payload_decode(&q, buf, n));
	assert_u64(q.kind, COVE_PL_TEXT);
	assert_u64(q.text_len, len);
	assert_bytes(q.text, text, len);
	/* The text is borrowed from the buffer, not copied. */
	assert_true((const uint8_t *)q.text >= buf && (const uint8_t *)q.text < buf + n);
	free(buf);
}

TEST(text_round_trips)
{
	static const char *texts[] = {
		"x", "hello, world", "gr\xc3\xbc\xc3\x9f dich \xe2\x82\xac \xf0\x9f\x90\x9f",
		"line one\nline two\ttabbed",
	};
	char *big = malloc(COVE_TEXT_MAX);

	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
		roundtrip(texts[i], strlen(texts[i]));
	/* Lengths around every msgpack str header boundary, and the maximum. */
	assert_non_null(big);
	memset(big, 'a', COVE_TEXT_MAX);
	{
		static const size_t lens[] = { 31, 32, 255, 256, 65535 % COVE_TEXT_MAX,
					       COVE_TEXT_MAX - 1, COVE_TEXT_MAX };

		for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
			roundtrip(big, lens[i]);
	}
	free(big);
}

TEST(largest_text_fits_the_largest_padding_bucket)
{
	struct cove_payload p = { .kind = COVE_PL_TEXT, .text = NULL, .text_len = COVE_TEXT_MAX };
	char *text = malloc(COVE_TEXT_MAX);
	uint8_t *buf = malloc(COVE_PAD_MAX);
	size_t n = 0;

	assert_non_null(text);
	assert_non_null(buf);
	memset(text, 'm', COVE_TEXT_MAX);
	p.text = text;
	assert_ok(cove_payload_encode(&p, buf, COVE_PAD_MAX, &n));
	assert_true(n <= COVE_PAD_MAX_PAYLOAD);
	assert_u64(cove_pad_size(n), COVE_PAD_MAX);
	free(text);
	free(buf);
}

TEST(encode_rejects_invalid_utf8)
{
	static const char *bad[] = { "\xff", "ab\xc0\x80", "\xed\xa0\x80", "a\0b", "\xe2\x82" };
	static const size_t lens[] = { 1, 4, 3, 3, 2 };
	uint8_t buf[64];

	for (size_t i = 0; i < 5; i++) {
		struct cove_payload p = { .kind = COVE_PL_TEXT, .text = bad[i], .text_len = lens[i] };
		size_t n = 0;

		assert_err(cove_payload_encode(&p, buf, sizeof(buf), &n), COVE_ERR_UTF8);
	}
}

TEST(decode_rejects_invalid_utf8)
{
	static const struct { const char *bytes; size_t len; } bad[] = {
		{ "\x92\x01\xa1\xff", 4 },
		{ "\x92\x01\xa2\xc0\x80", 5 },
		{ "\x92\x01\xa3\xed\xa0\x80", 6 },
		{ "\x92\x01\xa3" "a\0b", 6 },
		{ "\x92\x01\xa2\xe2\x82", 5 },
	};
	struct cove_payload p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_err(cove_payload_decode(&p, (const uint8_t *)bad[i].bytes, bad[i].len),
			   COVE_ERR_UTF8);
}

TEST(unknown_kind_gives_type_error_with_the_kind)
{
	static const struct { const char *bytes; size_t len; uint32_t kind; } v[] = {
		{ "\x92\x63\xa1x", 4, 99 },
		{ "\x91\x00", 2, 0 },
		{ "\x91\x06", 2, 6 },
		{ "\x93\x07\xc0\xc3", 4, 7 },
		{ "\x92\xcc\xc8\x81\x01\x02", 6, 200 },
		{ "\x92\xce\xff\xff\xff\xff\xa1x", 8, UINT32_MAX },
	};
	struct cove_payload p;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int r = cove_payload_decode(&p, (const uint8_t *)v[i].bytes, v[i].len);

		if (r != COVE_ERR_TYPE || p.kind != v[i].kind)
			fail_msg("case %zu: got %d (%s) kind %u, want %d kind %u", i, r,
				 cove_strerror(r), p.kind, COVE_ERR_TYPE, v[i].kind);
	}
}

TEST(encode_refuses_unknown_kinds)
{
	struct cove_payload p = { .kind = 99, .text = "x", .text_len = 1 };
	uint8_t buf[64];
	size_t n = 0;

	assert_err(cove_payload_encode(&p, buf, sizeof(buf), &n), COVE_ERR_INVAL);
	p.kind = 0;
	assert_err(cove_payload_encode(&p, buf, sizeof(buf), &n), COVE_ERR_INVAL);
}

TEST(empty_text_is_rejected)
{
	struct cove_payload p = { .kind = COVE_PL_TEXT, .text = "", .text_len = 0 };
	uint8_t buf[64];
	size_t n = 0;

	assert_err(cove_payload_encode(&p, buf, sizeof(buf), &n), COVE_ERR_INVAL);
	assert_err(cove_payload_decode(&p, (const uint8_t *)"\x92\x01\xa0", 3), COVE_ERR_FIELD);
}

TEST(too_long_text_is_rejected)
{
	struct cove_payload p = { .kind = COVE_PL_TEXT, .text = NULL, .text_len = COVE_TEXT_MAX + 1 };
	char *text = malloc(COVE_TEXT_MAX + 1);
	uint8_t *buf = malloc(COVE_TEXT_MAX + 16);
	size_t n = 0;

	assert_non_null(text);
	assert_non_null(buf);
	memset(text, 'l', COVE_TEXT_MAX + 1);
	p.text = text;
	assert_err(cove_payload_encode(&p, buf, COVE_TEXT_MAX + 16, &n), COVE_ERR_INVAL);
	/* The same text packed by hand does not decode either. */
	buf[0] = 0x92;
	buf[1] = 0x01;
	buf[2] = 0xda;
	buf[3] = (uint8_t)((COVE_TEXT_MAX + 1) >> 8);
	buf[4] = (uint8_t)(COVE_TEXT_MAX + 1);
	memcpy(buf + 5, text, COVE_TEXT_MAX + 1);
	assert_err(cove_payload_decode(&p, buf, COVE_TEXT_MAX + 6), COVE_ERR_FIELD);
	free(text);
	free(buf);
}

TEST(decode_rejects_other_shapes)
{
	static const struct { const char *bytes; size_t len; int want; const char *what; } v[] = {
		{ "", 0, COVE_ERR_FIELD, "empty input" },
		{ "\x01", 1, COVE_ERR_FIELD, "a bare number" },
		{ "\x90", 1, COVE_ERR_FIELD, "[]" },
		{ "\x91\x01", 2, COVE_ERR_FIELD, "[1] with no text" },
		{ "\x93\x01\xa1x\xa1y", 6, COVE_ERR_FIELD, "[1, x, y]" },
		{ "\x92\x01\xc4\x01x", 5, COVE_ERR_FIELD, "text as bin" },
		{ "\x92\xa1\x01\xa1x", 5, COVE_ERR_FIELD, "kind as str" },
		{ "\x92\xff\xa1x", 4, COVE_ERR_FIELD, "kind -1" },
		{ "\x92\xcf\0\0\0\x01\0\0\0\x01\xa1x", 12, COVE_ERR_FIELD, "kind above u32" },
		{ "\x81\x01\xa1x", 4, COVE_ERR_FIELD, "a map" },
		{ "\x92\x01\xa1x\x00", 5, COVE_ERR_TRAILING, "a trailing byte" },
		{ "\x92\x01\xa2x", 4, COVE_ERR_MSGPACK, "truncated text" },
		{ "\x92\x01\x91\x91\x91\x91\x01", 7, COVE_ERR_DEPTH, "nesting 5 deep" },
	};
	struct cove_payload p;

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int r = cove_payload_decode(&p, (const uint8_t *)v[i].bytes, v[i].len);

		if (r != v[i].want)
			fail_msg("%s: got %d (%s), want %d (%s)", v[i].what, r, cove_strerror(r),
				 v[i].want, cove_strerror(v[i].want));
	}
}

TEST(encode_into_too_small_buffer_fails_with_space)
{
	struct cove_payload p = { .kind = COVE_PL_TEXT, .text = "hello", .text_len = 5 };
	uint8_t buf[16];
	size_t n = 0;

	assert_ok(cove_payload_encode(&p, buf, sizeof(buf), &n));
	assert_u64(n, 8); /* 92 01 a5 "hello" */
	assert_bytes(buf, "\x92\x01\xa5hello", 8);
	assert_err(cove_payload_encode(&p, buf, n - 1, &n), COVE_ERR_SPACE);
}

/* ---- RESEND ------------------------------------------------------------- */

static void resend_sample(struct cove_payload *p, uint64_t first, uint64_t last)
{
	memset(p, 0, sizeof(*p));
	p->kind = COVE_PL_RESEND;
	for (int i = 0; i < 32; i++)
		p->resend.from[i] = (uint8_t)(0x20 + i);
	for (int i = 0; i < 16; i++)
		p->resend.sid[i] = (uint8_t)(0x60 + i);
	p->resend.first = first;
	p->resend.last = last;
}

TEST(resend_round_trips)
{
	static const uint64_t ranges[][2] = {
		{ 0, 0 }, { 3, 5 }, { 7, 7 }, { 1, UINT64_MAX }, { UINT64_MAX, UINT64_MAX },
		{ (uint64_t)UINT32_MAX, (uint64_t)UINT32_MAX + 1 },
	};

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct cove_payload p, q;
		uint8_t buf[128];
		size_t n = 0;

		resend_sample(&p, ranges[i][0], ranges[i][1]);
		assert_ok(cove_payload_encode(&p, buf, sizeof(buf), &n));
		assert_ok(cove_payload_decode(&q, buf, n));
		assert_u64(q.kind, COVE_PL_RESEND);
		assert_bytes(q.resend.from, p.resend.from, 32);
		assert_bytes(q.resend.sid, p.resend.sid, 16);
		assert_u64(q.resend.first, ranges[i][0]);
		assert_u64(q.resend.last, ranges[i][1]);
	}
}

/* [2, from, sid, first, last]: from a bin of 32, sid a bin of 16, first
 * and last fixed-width uint64. */
TEST(resend_encodes_to_known_bytes)
{
	struct cove_payload p;
	uint8_t buf[128], want[128], *w = want;
	size_t n = 0;

	resend_sample(&p, 3, 0x0102030405060708ULL);
	*w++ = 0x95; *w++ = 0x02;
	*w++ = 0xc4; *w++ = 32; memcpy(w, p.resend.from, 32); w += 32;
	*w++ = 0xc4; *w++ = 16; memcpy(w, p.resend.sid, 16); w += 16;
	*w++ = 0xcf; memcpy(w, "\0\0\0\0\0\0\0\x03", 8); w += 8;
	*w++ = 0xcf; memcpy(w, "\x01\x02\x03\x04\x05\x06\x07\x08", 8); w += 8;
	assert_ok(cove_payload_encode(&p, buf, sizeof(buf), &n));
	assert_u64(n, (size_t)(w - want));
	assert_bytes(buf, want, n);
}

TEST(resend_with_first_above_last_is_refused_on_encode)
{
	static const uint64_t ranges[][2] = { { 1, 0 }, { 6, 5 }, { UINT64_MAX, 0 } };

	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct cove_payload p;
		uint8_t buf[128];
		size_t n = 0;

		resend_sample(&p, ranges[i][0], ranges[i][1]);
		assert_err(cove_payload_encode(&p, buf, sizeof(buf), &n), COVE_ERR_INVAL);
	}
}

/* Re-packs the valid RESEND enc with element idx replaced by the raw
 * msgpack bytes repl (dropped when repl is NULL) and `extra` fixint
 * elements appended. The result is in a heap buffer of exactly its size:
 * free *out. */
static size_t repack(const uint8_t *enc, size_t len, int idx, const void *repl, size_t repl_len,
		     unsigned extra, uint8_t **out)
{
	msgpack_zone zone;
	msgpack_object root;
	msgpack_sbuffer sb;
	msgpack_packer pk;
	size_t off = 0, n;
	uint32_t count;

	msgpack_zone_init(&zone, 1024);
	assert_int_equal(msgpack_unpack((const char *)enc, len, &off, &zone, &root),
			 MSGPACK_UNPACK_SUCCESS);
	count = root.via.array.size;
	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	msgpack_pack_array(&pk, count - (idx >= 0 && !repl ? 1 : 0) + extra);
	for (uint32_t i = 0; i < count; i++) {
		if ((int)i == idx) {
			if (repl)
				msgpack_sbuffer_write(&sb, repl, repl_len);
			continue;
		}
		msgpack_pack_object(&pk, root.via.array.ptr[i]);
	}
	for (unsigned i = 0; i < extra; i++)
		msgpack_pack_fix_uint8(&pk, 1);
	n = sb.size;
	*out = malloc(n);
	assert_non_null(*out);
	memcpy(*out, sb.data, n);
	msgpack_sbuffer_destroy(&sb);
	msgpack_zone_destroy(&zone);
	return n;
}

/* Decodes the RESEND of resend_sample(p, 3, 5) with element idx replaced. */
static int decode_resend_with(int idx, const void *repl, size_t repl_len, unsigned extra)
{
	struct cove_payload p, q;
	uint8_t enc[128], *b;
	size_t n = 0, bn;
	int r;

	resend_sample(&p, 3, 5);
	assert_ok(cove_payload_encode(&p, enc, sizeof(enc), &n));
	bn = repack(enc, n, idx, repl, repl_len, extra, &b);
	r = cove_payload_decode(&q, b, bn);
	free(b);
	return r;
}

TEST(resend_with_first_above_last_is_refused_on_decode)
{
	/* first (element 3) becomes 6, above last = 5; then last (element 4)
	 * becomes 2, below first = 3. */
	assert_err(decode_resend_with(3, "\x06", 1, 0), COVE_ERR_FIELD);
	assert_err(decode_resend_with(4, "\x02", 1, 0), COVE_ERR_FIELD);
	/* first == last is a range of one. */
	assert_ok(decode_resend_with(3, "\x05", 1, 0));
}

/* The msgpack bytes of a bin (or str) of n bytes, n < 256. */
static size_t mp_blob(uint8_t *out, size_t n, int as_str)
{
	out[0] = as_str ? 0xd9 : 0xc4; /* str 8 or bin 8 */
	out[1] = (uint8_t)n;
	memset(out + 2, 'a', n);
	return 2 + n;
}

TEST(resend_decode_refuses_from_and_sid_of_other_sizes_or_types)
{
	static const struct { int idx; size_t n; int as_str; } v[] = {
		{ 1, 31, 0 }, { 1, 33, 0 }, { 1, 0, 0 }, { 1, 16, 0 }, { 1, 32, 1 },
		{ 2, 15, 0 }, { 2, 17, 0 }, { 2, 0, 0 }, { 2, 32, 0 }, { 2, 16, 1 },
	};
	uint8_t b[64];

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = mp_blob(b, v[i].n, v[i].as_str);
		int r = decode_resend_with(v[i].idx, b, n, 0);

		if (r != COVE_ERR_FIELD)
			fail_msg("%s as %s of %zu bytes: got %d (%s), want %d",
				 v[i].idx == 1 ? "from" : "sid", v[i].as_str ? "str" : "bin", v[i].n,
				 r, cove_strerror(r), COVE_ERR_FIELD);
	}
	/* The right sizes pass. */
	assert_ok(decode_resend_with(1, b, mp_blob(b, 32, 0), 0));
	assert_ok(decode_resend_with(2, b, mp_blob(b, 16, 0), 0));
}

TEST(resend_decode_refuses_first_and_last_that_are_not_uints)
{
	static const struct { const char *bytes; size_t len; const char *what; } bad[] = {
		{ "\xff", 1, "negative fixint -1" },
		{ "\xd3\x80\0\0\0\0\0\0\0", 9, "int64 min" },
		{ "\xcb\x3f\xf0\0\0\0\0\0\0", 9, "float64 1.0" },
		{ "\xc0", 1, "nil" },
		{ "\xc3", 1, "true" },
		{ "\xa1" "4", 2, "str \"4\"" },
		{ "\xc4\x01\x04", 3, "bin of one byte" },
	};

	for (int idx = 3; idx <= 4; idx++) {
		for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			int r = decode_resend_with(idx, bad[k].bytes, bad[k].len, 0);

			if (r != COVE_ERR_FIELD)
				fail_msg("%s as %s: got %d (%s), want %d",
					 idx == 3 ? "first" : "last", bad[k].what, r, cove_strerror(r),
					 COVE_ERR_FIELD);
		}
	}
}

TEST(resend_decode_refuses_other_element_counts)
{
	struct cove_payload p;

	for (int idx = 1; idx <= 4; idx++) {
		int r = decode_resend_with(idx, NULL, 0, 0);

		if (r != COVE_ERR_FIELD)
			fail_msg("without element %d: got %d (%s), want %d", idx, r,
				 cove_strerror(r), COVE_ERR_FIELD);
	}
	assert_err(decode_resend_with(-1, NULL, 0, 1), COVE_ERR_FIELD);
	assert_err(cove_payload_decode(&p, (const uint8_t *)"\x91\x02", 2), COVE_ERR_FIELD);
}

TEST(resend_encode_into_too_small_buffer_fails_with_space)
{
	struct cove_payload p;
	uint8_t buf[128];
	size_t n = 0, m = 0;

	resend_sample(&p, 3, 5);
	assert_ok(cove_payload_encode(&p, buf, sizeof(buf), &n));
	assert_err(cove_payload_encode(&p, buf, n - 1, &m), COVE_ERR_SPACE);
}

/* ---- CATCHUP ------------------------------------------------------------ */

static struct cove_payload cp, cq; /* 7 KiB each: not on the stack */

TEST(catchup_round_trips)
{
	static const uint64_t v[] = { 0, 1, 30000, UINT32_MAX, UINT64_MAX };

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		uint8_t buf[COVE_PAYLOAD_MAX];
		size_t n = 0;

		memset(&cp, 0, sizeof(cp));
		cp.kind = COVE_PL_CATCHUP;
		cp.catchup.within_ms = v[i];
		cp.catchup.nheads = i; /* 0 to 4 heads */
		for (size_t k = 0; k < i; k++) {
			memset(cp.catchup.heads[k].from, (int)(0x10 + k), 32);
			memset(cp.catchup.heads[k].sid, (int)(0x20 + k), 16);
			cp.catchup.heads[k].n = v[k];
		}
		assert_ok(cove_payload_encode(&cp, buf, sizeof(buf), &n));
		assert_ok(cove_payload_decode(&cq, buf, n));
		assert_u64(cq.kind, COVE_PL_CATCHUP);
		assert_u64(cq.catchup.within_ms, v[i]);
		assert_u64(cq.catchup.nheads, i);
		for (size_t k = 0; k < i; k++) {
			assert_bytes(cq.catchup.heads[k].from, cp.catchup.heads[k].from, 32);
			assert_bytes(cq.catchup.heads[k].sid, cp.catchup.heads[k].sid, 16);
			assert_u64(cq.catchup.heads[k].n, v[k]);
		}
	}
}

TEST(catchup_with_the_most_heads_fits_a_payload)
{
	uint8_t buf[COVE_PAYLOAD_MAX];
	size_t n = 0;

	memset(&cp, 0, sizeof(cp));
	cp.kind = COVE_PL_CATCHUP;
	cp.catchup.nheads = COVE_CATCHUP_MAX;
	assert_ok(cove_payload_encode(&cp, buf, sizeof(buf), &n));
	assert_ok(cove_payload_decode(&cq, buf, n));
	assert_u64(cq.catchup.nheads, COVE_CATCHUP_MAX);
	cp.catchup.nheads = COVE_CATCHUP_MAX + 1;
	assert_err(cove_payload_encode(&cp, buf, sizeof(buf), &n), COVE_ERR_INVAL);
}

/* [3, within_ms, []] with within_ms a fixed-width uint64. */
TEST(catchup_encodes_to_known_bytes)
{
	uint8_t buf[32];
	size_t n = 0;

	memset(&cp, 0, sizeof(cp));
	cp.kind = COVE_PL_CATCHUP;
	cp.catchup.within_ms = 30000;
	assert_ok(cove_payload_encode(&cp, buf, sizeof(buf), &n));
	assert_u64(n, 12);
	assert_bytes(buf, "\x93\x03\xcf\0\0\0\0\0\0\x75\x30\x90", 12);
}

TEST(catchup_decode_refuses_other_shapes)
{
	static const struct { const char *bytes; size_t len; const char *what; } v[] = {
		{ "\x91\x03", 2, "[3]" },
		{ "\x92\x03\x01", 3, "[3, 1] without heads" },
		{ "\x93\x03\xff\x90", 4, "within_ms -1" },
		{ "\x93\x03\xa1" "1\x90", 5, "within_ms as str" },
		{ "\x93\x03\xc0\x90", 4, "within_ms nil" },
		{ "\x93\x03\x01\x01", 4, "heads not an array" },
		{ "\x93\x03\x01\x91\x01", 5, "a head not an array" },
		{ "\x93\x03\x01\x91\x92\xc4\x01\x00\xc4\x01\x00", 11, "a head of 2 elements" },
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int r = cove_payload_decode(&cq, (const uint8_t *)v[i].bytes, v[i].len);

		if (r != COVE_ERR_FIELD)
			fail_msg("%s: got %d (%s), want %d", v[i].what, r, cove_strerror(r),
				 COVE_ERR_FIELD);
	}
}

/* ---- HOLDERS ------------------------------------------------------------ */

TEST(holders_round_trips)
{
	static const uint32_t epochs[] = { 0, 1, 0x7fffffff, UINT32_MAX - 1 };

	for (size_t i = 0; i < sizeof(epochs) / sizeof(epochs[0]); i++) {
		uint8_t buf[COVE_PAYLOAD_MAX];
		size_t n = 0;

		memset(&cp, 0, sizeof(cp));
		cp.kind = COVE_PL_HOLDERS;
		cp.holders.epoch = epochs[i];
		cp.holders.nids = i; /* 0 to 3 */
		for (size_t k = 0; k < i; k++)
			memset(cp.holders.ids[k], (int)(0x40 + k), 32);
		assert_ok(cove_payload_encode(&cp, buf, sizeof(buf), &n));
		assert_ok(cove_payload_decode(&cq, buf, n));
		assert_u64(cq.kind, COVE_PL_HOLDERS);
		assert_u64(cq.holders.epoch, epochs[i]);
		assert_u64(cq.holders.nids, i);
		for (size_t k = 0; k < i; k++)
			assert_bytes(cq.holders.ids[k], cp.holders.ids[k], 32);
	}
}

TEST(holders_encode_to_known_bytes)
{
	/* [4, epoch 7 as uint32, [ 32 bytes of 0xaa ]] */
	uint8_t want[3 + 5 + 1 + 2 + 32], buf[64];
	size_t n = 0;

	want[0] = 0x93;
	want[1] = 0x04;
	want[2] = 0xce;
	want[3] = 0, want[4] = 0, want[5] = 0, want[6] = 7;
	want[7] = 0x91;
	want[8] = 0xc4;
	want[9] = 0x20;
	memset(want + 10, 0xaa, 32);
	memset(&cp, 0, sizeof(cp));
	cp.kind = COVE_PL_HOLDERS;
	cp.holders.epoch = 7;
	cp.holders.nids = 1;
	memset(cp.holders.ids[0], 0xaa, 32);
	assert_ok(cove_payload_encode(&cp, buf, sizeof(buf), &n));
	assert_u64(n, 42);
	assert_bytes(buf, want, 42);
}

TEST(holders_decode_refuses_other_shapes)
{
	static const struct { const char *bytes; size_t len; } bad[] = {
		{ "\x92\x04\x00", 3 },                   /* two elements */
		{ "\x94\x04\x00\x90\x00", 5 },          /* four */
		{ "\x93\x04\xa1x\x90", 5 },              /* epoch a str */
		{ "\x93\x04\xcf\x00\x00\x00\x01\x00\x00\x00\x00\x90", 12 }, /* epoch > 32 bits */
		{ "\x93\x04\x00\xc4\x00", 5 },          /* ids a bin */
		{ "\x93\x04\x00\x91\xc4\x01\x00", 7 },  /* an id of 1 byte */
		{ "\x93\x04\x00\x91\xa1x", 6 },         /* an id a str */
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cove_payload_decode(&cq, (const uint8_t *)bad[i].bytes, bad[i].len);

		if (r != COVE_ERR_FIELD)
			fail_msg("case %zu: got %d (%s), want a field error", i, r,
				 cove_strerror(r));
	}
}

TEST(holders_with_the_most_ids_fits_and_one_more_is_refused)
{
	uint8_t buf[COVE_PAYLOAD_MAX];
	size_t n = 0;

	memset(&cp, 0, sizeof(cp));
	cp.kind = COVE_PL_HOLDERS;
	cp.holders.nids = COVE_HOLDERS_MAX;
	assert_ok(cove_payload_encode(&cp, buf, sizeof(buf), &n));
	assert_ok(cove_payload_decode(&cq, buf, n));
	assert_u64(cq.holders.nids, COVE_HOLDERS_MAX);
	cp.holders.nids = COVE_HOLDERS_MAX + 1;
	assert_err(cove_payload_encode(&cp, buf, sizeof(buf), &n), COVE_ERR_INVAL);
}

TEST(gone_round_trips_and_refuses_other_shapes)
{
	static const struct { const char *bytes; size_t len; } bad[] = {
		{ "\x93\x05\x91\xc4\x01\x00\x00", 7 }, /* three elements */
		{ "\x91\x05", 2 },                  /* one */
		{ "\x92\x05\xc4\x00", 4 },          /* byes a bin */
		{ "\x92\x05\x90", 3 },              /* no BYE */
		{ "\x92\x05\x91\xc4\x00", 5 },      /* an empty one */
		{ "\x92\x05\x91\x01", 4 },          /* one not a bin */
	};
	uint8_t buf[COVE_PAYLOAD_MAX], a[COVE_GONE_BYE_MAX], b[3] = { 1, 2, 3 };
	size_t n = 0;

	memset(a, 0x51, sizeof(a));
	memset(&cp, 0, sizeof(cp));
	cp.kind = COVE_PL_GONE;
	cp.gone.nbyes = 2;
	cp.gone.bye[0] = a;
	cp.gone.bye_len[0] = sizeof(a);
	cp.gone.bye[1] = b;
	cp.gone.bye_len[1] = sizeof(b);
	assert_ok(cove_payload_encode(&cp, buf, sizeof(buf), &n));
	/* [5, [bin16 512, bin8 3]] */
	assert_u64(n, 2 + 1 + (3 + COVE_GONE_BYE_MAX) + (2 + 3));
	assert_ok(cove_payload_decode(&cq, buf, n));
	assert_u64(cq.kind, COVE_PL_GONE);
	assert_u64(cq.gone.nbyes, 2);
	assert_u64(cq.gone.bye_len[0], sizeof(a));
	assert_bytes(cq.gone.bye[0], a, sizeof(a));
	assert_u64(cq.gone.bye_len[1], 3);
	assert_bytes(cq.gone.bye[1], b, 3);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = cove_payload_decode(&cq, (const uint8_t *)bad[i].bytes, bad[i].len);

		if (r != COVE_ERR_FIELD)
			fail_msg("case %zu: got %d (%s), want a field error", i, r,
				 cove_strerror(r));
	}
	/* no more BYEs, nor longer ones, than a GONE carries */
	cp.gone.nbyes = COVE_GONE_MAX + 1;
	assert_err(cove_payload_encode(&cp, buf, sizeof(buf), &n), COVE_ERR_INVAL);
	cp.gone.nbyes = 1;
	cp.gone.bye_len[0] = COVE_GONE_BYE_MAX + 1;
	assert_err(cove_payload_encode(&cp, buf, sizeof(buf), &n), COVE_ERR_INVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_round_trips),
		cmocka_unit_test(largest_text_fits_the_largest_padding_bucket),
		cmocka_unit_test(encode_rejects_invalid_utf8),
		cmocka_unit_test(decode_rejects_invalid_utf8),
		cmocka_unit_test(unknown_kind_gives_type_error_with_the_kind),
		cmocka_unit_test(encode_refuses_unknown_kinds),
		cmocka_unit_test(empty_text_is_rejected),
		cmocka_unit_test(too_long_text_is_rejected),
		cmocka_unit_test(decode_rejects_other_shapes),
		cmocka_unit_test(encode_into_too_small_buffer_fails_with_space),
		cmocka_unit_test(resend_round_trips),
		cmocka_unit_test(resend_encodes_to_known_bytes),
		cmocka_unit_test(resend_with_first_above_last_is_refused_on_encode),
		cmocka_unit_test(resend_with_first_above_last_is_refused_on_decode),
		cmocka_unit_test(resend_decode_refuses_from_and_sid_of_other_sizes_or_types),
		cmocka_unit_test(resend_decode_refuses_first_and_last_that_are_not_uints),
		cmocka_unit_test(resend_decode_refuses_other_element_counts),
		cmocka_unit_test(resend_encode_into_too_small_buffer_fails_with_space),
		cmocka_unit_test(catchup_round_trips),
		cmocka_unit_test(catchup_with_the_most_heads_fits_a_payload),
		cmocka_unit_test(catchup_encodes_to_known_bytes),
		cmocka_unit_test(catchup_decode_refuses_other_shapes),
		cmocka_unit_test(holders_round_trips),
		cmocka_unit_test(holders_encode_to_known_bytes),
		cmocka_unit_test(holders_decode_refuses_other_shapes),
		cmocka_unit_test(holders_with_the_most_ids_fits_and_one_more_is_refused),
		cmocka_unit_test(gone_round_trips_and_refuses_other_shapes),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
