/* Stack mapping and the per-thread stack cache. */
#include "arch/stack.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define STACK_MIN ((size_t)16 * 1024)
/* Stacks kept per thread for reuse: enough for a thousand tasks parked and
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
 * shapes are unmapped when they are done. */
struct stack_cache {
    eddy_stack *head;
    unsigned count;
    size_t size;
    bool guarded;
    eddy_stack *spill;  /* stacks to unmap, gathered to unmap in runs */
    unsigned nspill;
};

/* Stacks beyond the cache are not unmapped one by one: munmap costs about
 * as much as running a short task, and splits the batch mappings. They are
 * gathered, and unmapped in address order, adjacent ones in one call. */
#define SPILL_MAX 4096

static _Thread_local struct stack_cache tls_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

__attribute__((noinline)) static struct stack_cache *cache(void)
{
    return &tls_cache;
}

static void unmap(eddy_stack *s)
{
    munmap(s->map, s->map_size);
}

static int by_address(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)(*(eddy_stack *const *)a)->map;
    uintptr_t y = (uintptr_t)(*(eddy_stack *const *)b)->map;
    return (x > y) - (x < y);
}

static void release_spill(struct stack_cache *c)
{
    unsigned n = c->nspill;
    eddy_stack **v = n ? malloc(n * sizeof *v) : NULL;
    eddy_stack *s = c->spill;
    c->spill = NULL;
    c->nspill = 0;
    if (!v) { /* no memory to sort: one call each */
        while (s) {
            eddy_stack *next = s->next;
            unmap(s);
            s = next;
        }
        return;
    }
    for (unsigned i = 0; i < n; i++, s = s->next)
        v[i] = s;
    qsort(v, n, sizeof *v, by_address);
    /* Each header is read before the run that holds it is unmapped. */
    char *run = v[0]->map;
    size_t len = v[0]->map_size;
    for (unsigned i = 1; i < n; i++) {
        if ((char *)v[i]->map == run + len) {
            len += v[i]->map_size;
        } else {
            char *next = v[i]->map;
            size_t next_len = v[i]->map_size;
            munmap(run, len);
            run = next;
            len = next_len;
        }
    }
    munmap(run, len);
    free(v);
}

static void drain(struct stack_cache *c)
{
    while (c->head) {
        eddy_stack *s = c->head;
        c->head = s->next;
        s->next = c->spill;
        c->spill = s;
        c->nspill++;
    }
    c->count = 0;
    release_spill(c);
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

eddy_stack *eddy__stack_get(size_t size, bool guarded)
{
    struct stack_cache *c = cache();
    if (c->head && c->size == size && c->guarded == guarded) {
        eddy_stack *s = c->head;
        c->head = s->next;
        c->count--;
        return s;
    }
    if (!guarded)
        return map_unguarded_batch(c, size);
    return map_stack(size, guarded);
}

void eddy__stack_put(eddy_stack *s)
{
    struct stack_cache *c = cache();
    remember_shape(c, s->shape, s->guarded);
    if (c->count >= CACHE_MAX || c->size != s->shape || c->guarded != s->guarded) {
        s->next = c->spill;
        c->spill = s;
        if (++c->nspill >= SPILL_MAX)
            release_spill(c);
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
