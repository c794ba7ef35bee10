/*
 * test_hist_file.c - the history file as someone holding it sees it: no
 * text, no room name, nothing for another identity, no byte of a deleted
 * secret; rows moved or retimed do not open; a file that is not ours,
 * damaged or newer is refused and left exactly as it was; a crash loses
 * only what was not flushed. Real SQLite files in a private folder.
 */
#include <sys/wait.h>

#include "tests/unit/hist_fixture.h"

/* The sealed bytes of the one secret, as they lie in the file. */
static size_t secret_blob(const struct ctx *c, uint8_t *out, size_t cap)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	size_t len;

	assert_int_equal(sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT blob FROM secret", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	len = (size_t)sqlite3_column_bytes(st, 0);
	assert_true(len <= cap);
	memcpy(out, sqlite3_column_blob(st, 0), len);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return len;
}

TEST(deleted_secret_leaves_no_byte_in_the_files_after_a_checkpoint)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	uint8_t xsk[32], blob[128];
	size_t len;

	memset(xsk, 0x5e, sizeof(xsk));
	assert_ok(cove_hist_secret_put(h, room, COVE_HIST_MEMBERSHIP, 1, xsk, sizeof(xsk)));
	for (uint64_t i = 1; i <= 20; i++)
		assert_ok(add(h, room, 1, i, i, "around the secret"));
	assert_ok(cove_hist_close(h));
	len = secret_blob(c, blob, sizeof(blob));
	assert_true(files_hold(c, blob, len));

	/* The log holds the page with the secret until the checkpoint. */
	h = open_as(c, c->alice);
	assert_ok(add(h, room, 1, 21, 21, "after"));
	assert_ok(cove_hist_flush(h));
	assert_ok(cove_hist_secret_del(h, room, COVE_HIST_MEMBERSHIP, 1));
	assert_ok(cove_hist_checkpoint(h));
	assert_false(files_hold(c, blob, len));
	assert_ok(cove_hist_close(h));
	assert_false(files_hold(c, blob, len));
}

TEST(file_holds_no_text_and_no_room_name)
{
	static const char *const texts[] = {
		"the launch code is tangerine", "meet me at the north gate",
		"salary review on friday", "x",
	};
	static const char room_name[] = "secret-project-falcon";
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, room_name);

	for (uint64_t i = 0; i < 4; i++)
		assert_ok(add(h, room, 1, i + 1, 100 + i, texts[i]));
	assert_ok(cove_hist_flush(h));
	/* While open: the log has it all, the main file perhaps nothing yet. */
	for (size_t i = 0; i < 3; i++)
		assert_false(files_hold(c, texts[i], strlen(texts[i])));
	assert_false(files_hold(c, room_name, strlen(room_name)));
	assert_ok(cove_hist_close(h));
	for (size_t i = 0; i < 3; i++)
		assert_false(files_hold(c, texts[i], strlen(texts[i])));
	assert_false(files_hold(c, room_name, strlen(room_name)));
	assert_false(files_hold(c, c->alice->pk, COVE_PK_LEN));
	/* and the search does find what is there */
	assert_true(files_hold(c, "SQLite format 3", 15));
}

TEST(another_identity_is_refused_and_the_rows_show_it_nothing)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	struct cove_atrest *bob = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rows = 0;

	assert_ok(add(h, room, 1, 1, 100, "for alice only"));
	assert_ok(cove_hist_close(h));
	refused_untouched(c, c->bob, COVE_ERR_KEY_MISMATCH);

	/* Reading the rows directly, with bob's keys: nothing opens. */
	assert_ok(cove_atrest_new(&bob, c->bob, COVE_ATREST_CTX_HIST));
	assert_int_equal(sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT body FROM msg UNION ALL SELECT name FROM room",
					    -1, &st, NULL),
			 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const uint8_t *blob = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		uint8_t pt[1024];

		assert_true(len >= COVE_ATREST_OVERHEAD && len - COVE_ATREST_OVERHEAD <= sizeof(pt));
		assert_null(memmem(blob, len, "alice", 5));
		assert_err(cove_atrest_open(bob, pt, blob, len, NULL, 0), COVE_ERR_DECRYPT);
		rows++;
	}
	assert_int_equal(rows, 2);
	sqlite3_finalize(st);
	sqlite3_close(db);
	cove_atrest_free(bob);
	/* and alice still opens it */
	assert_ok(cove_hist_close(open_as(c, c->alice)));
}

