/* spawn_blocking.c — blocking and CPU-heavy work on the blocking pool.
 *
 * A runtime thread runs many tasks by switching between them whenever one
 * waits. A task that computes for 200 ms without waiting, or calls a
 * function that blocks the thread (a synchronous library, a disk read),
 * holds up every other task of that thread for as long. eddy_spawn_blocking
 * runs such work on a pool of helper threads instead; joining it suspends
 * only the task that waits for the result.
 *
 * A heartbeat task ticks every 10 ms throughout and reports how late its
 * ticks were: while heavy work runs on the pool it keeps ticking (late only
 * by what the OS adds when there are more busy threads than CPUs); when
 * the same work runs on the runtime thread, it is late by the whole job.
 *
 * Files: regular files are always "ready" as far as epoll is concerned, yet
 * reading them can block on the disk, so eddy's fs API runs each system
 * call on the blocking pool too. Part 3 writes a file, reads it back in
 * chunks and whole, and removes it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <eddy.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PTR(i) ((void *)(intptr_t)(i))
#define INT(p) ((long)(intptr_t)(p))

static int failures;

static void check(bool ok, const char *what)
{
    printf("    %-60s %s\n", what, ok ? "ok" : "FAILED");
    failures += !ok;
}

/* ---- the heartbeat ------------------------------------------------------------ */

static struct {
    long ticks;
    double worst_late_ms; /* how far behind schedule a tick ran, at worst */
} beat;

static void *heartbeat(void *arg)
{
    (void)arg;
    eddy_interval *iv = eddy_interval_new(10, EDDY_MISSED_TICK_SKIP);
    eddy_instant at;
    while (iv && eddy_interval_tick(iv, &at) == 0) { /* until aborted */
        double late = (double)(eddy_now() - at) / 1e6;
        if (late > beat.worst_late_ms)
            beat.worst_late_ms = late;
        beat.ticks++;
    }
    eddy_interval_free(iv);
    return NULL;
}

static void beat_reset(void)
{
    beat.ticks = 0;
    beat.worst_late_ms = 0;
}

/* ---- work for the pool ------------------------------------------------------ */

typedef struct primes_result {
    long limit, count;
    double ms;
} primes_result;

/* CPU-heavy: counts primes below `limit` by trial division. The result is
 * allocated here, on a pool thread, and freed by whoever joins: memory may
 * cross threads freely. */
static void *count_primes(void *arg)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    primes_result *r = malloc(sizeof *r);
    if (!r)
        return NULL;
    r->limit = INT(arg);
    r->count = 0;
    for (long n = 2; n < r->limit; n++) {
        bool prime = true;
        for (long d = 2; d * d <= n; d++)
            if (n % d == 0) {
                prime = false;
                break;
            }
        r->count += prime;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    return r;
}

/* Blocking: stands for a synchronous library call that sleeps the thread. */
static void *blocking_call(void *arg)
{
    struct timespec ts = { 0, INT(arg) * 1000000L };
    nanosleep(&ts, NULL);
    return arg;
}

static void section_pool(void)
{
    printf("1. CPU-heavy and blocking work on the pool\n");
    static const long limits[] = { 400000, 100000, 200000 };
    static const long answers[] = { 33860, 9592, 17984 };
    eddy_join_set *set = eddy_join_set_new();
    beat_reset();
    eddy_instant t0 = eddy_now();
    /* Pool jobs go into a JoinSet, which hands the results back in the
     * order the jobs finish. (eddy_join_set_spawn would run them as
     * ordinary tasks, on this thread: add pool handles instead.) */
    for (int i = 0; i < 3; i++)
        eddy_join_set_add(set, eddy_spawn_blocking(count_primes, PTR(limits[i])));
    eddy_task *sleeper = eddy_spawn_blocking(blocking_call, PTR(150));

    void *res;
    int good = 0;
    while (eddy_join_set_join_next(set, &res, NULL) == 0) {
        primes_result *r = res;
        if (!r)
            continue;
        printf("    %5ld primes below %6ld  (%.0f ms on a pool thread)\n", r->count,
               r->limit, r->ms);
        for (int i = 0; i < 3; i++)
            good += r->limit == limits[i] && r->count == answers[i];
        free(r);
    }
    eddy_join_set_free(set);
    int rc = eddy_join(sleeper, &res);
    printf("    a 150 ms blocking call returned too\n");
    printf("    meanwhile the heartbeat ticked %ld times in %.0f ms, at worst %.1f ms late\n",
           beat.ticks, (double)(eddy_now() - t0) / 1e6, beat.worst_late_ms);
    check(good == 3 && rc == 0 && INT(res) == 150, "every job's answer came back");
}

