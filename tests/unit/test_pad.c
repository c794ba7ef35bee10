/*
 * test_pad.c - length hiding for DAT plaintexts: every short line pads to
 * 256 bytes, longer ones to a Padme bucket costing at most 12%, and
 * unpadding accepts only the one canonical padding of each length. Link
 * records likewise: every frame of up to 639 bytes (every control frame)
 * pads to 640, longer ones to their Padme class.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/pad.h"
#include "tests/unit/check.h"

TEST(payloads_up_to_255_bytes_pad_to_256)
{
	for (size_t n = 0; n <= 255; n++)
		if (cove_pad_size(n) != COVE_PAD_MIN)
			fail_msg("cove_pad_size(%zu) = %zu, want %d", n, cove_pad_size(n),
				 COVE_PAD_MIN);
}

/* Known answers, computed independently from the Padme definition
 * (Nikitin et al. 2019) applied to n + 1. */
TEST(bucket_sizes_match_padme_of_n_plus_one)
{
	static const size_t kat[][2] = {
		{ 256, 272 },  { 257, 272 },   { 300, 304 },     { 511, 512 },
		{ 512, 544 },  { 1000, 1024 }, { 4095, 4096 },   { 10000, 10240 },
		{ 32766, 32768 }, { 32767, 32768 },
	};

	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++)
		if (cove_pad_size(kat[i][0]) != kat[i][1])
			fail_msg("cove_pad_size(%zu) = %zu, want %zu", kat[i][0],
				 cove_pad_size(kat[i][0]), kat[i][1]);
}

TEST(powers_of_two_above_256_are_their_own_bucket)
{
	/* A padded size of 2^k (payload 2^k - 1 plus the marker) needs no
	 * rounding. */
	for (size_t p = 512; p <= COVE_PAD_MAX; p *= 2)
		if (cove_pad_size(p - 1) != p)
			fail_msg("cove_pad_size(%zu) = %zu, want %zu", p - 1, cove_pad_size(p - 1), p);
}

TEST(overhead_is_never_above_12_percent)
{
	size_t prev = 0;

	for (size_t n = 256; n <= COVE_PAD_MAX_PAYLOAD; n++) {
		size_t b = cove_pad_size(n);

		if (b < n + 1 || (b - n) * 100 > 12 * n)
			fail_msg("payload %zu pads to %zu: overhead %zu bytes", n, b, b - n);
		if (b < prev)
			fail_msg("payload %zu pads to %zu, below %zu for a shorter one", n, b, prev);
		prev = b;
	}
}

TEST(payloads_above_the_maximum_have_no_bucket)
{
	uint8_t buf[8];
	size_t padded = 0;

	assert_u64(cove_pad_size(COVE_PAD_MAX_PAYLOAD + 1), 0);
	assert_u64(cove_pad_size(SIZE_MAX), 0);
	assert_err(cove_pad(buf, COVE_PAD_MAX_PAYLOAD + 1, SIZE_MAX, &padded), COVE_ERR_INVAL);
}

TEST(pad_then_unpad_gives_back_the_length)
{
	uint8_t *buf = malloc(COVE_PAD_MAX);
	uint64_t rng = 3;

	assert_non_null(buf);
	for (size_t n = 0; n <= COVE_PAD_MAX_PAYLOAD; n += (n < 2048 ? 1 : 97)) {
		size_t padded = 0, back = 0;

		/* The payload's own bytes may be anything, 0x80 and 0 included. */
		prng_fill(&rng, buf, n);
		if (n > 0)
			buf[n - 1] = (uint8_t)(n % 3 == 0 ? 0x80 : n % 3 == 1 ? 0x00 : buf[n - 1]);
		assert_ok(cove_pad(buf, n, COVE_PAD_MAX, &padded));
		assert_u64(padded, cove_pad_size(n));
		assert_u64(buf[n], 0x80);
		for (size_t k = n + 1; k < padded; k++)
			if (buf[k] != 0)
				fail_msg("payload %zu: padding byte %zu is 0x%02x", n, k, buf[k]);
		assert_ok(cove_unpad(buf, padded, &back));
		if (back != n)
			fail_msg("payload %zu came back as %zu", n, back);
	}
	free(buf);
}

