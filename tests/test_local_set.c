/* LocalSet: thread-pinned tasks driven inside another runtime. */
#include "util.h"

#include <sys/syscall.h>

static long tid(void)
{
    return syscall(SYS_gettid); /* not pthread_self(): see test_multi_thread.c */
}

static long owner_tid;
static atomic_int wrong_thread, resumes;
static int plain_counter; /* not atomic: set tasks share one thread */

static void *set_worker(void *arg)
{
    int n = T_INT(arg);
    for (int i = 0; i < n; i++) {
        if (tid() != owner_tid)
            atomic_fetch_add(&wrong_thread, 1);
        atomic_fetch_add(&resumes, 1);
        plain_counter++;
        if (i % 3 == 0)
            eddy_sleep(1);
        else
            eddy_yield();
    }
    return arg;
}

static void *set_root(void *arg)
{
    (void)arg;
    eddy_task *t[50];
    for (int i = 0; i < 50; i++) {
        t[i] = i % 2 ? eddy_spawn_local(set_worker, T_PTR(20)) : eddy_spawn(set_worker, T_PTR(20));
        cr_expect_not_null(t[i]);
    }
    long sum = 0;
    for (int i = 0; i < 50; i++) {
        void *r = NULL;
        eddy_join(t[i], &r);
        sum += T_INT(r);
    }
    return T_PTR(sum);
}

Test(local_set, block_on_a_current_thread_runtime, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_CURRENT_THREAD };
    eddy_runtime *rt = eddy_runtime_new(&o);
    eddy_local_set *set = eddy_local_set_new();
    cr_assert_not_null(set);
    owner_tid = tid();
    void *r = NULL;
    cr_assert_eq(eddy_local_set_block_on(set, rt, set_root, NULL, &r), 0);
    cr_assert_eq(T_INT(r), 1000);
    cr_assert_eq(plain_counter, 1000);
    cr_assert_eq(atomic_load(&wrong_thread), 0);
    cr_assert_eq(eddy_local_set_free(set), 0);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- inside a task of the multi-thread runtime ---- */

static void *mt_task_with_set(void *arg)
{
    (void)arg;
    eddy_local_set *set = eddy_local_set_new();
    owner_tid = tid();
    void *r = NULL;
    int rc = eddy_local_set_run_until(set, set_root, NULL, &r);
    cr_expect_eq(rc, 0, "run_until: %s", eddy_strerror(rc));
    /* The driving task was pinned while it drove the set. */
    cr_expect_eq(tid(), owner_tid);
    cr_expect_eq(eddy_local_set_free(set), 0);
    return r;
}

Test(local_set, inside_a_multi_thread_task_pins_to_its_worker, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_MULTI_THREAD, .worker_threads = 2 };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt);
    void *r = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, mt_task_with_set, NULL, &r), 0);
    cr_assert_eq(T_INT(r), 1000);
    cr_assert_gt(atomic_load(&resumes), 0);
    cr_assert_eq(atomic_load(&wrong_thread), 0, "a set task ran off its owner thread");
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- spawned before it runs; wait for the whole set ---- */

static atomic_int early_ran;

static void *early(void *arg)
{
    (void)arg;
    eddy_yield();
    atomic_fetch_add(&early_ran, 1);
    return NULL;
}

static void *drive_wait(void *arg)
{
    cr_expect_eq(atomic_load(&early_ran), 0, "set tasks ran before the set was driven");
    return T_PTR(eddy_local_set_wait(arg));
}

Test(local_set, tasks_spawned_before_it_runs_start_when_driven, .timeout = T_TIMEOUT)
{
    eddy_local_set *set = eddy_local_set_new();
    for (int i = 0; i < 10; i++)
        eddy_detach(eddy_local_set_spawn_local(set, early, NULL));
    cr_assert_eq(atomic_load(&early_ran), 0);
    cr_assert_eq(T_INT(t_run_local(drive_wait, set)), 0);
    cr_assert_eq(atomic_load(&early_ran), 10);
    cr_assert_eq(eddy_local_set_free(set), 0);
}

/* ---- destruction cancels parked tasks ---- */

static atomic_int parked, saw_cancel;

static void *parks_forever(void *arg)
{
    (void)arg;
    atomic_fetch_add(&parked, 1);
    int rc = eddy_sleep(60 * 1000);
    if (rc == -ECANCELED)
        atomic_fetch_add(&saw_cancel, 1);
    /* cleanup may spawn; the set is closing, so it never runs */
    eddy_detach(eddy_spawn_local(t_set_flag, &early_ran));
    return NULL;
}

static void *park_some(void *arg)
{
    eddy_local_set *set = arg;
    eddy_task **handles = malloc(5 * sizeof *handles);
    for (int i = 0; i < 5; i++)
        handles[i] = eddy_local_set_spawn_local(set, parks_forever, NULL);
    /* Drive the set until they are all parked. */
    eddy_local_set_run_until(set, early, NULL, NULL);
    while (atomic_load(&parked) < 5)
        eddy_local_set_run_until(set, early, NULL, NULL);
    return handles;
}

