/*
 * sc_join.c - joining and rekeying.
 *
 *   join    time from TCP connect to the group key in hand, for a real node
 *           core joining a room of --members members (0, 10, 1000). With
 *           few members each join goes into its own room of exactly that
 *           size; with many, the joins go one after another into one room,
 *           which grows by one each time. Rooms of up to JOIN_REAL_MAX are
 *           made of real node cores, larger ones of simulated peers (a
 *           thousand real cores would verify a million INIs between them
 *           on this one machine, which measures the bench, not Cove).
 *   storm   --members simulated peers join one empty room at the same
 *           instant; time until every one holds the key.
 *   rekey   a room of --members simulated peers; one leaves (BYE), and the
 *           time until the last one left holds the new epoch's key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/run.h"

#define JOIN_REAL_MAX 50
#define JOINS 20
#define REKEYS 5

/* ---- join ------------------------------------------------------------------------ */

struct join_run {
	struct bn_run *r;
	atomic_size_t ready, errors;
	struct bn_node **nodes;
	size_t nnodes;
};

struct node_req {
	struct join_run *jr;
	size_t slot, id;
	char room[32];
};

static void node_open(void *arg)
{
	struct node_req *q = arg;
	struct bn_world *w = &q->jr->r->w;
	struct bn_node_conf c = { 0 };

	c.id = &w->ids[q->id];
	c.wl = w->wl;
	c.relay_pk = w->ids[0].pk;
	c.host = w->host;
	c.port = w->port;
	c.room = q->room;
	c.ready = &q->jr->ready;
	c.errors = &q->jr->errors;
	q->jr->nodes[q->slot] = bn_node_new(bn_thr_base(q->jr->r->thr, q->slot), &c);
	if (q->jr->nodes[q->slot])
		bn_node_connect(q->jr->nodes[q->slot]);
}

static void node_close(void *arg)
{
	struct node_req *q = arg;

	bn_node_free(q->jr->nodes[q->slot]);
	q->jr->nodes[q->slot] = NULL;
}

/* Opens a real node on its thread (slot % threads) and waits for it to be
 * ready. Returns 0, or -1 on timeout. The room name is copied by the
 * core. */
static int real_node(struct join_run *jr, size_t slot, size_t id, const char *room)
{
	struct node_req q = { jr, slot, id, { 0 } };
	size_t before = atomic_load(&jr->ready);

	snprintf(q.room, sizeof(q.room), "%s", room);
	bn_thr_call_wait(jr->r->thr, slot, node_open, &q);
	return bn_wait_count(&jr->ready, before + 1, 30000);
}

int bn_sc_join(const struct bn_opts *o)
{
	size_t M = o->members, joins = o->messages ? o->messages : JOINS;
	int real = M <= JOIN_REAL_MAX;
	int per_room = real && M * joins <= 2000; /* each join into its own room of M */
	size_t nreal = (real ? (per_room ? M * joins : M) : 0) + joins;
	struct bn_peers members = { 0 };
	struct join_run jr = { 0 };
	struct bn_lat lat = { 0 };
	struct bn_json j;
	struct bn_run r;
	size_t slot = 0, done = 0;
	int ok = -1;

	jr.r = &r;
	jr.nodes = calloc(nreal, sizeof(*jr.nodes));
	if (!jr.nodes || bn_run_start(&r, o, (real ? 0 : M) + nreal) != 0)
		goto out;
	/* identities: simulated members first (1..M), then the real nodes */
	if (!real && M > 0) {
		if (bn_peers_alloc(&members, &r, M, 1) != 0)
			goto out;
		members.room = "join0";
		if (bn_peers_open_waves(&members, 500, "join") != 0)
			goto out;
	}
	bn_say("join: %zu joins into rooms of %zu (%s members)", joins, M,
	       M == 0 ? "no" : real ? "real" : "simulated");
	bn_run_json_begin(&r, &j, "join");
	bn_run_window_open(&r);
	for (size_t k = 0; k < joins; k++) {
		char room[32];
		size_t id_base = (real ? 0 : M) + 1;
		struct bn_node *n;

		snprintf(room, sizeof(room), "join%zu", per_room ? k : 0);
		if (real && (per_room || k == 0)) {
			for (size_t m = 0; m < M; m++, slot++)
				if (real_node(&jr, slot, id_base + slot, room) != 0)
					goto fail;
		}
		if (real_node(&jr, slot, id_base + slot, room) != 0)
			goto fail;
		n = jr.nodes[slot++];
		bn_lat_add(&lat, bn_node_t_ready(n) - bn_node_t_connect(n));
		done++;
	}
	bn_run_window_close(&r, &j);
	bn_json_int(&j, "members", (long long)M);
	bn_json_str(&j, "member_kind", M == 0 ? "none" : real ? "node" : "peer");
	bn_json_int(&j, "joins", (long long)done);
	bn_json_num(&j, "p50_ms", (double)bn_lat_quantile(&lat, 0.5) / 1e6);
	bn_json_num(&j, "max_ms", (double)bn_lat_quantile(&lat, 1.0) / 1e6);
	bn_json_num(&j, "min_ms", (double)bn_lat_quantile(&lat, 0.0) / 1e6);
	bn_json_int(&j, "errors", (long long)atomic_load(&jr.errors));
	bn_json_end(&j);
	ok = atomic_load(&jr.errors) ? -1 : 0;
	goto out;
fail:
	bn_err("join: a node did not become ready within 30 s (%zu joins done)", done);
out:
	for (size_t i = 0; jr.nodes && r.thr && i < nreal; i++)
		if (jr.nodes[i]) {
			struct node_req q = { &jr, i, 0, { 0 } };

			bn_thr_call_wait(r.thr, i, node_close, &q);
		}
	free(jr.nodes);
	bn_peers_close(&members);
	bn_lat_free(&lat);
	bn_run_end(&r);
	return ok;
}

