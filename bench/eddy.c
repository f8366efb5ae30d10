/* eddy's side of the benchmark: every workload of shared/bench/WORKLOADS.md
 * on each of eddy's flavors, printing one JSON line per workload and flavor.
 * Its peer is bench/peers/tokio (the same workloads on Tokio); the driver
 * bench/run.py runs both in alternation and compares them.
 *
 *   bench_eddy [--workload W|all] [--flavor F|all] [--runs N]
 *   bench_eddy --workload http_hello --flavor F --serve
 *
 * Flavors: local (eddy_local_runtime), current_thread (eddy_runtime,
 * EDDY_FLAVOR_CURRENT_THREAD, plain spawn), localset (a LocalSet on a
 * current-thread runtime, spawn_local), multi_thread (eddy_runtime,
 * EDDY_FLAVOR_MULTI_THREAD, 2 workers). A flavor the library cannot make
 * yet (ENOTSUP) is reported as skipped, with the reason, and so is a
 * workload whose API (sync.h, net.h) is not there.
 *
 * Every workload body runs as a task spawned inside the runtime (so that on
 * a multi-thread runtime it runs on a worker) and times itself with
 * CLOCK_MONOTONIC, as Tokio's Instant does. One warm-up run, then `runs`
 * timed runs; the line reports their median and every sample:
 *
 *   {"workload":"spawn_many","flavor":"local","n":10000,"ns_per_op":12.3,"runs":7,"samples":[...]}
 *
 * On the local and localset flavors, channels are made with
 * EDDY_SYNC_LOCAL (every task is on one thread: no locks, no atomics); on
 * current_thread and multi_thread with EDDY_SYNC_SHARED. The "sync" field
 * of the line says which.
 */
#define _GNU_SOURCE
#include <eddy.h>

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<eddy/sync.h>)
#include <eddy/sync.h>
#define HAVE_SYNC 1
#endif
#if __has_include(<eddy/local_set.h>)
#include <eddy/local_set.h>
#define HAVE_LOCAL_SET 1
#endif
#if __has_include(<eddy/net.h>)
#include <eddy/net.h>
#define HAVE_NET 1
#endif
#endif
#ifndef HAVE_SYNC
#define HAVE_SYNC 0
#endif
#ifndef HAVE_NET
#define HAVE_NET 0
#endif
#ifndef HAVE_LOCAL_SET
#define HAVE_LOCAL_SET 0
#endif

/* ---- the workloads' sizes (WORKLOADS.md) --------------------------------- */
#define SPAWN_MANY 10000
#define YIELD_TASKS 200
#define YIELDS 1000
#define PING_PONG_ROUNDS 1000
#define CHAIN 1000
#define CHANNEL_MSGS 1000000ULL
#define CHANNEL_CAP 1024
#define TIMER_TASKS 100000
#define IDLE_TASKS 100000
/* idle_memory's stacks: small and unguarded, so that 100,000 parked tasks
 * fit under vm.max_map_count (a guarded stack costs two mappings). */
#define IDLE_STACK_SIZE (16 * 1024)

static const char HTTP_RESPONSE[] =
    "HTTP/1.1 200 OK\r\nContent-Length: 13\r\nContent-Type: text/plain\r\n\r\nHello, World!";

/* ---- flavors --------------------------------------------------------------- */

typedef enum { FL_LOCAL, FL_CURRENT_THREAD, FL_LOCALSET, FL_MULTI_THREAD, FL_COUNT } flavor;
static const char *const FLAVOR_NAMES[FL_COUNT] = {
    "local", "current_thread", "localset", "multi_thread",
};

typedef struct brt {
    flavor fl;
    eddy_local_runtime *lrt;
    eddy_runtime *rt;
#if HAVE_LOCAL_SET
    eddy_local_set *set; /* localset: driven inside rt (current-thread) */
#endif
    eddy_handle *handle;
} brt;

/* The flavor under test, for the spawns inside workloads. */
static flavor g_flavor;

static _Noreturn void die(const char *what, int err)
{
    fprintf(stderr, "bench_eddy: %s: %s\n", what, eddy_strerror(err));
    exit(1);
}

/* Spawns in the flavor under test: spawn_local on a LocalSet, spawn
 * elsewhere (on a LocalRuntime the two are the same). Dies on failure, so
 * that a benchmark never reports the time of work it did not do. */
