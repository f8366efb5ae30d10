/* The multi-thread scheduler: workers, stealing, parking, shutdown. */
#include "sched/multi_thread.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/stack_pool.h"
#include "task/overflow.h"
#include "task/thread.h"
#include "util/block_cache.h"
#include "util/block_depot.h"
#include "util/clock.h"

#define LIFO_MAX_POLLS 3

enum { PARK_EMPTY, PARK_CONDVAR, PARK_DRIVER, PARK_NOTIFIED };

/* ---- where am I ---- */

static mt_worker *current_worker(eddy_mt_sched *rt)
{
    mt_worker *w = eddy__thread()->worker;
    return w && w->rt == rt ? w : NULL;
}

/* Tasks a worker takes from the inject queue at once, at most: each costs
 * a miss in the walk that cuts the share, under no lock but with the
 * queue taken away from the other workers meanwhile. */
#define INJECT_SHARE_MAX 128

/* ---- owned tasks ---- */

static struct mt_owned_shard *shard_of(eddy_mt_sched *rt, const eddy_task *t)
{
    return &rt->owned[t->id % MT_OWNED_SHARDS];
}

static void own(eddy_mt_sched *rt, eddy_task *t)
{
    struct mt_owned_shard *sh = shard_of(rt, t);
    eddy__spin_lock(&sh->lock);
    t->owned = true;
    t->owned_prev = NULL;
    t->owned_next = sh->head;
    if (sh->head)
        sh->head->owned_prev = t;
    sh->head = t;
    eddy__spin_unlock(&sh->lock);
    /* Tasks reaching a worker during shutdown are dropped unrun. */
    if (atomic_load(&rt->shutting_down))
        eddy__task_set_cancelled(t);
}

static void disown(eddy_mt_sched *rt, eddy_task *t)
{
    struct mt_owned_shard *sh = shard_of(rt, t);
    eddy__spin_lock(&sh->lock);
    if (t->owned_prev)
        t->owned_prev->owned_next = t->owned_next;
    else
        sh->head = t->owned_next;
    if (t->owned_next)
        t->owned_next->owned_prev = t->owned_prev;
    t->owned = false;
    eddy__spin_unlock(&sh->lock);
}

/* No incomplete task is left. There is no shared count of them to ask: it
 * cost two atomic operations per task on a line every worker writes, and
 * the question only matters during shutdown. The last worker to disown a
 * task sees every shard empty, since each looks after its own disown. */
static bool owned_empty(eddy_mt_sched *rt)
{
    for (unsigned i = 0; i < MT_OWNED_SHARDS; i++) {
        struct mt_owned_shard *sh = &rt->owned[i];
        eddy__spin_lock(&sh->lock);
        bool empty = sh->head == NULL;
        eddy__spin_unlock(&sh->lock);
        if (!empty)
            return false;
    }
    return true;
}

/* ---- parking one worker ---- */

/* Signals after unlocking: a worker woken while we still held the lock
 * would wake only to sleep on the lock (a futex wait and wake more, per
 * unpark, in the profile of a busy server). The state changed under the
 * lock, so a worker that has not reached its wait yet sees it there. */
static void unpark_worker(mt_worker *w)
{
    pthread_mutex_lock(&w->park_lock);
    int prev = w->park_state;
    w->park_state = PARK_NOTIFIED;
    pthread_mutex_unlock(&w->park_lock);
    if (prev == PARK_CONDVAR)
        pthread_cond_signal(&w->park_cond);
    else if (prev == PARK_DRIVER)
        eddy__driver_unpark(w->rt->driver);
}

/* ---- idle coordination (Tokio's rules) ---- */

/* Wakes a sleeping worker to look for work, unless one is searching
 * already (it will find the work) or none sleeps. */
static void notify_parked(eddy_mt_sched *rt)
{
    if (atomic_load(&rt->searching) != 0 || atomic_load(&rt->unparked) >= rt->nworkers)
        return;
    pthread_mutex_lock(&rt->idle_lock);
    mt_worker *w = NULL;
    if (atomic_load(&rt->searching) == 0 && rt->nsleepers > 0) {
        w = &rt->workers[rt->sleepers[--rt->nsleepers]];
        w->sleeping = false;
        w->searching = true;
        atomic_fetch_add(&rt->searching, 1);
        atomic_fetch_add(&rt->unparked, 1);
    }
    pthread_mutex_unlock(&rt->idle_lock);
    if (w)
        unpark_worker(w);
}

