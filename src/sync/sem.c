/* The semaphore engine (see sem.h). */
#include "sync/sem.h"

void eddy__sem_grant(sync_core *c, sync_sem *s, sync_wakes *b)
{
    for (;;) {
        sync_wakes_make_room(c, b);
        sync_waiter *w = s->waiters.head;
        if (!w || w->n > s->avail)
            return;
        s->avail -= w->n;
        sync_complete(c, &s->waiters, w, SYNC_GRANTED, b);
    }
}

void eddy__sem_close(sync_core *c, sync_sem *s, sync_wakes *b)
{
    s->closed = true;
    /* No waiter joins a closed semaphore, so this empties the queue. */
    eddy__sync_complete_all(c, &s->waiters, SYNC_CLOSED, b);
}

int eddy__sem_acquire_slow(sync_core *c, sync_sem *s, size_t n, eddy_instant deadline,
                           sync_wakes *b, bool keep_locked)
{
    sync_waiter w = { .n = n };
    int rc = eddy__sync_wait(c, &s->waiters, &w, deadline); /* unlocks */
    int st = sync_state(c, &w);
    if (rc == 0) {
        if (keep_locked)
            sync_lock(c);
        return st == SYNC_GRANTED ? 0 : -EPIPE;
    }
    /* Failed. Our permits, if they were granted after all, go back; and
     * whether or not, our leaving the queue may let those behind us go
     * (we may have been the head that held them back). */
    sync_lock(c);
    if (st == SYNC_GRANTED)
        s->avail += n;
    if (!s->closed)
        eddy__sem_grant(c, s, b);
    if (!keep_locked)
        sync_unlock(c);
    return rc;
}
