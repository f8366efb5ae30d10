/* Cooperative cancellation: eddy_abort, -ECANCELED from suspending calls,
 * join of aborted tasks, eddy_is_cancelled, eddy_current_task_cancelled. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

/* A task that yields until *release is set. Records whether it was itself
 * cancelled. */
struct waiter {
    int release;   /* plain: the LocalRuntime is single-threaded */
    int started;
    int done;
    int saw_cancel;
};

static void *wait_for_release(void *arg)
{
    struct waiter *w = arg;
    w->started = 1;
    while (!w->release) {
        if (eddy_yield() != 0) {
            w->saw_cancel = 1;
            return NULL;
        }
    }
    w->done = 1;
    return arg;
}

/* ---- abort of a task parked in eddy_join ---- */

static struct waiter jb;
static eddy_task *jb_task;

static struct {
    int entered;
    int join_rc;
    void *join_res;
    bool cancelled_after;
    int yield_rc1, yield_rc2;
    int spawn_ok;
    int join2_rc;
} ja;

static void *joins_b(void *arg)
{
    (void)arg;
    ja.entered = 1;
    ja.join_res = (void *)&ja;
    ja.join_rc = eddy_join(jb_task, &ja.join_res); /* parks until aborted */
    ja.cancelled_after = eddy_current_task_cancelled();
    ja.yield_rc1 = eddy_yield();
    ja.yield_rc2 = eddy_yield();
    eddy_task *c = eddy_spawn(t_identity, NULL); /* spawning does not suspend */
    ja.spawn_ok = c != NULL;
    ja.join2_rc = c ? eddy_join(c, NULL) : -ECANCELED;
    return T_PTR(99);
}

static void *root_abort_in_join(void *arg)
{
    (void)arg;
    bool ok;
    jb_task = eddy_spawn(wait_for_release, &jb);
    eddy_task *a = eddy_spawn(joins_b, NULL);
    T_YIELD_UNTIL(ok, ja.entered && jb.started);
    cr_expect(ok);
    eddy_yield();
    cr_expect_not(eddy_is_finished(a));
    cr_expect_not(eddy_is_cancelled(a));

    eddy_abort(a);
    cr_expect(eddy_is_cancelled(a));
    void *res = NULL;
    int rc = eddy_join(a, &res);
    cr_expect_eq(rc, -ECANCELED, "join of aborted task: %d", rc);
    cr_expect_eq(T_INT(res), 99, "*result should hold what the aborted task returned");

    /* The task A was joining is detached, not cancelled: it keeps going. */
    cr_expect_not(jb.done);
    jb.release = 1;
    T_YIELD_UNTIL(ok, jb.done);
    cr_expect(ok, "the task joined by the aborted task did not run to completion");
    cr_expect_not(jb.saw_cancel);
    return NULL;
}

Test(abort, task_parked_in_join, .timeout = T_TIMEOUT)
{
    t_run_local(root_abort_in_join, NULL);
    cr_assert_eq(ja.join_rc, -ECANCELED, "parked join returned %d", ja.join_rc);
    cr_assert(ja.cancelled_after);
    cr_assert_eq(ja.yield_rc1, -ECANCELED);
    cr_assert_eq(ja.yield_rc2, -ECANCELED);
    cr_assert(ja.spawn_ok);
    cr_assert_eq(ja.join2_rc, -ECANCELED);
}

/* ---- abort of a task parked in eddy_yield ---- */

static struct {
    int iters;
    int rc;
    int rc_after;
    int rc_after2;
    bool cancelled_before;
    bool cancelled_after;
} yl;

static void *yield_looper(void *arg)
{
    int rc;
    yl.cancelled_before = eddy_current_task_cancelled();
    while ((rc = eddy_yield()) == 0)
        yl.iters++;
    yl.rc = rc;
    yl.cancelled_after = eddy_current_task_cancelled();
    yl.rc_after = eddy_yield();
    yl.rc_after2 = eddy_yield();
    return arg;
}

static int n_aborts = 1;

static void *root_abort_in_yield(void *arg)
{
    (void)arg;
    bool ok;
    eddy_task *t = eddy_spawn(yield_looper, T_PTR(5));
    T_YIELD_UNTIL(ok, yl.iters >= 3);
    cr_expect(ok);
    for (int i = 0; i < n_aborts; i++)
        eddy_abort(t);
    cr_expect(eddy_is_cancelled(t));
    void *res = NULL;
    int rc = eddy_join(t, &res);
    cr_expect_eq(rc, -ECANCELED, "join of aborted looper: %d", rc);
    cr_expect_eq(T_INT(res), 5);
    return NULL;
}

