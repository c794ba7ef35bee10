/*
 * cove-rendezvous - the relay: authenticates nodes against the whitelist
 * and forwards their signed frames between the members of each room,
 * seeing neither messages nor keys.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "common/err.h"
#include "rendezvous/rv.h"

#define DEFAULT_LISTEN "127.0.0.1:7470"

static void on_stop(evutil_socket_t sig, short what, void *arg);
static void on_hup(evutil_socket_t sig, short what, void *arg);
static void on_usr1(evutil_socket_t sig, short what, void *arg);

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cove-rendezvous -k KEYFILE -w WHITELIST [-l HOST:PORT] [options]\n"
		"\n"
		"Relays Cove frames between the whitelisted members of each room. It never\n"
		"sees a message or a group key.\n"
		"\n"
		"  -k, --key FILE           the relay's secret key (cove-keys generate)\n"
		"  -w, --whitelist FILE     who may connect (cove-keys add)\n"
		"  -l, --listen HOST:PORT   address to listen on (default %s;\n"
		"                           port 0 picks a free port)\n"
		"      --passphrase-file F  read the key's passphrase from F\n"
		"      --max-conns N        connections at once (default %d)\n"
		"      --max-unauth N       handshakes in progress at once (default %d)\n"
		"      --max-queue BYTES    output queued per connection before it is\n"
		"                           dropped as a slow reader (default %u)\n"
		"      --max-rooms N        rooms per connection (default %d)\n"
		"      --auth-timeout MS    time allowed for the handshake (default %d)\n"
		"      --join-timeout MS    time a member has to hand over the key, or make\n"
		"                           a new epoch, before another is asked (default %d)\n"
		"      --grace MS           a member whose connection is lost keeps its place\n"
		"                           this long before the room counts it gone and is\n"
		"                           rekeyed (default %d)\n"
		"      --keepalive MS       PING a silent node after MS; drop it after 3*MS\n"
		"                           (default %d)\n"
		"      --rate N             DATs per second a node may send (default %d)\n"
		"      --burst N            DATs a node may send at once (default %d)\n"
		"      --verify-threads N   check signatures on N worker threads, 0 to %d;\n"
		"                           0 checks them on the event loop (default: one\n"
		"                           per CPU but one, at most %d)\n"
		"      --verify-inline N    below N checks a second, with the threads idle,\n"
		"                           the event loop checks them itself (default %d;\n"
		"                           0: always on the threads)\n"
		"  -v, --verbose            log every join and connection (debug level)\n"
		"  -q, --quiet              log only warnings and errors\n"
		"  -h, --help               show this help\n"
		"  -V, --version            show the version\n"
		"\n"
		"Once listening it prints 'listening on HOST:PORT' to standard error.\n"
		"Signals: HUP reloads the whitelist, USR1 logs counters, TERM/INT stop.\n",
		DEFAULT_LISTEN, RV_DEFAULT_MAX_CONNS, RV_DEFAULT_MAX_UNAUTH, RV_DEFAULT_MAX_QUEUE,
		RV_DEFAULT_MAX_ROOMS, RV_DEFAULT_AUTH_TIMEOUT_MS, RV_DEFAULT_JOIN_TIMEOUT_MS,
		RV_DEFAULT_GRACE_MS, RV_DEFAULT_KEEPALIVE_MS, RV_DEFAULT_RATE, RV_DEFAULT_BURST,
		RV_VERIFY_THREADS_MAX, RV_VERIFY_THREADS_AUTO, RV_DEFAULT_VERIFY_INLINE);
}

/* One worker per CPU but one: the loop checks frames too when they pile
 * up (verify.c), so it takes the last CPU's share; a worker more would
 * only fight it for that CPU. A single CPU gains nothing from threads. */
static unsigned default_verify_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n <= 1)
		return 0;
	return n - 1 > RV_VERIFY_THREADS_AUTO ? RV_VERIFY_THREADS_AUTO : (unsigned)(n - 1);
}

