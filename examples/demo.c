/* demo.c — the eddy showcase (`make demo`).
 *
 * One program, two runtimes, about five seconds:
 *
 *   server thread                          main thread + 2 load workers
 *   ─────────────                          ────────────────────────────
 *   LocalRuntime                           multi-thread Runtime
 *     acceptor task                          16 client tasks, each a
 *     one task per connection  <── HTTP ──   keep-alive connection firing
 *     stats ticker (eddy_interval)           requests and timing them
 *     route counters, cache: plain C,
 *     no locks (one thread)          <── Handle ── tasks handed over
 *                                              (purge, in-flight, shutdown)
 *     /primes, /slow ──> blocking pool
 *
 * The server runs on a LocalRuntime, so all its tasks run on its one
 * thread and share a plain hash map of per-route counters and a cache of
 * refcounted entries without a lock or an atomic. Work that would stall
 * that thread (CPU-heavy /primes, blocking /slow) goes to the blocking pool
 * with eddy_spawn_blocking; only the requesting connection waits for it.
 * Other threads never touch the server's state: they hand it tasks through
 * its Handle (eddy_handle_spawn), which run on the server thread.
 *
 * At the end the load stops, two stragglers arrive (a slow request and a
 * client that sends half a request and goes quiet), and the server shuts
 * down gracefully: it stops accepting, closes idle keep-alive connections,
 * lets in-flight requests finish until a deadline, cancels what is left
 * (eddy_abort: the task unwinds through its error paths), and ends its
 * runtime. Then the report.
 *
 *   demo            the full run (about 5 s)
 *   demo --quick    a short run (also: EDDY_DEMO_QUICK=1), e.g. under valgrind
 *
 * Everything listens and connects on 127.0.0.1 only. The numbers printed
 * depend on the machine; nothing timing-dependent decides the exit status,
 * which is 0 unless something actually broke (a refused connection, a wrong
 * answer).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "demo_http.h" /* just enough HTTP/1.1 */
#include "demo_load.h" /* the client tasks that make the load */

#include <eddy.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PTR(i) ((void *)(intptr_t)(i))
#define INT(p) ((long)(intptr_t)(p))

/* ====================================================================== */
/* Configuration and a log line with a timestamp                           */

typedef struct demo_config {
    int clients;     /* load connections */
    int load_ms;     /* how long they fire requests */
    int slow_ms;     /* the straggler's /slow request */
    int drain_ms;    /* shutdown: how long in-flight requests may take */
} demo_config;

static const demo_config full_run = { .clients = 16, .load_ms = 4000, .slow_ms = 300,
                                      .drain_ms = 1000 };
static const demo_config quick_run = { .clients = 4, .load_ms = 1000, .slow_ms = 100,
                                       .drain_ms = 400 };

enum {
    CACHE_SLOTS = 16,         /* direct-mapped: some of the CACHE_KEYS evict others */
    CACHE_BODY = 4096,        /* bytes per entry: sent without a copy */
    KEEPALIVE_IDLE_MS = 10000 /* a keep-alive connection idle this long is closed */
};

static eddy_instant t_start; /* eddy_now() works on any thread */

/* Prints "[  1.0s] who: message" as one write, so lines from the server
 * thread and the load threads never interleave. */
__attribute__((format(printf, 2, 3)))
static void say(const char *who, const char *fmt, ...)
{
    char line[512];
    int n = snprintf(line, sizeof line, "  [%5.2fs] %-6s ",
                     (double)(eddy_now() - t_start) / 1e9, who);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    puts(line);
}

/* ====================================================================== */
/* Server state: plain C, owned by the server thread                       */

/* Per-route hit counters: a small chained hash map, non-atomic counts. */
typedef struct route_count {
    struct route_count *next;
    unsigned long hits;
    char name[];
} route_count;

typedef struct counters {
    route_count *bucket[16];
} counters;

static unsigned hash_str(const char *s)
{
    unsigned h = 2166136261u; /* FNV-1a */
    while (*s)
        h = (h ^ (unsigned char)*s++) * 16777619u;
    return h;
}

