/*
 * test_mpcheck.c - cove_mp_check() is the gate in front of msgpack-c: any
 * input it passes must be safe to unpack (allocations bounded by the input
 * size), and it must pass every well-formed value within the depth limit.
 *
 * Under SANITIZE=1 the first test also proves no huge allocation is tried:
 * AddressSanitizer aborts on a 100 GB request instead of returning NULL.
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
#include "wire/mpcheck.h"
#include "wire/payload.h"

#define CHECK(bytes, depth) cove_mp_check((const uint8_t *)(bytes), sizeof(bytes) - 1, (depth))

TEST(array32_claiming_four_billion_elements_is_rejected)
{
	static const uint8_t huge[] = { 0xdd, 0xff, 0xff, 0xff, 0xff };
	struct cove_frame f;
	struct cove_payload p;

	assert_err(cove_mp_check(huge, sizeof(huge), COVE_MP_MAX_DEPTH), COVE_ERR_MSGPACK);
	/* The decoders that sit on msgpack-c must stop at the check too. */
	assert_err(cove_frame_decode(&f, huge, sizeof(huge)), COVE_ERR_MSGPACK);
	assert_err(cove_payload_decode(&p, huge, sizeof(huge)), COVE_ERR_MSGPACK);
}

TEST(map32_declaring_more_pairs_than_remain_is_rejected)
{
	/* 2 pairs need 4 elements; only 3 bytes follow. */
	assert_err(CHECK("\xdf\x00\x00\x00\x02\x01\x02\x03", 1), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xdf\xff\xff\xff\xff\x01\x02", 1), COVE_ERR_MSGPACK);
	assert_ok(CHECK("\xdf\x00\x00\x00\x02\x01\x02\x03\x04", 1));
}

TEST(array16_declaring_more_elements_than_remain_is_rejected)
{
	assert_err(CHECK("\xdc\x00\x05\x01\x02\x03\x04", 1), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xdc\xff\xff", 1), COVE_ERR_MSGPACK);
	assert_ok(CHECK("\xdc\x00\x05\x01\x02\x03\x04\x05", 1));
}

TEST(str32_longer_than_what_remains_is_rejected)
{
	assert_err(CHECK("\xdb\x00\x00\x00\x04" "abc", 0), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xdb\xff\xff\xff\xff" "abc", 0), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xd9\x04" "abc", 0), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xda\x00\x04" "abc", 0), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xa4" "abc", 0), COVE_ERR_MSGPACK);
	assert_ok(CHECK("\xdb\x00\x00\x00\x03" "abc", 0));
}

TEST(bin32_longer_than_what_remains_is_rejected)
{
	assert_err(CHECK("\xc6\x00\x00\x01\x00" "0123456789", 0), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xc6\xff\xff\xff\xff" "0123456789", 0), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xc4\x0b" "0123456789", 0), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xc5\x00\x0b" "0123456789", 0), COVE_ERR_MSGPACK);
	assert_ok(CHECK("\xc6\x00\x00\x00\x0a" "0123456789", 0));
}

TEST(ext32_longer_than_what_remains_is_rejected)
{
	/* ext data follows a one-byte type: 4 data bytes need 5. */
	assert_err(CHECK("\xc9\x00\x00\x00\x04\x01\xaa\xbb\xcc", 0), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xc9\xff\xff\xff\xff\x01\xaa", 0), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xc7\x04\x01\xaa\xbb\xcc", 0), COVE_ERR_MSGPACK);
	assert_err(CHECK("\xc8\x00\x04\x01\xaa\xbb\xcc", 0), COVE_ERR_MSGPACK);
	assert_ok(CHECK("\xc9\x00\x00\x00\x04\x01\xaa\xbb\xcc\xdd", 0));
	assert_ok(CHECK("\xc7\x00\x01", 0));
}

