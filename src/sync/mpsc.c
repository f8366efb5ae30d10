/* mpsc: a growable ring of fixed-size values under the channel's lock.
 *
 * Bounded channels count their free slots with the semaphore engine
 * (`room`), as Tokio does: a send takes a slot (waiting FIFO while there
 * is none), a receive gives slots back, which hands them straight to the
 * senders waiting longest. Closing the receiver closes `room`, so waiting
 * senders fail with -EPIPE. Unbounded channels have no `room`.
 *
 * Lifetime: `refs` counts the ends (each sender reference, and the
 * receiver) and is dropped last, in the final critical section of a
 * release (see oneshot.c for why); `senders` and `rx_closed` are what the
 * other side sees. */
#include <stdlib.h>
#include <string.h>

#include "sync/sem.h"

struct eddy_mpsc_tx { char unused; };
struct eddy_mpsc_rx { char unused; };

typedef struct mpsc {
    sync_core core;
    size_t elem_size;
    unsigned char *buf; /* slots * elem_size bytes */
    size_t slots;       /* a power of two */
    size_t head;        /* slot of the oldest value */
    size_t len;         /* values queued */
    bool bounded;
    size_t max_slots;   /* bounded: the ring never needs more */
    sync_sem room;      /* bounded: free slots, senders waiting for one */
    size_t senders;     /* live sender references */
    bool rx_closed;     /* rx_close or rx_release */
    size_t refs;        /* senders + (receiver alive) */
    sync_waitlist rx_waiters;     /* recv */
    sync_waitlist closed_waiters; /* tx_closed */
    struct eddy_mpsc_tx tx;
    struct eddy_mpsc_rx rx;
} mpsc;

#define OF_TX(p) ((mpsc *)((char *)(p) - offsetof(mpsc, tx)))
#define OF_RX(p) ((mpsc *)((char *)(p) - offsetof(mpsc, rx)))

enum { INITIAL_SLOTS = 32 };

static size_t pow2_at_least(size_t n)
{
    size_t p = 1;
    while (p < n && p <= SIZE_MAX / 2)
        p <<= 1;
    return p;
}

static int make(const eddy_channel_opts *opts, bool bounded, size_t capacity,
                eddy_mpsc_tx **tx, eddy_mpsc_rx **rx)
{
    eddy_sync_flavor flavor;
    size_t elem;
    if (!tx || !rx || eddy__sync_channel_opts(opts, &flavor, &elem) != 0)
        return -EINVAL;
    if (bounded && (capacity == 0 || capacity > EDDY_SEMAPHORE_MAX_PERMITS))
        return -EINVAL;
    mpsc *ch = calloc(1, sizeof *ch);
    if (!ch)
        return -ENOMEM;
    ch->elem_size = elem;
    ch->bounded = bounded;
    ch->max_slots = bounded ? pow2_at_least(capacity) : SIZE_MAX / elem;
    ch->slots = ch->max_slots < INITIAL_SLOTS ? ch->max_slots : INITIAL_SLOTS;
    ch->buf = malloc(ch->slots * elem);
    if (!ch->buf) {
        free(ch);
        return -ENOMEM;
    }
    eddy__sync_core_init(&ch->core, flavor);
    ch->room.avail = bounded ? capacity : 0;
    ch->senders = 1;
    ch->refs = 2;
    *tx = &ch->tx;
    *rx = &ch->rx;
    return 0;
}

int eddy_mpsc_channel(const eddy_channel_opts *opts, size_t capacity, eddy_mpsc_tx **tx,
                      eddy_mpsc_rx **rx)
{
    return make(opts, true, capacity, tx, rx);
}

int eddy_mpsc_unbounded_channel(const eddy_channel_opts *opts, eddy_mpsc_tx **tx,
                                eddy_mpsc_rx **rx)
{
    return make(opts, false, 0, tx, rx);
}

static void destroy(mpsc *ch)
{
    free(ch->buf);
    free(ch);
}

/* ---- the ring (under the lock) ---- */

static unsigned char *slot(mpsc *ch, size_t i)
{
    return ch->buf + ((ch->head + i) & (ch->slots - 1)) * ch->elem_size;
}

