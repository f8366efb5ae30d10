/** @file
 * eddy — tasks, join handles, JoinSet.
 *
 * A task is a plain C function running on its own stack. It suspends inside
 * the calls that wait (eddy_join, eddy_yield, ...) and is resumed by the
 * runtime that owns it. Spawning returns a join handle (an eddy_task *);
 * every handle must be consumed by exactly one eddy_join() or eddy_detach().
 *
 * Cancellation is cooperative: after eddy_abort(), every suspending call
 * made by the task returns -ECANCELED at once, so the task unwinds through
 * its ordinary error paths and returns.
 *
 * Floating-point control state (x86-64: the rounding mode, exception masks
 * and flush-to-zero bits of MXCSR and the x87 control word) belongs to the
 * task: a task starts with the defaults (round to nearest, every exception
 * masked), keeps what it sets across its suspensions, wherever it resumes,
 * and changes nobody else's, nor that of the thread driving its runtime.
 * On AArch64 the FPCR is not switched: it stays the thread's, as in a
 * Tokio future, and a task that changes it must put it back before it
 * suspends.
 */
#ifndef EDDY_TASK_H
#define EDDY_TASK_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A task, as its join handle: consumed by exactly one eddy_join() or eddy_detach(). */
typedef struct eddy_task eddy_task;
/** A group of tasks joined in the order they finish. */
typedef struct eddy_join_set eddy_join_set;

/** Per-spawn options; zero fields mean the defaults. */
typedef struct eddy_spawn_opts {
    /** Shown in diagnostics (stack overflow reports) and by eddy_task_name().
     * Copied; NULL for none. */
    const char *name;
    /** Stack size in bytes for this task, rounded up to whole pages; 0 uses
     * the runtime's default (eddy_runtime_opts.stack_size). */
    size_t stack_size;
    /** Spawn as a thread-pinned task (as eddy_spawn_local()). */
    bool local;
} eddy_spawn_opts;

/** Spawns fn(arg) onto the current context: the runtime of the calling task,
 * or the runtime of the innermost enter guard on this thread (on a
 * blocking-pool thread: the pool's runtime). A task spawned while its
 * runtime shuts down is never run; its join reports -ECANCELED.
 * Returns the join handle, or NULL with errno = EPERM outside any runtime
 * context, EINVAL for a NULL fn, ENOMEM when memory or stacks run out.
 * Does not suspend. Any thread with a context. */
EDDY_API eddy_task *eddy_spawn(eddy_task_fn fn, void *arg);

/** Spawns a thread-pinned task onto the current local context (a
 * LocalRuntime; later a LocalSet or a multi-thread worker). On a
 * LocalRuntime it is identical to eddy_spawn(). Returns NULL with
 * errno = EPERM outside a local context. Does not suspend. */
EDDY_API eddy_task *eddy_spawn_local(eddy_task_fn fn, void *arg);

/** eddy_spawn() with options (name, stack size, local). NULL opts means
 * defaults. Errors as eddy_spawn(); EINVAL for an absurd stack size. */
EDDY_API eddy_task *eddy_spawn_with(const eddy_spawn_opts *opts,
                                    eddy_task_fn fn, void *arg);

/** Runs fn(arg) on the blocking pool of the current runtime context, for
 * work that blocks the thread or burns CPU. Joining it suspends only the
 * joining task. A blocking task cannot be interrupted: eddy_abort() cancels
 * it only if it has not started yet. Errors as eddy_spawn(). */
EDDY_API eddy_task *eddy_spawn_blocking(eddy_task_fn fn, void *arg);

/** Waits for the task to finish and consumes the handle.
 * Returns 0 and stores the task's return value in *result (if result is not
 * NULL); -ECANCELED if the task was aborted (or the runtime shut down
 * before it finished; *result then still receives whatever the function
 * returned, NULL if it never ran), or if the calling task itself was
 * aborted while waiting (the joined task is then detached);
 * -ENOMEM if no stack could be mapped for the task, or if a plain thread
 * cannot allocate what it blocks on (its first wait; the handle then
 * stays with the caller, as on misuse).
 * Misuse leaves the handle untouched: -EINVAL for NULL, -EDEADLK when
 * waiting would deadlock (joining the current task, or blocking the thread
 * that must drive the task's runtime).
 * Suspends when called from a task; blocks when called from a plain thread.
 * Any thread. */
