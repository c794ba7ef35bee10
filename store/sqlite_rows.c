/*
 * sqlite_rows.c - the SQLite store's rows: each write as the SQL that
 * applies it inside the open transaction, and the queries behind load,
 * read and span. Batches, the journal and completions are sqlite.c's.
 *
 * A frame's key is its room's id << 40 | its seq, so that a room's frames
 * are one range of the table's own b-tree: read and dropped in order with
 * no index to keep, and packed into whole pages that retention frees
 * whole.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/sqlite_file.h"
#include "store/sqlite_rows.h"

/* 2^40 - 2 frames a room (a room of 1,000 frames a second for 34 years),
 * 2^23 - 1 rooms at once */
#define ROWS_SEQ_BITS 40
#define ROWS_SEQ_MAX (((uint64_t)1 << ROWS_SEQ_BITS) - 1) /* no frame gets it */
#define ROWS_ROOM_ID_MAX (((int64_t)1 << (63 - ROWS_SEQ_BITS)) - 1)

enum {
	ST_BEGIN, ST_COMMIT, ST_ROLLBACK,
	ST_ROOM_GET, ST_ROOM_FREE_ID, ST_ROOM_INS, ST_ROOM_SET, ST_ROOM_SPAN, ST_ROOM_DEL,
	ST_ROOMS, ST_SPANS,
	ST_MEMBERS, ST_MEMBER_PUT, ST_MEMBER_DEL, ST_MEMBERS_DEL,
	ST_FRAME_INS, ST_FRAMES_DEL, ST_FRAMES_DEL_SHARED, ST_FRAMES_DEL_OLD, ST_FRAMES_WALK,
	ST_FRAMES_READ,
	ST_N
};

static const char *const rows_sql[ST_N] = {
	[ST_BEGIN] = "BEGIN",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
	[ST_ROOM_GET] = "SELECT id, next_seq, first_seq, bytes, dats, dropped_dats FROM rooms "
			"WHERE name = ?1",
	/* the smallest id free: ids stay small whatever rooms come and go */
	[ST_ROOM_FREE_ID] = "SELECT min(id + 1) FROM (SELECT 0 AS id UNION ALL SELECT id FROM rooms) "
			    "WHERE id + 1 NOT IN (SELECT id FROM rooms)",
	[ST_ROOM_INS] = "INSERT INTO rooms (id, name, epoch_known, epoch, epoch_top, next_serial, "
			"next_seq, first_seq, bytes) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 1, 0)",
	/* the parameters of ST_ROOM_INS, ?2 unused */
	[ST_ROOM_SET] = "UPDATE rooms SET epoch_known = ?3, epoch = ?4, epoch_top = ?5, "
			"next_serial = ?6 WHERE id = ?1",
	[ST_ROOM_SPAN] = "UPDATE rooms SET next_seq = ?2, first_seq = ?3, bytes = ?4, dats = ?5, "
			 "dropped_dats = ?6 WHERE id = ?1",
	[ST_ROOM_DEL] = "DELETE FROM rooms WHERE id = ?1",
	[ST_ROOMS] = "SELECT id, name, epoch_known, epoch, epoch_top, next_serial FROM rooms",
	[ST_SPANS] = "SELECT id, next_seq, first_seq, bytes, dats, dropped_dats FROM rooms",
	[ST_MEMBERS] = "SELECT pk, serial, joined_ms, seen_ms, epoch_known, epoch, ini, since "
		       "FROM members WHERE room = ?1 ORDER BY serial, pk",
	[ST_MEMBER_PUT] = "INSERT OR REPLACE INTO members (room, pk, serial, joined_ms, seen_ms, "
			  "epoch_known, epoch, ini, since) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
			  "?9)",
	[ST_MEMBER_DEL] = "DELETE FROM members WHERE room = ?1 AND pk = ?2",
	[ST_MEMBERS_DEL] = "DELETE FROM members WHERE room = ?1",
	[ST_FRAME_INS] = "INSERT INTO frames (key, ts_ms, type, dest, raw, dat, rdat) VALUES (?1, ?2, "
			 "?3, ?4, ?5, ?6, ?7)",
	[ST_FRAMES_DEL] = "DELETE FROM frames WHERE key >= ?1 AND key < ?2",
	/* retention by bytes: a frame for one member stays (store.h) */
	[ST_FRAMES_DEL_SHARED] = "DELETE FROM frames WHERE key >= ?1 AND key < ?2 AND dest IS NULL",
	[ST_FRAMES_DEL_OLD] = "DELETE FROM frames WHERE key >= ?1 AND key < ?2 AND ts_ms < ?3",
	/* length() of a blob reads no overflow page: walking is cheap */
	[ST_FRAMES_WALK] = "SELECT key, ts_ms, length(raw), rdat FROM frames WHERE key >= ?1 AND "
			   "key < ?2 ORDER BY key",
	[ST_FRAMES_READ] = "SELECT key, ts_ms, type, dest, raw, dat, rdat FROM frames WHERE key > ?1 "
			   "AND key <= ?2 AND (dest IS NULL OR dest = ?3) ORDER BY key LIMIT ?4",
};

