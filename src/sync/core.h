/* What every sync primitive is built from: the flavor (lock or owner
 * thread), intrusive lists of waiters, batches of wakers to fire after
 * unlocking, and the one wait loop.
 *
 * The two flavors share one implementation. A SHARED primitive guards its
 * state with a spinlock (held for a few instructions, never across a
 * suspension or a waker; the longest hold is an unbounded mpsc doubling its
 * ring, a malloc and a copy, once per doubling); a LOCAL one has no lock at all
 * (sync_lock is a branch on a bool) and checks instead, at the top of every
 * public function, that it is called on its owner thread.
 *
 * Why a spinlock and not a mutex: a round of multi-thread ping_pong takes
 * and releases a channel's lock about ten times, and the adaptive pthread
 * mutex's lock and unlock (an atomic operation each way, behind a call
 * that dispatches on the mutex type) were a fifth of its profile. The
 * spinlock's release is a plain store, and it needs no init or destroy
 * call (a oneshot channel is made per request). A waiter that spins long
 * yields its core, in case the holder was preempted.
 *
 * A waiter is a sync_waiter on the waiting task's (or thread's) stack,
 * linked into the primitive's list with a waker for the caller. Whoever
 * satisfies it (under the lock): unlinks it, takes its waker, and only then
 * publishes its new state; after that store the node may vanish at any
 * moment (the waiter may see the state and return), so nothing touches it
 * again; the waker is fired after unlocking. The waiter reads its state
 * without the lock: once it is not SYNC_WAITING, the waiter is done and
 * never touches the primitive again (unless it must hand back something it
 * was granted after its task was aborted). */
#ifndef EDDY_SYNC_CORE_H
#define EDDY_SYNC_CORE_H

#include <eddy/sync.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "task/task.h"
#include "task/thread.h"
#include "task/waker.h"
#include "util/lock.h"

/* ---- flavor: lock or owner thread ---- */

/* Nothing to destroy: a spinlock holds no resources. */
typedef struct sync_core {
    bool shared;
    eddy_spinlock lock;   /* SHARED only */
    uint64_t owner;       /* LOCAL: the owner thread (eddy__thread()->id);
                           * SHARED: SYNC_NO_OWNER */
} sync_core;

/* The owner of a SHARED primitive: no thread's id (ids count up from 1),
 * so that an owner check alone tells a LOCAL primitive on its thread. */
#define SYNC_NO_OWNER UINT64_MAX

/* For the entry points a program calls once per message, whose short path
 * is the whole cost of a message: aligned to a cache line, so that their
 * speed does not move with the size of unrelated code placed before them.
 * A change elsewhere in the library that shifted eddy_mpsc_send and
 * eddy_mpsc_recv from 0 to 48 bytes past a line made the channel workload
 * about 10% slower with the same instructions. */
#define SYNC_HOT_ENTRY __attribute__((aligned(64)))

/* Sets up the core for the flavor; the LOCAL owner is the calling thread.
 * Returns 0 or -EINVAL for an unknown flavor. Inline, as the two below:
 * programs make a oneshot channel per request. */
static inline int eddy__sync_core_init(sync_core *c, eddy_sync_flavor flavor)
{
    switch (flavor) {
    case EDDY_SYNC_SHARED:
        c->shared = true;
        c->owner = SYNC_NO_OWNER;
        eddy__spin_init(&c->lock);
        return 0;
    case EDDY_SYNC_LOCAL:
        c->shared = false;
        c->owner = eddy__thread()->id;
        return 0;
    }
    return -EINVAL;
}

/* False when a LOCAL primitive is used off its owner thread. */
static inline bool sync_here(const sync_core *c)
{
    return c->shared || eddy__thread()->id == c->owner;
}

static inline void sync_lock(sync_core *c)
{
    if (c->shared)
        eddy__spin_lock(&c->lock);
}

static inline void sync_unlock(sync_core *c)
{
    if (c->shared)
        eddy__spin_unlock(&c->lock);
}

/* The checks at the top of every public call, with one look at the
 * thread: a LOCAL primitive refuses other threads (-EPERM); a call that
 * may wait fails at once in an aborted task (-ECANCELED), even if it could
 * complete. Returns 0 to go on. */
static inline int sync_enter(const sync_core *c, bool may_wait)
{
    if (c->shared && !may_wait)
        return 0;
    eddy_thread *th = eddy__thread();
    if (!c->shared && th->id != c->owner)
        return -EPERM;
    if (may_wait && th->task && eddy__task_is_cancelled(th->task))
        return -ECANCELED;
    return 0;
}

/* For the short paths of the channels, which have no lock to take: true
 * when c is LOCAL, the caller is on its owner thread and, for a call that
 * may wait, not in an aborted task; the calls sync_enter lets through on
 * a LOCAL primitive. The owner is looked at first, and alone tells the
 * flavor (SYNC_NO_OWNER): a SHARED primitive's other state may only be
 * read under its lock, and its owner never changes. */
