/** @file
 * eddy — runtimes, handles, enter guards.
 *
 * eddy_local_runtime: owned by the thread that created it. Its tasks never
 * leave that thread, so they may share state that is not thread-safe, and
 * eddy_spawn() and eddy_spawn_local() do the same thing on it. Every
 * function taking an eddy_local_runtime * must be called on the owner
 * thread; from another thread it returns -EPERM (or NULL, errno = EPERM)
 * and changes nothing. Only the eddy_handle crosses threads.
 *
 * eddy_runtime: a runtime of a chosen flavor, usable from any thread
 * through eddy_runtime_block_on(). The current-thread flavor runs its tasks
 * on whichever thread is inside block_on at the time; the multi-thread
 * flavor on its worker threads, which steal work from each other (tasks
 * spawned with eddy_spawn may move between workers at their suspension
 * points; eddy_spawn_local on a worker pins a task to it).
 */
#ifndef EDDY_RT_H
#define EDDY_RT_H

#include "common.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A runtime owned by one thread (see the file comment). */
typedef struct eddy_local_runtime eddy_local_runtime;
/** A runtime of a chosen flavor, driven through eddy_runtime_block_on() or by its workers. */
typedef struct eddy_runtime eddy_runtime;
/** A counted, thread-safe reference to a runtime: the cross-thread door into it. */
typedef struct eddy_handle eddy_handle;
/** An entered runtime context on one thread; see eddy_local_runtime_enter(). */
typedef struct eddy_enter_guard eddy_enter_guard;

/** The kind of scheduler a runtime uses. */
typedef enum eddy_flavor {
    EDDY_FLAVOR_DEFAULT = 0,        /**< local: current-thread; runtime: multi-thread */
    EDDY_FLAVOR_CURRENT_THREAD = 1, /**< one thread drives every task */
    EDDY_FLAVOR_MULTI_THREAD = 2,   /**< work-stealing worker threads */
} eddy_flavor;

/** How task stacks are protected against overflow. */
typedef enum eddy_stack_guard {
    EDDY_STACK_GUARDED = 0,   /**< a PROT_NONE page below each stack (default) */
    EDDY_STACK_UNGUARDED = 1, /**< no guard page: one kernel mapping fewer per
                                 stack, for task counts near vm.max_map_count.
                                 An overflow is caught only if the task
                                 suspends while beyond its stack; otherwise it
                                 corrupts memory silently. Opt-in, for tasks
                                 whose stack depth is known. */
} eddy_stack_guard;

/** Runtime options. Zero-initialised means Tokio's defaults. */
typedef struct eddy_runtime_opts {
    eddy_flavor flavor; /**< The scheduler (0: Tokio's default for the constructor). */
    /** Worker threads of the multi-thread flavor (0: number of CPUs). */
    unsigned worker_threads;
    /** Upper bound on blocking-pool threads (0: 512). */
    unsigned max_blocking_threads;
    /** How long an idle blocking-pool thread lingers, in ms (0: 10,000). */
    uint64_t thread_keep_alive_ms;
    /** Default task stack size in bytes (0: 256 KiB); rounded up to pages.
     * Stacks are committed lazily: a task costs what it touches. */
    size_t stack_size;
    eddy_stack_guard stack_guard; /**< Guard pages (default) or canaries. */
    /** Scheduler ticks between driver polls (0: 61). */
    unsigned event_interval;
    /** Scheduler ticks between forced checks of the remote queue (0: 31). */
    unsigned global_queue_interval;
    /** Name given to runtime threads: multi-thread workers and blocking-pool
     * threads (0: "eddy-worker" and "eddy-blocking"). Linux keeps 15 bytes. */
    const char *thread_name;
    /** Stack size of runtime threads (workers, blocking pool); 0: the
     * system default. */
    size_t thread_stack_size;
    /** Hooks, each called with hook_arg: on_thread_start / on_thread_stop
     * on every runtime thread (workers and blocking-pool threads) as it
     * starts and ends; on_thread_park / on_thread_unpark on a multi-thread
     * worker as it goes idle and wakes up. NULL: none. */
    void (*on_thread_start)(void *hook_arg);
    void (*on_thread_stop)(void *hook_arg);  /**< See on_thread_start. */
    void (*on_thread_park)(void *hook_arg);  /**< See on_thread_start. */
    void (*on_thread_unpark)(void *hook_arg); /**< See on_thread_start. */
    void *hook_arg;                          /**< Passed to every hook. */
    /** Start with the clock paused (for tests): time stands still while
     * tasks run and jumps to the next timer whenever every task is idle,
     * so sleeps and timeouts complete at once, deterministically.
     * Current-thread flavors only (EINVAL with multi-thread, as Tokio). */
    bool start_paused;
} eddy_runtime_opts;

/* ---- LocalRuntime ---- */

/** Creates a LocalRuntime bound to the calling thread. NULL opts means
 * defaults. NULL with errno = EINVAL for a multi-thread flavor or bad
 * options, ENOMEM, or EMFILE/ENFILE when its driver fds cannot be made. */
EDDY_API eddy_local_runtime *eddy_local_runtime_new(const eddy_runtime_opts *opts);

/** Runs fn(arg) as a task and drives every task of the runtime until it
 * returns; stores its result in *result (if not NULL).
 * Returns 0, or -ECANCELED if the task was aborted (*result as eddy_join()),
 * -EPERM off the owner thread, -EBUSY when called while this thread is
 * already driving a runtime (nested block_on), -EINVAL for NULL rt or fn,
 * -ENOMEM. Blocks the calling thread. Owner thread only. */