Test(local_set, free_cancels_parked_tasks_on_the_owner_thread, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_local_set *set = eddy_local_set_new();
    eddy_task **h = t_block_on(rt, park_some, set);
    atomic_store(&early_ran, 0);
    cr_assert_eq(eddy_local_set_free(set), 0); /* from plain code, owner thread */
    cr_assert_eq(atomic_load(&saw_cancel), 5);
    cr_assert_eq(atomic_load(&early_ran), 0, "a task spawned during free ran");
    for (int i = 0; i < 5; i++)
        cr_assert_eq(eddy_join(h[i], NULL), -ECANCELED);
    free(h);
    t_free_rt(rt);
}

/* ---- fairness: the outer runtime keeps running ---- */

static atomic_int stop_spinning, outer_ticks;

static void *spinner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop_spinning) && eddy_yield() == 0) {
    }
    return NULL;
}

static void *outer_task(void *arg)
{
    (void)arg;
    for (int i = 0; i < 100; i++) {
        atomic_fetch_add(&outer_ticks, 1);
        eddy_yield();
    }
    atomic_store(&stop_spinning, 1);
    return NULL;
}

static void *set_with_spinners(void *arg)
{
    (void)arg;
    eddy_task *outer = eddy_spawn(outer_task, NULL); /* a task of the outer runtime */
    eddy_local_set *set = eddy_local_set_new();
    for (int i = 0; i < 200; i++)
        eddy_detach(eddy_local_set_spawn_local(set, spinner, NULL));
    int rc = eddy_local_set_wait(set); /* ends when outer_task stops them */
    eddy_join(outer, NULL);
    eddy_local_set_free(set);
    return T_PTR(rc);
}

Test(local_set, the_outer_runtime_is_not_starved, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(set_with_spinners, NULL)), 0);
    cr_assert_eq(atomic_load(&outer_ticks), 100);
}

/* ---- yields: in turn, straight from one task to the next ---- */

enum { TURN_TASKS = 3, TURN_ROUNDS = 4 };
static char turn_log[TURN_TASKS * TURN_ROUNDS + 1];
static int turn_len;

static void *takes_turns(void *arg)
{
    for (int i = 0; i < TURN_ROUNDS; i++) {
        turn_log[turn_len++] = (char)T_INT(arg);
        if (eddy_yield() != 0)
            return T_PTR(0);
    }
    return T_PTR(1);
}

static void *set_of_turn_takers(void *arg)
{
    (void)arg;
    eddy_local_set *set = eddy_local_set_new();
    eddy_task *t[TURN_TASKS];
    for (int i = 0; i < TURN_TASKS; i++)
        t[i] = eddy_local_set_spawn_local(set, takes_turns, T_PTR('a' + i));
    int rc = eddy_local_set_wait(set);
    int ok = rc == 0;
    for (int i = 0; i < TURN_TASKS; i++) {
        void *r = NULL;
        ok &= t[i] && eddy_join(t[i], &r) == 0 && T_INT(r);
    }
    eddy_local_set_free(set);
    return T_PTR(ok);
}

/* From the second round on, each yield resumes the next task directly;
 * a yielded task still waits behind every task that was ready. */
Test(local_set, yielding_tasks_take_turns_in_order, .timeout = T_TIMEOUT)
{
    cr_assert(T_INT(t_run_local(set_of_turn_takers, NULL)));
    cr_assert_str_eq(turn_log, "abcabcabcabc");
}

static t_yield_count victim_count;

static void *yields_then_aborts(void *arg)
{
    eddy_task *victim = arg;
    while (atomic_load(&victim_count.yields) < 20)
        if (eddy_yield() != 0)
            return T_PTR(0);
    eddy_abort(victim);
    for (int i = 0; i < 10; i++) /* the victim is resumed by these yields */
        if (eddy_yield() != 0)
            return T_PTR(0);
    return T_PTR(1);
}

static void *set_with_an_abort(void *arg)
{
    (void)arg;
    eddy_local_set *set = eddy_local_set_new();
    eddy_task *victim = eddy_local_set_spawn_local(set, t_yield_until_aborted, &victim_count);
    eddy_task *killer = eddy_local_set_spawn_local(set, yields_then_aborts, victim);
    int ok = eddy_local_set_wait(set) == 0;
    void *r = NULL;
    ok &= eddy_join(victim, &r) == -ECANCELED;
    ok &= eddy_join(killer, &r) == 0 && T_INT(r);
    eddy_local_set_free(set);
    return T_PTR(ok);
}

Test(local_set, an_aborted_yielding_task_sees_the_abort, .timeout = T_TIMEOUT)
{
    cr_assert(T_INT(t_run_local(set_with_an_abort, NULL)));
    cr_assert(atomic_load(&victim_count.saw_abort));
}

/* Two set tasks that only ever wake each other and park: each park hands
 * the thread straight to the other, yet the set's turn must still end
 * (so that the outer runtime fires the timer of a set task sleeping) and
 * the remote queue must still be served (a set task woken from another
 * thread), or the pair would never see the flags that stop it. */
static t_pair pair;
static atomic_int pair_slept, pair_remote_woken;

