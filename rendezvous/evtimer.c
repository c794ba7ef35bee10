/*
 * evtimer.c - the room logic's timers on libevent (evtimer.h).
 */
#include <stdlib.h>

#include <event2/event.h>

#include "rendezvous/evtimer.h"

struct rm_timer {
	struct event *ev;
	rm_timer_fn fn;
	void *arg;
};

static void fire(evutil_socket_t fd, short what, void *arg)
{
	struct rm_timer *t = arg;

	(void)fd;
	(void)what;
	t->fn(t->arg); /* may free t: nothing of it is touched after */
}

static struct rm_timer *create(void *ctx, rm_timer_fn fn, void *arg)
{
	struct rm_timer *t = malloc(sizeof(*t));

	if (!t)
		return NULL;
	t->fn = fn;
	t->arg = arg;
	t->ev = evtimer_new((struct event_base *)ctx, fire, t);
	if (!t->ev) {
		free(t);
		return NULL;
	}
	return t;
}

static void arm(struct rm_timer *t, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)((ms % 1000) * 1000) };

	if (ms == 0) {
		/* Activated, not a zero timeout: it runs in this turn of the
		 * loop, after the callbacks already due, before the loop polls
		 * for input again. */
		evtimer_del(t->ev);
		event_active(t->ev, EV_TIMEOUT, 0);
		return;
	}
	evtimer_add(t->ev, &tv);
}

static void cancel(struct rm_timer *t)
{
	evtimer_del(t->ev);
}

static void destroy(struct rm_timer *t)
{
	if (!t)
		return;
	event_free(t->ev);
	free(t);
}

const struct rm_timer_ops rv_evtimer_ops = {
	.create = create,
	.arm = arm,
	.cancel = cancel,
	.free = destroy,
};
