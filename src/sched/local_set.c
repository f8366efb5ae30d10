/* LocalSet: a scheduler whose loop runs inside a task.
 *
 * The task driving the set (run_until / wait) acts as the set's scheduler:
 * it switches to each ready set task from its own stack, and set tasks
 * switch back to it (the thread's `home` fiber points at the set's loop
 * fiber while the loop runs). When no set task is ready the driving task
 * parks on its own runtime, with a waker that set wakes fire. */
#include <eddy/local_set.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "sched/shared.h"
#include "task/queue.h"
#include "task/thread.h"
#include "util/clock.h"

#define SET_STACK_SIZE ((size_t)256 * 1024)
#define SET_BATCH 61         /* set tasks per turn before yielding */
#define SET_REMOTE_FIRST 31  /* turns between forced remote checks */

struct eddy_local_set {
    eddy_sched base;
    uint64_t owner;
    eddy_task_queue run;
    eddy_task_queue deferred;
    eddy_task *owned;
    size_t owned_count;
    pthread_mutex_t lock;       /* guards remote and waker */
    eddy_task_queue remote;
    atomic_size_t remote_len;
    eddy_waker waker;           /* the parked driver, if any */
    eddy_fiber loop_fiber;      /* the driving task, while it runs set tasks */
    eddy_sched *outer;          /* the driving task's scheduler */
    uint32_t tick;
    int batch_left;             /* tasks the loop may still run this turn */
    size_t stack_size;          /* the driving runtime's task stacks */
    bool guarded;
    bool running;
    bool closing;
};

static bool on_owner(const eddy_local_set *set)
{
    return set->owner == eddy__thread()->id;
}

static void own(eddy_local_set *set, eddy_task *t)
{
    t->owned = true;
    t->owned_prev = NULL;
    t->owned_next = set->owned;
    if (set->owned)
        set->owned->owned_prev = t;
    set->owned = t;
    set->owned_count++;
}

static void disown(eddy_local_set *set, eddy_task *t)
{
    if (t->owned_prev)
        t->owned_prev->owned_next = t->owned_next;
    else
        set->owned = t->owned_next;
    if (t->owned_next)
        t->owned_next->owned_prev = t->owned_prev;
    t->owned = false;
    set->owned_count--;
}

/* Wakes the driving task if it is parked waiting for set work. Inside the
 * set's loop, on its thread, the driving task is running, so a wake from a
 * set task skips the lock (a waker still here, if the driving task was
 * woken by other means, is replaced at its next wait). */
static void wake_driver(eddy_local_set *set)
{
    if (eddy__thread()->home == &set->loop_fiber)
        return;
    pthread_mutex_lock(&set->lock);
    eddy_waker w = set->waker;
    set->waker.vt = NULL;
    pthread_mutex_unlock(&set->lock);
    eddy__waker_wake(w);
}

static void set_schedule(eddy_sched *base, eddy_task *t)
{
    eddy_local_set *set = (eddy_local_set *)base;
    if (on_owner(set)) {
        eddy__queue_push(&set->run, t);
    } else {
        pthread_mutex_lock(&set->lock);
        eddy__queue_push(&set->remote, t);
        atomic_fetch_add(&set->remote_len, 1);
        pthread_mutex_unlock(&set->lock);
    }
    wake_driver(set);
}

static int set_spawn(eddy_sched *base, eddy_task *t)
{
    eddy_local_set *set = (eddy_local_set *)base;
    if (!on_owner(set))
        return -EPERM;
    t->sched = base;
    if (set->closing) /* spawned by a task unwinding in free: dropped */
        eddy__task_set_cancelled(t);
    own(set, t);
    eddy__queue_push(&set->run, t);
    wake_driver(set);
    return 0;
}

/* Timers and the clock are those of the runtime driving the set when the
 * timer is armed; the timer remembers which, since the set may be driven
 * by another runtime by the time it is disarmed. */
static void set_timer_arm(eddy_sched *base, eddy_timer *timer, uint64_t deadline)
{
    eddy_sched *outer = ((eddy_local_set *)base)->outer;
    timer->owner = outer;
    outer->ops->timer_arm(outer, timer, deadline);
}

static bool set_timer_disarm(eddy_sched *base, eddy_timer *timer)
{
    (void)base;
    eddy_sched *outer = timer->owner;
    return outer->ops->timer_disarm(outer, timer);
}

static uint64_t set_now(eddy_sched *base)
{
    eddy_sched *outer = ((eddy_local_set *)base)->outer;
    return outer ? outer->ops->now(outer) : eddy__mono_ns();
}

static eddy_sched *set_local_sched(eddy_sched *base)
{
    return on_owner((eddy_local_set *)base) ? base : NULL;
}

/* Set tasks get the stacks of the runtime driving the set. */
static void set_stack_config(eddy_sched *base, size_t *size, bool *guarded)
{
    eddy_sched *outer = ((eddy_local_set *)base)->outer;
    if (outer) {
        outer->ops->stack_config(outer, size, guarded);
    } else {
        *size = SET_STACK_SIZE;
        *guarded = true;
    }
}

