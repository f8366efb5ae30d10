/* The task object, and the small interface through which the task layer
 * talks to whichever scheduler owns a task. */
#ifndef EDDY_TASK_TASK_H
#define EDDY_TASK_TASK_H

#include <eddy/task.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "arch/fiber.h"
#include "arch/stack.h"
#include "task/state.h"
#include "task/timer.h"
#include "task/waker.h"

typedef struct eddy_sched eddy_sched;
struct eddy_thread;

/* What a scheduler provides to the task layer. */
typedef struct eddy_sched_ops {
    /* Queues a task that just became NOTIFIED (from idle). Called from any
     * thread; must hand the task to the thread that drives the scheduler. */
    void (*schedule)(eddy_sched *s, eddy_task *t);
    /* Takes a new task (from eddy__task_new) into the scheduler from any
     * thread. Once taken the task is never lost: if the scheduler is
     * shutting down it is completed as cancelled without running. Returns
     * 0, or a negative errno when the task was refused (the caller still
     * owns it). */
    int (*spawn)(eddy_sched *s, eddy_task *t);
    /* Timers for the scheduler's tasks, called from a task of it: arm
     * files `timer` to fire at `deadline` (ns of the scheduler's clock),
     * disarm takes it back if it has not fired, and says whether it had
     * (once it says so, `fire` has returned and the entry is free). */
    void (*timer_arm)(eddy_sched *s, eddy_timer *timer, uint64_t deadline);
    bool (*timer_disarm)(eddy_sched *s, eddy_timer *timer);
    /* The scheduler's clock in ns (virtual while its time is paused). */
    uint64_t (*now)(eddy_sched *s);
    /* Where a thread-pinned task spawned from the calling thread goes (a
     * LocalRuntime itself, a multi-thread runtime's current worker), or
     * NULL when this thread cannot host one. */
    eddy_sched *(*local_sched)(eddy_sched *s);
    /* The default stack of the scheduler's tasks: size and guard mode. */
    void (*stack_config)(eddy_sched *s, size_t *size, bool *guarded);
    /* Optional. Called on the stack of task t (RUNNING on thread th, with
     * t->exit saying YIELDED or PARKED) just before it switches out: may
     * file t as its scheduler loop would, and return the next task to
     * resume (or to start, its stack given by eddy__task_start), already
     * RUNNING, which t then switches to directly (one
     * switch instead of two, and no trip through the loop). NULL leaves
     * everything to the loop. Only for a scheduler whose tasks no other
     * thread can pick up while t is still switching out. */
    eddy_task *(*handoff)(eddy_sched *s, struct eddy_thread *th, eddy_task *t);
    /* Optional. Called on the stack of task t (RUNNING on th) whose
     * function has returned: may complete t as its scheduler loop would
     * and return the next ready task, one that has not started and wants
     * a stack of t's shape (eddy__task_fits_stack_of), already RUNNING and
     * holding t's stack and fiber (eddy__task_pass_stack), to be started
     * right there: no switch, no stack released and fetched. NULL: t goes
     * back to the loop. The task must come from a queue only th pops. */
    eddy_task *(*chain)(eddy_sched *s, struct eddy_thread *th, eddy_task *t);
    /* Optional. Called on the stack of task t (RUNNING on th) whose
     * function has returned, when chain gave no task to start there: may
     * complete t as its loop would and return the next ready task that has
     * started, already RUNNING, which th then resumes straight from t's
     * stack (eddy__fiber_exit). t's stack and fiber are kept aside until
     * th is off them; t may be freed on return. NULL: t goes back to the
     * loop. The task must come from a queue only th pops. */
    eddy_task *(*pass_on)(eddy_sched *s, struct eddy_thread *th, eddy_task *t);
} eddy_sched_ops;

struct eddy_shared;

/* The part every scheduler starts with. */
struct eddy_sched {
    const eddy_sched_ops *ops;
    /* The thread (eddy__thread_id) allowed to touch the scheduler's local
     * state right now: the owner of a LocalRuntime, or the thread inside
     * block_on of a current-thread Runtime; 0 for none. */
    atomic_uint_fast64_t owner;
    /* The runtime's thread-safe part: remote queue, blocking pool. */
    struct eddy_shared *shared;
    /* Link in the owning thread's list (eddy__sched_own). */
    eddy_sched *owned_next;
};

/* Why a task switched back to its scheduler. */
enum eddy_task_exit {
    TASK_PARKED,  /* waits for a waker */
    TASK_YIELDED, /* ready, to run after the others (stays RUNNING) */
    TASK_DONE,    /* returned */
};

