/*
 * evtimer.h - the room logic's timers (room/timer.h) on a libevent loop.
 * The table's ctx is the struct event_base.
 */
#ifndef COVE_RV_EVTIMER_H
#define COVE_RV_EVTIMER_H

#include "room/timer.h"

extern const struct rm_timer_ops rv_evtimer_ops;

#endif
