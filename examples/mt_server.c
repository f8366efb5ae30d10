/* mt_server.c — a counter service on the multi-thread runtime.
 *
 *   mt_server [--port N] [--seconds S] [--workers W]
 *       serves on 127.0.0.1:N (default 7009) with W worker threads (default:
 *       one per CPU) until SIGINT/SIGTERM or for S seconds
 *   mt_server --selftest
 *       binds a free port, runs 8 clients at once (tasks on the same
 *       runtime), checks no increment was lost, and exits (0 when all is well)
 *
 * The protocol is one command per line:
 *   INCR name    adds one to counter `name`, answers the new value
 *   GET name     answers the value (0 for a counter never incremented)
 *   STATS        answers "connections N commands N"
 *   QUIT         closes the connection
 *
 * Connection tasks are spawned with eddy_spawn on a multi-thread runtime:
 * any worker may run them, and an idle worker steals them from a busy one.
 * So everything they share is thread-safe, each piece with the tool that
 * fits it:
 *   - the counters table: an eddy_mutex (SHARED flavor). A task waiting for
 *     it suspends, and its worker thread runs other connections meanwhile;
 *   - statistics: C11 atomics, for single numbers;
 *   - the registry of open connections: a pthread mutex, because it is used
 *     on the way out of a task that may have been cancelled, where every
 *     eddy wait (eddy_mutex_lock included) returns -ECANCELED at once. Its
 *     critical sections are a few pointer updates that never suspend.
 *
 * Tasks that migrate between threads must not keep errno, pthread_self()
 * or the address of a thread-local across a suspending call (see
 * docs/GUIDE.md); this file uses none of them there.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <eddy.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* ---- the counters table, under an eddy_mutex ----------------------------- */

typedef struct counter {
    struct counter *next;
    long value;
    char name[];
} counter;

enum { BUCKETS = 256 };

static struct {
    eddy_mutex *lock;
    counter *bucket[BUCKETS];
} table;

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

/* Adds `delta` to counter `name` (creating it) and returns the new value;
 * delta 0 only reads. Negative errno on failure (-ECANCELED, -ENOMEM). */
static long table_add(const char *name, long delta)
{
    int rc = eddy_mutex_lock(table.lock); /* suspends while another task holds it */
    if (rc < 0)
        return rc;
    counter **b = &table.bucket[hash_str(name) % BUCKETS], *c = *b;
    while (c && strcmp(c->name, name) != 0)
        c = c->next;
    long v = 0;
    if (c) {
        v = c->value += delta;
    } else if (delta) {
        c = malloc(sizeof *c + strlen(name) + 1);
        if (c) {
            strcpy(c->name, name);
            v = c->value = delta;
            c->next = *b;
            *b = c;
        } else {
            v = -ENOMEM;
        }
    }
    eddy_mutex_unlock(table.lock);
    return v;
}

static void table_free(void)
{
    for (int i = 0; i < BUCKETS; i++)
        while (table.bucket[i]) {
            counter *c = table.bucket[i];
            table.bucket[i] = c->next;
            free(c);
        }
    eddy_mutex_free(table.lock);
}

/* ---- statistics: atomics -------------------------------------------------- */

static atomic_ulong stat_connections, stat_commands;

/* ---- the registry of open connections: a pthread mutex ------------------- */

typedef struct conn {
    struct conn *prev, *next;
    eddy_tcp_stream *s;
} conn;

static struct {
    pthread_mutex_t lock;
    conn *list;
    int open;
    bool stopping;
    eddy_notify *all_closed; /* SHARED flavor: notified from any worker */
} reg = { .lock = PTHREAD_MUTEX_INITIALIZER };

static bool registry_add(conn *c)
{
    pthread_mutex_lock(&reg.lock);
    bool ok = !reg.stopping;
    if (ok) {
        c->next = reg.list;
        if (c->next)
            c->next->prev = c;
        reg.list = c;
        reg.open++;
    }
    pthread_mutex_unlock(&reg.lock);
    return ok;
}

static void registry_remove(conn *c)
{
    pthread_mutex_lock(&reg.lock);
    if (c->prev)
        c->prev->next = c->next;
    else
        reg.list = c->next;
    if (c->next)
        c->next->prev = c->prev;
    bool last = --reg.open == 0 && reg.stopping;
    pthread_mutex_unlock(&reg.lock);
    if (last)
        eddy_notify_one(reg.all_closed);
}

/* ---- connections ---------------------------------------------------------- */

typedef struct line_reader {
    size_t len;
    char buf[512];
} line_reader;

/* Reads one line (without "\n" or "\r\n") into `line`. Returns its length,
 * 0 at end of stream, or a negative errno (-ETIMEDOUT, -ECANCELED, ...). */