static void notify_all(eddy_mt_sched *rt)
{
    for (unsigned i = 0; i < rt->nworkers; i++)
        unpark_worker(&rt->workers[i]);
}

static bool become_searching(mt_worker *w)
{
    eddy_mt_sched *rt = w->rt;
    if (w->searching)
        return true;
    /* At most half the workers search at once. */
    if (2 * atomic_load(&rt->searching) >= rt->nworkers)
        return false;
    atomic_fetch_add(&rt->searching, 1);
    w->searching = true;
    return true;
}

/* The worker found work. If it was the last one searching, another one
 * is woken to look for the rest. */
static void stop_searching(mt_worker *w)
{
    if (!w->searching)
        return;
    w->searching = false;
    if (atomic_fetch_sub(&w->rt->searching, 1) == 1)
        notify_parked(w->rt);
}

static bool work_anywhere(eddy_mt_sched *rt)
{
    if (eddy__shared_has_work(rt->base.shared))
        return true;
    for (unsigned i = 0; i < rt->nworkers; i++)
        if (eddy__steal_queue_len(&rt->workers[i].ring) > 0)
            return true;
    return false;
}

/* ---- queues ---- */

static void push_ring(mt_worker *w, eddy_task *t)
{
    eddy_task_queue overflow = { NULL, NULL };
    if (eddy__steal_queue_push(&w->ring, t, &overflow))
        eddy__shared_push_batch(w->rt->base.shared, &overflow);
}

/* A migratable task woken or spawned on a worker goes to its LIFO slot: it
 * will run next, on the caches that just produced what it waits for. The
 * one it displaces can be stolen, so an idle worker is told; but wakes from
 * the driver come in batches, and telling once when the batch is in
 * (notify_if_stealable) saves a wake per poll that finds more than one. */
static void push_lifo(mt_worker *w, eddy_task *t)
{
    eddy_task *prev = w->lifo;
    w->lifo = t;
    if (prev) {
        push_ring(w, prev);
        if (!w->dispatching)
            notify_parked(w->rt);
    }
}

/* After a driver poll: its wakes may have left work for another worker. A
 * searching worker will find it itself. */
static void notify_if_stealable(mt_worker *w)
{
    if (!w->searching && eddy__steal_queue_len(&w->ring) > 0)
        notify_parked(w->rt);
}

static eddy_task *pop_remote_pinned(mt_worker *w)
{
    if (!atomic_load_explicit(&w->remote_len, memory_order_acquire))
        return NULL;
    pthread_mutex_lock(&w->remote_lock);
    eddy_task *t = eddy__queue_pop(&w->remote);
    if (t)
        atomic_fetch_sub(&w->remote_len, 1);
    pthread_mutex_unlock(&w->remote_lock);
    return t;
}

/* The next task from the ring or the pinned queue, alternating between
 * them by tick so that neither starves. */
static eddy_task *pop_queued(mt_worker *w, uint32_t tick)
{
    eddy_task *t;
    if (tick & 1) {
        if ((t = eddy__steal_queue_pop(&w->ring)) || (t = eddy__queue_pop(&w->local)))
            return t;
    } else {
        if ((t = eddy__queue_pop(&w->local)) || (t = eddy__steal_queue_pop(&w->ring)))
            return t;
    }
    return NULL;
}

static eddy_task *next_local(mt_worker *w)
{
    eddy_task *t;
    if (w->lifo && w->lifo_polls < LIFO_MAX_POLLS) {
        t = w->lifo;
        w->lifo = NULL;
        w->lifo_polls++;
        return t;
    }
    w->lifo_polls = 0;
    if (w->lifo) { /* its turn is over: to the back of the ring */
        push_ring(w, w->lifo);
        w->lifo = NULL;
    }
    return pop_queued(w, w->tick);
}

/* With nothing local to run: this worker's share of the inject queue in one
 * critical section (a lock per task was a tenth of the workers' time when
 * every task came from outside); the extra ones go to the ring, where idle
 * workers, told, may steal them. The ring is empty here, so they fit. */
static eddy_task *pop_inject_share(mt_worker *w)
{
    eddy_task_queue rest = { NULL, NULL };
    eddy_task *t = eddy__shared_pop_share(w->rt->base.shared, w->rt->nworkers,
                                          INJECT_SHARE_MAX, &rest);
    if (eddy__queue_empty(&rest))
        return t;
    for (eddy_task *r; (r = eddy__queue_pop(&rest));)
        push_ring(w, r);
    notify_parked(w->rt); /* there is work to steal */
    return t;
}

