/*
 * sc_fanout.c - one room, P senders and S receivers: deliveries a second
 * (DATs that reached a receiver) and publishes a second.
 *
 * Against Cove the senders are members of the room and sign their DATs
 * before the window; they also receive each other's DATs, which the relay
 * pays for and which are not counted as deliveries. Against an MQTT
 * broker (--mqtt) the same numbers of publishers and subscribers share a
 * topic, QoS 0, and each PUBLISH carries as many payload bytes as Cove's
 * DAT frame of the same text, so both move the same bytes.
 *
 * Deliveries a second run from the window's start to the last delivery.
 * --store both runs Cove's side with the relay's SQLite store and with
 * none, in alternating rounds, and gives the ratio within each round.
 * A broker may drop QoS 0 messages it cannot queue: what never arrived is
 * reported as lost (the wait ends when deliveries stop for 3 s).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/run.h"

#define STALL_MS 3000
#define PUB_HIGH (256u << 10)
#define PUB_LOW (64u << 10)

static void report(struct bn_run *r, struct bn_json *j, size_t P, size_t S, size_t n,
		   size_t frame_len, size_t got, uint64_t t_last)
{
	size_t expected = P * n * S;
	double secs = bn_run_window_close_at(r, j, t_last > r->t0 ? t_last : bn_now_ns());

	bn_json_int(j, "senders", (long long)P);
	bn_json_int(j, "receivers", (long long)S);
	bn_json_int(j, "message_bytes", (long long)frame_len);
	bn_json_int(j, "messages", (long long)(P * n));
	bn_json_int(j, "deliveries", (long long)got);
	bn_json_int(j, "lost", (long long)(expected > got ? expected - got : 0));
	r->deliveries_per_s = secs > 0 ? (double)got / secs : 0;
	bn_json_num(j, "deliveries_per_s", r->deliveries_per_s);
	bn_json_num(j, "publishes_per_s", secs > 0 ? (double)(P * n) / secs : 0);
}

/* Enough messages for a few seconds of work, at least a thousand
 * deliveries per receiver. */
static size_t default_messages(size_t P, size_t S)
{
	size_t per_s = 400000 / (S ? S : 1); /* publishes a second we expect, roughly */
	size_t n = per_s * 3 / P;

	if (n * S < 1000)
		n = 1000 / (S ? S : 1) + 1;
	if (n > 100000)
		n = 100000;
	return n ? n : 1;
}

static size_t count_dats(void *arg)
{
	return atomic_load((atomic_size_t *)arg);
}

struct fanout_res {
	double rate, server_cpu;
	int windowed;
	char relay_opts[512];
};

/* One run on a relay of its own with o's store; j (may be NULL) gets
 * the results. Returns 0 when every message reached every receiver. */
static int fanout_cove_once(const struct bn_opts *o, size_t P, size_t S, size_t n,
			    struct bn_json *j, struct fanout_res *res)
{
	struct bn_peers tx = { 0 }, rx = { 0 };
	struct bn_json scratch;
	struct bn_run r;
	size_t got, expected = P * n * S;
	int ok = -1, stalled;

	memset(res, 0, sizeof(*res));
	if (!j)
		j = &scratch;
	if (bn_run_start(&r, o, P + S) != 0 || bn_peers_alloc(&rx, &r, S, 1 + P) != 0 ||
	    bn_peers_alloc(&tx, &r, P, 1) != 0)
		goto out;
	rx.room = tx.room = "fanout";
	/* receivers check a sample of what they get (all of it with --check) */
	rx.check_every = o->check ? 1 : 997;
	if (bn_peers_open_waves(&rx, 500, "fanout receivers") != 0 ||
	    bn_peers_open_waves(&tx, 500, "fanout senders") != 0 ||
	    bn_peers_prepare(&tx, n, o->size) != 0)
		goto out;
	bn_run_json_begin(&r, j, "fanout");
	bn_run_window_open(&r);
	res->windowed = 1;
	bn_peers_send(&tx);
	stalled = bn_wait_progress_fn(count_dats, &rx.counts.dats, expected, STALL_MS, 600000, 10);
	got = atomic_load(&rx.counts.dats);
	report(&r, j, P, S, n, bn_peer_frame_len(tx.p[0]), got,
	       atomic_load(&rx.counts.last_dat_ns));
	/* senders hear each other too; not part of the rate, but reported
	 * whole: wait for them as well before reading their count */
	if (!stalled && P > 1)
		(void)bn_wait_progress_fn(count_dats, &tx.counts.dats, P * n * (P - 1), STALL_MS,
					  60000, 10);
	bn_json_int(j, "checked", (long long)atomic_load(&rx.counts.dats_checked));
	bn_json_int(j, "bad", (long long)atomic_load(&rx.counts.bad));
	bn_json_int(j, "sender_deliveries", (long long)atomic_load(&tx.counts.dats));
	res->rate = r.deliveries_per_s;
	res->server_cpu = r.server_cpu;
	memcpy(res->relay_opts, r.relay_opts, sizeof(res->relay_opts));
	ok = 0;
	if (stalled || got != expected || atomic_load(&rx.counts.bad) ||
	    atomic_load(&tx.counts.errs) || atomic_load(&rx.counts.down) ||
	    atomic_load(&tx.counts.down)) {
		bn_err("fanout: %zu of %zu deliveries, %zu bad, %zu refused, %zu links lost", got,
		       expected, atomic_load(&rx.counts.bad), atomic_load(&tx.counts.errs),
		       atomic_load(&rx.counts.down) + atomic_load(&tx.counts.down));
		ok = -1;
	}
out:
	bn_peers_close(&tx);
	bn_peers_close(&rx);
	bn_run_end(&r);
	return ok;
}

