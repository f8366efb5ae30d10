/* Unix datagram sockets. */
#include <eddy/net.h>

#include <errno.h>

#include "net/sock.h"

eddy_unix_datagram *eddy_unix_datagram_bind(const char *path)
{
    eddy_sockaddr addr;
    if (path) {
        int rc = eddy_sockaddr_unix(&addr, path);
        if (rc < 0) {
            errno = -rc;
            return NULL;
        }
    }
    return (eddy_unix_datagram *)eddy__sock_open(AF_UNIX, SOCK_DGRAM, path ? &addr : NULL, -1,
                                                 NULL, NULL);
}

int eddy_unix_datagram_pair(eddy_unix_datagram **a, eddy_unix_datagram **b)
{
    return eddy__unix_pair(SOCK_DGRAM, (eddy_sock **)(void *)a, (eddy_sock **)(void *)b);
}

int eddy_unix_datagram_connect(eddy_unix_datagram *d, const char *path)
{
    if (!d)
        return -EINVAL;
    eddy_sockaddr addr;
    int rc = eddy_sockaddr_unix(&addr, path);
    return rc < 0 ? rc : eddy__sock_connect_now(EDDY_SOCK(d), &addr);
}

ssize_t eddy_unix_datagram_send_to_until(eddy_unix_datagram *d, const void *buf, size_t len,
                                         const char *path, eddy_instant deadline)
{
    if (!d)
        return -EINVAL;
    eddy_sockaddr addr;
    int rc = eddy_sockaddr_unix(&addr, path);
    if (rc < 0)
        return rc;
    /* No readiness is reported for an unconnected destination's queue:
     * -EAGAIN instead of a wait that might never end. */
    return eddy__sock_send(EDDY_SOCK(d), buf, len, &addr, true, deadline);
}

ssize_t eddy_unix_datagram_send_to(eddy_unix_datagram *d, const void *buf, size_t len,
                                   const char *path)
{
    return eddy_unix_datagram_send_to_until(d, buf, len, path, EDDY_INSTANT_NEVER);
}

ssize_t eddy_unix_datagram_send_until(eddy_unix_datagram *d, const void *buf, size_t len,
                                      eddy_instant deadline)
{
    return eddy__sock_send(EDDY_SOCK(d), buf, len, NULL, false, deadline);
}

ssize_t eddy_unix_datagram_send(eddy_unix_datagram *d, const void *buf, size_t len)
{
    return eddy_unix_datagram_send_until(d, buf, len, EDDY_INSTANT_NEVER);
}

ssize_t eddy_unix_datagram_recv_from_until(eddy_unix_datagram *d, void *buf, size_t len,
                                           eddy_sockaddr *from, eddy_instant deadline)
{
    return eddy__sock_recv(EDDY_SOCK(d), buf, len, from, deadline);
}

ssize_t eddy_unix_datagram_recv_from(eddy_unix_datagram *d, void *buf, size_t len,
                                     eddy_sockaddr *from)
{
    return eddy_unix_datagram_recv_from_until(d, buf, len, from, EDDY_INSTANT_NEVER);
}

ssize_t eddy_unix_datagram_recv_until(eddy_unix_datagram *d, void *buf, size_t len,
                                      eddy_instant deadline)
{
    return eddy__sock_recv(EDDY_SOCK(d), buf, len, NULL, deadline);
}

ssize_t eddy_unix_datagram_recv(eddy_unix_datagram *d, void *buf, size_t len)
{
    return eddy_unix_datagram_recv_until(d, buf, len, EDDY_INSTANT_NEVER);
}

int eddy_unix_datagram_local_addr(const eddy_unix_datagram *d, eddy_sockaddr *out)
{
    return eddy__sock_local_addr(EDDY_CSOCK(d), out);
}

int eddy_unix_datagram_peer_addr(const eddy_unix_datagram *d, eddy_sockaddr *out)
{
    return eddy__sock_peer_addr(EDDY_CSOCK(d), out);
}

int eddy_unix_datagram_fd(const eddy_unix_datagram *d)
{
    return eddy__sock_fd(EDDY_CSOCK(d));
}

void eddy_unix_datagram_close(eddy_unix_datagram *d)
{
    eddy__sock_close(EDDY_SOCK(d));
}