static eddy_task *sp(eddy_task_fn fn, void *arg)
{
    eddy_task *t = g_flavor == FL_LOCALSET ? eddy_spawn_local(fn, arg) : eddy_spawn(fn, arg);
    if (!t)
        die("spawn", errno);
    return t;
}

static void join(eddy_task *t, void **res)
{
    int rc = eddy_join(t, res);
    if (rc < 0)
        die("join", rc);
}

/* Makes the runtime of flavor fl with options o. Returns 0, or a negative
 * errno (-ENOTSUP for a flavor eddy does not have yet) with *why set. */
static int brt_new(brt *b, flavor fl, eddy_runtime_opts o, const char **why)
{
    memset(b, 0, sizeof *b);
    b->fl = fl;
    switch (fl) {
    case FL_LOCAL:
        o.flavor = EDDY_FLAVOR_CURRENT_THREAD;
        b->lrt = eddy_local_runtime_new(&o);
        if (!b->lrt)
            return *why = "eddy_local_runtime_new failed", -errno;
        b->handle = eddy_local_runtime_handle(b->lrt);
        break;
    case FL_LOCALSET:
#if HAVE_LOCAL_SET
        o.flavor = EDDY_FLAVOR_CURRENT_THREAD;
        b->rt = eddy_runtime_new(&o);
        if (!b->rt)
            return *why = "eddy_runtime_new failed", -errno;
        b->set = eddy_local_set_new();
        if (!b->set)
            return *why = "eddy_local_set_new failed", -errno;
        b->handle = eddy_runtime_handle(b->rt);
        break;
#else
        *why = "eddy has no LocalSet API yet (include/eddy/local_set.h)";
        return -ENOTSUP;
#endif
    case FL_CURRENT_THREAD:
    case FL_MULTI_THREAD:
        o.flavor = fl == FL_MULTI_THREAD ? EDDY_FLAVOR_MULTI_THREAD : EDDY_FLAVOR_CURRENT_THREAD;
        if (fl == FL_MULTI_THREAD)
            o.worker_threads = 2;
        b->rt = eddy_runtime_new(&o);
        if (!b->rt) {
            int e = errno;
            *why = e == ENOTSUP ? "eddy_runtime_new: flavor not supported yet (ENOTSUP)"
                                : "eddy_runtime_new failed";
            return -e;
        }
        b->handle = eddy_runtime_handle(b->rt);
        break;
    default:
        return *why = "unknown flavor", -EINVAL;
    }
    if (!b->handle)
        die("runtime handle", errno);
    return 0;
}

static void *brt_block_on(brt *b, eddy_task_fn fn, void *arg)
{
    void *res = NULL;
    int rc;
#if HAVE_LOCAL_SET
    if (b->set)
        rc = eddy_local_set_block_on(b->set, b->rt, fn, arg, &res);
    else
#endif
        rc = b->lrt ? eddy_local_runtime_block_on(b->lrt, fn, arg, &res)
                    : eddy_runtime_block_on(b->rt, fn, arg, &res);
    if (rc < 0)
        die("block_on", rc);
    return res;
}

static void brt_free(brt *b)
{
    eddy_handle_release(b->handle);
#if HAVE_LOCAL_SET
    if (b->set) {
        int rc = eddy_local_set_free(b->set);
        if (rc < 0)
            die("eddy_local_set_free", rc);
    }
#endif
    if (b->lrt)
        eddy_local_runtime_free(b->lrt);
    if (b->rt)
        eddy_runtime_free(b->rt);
}

/* ---- helpers --------------------------------------------------------------- */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p)
        die("malloc", ENOMEM);
    return p;
}

static void *empty_task(void *arg)
{
    return arg;
}

/* Resident set size in bytes, from /proc/self/statm. */
static double rss_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f || fscanf(f, "%ld %ld", &size, &resident) != 2)
        die("/proc/self/statm", EIO);
    fclose(f);
    return (double)resident * (double)sysconf(_SC_PAGESIZE);
}

#if HAVE_SYNC
static eddy_channel_opts chan_opts(void)
{
    eddy_channel_opts o = { 0 };
    o.flavor = (g_flavor == FL_LOCAL || g_flavor == FL_LOCALSET) ? EDDY_SYNC_LOCAL
                                                                : EDDY_SYNC_SHARED;
    o.elem_size = sizeof(uint64_t);
    return o;
}

