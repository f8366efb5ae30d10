/* demo.c — a tour of what eddy can do at this stage (`make demo`).
 *
 * Each section prints a few lines; the program exits 0 when every check it
 * makes holds. Times are printed for information only. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <eddy.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PTR(i) ((void *)(intptr_t)(i))
#define INT(p) ((int)(intptr_t)(p))

static int failures;

static void check(bool ok, const char *what)
{
    if (!ok) {
        failures++;
        printf("    !! unexpected: %s\n", what);
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static pthread_t owner;
static eddy_local_runtime *rt;

/* ------------------------------------------------------------------ */
/* 1. Ten thousand tasks sharing a plain int                           */

enum { NTASKS = 10000, STEPS = 10 };
static int counter; /* not atomic: every task runs on the owner thread */

static void *incrementer(void *arg)
{
    (void)arg;
    for (int i = 0; i < STEPS; i++) {
        counter++;
        eddy_yield();
    }
    return NULL;
}

static void *section_many_tasks(void *arg)
{
    (void)arg;
    static eddy_task *tasks[NTASKS];
    double t0 = now_ms();
    for (int i = 0; i < NTASKS; i++)
        tasks[i] = eddy_spawn(incrementer, NULL);
    for (int i = 0; i < NTASKS; i++)
        eddy_join(tasks[i], NULL);
    printf("    %d tasks x %d increments with a yield between each: counter = %d\n",
           NTASKS, STEPS, counter);
    printf("    (%d yields in %.1f ms)\n", NTASKS * STEPS, now_ms() - t0);
    check(counter == NTASKS * STEPS, "counter");
    return NULL;
}

/* ------------------------------------------------------------------ */
/* 2. Another thread hands tasks to the runtime through its Handle      */

enum { REMOTE = 1000 };
static atomic_int remote_on_owner, remote_done;

static void *remote_task(void *arg)
{
    if (pthread_equal(pthread_self(), owner))
        atomic_fetch_add(&remote_on_owner, 1);
    return arg;
}

static void *feeder_thread(void *arg)
{
    eddy_handle *h = arg;
    static eddy_task *tasks[REMOTE];
    long sum = 0;
    for (int i = 0; i < REMOTE; i++)
        tasks[i] = eddy_handle_spawn(h, remote_task, PTR(i));
    for (int i = 0; i < REMOTE; i++) {
        void *r = NULL;
        if (tasks[i] && eddy_join(tasks[i], &r) == 0) /* blocks this thread */
            sum += INT(r);
    }
    atomic_store(&remote_done, 1);
    return (void *)sum;
}

static void *section_handle(void *arg)
{
    (void)arg;
    while (!atomic_load(&remote_done)) /* keep serving until the feeder is done */
        eddy_yield();
    return NULL;
}

/* ------------------------------------------------------------------ */
/* 3. CPU-heavy work on the blocking pool while the runtime keeps going */

static atomic_int crunching;

static void *count_primes(void *arg)
{
    int limit = INT(arg), count = 0;
    for (int n = 2; n < limit; n++) {
        bool prime = true;
        for (int d = 2; d * d <= n; d++)
            if (n % d == 0) {
                prime = false;
                break;
            }
        count += prime;
    }
    atomic_store(&crunching, 0);
    return PTR(count);
}

static void *ticker(void *arg)
{
    long *ticks = arg;
    while (atomic_load(&crunching)) {
        ++*ticks;
        eddy_yield();
    }
    return NULL;
}

static void *section_blocking(void *arg)
{
    (void)arg;
    long ticks = 0;
    atomic_store(&crunching, 1);
    eddy_task *b = eddy_spawn_blocking(count_primes, PTR(1000000));
    eddy_task *t = eddy_spawn(ticker, &ticks);
    void *primes = NULL;
    int rc = eddy_join(b, &primes); /* suspends only this task */
    eddy_join(t, NULL);
    printf("    primes below 1,000,000 (counted on a blocking-pool thread): %d\n",
           INT(primes));
    printf("    meanwhile a task on the runtime thread ticked %ld times\n", ticks);
    check(rc == 0 && INT(primes) == 78498, "prime count");
    return NULL;
}

/* ------------------------------------------------------------------ */
/* 4. JoinSet: results in completion order                            */

static void *sleepy(void *arg)
{
    for (int i = 0; i < INT(arg); i++)
        eddy_yield();
    return arg;
}

static void *section_joinset(void *arg)
{
    (void)arg;
    static const int yields[] = { 30, 10, 40, 0, 20 };
    eddy_join_set *set = eddy_join_set_new();
    for (int i = 0; i < 5; i++)
        eddy_join_set_spawn(set, NULL, sleepy, PTR(yields[i]));
    printf("    spawned tasks yielding 30, 10, 40, 0, 20 times; join_next order:");
    void *r;
    int prev = -1;
    bool sorted = true;
    while (eddy_join_set_join_next(set, &r, NULL) == 0) {
        printf(" %d", INT(r));
        sorted &= INT(r) > prev;
        prev = INT(r);
    }
    printf("\n");
    check(sorted, "completion order");
    check(eddy_join_set_join_next(set, NULL, NULL) == -ENOENT, "empty set");
    eddy_join_set_free(set);
    return NULL;
}

