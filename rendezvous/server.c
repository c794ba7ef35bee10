/*
 * server.c - the rendezvous as a whole (server.h): the listener,
 * whitelist reloads, the keepalive sweep, counters; and what the rooms
 * get from the program (room/room.h's deps).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <event2/util.h>

#include "cli/cli.h"
#include "cli/log.h"
#include "common/err.h"
#include "rendezvous/conn.h"
#include "rendezvous/evtimer.h"
#include "rendezvous/relay.h"
#include "rendezvous/server.h"

/* After accept() fails for want of descriptors, pause accepting this long
 * instead of spinning on a listener that stays readable. */
#define RV_ACCEPT_PAUSE_MS 200
#define RV_LOG_WINDOW_MS 10000

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int socklen, void *arg);
static void accept_error_cb(struct evconnlistener *l, void *arg);
static void listen_retry_cb(evutil_socket_t fd, short what, void *arg);
static void reaper_cb(evutil_socket_t fd, short what, void *arg);
static void sweep_cb(evutil_socket_t fd, short what, void *arg);

/* ---- accepting ------------------------------------------------------------ */

static void format_addr(const struct sockaddr *sa, char *out, size_t cap)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		evutil_inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
		port = ntohs(in->sin_port);
		snprintf(out, cap, "%s:%u", host, port);
	} else if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		evutil_inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
		port = ntohs(in6->sin6_port);
		snprintf(out, cap, "[%s]:%u", host, port);
	} else {
		snprintf(out, cap, "?");
	}
}

static void accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
		      int socklen, void *arg)
{
	struct rv_server *s = arg;
	char addr[64];

	(void)l;
	(void)socklen;
	/* At the limit, an unauthenticated connection makes way for the new
	 * one: a flood of silent connections then delays only itself, and
	 * nodes already in are never pushed out. */
	if (s->nconns - s->nclosing >= s->conf.max_conns && s->nunauth > 0)
		rv_conn_evict_unauth(s);
	if (s->nconns - s->nclosing >= s->conf.max_conns) {
		static uint64_t last_ms;
		uint64_t now = cove_now_ms();

		s->stats.conns_refused++;
		if (now - last_ms > RV_LOG_WINDOW_MS) {
			last_ms = now;
			log_warn("refusing connections: %zu open, the limit (--max-conns)",
				 s->nconns - s->nclosing);
		}
		evutil_closesocket(fd);
		return;
	}
	if (s->nunauth >= s->conf.max_unauth)
		rv_conn_evict_unauth(s);
	format_addr(sa, addr, sizeof(addr));
	rv_conn_new(s, fd, addr);
}

static void listen_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rv_server *s = arg;

	(void)fd;
	(void)what;
	if (s->listener)
		evconnlistener_enable(s->listener);
}

static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	static uint64_t last_ms;
	struct rv_server *s = arg;
	uint64_t now = cove_now_ms();
	int err = EVUTIL_SOCKET_ERROR();

	if (now - last_ms > RV_LOG_WINDOW_MS) {
		last_ms = now;
		log_error("accept failed: %s%s", evutil_socket_error_to_string(err),
			  err == EMFILE || err == ENFILE ? " (out of file descriptors; raise "
			  "'ulimit -n' or lower --max-conns)" : "");
	}
	/* The pending connection stays in the queue and the listener stays
	 * readable: without a pause the loop would spin on it. */
	if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
		struct timeval tv = { 0, RV_ACCEPT_PAUSE_MS * 1000 };

		evconnlistener_disable(l);
		evtimer_add(s->listen_retry, &tv);
	}
}

