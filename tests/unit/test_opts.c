/*
 * test_opts.c - the option parser both programs use: a table of options
 * is the whole description of a command line. Numbers are taken only
 * within their range, anything else (a stray sign, a suffix, an unknown
 * option, a missing argument, a word that is not an option) is refused
 * with one line that says what was wrong, and --help is written from the
 * same table, laid out as GNU tools lay theirs out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "tests/unit/check.h"

enum { OPT_JSON = COVE_OPT_LONG, OPT_COUNT, OPT_ZERO, OPT_A_VERY_LONG_ONE };

static const struct cove_opt options[] = {
	COVE_OPT_STR('k', "key", "FILE", "your secret key"),
	COVE_OPT_FLAG(OPT_JSON, "json", "JSON lines"),
	COVE_OPT_NUM(OPT_COUNT, "count", "N", 10, 500, 42,
		     "how many, {min} to {max}\nat a time (default {default})"),
	COVE_OPT_NUM(OPT_ZERO, "zero", "N", 0, 18446744073709551615ULL, 0, "zero allowed"),
	COVE_OPT_STR(OPT_A_VERY_LONG_ONE, "a-very-long-option", "ARGUMENT", "too wide"),
	COVE_OPT_FLAG('v', "verbose", "more"),
};

static const struct cove_opts_spec spec = {
	.usage = "Usage: prog [options]\n\n",
	.footer = "\nThe end.\n",
	.opts = options,
	.nopts = sizeof(options) / sizeof(options[0]),
	.help_col = 22,
};

/* What one parse of a command line gave: the ids in order, the last
 * argument and number, the final result, and what went to stderr. */
struct parsed {
	int ids[16];
	size_t n;
	const char *arg;
	unsigned long long num;
	int last;
	char err[512];
};

/* The parser speaks on stderr, as the programs do: these catch it. */
struct catch {
	FILE *tmp;
	int saved;
};

static void catch_begin(struct catch *c)
{
	c->tmp = tmpfile();
	assert_non_null(c->tmp);
	fflush(stderr);
	c->saved = dup(STDERR_FILENO);
	dup2(fileno(c->tmp), STDERR_FILENO);
}

static void catch_end(struct catch *c, char *buf, size_t cap)
{
	ssize_t got;

	fflush(stderr);
	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	lseek(fileno(c->tmp), 0, SEEK_SET);
	got = read(fileno(c->tmp), buf, cap - 1);
	buf[got > 0 ? got : 0] = '\0';
	fclose(c->tmp);
}

static void parse(struct parsed *r, const struct cove_opts_spec *s, ...)
{
	char *argv[16] = { "prog" };
	int argc = 1;
	struct cove_opts p;
	struct cove_opt_val v;
	struct catch c;
	va_list ap;

	va_start(ap, s);
	while ((argv[argc] = va_arg(ap, char *)) != NULL)
		argc++;
	va_end(ap);
	memset(r, 0, sizeof(*r));
	assert_int_equal(cove_opts_init(&p, s, argc, argv), 0);
	/* no assertion until catch_end(): a failure would go unseen */
	catch_begin(&c);
	while ((r->last = cove_opts_next(&p, &v)) >= 0) {
		if (r->n < 16)
			r->ids[r->n++] = r->last;
		r->arg = v.arg;
		r->num = v.num;
	}
	catch_end(&c, r->err, sizeof(r->err));
}

#define assert_has(hay, needle)                                                          \
	do {                                                                             \
		if (!strstr((hay), (needle)))                                            \
			fail_msg("'%s' does not say '%s'", (hay), (needle));             \
	} while (0)

TEST(options_and_their_arguments_come_back_in_order)
{
	struct parsed r;

	parse(&r, &spec, "-k", "alice.key", "--json", "-v", NULL);
	assert_int_equal(r.last, COVE_OPTS_END);
	assert_u64(r.n, 3);
	assert_int_equal(r.ids[0], 'k');
	assert_int_equal(r.ids[1], OPT_JSON);
	assert_int_equal(r.ids[2], 'v');
	assert_string_equal(r.err, "");

	parse(&r, &spec, "--key=bob.key", NULL);
	assert_int_equal(r.ids[0], 'k');
	assert_string_equal(r.arg, "bob.key");

	parse(&r, &spec, "-vkcarol.key", NULL);
	assert_u64(r.n, 2);
	assert_int_equal(r.ids[1], 'k');
	assert_string_equal(r.arg, "carol.key");
}

TEST(a_number_is_taken_at_both_ends_of_its_range)
{
	static const char *const ok[] = { "10", "500", "42", "+42" };
	struct parsed r;

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		parse(&r, &spec, "--count", ok[i], NULL);
		if (r.last != COVE_OPTS_END)
			fail_msg("--count %s: refused (%s)", ok[i], r.err);
		assert_u64(r.num, strtoull(ok[i], NULL, 10));
	}
	parse(&r, &spec, "--zero", "0", NULL);
	assert_int_equal(r.last, COVE_OPTS_END);
	assert_u64(r.num, 0);
	parse(&r, &spec, "--zero=18446744073709551615", NULL);
	assert_int_equal(r.last, COVE_OPTS_END);
	assert_u64(r.num, 18446744073709551615ULL);
}