static void oneshot(eddy_oneshot_tx **tx, eddy_oneshot_rx **rx)
{
    eddy_channel_opts o = chan_opts();
    int rc = eddy_oneshot_channel(&o, tx, rx);
    if (rc < 0)
        die("eddy_oneshot_channel", rc);
}
#endif

/* ---- workloads: each returns the figure of one run ---------------------- */

/* From inside the runtime, spawn 10,000 empty tasks, then join every
 * handle. ns per task. */
static double wl_spawn_many(void)
{
    eddy_task **h = xmalloc(SPAWN_MANY * sizeof *h);
    uint64_t t0 = now_ns();
    for (int i = 0; i < SPAWN_MANY; i++)
        h[i] = sp(empty_task, NULL);
    for (int i = 0; i < SPAWN_MANY; i++)
        join(h[i], NULL);
    double r = (double)(now_ns() - t0) / SPAWN_MANY;
    free(h);
    return r;
}

struct remote {
    eddy_handle *handle;
    eddy_task **h;
};

static void *remote_spawner(void *arg)
{
    struct remote *r = arg;
    for (int i = 0; i < SPAWN_MANY; i++) {
        r->h[i] = eddy_handle_spawn(r->handle, empty_task, NULL);
        if (!r->h[i])
            die("eddy_handle_spawn", errno);
    }
    return NULL;
}

static eddy_handle *g_handle;

/* From another OS thread (a blocking-pool thread), spawn 10,000 empty tasks
 * through the runtime's handle while the runtime waits (this task is
 * suspended joining the spawner); then join them all. ns per task. */
static double wl_spawn_many_remote(void)
{
    struct remote r = { g_handle, xmalloc(SPAWN_MANY * sizeof(eddy_task *)) };
    uint64_t t0 = now_ns();
    eddy_task *spawner = eddy_spawn_blocking(remote_spawner, &r);
    if (!spawner)
        die("eddy_spawn_blocking", errno);
    join(spawner, NULL);
    for (int i = 0; i < SPAWN_MANY; i++)
        join(r.h[i], NULL);
    double res = (double)(now_ns() - t0) / SPAWN_MANY;
    free(r.h);
    return res;
}

static void *yielder(void *arg)
{
    for (int i = 0; i < YIELDS; i++) {
        int rc = eddy_yield();
        if (rc < 0)
            die("eddy_yield", rc);
    }
    return arg;
}

/* 200 tasks, each yields 1,000 times, all joined. ns per yield. */
static double wl_yield_many(void)
{
    eddy_task *h[YIELD_TASKS];
    uint64_t t0 = now_ns();
    for (int i = 0; i < YIELD_TASKS; i++)
        h[i] = sp(yielder, NULL);
    for (int i = 0; i < YIELD_TASKS; i++)
        join(h[i], NULL);
    return (double)(now_ns() - t0) / (YIELD_TASKS * YIELDS);
}

#if HAVE_SYNC
struct pp_peer_args {
    eddy_oneshot_rx *ping_rx;
    eddy_oneshot_tx *pong_tx;
};

static void *pp_peer(void *arg)
{
    /* The round's stack holds *arg and stays alive until the pong arrives. */
    struct pp_peer_args a = *(struct pp_peer_args *)arg;
    uint64_t v = 0;
    int rc = eddy_oneshot_recv(a.ping_rx, &v);
    if (rc < 0)
        die("ping recv", rc);
    eddy_oneshot_rx_release(a.ping_rx);
    v++;
    if ((rc = eddy_oneshot_send(a.pong_tx, &v)) < 0)
        die("pong send", rc);
    return NULL;
}


static void *pp_round(void *arg)
{
    eddy_oneshot_tx *ping_tx;
    eddy_oneshot_rx *pong_rx;
    struct pp_peer_args a;
    oneshot(&ping_tx, &a.ping_rx);
    oneshot(&a.pong_tx, &pong_rx);
    eddy_detach(sp(pp_peer, &a));
    uint64_t v = 1;
    int rc = eddy_oneshot_send(ping_tx, &v);
    if (rc < 0)
        die("ping send", rc);
    if ((rc = eddy_oneshot_recv(pong_rx, &v)) < 0)
        die("pong recv", rc);
    eddy_oneshot_rx_release(pong_rx);
    if (v != 2)
        die("ping_pong: wrong value", EIO);
    return arg;
}

