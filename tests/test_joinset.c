/* JoinSet: spawn, join_next in completion order, len, abort_all, free, add. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

/* ---- many tasks, each joined exactly once, ids match ---- */

enum { MANY = 100 };
static int64_t many_ids[MANY];
static int many_seen[MANY];

static void *yields_then_returns(void *arg)
{
    int i = T_INT(arg);
    for (int k = 0; k < i % 7; k++)
        eddy_yield();
    return arg;
}

static void *root_many(void *arg)
{
    (void)arg;
    eddy_join_set *set = eddy_join_set_new();
    cr_expect_not_null(set);
    cr_expect_eq(eddy_join_set_len(set), 0);
    for (int i = 0; i < MANY; i++) {
        many_ids[i] = eddy_join_set_spawn(set, NULL, yields_then_returns, T_PTR(i));
        cr_expect_gt(many_ids[i], 0, "join_set_spawn: %lld", (long long)many_ids[i]);
    }
    cr_expect_eq(eddy_join_set_len(set), MANY);

    for (int n = 0; n < MANY; n++) {
        void *res = NULL;
        uint64_t id = 0;
        int rc = eddy_join_set_join_next(set, &res, &id);
        cr_expect_eq(rc, 0, "join_next #%d: %d", n, rc);
        int i = T_INT(res);
        if (i < 0 || i >= MANY) {
            cr_expect_fail("result %d out of range", i);
            continue;
        }
        many_seen[i]++;
        cr_expect_eq((int64_t)id, many_ids[i], "id of task %d", i);
        cr_expect_eq(eddy_join_set_len(set), (size_t)(MANY - n - 1));
    }
    void *res = (void *)&res;
    uint64_t id = 42;
    cr_expect_eq(eddy_join_set_join_next(set, &res, &id), -ENOENT);
    cr_expect_eq(eddy_join_set_join_next(set, NULL, NULL), -ENOENT);
    cr_expect_eq(eddy_join_set_len(set), 0);
    eddy_join_set_free(set);
    return NULL;
}

Test(joinset, every_task_joined_exactly_once, .timeout = T_TIMEOUT)
{
    t_run_local(root_many, NULL);
    for (int i = 0; i < MANY; i++)
        cr_assert_eq(many_seen[i], 1, "task %d joined %d times", i, many_seen[i]);
    for (int i = 0; i < MANY; i++)
        for (int j = i + 1; j < MANY; j++)
            cr_assert_neq(many_ids[i], many_ids[j]);
}

/* ---- completion order ---- */

enum { ORDERED = 10 };

static void *yields_n(void *arg)
{
    int n = T_INT(arg);
    for (int k = 0; k < n; k++)
        eddy_yield();
    return arg;
}

static int64_t ord_ids[ORDERED];
static uint64_t ord_got[ORDERED];
static int ord_res[ORDERED];

static void *root_order(void *arg)
{
    (void)arg;
    eddy_join_set *set = eddy_join_set_new();
    /* Task k yields 3*(ORDERED-1-k) times: the last spawned finishes first. */
    for (int k = 0; k < ORDERED; k++)
        ord_ids[k] = eddy_join_set_spawn(set, NULL, yields_n, T_PTR(3 * (ORDERED - 1 - k)));
    for (int n = 0; n < ORDERED; n++) {
        void *res = NULL;
        cr_expect_eq(eddy_join_set_join_next(set, &res, &ord_got[n]), 0);
        ord_res[n] = T_INT(res);
    }
    eddy_join_set_free(set);
    return NULL;
}

Test(joinset, join_next_in_completion_order, .timeout = T_TIMEOUT)
{
    t_run_local(root_order, NULL);
    for (int n = 0; n < ORDERED; n++) {
        int k = ORDERED - 1 - n;
        cr_assert_eq((int64_t)ord_got[n], ord_ids[k],
                     "join_next #%d should be the task yielding %d times", n, 3 * n);
        cr_assert_eq(ord_res[n], 3 * n);
    }
}

/* Two tasks: the one that yields 0 times comes out before the one yielding
 * 10 times, even though it was spawned second. */
static void *root_order2(void *arg)
{
    (void)arg;
    eddy_join_set *set = eddy_join_set_new();
    int64_t slow = eddy_join_set_spawn(set, NULL, yields_n, T_PTR(10));
    int64_t fast = eddy_join_set_spawn(set, NULL, yields_n, T_PTR(0));
    uint64_t a = 0, b = 0;
    cr_expect_eq(eddy_join_set_join_next(set, NULL, &a), 0);
    cr_expect_eq(eddy_join_set_join_next(set, NULL, &b), 0);
    cr_expect_eq((int64_t)a, fast);
    cr_expect_eq((int64_t)b, slow);
    eddy_join_set_free(set);
    return NULL;
}

Test(joinset, fast_before_slow, .timeout = T_TIMEOUT)
{
    t_run_local(root_order2, NULL);
}

/* ---- len counts finished-but-unjoined tasks; empty set ---- */

static int finished_count;

static void *counts_finish(void *arg)
{
    finished_count++;
    return arg;
}

