/* eddy_runtime, of either flavor.
 *
 * Current-thread: the same scheduler as the LocalRuntime, but driven by
 * whichever thread is inside block_on. Only one thread drives at a time (it
 * holds the "core"); others wait until either the core is free or their own
 * root task has been finished by the driving thread.
 *
 * Multi-thread: worker threads drive the tasks; block_on hands the root
 * task to them and waits for it like any plain-thread join. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "rt/rt.h"
#include "util/clock.h"

eddy_runtime *eddy_runtime_new(const eddy_runtime_opts *opts)
{
    eddy_flavor flavor = opts ? opts->flavor : EDDY_FLAVOR_DEFAULT;
    bool multi = flavor == EDDY_FLAVOR_DEFAULT || flavor == EDDY_FLAVOR_MULTI_THREAD;
    if (!multi && flavor != EDDY_FLAVOR_CURRENT_THREAD) {
        errno = EINVAL;
        return NULL;
    }
    eddy_sched_config cfg;
    int rc = eddy__config_from_opts(opts, &cfg);
    if (rc == 0 && multi && cfg.start_paused)
        rc = -EINVAL; /* a paused clock needs a single driving thread */
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    /* Aligned: the multi-thread scheduler keeps what different workers
     * write on separate cache lines. */
    eddy_runtime *rt = aligned_alloc(_Alignof(eddy_runtime), sizeof *rt);
    if (!rt) {
        errno = ENOMEM;
        return NULL;
    }
    memset(rt, 0, sizeof *rt);
    rt->multi = multi;
    rc = multi ? eddy__mt_init(&rt->mt, &cfg) : eddy__ct_init(&rt->sched, &cfg, false);
    if (rc < 0) {
        free(rt);
        errno = -rc;
        return NULL;
    }
    pthread_mutex_init(&rt->lock, NULL);
    pthread_cond_init(&rt->idle, NULL);
    return rt;
}

/* Takes the core if it is free. Called with the lock held. */
static bool try_take_core(eddy_runtime *rt)
{
    if (rt->core_busy)
        return false;
    rt->core_busy = true;
    eddy__sched_own(&rt->sched.base);
    return true;
}

static void release_core(eddy_runtime *rt)
{
    pthread_mutex_lock(&rt->lock);
    eddy__sched_disown(&rt->sched.base);
    rt->core_busy = false;
    for (core_waiter *w = rt->waiters; w; w = w->next)
        eddy__parker_unpark(w->parker);
    pthread_mutex_unlock(&rt->lock);
}

/* Waits, with the lock held, until unparked (core released, or our root
 * task done); returns with the lock held. */
static void wait_for_core(eddy_runtime *rt, eddy_parker *parker)
{
    core_waiter me = { parker, rt->waiters };
    rt->waiters = &me;
    pthread_mutex_unlock(&rt->lock);
    eddy__parker_park(parker);
    pthread_mutex_lock(&rt->lock);
    core_waiter **pp = &rt->waiters;
    while (*pp != &me)
        pp = &(*pp)->next;
    *pp = me.next;
}

static void block_on_begin(eddy_runtime *rt)
{
    pthread_mutex_lock(&rt->lock);
    rt->block_ons++;
    pthread_mutex_unlock(&rt->lock);
}

static void block_on_end(eddy_runtime *rt)
{
    pthread_mutex_lock(&rt->lock);
    if (--rt->block_ons == 0)
        pthread_cond_broadcast(&rt->idle);
    pthread_mutex_unlock(&rt->lock);
}

static int mt_block_on(eddy_runtime *rt, eddy_task_fn fn, void *arg, void **result)
{
    if (!eddy__thread_can_wait(eddy__thread()))
        return -ENOMEM;
    eddy_task *root = eddy__task_new(NULL, fn, arg);
    if (!root)
        return -errno;
    block_on_begin(rt);
    rt->mt.base.ops->spawn(&rt->mt.base, root); /* not a worker: to the inject queue */
    int rc = eddy_join(root, result);
    block_on_end(rt);
    return rc;
}

