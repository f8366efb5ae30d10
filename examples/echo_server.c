/* echo_server.c — a TCP echo server on a LocalRuntime.
 *
 *   echo_server [--port N] [--seconds S]
 *       serves on 127.0.0.1:N (default 7007) until SIGINT/SIGTERM, or for
 *       S seconds; try it with `nc 127.0.0.1 7007`
 *   echo_server --selftest
 *       binds a free port, runs a few clients as tasks, checks every byte
 *       comes back, and exits (0 when all is well)
 *
 * One task per connection, all on the thread that owns the runtime, so the
 * server's bookkeeping (a list of connections, two counters) is plain C.
 * SIGINT arrives through a signalfd registered with eddy_async_fd, so
 * waiting for it is one more suspending call; no signal handler.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <eddy.h>

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

typedef struct conn {
    struct conn *prev, *next;
    eddy_tcp_stream *s;
} conn;

/* The server's state. Only tasks of this thread's runtime touch it. */
static struct {
    eddy_tcp_listener *listener;
    conn *conns; /* open connections */
    unsigned long accepted, bytes;
} srv;

static void conn_unlink(conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        srv.conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

/* Echoes until the peer closes, an error, or cancellation (at shutdown
 * every read returns -ECANCELED and we leave through the same path). */
static void *conn_main(void *arg)
{
    conn *c = arg;
    char buf[16384];
    ssize_t n;
    while ((n = eddy_tcp_read(c->s, buf, sizeof buf)) > 0) {
        if (eddy_tcp_write_all(c->s, buf, (size_t)n, NULL) < 0)
            break;
        srv.bytes += (unsigned long)n;
    }
    conn_unlink(c);
    eddy_tcp_stream_close(c->s);
    free(c);
    return NULL;
}

static void *accept_loop(void *arg)
{
    (void)arg;
    for (;;) {
        eddy_tcp_stream *s;
        int rc = eddy_tcp_accept(srv.listener, &s, NULL);
        if (rc == -ECANCELED)
            break;               /* aborted: stop accepting */
        if (rc < 0) {            /* e.g. -EMFILE: back off, the client stays queued */
            if (eddy_sleep(50) < 0)
                break;
            continue;
        }
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            eddy_tcp_stream_close(s);
            continue;
        }
        c->s = s;
        c->next = srv.conns;
        if (c->next)
            c->next->prev = c;
        srv.conns = c;
        srv.accepted++;
        eddy_task *t = eddy_spawn(conn_main, c);
        if (!t) {
            conn_unlink(c);
            eddy_tcp_stream_close(s);
            free(c);
            continue;
        }
        eddy_detach(t); /* nobody joins connection tasks */
    }
    eddy_tcp_listener_close(srv.listener);
    return NULL;
}

/* Waits for SIGINT or SIGTERM (blocked in main, so they queue on the
 * signalfd instead of killing the process). Returns the signal number. */
static void *wait_for_signal(void *arg)
{
    (void)arg;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    eddy_async_fd *afd = fd >= 0 ? eddy_async_fd_new(fd) : NULL;
    long signo = 0;
    while (afd) {
        int ready = eddy_async_fd_wait(afd, EDDY_IO_READABLE, EDDY_INSTANT_NEVER);
        if (ready < 0)
            break; /* cancelled (e.g. by eddy_timeout) */
        struct signalfd_siginfo si;
        if (read(fd, &si, sizeof si) == (ssize_t)sizeof si) {
            signo = (long)si.ssi_signo;
            break;
        }
        eddy_async_fd_clear(afd, (unsigned)ready); /* stale readiness: wait again */
    }
    eddy_async_fd_free(afd);
    if (fd >= 0)
        close(fd);
    return (void *)(intptr_t)signo;
}

/* ---- --selftest: clients as tasks of the same runtime ---------------- */

enum { CLIENTS = 5, PAYLOAD = 256 * 1024 };

typedef struct client {
    int port, id;
    eddy_tcp_stream *s;
    unsigned char *data;
    bool ok;
} client;

/* Writes the payload in uneven chunks, then half-closes (the server sees
 * end of stream after the last byte). Runs while client_main reads the
 * same stream: one task may read while another writes. */
static void *client_writer(void *arg)
{
    client *cl = arg;
    size_t off = 0, chunk = 1000 + 377 * (size_t)cl->id;
    while (off < PAYLOAD) {
        size_t n = PAYLOAD - off < chunk ? PAYLOAD - off : chunk;
        if (eddy_tcp_write_all(cl->s, cl->data + off, n, NULL) < 0)
            return (void *)-1;
        off += n;
    }
    eddy_tcp_shutdown(cl->s, SHUT_WR);
    return NULL;
}

