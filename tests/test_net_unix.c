/* Unix sockets: stream listener and stream, pairs, datagram sockets; all
 * in a fresh temporary directory. */
#include "test_net_util.h"

#include <sys/un.h>

static char dir[64];

static void setup_dir(void)
{
    t_tmpdir(dir, sizeof dir);
}

static void teardown_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static char *path_of(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}

/* ---- streams ---- */

static void *echo_one(void *arg)
{
    eddy_unix_listener *l = arg;
    eddy_unix_stream *s = NULL;
    eddy_sockaddr peer;
    int rc = eddy_unix_accept(l, &s, &peer);
    cr_expect_eq(rc, 0, "accept: %s", eddy_strerror(rc));
    if (rc != 0)
        return NULL;
    cr_expect_eq(peer.ss.ss_family, AF_UNIX);
    char buf[4096];
    ssize_t n;
    while ((n = eddy_unix_read(s, buf, sizeof buf)) > 0)
        if (eddy_unix_write_all(s, buf, (size_t)n, NULL) != 0)
            break;
    eddy_unix_stream_close(s);
    return NULL;
}

static void *stream_echo(void *arg)
{
    (void)arg;
    char path[128];
    path_of(path, sizeof path, "echo.sock");
    eddy_unix_listener *l = eddy_unix_listen(path, 0);
    cr_expect_not_null(l, "listen: %s", strerror(errno));
    if (!l)
        return T_PTR(0);
    eddy_sockaddr la;
    cr_expect_eq(eddy_unix_listener_local_addr(l, &la), 0);
    char text[EDDY_SOCKADDR_STRLEN];
    cr_expect(eddy_sockaddr_format(&la, text, sizeof text) > 0);
    cr_expect_str_eq(text, path);
    cr_expect(eddy_unix_listener_fd(l) >= 0);

    eddy_task *srv = eddy_spawn(echo_one, l);
    eddy_unix_stream *c = NULL;
    int rc = eddy_unix_connect(path, &c);
    cr_expect_eq(rc, 0, "connect: %s", eddy_strerror(rc));
    if (rc != 0)
        return T_PTR(0);
    eddy_sockaddr pa;
    cr_expect_eq(eddy_unix_peer_addr(c, &pa), 0);
    cr_expect(eddy_sockaddr_format(&pa, text, sizeof text) > 0);
    cr_expect_str_eq(text, path);
    cr_expect_eq(eddy_unix_local_addr(c, &pa), 0);
    cr_expect(eddy_sockaddr_format(&pa, text, sizeof text) > 0);
    cr_expect_str_eq(text, "(unnamed)");

    static unsigned char out[1 << 20], in[1 << 20];
    t_pattern(out, sizeof out, 3);
    /* Write in one task, read here. */
    size_t total = sizeof out;
    size_t got = 0;
    for (size_t off = 0; off < total;) {
        ssize_t w = eddy_unix_write(c, out + off, total - off);
        cr_expect(w > 0, "write: %zd", w);
        if (w <= 0)
            break;
        off += (size_t)w;
        size_t want = off - got;
        rc = eddy_unix_read_exact(c, in + got, want, NULL);
        cr_expect_eq(rc, 0);
        got += want;
    }
    cr_expect(memcmp(in, out, total) == 0);
    cr_expect_eq(eddy_unix_shutdown(c, SHUT_WR), 0);
    char b;
    cr_expect_eq(eddy_unix_read(c, &b, 1), 0);
    cr_expect_eq(eddy_join(srv, NULL), 0);
    eddy_unix_stream_close(c);
    eddy_unix_listener_close(l);
    return T_PTR(1);
}

Test(unix_stream, listener_and_stream_echo, .init = setup_dir, .fini = teardown_dir,
     .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(stream_echo, NULL)), 1);
}

