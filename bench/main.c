/*
 * cove-bench - loads a real cove-rendezvous (or an MQTT broker) with many
 * simulated and real nodes over loopback, and prints one JSON line of
 * results per scenario. See docs/PERFORMANCE.md.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/run.h"
#include "cli/cli.h"
#include "common/err.h"

static const struct {
	const char *name;
	int (*run)(const struct bn_opts *o);
	const char *what;
} scenarios[] = {
	{ "verify", bn_sc_verify, "this machine's Ed25519 verify rate on one core" },
	{ "ingress", bn_sc_ingress, "P senders -> relay: signed frames accepted a second" },
	{ "fanout", bn_sc_fanout, "P senders, S receivers in one room: deliveries a second" },
	{ "latency", bn_sc_latency, "1 sender at --rate to --members real nodes: p50/p99/max" },
	{ "join", bn_sc_join, "connect to key in hand, into a room of --members" },
	{ "storm", bn_sc_storm, "--members nodes join one empty room at once" },
	{ "rekey", bn_sc_rekey, "a member leaves a room of --members: time to the new key" },
	{ "conns", bn_sc_conns, "--conns idle authenticated nodes: relay memory each" },
	{ "hist", bn_sc_hist, "a node's history file: stores a second, page time, bytes each" },
	{ "catchup", bn_sc_catchup, "members back to -n stored messages: shown a second, store size" },
};

static void usage(FILE *f)
{
	fprintf(f, "Usage: cove-bench [options] SCENARIO\n\n"
		   "Loads a real cove-rendezvous, started on a free loopback port with\n"
		   "throw-away keys, or an MQTT 3.1.1 broker (--mqtt), and prints one JSON\n"
		   "line of results.\n\nScenarios:\n");
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		fprintf(f, "  %-9s %s\n", scenarios[i].name, scenarios[i].what);
	fprintf(f,
		"\nOptions:\n"
		"      --relay PATH       the cove-rendezvous to start (default: the one\n"
		"                         beside cove-bench)\n"
		"      --relay-opt OPT    an option for the relay, repeatable\n"
		"                         (--relay-opt=--verify-threads=0)\n"
		"      --mqtt HOST:PORT   run fanout or latency against this broker\n"
		"      --server-pid PID   the broker's pid, to report its CPU\n"
		"  -P, --senders N        senders (fanout 1, ingress 8)\n"
		"  -S, --receivers N      receivers (fanout 10)\n"
		"  -n, --messages N       per sender (fanout, ingress); joins (join, 20);\n"
		"                         messages stored (hist, catchup: 100000);\n"
		"                         rekeys (rekey, 5)\n"
		"  -m, --members N        room size (latency 10, join 0, storm and rekey 1000)\n"
		"  -c, --conns N          idle nodes (conns, 1000)\n"
		"  -s, --size N           text bytes per message (300: the 320-byte bucket)\n"
		"  -r, --rate N           latency: messages a second (1000)\n"
		"  -d, --seconds S        latency: how long to send (3)\n"
		"  -t, --threads N        the bench's own threads (2; latency: one for the\n"
		"                         sender and one per receiver, at most 64)\n"
		"  -l, --label TEXT       a tag for the JSON line\n"
		"      --samples FILE     latency: write the distribution (for plots)\n"
		"      --store KIND       the relay's store: sqlite (its default file, in\n"
		"                         the run's temporary folder), none, or both\n"
		"                         (ingress, fanout: alternating rounds, and the\n"
		"                         ratio of sqlite to none)\n"
		"      --rounds N         rounds of each side (--store both, 3) or of\n"
		"                         each kind of member (catchup, 2)\n"
		"      --check            exit 1 unless every count is exact (for tests)\n"
		"  -q, --quiet            no progress on standard error\n"
		"  -h, --help             show this help\n"
		"\nExit status: 0 when the run completed, 1 when it did not (counts off,\n"
		"timeouts; said on standard error), 2 for a usage error.\n");
}

static int num(const char *opt, const char *s, unsigned long long min, unsigned long long max,
	       size_t *out)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] == '-' || end == s || *end || errno || v < min || v > max) {
		bn_err("%s '%s' must be a number from %llu to %llu", opt, s, min, max);
		return -1;
	}
	*out = (size_t)v;
	return 0;
}

int bn_sc_verify(const struct bn_opts *o)
{
	size_t len = bn_dat_frame_len(o->size, "fanout");
	struct bn_json j;

	bn_json_begin(&j, "verify", "machine");
	if (o->label)
		bn_json_str(&j, "label", o->label);
	bn_json_int(&j, "message_bytes", (long long)len);
	bn_json_num(&j, "verify_per_s_one_core", bn_verify_rate(len, 2000));
	bn_json_int(&j, "cpus", sysconf(_SC_NPROCESSORS_ONLN));
	bn_json_end(&j);
	return 0;
}

enum { OPT_RELAY = 256, OPT_RELAY_OPT, OPT_MQTT, OPT_SERVER_PID, OPT_SAMPLES, OPT_CHECK,
       OPT_STORE, OPT_ROUNDS };

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "relay", required_argument, NULL, OPT_RELAY },
		{ "relay-opt", required_argument, NULL, OPT_RELAY_OPT },
		{ "mqtt", required_argument, NULL, OPT_MQTT },
		{ "server-pid", required_argument, NULL, OPT_SERVER_PID },
		{ "senders", required_argument, NULL, 'P' },
		{ "receivers", required_argument, NULL, 'S' },
		{ "messages", required_argument, NULL, 'n' },
		{ "members", required_argument, NULL, 'm' },
		{ "conns", required_argument, NULL, 'c' },
		{ "size", required_argument, NULL, 's' },
		{ "rate", required_argument, NULL, 'r' },
		{ "seconds", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "label", required_argument, NULL, 'l' },
		{ "samples", required_argument, NULL, OPT_SAMPLES },
		{ "check", no_argument, NULL, OPT_CHECK },
		{ "store", required_argument, NULL, OPT_STORE },
		{ "rounds", required_argument, NULL, OPT_ROUNDS },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char relay_default[PATH_MAX];
	struct bn_opts o;
	size_t v;
	int c;

	cove_prog = "cove-bench";
	memset(&o, 0, sizeof(o));
	o.threads = 2;
	o.size = 300;
	o.seconds = 3;
	while ((c = getopt_long(argc, argv, "P:S:n:m:c:s:r:d:t:l:qh", lopts, NULL)) != -1) {
		switch (c) {
		case OPT_RELAY: o.relay_bin = optarg; break;
		case OPT_RELAY_OPT:
			if (o.nrelay_opts + 1 >= sizeof(o.relay_opts) / sizeof(o.relay_opts[0])) {
				bn_err("too many --relay-opt");
				return 2;
			}
			o.relay_opts[o.nrelay_opts++] = optarg;
			break;
		case OPT_MQTT:
			o.mqtt = optarg;
			if (cove_cli_hostport("--mqtt", optarg, o.mqtt_host, sizeof(o.mqtt_host),
					      &o.mqtt_port, 0) != 0)
				return 2;
			break;
		case OPT_SERVER_PID:
			if (num("--server-pid", optarg, 1, INT_MAX, &v)) return 2;
			o.server_pid = (pid_t)v;
			break;
		case 'P': if (num("--senders", optarg, 1, 10000, &o.senders)) return 2; break;
		case 'S': if (num("--receivers", optarg, 1, 10000, &o.receivers)) return 2; break;
		case 'n': if (num("--messages", optarg, 1, 100000000, &o.messages)) return 2; break;
		case 'm': if (num("--members", optarg, 0, 10000, &o.members)) return 2; break;
		case 'c': if (num("--conns", optarg, 1, 100000, &o.conns)) return 2; break;
		case 's': if (num("--size", optarg, 16, 30000, &o.size)) return 2; break;
		case 'r':
			if (num("--rate", optarg, 1, 100000, &v)) return 2;
			o.rate = (unsigned)v;
			break;
		case 'd':
			if (num("--seconds", optarg, 1, 3600, &v)) return 2;
			o.seconds = (double)v;
			break;
		case 't':
			if (num("--threads", optarg, 1, 64, &o.threads)) return 2;
			o.threads_set = 1;
			break;
		case 'l': o.label = optarg; break;
		case OPT_SAMPLES: o.samples = optarg; break;
		case OPT_CHECK: o.check = 1; break;
		case OPT_STORE:
			if (strcmp(optarg, "sqlite") == 0) {
				o.store = BN_STORE_SQLITE;
			} else if (strcmp(optarg, "none") == 0) {
				o.store = BN_STORE_NONE;
			} else if (strcmp(optarg, "both") == 0) {
				o.store = BN_STORE_BOTH;
			} else {
				bn_err("--store '%s' must be sqlite, none or both", optarg);
				return 2;
			}
			break;
		case OPT_ROUNDS:
			if (num("--rounds", optarg, 1, BN_AB_MAX, &o.rounds)) return 2;
			break;
		case 'q': bn_quiet = 1; break;
		case 'h': usage(stdout); return 0;
		default:
			fprintf(stderr, "Try 'cove-bench --help'.\n");
			return 2;
		}
	}
	if (optind != argc - 1) {
		bn_err(optind == argc ? "which scenario? (cove-bench --help lists them)"
				      : "one scenario at a time");
		return 2;
	}
	if (!o.relay_bin) {
		/* beside this program: build/cove-bench runs build/cove-rendezvous */
		char self[PATH_MAX];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n <= 0) {
			bn_err("cannot find the relay: give --relay PATH");
			return 2;
		}
		self[n] = '\0';
		snprintf(relay_default, sizeof(relay_default), "%s/cove-rendezvous", dirname(self));
		o.relay_bin = relay_default;
	}
	if (cove_crypto_init() != COVE_OK) {
		bn_err("libsodium cannot start, or this CPU has no AES-GCM support");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
		if (strcmp(argv[optind], scenarios[i].name) != 0)
			continue;
		if (o.mqtt && scenarios[i].run != bn_sc_fanout && scenarios[i].run != bn_sc_latency) {
			bn_err("--mqtt: only fanout and latency run against a broker");
			return 2;
		}
		if (o.store == BN_STORE_BOTH && (o.mqtt || (scenarios[i].run != bn_sc_ingress &&
							    scenarios[i].run != bn_sc_fanout))) {
			bn_err("--store both: only ingress and fanout (against Cove) compare the two");
			return 2;
		}
		return scenarios[i].run(&o) == 0 ? 0 : 1;
	}
	bn_err("no scenario '%s' (cove-bench --help lists them)", argv[optind]);
	return 2;
}
