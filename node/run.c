/*
 * run.c - cove-node from its command line to its exit status: the
 * options, the keys, the front-end, the signals and the event loop.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "cli/opts.h"
#include "common/err.h"
#include "hist/hist.h"
#include "node/app.h"
#include "node/keep.h"
#include "node/run.h"

#define MAX_ROOMS 64
#define TICK_MS 20

_Static_assert(EVENT_LOG_DEBUG == 0 && EVENT_LOG_MSG == 1 && EVENT_LOG_WARN == 2 &&
	       EVENT_LOG_ERR == 3, "the severities cove_log_libevent() maps");

enum { OPT_JSON = COVE_OPT_LONG, OPT_PASS, OPT_KEEPALIVE, OPT_NO_RECONNECT,
       OPT_REKEY_INTERVAL, OPT_REKEY_MESSAGES, OPT_HISTORY };

static const struct cove_opt options[] = {
	COVE_OPT_STR('k', "key", "FILE", "your secret key (cove-keys generate)"),
	COVE_OPT_STR('w', "whitelist", "FILE",
		     "who you trust: only these get the room key from you\n"
		     "and only their messages are shown (SIGHUP re-reads it)"),
	COVE_OPT_STR('s', "server", "HOST:PORT", "the rendezvous"),
	COVE_OPT_STR('S', "server-key", "PUBKEY", "the rendezvous's public key (pinned)"),
	COVE_OPT_STR('r', "room", "ROOM",
		     "a room to join (1-64 visible ASCII characters);\n"
		     "repeat for more; plain lines go to the first"),
	COVE_OPT_FLAG(OPT_JSON, "json", "JSON lines: commands on stdin, events on stdout"),
	COVE_OPT_STR(OPT_PASS, "passphrase-file", "F", "read the key's passphrase from F"),
	COVE_OPT_STR(OPT_HISTORY, "history", "PATH",
		     "keep messages (encrypted) in PATH; 'none' keeps nothing\n"
		     "(default $XDG_DATA_HOME/cove/KEYID.db or\n"
		     "~/.local/share/cove/KEYID.db)"),
	COVE_OPT_NUM(OPT_KEEPALIVE, "keepalive", "MS", 100, 3600000, ND_KEEPALIVE_MS,
		     "ping a silent rendezvous after MS, give the link up\n"
		     "after 3*MS (default {default})"),
	COVE_OPT_FLAG(OPT_NO_RECONNECT, "no-reconnect",
		      "exit when the link is lost instead of reconnecting"),
	COVE_OPT_NUM(OPT_REKEY_INTERVAL, "rekey-interval", "S", 1, 31536000,
		     COVE_CHAT_REKEY_INTERVAL_S,
		     "ask for a new room key every S seconds (default {default})"),
	COVE_OPT_NUM(OPT_REKEY_MESSAGES, "rekey-messages", "N", 1, COVE_CHAT_REKEY_MESSAGES,
		     COVE_CHAT_REKEY_MESSAGES,
		     "... and after N of your messages under one key\n"
		     "(default {default})"),
	COVE_OPT_FLAG('v', "verbose", "more diagnostics on standard error"),
	COVE_OPT_FLAG('h', "help", "show this help"),
	COVE_OPT_FLAG('V', "version", "show the version"),
};

static const struct cove_opts_spec spec = {
	.usage = "Usage: cove-node -k KEYFILE -w WHITELIST -s HOST:PORT -S SERVER_PUBKEY\n"
		 "                 -r ROOM [-r ROOM...] [--json] [options]\n"
		 "\n"
		 "Joins rooms on a Cove rendezvous and chats, end to end encrypted.\n"
		 "\n",
	.footer = "\n"
		  "On a terminal: type to send; /who lists members, /room NAME switches room,\n"
		  "/rekey asks for a new room key, /history [N] shows older messages,\n"
		  "/leave [ROOM] leaves a room for good, /quit quits. From a pipe: each line\n"
		  "is a message; each message received is printed as '[ROOM] NAME: TEXT'; end\n"
		  "of input quits once all is sent. JSON: {\"cmd\":\"send\",\"text\":T[,\"room\":R]},\n"
		  "{\"cmd\":\"who\"}, {\"cmd\":\"rekey\"}, {\"cmd\":\"leave\",\"room\":R}, {\"cmd\":\"quit\"},\n"
		  "{\"cmd\":\"history\",\"room\":R,\"before\":TS,\"limit\":N}; events: connected,\n"
		  "ready, message, history_end, unread, missed, joined, left, presence, who,\n"
		  "epoch, gap, notice, disconnected, error (see cove-node(1)).\n",
	.opts = options,
	.nopts = sizeof(options) / sizeof(options[0]),
	.help_col = 28,
};

/* The command line, checked, and the hooks: what run() needs. */
struct args {
	struct nd_app_conf conf;
	char host[256];               /* conf.host points here */
	const char *key_path, *pass_file;
	const char *history;          /* NULL: the default path; "none": nothing kept */
	const char *rooms[MAX_ROOMS];
	size_t nrooms;
	int json;
	struct cove_chat_opts copts;
	struct nd_hooks hooks;
};

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