Test(abort, task_parked_in_yield, .timeout = T_TIMEOUT)
{
    t_run_local(root_abort_in_yield, NULL);
    cr_assert_not(yl.cancelled_before);
    cr_assert_eq(yl.rc, -ECANCELED);
    cr_assert(yl.cancelled_after);
    cr_assert_eq(yl.rc_after, -ECANCELED);
    cr_assert_eq(yl.rc_after2, -ECANCELED);
}

Test(abort, repeated_aborts_are_harmless, .timeout = T_TIMEOUT)
{
    n_aborts = 5;
    t_run_local(root_abort_in_yield, NULL);
    cr_assert_eq(yl.rc, -ECANCELED);
    cr_assert_eq(yl.rc_after, -ECANCELED);
}

/* ---- abort of a task parked in a join of a blocking task ---- */

static sem_t blk_release, blk_done;
static atomic_int blk_started, blk_finished;
static struct {
    int entered;
    int rc;
    int yield_rc;
} bj;

static void *blocking_waits(void *arg)
{
    atomic_store(&blk_started, 1);
    t_sem_wait(&blk_release);
    atomic_store(&blk_finished, 1);
    sem_post(&blk_done);
    return arg;
}

static void *joins_blocking(void *arg)
{
    (void)arg;
    eddy_task *b = eddy_spawn_blocking(blocking_waits, NULL);
    if (!b) {
        bj.rc = -1000;
        return NULL;
    }
    bj.entered = 1;
    bj.rc = eddy_join(b, NULL);
    bj.yield_rc = eddy_yield();
    return NULL;
}

static void *root_abort_blocking_join(void *arg)
{
    (void)arg;
    bool ok;
    eddy_task *a = eddy_spawn(joins_blocking, NULL);
    T_YIELD_UNTIL(ok, bj.entered && atomic_load(&blk_started));
    cr_expect(ok, "blocking task never started");
    eddy_abort(a);
    int rc = eddy_join(a, NULL);
    cr_expect_eq(rc, -ECANCELED);
    /* The joiner came back while the blocking function is still waiting. */
    cr_expect_eq(atomic_load(&blk_finished), 0,
                 "the cancelled join waited for the blocking function");
    return NULL;
}

Test(abort, task_parked_in_blocking_join, .timeout = T_TIMEOUT)
{
    sem_init(&blk_release, 0, 0);
    sem_init(&blk_done, 0, 0);
    eddy_local_runtime *rt = t_local_rt();
    t_block_on(rt, root_abort_blocking_join, NULL);
    cr_assert_eq(bj.rc, -ECANCELED, "join of blocking task returned %d", bj.rc);
    cr_assert_eq(bj.yield_rc, -ECANCELED);
    cr_assert_eq(atomic_load(&blk_finished), 0);
    /* Let the (detached) blocking function finish on its own. */
    sem_post(&blk_release);
    cr_assert(t_sem_wait(&blk_done));
    t_free_rt(rt);
    cr_assert_eq(atomic_load(&blk_finished), 1);
}

/* ---- aborting a finished task does nothing ---- */

static void *root_abort_finished(void *arg)
{
    (void)arg;
    bool ok;
    eddy_task *t = eddy_spawn(t_identity, T_PTR(31));
    T_YIELD_UNTIL(ok, eddy_is_finished(t));
    cr_expect(ok);
    eddy_abort(t);
    eddy_abort(t);
    void *res = NULL;
    int rc = eddy_join(t, &res);
    cr_expect_eq(rc, 0, "join of a task aborted after it finished: %d", rc);
    cr_expect_eq(T_INT(res), 31);
    return NULL;
}

Test(abort, abort_finished_task_does_nothing, .timeout = T_TIMEOUT)
{
    t_run_local(root_abort_finished, NULL);
    eddy_abort(NULL); /* ignored */
}

/* ---- abort of a task that never started ---- */

static atomic_int ns_flag;

static void *root_abort_not_started(void *arg)
{
    (void)arg;
    bool ok;
    eddy_task *t = eddy_spawn(t_set_flag, &ns_flag);
    eddy_abort(t);
    cr_expect(eddy_is_cancelled(t));
    T_YIELD_UNTIL(ok, eddy_is_finished(t));
    cr_expect(ok, "a task cancelled before it ran never counts as finished");
    void *res = (void *)&res;
    int rc = eddy_join(t, &res);
    cr_expect_eq(rc, -ECANCELED, "join: %d", rc);
    cr_expect_null(res, "*result should be NULL for a task that never ran");
    return NULL;
}

