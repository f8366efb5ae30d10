/*
 * http_hello with no runtime at all: the floor that any runtime's server
 * stands on. One thread, one loop, the same response and the same parsing
 * as bench/eddy.c and the Tokio peer, so that `make bench` can show how much
 * of a request's CPU is the kernel's and how much is the runtime's.
 *
 *   bare-http --workload http_hello --flavor epoll|io_uring --serve
 *
 * (the command line bench/run.py gives every server). Prints
 * "listening 127.0.0.1:PORT", then serves until killed.
 *
 * epoll:    edge-triggered; a short read means the socket is drained, so a
 *           request costs one recv and one send, as on eddy and Tokio.
 * io_uring: one recv in flight per connection; its completion queues the
 *           response's send and, linked behind it, the next recv; one
 *           io_uring_submit_and_wait per loop submits them all. Built only
 *           when liburing is there (BARE_HAVE_URING).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef BARE_HAVE_URING
#include <liburing.h>
#endif

static const char RESPONSE[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";
enum { RESP_LEN = sizeof RESPONSE - 1, BUF = 8192, MAX_OUT = 32 };

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int listen_loopback(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0)
        die("socket");
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(fd, 1024) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        die("listen");
    printf("listening 127.0.0.1:%d\n", ntohs(a.sin_port));
    fflush(stdout);
    return fd;
}

static void set_nodelay(int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

/* A connection's input so far and the responses it is owed. */
typedef struct conn {
    int fd;
    size_t have;
    char in[BUF];
    char out[RESP_LEN * MAX_OUT];
} conn;

/* Consumes the complete requests in c->in and writes one response per
 * request into c->out. Returns the bytes to send, 0 if none, or -1 for a
 * header block too large for the buffer. Pipelined requests beyond
 * MAX_OUT stay buffered for the next call. */
static ssize_t answer(conn *c)
{
    size_t start = 0, nout = 0;
    char *end;
    while (nout < sizeof c->out && (end = memmem(c->in + start, c->have - start, "\r\n\r\n", 4))) {
        start = (size_t)(end - c->in) + 4;
        memcpy(c->out + nout, RESPONSE, RESP_LEN);
        nout += RESP_LEN;
    }
    if (start == 0 && c->have == sizeof c->in)
        return -1;
    memmove(c->in, c->in + start, c->have - start);
    c->have -= start;
    return (ssize_t)nout;
}

static conn *conn_new(int fd)
{
    conn *c = malloc(sizeof *c);
    if (!c) {
        close(fd);
        return NULL;
    }
    c->fd = fd;
    c->have = 0;
    set_nodelay(fd);
    return c;
}

static void conn_close(conn *c)
{
    close(c->fd);
    free(c);
}

/* ---- epoll ---------------------------------------------------------------- */

/* Reads what is there and answers it; false when the connection is done.
 * The response is small, so one send takes it whole (a short send closes:
 * wrk never leaves 64 responses unread). */
static bool epoll_serve(conn *c)
{
    for (;;) {
        size_t want = sizeof c->in - c->have;
        ssize_t n = recv(c->fd, c->in + c->have, want, 0);
        if (n < 0)
            return errno == EAGAIN || errno == EINTR;
        if (n == 0)
            return false;
        c->have += (size_t)n;
        ssize_t out = answer(c);
        if (out < 0 || (out > 0 && send(c->fd, c->out, (size_t)out, MSG_NOSIGNAL) != out))
            return false;
        if ((size_t)n < want)
            return true; /* drained: wait for the next edge */
    }
}

static void run_epoll(int lfd)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    fcntl(lfd, F_SETFL, O_NONBLOCK);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL}, evs[256];
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            conn *c = evs[i].data.ptr;
            if (c) {
                if (!epoll_serve(c))
                    conn_close(c);
                continue;
            }
            int fd;
            while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                if (!(c = conn_new(fd)))
                    continue;
                struct epoll_event e = {.events = EPOLLIN | EPOLLET | EPOLLRDHUP, .data.ptr = c};
                if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e) < 0)
                    conn_close(c);
            }
        }
    }
}

/* ---- io_uring ------------------------------------------------------------- */

#ifdef BARE_HAVE_URING
/* user_data: a conn pointer with its low bit set for a send; 0 for accept. */
enum { SEND_BIT = 1 };

