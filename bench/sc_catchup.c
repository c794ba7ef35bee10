/*
 * sc_catchup.c - members coming back to a room where -n messages (100,000)
 * were stored while they were away: how fast each shows them, against
 * the machine's one-core Ed25519 verify rate over frames of the same size
 * (a node verifies every message, on a worker thread while its loop shows
 * and keeps the ones before: issue 11 asks for 0.8 of that rate).
 *
 * A simulated peer makes the room (it is first, holds the key, hands it
 * over when asked). The members join one by one, each taking the key from
 * it, and quit (no BYE: away). The peer then sends the messages, signed
 * before, and the relay stores them (its default SQLite file, in the
 * run's temporary folder). Then the members come back one at a time, in
 * rounds, three kinds in turn (the order turning each round):
 *
 *   node    a real cove-node --json with its history file in the default
 *           place ($XDG_DATA_HOME, set to the run's folder), timed from
 *           its "connected" event to the line of its last message event
 *           as read from its standard output here (and to its "unread"
 *           event, which the end of the catch-up, UPD, brings)
 *   core    the node's chat core and link in this process (bench/node.c)
 *           with the node's history file (node/keep.c): cove-node without
 *           its JSON, its pipe and its process; timed from its connect
 *   memory  the same core with its state, keys and cursor in memory
 *           (bench/memkeep.c) and no message history: what the history
 *           costs. cove-node --history none cannot stand in for it: with
 *           nothing kept it comes back with no cursor and no key, so the
 *           relay sends it nothing from before (design note, section 6).
 *
 * Before and after each catch-up the verify rate is measured here for
 * half a second, while nothing else of the run works; each catch-up's
 * ratio is its rate over the mean of the two. After the last one the
 * relay is stopped and its store measured (stored.c).
 */
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/run.h"
#include "cli/cli.h"
#include "common/err.h"
#include "node/keep.h"
#include "node/net.h"

#define ROOM "catchup"
#define STALL_MS 30000u
#define VERIFY_MS 500u

enum kind { K_NODE, K_CORE, K_MEMORY, NKINDS };
static const char *const kind_name[NKINDS] = { "node", "core", "memory" };

struct member {
	struct bn_run *r;
	enum kind kind;
	size_t id;                    /* its identity in the world */
	size_t thread;                /* core and memory: the bench thread it runs on */
	char key_path[400];           /* node: its key file */
	char hist_path[400];          /* core: its history file */
	struct bn_memkeep *mk;        /* memory: its table, outliving its cores */
	const char *node_bin;
	char xdg[400];
	/* while here: touched only from its thread (core, memory) */
	struct nd_keep *keep;
	struct bn_node *node;
	struct bn_child child;        /* node */
	/* counted on its thread (or by the reader here, for node) */
	atomic_size_t ready, errors, shown, caught;
	uint64_t t_start;             /* node: when it was started */
	_Atomic uint64_t t_connect, t_last, t_caught;
	uint64_t caught_shown, caught_missed;
	int failed;
};

/* ---- core and memory: a node core in this process ------------------------------------ */

static void core_message(void *arg, const char *text, size_t len)
{
	struct member *m = arg;

	(void)text;
	(void)len;
	atomic_store_explicit(&m->t_last, bn_now_ns(), memory_order_relaxed);
	atomic_fetch_add_explicit(&m->shown, 1, memory_order_relaxed);
}

static void core_caught_up(void *arg, uint64_t shown, uint64_t missed)
{
	struct member *m = arg;

	m->caught_shown = shown;
	m->caught_missed = missed;
	atomic_store(&m->t_caught, bn_now_ns());
	atomic_fetch_add(&m->caught, 1);
}