static eddy_task *next_task(mt_worker *w)
{
    eddy_mt_sched *rt = w->rt;
    eddy_task *t;
    if (--w->remote_countdown == 0) {
        w->remote_countdown = rt->cfg.global_queue_interval;
        if ((t = eddy__shared_pop(rt->base.shared)) || (t = pop_remote_pinned(w)))
            return t;
    }
    if ((t = next_local(w)))
        return t;
    if ((t = pop_remote_pinned(w)))
        return t;
    return pop_inject_share(w);
}

static eddy_task *steal_work(mt_worker *w)
{
    eddy_mt_sched *rt = w->rt;
    if (!become_searching(w))
        return NULL;
    /* Start at a random victim so thieves spread out. */
    w->rng ^= w->rng << 13;
    w->rng ^= w->rng >> 7;
    w->rng ^= w->rng << 17;
    unsigned start = (unsigned)(w->rng % rt->nworkers);
    for (unsigned i = 0; i < rt->nworkers; i++) {
        mt_worker *victim = &rt->workers[(start + i) % rt->nworkers];
        if (victim == w)
            continue;
        eddy_task *t = eddy__steal_queue_steal(&victim->ring, &w->ring);
        if (t)
            return t;
    }
    return pop_inject_share(w);
}

/* ---- the scheduler ops ---- */

static void mt_schedule(eddy_sched *base, eddy_task *t)
{
    eddy_mt_sched *rt = (eddy_mt_sched *)base;
    mt_worker *w = current_worker(rt);
    if (w) {
        push_lifo(w, t);
        return;
    }
    eddy__shared_push(base->shared, t);
}

static int mt_spawn(eddy_sched *base, eddy_task *t)
{
    eddy_mt_sched *rt = (eddy_mt_sched *)base;
    mt_worker *w = current_worker(rt);
    if (!w) {
        eddy__shared_spawn(base->shared, t);
        return 0;
    }
    t->sched = base;
    own(rt, t);
    /* Like a wake: to the LIFO slot, to run next here, where whatever the
     * spawner just wrote for it is in cache; the task it displaces goes to
     * the ring and the idle workers are told. A chain of spawns then stays
     * on one worker instead of bouncing between two (and waking one for
     * every link), as Tokio does. */
    push_lifo(w, t);
    return 0;
}

static void pinned_schedule(eddy_sched *base, eddy_task *t)
{
    mt_worker *w = (mt_worker *)((char *)base - offsetof(mt_worker, pinned));
    if (current_worker(w->rt) == w) {
        eddy__queue_push(&w->local, t);
        return;
    }
    pthread_mutex_lock(&w->remote_lock);
    eddy__queue_push(&w->remote, t);
    atomic_fetch_add(&w->remote_len, 1);
    pthread_mutex_unlock(&w->remote_lock);
    unpark_worker(w);
}

static int pinned_spawn(eddy_sched *base, eddy_task *t)
{
    /* Only ever called on the worker itself (see local_sched). */
    mt_worker *w = (mt_worker *)((char *)base - offsetof(mt_worker, pinned));
    t->sched = base;
    own(w->rt, t);
    eddy__queue_push(&w->local, t);
    return 0;
}

static eddy_mt_sched *rt_of(eddy_sched *base)
{
    return (eddy_mt_sched *)base->shared->sched;
}

static void mt_timer_arm(eddy_sched *base, eddy_timer *timer, uint64_t deadline)
{
    eddy__mt_timer_arm(rt_of(base), timer, deadline);
}

static bool mt_timer_disarm(eddy_sched *base, eddy_timer *timer)
{
    return eddy__mt_timer_disarm(rt_of(base), timer);
}

static uint64_t mt_now(eddy_sched *base)
{
    return eddy__mt_time_now(rt_of(base));
}

static eddy_sched *mt_local_sched(eddy_sched *base)
{
    mt_worker *w = current_worker(rt_of(base));
    return w ? &w->pinned : NULL;
}

static void mt_stack_config(eddy_sched *base, size_t *size, bool *guarded)
{
    eddy_mt_sched *rt = rt_of(base);
    *size = rt->cfg.stack_size;
    *guarded = rt->cfg.guarded_stacks;
}