TEST(open_containers_owing_more_than_remains_are_rejected)
{
	/* The inner array's 14 elements fit in the 14 bytes left, but the
	 * outer array still owes one more: 15 elements, 14 bytes. */
	static const uint8_t b[] = { 0x92, 0x9e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

	assert_err(cove_mp_check(b, sizeof(b), 2), COVE_ERR_MSGPACK);
	assert_ok(cove_mp_check(b + 1, sizeof(b) - 1, 2));
}

TEST(nesting_deeper_than_max_depth_is_rejected)
{
	assert_err(CHECK("\x91\x91\x91\x01", 2), COVE_ERR_DEPTH);
	assert_ok(CHECK("\x91\x91\x91\x01", 3));
	assert_err(CHECK("\x81\x01\x81\x01\x02", 1), COVE_ERR_DEPTH);
	assert_ok(CHECK("\x81\x01\x81\x01\x02", 2));
	/* An empty container still counts as a level. */
	assert_err(CHECK("\x91\x90", 1), COVE_ERR_DEPTH);
	assert_err(CHECK("\x90", 0), COVE_ERR_DEPTH);
	assert_err(CHECK("\x80", 0), COVE_ERR_DEPTH);
	assert_ok(CHECK("\x90", 1));
	/* A scalar needs no depth at all. */
	assert_ok(CHECK("\x01", 0));
}

TEST(max_depth_of_32_is_the_ceiling)
{
	uint8_t b[COVE_MP_MAX_DEPTH + 2];

	memset(b, 0x91, sizeof(b));
	b[COVE_MP_MAX_DEPTH] = 0x01; /* 32 arrays around a 1 */
	assert_ok(cove_mp_check(b, COVE_MP_MAX_DEPTH + 1, COVE_MP_MAX_DEPTH));
	b[COVE_MP_MAX_DEPTH] = 0x91;
	b[COVE_MP_MAX_DEPTH + 1] = 0x01; /* 33 arrays */
	assert_err(cove_mp_check(b, sizeof(b), COVE_MP_MAX_DEPTH), COVE_ERR_DEPTH);
	assert_err(cove_mp_check(b, sizeof(b), COVE_MP_MAX_DEPTH + 1), COVE_ERR_INVAL);
}

TEST(trailing_bytes_are_rejected)
{
	assert_err(CHECK("\x01\x02", 1), COVE_ERR_TRAILING);
	assert_err(CHECK("\x91\x01\x01", 1), COVE_ERR_TRAILING);
	assert_err(CHECK("\xc0\x00", 1), COVE_ERR_TRAILING);
	assert_err(CHECK("\x90\x90", 1), COVE_ERR_TRAILING);
}

TEST(byte_c1_is_rejected)
{
	assert_err(CHECK("\xc1", 1), COVE_ERR_MSGPACK);
	assert_err(CHECK("\x92\x01\xc1", 1), COVE_ERR_MSGPACK);
	assert_err(CHECK("\x81\xc1\x01", 1), COVE_ERR_MSGPACK);
}

TEST(empty_input_is_rejected)
{
	assert_err(cove_mp_check((const uint8_t *)"", 0, 1), COVE_ERR_MSGPACK);
	assert_err(cove_mp_check(NULL, 0, 1), COVE_ERR_MSGPACK);
}

/* Every fixed-size type, complete: truncating it anywhere must fail. */
TEST(truncated_fixed_size_values_are_rejected)
{
	static const struct { uint8_t tag; size_t total; const char *name; } types[] = {
		{ 0xca, 5, "float32" },  { 0xcb, 9, "float64" },  { 0xcc, 2, "uint8" },
		{ 0xcd, 3, "uint16" },   { 0xce, 5, "uint32" },   { 0xcf, 9, "uint64" },
		{ 0xd0, 2, "int8" },     { 0xd1, 3, "int16" },    { 0xd2, 5, "int32" },
		{ 0xd3, 9, "int64" },    { 0xd4, 3, "fixext1" },  { 0xd5, 4, "fixext2" },
		{ 0xd6, 6, "fixext4" },  { 0xd7, 10, "fixext8" }, { 0xd8, 18, "fixext16" },
	};
	uint8_t b[32];

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int r;

		memset(b, 0x11, sizeof(b));
		b[0] = types[i].tag;
		r = cove_mp_check(b, types[i].total, 1);
		if (r != COVE_OK)
			fail_msg("complete %s (%zu bytes): got %d (%s), want 0", types[i].name,
				 types[i].total, r, cove_strerror(r));
		for (size_t n = 1; n < types[i].total; n++) {
			r = cove_mp_check(b, n, 1);
			if (r != COVE_ERR_MSGPACK)
				fail_msg("%s cut to %zu of %zu bytes: got %d (%s), want %d",
					 types[i].name, n, types[i].total, r, cove_strerror(r),
					 COVE_ERR_MSGPACK);
		}
		/* And as the last element of an array. */
		{
			uint8_t a[40];

			a[0] = 0x92;
			a[1] = 0x01;
			memcpy(a + 2, b, types[i].total);
			for (size_t n = 3; n < types[i].total + 2; n++) {
				r = cove_mp_check(a, n, 1);
				if (r != COVE_ERR_MSGPACK)
					fail_msg("[1, %s] cut to %zu bytes: got %d (%s)",
						 types[i].name, n, r, cove_strerror(r));
			}
			assert_ok(cove_mp_check(a, types[i].total + 2, 1));
		}
	}
}

