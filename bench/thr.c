/*
 * thr.c - the bench's own threads: each runs one libevent loop, and takes
 * work from the main thread through a queue and a pipe (so libevent needs
 * no locking: a loop is only ever touched by its own thread).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench/bn.h"

struct call {
	struct call *next;
	void (*fn)(void *arg);
	void *arg;
};

struct worker {
	pthread_t tid;
	struct event_base *base;
	struct event *wake;
	int pipe[2];
	pthread_mutex_t mu;
	struct call *head, *tail;
	int started;
};

struct bn_thr {
	size_t n;
	struct worker *w;
};

static void run_calls(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct call *c, *next;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&w->mu);
	c = w->head;
	w->head = w->tail = NULL;
	pthread_mutex_unlock(&w->mu);
	for (; c; c = next) {
		next = c->next;
		c->fn(c->arg);
		free(c);
	}
}

static void *loop_main(void *arg)
{
	struct worker *w = arg;

	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	return NULL;
}

/* A loop with a precise clock: by default libevent 2.1 reads
 * CLOCK_MONOTONIC_COARSE and sleeps in whole milliseconds, so a timer of
 * 1 ms fires late by up to a kernel tick and a latency sender at 1,000
 * messages a second sends them in bursts, each message then waiting for
 * the fan-out of the ones before it. With the flag, epoll waits on a
 * timerfd, to the microsecond. */
static struct event_base *new_base(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (!cfg)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

struct bn_thr *bn_thr_start(size_t n)
{
	struct bn_thr *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->w = calloc(n, sizeof(*t->w));
	if (!t->w) {
		free(t);
		return NULL;
	}
	t->n = n;
	for (size_t i = 0; i < n; i++) {
		struct worker *w = &t->w[i];

		pthread_mutex_init(&w->mu, NULL);
		w->pipe[0] = w->pipe[1] = -1;
		w->base = new_base();
		if (!w->base || pipe2(w->pipe, O_NONBLOCK | O_CLOEXEC) != 0)
			goto fail;
		w->wake = event_new(w->base, w->pipe[0], EV_READ | EV_PERSIST, run_calls, w);
		if (!w->wake || event_add(w->wake, NULL) != 0)
			goto fail;
		if (pthread_create(&w->tid, NULL, loop_main, w) != 0)
			goto fail;
		w->started = 1;
	}
	return t;
fail:
	bn_err("cannot start %zu threads: %s", n, strerror(errno));
	bn_thr_stop(t);
	return NULL;
}

size_t bn_thr_count(const struct bn_thr *t)
{
	return t->n;
}

struct event_base *bn_thr_base(struct bn_thr *t, size_t i)
{
	return t->w[i % t->n].base;
}

int bn_thr_call(struct bn_thr *t, size_t i, void (*fn)(void *arg), void *arg)
{
	struct worker *w = &t->w[i % t->n];
	struct call *c = malloc(sizeof(*c));
	int was_empty;

	if (!c)
		return -1;
	c->next = NULL;
	c->fn = fn;
	c->arg = arg;
	pthread_mutex_lock(&w->mu);
	was_empty = w->head == NULL;
	if (w->tail)
		w->tail->next = c;
	else
		w->head = c;
	w->tail = c;
	pthread_mutex_unlock(&w->mu);
	/* one byte wakes the loop for every call queued meanwhile */
	if (was_empty && write(w->pipe[1], "", 1) < 0 && errno != EAGAIN)
		return -1;
	return 0;
}

struct sync_call {
	void (*fn)(void *arg);
	void *arg;
	atomic_size_t done;
};

static void run_sync(void *arg)
{
	struct sync_call *s = arg;

	s->fn(s->arg);
	atomic_store(&s->done, 1);
}

int bn_thr_call_wait(struct bn_thr *t, size_t i, void (*fn)(void *arg), void *arg)
{
	struct sync_call s = { fn, arg, 0 };

	if (bn_thr_call(t, i, run_sync, &s) != 0)
		return -1;
	/* no timeout: the call must not be left running with s gone */
	while (bn_wait_count(&s.done, 1, 60000) != 0)
		bn_err("still waiting for a call on thread %zu", i % t->n);
	return 0;
}

static void stop_loop(void *arg)
{
	event_base_loopbreak(arg);
}

void bn_thr_stop(struct bn_thr *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++) {
		struct worker *w = &t->w[i];

		if (w->started) {
			bn_thr_call(t, i, stop_loop, w->base);
			pthread_join(w->tid, NULL);
		}
		while (w->head) {
			struct call *c = w->head;

			w->head = c->next;
			free(c);
		}
		if (w->wake)
			event_free(w->wake);
		if (w->base)
			event_base_free(w->base);
		if (w->pipe[0] >= 0)
			close(w->pipe[0]);
		if (w->pipe[1] >= 0)
			close(w->pipe[1]);
		pthread_mutex_destroy(&w->mu);
	}
	free(t->w);
	free(t);
}
