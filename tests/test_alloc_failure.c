/* Out of memory, one allocation at a time: every constructor of eddy, and a
 * runtime's work itself, is run again and again with its first, second,
 * third, ... allocation failing, until a run makes no more allocations
 * than were failed. Each run must report ENOMEM (or succeed and work) and
 * leave nothing behind: ASan and valgrind see every byte of every failed
 * run, and each sweep counts the process's open files. The same is done
 * with pthread_create failing, for the runtimes' threads.
 *
 * The failures are injected with the linker's --wrap (CMakeLists.txt), so
 * only eddy's own calls (and this file's) are failed, never libc's or
 * Criterion's, and only on the thread that armed the injection: the test
 * thread, a thread it starts, or a worker that a pinned task armed. The
 * other threads' allocations go through. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "resource_util.h"

#include <fcntl.h>

#include "util/block_depot.h"

/* ---- the injection ---- */

/* Calls left before the one that fails (-1: none fails); whether it did. */
static _Thread_local long fail_in = -1;
static _Thread_local bool failed;

static bool should_fail(void)
{
    if (fail_in < 0)
        return false;
    if (fail_in-- > 0)
        return false;
    failed = true;
    return true;
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
char *__real_strdup(const char *s);
int __real_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
char *__wrap_strdup(const char *s);
int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg);

void *__wrap_malloc(size_t n)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_realloc(p, n);
}

void *__wrap_aligned_alloc(size_t align, size_t n)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_aligned_alloc(align, n);
}

char *__wrap_strdup(const char *s)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_strdup(s);
}

/* pthread_create counts separately: it fails only while threads_fail_in
 * is armed, with EAGAIN as the kernel's thread limit would. */
static _Thread_local long threads_fail_in = -1;

int __wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg)
{
    if (threads_fail_in >= 0 && threads_fail_in-- == 0) {
        failed = true;
        return EAGAIN;
    }
    return __real_pthread_create(t, attr, fn, arg);
}

static void arm(long k)
{
    failed = false;
    fail_in = k;
}

static void arm_threads(long k)
{
    failed = false;
    threads_fail_in = k;
}

/* Disarms both; true if the armed call failed (so a later one may too). */
static bool disarm(void)
{
    fail_in = -1;
    threads_fail_in = -1;
    return failed;
}

/* The sweep stops here at the latest: no constructor allocates this often. */
#define MAX_ALLOCS 200

/* Runs the body (the last argument) with its k-th allocation failing, for
 * k = 0, 1, ...; the body sets `hit = disarm()` right after the call under
 * test, so that its checks allocate freely. Stops after the first run in which nothing
 * failed: the call makes fewer than k allocations. The runs together must
 * leave as many files open as they found. */
#define SWEEP(k, hit, ...)                                                   \
    do {                                                                     \
        int fds__ = t_open_fds();                                            \
        long k;                                                              \
        for (k = 0; k < MAX_ALLOCS; k++) {                                   \
            bool hit = false;                                                \
            arm(k);                                                          \
            __VA_ARGS__;                                                     \
            disarm();                                                        \
            if (!hit)                                                        \
                break;                                                       \
        }                                                                    \
        cr_assert_lt(k, MAX_ALLOCS, "still allocating after %d calls",       \
                     MAX_ALLOCS);                                            \
        cr_assert_eq(t_open_fds(), fds__,                                    \
                     "the failed runs left files open");                     \
    } while (0)

/* SWEEP for a constructor returning a pointer (NULL and errno ENOMEM
 * when it fails); adds the runs that failed to `reported`. A block the
 * thread's cache already holds needs no allocation, so a constructor
 * may fail in none of its runs. */
#define SWEEP_NEW(reported, make, release)                                   \
    do {                                                                     \
        SWEEP(k, hit, {                                                      \
            errno = 0;                                                       \
            void *p__ = (void *)(make);                                      \
            int err__ = errno;                                               \
            hit = disarm();                                                  \
            if (p__) {                                                       \
                release;                                                     \
            } else {                                                         \
                cr_assert(hit, #make " failed with nothing failing: %d",     \
                          err__);                                            \
                cr_assert_eq(err__, ENOMEM, #make " at %ld: errno %d", k,    \
                             err__);                                         \
                (reported)++;                                                \
            }                                                                \
        });                                                                  \
    } while (0)

