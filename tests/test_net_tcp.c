/* TCP: listen, accept, connect, read, write, read_exact, write_all,
 * shutdown, addresses, options, IPv4 and IPv6, deadlines, abort, faults.
 * Loopback only. */
#include "test_net_util.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

/* ---- echo through the runtime, both address families ---- */

static void *echo_conn(void *arg)
{
    eddy_tcp_stream *s = arg;
    char buf[16384];
    for (;;) {
        ssize_t n = eddy_tcp_read(s, buf, sizeof buf);
        if (n <= 0)
            break;
        if (eddy_tcp_write_all(s, buf, (size_t)n, NULL) != 0)
            break;
    }
    eddy_tcp_stream_close(s);
    return NULL;
}

static void *echo_server_one(void *arg)
{
    eddy_tcp_listener *l = arg;
    eddy_tcp_stream *s = NULL;
    int rc = eddy_tcp_accept(l, &s, NULL);
    cr_expect_eq(rc, 0, "accept: %s", eddy_strerror(rc));
    if (rc == 0)
        echo_conn(s);
    return NULL;
}

#define BIG (4u << 20) /* larger than the socket buffers: writes must wait */

struct writer {
    eddy_tcp_stream *s;
    const unsigned char *data;
    size_t len;
};

static void *write_then_fin(void *arg)
{
    struct writer *w = arg;
    size_t done = 0;
    int rc = eddy_tcp_write_all(w->s, w->data, w->len, &done);
    cr_expect_eq(rc, 0, "write_all: %s", eddy_strerror(rc));
    cr_expect_eq(done, w->len);
    cr_expect_eq(eddy_tcp_shutdown(w->s, SHUT_WR), 0);
    return NULL;
}

static void *echo_client(void *arg)
{
    const char *ip = arg;
    eddy_tcp_listener *l = t_listen(ip, 0);
    if (!l)
        return T_PTR(0);
    eddy_task *srv = eddy_spawn(echo_server_one, l);

    eddy_tcp_stream *c = NULL;
    int rc = eddy_tcp_connect(ip, (uint16_t)eddy_tcp_listener_port(l), &c);
    cr_expect_eq(rc, 0, "connect: %s", eddy_strerror(rc));
    if (rc != 0)
        return T_PTR(0);

    unsigned char *out = malloc(BIG), *in = malloc(BIG);
    t_pattern(out, BIG, 7);
    /* One task writes while this one reads the echo: the two directions of
     * one stream wait independently. */
    struct writer w = { c, out, BIG };
    eddy_task *wt = eddy_spawn(write_then_fin, &w);
    size_t got = 0;
    rc = eddy_tcp_read_exact(c, in, BIG, &got);
    cr_expect_eq(rc, 0, "read_exact: %s", eddy_strerror(rc));
    cr_expect_eq(got, BIG);
    cr_expect(memcmp(in, out, BIG) == 0, "echoed data differs");
    /* The server closes after our FIN: end of stream. */
    char b;
    cr_expect_eq(eddy_tcp_read(c, &b, 1), 0);
    cr_expect_eq(eddy_join(wt, NULL), 0);
    cr_expect_eq(eddy_join(srv, NULL), 0);
    eddy_tcp_stream_close(c);
    eddy_tcp_listener_close(l);
    free(out);
    free(in);
    return T_PTR(1);
}

Test(tcp, echo_ipv4, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(echo_client, "127.0.0.1")), 1);
}

Test(tcp, echo_ipv6, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(echo_client, "::1")), 1);
}

static void *connect_localhost(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_tcp_stream *c = NULL, *s = NULL;
    /* "localhost" may resolve to ::1 first: connect tries each address. */
    int rc = eddy_tcp_connect("localhost", (uint16_t)eddy_tcp_listener_port(l), &c);
    cr_expect_eq(rc, 0, "connect localhost: %s", eddy_strerror(rc));
    cr_expect_eq(eddy_tcp_accept(l, &s, NULL), 0);
    cr_expect_eq(eddy_tcp_write(c, "hi", 2), 2);
    char buf[4];
    cr_expect_eq(eddy_tcp_read_exact(s, buf, 2, NULL), 0);
    cr_expect(memcmp(buf, "hi", 2) == 0);
    t_tcp_close_all(c, s, l);
    return T_PTR(1);
}

Test(tcp, connect_by_name, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(connect_localhost, NULL)), 1);
}

/* ---- addresses and options ---- */

