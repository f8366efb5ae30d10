/* oneshot: one allocation holding both ends and room for the value; it is
 * freed when both ends are gone. Programs make one per request and many
 * are alive at once: the allocation comes from the thread's block cache.
 *
 * Lifetime: `refs` counts the live ends and is dropped last, in the final
 * critical section of a release: completing waiters may unlock half-way
 * (to fire a full wake batch), and the other end must not free the
 * channel while we are to lock it again. */
#include <stdlib.h>
#include <string.h>

#include "sync/core.h"
#include "util/block_cache.h"

struct eddy_oneshot_tx { char unused; };
struct eddy_oneshot_rx { char unused; };

typedef struct oneshot {
    sync_core core;
    size_t elem_size;
    unsigned refs;    /* live ends: 2, 1, 0 */
    bool tx_done;     /* sender sent or released */
    bool rx_closed;   /* rx_close or rx_release: sends fail */
    bool has_value;   /* sent, not yet received */
    /* LOCAL: a task parked in recv with no deadline, completed by the
     * sender through this field instead of a waiter node on its own
     * stack, which has gone cold by then (see recv_parked). Borrowed:
     * it clears the field itself before it can finish. */
    eddy_task *parked;
    sync_waitlist rx_waiters;     /* recv with a deadline; SHARED recv */
    sync_waitlist closed_waiters; /* tx_closed */
    struct eddy_oneshot_tx tx;
    struct eddy_oneshot_rx rx;
    unsigned char value[];
} oneshot;

#define OF_TX(p) ((oneshot *)((char *)(p) - offsetof(oneshot, tx)))
#define OF_RX(p) ((oneshot *)((char *)(p) - offsetof(oneshot, rx)))

int eddy_oneshot_channel(const eddy_channel_opts *opts, eddy_oneshot_tx **tx,
                         eddy_oneshot_rx **rx)
{
    eddy_sync_flavor flavor;
    size_t elem;
    if (!tx || !rx || eddy__sync_channel_opts(opts, &flavor, &elem) != 0)
        return -EINVAL;
    oneshot *ch = eddy__block_alloc(sizeof *ch + elem);
    if (!ch)
        return -ENOMEM;
    /* Field by field, not zeroed whole: a program makes one per request. */
    eddy__sync_core_init(&ch->core, flavor);
    ch->elem_size = elem;
    ch->refs = 2;
    ch->tx_done = ch->rx_closed = ch->has_value = false;
    ch->parked = NULL;
    ch->rx_waiters = ch->closed_waiters = (sync_waitlist){ NULL, NULL, 0 };
    *tx = &ch->tx;
    *rx = &ch->rx;
    return 0;
}

static void destroy(oneshot *ch)
{
    eddy__block_free(ch, sizeof *ch + ch->elem_size);
}

/* Drops the sender (after sending or not); frees when the receiver is
 * gone too. The full paths are out of line, so that the short ones in
 * front of them (below) save no registers for them. */
__attribute__((noinline)) static int tx_drop(eddy_oneshot_tx *tx, const void *value)
{
    if (!tx)
        return -EINVAL;
    oneshot *ch = OF_TX(tx);
    if (!sync_here(&ch->core))
        return -EPERM;
    SYNC_WAKES(b);
    int rc = 0;
    sync_lock(&ch->core);
    if (value) {
        if (ch->rx_closed) {
            rc = -EPIPE;
        } else {
            sync_copy_value(ch->value, value, ch->elem_size);
            ch->has_value = true;
        }
    }
    ch->tx_done = true;
    /* The receiver learns either way: a value, or that none will come. */
    eddy_task *parked = ch->parked;
    ch->parked = NULL;
    eddy__sync_complete_all(&ch->core, &ch->rx_waiters, SYNC_GRANTED, &b);
    /* Nobody may wait for the sender's closed() once it is consumed. */
    eddy__sync_complete_all(&ch->core, &ch->closed_waiters, SYNC_GRANTED, &b);
    bool last = --ch->refs == 0;
    sync_unlock(&ch->core);
    if (parked)
        eddy__task_wake_by_ref(parked);
    sync_wakes_fire(&b);
    if (last)
        destroy(ch);
    return rc;
}