static void core_open(void *arg)
{
	struct member *m = arg;
	struct bn_world *w = &m->r->w;
	struct event_base *base = bn_thr_base(m->r->thr, m->thread);
	struct bn_node_conf c = { 0 };
	int ret;

	if (m->kind == K_CORE) {
		ret = nd_keep_open(&m->keep, base, m->hist_path, &w->ids[m->id], NULL, NULL);
		if (ret == COVE_OK)
			ret = nd_keep_room(m->keep, ROOM);
		if (ret != COVE_OK) {
			bn_err("catchup: history file %s: %s", m->hist_path, cove_strerror(ret));
			m->failed = 1;
			return;
		}
		c.persist = nd_keep_persist(m->keep);
	} else {
		c.persist = bn_memkeep_persist(m->mk);
	}
	c.id = &w->ids[m->id];
	c.wl = w->wl;
	c.relay_pk = w->ids[0].pk;
	c.host = w->host;
	c.port = w->port;
	c.room = ROOM;
	c.ready = &m->ready;
	c.errors = &m->errors;
	c.on_message = core_message;
	c.on_caught_up = core_caught_up;
	c.arg = m;
	c.verify_threads = nd_net_verify_threads(); /* as cove-node */
	m->node = bn_node_new(base, &c);
	if (!m->node) {
		m->failed = 1;
		return;
	}
	atomic_store(&m->t_connect, bn_now_ns());
	if (bn_node_connect(m->node) != 0)
		m->failed = 1;
}

/* Quits as cove-node does (away), and commits and closes its file. */
static void core_close(void *arg)
{
	struct member *m = arg;

	if (m->node)
		bn_node_quit(m->node);
	bn_node_free(m->node);
	m->node = NULL;
	nd_keep_close(m->keep, cove_now_ms());
	m->keep = NULL;
}

/* ---- node: a real cove-node --json -------------------------------------------------- */

static int node_start(struct member *m)
{
	struct bn_world *w = &m->r->w;
	char server[128], pk[COVE_PK_B64_LEN + 1], env_xdg[420], err_path[420];
	char *argv[] = { (char *)m->node_bin, "-k", m->key_path, "-w", w->wl_path, "-s", server,
			 "-S", pk, "-r", ROOM, "--json", NULL };
	char *env[] = { env_xdg, NULL };

	snprintf(server, sizeof(server), "%s:%u", w->host, (unsigned)w->port);
	cove_pk_to_b64(pk, w->ids[0].pk);
	snprintf(env_xdg, sizeof(env_xdg), "XDG_DATA_HOME=%s", m->xdg);
	snprintf(err_path, sizeof(err_path), "%s/node%zu.log", w->dir, m->id);
	atomic_store(&m->t_connect, 0);
	m->t_start = bn_now_ns();
	return bn_child_start(&m->child, argv, env, err_path);
}

static int has(const char *line, size_t len, const char *what)
{
	return memmem(line, len, what, strlen(what)) != NULL;
}

/* One event line of cove-node --json. Stops the reading (1) once it has
 * said it is ready (want_ready), or, catching up, once every message is
 * shown and the catch-up is over. */
struct reading {
	struct member *m;
	size_t want;                  /* messages to show; 0: wait for ready */
};

static int node_line(void *arg, const char *line, size_t len, uint64_t t)
{
	struct reading *rd = arg;
	struct member *m = rd->m;

	if (has(line, len, "\"event\":\"connected\"")) {
		if (!atomic_load(&m->t_connect))
			atomic_store(&m->t_connect, t);
	} else if (has(line, len, "\"event\":\"ready\"")) {
		atomic_fetch_add(&m->ready, 1);
	} else if (has(line, len, "\"event\":\"message\"")) {
		if (!has(line, len, "\"history\":true")) {
			atomic_store(&m->t_last, t);
			atomic_fetch_add(&m->shown, 1);
		}
	} else if (has(line, len, "\"event\":\"unread\"")) {
		/* also said at start (new since last seen): the catch-up's
		 * comes after its messages */
		if (rd->want && atomic_load(&m->shown) >= rd->want) {
			const char *c = memmem(line, len, "\"count\":", 8);

			m->caught_shown = c ? strtoull(c + 8, NULL, 10) : 0;
			atomic_store(&m->t_caught, t);
			atomic_fetch_add(&m->caught, 1);
		}
	} else if (has(line, len, "\"event\":\"missed\"")) {
		const char *c = memmem(line, len, "\"count\":", 8);

		m->caught_missed = c ? strtoull(c + 8, NULL, 10) : 0;
	} else if (has(line, len, "\"event\":\"error\"")) {
		atomic_fetch_add(&m->errors, 1);
		bn_err("node n%zu: %.*s", m->id, (int)len, line);
	}
	if (!rd->want)
		return atomic_load(&m->ready) > 0;
	return atomic_load(&m->caught) > 0;
}