static void counters_hit(counters *m, const char *name)
{
    route_count **b = &m->bucket[hash_str(name) % 16];
    for (route_count *r = *b; r; r = r->next)
        if (strcmp(r->name, name) == 0) {
            r->hits++;
            return;
        }
    route_count *r = malloc(sizeof *r + strlen(name) + 1);
    if (!r)
        return; /* a lost count is not worth failing a request for */
    strcpy(r->name, name);
    r->hits = 1;
    r->next = *b;
    *b = r;
}

static unsigned long counters_get(const counters *m, const char *name)
{
    for (route_count *r = m->bucket[hash_str(name) % 16]; r; r = r->next)
        if (strcmp(r->name, name) == 0)
            return r->hits;
    return 0;
}

static void counters_free(counters *m)
{
    for (int i = 0; i < 16; i++)
        while (m->bucket[i]) {
            route_count *r = m->bucket[i];
            m->bucket[i] = r->next;
            free(r);
        }
}

/* The cache: rendered pages, each with a plain int refcount. The cache
 * holds one reference; a response being written holds another, because it
 * sends the body straight from the entry and its writes may suspend, and
 * while it is suspended other tasks may evict or purge the entry. The
 * count needs no atomics: every task touching it runs on this thread. */
typedef struct cache_entry {
    int refs;
    unsigned key;
    size_t len;
    char body[];
} cache_entry;

typedef struct cache {
    cache_entry *slot[CACHE_SLOTS];
    unsigned long hits, misses, evictions, purged;
    int alive; /* entries not yet freed: in the cache or held by a response */
} cache;

static void entry_unref(cache *c, cache_entry *e)
{
    if (--e->refs == 0) {
        free(e);
        c->alive--;
    }
}

/* Returns the page for `key` with a reference for the caller, rendering
 * it on a miss; NULL when out of memory. */
static cache_entry *cache_get(cache *c, unsigned key)
{
    cache_entry **slot = &c->slot[key % CACHE_SLOTS];
    if (*slot && (*slot)->key == key) {
        c->hits++;
        (*slot)->refs++;
        return *slot;
    }
    cache_entry *e = malloc(sizeof *e + CACHE_BODY);
    if (!e)
        return NULL;
    c->misses++;
    c->alive++;
    e->key = key;
    e->len = CACHE_BODY;
    int n = snprintf(e->body, CACHE_BODY, "cache entry %u\n", key);
    for (size_t i = (size_t)n; i < CACHE_BODY; i++)
        e->body[i] = (i % 64 == 63) ? '\n' : (char)('a' + (key + i) % 26);
    if (*slot) { /* direct-mapped: the new page takes the slot */
        c->evictions++;
        entry_unref(c, *slot);
    }
    e->refs = 2; /* the cache's and the caller's */
    *slot = e;
    return e;
}

/* Drops the cache's references to every entry; returns how many. An
 * entry a response still holds lives on until that response is sent. */
static int cache_purge(cache *c)
{
    int n = 0;
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (c->slot[i]) {
            entry_unref(c, c->slot[i]);
            c->slot[i] = NULL;
            n++;
        }
    return n;
}

typedef struct conn conn;

typedef struct server {
    const demo_config *cfg;
    eddy_oneshot_tx *ready;   /* tells main the port and the Handle */
    eddy_handle *handle;
    eddy_tcp_listener *listener;
    counters routes;
    cache cache;
    conn *conns;              /* open connections (a plain list) */
    int nconns;
    unsigned long requests, blocking_jobs, handle_tasks;
    bool draining;            /* shutdown began: finish the request, then close */
    eddy_notify *stop;        /* LOCAL flavor: begin_shutdown -> server_main */
    eddy_notify *conn_gone;   /* LOCAL flavor: a connection ended */
    int idle_closed, drained, cancelled; /* what the shutdown did */
} server;

