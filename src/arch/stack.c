/* Stack mapping and the per-thread stack cache. */
#include "arch/stack.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "util/clock.h"

#define STACK_MIN ((size_t)16 * 1024)
/* The hot tier (see struct stack_cache): enough for a thousand tasks parked and
 * released in waves without a system call each; what a cached stack keeps
 * resident is what its last task touched. */
#define CACHE_MAX 1024
/* The header's slot at the top of the mapping (keeps the stack aligned). */
#define HEADER_SIZE ((sizeof(eddy_stack) + 63) & ~(size_t)63)

static size_t page_size(void)
{
    static atomic_size_t cached;
    size_t page = atomic_load_explicit(&cached, memory_order_relaxed);
    if (!page) {
        page = (size_t)sysconf(_SC_PAGESIZE);
        atomic_store_explicit(&cached, page, memory_order_relaxed);
    }
    return page;
}

size_t eddy__stack_round(size_t size)
{
    size_t page = page_size();
    if (size > EDDY_STACK_MAX)
        return 0;
    if (size < STACK_MIN)
        size = STACK_MIN;
    return (size + page - 1) & ~(page - 1);
}

/* The cache keeps stacks of one shape only (the size and guard mode most
 * recently returned into an empty cache): the runtime default. Other
 * shapes are unmapped when they are done.
 *
 * It has two tiers. The hot tier (up to CACHE_MAX stacks) keeps stacks as
 * they are, header included. Stacks beyond it are gathered in the spill
 * array and then go cold, SPILL_MAX at a time: only their addresses are
 * kept, and their pages stay as they are for a while (COLD_DECAY_NS), so
 * that the next burst of tasks reuses them without a page fault; a fresh
 * page costs a fault and zeroing, microseconds, against the tens of
 * nanoseconds of running a short task. Pages unused that long are handed
 * back with MADV_FREE (reclaimed by the kernel when it needs memory; a
 * reuse before that still costs no fault), the way memory allocators
 * decay their free pages. The decay runs when the scheduler parks
 * (eddy__stack_cache_trim). A cold stack's header is written anew when
 * it is taken: its page may have been reclaimed. Everything is unmapped
 * when the thread's cache is drained (its runtime is freed, its worker
 * exits). */

/* munmap and madvise cost about as much as running a short task, and one
 * per stack would split the batch mappings: spilled stacks are handled
 * SPILL_MAX at a time. */
#define SPILL_MAX 4096
/* Cold stacks kept at most per thread: 4 GiB of address space with the
 * default 16 KiB stacks; beyond, stacks are unmapped. */
#define COLD_MAX ((size_t)1 << 18)
/* Batches of cold stacks whose pages are still there; when there are
 * more, the oldest is handed back at once. */
#define COLD_BATCHES 64
#define COLD_DECAY_NS ((uint64_t)1000000000)

/* A mapping done with, recorded while its header is at hand (walking the
 * headers later would touch a page per stack). */
typedef struct span {
    char *map;
    size_t len;
    bool keep; /* of the cache's shape: may go cold */
} span;

struct stack_cache {
    eddy_stack *head;   /* hot tier */
    unsigned count;
    size_t size;
    bool guarded;
    span *spill;        /* SPILL_MAX; done with, to make cold or unmap */
    unsigned nspill;
    char **cold;        /* mappings of cold stacks of the cache's shape */
    size_t ncold, cold_cap;
    /* cold[0..nfreed) were handed back; the rest went cold in batches,
     * oldest first: batch i starts at cold[batch[i].start]. */
    size_t nfreed;
    struct cold_batch {
        size_t start;
        uint64_t when;
    } batch[COLD_BATCHES];
    unsigned nbatch;
};

static _Thread_local struct stack_cache tls_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

__attribute__((noinline)) static struct stack_cache *cache(void)
{
    return &tls_cache;
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const span *)a)->map;
    uintptr_t y = (uintptr_t)((const span *)b)->map;
    return (x > y) - (x < y);
}

/* Calls fn on each run of adjacent spans of v (sorted), coalesced. */
static void for_each_run(span *v, size_t n, void (*fn)(struct stack_cache *, span *, size_t),
                         struct stack_cache *c)
{
    size_t first = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i == n || v[i].map != v[i - 1].map + v[i - 1].len) {
            fn(c, v + first, i - first);
            first = i;
        }
    }
}

static void unmap_run(struct stack_cache *c, span *run, size_t n)
{
    (void)c;
    char *end = run[n - 1].map + run[n - 1].len;
    munmap(run[0].map, (size_t)(end - run[0].map));
}

