/*
 * app.h - what ties a node together: the core, the link, standard input
 * and one of three front-ends (terminal, pipe, JSON lines).
 *
 * A front-end shows the core's events its own way and turns input lines
 * into nd_app_* calls; the app does the rest (sending, backpressure,
 * orderly quitting, exit status).
 */
#ifndef COVE_NODE_APP_H
#define COVE_NODE_APP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "crypto/ident.h"
#include "node/core.h"
#include "node/input.h"
#include "node/net.h"

struct nd_app;

struct nd_frontend {
	/* Starts reading input (through nd_app_input()); returns 0 or -1. */
	int (*start)(struct nd_app *a);
	/* Restores the terminal or whatever start() changed. */
	void (*stop)(struct nd_app *a);
	/* Shows one input line's worth of action. */
	void (*line)(struct nd_app *a, char *line, size_t len);
	/* Events; ctx is the app. */
	struct nd_ui ui;
	/* A line about the link (connected, closing), for humans. */
	void (*status)(struct nd_app *a, const char *msg);
};

extern const struct nd_frontend nd_fe_tty;
extern const struct nd_frontend nd_fe_pipe;
extern const struct nd_frontend nd_fe_json;

struct nd_app {
	struct event_base *base;
	const struct cove_ident *id;
	const char *self;           /* our name in our own whitelist */
	struct nd_core *core;
	struct nd_net *net;
	struct nd_input *in;
	const struct nd_frontend *fe;
	void *fe_state;
	int status;                 /* exit status */
	int quitting;
	uint64_t quit_deadline_ms;
	struct event *tick;         /* quitting and backpressure checks */
	const char *room;           /* where plain lines go */
};

/* Reads lines from standard input into fe->line, with backpressure. */
int nd_app_input(struct nd_app *a);

/* Sends text (room NULL: a->room). Returns as nd_core_send_text(). */
int nd_app_send(struct nd_app *a, const char *room, const char *text, size_t len);

/* Quits in good order: waits (at most ND_QUIT_WAIT_MS) until every room
 * is settled and every queued message sent, then closes the link. */
void nd_app_quit(struct nd_app *a, int status);
#define ND_QUIT_WAIT_MS 15000
/* After the last byte is written: how long the relay has to close. */
#define ND_FINISH_MS 5000

/* Called every few milliseconds by main: resumes paused input and moves
 * a quit along. */
void nd_app_tick(struct nd_app *a);

/* Stops the event loop now with status. */
void nd_app_exit(struct nd_app *a, int status);

/* Words for a send error, for front-ends. */
const char *nd_app_send_error(int err);

#endif