/* For mt_chain, with the LIFO slot empty: the task the loop's next_local
 * would take with the given tick, if it has not started (so may start on
 * a returning task's stack). A pinned task due first stays for the loop.
 * One from the ring is taken out (a thief may take the head meanwhile);
 * if it has started, it goes to the empty slot, where the loop takes it
 * next all the same. */
static eddy_task *pop_for_chain(mt_worker *w, uint32_t tick)
{
    if (!(tick & 1) && !eddy__queue_empty(&w->local))
        return NULL;
    eddy_task *t = eddy__steal_queue_pop(&w->ring);
    if (t && t->started) {
        w->lifo = t;
        return NULL;
    }
    return t;
}

/* As the current-thread scheduler's ct_chain: a migratable task that
 * returns on a worker starts the task the loop would run next on its own
 * stack, if that task has not started, within the LIFO slot's poll budget
 * and when no periodic work is due. That is the task in the slot (most
 * often the one the returning task spawned) or, with the slot empty, the
 * ring's head (a batch of spawns from outside, whose first run owns them
 * as run_task does). Only this worker touches its slot, and a task taken
 * from either has not started, so nobody else can be running it.
 * Shutdown goes through the loop, which tells the workers when the last
 * task is done. */
static eddy_task *mt_chain(eddy_sched *base, eddy_thread *th, eddy_task *t)
{
    eddy_mt_sched *rt = (eddy_mt_sched *)base;
    mt_worker *w = th->worker;
    if (!w || w->rt != rt || th->home != &th->sched_fiber || w->remote_countdown <= 1 ||
        w->event_countdown <= 1 || atomic_load_explicit(&rt->shutting_down, memory_order_relaxed))
        return NULL;
    eddy_task *next = w->lifo;
    if (next) {
        if (next->started || w->lifo_polls >= LIFO_MAX_POLLS ||
            !eddy__task_fits_stack_of(next, t, rt->cfg.stack_size))
            return NULL;
        w->lifo = NULL;
        w->lifo_polls++;
    } else {
        w->lifo_polls = 0; /* as next_local resets it for an empty slot */
        if (!(next = pop_for_chain(w, w->tick + 1)))
            return NULL;
        if (!eddy__task_fits_stack_of(next, t, rt->cfg.stack_size)) {
            w->lifo = next; /* the loop's next, as it was */
            return NULL;
        }
        if (!next->owned)
            own(rt, next);
    }
    w->tick++;
    w->remote_countdown--;
    w->event_countdown--;
    if (eddy__task_transition_to_running(next) & TS_CANCELLED) {
        /* Aborted before it started: it never runs (as in run_task). */
        disown(rt, next);
        eddy__task_complete(next, NULL, -ECANCELED);
        return NULL;
    }
    eddy__task_pass_stack(t, next);
    disown(rt, t);
    eddy__task_complete(t, t->result, eddy__task_is_cancelled(t) ? -ECANCELED : 0);
    return next;
}

/* For mt_handoff: the task the loop's next_local would take with the
 * given tick, if it may be resumed from a task's stack. A pinned task
 * that has not started stays at the head of its queue for the loop; one
 * from the ring is taken out (a thief may take the head meanwhile, so it
 * is not looked at first) and returned either way. */
static eddy_task *pop_for_handoff(mt_worker *w, uint32_t tick)
{
    eddy_task *t;
    if ((tick & 1) && (t = eddy__steal_queue_pop(&w->ring)))
        return t;
    if ((t = w->local.head))
        return t->started ? eddy__queue_pop(&w->local) : NULL;
    return (tick & 1) ? NULL : eddy__steal_queue_pop(&w->ring);
}

/* As ct_handoff, for a yield only: the yielding task t (migratable, or
 * pinned to worker w) goes to w's deferred list, which no other thread
 * touches, and the task the loop would run next, if it has run before,
 * is resumed straight from t. A parking task goes through the loop: once
 * it is idle, a wake on another thread may queue it where another worker
 * takes it before its switch completes. The loop's own steps are taken as
 * it would take them (tick, countdowns); with a task in the LIFO slot or
 * periodic work due, the loop decides. A migratable task that has not
 * started goes to the empty slot, which the loop looks at first. */
