/* The multi-thread runtime's timers: a wheel per worker, all on one clock.
 *
 * A task arms its timer in the wheel of the worker it runs on, and that
 * worker fires it from its own loop. So the wake lands in the queue of the
 * worker whose caches hold the task, rather than in the queue of whichever
 * worker polled the driver; and workers that arm and fire timers all the
 * time do not take turns on one lock. With one wheel, a worker's timers
 * ran on the other worker half the time, and each move of a task between
 * cores costs misses on its stack and its task object.
 *
 * Who fires what:
 * - a worker, at its driver polls, fires its own wheel;
 * - the worker parked in the driver waits for the earliest timer of every
 *   wheel and fires them all when it wakes: it stands in for workers that
 *   are asleep, or busy in a long task;
 * - a worker asleep on its condition variable wakes for its own wheel's
 *   next timer (only its own tasks arm there, and none of them is running).
 *
 * A timer remembers its wheel: the task may be disarming it from another
 * worker by then. Only tasks arm timers, and a task of this runtime runs on
 * one of its workers; should a timer ever be armed elsewhere, it goes to
 * worker 0's wheel, which the worker in the driver fires too. */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "sched/multi_thread.h"
#include "task/thread.h"

/* driver_deadline: nobody is parked in the driver (0: no timer is earlier),
 * or a worker is about to park and has not yet found its deadline (every
 * timer is earlier). Otherwise the wheel ms at which it will wake. */
#define DRIVER_AWAKE 0
#define DRIVER_PARKING UINT64_MAX

int eddy__mt_time_init(eddy_mt_sched *rt)
{
    rt->timers = aligned_alloc(MT_LINE, rt->nworkers * sizeof *rt->timers);
    if (!rt->timers)
        return -ENOMEM;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        eddy__lock_init(&rt->timers[i].lock);
        eddy__time_init(&rt->timers[i].time, false);
        /* One clock: deadlines in different wheels must compare. */
        rt->timers[i].time.origin = rt->timers[0].time.origin;
    }
    atomic_init(&rt->driver_deadline, DRIVER_AWAKE);
    return 0;
}

void eddy__mt_time_destroy(eddy_mt_sched *rt)
{
    if (!rt->timers)
        return;
    for (unsigned i = 0; i < rt->nworkers; i++)
        pthread_mutex_destroy(&rt->timers[i].lock);
    free(rt->timers);
    rt->timers = NULL;
}

uint64_t eddy__mt_time_now(eddy_mt_sched *rt)
{
    return eddy__time_now(&rt->timers[0].time);
}

/* The wheel for timers armed on this thread. */
static unsigned shard_here(eddy_mt_sched *rt)
{
    mt_worker *w = eddy__thread()->worker;
    return w && w->rt == rt ? w->index : 0;
}

void eddy__mt_timer_arm(eddy_mt_sched *rt, eddy_timer *timer, uint64_t deadline)
{
    unsigned i = shard_here(rt);
    mt_timer_shard *sh = &rt->timers[i];
    timer->shard = i;
    pthread_mutex_lock(&sh->lock);
    eddy__time_arm(&sh->time, timer, deadline);
    pthread_mutex_unlock(&sh->lock);
    /* A worker parked in the driver may have computed its time-out before
     * this timer existed. It published its deadline before looking at any
     * wheel: if it looked at ours before we filed the timer, we read its
     * deadline (or DRIVER_PARKING) now. */
    if (timer->deadline < atomic_load(&rt->driver_deadline))
        eddy__driver_unpark(rt->driver);
}

bool eddy__mt_timer_disarm(eddy_mt_sched *rt, eddy_timer *timer)
{
    /* Most timers are disarmed by the task they woke, after the wheel is
     * done with them: no need for the lock then. */
    if (!atomic_load_explicit(&timer->armed, memory_order_acquire))
        return true;
    mt_timer_shard *sh = &rt->timers[timer->shard];
    pthread_mutex_lock(&sh->lock);
    bool fired = eddy__time_disarm(&sh->time, timer);
    pthread_mutex_unlock(&sh->lock);
    return fired;
}

static void fire(mt_timer_shard *sh)
{
    pthread_mutex_lock(&sh->lock);
    eddy__time_process(&sh->time);
    pthread_mutex_unlock(&sh->lock);
}

void eddy__mt_time_fire_own(mt_worker *w)
{
    fire(&w->rt->timers[w->index]);
}

int eddy__mt_time_own_timeout(mt_worker *w)
{
    mt_timer_shard *sh = &w->rt->timers[w->index];
    pthread_mutex_lock(&sh->lock);
    int ms = eddy__time_park_timeout(&sh->time);
    pthread_mutex_unlock(&sh->lock);
    return ms;
}

int eddy__mt_time_driver_park_begin(eddy_mt_sched *rt)
{
    atomic_store(&rt->driver_deadline, DRIVER_PARKING);
    uint64_t next = UINT64_MAX;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        mt_timer_shard *sh = &rt->timers[i];
        pthread_mutex_lock(&sh->lock);
        uint64_t n = eddy__wheel_next_expiration(&sh->time.wheel);
        pthread_mutex_unlock(&sh->lock);
        if (n < next)
            next = n;
    }
    /* UINT64_MAX (no timer) is DRIVER_PARKING: any new timer wakes us. */
    atomic_store(&rt->driver_deadline, next);
    return eddy__time_timeout_until(&rt->timers[0].time, next);
}

void eddy__mt_time_driver_park_end(eddy_mt_sched *rt)
{
    atomic_store(&rt->driver_deadline, DRIVER_AWAKE);
    for (unsigned i = 0; i < rt->nworkers; i++)
        fire(&rt->timers[i]);
}
