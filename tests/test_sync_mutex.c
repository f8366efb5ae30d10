/* Mutex, both flavors: mutual exclusion across suspensions, FIFO hand-off,
 * try_lock, unlock misuse, abort while waiting (the lock goes to the next
 * waiter), deadlines, many threads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sync_util.h"

static eddy_sync_flavor flavor;
static eddy_mutex *mu;

/* ---- mutual exclusion while the holder suspends ---- */

enum { WORKERS = 20, ROUNDS = 50 };
static int inside, max_inside, total;

static void *worker(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        if (eddy_mutex_lock(mu) != 0)
            return T_PTR(-1);
        inside++;
        if (inside > max_inside)
            max_inside = inside;
        int v = total;
        eddy_yield(); /* suspend while holding it */
        total = v + 1;
        inside--;
        eddy_mutex_unlock(mu);
    }
    return NULL;
}

static void *root_exclusion(void *arg)
{
    (void)arg;
    mu = eddy_mutex_new(flavor);
    cr_expect_not_null(mu);
    eddy_task *t[WORKERS];
    for (int i = 0; i < WORKERS; i++)
        t[i] = spawn(worker, NULL);
    for (int i = 0; i < WORKERS; i++)
        cr_expect_eq(join_int(t[i], 0), 0);
    cr_expect_eq(max_inside, 1);
    cr_expect_eq(total, WORKERS * ROUNDS);
    cr_expect_eq(eddy_mutex_free(mu), 0);
    return NULL;
}

static void exclusion(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_exclusion, NULL);
}
BOTH_FLAVORS(mutex, exclusion_across_suspension, exclusion)

/* ---- FIFO ---- */

static int order[8], norder;

static void *locker(void *arg)
{
    int rc = eddy_mutex_lock(mu);
    if (rc == 0) {
        order[norder++] = T_INT(arg);
        eddy_mutex_unlock(mu);
    }
    return T_PTR(rc);
}

static void *root_fifo(void *arg)
{
    (void)arg;
    mu = eddy_mutex_new(flavor);
    cr_expect_eq(eddy_mutex_lock(mu), 0);
    eddy_task *t[5];
    for (int i = 0; i < 5; i++) {
        t[i] = spawn(locker, T_PTR(i));
        eddy_yield(); /* so they queue in order */
    }
    cr_expect_eq(eddy_mutex_try_lock(mu), -EAGAIN);
    cr_expect_eq(eddy_mutex_unlock(mu), 0);
    for (int i = 0; i < 5; i++)
        cr_expect_eq(join_int(t[i], 0), 0);
    for (int i = 0; i < 5; i++)
        cr_expect_eq(order[i], i, "lock #%d went to %d", i, order[i]);
    cr_expect_eq(eddy_mutex_free(mu), 0);
    return NULL;
}

FLAVOR_TEST(mutex, fifo)

/* ---- try_lock, unlock misuse, free while held ---- */

static void *root_try(void *arg)
{
    (void)arg;
    mu = eddy_mutex_new(flavor);
    cr_expect_eq(eddy_mutex_unlock(mu), -EINVAL, "unlock of an unlocked mutex");
    cr_expect_eq(eddy_mutex_try_lock(mu), 0);
    cr_expect_eq(eddy_mutex_try_lock(mu), -EAGAIN);
    cr_expect_eq(eddy_mutex_free(mu), -EBUSY);
    cr_expect_eq(eddy_mutex_unlock(mu), 0);
    cr_expect_eq(eddy_mutex_unlock(mu), -EINVAL);
    cr_expect_eq(eddy_mutex_lock(mu), 0);
    cr_expect_eq(eddy_mutex_unlock(mu), 0);
    cr_expect_eq(eddy_mutex_free(mu), 0);
    return NULL;
}

static void try_(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_try, NULL);
}
BOTH_FLAVORS(mutex, try_lock_and_misuse, try_)

/* ---- abort while waiting ---- */

