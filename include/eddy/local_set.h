/** @file
 * eddy — LocalSet: a set of thread-pinned tasks driven inside another
 * runtime, on the thread that owns the set.
 *
 * The set belongs to the thread that created it. Its tasks run only on
 * that thread, so they may share state that is not thread-safe, and they
 * run only while some task on that thread drives the set with
 * eddy_local_set_run_until() or eddy_local_set_wait() (or through
 * eddy_local_set_block_on()). Inside a set task, eddy_spawn_local() and
 * eddy_spawn() spawn into the set.
 *
 * Driving: at most 61 set tasks run per turn before the driving task
 * yields to its own runtime, and the set's remote queue (wakes from other
 * threads) is served first every 31 turns, as Tokio does. On a
 * multi-thread runtime the driving task pins itself to its worker while it
 * drives the set. Timers and I/O of set tasks belong to the runtime that
 * drives the set at the time.
 *
 * Every function here must be called on the owner thread: elsewhere it
 * returns -EPERM (or NULL with errno = EPERM) and changes nothing.
 */
#ifndef EDDY_LOCAL_SET_H
#define EDDY_LOCAL_SET_H

#include "common.h"
#include "rt.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A set of thread-pinned tasks driven inside another runtime. */
typedef struct eddy_local_set eddy_local_set;

/** A new, empty set owned by the calling thread. NULL with errno = ENOMEM. */
EDDY_API eddy_local_set *eddy_local_set_new(void);

/** Spawns fn(arg) into the set; it starts when the set is next driven.
 * NULL with errno = EPERM off the owner thread, EINVAL for NULL arguments,
 * ENOMEM. Does not suspend. */
EDDY_API eddy_task *eddy_local_set_spawn_local(eddy_local_set *set, eddy_task_fn fn, void *arg);

/** Runs fn(arg) as a task of the set and drives the set's tasks until it
 * returns; the result goes to *result (if not NULL). The other tasks of
 * the set stay in it (they run again when the set is next driven).
 * Must be called from a task on the owner thread.
 * Returns 0, -ECANCELED (fn's task was aborted, or the calling task was:
 * fn's task is then aborted and run to its exit before this returns),
 * -EPERM (off the owner thread or outside a task), -EBUSY (the set is
 * already being driven), -EINVAL, -ENOMEM. Suspends. */
EDDY_API int eddy_local_set_run_until(eddy_local_set *set, eddy_task_fn fn, void *arg,
                                      void **result);

/** Drives the set until every task in it has finished. From a task on the
 * owner thread. Returns 0, -ECANCELED if the calling task is aborted (the
 * set keeps its tasks), -EPERM, -EBUSY, -EINVAL. Suspends. */
EDDY_API int eddy_local_set_wait(eddy_local_set *set);

/** eddy_runtime_block_on(rt, <run_until(set, fn, arg)>): drives a
 * current-thread runtime on the calling thread (the owner) with the set
 * inside it. Returns as eddy_local_set_run_until, plus -ENOTSUP for a
 * multi-thread runtime (run the set inside one of its tasks instead) and
 * -EPERM if another thread was driving the runtime at the time. Blocks. */
EDDY_API int eddy_local_set_block_on(eddy_local_set *set, eddy_runtime *rt, eddy_task_fn fn,
                                     void *arg, void **result);

/** Cancels every task in the set, runs each to its exit on this (the
 * owner) thread, and frees the set; their joins report -ECANCELED.
 * Returns 0, -EPERM off the owner thread (the set is left as it was),
 * -EBUSY while the set is being driven, -EINVAL for NULL. May suspend (in
 * a task) or block (on a plain thread) while wakes from other threads of
 * its tasks are still on their way. */
EDDY_API int eddy_local_set_free(eddy_local_set *set);

#ifdef __cplusplus
}
#endif

#endif /* EDDY_LOCAL_SET_H */
