/* The blocking pool: threads started on demand (up to a maximum) that run
 * eddy_spawn_blocking work, and leave after a keep-alive spent idle. Its
 * tasks are ordinary eddy_task objects without a scheduler, so joining one
 * suspends only the joining task. */
#ifndef EDDY_SCHED_BLOCKING_POOL_H
#define EDDY_SCHED_BLOCKING_POOL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "sched/config.h"
#include "task/queue.h"

struct eddy_shared;

typedef struct eddy_blocking_pool {
    pthread_mutex_t lock;
    pthread_cond_t work_cond; /* idle threads wait for work here */
    pthread_cond_t exit_cond; /* shutdown waits for threads to leave */
    eddy_task_queue queue;
    unsigned threads;         /* alive */
    unsigned idle;            /* waiting for work, not yet claimed */
    unsigned claimed;         /* idle threads signalled for new work */
    unsigned max_threads;
    uint64_t keep_alive_ns;
    bool shutdown;
    bool abandoned;           /* threads still running after shutdown detach themselves */
    bool has_zombie;          /* a thread that left and is not yet joined */
    pthread_t zombie;
    char name[16];
    size_t stack_size;        /* 0: the system default */
    void (*on_start)(void *);
    void (*on_stop)(void *);
    void *hook_arg;
    struct eddy_shared *owner; /* counted by each thread: the spawn context */
} eddy_blocking_pool;

typedef enum eddy_pool_wait {
    POOL_WAIT_ALL,
    POOL_WAIT_TIMEOUT,
    POOL_WAIT_NONE,
} eddy_pool_wait;

void eddy__pool_init(eddy_blocking_pool *p, const eddy_sched_config *cfg,
                     struct eddy_shared *owner);
void eddy__pool_destroy(eddy_blocking_pool *p);

/* Queues a new task (from eddy__task_new) on the pool, starting a thread if
 * none is idle. After shutdown the task is completed as cancelled without
 * running. Any thread. */
void eddy__pool_spawn(eddy_blocking_pool *p, eddy_task *t);

/* Stops the pool: queued tasks that have not started are cancelled; then
 * waits for running ones as `how` says. Returns 0, or -ETIMEDOUT if some
 * were still running when it stopped waiting. */
int eddy__pool_shutdown(eddy_blocking_pool *p, eddy_pool_wait how, uint64_t timeout_ms);

#endif /* EDDY_SCHED_BLOCKING_POOL_H */
