/* Races on a task's handle and state word between threads: aborts against
 * a task that is running, yielding or finishing; blocking joins from plain
 * threads against completion; detaches against completion; aborts of
 * parked LocalRuntime tasks from another thread. Each test runs its race
 * over 2,000 tasks so that the sanitizer runs (TSan, ASan) and
 * valgrind see many interleavings, and asserts outcomes only: every join
 * reports what the task did, every task is accounted for, nothing hangs. */
#include <criterion/criterion.h>
#include <stdatomic.h>

#include "util.h"

#define TASKS 2000

/* ---- Shared bookkeeping -------------------------------------------------- */

/* One race: the tasks' handles as their spawner publishes them, and what
 * each task and each joiner saw. */
struct race {
    eddy_runtime *rt;          /* NULL for the LocalRuntime test */
    eddy_handle *h;
    eddy_task *task[TASKS];
    atomic_int spawned;        /* task[0..spawned) are published */
    atomic_int aborted_upto;   /* the aborter is past task[0..aborted_upto) */
    atomic_int ran[TASKS];     /* the task's function started */
    atomic_int joined;         /* handles consumed by a join */
    atomic_int finished;       /* task functions that returned */
    atomic_int bad;            /* outcomes that contradict the task */
    atomic_int outcome[3];     /* joins that saw: done, aborted after it
                                  ran, aborted before it ran */
    atomic_int timeouts;       /* timed joins that gave up */
};

/* Fresh bookkeeping for a race on rt (may be NULL), with rt's handle. */
static struct race *race_new(eddy_runtime *rt)
{
    struct race *r = calloc(1, sizeof *r);
    cr_assert_not_null(r);
    r->rt = rt;
    if (rt) {
        r->h = eddy_runtime_handle(rt);
        cr_assert_not_null(r->h);
    }
    return r;
}

/* Drops the handle, frees the runtime (which must succeed) and r. */
static void race_free(struct race *r)
{
    if (r->rt) {
        eddy_handle_release(r->h);
        cr_assert_eq(eddy_runtime_free(r->rt), 0);
    }
    free(r);
}

/* From a plain thread: waits until `i` is below the published count,
 * spinning (a sleep would let the tasks run far ahead of the race). */
static bool await_index(atomic_int *count, int i)
{
    struct timespec d = t_deadline(T_WAIT_SECONDS);
    while (atomic_load(count) <= i) {
        if (t_past(&d))
            return false;
        sched_yield();
    }
    return true;
}

/* An aborter that gives up (a wait timed out) lets every victim that
 * waits for it finish, so that the test fails on its counts instead of
 * hanging. Returns NULL, for a thread to return. */
static void *release_victims(struct race *r, int n)
{
    cr_log_error("the aborter gave up waiting; releasing the victims");
    atomic_fetch_add(&r->bad, 1);
    atomic_store(&r->aborted_upto, n);
    return NULL;
}

/* A task that returns i + 1 after yielding: half of them 0 or 8 times,
 * racing whatever the other threads do to them; the other half until the
 * aborter is past them (or a yield fails), so that an abort certainly
 * finds some of them running. An abort's -ECANCELED is ignored, as a task
 * with nothing to unwind would. */
struct victim_arg {
    struct race *r;
    int i;
};
static struct victim_arg victim_args[TASKS];

static void *victim(void *arg)
{
    struct victim_arg *a = arg;
    atomic_store(&a->r->ran[a->i], 1);
    if (a->i % 4 < 2) {
        for (int k = 0; k < a->i % 2 * 8; k++)
            (void)eddy_yield();
    } else {
        while (atomic_load(&a->r->aborted_upto) <= a->i && eddy_yield() == 0) {
        }
    }
    atomic_fetch_add(&a->r->finished, 1);
    return T_PTR(a->i + 1);
}

/* Spawns the victims through the handle, publishing each handle as soon
 * as it exists, for the other threads to race on. */
static void spawn_victims(struct race *r)
{
    for (int i = 0; i < TASKS; i++) {
        victim_args[i] = (struct victim_arg){ r, i };
        r->task[i] = eddy_handle_spawn(r->h, victim, &victim_args[i]);
        cr_assert_not_null(r->task[i]);
        atomic_store(&r->spawned, i + 1);
    }
}

/* What a join of task i may report: its result, or -ECANCELED when it was
 * aborted (with its result if it ran, NULL if it never did). */
