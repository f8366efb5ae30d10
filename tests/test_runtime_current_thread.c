/* eddy_runtime, current-thread flavor: block_on from any thread (in turn or
 * at once), eddy_spawn inside, handles, enter guards, shutdown. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

/* ---- the multi-thread flavor is not available yet ---- */

Test(runtime_ct, flavors, .timeout = T_TIMEOUT)
{
    /* The default flavor, as Tokio's Runtime::new(), is multi-thread. */
    eddy_runtime *rt = eddy_runtime_new(NULL);
    cr_assert_not_null(rt);
    cr_assert_eq(eddy_runtime_free(rt), 0);
    eddy_runtime_opts bad = { .flavor = (eddy_flavor)42 };
    errno = 0;
    cr_assert_null(eddy_runtime_new(&bad));
    cr_assert_eq(errno, EINVAL, "errno %d", errno);
    eddy_runtime_opts ct = { .flavor = EDDY_FLAVOR_CURRENT_THREAD };
    rt = eddy_runtime_new(&ct);
    cr_assert_not_null(rt);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- block_on from the creating thread, with spawned tasks ---- */

static pthread_t driver;
static atomic_int wrong_thread;

static void *checked_add(void *arg)
{
    if (!pthread_equal(pthread_self(), driver))
        atomic_fetch_add(&wrong_thread, 1);
    eddy_yield();
    if (!pthread_equal(pthread_self(), driver))
        atomic_fetch_add(&wrong_thread, 1);
    return T_PTR(T_INT(arg) + 1);
}

static void *root_spawns(void *arg)
{
    int n = T_INT(arg);
    eddy_task *ts[64];
    if (n > 64)
        n = 64;
    for (int i = 0; i < n; i++)
        ts[i] = eddy_spawn(checked_add, T_PTR(i));
    int sum = 0;
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        if (ts[i] && eddy_join(ts[i], &r) == 0)
            sum += T_INT(r);
        else
            sum -= 100000;
    }
    return T_PTR(sum);
}

/* sum of (i+1) for i < n */
#define SUM1(n) ((n) * ((n) + 1) / 2)

struct bo_ctx {
    eddy_runtime *rt;
    int n;
    int rc;
    int res;
};

static void *thread_block_on(void *arg)
{
    struct bo_ctx *c = arg;
    driver = pthread_self();
    void *res = NULL;
    c->rc = eddy_runtime_block_on(c->rt, root_spawns, T_PTR(c->n), &res);
    c->res = T_INT(res);
    return NULL;
}

Test(runtime_ct, block_on_from_creator_and_other_threads, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_ct_rt();

    driver = pthread_self();
    void *res = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, root_spawns, T_PTR(10), &res), 0);
    cr_assert_eq(T_INT(res), SUM1(10));

    for (int k = 0; k < 3; k++) {
        struct bo_ctx c = { .rt = rt, .n = 20 + k };
        pthread_t th = t_thread_start(thread_block_on, &c);
        t_thread_join(th);
        cr_assert_eq(c.rc, 0, "block_on from thread %d: %d", k, c.rc);
        cr_assert_eq(c.res, SUM1(20 + k));
    }

    driver = pthread_self();
    res = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, root_spawns, T_PTR(5), &res), 0);
    cr_assert_eq(T_INT(res), SUM1(5));
    cr_assert_eq(atomic_load(&wrong_thread), 0,
                 "tasks ran on a thread that was not driving the runtime");
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- a task left parked follows the runtime to the next driving thread ---- */

static pthread_t last_thread;
static atomic_int mig_stop, mig_iters;

static void *migrating_loop(void *arg)
{
    (void)arg;
    while (!atomic_load(&mig_stop)) {
        last_thread = pthread_self();
        atomic_fetch_add(&mig_iters, 1);
        if (eddy_yield() != 0)
            return T_PTR(-1);
    }
    return T_PTR(1);
}

static eddy_task *mig_task;

static void *root_start_mig(void *arg)
{
    (void)arg;
    bool ok;
    mig_task = eddy_spawn(migrating_loop, NULL);
    T_YIELD_UNTIL(ok, atomic_load(&mig_iters) >= 2);
    return T_PTR(ok);
}

static void *root_finish_mig(void *arg)
{
    (void)arg;
    bool ok;
    pthread_t me = pthread_self();
    int before = atomic_load(&mig_iters);
    T_YIELD_UNTIL(ok, atomic_load(&mig_iters) > before && pthread_equal(last_thread, me));
    atomic_store(&mig_stop, 1);
    void *r = NULL;
    int rc = eddy_join(mig_task, &r);
    return T_PTR(ok && rc == 0 && T_INT(r) == 1);
}

static void *thread_finish_mig(void *arg)
{
    eddy_runtime *rt = arg;
    void *res = NULL;
    int rc = eddy_runtime_block_on(rt, root_finish_mig, NULL, &res);
    return T_PTR(rc == 0 && T_INT(res) == 1);
}

Test(runtime_ct, parked_task_runs_on_next_driver, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_ct_rt();
    void *res = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, root_start_mig, NULL, &res), 0);
    cr_assert(T_INT(res));
    pthread_t th = t_thread_start(thread_finish_mig, rt);
    cr_assert_eq(T_INT(t_thread_join(th)), 1,
                 "the parked task did not continue on the thread driving the runtime");
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- two threads in block_on at once: both complete ---- */

static atomic_int a_started, b_started;

static void *root_a(void *arg)
{
    (void)arg;
    bool ok;
    atomic_store(&a_started, 1);
    T_YIELD_UNTIL(ok, atomic_load(&b_started));
    return T_PTR(ok ? 'A' : 0);
}