static void *pair_remote_waiter(void *arg)
{
    uint64_t v = 0;
    int rc = eddy_oneshot_recv(arg, &v);
    eddy_oneshot_rx_release(arg);
    atomic_store(&pair_remote_woken, 1);
    return T_PTR(rc == 0 && v == 7);
}

static void *pair_remote_sender(void *arg)
{
    t_sleep_ms(2);
    uint64_t v = 7;
    return T_PTR(eddy_oneshot_send(arg, &v) == 0);
}

static void *set_with_a_pair(void *arg)
{
    (void)arg;
    eddy_oneshot_tx *tx;
    eddy_oneshot_rx *rx;
    eddy_channel_opts shared = { .flavor = EDDY_SYNC_SHARED, .elem_size = sizeof(uint64_t) };
    if (eddy_oneshot_channel(&shared, &tx, &rx) != 0)
        return T_PTR(0);
    eddy_local_set *set = eddy_local_set_new();
    eddy_task *t[4] = {
        eddy_local_set_spawn_local(set, t_pair_member, &pair.side[0]),
        eddy_local_set_spawn_local(set, t_pair_member, &pair.side[1]),
        eddy_local_set_spawn_local(set, t_sleep_then_set_flag, &pair_slept),
        eddy_local_set_spawn_local(set, pair_remote_waiter, rx),
    };
    pthread_t th = t_thread_start(pair_remote_sender, tx);
    int ok = eddy_local_set_wait(set) == 0;
    for (int i = 0; i < 4; i++) {
        void *r = NULL;
        ok &= t[i] && eddy_join(t[i], &r) == 0 && T_INT(r);
    }
    ok &= T_INT(t_thread_join(th));
    eddy_local_set_free(set);
    return T_PTR(ok);
}

Test(local_set, handing_off_tasks_leave_room_for_timers_and_remote, .timeout = T_TIMEOUT)
{
    t_pair_init(&pair, &pair_slept, &pair_remote_woken);
    cr_assert(T_INT(t_run_local(set_with_a_pair, NULL)));
    t_pair_finish(&pair);
}

/* ---- wakes from another thread go through the remote queue ---- */

static void *blocking_value(void *arg)
{
    t_sleep_ms(2);
    return arg;
}

static void *joins_blocking(void *arg)
{
    (void)arg;
    long sum = 0;
    for (int i = 0; i < 10; i++) {
        void *r = NULL;
        eddy_join(eddy_spawn_blocking(blocking_value, T_PTR(1)), &r);
        sum += T_INT(r);
        if (tid() != owner_tid)
            atomic_fetch_add(&wrong_thread, 1);
    }
    return T_PTR(sum);
}

static void *remote_wakes(void *arg)
{
    (void)arg;
    eddy_local_set *set = eddy_local_set_new();
    owner_tid = tid();
    void *r = NULL;
    eddy_local_set_run_until(set, joins_blocking, NULL, &r);
    eddy_local_set_free(set);
    return r;
}

Test(local_set, wakes_from_other_threads, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(remote_wakes, NULL)), 10);
    cr_assert_eq(atomic_load(&wrong_thread), 0);
}

/* ---- misuse ---- */

static void *other_thread_calls(void *arg)
{
    eddy_local_set *set = arg;
    errno = 0;
    int ok = eddy_local_set_spawn_local(set, t_identity, NULL) == NULL && errno == EPERM;
    ok = ok && eddy_local_set_free(set) == -EPERM;
    ok = ok && eddy_local_set_wait(set) == -EPERM;
    return T_PTR(ok);
}

static eddy_local_set *the_set;

static void *drive_again(void *arg)
{
    (void)arg;
    return T_PTR(eddy_local_set_wait(the_set));
}

static void *outer_drive(void *arg)
{
    (void)arg;
    void *r = NULL;
    eddy_local_set_run_until(the_set, drive_again, NULL, &r);
    return r;
}

Test(local_set, misuse_is_refused, .timeout = T_TIMEOUT)
{
    the_set = eddy_local_set_new();
    pthread_t th = t_thread_start(other_thread_calls, the_set);
    cr_assert_eq(T_INT(t_thread_join(th)), 1, "calls from another thread must get EPERM");
    cr_assert_eq(eddy_local_set_wait(the_set), -EPERM, "outside a task");
    cr_assert_eq(eddy_local_set_run_until(the_set, t_identity, NULL, NULL), -EPERM);
    cr_assert_eq(eddy_local_set_run_until(NULL, t_identity, NULL, NULL), -EINVAL);
    cr_assert_eq(T_INT(t_run_local(outer_drive, NULL)), -EBUSY, "driving a set from inside it");
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_MULTI_THREAD, .worker_threads = 1 };
    eddy_runtime *mt = eddy_runtime_new(&o);
    cr_assert_eq(eddy_local_set_block_on(the_set, mt, t_identity, NULL, NULL), -ENOTSUP);
    cr_assert_eq(eddy_runtime_free(mt), 0);
    cr_assert_eq(eddy_local_set_free(the_set), 0);
    cr_assert_eq(eddy_local_set_free(NULL), -EINVAL);
}
