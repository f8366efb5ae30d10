/* The socket core: registration and the edge-triggered wait loops.
 *
 * Every operation is optimistic: it tries its system call first and waits
 * for readiness only on EAGAIN. When a retry after a wake-up still says
 * EAGAIN, the readiness it acted on is cleared with the event tick it was
 * reported at (eddy__io_clear), so a newer event is never lost. Errors
 * other than EAGAIN leave the readiness alone: after -EMFILE from accept
 * the queued connection is still signalled, and the next accept takes it
 * without waiting. */
#include "net/sock.h"

#include <eddy/io.h>
#include <eddy/task.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "rt/rt.h"

/* The last readiness event a loop waited for. */
typedef struct waiter {
    eddy_io_event ev;
    bool have;
} waiter;

static void release(eddy_io_source *src)
{
    /* The last reference: no wait is in progress and the registration is
     * gone, so the fd number can be reused safely now. */
    close(src->fd);
    free((eddy_sock *)src);
}

eddy_sock *eddy__sock_adopt(eddy_driver *d, int fd, int family, int type)
{
    if (!d && !(d = eddy__current_driver()))
        return NULL;
    eddy_sock *s = calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    s->family = family;
    s->type = type;
    int rc = eddy__io_register(&s->src, d, fd, release);
    if (rc < 0) {
        free(s);
        errno = -rc;
        return NULL;
    }
    return s;
}

eddy_sock *eddy__sock_from_fd(int fd, int family, int type, bool listening)
{
    if (fd < 0) {
        errno = EBADF;
        return NULL;
    }
    int v;
    socklen_t l = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &l) < 0)
        return NULL; /* EBADF, ENOTSOCK */
    if (v != type) {
        errno = EINVAL;
        return NULL;
    }
    l = sizeof v;
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &v, &l) < 0)
        return NULL;
    bool ip = v == AF_INET || v == AF_INET6;
    if (family == AF_UNIX ? v != AF_UNIX : !ip) {
        errno = EINVAL;
        return NULL;
    }
    family = v;
    if (type == SOCK_STREAM) {
        l = sizeof v;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) < 0)
            return NULL;
        if ((v != 0) != listening) {
            errno = EINVAL;
            return NULL;
        }
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
        return NULL;
    int fdfl = fcntl(fd, F_GETFD);
    if (fdfl < 0 || fcntl(fd, F_SETFD, fdfl | FD_CLOEXEC) < 0)
        return NULL;
    return eddy__sock_adopt(NULL, fd, family, type);
}