/* What the server thread tells main once it listens. */
typedef struct server_info {
    int port; /* 0: the server could not start */
    eddy_handle *handle;
} server_info;

/* ====================================================================== */
/* Requests                                                                */

struct conn {
    conn *prev, *next;
    server *srv;
    eddy_task *task;   /* this connection's task, for eddy_abort */
    bool started;      /* the task has run (a task aborted before it runs never runs) */
    bool handling;     /* between a complete request and its response */
    http_conn http;
};

/* A connection is in the middle of a request while handling one or while
 * part of the next one sits in its buffer; otherwise it is idle. */
static bool conn_busy(const conn *c)
{
    return c->handling || c->http.len > 0;
}

/* Blocking-pool work: plain functions, run on pool threads. They take and
 * return plain numbers, so a result nobody waits for any more (the
 * connection was cancelled) costs nothing. */
static void *count_primes(void *arg)
{
    long limit = INT(arg), count = 0;
    for (long n = 2; n < limit; n++) {
        bool prime = true;
        for (long d = 2; d * d <= n; d++)
            if (n % d == 0) {
                prime = false;
                break;
            }
        count += prime;
    }
    return PTR(count);
}

static void *blocking_sleep(void *arg) /* stands for a blocking library call */
{
    long ms = INT(arg);
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
    return arg;
}

/* Runs fn on the blocking pool and waits for it. Only this connection's
 * task waits; the server thread keeps serving everyone else. */
static int offload(server *srv, eddy_task_fn fn, long arg, long *out)
{
    *out = 0;
    eddy_task *t = eddy_spawn_blocking(fn, PTR(arg));
    if (!t)
        return -errno;
    srv->blocking_jobs++;
    void *res = NULL;
    int rc = eddy_join(t, &res); /* -ECANCELED if this task is aborted */
    *out = INT(res);
    return rc;
}

static long query_long(const char *path, const char *key, long def, long max)
{
    const char *q = strchr(path, '?');
    size_t klen = strlen(key);
    for (; q; q = strchr(q + 1, '&'))
        if (strncmp(q + 1, key, klen) == 0 && q[1 + klen] == '=') {
            long v = strtol(q + 2 + klen, NULL, 10);
            return v < 0 ? def : v > max ? max : v;
        }
    return def;
}

/* Serves one request whose head is at the start of the buffer. Returns
 * true to keep the connection open for the next one. */
static bool serve_request(server *srv, conn *c, size_t head_len)
{
    http_request req;
    int prc = http_parse_request(c->http.buf, head_len, &req);
    http_consume(&c->http, head_len); /* GET requests have no body */
    srv->requests++;

    int status = 200;
    char small[1024];
    const char *body = small;
    size_t len = 0;
    cache_entry *entry = NULL; /* held while its body is being sent */
    long v;

    if (prc < 0) {
        counters_hit(&srv->routes, "(bad request)");
        status = 400;
        req.keep_alive = false;
        len = (size_t)snprintf(small, sizeof small, "bad request\n");
    } else if (strcmp(req.method, "GET") != 0) {
        counters_hit(&srv->routes, "(not GET)");
        status = 405;
        len = (size_t)snprintf(small, sizeof small, "only GET here\n");
    } else if (strcmp(req.path, "/") == 0) {
        counters_hit(&srv->routes, "/");
        len = (size_t)snprintf(small, sizeof small, "Hello from eddy!\n");
    } else if (strncmp(req.path, "/cache/", 7) == 0) {
        counters_hit(&srv->routes, "/cache");
        entry = cache_get(&srv->cache, (unsigned)strtoul(req.path + 7, NULL, 10) % CACHE_KEYS);
        if (!entry)
            return false;
        body = entry->body;
        len = entry->len;
    } else if (strncmp(req.path, "/primes", 7) == 0) {
        counters_hit(&srv->routes, "/primes");
        long n = query_long(req.path, "n", PRIMES_N, 10000000);
        if (offload(srv, count_primes, n, &v) < 0)
            return false; /* cancelled: the pool job finishes on its own */
        len = (size_t)snprintf(small, sizeof small, "%ld primes below %ld\n", v, n);
    } else if (strncmp(req.path, "/slow", 5) == 0) {
        counters_hit(&srv->routes, "/slow");
        if (offload(srv, blocking_sleep, query_long(req.path, "ms", 100, 5000), &v) < 0)
            return false;
        len = (size_t)snprintf(small, sizeof small, "slept %ld ms on the blocking pool\n", v);
    } else if (strcmp(req.path, "/stats") == 0) {
        counters_hit(&srv->routes, "/stats");
        for (int i = 0; i < 16; i++)
            for (route_count *r = srv->routes.bucket[i]; r; r = r->next)
                if (len < sizeof small - 64)
                    len += (size_t)snprintf(small + len, sizeof small - len, "%-14s %lu\n",
                                            r->name, r->hits);
    } else {
        counters_hit(&srv->routes, "(404)");
        status = 404;
        len = (size_t)snprintf(small, sizeof small, "no route %s\n", req.path);
    }

    /* Decided now, not when the request came in: the server may have
     * started to drain while this request waited on the blocking pool. */
    bool keep = req.keep_alive && !srv->draining;
    int rc = http_write_response(c->http.s, status, body, len, keep,
                                 eddy_deadline_in(KEEPALIVE_IDLE_MS));
    if (entry)
        entry_unref(&srv->cache, entry);
    if (rc == 0 && srv->draining)
        say("server", "in-flight GET %s answered during the drain; connection closed", req.path);
    return rc == 0 && keep;
}