/* Doubles the ring, unwrapping it. */
static int grow(mpsc *ch)
{
    if (ch->slots >= ch->max_slots || ch->slots > SIZE_MAX / 2 / ch->elem_size)
        return -ENOMEM;
    size_t n = ch->slots * 2;
    unsigned char *nb = malloc(n * ch->elem_size);
    if (!nb)
        return -ENOMEM;
    size_t first = ch->slots - ch->head; /* values from head to the end */
    if (first > ch->len)
        first = ch->len;
    memcpy(nb, ch->buf + ch->head * ch->elem_size, first * ch->elem_size);
    memcpy(nb + first * ch->elem_size, ch->buf, (ch->len - first) * ch->elem_size);
    free(ch->buf);
    ch->buf = nb;
    ch->slots = n;
    ch->head = 0;
    return 0;
}

/* Appends a value to a ring that has room. The state is written first and
 * the value copied last: a copy through the caller's pointer may alias the
 * channel as far as the compiler knows, and would make it read it again. */
static inline void put(mpsc *ch, const void *msg)
{
    unsigned char *dst = slot(ch, ch->len);
    size_t elem = ch->elem_size;
    ch->len++;
    sync_copy_value(dst, msg, elem);
}

static int push(mpsc *ch, const void *msg)
{
    if (ch->len == ch->slots) {
        int rc = grow(ch);
        if (rc)
            return rc;
    }
    put(ch, msg);
    return 0;
}

/* Takes the oldest value into out (NULL: drops it); the copy last, as in
 * put. */
static inline void pop_one(mpsc *ch, unsigned char *out)
{
    const unsigned char *src = slot(ch, 0);
    size_t elem = ch->elem_size;
    ch->head = (ch->head + 1) & (ch->slots - 1);
    ch->len--;
    if (out)
        sync_copy_value(out, src, elem);
}

/* Takes k (<= len) values into out (NULL: drop them). */
static void pop(mpsc *ch, unsigned char *out, size_t k)
{
    if (k == 1) {
        pop_one(ch, out);
        return;
    }
    if (out) {
        size_t first = ch->slots - ch->head;
        if (first > k)
            first = k;
        memcpy(out, ch->buf + ch->head * ch->elem_size, first * ch->elem_size);
        memcpy(out + first * ch->elem_size, ch->buf, (k - first) * ch->elem_size);
    }
    ch->head = (ch->head + k) & (ch->slots - 1);
    ch->len -= k;
}

/* ---- sending ---- */

enum { TRY, WAIT };

/* Out of line, so that the short paths in front of it (send_local_fast,
 * recv_local_fast) save no registers for it. */
__attribute__((noinline)) static int send_impl(eddy_mpsc_tx *tx, const void *msg, int mode,
                                               eddy_instant deadline)
{
    if (!tx || !msg)
        return -EINVAL;
    mpsc *ch = OF_TX(tx);
    /* Only a bounded send suspends, so only it answers to aborts. */
    int rc = sync_enter(&ch->core, ch->bounded && mode == WAIT);
    if (rc)
        return rc;
    SYNC_WAKES(b);
    sync_lock(&ch->core);
    if (ch->rx_closed) {
        rc = -EPIPE;
        goto out;
    }
    if (ch->bounded) {
        if (mode == TRY)
            rc = sync_sem_try_acquire(&ch->room, 1);
        else
            rc = sync_sem_acquire(&ch->core, &ch->room, 1, deadline, &b, true);
        if (rc)
            goto out;
        if (ch->rx_closed) { /* closed after our slot was granted */
            ch->room.avail++;
            rc = -EPIPE;
            goto out;
        }
    }
    rc = push(ch, msg);
    if (rc) {
        if (ch->bounded)
            sync_sem_release(&ch->core, &ch->room, 1, &b);
        goto out;
    }
    sync_complete_first(&ch->core, &ch->rx_waiters, SYNC_GRANTED, &b);
out:
    sync_unlock(&ch->core);
    sync_wakes_fire(&b);
    return rc;
}

/* A send on a LOCAL channel, from its owner thread, that wakes nobody: the
 * ring has room and the receiver is not waiting. Inline, with no call and
 * no wake batch, every check before any change; anything else goes to
 * send_impl, with the same outcome. Half the cost of a message was the
 * generality of the full path. */