eddy_sock *eddy__sock_open(int family, int type, const eddy_sockaddr *addr, int backlog,
                           int (*setup)(int fd, const void *ctx), const void *ctx)
{
    eddy_driver *d = eddy__current_driver();
    if (!d)
        return NULL;
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return NULL;
    int rc = setup ? setup(fd, ctx) : 0;
    if (rc == 0 && addr && bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
        rc = -errno;
    if (rc == 0 && backlog >= 0 && listen(fd, backlog) < 0)
        rc = -errno;
    if (rc == 0) {
        eddy_sock *s = eddy__sock_adopt(d, fd, family, type);
        if (s)
            return s;
        rc = -errno;
    }
    close(fd);
    errno = -rc;
    return NULL;
}

void eddy__sock_close(eddy_sock *s)
{
    if (s)
        eddy__io_close(&s->src);
}

/* A suspending call may start: not after the task was aborted, nor once
 * the socket's runtime has shut down (its driver no longer reports
 * readiness; the data stays in the socket). */
static int may_start(const eddy_sock *s)
{
    if (!s)
        return -EINVAL;
    if (eddy_current_task_cancelled() || eddy__driver_is_shut_down(s->src.driver))
        return -ECANCELED;
    return 0;
}

/* Waits for `interest`, first clearing the readiness the previous wait of
 * this loop reported (the retry after it said EAGAIN, so it was stale). */
static int wait_for(eddy_sock *s, unsigned interest, eddy_instant deadline, waiter *w)
{
    if (w->have)
        eddy__io_clear(&s->src, w->ev);
    int rc = eddy__io_wait(&s->src, interest, deadline, &w->ev);
    if (rc < 0)
        return rc;
    w->have = true;
    return 0;
}

/* A system call just reported the socket's pending error. The driver keeps
 * EDDY_IO_ERROR once seen, which suits streams (an error there is final)
 * but not datagram sockets, where an ICMP error is reported once and the
 * socket then works on: with the bit left set, every later wait would
 * return at once and a receive loop would spin. So the bit is dropped
 * here. */
static void error_consumed(eddy_sock *s)
{
    if (s->type == SOCK_DGRAM)
        eddy__io_clear_error(&s->src);
}

static bool would_block(int err)
{
    return err == EAGAIN || err == EWOULDBLOCK;
}

/* Receiving reads the readiness before each system call, so that it can
 * (on a stream) skip a receive the driver already knows would block, and
 * forget readiness it has used up with that same tick: after a short
 * read, the socket was drained; after EAGAIN, the readiness was stale. An
 * event dispatched after the snapshot changes the tick and keeps the
 * readiness. A request-response connection then costs one receive per
 * request, not three. */
#define READ_READY (EDDY_IO_READABLE | EDDY_IO_READ_CLOSED | EDDY_IO_ERROR)

static ssize_t recv_loop(eddy_sock *s, void *buf, size_t len, eddy_sockaddr *from,
                         eddy_instant deadline, waiter *w)
{
    bool stream = s->type == SOCK_STREAM;
    for (;;) {
        eddy_io_event seen = eddy__io_readiness(&s->src);
        if (stream && seen.tick && !(seen.ready & READ_READY)) {
            int rc = eddy__io_wait(&s->src, EDDY_IO_READABLE, deadline, &w->ev);
            if (rc < 0)
                return rc;
            continue;
        }
        ssize_t n;
        if (from) {
            from->len = sizeof from->ss;
            n = recvfrom(s->src.fd, buf, len, 0, (struct sockaddr *)&from->ss, &from->len);
        } else {
            n = recv(s->src.fd, buf, len, 0);
        }
        seen.ready = EDDY_IO_READABLE;
        if (n >= 0) {
            if (stream && n > 0 && (size_t)n < len)
                eddy__io_clear(&s->src, seen);
            return n;
        }
        int err = errno;
        if (err == EINTR)
            continue;
        if (!would_block(err)) {
            error_consumed(s);
            return -err;
        }
        eddy__io_clear(&s->src, seen);
        int rc = eddy__io_wait(&s->src, EDDY_IO_READABLE, deadline, &w->ev);
        if (rc < 0)
            return rc;
    }
}

static ssize_t send_loop(eddy_sock *s, const void *buf, size_t len, const eddy_sockaddr *to,
                         bool nowait, eddy_instant deadline, waiter *w)
{
    for (;;) {
        ssize_t n;
        if (to)
            n = sendto(s->src.fd, buf, len, MSG_NOSIGNAL, (const struct sockaddr *)&to->ss,
                       to->len);
        else
            n = send(s->src.fd, buf, len, MSG_NOSIGNAL);
        if (n >= 0)
            return n;
        int err = errno;
        if (err == EINTR)
            continue;
        if (!would_block(err)) {
            error_consumed(s);
            return -err;
        }
        if (nowait)
            return -EAGAIN;
        int rc = wait_for(s, EDDY_IO_WRITABLE, deadline, w);
        if (rc < 0)
            return rc;
    }
}

ssize_t eddy__sock_recv(eddy_sock *s, void *buf, size_t len, eddy_sockaddr *from,
                        eddy_instant deadline)
{
    int rc = may_start(s);
    if (rc < 0)
        return rc;
    if (!buf && len)
        return -EINVAL;
    if (len == 0 && s->type == SOCK_STREAM)
        return 0;
    waiter w = { .have = false };
    return recv_loop(s, buf, len, from, deadline, &w);
}

ssize_t eddy__sock_send(eddy_sock *s, const void *buf, size_t len, const eddy_sockaddr *to,
                        bool nowait, eddy_instant deadline)
{
    int rc = may_start(s);
    if (rc < 0)
        return rc;
    if (!buf && len)
        return -EINVAL;
    if (len == 0 && s->type == SOCK_STREAM)
        return 0;
    waiter w = { .have = false };
    return send_loop(s, buf, len, to, nowait, deadline, &w);
}

int eddy__sock_read_exact(eddy_sock *s, void *buf, size_t len, size_t *done,
                          eddy_instant deadline)
{
    size_t got = 0;
    int rc = may_start(s);
    if (rc == 0 && !buf && len)
        rc = -EINVAL;
    waiter w = { .have = false };
    while (rc == 0 && got < len) {
        ssize_t n = recv_loop(s, (char *)buf + got, len - got, NULL, deadline, &w);
        if (n < 0)
            rc = (int)n;
        else if (n == 0)
            rc = -ENODATA;
        else
            got += (size_t)n;
        if (rc == 0 && got < len)
            rc = may_start(s);
    }
    if (done)
        *done = got;
    return rc;
}

int eddy__sock_write_all(eddy_sock *s, const void *buf, size_t len, size_t *done,
                         eddy_instant deadline)
{
    size_t put = 0;
    int rc = may_start(s);
    if (rc == 0 && !buf && len)
        rc = -EINVAL;
    waiter w = { .have = false };
    while (rc == 0 && put < len) {
        ssize_t n = send_loop(s, (const char *)buf + put, len - put, NULL, false, deadline, &w);
        if (n < 0)
            rc = (int)n;
        else
            put += (size_t)n;
        if (rc == 0 && put < len)
            rc = may_start(s);
    }
    if (done)
        *done = put;
    return rc;
}

/* accept(2) errors that concern only the connection being taken (it died
 * in the queue, or the network reported on it): take the next one. */
static bool accept_retry(int err)
{
    switch (err) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case ENETUNREACH:
        return true;
    default:
        return false;
    }
}