/* Ends a connection: called by its own task on every way out, none of
 * which suspends, so it also runs to the end in a cancelled task. */
static void conn_close(server *srv, conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    eddy_tcp_stream_close(c->http.s);
    eddy_detach(c->task); /* our own join handle: nobody joins connection tasks */
    free(c);
    eddy_notify_one(srv->conn_gone);
}

/* One task per connection: read a request, answer it, again (keep-alive). */
static void *conn_main(void *arg)
{
    conn *c = arg;
    server *srv = c->srv;
    c->started = true;
    while (!srv->draining) {
        ssize_t head = http_read_head(&c->http, eddy_deadline_in(KEEPALIVE_IDLE_MS));
        if (head <= 0)
            break; /* closed, idle too long, cancelled, or garbage */
        c->handling = true;
        bool keep = serve_request(srv, c, (size_t)head);
        c->handling = false;
        if (!keep)
            break;
    }
    conn_close(srv, c);
    return NULL;
}

static void *accept_loop(void *arg)
{
    server *srv = arg;
    for (;;) {
        eddy_tcp_stream *s;
        int rc = eddy_tcp_accept(srv->listener, &s, NULL);
        if (rc == -ECANCELED)
            break; /* the shutdown aborted this task: stop accepting */
        if (rc < 0) {
            /* e.g. -EMFILE: the connection stays queued; back off a little */
            if (eddy_sleep(10) == -ECANCELED)
                break;
            continue;
        }
        eddy_tcp_set_nodelay(s, true); /* small responses: do not wait for ACKs */
        conn *c = calloc(1, sizeof *c);
        if (c) {
            c->srv = srv;
            c->http.s = s;
            /* On a LocalRuntime eddy_spawn and eddy_spawn_local are the same:
             * the task stays on this thread. It starts once we suspend,
             * so c->task is set before it runs. */
            c->task = eddy_spawn(conn_main, c);
        }
        if (!c || !c->task) {
            eddy_tcp_stream_close(s);
            free(c);
            continue;
        }
        c->next = srv->conns;
        if (c->next)
            c->next->prev = c;
        srv->conns = c;
        srv->nconns++;
    }
    eddy_tcp_listener_close(srv->listener);
    return NULL;
}