static int parse_num(const char *opt, const char *s, unsigned long long min,
		     unsigned long long max, unsigned long long *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (s[0] == '-' || *end != '\0' || end == s || errno || v < min || v > max) {
		cove_cli_err("%s '%s' must be a number from %llu to %llu", opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

/* Descriptors kept free of connections: the listener, the event loop's
 * own, logs, and connections still closing. */
#define FD_MARGIN 32

/* Many connections need many descriptors: take the hard limit, and keep
 * --max-conns within it, so that running out of descriptors is a
 * refusal at the limit rather than accept() failing. */
static void fit_nofile(struct rv_conf *conf)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && conf->max_conns + FD_MARGIN > rl.rlim_cur) {
		size_t fit = rl.rlim_cur > 2 * FD_MARGIN ? (size_t)rl.rlim_cur - FD_MARGIN : FD_MARGIN;

		log_warn("only %llu file descriptors: --max-conns lowered from %zu to %zu "
			 "(raise 'ulimit -n' for more)", (unsigned long long)rl.rlim_cur,
			 conf->max_conns, fit);
		conf->max_conns = fit;
	}
	if (conf->max_unauth > conf->max_conns)
		conf->max_unauth = conf->max_conns;
}

static void on_stop(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	log_info("%s: stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopexit(arg, NULL);
}

static void on_hup(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	log_info("SIGHUP: reloading the whitelist");
	rv_server_reload(arg);
}

static void on_usr1(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	rv_server_log_stats(arg);
}

enum { OPT_PASS = 256, OPT_MAX_CONNS, OPT_MAX_UNAUTH, OPT_MAX_QUEUE, OPT_MAX_ROOMS,
       OPT_AUTH_TIMEOUT, OPT_JOIN_TIMEOUT, OPT_GRACE, OPT_KEEPALIVE, OPT_RATE, OPT_BURST,
       OPT_VERIFY_THREADS, OPT_VERIFY_INLINE };

/* The event loop. With epoll's change list, a write event added and
 * removed again within one turn of the loop costs no epoll_ctl call:
 * in a busy room (fanout 1x100) that took a fifth of them away (193,324
 * -> 156,332 for 1.2 million deliveries). Its known catch, descriptors
 * shared through dup(), does not arise here. */
static struct event_base *new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (!cfg)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "whitelist", required_argument, NULL, 'w' },
		{ "listen", required_argument, NULL, 'l' },
		{ "passphrase-file", required_argument, NULL, OPT_PASS },
		{ "max-conns", required_argument, NULL, OPT_MAX_CONNS },
		{ "max-unauth", required_argument, NULL, OPT_MAX_UNAUTH },
		{ "max-queue", required_argument, NULL, OPT_MAX_QUEUE },
		{ "max-rooms", required_argument, NULL, OPT_MAX_ROOMS },
		{ "auth-timeout", required_argument, NULL, OPT_AUTH_TIMEOUT },
		{ "join-timeout", required_argument, NULL, OPT_JOIN_TIMEOUT },
		{ "grace", required_argument, NULL, OPT_GRACE },
		{ "keepalive", required_argument, NULL, OPT_KEEPALIVE },
		{ "rate", required_argument, NULL, OPT_RATE },
		{ "burst", required_argument, NULL, OPT_BURST },
		{ "verify-threads", required_argument, NULL, OPT_VERIFY_THREADS },
		{ "verify-inline", required_argument, NULL, OPT_VERIFY_INLINE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct rv_conf conf = {
		.max_conns = RV_DEFAULT_MAX_CONNS,
		.max_unauth = RV_DEFAULT_MAX_UNAUTH,
		.max_queue = RV_DEFAULT_MAX_QUEUE,
		.max_rooms = RV_DEFAULT_MAX_ROOMS,
		.auth_timeout_ms = RV_DEFAULT_AUTH_TIMEOUT_MS,
		.join_timeout_ms = RV_DEFAULT_JOIN_TIMEOUT_MS,
		.grace_ms = RV_DEFAULT_GRACE_MS,
		.keepalive_ms = RV_DEFAULT_KEEPALIVE_MS,
		.rate = RV_DEFAULT_RATE,
		.burst = RV_DEFAULT_BURST,
		.verify_threads = default_verify_threads(),
		.verify_inline = RV_DEFAULT_VERIFY_INLINE,
	};
	const char *key_path = NULL, *wl_path = NULL, *listen = DEFAULT_LISTEN, *pass_file = NULL;
	struct event *sig_int = NULL, *sig_term = NULL, *sig_hup = NULL, *sig_usr1 = NULL;
	struct event_base *base = NULL;
	struct cove_ident *id = NULL;
	struct cove_wl *wl = NULL;
	struct rv_server srv;
	char host[256], bound[80], b64[COVE_PK_B64_LEN + 1];
	unsigned long long v;
	uint16_t port;
	int c, ret, status = 1, inited = 0;

	cove_prog = "cove-rendezvous";
	while ((c = getopt_long(argc, argv, "k:w:l:vqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key_path = optarg; break;
		case 'w': wl_path = optarg; break;
		case 'l': listen = optarg; break;
		case OPT_PASS: pass_file = optarg; break;
		case OPT_MAX_CONNS:
			if (parse_num("--max-conns", optarg, 1, 1000000, &v)) return 2;
			conf.max_conns = (size_t)v;
			break;
		case OPT_MAX_UNAUTH:
			if (parse_num("--max-unauth", optarg, 1, 1000000, &v)) return 2;
			conf.max_unauth = (size_t)v;
			break;
		case OPT_MAX_QUEUE:
			if (parse_num("--max-queue", optarg, 2 * COVE_RECORD_MAX, 1ULL << 32, &v))
				return 2;
			conf.max_queue = (size_t)v;
			break;
		case OPT_MAX_ROOMS:
			if (parse_num("--max-rooms", optarg, 1, 4096, &v)) return 2;
			conf.max_rooms = (size_t)v;
			break;
		case OPT_AUTH_TIMEOUT:
			if (parse_num("--auth-timeout", optarg, 10, 600000, &v)) return 2;
			conf.auth_timeout_ms = (unsigned)v;
			break;
		case OPT_JOIN_TIMEOUT:
			if (parse_num("--join-timeout", optarg, 10, 600000, &v)) return 2;
			conf.join_timeout_ms = (unsigned)v;
			break;
		case OPT_GRACE:
			if (parse_num("--grace", optarg, 0, 3600000, &v)) return 2;
			conf.grace_ms = (unsigned)v;
			break;
		case OPT_KEEPALIVE:
			if (parse_num("--keepalive", optarg, 100, 3600000, &v)) return 2;
			conf.keepalive_ms = (unsigned)v;
			break;
		case OPT_RATE:
			if (parse_num("--rate", optarg, 1, 1000000, &v)) return 2;
			conf.rate = (unsigned)v;
			break;
		case OPT_BURST:
			if (parse_num("--burst", optarg, 1, 1000000, &v)) return 2;
			conf.burst = (unsigned)v;
			break;
		case OPT_VERIFY_THREADS:
			if (parse_num("--verify-threads", optarg, 0, RV_VERIFY_THREADS_MAX, &v))
				return 2;
			conf.verify_threads = (unsigned)v;
			break;
		case OPT_VERIFY_INLINE:
			if (parse_num("--verify-inline", optarg, 0, RV_VERIFY_INLINE_MAX, &v))
				return 2;
			conf.verify_inline = (unsigned)v;
			break;
		case 'v': cove_log_set_level(COVE_LOG_DEBUG); break;
		case 'q': cove_log_set_level(COVE_LOG_WARN); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("cove-rendezvous %s\n", COVE_VERSION); return 0;
		default:
			fprintf(stderr, "Try 'cove-rendezvous --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		cove_cli_err("unexpected argument '%s'; try --help", argv[optind]);
		return 2;
	}
	if (!key_path || !wl_path) {
		cove_cli_err("both -k KEYFILE and -w WHITELIST are required; try --help");
		return 2;
	}
	if (cove_cli_hostport("-l", listen, host, sizeof(host), &port, 1) != 0)
		return 2;
	ret = cove_crypto_init();
	if (ret != COVE_OK) {
		cove_cli_err("%s", cove_strerror(ret));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* libevent's own warnings in our log, with our levels and format */
	event_set_log_callback(cove_log_libevent);
	fit_nofile(&conf);
	id = cove_cli_identity(key_path, pass_file);
	if (!id)
		goto out;
	wl = cove_cli_whitelist(wl_path);
	if (!wl)
		goto out;
	base = new_base();
	if (!base) {
		cove_cli_err("cannot create an event loop");
		goto out;
	}
	if (rv_server_init(&srv, base, id, wl, wl_path, &conf) != 0) {
		cove_cli_err("out of memory");
		goto out;
	}
	inited = 1;
	wl = NULL; /* the server owns it now */
	ret = rv_verify_start(&srv);
	if (ret != 0) {
		cove_cli_err("cannot set up signature checks on %u threads: %s; try "
			     "--verify-threads 0", conf.verify_threads, strerror(-ret));
		goto out;
	}
	sig_int = evsignal_new(base, SIGINT, on_stop, base);
	sig_term = evsignal_new(base, SIGTERM, on_stop, base);
	sig_hup = evsignal_new(base, SIGHUP, on_hup, &srv);
	sig_usr1 = evsignal_new(base, SIGUSR1, on_usr1, &srv);
	if (!sig_int || !sig_term || !sig_hup || !sig_usr1 || evsignal_add(sig_int, NULL) ||
	    evsignal_add(sig_term, NULL) || evsignal_add(sig_hup, NULL) ||
	    evsignal_add(sig_usr1, NULL)) {
		cove_cli_err("cannot install signal handlers");
		goto out;
	}
	if (rv_server_listen(&srv, host, port, bound, sizeof(bound)) != 0)
		goto out;
	cove_pk_to_b64(b64, id->pk);
	log_info("cove-rendezvous %s, key %s, whitelist %s (%zu entries)", COVE_VERSION, b64,
		 wl_path, cove_wl_count(srv.wl));
	if (conf.verify_threads)
		log_info("verifying signatures on %u worker thread%s", conf.verify_threads,
			 conf.verify_threads == 1 ? "" : "s");
	else
		log_info("verifying signatures on the event loop");
	/* The one line scripts wait for; unadorned, and flushed at once. */
	fprintf(stderr, "listening on %s\n", bound);
	fflush(stderr);
	if (event_base_dispatch(base) < 0) {
		cove_cli_err("event loop failed");
		goto out;
	}
	rv_server_log_stats(&srv);
	status = 0;
out:
	if (inited) {
		rv_server_shutdown(&srv);
		cove_wl_free(srv.wl);
	}
	if (sig_int)
		event_free(sig_int);
	if (sig_term)
		event_free(sig_term);
	if (sig_hup)
		event_free(sig_hup);
	if (sig_usr1)
		event_free(sig_usr1);
	if (base)
		event_base_free(base);
	cove_wl_free(wl);
	cove_ident_free(id);
	return status;
}
