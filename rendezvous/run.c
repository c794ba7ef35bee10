/*
 * run.c - cove-rendezvous from its command line to its exit status: the
 * options, the keys, the signals and the event loop.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "cli/opts.h"
#include "common/err.h"
#include "rendezvous/run.h"
#include "rendezvous/server.h"
#include "store/store.h"

#define DEFAULT_LISTEN "127.0.0.1:7470"

static void on_stop(evutil_socket_t sig, short what, void *arg);
static void on_hup(evutil_socket_t sig, short what, void *arg);
static void on_usr1(evutil_socket_t sig, short what, void *arg);

/* A number macro as a string literal, for help texts. */
#define STR_(x) #x
#define STR(x) STR_(x)

enum { OPT_PASS = COVE_OPT_LONG, OPT_MAX_CONNS, OPT_MAX_UNAUTH, OPT_MAX_QUEUE, OPT_MAX_ROOMS,
       OPT_AUTH_TIMEOUT, OPT_JOIN_TIMEOUT, OPT_GRACE, OPT_KEEPALIVE, OPT_RATE, OPT_BURST,
       OPT_VERIFY_THREADS, OPT_VERIFY_INLINE, OPT_STORE, OPT_RETAIN_DAYS, OPT_RETAIN_BYTES,
       OPT_FSYNC, OPT_MEMBER_EXPIRY };

#define DEFAULT_STORE "cove-store.db"
#define DEFAULT_RETAIN_DAYS 30
#define DEFAULT_RETAIN_BYTES (256ULL << 20)
#define DEFAULT_MEMBER_EXPIRY_S (30ULL * 86400)
#define MEMBER_EXPIRY_MAX_S (10ULL * 365 * 86400)

static const struct cove_opt options[] = {
	COVE_OPT_STR('k', "key", "FILE", "the relay's secret key (cove-keys generate)"),
	COVE_OPT_STR('w', "whitelist", "FILE", "who may connect (cove-keys add)"),
	COVE_OPT_STR('l', "listen", "HOST:PORT",
		     "address to listen on (default " DEFAULT_LISTEN ";\n"
		     "port 0 picks a free port)"),
	COVE_OPT_STR(OPT_PASS, "passphrase-file", "F", "read the key's passphrase from F"),
	COVE_OPT_NUM(OPT_MAX_CONNS, "max-conns", "N", 1, 1000000, RV_DEFAULT_MAX_CONNS,
		     "connections at once (default {default})"),
	COVE_OPT_NUM(OPT_MAX_UNAUTH, "max-unauth", "N", 1, 1000000, RV_DEFAULT_MAX_UNAUTH,
		     "handshakes in progress at once (default {default})"),
	COVE_OPT_NUM(OPT_MAX_QUEUE, "max-queue", "BYTES", 2 * COVE_RECORD_MAX, 1ULL << 32,
		     RV_DEFAULT_MAX_QUEUE,
		     "output queued per connection before it is\n"
		     "dropped as a slow reader (default {default})"),
	COVE_OPT_NUM(OPT_MAX_ROOMS, "max-rooms", "N", 1, 4096, RV_DEFAULT_MAX_ROOMS,
		     "rooms per connection (default {default})"),
	COVE_OPT_NUM(OPT_AUTH_TIMEOUT, "auth-timeout", "MS", 10, 600000,
		     RV_DEFAULT_AUTH_TIMEOUT_MS, "time allowed for the handshake (default {default})"),
	COVE_OPT_NUM(OPT_JOIN_TIMEOUT, "join-timeout", "MS", 10, 600000,
		     RV_DEFAULT_JOIN_TIMEOUT_MS,
		     "time a member has to hand over the key, or make\n"
		     "a new epoch, before another is asked (default {default})"),
	/* obsolete: a member whose connection is lost is away, with no
	 * time limit but --member-expiry; accepted so that command lines
	 * of 0.1 still start */
	COVE_OPT_NUM(OPT_GRACE, "grace", "MS", 0, 3600000, 0,
		     "obsolete, ignored: a member whose connection is\n"
		     "lost is away until --member-expiry"),
	COVE_OPT_STR(OPT_STORE, "store", "PATH",
		     "keep rooms, members and frames in this SQLite\n"
		     "file (default " DEFAULT_STORE " in the current\n"
		     "folder); 'none': in memory only, lost at exit"),
	COVE_OPT_NUM(OPT_RETAIN_DAYS, "retain-days", "N", 0, 36500, DEFAULT_RETAIN_DAYS,
		     "drop a room's frames older than N days\n"
		     "(default {default}; 0: no limit by age)"),
	COVE_OPT_NUM(OPT_RETAIN_BYTES, "retain-bytes", "BYTES", 0, 1ULL << 50,
		     DEFAULT_RETAIN_BYTES,
		     "keep at most this many bytes of frames per room,\n"
		     "the oldest dropped first (default {default})"),
	COVE_OPT_FLAG(OPT_FSYNC, "fsync", "make each frame durable on disk before it is\n"
		      "fanned out (slower; safe against a power loss)"),
	COVE_OPT_STR(OPT_MEMBER_EXPIRY, "member-expiry", "TIME",
		     "remove a member away longer than TIME: seconds,\n"
		     "or a number with s, m, h or d (default 30d)"),
	COVE_OPT_NUM(OPT_KEEPALIVE, "keepalive", "MS", 100, 3600000, RV_DEFAULT_KEEPALIVE_MS,
		     "PING a silent node after MS; drop it after 3*MS\n"
		     "(default {default})"),
	COVE_OPT_NUM(OPT_RATE, "rate", "N", 1, 1000000, RV_DEFAULT_RATE,
		     "DATs per second a node may send (default {default})"),
	COVE_OPT_NUM(OPT_BURST, "burst", "N", 1, 1000000, RV_DEFAULT_BURST,
		     "DATs a node may send at once (default {default})"),
	/* its default depends on the machine (default_verify_threads()) */
	COVE_OPT_NUM(OPT_VERIFY_THREADS, "verify-threads", "N", 0, RV_VERIFY_THREADS_MAX, 0,
		     "check signatures on N worker threads, 0 to {max};\n"
		     "0 checks them on the event loop (default: one\n"
		     "per CPU but one, at most " STR(RV_VERIFY_THREADS_AUTO) ")"),
	COVE_OPT_NUM(OPT_VERIFY_INLINE, "verify-inline", "N", 0, RV_VERIFY_INLINE_MAX,
		     RV_DEFAULT_VERIFY_INLINE,
		     "below N checks a second, with the threads idle,\n"
		     "the event loop checks them itself (default {default};\n"
		     "0: always on the threads)"),
	COVE_OPT_FLAG('v', "verbose", "log every join and connection (debug level)"),
	COVE_OPT_FLAG('q', "quiet", "log only warnings and errors"),
	COVE_OPT_FLAG('h', "help", "show this help"),
	COVE_OPT_FLAG('V', "version", "show the version"),
};

