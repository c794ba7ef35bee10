/*
 * timer.h - one-shot timers as the room logic sees them: a table of
 * functions, so that the relay runs them on its libevent loop
 * (rendezvous/evtimer.c) and the tests on a fake clock they advance by
 * hand (tests/unit/room_world.h), with nothing else changed.
 *
 * Every timer of a table belongs to one loop: a timer fires from that
 * loop, never inside a call of the room logic, so a callback may change
 * anything (free other timers, members, rooms).
 */
#ifndef COVE_ROOM_TIMER_H
#define COVE_ROOM_TIMER_H

#include <stdint.h>

struct rm_timer;

typedef void (*rm_timer_fn)(void *arg);

struct rm_timer_ops {
	/* A new timer, disarmed, that calls fn(arg) each time it fires.
	 * ctx is the table's own (the relay's event_base). NULL when out
	 * of memory. */
	struct rm_timer *(*create)(void *ctx, rm_timer_fn fn, void *arg);
	/* Fires t once, ms milliseconds from now, replacing an earlier
	 * arming. 0 means as soon as the work of this turn of the loop is
	 * done, before any new input is read. */
	void (*arm)(struct rm_timer *t, uint64_t ms);
	/* Disarms t; a no-op when it is not armed. */
	void (*cancel)(struct rm_timer *t);
	/* Disarms and frees t. NULL is a no-op. */
	void (*free)(struct rm_timer *t);
};

#endif
