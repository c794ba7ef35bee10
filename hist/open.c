#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/file.h"
#include "hist/hist.h"
#include "hist/open.h"

/* The schema, one step a version: migrations[v] takes a file from
 * version v to v + 1, in one transaction with its user_version. Steps
 * are never edited once released; a change is a new step. */
static const char *const migrations[COVE_HIST_VERSION] = {
	/* 0 -> 1 */
	"CREATE TABLE owner ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  proof BLOB NOT NULL);"
	"CREATE TABLE room ("
	"  id INTEGER PRIMARY KEY,"
	"  tag BLOB NOT NULL UNIQUE,"
	"  name BLOB NOT NULL,"
	"  rseq INTEGER NOT NULL DEFAULT 0,"
	"  rdat INTEGER NOT NULL DEFAULT 0,"
	"  seen_ms INTEGER NOT NULL DEFAULT 0,"
	"  state BLOB);"
	"CREATE TABLE msg ("
	"  id INTEGER PRIMARY KEY,"
	"  room INTEGER NOT NULL REFERENCES room (id),"
	"  ts_ms INTEGER NOT NULL,"
	"  rseq INTEGER NOT NULL,"
	"  tag BLOB NOT NULL UNIQUE,"
	"  body BLOB NOT NULL);"
	"CREATE INDEX msg_time ON msg (room, ts_ms);"
	"CREATE TABLE secret ("
	"  room INTEGER NOT NULL REFERENCES room (id),"
	"  kind INTEGER NOT NULL,"
	"  epoch INTEGER NOT NULL,"
	"  blob BLOB NOT NULL,"
	"  PRIMARY KEY (room, kind, epoch)) WITHOUT ROWID;",
};

/* The owner row: a constant sealed under the identity's key, so that a
 * file opened with another identity is told apart from a damaged one
 * before anything else is read. */
static const uint8_t owner_text[] = "COVE-HIST-OWNER-V1";
static const uint8_t owner_ad[] = "owner.proof";
#define OWNER_BLOB_LEN (sizeof(owner_text) + COVE_ATREST_OVERHEAD)

#define SQLITE_HEADER "SQLite format 3"  /* 16 bytes with its NUL */
#define HEADER_LEN 100
#define HEADER_USER_VERSION 60
#define HEADER_APP_ID 68

int hist_err(sqlite3 *db, int rc)
{
	int e = db ? sqlite3_system_errno(db) : 0;

	switch (rc & 0xff) {
	case SQLITE_OK: return COVE_OK;
	case SQLITE_FULL:
		errno = ENOSPC;
		return COVE_ERR_FULL;
	case SQLITE_NOMEM: return COVE_ERR_NOMEM;
	/* Our statements are fixed, so a plain SQL error means the file's
	 * schema is not the one they were written for. */
	case SQLITE_ERROR:
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
	case SQLITE_FORMAT:
	case SQLITE_SCHEMA:
	case SQLITE_MISMATCH:
	case SQLITE_CONSTRAINT:
		return COVE_ERR_STORE_FORMAT;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		errno = EBUSY;
		return COVE_ERR_IO;
	case SQLITE_PERM:
	case SQLITE_READONLY:
	case SQLITE_AUTH:
		errno = e ? e : EACCES;
		return COVE_ERR_IO;
	}
	errno = e ? e : EIO;
	return COVE_ERR_IO;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads the database header of what is at path with plain system calls,
 * so that a file that is not ours is refused before SQLite opens it (it
 * could otherwise roll back a journal or merge a WAL into it). Returns
 * 0 (a Cove history file this code can read), COVE_ERR_NOTFOUND (nothing
 * there), COVE_ERR_STORE_FORMAT, COVE_ERR_VERSION or COVE_ERR_IO. */
static int header_check(const char *path)
{
	uint8_t hdr[HEADER_LEN];
	size_t got = 0;
	struct stat st;
	uint32_t version;
	int fd, e;

	/* O_NONBLOCK: a FIFO at path must not hang the open. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? COVE_ERR_NOTFOUND : COVE_ERR_IO;
	if (fstat(fd, &st) != 0)
		goto io;
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		if (!S_ISDIR(st.st_mode))
			return COVE_ERR_STORE_FORMAT;
		errno = EISDIR; /* the caller says: a file's path, not a folder's */
		return COVE_ERR_IO;
	}
	while (got < sizeof(hdr)) {
		ssize_t r = pread(fd, hdr + got, sizeof(hdr) - got, (off_t)got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto io;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	if (got < sizeof(hdr) || memcmp(hdr, SQLITE_HEADER, sizeof(SQLITE_HEADER)) != 0 ||
	    be32(hdr + HEADER_APP_ID) != COVE_HIST_APP_ID)
		return COVE_ERR_STORE_FORMAT;
	version = be32(hdr + HEADER_USER_VERSION);
	if (version == 0)
		return COVE_ERR_STORE_FORMAT;
	return version > COVE_HIST_VERSION ? COVE_ERR_VERSION : COVE_OK;
io:
	e = errno;
	close(fd);
	errno = e;
	return COVE_ERR_IO;
}

static int exec(sqlite3 *db, const char *sql)
{
	return hist_err(db, sqlite3_exec(db, sql, NULL, NULL, NULL));
}

/* Whether SQLite finds the file's structure sound: every page of every
 * table and index reachable once and well formed (quick_check: not the
 * indexes' agreement with their tables). About 30 ms for 100,000
 * messages; what is inside the rows is checked as each is opened. */
static int check_structure(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, "PRAGMA quick_check(1)", -1, &st, NULL), r;

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			rc = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0
				     ? SQLITE_OK
				     : SQLITE_CORRUPT;
	}
	r = hist_err(db, rc);
	sqlite3_finalize(st);
	return r;
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *v)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			*v = sqlite3_column_int64(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return hist_err(db, rc);
}

