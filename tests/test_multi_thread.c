/* The multi-thread work-stealing runtime. */
#include "util.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>

/* The OS thread running the caller. Not pthread_self(): glibc declares it
 * `const`, so the compiler may reuse its value across a suspension, after
 * which a migrating task runs on another thread. */
static long tid(void)
{
    return syscall(SYS_gettid);
}

static eddy_runtime *mt_rt(unsigned workers)
{
    /* many parked tasks at once: small unguarded stacks keep the process
     * under vm.max_map_count */
    return t_mt_rt(workers, 32 * 1024, EDDY_STACK_UNGUARDED);
}

/* ---- 100,000 tasks with suspensions ---- */

static atomic_long finished;

static void *suspending(void *arg)
{
    (void)arg;
    eddy_yield();
    eddy_sleep(1);
    eddy_yield();
    atomic_fetch_add(&finished, 1);
    return arg;
}

static void *hundred_thousand(void *arg)
{
    (void)arg;
    enum { TOTAL = 100000, IN_FLIGHT = 10000 };
    static eddy_task *t[IN_FLIGHT];
    long sum = 0;
    for (int base = 0; base < TOTAL; base += IN_FLIGHT) {
        for (int i = 0; i < IN_FLIGHT; i++)
            t[i] = eddy_spawn(suspending, T_PTR(1));
        for (int i = 0; i < IN_FLIGHT; i++) {
            void *r = NULL;
            if (eddy_join(t[i], &r) == 0)
                sum += T_INT(r);
        }
    }
    return T_PTR(sum);
}

