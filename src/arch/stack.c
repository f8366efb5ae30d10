/* Stack mapping and the per-thread stack cache (its hot tier). */
#include "arch/stack.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arch/stack_pool.h"

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

/* The per-thread cache keeps stacks of one shape only (the size and guard
 * mode most recently returned into an empty cache): the runtime default.
 * Other shapes are unmapped when they are done.
 *
 * Its hot tier (up to CACHE_MAX stacks) is an array of their headers.
 * Stacks beyond it are recorded in the spill array and handed, SPILL_MAX
 * at a time, to the process's cold pool (stack_pool.h), or unmapped if it
 * will not have them, adjacent ones in one call. A thread whose hot tier
 * is empty takes back the stacks of its shape still waiting in its spill
 * array, then refills from the pool, REFILL at a time, and only then maps
 * new stacks: waves of tasks a little larger than the hot tier would
 * otherwise map (and fault in) a stack for every task past it, while the
 * last wave's stacks sat in the spill array waiting for a batch to fill.
 *
 * Giving a stack back does not touch its header (its shape comes from the
 * caller, and the array needs no link in it): with 100,000 sleeping
 * tasks, that was one more cache miss per task. Stacks from the pool get
 * their headers written again in a batch, when they are taken: the
 * writes to many lines then overlap. */

/* munmap and madvise cost about as much as running a short task, and one
 * per stack would split the batch mappings. */
#define SPILL_MAX 4096
#define REFILL 64

/* A mapping done with, recorded while its header is at hand (walking the
 * headers later would touch a page per stack). */
typedef struct span {
    char *map;
    size_t len;
} span;

