/* The semaphore engine: a count of permits and a FIFO of waiters, guarded
 * by the lock of the primitive that embeds it (Semaphore, Mutex, RwLock,
 * the slots of a bounded mpsc channel).
 *
 * Fairness: permits are handed straight to the waiter at the head of the
 * queue as soon as there are enough for it, and a new request takes
 * permits only when nobody waits, so a large request is never overtaken.
 * Invariant (under the lock): when the queue is not empty, avail is less
 * than what its head wants. */
#ifndef EDDY_SYNC_SEM_H
#define EDDY_SYNC_SEM_H

#include "sync/core.h"

typedef struct sync_sem {
    size_t avail;
    bool closed;
    sync_waitlist waiters;
} sync_sem;

/* Under the lock: hands permits to the waiters at the head while they
 * suffice. May unlock and relock to fire a full batch. */
void eddy__sem_grant(sync_core *c, sync_sem *s, sync_wakes *b);

/* Under the lock: adds n permits (the caller checked the maximum) and
 * grants them. */
static inline void sync_sem_release(sync_core *c, sync_sem *s, size_t n, sync_wakes *b)
{
    s->avail += n;
    if (!sync_list_empty(&s->waiters))
        eddy__sem_grant(c, s, b);
}

/* Under the lock: takes n permits if that is possible without waiting. */
static inline int sync_sem_try_acquire(sync_sem *s, size_t n)
{
    if (s->closed)
        return -EPIPE;
    if (n == 0)
        return 0;
    if (sync_list_empty(&s->waiters) && s->avail >= n) {
        s->avail -= n;
        return 0;
    }
    return -EAGAIN;
}

/* Under the lock: sync_sem_try_acquire(s, 1) for a semaphore that the
 * caller knows is open and whose every request is for one permit (the
 * slots of a bounded mpsc): by the invariant above, a free permit then
 * means that nobody waits, so the count is all there is to look at. */
static inline bool sync_sem_try_take_one(sync_sem *s)
{
    if (s->avail == 0)
        return false;
    s->avail--;
    return true;
}

/* Under the lock: closes; every waiter gets SYNC_CLOSED. */
void eddy__sem_close(sync_core *c, sync_sem *s, sync_wakes *b);

/* Called with the lock held; takes n permits, waiting for them in FIFO
 * order. Returns 0 (taken), -EPIPE (closed), -ECANCELED, -ETIMEDOUT,
 * -EDEADLK, -ENOMEM. On return the lock is held if keep_locked (in every
 * case), else released. Wakers owed to others (when an aborted waiter
 * hands its permits on) are added to b: fire it after unlocking. */
int eddy__sem_acquire_slow(sync_core *c, sync_sem *s, size_t n, eddy_instant deadline,
                           sync_wakes *b, bool keep_locked);

static inline int sync_sem_acquire(sync_core *c, sync_sem *s, size_t n, eddy_instant deadline,
                                   sync_wakes *b, bool keep_locked)
{
    int rc = sync_sem_try_acquire(s, n);
    if (rc == -EAGAIN)
        return eddy__sem_acquire_slow(c, s, n, deadline, b, keep_locked);
    if (!keep_locked)
        sync_unlock(c);
    return rc;
}

#endif /* EDDY_SYNC_SEM_H */