static struct io_uring_sqe *sqe(struct io_uring *ring)
{
    struct io_uring_sqe *s = io_uring_get_sqe(ring);
    if (!s) { /* the ring is full: hand the kernel what is queued */
        io_uring_submit(ring);
        s = io_uring_get_sqe(ring);
    }
    if (!s)
        die("io_uring_get_sqe");
    return s;
}

static void queue_accept(struct io_uring *ring, int lfd)
{
    struct io_uring_sqe *s = sqe(ring);
    io_uring_prep_multishot_accept(s, lfd, NULL, NULL, SOCK_CLOEXEC);
    io_uring_sqe_set_data64(s, 0);
}

static void queue_recv(struct io_uring *ring, conn *c)
{
    struct io_uring_sqe *s = sqe(ring);
    io_uring_prep_recv(s, c->fd, c->in + c->have, sizeof c->in - c->have, 0);
    io_uring_sqe_set_data(s, c);
}

/* The recv queued next is linked behind this send, so c->out is free
 * again by the time the recv completes. A successful send posts nothing
 * (IOSQE_CQE_SKIP_SUCCESS); a failed one posts its error and cancels the
 * recv, whose -ECANCELED closes the connection. */
static void queue_send(struct io_uring *ring, conn *c, size_t len)
{
    struct io_uring_sqe *s = sqe(ring);
    io_uring_prep_send(s, c->fd, c->out, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(s, (uintptr_t)c | SEND_BIT);
    s->flags |= IOSQE_IO_LINK | IOSQE_CQE_SKIP_SUCCESS;
}

static void on_recv(struct io_uring *ring, conn *c, int res)
{
    if (res <= 0) {
        conn_close(c);
        return;
    }
    c->have += (size_t)res;
    ssize_t out = answer(c);
    if (out < 0) {
        conn_close(c);
        return;
    }
    /* The send and its linked recv go in one submission: a full ring
     * submitted between them would cut the link. */
    if (io_uring_sq_space_left(ring) < 2)
        io_uring_submit(ring);
    if (out > 0)
        queue_send(ring, c, (size_t)out);
    queue_recv(ring, c);
}

static void run_uring(int lfd)
{
    struct io_uring ring;
    struct io_uring_params p = {
        .flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
    };
    if (io_uring_queue_init_params(1024, &ring, &p) < 0) {
        memset(&p, 0, sizeof p); /* an older kernel: no deferred task work */
        int rc = io_uring_queue_init_params(1024, &ring, &p);
        if (rc < 0) {
            errno = -rc;
            die("io_uring_queue_init");
        }
    }
    queue_accept(&ring, lfd);
    for (;;) {
        io_uring_submit_and_wait(&ring, 1);
        struct io_uring_cqe *cqe;
        unsigned head, seen = 0;
        io_uring_for_each_cqe(&ring, head, cqe) {
            uintptr_t data = (uintptr_t)io_uring_cqe_get_data64(cqe);
            seen++;
            if (data == 0) {
                conn *c = cqe->res >= 0 ? conn_new(cqe->res) : NULL;
                if (c)
                    queue_recv(&ring, c);
                if (!(cqe->flags & IORING_CQE_F_MORE))
                    queue_accept(&ring, lfd);
            } else if (!(data & SEND_BIT)) {
                on_recv(&ring, (conn *)data, cqe->res);
            } /* a failed send: its linked recv closes the connection */
        }
        io_uring_cq_advance(&ring, seen);
    }
}
#endif

int main(int argc, char **argv)
{
    const char *flavor = NULL;
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--flavor"))
            flavor = argv[i + 1];
    if (!flavor || (strcmp(flavor, "epoll") && strcmp(flavor, "io_uring"))) {
        fprintf(stderr, "usage: %s --workload http_hello --flavor epoll|io_uring --serve\n", argv[0]);
        return 2;
    }
    if (!strcmp(flavor, "io_uring")) {
#ifdef BARE_HAVE_URING
        run_uring(listen_loopback());
#else
        printf("{\"workload\":\"http_hello\",\"flavor\":\"io_uring\",\"skipped\":"
               "\"built without liburing\"}\n");
        return 0;
#endif
    }
    run_epoll(listen_loopback());
    return 0;
}
