/* Stack mapping and the per-thread stack cache. */
#include "arch/stack.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#define STACK_MIN ((size_t)16 * 1024)
#define CACHE_MAX 64
#define CANARY ((uint64_t)0xEDD1CA4A21E5DEADull)

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
};

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

static void drain(struct stack_cache *c)
{
    while (c->head) {
        eddy_stack *s = c->head;
        c->head = s->next;
        unmap(s);
    }
    c->count = 0;
}

static void cache_thread_exit(void *arg)
{
    drain(arg);
}

static void cache_key_init(void)
{
    pthread_key_create(&cache_key, cache_thread_exit);
}

static eddy_stack *map_stack(size_t size, bool guarded)
{
    size_t page = page_size();
    size_t guard = guarded ? page : 0;
    /* The header sits in the top page, above the usable range. */
    size_t map_size = guard + size + page;
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
    eddy_stack *s = (eddy_stack *)(map + guard + size);
    s->lo = map + guard;
    s->size = size;
    s->map = map;
    s->map_size = map_size;
    s->guarded = guarded;
    s->next = NULL;
    if (!guarded)
        *(uint64_t *)s->lo = CANARY;
    return s;
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
    return map_stack(size, guarded);
}

void eddy__stack_put(eddy_stack *s)
{
    struct stack_cache *c = cache();
    if (c->count == 0 && (c->size != s->size || c->guarded != s->guarded)) {
        pthread_once(&cache_once, cache_key_init);
        pthread_setspecific(cache_key, c);
        c->size = s->size;
        c->guarded = s->guarded;
    }
    if (c->count >= CACHE_MAX || c->size != s->size || c->guarded != s->guarded) {
        unmap(s);
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

bool eddy__stack_canary_ok(const eddy_stack *s)
{
    return s->guarded || *(const uint64_t *)s->lo == CANARY;
}

bool eddy__stack_fault_is_overflow(const eddy_stack *s, const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    uintptr_t lo = (uintptr_t)s->lo;
    /* The guard page, and up to 64 KiB below it for large frames that
     * jumped over it. */
    return a < lo && a + 64 * 1024 + page_size() >= lo;
}