/* Reads the command line into g. Returns -1 when the node is to run,
 * else the status to exit with (--help, --version, or a bad option, said). */
static int parse(int argc, char **argv, struct args *g)
{
	const char *server = NULL, *server_key = NULL;
	struct cove_opts p;
	struct cove_opt_val v;
	int c;

	memset(g, 0, sizeof(*g));
	g->conf.keepalive_ms = ND_KEEPALIVE_MS;
	if (cove_opts_init(&p, &spec, argc, argv) != 0) {
		cove_cli_err("the option table is malformed (a bug)");
		return 1;
	}
	while ((c = cove_opts_next(&p, &v)) != COVE_OPTS_END) {
		switch (c) {
		case 'k': g->key_path = v.arg; break;
		case 'w': g->conf.wl_path = v.arg; break;
		case 's': server = v.arg; break;
		case 'S': server_key = v.arg; break;
		case 'r':
			if (g->nrooms == MAX_ROOMS) {
				cove_cli_err("at most %d rooms", MAX_ROOMS);
				return 2;
			}
			if (!cove_room_valid(v.arg, strlen(v.arg))) {
				cove_cli_err("room name '%.80s' is not 1-%d visible ASCII characters "
					     "(no spaces)", v.arg, COVE_ROOM_MAX);
				return 2;
			}
			g->rooms[g->nrooms++] = v.arg;
			break;
		case OPT_JSON: g->json = 1; break;
		case OPT_PASS: g->pass_file = v.arg; break;
		case OPT_HISTORY:
			if (!*v.arg) {
				cove_cli_err("--history '' names no file; give a PATH, or 'none' "
					     "to keep nothing");
				return 2;
			}
			g->history = v.arg;
			break;
		case OPT_KEEPALIVE: g->conf.keepalive_ms = (unsigned)v.num; break;
		case OPT_NO_RECONNECT: g->conf.no_reconnect = 1; break;
		case OPT_REKEY_INTERVAL: g->copts.rekey_interval_s = (unsigned)v.num; break;
		case OPT_REKEY_MESSAGES: g->copts.rekey_messages = v.num; break;
		case 'v': cove_log_set_level(COVE_LOG_DEBUG); break;
		case 'h': cove_opts_help(&spec, stdout); return 0;
		case 'V': printf("cove-node %s\n", COVE_VERSION); return 0;
		default: return 2;
		}
	}
	if (!g->key_path || !g->conf.wl_path || !server || !server_key || g->nrooms == 0) {
		cove_cli_err("-k KEYFILE, -w WHITELIST, -s HOST:PORT, -S SERVER_PUBKEY and at "
			     "least one -r ROOM are required; try --help");
		return 2;
	}
	if (cove_cli_hostport("-s", server, g->host, sizeof(g->host), &g->conf.port, 0) != 0 ||
	    cove_cli_pubkey("-S", server_key, g->conf.relay) != 0)
		return 2;
	g->conf.host = g->host;
	return -1;
}

static void keep_warn(void *ctx, const char *msg)
{
	struct nd_app *a = ctx;

	if (a->fe->ui.error)
		a->fe->ui.error(a, NULL, "history", msg, 0);
}

/* Opens the history file the command line names (or the default). Returns
 * 0, or -1 after saying why: a file that is not ours is never touched. */
static int open_keep(struct nd_app *a, const struct args *g)
{
	char path[4096], msg[4400];
	const char *p = g->history;
	int ret;

	if (p && strcmp(p, "none") == 0) {
		p = NULL;
	} else if (!p) {
		if (cove_hist_default_path(path, sizeof(path), a->id->pk) != COVE_OK) {
			cove_cli_err("neither XDG_DATA_HOME nor HOME is set, so there is no default "
				     "history file; give --history PATH, or --history none");
			return -1;
		}
		p = path;
	}
	ret = nd_keep_open(&a->keep, a->base, p, a->id, keep_warn, a);
	if (ret != COVE_OK) {
		cove_cli_err("%s", nd_keep_strerror(msg, sizeof(msg), ret, p));
		return -1;
	}
	return 0;
}

