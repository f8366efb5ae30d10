/* Time: sleeps, timeouts, deadlines and intervals. Most tests run on a
 * runtime whose clock starts paused, so they are deterministic and take no
 * wall time: the clock only moves when every task is idle, straight to the
 * next timer. */
#include "util.h"

#define MS 1000000ull

static eddy_local_runtime *paused_rt(void)
{
    eddy_runtime_opts o = { .start_paused = true };
    return t_local_rt_opts(&o);
}

static void *run_paused(eddy_task_fn fn, void *arg)
{
    eddy_local_runtime *rt = paused_rt();
    void *r = t_block_on(rt, fn, arg);
    t_free_rt(rt);
    return r;
}

/* ---- sleep ---- */

static void *sleep_measured(void *arg)
{
    eddy_instant t0 = eddy_now();
    cr_expect_eq(eddy_sleep((uint64_t)(intptr_t)arg), 0);
    return T_PTR((eddy_now() - t0) / MS);
}

Test(time, paused_sleep_advances_the_clock_exactly, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(run_paused(sleep_measured, T_PTR(250))), 250);
    cr_assert_eq(T_INT(run_paused(sleep_measured, T_PTR(3600 * 1000))), 3600 * 1000,
                 "an hour of virtual time");
}

Test(time, real_sleep_lasts_at_least_its_duration, .timeout = T_TIMEOUT)
{
    cr_assert_geq(T_INT(t_run_local(sleep_measured, T_PTR(5))), 5);
}

static int wake_order[64];
static int wake_count;

static void *sleep_and_log(void *arg)
{
    int ms = T_INT(arg);
    cr_expect_eq(eddy_sleep((uint64_t)ms), 0);
    wake_order[wake_count++] = ms;
    return NULL;
}

static void *many_sleepers(void *arg)
{
    (void)arg;
    /* Deadlines spread over several wheel levels, spawned out of order. */
    static const int ms[] = { 700, 3, 64, 65, 4095, 4097, 1, 262145, 130, 0, 63, 5000 };
    enum { N = sizeof ms / sizeof ms[0] };
    eddy_task *t[N];
    for (int i = 0; i < N; i++)
        t[i] = eddy_spawn(sleep_and_log, T_PTR(ms[i]));
    for (int i = 0; i < N; i++)
        cr_expect_eq(eddy_join(t[i], NULL), 0);
    return T_PTR(N);
}

Test(time, sleepers_wake_in_deadline_order, .timeout = T_TIMEOUT)
{
    int n = T_INT(run_paused(many_sleepers, NULL));
    cr_assert_eq(wake_count, n);
    for (int i = 1; i < n; i++)
        cr_assert_leq(wake_order[i - 1], wake_order[i], "woke %d before %d", wake_order[i - 1],
                      wake_order[i]);
}

static void *sleep_until_past(void *arg)
{
    (void)arg;
    eddy_instant t0 = eddy_now();
    cr_expect_eq(eddy_sleep_until(t0 - 1), 0);
    cr_expect_eq(eddy_sleep(0), 0);
    return T_PTR(eddy_now() - t0);
}

Test(time, sleep_until_a_past_instant_returns_at_once, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(run_paused(sleep_until_past, NULL)), 0);
}

static atomic_int sleeper_rc = 1;

static void *long_sleeper(void *arg)
{
    (void)arg;
    atomic_store(&sleeper_rc, eddy_sleep(10 * 1000));
    return NULL;
}

static void *abort_sleeper(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(long_sleeper, NULL);
    eddy_yield(); /* let it park in its sleep */
    eddy_abort(t);
    return T_PTR(eddy_join(t, NULL));
}

Test(time, abort_of_a_sleeping_task, .timeout = T_TIMEOUT)
{
    /* Real clock: the abort must not wait for the 10 s timer. */
    cr_assert_eq(T_INT(t_run_local(abort_sleeper, NULL)), -ECANCELED);
    cr_assert_eq(atomic_load(&sleeper_rc), -ECANCELED);
}