static void *pair(void *arg)
{
    (void)arg;
    eddy_unix_stream *a = NULL, *b = NULL;
    cr_expect_eq(eddy_unix_pair(&a, &b), 0);
    if (!a || !b)
        return T_PTR(0);
    cr_expect_eq(eddy_unix_write_all(a, "hello", 5, NULL), 0);
    char buf[8];
    size_t done = 0;
    cr_expect_eq(eddy_unix_read_exact(b, buf, 5, &done), 0);
    cr_expect_eq(done, 5);
    cr_expect_eq(eddy_unix_read_until(b, buf, 1, eddy_deadline_in(20)), -ETIMEDOUT);
    cr_expect_eq(eddy_unix_read_exact_until(b, buf, 1, &done, eddy_deadline_in(5)),
                 -ETIMEDOUT);
    cr_expect_eq(done, 0);
    cr_expect_eq(eddy_unix_write_until(b, "x", 1, eddy_deadline_in(1000)), 1);
    cr_expect_eq(eddy_unix_read(a, buf, sizeof buf), 1);
    /* Fill b's direction until the write times out. */
    static char big[1 << 20];
    size_t put = 0;
    int rc = eddy_unix_write_all_until(a, big, sizeof big, &put, eddy_deadline_in(30));
    cr_expect_eq(rc, -ETIMEDOUT);
    cr_expect(put > 0 && put < sizeof big);
    eddy_unix_stream_close(a);
    /* b reads what a wrote, then the end. */
    size_t drained = 0;
    ssize_t n;
    while ((n = eddy_unix_read(b, big, sizeof big)) > 0)
        drained += (size_t)n;
    cr_expect_eq(n, 0);
    cr_expect_eq(drained, put);
    eddy_unix_stream_close(b);
    return T_PTR(1);
}

Test(unix_stream, pair_deadlines_and_end_of_stream, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(pair, NULL)), 1);
}

static atomic_long parked_rc = 1;

static void *park_in_read(void *arg)
{
    char b;
    atomic_store(&parked_rc, (long)eddy_unix_read(arg, &b, 1));
    return NULL;
}

static void *park_in_accept(void *arg)
{
    eddy_unix_stream *s = NULL;
    atomic_store(&parked_rc, eddy_unix_accept(arg, &s, NULL));
    if (s)
        eddy_unix_stream_close(s);
    return NULL;
}

static void *aborts(void *arg)
{
    (void)arg;
    char path[128];
    eddy_unix_listener *l = eddy_unix_listen(path_of(path, sizeof path, "a.sock"), 0);
    eddy_unix_stream *s = NULL;
    cr_expect_eq(eddy_unix_accept_until(l, &s, NULL, eddy_deadline_in(10)), -ETIMEDOUT);
    eddy_task *t = eddy_spawn(park_in_accept, l);
    eddy_yield();
    eddy_yield();
    eddy_abort(t);
    cr_expect_eq(eddy_join(t, NULL), -ECANCELED);
    cr_expect_eq(atomic_load(&parked_rc), -ECANCELED);

    eddy_unix_stream *a, *b;
    cr_expect_eq(eddy_unix_pair(&a, &b), 0);
    atomic_store(&parked_rc, 1);
    t = eddy_spawn(park_in_read, a);
    eddy_yield();
    eddy_yield();
    eddy_abort(t);
    cr_expect_eq(eddy_join(t, NULL), -ECANCELED);
    cr_expect_eq(atomic_load(&parked_rc), -ECANCELED);
    eddy_unix_stream_close(a);
    eddy_unix_stream_close(b);
    eddy_unix_listener_close(l);
    return T_PTR(1);
}

Test(unix_stream, deadlines_and_aborts, .init = setup_dir, .fini = teardown_dir,
     .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(aborts, NULL)), 1);
}

