/* Blocking pool: eddy_spawn_blocking, eddy_handle_spawn_blocking,
 * max_blocking_threads, keep-alive, thread names. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

static pthread_t owner;

/* Returns 1 if it ran off the owner thread (and off *arg, if given). */
static void *where_am_i(void *arg)
{
    pthread_t self = pthread_self();
    if (pthread_equal(self, owner))
        return T_PTR(0);
    if (arg && pthread_equal(self, *(pthread_t *)arg))
        return T_PTR(0);
    return T_PTR(1);
}

/* ---- from a LocalRuntime task ---- */

static void *root_blocking_local(void *arg)
{
    (void)arg;
    eddy_task *b = eddy_spawn_blocking(where_am_i, NULL);
    cr_expect_not_null(b);
    void *res = NULL;
    int rc = eddy_join(b, &res);
    cr_expect_eq(rc, 0, "join blocking: %d", rc);
    return res;
}

Test(blocking, from_local_runtime_task, .timeout = T_TIMEOUT)
{
    owner = pthread_self();
    cr_assert_eq(T_INT(t_run_local(root_blocking_local, NULL)), 1,
                 "blocking task ran on the runtime thread");
}

/* ---- from a current-thread Runtime task ---- */

Test(blocking, from_current_thread_runtime_task, .timeout = T_TIMEOUT)
{
    owner = pthread_self();
    eddy_runtime *rt = t_ct_rt();
    void *res = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, root_blocking_local, NULL, &res), 0);
    cr_assert_eq(T_INT(res), 1);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- eddy_handle_spawn_blocking from a plain thread ---- */

static atomic_int plain_done;

struct plain_ctx {
    eddy_handle *h;
    int rc;
    int res;
};

static void *plain_thread(void *arg)
{
    struct plain_ctx *c = arg;
    pthread_t me = pthread_self();
    eddy_task *t = eddy_handle_spawn_blocking(c->h, where_am_i, &me);
    void *res = NULL;
    c->rc = t ? eddy_join(t, &res) : -1000;
    c->res = T_INT(res);
    atomic_store(&plain_done, 1);
    return NULL;
}

static void *root_wait_plain(void *arg)
{
    (void)arg;
    bool ok;
    T_YIELD_UNTIL(ok, atomic_load(&plain_done));
    return T_PTR(ok);
}

Test(blocking, handle_spawn_blocking_from_plain_thread, .timeout = T_TIMEOUT)
{
    owner = pthread_self();
    eddy_local_runtime *rt = t_local_rt();
    struct plain_ctx c = { .h = eddy_local_runtime_handle(rt) };
    cr_assert_not_null(c.h);
    pthread_t th = t_thread_start(plain_thread, &c);
    cr_assert(T_INT(t_block_on(rt, root_wait_plain, NULL)));
    t_thread_join(th);
    cr_assert_eq(c.rc, 0, "join: %d", c.rc);
    cr_assert_eq(c.res, 1, "ran on the spawning thread or the runtime thread");
    eddy_handle_release(c.h);
    t_free_rt(rt);
}

/* ---- other tasks keep running while a blocking task waits ---- */

static atomic_int ticks;
static atomic_int blocking_finished;

static void *waits_for_ticks(void *arg)
{
    (void)arg;
    bool ok;
    /* Only returns once tasks on the runtime made progress meanwhile. */
    T_SPIN_UNTIL(ok, atomic_load(&ticks) >= 100);
    atomic_store(&blocking_finished, 1);
    return T_PTR(ok);
}

static void *ticker(void *arg)
{
    (void)arg;
    while (!atomic_load(&blocking_finished)) {
        atomic_fetch_add(&ticks, 1);
        if (eddy_yield() != 0)
            return T_PTR(-1);
    }
    return T_PTR(1);
}

static void *root_progress(void *arg)
{
    (void)arg;
    eddy_task *b = eddy_spawn_blocking(waits_for_ticks, NULL);
    eddy_task *t = eddy_spawn(ticker, NULL);
    void *rb = NULL, *rt = NULL;
    int rc1 = eddy_join(b, &rb); /* suspends only this task */
    int rc2 = eddy_join(t, &rt);
    return T_PTR(rc1 == 0 && rc2 == 0 && T_INT(rb) == 1 && T_INT(rt) == 1);
}

Test(blocking, runtime_keeps_running_while_blocking_waits, .timeout = T_TIMEOUT)
{
    cr_assert(T_INT(t_run_local(root_progress, NULL)),
              "ticks=%d: tasks did not progress while a blocking task waited",
              atomic_load(&ticks));
}

Test(blocking, current_thread_runtime_keeps_running, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_ct_rt();
    void *res = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, root_progress, NULL, &res), 0);
    cr_assert(T_INT(res));
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- max_blocking_threads bounds concurrency ---- */

enum { NBLOCK = 6, MAXB = 2 };
static atomic_int running, max_running, completed;

static void *bounded_work(void *arg)
{
    int n = atomic_fetch_add(&running, 1) + 1;
    int m = atomic_load(&max_running);
    while (n > m && !atomic_compare_exchange_weak(&max_running, &m, n)) {
    }
    /* Stay a while so that the tasks overlap if the pool lets them: until
     * a second one is running, or a short bounded wait. Not asserted. */
    for (int i = 0; i < 200 && atomic_load(&running) < MAXB; i++)
        t_sleep_ms(1);
    t_sleep_ms(5);
    atomic_fetch_sub(&running, 1);
    atomic_fetch_add(&completed, 1);
    return arg;
}

