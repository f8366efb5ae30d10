/* Misuse is reported, never crashes: spawning without a context, nested
 * block_on, bad flavors, NULL arguments, enter guards out of order. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

static atomic_int must_not_run;

static void *never(void *arg)
{
    atomic_store(&must_not_run, 1);
    return arg;
}

#define EXPECT_NULL_ERRNO(call, err)                                         \
    do {                                                                     \
        errno = 0;                                                           \
        void *p__ = (void *)(call);                                          \
        cr_assert_null(p__, #call " should fail");                          \
        cr_assert_eq(errno, (err), #call ": errno %d (%s), expected %d",     \
                     errno, strerror(errno), (err));                         \
    } while (0)

/* ---- spawning outside any context ---- */

Test(misuse, spawn_outside_context_is_eperm, .timeout = T_TIMEOUT)
{
    EXPECT_NULL_ERRNO(eddy_spawn(never, NULL), EPERM);
    EXPECT_NULL_ERRNO(eddy_spawn_local(never, NULL), EPERM);
    EXPECT_NULL_ERRNO(eddy_spawn_with(NULL, never, NULL), EPERM);
    eddy_spawn_opts lo = { .local = true };
    EXPECT_NULL_ERRNO(eddy_spawn_with(&lo, never, NULL), EPERM);
    EXPECT_NULL_ERRNO(eddy_spawn_blocking(never, NULL), EPERM);
    cr_assert_eq(atomic_load(&must_not_run), 0);

    /* ... also after a runtime existed on this thread and was freed */
    eddy_local_runtime *rt = t_local_rt();
    t_block_on(rt, t_identity, NULL);
    t_free_rt(rt);
    EXPECT_NULL_ERRNO(eddy_spawn(never, NULL), EPERM);
    EXPECT_NULL_ERRNO(eddy_spawn_local(never, NULL), EPERM);
}

static void *spawn_from_plain_thread(void *arg)
{
    (void)arg;
    errno = 0;
    eddy_task *a = eddy_spawn(never, NULL);
    int ea = errno;
    errno = 0;
    eddy_task *b = eddy_spawn_local(never, NULL);
    int eb = errno;
    return T_PTR(!a && !b && ea == EPERM && eb == EPERM);
}

Test(misuse, spawn_from_plain_thread_is_eperm, .timeout = T_TIMEOUT)
{
    pthread_t th = t_thread_start(spawn_from_plain_thread, NULL);
    cr_assert(T_INT(t_thread_join(th)));
    cr_assert_eq(atomic_load(&must_not_run), 0);
}

/* ---- spawn_local inside a current-thread Runtime task ---- */

static void *root_ct_spawn_local(void *arg)
{
    (void)arg;
    int ok = 1;
    errno = 0;
    eddy_task *t = eddy_spawn_local(never, NULL);
    if (t || errno != EPERM)
        ok = 0;
    if (t)
        eddy_detach(t);
    eddy_spawn_opts lo = { .local = true };
    errno = 0;
    t = eddy_spawn_with(&lo, never, NULL);
    if (t || errno != EPERM)
        ok = 0;
    if (t)
        eddy_detach(t);
    /* eddy_spawn is fine there */
    t = eddy_spawn(t_identity, T_PTR(2));
    void *r = NULL;
    if (!t || eddy_join(t, &r) != 0 || T_INT(r) != 2)
        ok = 0;
    return T_PTR(ok);
}

Test(misuse, spawn_local_in_current_thread_runtime_is_eperm, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_ct_rt();
    void *res = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, root_ct_spawn_local, NULL, &res), 0);
    cr_assert(T_INT(res));
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert_eq(atomic_load(&must_not_run), 0);
}

/* ---- nested block_on ---- */

static eddy_local_runtime *lrt, *lrt2;
static eddy_runtime *crt;

static void *root_nested(void *arg)
{
    (void)arg;
    int a = eddy_local_runtime_block_on(lrt, never, NULL, NULL);
    int b = eddy_local_runtime_block_on(lrt2, never, NULL, NULL);
    int c = eddy_runtime_block_on(crt, never, NULL, NULL);
    cr_expect_eq(a, -EBUSY, "nested block_on of the same LocalRuntime: %d", a);
    cr_expect_eq(b, -EBUSY, "block_on of another LocalRuntime inside a task: %d", b);
    cr_expect_eq(c, -EBUSY, "eddy_runtime_block_on inside a task: %d", c);
    return T_PTR(a == -EBUSY && b == -EBUSY && c == -EBUSY);
}