static void *root_len(void *arg)
{
    (void)arg;
    bool ok;
    eddy_join_set *set = eddy_join_set_new();
    cr_expect_eq(eddy_join_set_join_next(set, NULL, NULL), -ENOENT);
    for (int i = 0; i < 5; i++)
        eddy_join_set_spawn(set, NULL, counts_finish, NULL);
    T_YIELD_UNTIL(ok, finished_count == 5);
    cr_expect(ok);
    eddy_yield();
    cr_expect_eq(eddy_join_set_len(set), 5, "finished tasks still count until joined");
    for (int i = 0; i < 5; i++)
        cr_expect_eq(eddy_join_set_join_next(set, NULL, NULL), 0);
    cr_expect_eq(eddy_join_set_len(set), 0);
    cr_expect_eq(eddy_join_set_join_next(set, NULL, NULL), -ENOENT);
    eddy_join_set_free(set);
    return NULL;
}

Test(joinset, len_and_empty, .timeout = T_TIMEOUT)
{
    t_run_local(root_len, NULL);
    /* An empty set needs no runtime at all. */
    eddy_join_set *set = eddy_join_set_new();
    cr_assert_not_null(set);
    cr_assert_eq(eddy_join_set_len(set), 0);
    cr_assert_eq(eddy_join_set_join_next(set, NULL, NULL), -ENOENT);
    eddy_join_set_abort_all(set); /* no-op on an empty set */
    eddy_join_set_free(set);
    eddy_join_set_free(NULL);
}

/* ---- abort_all ---- */

static int looper_cancelled;
static int looper_started;

static void *yield_until_cancelled(void *arg)
{
    looper_started++;
    int rc;
    while ((rc = eddy_yield()) == 0) {
    }
    if (rc == -ECANCELED)
        looper_cancelled++;
    return arg;
}

static int quick_done;

static void *quick(void *arg)
{
    quick_done = 1;
    return arg;
}

static void *root_abort_all(void *arg)
{
    (void)arg;
    bool ok;
    eddy_join_set *set = eddy_join_set_new();
    int64_t qid = eddy_join_set_spawn(set, NULL, quick, T_PTR(17));
    for (int i = 0; i < 5; i++)
        eddy_join_set_spawn(set, NULL, yield_until_cancelled, T_PTR(i));
    T_YIELD_UNTIL(ok, quick_done && looper_started == 5);
    cr_expect(ok);
    eddy_join_set_abort_all(set);
    cr_expect_eq(eddy_join_set_len(set), 6, "abort_all keeps the tasks in the set");

    int zero = 0, cancelled = 0;
    for (int i = 0; i < 6; i++) {
        void *res = NULL;
        uint64_t id = 0;
        int rc = eddy_join_set_join_next(set, &res, &id);
        if (rc == 0) {
            zero++;
            cr_expect_eq((int64_t)id, qid, "only the finished task joins with 0");
            cr_expect_eq(T_INT(res), 17);
        } else {
            cr_expect_eq(rc, -ECANCELED, "join_next: %d", rc);
            cancelled++;
        }
    }
    cr_expect_eq(zero, 1);
    cr_expect_eq(cancelled, 5);
    cr_expect_eq(eddy_join_set_join_next(set, NULL, NULL), -ENOENT);
    eddy_join_set_free(set);
    return NULL;
}

Test(joinset, abort_all, .timeout = T_TIMEOUT)
{
    t_run_local(root_abort_all, NULL);
    cr_assert_eq(looper_cancelled, 5);
}

/* ---- free aborts the tasks still in the set ---- */

static int freed_exited;

static void *looper_records_exit(void *arg)
{
    looper_started++;
    int rc;
    while ((rc = eddy_yield()) == 0) {
    }
    if (rc == -ECANCELED)
        looper_cancelled++;
    freed_exited++;
    return arg;
}

static void *root_free(void *arg)
{
    (void)arg;
    bool ok;
    eddy_join_set *set = eddy_join_set_new();
    for (int i = 0; i < 3; i++)
        eddy_join_set_spawn(set, NULL, looper_records_exit, NULL);
    T_YIELD_UNTIL(ok, looper_started == 3);
    cr_expect(ok);
    eddy_join_set_free(set); /* aborts + detaches; does not wait */
    /* drive the runtime so they run to their exit */
    T_YIELD_UNTIL(ok, freed_exited == 3);
    cr_expect(ok, "tasks of a freed set did not exit");
    return NULL;
}

Test(joinset, free_aborts_remaining, .timeout = T_TIMEOUT)
{
    t_run_local(root_free, NULL);
    cr_assert_eq(looper_cancelled, 3);
    cr_assert_eq(freed_exited, 3);
}

/* ---- add: moving an existing handle into a set ---- */

