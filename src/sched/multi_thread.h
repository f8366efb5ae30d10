/* The multi-thread work-stealing scheduler.
 *
 * N worker threads, each with a lock-free ring of 256 migratable tasks
 * (steal_queue.h), a LIFO slot for the task it just woke (so a message's
 * receiver runs while the data is hot; at most 3 polls in a row so it cannot
 * starve the ring), a FIFO of tasks pinned to it (spawn_local), and a
 * deferred list for tasks that yielded. A shared inject queue (the runtime's
 * eddy_shared queue) takes tasks from outside the workers and overflow from
 * full rings. An idle worker steals half of another worker's ring; at most
 * half the workers search at once.
 *
 * One I/O driver and one timer wheel serve all workers: a worker that runs
 * out of work parks in the driver if no other worker holds it (and then
 * fires timers and dispatches I/O), otherwise on its own condition
 * variable; a busy worker polls the driver every event_interval ticks. The
 * timer wheel sits under a mutex so that a task may arm a timer on one
 * worker and disarm it on another after being stolen.
 *
 * Pinned tasks are never stolen: their scheduler is their worker's
 * `pinned` sched, whose wakes always go back to that worker. */
#ifndef EDDY_SCHED_MULTI_THREAD_H
#define EDDY_SCHED_MULTI_THREAD_H

#include <pthread.h>
#include <stdatomic.h>

#include "driver/park.h"
#include "driver/time.h"
#include "sched/config.h"
#include "sched/shared.h"
#include "sched/steal_queue.h"
#include "util/lock.h"

typedef struct eddy_mt_sched eddy_mt_sched;
typedef struct mt_worker mt_worker;

/* Two cache lines: the CPU fetches lines in pairs, so data written by
 * different threads stays this far apart. */
#define MT_LINE 128

/* Grouped by who writes: the owner's own fields first, then each part
 * that other threads write on its own lines, so that a stealer or a
 * waker does not take the owner's hot fields away from its core. The
 * workers array is allocated aligned (eddy__mt_init). */
struct mt_worker {
    /* Owner only, or read-mostly. */
    eddy_mt_sched *rt;
    unsigned index;
    pthread_t thread;
    eddy_sched pinned;          /* the scheduler of tasks pinned here */
    eddy_task *lifo;
    unsigned lifo_polls;
    eddy_task_queue local;      /* pinned tasks, owner only */
    eddy_task_queue deferred;   /* yielded tasks, owner only */
    bool searching;
    bool dispatching;           /* waking tasks for the driver: see push_lifo */
    uint32_t tick;
    /* Ticks until the global queue goes first, and until the driver is
     * polled (countdowns: a division per run costs more than the rest). */
    uint32_t remote_countdown, event_countdown;
    uint64_t rng;
    /* Stolen from by the other workers. */
    _Alignas(MT_LINE) eddy_steal_queue ring;
    /* Pinned tasks woken by other threads. */
    _Alignas(MT_LINE) pthread_mutex_t remote_lock;
    eddy_task_queue remote;
    atomic_size_t remote_len;
    /* Parking: unparked by other threads. */
    _Alignas(MT_LINE) pthread_mutex_t park_lock;
    pthread_cond_t park_cond;
    int park_state;             /* see multi_thread.c */
    atomic_bool on_condvar;     /* park_state is PARK_CONDVAR; read unlocked */
    bool sleeping;              /* in the idle list (guarded by idle_lock) */
};

#define MT_OWNED_SHARDS 16

/* A wheel of timers on the runtime's clock (sched/mt_time.c). */
typedef struct mt_timer_shard {
    _Alignas(MT_LINE) pthread_mutex_t lock;
    eddy_time_driver time;
} mt_timer_shard;

/* As mt_worker, grouped by how often which threads write: the read-mostly
 * part first, then each part the workers write on their own lines. The
 * runtime holding it is allocated aligned (runtime.c). */
struct eddy_mt_sched {
    eddy_sched base;            /* the scheduler of migratable tasks */
    eddy_sched_config cfg;
    unsigned nworkers;
    mt_worker *workers;
    eddy_driver *driver;
    atomic_bool shutting_down;
    atomic_uint enter_guards;
    /* Held by the worker parked in, or polling, the driver. */
    _Alignas(MT_LINE) pthread_mutex_t driver_lock;
    /* Timers: a wheel per worker; and the wheel ms at which the worker
     * parked in the driver will wake. */
    mt_timer_shard *timers;
    _Alignas(MT_LINE) _Atomic uint64_t driver_deadline;
    /* Idle coordination. */
    _Alignas(MT_LINE) pthread_mutex_t idle_lock;
    atomic_uint searching;
    atomic_uint unparked;
    atomic_uint condvar_sleepers; /* workers asleep off the driver */
    unsigned *sleepers;
    unsigned nsleepers;
    /* Every incomplete task, for shutdown: in shards by task id, so that
     * workers spawning and finishing tasks rarely want the same lock. */
    struct mt_owned_shard {
        _Alignas(MT_LINE) eddy_spinlock lock;
        eddy_task *head;
    } owned[MT_OWNED_SHARDS];
};

/* Timers (sched/mt_time.c). init: 0 or -ENOMEM; destroy: harmless after
 * a failed init. */
int eddy__mt_time_init(eddy_mt_sched *rt);
void eddy__mt_time_destroy(eddy_mt_sched *rt);
uint64_t eddy__mt_time_now(eddy_mt_sched *rt);
/* Arms in the wheel of the calling worker; disarms wherever it was armed;
 * returns whether it had fired. */
void eddy__mt_timer_arm(eddy_mt_sched *rt, eddy_timer *timer, uint64_t deadline);
bool eddy__mt_timer_disarm(eddy_mt_sched *rt, eddy_timer *timer);
/* Fires the due timers of w's wheel. */
void eddy__mt_time_fire_own(mt_worker *w);
/* ms until w's next timer, -1 for none: how long w may sleep off the
 * driver. */
int eddy__mt_time_own_timeout(mt_worker *w);
/* Around a park in the driver: begin returns the time-out for the earliest
 * timer of every wheel (-1: none); end fires every wheel. */
int eddy__mt_time_driver_park_begin(eddy_mt_sched *rt);
void eddy__mt_time_driver_park_end(eddy_mt_sched *rt);

/* Starts the workers. 0 or a negative errno. */
int eddy__mt_init(eddy_mt_sched *rt, const eddy_sched_config *cfg);

/* Cancels every task, drives each to its exit, and joins the workers.
 * From a thread that is not a worker. */
void eddy__mt_shutdown(eddy_mt_sched *rt);

/* Frees what is left after shutdown; the shared part lives on while
 * referenced. */
void eddy__mt_destroy(eddy_mt_sched *rt);

#endif /* EDDY_SCHED_MULTI_THREAD_H */
