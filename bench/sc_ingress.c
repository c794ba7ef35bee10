/*
 * sc_ingress.c - how many signed frames a second the relay accepts, against
 * the machine's own Ed25519 verify rate on one core (the ceiling of a
 * relay that verifies on one core).
 *
 * P senders, each alone in its own room so that nothing is fanned out,
 * sign their DATs before the window opens, then write them as fast as the
 * relay reads them, and a PING after the last: the relay answers a
 * connection's frames in order, so the PONG says every DAT before it was
 * checked and accepted (or refused with an ERR, which is counted). The
 * window closes at the last PONG.
 *
 * The relay keeps what it accepts in its store: by default its SQLite
 * file (in the run's temporary folder), or in memory with --store none.
 * --store both runs the two in alternating rounds, each with a relay of
 * its own, and gives the ratio of their rates within each round; after
 * each SQLite round the stopped relay's file is measured against the
 * bytes of the frames it holds.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/run.h"

struct ingress_res {
	double rate, server_cpu;
	int windowed;                 /* the window was opened (and j begun) */
	size_t accepted, errs, frame_len;
	int have_stored;
	struct bn_stored stored;
	char relay_opts[512];
};

/* One run on a relay of its own with o's store; j (may be NULL) gets the
 * window's fields. Returns 0 when every frame was accepted, else -1. */
static int ingress_once(const struct bn_opts *o, size_t P, size_t n, struct bn_json *j,
			double ceiling, struct ingress_res *res)
{
	struct bn_peers senders = { 0 };
	struct bn_run r;
	size_t total = P * n;
	double secs;
	int ok = -1;

	memset(res, 0, sizeof(*res));
	if (bn_run_start(&r, o, P) != 0 || bn_peers_alloc(&senders, &r, P, 1) != 0)
		goto out;
	senders.room_prefix = "ingress";
	if (bn_peers_open_waves(&senders, 500, "ingress") != 0)
		goto out;
	bn_say("ingress: signing %zu DATs ahead (%zu senders, store %s)", total, P,
	       o->store == BN_STORE_NONE ? "none" : "sqlite");
	if (bn_peers_prepare(&senders, n, o->size) != 0)
		goto out;
	if (j)
		bn_run_json_begin(&r, j, "ingress");
	bn_run_window_open(&r);
	res->windowed = 1;
	bn_peers_send(&senders);
	if (bn_wait_count(&senders.counts.pongs, P, bn_timeout_ms(total / ceiling * 10)) != 0)
		bn_err("ingress: the relay did not answer every sender's PING (%zu of %zu)",
		       atomic_load(&senders.counts.pongs), P);
	secs = bn_run_window_close(&r, j);
	res->errs = atomic_load(&senders.counts.errs);
	res->accepted = atomic_load(&senders.counts.sent);
	res->accepted = res->accepted > res->errs ? res->accepted - res->errs : 0;
	res->rate = (double)res->accepted / secs;
	res->server_cpu = r.server_cpu;
	res->frame_len = bn_peer_frame_len(senders.p[0]);
	memcpy(res->relay_opts, r.relay_opts, sizeof(res->relay_opts));
	ok = 0;
	if (atomic_load(&senders.counts.pongs) != P || res->accepted != total ||
	    atomic_load(&senders.counts.down) != 0) {
		bn_err("ingress: %zu of %zu frames accepted, %zu refused, %zu links lost",
		       res->accepted, total, res->errs, atomic_load(&senders.counts.down));
		ok = -1;
	}
	if (o->store != BN_STORE_NONE) {
		char path[400];

		/* stopped first: its store closed (and checkpointed) as at exit */
		bn_peers_close(&senders);
		bn_relay_stop(&r.w);
		bn_world_store_path(&r.w, path, sizeof(path));
		res->have_stored = bn_stored_measure(path, &res->stored) == 0;
	}
out:
	bn_peers_close(&senders);
	bn_run_end(&r);
	return ok;
}

struct ingress_ab {
	size_t P, n;
	double before;
	struct ingress_res a;         /* side a's last run: its relay's options are shown */
	struct ingress_res stored;    /* the last run that measured its store */
	size_t frame_len;
};

static int ingress_ab_run(void *arg, const struct bn_opts *o, int b, double *rate, double *cpu)
{
	struct ingress_ab *ab = arg;
	struct ingress_res res;
	int ok = ingress_once(o, ab->P, ab->n, NULL, ab->before, &res);

	*rate = res.rate;
	*cpu = res.server_cpu;
	if (res.frame_len)
		ab->frame_len = res.frame_len;
	if (!b)
		ab->a = res;
	if (res.have_stored)
		ab->stored = res;
	return ok;
}

