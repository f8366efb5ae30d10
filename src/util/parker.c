/* Thread parker on a mutex and a condition variable: portable, and
 * understood by ThreadSanitizer without annotations. */
#include "util/parker.h"

#include <stdlib.h>

#include "util/clock.h"

eddy_parker *eddy__parker_new(void)
{
    eddy_parker *p = malloc(sizeof *p);
    if (!p)
        return NULL;
    atomic_init(&p->refs, 1);
    pthread_mutex_init(&p->lock, NULL);
    eddy__cond_init_monotonic(&p->cond);
    p->token = false;
    return p;
}

void eddy__parker_ref(eddy_parker *p)
{
    atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
}

void eddy__parker_unref(eddy_parker *p)
{
    if (atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

void eddy__parker_park(eddy_parker *p)
{
    pthread_mutex_lock(&p->lock);
    while (!p->token)
        pthread_cond_wait(&p->cond, &p->lock);
    p->token = false;
    pthread_mutex_unlock(&p->lock);
}

bool eddy__parker_park_until(eddy_parker *p, uint64_t deadline_ns)
{
    struct timespec ts = eddy__timespec_from_ns(deadline_ns);
    bool got;
    pthread_mutex_lock(&p->lock);
    while (!p->token) {
        if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) != 0 && !p->token)
            break;
    }
    got = p->token;
    p->token = false;
    pthread_mutex_unlock(&p->lock);
    return got;
}

void eddy__parker_unpark(eddy_parker *p)
{
    pthread_mutex_lock(&p->lock);
    p->token = true;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}
