/* The thread-safe part of a runtime: the remote run queue that other
 * threads push to (new tasks from Handles, wakes from other threads), the
 * blocking pool, and a reference count so that Handles and pool threads
 * may outlive the runtime itself.
 *
 * Lifetime rule: `sched` is valid while the queue is open, and afterwards
 * for as long as any task of the runtime is incomplete
 * (shutdown drives every task to completion before the runtime is freed).
 * A push of an existing task only happens for an incomplete task, and the
 * push and unpark happen under the lock that the owner also takes to pop,
 * so the owner never frees the runtime under a pusher's feet. */
#ifndef EDDY_SCHED_SHARED_H
#define EDDY_SCHED_SHARED_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "driver/park.h"
#include "sched/blocking_pool.h"
#include "sched/config.h"
#include "task/queue.h"

typedef struct eddy_shared {
    atomic_size_t refs;
    pthread_mutex_t lock;
    eddy_task_queue queue;
    atomic_size_t len;
    bool closed;            /* no new tasks; existing ones may still be pushed */
    eddy_sched *sched;
    eddy_driver *driver;    /* counted: I/O registration from any thread */
    /* After a push: tells the scheduler there is work (by default, wakes
     * the driver). Called under the lock. */
    void (*notify)(struct eddy_shared *sh);
    void *notify_ctx;
    eddy_blocking_pool pool;
} eddy_shared;

/* NULL with errno = ENOMEM. One reference, held by the runtime. */
eddy_shared *eddy__shared_new(const eddy_sched_config *cfg, eddy_sched *sched,
                              eddy_driver *driver);
void eddy__shared_ref(eddy_shared *sh);
void eddy__shared_unref(eddy_shared *sh);

/* Pushes an existing (incomplete, NOTIFIED) task and unparks the owner. */
void eddy__shared_push(eddy_shared *sh, eddy_task *t);

/* Takes a new task onto the runtime from any thread; if the runtime is
 * closed the task is completed as cancelled without ever running. */
void eddy__shared_spawn(eddy_shared *sh, eddy_task *t);

/* Pushes a batch of existing tasks (a worker's overflow). Only from a
 * thread of the runtime: the scheduler is told after the lock is released,
 * so it must outlive the call. */
void eddy__shared_push_batch(eddy_shared *sh, eddy_task_queue *batch);

/* Takes one task, or NULL. Cheap when empty. Any thread. */
eddy_task *eddy__shared_pop(eddy_shared *sh);

/* Pops up to `share` of the queue (its length divided by `ways`, plus one,
 * at most `max`): returns the first task and appends the others to *rest.
 * NULL if the queue is empty. The queue is split outside the lock (see
 * shared.c); meanwhile other threads may find it empty. */
eddy_task *eddy__shared_pop_share(eddy_shared *sh, size_t ways, size_t max,
                                  eddy_task_queue *rest);

/* Owner side: moves everything queued to `out`. Cheap when empty. */
void eddy__shared_take(eddy_shared *sh, eddy_task_queue *out);

static inline bool eddy__shared_has_work(eddy_shared *sh)
{
    return atomic_load(&sh->len) != 0;
}

/* Refuses new tasks from now on. */
void eddy__shared_close(eddy_shared *sh);

/* Completes a task that will never run as cancelled. */
void eddy__task_cancel_unstarted(eddy_task *t);

#endif /* EDDY_SCHED_SHARED_H */
