/* The current-thread scheduler's loop. */
#include "sched/current_thread.h"

#include <errno.h>
#include <string.h>

#include "arch/stack_pool.h"
#include "task/overflow.h"
#include "task/thread.h"
#include "util/block_cache.h"
#include "util/block_depot.h"

bool eddy__sched_owned_here(eddy_sched *s)
{
    return atomic_load_explicit(&s->owner, memory_order_relaxed) == eddy__thread()->id;
}

static void own(eddy_ct_sched *s, eddy_task *t)
{
    t->owned = true;
    t->owned_prev = NULL;
    t->owned_next = s->owned;
    if (s->owned)
        s->owned->owned_prev = t;
    s->owned = t;
    s->owned_count++;
}

static void disown(eddy_ct_sched *s, eddy_task *t)
{
    if (!t->owned)
        return;
    if (t->owned_prev)
        t->owned_prev->owned_next = t->owned_next;
    else
        s->owned = t->owned_next;
    if (t->owned_next)
        t->owned_next->owned_prev = t->owned_prev;
    t->owned = false;
    s->owned_count--;
}

static void ct_schedule(eddy_sched *base, eddy_task *t)
{
    eddy_ct_sched *s = (eddy_ct_sched *)base;
    if (eddy__sched_owned_here(base))
        eddy__queue_push(&s->run, t);
    else
        eddy__shared_push(base->shared, t);
}

static int ct_spawn(eddy_sched *base, eddy_task *t)
{
    eddy_ct_sched *s = (eddy_ct_sched *)base;
    if (!eddy__sched_owned_here(base)) {
        eddy__shared_spawn(base->shared, t);
        return 0;
    }
    /* A stack mapping failed and no task has finished since: the next
     * task would most likely fail the same way, so say so now. */
    if (s->stacks_exhausted)
        return -ENOMEM;
    t->sched = base;
    /* Tasks spawned while the runtime shuts down (by cancelled tasks
     * unwinding) are born cancelled: they are dropped without running. */
    if (s->shutting_down)
        eddy__task_set_cancelled(t);
    own(s, t);
    eddy__queue_push(&s->run, t);
    return 0;
}

static void ct_timer_arm(eddy_sched *base, eddy_timer *timer, uint64_t deadline)
{
    eddy__time_arm(&((eddy_ct_sched *)base)->time, timer, deadline);
}

static bool ct_timer_disarm(eddy_sched *base, eddy_timer *timer)
{
    return eddy__time_disarm(&((eddy_ct_sched *)base)->time, timer);
}

static uint64_t ct_now(eddy_sched *base)
{
    return eddy__time_now(&((eddy_ct_sched *)base)->time);
}

static eddy_sched *ct_local_sched(eddy_sched *base)
{
    return ((eddy_ct_sched *)base)->local && eddy__sched_owned_here(base) ? base : NULL;
}

static void ct_stack_config(eddy_sched *base, size_t *size, bool *guarded)
{
    eddy_ct_sched *s = (eddy_ct_sched *)base;
    *size = s->cfg.stack_size;
    *guarded = s->cfg.guarded_stacks;
}

static eddy_task *ct_handoff(eddy_sched *base, eddy_thread *th, eddy_task *t);
static eddy_task *ct_chain(eddy_sched *base, eddy_thread *th, eddy_task *t);
static eddy_task *ct_pass_on(eddy_sched *base, eddy_thread *th, eddy_task *t);

static const eddy_sched_ops ct_ops = {
    .schedule = ct_schedule,
    .spawn = ct_spawn,
    .timer_arm = ct_timer_arm,
    .timer_disarm = ct_timer_disarm,
    .now = ct_now,
    .local_sched = ct_local_sched,
    .stack_config = ct_stack_config,
    .handoff = ct_handoff,
    .chain = ct_chain,
    .pass_on = ct_pass_on,
};

int eddy__ct_init(eddy_ct_sched *s, const eddy_sched_config *cfg, bool local)
{
    memset(s, 0, sizeof *s);
    s->base.ops = &ct_ops;
    atomic_init(&s->base.owner, 0);
    s->local = local;
    s->cfg = *cfg;
    s->remote_countdown = cfg->global_queue_interval;
    s->event_countdown = cfg->event_interval;
    atomic_init(&s->enter_guards, 0);
    eddy__time_init(&s->time, cfg->start_paused);
    s->driver = eddy__driver_new();
    if (!s->driver)
        return -errno;
    s->base.shared = eddy__shared_new(cfg, &s->base, s->driver);
    if (!s->base.shared) {
        eddy__driver_unref(s->driver);
        return -ENOMEM;
    }
    eddy__stack_pool_ref();
    eddy__block_depot_ref();
    return 0;
}

