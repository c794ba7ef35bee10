/*
 * mem.c - the store in memory (--store none): what a relay keeps for as
 * long as it runs. Rooms sit in an array sorted by name; each room keeps
 * its members sorted by join order and its frames in a ring, oldest at the
 * head, so that retention only ever pops the head and the frames kept are
 * always the seqs first..next-1; the frames for one member that retention
 * by bytes pops are kept apart, in seq order (store.h).
 */
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "store/backends.h"
#include "store/store.h"

struct mem_frame {
	uint64_t seq;
	uint64_t ts_ms;
	uint64_t rdat;
	uint8_t type;
	uint8_t dat;
	uint8_t has_to;
	uint8_t to[COVE_STORE_ID_LEN];
	uint8_t *raw;
	size_t len;
};

struct mem_room {
	char name[COVE_STORE_ROOM_MAX];
	size_t name_len;
	int epoch_known;
	uint32_t epoch;
	uint32_t epoch_top;
	uint64_t next_serial;
	struct cove_store_member *members; /* by (serial, pk); ini owned */
	size_t n_members, cap_members;
	struct mem_frame *ring;            /* count frames from head, wrapping at cap */
	size_t cap, head, count;
	struct mem_frame *own;             /* for one member, kept apart; seqs < first */
	size_t n_own, cap_own;
	uint64_t first, next, bytes;
	uint64_t dats, dropped_dats;
};

struct mem {
	struct cove_store_conf conf;
	struct mem_room **rooms;           /* sorted by name */
	size_t n_rooms, cap_rooms;
	uint64_t bytes;                    /* of the frames of every room */
};

static int mem_name_cmp(const struct mem_room *r, const char *name, size_t len)
{
	int c = memcmp(r->name, name, r->name_len < len ? r->name_len : len);

	if (c != 0)
		return c;
	return (r->name_len > len) - (r->name_len < len);
}

