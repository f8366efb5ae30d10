/* The stack caches: stacks beyond a thread's hot tier go to the shared
 * cold pool (their header dropped, their pages handed back after a while)
 * and come back whole, on any thread; waves of tasks larger than the
 * cache reuse them. */
#include "util.h"

#include <time.h>

#include <pthread.h>

#include "arch/stack.h"
#include "arch/stack_pool.h"

/* More than the hot tier (1024) plus one spill batch (4096). */
#define WAVE 6000
#define SIZE ((size_t)16 * 1024)

/* A usable stack: its header describes a range inside its mapping, and
 * every byte of that range can be written. */
static void check_stack(const eddy_stack *s, size_t size, unsigned char mark)
{
    cr_assert_not_null(s);
    cr_assert(s->size <= size && s->size >= size - 256, "usable %zu of %zu", s->size, size);
    cr_assert_eq(s->shape, size);
    cr_assert((char *)s->lo >= (char *)s->map);
    cr_assert((char *)s->lo + s->size <= (char *)s->map + s->map_size);
    unsigned char *lo = s->lo;
    lo[0] = mark;
    lo[s->size - 1] = mark;
    cr_assert_eq(lo[0], mark);
    cr_assert_eq(lo[s->size - 1], mark);
}

static void wave(eddy_stack **v, bool guarded, unsigned char mark)
{
    for (int i = 0; i < WAVE; i++) {
        v[i] = eddy__stack_get(SIZE, guarded);
        check_stack(v[i], SIZE, mark);
    }
    /* no stack is handed out twice */
    for (int i = 1; i < WAVE; i++)
        cr_assert_neq(v[i], v[i - 1]);
    for (int i = 0; i < WAVE; i++)
        eddy__stack_put(v[i], SIZE, guarded);
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static void cold_reuse(bool guarded)
{
    eddy_stack **v = calloc(WAVE, sizeof *v);
    cr_assert_not_null(v);
    eddy__stack_pool_ref(); /* as a runtime does */
    wave(v, guarded, 1);
    wave(v, guarded, 2); /* served from the hot and the cold tier */

    /* A cold batch is pending: parking schedulers are told when it is due,
     * at most a second (and a rounding millisecond) from now. On a slow
     * machine (valgrind) the batches may already be due: then this call
     * handed them back and nothing is pending (-1). */
    int due = eddy__stack_pool_trim(-1);
    cr_assert(due == -1 || (due > 0 && due <= 1001), "a cold batch is due in (0, 1001] ms: %d",
              due);
    cr_assert_eq(eddy__stack_pool_trim(0), 0, "a shorter time-out is kept");
    if (due > 0)
        sleep_ms(due + 10);
    cr_assert_eq(eddy__stack_pool_trim(-1), -1, "everything due was handed back");

    wave(v, guarded, 3); /* stacks whose pages were handed back still work */
    eddy__stack_cache_drain();
    wave(v, guarded, 4); /* and after a drain, fresh ones */
    eddy__stack_cache_drain();
    eddy__stack_pool_unref();
    free(v);
}

Test(stack_cache, unguarded_stacks_come_back_from_cold, .timeout = T_TIMEOUT)
{
    cold_reuse(false);
}

Test(stack_cache, guarded_stacks_come_back_from_cold, .timeout = T_TIMEOUT)
{
    cold_reuse(true);
}

/* A change of shape drops the cold tier of the old shape. */
Test(stack_cache, shape_change_drops_old_cold_stacks, .timeout = T_TIMEOUT)
{
    eddy_stack **v = calloc(WAVE, sizeof *v);
    cr_assert_not_null(v);
    eddy__stack_pool_ref();
    wave(v, false, 1);
    for (int i = 0; i < 1024 + 10; i++) /* empty the hot tier */
        v[i] = eddy__stack_get(SIZE, false);
    eddy_stack *other = eddy__stack_get(2 * SIZE, false);
    check_stack(other, 2 * SIZE, 5);
    for (int i = 0; i < 1024 + 10; i++)
        eddy__stack_put(v[i], SIZE, false);
    eddy__stack_put(other, 2 * SIZE, false); /* the hot tier now holds the new shape */
    for (int i = 0; i < 100; i++) {
        v[i] = eddy__stack_get(2 * SIZE, false);
        check_stack(v[i], 2 * SIZE, 6);
    }
    for (int i = 0; i < 100; i++)
        eddy__stack_put(v[i], 2 * SIZE, false);
    eddy__stack_cache_drain();
    eddy__stack_pool_unref();
    free(v);
}

/* A wave larger than the hot tier but smaller than a spill batch: the
 * stacks past the hot tier wait on this thread for a batch to fill. The
 * next waves take them back, and map no new stack while they can. */
#define MID_WAVE 2000
#define MID_WAVES 4
/* An unguarded stack is mapped with up to 63 others, which wait in the
 * cache unused. */
#define BATCH_SLACK 64

static int by_pointer(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (char *const *)a, y = (uintptr_t) * (char *const *)b;
    return (x > y) - (x < y);
}

static void mid_waves_reuse(bool guarded)
{
    eddy_stack **v = calloc(MID_WAVE, sizeof *v);
    char **maps = calloc(MID_WAVES * MID_WAVE, sizeof *maps);
    cr_assert(v && maps);
    eddy__stack_pool_ref();
    for (int w = 0; w < MID_WAVES; w++) {
        for (int i = 0; i < MID_WAVE; i++) {
            v[i] = eddy__stack_get(SIZE, guarded);
            check_stack(v[i], SIZE, (unsigned char)w);
            maps[w * MID_WAVE + i] = v[i]->map;
        }
        for (int i = 0; i < MID_WAVE; i++)
            eddy__stack_put(v[i], SIZE, guarded);
    }
    qsort(maps, MID_WAVES * MID_WAVE, sizeof *maps, by_pointer);
    int distinct = 1;
    for (int i = 1; i < MID_WAVES * MID_WAVE; i++)
        distinct += maps[i] != maps[i - 1];
    cr_assert(distinct >= MID_WAVE && distinct <= MID_WAVE + (guarded ? 0 : BATCH_SLACK),
              "%d waves of %d stacks used %d mappings", MID_WAVES, MID_WAVE, distinct);
    eddy__stack_cache_drain();
    eddy__stack_pool_unref();
    free(maps);
    free(v);
}

Test(stack_cache, unguarded_mid_waves_map_nothing_new, .timeout = T_TIMEOUT)
{
    mid_waves_reuse(false);
}

Test(stack_cache, guarded_mid_waves_map_nothing_new, .timeout = T_TIMEOUT)
{
    mid_waves_reuse(true);
}

/* Stacks taken on one thread and finished on another (a task that moved
 * between workers) reach the first thread again through the pool. */
static eddy_stack **handed;

static void *put_them_all(void *arg)
{
    (void)arg;
    for (int i = 0; i < WAVE; i++)
        eddy__stack_put(handed[i], SIZE, false);
    eddy__stack_cache_drain(); /* its hot tier; the pool keeps the rest */
    return NULL;
}

Test(stack_cache, stacks_freed_on_another_thread_come_back, .timeout = T_TIMEOUT)
{
    handed = calloc(WAVE, sizeof *handed);
    eddy_stack **again = calloc(WAVE, sizeof *again);
    cr_assert(handed && again);
    eddy__stack_pool_ref();
    for (int i = 0; i < WAVE; i++) {
        handed[i] = eddy__stack_get(SIZE, false);
        check_stack(handed[i], SIZE, 1);
    }
    char **maps = calloc(WAVE, sizeof *maps);
    for (int i = 0; i < WAVE; i++)
        maps[i] = handed[i]->map;
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, put_them_all, NULL), 0);
    pthread_join(th, NULL);
    /* This thread's hot tier holds what its batch mappings left over; past
     * those, stacks come from the pool: mappings seen before. */
    int reused = 0;
    for (int i = 0; i < WAVE; i++) {
        again[i] = eddy__stack_get(SIZE, false);
        check_stack(again[i], SIZE, 2);
        for (int j = 0; j < WAVE && !reused; j++)
            reused = maps[j] == again[i]->map;
    }
    cr_assert(reused, "no stack came back through the pool");
    for (int i = 0; i < WAVE; i++)
        eddy__stack_put(again[i], SIZE, false);
    eddy__stack_cache_drain();
    eddy__stack_pool_unref();
    free(maps);
    free(again);
    free(handed);
}

