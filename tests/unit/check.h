/*
 * check.h - assertions shared by Cove's unit tests.
 *
 * cmocka prints integers in hex and says nothing about which Cove error
 * came back; these print the actual and expected values in decimal with
 * their cove_strerror() text, and the first differing byte of two buffers,
 * so a failure says what happened without a debugger.
 *
 * Include after <cmocka.h> (and its prerequisites).
 */
#ifndef COVE_TESTS_UNIT_CHECK_H
#define COVE_TESTS_UNIT_CHECK_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

/* Declares a cmocka test function; tests that use no fixture state. */
#define TEST(name) static void name(void **cmocka_state_ __attribute__((unused)))

/* A Cove return value must equal the expected one. */
#define assert_err(actual, expected)                                                     \
	do {                                                                             \
		int a_ = (actual), e_ = (expected);                                      \
		if (a_ != e_)                                                            \
			fail_msg("%s: got %d (%s), want %d (%s)", #actual, a_,           \
				 cove_strerror(a_), e_, cove_strerror(e_));               \
	} while (0)

#define assert_ok(actual) assert_err((actual), COVE_OK)

/* A Cove return value must be a failure (negative), whichever. */
#define assert_fails(actual)                                                             \
	do {                                                                             \
		int a_ = (actual);                                                       \
		if (a_ >= 0)                                                             \
			fail_msg("%s: got %d (%s), want an error", #actual, a_,          \
				 cove_strerror(a_));                                     \
	} while (0)

/* Unsigned values (sizes, counters) compared in decimal. */
#define assert_u64(actual, expected)                                                     \
	do {                                                                             \
		unsigned long long a_ = (unsigned long long)(actual);                     \
		unsigned long long e_ = (unsigned long long)(expected);                   \
		if (a_ != e_)                                                            \
			fail_msg("%s: got %llu, want %llu", #actual, a_, e_);            \
	} while (0)

/* Two buffers of n bytes must be equal; prints the first difference. */
#define assert_bytes(actual, expected, n)                                                \
	do {                                                                             \
		const uint8_t *a_ = (const uint8_t *)(actual);                           \
		const uint8_t *e_ = (const uint8_t *)(expected);                         \
		size_t n_ = (n);                                                         \
		for (size_t i_ = 0; i_ < n_; i_++)                                       \
			if (a_[i_] != e_[i_])                                            \
				fail_msg("%s: byte %zu of %zu is 0x%02x, want 0x%02x",   \
					 #actual, i_, n_, a_[i_], e_[i_]);               \
	} while (0)

/* Two buffers of n bytes must differ somewhere. */
#define assert_bytes_differ(a, b, n)                                                     \
	do {                                                                             \
		if (memcmp((a), (b), (n)) == 0)                                          \
			fail_msg("%s and %s: all %zu bytes equal, want a difference",    \
				 #a, #b, (size_t)(n));                                   \
	} while (0)

/* Decodes the hex string s (no spaces) into out, which holds n bytes;
 * the test fails unless s is exactly 2n hex digits. */
static inline void unhex(uint8_t *out, size_t n, const char *s)
{
	size_t len = strlen(s);

	if (len != 2 * n)
		fail_msg("hex string of %zu digits, want %zu: %s", len, 2 * n, s);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			fail_msg("bad hex at %zu in %s", 2 * i, s);
		out[i] = (uint8_t)v;
	}
}

/* A small deterministic generator (splitmix64) for property tests, so a
 * failure reproduces on every run and no system call is spent per draw. */
static inline uint64_t prng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A value in [0, n), n > 0. */
static inline uint32_t prng_below(uint64_t *s, uint32_t n)
{
	return (uint32_t)(prng_next(s) % n);
}

static inline void prng_fill(uint64_t *s, uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)prng_next(s);
}

#endif
