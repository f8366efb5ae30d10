/* LocalRuntime: thread-affine tasks sharing non-thread-safe state, spawning
 * before block_on, repeated block_on, enter guards. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

/* ---- 1,000 tasks sharing a plain counter and a plain refcounted object ---- */

enum { NTASKS = 1000, INCS = 5 };

struct obj {
    int refcount; /* deliberately not atomic */
    int payload;
};

static int counter;            /* deliberately not atomic */
static int obj_frees;
static int max_refcount;
static int off_thread;
static pthread_t owner;

static void obj_ref(struct obj *o)
{
    o->refcount++;
    if (o->refcount > max_refcount)
        max_refcount = o->refcount;
}

static void obj_unref(struct obj *o)
{
    if (--o->refcount == 0) {
        obj_frees++;
        free(o);
    }
}

static void *shared_state_task(void *arg)
{
    struct obj *o = arg;
    if (!pthread_equal(pthread_self(), owner))
        off_thread++;
    obj_ref(o);
    for (int i = 0; i < INCS; i++) {
        counter++;
        eddy_yield();
        if (!pthread_equal(pthread_self(), owner))
            off_thread++;
    }
    int p = o->payload;
    obj_unref(o);
    return T_PTR(p);
}

static void *root_shared(void *arg)
{
    (void)arg;
    struct obj *o = malloc(sizeof *o);
    o->refcount = 1;
    o->payload = 1234;
    static eddy_task *ts[NTASKS];
    for (int i = 0; i < NTASKS; i++) {
        /* half with eddy_spawn, half with eddy_spawn_local: the same thing here */
        ts[i] = (i & 1) ? eddy_spawn_local(shared_state_task, o)
                        : eddy_spawn(shared_state_task, o);
        cr_expect_not_null(ts[i]);
    }
    int bad = 0;
    for (int i = 0; i < NTASKS; i++) {
        void *res = NULL;
        if (eddy_join(ts[i], &res) != 0 || T_INT(res) != 1234)
            bad++;
    }
    cr_expect_eq(bad, 0);
    cr_expect_eq(o->refcount, 1, "refcount after all tasks: %d", o->refcount);
    cr_expect_eq(obj_frees, 0);
    obj_unref(o);
    return T_PTR(counter);
}

Test(local_runtime, thousand_tasks_share_plain_state, .timeout = T_TIMEOUT)
{
    owner = pthread_self();
    int c = T_INT(t_run_local(root_shared, NULL));
    cr_assert_eq(c, NTASKS * INCS);
    cr_assert_eq(counter, NTASKS * INCS);
    cr_assert_eq(obj_frees, 1, "object freed %d times", obj_frees);
    /* every task held its reference across a yield, all at once */
    cr_assert_eq(max_refcount, NTASKS + 1, "max refcount %d", max_refcount);
    cr_assert_eq(off_thread, 0, "%d task steps ran off the owner thread", off_thread);
}

/* ---- eddy_spawn, eddy_spawn_local, eddy_spawn_with(.local) all work ---- */

static void *on_owner(void *arg)
{
    return T_PTR(pthread_equal(pthread_self(), owner) ? T_INT(arg) : -1);
}

static void *root_spawn_kinds(void *arg)
{
    (void)arg;
    eddy_spawn_opts lo = { .local = true, .name = "pinned" };
    eddy_task *a = eddy_spawn(on_owner, T_PTR(1));
    eddy_task *b = eddy_spawn_local(on_owner, T_PTR(2));
    eddy_task *c = eddy_spawn_with(&lo, on_owner, T_PTR(3));
    cr_expect_not_null(a);
    cr_expect_not_null(b);
    cr_expect_not_null(c, "spawn_with(.local) in a LocalRuntime: %s", strerror(errno));
    int sum = 0;
    void *res;
    if (a && eddy_join(a, &res) == 0)
        sum += T_INT(res);
    if (b && eddy_join(b, &res) == 0)
        sum += T_INT(res);
    if (c && eddy_join(c, &res) == 0)
        sum += T_INT(res);
    return T_PTR(sum);
}

Test(local_runtime, spawn_and_spawn_local_both_work, .timeout = T_TIMEOUT)
{
    owner = pthread_self();
    cr_assert_eq(T_INT(t_run_local(root_spawn_kinds, NULL)), 6);
}

/* ---- tasks spawned before block_on start only when block_on runs ---- */

static atomic_int pre_a, pre_b, pre_c;

struct three {
    eddy_task *a, *b, *c;
};