static eddy_task *handoff_on(mt_worker *w, eddy_thread *th, eddy_task *t)
{
    if (t->exit != TASK_YIELDED || th->home != &th->sched_fiber || w->lifo ||
        w->remote_countdown <= 1 || w->event_countdown <= 1)
        return NULL;
    eddy_task *next = pop_for_handoff(w, w->tick + 1);
    if (!next)
        return NULL;
    w->lifo_polls = 0;
    if (!next->started) {
        w->lifo = next;
        return NULL;
    }
    w->tick++;
    w->remote_countdown--;
    w->event_countdown--;
    eddy__queue_push(&w->deferred, t);
    eddy__task_begin_run(next);
    return next;
}

static eddy_task *mt_handoff(eddy_sched *base, eddy_thread *th, eddy_task *t)
{
    mt_worker *w = th->worker;
    return w && w->rt == (eddy_mt_sched *)base ? handoff_on(w, th, t) : NULL;
}

/* The same for a task pinned to its worker (always this thread's). */
static eddy_task *pinned_handoff(eddy_sched *base, eddy_thread *th, eddy_task *t)
{
    mt_worker *w = (mt_worker *)((char *)base - offsetof(mt_worker, pinned));
    return th->worker == w ? handoff_on(w, th, t) : NULL;
}

static const eddy_sched_ops mt_ops = {
    .schedule = mt_schedule,
    .spawn = mt_spawn,
    .timer_arm = mt_timer_arm,
    .timer_disarm = mt_timer_disarm,
    .now = mt_now,
    .local_sched = mt_local_sched,
    .stack_config = mt_stack_config,
    .handoff = mt_handoff,
    .chain = mt_chain,
};

static const eddy_sched_ops pinned_ops = {
    .schedule = pinned_schedule,
    .spawn = pinned_spawn,
    .timer_arm = mt_timer_arm,
    .timer_disarm = mt_timer_disarm,
    .now = mt_now,
    .local_sched = mt_local_sched,
    .stack_config = mt_stack_config,
    .handoff = pinned_handoff,
};

static void notify_inject(eddy_shared *sh)
{
    notify_parked((eddy_mt_sched *)sh->notify_ctx);
}

/* ---- running tasks ---- */

static inline void run_task(mt_worker *w, eddy_thread *th, eddy_task *t)
{
    eddy_mt_sched *rt = w->rt;
    if (!t->owned) /* spawned from outside, through the inject queue */
        own(rt, t);
    uint64_t prev = eddy__task_begin_run(t);
    int status = 0;
    eddy_task *back;
    if (!t->started && (prev & TS_CANCELLED)) {
        status = -ECANCELED;
    } else if (!(back = eddy__task_run(th, t, rt->cfg.stack_size, rt->cfg.guarded_stacks))) {
        status = -ENOMEM;
    } else if ((t = back)->exit == TASK_YIELDED) {
        /* t is the task that came back: the one run, or one that started
         * in its place after it returned (mt_chain). */
        eddy__queue_push(&w->deferred, t);
        return;
    } else if (t->exit == TASK_PARKED) {
        if (eddy__task_transition_to_idle(t)) {
            if (t->sched == &rt->base)
                push_ring(w, t);
            else
                eddy__queue_push(&w->local, t);
        }
        return;
    } else {
        eddy__task_release_stack(th, t);
        status = eddy__task_is_cancelled(t) ? -ECANCELED : 0;
    }
    disown(rt, t);
    eddy__task_complete(t, eddy__task_output(t), status);
    if (atomic_load(&rt->shutting_down) && owned_empty(rt))
        notify_all(rt); /* the last task is done: the workers may leave */
}

/* A worker that went to sleep on its condition variable because we held
 * the driver for a poll is woken to take it: we may not poll again for a
 * long time (a task that never yields), and until someone waits in the
 * driver, the timers of our wheel wait for us. */
static void hand_driver_over(mt_worker *w)
{
    eddy_mt_sched *rt = w->rt;
    for (unsigned i = 0; i < rt->nworkers; i++) {
        mt_worker *v = &rt->workers[i];
        if (v != w && atomic_load(&v->on_condvar)) {
            unpark_worker(v);
            return;
        }
    }
}

/* Fires this worker's due timers; dispatches I/O if this worker gets the
 * driver. */
static void poll_driver(mt_worker *w)
{
    eddy_mt_sched *rt = w->rt;
    if (pthread_mutex_trylock(&rt->driver_lock) == 0) {
        w->dispatching = true;
        eddy__driver_poll(rt->driver);
        w->dispatching = false;
        pthread_mutex_unlock(&rt->driver_lock);
        notify_if_stealable(w);
        if (atomic_load(&rt->condvar_sleepers))
            hand_driver_over(w);
    }
    eddy__mt_time_fire_own(w);
}