static void *root_bounded(void *arg)
{
    (void)arg;
    eddy_task *ts[NBLOCK];
    for (int i = 0; i < NBLOCK; i++) {
        ts[i] = eddy_spawn_blocking(bounded_work, T_PTR(i));
        cr_expect_not_null(ts[i]);
    }
    int ok = 0;
    for (int i = 0; i < NBLOCK; i++) {
        void *r = NULL;
        if (ts[i] && eddy_join(ts[i], &r) == 0 && T_INT(r) == i)
            ok++;
    }
    return T_PTR(ok);
}

Test(blocking, max_blocking_threads_is_respected, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .max_blocking_threads = MAXB };
    eddy_local_runtime *rt = t_local_rt_opts(&o);
    cr_assert_eq(T_INT(t_block_on(rt, root_bounded, NULL)), NBLOCK);
    t_free_rt(rt);
    cr_assert_eq(atomic_load(&completed), NBLOCK);
    cr_assert_leq(atomic_load(&max_running), MAXB,
                  "%d blocking tasks ran at once with max_blocking_threads = %d",
                  atomic_load(&max_running), MAXB);
    cr_assert_geq(atomic_load(&max_running), 1);
}

/* ---- abort of a blocking task that has not started yet ---- */

static sem_t gate;
static atomic_int first_started, second_ran;

static void *first_blocker(void *arg)
{
    atomic_store(&first_started, 1);
    t_sem_wait(&gate);
    return arg;
}

static void *root_abort_queued(void *arg)
{
    (void)arg;
    bool ok;
    eddy_task *a = eddy_spawn_blocking(first_blocker, T_PTR(1));
    T_YIELD_UNTIL(ok, atomic_load(&first_started));
    cr_expect(ok);
    /* the only pool thread is busy: this one is queued */
    eddy_task *b = eddy_spawn_blocking(t_set_flag, &second_ran);
    eddy_abort(b);
    sem_post(&gate);
    void *ra = NULL, *rb = (void *)&rb;
    int rca = eddy_join(a, &ra);
    int rcb = eddy_join(b, &rb);
    cr_expect_eq(rca, 0);
    cr_expect_eq(T_INT(ra), 1);
    cr_expect_eq(rcb, -ECANCELED, "join of an aborted queued blocking task: %d", rcb);
    cr_expect_null(rb);
    return NULL;
}

Test(blocking, abort_before_start_cancels, .timeout = T_TIMEOUT)
{
    sem_init(&gate, 0, 0);
    eddy_runtime_opts o = { .max_blocking_threads = 1 };
    eddy_local_runtime *rt = t_local_rt_opts(&o);
    t_block_on(rt, root_abort_queued, NULL);
    t_free_rt(rt);
    cr_assert_eq(atomic_load(&second_ran), 0, "an aborted, unstarted blocking task ran");
}

/* ---- short keep-alive: after the pool went idle, new work still runs ---- */

static void *root_one_blocking(void *arg)
{
    eddy_task *b = eddy_spawn_blocking(t_identity, arg);
    void *r = NULL;
    int rc = b ? eddy_join(b, &r) : -1000;
    return T_PTR(rc == 0 ? T_INT(r) : rc);
}

Test(blocking, keep_alive_expiry_then_new_work, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .thread_keep_alive_ms = 50 };
    eddy_local_runtime *rt = t_local_rt_opts(&o);
    for (int i = 1; i <= 3; i++) {
        cr_assert_eq(T_INT(t_block_on(rt, root_one_blocking, T_PTR(i))), i);
        t_sleep_ms(150); /* let idle pool threads expire (not asserted) */
    }
    t_free_rt(rt);
}

/* ---- blocking-pool threads are named ---- */

static void *my_thread_name(void *arg)
{
    char *out = arg;
    if (pthread_getname_np(pthread_self(), out, 16) != 0)
        out[0] = 0;
    return NULL;
}

static void *root_name(void *arg)
{
    eddy_task *b = eddy_spawn_blocking(my_thread_name, arg);
    return T_PTR(b ? eddy_join(b, NULL) : -1000);
}

Test(blocking, thread_names, .timeout = T_TIMEOUT)
{
    char name[16] = { 0 };
    eddy_local_runtime *rt = t_local_rt();
    cr_assert_eq(T_INT(t_block_on(rt, root_name, name)), 0);
    t_free_rt(rt);
    cr_assert_eq(strncmp(name, "eddy-blocking", strlen("eddy-blocking")), 0,
                 "default blocking thread name: \"%s\"", name);

    memset(name, 0, sizeof name);
    eddy_runtime_opts o = { .thread_name = "my-pool" };
    rt = t_local_rt_opts(&o);
    cr_assert_eq(T_INT(t_block_on(rt, root_name, name)), 0);
    t_free_rt(rt);
    cr_assert_eq(strncmp(name, "my-pool", 7), 0, "custom thread name: \"%s\"", name);
}

/* ---- many blocking tasks through the default pool ---- */

static atomic_int many_sum;

static void *adds(void *arg)
{
    atomic_fetch_add(&many_sum, T_INT(arg));
    return arg;
}

static void *root_many_blocking(void *arg)
{
    (void)arg;
    enum { N = 200 };
    eddy_task *ts[N];
    for (int i = 0; i < N; i++)
        ts[i] = eddy_spawn_blocking(adds, T_PTR(i + 1));
    int ok = 0;
    for (int i = 0; i < N; i++) {
        void *r;
        if (ts[i] && eddy_join(ts[i], &r) == 0 && T_INT(r) == i + 1)
            ok++;
    }
    return T_PTR(ok);
}

Test(blocking, many_blocking_tasks, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(root_many_blocking, NULL)), 200);
    cr_assert_eq(atomic_load(&many_sum), 200 * 201 / 2);
}
