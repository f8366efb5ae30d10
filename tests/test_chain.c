/* A task whose function returns may start the next new task on its own
 * stack (the current-thread scheduler's ct_chain): results, order, abort
 * before start, stack sizes and block_on's return all stay as they were. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

/* ---- a chain of tasks, each spawning the next ---- */

#define CHAIN_LEN 1000

static int chain_seen[CHAIN_LEN + 1];
static int chain_len_seen;

static void *chain_step(void *arg)
{
    intptr_t k = (intptr_t)arg;
    chain_seen[chain_len_seen++] = (int)k;
    if (k < CHAIN_LEN) {
        eddy_task *next = eddy_spawn(chain_step, T_PTR(k + 1));
        cr_expect_not_null(next);
        eddy_detach(next);
    }
    return NULL;
}

static void *root_chain(void *arg)
{
    (void)arg;
    eddy_detach(eddy_spawn(chain_step, T_PTR(1)));
    /* Parked while the links run (the bound only turns a broken chain
     * into a failure rather than a hang). */
    for (int i = 0; i < T_WAIT_SECONDS * 1000 && chain_len_seen < CHAIN_LEN; i++)
        eddy_sleep(1);
    return T_PTR(chain_len_seen);
}

Test(chain, tasks_spawning_the_next_all_run_in_order, .timeout = T_TIMEOUT)
{
    int n = T_INT(t_run_local(root_chain, NULL));
    cr_assert_eq(n, CHAIN_LEN);
    for (int i = 0; i < CHAIN_LEN; i++)
        cr_assert_eq(chain_seen[i], i + 1, "chain_step %d ran as %d", i + 1, chain_seen[i]);
}

/* ---- many new tasks in a row: each result reaches its join ---- */

#define MANY 500

static void *returns_square(void *arg)
{
    intptr_t i = (intptr_t)arg;
    return T_PTR(i * i);
}

static void *root_many(void *arg)
{
    (void)arg;
    eddy_task *h[MANY];
    for (int i = 0; i < MANY; i++)
        h[i] = eddy_spawn(returns_square, T_PTR(i));
    int bad = 0;
    for (int i = 0; i < MANY; i++) {
        void *r = NULL;
        if (!h[i] || eddy_join(h[i], &r) != 0 || T_INT(r) != i * i)
            bad++;
    }
    return T_PTR(bad);
}

Test(chain, results_of_tasks_run_back_to_back, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(root_many, NULL)), 0);
}

/* ---- a task aborted before it started never runs, next to one that
 * ends ---- */

static atomic_int ran_a, ran_b, ran_c;

static void *sets(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
    return arg;
}

static void *root_abort_between(void *arg)
{
    (void)arg;
    eddy_task *a = eddy_spawn(sets, &ran_a);
    eddy_task *b = eddy_spawn(sets, &ran_b);
    eddy_task *c = eddy_spawn(sets, &ran_c);
    eddy_abort(b);
    /* A ends with B next in the queue, not started and aborted. */
    int ra = eddy_join(a, NULL);
    int rb = eddy_join(b, NULL);
    int rc = eddy_join(c, NULL);
    cr_expect_eq(ra, 0);
    cr_expect_eq(rb, -ECANCELED, "join of the aborted task: %d", rb);
    cr_expect_eq(rc, 0);
    return NULL;
}

Test(chain, task_aborted_before_start_is_not_run_after_one_that_ends,
     .timeout = T_TIMEOUT)
{
    t_run_local(root_abort_between, NULL);
    cr_assert_eq(atomic_load(&ran_a), 1);
    cr_assert_eq(atomic_load(&ran_b), 0, "the aborted task ran");
    cr_assert_eq(atomic_load(&ran_c), 1);
}

/* ---- a task that wants a bigger stack gets its own ---- */

static __attribute__((noinline)) long touch_deep(size_t size)
{
    volatile char big[size];
    long sum = 0;
    for (size_t i = 0; i < size; i += 4096)
        big[i] = 1;
    for (size_t i = 0; i < size; i += 4096)
        sum += big[i];
    return sum;
}

static void *needs_half_mib(void *arg)
{
    (void)arg;
    return T_PTR(touch_deep(512u << 10) > 0);
}