static void section_inline(void)
{
    printf("2. The same CPU work on the runtime thread, for contrast\n");
    eddy_yield(); /* let the heartbeat catch up first */
    beat_reset();
    primes_result *r = count_primes(PTR(400000)); /* no suspension inside */
    eddy_sleep(15); /* the heartbeat's next tick runs now, late */
    printf("    %ld primes in %.0f ms; the heartbeat was %.0f ms late meanwhile\n",
           r ? r->count : 0, r ? r->ms : 0, beat.worst_late_ms);
    check(r && r->count == 33860, "same answer, but every other task waited for it");
    free(r);
}

/* ---- files through the pool --------------------------------------------------- */

enum { FILE_SIZE = 1 << 20, CHUNK = 64 * 1024 };

static uint32_t fnv1a(uint32_t h, const unsigned char *p, size_t n)
{
    while (n--)
        h = (h ^ *p++) * 16777619u;
    return h;
}

static void section_files(void)
{
    printf("3. Files: every system call runs on the pool\n");
    const char *dir = getenv("TMPDIR");
    char path[512];
    snprintf(path, sizeof path, "%s/eddy-spawn-blocking-%ld.txt", dir && *dir ? dir : "/tmp",
             (long)getpid());

    unsigned char *data = malloc(FILE_SIZE);
    unsigned char *chunk = malloc(CHUNK);
    if (!data || !chunk) {
        check(false, "memory");
        free(data);
        free(chunk);
        return;
    }
    for (size_t i = 0; i < FILE_SIZE; i++)
        data[i] = (i % 64 == 63) ? '\n' : (unsigned char)('a' + (i * 7) % 26);
    uint32_t want = fnv1a(2166136261u, data, FILE_SIZE);

    int rc = eddy_fs_write_all(path, data, FILE_SIZE);
    check(rc == 0, "eddy_fs_write_all: 1 MiB written");

    /* Read it back in chunks, checksumming as we go. */
    eddy_file *f = NULL;
    uint32_t got = 2166136261u;
    size_t total = 0;
    struct stat st = { 0 };
    rc = eddy_file_open(path, O_RDONLY, 0, &f);
    if (rc == 0) {
        eddy_file_stat(f, &st);
        ssize_t n;
        while ((n = eddy_file_read(f, chunk, CHUNK)) > 0) {
            got = fnv1a(got, chunk, (size_t)n);
            total += (size_t)n;
        }
        rc = n < 0 ? (int)n : eddy_file_close(f);
    }
    check(rc == 0 && st.st_size == FILE_SIZE && total == FILE_SIZE && got == want,
          "eddy_file_read in 64 KiB chunks: same bytes");

    /* Or all at once. */
    void *all = NULL;
    size_t len = 0;
    rc = eddy_fs_read_all(path, &all, &len);
    check(rc == 0 && len == FILE_SIZE && memcmp(all, data, len) == 0,
          "eddy_fs_read_all: same bytes");
    free(all);

    rc = eddy_fs_remove(path);
    struct stat gone;
    check(rc == 0 && eddy_fs_metadata(path, &gone) == -ENOENT, "eddy_fs_remove: gone");
    free(data);
    free(chunk);
}

static void *root(void *arg)
{
    (void)arg;
    eddy_task *hb = eddy_spawn(heartbeat, NULL);
    section_pool();
    section_inline();
    section_files();
    eddy_abort(hb);
    eddy_join(hb, NULL);
    return NULL;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    if (!rt) {
        perror("eddy_local_runtime_new");
        return 1;
    }
    eddy_local_runtime_block_on(rt, root, NULL, NULL);
    eddy_local_runtime_free(rt); /* also waits for the pool to finish */
    printf("%s\n", failures ? "some checks FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
