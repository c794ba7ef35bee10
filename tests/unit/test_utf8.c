/*
 * test_utf8.c - cove_utf8_valid() accepts exactly RFC 3629 UTF-8 without
 * NUL: chat text from peers is checked with it before anyone displays it.
 * cove_utf8_visible() is how a terminal or a pipe then shows it: nothing
 * in it may move the cursor, recolour the screen or reorder the line.
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

/* ---- cove_utf8_visible ------------------------------------------------------ */

/* Shows s (a C string) and compares with want. */
static void expect_shown(const char *s, const char *want)
{
	size_t len = strlen(s);
	char out[256];
	size_t n;

	assert_true(COVE_UTF8_VISIBLE_CAP(len) <= sizeof(out));
	n = cove_utf8_visible(out, COVE_UTF8_VISIBLE_CAP(len), s, len);
	if (strcmp(out, want) != 0 || n != strlen(want))
		fail_msg("\"%s\" is shown as \"%s\" (%zu bytes), want \"%s\"", s, out, n, want);
}

TEST(visible_keeps_text_tabs_and_joined_emoji_as_they_are)
{
	expect_shown("", "");
	expect_shown("hello, world", "hello, world");
	expect_shown("a\tb", "a\tb");
	expect_shown("gr\xc3\xbc\xc3\x9f dich \xe2\x82\xac", "gr\xc3\xbc\xc3\x9f dich \xe2\x82\xac");
	expect_shown("\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5\xe6\x9c\xac");
	expect_shown("\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d", "\xd7\xa9\xd7\x9c\xd7\x95\xd7\x9d"); /* Hebrew */
	/* family: man ZWJ woman ZWJ girl; and a ZWNJ in Persian */
	expect_shown("\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7",
		     "\xf0\x9f\x91\xa8\xe2\x80\x8d\xf0\x9f\x91\xa9\xe2\x80\x8d\xf0\x9f\x91\xa7");
	expect_shown("\xd9\x85\xdb\x8c\xe2\x80\x8c\xd8\xae\xd9\x88\xd8\xa7\xd9\x87\xd9\x85",
		     "\xd9\x85\xdb\x8c\xe2\x80\x8c\xd8\xae\xd9\x88\xd8\xa7\xd9\x87\xd9\x85");
}

TEST(visible_shows_c0_controls_in_caret_notation)
{
	expect_shown("\x1b[2Jcleared\x1b[31m red", "^[[2Jcleared^[[31m red");
	expect_shown("one\ntwo\rthree\x07", "one^Jtwo^Mthree^G");
	expect_shown("\x01\x1f", "^A^_");
	expect_shown("del\x7f", "del^?");
	{
		char out[8];

		assert_u64(cove_utf8_visible(out, sizeof(out), "a\0b", 3), 4);
		assert_string_equal(out, "a^@b");
	}
}

TEST(visible_shows_c1_controls_as_question_marks)
{
	expect_shown("\xc2\x9b" "6n csi", "?6n csi");
	expect_shown("next\xc2\x85line", "next?line");
	expect_shown("\xc2\x80\xc2\x9f", "??");
	expect_shown("\xc2\xa0nbsp", "\xc2\xa0nbsp"); /* U+00A0 is no control */
}

TEST(visible_shows_bidirectional_controls_as_their_code_points)
{
	static const struct { const char *in, *shown; } bidi[] = {
		{ "\xd8\x9c", "<U+061C>" },     /* ARABIC LETTER MARK */
		{ "\xe2\x80\x8e", "<U+200E>" }, /* LEFT-TO-RIGHT MARK */
		{ "\xe2\x80\x8f", "<U+200F>" }, /* RIGHT-TO-LEFT MARK */
		{ "\xe2\x80\xaa", "<U+202A>" }, /* LEFT-TO-RIGHT EMBEDDING */
		{ "\xe2\x80\xab", "<U+202B>" }, /* RIGHT-TO-LEFT EMBEDDING */
		{ "\xe2\x80\xac", "<U+202C>" }, /* POP DIRECTIONAL FORMATTING */
		{ "\xe2\x80\xad", "<U+202D>" }, /* LEFT-TO-RIGHT OVERRIDE */
		{ "\xe2\x80\xae", "<U+202E>" }, /* RIGHT-TO-LEFT OVERRIDE */
		{ "\xe2\x81\xa6", "<U+2066>" }, /* LEFT-TO-RIGHT ISOLATE */
		{ "\xe2\x81\xa7", "<U+2067>" }, /* RIGHT-TO-LEFT ISOLATE */
		{ "\xe2\x81\xa8", "<U+2068>" }, /* FIRST STRONG ISOLATE */
		{ "\xe2\x81\xa9", "<U+2069>" }, /* POP DIRECTIONAL ISOLATE */
	};

	/* the example: would show as "invoiceexe.png" */
	expect_shown("invoice\xe2\x80\xaegnp.exe", "invoice<U+202E>gnp.exe");
	for (size_t i = 0; i < sizeof(bidi) / sizeof(bidi[0]); i++) {
		char in[32], want[32];

		snprintf(in, sizeof(in), "a%sb", bidi[i].in);
		snprintf(want, sizeof(want), "a%sb", bidi[i].shown);
		expect_shown(in, want);
	}
}

