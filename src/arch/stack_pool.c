/* The cold stack pool (see stack_pool.h). */
#include "arch/stack_pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/clock.h"

/* 4 GiB of address space with the default 16 KiB stacks. */
#define POOL_MAX ((size_t)1 << 18)
/* Batches whose pages are still there; when there are more, the oldest
 * is handed back at once. */
#define POOL_BATCHES 64
#define POOL_DECAY_NS ((uint64_t)1000000000)

static struct {
    pthread_mutex_t lock;
    unsigned users;       /* live runtimes */
    size_t size;          /* the shape held (valid while n > 0) */
    bool guarded;
    char **maps;          /* oldest first */
    size_t n, cap;
    /* maps[0..nfreed) were handed back; the rest came in batches, oldest
     * first: batch i starts at maps[batch[i].start]. */
    size_t nfreed;
    struct {
        size_t start;
        uint64_t when;
    } batch[POOL_BATCHES];
    unsigned nbatch;
    /* When the oldest batch is due (UINT64_MAX: none), read without the
     * lock by parking schedulers. */
    atomic_uint_fast64_t due;
} pool = { .lock = PTHREAD_MUTEX_INITIALIZER, .due = UINT64_MAX };

static size_t map_len(size_t size, bool guarded)
{
    return (guarded ? (size_t)sysconf(_SC_PAGESIZE) : 0) + size;
}

static int by_pointer(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (char *const *)a, y = (uintptr_t) * (char *const *)b;
    return (x > y) - (x < y);
}

/* Calls madvise or munmap on maps[from..to) (sorted first), adjacent
 * mappings in one call. */
static void for_runs(size_t from, size_t to, bool unmap)
{
    size_t len = map_len(pool.size, pool.guarded);
    qsort(pool.maps + from, to - from, sizeof *pool.maps, by_pointer);
    size_t first = from;
    for (size_t i = from + 1; i <= to; i++) {
        if (i == to || pool.maps[i] != pool.maps[i - 1] + len) {
            size_t bytes = (i - first) * len;
            if (unmap)
                munmap(pool.maps[first], bytes);
            else if (madvise(pool.maps[first], bytes, MADV_FREE) != 0)
                madvise(pool.maps[first], bytes, MADV_DONTNEED); /* Linux < 4.5 */
            first = i;
        }
    }
}

static void update_due(void)
{
    atomic_store_explicit(&pool.due,
                          pool.nbatch ? pool.batch[0].when + POOL_DECAY_NS : UINT64_MAX,
                          memory_order_relaxed);
}

/* Hands back the pages of the oldest batch. Under the lock. */
static void decay_oldest(void)
{
    size_t end = pool.nbatch > 1 ? pool.batch[1].start : pool.n;
    for_runs(pool.nfreed, end, false);
    pool.nfreed = end;
    memmove(pool.batch, pool.batch + 1, --pool.nbatch * sizeof *pool.batch);
    update_due();
}

void eddy__stack_pool_ref(void)
{
    pthread_mutex_lock(&pool.lock);
    pool.users++;
    pthread_mutex_unlock(&pool.lock);
}

void eddy__stack_pool_unref(void)
{
    pthread_mutex_lock(&pool.lock);
    if (--pool.users == 0) {
        if (pool.n)
            for_runs(0, pool.n, true);
        free(pool.maps);
        pool.maps = NULL;
        pool.n = pool.cap = pool.nfreed = 0;
        pool.nbatch = 0;
        update_due();
    }
    pthread_mutex_unlock(&pool.lock);
}

bool eddy__stack_pool_give(char *const *maps, size_t n, size_t size, bool guarded)
{
    bool ok = false;
    pthread_mutex_lock(&pool.lock);
    if (!pool.users || n == 0 || pool.n + n > POOL_MAX)
        goto out;
    if (pool.n == 0) {
        pool.size = size;
        pool.guarded = guarded;
    } else if (pool.size != size || pool.guarded != guarded) {
        goto out;
    }
    if (pool.n + n > pool.cap) {
        size_t cap = pool.cap ? pool.cap : 4096;
        while (cap < pool.n + n)
            cap *= 2;
        char **grown = realloc(pool.maps, cap * sizeof *grown);
        if (!grown)
            goto out;
        pool.maps = grown;
        pool.cap = cap;
    }
    if (pool.nbatch == POOL_BATCHES)
        decay_oldest();
    pool.batch[pool.nbatch].start = pool.n;
    pool.batch[pool.nbatch].when = eddy__mono_ns();
    pool.nbatch++;
    memcpy(pool.maps + pool.n, maps, n * sizeof *maps);
    pool.n += n;
    update_due();
    ok = true;
out:
    pthread_mutex_unlock(&pool.lock);
    return ok;
}

size_t eddy__stack_pool_take(char **out, size_t n, size_t size, bool guarded)
{
    size_t k = 0;
    pthread_mutex_lock(&pool.lock);
    if (pool.n && pool.size == size && pool.guarded == guarded) {
        k = n < pool.n ? n : pool.n;
        pool.n -= k;
        memcpy(out, pool.maps + pool.n, k * sizeof *out);
        while (pool.nbatch && pool.batch[pool.nbatch - 1].start >= pool.n)
            pool.nbatch--;
        if (pool.nfreed > pool.n)
            pool.nfreed = pool.n;
        update_due();
    }
    pthread_mutex_unlock(&pool.lock);
    return k;
}

int eddy__stack_pool_trim(int timeout_ms)
{
    uint64_t due = atomic_load_explicit(&pool.due, memory_order_relaxed);
    if (due == UINT64_MAX)
        return timeout_ms;
    uint64_t now = eddy__mono_ns();
    if (now >= due) {
        pthread_mutex_lock(&pool.lock);
        /* `now` was read before the lock: a batch given since is younger. */
        while (pool.nbatch && pool.batch[0].when + POOL_DECAY_NS <= now)
            decay_oldest();
        pthread_mutex_unlock(&pool.lock);
        due = atomic_load_explicit(&pool.due, memory_order_relaxed);
    }
    return eddy__park_timeout_until(timeout_ms, due, now);
}