EDDY_API int eddy_join(eddy_task *task, void **result);

/** Consumes the handle without waiting: the task keeps running and its
 * result is discarded. NULL is ignored. Any thread. */
EDDY_API void eddy_detach(eddy_task *task);

/** Requests cooperative cancellation: from now on every suspending call in
 * the task returns -ECANCELED, and eddy_join() reports -ECANCELED. Does not
 * consume the handle. Aborting a finished task does nothing; repeated
 * aborts are harmless; NULL is ignored. Does not suspend. Any thread. */
EDDY_API void eddy_abort(eddy_task *task);

/** True once the task has finished (returned, or was cancelled before it
 * ran). False for NULL. Any thread. */
EDDY_API bool eddy_is_finished(const eddy_task *task);

/** True once eddy_abort() was called on the task (or its runtime shut down
 * while it was alive). False for NULL. Any thread. */
EDDY_API bool eddy_is_cancelled(const eddy_task *task);

/** The task's id: unique in the process, never 0. 0 for NULL. Any thread. */
EDDY_API uint64_t eddy_task_id(const eddy_task *task);

/** The task's name as given at spawn, or NULL. Any thread. */
EDDY_API const char *eddy_task_name(const eddy_task *task);

/** The id of the calling task, or 0 when not called from a task. */
EDDY_API uint64_t eddy_current_task_id(void);

/** True when the calling task has been aborted (false outside a task), so
 * long computations can check for cancellation between suspensions. */
EDDY_API bool eddy_current_task_cancelled(void);

/** Lets the other ready tasks run: the calling task is rescheduled after
 * every task that is ready now (and after the next driver poll).
 * Returns 0, -ECANCELED if the task is aborted, -EPERM outside a task.
 * Suspends. */
EDDY_API int eddy_yield(void);

/* ---- JoinSet: a group of tasks joined in completion order. ----
 * A set belongs to no thread: it may be used from any task or thread, but
 * not by two at once. Destroying it aborts every task still in it. */

/** Creates an empty set. NULL with errno = ENOMEM. */
EDDY_API eddy_join_set *eddy_join_set_new(void);

/** Spawns fn(arg) (as eddy_spawn_with(opts, ...); opts may be NULL) into the
 * set. Returns the new task's id (> 0), or a negative error as eddy_spawn()
 * sets in errno (-EPERM, -EINVAL, -ENOMEM). Does not suspend. */
EDDY_API int64_t eddy_join_set_spawn(eddy_join_set *set,
                                     const eddy_spawn_opts *opts,
                                     eddy_task_fn fn, void *arg);

/** Moves an existing join handle into the set (the set consumes it).
 * Returns 0, -EINVAL for NULL arguments. */
EDDY_API int eddy_join_set_add(eddy_join_set *set, eddy_task *task);

/** Waits for the next task of the set to finish and removes it.
 * Returns as eddy_join() for that task (0 or -ECANCELED or -ENOMEM, with
 * *result and *id filled when not NULL); -ENOENT when the set is empty;
 * -ECANCELED if the calling task is aborted while waiting (the set keeps
 * its tasks); -EINVAL for NULL set. Suspends in a task, blocks a plain
 * thread (-EDEADLK where that would deadlock, as eddy_join()). */
EDDY_API int eddy_join_set_join_next(eddy_join_set *set, void **result,
                                     uint64_t *id);

/** Number of tasks in the set (finished but not yet joined included). */
EDDY_API size_t eddy_join_set_len(const eddy_join_set *set);

/** Aborts every task in the set; they stay in it, to be joined. */
EDDY_API void eddy_join_set_abort_all(eddy_join_set *set);

/** Aborts and detaches every task still in the set, then frees it. NULL is
 * ignored. Does not wait for the tasks to finish. */
EDDY_API void eddy_join_set_free(eddy_join_set *set);

#ifdef __cplusplus
}
#endif

#endif /* EDDY_TASK_H */