/* The loop's next step, taken on the stack of set task t as it yields or
 * parks (as the current-thread scheduler's ct_handoff does): if the next
 * ready task has run before, and the loop would neither serve the remote
 * queue first nor end its turn, t is filed here and that task is resumed
 * straight from t, counted in the turn's batch. Only the owner thread,
 * inside this set's loop, pops the set's queues (a wake from another
 * thread goes to the remote queue), so t cannot be picked up before its
 * switch completes. The loop checks the task it drives until before each
 * task; that task completes only through the loop. */
static eddy_task *set_handoff(eddy_sched *base, eddy_thread *th, eddy_task *t)
{
    eddy_local_set *set = (eddy_local_set *)base;
    if (th->home != &set->loop_fiber || set->batch_left <= 1 ||
        (set->tick + 1) % SET_REMOTE_FIRST == 0)
        return NULL;
    eddy_task *next = set->run.head;
    if (!next || !next->started)
        return NULL;
    set->tick++;
    set->batch_left--;
    eddy__queue_pop_warm(&set->run);
    eddy__queue_file_switched_out(&set->run, &set->deferred, t);
    eddy__task_begin_run(next);
    return next;
}

static const eddy_sched_ops set_ops = {
    .schedule = set_schedule,
    .spawn = set_spawn,
    .timer_arm = set_timer_arm,
    .timer_disarm = set_timer_disarm,
    .now = set_now,
    .local_sched = set_local_sched,
    .stack_config = set_stack_config,
    .handoff = set_handoff,
};

eddy_local_set *eddy_local_set_new(void)
{
    eddy_local_set *set = calloc(1, sizeof *set);
    if (!set) {
        errno = ENOMEM;
        return NULL;
    }
    set->base.ops = &set_ops;
    set->owner = eddy__thread()->id;
    eddy__sched_own(&set->base);
    pthread_mutex_init(&set->lock, NULL);
    atomic_init(&set->remote_len, 0);
    return set;
}

eddy_task *eddy_local_set_spawn_local(eddy_local_set *set, eddy_task_fn fn, void *arg)
{
    if (!set || !fn) {
        errno = EINVAL;
        return NULL;
    }
    if (!on_owner(set)) {
        errno = EPERM;
        return NULL;
    }
    eddy_task *t = eddy__task_new(NULL, fn, arg);
    if (t)
        set_spawn(&set->base, t);
    return t;
}

/* ---- the loop ---- */

static eddy_task *pop_remote(eddy_local_set *set)
{
    if (!atomic_load_explicit(&set->remote_len, memory_order_acquire))
        return NULL;
    pthread_mutex_lock(&set->lock);
    eddy_task *t = eddy__queue_pop(&set->remote);
    if (t)
        atomic_fetch_sub(&set->remote_len, 1);
    pthread_mutex_unlock(&set->lock);
    return t;
}

static eddy_task *next_task(eddy_local_set *set)
{
    eddy_task *t;
    if (++set->tick % SET_REMOTE_FIRST == 0 && (t = pop_remote(set)))
        return t;
    if ((t = eddy__queue_pop_warm(&set->run)))
        return t;
    return pop_remote(set);
}

static void run_task(eddy_local_set *set, eddy_thread *th, eddy_task *t)
{
    uint64_t prev = eddy__task_begin_run(t);
    int status;
    eddy_task *back;
    if (!t->started && (prev & TS_CANCELLED)) {
        status = -ECANCELED;
    } else if (!(back = eddy__task_run(th, t, set->stack_size, set->guarded))) {
        status = -ENOMEM;
    } else if ((t = back)->exit != TASK_DONE) {
        /* t is the task that came back: the one run, or one that another
         * handed off to (set_handoff). */
        eddy__queue_file_switched_out(&set->run, &set->deferred, t);
        return;
    } else {
        eddy__task_release_stack(th, t);
        status = eddy__task_is_cancelled(t) ? -ECANCELED : 0;
    }
    disown(set, t);
    eddy__task_complete(t, eddy__task_output(t), status);
}

/* Runs up to one batch of ready set tasks on this thread. Returns whether
 * set tasks are still ready afterwards. */
static bool run_batch(eddy_local_set *set, eddy_task *until)
{
    set_stack_config(&set->base, &set->stack_size, &set->guarded);
    eddy_thread *th = eddy__thread();
    eddy_fiber *home = th->home;
    uint64_t home_env = th->home_env;
    eddy__fiber_init_thread(&set->loop_fiber);
    th->home = &set->loop_fiber;
    th->home_env = eddy__ctx_fp_env();
    for (set->batch_left = SET_BATCH; set->batch_left > 0; set->batch_left--) {
        if (until && (eddy__task_state(until) & TS_COMPLETE))
            break;
        eddy_task *t = next_task(set);
        if (!t) {
            if (eddy__queue_empty(&set->deferred))
                break;
            eddy__queue_append(&set->run, &set->deferred);
            continue;
        }
        run_task(set, th, t);
    }
    th->home = home;
    th->home_env = home_env;
    /* Yielded tasks run again after the outer runtime had its turn. */
    eddy__queue_append(&set->run, &set->deferred);
    return !eddy__queue_empty(&set->run) || atomic_load(&set->remote_len) > 0;
}

