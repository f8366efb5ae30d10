/* Per-thread small-block caches (see block_cache.h). */
#include "util/block_cache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arch/sanitizer.h"

#ifdef EDDY_ASAN

void *eddy__block_alloc_zeroed(size_t size)
{
    return calloc(1, size);
}

void eddy__block_free(void *p, size_t size)
{
    (void)size;
    free(p);
}

#else

#define CLASS_SIZE 16
#define CLASSES (EDDY_BLOCK_MAX / CLASS_SIZE)
#define BLOCK_CACHE_MAX 4096 /* per class */

typedef struct free_block {
    struct free_block *next;
} free_block;

struct block_cache {
    free_block *head[CLASSES];
    unsigned count[CLASSES];
    bool registered;
};

static _Thread_local struct block_cache tls_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

/* Not inlined: a task may move between threads across a suspension, and
 * the thread-local's address must be taken afresh each time. */
__attribute__((noinline)) static struct block_cache *cache(void)
{
    return &tls_cache;
}

static void cache_thread_exit(void *arg)
{
    struct block_cache *c = arg;
    for (unsigned k = 0; k < CLASSES; k++) {
        while (c->head[k]) {
            free_block *b = c->head[k];
            c->head[k] = b->next;
            free(b);
        }
        c->count[k] = 0;
    }
}

static void cache_key_init(void)
{
    pthread_key_create(&cache_key, cache_thread_exit);
}

static unsigned class_of(size_t size)
{
    return (unsigned)((size - 1) / CLASS_SIZE);
}

void *eddy__block_alloc_zeroed(size_t size)
{
    if (size == 0 || size > EDDY_BLOCK_MAX)
        return calloc(1, size ? size : 1);
    unsigned k = class_of(size);
    struct block_cache *c = cache();
    free_block *b = c->head[k];
    if (!b)
        return calloc(1, (size_t)(k + 1) * CLASS_SIZE);
    c->head[k] = b->next;
    c->count[k]--;
    memset(b, 0, size);
    return b;
}

void eddy__block_free(void *p, size_t size)
{
    if (!p)
        return;
    if (size == 0 || size > EDDY_BLOCK_MAX) {
        free(p);
        return;
    }
    unsigned k = class_of(size);
    struct block_cache *c = cache();
    if (c->count[k] >= BLOCK_CACHE_MAX) {
        free(p);
        return;
    }
    if (!c->registered) {
        pthread_once(&cache_once, cache_key_init);
        pthread_setspecific(cache_key, c);
        c->registered = true;
    }
    free_block *b = p;
    b->next = c->head[k];
    c->head[k] = b;
    c->count[k]++;
}

#endif