TEST(truncated_length_headers_are_rejected)
{
	static const struct { uint8_t tag; size_t lenbytes; } types[] = {
		{ 0xc4, 1 }, { 0xc5, 2 }, { 0xc6, 4 }, { 0xc7, 1 }, { 0xc8, 2 }, { 0xc9, 4 },
		{ 0xd9, 1 }, { 0xda, 2 }, { 0xdb, 4 }, { 0xdc, 2 }, { 0xdd, 4 }, { 0xde, 2 },
		{ 0xdf, 4 },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		uint8_t b[5] = { types[i].tag, 0, 0, 0, 0 };

		for (size_t n = 1; n <= types[i].lenbytes; n++) {
			int r = cove_mp_check(b, n, 1);

			if (r != COVE_ERR_MSGPACK)
				fail_msg("tag 0x%02x with %zu of %zu length bytes: got %d (%s)",
					 types[i].tag, n - 1, types[i].lenbytes, r,
					 cove_strerror(r));
		}
	}
}

static void pack_sample(msgpack_packer *pk)
{
	msgpack_pack_map(pk, 3);
	msgpack_pack_str_with_body(pk, "list", 4);
	msgpack_pack_array(pk, 9);
	msgpack_pack_uint64(pk, UINT64_MAX);
	msgpack_pack_int64(pk, INT64_MIN);
	msgpack_pack_double(pk, 2.5);
	msgpack_pack_float(pk, 1.5f);
	msgpack_pack_nil(pk);
	msgpack_pack_true(pk);
	msgpack_pack_bin_with_body(pk, "\x00\x01\x02", 3);
	msgpack_pack_ext_with_body(pk, "abcd", 4, 7);
	msgpack_pack_map(pk, 1);
	msgpack_pack_str_with_body(pk, "x", 1);
	msgpack_pack_int8(pk, -1);
	msgpack_pack_str_with_body(pk, "empty", 5);
	msgpack_pack_array(pk, 0);
	msgpack_pack_uint8(pk, 0);
	msgpack_pack_str(pk, 300);
	for (int i = 0; i < 300; i++)
		msgpack_pack_str_body(pk, "z", 1);
}

TEST(valid_nested_value_is_accepted)
{
	msgpack_sbuffer sb;
	msgpack_packer pk;

	msgpack_sbuffer_init(&sb);
	msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
	pack_sample(&pk);
	assert_ok(cove_mp_check((const uint8_t *)sb.data, sb.size, 3));
	assert_err(cove_mp_check((const uint8_t *)sb.data, sb.size, 2), COVE_ERR_DEPTH);
	msgpack_sbuffer_destroy(&sb);
}

/* Random well-formed trees, as msgpack-c packs them, are all accepted. */
static uint64_t rng = 1;

static void pack_random(msgpack_packer *pk, unsigned depth)
{
	uint32_t r = prng_below(&rng, depth > 0 ? 10 : 7);

	switch (r) {
	case 0: msgpack_pack_uint64(pk, (uint64_t)prng_next(&rng) << prng_below(&rng, 33)); break;
	case 1: msgpack_pack_int64(pk, -(int64_t)prng_below(&rng, 1u << 31) - 1); break;
	case 2: msgpack_pack_double(pk, 0.25); break;
	case 3: msgpack_pack_nil(pk); break;
	case 4: {
		uint32_t n = prng_below(&rng, 300);

		msgpack_pack_str(pk, n);
		for (uint32_t i = 0; i < n; i++)
			msgpack_pack_str_body(pk, "s", 1);
		break;
	}
	case 5: {
		uint8_t body[70];
		uint32_t n = prng_below(&rng, sizeof(body));

		prng_fill(&rng, body, n);
		msgpack_pack_bin_with_body(pk, body, n);
		break;
	}
	case 6: {
		static const uint32_t sizes[] = { 1, 2, 4, 8, 16, 0, 3, 200 };
		uint8_t body[200];
		uint32_t n = sizes[prng_below(&rng, 8)];

		prng_fill(&rng, body, n);
		msgpack_pack_ext_with_body(pk, body, n, 5);
		break;
	}
	case 7: case 8: {
		uint32_t n = prng_below(&rng, r == 7 ? 20 : 5);

		msgpack_pack_array(pk, n);
		for (uint32_t i = 0; i < n; i++)
			pack_random(pk, depth - 1);
		break;
	}
	default: {
		uint32_t n = prng_below(&rng, 4);

		msgpack_pack_map(pk, n);
		for (uint32_t i = 0; i < 2 * n; i++)
			pack_random(pk, depth - 1);
		break;
	}
	}
}

