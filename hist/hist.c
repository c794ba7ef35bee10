#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "crypto/atrest.h"
#include "hist/hist.h"
#include "hist/open.h"

enum {
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST_CHECKPOINT,
	ST_ROOM_FIND,
	ST_ROOM_ADD,
	ST_ROOM_TAG,
	ST_ROOMS,
	ST_MSG_ADD,
	ST_MSG_PAGE,
	ST_MSG_COUNT,
	ST_CURSOR_GET,
	ST_CURSOR_SET,
	ST_SEEN_GET,
	ST_SEEN_SET,
	ST_STATE_GET,
	ST_STATE_SET,
	ST_SECRET_PUT,
	ST_SECRET_GET,
	ST_SECRET_DEL,
	ST_SECRET_DEL_OLDER,
	ST_COUNT
};

static const char *const sql[ST_COUNT] = {
	[ST_BEGIN] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_CHECKPOINT] = "PRAGMA wal_checkpoint(TRUNCATE)",
	[ST_ROOM_FIND] = "SELECT id FROM room WHERE tag = ?1",
	[ST_ROOM_ADD] = "INSERT INTO room (tag, name) VALUES (?1, ?2)",
	[ST_ROOM_TAG] = "SELECT tag FROM room WHERE id = ?1",
	[ST_ROOMS] = "SELECT id, tag, name FROM room ORDER BY id",
	[ST_MSG_ADD] = "INSERT INTO msg (room, ts_ms, rseq, tag, body) VALUES (?1, ?2, ?3, ?4, ?5)"
		       " ON CONFLICT (tag) DO NOTHING",
	/* The newest `limit` before the place, given back oldest first. */
	[ST_MSG_PAGE] = "SELECT id, ts_ms, rseq, tag, body FROM ("
			" SELECT id, ts_ms, rseq, tag, body FROM msg"
			" WHERE room = ?1 AND (ts_ms, id) < (?2, ?3)"
			" ORDER BY ts_ms DESC, id DESC LIMIT ?4)"
			" ORDER BY ts_ms, id",
	[ST_MSG_COUNT] = "SELECT count(*) FROM msg WHERE room = ?1 AND ts_ms > ?2",
	[ST_CURSOR_GET] = "SELECT rseq, rdat FROM room WHERE id = ?1",
	[ST_CURSOR_SET] = "UPDATE room SET rseq = ?2, rdat = ?3 WHERE id = ?1",
	[ST_SEEN_GET] = "SELECT seen_ms FROM room WHERE id = ?1",
	[ST_SEEN_SET] = "UPDATE room SET seen_ms = ?2 WHERE id = ?1",
	[ST_STATE_GET] = "SELECT state FROM room WHERE id = ?1",
	[ST_STATE_SET] = "UPDATE room SET state = ?2 WHERE id = ?1",
	[ST_SECRET_PUT] = "INSERT OR REPLACE INTO secret (room, kind, epoch, blob)"
			  " VALUES (?1, ?2, ?3, ?4)",
	[ST_SECRET_GET] = "SELECT blob FROM secret WHERE room = ?1 AND kind = ?2 AND epoch = ?3",
	[ST_SECRET_DEL] = "DELETE FROM secret WHERE room = ?1 AND kind = ?2 AND epoch = ?3",
	[ST_SECRET_DEL_OLDER] = "DELETE FROM secret WHERE room = ?1 AND kind = ?2 AND epoch < ?3",
};

/* A message body in the clear: from || sid || u64be n || padded text. */
#define BODY_HEAD (COVE_PK_LEN + COVE_SID_LEN + 8)
#define BODY_MAX (BODY_HEAD + COVE_PAD_MAX)
#define NAME_PAD (COVE_HIST_ROOM_MAX + 1) /* every name pads to one bucket */
#define AD_MAX 128
#define TAG COVE_ATREST_TAG_LEN

_Static_assert(COVE_HIST_TEXT_MAX <= COVE_PAD_MAX_PAYLOAD, "a text pads to a bucket");
_Static_assert(COVE_HIST_ROOM_MAX + 1 <= COVE_PAD_MIN, "a name pads to the first bucket");

