/*
 * bn.h - the contract between cove-bench's modules.
 *
 *   util.c     clocks, CPU and memory of processes, a one-line JSON writer
 *   lat.c      latency samples and their percentiles
 *   world.c    throw-away identities, the whitelist, starting and stopping
 *              a real cove-rendezvous
 *   thr.c      the bench's own threads, each running a libevent loop
 *   peer.c     a simulated Cove node: the real handshake, link and signed
 *              frames, with only as much of a node's logic as a scenario
 *              needs (join, hand over and take keys, send signed DATs,
 *              count what arrives)
 *   node.c     a real node core (the chat core chat/ and node/net.c, what
 *              cove-node runs) driven without a terminal
 *   mqtt.c     an MQTT 3.1.1 client at QoS 0, for the same load against
 *              mosquitto
 *   child.c    a program started with pipes to its standard input and
 *              output, read line by line with the time each line came
 *              (a real cove-node --json)
 *   memkeep.c  a chat core's persistence table in memory (state, keys and
 *              cursor outlive the core; no message is kept)
 *   stored.c   what a stopped relay's SQLite store holds: file bytes
 *              against the bytes of the frames in it
 *   sc_*.c     the scenarios; each prints one JSON line of results
 *              (sc_hist.c starts no relay: it measures hist/ alone)
 *   ab.c       alternating rounds of two sides (the store on and off):
 *              medians, spreads and the ratio of each round
 *   main.c     options
 *
 * Threads: every peer, node and MQTT client belongs to one bench thread
 * and is touched only from that thread's loop. The main thread starts
 * them through bn_thr_call() and watches atomic counters (bn_wait()).
 */
#ifndef COVE_BENCH_BN_H
#define COVE_BENCH_BN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <event2/event.h>

#include "chat/chat.h"
#include "crypto/ident.h"
#include "crypto/whitelist.h"
#include "wire/frame.h"

/* ---- util.c ---------------------------------------------------------------- */

/* Monotonic clock (CLOCK_MONOTONIC, shared by every process on the machine). */
uint64_t bn_now_ns(void);

/* CPU seconds (user + system) this process has used. */
double bn_cpu_self(void);

/* CPU seconds pid has used, or a negative value when it cannot be read. */
double bn_cpu_of(pid_t pid);

/* pid's resident set (VmRSS) and its peak (VmHWM) in KiB, or -1. */
long bn_rss_kib(pid_t pid);
long bn_hwm_kib(pid_t pid);

/* Calls done(arg) every millisecond until it returns nonzero (returns 0)
 * or timeout_ms pass (returns -1). */
int bn_wait(int (*done)(void *arg), void *arg, unsigned timeout_ms);

/* Waits until *counter >= target. Returns 0 or -1 on timeout. */
int bn_wait_count(atomic_size_t *counter, size_t target, unsigned timeout_ms);

/* Waits until *counter >= target, giving up when it has not moved for
 * stall_ms or after max_ms in all. Returns 0 or -1. */
int bn_wait_progress(atomic_size_t *counter, size_t target, unsigned stall_ms, unsigned max_ms);
/* The same over count(arg), looking every poll_ms: a timed window whose
 * end the receivers stamp themselves polls seldom (10 ms), so that the
 * main thread's wake-ups do not take the CPUs the window measures. */
int bn_wait_progress_fn(size_t (*count)(void *arg), void *arg, size_t target, unsigned stall_ms,
			unsigned max_ms, unsigned poll_ms);

/* A count written by one thread only (plain loads and stores, no locked
 * instruction) and read by the main thread, on a cache line of its own
 * so that receivers on different threads never share one. */
struct bn_slot {
	_Alignas(64) atomic_size_t n;
	_Atomic uint64_t last_ns;     /* bn_now_ns() of the last count */
};

