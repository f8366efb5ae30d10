/* The task state word: one atomic 64-bit value holding the lifecycle bits
 * and the reference count, so that wake, abort, join and completion can
 * race from different threads without a lock.
 *
 *   RUNNING       the task is on a CPU (or being switched in/out, or it
 *                 yielded and waits in its scheduler's deferred list)
 *   NOTIFIED      the task is in (or on its way to) exactly one run queue
 *   COMPLETE      the task finished; its result and status are final
 *   CANCELLED     eddy_abort() was called: suspending calls fail
 *   JOIN_INTEREST a join handle exists (not yet joined or detached)
 *   JOIN_WAKER    the joiner stored a waker in task->join_waker; until the
 *                 bit is cleared, only the completer may touch that field
 *   refs          bits 8..63: references (handle, owner, wakers)
 */
#ifndef EDDY_TASK_STATE_H
#define EDDY_TASK_STATE_H

#include <stdatomic.h>
#include <stdint.h>

#define TS_RUNNING       ((uint64_t)1 << 0)
#define TS_NOTIFIED      ((uint64_t)1 << 1)
#define TS_COMPLETE      ((uint64_t)1 << 2)
#define TS_CANCELLED     ((uint64_t)1 << 3)
#define TS_JOIN_INTEREST ((uint64_t)1 << 4)
#define TS_JOIN_WAKER    ((uint64_t)1 << 5)
#define TS_REF_SHIFT     8
#define TS_REF_ONE       ((uint64_t)1 << TS_REF_SHIFT)
#define TS_FLAGS_MASK    (TS_REF_ONE - 1)

static inline uint64_t ts_refs(uint64_t s)
{
    return s >> TS_REF_SHIFT;
}

#endif /* EDDY_TASK_STATE_H */