static inline bool sync_local_enter(const sync_core *c, bool may_wait)
{
    /* A thread with no id yet (0) is no primitive's owner either. */
    const eddy_thread *th = eddy__thread_peek();
    return th->id == c->owner && !(may_wait && th->task && eddy__task_is_cancelled(th->task));
}

/* Copies a channel value. Most values are one machine word: copied by a
 * move, not a call. */
static inline void sync_copy_value(void *dst, const void *src, size_t n)
{
    if (n == sizeof(uint64_t))
        __builtin_memcpy(dst, src, sizeof(uint64_t));
    else
        __builtin_memcpy(dst, src, n);
}

/* Validates an eddy_channel_opts; fills *flavor and *elem_size. */
static inline int eddy__sync_channel_opts(const eddy_channel_opts *opts,
                                          eddy_sync_flavor *flavor, size_t *elem_size)
{
    eddy_channel_opts o = { 0 };
    if (opts)
        o = *opts;
    if (o.flavor != EDDY_SYNC_SHARED && o.flavor != EDDY_SYNC_LOCAL)
        return -EINVAL;
    if (o.elem_size > EDDY_CHANNEL_MAX_ELEM)
        return -EINVAL;
    *flavor = o.flavor;
    *elem_size = o.elem_size ? o.elem_size : sizeof(void *);
    return 0;
}

/* ---- waiters ---- */

enum sync_wstate {
    SYNC_WAITING = 0,  /* linked, waiting */
    SYNC_GRANTED,      /* got what it waited for: permits, a notification */
    SYNC_CLOSED,       /* the primitive was closed under it */
    SYNC_NOTIFIED_ALL, /* Notify: woken by notify_waiters (nothing to hand on) */
};

typedef struct sync_waiter {
    struct sync_waiter *prev, *next;
    eddy_waker waker;
    uint64_t seq;     /* arrival order in its list (wake-all stops at later ones) */
    size_t n;         /* permits wanted (semaphores) */
    atomic_int state; /* enum sync_wstate; written under the lock */
} sync_waiter;

typedef struct sync_waitlist {
    sync_waiter *head, *tail;
    uint64_t next_seq;
} sync_waitlist;

static inline bool sync_list_empty(const sync_waitlist *l)
{
    return l->head == NULL;
}

static inline void sync_list_push(sync_waitlist *l, sync_waiter *w)
{
    w->seq = l->next_seq++;
    w->next = NULL;
    w->prev = l->tail;
    if (l->tail)
        l->tail->next = w;
    else
        l->head = w;
    l->tail = w;
}

static inline void sync_list_remove(sync_waitlist *l, sync_waiter *w)
{
    if (w->prev)
        w->prev->next = w->next;
    else
        l->head = w->next;
    if (w->next)
        w->next->prev = w->prev;
    else
        l->tail = w->prev;
    w->prev = w->next = NULL;
}

/* A waiter's state: read by the waiter without the lock (acquire pairs
 * with the release in sync_complete; LOCAL needs no ordering). */
static inline int sync_state(const sync_core *c, sync_waiter *w)
{
    return atomic_load_explicit(&w->state,
                                c->shared ? memory_order_acquire : memory_order_relaxed);
}

/* ---- wakers fired after unlocking ---- */

/* The batch lives in the frame of the waking call, on a task stack, and
 * everything that call runs (the wakes themselves) sits below it: every
 * byte of it pushes those frames onto further cache lines of that stack,
 * lines that each of thousands of tasks then keeps in the working set. A
 * wake costs far more than the unlock and lock that a full batch adds, so
 * the batch is small (with 32, ping_pong was 4% slower in a calm spell of
 * this machine and 20% in a busy one). */
#define SYNC_WAKES_MAX 8

typedef struct sync_wakes {
    unsigned n;
    eddy_waker w[SYNC_WAKES_MAX];
} sync_wakes;

/* Declares an empty batch. Only the count is set: zeroing the whole array
 * would cost more than the rest of a fast-path call. */
#define SYNC_WAKES(b) \
    sync_wakes b;     \
    b.n = 0

/* Fires (and empties) the batch. Call without the lock. */
static inline void sync_wakes_fire(sync_wakes *b)
{
    for (unsigned i = 0; i < b->n; i++)
        eddy__waker_wake(b->w[i]);
    b->n = 0;
}

/* Under the lock, before completing one more waiter: when the batch is
 * full, unlocks, fires it and locks again. The caller must re-read anything
 * it had looked at (the list may have changed meanwhile). */
static inline void sync_wakes_make_room(sync_core *c, sync_wakes *b)
{
    if (b->n == SYNC_WAKES_MAX) {
        sync_unlock(c);
        sync_wakes_fire(b);
        sync_lock(c);
    }
}

/* Under the lock: unlinks w, moves its waker into b (which must have room)
 * and publishes `state`. w must not be touched afterwards. */
static inline void sync_complete(const sync_core *c, sync_waitlist *l, sync_waiter *w,
                                 int state, sync_wakes *b)
{
    sync_list_remove(l, w);
    b->w[b->n++] = w->waker;
    w->waker.vt = NULL;
    atomic_store_explicit(&w->state, state,
                          c->shared ? memory_order_release : memory_order_relaxed);
}

