/*
 * test_err.c - every Cove error has its own words, and a value outside the
 * enum is not mistaken for one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sodium.h>

#include "tests/unit/check.h"

#define FIRST COVE_OK
#define LAST COVE_ERR_TIMEOUT

TEST(every_error_has_its_own_description)
{
	for (int e = FIRST; e >= LAST; e--) {
		const char *s = cove_strerror(e);

		assert_non_null(s);
		if (strcmp(s, "unknown error") == 0 || s[0] == '\0')
			fail_msg("error %d has no description", e);
		for (int o = FIRST; o > e; o--)
			if (strcmp(s, cove_strerror(o)) == 0)
				fail_msg("errors %d and %d share \"%s\"", e, o, s);
	}
}

TEST(values_outside_the_enum_are_unknown)
{
	static const int others[] = { 1, 2, LAST - 1, -100, INT32_MIN, INT32_MAX };

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
		assert_string_equal(cove_strerror(others[i]), "unknown error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_error_has_its_own_description),
		cmocka_unit_test(values_outside_the_enum_are_unknown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