static void *addrs_and_opts(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    int port = eddy_tcp_listener_port(l);
    cr_expect(port > 0 && port < 65536, "port %d", port);
    cr_expect(eddy_tcp_listener_fd(l) >= 0);
    eddy_sockaddr la;
    cr_expect_eq(eddy_tcp_listener_local_addr(l, &la), 0);
    cr_expect_eq(la.ss.ss_family, AF_INET);
    cr_expect_eq(eddy_sockaddr_port(&la), port);

    eddy_tcp_stream *c, *s;
    if (!t_tcp_pair(l, "127.0.0.1", &c, &s))
        return T_PTR(0);
    eddy_sockaddr cl, cp, sl, sp;
    cr_expect_eq(eddy_tcp_local_addr(c, &cl), 0);
    cr_expect_eq(eddy_tcp_peer_addr(c, &cp), 0);
    cr_expect_eq(eddy_tcp_local_addr(s, &sl), 0);
    cr_expect_eq(eddy_tcp_peer_addr(s, &sp), 0);
    cr_expect_eq(eddy_sockaddr_port(&cp), port);
    cr_expect_eq(eddy_sockaddr_port(&sl), port);
    cr_expect_eq(eddy_sockaddr_port(&sp), eddy_sockaddr_port(&cl));
    char text[EDDY_SOCKADDR_STRLEN], want[EDDY_SOCKADDR_STRLEN];
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    cr_expect(eddy_sockaddr_format(&cp, text, sizeof text) > 0);
    cr_expect_str_eq(text, want);

    cr_expect_eq(eddy_tcp_nodelay(c), 0);
    cr_expect_eq(eddy_tcp_set_nodelay(c, true), 0);
    cr_expect_eq(eddy_tcp_nodelay(c), 1);
    cr_expect_eq(eddy_tcp_set_nodelay(c, false), 0);
    cr_expect_eq(eddy_tcp_nodelay(c), 0);

    cr_expect_eq(eddy_tcp_keepalive(c), 0);
    cr_expect_eq(eddy_tcp_set_keepalive(c, true, 30), 0);
    cr_expect_eq(eddy_tcp_keepalive(c), 1);
    int idle = 0;
    socklen_t il = sizeof idle;
    cr_expect_eq(getsockopt(eddy_tcp_stream_fd(c), IPPROTO_TCP, TCP_KEEPIDLE, &idle, &il), 0);
    cr_expect_eq(idle, 30);
    cr_expect_eq(eddy_tcp_set_keepalive(c, false, 0), 0);
    cr_expect_eq(eddy_tcp_keepalive(c), 0);

    cr_expect(eddy_tcp_stream_fd(c) >= 0);
    cr_expect_eq(eddy_tcp_stream_fd(NULL), -1);
    t_tcp_close_all(c, s, l);
    return T_PTR(1);
}

Test(tcp, addresses_and_options, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(addrs_and_opts, NULL)), 1);
}

static void *ipv6_addrs(void *arg)
{
    (void)arg;
    eddy_tcp_listen_opts o = { .v6only = true };
    eddy_tcp_listener *l = eddy_tcp_listen("[::1]", 0, &o);
    cr_expect_not_null(l);
    eddy_tcp_stream *c, *s;
    if (!l || !t_tcp_pair(l, "::1", &c, &s))
        return T_PTR(0);
    eddy_sockaddr peer;
    cr_expect_eq(eddy_tcp_peer_addr(c, &peer), 0);
    cr_expect_eq(peer.ss.ss_family, AF_INET6);
    char text[EDDY_SOCKADDR_STRLEN], want[EDDY_SOCKADDR_STRLEN];
    snprintf(want, sizeof want, "[::1]:%d", eddy_tcp_listener_port(l));
    cr_expect(eddy_sockaddr_format(&peer, text, sizeof text) > 0);
    cr_expect_str_eq(text, want);
    t_tcp_close_all(c, s, l);
    return T_PTR(1);
}

Test(tcp, ipv6_addresses, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(ipv6_addrs, NULL)), 1);
}