static void *faults(void *arg)
{
    (void)arg;
    char path[128], file[128];
    eddy_unix_stream *c = NULL;
    cr_expect_eq(eddy_unix_connect(path_of(path, sizeof path, "missing.sock"), &c), -ENOENT);
    /* A socket file whose listener is gone. */
    eddy_unix_listener *l = eddy_unix_listen(path_of(path, sizeof path, "gone.sock"), 0);
    cr_expect_not_null(l);
    eddy_unix_listener_close(l);
    cr_expect_eq(eddy_unix_connect(path, &c), -ECONNREFUSED);
    /* The file stays: binding again says so. */
    errno = 0;
    cr_expect_null(eddy_unix_listen(path, 0));
    cr_expect_eq(errno, EADDRINUSE);
    /* A regular file is no socket. */
    FILE *f = fopen(path_of(file, sizeof file, "plain"), "w");
    fclose(f);
    cr_expect_eq(eddy_unix_connect(file, &c), -ECONNREFUSED);
    /* Paths too long for sun_path. */
    char longp[200];
    memset(longp, 'a', sizeof longp - 1);
    longp[sizeof longp - 1] = '\0';
    cr_expect_eq(eddy_unix_connect(longp, &c), -ENAMETOOLONG);
    errno = 0;
    cr_expect_null(eddy_unix_listen(longp, 0));
    cr_expect_eq(errno, ENAMETOOLONG);

    /* Writing to a closed peer: -EPIPE, no SIGPIPE. */
    eddy_unix_stream *a, *b;
    cr_expect_eq(eddy_unix_pair(&a, &b), 0);
    eddy_unix_stream_close(b);
    cr_expect_eq(eddy_unix_write(a, "x", 1), -EPIPE);
    cr_expect_eq(eddy_unix_write_all(a, "x", 1, NULL), -EPIPE);
    eddy_unix_stream_close(a);

    /* A full backlog: -EAGAIN rather than a wait the kernel would never end. */
    l = eddy_unix_listen(path_of(path, sizeof path, "full.sock"), 1);
    eddy_unix_stream *conns[64];
    int n = 0, rc = 0;
    while (n < 64 && (rc = eddy_unix_connect(path, &conns[n])) == 0)
        n++;
    cr_expect_eq(rc, -EAGAIN, "after %d: %s", n, eddy_strerror(rc));
    while (n > 0)
        eddy_unix_stream_close(conns[--n]);
    eddy_unix_listener_close(l);
    return T_PTR(1);
}

Test(unix_stream, faults, .init = setup_dir, .fini = teardown_dir, .timeout = T_TIMEOUT)
{
    t_default_sigpipe();
    cr_assert_eq(T_INT(t_run_local(faults, NULL)), 1);
}

static void *from_fd(void *arg)
{
    (void)arg;
    int sv[2];
    cr_expect_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    eddy_unix_stream *a = eddy_unix_stream_from_fd(sv[0]);
    cr_expect_not_null(a);
    cr_expect_eq(eddy_unix_stream_fd(a), sv[0]);
    cr_expect_eq(write(sv[1], "q", 1), 1);
    char b;
    cr_expect_eq(eddy_unix_read(a, &b, 1), 1);
    errno = 0;
    cr_expect_null(eddy_tcp_stream_from_fd(sv[1]), "a Unix socket is no TCP stream");
    cr_expect_eq(errno, EINVAL);
    close(sv[1]);
    eddy_unix_stream_close(a);
    return T_PTR(1);
}

Test(unix_stream, from_fd, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(from_fd, NULL)), 1);
}

static void *make_pair(void *arg)
{
    eddy_unix_stream **p = arg;
    cr_expect_eq(eddy_unix_pair(&p[0], &p[1]), 0);
    cr_expect_eq(eddy_unix_write(p[1], "left", 4), 4);
    return T_PTR(1);
}

Test(unix_stream, calls_after_the_runtime_shut_down_fail_cleanly, .timeout = T_TIMEOUT)
{
    eddy_unix_stream *p[2] = { 0 };
    cr_assert_eq(T_INT(t_run_local(make_pair, p)), 1);
    char buf[8];
    cr_assert_eq(eddy_unix_read(p[0], buf, sizeof buf), -ECANCELED);
    cr_assert_eq(eddy_unix_write(p[0], "x", 1), -ECANCELED);
    cr_assert_eq(recv(eddy_unix_stream_fd(p[0]), buf, sizeof buf, MSG_DONTWAIT), 4,
                 "the data is still there");
    eddy_unix_stream_close(p[0]);
    eddy_unix_stream_close(p[1]);
}

/* ---- datagrams ---- */