static ssize_t read_line(eddy_tcp_stream *s, line_reader *r, char *line, size_t size,
                         eddy_instant deadline)
{
    char *nl;
    while (!(nl = memchr(r->buf, '\n', r->len))) {
        if (r->len == sizeof r->buf)
            return -EMSGSIZE;
        ssize_t n = eddy_tcp_read_until(s, r->buf + r->len, sizeof r->buf - r->len, deadline);
        if (n <= 0)
            return n;
        r->len += (size_t)n;
    }
    size_t l = (size_t)(nl - r->buf);
    size_t keep = l > 0 && r->buf[l - 1] == '\r' ? l - 1 : l;
    snprintf(line, size, "%.*s", (int)keep, r->buf);
    memmove(r->buf, nl + 1, r->len - l - 1);
    r->len -= l + 1;
    return (ssize_t)l + 1;
}

/* Answers one command into `out`; false for QUIT. */
static bool run_command(const char *line, char *out, size_t size)
{
    atomic_fetch_add(&stat_commands, 1);
    long v;
    if (strncmp(line, "INCR ", 5) == 0 && line[5]) {
        v = table_add(line + 5, 1);
        if (v < 0)
            snprintf(out, size, "ERR %s\n", eddy_strerror((int)v));
        else
            snprintf(out, size, "%ld\n", v);
    } else if (strncmp(line, "GET ", 4) == 0 && line[4]) {
        v = table_add(line + 4, 0);
        snprintf(out, size, "%ld\n", v);
    } else if (strcmp(line, "STATS") == 0) {
        snprintf(out, size, "connections %lu commands %lu\n",
                 atomic_load(&stat_connections), atomic_load(&stat_commands));
    } else if (strcmp(line, "QUIT") == 0) {
        return false;
    } else {
        snprintf(out, size, "ERR commands: INCR name, GET name, STATS, QUIT\n");
    }
    return true;
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    line_reader *r = calloc(1, sizeof *r);
    char line[256], out[300];
    /* An idle connection is closed after a minute. */
    while (r && read_line(c->s, r, line, sizeof line, eddy_deadline_in(60000)) > 0) {
        if (!run_command(line, out, sizeof out) ||
            eddy_tcp_write_all(c->s, out, strlen(out), NULL) < 0)
            break;
    }
    /* Cleanup without a single eddy wait: it also runs in a cancelled task. */
    free(r);
    registry_remove(c);
    eddy_tcp_stream_close(c->s);
    free(c);
    return NULL;
}

static eddy_tcp_listener *listener;

static void *accept_loop(void *arg)
{
    (void)arg;
    for (;;) {
        eddy_tcp_stream *s;
        int rc = eddy_tcp_accept(listener, &s, NULL);
        if (rc == -ECANCELED)
            break;
        if (rc < 0) {
            if (eddy_sleep(50) < 0)
                break;
            continue;
        }
        conn *c = calloc(1, sizeof *c);
        if (c)
            c->s = s;
        if (!c || !registry_add(c)) { /* out of memory, or stopping */
            eddy_tcp_stream_close(s);
            free(c);
            continue;
        }
        atomic_fetch_add(&stat_connections, 1);
        eddy_task *t = eddy_spawn(conn_main, c); /* migratable: any worker */
        if (!t) {
            registry_remove(c);
            eddy_tcp_stream_close(s);
            free(c);
            continue;
        }
        eddy_detach(t);
    }
    eddy_tcp_listener_close(listener);
    return NULL;
}

/* Stops gracefully: no new connections; every open one is made to see end
 * of stream (shutdown of its read side), so its task finishes the command
 * it is on and leaves through its ordinary path. */
static void stop_server(eddy_task *acceptor)
{
    eddy_abort(acceptor);
    eddy_join(acceptor, NULL);
    pthread_mutex_lock(&reg.lock);
    reg.stopping = true;
    int open = reg.open;
    for (conn *c = reg.list; c; c = c->next)
        eddy_tcp_shutdown(c->s, SHUT_RD);
    pthread_mutex_unlock(&reg.lock);
    /* notify_one stores a permit when nobody waits, so the last close is
     * not missed even if it happened before this wait. */
    if (open > 0)
        eddy_notify_wait_until(reg.all_closed, eddy_deadline_in(2000));
}