EDDY_API int eddy_local_runtime_block_on(eddy_local_runtime *rt, eddy_task_fn fn,
                                         void *arg, void **result);

/** Spawns onto the runtime from its owner thread, inside or outside
 * block_on; a task spawned outside starts when block_on next runs. A task
 * spawned while the runtime shuts down (by a cancelled task unwinding) is
 * never run and its join reports -ECANCELED, as with eddy_spawn().
 * NULL with errno = EPERM off the owner thread, EINVAL for NULL arguments,
 * ENOMEM. */
EDDY_API eddy_task *eddy_local_runtime_spawn_local(eddy_local_runtime *rt,
                                                   eddy_task_fn fn, void *arg);

/** Enters the runtime's context on its owner thread, so that eddy_spawn()
 * and eddy_spawn_local() from plain code spawn onto it. Guards nest and must
 * be dropped in reverse order. NULL with errno = EPERM off the owner thread. */
EDDY_API eddy_enter_guard *eddy_local_runtime_enter(eddy_local_runtime *rt);

/** A counted, thread-safe handle to the runtime. NULL with errno = EPERM
 * off the owner thread. Release it with eddy_handle_release(). */
EDDY_API eddy_handle *eddy_local_runtime_handle(eddy_local_runtime *rt);

/**@{*/
/** The three ends of a LocalRuntime; each consumes it and runs on the owner
 * thread only (-EPERM elsewhere; -EBUSY from inside block_on; the runtime
 * is then left as it was). All stop accepting new tasks, cancel every task
 * (tasks that never ran are dropped; the others see -ECANCELED from their
 * suspending calls) and drive each to its exit. They differ in how they
 * wait for blocking-pool work already running:
 *  - shutdown_timeout waits at most timeout_ms, then leaves it running
 *    (returns -ETIMEDOUT if some was still running, else 0);
 *  - shutdown_background does not wait;
 *  - free waits for all of it. NULL is ignored (returns -EINVAL). */
EDDY_API int eddy_local_runtime_shutdown_timeout(eddy_local_runtime *rt,
                                                 uint64_t timeout_ms);
EDDY_API int eddy_local_runtime_shutdown_background(eddy_local_runtime *rt);
EDDY_API int eddy_local_runtime_free(eddy_local_runtime *rt);
/**@}*/

/* ---- Runtime (current-thread or multi-thread flavor) ---- */

/** Creates a runtime of opts->flavor; EDDY_FLAVOR_DEFAULT (and NULL opts)
 * means multi-thread, as Tokio's Runtime::new. NULL with errno = EINVAL for
 * bad options (an unknown flavor, start_paused with multi-thread), ENOMEM,
 * or what creating the worker threads or driver fds reported. Any thread. */
EDDY_API eddy_runtime *eddy_runtime_new(const eddy_runtime_opts *opts);

/** Runs fn(arg) as a task on the runtime until it returns. Current-thread
 * flavor: drives the runtime on the calling thread; when another thread is
 * already driving it, waits until either that thread lets go (then drives)
 * or the task is done. Multi-thread flavor: the task runs on the workers
 * and the calling thread waits. Returns as eddy_local_runtime_block_on().
 * Any thread. */
EDDY_API int eddy_runtime_block_on(eddy_runtime *rt, eddy_task_fn fn, void *arg,
                                   void **result);

/** Enters the runtime's context on the calling thread (see
 * eddy_local_runtime_enter); tasks spawned under it start when some thread
 * next drives the runtime. NULL with errno = EINVAL for NULL rt. */
EDDY_API eddy_enter_guard *eddy_runtime_enter(eddy_runtime *rt);

/** A counted, thread-safe handle to the runtime. Any thread. */
EDDY_API eddy_handle *eddy_runtime_handle(eddy_runtime *rt);

/**@{*/
/** As the LocalRuntime ends; callable from any thread that is not driving
 * the runtime (-EBUSY from inside its block_on). */
EDDY_API int eddy_runtime_shutdown_timeout(eddy_runtime *rt, uint64_t timeout_ms);
EDDY_API int eddy_runtime_shutdown_background(eddy_runtime *rt);
EDDY_API int eddy_runtime_free(eddy_runtime *rt);
/**@}*/

/* ---- Enter guards ---- */

/** Leaves the context entered by the guard and frees it. Must be called on
 * the thread that entered, innermost guard first: returns -EPERM from
 * another thread and -EINVAL for a guard that is not the innermost (both
 * leave it in place). */
EDDY_API int eddy_enter_guard_drop(eddy_enter_guard *guard);

/* ---- Handle: the cross-thread door into a runtime ---- */

/** Spawns fn(arg) onto the handle's runtime from any thread. The task starts
 * when the runtime's thread next runs its scheduler. If the runtime has shut
 * down, the task is never run and its join reports -ECANCELED.
 * NULL with errno = EINVAL for NULL arguments, ENOMEM. */
EDDY_API eddy_task *eddy_handle_spawn(eddy_handle *h, eddy_task_fn fn, void *arg);

/** Runs fn(arg) on the handle's runtime's blocking pool, from any thread.
 * After shutdown the task is never run and its join reports -ECANCELED. */
EDDY_API eddy_task *eddy_handle_spawn_blocking(eddy_handle *h, eddy_task_fn fn,
                                               void *arg);

/** Another reference to the same runtime. NULL for NULL. Any thread. */
EDDY_API eddy_handle *eddy_handle_clone(eddy_handle *h);

/** Drops a reference. NULL is ignored. Any thread. */
EDDY_API void eddy_handle_release(eddy_handle *h);

#ifdef __cplusplus
}
#endif

#endif /* EDDY_RT_H */
