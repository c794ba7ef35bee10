/*
 * test_store_sqlite.c - what only the SQLite store does, on real files:
 * everything survives a reopen and a crash of the process; a file that is
 * not a Cove store (another program's database, text, random bytes), a
 * cut one, one of a newer version or another schema, or one another
 * process holds is refused with its own error and left byte for byte as
 * it was; a disk that fills up at a commit fails that batch's frames and
 * keeps everything else.
 *
 * The full disk is a VFS of this test's own, made SQLite's default before
 * any store opens: it passes every call to the real one and fails writes
 * with SQLITE_FULL (as SQLite's own VFS reports ENOSPC) while disk_full
 * is set.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/file.h"
#include "tests/unit/store_world.h"

static sqlite3_vfs *real_vfs;
static sqlite3_vfs full_vfs;
static int disk_full;

struct full_file {
	sqlite3_file base;
	sqlite3_file *real; /* the real VFS's file, right after this struct */
};

#define REAL(f) (((struct full_file *)(f))->real)

static int ff_close(sqlite3_file *f) { return REAL(f)->pMethods->xClose(REAL(f)); }
static int ff_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{ return REAL(f)->pMethods->xRead(REAL(f), p, n, off); }
static int ff_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{ return disk_full ? SQLITE_FULL : REAL(f)->pMethods->xWrite(REAL(f), p, n, off); }
static int ff_truncate(sqlite3_file *f, sqlite3_int64 n)
{ return REAL(f)->pMethods->xTruncate(REAL(f), n); }
static int ff_sync(sqlite3_file *f, int flags) { return REAL(f)->pMethods->xSync(REAL(f), flags); }
static int ff_size(sqlite3_file *f, sqlite3_int64 *n)
{ return REAL(f)->pMethods->xFileSize(REAL(f), n); }
static int ff_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int ff_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int ff_reserved(sqlite3_file *f, int *out)
{ return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out); }
static int ff_control(sqlite3_file *f, int op, void *arg)
{ return REAL(f)->pMethods->xFileControl(REAL(f), op, arg); }
static int ff_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int ff_device(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int ff_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **p)
{ return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, p); }
static int ff_shm_lock(sqlite3_file *f, int off, int n, int flags)
{ return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags); }
static void ff_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int ff_shm_unmap(sqlite3_file *f, int del)
{ return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int ff_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **p)
{ return REAL(f)->pMethods->xFetch(REAL(f), off, n, p); }
static int ff_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{ return REAL(f)->pMethods->xUnfetch(REAL(f), off, p); }

static const sqlite3_io_methods ff_methods = {
	3, ff_close, ff_read, ff_write, ff_truncate, ff_sync, ff_size, ff_lock, ff_unlock,
	ff_reserved, ff_control, ff_sector, ff_device, ff_shm_map, ff_shm_lock, ff_shm_barrier,
	ff_shm_unmap, ff_fetch, ff_unfetch,
};

static int ff_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	struct full_file *ff = (struct full_file *)f;
	int rc;

	(void)vfs;
	ff->real = (sqlite3_file *)(ff + 1);
	rc = real_vfs->xOpen(real_vfs, name, ff->real, flags, out);
	f->pMethods = ff->real->pMethods ? &ff_methods : NULL;
	return rc;
}

static void full_vfs_install(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	assert_non_null(real_vfs);
	assert_true(real_vfs->iVersion >= 1);
	full_vfs = *real_vfs;
	full_vfs.zName = "cove-test-full";
	full_vfs.szOsFile = (int)sizeof(struct full_file) + real_vfs->szOsFile;
	full_vfs.xOpen = ff_open;
	assert_int_equal(sqlite3_vfs_register(&full_vfs, 1), SQLITE_OK);
}

static int setup(void **state)
{
	struct world *w = w_new(cove_store_backend("sqlite"), "sqlite");

	disk_full = 0;
	w_open(w);
	*state = w;
	return 0;
}

