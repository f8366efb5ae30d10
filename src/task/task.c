/* The task object: allocation, references, and the state transitions that
 * wake, run, park, yield and complete it. */
#include "task/task.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "task/overflow.h"
#include "util/block_cache.h"
#include "task/thread.h"

#if !defined(EDDY_ASAN) && !defined(EDDY_TSAN) && !defined(EDDY_CTX_UCONTEXT) && \
    UINTPTR_MAX == UINT64_MAX
_Static_assert(offsetof(eddy_task, name) == 128, "a task's hot fields fill two cache lines");
#endif

/* Ids are handed out in blocks per thread so that spawning does not touch a
 * shared cache line. */
#define ID_BLOCK 1024
static atomic_uint_fast64_t next_id_block = 1;
static _Thread_local uint64_t tls_id_next, tls_id_end;

static uint64_t next_id(void)
{
    if (tls_id_next == tls_id_end) {
        tls_id_next = atomic_fetch_add_explicit(&next_id_block, ID_BLOCK,
                                                memory_order_relaxed);
        tls_id_end = tls_id_next + ID_BLOCK;
    }
    return tls_id_next++;
}

eddy_task *eddy__task_new(const eddy_spawn_opts *opts, eddy_task_fn fn, void *arg)
{
    size_t stack_size = 0;
    if (opts && opts->stack_size) {
        stack_size = eddy__stack_round(opts->stack_size);
        if (!stack_size) {
            errno = EINVAL;
            return NULL;
        }
    }
    char *name = NULL;
    if (opts && opts->name && !(name = strdup(opts->name))) {
        errno = ENOMEM;
        return NULL;
    }
    eddy_task *t = eddy__block_alloc(sizeof *t);
    if (!t) {
        free(name);
        errno = ENOMEM;
        return NULL;
    }
    /* Field by field: a compound literal made gcc build the whole task on
     * the stack and copy it, the costliest part of a spawn. The fiber is
     * set up when the task first runs; the owned links when it is owned. */
    /* Two references: the join handle and the owner (the scheduler until
     * the task completes, or the blocking pool). */
    atomic_init(&t->state, TS_NOTIFIED | TS_JOIN_INTEREST | 2 * TS_REF_ONE);
    t->next = NULL;
    t->sched = NULL;
    t->fn = fn;
    t->arg = arg; /* result shares its place */
    t->status = 0;
    t->exit = TASK_PARKED;
    t->started = false;
    t->owned = false;
    t->unguarded = false;
    t->stack_size = stack_size;
    t->stack = NULL;
    t->join_waker.vt = NULL;
    t->owned_prev = t->owned_next = NULL;
    t->id = next_id();
    t->named = name != NULL;
    if (name) /* most tasks have none: their cold lines stay untouched */
        t->name = name;
    return t;
}

static void task_free(eddy_task *t)
{
    if (t->named)
        free(t->name);
    eddy__block_free(t, sizeof *t);
}

void eddy__task_ref(eddy_task *t)
{
    atomic_fetch_add_explicit(&t->state, TS_REF_ONE, memory_order_relaxed);
}

void eddy__task_unref(eddy_task *t)
{
    uint64_t prev = atomic_fetch_sub_explicit(&t->state, TS_REF_ONE, memory_order_acq_rel);
    if (ts_refs(prev) == 1)
        task_free(t);
}