/* The periodic stats line: an interval ticking every second. */
static void *stats_ticker(void *arg)
{
    server *srv = arg;
    eddy_interval *iv = eddy_interval_new(1000, EDDY_MISSED_TICK_SKIP);
    if (!iv)
        return NULL;
    eddy_instant prev_at = 0;
    unsigned long prev_requests = 0;
    eddy_instant at;
    while (eddy_interval_tick(iv, &at) == 0) { /* the first tick is at once */
        if (prev_at)
            say("server", "%6.0f req/s  %3d connections  %2d pages cached  %lu pool jobs",
                (double)(srv->requests - prev_requests) * 1e9 / (double)(at - prev_at),
                srv->nconns, srv->cache.alive, srv->blocking_jobs);
        prev_at = at;
        prev_requests = srv->requests;
    }
    eddy_interval_free(iv); /* reached when the shutdown aborts this task */
    return NULL;
}

/* Graceful shutdown, on the server thread. */
static void graceful_shutdown(server *srv, eddy_task *acceptor)
{
    /* 1. Stop accepting: the acceptor's eddy_tcp_accept returns -ECANCELED,
     *    and it closes the listener on its way out. */
    eddy_abort(acceptor);
    eddy_join(acceptor, NULL);
    srv->draining = true;

    /* 2. Idle keep-alive connections lose nothing by being closed now.
     *    (A task that has not run yet is left alone: aborted, it would
     *    never run to free its connection; it will see `draining`.) */
    int busy = 0;
    for (conn *c = srv->conns; c; c = c->next) {
        if (conn_busy(c)) {
            busy++;
        } else {
            srv->idle_closed++;
            if (c->started)
                eddy_abort(c->task);
        }
    }
    say("server", "shutdown: stopped accepting, closing %d idle connections, "
        "%d requests in flight (deadline %d ms)", srv->idle_closed, busy, srv->cfg->drain_ms);

    /* 3. Let in-flight requests finish, up to the deadline. */
    eddy_instant deadline = eddy_deadline_in((uint64_t)srv->cfg->drain_ms);
    while (srv->nconns > 0 && eddy_notify_wait_until(srv->conn_gone, deadline) == 0) {
    }

    /* 4. Past the deadline: cancel the rest. Their reads (or joins) return
     *    -ECANCELED and they leave through conn_close, which frees them. */
    srv->cancelled = srv->nconns;
    srv->drained = busy - srv->cancelled;
    if (srv->cancelled > 0)
        say("server", "deadline: cancelling %d connection(s) still mid-request", srv->cancelled);
    for (conn *c = srv->conns; c; c = c->next)
        if (c->started)
            eddy_abort(c->task);
    while (srv->nconns > 0 && eddy_notify_wait(srv->conn_gone) == 0) {
    }
}

static void publish(server *srv, int port)
{
    server_info info = { .port = port, .handle = srv->handle };
    eddy_oneshot_send(srv->ready, &info); /* consumes the sender */
    srv->ready = NULL;
}

/* The server's root task: block_on runs it, and every other server task,
 * on the server thread until it returns. */
static void *server_main(void *arg)
{
    server *srv = arg;
    /* LOCAL-flavor primitives: no locks or atomics, owned by this thread. */
    srv->stop = eddy_notify_new(EDDY_SYNC_LOCAL);
    srv->conn_gone = eddy_notify_new(EDDY_SYNC_LOCAL);
    srv->listener = eddy_tcp_listen("127.0.0.1", 0, NULL); /* loopback, any free port */
    if (!srv->stop || !srv->conn_gone || !srv->listener) {
        perror("demo: server");
        eddy_tcp_listener_close(srv->listener);
        publish(srv, 0);
        return NULL;
    }
    eddy_task *acceptor = eddy_spawn(accept_loop, srv);
    eddy_task *ticker = eddy_spawn(stats_ticker, srv);
    publish(srv, eddy_tcp_listener_port(srv->listener));

    eddy_notify_wait(srv->stop); /* until a begin_shutdown task arrives */
    eddy_abort(ticker);          /* its interval wait returns -ECANCELED */
    eddy_join(ticker, NULL);
    graceful_shutdown(srv, acceptor);
    return NULL;
}