Test(misuse, nested_block_on_in_local_runtime_is_ebusy, .timeout = T_TIMEOUT)
{
    lrt = t_local_rt();
    lrt2 = t_local_rt();
    crt = t_ct_rt();
    cr_assert(T_INT(t_block_on(lrt, root_nested, NULL)));
    cr_assert_eq(atomic_load(&must_not_run), 0);
    /* all three still usable */
    cr_assert_eq(T_INT(t_block_on(lrt, t_identity, T_PTR(1))), 1);
    cr_assert_eq(T_INT(t_block_on(lrt2, t_identity, T_PTR(2))), 2);
    void *r = NULL;
    cr_assert_eq(eddy_runtime_block_on(crt, t_identity, T_PTR(3), &r), 0);
    cr_assert_eq(T_INT(r), 3);
    t_free_rt(lrt);
    t_free_rt(lrt2);
    cr_assert_eq(eddy_runtime_free(crt), 0);
}

static void *root_nested_ct(void *arg)
{
    (void)arg;
    int a = eddy_runtime_block_on(crt, never, NULL, NULL);
    int b = eddy_local_runtime_block_on(lrt, never, NULL, NULL);
    int c = eddy_runtime_free(crt);
    return T_PTR(a == -EBUSY && b == -EBUSY && c == -EBUSY);
}

Test(misuse, nested_block_on_in_runtime_is_ebusy, .timeout = T_TIMEOUT)
{
    lrt = t_local_rt();
    crt = t_ct_rt();
    void *r = NULL;
    cr_assert_eq(eddy_runtime_block_on(crt, root_nested_ct, NULL, &r), 0);
    cr_assert(T_INT(r), "nested block_on / free inside a Runtime task was not -EBUSY");
    cr_assert_eq(atomic_load(&must_not_run), 0);
    cr_assert_eq(eddy_runtime_free(crt), 0);
    t_free_rt(lrt);
}

/* ---- bad flavor / options ---- */

Test(misuse, local_runtime_multi_thread_is_einval, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_MULTI_THREAD };
    EXPECT_NULL_ERRNO(eddy_local_runtime_new(&o), EINVAL);
    /* explicit current-thread is fine */
    o.flavor = EDDY_FLAVOR_CURRENT_THREAD;
    eddy_local_runtime *rt = t_local_rt_opts(&o);
    t_free_rt(rt);
}

/* ---- NULL arguments ---- */

Test(misuse, null_arguments_outside_runtime, .timeout = T_TIMEOUT)
{
    void *res = (void *)&res;
    cr_assert_eq(eddy_join(NULL, &res), -EINVAL);
    cr_assert_eq(res, (void *)&res);
    cr_assert_eq(eddy_join(NULL, NULL), -EINVAL);
    eddy_abort(NULL);
    eddy_detach(NULL);
    cr_assert_not(eddy_is_finished(NULL));
    cr_assert_not(eddy_is_cancelled(NULL));
    cr_assert_eq(eddy_task_id(NULL), 0);
    cr_assert_null(eddy_task_name(NULL));

    cr_assert_eq(eddy_local_runtime_block_on(NULL, never, NULL, NULL), -EINVAL);
    cr_assert_eq(eddy_runtime_block_on(NULL, never, NULL, NULL), -EINVAL);
    EXPECT_NULL_ERRNO(eddy_local_runtime_spawn_local(NULL, never, NULL), EINVAL);
    EXPECT_NULL_ERRNO(eddy_handle_spawn(NULL, never, NULL), EINVAL);
    EXPECT_NULL_ERRNO(eddy_handle_spawn_blocking(NULL, never, NULL), EINVAL);
    EXPECT_NULL_ERRNO(eddy_runtime_enter(NULL), EINVAL);
    cr_assert_null(eddy_handle_clone(NULL));
    eddy_handle_release(NULL);
    cr_assert_eq(eddy_local_runtime_free(NULL), -EINVAL);
    cr_assert_eq(eddy_local_runtime_shutdown_timeout(NULL, 1), -EINVAL);
    cr_assert_eq(eddy_local_runtime_shutdown_background(NULL), -EINVAL);
    cr_assert_eq(eddy_runtime_free(NULL), -EINVAL);
    cr_assert_eq(eddy_runtime_shutdown_timeout(NULL, 1), -EINVAL);
    cr_assert_eq(eddy_runtime_shutdown_background(NULL), -EINVAL);
    cr_assert_eq(eddy_join_set_join_next(NULL, NULL, NULL), -EINVAL);
    cr_assert_eq(eddy_join_set_add(NULL, NULL), -EINVAL);
    eddy_join_set_free(NULL);
    cr_assert_eq(atomic_load(&must_not_run), 0);
}

