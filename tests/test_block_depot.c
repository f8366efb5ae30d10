/* The block depot behind the per-thread block caches: batches in and out,
 * its cap, its lifetime, and blocks freed on one thread serving another
 * thread's allocations instead of going back to malloc. */
#include "util.h"

#include "util/block_cache.h"
#include "util/block_depot.h"
#include "task/task.h"

#include <time.h>

#define SIZE 224 /* a task's size class */

static unsigned klass(void)
{
    return eddy__block_class(SIZE);
}

static eddy_free_block *make_batch(void)
{
    eddy_free_block *first = NULL;
    for (int i = 0; i < EDDY_BLOCK_BATCH; i++) {
        eddy_free_block *b = malloc(SIZE);
        cr_assert_not_null(b);
        b->next = first;
        first = b;
    }
    return first;
}

static size_t batch_len(eddy_free_block *b)
{
    size_t n = 0;
    for (; b; b = b->next)
        n++;
    return n;
}

static void free_batch(eddy_free_block *b)
{
    while (b) {
        eddy_free_block *next = b->next;
        free(b);
        b = next;
    }
}

Test(block_depot, batches_in_and_out_up_to_the_cap, .timeout = T_TIMEOUT)
{
    eddy__block_depot_ref();
    size_t cap = EDDY_BLOCK_DEPOT_BYTES / ((size_t)SIZE * EDDY_BLOCK_BATCH);
    size_t given = 0;
    for (;;) {
        bool room = eddy__block_depot_has_room(klass());
        eddy_free_block *b = make_batch();
        if (!eddy__block_depot_give(klass(), b)) {
            free_batch(b); /* refused: still the caller's */
            cr_assert_not(room, "has_room said yes to a give that was refused");
            break;
        }
        cr_assert(room, "has_room said no to a give that was taken");
        given++;
        cr_assert_leq(given, cap, "the depot took more than its cap");
    }
    cr_assert_eq(given, cap);
    cr_assert_not(eddy__block_depot_has_room(klass()));
    size_t taken = 0;
    eddy_free_block *b;
    while ((b = eddy__block_depot_take(klass()))) {
        cr_assert(eddy__block_depot_has_room(klass()), "a take made no room");
        cr_assert_eq(batch_len(b), EDDY_BLOCK_BATCH, "a batch came back cut");
        free_batch(b);
        taken++;
    }
    cr_assert_eq(taken, given);
    eddy__block_depot_unref();
}

Test(block_depot, holds_nothing_without_a_runtime, .timeout = T_TIMEOUT)
{
    eddy_free_block *b = make_batch();
    cr_assert_not(eddy__block_depot_has_room(klass()));
    cr_assert_not(eddy__block_depot_give(klass(), b));
    free_batch(b);
    cr_assert_null(eddy__block_depot_take(klass()));
}

Test(block_depot, the_last_unref_frees_what_it_holds, .timeout = T_TIMEOUT)
{
    /* valgrind (make test-valgrind) reports the blocks if they leak. */
    eddy__block_depot_ref();
    for (int i = 0; i < 3; i++)
        cr_assert(eddy__block_depot_give(klass(), make_batch()));
    eddy__block_depot_unref();
    eddy__block_depot_ref();
    cr_assert_null(eddy__block_depot_take(klass()));
    eddy__block_depot_unref();
}

/* ---- blocks freed on one thread serve another's allocations ---- */

enum { BLOCKS = 30000 };
static void *made[BLOCKS], *again[BLOCKS];

static void *alloc_all(void *arg)
{
    void **into = arg;
    for (int i = 0; i < BLOCKS; i++)
        into[i] = eddy__block_alloc(SIZE);
    return NULL;
}

static void *free_all(void *arg)
{
    void **from = arg;
    for (int i = 0; i < BLOCKS; i++)
        eddy__block_free(from[i], SIZE);
    eddy__block_cache_drain(); /* what stayed in this thread's cache */
    return NULL;
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return (x > y) - (x < y);
}

Test(block_depot, blocks_freed_elsewhere_come_back, .timeout = T_TIMEOUT)
{
    bool cached = eddy__block_cached(SIZE); /* not under ASan */
    eddy__block_depot_ref(); /* as a live runtime holds it */
    t_thread_join(t_thread_start(alloc_all, made));
    for (int i = 0; i < BLOCKS; i++)
        cr_assert_not_null(made[i]);
    static void *sorted[BLOCKS];
    memcpy(sorted, made, sizeof made);
    qsort(sorted, BLOCKS, sizeof *sorted, by_address);

    /* Freed on a second thread: its cache fills, and the rest goes to the
     * depot in batches instead of back to malloc. */
    t_thread_join(t_thread_start(free_all, made));
    eddy_free_block *b = eddy__block_depot_take(klass());
    if (cached) {
        cr_assert_not_null(b, "nothing reached the depot");
        for (eddy_free_block *x = b; x; x = x->next)
            cr_assert_not_null(bsearch(&x, sorted, BLOCKS, sizeof *sorted, by_address),
                               "a block in the depot that was never made here");
        cr_assert(eddy__block_depot_give(klass(), b));
    } else {
        cr_assert_null(b);
    }

    /* A third thread allocating takes every batch before calling malloc. */
    t_thread_join(t_thread_start(alloc_all, again));
    for (int i = 0; i < BLOCKS; i++)
        cr_assert_not_null(again[i]);
    cr_assert_null(eddy__block_depot_take(klass()), "the depot was not emptied first");
    t_thread_join(t_thread_start(free_all, again));
    eddy__block_depot_unref();
}

/* A full cache whose depot is full too frees the block, and keeps the
 * rest: the cache and the depot stay as they were. */
