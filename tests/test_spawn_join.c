/* Tasks: spawn, join, detach, ids, names, misuse of join. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

/* ---- spawn/join returns the result pointer ---- */

static void *add_one(void *arg) { return T_PTR(T_INT(arg) + 1); }

static void *root_spawn_join(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(add_one, T_PTR(41));
    cr_expect_not_null(t);
    void *res = NULL;
    int rc = eddy_join(t, &res);
    cr_expect_eq(rc, 0, "join: %d", rc);
    cr_expect_eq(T_INT(res), 42);

    /* result may be NULL: the value is discarded. */
    t = eddy_spawn(add_one, T_PTR(1));
    cr_expect_eq(eddy_join(t, NULL), 0);
    return T_PTR(T_INT(res) * 2);
}

Test(spawn_join, join_returns_result, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(root_spawn_join, NULL)), 84);
}

static void *root_many(void *arg)
{
    (void)arg;
    enum { N = 500 };
    static eddy_task *ts[N];
    for (int i = 0; i < N; i++) {
        ts[i] = eddy_spawn(add_one, T_PTR(i));
        if (!ts[i])
            return T_PTR(-1);
    }
    int bad = 0;
    for (int i = 0; i < N; i++) {
        void *res = NULL;
        if (eddy_join(ts[i], &res) != 0 || T_INT(res) != i + 1)
            bad++;
    }
    return T_PTR(bad);
}

Test(spawn_join, many_tasks_each_return_their_own_result, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(root_many, NULL)), 0);
}

/* ---- eddy_join from a task suspends it (the joined task keeps running) ---- */

static int progress; /* plain: one thread */

static void *yields_five_times(void *arg)
{
    for (int i = 0; i < 5; i++) {
        progress++;
        if (eddy_yield() != 0)
            return NULL;
    }
    return arg;
}

static void *root_join_suspends(void *arg)
{
    (void)arg;
    eddy_task *a = eddy_spawn(yields_five_times, T_PTR(7));
    eddy_task *b = eddy_spawn(yields_five_times, T_PTR(8));
    void *ra = NULL, *rb = NULL;
    /* If join blocked the thread instead of suspending the task, neither
     * task could run and this would deadlock. */
    cr_expect_eq(eddy_join(a, &ra), 0);
    cr_expect_eq(eddy_join(b, &rb), 0);
    cr_expect_eq(T_INT(ra), 7);
    cr_expect_eq(T_INT(rb), 8);
    return T_PTR(progress);
}

Test(spawn_join, join_from_task_suspends, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(root_join_suspends, NULL)), 10);
}

/* Joining a task that finishes later than the joiner started waiting, from
 * a chain of tasks each joining the next. */
static void *chain(void *arg)
{
    int depth = T_INT(arg);
    if (depth == 0) {
        eddy_yield();
        return T_PTR(1000);
    }
    eddy_task *t = eddy_spawn(chain, T_PTR(depth - 1));
    void *res = NULL;
    if (!t || eddy_join(t, &res) != 0)
        return T_PTR(-1);
    return T_PTR(T_INT(res) + 1);
}

Test(spawn_join, join_chain, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(chain, T_PTR(50))), 1050);
}

/* ---- eddy_join from a plain thread blocks ---- */

static atomic_int pj_done;
static atomic_int pj_ran_on_owner;
static pthread_t pj_owner;

static void *pj_task(void *arg)
{
    atomic_store(&pj_ran_on_owner, pthread_equal(pthread_self(), pj_owner) ? 1 : 0);
    /* Suspend a few times so the joiner really has to wait. */
    for (int i = 0; i < 3; i++)
        eddy_yield();
    return T_PTR(T_INT(arg) * 3);
}

struct pj_ctx {
    eddy_handle *h;
    int rc;
    void *res;
};

static void *pj_thread(void *arg)
{
    struct pj_ctx *c = arg;
    eddy_task *t = eddy_handle_spawn(c->h, pj_task, T_PTR(5));
    if (!t) {
        c->rc = -1000;
    } else {
        c->rc = eddy_join(t, &c->res); /* blocks this plain thread */
    }
    atomic_store(&pj_done, 1);
    return NULL;
}