/* ---- a little work to prove a runtime that was made works ---- */

static void *add_one(void *arg)
{
    return T_PTR(T_INT(arg) + 1);
}

/* Spawns a task, sends its result over a oneshot, sleeps a millisecond:
 * tasks, stacks, channels and the timer wheel, each of which allocates. */
static void *small_job(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(add_one, T_PTR(41));
    if (!t)
        return T_PTR(-errno);
    void *r = NULL;
    int rc = eddy_join(t, &r);
    if (rc < 0)
        return T_PTR(rc);
    eddy_oneshot_tx *tx;
    eddy_oneshot_rx *rx;
    if ((rc = eddy_oneshot_channel(NULL, &tx, &rx)) < 0)
        return T_PTR(rc);
    rc = eddy_oneshot_send(tx, &r);
    void *got = NULL;
    if (rc == 0)
        rc = eddy_oneshot_recv(rx, &got);
    eddy_oneshot_rx_release(rx);
    if (rc < 0)
        return T_PTR(rc);
    if ((rc = eddy_sleep(1)) < 0)
        return T_PTR(rc);
    return got;
}

/* Feeds 300 values through an unbounded channel (its storage grows) to
 * a consumer in a JoinSet beside two sleepers; returns 300 or the first
 * error. */
static void *consume(void *arg)
{
    eddy_mpsc_rx *rx = arg;
    long n = 0;
    void *v;
    while (eddy_mpsc_recv(rx, &v) == 0)
        n++;
    eddy_mpsc_rx_release(rx);
    return T_PTR(n);
}

static void *sleep_ms(void *arg)
{
    int rc = eddy_sleep((uint64_t)T_INT(arg));
    return T_PTR(rc < 0 ? rc : 0);
}

static void *bigger_job(void *arg)
{
    (void)arg;
    eddy_join_set *set = eddy_join_set_new();
    if (!set)
        return T_PTR(-errno);
    eddy_mpsc_tx *tx;
    eddy_mpsc_rx *rx;
    int rc = eddy_mpsc_unbounded_channel(NULL, &tx, &rx);
    bool have_tx = rc == 0;
    int64_t id;
    if (rc == 0 && (id = eddy_join_set_spawn(set, NULL, consume, rx)) < 0) {
        rc = (int)id;
        eddy_mpsc_rx_release(rx);
    }
    for (int i = 0; rc == 0 && i < 2; i++)
        if ((id = eddy_join_set_spawn(set, NULL, sleep_ms, T_PTR(1 + i))) < 0)
            rc = (int)id;
    for (int i = 0; rc == 0 && i < 300; i++)
        rc = eddy_mpsc_send(tx, &(void *){ T_PTR(i) });
    if (have_tx)
        eddy_mpsc_tx_release(tx); /* the consumer's loop ends */
    long total = 0;
    void *r;
    int jrc;
    while ((jrc = eddy_join_set_join_next(set, &r, NULL)) != -ENOENT) {
        if (jrc < 0 || T_INT(r) < 0)
            rc = rc ? rc : (jrc < 0 ? jrc : T_INT(r));
        else
            total += T_INT(r);
    }
    eddy_join_set_free(set);
    return T_PTR(rc < 0 ? rc : total);
}

/* t_sockets_roundtrip as a job: 1, or the first error. */
static void *socket_job(void *arg)
{
    (void)arg;
    int rc = t_sockets_roundtrip();
    return T_PTR(rc < 0 ? rc : 1);
}

/* The rest of the API a task reaches for: a named task, an interval, a
 * pipe behind an async fd, name resolution, and a file written and read
 * back through the blocking pool. Returns 1, or the first error. */
