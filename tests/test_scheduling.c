/* Scheduling: eddy_yield puts the task behind every ready task; remote
 * spawns are not starved by busy local tasks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

/* ---- yield goes behind the tasks that are ready ---- */

static char order_log[64];
static int order_len;

static void log_step(char c)
{
    if (order_len < (int)sizeof order_log - 1)
        order_log[order_len++] = c;
}

static void *logs(void *arg)
{
    log_step((char)T_INT(arg));
    return NULL;
}

static void *task_a(void *arg)
{
    (void)arg;
    log_step('a');
    eddy_task *b = eddy_spawn(logs, T_PTR('B'));
    eddy_task *c = eddy_spawn(logs, T_PTR('C'));
    /* B and C are ready now: both run before A resumes. */
    int rc = eddy_yield();
    log_step('A');
    int ok = rc == 0;
    ok &= eddy_join(b, NULL) == 0;
    ok &= eddy_join(c, NULL) == 0;
    return T_PTR(ok);
}

static void *root_order(void *arg)
{
    (void)arg;
    eddy_task *a = eddy_spawn(task_a, NULL);
    void *r = NULL;
    int rc = eddy_join(a, &r);
    return T_PTR(rc == 0 && T_INT(r));
}

Test(scheduling, yield_runs_after_ready_tasks, .timeout = T_TIMEOUT)
{
    cr_assert(T_INT(t_run_local(root_order, NULL)));
    order_log[order_len] = 0;
    /* B and C in either order between A's two steps */
    cr_assert_eq(order_len, 4, "log \"%s\"", order_log);
    cr_assert_eq(order_log[0], 'a', "log \"%s\"", order_log);
    cr_assert_eq(order_log[3], 'A', "A resumed before B and C ran: log \"%s\"", order_log);
    cr_assert(strchr(order_log, 'B') && strchr(order_log, 'C'), "log \"%s\"", order_log);
}

/* The root yields once: everything spawned before that has run. */
static int ran[8];

static void *marks(void *arg)
{
    ran[T_INT(arg)] = 1;
    return NULL;
}

static void *root_yield_once(void *arg)
{
    (void)arg;
    eddy_task *ts[8];
    for (int i = 0; i < 8; i++)
        ts[i] = eddy_spawn(marks, T_PTR(i));
    for (int i = 0; i < 8; i++)
        if (ran[i])
            return T_PTR(-1); /* spawn must not run the task inline */
    eddy_yield();
    int n = 0;
    for (int i = 0; i < 8; i++)
        n += ran[i];
    for (int i = 0; i < 8; i++)
        eddy_join(ts[i], NULL);
    return T_PTR(n);
}

Test(scheduling, one_yield_lets_all_ready_tasks_run, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(root_yield_once, NULL)), 8);
}

/* Round robin: two yielding tasks interleave step by step. */
static char rr_log[64];
static int rr_len;

static void *rr_task(void *arg)
{
    for (int i = 0; i < 4; i++) {
        if (rr_len < 63)
            rr_log[rr_len++] = (char)T_INT(arg);
        eddy_yield();
    }
    return NULL;
}

static void *root_rr(void *arg)
{
    (void)arg;
    eddy_task *x = eddy_spawn(rr_task, T_PTR('x'));
    eddy_task *y = eddy_spawn(rr_task, T_PTR('y'));
    eddy_join(x, NULL);
    eddy_join(y, NULL);
    return NULL;
}

Test(scheduling, yielding_tasks_interleave, .timeout = T_TIMEOUT)
{
    t_run_local(root_rr, NULL);
    rr_log[rr_len] = 0;
    cr_assert_eq(rr_len, 8);
    for (int i = 1; i < rr_len; i++)
        cr_assert_neq(rr_log[i], rr_log[i - 1], "no interleaving: \"%s\"", rr_log);
}

/* ---- a remote spawn is not starved by busy local tasks ---- */

enum { SPAMMERS = 4, CAP_AFTER_SPAWN = 200000 };

static atomic_int remote_ran;
static atomic_int remote_spawned;
static atomic_int go_remote;
static int capped; /* spammers that gave up before the remote task ran */
static long children;

static void *child(void *arg)
{
    (void)arg;
    children++;
    eddy_yield();
    return NULL;
}

static void *spammer(void *arg)
{
    (void)arg;
    long after = 0;
    while (!atomic_load(&remote_ran)) {
        eddy_task *c = eddy_spawn(child, NULL);
        eddy_detach(c);
        if (eddy_yield() != 0)
            return NULL;
        /* bounded: only counts once the remote task exists */
        if (atomic_load(&remote_spawned) && ++after > CAP_AFTER_SPAWN) {
            capped++;
            break;
        }
    }
    return NULL;
}

