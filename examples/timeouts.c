/* timeouts.c — deadlines and cancellation.
 *
 * eddy gives three ways to bound how long something may take, and one way
 * to stop a task:
 *   1. eddy_timeout(ms, fn, arg, &result): run fn as a task with a time
 *      limit; at the limit the task is aborted and waited for, so it has
 *      cleaned up before eddy_timeout returns -ETIMEDOUT;
 *   2. eddy_join_until(task, &result, deadline): stop *waiting* at the
 *      deadline; the task keeps running and the handle stays valid;
 *   3. NAME_until(..., deadline) on every suspending call (here a read):
 *      -ETIMEDOUT at the deadline, and nothing is lost; one deadline can
 *      cover several steps;
 *   4. eddy_abort(task): from then on every suspending call in the task
 *      returns -ECANCELED, so it unwinds through its ordinary error paths
 *      and frees what it holds. Cancellation is cooperative (a task is
 *      never stopped in the middle of plain C code) and unmissable (the
 *      task cannot accidentally wait again).
 *
 * Runs in about a second; exits 0 when every outcome is the expected one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <eddy.h>

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PTR(i) ((void *)(intptr_t)(i))
#define INT(p) ((long)(intptr_t)(p))

static int failures;

static void check(bool ok, const char *what)
{
    printf("    %-66s %s\n", what, ok ? "ok" : "UNEXPECTED");
    failures += !ok;
}

/* The codes this program expects, by name. */
static const char *errname(long rc)
{
    switch (rc) {
    case 0: return "0";
    case -ETIMEDOUT: return "-ETIMEDOUT";
    case -ECANCELED: return "-ECANCELED";
    default: return eddy_strerror((int)rc);
    }
}

static double ms_since(eddy_instant t0)
{
    return (double)(eddy_now() - t0) / 1e6;
}

/* ---- 1. eddy_timeout ------------------------------------------------------- */

static bool lookup_cleaned_up;

/* Stands for a call to a slow backend: holds a buffer while it waits. */
static void *lookup(void *arg)
{
    long delay_ms = INT(arg);
    char *buf = malloc(4096);
    int rc = eddy_sleep((uint64_t)delay_ms); /* -ECANCELED when the time limit hits */
    free(buf);                               /* reached either way */
    lookup_cleaned_up = true;
    return rc == 0 ? PTR(42) : NULL;
}

static void section_timeout(void)
{
    printf("1. eddy_timeout: a time limit around a task\n");
    void *res = NULL;
    eddy_instant t0 = eddy_now();
    int rc = eddy_timeout(200, lookup, PTR(20), &res);
    printf("    a 20 ms lookup with a 200 ms limit: %s, result %ld (%.0f ms)\n",
           errname(rc), INT(res), ms_since(t0));
    check(rc == 0 && INT(res) == 42, "finished in time, with its result");

    lookup_cleaned_up = false;
    t0 = eddy_now();
    rc = eddy_timeout(100, lookup, PTR(5000), &res);
    printf("    a 5 s lookup with a 100 ms limit: %s (%.0f ms)\n", errname(rc),
           ms_since(t0));
    check(rc == -ETIMEDOUT && lookup_cleaned_up,
          "-ETIMEDOUT, and the task had freed its buffer before that");
}

/* ---- 2. eddy_join_until ------------------------------------------------------- */

static void *report_job(void *arg)
{
    (void)arg;
    eddy_sleep(300);
    return PTR(7);
}

static void section_join_until(void)
{
    printf("2. eddy_join_until: stop waiting, not the task\n");
    eddy_task *t = eddy_spawn(report_job, NULL);
    void *res = NULL;
    int rc = eddy_join_until(t, &res, eddy_deadline_in(50));
    printf("    waited 50 ms for a 300 ms job: %s; still running: %s\n", errname(rc),
           eddy_is_finished(t) ? "no" : "yes");
    check(rc == -ETIMEDOUT && !eddy_is_finished(t), "-ETIMEDOUT, the handle still valid");
    /* ... do something useful, then wait for real (or eddy_abort it). */
    rc = eddy_join(t, &res);
    check(rc == 0 && INT(res) == 7, "joined later: its result arrives");
}

/* ---- 3. deadlines on a read ------------------------------------------------- */

typedef struct talker {
    eddy_unix_stream *s;
    int first_ms, gap_ms;
} talker;

/* The peer: "hello" after first_ms, " world" gap_ms later. */
static void *talker_main(void *arg)
{
    talker *t = arg;
    eddy_sleep((uint64_t)t->first_ms);
    eddy_unix_write_all(t->s, "hello", 5, NULL);
    eddy_sleep((uint64_t)t->gap_ms);
    eddy_unix_write_all(t->s, " world", 6, NULL);
    return NULL;
}