static void *datagrams(void *arg)
{
    (void)arg;
    char pa[128], pb[128];
    path_of(pa, sizeof pa, "a.dgram");
    path_of(pb, sizeof pb, "b.dgram");
    eddy_unix_datagram *a = eddy_unix_datagram_bind(pa), *b = eddy_unix_datagram_bind(pb);
    cr_expect_not_null(a);
    cr_expect_not_null(b);
    if (!a || !b)
        return T_PTR(0);
    eddy_sockaddr from;
    char text[EDDY_SOCKADDR_STRLEN], buf[16];
    cr_expect_eq(eddy_unix_datagram_send_to(a, "ping", 4, pb), 4);
    cr_expect_eq(eddy_unix_datagram_recv_from(b, buf, sizeof buf, &from), 4);
    cr_expect(memcmp(buf, "ping", 4) == 0);
    cr_expect(eddy_sockaddr_format(&from, text, sizeof text) > 0);
    cr_expect_str_eq(text, pa);
    /* Connected both ways: send / recv. */
    cr_expect_eq(eddy_unix_datagram_connect(b, pa), 0);
    cr_expect_eq(eddy_unix_datagram_connect(a, pb), 0);
    cr_expect_eq(eddy_unix_datagram_send(b, "pong", 4), 4);
    cr_expect_eq(eddy_unix_datagram_recv(a, buf, sizeof buf), 4);
    cr_expect(memcmp(buf, "pong", 4) == 0);
    eddy_sockaddr peer;
    cr_expect_eq(eddy_unix_datagram_peer_addr(a, &peer), 0);
    cr_expect(eddy_sockaddr_format(&peer, text, sizeof text) > 0);
    cr_expect_str_eq(text, pb);
    cr_expect_eq(eddy_unix_datagram_local_addr(a, &peer), 0);
    cr_expect(eddy_sockaddr_format(&peer, text, sizeof text) > 0);
    cr_expect_str_eq(text, pa);
    cr_expect_eq(eddy_unix_datagram_recv_until(a, buf, sizeof buf, eddy_deadline_in(20)),
                 -ETIMEDOUT);
    cr_expect_eq(
        eddy_unix_datagram_recv_from_until(a, buf, sizeof buf, NULL, eddy_deadline_in(5)),
        -ETIMEDOUT);
    cr_expect_eq(eddy_unix_datagram_send_until(a, "z", 1, eddy_deadline_in(1000)), 1);
    cr_expect_eq(eddy_unix_datagram_recv(b, buf, sizeof buf), 1);

    /* An unbound socket can send; its datagrams come from "(unnamed)". */
    eddy_unix_datagram *u = eddy_unix_datagram_bind(NULL);
    cr_expect_not_null(u);
    eddy_unix_datagram *c = eddy_unix_datagram_bind(path_of(pa, sizeof pa, "c.dgram"));
    cr_expect_eq(eddy_unix_datagram_send_to_until(u, "anon", 4, pa, eddy_deadline_in(1000)),
                 4);
    cr_expect_eq(eddy_unix_datagram_recv_from(c, buf, sizeof buf, &from), 4);
    cr_expect(eddy_sockaddr_format(&from, text, sizeof text) > 0);
    cr_expect_str_eq(text, "(unnamed)");

    /* Nobody there. */
    char missing[128];
    cr_expect_eq(eddy_unix_datagram_send_to(u, "x", 1, path_of(missing, sizeof missing, "no")),
                 -ENOENT);
    cr_expect_eq(eddy_unix_datagram_connect(u, missing), -ENOENT);
    eddy_unix_datagram_close(u);
    eddy_unix_datagram_close(c);
    eddy_unix_datagram_close(a);
    eddy_unix_datagram_close(b);
    return T_PTR(1);
}

Test(unix_datagram, round_trips, .init = setup_dir, .fini = teardown_dir, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(datagrams, NULL)), 1);
}

static void *park_in_dgram_recv(void *arg)
{
    char b;
    atomic_store(&parked_rc, (long)eddy_unix_datagram_recv(arg, &b, 1));
    return NULL;
}

static void *send_ok(void *arg)
{
    return T_PTR(eddy_unix_datagram_send_until(arg, "ok", 2, eddy_deadline_in(10000)));
}