/* Waits for SIGINT or SIGTERM through a signalfd (see echo_server.c). */
static void *wait_for_signal(void *arg)
{
    (void)arg;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    eddy_async_fd *afd = fd >= 0 ? eddy_async_fd_new(fd) : NULL;
    while (afd) {
        int ready = eddy_async_fd_wait(afd, EDDY_IO_READABLE, EDDY_INSTANT_NEVER);
        if (ready < 0)
            break;
        struct signalfd_siginfo si;
        if (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
            break;
        eddy_async_fd_clear(afd, (unsigned)ready);
    }
    eddy_async_fd_free(afd);
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* ---- --selftest ------------------------------------------------------------ */

enum { CLIENTS = 8, ROUNDS = 200 };

typedef struct client {
    int port, id;
    bool ok;
} client;

/* Sends a command and reads the one-line answer. */
static bool ask(eddy_tcp_stream *s, line_reader *r, const char *cmd, char *ans, size_t size)
{
    eddy_instant deadline = eddy_deadline_in(5000); /* a test never hangs */
    return eddy_tcp_write_all_until(s, cmd, strlen(cmd), NULL, deadline) == 0 &&
           read_line(s, r, ans, size, deadline) > 0;
}

/* Increments the shared counter and one of its own, ROUNDS times each. */
static void *client_main(void *arg)
{
    client *cl = arg;
    eddy_tcp_stream *s;
    line_reader *r = calloc(1, sizeof *r);
    if (!r || eddy_tcp_connect("127.0.0.1", (uint16_t)cl->port, &s) < 0) {
        free(r);
        return NULL;
    }
    char own[32], ans[64];
    snprintf(own, sizeof own, "INCR client%d\n", cl->id);
    cl->ok = true;
    for (int i = 1; i <= ROUNDS && cl->ok; i++) {
        cl->ok = ask(s, r, "INCR shared\n", ans, sizeof ans) && atol(ans) >= i &&
                 ask(s, r, own, ans, sizeof ans) && atol(ans) == i;
    }
    eddy_tcp_write_all(s, "QUIT\n", 5, NULL);
    eddy_tcp_stream_close(s);
    free(r);
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
    /* Every increment of every client must be there. */
    eddy_tcp_stream *s;
    line_reader *r = calloc(1, sizeof *r);
    char shared[64] = "", stats[96] = "";
    if (r && eddy_tcp_connect("127.0.0.1", (uint16_t)port, &s) == 0) {
        ask(s, r, "GET shared\n", shared, sizeof shared);
        ask(s, r, "STATS\n", stats, sizeof stats);
        eddy_tcp_stream_close(s);
    }
    free(r);
    printf("  %d clients x %d INCR shared: GET shared = %s (want %d); %s\n", CLIENTS, ROUNDS,
           shared, CLIENTS * ROUNDS, stats);
    if (atol(shared) != CLIENTS * ROUNDS)
        failed++;
    printf("  %s\n", failed ? "FAILED" : "no increment lost");
    return failed;
}

/* ---- the program -------------------------------------------------------- */

typedef struct options {
    int port;
    long seconds;
    unsigned workers;
    bool selftest;
    int result;
} options;

static void *root(void *arg)
{
    options *o = arg;
    listener = eddy_tcp_listen("127.0.0.1", (uint16_t)o->port, NULL);
    if (!listener) {
        fprintf(stderr, "mt_server: 127.0.0.1:%d: %s\n", o->port, eddy_strerror(errno));
        o->result = 1;
        return NULL;
    }
    int port = eddy_tcp_listener_port(listener);
    printf("counter service on 127.0.0.1:%d\n", port);
    eddy_task *acceptor = eddy_spawn(accept_loop, NULL);

    if (o->selftest)
        o->result = selftest(port) ? 1 : 0;
    else if (o->seconds > 0)
        eddy_timeout((uint64_t)o->seconds * 1000, wait_for_signal, NULL, NULL);
    else
        eddy_join(eddy_spawn(wait_for_signal, NULL), NULL);

    stop_server(acceptor);
    printf("stopped after %lu connections and %lu commands\n",
           atomic_load(&stat_connections), atomic_load(&stat_commands));
    return NULL;
}

int main(int argc, char **argv)
{
    options o = { .port = 7009 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--selftest") == 0) {
            o.selftest = true;
            o.port = 0;
            o.workers = o.workers ? o.workers : 2;
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            o.port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            o.seconds = atol(argv[++i]);
        } else if (strcmp(argv[i], "--workers") == 0 && i + 1 < argc) {
            o.workers = (unsigned)atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--port N] [--seconds S] [--workers W] | --selftest\n",
                    argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    sigset_t mask; /* blocked before the workers exist: they inherit it */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    table.lock = eddy_mutex_new(EDDY_SYNC_SHARED);
    reg.all_closed = eddy_notify_new(EDDY_SYNC_SHARED);
    eddy_runtime_opts opts = { .flavor = EDDY_FLAVOR_MULTI_THREAD,
                               .worker_threads = o.workers };
    eddy_runtime *rt = table.lock && reg.all_closed ? eddy_runtime_new(&opts) : NULL;
    if (!rt) {
        perror("mt_server: setup");
        return 1;
    }
    eddy_runtime_block_on(rt, root, &o, NULL);
    /* Ends the runtime: a connection that ignored the stop is cancelled
     * and cleans up after itself; one whose task never got to run is
     * dropped, so the registry is emptied here. */
    eddy_runtime_free(rt);
    while (reg.list) {
        conn *c = reg.list;
        reg.list = c->next;
        eddy_tcp_stream_close(c->s);
        free(c);
    }
    table_free();
    eddy_notify_free(reg.all_closed);
    return o.result;
}