/* One migration step and its version, inside the caller's transaction. */
static int migrate_step(sqlite3 *db, int64_t from)
{
	char sql[64];
	int r = exec(db, migrations[from]);

	if (r != COVE_OK)
		return r;
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %lld", (long long)from + 1);
	return exec(db, sql);
}

static int set_owner(sqlite3 *db, const struct cove_atrest *ar)
{
	uint8_t blob[OWNER_BLOB_LEN];
	sqlite3_stmt *st = NULL;
	int rc;

	cove_atrest_seal(ar, blob, owner_text, sizeof(owner_text), owner_ad, sizeof(owner_ad));
	rc = sqlite3_prepare_v2(db, "INSERT INTO owner (id, proof) VALUES (1, ?1)", -1, &st,
				NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 1, blob, sizeof(blob), SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
	sqlite3_finalize(st);
	return hist_err(db, rc);
}

static int check_owner(sqlite3 *db, const struct cove_atrest *ar)
{
	uint8_t text[sizeof(owner_text)];
	sqlite3_stmt *st = NULL;
	int rc, r;

	rc = sqlite3_prepare_v2(db, "SELECT proof FROM owner WHERE id = 1", -1, &st, NULL);
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		rc = rc == SQLITE_DONE ? SQLITE_CORRUPT : rc;
		goto out;
	}
	if ((size_t)sqlite3_column_bytes(st, 0) != OWNER_BLOB_LEN ||
	    cove_atrest_open(ar, text, sqlite3_column_blob(st, 0), OWNER_BLOB_LEN, owner_ad,
			     sizeof(owner_ad)) != COVE_OK ||
	    sodium_memcmp(text, owner_text, sizeof(text)) != 0) {
		sqlite3_finalize(st);
		return COVE_ERR_KEY_MISMATCH;
	}
	rc = SQLITE_OK;
out:
	r = hist_err(db, rc);
	sqlite3_finalize(st);
	return r;
}

/* Whether a write-ahead log with something in it lies beside path: one
 * a newer version or another program left, which must not be merged
 * into the file before the file has been checked. */
static int wal_in_use(const char *path)
{
	char wal[PATH_MAX];
	struct stat st;

	if (snprintf(wal, sizeof(wal), "%s-wal", path) >= (int)sizeof(wal))
		return 1;
	return stat(wal, &st) == 0 && st.st_size > 0;
}

/* Hardens a connection to a file that may have been crafted: no schema
 * tricks (defensive), nothing in the schema runs functions with side
 * effects. With keep_wal, no checkpoint at close until the file has been
 * checked; without, the close may remove the empty log that opening a
 * WAL file makes, and merges nothing. */