/* A room's row, as appends and retention need it. */
struct rows_room {
	int64_t id;
	uint64_t next, first, bytes;
	uint64_t dats, dropped_dats;
};

struct cove_store_rows {
	sqlite3 *db;
	sqlite3_stmt *st[ST_N];
	uint64_t retain_bytes, retain_ms;
	/* The row of the room last used in the open transaction, so that a
	 * batch of appends to one room reads and writes its row once, not
	 * once a frame (a SELECT and an UPDATE saved per frame). Valid only
	 * inside a transaction; dirty while its span is newer than the
	 * table's, written back before anything reads the table otherwise
	 * and before the commit. */
	struct rows_room hot;
	char hot_name[COVE_STORE_ROOM_MAX];
	size_t hot_len;
	int hot_valid, hot_dirty;
};

static int64_t rows_key(int64_t id, uint64_t seq)
{
	return (int64_t)((uint64_t)id << ROWS_SEQ_BITS | seq);
}

static int rows_err(const struct cove_store_rows *t, int rc)
{
	return cove_store_sql_err(t->db, rc);
}

/* Steps a statement that gives no row, and resets it. */
static int rows_run(struct cove_store_rows *t, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rows_err(t, rc);
}

static int rows_room_span(struct cove_store_rows *t, const struct rows_room *r);

/* Whether the hot row may be used: SQLite may have rolled the
 * transaction back itself after an error, and the row with it. */
static int rows_hot_live(struct cove_store_rows *t)
{
	if (t->hot_valid && sqlite3_get_autocommit(t->db))
		t->hot_valid = 0;
	return t->hot_valid;
}

/* Writes the hot row's span back if it is dirty; the row stays hot. */
static int rows_hot_put(struct cove_store_rows *t)
{
	int ret;

	if (!rows_hot_live(t) || !t->hot_dirty)
		return COVE_OK;
	ret = rows_room_span(t, &t->hot);
	if (ret == COVE_OK)
		t->hot_dirty = 0;
	return ret;
}

/* The table is to be read or written otherwise than through the hot
 * row: the row is written back and forgotten. */
static int rows_hot_drop(struct cove_store_rows *t)
{
	int ret = rows_hot_put(t);

	if (ret == COVE_OK)
		t->hot_valid = 0;
	return ret;
}

static int rows_hot_is(struct cove_store_rows *t, const char *name, size_t len)
{
	return rows_hot_live(t) && t->hot_len == len && memcmp(t->hot_name, name, len) == 0;
}

/* r becomes the hot row of the room named name, its span newer than the
 * table's (after an append): the row hot before is written back. */