TEST(pad_into_too_small_buffer_fails_with_space)
{
	uint8_t buf[300];
	size_t padded = 0;

	memset(buf, 'a', sizeof(buf));
	assert_err(cove_pad(buf, 10, 255, &padded), COVE_ERR_SPACE);
	assert_err(cove_pad(buf, 256, 271, &padded), COVE_ERR_SPACE);
	assert_ok(cove_pad(buf, 10, 256, &padded));
	assert_u64(padded, 256);
}

/* A buffer of len bytes: payload bytes 'p', then the marker at m, zeros. */
static uint8_t *padded_buf(size_t len, size_t m)
{
	uint8_t *b = calloc(1, len);

	assert_non_null(b);
	memset(b, 'p', m);
	if (m < len)
		b[m] = 0x80;
	return b;
}

TEST(unpad_rejects_a_nonzero_byte_after_the_marker)
{
	for (size_t k = 11; k < 256; k += 7) {
		uint8_t *b = padded_buf(256, 10);
		size_t n = 0;

		b[k] = 0x01;
		assert_err(cove_unpad(b, 256, &n), COVE_ERR_PADDING);
		free(b);
	}
}

TEST(unpad_rejects_a_missing_marker)
{
	uint8_t *zeros = calloc(1, 256), *text = padded_buf(256, 256);
	size_t n = 0;

	assert_non_null(zeros);
	assert_err(cove_unpad(zeros, 256, &n), COVE_ERR_PADDING);
	assert_err(cove_unpad(text, 256, &n), COVE_ERR_PADDING);
	free(zeros);
	free(text);
}

TEST(unpad_rejects_lengths_that_are_not_buckets)
{
	static const size_t lens[] = { 0, 1, 255, 257, 271, 273, 300, 513, 1000, 32767,
				       32769, 40000 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		/* Marker last: the payload is as long as the buffer allows. */
		size_t len = lens[i], n = 0;
		uint8_t *b = padded_buf(len ? len : 1, len ? len - 1 : 0);
		int r = cove_unpad(b, len, &n);

		if (r != COVE_ERR_PADDING)
			fail_msg("padded length %zu: got %d (%s)", len, r, cove_strerror(r));
		free(b);
	}
}

TEST(unpad_rejects_padding_longer_than_the_bucket)
{
	/* 10 bytes belong in 256; padded to 272 or 512 they are not canonical. */
	static const size_t lens[] = { 272, 512, 32768 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t *b = padded_buf(lens[i], 10);
		size_t n = 0;

		assert_err(cove_unpad(b, lens[i], &n), COVE_ERR_PADDING);
		free(b);
	}
}

/* Over every length from 256 to 4096 (and a stride beyond), a buffer
 * whose marker is its last byte unpads exactly when that length is the
 * bucket of the payload in front of it. */
TEST(unpad_accepts_exactly_the_bucket_lengths)
{
	uint8_t *b = calloc(1, COVE_PAD_MAX);

	assert_non_null(b);
	for (size_t len = COVE_PAD_MIN; len <= COVE_PAD_MAX; len += (len < 4096 ? 1 : 61)) {
		size_t n = 0;
		int want = cove_pad_size(len - 1) == len ? COVE_OK : COVE_ERR_PADDING;
		int r;

		b[len - 1] = 0x80;
		r = cove_unpad(b, len, &n);
		b[len - 1] = 0;
		if (r != want)
			fail_msg("length %zu: got %d (%s), want %d", len, r, cove_strerror(r), want);
		if (r == COVE_OK && n != len - 1)
			fail_msg("length %zu: payload %zu, want %zu", len, n, len - 1);
	}
	free(b);
}

/* ---- link records ------------------------------------------------------- */

TEST(link_frames_up_to_639_bytes_pad_to_640)
{
	for (size_t n = 1; n <= 639; n++)
		if (cove_link_pad_size(n) != COVE_LINK_PAD_MIN)
			fail_msg("cove_link_pad_size(%zu) = %zu, want %d", n, cove_link_pad_size(n),
				 COVE_LINK_PAD_MIN);
	assert_u64(COVE_LINK_PAD_MIN, 640);
}

/* Known answers, computed independently (Python) from the Padme
 * definition applied to n + 1, as for DAT payloads but with 640 as the
 * smallest class. */