static int setup_closed(void **state)
{
	*state = w_new(cove_store_backend("sqlite"), "sqlite");
	return 0;
}

#define WORLD struct world *w = *cmocka_state_

/* A file as it was: its bytes, and how many files its folder held. */
struct snap {
	char *bytes;
	size_t len;
	int files;
};

static struct snap snap_take(const struct world *w)
{
	struct snap s = { 0 };

	assert_ok(cove_file_read(w->path, 64 << 20, 0, &s.bytes, &s.len, NULL));
	s.files = tmpdir_count(w->dir);
	return s;
}

/* Opening w's file must fail with want and change nothing. */
static void assert_refused_untouched(struct world *w, int want)
{
	struct snap before = snap_take(w), after;
	struct cove_store *s = NULL;

	assert_err(cove_store_open(&s, w->ops, w->path, &w->conf), want);
	assert_null(s);
	after = snap_take(w);
	assert_u64(after.len, before.len);
	assert_bytes(after.bytes, before.bytes, before.len);
	assert_int_equal(after.files, before.files);
	free(before.bytes);
	free(after.bytes);
}

static void write_file(const char *path, const void *data, size_t len)
{
	assert_ok(cove_file_replace(path, data, len, 0600, 1));
}

/* Runs SQL on path as another program would; with keep_wal, what it
 * commits stays in the WAL, as after a crash. */
static void sql_wal(const char *path, const char *statements, int keep_wal)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, keep_wal, NULL);
	if (sqlite3_exec(db, statements, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", statements, msg);
	sqlite3_close(db);
}

static void sql(const char *path, const char *statements)
{
	sql_wal(path, statements, 0);
}

/* The number of the root page of a table. */
static long root_page(const char *path, const char *table)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long page = 0;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT rootpage FROM sqlite_schema WHERE name = ?1",
					    -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, table, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		page = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_true(page > 0);
	return page;
}

/* Overwrites the first bytes of page (from 1) of path with garbage. */
static void spoil_page(const char *path, long page)
{
	static const uint8_t junk[16] = { 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x99,
					  0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x99 };
	int fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, junk, sizeof(junk), (page - 1) * 4096), sizeof(junk));
	close(fd);
}

/* What cove_store_load gave: the last room, and its members in order. */
struct loaded {
	struct cove_store_room room;
	char name[COVE_STORE_ROOM_MAX + 1];
	struct cove_store_member member[4];
	uint8_t ini[4][512];
	size_t n_rooms, n_members;
};

static int loaded_room(void *arg, const struct cove_store_room *r)
{
	struct loaded *l = arg;

	l->room = *r;
	memcpy(l->name, r->name, r->name_len);
	l->room.name = l->name;
	l->n_rooms++;
	return 0;
}

static int loaded_member(void *arg, const struct cove_store_room *r,
			 const struct cove_store_member *m)
{
	struct loaded *l = arg;

	(void)r;
	assert_true(l->n_members < 4 && m->ini_len <= sizeof(l->ini[0]));
	l->member[l->n_members] = *m;
	memcpy(l->ini[l->n_members], m->ini, m->ini_len);
	l->member[l->n_members].ini = l->ini[l->n_members];
	l->n_members++;
	return 0;
}

static void load(struct world *w, struct loaded *l)
{
	memset(l, 0, sizeof(*l));
	assert_ok(cove_store_load(w->s, loaded_room, loaded_member, l));
}

/* A store holding a room, a member and 40 frames, closed. */
static void make_store(struct world *w)
{
	struct cove_store_member m = w_member(1, 10, 300);

	w_open(w);
	w_put_room(w, "lobby");
	assert_ok(cove_store_member_put(w->s, "lobby", 5, &m));
	for (uint32_t i = 1; i <= 40; i++)
		assert_ok(w_append(w, "lobby", i, 656));
	w_close(w);
}

