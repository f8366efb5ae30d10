/** @file
 * eddy — time: the clock, sleeps, timeouts, intervals.
 *
 * Each runtime thread has a hierarchical timer wheel (6 levels of 64 slots,
 * 1 ms resolution; deadlines are rounded up to the next millisecond). The
 * scheduler parks until the next deadline.
 *
 * Instants are nanoseconds on a monotonic clock. Inside a runtime started
 * with eddy_runtime_opts.start_paused, the clock is that runtime's virtual
 * clock: it stands still while tasks run and jumps to the next timer when
 * every task is idle, so tests of timeouts finish at once and always alike.
 */
#ifndef EDDY_TIME_H
#define EDDY_TIME_H

#include "common.h"
#include "task.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A point in time, in nanoseconds of the monotonic clock. */
typedef uint64_t eddy_instant;

/** No deadline: waits with this deadline never time out. */
#define EDDY_INSTANT_NEVER UINT64_MAX

/** The current instant: the runtime's clock inside a task (virtual when the
 * runtime's time is paused), the monotonic clock elsewhere. Any thread. */
EDDY_API eddy_instant eddy_now(void);

/** The instant `ms` milliseconds from eddy_now(), saturating at
 * EDDY_INSTANT_NEVER. Any thread. */
EDDY_API eddy_instant eddy_deadline_in(uint64_t ms);

/** Suspends the calling task for at least `ms` milliseconds. Returns 0, or
 * -ECANCELED if the task is aborted. From a plain thread, sleeps the thread
 * (and cannot be cancelled). */
EDDY_API int eddy_sleep(uint64_t ms);

/** As eddy_sleep, until the instant `deadline`. */
EDDY_API int eddy_sleep_until(eddy_instant deadline);

/** Runs fn(arg) as a task of the current runtime with a time limit of `ms`.
 * Returns 0 with its result in *result (if not NULL); -ETIMEDOUT if the
 * limit passed first: the task is then aborted, and waited for, so that it
 * has unwound before this returns; -ECANCELED if the calling task was
 * aborted (the inner task too); errors as eddy_spawn(). Suspends. */
EDDY_API int eddy_timeout(uint64_t ms, eddy_task_fn fn, void *arg, void **result);

/** As eddy_join, but gives up at `deadline`: -ETIMEDOUT then, and the
 * handle is NOT consumed (join it again, detach or abort it). */
EDDY_API int eddy_join_until(eddy_task *task, void **result, eddy_instant deadline);

/* ---- Intervals ---- */

/** A periodic timer; see eddy_interval_new(). */
typedef struct eddy_interval eddy_interval;

/** What an interval does when ticks were missed (the task was late). */
typedef enum eddy_missed_tick {
    EDDY_MISSED_TICK_BURST = 0, /**< fire the missed ticks at once, then keep the
                                   original schedule (Tokio's default) */
    EDDY_MISSED_TICK_DELAY = 1, /**< next tick one period after the late one */
    EDDY_MISSED_TICK_SKIP = 2,  /**< skip missed ticks, keep to the grid */
} eddy_missed_tick;

/** An interval ticking every `period_ms` (> 0), the first tick at once.
 * NULL with errno = EINVAL for period 0, ENOMEM. Not thread-bound, but not
 * for two tasks at once. */
EDDY_API eddy_interval *eddy_interval_new(uint64_t period_ms, eddy_missed_tick behavior);

/** As eddy_interval_new, with the first tick at `start`. */
EDDY_API eddy_interval *eddy_interval_new_at(eddy_instant start, uint64_t period_ms,
                                             eddy_missed_tick behavior);

/** Waits for the next tick. Returns 0 and the instant the tick was scheduled
 * for in *at (if not NULL); -ECANCELED if the task is aborted. Suspends. */
EDDY_API int eddy_interval_tick(eddy_interval *iv, eddy_instant *at);

/** Restarts the schedule: the next tick one period from now. */
EDDY_API void eddy_interval_reset(eddy_interval *iv);

/** Frees the interval. NULL is ignored. */
EDDY_API void eddy_interval_free(eddy_interval *iv);

#ifdef __cplusplus
}
#endif

#endif /* EDDY_TIME_H */
