/*
 * sqlite_file.c - opening the SQLite store's file, and its schema.
 *
 * A file is refused before SQLite writes a byte of it: its first 100
 * bytes (SQLite's header) are read with read(2) and must carry SQLite's
 * magic, Cove's application id, a version this code knows and a length
 * that matches the header; only then is it opened, with checkpoint on
 * close turned off, so that refusing it afterwards (its schema is not the
 * one of its version, SQLite finds it corrupt, another process has it)
 * still changes nothing: no checkpoint moves its WAL into it, and no
 * journal mode is set before every check has passed. With the exclusive
 * locking mode SQLite keeps the WAL index in memory and makes no -shm
 * file; the one file it may make while checking is an empty -wal beside a
 * store in WAL mode that had none, removed again on refusal.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "store/sqlite_file.h"

/* The schema as numbered steps: step n turns a store of version n - 1
 * into version n (version 0: an empty file), all in one transaction with
 * the new PRAGMA user_version. A step that has shipped is never edited;
 * a change is a new step. The comments are kept in the file's schema, for
 * whoever opens it with sqlite3. */
static const char *const sql_steps[] = {
	/* 1: rooms, their members and their frames */
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
	");\n",
	/* 2: what a member that comes back needs: since when it is a member,
	 * and the DATs counted, so that it is told exactly how many it missed */
	"ALTER TABLE members ADD COLUMN since INTEGER NOT NULL DEFAULT 0; -- seq of its joining INI\n"
	"ALTER TABLE frames ADD COLUMN dat INTEGER NOT NULL DEFAULT 0;    -- it is a DAT\n"
	"ALTER TABLE frames ADD COLUMN rdat INTEGER NOT NULL DEFAULT 0;   -- DATs through it\n"
	"ALTER TABLE rooms ADD COLUMN dats INTEGER NOT NULL DEFAULT 0;    -- DATs appended\n"
	"ALTER TABLE rooms ADD COLUMN dropped_dats INTEGER NOT NULL DEFAULT 0; -- of them dropped\n",
};

#define SQL_VERSION ((int)(sizeof(sql_steps) / sizeof(sql_steps[0])))

/* SQLite's file header (https://www.sqlite.org/fileformat.html). */
#define HDR_LEN 100
#define HDR_MAGIC "SQLite format 3"

int cove_store_sql_err(sqlite3 *db, int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return COVE_OK;
	case SQLITE_FULL:
		return COVE_ERR_FULL;
	case SQLITE_NOMEM:
		return COVE_ERR_NOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return COVE_ERR_BUSY;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
		return COVE_ERR_STORE_FORMAT;
	case SQLITE_TOOBIG:
		return COVE_ERR_INVAL;
	default:
		errno = db && sqlite3_system_errno(db) ? sqlite3_system_errno(db) : EIO;
		return COVE_ERR_IO;
	}
}

