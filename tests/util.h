/* Shared helpers for the eddy test suite (header-only).
 *
 * Conventions used by every test file:
 *  - Criterion runs each Test() in its own child process, so file-scope
 *    state starts zeroed in every test.
 *  - Fatal assertions (cr_assert*) are made only on the test's own thread
 *    and outside tasks; inside tasks that run on the test thread we use the
 *    non-fatal cr_expect*, and other threads only record what they saw
 *    (atomics), which the test body asserts afterwards.
 *  - No test asserts a timing. Wait loops are bounded by a generous deadline
 *    only so that a broken runtime fails the test with a message instead of
 *    hitting the Criterion timeout.
 */
#ifndef EDDY_TEST_UTIL_H
#define EDDY_TEST_UTIL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <criterion/criterion.h>
#include <eddy.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Per-test Criterion timeout, in seconds. */
#define T_TIMEOUT 30
/* How long a wait loop may spin before the test gives up, in seconds. */
#define T_WAIT_SECONDS 20

#define T_PTR(i) ((void *)(intptr_t)(i))
#define T_INT(p) ((int)(intptr_t)(p))

static inline struct timespec t_deadline(int seconds)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += seconds;
    return ts;
}

static inline bool t_past(const struct timespec *d)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > d->tv_sec ||
           (now.tv_sec == d->tv_sec && now.tv_nsec >= d->tv_nsec);
}

static inline void t_sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* From a task: yield until `cond` holds. Sets `ok` to whether it holds at the
 * end; gives up when eddy_yield() fails (e.g. -ECANCELED) or after
 * T_WAIT_SECONDS. Also yields the OS thread so that other threads the
 * condition depends on get to run on a small machine. */
#define T_YIELD_UNTIL(ok, cond)                                              \
    do {                                                                     \
        struct timespec t_d__ = t_deadline(T_WAIT_SECONDS);                  \
        unsigned t_n__ = 0;                                                  \
        while (!(cond)) {                                                    \
            if (eddy_yield() != 0 || t_past(&t_d__))                         \
                break;                                                       \
            if ((++t_n__ & 63u) == 0)                                        \
                sched_yield();                                               \
        }                                                                    \
        (ok) = (cond);                                                       \
    } while (0)

/* From a plain thread: wait (sleeping briefly) until `cond` holds or
 * T_WAIT_SECONDS pass; sets `ok`. */
#define T_SPIN_UNTIL(ok, cond)                                               \
    do {                                                                     \
        struct timespec t_d__ = t_deadline(T_WAIT_SECONDS);                  \
        while (!(cond) && !t_past(&t_d__))                                   \
            t_sleep_ms(1);                                                   \
        (ok) = (cond);                                                       \
    } while (0)

/* Waits on a semaphore for at most T_WAIT_SECONDS; true if acquired. */
static inline bool t_sem_wait(sem_t *s)
{
    struct timespec d;
    clock_gettime(CLOCK_REALTIME, &d);
    d.tv_sec += T_WAIT_SECONDS;
    for (;;) {
        if (sem_timedwait(s, &d) == 0)
            return true;
        if (errno != EINTR)
            return false;
    }
}

/* A LocalRuntime with default options; fails the test if it can't be made. */
static inline eddy_local_runtime *t_local_rt(void)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    cr_assert_not_null(rt, "eddy_local_runtime_new: %s", strerror(errno));
    return rt;
}

static inline eddy_local_runtime *t_local_rt_opts(const eddy_runtime_opts *o)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(o);
    cr_assert_not_null(rt, "eddy_local_runtime_new: %s", strerror(errno));
    return rt;
}

/* block_on on rt, asserting success; returns the root task's result. */
static inline void *t_block_on(eddy_local_runtime *rt, eddy_task_fn fn, void *arg)
{
    void *res = NULL;
    int rc = eddy_local_runtime_block_on(rt, fn, arg, &res);
    cr_assert_eq(rc, 0, "eddy_local_runtime_block_on: %d (%s)", rc,
                 eddy_strerror(rc));
    return res;
}

static inline void t_free_rt(eddy_local_runtime *rt)
{
    int rc = eddy_local_runtime_free(rt);
    cr_assert_eq(rc, 0, "eddy_local_runtime_free: %d (%s)", rc, eddy_strerror(rc));
}

/* Creates a LocalRuntime, runs fn(arg) as its root task, frees it. */
static inline void *t_run_local(eddy_task_fn fn, void *arg)
{
    eddy_local_runtime *rt = t_local_rt();
    void *res = t_block_on(rt, fn, arg);
    t_free_rt(rt);
    return res;
}

/* A current-thread eddy_runtime. */
static inline eddy_runtime *t_ct_rt(void)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_CURRENT_THREAD };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt, "eddy_runtime_new(current_thread): %s", strerror(errno));
    return rt;
}

/* A multi-thread eddy_runtime: `workers` workers, stacks of stack_size
 * bytes (0: the default) with guard mode `guard`. */