static const struct cove_opts_spec spec = {
	.usage = "Usage: cove-rendezvous -k KEYFILE -w WHITELIST [-l HOST:PORT] [options]\n"
		 "\n"
		 "Relays Cove frames between the whitelisted members of each room. It never\n"
		 "sees a message or a group key.\n"
		 "\n",
	.footer = "\n"
		  "Once listening it prints 'listening on HOST:PORT' to standard error.\n"
		  "Signals: HUP reloads the whitelist, USR1 logs counters, TERM/INT stop.\n",
	.opts = options,
	.nopts = sizeof(options) / sizeof(options[0]),
	.help_col = 27,
};

/* The command line, checked: what run() needs. */
struct args {
	struct rv_conf conf;
	const char *key_path, *wl_path, *pass_file;
	const char *store_path;        /* NULL: --store none */
	struct cove_store_conf store_conf;
	char host[256];
	uint16_t port;
};

/* One worker per CPU but one: the loop checks frames too when they pile
 * up (verify/verify.c), so it takes the last CPU's share; a worker more would
 * only fight it for that CPU. A single CPU gains nothing from threads. */
static unsigned default_verify_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n <= 1)
		return 0;
	return n - 1 > RV_VERIFY_THREADS_AUTO ? RV_VERIFY_THREADS_AUTO : (unsigned)(n - 1);
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

/* Parses --member-expiry: seconds, or a number with s, m, h or d. */
static int parse_duration(const char *opt, const char *s, uint64_t *out_ms)
{
	static const struct { char c; unsigned long long s; } units[] = {
		{ 's', 1 }, { 'm', 60 }, { 'h', 3600 }, { 'd', 86400 },
	};
	char num[32];
	size_t n = strlen(s);
	unsigned long long mult = 1, v;

	if (n > 1 && n < sizeof(num)) {
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (s[n - 1] == units[i].c) {
				mult = units[i].s;
				n--;
				break; /* one unit: "5ms" is no number */
			}
	}
	if (n == 0 || n >= sizeof(num) || strspn(s, "0123456789") != n) {
		cove_cli_err("%s '%s' must be a number of seconds, or a number with s, m, h or d "
			     "(30d)", opt, s);
		return -1;
	}
	memcpy(num, s, n);
	num[n] = '\0';
	errno = 0;
	v = strtoull(num, NULL, 10);
	if (errno != 0 || v < 1 || v > MEMBER_EXPIRY_MAX_S / mult) {
		cove_cli_err("%s '%s' must be from 1 second to 10 years (1s to 3650d)", opt, s);
		return -1;
	}
	*out_ms = v * mult * 1000;
	return 0;
}