/* ---- storm ------------------------------------------------------------------------ */

int bn_sc_storm(const struct bn_opts *o)
{
	size_t M = o->members ? o->members : 1000;
	struct bn_peers ps = { 0 };
	struct bn_json j;
	struct bn_run r;
	uint64_t t_keyed;
	int ok = -1, timed_out;

	if (bn_run_start(&r, o, M) != 0 || bn_peers_alloc(&ps, &r, M, 1) != 0)
		goto out;
	ps.room = "storm";
	bn_run_json_begin(&r, &j, "storm");
	bn_run_window_open(&r);
	if (bn_peers_open(&ps, 0, M) != 0)
		goto out;
	timed_out = bn_wait_progress(&ps.counts.keyed, M, 10000, 120000);
	t_keyed = bn_now_ns();
	bn_run_window_close_at(&r, &j, t_keyed);
	bn_json_int(&j, "joiners", (long long)M);
	bn_json_int(&j, "keyed", (long long)atomic_load(&ps.counts.keyed));
	bn_json_int(&j, "refused", (long long)atomic_load(&ps.counts.errs));
	bn_json_int(&j, "links_lost", (long long)atomic_load(&ps.counts.down));
	bn_json_end(&j);
	ok = timed_out || atomic_load(&ps.counts.keyed) != M ? -1 : 0;
	if (ok)
		bn_err("storm: %zu of %zu joiners keyed", atomic_load(&ps.counts.keyed), M);
out:
	bn_peers_close(&ps);
	bn_run_end(&r);
	return ok;
}

/* ---- rekey ------------------------------------------------------------------------ */

static void bye(struct bn_peer *p, void *arg)
{
	(void)arg;
	bn_peer_bye(p);
}

int bn_sc_rekey(const struct bn_opts *o)
{
	size_t M = o->members ? o->members : 1000, rounds = o->messages ? o->messages : REKEYS;
	struct bn_peers ps = { 0 };
	struct bn_lat lat = { 0 };
	struct bn_json j;
	struct bn_run r;
	size_t done = 0;
	int ok = -1;

	if (rounds >= M)
		rounds = M > 1 ? M - 1 : 0;
	if (bn_run_start(&r, o, M) != 0 || bn_peers_alloc(&ps, &r, M, 1) != 0)
		goto out;
	ps.room = "rekey";
	if (bn_peers_open_waves(&ps, 500, "rekey") != 0)
		goto out;
	bn_run_json_begin(&r, &j, "rekey");
	bn_run_window_open(&r);
	/* the newest member leaves, each round: the room shrinks by one */
	for (size_t k = 0; k < rounds; k++) {
		size_t leaver = M - 1 - k, stay = leaver;
		size_t before = atomic_load(&ps.counts.rekeyed);
		uint64_t t0 = bn_now_ns();

		bn_peers_each(&ps, leaver, leaver + 1, bye, NULL);
		if (bn_wait_count(&ps.counts.rekeyed, before + stay, 30000) != 0) {
			bn_err("rekey: %zu of %zu members hold the new key 30 s after a leave",
			       atomic_load(&ps.counts.rekeyed) - before, stay);
			break;
		}
		bn_lat_add(&lat, bn_now_ns() - t0);
		done++;
	}
	bn_run_window_close(&r, &j);
	bn_json_int(&j, "members", (long long)M);
	bn_json_int(&j, "rekeys", (long long)done);
	bn_json_num(&j, "p50_ms", (double)bn_lat_quantile(&lat, 0.5) / 1e6);
	bn_json_num(&j, "max_ms", (double)bn_lat_quantile(&lat, 1.0) / 1e6);
	bn_json_num(&j, "min_ms", (double)bn_lat_quantile(&lat, 0.0) / 1e6);
	bn_json_int(&j, "refused", (long long)atomic_load(&ps.counts.errs));
	bn_json_end(&j);
	ok = done == rounds && atomic_load(&ps.counts.bad) == 0 ? 0 : -1;
out:
	bn_peers_close(&ps);
	bn_lat_free(&lat);
	bn_run_end(&r);
	return ok;
}
