/* Semaphore: the engine of sem.c behind the public API. */
#include <stdlib.h>

#include "sync/sem.h"

struct eddy_semaphore {
    sync_core core;
    sync_sem sem;
};

eddy_semaphore *eddy_semaphore_new(eddy_sync_flavor flavor, size_t permits)
{
    if (permits > EDDY_SEMAPHORE_MAX_PERMITS) {
        errno = EINVAL;
        return NULL;
    }
    eddy_semaphore *s = calloc(1, sizeof *s);
    if (!s) {
        errno = ENOMEM;
        return NULL;
    }
    if (eddy__sync_core_init(&s->core, flavor) != 0) {
        free(s);
        errno = EINVAL;
        return NULL;
    }
    s->sem.avail = permits;
    return s;
}

int eddy_semaphore_free(eddy_semaphore *s)
{
    if (!s)
        return -EINVAL;
    if (!sync_here(&s->core))
        return -EPERM;
    sync_lock(&s->core);
    bool busy = !sync_list_empty(&s->sem.waiters);
    sync_unlock(&s->core);
    if (busy)
        return -EBUSY;
    free(s);
    return 0;
}

int eddy_semaphore_acquire_until(eddy_semaphore *s, size_t n, eddy_instant deadline)
{
    if (!s || n > EDDY_SEMAPHORE_MAX_PERMITS)
        return -EINVAL;
    int erc = sync_enter(&s->core, true);
    if (erc)
        return erc;
    SYNC_WAKES(b);
    sync_lock(&s->core);
    int rc = sync_sem_acquire(&s->core, &s->sem, n, deadline, &b, false);
    sync_wakes_fire(&b);
    return rc;
}

int eddy_semaphore_acquire(eddy_semaphore *s, size_t n)
{
    return eddy_semaphore_acquire_until(s, n, EDDY_INSTANT_NEVER);
}

int eddy_semaphore_try_acquire(eddy_semaphore *s, size_t n)
{
    if (!s || n > EDDY_SEMAPHORE_MAX_PERMITS)
        return -EINVAL;
    if (!sync_here(&s->core))
        return -EPERM;
    sync_lock(&s->core);
    int rc = sync_sem_try_acquire(&s->sem, n);
    sync_unlock(&s->core);
    return rc;
}

int eddy_semaphore_release(eddy_semaphore *s, size_t n)
{
    if (!s)
        return -EINVAL;
    if (!sync_here(&s->core))
        return -EPERM;
    if (n == 0)
        return 0;
    SYNC_WAKES(b);
    int rc = 0;
    sync_lock(&s->core);
    if (n > EDDY_SEMAPHORE_MAX_PERMITS - s->sem.avail)
        rc = -EOVERFLOW;
    else
        sync_sem_release(&s->core, &s->sem, n, &b);
    sync_unlock(&s->core);
    sync_wakes_fire(&b);
    return rc;
}

int eddy_semaphore_close(eddy_semaphore *s)
{
    if (!s)
        return -EINVAL;
    if (!sync_here(&s->core))
        return -EPERM;
    SYNC_WAKES(b);
    sync_lock(&s->core);
    eddy__sem_close(&s->core, &s->sem, &b);
    sync_unlock(&s->core);
    sync_wakes_fire(&b);
    return 0;
}

int eddy_semaphore_is_closed(eddy_semaphore *s)
{
    if (!s)
        return -EINVAL;
    return eddy__sync_read_flag(&s->core, &s->sem.closed);
}

ssize_t eddy_semaphore_available(eddy_semaphore *s)
{
    if (!s)
        return -EINVAL;
    if (!sync_here(&s->core))
        return -EPERM;
    sync_lock(&s->core);
    size_t n = s->sem.avail;
    sync_unlock(&s->core);
    return (ssize_t)n;
}
