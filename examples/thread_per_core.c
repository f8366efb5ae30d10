/* thread_per_core.c — one LocalRuntime per core, sharing nothing.
 *
 *   thread_per_core [--port N] [--threads T] [--seconds S]
 *       T threads (default: one per CPU) each serve 127.0.0.1:N (default
 *       7010) until SIGINT/SIGTERM or for S seconds
 *   thread_per_core --selftest
 *       binds a free port, opens 32 connections, checks the answers, shows
 *       which core served each, and exits (0 when all is well)
 *
 * Protocol: for every line a client sends, the server answers
 * "core K request N", where N counts the requests core K has served.
 *
 * Each thread owns a LocalRuntime and its own listening socket, all bound
 * to the same port with SO_REUSEPORT (eddy_tcp_listen_opts.reuseport): the
 * kernel spreads incoming connections over the listeners, and a connection
 * stays with the thread that accepted it. Nothing is shared between the
 * threads, so each one's state (its connections, its counters) is plain C
 * with no locks and no atomics, and no task ever moves between cores.
 * Compare mt_server.c, where one work-stealing runtime balances the load
 * and everything shared must be thread-safe.
 *
 * The main thread talks to the cores only through their Handles: to stop a
 * core it hands it a task (eddy_handle_spawn) that runs on that core.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <eddy.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct conn {
    struct conn *prev, *next;
    struct core *core;
    eddy_tcp_stream *s;
} conn;

typedef struct core {
    int index;
    int port;              /* the port to bind; the first core picks it */
    pthread_t thread;
    eddy_mpsc_tx *ready;   /* SHARED flavor: tells main "listening" (or an error) */
    eddy_handle *handle;   /* for main: the only way into this core */
    /* Owned by this core's thread alone: plain C. */
    eddy_tcp_listener *listener;
    eddy_notify *stop;     /* LOCAL flavor */
    conn *conns;
    unsigned long connections, requests;
} core;

static void conn_unlink(conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        c->core->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    core *k = c->core;
    char buf[1024], out[64];
    ssize_t n;
    while ((n = eddy_tcp_read(c->s, buf, sizeof buf)) > 0) {
        /* One answer per newline received. */
        bool failed = false;
        for (ssize_t i = 0; i < n && !failed; i++)
            if (buf[i] == '\n') {
                int len = snprintf(out, sizeof out, "core %d request %lu\n", k->index,
                                   ++k->requests);
                failed = eddy_tcp_write_all(c->s, out, (size_t)len, NULL) < 0;
            }
        if (failed)
            break;
    }
    conn_unlink(c);
    eddy_tcp_stream_close(c->s);
    free(c);
    return NULL;
}

static void *accept_loop(void *arg)
{
    core *k = arg;
    for (;;) {
        eddy_tcp_stream *s;
        int rc = eddy_tcp_accept(k->listener, &s, NULL);
        if (rc == -ECANCELED)
            break;
        if (rc < 0) {
            if (eddy_sleep(50) < 0)
                break;
            continue;
        }
        conn *c = calloc(1, sizeof *c);
        if (!c) {
            eddy_tcp_stream_close(s);
            continue;
        }
        *c = (conn){ .core = k, .s = s, .next = k->conns };
        if (c->next)
            c->next->prev = c;
        k->conns = c;
        k->connections++;
        eddy_task *t = eddy_spawn(conn_main, c);
        if (!t) {
            conn_unlink(c);
            eddy_tcp_stream_close(s);
            free(c);
            continue;
        }
        eddy_detach(t);
    }
    eddy_tcp_listener_close(k->listener);
    return NULL;
}

static void *core_main(void *arg)
{
    core *k = arg;
    eddy_tcp_listen_opts lo = { .reuseport = true }; /* same port, one listener per core */
    k->stop = eddy_notify_new(EDDY_SYNC_LOCAL);
    k->listener = eddy_tcp_listen("127.0.0.1", (uint16_t)k->port, &lo);
    int port = k->listener ? eddy_tcp_listener_port(k->listener) : -errno;
    eddy_mpsc_send(k->ready, &port);
    if (!k->listener || !k->stop)
        return NULL;
    eddy_task *acceptor = eddy_spawn(accept_loop, k);
    eddy_notify_wait(k->stop); /* until main hands us stop_task */
    eddy_abort(acceptor);
    eddy_join(acceptor, NULL);
    return NULL; /* open connections are cancelled when the runtime ends */
}

/* Handed to a core by main through the core's Handle; runs on that core. */
static void *stop_task(void *arg)
{
    core *k = arg;
    eddy_notify_one(k->stop);
    return NULL;
}

static void *core_thread(void *arg)
{
    core *k = arg;
    /* Best effort: pin the thread to its CPU so its caches stay warm. */
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET((size_t)(k->index % (ncpu > 0 ? ncpu : 1)), &set);
    pthread_setaffinity_np(pthread_self(), sizeof set, &set);

    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    if (!rt) {
        int err = -errno;
        eddy_mpsc_send(k->ready, &err);
        return NULL;
    }
    k->handle = eddy_local_runtime_handle(rt);
    eddy_local_runtime_block_on(rt, core_main, k, NULL);
    /* Connection tasks still parked in a read are cancelled here and close
     * their sockets; a task that never ran is dropped, so close what is
     * left in the list ourselves. */
    eddy_local_runtime_free(rt);
    while (k->conns) {
        conn *c = k->conns;
        conn_unlink(c);
        eddy_tcp_stream_close(c->s);
        free(c);
    }
    eddy_notify_free(k->stop);
    return NULL;
}

