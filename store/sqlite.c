/*
 * sqlite.c - the store in one SQLite file (--store PATH): when writes are
 * committed and completed. sqlite_file.c opens the file and holds its
 * schema; sqlite_rows.c is the SQL of each write and read.
 *
 * Writes go into one transaction that cove_store_flush commits, so a loop
 * turn costs one commit however many frames it stored, and the
 * completions of the appends are called after that commit: a frame is
 * fanned out only once it is in the file (and, with conf.fsync, on the
 * disk itself), and read() hands out only frames whose completion came.
 *
 * Every write since the last commit is also kept in memory (the journal,
 * with copies of the bytes it borrowed), because on some failures SQLite
 * rolls back the whole transaction (SQLITE_FULL in a one-row INSERT
 * does): the journal is then replayed into a new transaction, so that a
 * write that fails costs itself and nothing before it. When a commit
 * fails, the appends of the batch complete with the error and the other
 * writes stay in the journal, replayed before the next call.
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/backends.h"
#include "store/sqlite_file.h"
#include "store/sqlite_rows.h"
#include "store/store.h"

/* One write, as the journal keeps it: its bytes owned (ini, raw). */
struct sq_op {
	struct cove_store_rows_op w;
	cove_store_done_fn done;        /* APPEND */
	void *arg;
	int err;                        /* APPEND, once due: how its commit went */
};

struct sq {
	struct cove_store_rows *rows;
	struct cove_store_conf conf;
	int in_txn;                     /* a transaction is open, holding every op of the journal */
	struct sq_op *ops;              /* the journal: every write since the last commit */
	size_t n_ops, cap_ops;
	struct sq_op *due;              /* appends whose completion is to be called, from due_at */
	size_t n_due, cap_due, due_at;
	int completing;
};

static void sq_op_free(struct sq_op *op)
{
	if (op->w.kind == COVE_STORE_ROWS_MEMBER_PUT)
		free((void *)op->w.m.ini);
	if (op->w.kind == COVE_STORE_ROWS_APPEND)
		free((void *)op->w.f.raw);
}

/* Puts a copy of op, owning the bytes it borrowed, after the journal's
 * last op (not counted yet), or NULL. */
static struct sq_op *sq_journal(struct sq *s, const struct sq_op *op)
{
	int append = op->w.kind == COVE_STORE_ROWS_APPEND;
	int member = op->w.kind == COVE_STORE_ROWS_MEMBER_PUT;
	size_t len = append ? op->w.f.len : member ? op->w.m.ini_len : 0;
	struct sq_op *j;
	void *copy = NULL;

	if (s->n_ops == s->cap_ops) {
		size_t cap = s->cap_ops ? 2 * s->cap_ops : 64;

		j = realloc(s->ops, cap * sizeof(*j));
		if (!j)
			return NULL;
		s->ops = j;
		s->cap_ops = cap;
	}
	if (len > 0) {
		copy = malloc(len);
		if (!copy)
			return NULL;
		memcpy(copy, append ? op->w.f.raw : op->w.m.ini, len);
	}
	j = &s->ops[s->n_ops];
	*j = *op;
	if (member)
		j->w.m.ini = copy;
	if (append)
		j->w.f.raw = copy;
	return j;
}

static void sq_rollback(struct sq *s)
{
	cove_store_rows_rollback(s->rows);
	s->in_txn = 0;
}

/* Opens the transaction if it is not, replaying the journal into it. */
static int sq_begin(struct sq *s)
{
	int ret;

	if (s->in_txn)
		return COVE_OK;
	ret = cove_store_rows_begin(s->rows);
	for (size_t i = 0; ret == COVE_OK && i < s->n_ops; i++)
		ret = cove_store_rows_apply(s->rows, &s->ops[i].w);
	if (ret != COVE_OK) {
		sq_rollback(s);
		return ret;
	}
	s->in_txn = 1;
	return COVE_OK;
}

/* Before a read: the journal's writes are replayed if they can be;
 * otherwise the read sees what was last committed. */
