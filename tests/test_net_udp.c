/* UDP: bind, connect, send_to, recv_from, send, recv; IPv4 and IPv6;
 * deadlines, abort, ICMP errors. Loopback only. */
#include "test_net_util.h"

static eddy_udp_socket *bind_lo(const char *ip)
{
    eddy_udp_socket *u = eddy_udp_bind(ip, 0);
    cr_expect_not_null(u, "eddy_udp_bind(%s): %s", ip, strerror(errno));
    return u;
}

static void *round_trip(void *arg)
{
    const char *ip = arg;
    eddy_udp_socket *a = bind_lo(ip), *b = bind_lo(ip);
    if (!a || !b)
        return T_PTR(0);
    eddy_sockaddr aa, ba, from;
    cr_expect_eq(eddy_udp_local_addr(a, &aa), 0);
    cr_expect_eq(eddy_udp_local_addr(b, &ba), 0);
    cr_expect_eq(eddy_udp_send_to(a, "hello", 5, &ba), 5);
    char buf[16];
    cr_expect_eq(eddy_udp_recv_from(b, buf, sizeof buf, &from), 5);
    cr_expect(memcmp(buf, "hello", 5) == 0);
    cr_expect_eq(from.len, aa.len);
    cr_expect(memcmp(&from.ss, &aa.ss, aa.len) == 0, "the sender is a");
    /* Reply to whoever sent it. */
    cr_expect_eq(eddy_udp_send_to(b, "world", 5, &from), 5);
    cr_expect_eq(eddy_udp_recv_from(a, buf, sizeof buf, NULL), 5);
    cr_expect(memcmp(buf, "world", 5) == 0);
    eddy_udp_close(a);
    eddy_udp_close(b);
    return T_PTR(1);
}

Test(udp, round_trip_ipv4, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(round_trip, "127.0.0.1")), 1);
}

Test(udp, round_trip_ipv6, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(round_trip, "::1")), 1);
}

/* A receiver task waits for datagrams another task sends. */
static void *receiver(void *arg)
{
    eddy_udp_socket *u = arg;
    int sum = 0;
    for (int i = 0; i < 10; i++) {
        char b = 0;
        ssize_t n = eddy_udp_recv(u, &b, 1);
        cr_expect_eq(n, 1);
        sum += b;
    }
    return T_PTR(sum);
}

static void *connected(void *arg)
{
    (void)arg;
    eddy_udp_socket *a = bind_lo("127.0.0.1"), *b = bind_lo("127.0.0.1");
    eddy_sockaddr aa, ba, peer;
    eddy_udp_local_addr(a, &aa);
    eddy_udp_local_addr(b, &ba);
    cr_expect_eq(eddy_udp_peer_addr(a, &peer), -ENOTCONN);
    cr_expect_eq(eddy_udp_connect_addr(a, &ba), 0);
    /* connect by name: "localhost" may also give ::1; the IPv4 one is used. */
    cr_expect_eq(eddy_udp_connect(b, "localhost", (uint16_t)eddy_sockaddr_port(&aa)), 0);
    cr_expect_eq(eddy_udp_peer_addr(a, &peer), 0);
    cr_expect_eq(eddy_sockaddr_port(&peer), eddy_sockaddr_port(&ba));

    eddy_task *r = eddy_spawn(receiver, b);
    for (int i = 1; i <= 10; i++) {
        char c = (char)i;
        cr_expect_eq(eddy_udp_send(a, &c, 1), 1);
        eddy_yield();
    }
    void *sum = NULL;
    cr_expect_eq(eddy_join(r, &sum), 0);
    cr_expect_eq(T_INT(sum), 55);
    cr_expect_eq(eddy_udp_send(b, "back", 4), 4);
    char buf[8];
    cr_expect_eq(eddy_udp_recv_until(a, buf, sizeof buf, eddy_deadline_in(5000)), 4);
    eddy_udp_close(a);
    eddy_udp_close(b);
    return T_PTR(1);
}

Test(udp, connect_send_recv, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(connected, NULL)), 1);
}