/* Releases the yielded tasks onto the queues. */
static void flush_deferred(mt_worker *w)
{
    eddy_task *t;
    unsigned stealable = 0;
    while ((t = eddy__queue_pop(&w->deferred))) {
        if (t->sched == &w->rt->base) {
            push_ring(w, t);
            stealable++;
        } else {
            eddy__queue_push(&w->local, t);
        }
    }
    /* More than this worker can run at once: an idle one may take some. */
    if (stealable > 1)
        notify_parked(w->rt);
}

static bool has_local_work(mt_worker *w)
{
    return w->lifo || !eddy__queue_empty(&w->local) || eddy__steal_queue_len(&w->ring) > 0 ||
           atomic_load(&w->remote_len) > 0 || !eddy__queue_empty(&w->deferred);
}

static bool done(eddy_mt_sched *rt)
{
    return atomic_load(&rt->shutting_down) && owned_empty(rt) &&
           !eddy__shared_has_work(rt->base.shared);
}

/* The earlier of two time-outs in ms, where -1 is none. */
static int earlier_ms(int a, int b)
{
    if (a < 0)
        return b;
    return b >= 0 && b < a ? b : a;
}

/* With the park lock and the driver lock held: this worker waits in the
 * driver; it fires timers and dispatches I/O for everyone. Returns with
 * neither lock held. */
static void park_in_driver(mt_worker *w, int trim_ms)
{
    eddy_mt_sched *rt = w->rt;
    w->park_state = PARK_DRIVER;
    eddy__driver_prepare_park(rt->driver);
    pthread_mutex_unlock(&w->park_lock);
    int timeout = eddy__mt_time_driver_park_begin(rt);
    w->dispatching = true;
    eddy__driver_park(rt->driver, earlier_ms(timeout, trim_ms));
    w->dispatching = false;
    eddy__mt_time_driver_park_end(rt);
    pthread_mutex_unlock(&rt->driver_lock);
    pthread_mutex_lock(&w->park_lock);
    w->park_state = PARK_EMPTY;
    pthread_mutex_unlock(&w->park_lock);
}

/* With the park lock held, the driver being taken: this worker sleeps on
 * its condition variable, until woken, its own next timer, or its cold
 * stacks are due. Returns without the park lock. */
static void park_off_driver(mt_worker *w, int trim_ms, int own_timer_ms)
{
    eddy_mt_sched *rt = w->rt;
    w->park_state = PARK_CONDVAR;
    atomic_store(&w->on_condvar, true);
    atomic_fetch_add(&rt->condvar_sleepers, 1);
    /* The driver's holder hands it over when it lets go of a poll
     * (hand_driver_over); if it let go before it could see us, we take
     * it now. */
    if (pthread_mutex_trylock(&rt->driver_lock) == 0) {
        atomic_fetch_sub(&rt->condvar_sleepers, 1);
        atomic_store(&w->on_condvar, false);
        park_in_driver(w, trim_ms);
        return;
    }
    /* Our own timers are ours to fire: the worker in the driver may be
     * busy running tasks by the time they are due. */
    int limit_ms = earlier_ms(own_timer_ms, trim_ms);
    struct timespec until = { 0, 0 };
    if (limit_ms >= 0)
        until = eddy__timespec_from_ns(eddy__deadline_after_ms((uint64_t)limit_ms));
    while (w->park_state == PARK_CONDVAR) {
        if (limit_ms < 0)
            pthread_cond_wait(&w->park_cond, &w->park_lock);
        else if (pthread_cond_timedwait(&w->park_cond, &w->park_lock, &until) == ETIMEDOUT)
            break; /* back to the loop, which parks again after trimming */
    }
    atomic_fetch_sub(&rt->condvar_sleepers, 1);
    atomic_store(&w->on_condvar, false);
    w->park_state = PARK_EMPTY;
    pthread_mutex_unlock(&w->park_lock);
    eddy__mt_time_fire_own(w);
}