/* 1,000 rounds in flight at once; each round is a task that spawns a peer,
 * and they exchange one message each way over two oneshot channels; all
 * rounds joined (the peers are detached). ns per round. */
static double wl_ping_pong(void)
{
    eddy_task **h = xmalloc(PING_PONG_ROUNDS * sizeof *h);
    uint64_t t0 = now_ns();
    for (int i = 0; i < PING_PONG_ROUNDS; i++)
        h[i] = sp(pp_round, NULL);
    for (int i = 0; i < PING_PONG_ROUNDS; i++)
        join(h[i], NULL);
    double r = (double)(now_ns() - t0) / PING_PONG_ROUNDS;
    free(h);
    return r;
}

static eddy_oneshot_tx *g_chain_done;

/* Task k of the chain: spawns task k + 1, or, being the last, signals. */
static void *chain_link(void *arg)
{
    uintptr_t k = (uintptr_t)arg;
    if (k == CHAIN) {
        uint64_t v = k;
        int rc = eddy_oneshot_send(g_chain_done, &v);
        if (rc < 0)
            die("chain done send", rc);
    } else {
        eddy_detach(sp(chain_link, (void *)(k + 1)));
    }
    return NULL;
}

/* A chain of 1,000 tasks, each spawning the next; the last one signals
 * completion. ns per spawn. */
static double wl_chained_spawn(void)
{
    eddy_oneshot_rx *done;
    oneshot(&g_chain_done, &done);
    uint64_t t0 = now_ns();
    eddy_detach(sp(chain_link, (void *)(uintptr_t)1));
    uint64_t v = 0;
    int rc = eddy_oneshot_recv(done, &v);
    if (rc < 0)
        die("chain done recv", rc);
    double r = (double)(now_ns() - t0) / CHAIN;
    eddy_oneshot_rx_release(done);
    if (v != CHAIN)
        die("chained_spawn: wrong value", EIO);
    return r;
}

static void *producer(void *arg)
{
    eddy_mpsc_tx *tx = arg;
    for (uint64_t i = 0; i < CHANNEL_MSGS; i++) {
        int rc = eddy_mpsc_send(tx, &i);
        if (rc < 0)
            die("mpsc send", rc);
    }
    eddy_mpsc_tx_release(tx);
    return NULL;
}

static void *consumer(void *arg)
{
    eddy_mpsc_rx *rx = arg;
    uint64_t v, sum = 0;
    int rc;
    while ((rc = eddy_mpsc_recv(rx, &v)) == 0)
        sum += v;
    if (rc != -EPIPE)
        die("mpsc recv", rc);
    eddy_mpsc_rx_release(rx);
    return (void *)(uintptr_t)sum;
}

/* 1,000,000 u64 through a bounded channel (capacity 1,024), one producer
 * task to one consumer task. ns per message. */
static double wl_channel(void)
{
    eddy_channel_opts o = chan_opts();
    eddy_mpsc_tx *tx;
    eddy_mpsc_rx *rx;
    int rc = eddy_mpsc_channel(&o, CHANNEL_CAP, &tx, &rx);
    if (rc < 0)
        die("eddy_mpsc_channel", rc);
    uint64_t t0 = now_ns();
    eddy_task *p = sp(producer, tx);
    eddy_task *c = sp(consumer, rx);
    void *sum;
    join(p, NULL);
    join(c, &sum);
    double r = (double)(now_ns() - t0) / (double)CHANNEL_MSGS;
    if ((uint64_t)(uintptr_t)sum != CHANNEL_MSGS * (CHANNEL_MSGS - 1) / 2)
        die("channel: wrong sum", EIO);
    return r;
}

static atomic_size_t g_parked;

static void *idler(void *arg)
{
    eddy_oneshot_rx *rx = arg;
    atomic_fetch_add_explicit(&g_parked, 1, memory_order_relaxed);
    uint64_t v = 0;
    int rc = eddy_oneshot_recv(rx, &v);
    if (rc < 0)
        die("idle recv", rc);
    eddy_oneshot_rx_release(rx);
    return (void *)(uintptr_t)v;
}

