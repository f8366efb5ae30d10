/* Thread affinity: every function taking an eddy_local_runtime * refuses to
 * work off the owner thread (-EPERM / NULL + EPERM) and changes nothing. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

static atomic_int forbidden_ran;

static void *forbidden(void *arg)
{
    atomic_store(&forbidden_ran, 1);
    return arg;
}

struct foreign {
    eddy_local_runtime *rt;
    int block_on_rc;
    bool spawn_null;
    int spawn_errno;
    bool enter_null;
    int enter_errno;
    bool handle_null;
    int handle_errno;
    int shutdown_timeout_rc;
    int shutdown_background_rc;
    int free_rc;
};

static void *foreign_thread(void *arg)
{
    struct foreign *f = arg;
    void *res = NULL;
    f->block_on_rc = eddy_local_runtime_block_on(f->rt, forbidden, NULL, &res);

    errno = 0;
    eddy_task *t = eddy_local_runtime_spawn_local(f->rt, forbidden, NULL);
    f->spawn_null = t == NULL;
    f->spawn_errno = errno;
    if (t)
        eddy_detach(t);

    errno = 0;
    eddy_enter_guard *g = eddy_local_runtime_enter(f->rt);
    f->enter_null = g == NULL;
    f->enter_errno = errno;
    if (g)
        eddy_enter_guard_drop(g);

    errno = 0;
    eddy_handle *h = eddy_local_runtime_handle(f->rt);
    f->handle_null = h == NULL;
    f->handle_errno = errno;
    if (h)
        eddy_handle_release(h);

    f->shutdown_timeout_rc = eddy_local_runtime_shutdown_timeout(f->rt, 10);
    f->shutdown_background_rc = eddy_local_runtime_shutdown_background(f->rt);
    f->free_rc = eddy_local_runtime_free(f->rt);
    return NULL;
}

static void check_foreign(const struct foreign *f)
{
    cr_assert_eq(f->block_on_rc, -EPERM, "block_on: %d", f->block_on_rc);
    cr_assert(f->spawn_null, "spawn_local from another thread succeeded");
    cr_assert_eq(f->spawn_errno, EPERM);
    cr_assert(f->enter_null, "enter from another thread succeeded");
    cr_assert_eq(f->enter_errno, EPERM);
    cr_assert(f->handle_null, "handle from another thread succeeded");
    cr_assert_eq(f->handle_errno, EPERM);
    cr_assert_eq(f->shutdown_timeout_rc, -EPERM);
    cr_assert_eq(f->shutdown_background_rc, -EPERM);
    cr_assert_eq(f->free_rc, -EPERM);
}

/* The runtime still works normally on its owner. */
static void *root_still_works(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(t_identity, T_PTR(21));
    void *r = NULL;
    int rc = t ? eddy_join(t, &r) : -1000;
    return T_PTR(rc == 0 ? T_INT(r) * 2 : rc);
}

static void check_still_works(eddy_local_runtime *rt)
{
    cr_assert_eq(T_INT(t_block_on(rt, root_still_works, NULL)), 42);
    eddy_task *t = eddy_local_runtime_spawn_local(rt, t_identity, T_PTR(1));
    cr_assert_not_null(t);
    eddy_detach(t);
    eddy_handle *h = eddy_local_runtime_handle(rt);
    cr_assert_not_null(h);
    eddy_handle_release(h);
    eddy_enter_guard *g = eddy_local_runtime_enter(rt);
    cr_assert_not_null(g);
    cr_assert_eq(eddy_enter_guard_drop(g), 0);
    cr_assert_eq(atomic_load(&forbidden_ran), 0, "a refused call ran its function");
    t_free_rt(rt);
}

Test(thread_affinity, calls_from_other_thread_while_idle, .timeout = T_TIMEOUT)
{
    struct foreign f = { .rt = t_local_rt() };
    pthread_t th = t_thread_start(foreign_thread, &f);
    t_thread_join(th);
    check_foreign(&f);
    check_still_works(f.rt);
}

/* Same while the owner is inside block_on. */
static atomic_int foreign_done;

static void *foreign_thread_flag(void *arg)
{
    foreign_thread(arg);
    atomic_store(&foreign_done, 1);
    return NULL;
}

static void *root_wait_foreign(void *arg)
{
    (void)arg;
    bool ok;
    T_YIELD_UNTIL(ok, atomic_load(&foreign_done));
    return T_PTR(ok);
}