static void check_join(struct race *r, int i, int rc, void *res, bool may_be_aborted)
{
    bool ran = atomic_load(&r->ran[i]) != 0;
    bool ok;
    if (rc == 0)
        ok = ran && res == T_PTR(i + 1);
    else if (rc == -ECANCELED)
        ok = may_be_aborted && (ran ? res == T_PTR(i + 1) : res == NULL);
    else
        ok = false;
    if (!ok) {
        fprintf(stderr, "task %d: join %d, result %p, ran %d\n", i, rc, res, ran);
        atomic_fetch_add(&r->bad, 1);
    }
    atomic_fetch_add(&r->outcome[rc == 0 ? 0 : ran ? 1 : 2], 1);
    atomic_fetch_add(&r->joined, 1);
}

/* Shown with --verbose: whether this run's interleavings hit each case. */
static void log_outcomes(const struct race *r)
{
    cr_log_info("joins: %d done, %d aborted after running, %d aborted before",
                atomic_load(&r->outcome[0]), atomic_load(&r->outcome[1]),
                atomic_load(&r->outcome[2]));
}

/* ---- Aborts against running and finishing tasks, two workers ------------ */

/* Aborts every even task a varying number of spawns after it was
 * published (none to a few dozen), so that the abort finds it queued,
 * running, yielding or returning on either worker. */
static void *abort_evens(void *arg)
{
    struct race *r = arg;
    for (int i = 0; i < TASKS; i++) {
        int lag = (i * 7) % 48;
        if (!await_index(&r->spawned, i + lag < TASKS ? i + lag : TASKS - 1)) {
            release_victims(r, TASKS);
            break;
        }
        if (i % 2 == 0) {
            eddy_abort(r->task[i]);
            if (!eddy_is_cancelled(r->task[i]) && !eddy_is_finished(r->task[i]))
                atomic_fetch_add(&r->bad, 1);
        }
        atomic_store(&r->aborted_upto, i + 1);
    }
    return NULL;
}

/* Joins every odd task, blocking, as soon as it is published. */
static void *join_odds(void *arg)
{
    struct race *r = arg;
    for (int i = 1; i < TASKS; i += 2) {
        if (!await_index(&r->spawned, i))
            break;
        void *res = NULL;
        int rc = eddy_join(r->task[i], &res);
        check_join(r, i, rc, res, false);
    }
    return NULL;
}

/* A task on the runtime: joins every even task once the aborter is past
 * it (a handle must outlive every call made on it, eddy_abort included)
 * and it is published (an aborter that gave up is past every task). */
static void *join_evens(void *arg)
{
    struct race *r = arg;
    for (int i = 0; i < TASKS; i += 2) {
        bool ok;
        T_YIELD_UNTIL(ok, atomic_load(&r->aborted_upto) > i && atomic_load(&r->spawned) > i);
        if (!ok)
            return T_PTR(-ETIMEDOUT);
        void *res = NULL;
        int rc = eddy_join(r->task[i], &res);
        check_join(r, i, rc, res, true);
    }
    return NULL;
}

Test(task_races, aborts_and_joins_race_tasks_on_two_workers, .timeout = 120)
{
    struct race *r = race_new(t_mt_rt(2, 0, EDDY_STACK_GUARDED));
    eddy_task *evens = eddy_handle_spawn(r->h, join_evens, r);
    cr_assert_not_null(evens);
    pthread_t aborter = t_thread_start(abort_evens, r);
    pthread_t joiner = t_thread_start(join_odds, r);
    spawn_victims(r);
    t_thread_join(aborter);
    t_thread_join(joiner);
    void *res = NULL;
    cr_assert_eq(eddy_join(evens, &res), 0);
    cr_assert_null(res, "the even joiner timed out");

    log_outcomes(r);
    cr_expect_eq(atomic_load(&r->bad), 0);
    cr_expect_eq(atomic_load(&r->joined), TASKS);
    /* Odd tasks were never aborted: every one of them ran to its end. */
    for (int i = 1; i < TASKS; i += 2)
        cr_expect(atomic_load(&r->ran[i]), "odd task %d never ran", i);
    race_free(r);
}

/* ---- Detaches against completion ---------------------------------------- */

/* A detach that lands while the task runs must not read what its
 * completer is about to write (it did once: 185ee05; TSan saw it in about
 * one run in a thousand, the window being a few instructions wide). */

