/*
 * run.c - a scenario's surroundings: identities, the relay, the threads,
 * timed windows, groups of peers; and the machine's verify ceiling.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/run.h"
#include "cli/cli.h"
#include "common/err.h"
#include "proto/msg.h"

int bn_run_start(struct bn_run *r, const struct bn_opts *o, size_t nids)
{
	char *extra[48], conns[32];
	size_t n = 0, len = 0;

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->w.relay_pid = -1;
	if (o->mqtt) {
		/* the broker is already running: only the threads */
		r->thr = bn_thr_start(o->threads);
		return r->thr ? 0 : -1;
	}
	if (bn_world_init(&r->w, nids) != 0)
		return -1;
	/* The benchmarks measure the relay's speed, not its rate limit nor
	 * its slow-reader cap, and hold many connections; everything else is
	 * the relay's default unless the user's options say otherwise (they
	 * come last and win). The receivers share the relay's CPUs: when
	 * they fall behind a sender that writes flat out, the relay queues
	 * for them (as mosquitto, run without a queue limit, does) and the
	 * window stays open until they have caught up. With the default
	 * 16 MiB they were dropped instead, on some runs of fanout 10x10. */
	snprintf(conns, sizeof(conns), "%zu", nids + 64);
	extra[n++] = "--rate";
	extra[n++] = "1000000";
	extra[n++] = "--burst";
	extra[n++] = "1000000";
	extra[n++] = "--max-queue";
	extra[n++] = "1073741824";
	extra[n++] = "--max-conns";
	extra[n++] = conns;
	extra[n++] = "-q";
	/* sqlite: the relay's default, a file in its folder (the run's) */
	if (o->store == BN_STORE_NONE) {
		extra[n++] = "--store";
		extra[n++] = "none";
	}
	for (size_t i = 0; i < o->nrelay_opts && n < sizeof(extra) / sizeof(extra[0]) - 1; i++) {
		extra[n++] = o->relay_opts[i];
		len += (size_t)snprintf(r->relay_opts + len, sizeof(r->relay_opts) - len, "%s%s",
					len ? " " : "", o->relay_opts[i]);
		if (len >= sizeof(r->relay_opts))
			len = sizeof(r->relay_opts) - 1;
	}
	extra[n] = NULL;
	if (bn_relay_start(&r->w, o->relay_bin, extra) != 0)
		return -1;
	r->thr = bn_thr_start(o->threads);
	return r->thr ? 0 : -1;
}

void bn_run_end(struct bn_run *r)
{
	bn_thr_stop(r->thr);
	r->thr = NULL;
	bn_world_free(&r->w);
}

pid_t bn_run_server(const struct bn_run *r)
{
	return r->w.relay_pid > 0 ? r->w.relay_pid : r->o->server_pid;
}

void bn_run_window_open(struct bn_run *r)
{
	pid_t server = bn_run_server(r);

	r->cpu0_self = bn_cpu_self();
	r->cpu0_relay = server > 0 ? bn_cpu_of(server) : 0;
	r->t0 = bn_now_ns();
}

double bn_run_window_close_at(struct bn_run *r, struct bn_json *j, uint64_t t_end)
{
	pid_t server = bn_run_server(r);
	double wall = (double)(bn_now_ns() - r->t0) / 1e9;
	double secs = (double)(t_end - r->t0) / 1e9;
	double relay = server > 0 ? bn_cpu_of(server) - r->cpu0_relay : 0;

	/* CPU over the whole wait, the rate over the work */
	r->server_cpu = wall > 0 ? relay / wall : 0;
	r->bench_cpu = wall > 0 ? (bn_cpu_self() - r->cpu0_self) / wall : 0;
	if (j) {
		bn_json_num(j, "seconds", secs);
		bn_json_num(j, "server_cpu", r->server_cpu);
		bn_json_num(j, "bench_cpu", r->bench_cpu);
	}
	return secs;
}

double bn_run_window_close(struct bn_run *r, struct bn_json *j)
{
	return bn_run_window_close_at(r, j, bn_now_ns());
}

void bn_run_json_begin(struct bn_run *r, struct bn_json *j, const char *scenario)
{
	bn_json_begin(j, scenario, r->o->mqtt ? "mosquitto" : "cove");
	if (r->o->label)
		bn_json_str(j, "label", r->o->label);
	if (!r->o->mqtt) {
		bn_json_str(j, "relay_opts", r->relay_opts);
		bn_json_str(j, "store", r->o->store == BN_STORE_NONE ? "none" :
					r->o->store == BN_STORE_BOTH ? "both" : "sqlite");
	}
	bn_json_int(j, "bench_threads", (long long)r->o->threads);
}

/* ---- groups of peers ------------------------------------------------------------- */