static int by_pointer(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (char *const *)a, y = (uintptr_t) * (char *const *)b;
    return (x > y) - (x < y);
}

/* Hands the pages of cold[from..to) back to the kernel, adjacent stacks
 * in one call. MADV_FREE needs Linux 4.5; before, MADV_DONTNEED. */
static void hand_back(struct stack_cache *c, size_t from, size_t to)
{
    size_t len = (c->guarded ? page_size() : 0) + c->size;
    qsort(c->cold + from, to - from, sizeof *c->cold, by_pointer);
    size_t first = from;
    for (size_t i = from + 1; i <= to; i++) {
        if (i == to || c->cold[i] != c->cold[i - 1] + len) {
            size_t bytes = (i - first) * len;
            if (madvise(c->cold[first], bytes, MADV_FREE) != 0)
                madvise(c->cold[first], bytes, MADV_DONTNEED);
            first = i;
        }
    }
}

/* Hands back the oldest batch of cold stacks that still have pages. */
static void decay_oldest(struct stack_cache *c)
{
    size_t end = c->nbatch > 1 ? c->batch[1].start : c->ncold;
    hand_back(c, c->nfreed, end);
    c->nfreed = end;
    memmove(c->batch, c->batch + 1, --c->nbatch * sizeof *c->batch);
}

/* Appends the kept spans of v to the cold tier as one new batch; what
 * does not fit has its keep cleared, to be unmapped. */
static void make_cold(struct stack_cache *c, span *v, size_t n)
{
    if (c->ncold + n > c->cold_cap && c->cold_cap < COLD_MAX) {
        size_t cap = c->cold_cap ? c->cold_cap : 1024;
        while (cap < c->ncold + n && cap < COLD_MAX)
            cap *= 2;
        char **grown = realloc(c->cold, cap * sizeof *grown);
        if (grown) {
            c->cold = grown;
            c->cold_cap = cap;
        }
    }
    if (c->nbatch == COLD_BATCHES)
        decay_oldest(c);
    size_t start = c->ncold;
    for (size_t i = 0; i < n; i++) {
        if (v[i].keep && c->ncold < c->cold_cap)
            c->cold[c->ncold++] = v[i].map;
        else
            v[i].keep = false;
    }
    if (c->ncold > start)
        c->batch[c->nbatch++] = (struct cold_batch){ start, eddy__mono_ns() };
}

/* Empties the spill array: stacks of the cache's shape go cold if
 * `keep`, the others are unmapped, adjacent ones in one call. */
static void release_spill(struct stack_cache *c, bool keep)
{
    size_t n = c->nspill;
    c->nspill = 0;
    if (!n)
        return;
    span *v = c->spill;
    for (size_t i = 0; i < n; i++)
        v[i].keep = v[i].keep && keep;
    make_cold(c, v, n);
    size_t ndrop = 0; /* the rest, moved to the front */
    for (size_t i = 0; i < n; i++)
        if (!v[i].keep)
            v[ndrop++] = v[i];
    qsort(v, ndrop, sizeof *v, by_address);
    if (ndrop)
        for_each_run(v, ndrop, unmap_run, c);
}

/* Unmaps the cold tier. */
static void release_cold(struct stack_cache *c)
{
    if (!c->cold)
        return;
    size_t len = (c->guarded ? page_size() : 0) + c->size;
    qsort(c->cold, c->ncold, sizeof *c->cold, by_pointer);
    size_t first = 0;
    for (size_t i = 1; i <= c->ncold; i++) {
        if (i == c->ncold || c->cold[i] != c->cold[i - 1] + len) {
            munmap(c->cold[first], (i - first) * len);
            first = i;
        }
    }
    free(c->cold);
    c->cold = NULL;
    c->ncold = c->cold_cap = c->nfreed = 0;
    c->nbatch = 0;
}

/* Unmaps a stack now, or records it in the spill array to be released in
 * a batch. */
static void spill(struct stack_cache *c, eddy_stack *s, bool keep)
{
    if (!c->spill && !(c->spill = malloc(SPILL_MAX * sizeof *c->spill))) {
        munmap(s->map, s->map_size);
        return;
    }
    c->spill[c->nspill++] = (span){ s->map, s->map_size, keep };
    if (c->nspill == SPILL_MAX)
        release_spill(c, true);
}

static void drain(struct stack_cache *c)
{
    while (c->head) {
        eddy_stack *s = c->head;
        c->head = s->next;
        spill(c, s, false);
    }
    c->count = 0;
    release_spill(c, false);
    free(c->spill);
    c->spill = NULL;
    release_cold(c);
}

static void cache_thread_exit(void *arg)
{
    drain(arg);
}

