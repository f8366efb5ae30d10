/* An accept loop survives running out of descriptors: accept returns
 * -EMFILE (no busy loop inside eddy), the connection stays queued, and once
 * descriptors are free the next accept takes it, although no new readiness
 * event arrives for it (edge-triggered epoll). Criterion runs the test in
 * its own process, so lowering RLIMIT_NOFILE here touches nothing else. */
#include "test_net_util.h"

#include <fcntl.h>
#include <sys/resource.h>

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

#define MAX_FILL 1024

static atomic_int emfiles;
static atomic_int accept_rc = 1;

static void *accept_loop(void *arg)
{
    eddy_tcp_listener *l = arg;
    for (;;) {
        eddy_tcp_stream *s = NULL;
        int rc = eddy_tcp_accept(l, &s, NULL);
        if (rc == -EMFILE || rc == -ENFILE) {
            atomic_fetch_add(&emfiles, 1);
            if (eddy_sleep(5) != 0) /* back off, then try again */
                return NULL;
            continue;
        }
        atomic_store(&accept_rc, rc);
        return s;
    }
}

static void *root(void *arg)
{
    (void)arg;
    eddy_tcp_listener *l = t_listen("127.0.0.1", 0);
    if (!l)
        return T_PTR(0);
    /* The accept loop parks first, waiting for readiness. */
    eddy_task *acc = eddy_spawn(accept_loop, l);
    eddy_yield();
    eddy_yield();

    /* Fill the descriptor table, then free exactly one for the client. */
    static int fill[MAX_FILL];
    int n = 0;
    while (n < MAX_FILL) {
        int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            cr_expect(errno == EMFILE, "filling: %s", strerror(errno));
            break;
        }
        fill[n++] = fd;
    }
    cr_expect(n > 0 && n < MAX_FILL, "filled %d", n);
    close(fill[--n]);
    eddy_tcp_stream *c = NULL;
    int rc = eddy_tcp_connect("127.0.0.1", (uint16_t)eddy_tcp_listener_port(l), &c);
    cr_expect_eq(rc, 0, "connect: %s", eddy_strerror(rc));

    /* The accept loop is woken, gets -EMFILE and backs off, repeatedly
     * (under valgrind only once: see below). */
    int want = RUNNING_ON_VALGRIND ? 1 : 3;
    while (atomic_load(&emfiles) < want && eddy_sleep(1) == 0) {
    }
    cr_expect_geq(atomic_load(&emfiles), want);
    cr_expect_eq(atomic_load(&accept_rc), 1, "no connection accepted yet");

    /* Free some descriptors: the next accept takes the queued connection,
     * although no new readiness event comes for it. */
    for (int i = 0; i < 4 && n > 0; i++)
        close(fill[--n]);
    eddy_tcp_stream *c3 = NULL;
    if (RUNNING_ON_VALGRIND) {
        /* valgrind emulates RLIMIT_NOFILE by closing the descriptor the
         * kernel already accepted: the queued connection is gone there,
         * so a new one has to get through instead. */
        cr_expect_eq(eddy_tcp_connect("127.0.0.1", (uint16_t)eddy_tcp_listener_port(l), &c3),
                     0);
    }
    eddy_tcp_stream *s = NULL;
    cr_expect_eq(eddy_join(acc, (void **)&s), 0);
    cr_expect_eq(atomic_load(&accept_rc), 0);
    cr_expect_not_null(s);
    if (c3) {
        eddy_tcp_stream_close(c);
        c = c3;
    }
    /* It is the connection that was queued during the EMFILE (natively). */
    eddy_sockaddr peer, mine;
    if (s && c && eddy_tcp_peer_addr(s, &peer) == 0 && eddy_tcp_local_addr(c, &mine) == 0)
        cr_expect_eq(eddy_sockaddr_port(&peer), eddy_sockaddr_port(&mine));

    /* The connection works, and the listener accepts again. */
    if (s && c) {
        cr_expect_eq(eddy_tcp_write(c, "ping", 4), 4);
        char buf[4];
        cr_expect_eq(eddy_tcp_read_exact(s, buf, 4, NULL), 0);
        cr_expect(memcmp(buf, "ping", 4) == 0);
    }
    eddy_tcp_stream *c2 = NULL, *s2 = NULL;
    cr_expect_eq(eddy_tcp_connect("127.0.0.1", (uint16_t)eddy_tcp_listener_port(l), &c2), 0);
    cr_expect_eq(eddy_tcp_accept_until(l, &s2, NULL, eddy_deadline_in(10000)), 0);
    eddy_tcp_stream_close(c2);
    eddy_tcp_stream_close(s2);
    eddy_tcp_stream_close(s);
    eddy_tcp_stream_close(c);
    eddy_tcp_listener_close(l);
    while (n > 0)
        close(fill[--n]);
    return T_PTR(1);
}

Test(tcp_emfile, accept_loop_survives_emfile, .timeout = T_TIMEOUT)
{
    t_default_sigpipe();
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    rl.rlim_cur = 128;
    cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    cr_assert_eq(T_INT(t_run_local(root, NULL)), 1);
}
