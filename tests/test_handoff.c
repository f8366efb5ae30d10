/* On a current-thread scheduler a task takes the loop's next step itself
 * when it can: one that parks or yields may start the next new task
 * (ct_handoff), and one that returns may resume the next started task
 * (ct_pass_on), without a trip through the loop. Order, results, aborts,
 * stacks and block_on's return all stay as they were. */
#include "util.h"

/* ---- a parking task starts the next new one ---- */

#define PARKERS 200

static eddy_oneshot_tx *wake_tx[PARKERS];
static eddy_oneshot_rx *wake_rx[PARKERS];
static int start_order[PARKERS];
static int started;

/* Records when it started, then waits for its value; the last one to
 * start sends every other one theirs. */
static void *parker(void *arg)
{
    int i = T_INT(arg);
    start_order[started++] = i;
    if (i == PARKERS - 1) {
        for (int k = 0; k < PARKERS - 1; k++) {
            uint64_t v = 2 * (uint64_t)k;
            cr_expect_eq(eddy_oneshot_send(wake_tx[k], &v), 0);
        }
        return T_PTR(2 * i);
    }
    uint64_t v = 0;
    cr_expect_eq(eddy_oneshot_recv(wake_rx[i], &v), 0);
    eddy_oneshot_rx_release(wake_rx[i]);
    return T_PTR(v);
}

static void *parkers_root(void *arg)
{
    (void)arg;
    eddy_task *t[PARKERS];
    for (int i = 0; i < PARKERS; i++) {
        cr_expect_eq(eddy_oneshot_channel(NULL, &wake_tx[i], &wake_rx[i]), 0);
        /* Shapes vary, so new tasks take stacks of several sizes. */
        eddy_spawn_opts o = { .stack_size = (size_t)(i % 3) * 64 * 1024 };
        t[i] = eddy_spawn_with(&o, parker, T_PTR(i));
        cr_expect_not_null(t[i]);
    }
    for (int i = 0; i < PARKERS; i++) {
        void *r = NULL;
        cr_expect_eq(eddy_join(t[i], &r), 0);
        cr_expect_eq(T_INT(r), 2 * i, "task %d returned %d", i, T_INT(r));
    }
    return NULL;
}

Test(handoff, tasks_started_by_parking_ones_start_in_order, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    cr_assert_not_null(rt);
    cr_assert_eq(eddy_local_runtime_block_on(rt, parkers_root, NULL, NULL), 0);
    cr_assert_eq(started, PARKERS);
    for (int i = 0; i < PARKERS; i++)
        cr_expect_eq(start_order[i], i, "start %d was task %d", i, start_order[i]);
    cr_assert_eq(eddy_local_runtime_free(rt), 0);
}

/* ---- an aborted task is not started by the task before it ---- */

static eddy_task *victim, *helper;
static bool victim_ran;
static int wait_kind; /* 0: yield, 1: sleep, 2: join a task queued later */

static void *victim_fn(void *arg)
{
    if (T_INT(arg) == 1)
        victim_ran = true;
    return arg;
}

static void *aborter(void *arg)
{
    (void)arg;
    eddy_abort(victim); /* victim is next in the run queue, not started */
    if (wait_kind == 0) {
        cr_expect_eq(eddy_yield(), 0);
    } else if (wait_kind == 1) {
        cr_expect_eq(eddy_sleep(1), 0);
    } else {
        void *r = NULL;
        cr_expect_eq(eddy_join(helper, &r), 0); /* queued behind the victim */
        cr_expect_eq(T_INT(r), 3);
    }
    return T_PTR(7);
}

static void *abort_root(void *arg)
{
    (void)arg;
    eddy_task *a = eddy_spawn(aborter, NULL);
    victim = eddy_spawn(victim_fn, T_PTR(1));
    helper = eddy_spawn(victim_fn, T_PTR(3));
    cr_expect_not_null(a);
    cr_expect_not_null(victim);
    cr_expect_not_null(helper);
    void *r = NULL;
    cr_expect_eq(eddy_join(victim, &r), -ECANCELED);
    cr_expect_eq(eddy_join(a, &r), 0);
    cr_expect_eq(T_INT(r), 7);
    if (wait_kind != 2)
        cr_expect_eq(eddy_join(helper, NULL), 0);
    return NULL;
}

Test(handoff, a_task_aborted_before_it_starts_is_never_started, .timeout = T_TIMEOUT)
{
    for (wait_kind = 0; wait_kind < 3; wait_kind++) {
        eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
        cr_assert_not_null(rt);
        victim_ran = false;
        cr_assert_eq(eddy_local_runtime_block_on(rt, abort_root, NULL, NULL), 0);
        cr_expect_not(victim_ran, "aborted task ran (waiting by %d)", wait_kind);
        cr_assert_eq(eddy_local_runtime_free(rt), 0);
    }
}

/* ---- a task that returns resumes the next started one ---- */

#define ROUNDS 500

static int rounds_done;

struct pair {
    eddy_oneshot_rx *ping_rx;
    eddy_oneshot_tx *pong_tx;
};

static void *peer(void *arg)
{
    struct pair p = *(struct pair *)arg;
    uint64_t v = 0;
    cr_expect_eq(eddy_oneshot_recv(p.ping_rx, &v), 0);
    eddy_oneshot_rx_release(p.ping_rx);
    v++;
    cr_expect_eq(eddy_oneshot_send(p.pong_tx, &v), 0);
    return NULL;
}