/* Reads the node's events until node_line stops, its output ends, or
 * nothing has come for STALL_MS. Returns 0 or -1. */
static int node_follow(struct member *m, size_t want)
{
	struct reading rd = { m, want };
	uint64_t last_change = bn_now_ns();
	size_t seen = 0;

	for (;;) {
		int ret = bn_child_read(&m->child, 1000, node_line, &rd);
		size_t now_seen = atomic_load(&m->shown) + atomic_load(&m->ready);

		if (ret > 0)
			return 0;
		if (ret < 0) {
			bn_err("catchup: node n%zu's output ended (its log: %s/node%zu.log)", m->id,
			       m->r->w.dir, m->id);
			return -1;
		}
		if (now_seen != seen) {
			seen = now_seen;
			last_change = bn_now_ns();
		} else if (bn_now_ns() - last_change > STALL_MS * 1000000ull) {
			bn_err("catchup: node n%zu stalled: %zu of %zu messages shown", m->id,
			       atomic_load(&m->shown), want);
			return -1;
		}
	}
}

static int node_quit(struct member *m)
{
	int status;

	bn_child_say(&m->child, "{\"cmd\":\"quit\"}");
	status = bn_child_end(&m->child, 10000);
	if (status != 0)
		bn_err("catchup: node n%zu exited with %d", m->id, status);
	return status == 0 ? 0 : -1;
}

/* ---- both ------------------------------------------------------------------------- */

static void reset(struct member *m)
{
	atomic_store(&m->ready, 0);
	atomic_store(&m->errors, 0);
	atomic_store(&m->shown, 0);
	atomic_store(&m->caught, 0);
	atomic_store(&m->t_last, 0);
	atomic_store(&m->t_caught, 0);
	m->caught_shown = m->caught_missed = 0;
	m->failed = 0;
}

/* Joins the room for the first time, takes the key, and quits. */
static int join_and_quit(struct member *m)
{
	int ok = 0;

	reset(m);
	if (m->kind == K_NODE) {
		if (node_start(m) != 0)
			return -1;
		ok = node_follow(m, 0);
		return node_quit(m) == 0 ? ok : -1;
	}
	bn_thr_call_wait(m->r->thr, m->thread, core_open, m);
	if (m->failed || bn_wait_count(&m->ready, 1, 30000) != 0) {
		bn_err("catchup: member n%zu (%s) did not take the room's key", m->id,
		       kind_name[m->kind]);
		ok = -1;
	}
	bn_thr_call_wait(m->r->thr, m->thread, core_close, m);
	return ok;
}

/* One catch-up's numbers. */
struct back {
	double rate;                  /* messages shown a second, from its reconnect */
	double start_ms;              /* node: from its start to its reconnect */
	double to_upd_s;              /* seconds from its reconnect to the end (UPD) */
	double verify;                /* the verify rate, before and after */
	double relay_cpu, member_cpu; /* in cores, over the catch-up */
};

static size_t shown_of(void *arg)
{
	return atomic_load(&((struct member *)arg)->shown);
}