static int fanout_cove(const struct bn_opts *o, size_t P, size_t S, size_t n)
{
	struct fanout_res res;
	struct bn_json j;
	int ok = fanout_cove_once(o, P, S, n, &j, &res);

	if (res.windowed)
		bn_json_end(&j);
	return ok;
}

struct fanout_ab {
	size_t P, S, n;
	struct fanout_res a;          /* side a's last run: its relay's options are shown */
};

static int fanout_ab_run(void *arg, const struct bn_opts *o, int b, double *rate, double *cpu)
{
	struct fanout_ab *ab = arg;
	struct fanout_res res;
	int ok = fanout_cove_once(o, ab->P, ab->S, ab->n, NULL, &res);

	*rate = res.rate;
	*cpu = res.server_cpu;
	if (!b)
		ab->a = res;
	return ok;
}

/* --store both: the relay's SQLite store and none, in alternating rounds. */
static int fanout_ab(const struct bn_opts *o, size_t P, size_t S, size_t n)
{
	struct fanout_ab ab = { .P = P, .S = S, .n = n };
	struct fanout_res *a = &ab.a;
	struct bn_ab rate = { 0 }, cpu = { 0 };
	struct bn_run shown;
	struct bn_json j;
	int ok = bn_ab_store_rounds(o, fanout_ab_run, &ab, &rate, &cpu, "fanout", "deliveries/s");

	memset(&shown, 0, sizeof(shown));
	shown.o = o;
	memcpy(shown.relay_opts, a->relay_opts, sizeof(shown.relay_opts));
	bn_run_json_begin(&shown, &j, "fanout");
	bn_json_int(&j, "senders", (long long)P);
	bn_json_int(&j, "receivers", (long long)S);
	bn_json_int(&j, "messages", (long long)(P * n));
	bn_json_int(&j, "rounds", (long long)rate.n);
	bn_ab_json(&cpu, &j, "server_cpu", "sqlite", "none");
	bn_ab_json(&rate, &j, "deliveries_per_s", "sqlite", "none");
	bn_json_end(&j);
	return ok;
}

/* ---- the same against an MQTT broker ------------------------------------------------- */

struct mq {
	struct bn_mqtt **c;
	size_t n;
	atomic_size_t ready, down, done;
	struct bn_slot *got;          /* subscriber i's deliveries, on its thread */
	/* publishers */
	size_t per_pub;
	size_t *sent;
	uint8_t *payload;
	size_t len;
	const char *topic;
};

struct mq_ref {
	struct mq *q;
	size_t i;
};

static void mq_received(void *arg, const uint8_t *payload, size_t len, uint64_t t_arrival)
{
	(void)payload;
	(void)len;
	bn_slot_add(arg, t_arrival);
}

static size_t mq_count(void *arg)
{
	const struct mq *q = arg;
	size_t n = 0;

	for (size_t i = 0; i < q->n; i++)
		n += atomic_load_explicit(&q->got[i].n, memory_order_relaxed);
	return n;
}

static uint64_t mq_last(const struct mq *q)
{
	uint64_t last = 0;

	for (size_t i = 0; i < q->n; i++) {
		uint64_t t = atomic_load_explicit(&q->got[i].last_ns, memory_order_relaxed);

		if (t > last)
			last = t;
	}
	return last;
}

static void mq_pump(void *arg)
{
	struct mq_ref *ref = arg;
	struct mq *q = ref->q;
	struct bn_mqtt *m = q->c[ref->i];

	while (q->sent[ref->i] < q->per_pub && bn_mqtt_unsent(m) < PUB_HIGH) {
		if (bn_mqtt_publish(m, q->topic, q->payload, q->len) != 0)
			return;
		q->sent[ref->i]++;
	}
	if (q->sent[ref->i] < q->per_pub)
		bn_mqtt_on_drain(m, PUB_LOW, mq_pump, ref);
	else
		atomic_fetch_add(&q->done, 1);
}

struct mq_open {
	struct bn_run *r;
	struct mq *q;
	const char *prefix;
	int sub;
	size_t t;
};