/* The short paths below serve a LOCAL channel on its owner thread when
 * nobody is to be woken: no call, no wake batch, every check before any
 * change, and otherwise the full path does it all with the same outcome.
 * A program makes a channel per request, and the full paths' generality
 * was most of their cost. */

/* A send on a channel still open both ways that no waiter node waits
 * for: nobody waits, or the receiver is parked in the channel's slot. */
static inline bool send_local_fast(oneshot *ch, const void *value)
{
    if (!sync_local_enter(&ch->core, false) || ch->tx_done || ch->rx_closed ||
        !sync_list_empty(&ch->rx_waiters) || !sync_list_empty(&ch->closed_waiters))
        return false;
    sync_copy_value(ch->value, value, ch->elem_size);
    ch->has_value = true;
    ch->tx_done = true;
    ch->refs--; /* from 2: neither end is gone, or one of the flags would say so */
    eddy_task *parked = ch->parked;
    if (parked) {
        ch->parked = NULL;
        eddy__task_wake_by_ref(parked);
    }
    return true;
}

int eddy_oneshot_send(eddy_oneshot_tx *tx, const void *value)
{
    if (!value)
        return -EINVAL;
    if (tx && send_local_fast(OF_TX(tx), value))
        return 0;
    return tx_drop(tx, value);
}

int eddy_oneshot_tx_release(eddy_oneshot_tx *tx)
{
    return tx_drop(tx, NULL);
}

int eddy_oneshot_tx_is_closed(eddy_oneshot_tx *tx)
{
    if (!tx)
        return -EINVAL;
    oneshot *ch = OF_TX(tx);
    return eddy__sync_read_flag(&ch->core, &ch->rx_closed);
}

static bool rx_gone(const void *ch)
{
    return ((const oneshot *)ch)->rx_closed;
}

int eddy_oneshot_tx_closed_until(eddy_oneshot_tx *tx, eddy_instant deadline)
{
    if (!tx)
        return -EINVAL;
    /* Completed by the close (or by the misuse of consuming the sender
     * meanwhile). */
    oneshot *ch = OF_TX(tx);
    return eddy__sync_wait_unless(&ch->core, &ch->closed_waiters, rx_gone, ch, deadline);
}

int eddy_oneshot_tx_closed(eddy_oneshot_tx *tx)
{
    return eddy_oneshot_tx_closed_until(tx, EDDY_INSTANT_NEVER);
}

static int recv_impl(eddy_oneshot_rx *rx, void *out, bool wait, eddy_instant deadline);

/* A LOCAL receive with no deadline that must wait, from a task pinned to
 * the owner thread: the task parks in the channel's slot rather than
 * linking a waiter node on its own stack. By the time the value comes
 * that stack has gone cold (a program has a channel per request, and
 * thousands waiting), and completing a node there cost the sender a
 * cache miss and the generic wait and wake machinery around it. Anything
 * else, including a second receiver while the slot is taken, takes the
 * general path, with the same outcome.
 *
 * Out of line and apart from recv_impl: a task waits here with this small
 * frame on top of its stack, and not recv_impl's, whose waiter and wake
 * batch would spread the few lines it touches over twice as many. Its
 * callers jump to it, and it jumps to recv_impl when its short path does
 * not apply: no frame of theirs lies under it, and no return of theirs
 * waits to be mispredicted after the switch back. rx is not NULL. */
__attribute__((noinline)) static int recv_parked(eddy_oneshot_rx *rx, void *out)
{
    oneshot *ch = OF_RX(rx);
    eddy_thread *th = eddy__thread();
    eddy_task *t = th->task;
    if (th->id != ch->core.owner || !t || !t->sched ||
        atomic_load_explicit(&t->sched->owner, memory_order_relaxed) != ch->core.owner ||
        ch->parked || ch->has_value || ch->tx_done || ch->rx_closed)
        return recv_impl(rx, out, true, EDDY_INSTANT_NEVER);
    ch->parked = t;
    int rc;
    do /* until the sender takes us out of the slot, or an abort */
        rc = eddy__task_suspend(eddy__thread(), t, TASK_PARKED);
    while (rc == 0 && ch->parked == t);
    if (ch->parked == t) {
        ch->parked = NULL; /* aborted with nothing come */
        return rc;
    }
    if (rc < 0)
        return rc; /* aborted as it came: the value stays for a later receive */
    if (!ch->has_value)
        return -EPIPE; /* the sender went without sending */
    if (out)
        sync_copy_value(out, ch->value, ch->elem_size);
    ch->has_value = false;
    return 0;
}