static void *server_thread(void *arg)
{
    server *srv = arg;
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL); /* bound to this thread */
    if (!rt) {
        perror("demo: eddy_local_runtime_new");
        publish(srv, 0);
        return NULL;
    }
    srv->handle = eddy_local_runtime_handle(rt); /* for main; counted, thread-safe */
    eddy_local_runtime_block_on(rt, server_main, srv, NULL);
    /* Cancels anything left and waits (here at most 2 s) for blocking-pool
     * work still running, e.g. a job whose connection was cancelled. */
    int rc = eddy_local_runtime_shutdown_timeout(rt, 2000);
    say("server", "runtime shut down%s", rc == 0 ? "" : " (blocking work left running)");
    cache_purge(&srv->cache); /* responses are done: this frees the last pages */
    eddy_notify_free(srv->stop);
    eddy_notify_free(srv->conn_gone);
    return NULL;
}

/* ---- Tasks handed to the server through its Handle ---------------------
 * Another thread calls eddy_handle_spawn(handle, fn, srv): fn runs on the
 * server thread, so it may touch the server's plain state. The `srv`
 * pointer crosses threads, but is only dereferenced over there. */

static void *purge_cache_task(void *arg)
{
    server *srv = arg;
    srv->handle_tasks++;
    int n = cache_purge(&srv->cache);
    srv->cache.purged += (unsigned long)n;
    return PTR(n);
}

static void *in_flight_task(void *arg)
{
    server *srv = arg;
    srv->handle_tasks++;
    long n = 0;
    for (conn *c = srv->conns; c; c = c->next)
        n += conn_busy(c);
    return PTR(n);
}

static void *begin_shutdown_task(void *arg)
{
    server *srv = arg;
    srv->handle_tasks++;
    eddy_notify_one(srv->stop);
    return NULL;
}

/* Hands fn to the server and waits for its result. The join suspends only
 * the calling task; the server thread wakes it when fn is done. */
static long server_call(eddy_handle *h, eddy_task_fn fn, server *srv)
{
    eddy_task *t = eddy_handle_spawn(h, fn, srv);
    if (!t)
        return -errno;
    void *res = NULL;
    int rc = eddy_join(t, &res);
    return rc < 0 ? rc : INT(res);
}

/* ====================================================================== */
/* Load: orchestrated from a task of the multi-thread runtime              */
/* (the client tasks themselves are in demo_load.h)                       */

typedef struct load {
    const demo_config *cfg;
    server_info server;
    server *srv;          /* only passed to tasks handed to the server */
    client *clients;
    double load_secs;
    int purged;
    eddy_instant shutdown_at;
    straggler slow, stalled;
    int failures;         /* connection or protocol failures: exit status 1 */
} load;

