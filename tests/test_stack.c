/* Task stacks: custom sizes, overflow detection naming the task, running out
 * of address space, absurd sizes, unguarded mode. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>

/* ---- a 1 MiB stack holds a 512 KiB local array ---- */

static __attribute__((noinline)) long touch_array(size_t size)
{
    /* VLA so the frame really is that big; touch every page */
    volatile char big[size];
    long sum = 0;
    for (size_t i = 0; i < size; i += 4096)
        big[i] = (char)(i >> 12);
    big[size - 1] = 1;
    for (size_t i = 0; i < size; i += 4096)
        sum += big[i];
    return sum + big[size - 1];
}

static void *uses_big_stack(void *arg)
{
    size_t size = (size_t)(uintptr_t)arg;
    long s = touch_array(size);
    eddy_yield(); /* survive a switch with a deep stack too */
    s += touch_array(size);
    return T_PTR(s != 0);
}

static void *root_big(void *arg)
{
    (void)arg;
    eddy_spawn_opts o = { .stack_size = 1u << 20, .name = "big" };
    eddy_task *t = eddy_spawn_with(&o, uses_big_stack, T_PTR(512u << 10));
    if (!t)
        return T_PTR(-1000);
    void *r = NULL;
    int rc = eddy_join(t, &r);
    return T_PTR(rc == 0 ? T_INT(r) : rc);
}

Test(stack, one_mib_stack_holds_512k_array, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(root_big, NULL)), 1);
}

/* The runtime-wide default stack size applies to every task. */
static void *root_default_big(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(uses_big_stack, T_PTR(1536u << 10));
    void *r = NULL;
    int rc = t ? eddy_join(t, &r) : -1000;
    /* and the root itself has the big stack */
    long s = touch_array(1536u << 10);
    return T_PTR(rc == 0 && T_INT(r) == 1 && s != 0);
}

Test(stack, runtime_default_stack_size, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .stack_size = 2u << 20 };
    eddy_local_runtime *rt = t_local_rt_opts(&o);
    cr_assert(T_INT(t_block_on(rt, root_default_big, NULL)));
    t_free_rt(rt);
}

/* Sizes that are not a multiple of the page are rounded up. */
static void *root_odd_size(void *arg)
{
    (void)arg;
    eddy_spawn_opts o = { .stack_size = (256u << 10) + 123 };
    eddy_task *t = eddy_spawn_with(&o, uses_big_stack, T_PTR(128u << 10));
    void *r = NULL;
    int rc = t ? eddy_join(t, &r) : -1000;
    return T_PTR(rc == 0 && T_INT(r) == 1);
}

Test(stack, odd_stack_size_is_rounded, .timeout = T_TIMEOUT)
{
    cr_assert(T_INT(t_run_local(root_odd_size, NULL)));
}

/* ---- overflow: the process dies with a message naming the task ---- */

#define OVERFLOW_NAME "deep-diver-42"

static volatile uint64_t stop_depth = UINT64_MAX;

static __attribute__((noinline)) uint64_t recurse(uint64_t depth)
{
    volatile char frame[1024];
    frame[0] = (char)depth;
    frame[sizeof frame - 1] = (char)depth;
    if (depth == stop_depth)
        return frame[0];
    return recurse(depth + 1) + (uint64_t)frame[sizeof frame - 1];
}

static void *overflows(void *arg)
{
    (void)arg;
    return T_PTR(recurse(0));
}

static void *root_overflow(void *arg)
{
    (void)arg;
    eddy_spawn_opts o = { .name = OVERFLOW_NAME, .stack_size = 64u << 10 };
    eddy_task *t = eddy_spawn_with(&o, overflows, NULL);
    if (t)
        eddy_join(t, NULL);
    return NULL;
}

/* Runs fn in a forked child with stderr captured; returns the wait status
 * and fills buf with what the child wrote to stderr. */
