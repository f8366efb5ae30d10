/* Blocking-pool threads: on demand, bounded, idle ones leave after the
 * keep-alive. A leaving thread is joined by the next one to leave (or by
 * shutdown), so no thread is left unjoined while the pool is waited for. */
#include "sched/blocking_pool.h"

#include <errno.h>
#include <string.h>

#include "sched/shared.h"
#include "task/thread.h"
#include "util/clock.h"

void eddy__pool_init(eddy_blocking_pool *p, const eddy_sched_config *cfg,
                     struct eddy_shared *owner)
{
    memset(p, 0, sizeof *p);
    pthread_mutex_init(&p->lock, NULL);
    eddy__cond_init_monotonic(&p->work_cond);
    eddy__cond_init_monotonic(&p->exit_cond);
    p->max_threads = cfg->max_blocking_threads;
    p->keep_alive_ns = cfg->keep_alive_ns;
    memcpy(p->name, cfg->thread_name, sizeof p->name);
    p->stack_size = cfg->thread_stack_size;
    p->on_start = cfg->on_thread_start;
    p->on_stop = cfg->on_thread_stop;
    p->hook_arg = cfg->hook_arg;
    p->owner = owner;
}

void eddy__pool_destroy(eddy_blocking_pool *p)
{
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work_cond);
    pthread_cond_destroy(&p->exit_cond);
}

static void run_one(eddy_task *t)
{
    uint64_t prev = eddy__task_transition_to_running(t);
    if (prev & TS_CANCELLED) {
        eddy__task_complete(t, NULL, -ECANCELED);
        return;
    }
    t->started = true;
    /* Once started, a blocking task cannot be interrupted: its result
     * stands even if it was aborted meanwhile. */
    void *result = t->fn(t->arg);
    eddy__task_complete(t, result, 0);
}

/* Called with the lock held; returns with it released. */
static void leave(eddy_blocking_pool *p)
{
    pthread_t prev = p->zombie;
    bool join_prev = p->has_zombie;
    p->threads--;
    if (p->abandoned) {
        pthread_detach(pthread_self());
        p->has_zombie = false;
    } else {
        p->zombie = pthread_self();
        p->has_zombie = true;
    }
    if (p->threads == 0)
        pthread_cond_broadcast(&p->exit_cond);
    pthread_mutex_unlock(&p->lock);
    if (join_prev)
        pthread_join(prev, NULL);
}

static void *worker(void *arg)
{
    eddy_blocking_pool *p = arg;
    struct eddy_shared *owner = p->owner;
    pthread_setname_np(pthread_self(), p->name);

    /* Spawns from blocking code go to the runtime that owns the pool. */
    eddy_thread *th = eddy__thread();
    eddy_enter_ctx ctx = { .sched = NULL, .shared = owner, .thread = th->id, .prev = NULL };
    th->enter = &ctx;
    if (p->on_start)
        p->on_start(p->hook_arg);

    pthread_mutex_lock(&p->lock);
    for (;;) {
        eddy_task *t = eddy__queue_pop(&p->queue);
        if (t) {
            pthread_mutex_unlock(&p->lock);
            run_one(t);
            pthread_mutex_lock(&p->lock);
            continue;
        }
        if (p->shutdown)
            break;
        p->idle++;
        struct timespec until = eddy__timespec_from_ns(eddy__mono_ns() + p->keep_alive_ns);
        bool timed_out = false;
        for (;;) {
            int rc = pthread_cond_timedwait(&p->work_cond, &p->lock, &until);
            if (p->claimed > 0) {
                p->claimed--; /* the spawner already took us off `idle` */
                break;
            }
            if (p->shutdown) {
                p->idle--;
                break;
            }
            if (rc == ETIMEDOUT) {
                p->idle--;
                timed_out = true;
                break;
            }
        }
        if (timed_out && eddy__queue_empty(&p->queue))
            break;
    }
    /* The hook runs before the thread counts as gone, so that a shutdown
     * waiting for the pool also waits for it. */
    if (p->on_stop) {
        pthread_mutex_unlock(&p->lock);
        p->on_stop(p->hook_arg);
        pthread_mutex_lock(&p->lock);
    }
    leave(p);
    th->enter = NULL;
    eddy__shared_unref(owner);
    return NULL;
}

/* Called with the lock held. False if no thread could be started. */
static bool start_thread(eddy_blocking_pool *p)
{
    pthread_t tid;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    if (p->stack_size)
        pthread_attr_setstacksize(&attr, p->stack_size);
    eddy__shared_ref(p->owner);
    int rc = pthread_create(&tid, &attr, worker, p);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        eddy__shared_unref(p->owner);
        return false;
    }
    p->threads++;
    return true;
}

void eddy__pool_spawn(eddy_blocking_pool *p, eddy_task *t)
{
    t->sched = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->shutdown) {
        pthread_mutex_unlock(&p->lock);
        eddy__task_cancel_unstarted(t);
        return;
    }
    eddy__queue_push(&p->queue, t);
    if (p->idle > 0) {
        p->idle--;
        p->claimed++;
        pthread_cond_signal(&p->work_cond);
    } else if (p->threads < p->max_threads && !start_thread(p) && p->threads == 0) {
        /* No thread exists and none can be made: fail the task rather
         * than leave it queued forever. */
        eddy_task_queue q = p->queue;
        p->queue.head = p->queue.tail = NULL;
        pthread_mutex_unlock(&p->lock);
        while ((t = eddy__queue_pop(&q)))
            eddy__task_complete(t, NULL, -EAGAIN);
        return;
    }
    pthread_mutex_unlock(&p->lock);
}

int eddy__pool_shutdown(eddy_blocking_pool *p, eddy_pool_wait how, uint64_t timeout_ms)
{
    pthread_mutex_lock(&p->lock);
    p->shutdown = true;
    eddy_task_queue unstarted = p->queue;
    p->queue.head = p->queue.tail = NULL;
    pthread_cond_broadcast(&p->work_cond);
    pthread_mutex_unlock(&p->lock);

    eddy_task *t;
    while ((t = eddy__queue_pop(&unstarted)))
        eddy__task_cancel_unstarted(t);

    pthread_mutex_lock(&p->lock);
    if (how == POOL_WAIT_ALL) {
        while (p->threads > 0)
            pthread_cond_wait(&p->exit_cond, &p->lock);
    } else if (how == POOL_WAIT_TIMEOUT) {
        struct timespec until = eddy__timespec_from_ns(eddy__deadline_after_ms(timeout_ms));
        while (p->threads > 0) {
            if (pthread_cond_timedwait(&p->exit_cond, &p->lock, &until) == ETIMEDOUT)
                break;
        }
    }
    int rc = p->threads > 0 ? -ETIMEDOUT : 0;
    pthread_t zombie = p->zombie;
    bool has_zombie = p->has_zombie;
    p->has_zombie = false;
    if (p->threads > 0)
        p->abandoned = true;
    pthread_mutex_unlock(&p->lock);
    if (has_zombie) {
        if (rc == 0)
            pthread_join(zombie, NULL);
        else
            pthread_detach(zombie);
    }
    return how == POOL_WAIT_NONE ? 0 : rc;
}
