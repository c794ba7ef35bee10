/*
 * sc_conns.c - N idle authenticated nodes: the relay's resident memory
 * before and after, per connection.
 *
 * Connections open in waves of WAVE, each wave authenticated before the
 * next, to stay under the relay's limit of handshakes in progress
 * (--max-unauth). The nodes authenticate and join no room: what is
 * measured is the cost of a connection itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/run.h"

#define WAVE 500

int bn_sc_conns(const struct bn_opts *o)
{
	size_t N = o->conns ? o->conns : 1000;
	struct bn_peers ps = { 0 };
	struct timespec settle = { 1, 0 };
	long rss0, rss1, hwm, self0, self1;
	struct bn_json j;
	struct bn_run r;
	long limit;
	int ok = -1;

	limit = bn_raise_nofile();
	if (limit > 0 && (size_t)limit < N + 100) {
		bn_err("conns: %zu connections need about %zu open files; the limit is %ld "
		       "(raise it with ulimit -n)", N, N + 100, limit);
		return -1;
	}
	if (bn_run_start(&r, o, N) != 0 || bn_peers_alloc(&ps, &r, N, 1) != 0)
		goto out;
	nanosleep(&settle, NULL);
	rss0 = bn_rss_kib(r.w.relay_pid);
	self0 = bn_rss_kib(getpid());
	bn_run_json_begin(&r, &j, "conns");
	bn_run_window_open(&r);
	if (bn_peers_open_waves(&ps, WAVE, "conns") != 0)
		goto out;
	bn_run_window_close(&r, &j);
	nanosleep(&settle, NULL);
	rss1 = bn_rss_kib(r.w.relay_pid);
	hwm = bn_hwm_kib(r.w.relay_pid);
	self1 = bn_rss_kib(getpid());
	bn_json_int(&j, "conns", (long long)N);
	bn_json_int(&j, "authenticated", (long long)atomic_load(&ps.counts.authed));
	bn_json_int(&j, "relay_rss_before_kib", rss0);
	bn_json_int(&j, "relay_rss_kib", rss1);
	bn_json_int(&j, "relay_hwm_kib", hwm);
	bn_json_num(&j, "relay_rss_per_conn_bytes", (double)(rss1 - rss0) * 1024 / (double)N);
	bn_json_num(&j, "bench_rss_per_conn_bytes", (double)(self1 - self0) * 1024 / (double)N);
	bn_json_int(&j, "links_lost", (long long)atomic_load(&ps.counts.down));
	bn_json_end(&j);
	ok = atomic_load(&ps.counts.authed) == N && atomic_load(&ps.counts.down) == 0 ? 0 : -1;
out:
	bn_peers_close(&ps);
	bn_run_end(&r);
	return ok;
}
