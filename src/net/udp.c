/* UDP sockets. */
#include <eddy/net.h>

#include <errno.h>

#include "net/sock.h"

eddy_udp_socket *eddy_udp_bind_addr(const eddy_sockaddr *addr)
{
    if (!addr || (addr->ss.ss_family != AF_INET && addr->ss.ss_family != AF_INET6)) {
        errno = EINVAL;
        return NULL;
    }
    return (eddy_udp_socket *)eddy__sock_open(addr->ss.ss_family, SOCK_DGRAM, addr, -1, NULL,
                                              NULL);
}

eddy_udp_socket *eddy_udp_bind(const char *host, uint16_t port)
{
    eddy_sockaddr addr;
    int rc = eddy_sockaddr_ip(&addr, host ? host : "0.0.0.0", port);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return eddy_udp_bind_addr(&addr);
}

int eddy_udp_connect_addr(eddy_udp_socket *u, const eddy_sockaddr *addr)
{
    return eddy__sock_connect_now(EDDY_SOCK(u), addr);
}

int eddy_udp_connect(eddy_udp_socket *u, const char *host, uint16_t port)
{
    if (!u || !host)
        return -EINVAL;
    eddy_sockaddr addrs[16];
    ssize_t n = eddy_resolve(host, port, addrs, 16);
    if (n < 0)
        return (int)n;
    for (ssize_t i = 0; i < n; i++)
        if (addrs[i].ss.ss_family == EDDY_SOCK(u)->family)
            return eddy_udp_connect_addr(u, &addrs[i]);
    return -EAFNOSUPPORT;
}

ssize_t eddy_udp_send_to_until(eddy_udp_socket *u, const void *buf, size_t len,
                               const eddy_sockaddr *to, eddy_instant deadline)
{
    if (!to)
        return -EINVAL;
    return eddy__sock_send(EDDY_SOCK(u), buf, len, to, false, deadline);
}

ssize_t eddy_udp_send_to(eddy_udp_socket *u, const void *buf, size_t len,
                         const eddy_sockaddr *to)
{
    return eddy_udp_send_to_until(u, buf, len, to, EDDY_INSTANT_NEVER);
}

ssize_t eddy_udp_send_until(eddy_udp_socket *u, const void *buf, size_t len,
                            eddy_instant deadline)
{
    return eddy__sock_send(EDDY_SOCK(u), buf, len, NULL, false, deadline);
}

ssize_t eddy_udp_send(eddy_udp_socket *u, const void *buf, size_t len)
{
    return eddy_udp_send_until(u, buf, len, EDDY_INSTANT_NEVER);
}

ssize_t eddy_udp_recv_from_until(eddy_udp_socket *u, void *buf, size_t len,
                                 eddy_sockaddr *from, eddy_instant deadline)
{
    return eddy__sock_recv(EDDY_SOCK(u), buf, len, from, deadline);
}

ssize_t eddy_udp_recv_from(eddy_udp_socket *u, void *buf, size_t len, eddy_sockaddr *from)
{
    return eddy_udp_recv_from_until(u, buf, len, from, EDDY_INSTANT_NEVER);
}

ssize_t eddy_udp_recv_until(eddy_udp_socket *u, void *buf, size_t len, eddy_instant deadline)
{
    return eddy__sock_recv(EDDY_SOCK(u), buf, len, NULL, deadline);
}

ssize_t eddy_udp_recv(eddy_udp_socket *u, void *buf, size_t len)
{
    return eddy_udp_recv_until(u, buf, len, EDDY_INSTANT_NEVER);
}

int eddy_udp_local_addr(const eddy_udp_socket *u, eddy_sockaddr *out)
{
    return eddy__sock_local_addr(EDDY_CSOCK(u), out);
}

int eddy_udp_peer_addr(const eddy_udp_socket *u, eddy_sockaddr *out)
{
    return eddy__sock_peer_addr(EDDY_CSOCK(u), out);
}

int eddy_udp_socket_fd(const eddy_udp_socket *u)
{
    return eddy__sock_fd(EDDY_CSOCK(u));
}

void eddy_udp_close(eddy_udp_socket *u)
{
    eddy__sock_close(EDDY_SOCK(u));
}