static void *root_b(void *arg)
{
    (void)arg;
    bool ok;
    atomic_store(&b_started, 1);
    T_YIELD_UNTIL(ok, atomic_load(&a_started));
    return T_PTR(ok ? 'B' : 0);
}

struct concurrent {
    eddy_runtime *rt;
    eddy_task_fn fn;
    int rc;
    int res;
};

static void *thread_concurrent(void *arg)
{
    struct concurrent *c = arg;
    void *res = NULL;
    c->rc = eddy_runtime_block_on(c->rt, c->fn, NULL, &res);
    c->res = T_INT(res);
    return NULL;
}

Test(runtime_ct, two_threads_block_on_at_once, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_ct_rt();
    struct concurrent ca = { .rt = rt, .fn = root_a };
    struct concurrent cb = { .rt = rt, .fn = root_b };
    pthread_t ta = t_thread_start(thread_concurrent, &ca);
    pthread_t tb = t_thread_start(thread_concurrent, &cb);
    t_thread_join(ta);
    t_thread_join(tb);
    cr_assert_eq(ca.rc, 0, "block_on A: %d", ca.rc);
    cr_assert_eq(cb.rc, 0, "block_on B: %d", cb.rc);
    cr_assert_eq(ca.res, 'A');
    cr_assert_eq(cb.res, 'B');
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* Several threads hammering block_on with short roots. */
static void *thread_many_block_on(void *arg)
{
    eddy_runtime *rt = arg;
    int ok = 0;
    for (int i = 0; i < 50; i++) {
        void *res = NULL;
        if (eddy_runtime_block_on(rt, t_identity, T_PTR(i), &res) == 0 && T_INT(res) == i)
            ok++;
    }
    return T_PTR(ok);
}

Test(runtime_ct, many_threads_block_on_repeatedly, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_ct_rt();
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        th[i] = t_thread_start(thread_many_block_on, rt);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(T_INT(t_thread_join(th[i])), 50);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- handle: spawn from another thread, join blocking there ---- */

static atomic_int h_done;

struct h_ctx {
    eddy_handle *h;
    int rc;
    int res;
};

static void *h_thread(void *arg)
{
    struct h_ctx *c = arg;
    eddy_task *t = eddy_handle_spawn(c->h, checked_add, T_PTR(41));
    c->rc = t ? eddy_join(t, NULL) : -1000;
    t = eddy_handle_spawn(c->h, checked_add, T_PTR(99));
    void *res = NULL;
    if (c->rc == 0)
        c->rc = t ? eddy_join(t, &res) : -1000;
    c->res = T_INT(res);
    atomic_store(&h_done, 1);
    return NULL;
}

static void *root_wait_h(void *arg)
{
    (void)arg;
    bool ok;
    T_YIELD_UNTIL(ok, atomic_load(&h_done));
    return T_PTR(ok);
}

Test(runtime_ct, handle_spawn_from_other_thread, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_ct_rt();
    driver = pthread_self();
    struct h_ctx c = { .h = eddy_runtime_handle(rt) };
    cr_assert_not_null(c.h);
    pthread_t th = t_thread_start(h_thread, &c);
    void *res = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, root_wait_h, NULL, &res), 0);
    cr_assert(T_INT(res));
    t_thread_join(th);
    cr_assert_eq(c.rc, 0);
    cr_assert_eq(c.res, 100);
    cr_assert_eq(atomic_load(&wrong_thread), 0);
    eddy_handle_release(c.h);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- enter guard: spawn outside block_on; runs when someone drives ---- */

static atomic_int eg_flag;

static void *root_join_arg(void *arg)
{
    void *res = NULL;
    int rc = eddy_join(arg, &res);
    return T_PTR(rc == 0 && res == (void *)&eg_flag);
}

Test(runtime_ct, enter_guard_spawn, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_ct_rt();
    errno = 0;
    cr_assert_null(eddy_runtime_enter(NULL));
    cr_assert_eq(errno, EINVAL);

    eddy_enter_guard *g = eddy_runtime_enter(rt);
    cr_assert_not_null(g);
    eddy_task *t = eddy_spawn(t_set_flag, &eg_flag);
    cr_assert_not_null(t);
    cr_assert_eq(eddy_enter_guard_drop(g), 0);
    cr_assert_eq(atomic_load(&eg_flag), 0);
    void *res = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, root_join_arg, t, &res), 0);
    cr_assert(T_INT(res));
    cr_assert_eq(atomic_load(&eg_flag), 1);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- shutdown ends ---- */

static int ct_cancelled;

static void *ct_looper(void *arg)
{
    (void)arg;
    int rc;
    while ((rc = eddy_yield()) == 0) {
    }
    if (rc == -ECANCELED)
        ct_cancelled++;
    return NULL;
}

static void *root_leave_looper(void *arg)
{
    (void)arg;
    eddy_detach(eddy_spawn(ct_looper, NULL));
    for (int i = 0; i < 3; i++)
        eddy_yield();
    return NULL;
}

Test(runtime_ct, free_cancels_parked_tasks, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_ct_rt();
    cr_assert_eq(eddy_runtime_block_on(rt, root_leave_looper, NULL, NULL), 0);
    cr_assert_eq(ct_cancelled, 0);
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert_eq(ct_cancelled, 1);
}

Test(runtime_ct, shutdown_timeout_and_background_when_idle, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_ct_rt();
    cr_assert_eq(eddy_runtime_block_on(rt, t_identity, NULL, NULL), 0);
    cr_assert_eq(eddy_runtime_shutdown_timeout(rt, 1000), 0);

    rt = t_ct_rt();
    cr_assert_eq(eddy_runtime_block_on(rt, t_identity, NULL, NULL), 0);
    cr_assert_eq(eddy_runtime_shutdown_background(rt), 0);

    cr_assert_eq(eddy_runtime_free(NULL), -EINVAL);
}