TEST(a_number_outside_its_range_or_not_a_number_is_refused_saying_so)
{
	static const char *const bad[] = {
		"9", "501", "-1", "-0", "", "x", "12x", "12 ", "1e2", "0x20",
		"18446744073709551616", "99999999999999999999999",
	};
	struct parsed r;

	cove_prog = "prog";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char want[128];

		parse(&r, &spec, "--count", bad[i], NULL);
		if (r.last != COVE_OPTS_ERR)
			fail_msg("--count '%s': got %d, want COVE_OPTS_ERR", bad[i], r.last);
		assert_u64(r.n, 0);
		snprintf(want, sizeof(want), "prog: --count '%s' must be a number from 10 to 500\n",
			 bad[i]);
		assert_string_equal(r.err, want);
	}
	parse(&r, &spec, "--zero", "18446744073709551616", NULL);
	assert_int_equal(r.last, COVE_OPTS_ERR);
	assert_has(r.err, "from 0 to 18446744073709551615");
}

TEST(an_unknown_option_is_refused_pointing_at_help)
{
	static const char *const bad[] = { "--nope", "-x", "--json=1" };
	struct parsed r;

	cove_prog = "prog";
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		parse(&r, &spec, "-v", bad[i], "--json", NULL);
		if (r.last != COVE_OPTS_ERR)
			fail_msg("%s: got %d, want COVE_OPTS_ERR", bad[i], r.last);
		assert_u64(r.n, 1); /* what came before it was read, nothing after */
		assert_has(r.err, "Try 'prog --help'.\n");
	}
	parse(&r, &spec, "--nope", NULL);
	assert_has(r.err, "unrecognized option '--nope'");
}

TEST(a_missing_argument_is_refused_naming_the_option)
{
	struct parsed r;

	cove_prog = "prog";
	parse(&r, &spec, "-k", NULL);
	assert_int_equal(r.last, COVE_OPTS_ERR);
	assert_has(r.err, "'k'");
	assert_has(r.err, "Try 'prog --help'.\n");
	parse(&r, &spec, "--count", NULL);
	assert_int_equal(r.last, COVE_OPTS_ERR);
	assert_has(r.err, "'--count' requires an argument");
}

TEST(a_word_that_is_no_option_is_refused)
{
	struct parsed r;

	cove_prog = "prog";
	parse(&r, &spec, "-v", "stray", NULL);
	assert_int_equal(r.last, COVE_OPTS_ERR);
	assert_u64(r.n, 1);
	assert_string_equal(r.err, "prog: unexpected argument 'stray'; try --help\n");
}

TEST(a_malformed_table_is_refused)
{
	static const struct cove_opt odd[] = { COVE_OPT_FLAG('?', "what", "no letter") };
	static const struct cove_opts_spec odd_spec = { "", NULL, odd, 1, 20 };
	static const struct cove_opts_spec big_spec = { "", NULL, options, COVE_OPTS_MAX + 1, 20 };
	struct cove_opts p;
	char *argv[] = { "prog", NULL };

	assert_int_equal(cove_opts_init(&p, &odd_spec, 1, argv), -1);
	assert_int_equal(cove_opts_init(&p, &big_spec, 1, argv), -1);
}

TEST(help_is_written_from_the_table)
{
	static const char want[] =
		"Usage: prog [options]\n"
		"\n"
		"  -k, --key FILE      your secret key\n"
		"      --json          JSON lines\n"
		"      --count N       how many, 10 to 500\n"
		"                      at a time (default 42)\n"
		"      --zero N        zero allowed\n"
		"      --a-very-long-option ARGUMENT\n"
		"                      too wide\n"
		"  -v, --verbose       more\n"
		"\n"
		"The end.\n";
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	cove_opts_help(&spec, f);
	fclose(f);
	assert_string_equal(buf, want);
	free(buf);
}

TEST(a_number_alone_is_checked_the_same_way)
{
	unsigned long long v = 7;
	struct catch c;
	char err[128];

	cove_prog = "prog";
	assert_int_equal(cove_opts_num("--n", "3", 1, 3, &v), 0);
	assert_u64(v, 3);
	catch_begin(&c);
	assert_int_equal(cove_opts_num("--n", "4", 1, 3, &v), -1);
	catch_end(&c, err, sizeof(err));
	assert_u64(v, 3); /* untouched on failure */
	assert_string_equal(err, "prog: --n '4' must be a number from 1 to 3\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(options_and_their_arguments_come_back_in_order),
		cmocka_unit_test(a_number_is_taken_at_both_ends_of_its_range),
		cmocka_unit_test(a_number_outside_its_range_or_not_a_number_is_refused_saying_so),
		cmocka_unit_test(an_unknown_option_is_refused_pointing_at_help),
		cmocka_unit_test(a_missing_argument_is_refused_naming_the_option),
		cmocka_unit_test(a_word_that_is_no_option_is_refused),
		cmocka_unit_test(a_malformed_table_is_refused),
		cmocka_unit_test(help_is_written_from_the_table),
		cmocka_unit_test(a_number_alone_is_checked_the_same_way),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
