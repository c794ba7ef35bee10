/*
 * run.h - what the scenarios share: a run (identities, a relay, the
 * bench's threads) and groups of simulated peers spread over the threads.
 */
#ifndef COVE_BENCH_RUN_H
#define COVE_BENCH_RUN_H

#include "bench/bn.h"

struct bn_run {
	const struct bn_opts *o;
	struct bn_world w;
	struct bn_thr *thr;
	char relay_opts[512];         /* as text, for the JSON line */
	/* a timed window */
	uint64_t t0;
	double cpu0_self, cpu0_relay;
	double server_cpu, bench_cpu; /* of the last window closed, in cores */
	double deliveries_per_s;      /* fanout's result, for its rounds */
};

/* Makes nids identities, starts the relay with the options every
 * benchmark needs (no rate limit, room for the connections) plus the
 * user's, and the bench's threads. Returns 0 or -1 (said why). */
int bn_run_start(struct bn_run *r, const struct bn_opts *o, size_t nids);
void bn_run_end(struct bn_run *r);

/* Opens a timed window, and closes it: the JSON line (when j is not
 * NULL) gets the seconds, and the CPU the relay and the bench used in it
 * (in cores, also left in r). Returns the seconds. */
void bn_run_window_open(struct bn_run *r);
double bn_run_window_close(struct bn_run *r, struct bn_json *j);
/* The same, with the work done at t_end (bn_now_ns() time): the rate
 * counts to t_end, the CPU to now. */
double bn_run_window_close_at(struct bn_run *r, struct bn_json *j, uint64_t t_end);

/* The relay's pid, or the broker's (--server-pid), or 0. */
pid_t bn_run_server(const struct bn_run *r);

/* The JSON line's common fields (relay options, threads, label). */
void bn_run_json_begin(struct bn_run *r, struct bn_json *j, const char *scenario);

/* A group of simulated peers, peer i on thread i % threads. */
struct bn_peers {
	struct bn_run *r;
	size_t n;
	struct bn_peer **p;
	struct bn_counts counts;
	size_t id_base;               /* peer i has identity id_base + i */
	const char *room;             /* every peer's room, or NULL */
	const char *room_prefix;      /* else room_prefix + i, or no room when NULL */
	unsigned check_every;
	char (*rooms)[COVE_ROOM_MAX + 1];
	void (*on_key)(void *arg, uint32_t epoch);
};

/* Creates and connects peers [from, to) of the group on their threads
 * (ps->p must have room for ps->n). Returns 0 or -1. */
int bn_peers_open(struct bn_peers *ps, size_t from, size_t to);
/* Opens all the group's peers in waves of at most wave, each wave
 * authenticated (and keyed, when the peers have a room) before the next,
 * so that the relay's limit of handshakes in progress is never reached.
 * Returns 0, or -1 after saying how far it got (what names the scenario). */
int bn_peers_open_waves(struct bn_peers *ps, size_t wave, const char *what);

/* Has every peer of the group sign n DATs of a text of size bytes
 * (bn_peer_prepare()), each thread its share at once. Returns 0 or -1. */
int bn_peers_prepare(struct bn_peers *ps, size_t n, size_t size);

/* Has every peer start sending what it prepared (bn_peer_send()). */
void bn_peers_send(struct bn_peers *ps);

/* Runs fn on every peer of [from, to), on its thread, and waits. */
void bn_peers_each(struct bn_peers *ps, size_t from, size_t to,
		   void (*fn)(struct bn_peer *p, void *arg), void *arg);
/* Frees every peer on its thread. */
void bn_peers_close(struct bn_peers *ps);
int bn_peers_alloc(struct bn_peers *ps, struct bn_run *r, size_t n, size_t id_base);

/* Bytes of the DAT frame a text of text_len bytes makes in room. */
size_t bn_dat_frame_len(size_t text_len, const char *room);

/* Seconds to milliseconds for bn_wait() timeouts, with a floor. */
unsigned bn_timeout_ms(double seconds);

#endif