static inline bool send_local_fast(mpsc *ch, const void *msg)
{
    if (!sync_local_enter(&ch->core, ch->bounded) || ch->rx_closed || ch->len == ch->slots ||
        !sync_list_empty(&ch->rx_waiters))
        return false;
    /* The last check. The room is open: it closes only after rx_closed is
     * set. Every send asks it for one slot. */
    if (ch->bounded && !sync_sem_try_take_one(&ch->room))
        return false;
    put(ch, msg);
    return true;
}

SYNC_HOT_ENTRY int eddy_mpsc_send(eddy_mpsc_tx *tx, const void *msg)
{
    if (tx && msg && send_local_fast(OF_TX(tx), msg))
        return 0;
    return send_impl(tx, msg, WAIT, EDDY_INSTANT_NEVER);
}

int eddy_mpsc_send_until(eddy_mpsc_tx *tx, const void *msg, eddy_instant deadline)
{
    return send_impl(tx, msg, WAIT, deadline);
}

int eddy_mpsc_try_send(eddy_mpsc_tx *tx, const void *msg)
{
    return send_impl(tx, msg, TRY, 0);
}

eddy_mpsc_tx *eddy_mpsc_tx_clone(eddy_mpsc_tx *tx)
{
    if (!tx) {
        errno = EINVAL;
        return NULL;
    }
    mpsc *ch = OF_TX(tx);
    int rc = eddy__sync_add_sender(&ch->core, &ch->senders, &ch->refs);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return tx;
}

int eddy_mpsc_tx_release(eddy_mpsc_tx *tx)
{
    if (!tx)
        return -EINVAL;
    mpsc *ch = OF_TX(tx);
    if (!sync_here(&ch->core))
        return -EPERM;
    SYNC_WAKES(b);
    sync_lock(&ch->core);
    if (--ch->senders == 0) /* closed for the receiver, once drained */
        eddy__sync_complete_all(&ch->core, &ch->rx_waiters, SYNC_GRANTED, &b);
    bool last = --ch->refs == 0;
    sync_unlock(&ch->core);
    sync_wakes_fire(&b);
    if (last)
        destroy(ch);
    return 0;
}

int eddy_mpsc_tx_is_closed(eddy_mpsc_tx *tx)
{
    if (!tx)
        return -EINVAL;
    mpsc *ch = OF_TX(tx);
    return eddy__sync_read_flag(&ch->core, &ch->rx_closed);
}

static bool rx_gone(const void *ch)
{
    return ((const mpsc *)ch)->rx_closed;
}

int eddy_mpsc_tx_closed_until(eddy_mpsc_tx *tx, eddy_instant deadline)
{
    if (!tx)
        return -EINVAL;
    mpsc *ch = OF_TX(tx);
    return eddy__sync_wait_unless(&ch->core, &ch->closed_waiters, rx_gone, ch, deadline);
}

int eddy_mpsc_tx_closed(eddy_mpsc_tx *tx)
{
    return eddy_mpsc_tx_closed_until(tx, EDDY_INSTANT_NEVER);
}

/* ---- receiving ---- */

__attribute__((noinline)) static ssize_t recv_impl(eddy_mpsc_rx *rx, void *out, size_t max,
                                                   int mode, eddy_instant deadline)
{
    if (!rx || max == 0)
        return -EINVAL;
    mpsc *ch = OF_RX(rx);
    int erc = sync_enter(&ch->core, mode == WAIT);
    if (erc)
        return erc;
    sync_lock(&ch->core);
    for (;;) {
        if (ch->len > 0) {
            SYNC_WAKES(b);
            size_t k = ch->len < max ? ch->len : max;
            pop(ch, out, k);
            if (ch->bounded)
                sync_sem_release(&ch->core, &ch->room, k, &b);
            sync_unlock(&ch->core);
            sync_wakes_fire(&b);
            return (ssize_t)k;
        }
        if (ch->senders == 0 || ch->rx_closed) {
            sync_unlock(&ch->core);
            return -EPIPE;
        }
        if (mode == TRY) {
            sync_unlock(&ch->core);
            return -EAGAIN;
        }
        sync_waiter w = { 0 };
        int rc = eddy__sync_wait(&ch->core, &ch->rx_waiters, &w, deadline);
        if (rc < 0) {
            if (sync_state(&ch->core, &w) != SYNC_WAITING) {
                /* A send's wake-up reached us as we were aborted. The
                 * value stays queued; should another task be receiving
                 * too, it gets the wake-up. */
                SYNC_WAKES(b);
                sync_lock(&ch->core);
                if (ch->len > 0)
                    sync_complete_first(&ch->core, &ch->rx_waiters, SYNC_GRANTED, &b);
                sync_unlock(&ch->core);
                sync_wakes_fire(&b);
            }
            return rc;
        }
        sync_lock(&ch->core);
    }
}