TEST(random_well_formed_values_are_accepted)
{
	for (int i = 0; i < 2000; i++) {
		msgpack_sbuffer sb;
		msgpack_packer pk;
		int r;

		msgpack_sbuffer_init(&sb);
		msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
		pack_random(&pk, 4);
		r = cove_mp_check((const uint8_t *)sb.data, sb.size, 4);
		if (r != COVE_OK)
			fail_msg("value %d (%zu bytes, first 0x%02x): got %d (%s)", i, sb.size,
				 (uint8_t)sb.data[0], r, cove_strerror(r));
		msgpack_sbuffer_destroy(&sb);
	}
}

/* The guarantee the decoders rely on: what passes the check unpacks, all
 * of it, with no bytes left over. */
TEST(random_bytes_that_pass_the_check_unpack_completely)
{
	static const uint8_t common[] = { 0x90, 0x91, 0x92, 0x81, 0xdc, 0xdd, 0xde, 0xdf,
					  0xc4, 0xc5, 0xc6, 0xd9, 0xda, 0xdb, 0xc7, 0xc9,
					  0xd4, 0xd8, 0xcf, 0x00, 0x01, 0xff, 0xa1, 0xc0 };
	uint8_t b[16];
	unsigned passed = 0;

	for (int i = 0; i < 200000; i++) {
		size_t len = 1 + prng_below(&rng, sizeof(b));

		for (size_t k = 0; k < len; k++)
			b[k] = prng_below(&rng, 2) ? common[prng_below(&rng, sizeof(common))]
						       : (uint8_t)prng_next(&rng);
		if (cove_mp_check(b, len, 4) == COVE_OK) {
			msgpack_zone zone;
			msgpack_object obj;
			size_t off = 0;
			msgpack_unpack_return ur;

			passed++;
			msgpack_zone_init(&zone, 256);
			ur = msgpack_unpack((const char *)b, len, &off, &zone, &obj);
			msgpack_zone_destroy(&zone);
			if (ur != MSGPACK_UNPACK_SUCCESS || off != len)
				fail_msg("checked input of %zu bytes (first 0x%02x): unpack %d, off %zu",
					 len, b[0], (int)ur, off);
		}
	}
	if (passed < 1000)
		fail_msg("only %u random inputs passed the check; the test saw too few", passed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(array32_claiming_four_billion_elements_is_rejected),
		cmocka_unit_test(map32_declaring_more_pairs_than_remain_is_rejected),
		cmocka_unit_test(array16_declaring_more_elements_than_remain_is_rejected),
		cmocka_unit_test(str32_longer_than_what_remains_is_rejected),
		cmocka_unit_test(bin32_longer_than_what_remains_is_rejected),
		cmocka_unit_test(ext32_longer_than_what_remains_is_rejected),
		cmocka_unit_test(open_containers_owing_more_than_remains_are_rejected),
		cmocka_unit_test(nesting_deeper_than_max_depth_is_rejected),
		cmocka_unit_test(max_depth_of_32_is_the_ceiling),
		cmocka_unit_test(trailing_bytes_are_rejected),
		cmocka_unit_test(byte_c1_is_rejected),
		cmocka_unit_test(empty_input_is_rejected),
		cmocka_unit_test(truncated_fixed_size_values_are_rejected),
		cmocka_unit_test(truncated_length_headers_are_rejected),
		cmocka_unit_test(valid_nested_value_is_accepted),
		cmocka_unit_test(random_well_formed_values_are_accepted),
		cmocka_unit_test(random_bytes_that_pass_the_check_unpack_completely),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