static int rows_hot_set(struct cove_store_rows *t, const char *name, size_t len,
			const struct rows_room *r)
{
	int ret = rows_hot_is(t, name, len) ? COVE_OK : rows_hot_drop(t);

	if (ret != COVE_OK)
		return ret;
	t->hot = *r;
	memcpy(t->hot_name, name, len);
	t->hot_len = len;
	t->hot_valid = t->hot_dirty = 1;
	return COVE_OK;
}

static int rows_room_get(struct cove_store_rows *t, const char *name, size_t len,
			 struct rows_room *out)
{
	sqlite3_stmt *st = t->st[ST_ROOM_GET];
	int rc;

	if (rows_hot_is(t, name, len)) {
		*out = t->hot;
		return COVE_OK;
	}
	sqlite3_bind_blob(st, 1, name, (int)len, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(st, 0);
		out->next = (uint64_t)sqlite3_column_int64(st, 1);
		out->first = (uint64_t)sqlite3_column_int64(st, 2);
		out->bytes = (uint64_t)sqlite3_column_int64(st, 3);
		out->dats = (uint64_t)sqlite3_column_int64(st, 4);
		out->dropped_dats = (uint64_t)sqlite3_column_int64(st, 5);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return COVE_OK;
	return rc == SQLITE_DONE ? COVE_ERR_NOTFOUND : rows_err(t, rc);
}

static int rows_room_span(struct cove_store_rows *t, const struct rows_room *r)
{
	sqlite3_stmt *st = t->st[ST_ROOM_SPAN];

	sqlite3_bind_int64(st, 1, r->id);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)r->next);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)r->first);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)r->bytes);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)r->dats);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)r->dropped_dats);
	return rows_run(t, st);
}

static int rows_frames_del(struct cove_store_rows *t, int64_t from, int64_t to)
{
	sqlite3_stmt *st = t->st[ST_FRAMES_DEL];

	sqlite3_bind_int64(st, 1, from);
	sqlite3_bind_int64(st, 2, to);
	return rows_run(t, st);
}

/* Walks r's frames from the oldest while they go: by age, while older
 * than limit; otherwise until their bytes reach limit. *cut is the first
 * seq that stays, *freed the bytes of those before it, *rdat the DAT count
 * through the last of them. */
static int rows_walk(struct cove_store_rows *t, const struct rows_room *r, int by_age,
		     uint64_t limit, uint64_t *cut, uint64_t *freed, uint64_t *rdat)
{
	sqlite3_stmt *st = t->st[ST_FRAMES_WALK];
	int rc;

	*cut = r->first;
	*freed = 0;
	*rdat = r->dropped_dats;
	sqlite3_bind_int64(st, 1, rows_key(r->id, r->first));
	sqlite3_bind_int64(st, 2, rows_key(r->id, r->next));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (by_age ? (uint64_t)sqlite3_column_int64(st, 1) >= limit : *freed >= limit)
			break;
		*freed += (uint64_t)sqlite3_column_int64(st, 2);
		*rdat = (uint64_t)sqlite3_column_int64(st, 3);
		*cut = ((uint64_t)sqlite3_column_int64(st, 0) & ROWS_SEQ_MAX) + 1;
	}
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? COVE_OK : rows_err(t, rc);
}

/* Drops r's frames before cut (freed bytes, rdat DATs through the last),
 * oldest first; by bytes (keep_own), those for one member stay, apart. */
static int rows_drop(struct cove_store_rows *t, struct rows_room *r, uint64_t cut,
		     uint64_t freed, uint64_t rdat, int keep_own)
{
	sqlite3_stmt *st = t->st[ST_FRAMES_DEL_SHARED];
	int ret = COVE_OK;

	if (cut > r->first && keep_own) {
		sqlite3_bind_int64(st, 1, rows_key(r->id, r->first));
		sqlite3_bind_int64(st, 2, rows_key(r->id, cut));
		ret = rows_run(t, st);
	} else if (cut > r->first) {
		ret = rows_frames_del(t, rows_key(r->id, r->first), rows_key(r->id, cut));
	}
	r->first = cut;
	r->bytes -= freed;
	r->dropped_dats = rdat;
	return ret;
}

