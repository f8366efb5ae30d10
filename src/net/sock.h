/* The socket core shared by every socket type: a non-blocking descriptor
 * registered with a runtime's I/O driver, and the wait loops around
 * recv/send/accept/connect.
 *
 * Every public socket type (eddy_tcp_stream, eddy_udp_socket, ...) is an
 * eddy_sock underneath; the public structs are never defined, the handles
 * are converted with the casts below. */
#ifndef EDDY_NET_SOCK_H
#define EDDY_NET_SOCK_H

#include <eddy/net.h>

#include "driver/io.h"

typedef struct eddy_sock {
    eddy_io_source src; /* first: the source's release frees the whole */
    int family;         /* AF_INET, AF_INET6, AF_UNIX */
    int type;           /* SOCK_STREAM, SOCK_DGRAM */
} eddy_sock;

#define EDDY_SOCK(p) ((eddy_sock *)(void *)(p))
#define EDDY_CSOCK(p) ((const eddy_sock *)(const void *)(p))

/* Registers fd (already non-blocking) with driver d (NULL: the current
 * runtime's). NULL with errno on failure; the fd is then untouched (still
 * the caller's). */
eddy_sock *eddy__sock_adopt(eddy_driver *d, int fd, int family, int type);

/* Takes over a foreign fd: checks it is a socket of `type` (and, if
 * family is not 0, that family), sets O_NONBLOCK and FD_CLOEXEC, and
 * registers it with the current runtime. When `listening` is set, it must
 * be listening. NULL with errno (EBADF, ENOTSOCK, EINVAL, EPERM, ENOMEM). */
eddy_sock *eddy__sock_from_fd(int fd, int family, int type, bool listening);

/* A new socket(family, type) bound to addr (NULL: unbound). With
 * backlog >= 0 it also listens. `setup` (may be NULL) runs between
 * socket() and bind() to set options; it returns 0 or a negative errno.
 * NULL with errno. */
eddy_sock *eddy__sock_open(int family, int type, const eddy_sockaddr *addr, int backlog,
                           int (*setup)(int fd, const void *ctx), const void *ctx);

/* Closes: deregisters, fails pending waits, closes the fd once the last
 * wait has returned. NULL is ignored. */
void eddy__sock_close(eddy_sock *s);

/* Connects a new socket of `type` to addr, waiting for the connection
 * until deadline. 0 and *out, or a negative errno. */
int eddy__sock_connect(const eddy_sockaddr *addr, int type, eddy_sock **out,
                       eddy_instant deadline);

/* Accepts one connection on a listening socket (new socket registered on
 * the same driver). 0 and *out (and *peer), or a negative errno; -EMFILE /
 * -ENFILE leave the connection queued and the listener ready. */
int eddy__sock_accept(eddy_sock *l, eddy_sock **out, eddy_sockaddr *peer,
                      eddy_instant deadline);

/* recv/recvfrom: one read or datagram. from may be NULL. */
ssize_t eddy__sock_recv(eddy_sock *s, void *buf, size_t len, eddy_sockaddr *from,
                        eddy_instant deadline);

/* send/sendto with MSG_NOSIGNAL. to may be NULL. With `nowait`, EAGAIN is
 * returned instead of waited for. */
ssize_t eddy__sock_send(eddy_sock *s, const void *buf, size_t len, const eddy_sockaddr *to,
                        bool nowait, eddy_instant deadline);

/* Loops of recv / send until len bytes; *done gets the progress. */
int eddy__sock_read_exact(eddy_sock *s, void *buf, size_t len, size_t *done,
                          eddy_instant deadline);
int eddy__sock_write_all(eddy_sock *s, const void *buf, size_t len, size_t *done,
                         eddy_instant deadline);

int eddy__sock_shutdown(eddy_sock *s, int how);
int eddy__sock_local_addr(const eddy_sock *s, eddy_sockaddr *out);
int eddy__sock_peer_addr(const eddy_sock *s, eddy_sockaddr *out);
int eddy__sock_connect_now(eddy_sock *s, const eddy_sockaddr *addr);
int eddy__sock_set_int(eddy_sock *s, int level, int name, int value);
int eddy__sock_get_int(const eddy_sock *s, int level, int name);

/* socketpair(AF_UNIX, type), both ends registered with the current
 * runtime (unix_stream.c). 0 or a negative errno. */
int eddy__unix_pair(int type, eddy_sock **a, eddy_sock **b);

static inline int eddy__sock_fd(const eddy_sock *s)
{
    return s ? s->src.fd : -1;
}

#endif /* EDDY_NET_SOCK_H */