static int connect_db(sqlite3 **db, const char *path, int keep_wal)
{
	int rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL);

	if (rc != SQLITE_OK)
		return hist_err(*db, rc);
	sqlite3_db_config(*db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(*db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_db_config(*db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, keep_wal, NULL);
	/* Exclusive: a second node on the same file is refused at its first
	 * read instead of failing later at a write; and WAL then needs no
	 * shared-memory file. Set before the first read takes a lock. */
	return exec(*db, "PRAGMA locking_mode = EXCLUSIVE");
}

/* Makes a new history file: a private temporary file beside path gets
 * the whole schema and the owner row in one transaction, and only then
 * appears at path (a link, which never replaces anything). A crash
 * leaves at most a stray "<path>.new-XXXXXX", never a half-made file. */
static int create(const char *path, const struct cove_atrest *ar)
{
	char tmp[PATH_MAX], sql[64];
	sqlite3 *db = NULL;
	int fd, r, e;

	if (snprintf(tmp, sizeof(tmp), "%s.new-XXXXXX", path) >= (int)sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return COVE_ERR_IO;
	}
	fd = mkstemp(tmp); /* mode 0600, and so the journal SQLite makes beside it */
	if (fd < 0)
		return COVE_ERR_IO;
	close(fd);
	r = connect_db(&db, tmp, 0);
	if (r == COVE_OK)
		r = exec(db, "BEGIN");
	snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", COVE_HIST_APP_ID);
	if (r == COVE_OK)
		r = exec(db, sql);
	for (int64_t v = 0; v < COVE_HIST_VERSION && r == COVE_OK; v++)
		r = migrate_step(db, v);
	if (r == COVE_OK)
		r = set_owner(db, ar);
	if (r == COVE_OK)
		r = exec(db, "COMMIT");
	e = errno;
	if (sqlite3_close(db) != SQLITE_OK && r == COVE_OK) {
		r = COVE_ERR_IO;
		e = EIO;
	}
	if (r == COVE_OK && link(tmp, path) != 0) {
		e = errno;
		r = e == EEXIST ? COVE_ERR_EXISTS : COVE_ERR_IO;
	}
	unlink(tmp);
	if (r == COVE_OK)
		cove_file_fsync_dir(path);
	errno = e;
	return r;
}

static int migrate(sqlite3 *db, int64_t version)
{
	int r = COVE_OK;

	for (; version < COVE_HIST_VERSION && r == COVE_OK; version++) {
		r = exec(db, "BEGIN");
		if (r == COVE_OK)
			r = migrate_step(db, version);
		r = r == COVE_OK ? exec(db, "COMMIT") : r;
		if (r != COVE_OK && !sqlite3_get_autocommit(db))
			exec(db, "ROLLBACK");
	}
	return r;
}

/* The checks again, through SQLite this time: a WAL left by a newer
 * version may hold a newer page 1 than the file's own header. */
static int check_db(sqlite3 *db, const struct cove_atrest *ar, int64_t *version)
{
	int64_t app = 0;
	int r = pragma_int(db, "PRAGMA application_id", &app);

	if (r == COVE_OK)
		r = pragma_int(db, "PRAGMA user_version", version);
	if (r != COVE_OK)
		return r;
	if (app != COVE_HIST_APP_ID || *version <= 0)
		return COVE_ERR_STORE_FORMAT;
	if (*version > COVE_HIST_VERSION)
		return COVE_ERR_VERSION;
	r = check_owner(db, ar);
	return r == COVE_OK ? check_structure(db) : r;
}

int hist_open_db(sqlite3 **out, const char *path, const struct cove_atrest *ar)
{
	sqlite3 *db = NULL;
	int64_t version = 0;
	int r = header_check(path);

	*out = NULL;
	if (r == COVE_ERR_NOTFOUND) {
		r = create(path, ar);
		/* Someone else made it meanwhile: check theirs like any file. */
		if (r == COVE_ERR_EXISTS)
			r = COVE_OK;
		if (r == COVE_OK)
			r = header_check(path);
		if (r == COVE_ERR_NOTFOUND) { /* a link to nowhere is in the way */
			errno = ENOENT;
			r = COVE_ERR_IO;
		}
	}
	if (r != COVE_OK)
		return r;
	r = connect_db(&db, path, wal_in_use(path));
	if (r == COVE_OK)
		r = check_db(db, ar, &version);
	if (r == COVE_OK) {
		/* Checked: from here on the file is ours to change. */
		sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL);
		r = exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
			 " PRAGMA secure_delete = ON;");
	}
	if (r == COVE_OK)
		r = migrate(db, version);
	if (r != COVE_OK) {
		int e = errno;

		sqlite3_close(db);
		errno = e;
		return r;
	}
	*out = db;
	return COVE_OK;
}