static eddy_task *pop_remote(eddy_ct_sched *s)
{
    if (eddy__queue_empty(&s->inbox))
        eddy__shared_take(s->base.shared, &s->inbox);
    eddy_task *t = eddy__queue_pop(&s->inbox);
    if (t && !t->owned) {
        own(s, t);
        if (s->shutting_down)
            eddy__task_set_cancelled(t);
    }
    return t;
}

static eddy_task *next_task(eddy_ct_sched *s)
{
    eddy_task *t;
    if (--s->remote_countdown == 0) {
        s->remote_countdown = s->cfg.global_queue_interval;
        if ((t = pop_remote(s)))
            return t;
    }
    if ((t = eddy__queue_pop_warm(&s->run)))
        return t;
    return pop_remote(s);
}

static void finish(eddy_ct_sched *s, eddy_task *t, void *result, int status)
{
    disown(s, t);
    eddy__task_complete(t, result, status);
}

/* Whether the task running on th may take the loop's next step itself
 * (ct_handoff, ct_chain, ct_pass_on): the loop has no periodic work due
 * (remote queue, driver), and th drives this scheduler from its own loop,
 * not a LocalSet's. Only this thread ever pops this scheduler's queues, so
 * a task switching out cannot be picked up before its switch completes. */
static inline bool may_step(const eddy_ct_sched *s, const eddy_thread *th)
{
    return s->remote_countdown > 1 && s->event_countdown > 1 &&
           th->home == &th->sched_fiber && th->driving == &s->base;
}

/* Counts the step taken for the loop and pops the run queue's head. */
static inline void take_step(eddy_ct_sched *s)
{
    s->remote_countdown--;
    s->event_countdown--;
    eddy__queue_pop_warm(&s->run);
}

static inline void run_task(eddy_ct_sched *s, eddy_thread *th, eddy_task *t)
{
    uint64_t prev = eddy__task_begin_run(t);
    if (!t->started && (prev & TS_CANCELLED)) {
        finish(s, t, NULL, -ECANCELED);
        return;
    }
    eddy_task *back = eddy__task_run(th, t, s->cfg.stack_size, s->cfg.guarded_stacks);
    if (!back) {
        s->stacks_exhausted = true;
        finish(s, t, NULL, -ENOMEM);
        return;
    }
    if (s->dead.stack) /* a task passed on since the loop last ran: free its stack */
        eddy__thread_release_aside(th, &s->dead);
    if (back->exit != TASK_DONE) {
        eddy__queue_file_switched_out(&s->run, &s->deferred, back);
        return;
    }
    eddy__task_release_stack(th, back);
    s->stacks_exhausted = false;
    finish(s, back, back->result, eddy__task_is_cancelled(back) ? -ECANCELED : 0);
}

/* The loop's next step, taken on the stack of task t as it switches out
 * (yielding or parking): t is filed here and the next ready task is
 * resumed, or started, straight from t. A task that has not started gets
 * its stack here as the loop would give it one; one that was aborted first,
 * or finds no stack, is left to the loop, which finishes it. */
static inline eddy_task *hand_over(eddy_ct_sched *s, eddy_task *t, eddy_task *next)
{
    take_step(s);
    eddy__queue_file_switched_out(&s->run, &s->deferred, t);
    eddy__task_begin_run(next);
    return next;
}

/* Out of line, so that handing over to a started task stays a leaf. */
__attribute__((noinline)) static eddy_task *hand_over_new(eddy_ct_sched *s, eddy_thread *th,
                                                          eddy_task *t, eddy_task *next)
{
    if (eddy__task_is_cancelled(next) ||
        !eddy__task_start(th, next, s->cfg.stack_size, s->cfg.guarded_stacks))
        return NULL;
    return hand_over(s, t, next);
}

static eddy_task *ct_handoff(eddy_sched *base, eddy_thread *th, eddy_task *t)
{
    eddy_ct_sched *s = (eddy_ct_sched *)base;
    eddy_task *next = s->run.head;
    if (!next || !may_step(s, th))
        return NULL;
    if (!next->started)
        return hand_over_new(s, th, t, next);
    return hand_over(s, t, next);
}

/* The loop's next steps, taken on the stack of task t whose function
 * returned: if the next ready task has not started and wants a stack of
 * t's shape, t is completed here and that task starts on t's stack. The
 * task the loop drives until goes back to the loop, which returns as soon
 * as it completes. */