static void *detach_all(void *arg)
{
    struct race *r = arg;
    for (int i = 0; i < TASKS; i++) {
        if (!await_index(&r->spawned, i))
            break;
        (void)eddy_is_finished(r->task[i]); /* legal until the handle goes */
        eddy_detach(r->task[i]);
    }
    return NULL;
}

Test(task_races, detaches_race_completion_on_two_workers, .timeout = 120)
{
    struct race *r = race_new(t_mt_rt(2, 0, EDDY_STACK_GUARDED));
    atomic_store(&r->aborted_upto, TASKS); /* no aborter: no victim waits */
    pthread_t detacher = t_thread_start(detach_all, r);
    spawn_victims(r);
    t_thread_join(detacher);
    /* Detached tasks still run to their end; freeing the runtime after
     * that leaves nothing behind (the leak checkers see to the rest). */
    bool ok;
    T_SPIN_UNTIL(ok, atomic_load(&r->finished) == TASKS);
    cr_expect(ok, "%d of %d detached tasks finished", atomic_load(&r->finished), TASKS);
    race_free(r);
}

/* ---- Timed joins against completion ------------------------------------- */

/* Joins task i with deadlines of 0 or 1 ms until it is done: each timeout
 * must leave the handle with the caller (the joiner's waker registered,
 * then taken back while the task may be completing), and the final join
 * must hand over the result. Returns how many attempts timed out. */
static int join_with_short_deadlines(struct race *r, int i)
{
    int timeouts = 0;
    for (;;) {
        void *res = NULL;
        int rc = eddy_join_until(r->task[i], &res, eddy_deadline_in((uint64_t)(timeouts % 2)));
        if (rc != -ETIMEDOUT) {
            check_join(r, i, rc, res, false);
            return timeouts;
        }
        timeouts++;
    }
}

static void *timed_join_odds(void *arg)
{
    struct race *r = arg;
    for (int i = 1; i < TASKS; i += 2) {
        if (!await_index(&r->spawned, i))
            break;
        atomic_fetch_add(&r->timeouts, join_with_short_deadlines(r, i));
    }
    return NULL;
}

static void *timed_join_evens(void *arg)
{
    struct race *r = arg;
    for (int i = 0; i < TASKS; i += 2) {
        bool ok;
        T_YIELD_UNTIL(ok, atomic_load(&r->spawned) > i);
        if (!ok)
            return T_PTR(-ETIMEDOUT);
        atomic_fetch_add(&r->timeouts, join_with_short_deadlines(r, i));
    }
    return NULL;
}

Test(task_races, timed_joins_race_completion_on_two_workers, .timeout = 120)
{
    struct race *r = race_new(t_mt_rt(2, 0, EDDY_STACK_GUARDED));
    atomic_store(&r->aborted_upto, TASKS); /* no aborter: no victim waits */
    eddy_task *evens = eddy_handle_spawn(r->h, timed_join_evens, r);
    cr_assert_not_null(evens);
    pthread_t odds = t_thread_start(timed_join_odds, r);
    spawn_victims(r);
    t_thread_join(odds);
    void *res = NULL;
    cr_assert_eq(eddy_join(evens, &res), 0);
    cr_assert_null(res, "the even joiner timed out");
    cr_log_info("timed joins: %d attempts timed out", atomic_load(&r->timeouts));
    cr_expect_eq(atomic_load(&r->bad), 0);
    cr_expect_eq(atomic_load(&r->joined), TASKS);
    race_free(r);
}

/* ---- Joiners aborted while they wait ------------------------------------ */

/* Fewer than TASKS: every victim here is spawned with a joiner task, and
 * the busy victims make valgrind's serialised threads slow. */
#define PAIRS 500

static atomic_int joiner_started[PAIRS];

/* Joins victim i; aborted while it waits, the join returns -ECANCELED and
 * detaches the victim, which runs on. Returns 1 once it consumed the
 * victim's handle either way (a joiner aborted before it ran never does). */
static void *joiner_of(void *arg)
{
    struct victim_arg *a = arg;
    atomic_store(&joiner_started[a->i], 1);
    void *res = NULL;
    int rc = eddy_join(a->r->task[a->i], &res);
    if (rc == 0 ? res != T_PTR(a->i + 1) : rc != -ECANCELED)
        atomic_fetch_add(&a->r->bad, 1);
    atomic_fetch_add(&a->r->outcome[rc == 0 ? 0 : 1], 1);
    return T_PTR(1);
}

static struct victim_arg joiner_args[PAIRS];
static eddy_task *joiners[PAIRS];

