/*
 * cove-node - join rooms on a Cove rendezvous and chat: interactively on
 * a terminal, line by line through a pipe, or as JSON lines (--json).
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "common/err.h"
#include "node/app.h"

#define MAX_ROOMS 64
#define TICK_MS 20

_Static_assert(EVENT_LOG_DEBUG == 0 && EVENT_LOG_MSG == 1 && EVENT_LOG_WARN == 2 &&
	       EVENT_LOG_ERR == 3, "the severities cove_log_libevent() maps");

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cove-node -k KEYFILE -w WHITELIST -s HOST:PORT -S SERVER_PUBKEY\n"
		"                 -r ROOM [-r ROOM...] [--json] [options]\n"
		"\n"
		"Joins rooms on a Cove rendezvous and chats, end to end encrypted.\n"
		"\n"
		"  -k, --key FILE            your secret key (cove-keys generate)\n"
		"  -w, --whitelist FILE      who you trust: only these get the room key from you\n"
		"                            and only their messages are shown (SIGHUP re-reads it)\n"
		"  -s, --server HOST:PORT    the rendezvous\n"
		"  -S, --server-key PUBKEY   the rendezvous's public key (pinned)\n"
		"  -r, --room ROOM           a room to join (1-64 visible ASCII characters);\n"
		"                            repeat for more; plain lines go to the first\n"
		"      --json                JSON lines: commands on stdin, events on stdout\n"
		"      --passphrase-file F   read the key's passphrase from F\n"
		"      --keepalive MS        ping a silent rendezvous after MS, give the link up\n"
		"                            after 3*MS (default %u)\n"
		"      --no-reconnect        exit when the link is lost instead of reconnecting\n"
		"      --rekey-interval S    ask for a new room key every S seconds (default %u)\n"
		"      --rekey-messages N    ... and after N of your messages under one key\n"
		"                            (default %llu)\n"
		"  -v, --verbose             more diagnostics on standard error\n"
		"  -h, --help                show this help\n"
		"  -V, --version             show the version\n"
		"\n"
		"On a terminal: type to send; /who lists members, /room NAME switches room,\n"
		"/rekey asks for a new room key, /quit leaves. From a pipe: each line is a\n"
		"message; each message received is printed as '[ROOM] NAME: TEXT'; end of\n"
		"input quits once all is sent. JSON: {\"cmd\":\"send\",\"text\":T[,\"room\":R]},\n"
		"{\"cmd\":\"who\"}, {\"cmd\":\"rekey\"}, {\"cmd\":\"quit\"}; events: ready, message,\n"
		"joined, left, epoch, gap, disconnected, error (see cove-node(1)).\n",
		ND_KEEPALIVE_MS, ND_REKEY_INTERVAL_S, (unsigned long long)ND_REKEY_MESSAGES);
}

static void on_error(void *ctx, const char *room, const char *code, const char *msg, int fatal)
{
	struct nd_app *a = ctx;

	if (a->fe->ui.error)
		a->fe->ui.error(a, room, code, msg, fatal);
	if (fatal)
		nd_app_exit(a, 1);
}

static void on_connected(void *ctx)
{
	struct nd_app *a = ctx;

	a->backoff_ms = ND_BACKOFF_MIN_MS; /* a good link: start again gently next time */
	if (a->fe->ui.connected)
		a->fe->ui.connected(a);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	nd_app_tick(arg);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct nd_app *a = arg;

	(void)what;
	if (sig == SIGHUP) {
		nd_app_reload(a);
		return;
	}
	/* A second signal while quitting means: now. */
	if (a->quitting)
		nd_app_exit(a, 130);
	else
		nd_app_quit(a, sig == SIGINT ? 130 : 143);
}

static uint64_t clock_ms(void)
{
	return cove_now_ms();
}