static void *root_shapes(void *arg)
{
    (void)arg;
    /* The runtime's stacks are 64 KiB: the second task would overflow if
     * it started on the first one's stack. */
    eddy_task *small = eddy_spawn(returns_square, T_PTR(3));
    eddy_spawn_opts o = { .stack_size = 1u << 20 };
    eddy_task *big = eddy_spawn_with(&o, needs_half_mib, NULL);
    eddy_task *small2 = eddy_spawn(returns_square, T_PTR(4));
    void *r1 = NULL, *r2 = NULL, *r3 = NULL;
    int ok = small && big && small2;
    /* big first: on a multi-thread worker, a join that ends wakes us into
     * the LIFO slot, ahead of the ring that holds small and big (see
     * multi_thread_bigger_stack_in_the_ring_gets_its_own). */
    ok = ok && eddy_join(big, &r2) == 0 && T_INT(r2) == 1;
    ok = ok && eddy_join(small2, &r3) == 0 && T_INT(r3) == 16;
    ok = ok && eddy_join(small, &r1) == 0 && T_INT(r1) == 9;
    return T_PTR(ok);
}

Test(chain, a_bigger_stack_is_not_taken_from_the_task_before, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .stack_size = 64u << 10 };
    eddy_local_runtime *rt = t_local_rt_opts(&o);
    int ok = T_INT(t_block_on(rt, root_shapes, NULL));
    t_free_rt(rt);
    cr_assert(ok);
}

/* ---- block_on returns as soon as its own task ends ---- */

static atomic_int late_ran;

static void *root_spawns_and_returns(void *arg)
{
    (void)arg;
    eddy_detach(eddy_spawn(sets, &late_ran));
    return T_PTR(7);
}

static void *root_yields(void *arg)
{
    (void)arg;
    for (int i = 0; i < 4; i++)
        eddy_yield();
    return NULL;
}

Test(chain, block_on_returns_when_its_task_ends, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    void *r = t_block_on(rt, root_spawns_and_returns, NULL);
    cr_assert_eq(T_INT(r), 7);
    /* The task it spawned is still queued: it did not run in the place of
     * block_on's task, and runs at the next block_on. */
    cr_assert_eq(atomic_load(&late_ran), 0);
    t_block_on(rt, root_yields, NULL);
    cr_assert_eq(atomic_load(&late_ran), 1);
    t_free_rt(rt);
}

/* ---- a task started on a finished task's stack can still be joined,
 * parks and resumes like any other ---- */

static void *parks_then_returns(void *arg)
{
    eddy_sleep(1);
    eddy_yield();
    return arg;
}

static void *root_park_after_chain(void *arg)
{
    (void)arg;
    eddy_task *first = eddy_spawn(returns_square, T_PTR(5));
    eddy_task *second = eddy_spawn(parks_then_returns, T_PTR(11));
    void *r1 = NULL, *r2 = NULL;
    int ok = eddy_join(first, &r1) == 0 && T_INT(r1) == 25;
    ok &= eddy_join(second, &r2) == 0 && T_INT(r2) == 11;
    return T_PTR(ok);
}

Test(chain, a_chained_task_parks_and_resumes, .timeout = T_TIMEOUT)
{
    cr_assert(T_INT(t_run_local(root_park_after_chain, NULL)));
}

/* ---- an endless chain still lets timers fire and remote spawns in ----
 *
 * Each link spawns the next until a timer has fired and a task spawned from
 * another thread has run. Links that start in place of the one before
 * still count as the loop's ticks: if they did not, the loop would never
 * poll the driver or the remote queue, and the chain would never end. */

static atomic_int endless_timer_fired, endless_remote_ran;
static atomic_long endless_links;

static void *endless_link(void *arg)
{
    (void)arg;
    atomic_fetch_add(&endless_links, 1);
    if (!atomic_load(&endless_timer_fired) || !atomic_load(&endless_remote_ran))
        eddy_detach(eddy_spawn(endless_link, NULL));
    return NULL;
}

static void *endless_remote_task(void *arg)
{
    (void)arg;
    atomic_store(&endless_remote_ran, 1);
    return NULL;
}