/* Comes back and shows the n messages stored while it was away. */
static int come_back(struct member *m, size_t n, size_t frame_len, struct back *b)
{
	pid_t relay = m->r->w.relay_pid;
	double v0, v1, cpu0_relay, cpu0_self, cpu_member = 0;
	uint64_t t0, t_end;
	int ok = 0;

	reset(m);
	v0 = bn_verify_rate(frame_len, VERIFY_MS);
	cpu0_relay = bn_cpu_of(relay);
	cpu0_self = bn_cpu_self();
	t0 = bn_now_ns();
	if (m->kind == K_NODE) {
		if (node_start(m) != 0)
			return -1;
		ok = node_follow(m, n);
		/* its CPU, start-up and all, before it quits */
		cpu_member = bn_cpu_of(m->child.pid);
	} else {
		bn_thr_call_wait(m->r->thr, m->thread, core_open, m);
		if (m->failed ||
		    bn_wait_progress_fn(shown_of, m, n, STALL_MS, 600000, 10) != 0 ||
		    bn_wait_count(&m->caught, 1, STALL_MS) != 0)
			ok = -1;
		cpu_member = bn_cpu_self() - cpu0_self;
	}
	t_end = bn_now_ns();
	b->relay_cpu = (bn_cpu_of(relay) - cpu0_relay) / ((double)(t_end - t0) / 1e9);
	b->member_cpu = cpu_member / ((double)(t_end - t0) / 1e9);
	if (m->kind == K_NODE) {
		if (node_quit(m) != 0)
			ok = -1;
	} else {
		bn_thr_call_wait(m->r->thr, m->thread, core_close, m);
	}
	v1 = bn_verify_rate(frame_len, VERIFY_MS);
	b->verify = (v0 + v1) / 2;
	if (atomic_load(&m->t_connect) && atomic_load(&m->t_last) > atomic_load(&m->t_connect))
		b->rate = (double)n / ((double)(atomic_load(&m->t_last) -
						atomic_load(&m->t_connect)) / 1e9);
	if (m->kind == K_NODE && atomic_load(&m->t_connect) > m->t_start)
		b->start_ms = (double)(atomic_load(&m->t_connect) - m->t_start) / 1e6;
	if (atomic_load(&m->t_caught) > atomic_load(&m->t_connect))
		b->to_upd_s = (double)(atomic_load(&m->t_caught) - atomic_load(&m->t_connect)) / 1e9;
	if (atomic_load(&m->shown) != n || m->caught_shown != n || m->caught_missed ||
	    atomic_load(&m->errors)) {
		bn_err("catchup: member n%zu (%s) showed %zu of %zu messages; its catch-up said "
		       "%llu shown, %llu missed; %zu errors", m->id, kind_name[m->kind],
		       atomic_load(&m->shown), n, (unsigned long long)m->caught_shown,
		       (unsigned long long)m->caught_missed, atomic_load(&m->errors));
		ok = -1;
	}
	bn_say("catchup: %s n%zu: %zu shown, %.0f a second, %.3f x the verify rate (%.0f); "
	       "relay %.2f, member %.2f cores", kind_name[m->kind], m->id, atomic_load(&m->shown),
	       b->rate, b->verify > 0 ? b->rate / b->verify : 0, b->verify, b->relay_cpu,
	       b->member_cpu);
	return ok;
}

/* ---- the results ------------------------------------------------------------------- */

struct per_kind {
	double rate[BN_AB_MAX], ratio[BN_AB_MAX], upd[BN_AB_MAX], relay[BN_AB_MAX],
		member[BN_AB_MAX], start[BN_AB_MAX];
	size_t n;
};

static void kind_json(struct bn_json *j, const char *kind, struct per_kind *k)
{
	char key[64];

	snprintf(key, sizeof(key), "shown_per_s_%s", kind);
	bn_json_num(j, key, bn_median(k->rate, k->n));
	snprintf(key, sizeof(key), "ratio_%s", kind);
	bn_json_num(j, key, bn_median(k->ratio, k->n));
	snprintf(key, sizeof(key), "ratio_%s_min", kind);
	bn_json_num(j, key, k->n ? k->ratio[0] : 0);
	snprintf(key, sizeof(key), "ratio_%s_max", kind);
	bn_json_num(j, key, k->n ? k->ratio[k->n - 1] : 0);
	snprintf(key, sizeof(key), "to_upd_s_%s", kind);
	bn_json_num(j, key, bn_median(k->upd, k->n));
	snprintf(key, sizeof(key), "relay_cpu_%s", kind);
	bn_json_num(j, key, bn_median(k->relay, k->n));
	snprintf(key, sizeof(key), "member_cpu_%s", kind);
	bn_json_num(j, key, bn_median(k->member, k->n));
	if (strcmp(kind, "node") == 0)
		bn_json_num(j, "start_to_connected_ms_node", bn_median(k->start, k->n));
}

