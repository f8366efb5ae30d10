/* Shutdown of a LocalRuntime: free / shutdown_timeout / shutdown_background
 * with tasks still parked or blocking work still running.
 *
 * The first test is meant to be run under valgrind as well, e.g.
 *   valgrind --trace-children=yes --leak-check=full --errors-for-leak-kinds=definite \
 *            --error-exitcode=1 build/release/tests/test_shutdown --filter 'shutdown/free_*'
 * so every task frees what it allocated on its way out. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

/* ---- free cancels parked tasks; each runs its cleanup ---- */

struct parked_record {
    int parked;      /* reached its suspension point */
    int rc;          /* what the suspending call returned */
    int cleaned_up;  /* freed its memory */
};

static struct parked_record in_join, in_yield[3], in_blocking_join, never_ending;
static sem_t blk_release, blk_done;
static atomic_int blk_started, blk_finished;
static eddy_task *never_task;

/* Never finishes on its own: yields until cancelled. */
static void *never_finishes(void *arg)
{
    struct parked_record *r = arg;
    char *mem = malloc(4096);
    memset(mem, 1, 4096);
    r->parked = 1;
    int rc;
    while ((rc = eddy_yield()) == 0) {
    }
    r->rc = rc;
    free(mem);
    r->cleaned_up = 1;
    return NULL;
}

static void *parks_in_join(void *arg)
{
    struct parked_record *r = arg;
    char *mem = malloc(1000);
    r->parked = 1;
    r->rc = eddy_join(never_task, NULL);
    free(mem);
    r->cleaned_up = 1;
    return NULL;
}

static void *blocking_until_released(void *arg)
{
    (void)arg;
    atomic_store(&blk_started, 1);
    t_sem_wait(&blk_release);
    atomic_store(&blk_finished, 1);
    sem_post(&blk_done);
    return NULL;
}

static void *parks_in_blocking_join(void *arg)
{
    struct parked_record *r = arg;
    char *mem = malloc(2000);
    eddy_task *b = eddy_spawn_blocking(blocking_until_released, NULL);
    if (!b) {
        free(mem);
        return NULL;
    }
    r->parked = 1;
    r->rc = eddy_join(b, NULL);
    /* cancelled: let the blocking function go so free() can finish waiting */
    sem_post(&blk_release);
    free(mem);
    r->cleaned_up = 1;
    return NULL;
}

static void *root_park_everything(void *arg)
{
    (void)arg;
    bool ok;
    never_task = eddy_spawn(never_finishes, &never_ending);
    eddy_detach(eddy_spawn(parks_in_join, &in_join));
    for (int i = 0; i < 3; i++)
        eddy_detach(eddy_spawn(never_finishes, &in_yield[i]));
    eddy_detach(eddy_spawn(parks_in_blocking_join, &in_blocking_join));
    T_YIELD_UNTIL(ok, in_join.parked && never_ending.parked && in_yield[0].parked &&
                          in_yield[1].parked && in_yield[2].parked &&
                          in_blocking_join.parked && atomic_load(&blk_started));
    return T_PTR(ok);
}

static void check_cancelled(const struct parked_record *r, const char *what)
{
    cr_assert(r->parked, "%s never parked", what);
    cr_assert_eq(r->rc, -ECANCELED, "%s: suspending call returned %d", what, r->rc);
    cr_assert(r->cleaned_up, "%s did not run its cleanup", what);
}

Test(shutdown, free_cancels_parked_tasks, .timeout = T_TIMEOUT)
{
    sem_init(&blk_release, 0, 0);
    sem_init(&blk_done, 0, 0);
    eddy_local_runtime *rt = t_local_rt();
    cr_assert(T_INT(t_block_on(rt, root_park_everything, NULL)));
    cr_assert_eq(in_join.rc, 0);
    cr_assert_not(in_join.cleaned_up);

    t_free_rt(rt); /* cancels all, drives each to its exit, waits for blocking work */

    check_cancelled(&in_join, "task parked in join");
    check_cancelled(&never_ending, "never-ending task");
    for (int i = 0; i < 3; i++)
        check_cancelled(&in_yield[i], "task parked in yield");
    check_cancelled(&in_blocking_join, "task parked in a blocking join");
    /* free waits for blocking work: the blocking function is done */
    cr_assert_eq(atomic_load(&blk_finished), 1);
    sem_destroy(&blk_release);
    sem_destroy(&blk_done);
}