/* Aborts every joiner: a third as soon as they are published (most of
 * those never run), then the rest in order once each has started. Half the
 * victims run until the aborter is past them, so a started joiner of one
 * of those is certainly waiting, or about to, when its abort lands. Two
 * passes rather than a wait per joiner: under valgrind every wait costs
 * the busy workers' time slices. */
static void *abort_joiners(void *arg)
{
    struct race *r = arg;
    for (int i = 0; i < PAIRS; i += 3) {
        if (!await_index(&r->spawned, i))
            return release_victims(r, PAIRS);
        eddy_abort(joiners[i]);
    }
    for (int i = 0; i < PAIRS; i++) {
        if (i % 3 != 0) {
            /* Started and published: a joiner may start on a worker before
             * the test thread has stored its handle. */
            if (!await_index(&joiner_started[i], 0) || !await_index(&r->spawned, i))
                return release_victims(r, PAIRS);
            eddy_abort(joiners[i]);
        }
        atomic_store(&r->aborted_upto, i + 1);
    }
    return NULL;
}

Test(task_races, aborted_joiners_detach_the_tasks_they_wait_for, .timeout = 120)
{
    struct race *r = race_new(t_mt_rt(2, 0, EDDY_STACK_GUARDED));
    pthread_t aborter = t_thread_start(abort_joiners, r);
    for (int i = 0; i < PAIRS; i++) {
        victim_args[i] = (struct victim_arg){ r, i };
        r->task[i] = eddy_handle_spawn(r->h, victim, &victim_args[i]);
        cr_assert_not_null(r->task[i]);
        joiner_args[i] = victim_args[i];
        joiners[i] = eddy_handle_spawn(r->h, joiner_of, &joiner_args[i]);
        cr_assert_not_null(joiners[i]);
        atomic_store(&r->spawned, i + 1);
    }
    t_thread_join(aborter);
    int never_ran = 0;
    for (int i = 0; i < PAIRS; i++) {
        void *res = NULL;
        int rc = eddy_join(joiners[i], &res);
        cr_expect(rc == 0 || rc == -ECANCELED, "joiner %d: %d", i, rc);
        if (res == NULL) { /* aborted before it ran: the victim is ours */
            never_ran++;
            eddy_detach(r->task[i]);
        }
    }
    cr_log_info("aborted joiners: %d joined, %d cancelled waiting, %d never ran",
                atomic_load(&r->outcome[0]), atomic_load(&r->outcome[1]), never_ran);
    cr_expect_eq(atomic_load(&r->bad), 0);
    /* Every victim runs to its end, detached or joined; then the runtime
     * is freed with nothing left (the leak checkers see to that). */
    bool ok;
    T_SPIN_UNTIL(ok, atomic_load(&r->finished) == PAIRS);
    cr_expect(ok, "%d of %d victims finished", atomic_load(&r->finished), PAIRS);
    race_free(r);
}

/* ---- Blocking joins from plain threads on a current-thread runtime ------ */

#define JOINERS 4

struct joiner_arg {
    struct race *r;
    int first;
};

/* Spawns its share of the tasks through the handle and joins each at once,
 * blocking, while the runtime's own thread runs them. */
static void *spawn_and_join_share(void *arg)
{
    struct joiner_arg *a = arg;
    for (int i = a->first; i < TASKS; i += JOINERS) {
        victim_args[i] = (struct victim_arg){ a->r, i };
        eddy_task *t = eddy_handle_spawn(a->r->h, victim, &victim_args[i]);
        if (!t) {
            atomic_fetch_add(&a->r->bad, 1);
            continue;
        }
        void *res = NULL;
        int rc = eddy_join(t, &res);
        check_join(a->r, i, rc, res, false);
    }
    return NULL;
}

static void *drive_until_joined(void *arg)
{
    struct race *r = arg;
    bool ok;
    T_YIELD_UNTIL(ok, atomic_load(&r->joined) == TASKS);
    return ok ? NULL : T_PTR(-ETIMEDOUT);
}

Test(task_races, plain_threads_join_tasks_of_a_current_thread_runtime, .timeout = 120)
{
    struct race *r = race_new(t_ct_rt());
    atomic_store(&r->aborted_upto, TASKS); /* no aborter: no victim waits */
    struct joiner_arg args[JOINERS];
    pthread_t th[JOINERS];
    for (int k = 0; k < JOINERS; k++) {
        args[k] = (struct joiner_arg){ r, k };
        th[k] = t_thread_start(spawn_and_join_share, &args[k]);
    }
    cr_expect_null(t_rt_block_on(r->rt, drive_until_joined, r), "joins timed out");
    for (int k = 0; k < JOINERS; k++)
        t_thread_join(th[k]);
    cr_expect_eq(atomic_load(&r->bad), 0);
    cr_expect_eq(atomic_load(&r->joined), TASKS);
    race_free(r);
}