static int run_in_child(void (*fn)(void), char *buf, size_t cap)
{
    int fds[2];
    cr_assert_eq(pipe(fds), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        fn(); /* exits with _exit */
        _exit(100);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fds[0], buf + len, cap - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == cap - 1) {
            /* keep draining so the child never blocks on a full pipe */
            char sink[256];
            while (read(fds[0], sink, sizeof sink) > 0) {
            }
            break;
        }
    }
    buf[len] = 0;
    close(fds[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return status;
}

/* In a forked child: block_on(root) on a LocalRuntime made with opts
 * (NULL: the defaults), which must end in the overflow report and abort();
 * the report must name `name` when it is given. */
static const eddy_runtime_opts *child_opts;
static eddy_task_fn child_root;

static void child_block_on(void)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(child_opts);
    if (!rt)
        _exit(101);
    eddy_local_runtime_block_on(rt, child_root, NULL, NULL);
    _exit(102); /* should never get here */
}

static void expect_overflow_report(const eddy_runtime_opts *opts, eddy_task_fn root,
                                   const char *name)
{
    char out[8192];
    child_opts = opts;
    child_root = root;
    int status = run_in_child(child_block_on, out, sizeof out);
    cr_assert(WIFSIGNALED(status), "child was not killed by a signal (exit %d); stderr: %s",
              WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
    cr_assert_eq(WTERMSIG(status), SIGABRT, "child died by signal %d; stderr: %s",
                 WTERMSIG(status), out);
    cr_assert_not_null(strcasestr(out, "stack overflow"), "stderr: %s", out);
    if (name)
        cr_assert_not_null(strstr(out, name), "task name missing; stderr: %s", out);
}

static const eddy_runtime_opts small_stacks = { .stack_size = 64u << 10 };

Test(stack, overflow_reports_task_name_and_aborts, .timeout = T_TIMEOUT)
{
    expect_overflow_report(NULL, root_overflow, OVERFLOW_NAME);
}

/* Overflow in a task that started on the stack of one that had just
 * ended (the scheduler's chain): the report names the task that overflowed,
 * not the one whose stack it inherited. */
static void *returns_at_once(void *arg)
{
    return arg;
}

static void *root_chained_overflow(void *arg)
{
    (void)arg;
    eddy_task *first = eddy_spawn(returns_at_once, NULL);
    eddy_spawn_opts o = { .name = OVERFLOW_NAME };
    eddy_task *t = eddy_spawn_with(&o, overflows, NULL);
    if (first)
        eddy_join(first, NULL);
    if (t)
        eddy_join(t, NULL);
    return NULL;
}

Test(stack, overflow_in_chained_task_names_it, .timeout = T_TIMEOUT)
{
    expect_overflow_report(&small_stacks, root_chained_overflow, OVERFLOW_NAME);
}

/* Overflow in the root task of block_on (a task too). */
static void *root_overflows_itself(void *arg)
{
    (void)arg;
    return T_PTR(recurse(0));
}

Test(stack, overflow_in_root_task_aborts, .timeout = T_TIMEOUT)
{
    expect_overflow_report(&small_stacks, root_overflows_itself, NULL);
}

/* ---- stacks that cannot be mapped: ENOMEM, no crash ---- */

enum { BIG_TASKS = 32 };
static int big_release;
static int big_started;

static void *parks_with_big_stack(void *arg)
{
    big_started++;
    while (!big_release)
        if (eddy_yield() != 0)
            break;
    return arg;
}

/* Child exit codes */
enum { CH_OK = 0, CH_NO_RT = 101, CH_NO_ENOMEM = 103, CH_BAD_RC = 104, CH_NO_LIMIT = 105 };

static int enomem_seen, bad_rc, ok_joins;

static void *root_exhaust(void *arg)
{
    (void)arg;
    eddy_task *ts[BIG_TASKS] = { 0 };
    eddy_spawn_opts o = { .stack_size = 64u << 20, .name = "huge" };
    for (int i = 0; i < BIG_TASKS; i++) {
        errno = 0;
        ts[i] = eddy_spawn_with(&o, parks_with_big_stack, T_PTR(i));
        if (!ts[i]) {
            if (errno == ENOMEM)
                enomem_seen++;
            else
                bad_rc++;
            continue;
        }
        /* let it try to start (and get its stack) before the next spawn */
        eddy_yield();
    }
    for (int i = 0; i < 10; i++)
        eddy_yield();
    big_release = 1;
    for (int i = 0; i < BIG_TASKS; i++) {
        if (!ts[i])
            continue;
        int rc = eddy_join(ts[i], NULL);
        if (rc == 0)
            ok_joins++;
        else if (rc == -ENOMEM)
            enomem_seen++;
        else
            bad_rc++;
    }
    /* the runtime still works after running out */
    eddy_task *t = eddy_spawn(t_identity, T_PTR(1));
    void *r = NULL;
    if (!t || eddy_join(t, &r) != 0 || T_INT(r) != 1)
        bad_rc++;
    return NULL;
}

static long vm_size_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (!f)
        return -1;
    char line[256];
    long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmSize: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

/* Limits the process's address space to a bit above what it uses now:
 * room for one or two 64 MiB stacks at most. 0, or -1 if it cannot. */
static int limit_address_space(void)
{
    long kib = vm_size_kib();
    struct rlimit rl;
    if (kib <= 0 || getrlimit(RLIMIT_AS, &rl) != 0)
        return -1;
    rl.rlim_cur = (rlim_t)kib * 1024 + (128u << 20);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < rl.rlim_cur)
        return -1;
    return setrlimit(RLIMIT_AS, &rl);
}

