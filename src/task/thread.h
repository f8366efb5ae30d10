/* Per-thread context: who is running on this thread right now.
 *
 * Always reached through eddy__thread(), which is not inlined: a task can
 * be resumed on another thread than the one it suspended on (a
 * current-thread Runtime is driven by whichever thread calls block_on), so
 * no code may keep a thread-local's address across a suspension. */
#ifndef EDDY_TASK_THREAD_H
#define EDDY_TASK_THREAD_H

#include <stdint.h>

#include "arch/fiber.h"
#include "task/task.h"
#include "util/parker.h"

typedef struct eddy_enter_ctx eddy_enter_ctx;

typedef struct eddy_thread {
    uint64_t id;                /* unique in the process, never reused */
    eddy_task *task;            /* the task running on this thread */
    eddy_sched *driving;        /* the scheduler this thread is driving */
    eddy_fiber sched_fiber;     /* the thread's own stack, while driving */
    eddy_fiber *home;           /* where a running task switches back to:
                                   &sched_fiber, or a LocalSet's loop */
    eddy_enter_ctx *enter;      /* innermost entered runtime context */
    eddy_parker *parker;        /* created on first plain-thread wait */
    void *worker;               /* the multi-thread worker this thread is */
} eddy_thread;

__attribute__((noinline)) eddy_thread *eddy__thread(void);

/* This thread's parker (created on first use); NULL on ENOMEM. */
eddy_parker *eddy__thread_parker(eddy_thread *th);

/* The running task, or NULL on a plain thread. */
eddy_task *eddy__current_task(void);

/* The context a spawn from this thread goes to: the task's scheduler, or
 * the innermost entered context. */
struct eddy_enter_ctx {
    eddy_sched *sched;            /* set for a runtime entered on its thread */
    struct eddy_shared *shared;   /* the runtime's shared part (remote spawn) */
    uint64_t thread;              /* the thread that entered */
    eddy_enter_ctx *prev;
};

#endif /* EDDY_TASK_THREAD_H */