static void *reuse(void *arg)
{
    (void)arg;
    eddy_tcp_listen_opts rp = { .reuseport = true };
    eddy_tcp_listener *a = eddy_tcp_listen("127.0.0.1", 0, &rp);
    cr_expect_not_null(a);
    int port = eddy_tcp_listener_port(a);
    eddy_tcp_listener *b = eddy_tcp_listen("127.0.0.1", (uint16_t)port, &rp);
    cr_expect_not_null(b, "SO_REUSEPORT: a second listener on the port: %s", strerror(errno));
    errno = 0;
    eddy_tcp_listener *c = eddy_tcp_listen("127.0.0.1", (uint16_t)port, NULL);
    cr_expect_null(c);
    cr_expect_eq(errno, EADDRINUSE);
    eddy_tcp_listener_close(a);
    eddy_tcp_listener_close(b);
    /* SO_REUSEADDR (the default) rebinds at once although the port was
     * just in use. */
    eddy_tcp_listener *d = eddy_tcp_listen("127.0.0.1", (uint16_t)port, NULL);
    cr_expect_not_null(d, "rebind: %s", strerror(errno));
    eddy_tcp_listener_close(d);
    return T_PTR(1);
}

Test(tcp, reuseport_and_reuseaddr, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(reuse, NULL)), 1);
}

/* ---- shutdown, end of stream ---- */

static void *half_close(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_tcp_stream *c, *s;
    if (!t_tcp_pair(l, "127.0.0.1", &c, &s))
        return T_PTR(0);
    cr_expect_eq(eddy_tcp_write_all(c, "abc", 3, NULL), 0);
    cr_expect_eq(eddy_tcp_shutdown(c, SHUT_WR), 0);
    char buf[8];
    size_t done = 99;
    /* Asking for more than was sent: the data, then -ENODATA at the end. */
    cr_expect_eq(eddy_tcp_read_exact(s, buf, 5, &done), -ENODATA);
    cr_expect_eq(done, 3);
    cr_expect(memcmp(buf, "abc", 3) == 0);
    cr_expect_eq(eddy_tcp_read(s, buf, sizeof buf), 0);
    /* The other direction still works. */
    cr_expect_eq(eddy_tcp_write(s, "xy", 2), 2);
    cr_expect_eq(eddy_tcp_read_exact(c, buf, 2, NULL), 0);
    cr_expect_eq(eddy_tcp_shutdown(c, 12345), -EINVAL);
    cr_expect_eq(eddy_tcp_read(c, buf, 0), 0);
    t_tcp_close_all(c, s, l);
    return T_PTR(1);
}

Test(tcp, shutdown_and_end_of_stream, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(half_close, NULL)), 1);
}

/* ---- deadlines ---- */

static void *deadlines(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_tcp_stream *a = NULL, *c, *s;
    cr_expect_eq(eddy_tcp_accept_until(l, &a, NULL, eddy_deadline_in(20)), -ETIMEDOUT);
    cr_expect_null(a);
    if (!t_tcp_pair(l, "127.0.0.1", &c, &s))
        return T_PTR(0);
    char buf[8];
    cr_expect_eq(eddy_tcp_read_until(c, buf, sizeof buf, eddy_deadline_in(20)), -ETIMEDOUT);
    size_t done = 99;
    cr_expect_eq(eddy_tcp_write(s, "12", 2), 2);
    cr_expect_eq(eddy_tcp_read_exact_until(c, buf, 4, &done, eddy_deadline_in(20)),
                 -ETIMEDOUT);
    cr_expect_eq(done, 2, "what was read before the deadline is reported");
    /* A deadline in the past still does what can be done at once. */
    cr_expect_eq(eddy_tcp_write(s, "3", 1), 1);
    cr_expect_eq(eddy_tcp_read_until(c, buf + 2, 1, eddy_deadline_in(5000)), 1);
    cr_expect(memcmp(buf, "123", 3) == 0);
    t_tcp_close_all(c, s, l);
    return T_PTR(1);
}

Test(tcp, read_and_accept_deadlines, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(deadlines, NULL)), 1);
}

static void *write_deadline(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_tcp_stream *c, *s;
    if (!t_tcp_pair(l, "127.0.0.1", &c, &s))
        return T_PTR(0);
    /* Nobody reads: the buffers fill and write_all times out with the
     * progress reported. */
    size_t len = 64u << 20, done = 0;
    char *big = calloc(1, len);
    int rc = eddy_tcp_write_all_until(c, big, len, &done, eddy_deadline_in(50));
    cr_expect_eq(rc, -ETIMEDOUT, "write_all_until: %s", eddy_strerror(rc));
    cr_expect(done > 0 && done < len, "done %zu", done);
    /* The receiver's buffer may still grow a little; then writes time out. */
    ssize_t w;
    int i = 0;
    do
        w = eddy_tcp_write_until(c, big, len, eddy_deadline_in(10));
    while (w > 0 && ++i < 1000);
    cr_expect_eq(w, -ETIMEDOUT, "write_until: %zd", w);
    free(big);
    t_tcp_close_all(c, s, l);
    return T_PTR(1);
}

