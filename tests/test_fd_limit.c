/* Out of file descriptors, one descriptor at a time: the descriptor table is
 * filled but for k free slots, for k = 0, 1, ..., and a constructor (or a
 * job inside a runtime) is run in that room until it has enough. Each run
 * must fail with EMFILE, or succeed and work, and close whatever it opened
 * on the way: the test counts the process's open files before and after.
 * Criterion runs each test in its own process, so the lowered
 * RLIMIT_NOFILE touches nothing else. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "resource_util.h"

#include <fcntl.h>
#include <sys/resource.h>

/* A small table, so that filling it is quick. */
#define TABLE 128
/* No constructor needs this many descriptors. */
#define MAX_FDS 16

static void small_table(void)
{
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = TABLE;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0, "setrlimit: %s", strerror(errno));
}

static int fill[TABLE];
static int nfill;

/* Opens descriptors until the table is full, then closes `room` of them. */
static void fill_table(int room)
{
    int fd;
    nfill = 0;
    while (nfill < TABLE && (fd = open("/dev/null", O_RDONLY | O_CLOEXEC)) >= 0)
        fill[nfill++] = fd;
    cr_assert_eq(errno, EMFILE, "filling the table: %s", strerror(errno));
    for (int i = 0; i < room && nfill > 0; i++)
        close(fill[--nfill]);
}

static void unfill(void)
{
    while (nfill > 0)
        close(fill[--nfill]);
}

/* Runs the body (the last argument) with room for k descriptors, for
 * k = 0, 1, ...; the body sets `ok` when its call succeeded, which ends
 * the sweep. `failures` counts the runs that failed. */
#define FD_SWEEP(k, ok, failures, ...)                                       \
    do {                                                                     \
        int fds__ = t_open_fds();                                            \
        int k;                                                               \
        for (k = 0; k < MAX_FDS; k++) {                                      \
            bool ok = false;                                                 \
            fill_table(k);                                                   \
            __VA_ARGS__;                                                     \
            unfill();                                                        \
            cr_assert_eq(t_open_fds(), fds__,                                \
                         "room for %d: files left open", k);                 \
            if (ok)                                                          \
                break;                                                       \
            (failures)++;                                                    \
        }                                                                    \
        cr_assert_lt(k, MAX_FDS, "never succeeded");                         \
    } while (0)

static void *add_one(void *arg)
{
    return T_PTR(T_INT(arg) + 1);
}

/* ---- runtimes ---- */

Test(fd_limit, local_runtime_new, .timeout = 60)
{
    small_table();
    int failures = 0;
    FD_SWEEP(k, ok, failures, {
        errno = 0;
        eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
        int err = errno;
        if (rt) {
            unfill(); /* room for the check */
            void *res = NULL;
            cr_assert_eq(eddy_local_runtime_block_on(rt, add_one, T_PTR(1), &res), 0);
            cr_assert_eq(T_INT(res), 2);
            cr_assert_eq(eddy_local_runtime_free(rt), 0);
            ok = true;
        } else {
            cr_assert_eq(err, EMFILE, "room for %d: errno %d (%s)", k, err, strerror(err));
        }
    });
    cr_assert_gt(failures, 0, "eddy_local_runtime_new needs no descriptor?");
}

static void sweep_runtime_new(eddy_flavor flavor)
{
    small_table();
    eddy_runtime_opts o = { .flavor = flavor, .worker_threads = 2 };
    int failures = 0;
    FD_SWEEP(k, ok, failures, {
        errno = 0;
        eddy_runtime *rt = eddy_runtime_new(&o);
        int err = errno;
        if (rt) {
            unfill();
            void *res = NULL;
            cr_assert_eq(eddy_runtime_block_on(rt, add_one, T_PTR(1), &res), 0);
            cr_assert_eq(T_INT(res), 2);
            cr_assert_eq(eddy_runtime_free(rt), 0);
            ok = true;
        } else {
            cr_assert_eq(err, EMFILE, "room for %d: errno %d (%s)", k, err, strerror(err));
        }
    });
    cr_assert_gt(failures, 0, "eddy_runtime_new needs no descriptor?");
}

Test(fd_limit, current_thread_runtime_new, .timeout = 60)
{
    sweep_runtime_new(EDDY_FLAVOR_CURRENT_THREAD);
}

Test(fd_limit, multi_thread_runtime_new, .timeout = 60)
{
    sweep_runtime_new(EDDY_FLAVOR_MULTI_THREAD);
}

/* ---- sockets and files inside a runtime ---- */

/* A name looked up (getaddrinfo opens /etc/hosts), t_sockets_roundtrip,
 * then a file opened and written: 1, or the first error. */
static void *fd_job(void *path)
{
    eddy_sockaddr addrs[4];
    ssize_t n = eddy_resolve("localhost", 80, addrs, 4);
    if (n < 0)
        return T_PTR(n);
    int rc = t_sockets_roundtrip();
    if (rc < 0)
        return T_PTR(rc);
    eddy_file *f;
    if ((rc = eddy_file_open(path, O_RDWR, 0, &f)) < 0)
        return T_PTR(rc);
    rc = eddy_file_write(f, "hi", 2) == 2 ? 0 : -EIO;
    int crc = eddy_file_close(f);
    return T_PTR(rc < 0 ? rc : crc < 0 ? crc : 1);
}

/* The runtime is made with room to spare; the job then runs in a full
 * table but for k slots, and must report EMFILE from whichever call ran
 * out. */
Test(fd_limit, sockets_and_files_inside_a_local_runtime, .timeout = 60)
{
    small_table();
    char path[] = "/tmp/eddy-fd-limit-XXXXXX";
    int pfd = mkstemp(path);
    cr_assert_geq(pfd, 0);
    close(pfd);
    eddy_local_runtime *rt = t_local_rt();
    int failures = 0;
    FD_SWEEP(k, ok, failures, {
        void *res = NULL;
        int rc = eddy_local_runtime_block_on(rt, fd_job, path, &res);
        cr_assert_eq(rc, 0, "room for %d: block_on %d", k, rc);
        if (T_INT(res) == 1) {
            ok = true;
        } else {
            cr_assert(T_INT(res) == -EMFILE, "room for %d: job %d (%s)", k, T_INT(res),
                      eddy_strerror(T_INT(res)));
        }
    });
    cr_assert_gt(failures, 0, "the job needs no descriptor?");
    t_free_rt(rt);
    unlink(path);
}
