/* Runtime objects as the rt layer sees them. */
#ifndef EDDY_RT_RT_H
#define EDDY_RT_RT_H

#include <eddy/rt.h>
#include <pthread.h>

#include "sched/current_thread.h"
#include "sched/multi_thread.h"
#include "task/thread.h"

struct eddy_local_runtime {
    eddy_ct_sched sched;
    uint64_t owner; /* the creating thread, forever */
};

/* A thread waiting in block_on for the core of a current-thread Runtime. */
typedef struct core_waiter {
    eddy_parker *parker;
    struct core_waiter *next;
} core_waiter;

struct eddy_runtime {
    bool multi;              /* multi-thread flavor: `mt`, else `sched` */
    eddy_ct_sched sched;
    eddy_mt_sched mt;
    pthread_mutex_t lock;    /* guards the fields below */
    pthread_cond_t idle;     /* signalled when block_ons drains to 0 */
    bool core_busy;          /* some thread is driving */
    unsigned block_ons;      /* block_on calls in progress */
    core_waiter *waiters;
};

struct eddy_handle {
    atomic_size_t refs;
    eddy_shared *shared;
};

struct eddy_enter_guard {
    eddy_enter_ctx ctx;
    atomic_uint *guards; /* the runtime's count of live guards */
};

/* Resolves zero-meaning-default options into a scheduler configuration.
 * 0 or -EINVAL. */
int eddy__config_from_opts(const eddy_runtime_opts *opts, eddy_sched_config *cfg);

/* Pushes an enter context for `s` on this thread, counted in `guards`.
 * NULL with errno set. */
eddy_enter_guard *eddy__enter(eddy_sched *s, atomic_uint *guards);

/* A handle on a runtime's shared part. NULL with errno = ENOMEM. */
eddy_handle *eddy__handle_new(eddy_shared *sh);

/* The spawn context of the calling thread: the running task's scheduler,
 * or the innermost entered runtime (a blocking-pool thread has its pool's
 * runtime entered). 0 or -EPERM outside any runtime. */
int eddy__current_context(eddy_enter_ctx *out);

/* The I/O driver of the current context (not counted: valid while the
 * context is). NULL with errno = EPERM outside any runtime. */
eddy_driver *eddy__current_driver(void);

/* Runs fn(arg) as the root task on a scheduler owned by this thread. */
int eddy__block_on_owned(eddy_ct_sched *s, eddy_task_fn fn, void *arg, void **result);

#endif /* EDDY_RT_RT_H */