static void run_hundred_thousand(unsigned workers)
{
    eddy_runtime *rt = mt_rt(workers);
    cr_assert_eq(T_INT(t_rt_block_on(rt, hundred_thousand, NULL)), 100000);
    cr_assert_eq(atomic_load(&finished), 100000);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

Test(multi_thread, hundred_thousand_tasks_on_2_workers, .timeout = 120)
{
    run_hundred_thousand(2);
}

Test(multi_thread, hundred_thousand_tasks_on_4_workers, .timeout = 120)
{
    run_hundred_thousand(4);
}

/* ---- migration and pinning ---- */

static atomic_int moved, pinned_moved, pinned_resumes;

static void *migratable(void *arg)
{
    (void)arg;
    long first = tid();
    for (int i = 0; i < 2000 && !atomic_load(&moved); i++) {
        /* A yielded task can be stolen by an idle worker; a sleeping one
         * is woken by whichever worker fires timers (the one idle in the
         * driver) and runs there next. Either moves it; the second does
         * not depend on timing, even under valgrind's one-thread-at-a-time
         * scheduling. */
        if (i % 25 == 0)
            eddy_sleep(1);
        else
            eddy_yield();
        if (first != tid())
            atomic_store(&moved, 1);
    }
    return NULL;
}

static void *pinned(void *arg)
{
    (void)arg;
    long first = tid();
    for (int i = 0; i < 500; i++) {
        if (i % 50 == 0)
            eddy_sleep(1); /* woken by whichever worker fires timers */
        else
            eddy_yield();
        atomic_fetch_add(&pinned_resumes, 1);
        if (first != tid())
            atomic_fetch_add(&pinned_moved, 1);
    }
    return NULL;
}

static void *spawn_mixed(void *arg)
{
    (void)arg;
    enum { N = 64 };
    eddy_task *m[N], *p[N];
    for (int i = 0; i < N; i++) {
        m[i] = eddy_spawn(migratable, NULL);
        p[i] = eddy_spawn_local(pinned, NULL);
        cr_expect_not_null(p[i], "spawn_local on a worker: %s", strerror(errno));
    }
    for (int i = 0; i < N; i++) {
        eddy_join(m[i], NULL);
        eddy_join(p[i], NULL);
    }
    return NULL;
}

Test(multi_thread, migratable_tasks_move_and_pinned_tasks_never_do, .timeout = 120)
{
    eddy_runtime *rt = mt_rt(2);
    /* Stealing is a matter of timing: give it several chances. */
    for (int round = 0; round < 20 && !atomic_load(&moved); round++)
        t_rt_block_on(rt, spawn_mixed, NULL);
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert(atomic_load(&moved), "no migratable task was ever stolen");
    cr_assert_gt(atomic_load(&pinned_resumes), 0);
    cr_assert_eq(atomic_load(&pinned_moved), 0, "a pinned task ran on another worker");
}

Test(multi_thread, spawn_local_outside_a_worker_is_refused, .timeout = 120)
{
    eddy_runtime *rt = mt_rt(2);
    eddy_enter_guard *g = eddy_runtime_enter(rt);
    cr_assert_not_null(g);
    errno = 0;
    cr_assert_null(eddy_spawn_local(t_identity, NULL));
    cr_assert_eq(errno, EPERM);
    eddy_task *t = eddy_spawn(t_identity, T_PTR(3)); /* plain spawn is fine */
    void *r;
    cr_assert_eq(eddy_join(t, &r), 0);
    cr_assert_eq(T_INT(r), 3);
    cr_assert_eq(eddy_enter_guard_drop(g), 0);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- yields handed straight to the next task ----
 *
 * A yield on a worker resumes the next queued task from the yielding
 * task's stack, skipping the worker's loop. The loop's duties must still
 * be done: timers fired, the inject queue served, pinned tasks given their
 * turns, tasks that have not started started, aborts seen. */

enum { HY_MIGRATABLE = 16, HY_PINNED = 8, HY_REMOTE = 32, HY_MIN_YIELDS = 50 };
static atomic_int hy_yields[HY_MIGRATABLE + HY_PINNED];
static atomic_int hy_timer_fired, hy_remote_ran;

static bool hy_everyone_progressed(void)
{
    for (int i = 0; i < HY_MIGRATABLE + HY_PINNED; i++)
        if (atomic_load(&hy_yields[i]) < HY_MIN_YIELDS)
            return false;
    return atomic_load(&hy_timer_fired) && atomic_load(&hy_remote_ran) == HY_REMOTE;
}

/* Yields until every yielder has yielded a while, the timer has fired and
 * every remote task has run: none of it happens if handed-off yields
 * starve the rest. */
static void *hy_yielder(void *arg)
{
    atomic_int *count = arg;
    struct timespec d = t_deadline(T_WAIT_SECONDS);
    unsigned n = 0;
    while (!hy_everyone_progressed()) {
        if (eddy_yield() != 0 || t_past(&d))
            return T_PTR(0);
        atomic_fetch_add(count, 1);
        if ((++n & 63u) == 0)
            sched_yield(); /* valgrind runs one thread at a time */
    }
    return T_PTR(1);
}

/* Spawned from a plain thread: through the inject queue, from which a
 * worker takes a share and queues the rest, not started, in its ring. */
static void *hy_remote_task(void *arg)
{
    (void)arg;
    atomic_fetch_add(&hy_remote_ran, 1);
    for (int i = 0; i < 3; i++)
        if (eddy_yield() != 0)
            return T_PTR(0);
    return T_PTR(1);
}

static void *hy_remote_spawner(void *arg)
{
    eddy_task *t[HY_REMOTE];
    int ok = 1;
    for (int i = 0; i < HY_REMOTE; i++)
        ok &= (t[i] = eddy_handle_spawn(arg, hy_remote_task, NULL)) != NULL;
    for (int i = 0; i < HY_REMOTE; i++) {
        void *r = NULL;
        ok &= t[i] && eddy_join(t[i], &r) == 0 && T_INT(r);
    }
    return T_PTR(ok);
}

static void *hy_root(void *arg)
{
    (void)arg;
    eddy_task *t[HY_MIGRATABLE + HY_PINNED];
    for (int i = 0; i < HY_MIGRATABLE; i++)
        t[i] = eddy_spawn(hy_yielder, &hy_yields[i]);
    for (int i = HY_MIGRATABLE; i < HY_MIGRATABLE + HY_PINNED; i++)
        t[i] = eddy_spawn_local(hy_yielder, &hy_yields[i]);
    eddy_task *s = eddy_spawn(t_sleep_then_set_flag, &hy_timer_fired);
    int ok = s != NULL;
    for (int i = 0; i < HY_MIGRATABLE + HY_PINNED; i++) {
        void *r = NULL;
        ok &= t[i] && eddy_join(t[i], &r) == 0 && T_INT(r);
    }
    void *r = NULL;
    ok &= s && eddy_join(s, &r) == 0 && T_INT(r);
    return T_PTR(ok);
}

Test(multi_thread, yielding_tasks_leave_room_for_timers_remote_and_pinned_tasks,
     .timeout = 120)
{
    eddy_runtime *rt = mt_rt(2);
    eddy_handle *h = eddy_runtime_handle(rt);
    cr_assert_not_null(h);
    pthread_t th = t_thread_start(hy_remote_spawner, h);
    cr_assert(T_INT(t_rt_block_on(rt, hy_root, NULL)));
    cr_assert(T_INT(t_thread_join(th)), "a remote task failed or was lost");
    eddy_handle_release(h);
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert(hy_everyone_progressed());
}

/* Tasks that yield until aborted, among others that yield: the abort is
 * seen however a victim is resumed. */
enum { YA_TASKS = 6 };
static t_yield_count ya_counts[YA_TASKS];

static void *ya_yields_1000(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++)
        if (eddy_yield() != 0)
            return T_PTR(0);
    return T_PTR(1);
}

static void *ya_root(void *arg)
{
    (void)arg;
    eddy_task *victims[YA_TASKS], *others[YA_TASKS];
    for (int i = 0; i < YA_TASKS; i++) {
        victims[i] = eddy_spawn(t_yield_until_aborted, &ya_counts[i]);
        others[i] = eddy_spawn(ya_yields_1000, NULL);
    }
    int ok = 1;
    for (int i = 0; i < YA_TASKS; i++) {
        bool yielded;
        T_YIELD_UNTIL(yielded, atomic_load(&ya_counts[i].yields) >= 20);
        ok &= yielded;
    }
    for (int i = 0; i < YA_TASKS; i++)
        eddy_abort(victims[i]);
    for (int i = 0; i < YA_TASKS; i++) {
        void *r = T_PTR(1);
        ok &= eddy_join(victims[i], &r) == -ECANCELED;
        ok &= eddy_join(others[i], &r) == 0 && T_INT(r);
    }
    return T_PTR(ok);
}

Test(multi_thread, an_aborted_yielding_task_sees_the_abort, .timeout = 120)
{
    eddy_runtime *rt = mt_rt(2);
    cr_assert(T_INT(t_rt_block_on(rt, ya_root, NULL)));
    cr_assert_eq(eddy_runtime_free(rt), 0);
    for (int i = 0; i < YA_TASKS; i++)
        cr_assert(atomic_load(&ya_counts[i].saw_abort), "victim %d", i);
}

/* ---- wakes from other threads ---- */

static void *blocking_work(void *arg)
{
    sched_yield();
    return arg;
}

static void *joins_blocking(void *arg)
{
    (void)arg;
    long sum = 0;
    for (int i = 0; i < 20; i++) {
        void *r = NULL;
        eddy_task *b = eddy_spawn_blocking(blocking_work, T_PTR(1));
        if (b && eddy_join(b, &r) == 0)
            sum += T_INT(r);
    }
    return T_PTR(sum);
}

static atomic_int handle_spawned;

static void *handle_spawner(void *arg)
{
    eddy_handle *h = arg;
    for (int i = 0; i < 200; i++) {
        eddy_task *t = eddy_handle_spawn(h, joins_blocking, NULL);
        void *r = NULL;
        if (t && eddy_join(t, &r) == 0 && T_INT(r) == 20)
            atomic_fetch_add(&handle_spawned, 1);
    }
    return NULL;
}

Test(multi_thread, wakes_from_other_threads_are_never_lost, .timeout = 120)
{
    eddy_runtime *rt = mt_rt(2);
    eddy_handle *h = eddy_runtime_handle(rt);
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        th[i] = t_thread_start(handle_spawner, h);
    for (int i = 0; i < 4; i++)
        t_thread_join(th[i]);
    /* 800 tasks, each woken 20 times by a blocking-pool thread, each
     * joined from a plain thread. */
    cr_assert_eq(atomic_load(&handle_spawned), 800);
    eddy_handle_release(h);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- block_on, enter, hooks, names ---- */

static atomic_int starts, stops, parks, unparks;
static void on_start(void *a) { (void)a; atomic_fetch_add(&starts, 1); }
static void on_stop(void *a) { (void)a; atomic_fetch_add(&stops, 1); }
static void on_park(void *a) { (void)a; atomic_fetch_add(&parks, 1); }
static void on_unpark(void *a) { (void)a; atomic_fetch_add(&unparks, 1); }

static void *thread_name(void *arg)
{
    (void)arg;
    static char name[32];
    pthread_getname_np(pthread_self(), name, sizeof name);
    eddy_sleep(2);
    return name;
}

Test(multi_thread, options_hooks_and_names, .timeout = 120)
{
    eddy_runtime_opts o = {
        .flavor = EDDY_FLAVOR_MULTI_THREAD,
        .worker_threads = 3,
        .thread_name = "mt-test",
        .thread_stack_size = 1 << 20,
        .on_thread_start = on_start,
        .on_thread_stop = on_stop,
        .on_thread_park = on_park,
        .on_thread_unpark = on_unpark,
    };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt);
    char *name = t_rt_block_on(rt, thread_name, NULL);
    cr_assert_str_eq(name, "mt-test");
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert_eq(atomic_load(&starts), 3);
    cr_assert_eq(atomic_load(&stops), 3);
    cr_assert_gt(atomic_load(&parks), 0);
    cr_assert_eq(atomic_load(&parks), atomic_load(&unparks));
}

Test(multi_thread, default_flavor_and_bad_options, .timeout = 120)
{
    eddy_runtime *rt = eddy_runtime_new(NULL); /* Tokio's Runtime::new(): multi-thread */
    cr_assert_not_null(rt);
    cr_assert_eq(T_INT(t_rt_block_on(rt, t_identity, T_PTR(9))), 9);
    cr_assert_eq(eddy_runtime_free(rt), 0);
    eddy_runtime_opts paused = { .flavor = EDDY_FLAVOR_MULTI_THREAD, .start_paused = true };
    errno = 0;
    cr_assert_null(eddy_runtime_new(&paused));
    cr_assert_eq(errno, EINVAL);
}

static void *nested(void *arg)
{
    return T_PTR(eddy_runtime_block_on(arg, t_identity, NULL, NULL));
}

Test(multi_thread, nested_block_on_is_refused, .timeout = 120)
{
    eddy_runtime *rt = mt_rt(2);
    cr_assert_eq(T_INT(t_rt_block_on(rt, nested, rt)), -EBUSY);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- shutdown with tasks parked in I/O, timers and joins ---- */

static int pipes[10][2];
static atomic_int started_count, cancelled_count;
enum { PARKED_TASKS = 41 };

static void *parked_in_io(void *arg)
{
    /* One registration per fd and driver (as epoll): a pipe each. */
    eddy_async_fd *a = eddy_async_fd_new(pipes[T_INT(arg)][0]);
    atomic_fetch_add(&started_count, 1);
    int rc = a ? eddy_async_fd_wait(a, EDDY_IO_READABLE, EDDY_INSTANT_NEVER) : -1;
    eddy_async_fd_free(a);
    if (rc == -ECANCELED)
        atomic_fetch_add(&cancelled_count, 1);
    return NULL;
}

static void *parked_in_sleep(void *arg)
{
    (void)arg;
    atomic_fetch_add(&started_count, 1);
    if (eddy_sleep(60 * 1000) == -ECANCELED)
        atomic_fetch_add(&cancelled_count, 1);
    return NULL;
}

static void *forever(void *arg)
{
    (void)arg;
    eddy_sleep(60 * 1000);
    return NULL;
}

static void *parked_in_join(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(forever, NULL);
    atomic_fetch_add(&started_count, 1);
    if (eddy_join(t, NULL) == -ECANCELED)
        atomic_fetch_add(&cancelled_count, 1);
    return NULL;
}

static eddy_mpsc_tx *chan_tx;
static eddy_mpsc_rx *chan_rx;
static eddy_oneshot_rx *oneshot_rx[10];

static void *parked_in_mpsc(void *arg)
{
    (void)arg;
    long v;
    atomic_fetch_add(&started_count, 1);
    if (eddy_mpsc_recv(chan_rx, &v) == -ECANCELED)
        atomic_fetch_add(&cancelled_count, 1);
    return NULL;
}

static void *parked_in_oneshot(void *arg)
{
    void *v;
    atomic_fetch_add(&started_count, 1);
    if (eddy_oneshot_recv(oneshot_rx[T_INT(arg)], &v) == -ECANCELED)
        atomic_fetch_add(&cancelled_count, 1);
    return NULL;
}

static void *park_everything(void *arg)
{
    (void)arg;
    eddy_detach(eddy_spawn(parked_in_mpsc, NULL));
    for (int i = 0; i < 10; i++) {
        eddy_detach(eddy_spawn(parked_in_io, T_PTR(i)));
        eddy_detach(eddy_spawn(parked_in_sleep, NULL));
        eddy_detach(eddy_spawn_local(parked_in_join, NULL));
        eddy_detach(eddy_spawn(parked_in_oneshot, T_PTR(i)));
    }
    /* Each task must have started: one that never did is not run at
     * shutdown, and would not count. Once started, the abort fails its
     * wait whether it has parked yet or not; the last sleep gives them the
     * time to, so that shutdown mostly finds them parked. */
    struct timespec d = t_deadline(T_WAIT_SECONDS);
    while (atomic_load(&started_count) < PARKED_TASKS && !t_past(&d))
        eddy_sleep(1);
    eddy_sleep(5);
    return NULL;
}

Test(multi_thread, shutdown_with_tasks_parked_in_io_timers_joins_and_channels, .timeout = 120)
{
    eddy_oneshot_tx *otx[10];
    for (int i = 0; i < 10; i++) {
        cr_assert_eq(pipe2(pipes[i], O_CLOEXEC), 0);
        cr_assert_eq(eddy_oneshot_channel(NULL, &otx[i], &oneshot_rx[i]), 0);
    }
    eddy_channel_opts copts = { .elem_size = sizeof(long) };
    cr_assert_eq(eddy_mpsc_channel(&copts, 4, &chan_tx, &chan_rx), 0);
    eddy_runtime *rt = mt_rt(2);
    t_rt_block_on(rt, park_everything, NULL);
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert_eq(atomic_load(&started_count), PARKED_TASKS);
    cr_assert_eq(atomic_load(&cancelled_count), PARKED_TASKS,
                 "parked in I/O, sleep, join, mpsc, oneshot");
    eddy_mpsc_tx_release(chan_tx);
    eddy_mpsc_rx_release(chan_rx);
    for (int i = 0; i < 10; i++) {
        eddy_oneshot_tx_release(otx[i]);
        eddy_oneshot_rx_release(oneshot_rx[i]);
    }
    for (int i = 0; i < 10; i++) {
        close(pipes[i][0]);
        close(pipes[i][1]);
    }
}

static void *sleeps_in_pool(void *arg)
{
    t_sleep_ms(T_INT(arg));
    return NULL;
}

static void *spawn_slow_blocking(void *arg)
{
    eddy_detach(eddy_spawn_blocking(sleeps_in_pool, arg));
    return NULL;
}

Test(multi_thread, shutdown_timeout_and_background, .timeout = 120)
{
    eddy_runtime *rt = mt_rt(2);
    t_rt_block_on(rt, spawn_slow_blocking, T_PTR(300));
    t_sleep_ms(20); /* let the blocking task start */
    cr_assert_eq(eddy_runtime_shutdown_timeout(rt, 1), -ETIMEDOUT);
    rt = mt_rt(2);
    t_rt_block_on(rt, spawn_slow_blocking, T_PTR(50));
    cr_assert_eq(eddy_runtime_shutdown_background(rt), 0);
    t_sleep_ms(400); /* the abandoned pool threads finish on their own */
}

/* ---- handle after shutdown ---- */

Test(multi_thread, handle_spawn_after_free_is_cancelled, .timeout = 120)
{
    eddy_runtime *rt = mt_rt(2);
    eddy_handle *h = eddy_runtime_handle(rt);
    cr_assert_eq(eddy_runtime_free(rt), 0);
    atomic_int ran = 0;
    eddy_task *t = eddy_handle_spawn(h, t_set_flag, &ran);
    cr_assert_not_null(t);
    cr_assert_eq(eddy_join(t, NULL), -ECANCELED);
    cr_assert_eq(atomic_load(&ran), 0);
    eddy_handle_release(h);
}

/* ---- a timer firing while another wake resumes its task ---- */

/* Each round, a waiter's deadline and its notifier's wake land at about the
 * same millisecond, on either worker: the task may be resumed by the wake
 * while the other worker is firing its timer. The wait must say which
 * happened (0 or -ETIMEDOUT), and the task's timer must be free for its
 * next wait either way. TSan watches the hand-over. */
enum { RACE_ROUNDS = 300 };
static atomic_int race_woken, race_timed_out;

static void *race_waiter(void *arg)
{
    eddy_notify *n = arg;
    int ok = 1;
    for (int i = 0; i < 3; i++) { /* reuses the task's timer */
        int rc = eddy_notify_wait_until(n, eddy_deadline_in(1));
        if (rc == 0)
            atomic_fetch_add(&race_woken, 1);
        else if (rc == -ETIMEDOUT)
            atomic_fetch_add(&race_timed_out, 1);
        else
            ok = 0;
    }
    return T_PTR(ok);
}

static void *race_notifier(void *arg)
{
    eddy_sleep(1);
    return T_PTR(eddy_notify_one(arg) == 0);
}

static void *race_rounds(void *arg)
{
    (void)arg;
    int ok = 1;
    for (int r = 0; r < RACE_ROUNDS && ok; r++) {
        eddy_notify *n = eddy_notify_new(EDDY_SYNC_SHARED);
        if (!n)
            return T_PTR(0);
        eddy_task *w = eddy_spawn(race_waiter, n);
        eddy_task *k = eddy_spawn(race_notifier, n);
        void *rw = NULL, *rk = NULL;
        ok = eddy_join(w, &rw) == 0 && eddy_join(k, &rk) == 0 && T_INT(rw) && T_INT(rk);
        ok &= eddy_notify_free(n) == 0;
    }
    return T_PTR(ok);
}

Test(multi_thread, timer_firing_races_another_wake, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = mt_rt(2);
    cr_assert(T_INT(t_rt_block_on(rt, race_rounds, NULL)));
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert_eq(atomic_load(&race_woken) + atomic_load(&race_timed_out), 3 * RACE_ROUNDS);
    cr_assert_gt(atomic_load(&race_timed_out), 0);
}

/* ---- a timer whose worker is stuck in a task that never yields ---- */

/* Each worker fires the timers its own tasks armed, at its driver polls. A
 * worker stuck in a long task polls nothing, so the other worker, parked in
 * the driver, must wait for those timers too and fire them. Here the
 * sleeper arms its timer on the root's worker, which then spins until the
 * sleeper is done; the idle worker parked with no timer to wait for, so
 * the arm must also wake it to look again. (It would wake on its own only
 * to hand back cold stacks, and this test makes too few for that.) */
static atomic_long stuck_armed_on;
static atomic_int stuck_done;

static void *stuck_sleeper(void *arg)
{
    (void)arg;
    atomic_store(&stuck_armed_on, tid());
    /* Meanwhile the other worker, woken by our spawn, finds nothing to do
     * and parks again (if it is slower, it sees our timer when it parks,
     * and the test shows less). */
    struct timespec settle = { 0, 30 * 1000 * 1000 };
    nanosleep(&settle, NULL);
    eddy_sleep(20);
    atomic_store(&stuck_done, 1);
    return NULL;
}

static void *stuck_root(void *arg)
{
    (void)arg;
    /* Until the sleeper runs (so arms its timer) on this worker. */
    for (int round = 0; round < 100; round++) {
        atomic_store(&stuck_armed_on, 0);
        atomic_store(&stuck_done, 0);
        eddy_task *s = eddy_spawn(stuck_sleeper, NULL);
        if (!s)
            return T_PTR(0);
        while (atomic_load(&stuck_armed_on) == 0)
            eddy_yield();
        if (atomic_load(&stuck_armed_on) != tid()) {
            eddy_join(s, NULL);
            continue;
        }
        struct timespec d = t_deadline(T_WAIT_SECONDS);
        while (!atomic_load(&stuck_done) && !t_past(&d))
            ; /* no yield: this worker polls nothing meanwhile */
        int ok = atomic_load(&stuck_done);
        eddy_join(s, NULL);
        return T_PTR(ok ? 1 : 0);
    }
    return T_PTR(2); /* never ran on this worker: nothing was tested */
}

Test(multi_thread, a_timer_fires_while_its_worker_is_stuck_in_a_task, .timeout = T_TIMEOUT + 10)
{
    eddy_runtime *rt = mt_rt(2);
    cr_assert_eq(T_INT(t_rt_block_on(rt, stuck_root, NULL)), 1);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- tasks one I/O event wakes together ---- */

/* Both waiters are woken by one event, in one driver poll: the polling
 * worker runs one and must tell the idle worker about the other, which
 * here is the only way it runs (each spins until both are running, and
 * the idle worker has no timer to wake it). */
enum { SPREAD_ROUNDS = 3 };
static atomic_int spread_waiting, spread_running;

static void *spread_waiter(void *arg)
{
    atomic_fetch_add(&spread_waiting, 1);
    if (eddy_async_fd_wait(arg, EDDY_IO_READABLE, EDDY_INSTANT_NEVER) <= 0)
        return T_PTR(0);
    atomic_fetch_add(&spread_running, 1);
    struct timespec d = t_deadline(T_WAIT_SECONDS);
    while (atomic_load(&spread_running) < 2 && !t_past(&d))
        ; /* no yield: only the other worker can run the other waiter */
    return T_PTR(atomic_load(&spread_running) == 2);
}

/* Fires the event once both waiters are (very likely) parked and both
 * workers idle; if not, the test passes without showing anything. */
static void *spread_trigger(void *arg)
{
    while (atomic_load(&spread_waiting) < 2)
        sched_yield();
    struct timespec settle = { 0, 50 * 1000 * 1000 };
    nanosleep(&settle, NULL);
    uint64_t one = 1;
    return T_PTR(write(*(int *)arg, &one, sizeof one) == sizeof one);
}

static void *spread_root(void *arg)
{
    (void)arg;
    int ok = 1;
    for (int r = 0; r < SPREAD_ROUNDS && ok; r++) {
        atomic_store(&spread_waiting, 0);
        atomic_store(&spread_running, 0);
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        eddy_async_fd *afd = fd < 0 ? NULL : eddy_async_fd_new(fd);
        if (!afd)
            return T_PTR(0);
        eddy_task *a = eddy_spawn(spread_waiter, afd);
        eddy_task *b = eddy_spawn(spread_waiter, afd);
        pthread_t th;
        void *ra = NULL, *rb = NULL, *rt = NULL;
        ok = a && b && pthread_create(&th, NULL, spread_trigger, &fd) == 0;
        ok = ok && eddy_join(a, &ra) == 0 && eddy_join(b, &rb) == 0 &&
             pthread_join(th, &rt) == 0 && T_INT(ra) && T_INT(rb) && T_INT(rt);
        eddy_async_fd_free(afd);
        close(fd);
    }
    return T_PTR(ok);
}

Test(multi_thread, tasks_one_event_wakes_spread_to_an_idle_worker, .timeout = T_TIMEOUT + 10)
{
    eddy_runtime *rt = mt_rt(2);
    cr_assert_eq(T_INT(t_rt_block_on(rt, spread_root, NULL)), 1);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}
