/* The floor under yield_many: eddy's own context switch with nothing
 * around it. 200 contexts (yield_many's task count), each on its own
 * page-aligned stack as a task's is, pass control round a ring; no queue,
 * no task, no scheduler. A stackful task's yield cannot cost less than one
 * such switch, so this figure beside Tokio's yield says how low the
 * yield_many ratio can go on this machine at all. bench/run.py runs it in
 * the same rounds as the workloads and prints it under the table.
 *
 *   bench_switch_floor [--runs N]
 *
 * Prints one JSON line in bench_eddy's format:
 *   {"workload":"yield_many","flavor":"switch_ring","n":...,"ns_per_op":8.2,"runs":N,"samples":[...]}
 */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "arch/ctx.h"

#define CONTEXTS 200
#define LAPS 5000
#define STACK_BYTES (16 * 1024)

static eddy_ctx g_main;
static eddy_ctx g_ring[CONTEXTS];
static long g_laps_left;

/* Context i hands on to i + 1, for ever; context 0 counts the laps and
 * goes back to main when they are done. */
static void member(void *arg)
{
    uintptr_t i = (uintptr_t)arg;
    eddy_ctx *self = &g_ring[i];
    eddy_ctx *next = &g_ring[(i + 1) % CONTEXTS];
    for (;;) {
        if (i == 0 && g_laps_left-- == 0)
            eddy__ctx_switch(self, &g_main);
        eddy__ctx_switch(self, next);
    }
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One run: a fresh ring, LAPS laps; ns per switch. */
static double one_run(char *stacks)
{
    for (uintptr_t i = 0; i < CONTEXTS; i++)
        eddy__ctx_init(&g_ring[i], stacks + i * STACK_BYTES, STACK_BYTES, member, (void *)i);
    g_laps_left = LAPS;
    uint64_t t0 = now_ns();
    eddy__ctx_switch(&g_main, &g_ring[0]);
    uint64_t t1 = now_ns();
    return (double)(t1 - t0) / ((double)LAPS * CONTEXTS);
}

int main(int argc, char **argv)
{
    int runs = 7;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc && atoi(argv[i + 1]) > 0) {
            runs = atoi(argv[++i]);
        } else if ((strcmp(argv[i], "--workload") == 0 || strcmp(argv[i], "--flavor") == 0) &&
                   i + 1 < argc) {
            i++; /* bench_eddy's arguments, accepted and ignored: there is one probe */
        } else {
            fprintf(stderr, "usage: bench_switch_floor [--runs N]\n");
            return 2;
        }
    }
    char *stacks = mmap(NULL, (size_t)CONTEXTS * STACK_BYTES, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    double *samples = malloc((size_t)runs * sizeof *samples);
    if (stacks == MAP_FAILED || !samples) {
        perror("bench_switch_floor");
        return 1;
    }
    one_run(stacks); /* warm-up */
    for (int r = 0; r < runs; r++)
        samples[r] = one_run(stacks);
    printf("{\"workload\":\"yield_many\",\"flavor\":\"switch_ring\",\"n\":%ld,", (long)LAPS * CONTEXTS);
    double *sorted = malloc((size_t)runs * sizeof *sorted);
    if (!sorted) {
        perror("bench_switch_floor");
        return 1;
    }
    memcpy(sorted, samples, (size_t)runs * sizeof *sorted);
    qsort(sorted, (size_t)runs, sizeof *sorted, cmp_double);
    printf("\"ns_per_op\":%.2f,\"runs\":%d,\"samples\":[", sorted[runs / 2], runs);
    for (int r = 0; r < runs; r++)
        printf("%s%.2f", r ? "," : "", samples[r]);
    printf("]}\n");
    free(sorted);
    free(samples);
    munmap(stacks, (size_t)CONTEXTS * STACK_BYTES);
    return 0;
}
