/* TCP listeners: listen, accept, addresses. */
#include <eddy/net.h>

#include <errno.h>
#include <netinet/in.h>

#include "net/sock.h"

typedef struct listen_setup {
    const eddy_tcp_listen_opts *opts;
    int family;
} listen_setup;

static int set_flag(int fd, int level, int name, int value)
{
    return setsockopt(fd, level, name, &value, sizeof value) < 0 ? -errno : 0;
}

static int setup(int fd, const void *ctx)
{
    const listen_setup *ls = ctx;
    int rc = 0;
    if (!ls->opts->no_reuseaddr)
        rc = set_flag(fd, SOL_SOCKET, SO_REUSEADDR, 1);
    if (rc == 0 && ls->opts->reuseport)
        rc = set_flag(fd, SOL_SOCKET, SO_REUSEPORT, 1);
    if (rc == 0 && ls->family == AF_INET6)
        rc = set_flag(fd, IPPROTO_IPV6, IPV6_V6ONLY, ls->opts->v6only ? 1 : 0);
    return rc;
}

eddy_tcp_listener *eddy_tcp_listen_addr(const eddy_sockaddr *addr,
                                        const eddy_tcp_listen_opts *opts)
{
    if (!addr || (addr->ss.ss_family != AF_INET && addr->ss.ss_family != AF_INET6)) {
        errno = EINVAL;
        return NULL;
    }
    static const eddy_tcp_listen_opts defaults;
    listen_setup ls = { opts ? opts : &defaults, addr->ss.ss_family };
    int backlog = ls.opts->backlog > 0 ? ls.opts->backlog : SOMAXCONN;
    return (eddy_tcp_listener *)eddy__sock_open(ls.family, SOCK_STREAM, addr, backlog, setup,
                                                &ls);
}

eddy_tcp_listener *eddy_tcp_listen(const char *host, uint16_t port,
                                   const eddy_tcp_listen_opts *opts)
{
    eddy_sockaddr addr;
    int rc = eddy_sockaddr_ip(&addr, host ? host : "0.0.0.0", port);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return eddy_tcp_listen_addr(&addr, opts);
}

eddy_tcp_listener *eddy_tcp_listener_from_fd(int fd)
{
    return (eddy_tcp_listener *)eddy__sock_from_fd(fd, AF_INET, SOCK_STREAM, true);
}

int eddy_tcp_accept_until(eddy_tcp_listener *l, eddy_tcp_stream **out, eddy_sockaddr *peer,
                          eddy_instant deadline)
{
    return eddy__sock_accept(EDDY_SOCK(l), (eddy_sock **)(void *)out, peer, deadline);
}

int eddy_tcp_accept(eddy_tcp_listener *l, eddy_tcp_stream **out, eddy_sockaddr *peer)
{
    return eddy_tcp_accept_until(l, out, peer, EDDY_INSTANT_NEVER);
}

int eddy_tcp_listener_local_addr(const eddy_tcp_listener *l, eddy_sockaddr *out)
{
    return eddy__sock_local_addr(EDDY_CSOCK(l), out);
}

int eddy_tcp_listener_port(const eddy_tcp_listener *l)
{
    eddy_sockaddr a;
    int rc = eddy__sock_local_addr(EDDY_CSOCK(l), &a);
    return rc < 0 ? rc : eddy_sockaddr_port(&a);
}

int eddy_tcp_listener_fd(const eddy_tcp_listener *l)
{
    return eddy__sock_fd(EDDY_CSOCK(l));
}

void eddy_tcp_listener_close(eddy_tcp_listener *l)
{
    eddy__sock_close(EDDY_SOCK(l));
}