TEST(link_size_classes_match_padme_of_n_plus_one)
{
	static const size_t kat[][2] = {
		{ 639, 640 },     { 640, 672 },     { 641, 672 },     { 671, 672 },
		{ 672, 704 },     { 700, 704 },     { 1000, 1024 },   { 1023, 1024 },
		{ 1024, 1088 },   { 2000, 2048 },   { 4096, 4352 },   { 10000, 10240 },
		{ 32768, 34816 }, { 65535, 65536 }, { 65536, 67584 },
	};

	for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++)
		if (cove_link_pad_size(kat[i][0]) != kat[i][1])
			fail_msg("cove_link_pad_size(%zu) = %zu, want %zu", kat[i][0],
				 cove_link_pad_size(kat[i][0]), kat[i][1]);
}

/* The largest frame makes the largest record: COVE_LINK_PAD_MAX, which
 * with the tag is wire/'s COVE_RECORD_MAX. Nothing is padded from an
 * empty frame or one above the frame maximum. */
TEST(link_frames_of_0_or_above_65536_bytes_have_no_class)
{
	assert_u64(COVE_LINK_FRAME_MAX, 65536);
	assert_u64(COVE_LINK_PAD_MAX, 67584);
	assert_u64(cove_link_pad_size(COVE_LINK_FRAME_MAX), COVE_LINK_PAD_MAX);
	assert_u64(cove_link_pad_size(0), 0);
	assert_u64(cove_link_pad_size(COVE_LINK_FRAME_MAX + 1), 0);
	assert_u64(cove_link_pad_size(SIZE_MAX), 0);
}

/* Above 640, at most 12% for the padding (marker included), never
 * shrinking as frames grow, and few classes in all: 110 lengths for the
 * 65536 frame sizes, so a record's length says little beyond its class. */
TEST(link_classes_cost_at_most_12_percent_and_are_few)
{
	size_t prev = 0, classes = 0;

	for (size_t n = 1; n <= COVE_LINK_FRAME_MAX; n++) {
		size_t c = cove_link_pad_size(n);

		if (c < n + 1 || (n >= COVE_LINK_PAD_MIN && (c - n) * 100 > 12 * n))
			fail_msg("frame %zu pads to %zu", n, c);
		if (c < prev)
			fail_msg("frame %zu pads to %zu, below %zu for a shorter one", n, c, prev);
		if (c != prev)
			classes++;
		prev = c;
	}
	assert_u64(classes, 110);
}

TEST(link_pad_then_unpad_gives_back_the_length)
{
	uint8_t *buf = malloc(COVE_LINK_PAD_MAX);
	uint64_t rng = 5;

	assert_non_null(buf);
	for (size_t n = 1; n <= COVE_LINK_FRAME_MAX; n += (n < 2048 ? 1 : 89)) {
		size_t c = cove_link_pad_size(n), back = 0;

		/* A frame may end in 0x80 or 0 itself. */
		prng_fill(&rng, buf, n);
		buf[n - 1] = (uint8_t)(n % 3 == 0 ? 0x80 : n % 3 == 1 ? 0x00 : buf[n - 1]);
		buf[n] = 0x80;
		memset(buf + n + 1, 0, c - n - 1);
		assert_ok(cove_link_unpad(buf, c, &back));
		if (back != n)
			fail_msg("frame %zu came back as %zu", n, back);
	}
	free(buf);
}

TEST(link_unpad_rejects_a_nonzero_byte_after_the_marker)
{
	for (size_t k = 13; k < 640; k += 7) {
		uint8_t *b = padded_buf(640, 12);
		size_t n = 0;

		b[k] = 0x01;
		assert_err(cove_link_unpad(b, 640, &n), COVE_ERR_PADDING);
		free(b);
	}
}

TEST(link_unpad_rejects_a_missing_marker_and_an_empty_frame)
{
	uint8_t *zeros = calloc(1, 640), *full = padded_buf(640, 640), *empty = padded_buf(640, 0);
	size_t n = 0;

	assert_non_null(zeros);
	assert_err(cove_link_unpad(zeros, 640, &n), COVE_ERR_PADDING);
	assert_err(cove_link_unpad(full, 640, &n), COVE_ERR_PADDING);
	/* The marker first: a frame of 0 bytes, which is no frame. */
	assert_err(cove_link_unpad(empty, 640, &n), COVE_ERR_PADDING);
	free(zeros);
	free(full);
	free(empty);
}

TEST(link_unpad_rejects_lengths_that_are_not_classes)
{
	/* 256 is a DAT bucket, not a link class; 656 is a record with its tag. */
	static const size_t lens[] = { 0, 1, 256, 639, 641, 656, 671, 673, 1000, 65535,
				       67583, 67585, 69632 };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i], n = 0;
		uint8_t *b = padded_buf(len ? len : 1, len ? len - 1 : 0);
		int r = cove_link_unpad(b, len, &n);

		if (r != COVE_ERR_PADDING)
			fail_msg("padded length %zu: got %d (%s)", len, r, cove_strerror(r));
		free(b);
	}
}

