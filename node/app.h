/*
 * app.h - what ties a node together: the core, the link to the relay
 * (and reconnecting it), standard input, and one of three front-ends
 * (terminal, pipe, JSON lines).
 *
 * A front-end shows the core's events its own way and turns input lines
 * into nd_app_* calls; the app does the rest (sending, backpressure,
 * keepalive, reconnecting with backoff, orderly quitting, exit status).
 */
#ifndef COVE_NODE_APP_H
#define COVE_NODE_APP_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>

#include "crypto/ident.h"
#include "chat/chat.h"
#include "node/input.h"
#include "node/keep.h"
#include "node/net.h"
#include "verify/verify.h"

/* Reconnecting: the first try after ND_BACKOFF_MIN_MS, each next one
 * waiting twice as long, at most ND_BACKOFF_MAX_MS, each drawn at random
 * between half and all of that so that nodes do not come back in step. */
#define ND_BACKOFF_MIN_MS 250u
#define ND_BACKOFF_MAX_MS 30000u

/* Keepalive default: PING the relay after this much silence; give the link
 * up after three times that. */
#define ND_KEEPALIVE_MS 15000u

struct nd_app;

struct nd_frontend {
	/* Starts reading input (through nd_app_input()); returns 0 or -1. */
	int (*start)(struct nd_app *a);
	/* Restores the terminal or whatever start() changed. */
	void (*stop)(struct nd_app *a);
	/* Shows one input line's worth of action. */
	void (*line)(struct nd_app *a, char *line, size_t len);
	/* The link is gone; the app tries again in retry_ms. */
	void (*disconnected)(struct nd_app *a, const char *why, unsigned retry_ms);
	/* Input waits: the room takes messages slower than they come.
	 * Optional (a pipe or a program simply waits). */
	void (*paused)(struct nd_app *a);
	/* A message kept from before (at start, /history, JSON "history"),
	 * oldest first; from and text are as for live messages (kept as they
	 * were shown: cove_chat_ui.message). Optional:
	 * without it kept messages are not shown (the pipe shows only what
	 * arrives). */
	void (*history)(struct nd_app *a, const char *room, const char *from, const char *text,
			size_t len, uint64_t ts_ms);
	/* The end of one page of history: count messages were shown. */
	void (*history_end)(struct nd_app *a, const char *room, unsigned count);
	/* At start: n messages of room are newer than when the user last had
	 * it open. Optional. */
	void (*unread)(struct nd_app *a, const char *room, uint64_t n);
	/* Events; ctx is the app. */
	struct cove_chat_ui ui;
};

extern const struct nd_frontend nd_fe_tty;
extern const struct nd_frontend nd_fe_pipe;
extern const struct nd_frontend nd_fe_json;

struct nd_app_conf {
	const char *host;
	uint16_t port;
	uint8_t relay[COVE_ID_LEN];
	unsigned keepalive_ms;
	int no_reconnect;
	const char *wl_path;        /* for reloads (SIGHUP) */
};

struct nd_app {
	struct event_base *base;
	const struct cove_ident *id;
	const char *self;           /* our name in our own whitelist */
	struct nd_app_conf conf;
	struct cove_wl *wl;         /* ours; the core borrows it */
	struct cove_chat *core;
	struct nd_net *net;         /* the current link */
	struct vf_pool *pool;       /* its signature checks (NULL: on the loop) */
	struct vf_stats vstats;
	struct nd_net *dead_net;    /* a link that went, freed from the loop */
	struct nd_input *in;
	const struct nd_frontend *fe;
	void *fe_state;
	int status;                 /* exit status */
	int quitting;
	uint64_t quit_deadline_ms;
	unsigned backoff_ms;
	struct event *reconnect;
	uint64_t last_ping_ms;
	const char *room;           /* where plain lines go: cur_room ("" when none) */
	char cur_room[COVE_ROOM_MAX + 1];
	struct nd_keep *keep;       /* the history file (none: keeps nothing) */
};

/* Makes the first link and starts trying. Returns 0 or -1. */
int nd_app_connect(struct nd_app *a);

/* The core's send: to whatever link is current. */
int nd_app_send_frame(void *app, const struct cove_frame *f);

/* Reads lines from standard input into fe->line, with backpressure. */
int nd_app_input(struct nd_app *a);

/* Sends text (room NULL: a->room). Returns as cove_chat_send_text(). */
int nd_app_send(struct nd_app *a, const char *room, const char *text, size_t len);

/* Makes room (copied) the one plain lines go to. */
void nd_app_set_room(struct nd_app *a, const char *room);

/* Leaves room (NULL: a->room) for good: its BYE, its keys and state
 * forgotten (its history stays), the room taken out and the front-end's
 * left event for ourselves. The node goes on, even with no room left.
 * Returns as cove_chat_leave(). */
int nd_app_leave(struct nd_app *a, const char *room);

/* At start: for each room with history, its last ND_KEEP_START_SHOW
 * messages and how many are new since the user last had it open. */
void nd_app_history_start(struct nd_app *a);

/* Shows at most limit kept messages of room (NULL: a->room), oldest
 * first, then the front-end's history_end: those before before_ts when
 * it is not 0, else those older than what was shown so far. Returns 0,
 * COVE_ERR_NOTFOUND (no such room) or a store error. */
int nd_app_history(struct nd_app *a, const char *room, uint64_t before_ts, unsigned limit);

/* Re-reads the whitelist: keeps the old one when the new one does not
 * load, and says why. */
void nd_app_reload(struct nd_app *a);

/* Quits in good order: waits (at most ND_QUIT_WAIT_MS) until every queued
 * message is sent, then closes the link. */
void nd_app_quit(struct nd_app *a, int status);
#define ND_QUIT_WAIT_MS 15000
/* After the last byte is written: how long the relay has to close. */
#define ND_FINISH_MS 5000

/* Called every few milliseconds by main: input backpressure, keepalive,
 * the core's timers, and moving a quit along. */
void nd_app_tick(struct nd_app *a);

/* Frees the links and the reconnect timer (at exit). */
void nd_app_free_links(struct nd_app *a);

/* Stops the event loop now with status. */
void nd_app_exit(struct nd_app *a, int status);

/* Words for a send error, for front-ends. */
const char *nd_app_send_error(int err);

#endif