TEST(visible_shows_invisible_and_line_breaking_format_characters)
{
	expect_shown("pay\xe2\x80\x8bpal", "pay<U+200B>pal");        /* ZERO WIDTH SPACE */
	expect_shown("a\xe2\x81\xa0" "b", "a<U+2060>b");              /* WORD JOINER */
	expect_shown("\xef\xbb\xbf" "bom", "<U+FEFF>bom");            /* ZWNBSP / BOM */
	expect_shown("one\xe2\x80\xa8two", "one<U+2028>two");         /* LINE SEPARATOR */
	expect_shown("one\xe2\x80\xa9two", "one<U+2029>two");         /* PARAGRAPH SEPARATOR */
	expect_shown("\xe2\x81\xaa\xe2\x81\xaf", "<U+206A><U+206F>"); /* deprecated controls */
	expect_shown("\xef\xbf\xb9x\xef\xbf\xbay\xef\xbf\xbb", "<U+FFF9>x<U+FFFA>y<U+FFFB>");
}

TEST(visible_shows_bytes_that_are_not_utf8_as_question_marks)
{
	expect_shown("a\xff" "b", "a?b");
	expect_shown("\xe2\x80", "??");           /* a cut U+202E */
	expect_shown("\xc0\xaf", "??");           /* overlong '/' */
	expect_shown("\xed\xa0\x80", "???");      /* a surrogate */
	expect_shown("\x80x", "?x");              /* a lone continuation */
	expect_shown("\xe2\x80\xaeok\xe2", "<U+202E>ok?");
}

TEST(visible_never_writes_half_an_escape_and_the_cap_macro_is_enough)
{
	char worst[16 * 2], out[COVE_UTF8_VISIBLE_CAP(sizeof(worst))];
	size_t n;

	/* "ab<U+202E>" needs 11 bytes with its NUL: with 10, the escape is
	 * left out whole. */
	n = cove_utf8_visible(out, 10, "ab\xe2\x80\xae", 5);
	assert_u64(n, 2);
	assert_string_equal(out, "ab");
	n = cove_utf8_visible(out, 3, "a\x1b", 2); /* "a^[" needs 4 */
	assert_string_equal(out, "a");
	assert_u64(n, 1);
	n = cove_utf8_visible(out, 1, "abc", 3);
	assert_u64(n, 0);
	assert_string_equal(out, "");
	out[0] = 'x';
	assert_u64(cove_utf8_visible(out, 0, "abc", 3), 0);
	assert_int_equal(out[0], 'x');
	/* The worst input, two bytes that become eight, fills the cap exactly. */
	for (size_t i = 0; i < sizeof(worst); i += 2)
		memcpy(worst + i, "\xd8\x9c", 2);
	n = cove_utf8_visible(out, COVE_UTF8_VISIBLE_CAP(sizeof(worst)) - 1, worst,
			      sizeof(worst));
	assert_u64(n, 4 * sizeof(worst) - 8); /* one short: the last is left out */
	n = cove_utf8_visible(out, COVE_UTF8_VISIBLE_CAP(sizeof(worst)), worst, sizeof(worst));
	assert_u64(n, 4 * sizeof(worst));
}

/* Independent of the code under test: which code points must not reach a
 * terminal as they are. */
static int must_be_escaped(uint32_t cp)
{
	static const uint32_t listed[] = { 0x061c, 0x200b, 0x200e, 0x200f, 0x2028, 0x2029,
					   0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2060,
					   0x2066, 0x2067, 0x2068, 0x2069, 0x206a, 0x206b,
					   0x206c, 0x206d, 0x206e, 0x206f, 0xfeff, 0xfff9,
					   0xfffa, 0xfffb };

	if ((cp < 0x20 && cp != '\t') || (cp >= 0x7f && cp <= 0x9f))
		return 1;
	for (size_t i = 0; i < sizeof(listed) / sizeof(listed[0]); i++)
		if (cp == listed[i])
			return 1;
	return 0;
}

static size_t encode(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

TEST(visible_changes_exactly_the_characters_that_must_not_reach_a_terminal)
{
	for (uint32_t cp = 0; cp <= 0x10ffff; cp++) {
		char in[4], out[COVE_UTF8_VISIBLE_CAP(4)];
		size_t len, n;

		if (cp >= 0xd800 && cp <= 0xdfff)
			continue;
		len = encode(in, cp);
		n = cove_utf8_visible(out, sizeof(out), in, len);
		if (must_be_escaped(cp)) {
			/* shown as plain ASCII, and so as nothing a terminal acts on */
			for (size_t k = 0; k < n; k++)
				if ((unsigned char)out[k] < 0x20 || (unsigned char)out[k] >= 0x7f)
					fail_msg("U+%04X is shown with byte 0x%02x", (unsigned)cp,
						 (unsigned char)out[k]);
			if (n == 0 || (n == len && memcmp(out, in, len) == 0))
				fail_msg("U+%04X is shown as it is", (unsigned)cp);
		} else if (n != len || memcmp(out, in, len) != 0) {
			fail_msg("U+%04X is changed (%zu bytes out)", (unsigned)cp, n);
		}
	}
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
		cmocka_unit_test(visible_keeps_text_tabs_and_joined_emoji_as_they_are),
		cmocka_unit_test(visible_shows_c0_controls_in_caret_notation),
		cmocka_unit_test(visible_shows_c1_controls_as_question_marks),
		cmocka_unit_test(visible_shows_bidirectional_controls_as_their_code_points),
		cmocka_unit_test(visible_shows_invisible_and_line_breaking_format_characters),
		cmocka_unit_test(visible_shows_bytes_that_are_not_utf8_as_question_marks),
		cmocka_unit_test(visible_never_writes_half_an_escape_and_the_cap_macro_is_enough),
		cmocka_unit_test(visible_changes_exactly_the_characters_that_must_not_reach_a_terminal),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
