/* TCP streams: connect, read, write, options. */
#include <eddy/net.h>

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "net/sock.h"

/* Addresses tried per connect by name. */
#define CONNECT_MAX_ADDRS 16

int eddy_tcp_connect_addr_until(const eddy_sockaddr *addr, eddy_tcp_stream **out,
                                eddy_instant deadline)
{
    if (addr && addr->ss.ss_family != AF_INET && addr->ss.ss_family != AF_INET6)
        return -EAFNOSUPPORT;
    return eddy__sock_connect(addr, SOCK_STREAM, (eddy_sock **)(void *)out, deadline);
}

int eddy_tcp_connect_addr(const eddy_sockaddr *addr, eddy_tcp_stream **out)
{
    return eddy_tcp_connect_addr_until(addr, out, EDDY_INSTANT_NEVER);
}

int eddy_tcp_connect_until(const char *host, uint16_t port, eddy_tcp_stream **out,
                           eddy_instant deadline)
{
    if (!host || !out)
        return -EINVAL;
    eddy_sockaddr addrs[CONNECT_MAX_ADDRS];
    ssize_t n = eddy_resolve_until(host, port, addrs, CONNECT_MAX_ADDRS, deadline);
    if (n < 0)
        return (int)n;
    int rc = -ECONNREFUSED;
    for (ssize_t i = 0; i < n; i++) {
        rc = eddy_tcp_connect_addr_until(&addrs[i], out, deadline);
        if (rc == 0 || rc == -ECANCELED || rc == -EPERM || rc == -EMFILE ||
            rc == -ENFILE || rc == -ENOMEM)
            break;
        if (deadline != EDDY_INSTANT_NEVER && eddy_now() >= deadline)
            break;
    }
    return rc;
}

int eddy_tcp_connect(const char *host, uint16_t port, eddy_tcp_stream **out)
{
    return eddy_tcp_connect_until(host, port, out, EDDY_INSTANT_NEVER);
}

eddy_tcp_stream *eddy_tcp_stream_from_fd(int fd)
{
    return (eddy_tcp_stream *)eddy__sock_from_fd(fd, AF_INET, SOCK_STREAM, false);
}

ssize_t eddy_tcp_read_until(eddy_tcp_stream *s, void *buf, size_t len, eddy_instant deadline)
{
    return eddy__sock_recv(EDDY_SOCK(s), buf, len, NULL, deadline);
}

ssize_t eddy_tcp_read(eddy_tcp_stream *s, void *buf, size_t len)
{
    return eddy_tcp_read_until(s, buf, len, EDDY_INSTANT_NEVER);
}

ssize_t eddy_tcp_write_until(eddy_tcp_stream *s, const void *buf, size_t len,
                             eddy_instant deadline)
{
    return eddy__sock_send(EDDY_SOCK(s), buf, len, NULL, false, deadline);
}

ssize_t eddy_tcp_write(eddy_tcp_stream *s, const void *buf, size_t len)
{
    return eddy_tcp_write_until(s, buf, len, EDDY_INSTANT_NEVER);
}

int eddy_tcp_read_exact_until(eddy_tcp_stream *s, void *buf, size_t len, size_t *done,
                              eddy_instant deadline)
{
    return eddy__sock_read_exact(EDDY_SOCK(s), buf, len, done, deadline);
}

int eddy_tcp_read_exact(eddy_tcp_stream *s, void *buf, size_t len, size_t *done)
{
    return eddy_tcp_read_exact_until(s, buf, len, done, EDDY_INSTANT_NEVER);
}

int eddy_tcp_write_all_until(eddy_tcp_stream *s, const void *buf, size_t len, size_t *done,
                             eddy_instant deadline)
{
    return eddy__sock_write_all(EDDY_SOCK(s), buf, len, done, deadline);
}

int eddy_tcp_write_all(eddy_tcp_stream *s, const void *buf, size_t len, size_t *done)
{
    return eddy_tcp_write_all_until(s, buf, len, done, EDDY_INSTANT_NEVER);
}

int eddy_tcp_shutdown(eddy_tcp_stream *s, int how)
{
    return eddy__sock_shutdown(EDDY_SOCK(s), how);
}

int eddy_tcp_local_addr(const eddy_tcp_stream *s, eddy_sockaddr *out)
{
    return eddy__sock_local_addr(EDDY_CSOCK(s), out);
}

int eddy_tcp_peer_addr(const eddy_tcp_stream *s, eddy_sockaddr *out)
{
    return eddy__sock_peer_addr(EDDY_CSOCK(s), out);
}

int eddy_tcp_set_nodelay(eddy_tcp_stream *s, bool on)
{
    return eddy__sock_set_int(EDDY_SOCK(s), IPPROTO_TCP, TCP_NODELAY, on);
}

int eddy_tcp_nodelay(const eddy_tcp_stream *s)
{
    int v = eddy__sock_get_int(EDDY_CSOCK(s), IPPROTO_TCP, TCP_NODELAY);
    return v < 0 ? v : v != 0;
}

int eddy_tcp_set_keepalive(eddy_tcp_stream *s, bool on, unsigned idle_secs)
{
    int rc = eddy__sock_set_int(EDDY_SOCK(s), SOL_SOCKET, SO_KEEPALIVE, on);
    if (rc == 0 && on && idle_secs > 0)
        rc = eddy__sock_set_int(EDDY_SOCK(s), IPPROTO_TCP, TCP_KEEPIDLE,
                                idle_secs > 32767 ? 32767 : (int)idle_secs);
    return rc;
}

int eddy_tcp_keepalive(const eddy_tcp_stream *s)
{
    int v = eddy__sock_get_int(EDDY_CSOCK(s), SOL_SOCKET, SO_KEEPALIVE);
    return v < 0 ? v : v != 0;
}

int eddy_tcp_stream_fd(const eddy_tcp_stream *s)
{
    return eddy__sock_fd(EDDY_CSOCK(s));
}

void eddy_tcp_stream_close(eddy_tcp_stream *s)
{
    eddy__sock_close(EDDY_SOCK(s));
}