static void remove_member_files(struct member *m)
{
	char path[600];

	if (m->kind == K_NODE) {
		unlink(m->key_path);
		snprintf(path, sizeof(path), "%s/node%zu.log", m->r->w.dir, m->id);
		unlink(path);
	}
	if (m->kind == K_CORE) {
		unlink(m->hist_path);
		snprintf(path, sizeof(path), "%s-wal", m->hist_path);
		unlink(path);
		snprintf(path, sizeof(path), "%s-shm", m->hist_path);
		unlink(path);
	}
}

/* Removes what the nodes made under $XDG_DATA_HOME (the run's xdg/):
 * cove/ and the history files in it. */
static void remove_xdg(const char *xdg)
{
	char path[PATH_MAX];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "%s/cove", xdg);
	d = opendir(path);
	while (d && (e = readdir(d)) != NULL) {
		char f[PATH_MAX + 300];

		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
		unlink(f);
	}
	if (d)
		closedir(d);
	rmdir(path);
	rmdir(xdg);
}

int bn_sc_catchup(const struct bn_opts *o)
{
	size_t n = o->messages ? o->messages : 100000, rounds = o->rounds ? o->rounds : 2;
	size_t M = rounds * NKINDS, frame_len = 0;
	struct member *ms = NULL;
	struct per_kind kinds[NKINDS];
	struct bn_peers tx = { 0 };
	struct bn_stored stored;
	struct bn_json j;
	struct bn_run r;
	char node_bin[PATH_MAX], dir[PATH_MAX], xdg[400] = "", store[400];
	double fill_secs, fill_cpu, verify_all[3 * BN_AB_MAX], hist_cost[BN_AB_MAX], json_cost[BN_AB_MAX];
	size_t nverify = 0, nhist = 0, njson = 0;
	int ok = -1, have_stored = 0;

	memset(kinds, 0, sizeof(kinds));
	snprintf(dir, sizeof(dir), "%s", o->relay_bin);
	snprintf(node_bin, sizeof(node_bin), "%s/cove-node", dirname(dir));
	if (access(node_bin, X_OK) != 0) {
		bn_err("catchup: no cove-node beside the relay (%s)", node_bin);
		return -1;
	}
	if (o->store == BN_STORE_NONE)
		bn_say("catchup: --store none: the relay keeps the frames in memory");
	if (bn_run_start(&r, o, M + 1) != 0)
		goto out;
	snprintf(xdg, sizeof(xdg), "%s/xdg", r.w.dir);
	ms = calloc(M, sizeof(*ms));
	if (!ms || bn_peers_alloc(&tx, &r, 1, M + 1) != 0)
		goto out;
	/* the sender makes the room and holds its key */
	tx.room = ROOM;
	if (bn_peers_open_waves(&tx, 1, "catchup sender") != 0)
		goto out;
	for (size_t i = 0; i < M; i++) {
		struct member *m = &ms[i];

		m->r = &r;
		m->kind = (enum kind)(i % NKINDS);
		m->id = i + 1;
		m->thread = bn_thr_count(r.thr) > 1 ? 1 : 0;
		m->node_bin = node_bin;
		snprintf(m->xdg, sizeof(m->xdg), "%s", xdg);
		snprintf(m->key_path, sizeof(m->key_path), "%s/n%zu.key", r.w.dir, m->id);
		snprintf(m->hist_path, sizeof(m->hist_path), "%s/n%zu.db", r.w.dir, m->id);
		if ((m->kind == K_NODE && bn_world_keyfile(&r.w, m->id, m->key_path) != 0) ||
		    (m->kind == K_MEMORY && !(m->mk = bn_memkeep_new())))
			goto out;
		if (join_and_quit(m) != 0)
			goto out;
		/* away, as the relay sees it, before the next one comes */
		if (bn_wait_count(&tx.counts.away, i + 1, 10000) != 0) {
			bn_err("catchup: the relay did not say member n%zu went away", m->id);
			goto out;
		}
	}
	bn_say("catchup: %zu members away; the sender signs %zu messages", M, n);
	if (bn_peers_prepare(&tx, n, o->size) != 0)
		goto out;
	frame_len = bn_peer_frame_len(tx.p[0]);
	bn_run_window_open(&r);
	bn_peers_send(&tx);
	if (bn_wait_progress(&tx.counts.pongs, 1, STALL_MS, 600000) != 0 ||
	    atomic_load(&tx.counts.errs)) {
		bn_err("catchup: the relay did not take every message (%zu refused)",
		       atomic_load(&tx.counts.errs));
		goto out;
	}
	fill_secs = bn_run_window_close(&r, NULL);
	fill_cpu = r.server_cpu;

	ok = 0;
	for (size_t round = 0; round < rounds; round++) {
		struct back b[NKINDS];

		memset(b, 0, sizeof(b));
		for (size_t k = 0; k < NKINDS; k++) {
			/* the order turns each round: none is always first */
			enum kind kind = (enum kind)((k + round) % NKINDS);
			struct member *m = &ms[round * NKINDS + kind];
			struct per_kind *pk = &kinds[kind];

			if (come_back(m, n, frame_len, &b[kind]) != 0)
				ok = -1;
			pk->rate[pk->n] = b[kind].rate;
			pk->ratio[pk->n] = b[kind].verify > 0 ? b[kind].rate / b[kind].verify : 0;
			pk->upd[pk->n] = b[kind].to_upd_s;
			pk->relay[pk->n] = b[kind].relay_cpu;
			pk->member[pk->n] = b[kind].member_cpu;
			pk->start[pk->n] = b[kind].start_ms;
			pk->n++;
			verify_all[nverify++] = b[kind].verify;
		}
		/* within the round: what the history costs the core, and what
		 * the JSON, the pipe and the process cost on top */
		if (b[K_MEMORY].rate > 0)
			hist_cost[nhist++] = b[K_CORE].rate / b[K_MEMORY].rate;
		if (b[K_CORE].rate > 0)
			json_cost[njson++] = b[K_NODE].rate / b[K_CORE].rate;
	}
	bn_peers_close(&tx);
	if (o->store != BN_STORE_NONE) {
		bn_relay_stop(&r.w);
		bn_world_store_path(&r.w, store, sizeof(store));
		have_stored = bn_stored_measure(store, &stored) == 0;
		if (!have_stored)
			ok = -1;
	}

	bn_run_json_begin(&r, &j, "catchup");
	bn_json_int(&j, "messages", (long long)n);
	bn_json_int(&j, "frame_bytes", (long long)frame_len);
	bn_json_int(&j, "rounds", (long long)rounds);
	bn_json_num(&j, "fill_per_s", fill_secs > 0 ? (double)n / fill_secs : 0);
	bn_json_num(&j, "fill_server_cpu", fill_cpu);
	bn_json_num(&j, "verify_per_s_one_core", bn_median(verify_all, nverify));
	for (size_t k = 0; k < NKINDS; k++)
		kind_json(&j, kind_name[k], &kinds[k]);
	bn_json_num(&j, "core_over_memory", bn_median(hist_cost, nhist));
	bn_json_num(&j, "node_over_core", bn_median(json_cost, njson));
	if (have_stored)
		bn_stored_json(&j, &stored);
	/* the result: the real cove-node's rate over the verify rate */
	bn_json_num(&j, "ratio_to_one_core", bn_median(kinds[K_NODE].ratio, kinds[K_NODE].n));
	bn_json_end(&j);
out:
	if (ok != 0 && r.w.dir[0])
		bn_err("catchup: the relay's log is %s", r.w.log_path);
	bn_peers_close(&tx);
	for (size_t i = 0; ms && i < M; i++) {
		if (ms[i].child.pid > 0)
			bn_child_end(&ms[i].child, 5000);
		if (ms[i].node || ms[i].keep)
			bn_thr_call_wait(r.thr, ms[i].thread, core_close, &ms[i]);
		bn_memkeep_free(ms[i].mk);
		if (ms[i].r && !getenv("COVE_BENCH_KEEP"))
			remove_member_files(&ms[i]);
	}
	if (xdg[0] && !getenv("COVE_BENCH_KEEP"))
		remove_xdg(xdg);
	free(ms);
	bn_run_end(&r);
	return ok;
}