static void section_read_until(void)
{
    printf("3. _until deadlines on reads\n");
    eddy_unix_stream *a, *b;
    if (eddy_unix_pair(&a, &b) < 0) {
        check(false, "eddy_unix_pair");
        return;
    }
    talker tk = { b, 150, 200 };
    eddy_task *peer = eddy_spawn(talker_main, &tk);
    char buf[32] = "";

    ssize_t n = eddy_unix_read_until(a, buf, sizeof buf, eddy_deadline_in(50));
    check(n == -ETIMEDOUT, "read with a 50 ms deadline, data due at 150 ms: -ETIMEDOUT");
    n = eddy_unix_read_until(a, buf, sizeof buf, eddy_deadline_in(1000));
    check(n == 5 && memcmp(buf, "hello", 5) == 0, "read again with 1 s: \"hello\"");

    /* One deadline for a whole message: the rest is due 200 ms later, the
     * deadline is 100 ms away. read_exact_until reports what did arrive. */
    size_t done = 0;
    int rc = eddy_unix_read_exact_until(a, buf, 10, &done, eddy_deadline_in(100));
    printf("    read_exact of 10 bytes within 100 ms: %s, %zu bytes arrived\n",
           errname(rc), done);
    check(rc == -ETIMEDOUT && done == 0, "the deadline covers the whole call");
    rc = eddy_unix_read_exact_until(a, buf, 6, &done, eddy_deadline_in(1000));
    check(rc == 0 && memcmp(buf, " world", 6) == 0, "nothing was lost: \" world\" comes next");

    eddy_join(peer, NULL);
    eddy_unix_stream_close(a);
    eddy_unix_stream_close(b);
}

/* ---- 4. eddy_abort --------------------------------------------------------- */

typedef struct worker_ctx {
    eddy_mpsc_rx *jobs;
    eddy_semaphore *slots; /* e.g. how many workers may run at once */
    bool freed_everything;
    int sleep_after_abort;
} worker_ctx;

/* A worker holding resources (memory, a semaphore permit) while it waits
 * for jobs. Every way out frees all of them. */
static void *worker_main(void *arg)
{
    worker_ctx *w = arg;
    long done = 0;
    char *scratch = malloc(1 << 16);
    if (!scratch)
        return NULL;
    if (eddy_semaphore_acquire(w->slots, 1) < 0)
        goto out_free;
    void *job;
    int rc;
    while ((rc = eddy_mpsc_recv(w->jobs, &job)) == 0) /* parks here */
        done++;
    /* rc is -ECANCELED: we were aborted. Unmissable: any further wait
     * fails at once too, so cleanup can never get stuck. */
    w->sleep_after_abort = eddy_sleep(1000);

    eddy_semaphore_release(w->slots, 1); /* does not suspend */
out_free:
    free(scratch);
    w->freed_everything = true;
    return PTR(done); /* eddy_join still hands this back */
}

static bool never_ran_ran;

static void *never_runs(void *arg)
{
    (void)arg;
    never_ran_ran = true;
    return NULL;
}

/* Burns CPU without suspending; polls for cancellation between steps. */
static void *cruncher(void *arg)
{
    (void)arg;
    long steps = 0;
    double x = 1;
    while (!eddy_current_task_cancelled()) {
        for (int i = 0; i < 10000; i++)
            x = x * 1.0000001 + 1e-9;
        if (++steps % 100 == 0)
            eddy_yield(); /* give the others (the aborting task) a turn */
    }
    return PTR(x > 0 ? steps : 0); /* (uses x, so the loop is not optimised away) */
}

static void section_abort(void)
{
    printf("4. eddy_abort: unwinding through the error paths\n");
    eddy_channel_opts local = { .flavor = EDDY_SYNC_LOCAL };
    eddy_mpsc_tx *tx;
    worker_ctx w = { .slots = eddy_semaphore_new(EDDY_SYNC_LOCAL, 1) };
    if (!w.slots || eddy_mpsc_channel(&local, 8, &tx, &w.jobs) < 0) {
        check(false, "setup");
        return;
    }
    eddy_task *t = eddy_spawn(worker_main, &w);
    for (long i = 0; i < 3; i++) {
        void *job = PTR(i);
        eddy_mpsc_send(tx, &job);
    }
    eddy_sleep(20); /* the worker takes the three jobs and parks */
    eddy_abort(t);
    void *res = NULL;
    int rc = eddy_join(t, &res);
    printf("    join: %s; the worker had done %ld jobs; its sleep after the abort: %s\n",
           errname(rc), INT(res), errname(w.sleep_after_abort));
    check(rc == -ECANCELED && INT(res) == 3, "join reports -ECANCELED, with the return value");
    check(w.freed_everything && eddy_semaphore_available(w.slots) == 1,
          "memory freed and permit returned on the way out");
    check(w.sleep_after_abort == -ECANCELED, "waits after an abort fail at once");
    eddy_mpsc_tx_release(tx);
    eddy_mpsc_rx_release(w.jobs);
    eddy_semaphore_free(w.slots);

    t = eddy_spawn(never_runs, NULL);
    eddy_abort(t); /* before it had a chance to run */
    rc = eddy_join(t, NULL);
    check(rc == -ECANCELED && !never_ran_ran, "a task aborted before it ran never runs");

    t = eddy_spawn(cruncher, NULL);
    eddy_sleep(30);
    eddy_abort(t);
    rc = eddy_join(t, &res);
    printf("    the cruncher stopped after %ld steps\n", INT(res));
    check(rc == -ECANCELED && INT(res) > 0, "CPU-bound code polls eddy_current_task_cancelled");
}

static void *root(void *arg)
{
    (void)arg;
    section_timeout();
    section_join_until();
    section_read_until();
    section_abort();
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
    eddy_local_runtime_free(rt);
    printf("%s\n", failures ? "some outcomes were UNEXPECTED" : "all as expected");
    return failures ? 1 : 0;
}