static void *root_add(void *arg)
{
    (void)arg;
    eddy_join_set *set = eddy_join_set_new();
    eddy_task *t = eddy_spawn(t_identity, T_PTR(9));
    cr_expect_not_null(t);
    uint64_t tid = eddy_task_id(t);
    cr_expect_eq(eddy_join_set_add(set, NULL), -EINVAL);
    cr_expect_eq(eddy_join_set_add(NULL, NULL), -EINVAL);
    cr_expect_eq(eddy_join_set_add(set, t), 0);
    cr_expect_eq(eddy_join_set_len(set), 1);
    int64_t sid = eddy_join_set_spawn(set, NULL, yields_n, T_PTR(5));

    void *res = NULL;
    uint64_t id = 0;
    cr_expect_eq(eddy_join_set_join_next(set, &res, &id), 0);
    cr_expect_eq(id, tid);
    cr_expect_eq(T_INT(res), 9);
    cr_expect_eq(eddy_join_set_join_next(set, &res, &id), 0);
    cr_expect_eq((int64_t)id, sid);
    cr_expect_eq(T_INT(res), 5);

    /* add(NULL, t) is rejected and leaves t with the caller */
    eddy_task *u = eddy_spawn(t_identity, T_PTR(4));
    cr_expect_eq(eddy_join_set_add(NULL, u), -EINVAL);
    cr_expect_eq(eddy_join(u, &res), 0);
    cr_expect_eq(T_INT(res), 4);
    eddy_join_set_free(set);
    return NULL;
}

Test(joinset, add_existing_handle, .timeout = T_TIMEOUT)
{
    t_run_local(root_add, NULL);
}

/* ---- errors ---- */

Test(joinset, spawn_outside_context_and_null_args, .timeout = T_TIMEOUT)
{
    eddy_join_set *set = eddy_join_set_new();
    cr_assert_not_null(set);
    cr_assert_eq(eddy_join_set_spawn(set, NULL, t_identity, NULL), -EPERM);
    cr_assert_eq(eddy_join_set_len(set), 0);
    cr_assert_eq(eddy_join_set_join_next(NULL, NULL, NULL), -EINVAL);

    eddy_local_runtime *rt = t_local_rt();
    eddy_enter_guard *g = eddy_local_runtime_enter(rt);
    cr_assert_not_null(g);
    cr_assert_eq(eddy_join_set_spawn(set, NULL, NULL, NULL), -EINVAL);
    cr_assert_eq(eddy_join_set_len(set), 0);
    cr_assert_eq(eddy_enter_guard_drop(g), 0);
    eddy_join_set_free(set);
    t_free_rt(rt);
}

/* join_next from the owner thread outside block_on would deadlock: -EDEADLK,
 * and the set keeps its tasks. */
static void *root_drain(void *arg)
{
    eddy_join_set *set = arg;
    int n = 0;
    void *res;
    while (eddy_join_set_join_next(set, &res, NULL) == 0)
        n += T_INT(res);
    return T_PTR(n);
}

Test(joinset, join_next_on_owner_outside_block_on_is_edeadlk, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_join_set *set = eddy_join_set_new();
    eddy_enter_guard *g = eddy_local_runtime_enter(rt);
    cr_assert_not_null(g);
    for (int i = 1; i <= 4; i++)
        cr_assert_gt(eddy_join_set_spawn(set, NULL, t_identity, T_PTR(i)), 0);
    cr_assert_eq(eddy_enter_guard_drop(g), 0);
    cr_assert_eq(eddy_join_set_join_next(set, NULL, NULL), -EDEADLK);
    cr_assert_eq(eddy_join_set_len(set), 4);
    cr_assert_eq(T_INT(t_block_on(rt, root_drain, set)), 1 + 2 + 3 + 4);
    cr_assert_eq(eddy_join_set_len(set), 0);
    eddy_join_set_free(set);
    t_free_rt(rt);
}

/* ---- a plain thread fills a set through a Handle and drains it, blocking ---- */

static atomic_int pt_done;
static atomic_int pt_sum;
static atomic_int pt_errors;

static void *pt_thread(void *arg)
{
    eddy_handle *h = arg;
    eddy_join_set *set = eddy_join_set_new();
    for (int i = 1; i <= 20; i++) {
        eddy_task *t = eddy_handle_spawn(h, yields_n, T_PTR(i));
        if (!t || eddy_join_set_add(set, t) != 0)
            atomic_fetch_add(&pt_errors, 1);
    }
    void *res;
    int rc;
    while ((rc = eddy_join_set_join_next(set, &res, NULL)) == 0)
        atomic_fetch_add(&pt_sum, T_INT(res));
    if (rc != -ENOENT)
        atomic_fetch_add(&pt_errors, 1);
    eddy_join_set_free(set);
    atomic_store(&pt_done, 1);
    return NULL;
}

static void *root_wait_pt(void *arg)
{
    (void)arg;
    bool ok;
    T_YIELD_UNTIL(ok, atomic_load(&pt_done));
    return T_PTR(ok);
}

Test(joinset, plain_thread_with_handle_tasks, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    cr_assert_not_null(h);
    pthread_t th = t_thread_start(pt_thread, h);
    cr_assert(T_INT(t_block_on(rt, root_wait_pt, NULL)));
    t_thread_join(th);
    cr_assert_eq(atomic_load(&pt_errors), 0);
    cr_assert_eq(atomic_load(&pt_sum), 20 * 21 / 2);
    eddy_handle_release(h);
    t_free_rt(rt);
}