/* The load's root task, on the multi-thread runtime. */
static void *load_main(void *arg)
{
    load *L = arg;
    const demo_config *cfg = L->cfg;
    eddy_handle *h = L->server.handle;
    eddy_semaphore *done = eddy_semaphore_new(EDDY_SYNC_SHARED, 0);
    eddy_task **tasks = calloc((size_t)cfg->clients, sizeof *tasks);
    if (!done || !tasks) {
        L->failures++;
        eddy_semaphore_free(done);
        free(tasks);
        return NULL;
    }

    /* The clients: migratable tasks, spread over the two workers. */
    eddy_instant start = eddy_now();
    for (int i = 0; i < cfg->clients; i++) {
        client *cl = &L->clients[i];
        cl->id = i;
        cl->port = L->server.port;
        cl->end = start + (uint64_t)cfg->load_ms * 1000000u;
        cl->done = done;
        tasks[i] = eddy_spawn(client_main, cl);
        if (!tasks[i]) {
            L->failures++;
            eddy_semaphore_release(done, 1);
        }
    }

    /* Half-way, purge the server's cache from here: a task handed over
     * through the Handle, since this thread must not touch it itself. */
    eddy_sleep((uint64_t)cfg->load_ms / 2);
    L->purged = (int)server_call(h, purge_cache_task, L->srv);
    say("load", "purged the server's cache through its Handle: %d pages dropped", L->purged);

    eddy_semaphore_acquire(done, (size_t)cfg->clients); /* every load loop ended */
    L->load_secs = (double)(eddy_now() - start) / 1e9;
    say("load", "load over; stragglers: GET /slow?ms=%d and a half-sent request",
        cfg->slow_ms);

    L->slow = L->stalled = (straggler){ .port = L->server.port, .slow_ms = cfg->slow_ms };
    eddy_task *slow = eddy_spawn(slow_client, &L->slow);
    eddy_task *stalled = eddy_spawn(stalled_client, &L->stalled);
    /* Ask the server (through the Handle again) until it sees both. */
    for (int i = 0; i < 2000 && server_call(h, in_flight_task, L->srv) < 2; i++)
        eddy_sleep(1);

    L->shutdown_at = eddy_now();
    say("load", "asking the server to shut down, through its Handle");
    server_call(h, begin_shutdown_task, L->srv);

    eddy_join(slow, NULL);
    eddy_join(stalled, NULL);
    for (int i = 0; i < cfg->clients; i++)
        if (tasks[i])
            eddy_join(tasks[i], NULL);
    free(tasks);
    eddy_semaphore_free(done);
    return NULL;
}

/* ====================================================================== */

static void report(load *L, server *srv)
{
    const demo_config *cfg = L->cfg;
    lat_vec all = { 0 }, primes = { 0 };
    unsigned long requests = 0, errors = 0;
    int closed = 0;
    for (int i = 0; i < cfg->clients; i++) {
        client *cl = &L->clients[i];
        lat_append(&all, &cl->all);
        lat_append(&primes, &cl->primes);
        requests += cl->requests;
        errors += cl->errors;
        closed += cl->closed_by_server;
        free(cl->all.v);
        free(cl->primes.v);
    }
    double p50 = lat_pct_ms(&all, 50), p99 = lat_pct_ms(&all, 99);
    double pp50 = lat_pct_ms(&primes, 50), pp99 = lat_pct_ms(&primes, 99);
    free(all.v);
    free(primes.v);
    L->failures += (int)errors;

    printf("\nreport\n");
    printf("  requests   %lu in %.2f s = %.0f req/s from %d keep-alive connections, "
           "%lu errors\n", requests, L->load_secs, (double)requests / L->load_secs,
           cfg->clients, errors);
    printf("  latency    p50 %.3f ms, p99 %.3f ms; /primes on the blocking pool: "
           "p50 %.3f ms, p99 %.3f ms\n", p50, p99, pp50, pp99);
    printf("  routes     /: %lu  /cache: %lu  /primes: %lu  /slow: %lu  other: %lu"
           "   (a plain hash map, no locks)\n",
           counters_get(&srv->routes, "/"), counters_get(&srv->routes, "/cache"),
           counters_get(&srv->routes, "/primes"), counters_get(&srv->routes, "/slow"),
           srv->requests - counters_get(&srv->routes, "/") -
               counters_get(&srv->routes, "/cache") -
               counters_get(&srv->routes, "/primes") - counters_get(&srv->routes, "/slow"));
    printf("  cache      %lu hits, %lu misses, %lu evictions, %lu purged; "
           "pages still allocated: %d   (non-atomic refcounts)\n",
           srv->cache.hits, srv->cache.misses, srv->cache.evictions, srv->cache.purged,
           srv->cache.alive);
    printf("  pool       %lu jobs ran on the blocking pool while the server thread "
           "kept serving\n", srv->blocking_jobs);
    printf("  handle     %lu tasks handed to the server thread from load threads\n",
           srv->handle_tasks);
    printf("  shutdown   %d idle connections closed (%d clients saw it), %d in-flight "
           "drained, %d cancelled at the deadline\n",
           srv->idle_closed, closed, srv->drained, srv->cancelled);
    if (L->slow.status)
        printf("             /slow answered %d%s %.0f ms after the shutdown began\n",
               L->slow.status, L->slow.told_to_close ? " with \"Connection: close\"" : "",
               (double)(int64_t)(L->slow.ended - L->shutdown_at) / 1e6);
    if (L->stalled.closed)
        printf("             the half-sent request was cut off after %.0f ms\n",
               (double)(int64_t)(L->stalled.ended - L->shutdown_at) / 1e6);

    /* Failures are things that must not happen whatever the timing. */
    if (L->slow.status != 200 || !L->stalled.closed || srv->cache.alive != 0 ||
        closed != cfg->clients) {
        L->failures++;
        printf("  !! the shutdown did not go as it should\n");
    }
}