static eddy_task *ct_chain(eddy_sched *base, eddy_thread *th, eddy_task *t)
{
    eddy_ct_sched *s = (eddy_ct_sched *)base;
    eddy_task *next = s->run.head;
    if (!next || next->started || t == s->until || !may_step(s, th) ||
        !eddy__task_fits_stack_of(next, t, s->cfg.stack_size))
        return NULL;
    take_step(s);
    if (eddy__task_transition_to_running(next) & TS_CANCELLED) {
        /* Aborted before it started: it never runs (as in run_task). */
        finish(s, next, NULL, -ECANCELED);
        return NULL;
    }
    eddy__task_pass_stack(t, next);
    s->stacks_exhausted = false;
    finish(s, t, t->result, eddy__task_is_cancelled(t) ? -ECANCELED : 0);
    return next;
}

/* The same, when the next ready task has started: t is completed here and
 * that task is resumed straight from t's stack, which is kept aside (with
 * the fiber that ran on it) until the next pass_on or the loop releases
 * it, the thread being off it by then. */
static eddy_task *ct_pass_on(eddy_sched *base, eddy_thread *th, eddy_task *t)
{
    eddy_ct_sched *s = (eddy_ct_sched *)base;
    eddy_task *next = s->run.head;
    if (!next || !next->started || t == s->until || !may_step(s, th))
        return NULL;
    take_step(s);
    eddy__thread_release_aside(th, &s->dead); /* the one before, now cold */
    eddy__task_set_stack_aside(t, &s->dead);
    s->stacks_exhausted = false;
    finish(s, t, t->result, eddy__task_is_cancelled(t) ? -ECANCELED : 0);
    eddy__task_begin_run(next);
    return next;
}

static bool has_ready(eddy_ct_sched *s)
{
    return !eddy__queue_empty(&s->run) || !eddy__queue_empty(&s->inbox) ||
           eddy__shared_has_work(s->base.shared);
}

static void park(eddy_ct_sched *s)
{
    eddy__driver_prepare_park(s->driver);
    if (has_ready(s)) {
        eddy__driver_cancel_park(s->driver);
        return;
    }
    /* Cold stacks and blocks due to be handed back go now, and the park
     * ends in time for the next ones. */
    int timeout = eddy__block_depot_trim(eddy__stack_pool_trim(eddy__time_park_timeout(&s->time)));
    if (s->time.paused && timeout > 0) {
        /* Paused clock: take what I/O and remote wakes have to offer, and
         * if that made nothing ready, jump to the next timer. */
        eddy__driver_park(s->driver, 0);
        if (!has_ready(s))
            eddy__time_auto_advance(&s->time);
    } else {
        eddy__driver_park(s->driver, timeout);
    }
    eddy__time_process(&s->time);
}

/* Polls the driver without blocking, fires due timers, then releases the
 * yielded tasks. */
static void park_yield(eddy_ct_sched *s)
{
    eddy__driver_poll(s->driver);
    eddy__time_process(&s->time);
    eddy__queue_append(&s->run, &s->deferred);
}

static bool done(eddy_ct_sched *s)
{
    if (s->until)
        return (eddy__task_state(s->until) & TS_COMPLETE) != 0;
    return s->owned_count == 0 && !has_ready(s) && eddy__queue_empty(&s->deferred);
}

static void run(eddy_ct_sched *s, eddy_thread *th)
{
    for (;;) {
        if (--s->event_countdown == 0) {
            s->event_countdown = s->cfg.event_interval;
            park_yield(s);
        }
        if (done(s))
            return;
        eddy_task *t = next_task(s);
        if (t) {
            run_task(s, th, t);
        } else if (!eddy__queue_empty(&s->deferred)) {
            park_yield(s);
        } else {
            park(s);
        }
    }
}

void eddy__ct_drive(eddy_ct_sched *s, eddy_task *until)
{
    eddy_thread *th = eddy__thread();
    eddy__overflow_thread_init();
    eddy__fiber_init_thread(&th->sched_fiber);
    th->home = &th->sched_fiber;
    th->home_env = eddy__ctx_fp_env();
    th->driving = &s->base;
    s->until = until;
    run(s, th);
    eddy__thread_release_aside(th, &s->dead);
    s->until = NULL;
    th->driving = NULL;
    th->home = NULL;
}

void eddy__ct_shutdown(eddy_ct_sched *s)
{
    s->shutting_down = true;
    eddy__shared_close(s->base.shared);
    for (eddy_task *t = s->owned; t; t = t->owned_next)
        eddy_abort(t);
    eddy__ct_drive(s, NULL);
}

void eddy__ct_destroy(eddy_ct_sched *s)
{
    eddy__driver_shutdown(s->driver);
    eddy__driver_unref(s->driver);
    eddy__thread_drop_spare(eddy__thread());
    eddy__stack_cache_drain();
    eddy__block_cache_drain();
    eddy__block_depot_unref();
    eddy__stack_pool_unref();
    eddy__shared_unref(s->base.shared);
}