int eddy_runtime_block_on(eddy_runtime *rt, eddy_task_fn fn, void *arg, void **result)
{
    if (!rt || !fn)
        return -EINVAL;
    eddy_thread *th = eddy__thread();
    if (th->driving)
        return -EBUSY;
    if (rt->multi)
        return mt_block_on(rt, fn, arg, result);
    eddy_parker *parker = eddy__thread_parker(th);
    eddy_task *root = eddy__task_new(NULL, fn, arg);
    if (!parker || !root) {
        if (root) {
            eddy_detach(root);
            eddy__task_cancel_unstarted(root);
        }
        return -ENOMEM;
    }

    pthread_mutex_lock(&rt->lock);
    rt->block_ons++;
    bool driving = try_take_core(rt);
    pthread_mutex_unlock(&rt->lock);
    /* With the core, the spawn is local; without, it goes through the
     * remote queue to whoever drives. A local spawn is refused while the
     * scheduler finds no stack to map. */
    int src = rt->sched.base.ops->spawn(&rt->sched.base, root);
    if (src < 0) {
        if (driving)
            release_core(rt);
        block_on_end(rt);
        eddy_detach(root);
        eddy__task_cancel_unstarted(root);
        return src;
    }
    if (!driving) {
        /* Our parker is woken both when the root task finishes (as its
         * joiner) and when the core is released. */
        eddy__task_set_join_waker(root, eddy__waker_current());
        pthread_mutex_lock(&rt->lock);
        while (!(eddy__task_state(root) & TS_COMPLETE) && !(driving = try_take_core(rt)))
            wait_for_core(rt, parker);
        pthread_mutex_unlock(&rt->lock);
    }
    if (driving) {
        eddy__ct_drive(&rt->sched, root);
        release_core(rt);
    }
    int rc = eddy__task_take_output(root, result);
    block_on_end(rt);
    return rc;
}

eddy_enter_guard *eddy_runtime_enter(eddy_runtime *rt)
{
    if (!rt) {
        errno = EINVAL;
        return NULL;
    }
    if (rt->multi)
        return eddy__enter(&rt->mt.base, &rt->mt.enter_guards);
    return eddy__enter(&rt->sched.base, &rt->sched.enter_guards);
}

eddy_handle *eddy_runtime_handle(eddy_runtime *rt)
{
    if (!rt) {
        errno = EINVAL;
        return NULL;
    }
    return eddy__handle_new(rt->multi ? rt->mt.base.shared : rt->sched.base.shared);
}

static void free_runtime(eddy_runtime *rt)
{
    pthread_mutex_destroy(&rt->lock);
    pthread_cond_destroy(&rt->idle);
    free(rt);
}

static int mt_end(eddy_runtime *rt, eddy_pool_wait how, uint64_t timeout_ms)
{
    eddy__mt_shutdown(&rt->mt);
    pthread_mutex_lock(&rt->lock);
    while (rt->block_ons > 0)
        pthread_cond_wait(&rt->idle, &rt->lock);
    pthread_mutex_unlock(&rt->lock);
    int rc = eddy__pool_shutdown(&rt->mt.base.shared->pool, how, timeout_ms);
    eddy__mt_destroy(&rt->mt);
    free_runtime(rt);
    return rc;
}

static int end(eddy_runtime *rt, eddy_pool_wait how, uint64_t timeout_ms)
{
    if (!rt)
        return -EINVAL;
    eddy_thread *th = eddy__thread();
    atomic_uint *guards = rt->multi ? &rt->mt.enter_guards : &rt->sched.enter_guards;
    if (th->driving || atomic_load(guards) > 0)
        return -EBUSY;
    if (rt->multi)
        return mt_end(rt, how, timeout_ms);
    eddy_parker *parker = eddy__thread_parker(th);
    if (!parker)
        return -ENOMEM;

    /* Take the core for good, then cancel everything: block_on calls
     * still waiting see their root task cancelled and return. */
    pthread_mutex_lock(&rt->lock);
    while (!try_take_core(rt))
        wait_for_core(rt, parker);
    pthread_mutex_unlock(&rt->lock);
    eddy__ct_shutdown(&rt->sched);
    pthread_mutex_lock(&rt->lock);
    while (rt->block_ons > 0)
        pthread_cond_wait(&rt->idle, &rt->lock);
    pthread_mutex_unlock(&rt->lock);

    int rc = eddy__pool_shutdown(&rt->sched.base.shared->pool, how, timeout_ms);
    eddy__ct_destroy(&rt->sched);
    eddy__sched_disown(&rt->sched.base);
    free_runtime(rt);
    return rc;
}

int eddy_runtime_shutdown_timeout(eddy_runtime *rt, uint64_t timeout_ms)
{
    return end(rt, POOL_WAIT_TIMEOUT, timeout_ms);
}

int eddy_runtime_shutdown_background(eddy_runtime *rt)
{
    return end(rt, POOL_WAIT_NONE, 0);
}

int eddy_runtime_free(eddy_runtime *rt)
{
    return end(rt, POOL_WAIT_ALL, 0);
}
