/* Per-thread context: who is running on this thread right now.
 *
 * Always reached through eddy__thread(), and never kept across a
 * suspension: a task can be resumed on another thread than the one it
 * suspended on (a current-thread Runtime is driven by whichever thread
 * calls block_on; a multi-thread runtime migrates tasks). eddy__thread()
 * reads the thread pointer afresh at every call (util/tls.h). */
#ifndef EDDY_TASK_THREAD_H
#define EDDY_TASK_THREAD_H

#include <errno.h>
#include <stdint.h>

#include "arch/fiber.h"
#include "task/overflow.h"
#include "task/task.h"
#include "util/parker.h"
#include "util/tls.h"

typedef struct eddy_enter_ctx eddy_enter_ctx;

typedef struct eddy_thread {
    uint64_t id;                /* unique in the process, never reused */
    eddy_task *task;            /* the task running on this thread */
    eddy_sched *driving;        /* the scheduler this thread is driving */
    eddy_fiber sched_fiber;     /* the thread's own stack, while driving */
    eddy_fiber *home;           /* where a running task switches back to:
                                   &sched_fiber, or a LocalSet's loop */
    uint64_t home_env;          /* home's FP control words (ctx.h), read
                                   whenever home is set or a hook ran */
    eddy_enter_ctx *enter;      /* innermost entered runtime context */
    eddy_parker *parker;        /* created on first plain-thread wait */
    void *worker;               /* the multi-thread worker this thread is */
    eddy_sched *owns;           /* the schedulers this thread owns */
    eddy_stack *spare;          /* the last finished task's stack, for the
                                   next task to start here */
    size_t spare_shape;         /* its shape and guard, kept here: its */
    bool spare_guarded;         /* header is seldom in cache */
    bool spare_key;             /* the exit hook that unmaps it is set */
} eddy_thread;

/* The calling thread's context; defined in thread.c. */
extern _Thread_local eddy_thread eddy__tls_thread;

/* Gives the context its id on a thread's first use. */
eddy_thread *eddy__thread_first(void);

/* The calling thread's context as it stands, for a short path that takes
 * the long one when the thread has none yet (id 0, no task). It makes no
 * call, so the short path stays a leaf that saves no registers. */
static inline __attribute__((always_inline)) eddy_thread *eddy__thread_peek(void)
{
#ifdef EDDY_HAVE_TLS_ADDR
    return EDDY_TLS_ADDR(eddy__tls_thread);
#else
    return eddy__thread_first(); /* out of line: re-evaluated at each call */
#endif
}

static inline __attribute__((always_inline)) eddy_thread *eddy__thread(void)
{
    eddy_thread *th = eddy__thread_peek();
    if (__builtin_expect(th->id == 0, 0))
        return eddy__thread_first();
    return th;
}

/* Scheduler side: runs task t (RUNNING) on this thread, the caller's
 * thread context th, until control comes back to th->home. Returns the
 * task that switched back: t, or another task of the same scheduler that t
 * handed off to (see eddy_sched_ops.handoff); its exit field says why.
 * The first run gives t a stack; returns NULL (t is left not started) if
 * no stack could be mapped. Inline, so the scheduler loop has no returns
 * to mispredict after the switch. */
/* An unguarded stack has no guard page to fault on: whenever its task
 * switches out, the stack pointer it leaves at is checked instead. The
 * lowest usable byte is read from the fiber, in the task object at hand,
 * not from the stack's header: that sits in the top line of the stack,
 * which the task seldom touches, and with 100,000 sleeping tasks reading
 * it was a cache miss at every switch. */
static inline __attribute__((always_inline)) void eddy__task_check_stack(const eddy_task *t,
                                                                        const void *sp)
{
    if (__builtin_expect(t->unguarded, 0) &&
        __builtin_expect((const char *)sp < (const char *)t->fiber.stack_lo, 0))
        eddy__overflow_report(t);
}

static inline __attribute__((always_inline)) eddy_task *eddy__task_run(eddy_thread *th, eddy_task *t,
                                                                      size_t default_stack,
                                                                      bool guarded)
{
    if (__builtin_expect(!t->started, 0) && !eddy__task_start(th, t, default_stack, guarded))
        return NULL;
    eddy_task *caller = th->task; /* a LocalSet loop runs inside a task */
    th->task = t;
    eddy__fiber_switch_env(th->home, &t->fiber, th->home_env);
    eddy_task *back = th->task;
    th->task = caller;
    eddy__task_check_stack(back, eddy__ctx_sp(&back->fiber.ctx));
    return back;
}

/* Task side: switches the running task t out of thread th (the caller's
 * eddy__thread()), saying why: straight to the next task its scheduler
 * hands it, or else back to the scheduler loop on this thread. Returns
 * when the task is resumed, possibly on another thread: th is stale then,
 * and is read before the switch only. */
