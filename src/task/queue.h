/* An intrusive FIFO of tasks, linked through eddy_task.next. A task is in
 * at most one queue at a time (its NOTIFIED bit says so), so one link is
 * enough. Not thread-safe: callers own the queue or hold its lock. */
#ifndef EDDY_TASK_QUEUE_H
#define EDDY_TASK_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

#include "task/task.h"

typedef struct eddy_task_queue {
    eddy_task *head;
    eddy_task *tail;
} eddy_task_queue;

static inline bool eddy__queue_empty(const eddy_task_queue *q)
{
    return q->head == NULL;
}

static inline void eddy__queue_push(eddy_task_queue *q, eddy_task *t)
{
    t->next = NULL;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
}

static inline eddy_task *eddy__queue_pop(eddy_task_queue *q)
{
    eddy_task *t = q->head;
    if (t) {
        q->head = t->next;
        if (!q->head)
            q->tail = NULL;
        t->next = NULL;
    }
    return t;
}

/* Pops like eddy__queue_pop, for a queue that only this thread touches,
 * and starts fetching the saved frame of the task behind it: the frame is
 * on that task's own stack, seldom in cache after a burst of wake-ups
 * (100,000 sleepers are 100,000 pages), and the fetch overlaps with
 * running the task popped now. A woken task's stack is fetched a few
 * lines further up, as it returns through those frames next (ping_pong
 * with 1,000 rounds parked: about 10% less a round). */
static inline eddy_task *eddy__queue_pop_warm(eddy_task_queue *q)
{
    eddy_task *t = eddy__queue_pop(q);
    eddy_task *next = q->head;
    if (next && next->started)
        eddy__ctx_prefetch_resume(eddy__ctx_sp(&next->fiber.ctx), next->exit != TASK_YIELDED);
    return t;
}

/* Moves every task of `from` to the tail of `to`. */
static inline void eddy__queue_append(eddy_task_queue *to, eddy_task_queue *from)
{
    if (!from->head)
        return;
    if (to->tail)
        to->tail->next = from->head;
    else
        to->head = from->head;
    to->tail = from->tail;
    from->head = from->tail = NULL;
}

/* Files a task that switched out without finishing, as t->exit says, for
 * a scheduler whose run queue only its own thread pops (current-thread,
 * LocalSet): a yielded task waits in `deferred`; a parked one goes back
 * to `run` if it was woken meanwhile, and is otherwise left to its waker. */
static inline void eddy__queue_file_switched_out(eddy_task_queue *run, eddy_task_queue *deferred,
                                                 eddy_task *t)
{
    if (t->exit == TASK_YIELDED)
        eddy__queue_push(deferred, t);
    else if (eddy__task_transition_to_idle(t))
        eddy__queue_push(run, t);
}

#endif /* EDDY_TASK_QUEUE_H */