/* The fields a spawn, a wake, a run, a park and a completion touch come
 * first, in 128 bytes (in a build without sanitizers): with thousands of
 * tasks alive, each task has gone cold before it is touched again, and
 * every further line would be one more cache miss. The rest is touched
 * only by timed waits and named tasks. */
struct eddy_task {
    atomic_uint_fast64_t state;
    eddy_task *next;             /* run-queue link */
    eddy_sched *sched;           /* NULL for blocking-pool tasks; changed
                                    only through eddy__task_set_sched once
                                    the handle is out */
    eddy_task_fn fn;
    union {
        void *arg;               /* until fn is called */
        void *result;            /* once fn has returned (or the task was
                                    completed without running: NULL) */
    };
    eddy_stack *stack;
    size_t stack_size;           /* requested (0: the scheduler's default);
                                    once started, its stack's shape */
    int16_t status;              /* 0, -ECANCELED or -ENOMEM once complete */
    uint8_t exit;                /* enum eddy_task_exit: set by the task
                                    before switching out */
    bool started;                /* has a stack (or, blocking: has run) */
    bool owned;                  /* linked in its scheduler's owned list */
    bool unguarded;              /* its stack has no guard page (a copy of
                                    stack->guarded, read at every switch) */
    bool named;                  /* `name` is set (else it is not written) */
    eddy_fiber fiber;
    eddy_waker join_waker;       /* guarded by TS_JOIN_WAKER */
    eddy_task *owned_prev, *owned_next;
    uint64_t id;
    /* ---- cold ---- */
    char *name;
    eddy_timer timer;            /* for the task's timed waits */
};

/* Allocates a task for fn(arg) with two references (the handle and the
 * owner) and the NOTIFIED and JOIN_INTEREST bits set: it is ready to be
 * queued by its owner. NULL with errno set on failure. */
eddy_task *eddy__task_new(const eddy_spawn_opts *opts, eddy_task_fn fn, void *arg);

void eddy__task_ref(eddy_task *t);
void eddy__task_unref(eddy_task *t);

/* Wakes the task: marks it NOTIFIED and queues it on its scheduler unless
 * it already is queued, running (it will be re-queued when it switches
 * out) or complete. */
void eddy__task_wake_by_ref(eddy_task *t);

/* Scheduler side: the task was popped from a run queue (so NOTIFIED is
 * set and RUNNING clear); it is now RUNNING. Returns the state before.
 * Inline, like the next one: a call around one atomic instruction made
 * the scheduler paths that take it save registers for it. */
static inline uint64_t eddy__task_transition_to_running(eddy_task *t)
{
    /* NOTIFIED set, RUNNING clear (bits 1 and 0): subtracting one clears
     * the first and sets the second, in one `lock xadd`, where a
     * fetch-xor would be a load and a compare-exchange loop. */
    _Static_assert(TS_RUNNING == 1 && TS_NOTIFIED == 2, "the two lowest bits");
    return atomic_fetch_sub_explicit(&t->state, TS_NOTIFIED - TS_RUNNING,
                                     memory_order_acq_rel);
}

/* Scheduler side: the task (RUNNING) switched out to park. Clears RUNNING;
 * returns true if it was notified meanwhile (the caller must queue it
 * again). */
static inline bool eddy__task_transition_to_idle(eddy_task *t)
{
    /* RUNNING is set: subtracting it clears it (one `lock xadd`, where a
     * fetch-and would be a compare-exchange loop). */
    uint64_t prev = atomic_fetch_sub_explicit(&t->state, TS_RUNNING, memory_order_acq_rel);
    return (prev & TS_NOTIFIED) != 0;
}

/* Scheduler side: the task popped from a queue starts running. A task
 * that yielded never left RUNNING: it waits in its scheduler's deferred
 * list with its state untouched (a wake meanwhile only sets NOTIFIED, which
 * shows up later as one spurious wake-up), so resuming it needs no atomic
 * operation, and neither did yielding. Returns the state before, or 0 for
 * a yielded task. */
static inline uint64_t eddy__task_begin_run(eddy_task *t)
{
    return t->exit == TASK_YIELDED ? 0 : eddy__task_transition_to_running(t);
}

/* What the task's function returned, for a task back from its stack;
 * NULL for one that never ran (its `result` field still holds the
 * argument). */
static inline void *eddy__task_output(const eddy_task *t)
{
    return t->started ? t->result : NULL;
}

/* Marks the task COMPLETE with its result and status (-ECANCELED replaces
 * 0 when the task was aborted), wakes its joiner, and drops the owner's
 * reference. Called by the owner (scheduler or blocking pool) with its
 * stack already released. */