/* Parks the driving task (or thread) until a set task is woken. */
static int wait_for_work(eddy_local_set *set)
{
    eddy_waker me = eddy__waker_current();
    if (!eddy__waker_is_set(me))
        return -ENOMEM;
    pthread_mutex_lock(&set->lock);
    bool ready = !eddy__queue_empty(&set->run) || atomic_load(&set->remote_len) > 0;
    eddy_waker old = set->waker;
    set->waker = ready ? (eddy_waker){ NULL, NULL } : me; /* none left behind */
    pthread_mutex_unlock(&set->lock);
    eddy__waker_drop(old);
    if (ready) {
        eddy__waker_drop(me);
        return 0;
    }
    return eddy__wait_current();
}

/* Drives the set until `until` completes (or, with NULL, until the set is
 * empty). The calling task may be aborted: then it returns -ECANCELED. */
static int drive(eddy_local_set *set, eddy_task *until)
{
    for (;;) {
        bool more = run_batch(set, until);
        if (until ? (eddy__task_state(until) & TS_COMPLETE) != 0 : set->owned_count == 0)
            return 0;
        if (!on_owner(set))
            return -EPERM; /* resumed on another thread by its runtime */
        int rc = more ? eddy_yield() : wait_for_work(set);
        if (rc < 0 && rc != -EPERM)
            return rc;
    }
}

/* Pins the driving task to its thread while it drives the set (on a
 * multi-thread runtime: to its worker). Returns the scheduler to restore. */
static eddy_sched *pin(eddy_task *t)
{
    eddy_sched *was = t->sched;
    eddy_sched *pinned = was->ops->local_sched(was);
    if (pinned)
        eddy__task_set_sched(t, pinned);
    return was;
}

static int begin(eddy_local_set *set, eddy_task **driver)
{
    if (!set)
        return -EINVAL;
    eddy_task *t = eddy__current_task();
    if (!on_owner(set) || !t || !t->sched)
        return -EPERM;
    if (set->running || set->closing)
        return -EBUSY;
    set->running = true;
    *driver = t;
    return 0;
}

int eddy_local_set_run_until(eddy_local_set *set, eddy_task_fn fn, void *arg, void **result)
{
    eddy_task *driver;
    if (!fn)
        return -EINVAL;
    int rc = begin(set, &driver);
    if (rc < 0)
        return rc;
    eddy_task *root = eddy__task_new(NULL, fn, arg);
    if (!root) {
        set->running = false;
        return -errno;
    }
    eddy_sched *was = pin(driver);
    set->outer = driver->sched;
    set->base.shared = was->shared;
    set_spawn(&set->base, root);
    rc = drive(set, root);
    if (rc == -ECANCELED && !(eddy__task_state(root) & TS_COMPLETE)) {
        /* The driver was aborted: so is fn's task, which unwinds at once
         * (its every wait now fails), here, before we return. */
        eddy_abort(root);
        while (!(eddy__task_state(root) & TS_COMPLETE))
            run_batch(set, root);
    }
    eddy__task_set_sched(driver, was);
    set->running = false;
    set->outer = NULL;
    if (rc == -EPERM) {
        eddy_detach(root);
        return rc;
    }
    int out = eddy__task_take_output(root, result);
    return rc < 0 ? rc : out;
}

int eddy_local_set_wait(eddy_local_set *set)
{
    eddy_task *driver;
    int rc = begin(set, &driver);
    if (rc < 0)
        return rc;
    eddy_sched *was = pin(driver);
    set->outer = driver->sched;
    set->base.shared = was->shared;
    rc = drive(set, NULL);
    eddy__task_set_sched(driver, was);
    set->running = false;
    set->outer = NULL;
    return rc;
}

int eddy_local_set_free(eddy_local_set *set)
{
    if (!set)
        return -EINVAL;
    if (!on_owner(set))
        return -EPERM;
    if (set->running)
        return -EBUSY;
    set->closing = true;
    for (eddy_task *t = set->owned; t; t = t->owned_next)
        eddy_abort(t);
    /* Cancelled tasks fail every wait at once, so they run to their exit
     * right here, whatever runtime (if any) this thread is in; only wakes
     * still on their way from other threads are waited for. */
    while (set->owned_count > 0) {
        if (!run_batch(set, NULL) && set->owned_count > 0)
            wait_for_work(set);
    }
    eddy__waker_drop(set->waker);
    pthread_mutex_destroy(&set->lock);
    eddy__sched_disown(&set->base);
    free(set);
    return 0;
}
