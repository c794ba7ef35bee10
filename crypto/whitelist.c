#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/file.h"
#include "crypto/ident.h"
#include "crypto/whitelist.h"

struct wl_item {
	struct cove_wl_entry e;
	size_t off, end; /* the line's bytes in the text, newline included */
};

struct pk_index {
	uint8_t pk[COVE_PK_LEN];
	size_t i;
};

struct name_index {
	const char *name;         /* points into items[i] */
	unsigned line;
	size_t i;
};

struct cove_wl {
	struct wl_item *items;    /* file order */
	size_t n, cap;
	struct pk_index *by_pk;   /* sorted by key */
	struct name_index *by_name; /* sorted by name, then line */
};

int cove_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > COVE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static void diag_set(struct cove_wl_diag *d, unsigned line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void diag_set(struct cove_wl_diag *d, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (!d)
		return;
	d->line = line;
	va_start(ap, fmt);
	vsnprintf(d->msg, sizeof(d->msg), fmt, ap);
	va_end(ap);
}

/* Copies at most 40 bytes of s into out for quoting in a message, with
 * anything unprintable shown as '?', so a hostile file cannot put escape
 * sequences on the operator's terminal. */
static const char *quote(char out[48], const char *s, size_t len)
{
	size_t n = len > 40 ? 40 : len, i;

	for (i = 0; i < n; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (len > n) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
	return out;
}

static int is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static int cmp_pk(const void *a, const void *b)
{
	return memcmp(((const struct pk_index *)a)->pk, ((const struct pk_index *)b)->pk,
		      COVE_PK_LEN);
}

static int wl_push(struct cove_wl *wl, const struct wl_item *it)
{
	if (wl->n == wl->cap) {
		size_t cap = wl->cap ? wl->cap * 2 : 16;
		struct wl_item *ni = realloc(wl->items, cap * sizeof(*ni));

		if (!ni)
			return COVE_ERR_NOMEM;
		wl->items = ni;
		wl->cap = cap;
	}
	wl->items[wl->n++] = *it;
	return COVE_OK;
}

/* How lenient a parse is. */
enum {
	/* Keep entries whose key is no usable Ed25519 key, so that
	 * `cove-keys remove` can take out a line an older version accepted. */
	WL_KEEP_BAD_KEYS = 1,
};

/* Parses one line (without its newline). Returns 0 with *it filled, 1 for
 * a line with no entry, or COVE_ERR_SYNTAX. */
static int parse_line(const char *s, size_t len, unsigned line, struct wl_item *it,
		      unsigned flags, struct cove_wl_diag *diag)
{
	const char *tok[3];
	size_t tlen[3], ntok = 0, i = 0;
	char q[48];

	for (size_t k = 0; k < len; k++) {
		if (s[k] == '#') {
			len = k;
			break;
		}
	}
	while (i < len) {
		size_t start;

		while (i < len && is_space(s[i]))
			i++;
		if (i == len)
			break;
		start = i;
		while (i < len && !is_space(s[i]))
			i++;
		if (ntok < 3) {
			tok[ntok] = s + start;
			tlen[ntok] = i - start;
		}
		ntok++;
	}
	if (ntok == 0)
		return 1;
	if (ntok != 2) {
		diag_set(diag, line, "expected 'NAME PUBKEY', found %zu field%s", ntok,
			 ntok == 1 ? "" : "s");
		return COVE_ERR_SYNTAX;
	}
	if (!cove_name_valid(tok[0], tlen[0])) {
		diag_set(diag, line,
			 "invalid name '%s': use 1-32 letters, digits, '.', '_' or '-'",
			 quote(q, tok[0], tlen[0]));
		return COVE_ERR_SYNTAX;
	}
	if (cove_pk_from_b64(it->e.pk, tok[1], tlen[1]) != COVE_OK) {
		diag_set(diag, line,
			 "invalid public key '%s': expected the 44-character base64 that "
			 "'cove-keys public' prints", quote(q, tok[1], tlen[1]));
		return COVE_ERR_SYNTAX;
	}
	if (!(flags & WL_KEEP_BAD_KEYS) && cove_pk_check(it->e.pk) != COVE_OK) {
		diag_set(diag, line,
			 "'%.44s' is not a usable Ed25519 public key (of small order, or not a "
			 "canonical curve point); ask %.*s for the key 'cove-keys public' prints, "
			 "or remove the line", tok[1], (int)tlen[0], tok[0]);
		return COVE_ERR_SYNTAX;
	}
	memcpy(it->e.name, tok[0], tlen[0]);
	it->e.name[tlen[0]] = '\0';
	it->e.line = line;
	return 0;
}

/* Records the first diagnostic for cove_wl_parse(); they arrive in line
 * order. */
static void keep_first(void *ctx, const struct cove_wl_diag *d)
{
	struct cove_wl_diag *first = ctx;

	if (first && first->line == 0 && first->msg[0] == '\0')
		*first = *d;
}

/* Diagnostics are gathered and then reported in line order: duplicate
 * keys are only found once every line has been read. */
struct diags {
	struct cove_wl_diag *v;
	size_t n;
	int oom;
};

static void diags_add(struct diags *ds, const struct cove_wl_diag *d)
{
	struct cove_wl_diag *nv = realloc(ds->v, (ds->n + 1) * sizeof(*nv));

	if (!nv) {
		ds->oom = 1;
		return;
	}
	ds->v = nv;
	ds->v[ds->n++] = *d;
}

static int cmp_diag(const void *a, const void *b)
{
	unsigned x = ((const struct cove_wl_diag *)a)->line;
	unsigned y = ((const struct cove_wl_diag *)b)->line;

	return x < y ? -1 : x > y;
}

static int cmp_name(const void *a, const void *b)
{
	const struct name_index *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	/* equal names stay in file order, so the first of a run is the first */
	return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Duplicate names and keys, found by sorting (a line-by-line search would
 * make a large file quadratic); each repeat is reported against the first
 * line with that name or key. Returns how many were reported. */
static size_t find_duplicates(struct cove_wl *wl, struct diags *ds)
{
	struct cove_wl_diag d;
	size_t errors = 0;

	for (size_t i = 0, first = 0; i < wl->n; i++) {
		const struct wl_item *a, *b;

		if (i == 0 || memcmp(wl->by_pk[i].pk, wl->by_pk[first].pk, COVE_PK_LEN) != 0) {
			first = i;
			continue;
		}
		a = &wl->items[wl->by_pk[first].i];
		b = &wl->items[wl->by_pk[i].i];
		if (b->e.line < a->e.line) { /* keep the earliest line as the first */
			const struct wl_item *t = a;

			a = b;
			b = t;
			first = i;
		}
		diag_set(&d, b->e.line, "duplicate public key (already on line %u as '%s')",
			 a->e.line, a->e.name);
		diags_add(ds, &d);
		errors++;
	}
	if (wl->n > 1)
		qsort(wl->by_name, wl->n, sizeof(*wl->by_name), cmp_name);
	for (size_t i = 1, first = 0; i < wl->n; i++) {
		const struct wl_item *a = &wl->items[wl->by_name[first].i];
		const struct wl_item *b = &wl->items[wl->by_name[i].i];

		if (strcmp(a->e.name, b->e.name) != 0) {
			first = i;
			continue;
		}
		diag_set(&d, b->e.line, "duplicate name '%s' (first on line %u)", b->e.name,
			 a->e.line);
		diags_add(ds, &d);
		errors++;
	}
	return errors;
}

static int parse_all(struct cove_wl **out, const char *text, size_t len, unsigned flags,
		     void (*on_error)(void *ctx, const struct cove_wl_diag *d), void *ctx)
{
	struct cove_wl *wl = calloc(1, sizeof(*wl));
	struct diags ds = { NULL, 0, 0 };
	struct cove_wl_diag d;
	size_t pos = 0, errors = 0;
	unsigned line = 0;
	int ret = COVE_OK;

	if (out)
		*out = NULL;
	if (!wl)
		return COVE_ERR_NOMEM;
	if (memchr(text, '\0', len)) {
		diag_set(&d, 0, "the file contains a NUL byte; it is not a whitelist");
		diags_add(&ds, &d);
		ret = COVE_ERR_SYNTAX;
		goto done;
	}
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) + 1 : len;
		size_t start = pos, body = (nl ? end - 1 : end) - pos;
		struct wl_item it;
		int r;

		line++;
		memset(&it, 0, sizeof(it));
		r = parse_line(text + start, body, line, &it, flags, &d);
		pos = end;
		if (r < 0) {
			diags_add(&ds, &d);
			errors++;
			continue;
		}
		if (r == 1)
			continue;
		it.off = start;
		it.end = end;
		ret = wl_push(wl, &it);
		if (ret != COVE_OK)
			goto done;
	}
	wl->by_pk = malloc((wl->n ? wl->n : 1) * sizeof(*wl->by_pk));
	wl->by_name = malloc((wl->n ? wl->n : 1) * sizeof(*wl->by_name));
	if (!wl->by_pk || !wl->by_name) {
		ret = COVE_ERR_NOMEM;
		goto done;
	}
	for (size_t i = 0; i < wl->n; i++) {
		memcpy(wl->by_pk[i].pk, wl->items[i].e.pk, COVE_PK_LEN);
		wl->by_pk[i].i = i;
		wl->by_name[i].name = wl->items[i].e.name;
		wl->by_name[i].line = wl->items[i].e.line;
		wl->by_name[i].i = i;
	}
	qsort(wl->by_pk, wl->n, sizeof(*wl->by_pk), cmp_pk);
	errors += find_duplicates(wl, &ds);
	if (errors)
		ret = COVE_ERR_SYNTAX;
done:
	if (ds.oom && ret == COVE_ERR_SYNTAX)
		ret = COVE_ERR_NOMEM;
	if (ds.n)
		qsort(ds.v, ds.n, sizeof(*ds.v), cmp_diag);
	for (size_t i = 0; i < ds.n; i++)
		on_error(ctx, &ds.v[i]);
	free(ds.v);
	if (ret == COVE_OK && out)
		*out = wl;
	else
		cove_wl_free(wl);
	return ret;
}

int cove_wl_parse_all(struct cove_wl **out, const char *text, size_t len,
		      void (*on_error)(void *ctx, const struct cove_wl_diag *d), void *ctx)
{
	return parse_all(out, text, len, 0, on_error, ctx);
}

static int parse_first(struct cove_wl **out, const char *text, size_t len, unsigned flags,
		       struct cove_wl_diag *diag)
{
	struct cove_wl_diag first = { 0, "" };
	int ret = parse_all(out, text, len, flags, keep_first, &first);

	if (diag)
		*diag = first;
	return ret;
}

int cove_wl_parse(struct cove_wl **out, const char *text, size_t len,
		  struct cove_wl_diag *diag)
{
	return parse_first(out, text, len, 0, diag);
}

int cove_wl_load(struct cove_wl **out, const char *path, struct cove_wl_diag *diag)
{
	char *text = NULL;
	size_t len = 0;
	int ret;

	*out = NULL;
	ret = cove_file_read(path, COVE_WL_MAX_FILE, 0, &text, &len, NULL);
	if (ret == COVE_ERR_LIMIT)
		diag_set(diag, 0, "the file is larger than %u bytes", COVE_WL_MAX_FILE);
	if (ret != COVE_OK)
		return ret;
	ret = cove_wl_parse(out, text, len, diag);
	free(text);
	return ret;
}

void cove_wl_free(struct cove_wl *wl)
{
	if (!wl)
		return;
	free(wl->items);
	free(wl->by_pk);
	free(wl->by_name);
	free(wl);
}

size_t cove_wl_count(const struct cove_wl *wl)
{
	return wl->n;
}

const struct cove_wl_entry *cove_wl_at(const struct cove_wl *wl, size_t i)
{
	return i < wl->n ? &wl->items[i].e : NULL;
}

const struct cove_wl_entry *cove_wl_find_pk(const struct cove_wl *wl,
					    const uint8_t pk[COVE_PK_LEN])
{
	size_t lo = 0, hi = wl->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(pk, wl->by_pk[mid].pk, COVE_PK_LEN);

		if (c == 0)
			return &wl->items[wl->by_pk[mid].i].e;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

const struct cove_wl_entry *cove_wl_find_name(const struct cove_wl *wl, const char *name)
{
	size_t lo = 0, hi = wl->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(name, wl->by_name[mid].name);

		if (c == 0) {
			/* the first of equal names (only a file with errors has them) */
			while (mid > 0 && strcmp(wl->by_name[mid - 1].name, name) == 0)
				mid--;
			return &wl->items[wl->by_name[mid].i].e;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Opens and locks path; retries when another writer replaced the file
 * between our open and our lock, since that lock guards a dead inode. */
static int lock_file(const char *path, int create, int *fdp, struct stat *st)
{
	for (;;) {
		struct stat now;
		int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0644);

		if (fd < 0)
			return COVE_ERR_IO;
		if (flock(fd, LOCK_EX) != 0 || fstat(fd, st) != 0) {
			int e = errno;

			close(fd);
			errno = e;
			return COVE_ERR_IO;
		}
		if (stat(path, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino) {
			*fdp = fd;
			return COVE_OK;
		}
		close(fd);
	}
}

enum wl_op { WL_ADD, WL_REMOVE };

static int wl_edit(const char *path, enum wl_op op, const char *name,
		   const uint8_t pk[COVE_PK_LEN], struct cove_wl_diag *diag)
{
	struct cove_wl *wl = NULL;
	char *text = NULL, *next = NULL;
	size_t len = 0, nlen = 0;
	struct stat st;
	int fd = -1, ret, e = 0;

	if (diag) {
		diag->line = 0;
		diag->msg[0] = '\0';
	}
	if (!cove_name_valid(name, strlen(name))) {
		char q[48];

		diag_set(diag, 0, "invalid name '%s': use 1-32 letters, digits, '.', '_' or '-'",
			 quote(q, name, strlen(name)));
		return COVE_ERR_INVAL;
	}
	if (op == WL_ADD && cove_pk_check(pk) != COVE_OK) {
		char b64[COVE_PK_B64_LEN + 1];

		cove_pk_to_b64(b64, pk);
		diag_set(diag, 0, "'%s' is not a usable Ed25519 public key (of small order, or "
			 "not a canonical curve point); nothing was added", b64);
		return COVE_ERR_BAD_KEY;
	}
	ret = lock_file(path, op == WL_ADD, &fd, &st);
	if (ret != COVE_OK)
		return ret;
	ret = cove_file_read_fd(fd, COVE_WL_MAX_FILE, &text, &len);
	if (ret != COVE_OK)
		goto out;
	ret = parse_first(&wl, text, len, op == WL_REMOVE ? WL_KEEP_BAD_KEYS : 0, diag);
	if (ret != COVE_OK)
		goto out;
	next = malloc(len + COVE_NAME_MAX + COVE_PK_B64_LEN + 4);
	if (!next) {
		ret = COVE_ERR_NOMEM;
		goto out;
	}
	if (op == WL_ADD) {
		const struct cove_wl_entry *dup = cove_wl_find_name(wl, name);
		char b64[COVE_PK_B64_LEN + 1];

		if (dup) {
			diag_set(diag, dup->line, "name '%s' is already on line %u", name, dup->line);
			ret = COVE_ERR_EXISTS;
			goto out;
		}
		dup = cove_wl_find_pk(wl, pk);
		if (dup) {
			diag_set(diag, dup->line, "this key is already on line %u as '%s'",
				 dup->line, dup->name);
			ret = COVE_ERR_EXISTS;
			goto out;
		}
		memcpy(next, text, len);
		nlen = len;
		if (nlen > 0 && next[nlen - 1] != '\n')
			next[nlen++] = '\n';
		cove_pk_to_b64(b64, pk);
		nlen += (size_t)sprintf(next + nlen, "%s %s\n", name, b64);
	} else {
		const struct cove_wl_entry *hit = cove_wl_find_name(wl, name);
		const struct wl_item *it;

		if (!hit) {
			diag_set(diag, 0, "no entry named '%s'", name);
			ret = COVE_ERR_NOTFOUND;
			goto out;
		}
		it = (const struct wl_item *)hit;
		memcpy(next, text, it->off);
		memcpy(next + it->off, text + it->end, len - it->end);
		nlen = len - (it->end - it->off);
	}
	ret = cove_file_replace(path, next, nlen, st.st_mode & 0777, 1);
out:
	e = errno;
	cove_wl_free(wl);
	free(text);
	free(next);
	close(fd); /* releases the lock only now that the new file is in place */
	errno = e;
	return ret;
}

int cove_wl_add(const char *path, const char *name, const uint8_t pk[COVE_PK_LEN],
		struct cove_wl_diag *diag)
{
	return wl_edit(path, WL_ADD, name, pk, diag);
}

int cove_wl_remove(const char *path, const char *name, struct cove_wl_diag *diag)
{
	return wl_edit(path, WL_REMOVE, name, NULL, diag);
}