static void *dgram_pair(void *arg)
{
    (void)arg;
    eddy_unix_datagram *a = NULL, *b = NULL;
    cr_expect_eq(eddy_unix_datagram_pair(&a, &b), 0);
    if (!a || !b)
        return T_PTR(0);
    /* Message boundaries are kept. */
    cr_expect_eq(eddy_unix_datagram_send(a, "one", 3), 3);
    cr_expect_eq(eddy_unix_datagram_send(a, "two!", 4), 4);
    char buf[16];
    cr_expect_eq(eddy_unix_datagram_recv(b, buf, sizeof buf), 3);
    cr_expect_eq(eddy_unix_datagram_recv(b, buf, sizeof buf), 4);
    /* Fill the queue: send then waits, and times out. */
    ssize_t rc;
    int sent = 0;
    while ((rc = eddy_unix_datagram_send_until(a, buf, sizeof buf, eddy_deadline_in(20))) > 0)
        sent++;
    cr_expect_eq(rc, -ETIMEDOUT, "after %d datagrams: %zd", sent, rc);
    /* A sender parks on the full queue; the reader frees room and the
     * sender gets through. */
    eddy_task *st = eddy_spawn(send_ok, a);
    eddy_yield();
    eddy_yield();
    cr_expect(!eddy_is_finished(st), "the sender waits");
    for (int i = 0; i < sent; i++)
        cr_expect_eq(eddy_unix_datagram_recv(b, buf, sizeof buf), (ssize_t)sizeof buf);
    void *res = NULL;
    cr_expect_eq(eddy_join(st, &res), 0);
    cr_expect_eq((long)(intptr_t)res, 2);
    cr_expect_eq(eddy_unix_datagram_recv(b, buf, sizeof buf), 2);
    /* Abort in recv. */
    eddy_task *t = eddy_spawn(park_in_dgram_recv, b);
    eddy_yield();
    eddy_yield();
    eddy_abort(t);
    cr_expect_eq(eddy_join(t, NULL), -ECANCELED);
    cr_expect_eq(atomic_load(&parked_rc), -ECANCELED);
    cr_expect(eddy_unix_datagram_fd(a) >= 0);
    eddy_unix_datagram_close(a);
    eddy_unix_datagram_close(b);
    return T_PTR(1);
}

Test(unix_datagram, pair_backpressure_and_abort, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(dgram_pair, NULL)), 1);
}

static void *misuse(void *arg)
{
    (void)arg;
    eddy_unix_stream *s = NULL;
    char b;
    cr_expect_eq(eddy_unix_connect(NULL, &s), -EINVAL);
    cr_expect_eq(eddy_unix_connect("/x", NULL), -EINVAL);
    cr_expect_eq(eddy_unix_pair(NULL, &s), -EINVAL);
    cr_expect_eq(eddy_unix_read(NULL, &b, 1), -EINVAL);
    cr_expect_eq(eddy_unix_accept(NULL, &s, NULL), -EINVAL);
    cr_expect_eq(eddy_unix_datagram_send_to(NULL, "x", 1, "/x"), -EINVAL);
    cr_expect_eq(eddy_unix_datagram_connect(NULL, "/x"), -EINVAL);
    cr_expect_eq(eddy_unix_datagram_recv(NULL, &b, 1), -EINVAL);
    errno = 0;
    cr_expect_null(eddy_unix_listen(NULL, 0));
    cr_expect_eq(errno, EINVAL);
    errno = 0;
    cr_expect_null(eddy_unix_listen("", 0));
    cr_expect_eq(errno, EINVAL);
    eddy_unix_listener_close(NULL);
    eddy_unix_stream_close(NULL);
    eddy_unix_datagram_close(NULL);
    return T_PTR(1);
}

Test(unix, misuse, .timeout = T_TIMEOUT)
{
    eddy_unix_stream *a, *b;
    cr_assert_eq(eddy_unix_pair(&a, &b), -EPERM, "outside a runtime");
    errno = 0;
    cr_assert_null(eddy_unix_datagram_bind(NULL));
    cr_assert_eq(errno, EPERM);
    cr_assert_eq(T_INT(t_run_local(misuse, NULL)), 1);
}
