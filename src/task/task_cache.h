/* Task memory: a per-thread free list of task objects, so that spawning
 * in a loop (and finishing in one) does not go through malloc's slower
 * paths each time. Under AddressSanitizer every task is malloc'd and
 * freed directly, so that a use after free is still caught. */
#ifndef EDDY_TASK_TASK_CACHE_H
#define EDDY_TASK_TASK_CACHE_H

#include "task/task.h"

/* Uninitialised memory for a task, or NULL. */
eddy_task *eddy__task_alloc(void);

/* Returns a task's memory (to the calling thread's cache, or to malloc). */
void eddy__task_dealloc(eddy_task *t);

/* Frees the calling thread's cached task memory. */
void eddy__task_cache_drain(void);

#endif /* EDDY_TASK_TASK_CACHE_H */
