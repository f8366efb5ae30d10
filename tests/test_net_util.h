/* Helpers shared by the socket tests (header-only). Loopback only: every
 * test binds 127.0.0.1, ::1, or Unix sockets in a fresh temporary
 * directory. */
#ifndef EDDY_TEST_NET_UTIL_H
#define EDDY_TEST_NET_UTIL_H

#include "util.h"

#include <signal.h>
#include <sys/stat.h>

/* A listener on 127.0.0.1 (or ::1) with an ephemeral port. */
static inline eddy_tcp_listener *t_listen(const char *ip, int backlog)
{
    eddy_tcp_listen_opts o = { .backlog = backlog };
    eddy_tcp_listener *l = eddy_tcp_listen(ip, 0, &o);
    cr_expect_not_null(l, "eddy_tcp_listen(%s): %s", ip, strerror(errno));
    return l;
}

/* A connected pair through listener l: connect, then accept. */
static inline bool t_tcp_pair(eddy_tcp_listener *l, const char *ip, eddy_tcp_stream **client,
                              eddy_tcp_stream **server)
{
    int port = eddy_tcp_listener_port(l);
    int rc = eddy_tcp_connect(ip, (uint16_t)port, client);
    cr_expect_eq(rc, 0, "connect %s:%d: %s", ip, port, eddy_strerror(rc));
    if (rc != 0)
        return false;
    rc = eddy_tcp_accept(l, server, NULL);
    cr_expect_eq(rc, 0, "accept: %s", eddy_strerror(rc));
    if (rc != 0) {
        eddy_tcp_stream_close(*client);
        return false;
    }
    return true;
}

/* Closes a pair from t_tcp_pair and its listener. */
static inline void t_tcp_close_all(eddy_tcp_stream *client, eddy_tcp_stream *server,
                                   eddy_tcp_listener *l)
{
    eddy_tcp_stream_close(client);
    eddy_tcp_stream_close(server);
    eddy_tcp_listener_close(l);
}

/* A fresh temporary directory (removed by t_rmdir_tree). */
static inline void t_tmpdir(char *out, size_t size)
{
    snprintf(out, size, "/tmp/eddy-test-XXXXXX");
    cr_assert_not_null(mkdtemp(out), "mkdtemp: %s", strerror(errno));
}

/* Fills buf with a pattern that depends on the position and a seed. */
static inline void t_pattern(unsigned char *buf, size_t len, unsigned seed)
{
    uint32_t x = seed * 2654435761u + 1;
    for (size_t i = 0; i < len; i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (unsigned char)(x >> 16);
    }
}

/* SIGPIPE back to its default action (terminate), so that a test proves
 * eddy never raises it. */
static inline void t_default_sigpipe(void)
{
    signal(SIGPIPE, SIG_DFL);
}

#endif /* EDDY_TEST_NET_UTIL_H */