static void *pj_root(void *arg)
{
    (void)arg;
    bool ok;
    T_YIELD_UNTIL(ok, atomic_load(&pj_done));
    return T_PTR(ok);
}

Test(spawn_join, join_from_plain_thread_blocks, .timeout = T_TIMEOUT)
{
    pj_owner = pthread_self();
    eddy_local_runtime *rt = t_local_rt();
    struct pj_ctx c = { .h = eddy_local_runtime_handle(rt) };
    cr_assert_not_null(c.h);
    pthread_t th = t_thread_start(pj_thread, &c);
    cr_assert(T_INT(t_block_on(rt, pj_root, NULL)), "plain-thread join never returned");
    t_thread_join(th);
    cr_assert_eq(c.rc, 0, "join from plain thread: %d", c.rc);
    cr_assert_eq(T_INT(c.res), 15);
    cr_assert_eq(atomic_load(&pj_ran_on_owner), 1, "handle-spawned task ran off the owner thread");
    eddy_handle_release(c.h);
    t_free_rt(rt);
}

/* ---- -EDEADLK: joining the current task ---- */

static eddy_task *self_handle;
static int self_join_rc = 12345;
static bool self_handle_finished_early = true;

static void *joins_itself(void *arg)
{
    self_join_rc = eddy_join(self_handle, NULL);
    self_handle_finished_early = eddy_is_finished(self_handle);
    return arg;
}

static void *root_self_join(void *arg)
{
    (void)arg;
    self_handle = eddy_spawn(joins_itself, T_PTR(77));
    cr_expect_not_null(self_handle);
    void *res = NULL;
    /* The handle was left untouched by the misuse: it can still be joined. */
    int rc = eddy_join(self_handle, &res);
    cr_expect_eq(rc, 0, "join after self-join misuse: %d", rc);
    cr_expect_eq(T_INT(res), 77);
    return NULL;
}

Test(spawn_join, join_current_task_is_edeadlk, .timeout = T_TIMEOUT)
{
    t_run_local(root_self_join, NULL);
    cr_assert_eq(self_join_rc, -EDEADLK, "self join returned %d", self_join_rc);
    cr_assert_not(self_handle_finished_early);
}

/* ---- -EDEADLK: owner thread joining (outside block_on) a task of its
 * LocalRuntime; the handle is untouched and can be joined / detached later */

static atomic_int od_flag_a, od_flag_b;

static void *od_root(void *arg)
{
    eddy_task *t = arg;
    void *res = NULL;
    int rc = eddy_join(t, &res);
    cr_expect_eq(rc, 0, "join in block_on after EDEADLK: %d", rc);
    cr_expect_eq(res, (void *)&od_flag_a);
    /* the detached one must run to completion too */
    bool ok;
    T_YIELD_UNTIL(ok, atomic_load(&od_flag_b));
    return T_PTR(ok);
}

Test(spawn_join, owner_join_outside_block_on_is_edeadlk, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_task *a = eddy_local_runtime_spawn_local(rt, t_set_flag, &od_flag_a);
    eddy_task *b = eddy_local_runtime_spawn_local(rt, t_set_flag, &od_flag_b);
    cr_assert_not_null(a);
    cr_assert_not_null(b);

    void *res = (void *)&res;
    cr_assert_eq(eddy_join(a, &res), -EDEADLK);
    cr_assert_eq(res, (void *)&res, "*result written on misuse");
    cr_assert_eq(eddy_join(b, NULL), -EDEADLK);
    cr_assert_eq(atomic_load(&od_flag_a), 0);
    cr_assert_eq(atomic_load(&od_flag_b), 0);

    eddy_detach(b); /* still a valid handle */
    cr_assert(T_INT(t_block_on(rt, od_root, a)), "detached task did not run");
    cr_assert_eq(atomic_load(&od_flag_a), 1);
    t_free_rt(rt);
}