static void *overflow_full_depot(void *arg)
{
    (void)arg;
    /* A cache takes blocks while it holds less than its bytes. */
    size_t full = (EDDY_BLOCK_CACHE_BYTES + SIZE - 1) / SIZE;
    size_t cap = full + 1; /* one past the cache */
    void **blocks = malloc(cap * sizeof *blocks);
    if (!blocks)
        return T_PTR(0);
    for (size_t i = 0; i < cap; i++)
        blocks[i] = malloc(SIZE);
    for (size_t i = 0; i < cap; i++)
        eddy__block_free(blocks[i], SIZE); /* the last one spills */
    eddy_block_cache *c = eddy__block_cache();
    size_t kept = c->count[klass()];
    eddy__block_cache_drain();
    free(blocks);
    return T_PTR(kept == full);
}

Test(block_depot, a_full_depot_refuses_and_the_block_is_freed, .timeout = T_TIMEOUT)
{
    if (!eddy__block_cached(SIZE))
        return; /* ASan: no caches */
    eddy__block_depot_ref();
    size_t cap = EDDY_BLOCK_DEPOT_BYTES / ((size_t)SIZE * EDDY_BLOCK_BATCH);
    for (size_t i = 0; i < cap; i++)
        cr_assert(eddy__block_depot_give(klass(), make_batch()));
    cr_assert(T_INT(t_thread_join(t_thread_start(overflow_full_depot, NULL))),
              "the spill changed the cache although the depot was full");
    size_t taken = 0;
    eddy_free_block *b;
    while ((b = eddy__block_depot_take(klass()))) {
        free_batch(b);
        taken++;
    }
    cr_assert_eq(taken, cap, "the depot grew past its cap");
    eddy__block_depot_unref();
}

/* ---- decay: a batch nobody takes back for a second is freed ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* valgrind (make test-valgrind) reports the freed batches if they leak
 * instead. */
Test(block_depot, batches_unused_for_a_second_are_freed, .timeout = T_TIMEOUT)
{
    eddy__block_depot_ref();
    cr_assert_eq(eddy__block_depot_trim(-1), -1, "an empty depot shortens no park");
    cr_assert_eq(eddy__block_depot_trim(7), 7);

    cr_assert(eddy__block_depot_give(klass(), make_batch()));
    /* Due in at most a second (and a rounding millisecond); on a slow
     * machine (valgrind) it may be due already, and then it was freed. */
    int due = eddy__block_depot_trim(-1);
    cr_assert(due == -1 || (due > 0 && due <= 1001), "a batch is due in (0, 1001] ms: %d", due);
    cr_assert_eq(eddy__block_depot_trim(0), 0, "a shorter time-out is kept");
    if (due > 0)
        sleep_ms(600);

    /* A second batch, given while the first waits: younger, it stays. */
    uint64_t second_given = mono_ns();
    cr_assert(eddy__block_depot_give(klass(), make_batch()));
    if (due > 0)
        sleep_ms(500);
    (void)eddy__block_depot_trim(-1);
    uint64_t trimmed = mono_ns();

    eddy_free_block *b = eddy__block_depot_take(klass());
    if (trimmed - second_given < 1000000000u) {
        /* Not a second old at the trim: it is the one left. */
        cr_assert_not_null(b, "the younger batch was freed too");
        free_batch(b);
        b = eddy__block_depot_take(klass());
    }
    cr_assert_null(b, "a batch unused for a second is still held");
    cr_assert_eq(eddy__block_depot_trim(-1), -1, "nothing left to be due");
    eddy__block_depot_unref();
}

/* A runtime's idle scheduler runs that decay: after a burst of tasks the
 * depot holds batches, and while the runtime lives on, asleep, they are
 * freed (within about a second; the wait gives up after ten). */
enum { BURST = 40000 };

static void *noop(void *arg)
{
    return arg;
}

static void *burst_then_idle(void *arg)
{
    (void)arg;
    eddy_task **h = calloc(BURST, sizeof *h);
    if (!h)
        return T_PTR(-1);
    for (int i = 0; i < BURST; i++)
        h[i] = eddy_spawn(noop, NULL);
    for (int i = 0; i < BURST; i++)
        if (!h[i] || eddy_join(h[i], NULL) != 0)
            return T_PTR(-1);
    free(h);
    /* Tasks that do not come from the caches (under ASan, or with the
     * ucontext switch, whose saved context makes a task too large for
     * them) leave nothing to decay. */
    if (eddy__block_cached(sizeof(eddy_task)) && eddy__block_depot_batches() == 0)
        return T_PTR(-2);
    for (int i = 0; i < 40 && eddy__block_depot_batches() > 0; i++)
        if (eddy_sleep(250) != 0)
            return T_PTR(-1);
    return T_PTR(eddy__block_depot_batches() == 0 ? 1 : 0);
}

static void check_burst_decays(int r)
{
    cr_assert_neq(r, -1, "the burst failed");
    cr_assert_neq(r, -2, "the burst left nothing in the depot: the test shows nothing");
    cr_assert_eq(r, 1, "the depot still held batches ten seconds after the burst");
}

Test(block_depot, an_idle_local_runtime_frees_what_it_holds, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    check_burst_decays(T_INT(t_block_on(rt, burst_then_idle, NULL)));
    t_free_rt(rt);
}

Test(block_depot, idle_workers_free_what_it_holds, .timeout = T_TIMEOUT)
{
    eddy_runtime *rt = t_mt_rt(2, 0, EDDY_STACK_GUARDED);
    check_burst_decays(T_INT(t_rt_block_on(rt, burst_then_idle, NULL)));
    eddy_runtime_free(rt);
}