int bn_peers_alloc(struct bn_peers *ps, struct bn_run *r, size_t n, size_t id_base)
{
	memset(ps, 0, sizeof(*ps));
	ps->r = r;
	ps->n = n;
	ps->id_base = id_base;
	ps->p = calloc(n ? n : 1, sizeof(*ps->p));
	return ps->p ? 0 : -1;
}

struct slice {
	struct bn_peers *ps;
	size_t from, to, t, nthr;
	void (*fn)(struct bn_peer *p, void *arg);
	void *arg;
	int failed;
	atomic_size_t *done;
};

static void open_slice(void *arg)
{
	struct slice *s = arg;
	struct bn_peers *ps = s->ps;
	struct bn_world *w = &ps->r->w;

	for (size_t i = s->from; i < s->to; i++) {
		struct bn_peer_conf conf;

		if (i % s->nthr != s->t)
			continue;
		memset(&conf, 0, sizeof(conf));
		conf.id = &w->ids[ps->id_base + i];
		conf.relay_pk = w->ids[0].pk;
		conf.host = w->host;
		conf.port = w->port;
		conf.counts = &ps->counts;
		conf.check_every = ps->check_every;
		conf.on_key = ps->on_key;
		if (ps->room) {
			conf.room = ps->room;
		} else if (ps->room_prefix) {
			/* the peer keeps the pointer: the name lives in the group */
			snprintf(ps->rooms[i], sizeof(ps->rooms[i]), "%s%zu", ps->room_prefix, i);
			conf.room = ps->rooms[i];
		}
		ps->p[i] = bn_peer_new(bn_thr_base(ps->r->thr, s->t), &conf);
		if (!ps->p[i] || bn_peer_connect(ps->p[i]) != 0)
			s->failed = 1;
	}
}

int bn_peers_open(struct bn_peers *ps, size_t from, size_t to)
{
	size_t nthr = bn_thr_count(ps->r->thr);
	int failed = 0;

	if (ps->room_prefix && !ps->rooms) {
		ps->rooms = calloc(ps->n ? ps->n : 1, sizeof(*ps->rooms));
		if (!ps->rooms)
			return -1;
	}
	for (size_t t = 0; t < nthr; t++) {
		struct slice s = { ps, from, to, t, nthr, NULL, NULL, 0, NULL };

		bn_thr_call_wait(ps->r->thr, t, open_slice, &s);
		failed |= s.failed;
	}
	if (failed)
		bn_err("could not open every peer");
	return failed ? -1 : 0;
}

static void each_slice(void *arg)
{
	struct slice *s = arg;

	for (size_t i = s->from; i < s->to; i++)
		if (i % s->nthr == s->t && s->ps->p[i])
			s->fn(s->ps->p[i], s->arg);
	atomic_fetch_add(s->done, 1);
}

void bn_peers_each(struct bn_peers *ps, size_t from, size_t to,
		   void (*fn)(struct bn_peer *p, void *arg), void *arg)
{
	size_t nthr = bn_thr_count(ps->r->thr), posted = 0;
	struct slice s[64];
	atomic_size_t done = 0;

	/* every thread at once, then wait for all of them (the slices live
	 * on this stack, so there is no giving up half way) */
	for (size_t t = 0; t < nthr && t < 64; t++) {
		s[t] = (struct slice){ ps, from, to, t, nthr, fn, arg, 0, &done };
		if (bn_thr_call(ps->r->thr, t, each_slice, &s[t]) == 0)
			posted++;
	}
	while (bn_wait_count(&done, posted, 60000) != 0)
		bn_err("still waiting for the bench's threads");
}

int bn_peers_open_waves(struct bn_peers *ps, size_t wave, const char *what)
{
	atomic_size_t *c = ps->room || ps->room_prefix ? &ps->counts.keyed : &ps->counts.authed;

	for (size_t k = 0; k < ps->n; k += wave) {
		size_t to = k + wave < ps->n ? k + wave : ps->n;

		if (bn_peers_open(ps, k, to) != 0 || bn_wait_count(c, to, 60000) != 0) {
			bn_err("%s: only %zu of %zu peers %s", what, atomic_load(c), ps->n,
			       c == &ps->counts.keyed ? "hold the key" : "authenticated");
			return -1;
		}
	}
	return 0;
}

struct prep {
	size_t n, size;
	atomic_size_t failed;
};

static void prepare_one(struct bn_peer *p, void *arg)
{
	struct prep *pr = arg;

	if (bn_peer_prepare(p, pr->n, pr->size) != 0)
		atomic_fetch_add(&pr->failed, 1);
}

