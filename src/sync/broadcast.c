/* broadcast: a ring of `capacity` values indexed by a sequence number.
 * The value numbered s sits in slot s % capacity until value s + capacity
 * overwrites it; each receiver keeps the number of the next value it will
 * read, so a receiver more than `capacity` behind knows exactly how many
 * it lost. Sends never wait; receivers waiting for a value all wake on a
 * send.
 *
 * Lifetime: `refs` counts sender references and receivers and is dropped
 * last in a release (see oneshot.c). */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "sync/core.h"

struct eddy_broadcast_tx { char unused; };

typedef struct bcast {
    sync_core core;
    size_t elem_size;
    size_t capacity;
    uint64_t tail;     /* number of the next value to be sent */
    size_t senders;
    size_t receivers;
    size_t refs;
    sync_waitlist recv_waiters;
    struct eddy_broadcast_tx tx;
    unsigned char ring[]; /* capacity * elem_size */
} bcast;

struct eddy_broadcast_rx {
    bcast *ch;
    uint64_t next; /* number of the next value this receiver reads */
};

#define OF_TX(p) ((bcast *)((char *)(p) - offsetof(bcast, tx)))

int eddy_broadcast_channel(const eddy_channel_opts *opts, size_t capacity,
                           eddy_broadcast_tx **tx, eddy_broadcast_rx **rx)
{
    eddy_sync_flavor flavor;
    size_t elem;
    if (!tx || !rx || eddy__sync_channel_opts(opts, &flavor, &elem) != 0 || capacity == 0)
        return -EINVAL;
    if (capacity > (SIZE_MAX - sizeof(bcast)) / elem)
        return -ENOMEM;
    bcast *ch = calloc(1, sizeof *ch + capacity * elem);
    eddy_broadcast_rx *r = malloc(sizeof *r);
    if (!ch || !r) {
        free(ch);
        free(r);
        return -ENOMEM;
    }
    eddy__sync_core_init(&ch->core, flavor);
    ch->elem_size = elem;
    ch->capacity = capacity;
    ch->senders = 1;
    ch->receivers = 1;
    ch->refs = 2;
    r->ch = ch;
    r->next = 0;
    *tx = &ch->tx;
    *rx = r;
    return 0;
}

static void destroy(bcast *ch)
{
    free(ch);
}

static unsigned char *slot(bcast *ch, uint64_t seq)
{
    return ch->ring + (size_t)(seq % ch->capacity) * ch->elem_size;
}

/* ---- senders ---- */

int eddy_broadcast_send(eddy_broadcast_tx *tx, const void *value)
{
    if (!tx || !value)
        return -EINVAL;
    bcast *ch = OF_TX(tx);
    if (!sync_here(&ch->core))
        return -EPERM;
    SYNC_WAKES(b);
    int rc;
    sync_lock(&ch->core);
    if (ch->receivers == 0) {
        rc = -EPIPE;
    } else {
        memcpy(slot(ch, ch->tail), value, ch->elem_size);
        ch->tail++;
        rc = ch->receivers > INT_MAX ? INT_MAX : (int)ch->receivers;
        eddy__sync_complete_all(&ch->core, &ch->recv_waiters, SYNC_GRANTED, &b);
    }
    sync_unlock(&ch->core);
    sync_wakes_fire(&b);
    return rc;
}

eddy_broadcast_tx *eddy_broadcast_tx_clone(eddy_broadcast_tx *tx)
{
    if (!tx) {
        errno = EINVAL;
        return NULL;
    }
    bcast *ch = OF_TX(tx);
    int rc = eddy__sync_add_sender(&ch->core, &ch->senders, &ch->refs);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return tx;
}

/* Under the lock: a receiver that reads the values sent from now on. */
static eddy_broadcast_rx *new_rx(bcast *ch)
{
    eddy_broadcast_rx *r = malloc(sizeof *r);
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    r->ch = ch;
    r->next = ch->tail;
    ch->receivers++;
    ch->refs++;
    return r;
}