static int rows_apply_room_put(struct cove_store_rows *t, const struct cove_store_rows_op *op)
{
	struct rows_room r;
	sqlite3_stmt *st;
	int rc, ret = rows_room_get(t, op->room, op->room_len, &r);

	if (ret == COVE_ERR_NOTFOUND) {
		st = t->st[ST_ROOM_FREE_ID];
		rc = sqlite3_step(st);
		r.id = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (rc != SQLITE_ROW)
			return rows_err(t, rc);
		if (r.id > ROWS_ROOM_ID_MAX)
			return COVE_ERR_LIMIT;
	} else if (ret != COVE_OK) {
		return ret;
	}
	st = t->st[ret == COVE_OK ? ST_ROOM_SET : ST_ROOM_INS];
	sqlite3_bind_int64(st, 1, r.id);
	sqlite3_bind_blob(st, 2, op->room, (int)op->room_len, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, op->r.epoch_known != 0);
	sqlite3_bind_int64(st, 4, op->r.epoch);
	sqlite3_bind_int64(st, 5, op->r.epoch_top);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)op->r.next_serial);
	return rows_run(t, st);
}

static int rows_apply_room_del(struct cove_store_rows *t, const struct cove_store_rows_op *op)
{
	struct rows_room r;
	int ret = rows_room_get(t, op->room, op->room_len, &r);

	/* its row goes: nothing to write back */
	if (ret == COVE_OK && rows_hot_is(t, op->room, op->room_len))
		t->hot_valid = 0;

	if (ret == COVE_OK) {
		sqlite3_bind_int64(t->st[ST_MEMBERS_DEL], 1, r.id);
		ret = rows_run(t, t->st[ST_MEMBERS_DEL]);
	}
	if (ret == COVE_OK)
		ret = rows_frames_del(t, rows_key(r.id, 0), rows_key(r.id, ROWS_SEQ_MAX));
	if (ret == COVE_OK) {
		sqlite3_bind_int64(t->st[ST_ROOM_DEL], 1, r.id);
		ret = rows_run(t, t->st[ST_ROOM_DEL]);
	}
	return ret;
}

static int rows_apply_member(struct cove_store_rows *t, const struct cove_store_rows_op *op)
{
	const struct cove_store_member *m = &op->m;
	struct rows_room r;
	sqlite3_stmt *st;
	int ret = rows_room_get(t, op->room, op->room_len, &r);

	if (ret != COVE_OK)
		return ret;
	if (op->kind == COVE_STORE_ROWS_MEMBER_DEL) {
		st = t->st[ST_MEMBER_DEL];
		sqlite3_bind_int64(st, 1, r.id);
		sqlite3_bind_blob(st, 2, m->pk, COVE_STORE_ID_LEN, SQLITE_STATIC);
		ret = rows_run(t, st);
		return ret == COVE_OK && sqlite3_changes(t->db) == 0 ? COVE_ERR_NOTFOUND : ret;
	}
	st = t->st[ST_MEMBER_PUT];
	sqlite3_bind_int64(st, 1, r.id);
	sqlite3_bind_blob(st, 2, m->pk, COVE_STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)m->serial);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)m->joined_ms);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)m->seen_ms);
	sqlite3_bind_int(st, 6, m->epoch_known != 0);
	sqlite3_bind_int64(st, 7, m->epoch);
	sqlite3_bind_int64(st, 9, (sqlite3_int64)m->since);
	/* a blob of no bytes, not NULL: the column is NOT NULL */
	if (m->ini_len > 0)
		sqlite3_bind_blob64(st, 8, m->ini, m->ini_len, SQLITE_STATIC);
	else
		sqlite3_bind_zeroblob(st, 8, 0);
	return rows_run(t, st);
}

