/* Unix stream sockets: listener, connect, pair, read, write. */
#include <eddy/net.h>

#include <errno.h>
#include <unistd.h>

#include "net/sock.h"

eddy_unix_listener *eddy_unix_listen(const char *path, int backlog)
{
    eddy_sockaddr addr;
    int rc = eddy_sockaddr_unix(&addr, path);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return (eddy_unix_listener *)eddy__sock_open(AF_UNIX, SOCK_STREAM, &addr,
                                                 backlog > 0 ? backlog : SOMAXCONN, NULL,
                                                 NULL);
}

int eddy_unix_accept_until(eddy_unix_listener *l, eddy_unix_stream **out, eddy_sockaddr *peer,
                           eddy_instant deadline)
{
    return eddy__sock_accept(EDDY_SOCK(l), (eddy_sock **)(void *)out, peer, deadline);
}

int eddy_unix_accept(eddy_unix_listener *l, eddy_unix_stream **out, eddy_sockaddr *peer)
{
    return eddy_unix_accept_until(l, out, peer, EDDY_INSTANT_NEVER);
}

int eddy_unix_listener_local_addr(const eddy_unix_listener *l, eddy_sockaddr *out)
{
    return eddy__sock_local_addr(EDDY_CSOCK(l), out);
}

int eddy_unix_listener_fd(const eddy_unix_listener *l)
{
    return eddy__sock_fd(EDDY_CSOCK(l));
}

void eddy_unix_listener_close(eddy_unix_listener *l)
{
    eddy__sock_close(EDDY_SOCK(l));
}

int eddy_unix_connect(const char *path, eddy_unix_stream **out)
{
    if (!out)
        return -EINVAL;
    eddy_sockaddr addr;
    int rc = eddy_sockaddr_unix(&addr, path);
    if (rc < 0)
        return rc;
    return eddy__sock_connect(&addr, SOCK_STREAM, (eddy_sock **)(void *)out,
                              EDDY_INSTANT_NEVER);
}

int eddy__unix_pair(int type, eddy_sock **a, eddy_sock **b)
{
    if (!a || !b)
        return -EINVAL;
    int fds[2];
    if (socketpair(AF_UNIX, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) < 0)
        return -errno;
    eddy_sock *x = eddy__sock_adopt(NULL, fds[0], AF_UNIX, type);
    if (!x) {
        int err = errno;
        close(fds[0]);
        close(fds[1]);
        return -err;
    }
    eddy_sock *y = eddy__sock_adopt(NULL, fds[1], AF_UNIX, type);
    if (!y) {
        int err = errno;
        eddy__sock_close(x);
        close(fds[1]);
        return -err;
    }
    *a = x;
    *b = y;
    return 0;
}

int eddy_unix_pair(eddy_unix_stream **a, eddy_unix_stream **b)
{
    return eddy__unix_pair(SOCK_STREAM, (eddy_sock **)(void *)a, (eddy_sock **)(void *)b);
}

eddy_unix_stream *eddy_unix_stream_from_fd(int fd)
{
    return (eddy_unix_stream *)eddy__sock_from_fd(fd, AF_UNIX, SOCK_STREAM, false);
}

ssize_t eddy_unix_read_until(eddy_unix_stream *s, void *buf, size_t len,
                             eddy_instant deadline)
{
    return eddy__sock_recv(EDDY_SOCK(s), buf, len, NULL, deadline);
}

ssize_t eddy_unix_read(eddy_unix_stream *s, void *buf, size_t len)
{
    return eddy_unix_read_until(s, buf, len, EDDY_INSTANT_NEVER);
}

ssize_t eddy_unix_write_until(eddy_unix_stream *s, const void *buf, size_t len,
                              eddy_instant deadline)
{
    return eddy__sock_send(EDDY_SOCK(s), buf, len, NULL, false, deadline);
}

ssize_t eddy_unix_write(eddy_unix_stream *s, const void *buf, size_t len)
{
    return eddy_unix_write_until(s, buf, len, EDDY_INSTANT_NEVER);
}

int eddy_unix_read_exact_until(eddy_unix_stream *s, void *buf, size_t len, size_t *done,
                               eddy_instant deadline)
{
    return eddy__sock_read_exact(EDDY_SOCK(s), buf, len, done, deadline);
}

int eddy_unix_read_exact(eddy_unix_stream *s, void *buf, size_t len, size_t *done)
{
    return eddy_unix_read_exact_until(s, buf, len, done, EDDY_INSTANT_NEVER);
}

int eddy_unix_write_all_until(eddy_unix_stream *s, const void *buf, size_t len, size_t *done,
                              eddy_instant deadline)
{
    return eddy__sock_write_all(EDDY_SOCK(s), buf, len, done, deadline);
}

int eddy_unix_write_all(eddy_unix_stream *s, const void *buf, size_t len, size_t *done)
{
    return eddy_unix_write_all_until(s, buf, len, done, EDDY_INSTANT_NEVER);
}

int eddy_unix_shutdown(eddy_unix_stream *s, int how)
{
    return eddy__sock_shutdown(EDDY_SOCK(s), how);
}

int eddy_unix_local_addr(const eddy_unix_stream *s, eddy_sockaddr *out)
{
    return eddy__sock_local_addr(EDDY_CSOCK(s), out);
}

int eddy_unix_peer_addr(const eddy_unix_stream *s, eddy_sockaddr *out)
{
    return eddy__sock_peer_addr(EDDY_CSOCK(s), out);
}

int eddy_unix_stream_fd(const eddy_unix_stream *s)
{
    return eddy__sock_fd(EDDY_CSOCK(s));
}

void eddy_unix_stream_close(eddy_unix_stream *s)
{
    eddy__sock_close(EDDY_SOCK(s));
}