static void *api_job(void *path)
{
    eddy_spawn_opts so = { .name = "named" };
    eddy_task *t = eddy_spawn_with(&so, add_one, T_PTR(0));
    if (!t)
        return T_PTR(-errno);
    int rc = eddy_join(t, NULL);
    if (rc < 0)
        return T_PTR(rc);

    eddy_interval *iv = eddy_interval_new(1, EDDY_MISSED_TICK_BURST);
    if (!iv)
        return T_PTR(-errno);
    for (int i = 0; rc == 0 && i < 2; i++)
        rc = eddy_interval_tick(iv, NULL);
    eddy_interval_free(iv);
    if (rc < 0)
        return T_PTR(rc);

    int p[2];
    cr_assert_eq(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
    eddy_async_fd *afd = eddy_async_fd_new(p[0]);
    if (!afd)
        rc = -errno;
    else if (write(p[1], "x", 1) != 1)
        rc = -EIO;
    else if ((rc = eddy_async_fd_wait(afd, EDDY_IO_READABLE, EDDY_INSTANT_NEVER)) > 0)
        rc = 0;
    eddy_async_fd_free(afd);
    close(p[0]);
    close(p[1]);
    if (rc < 0)
        return T_PTR(rc);

    eddy_sockaddr addrs[4];
    ssize_t n = eddy_resolve("localhost", 80, addrs, 4);
    if (n < 0)
        return T_PTR(n);

    if ((rc = eddy_fs_write_all(path, "hello", 5)) < 0)
        return T_PTR(rc);
    void *data = NULL;
    size_t len = 0;
    if ((rc = eddy_fs_read_all(path, &data, &len)) < 0)
        return T_PTR(rc);
    rc = len == 5 && memcmp(data, "hello", 5) == 0 ? 1 : -EIO;
    free(data);
    return T_PTR(rc);
}

static void check_local_works(eddy_local_runtime *rt)
{
    void *res = NULL;
    int rc = eddy_local_runtime_block_on(rt, small_job, NULL, &res);
    cr_assert_eq(rc, 0, "block_on after the sweep: %d", rc);
    cr_assert_eq(T_INT(res), 42, "small_job: %d", T_INT(res));
}

static void check_runtime_works(eddy_runtime *rt)
{
    void *res = NULL;
    int rc = eddy_runtime_block_on(rt, small_job, NULL, &res);
    cr_assert_eq(rc, 0, "block_on after the sweep: %d", rc);
    cr_assert_eq(T_INT(res), 42, "small_job: %d", T_INT(res));
}

/* ---- runtimes ---- */

Test(alloc_failure, local_runtime_new, .timeout = 60)
{
    int reported = 0;
    SWEEP_NEW(reported, eddy_local_runtime_new(NULL),
              (check_local_works(p__), eddy_local_runtime_free(p__)));
    cr_assert_gt(reported, 0, "no allocation of eddy_local_runtime_new failed");
}

static void sweep_runtime_new(eddy_flavor flavor, unsigned workers)
{
    eddy_runtime_opts o = { .flavor = flavor, .worker_threads = workers };
    int reported = 0;
    SWEEP_NEW(reported, eddy_runtime_new(&o),
              (check_runtime_works(p__), eddy_runtime_free(p__)));
    cr_assert_gt(reported, 0, "no allocation of eddy_runtime_new failed");
}

Test(alloc_failure, current_thread_runtime_new, .timeout = 60)
{
    sweep_runtime_new(EDDY_FLAVOR_CURRENT_THREAD, 0);
}

Test(alloc_failure, multi_thread_runtime_new, .timeout = 60)
{
    sweep_runtime_new(EDDY_FLAVOR_MULTI_THREAD, 2);
}

/* Each worker's thread failing to start in turn: the runtime is not made,
 * EAGAIN says why, and the workers already started are stopped and
 * joined (TSan and valgrind would see one left running). */
Test(alloc_failure, multi_thread_worker_cannot_start, .timeout = 60)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_MULTI_THREAD, .worker_threads = 3 };
    for (long k = 0; k < 3; k++) {
        arm_threads(k);
        errno = 0;
        eddy_runtime *rt = eddy_runtime_new(&o);
        int err = errno;
        cr_assert(disarm(), "worker %ld was never started", k);
        cr_assert_null(rt, "made with worker %ld missing", k);
        cr_assert_eq(err, EAGAIN, "worker %ld: errno %d", k, err);
    }
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt);
    check_runtime_works(rt);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- work inside a runtime ---- */