static void *root_join_three(void *arg)
{
    struct three *t = arg;
    int ok = 0;
    void *res;
    if (eddy_join(t->a, &res) == 0 && res == (void *)&pre_a)
        ok++;
    if (eddy_join(t->b, &res) == 0 && res == (void *)&pre_b)
        ok++;
    if (eddy_join(t->c, &res) == 0 && res == (void *)&pre_c)
        ok++;
    return T_PTR(ok);
}

Test(local_runtime, tasks_spawned_before_block_on_start_in_it, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    struct three t;
    t.a = eddy_local_runtime_spawn_local(rt, t_set_flag, &pre_a);
    cr_assert_not_null(t.a);
    eddy_enter_guard *g = eddy_local_runtime_enter(rt);
    cr_assert_not_null(g);
    t.b = eddy_spawn(t_set_flag, &pre_b);
    t.c = eddy_spawn_local(t_set_flag, &pre_c);
    cr_assert_not_null(t.b);
    cr_assert_not_null(t.c);
    cr_assert_eq(eddy_enter_guard_drop(g), 0);

    cr_assert_eq(atomic_load(&pre_a), 0);
    cr_assert_eq(atomic_load(&pre_b), 0);
    cr_assert_eq(atomic_load(&pre_c), 0);
    cr_assert_not(eddy_is_finished(t.a));

    cr_assert_eq(T_INT(t_block_on(rt, root_join_three, &t)), 3);
    cr_assert_eq(atomic_load(&pre_a), 1);
    cr_assert_eq(atomic_load(&pre_b), 1);
    cr_assert_eq(atomic_load(&pre_c), 1);
    t_free_rt(rt);
}

/* ---- block_on returns the result; several block_on calls in sequence ---- */

static void *returns_dead(void *arg)
{
    (void)arg;
    eddy_yield();
    return (void *)(uintptr_t)0xdead;
}

static int leftover_iters; /* plain */
static int leftover_stop;
static eddy_task *leftover;

static void *leftover_loop(void *arg)
{
    (void)arg;
    while (!leftover_stop) {
        leftover_iters++;
        if (eddy_yield() != 0)
            return T_PTR(-1);
    }
    return T_PTR(leftover_iters);
}

static void *root_first(void *arg)
{
    (void)arg;
    bool ok;
    leftover = eddy_spawn(leftover_loop, NULL);
    T_YIELD_UNTIL(ok, leftover_iters >= 3);
    return T_PTR(ok);
}

static void *root_second(void *arg)
{
    int before = *(int *)arg;
    bool ok;
    /* the task left over from the first block_on resumes in this one */
    T_YIELD_UNTIL(ok, leftover_iters > before + 3);
    leftover_stop = 1;
    void *res = NULL;
    int rc = eddy_join(leftover, &res);
    return T_PTR(ok && rc == 0 && T_INT(res) > before);
}

Test(local_runtime, block_on_result_and_sequence, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    void *res = NULL;
    cr_assert_eq(eddy_local_runtime_block_on(rt, returns_dead, NULL, &res), 0);
    cr_assert_eq(res, (void *)(uintptr_t)0xdead);
    cr_assert_eq(eddy_local_runtime_block_on(rt, returns_dead, NULL, NULL), 0);

    cr_assert(T_INT(t_block_on(rt, root_first, NULL)));
    int between = leftover_iters;
    /* nothing runs between block_on calls */
    cr_assert_eq(leftover_iters, between);
    cr_assert(T_INT(t_block_on(rt, root_second, &between)));

    for (int i = 0; i < 5; i++) {
        res = NULL;
        cr_assert_eq(eddy_local_runtime_block_on(rt, t_identity, T_PTR(i + 1), &res), 0);
        cr_assert_eq(T_INT(res), i + 1);
    }
    t_free_rt(rt);
}

/* ---- a LocalRuntime on a non-main thread; two runtimes on two threads ---- */

static int per_thread_sum(int n)
{
    return n * (n + 1) / 2;
}

static void *sum_task(void *arg)
{
    return arg;
}

static void *root_sum(void *arg)
{
    int n = T_INT(arg);
    eddy_task **ts = calloc((size_t)n, sizeof *ts);
    for (int i = 0; i < n; i++)
        ts[i] = eddy_spawn(sum_task, T_PTR(i + 1));
    int sum = 0;
    for (int i = 0; i < n; i++) {
        void *r = NULL;
        eddy_yield();
        if (ts[i] && eddy_join(ts[i], &r) == 0)
            sum += T_INT(r);
    }
    free(ts);
    return T_PTR(sum);
}

static void *thread_runs_own_runtime(void *arg)
{
    int n = T_INT(arg);
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    if (!rt)
        return T_PTR(-1);
    void *res = NULL;
    int rc = eddy_local_runtime_block_on(rt, root_sum, arg, &res);
    int frc = eddy_local_runtime_free(rt);
    if (rc != 0 || frc != 0)
        return T_PTR(-2);
    return T_PTR(T_INT(res) == per_thread_sum(n) ? 1 : 0);
}

