/*
 * test_payload.c - the typed plaintext inside a DAT: text round trips,
 * only valid UTF-8 passes either way, and an unknown kind is reported with
 * its number so a node can say what it could not show.
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
	struct cove_payload p = { COVE_PL_TEXT, text, len }, q;
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
	struct cove_payload p = { COVE_PL_TEXT, NULL, COVE_TEXT_MAX };
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
		struct cove_payload p = { COVE_PL_TEXT, bad[i], lens[i] };
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
		{ "\x92\x02\xa1x", 4, 2 },
		{ "\x91\x00", 2, 0 },
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
	struct cove_payload p = { 2, "x", 1 };
	uint8_t buf[64];
	size_t n = 0;

	assert_err(cove_payload_encode(&p, buf, sizeof(buf), &n), COVE_ERR_INVAL);
	p.kind = 0;
	assert_err(cove_payload_encode(&p, buf, sizeof(buf), &n), COVE_ERR_INVAL);
}

TEST(empty_text_is_rejected)
{
	struct cove_payload p = { COVE_PL_TEXT, "", 0 };
	uint8_t buf[64];
	size_t n = 0;

	assert_err(cove_payload_encode(&p, buf, sizeof(buf), &n), COVE_ERR_INVAL);
	assert_err(cove_payload_decode(&p, (const uint8_t *)"\x92\x01\xa0", 3), COVE_ERR_FIELD);
}

TEST(too_long_text_is_rejected)
{
	struct cove_payload p = { COVE_PL_TEXT, NULL, COVE_TEXT_MAX + 1 };
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
	struct cove_payload p = { COVE_PL_TEXT, "hello", 5 };
	uint8_t buf[16];
	size_t n = 0;

	assert_ok(cove_payload_encode(&p, buf, sizeof(buf), &n));
	assert_u64(n, 8); /* 92 01 a5 "hello" */
	assert_bytes(buf, "\x92\x01\xa5hello", 8);
	assert_err(cove_payload_encode(&p, buf, n - 1, &n), COVE_ERR_SPACE);
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
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