static void *datagrams(void *arg)
{
    (void)arg;
    eddy_udp_socket *a = bind_lo("127.0.0.1"), *b = bind_lo("127.0.0.1");
    eddy_sockaddr ba;
    eddy_udp_local_addr(b, &ba);
    /* Truncation: the rest of the datagram is discarded. */
    char big[100];
    memset(big, 'x', sizeof big);
    cr_expect_eq(eddy_udp_send_to(a, big, sizeof big, &ba), 100);
    char small[10];
    cr_expect_eq(eddy_udp_recv(b, small, sizeof small), 10);
    /* Empty datagrams are datagrams. */
    cr_expect_eq(eddy_udp_send_to(a, "", 0, &ba), 0);
    cr_expect_eq(eddy_udp_recv_until(b, small, sizeof small, eddy_deadline_in(5000)), 0);
    /* Nothing left: the deadline. */
    cr_expect_eq(eddy_udp_recv_until(b, small, sizeof small, eddy_deadline_in(20)), -ETIMEDOUT);
    cr_expect_eq(eddy_udp_recv_from_until(b, small, sizeof small, NULL, eddy_deadline_in(5)),
                 -ETIMEDOUT);
    /* Too large for UDP. */
    size_t huge = 70000;
    char *h = calloc(1, huge);
    cr_expect_eq(eddy_udp_send_to(a, h, huge, &ba), -EMSGSIZE);
    free(h);
    /* Send with no peer. */
    cr_expect_eq(eddy_udp_send(a, "x", 1), -EDESTADDRREQ);
    cr_expect_eq(eddy_udp_send_to_until(a, "x", 1, &ba, eddy_deadline_in(1000)), 1);
    eddy_udp_close(a);
    eddy_udp_close(b);
    return T_PTR(1);
}

Test(udp, truncation_empty_datagrams_deadlines, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(datagrams, NULL)), 1);
}

/* An ICMP "port unreachable" is reported once to a connected socket; the
 * socket then works on, and waits really wait again (no spinning on an
 * error that was already reported). */
static void *recv_long(void *arg)
{
    char b;
    return T_PTR(eddy_udp_recv_until(arg, &b, 1, eddy_deadline_in(5000)));
}

static void *icmp_error(void *arg)
{
    (void)arg;
    eddy_udp_socket *gone = bind_lo("127.0.0.1"), *u = bind_lo("127.0.0.1");
    eddy_sockaddr ga;
    eddy_udp_local_addr(gone, &ga);
    eddy_udp_close(gone);
    cr_expect_eq(eddy_udp_connect_addr(u, &ga), 0);
    char b;
    /* Once with nobody waiting (the error is taken straight from the
     * socket), once with a receiver parked when the error arrives (the
     * driver sees it as an event). */
    cr_expect_eq(eddy_udp_send(u, "x", 1), 1);
    ssize_t rc = eddy_udp_recv_until(u, &b, 1, eddy_deadline_in(5000));
    cr_expect_eq(rc, -ECONNREFUSED, "recv: %zd", rc);
    cr_expect_eq(eddy_udp_recv_until(u, &b, 1, eddy_deadline_in(30)), -ETIMEDOUT);
    eddy_task *t = eddy_spawn(recv_long, u);
    eddy_yield();
    eddy_yield();
    cr_expect_eq(eddy_udp_send(u, "x", 1), 1);
    void *res = NULL;
    cr_expect_eq(eddy_join(t, &res), 0);
    cr_expect_eq((long)(intptr_t)res, -ECONNREFUSED, "parked recv: %ld", (long)(intptr_t)res);
    cr_expect_eq(eddy_udp_recv_until(u, &b, 1, eddy_deadline_in(30)), -ETIMEDOUT);
    /* Still usable: a new peer on a fresh port. */
    eddy_udp_socket *peer = bind_lo("127.0.0.1");
    eddy_sockaddr pa, ua;
    eddy_udp_local_addr(peer, &pa);
    eddy_udp_local_addr(u, &ua);
    cr_expect_eq(eddy_udp_connect_addr(u, &pa), 0);
    cr_expect_eq(eddy_udp_send_to(peer, "y", 1, &ua), 1);
    cr_expect_eq(eddy_udp_recv_until(u, &b, 1, eddy_deadline_in(5000)), 1);
    cr_expect_eq(b, 'y');
    eddy_udp_close(peer);
    eddy_udp_close(u);
    return T_PTR(1);
}

