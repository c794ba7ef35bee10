/*
 * test_stream.c - the length-prefixed record reassembler: records come out
 * whole and in order however TCP splits the bytes, and a bad length is
 * refused before any memory is set aside for it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <sodium.h>

#include "tests/unit/check.h"
#include "wire/stream.h"

#define MAX 1000

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* Writes record i (length 1 + i % 300, bytes derived from i) at p and
 * returns its size with the prefix. */
static size_t put_record(uint8_t *p, unsigned i)
{
	size_t n = 1 + i % 300;

	put_be32(p, (uint32_t)n);
	for (size_t k = 0; k < n; k++)
		p[4 + k] = (uint8_t)(i * 31 + k);
	return 4 + n;
}

static void assert_record(const uint8_t *rec, size_t len, unsigned i)
{
	uint8_t want[300];
	size_t n = 1 + i % 300;

	if (len != n)
		fail_msg("record %u: %zu bytes, want %zu", i, len, n);
	for (size_t k = 0; k < n; k++)
		want[k] = (uint8_t)(i * 31 + k);
	assert_bytes(rec, want, n);
}

/* Feeds data in chunks of the given sizes (cycled) and checks that
 * records first..first+count-1 come out in order. */
static void feed_in_chunks(const uint8_t *data, size_t len, const size_t *chunks, size_t nchunks,
			   unsigned first, unsigned count)
{
	struct cove_stream s;
	size_t pos = 0, c = 0;
	unsigned got = 0;

	cove_stream_init(&s, MAX);
	while (pos < len) {
		size_t take = chunks[c++ % nchunks], off = 0;

		if (take > len - pos)
			take = len - pos;
		while (off < take) {
			const uint8_t *rec = NULL;
			size_t used = 0, rec_len = 0;
			int r = cove_stream_feed(&s, data + pos + off, take - off, &used, &rec,
						 &rec_len);

			if (r < 0)
				fail_msg("at byte %zu: got %d (%s)", pos + off, r, cove_strerror(r));
			if (used == 0 || used > take - off)
				fail_msg("at byte %zu: used %zu of %zu", pos + off, used, take - off);
			off += used;
			if (r == 1) {
				if (got >= count)
					fail_msg("record %u beyond the %u sent", got, count);
				assert_record(rec, rec_len, first + got);
				got++;
			} else if (off != take) {
				fail_msg("returned 0 with %zu of %zu bytes unused", take - off, take);
			}
		}
		pos += take;
	}
	assert_u64(got, count);
	assert_u64(cove_stream_pending(&s), 0);
	cove_stream_free(&s);
}

TEST(record_fed_one_byte_at_a_time_comes_out_whole)
{
	uint8_t buf[400];
	size_t len = put_record(buf, 77), one = 1;

	feed_in_chunks(buf, len, &one, 1, 77, 1);
}

TEST(pending_counts_the_bytes_of_a_partial_record)
{
	uint8_t buf[400];
	size_t len = put_record(buf, 40), used = 0, rec_len = 0;
	const uint8_t *rec = NULL;
	struct cove_stream s;

	cove_stream_init(&s, MAX);
	assert_u64(cove_stream_pending(&s), 0);
	for (size_t i = 0; i + 1 < len; i++) {
		assert_int_equal(cove_stream_feed(&s, buf + i, 1, &used, &rec, &rec_len), 0);
		assert_u64(cove_stream_pending(&s), i + 1);
	}
	assert_int_equal(cove_stream_feed(&s, buf + len - 1, 1, &used, &rec, &rec_len), 1);
	assert_u64(cove_stream_pending(&s), 0);
	cove_stream_free(&s);
}

TEST(hundred_records_in_one_buffer_come_out_in_order)
{
	static uint8_t buf[100 * 304];
	size_t len = 0, all = sizeof(buf);

	for (unsigned i = 0; i < 100; i++)
		len += put_record(buf + len, i);
	all = len;
	feed_in_chunks(buf, len, &all, 1, 0, 100);
}

TEST(any_split_of_the_bytes_gives_the_same_records)
{
	static const size_t patterns[][4] = {
		{ 1, 2, 3, 5 }, { 4, 4, 4, 4 }, { 3, 1, 7, 2 }, { 5, 300, 1, 9 },
		{ 299, 301, 4, 1 }, { 1000, 1, 1, 1 }, { 2, 6, 2, 6 },
	};
	static uint8_t buf[200 * 304];
	size_t len = 0;
	uint64_t rng = 7;

	for (unsigned i = 0; i < 200; i++)
		len += put_record(buf + len, i);
	for (size_t p = 0; p < sizeof(patterns) / sizeof(patterns[0]); p++)
		feed_in_chunks(buf, len, patterns[p], 4, 0, 200);
	for (int round = 0; round < 50; round++) {
		size_t chunks[16];

		for (size_t k = 0; k < 16; k++)
			chunks[k] = 1 + prng_below(&rng, 700);
		feed_in_chunks(buf, len, chunks, 16, 0, 200);
	}
}

/* Feeds the 4-byte prefix v whole or a byte at a time; it must fail on
 * the fourth byte with nothing allocated, and stay failed. */