static void *root_abort(void *arg)
{
    (void)arg;
    mu = eddy_mutex_new(flavor);
    eddy_mutex_lock(mu);
    eddy_task *a = spawn(locker, T_PTR(1));
    eddy_task *b = spawn(locker, T_PTR(2));
    eddy_task *c = spawn(locker, T_PTR(3));
    for (int i = 0; i < 3; i++)
        eddy_yield();
    eddy_abort(b); /* in the middle of the queue */
    cr_expect_eq(join_int(b, -ECANCELED), -ECANCELED);
    eddy_mutex_unlock(mu);
    cr_expect_eq(join_int(a, 0), 0);
    cr_expect_eq(join_int(c, 0), 0);
    cr_expect_eq(norder, 2);
    cr_expect_eq(order[0], 1);
    cr_expect_eq(order[1], 3);
    cr_expect_eq(eddy_mutex_try_lock(mu), 0, "the mutex was left locked");
    eddy_mutex_unlock(mu);
    cr_expect_eq(eddy_mutex_free(mu), 0);
    return NULL;
}

static void abort_(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_abort, NULL);
}
BOTH_FLAVORS(mutex, abort_while_waiting, abort_)

/* The lock was handed to the waiter (not yet run) when it was aborted: it
 * must go to the next waiter. */
static void *root_abort_after_handoff(void *arg)
{
    (void)arg;
    mu = eddy_mutex_new(flavor);
    eddy_mutex_lock(mu);
    eddy_task *a = spawn(locker, T_PTR(1));
    eddy_task *b = spawn(locker, T_PTR(2));
    for (int i = 0; i < 3; i++)
        eddy_yield();
    eddy_mutex_unlock(mu); /* handed to a */
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    cr_expect_eq(join_int(b, 0), 0);
    cr_expect_eq(norder, 1);
    cr_expect_eq(order[0], 2);
    cr_expect_eq(eddy_mutex_free(mu), 0, "the mutex was left locked");
    return NULL;
}

FLAVOR_TEST(mutex, abort_after_handoff)

/* ---- deadline ---- */

static void *root_deadline(void *arg)
{
    (void)arg;
    mu = eddy_mutex_new(flavor);
    eddy_mutex_lock(mu);
    cr_expect_eq(eddy_mutex_lock_until(mu, eddy_deadline_in(5)), -ETIMEDOUT);
    eddy_mutex_unlock(mu);
    cr_expect_eq(eddy_mutex_lock_until(mu, eddy_deadline_in(5)), 0);
    eddy_mutex_unlock(mu);
    cr_expect_eq(eddy_mutex_free(mu), 0);
    return NULL;
}

FLAVOR_TEST(mutex, deadline)

/* ---- many threads (shared): runtimes and plain threads ---- */

enum { THREADS = 4, TASKS = 8, ITER = 200 };
static long counter; /* guarded by mu only */

static void *mt_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < ITER; i++) {
        if (eddy_mutex_lock(mu) != 0)
            return T_PTR(-1);
        long v = counter;
        if ((i & 7) == 0)
            eddy_yield();
        counter = v + 1;
        eddy_mutex_unlock(mu);
    }
    return NULL;
}

static void *mt_root(void *arg)
{
    (void)arg;
    eddy_task *t[TASKS];
    int bad = 0;
    for (int i = 0; i < TASKS; i++)
        t[i] = eddy_spawn(mt_worker, NULL);
    for (int i = 0; i < TASKS; i++) {
        void *r = NULL;
        if (!t[i] || eddy_join(t[i], &r) != 0 || r != NULL)
            bad++;
    }
    return T_PTR(bad);
}

static void *mt_thread(void *arg)
{
    (void)arg;
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    if (!rt)
        return T_PTR(-1);
    void *res = NULL;
    int rc = eddy_local_runtime_block_on(rt, mt_root, NULL, &res);
    eddy_local_runtime_free(rt);
    return rc ? T_PTR(-1) : res;
}

static void *plain_worker(void *arg)
{
    return mt_worker(arg);
}

Test(mutex, many_threads_shared, .timeout = T_TIMEOUT)
{
    mu = eddy_mutex_new(EDDY_SYNC_SHARED);
    pthread_t th[THREADS + 2];
    for (int i = 0; i < THREADS; i++)
        th[i] = t_thread_start(mt_thread, NULL);
    for (int i = THREADS; i < THREADS + 2; i++)
        th[i] = t_thread_start(plain_worker, NULL);
    for (int i = 0; i < THREADS + 2; i++)
        cr_assert_eq(T_INT(t_thread_join(th[i])), 0, "thread %d failed", i);
    cr_assert_eq(counter, (long)(THREADS * TASKS + 2) * ITER);
    cr_assert_eq(eddy_mutex_free(mu), 0);
}
