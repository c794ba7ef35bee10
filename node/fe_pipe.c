/*
 * fe_pipe.c - the front-end for pipes and scripts: each input line is a
 * message to the first room; each message received is one output line,
 * "[ROOM] NAME: TEXT", with control characters made visible so a line is
 * always one line. Everything else goes to standard error.
 */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "common/utf8.h"
#include "node/app.h"

static int pipe_start(struct nd_app *a)
{
	return nd_app_input(a);
}

static void pipe_stop(struct nd_app *a)
{
	(void)a;
	fflush(stdout);
}

static void pipe_line(struct nd_app *a, char *line, size_t len)
{
	int ret;

	if (len == 0)
		return;
	ret = nd_app_send(a, NULL, line, len);
	if (ret != 0)
		cove_cli_err("message not sent: %s", nd_app_send_error(ret));
}

static void pipe_connected(void *ctx)
{
	(void)ctx;
	cove_cli_err("connected to the rendezvous");
}

static void pipe_ready(void *ctx, const char *room, int first, int rejoin,
		       const char *const *members, size_t n)
{
	(void)ctx;
	if (rejoin) {
		cove_cli_err("[%s] ready again%s", room, first ? ": first, made a new key" : "");
		return;
	}
	if (first) {
		cove_cli_err("[%s] ready: first in the room, made its key", room);
		return;
	}
	fprintf(stderr, "%s: [%s] ready: %zu other member%s:", cove_prog, room, n,
		n == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++)
		fprintf(stderr, " %s", members[i]);
	fprintf(stderr, "\n");
}

static void pipe_message(void *ctx, const char *room, const char *from, const char *text,
			 size_t len, uint64_t ts)
{
	char *clean = malloc(COVE_UTF8_VISIBLE_CAP(len));

	(void)ctx;
	(void)ts;
	if (!clean)
		return;
	cove_utf8_visible(clean, COVE_UTF8_VISIBLE_CAP(len), text, len);
	printf("[%s] %s: %s\n", room, from, clean);
	fflush(stdout);
	free(clean);
}

static void pipe_joined(void *ctx, const char *room, const char *name)
{
	(void)ctx;
	cove_cli_err("[%s] %s joined", room, name);
}

static void pipe_left(void *ctx, const char *room, const char *name)
{
	(void)ctx;
	cove_cli_err("[%s] %s left", room, name);
}

static void pipe_epoch(void *ctx, const char *room, uint32_t epoch, const char *by)
{
	(void)ctx;
	cove_cli_err("[%s] new room key (epoch %u) from %s", room, epoch, by ? by : "you");
}

static void pipe_gap(void *ctx, const char *room, const char *from, uint64_t first,
		     uint64_t last)
{
	(void)ctx;
	cove_cli_err("[%s] %llu message%s from %s never arrived (numbers %llu to %llu)", room,
		     (unsigned long long)(last - first + 1), last == first ? "" : "s", from,
		     (unsigned long long)first, (unsigned long long)last);
}

static void pipe_disconnected(struct nd_app *a, const char *why, unsigned retry_ms)
{
	(void)a;
	cove_cli_err("%s; trying again in %.1f s", why, retry_ms / 1000.0);
}

static void pipe_error(void *ctx, const char *room, const char *code, const char *msg,
		       int fatal)
{
	(void)ctx;
	(void)code;
	(void)fatal;
	if (room)
		cove_cli_err("[%s] %s", room, msg);
	else
		cove_cli_err("%s", msg);
}

static void pipe_notice(void *ctx, const char *room, const char *code, const char *msg)
{
	pipe_error(ctx, room, code, msg, 0);
}

static void pipe_caught_up(void *ctx, const char *room, uint64_t shown, uint64_t missed)
{
	(void)ctx;
	cove_cli_err("[%s] %llu new since you left", room, (unsigned long long)shown);
	if (missed)
		cove_cli_err("[%s] %llu message%s dropped by the relay's retention while you "
			     "were away", room, (unsigned long long)missed,
			     missed == 1 ? " was" : "s were");
}

const struct nd_frontend nd_fe_pipe = {
	.start = pipe_start,
	.stop = pipe_stop,
	.line = pipe_line,
	.disconnected = pipe_disconnected,
	.ui = {
		.connected = pipe_connected,
		.ready = pipe_ready,
		.message = pipe_message,
		.joined = pipe_joined,
		.left = pipe_left,
		.epoch = pipe_epoch,
		.gap = pipe_gap,
		.error = pipe_error,
		.notice = pipe_notice,
		.caught_up = pipe_caught_up,
	},
};