static int rows_apply_append(struct cove_store_rows *t, struct cove_store_rows_op *op)
{
	const struct cove_store_frame *f = &op->f;
	uint64_t retain = t->retain_bytes, cut, freed, rdat;
	int keep = retain > 0 && f->len <= retain;
	struct rows_room r;
	sqlite3_stmt *st;
	int ret = rows_room_get(t, op->room, op->room_len, &r);

	if (ret != COVE_OK)
		return ret;
	if (r.next >= ROWS_SEQ_MAX)
		return COVE_ERR_LIMIT;
	if (f->dat)
		r.dats++;
	cut = keep ? r.first : r.next;
	freed = keep ? 0 : r.bytes;
	rdat = keep ? r.dropped_dats : r.dats;
	if (keep && r.bytes + f->len > retain)
		ret = rows_walk(t, &r, 0, r.bytes + f->len - retain, &cut, &freed, &rdat);
	if (ret == COVE_OK)
		ret = rows_drop(t, &r, cut, freed, rdat, retain > 0);
	if (ret == COVE_OK && keep) {
		st = t->st[ST_FRAME_INS];
		sqlite3_bind_int64(st, 1, rows_key(r.id, r.next));
		sqlite3_bind_int64(st, 2, (sqlite3_int64)f->ts_ms);
		sqlite3_bind_int(st, 3, f->type);
		if (f->has_to)
			sqlite3_bind_blob(st, 4, f->to, COVE_STORE_ID_LEN, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 4);
		sqlite3_bind_blob64(st, 5, f->raw, f->len, SQLITE_STATIC);
		sqlite3_bind_int(st, 6, f->dat != 0);
		sqlite3_bind_int64(st, 7, (sqlite3_int64)r.dats);
		ret = rows_run(t, st);
		r.bytes += f->len;
	}
	if (ret != COVE_OK)
		return ret;
	op->f.seq = r.next++;
	op->f.rdat = r.dats;
	if (!keep)
		r.first = r.next;
	/* the span goes to the table with the commit, or before the table
	 * is read otherwise */
	return rows_hot_set(t, op->room, op->room_len, &r);
}

static int rows_apply_trim(struct cove_store_rows *t, const struct cove_store_rows_op *op)
{
	uint64_t cutoff = op->now_ms - t->retain_ms, cut, freed, rdat;
	struct rows_room *rooms = NULL, *p;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st = t->st[ST_SPANS];
	int rc = SQLITE_DONE, ret = rows_hot_drop(t);

	/* the rooms first: their rows change below */
	while (ret == COVE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			p = realloc(rooms, cap * sizeof(*p));
			if (!p) {
				ret = COVE_ERR_NOMEM;
				break;
			}
			rooms = p;
		}
		rooms[n].id = sqlite3_column_int64(st, 0);
		rooms[n].next = (uint64_t)sqlite3_column_int64(st, 1);
		rooms[n].first = (uint64_t)sqlite3_column_int64(st, 2);
		rooms[n].bytes = (uint64_t)sqlite3_column_int64(st, 3);
		rooms[n].dats = (uint64_t)sqlite3_column_int64(st, 4);
		rooms[n].dropped_dats = (uint64_t)sqlite3_column_int64(st, 5);
		n++;
	}
	sqlite3_reset(st);
	if (ret == COVE_OK && rc != SQLITE_DONE)
		ret = rows_err(t, rc);
	for (size_t i = 0; ret == COVE_OK && i < n; i++) {
		/* the frames for one member kept apart, below first */
		st = t->st[ST_FRAMES_DEL_OLD];
		sqlite3_bind_int64(st, 1, rows_key(rooms[i].id, 0));
		sqlite3_bind_int64(st, 2, rows_key(rooms[i].id, rooms[i].first));
		sqlite3_bind_int64(st, 3, (sqlite3_int64)cutoff);
		ret = rows_run(t, st);
		if (ret == COVE_OK)
			ret = rows_walk(t, &rooms[i], 1, cutoff, &cut, &freed, &rdat);
		if (ret == COVE_OK && cut > rooms[i].first) {
			ret = rows_drop(t, &rooms[i], cut, freed, rdat, 0);
			if (ret == COVE_OK)
				ret = rows_room_span(t, &rooms[i]);
		}
	}
	free(rooms);
	return ret;
}

