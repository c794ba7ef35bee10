/*
 * fe_tty.c - the interactive front-end: GNU readline in callback mode
 * driven by the event loop, so messages that arrive while you type are
 * printed above the line being edited and never garble it.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "common/err.h"
#include "common/utf8.h"
#include "node/app.h"

static struct nd_app *tty_app; /* readline's callback takes no context */
static struct event *tty_ev, *tty_winch;
static char tty_prompt[COVE_ROOM_MAX + 8];

static void set_prompt(struct nd_app *a)
{
	snprintf(tty_prompt, sizeof(tty_prompt), "[%s]> ", a->room);
	rl_set_prompt(tty_prompt);
}

/* Prints a line above the prompt and redraws what was being typed. A
 * line from history (at: its time, not 0) carries its date and is dimmed,
 * as irssi shows a scrollback, so it is never taken for one arriving. */
static void vshow(time_t at, const char *fmt, va_list ap)
{
	int point = rl_point;
	char *saved = rl_copy_text(0, rl_end);
	char stamp[32];
	time_t when = at ? at : time(NULL);
	struct tm tm;

	localtime_r(&when, &tm);
	strftime(stamp, sizeof(stamp), at ? "%Y-%m-%d %H:%M" : "%H:%M", &tm);
	rl_save_prompt();
	rl_replace_line("", 0);
	rl_redisplay();
	printf(at ? "\033[2m%s " : "%s ", stamp);
	vprintf(fmt, ap);
	printf(at ? "\033[0m\n" : "\n");
	rl_restore_prompt();
	rl_replace_line(saved ? saved : "", 0);
	rl_point = point;
	rl_redisplay();
	free(saved);
}

