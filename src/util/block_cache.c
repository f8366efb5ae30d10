/* Per-thread small-block caches: the thread-local part (see block_cache.h). */
#include "util/block_cache.h"

#include <pthread.h>

static _Thread_local eddy_block_cache tls_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

__attribute__((noinline)) eddy_block_cache *eddy__block_cache(void)
{
    return &tls_cache;
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
