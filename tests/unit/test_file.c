/*
 * test_file.c - whole-file reads with a size limit, and crash-safe
 * replacement that never silently overwrites and leaves no temporary
 * file behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/file.h"
#include "tests/unit/check.h"
#include "tests/unit/tmpdir.h"

struct ctx {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c || tmpdir_make(c->dir, "file") != 0)
		return -1;
	snprintf(c->path, sizeof(c->path), "%s/data", c->dir);
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	tmpdir_remove(c->dir);
	free(c);
	return 0;
}

TEST(replace_then_read_gives_the_bytes_back)
{
	struct ctx *c = *cmocka_state_;
	static uint8_t data[10000];
	char *back = NULL;
	size_t len = 0;
	struct stat st;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	assert_ok(cove_file_replace(c->path, data, sizeof(data), 0640, 0));
	assert_ok(cove_file_read(c->path, sizeof(data), 1, &back, &len, &st));
	assert_u64(len, sizeof(data));
	assert_bytes(back, data, sizeof(data));
	assert_int_equal(back[len], '\0');
	assert_u64(st.st_size, sizeof(data));
	if ((st.st_mode & 0777) != 0640)
		fail_msg("mode %04o, want 0640", (unsigned)(st.st_mode & 0777));
	assert_int_equal(tmpdir_files(c->dir), 1);
	free(back);
}

TEST(read_refuses_a_file_over_the_limit)
{
	struct ctx *c = *cmocka_state_;
	static uint8_t data[1000];
	char *back = NULL;
	size_t len = 0;

	assert_ok(cove_file_replace(c->path, data, sizeof(data), 0600, 0));
	assert_err(cove_file_read(c->path, sizeof(data) - 1, 0, &back, &len, NULL),
		   COVE_ERR_LIMIT);
	assert_null(back);
	assert_ok(cove_file_read(c->path, sizeof(data), 0, &back, &len, NULL));
	free(back);
}

TEST(replace_without_overwrite_keeps_an_existing_file)
{
	struct ctx *c = *cmocka_state_;
	char *back = NULL;
	size_t len = 0;

	assert_ok(cove_file_replace(c->path, "first", 5, 0600, 0));
	assert_err(cove_file_replace(c->path, "second", 6, 0600, 0), COVE_ERR_EXISTS);
	assert_ok(cove_file_read(c->path, 100, 0, &back, &len, NULL));
	assert_string_equal(back, "first");
	free(back);
	assert_int_equal(tmpdir_files(c->dir), 1);
	assert_ok(cove_file_replace(c->path, "second", 6, 0600, 1));
	assert_ok(cove_file_read(c->path, 100, 0, &back, &len, NULL));
	assert_string_equal(back, "second");
	free(back);
	assert_int_equal(tmpdir_files(c->dir), 1);
}

TEST(read_with_nofollow_refuses_a_symlink)
{
	struct ctx *c = *cmocka_state_;
	char link_path[160], *back = NULL;
	size_t len = 0;

	assert_ok(cove_file_replace(c->path, "target", 6, 0600, 0));
	snprintf(link_path, sizeof(link_path), "%s/link", c->dir);
	assert_int_equal(symlink(c->path, link_path), 0);
	errno = 0;
	assert_err(cove_file_read(link_path, 100, 1, &back, &len, NULL), COVE_ERR_IO);
	assert_int_equal(errno, ELOOP);
	assert_ok(cove_file_read(link_path, 100, 0, &back, &len, NULL));
	assert_string_equal(back, "target");
	free(back);
}

TEST(read_of_a_missing_file_is_an_io_error_with_errno)
{
	struct ctx *c = *cmocka_state_;
	char *back = NULL;
	size_t len = 0;

	errno = 0;
	assert_err(cove_file_read(c->path, 100, 0, &back, &len, NULL), COVE_ERR_IO);
	assert_int_equal(errno, ENOENT);
}

TEST(replace_into_a_missing_folder_is_an_io_error)
{
	struct ctx *c = *cmocka_state_;
	char path[160];

	snprintf(path, sizeof(path), "%s/no/such/file", c->dir);
	assert_err(cove_file_replace(path, "x", 1, 0600, 1), COVE_ERR_IO);
	assert_int_equal(tmpdir_files(c->dir), 0);
}

#define FILE_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		FILE_TEST(replace_then_read_gives_the_bytes_back),
		FILE_TEST(read_refuses_a_file_over_the_limit),
		FILE_TEST(replace_without_overwrite_keeps_an_existing_file),
		FILE_TEST(read_with_nofollow_refuses_a_symlink),
		FILE_TEST(read_of_a_missing_file_is_an_io_error_with_errno),
		FILE_TEST(replace_into_a_missing_folder_is_an_io_error),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