int bn_peers_prepare(struct bn_peers *ps, size_t n, size_t size)
{
	struct prep pr = { n, size, 0 };

	bn_peers_each(ps, 0, ps->n, prepare_one, &pr);
	if (atomic_load(&pr.failed)) {
		bn_err("could not prepare %zu DATs for %zu peers", n, ps->n);
		return -1;
	}
	return 0;
}

static void send_one(struct bn_peer *p, void *arg)
{
	(void)arg;
	bn_peer_send(p);
}

void bn_peers_send(struct bn_peers *ps)
{
	bn_peers_each(ps, 0, ps->n, send_one, NULL);
}

static void close_one(struct bn_peer *p, void *arg)
{
	(void)arg;
	bn_peer_free(p);
}

void bn_peers_close(struct bn_peers *ps)
{
	if (!ps->p)
		return;
	if (ps->r && ps->r->thr)
		bn_peers_each(ps, 0, ps->n, close_one, NULL);
	free(ps->p);
	free(ps->rooms);
	ps->p = NULL;
	ps->rooms = NULL;
}

/* ---- sizes and the ceiling ------------------------------------------------------- */

size_t bn_dat_frame_len(size_t text_len, const char *room)
{
	static uint8_t ct[COVE_DAT_CT_MAX];
	struct cove_ident id;
	struct cove_payload pl;
	struct cove_frame f;
	uint8_t gk[COVE_GK_LEN] = { 0 };
	char *text = malloc(text_len);
	size_t len = 0;

	if (!text)
		return 0;
	memset(text, 'x', text_len);
	cove_ident_generate(&id);
	memset(&pl, 0, sizeof(pl));
	pl.kind = COVE_PL_TEXT;
	pl.text = text;
	pl.text_len = text_len;
	cove_msg_init(&f, COVE_F_DAT, room, strlen(room), id.pk, 1, 1);
	if (cove_msg_dat_seal(&f, ct, sizeof(ct), &pl, gk, &id) == COVE_OK)
		len = cove_frame_size(&f);
	sodium_memzero(&id, sizeof(id));
	free(text);
	return len;
}

double bn_verify_rate(size_t len, unsigned ms)
{
	uint8_t *msg = calloc(1, len ? len : 1), sig[crypto_sign_BYTES];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint64_t t0, t1, end, n = 0;

	if (!msg)
		return 0;
	randombytes_buf(msg, len);
	crypto_sign_keypair(pk, sk);
	crypto_sign_detached(sig, NULL, msg, len, sk);
	t0 = bn_now_ns();
	end = t0 + (uint64_t)ms * 1000000u;
	do {
		for (int i = 0; i < 100; i++)
			if (crypto_sign_verify_detached(sig, msg, len, pk) == 0)
				n++;
		t1 = bn_now_ns();
	} while (t1 < end);
	free(msg);
	sodium_memzero(sk, sizeof(sk));
	return (double)n / ((double)(t1 - t0) / 1e9);
}

double bn_sign_rate(size_t len, unsigned ms)
{
	uint8_t *msg = calloc(1, len ? len : 1), sig[crypto_sign_BYTES];
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint64_t t0, t1, end, n = 0;

	if (!msg)
		return 0;
	randombytes_buf(msg, len);
	crypto_sign_keypair(pk, sk);
	t0 = bn_now_ns();
	end = t0 + (uint64_t)ms * 1000000u;
	do {
		for (int i = 0; i < 100; i++) {
			msg[0] = (uint8_t)i; /* a new message each time, as a sender signs */
			if (crypto_sign_detached(sig, NULL, msg, len, sk) == 0)
				n++;
		}
		t1 = bn_now_ns();
	} while (t1 < end);
	free(msg);
	sodium_memzero(sk, sizeof(sk));
	return (double)n / ((double)(t1 - t0) / 1e9);
}

struct verify_arg {
	size_t len;
	unsigned ms;
	double rate;
};

static void *verify_thread(void *arg)
{
	struct verify_arg *a = arg;

	a->rate = bn_verify_rate(a->len, a->ms);
	return NULL;
}

double bn_verify_rate_all(size_t len, unsigned ms, unsigned nthreads)
{
	struct verify_arg args[64];
	pthread_t t[64];
	unsigned started = 0;
	double sum = 0;

	if (nthreads > 64)
		nthreads = 64;
	for (unsigned i = 0; i < nthreads; i++) {
		args[i] = (struct verify_arg){ len, ms, 0 };
		if (pthread_create(&t[i], NULL, verify_thread, &args[i]) != 0)
			break;
		started++;
	}
	for (unsigned i = 0; i < started; i++) {
		pthread_join(t[i], NULL);
		sum += args[i].rate;
	}
	return started == nthreads ? sum : 0;
}

unsigned bn_timeout_ms(double seconds)
{
	double ms = seconds * 1000;

	return ms < 5000 ? 5000 : ms > 600000 ? 600000 : (unsigned)ms;
}