static void show(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void show(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vshow(0, fmt, ap);
	va_end(ap);
}

static void show_at(time_t at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void show_at(time_t at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vshow(at, fmt, ap);
	va_end(ap);
}

/* Set while /history asks, so that an empty answer is said (at start an
 * empty room's history says nothing). */
static int tty_asked;

static void show_text(const char *room, const char *from, const char *text, size_t len)
{
	char *clean = malloc(COVE_UTF8_VISIBLE_CAP(len));

	if (!clean)
		return;
	cove_utf8_visible(clean, COVE_UTF8_VISIBLE_CAP(len), text, len);
	show("[%s] %s: %s", room, from, clean);
	free(clean);
}

static void who_one(void *arg, const struct cove_chat_member *m)
{
	char fp[COVE_FP_LEN + 1], seen[40] = "";

	(void)arg;
	cove_pk_fingerprint(fp, m->pk);
	if (!m->here && m->seen_ms) {
		time_t t = (time_t)(m->seen_ms / 1000);
		struct tm tm;

		localtime_r(&t, &tm);
		strftime(seen, sizeof(seen), ", last seen %Y-%m-%d %H:%M", &tm);
	}
	show("  %-16s %s  %s%s%s", m->name, fp, m->here ? "here" : "away", seen,
	     m->self ? "  (you)" : "");
}

static void command(struct nd_app *a, char *line)
{
	char *cmd = strtok(line, " \t"), *arg = strtok(NULL, " \t");

	if (strcmp(cmd, "/quit") == 0 || strcmp(cmd, "/exit") == 0) {
		nd_app_quit(a, 0);
	} else if (strcmp(cmd, "/who") == 0) {
		const char *room = arg ? arg : a->room;

		show("[%s] members:", room);
		if (cove_chat_members(a->core, room, who_one, NULL) != COVE_OK)
			show("no room '%s' here; /rooms lists them", room);
	} else if (strcmp(cmd, "/room") == 0) {
		size_t i, n = cove_chat_room_count(a->core);

		for (i = 0; arg && i < n; i++)
			if (strcmp(cove_chat_room_name(a->core, i), arg) == 0)
				break;
		if (!arg || i == n) {
			show("usage: /room NAME, where NAME is one of the rooms given with -r (/rooms)");
			return;
		}
		nd_app_set_room(a, cove_chat_room_name(a->core, i));
		set_prompt(a);
	} else if (strcmp(cmd, "/leave") == 0) {
		const char *room = arg ? arg : a->room;
		int ret = nd_app_leave(a, room);

		if (ret == COVE_ERR_NOTFOUND)
			show("no room '%s' here; /rooms lists them", room);
		else if (ret != COVE_OK)
			show("cannot leave room %s while the link is down; try again once connected",
			     room);
		set_prompt(a);
	} else if (strcmp(cmd, "/rekey") == 0) {
		const char *room = arg ? arg : a->room;

		if (cove_chat_rekey(a->core, room) != COVE_OK)
			show("cannot rekey room %s now: not joined", room);
		else
			show("[%s] asked for a new room key", room);
	} else if (strcmp(cmd, "/history") == 0) {
		unsigned long long n = ND_KEEP_START_SHOW;

		if (arg && cove_opts_num("/history", arg, 1, 1000, &n) != 0) {
			show("usage: /history [N], N from 1 to 1000 older messages of this room");
			return;
		}
		if (!nd_keep_on(a->keep)) {
			show("no history is kept (--history none)");
			return;
		}
		tty_asked = 1;
		if (nd_app_history(a, NULL, 0, (unsigned)n) != COVE_OK)
			show("[%s] the history file could not be read", a->room);
		tty_asked = 0;
	} else if (strcmp(cmd, "/rooms") == 0) {
		for (size_t i = 0; i < cove_chat_room_count(a->core); i++) {
			const char *name = cove_chat_room_name(a->core, i);

			show("  %s%s", name, strcmp(name, a->room) == 0 ? "  (current)" : "");
		}
	} else if (strcmp(cmd, "/help") == 0) {
		show("type a line to send it to the current room; commands:");
		show("  /who [ROOM]   members and their key fingerprints");
		show("  /room NAME    send to another of your rooms");
		show("  /rooms        list your rooms");
		show("  /rekey [ROOM] ask for a new room key");
		show("  /history [N]  N older messages of this room (default %u)",
		     ND_KEEP_START_SHOW);
		show("  /leave [ROOM] leave a room for good (the others rekey without you)");
		show("  /quit         quit (Ctrl-D and Ctrl-C too)");
	} else {
		show("unknown command %s; /help lists them", cmd);
	}
}

static void on_line(char *line)
{
	struct nd_app *a = tty_app;
	size_t len;
	int ret;

	if (!line) { /* Ctrl-D: no more input, so no more readline */
		rl_callback_handler_remove();
		event_del(tty_ev);
		printf("\n");
		nd_app_quit(a, 0);
		return;
	}
	len = strlen(line);
	if (len > 0)
		add_history(line);
	/* Replace the echoed input with the line as the room will show it. */
	printf("\033[A\033[2K\r");
	if (line[0] == '/' && line[1] != '/') {
		command(a, line);
	} else if (len > 0) {
		const char *text = line[0] == '/' ? line + 1 : line; /* "//x" sends "/x" */

		ret = nd_app_send(a, NULL, text, strlen(text));
		if (ret == COVE_OK)
			show_text(a->room, a->self, text, strlen(text));
		else
			show("not sent: %s", nd_app_send_error(ret));
	}
	free(line);
}

static void on_stdin(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	rl_callback_read_char();
}

static void on_winch(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	(void)arg;
	rl_resize_terminal();
}

static int tty_start(struct nd_app *a)
{
	tty_app = a;
	/* Signals are the event loop's business: readline must not install
	 * handlers of its own around our callbacks. */
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	tty_ev = event_new(a->base, STDIN_FILENO, EV_READ | EV_PERSIST, on_stdin, NULL);
	tty_winch = evsignal_new(a->base, SIGWINCH, on_winch, NULL);
	if (!tty_ev || !tty_winch || event_add(tty_ev, NULL) || evsignal_add(tty_winch, NULL))
		return -1;
	snprintf(tty_prompt, sizeof(tty_prompt), "[%s]> ", a->room);
	rl_callback_handler_install(tty_prompt, on_line);
	show("joining %zu room%s as %s; /help lists commands", cove_chat_room_count(a->core),
	     cove_chat_room_count(a->core) == 1 ? "" : "s", a->self);
	return 0;
}

static void tty_stop(struct nd_app *a)
{
	(void)a;
	rl_callback_handler_remove();
	if (tty_ev)
		event_free(tty_ev);
	if (tty_winch)
		event_free(tty_winch);
	tty_ev = tty_winch = NULL;
	printf("\n");
	fflush(stdout);
}

static void tty_line(struct nd_app *a, char *line, size_t len)
{
	(void)a;
	(void)line;
	(void)len; /* input goes through readline, not nd_app_input() */
}

static void tty_connected(void *ctx)
{
	(void)ctx;
	show("connected to the rendezvous");
}

static void tty_ready(void *ctx, const char *room, int first, int rejoin,
		      const char *const *members, size_t n)
{
	char list[512];
	size_t o = 0;

	(void)ctx;
	list[0] = '\0';
	for (size_t i = 0; i < n && o < sizeof(list); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", i ? ", " : "", members[i]);
	if (rejoin)
		show("[%s] back in the room%s", room, first ? " (you made a new key)" : "");
	else if (first)
		show("[%s] you are the first here; the room's key is yours", room);
	else
		show("[%s] joined; here: %s", room, n ? list : "nobody else");
}

static void tty_message(void *ctx, const char *room, const char *from, const char *text,
			size_t len, uint64_t ts)
{
	(void)ctx;
	(void)ts;
	show_text(room, from, text, len);
}

static void tty_history(struct nd_app *a, const char *room, const char *from,
			const char *text, size_t len, uint64_t ts)
{
	char *clean = malloc(COVE_UTF8_VISIBLE_CAP(len));

	(void)a;
	if (!clean)
		return;
	cove_utf8_visible(clean, COVE_UTF8_VISIBLE_CAP(len), text, len);
	show_at(ts / 1000 ? (time_t)(ts / 1000) : 1, "[%s] %s: %s", room, from, clean);
	free(clean);
}

static void tty_history_end(struct nd_app *a, const char *room, unsigned count)
{
	(void)a;
	if (count == 0 && tty_asked)
		show("[%s] no older messages kept", room);
	else if (count)
		show("[%s] --- %u earlier message%s above (/history for more) ---", room, count,
		     count == 1 ? "" : "s");
}

static void tty_unread(struct nd_app *a, const char *room, uint64_t n)
{
	(void)a;
	show("[%s] %llu new since you left", room, (unsigned long long)n);
}

static void tty_caught_up(void *ctx, const char *room, uint64_t shown, uint64_t missed)
{
	(void)ctx;
	show("[%s] %llu new since you left", room, (unsigned long long)shown);
	if (missed)
		show("[%s] %llu message%s dropped by the relay's retention while you were "
		     "away", room, (unsigned long long)missed, missed == 1 ? " was" : "s were");
}

static void tty_presence(void *ctx, const char *room, const char *name, int here,
			 uint64_t seen)
{
	(void)ctx;
	(void)seen;
	show("[%s] %s is %s", room, name, here ? "here" : "away");
}

static void tty_joined(void *ctx, const char *room, const char *name)
{
	(void)ctx;
	show("[%s] %s joined", room, name);
}

static void tty_left(void *ctx, const char *room, const char *name)
{
	struct nd_app *a = ctx;

	/* the app passes a->self itself when it is we who left */
	if (name == a->self)
		show("[%s] you left the room%s", room, cove_chat_room_count(a->core) ? "" :
		     "; no rooms left (/quit quits)");
	else
		show("[%s] %s left", room, name);
}

static void tty_epoch(void *ctx, const char *room, uint32_t epoch, const char *by)
{
	(void)ctx;
	show("[%s] new room key (epoch %u) from %s", room, epoch, by ? by : "you");
}

static void tty_gap(void *ctx, const char *room, const char *from, uint64_t first,
		    uint64_t last)
{
	(void)ctx;
	show("[%s] %llu message%s from %s never arrived", room,
	     (unsigned long long)(last - first + 1), last == first ? "" : "s", from);
}

static void tty_disconnected(struct nd_app *a, const char *why, unsigned retry_ms)
{
	(void)a;
	show("%s; trying again in %.1f s (what you type is kept)", why, retry_ms / 1000.0);
}

static void tty_error(void *ctx, const char *room, const char *code, const char *msg,
		      int fatal)
{
	size_t len = strlen(msg);
	char *clean = malloc(COVE_UTF8_VISIBLE_CAP(len));

	(void)ctx;
	(void)code;
	if (!clean)
		return;
	/* Errors quote text: the start of a message that was not sent, a
	 * file name. */
	cove_utf8_visible(clean, COVE_UTF8_VISIBLE_CAP(len), msg, len);
	if (room)
		show("[%s] %s%s", room, fatal ? "fatal: " : "", clean);
	else
		show("%s%s", fatal ? "fatal: " : "", clean);
	free(clean);
}

static void tty_notice(void *ctx, const char *room, const char *code, const char *msg)
{
	tty_error(ctx, room, code, msg, 0);
}

/* A person should know why what they type does not show. */
static void tty_paused(struct nd_app *a)
{
	tty_notice(a, NULL, "paused",
		   "you type faster than the room takes messages: input waits until the queue "
		   "has room (nothing is lost)");
}

const struct nd_frontend nd_fe_tty = {
	.start = tty_start,
	.stop = tty_stop,
	.line = tty_line,
	.disconnected = tty_disconnected,
	.paused = tty_paused,
	.history = tty_history,
	.history_end = tty_history_end,
	.unread = tty_unread,
	.ui = {
		.connected = tty_connected,
		.ready = tty_ready,
		.message = tty_message,
		.joined = tty_joined,
		.left = tty_left,
		.epoch = tty_epoch,
		.gap = tty_gap,
		.error = tty_error,
		.notice = tty_notice,
		.caught_up = tty_caught_up,
		.presence = tty_presence,
	},
};