/* ---- --selftest: clients on a LocalRuntime of the main thread ---------- */

enum { CLIENTS = 32, ROUNDS = 3, MAX_CORES = 64 };

static int served_by[MAX_CORES]; /* connections per core, as the clients saw it */
static int client_failures;

static void *client_main(void *arg)
{
    int port = (int)(intptr_t)arg;
    eddy_tcp_stream *s;
    if (eddy_tcp_connect("127.0.0.1", (uint16_t)port, &s) < 0) {
        client_failures++;
        return NULL;
    }
    eddy_instant deadline = eddy_deadline_in(5000); /* a test never hangs */
    int first = -1;
    bool ok = true;
    for (int i = 0; i < ROUNDS && ok; i++) {
        char line[64] = "";
        size_t len = 0;
        ok = eddy_tcp_write_all_until(s, "hi\n", 3, NULL, deadline) == 0;
        while (ok && !memchr(line, '\n', len)) { /* one answer line */
            ssize_t n = eddy_tcp_read_until(s, line + len, sizeof line - 1 - len, deadline);
            ok = n > 0;
            len += ok ? (size_t)n : 0;
            line[len] = '\0';
        }
        int k;
        unsigned long req;
        ok = ok && sscanf(line, "core %d request %lu", &k, &req) == 2 && k >= 0 &&
             k < MAX_CORES && (first < 0 || k == first); /* a connection never moves */
        first = ok ? k : first;
    }
    if (ok)
        served_by[first]++;
    else
        client_failures++;
    eddy_tcp_stream_close(s);
    return NULL;
}

static void *selftest(void *arg)
{
    eddy_task *t[CLIENTS];
    for (int i = 0; i < CLIENTS; i++)
        t[i] = eddy_spawn(client_main, arg);
    for (int i = 0; i < CLIENTS; i++)
        if (t[i])
            eddy_join(t[i], NULL);
        else
            client_failures++;
    return NULL;
}

static int run_selftest(int port, int threads)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    if (!rt)
        return 1;
    eddy_local_runtime_block_on(rt, selftest, (void *)(intptr_t)port, NULL);
    eddy_local_runtime_free(rt);
    printf("  %d connections x %d requests:", CLIENTS, ROUNDS);
    for (int i = 0; i < threads && i < MAX_CORES; i++)
        printf(" core %d served %d,", i, served_by[i]);
    printf(" %d failed\n", client_failures);
    return client_failures ? 1 : 0;
}

/* ---- the program -------------------------------------------------------- */

int main(int argc, char **argv)
{
    int port = 7010, threads = (int)sysconf(_SC_NPROCESSORS_ONLN);
    long seconds = 0;
    bool test = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--selftest") == 0) {
            test = true;
            port = 0;
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
            threads = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            seconds = atol(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--port N] [--threads T] [--seconds S] | --selftest\n",
                    argv[0]);
            return 2;
        }
    }
    if (threads < 1)
        threads = 1;
    if (threads > MAX_CORES)
        threads = MAX_CORES;
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* Blocked in every thread (they inherit the mask); main waits for them
     * with sigtimedwait below. */
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    core *cores = calloc((size_t)threads, sizeof *cores);
    eddy_mpsc_tx *ready_tx;
    eddy_mpsc_rx *ready_rx;
    eddy_channel_opts co = { .elem_size = sizeof(int) };
    if (!cores || eddy_mpsc_unbounded_channel(&co, &ready_tx, &ready_rx) < 0) {
        fprintf(stderr, "thread_per_core: out of memory\n");
        return 1;
    }

    /* Core 0 first: with port 0 it picks the port the others then share. */
    int started = 0, result = 0;
    for (int i = 0; i < threads; i++) {
        cores[i] = (core){ .index = i, .port = port, .ready = ready_tx };
        if (pthread_create(&cores[i].thread, NULL, core_thread, &cores[i]) != 0)
            break;
        started++;
        int bound = -EIO;
        if (eddy_mpsc_recv(ready_rx, &bound) < 0 || bound <= 0) { /* blocks main */
            fprintf(stderr, "thread_per_core: core %d: %s\n", i, eddy_strerror(bound));
            result = 1;
            break;
        }
        port = bound;
    }

    if (result == 0 && started == threads) {
        printf("%d threads, each with its own LocalRuntime and listener on 127.0.0.1:%d\n",
               threads, port);
        if (test) {
            result = run_selftest(port, threads);
        } else {
            struct timespec limit = { seconds > 0 ? seconds : 365L * 24 * 3600, 0 };
            int sig = sigtimedwait(&mask, NULL, &limit);
            printf("%s: stopping\n", sig > 0 ? "signal" : "time is up");
        }
    }

    /* Stop every core through its Handle, then wait for its thread. */
    for (int i = 0; i < started; i++) {
        if (cores[i].handle) {
            eddy_task *t = eddy_handle_spawn(cores[i].handle, stop_task, &cores[i]);
            eddy_join(t, NULL); /* blocks main until the core ran it */
        }
        pthread_join(cores[i].thread, NULL);
        printf("core %d: %lu connections, %lu requests\n", i, cores[i].connections,
               cores[i].requests);
        eddy_handle_release(cores[i].handle);
    }
    eddy_mpsc_tx_release(ready_tx);
    eddy_mpsc_rx_release(ready_rx);
    free(cores);
    return result;
}
