/* Blocking system calls on the blocking pool; see offload.h. */
#include "fs/offload.h"

#include <eddy/task.h>
#include <errno.h>

#include "task/task.h"

enum { OP_PENDING, OP_RUNNING, OP_DONE, OP_ABANDONED };

void eddy__offload_init(eddy_offload *op, void (*run)(eddy_offload *),
                        void (*destroy)(eddy_offload *))
{
    op->run = run;
    op->destroy = destroy;
    op->result = -ECANCELED;
    atomic_init(&op->refs, 1);
    atomic_init(&op->state, OP_PENDING);
    op->task = NULL;
    pthread_mutex_init(&op->lock, NULL);
    op->waiter.vt = NULL;
    op->finished = false;
    op->status = 0;
}

void eddy__offload_unref(eddy_offload *op)
{
    if (atomic_fetch_sub_explicit(&op->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&op->lock);
    op->destroy(op);
}

/* The blocking task: runs the op unless its caller already gave up. The
 * op stays valid meanwhile: the completion's reference is dropped only
 * after this returns. */
static void *offload_task(void *arg)
{
    eddy_offload *op = arg;
    int expected = OP_PENDING;
    if (atomic_compare_exchange_strong_explicit(&op->state, &expected, OP_RUNNING,
                                                memory_order_acq_rel,
                                                memory_order_acquire)) {
        op->run(op);
        atomic_store_explicit(&op->state, OP_DONE, memory_order_release);
    }
    return NULL;
}

/* The blocking task completed (it ran, or was dropped unstarted): consume
 * its handle, tell the caller if it still waits, drop the completion's
 * reference. Runs on the completing thread. */
static void finish(eddy_offload *op)
{
    int status = eddy__task_take_output(op->task, NULL);
    pthread_mutex_lock(&op->lock);
    op->status = status;
    op->finished = true;
    eddy_waker w = op->waiter;
    op->waiter.vt = NULL;
    pthread_mutex_unlock(&op->lock);
    eddy__waker_wake(w);
    eddy__offload_unref(op);
}

static void completion_wake(void *data)
{
    finish(data);
}

static void completion_drop(void *data)
{
    (void)data; /* set_join_waker found the task complete: handled there */
}

static const eddy_waker_vtable completion_vt = { completion_wake, completion_drop };

/* Waits for finish() or the deadline. 0 once finished, else the error of
 * the wait (the caller was aborted, or the deadline passed). */
static int wait_finished(eddy_offload *op, uint64_t deadline)
{
    for (;;) {
        pthread_mutex_lock(&op->lock);
        if (op->finished) {
            pthread_mutex_unlock(&op->lock);
            return 0;
        }
        if (!eddy__waker_is_set(op->waiter)) {
            op->waiter = eddy__waker_current();
            if (!eddy__waker_is_set(op->waiter)) {
                pthread_mutex_unlock(&op->lock);
                return -ENOMEM;
            }
        }
        pthread_mutex_unlock(&op->lock);

        int rc = eddy__wait_current_until(deadline);

        pthread_mutex_lock(&op->lock);
        eddy_waker w = op->waiter; /* not woken (or woken spuriously) */
        op->waiter.vt = NULL;
        bool finished = op->finished;
        pthread_mutex_unlock(&op->lock);
        eddy__waker_drop(w);
        if (finished)
            return 0;
        if (rc < 0)
            return rc;
    }
}

int eddy__offload_run(eddy_offload *op, uint64_t deadline)
{
    if (eddy_current_task_id() == 0) {
        /* A plain thread (or blocking-pool code): blocking it is fine. */
        op->run(op);
        atomic_store_explicit(&op->state, OP_DONE, memory_order_relaxed);
        return 0;
    }
    if (eddy_current_task_cancelled())
        return -ECANCELED;
    atomic_fetch_add_explicit(&op->refs, 1, memory_order_relaxed); /* the completion's */
    eddy_task *t = eddy_spawn_blocking(offload_task, op);
    if (!t) {
        int err = errno;
        atomic_fetch_sub_explicit(&op->refs, 1, memory_order_relaxed);
        return -err;
    }
    op->task = t;
    if (!eddy__task_set_join_waker(t, (eddy_waker){ &completion_vt, op }))
        finish(op); /* already complete */
    int rc = wait_finished(op, deadline);
    if (rc < 0) {
        /* Give up: skip the work if it has not started. */
        int expected = OP_PENDING;
        atomic_compare_exchange_strong_explicit(&op->state, &expected, OP_ABANDONED,
                                                memory_order_acq_rel, memory_order_acquire);
        return rc;
    }
    if (atomic_load_explicit(&op->state, memory_order_acquire) == OP_DONE)
        return 0; /* it ran to its end: its output is handed over */
    return op->status < 0 ? op->status : -ECANCELED; /* dropped unstarted */
}
