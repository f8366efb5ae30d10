/* Per-thread caches of small blocks for the objects made and dropped at a
 * high rate: tasks, and oneshot channels (one per request in a typical
 * server). A spawn or a channel then costs a list pop instead of a trip
 * through malloc, whose slower bins are where thousands of such objects
 * alive at once send it.
 *
 * Blocks come in 16-byte size classes up to EDDY_BLOCK_MAX; a block may be
 * freed on another thread than the one that allocated it (it joins that
 * thread's cache). Each thread keeps at most EDDY_BLOCK_CACHE_BYTES per
 * class, and frees them when its runtime is freed (eddy__block_cache_drain)
 * or when it exits; past that, batches go to the process-wide depot
 * (block_depot.h), where empty caches look before they call malloc. Under
 * ASan the caches are bypassed, so that a use after free is still caught.
 *
 * The fast paths are inline: callers pass a constant size, so the class
 * is worked out at compile time. */
#ifndef EDDY_UTIL_BLOCK_CACHE_H
#define EDDY_UTIL_BLOCK_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "arch/sanitizer.h"
#include "util/tls.h"

/* Largest block served from the cache; larger sizes go to malloc. */
#define EDDY_BLOCK_MAX 256
#define EDDY_BLOCK_CLASS 16
#define EDDY_BLOCK_CLASSES (EDDY_BLOCK_MAX / EDDY_BLOCK_CLASS)
/* Per class and thread: some 12,000 tasks' worth, so that a burst of
 * spawns after a burst of completions stays off malloc. */
#define EDDY_BLOCK_CACHE_BYTES ((size_t)2 << 20)

typedef struct eddy_free_block {
    struct eddy_free_block *next;
} eddy_free_block;

typedef struct eddy_block_cache {
    eddy_free_block *head[EDDY_BLOCK_CLASSES];
    unsigned count[EDDY_BLOCK_CLASSES];
    bool registered;
} eddy_block_cache;

/* The calling thread's cache, taken afresh at each call: a task may move
 * between threads across a suspension (util/tls.h). */
extern _Thread_local eddy_block_cache eddy__tls_block_cache;
eddy_block_cache *eddy__block_cache_slow(void);

static inline __attribute__((always_inline)) eddy_block_cache *eddy__block_cache(void)
{
#ifdef EDDY_HAVE_TLS_ADDR
    return EDDY_TLS_ADDR(eddy__tls_block_cache);
#else
    return eddy__block_cache_slow();
#endif
}

/* Arranges for the thread's cache to be freed when the thread exits. */
void eddy__block_cache_register(eddy_block_cache *c);

/* Frees the calling thread's cached blocks. */
void eddy__block_cache_drain(void);

/* The slow paths, behind the depot (block_depot.h): refill installs a
 * batch from the depot in the empty cache c and returns its first block
 * (NULL: the depot had none); spill frees p into c, which is full, by
 * handing a batch to the depot (or, if that is full too, p to free()). */
eddy_free_block *eddy__block_refill(eddy_block_cache *c, unsigned k);
void eddy__block_spill(eddy_block_cache *c, unsigned k, void *p);

static inline bool eddy__block_cached(size_t size)
{
#ifdef EDDY_ASAN
    (void)size;
    return false;
#else
    return size > 0 && size <= EDDY_BLOCK_MAX;
#endif
}

static inline unsigned eddy__block_class(size_t size)
{
    return (unsigned)((size - 1) / EDDY_BLOCK_CLASS);
}

/* An uninitialised block of `size` bytes, or NULL. */
static inline void *eddy__block_alloc(size_t size)
{
    if (!eddy__block_cached(size))
        return malloc(size ? size : 1);
    unsigned k = eddy__block_class(size);
    eddy_block_cache *c = eddy__block_cache();
    eddy_free_block *b = c->head[k];
    if (!b && !(b = eddy__block_refill(c, k)))
        return malloc((size_t)(k + 1) * EDDY_BLOCK_CLASS);
    c->head[k] = b->next;
    c->count[k]--;
    return b;
}

/* A zeroed block of `size` bytes (like calloc(1, size)), or NULL. */
static inline void *eddy__block_alloc_zeroed(size_t size)
{
    void *p = eddy__block_alloc(size);
    if (p)
        memset(p, 0, size ? size : 1);
    return p;
}

/* Frees a block from either; `size` as allocated. */
static inline void eddy__block_free(void *p, size_t size)
{
    if (!p)
        return;
    if (!eddy__block_cached(size)) {
        free(p);
        return;
    }
    unsigned k = eddy__block_class(size);
    eddy_block_cache *c = eddy__block_cache();
    if ((size_t)c->count[k] * ((k + 1) * EDDY_BLOCK_CLASS) >= EDDY_BLOCK_CACHE_BYTES) {
        eddy__block_spill(c, k, p);
        return;
    }
    if (__builtin_expect(!c->registered, 0))
        eddy__block_cache_register(c);
    eddy_free_block *b = p;
    b->next = c->head[k];
    c->head[k] = b;
    c->count[k]++;
}

#endif /* EDDY_UTIL_BLOCK_CACHE_H */
