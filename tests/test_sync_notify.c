/* Notify, both flavors: notify_one (FIFO, stored permit, at most one),
 * notify_waiters (everyone now, no permit), the epoch, abort while
 * waiting (a notify_one passes on), deadlines, threads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sync_util.h"

static eddy_sync_flavor flavor;
static eddy_notify *nt;
/* notify_waiters_wakes_all: many more than one batch of wakes (core.h:
 * SYNC_WAKES_MAX), so that the batch is fired and refilled half-way. */
enum { ALL_WAITERS = 50 };
static int woken[ALL_WAITERS], nwoken;

static void *waiter(void *arg)
{
    int rc = eddy_notify_wait(nt);
    if (rc == 0)
        woken[nwoken++] = T_INT(arg);
    return T_PTR(rc);
}

/* ---- notify_one: FIFO, one at a time ---- */

static void *root_one(void *arg)
{
    (void)arg;
    nt = eddy_notify_new(flavor);
    cr_expect_not_null(nt);
    eddy_task *t[3];
    for (int i = 0; i < 3; i++) {
        t[i] = spawn(waiter, T_PTR(i));
        eddy_yield();
    }
    yield_n(3);
    cr_expect_eq(nwoken, 0);
    for (int k = 0; k < 3; k++) {
        eddy_notify_one(nt);
        yield_n(3);
        cr_expect_eq(nwoken, k + 1, "notify_one #%d woke %d", k, nwoken);
    }
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(join_int(t[i], 0), 0);
        cr_expect_eq(woken[i], i, "FIFO");
    }
    cr_expect_eq(eddy_notify_free(nt), 0);
    return NULL;
}

static void one(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_one, NULL);
}
BOTH_FLAVORS(notify, notify_one_fifo, one)

/* ---- the permit: stored when nobody waits, at most one ---- */

static void *root_permit(void *arg)
{
    (void)arg;
    nt = eddy_notify_new(flavor);
    eddy_notify_one(nt);
    eddy_notify_one(nt); /* still one permit */
    cr_expect_eq(eddy_notify_wait(nt), 0, "the stored permit");
    cr_expect_eq(eddy_notify_wait_until(nt, eddy_deadline_in(5)), -ETIMEDOUT,
                 "only one permit is stored");
    /* notify_waiters stores nothing */
    eddy_notify_waiters(nt);
    cr_expect_eq(eddy_notify_wait_until(nt, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_notify_free(nt), 0);
    return NULL;
}

static void permit(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_permit, NULL);
}
BOTH_FLAVORS(notify, permit_stored_once, permit)

/* ---- notify_waiters: everyone waiting now ---- */

static void *root_all(void *arg)
{
    (void)arg;
    nt = eddy_notify_new(flavor);
    eddy_task *t[ALL_WAITERS];
    for (int i = 0; i < ALL_WAITERS; i++)
        t[i] = spawn(waiter, T_PTR(i));
    yield_n(3);
    eddy_notify_waiters(nt);
    for (int i = 0; i < ALL_WAITERS; i++)
        cr_expect_eq(join_int(t[i], 0), 0);
    cr_expect_eq(nwoken, ALL_WAITERS);
    cr_expect_eq(eddy_notify_free(nt), 0);
    return NULL;
}

static void all(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_all, NULL);
}
BOTH_FLAVORS(notify, notify_waiters_wakes_all, all)

/* ---- the epoch closes the check-then-wait race of notify_waiters ---- */

static void *root_epoch(void *arg)
{
    (void)arg;
    nt = eddy_notify_new(flavor);
    uint64_t e0 = 99, e1 = 99;
    cr_expect_eq(eddy_notify_epoch(nt, &e0), 0);
    eddy_notify_waiters(nt); /* between the check and the wait */
    cr_expect_eq(eddy_notify_wait_since(nt, e0), 0, "missed the notify_waiters");
    cr_expect_eq(eddy_notify_epoch(nt, &e1), 0);
    cr_expect_eq(e1, e0 + 1);
    cr_expect_eq(eddy_notify_wait_since_until(nt, e1, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_notify_free(nt), 0);
    return NULL;
}

FLAVOR_TEST(notify, epoch)

/* ---- abort while waiting ---- */

static void *root_abort(void *arg)
{
    (void)arg;
    nt = eddy_notify_new(flavor);
    eddy_task *a = spawn(waiter, T_PTR(1));
    eddy_task *b = spawn(waiter, T_PTR(2));
    yield_n(3);
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    eddy_notify_one(nt);
    cr_expect_eq(join_int(b, 0), 0, "the notification went to the aborted waiter");
    cr_expect_eq(eddy_notify_wait_until(nt, eddy_deadline_in(1)), -ETIMEDOUT,
                 "a permit appeared from nowhere");
    cr_expect_eq(eddy_notify_free(nt), 0, "a waiter was left behind");
    return NULL;
}

static void abort_(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_abort, NULL);
}
BOTH_FLAVORS(notify, abort_while_waiting, abort_)

/* notify_one reached the waiter, which is aborted before it runs: the
 * notification goes to the next waiter, or back into the permit. */