eddy_broadcast_rx *eddy_broadcast_tx_subscribe(eddy_broadcast_tx *tx)
{
    if (!tx) {
        errno = EINVAL;
        return NULL;
    }
    bcast *ch = OF_TX(tx);
    if (!sync_here(&ch->core)) {
        errno = EPERM;
        return NULL;
    }
    sync_lock(&ch->core);
    eddy_broadcast_rx *r = new_rx(ch);
    sync_unlock(&ch->core);
    return r;
}

int eddy_broadcast_tx_release(eddy_broadcast_tx *tx)
{
    if (!tx)
        return -EINVAL;
    bcast *ch = OF_TX(tx);
    if (!sync_here(&ch->core))
        return -EPERM;
    SYNC_WAKES(b);
    sync_lock(&ch->core);
    if (--ch->senders == 0) /* receivers drain what is left, then -EPIPE */
        eddy__sync_complete_all(&ch->core, &ch->recv_waiters, SYNC_GRANTED, &b);
    bool last = --ch->refs == 0;
    sync_unlock(&ch->core);
    sync_wakes_fire(&b);
    if (last)
        destroy(ch);
    return 0;
}

/* ---- receivers ---- */

enum { TRY, WAIT };

static int recv_impl(eddy_broadcast_rx *rx, void *out, uint64_t *missed, int mode,
                     eddy_instant deadline)
{
    if (!rx)
        return -EINVAL;
    bcast *ch = rx->ch;
    int erc = sync_enter(&ch->core, mode == WAIT);
    if (erc)
        return erc;
    sync_lock(&ch->core);
    for (;;) {
        if (rx->next < ch->tail) {
            uint64_t oldest = ch->tail > ch->capacity ? ch->tail - ch->capacity : 0;
            if (rx->next < oldest) {
                if (missed)
                    *missed = oldest - rx->next;
                rx->next = oldest;
                sync_unlock(&ch->core);
                return -EOVERFLOW;
            }
            if (out)
                memcpy(out, slot(ch, rx->next), ch->elem_size);
            rx->next++;
            sync_unlock(&ch->core);
            return 0;
        }
        if (ch->senders == 0) {
            sync_unlock(&ch->core);
            return -EPIPE;
        }
        if (mode == TRY) {
            sync_unlock(&ch->core);
            return -EAGAIN;
        }
        /* Every waiter is woken by a send: nothing to hand on. */
        sync_waiter w = { 0 };
        int rc = eddy__sync_wait(&ch->core, &ch->recv_waiters, &w, deadline);
        if (rc < 0)
            return rc;
        sync_lock(&ch->core);
    }
}

int eddy_broadcast_recv(eddy_broadcast_rx *rx, void *out, uint64_t *missed)
{
    return recv_impl(rx, out, missed, WAIT, EDDY_INSTANT_NEVER);
}

int eddy_broadcast_recv_until(eddy_broadcast_rx *rx, void *out, uint64_t *missed,
                              eddy_instant deadline)
{
    return recv_impl(rx, out, missed, WAIT, deadline);
}

int eddy_broadcast_try_recv(eddy_broadcast_rx *rx, void *out, uint64_t *missed)
{
    return recv_impl(rx, out, missed, TRY, 0);
}

eddy_broadcast_rx *eddy_broadcast_rx_resubscribe(eddy_broadcast_rx *rx)
{
    if (!rx) {
        errno = EINVAL;
        return NULL;
    }
    bcast *ch = rx->ch;
    if (!sync_here(&ch->core)) {
        errno = EPERM;
        return NULL;
    }
    sync_lock(&ch->core);
    eddy_broadcast_rx *r = new_rx(ch);
    sync_unlock(&ch->core);
    return r;
}

int eddy_broadcast_rx_release(eddy_broadcast_rx *rx)
{
    if (!rx)
        return -EINVAL;
    bcast *ch = rx->ch;
    if (!sync_here(&ch->core))
        return -EPERM;
    sync_lock(&ch->core);
    ch->receivers--;
    bool last = --ch->refs == 0;
    sync_unlock(&ch->core);
    free(rx);
    if (last)
        destroy(ch);
    return 0;
}