/* ---- tasks that never ran are dropped; their handles report -ECANCELED ---- */

static atomic_int never_ran_flag;

Test(shutdown, free_drops_unstarted_tasks, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_task *t = eddy_local_runtime_spawn_local(rt, t_set_flag, &never_ran_flag);
    cr_assert_not_null(t);
    eddy_enter_guard *g = eddy_local_runtime_enter(rt);
    cr_assert_not_null(g);
    eddy_detach(eddy_spawn(t_set_flag, &never_ran_flag));
    cr_assert_eq(eddy_enter_guard_drop(g), 0);
    t_free_rt(rt);

    cr_assert(eddy_is_finished(t));
    cr_assert(eddy_is_cancelled(t));
    void *res = (void *)&res;
    cr_assert_eq(eddy_join(t, &res), -ECANCELED); /* the handle outlives the runtime */
    cr_assert_null(res);
    cr_assert_eq(atomic_load(&never_ran_flag), 0);
}

static void *root_yield_a_few(void *arg)
{
    for (int i = 0; i < 5; i++)
        eddy_yield();
    return arg;
}

/* A finished-but-unjoined task's handle is still joinable after free. */
Test(shutdown, finished_handle_outlives_runtime, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_task *t = eddy_local_runtime_spawn_local(rt, t_identity, T_PTR(8));
    cr_assert_not_null(t);
    t_block_on(rt, root_yield_a_few, NULL); /* t runs while the root yields */
    cr_assert(eddy_is_finished(t));
    t_free_rt(rt);
    void *res = NULL;
    cr_assert_eq(eddy_join(t, &res), 0);
    cr_assert_eq(T_INT(res), 8);
}

/* ---- shutdown_timeout ---- */

static void *root_start_blocking(void *arg)
{
    (void)arg;
    bool ok;
    eddy_task *b = eddy_spawn_blocking(blocking_until_released, NULL);
    cr_expect_not_null(b);
    eddy_detach(b);
    T_YIELD_UNTIL(ok, atomic_load(&blk_started));
    return T_PTR(ok);
}

Test(shutdown, shutdown_timeout_expires_with_blocking_work, .timeout = T_TIMEOUT)
{
    sem_init(&blk_release, 0, 0);
    sem_init(&blk_done, 0, 0);
    eddy_local_runtime *rt = t_local_rt();
    cr_assert(T_INT(t_block_on(rt, root_start_blocking, NULL)));
    int rc = eddy_local_runtime_shutdown_timeout(rt, 50);
    cr_assert_eq(rc, -ETIMEDOUT, "shutdown_timeout: %d", rc);
    cr_assert_eq(atomic_load(&blk_finished), 0);
    /* the blocking function finishes later on its own */
    sem_post(&blk_release);
    cr_assert(t_sem_wait(&blk_done));
    t_sleep_ms(100); /* let the pool thread wind down; the process must stay valid */
    cr_assert_eq(atomic_load(&blk_finished), 1);
}

static void *root_join_blocking(void *arg)
{
    (void)arg;
    eddy_task *b = eddy_spawn_blocking(t_identity, T_PTR(3));
    void *r = NULL;
    int rc = eddy_join(b, &r);
    return T_PTR(rc == 0 && T_INT(r) == 3);
}

Test(shutdown, shutdown_timeout_with_nothing_running, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    cr_assert(T_INT(t_block_on(rt, root_join_blocking, NULL)));
    cr_assert_eq(eddy_local_runtime_shutdown_timeout(rt, 5000), 0);

    rt = t_local_rt();
    cr_assert_eq(eddy_local_runtime_shutdown_timeout(rt, 0), 0);
}

/* shutdown_timeout also cancels parked tasks */
static struct parked_record st_looper;

static void *root_leave_looper(void *arg)
{
    (void)arg;
    bool ok;
    eddy_detach(eddy_spawn(never_finishes, &st_looper));
    T_YIELD_UNTIL(ok, st_looper.parked);
    return T_PTR(ok);
}

Test(shutdown, shutdown_timeout_cancels_parked_tasks, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    cr_assert(T_INT(t_block_on(rt, root_leave_looper, NULL)));
    cr_assert_eq(eddy_local_runtime_shutdown_timeout(rt, 1000), 0);
    check_cancelled(&st_looper, "looper");
}