/* 100,000 tasks each parked on its own oneshot receiver; the RSS delta per
 * parked task (baseline read after malloc_trim(0)); then all released and
 * joined. Bytes per task. */
static double wl_idle_memory(void)
{
    atomic_store(&g_parked, 0);
    malloc_trim(0);
    double base = rss_bytes();
    eddy_oneshot_tx **txs = xmalloc(IDLE_TASKS * sizeof *txs);
    eddy_task **h = xmalloc(IDLE_TASKS * sizeof *h);
    for (int i = 0; i < IDLE_TASKS; i++) {
        eddy_oneshot_rx *rx;
        oneshot(&txs[i], &rx);
        h[i] = sp(idler, rx);
    }
    /* Yield until every task has run and parked. A task that cannot start
     * (no stack could be mapped) finishes instead, and its join tells why:
     * after 2 s without progress, look for one. */
    size_t last = 0;
    for (uint64_t since = now_ns();;) {
        size_t parked = atomic_load_explicit(&g_parked, memory_order_relaxed);
        if (parked == IDLE_TASKS)
            break;
        if (parked != last) {
            last = parked;
            since = now_ns();
        } else if (now_ns() - since > 2000000000u) {
            for (int i = 0; i < IDLE_TASKS; i++)
                if (eddy_is_finished(h[i]))
                    join(h[i], NULL); /* dies with the task's error */
            die("idle_memory: tasks do not park", EIO);
        }
        int rc = eddy_yield();
        if (rc < 0)
            die("eddy_yield", rc);
    }
    double parked = rss_bytes();
    for (int i = 0; i < IDLE_TASKS; i++) {
        uint64_t v = 7;
        int rc = eddy_oneshot_send(txs[i], &v);
        if (rc < 0)
            die("idle send", rc);
    }
    for (int i = 0; i < IDLE_TASKS; i++) {
        void *res;
        join(h[i], &res);
        if ((uintptr_t)res != 7)
            die("idle_memory: wrong value", EIO);
    }
    free(txs);
    free(h);
    return (parked - base) / IDLE_TASKS;
}
#endif /* HAVE_SYNC */

static void *sleeper(void *arg)
{
    int rc = eddy_sleep((uint64_t)(uintptr_t)arg);
    if (rc < 0)
        die("eddy_sleep", rc);
    return NULL;
}

/* 100,000 tasks, task i sleeps 1 + (i*7919 mod 10) ms, all joined.
 * (wall time - 10 ms) / 100,000. */
static double wl_timers(void)
{
    eddy_task **h = xmalloc(TIMER_TASKS * sizeof *h);
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < TIMER_TASKS; i++)
        h[i] = sp(sleeper, (void *)(uintptr_t)(1 + (i * 7919) % 10));
    for (int i = 0; i < TIMER_TASKS; i++)
        join(h[i], NULL);
    double r = ((double)(now_ns() - t0) - 10e6) / TIMER_TASKS;
    free(h);
    return r;
}

/* ---- http_hello: the server (the driver runs wrk against it) -------------- */

#if HAVE_NET
/* Serves one keep-alive connection: answers every complete request (a
 * header block ending in CRLFCRLF) with the fixed 13-byte body. */
static void *http_conn(void *arg)
{
    eddy_tcp_stream *s = arg;
    enum { RESP = sizeof HTTP_RESPONSE - 1, MAX_OUT = 32 };
    char buf[8192], out[RESP * MAX_OUT];
    size_t have = 0;
    for (;;) {
        ssize_t n = eddy_tcp_read(s, buf + have, sizeof buf - have);
        if (n <= 0)
            break;
        have += (size_t)n;
        size_t start = 0, nout = 0;
        char *end;
        while ((end = memmem(buf + start, have - start, "\r\n\r\n", 4))) {
            start = (size_t)(end - buf) + 4;
            memcpy(out + nout, HTTP_RESPONSE, RESP);
            nout += RESP;
            if (nout == sizeof out) {
                if (eddy_tcp_write_all(s, out, nout, NULL) < 0)
                    goto done;
                nout = 0;
            }
        }
        if (start == 0 && have == sizeof buf)
            break; /* a header block larger than the buffer: give up */
        memmove(buf, buf + start, have - start);
        have -= start;
        if (nout && eddy_tcp_write_all(s, out, nout, NULL) < 0)
            break;
    }
done:
    eddy_tcp_stream_close(s);
    return NULL;
}