Test(tcp, write_deadline, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(write_deadline, NULL)), 1);
}

/* A listener with backlog 1 that never accepts: once its queue is full the
 * kernel drops further SYNs, so a connect hangs until its deadline. */
static void *connect_deadline(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 1);
    uint16_t port = (uint16_t)eddy_tcp_listener_port(l);
    eddy_tcp_stream *conns[64];
    int n = 0, rc = 0;
    while (n < 64) {
        eddy_tcp_stream *c = NULL;
        rc = eddy_tcp_connect_until("127.0.0.1", port, &c, eddy_deadline_in(200));
        if (rc != 0)
            break;
        conns[n++] = c;
    }
    cr_expect_eq(rc, -ETIMEDOUT, "after %d connections: %s", n, eddy_strerror(rc));
    cr_expect(n >= 1);
    for (int i = 0; i < n; i++)
        eddy_tcp_stream_close(conns[i]);
    eddy_tcp_listener_close(l);
    return T_PTR(1);
}

Test(tcp, connect_deadline_on_a_full_backlog, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(connect_deadline, NULL)), 1);
}

static void *refused(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    uint16_t port = (uint16_t)eddy_tcp_listener_port(l);
    eddy_tcp_listener_close(l);
    eddy_tcp_stream *c = NULL;
    cr_expect_eq(eddy_tcp_connect("127.0.0.1", port, &c), -ECONNREFUSED);
    cr_expect_eq(eddy_tcp_connect("::1", port, &c), -ECONNREFUSED);
    cr_expect_null(c);
    return T_PTR(1);
}

Test(tcp, connect_refused, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(refused, NULL)), 1);
}

/* ---- abort ---- */

static atomic_long parked_rc = 1;

static void *park_in_read(void *arg)
{
    char buf[8];
    atomic_store(&parked_rc, (long)eddy_tcp_read(arg, buf, sizeof buf));
    return NULL;
}

static void *abort_read(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_tcp_stream *c, *s;
    if (!t_tcp_pair(l, "127.0.0.1", &c, &s))
        return T_PTR(0);
    eddy_task *t = eddy_spawn(park_in_read, c);
    eddy_yield();
    eddy_yield();
    eddy_abort(t);
    cr_expect_eq(eddy_join(t, NULL), -ECANCELED);
    cr_expect_eq(atomic_load(&parked_rc), -ECANCELED);
    /* The stream lost nothing: data sent now is read by the next reader. */
    cr_expect_eq(eddy_tcp_write(s, "ok", 2), 2);
    char buf[2];
    cr_expect_eq(eddy_tcp_read_exact(c, buf, 2, NULL), 0);
    cr_expect(memcmp(buf, "ok", 2) == 0);
    t_tcp_close_all(c, s, l);
    return T_PTR(1);
}

Test(tcp, abort_a_task_parked_in_read, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(abort_read, NULL)), 1);
}

static void *park_in_accept(void *arg)
{
    eddy_tcp_stream *s = NULL;
    atomic_store(&parked_rc, eddy_tcp_accept(arg, &s, NULL));
    return s;
}

static void *abort_accept(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_task *t = eddy_spawn(park_in_accept, l);
    eddy_yield();
    eddy_yield();
    eddy_abort(t);
    void *res = T_PTR(1);
    cr_expect_eq(eddy_join(t, &res), -ECANCELED);
    cr_expect_null(res);
    cr_expect_eq(atomic_load(&parked_rc), -ECANCELED);
    /* The listener still works. */
    eddy_tcp_stream *c, *s;
    if (!t_tcp_pair(l, "127.0.0.1", &c, &s))
        return T_PTR(0);
    t_tcp_close_all(c, s, l);
    return T_PTR(1);
}

Test(tcp, abort_a_task_parked_in_accept, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(abort_accept, NULL)), 1);
}