/* The receiving side of send_local_fast: a value is there and no sender
 * waits for room, so nobody is to be woken. */
static inline bool recv_local_fast(mpsc *ch, void *out)
{
    if (!sync_local_enter(&ch->core, true) || ch->len == 0 ||
        (ch->bounded && !sync_list_empty(&ch->room.waiters)))
        return false;
    if (ch->bounded)
        ch->room.avail++; /* sync_sem_release, with nobody to grant */
    pop_one(ch, out);
    return true;
}

/* The long way for eddy_mpsc_recv, out of line so that the short one
 * ends in a jump to it and keeps no frame of its own. */
__attribute__((noinline)) static int recv_one_slow(eddy_mpsc_rx *rx, void *out)
{
    ssize_t rc = recv_impl(rx, out, 1, WAIT, EDDY_INSTANT_NEVER);
    return rc < 0 ? (int)rc : 0;
}

SYNC_HOT_ENTRY int eddy_mpsc_recv(eddy_mpsc_rx *rx, void *out)
{
    if (rx && recv_local_fast(OF_RX(rx), out))
        return 0;
    return recv_one_slow(rx, out);
}

int eddy_mpsc_recv_until(eddy_mpsc_rx *rx, void *out, eddy_instant deadline)
{
    ssize_t rc = recv_impl(rx, out, 1, WAIT, deadline);
    return rc < 0 ? (int)rc : 0;
}

int eddy_mpsc_try_recv(eddy_mpsc_rx *rx, void *out)
{
    ssize_t rc = recv_impl(rx, out, 1, TRY, 0);
    return rc < 0 ? (int)rc : 0;
}

ssize_t eddy_mpsc_recv_many(eddy_mpsc_rx *rx, void *buf, size_t max)
{
    return recv_impl(rx, buf, max, WAIT, EDDY_INSTANT_NEVER);
}

ssize_t eddy_mpsc_recv_many_until(eddy_mpsc_rx *rx, void *buf, size_t max,
                                  eddy_instant deadline)
{
    return recv_impl(rx, buf, max, WAIT, deadline);
}

ssize_t eddy_mpsc_rx_len(eddy_mpsc_rx *rx)
{
    if (!rx)
        return -EINVAL;
    mpsc *ch = OF_RX(rx);
    if (!sync_here(&ch->core))
        return -EPERM;
    sync_lock(&ch->core);
    size_t n = ch->len;
    sync_unlock(&ch->core);
    return (ssize_t)n;
}

static int rx_close(eddy_mpsc_rx *rx, bool release)
{
    if (!rx)
        return -EINVAL;
    mpsc *ch = OF_RX(rx);
    if (!sync_here(&ch->core))
        return -EPERM;
    SYNC_WAKES(b);
    sync_lock(&ch->core);
    ch->rx_closed = true;
    if (ch->bounded)
        eddy__sem_close(&ch->core, &ch->room, &b); /* waiting senders: -EPIPE */
    eddy__sync_complete_all(&ch->core, &ch->closed_waiters, SYNC_GRANTED, &b);
    bool last = false;
    if (release) {
        pop(ch, NULL, ch->len); /* dropped unread */
        last = --ch->refs == 0;
    }
    sync_unlock(&ch->core);
    sync_wakes_fire(&b);
    if (last)
        destroy(ch);
    return 0;
}

int eddy_mpsc_rx_close(eddy_mpsc_rx *rx)
{
    return rx_close(rx, false);
}

int eddy_mpsc_rx_release(eddy_mpsc_rx *rx)
{
    return rx_close(rx, true);
}
