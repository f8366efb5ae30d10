/* Helpers for the tests that run eddy out of a resource (memory in
 * test_alloc_failure.c, file descriptors in test_fd_limit.c): counting
 * what the process holds open, and a round of socket work that needs
 * memory and descriptors both. Header-only, like util.h. */
#ifndef EDDY_TEST_RESOURCE_UTIL_H
#define EDDY_TEST_RESOURCE_UTIL_H

#include "util.h"

#include <dirent.h>

/* The process's open file descriptors (a failed call must close its own). */
static inline int t_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    cr_assert_not_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* From a task: a TCP connection over loopback with a byte each way, a UDP
 * socket, and a Unix socket pair with a byte each way; sockets, the
 * driver's registrations and their wakers. 0, or the first error (every
 * socket made is closed either way). */
static inline int t_sockets_roundtrip(void)
{
    eddy_tcp_listener *l = eddy_tcp_listen("127.0.0.1", 0, NULL);
    if (!l)
        return -errno;
    eddy_sockaddr addr;
    eddy_tcp_stream *c = NULL, *a = NULL;
    int rc = eddy_tcp_listener_local_addr(l, &addr);
    if (rc == 0)
        rc = eddy_tcp_connect_addr(&addr, &c);
    if (rc == 0)
        rc = eddy_tcp_accept(l, &a, NULL);
    char b = 'x';
    if (rc == 0 && (rc = eddy_tcp_write_all(c, &b, 1, NULL)) == 0)
        rc = eddy_tcp_read_exact(a, &b, 1, NULL);
    eddy_tcp_stream_close(a);
    eddy_tcp_stream_close(c);
    eddy_tcp_listener_close(l);
    if (rc < 0)
        return rc;

    eddy_udp_socket *u = eddy_udp_bind("127.0.0.1", 0);
    if (!u)
        return -errno;
    eddy_udp_close(u);

    eddy_unix_stream *x, *y;
    if ((rc = eddy_unix_pair(&x, &y)) < 0)
        return rc;
    if ((rc = eddy_unix_write_all(x, &b, 1, NULL)) == 0)
        rc = eddy_unix_read_exact(y, &b, 1, NULL);
    eddy_unix_stream_close(x);
    eddy_unix_stream_close(y);
    return rc;
}

#endif /* EDDY_TEST_RESOURCE_UTIL_H */