static int sql_exec(sqlite3 *db, const char *sql)
{
	return cove_store_sql_err(db, sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/* The integer a one-value statement (a PRAGMA) gives. */
static int sql_int(sqlite3 *db, const char *sql, int64_t *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			*out = sqlite3_column_int64(st, 0);
		else if (rc == SQLITE_DONE)
			rc = SQLITE_CORRUPT;
	}
	sqlite3_finalize(st);
	return cove_store_sql_err(db, rc);
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Checks what a Cove store's file must be before SQLite may open it.
 * *fresh: it is missing or empty. */
static int sql_check_header(const char *path, int *fresh)
{
	uint8_t h[HDR_LEN];
	struct stat st;
	uint32_t page, pages, version;
	ssize_t n;
	/* O_NONBLOCK: a FIFO at path must not hang the open */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	*fresh = 0;
	if (fd < 0) {
		*fresh = errno == ENOENT;
		return *fresh ? COVE_OK : COVE_ERR_IO;
	}
	if (fstat(fd, &st) != 0) {
		close(fd);
		return COVE_ERR_IO;
	}
	n = S_ISREG(st.st_mode) && st.st_size > 0 ? read(fd, h, sizeof(h)) : 0;
	close(fd);
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR; /* the caller says: a file's path, not a folder's */
		return COVE_ERR_IO;
	}
	if (!S_ISREG(st.st_mode))
		return COVE_ERR_STORE_FORMAT;
	if (st.st_size == 0) {
		/* an empty file: made by the operator to set its owner and
		 * mode, or by a first start that died before its first commit */
		*fresh = 1;
		return COVE_OK;
	}
	if (n < 0)
		return COVE_ERR_IO;
	if (n < HDR_LEN || memcmp(h, HDR_MAGIC, sizeof(HDR_MAGIC)) != 0 ||
	    be32(h + 68) != COVE_STORE_SQL_APP_ID)
		return COVE_ERR_STORE_FORMAT;
	version = be32(h + 60);
	if (version == 0)
		return COVE_ERR_STORE_FORMAT;
	if (version > SQL_VERSION)
		return COVE_ERR_VERSION;
	page = (uint32_t)h[16] << 8 | h[17];
	page = page == 1 ? 65536 : page;
	if (page < 512 || (page & (page - 1)) != 0 || st.st_size % page != 0)
		return COVE_ERR_STORE_FORMAT;
	/* the page count is valid when its version-valid-for number is the
	 * change counter; a file shorter than that was cut */
	pages = be32(h + 28);
	if (be32(h + 92) == be32(h + 24) && (uint64_t)st.st_size < (uint64_t)pages * page)
		return COVE_ERR_STORE_FORMAT;
	return COVE_OK;
}

/* The schema of db as text (type, name, table and SQL of each object),
 * for comparing; sqlite3_free()d by the caller. */
static int sql_schema(sqlite3 *db, char **out)
{
	sqlite3_stmt *st;
	sqlite3_str *s = sqlite3_str_new(db);
	int rc = sqlite3_prepare_v2(db, "SELECT type, name, tbl_name, sql FROM sqlite_schema "
				    "ORDER BY type, name", -1, &st, NULL);

	if (rc == SQLITE_OK)
		while ((rc = sqlite3_step(st)) == SQLITE_ROW)
			for (int i = 0; i < 4; i++)
				sqlite3_str_appendf(s, "%s%c", (const char *)sqlite3_column_text(st, i),
						    i < 3 ? '|' : '\n');
	sqlite3_finalize(st);
	rc = rc == SQLITE_DONE ? sqlite3_str_errcode(s) : rc;
	*out = sqlite3_str_finish(s);
	if (rc == SQLITE_OK && !*out)
		rc = SQLITE_NOMEM;
	return cove_store_sql_err(db, rc);
}

/* Runs the steps that take db from version from to SQL_VERSION, in one
 * transaction that also sets the application id and the version. */
static int sql_migrate(sqlite3 *db, int from)
{
	char tail[96];
	int ret = sql_exec(db, "BEGIN");

	for (int v = from; ret == COVE_OK && v < SQL_VERSION; v++)
		ret = sql_exec(db, sql_steps[v]);
	snprintf(tail, sizeof(tail), "PRAGMA application_id = %d; PRAGMA user_version = %d; COMMIT",
		 COVE_STORE_SQL_APP_ID, SQL_VERSION);
	if (ret == COVE_OK)
		ret = sql_exec(db, tail);
	if (ret != COVE_OK && !sqlite3_get_autocommit(db))
		sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

/* db's schema must be exactly the one its version's steps make, which an
 * empty database in memory shows. */
static int sql_check_schema(sqlite3 *db, int version)
{
	sqlite3 *mem = NULL;
	char *want = NULL, *have = NULL;
	int ret = cove_store_sql_err(NULL, sqlite3_open(":memory:", &mem));

	for (int v = 0; ret == COVE_OK && v < version; v++)
		ret = sql_exec(mem, sql_steps[v]);
	if (ret == COVE_OK)
		ret = sql_schema(mem, &want);
	if (ret == COVE_OK)
		ret = sql_schema(db, &have);
	if (ret == COVE_OK && strcmp(want, have) != 0)
		ret = COVE_ERR_STORE_FORMAT;
	sqlite3_free(want);
	sqlite3_free(have);
	sqlite3_close(mem);
	return ret;
}

/* PRAGMA quick_check of one table: "ok", or it is corrupt. */
static int sql_quick_check(sqlite3 *db, const char *table)
{
	char pragma[64];
	sqlite3_stmt *st;
	int rc;

	snprintf(pragma, sizeof(pragma), "PRAGMA quick_check(%s)", table);
	rc = sqlite3_prepare_v2(db, pragma, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0)
		rc = SQLITE_CORRUPT;
	sqlite3_finalize(st);
	return cove_store_sql_err(db, rc);
}

/* Makes the new file path, private to the relay's user, with its name
 * durable in its folder. */
static int sql_create(const char *path)
{
	char dir[PATH_MAX];
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

	if (fd < 0)
		return COVE_ERR_IO;
	close(fd);
	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return COVE_OK;
	fd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	return COVE_OK;
}

/* Every check of a file that exists and is not empty, on the open db:
 * nothing is written. *version: 0 when SQLite sees it empty after all
 * (a first start that died before its first commit, rolled back). */
static int sql_check(sqlite3 *db, int64_t *version)
{
	int64_t pages, app;
	int ret = sql_int(db, "PRAGMA page_count", &pages);

	*version = 0;
	if (ret != COVE_OK || pages == 0)
		return ret;
	ret = sql_int(db, "PRAGMA application_id", &app);
	if (ret == COVE_OK)
		ret = sql_int(db, "PRAGMA user_version", version);
	if (ret != COVE_OK)
		return ret;
	if (app != COVE_STORE_SQL_APP_ID || *version <= 0)
		return COVE_ERR_STORE_FORMAT;
	if (*version > SQL_VERSION)
		return COVE_ERR_VERSION;
	ret = sql_check_schema(db, (int)*version);
	/* the rooms and members a relay loads at start are checked page by
	 * page; the frames are not (PRAGMA quick_check reads the whole file:
	 * 35 ms for 65 MB in the page cache, seconds for the gigabytes a relay
	 * may keep on a disk), and a frame page found corrupt later fails the
	 * call that meets it with COVE_ERR_STORE_FORMAT */
	if (ret == COVE_OK)
		ret = sql_quick_check(db, "rooms");
	if (ret == COVE_OK)
		ret = sql_quick_check(db, "members");
	return ret;
}

/* What each write costs and keeps. In WAL mode a commit appends to the
 * WAL; with synchronous=FULL it is also fsynced there, so a power loss
 * loses no commit. With NORMAL the WAL is fsynced only at checkpoints
 * (about every 4 MiB of WAL): a kill -9 of the relay loses nothing that
 * was committed (the kernel has it), a power loss or a kernel crash can
 * lose the commits since the last checkpoint that the kernel had not yet
 * written back, but never leaves the file corrupt. */
static int sql_settle(sqlite3 *db, const struct cove_store_conf *conf)
{
	char pragmas[256];
	int64_t pages = (int64_t)(conf->max_bytes / COVE_STORE_SQL_PAGE);
	sqlite3_stmt *st;
	int rc, ret;

	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW &&
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0)
		rc = SQLITE_IOERR;
	sqlite3_finalize(st);
	ret = cove_store_sql_err(db, rc);
	if (ret != COVE_OK)
		return ret;
	/* secure_delete FAST: zero what retention deletes where that costs no
	 * extra write; journal_size_limit: a WAL grown by a large batch is cut
	 * back at the next checkpoint instead of staying that large */
	snprintf(pragmas, sizeof(pragmas),
		 "PRAGMA synchronous = %s; PRAGMA secure_delete = FAST; "
		 "PRAGMA journal_size_limit = %d",
		 conf->fsync ? "FULL" : "NORMAL", 8 << 20);
	ret = sql_exec(db, pragmas);
	if (ret == COVE_OK && conf->max_bytes) {
		/* the cap a test or an operator sets; SQLite fails a write
		 * beyond it with SQLITE_FULL, as on a full disk */
		snprintf(pragmas, sizeof(pragmas), "PRAGMA max_page_count = %lld",
			 (long long)(pages > 0 ? pages : 1));
		ret = sql_exec(db, pragmas);
	}
	return ret;
}

/* Removes the WAL file wal if it is empty. */
static void sql_unlink_empty(const char *wal)
{
	struct stat st;

	if (stat(wal, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
		unlink(wal);
}

int cove_store_sql_open(sqlite3 **out, const char *path, const struct cove_store_conf *conf)
{
	char wal[PATH_MAX];
	sqlite3 *db = NULL;
	int64_t version = 0;
	int fresh, created = 0, had_wal, ret;

	*out = NULL;
	if (!path || !*path)
		return COVE_ERR_INVAL;
	if (snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal))
		return COVE_ERR_INVAL;
	had_wal = access(wal, F_OK) == 0;
	ret = sql_check_header(path, &fresh);
	if (ret == COVE_OK && fresh && access(path, F_OK) != 0) {
		ret = sql_create(path);
		created = ret == COVE_OK;
	}
	if (ret != COVE_OK)
		return ret;
	/* db is set even when the open fails, for the errno of the error */
	ret = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
	ret = cove_store_sql_err(db, ret);
	if (ret == COVE_OK)
		ret = cove_store_sql_err(db, sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
							       1, NULL));
	if (ret == COVE_OK)
		ret = sql_exec(db, "PRAGMA locking_mode = EXCLUSIVE");
	if (ret == COVE_OK && !fresh)
		ret = sql_check(db, &version);
	if (ret == COVE_OK && version == 0) {
		char pragma[64];

		snprintf(pragma, sizeof(pragma), "PRAGMA page_size = %d", COVE_STORE_SQL_PAGE);
		ret = sql_exec(db, pragma);
	}
	if (ret == COVE_OK && version < SQL_VERSION)
		ret = sql_migrate(db, (int)version);
	if (ret == COVE_OK)
		ret = sql_settle(db, conf);
	if (ret == COVE_OK)
		ret = cove_store_sql_err(db, sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
							       0, NULL));
	if (ret != COVE_OK) {
		/* a refusal comes after a read, so this connection still holds
		 * the exclusive lock: no other can be using a WAL that was not
		 * there before it opened */
		if ((ret == COVE_ERR_STORE_FORMAT || ret == COVE_ERR_VERSION) && !had_wal)
			sql_unlink_empty(wal);
		sqlite3_close(db);
		if (created)
			unlink(path);
		return ret;
	}
	*out = db;
	return COVE_OK;
}
