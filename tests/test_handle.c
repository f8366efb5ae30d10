/* Handle: the cross-thread door into a LocalRuntime. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

/* ---- 4 threads x 10,000 tasks through one handle ---- */

enum { NTHREADS = 4, PER_THREAD = 10000, TOTAL = NTHREADS * PER_THREAD };

static atomic_int ran_count;
static atomic_uchar ran_times[TOTAL];
static atomic_int off_owner;
static pthread_t owner;

static void *counted_task(void *arg)
{
    int i = T_INT(arg);
    if (!pthread_equal(pthread_self(), owner))
        atomic_fetch_add(&off_owner, 1);
    atomic_fetch_add(&ran_times[i], 1);
    atomic_fetch_add(&ran_count, 1);
    return T_PTR(i * 2);
}

struct spawner {
    eddy_handle *h;
    int index;
    int spawn_failures;
    int join_failures;
    int wrong_results;
};

static void *spawner_thread(void *arg)
{
    struct spawner *s = arg;
    eddy_task **ts = calloc(PER_THREAD, sizeof *ts);
    for (int k = 0; k < PER_THREAD; k++) {
        int i = s->index * PER_THREAD + k;
        ts[k] = eddy_handle_spawn(s->h, counted_task, T_PTR(i));
        if (!ts[k])
            s->spawn_failures++;
    }
    for (int k = 0; k < PER_THREAD; k++) {
        int i = s->index * PER_THREAD + k;
        void *res = NULL;
        if (!ts[k])
            continue;
        if (eddy_join(ts[k], &res) != 0) /* blocks this plain thread */
            s->join_failures++;
        else if (T_INT(res) != i * 2)
            s->wrong_results++;
    }
    free(ts);
    return NULL;
}

static void *root_until_all_ran(void *arg)
{
    (void)arg;
    bool ok;
    T_YIELD_UNTIL(ok, atomic_load(&ran_count) >= TOTAL);
    return T_PTR(ok);
}

Test(handle, four_threads_spawn_forty_thousand, .timeout = T_TIMEOUT)
{
    owner = pthread_self();
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    cr_assert_not_null(h);
    struct spawner s[NTHREADS];
    pthread_t th[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        s[i] = (struct spawner){ .h = h, .index = i };
        th[i] = t_thread_start(spawner_thread, &s[i]);
    }
    cr_assert(T_INT(t_block_on(rt, root_until_all_ran, NULL)),
              "only %d of %d tasks ran", atomic_load(&ran_count), TOTAL);
    for (int i = 0; i < NTHREADS; i++)
        t_thread_join(th[i]);
    for (int i = 0; i < NTHREADS; i++) {
        cr_assert_eq(s[i].spawn_failures, 0, "thread %d: %d spawns failed", i, s[i].spawn_failures);
        cr_assert_eq(s[i].join_failures, 0, "thread %d: %d joins failed", i, s[i].join_failures);
        cr_assert_eq(s[i].wrong_results, 0);
    }
    cr_assert_eq(atomic_load(&ran_count), TOTAL);
    for (int i = 0; i < TOTAL; i++)
        cr_assert_eq(atomic_load(&ran_times[i]), 1, "task %d ran %d times", i,
                     (int)atomic_load(&ran_times[i]));
    cr_assert_eq(atomic_load(&off_owner), 0);
    eddy_handle_release(h);
    t_free_rt(rt);
}

/* ---- clone / release ---- */

static void *root_join_two(void *arg)
{
    eddy_task **t = arg;
    int sum = 0;
    void *r;
    for (int i = 0; i < 2; i++)
        if (eddy_join(t[i], &r) == 0)
            sum += T_INT(r);
    return T_PTR(sum);
}

Test(handle, clone_and_release, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    cr_assert_not_null(h);
    eddy_handle *h2 = eddy_handle_clone(h);
    cr_assert_not_null(h2);
    eddy_task *t[2];
    t[0] = eddy_handle_spawn(h, t_identity, T_PTR(3));
    eddy_handle_release(h); /* h2 keeps the runtime reachable */
    t[1] = eddy_handle_spawn(h2, t_identity, T_PTR(4));
    cr_assert_not_null(t[0]);
    cr_assert_not_null(t[1]);
    cr_assert_eq(T_INT(t_block_on(rt, root_join_two, t)), 7);
    eddy_handle_release(h2);

    cr_assert_null(eddy_handle_clone(NULL));
    eddy_handle_release(NULL);

    /* many handles, released in any order, some after the runtime is gone */
    eddy_handle *hs[8];
    for (int i = 0; i < 8; i++) {
        hs[i] = i ? eddy_handle_clone(hs[i - 1]) : eddy_local_runtime_handle(rt);
        cr_assert_not_null(hs[i]);
    }
    for (int i = 0; i < 8; i += 2)
        eddy_handle_release(hs[i]);
    t_free_rt(rt);
    for (int i = 1; i < 8; i += 2)
        eddy_handle_release(hs[i]);
}