int main(int argc, char **argv)
{
    const demo_config *cfg = &full_run;
    const char *q = getenv("EDDY_DEMO_QUICK");
    if ((q && *q && strcmp(q, "0") != 0) || (argc > 1 && strcmp(argv[1], "--quick") == 0))
        cfg = &quick_run;
    else if (argc > 1) {
        fprintf(stderr, "usage: %s [--quick]\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    t_start = eddy_now();
    printf("eddy %s showcase: an HTTP/1.1 server on a LocalRuntime, "
           "load from a multi-thread runtime\n\n", eddy_version());

    /* 1. The server thread. It reports its port and Handle through a
     *    oneshot channel (SHARED flavor: this plain thread may wait on it). */
    server *srv = calloc(1, sizeof *srv);
    eddy_oneshot_rx *ready_rx = NULL;
    eddy_channel_opts opts = { .elem_size = sizeof(server_info) };
    if (!srv || eddy_oneshot_channel(&opts, &srv->ready, &ready_rx) < 0) {
        fprintf(stderr, "demo: out of memory\n");
        return 1;
    }
    srv->cfg = cfg;
    pthread_t server_th;
    if (pthread_create(&server_th, NULL, server_thread, srv) != 0) {
        fprintf(stderr, "demo: cannot start the server thread\n");
        return 1;
    }
    load L = { .cfg = cfg, .srv = srv };
    int rc = eddy_oneshot_recv(ready_rx, &L.server); /* blocks this thread */
    eddy_oneshot_rx_release(ready_rx);
    if (rc < 0 || L.server.port <= 0) {
        pthread_join(server_th, NULL);
        eddy_handle_release(L.server.handle);
        fprintf(stderr, "demo: the server did not start\n");
        return 1;
    }
    say("server", "listening on http://127.0.0.1:%d/ on its own thread "
        "(routes: / /cache/K /primes?n=N /slow?ms=N /stats)", L.server.port);

    /* 2. The load: a multi-thread runtime with two workers, driven from
     *    this thread by block_on. */
    L.clients = calloc((size_t)cfg->clients, sizeof *L.clients);
    eddy_runtime_opts mt_opts = { .flavor = EDDY_FLAVOR_MULTI_THREAD, .worker_threads = 2,
                                  .thread_name = "demo-load" };
    eddy_runtime *mt = L.clients ? eddy_runtime_new(&mt_opts) : NULL;
    if (!mt) {
        perror("demo: eddy_runtime_new");
        return 1;
    }
    say("load", "%d keep-alive clients on a multi-thread runtime (2 workers), %.1f s",
        cfg->clients, cfg->load_ms / 1000.0);
    rc = eddy_runtime_block_on(mt, load_main, &L, NULL);
    eddy_runtime_free(mt);

    /* 3. The server thread ends after its shutdown; from then on its state
     *    is ours to read (pthread_join orders it before what follows). */
    pthread_join(server_th, NULL);
    eddy_handle_release(L.server.handle);
    if (rc < 0)
        L.failures++;
    report(&L, srv);
    counters_free(&srv->routes);
    free(L.clients);
    free(srv);
    printf("\n%s (%.1f s)\n", L.failures ? "something went WRONG" : "done",
           (double)(eddy_now() - t_start) / 1e9);
    return L.failures ? 1 : 0;
}
