/*
 * sc_hist.c - a node's history file (hist/): messages stored a second,
 * 100 to a flush as the node's loop stores them; the time to show a page
 * of 20, the newest and from the middle; the file's bytes per message;
 * the time to open a full file. No relay is started.
 *
 * The reference is the machine's one-core Ed25519 verify rate: a member
 * catching up verifies each message before it stores it, so storing
 * must be well above that rate never to be what slows a catch-up.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench/run.h"
#include "common/err.h"
#include "hist/hist.h"

#define BATCH 100
#define PAGE 20
#define PAGES 2000

struct page_count {
	size_t n;
};

static int count_msg(void *arg, const struct cove_hist_msg *m)
{
	(void)m;
	((struct page_count *)arg)->n++;
	return 0;
}

/* Microseconds per page of PAGE messages before before_ts, over PAGES pages. */
static double page_us(struct cove_hist *h, int64_t room, uint64_t before_ts)
{
	struct page_count c = { 0 };
	uint64_t t0 = bn_now_ns();

	for (int i = 0; i < PAGES; i++)
		if (cove_hist_page(h, room, before_ts, PAGE, count_msg, &c) != COVE_OK)
			return -1;
	if (c.n != (size_t)PAGES * PAGE)
		return -1;
	return (double)(bn_now_ns() - t0) / 1e3 / PAGES;
}

static void remove_files(const char *dir, const char *path)
{
	char p[PATH_MAX];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	rmdir(dir);
}

int bn_sc_hist(const struct bn_opts *o)
{
	size_t N = o->messages ? o->messages : 100000;
	char dir[] = "/tmp/cove-bench-hist-XXXXXX", path[PATH_MAX] = "";
	struct cove_ident *id = cove_ident_new();
	struct cove_hist *h = NULL;
	struct cove_hist_msg m;
	char *text = malloc(o->size);
	double adds_s, open_ms, newest_us, middle_us, verify;
	uint64_t t0, ts0 = 1700000000000ULL, n = 0;
	struct bn_json j;
	struct stat st;
	int64_t room;
	int ok = -1, r = COVE_ERR_NOMEM;

	if (!id || !text || !mkdtemp(dir))
		goto out;
	snprintf(path, sizeof(path), "%s/h.db", dir);
	cove_ident_generate(id);
	for (size_t i = 0; i < o->size; i++)
		text[i] = (char)('a' + i % 26);
	memset(&m, 0, sizeof(m));
	randombytes_buf(m.from, sizeof(m.from));
	randombytes_buf(m.sid, sizeof(m.sid));
	m.text = text;
	m.text_len = o->size;

	r = cove_hist_open(&h, path, id);
	if (r == COVE_OK)
		r = cove_hist_room(h, "bench", 5, &room);
	t0 = bn_now_ns();
	for (size_t i = 0; i < N && r == COVE_OK; i++) {
		m.n = i + 1;
		m.ts_ms = ts0 + i;
		m.rseq = i + 1;
		r = cove_hist_add(h, room, &m);
		if (r == COVE_OK && (i + 1) % BATCH == 0)
			r = cove_hist_flush(h);
	}
	if (r == COVE_OK)
		r = cove_hist_flush(h);
	adds_s = (double)N / ((double)(bn_now_ns() - t0) / 1e9);
	if (r == COVE_OK)
		r = cove_hist_close(h);
	h = NULL;
	if (r != COVE_OK || stat(path, &st) != 0)
		goto out;

	t0 = bn_now_ns();
	r = cove_hist_open(&h, path, id);
	open_ms = (double)(bn_now_ns() - t0) / 1e6;
	if (r == COVE_OK)
		r = cove_hist_room(h, "bench", 5, &room);
	if (r == COVE_OK)
		r = cove_hist_count_since(h, room, 0, &n);
	if (r != COVE_OK || n != N)
		goto out;
	newest_us = page_us(h, room, 0);
	middle_us = page_us(h, room, ts0 + N / 2);
	if (newest_us < 0 || middle_us < 0)
		goto out;
	verify = bn_verify_rate(bn_dat_frame_len(o->size, "bench"), 1000);

	bn_json_begin(&j, "hist", "node");
	if (o->label)
		bn_json_str(&j, "label", o->label);
	bn_json_int(&j, "messages", (long long)N);
	bn_json_int(&j, "text_bytes", (long long)o->size);
	bn_json_num(&j, "adds_per_s", adds_s);
	bn_json_int(&j, "batch", BATCH);
	bn_json_num(&j, "page20_newest_us", newest_us);
	bn_json_num(&j, "page20_middle_us", middle_us);
	bn_json_int(&j, "file_bytes", (long long)st.st_size);
	bn_json_num(&j, "file_bytes_per_message", (double)st.st_size / (double)N);
	bn_json_num(&j, "open_ms", open_ms);
	bn_json_num(&j, "verify_per_s_one_core", verify);
	bn_json_num(&j, "adds_per_verify", adds_s / verify);
	bn_json_end(&j);
	ok = 0;
out:
	if (r != COVE_OK)
		bn_err("hist: %s", cove_strerror(r));
	else if (ok != 0)
		bn_err("hist: the file did not give back what was stored");
	cove_hist_close(h);
	cove_ident_free(id);
	free(text);
	remove_files(dir, path);
	return ok;
}