/* Puts the worker to sleep until there is work for it. */
static void park(mt_worker *w)
{
    eddy_mt_sched *rt = w->rt;
    pthread_mutex_lock(&rt->idle_lock);
    bool last_searcher = w->searching && atomic_fetch_sub(&rt->searching, 1) == 1;
    w->searching = false;
    atomic_fetch_sub(&rt->unparked, 1);
    rt->sleepers[rt->nsleepers++] = w->index;
    w->sleeping = true;
    pthread_mutex_unlock(&rt->idle_lock);
    /* Work that arrived while we were giving up must not be stranded. */
    if (last_searcher && work_anywhere(rt))
        notify_parked(rt);
    if (eddy__shared_has_work(rt->base.shared))
        notify_parked(rt);

    if (rt->cfg.on_thread_park)
        rt->cfg.on_thread_park(rt->cfg.hook_arg);
    /* When the cold stacks and blocks are due to be handed back. */
    int trim_ms = eddy__block_depot_trim(eddy__stack_pool_trim(-1));
    /* Before the park lock, which a timer's wake may take: only our own
     * tasks arm timers in our wheel, and none of them runs now. */
    int own_timer_ms = eddy__mt_time_own_timeout(w);
    pthread_mutex_lock(&w->park_lock);
    if (w->park_state == PARK_NOTIFIED || done(rt) || atomic_load(&w->remote_len)) {
        w->park_state = PARK_EMPTY;
        pthread_mutex_unlock(&w->park_lock);
    } else if (pthread_mutex_trylock(&rt->driver_lock) == 0) {
        park_in_driver(w, trim_ms);
    } else {
        park_off_driver(w, trim_ms, own_timer_ms);
    }
    if (rt->cfg.on_thread_unpark)
        rt->cfg.on_thread_unpark(rt->cfg.hook_arg);
    if (rt->cfg.on_thread_park || rt->cfg.on_thread_unpark)
        eddy__thread()->home_env = eddy__ctx_fp_env();

    /* Woken by a wake of a pinned task, a timer or I/O rather than by
     * notify_parked: take ourselves off the idle list. */
    pthread_mutex_lock(&rt->idle_lock);
    if (w->sleeping) {
        for (unsigned i = 0; i < rt->nsleepers; i++) {
            if (rt->sleepers[i] == w->index) {
                rt->sleepers[i] = rt->sleepers[--rt->nsleepers];
                break;
            }
        }
        w->sleeping = false;
        atomic_fetch_add(&rt->unparked, 1);
    }
    pthread_mutex_unlock(&rt->idle_lock);
    /* Last: while we were still on the idle list, a notify could pick us. */
    notify_if_stealable(w);
}

static void *worker_main(void *arg)
{
    mt_worker *w = arg;
    eddy_mt_sched *rt = w->rt;
    eddy_thread *th = eddy__thread();
    pthread_setname_np(pthread_self(), rt->cfg.worker_name);
    eddy__sched_own(&w->pinned);
    th->worker = w;
    th->driving = &rt->base;
    eddy__overflow_thread_init();
    eddy__fiber_init_thread(&th->sched_fiber);
    th->home = &th->sched_fiber;
    if (rt->cfg.on_thread_start)
        rt->cfg.on_thread_start(rt->cfg.hook_arg);
    th->home_env = eddy__ctx_fp_env(); /* as the hook left them */

    while (!done(rt)) {
        w->tick++;
        if (--w->event_countdown == 0) {
            w->event_countdown = rt->cfg.event_interval;
            poll_driver(w);
            flush_deferred(w);
        }
        eddy_task *t = next_task(w);
        if (!t && !eddy__queue_empty(&w->deferred)) {
            poll_driver(w);
            flush_deferred(w);
            continue;
        }
        if (!t && (t = steal_work(w)) == NULL) {
            if (!has_local_work(w) && !done(rt))
                park(w);
            continue;
        }
        stop_searching(w);
        run_task(w, th, t);
    }

    stop_searching(w);
    if (rt->cfg.on_thread_stop)
        rt->cfg.on_thread_stop(rt->cfg.hook_arg);
    eddy__thread_drop_spare(th);
    eddy__stack_cache_drain();
    eddy__block_cache_drain();
    eddy__sched_disown(&w->pinned);
    th->worker = NULL;
    th->driving = NULL;
    th->home = NULL;
    return NULL;
}

/* ---- lifetime ---- */