/* ---- through the runtime: waves of parked tasks larger than the cache ---- */

static int woken;

static void *parker(void *arg)
{
    volatile char frame[2048]; /* touches a second page */
    frame[0] = (char)(uintptr_t)arg;
    frame[sizeof frame - 1] = frame[0];
    int rc = eddy_sleep(1 + (uintptr_t)arg % 3);
    if (rc == 0 && frame[sizeof frame - 1] == (char)(uintptr_t)arg)
        woken++;
    return NULL;
}

static void *root_waves(void *arg)
{
    (void)arg;
    eddy_task **h = calloc(WAVE, sizeof *h);
    for (int w = 0; w < 3; w++) {
        for (int i = 0; i < WAVE; i++)
            h[i] = eddy_spawn(parker, T_PTR(i));
        for (int i = 0; i < WAVE; i++)
            if (!h[i] || eddy_join(h[i], NULL) != 0)
                return T_PTR(-1);
    }
    free(h);
    return T_PTR(woken);
}

Test(stack_cache, waves_of_parked_tasks_reuse_cold_stacks, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .stack_guard = EDDY_STACK_UNGUARDED };
    eddy_local_runtime *rt = t_local_rt_opts(&o);
    cr_assert_eq(T_INT(t_block_on(rt, root_waves, NULL)), 3 * WAVE);
    t_free_rt(rt);
}