/* ------------------------------------------------------------------ */
/* 5. Aborting a parked task                                          */

static int forever_release;

static void *forever(void *arg)
{
    (void)arg;
    while (!forever_release && eddy_yield() == 0) {
    }
    return NULL;
}

static int parked_saw = 1;

static void *parked_joiner(void *arg)
{
    char *scratch = malloc(4096); /* something to clean up */
    parked_saw = eddy_join(arg, NULL); /* parks here until aborted */
    free(scratch);
    return NULL;
}

static void *section_abort(void *arg)
{
    (void)arg;
    eddy_task *f = eddy_spawn(forever, NULL);
    eddy_task *p = eddy_spawn(parked_joiner, f);
    for (int i = 0; i < 3; i++)
        eddy_yield(); /* p is now parked in eddy_join */
    eddy_abort(p);
    int rc = eddy_join(p, NULL);
    printf("    the parked task's eddy_join returned %d (%s)\n", parked_saw,
           eddy_strerror(parked_saw));
    printf("    joining the aborted task: %d (%s)\n", rc, eddy_strerror(rc));
    check(parked_saw == -ECANCELED && rc == -ECANCELED, "abort");
    forever_release = 1; /* the task it was joining was detached; let it end */
    for (int i = 0; i < 3; i++)
        eddy_yield();
    return NULL;
}

/* ------------------------------------------------------------------ */
/* 6. Misuse is reported, not a crash                                  */

static void *nothing(void *arg) { return arg; }

static void *foreign_thread(void *arg)
{
    (void)arg;
    return PTR(eddy_local_runtime_block_on(rt, nothing, NULL, NULL));
}

static void section_misuse(void)
{
    errno = 0;
    eddy_task *t = eddy_spawn_local(nothing, NULL);
    int e = errno;
    printf("    eddy_spawn_local outside a runtime: %s, errno %d (%s)\n",
           t ? "a task?!" : "NULL", e, eddy_strerror(e));
    check(!t && e == EPERM, "spawn_local outside a runtime");

    pthread_t th;
    void *res = NULL;
    pthread_create(&th, NULL, foreign_thread, NULL);
    pthread_join(th, &res);
    printf("    eddy_local_runtime_block_on from another thread: %d (%s)\n", INT(res),
           eddy_strerror(INT(res)));
    check(INT(res) == -EPERM, "block_on from another thread");
}

/* ------------------------------------------------------------------ */
/* 7. Shutdown with tasks still parked                                */

static int cleaned_up;

static void *parked_forever(void *arg)
{
    int *id = malloc(sizeof *id);
    *id = INT(arg);
    int rc;
    while ((rc = eddy_yield()) == 0) {
    }
    printf("    task %d: eddy_yield returned %s; freeing its memory\n", *id,
           eddy_strerror(rc));
    free(id);
    cleaned_up++;
    return NULL;
}

static void *section_shutdown(void *arg)
{
    (void)arg;
    for (int i = 1; i <= 3; i++)
        eddy_detach(eddy_spawn(parked_forever, PTR(i)));
    for (int i = 0; i < 3; i++)
        eddy_yield();
    return NULL; /* block_on returns; the three tasks are still parked */
}

/* ------------------------------------------------------------------ */

int main(void)
{
    owner = pthread_self();
    setvbuf(stdout, NULL, _IOLBF, 0);
    printf("eddy %s demo\n\n", eddy_version());

    rt = eddy_local_runtime_new(NULL);
    if (!rt) {
        perror("eddy_local_runtime_new");
        return 1;
    }

    printf("1. LocalRuntime: many tasks, one thread, plain shared state\n");
    eddy_local_runtime_block_on(rt, section_many_tasks, NULL, NULL);

    printf("2. Handle: another thread hands tasks to the runtime\n");
    eddy_handle *h = eddy_local_runtime_handle(rt);
    pthread_t th;
    pthread_create(&th, NULL, feeder_thread, h);
    eddy_local_runtime_block_on(rt, section_handle, NULL, NULL);
    void *sum = NULL;
    pthread_join(th, &sum);
    eddy_handle_release(h);
    printf("    %d tasks spawned and joined from another thread, sum of results %ld;"
           " %d ran on the owner thread\n",
           REMOTE, (long)sum, atomic_load(&remote_on_owner));
    check((long)sum == (long)REMOTE * (REMOTE - 1) / 2 &&
              atomic_load(&remote_on_owner) == REMOTE,
          "handle");

    printf("3. Blocking pool: heavy work off the runtime thread\n");
    eddy_local_runtime_block_on(rt, section_blocking, NULL, NULL);

    printf("4. JoinSet\n");
    eddy_local_runtime_block_on(rt, section_joinset, NULL, NULL);

    printf("5. Cooperative cancellation\n");
    eddy_local_runtime_block_on(rt, section_abort, NULL, NULL);

    printf("6. Misuse\n");
    section_misuse();

    printf("7. Shutdown with tasks still parked\n");
    eddy_local_runtime_block_on(rt, section_shutdown, NULL, NULL);
    int rc = eddy_local_runtime_free(rt);
    printf("    eddy_local_runtime_free: %d; %d tasks cleaned up\n", rc, cleaned_up);
    check(rc == 0 && cleaned_up == 3, "shutdown");

    printf("\n%s\n", failures ? "some checks FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