static double http_serve(void)
{
    eddy_tcp_listener *l = eddy_tcp_listen("127.0.0.1", 0, NULL);
    if (!l)
        die("eddy_tcp_listen", errno);
    printf("listening 127.0.0.1:%d\n", eddy_tcp_listener_port(l));
    fflush(stdout);
    for (;;) {
        eddy_tcp_stream *s;
        int rc = eddy_tcp_accept(l, &s, NULL);
        if (rc < 0) {
            if (rc == -ECANCELED)
                break;
            continue;
        }
        eddy_tcp_set_nodelay(s, true);
        eddy_detach(sp(http_conn, s));
    }
    return 0;
}
#endif

/* ---- the driver ----------------------------------------------------------- */

typedef double (*wl_fn)(void);

typedef struct workload {
    const char *name;
    wl_fn fn;           /* NULL: the API it needs is missing (see skip) */
    const char *skip;   /* why it is skipped when fn is NULL */
    unsigned long n;
    const char *unit;   /* the JSON key of the figure */
    bool unguarded;     /* run with unguarded stacks */
    size_t stack_size;  /* 0: the default */
    const char *note;
    /* Each run on a runtime of its own: memory kept for reuse by an earlier
     * run (eddy's stack and task caches) must not hide what a run costs. */
    bool fresh;
} workload;

#if HAVE_SYNC
#define SYNC_FN(f) f, NULL
#else
#define SYNC_FN(f) NULL, "eddy/sync.h (oneshot, mpsc) is not there yet"
#endif

static const workload WORKLOADS[] = {
    { "spawn_many", wl_spawn_many, NULL, SPAWN_MANY, "ns_per_op", false, 0, NULL, false },
    { "spawn_many_remote", wl_spawn_many_remote, NULL, SPAWN_MANY, "ns_per_op", false, 0,
      "spawned from a blocking-pool thread through the runtime's handle", false },
    { "yield_many", wl_yield_many, NULL, YIELD_TASKS * YIELDS, "ns_per_op", false, 0, NULL, false },
    { "ping_pong", SYNC_FN(wl_ping_pong), PING_PONG_ROUNDS, "ns_per_op", false, 0, NULL, false },
    { "chained_spawn", SYNC_FN(wl_chained_spawn), CHAIN, "ns_per_op", false, 0, NULL, false },
    { "channel", SYNC_FN(wl_channel), CHANNEL_MSGS, "ns_per_op", false, 0, NULL, false },
    { "timers", wl_timers, NULL, TIMER_TASKS, "ns_per_op", true, 0,
      "unguarded stacks: 100,000 sleeping tasks would need 200,000 mappings guarded", false },
    { "idle_memory", SYNC_FN(wl_idle_memory), IDLE_TASKS, "bytes_per_task", true,
      IDLE_STACK_SIZE,
      "unguarded 16 KiB stacks: 100,000 guarded stacks exceed vm.max_map_count; "
      "a new runtime for each run", true },
};
#define NWORKLOADS (sizeof WORKLOADS / sizeof WORKLOADS[0])

struct body {
    wl_fn fn;
    double result;
};

static void *body_task(void *arg)
{
    struct body *b = arg;
    b->result = b->fn();
    return NULL;
}

/* The root task of block_on: runs the body as a task of the runtime. */
static void *root_task(void *arg)
{
    join(sp(body_task, arg), NULL);
    return NULL;
}

static double one_run(brt *b, wl_fn fn)
{
    struct body body = { fn, 0 };
    brt_block_on(b, root_task, &body);
    return body.result;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(const double *v, int n)
{
    double *s = xmalloc((size_t)n * sizeof *s);
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_double);
    double m = n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
    free(s);
    return m;
}

static const char *sync_name(flavor fl)
{
    return (fl == FL_LOCAL || fl == FL_LOCALSET) ? "local" : "shared";
}

static void print_skip(const char *w, flavor fl, const char *why)
{
    printf("{\"workload\":\"%s\",\"flavor\":\"%s\",\"skipped\":\"%s\"}\n", w,
           FLAVOR_NAMES[fl], why);
    fflush(stdout);
}

