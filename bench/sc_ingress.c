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
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/run.h"

int bn_sc_ingress(const struct bn_opts *o)
{
	size_t P = o->senders ? o->senders : 8, n = o->messages, total;
	struct bn_peers senders = { 0 };
	struct bn_json j;
	struct bn_run r;
	double ceiling, before, after, all_before, all_after, all, secs, rate;
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	unsigned ncpu = online > 0 ? (unsigned)online : 1;
	size_t frame_len, accepted, errs;
	int ok = -1;

	/* The ceiling while the machine is otherwise quiet, before the run
	 * and after it: a shared machine's speed drifts, and the mean of the
	 * two is nearer what the relay had than either. */
	frame_len = bn_dat_frame_len(o->size, "ingress0");
	ceiling = before = bn_verify_rate(frame_len, 1000);
	all_before = bn_verify_rate_all(frame_len, 1000, ncpu);
	if (n == 0) {
		/* about four seconds of work at twice the single-core ceiling */
		n = (size_t)(ceiling * 8 / (double)P) + 1;
	}
	total = P * n;
	if (bn_run_start(&r, o, P) != 0 || bn_peers_alloc(&senders, &r, P, 1) != 0)
		goto out;
	senders.room_prefix = "ingress";
	if (bn_peers_open_waves(&senders, 500, "ingress") != 0)
		goto out;
	bn_say("ingress: signing %zu DATs of %zu bytes ahead (%zu senders)", total, frame_len, P);
	if (bn_peers_prepare(&senders, n, o->size) != 0)
		goto out;
	bn_run_json_begin(&r, &j, "ingress");
	bn_run_window_open(&r);
	bn_peers_send(&senders);
	if (bn_wait_count(&senders.counts.pongs, P, bn_timeout_ms(total / ceiling * 10)) != 0)
		bn_err("ingress: the relay did not answer every sender's PING (%zu of %zu)",
		       atomic_load(&senders.counts.pongs), P);
	secs = bn_run_window_close(&r, &j);
	after = bn_verify_rate(frame_len, 1000);
	all_after = bn_verify_rate_all(frame_len, 1000, ncpu);
	ceiling = (before + after) / 2;
	all = (all_before + all_after) / 2;
	errs = atomic_load(&senders.counts.errs);
	accepted = atomic_load(&senders.counts.sent);
	accepted = accepted > errs ? accepted - errs : 0;
	rate = (double)accepted / secs;
	bn_json_int(&j, "senders", (long long)P);
	bn_json_int(&j, "frame_bytes", (long long)frame_len);
	bn_json_int(&j, "frames", (long long)total);
	bn_json_int(&j, "accepted", (long long)accepted);
	bn_json_int(&j, "refused", (long long)errs);
	bn_json_num(&j, "frames_per_s", rate);
	bn_json_num(&j, "verify_per_s_one_core", ceiling);
	bn_json_num(&j, "verify_per_s_before", before);
	bn_json_num(&j, "verify_per_s_after", after);
	/* what every CPU together verifies: the most a relay could reach */
	bn_json_int(&j, "cpus", ncpu);
	bn_json_num(&j, "verify_per_s_all_cpus", all);
	bn_json_num(&j, "ratio_to_all_cpus", all > 0 ? rate / all : 0);
	bn_json_num(&j, "ratio_to_one_core", rate / ceiling);
	bn_json_end(&j);
	ok = 0;
	if (atomic_load(&senders.counts.pongs) != P || accepted != total ||
	    atomic_load(&senders.counts.down) != 0) {
		bn_err("ingress: %zu of %zu frames accepted, %zu refused, %zu links lost", accepted,
		       total, errs, atomic_load(&senders.counts.down));
		ok = -1;
	}
out:
	bn_peers_close(&senders);
	bn_run_end(&r);
	return ok;
}