/* A handle spawn from the owner thread itself, outside block_on. */
static atomic_int owner_spawned_flag;

static void *root_join_arg(void *arg)
{
    void *r = NULL;
    int rc = eddy_join(arg, &r);
    return T_PTR(rc == 0 && r == (void *)&owner_spawned_flag);
}

Test(handle, spawn_from_owner_thread_outside_block_on, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    eddy_task *t = eddy_handle_spawn(h, t_set_flag, &owner_spawned_flag);
    cr_assert_not_null(t);
    cr_assert_eq(atomic_load(&owner_spawned_flag), 0, "ran before block_on");
    cr_assert(T_INT(t_block_on(rt, root_join_arg, t)));
    cr_assert_eq(atomic_load(&owner_spawned_flag), 1);
    eddy_handle_release(h);
    t_free_rt(rt);
}

/* ---- spawning through a handle after the runtime was freed ---- */

static atomic_int after_free_ran;

Test(handle, spawn_after_runtime_freed_is_cancelled, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    cr_assert_not_null(h);
    t_free_rt(rt);

    eddy_task *t = eddy_handle_spawn(h, t_set_flag, &after_free_ran);
    cr_assert_not_null(t, "handle spawn after shutdown should return a task");
    void *res = (void *)&res;
    cr_assert_eq(eddy_join(t, &res), -ECANCELED);
    cr_assert_null(res);

    eddy_task *b = eddy_handle_spawn_blocking(h, t_set_flag, &after_free_ran);
    cr_assert_not_null(b, "handle spawn_blocking after shutdown should return a task");
    cr_assert_eq(eddy_join(b, NULL), -ECANCELED);

    /* detach path too */
    eddy_task *d = eddy_handle_spawn(h, t_set_flag, &after_free_ran);
    cr_assert_not_null(d);
    eddy_detach(d);

    cr_assert_eq(atomic_load(&after_free_ran), 0, "a task ran after shutdown");
    eddy_handle_release(h);
}

/* Same from another thread, with the clone made there. */
static void *spawn_after_free_thread(void *arg)
{
    eddy_handle *h = eddy_handle_clone(arg);
    if (!h)
        return T_PTR(-1);
    eddy_task *t = eddy_handle_spawn(h, t_set_flag, &after_free_ran);
    int rc = t ? eddy_join(t, NULL) : -1000;
    eddy_handle_release(h);
    return T_PTR(rc);
}

Test(handle, spawn_after_runtime_freed_from_thread, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    t_free_rt(rt);
    pthread_t th = t_thread_start(spawn_after_free_thread, h);
    cr_assert_eq(T_INT(t_thread_join(th)), -ECANCELED);
    cr_assert_eq(atomic_load(&after_free_ran), 0);
    eddy_handle_release(h);
}

/* ---- a handle spawn made while the owner is not in block_on runs later;
 * the spawning thread's join waits for it ---- */

static atomic_int late_spawned, late_joined;
static int late_rc = 1;

static void *late_thread(void *arg)
{
    eddy_task *t = eddy_handle_spawn(arg, t_identity, T_PTR(12));
    atomic_store(&late_spawned, 1);
    void *r = NULL;
    late_rc = t ? eddy_join(t, &r) : -1000;
    if (late_rc == 0 && T_INT(r) != 12)
        late_rc = -2000;
    atomic_store(&late_joined, 1);
    return NULL;
}

static void *root_wait_late(void *arg)
{
    (void)arg;
    bool ok;
    T_YIELD_UNTIL(ok, atomic_load(&late_joined));
    return T_PTR(ok);
}

Test(handle, spawn_while_owner_idle, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_handle *h = eddy_local_runtime_handle(rt);
    pthread_t th = t_thread_start(late_thread, h);
    bool ok;
    T_SPIN_UNTIL(ok, atomic_load(&late_spawned));
    cr_assert(ok);
    cr_assert_eq(atomic_load(&late_joined), 0);
    cr_assert(T_INT(t_block_on(rt, root_wait_late, NULL)));
    t_thread_join(th);
    cr_assert_eq(late_rc, 0, "join: %d", late_rc);
    eddy_handle_release(h);
    t_free_rt(rt);
}
