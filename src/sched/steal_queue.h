/* A worker's bounded run queue (Tokio's shape): a ring of 4096 task
 * pointers that its owner pushes to and pops from without locks, and that
 * idle workers steal half of at a time.
 *
 * 4096, not Tokio's 256: a worker's timers fire together, a millisecond's
 * worth at each poll, and every wake beyond the ring's room went through
 * the inject queue (linked, locked, walked back out by the next worker).
 * With 256, in the timers workload a thousand or so timers fire per poll;
 * with 4096 (64 KiB per worker, slots and hints) they fit, and that
 * workload on two workers ran 500 -> 400 ns per task (1024: 520).
 *
 * head packs two 16-bit positions: `real`, where the owner pops, and
 * `steal`, where a steal in progress started (equal to real when no steal
 * is in progress). Only the owner writes tail. A stealer claims a range by
 * moving real forward, copies the tasks, then sets steal = real to release
 * the slots; while a steal is in progress the owner may pop but not wrap
 * over the stolen slots, and no second stealer may start. */
#ifndef EDDY_SCHED_STEAL_QUEUE_H
#define EDDY_SCHED_STEAL_QUEUE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "task/queue.h"

#define STEAL_QUEUE_CAP 4096u

typedef struct eddy_steal_queue {
    _Atomic uint32_t head;
    _Atomic uint16_t tail;
    _Atomic(eddy_task *) buf[STEAL_QUEUE_CAP];
    /* Owner only: for each slot, where its task will resume (its saved
     * stack pointer), read when the task was queued; a pop prefetches the
     * next one's. The low bit, free in an aligned stack pointer, marks a
     * task that parked rather than yielded: its stack has had time to go
     * cold, and more of it is fetched (eddy__ctx_prefetch_resume). A hint
     * whose task was stolen meanwhile is stale, and harmless: a prefetch
     * reads nothing and never faults. */
    const void *hint[STEAL_QUEUE_CAP];
} eddy_steal_queue;

void eddy__steal_queue_init(eddy_steal_queue *q);

/* Owner: appends t. When the ring is full, moves half of it plus t to
 * `overflow` (the caller then pushes that batch to the shared queue) and
 * returns true. */
bool eddy__steal_queue_push(eddy_steal_queue *q, eddy_task *t, eddy_task_queue *overflow);

/* Owner: takes the oldest task, or NULL, and starts fetching the saved
 * frame of the one after it (whose stack has most likely gone cold while
 * it waited: the switch into it would stall on that line). */
eddy_task *eddy__steal_queue_pop(eddy_steal_queue *q);

/* Any thread: a guess at the number of queued tasks. */
unsigned eddy__steal_queue_len(eddy_steal_queue *q);

/* Stealer (the owner of dst, whose queue must be empty): moves half of
 * src's tasks into dst and returns one of them to run, or NULL. */
eddy_task *eddy__steal_queue_steal(eddy_steal_queue *src, eddy_steal_queue *dst);

#endif /* EDDY_SCHED_STEAL_QUEUE_H */