static void sq_view(struct sq *s)
{
	if (!s->in_txn && s->n_ops > 0)
		(void)sq_begin(s);
}

static int sq_write(struct sq *s, const struct sq_op *op)
{
	struct sq_op *j;
	int ret = sq_begin(s);

	if (ret != COVE_OK)
		return ret;
	j = sq_journal(s, op);
	if (!j)
		return COVE_ERR_NOMEM;
	ret = cove_store_rows_apply(s->rows, &j->w);
	if (ret == COVE_OK) {
		s->n_ops++;
		return COVE_OK;
	}
	sq_op_free(j);
	if (ret != COVE_ERR_NOTFOUND && ret != COVE_ERR_LIMIT) {
		/* part of op may be in the transaction, or SQLite rolled all
		 * of it back: start again from the journal */
		sq_rollback(s);
		(void)sq_begin(s);
	}
	return ret;
}

/* The last seq of a room that read() may give: below every append whose
 * completion is still to come (conservative for a room deleted and made
 * again meanwhile, and only until those completions are called). */
static uint64_t sq_visible(const struct sq *s, const char *room, size_t len)
{
	uint64_t last = UINT64_MAX;

	for (size_t i = 0; i < s->n_ops + s->n_due - s->due_at; i++) {
		const struct sq_op *op = i < s->n_ops ? &s->ops[i] : &s->due[s->due_at + i - s->n_ops];

		if (op->w.kind == COVE_STORE_ROWS_APPEND && !op->err && op->w.room_len == len &&
		    memcmp(op->w.room, room, len) == 0 && op->w.f.seq - 1 < last)
			last = op->w.f.seq - 1;
	}
	return last;
}

/* Calls the completions due, in order. One may flush again: its own
 * completions join the end of the list this loop is working through. */
static void sq_complete(struct sq *s)
{
	if (s->completing)
		return;
	s->completing = 1;
	while (s->due_at < s->n_due) {
		struct sq_op op = s->due[s->due_at++];

		op.done(op.arg, op.err ? 0 : op.w.f.seq, op.err ? 0 : op.w.f.rdat, op.err);
	}
	s->n_due = s->due_at = 0;
	s->completing = 0;
}

static int sq_flush(void *state)
{
	struct sq *s = state;
	size_t kept = 0;
	int ret;

	if (!s->in_txn && s->n_ops == 0) {
		sq_complete(s);
		return COVE_OK;
	}
	if (s->n_due + s->n_ops > s->cap_due) {
		/* room for the completions first: a commit then cannot be
		 * followed by a failure to call them */
		size_t cap = s->n_due + s->n_ops + 64;
		struct sq_op *p = realloc(s->due, cap * sizeof(*p));

		if (!p)
			return COVE_ERR_NOMEM;
		s->due = p;
		s->cap_due = cap;
	}
	ret = sq_begin(s);
	if (ret == COVE_OK)
		ret = cove_store_rows_commit(s->rows);
	if (ret != COVE_OK)
		sq_rollback(s);
	s->in_txn = 0;
	for (size_t i = 0; i < s->n_ops; i++) {
		struct sq_op *op = &s->ops[i];

		if (op->w.kind == COVE_STORE_ROWS_APPEND) {
			sq_op_free(op);
			op->w.f.raw = NULL;
			op->err = ret;
			s->due[s->n_due++] = *op;
		} else if (ret != COVE_OK && op->w.kind != COVE_STORE_ROWS_TRIM) {
			s->ops[kept++] = *op; /* replayed before the next call */
		} else {
			sq_op_free(op);
		}
	}
	s->n_ops = kept;
	sq_complete(s);
	return ret;
}

static void sq_free(struct sq *s)
{
	cove_store_rows_free(s->rows);
	for (size_t i = 0; i < s->n_ops; i++)
		sq_op_free(&s->ops[i]);
	free(s->ops);
	free(s->due);
	free(s);
}

