/* demo_load.h — the load side of the showcase (examples/demo.c).
 *
 * Client tasks for the multi-thread runtime: each keeps one keep-alive
 * connection to the demo server and fires requests at it until a given
 * instant, checking every answer and recording every latency; then it
 * stays connected, idle, until the server's shutdown closes the
 * connection. Plus the two stragglers that arrive just before the
 * shutdown: a slow request, and a client that sends half a request and
 * goes quiet.
 *
 * These tasks are migratable (any of the runtime's workers may run them
 * between two suspensions), so each keeps everything it touches in its
 * own `client` (or `straggler`) and on its own stack: nothing is shared
 * between them but the SHARED-flavor semaphore that says "my load is done".
 */
#ifndef DEMO_LOAD_H
#define DEMO_LOAD_H

#include "demo_http.h"

#include <eddy.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the clients ask for, and the answers they expect. */
enum {
    PRIMES_N = 50000,      /* GET /primes?n=50000: counted on the blocking pool */
    PRIMES_BELOW_N = 5133, /* ... and the answer */
    CACHE_KEYS = 24,       /* GET /cache/0 .. /cache/23 */
};

typedef struct lat_vec {
    uint64_t *v; /* nanoseconds */
    size_t n, cap;
} lat_vec;

static void lat_push(lat_vec *l, uint64_t ns)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4096;
        uint64_t *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return;
        l->v = v;
        l->cap = cap;
    }
    l->v[l->n++] = ns;
}

static void lat_append(lat_vec *to, const lat_vec *from)
{
    for (size_t i = 0; i < from->n; i++)
        lat_push(to, from->v[i]);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static double lat_pct_ms(lat_vec *l, double pct) /* sorts l */
{
    if (!l->n)
        return 0;
    qsort(l->v, l->n, sizeof *l->v, cmp_u64);
    size_t i = (size_t)(pct / 100.0 * (double)(l->n - 1) + 0.5);
    return (double)l->v[i] / 1e6;
}

typedef struct client {
    int id;
    int port;
    eddy_instant end;       /* stop firing requests at this instant */
    eddy_semaphore *done;   /* SHARED flavor: released when the load loop ends */
    lat_vec all, primes;    /* latencies: every request, and /primes alone */
    unsigned long requests, errors;
    bool closed_by_server;  /* the server closed the idle connection at shutdown */
} client;

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* One request on a keep-alive connection; checks the answer. */
static int client_request(client *cl, http_conn *hc, uint32_t *rng)
{
    char req[128], want[64];
    uint32_t r = xorshift(rng) % 100;
    bool primes = r < 2;
    if (primes) { /* 2%: CPU-heavy, served from the blocking pool */
        snprintf(req, sizeof req, "GET /primes?n=%d HTTP/1.1\r\nHost: demo\r\n\r\n", PRIMES_N);
        snprintf(want, sizeof want, "%d primes below %d\n", PRIMES_BELOW_N, PRIMES_N);
    } else if (r < 50) { /* 48%: a cached page */
        unsigned key = xorshift(rng) % CACHE_KEYS;
        snprintf(req, sizeof req, "GET /cache/%u HTTP/1.1\r\nHost: demo\r\n\r\n", key);
        snprintf(want, sizeof want, "cache entry %u\n", key);
    } else { /* 50%: hello */
        snprintf(req, sizeof req, "GET / HTTP/1.1\r\nHost: demo\r\n\r\n");
        snprintf(want, sizeof want, "Hello from eddy!\n");
    }
    eddy_instant t0 = eddy_now();
    eddy_instant deadline = t0 + 10 * 1000000000ull; /* never hang on a broken server */
    int rc = eddy_tcp_write_all_until(hc->s, req, strlen(req), NULL, deadline);
    http_response resp;
    if (rc == 0)
        rc = http_read_response(hc, &resp, deadline);
    if (rc < 0)
        return rc;
    lat_push(&cl->all, eddy_now() - t0);
    if (primes)
        lat_push(&cl->primes, eddy_now() - t0);
    cl->requests++;
    if (resp.status != 200 || resp.body_len < strlen(want) ||
        memcmp(resp.body, want, strlen(want)) != 0)
        cl->errors++;
    http_consume(hc, resp.total);
    return 0;
}

static void *client_main(void *arg)
{
    client *cl = arg;
    uint32_t rng = 2463534242u + 7919u * (uint32_t)cl->id;
    http_conn *hc = calloc(1, sizeof *hc);
    if (!hc || eddy_tcp_connect("127.0.0.1", (uint16_t)cl->port, &hc->s) < 0) {
        cl->errors++;
        eddy_semaphore_release(cl->done, 1);
        free(hc);
        return NULL;
    }
    eddy_tcp_set_nodelay(hc->s, true);
    while (eddy_now() < cl->end)
        if (client_request(cl, hc, &rng) < 0) {
            cl->errors++;
            break;
        }
    eddy_semaphore_release(cl->done, 1);

    /* Stay connected, idle, like a browser's keep-alive connection, until
     * the server's shutdown closes it (end of stream). */
    char byte;
    ssize_t n = eddy_tcp_read_until(hc->s, &byte, 1, eddy_deadline_in(10000));
    cl->closed_by_server = (n == 0 || n == -ECONNRESET);
    eddy_tcp_stream_close(hc->s);
    free(hc);
    return NULL;
}

/* The two stragglers that arrive just before the shutdown. */
typedef struct straggler {
    int port;
    int slow_ms;
    int status;          /* the slow request's answer */
    bool told_to_close;  /* it came with "Connection: close" */
    bool closed;         /* the stalled client saw its connection end */
    eddy_instant ended;
} straggler;

/* Sends GET /slow and waits for the answer, which arrives during the drain. */
static void *slow_client(void *arg)
{
    straggler *st = arg;
    http_conn *hc = calloc(1, sizeof *hc);
    if (hc && eddy_tcp_connect("127.0.0.1", (uint16_t)st->port, &hc->s) == 0) {
        char req[96];
        snprintf(req, sizeof req, "GET /slow?ms=%d HTTP/1.1\r\nHost: demo\r\n\r\n",
                 st->slow_ms);
        http_response resp;
        eddy_instant deadline = eddy_deadline_in(10000);
        if (eddy_tcp_write_all_until(hc->s, req, strlen(req), NULL, deadline) == 0 &&
            http_read_response(hc, &resp, deadline) == 0) {
            st->status = resp.status;
            st->told_to_close = resp.close;
        }
        st->ended = eddy_now();
        eddy_tcp_stream_close(hc->s);
    }
    free(hc);
    return NULL;
}

/* Sends half a request and goes quiet: only the shutdown deadline ends it. */
static void *stalled_client(void *arg)
{
    straggler *st = arg;
    eddy_tcp_stream *s;
    if (eddy_tcp_connect("127.0.0.1", (uint16_t)st->port, &s) < 0)
        return NULL;
    static const char half[] = "GET /never-finished HTTP/1.1\r\nHost: demo\r\n";
    char byte;
    if (eddy_tcp_write_all(s, half, sizeof half - 1, NULL) == 0) {
        ssize_t n = eddy_tcp_read_until(s, &byte, 1, eddy_deadline_in(10000));
        st->closed = (n == 0 || n == -ECONNRESET);
        st->ended = eddy_now();
    }
    eddy_tcp_stream_close(s);
    return NULL;
}

#endif /* DEMO_LOAD_H */
