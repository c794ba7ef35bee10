/*
 * cove-node - join rooms on a Cove rendezvous and chat: interactively on
 * a terminal, line by line through a pipe, or as JSON lines (--json).
 */
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

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: cove-node -k KEYFILE -w WHITELIST -s HOST:PORT -S SERVER_PUBKEY\n"
		"                 -r ROOM [-r ROOM...] [--json]\n"
		"\n"
		"Joins rooms on a Cove rendezvous and chats, end to end encrypted.\n"
		"\n"
		"  -k, --key FILE            your secret key (cove-keys generate)\n"
		"  -w, --whitelist FILE      who you trust: only these get the room key from you\n"
		"                            and only their messages are shown\n"
		"  -s, --server HOST:PORT    the rendezvous\n"
		"  -S, --server-key PUBKEY   the rendezvous's public key (pinned)\n"
		"  -r, --room ROOM           a room to join (1-64 visible ASCII characters);\n"
		"                            repeat for more; plain lines go to the first\n"
		"      --json                JSON lines: commands on stdin, events on stdout\n"
		"      --passphrase-file F   read the key's passphrase from F\n"
		"  -v, --verbose             more diagnostics on standard error\n"
		"  -h, --help                show this help\n"
		"  -V, --version             show the version\n"
		"\n"
		"On a terminal: type to send; /who lists members, /room NAME switches room,\n"
		"/quit leaves. From a pipe: each line is a message; each message received is\n"
		"printed as '[ROOM] NAME: TEXT'; end of input quits once all is sent.\n"
		"JSON: {\"cmd\":\"send\",\"text\":T[,\"room\":R]}, {\"cmd\":\"who\"[,\"room\":R]},\n"
		"{\"cmd\":\"quit\"}; events: ready, message, joined, left, error (see cove-node(1)).\n");
}

struct main_ctx {
	struct nd_app app;
	struct nd_ui core_ui;
};

static void on_error(void *ctx, const char *room, const char *code, const char *msg, int fatal)
{
	struct nd_app *a = ctx;

	if (a->fe->ui.error)
		a->fe->ui.error(a, room, code, msg, fatal);
	if (fatal)
		nd_app_exit(a, 1);
}

static int on_frame(void *ctx, const struct cove_frame *f)
{
	struct nd_app *a = ctx;

	return nd_core_frame(a->core, f);
}

static void on_down(void *ctx, const char *why)
{
	struct nd_app *a = ctx;

	if (!why) {
		nd_app_exit(a, a->status);
		return;
	}
	if (a->fe->ui.error)
		a->fe->ui.error(a, NULL, "link", why, 1);
	nd_app_exit(a, 1);
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "whitelist", required_argument, NULL, 'w' },
		{ "server", required_argument, NULL, 's' },
		{ "server-key", required_argument, NULL, 'S' },
		{ "room", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'J' },
		{ "passphrase-file", required_argument, NULL, 'P' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key_path = NULL, *wl_path = NULL, *server = NULL, *server_key = NULL,
		   *pass_file = NULL, *rooms[MAX_ROOMS];
	struct event *tick = NULL, *sig_int = NULL, *sig_term = NULL;
	struct timeval tick_tv = { 0, TICK_MS * 1000 };
	struct cove_wl *wl = NULL;
	struct cove_ident *id = NULL;
	const struct cove_wl_entry *me;
	struct main_ctx m;
	struct nd_app *a = &m.app;
	struct nd_net_cb net_cb;
	struct nd_core_deps deps;
	uint8_t relay_pk[COVE_PK_LEN];
	char host[256];
	uint16_t port;
	size_t nrooms = 0;
	int c, json = 0, ret, fe_started = 0;

	cove_prog = "cove-node";
	memset(&m, 0, sizeof(m));
	a->status = 1;
	while ((c = getopt_long(argc, argv, "k:w:s:S:r:vhV", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key_path = optarg; break;
		case 'w': wl_path = optarg; break;
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
		case 'J': json = 1; break;
		case 'P': pass_file = optarg; break;
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
	if (!key_path || !wl_path || !server || !server_key || nrooms == 0) {
		cove_cli_err("-k KEYFILE, -w WHITELIST, -s HOST:PORT, -S SERVER_PUBKEY and at "
			     "least one -r ROOM are required; try --help");
		return 2;
	}
	if (cove_cli_hostport("-s", server, host, sizeof(host), &port, 0) != 0 ||
	    cove_cli_pubkey("-S", server_key, relay_pk) != 0)
		return 2;
	ret = cove_crypto_init();
	if (ret != COVE_OK) {
		cove_cli_err("%s", cove_strerror(ret));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	id = cove_cli_identity(key_path, pass_file);
	if (!id)
		goto out;
	wl = cove_cli_whitelist(wl_path);
	if (!wl)
		goto out;
	me = cove_wl_find_pk(wl, id->pk);
	a->self = me ? me->name : "me";
	a->id = id;
	a->room = rooms[0];
	a->fe = json ? &nd_fe_json : isatty(STDIN_FILENO) ? &nd_fe_tty : &nd_fe_pipe;
	a->base = event_base_new();
	if (!a->base) {
		cove_cli_err("cannot create an event loop");
		goto out;
	}
	m.core_ui = a->fe->ui;
	m.core_ui.error = on_error;
	m.core_ui.ctx = a;
	deps.send = nd_net_send;
	deps.now_ms = clock_ms;
	deps.now_us = clock_us;
	net_cb.frame = on_frame;
	net_cb.down = on_down;
	net_cb.ctx = a;
	a->net = nd_net_new(a->base, id, relay_pk, host, port, &net_cb);
	deps.send_ctx = a->net;
	a->core = a->net ? nd_core_new(id, wl, relay_pk, &m.core_ui, &deps) : NULL;
	tick = event_new(a->base, -1, EV_PERSIST, on_tick, a);
	sig_int = evsignal_new(a->base, SIGINT, on_signal, a);
	sig_term = evsignal_new(a->base, SIGTERM, on_signal, a);
	if (!a->core || !tick || !sig_int || !sig_term || event_add(tick, &tick_tv) ||
	    evsignal_add(sig_term, NULL) || evsignal_add(sig_int, NULL)) {
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
	if (nd_net_connect(a->net) == 0)
		event_base_dispatch(a->base);
out:
	if (fe_started)
		a->fe->stop(a);
	nd_input_free(a->in);
	nd_core_free(a->core);
	nd_net_free(a->net);
	if (tick)
		event_free(tick);
	if (sig_int)
		event_free(sig_int);
	if (sig_term)
		event_free(sig_term);
	if (a->base)
		event_base_free(a->base);
	cove_wl_free(wl);
	cove_ident_free(id);
	fflush(stdout);
	return a->status;
}