static void *endless_remote_spawner(void *arg)
{
    eddy_task *t = eddy_handle_spawn(arg, endless_remote_task, NULL);
    if (!t)
        return T_PTR(0);
    eddy_detach(t);
    return T_PTR(1);
}

static void *root_endless(void *arg)
{
    (void)arg;
    eddy_task *s = eddy_spawn(t_sleep_then_set_flag, &endless_timer_fired);
    eddy_detach(eddy_spawn(endless_link, NULL));
    void *r = NULL;
    int ok = eddy_join(s, &r) == 0 && T_INT(r);
    /* The chain ends soon after both came through. */
    while (!atomic_load(&endless_remote_ran))
        eddy_yield();
    return T_PTR(ok);
}

Test(chain, an_endless_chain_leaves_room_for_timers_and_remote, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    cr_assert_not_null(h);
    pthread_t th = t_thread_start(endless_remote_spawner, h);
    cr_assert(T_INT(t_block_on(rt, root_endless, NULL)));
    cr_assert(T_INT(t_thread_join(th)));
    eddy_handle_release(h);
    t_free_rt(rt);
    cr_assert_gt(atomic_load(&endless_links), 1);
}

/* ---- the multi-thread runtime: a worker's LIFO slot is its chain ---- */

static eddy_runtime *mt_rt(size_t stack_size)
{
    return t_mt_rt(2, stack_size, EDDY_STACK_GUARDED);
}

static atomic_int mt_links;
static atomic_int mt_out_of_order;

static void *mt_chain_step(void *arg)
{
    intptr_t k = (intptr_t)arg;
    /* Link k is spawned by link k - 1 only: they run strictly in turn. */
    if (atomic_fetch_add(&mt_links, 1) != k - 1)
        atomic_fetch_add(&mt_out_of_order, 1);
    if (k < CHAIN_LEN)
        eddy_detach(eddy_spawn(mt_chain_step, T_PTR(k + 1)));
    return NULL;
}

static void *root_mt_chain(void *arg)
{
    (void)arg;
    eddy_detach(eddy_spawn(mt_chain_step, T_PTR(1)));
    for (int i = 0; i < T_WAIT_SECONDS * 1000 && atomic_load(&mt_links) < CHAIN_LEN; i++)
        eddy_sleep(1);
    return NULL;
}

Test(chain, multi_thread_chain_runs_every_link_in_turn, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = mt_rt(0);
    t_rt_block_on(rt, root_mt_chain, NULL);
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert_eq(atomic_load(&mt_links), CHAIN_LEN);
    cr_assert_eq(atomic_load(&mt_out_of_order), 0);
}

Test(chain, multi_thread_results_of_tasks_run_back_to_back, .timeout = T_TIMEOUT)
{
    /* Spawned on a worker, each task lands in its LIFO slot. */
    eddy_runtime *rt = mt_rt(0);
    int bad = T_INT(t_rt_block_on(rt, root_many, NULL));
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert_eq(bad, 0);
}

/* A spawns B and aborts it before returning: B waits in A's LIFO slot,
 * not started and aborted, when A ends. */
static eddy_task *mt_b;

static void *spawns_and_aborts(void *arg)
{
    (void)arg;
    mt_b = eddy_spawn(sets, &ran_b);
    if (mt_b)
        eddy_abort(mt_b);
    return NULL;
}

static void *root_mt_abort(void *arg)
{
    (void)arg;
    eddy_task *a = eddy_spawn(spawns_and_aborts, NULL);
    int ok = a && eddy_join(a, NULL) == 0 && mt_b;
    ok = ok && eddy_join(mt_b, NULL) == -ECANCELED;
    return T_PTR(ok);
}

Test(chain, multi_thread_task_aborted_before_start_is_not_run, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = mt_rt(0);
    int ok = T_INT(t_rt_block_on(rt, root_mt_abort, NULL));
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert(ok);
    cr_assert_eq(atomic_load(&ran_b), 0, "the aborted task ran");
}

static void *spawns_big_then_returns(void *arg)
{
    (void)arg;
    eddy_spawn_opts o = { .stack_size = 1u << 20 };
    return eddy_spawn_with(&o, needs_half_mib, NULL);
}