static inline __attribute__((always_inline)) void eddy__task_switch_out(eddy_thread *th,
                                                                       eddy_task *t,
                                                                       enum eddy_task_exit why)
{
    t->exit = why;
    eddy_sched *s = t->sched;
    eddy_task *next = s->ops->handoff ? s->ops->handoff(s, th, t) : NULL;
    if (!next) {
        eddy__fiber_switch(&t->fiber, th->home);
        return;
    }
    /* The loop checks the stack of a task that comes back to it; this one
     * skips the loop, so it is checked here, a switch frame below where it
     * stands. */
    eddy__task_check_stack(t, (char *)__builtin_frame_address(0) - EDDY_CTX_FRAME);
    th->task = next;
    eddy__fiber_switch(&t->fiber, &next->fiber);
}

/* Suspends task t, running on th, for `why` (a park or a yield): 0 when
 * resumed, -ECANCELED when t is aborted (checked before and after). */
static inline __attribute__((always_inline)) int eddy__task_suspend(eddy_thread *th, eddy_task *t,
                                                                   enum eddy_task_exit why)
{
    if (eddy__task_is_cancelled(t))
        return -ECANCELED;
    eddy__task_switch_out(th, t, why);
    return eddy__task_is_cancelled(t) ? -ECANCELED : 0;
}

/* A timed wait of task t, running on th: arms t's timer, parks, disarms.
 * 0 when woken, -ETIMEDOUT when the timer fired, -ECANCELED when aborted.
 *
 * The timer lives in the task rather than on the task's stack: firing it
 * then touches the task, which the wake touches anyway, and not a stack
 * page that 100,000 sleepers would each need brought back into cache and
 * TLB. Inline, like eddy__wait_current_inline below, for one mispredicted
 * return fewer per wake-up. */
void eddy__task_timer_fire(eddy_timer *timer);

static inline __attribute__((always_inline)) int eddy__task_park_until(eddy_thread *th,
                                                                      eddy_task *t,
                                                                      uint64_t deadline)
{
    t->timer = (eddy_timer){ .fire = eddy__task_timer_fire };
    eddy_sched *s = t->sched;
    s->ops->timer_arm(s, &t->timer, deadline);
    eddy__task_switch_out(th, t, TASK_PARKED);
    /* The timer belongs to the scheduler the task parked on; a pinned or
     * current-thread task is resumed there, a migrating one may not be,
     * which is why a multi-thread timer remembers its wheel. */
    bool fired = s->ops->timer_disarm(s, &t->timer);
    if (eddy__task_is_cancelled(t))
        return -ECANCELED;
    return fired ? -ETIMEDOUT : 0;
}

/* As eddy__wait_current_until from a task, for a deadline known to be in
 * the future (just computed from the clock): skips reading the clock
 * again. */
static inline __attribute__((always_inline)) int eddy__task_wait_until_future(uint64_t deadline)
{
    eddy_thread *th = eddy__thread();
    eddy_task *t = th->task;
    if (eddy__task_is_cancelled(t))
        return -ECANCELED;
    return eddy__task_park_until(th, t, deadline);
}

/* eddy__wait_current_until, inline for the common case: a task waiting
 * with no deadline. After a switch every return is mispredicted (the
 * return-stack buffer holds the calls of whatever ran meanwhile), so each
 * frame fewer between a waiting primitive and the switch saves one
 * misprediction per resume. */
static inline __attribute__((always_inline)) int eddy__wait_current_inline(uint64_t deadline)
{
    eddy_thread *th = eddy__thread();
    eddy_task *t = th->task;
    if (deadline != UINT64_MAX || !t)
        return eddy__wait_current_until(deadline);
    return eddy__task_suspend(th, t, TASK_PARKED);
}

/* Scheduler ownership (eddy_sched.owner), kept on both sides: the
 * scheduler names its owning thread, and the thread lists the schedulers
 * it owns. The list answers "would blocking this thread on task t
 * deadlock?" by comparing t's scheduler pointer, without reading a
 * scheduler that another thread may be freeing at that moment. Both are
 * called by the thread that takes or gives up ownership. */
void eddy__sched_own(eddy_sched *s);
void eddy__sched_disown(eddy_sched *s);

/* True if th owns s (s is only compared, never read). */
bool eddy__thread_owns(const eddy_thread *th, const eddy_sched *s);

/* Arranges for th's spare stack to be unmapped when the thread exits;
 * false if that cannot be arranged (then keep no spare). */
bool eddy__thread_spare_key(eddy_thread *th);

/* This thread's parker (created on first use); NULL on ENOMEM. */
eddy_parker *eddy__thread_parker(eddy_thread *th);

/* Whether th can wait (join, sleep): a task always can; a plain thread
 * needs its parker, made here if need be (false: ENOMEM). Code that
 * starts a task and then waits for it asks first: a join that fails
 * with ENOMEM leaves the handle with its caller, and the task running. */
static inline bool eddy__thread_can_wait(eddy_thread *th)
{
    return th->task || eddy__thread_parker(th);
}

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