static uint64_t clock_us(void)
{
	return cove_now_us();
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

enum { OPT_JSON = 256, OPT_PASS, OPT_KEEPALIVE, OPT_NO_RECONNECT, OPT_REKEY_INTERVAL,
       OPT_REKEY_MESSAGES };

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "whitelist", required_argument, NULL, 'w' },
		{ "server", required_argument, NULL, 's' },
		{ "server-key", required_argument, NULL, 'S' },
		{ "room", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "passphrase-file", required_argument, NULL, OPT_PASS },
		{ "keepalive", required_argument, NULL, OPT_KEEPALIVE },
		{ "no-reconnect", no_argument, NULL, OPT_NO_RECONNECT },
		{ "rekey-interval", required_argument, NULL, OPT_REKEY_INTERVAL },
		{ "rekey-messages", required_argument, NULL, OPT_REKEY_MESSAGES },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key_path = NULL, *server = NULL, *server_key = NULL, *pass_file = NULL,
		   *rooms[MAX_ROOMS];
	struct event *tick = NULL, *sig_int = NULL, *sig_term = NULL, *sig_hup = NULL;
	struct timeval tick_tv = { 0, TICK_MS * 1000 };
	struct cove_ident *id = NULL;
	const struct cove_wl_entry *me;
	struct nd_app app, *a = &app;
	struct nd_ui core_ui;
	struct nd_core_deps deps;
	struct nd_core_opts copts = { 0, 0 };
	char host[256];
	size_t nrooms = 0;
	unsigned long long v;
	int c, json = 0, ret, fe_started = 0;

	cove_prog = "cove-node";
	memset(a, 0, sizeof(*a));
	a->status = 1;
	a->conf.keepalive_ms = ND_KEEPALIVE_MS;
	while ((c = getopt_long(argc, argv, "k:w:s:S:r:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key_path = optarg; break;
		case 'w': a->conf.wl_path = optarg; break;
		case 's': server = optarg; break;
		case 'S': server_key = optarg; break;
		case 'r':
			if (nrooms == MAX_ROOMS) {
				cove_cli_err("at most %d rooms", MAX_ROOMS);
				return 2;
			}
			if (!cove_room_valid(optarg, strlen(optarg))) {
				cove_cli_err("room name '%.80s' is not 1-%d visible ASCII characters "
					     "(no spaces)", optarg, COVE_ROOM_MAX);
				return 2;
			}
			rooms[nrooms++] = optarg;
			break;
		case OPT_JSON: json = 1; break;
		case OPT_PASS: pass_file = optarg; break;
		case OPT_KEEPALIVE:
			if (parse_num("--keepalive", optarg, 100, 3600000, &v)) return 2;
			a->conf.keepalive_ms = (unsigned)v;
			break;
		case OPT_NO_RECONNECT: a->conf.no_reconnect = 1; break;
		case OPT_REKEY_INTERVAL:
			if (parse_num("--rekey-interval", optarg, 1, 31536000, &v)) return 2;
			copts.rekey_interval_s = (unsigned)v;
			break;
		case OPT_REKEY_MESSAGES:
			if (parse_num("--rekey-messages", optarg, 1, ND_REKEY_MESSAGES, &v)) return 2;
			copts.rekey_messages = v;
			break;
		case 'v': cove_log_set_level(COVE_LOG_DEBUG); break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("cove-node %s\n", COVE_VERSION); return 0;
		default:
			fprintf(stderr, "Try 'cove-node --help'.\n");
			return 2;
		}
	}
	if (optind < argc) {
		cove_cli_err("unexpected argument '%s'; try --help", argv[optind]);
		return 2;
	}
	if (!key_path || !a->conf.wl_path || !server || !server_key || nrooms == 0) {
		cove_cli_err("-k KEYFILE, -w WHITELIST, -s HOST:PORT, -S SERVER_PUBKEY and at "
			     "least one -r ROOM are required; try --help");
		return 2;
	}
	if (cove_cli_hostport("-s", server, host, sizeof(host), &a->conf.port, 0) != 0 ||
	    cove_cli_pubkey("-S", server_key, a->conf.relay) != 0)
		return 2;
	a->conf.host = host;
	ret = cove_crypto_init();
	if (ret != COVE_OK) {
		cove_cli_err("%s", cove_strerror(ret));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	id = cove_cli_identity(key_path, pass_file);
	if (!id)
		goto out;
	a->wl = cove_cli_whitelist(a->conf.wl_path);
	if (!a->wl)
		goto out;
	me = cove_wl_find_pk(a->wl, id->pk);
	a->self = me ? me->name : "me";
	a->id = id;
	a->room = rooms[0];
	a->fe = json ? &nd_fe_json : isatty(STDIN_FILENO) ? &nd_fe_tty : &nd_fe_pipe;
	/* libevent prints "[warn] ..." lines of its own otherwise. */
	event_set_log_callback(cove_log_libevent);
	a->base = event_base_new();
	if (!a->base) {
		cove_cli_err("cannot create an event loop");
		goto out;
	}
	core_ui = a->fe->ui;
	core_ui.error = on_error;
	core_ui.connected = on_connected;
	core_ui.ctx = a;
	deps.send = nd_app_send_frame;
	deps.send_ctx = a;
	deps.now_ms = clock_ms;
	deps.now_us = clock_us;
	a->core = nd_core_new(id, a->wl, a->conf.relay, &core_ui, &deps, &copts);
	tick = event_new(a->base, -1, EV_PERSIST, on_tick, a);
	sig_int = evsignal_new(a->base, SIGINT, on_signal, a);
	sig_term = evsignal_new(a->base, SIGTERM, on_signal, a);
	sig_hup = evsignal_new(a->base, SIGHUP, on_signal, a);
	if (!a->core || !tick || !sig_int || !sig_term || !sig_hup || event_add(tick, &tick_tv) ||
	    evsignal_add(sig_term, NULL) || evsignal_add(sig_int, NULL) ||
	    evsignal_add(sig_hup, NULL)) {
		cove_cli_err("out of memory");
		goto out;
	}
	for (size_t i = 0; i < nrooms; i++) {
		ret = nd_core_add_room(a->core, rooms[i]);
		if (ret == COVE_ERR_EXISTS) {
			cove_cli_err("room '%s' is given twice", rooms[i]);
			goto out;
		}
		if (ret != COVE_OK) {
			cove_cli_err("cannot add room '%s': %s", rooms[i], cove_strerror(ret));
			goto out;
		}
	}
	if (a->fe->start(a) != 0)
		goto out;
	fe_started = 1;
	if (nd_app_connect(a) == 0)
		event_base_dispatch(a->base);
out:
	if (fe_started)
		a->fe->stop(a);
	nd_input_free(a->in);
	nd_core_free(a->core);
	nd_app_free_links(a);
	if (tick)
		event_free(tick);
	if (sig_int)
		event_free(sig_int);
	if (sig_term)
		event_free(sig_term);
	if (sig_hup)
		event_free(sig_hup);
	if (a->base)
		event_base_free(a->base);
	cove_wl_free(a->wl);
	cove_ident_free(id);
	fflush(stdout);
	return a->status;
}