static int sq_open(void **state, const char *path, const struct cove_store_conf *conf)
{
	struct sq *s = calloc(1, sizeof(*s));
	sqlite3 *db;
	int ret;

	if (!s)
		return COVE_ERR_NOMEM;
	s->conf = *conf;
	ret = cove_store_sql_open(&db, path, conf);
	if (ret == COVE_OK)
		ret = cove_store_rows_new(&s->rows, db, conf);
	if (ret != COVE_OK) {
		sq_free(s);
		return ret;
	}
	*state = s;
	return COVE_OK;
}

static void sq_close(void *state)
{
	struct sq *s = state;

	if (!s)
		return;
	sq_flush(s);
	sq_free(s);
}

static int sq_load(void *state, cove_store_room_fn room_fn, cove_store_member_fn member_fn,
		   void *arg)
{
	struct sq *s = state;

	sq_view(s);
	return cove_store_rows_load(s->rows, room_fn, member_fn, arg);
}

static void sq_op_room(struct sq_op *op, enum cove_store_rows_kind kind, const char *room,
		       size_t room_len)
{
	memset(op, 0, sizeof(*op));
	op->w.kind = kind;
	memcpy(op->w.room, room, room_len);
	op->w.room_len = room_len;
}

static int sq_room_put(void *state, const struct cove_store_room *r)
{
	struct sq_op op;

	sq_op_room(&op, COVE_STORE_ROWS_ROOM_PUT, r->name, r->name_len);
	op.w.r = *r;
	op.w.r.name = NULL;
	return sq_write(state, &op);
}

static int sq_room_del(void *state, const char *room, size_t room_len)
{
	struct sq_op op;

	sq_op_room(&op, COVE_STORE_ROWS_ROOM_DEL, room, room_len);
	return sq_write(state, &op);
}

static int sq_member_put(void *state, const char *room, size_t room_len,
			 const struct cove_store_member *m)
{
	struct sq_op op;

	sq_op_room(&op, COVE_STORE_ROWS_MEMBER_PUT, room, room_len);
	op.w.m = *m;
	return sq_write(state, &op);
}

static int sq_member_del(void *state, const char *room, size_t room_len,
			 const uint8_t pk[COVE_STORE_ID_LEN])
{
	struct sq_op op;

	sq_op_room(&op, COVE_STORE_ROWS_MEMBER_DEL, room, room_len);
	memcpy(op.w.m.pk, pk, COVE_STORE_ID_LEN);
	return sq_write(state, &op);
}

static int sq_append(void *state, const char *room, size_t room_len,
		     const struct cove_store_frame *f, cove_store_done_fn done, void *arg)
{
	struct sq_op op;

	sq_op_room(&op, COVE_STORE_ROWS_APPEND, room, room_len);
	op.w.f = *f;
	op.w.f.has_to = f->has_to != 0;
	op.done = done;
	op.arg = arg;
	return sq_write(state, &op);
}

static int sq_read(void *state, const char *room, size_t room_len,
		   const uint8_t reader[COVE_STORE_ID_LEN], uint64_t after, size_t max,
		   cove_store_frame_fn fn, void *arg)
{
	struct sq *s = state;

	sq_view(s);
	return cove_store_rows_read(s->rows, room, room_len, reader, after,
				    sq_visible(s, room, room_len), max, fn, arg);
}

static int sq_span(void *state, const char *room, size_t room_len, struct cove_store_span *out)
{
	struct sq *s = state;

	sq_view(s);
	return cove_store_rows_span(s->rows, room, room_len, out);
}

static int sq_trim(void *state, uint64_t now_ms)
{
	struct sq *s = state;
	struct sq_op op;

	if (s->conf.retain_ms == 0 || now_ms <= s->conf.retain_ms)
		return COVE_OK;
	memset(&op, 0, sizeof(op));
	op.w.kind = COVE_STORE_ROWS_TRIM;
	op.w.now_ms = now_ms;
	return sq_write(s, &op);
}

const struct cove_store_ops cove_store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.load = sq_load,
	.room_put = sq_room_put,
	.room_del = sq_room_del,
	.member_put = sq_member_put,
	.member_del = sq_member_del,
	.append = sq_append,
	.read = sq_read,
	.span = sq_span,
	.trim = sq_trim,
	.flush = sq_flush,
};
