/* The two built-in kinds of waker (task and thread) and the wait that goes
 * with them. */
#include "task/waker.h"

#include <errno.h>
#include <stddef.h>

#include "task/task.h"
#include "task/thread.h"
#include "util/clock.h"

static void task_waker_wake(void *data)
{
    eddy__task_wake_by_ref(data);
    eddy__task_unref(data);
}

static void task_waker_drop(void *data)
{
    eddy__task_unref(data);
}

static const eddy_waker_vtable task_waker_vt = { task_waker_wake, task_waker_drop };

static void borrowed_waker_wake(void *data)
{
    eddy__task_wake_by_ref(data);
}

static void borrowed_waker_drop(void *data)
{
    (void)data;
}

static const eddy_waker_vtable borrowed_waker_vt = { borrowed_waker_wake, borrowed_waker_drop };

eddy_waker eddy__waker_borrow_task(eddy_task *t)
{
    return (eddy_waker){ &borrowed_waker_vt, t };
}

static void thread_waker_wake(void *data)
{
    eddy__parker_unpark(data);
    eddy__parker_unref(data);
}

static void thread_waker_drop(void *data)
{
    eddy__parker_unref(data);
}

static const eddy_waker_vtable thread_waker_vt = { thread_waker_wake, thread_waker_drop };

eddy_waker eddy__waker_current(void)
{
    eddy_thread *th = eddy__thread();
    eddy_waker w = { NULL, NULL };
    if (th->task) {
        eddy__task_ref(th->task);
        w.vt = &task_waker_vt;
        w.data = th->task;
    } else {
        eddy_parker *p = eddy__thread_parker(th);
        if (p) {
            eddy__parker_ref(p);
            w.vt = &thread_waker_vt;
            w.data = p;
        }
    }
    return w;
}

int eddy__wait_current(void)
{
    eddy_thread *th = eddy__thread();
    eddy_task *t = th->task;
    if (t)
        return eddy__task_suspend(th, t, TASK_PARKED);
    eddy_parker *p = eddy__thread_parker(th);
    if (!p)
        return -ENOMEM;
    eddy__parker_park(p);
    return 0;
}

void eddy__task_timer_fire(eddy_timer *timer)
{
    eddy__task_wake_by_ref((eddy_task *)((char *)timer - offsetof(eddy_task, timer)));
}

int eddy__wait_current_until(uint64_t deadline)
{
    if (deadline == UINT64_MAX)
        return eddy__wait_current();
    eddy_thread *th = eddy__thread();
    eddy_task *t = th->task;
    if (t) {
        if (eddy__task_is_cancelled(t))
            return -ECANCELED;
        if (t->sched->ops->now(t->sched) >= deadline)
            return -ETIMEDOUT;
        return eddy__task_park_until(th, t, deadline);
    }
    eddy_parker *p = eddy__thread_parker(th);
    if (!p)
        return -ENOMEM;
    if (eddy__mono_ns() >= deadline)
        return -ETIMEDOUT;
    return eddy__parker_park_until(p, deadline) ? 0 : -ETIMEDOUT;
}