static void bench(const workload *w, flavor fl, int runs)
{
    if (!w->fn) {
        print_skip(w->name, fl, w->skip);
        return;
    }
    eddy_runtime_opts o = { 0 };
    if (w->unguarded)
        o.stack_guard = EDDY_STACK_UNGUARDED;
    o.stack_size = w->stack_size;
    brt b;
    const char *why = NULL;
    g_flavor = fl;
    if (brt_new(&b, fl, o, &why) < 0) {
        print_skip(w->name, fl, why);
        return;
    }
    g_handle = b.handle;
    one_run(&b, w->fn); /* warm-up */
    double *s = xmalloc((size_t)runs * sizeof *s);
    for (int i = 0; i < runs; i++) {
        if (w->fresh) {
            brt_free(&b);
            if (brt_new(&b, fl, o, &why) < 0)
                die(why ? why : "runtime", EIO);
            g_handle = b.handle;
        }
        s[i] = one_run(&b, w->fn);
    }
    brt_free(&b);
    printf("{\"workload\":\"%s\",\"flavor\":\"%s\",\"n\":%lu,\"%s\":%.2f,\"runs\":%d,"
           "\"samples\":[",
           w->name, FLAVOR_NAMES[fl], w->n, w->unit, median(s, runs), runs);
    for (int i = 0; i < runs; i++)
        printf("%s%.2f", i ? "," : "", s[i]);
    printf("],\"sync\":\"%s\"", sync_name(fl));
    if (w->note)
        printf(",\"note\":\"%s\"", w->note);
    printf("}\n");
    fflush(stdout);
    free(s);
}

static int serve(flavor fl)
{
#if HAVE_NET
    brt b;
    const char *why = NULL;
    g_flavor = fl;
    if (brt_new(&b, fl, (eddy_runtime_opts){ 0 }, &why) < 0) {
        print_skip("http_hello", fl, why);
        return 3;
    }
    g_handle = b.handle;
    one_run(&b, http_serve);
    brt_free(&b);
    return 0;
#else
    print_skip("http_hello", fl, "eddy/net.h (TCP sockets) is not there yet");
    return 3;
#endif
}

static _Noreturn void usage(int code)
{
    fprintf(code ? stderr : stdout,
            "usage: bench_eddy [--workload W|all] [--flavor F|all] [--runs N]\n"
            "       bench_eddy --workload http_hello --flavor F --serve\n"
            "flavors: local current_thread localset multi_thread\n"
            "workloads:");
    for (size_t i = 0; i < NWORKLOADS; i++)
        fprintf(code ? stderr : stdout, " %s", WORKLOADS[i].name);
    fprintf(code ? stderr : stdout, " http_hello\n");
    exit(code);
}

int main(int argc, char **argv)
{
    const char *wname = "all", *fname = "all";
    int runs = 7;
    bool do_serve = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--serve")) {
            do_serve = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(0);
        } else if (i + 1 < argc && !strcmp(a, "--workload")) {
            wname = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--flavor")) {
            fname = argv[++i];
        } else if (i + 1 < argc && !strcmp(a, "--runs")) {
            runs = atoi(argv[++i]);
        } else {
            usage(2);
        }
    }
    if (runs < 1)
        usage(2);
    bool want_fl[FL_COUNT] = { false };
    bool any_fl = false;
    for (int f = 0; f < FL_COUNT; f++) {
        want_fl[f] = !strcmp(fname, "all") || !strcmp(fname, FLAVOR_NAMES[f]);
        any_fl |= want_fl[f];
    }
    if (!any_fl)
        usage(2);

    if (do_serve || !strcmp(wname, "http_hello")) {
        if (!do_serve || !strcmp(fname, "all"))
            usage(2);
        signal(SIGPIPE, SIG_IGN);
        for (int f = 0; f < FL_COUNT; f++)
            if (want_fl[f])
                return serve((flavor)f);
    }
    bool found = false;
    for (size_t i = 0; i < NWORKLOADS; i++) {
        if (strcmp(wname, "all") && strcmp(wname, WORKLOADS[i].name))
            continue;
        found = true;
        for (int f = 0; f < FL_COUNT; f++)
            if (want_fl[f])
                bench(&WORKLOADS[i], (flavor)f, runs);
    }
    if (!found)
        usage(2);
    return 0;
}