/* sqlite_rows.c keeps the row of the room a batch appends to in memory
 * and writes it at the commit: rooms taken in turn, a span read, a trim
 * and a delete in the middle of a batch must leave every row right. */
TEST(rooms_appended_in_turn_in_one_batch_keep_their_spans)
{
	WORLD;

	w_close(w);
	w->conf.retain_ms = 1000;
	w_open(w);
	w_put_room(w, "a");
	w_put_room(w, "b");
	w_put_room(w, "c");
	assert_ok(w_append(w, "a", 1, 100));
	assert_ok(w_append(w, "a", 2, 100));
	assert_ok(w_append(w, "b", 3, 200));
	assert_span(w_span(w, "a"), 1, 3, 200);
	assert_ok(w_append(w, "a", 4, 100));
	assert_ok(w_append(w, "c", 5, 300));
	assert_ok(cove_store_room_del(w->s, "c", 1));
	assert_ok(w_append(w, "b", 6, 200));
	assert_ok(w_append(w, "a", 7, 100));
	/* drops a's first two (w_append's times are 1000000 + tag) */
	assert_ok(cove_store_trim(w->s, 1000003 + 1000));
	assert_ok(w_append(w, "b", 8, 200));
	assert_span(w_span(w, "b"), 1, 4, 600);
	w_close(w); /* commits */
	assert_u64(w->n_done, 8);

	w_open(w);
	assert_span(w_span(w, "a"), 3, 5, 200);
	assert_span(w_span(w, "b"), 1, 4, 600);
	assert_int_equal(w_read(w, "a", 1, 0, 10), 2);
	assert_u64(w->tags[0], 4);
	assert_u64(w->tags[1], 7);
	assert_ok(w_append(w, "b", 9, 200));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->done[w->n_done - 1].seq, 4);
}

TEST(everything_survives_close_and_reopen)
{
	WORLD;
	struct cove_store_member m1 = w_member(1, 10, 300), m2 = w_member(2, 20, 0);
	struct cove_store_room r = w_room("lobby", 4);
	const uint8_t bob = 0xb0;
	struct loaded l;

	w_close(w);
	w->conf.retain_bytes = 5 * 656;
	w_open(w);
	assert_ok(cove_store_room_put(w->s, &r));
	assert_ok(cove_store_member_put(w->s, "lobby", 5, &m2));
	assert_ok(cove_store_member_put(w->s, "lobby", 5, &m1));
	for (uint32_t i = 1; i <= 8; i++)
		assert_ok(w_append_at(w, "lobby", i, 656, i == 7 ? &bob : NULL, 5000 + i));
	w_close(w); /* no flush: closing commits, and completes */
	assert_u64(w->n_done, 8);

	w_open(w);
	assert_span(w_span(w, "lobby"), 4, 9, 5 * 656);
	assert_int_equal(w_read(w, "lobby", 1, 0, 100), 4);
	assert_u64(w->seqs[0], 4);
	assert_u64(w->tags[3], 8);
	assert_int_equal(w_read(w, "lobby", bob, 0, 100), 5);
	assert_u64(w->tags[3], 7);
	load(w, &l);
	assert_u64(l.n_rooms, 1);
	assert_string_equal(l.name, "lobby");
	assert_int_equal(l.room.epoch_known, 0);
	assert_u64(l.room.epoch, 4);
	assert_u64(l.room.epoch_top, 5);
	assert_u64(l.room.next_serial, 104);
	assert_u64(l.n_members, 2);
	assert_u64(l.member[0].serial, 10);
	assert_u64(l.member[0].seen_ms, m1.seen_ms);
	assert_u64(l.member[0].ini_len, 300);
	assert_bytes(l.member[0].ini, m1.ini, 300);
	assert_bytes(l.member[1].pk, m2.pk, COVE_STORE_ID_LEN);
	assert_u64(l.member[1].ini_len, 0);

	assert_ok(w_append(w, "lobby", 9, 656));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->done[w->n_done - 1].seq, 9);
}