Test(misuse, null_arguments_with_runtime, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    cr_assert_eq(eddy_local_runtime_block_on(rt, NULL, NULL, NULL), -EINVAL);
    EXPECT_NULL_ERRNO(eddy_local_runtime_spawn_local(rt, NULL, NULL), EINVAL);
    eddy_handle *h = eddy_local_runtime_handle(rt);
    cr_assert_not_null(h);
    EXPECT_NULL_ERRNO(eddy_handle_spawn(h, NULL, NULL), EINVAL);
    EXPECT_NULL_ERRNO(eddy_handle_spawn_blocking(h, NULL, NULL), EINVAL);
    eddy_handle_release(h);

    eddy_enter_guard *g = eddy_local_runtime_enter(rt);
    cr_assert_not_null(g);
    EXPECT_NULL_ERRNO(eddy_spawn(NULL, NULL), EINVAL);
    EXPECT_NULL_ERRNO(eddy_spawn_local(NULL, NULL), EINVAL);
    EXPECT_NULL_ERRNO(eddy_spawn_with(NULL, NULL, NULL), EINVAL);
    EXPECT_NULL_ERRNO(eddy_spawn_blocking(NULL, NULL), EINVAL);
    cr_assert_eq(eddy_enter_guard_drop(g), 0);

    eddy_runtime *crt2 = t_ct_rt();
    cr_assert_eq(eddy_runtime_block_on(crt2, NULL, NULL, NULL), -EINVAL);
    cr_assert_eq(eddy_runtime_free(crt2), 0);

    /* the runtime is unharmed */
    cr_assert_eq(T_INT(t_block_on(rt, t_identity, T_PTR(5))), 5);
    t_free_rt(rt);
}

static void *root_null_in_task(void *arg)
{
    (void)arg;
    int ok = 1;
    errno = 0;
    if (eddy_spawn(NULL, NULL) || errno != EINVAL)
        ok = 0;
    errno = 0;
    if (eddy_spawn_local(NULL, NULL) || errno != EINVAL)
        ok = 0;
    errno = 0;
    if (eddy_spawn_blocking(NULL, NULL) || errno != EINVAL)
        ok = 0;
    if (eddy_join(NULL, NULL) != -EINVAL)
        ok = 0;
    eddy_abort(NULL);
    eddy_detach(NULL);
    return T_PTR(ok);
}

Test(misuse, null_arguments_inside_task, .timeout = T_TIMEOUT)
{
    cr_assert(T_INT(t_run_local(root_null_in_task, NULL)));
}

/* ---- enter guards ---- */

Test(misuse, enter_guard_drop_out_of_order, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_enter_guard *g1 = eddy_local_runtime_enter(rt);
    eddy_enter_guard *g2 = eddy_local_runtime_enter(rt);
    eddy_enter_guard *g3 = eddy_local_runtime_enter(rt);
    cr_assert_not_null(g1);
    cr_assert_not_null(g2);
    cr_assert_not_null(g3);
    cr_assert_eq(eddy_enter_guard_drop(g1), -EINVAL);
    cr_assert_eq(eddy_enter_guard_drop(g2), -EINVAL);
    cr_assert_eq(eddy_enter_guard_drop(g3), 0);
    cr_assert_eq(eddy_enter_guard_drop(g1), -EINVAL);
    cr_assert_eq(eddy_enter_guard_drop(g2), 0);
    /* still inside g1: spawning works */
    eddy_task *t = eddy_spawn(t_identity, NULL);
    cr_assert_not_null(t);
    eddy_detach(t);
    cr_assert_eq(eddy_enter_guard_drop(g1), 0);
    EXPECT_NULL_ERRNO(eddy_spawn(t_identity, NULL), EPERM);
    t_free_rt(rt);
}

/* an enter guard inside a task: a task already has a context; entering the
 * same runtime from inside nests and unwinds cleanly */
static eddy_local_runtime *guard_rt;

static void *root_enter_inside(void *arg)
{
    (void)arg;
    eddy_enter_guard *g = eddy_local_runtime_enter(guard_rt);
    if (!g)
        return T_PTR(0);
    eddy_task *t = eddy_spawn(t_identity, T_PTR(4));
    int rc = eddy_enter_guard_drop(g);
    void *r = NULL;
    int jrc = t ? eddy_join(t, &r) : -1000;
    return T_PTR(rc == 0 && jrc == 0 && T_INT(r) == 4);
}

Test(misuse, enter_guard_inside_task, .timeout = T_TIMEOUT)
{
    guard_rt = t_local_rt();
    cr_assert(T_INT(t_block_on(guard_rt, root_enter_inside, NULL)));
    t_free_rt(guard_rt);
}
