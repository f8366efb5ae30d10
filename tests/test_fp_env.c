/* Floating-point control state (DESIGN.md: the switch saves the FP control
 * words on x86-64). Each task keeps the rounding mode it sets across its
 * suspensions, starts with the default one however it is started, and
 * leaves the mode of the thread that drives the runtime alone.
 *
 * On AArch64 the switch saves no control register (FPCR is thread-wide,
 * as in a Tokio future), so these tests are for x86-64. */
#include "util.h"

#include <fenv.h>

#if defined(__x86_64__)
#include <xmmintrin.h>

/* The rounding mode as both units see it: fegetround() reads the x87
 * control word, SSE arithmetic follows MXCSR; -1 if they disagree. */
static int rounding(void)
{
    int x87 = fegetround();
    unsigned sse = (_mm_getcsr() >> 13) & 3u; /* nearest, down, up, zero */
    static const int sse_modes[4] = { FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO };
    return sse_modes[sse] == x87 ? x87 : -1;
}

static const int MODES[4] = { FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO, FE_TONEAREST };

static atomic_int wrong_start, wrong_resume, resumes;

/* Checks the default mode at its start, sets MODES[arg % 4], then yields
 * and sleeps in turn, checking its mode after every resume. */
static void *keeper(void *arg)
{
    int mode = MODES[T_INT(arg) % 4];
    if (rounding() != FE_TONEAREST)
        atomic_fetch_add(&wrong_start, 1);
    fesetround(mode);
    for (int i = 0; i < 60; i++) {
        if (i % 5 == 4)
            eddy_sleep(1);
        else
            eddy_yield();
        atomic_fetch_add(&resumes, 1);
        if (rounding() != mode)
            atomic_fetch_add(&wrong_resume, 1);
    }
    return arg;
}

static void *keepers_root(void *arg)
{
    int n = T_INT(arg);
    eddy_task *t[16];
    for (int i = 0; i < n; i++)
        t[i] = eddy_spawn(keeper, T_PTR(i));
    for (int i = 0; i < n; i++) {
        cr_expect_not_null(t[i]);
        cr_expect_eq(eddy_join(t[i], NULL), 0);
    }
    return NULL;
}

static void expect_keepers(int n)
{
    cr_expect_eq(atomic_load(&wrong_start), 0, "a task started with another's mode");
    cr_expect_eq(atomic_load(&wrong_resume), 0, "a task resumed with another's mode");
    cr_expect_eq(atomic_load(&resumes), n * 60);
}

Test(fp_env, each_task_of_a_local_runtime_keeps_its_own_mode, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    cr_assert_not_null(rt);
    fesetround(FE_DOWNWARD); /* the driving thread's own */
    cr_assert_eq(eddy_local_runtime_block_on(rt, keepers_root, T_PTR(8), NULL), 0);
    cr_expect_eq(rounding(), FE_DOWNWARD, "block_on left the thread another mode");
    expect_keepers(8);
    cr_assert_eq(eddy_local_runtime_free(rt), 0);
}

Test(fp_env, each_task_of_a_current_thread_runtime_keeps_its_own_mode, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_CURRENT_THREAD };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt);
    fesetround(FE_TOWARDZERO);
    cr_assert_eq(eddy_runtime_block_on(rt, keepers_root, T_PTR(8), NULL), 0);
    cr_expect_eq(rounding(), FE_TOWARDZERO, "block_on left the thread another mode");
    expect_keepers(8);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* Workers set their own mode when they start; their loop must find it
 * again whenever a task hands control back, whatever the task set. */
static atomic_int worker_mode_lost, parks;

static void worker_start(void *arg)
{
    (void)arg;
    fesetround(FE_UPWARD);
}

static void worker_park(void *arg)
{
    (void)arg;
    atomic_fetch_add(&parks, 1);
    if (rounding() != FE_UPWARD)
        atomic_fetch_add(&worker_mode_lost, 1);
}

Test(fp_env, tasks_moving_between_workers_keep_their_mode, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = {
        .flavor = EDDY_FLAVOR_MULTI_THREAD,
        .worker_threads = 2,
        .on_thread_start = worker_start,
        .on_thread_park = worker_park,
        .on_thread_unpark = worker_park,
    };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt);
    cr_assert_eq(eddy_runtime_block_on(rt, keepers_root, T_PTR(16), NULL), 0);
    expect_keepers(16);
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_expect_gt(atomic_load(&parks), 0);
    cr_expect_eq(atomic_load(&worker_mode_lost), 0, "a worker lost its own mode");
}

/* A task that spawns the next and returns: the next may start on the same
 * stack without a switch, and must still start with the default mode. */
static atomic_int chain_left;

static void *chain_link(void *arg)
{
    if (rounding() != FE_TONEAREST)
        atomic_fetch_add(&wrong_start, 1);
    fesetround(MODES[T_INT(arg) % 3]); /* never the default */
    if (atomic_fetch_sub(&chain_left, 1) > 1)
        eddy_detach(eddy_spawn(chain_link, T_PTR(T_INT(arg) + 1)));
    return NULL;
}

static void *chain_root(void *arg)
{
    (void)arg;
    atomic_store(&chain_left, 100);
    eddy_detach(eddy_spawn(chain_link, T_PTR(0)));
    while (atomic_load(&chain_left) > 0)
        eddy_yield();
    return NULL;
}

Test(fp_env, a_task_started_where_another_ended_starts_with_the_default, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    cr_assert_not_null(rt);
    cr_assert_eq(eddy_local_runtime_block_on(rt, chain_root, NULL, NULL), 0);
    cr_expect_eq(atomic_load(&chain_left), 0);
    cr_expect_eq(atomic_load(&wrong_start), 0, "a chained task inherited a mode");
    cr_assert_eq(eddy_local_runtime_free(rt), 0);
}

/* A LocalSet's loop runs inside the task that drives it: that task finds
 * its mode again when run_until returns. */
static void *set_root(void *arg)
{
    eddy_local_set *set = arg;
    fesetround(FE_DOWNWARD);
    cr_expect_eq(eddy_local_set_run_until(set, keepers_root, T_PTR(6), NULL), 0);
    cr_expect_eq(rounding(), FE_DOWNWARD, "run_until left its task another mode");
    return NULL;
}

Test(fp_env, a_local_set_leaves_the_mode_of_the_task_that_drives_it, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_CURRENT_THREAD };
    eddy_runtime *rt = eddy_runtime_new(&o);
    eddy_local_set *set = eddy_local_set_new();
    cr_assert_not_null(rt);
    cr_assert_not_null(set);
    cr_assert_eq(eddy_runtime_block_on(rt, set_root, set, NULL), 0);
    expect_keepers(6);
    cr_assert_eq(eddy_local_set_free(set), 0);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

#endif /* __x86_64__ */