int eddy__mt_init(eddy_mt_sched *rt, const eddy_sched_config *cfg)
{
    memset(rt, 0, sizeof *rt);
    rt->base.ops = &mt_ops;
    rt->cfg = *cfg;
    rt->nworkers = cfg->worker_threads;
    eddy__lock_init(&rt->driver_lock);
    eddy__lock_init(&rt->idle_lock);
    for (unsigned i = 0; i < MT_OWNED_SHARDS; i++)
        eddy__spin_init(&rt->owned[i].lock);
    atomic_init(&rt->unparked, rt->nworkers);
    rt->workers = aligned_alloc(MT_LINE, rt->nworkers * sizeof *rt->workers);
    if (rt->workers)
        memset(rt->workers, 0, rt->nworkers * sizeof *rt->workers);
    rt->sleepers = calloc(rt->nworkers, sizeof *rt->sleepers);
    int err = ENOMEM;
    rt->driver = eddy__driver_new();
    if (!rt->driver)
        err = errno; /* EMFILE or ENFILE as well as ENOMEM */
    if (!rt->workers || !rt->sleepers || !rt->driver || eddy__mt_time_init(rt) < 0)
        goto fail;
    rt->base.shared = eddy__shared_new(cfg, &rt->base, rt->driver);
    if (!rt->base.shared)
        goto fail;
    rt->base.shared->notify = notify_inject;
    rt->base.shared->notify_ctx = rt;

    for (unsigned i = 0; i < rt->nworkers; i++) {
        mt_worker *w = &rt->workers[i];
        w->rt = rt;
        w->index = i;
        w->pinned.ops = &pinned_ops;
        w->pinned.shared = rt->base.shared;
        eddy__steal_queue_init(&w->ring);
        eddy__lock_init(&w->remote_lock);
        eddy__lock_init(&w->park_lock);
        eddy__cond_init_monotonic(&w->park_cond);
        w->rng = 0x9E3779B97F4A7C15ull * (i + 1);
        w->remote_countdown = cfg->global_queue_interval;
        w->event_countdown = cfg->event_interval;
    }
    eddy__stack_pool_ref(); /* dropped by eddy__mt_destroy */
    eddy__block_depot_ref();
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (cfg->thread_stack_size)
        pthread_attr_setstacksize(&attr, cfg->thread_stack_size);
    for (unsigned i = 0; i < rt->nworkers; i++) {
        int rc = pthread_create(&rt->workers[i].thread, &attr, worker_main, &rt->workers[i]);
        if (rc != 0) {
            pthread_attr_destroy(&attr);
            /* Stop the ones already started: nothing runs on them yet. */
            atomic_store(&rt->shutting_down, true);
            notify_all(rt);
            for (unsigned j = 0; j < i; j++)
                pthread_join(rt->workers[j].thread, NULL);
            eddy__mt_destroy(rt);
            return -rc;
        }
    }
    pthread_attr_destroy(&attr);
    return 0;

fail:
    eddy__mt_time_destroy(rt);
    if (rt->base.shared)
        eddy__shared_unref(rt->base.shared);
    if (rt->driver)
        eddy__driver_unref(rt->driver);
    free(rt->workers);
    free(rt->sleepers);
    return -err;
}

void eddy__mt_shutdown(eddy_mt_sched *rt)
{
    eddy__shared_close(rt->base.shared);
    atomic_store(&rt->shutting_down, true);
    for (unsigned i = 0; i < MT_OWNED_SHARDS; i++) {
        eddy__spin_lock(&rt->owned[i].lock);
        for (eddy_task *t = rt->owned[i].head; t; t = t->owned_next)
            eddy_abort(t);
        eddy__spin_unlock(&rt->owned[i].lock);
    }
    notify_all(rt);
    for (unsigned i = 0; i < rt->nworkers; i++)
        pthread_join(rt->workers[i].thread, NULL);
}

void eddy__mt_destroy(eddy_mt_sched *rt)
{
    for (unsigned i = 0; i < rt->nworkers; i++) {
        mt_worker *w = &rt->workers[i];
        pthread_mutex_destroy(&w->remote_lock);
        pthread_mutex_destroy(&w->park_lock);
        pthread_cond_destroy(&w->park_cond);
    }
    eddy__driver_shutdown(rt->driver);
    eddy__driver_unref(rt->driver);
    eddy__shared_unref(rt->base.shared);
    pthread_mutex_destroy(&rt->driver_lock);
    eddy__mt_time_destroy(rt);
    pthread_mutex_destroy(&rt->idle_lock);
    free(rt->workers);
    free(rt->sleepers);
    eddy__block_depot_unref();
    eddy__stack_pool_unref(); /* the workers have drained their caches */
}