static void mq_open_slice(void *arg)
{
	struct mq_open *a = arg;
	size_t nthr = bn_thr_count(a->r->thr);

	for (size_t i = a->t; i < a->q->n; i += nthr) {
		struct bn_mqtt_conf conf = { 0 };
		char id[64];

		snprintf(id, sizeof(id), "cove-bench-%s-%zu-%d", a->prefix, i, (int)getpid());
		conf.host = a->r->o->mqtt_host;
		conf.port = a->r->o->mqtt_port;
		conf.client_id = id; /* copied into the CONNECT at once */
		conf.topic = a->q->topic;
		conf.sub = a->sub;
		conf.ready = &a->q->ready;
		conf.down = &a->q->down;
		conf.on_publish = mq_received;
		conf.arg = a->sub ? (void *)&a->q->got[i] : NULL;
		a->q->c[i] = bn_mqtt_new(bn_thr_base(a->r->thr, a->t), &conf);
		if (a->q->c[i])
			bn_mqtt_connect(a->q->c[i]);
	}
}

static void mq_close_slice(void *arg)
{
	struct mq_open *a = arg;
	size_t nthr = bn_thr_count(a->r->thr);

	for (size_t i = a->t; i < a->q->n; i += nthr)
		bn_mqtt_free(a->q->c[i]);
}

static void mq_each(struct bn_run *r, struct mq *q, const char *prefix, int sub,
		    void (*fn)(void *))
{
	for (size_t t = 0; t < bn_thr_count(r->thr); t++) {
		struct mq_open a = { r, q, prefix, sub, t };

		bn_thr_call_wait(r->thr, t, fn, &a);
	}
}

static int fanout_mqtt(const struct bn_opts *o, size_t P, size_t S, size_t n)
{
	struct mq pub = { 0 }, sub = { 0 };
	struct mq_ref *refs = NULL;
	size_t len = bn_dat_frame_len(o->size, "fanout"), expected = P * n * S, got;
	struct bn_json j;
	struct bn_run r;
	int ok = -1, stalled;

	if (bn_run_start(&r, o, 0) != 0)
		goto out;
	sub.topic = pub.topic = "cove-bench/fanout";
	sub.n = S;
	pub.n = P;
	pub.per_pub = n;
	pub.len = len;
	sub.c = calloc(S, sizeof(*sub.c));
	sub.got = aligned_alloc(64, S * sizeof(*sub.got));
	pub.c = calloc(P, sizeof(*pub.c));
	pub.sent = calloc(P, sizeof(*pub.sent));
	pub.payload = malloc(len);
	refs = calloc(P, sizeof(*refs));
	if (!sub.c || !sub.got || !pub.c || !pub.sent || !pub.payload || !refs)
		goto out;
	memset(sub.got, 0, S * sizeof(*sub.got));
	memset(pub.payload, 'x', len);
	mq_each(&r, &sub, "sub", 1, mq_open_slice);
	mq_each(&r, &pub, "pub", 0, mq_open_slice);
	if (bn_wait_count(&sub.ready, S, 20000) != 0 || bn_wait_count(&pub.ready, P, 20000) != 0) {
		bn_err("fanout: the broker did not take every client (%zu of %zu subscribers, "
		       "%zu of %zu publishers)", atomic_load(&sub.ready), S,
		       atomic_load(&pub.ready), P);
		goto out;
	}
	bn_run_json_begin(&r, &j, "fanout");
	bn_run_window_open(&r);
	for (size_t i = 0; i < P; i++) {
		refs[i] = (struct mq_ref){ &pub, i };
		bn_thr_call(r.thr, i, mq_pump, &refs[i]);
	}
	stalled = bn_wait_progress_fn(mq_count, &sub, expected, STALL_MS, 600000, 10);
	/* the publishers' calls must be over before refs go */
	bn_wait_count(&pub.done, P, 60000);
	got = mq_count(&sub);
	report(&r, &j, P, S, n, len, got, mq_last(&sub));
	bn_json_end(&j);
	ok = 0;
	if (stalled || atomic_load(&sub.down) || atomic_load(&pub.down)) {
		bn_err("fanout: %zu of %zu deliveries (QoS 0: the broker may drop), %zu links "
		       "lost", got, expected, atomic_load(&sub.down) + atomic_load(&pub.down));
		ok = o->check ? -1 : 0;
	}
out:
	if (r.thr) {
		if (pub.c)
			mq_each(&r, &pub, "pub", 0, mq_close_slice);
		if (sub.c)
			mq_each(&r, &sub, "sub", 1, mq_close_slice);
	}
	free(refs);
	free(pub.c);
	free(sub.c);
	free(sub.got);
	free(pub.sent);
	free(pub.payload);
	bn_run_end(&r);
	return ok;
}

int bn_sc_fanout(const struct bn_opts *o)
{
	size_t P = o->senders ? o->senders : 1, S = o->receivers ? o->receivers : 10;
	size_t n = o->messages ? o->messages : default_messages(P, S);

	if (o->mqtt)
		return fanout_mqtt(o, P, S, n);
	return o->store == BN_STORE_BOTH ? fanout_ab(o, P, S, n) : fanout_cove(o, P, S, n);
}