void eddy__task_complete(eddy_task *t, void *result, int status);

/* The task's scheduler as seen from any thread holding a reference. The
 * scheduler may be freed by now (once the task is complete), so the result
 * is only for comparing, never for reading through. */
static inline eddy_sched *eddy__task_sched_peek(const eddy_task *t)
{
    return __atomic_load_n(&t->sched, __ATOMIC_RELAXED);
}

/* Moves the task to another scheduler (or none) after its handle may have
 * been shared: other threads may peek at the field meanwhile. */
static inline void eddy__task_set_sched(eddy_task *t, eddy_sched *s)
{
    __atomic_store_n(&t->sched, s, __ATOMIC_RELAXED);
}

/* Sets CANCELLED; returns false if it was complete already. */
bool eddy__task_set_cancelled(eddy_task *t);

static inline uint64_t eddy__task_state(const eddy_task *t)
{
    return atomic_load_explicit(&((eddy_task *)t)->state, memory_order_acquire);
}

static inline bool eddy__task_is_cancelled(const eddy_task *t)
{
    return (eddy__task_state(t) & TS_CANCELLED) != 0;
}

/* Reads the result of a COMPLETE task and consumes the join handle. */
int eddy__task_take_output(eddy_task *t, void **result);

/* Consumes the join handle of a task in any state without reading its
 * result: the task may still be running, and its completer writes the
 * result and status before it publishes COMPLETE. */
void eddy__task_drop_handle(eddy_task *t);

/* Registers w as the joiner of t. Returns false (and drops w) if t is
 * already complete. */
bool eddy__task_set_join_waker(eddy_task *t, eddy_waker w);

/* Takes the join waker back. Returns false if t completed first: the
 * completer then owns the waker and will wake it. */
bool eddy__task_unset_join_waker(eddy_task *t);

struct eddy_thread;

/* Scheduler side, first run on thread th: gives the task a stack (th's
 * spare one if it fits, else one from the cache) and a fiber to start on.
 * False (the task is left not started) if no stack could be mapped. */
bool eddy__task_start(struct eddy_thread *th, eddy_task *t, size_t default_stack,
                      bool guarded);

/* eddy__task_run and eddy__task_switch_out, the two halves of every
 * switch, are inline in task/thread.h. */

/* Scheduler side: after a task exits on thread th, keeps its stack as th's
 * spare (the next task to start there takes it, with no cache call), or
 * releases it into the thread's cache. */
void eddy__task_release_stack(struct eddy_thread *th, eddy_task *t);

/* A stack taken from a task that finished on it, to be released once the
 * thread is off it (eddy_sched_ops.pass_on), with a copy of the fiber that
 * ran on it for eddy__fiber_destroy. stack is NULL when there is none. */
typedef struct eddy_stack_aside {
    eddy_stack *stack;
    size_t shape;
    bool guarded;
    eddy_fiber fiber;
} eddy_stack_aside;

/* Moves finished task t's stack and fiber to *a, which must be empty. */
static inline void eddy__task_set_stack_aside(eddy_task *t, eddy_stack_aside *a)
{
    a->stack = t->stack;
    a->shape = t->stack_size;
    a->guarded = !t->unguarded;
    a->fiber = t->fiber;
    t->stack = NULL;
}

/* Releases the stack in *a, if any, as eddy__task_release_stack would,
 * and empties *a. Not on that stack. */
void eddy__thread_release_aside(struct eddy_thread *th, eddy_stack_aside *a);

/* The stack size task t runs on: its own request, or the scheduler's
 * default; once t has started, the size of the stack it has. */
static inline size_t eddy__task_stack_shape(const eddy_task *t, size_t default_size)
{
    return t->stack_size ? t->stack_size : default_size;
}

/* For eddy_sched_ops.chain: whether task `to`, not started, wants a stack
 * the size of the one task `from` of the same scheduler runs on (whose
 * default size is default_size). The guard mode needs no check: every
 * stack a scheduler's tasks run on has the scheduler's. */
static inline bool eddy__task_fits_stack_of(const eddy_task *to, const eddy_task *from,
                                            size_t default_size)
{
    return eddy__task_stack_shape(to, default_size) == from->stack_size;
}

/* Scheduler side, for eddy_sched_ops.chain: moves the stack and fiber of
 * task `from`, whose function returned on it, to `to`, which has not
 * started and is to run on it next; `from` is left with no stack. */
void eddy__task_pass_stack(eddy_task *from, eddy_task *to);

/* Returns th's spare stack to the cache: before the cache is drained. */
void eddy__thread_drop_spare(struct eddy_thread *th);

#endif /* EDDY_TASK_TASK_H */