/* The blocking pool cannot start its first thread: the job fails with
 * EAGAIN at its join instead of waiting forever, and the next spawn, with
 * threads to be had again, runs. */
static void *blocking_pool_without_threads(void *arg)
{
    (void)arg;
    arm_threads(0);
    eddy_task *t = eddy_spawn_blocking(add_one, T_PTR(1));
    bool hit = disarm();
    cr_expect(hit, "spawn_blocking started no thread");
    cr_expect_not_null(t, "spawn_blocking: %s", strerror(errno));
    if (!t)
        return NULL;
    void *res = NULL;
    cr_expect_eq(eddy_join(t, &res), -EAGAIN);
    t = eddy_spawn_blocking(add_one, T_PTR(1));
    cr_expect_not_null(t);
    if (t) {
        cr_expect_eq(eddy_join(t, &res), 0);
        cr_expect_eq(T_INT(res), 2);
    }
    return NULL;
}

Test(alloc_failure, blocking_pool_thread_cannot_start, .timeout = 60)
{
    t_run_local(blocking_pool_without_threads, NULL);
}

/* job with each of its allocations failing in turn, inside a live
 * LocalRuntime: the failing call reports ENOMEM to the task, which
 * returns it, and the runtime goes on working: job then returns `want`. */
/* One run of a sweep of block_on(job): ENOMEM from block_on or from the
 * job, or the job's own result `want`. Counts the failures reported. */
static void check_job_run(long k, int rc, void *res, int want, int *reported)
{
    if (rc < 0) {
        cr_assert_eq(rc, -ENOMEM, "allocation %ld: block_on %d", k, rc);
        (*reported)++;
    } else if (T_INT(res) != want) {
        cr_assert_eq(T_INT(res), -ENOMEM, "allocation %ld: job %d", k, T_INT(res));
        (*reported)++;
    }
}

static void sweep_local_job(eddy_task_fn job, void *arg, int want)
{
    eddy_local_runtime *rt = t_local_rt();
    int reported = 0;
    SWEEP(k, hit, {
        void *res = NULL;
        int rc = eddy_local_runtime_block_on(rt, job, arg, &res);
        hit = disarm();
        check_job_run(k, rc, res, want, &reported);
    });
    cr_assert_gt(reported, 0, "no allocation of the job failed");
    void *res = NULL;
    cr_assert_eq(eddy_local_runtime_block_on(rt, job, arg, &res), 0);
    cr_assert_eq(T_INT(res), want);
    t_free_rt(rt);
}

Test(alloc_failure, work_inside_a_local_runtime, .timeout = 60)
{
    sweep_local_job(small_job, NULL, 42);
}

/* The same with a JoinSet, a growing channel and timers. */
Test(alloc_failure, more_work_inside_a_local_runtime, .timeout = 60)
{
    sweep_local_job(bigger_job, NULL, 300);
}

/* The same with the rest of the API (see api_job). */
Test(alloc_failure, the_rest_of_the_api_inside_a_local_runtime, .timeout = 60)
{
    char path[] = "/tmp/eddy-alloc-failure-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    close(fd);
    sweep_local_job(api_job, path, 1);
    unlink(path);
}

/* The same with sockets: a socket whose wrapper cannot be allocated is
 * closed, not leaked (the sweep counts open files). */
Test(alloc_failure, sockets_inside_a_local_runtime, .timeout = 60)
{
    sweep_local_job(socket_job, NULL, 1);
}

/* block_on on a new current-thread runtime, each allocation of its first
 * run failing in turn: the failure is reported, and the runtime works. */
