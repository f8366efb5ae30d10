/* RwLock: a semaphore of EDDY_RWLOCK_MAX_READERS permits (as Tokio's): a
 * reader takes one, a writer takes them all. The engine's FIFO makes it
 * fair: a waiting writer holds back the readers that come after it. */
#include <stdlib.h>

#include "sync/sem.h"

#define MAX_READERS EDDY_RWLOCK_MAX_READERS

struct eddy_rwlock {
    sync_core core;
    sync_sem sem; /* avail MAX_READERS: unlocked; 0: write-locked */
};

eddy_rwlock *eddy_rwlock_new(eddy_sync_flavor flavor)
{
    eddy_rwlock *rw = calloc(1, sizeof *rw);
    if (!rw) {
        errno = ENOMEM;
        return NULL;
    }
    if (eddy__sync_core_init(&rw->core, flavor) != 0) {
        free(rw);
        errno = EINVAL;
        return NULL;
    }
    rw->sem.avail = MAX_READERS;
    return rw;
}

int eddy_rwlock_free(eddy_rwlock *rw)
{
    if (!rw)
        return -EINVAL;
    if (!sync_here(&rw->core))
        return -EPERM;
    sync_lock(&rw->core);
    bool busy = rw->sem.avail != MAX_READERS || !sync_list_empty(&rw->sem.waiters);
    sync_unlock(&rw->core);
    if (busy)
        return -EBUSY;
    free(rw);
    return 0;
}

static int acquire(eddy_rwlock *rw, size_t n, eddy_instant deadline)
{
    if (!rw)
        return -EINVAL;
    int erc = sync_enter(&rw->core, true);
    if (erc)
        return erc;
    SYNC_WAKES(b);
    sync_lock(&rw->core);
    int rc = sync_sem_acquire(&rw->core, &rw->sem, n, deadline, &b, false);
    sync_wakes_fire(&b);
    return rc;
}

static int try_acquire(eddy_rwlock *rw, size_t n)
{
    if (!rw)
        return -EINVAL;
    if (!sync_here(&rw->core))
        return -EPERM;
    sync_lock(&rw->core);
    int rc = sync_sem_try_acquire(&rw->sem, n);
    sync_unlock(&rw->core);
    return rc;
}

/* Gives back n permits; -EINVAL when not so locked: a write unlock needs
 * every permit out, a read unlock some but not all (all out means a
 * writer holds it; half a billion readers holding it at once would each
 * need a task, which memory does not allow). */
static int release(eddy_rwlock *rw, size_t n)
{
    if (!rw)
        return -EINVAL;
    if (!sync_here(&rw->core))
        return -EPERM;
    SYNC_WAKES(b);
    int rc = 0;
    sync_lock(&rw->core);
    if (MAX_READERS - rw->sem.avail < n || (n == 1 && rw->sem.avail == 0))
        rc = -EINVAL;
    else
        sync_sem_release(&rw->core, &rw->sem, n, &b);
    sync_unlock(&rw->core);
    sync_wakes_fire(&b);
    return rc;
}

int eddy_rwlock_read_until(eddy_rwlock *rw, eddy_instant deadline)
{
    return acquire(rw, 1, deadline);
}

int eddy_rwlock_read(eddy_rwlock *rw)
{
    return acquire(rw, 1, EDDY_INSTANT_NEVER);
}

int eddy_rwlock_try_read(eddy_rwlock *rw)
{
    return try_acquire(rw, 1);
}

int eddy_rwlock_read_unlock(eddy_rwlock *rw)
{
    return release(rw, 1);
}

int eddy_rwlock_write_until(eddy_rwlock *rw, eddy_instant deadline)
{
    return acquire(rw, MAX_READERS, deadline);
}

int eddy_rwlock_write(eddy_rwlock *rw)
{
    return acquire(rw, MAX_READERS, EDDY_INSTANT_NEVER);
}

int eddy_rwlock_try_write(eddy_rwlock *rw)
{
    return try_acquire(rw, MAX_READERS);
}

int eddy_rwlock_write_unlock(eddy_rwlock *rw)
{
    return release(rw, MAX_READERS);
}
