/* Notify: a FIFO of waiters, one stored permit, and an epoch counting
 * notify_waiters calls. */
#include <stdlib.h>

#include "sync/core.h"

struct eddy_notify {
    sync_core core;
    bool permit;        /* a notify_one found nobody waiting */
    uint64_t epoch;     /* notify_waiters calls so far */
    sync_waitlist waiters;
};

eddy_notify *eddy_notify_new(eddy_sync_flavor flavor)
{
    eddy_notify *n = calloc(1, sizeof *n);
    if (!n) {
        errno = ENOMEM;
        return NULL;
    }
    if (eddy__sync_core_init(&n->core, flavor) != 0) {
        free(n);
        errno = EINVAL;
        return NULL;
    }
    return n;
}

int eddy_notify_free(eddy_notify *n)
{
    if (!n)
        return -EINVAL;
    if (!sync_here(&n->core))
        return -EPERM;
    sync_lock(&n->core);
    bool busy = !sync_list_empty(&n->waiters);
    sync_unlock(&n->core);
    if (busy)
        return -EBUSY;
    free(n);
    return 0;
}

/* Under the lock: the longest waiter gets the notification, or it is
 * stored as the permit. */
static void notify_one_locked(eddy_notify *n, sync_wakes *b)
{
    if (!sync_complete_first(&n->core, &n->waiters, SYNC_GRANTED, b))
        n->permit = true;
}

int eddy_notify_one(eddy_notify *n)
{
    if (!n)
        return -EINVAL;
    if (!sync_here(&n->core))
        return -EPERM;
    SYNC_WAKES(b);
    sync_lock(&n->core);
    notify_one_locked(n, &b);
    sync_unlock(&n->core);
    sync_wakes_fire(&b);
    return 0;
}

int eddy_notify_waiters(eddy_notify *n)
{
    if (!n)
        return -EINVAL;
    if (!sync_here(&n->core))
        return -EPERM;
    SYNC_WAKES(b);
    sync_lock(&n->core);
    n->epoch++;
    eddy__sync_complete_all(&n->core, &n->waiters, SYNC_NOTIFIED_ALL, &b);
    sync_unlock(&n->core);
    sync_wakes_fire(&b);
    return 0;
}

int eddy_notify_epoch(eddy_notify *n, uint64_t *epoch)
{
    if (!n || !epoch)
        return -EINVAL;
    if (!sync_here(&n->core))
        return -EPERM;
    sync_lock(&n->core);
    *epoch = n->epoch;
    sync_unlock(&n->core);
    return 0;
}

static int wait_impl(eddy_notify *n, bool since, uint64_t epoch, eddy_instant deadline)
{
    if (!n)
        return -EINVAL;
    int erc = sync_enter(&n->core, true);
    if (erc)
        return erc;
    sync_lock(&n->core);
    if (n->permit) {
        n->permit = false;
        sync_unlock(&n->core);
        return 0;
    }
    if (since && n->epoch != epoch) {
        sync_unlock(&n->core);
        return 0;
    }
    sync_waiter w = { 0 };
    int rc = eddy__sync_wait(&n->core, &n->waiters, &w, deadline);
    if (rc == -ECANCELED && sync_state(&n->core, &w) == SYNC_GRANTED) {
        /* A notify_one reached us as we were aborted: pass it on. */
        SYNC_WAKES(b);
        sync_lock(&n->core);
        notify_one_locked(n, &b);
        sync_unlock(&n->core);
        sync_wakes_fire(&b);
    }
    return rc;
}

int eddy_notify_wait(eddy_notify *n)
{
    return wait_impl(n, false, 0, EDDY_INSTANT_NEVER);
}

int eddy_notify_wait_until(eddy_notify *n, eddy_instant deadline)
{
    return wait_impl(n, false, 0, deadline);
}

int eddy_notify_wait_since(eddy_notify *n, uint64_t epoch)
{
    return wait_impl(n, true, epoch, EDDY_INSTANT_NEVER);
}

int eddy_notify_wait_since_until(eddy_notify *n, uint64_t epoch, eddy_instant deadline)
{
    return wait_impl(n, true, epoch, deadline);
}
