/* The remote queue and the shared part's lifetime. */
#include "sched/shared.h"
#include "util/lock.h"

#include <errno.h>
#include <stdlib.h>

eddy_shared *eddy__shared_new(const eddy_sched_config *cfg, eddy_sched *sched,
                              eddy_driver *driver)
{
    eddy_shared *sh = calloc(1, sizeof *sh);
    if (!sh) {
        errno = ENOMEM;
        return NULL;
    }
    atomic_init(&sh->refs, 1);
    atomic_init(&sh->len, 0);
    eddy__lock_init(&sh->lock);
    sh->sched = sched;
    sh->driver = driver;
    eddy__driver_ref(driver);
    eddy__pool_init(&sh->pool, cfg, sh);
    return sh;
}

void eddy__shared_ref(eddy_shared *sh)
{
    atomic_fetch_add_explicit(&sh->refs, 1, memory_order_relaxed);
}

void eddy__shared_unref(eddy_shared *sh)
{
    if (atomic_fetch_sub_explicit(&sh->refs, 1, memory_order_acq_rel) != 1)
        return;
    eddy__pool_destroy(&sh->pool);
    eddy__driver_unref(sh->driver);
    pthread_mutex_destroy(&sh->lock);
    free(sh);
}

static void notify(eddy_shared *sh)
{
    if (sh->notify)
        sh->notify(sh);
    else
        eddy__driver_unpark(sh->driver);
}

void eddy__shared_push(eddy_shared *sh, eddy_task *t)
{
    pthread_mutex_lock(&sh->lock);
    eddy__queue_push(&sh->queue, t);
    atomic_fetch_add(&sh->len, 1);
    notify(sh);
    pthread_mutex_unlock(&sh->lock);
}

void eddy__task_cancel_unstarted(eddy_task *t)
{
    eddy__task_set_sched(t, NULL);
    eddy__task_set_cancelled(t);
    eddy__task_complete(t, NULL, -ECANCELED);
}

void eddy__shared_spawn(eddy_shared *sh, eddy_task *t)
{
    pthread_mutex_lock(&sh->lock);
    if (sh->closed) {
        pthread_mutex_unlock(&sh->lock);
        eddy__task_cancel_unstarted(t);
        return;
    }
    t->sched = sh->sched;
    eddy__queue_push(&sh->queue, t);
    atomic_fetch_add(&sh->len, 1);
    notify(sh);
    pthread_mutex_unlock(&sh->lock);
}

void eddy__shared_push_batch(eddy_shared *sh, eddy_task_queue *batch)
{
    size_t n = 0;
    for (eddy_task *t = batch->head; t; t = t->next)
        n++;
    pthread_mutex_lock(&sh->lock);
    eddy__queue_append(&sh->queue, batch);
    atomic_fetch_add(&sh->len, n);
    pthread_mutex_unlock(&sh->lock);
    /* Waking a worker is a system call: not with the lock held, which
     * every worker takes every few dozen tasks. */
    notify(sh);
}

eddy_task *eddy__shared_pop(eddy_shared *sh)
{
    if (!eddy__shared_has_work(sh))
        return NULL;
    pthread_mutex_lock(&sh->lock);
    eddy_task *t = eddy__queue_pop(&sh->queue);
    if (t)
        atomic_fetch_sub(&sh->len, 1);
    pthread_mutex_unlock(&sh->lock);
    return t;
}

eddy_task *eddy__shared_pop_share(eddy_shared *sh, size_t ways, size_t max,
                                  eddy_task_queue *rest)
{
    if (!eddy__shared_has_work(sh))
        return NULL;
    /* The whole queue is taken, split here, and what is left put back in
     * front: walking to the n-th task is a cache miss per task (they were
     * queued long ago, often by another worker), and with the lock held
     * through the walk the other workers, checking the queue every few
     * dozen tasks, slept on it a few hundred times per 100,000 tasks. */
    pthread_mutex_lock(&sh->lock);
    size_t len = atomic_load_explicit(&sh->len, memory_order_relaxed);
    eddy_task_queue all = sh->queue;
    sh->queue.head = sh->queue.tail = NULL;
    pthread_mutex_unlock(&sh->lock);
    if (!all.head)
        return NULL;
    size_t n = len / ways + 1;
    if (n > max)
        n = max;
    eddy_task *last = all.head;
    size_t taken = 1;
    for (; taken < n && last->next; taken++)
        last = last->next;
    eddy_task_queue left = { last->next, last->next ? all.tail : NULL };
    last->next = NULL;
    eddy_task *first = all.head;
    if (first != last) {
        eddy_task_queue mine = { first->next, last };
        eddy__queue_append(rest, &mine);
    }
    first->next = NULL;

    pthread_mutex_lock(&sh->lock);
    if (left.head) { /* in front of what was pushed meanwhile */
        left.tail->next = sh->queue.head;
        if (!sh->queue.head)
            sh->queue.tail = left.tail;
        sh->queue.head = left.head;
    }
    atomic_fetch_sub(&sh->len, taken);
    pthread_mutex_unlock(&sh->lock);
    return first;
}

void eddy__shared_take(eddy_shared *sh, eddy_task_queue *out)
{
    if (!eddy__shared_has_work(sh))
        return;
    pthread_mutex_lock(&sh->lock);
    eddy__queue_append(out, &sh->queue);
    atomic_store(&sh->len, 0);
    pthread_mutex_unlock(&sh->lock);
}

void eddy__shared_close(eddy_shared *sh)
{
    pthread_mutex_lock(&sh->lock);
    sh->closed = true;
    pthread_mutex_unlock(&sh->lock);
}