__attribute__((noinline)) static int recv_impl(eddy_oneshot_rx *rx, void *out, bool wait,
                                               eddy_instant deadline)
{
    if (!rx)
        return -EINVAL;
    oneshot *ch = OF_RX(rx);
    int erc = sync_enter(&ch->core, wait);
    if (erc)
        return erc;
    sync_lock(&ch->core);
    for (;;) {
        if (ch->has_value) {
            if (out)
                sync_copy_value(out, ch->value, ch->elem_size);
            ch->has_value = false;
            sync_unlock(&ch->core);
            return 0;
        }
        if (ch->tx_done || ch->rx_closed) {
            /* Dropped unsent, already received, or closed before sent. */
            sync_unlock(&ch->core);
            return -EPIPE;
        }
        if (!wait) {
            sync_unlock(&ch->core);
            return -EAGAIN;
        }
        sync_waiter w = { 0 };
        /* The value, if it comes while we leave, stays for a later
         * receive: nothing to hand on. */
        int rc = eddy__sync_wait(&ch->core, &ch->rx_waiters, &w, deadline);
        if (rc < 0)
            return rc;
        sync_lock(&ch->core);
    }
}

/* A receive that waits: in the channel's slot if it can, else in the
 * general way. */
static inline int recv_wait(eddy_oneshot_rx *rx, void *out, eddy_instant deadline)
{
    if (rx && deadline == EDDY_INSTANT_NEVER)
        return recv_parked(rx, out);
    return recv_impl(rx, out, true, deadline);
}

int eddy_oneshot_recv_until(eddy_oneshot_rx *rx, void *out, eddy_instant deadline)
{
    return recv_wait(rx, out, deadline);
}

/* A receive that finds the value there (in a task not aborted). */
static inline bool recv_local_fast(oneshot *ch, void *out)
{
    if (!sync_local_enter(&ch->core, true) || !ch->has_value)
        return false;
    if (out)
        sync_copy_value(out, ch->value, ch->elem_size);
    ch->has_value = false;
    return true;
}

int eddy_oneshot_recv(eddy_oneshot_rx *rx, void *out)
{
    if (rx && recv_local_fast(OF_RX(rx), out))
        return 0;
    return recv_wait(rx, out, EDDY_INSTANT_NEVER);
}

int eddy_oneshot_try_recv(eddy_oneshot_rx *rx, void *out)
{
    return recv_impl(rx, out, false, 0);
}

__attribute__((noinline)) static int rx_close(eddy_oneshot_rx *rx, bool release)
{
    if (!rx)
        return -EINVAL;
    oneshot *ch = OF_RX(rx);
    if (!sync_here(&ch->core))
        return -EPERM;
    SYNC_WAKES(b);
    sync_lock(&ch->core);
    ch->rx_closed = true;
    eddy__sync_complete_all(&ch->core, &ch->closed_waiters, SYNC_GRANTED, &b);
    bool last = false;
    if (release) {
        ch->has_value = false;
        last = --ch->refs == 0;
    }
    sync_unlock(&ch->core);
    sync_wakes_fire(&b);
    if (last)
        destroy(ch);
    return 0;
}

int eddy_oneshot_rx_close(eddy_oneshot_rx *rx)
{
    return rx_close(rx, false);
}

/* A release that nobody waits on (no sender waiting for the close). The
 * caller frees the channel if that was its last end. */
static inline bool rx_release_local_fast(oneshot *ch)
{
    if (!sync_local_enter(&ch->core, false) || !sync_list_empty(&ch->closed_waiters))
        return false;
    ch->rx_closed = true;
    ch->has_value = false;
    ch->refs--;
    return true;
}

/* Out of line, for the short release to end in a jump: with the block
 * cache's free inline it saved four registers around every release. */
__attribute__((noinline)) static int destroy_last(oneshot *ch)
{
    destroy(ch);
    return 0;
}

int eddy_oneshot_rx_release(eddy_oneshot_rx *rx)
{
    if (!rx || !rx_release_local_fast(OF_RX(rx)))
        return rx_close(rx, true);
    oneshot *ch = OF_RX(rx);
    return ch->refs == 0 ? destroy_last(ch) : 0;
}