Test(alloc_failure, block_on_a_new_current_thread_runtime, .timeout = 60)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_CURRENT_THREAD };
    int reported = 0;
    SWEEP(k, hit, {
        disarm(); /* the runtime is made whole; its first block_on fails */
        eddy_runtime *rt = eddy_runtime_new(&o);
        cr_assert_not_null(rt);
        arm(k);
        void *res = NULL;
        int rc = eddy_runtime_block_on(rt, small_job, NULL, &res);
        hit = disarm();
        check_job_run(k, rc, res, 42, &reported);
        check_runtime_works(rt);
        cr_assert_eq(eddy_runtime_free(rt), 0);
    });
    cr_assert_gt(reported, 0, "no allocation failed");
}

/* On the multi-thread runtime the root task runs on a worker, out of the
 * injection's reach; here the test thread's own calls fail: spawning
 * through a handle, and block_on's root task. */
Test(alloc_failure, spawning_into_a_multi_thread_runtime, .timeout = 60)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_MULTI_THREAD, .worker_threads = 2 };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt);
    eddy_handle *h = eddy_runtime_handle(rt);
    cr_assert_not_null(h);
    int reported = 0;
    SWEEP(k, hit, {
        errno = 0;
        eddy_task *t = eddy_handle_spawn(h, add_one, T_PTR(1));
        int err = errno;
        hit = disarm();
        if (t) {
            void *res = NULL;
            cr_assert_eq(eddy_join(t, &res), 0);
            cr_assert_eq(T_INT(res), 2);
        } else {
            cr_assert_eq(err, ENOMEM, "allocation %ld: spawn errno %d", k, err);
            reported++;
        }
    });
    SWEEP(k, hit, {
        void *res = NULL;
        int rc = eddy_runtime_block_on(rt, add_one, T_PTR(1), &res);
        hit = disarm();
        if (rc < 0) {
            cr_assert_eq(rc, -ENOMEM, "allocation %ld: block_on %d", k, rc);
            reported++;
        } else {
            cr_assert_eq(T_INT(res), 2);
        }
    });
    cr_assert_gt(reported, 0, "no allocation failed");
    eddy_handle_release(h);
    check_runtime_works(rt);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* small_job on a worker of the multi-thread runtime, failing there: the
 * job is pinned (spawn_local), so the worker it arms is the one it runs
 * and disarms on. */
struct pinned_sweep {
    long k;
    bool hit;
    int res;
};

static void *pinned_job(void *arg)
{
    struct pinned_sweep *ps = arg;
    arm(ps->k);
    ps->res = T_INT(small_job(NULL));
    ps->hit = disarm();
    return NULL;
}

static void *run_pinned(void *arg)
{
    eddy_task *t = eddy_spawn_local(pinned_job, arg);
    if (!t)
        return T_PTR(-errno);
    return T_PTR(eddy_join(t, NULL));
}

Test(alloc_failure, work_on_a_multi_thread_worker, .timeout = 60)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_MULTI_THREAD, .worker_threads = 2 };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt);
    int reported = 0;
    SWEEP(k, hit, {
        disarm(); /* not this thread: the worker, in pinned_job */
        struct pinned_sweep ps = { .k = k };
        void *rc = NULL;
        int brc = eddy_runtime_block_on(rt, run_pinned, &ps, &rc);
        cr_assert_eq(brc, 0, "block_on at %ld: %d", k, brc);
        cr_assert_eq(T_INT(rc), 0, "the pinned task: %d", T_INT(rc));
        hit = ps.hit;
        if (ps.res != 42) {
            cr_assert_eq(ps.res, -ENOMEM, "allocation %ld: small_job %d", k, ps.res);
            reported++;
        }
    });
    cr_assert_gt(reported, 0, "no allocation failed");
    check_runtime_works(rt);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* A LocalSet on a current-thread runtime: a task spawned into the set
 * before it runs, then the set driven by block_on with a root that joins
 * it. Every allocation of both, failing in turn, is reported, and a task
 * left in the set by a failed block_on is cancelled when the set is
 * freed. */
static void *set_root(void *pre)
{
    void *r = small_job(NULL);
    if (pre) {
        void *pr = NULL;
        int rc = eddy_join(pre, &pr);
        if (rc < 0)
            return T_PTR(rc);
        if (T_INT(pr) != 42)
            return pr;
    }
    return r;
}

