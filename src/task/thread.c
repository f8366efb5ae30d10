/* The per-thread context and its lifetime. */
#include "task/thread.h"

#include <pthread.h>
#include <stdatomic.h>

_Thread_local eddy_thread eddy__tls_thread;
static atomic_uint_fast64_t next_thread_id = 1;
static pthread_key_t parker_key;
static pthread_once_t parker_once = PTHREAD_ONCE_INIT;
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static bool spare_key_ok;

static void spare_thread_exit(void *p)
{
    eddy_thread *th = p;
    if (th->spare) {
        eddy__stack_free(th->spare);
        th->spare = NULL;
    }
}

static void spare_key_init(void)
{
    spare_key_ok = pthread_key_create(&spare_key, spare_thread_exit) == 0;
}

bool eddy__thread_spare_key(eddy_thread *th)
{
    pthread_once(&spare_once, spare_key_init);
    th->spare_key = spare_key_ok && pthread_setspecific(spare_key, th) == 0;
    return th->spare_key;
}

static void parker_thread_exit(void *p)
{
    eddy__parker_unref(p);
}

static void parker_key_init(void)
{
    pthread_key_create(&parker_key, parker_thread_exit);
}

__attribute__((noinline)) eddy_thread *eddy__thread_first(void)
{
    eddy_thread *th = &eddy__tls_thread;
    if (__builtin_expect(th->id == 0, 0))
        th->id = atomic_fetch_add_explicit(&next_thread_id, 1, memory_order_relaxed);
    return th;
}

eddy_parker *eddy__thread_parker(eddy_thread *th)
{
    if (!th->parker) {
        pthread_once(&parker_once, parker_key_init);
        th->parker = eddy__parker_new();
        if (th->parker)
            pthread_setspecific(parker_key, th->parker);
    }
    return th->parker;
}

eddy_task *eddy__current_task(void)
{
    return eddy__thread()->task;
}

void eddy__sched_own(eddy_sched *s)
{
    eddy_thread *th = eddy__thread();
    atomic_store(&s->owner, th->id);
    s->owned_next = th->owns;
    th->owns = s;
}

void eddy__sched_disown(eddy_sched *s)
{
    eddy_thread *th = eddy__thread();
    for (eddy_sched **p = &th->owns; *p; p = &(*p)->owned_next) {
        if (*p == s) {
            *p = s->owned_next;
            break;
        }
    }
    s->owned_next = NULL;
    atomic_store(&s->owner, 0);
}

bool eddy__thread_owns(const eddy_thread *th, const eddy_sched *s)
{
    for (const eddy_sched *o = th->owns; o; o = o->owned_next) {
        if (o == s)
            return true;
    }
    return false;
}
