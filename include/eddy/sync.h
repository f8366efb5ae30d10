/** @file
 * eddy — synchronisation primitives: channels (oneshot, mpsc, watch,
 * broadcast) and Notify, Semaphore, Mutex, RwLock, Barrier.
 *
 * FLAVORS. Every primitive comes in two flavors, chosen at creation:
 *  - EDDY_SYNC_SHARED (the default, 0): thread-safe. Usable by tasks of any
 *    runtime and by plain threads, all at once. A plain thread that waits
 *    blocks on its parker (as Tokio's blocking_recv / blocking_lock).
 *  - EDDY_SYNC_LOCAL: for the tasks of one thread (a LocalRuntime, a
 *    LocalSet, or the spawn_local tasks pinned to one worker of a
 *    multi-thread runtime): no locks and no atomic read-modify-writes, so
 *    cheaper. It belongs to the thread that created it; every function
 *    called on it (or on any of its ends) from another thread refuses with
 *    -EPERM (or NULL with errno = EPERM) and changes nothing. Waiting on it
 *    needs a task pinned to that thread: a migratable task (eddy_spawn on a
 *    multi-thread runtime) could be resumed elsewhere, so its waits return
 *    -EPERM (its calls that do not wait are fine); plain code (outside a
 *    task) gets -EDEADLK, as nothing could ever wake it.
 *
 * WAITING. Calls that wait suspend the calling task, never the thread (a
 * plain thread blocks). Every such call:
 *  - returns -ECANCELED once its task is aborted: at once if the task was
 *    aborted before the call (even if it could have completed), or when the
 *    abort arrives while waiting. The primitive is left consistent: a permit
 *    or slot granted to the aborted waiter goes to the next waiter, a
 *    message stays queued for the next receive, no waiter is left behind.
 *    (So an aborted task's cleanup code should use the try_* calls.)
 *  - has a deadline variant, NAME_until(..., eddy_instant deadline), that
 *    returns -ETIMEDOUT once `deadline` (see eddy/time.h) has passed without
 *    success; the plain variant is NAME_until(..., EDDY_INSTANT_NEVER).
 *    Something that becomes available right at the deadline is taken.
 * Waiters are served first come, first served (FIFO) wherever an order
 * matters (semaphore permits, mutex, rwlock, bounded channel slots).
 *
 * VALUES. Channels carry fixed-size values copied in and out:
 * eddy_channel_opts.elem_size bytes each (default: sizeof(void *), so a
 * pointer: send &ptr, receive into &ptr). A channel never interprets or
 * frees what a value points to; values still queued when a channel goes
 * away are dropped without a trace, so drain first if they own memory.
 *
 * HANDLES. A channel is made as a pair of ends (like pipe(2)): its
 * constructor returns int and stores the ends through out-parameters.
 * Every end is consumed by exactly one *_release (oneshot's send also
 * consumes its sender). Counted ends (mpsc and broadcast senders, watch and
 * broadcast receivers) are duplicated with *_clone / *_subscribe; each copy
 * is released on its own. The channel's memory goes with its last end.
 * Other primitives are freed with *_free, which refuses (-EBUSY) while
 * tasks are queued on it (or, for Mutex/RwLock, while it is held); freeing
 * it while calls are still being made on it is undefined.
 *
 * ERROR CODES used here, besides -EINVAL (NULL or bad argument) and -ENOMEM:
 *   -EPIPE      closed: the other end is gone or closed, or the semaphore
 *               was closed
 *   -EAGAIN     a try_* call would have had to wait
 *   -EOVERFLOW  broadcast: the receiver lagged; *missed says by how many
 *               values; also: a release beyond the maximum permit count
 *   -ECANCELED  the calling task was aborted
 *   -ETIMEDOUT  the deadline passed (*_until)
 *   -EPERM      a LOCAL primitive used from another thread than its owner's,
 *               or waited on by a task not pinned to that thread
 *   -EDEADLK    a LOCAL primitive waited on from outside a task
 *   -EBUSY      *_free of a primitive in use
 */