int cove_store_rows_apply(struct cove_store_rows *t, struct cove_store_rows_op *op)
{
	switch (op->kind) {
	case COVE_STORE_ROWS_ROOM_PUT: return rows_apply_room_put(t, op);
	case COVE_STORE_ROWS_ROOM_DEL: return rows_apply_room_del(t, op);
	case COVE_STORE_ROWS_MEMBER_PUT:
	case COVE_STORE_ROWS_MEMBER_DEL: return rows_apply_member(t, op);
	case COVE_STORE_ROWS_APPEND: return rows_apply_append(t, op);
	case COVE_STORE_ROWS_TRIM: return rows_apply_trim(t, op);
	}
	return COVE_ERR_INVAL;
}

static int rows_load_members(struct cove_store_rows *t, const struct cove_store_room *r,
			     int64_t id, cove_store_member_fn member_fn, void *arg)
{
	sqlite3_stmt *st = t->st[ST_MEMBERS];
	int rc = SQLITE_DONE, ret = COVE_OK;

	sqlite3_bind_int64(st, 1, id);
	while (ret == COVE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cove_store_member m;
		const void *pk = sqlite3_column_blob(st, 0);

		if (!pk || sqlite3_column_bytes(st, 0) != COVE_STORE_ID_LEN) {
			ret = COVE_ERR_STORE_FORMAT;
			break;
		}
		memcpy(m.pk, pk, COVE_STORE_ID_LEN);
		m.serial = (uint64_t)sqlite3_column_int64(st, 1);
		m.joined_ms = (uint64_t)sqlite3_column_int64(st, 2);
		m.seen_ms = (uint64_t)sqlite3_column_int64(st, 3);
		m.epoch_known = sqlite3_column_int(st, 4);
		m.epoch = (uint32_t)sqlite3_column_int64(st, 5);
		m.ini = sqlite3_column_blob(st, 6);
		m.ini_len = (size_t)sqlite3_column_bytes(st, 6);
		if (!m.ini)
			m.ini = (const uint8_t *)""; /* never NULL, as store.h says */
		m.since = (uint64_t)sqlite3_column_int64(st, 7);
		ret = member_fn(arg, r, &m);
	}
	if (ret == COVE_OK && rc != SQLITE_DONE)
		ret = rows_err(t, rc);
	sqlite3_reset(st);
	return ret;
}

int cove_store_rows_load(struct cove_store_rows *t, cove_store_room_fn room_fn,
			 cove_store_member_fn member_fn, void *arg)
{
	/* reads no span: the hot row may stay as it is */
	sqlite3_stmt *st = t->st[ST_ROOMS];
	int rc = SQLITE_DONE, ret = COVE_OK;

	while (ret == COVE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cove_store_room r;

		r.name = sqlite3_column_blob(st, 1);
		r.name_len = (size_t)sqlite3_column_bytes(st, 1);
		if (!r.name || r.name_len > COVE_STORE_ROOM_MAX) {
			ret = COVE_ERR_STORE_FORMAT;
			break;
		}
		r.epoch_known = sqlite3_column_int(st, 2);
		r.epoch = (uint32_t)sqlite3_column_int64(st, 3);
		r.epoch_top = (uint32_t)sqlite3_column_int64(st, 4);
		r.next_serial = (uint64_t)sqlite3_column_int64(st, 5);
		ret = room_fn(arg, &r);
		if (ret == COVE_OK)
			ret = rows_load_members(t, &r, sqlite3_column_int64(st, 0), member_fn, arg);
	}
	if (ret == COVE_OK && rc != SQLITE_DONE)
		ret = rows_err(t, rc);
	sqlite3_reset(st);
	return ret;
}

