/* Mutex: a semaphore of one permit, so fair (FIFO) and handed straight to
 * the next waiter on unlock. */
#include <stdlib.h>

#include "sync/sem.h"

struct eddy_mutex {
    sync_core core;
    sync_sem sem; /* avail 1: unlocked; 0: locked */
};

eddy_mutex *eddy_mutex_new(eddy_sync_flavor flavor)
{
    eddy_mutex *m = calloc(1, sizeof *m);
    if (!m) {
        errno = ENOMEM;
        return NULL;
    }
    if (eddy__sync_core_init(&m->core, flavor) != 0) {
        free(m);
        errno = EINVAL;
        return NULL;
    }
    m->sem.avail = 1;
    return m;
}

int eddy_mutex_free(eddy_mutex *m)
{
    if (!m)
        return -EINVAL;
    if (!sync_here(&m->core))
        return -EPERM;
    sync_lock(&m->core);
    bool busy = m->sem.avail != 1 || !sync_list_empty(&m->sem.waiters);
    sync_unlock(&m->core);
    if (busy)
        return -EBUSY;
    free(m);
    return 0;
}

int eddy_mutex_lock_until(eddy_mutex *m, eddy_instant deadline)
{
    if (!m)
        return -EINVAL;
    int erc = sync_enter(&m->core, true);
    if (erc)
        return erc;
    SYNC_WAKES(b);
    sync_lock(&m->core);
    int rc = sync_sem_acquire(&m->core, &m->sem, 1, deadline, &b, false);
    sync_wakes_fire(&b);
    return rc;
}

int eddy_mutex_lock(eddy_mutex *m)
{
    return eddy_mutex_lock_until(m, EDDY_INSTANT_NEVER);
}

int eddy_mutex_try_lock(eddy_mutex *m)
{
    if (!m)
        return -EINVAL;
    if (!sync_here(&m->core))
        return -EPERM;
    sync_lock(&m->core);
    int rc = sync_sem_try_acquire(&m->sem, 1);
    sync_unlock(&m->core);
    return rc;
}

int eddy_mutex_unlock(eddy_mutex *m)
{
    if (!m)
        return -EINVAL;
    if (!sync_here(&m->core))
        return -EPERM;
    SYNC_WAKES(b);
    int rc = 0;
    sync_lock(&m->core);
    if (m->sem.avail != 0)
        rc = -EINVAL; /* not locked */
    else
        sync_sem_release(&m->core, &m->sem, 1, &b);
    sync_unlock(&m->core);
    sync_wakes_fire(&b);
    return rc;
}