TEST(a_room_at_the_end_of_its_seq_space_refuses_appends)
{
	WORLD;
	const uint64_t last = ((uint64_t)1 << 40) - 2; /* the last seq a frame gets */

	w_put_room(w, "lobby");
	w_close(w);
	sql(w->path, "UPDATE rooms SET next_seq = 1099511627774, first_seq = 1099511627774");
	w_open(w);
	assert_ok(w_append(w, "lobby", 1, 100));
	assert_err(w_append(w, "lobby", 2, 100), COVE_ERR_LIMIT);
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->n_done, 1);
	assert_u64(w->done[0].seq, last);
	assert_int_equal(w_read(w, "lobby", 1, 0, 10), 1);
	assert_u64(w->seqs[0], last);
	assert_span(w_span(w, "lobby"), last, last + 1, 100);
}

TEST(a_new_store_is_private)
{
	WORLD;
	struct stat st;

	assert_int_equal(stat(w->path, &st), 0);
	if ((st.st_mode & 0777) != 0600)
		fail_msg("mode %04o, want 0600", (unsigned)(st.st_mode & 0777));
}

TEST(an_empty_file_becomes_a_store)
{
	WORLD;
	struct stat st;

	write_file(w->path, "", 0);
	assert_int_equal(chmod(w->path, 0640), 0);
	w_open(w);
	w_put_room(w, "lobby");
	assert_ok(w_append(w, "lobby", 1, 100));
	w_close(w);
	w_open(w);
	assert_span(w_span(w, "lobby"), 1, 2, 100);
	assert_int_equal(stat(w->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
}

TEST(another_programs_database_is_refused_untouched)
{
	WORLD;

	sql(w->path, "CREATE TABLE notes (body TEXT); INSERT INTO notes VALUES ('keep me')");
	assert_refused_untouched(w, COVE_ERR_STORE_FORMAT);
}

TEST(a_text_file_is_refused_untouched)
{
	WORLD;
	static const char text[] = "[relay]\nstore = here\n";

	write_file(w->path, text, sizeof(text) - 1);
	assert_refused_untouched(w, COVE_ERR_STORE_FORMAT);
	write_file(w->path, "SQLite format 3", 15); /* the magic, cut short */
	assert_refused_untouched(w, COVE_ERR_STORE_FORMAT);
}

TEST(random_bytes_are_refused_untouched)
{
	WORLD;
	static uint8_t noise[3 * 4096];
	uint64_t seed = 11;

	prng_fill(&seed, noise, sizeof(noise));
	write_file(w->path, noise, sizeof(noise));
	assert_refused_untouched(w, COVE_ERR_STORE_FORMAT);
}

TEST(a_cut_store_is_refused_untouched)
{
	WORLD;
	struct stat st;

	make_store(w);
	assert_int_equal(stat(w->path, &st), 0);
	assert_int_equal(truncate(w->path, st.st_size - 4096), 0);
	assert_refused_untouched(w, COVE_ERR_STORE_FORMAT);
	assert_int_equal(truncate(w->path, st.st_size / 2 + 100), 0);
	assert_refused_untouched(w, COVE_ERR_STORE_FORMAT);
}

/* A store of version 1 (the schema as it shipped, frozen here) is taken
 * to version 2 at open, keeping its rows: members get since 0, frames
 * rdat 0, the room no DATs counted yet. */
TEST(a_store_of_version_1_is_migrated_keeping_its_rows)
{
	WORLD;
	struct loaded l;
	struct cove_store_span sp;

	/* step 1 of store/sqlite_file.c, as it shipped */
	sql(w->path, "PRAGMA page_size = 4096;");
	sql(w->path,
	    "CREATE TABLE rooms (\n"
	    "  id INTEGER PRIMARY KEY,     -- below 2^23: a frame's key is id << 40 | seq\n"
	    "  name BLOB NOT NULL UNIQUE,\n"
	    "  epoch_known INTEGER NOT NULL,\n"
	    "  epoch INTEGER NOT NULL,\n"
	    "  epoch_top INTEGER NOT NULL,\n"
	    "  next_serial INTEGER NOT NULL,\n"
	    "  next_seq INTEGER NOT NULL,  -- the seq the next frame gets\n"
	    "  first_seq INTEGER NOT NULL, -- the oldest frame kept; next_seq when none is\n"
	    "  bytes INTEGER NOT NULL      -- of the frames kept\n"
	    ");\n"
	    "CREATE TABLE members (\n"
	    "  room INTEGER NOT NULL,      -- rooms.id\n"
	    "  pk BLOB NOT NULL,\n"
	    "  serial INTEGER NOT NULL,    -- join order\n"
	    "  joined_ms INTEGER NOT NULL,\n"
	    "  seen_ms INTEGER NOT NULL,\n"
	    "  epoch_known INTEGER NOT NULL,\n"
	    "  epoch INTEGER NOT NULL,\n"
	    "  ini BLOB NOT NULL,\n"
	    "  PRIMARY KEY (room, pk)\n"
	    ");\n"
	    "CREATE TABLE frames (\n"
	    "  key INTEGER PRIMARY KEY,    -- room id << 40 | seq: a room's frames in order\n"
	    "  ts_ms INTEGER NOT NULL,\n"
	    "  type INTEGER NOT NULL,\n"
	    "  dest BLOB,                  -- the one member it is for; NULL: every member\n"
	    "  raw BLOB NOT NULL\n"
	    ");\n");
	sql(w->path,
	    "INSERT INTO rooms VALUES (1, CAST('lobby' AS BLOB), 1, 4, 5, 3, 2, 1, 4);"
	    "INSERT INTO members VALUES (1, zeroblob(32), 1, 10, 20, 1, 4, x'01');"
	    "INSERT INTO frames VALUES ((1 << 40) | 1, 30, 3, NULL, x'00000000');"
	    "PRAGMA application_id = 1131378277; PRAGMA user_version = 1;");
	w_open(w);
	load(w, &l);
	assert_u64(l.n_rooms, 1);
	assert_u64(l.room.epoch, 4);
	assert_u64(l.n_members, 1);
	assert_u64(l.member[0].since, 0);
	assert_u64(l.member[0].seen_ms, 20);
	assert_ok(cove_store_span(w->s, "lobby", 5, &sp));
	assert_u64(sp.next, 2);
	assert_u64(sp.dats, 0);
	assert_ok(w_append(w, "lobby", 10, 100)); /* a DAT: tag 10 % 7 == 3 */
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->done[0].seq, 2);
	assert_u64(w->done[0].rdat, 1);
}

TEST(a_store_of_a_newer_version_is_refused_untouched)
{
	WORLD;

	make_store(w);
	sql(w->path, "PRAGMA user_version = 3");
	assert_refused_untouched(w, COVE_ERR_VERSION);
	sql(w->path, "PRAGMA user_version = 0");
	assert_refused_untouched(w, COVE_ERR_STORE_FORMAT);
}

TEST(a_newer_version_still_in_the_wal_is_refused_untouched)
{
	WORLD;
	struct snap wal;
	char wal_path[160];

	make_store(w);
	sql_wal(w->path, "PRAGMA user_version = 3", 1);
	snprintf(wal_path, sizeof(wal_path), "%s-wal", w->path);
	assert_ok(cove_file_read(wal_path, 1 << 20, 0, &wal.bytes, &wal.len, NULL));
	assert_true(wal.len > 0);
	assert_refused_untouched(w, COVE_ERR_VERSION);
	struct snap after = { 0 };
	assert_ok(cove_file_read(wal_path, 1 << 20, 0, &after.bytes, &after.len, NULL));
	assert_u64(after.len, wal.len);
	assert_bytes(after.bytes, wal.bytes, wal.len);
	free(wal.bytes);
	free(after.bytes);
}

TEST(a_store_with_corrupt_members_is_refused_untouched)
{
	WORLD;

	make_store(w);
	spoil_page(w->path, root_page(w->path, "members"));
	assert_refused_untouched(w, COVE_ERR_STORE_FORMAT);
}

TEST(a_corrupt_frame_page_fails_the_calls_that_meet_it)
{
	WORLD;

	make_store(w);
	spoil_page(w->path, root_page(w->path, "frames"));
	w_open(w);
	assert_err(w_read(w, "lobby", 1, 0, 100), COVE_ERR_STORE_FORMAT);
	assert_err(w_append(w, "lobby", 41, 656), COVE_ERR_STORE_FORMAT);
	w_put_room(w, "other");
	assert_ok(cove_store_flush(w->s));
}

TEST(a_store_with_another_schema_is_refused_untouched)
{
	WORLD;

	make_store(w);
	sql(w->path, "CREATE TABLE extra (x)");
	assert_refused_untouched(w, COVE_ERR_STORE_FORMAT);
}

TEST(a_folder_or_a_fifo_is_no_store)
{
	WORLD;
	struct cove_store *s = NULL;

	/* a folder: an I/O error saying so, for the message to name it */
	errno = 0;
	assert_err(cove_store_open(&s, w->ops, w->dir, &w->conf), COVE_ERR_IO);
	assert_int_equal(errno, EISDIR);
	/* a FIFO: refused at once, not waited on for a writer */
	assert_int_equal(mkfifo(w->path, 0600), 0);
	assert_err(cove_store_open(&s, w->ops, w->path, &w->conf), COVE_ERR_STORE_FORMAT);
	unlink(w->path);
	snprintf(w->path, sizeof(w->path), "%s/missing/store.db", w->dir);
	assert_err(cove_store_open(&s, w->ops, w->path, &w->conf), COVE_ERR_IO);
	assert_err(cove_store_open(&s, w->ops, NULL, &w->conf), COVE_ERR_INVAL);
	assert_null(s);
}

TEST(a_store_another_process_holds_is_busy_and_untouched)
{
	WORLD;

	make_store(w);
	w_open(w);
	w_put_room(w, "other");
	assert_ok(cove_store_flush(w->s));
	assert_refused_untouched(w, COVE_ERR_BUSY);
	assert_ok(w_append(w, "other", 1, 100));
	assert_ok(cove_store_flush(w->s));
}

static struct cove_store *child_store; /* reachable when the child dies */

static void child_done(void *arg, uint64_t seq, uint64_t rdat, int err)
{
	(void)arg;
	(void)seq;
	(void)rdat;
	if (err)
		_exit(3);
}

/* In the child: 5 frames flushed, a sixth not, then death without close. */
static void child_crashes(const char *path)
{
	struct cove_store_conf conf = { .retain_bytes = UINT64_MAX, .fsync = 1 };
	struct cove_store_room r = w_room("lobby", 1);
	uint8_t raw[656];

	if (cove_store_open(&child_store, cove_store_backend("sqlite"), path, &conf) != COVE_OK ||
	    cove_store_room_put(child_store, &r) != COVE_OK)
		_exit(1);
	for (uint32_t i = 1; i <= 6; i++) {
		struct cove_store_frame f = { .ts_ms = i, .type = i % 7, .dat = i % 7 == W_DAT_TYPE,
					      .raw = raw, .len = sizeof(raw) };

		w_frame_bytes(raw, sizeof(raw), i);
		if (cove_store_append(child_store, "lobby", 5, &f, child_done, NULL) != COVE_OK ||
		    (i == 5 && cove_store_flush(child_store) != COVE_OK))
			_exit(2);
	}
	_exit(0);
}

TEST(flushed_frames_survive_a_crash)
{
	WORLD;
	int status;
	pid_t pid;

	w_close(w);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		child_crashes(w->path);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	w_open(w);
	assert_span(w_span(w, "lobby"), 1, 6, 5 * 656);
	assert_int_equal(w_read(w, "lobby", 1, 0, 100), 5);
	assert_u64(w->tags[4], 5);
	assert_ok(w_append(w, "lobby", 6, 656));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->done[0].seq, 6);
}