int cove_store_rows_read(struct cove_store_rows *t, const char *room, size_t room_len,
			 const uint8_t reader[COVE_STORE_ID_LEN], uint64_t after, uint64_t last,
			 size_t max, cove_store_frame_fn fn, void *arg)
{
	sqlite3_stmt *st = t->st[ST_FRAMES_READ];
	struct rows_room r;
	int rc, given = 0, ret = rows_room_get(t, room, room_len, &r);

	if (ret != COVE_OK)
		return ret;
	if (last > r.next - 1)
		last = r.next - 1;
	if (after >= last || max == 0)
		return 0;
	sqlite3_bind_int64(st, 1, rows_key(r.id, after));
	sqlite3_bind_int64(st, 2, rows_key(r.id, last));
	sqlite3_bind_blob(st, 3, reader, COVE_STORE_ID_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)max);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cove_store_frame f;
		const void *to = sqlite3_column_blob(st, 3);

		f.seq = (uint64_t)sqlite3_column_int64(st, 0) & ROWS_SEQ_MAX;
		f.ts_ms = (uint64_t)sqlite3_column_int64(st, 1);
		f.type = (uint8_t)sqlite3_column_int(st, 2);
		f.has_to = to && sqlite3_column_bytes(st, 3) == COVE_STORE_ID_LEN;
		memset(f.to, 0, sizeof(f.to));
		if (f.has_to)
			memcpy(f.to, to, COVE_STORE_ID_LEN);
		f.raw = sqlite3_column_blob(st, 4);
		f.len = (size_t)sqlite3_column_bytes(st, 4);
		f.dat = sqlite3_column_int(st, 5);
		f.rdat = (uint64_t)sqlite3_column_int64(st, 6);
		given++;
		ret = fn(arg, &f);
		if (ret != 0)
			break;
	}
	sqlite3_reset(st);
	if (ret != 0)
		return ret;
	return rc == SQLITE_DONE ? given : rows_err(t, rc);
}

int cove_store_rows_span(struct cove_store_rows *t, const char *room, size_t room_len,
			 struct cove_store_span *out)
{
	struct rows_room r;
	int ret = rows_room_get(t, room, room_len, &r);

	if (ret != COVE_OK)
		return ret;
	out->first = r.first;
	out->next = r.next;
	out->dropped = r.first - 1;
	out->dats = r.dats;
	out->dropped_dats = r.dropped_dats;
	out->bytes = r.bytes;
	return COVE_OK;
}

int cove_store_rows_new(struct cove_store_rows **out, sqlite3 *db,
			const struct cove_store_conf *conf)
{
	struct cove_store_rows *t = calloc(1, sizeof(*t));
	int ret = COVE_OK;

	*out = NULL;
	if (!t) {
		sqlite3_close(db);
		return COVE_ERR_NOMEM;
	}
	t->db = db;
	t->retain_bytes = conf->retain_bytes;
	t->retain_ms = conf->retain_ms;
	for (int i = 0; ret == COVE_OK && i < ST_N; i++)
		ret = rows_err(t, sqlite3_prepare_v3(db, rows_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
						     &t->st[i], NULL));
	if (ret != COVE_OK) {
		cove_store_rows_free(t);
		return ret;
	}
	*out = t;
	return COVE_OK;
}

void cove_store_rows_free(struct cove_store_rows *t)
{
	if (!t)
		return;
	for (int i = 0; i < ST_N; i++)
		sqlite3_finalize(t->st[i]);
	sqlite3_close(t->db);
	free(t);
}

int cove_store_rows_begin(struct cove_store_rows *t)
{
	t->hot_valid = 0;
	return rows_run(t, t->st[ST_BEGIN]);
}

int cove_store_rows_commit(struct cove_store_rows *t)
{
	int ret = rows_hot_put(t);

	if (ret == COVE_OK)
		ret = rows_run(t, t->st[ST_COMMIT]);
	t->hot_valid = 0;
	return ret;
}

void cove_store_rows_rollback(struct cove_store_rows *t)
{
	t->hot_valid = 0;
	/* SQLite may have rolled the transaction back itself */
	if (!sqlite3_get_autocommit(t->db))
		rows_run(t, t->st[ST_ROLLBACK]);
}
