/* mini-redis — a Redis server (RESP2) on one eddy LocalRuntime.
 *
 *   mini_redis [--port N] [--bind ADDR]     (default 127.0.0.1:6379)
 *
 * Every connection is served by plain, blocking-looking C code in tasks;
 * all of them share one ordinary hash table with no locks, because a
 * LocalRuntime runs every task on the thread that owns it. See README.md
 * in this directory for what is supported and how to try it.
 *
 * Files: main.c (this: options, signals, accept loop), conn.c (a
 * connection's reader and writer tasks), resp.c (protocol), commands.c,
 * db.c (key space and expiry), pubsub.c, htab.c (hash table), util.c. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <eddy.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "conn.h"
#include "db.h"
#include "pubsub.h"

static const char *bind_addr = "127.0.0.1";
static uint16_t port = 6379;
static int signal_fd = -1;

static void usage(FILE *to)
{
    fprintf(to, "usage: mini_redis [--port N] [--bind ADDR]\n"
                "  --port N     TCP port to listen on (default 6379; 0: any free port)\n"
                "  --bind ADDR  numeric IPv4 or IPv6 address (default 127.0.0.1)\n");
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--port") == 0 && i + 1 < argc) {
            char *end;
            errno = 0;
            long v = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || v < 0 || v > 65535) {
                fprintf(stderr, "mini_redis: bad port '%s'\n", argv[i]);
                exit(2);
            }
            port = (uint16_t)v;
        } else if (strcmp(a, "--bind") == 0 && i + 1 < argc) {
            bind_addr = argv[++i];
        } else {
            usage(stderr);
            exit(2);
        }
    }
}

/* Accepts connections until cancelled; each one gets its own tasks. */
static void *accept_loop(void *arg)
{
    eddy_tcp_listener *l = arg;
    for (;;) {
        eddy_tcp_stream *s;
        int rc = eddy_tcp_accept(l, &s, NULL);
        if (rc == -ECANCELED)
            break;
        if (rc < 0) {
            /* Out of descriptors (or memory): the connection stays queued.
             * Back off instead of spinning, as a Tokio accept loop does. */
            fprintf(stderr, "mini-redis: accept: %s\n", eddy_strerror(rc));
            if (eddy_sleep(100) < 0)
                break;
            continue;
        }
        rc = conn_start(s);
        if (rc < 0)
            fprintf(stderr, "mini-redis: cannot serve a client: %s\n", eddy_strerror(rc));
    }
    return NULL;
}

/* Waits for SIGINT or SIGTERM. They are blocked and routed to a signalfd
 * (see main), which this task waits on like on any socket: no signal
 * handler runs, so nothing has to be async-signal-safe. Returns the signal
 * number, or a negative errno. */
static int wait_for_signal(void)
{
    eddy_async_fd *afd = eddy_async_fd_new(signal_fd);
    if (!afd)
        return -errno;
    int result;
    for (;;) {
        int ready = eddy_async_fd_wait(afd, EDDY_IO_READABLE, EDDY_INSTANT_NEVER);
        if (ready < 0) {
            result = ready;
            break;
        }
        struct signalfd_siginfo si;
        ssize_t n = read(signal_fd, &si, sizeof si);
        if (n == (ssize_t)sizeof si) {
            result = (int)si.ssi_signo;
            break;
        }
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            result = -errno;
            break;
        }
        eddy_async_fd_clear(afd, (unsigned)ready); /* spurious: wait for the next one */
    }
    eddy_async_fd_free(afd);
    return result;
}

/* The root task: listens, starts the accept loop and the expiry task, and
 * returns when a signal asks the server to stop. */
static void *server_main(void *arg)
{
    int *exit_code = arg;
    eddy_tcp_listener *l = eddy_tcp_listen(bind_addr, port, NULL);
    if (!l) {
        fprintf(stderr, "mini-redis: cannot listen on %s port %u: %s\n", bind_addr, port,
                strerror(errno));
        *exit_code = 1;
        return NULL;
    }
    eddy_sockaddr addr;
    char text[EDDY_SOCKADDR_STRLEN] = "?";
    if (eddy_tcp_listener_local_addr(l, &addr) == 0)
        eddy_sockaddr_format(&addr, text, sizeof text);

    eddy_task *expiry = eddy_spawn_with(&(eddy_spawn_opts){ .name = "expiry" }, db_expiry_task,
                                        NULL);
    eddy_task *acceptor = expiry ? eddy_spawn_with(&(eddy_spawn_opts){ .name = "accept" },
                                                   accept_loop, l)
                                 : NULL;
    if (!acceptor) {
        perror("mini-redis: spawn");
        *exit_code = 1;
    } else {
        printf("mini-redis listening on %s\n", text);
        fflush(stdout);
        int sig = wait_for_signal();
        if (sig > 0)
            printf("mini-redis: %s, shutting down (%zu client%s connected)\n", strsignal(sig),
                   conn_live(), conn_live() == 1 ? "" : "s");
        else {
            fprintf(stderr, "mini-redis: waiting for signals: %s\n", eddy_strerror(sig));
            *exit_code = 1;
        }
    }
    /* Stop accepting and expiring. The connections are ended by the
     * runtime's shutdown in main: it cancels every task, and each unwinds
     * through its ordinary exit path (every suspending call returns
     * -ECANCELED), freeing what it holds. */
    eddy_abort(acceptor);
    eddy_join(acceptor, NULL);
    eddy_abort(expiry);
    eddy_join(expiry, NULL);
    eddy_tcp_listener_close(l);
    return NULL;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);

    /* Block the stop signals before any thread exists (eddy's blocking-pool
     * threads inherit the mask), so that they are only ever delivered
     * through the signalfd. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &stop, NULL) != 0 ||
        (signal_fd = signalfd(-1, &stop, SFD_NONBLOCK | SFD_CLOEXEC)) < 0) {
        perror("mini-redis: signalfd");
        return 1;
    }

    eddy_local_runtime *rt = eddy_local_runtime_new(NULL); /* this thread's runtime */
    if (!rt) {
        perror("mini-redis: eddy_local_runtime_new");
        return 1;
    }
    db_init();
    pubsub_init();

    int exit_code = 0;
    int rc = eddy_local_runtime_block_on(rt, server_main, &exit_code, NULL);
    if (rc != 0) {
        fprintf(stderr, "mini-redis: %s\n", eddy_strerror(rc));
        exit_code = 1;
    }
    /* Cancels and unwinds every connection task, closing each socket. */
    eddy_local_runtime_free(rt);

    pubsub_free();
    db_free();
    close(signal_fd);
    if (exit_code == 0)
        printf("mini-redis: bye\n");
    return exit_code;
}