int eddy__sock_accept(eddy_sock *l, eddy_sock **out, eddy_sockaddr *peer,
                      eddy_instant deadline)
{
    int rc = may_start(l);
    if (rc < 0)
        return rc;
    if (!out)
        return -EINVAL;
    waiter w = { .have = false };
    for (;;) {
        eddy_sockaddr from;
        from.len = sizeof from.ss;
        int fd = accept4(l->src.fd, (struct sockaddr *)&from.ss, &from.len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0) {
            eddy_sock *s = eddy__sock_adopt(l->src.driver, fd, l->family, SOCK_STREAM);
            if (!s) {
                int err = errno;
                close(fd);
                return -err;
            }
            if (peer)
                *peer = from;
            *out = s;
            return 0;
        }
        int err = errno;
        if (accept_retry(err))
            continue;
        /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the readiness is left as it is,
         * so the next call tries accept4 again at once. */
        if (!would_block(err))
            return -err;
        rc = wait_for(l, EDDY_IO_READABLE, deadline, &w);
        if (rc < 0)
            return rc;
    }
}

/* After a non-blocking connect said EINPROGRESS: waits until the socket
 * is writable and reads the outcome. */
static int finish_connect(eddy_sock *s, eddy_instant deadline)
{
    waiter w = { .have = false };
    for (;;) {
        int rc = wait_for(s, EDDY_IO_WRITABLE, deadline, &w);
        if (rc < 0)
            return rc;
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(s->src.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
            return -errno;
        if (soerr)
            return -soerr;
        eddy_sockaddr peer;
        peer.len = sizeof peer.ss;
        if (getpeername(s->src.fd, (struct sockaddr *)&peer.ss, &peer.len) == 0)
            return 0;
        if (errno != ENOTCONN)
            return -errno;
        /* Not connected yet, no error: a wake-up without writability would
         * come back at once (hang-up is never cleared), so give up then. */
        if (!(w.ev.ready & EDDY_IO_WRITABLE))
            return -ECONNABORTED;
    }
}

int eddy__sock_connect(const eddy_sockaddr *addr, int type, eddy_sock **out,
                       eddy_instant deadline)
{
    if (!addr || !out || addr->len == 0 || addr->len > sizeof addr->ss)
        return -EINVAL;
    if (eddy_current_task_cancelled())
        return -ECANCELED;
    eddy_driver *d = eddy__current_driver();
    if (!d)
        return -errno;
    int family = addr->ss.ss_family;
    int fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    /* Registered after connect(): a socket not yet connecting reports
     * EPOLLHUP, which the driver would keep. */
    bool pending = false;
    if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0) {
        int err = errno;
        if (err != EINPROGRESS && err != EINTR) {
            close(fd);
            return -err;
        }
        pending = true;
    }
    eddy_sock *s = eddy__sock_adopt(d, fd, family, type);
    if (!s) {
        int err = errno;
        close(fd);
        return -err;
    }
    if (pending) {
        int rc = finish_connect(s, deadline);
        if (rc < 0) {
            eddy__sock_close(s);
            return rc;
        }
    }
    *out = s;
    return 0;
}

int eddy__sock_connect_now(eddy_sock *s, const eddy_sockaddr *addr)
{
    if (!s || !addr || addr->len == 0 || addr->len > sizeof addr->ss)
        return -EINVAL;
    if (connect(s->src.fd, (const struct sockaddr *)&addr->ss, addr->len) < 0)
        return -errno;
    return 0;
}

int eddy__sock_shutdown(eddy_sock *s, int how)
{
    if (!s || (how != SHUT_RD && how != SHUT_WR && how != SHUT_RDWR))
        return -EINVAL;
    return shutdown(s->src.fd, how) < 0 ? -errno : 0;
}

int eddy__sock_local_addr(const eddy_sock *s, eddy_sockaddr *out)
{
    if (!s || !out)
        return -EINVAL;
    out->len = sizeof out->ss;
    if (getsockname(s->src.fd, (struct sockaddr *)&out->ss, &out->len) < 0)
        return -errno;
    return 0;
}

int eddy__sock_peer_addr(const eddy_sock *s, eddy_sockaddr *out)
{
    if (!s || !out)
        return -EINVAL;
    out->len = sizeof out->ss;
    if (getpeername(s->src.fd, (struct sockaddr *)&out->ss, &out->len) < 0)
        return -errno;
    return 0;
}

int eddy__sock_set_int(eddy_sock *s, int level, int name, int value)
{
    if (!s)
        return -EINVAL;
    return setsockopt(s->src.fd, level, name, &value, sizeof value) < 0 ? -errno : 0;
}

int eddy__sock_get_int(const eddy_sock *s, int level, int name)
{
    if (!s)
        return -EINVAL;
    int v = 0;
    socklen_t l = sizeof v;
    if (getsockopt(s->src.fd, level, name, &v, &l) < 0)
        return -errno;
    return v;
}