Test(time, plain_thread_sleep_and_now, .timeout = T_TIMEOUT)
{
    eddy_instant t0 = eddy_now();
    cr_assert_eq(eddy_sleep(2), 0);
    cr_assert_geq(eddy_now() - t0, 2 * MS);
    cr_assert_eq(eddy_deadline_in(UINT64_MAX / 2), EDDY_INSTANT_NEVER);
}

/* ---- timeout and join_until ---- */

static atomic_int inner_rc = 1, inner_unwound;

static void *sleeps_long(void *arg)
{
    (void)arg;
    atomic_store(&inner_rc, eddy_sleep(60 * 1000));
    atomic_store(&inner_unwound, 1);
    return T_PTR(1);
}

static void *quick(void *arg)
{
    eddy_sleep(5);
    return arg;
}

static void *timeouts(void *arg)
{
    (void)arg;
    void *r = T_PTR(-1);
    cr_expect_eq(eddy_timeout(100, sleeps_long, NULL, &r), -ETIMEDOUT);
    /* The inner task was aborted and has unwound before timeout returned. */
    cr_expect_eq(atomic_load(&inner_rc), -ECANCELED);
    cr_expect_eq(atomic_load(&inner_unwound), 1);
    cr_expect_eq(eddy_timeout(100, quick, T_PTR(42), &r), 0);
    cr_expect_eq(T_INT(r), 42);
    cr_expect_eq(eddy_timeout(100, NULL, NULL, &r), -EINVAL);
    return T_PTR(1);
}

Test(time, timeout_aborts_the_late_task_and_keeps_the_prompt_one, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(run_paused(timeouts, NULL)), 1);
}

static void *join_until_keeps_handle(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(quick, T_PTR(7));
    cr_expect_eq(eddy_join_until(t, NULL, eddy_now()), -ETIMEDOUT, "deadline now");
    cr_expect_eq(eddy_join_until(t, NULL, eddy_deadline_in(1)), -ETIMEDOUT);
    void *r = NULL;
    cr_expect_eq(eddy_join_until(t, &r, eddy_deadline_in(10)), 0);
    cr_expect_eq(T_INT(r), 7);
    return T_PTR(1);
}

Test(time, join_until_times_out_without_consuming_the_handle, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(run_paused(join_until_keeps_handle, NULL)), 1);
}

static void *ct_timeout(void *arg)
{
    (void)arg;
    return T_PTR(eddy_timeout(20, sleeps_long, NULL, NULL));
}

Test(time, timeout_on_a_current_thread_runtime, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_CURRENT_THREAD, .start_paused = true };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt);
    void *r = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, ct_timeout, NULL, &r), 0);
    cr_assert_eq(T_INT(r), -ETIMEDOUT);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

static void *spins(void *arg)
{
    (void)arg;
    while (eddy_yield() == 0) {
    }
    return NULL;
}

Test(time, plain_thread_join_until, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    eddy_task *t = eddy_handle_spawn(h, spins, NULL);
    /* Nobody drives the runtime from another thread, but the caller is its
     * owner: blocking would deadlock, even with a deadline. */
    cr_assert_eq(eddy_join_until(t, NULL, eddy_deadline_in(10)), -EDEADLK);
    eddy_detach(t);
    eddy_handle_release(h);
    t_free_rt(rt);
}

/* ---- intervals (paused clock) ---- */

struct iv_case {
    eddy_missed_tick behavior;
    uint64_t at[6]; /* when the first six ticks were due, ms from start */
};

static void *interval_ticks(void *arg)
{
    struct iv_case *c = arg;
    eddy_instant t0 = eddy_now();
    eddy_interval *iv = eddy_interval_new(10, c->behavior);
    cr_expect_not_null(iv);
    for (int i = 0; i < 6; i++) {
        eddy_instant at;
        cr_expect_eq(eddy_interval_tick(iv, &at), 0);
        c->at[i] = (at - t0) / MS;
        if (i == 1)
            eddy_sleep(35); /* late: the tick due at 20 is taken at 45 */
    }
    eddy_interval_free(iv);
    return NULL;
}