Test(abort, abort_before_start_never_runs, .timeout = T_TIMEOUT)
{
    t_run_local(root_abort_not_started, NULL);
    cr_assert_eq(atomic_load(&ns_flag), 0, "aborted task ran");
}

static void *root_join_given(void *arg)
{
    void *res = (void *)&res;
    int rc = eddy_join(arg, &res);
    cr_expect_null(res);
    /* give the runtime every chance to (wrongly) run it */
    for (int i = 0; i < 10; i++)
        eddy_yield();
    return T_PTR(rc);
}

Test(abort, abort_before_block_on_never_runs, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_task *t = eddy_local_runtime_spawn_local(rt, t_set_flag, &ns_flag);
    cr_assert_not_null(t);
    eddy_abort(t);
    cr_assert(eddy_is_cancelled(t));
    int rc = T_INT(t_block_on(rt, root_join_given, t));
    cr_assert_eq(rc, -ECANCELED, "join: %d", rc);
    cr_assert_eq(atomic_load(&ns_flag), 0, "aborted task ran");
    t_free_rt(rt);
}

/* ---- a task aborting itself ---- */

static eddy_task *self_t;
static struct {
    bool before, after;
    int yield_rc;
} sa;

static void *aborts_itself(void *arg)
{
    sa.before = eddy_current_task_cancelled();
    eddy_abort(self_t); /* does not suspend */
    sa.after = eddy_current_task_cancelled();
    sa.yield_rc = eddy_yield();
    return arg;
}

static void *root_self_abort(void *arg)
{
    (void)arg;
    self_t = eddy_spawn(aborts_itself, T_PTR(3));
    void *res = NULL;
    int rc = eddy_join(self_t, &res);
    cr_expect_eq(T_INT(res), 3);
    return T_PTR(rc);
}

Test(abort, current_task_cancelled_after_self_abort, .timeout = T_TIMEOUT)
{
    int rc = T_INT(t_run_local(root_self_abort, NULL));
    cr_assert_eq(rc, -ECANCELED);
    cr_assert_not(sa.before);
    cr_assert(sa.after);
    cr_assert_eq(sa.yield_rc, -ECANCELED);
}

/* A long computation can poll eddy_current_task_cancelled(). */
static int compute_steps;

static void *computes(void *arg)
{
    (void)arg;
    while (!eddy_current_task_cancelled()) {
        compute_steps++;
        if (compute_steps % 10 == 0)
            eddy_yield();   /* let the aborter run */
        if (compute_steps > 100000000)
            break;
    }
    return NULL;
}

static void *root_compute(void *arg)
{
    (void)arg;
    bool ok;
    eddy_task *t = eddy_spawn(computes, NULL);
    T_YIELD_UNTIL(ok, compute_steps >= 100);
    cr_expect(ok);
    eddy_abort(t);
    return T_PTR(eddy_join(t, NULL));
}

Test(abort, computation_polls_cancellation, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(root_compute, NULL)), -ECANCELED);
    cr_assert_lt(compute_steps, 100000000);
}

/* ---- abort from another thread wakes a task parked in join ---- */

static struct waiter xw;
static eddy_task *x_waiter, *x_parked;
static atomic_int x_go, x_aborted;
static int x_join_rc = 1;
static int x_entered;

static void *x_joiner(void *arg)
{
    (void)arg;
    x_entered = 1;
    x_join_rc = eddy_join(x_waiter, NULL);
    return NULL;
}

static void *x_thread(void *arg)
{
    (void)arg;
    bool ok;
    T_SPIN_UNTIL(ok, atomic_load(&x_go));
    if (ok)
        eddy_abort(x_parked);
    atomic_store(&x_aborted, 1);
    return NULL;
}

static void *root_cross_thread_abort(void *arg)
{
    (void)arg;
    bool ok;
    x_waiter = eddy_spawn(wait_for_release, &xw);
    x_parked = eddy_spawn(x_joiner, NULL);
    T_YIELD_UNTIL(ok, x_entered && xw.started);
    eddy_yield();
    atomic_store(&x_go, 1);
    T_YIELD_UNTIL(ok, atomic_load(&x_aborted));
    cr_expect(ok);
    int rc = eddy_join(x_parked, NULL);
    cr_expect_eq(rc, -ECANCELED);
    xw.release = 1;
    T_YIELD_UNTIL(ok, xw.done);
    cr_expect(ok);
    return NULL;
}

Test(abort, abort_from_another_thread, .timeout = T_TIMEOUT)
{
    pthread_t th = t_thread_start(x_thread, NULL);
    t_run_local(root_cross_thread_abort, NULL);
    t_thread_join(th);
    cr_assert_eq(x_join_rc, -ECANCELED);
}