static void *remote_task(void *arg)
{
    (void)arg;
    atomic_store(&remote_ran, 1);
    return T_PTR(9);
}

static void *remote_thread(void *arg)
{
    eddy_handle *h = arg;
    bool ok;
    T_SPIN_UNTIL(ok, atomic_load(&go_remote));
    eddy_task *t = eddy_handle_spawn(h, remote_task, NULL);
    atomic_store(&remote_spawned, 1);
    void *r = NULL;
    int rc = t ? eddy_join(t, &r) : -1000;
    return T_PTR(ok && rc == 0 && T_INT(r) == 9);
}

static void *root_spam(void *arg)
{
    (void)arg;
    eddy_task *s[SPAMMERS];
    for (int i = 0; i < SPAMMERS; i++)
        s[i] = eddy_spawn(spammer, NULL);
    eddy_yield();
    atomic_store(&go_remote, 1);
    for (int i = 0; i < SPAMMERS; i++)
        eddy_join(s[i], NULL);
    return NULL;
}

Test(scheduling, remote_spawn_not_starved, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    cr_assert_not_null(h);
    pthread_t th = t_thread_start(remote_thread, h);
    t_block_on(rt, root_spam, NULL);
    cr_assert_eq(capped, 0, "the remote task did not run within %d local iterations",
                 CAP_AFTER_SPAWN);
    cr_assert_eq(atomic_load(&remote_ran), 1);
    cr_assert(T_INT(t_thread_join(th)));
    eddy_handle_release(h);
    t_free_rt(rt);
    cr_assert_gt(children, 0);
}

/* A task that never yields to the remote queue explicitly still sees it:
 * the root only yields (no join) while a thread spawns remotely. */
static atomic_int plain_remote_count;

static void *inc_remote(void *arg)
{
    (void)arg;
    atomic_fetch_add(&plain_remote_count, 1);
    return NULL;
}

static void *remote_spawner(void *arg)
{
    eddy_handle *h = arg;
    for (int i = 0; i < 100; i++)
        eddy_detach(eddy_handle_spawn(h, inc_remote, NULL));
    return NULL;
}

static void *root_yield_loop(void *arg)
{
    (void)arg;
    bool ok;
    T_YIELD_UNTIL(ok, atomic_load(&plain_remote_count) == 100);
    return T_PTR(ok);
}

Test(scheduling, yield_loop_sees_remote_tasks, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    pthread_t th = t_thread_start(remote_spawner, h);
    cr_assert(T_INT(t_block_on(rt, root_yield_loop, NULL)));
    t_thread_join(th);
    eddy_handle_release(h);
    t_free_rt(rt);
}

/* Two tasks that only ever wake each other and park: each park hands the
 * thread straight to the other (no trip through the scheduler loop), yet
 * the timer driver and the remote queue must still get their turns, or
 * the pair would never see the flags that stop it. */
static t_pair pair;
static atomic_int pair_timer_fired, pair_remote_ran;

static void *pair_remote_task(void *arg)
{
    (void)arg;
    atomic_store(&pair_remote_ran, 1);
    return NULL;
}

static void *pair_remote_spawner(void *arg)
{
    eddy_task *t = eddy_handle_spawn(arg, pair_remote_task, NULL);
    if (!t)
        return T_PTR(0);
    eddy_detach(t);
    return T_PTR(1);
}

static void *root_pair(void *arg)
{
    (void)arg;
    eddy_task *a = eddy_spawn(t_pair_member, &pair.side[0]);
    eddy_task *b = eddy_spawn(t_pair_member, &pair.side[1]);
    eddy_task *s = eddy_spawn(t_sleep_then_set_flag, &pair_timer_fired);
    void *ra = NULL, *rb = NULL, *rs = NULL;
    int ok = eddy_join(a, &ra) == 0 && eddy_join(b, &rb) == 0 && eddy_join(s, &rs) == 0;
    return T_PTR(ok && T_INT(ra) && T_INT(rb) && T_INT(rs));
}

Test(scheduling, handing_off_tasks_leave_room_for_timers_and_remote, .timeout = T_TIMEOUT)
{
    t_pair_init(&pair, &pair_timer_fired, &pair_remote_ran);
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    cr_assert_not_null(h);
    pthread_t th = t_thread_start(pair_remote_spawner, h);
    cr_assert(T_INT(t_block_on(rt, root_pair, NULL)));
    cr_assert(T_INT(t_thread_join(th)));
    eddy_handle_release(h);
    t_free_rt(rt);
    t_pair_finish(&pair);
}