TEST(row_moved_or_retimed_by_someone_with_the_file_does_not_open)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	struct got g;

	assert_ok(add(h, room, 1, 1, 100, "one"));
	assert_ok(add(h, room, 1, 2, 200, "two"));
	assert_ok(cove_hist_close(h));

	raw_sql(c, "UPDATE msg SET ts_ms = 150 WHERE ts_ms = 100");
	h = open_as(c, c->alice);
	memset(&g, 0, sizeof(g));
	assert_err(cove_hist_page(h, room, 0, 10, collect, &g), COVE_ERR_DECRYPT);
	assert_ok(cove_hist_close(h));

	raw_sql(c, "UPDATE msg SET ts_ms = 100 WHERE ts_ms = 150;"
		   "UPDATE msg SET body = (SELECT body FROM msg WHERE ts_ms = 200)"
		   " WHERE ts_ms = 100");
	h = open_as(c, c->alice);
	memset(&g, 0, sizeof(g));
	assert_err(cove_hist_page(h, room, 0, 10, collect, &g), COVE_ERR_DECRYPT);
	page(h, room, 100, 10, &g); /* what is before it still shows */
	assert_ok(cove_hist_close(h));
}

static void write_file(const struct ctx *c, const void *data, size_t len)
{
	assert_ok(cove_file_replace(c->path, data, len, 0600, 1));
}

TEST(file_that_is_not_sqlite_is_refused_and_left_untouched)
{
	struct ctx *c = *cmocka_state_;
	static const char text[] = "just some notes, not a database\n";
	uint8_t noise[8192];

	write_file(c, text, sizeof(text) - 1);
	refused_untouched(c, c->alice, COVE_ERR_STORE_FORMAT);
	write_file(c, "", 0);
	refused_untouched(c, c->alice, COVE_ERR_STORE_FORMAT);
	randombytes_buf(noise, sizeof(noise));
	write_file(c, noise, sizeof(noise));
	refused_untouched(c, c->alice, COVE_ERR_STORE_FORMAT);
}

TEST(folder_or_fifo_at_the_path_is_refused)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = NULL;

	assert_int_equal(mkfifo(c->path, 0600), 0);
	assert_err(cove_hist_open(&h, c->path, c->alice), COVE_ERR_STORE_FORMAT);
	unlink(c->path);
	assert_int_equal(mkdir(c->path, 0700), 0);
	errno = 0;
	assert_err(cove_hist_open(&h, c->path, c->alice), COVE_ERR_IO);
	assert_int_equal(errno, EISDIR); /* for the message to say it is a folder */
	rmdir(c->path);
}

TEST(sqlite_file_of_another_program_is_refused_and_left_untouched)
{
	struct ctx *c = *cmocka_state_;
	sqlite3 *db = NULL;

	assert_int_equal(sqlite3_open(c->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL; CREATE TABLE notes (t);"
					  "INSERT INTO notes VALUES ('mine')",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	refused_untouched(c, c->alice, COVE_ERR_STORE_FORMAT);
	raw_sql(c, "PRAGMA application_id = 1");
	refused_untouched(c, c->alice, COVE_ERR_STORE_FORMAT);
}

TEST(damaged_cove_file_is_refused_and_left_untouched)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	int64_t room = room_of(h, "lobby");
	size_t len;
	uint8_t *data, *copy;

	for (uint64_t i = 1; i <= 200; i++)
		assert_ok(add(h, room, 1, i, i, "enough messages for pages of their own"));
	assert_ok(cove_hist_close(h));
	data = slurp(c->path, &len);
	assert_true(len >= 4096 * 8);
	copy = malloc(len);
	assert_non_null(copy);

	/* the schema's page overwritten */
	memcpy(copy, data, len);
	memset(copy + 100, 0xee, 4096 - 100);
	write_file(c, copy, len);
	refused_untouched(c, c->alice, COVE_ERR_STORE_FORMAT);
	/* a page of messages overwritten: found at open, not at some later page */
	memcpy(copy, data, len);
	memset(copy + len - 4096, 0xee, 4096);
	write_file(c, copy, len);
	refused_untouched(c, c->alice, COVE_ERR_STORE_FORMAT);
	/* cut short: pages missing */
	write_file(c, data, len - 4096);
	refused_untouched(c, c->alice, COVE_ERR_STORE_FORMAT);
	/* cut short after its header */
	write_file(c, data, 100);
	refused_untouched(c, c->alice, COVE_ERR_STORE_FORMAT);
	free(copy);
	free(data);
}

TEST(file_of_a_newer_version_is_refused_and_left_untouched)
{
	struct ctx *c = *cmocka_state_;

	assert_ok(cove_hist_close(open_as(c, c->alice)));
	raw_sql(c, "PRAGMA user_version = 99");
	refused_untouched(c, c->alice, COVE_ERR_VERSION);
}

TEST(newer_version_still_in_the_log_is_refused_and_both_files_left_untouched)
{
	struct ctx *c = *cmocka_state_;
	sqlite3 *db = NULL;
	char wal[160];
	size_t len;

	assert_ok(cove_hist_close(open_as(c, c->alice)));
	/* A newer node that stopped before merging its log into the file:
	 * the file's own header still says version 1. */
	assert_int_equal(sqlite3_open_v2(c->path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	assert_int_equal(sqlite3_exec(db, "PRAGMA locking_mode = EXCLUSIVE;"
					  " PRAGMA user_version = 2",
				      NULL, NULL, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_close(db), SQLITE_OK);
	snprintf(wal, sizeof(wal), "%s-wal", c->path);
	free(slurp(wal, &len));
	assert_true(len > 0);
	refused_untouched(c, c->alice, COVE_ERR_VERSION);
}

TEST(second_handle_on_one_file_is_refused_as_busy)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice), *h2 = NULL;

	assert_err(cove_hist_open(&h2, c->path, c->alice), COVE_ERR_IO);
	assert_int_equal(errno, EBUSY);
	assert_null(h2);
	assert_ok(cove_hist_close(h));
	assert_ok(cove_hist_close(open_as(c, c->alice)));
}

TEST(new_file_is_private_and_leaves_nothing_beside_it)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = open_as(c, c->alice);
	struct stat st;

	assert_int_equal(stat(c->path, &st), 0);
	if ((st.st_mode & 0777) != 0600)
		fail_msg("mode %04o, want 0600", (unsigned)(st.st_mode & 0777));
	assert_ok(cove_hist_close(h));
	assert_int_equal(tmpdir_count(c->dir), 1);
}

TEST(missing_folder_is_an_io_error_and_creates_nothing)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h = NULL;
	char path[160];

	snprintf(path, sizeof(path), "%s/no/h.db", c->dir);
	assert_err(cove_hist_open(&h, path, c->alice), COVE_ERR_IO);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(tmpdir_count(c->dir), 0);
	assert_ok(cove_file_make_parents(path, 0700));
	assert_ok(cove_hist_open(&h, path, c->alice));
	assert_ok(cove_hist_close(h));
	unlink(path); /* tmpdir_remove leaves subfolders */
	snprintf(path, sizeof(path), "%s/no", c->dir);
	rmdir(path);
}

