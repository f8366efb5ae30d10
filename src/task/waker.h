/* Wakers: the one mechanism by which anything that suspends is resumed.
 *
 * A waker is a counted reference to something that waits: a task (waking
 * it queues it on its scheduler, locally or through the remote queue) or a
 * plain thread's parker, or a custom target such as a JoinSet. Waking
 * consumes the waker; dropping it without waking releases it. A waker may
 * fire late or spuriously: every waiter re-checks its condition. */
#ifndef EDDY_TASK_WAKER_H
#define EDDY_TASK_WAKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct eddy_waker_vtable {
    void (*wake)(void *data); /* consumes the reference */
    void (*drop)(void *data); /* releases it */
} eddy_waker_vtable;

typedef struct eddy_waker {
    const eddy_waker_vtable *vt; /* NULL: no waker */
    void *data;
} eddy_waker;

/* A waker for the caller: the current task, or this thread's parker.
 * vt is NULL on ENOMEM (a plain thread's first parker). */
eddy_waker eddy__waker_current(void);

static inline bool eddy__waker_is_set(eddy_waker w)
{
    return w.vt != NULL;
}

static inline void eddy__waker_wake(eddy_waker w)
{
    if (w.vt)
        w.vt->wake(w.data);
}

static inline void eddy__waker_drop(eddy_waker w)
{
    if (w.vt)
        w.vt->drop(w.data);
}

struct eddy_task;

/* A waker for task t that holds no reference to it: for a waiter that t
 * itself unlinks before it can finish, and that only t's own thread fires
 * (a LOCAL primitive's), so that t cannot be freed while the waker is out.
 * Two atomic operations fewer per wait than eddy__waker_current. */
eddy_waker eddy__waker_borrow_task(struct eddy_task *t);

/* Waits until woken: suspends the current task, or parks the thread.
 * Returns 0, or -ECANCELED when the current task is aborted (checked before
 * and after suspending). May return spuriously. */
int eddy__wait_current(void);

/* As eddy__wait_current, but gives up at `deadline` (an eddy_instant: ns
 * of the runtime's clock; UINT64_MAX for none) with -ETIMEDOUT. A task
 * arms a timer on its scheduler's timer wheel; a plain thread waits on its
 * parker with a time-out. May return 0 spuriously before the deadline. */
int eddy__wait_current_until(uint64_t deadline);

#endif /* EDDY_TASK_WAKER_H */