/* ---- shutdown_background does not wait ---- */

Test(shutdown, shutdown_background_does_not_wait, .timeout = T_TIMEOUT)
{
    sem_init(&blk_release, 0, 0);
    sem_init(&blk_done, 0, 0);
    eddy_local_runtime *rt = t_local_rt();
    cr_assert(T_INT(t_block_on(rt, root_start_blocking, NULL)));
    /* If this waited for the blocking function, it would never return:
     * nothing releases it until after. */
    cr_assert_eq(eddy_local_runtime_shutdown_background(rt), 0);
    cr_assert_eq(atomic_load(&blk_finished), 0);
    sem_post(&blk_release);
    cr_assert(t_sem_wait(&blk_done));
    t_sleep_ms(100); /* let the pool thread wind down */
    cr_assert_eq(atomic_load(&blk_finished), 1);
}

Test(shutdown, shutdown_background_cancels_parked_tasks, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    cr_assert(T_INT(t_block_on(rt, root_leave_looper, NULL)));
    cr_assert_eq(eddy_local_runtime_shutdown_background(rt), 0);
    check_cancelled(&st_looper, "looper");
}

/* ---- free waits for blocking work still running ---- */

static void *releaser_thread(void *arg)
{
    (void)arg;
    t_sleep_ms(100);
    sem_post(&blk_release);
    return NULL;
}

Test(shutdown, free_waits_for_blocking_work, .timeout = T_TIMEOUT)
{
    sem_init(&blk_release, 0, 0);
    sem_init(&blk_done, 0, 0);
    eddy_local_runtime *rt = t_local_rt();
    cr_assert(T_INT(t_block_on(rt, root_start_blocking, NULL)));
    pthread_t th = t_thread_start(releaser_thread, NULL);
    t_free_rt(rt);
    /* Whenever the releaser got to run, free only returned after it. */
    cr_assert_eq(atomic_load(&blk_finished), 1, "free returned before blocking work finished");
    t_thread_join(th);
}

/* ---- tasks spawned by cancelled tasks during shutdown never run ---- */

static eddy_local_runtime *the_rt;
static atomic_int late_child_ran;
static struct {
    int parked;
    int rc;
    int join_rc;
    int rt_spawn_join_rc;
} sp;

static void *spawns_when_cancelled(void *arg)
{
    (void)arg;
    sp.parked = 1;
    int rc;
    while ((rc = eddy_yield()) == 0) {
    }
    sp.rc = rc;
    /* Shutdown is in progress: try to start more work. eddy_spawn may
     * refuse or hand back a task that is dropped; either way it never runs. */
    eddy_task *c = eddy_spawn(t_set_flag, &late_child_ran);
    sp.join_rc = c ? eddy_join(c, NULL) : -ECANCELED; /* join suspends: -ECANCELED */
    eddy_detach(eddy_spawn_local(t_set_flag, &late_child_ran));
    eddy_spawn_opts o = { .name = "late" };
    eddy_detach(eddy_spawn_with(&o, t_set_flag, &late_child_ran));
    /* The runtime's own spawn (rt.h): a task that is never run, whose join
     * reports -ECANCELED. */
    eddy_task *d = eddy_local_runtime_spawn_local(the_rt, t_set_flag, &late_child_ran);
    sp.rt_spawn_join_rc = d ? eddy_join(d, NULL) : -1000;
    return NULL;
}

static void *root_spawner(void *arg)
{
    (void)arg;
    bool ok;
    eddy_detach(eddy_spawn(spawns_when_cancelled, NULL));
    T_YIELD_UNTIL(ok, sp.parked);
    return T_PTR(ok);
}

Test(shutdown, tasks_spawned_during_shutdown_never_run, .timeout = T_TIMEOUT)
{
    the_rt = t_local_rt();
    cr_assert(T_INT(t_block_on(the_rt, root_spawner, NULL)));
    t_free_rt(the_rt);
    cr_assert_eq(sp.rc, -ECANCELED);
    cr_assert_eq(sp.join_rc, -ECANCELED);
    cr_assert_eq(atomic_load(&late_child_ran), 0, "a task spawned during shutdown ran");
}

