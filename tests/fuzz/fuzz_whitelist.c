/*
 * fuzz_whitelist.c - cove_wl_parse_all() on hostile whitelist text.
 *
 * The relay reloads the whitelist on SIGHUP and `cove-keys check` prints
 * its diagnostics on the operator's terminal. Checked here:
 *  - only COVE_OK or COVE_ERR_SYNTAX; SYNTAX exactly when something was
 *    reported, and on COVE_OK nothing was;
 *  - every diagnostic has a line number from 1 to the file's line count (0
 *    only for the one about a NUL byte), arrives in line order, and its
 *    message is non-empty, NUL-terminated printable ASCII (a hostile file
 *    must not put escape sequences on the terminal);
 *  - cove_wl_parse() returns the same and reports the first diagnostic;
 *  - on success every entry has a valid name and a line in the file, in
 *    file order, and is found by cove_wl_find_pk() and cove_wl_find_name().
 */
#include <string.h>

#include "common/err.h"
#include "crypto/whitelist.h"
#include "tests/fuzz/fuzz.h"

struct seen {
	unsigned lines;    /* the file's line count */
	int has_nul;
	size_t n;
	struct cove_wl_diag first;
	unsigned last_line;
};

static void on_error(void *ctx, const struct cove_wl_diag *d)
{
	struct seen *s = ctx;
	size_t len = strnlen(d->msg, sizeof(d->msg));

	FUZZ_CHECK(len > 0 && len < sizeof(d->msg), "line %u: message of %zu bytes", d->line,
		   len);
	for (size_t i = 0; i < len; i++)
		FUZZ_CHECK(d->msg[i] >= 0x20 && d->msg[i] < 0x7f,
			   "line %u: byte 0x%02x at %zu of the message \"%s\"", d->line,
			   (unsigned char)d->msg[i], i, d->msg);
	if (d->line == 0)
		FUZZ_CHECK(s->has_nul, "line 0 for \"%s\" in a file without a NUL byte", d->msg);
	else
		FUZZ_CHECK(d->line <= s->lines, "line %u of a %u-line file: \"%s\"", d->line,
			   s->lines, d->msg);
	FUZZ_CHECK(d->line >= s->last_line, "line %u reported after line %u", d->line,
		   s->last_line);
	s->last_line = d->line;
	if (s->n++ == 0)
		s->first = *d;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	struct seen seen;
	struct cove_wl *wl = NULL, *wl2 = NULL;
	struct cove_wl_diag diag;
	unsigned last = 0;
	size_t n;
	int r, r2;

	fuzz_sodium_init();
	memset(&seen, 0, sizeof(seen));
	seen.has_nul = memchr(text, '\0', size) != NULL;
	for (size_t i = 0; i < size; i++)
		if (text[i] == '\n' || i == size - 1)
			seen.lines++;

	r = cove_wl_parse_all(&wl, text, size, on_error, &seen);
	FUZZ_CHECK(r == COVE_OK || r == COVE_ERR_SYNTAX, "cove_wl_parse_all returned %d (%s)", r,
		   cove_strerror(r));
	FUZZ_CHECK((r == COVE_ERR_SYNTAX) == (seen.n > 0), "returned %d with %zu diagnostics",
		   r, seen.n);
	FUZZ_CHECK((r == COVE_OK) == (wl != NULL), "returned %d and a list %p", r, (void *)wl);

	memset(&diag, 0xa5, sizeof(diag));
	r2 = cove_wl_parse(&wl2, text, size, &diag);
	FUZZ_CHECK(r2 == r, "cove_wl_parse returned %d, cove_wl_parse_all %d", r2, r);
	if (r == COVE_ERR_SYNTAX)
		FUZZ_CHECK(diag.line == seen.first.line && strcmp(diag.msg, seen.first.msg) == 0,
			   "cove_wl_parse reported line %u \"%.*s\", the first error is line %u "
			   "\"%s\"", diag.line, (int)sizeof(diag.msg), diag.msg, seen.first.line,
			   seen.first.msg);
	cove_wl_free(wl2);

	if (r != COVE_OK)
		return 0;
	n = cove_wl_count(wl);
	for (size_t i = 0; i < n; i++) {
		const struct cove_wl_entry *e = cove_wl_at(wl, i);
		size_t nl;

		FUZZ_CHECK(e != NULL, "entry %zu of %zu missing", i, n);
		nl = strnlen(e->name, sizeof(e->name));
		FUZZ_CHECK(nl < sizeof(e->name) && cove_name_valid(e->name, nl),
			   "entry %zu: invalid name", i);
		FUZZ_CHECK(e->line > last && e->line <= seen.lines,
			   "entry %zu on line %u (previous %u, %u lines)", i, e->line, last,
			   seen.lines);
		last = e->line;
		FUZZ_CHECK(cove_wl_find_pk(wl, e->pk) == e, "entry %zu ('%s', line %u) not found "
			   "by its key", i, e->name, e->line);
		FUZZ_CHECK(cove_wl_find_name(wl, e->name) == e, "entry %zu ('%s', line %u) not "
			   "found by its name", i, e->name, e->line);
	}
	FUZZ_CHECK(cove_wl_at(wl, n) == NULL, "an entry past the end");
	cove_wl_free(wl);
	return 0;
}
