/*
 * node.c - a real node for the benchmarks: the chat core and node/net.c,
 * the code cove-node runs, with the bench in place of a terminal. Every
 * frame it receives is verified and every message decrypted, as in
 * cove-node, so a latency measured here includes a node's own crypto.
 */
#include <stdlib.h>
#include <string.h>

#include "bench/bn.h"
#include "cli/cli.h"
#include "common/err.h"
#include "chat/chat.h"
#include "node/net.h"
#include "verify/verify.h"

/* How often the core's timers run (cove-node ticks as often). */
#define TICK_MS 20

struct bn_node {
	struct event_base *base;
	struct bn_node_conf conf;
	struct cove_chat *core;
	struct nd_net *net;
	struct vf_pool *pool;
	struct vf_stats vstats;
	struct event *tick;
	uint64_t t_connect, t_ready;
};

static uint64_t clock_ms(void)
{
	return cove_now_ms();
}

static uint64_t clock_us(void)
{
	return cove_now_us();
}

static void ui_ready(void *ctx, const char *room, int first, int rejoin,
		     const char *const *members, size_t nmembers)
{
	struct bn_node *n = ctx;

	(void)room;
	(void)first;
	(void)rejoin;
	(void)members;
	(void)nmembers;
	if (n->t_ready)
		return;
	n->t_ready = bn_now_ns();
	if (n->conf.ready)
		atomic_fetch_add(n->conf.ready, 1);
}

static void ui_message(void *ctx, const char *room, const char *from, const char *text,
		       size_t len, uint64_t ts_ms)
{
	struct bn_node *n = ctx;

	(void)room;
	(void)from;
	(void)ts_ms;
	if (n->conf.on_message)
		n->conf.on_message(n->conf.arg, text, len);
}

static void ui_caught_up(void *ctx, const char *room, uint64_t shown, uint64_t missed)
{
	struct bn_node *n = ctx;

	(void)room;
	if (n->conf.on_caught_up)
		n->conf.on_caught_up(n->conf.arg, shown, missed);
}

static void ui_error(void *ctx, const char *room, const char *code, const char *msg,
		     int fatal)
{
	struct bn_node *n = ctx;

	(void)room;
	if (n->conf.errors)
		atomic_fetch_add(n->conf.errors, 1);
	bn_err("node %s: %s: %s%s", n->conf.room, code, msg, fatal ? " (fatal)" : "");
}

static int net_frame(void *ctx, const struct cove_frame *f, const uint8_t *raw, size_t len,
		     int sig)
{
	struct bn_node *n = ctx;

	return cove_chat_frame_checked(n->core, f, raw, len, sig);
}

static int net_linked(void *ctx)
{
	struct bn_node *n = ctx;

	return cove_chat_link_up(n->core);
}

static void net_down(void *ctx, const char *why, int permanent)
{
	struct bn_node *n = ctx;

	(void)permanent;
	cove_chat_link_down(n->core);
	if (why) {
		bn_err("node %s: %s", n->conf.room, why);
		if (n->conf.errors)
			atomic_fetch_add(n->conf.errors, 1);
	}
}

static void tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct bn_node *n = arg;

	(void)fd;
	(void)what;
	cove_chat_tick(n->core);
}

struct bn_node *bn_node_new(struct event_base *base, const struct bn_node_conf *conf)
{
	static const struct cove_chat_deps deps_tmpl = {
		.send = nd_net_send, .now_ms = clock_ms, .now_us = clock_us,
	};
	struct cove_chat_ui ui = { 0 };
	struct cove_chat_deps deps = deps_tmpl;
	struct nd_net_cb cb = { .frame = net_frame, .down = net_down, .linked = net_linked };
	struct timeval tv = { 0, TICK_MS * 1000 };
	struct bn_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->base = base;
	n->conf = *conf;
	ui.ready = ui_ready;
	ui.message = ui_message;
	ui.error = ui_error;
	ui.caught_up = ui_caught_up;
	ui.ctx = n;
	cb.ctx = n;
	if (conf->verify_threads &&
	    nd_net_pool_new(&n->pool, base, conf->verify_threads, &n->vstats) != 0)
		goto fail;
	n->net = nd_net_new(base, n->pool, conf->id, conf->relay_pk, conf->host, conf->port, &cb);
	if (!n->net)
		goto fail;
	deps.send_ctx = n->net;
	deps.persist = conf->persist;
	n->core = cove_chat_new(conf->id, conf->wl, conf->relay_pk, &ui, &deps, NULL);
	n->tick = event_new(base, -1, EV_PERSIST, tick_cb, n);
	if (!n->core || !n->tick || cove_chat_add_room(n->core, conf->room) != COVE_OK ||
	    event_add(n->tick, &tv) != 0)
		goto fail;
	return n;
fail:
	bn_node_free(n);
	return NULL;
}

void bn_node_free(struct bn_node *n)
{
	if (!n)
		return;
	if (n->tick)
		event_free(n->tick);
	cove_chat_free(n->core);
	nd_net_free(n->net);
	vf_pool_free(n->pool); /* after the link: its jobs are orphans now */
	free(n);
}

int bn_node_connect(struct bn_node *n)
{
	n->t_connect = bn_now_ns();
	return nd_net_connect(n->net);
}

int bn_node_send(struct bn_node *n, const char *text, size_t len)
{
	return cove_chat_send_text(n->core, n->conf.room, text, len) == COVE_OK ? 0 : -1;
}

void bn_node_quit(struct bn_node *n)
{
	cove_chat_quit(n->core);
}

uint64_t bn_node_t_connect(const struct bn_node *n)
{
	return n->t_connect;
}

uint64_t bn_node_t_ready(const struct bn_node *n)
{
	return n->t_ready;
}