static void *client_main(void *arg)
{
    client *cl = arg;
    cl->data = malloc(PAYLOAD);
    unsigned char *back = malloc(PAYLOAD + 1);
    if (!cl->data || !back || eddy_tcp_connect("127.0.0.1", (uint16_t)cl->port, &cl->s) < 0)
        goto out;
    for (size_t i = 0; i < PAYLOAD; i++)
        cl->data[i] = (unsigned char)(i * 31 + (size_t)cl->id);
    eddy_task *w = eddy_spawn(client_writer, cl);
    size_t got = 0;
    ssize_t n = 0;
    /* Read everything back until the server closes after our half-close;
     * the deadline keeps a broken server from hanging the test. */
    eddy_instant deadline = eddy_deadline_in(10000);
    while (got <= PAYLOAD &&
           (n = eddy_tcp_read_until(cl->s, back + got, PAYLOAD + 1 - got, deadline)) > 0)
        got += (size_t)n;
    void *wres = NULL;
    int wrc = w ? eddy_join(w, &wres) : -1;
    cl->ok = n == 0 && wrc == 0 && wres == NULL && got == PAYLOAD &&
             memcmp(back, cl->data, PAYLOAD) == 0;
    eddy_tcp_stream_close(cl->s);
out:
    printf("  client %d: %s\n", cl->id, cl->ok ? "256 KiB echoed intact" : "FAILED");
    free(cl->data);
    free(back);
    return NULL;
}

static int selftest(int port)
{
    client cls[CLIENTS];
    eddy_task *t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        cls[i] = (client){ .port = port, .id = i };
        t[i] = eddy_spawn(client_main, &cls[i]);
    }
    int failed = 0;
    for (int i = 0; i < CLIENTS; i++) {
        if (t[i])
            eddy_join(t[i], NULL);
        failed += !t[i] || !cls[i].ok;
    }
    return failed;
}

/* ---- the program -------------------------------------------------------- */

typedef struct options {
    int port;
    long seconds; /* 0: until a signal */
    bool selftest;
    int result;   /* exit status */
} options;

static void *root(void *arg)
{
    options *o = arg;
    srv.listener = eddy_tcp_listen("127.0.0.1", (uint16_t)o->port, NULL);
    if (!srv.listener) {
        fprintf(stderr, "echo_server: 127.0.0.1:%d: %s\n", o->port, eddy_strerror(errno));
        o->result = 1;
        return NULL;
    }
    int port = eddy_tcp_listener_port(srv.listener);
    eddy_task *acceptor = eddy_spawn(accept_loop, NULL);
    printf("echo server on 127.0.0.1:%d\n", port);

    if (o->selftest) {
        o->result = selftest(port) ? 1 : 0;
    } else if (o->seconds > 0) {
        /* Either the signal or the time limit, whichever comes first:
         * eddy_timeout cancels the waiting task when time is up. */
        void *sig = NULL;
        if (eddy_timeout((uint64_t)o->seconds * 1000, wait_for_signal, NULL, &sig) == 0)
            printf("signal %ld: stopping\n", (long)(intptr_t)sig);
        else
            printf("%ld s passed: stopping\n", o->seconds);
    } else {
        void *sig = NULL;
        eddy_join(eddy_spawn(wait_for_signal, NULL), &sig);
        printf("signal %ld: stopping\n", (long)(intptr_t)sig);
    }

    eddy_abort(acceptor); /* stop accepting; it closes the listener */
    eddy_join(acceptor, NULL);
    return NULL;
}

int main(int argc, char **argv)
{
    options o = { .port = 7007 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--selftest") == 0) {
            o.selftest = true;
            o.port = 0; /* any free port */
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            o.port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            o.seconds = atol(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--port N] [--seconds S] | --selftest\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Block the signals before any thread exists (the runtime's blocking
     * pool threads inherit the mask), so they are only ever read from the
     * signalfd. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    if (!rt) {
        perror("eddy_local_runtime_new");
        return 1;
    }
    eddy_local_runtime_block_on(rt, root, &o, NULL);

    /* Connections still open are tasks parked in eddy_tcp_read: ending the
     * runtime cancels them, and each closes its socket on its way out. A
     * task that never ran is dropped without running, so whatever is left
     * in the list is closed here. */
    eddy_local_runtime_free(rt);
    while (srv.conns) {
        conn *c = srv.conns;
        conn_unlink(c);
        eddy_tcp_stream_close(c->s);
        free(c);
    }
    printf("served %lu connections, echoed %lu bytes\n", srv.accepted, srv.bytes);
    return o.result;
}