/* Under the lock: completes with `state` every waiter of l that arrived
 * before this call (later arrivals, possible while the batch is fired
 * half-way, are left waiting). The list is most often empty: checked
 * inline. */
void eddy__sync_complete_listed(sync_core *c, sync_waitlist *l, int state, sync_wakes *b);

static inline void eddy__sync_complete_all(sync_core *c, sync_waitlist *l, int state,
                                           sync_wakes *b)
{
    if (l->head)
        eddy__sync_complete_listed(c, l, state, b);
}

/* Completes the first waiter of l, if any, with `state`. Returns whether
 * there was one. */
static inline bool sync_complete_first(sync_core *c, sync_waitlist *l, int state,
                                       sync_wakes *b)
{
    sync_wakes_make_room(c, b);
    if (!l->head)
        return false;
    sync_complete(c, l, l->head, state, b);
    return true;
}

/* The two halves of the wait around the suspension, for the inline wait
 * that follows. begin links w (0), or fails with w never linked (the lock is
 * released either way); leave takes w out after the wait failed with rc,
 * and returns the wait's result. */
int eddy__sync_wait_begin(sync_core *c, sync_waitlist *l, sync_waiter *w,
                          void (*on_leave)(void *), void *arg);
int eddy__sync_wait_leave(sync_core *c, sync_waitlist *l, sync_waiter *w, int rc,
                          void (*on_leave)(void *), void *arg);

/* The wait itself, inline in eddy__sync_wait and eddy__sync_wait_ex below: a
 * resumed task returns straight into the primitive that waited, since
 * every return after a switch is mispredicted. */
static inline __attribute__((always_inline)) int
eddy__sync_wait_inline(sync_core *c, sync_waitlist *l, sync_waiter *w, eddy_instant deadline,
                       void (*on_leave)(void *), void *arg)
{
    int rc = eddy__sync_wait_begin(c, l, w, on_leave, arg);
    if (rc < 0)
        return rc;
    for (;;) {
        rc = eddy__wait_current_inline(deadline);
        if (sync_state(c, w) != SYNC_WAITING)
            return rc == -ECANCELED ? rc : 0;
        if (rc != 0) /* aborted, timed out, no parker */
            return eddy__sync_wait_leave(c, l, w, rc, on_leave, arg);
        /* spurious or late wake: still linked, wait on */
    }
}

/* The wait. Called with the lock held and w set up (n; the rest zero);
 * links w at the tail of l with a waker for the caller and suspends until
 * w is completed, the deadline passes or the task is aborted. Returns with
 * the lock RELEASED:
 *   0           w was completed: sync_state(w) says how (not WAITING).
 *   -ECANCELED  the task was aborted. If sync_state(w) is still WAITING, w
 *               has been unlinked and nothing happened; otherwise w was
 *               completed just before, and the caller must hand on what
 *               that state grants (a permit, a notification).
 *   -ETIMEDOUT, -EDEADLK (LOCAL, outside a task), -EPERM (LOCAL, from a
 *               task not pinned to the owner thread), -ENOMEM (no waker):
 *               w is not linked; nothing happened.
 * A completion that races with the deadline wins: 0. */
static inline __attribute__((always_inline)) int eddy__sync_wait(sync_core *c, sync_waitlist *l,
                                                                  sync_waiter *w,
                                                                  eddy_instant deadline)
{
    return eddy__sync_wait_inline(c, l, w, deadline, NULL, NULL);
}

/* As eddy__sync_wait, and when it fails with w not completed, calls
 * on_leave(arg) under the lock, in the same critical section that took w
 * out (or found it never linked), so that nobody sees the state between. */
static inline __attribute__((always_inline)) int
eddy__sync_wait_ex(sync_core *c, sync_waitlist *l, sync_waiter *w, eddy_instant deadline,
                   void (*on_leave)(void *), void *arg)
{
    return eddy__sync_wait_inline(c, l, w, deadline, on_leave, arg);
}

/* The waits for the other side to go (tx_closed of the channels): 0 at
 * once if gone(obj) holds (read under the lock), else waits on l, which
 * the primitive completes when it goes; results as eddy__sync_wait, plus
 * the sync_enter checks. */
int eddy__sync_wait_unless(sync_core *c, sync_waitlist *l, bool (*gone)(const void *obj),
                           const void *obj, eddy_instant deadline);

/* tx_clone of the multi-sender channels: one more sender (and reference).
 * 0; -EPIPE when no sender is left (the handle was released: cloning it
 * must not reopen a channel its receivers have seen close); -EPERM off a
 * LOCAL channel's thread. */
int eddy__sync_add_sender(sync_core *c, size_t *senders, size_t *refs);

/* The is_closed queries: *flag read under the lock, as 0 or 1; -EPERM off a
 * LOCAL primitive's thread. */
int eddy__sync_read_flag(sync_core *c, const bool *flag);

#endif /* EDDY_SYNC_CORE_H */