void eddy__task_wake_by_ref(eddy_task *t)
{
    uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    for (;;) {
        if (s & (TS_COMPLETE | TS_NOTIFIED))
            return;
        if (atomic_compare_exchange_weak_explicit(&t->state, &s, s | TS_NOTIFIED,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }
    /* A running task is re-queued by its scheduler when it switches out;
     * an idle one is queued now. The owner's reference keeps it alive
     * until it completes, and it cannot complete before it runs again. */
    if (!(s & TS_RUNNING) && t->sched)
        t->sched->ops->schedule(t->sched, t);
}

bool eddy__task_set_cancelled(eddy_task *t)
{
    uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    for (;;) {
        if (s & TS_COMPLETE)
            return false;
        if (s & TS_CANCELLED)
            return true;
        if (atomic_compare_exchange_weak_explicit(&t->state, &s, s | TS_CANCELLED,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire))
            return true;
    }
}

void eddy__task_complete(eddy_task *t, void *result, int status)
{
    uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    if (status == 0 && (s & TS_CANCELLED))
        status = -ECANCELED;
    t->result = result;
    t->status = (int16_t)status;
    for (;;) {
        uint64_t next = (s & ~(TS_RUNNING | TS_NOTIFIED)) | TS_COMPLETE;
        /* With no joiner waiting, nothing below reads the task: the
         * owner's reference goes in the same step (one atomic operation
         * fewer per task, and they are the costliest part of a spawn). */
        if (!(s & TS_JOIN_WAKER))
            next -= TS_REF_ONE;
        if (atomic_compare_exchange_weak_explicit(&t->state, &s, next, memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }
    if (!(s & TS_JOIN_WAKER)) {
        if (ts_refs(s) == 1)
            task_free(t);
        return;
    }
    /* The joiner cannot take the waker back any more: it is ours. */
    eddy_waker w = t->join_waker;
    t->join_waker.vt = NULL;
    eddy__waker_wake(w);
    eddy__task_unref(t);
}

void eddy__task_drop_handle(eddy_task *t)
{
    uint64_t prev = atomic_fetch_sub_explicit(&t->state, TS_REF_ONE | TS_JOIN_INTEREST,
                                              memory_order_acq_rel);
    if (ts_refs(prev) == 1)
        task_free(t);
}

int eddy__task_take_output(eddy_task *t, void **result)
{
    if (result)
        *result = t->result;
    int status = t->status;
    eddy__task_drop_handle(t);
    return status;
}

bool eddy__task_set_join_waker(eddy_task *t, eddy_waker w)
{
    t->join_waker = w;
    uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    for (;;) {
        if (s & TS_COMPLETE) {
            t->join_waker.vt = NULL;
            eddy__waker_drop(w);
            return false;
        }
        if (atomic_compare_exchange_weak_explicit(&t->state, &s, s | TS_JOIN_WAKER,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire))
            return true;
    }
}

bool eddy__task_unset_join_waker(eddy_task *t)
{
    uint64_t s = atomic_load_explicit(&t->state, memory_order_acquire);
    for (;;) {
        if (s & TS_COMPLETE)
            return false;
        if (atomic_compare_exchange_weak_explicit(&t->state, &s, s & ~TS_JOIN_WAKER,
                                                  memory_order_acq_rel,
                                                  memory_order_acquire))
            break;
    }
    eddy_waker w = t->join_waker;
    t->join_waker.vt = NULL;
    eddy__waker_drop(w);
    return true;
}

/* ---- running on a stack ---- */

/* The bottom frame of every task stack. When a task's function returns,
 * its scheduler may hand over the next task, which has not started, to run
 * in its place on the same stack (eddy_sched_ops.chain): for a task that
 * spawns and exits, as most short tasks do, that saves two switches and a
 * stack's release and fetch. Failing that, it may complete the task and
 * name a started one to resume at once (eddy_sched_ops.pass_on), which
 * saves the trip through the loop. */
static void task_entry(void *arg)
{
    eddy_task *t = arg;
    eddy_thread *th;
    eddy__fiber_started();
    for (;;) {
        t->result = t->fn(t->arg);
        t->exit = TASK_DONE;
        th = eddy__thread(); /* t may have moved thread */
        eddy_sched *s = t->sched;
        eddy_task *next = s && s->ops->chain ? s->ops->chain(s, th, t) : NULL;
        if (!next)
            break;
        th->task = next;
        t = next;
        eddy__ctx_fp_reset(); /* a fresh task starts with the defaults */
    }
    eddy_sched *s = t->sched;
    eddy_task *next = s && s->ops->pass_on ? s->ops->pass_on(s, th, t) : NULL;
    if (next) { /* t is complete, and may be freed */
        th->task = next;
        eddy__fiber_exit(&next->fiber);
    }
    eddy__fiber_exit(th->home);
}

void eddy__task_pass_stack(eddy_task *from, eddy_task *to)
{
    to->stack = from->stack;
    to->stack_size = from->stack_size;
    to->unguarded = from->unguarded;
    to->fiber = from->fiber;
    to->started = true;
    from->stack = NULL;
}

bool eddy__task_start(eddy_thread *th, eddy_task *t, size_t default_stack, bool guarded)
{
    size_t size = eddy__task_stack_shape(t, default_stack);
    eddy_stack *s = th->spare;
    if (s && th->spare_shape == size && th->spare_guarded == guarded)
        th->spare = NULL;
    else if (!(s = eddy__stack_get(size, guarded)))
        return false;
    t->stack = s;
    t->stack_size = size; /* its shape from now on, for giving it back */
    t->unguarded = !s->guarded;
    eddy__fiber_init(&t->fiber, s->lo, s->size, task_entry, t);
    t->started = true;
    return true;
}

/* Keeps a finished task's stack as th's spare, or gives it to the cache. */
static void keep_stack(eddy_thread *th, eddy_fiber *f, eddy_stack *stack, size_t shape,
                       bool guarded)
{
    eddy__fiber_destroy(f);
    if (!th->spare && (th->spare_key || eddy__thread_spare_key(th))) {
        th->spare = stack;
        th->spare_shape = shape;
        th->spare_guarded = guarded;
    } else {
        eddy__stack_put(stack, shape, guarded);
    }
}

void eddy__task_release_stack(eddy_thread *th, eddy_task *t)
{
    if (!t->stack)
        return;
    keep_stack(th, &t->fiber, t->stack, t->stack_size, !t->unguarded);
    t->stack = NULL;
}

void eddy__thread_release_aside(eddy_thread *th, eddy_stack_aside *a)
{
    if (!a->stack)
        return;
    keep_stack(th, &a->fiber, a->stack, a->shape, a->guarded);
    a->stack = NULL;
}

void eddy__thread_drop_spare(eddy_thread *th)
{
    if (th->spare) {
        eddy__stack_put(th->spare, th->spare_shape, th->spare_guarded);
        th->spare = NULL;
    }
}