/* --store both: the two stores in alternating rounds. */
static int ingress_ab(const struct bn_opts *o, size_t P, size_t n, double before)
{
	struct ingress_ab ab = { .P = P, .n = n, .before = before };
	struct ingress_res *a = &ab.a;
	struct bn_ab rate = { 0 }, cpu = { 0 };
	struct bn_json j;
	struct bn_run shown;
	double after, ceiling;
	int ok = bn_ab_store_rounds(o, ingress_ab_run, &ab, &rate, &cpu, "ingress", "frames/s");

	after = bn_verify_rate(ab.frame_len, 1000);
	ceiling = (before + after) / 2;
	memset(&shown, 0, sizeof(shown));
	shown.o = o;
	memcpy(shown.relay_opts, a->relay_opts, sizeof(shown.relay_opts));
	bn_run_json_begin(&shown, &j, "ingress");
	bn_json_int(&j, "senders", (long long)P);
	bn_json_int(&j, "frame_bytes", (long long)ab.frame_len);
	bn_json_int(&j, "frames", (long long)(P * n));
	bn_json_int(&j, "rounds", (long long)rate.n);
	bn_ab_json(&cpu, &j, "server_cpu", "sqlite", "none");
	bn_ab_json(&rate, &j, "frames_per_s", "sqlite", "none");
	bn_json_num(&j, "verify_per_s_one_core", ceiling);
	{
		double med[BN_AB_MAX];

		memcpy(med, rate.a, rate.n * sizeof(*med));
		bn_json_num(&j, "ratio_to_one_core", bn_median(med, rate.n) / ceiling);
	}
	if (ab.stored.have_stored)
		bn_stored_json(&j, &ab.stored.stored);
	bn_json_end(&j);
	return ok;
}

int bn_sc_ingress(const struct bn_opts *o)
{
	size_t P = o->senders ? o->senders : 8, n = o->messages, total;
	struct ingress_res res;
	struct bn_json j;
	double ceiling, before, after, all_before, all_after, all;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned ncpu = online > 0 ? (unsigned)online : 1;
	size_t frame_len;
	int ok;

	/* The ceiling while the machine is otherwise quiet, before the run
	 * and after it: a shared machine's speed drifts, and the mean of the
	 * two is nearer what the relay had than either. */
	frame_len = bn_dat_frame_len(o->size, "ingress0");
	ceiling = before = bn_verify_rate(frame_len, 1000);
	if (n == 0) {
		/* about four seconds of work at twice the single-core ceiling;
		 * two for each run of the rounds of --store both */
		n = (size_t)(ceiling * (o->store == BN_STORE_BOTH ? 4 : 8) / (double)P) + 1;
	}
	total = P * n;
	if (o->store == BN_STORE_BOTH)
		return ingress_ab(o, P, n, before);
	all_before = bn_verify_rate_all(frame_len, 1000, ncpu);
	ok = ingress_once(o, P, n, &j, ceiling, &res);
	if (!res.windowed)
		return -1; /* said why */
	after = bn_verify_rate(frame_len, 1000);
	all_after = bn_verify_rate_all(frame_len, 1000, ncpu);
	ceiling = (before + after) / 2;
	all = (all_before + all_after) / 2;
	bn_json_int(&j, "senders", (long long)P);
	bn_json_int(&j, "frame_bytes", (long long)frame_len);
	bn_json_int(&j, "frames", (long long)total);
	bn_json_int(&j, "accepted", (long long)res.accepted);
	bn_json_int(&j, "refused", (long long)res.errs);
	bn_json_num(&j, "frames_per_s", res.rate);
	bn_json_num(&j, "verify_per_s_one_core", ceiling);
	bn_json_num(&j, "verify_per_s_before", before);
	bn_json_num(&j, "verify_per_s_after", after);
	/* what every CPU together verifies: the most a relay could reach */
	bn_json_int(&j, "cpus", ncpu);
	bn_json_num(&j, "verify_per_s_all_cpus", all);
	bn_json_num(&j, "ratio_to_all_cpus", all > 0 ? res.rate / all : 0);
	bn_json_num(&j, "ratio_to_one_core", res.rate / ceiling);
	if (res.have_stored)
		bn_stored_json(&j, &res.stored);
	bn_json_end(&j);
	return ok;
}
