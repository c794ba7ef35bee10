/*
 * sc_latency.c - one sender at a fixed rate to a room of receivers: the
 * time from the sender's send call to the plaintext at each receiver.
 *
 * Against Cove every node is a real node core (bench/node.c): the sender's
 * send call pads, encrypts and signs; each receiver verifies, decrypts and
 * checks numbers before the message reaches the bench, as in cove-node.
 * Against an MQTT broker the same rate and payload size go through QoS 0.
 * The first WARMUP messages are left out (connections and caches settle).
 *
 * The harness keeps out of the way of what it measures: by default every
 * receiver has a thread of its own and the sender thread 0 (with -t, the
 * sender still has thread 0 alone when there are two or more and the
 * receivers share the others), so that no receiver waits for another's
 * checks while a CPU is free: with ten Cove receivers on one thread the
 * median waited for five checks; a receiver's path takes no lock and allocates nothing (its
 * samples and its record of what it has seen are sized before the
 * window; its count is a slot of its own); an MQTT receiver's clock is
 * read where the bytes arrive (bench/mqtt.c), an MQTT sender writes its
 * PUBLISH at once; the main thread looks at the counts every 10 ms only.
 *
 * Beside the times, the JSON line gives what one Ed25519 signature and
 * one check of a frame of this size cost on one core, measured just
 * before the window: the floor of a Cove message's path is the broker's
 * path plus the checks Cove must make on it (bench/report.py).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/run.h"

#define WARMUP 50

struct lat_run {
	struct bn_run *r;
	size_t members, total;
	size_t size;
	_Atomic uint64_t *t_send;     /* per message index */
	atomic_size_t ready, errors, down, sent;
	struct event *timer;
	uint64_t start_ns;
	unsigned rate;
	char *text;                   /* the sender's message buffer */
	struct bn_node *tx_node;
	struct bn_mqtt *tx_mqtt;
};

struct receiver {
	struct bn_slot got;           /* first: its own cache line */
	struct lat_run *lr;
	struct bn_lat lat;
	uint8_t *seen;                /* per message index */
	size_t dups;
	struct bn_node *node;
	struct bn_mqtt *mqtt;
	size_t t;
};

static void got(struct receiver *rc, size_t i, uint64_t now)
{
	struct lat_run *lr = rc->lr;
	uint64_t sent;

	if (i >= lr->total)
		return;
	if (rc->seen[i]++) {
		rc->dups++;
		return;
	}
	sent = atomic_load_explicit(&lr->t_send[i], memory_order_acquire);
	if (i >= WARMUP && sent && now >= sent)
		bn_lat_add(&rc->lat, now - sent); /* reserved: no allocation */
	bn_slot_add(&rc->got, now);
}

struct rx_all {
	struct receiver *rc;
	size_t n;
};

static size_t count_received(void *arg)
{
	const struct rx_all *a = arg;
	size_t n = 0;

	for (size_t i = 0; i < a->n; i++)
		n += atomic_load_explicit(&a->rc[i].got.n, memory_order_relaxed);
	return n;
}

static size_t index_of(const char *p, size_t len)
{
	size_t i = 0;

	for (size_t k = 0; k < len && k < 12 && p[k] >= '0' && p[k] <= '9'; k++)
		i = i * 10 + (size_t)(p[k] - '0');
	return i;
}

/* Cove: the plaintext, after the node core's checks and decryption */
static void on_text(void *arg, const char *text, size_t len)
{
	got(arg, index_of(text, len), bn_now_ns());
}

/* MQTT: the time the bytes arrived */
static void on_publish(void *arg, const uint8_t *payload, size_t len, uint64_t t_arrival)
{
	got(arg, index_of((const char *)payload, len), t_arrival);
}

/* Sends every message due by now: rate per second from the start. */
static void tick(evutil_socket_t fd, short what, void *arg)
{
	struct lat_run *lr = arg;
	uint64_t now = bn_now_ns();
	size_t due = (size_t)((double)(now - lr->start_ns) * lr->rate / 1e9) + 1;
	size_t i = atomic_load(&lr->sent);

	(void)fd;
	(void)what;
	if (due > lr->total)
		due = lr->total;
	for (; i < due; i++) {
		int n = snprintf(lr->text, lr->size + 1, "%010zu", i);

		lr->text[n] = 'x'; /* the rest of the text was filled once */
		atomic_store_explicit(&lr->t_send[i], bn_now_ns(), memory_order_release);
		if (lr->tx_node)
			bn_node_send(lr->tx_node, lr->text, lr->size);
		else
			bn_mqtt_publish_now(lr->tx_mqtt, "cove-bench/latency", (uint8_t *)lr->text,
					    lr->size);
		atomic_fetch_add(&lr->sent, 1);
	}
	if (i >= lr->total)
		event_del(lr->timer);
}