/* The room called name, or NULL with *pos where it would go. */
static struct mem_room *mem_find(const struct mem *m, const char *name, size_t len,
				 size_t *pos)
{
	size_t lo = 0, hi = m->n_rooms;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = mem_name_cmp(m->rooms[mid], name, len);

		if (c == 0) {
			*pos = mid;
			return m->rooms[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return NULL;
}

static struct mem_frame *mem_at(const struct mem_room *r, size_t i)
{
	return &r->ring[(r->head + i) % r->cap];
}

/* Keeps f, popped from r's ring by retention by bytes, apart; 0 when
 * there is no memory for it (then it goes). */
static int mem_keep_own(struct mem_room *r, const struct mem_frame *f)
{
	if (r->n_own == r->cap_own) {
		size_t cap = r->cap_own ? 2 * r->cap_own : 4;
		struct mem_frame *p = realloc(r->own, cap * sizeof(*p));

		if (!p)
			return 0;
		r->own = p;
		r->cap_own = cap;
	}
	r->own[r->n_own++] = *f;
	return 1;
}

/* Drops the n oldest frames of r; by bytes (keep_own), those for one
 * member are kept apart. */
static void mem_drop(struct mem *m, struct mem_room *r, size_t n, int keep_own)
{
	for (size_t i = 0; i < n; i++) {
		struct mem_frame *f = mem_at(r, 0);

		r->bytes -= f->len;
		r->dropped_dats = f->rdat;
		if (!(keep_own && f->has_to && mem_keep_own(r, f))) {
			m->bytes -= f->len;
			free(f->raw);
		}
		f->raw = NULL;
		r->head = (r->head + 1) % r->cap;
		r->count--;
	}
	r->first = r->count ? r->first + n : r->next;
}

static void mem_room_free(struct mem *m, struct mem_room *r)
{
	if (!r)
		return;
	mem_drop(m, r, r->count, 0);
	for (size_t i = 0; i < r->n_own; i++) {
		m->bytes -= r->own[i].len;
		free(r->own[i].raw);
	}
	free(r->own);
	for (size_t i = 0; i < r->n_members; i++)
		free((void *)r->members[i].ini);
	free(r->members);
	free(r->ring);
	free(r);
}

static int mem_open(void **state, const char *path, const struct cove_store_conf *conf)
{
	struct mem *m = calloc(1, sizeof(*m));

	(void)path;
	if (!m)
		return COVE_ERR_NOMEM;
	m->conf = *conf;
	*state = m;
	return COVE_OK;
}

static void mem_close(void *state)
{
	struct mem *m = state;

	if (!m)
		return;
	for (size_t i = 0; i < m->n_rooms; i++)
		mem_room_free(m, m->rooms[i]);
	free(m->rooms);
	free(m);
}

static void mem_record(const struct mem_room *r, struct cove_store_room *out)
{
	out->name = r->name;
	out->name_len = r->name_len;
	out->epoch_known = r->epoch_known;
	out->epoch = r->epoch;
	out->epoch_top = r->epoch_top;
	out->next_serial = r->next_serial;
}

static int mem_load(void *state, cove_store_room_fn room_fn, cove_store_member_fn member_fn,
		    void *arg)
{
	struct mem *m = state;

	for (size_t i = 0; i < m->n_rooms; i++) {
		const struct mem_room *r = m->rooms[i];
		struct cove_store_room rec;
		int ret;

		mem_record(r, &rec);
		ret = room_fn(arg, &rec);
		for (size_t j = 0; ret == 0 && j < r->n_members; j++) {
			struct cove_store_member mb = r->members[j];

			if (!mb.ini)
				mb.ini = (const uint8_t *)""; /* never NULL, as store.h says */
			ret = member_fn(arg, &rec, &mb);
		}
		if (ret != 0)
			return ret;
	}
	return COVE_OK;
}

static int mem_room_put(void *state, const struct cove_store_room *rec)
{
	struct mem *m = state;
	size_t pos;
	struct mem_room *r = mem_find(m, rec->name, rec->name_len, &pos);

	if (!r) {
		if (m->n_rooms == m->cap_rooms) {
			size_t cap = m->cap_rooms ? 2 * m->cap_rooms : 8;
			struct mem_room **p = realloc(m->rooms, cap * sizeof(*p));

			if (!p)
				return COVE_ERR_NOMEM;
			m->rooms = p;
			m->cap_rooms = cap;
		}
		r = calloc(1, sizeof(*r));
		if (!r)
			return COVE_ERR_NOMEM;
		memcpy(r->name, rec->name, rec->name_len);
		r->name_len = rec->name_len;
		r->first = r->next = 1;
		memmove(&m->rooms[pos + 1], &m->rooms[pos], (m->n_rooms - pos) * sizeof(r));
		m->rooms[pos] = r;
		m->n_rooms++;
	}
	r->epoch_known = rec->epoch_known;
	r->epoch = rec->epoch;
	r->epoch_top = rec->epoch_top;
	r->next_serial = rec->next_serial;
	return COVE_OK;
}

static int mem_room_del(void *state, const char *room, size_t room_len)
{
	struct mem *m = state;
	size_t pos;
	struct mem_room *r = mem_find(m, room, room_len, &pos);

	if (!r)
		return COVE_ERR_NOTFOUND;
	mem_room_free(m, r);
	m->n_rooms--;
	memmove(&m->rooms[pos], &m->rooms[pos + 1], (m->n_rooms - pos) * sizeof(r));
	return COVE_OK;
}

/* The index of pk among r's members, or r->n_members. */
static size_t mem_member_at(const struct mem_room *r, const uint8_t *pk)
{
	size_t i = 0;

	while (i < r->n_members && memcmp(r->members[i].pk, pk, COVE_STORE_ID_LEN) != 0)
		i++;
	return i;
}

static void mem_member_remove(struct mem_room *r, size_t i)
{
	free((void *)r->members[i].ini);
	r->n_members--;
	memmove(&r->members[i], &r->members[i + 1], (r->n_members - i) * sizeof(r->members[0]));
}

static int mem_member_put(void *state, const char *room, size_t room_len,
			  const struct cove_store_member *mb)
{
	struct mem *m = state;
	size_t pos, i;
	struct mem_room *r = mem_find(m, room, room_len, &pos);
	uint8_t *ini = NULL;

	if (!r)
		return COVE_ERR_NOTFOUND;
	if (r->n_members == r->cap_members) {
		size_t cap = r->cap_members ? 2 * r->cap_members : 4;
		struct cove_store_member *p = realloc(r->members, cap * sizeof(*p));

		if (!p)
			return COVE_ERR_NOMEM;
		r->members = p;
		r->cap_members = cap;
	}
	if (mb->ini_len > 0) {
		ini = malloc(mb->ini_len);
		if (!ini)
			return COVE_ERR_NOMEM;
		memcpy(ini, mb->ini, mb->ini_len);
	}
	i = mem_member_at(r, mb->pk);
	if (i < r->n_members)
		mem_member_remove(r, i);
	/* join order, and the key among equal serials, as sqlite.c sorts */
	for (i = r->n_members; i > 0; i--) {
		const struct cove_store_member *o = &r->members[i - 1];

		if (o->serial < mb->serial ||
		    (o->serial == mb->serial && memcmp(o->pk, mb->pk, COVE_STORE_ID_LEN) < 0))
			break;
	}
	memmove(&r->members[i + 1], &r->members[i], (r->n_members - i) * sizeof(r->members[0]));
	r->members[i] = *mb;
	r->members[i].ini = ini;
	r->n_members++;
	return COVE_OK;
}

static int mem_member_del(void *state, const char *room, size_t room_len,
			  const uint8_t pk[COVE_STORE_ID_LEN])
{
	struct mem *m = state;
	size_t pos, i;
	struct mem_room *r = mem_find(m, room, room_len, &pos);

	if (!r)
		return COVE_ERR_NOTFOUND;
	i = mem_member_at(r, pk);
	if (i == r->n_members)
		return COVE_ERR_NOTFOUND;
	mem_member_remove(r, i);
	return COVE_OK;
}

static int mem_grow(struct mem_room *r)
{
	size_t cap = r->cap ? 2 * r->cap : 16;
	struct mem_frame *p = malloc(cap * sizeof(*p));

	if (!p)
		return COVE_ERR_NOMEM;
	for (size_t i = 0; i < r->count; i++)
		p[i] = *mem_at(r, i);
	free(r->ring);
	r->ring = p;
	r->cap = cap;
	r->head = 0;
	return COVE_OK;
}

static int mem_append(void *state, const char *room, size_t room_len,
		      const struct cove_store_frame *f, cove_store_done_fn done, void *arg)
{
	struct mem *m = state;
	size_t pos, drop = 0;
	struct mem_room *r = mem_find(m, room, room_len, &pos);
	uint64_t retain = m->conf.retain_bytes, freed = 0, seq;
	int keep;
	struct mem_frame *slot;
	uint8_t *raw;

	if (!r)
		return COVE_ERR_NOTFOUND;
	keep = retain > 0 && f->len <= retain;
	if (!keep) {
		drop = r->count;
		freed = r->bytes;
	}
	while (keep && r->bytes - freed + f->len > retain) {
		freed += mem_at(r, drop)->len;
		drop++;
	}
	/* decide everything before changing anything: a refusal stores
	 * nothing and drops nothing (frames kept apart stay counted in
	 * m->bytes: this errs towards FULL) */
	if (keep && m->conf.max_bytes && m->bytes - freed + f->len > m->conf.max_bytes)
		return COVE_ERR_FULL;
	if (keep && r->count - drop == r->cap && mem_grow(r) != COVE_OK)
		return COVE_ERR_NOMEM;
	raw = keep ? malloc(f->len) : NULL;
	if (keep && !raw)
		return COVE_ERR_NOMEM;
	seq = r->next++;
	if (f->dat)
		r->dats++;
	mem_drop(m, r, drop, retain > 0);
	if (keep) {
		memcpy(raw, f->raw, f->len);
		slot = mem_at(r, r->count);
		slot->seq = seq;
		slot->ts_ms = f->ts_ms;
		slot->rdat = r->dats;
		slot->type = f->type;
		slot->dat = f->dat != 0;
		slot->has_to = f->has_to != 0;
		memcpy(slot->to, f->to, COVE_STORE_ID_LEN);
		slot->raw = raw;
		slot->len = f->len;
		if (r->count++ == 0)
			r->first = seq;
		r->bytes += f->len;
		m->bytes += f->len;
	} else {
		r->first = r->next;
		r->dropped_dats = r->dats;
	}
	done(arg, seq, r->dats, COVE_OK);
	return COVE_OK;
}

/* Gives mf to fn when it is for reader: 1 when given (fn's value in
 * *stop), 0 when it is for another member. */
static int mem_give(const struct mem_frame *mf, const uint8_t reader[COVE_STORE_ID_LEN],
		    cove_store_frame_fn fn, void *arg, int *stop)
{
	struct cove_store_frame f;

	if (mf->has_to && memcmp(mf->to, reader, COVE_STORE_ID_LEN) != 0)
		return 0;
	f.seq = mf->seq;
	f.ts_ms = mf->ts_ms;
	f.rdat = mf->rdat;
	f.type = mf->type;
	f.dat = mf->dat;
	f.has_to = mf->has_to;
	memcpy(f.to, mf->to, COVE_STORE_ID_LEN);
	f.raw = mf->raw;
	f.len = mf->len;
	*stop = fn(arg, &f);
	return 1;
}

static int mem_read(void *state, const char *room, size_t room_len,
		    const uint8_t reader[COVE_STORE_ID_LEN], uint64_t after, size_t max,
		    cove_store_frame_fn fn, void *arg)
{
	struct mem *m = state;
	size_t pos, i, given = 0;
	const struct mem_room *r = mem_find(m, room, room_len, &pos);
	int stop = 0;

	if (!r)
		return COVE_ERR_NOTFOUND;
	if (after >= r->next)
		return 0;
	/* those kept apart are older than the ring's */
	for (i = 0; i < r->n_own && given < max; i++) {
		if (r->own[i].seq <= after)
			continue;
		given += (size_t)mem_give(&r->own[i], reader, fn, arg, &stop);
		if (stop)
			return stop;
	}
	for (i = after < r->first ? 0 : after - r->first + 1; i < r->count && given < max; i++) {
		given += (size_t)mem_give(mem_at(r, i), reader, fn, arg, &stop);
		if (stop)
			return stop;
	}
	return (int)given;
}

static int mem_span(void *state, const char *room, size_t room_len, struct cove_store_span *out)
{
	struct mem *m = state;
	size_t pos;
	const struct mem_room *r = mem_find(m, room, room_len, &pos);

	if (!r)
		return COVE_ERR_NOTFOUND;
	out->first = r->first;
	out->next = r->next;
	out->dropped = r->first - 1;
	out->dats = r->dats;
	out->dropped_dats = r->dropped_dats;
	out->bytes = r->bytes;
	return COVE_OK;
}

static int mem_trim(void *state, uint64_t now_ms)
{
	struct mem *m = state;
	uint64_t cutoff;

	if (m->conf.retain_ms == 0 || now_ms <= m->conf.retain_ms)
		return COVE_OK;
	cutoff = now_ms - m->conf.retain_ms;
	for (size_t i = 0; i < m->n_rooms; i++) {
		struct mem_room *r = m->rooms[i];
		size_t n = 0, keep = 0;

		while (n < r->count && mem_at(r, n)->ts_ms < cutoff)
			n++;
		mem_drop(m, r, n, 0);
		for (size_t k = 0; k < r->n_own; k++) {
			if (r->own[k].ts_ms < cutoff) {
				m->bytes -= r->own[k].len;
				free(r->own[k].raw);
			} else {
				r->own[keep++] = r->own[k];
			}
		}
		r->n_own = keep;
	}
	return COVE_OK;
}

static int mem_flush(void *state)
{
	(void)state;
	return COVE_OK;
}

const struct cove_store_ops cove_store_mem_ops = {
	.name = "mem",
	.open = mem_open,
	.close = mem_close,
	.load = mem_load,
	.room_put = mem_room_put,
	.room_del = mem_room_del,
	.member_put = mem_member_put,
	.member_del = mem_member_del,
	.append = mem_append,
	.read = mem_read,
	.span = mem_span,
	.trim = mem_trim,
	.flush = mem_flush,
};