/* A short frame padded to a larger class than its own is refused: each
 * frame has exactly one padded form, so a sender cannot signal with it. */
TEST(link_unpad_rejects_a_frame_in_a_larger_class_than_its_own)
{
	static const size_t lens[] = { 672, 704, 1024, 34816, COVE_LINK_PAD_MAX };

	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		uint8_t *b = padded_buf(lens[i], 12);
		size_t n = 0;

		assert_err(cove_link_unpad(b, lens[i], &n), COVE_ERR_PADDING);
		free(b);
	}
	{
		/* 640 bytes belong in 672, not in 704. */
		uint8_t *b = padded_buf(704, 640);
		size_t n = 0;

		assert_err(cove_link_unpad(b, 704, &n), COVE_ERR_PADDING);
		free(b);
	}
}

TEST(link_unpad_accepts_exactly_the_class_lengths)
{
	uint8_t *b = calloc(1, COVE_LINK_PAD_MAX);

	assert_non_null(b);
	for (size_t len = COVE_LINK_PAD_MIN; len <= COVE_LINK_PAD_MAX;
	     len += (len < 4096 ? 1 : 53)) {
		size_t n = 0;
		int want = cove_link_pad_size(len - 1) == len ? COVE_OK : COVE_ERR_PADDING;
		int r;

		b[len - 1] = 0x80;
		r = cove_link_unpad(b, len, &n);
		b[len - 1] = 0;
		if (r != want)
			fail_msg("length %zu: got %d (%s), want %d", len, r, cove_strerror(r), want);
		if (r == COVE_OK && n != len - 1)
			fail_msg("length %zu: frame %zu, want %zu", len, n, len - 1);
	}
	/* The largest class holds frames of 65536 bytes, not 67583. */
	{
		size_t n = 0;

		b[COVE_LINK_PAD_MAX - 1] = 0x80;
		assert_err(cove_link_unpad(b, COVE_LINK_PAD_MAX, &n), COVE_ERR_PADDING);
		b[COVE_LINK_PAD_MAX - 1] = 0;
		b[COVE_LINK_FRAME_MAX] = 0x80;
		assert_ok(cove_link_unpad(b, COVE_LINK_PAD_MAX, &n));
		assert_u64(n, COVE_LINK_FRAME_MAX);
	}
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(payloads_up_to_255_bytes_pad_to_256),
		cmocka_unit_test(bucket_sizes_match_padme_of_n_plus_one),
		cmocka_unit_test(powers_of_two_above_256_are_their_own_bucket),
		cmocka_unit_test(overhead_is_never_above_12_percent),
		cmocka_unit_test(payloads_above_the_maximum_have_no_bucket),
		cmocka_unit_test(pad_then_unpad_gives_back_the_length),
		cmocka_unit_test(pad_into_too_small_buffer_fails_with_space),
		cmocka_unit_test(unpad_rejects_a_nonzero_byte_after_the_marker),
		cmocka_unit_test(unpad_rejects_a_missing_marker),
		cmocka_unit_test(unpad_rejects_lengths_that_are_not_buckets),
		cmocka_unit_test(unpad_rejects_padding_longer_than_the_bucket),
		cmocka_unit_test(unpad_accepts_exactly_the_bucket_lengths),
		cmocka_unit_test(link_frames_up_to_639_bytes_pad_to_640),
		cmocka_unit_test(link_size_classes_match_padme_of_n_plus_one),
		cmocka_unit_test(link_frames_of_0_or_above_65536_bytes_have_no_class),
		cmocka_unit_test(link_classes_cost_at_most_12_percent_and_are_few),
		cmocka_unit_test(link_pad_then_unpad_gives_back_the_length),
		cmocka_unit_test(link_unpad_rejects_a_nonzero_byte_after_the_marker),
		cmocka_unit_test(link_unpad_rejects_a_missing_marker_and_an_empty_frame),
		cmocka_unit_test(link_unpad_rejects_lengths_that_are_not_classes),
		cmocka_unit_test(link_unpad_rejects_a_frame_in_a_larger_class_than_its_own),
		cmocka_unit_test(link_unpad_accepts_exactly_the_class_lengths),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
