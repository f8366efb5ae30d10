/* The per-thread task free list. */
#include "task/task_cache.h"

#include <pthread.h>
#include <stdlib.h>

#include "arch/sanitizer.h"

#ifdef EDDY_ASAN

eddy_task *eddy__task_alloc(void)
{
    return malloc(sizeof(eddy_task));
}

void eddy__task_dealloc(eddy_task *t)
{
    free(t);
}

void eddy__task_cache_drain(void)
{
}

#else

#define CACHE_MAX 16384 /* about 4 MiB of task headers per thread, at most */

struct task_cache {
    eddy_task *head; /* linked through eddy_task.next */
    unsigned count;
    bool registered;
};

static _Thread_local struct task_cache tls_cache;
static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

__attribute__((noinline)) static struct task_cache *cache(void)
{
    return &tls_cache;
}

static void drain(struct task_cache *c)
{
    while (c->head) {
        eddy_task *t = c->head;
        c->head = t->next;
        free(t);
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

eddy_task *eddy__task_alloc(void)
{
    struct task_cache *c = cache();
    eddy_task *t = c->head;
    if (t) {
        c->head = t->next;
        c->count--;
        return t;
    }
    return malloc(sizeof(eddy_task));
}

void eddy__task_dealloc(eddy_task *t)
{
    struct task_cache *c = cache();
    if (c->count >= CACHE_MAX) {
        free(t);
        return;
    }
    if (!c->registered) {
        pthread_once(&cache_once, cache_key_init);
        pthread_setspecific(cache_key, c);
        c->registered = true;
    }
    t->next = c->head;
    c->head = t;
    c->count++;
}

void eddy__task_cache_drain(void)
{
    drain(cache());
}

#endif
