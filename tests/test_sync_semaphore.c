/* Semaphore, both flavors: acquire/try/release, FIFO order, close, abort
 * while waiting (the permit goes to the next waiter), deadlines, plain
 * threads, misuse. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sync_util.h"

/* Joins t; returns the task's own return value as an int. */
static eddy_sync_flavor flavor;
static eddy_semaphore *sem;

/* ---- basics ---- */

static void *root_basics(void *arg)
{
    (void)arg;
    eddy_semaphore *s = eddy_semaphore_new(flavor, 3);
    cr_expect_not_null(s);
    cr_expect_eq(eddy_semaphore_available(s), 3);
    cr_expect_eq(eddy_semaphore_try_acquire(s, 2), 0);
    cr_expect_eq(eddy_semaphore_try_acquire(s, 2), -EAGAIN);
    cr_expect_eq(eddy_semaphore_available(s), 1);
    cr_expect_eq(eddy_semaphore_acquire(s, 1), 0);
    cr_expect_eq(eddy_semaphore_acquire(s, 0), 0, "n = 0 succeeds at once");
    cr_expect_eq(eddy_semaphore_available(s), 0);
    cr_expect_eq(eddy_semaphore_release(s, 3), 0);
    cr_expect_eq(eddy_semaphore_acquire(s, 3), 0);
    cr_expect_eq(eddy_semaphore_release(s, 5), 0, "release may add permits");
    cr_expect_eq(eddy_semaphore_available(s), 5);
    cr_expect_eq(eddy_semaphore_is_closed(s), 0);
    cr_expect_eq(eddy_semaphore_free(s), 0);
    return NULL;
}

FLAVOR_TEST(semaphore, basics)

/* ---- FIFO: a large request at the head holds back small ones ---- */

static int order[8], norder;

static void *acquirer(void *arg)
{
    size_t n = (size_t)T_INT(arg);
    int rc = eddy_semaphore_acquire(sem, n);
    if (rc == 0)
        order[norder++] = (int)n;
    return T_PTR(rc);
}

static void *root_fifo(void *arg)
{
    (void)arg;
    bool ok;
    sem = eddy_semaphore_new(flavor, 0);
    eddy_task *a = spawn(acquirer, T_PTR(3));
    eddy_task *b = spawn(acquirer, T_PTR(1));
    eddy_task *c = spawn(acquirer, T_PTR(2));
    for (int i = 0; i < 3; i++)
        eddy_yield();
    cr_expect_eq(norder, 0);
    eddy_semaphore_release(sem, 2); /* not enough for the head (3) */
    for (int i = 0; i < 3; i++)
        eddy_yield();
    cr_expect_eq(norder, 0, "a later, smaller request overtook the head");
    cr_expect_eq(eddy_semaphore_try_acquire(sem, 1), -EAGAIN, "try_acquire jumps the queue");
    eddy_semaphore_release(sem, 2); /* 4: head takes 3, then b takes 1 */
    T_YIELD_UNTIL(ok, norder == 2);
    cr_expect(ok);
    eddy_semaphore_release(sem, 2);
    T_YIELD_UNTIL(ok, norder == 3);
    cr_expect(ok);
    cr_expect_eq(order[0], 3);
    cr_expect_eq(order[1], 1);
    cr_expect_eq(order[2], 2);
    cr_expect_eq(join_int(a, 0), 0);
    cr_expect_eq(join_int(b, 0), 0);
    cr_expect_eq(join_int(c, 0), 0);
    cr_expect_eq(eddy_semaphore_available(sem), 0);
    cr_expect_eq(eddy_semaphore_free(sem), 0);
    return NULL;
}

FLAVOR_TEST(semaphore, fifo)

/* ---- abort while waiting: the next waiter gets the permit ---- */

static void *root_abort_waiting(void *arg)
{
    (void)arg;
    bool ok;
    sem = eddy_semaphore_new(flavor, 0);
    eddy_task *a = spawn(acquirer, T_PTR(1));
    eddy_task *b = spawn(acquirer, T_PTR(1));
    for (int i = 0; i < 3; i++)
        eddy_yield();
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED, "the aborted acquire says so");
    eddy_semaphore_release(sem, 1);
    T_YIELD_UNTIL(ok, norder == 1);
    cr_expect(ok, "the permit did not reach the next waiter");
    cr_expect_eq(join_int(b, 0), 0);
    cr_expect_eq(eddy_semaphore_available(sem), 0);
    cr_expect_eq(eddy_semaphore_release(sem, 1), 0);
    cr_expect_eq(eddy_semaphore_available(sem), 1);
    cr_expect_eq(eddy_semaphore_free(sem), 0, "a waiter was left behind");
    return NULL;
}

FLAVOR_TEST(semaphore, abort_waiting)