#ifndef EDDY_SYNC_H
#define EDDY_SYNC_H

#include <sys/types.h>

#include "common.h"
#include "time.h"

#ifdef __cplusplus
extern "C" {
#endif

/** Which of the two implementations a primitive uses. */
typedef enum eddy_sync_flavor {
    EDDY_SYNC_SHARED = 0, /**< thread-safe: any task, runtime or thread */
    EDDY_SYNC_LOCAL = 1,  /**< owner thread only: no locks, no atomics */
} eddy_sync_flavor;

/** Options of every channel. Zero-initialised (or NULL) means: shared
 * flavor, values of sizeof(void *) bytes. */
typedef struct eddy_channel_opts {
    eddy_sync_flavor flavor; /**< Shared (default) or local. */
    /** Bytes per value, copied in by send and out by receive
     * (0: sizeof(void *)); at most EDDY_CHANNEL_MAX_ELEM. */
    size_t elem_size;
} eddy_channel_opts;

/** The largest value a channel carries, in bytes. */
#define EDDY_CHANNEL_MAX_ELEM ((size_t)1 << 20)

/* ======================================================================
 * oneshot: one value, sent once, received once.
 * ====================================================================== */

/** The sending end of a oneshot channel. */
typedef struct eddy_oneshot_tx eddy_oneshot_tx;
/** The receiving end of a oneshot channel. */
typedef struct eddy_oneshot_rx eddy_oneshot_rx;

/** Creates a oneshot channel; stores its two ends in *tx and *rx.
 * Returns 0, -EINVAL (NULL out-parameter, bad options), -ENOMEM.
 * Does not suspend. Any thread (a LOCAL channel belongs to the caller's). */
EDDY_API int eddy_oneshot_channel(const eddy_channel_opts *opts,
                                  eddy_oneshot_tx **tx, eddy_oneshot_rx **rx);

/** Sends the value (elem_size bytes at `value`) and consumes the sender,
 * whatever the outcome. Returns 0, or -EPIPE when the receiver is closed or
 * released (the value was not delivered; what it points to is still the
 * caller's); -EINVAL for NULL (tx not consumed); -EPERM (LOCAL, other
 * thread; not consumed). Does not suspend. */
EDDY_API int eddy_oneshot_send(eddy_oneshot_tx *tx, const void *value);

/** Drops the sender without sending: the receiver gets -EPIPE. Returns 0,
 * -EINVAL for NULL, -EPERM. Does not suspend. */
EDDY_API int eddy_oneshot_tx_release(eddy_oneshot_tx *tx);

/** 1 when the receiver is closed or released (a send would fail), else 0;
 * -EINVAL, -EPERM. Does not suspend. */
EDDY_API int eddy_oneshot_tx_is_closed(eddy_oneshot_tx *tx);

/**@{*/
/** Waits until the receiver is closed or released. Returns 0, -ECANCELED,
 * -ETIMEDOUT (_until), -EPERM, -EDEADLK. Suspends. */
EDDY_API int eddy_oneshot_tx_closed(eddy_oneshot_tx *tx);
EDDY_API int eddy_oneshot_tx_closed_until(eddy_oneshot_tx *tx, eddy_instant deadline);
/**@}*/

/**@{*/
/** Waits for the value and copies it to `out` (elem_size bytes; NULL to
 * discard it). Returns 0; -EPIPE when the sender was dropped without
 * sending, or the value was already received; -ECANCELED (the value, if it
 * comes, stays for a later receive); -ETIMEDOUT (_until); -EPERM;
 * -EDEADLK. Suspends. One task at a time per receiver. */
EDDY_API int eddy_oneshot_recv(eddy_oneshot_rx *rx, void *out);
EDDY_API int eddy_oneshot_recv_until(eddy_oneshot_rx *rx, void *out,
                                     eddy_instant deadline);
/**@}*/

/** As recv without waiting: -EAGAIN when no value has been sent yet. */
EDDY_API int eddy_oneshot_try_recv(eddy_oneshot_rx *rx, void *out);

/** Closes the receiving side: later sends fail with -EPIPE and the sender's
 * closed() wait returns. A value sent before the close can still be taken
 * with try_recv/recv. Returns 0, -EINVAL, -EPERM. Does not suspend. */
EDDY_API int eddy_oneshot_rx_close(eddy_oneshot_rx *rx);

/** Closes (as rx_close) and drops the receiver, and any value in it.
 * Returns 0, -EINVAL, -EPERM. Does not suspend. */
EDDY_API int eddy_oneshot_rx_release(eddy_oneshot_rx *rx);

/* ======================================================================
 * mpsc: many senders, one receiver, FIFO. Bounded (a send waits while the
 * channel holds `capacity` values) or unbounded.
 * ====================================================================== */

/** A (counted, clonable) sending end of an mpsc channel. */
typedef struct eddy_mpsc_tx eddy_mpsc_tx;
/** The receiving end of an mpsc channel. */
typedef struct eddy_mpsc_rx eddy_mpsc_rx;

/** Creates a bounded channel holding at most `capacity` (>= 1) values.
 * Returns 0, -EINVAL (capacity 0, NULL out-parameter, bad options),
 * -ENOMEM. Does not suspend. Any thread. */
EDDY_API int eddy_mpsc_channel(const eddy_channel_opts *opts, size_t capacity,
                               eddy_mpsc_tx **tx, eddy_mpsc_rx **rx);

/** Creates an unbounded channel: sends never wait (they fail with -ENOMEM
 * only when memory runs out). Returns as eddy_mpsc_channel. */
EDDY_API int eddy_mpsc_unbounded_channel(const eddy_channel_opts *opts,
                                         eddy_mpsc_tx **tx, eddy_mpsc_rx **rx);

/**@{*/
/** Sends a value (elem_size bytes at `msg`). On a bounded channel, waits
 * (first come, first served) while it is full. Returns 0; -EPIPE when the
 * receiver is closed or released (also while waiting; the value is not
 * sent); -ECANCELED / -ETIMEDOUT (_until: not sent; a slot granted meanwhile
 * goes to the next sender); -ENOMEM; -EPERM; -EDEADLK. Suspends (bounded);
 * never suspends on an unbounded channel, and then ignores aborts. */
EDDY_API int eddy_mpsc_send(eddy_mpsc_tx *tx, const void *msg);
EDDY_API int eddy_mpsc_send_until(eddy_mpsc_tx *tx, const void *msg,
                                  eddy_instant deadline);
/**@}*/

/** Sends without waiting: -EAGAIN when the channel is full (or other
 * senders are already waiting for room), -EPIPE when closed. */
EDDY_API int eddy_mpsc_try_send(eddy_mpsc_tx *tx, const void *msg);

/** Another reference to the sending side (the same pointer is returned).
 * The channel closes for the receiver when the last sender is released.
 * NULL with errno = EINVAL, EPERM, or EPIPE when every sender was already
 * released (tx is stale: clone before releasing). Does not suspend. */
EDDY_API eddy_mpsc_tx *eddy_mpsc_tx_clone(eddy_mpsc_tx *tx);

/** Drops one sender reference. Returns 0, -EINVAL, -EPERM. */
EDDY_API int eddy_mpsc_tx_release(eddy_mpsc_tx *tx);

/** 1 when the receiver is closed or released, else 0; -EINVAL, -EPERM. */
EDDY_API int eddy_mpsc_tx_is_closed(eddy_mpsc_tx *tx);

/**@{*/
/** Waits until the receiver is closed or released. Returns 0, -ECANCELED,
 * -ETIMEDOUT (_until), -EPERM, -EDEADLK. Suspends. */
EDDY_API int eddy_mpsc_tx_closed(eddy_mpsc_tx *tx);
EDDY_API int eddy_mpsc_tx_closed_until(eddy_mpsc_tx *tx, eddy_instant deadline);
/**@}*/

/**@{*/
/** Waits for the next value and copies it to `out` (NULL to discard).
 * Returns 0; -EPIPE once the channel is closed (every sender released, or
 * rx_close) AND empty: every value sent before the close is received
 * first; -ECANCELED / -ETIMEDOUT (_until: no value taken); -EPERM;
 * -EDEADLK. Suspends. One task at a time per receiver. */
EDDY_API int eddy_mpsc_recv(eddy_mpsc_rx *rx, void *out);
EDDY_API int eddy_mpsc_recv_until(eddy_mpsc_rx *rx, void *out, eddy_instant deadline);
/**@}*/

/** As recv without waiting: -EAGAIN when empty (and not closed). */
EDDY_API int eddy_mpsc_try_recv(eddy_mpsc_rx *rx, void *out);

/**@{*/
/** Waits until at least one value is queued, then takes up to `max` (>= 1)
 * values at once into buf (an array of max values). Returns how many
 * (>= 1), or the errors of eddy_mpsc_recv. Suspends. */
EDDY_API ssize_t eddy_mpsc_recv_many(eddy_mpsc_rx *rx, void *buf, size_t max);
EDDY_API ssize_t eddy_mpsc_recv_many_until(eddy_mpsc_rx *rx, void *buf, size_t max,
                                           eddy_instant deadline);
/**@}*/

/** Number of values queued now (>= 0), -EINVAL, -EPERM. Does not suspend. */
EDDY_API ssize_t eddy_mpsc_rx_len(eddy_mpsc_rx *rx);

/** Closes the channel from the receiving side: sends fail with -EPIPE from
 * now on (waiting senders are woken with it); values already queued can
 * still be received, then recv returns -EPIPE. Returns 0, -EINVAL, -EPERM.
 * Does not suspend. */
EDDY_API int eddy_mpsc_rx_close(eddy_mpsc_rx *rx);

/** Closes (as rx_close) and drops the receiver and every value still
 * queued. Returns 0, -EINVAL, -EPERM. Does not suspend. */
EDDY_API int eddy_mpsc_rx_release(eddy_mpsc_rx *rx);

/* ======================================================================
 * watch: one sender, many receivers; only the latest value is kept, and
 * receivers are told that it changed.
 * ====================================================================== */

/** The sending end of a watch channel. */
typedef struct eddy_watch_tx eddy_watch_tx;
/** A receiving end of a watch channel. */
typedef struct eddy_watch_rx eddy_watch_rx;

/** Creates a watch channel holding a copy of `init` (elem_size bytes; NULL
 * for zeroes), seen by the first receiver. Returns 0, -EINVAL, -ENOMEM.
 * Does not suspend. Any thread. */
EDDY_API int eddy_watch_channel(const eddy_channel_opts *opts, const void *init,
                                eddy_watch_tx **tx, eddy_watch_rx **rx);

/** Replaces the value and tells every receiver it changed. Returns 0, or
 * -EPIPE when no receiver is left (the value is then not stored), -EINVAL,
 * -EPERM. Does not suspend. */
EDDY_API int eddy_watch_send(eddy_watch_tx *tx, const void *value);

/** A new receiver that has seen the current value. NULL with errno =
 * EINVAL, EPERM, ENOMEM. Does not suspend. */
EDDY_API eddy_watch_rx *eddy_watch_tx_subscribe(eddy_watch_tx *tx);

/** Number of receivers (>= 0), -EINVAL, -EPERM. Does not suspend. */
EDDY_API ssize_t eddy_watch_tx_receiver_count(eddy_watch_tx *tx);

/**@{*/
/** Waits until every receiver is released. Returns 0, -ECANCELED,
 * -ETIMEDOUT (_until), -EPERM, -EDEADLK. Suspends. */
EDDY_API int eddy_watch_tx_closed(eddy_watch_tx *tx);
EDDY_API int eddy_watch_tx_closed_until(eddy_watch_tx *tx, eddy_instant deadline);
/**@}*/

/** Drops the sender: receivers' changed() returns -EPIPE once they have
 * seen the last value. Returns 0, -EINVAL, -EPERM. */
EDDY_API int eddy_watch_tx_release(eddy_watch_tx *tx);

/** Copies the current value to `out` without marking it seen. Works after
 * the sender is gone. Returns 0, -EINVAL, -EPERM. Does not suspend. */
EDDY_API int eddy_watch_borrow(eddy_watch_rx *rx, void *out);

/** As borrow, and marks the value seen. */
EDDY_API int eddy_watch_borrow_and_update(eddy_watch_rx *rx, void *out);

/** 1 when a value not yet seen by this receiver is there, 0 when not,
 * -EPIPE when not and the sender is gone; -EINVAL, -EPERM. */
EDDY_API int eddy_watch_has_changed(eddy_watch_rx *rx);

/**@{*/
/** Waits until there is a value this receiver has not seen, and marks it
 * seen (read it with borrow). Returns 0 at once if there already is one;
 * -EPIPE when the sender is gone and nothing is unseen; -ECANCELED,
 * -ETIMEDOUT (_until), -EPERM, -EDEADLK. Suspends. */
EDDY_API int eddy_watch_changed(eddy_watch_rx *rx);
EDDY_API int eddy_watch_changed_until(eddy_watch_rx *rx, eddy_instant deadline);
/**@}*/

/** Another receiver, having seen what rx has seen. NULL with errno. */
EDDY_API eddy_watch_rx *eddy_watch_rx_clone(eddy_watch_rx *rx);

/** Drops a receiver. Returns 0, -EINVAL, -EPERM. */
EDDY_API int eddy_watch_rx_release(eddy_watch_rx *rx);

/* ======================================================================
 * broadcast: many senders, many receivers; every receiver gets every value
 * sent after it subscribed, from a ring of `capacity` values. A receiver
 * that falls more than `capacity` behind loses the oldest values and is
 * told how many.
 * ====================================================================== */

/** A sending end of a broadcast channel. */
typedef struct eddy_broadcast_tx eddy_broadcast_tx;
/** A receiving end of a broadcast channel. */
typedef struct eddy_broadcast_rx eddy_broadcast_rx;

/** Creates a broadcast channel keeping the last `capacity` (>= 1) values.
 * Returns 0, -EINVAL, -ENOMEM. Does not suspend. Any thread. */
EDDY_API int eddy_broadcast_channel(const eddy_channel_opts *opts, size_t capacity,
                                    eddy_broadcast_tx **tx, eddy_broadcast_rx **rx);

/** Sends a value to every current receiver; never waits (the oldest value
 * is overwritten when the ring is full). Returns the number of receivers
 * (>= 1), or -EPIPE when there is none (not stored), -EINVAL, -EPERM. */
EDDY_API int eddy_broadcast_send(eddy_broadcast_tx *tx, const void *value);

/** Another reference to the sending side (the same pointer). The channel
 * closes when the last sender is released. NULL with errno = EINVAL,
 * EPERM, or EPIPE when every sender was already released. */
EDDY_API eddy_broadcast_tx *eddy_broadcast_tx_clone(eddy_broadcast_tx *tx);

/** A new receiver that gets the values sent from now on. NULL with errno. */
EDDY_API eddy_broadcast_rx *eddy_broadcast_tx_subscribe(eddy_broadcast_tx *tx);

/** Drops one sender reference. Returns 0, -EINVAL, -EPERM. */
EDDY_API int eddy_broadcast_tx_release(eddy_broadcast_tx *tx);

/**@{*/
/** Waits for this receiver's next value and copies it to `out` (NULL to
 * discard). Returns 0; -EOVERFLOW when values were lost because this
 * receiver lagged: their number goes to *missed (if not NULL) and the next
 * call receives the oldest value still kept; -EPIPE when every sender is
 * gone and this receiver has had every value; -ECANCELED, -ETIMEDOUT
 * (_until), -EPERM, -EDEADLK. Suspends. One task at a time per receiver. */
EDDY_API int eddy_broadcast_recv(eddy_broadcast_rx *rx, void *out, uint64_t *missed);
EDDY_API int eddy_broadcast_recv_until(eddy_broadcast_rx *rx, void *out,
                                       uint64_t *missed, eddy_instant deadline);
/**@}*/

/** As recv without waiting: -EAGAIN when no new value is there. */
EDDY_API int eddy_broadcast_try_recv(eddy_broadcast_rx *rx, void *out, uint64_t *missed);

/** A new receiver of the same channel that gets the values sent from now
 * on (as tx_subscribe). NULL with errno. */
EDDY_API eddy_broadcast_rx *eddy_broadcast_rx_resubscribe(eddy_broadcast_rx *rx);

/** Drops a receiver. Returns 0, -EINVAL, -EPERM. */
EDDY_API int eddy_broadcast_rx_release(eddy_broadcast_rx *rx);

/* ======================================================================
 * Notify: wakes one waiting task, or all of them.
 * ====================================================================== */

/** A Notify: wakes one waiter or all of them; stores a permit when nobody waits. */
typedef struct eddy_notify eddy_notify;

/** A new Notify. NULL with errno = EINVAL (bad flavor), ENOMEM. Any
 * thread. */
EDDY_API eddy_notify *eddy_notify_new(eddy_sync_flavor flavor);

/** Frees it. Returns 0, -EBUSY while tasks wait on it, -EINVAL, -EPERM. */
EDDY_API int eddy_notify_free(eddy_notify *n);

/** Wakes the longest-waiting waiter; with nobody waiting, stores a permit
 * (at most one) that the next wait consumes at once. Returns 0, -EINVAL,
 * -EPERM. Does not suspend. */
EDDY_API int eddy_notify_one(eddy_notify *n);

/** Wakes every task waiting now; stores no permit. Returns 0, -EINVAL,
 * -EPERM. Does not suspend. */
EDDY_API int eddy_notify_waiters(eddy_notify *n);

/**@{*/
/** Waits for a notification (or consumes the stored permit). Returns 0,
 * -ECANCELED (a notify_one meant for the aborted waiter passes to the next
 * waiter, or back to the permit), -ETIMEDOUT (_until), -EPERM, -EDEADLK.
 * Suspends. */
EDDY_API int eddy_notify_wait(eddy_notify *n);
EDDY_API int eddy_notify_wait_until(eddy_notify *n, eddy_instant deadline);
/**@}*/

/**@{*/
/** Closing the check-then-wait race of notify_waiters (Tokio's
 * Notified::enable): read the epoch, check your condition, then wait
 * "since" the epoch: the wait returns at once if notify_waiters was called
 * after the epoch was read. eddy_notify_epoch stores the number of
 * notify_waiters calls so far; returns 0, -EINVAL, -EPERM. */
EDDY_API int eddy_notify_epoch(eddy_notify *n, uint64_t *epoch);
EDDY_API int eddy_notify_wait_since(eddy_notify *n, uint64_t epoch);
EDDY_API int eddy_notify_wait_since_until(eddy_notify *n, uint64_t epoch,
                                          eddy_instant deadline);
/**@}*/

/* ======================================================================
 * Semaphore: a count of permits, acquired first come, first served.
 * ====================================================================== */

/** A fair (FIFO) counting semaphore. */
typedef struct eddy_semaphore eddy_semaphore;

/** The largest number of permits a semaphore holds. */
#define EDDY_SEMAPHORE_MAX_PERMITS (SIZE_MAX >> 3)

/** A semaphore with `permits` permits. NULL with errno = EINVAL (bad
 * flavor, permits > EDDY_SEMAPHORE_MAX_PERMITS), ENOMEM. Any thread. */
EDDY_API eddy_semaphore *eddy_semaphore_new(eddy_sync_flavor flavor, size_t permits);

/** Frees it. Returns 0, -EBUSY while tasks wait on it, -EINVAL, -EPERM. */
EDDY_API int eddy_semaphore_free(eddy_semaphore *s);

/**@{*/
/** Takes n permits, waiting (in FIFO order: a large request at the head
 * holds back later small ones) until they are there. n = 0 succeeds at
 * once. Returns 0; -EPIPE when the semaphore is closed (also while
 * waiting); -EINVAL for n > EDDY_SEMAPHORE_MAX_PERMITS; -ECANCELED /
 * -ETIMEDOUT (_until): nothing taken; -EPERM; -EDEADLK. Suspends. */
EDDY_API int eddy_semaphore_acquire(eddy_semaphore *s, size_t n);
EDDY_API int eddy_semaphore_acquire_until(eddy_semaphore *s, size_t n,
                                          eddy_instant deadline);
/**@}*/

/** Takes n permits without waiting: -EAGAIN when fewer are available (or
 * others wait before), -EPIPE when closed. */
EDDY_API int eddy_semaphore_try_acquire(eddy_semaphore *s, size_t n);

/** Adds n permits (giving back acquired ones, or new ones), waking the
 * waiters they satisfy. Returns 0, -EOVERFLOW (nothing added) when the
 * count would pass EDDY_SEMAPHORE_MAX_PERMITS, -EINVAL, -EPERM. Does not
 * suspend. */
EDDY_API int eddy_semaphore_release(eddy_semaphore *s, size_t n);

/** Closes the semaphore: every waiter and every later acquire gets -EPIPE.
 * Returns 0, -EINVAL, -EPERM. Does not suspend. */
EDDY_API int eddy_semaphore_close(eddy_semaphore *s);

/** 1 when closed, else 0; -EINVAL, -EPERM. */
EDDY_API int eddy_semaphore_is_closed(eddy_semaphore *s);

/** The permits available now (>= 0), -EINVAL, -EPERM. */
EDDY_API ssize_t eddy_semaphore_available(eddy_semaphore *s);

/* ======================================================================
 * Mutex: mutual exclusion between tasks, fair (FIFO); a semaphore of one.
 * It guards no data of its own: pair it with yours. It is not tied to a
 * task: it may be unlocked by another task or thread than the locker.
 * ====================================================================== */

/** A fair (FIFO) async mutex. */
typedef struct eddy_mutex eddy_mutex;

/** A new unlocked mutex. NULL with errno = EINVAL, ENOMEM. Any thread. */
EDDY_API eddy_mutex *eddy_mutex_new(eddy_sync_flavor flavor);

/** Frees it. Returns 0, -EBUSY while locked or waited on, -EINVAL, -EPERM. */
EDDY_API int eddy_mutex_free(eddy_mutex *m);

/**@{*/
/** Locks it, waiting in FIFO order while it is held. Returns 0,
 * -ECANCELED / -ETIMEDOUT (_until): not locked (if it was handed to the
 * aborted waiter meanwhile, it passes to the next one); -EPERM; -EDEADLK.
 * Holders are not tracked: locking a mutex one already holds waits
 * forever (or until the deadline or an abort). Suspends. */
EDDY_API int eddy_mutex_lock(eddy_mutex *m);
EDDY_API int eddy_mutex_lock_until(eddy_mutex *m, eddy_instant deadline);
/**@}*/

/** Locks it without waiting: 0, or -EAGAIN when held (or waited for). */
EDDY_API int eddy_mutex_try_lock(eddy_mutex *m);

/** Unlocks it, handing it to the longest waiter if any. Returns 0, -EINVAL
 * when it is not locked (or NULL), -EPERM. Does not suspend. */
EDDY_API int eddy_mutex_unlock(eddy_mutex *m);

/* ======================================================================
 * RwLock: many readers or one writer, fair (FIFO): a waiting writer holds
 * back readers that come after it, so writers are never starved.
 * ====================================================================== */

/** A fair (FIFO) async reader-writer lock. */
typedef struct eddy_rwlock eddy_rwlock;

/** The largest number of simultaneous readers. */
#define EDDY_RWLOCK_MAX_READERS ((size_t)UINT32_MAX >> 3)

/** A new unlocked RwLock. NULL with errno = EINVAL, ENOMEM. Any thread. */
EDDY_API eddy_rwlock *eddy_rwlock_new(eddy_sync_flavor flavor);

/** Frees it. Returns 0, -EBUSY while held or waited on, -EINVAL, -EPERM. */
EDDY_API int eddy_rwlock_free(eddy_rwlock *rw);

/**@{*/
/** Locks for reading (shared with other readers). Returns 0, -ECANCELED,
 * -ETIMEDOUT (_until), -EPERM, -EDEADLK. Suspends. */
EDDY_API int eddy_rwlock_read(eddy_rwlock *rw);
EDDY_API int eddy_rwlock_read_until(eddy_rwlock *rw, eddy_instant deadline);
/**@}*/

/** Read-locks without waiting: 0, or -EAGAIN. */
EDDY_API int eddy_rwlock_try_read(eddy_rwlock *rw);

/** Drops one read lock. Returns 0, -EINVAL when not read-locked, -EPERM. */
EDDY_API int eddy_rwlock_read_unlock(eddy_rwlock *rw);

/**@{*/
/** Locks for writing (exclusive). Returns 0, -ECANCELED, -ETIMEDOUT
 * (_until), -EPERM, -EDEADLK. Suspends. */
EDDY_API int eddy_rwlock_write(eddy_rwlock *rw);
EDDY_API int eddy_rwlock_write_until(eddy_rwlock *rw, eddy_instant deadline);
/**@}*/

/** Write-locks without waiting: 0, or -EAGAIN. */
EDDY_API int eddy_rwlock_try_write(eddy_rwlock *rw);

/** Drops the write lock. Returns 0, -EINVAL when not write-locked, -EPERM. */
EDDY_API int eddy_rwlock_write_unlock(eddy_rwlock *rw);

/* ======================================================================
 * Barrier: n tasks wait until all n have arrived, then all go on.
 * ====================================================================== */

/** A barrier for a fixed number of tasks. */
typedef struct eddy_barrier eddy_barrier;

/** A barrier for n tasks (0 acts as 1). NULL with errno = EINVAL, ENOMEM.
 * Any thread. The barrier is reusable: after each release a new round
 * begins. */
EDDY_API eddy_barrier *eddy_barrier_new(eddy_sync_flavor flavor, size_t n);

/** Frees it. Returns 0, -EBUSY while tasks wait on it, -EINVAL, -EPERM. */
EDDY_API int eddy_barrier_free(eddy_barrier *b);

/**@{*/
/** Arrives and waits until n tasks have arrived in this round. Returns 1 in
 * exactly one task of each round (the leader: the last to arrive), 0 in
 * the others; -ECANCELED / -ETIMEDOUT (_until): the arrival is withdrawn,
 * so the round still waits for n; -EPERM; -EDEADLK. Suspends. */
EDDY_API int eddy_barrier_wait(eddy_barrier *b);
EDDY_API int eddy_barrier_wait_until(eddy_barrier *b, eddy_instant deadline);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* EDDY_SYNC_H */
