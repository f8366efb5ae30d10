/* Join handles: join, detach, abort and the questions one may ask of a
 * task. */
#include <eddy/time.h>
#include <errno.h>

#include "task/task.h"
#include "task/thread.h"

/* Blocking this plain thread until t finishes would deadlock if this is the
 * thread that has to drive t's scheduler. */
static bool would_deadlock(const eddy_task *t, const eddy_thread *th)
{
    eddy_sched *s = eddy__task_sched_peek(t);
    return s && eddy__thread_owns(th, s);
}

/* Waits for t until `deadline`. On -ETIMEDOUT the handle stays with the
 * caller; in every other case it is consumed. */
static int join_until(eddy_task *t, void **result, uint64_t deadline)
{
    if (!t)
        return -EINVAL;
    eddy_thread *th = eddy__thread();
    if (th->task == t)
        return -EDEADLK;
    if (!th->task && !(eddy__task_state(t) & TS_COMPLETE) && would_deadlock(t, th))
        return -EDEADLK;

    bool registered = false;
    while (!(eddy__task_state(t) & TS_COMPLETE)) {
        if (!registered) {
            eddy_waker w = eddy__waker_current();
            if (!eddy__waker_is_set(w))
                return -ENOMEM;
            if (!eddy__task_set_join_waker(t, w))
                break; /* completed meanwhile */
            registered = true;
            continue; /* re-check before waiting */
        }
        int rc = eddy__wait_current_inline(deadline);
        if (rc == -ECANCELED || rc == -ETIMEDOUT) {
            /* If the task finished meanwhile, its result is handed over
             * rather than lost. */
            if (!eddy__task_unset_join_waker(t))
                break;
            if (rc == -ECANCELED) /* the joiner was aborted: detach */
                eddy_detach(t);
            return rc;
        }
    }
    return eddy__task_take_output(t, result);
}

int eddy_join(eddy_task *t, void **result)
{
    return join_until(t, result, UINT64_MAX);
}

int eddy_join_until(eddy_task *t, void **result, eddy_instant deadline)
{
    return join_until(t, result, deadline);
}

void eddy_detach(eddy_task *t)
{
    if (!t)
        return;
    /* Whatever the task's progress, dropping the handle is clearing the
     * interest and the reference; a complete task's result is discarded.
     * Nothing of the output is read: a running task's completer may be
     * writing it (test_task_races caught such a read under TSan). */
    eddy__task_drop_handle(t);
}

void eddy_abort(eddy_task *t)
{
    if (t && eddy__task_set_cancelled(t))
        eddy__task_wake_by_ref(t);
}

bool eddy_is_finished(const eddy_task *t)
{
    return t && (eddy__task_state(t) & TS_COMPLETE);
}

bool eddy_is_cancelled(const eddy_task *t)
{
    return t && eddy__task_is_cancelled(t);
}

uint64_t eddy_task_id(const eddy_task *t)
{
    return t ? t->id : 0;
}

const char *eddy_task_name(const eddy_task *t)
{
    return t && t->named ? t->name : NULL;
}

uint64_t eddy_current_task_id(void)
{
    eddy_task *t = eddy__current_task();
    return t ? t->id : 0;
}

bool eddy_current_task_cancelled(void)
{
    eddy_task *t = eddy__current_task();
    return t && eddy__task_is_cancelled(t);
}

int eddy_yield(void)
{
    /* A thread with no context yet has no task either. */
    eddy_thread *th = eddy__thread_peek();
    eddy_task *t = th->task;
    if (!t)
        return -EPERM;
    return eddy__task_suspend(th, t, TASK_YIELDED);
}