static void *already_aborted(void *arg)
{
    eddy_tcp_stream *c = arg;
    /* Wait for the abort without suspending. */
    while (!eddy_current_task_cancelled())
        if (eddy_yield() == -ECANCELED)
            break;
    char buf[4];
    long r1 = (long)eddy_tcp_read(c, buf, sizeof buf);
    long r2 = (long)eddy_tcp_write(c, "x", 1);
    eddy_tcp_stream *x = NULL;
    long r3 = eddy_tcp_connect("127.0.0.1", 1, &x);
    return T_PTR(r1 == -ECANCELED && r2 == -ECANCELED && r3 == -ECANCELED);
}

static void *aborted_calls(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_tcp_stream *c, *s;
    if (!t_tcp_pair(l, "127.0.0.1", &c, &s))
        return T_PTR(0);
    /* Data is ready, yet an aborted task's read says -ECANCELED. */
    cr_expect_eq(eddy_tcp_write(s, "data", 4), 4);
    eddy_task *t = eddy_spawn(already_aborted, c);
    eddy_yield();
    eddy_abort(t);
    void *res = NULL;
    eddy_join(t, &res);
    cr_expect_eq(T_INT(res), 1);
    char buf[4];
    cr_expect_eq(eddy_tcp_read_exact(c, buf, 4, NULL), 0, "the data is still there");
    t_tcp_close_all(c, s, l);
    return T_PTR(1);
}

Test(tcp, calls_of_an_aborted_task_return_ecanceled, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(aborted_calls, NULL)), 1);
}

static void *close_under_reader(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_tcp_stream *c, *s;
    if (!t_tcp_pair(l, "127.0.0.1", &c, &s))
        return T_PTR(0);
    eddy_task *t = eddy_spawn(park_in_read, c);
    eddy_yield();
    eddy_yield();
    eddy_tcp_stream_close(c); /* the reader is told; its memory stays valid */
    cr_expect_eq(eddy_join(t, NULL), 0);
    cr_expect_eq(atomic_load(&parked_rc), -ECANCELED);
    eddy_tcp_stream_close(s);
    eddy_tcp_listener_close(l);
    return T_PTR(1);
}

Test(tcp, close_under_a_parked_reader, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(close_under_reader, NULL)), 1);
}

/* ---- faults ---- */

static void *write_closed_peer(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_tcp_stream *c, *s;
    if (!t_tcp_pair(l, "127.0.0.1", &c, &s))
        return T_PTR(0);
    eddy_tcp_stream_close(s);
    /* The first write may still be accepted; the peer answers with a RST,
     * after which writes fail. */
    char buf[1024] = { 0 };
    ssize_t rc = 0;
    for (int i = 0; i < 1000 && rc >= 0; i++) {
        rc = eddy_tcp_write(c, buf, sizeof buf);
        if (rc >= 0)
            eddy_sleep(1);
    }
    cr_expect(rc == -EPIPE || rc == -ECONNRESET, "write to a closed peer: %zd (%s)", rc,
              eddy_strerror((int)rc));
    rc = eddy_tcp_write_all(c, buf, sizeof buf, NULL);
    cr_expect(rc == -EPIPE || rc == -ECONNRESET, "again: %zd", rc);
    eddy_tcp_stream_close(c);
    eddy_tcp_listener_close(l);
    return T_PTR(1);
}

Test(tcp, write_to_a_closed_peer_fails_without_sigpipe, .timeout = T_TIMEOUT)
{
    t_default_sigpipe();
    cr_assert_eq(T_INT(t_run_local(write_closed_peer, NULL)), 1);
}