int rv_server_listen(struct rv_server *s, const char *host, uint16_t port, char *bound,
		     size_t bound_cap)
{
	struct addrinfo hints, *res = NULL;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	char portstr[8];
	int ret;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%u", port);
	ret = getaddrinfo(host, portstr, &hints, &res);
	if (ret != 0) {
		log_error("cannot resolve listen address '%s': %s", host, gai_strerror(ret));
		return -1;
	}
	s->listener = evconnlistener_new_bind(s->base, accept_cb, s,
					      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						      LEV_OPT_CLOSE_ON_EXEC,
					      512, res->ai_addr, (int)res->ai_addrlen);
	freeaddrinfo(res);
	if (!s->listener) {
		log_error("cannot listen on %s:%u: %s", host, port,
			  evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		return -1;
	}
	evconnlistener_set_error_cb(s->listener, accept_error_cb);
	if (getsockname(evconnlistener_get_fd(s->listener), (struct sockaddr *)&ss, &sl) != 0) {
		log_error("getsockname: %s", strerror(errno));
		return -1;
	}
	format_addr((struct sockaddr *)&ss, bound, bound_cap);
	return 0;
}

/* ---- life cycle ------------------------------------------------------------ */

/* What the rooms get from the program. */

static uint64_t rooms_now(void *ctx)
{
	(void)ctx;
	return cove_now_ms();
}

static int rooms_sign(void *ctx, struct cove_frame *f)
{
	return rv_sign(&((struct rv_server *)ctx)->signer, f);
}

static void rooms_log(void *ctx, enum rm_log_level level, const char *file, int line,
		      const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void rooms_log(void *ctx, enum rm_log_level level, const char *file, int line,
		      const char *fmt, va_list ap)
{
	char msg[512];

	(void)ctx;
	if ((int)level > (int)cove_log_level())
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	cove_log_at((enum cove_log_level)level, file, line, "%s", msg);
}

_Static_assert((int)RM_LOG_ERROR == (int)COVE_LOG_ERROR && (int)RM_LOG_WARN == (int)COVE_LOG_WARN &&
		       (int)RM_LOG_INFO == (int)COVE_LOG_INFO &&
		       (int)RM_LOG_DEBUG == (int)COVE_LOG_DEBUG,
	       "the rooms' log levels are the log's");

int rv_server_init(struct rv_server *s, struct event_base *base, struct cove_ident *id,
		   struct cove_wl *wl, const char *wl_path, const struct rv_conf *conf)
{
	struct rm_deps deps;
	struct rm_conf rc;
	int ret;

	memset(s, 0, sizeof(*s));
	s->base = base;
	s->id = id;
	s->wl = wl;
	s->wl_path = wl_path;
	s->conf = *conf;
	s->cb = &rv_relay_cb;
	TAILQ_INIT(&s->conns);
	TAILQ_INIT(&s->doomed);
	rv_signer_init(&s->signer, id);
	s->log_tokens = RV_LOG_GLOBAL_BURST;
	s->log_refill_ms = cove_now_ms();
	deps = (struct rm_deps){
		.ctx = s,
		.now_ms = rooms_now,
		.sign = rooms_sign,
		.log = rooms_log,
		.timers = &rv_evtimer_ops,
		.timers_ctx = base,
		.fanout = &rm_fanout_local,
		.stats = &s->stats.room,
		.store = conf->store,
	};
	rc = (struct rm_conf){
		.max_rooms = conf->max_rooms,
		.join_timeout_ms = conf->join_timeout_ms,
		.member_expiry_ms = conf->member_expiry_ms,
	};
	s->hub = rm_hub_new(&deps, &rc);
	if (!s->hub)
		return COVE_ERR_NOMEM;
	ret = rm_hub_load(s->hub);
	if (ret != COVE_OK) {
		rm_hub_free(s->hub);
		s->hub = NULL;
		return ret == COVE_ERR_NOMEM ? ret : COVE_ERR_STORE_FORMAT;
	}
	s->reaper = event_new(base, -1, 0, reaper_cb, s);
	s->listen_retry = evtimer_new(base, listen_retry_cb, s);
	s->sweep = event_new(base, -1, EV_PERSIST, sweep_cb, s);
	if (!s->reaper || !s->listen_retry || !s->sweep)
		return COVE_ERR_NOMEM;
	{
		unsigned ms = s->conf.keepalive_ms / 3 ? s->conf.keepalive_ms / 3 : 1;
		struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

		event_add(s->sweep, &tv);
	}
	return 0;
}

int rv_server_verify(struct rv_server *s)
{
	const struct vf_pool_conf pc = { s->conf.verify_threads, s->conf.verify_inline,
					 rv_relay_check, 0, 0 };

	if (s->conf.verify_threads == 0)
		return 0;
	return vf_pool_new(&s->pool, s->base, &pc, &s->stats.verify);
}

void rv_server_shutdown(struct rv_server *s)
{
	if (s->listener)
		evconnlistener_free(s->listener);
	s->listener = NULL;
	rv_conn_shutdown_all(s);
	vf_pool_free(s->pool); /* after the connections: their jobs are orphans now */
	s->pool = NULL;
	rm_hub_free(s->hub);
	s->hub = NULL;
	event_free(s->reaper);
	event_free(s->listen_retry);
	event_free(s->sweep);
}

static int on_whitelist(void *arg, const uint8_t pk[COVE_ID_LEN])
{
	return cove_wl_find_pk(((struct rv_server *)arg)->wl, pk) != NULL;
}

int rv_server_reload(struct rv_server *s)
{
	struct cove_wl_diag d = { 0, "" };
	struct cove_wl *wl = NULL;
	size_t revoked, removed;
	int ret = cove_wl_load(&wl, s->wl_path, &d);

	if (ret != COVE_OK) {
		if (ret == COVE_ERR_IO)
			log_error("reload failed: cannot read %s: %s; keeping the previous "
				  "whitelist (%zu entries)", s->wl_path, strerror(errno),
				  cove_wl_count(s->wl));
		else
			log_error("reload failed: %s:%u: %s; keeping the previous whitelist "
				  "(%zu entries)", s->wl_path, d.line, d.msg[0] ? d.msg :
				  cove_strerror(ret), cove_wl_count(s->wl));
		return -1;
	}
	cove_wl_free(s->wl);
	s->wl = wl;
	/* every room, here or away: a BYE signed by the relay, a rekey */
	removed = rm_hub_remove(s->hub, on_whitelist, s);
	revoked = rv_conn_revoke(s);
	log_info("reloaded whitelist %s: %zu entries, %zu connection%s revoked, %zu room "
		 "member%s removed", s->wl_path, cove_wl_count(wl), revoked,
		 revoked == 1 ? "" : "s", removed, removed == 1 ? "" : "s");
	return 0;
}

void rv_server_log_stats(const struct rv_server *s)
{
	const struct rv_stats *t = &s->stats;
	const struct rm_stats *r = &t->room;
	const struct vf_stats *v = &t->verify;
	char by_code[512];
	size_t o = 0;
	uint64_t refused = 0;

	by_code[0] = '\0';
	for (uint32_t i = 0; i < sizeof(t->refused) / sizeof(t->refused[0]); i++) {
		refused += t->refused[i];
		if (t->refused[i] && o < sizeof(by_code))
			o += (size_t)snprintf(by_code + o, sizeof(by_code) - o, " refused.%s=%llu",
					      cove_errcode_name(i), (unsigned long long)t->refused[i]);
	}
	log_info("stats: conns open=%zu unauth=%zu accepted=%llu refused_at_limit=%llu "
		 "auth_ok=%llu auth_refused=%llu auth_failed=%llu auth_timeouts=%llu "
		 "slow_readers=%llu rooms=%zu frames_in=%llu forwarded=%llu deliveries=%llu "
		 "errs_sent=%llu joins=%llu firsts=%llu asks=%llu ask_timeouts=%llu "
		 "join_failures=%llu rekeys=%llu rekey_timeouts=%llu leaves=%llu "
		 "returns=%llu expired=%llu removed=%llu syncs=%llu caught_up=%llu "
		 "dead_peers=%llu replaced=%llu "
		 "evicted=%llu verify_threads=%u verified_workers=%llu verified_loop=%llu "
		 "pending=%zu pending_max=%zu paused=%zu pauses=%llu store_failures=%llu%s",
		 s->nconns - s->nclosing, s->nunauth, (unsigned long long)t->conns_accepted,
		 (unsigned long long)t->conns_refused, (unsigned long long)t->auth_ok,
		 (unsigned long long)t->auth_refused, (unsigned long long)t->auth_failed,
		 (unsigned long long)t->auth_timeouts, (unsigned long long)t->slow_readers,
		 rm_hub_nrooms(s->hub), (unsigned long long)t->frames_in,
		 (unsigned long long)r->frames_forwarded, (unsigned long long)r->deliveries,
		 (unsigned long long)refused, (unsigned long long)r->joins,
		 (unsigned long long)r->firsts, (unsigned long long)r->asks,
		 (unsigned long long)r->ask_timeouts, (unsigned long long)r->join_failures,
		 (unsigned long long)r->rekeys, (unsigned long long)r->rekey_timeouts,
		 (unsigned long long)r->leaves, (unsigned long long)r->returns,
		 (unsigned long long)r->expired, (unsigned long long)r->removed,
		 (unsigned long long)r->syncs, (unsigned long long)r->caught_up, (unsigned long long)t->dead_peers,
		 (unsigned long long)t->replaced, (unsigned long long)t->evicted,
		 s->pool ? s->conf.verify_threads : 0, (unsigned long long)v->workers,
		 (unsigned long long)v->loop, v->pending, v->pending_max, v->paused,
		 (unsigned long long)v->pauses, (unsigned long long)r->store_failures, by_code);
}

/* ---- events ------------------------------------------------------------------ */

static void reaper_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rv_conn_reap(arg);
}

/* Keepalive, every third of a keepalive period. */
static void sweep_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	rv_conn_sweep(arg);
}