static void child_exhaust(void)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    if (!rt)
        _exit(CH_NO_RT);
    if (limit_address_space() != 0)
        _exit(CH_NO_LIMIT);
    eddy_local_runtime_block_on(rt, root_exhaust, NULL, NULL);
    fprintf(stderr, "enomem=%d bad=%d ok=%d started=%d\n", enomem_seen, bad_rc, ok_joins,
            big_started);
    if (bad_rc)
        _exit(CH_BAD_RC);
    if (!enomem_seen)
        _exit(CH_NO_ENOMEM);
    eddy_local_runtime_free(rt);
    _exit(CH_OK);
}

Test(stack, address_space_exhaustion_is_enomem, .timeout = T_TIMEOUT)
{
    char out[4096];
    int status = run_in_child(child_exhaust, out, sizeof out);
    cr_assert(WIFEXITED(status), "child crashed (signal %d); stderr: %s",
              WIFSIGNALED(status) ? WTERMSIG(status) : -1, out);
    cr_assert_neq(WEXITSTATUS(status), CH_NO_ENOMEM,
                  "no spawn or join reported ENOMEM; %s", out);
    cr_assert_neq(WEXITSTATUS(status), CH_BAD_RC,
                  "a spawn or join failed with something other than ENOMEM; %s", out);
    cr_assert_eq(WEXITSTATUS(status), CH_OK, "child exit %d; %s", WEXITSTATUS(status), out);
}

/* A root task whose stack cannot be mapped fails its block_on with ENOMEM,
 * and the scheduler then refuses spawns until a task gets a stack. The
 * next block_on's root is refused at once: block_on must say so, not
 * drive the runtime waiting for a task that was never queued. On both
 * runtimes that drive on the calling thread. */
enum { CH_FIRST_RC = 110, CH_SECOND_RC = 111 };

static void *refused_root(void *arg)
{
    return arg;
}

static void child_refused_root(void)
{
    alarm(20); /* a block_on that waits for the refused root ends here */
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_CURRENT_THREAD, .stack_size = 4ull << 30 };
    eddy_runtime *rt = eddy_runtime_new(&o);
    eddy_local_runtime *lrt = eddy_local_runtime_new(&o);
    if (!rt || !lrt)
        _exit(CH_NO_RT);
    if (limit_address_space() != 0)
        _exit(CH_NO_LIMIT);
    for (int i = 0; i < 2; i++) {
        int rc = eddy_runtime_block_on(rt, refused_root, NULL, NULL);
        int lrc = eddy_local_runtime_block_on(lrt, refused_root, NULL, NULL);
        fprintf(stderr, "block_on %d: runtime %d, local runtime %d\n", i + 1, rc, lrc);
        if (rc != -ENOMEM || lrc != -ENOMEM)
            _exit(i == 0 ? CH_FIRST_RC : CH_SECOND_RC);
    }
    eddy_local_runtime_free(lrt);
    eddy_runtime_free(rt);
    _exit(CH_OK);
}

Test(stack, a_root_task_refused_for_want_of_stacks_fails_block_on, .timeout = T_TIMEOUT)
{
    char out[4096];
    int status = run_in_child(child_refused_root, out, sizeof out);
    cr_assert(WIFEXITED(status), "child killed by signal %d (%s); stderr: %s",
              WIFSIGNALED(status) ? WTERMSIG(status) : -1,
              WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "block_on hung" : "crash",
              out);
    cr_assert_eq(WEXITSTATUS(status), CH_OK, "child exit %d; stderr: %s", WEXITSTATUS(status),
                 out);
}

