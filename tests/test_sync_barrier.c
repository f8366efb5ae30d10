/* Barrier, both flavors: rounds, one leader per round, abort withdraws the
 * arrival, deadlines, threads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sync_util.h"

static eddy_sync_flavor flavor;
static eddy_barrier *bar;

/* ---- rounds ---- */

enum { N = 5, ROUNDS = 10 };
static int arrived[ROUNDS], leaders[ROUNDS], bad_phase;

static void *rounds_task(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        arrived[r]++;
        int rc = eddy_barrier_wait(bar);
        if (rc < 0)
            return T_PTR(rc);
        if (arrived[r] != N) /* nobody passes before all arrived */
            bad_phase++;
        if (rc == 1)
            leaders[r]++;
    }
    return NULL;
}

static void *root_rounds(void *arg)
{
    (void)arg;
    bar = eddy_barrier_new(flavor, N);
    cr_expect_not_null(bar);
    eddy_task *t[N];
    for (int i = 0; i < N; i++)
        t[i] = spawn(rounds_task, NULL);
    for (int i = 0; i < N; i++)
        cr_expect_eq(join_int(t[i], 0), 0);
    cr_expect_eq(bad_phase, 0);
    for (int r = 0; r < ROUNDS; r++)
        cr_expect_eq(leaders[r], 1, "round %d had %d leaders", r, leaders[r]);
    cr_expect_eq(eddy_barrier_free(bar), 0);
    return NULL;
}

static void rounds(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_rounds, NULL);
}
BOTH_FLAVORS(barrier, rounds_and_leaders, rounds)

/* ---- abort withdraws the arrival ---- */

static int passed;

static void *wait_once(void *arg)
{
    (void)arg;
    int rc = eddy_barrier_wait(bar);
    if (rc >= 0)
        passed++;
    return T_PTR(rc);
}

static void *root_abort(void *arg)
{
    (void)arg;
    bar = eddy_barrier_new(flavor, 3);
    eddy_task *a = spawn(wait_once, NULL);
    eddy_task *b = spawn(wait_once, NULL);
    for (int i = 0; i < 3; i++)
        eddy_yield();
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    /* Two arrived, one withdrew: the next arrival does not complete it. */
    eddy_task *c = spawn(wait_once, NULL);
    for (int i = 0; i < 3; i++)
        eddy_yield();
    cr_expect_eq(passed, 0, "the withdrawn arrival was counted");
    int leader = eddy_barrier_wait(bar);
    cr_expect_eq(leader, 1);
    int sum = join_int(b, 0) + join_int(c, 0);
    cr_expect_eq(sum, 0, "only one leader");
    cr_expect_eq(passed, 2);
    cr_expect_eq(eddy_barrier_free(bar), 0);
    return NULL;
}

static void abort_(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_abort, NULL);
}
BOTH_FLAVORS(barrier, abort_withdraws_arrival, abort_)

/* ---- deadline, n = 0 and 1, misuse ---- */

static void *root_deadline(void *arg)
{
    (void)arg;
    bar = eddy_barrier_new(flavor, 2);
    cr_expect_eq(eddy_barrier_wait_until(bar, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_barrier_free(bar), 0, "the timed-out waiter was left behind");
    bar = eddy_barrier_new(flavor, 2);
    eddy_task *a = spawn(wait_once, NULL);
    eddy_yield();
    cr_expect_eq(eddy_barrier_free(bar), -EBUSY);
    cr_expect_eq(eddy_barrier_wait_until(bar, eddy_deadline_in(1000)), 1);
    cr_expect_eq(join_int(a, 0), 0);
    cr_expect_eq(eddy_barrier_free(bar), 0);
    eddy_barrier *one = eddy_barrier_new(flavor, 0); /* acts as 1 */
    cr_expect_eq(eddy_barrier_wait(one), 1);
    cr_expect_eq(eddy_barrier_wait(one), 1);
    cr_expect_eq(eddy_barrier_free(one), 0);
    return NULL;
}

static void deadline(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_deadline, NULL);
}
BOTH_FLAVORS(barrier, deadline_and_sizes, deadline)

/* ---- threads (shared): runtimes and plain threads meet each round ---- */

enum { THREADS = 3, TASKS = 3, PLAIN = 2, MT_ROUNDS = 50,
       PARTIES = THREADS * TASKS + PLAIN };
static atomic_int mt_arrived[MT_ROUNDS], mt_leaders[MT_ROUNDS], mt_bad;

static void *mt_task(void *arg)
{
    (void)arg;
    for (int r = 0; r < MT_ROUNDS; r++) {
        atomic_fetch_add(&mt_arrived[r], 1);
        int rc = eddy_barrier_wait(bar);
        if (rc < 0)
            return T_PTR(rc);
        if (atomic_load(&mt_arrived[r]) != PARTIES)
            atomic_fetch_add(&mt_bad, 1);
        if (rc == 1)
            atomic_fetch_add(&mt_leaders[r], 1);
    }
    return NULL;
}

static void *mt_root(void *arg)
{
    (void)arg;
    eddy_task *t[TASKS];
    int bad = 0;
    for (int i = 0; i < TASKS; i++)
        t[i] = eddy_spawn(mt_task, NULL);
    for (int i = 0; i < TASKS; i++) {
        void *r = NULL;
        if (!t[i] || eddy_join(t[i], &r) != 0 || r)
            bad++;
    }
    return T_PTR(bad);
}

static void *mt_thread(void *arg)
{
    (void)arg;
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    void *res = T_PTR(-1);
    if (rt && eddy_local_runtime_block_on(rt, mt_root, NULL, &res) != 0)
        res = T_PTR(-1);
    if (rt)
        eddy_local_runtime_free(rt);
    return res;
}

Test(barrier, many_threads_shared, .timeout = T_TIMEOUT)
{
    bar = eddy_barrier_new(EDDY_SYNC_SHARED, PARTIES);
    pthread_t th[THREADS + PLAIN];
    for (int i = 0; i < THREADS; i++)
        th[i] = t_thread_start(mt_thread, NULL);
    for (int i = THREADS; i < THREADS + PLAIN; i++)
        th[i] = t_thread_start(mt_task, NULL);
    for (int i = 0; i < THREADS + PLAIN; i++)
        cr_assert_eq(T_INT(t_thread_join(th[i])), 0);
    cr_assert_eq(atomic_load(&mt_bad), 0);
    for (int r = 0; r < MT_ROUNDS; r++)
        cr_assert_eq(atomic_load(&mt_leaders[r]), 1);
    cr_assert_eq(eddy_barrier_free(bar), 0);
}