Test(local_runtime, runtimes_on_several_threads, .timeout = T_TIMEOUT)
{
    pthread_t a = t_thread_start(thread_runs_own_runtime, T_PTR(300));
    pthread_t b = t_thread_start(thread_runs_own_runtime, T_PTR(400));
    /* and one on this thread meanwhile */
    cr_assert_eq(T_INT(t_run_local(root_sum, T_PTR(200))), per_thread_sum(200));
    cr_assert_eq(T_INT(t_thread_join(a)), 1);
    cr_assert_eq(T_INT(t_thread_join(b)), 1);
}

Test(local_runtime, two_runtimes_on_one_thread, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *r1 = t_local_rt();
    eddy_local_runtime *r2 = t_local_rt();
    cr_assert_eq(T_INT(t_block_on(r1, root_sum, T_PTR(10))), per_thread_sum(10));
    cr_assert_eq(T_INT(t_block_on(r2, root_sum, T_PTR(20))), per_thread_sum(20));
    cr_assert_eq(T_INT(t_block_on(r1, root_sum, T_PTR(30))), per_thread_sum(30));
    t_free_rt(r2);
    cr_assert_eq(T_INT(t_block_on(r1, root_sum, T_PTR(5))), per_thread_sum(5));
    t_free_rt(r1);
}

/* ---- enter guards nest; eddy_spawn goes to the innermost runtime ---- */

static atomic_int in_r1, in_r2;

static void *root_yield_some(void *arg)
{
    (void)arg;
    for (int i = 0; i < 20; i++)
        eddy_yield();
    return NULL;
}

Test(local_runtime, enter_guards_nest, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *r1 = t_local_rt();
    eddy_local_runtime *r2 = t_local_rt();
    eddy_enter_guard *g1 = eddy_local_runtime_enter(r1);
    eddy_enter_guard *g2 = eddy_local_runtime_enter(r2);
    cr_assert_not_null(g1);
    cr_assert_not_null(g2);
    eddy_task *t2 = eddy_spawn(t_set_flag, &in_r2); /* innermost: r2 */
    cr_assert_not_null(t2);
    cr_assert_eq(eddy_enter_guard_drop(g1), -EINVAL, "dropping the outer guard first");
    cr_assert_eq(eddy_enter_guard_drop(g2), 0);
    eddy_task *t1 = eddy_spawn(t_set_flag, &in_r1); /* now r1 */
    cr_assert_not_null(t1);
    cr_assert_eq(eddy_enter_guard_drop(g1), 0);
    /* out of every context again */
    errno = 0;
    cr_assert_null(eddy_spawn(t_set_flag, &in_r1));
    cr_assert_eq(errno, EPERM);

    t_block_on(r1, root_yield_some, NULL);
    cr_assert_eq(atomic_load(&in_r1), 1);
    cr_assert_eq(atomic_load(&in_r2), 0, "task spawned under r2's guard ran on r1");
    t_block_on(r2, root_yield_some, NULL);
    cr_assert_eq(atomic_load(&in_r2), 1);
    eddy_detach(t1);
    eddy_detach(t2);
    t_free_rt(r1);
    t_free_rt(r2);
}

/* ---- spawn from inside block_on via eddy_local_runtime_spawn_local and
 * a handle obtained on the owner thread ---- */

static eddy_local_runtime *the_rt;

static void *root_spawn_via_rt(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_local_runtime_spawn_local(the_rt, t_identity, T_PTR(5));
    cr_expect_not_null(t);
    eddy_handle *h = eddy_local_runtime_handle(the_rt);
    cr_expect_not_null(h);
    eddy_task *u = eddy_handle_spawn(h, t_identity, T_PTR(6));
    cr_expect_not_null(u);
    eddy_handle_release(h);
    void *a = NULL, *b = NULL;
    cr_expect_eq(eddy_join(t, &a), 0);
    cr_expect_eq(eddy_join(u, &b), 0);
    return T_PTR(T_INT(a) + T_INT(b));
}

Test(local_runtime, spawn_local_on_rt_inside_block_on, .timeout = T_TIMEOUT)
{
    the_rt = t_local_rt();
    cr_assert_eq(T_INT(t_block_on(the_rt, root_spawn_via_rt, NULL)), 11);
    t_free_rt(the_rt);
}

Test(local_runtime, free_fresh_runtime, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    t_free_rt(rt);
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_CURRENT_THREAD };
    rt = t_local_rt_opts(&o);
    t_free_rt(rt);
}