static void expect_bad_prefix(uint32_t v, int byte_by_byte)
{
	uint8_t buf[8], good[8];
	struct cove_stream s;
	const uint8_t *rec = NULL;
	size_t used = 0, rec_len = 0;
	int r;

	put_be32(buf, v);
	buf[4] = buf[5] = buf[6] = buf[7] = 0xaa;
	cove_stream_init(&s, MAX);
	if (byte_by_byte) {
		for (int i = 0; i < 3; i++) {
			r = cove_stream_feed(&s, buf + i, 1, &used, &rec, &rec_len);
			if (r != 0)
				fail_msg("prefix 0x%08x, byte %d: got %d (%s), want 0", v, i, r,
					 cove_strerror(r));
		}
		r = cove_stream_feed(&s, buf + 3, 5, &used, &rec, &rec_len);
	} else {
		r = cove_stream_feed(&s, buf, sizeof(buf), &used, &rec, &rec_len);
	}
	if (r != COVE_ERR_FRAME_SIZE)
		fail_msg("prefix 0x%08x (%s): got %d (%s), want %d", v,
			 byte_by_byte ? "byte by byte" : "whole", r, cove_strerror(r),
			 COVE_ERR_FRAME_SIZE);
	assert_u64(s.cap, 0);
	assert_null(s.buf);
	/* A valid record afterwards is still refused. */
	put_be32(good, 4);
	memcpy(good + 4, "abcd", 4);
	assert_err(cove_stream_feed(&s, good, sizeof(good), &used, &rec, &rec_len),
		   COVE_ERR_FRAME_SIZE);
	assert_u64(used, 0);
	assert_u64(s.cap, 0);
	cove_stream_free(&s);
}

TEST(length_prefix_of_zero_fails)
{
	expect_bad_prefix(0, 0);
	expect_bad_prefix(0, 1);
}

TEST(length_prefix_of_max_plus_one_fails)
{
	expect_bad_prefix(MAX + 1, 0);
	expect_bad_prefix(MAX + 1, 1);
}

TEST(length_prefix_of_ffffffff_fails)
{
	expect_bad_prefix(0xffffffffu, 0);
	expect_bad_prefix(0xffffffffu, 1);
	expect_bad_prefix(0x80000000u, 1);
}

TEST(length_prefix_of_exactly_max_is_accepted)
{
	uint8_t *buf = calloc(1, 4 + MAX);
	struct cove_stream s;
	const uint8_t *rec = NULL;
	size_t used = 0, rec_len = 0;

	assert_non_null(buf);
	put_be32(buf, MAX);
	cove_stream_init(&s, MAX);
	/* Split, so the record is buffered rather than returned in place. */
	assert_int_equal(cove_stream_feed(&s, buf, 10, &used, &rec, &rec_len), 0);
	assert_int_equal(cove_stream_feed(&s, buf + 10, 4 + MAX - 10, &used, &rec, &rec_len), 1);
	assert_u64(rec_len, MAX);
	assert_true(s.cap <= MAX);
	cove_stream_free(&s);
	free(buf);
}

TEST(buffer_never_exceeds_the_record_being_assembled)
{
	static uint8_t buf[100 * 304];
	struct cove_stream s;
	size_t len = 0, pos = 0, largest = 0;

	for (unsigned i = 0; i < 100; i++)
		len += put_record(buf + len, 3 * i); /* lengths up to 298 */
	cove_stream_init(&s, MAX);
	while (pos < len) {
		const uint8_t *rec = NULL;
		size_t used = 0, rec_len = 0;
		size_t take = len - pos < 7 ? len - pos : 7;
		int r = cove_stream_feed(&s, buf + pos, take, &used, &rec, &rec_len);

		assert_true(r >= 0);
		pos += used;
		if (r == 1 && rec_len > largest)
			largest = rec_len;
		if (s.cap > 298)
			fail_msg("buffer of %zu bytes for records of at most 298", s.cap);
	}
	assert_u64(largest, 298);
	cove_stream_free(&s);
}

TEST(raising_the_maximum_admits_longer_records)
{
	uint8_t buf[4 + 2000];
	struct cove_stream s;
	const uint8_t *rec = NULL;
	size_t used = 0, rec_len = 0;

	memset(buf, 0x5c, sizeof(buf));
	put_be32(buf, 2000);
	cove_stream_init(&s, 128);
	cove_stream_set_max(&s, 2000);
	assert_int_equal(cove_stream_feed(&s, buf, sizeof(buf), &used, &rec, &rec_len), 1);
	assert_u64(rec_len, 2000);
	assert_u64(used, sizeof(buf));
	cove_stream_free(&s);
}

TEST(free_releases_the_buffer_and_allows_reuse)
{
	uint8_t buf[400];
	size_t len = put_record(buf, 250), used = 0, rec_len = 0;
	const uint8_t *rec = NULL;
	struct cove_stream s;

	cove_stream_init(&s, MAX);
	assert_int_equal(cove_stream_feed(&s, buf, 100, &used, &rec, &rec_len), 0);
	assert_non_null(s.buf);
	cove_stream_free(&s);
	assert_null(s.buf);
	assert_u64(cove_stream_pending(&s), 0);
	assert_u64(s.max, MAX);
	assert_int_equal(cove_stream_feed(&s, buf, len, &used, &rec, &rec_len), 1);
	assert_record(rec, rec_len, 250);
	cove_stream_free(&s);
	cove_stream_free(&s); /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(record_fed_one_byte_at_a_time_comes_out_whole),
		cmocka_unit_test(pending_counts_the_bytes_of_a_partial_record),
		cmocka_unit_test(hundred_records_in_one_buffer_come_out_in_order),
		cmocka_unit_test(any_split_of_the_bytes_gives_the_same_records),
		cmocka_unit_test(length_prefix_of_zero_fails),
		cmocka_unit_test(length_prefix_of_max_plus_one_fails),
		cmocka_unit_test(length_prefix_of_ffffffff_fails),
		cmocka_unit_test(length_prefix_of_exactly_max_is_accepted),
		cmocka_unit_test(buffer_never_exceeds_the_record_being_assembled),
		cmocka_unit_test(raising_the_maximum_admits_longer_records),
		cmocka_unit_test(free_releases_the_buffer_and_allows_reuse),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