Test(shutdown, runtime_spawn_local_during_shutdown_is_cancelled, .timeout = T_TIMEOUT)
{
    the_rt = t_local_rt();
    cr_assert(T_INT(t_block_on(the_rt, root_spawner, NULL)));
    t_free_rt(the_rt);
    cr_assert_eq(sp.rt_spawn_join_rc, -ECANCELED, "join rc %d", sp.rt_spawn_join_rc);
    cr_assert_eq(atomic_load(&late_child_ran), 0, "a task spawned during shutdown ran");
}

/* ---- joins held by a plain thread report -ECANCELED ---- */

static atomic_int h_started, h_spawned1, h_go2, h_spawned2;
static atomic_int h_unstarted_ran;
static int h_rc1 = 1, h_rc2 = 1;

static void *handle_looper(void *arg)
{
    (void)arg;
    atomic_store(&h_started, 1);
    while (eddy_yield() == 0) {
    }
    return T_PTR(5);
}

static void *handle_thread(void *arg)
{
    eddy_handle *h = arg;
    bool ok;
    eddy_task *t1 = eddy_handle_spawn(h, handle_looper, NULL);
    atomic_store(&h_spawned1, 1);
    T_SPIN_UNTIL(ok, atomic_load(&h_go2));
    if (!ok)
        h_rc2 = -2000;
    eddy_task *t2 = eddy_handle_spawn(h, t_set_flag, &h_unstarted_ran);
    atomic_store(&h_spawned2, 1);
    h_rc1 = t1 ? eddy_join(t1, NULL) : -1000; /* blocks until shutdown */
    if (h_rc2 != -2000)
        h_rc2 = t2 ? eddy_join(t2, NULL) : -1000;
    return NULL;
}

static void *root_wait_started(void *arg)
{
    (void)arg;
    bool ok;
    T_YIELD_UNTIL(ok, atomic_load(&h_started));
    return T_PTR(ok);
}

Test(shutdown, plain_thread_joins_report_ecanceled, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    cr_assert_not_null(h);
    pthread_t th = t_thread_start(handle_thread, h);
    bool ok;
    T_SPIN_UNTIL(ok, atomic_load(&h_spawned1));
    cr_assert(ok);
    cr_assert(T_INT(t_block_on(rt, root_wait_started, NULL)));
    /* now a task that will never start: spawned while nobody drives */
    atomic_store(&h_go2, 1);
    T_SPIN_UNTIL(ok, atomic_load(&h_spawned2));
    cr_assert(ok);
    t_free_rt(rt);
    t_thread_join(th);
    cr_assert_eq(h_rc1, -ECANCELED, "join of a parked task cancelled by shutdown: %d", h_rc1);
    cr_assert_eq(h_rc2, -ECANCELED, "join of an unstarted task dropped by shutdown: %d", h_rc2);
    cr_assert_eq(atomic_load(&h_unstarted_ran), 0);
    eddy_handle_release(h);
}

/* ---- ends called from inside block_on: -EBUSY, runtime left as it was ---- */

static eddy_local_runtime *busy_rt;

static void *root_tries_to_end(void *arg)
{
    (void)arg;
    int a = eddy_local_runtime_free(busy_rt);
    int b = eddy_local_runtime_shutdown_timeout(busy_rt, 10);
    int c = eddy_local_runtime_shutdown_background(busy_rt);
    cr_expect_eq(a, -EBUSY);
    cr_expect_eq(b, -EBUSY);
    cr_expect_eq(c, -EBUSY);
    /* still alive */
    eddy_task *t = eddy_spawn(t_identity, T_PTR(6));
    void *r = NULL;
    int rc = t ? eddy_join(t, &r) : -1000;
    return T_PTR(a == -EBUSY && b == -EBUSY && c == -EBUSY && rc == 0 && T_INT(r) == 6);
}

Test(shutdown, end_inside_block_on_is_ebusy, .timeout = T_TIMEOUT)
{
    busy_rt = t_local_rt();
    cr_assert(T_INT(t_block_on(busy_rt, root_tries_to_end, NULL)));
    cr_assert_eq(T_INT(t_block_on(busy_rt, t_identity, T_PTR(1))), 1);
    t_free_rt(busy_rt);
}

Test(shutdown, null_runtime_is_einval, .timeout = T_TIMEOUT)
{
    cr_assert_eq(eddy_local_runtime_free(NULL), -EINVAL);
    cr_assert_eq(eddy_local_runtime_shutdown_timeout(NULL, 10), -EINVAL);
    cr_assert_eq(eddy_local_runtime_shutdown_background(NULL), -EINVAL);
}