/* A catch-up brings stored messages as fast as the relay reads them, and
 * each signature check costs more than the rest of what the node does
 * with one (docs/PERFORMANCE.md): workers check them ahead while the loop
 * shows, keeps and answers, and the loop helps when they pile up. */
static int start_pool(struct nd_app *a)
{
	unsigned n = nd_net_verify_threads();
	int ret;

	if (n == 0)
		return 0;
	ret = nd_net_pool_new(&a->pool, a->base, n, &a->vstats);
	if (ret != 0)
		cove_cli_err("cannot start the signature checks' threads: %s", strerror(-ret));
	return ret;
}

/* Runs the node until it quits; returns its exit status. */
static int run(const struct args *g)
{
	struct event *tick = NULL, *sig_int = NULL, *sig_term = NULL, *sig_hup = NULL;
	struct timeval tick_tv = { 0, TICK_MS * 1000 };
	struct cove_ident *id = NULL;
	const struct cove_wl_entry *me;
	struct nd_app app, *a = &app;
	struct cove_chat_ui core_ui;
	struct cove_chat_deps deps = { 0 };
	int ret, fe_started = 0;

	memset(a, 0, sizeof(*a));
	a->status = 1;
	a->conf = g->conf;
	ret = cove_crypto_init();
	if (ret != COVE_OK) {
		cove_cli_err("%s", cove_strerror(ret));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	id = cove_cli_identity(g->key_path, g->pass_file);
	if (!id)
		goto out;
	a->wl = cove_cli_whitelist(a->conf.wl_path);
	if (!a->wl)
		goto out;
	me = cove_wl_find_pk(a->wl, id->pk);
	a->self = me ? me->name : "me";
	a->id = id;
	nd_app_set_room(a, g->rooms[0]);
	a->fe = g->json ? &nd_fe_json : isatty(STDIN_FILENO) ? &nd_fe_tty : &nd_fe_pipe;
	/* libevent prints "[warn] ..." lines of its own otherwise. */
	event_set_log_callback(cove_log_libevent);
	a->base = event_base_new();
	if (!a->base) {
		cove_cli_err("cannot create an event loop");
		goto out;
	}
	if (open_keep(a, g) != 0 || start_pool(a) != 0)
		goto out;
	core_ui = a->fe->ui;
	core_ui.error = on_error;
	core_ui.connected = on_connected;
	core_ui.ctx = a;
	deps.send = nd_app_send_frame;
	deps.send_ctx = a;
	deps.now_ms = clock_ms;
	deps.now_us = clock_us;
	deps.keylog = g->hooks.keylog;
	deps.keylog_ctx = g->hooks.keylog_ctx;
	deps.persist = nd_keep_persist(a->keep);
	a->core = cove_chat_new(id, a->wl, a->conf.relay, &core_ui, &deps, &g->copts);
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
	for (size_t i = 0; i < g->nrooms; i++) {
		/* the history first: the core reads what it kept of the room */
		ret = nd_keep_room(a->keep, g->rooms[i]);
		if (ret != COVE_OK) {
			cove_cli_err("cannot read room '%s' from the history file: %s",
				     g->rooms[i], cove_strerror(ret));
			goto out;
		}
		ret = cove_chat_add_room(a->core, g->rooms[i]);
		if (ret == COVE_ERR_EXISTS) {
			cove_cli_err("room '%s' is given twice", g->rooms[i]);
			goto out;
		}
		if (ret != COVE_OK) {
			cove_cli_err("cannot add room '%s': %s", g->rooms[i], cove_strerror(ret));
			goto out;
		}
	}
	if (a->fe->start(a) != 0)
		goto out;
	fe_started = 1;
	nd_app_history_start(a);
	if (nd_app_connect(a) == 0)
		event_base_dispatch(a->base);
out:
	if (fe_started)
		a->fe->stop(a);
	nd_input_free(a->in);
	cove_chat_free(a->core);
	nd_keep_close(a->keep, cove_now_ms());
	nd_app_free_links(a);
	vf_pool_free(a->pool); /* after the links: their jobs are orphans now */
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

int nd_main(int argc, char **argv, const struct nd_hooks *hooks)
{
	static struct args g;
	int status;

	cove_prog = "cove-node";
	status = parse(argc, argv, &g);
	if (status >= 0)
		return status;
	if (hooks)
		g.hooks = *hooks;
	return run(&g);
}