struct cove_hist {
	sqlite3 *db;
	struct cove_atrest *ar;
	sqlite3_stmt *st[ST_COUNT];
	uint8_t *plain;   /* one body in the clear, locked; wiped after each use */
	uint8_t *sealed;  /* one body sealed */
	/* The tag of the room last written to (a SELECT a message spared, in
	 * a catch-up of thousands); 0: none. Rooms are never deleted, so an
	 * id keeps its tag, but a rollback may undo the room's row. */
	int64_t rtag_room;
	uint8_t rtag[TAG];
};

static void put_be(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/* The associated data of a sealed blob: label (with its NUL) || the
 * room's tag || the rest of the row's key. */
static size_t ad_make(uint8_t ad[AD_MAX], const char *label, const uint8_t rtag[TAG],
		      const uint8_t *rest, size_t rest_len)
{
	size_t n = strlen(label) + 1;

	memcpy(ad, label, n);
	memcpy(ad + n, rtag, TAG);
	if (rest_len)
		memcpy(ad + n + TAG, rest, rest_len);
	return n + TAG + rest_len;
}

/* A statement ready to bind: each is reset after use, so only its
 * bindings are left over. */
static sqlite3_stmt *stmt(struct cove_hist *h, int i)
{
	sqlite3_clear_bindings(h->st[i]);
	return h->st[i];
}

/* Steps a statement that returns no row, and resets it. */
static int run(struct cove_hist *h, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		h->rtag_room = 0; /* a failed write may roll the room's row back */
	return rc == SQLITE_DONE ? COVE_OK : hist_err(h->db, rc);
}

/* Ends a query whose last step returned rc: resets it and maps rc, where
 * SQLITE_ROW and SQLITE_DONE are success. */
static int done(struct cove_hist *h, sqlite3_stmt *s, int rc)
{
	sqlite3_reset(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		h->rtag_room = 0;
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? COVE_OK : hist_err(h->db, rc);
}

/* Opens the batch's transaction if none is open. */
static int tx(struct cove_hist *h)
{
	return sqlite3_get_autocommit(h->db) ? run(h, h->st[ST_BEGIN]) : COVE_OK;
}

/* Runs a write that must touch a row: COVE_ERR_NOTFOUND when none. */
static int write_row(struct cove_hist *h, sqlite3_stmt *s)
{
	int r = tx(h);

	if (r == COVE_OK)
		r = run(h, s);
	if (r == COVE_OK && sqlite3_changes(h->db) == 0)
		r = COVE_ERR_NOTFOUND;
	return r;
}

static int room_tag(struct cove_hist *h, int64_t room, uint8_t rtag[TAG])
{
	sqlite3_stmt *s;
	int rc, found = 0;

	if (room && room == h->rtag_room) {
		memcpy(rtag, h->rtag, TAG);
		return COVE_OK;
	}
	s = stmt(h, ST_ROOM_TAG);
	sqlite3_bind_int64(s, 1, room);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_bytes(s, 0) == TAG) {
		memcpy(rtag, sqlite3_column_blob(s, 0), TAG);
		found = 1;
	}
	if (rc == SQLITE_ROW && !found)
		rc = SQLITE_CORRUPT;
	rc = done(h, s, rc);
	if (rc == COVE_OK && found) {
		h->rtag_room = room;
		memcpy(h->rtag, rtag, TAG);
	}
	return rc == COVE_OK && !found ? COVE_ERR_NOTFOUND : rc;
}

int cove_hist_open(struct cove_hist **out, const char *path, const struct cove_ident *id)
{
	struct cove_hist *h = calloc(1, sizeof(*h));
	int r = COVE_ERR_NOMEM;

	*out = NULL;
	if (!h)
		return r;
	h->plain = sodium_malloc(BODY_MAX);
	h->sealed = malloc(BODY_MAX + COVE_ATREST_OVERHEAD);
	if (!h->plain || !h->sealed)
		goto fail;
	r = cove_atrest_new(&h->ar, id, COVE_ATREST_CTX_HIST);
	if (r == COVE_OK)
		r = hist_open_db(&h->db, path, h->ar);
	for (int i = 0; i < ST_COUNT && r == COVE_OK; i++)
		r = hist_err(h->db, sqlite3_prepare_v3(h->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
						       &h->st[i], NULL));
	if (r != COVE_OK)
		goto fail;
	*out = h;
	return COVE_OK;
fail:
	{
		int e = errno;

		cove_hist_close(h);
		errno = e;
	}
	return r;
}

int cove_hist_close(struct cove_hist *h)
{
	int r;

	if (!h)
		return COVE_OK;
	r = h->db ? cove_hist_flush(h) : COVE_OK;
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(h->st[i]);
	/* The last connection to a WAL file checkpoints it and deletes the
	 * log as it closes. */
	if (sqlite3_close(h->db) != SQLITE_OK && r == COVE_OK) {
		errno = EIO;
		r = COVE_ERR_IO;
	}
	cove_atrest_free(h->ar);
	sodium_free(h->plain);
	free(h->sealed);
	free(h);
	return r;
}

int cove_hist_flush(struct cove_hist *h)
{
	int r;

	if (sqlite3_get_autocommit(h->db))
		return COVE_OK;
	r = run(h, h->st[ST_COMMIT]);
	if (r != COVE_OK && !sqlite3_get_autocommit(h->db)) {
		int e = errno;

		run(h, h->st[ST_ROLLBACK]);
		errno = e;
	}
	return r;
}

int cove_hist_checkpoint(struct cove_hist *h)
{
	sqlite3_stmt *s = h->st[ST_CHECKPOINT];
	int r = cove_hist_flush(h), rc, busy = 0;

	if (r != COVE_OK)
		return r;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		busy = sqlite3_column_int(s, 0);
	r = done(h, s, rc);
	if (r == COVE_OK && busy) {
		errno = EBUSY;
		r = COVE_ERR_IO;
	}
	return r;
}

int cove_hist_room(struct cove_hist *h, const char *name, size_t len, int64_t *room)
{
	uint8_t rtag[TAG], pad[NAME_PAD], blob[NAME_PAD + COVE_ATREST_OVERHEAD], ad[AD_MAX];
	uint8_t in[5 + COVE_HIST_ROOM_MAX];
	sqlite3_stmt *s;
	size_t padded;
	int rc, r;

	if (len == 0 || len > COVE_HIST_ROOM_MAX)
		return COVE_ERR_INVAL;
	memcpy(in, "room", 5);
	memcpy(in + 5, name, len);
	cove_atrest_tag(h->ar, rtag, in, 5 + len);
	sodium_memzero(in, sizeof(in));

	s = stmt(h, ST_ROOM_FIND);
	sqlite3_bind_blob(s, 1, rtag, TAG, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*room = sqlite3_column_int64(s, 0);
	r = done(h, s, rc);
	if (r != COVE_OK || rc == SQLITE_ROW)
		return r;

	memcpy(pad, name, len);
	cove_pad(pad, len, sizeof(pad), &padded);
	cove_atrest_seal(h->ar, blob, pad, padded, ad, ad_make(ad, "room.name", rtag, NULL, 0));
	sodium_memzero(pad, sizeof(pad));
	r = tx(h);
	if (r != COVE_OK)
		return r;
	s = stmt(h, ST_ROOM_ADD);
	sqlite3_bind_blob(s, 1, rtag, TAG, SQLITE_STATIC);
	sqlite3_bind_blob(s, 2, blob, (int)(padded + COVE_ATREST_OVERHEAD), SQLITE_STATIC);
	r = run(h, s);
	if (r == COVE_OK)
		*room = sqlite3_last_insert_rowid(h->db);
	return r;
}

int cove_hist_rooms(struct cove_hist *h, cove_hist_room_fn fn, void *arg)
{
	sqlite3_stmt *s = h->st[ST_ROOMS];
	uint8_t pad[NAME_PAD], ad[AD_MAX];
	int rc, r = COVE_OK;

	while (r == COVE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const uint8_t *rtag = sqlite3_column_blob(s, 1), *blob = sqlite3_column_blob(s, 2);
		size_t len;

		if (sqlite3_column_bytes(s, 1) != TAG ||
		    sqlite3_column_bytes(s, 2) != NAME_PAD + COVE_ATREST_OVERHEAD ||
		    cove_atrest_open(h->ar, pad, blob, NAME_PAD + COVE_ATREST_OVERHEAD, ad,
				     ad_make(ad, "room.name", rtag, NULL, 0)) != COVE_OK ||
		    cove_unpad(pad, NAME_PAD, &len) != COVE_OK) {
			r = COVE_ERR_DECRYPT;
			break;
		}
		r = fn(arg, sqlite3_column_int64(s, 0), (const char *)pad, len);
		sodium_memzero(pad, sizeof(pad));
	}
	if (r == COVE_OK)
		return done(h, s, rc);
	sqlite3_reset(s);
	return r;
}

/* The tag a message is known by: of "msg\0" || the room's tag || from ||
 * sid || u64be n. */
static void msg_tag(struct cove_hist *h, uint8_t out[TAG], const uint8_t rtag[TAG],
		    const struct cove_hist_msg *m)
{
	uint8_t in[4 + TAG + COVE_PK_LEN + COVE_SID_LEN + 8], *p = in;

	memcpy(p, "msg", 4);
	memcpy(p += 4, rtag, TAG);
	memcpy(p += TAG, m->from, COVE_PK_LEN);
	memcpy(p += COVE_PK_LEN, m->sid, COVE_SID_LEN);
	put_be(p + COVE_SID_LEN, m->n, 8);
	cove_atrest_tag(h->ar, out, in, sizeof(in));
}

/* A body's associated data: the room, the message's tag and its clear
 * time and relay number, so that none of them can be changed unseen. */
static size_t body_ad(uint8_t ad[AD_MAX], const uint8_t rtag[TAG], const uint8_t mtag[TAG],
		      uint64_t ts_ms, uint64_t rseq)
{
	uint8_t rest[TAG + 16];

	memcpy(rest, mtag, TAG);
	put_be(rest + TAG, ts_ms, 8);
	put_be(rest + TAG + 8, rseq, 8);
	return ad_make(ad, "msg.body", rtag, rest, sizeof(rest));
}

int cove_hist_add(struct cove_hist *h, int64_t room, const struct cove_hist_msg *m)
{
	uint8_t rtag[TAG], mtag[TAG], ad[AD_MAX];
	size_t padded, body_len;
	sqlite3_stmt *s;
	int r;

	if (m->text_len > COVE_HIST_TEXT_MAX || m->ts_ms > INT64_MAX)
		return COVE_ERR_INVAL;
	r = room_tag(h, room, rtag);
	if (r != COVE_OK)
		return r;
	msg_tag(h, mtag, rtag, m);
	memcpy(h->plain, m->from, COVE_PK_LEN);
	memcpy(h->plain + COVE_PK_LEN, m->sid, COVE_SID_LEN);
	put_be(h->plain + COVE_PK_LEN + COVE_SID_LEN, m->n, 8);
	if (m->text_len)
		memcpy(h->plain + BODY_HEAD, m->text, m->text_len);
	if (cove_pad(h->plain + BODY_HEAD, m->text_len, COVE_PAD_MAX, &padded) != COVE_OK) {
		sodium_memzero(h->plain, BODY_HEAD + m->text_len);
		return COVE_ERR_INVAL;
	}
	body_len = BODY_HEAD + padded;
	cove_atrest_seal(h->ar, h->sealed, h->plain, body_len, ad,
			 body_ad(ad, rtag, mtag, m->ts_ms, m->rseq));
	sodium_memzero(h->plain, body_len);

	r = tx(h);
	if (r != COVE_OK)
		return r;
	s = stmt(h, ST_MSG_ADD);
	sqlite3_bind_int64(s, 1, room);
	sqlite3_bind_int64(s, 2, (int64_t)m->ts_ms);
	sqlite3_bind_int64(s, 3, (int64_t)m->rseq); /* u64 kept bit for bit */
	sqlite3_bind_blob(s, 4, mtag, TAG, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, h->sealed, (int)(body_len + COVE_ATREST_OVERHEAD), SQLITE_STATIC);
	r = run(h, s);
	if (r == COVE_OK && sqlite3_changes(h->db) == 0)
		r = COVE_ERR_EXISTS;
	return r;
}

/* Opens the body of the page's current row into h->plain and fills m,
 * whose text then points into h->plain. */
static int open_body(struct cove_hist *h, sqlite3_stmt *s, const uint8_t rtag[TAG],
		     struct cove_hist_msg *m)
{
	uint8_t ad[AD_MAX];
	size_t len = (size_t)sqlite3_column_bytes(s, 4), body_len;

	m->id = (uint64_t)sqlite3_column_int64(s, 0);
	m->ts_ms = (uint64_t)sqlite3_column_int64(s, 1);
	m->rseq = (uint64_t)sqlite3_column_int64(s, 2);
	if (sqlite3_column_bytes(s, 3) != TAG ||
	    len < BODY_HEAD + COVE_PAD_MIN + COVE_ATREST_OVERHEAD ||
	    len > BODY_MAX + COVE_ATREST_OVERHEAD)
		return COVE_ERR_DECRYPT;
	body_len = len - COVE_ATREST_OVERHEAD;
	if (cove_atrest_open(h->ar, h->plain, sqlite3_column_blob(s, 4), len, ad,
			     body_ad(ad, rtag, sqlite3_column_blob(s, 3), m->ts_ms, m->rseq)) !=
		    COVE_OK ||
	    cove_unpad(h->plain + BODY_HEAD, body_len - BODY_HEAD, &m->text_len) != COVE_OK) {
		sodium_memzero(h->plain, body_len);
		return COVE_ERR_DECRYPT;
	}
	memcpy(m->from, h->plain, COVE_PK_LEN);
	memcpy(m->sid, h->plain + COVE_PK_LEN, COVE_SID_LEN);
	m->n = get_be64(h->plain + COVE_PK_LEN + COVE_SID_LEN);
	m->text = (const char *)h->plain + BODY_HEAD;
	return COVE_OK;
}

int cove_hist_page_before(struct cove_hist *h, int64_t room, uint64_t before_ts,
			  uint64_t before_id, unsigned limit, cove_hist_msg_fn fn, void *arg)
{
	uint8_t rtag[TAG];
	sqlite3_stmt *s;
	int rc, r = room_tag(h, room, rtag);

	if (r != COVE_OK || limit == 0)
		return r;
	if (before_ts == 0)
		before_ts = before_id = INT64_MAX;
	s = stmt(h, ST_MSG_PAGE);
	sqlite3_bind_int64(s, 1, room);
	sqlite3_bind_int64(s, 2, (int64_t)(before_ts > INT64_MAX ? INT64_MAX : before_ts));
	sqlite3_bind_int64(s, 3, (int64_t)(before_id > INT64_MAX ? INT64_MAX : before_id));
	sqlite3_bind_int64(s, 4, limit);
	while (r == COVE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct cove_hist_msg m;

		r = open_body(h, s, rtag, &m);
		if (r != COVE_OK)
			break;
		r = fn(arg, &m);
		sodium_memzero(h->plain, BODY_HEAD + m.text_len);
		sodium_memzero(&m, sizeof(m));
	}
	if (r == COVE_OK)
		return done(h, s, rc);
	sqlite3_reset(s);
	return r;
}

int cove_hist_page(struct cove_hist *h, int64_t room, uint64_t before_ts, unsigned limit,
		   cove_hist_msg_fn fn, void *arg)
{
	return cove_hist_page_before(h, room, before_ts, 0, limit, fn, arg);
}

int cove_hist_count_since(struct cove_hist *h, int64_t room, uint64_t ts_ms, uint64_t *n)
{
	uint8_t rtag[TAG];
	sqlite3_stmt *s;
	int rc, r = room_tag(h, room, rtag);

	*n = 0;
	if (r != COVE_OK || ts_ms >= INT64_MAX)
		return r;
	s = stmt(h, ST_MSG_COUNT);
	sqlite3_bind_int64(s, 1, room);
	sqlite3_bind_int64(s, 2, (int64_t)ts_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*n = (uint64_t)sqlite3_column_int64(s, 0);
	return done(h, s, rc);
}

/* Reads up to two integer columns of room's row. */
static int room_ints(struct cove_hist *h, int st, int64_t room, uint64_t *a, uint64_t *b)
{
	sqlite3_stmt *s = stmt(h, st);
	int rc, r;

	sqlite3_bind_int64(s, 1, room);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*a = (uint64_t)sqlite3_column_int64(s, 0);
		if (b)
			*b = (uint64_t)sqlite3_column_int64(s, 1);
	}
	r = done(h, s, rc);
	return r == COVE_OK && rc != SQLITE_ROW ? COVE_ERR_NOTFOUND : r;
}

int cove_hist_cursor_get(struct cove_hist *h, int64_t room, uint64_t *rseq, uint64_t *rdat)
{
	return room_ints(h, ST_CURSOR_GET, room, rseq, rdat);
}

int cove_hist_cursor_set(struct cove_hist *h, int64_t room, uint64_t rseq, uint64_t rdat)
{
	sqlite3_stmt *s = stmt(h, ST_CURSOR_SET);

	sqlite3_bind_int64(s, 1, room);
	sqlite3_bind_int64(s, 2, (int64_t)rseq);
	sqlite3_bind_int64(s, 3, (int64_t)rdat);
	return write_row(h, s);
}

int cove_hist_seen_get(struct cove_hist *h, int64_t room, uint64_t *ms)
{
	return room_ints(h, ST_SEEN_GET, room, ms, NULL);
}

int cove_hist_seen_set(struct cove_hist *h, int64_t room, uint64_t ms)
{
	sqlite3_stmt *s = stmt(h, ST_SEEN_SET);

	sqlite3_bind_int64(s, 1, room);
	sqlite3_bind_int64(s, 2, (int64_t)ms);
	return write_row(h, s);
}

static size_t secret_ad(uint8_t ad[AD_MAX], const uint8_t rtag[TAG], uint32_t kind,
			uint32_t epoch)
{
	uint8_t rest[8];

	put_be(rest, kind, 4);
	put_be(rest + 4, epoch, 4);
	return ad_make(ad, "secret.blob", rtag, rest, sizeof(rest));
}

/* Binds room, kind and epoch as ?1, ?2, ?3 of statement st. */
static sqlite3_stmt *secret_stmt(struct cove_hist *h, int st, int64_t room, uint32_t kind,
				 uint32_t epoch)
{
	sqlite3_stmt *s = stmt(h, st);

	sqlite3_bind_int64(s, 1, room);
	sqlite3_bind_int64(s, 2, kind);
	sqlite3_bind_int64(s, 3, epoch);
	return s;
}

int cove_hist_secret_put(struct cove_hist *h, int64_t room, uint32_t kind, uint32_t epoch,
			 const uint8_t *secret, size_t len)
{
	uint8_t rtag[TAG], ad[AD_MAX], blob[COVE_HIST_SECRET_MAX + COVE_ATREST_OVERHEAD];
	sqlite3_stmt *s;
	int r;

	if (len == 0 || len > COVE_HIST_SECRET_MAX)
		return COVE_ERR_INVAL;
	r = room_tag(h, room, rtag);
	if (r == COVE_OK)
		r = tx(h);
	if (r != COVE_OK)
		return r;
	cove_atrest_seal(h->ar, blob, secret, len, ad, secret_ad(ad, rtag, kind, epoch));
	s = secret_stmt(h, ST_SECRET_PUT, room, kind, epoch);
	sqlite3_bind_blob(s, 4, blob, (int)(len + COVE_ATREST_OVERHEAD), SQLITE_STATIC);
	return run(h, s);
}

/* Opens the sealed blob in column col of s's current row into out (cap
 * bytes), with ad; sets *len. */
static int open_column(struct cove_hist *h, sqlite3_stmt *s, int col, const uint8_t *ad,
		       size_t ad_len, uint8_t *out, size_t cap, size_t *len)
{
	size_t blob_len = (size_t)sqlite3_column_bytes(s, col);

	if (blob_len < COVE_ATREST_OVERHEAD)
		return COVE_ERR_DECRYPT;
	*len = blob_len - COVE_ATREST_OVERHEAD;
	if (*len > cap)
		return COVE_ERR_SPACE;
	if (cove_atrest_open(h->ar, out, sqlite3_column_blob(s, col), blob_len, ad, ad_len) !=
	    COVE_OK) {
		sodium_memzero(out, *len);
		return COVE_ERR_DECRYPT;
	}
	return COVE_OK;
}

int cove_hist_secret_get(struct cove_hist *h, int64_t room, uint32_t kind, uint32_t epoch,
			 uint8_t *out, size_t cap, size_t *len)
{
	uint8_t rtag[TAG], ad[AD_MAX];
	sqlite3_stmt *s;
	int rc, r = room_tag(h, room, rtag);

	*len = 0;
	if (r != COVE_OK)
		return r;
	s = secret_stmt(h, ST_SECRET_GET, room, kind, epoch);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		r = open_column(h, s, 0, ad, secret_ad(ad, rtag, kind, epoch), out, cap, len);
	else if (rc == SQLITE_DONE)
		r = COVE_ERR_NOTFOUND;
	rc = done(h, s, rc);
	return r != COVE_OK ? r : rc;
}

int cove_hist_secret_del(struct cove_hist *h, int64_t room, uint32_t kind, uint32_t epoch)
{
	return write_row(h, secret_stmt(h, ST_SECRET_DEL, room, kind, epoch));
}

int cove_hist_secret_del_older(struct cove_hist *h, int64_t room, uint32_t kind,
			       uint32_t epoch, uint64_t *n)
{
	int r = tx(h);

	if (r == COVE_OK)
		r = run(h, secret_stmt(h, ST_SECRET_DEL_OLDER, room, kind, epoch));
	if (n)
		*n = r == COVE_OK ? (uint64_t)sqlite3_changes(h->db) : 0;
	return r;
}

int cove_hist_state_put(struct cove_hist *h, int64_t room, const uint8_t *state, size_t len)
{
	uint8_t rtag[TAG], ad[AD_MAX], *blob;
	sqlite3_stmt *s;
	int r;

	if (len > COVE_HIST_STATE_MAX)
		return COVE_ERR_INVAL;
	r = room_tag(h, room, rtag);
	if (r != COVE_OK)
		return r;
	blob = malloc(len + COVE_ATREST_OVERHEAD);
	if (!blob)
		return COVE_ERR_NOMEM;
	cove_atrest_seal(h->ar, blob, state, len, ad, ad_make(ad, "room.state", rtag, NULL, 0));
	s = stmt(h, ST_STATE_SET);
	sqlite3_bind_int64(s, 1, room);
	sqlite3_bind_blob(s, 2, blob, (int)(len + COVE_ATREST_OVERHEAD), SQLITE_STATIC);
	r = write_row(h, s);
	free(blob);
	return r;
}

int cove_hist_state_get(struct cove_hist *h, int64_t room, uint8_t *out, size_t cap,
			size_t *len)
{
	uint8_t rtag[TAG], ad[AD_MAX];
	sqlite3_stmt *s;
	int rc, r = room_tag(h, room, rtag);

	*len = 0;
	if (r != COVE_OK)
		return r;
	s = stmt(h, ST_STATE_GET);
	sqlite3_bind_int64(s, 1, room);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) == SQLITE_NULL)
		r = COVE_ERR_NOTFOUND;
	else if (rc == SQLITE_ROW)
		r = open_column(h, s, 0, ad, ad_make(ad, "room.state", rtag, NULL, 0), out, cap,
				len);
	rc = done(h, s, rc);
	return r != COVE_OK ? r : rc;
}

int cove_hist_default_path(char *buf, size_t cap, const uint8_t id_pk[COVE_PK_LEN])
{
	const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
	char hex[17];
	int n;

	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", id_pk[i]);
	/* The XDG spec has relative values ignored. */
	if (xdg && xdg[0] == '/')
		n = snprintf(buf, cap, "%s/cove/%s.db", xdg, hex);
	else if (home && home[0])
		n = snprintf(buf, cap, "%s/.local/share/cove/%s.db", home, hex);
	else
		return COVE_ERR_NOTFOUND;
	return n < 0 || (size_t)n >= cap ? COVE_ERR_SPACE : COVE_OK;
}