static void *root_mt_shapes(void *arg)
{
    (void)arg;
    void *big = NULL, *r = NULL;
    eddy_task *a = eddy_spawn(spawns_big_then_returns, NULL);
    int ok = a && eddy_join(a, &big) == 0 && big;
    ok = ok && eddy_join(big, &r) == 0 && T_INT(r) == 1;
    return T_PTR(ok);
}

Test(chain, multi_thread_bigger_stack_is_not_taken_from_the_task_before,
     .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = mt_rt(64u << 10);
    int ok = T_INT(t_rt_block_on(rt, root_mt_shapes, NULL));
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert(ok);
}

/* With the LIFO slot empty, a returning task starts the ring's head on its
 * stack. Spawned in a row on the only worker (so that nothing is stolen),
 * root_shapes's last task waits in the slot and the others in the ring:
 * small, then big, which must not start on small's 64 KiB stack. */
Test(chain, multi_thread_bigger_stack_in_the_ring_gets_its_own, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_mt_rt(1, 64u << 10, EDDY_STACK_GUARDED);
    int ok = T_INT(t_rt_block_on(rt, root_shapes, NULL));
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert(ok);
}

/* Aborted before it started, in the ring behind a task that ends (one
 * worker again: c runs from the slot, a from the ring on c's stack, then
 * b is the ring's head). */
static atomic_int ring_ran_a, ring_ran_b, ring_ran_c;

static void *root_mt_ring_abort(void *arg)
{
    (void)arg;
    eddy_task *a = eddy_spawn(sets, &ring_ran_a);
    eddy_task *b = eddy_spawn(sets, &ring_ran_b);
    eddy_task *c = eddy_spawn(sets, &ring_ran_c);
    if (b)
        eddy_abort(b);
    /* b first: a join that ends would wake us into the slot, ahead of b. */
    int ok = a && b && c && eddy_join(b, NULL) == -ECANCELED;
    return T_PTR(ok && eddy_join(c, NULL) == 0 && eddy_join(a, NULL) == 0);
}

Test(chain, multi_thread_task_aborted_in_the_ring_is_not_run, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_mt_rt(1, 0, EDDY_STACK_GUARDED);
    int ok = T_INT(t_rt_block_on(rt, root_mt_ring_abort, NULL));
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert(ok);
    cr_assert_eq(atomic_load(&ring_ran_a), 1);
    cr_assert_eq(atomic_load(&ring_ran_b), 0, "the aborted task ran");
    cr_assert_eq(atomic_load(&ring_ran_c), 1);
}

/* Spawned from outside: a worker takes its share of the inject queue and
 * puts the rest on its ring, not yet owned; a task started on another's
 * stack is owned there. Every result reaches its join, an aborted one
 * never runs, and the runtime still ends cleanly (its owned list empty). */
enum { OUTSIDE = 300 };
static atomic_int outside_ran[OUTSIDE];

static void *outside_aborted(void *arg)
{
    atomic_store(&outside_ran[T_INT(arg)], 1);
    return NULL;
}

Test(chain, multi_thread_tasks_spawned_from_outside_run_back_to_back, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = mt_rt(0);
    eddy_handle *h = eddy_runtime_handle(rt);
    cr_assert_not_null(h);
    static eddy_task *t[OUTSIDE];
    for (int i = 0; i < OUTSIDE; i++) {
        t[i] = i % 10 == 5 ? eddy_handle_spawn(h, outside_aborted, T_PTR(i))
                           : eddy_handle_spawn(h, returns_square, T_PTR(i));
        cr_assert_not_null(t[i]);
        if (i % 10 == 5)
            eddy_abort(t[i]);
    }
    int bad = 0;
    for (int i = 0; i < OUTSIDE; i++) {
        void *r = NULL;
        int rc = eddy_join(t[i], &r);
        if (i % 10 == 5) {
            /* Aborted, unless it had finished before the abort. */
            bad += rc == -ECANCELED ? atomic_load(&outside_ran[i]) : rc != 0;
        } else {
            bad += rc != 0 || T_INT(r) != i * i;
        }
    }
    eddy_handle_release(h);
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert_eq(bad, 0);
}