/* Reads the command line into g. Returns -1 when the relay is to run,
 * else the status to exit with (--help, --version, or a bad option, said). */
static int parse(int argc, char **argv, struct args *g)
{
	const char *listen = DEFAULT_LISTEN;
	struct cove_opts p;
	struct cove_opt_val v;
	int c;

	memset(g, 0, sizeof(*g));
	g->conf = (struct rv_conf){
		.max_conns = RV_DEFAULT_MAX_CONNS,
		.max_unauth = RV_DEFAULT_MAX_UNAUTH,
		.max_queue = RV_DEFAULT_MAX_QUEUE,
		.max_rooms = RV_DEFAULT_MAX_ROOMS,
		.auth_timeout_ms = RV_DEFAULT_AUTH_TIMEOUT_MS,
		.join_timeout_ms = RV_DEFAULT_JOIN_TIMEOUT_MS,
		.keepalive_ms = RV_DEFAULT_KEEPALIVE_MS,
		.rate = RV_DEFAULT_RATE,
		.burst = RV_DEFAULT_BURST,
		.verify_threads = default_verify_threads(),
		.verify_inline = RV_DEFAULT_VERIFY_INLINE,
		.member_expiry_ms = DEFAULT_MEMBER_EXPIRY_S * 1000,
	};
	g->store_path = DEFAULT_STORE;
	g->store_conf = (struct cove_store_conf){
		.retain_ms = DEFAULT_RETAIN_DAYS * 86400000ULL,
		.retain_bytes = DEFAULT_RETAIN_BYTES,
	};
	if (cove_opts_init(&p, &spec, argc, argv) != 0) {
		cove_cli_err("the option table is malformed (a bug)");
		return 1;
	}
	while ((c = cove_opts_next(&p, &v)) != COVE_OPTS_END) {
		switch (c) {
		case 'k': g->key_path = v.arg; break;
		case 'w': g->wl_path = v.arg; break;
		case 'l': listen = v.arg; break;
		case OPT_PASS: g->pass_file = v.arg; break;
		case OPT_MAX_CONNS: g->conf.max_conns = (size_t)v.num; break;
		case OPT_MAX_UNAUTH: g->conf.max_unauth = (size_t)v.num; break;
		case OPT_MAX_QUEUE: g->conf.max_queue = (size_t)v.num; break;
		case OPT_MAX_ROOMS: g->conf.max_rooms = (size_t)v.num; break;
		case OPT_AUTH_TIMEOUT: g->conf.auth_timeout_ms = (unsigned)v.num; break;
		case OPT_JOIN_TIMEOUT: g->conf.join_timeout_ms = (unsigned)v.num; break;
		case OPT_GRACE: break;
		case OPT_KEEPALIVE: g->conf.keepalive_ms = (unsigned)v.num; break;
		case OPT_RATE: g->conf.rate = (unsigned)v.num; break;
		case OPT_BURST: g->conf.burst = (unsigned)v.num; break;
		case OPT_VERIFY_THREADS: g->conf.verify_threads = (unsigned)v.num; break;
		case OPT_VERIFY_INLINE: g->conf.verify_inline = (unsigned)v.num; break;
		case OPT_STORE:
			g->store_path = strcmp(v.arg, "none") == 0 ? NULL : v.arg;
			if (g->store_path && !*g->store_path) {
				cove_cli_err("--store '' names no file; give a PATH, or 'none' "
					     "to keep nothing beyond memory");
				return 2;
			}
			break;
		case OPT_RETAIN_DAYS: g->store_conf.retain_ms = v.num * 86400000ULL; break;
		case OPT_RETAIN_BYTES: g->store_conf.retain_bytes = v.num; break;
		case OPT_FSYNC: g->store_conf.fsync = 1; break;
		case OPT_MEMBER_EXPIRY:
			if (parse_duration("--member-expiry", v.arg, &g->conf.member_expiry_ms) != 0)
				return 2;
			break;
		case 'v': cove_log_set_level(COVE_LOG_DEBUG); break;
		case 'q': cove_log_set_level(COVE_LOG_WARN); break;
		case 'h': cove_opts_help(&spec, stdout); return 0;
		case 'V': printf("cove-rendezvous %s\n", COVE_VERSION); return 0;
		default: return 2;
		}
	}
	if (!g->key_path || !g->wl_path) {
		cove_cli_err("both -k KEYFILE and -w WHITELIST are required; try --help");
		return 2;
	}
	if (cove_cli_hostport("-l", listen, g->host, sizeof(g->host), &g->port, 1) != 0)
		return 2;
	return -1;
}

/* Opens the store the command line names, or says on standard error why
 * not and what to do (the file is left as it was). NULL on failure. */