/* ---- Remote aborts of parked LocalRuntime tasks ------------------------- */

/* Parks three ways until aborted: on a local Notify nobody notifies
 * (after a few yields), in a sleep far past the test's timeout, or
 * receiving from a local oneshot nobody sends on. Once they are all parked
 * the runtime's thread sleeps in its driver, and each abort from the other
 * thread must wake it. */
struct parked_arg {
    struct race *r;
    int i;
    eddy_notify *never;
    eddy_oneshot_rx *rx;
};
static struct parked_arg parked_args[TASKS];

static void *parked(void *arg)
{
    struct parked_arg *a = arg;
    atomic_store(&a->r->ran[a->i], 1);
    int rc = 0;
    switch (a->i % 3) {
    case 0:
        for (int k = 0; k < a->i % 5 && rc == 0; k++)
            rc = eddy_yield();
        if (rc == 0)
            rc = eddy_notify_wait(a->never);
        break;
    case 1:
        rc = eddy_sleep(3600 * 1000);
        break;
    default: {
        void *v = NULL;
        rc = eddy_oneshot_recv(a->rx, &v);
        break;
    }
    }
    if (rc != -ECANCELED)
        atomic_fetch_add(&a->r->bad, 1);
    atomic_fetch_add(&a->r->finished, 1);
    return T_PTR(a->i + 1);
}

/* Aborts the published tasks from the last to the first, each while the
 * runtime's thread may be running, parking or waking another. */
static void *abort_all_backwards(void *arg)
{
    struct race *r = arg;
    if (!await_index(&r->spawned, TASKS - 1))
        return NULL;
    for (int i = TASKS - 1; i >= 0; i--)
        eddy_abort(r->task[i]);
    atomic_store(&r->aborted_upto, TASKS);
    return NULL;
}

static void *spawn_parked_and_join(void *arg)
{
    struct race *r = arg;
    eddy_channel_opts local = { .flavor = EDDY_SYNC_LOCAL };
    eddy_oneshot_tx *tx[TASKS] = { 0 };
    eddy_notify *never = eddy_notify_new(EDDY_SYNC_LOCAL);
    cr_assert_not_null(never);
    for (int i = 0; i < TASKS; i++) {
        parked_args[i] = (struct parked_arg){ r, i, never, NULL };
        if (i % 3 == 2)
            cr_assert_eq(eddy_oneshot_channel(&local, &tx[i], &parked_args[i].rx), 0);
        r->task[i] = eddy_spawn(parked, &parked_args[i]);
        cr_assert_not_null(r->task[i]);
        atomic_store(&r->spawned, i + 1);
        if (i % 64 == 0)
            (void)eddy_yield(); /* let some park before the aborts start */
    }
    for (int i = 0; i < TASKS; i++) {
        void *res = NULL;
        int rc = eddy_join(r->task[i], &res);
        /* Aborted before it first ran, a task never runs. */
        check_join(r, i, rc, res, true);
        if (rc == 0)
            atomic_fetch_add(&r->bad, 1); /* none of them can finish on its own */
    }
    for (int i = 0; i < TASKS; i++) {
        if (tx[i])
            eddy_oneshot_tx_release(tx[i]);
        if (parked_args[i].rx)
            eddy_oneshot_rx_release(parked_args[i].rx);
    }
    cr_assert_eq(eddy_notify_free(never), 0);
    return NULL;
}

Test(task_races, another_thread_aborts_parked_local_tasks, .timeout = 120)
{
    struct race *r = race_new(NULL);
    pthread_t aborter = t_thread_start(abort_all_backwards, r);
    t_run_local(spawn_parked_and_join, r);
    t_thread_join(aborter);
    log_outcomes(r);
    cr_expect_eq(atomic_load(&r->bad), 0);
    cr_expect_eq(atomic_load(&r->joined), TASKS);
    int ran = 0;
    for (int i = 0; i < TASKS; i++)
        ran += atomic_load(&r->ran[i]);
    cr_expect_eq(atomic_load(&r->finished), ran);
    race_free(r);
}