TEST(crash_loses_only_what_was_not_flushed)
{
	struct ctx *c = *cmocka_state_;
	struct cove_hist *h;
	int64_t room = 0;
	uint64_t n = 0;
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		/* No cmocka in the child: just fail the exit status. */
		if (cove_hist_open(&h, c->path, c->alice) != COVE_OK ||
		    cove_hist_room(h, "lobby", 5, &room) != COVE_OK ||
		    add(h, room, 1, 1, 10, "flushed") != COVE_OK || cove_hist_flush(h) != COVE_OK ||
		    add(h, room, 1, 2, 20, "in the air") != COVE_OK)
			_exit(1);
		_exit(0); /* no flush, no close: as a kill -9 */
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	h = open_as(c, c->alice);
	room = room_of(h, "lobby");
	assert_ok(cove_hist_count_since(h, room, 0, &n));
	assert_u64(n, 1);
	assert_ok(cove_hist_close(h));
}

TEST(default_path_is_under_xdg_data_home_else_home)
{
	uint8_t pk[COVE_PK_LEN];
	char buf[256];

	for (size_t i = 0; i < sizeof(pk); i++)
		pk[i] = (uint8_t)(0xa0 + i);
	setenv("XDG_DATA_HOME", "/x/data", 1);
	setenv("HOME", "/home/u", 1);
	assert_ok(cove_hist_default_path(buf, sizeof(buf), pk));
	assert_string_equal(buf, "/x/data/cove/a0a1a2a3a4a5a6a7.db");
	setenv("XDG_DATA_HOME", "relative", 1);
	assert_ok(cove_hist_default_path(buf, sizeof(buf), pk));
	assert_string_equal(buf, "/home/u/.local/share/cove/a0a1a2a3a4a5a6a7.db");
	assert_err(cove_hist_default_path(buf, 20, pk), COVE_ERR_SPACE);
	unsetenv("XDG_DATA_HOME");
	unsetenv("HOME");
	assert_err(cove_hist_default_path(buf, sizeof(buf), pk), COVE_ERR_NOTFOUND);
}

TEST(close_of_null_is_a_no_op)
{
	assert_ok(cove_hist_close(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(deleted_secret_leaves_no_byte_in_the_files_after_a_checkpoint),
		T(file_holds_no_text_and_no_room_name),
		T(another_identity_is_refused_and_the_rows_show_it_nothing),
		T(row_moved_or_retimed_by_someone_with_the_file_does_not_open),
		T(file_that_is_not_sqlite_is_refused_and_left_untouched),
		T(folder_or_fifo_at_the_path_is_refused),
		T(sqlite_file_of_another_program_is_refused_and_left_untouched),
		T(damaged_cove_file_is_refused_and_left_untouched),
		T(file_of_a_newer_version_is_refused_and_left_untouched),
		T(newer_version_still_in_the_log_is_refused_and_both_files_left_untouched),
		T(second_handle_on_one_file_is_refused_as_busy),
		T(new_file_is_private_and_leaves_nothing_beside_it),
		T(missing_folder_is_an_io_error_and_creates_nothing),
		T(crash_loses_only_what_was_not_flushed),
		cmocka_unit_test(default_path_is_under_xdg_data_home_else_home),
		cmocka_unit_test(close_of_null_is_a_no_op),
	};
	int r = cove_crypto_init();

	if (r != COVE_OK) {
		fprintf(stderr, "cove_crypto_init: %s\n", cove_strerror(r));
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