Test(udp, icmp_error_is_reported_once, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(icmp_error, NULL)), 1);
}

static atomic_long parked_rc = 1;

static void *park_in_recv(void *arg)
{
    char b;
    atomic_store(&parked_rc, (long)eddy_udp_recv_from(arg, &b, 1, NULL));
    return NULL;
}

static void *abort_recv(void *arg)
{
    (void)arg;
    eddy_udp_socket *u = bind_lo("127.0.0.1");
    eddy_task *t = eddy_spawn(park_in_recv, u);
    eddy_yield();
    eddy_yield();
    eddy_abort(t);
    cr_expect_eq(eddy_join(t, NULL), -ECANCELED);
    cr_expect_eq(atomic_load(&parked_rc), -ECANCELED);
    eddy_udp_close(u);
    return T_PTR(1);
}

Test(udp, abort_a_task_parked_in_recv, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(abort_recv, NULL)), 1);
}

static void *make_socket(void *arg)
{
    eddy_udp_socket **out = arg;
    *out = bind_lo("127.0.0.1");
    return T_PTR(*out != NULL);
}

Test(udp, calls_after_the_runtime_shut_down_fail_cleanly, .timeout = T_TIMEOUT)
{
    eddy_udp_socket *u = NULL;
    cr_assert_eq(T_INT(t_run_local(make_socket, &u)), 1);
    char b;
    eddy_sockaddr a;
    cr_assert_eq(eddy_udp_local_addr(u, &a), 0);
    cr_assert_eq(eddy_udp_recv(u, &b, 1), -ECANCELED);
    cr_assert_eq(eddy_udp_send_to(u, "x", 1, &a), -ECANCELED);
    eddy_udp_close(u);
}

static void *misuse(void *arg)
{
    (void)arg;
    char b;
    eddy_sockaddr a;
    eddy_sockaddr_ip(&a, "127.0.0.1", 9);
    cr_expect_eq(eddy_udp_send_to(NULL, "x", 1, &a), -EINVAL);
    cr_expect_eq(eddy_udp_recv(NULL, &b, 1), -EINVAL);
    cr_expect_eq(eddy_udp_connect(NULL, "127.0.0.1", 9), -EINVAL);
    cr_expect_eq(eddy_udp_connect_addr(NULL, &a), -EINVAL);
    eddy_udp_socket *u = bind_lo("127.0.0.1");
    cr_expect_eq(eddy_udp_send_to(u, "x", 1, NULL), -EINVAL);
    cr_expect_eq(eddy_udp_recv(u, NULL, 1), -EINVAL);
    cr_expect_eq(eddy_udp_connect(u, "::1", 9), -EAFNOSUPPORT, "an IPv6 peer for IPv4");
    cr_expect(eddy_udp_socket_fd(u) >= 0);
    cr_expect_eq(eddy_udp_socket_fd(NULL), -1);
    errno = 0;
    cr_expect_null(eddy_udp_bind("not-an-ip", 0));
    cr_expect_eq(errno, EINVAL);
    eddy_udp_socket *dup = eddy_udp_bind_addr(NULL);
    cr_expect_null(dup);
    eddy_sockaddr ua;
    eddy_udp_local_addr(u, &ua);
    errno = 0;
    cr_expect_null(eddy_udp_bind_addr(&ua), "port in use");
    cr_expect_eq(errno, EADDRINUSE);
    eddy_udp_close(u);
    eddy_udp_close(NULL);
    return T_PTR(1);
}

Test(udp, misuse, .timeout = T_TIMEOUT)
{
    errno = 0;
    cr_assert_null(eddy_udp_bind("127.0.0.1", 0), "outside a runtime");
    cr_assert_eq(errno, EPERM);
    cr_assert_eq(T_INT(t_run_local(misuse, NULL)), 1);
}
