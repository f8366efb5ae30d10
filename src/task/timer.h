/* A timer entry: intrusive, so that arming one allocates nothing (a
 * waiting task uses the one in its task object). The time driver files it
 * in its wheel and calls `fire` once the deadline passes. */
#ifndef EDDY_TASK_TIMER_H
#define EDDY_TASK_TIMER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct eddy_timer eddy_timer;

struct eddy_timer {
    uint64_t deadline;          /* ms on the wheel's clock (set by the driver) */
    eddy_timer *prev, *next;
    void (*fire)(eddy_timer *); /* called once when the deadline passes */
    uint8_t level, slot;        /* where the wheel filed it */
    /* Filed in a wheel (or being fired). Written under the wheel's lock;
     * the multi-thread runtime reads it without, to skip the lock when
     * disarming a timer that fired (cleared, with release, once `fire`
     * has returned). */
    atomic_bool armed;
    unsigned shard;             /* the multi-thread runtime: which of its
                                   wheels holds it (sched/mt_time.c) */
    void *owner;                /* the scheduler whose wheel holds it, for
                                   schedulers that lend another's (LocalSet) */
};

#endif /* EDDY_TASK_TIMER_H */