/* The permit was already handed to the waiter when it is aborted (before it
 * ran again): it must pass on to the next waiter, not vanish. */
static void *root_abort_after_grant(void *arg)
{
    (void)arg;
    bool ok;
    sem = eddy_semaphore_new(flavor, 0);
    eddy_task *a = spawn(acquirer, T_PTR(1));
    eddy_task *b = spawn(acquirer, T_PTR(1));
    for (int i = 0; i < 3; i++)
        eddy_yield();
    eddy_semaphore_release(sem, 1); /* granted to a, which has not run yet */
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    T_YIELD_UNTIL(ok, norder == 1);
    cr_expect(ok, "the granted permit was lost with the aborted waiter");
    cr_expect_eq(join_int(b, 0), 0);
    cr_expect_eq(eddy_semaphore_available(sem), 0);
    cr_expect_eq(eddy_semaphore_free(sem), 0);
    return NULL;
}

FLAVOR_TEST(semaphore, abort_after_grant)

/* The aborted waiter was the head holding back a smaller request that the
 * available permits already satisfy: its leaving lets that one through. */
static void *root_abort_head(void *arg)
{
    (void)arg;
    bool ok;
    sem = eddy_semaphore_new(flavor, 1);
    eddy_task *a = spawn(acquirer, T_PTR(2));
    eddy_task *b = spawn(acquirer, T_PTR(1));
    for (int i = 0; i < 3; i++)
        eddy_yield();
    cr_expect_eq(norder, 0);
    eddy_abort(a);
    T_YIELD_UNTIL(ok, norder == 1);
    cr_expect(ok, "the waiter behind the aborted head was left waiting");
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    cr_expect_eq(join_int(b, 0), 0);
    cr_expect_eq(eddy_semaphore_free(sem), 0);
    return NULL;
}

FLAVOR_TEST(semaphore, abort_head)

/* A task aborted before it calls acquire gets -ECANCELED even though a
 * permit is there, and takes nothing. */
static int go;

static void *acquire_when_told(void *arg)
{
    (void)arg;
    while (!go)
        eddy_yield(); /* fails fast once aborted: keep looping until told */
    return T_PTR(eddy_semaphore_acquire(sem, 1));
}

static void *root_cancelled_first(void *arg)
{
    (void)arg;
    sem = eddy_semaphore_new(flavor, 1);
    eddy_task *a = spawn(acquire_when_told, NULL);
    eddy_yield();
    eddy_abort(a);
    go = 1;
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    cr_expect_eq(eddy_semaphore_available(sem), 1);
    cr_expect_eq(eddy_semaphore_free(sem), 0);
    return NULL;
}

static void cancelled_first(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_cancelled_first, NULL);
}
BOTH_FLAVORS(semaphore, cancelled_before_call, cancelled_first)

/* ---- close ---- */

static void *root_close(void *arg)
{
    (void)arg;
    sem = eddy_semaphore_new(flavor, 0);
    eddy_task *a = spawn(acquirer, T_PTR(1));
    eddy_task *b = spawn(acquirer, T_PTR(5));
    for (int i = 0; i < 3; i++)
        eddy_yield();
    cr_expect_eq(eddy_semaphore_close(sem), 0);
    cr_expect_eq(join_int(a, 0), -EPIPE);
    cr_expect_eq(join_int(b, 0), -EPIPE);
    cr_expect_eq(eddy_semaphore_is_closed(sem), 1);
    cr_expect_eq(eddy_semaphore_release(sem, 1), 0);
    cr_expect_eq(eddy_semaphore_acquire(sem, 1), -EPIPE, "acquire after close");
    cr_expect_eq(eddy_semaphore_try_acquire(sem, 1), -EPIPE);
    cr_expect_eq(eddy_semaphore_free(sem), 0);
    return NULL;
}

static void close_(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_close, NULL);
}
BOTH_FLAVORS(semaphore, close, close_)

/* ---- deadlines ---- */

static void *root_deadline(void *arg)
{
    (void)arg;
    sem = eddy_semaphore_new(flavor, 1);
    cr_expect_eq(eddy_semaphore_acquire_until(sem, 2, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_semaphore_available(sem), 1, "a timed-out acquire took permits");
    /* Available at once: succeeds even with a deadline in the past. */
    cr_expect_eq(eddy_semaphore_acquire_until(sem, 1, eddy_deadline_in(0)), 0);
    cr_expect_eq(eddy_semaphore_acquire_until(sem, 1, eddy_deadline_in(0)), -ETIMEDOUT);
    eddy_semaphore_release(sem, 1);
    cr_expect_eq(eddy_semaphore_free(sem), 0, "the timed-out waiter was left behind");
    return NULL;
}

FLAVOR_TEST(semaphore, deadline)

/* ---- plain threads (shared flavor only) ---- */

static void *plain_acquires(void *arg)
{
    (void)arg;
    return T_PTR(eddy_semaphore_acquire(sem, 2)); /* blocks this thread */
}

static void *root_release_slowly(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        eddy_sleep(2);
        eddy_semaphore_release(sem, 1);
    }
    return NULL;
}