struct stack_cache {
    eddy_stack **hot;   /* CACHE_MAX: the hot tier */
    unsigned count;
    size_t size;
    bool guarded;
    /* SPILL_MAX spans done with: stacks of the cache's shape from the
     * front ([0, nkeep), the last spilled on top, to be taken back first),
     * others from the back ([SPILL_MAX - ndrop, SPILL_MAX)). */
    span *spill;
    unsigned nkeep, ndrop;
    char **maps;        /* SPILL_MAX: mappings on their way to or from the pool */
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

/* Unmaps the spans of v (sorted by address), adjacent ones in one call. */
static void unmap_runs(const span *v, size_t n)
{
    size_t first = 0;
    for (size_t i = 1; i <= n; i++) {
        if (i == n || v[i].map != v[i - 1].map + v[i - 1].len) {
            char *end = v[i - 1].map + v[i - 1].len;
            munmap(v[first].map, (size_t)(end - v[first].map));
            first = i;
        }
    }
}

/* Empties the spill array: stacks of the cache's shape go to the pool if
 * `keep` and it takes them; the rest are unmapped, adjacent ones in one
 * call. */
static void release_spill(struct stack_cache *c, bool keep)
{
    size_t nkeep = c->nkeep, ndrop = c->ndrop;
    c->nkeep = c->ndrop = 0;
    if (!nkeep && !ndrop)
        return;
    span *v = c->spill;
    bool given = false;
    if (keep && nkeep) {
        for (size_t i = 0; i < nkeep; i++)
            c->maps[i] = v[i].map;
        given = eddy__stack_pool_give(c->maps, nkeep, c->size, c->guarded);
    }
    /* What is left to unmap, moved together: the kept spans unless the
     * pool took them, then the others. */
    size_t n = given ? 0 : nkeep;
    memmove(v + n, v + SPILL_MAX - ndrop, ndrop * sizeof *v);
    n += ndrop;
    qsort(v, n, sizeof *v, by_address);
    unmap_runs(v, n);
}

/* The hot tier, spill and transfer arrays, allocated on first need. */
static bool arrays(struct stack_cache *c)
{
    if (!c->hot)
        c->hot = malloc(CACHE_MAX * sizeof *c->hot);
    if (!c->spill)
        c->spill = malloc(SPILL_MAX * sizeof *c->spill);
    if (!c->maps)
        c->maps = malloc(SPILL_MAX * sizeof *c->maps);
    return c->hot && c->spill && c->maps;
}

static size_t map_len(size_t size, bool guarded)
{
    return (guarded ? page_size() : 0) + size;
}

/* Unmaps a mapping now, or records it in the spill array to be released
 * in a batch. */
static void spill(struct stack_cache *c, char *map, size_t len, bool keep)
{
    if (!arrays(c)) {
        munmap(map, len);
        return;
    }
    if (keep)
        c->spill[c->nkeep++] = (span){ map, len };
    else
        c->spill[SPILL_MAX - ++c->ndrop] = (span){ map, len };
    if (c->nkeep + c->ndrop == SPILL_MAX)
        release_spill(c, true);
}

/* The mapping of a stack of shape (size, guarded), from its header's
 * address alone. */
static char *map_of(const eddy_stack *s, size_t size, bool guarded)
{
    return (char *)s + HEADER_SIZE - map_len(size, guarded);
}

static void drain(struct stack_cache *c)
{
    size_t len = map_len(c->size, c->guarded);
    while (c->count)
        spill(c, map_of(c->hot[--c->count], c->size, c->guarded), len, false);
    release_spill(c, false);
    free(c->hot);
    free(c->spill);
    free(c->maps);
    c->hot = NULL;
    c->spill = NULL;
    c->maps = NULL;
}

static void cache_thread_exit(void *arg)
{
    drain(arg);
}

static void cache_key_init(void)
{
    pthread_key_create(&cache_key, cache_thread_exit);
}

/* The header of the stack of shape (size, guarded) whose mapping starts at
 * map: it takes the top of the stack itself. map_of's inverse. */
static eddy_stack *header_of(char *map, size_t size, bool guarded)
{
    return (eddy_stack *)(map + map_len(size, guarded) - HEADER_SIZE);
}

/* Writes the header of the stack whose mapping starts at map. */
static eddy_stack *carve(char *map, size_t size, bool guarded)
{
    size_t map_size = map_len(size, guarded);
    eddy_stack *s = header_of(map, size, guarded);
    s->lo = map + (map_size - size);
    s->size = size - HEADER_SIZE;
    s->shape = size;
    s->map = map;
    s->map_size = map_size;
    s->guarded = guarded;
    return s;
}

/* The cache keeps one shape; an empty cache takes the shape it is given. */
static void remember_shape(struct stack_cache *c, size_t size, bool guarded)
{
    if (c->count == 0 && (c->size != size || c->guarded != guarded)) {
        release_spill(c, false); /* its spans were kept for the old shape */
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
 * go to the cache (it is empty, or this would not be called). Adjacent
 * batches merge into one kernel mapping, and each mmap that grows it holds
 * that mapping's lock, which every page fault in it waits for: on a
 * multi-thread runtime starting 100,000 sleepers, one worker's mappings
 * stalled the other's first touches of its new stacks. 64 at a time (16
 * MiB of address space with the default stacks, untouched until used)
 * blocked workers on that lock a quarter as often as 16 did. */
#define UNGUARDED_BATCH 64

static eddy_stack *map_unguarded_batch(struct stack_cache *c, size_t size)
{
    unsigned n = c->count == 0 && arrays(c) ? UNGUARDED_BATCH : 1;
    char *map = mmap(NULL, size * n, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK, -1, 0);
    if (map == MAP_FAILED) {
        errno = ENOMEM;
        return NULL;
    }
    if (n > 1) {
        remember_shape(c, size, false);
        for (unsigned i = 1; i < n; i++)
            c->hot[c->count++] = carve(map + (size_t)i * size, size, false);
    }
    return carve(map, size, false);
}

/* A stack of the cache's shape waiting in the spill array, the last
 * spilled first, or NULL. Its header is as it was when it was put: giving
 * a stack back does not touch it. */
static eddy_stack *unspill(struct stack_cache *c)
{
    if (!c->nkeep)
        return NULL;
    return header_of(c->spill[--c->nkeep].map, c->size, c->guarded);
}

/* Refills the empty hot tier from the pool; returns one of the stacks, or
 * NULL if the pool had none of this shape. */
static eddy_stack *refill(struct stack_cache *c, size_t size, bool guarded)
{
    if (!arrays(c))
        return NULL;
    size_t n = eddy__stack_pool_take(c->maps, REFILL, size, guarded);
    if (!n)
        return NULL;
    /* The pool gives the most recently given first: they are popped
     * first. */
    for (size_t i = n; i-- > 1;)
        c->hot[c->count++] = carve(c->maps[i], size, guarded);
    return carve(c->maps[0], size, guarded);
}

eddy_stack *eddy__stack_get(size_t size, bool guarded)
{
    struct stack_cache *c = cache();
    if (c->size == size && c->guarded == guarded) {
        if (c->count) {
            eddy_stack *s = c->hot[--c->count];
            /* The next task to start will read the next one's header
             * first thing; with many tasks asleep it has gone cold, behind
             * a TLB miss that its start would wait on. */
            if (c->count)
                __builtin_prefetch(c->hot[c->count - 1], 1);
            return s;
        }
        eddy_stack *s = unspill(c);
        if (!s)
            s = refill(c, size, guarded);
        if (s)
            return s;
    }
    if (!guarded)
        return map_unguarded_batch(c, size);
    return map_stack(size, guarded);
}

void eddy__stack_put(eddy_stack *s, size_t shape, bool guarded)
{
    struct stack_cache *c = cache();
    remember_shape(c, shape, guarded);
    if (c->size != shape || c->guarded != guarded) {
        spill(c, s->map, s->map_size, false);
        return;
    }
    if (c->count < CACHE_MAX && (c->hot || arrays(c)))
        c->hot[c->count++] = s;
    else
        spill(c, map_of(s, shape, guarded), map_len(shape, guarded), true);
}

void eddy__stack_free(eddy_stack *s)
{
    munmap(s->map, s->map_size);
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
