/* The flavor core and the one wait loop shared by every primitive. */
#include "sync/core.h"
#include "util/lock.h"

void eddy__sync_complete_listed(sync_core *c, sync_waitlist *l, int state, sync_wakes *b)
{
    uint64_t end = l->next_seq;
    for (;;) {
        sync_wakes_make_room(c, b);
        sync_waiter *w = l->head;
        /* The list is in arrival order: the first later arrival ends it. */
        if (!w || w->seq >= end)
            return;
        sync_complete(c, l, w, state, b);
    }
}

int eddy__sync_wait_begin(sync_core *c, sync_waitlist *l, sync_waiter *w,
                          void (*on_leave)(void *), void *arg)
{
    int rc;
    if (!c->shared) {
        /* A LOCAL primitive is only ever touched by its owner thread: a
         * plain caller parked here could never be woken; and a task that
         * is not pinned to the owner thread (a migratable task of a
         * multi-thread runtime) might be resumed on another worker and
         * touch the primitive from there. */
        eddy_task *t = eddy__current_task();
        if (!t) {
            rc = -EDEADLK;
            goto never_linked;
        }
        if (!t->sched ||
            atomic_load_explicit(&t->sched->owner, memory_order_relaxed) != c->owner) {
            rc = -EPERM;
            goto never_linked;
        }
        /* Whoever completes w runs on this thread and fires the waker
         * before t can run again, and t unlinks w before it can finish:
         * the waker needs no reference to t. */
        w->waker = eddy__waker_borrow_task(t);
    } else {
        w->waker = eddy__waker_current();
    }
    if (!eddy__waker_is_set(w->waker)) {
        rc = -ENOMEM;
        goto never_linked;
    }
    atomic_store_explicit(&w->state, SYNC_WAITING, memory_order_relaxed);
    sync_list_push(l, w);
    sync_unlock(c);
    return 0;

never_linked:
    if (on_leave)
        on_leave(arg);
    sync_unlock(c);
    return rc;
}

int eddy__sync_wait_leave(sync_core *c, sync_waitlist *l, sync_waiter *w, int rc,
                          void (*on_leave)(void *), void *arg)
{
    /* Unlink unless a completion beat us to the lock. */
    sync_lock(c);
    if (sync_state(c, w) != SYNC_WAITING) {
        sync_unlock(c);
        return rc == -ECANCELED ? rc : 0;
    }
    sync_list_remove(l, w);
    eddy_waker k = w->waker;
    w->waker.vt = NULL;
    if (on_leave)
        on_leave(arg);
    sync_unlock(c);
    eddy__waker_drop(k);
    return rc;
}

int eddy__sync_wait_unless(sync_core *c, sync_waitlist *l, bool (*gone)(const void *obj),
                           const void *obj, eddy_instant deadline)
{
    int rc = sync_enter(c, true);
    if (rc)
        return rc;
    sync_lock(c);
    if (gone(obj)) {
        sync_unlock(c);
        return 0;
    }
    /* Completed only when the other side goes: 0 means gone. */
    sync_waiter w = { 0 };
    return eddy__sync_wait(c, l, &w, deadline);
}

int eddy__sync_add_sender(sync_core *c, size_t *senders, size_t *refs)
{
    if (!sync_here(c))
        return -EPERM;
    sync_lock(c);
    bool gone = *senders == 0;
    if (!gone) {
        (*senders)++;
        (*refs)++;
    }
    sync_unlock(c);
    return gone ? -EPIPE : 0;
}

int eddy__sync_read_flag(sync_core *c, const bool *flag)
{
    if (!sync_here(c))
        return -EPERM;
    sync_lock(c);
    int set = *flag;
    sync_unlock(c);
    return set;
}