static inline void bn_slot_add(struct bn_slot *s, uint64_t t)
{
	atomic_store_explicit(&s->n, atomic_load_explicit(&s->n, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	atomic_store_explicit(&s->last_ns, t, memory_order_relaxed);
}

/* Starts connecting bev to host:port (a numeric address) and enables
 * it; TCP_NODELAY is set once connected (bn_nodelay() from the event
 * callback). Returns 0 or -1. */
struct bufferevent;
int bn_connect(struct bufferevent *bev, const char *host, uint16_t port);
void bn_nodelay(struct bufferevent *bev);

/* Prints "cove-bench: MESSAGE" to standard error. */
void bn_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Progress on standard error, unless quiet. */
extern int bn_quiet;
void bn_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A JSON object written as one line: bn_json_begin(), fields, then
 * bn_json_end() prints it to standard output. Keys are plain ASCII. */
struct bn_json {
	char buf[8192];
	size_t len;
};
void bn_json_begin(struct bn_json *j, const char *scenario, const char *target);
void bn_json_str(struct bn_json *j, const char *key, const char *val);
void bn_json_int(struct bn_json *j, const char *key, long long val);
void bn_json_num(struct bn_json *j, const char *key, double val);
/* Ends the line with the machine's load average over the last minute
 * ("load1", from /proc/loadavg: the others' work shares the CPUs) and
 * prints it. */
void bn_json_end(struct bn_json *j);

/* The median of n values (v is sorted in place); 0 when n is 0. */
double bn_median(double *v, size_t n);

/* ---- lat.c ------------------------------------------------------------------- */

/* Latency samples in nanoseconds. Not locked: one per thread, merged. */
struct bn_lat {
	uint64_t *ns;
	size_t n, cap;
};

int bn_lat_add(struct bn_lat *l, uint64_t ns);
/* Makes room for n samples at once, so that adding them allocates
 * nothing (a receiver's path). Returns 0 or -1. */
int bn_lat_reserve(struct bn_lat *l, size_t n);
int bn_lat_merge(struct bn_lat *into, const struct bn_lat *from);
/* Sorts the samples; q in [0,1]. Returns 0 when there are none. */
uint64_t bn_lat_quantile(struct bn_lat *l, double q);
double bn_lat_mean(const struct bn_lat *l);
void bn_lat_free(struct bn_lat *l);
/* Writes "ns count" lines of the sorted samples, at most max_lines of them
 * evenly spaced (for plotting a distribution). Returns 0 or -1. */
int bn_lat_write(struct bn_lat *l, const char *path, size_t max_lines);

/* ---- world.c ------------------------------------------------------------------ */

/* Throw-away identities and the files a relay needs, in a temporary folder.
 * Identity 0 is the relay's; 1..n are the nodes', named n1, n2, ... */
struct bn_world {
	char dir[256];
	size_t nids;
	struct cove_ident *ids;       /* nids + 1; plain memory: throw-away keys */
	struct cove_wl *wl;           /* the nodes' whitelist, as the nodes load it */
	char wl_path[300], key_path[300], log_path[300];
	/* the relay, once started */
	pid_t relay_pid;
	char host[64];
	uint16_t port;
};

/* Makes n node identities (deterministic: seed i) and writes the relay's
 * key and the whitelist. Returns 0 or -1 (said why). */
int bn_world_init(struct bn_world *w, size_t n);
void bn_world_free(struct bn_world *w);

/* Starts relay_bin on a free loopback port with the world's files and
 * extra options (NULL-terminated), its log going to log_path. Waits for
 * its "listening on" line. Returns 0 or -1. */
int bn_relay_start(struct bn_world *w, const char *relay_bin, char *const *extra);
/* Stops the relay by its pid (SIGTERM, then SIGKILL after 5 s). */
void bn_relay_stop(struct bn_world *w);

/* Raises this process's open-file limit to its hard limit (children
 * inherit it). Returns the new soft limit. */
long bn_raise_nofile(void);

/* Writes identity i's secret key, unencrypted, to path (mode 0600), for
 * a real cove-node. Returns 0 or -1 (said why). */
int bn_world_keyfile(const struct bn_world *w, size_t i, const char *path);

/* The path of the relay's store (its default file in the run's folder,
 * where it runs). */
void bn_world_store_path(const struct bn_world *w, char *out, size_t cap);

/* ---- thr.c -------------------------------------------------------------------- */

struct bn_thr;

/* Starts n threads, each running its own event loop. NULL on failure. */
struct bn_thr *bn_thr_start(size_t n);
size_t bn_thr_count(const struct bn_thr *t);
struct event_base *bn_thr_base(struct bn_thr *t, size_t i);
/* Runs fn(arg) on thread i's loop, soon. Returns 0 or -1. */
int bn_thr_call(struct bn_thr *t, size_t i, void (*fn)(void *arg), void *arg);
/* Runs fn(arg) on thread i and waits for it to return. */
int bn_thr_call_wait(struct bn_thr *t, size_t i, void (*fn)(void *arg), void *arg);
/* Stops every loop, joins the threads, frees the loops. */
void bn_thr_stop(struct bn_thr *t);

/* ---- peer.c: a simulated node ---------------------------------------------------- */

/* What a peer counts; written by its thread, read by the main thread. */
struct bn_counts {
	atomic_size_t authed;         /* peers welcomed (WLC) */
	atomic_size_t keyed;          /* peers holding the room's key */
	atomic_size_t dats;           /* DATs received */
	atomic_size_t dats_checked;   /* of them, verified and opened */
	atomic_size_t bad;            /* DATs that failed verification or opening */
	atomic_size_t errs;           /* ERR frames received */
	atomic_size_t pongs;          /* PONGs received */
	atomic_size_t sent;           /* DATs written to the link */
	atomic_size_t done_sending;   /* peers that have written all they had */
	atomic_size_t down;           /* links lost */
	atomic_size_t rekeyed;        /* peers that moved to a newer epoch */
	atomic_size_t away;           /* PRS frames saying a member went away */
	atomic_uint_least32_t last_err; /* code of the last ERR */
	_Atomic uint64_t last_dat_ns;  /* bn_now_ns() of the last DAT received */
};

struct bn_peer_conf {
	const struct cove_ident *id;
	const uint8_t *relay_pk;
	const char *host;
	uint16_t port;
	const char *room;             /* NULL: authenticate only */
	unsigned check_every;         /* verify and open every Nth DAT (0: none) */
	struct bn_counts *counts;     /* shared by a group of peers */
	/* called on the peer's thread when its key changes (join or rekey),
	 * with the epoch */
	void (*on_key)(void *arg, uint32_t epoch);
	void *arg;
};

struct bn_peer;

/* A peer on base (its thread's). Call only from that thread. */
struct bn_peer *bn_peer_new(struct event_base *base, const struct bn_peer_conf *conf);
void bn_peer_free(struct bn_peer *p);

/* Connects, authenticates and (with a room) joins; counts->authed and
 * ->keyed go up as it happens. Returns 0 or -1. */
int bn_peer_connect(struct bn_peer *p);

/* Signs and encodes n DATs of a text of text_len bytes, to be sent by
 * bn_peer_send(): the cost of signing is paid here, ahead of any timed
 * window. Needs the key. Returns 0 or -1. */
int bn_peer_prepare(struct bn_peer *p, size_t n, size_t text_len);

/* Sends the prepared DATs as fast as the link takes them, then a PING;
 * counts->sent and ->done_sending go up. Returns 0 or -1. */
int bn_peer_send(struct bn_peer *p);

/* Size of one prepared DAT frame (0 before bn_peer_prepare()). */
size_t bn_peer_frame_len(const struct bn_peer *p);

/* Leaves the room with a signed BYE. */
int bn_peer_bye(struct bn_peer *p);

/* The epoch of the key the peer holds. */
uint32_t bn_peer_epoch(const struct bn_peer *p);

/* ---- node.c: a real node core ------------------------------------------------------ */

struct bn_node;

struct bn_node_conf {
	const struct cove_ident *id;
	const struct cove_wl *wl;
	const uint8_t *relay_pk;
	const char *host;
	uint16_t port;
	const char *room;
	atomic_size_t *ready;         /* +1 when the room is ready */
	atomic_size_t *errors;        /* +1 per error event */
	/* a message arrived, on the node's thread */
	void (*on_message)(void *arg, const char *text, size_t len);
	/* back in the room after being away, the catch-up is in (UPD): shown
	 * and missed as the core's caught_up says; on the node's thread */
	void (*on_caught_up)(void *arg, uint64_t shown, uint64_t missed);
	void *arg;
	/* where the core keeps what outlives it (chat/chat.h); all zero:
	 * nothing, as before persistent rooms */
	struct cove_chat_persist persist;
	/* workers of its own that check signatures ahead, as cove-node's
	 * (node/run.c); 0: the core checks each */
	unsigned verify_threads;
};

struct bn_node *bn_node_new(struct event_base *base, const struct bn_node_conf *conf);
void bn_node_free(struct bn_node *n);
int bn_node_connect(struct bn_node *n);
/* Sends text (through the core: padded, encrypted and signed now). */
int bn_node_send(struct bn_node *n, const char *text, size_t len);
/* Quits as cove-node does (cove_chat_quit: no BYE, the node is away);
 * bn_node_free() then closes the link. */
void bn_node_quit(struct bn_node *n);
/* Monotonic time (bn_now_ns()) at connect and when the room became ready. */
uint64_t bn_node_t_connect(const struct bn_node *n);
uint64_t bn_node_t_ready(const struct bn_node *n);

/* ---- mqtt.c ----------------------------------------------------------------------- */

struct bn_mqtt;

struct bn_mqtt_conf {
	const char *host;
	uint16_t port;
	const char *client_id;
	const char *topic;            /* subscribed to when sub is set */
	int sub;
	atomic_size_t *ready;         /* +1 once connected (and subscribed) */
	atomic_size_t *down;
	/* a PUBLISH arrived, on the client's thread, at t_arrival
	 * (bn_now_ns() read right after the read() that brought it); the
	 * payload is the client's until the call returns */
	void (*on_publish)(void *arg, const uint8_t *payload, size_t len, uint64_t t_arrival);
	void *arg;
};

struct bn_mqtt *bn_mqtt_new(struct event_base *base, const struct bn_mqtt_conf *conf);
void bn_mqtt_free(struct bn_mqtt *m);
int bn_mqtt_connect(struct bn_mqtt *m);
/* Queues one PUBLISH at QoS 0 (written on the loop's next turn).
 * Returns 0 or -1. */
int bn_mqtt_publish(struct bn_mqtt *m, const char *topic, const uint8_t *payload, size_t len);
/* The same, written to the socket now when nothing is queued before it
 * (the latency sender: no loop turn between its clock and the write).
 * Returns 0 or -1. */
int bn_mqtt_publish_now(struct bn_mqtt *m, const char *topic, const uint8_t *payload,
			size_t len);
/* Bytes queued and not yet written. */
size_t bn_mqtt_unsent(const struct bn_mqtt *m);
/* Calls fn(arg) when the unsent bytes fall below low (once). */
void bn_mqtt_on_drain(struct bn_mqtt *m, size_t low, void (*fn)(void *arg), void *arg);

/* ---- child.c: a program on pipes ----------------------------------------------------- */

struct bn_child {
	pid_t pid;
	int in, out;                  /* our ends of its standard input and output */
	char buf[65536];              /* output read, not yet a whole line */
	size_t len;
};

/* Starts argv[0] (a path) with argv, its standard input and output on
 * pipes, its standard error appended to err_path, with the variables of
 * env ("NAME=VALUE", NULL-terminated; may be NULL) set in it. Returns 0
 * or -1 (said why). */
int bn_child_start(struct bn_child *c, char *const *argv, char *const *env,
		   const char *err_path);

/* Writes line and a newline to its standard input. Returns 0 or -1. */
int bn_child_say(struct bn_child *c, const char *line);

/* Called for each whole line of its output (without the newline, not
 * NUL-terminated), with t_ns the bn_now_ns() taken right after the read()
 * that brought its end. Nonzero stops the reading. */
typedef int (*bn_child_line_fn)(void *arg, const char *line, size_t len, uint64_t t_ns);

/* Reads its output for at most timeout_ms, giving each whole line to fn,
 * until fn returns nonzero (then returns that; the lines after it wait
 * for the next call). Returns 0 when the time is up, -1 when its output
 * ended or failed. */
int bn_child_read(struct bn_child *c, unsigned timeout_ms, bn_child_line_fn fn, void *arg);

/* Closes its standard input, waits at most timeout_ms for it to exit and
 * kills it (SIGKILL) after that; closes the pipes. Returns its exit
 * status, or -1 when it was killed or did not exit normally. */
int bn_child_end(struct bn_child *c, unsigned timeout_ms);

/* ---- memkeep.c: a persistence table in memory ------------------------------------------- */

struct bn_memkeep;

/* A table for one node core, for cove_chat_deps.persist: each room's
 * state, secrets and cursor outlive the core that wrote them (a new core
 * on the same table comes back as cove-node does with its file); no
 * message is kept, so every message is shown. NULL when out of memory. */
struct bn_memkeep *bn_memkeep_new(void);
void bn_memkeep_free(struct bn_memkeep *k);
struct cove_chat_persist bn_memkeep_persist(struct bn_memkeep *k);

/* ---- stored.c: what a relay's store holds ---------------------------------------------- */

struct bn_stored {
	long long file_bytes;         /* the SQLite file, as the stopped relay left it */
	long long wal_bytes;          /* its -wal beside it (0: none) */
	long long frame_bytes;        /* the bytes of the frames its rooms hold */
	long long frames;
	size_t rooms;
};

/* Measures the store at path, which no relay has open any more: the
 * files first, then (opened with store/) each room's frames, as the
 * store counts them. Returns 0 or -1 (said why). */
int bn_stored_measure(const char *path, struct bn_stored *out);

/* Adds s to j: store_file_bytes, store_wal_bytes, store_frames,
 * store_frame_bytes and store_size_ratio (the files over the frames). */
void bn_stored_json(struct bn_json *j, const struct bn_stored *s);

/* ---- ab.c: alternating rounds ---------------------------------------------------------- */

#define BN_AB_MAX 64

/* Two sides measured in turns, one value each per round: a (the store on)
 * and b (off). */
struct bn_ab {
	double a[BN_AB_MAX], b[BN_AB_MAX];
	size_t n;
};

/* Whether round i runs side b first: they alternate, so that a drift of
 * the machine's speed favours neither. */
int bn_ab_b_first(size_t round);
void bn_ab_add(struct bn_ab *ab, double a, double b);
/* Adds to j, for what measured (say "frames_per_s") and the sides'
 * names: what_A, what_A_min, what_A_max, the same for B, and what_ratio
 * (the median of the rounds' a / b), what_ratio_min, what_ratio_max. */
void bn_ab_json(const struct bn_ab *ab, struct bn_json *j, const char *what, const char *a_name,
		const char *b_name);

struct bn_opts;

/* One run with o's store: side a (the store on, b == 0) or b (none); its
 * rate and the relay's CPU in *rate and *cpu. Returns 0, or -1 when the
 * run failed. */
typedef int (*bn_ab_run_fn)(void *arg, const struct bn_opts *o, int b, double *rate,
			    double *cpu);

/* --store both: o's rounds (3 if it names none) of the relay's SQLite
 * store and of none, in alternating order, each round added to rate and
 * cpu and said as "WHAT round N: X UNIT with the store, Y without".
 * Returns 0 when every run succeeded, else -1 (every round still runs). */
int bn_ab_store_rounds(const struct bn_opts *o, bn_ab_run_fn fn, void *arg, struct bn_ab *rate,
		       struct bn_ab *cpu, const char *what, const char *unit);

/* ---- scenarios ------------------------------------------------------------------------ */

struct bn_opts {
	const char *relay_bin;
	char *relay_opts[32];         /* extra relay options, NULL-terminated */
	size_t nrelay_opts;
	const char *mqtt;             /* HOST:PORT of a broker: fanout and latency use MQTT */
	char mqtt_host[64];
	uint16_t mqtt_port;
	pid_t server_pid;             /* the broker's pid, for its CPU and memory */
	size_t threads;               /* the bench's own threads */
	int threads_set;              /* -t given (else the scenario's default) */
	size_t senders, receivers;    /* -P, -S */
	size_t messages;              /* -n: per sender */
	size_t size;                  /* text bytes per message */
	size_t members;               /* room size (join, rekey, latency) */
	size_t conns;                 /* conns: idle nodes */
	unsigned rate;                /* latency: messages per second */
	double seconds;               /* latency: how long */
	const char *label;            /* a free-form tag in the JSON line */
	const char *samples;          /* latency: write the samples here */
	int check;                    /* correctness mode: exit 1 unless every count is exact */
	int store;                    /* --store: BN_STORE_* (ingress, fanout, catchup) */
	size_t rounds;                /* --rounds: of each side or kind (0: the scenario's) */
};

/* The relay's store: its default (a SQLite file in the run's temporary
 * folder), --store none, or both in alternating rounds (ingress, fanout). */
enum { BN_STORE_SQLITE, BN_STORE_NONE, BN_STORE_BOTH };

int bn_sc_verify(const struct bn_opts *o);
int bn_sc_ingress(const struct bn_opts *o);
int bn_sc_fanout(const struct bn_opts *o);
int bn_sc_latency(const struct bn_opts *o);
int bn_sc_join(const struct bn_opts *o);
int bn_sc_storm(const struct bn_opts *o);
int bn_sc_rekey(const struct bn_opts *o);
int bn_sc_conns(const struct bn_opts *o);
int bn_sc_hist(const struct bn_opts *o);
int bn_sc_catchup(const struct bn_opts *o);

/* run.c: the machine's single-core Ed25519 verify rate, measured for
 * about ms milliseconds over frames of len bytes. */
double bn_verify_rate(size_t len, unsigned ms);

/* The same for Ed25519 signatures (crypto_sign_detached). */
double bn_sign_rate(size_t len, unsigned ms);

/* The same on nthreads threads at once, summed: what the machine's CPUs
 * verify together (a shared machine's CPUs may not add up). 0 on error. */
double bn_verify_rate_all(size_t len, unsigned ms, unsigned nthreads);

#endif