Test(alloc_failure, a_local_set, .timeout = 60)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_CURRENT_THREAD };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt);
    eddy_local_set *set = eddy_local_set_new();
    cr_assert_not_null(set);
    int reported = 0;
    SWEEP(k, hit, {
        errno = 0;
        eddy_task *pre = eddy_local_set_spawn_local(set, small_job, NULL);
        int err = errno;
        void *res = NULL;
        int rc = eddy_local_set_block_on(set, rt, set_root, pre, &res);
        hit = disarm();
        if (!pre) {
            cr_assert_eq(err, ENOMEM, "allocation %ld: spawn_local errno %d", k, err);
            reported++;
        }
        if (rc < 0) {
            cr_assert_eq(rc, -ENOMEM, "allocation %ld: block_on %d", k, rc);
            eddy_detach(pre); /* never joined: the set still has it */
            reported++;
        } else if (T_INT(res) != 42) {
            cr_assert_eq(T_INT(res), -ENOMEM, "allocation %ld: root %d", k, T_INT(res));
            reported++;
        }
    });
    cr_assert_gt(reported, 0, "no allocation failed");
    void *res = NULL;
    cr_assert_eq(eddy_local_set_block_on(set, rt, set_root, NULL, &res), 0);
    cr_assert_eq(T_INT(res), 42);
    cr_assert_eq(eddy_local_set_free(set), 0);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* A thread that has never waited has nothing to block on yet: its first
 * block_on on the multi-thread runtime, and its first eddy_timeout under
 * an enter guard, fail with ENOMEM before they start a task, rather than
 * leave one running with its join handle lost. Each call runs on a new
 * thread, so that every one is its first wait. */
struct first_wait {
    eddy_runtime *rt;
    long k;
    bool timeout; /* eddy_timeout under an enter guard, else block_on */
    int rc;
    void *res;
    bool hit;
};

static void *first_wait_thread(void *arg)
{
    struct first_wait *fw = arg;
    eddy_enter_guard *g = fw->timeout ? eddy_runtime_enter(fw->rt) : NULL;
    if (fw->timeout && !g) {
        fw->rc = -errno;
        return NULL;
    }
    arm(fw->k);
    if (fw->timeout)
        fw->rc = eddy_timeout(10000, add_one, T_PTR(1), &fw->res);
    else
        fw->rc = eddy_runtime_block_on(fw->rt, add_one, T_PTR(1), &fw->res);
    fw->hit = disarm();
    if (g)
        eddy_enter_guard_drop(g);
    return NULL;
}

Test(alloc_failure, first_wait_of_a_plain_thread, .timeout = 60)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_MULTI_THREAD, .worker_threads = 2 };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt);
    for (int timeout = 0; timeout < 2; timeout++) {
        int reported = 0;
        SWEEP(k, hit, {
            disarm(); /* not this thread: the new one, in first_wait_thread */
            struct first_wait fw = { .rt = rt, .k = k, .timeout = timeout };
            pthread_t th;
            cr_assert_eq(pthread_create(&th, NULL, first_wait_thread, &fw), 0);
            pthread_join(th, NULL);
            hit = fw.hit;
            if (fw.rc < 0) {
                cr_assert_eq(fw.rc, -ENOMEM, "%s at %ld: %d",
                             timeout ? "timeout" : "block_on", k, fw.rc);
                reported++;
            } else {
                cr_assert_eq(T_INT(fw.res), 2);
            }
        });
        cr_assert_gt(reported, 0, "no allocation failed");
    }
    check_runtime_works(rt);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}

/* ---- constructors that need no runtime ---- */