/* Same under an enter guard: spawned with eddy_spawn, joined outside. */
Test(spawn_join, owner_join_under_enter_guard_is_edeadlk, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    eddy_enter_guard *g = eddy_local_runtime_enter(rt);
    cr_assert_not_null(g);
    eddy_task *a = eddy_spawn(t_set_flag, &od_flag_a);
    cr_assert_not_null(a);
    cr_assert_eq(eddy_join(a, NULL), -EDEADLK);
    cr_assert_eq(eddy_enter_guard_drop(g), 0);
    cr_assert_eq(eddy_join(a, NULL), -EDEADLK);

    atomic_store(&od_flag_b, 1); /* od_root only needs a joined */
    cr_assert(T_INT(t_block_on(rt, od_root, a)));
    t_free_rt(rt);
}

/* ---- eddy_detach: the task keeps running to completion ---- */

static int detach_steps; /* plain */
static bool detach_done;

static void *detached_worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++) {
        detach_steps++;
        if (eddy_yield() != 0)
            return NULL;
    }
    detach_done = true;
    return NULL;
}

static void *root_detach(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(detached_worker, NULL);
    cr_expect_not_null(t);
    eddy_detach(t);
    bool ok;
    T_YIELD_UNTIL(ok, detach_done);
    return T_PTR(ok);
}

Test(spawn_join, detach_keeps_running, .timeout = T_TIMEOUT)
{
    cr_assert(T_INT(t_run_local(root_detach, NULL)));
    cr_assert_eq(detach_steps, 10);
}

static void *root_detach_finished(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(add_one, T_PTR(1));
    bool ok;
    T_YIELD_UNTIL(ok, eddy_is_finished(t));
    eddy_detach(t); /* detaching a finished task frees it; no crash */
    eddy_detach(NULL);
    return T_PTR(ok);
}

Test(spawn_join, detach_finished_and_null, .timeout = T_TIMEOUT)
{
    cr_assert(T_INT(t_run_local(root_detach_finished, NULL)));
}

/* ---- eddy_is_finished ---- */

static void *root_is_finished(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(yields_five_times, T_PTR(3));
    cr_expect_not(eddy_is_finished(t), "finished before it ran");
    eddy_yield();
    cr_expect_not(eddy_is_finished(t), "finished while still yielding");
    bool ok;
    T_YIELD_UNTIL(ok, eddy_is_finished(t));
    cr_expect(ok, "never finished");
    void *res = NULL;
    cr_expect_eq(eddy_join(t, &res), 0);
    cr_expect_eq(T_INT(res), 3);
    cr_expect_not(eddy_is_cancelled(NULL));
    return T_PTR(ok);
}

Test(spawn_join, is_finished, .timeout = T_TIMEOUT)
{
    cr_assert(T_INT(t_run_local(root_is_finished, NULL)));
    cr_assert_not(eddy_is_finished(NULL));
}

/* ---- ids ---- */

enum { NIDS = 200 };
static uint64_t seen_current[NIDS];

