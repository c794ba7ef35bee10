/*
 * sqlite_rows.h - the SQLite store's rows, for sqlite.c: each write as
 * the SQL that applies it inside the open transaction, the transaction
 * itself, and the queries behind load, read and span. It knows nothing of
 * batches, journals or completions.
 */
#ifndef COVE_STORE_SQLITE_ROWS_H
#define COVE_STORE_SQLITE_ROWS_H

#include <sqlite3.h>

#include "store/store.h"

enum cove_store_rows_kind {
	COVE_STORE_ROWS_ROOM_PUT,
	COVE_STORE_ROWS_ROOM_DEL,
	COVE_STORE_ROWS_MEMBER_PUT,
	COVE_STORE_ROWS_MEMBER_DEL,
	COVE_STORE_ROWS_APPEND,
	COVE_STORE_ROWS_TRIM,
};

/* One write. Its pointers are the caller's (borrowed for the call). */
struct cove_store_rows_op {
	enum cove_store_rows_kind kind;
	char room[COVE_STORE_ROOM_MAX]; /* every kind but TRIM */
	size_t room_len;
	struct cove_store_room r;       /* ROOM_PUT (r.name unused: room is the name) */
	struct cove_store_member m;     /* MEMBER_PUT; MEMBER_DEL: m.pk */
	struct cove_store_frame f;      /* APPEND: cove_store_rows_apply sets f.seq */
	uint64_t now_ms;                /* TRIM */
};

struct cove_store_rows;

/* Prepares the statements of the store open in db. db becomes the
 * rows', closed by cove_store_rows_free (also when this fails). conf's
 * retention is copied. */
int cove_store_rows_new(struct cove_store_rows **out, sqlite3 *db,
			const struct cove_store_conf *conf);

/* Finalizes the statements and closes the database. NULL is a no-op. */
void cove_store_rows_free(struct cove_store_rows *t);

/* BEGIN and COMMIT, 0 or a negative cove_err; ROLLBACK unless SQLite has
 * already rolled the transaction back. */
int cove_store_rows_begin(struct cove_store_rows *t);
int cove_store_rows_commit(struct cove_store_rows *t);
void cove_store_rows_rollback(struct cove_store_rows *t);

/* Applies op in the open transaction, as the cove_store function of its
 * kind documents. COVE_ERR_NOTFOUND and COVE_ERR_LIMIT come before
 * anything is written; after any other error part of op may be in the
 * transaction, or SQLite may have rolled all of it back. */
int cove_store_rows_apply(struct cove_store_rows *t, struct cove_store_rows_op *op);

/* cove_store_load, cove_store_span, and cove_store_read over the frames
 * up to seq last (sqlite.c's bound for completions still to come). */
int cove_store_rows_load(struct cove_store_rows *t, cove_store_room_fn room_fn,
			 cove_store_member_fn member_fn, void *arg);
int cove_store_rows_span(struct cove_store_rows *t, const char *room, size_t room_len,
			 struct cove_store_span *out);
int cove_store_rows_read(struct cove_store_rows *t, const char *room, size_t room_len,
			 const uint8_t reader[COVE_STORE_ID_LEN], uint64_t after, uint64_t last,
			 size_t max, cove_store_frame_fn fn, void *arg);

#endif