static struct cove_store *open_store(const struct args *g)
{
	const struct cove_store_ops *ops = cove_store_backend(g->store_path ? "sqlite" : "mem");
	struct cove_store *st = NULL;
	const char *path = g->store_path ? g->store_path : "";
	struct stat sb;
	int ret = ops ? cove_store_open(&st, ops, path, &g->store_conf) : COVE_ERR_INVAL;

	switch (ret) {
	case COVE_OK:
		return st;
	case COVE_ERR_STORE_FORMAT:
		if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode))
			cove_cli_err("store %s is not a regular file (a FIFO or a device?): give the "
				     "path of a file", path);
		else
			cove_cli_err("store %s is not a Cove store, or is damaged; it was left as it "
				     "is: move it away, or give another --store", path);
		break;
	case COVE_ERR_VERSION:
		cove_cli_err("store %s was written by a newer cove-rendezvous; it was left as it "
			     "is: run that version, or give another --store", path);
		break;
	case COVE_ERR_BUSY:
		cove_cli_err("store %s is in use by another process (another cove-rendezvous?): "
			     "stop it, or give another --store", path);
		break;
	case COVE_ERR_IO:
		if (errno == EISDIR)
			cove_cli_err("store %s is a folder: give the path of a file, such as "
				     "%s/cove-store.db", path, path);
		else
			cove_cli_err("store %s: %s; check the path and its folder's permissions, "
				     "or give another --store", path, strerror(errno));
		break;
	default:
		cove_cli_err("store %s: %s", path, cove_strerror(ret));
		break;
	}
	return NULL;
}

/* Runs the relay until a signal stops it; returns its exit status. */
static int run(struct args *g)
{
	struct cove_store *store = NULL;
	struct event *sig_int = NULL, *sig_term = NULL, *sig_hup = NULL, *sig_usr1 = NULL;
	struct event_base *base = NULL;
	struct cove_ident *id = NULL;
	struct cove_wl *wl = NULL;
	struct rv_server srv;
	char bound[80], b64[COVE_PK_B64_LEN + 1];
	int ret, status = 1, inited = 0;

	ret = cove_crypto_init();
	if (ret != COVE_OK) {
		cove_cli_err("%s", cove_strerror(ret));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* libevent's own warnings in our log, with our levels and format */
	event_set_log_callback(cove_log_libevent);
	fit_nofile(&g->conf);
	id = cove_cli_identity(g->key_path, g->pass_file);
	if (!id)
		goto out;
	wl = cove_cli_whitelist(g->wl_path);
	if (!wl)
		goto out;
	base = new_base();
	if (!base) {
		cove_cli_err("cannot create an event loop");
		goto out;
	}
	store = open_store(g);
	if (!store)
		goto out;
	g->conf.store = store;
	ret = rv_server_init(&srv, base, id, wl, g->wl_path, &g->conf);
	if (ret == COVE_ERR_STORE_FORMAT) {
		cove_cli_err("cannot load the rooms from the store %s: it is damaged; move it "
			     "away, or give another --store", g->store_path);
		goto out;
	} else if (ret != 0) {
		cove_cli_err("out of memory");
		goto out;
	}
	inited = 1;
	wl = NULL; /* the server owns it now */
	ret = rv_server_verify(&srv);
	if (ret != 0) {
		cove_cli_err("cannot set up signature checks on %u threads: %s; try "
			     "--verify-threads 0", g->conf.verify_threads, strerror(-ret));
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
	if (rv_server_listen(&srv, g->host, g->port, bound, sizeof(bound)) != 0)
		goto out;
	cove_pk_to_b64(b64, id->pk);
	log_info("cove-rendezvous %s, key %s, whitelist %s (%zu entries)", COVE_VERSION, b64,
		 g->wl_path, cove_wl_count(srv.wl));
	if (g->store_path) {
		/* the whole path: a service's log must say where its store is */
		char *full = realpath(g->store_path, NULL);

		log_info("store %s (sqlite): frames kept %llu days, %llu bytes per room%s",
			 full ? full : g->store_path,
			 (unsigned long long)(g->store_conf.retain_ms / 86400000),
			 (unsigned long long)g->store_conf.retain_bytes,
			 g->store_conf.fsync ? ", each made durable before it is fanned out" : "");
		free(full);
	} else {
		log_info("store none: rooms and frames are kept in memory only, lost at exit");
	}
	if (g->conf.verify_threads)
		log_info("verifying signatures on %u worker thread%s", g->conf.verify_threads,
			 g->conf.verify_threads == 1 ? "" : "s");
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
	cove_store_close(store); /* after the rooms: commits their last turn */
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

int rv_main(int argc, char **argv, const struct rv_hooks *hooks)
{
	static struct args g;
	int status;

	cove_prog = "cove-rendezvous";
	status = parse(argc, argv, &g);
	if (status >= 0)
		return status;
	g.conf.tamper = hooks ? hooks->tamper : NULL;
	return run(&g);
}