/* Parks for the pong; when it returns, the next round is ready and has
 * started: it is resumed from here. Detached peers are freed as they end. */
static void *round_fn(void *arg)
{
    struct pair p;
    eddy_oneshot_tx *ping_tx;
    eddy_oneshot_rx *pong_rx;
    cr_expect_eq(eddy_oneshot_channel(NULL, &ping_tx, &p.ping_rx), 0);
    cr_expect_eq(eddy_oneshot_channel(NULL, &p.pong_tx, &pong_rx), 0);
    eddy_detach(eddy_spawn(peer, &p));
    uint64_t v = (uint64_t)T_INT(arg);
    cr_expect_eq(eddy_oneshot_send(ping_tx, &v), 0);
    cr_expect_eq(eddy_oneshot_recv(pong_rx, &v), 0);
    eddy_oneshot_rx_release(pong_rx);
    rounds_done++;
    return T_PTR(v);
}

static void *rounds_root(void *arg)
{
    int detach_every = T_INT(arg);
    eddy_task *t[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        t[i] = eddy_spawn(round_fn, T_PTR(i));
        cr_expect_not_null(t[i]);
        if (detach_every && i % detach_every == 0) {
            eddy_detach(t[i]);
            t[i] = NULL;
        }
    }
    for (int i = 0; i < ROUNDS; i++) {
        void *r = NULL;
        if (!t[i])
            continue;
        cr_expect_eq(eddy_join(t[i], &r), 0);
        cr_expect_eq(T_INT(r), i + 1, "round %d returned %d", i, T_INT(r));
    }
    while (rounds_done < ROUNDS) /* the detached ones */
        eddy_yield();
    return NULL;
}

Test(handoff, results_reach_joiners_of_tasks_that_pass_on, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    cr_assert_not_null(rt);
    cr_assert_eq(eddy_local_runtime_block_on(rt, rounds_root, T_PTR(0), NULL), 0);
    cr_assert_eq(rounds_done, ROUNDS);
    rounds_done = 0;
    cr_assert_eq(eddy_local_runtime_block_on(rt, rounds_root, T_PTR(3), NULL), 0);
    cr_assert_eq(rounds_done, ROUNDS);
    cr_assert_eq(eddy_local_runtime_free(rt), 0);
}

Test(handoff, a_current_thread_runtime_passes_on_too, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_CURRENT_THREAD };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt);
    cr_assert_eq(eddy_runtime_block_on(rt, rounds_root, T_PTR(2), NULL), 0);
    cr_assert_eq(rounds_done, ROUNDS);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* The stacks of tasks that pass on are released once the thread is off
 * them: rounds after rounds map no new stacks. */
static int mappings(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    cr_assert_not_null(f);
    int n = 0, c;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

Test(handoff, stacks_of_tasks_that_pass_on_are_reused, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    cr_assert_not_null(rt);
    cr_assert_eq(eddy_local_runtime_block_on(rt, rounds_root, T_PTR(0), NULL), 0);
    int before = mappings();
    for (int i = 0; i < 20; i++) {
        rounds_done = 0;
        cr_assert_eq(eddy_local_runtime_block_on(rt, rounds_root, T_PTR(i % 4), NULL), 0);
        cr_assert_eq(rounds_done, ROUNDS);
    }
    /* A stack kept aside and never released would be one new mapping or
     * two per round: thousands. The slack is for the sanitizers' own. */
    int after = mappings();
    cr_expect_leq(after, before + 200, "%d mappings before, %d after", before, after);
    cr_assert_eq(eddy_local_runtime_free(rt), 0);
}

/* block_on still returns as soon as its task ends, though that task would
 * otherwise pass on to a started one: it goes back to the loop, which
 * returns before the waiter it woke resumes. */
static eddy_oneshot_tx *late_tx;
static bool late_resumed;

static void *late_waiter(void *arg)
{
    eddy_oneshot_rx *rx = arg;
    uint64_t v;
    int rc = eddy_oneshot_recv(rx, &v); /* woken by the root's release */
    late_resumed = true;
    eddy_oneshot_rx_release(rx);
    return T_PTR(rc);
}

static void *late_root(void *arg)
{
    (void)arg;
    eddy_oneshot_rx *rx;
    cr_expect_eq(eddy_oneshot_channel(NULL, &late_tx, &rx), 0);
    eddy_detach(eddy_spawn(late_waiter, rx));
    cr_expect_eq(eddy_yield(), 0); /* the waiter starts and parks */
    eddy_oneshot_tx_release(late_tx); /* wakes it: started, ready */
    return T_PTR(5);
}

Test(handoff, block_on_returns_when_its_task_ends, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    cr_assert_not_null(rt);
    void *r = NULL;
    cr_assert_eq(eddy_local_runtime_block_on(rt, late_root, NULL, &r), 0);
    cr_assert_eq(T_INT(r), 5);
    cr_expect_not(late_resumed, "a task ran after block_on's task had ended");
    cr_assert_eq(eddy_local_runtime_free(rt), 0); /* the waiter is cancelled */
    cr_expect(late_resumed, "freeing the runtime drives the waiter to its end");
}