static void *root_abort_after_notify(void *arg)
{
    (void)arg;
    nt = eddy_notify_new(flavor);
    eddy_task *a = spawn(waiter, T_PTR(1));
    eddy_task *b = spawn(waiter, T_PTR(2));
    yield_n(3);
    eddy_notify_one(nt); /* to a */
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    cr_expect_eq(join_int(b, 0), 0, "the notification was lost");
    /* With nobody left, it becomes the permit. */
    eddy_task *c = spawn(waiter, T_PTR(3));
    yield_n(3);
    eddy_notify_one(nt);
    eddy_abort(c);
    cr_expect_eq(join_int(c, -ECANCELED), -ECANCELED);
    cr_expect_eq(eddy_notify_wait_until(nt, eddy_deadline_in(1000)), 0,
                 "the notification did not become the permit");
    cr_expect_eq(eddy_notify_free(nt), 0);
    return NULL;
}

static void abort_after_notify(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_abort_after_notify, NULL);
}
BOTH_FLAVORS(notify, abort_after_notify_one, abort_after_notify)

/* notify_waiters is not handed on: it was for the waiters of that moment. */
static void *root_abort_after_all(void *arg)
{
    (void)arg;
    nt = eddy_notify_new(flavor);
    eddy_task *a = spawn(waiter, T_PTR(1));
    yield_n(3);
    eddy_notify_waiters(nt);
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    cr_expect_eq(eddy_notify_wait_until(nt, eddy_deadline_in(1)), -ETIMEDOUT);
    cr_expect_eq(eddy_notify_free(nt), 0);
    return NULL;
}

static void abort_after_all(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_abort_after_all, NULL);
}
BOTH_FLAVORS(notify, abort_after_notify_waiters, abort_after_all)

Test(notify, free_busy_and_misuse, .timeout = T_TIMEOUT)
{
    errno = 0;
    cr_assert_null(eddy_notify_new((eddy_sync_flavor)3));
    cr_assert_eq(errno, EINVAL);
    cr_assert_eq(eddy_notify_one(NULL), -EINVAL);
    cr_assert_eq(eddy_notify_wait(NULL), -EINVAL);
    cr_assert_eq(eddy_notify_epoch(NULL, NULL), -EINVAL);
    eddy_notify *n = eddy_notify_new(EDDY_SYNC_LOCAL);
    cr_assert_eq(eddy_notify_wait(n), -EDEADLK, "LOCAL wait outside a task");
    eddy_notify_one(n);
    cr_assert_eq(eddy_notify_wait(n), 0, "the permit needs no wait");
    cr_assert_eq(eddy_notify_free(n), 0);
}

/* ---- threads (shared): ping-pong between two runtimes' tasks ---- */

enum { PINGS = 2000 };
static eddy_notify *ping, *pong;
static long volley; /* written alternately, ordered by the notifications */

static void *ping_root(void *arg)
{
    (void)arg;
    for (int i = 0; i < PINGS; i++) {
        volley++;
        eddy_notify_one(ping);
        if (eddy_notify_wait(pong) != 0)
            return T_PTR(-1);
    }
    return NULL;
}

static void *pong_thread(void *arg)
{
    (void)arg;
    for (int i = 0; i < PINGS; i++) {
        if (eddy_notify_wait(ping) != 0) /* a plain thread blocks */
            return T_PTR(-1);
        volley++;
        eddy_notify_one(pong);
    }
    return NULL;
}

static void *pong_task_thread(void *arg)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    void *res = T_PTR(-1);
    if (rt && eddy_local_runtime_block_on(rt, pong_thread, arg, &res) != 0)
        res = T_PTR(-1);
    if (rt)
        eddy_local_runtime_free(rt);
    return res;
}

Test(notify, ping_pong_task_and_plain_thread, .timeout = T_TIMEOUT)
{
    ping = eddy_notify_new(EDDY_SYNC_SHARED);
    pong = eddy_notify_new(EDDY_SYNC_SHARED);
    pthread_t th = t_thread_start(pong_thread, NULL);
    cr_assert_eq(T_INT(t_run_local(ping_root, NULL)), 0);
    cr_assert_eq(T_INT(t_thread_join(th)), 0);
    cr_assert_eq(volley, 2 * PINGS);
    cr_assert_eq(eddy_notify_free(ping), 0);
    cr_assert_eq(eddy_notify_free(pong), 0);
}

Test(notify, ping_pong_two_runtimes, .timeout = T_TIMEOUT)
{
    ping = eddy_notify_new(EDDY_SYNC_SHARED);
    pong = eddy_notify_new(EDDY_SYNC_SHARED);
    pthread_t th = t_thread_start(pong_task_thread, NULL);
    cr_assert_eq(T_INT(t_run_local(ping_root, NULL)), 0);
    cr_assert_eq(T_INT(t_thread_join(th)), 0);
    cr_assert_eq(volley, 2 * PINGS);
    cr_assert_eq(eddy_notify_free(ping), 0);
    cr_assert_eq(eddy_notify_free(pong), 0);
}
