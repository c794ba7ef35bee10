#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "common/err.h"
#include "node/app.h"

/* Backpressure on input: pause above the high marks, resume below the low. */
#define QUEUE_HIGH (ND_QUEUE_MAX / 2)
#define QUEUE_LOW 16
#define UNSENT_HIGH (1u << 20)
#define UNSENT_LOW (256u << 10)

static void input_line(void *ctx, char *line, size_t len);
static void input_too_long(void *ctx);
static void input_eof(void *ctx);

static int congested(const struct nd_app *a)
{
	return nd_core_queued(a->core) >= QUEUE_HIGH || nd_net_unsent(a->net) >= UNSENT_HIGH;
}

static int relieved(const struct nd_app *a)
{
	return nd_core_queued(a->core) <= QUEUE_LOW && nd_net_unsent(a->net) <= UNSENT_LOW;
}

static void input_line(void *ctx, char *line, size_t len)
{
	struct nd_app *a = ctx;

	a->fe->line(a, line, len);
	if (!a->quitting && congested(a))
		nd_input_pause(a->in);
}

static void input_too_long(void *ctx)
{
	struct nd_app *a = ctx;

	if (a->fe->ui.error)
		a->fe->ui.error(a, NULL, "too_long",
				"an input line longer than 64 KiB was skipped", 0);
}

static void input_eof(void *ctx)
{
	nd_app_quit(ctx, 0);
}

int nd_app_input(struct nd_app *a)
{
	struct nd_input_cb cb = { input_line, input_too_long, input_eof, a };

	a->in = nd_input_new(a->base, 0, &cb);
	return a->in ? 0 : -1;
}

const char *nd_app_send_error(int err)
{
	switch (err) {
	case COVE_ERR_NOTFOUND: return "no such room (join it with -r)";
	case COVE_ERR_INVAL: return "a message must be 1 to 32760 bytes long";
	case COVE_ERR_UTF8: return "a message must be valid UTF-8 without NUL bytes";
	case COVE_ERR_LIMIT: return "too many messages waiting to be sent; try again shortly";
	case COVE_ERR_STATE: return "this room could not be joined; nothing can be sent to it";
	default: return cove_strerror(err);
	}
}

int nd_app_send(struct nd_app *a, const char *room, const char *text, size_t len)
{
	return nd_core_send_text(a->core, room ? room : a->room, text, len);
}

void nd_app_exit(struct nd_app *a, int status)
{
	a->status = status;
	event_base_loopexit(a->base, NULL);
}

void nd_app_quit(struct nd_app *a, int status)
{
	if (a->quitting)
		return;
	a->quitting = 1;
	a->status = status;
	a->quit_deadline_ms = cove_now_ms() + ND_QUIT_WAIT_MS;
	if (a->in)
		nd_input_stop(a->in);
}

void nd_app_tick(struct nd_app *a)
{
	if (!a->quitting) {
		if (a->in && relieved(a))
			nd_input_resume(a->in);
		return;
	}
	/* Quit once nothing is queued and every byte is handed to the kernel.
	 * Messages wait in their room's queue until it is joined, so a link
	 * still connecting, or a room still joining, holds the quit up only
	 * when something waits to be sent there. */
	if (a->quitting == 1 && nd_core_queued(a->core) == 0 && nd_net_unsent(a->net) == 0) {
		a->quitting = 2;
		nd_net_finish(a->net, ND_FINISH_MS);
		return;
	}
	if (a->quitting == 1 && cove_now_ms() > a->quit_deadline_ms) {
		char msg[200];

		snprintf(msg, sizeof(msg), "%zu message%s could not be sent before quitting "
			 "(%zu bytes waiting to be written)", nd_core_queued(a->core),
			 nd_core_queued(a->core) == 1 ? "" : "s", nd_net_unsent(a->net));
		if (a->fe->ui.error)
			a->fe->ui.error(a, NULL, "not_sent", msg, 1);
		nd_app_exit(a, 1);
	}
}