Test(alloc_failure, primitives, .timeout = 60)
{
    int reported = 0;
    for (int f = 0; f < 2; f++) {
        eddy_sync_flavor fl = f ? EDDY_SYNC_LOCAL : EDDY_SYNC_SHARED;
        SWEEP_NEW(reported, eddy_notify_new(fl), eddy_notify_free(p__));
        SWEEP_NEW(reported, eddy_semaphore_new(fl, 3), eddy_semaphore_free(p__));
        SWEEP_NEW(reported, eddy_mutex_new(fl), eddy_mutex_free(p__));
        SWEEP_NEW(reported, eddy_rwlock_new(fl), eddy_rwlock_free(p__));
        SWEEP_NEW(reported, eddy_barrier_new(fl, 2), eddy_barrier_free(p__));
    }
    SWEEP_NEW(reported, eddy_join_set_new(), eddy_join_set_free(p__));
    SWEEP_NEW(reported, eddy_local_set_new(), eddy_local_set_free(p__));
    cr_assert_gt(reported, 0, "no allocation failed");
}

/* A channel constructor's int result as a pointer for SWEEP_NEW: non-NULL
 * when it made the channel, NULL with errno set when it did not. */
static void *made(int rc)
{
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return (void *)1;
}

Test(alloc_failure, channels, .timeout = 60)
{
    int reported = 0;
    for (int f = 0; f < 2; f++) {
        eddy_channel_opts o = { .flavor = f ? EDDY_SYNC_LOCAL : EDDY_SYNC_SHARED,
                                .elem_size = 16 };
        eddy_oneshot_tx *otx;
        eddy_oneshot_rx *orx;
        SWEEP_NEW(reported, made(eddy_oneshot_channel(&o, &otx, &orx)),
                  (eddy_oneshot_tx_release(otx), eddy_oneshot_rx_release(orx)));
        eddy_mpsc_tx *mtx;
        eddy_mpsc_rx *mrx;
        SWEEP_NEW(reported, made(eddy_mpsc_channel(&o, 8, &mtx, &mrx)),
                  (eddy_mpsc_tx_release(mtx), eddy_mpsc_rx_release(mrx)));
        SWEEP_NEW(reported, made(eddy_mpsc_unbounded_channel(&o, &mtx, &mrx)),
                  (eddy_mpsc_tx_release(mtx), eddy_mpsc_rx_release(mrx)));
        char init[16] = { 0 };
        eddy_watch_tx *wtx;
        eddy_watch_rx *wrx;
        SWEEP_NEW(reported, made(eddy_watch_channel(&o, init, &wtx, &wrx)),
                  (eddy_watch_tx_release(wtx), eddy_watch_rx_release(wrx)));
        eddy_broadcast_tx *btx;
        eddy_broadcast_rx *brx;
        SWEEP_NEW(reported, made(eddy_broadcast_channel(&o, 4, &btx, &brx)),
                  (eddy_broadcast_tx_release(btx), eddy_broadcast_rx_release(brx)));
    }
    cr_assert_gt(reported, 0, "no allocation failed");
}

/* ---- the block depot: its array of batches cannot grow ---- */

Test(alloc_failure, the_depot_refuses_a_batch_it_cannot_record, .timeout = T_TIMEOUT)
{
    enum { K = 13 }; /* 224-byte blocks, a task's class */
    eddy__block_depot_ref();
    eddy_free_block *batch = NULL;
    for (int i = 0; i < EDDY_BLOCK_BATCH; i++) {
        eddy_free_block *b = malloc((K + 1) * EDDY_BLOCK_CLASS);
        cr_assert_not_null(b);
        b->next = batch;
        batch = b;
    }
    fail_in = 0; /* the depot's first array for the class */
    bool taken = eddy__block_depot_give(K, batch);
    fail_in = -1;
    cr_assert(failed, "the give allocated nothing");
    cr_assert_not(taken, "a batch taken that the depot could not record");
    size_t n = 0;
    for (eddy_free_block *b = batch; b; b = b->next)
        n++;
    cr_assert_eq(n, EDDY_BLOCK_BATCH, "the refused batch came back cut");
    cr_assert_eq(eddy__block_depot_batches(), 0);

    cr_assert(eddy__block_depot_give(K, batch), "nothing failing, the same batch is taken");
    cr_assert_eq(eddy__block_depot_take(K), batch);
    while (batch) {
        eddy_free_block *next = batch->next;
        free(batch);
        batch = next;
    }
    eddy__block_depot_unref();
}