Test(semaphore, plain_thread_blocks_task_releases, .timeout = T_TIMEOUT)
{
    sem = eddy_semaphore_new(EDDY_SYNC_SHARED, 0);
    cr_assert_not_null(sem);
    pthread_t th = t_thread_start(plain_acquires, NULL);
    t_run_local(root_release_slowly, NULL);
    cr_assert_eq(T_INT(t_thread_join(th)), 0);
    cr_assert_eq(eddy_semaphore_available(sem), 0);
    cr_assert_eq(eddy_semaphore_free(sem), 0);
}

static void *plain_releases(void *arg)
{
    (void)arg;
    t_sleep_ms(5);
    eddy_semaphore_release(sem, 1);
    return NULL;
}

static void *root_acquire_one(void *arg)
{
    (void)arg;
    return T_PTR(eddy_semaphore_acquire(sem, 1));
}

Test(semaphore, task_waits_plain_thread_releases, .timeout = T_TIMEOUT)
{
    sem = eddy_semaphore_new(EDDY_SYNC_SHARED, 0);
    pthread_t th = t_thread_start(plain_releases, NULL);
    cr_assert_eq(T_INT(t_run_local(root_acquire_one, NULL)), 0);
    t_thread_join(th);
    cr_assert_eq(eddy_semaphore_free(sem), 0);
}

Test(semaphore, plain_thread_deadline, .timeout = T_TIMEOUT)
{
    eddy_semaphore *s = eddy_semaphore_new(EDDY_SYNC_SHARED, 0);
    cr_assert_eq(eddy_semaphore_acquire_until(s, 1, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_assert_eq(eddy_semaphore_free(s), 0);
}

/* ---- misuse ---- */

static void *root_busy_free(void *arg)
{
    (void)arg;
    sem = eddy_semaphore_new(flavor, 0);
    eddy_task *a = spawn(acquirer, T_PTR(1));
    eddy_yield();
    cr_expect_eq(eddy_semaphore_free(sem), -EBUSY);
    eddy_semaphore_release(sem, 1);
    cr_expect_eq(join_int(a, 0), 0);
    cr_expect_eq(eddy_semaphore_free(sem), 0);
    return NULL;
}

static void busy_free(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_busy_free, NULL);
}
BOTH_FLAVORS(semaphore, free_refuses_while_waited_on, busy_free)

Test(semaphore, misuse, .timeout = T_TIMEOUT)
{
    errno = 0;
    cr_assert_null(eddy_semaphore_new(EDDY_SYNC_SHARED, EDDY_SEMAPHORE_MAX_PERMITS + 1));
    cr_assert_eq(errno, EINVAL);
    errno = 0;
    cr_assert_null(eddy_semaphore_new((eddy_sync_flavor)7, 1));
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(eddy_semaphore_acquire(NULL, 1), -EINVAL);
    cr_assert_eq(eddy_semaphore_release(NULL, 1), -EINVAL);
    cr_assert_eq(eddy_semaphore_free(NULL), -EINVAL);
    eddy_semaphore *s = eddy_semaphore_new(EDDY_SYNC_SHARED, EDDY_SEMAPHORE_MAX_PERMITS);
    cr_assert_eq(eddy_semaphore_release(s, 1), -EOVERFLOW);
    cr_assert_eq(eddy_semaphore_available(s), (ssize_t)EDDY_SEMAPHORE_MAX_PERMITS);
    cr_assert_eq(eddy_semaphore_acquire(s, EDDY_SEMAPHORE_MAX_PERMITS + 1), -EINVAL);
    cr_assert_eq(eddy_semaphore_free(s), 0);
}

/* A LOCAL semaphore waited on from plain code would never wake: refused. */
Test(semaphore, local_wait_outside_task_is_edeadlk, .timeout = T_TIMEOUT)
{
    eddy_semaphore *s = eddy_semaphore_new(EDDY_SYNC_LOCAL, 1);
    cr_assert_eq(eddy_semaphore_acquire(s, 1), 0, "no wait needed: fine");
    cr_assert_eq(eddy_semaphore_acquire(s, 1), -EDEADLK);
    cr_assert_eq(eddy_semaphore_acquire_until(s, 1, eddy_deadline_in(1)), -EDEADLK);
    cr_assert_eq(eddy_semaphore_available(s), 0);
    cr_assert_eq(eddy_semaphore_free(s), 0);
}