TEST(a_disk_full_at_commit_fails_the_batchs_frames_and_keeps_the_rest)
{
	WORLD;
	struct cove_store_member m1 = w_member(1, 10, 300), m2 = w_member(2, 20, 200);
	struct loaded l;

	w_put_room(w, "lobby");
	assert_ok(cove_store_member_put(w->s, "lobby", 5, &m1));
	assert_ok(w_append(w, "lobby", 1, 656));
	assert_ok(w_append(w, "lobby", 2, 656));
	assert_ok(cove_store_flush(w->s));

	assert_ok(cove_store_member_put(w->s, "lobby", 5, &m2));
	w_put_room(w, "other");
	for (uint32_t i = 3; i <= 5; i++)
		assert_ok(w_append(w, "lobby", i, 656));
	disk_full = 1;
	assert_err(cove_store_flush(w->s), COVE_ERR_FULL);
	assert_u64(w->n_done, 5);
	for (size_t i = 2; i < 5; i++) {
		assert_err(w->done[i].err, COVE_ERR_FULL);
		assert_u64(w->done[i].seq, 0);
	}
	/* what was committed can still be read while the disk is full */
	assert_int_equal(w_read(w, "lobby", 1, 0, 100), 2);
	assert_ok(w_append(w, "lobby", 6, 656));
	assert_err(cove_store_flush(w->s), COVE_ERR_FULL);
	assert_u64(w->n_done, 6);
	assert_err(w->done[5].err, COVE_ERR_FULL);

	disk_full = 0;
	assert_ok(w_append(w, "lobby", 7, 656));
	assert_ok(cove_store_flush(w->s));
	assert_u64(w->n_done, 7);
	assert_err(w->done[6].err, COVE_OK);
	assert_u64(w->done[6].seq, 3);
	w_close(w);
	w_open(w);
	load(w, &l);
	assert_u64(l.n_rooms, 2);
	assert_u64(l.n_members, 2);
	assert_span(w_span(w, "lobby"), 1, 4, 3 * 656);
	assert_int_equal(w_read(w, "lobby", 1, 0, 100), 3);
	assert_u64(w->tags[2], 7);
}