static void cache_key_init(void)
{
    pthread_key_create(&cache_key, cache_thread_exit);
}

/* Writes the header of the stack whose mapping starts at map: it takes the
 * top of the stack itself. */
static eddy_stack *carve(char *map, size_t size, bool guarded)
{
    size_t guard = guarded ? page_size() : 0;
    size_t map_size = guard + size;
    eddy_stack *s = (eddy_stack *)(map + map_size - HEADER_SIZE);
    s->lo = map + guard;
    s->size = size - HEADER_SIZE;
    s->shape = size;
    s->map = map;
    s->map_size = map_size;
    s->guarded = guarded;
    s->next = NULL;
    return s;
}

/* The cache keeps one shape; an empty cache takes the shape it is given. */
static void remember_shape(struct stack_cache *c, size_t size, bool guarded)
{
    if (c->count == 0 && (c->size != size || c->guarded != guarded)) {
        release_spill(c, false); /* so the cold tier holds one shape */
        release_cold(c);
        pthread_once(&cache_once, cache_key_init);
        pthread_setspecific(cache_key, c);
        c->size = size;
        c->guarded = guarded;
    }
}

static eddy_stack *map_stack(size_t size, bool guarded)
{
    size_t page = page_size();
    size_t guard = guarded ? page : 0;
    size_t map_size = guard + size;
    char *map = mmap(NULL, map_size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    /* Splitting the mapping makes a second kernel mapping: this is where
     * vm.max_map_count runs out first. */
    if (guard && mprotect(map, guard, PROT_NONE) != 0) {
        munmap(map, map_size);
        errno = ENOMEM;
        return NULL;
    }
    return carve(map, size, guarded);
}

/* Unguarded stacks are mapped several at a time, one system call for the
 * batch: the kernel lets each be unmapped on its own later. The extra ones
 * go to the cache (it is empty, or this would not be called). */
#define UNGUARDED_BATCH 16

static eddy_stack *map_unguarded_batch(struct stack_cache *c, size_t size)
{
    unsigned n = c->count == 0 ? UNGUARDED_BATCH : 1;
    char *map = mmap(NULL, size * n, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    if (n > 1) {
        remember_shape(c, size, false);
        for (unsigned i = 1; i < n; i++) {
            eddy_stack *extra = carve(map + (size_t)i * size, size, false);
            extra->next = c->head;
            c->head = extra;
            c->count++;
        }
    }
    return carve(map, size, false);
}

/* The most recently cooled stack (its pages are likeliest still there). */
static char *take_cold(struct stack_cache *c)
{
    char *map = c->cold[--c->ncold];
    if (c->nbatch && c->batch[c->nbatch - 1].start == c->ncold)
        c->nbatch--;
    if (c->nfreed > c->ncold)
        c->nfreed = c->ncold;
    return map;
}

eddy_stack *eddy__stack_get(size_t size, bool guarded)
{
    struct stack_cache *c = cache();
    if (c->size == size && c->guarded == guarded) {
        if (c->head) {
            eddy_stack *s = c->head;
            c->head = s->next;
            c->count--;
            return s;
        }
        if (c->ncold)
            return carve(take_cold(c), size, guarded);
    }
    if (!guarded)
        return map_unguarded_batch(c, size);
    return map_stack(size, guarded);
}

void eddy__stack_put(eddy_stack *s)
{
    struct stack_cache *c = cache();
    remember_shape(c, s->shape, s->guarded);
    bool same_shape = c->size == s->shape && c->guarded == s->guarded;
    if (c->count >= CACHE_MAX || !same_shape) {
        spill(c, s, same_shape);
        return;
    }
    s->next = c->head;
    c->head = s;
    c->count++;
}

void eddy__stack_cache_drain(void)
{
    drain(cache());
}

bool eddy__stack_fault_is_overflow(const eddy_stack *s, const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    uintptr_t lo = (uintptr_t)s->lo;
    /* The guard page, and up to 64 KiB below it for large frames that
     * jumped over it. */
    return a < lo && a + 64 * 1024 + page_size() >= lo;
}

int eddy__stack_cache_trim(int timeout_ms)
{
    struct stack_cache *c = cache();
    if (!c->nbatch)
        return timeout_ms;
    uint64_t now = eddy__mono_ns();
    while (c->nbatch && now - c->batch[0].when >= COLD_DECAY_NS)
        decay_oldest(c);
    if (!c->nbatch)
        return timeout_ms;
    uint64_t due_ms = (c->batch[0].when + COLD_DECAY_NS - now) / 1000000 + 1;
    return timeout_ms >= 0 && (uint64_t)timeout_ms <= due_ms ? timeout_ms : (int)due_ms;
}
