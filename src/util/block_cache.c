/* Per-thread small-block caches: the thread-local part (see block_cache.h). */
#include "util/block_cache.h"

#include <pthread.h>

#include "util/block_depot.h"

_Thread_local eddy_block_cache eddy__tls_block_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

__attribute__((noinline)) eddy_block_cache *eddy__block_cache_slow(void)
{
    return &eddy__tls_block_cache;
}

static void drain(eddy_block_cache *c)
{
    for (unsigned k = 0; k < EDDY_BLOCK_CLASSES; k++) {
        while (c->head[k]) {
            eddy_free_block *b = c->head[k];
            c->head[k] = b->next;
            free(b);
        }
        c->count[k] = 0;
    }
}

static void cache_thread_exit(void *arg)
{
    drain(arg);
}

static void cache_key_init(void)
{
    pthread_key_create(&cache_key, cache_thread_exit);
}

void eddy__block_cache_register(eddy_block_cache *c)
{
    pthread_once(&cache_once, cache_key_init);
    pthread_setspecific(cache_key, c);
    c->registered = true;
}

void eddy__block_cache_drain(void)
{
    drain(eddy__block_cache());
}

eddy_free_block *eddy__block_refill(eddy_block_cache *c, unsigned k)
{
    eddy_free_block *batch = eddy__block_depot_take(k);
    if (!batch)
        return NULL;
    if (!c->registered)
        eddy__block_cache_register(c);
    c->head[k] = batch;
    c->count[k] += EDDY_BLOCK_BATCH;
    return batch;
}

void eddy__block_spill(eddy_block_cache *c, unsigned k, void *p)
{
    /* Gathering a batch walks 63 blocks gone cold, and took a lock: when
     * every cache and the depot were full (300,000 tasks alive), doing
     * that for every block freed, only to be refused, was a quarter of
     * the time. */
    if (!eddy__block_depot_has_room(k)) {
        free(p);
        return;
    }
    /* The batch: p and the most recently freed blocks after it. */
    eddy_free_block *first = p, *last = first;
    first->next = c->head[k];
    unsigned n = 1;
    for (; n < EDDY_BLOCK_BATCH && last->next; n++)
        last = last->next;
    eddy_free_block *rest = last->next;
    last->next = NULL;
    if (n == EDDY_BLOCK_BATCH && eddy__block_depot_give(k, first)) {
        c->head[k] = rest;
        c->count[k] -= EDDY_BLOCK_BATCH - 1;
        return;
    }
    last->next = rest; /* the depot is full (or no runtime is alive) */
    free(p);
}
