/* The current-thread scheduler: every task of the scheduler runs on the one
 * thread that drives it (the owner of a LocalRuntime, or whichever thread
 * is inside block_on of a current-thread Runtime).
 *
 * Queues: a local FIFO run queue (no atomics), the shared remote queue
 * (other threads), and a deferred list for tasks that yielded, which joins
 * the run queue only after the driver was polled, so a yielding task runs
 * after every task that was ready when it yielded. Fairness follows Tokio:
 * the remote queue is checked first every global_queue_interval ticks, and
 * the driver is polled every event_interval ticks. With nothing to run it
 * parks until the next timer is due (or, with time paused, moves the clock
 * straight to it). A task that yields or parks may take the loop's next
 * step itself and switch straight to the next task (ct_handoff); a task
 * that returns may start the next new task on its own stack (ct_chain),
 * or else resume the next started one itself (ct_pass_on). */
#ifndef EDDY_SCHED_CURRENT_THREAD_H
#define EDDY_SCHED_CURRENT_THREAD_H

#include <stdatomic.h>

#include "driver/park.h"
#include "driver/time.h"
#include "sched/config.h"
#include "sched/shared.h"
#include "task/queue.h"

typedef struct eddy_ct_sched {
    eddy_sched base;
    eddy_task_queue run;
    eddy_task_queue inbox;     /* a batch taken from the remote queue */
    eddy_task_queue deferred;  /* yielded tasks */
    eddy_task *owned;          /* every incomplete task, for shutdown */
    size_t owned_count;
    eddy_driver *driver;
    eddy_time_driver time;
    /* Runs until the remote queue goes first (a countdown, not tick %
     * interval: a division on every run costs more than the rest of the
     * loop). */
    uint32_t remote_countdown;
    uint32_t event_countdown;  /* runs until the driver is polled */
    eddy_sched_config cfg;
    bool shutting_down;
    bool stacks_exhausted;     /* a stack mapping failed; spawns refused */
    atomic_uint enter_guards;  /* enter guards alive on this scheduler */
    bool local;                /* a LocalRuntime: pinned tasks allowed */
    eddy_task *until;          /* the task eddy__ct_drive waits for */
    /* The stack of the last task that finished by passing on (ct_pass_on),
     * released once the thread is off it. */
    eddy_stack_aside dead;
} eddy_ct_sched;

/* 0 or a negative errno. `local` allows thread-pinned tasks. Creates the
 * shared part (base.shared) with one reference. */
int eddy__ct_init(eddy_ct_sched *s, const eddy_sched_config *cfg, bool local);

/* Drives the scheduler on the calling thread until `until` completes, or,
 * with until == NULL, until no task is left. The caller must own it
 * (base.owner == this thread) and not be driving anything. */
void eddy__ct_drive(eddy_ct_sched *s, eddy_task *until);

/* Cancels every task, refuses new ones, and drives each task to its exit.
 * Owner thread, not driving. */
void eddy__ct_shutdown(eddy_ct_sched *s);

/* Frees what the scheduler holds (after shutdown). The shared part keeps
 * living while referenced. */
void eddy__ct_destroy(eddy_ct_sched *s);

/* True when the calling thread owns (may drive) the scheduler now. */
bool eddy__sched_owned_here(eddy_sched *s);

#endif /* EDDY_SCHED_CURRENT_THREAD_H */