#define T(name) cmocka_unit_test_setup_teardown(name, setup, w_teardown)
#define TC(name) cmocka_unit_test_setup_teardown(name, setup_closed, w_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(rooms_appended_in_turn_in_one_batch_keep_their_spans),
		T(everything_survives_close_and_reopen),
		T(a_room_at_the_end_of_its_seq_space_refuses_appends),
		T(a_new_store_is_private),
		TC(an_empty_file_becomes_a_store),
		TC(another_programs_database_is_refused_untouched),
		TC(a_text_file_is_refused_untouched),
		TC(random_bytes_are_refused_untouched),
		TC(a_cut_store_is_refused_untouched),
		TC(a_store_of_version_1_is_migrated_keeping_its_rows),
		TC(a_store_of_a_newer_version_is_refused_untouched),
		TC(a_newer_version_still_in_the_wal_is_refused_untouched),
		TC(a_store_with_corrupt_members_is_refused_untouched),
		TC(a_corrupt_frame_page_fails_the_calls_that_meet_it),
		TC(a_store_with_another_schema_is_refused_untouched),
		TC(a_folder_or_a_fifo_is_no_store),
		TC(a_store_another_process_holds_is_busy_and_untouched),
		T(flushed_frames_survive_a_crash),
		T(a_disk_full_at_commit_fails_the_batchs_frames_and_keeps_the_rest),
	};

	full_vfs_install();
	return cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
}