static inline eddy_runtime *t_mt_rt(unsigned workers, size_t stack_size,
                                    eddy_stack_guard guard)
{
    eddy_runtime_opts o = {
        .flavor = EDDY_FLAVOR_MULTI_THREAD,
        .worker_threads = workers,
        .stack_size = stack_size,
        .stack_guard = guard,
    };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt, "eddy_runtime_new(multi_thread): %s", strerror(errno));
    return rt;
}

/* block_on on an eddy_runtime, asserting success; returns the root task's
 * result. */
static inline void *t_rt_block_on(eddy_runtime *rt, eddy_task_fn fn, void *arg)
{
    void *r = NULL;
    int rc = eddy_runtime_block_on(rt, fn, arg, &r);
    cr_assert_eq(rc, 0, "eddy_runtime_block_on: %d (%s)", rc, eddy_strerror(rc));
    return r;
}

static inline pthread_t t_thread_start(void *(*fn)(void *), void *arg)
{
    pthread_t th;
    int rc = pthread_create(&th, NULL, fn, arg);
    cr_assert_eq(rc, 0, "pthread_create: %s", strerror(rc));
    return th;
}

static inline void *t_thread_join(pthread_t th)
{
    void *res = NULL;
    int rc = pthread_join(th, &res);
    cr_assert_eq(rc, 0, "pthread_join: %s", strerror(rc));
    return res;
}

/* Task/thread bodies reused across files. */

/* Returns its argument. */
static inline void *t_identity(void *arg) { return arg; }

/* Sets *(atomic_int *)arg to 1 and returns arg. */
static inline void *t_set_flag(void *arg)
{
    atomic_store((atomic_int *)arg, 1);
    return arg;
}

/* From a task: sleeps 5 ms, then sets *(atomic_int *)arg to 1, for tests
 * where a timer must get to fire. Returns whether the sleep succeeded. */
static inline void *t_sleep_then_set_flag(void *arg)
{
    int rc = eddy_sleep(5);
    atomic_store((atomic_int *)arg, 1);
    return T_PTR(rc == 0);
}

/* What t_yield_until_aborted saw. */
typedef struct t_yield_count {
    atomic_int yields;
    atomic_int saw_abort; /* the yield that ended it said -ECANCELED */
} t_yield_count;

/* From a task: yields until a yield fails, counting into *(t_yield_count *)
 * arg. An aborted task's join says -ECANCELED whatever it did; saw_abort
 * tells that the yield itself saw the abort, however it was resumed. */
static inline void *t_yield_until_aborted(void *arg)
{
    t_yield_count *c = arg;
    int rc;
    while ((rc = eddy_yield()) == 0)
        atomic_fetch_add(&c->yields, 1);
    if (rc == -ECANCELED)
        atomic_store(&c->saw_abort, 1);
    return NULL;
}

/* Two tasks that only ever wake each other and park, for the tests of
 * hand-offs: each park hands the thread straight to the partner, and the
 * pair stops only when both flags it watches are set, by work that the
 * scheduler must still find room for. Spawn t_pair_member with
 * &pair->side[0] and &pair->side[1]. */
typedef struct t_pair t_pair;
typedef struct t_pair_side {
    t_pair *pair;
    int me;
} t_pair_side;
struct t_pair {
    eddy_notify *bell[2];
    atomic_int *flag[2];
    atomic_int rounds;
    t_pair_side side[2];
};

static inline void t_pair_init(t_pair *p, atomic_int *flag_a, atomic_int *flag_b)
{
    for (int i = 0; i < 2; i++) {
        p->bell[i] = eddy_notify_new(EDDY_SYNC_LOCAL);
        cr_assert_not_null(p->bell[i], "eddy_notify_new: %s", strerror(errno));
        p->side[i] = (t_pair_side){ p, i };
    }
    p->flag[0] = flag_a;
    p->flag[1] = flag_b;
    atomic_init(&p->rounds, 0);
}

static inline bool t_pair_should_stop(const t_pair *p)
{
    return atomic_load(p->flag[0]) && atomic_load(p->flag[1]);
}

/* Returns 1 once stopped, 0 if a notify call failed. */
static inline void *t_pair_member(void *arg)
{
    t_pair_side *side = arg;
    t_pair *p = side->pair;
    int me = side->me;
    while (!t_pair_should_stop(p)) {
        if (me == 0 && eddy_notify_one(p->bell[1]) != 0)
            return T_PTR(0);
        if (eddy_notify_wait(p->bell[me]) != 0)
            return T_PTR(0);
        if (me == 1 && eddy_notify_one(p->bell[0]) != 0)
            return T_PTR(0);
        atomic_fetch_add(&p->rounds, 1);
    }
    eddy_notify_one(p->bell[1 - me]); /* the partner may be waiting */
    return T_PTR(1);
}

/* After both members ended: asserts that they took turns, frees the bells. */
static inline void t_pair_finish(t_pair *p)
{
    cr_assert_gt(atomic_load(&p->rounds), 0);
    cr_assert_eq(eddy_notify_free(p->bell[0]), 0);
    cr_assert_eq(eddy_notify_free(p->bell[1]), 0);
}

#endif /* EDDY_TEST_UTIL_H */