static void *peer_reset(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_tcp_stream *c, *s;
    if (!t_tcp_pair(l, "127.0.0.1", &c, &s))
        return T_PTR(0);
    eddy_task *t = eddy_spawn(park_in_read, c);
    eddy_yield();
    /* Linger 0: close sends a RST. */
    struct linger lg = { 1, 0 };
    cr_expect_eq(setsockopt(eddy_tcp_stream_fd(s), SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
    eddy_tcp_stream_close(s);
    cr_expect_eq(eddy_join(t, NULL), 0);
    cr_expect_eq(atomic_load(&parked_rc), -ECONNRESET, "read: %ld", atomic_load(&parked_rc));
    /* After the reset: end of stream, and writes fail. */
    char b;
    cr_expect_eq(eddy_tcp_read(c, &b, 1), 0);
    ssize_t w = eddy_tcp_write(c, "x", 1);
    cr_expect(w == -EPIPE || w == -ECONNRESET, "write: %zd", w);
    eddy_tcp_stream_close(c);
    eddy_tcp_listener_close(l);
    return T_PTR(1);
}

Test(tcp, peer_reset_is_reported, .timeout = T_TIMEOUT)
{
    t_default_sigpipe();
    cr_assert_eq(T_INT(t_run_local(peer_reset, NULL)), 1);
}

struct left_over {
    eddy_tcp_listener *l;
    eddy_tcp_stream *c, *s;
};

static void *make_pair(void *arg)
{
    struct left_over *lo = arg;
    lo->l = t_listen("127.0.0.1", 0);
    if (!t_tcp_pair(lo->l, "127.0.0.1", &lo->c, &lo->s))
        return T_PTR(0);
    cr_expect_eq(eddy_tcp_write(lo->s, "kept", 4), 4);
    return T_PTR(1);
}

Test(tcp, calls_after_the_runtime_shut_down_fail_cleanly, .timeout = T_TIMEOUT)
{
    t_default_sigpipe();
    struct left_over lo = { 0 };
    cr_assert_eq(T_INT(t_run_local(make_pair, &lo)), 1);
    char buf[8];
    cr_assert_eq(eddy_tcp_read(lo.c, buf, sizeof buf), -ECANCELED);
    cr_assert_eq(eddy_tcp_read_exact(lo.c, buf, 4, NULL), -ECANCELED);
    cr_assert_eq(eddy_tcp_write(lo.c, "x", 1), -ECANCELED);
    eddy_tcp_stream *x = NULL;
    cr_assert_eq(eddy_tcp_accept(lo.l, &x, NULL), -ECANCELED);
    /* Nothing was lost: the data is still in the socket. */
    cr_assert_eq(recv(eddy_tcp_stream_fd(lo.c), buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT), 4);
    /* Non-suspending calls still work, and closing is fine from here. */
    eddy_sockaddr a;
    cr_assert_eq(eddy_tcp_peer_addr(lo.c, &a), 0);
    eddy_tcp_stream_close(lo.c);
    eddy_tcp_stream_close(lo.s);
    eddy_tcp_listener_close(lo.l);
}

static void *closed_fds(void *arg)
{
    (void)arg;
    errno = 0;
    cr_expect_null(eddy_tcp_stream_from_fd(-1));
    cr_expect_eq(errno, EBADF);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    close(fd);
    errno = 0;
    cr_expect_null(eddy_tcp_stream_from_fd(fd), "a closed fd");
    cr_expect_eq(errno, EBADF);
    int p[2];
    cr_expect_eq(pipe(p), 0);
    errno = 0;
    cr_expect_null(eddy_tcp_stream_from_fd(p[0]));
    cr_expect_eq(errno, ENOTSOCK);
    close(p[0]);
    close(p[1]);
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    errno = 0;
    cr_expect_null(eddy_tcp_stream_from_fd(u), "a UDP socket");
    cr_expect_eq(errno, EINVAL);
    close(u);

    /* Wrapping connected and listening fds from elsewhere. */
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    errno = 0;
    cr_expect_null(eddy_tcp_stream_from_fd(eddy_tcp_listener_fd(l)), "a listener");
    cr_expect_eq(errno, EINVAL);
    int raw = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = { .sin_family = AF_INET,
                               .sin_port = htons((uint16_t)eddy_tcp_listener_port(l)),
                               .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    cr_expect_eq(connect(raw, (struct sockaddr *)&sin, sizeof sin), 0);
    eddy_tcp_stream *w = eddy_tcp_stream_from_fd(raw);
    cr_expect_not_null(w);
    eddy_tcp_stream *s = NULL;
    cr_expect_eq(eddy_tcp_accept(l, &s, NULL), 0);
    cr_expect_eq(eddy_tcp_write(s, "z", 1), 1);
    char b = 0;
    cr_expect_eq(eddy_tcp_read(w, &b, 1), 1);
    cr_expect_eq(b, 'z');

    /* The fd closed behind eddy's back: a clear -EBADF. */
    close(eddy_tcp_stream_fd(w));
    cr_expect_eq(eddy_tcp_read(w, &b, 1), -EBADF);
    cr_expect_eq(eddy_tcp_write(w, &b, 1), -EBADF);
    eddy_tcp_stream_close(w);
    eddy_tcp_stream_close(s);
    eddy_tcp_listener_close(l);

    int lfd = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
    cr_expect_eq(bind(lfd, (struct sockaddr *)&s6, sizeof s6), 0);
    errno = 0;
    cr_expect_null(eddy_tcp_listener_from_fd(lfd), "not listening");
    cr_expect_eq(errno, EINVAL);
    cr_expect_eq(listen(lfd, 4), 0);
    eddy_tcp_listener *l6 = eddy_tcp_listener_from_fd(lfd);
    cr_expect_not_null(l6);
    cr_expect(eddy_tcp_listener_port(l6) > 0);
    eddy_tcp_listener_close(l6);
    return T_PTR(1);
}

Test(tcp, foreign_and_closed_fds, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(closed_fds, NULL)), 1);
}

static void *misuse(void *arg)
{
    (void)arg;
    eddy_tcp_stream *s = NULL;
    char b;
    cr_expect_eq(eddy_tcp_read(NULL, &b, 1), -EINVAL);
    cr_expect_eq(eddy_tcp_write(NULL, &b, 1), -EINVAL);
    cr_expect_eq(eddy_tcp_read_exact(NULL, &b, 1, NULL), -EINVAL);
    cr_expect_eq(eddy_tcp_write_all(NULL, &b, 1, NULL), -EINVAL);
    cr_expect_eq(eddy_tcp_accept(NULL, &s, NULL), -EINVAL);
    cr_expect_eq(eddy_tcp_connect(NULL, 1, &s), -EINVAL);
    cr_expect_eq(eddy_tcp_connect("127.0.0.1", 1, NULL), -EINVAL);
    cr_expect_eq(eddy_tcp_connect_addr(NULL, &s), -EINVAL);
    cr_expect_eq(eddy_tcp_shutdown(NULL, SHUT_WR), -EINVAL);
    cr_expect_eq(eddy_tcp_set_nodelay(NULL, true), -EINVAL);
    cr_expect_eq(eddy_tcp_local_addr(NULL, NULL), -EINVAL);
    cr_expect_eq(eddy_tcp_listener_port(NULL), -EINVAL);
    eddy_tcp_stream_close(NULL);
    eddy_tcp_listener_close(NULL);
    errno = 0;
    cr_expect_null(eddy_tcp_listen("localhost", 0, NULL), "listen takes numeric addresses");
    cr_expect_eq(errno, EINVAL);
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_tcp_stream *c, *srv;
    if (!t_tcp_pair(l, "127.0.0.1", &c, &srv))
        return T_PTR(0);
    cr_expect_eq(eddy_tcp_read(c, NULL, 1), -EINVAL);
    cr_expect_eq(eddy_tcp_accept(l, NULL, NULL), -EINVAL);
    eddy_tcp_stream_close(c);
    eddy_tcp_stream_close(srv);
    eddy_tcp_listener_close(l);
    return T_PTR(1);
}

Test(tcp, misuse, .timeout = T_TIMEOUT)
{
    errno = 0;
    cr_assert_null(eddy_tcp_listen("127.0.0.1", 0, NULL), "outside a runtime");
    cr_assert_eq(errno, EPERM);
    eddy_tcp_stream *s = NULL;
    cr_assert_eq(eddy_tcp_connect("127.0.0.1", 1, &s), -EPERM);
    cr_assert_eq(T_INT(t_run_local(misuse, NULL)), 1);
}

/* ---- a plain thread using a socket of a running runtime ---- */

static eddy_tcp_stream *shared_stream;
static atomic_int plain_done;

static void *plain_reader(void *arg)
{
    (void)arg;
    char buf[5];
    int rc = eddy_tcp_read_exact(shared_stream, buf, 5, NULL);
    atomic_store(&plain_done, 1);
    return T_PTR(rc == 0 && memcmp(buf, "plain", 5) == 0);
}

static void *serve_plain(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    eddy_tcp_stream *c, *s;
    if (!t_tcp_pair(l, "127.0.0.1", &c, &s))
        return T_PTR(0);
    shared_stream = c;
    pthread_t th = t_thread_start(plain_reader, NULL);
    eddy_sleep(5);
    cr_expect_eq(eddy_tcp_write_all(s, "plain", 5, NULL), 0);
    bool ok;
    /* Keep the runtime (and its driver) running until the thread read. */
    T_YIELD_UNTIL(ok, atomic_load(&plain_done));
    cr_expect(ok);
    void *res = NULL;
    pthread_join(th, &res);
    t_tcp_close_all(c, s, l);
    return res;
}

Test(tcp, a_plain_thread_blocks_on_a_socket, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(serve_plain, NULL)), 1);
}