static void *record_current_id(void *arg)
{
    seen_current[T_INT(arg)] = eddy_current_task_id();
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static uint64_t ids[NIDS + 1];
static uint64_t root_id;

static void *root_ids(void *arg)
{
    (void)arg;
    root_id = eddy_current_task_id();
    eddy_task *ts[NIDS];
    for (int i = 0; i < NIDS; i++) {
        ts[i] = eddy_spawn(record_current_id, T_PTR(i));
        ids[i] = eddy_task_id(ts[i]);
    }
    for (int i = 0; i < NIDS; i++) {
        cr_expect_eq(eddy_join(ts[i], NULL), 0);
        cr_expect_eq(seen_current[i], ids[i],
                     "eddy_current_task_id %llu != eddy_task_id %llu",
                     (unsigned long long)seen_current[i],
                     (unsigned long long)ids[i]);
    }
    return NULL;
}

Test(spawn_join, task_ids_unique_nonzero, .timeout = T_TIMEOUT)
{
    cr_assert_eq(eddy_current_task_id(), 0, "current task id outside a task");
    cr_assert_eq(eddy_task_id(NULL), 0);
    t_run_local(root_ids, NULL);
    cr_assert_neq(root_id, 0);
    ids[NIDS] = root_id;
    for (int i = 0; i <= NIDS; i++)
        cr_assert_neq(ids[i], 0, "task %d has id 0", i);
    qsort(ids, NIDS + 1, sizeof ids[0], cmp_u64);
    for (int i = 1; i <= NIDS; i++)
        cr_assert_neq(ids[i], ids[i - 1], "duplicate task id %llu",
                      (unsigned long long)ids[i]);
}

/* Ids are unique in the process, across runtimes. */
static void *spawn_and_id(void *arg)
{
    uint64_t *out = arg;
    eddy_task *t = eddy_spawn(t_identity, NULL);
    out[0] = eddy_task_id(t);
    out[1] = eddy_current_task_id();
    eddy_join(t, NULL);
    return NULL;
}

Test(spawn_join, task_ids_unique_across_runtimes, .timeout = T_TIMEOUT)
{
    uint64_t a[2] = { 0 }, b[2] = { 0 };
    t_run_local(spawn_and_id, a);
    t_run_local(spawn_and_id, b);
    cr_assert(a[0] && a[1] && b[0] && b[1]);
    cr_assert_neq(a[0], b[0]);
    cr_assert_neq(a[0], b[1]);
    cr_assert_neq(a[1], b[0]);
    cr_assert_neq(a[1], b[1]);
    cr_assert_neq(a[0], a[1]);
    cr_assert_neq(b[0], b[1]);
}

/* ---- names ---- */

static char seen_name_in_task[64];

static void *noop_task(void *arg)
{
    (void)arg;
    return NULL;
}

static void *root_names(void *arg)
{
    (void)arg;
    char buf[32];
    strcpy(buf, "worker-7");
    eddy_spawn_opts o = { .name = buf };
    eddy_task *t = eddy_spawn_with(&o, noop_task, NULL);
    cr_expect_not_null(t);
    strcpy(buf, "clobbered"); /* the name must have been copied */
    const char *n = eddy_task_name(t);
    cr_expect_not_null(n);
    if (n)
        snprintf(seen_name_in_task, sizeof seen_name_in_task, "%s", n);

    eddy_task *anon = eddy_spawn(noop_task, NULL);
    cr_expect_null(eddy_task_name(anon));
    eddy_spawn_opts no_name = { 0 };
    eddy_task *anon2 = eddy_spawn_with(&no_name, noop_task, NULL);
    cr_expect_null(eddy_task_name(anon2));
    eddy_task *anon3 = eddy_spawn_with(NULL, noop_task, NULL);
    cr_expect_not_null(anon3, "spawn_with(NULL opts) failed");
    cr_expect_null(eddy_task_name(anon3));

    cr_expect_eq(eddy_join(t, NULL), 0);
    cr_expect_eq(eddy_join(anon, NULL), 0);
    cr_expect_eq(eddy_join(anon2, NULL), 0);
    cr_expect_eq(eddy_join(anon3, NULL), 0);
    return NULL;
}

Test(spawn_join, task_name_via_spawn_with, .timeout = T_TIMEOUT)
{
    t_run_local(root_names, NULL);
    cr_assert_str_eq(seen_name_in_task, "worker-7");
    cr_assert_null(eddy_task_name(NULL));
}

/* ---- eddy_yield / eddy_current_task_cancelled outside a task ---- */

Test(spawn_join, yield_outside_task_is_eperm, .timeout = T_TIMEOUT)
{
    cr_assert_eq(eddy_yield(), -EPERM);
    cr_assert_not(eddy_current_task_cancelled());
    /* also with a runtime entered but no task running */
    eddy_local_runtime *rt = t_local_rt();
    eddy_enter_guard *g = eddy_local_runtime_enter(rt);
    cr_assert_not_null(g);
    cr_assert_eq(eddy_yield(), -EPERM);
    cr_assert_eq(eddy_current_task_id(), 0);
    cr_assert_eq(eddy_enter_guard_drop(g), 0);
    t_free_rt(rt);
}

static void *yield_returns_zero(void *arg)
{
    (void)arg;
    int bad = 0;
    for (int i = 0; i < 100; i++)
        if (eddy_yield() != 0)
            bad++;
    if (eddy_current_task_cancelled())
        bad++;
    return T_PTR(bad);
}

Test(spawn_join, yield_inside_task_returns_zero, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(yield_returns_zero, NULL)), 0);
}
