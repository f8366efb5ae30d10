/* Barrier: counts arrivals of the current round; the n-th releases every
 * waiter of the round and starts the next one. */
#include <stdlib.h>

#include "sync/core.h"

struct eddy_barrier {
    sync_core core;
    size_t n;
    size_t arrived; /* in the current round */
    sync_waitlist waiters;
};

eddy_barrier *eddy_barrier_new(eddy_sync_flavor flavor, size_t n)
{
    eddy_barrier *b = calloc(1, sizeof *b);
    if (!b) {
        errno = ENOMEM;
        return NULL;
    }
    if (eddy__sync_core_init(&b->core, flavor) != 0) {
        free(b);
        errno = EINVAL;
        return NULL;
    }
    b->n = n ? n : 1;
    return b;
}

int eddy_barrier_free(eddy_barrier *b)
{
    if (!b)
        return -EINVAL;
    if (!sync_here(&b->core))
        return -EPERM;
    sync_lock(&b->core);
    bool busy = !sync_list_empty(&b->waiters);
    sync_unlock(&b->core);
    if (busy)
        return -EBUSY;
    free(b);
    return 0;
}

static void withdraw(void *arg)
{
    ((eddy_barrier *)arg)->arrived--;
}

int eddy_barrier_wait_until(eddy_barrier *b, eddy_instant deadline)
{
    if (!b)
        return -EINVAL;
    int erc = sync_enter(&b->core, true);
    if (erc)
        return erc;
    sync_lock(&b->core);
    if (++b->arrived == b->n) {
        /* The leader: release the round; later arrivals (possible while
         * the wake batch is fired) belong to the next one. */
        SYNC_WAKES(wk);
        b->arrived = 0;
        eddy__sync_complete_all(&b->core, &b->waiters, SYNC_GRANTED, &wk);
        sync_unlock(&b->core);
        sync_wakes_fire(&wk);
        return 1;
    }
    sync_waiter w = { 0 };
    /* On failure before the round was released, the arrival is withdrawn
     * in the same critical section, so no one counts it meanwhile. (If the
     * release came first, the round is over: nothing to undo.) */
    return eddy__sync_wait_ex(&b->core, &b->waiters, &w, deadline, withdraw, b);
}

int eddy_barrier_wait(eddy_barrier *b)
{
    return eddy_barrier_wait_until(b, EDDY_INSTANT_NEVER);
}
