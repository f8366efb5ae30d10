/* Readiness of arbitrary descriptors (eddy_async_fd) on pipes. */
#include "util.h"

#include <fcntl.h>

static int fds[2];

static void make_pipe(void)
{
    cr_assert_eq(pipe2(fds, O_CLOEXEC), 0);
}

static void *wait_read_write(void *arg)
{
    (void)arg;
    eddy_async_fd *r = eddy_async_fd_new(fds[0]);
    eddy_async_fd *w = eddy_async_fd_new(fds[1]);
    cr_expect_not_null(r);
    cr_expect_not_null(w);
    cr_expect_eq(eddy_async_fd_fd(r), fds[0]);
    /* An empty pipe is writable, not readable. */
    int rc = eddy_async_fd_wait(w, EDDY_IO_WRITABLE, EDDY_INSTANT_NEVER);
    cr_expect(rc > 0 && (rc & EDDY_IO_WRITABLE), "writable: %d", rc);
    cr_expect_eq(eddy_async_fd_wait(r, EDDY_IO_READABLE, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(write(fds[1], "ab", 2), 2);
    rc = eddy_async_fd_wait(r, EDDY_IO_READABLE, eddy_deadline_in(5000));
    cr_expect(rc > 0 && (rc & EDDY_IO_READABLE), "readable: %d", rc);
    char buf[8];
    cr_expect_eq(read(fds[0], buf, sizeof buf), 2);
    /* Drained: the readiness is stale until cleared, then waits again. */
    cr_expect_eq(read(fds[0], buf, sizeof buf), -1);
    cr_expect_eq(errno, EAGAIN);
    eddy_async_fd_clear(r, EDDY_IO_READABLE);
    cr_expect_eq(eddy_async_fd_wait(r, EDDY_IO_READABLE, eddy_deadline_in(5)), -ETIMEDOUT);
    eddy_async_fd_free(r);
    eddy_async_fd_free(w);
    return T_PTR(1);
}

Test(async_fd, pipe_readiness_and_clear, .timeout = T_TIMEOUT)
{
    make_pipe();
    cr_assert_eq(T_INT(t_run_local(wait_read_write, NULL)), 1);
    /* The fds stay the caller's. */
    cr_assert_eq(close(fds[0]), 0);
    cr_assert_eq(close(fds[1]), 0);
}

static void *writer_later(void *arg)
{
    (void)arg;
    eddy_sleep(2);
    return T_PTR(write(fds[1], "x", 1));
}

static void *reader_waits(void *arg)
{
    (void)arg;
    eddy_async_fd *r = eddy_async_fd_new(fds[0]);
    eddy_task *w = eddy_spawn(writer_later, NULL);
    int rc = eddy_async_fd_wait(r, EDDY_IO_READABLE, EDDY_INSTANT_NEVER);
    cr_expect_eq(eddy_join(w, NULL), 0);
    eddy_async_fd_free(r);
    return T_PTR(rc);
}

Test(async_fd, a_task_parked_on_readiness_is_woken_by_the_driver, .timeout = T_TIMEOUT)
{
    make_pipe();
    int rc = T_INT(t_run_local(reader_waits, NULL));
    cr_assert(rc > 0 && (rc & EDDY_IO_READABLE), "rc %d", rc);
}

static void *hangup(void *arg)
{
    (void)arg;
    eddy_async_fd *r = eddy_async_fd_new(fds[0]);
    close(fds[1]);
    int rc = eddy_async_fd_wait(r, EDDY_IO_READABLE, EDDY_INSTANT_NEVER);
    eddy_async_fd_free(r);
    return T_PTR(rc);
}

Test(async_fd, hang_up_is_reported, .timeout = T_TIMEOUT)
{
    make_pipe();
    int rc = T_INT(t_run_local(hangup, NULL));
    cr_assert(rc > 0 && (rc & EDDY_IO_READ_CLOSED), "rc %d", rc);
}

static atomic_int parked_rc = 1;

static void *park_on_read(void *arg)
{
    eddy_async_fd *r = arg;
    atomic_store(&parked_rc, eddy_async_fd_wait(r, EDDY_IO_READABLE, EDDY_INSTANT_NEVER));
    return NULL;
}

static void *abort_reader(void *arg)
{
    (void)arg;
    eddy_async_fd *r = eddy_async_fd_new(fds[0]);
    eddy_task *t = eddy_spawn(park_on_read, r);
    eddy_yield();
    eddy_abort(t);
    int rc = eddy_join(t, NULL);
    eddy_async_fd_free(r);
    return T_PTR(rc);
}

Test(async_fd, abort_of_a_task_waiting_for_readiness, .timeout = T_TIMEOUT)
{
    make_pipe();
    cr_assert_eq(T_INT(t_run_local(abort_reader, NULL)), -ECANCELED);
    cr_assert_eq(atomic_load(&parked_rc), -ECANCELED);
}

static void *free_under_waiter(void *arg)
{
    (void)arg;
    eddy_async_fd *r = eddy_async_fd_new(fds[0]);
    eddy_task *t = eddy_spawn(park_on_read, r);
    eddy_yield();
    eddy_async_fd_free(r); /* the waiter is told, and its memory stays valid */
    return T_PTR(eddy_join(t, NULL));
}

Test(async_fd, freeing_under_a_waiter_cancels_its_wait, .timeout = T_TIMEOUT)
{
    make_pipe();
    cr_assert_eq(T_INT(t_run_local(free_under_waiter, NULL)), 0);
    cr_assert_eq(atomic_load(&parked_rc), -ECANCELED);
}

static void *make_fd(void *arg)
{
    (void)arg;
    return eddy_async_fd_new(fds[0]);
}

Test(async_fd, waits_after_the_runtime_ended_fail_cleanly, .timeout = T_TIMEOUT)
{
    make_pipe();
    eddy_async_fd *r = t_run_local(make_fd, NULL);
    cr_assert_not_null(r);
    cr_assert_eq(eddy_async_fd_wait(r, EDDY_IO_READABLE, EDDY_INSTANT_NEVER), -ECANCELED);
    eddy_async_fd_free(r);
}

static void *bad_fds(void *arg)
{
    (void)arg;
    errno = 0;
    cr_expect_null(eddy_async_fd_new(-1));
    cr_expect_eq(errno, EINVAL);
    errno = 0;
    cr_expect_null(eddy_async_fd_new(1000));
    cr_expect_eq(errno, EBADF);
    char path[] = "/tmp/eddy-afd-XXXXXX";
    int f = mkstemp(path);
    cr_assert_geq(f, 0, "mkstemp: %s", strerror(errno));
    unlink(path);
    errno = 0;
    cr_expect_null(eddy_async_fd_new(f), "regular files are not pollable");
    cr_expect_eq(errno, EPERM);
    close(f);
    cr_expect_eq(eddy_async_fd_wait(NULL, EDDY_IO_READABLE, 0), -EINVAL);
    eddy_async_fd_clear(NULL, EDDY_IO_READABLE);
    eddy_async_fd_free(NULL);
    cr_expect_eq(eddy_async_fd_fd(NULL), -1);
    return T_PTR(1);
}

Test(async_fd, misuse, .timeout = T_TIMEOUT)
{
    errno = 0;
    cr_assert_null(eddy_async_fd_new(0), "outside a runtime");
    cr_assert_eq(errno, EPERM);
    cr_assert_eq(T_INT(t_run_local(bad_fds, NULL)), 1);
}