static void check_ticks(eddy_missed_tick behavior, const uint64_t *want)
{
    struct iv_case c = { .behavior = behavior };
    run_paused(interval_ticks, &c);
    for (int i = 0; i < 6; i++)
        cr_assert_eq(c.at[i], want[i], "behavior %d tick %d: due at %llu, want %llu", behavior,
                     i, (unsigned long long)c.at[i], (unsigned long long)want[i]);
}

Test(time, interval_burst_catches_up_on_the_original_grid, .timeout = T_TIMEOUT)
{
    /* 0, 10, then 20, 30, 40 fire at once at 45 and the grid goes on. */
    static const uint64_t want[] = { 0, 10, 20, 30, 40, 50 };
    check_ticks(EDDY_MISSED_TICK_BURST, want);
}

Test(time, interval_delay_restarts_from_the_late_tick, .timeout = T_TIMEOUT)
{
    /* The tick due at 20 is taken at 45; then every 10 from there. */
    static const uint64_t want[] = { 0, 10, 20, 55, 65, 75 };
    check_ticks(EDDY_MISSED_TICK_DELAY, want);
}

Test(time, interval_skip_keeps_the_grid_but_drops_missed_ticks, .timeout = T_TIMEOUT)
{
    /* Taken at 45: 30 and 40 are skipped, the next is on the grid at 50. */
    static const uint64_t want[] = { 0, 10, 20, 50, 60, 70 };
    check_ticks(EDDY_MISSED_TICK_SKIP, want);
}

static void *interval_reset(void *arg)
{
    (void)arg;
    eddy_instant t0 = eddy_now();
    eddy_interval *iv = eddy_interval_new(10, EDDY_MISSED_TICK_BURST);
    eddy_instant at;
    eddy_interval_tick(iv, &at); /* 0 */
    eddy_sleep(4);
    eddy_interval_reset(iv);     /* next at 14 */
    eddy_interval_tick(iv, &at);
    eddy_interval_free(iv);
    return T_PTR((at - t0) / MS);
}

Test(time, interval_reset_and_errors, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(run_paused(interval_reset, NULL)), 14);
    errno = 0;
    cr_assert_null(eddy_interval_new(0, EDDY_MISSED_TICK_BURST));
    cr_assert_eq(errno, EINVAL);
    cr_assert_null(eddy_interval_new(1, (eddy_missed_tick)7));
    cr_assert_eq(eddy_interval_tick(NULL, NULL), -EINVAL);
    eddy_interval_free(NULL);
}

static atomic_int iv_rc = 1;

static void *interval_forever(void *arg)
{
    (void)arg;
    eddy_interval *iv = eddy_interval_new(1000, EDDY_MISSED_TICK_BURST);
    int rc;
    while ((rc = eddy_interval_tick(iv, NULL)) == 0) {
    }
    atomic_store(&iv_rc, rc);
    eddy_interval_free(iv);
    return NULL;
}

static void *abort_interval(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(interval_forever, NULL);
    eddy_sleep(2500);
    eddy_abort(t);
    return T_PTR(eddy_join(t, NULL));
}

Test(time, abort_of_a_task_waiting_for_a_tick, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(run_paused(abort_interval, NULL)), -ECANCELED);
    cr_assert_eq(atomic_load(&iv_rc), -ECANCELED);
}

/* ---- shutdown with timers armed ---- */

static void *sleepers_left_behind(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++)
        eddy_detach(eddy_spawn(long_sleeper, NULL));
    eddy_yield();
    return NULL;
}

Test(time, free_with_sleeping_tasks, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    t_block_on(rt, sleepers_left_behind, NULL);
    cr_assert_eq(eddy_local_runtime_free(rt), 0);
    cr_assert_eq(atomic_load(&sleeper_rc), -ECANCELED);
}