/* ---- setting up, on the bench's threads ------------------------------------------ */

struct setup {
	struct lat_run *lr;
	struct receiver *rc;          /* members receivers */
	size_t t;
	int tx;                       /* make the sender (thread 0) */
};

static void node_conf(struct lat_run *lr, struct bn_node_conf *c, size_t id)
{
	struct bn_world *w = &lr->r->w;

	memset(c, 0, sizeof(*c));
	c->id = &w->ids[id];
	c->wl = w->wl;
	c->relay_pk = w->ids[0].pk;
	c->host = w->host;
	c->port = w->port;
	c->room = "latency";
	c->ready = &lr->ready;
	c->errors = &lr->errors;
}

static void mqtt_conf(struct lat_run *lr, struct bn_mqtt_conf *c, const char *id, int sub)
{
	memset(c, 0, sizeof(*c));
	c->host = lr->r->o->mqtt_host;
	c->port = lr->r->o->mqtt_port;
	c->client_id = id;
	c->topic = "cove-bench/latency";
	c->sub = sub;
	c->ready = &lr->ready;
	c->down = &lr->down;
}

/* The thread of receiver i: with two or more threads, thread 0 is the
 * sender's alone. */
static size_t rx_thread(const struct lat_run *lr, size_t i)
{
	size_t nthr = bn_thr_count(lr->r->thr);

	return nthr > 1 ? 1 + i % (nthr - 1) : 0;
}

static void setup_slice(void *arg)
{
	struct setup *s = arg;
	struct lat_run *lr = s->lr;
	struct event_base *base = bn_thr_base(lr->r->thr, s->t);
	char id[64];

	for (size_t i = 0; i < lr->members; i++) {
		if (rx_thread(lr, i) != s->t)
			continue;
		struct receiver *rc = &s->rc[i];

		rc->lr = lr;
		rc->t = s->t;
		if (lr->r->o->mqtt) {
			struct bn_mqtt_conf c;

			snprintf(id, sizeof(id), "cove-bench-lat-%zu-%d", i, (int)getpid());
			mqtt_conf(lr, &c, id, 1);
			c.on_publish = on_publish;
			c.arg = rc;
			rc->mqtt = bn_mqtt_new(base, &c);
			if (rc->mqtt)
				bn_mqtt_connect(rc->mqtt);
		} else {
			struct bn_node_conf c;

			node_conf(lr, &c, 2 + i);
			c.on_message = on_text;
			c.arg = rc;
			rc->node = bn_node_new(base, &c);
			if (rc->node)
				bn_node_connect(rc->node);
		}
	}
	if (!s->tx)
		return;
	if (lr->r->o->mqtt) {
		struct bn_mqtt_conf c;

		snprintf(id, sizeof(id), "cove-bench-lat-tx-%d", (int)getpid());
		mqtt_conf(lr, &c, id, 0);
		lr->tx_mqtt = bn_mqtt_new(base, &c);
		if (lr->tx_mqtt)
			bn_mqtt_connect(lr->tx_mqtt);
	} else {
		struct bn_node_conf c;

		node_conf(lr, &c, 1);
		lr->tx_node = bn_node_new(base, &c);
		if (lr->tx_node)
			bn_node_connect(lr->tx_node);
	}
	lr->timer = event_new(base, -1, EV_PERSIST, tick, lr);
}

static void start_sending(void *arg)
{
	struct lat_run *lr = arg;
	struct timeval tv = { 0, 1000000 / (lr->rate > 1000 ? 1000 : lr->rate) };

	lr->start_ns = bn_now_ns();
	if (tv.tv_usec == 0)
		tv.tv_usec = 1;
	event_add(lr->timer, &tv);
}

static void teardown_slice(void *arg)
{
	struct setup *s = arg;
	struct lat_run *lr = s->lr;

	for (size_t i = 0; i < lr->members; i++) {
		if (rx_thread(lr, i) != s->t)
			continue;
		bn_node_free(s->rc[i].node);
		bn_mqtt_free(s->rc[i].mqtt);
	}
	if (s->tx) {
		if (lr->timer)
			event_free(lr->timer);
		bn_node_free(lr->tx_node);
		bn_mqtt_free(lr->tx_mqtt);
	}
}

static void each(struct lat_run *lr, struct receiver *rc, void (*fn)(void *))
{
	for (size_t t = 0; t < bn_thr_count(lr->r->thr); t++) {
		struct setup s = { lr, rc, t, t == 0 };

		bn_thr_call_wait(lr->r->thr, t, fn, &s);
	}
}