Test(thread_affinity, calls_from_other_thread_during_block_on, .timeout = T_TIMEOUT)
{
    struct foreign f = { .rt = t_local_rt() };
    pthread_t th = t_thread_start(foreign_thread_flag, &f);
    cr_assert(T_INT(t_block_on(f.rt, root_wait_foreign, NULL)));
    t_thread_join(th);
    check_foreign(&f);
    check_still_works(f.rt);
}

/* A runtime made on another thread is foreign to this one (the test
 * thread), and its owner can still use and free it afterwards. */
static _Atomic(eddy_local_runtime *) other_rt;
static atomic_int other_go;

static void *owner_elsewhere(void *arg)
{
    (void)arg;
    bool ok;
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    atomic_store(&other_rt, rt);
    if (!rt)
        return T_PTR(-1);
    T_SPIN_UNTIL(ok, atomic_load(&other_go));
    void *res = NULL;
    int rc = eddy_local_runtime_block_on(rt, t_identity, T_PTR(3), &res);
    int frc = eddy_local_runtime_free(rt);
    return T_PTR(ok && rc == 0 && frc == 0 && T_INT(res) == 3);
}

Test(thread_affinity, runtime_owned_by_another_thread, .timeout = T_TIMEOUT)
{
    bool ok;
    pthread_t th = t_thread_start(owner_elsewhere, NULL);
    T_SPIN_UNTIL(ok, atomic_load(&other_rt) != NULL);
    cr_assert(ok);
    eddy_local_runtime *rt = atomic_load(&other_rt);
    cr_assert_eq(eddy_local_runtime_block_on(rt, forbidden, NULL, NULL), -EPERM);
    errno = 0;
    cr_assert_null(eddy_local_runtime_spawn_local(rt, forbidden, NULL));
    cr_assert_eq(errno, EPERM);
    errno = 0;
    cr_assert_null(eddy_local_runtime_handle(rt));
    cr_assert_eq(errno, EPERM);
    cr_assert_eq(eddy_local_runtime_free(rt), -EPERM);
    atomic_store(&other_go, 1);
    cr_assert_eq(T_INT(t_thread_join(th)), 1, "the owner could not use its runtime afterwards");
    cr_assert_eq(atomic_load(&forbidden_ran), 0);
}

/* ---- enter guards are bound to the entering thread ---- */

struct guard_drop {
    eddy_enter_guard *g;
    int rc;
};

static void *drop_guard_thread(void *arg)
{
    struct guard_drop *d = arg;
    d->rc = eddy_enter_guard_drop(d->g);
    return NULL;
}

static atomic_int guarded_ran;

static void *root_yield(void *arg)
{
    for (int i = 0; i < 5; i++)
        eddy_yield();
    return arg;
}

Test(thread_affinity, guard_drop_from_other_thread, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    struct guard_drop d = { .g = eddy_local_runtime_enter(rt) };
    cr_assert_not_null(d.g);
    pthread_t th = t_thread_start(drop_guard_thread, &d);
    t_thread_join(th);
    cr_assert_eq(d.rc, -EPERM);
    /* the guard is still in place */
    eddy_task *t = eddy_spawn(t_set_flag, &guarded_ran);
    cr_assert_not_null(t, "guard was dropped by the refused call");
    eddy_detach(t);
    cr_assert_eq(eddy_enter_guard_drop(d.g), 0);
    t_block_on(rt, root_yield, NULL);
    cr_assert_eq(atomic_load(&guarded_ran), 1);
    t_free_rt(rt);
}

/* A thread with no context of its own cannot spawn while the owner has
 * one entered: contexts are per thread. */
static void *spawn_without_context(void *arg)
{
    (void)arg;
    errno = 0;
    eddy_task *t = eddy_spawn(forbidden, NULL);
    int e = errno;
    if (t) {
        eddy_detach(t);
        return T_PTR(-1);
    }
    return T_PTR(e);
}

Test(thread_affinity, enter_guard_is_per_thread, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_enter_guard *g = eddy_local_runtime_enter(rt);
    cr_assert_not_null(g);
    pthread_t th = t_thread_start(spawn_without_context, NULL);
    cr_assert_eq(T_INT(t_thread_join(th)), EPERM);
    cr_assert_eq(eddy_enter_guard_drop(g), 0);
    t_free_rt(rt);
    cr_assert_eq(atomic_load(&forbidden_ran), 0);
}
