/*
 * test_utf8.c - cove_utf8_valid() accepts exactly RFC 3629 UTF-8 without
 * NUL: chat text from peers is checked with it before anyone displays it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/utf8.h"
#include "tests/unit/check.h"

struct sample {
	const char *bytes;
	size_t len;
	const char *what;
};

#define S(lit, what) { lit, sizeof(lit) - 1, what }

static void expect_all(const struct sample *v, size_t n, int want)
{
	for (size_t i = 0; i < n; i++) {
		int got = cove_utf8_valid(v[i].bytes, v[i].len);

		if (got != want)
			fail_msg("%s (%zu bytes): cove_utf8_valid = %d, want %d", v[i].what,
				 v[i].len, got, want);
	}
}

TEST(valid_text_is_accepted)
{
	static const struct sample ok[] = {
		S("", "empty string"),
		S("hello, world", "ASCII"),
		S("\x7f", "DEL, the last one-byte character"),
		S("\xc2\x80", "U+0080, the first two-byte character"),
		S("gr\xc3\xbc\xc3\x9f dich", "Latin-1 letters"),
		S("\xdf\xbf", "U+07FF, the last two-byte character"),
		S("\xe0\xa0\x80", "U+0800, the first three-byte character"),
		S("\xe2\x82\xac", "euro sign"),
		S("\xed\x9f\xbf", "U+D7FF, just below the surrogates"),
		S("\xee\x80\x80", "U+E000, just above the surrogates"),
		S("\xef\xbf\xbf", "U+FFFF"),
		S("\xf0\x90\x80\x80", "U+10000, the first four-byte character"),
		S("\xf0\x9f\x90\x9f fish", "an emoji"),
		S("\xf4\x8f\xbf\xbf", "U+10FFFF, the last code point"),
		S("\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "Japanese"),
	};

	expect_all(ok, sizeof(ok) / sizeof(ok[0]), 1);
}

TEST(overlong_forms_are_rejected)
{
	static const struct sample bad[] = {
		S("\xc0\x80", "overlong NUL (C0 80)"),
		S("\xc0\xaf", "overlong '/' in two bytes"),
		S("\xc1\xbf", "overlong U+007F in two bytes"),
		S("\xe0\x80\xaf", "overlong '/' in three bytes"),
		S("\xe0\x9f\xbf", "overlong U+07FF in three bytes"),
		S("\xf0\x80\x80\xaf", "overlong '/' in four bytes"),
		S("\xf0\x8f\xbf\xbf", "overlong U+FFFF in four bytes"),
	};

	expect_all(bad, sizeof(bad) / sizeof(bad[0]), 0);
}

TEST(surrogates_are_rejected)
{
	static const struct sample bad[] = {
		S("\xed\xa0\x80", "U+D800, first high surrogate"),
		S("\xed\xaf\xbf", "U+DBFF, last high surrogate"),
		S("\xed\xb0\x80", "U+DC00, first low surrogate"),
		S("\xed\xbf\xbf", "U+DFFF, last low surrogate"),
		S("\xed\xa0\xbd\xed\xb8\x80", "CESU-8 surrogate pair"),
	};

	expect_all(bad, sizeof(bad) / sizeof(bad[0]), 0);
}

TEST(code_points_above_10ffff_are_rejected)
{
	static const struct sample bad[] = {
		S("\xf4\x90\x80\x80", "U+110000"),
		S("\xf5\x80\x80\x80", "lead byte F5"),
		S("\xf7\xbf\xbf\xbf", "U+1FFFFF"),
		S("\xf8\x88\x80\x80\x80", "five-byte form"),
		S("\xfc\x84\x80\x80\x80\x80", "six-byte form"),
		S("\xfe", "byte FE"),
		S("\xff", "byte FF"),
	};

	expect_all(bad, sizeof(bad) / sizeof(bad[0]), 0);
}

TEST(truncated_sequences_are_rejected)
{
	static const struct sample bad[] = {
		S("\xc3", "two-byte lead alone"),
		S("\xe2\x82", "three-byte sequence missing one"),
		S("\xe2", "three-byte lead alone"),
		S("\xf0\x9f\x90", "four-byte sequence missing one"),
		S("\xf0\x9f", "four-byte sequence missing two"),
		S("abc\xf0", "four-byte lead at the end"),
		S("\xe2\x82x", "continuation replaced by ASCII"),
		S("\xc3\xc3\xa9", "lead byte where a continuation belongs"),
		S("\x80", "lone continuation byte"),
		S("a\xbf" "b", "continuation byte between ASCII"),
	};

	expect_all(bad, sizeof(bad) / sizeof(bad[0]), 0);
}

TEST(nul_is_rejected)
{
	static const struct sample bad[] = {
		S("\0", "a lone NUL"),
		S("abc\0def", "NUL inside text"),
		S("abc\0", "NUL at the end"),
	};

	expect_all(bad, sizeof(bad) / sizeof(bad[0]), 0);
}

TEST(length_bounds_the_check)
{
	/* Only len bytes count: a valid prefix of a longer buffer is valid,
	 * and a multi-byte character cut by len is not. */
	assert_int_equal(cove_utf8_valid("ab\xff", 2), 1);
	assert_int_equal(cove_utf8_valid("\xe2\x82\xac", 2), 0);
}

TEST(a_cut_never_splits_a_character)
{
	/* "a€b": 'a', then the three bytes of U+20AC, then 'b' */
	static const char s[] = "a\xe2\x82\xac" "b";

	assert_int_equal(cove_utf8_cut(s, 5, 10), 5);
	assert_int_equal(cove_utf8_cut(s, 5, 4), 4);
	assert_int_equal(cove_utf8_cut(s, 5, 3), 1);
	assert_int_equal(cove_utf8_cut(s, 5, 2), 1);
	assert_int_equal(cove_utf8_cut(s, 5, 1), 1);
	assert_int_equal(cove_utf8_cut(s, 5, 0), 0);
	for (size_t max = 0; max <= 5; max++)
		assert_int_equal(cove_utf8_valid(s, cove_utf8_cut(s, 5, max)) ||
				 cove_utf8_cut(s, 5, max) == 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(valid_text_is_accepted),
		cmocka_unit_test(overlong_forms_are_rejected),
		cmocka_unit_test(surrogates_are_rejected),
		cmocka_unit_test(code_points_above_10ffff_are_rejected),
		cmocka_unit_test(truncated_sequences_are_rejected),
		cmocka_unit_test(nul_is_rejected),
		cmocka_unit_test(length_bounds_the_check),
		cmocka_unit_test(a_cut_never_splits_a_character),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