int bn_sc_latency(const struct bn_opts *o)
{
	struct lat_run lr = { 0 };
	struct receiver *rc = NULL;
	struct bn_lat all = { 0 };
	struct rx_all rxa;
	size_t M = o->members ? o->members : 10;
	size_t expected, received, wire, dups = 0;
	double sign_us, verify_us;
	struct bn_opts lo = *o;
	struct bn_json j;
	struct bn_run r;
	int ok = -1;

	if (!o->threads_set)
		lo.threads = M + 1 < 64 ? M + 1 : 64;
	lr.r = &r;
	lr.members = M;
	lr.rate = o->rate ? o->rate : 1000;
	lr.total = (size_t)(o->seconds * lr.rate);
	if (lr.total < WARMUP + 10)
		lr.total = WARMUP + 10;
	/* the same bytes on the wire: Cove's DAT frame, or an MQTT payload of
	 * that size */
	wire = bn_dat_frame_len(o->size, "latency");
	lr.size = o->mqtt ? wire : o->size;
	if (lr.size < 16)
		lr.size = 16;
	lr.t_send = calloc(lr.total, sizeof(*lr.t_send));
	lr.text = malloc(lr.size + 1);
	rc = aligned_alloc(64, (M ? M : 1) * sizeof(*rc));
	if (rc)
		memset(rc, 0, M * sizeof(*rc));
	rxa = (struct rx_all){ rc, M };
	if (bn_run_start(&r, &lo, M + 1) != 0 || !lr.t_send || !lr.text || !rc)
		goto out;
	memset(lr.text, 'x', lr.size);
	for (size_t i = 0; i < M; i++)
		if (!(rc[i].seen = calloc(lr.total, 1)) || bn_lat_reserve(&rc[i].lat, lr.total) != 0)
			goto out;
	each(&lr, rc, setup_slice);
	if (bn_wait_count(&lr.ready, M + 1, 30000) != 0) {
		bn_err("latency: only %zu of %zu nodes ready", atomic_load(&lr.ready), M + 1);
		goto teardown;
	}
	/* the cost of the checks, on this machine in this minute: a quarter
	 * second each, with the nodes connected and idle */
	sign_us = 1e6 / bn_sign_rate(wire, 250);
	verify_us = 1e6 / bn_verify_rate(wire, 250);
	bn_run_json_begin(&r, &j, "latency");
	bn_run_window_open(&r);
	bn_thr_call(r.thr, 0, start_sending, &lr);
	expected = lr.total * M;
	bn_wait_progress_fn(count_received, &rxa, expected, 3000,
			    bn_timeout_ms((double)lr.total / lr.rate * 3 + 10), 10);
	received = count_received(&rxa);
	bn_run_window_close(&r, &j);
	/* the loops are still running: take the samples on their threads */
	each(&lr, rc, teardown_slice);
	for (size_t i = 0; i < M; i++) {
		bn_lat_merge(&all, &rc[i].lat);
		dups += rc[i].dups;
	}
	bn_json_int(&j, "members", (long long)M);
	bn_json_int(&j, "rate", (long long)lr.rate);
	bn_json_int(&j, "message_bytes", (long long)wire);
	bn_json_int(&j, "messages", (long long)lr.total);
	bn_json_int(&j, "deliveries", (long long)received);
	bn_json_int(&j, "lost", (long long)(expected - received));
	bn_json_int(&j, "duplicates", (long long)dups);
	bn_json_int(&j, "samples", (long long)all.n);
	bn_json_num(&j, "p50_us", (double)bn_lat_quantile(&all, 0.50) / 1e3);
	bn_json_num(&j, "p90_us", (double)bn_lat_quantile(&all, 0.90) / 1e3);
	bn_json_num(&j, "p99_us", (double)bn_lat_quantile(&all, 0.99) / 1e3);
	bn_json_num(&j, "max_us", (double)bn_lat_quantile(&all, 1.0) / 1e3);
	bn_json_num(&j, "mean_us", bn_lat_mean(&all) / 1e3);
	bn_json_num(&j, "sign_us", sign_us);
	bn_json_num(&j, "verify_us", verify_us);
	bn_json_end(&j);
	if (o->samples && bn_lat_write(&all, o->samples, 2000) != 0)
		bn_err("latency: cannot write %s", o->samples);
	ok = 0;
	if (received != expected || dups || atomic_load(&lr.errors) || atomic_load(&lr.down)) {
		bn_err("latency: %zu of %zu deliveries, %zu duplicates, %zu errors, %zu links lost",
		       received, expected, dups, atomic_load(&lr.errors),
		       atomic_load(&lr.down));
		ok = o->mqtt && !o->check ? 0 : -1;
	}
	goto out;
teardown:
	each(&lr, rc, teardown_slice);
out:
	for (size_t i = 0; rc && i < M; i++) {
		free(rc[i].seen);
		bn_lat_free(&rc[i].lat);
	}
	bn_lat_free(&all);
	free(rc);
	free(lr.t_send);
	free(lr.text);
	bn_run_end(&r);
	return ok;
}