/* ---- absurd stack size ---- */

static void *root_absurd(void *arg)
{
    (void)arg;
    eddy_spawn_opts o = { .stack_size = SIZE_MAX / 2 };
    errno = 0;
    eddy_task *t = eddy_spawn_with(&o, t_identity, T_PTR(1));
    if (!t)
        return T_PTR(errno == ENOMEM || errno == EINVAL ? 1 : -errno);
    void *r = (void *)&r;
    int rc = eddy_join(t, &r);
    if (rc == -ENOMEM || rc == -EINVAL)
        return T_PTR(r == NULL ? 1 : -2);
    return T_PTR(-1000 + rc);
}

Test(stack, absurd_stack_size_fails_cleanly, .timeout = T_TIMEOUT)
{
    int r = T_INT(t_run_local(root_absurd, NULL));
    cr_assert_eq(r, 1, "result %d", r);
}

Test(stack, absurd_default_stack_size, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .stack_size = SIZE_MAX / 2 };
    errno = 0;
    eddy_local_runtime *rt = eddy_local_runtime_new(&o);
    if (!rt) {
        cr_assert(errno == EINVAL || errno == ENOMEM, "errno %d", errno);
        return;
    }
    void *res = NULL;
    int rc = eddy_local_runtime_block_on(rt, t_identity, T_PTR(1), &res);
    cr_assert(rc == -ENOMEM || rc == -EINVAL, "block_on with an unmappable stack: %d", rc);
    t_free_rt(rt);
}

/* ---- unguarded stacks work ---- */

static int unguarded_steps;

static void *small_worker(void *arg)
{
    for (int i = 0; i < 3; i++) {
        unguarded_steps++;
        eddy_yield();
    }
    touch_array(16u << 10);
    return arg;
}

static void *root_unguarded(void *arg)
{
    (void)arg;
    enum { N = 2000 };
    static eddy_task *ts[N];
    for (int i = 0; i < N; i++)
        ts[i] = eddy_spawn(small_worker, T_PTR(i));
    int ok = 0;
    for (int i = 0; i < N; i++) {
        void *r = NULL;
        if (ts[i] && eddy_join(ts[i], &r) == 0 && T_INT(r) == i)
            ok++;
    }
    return T_PTR(ok);
}

Test(stack, unguarded_mode_runs_tasks, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .stack_guard = EDDY_STACK_UNGUARDED, .stack_size = 64u << 10 };
    eddy_local_runtime *rt = t_local_rt_opts(&o);
    cr_assert_eq(T_INT(t_block_on(rt, root_unguarded, NULL)), 2000);
    cr_assert_eq(unguarded_steps, 6000);
    t_free_rt(rt);
}

/* ---- an unguarded stack overflowed: caught when the task switches out ---- */

#define UNGUARDED_NAME "over-the-edge"

static volatile size_t big_frame = 128u << 10; /* twice the stack */

/* Leaves the stack pointer below the task's 64 KiB stack and switches out
 * from there. Only the top of the array is written (it is inside the
 * stack); the yield's own frames land below it, in the neighbouring stack
 * of the same batch mapping (the root task's stack is the batch's lowest,
 * this one its highest), which the abort makes harmless. */
static void *switches_out_below_its_stack(void *arg)
{
    volatile char frame[big_frame];
    frame[big_frame - 1] = 1;
    eddy_yield();
    return T_PTR(frame[big_frame - 1] + (arg != NULL));
}

static void *root_unguarded_overflow(void *arg)
{
    (void)arg;
    eddy_spawn_opts o = { .name = UNGUARDED_NAME };
    eddy_task *t = eddy_spawn_with(&o, switches_out_below_its_stack, NULL);
    if (t)
        eddy_join(t, NULL);
    return NULL;
}

Test(stack, unguarded_overflow_is_reported_at_switch_out, .timeout = T_TIMEOUT)
{
    static const eddy_runtime_opts o = { .stack_guard = EDDY_STACK_UNGUARDED,
                                         .stack_size = 64u << 10 };
    expect_overflow_report(&o, root_unguarded_overflow, UNGUARDED_NAME);
}
