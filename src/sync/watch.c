/* watch: the latest value and a version bumped by every send; each
 * receiver remembers the version it has seen. Receivers waiting for a
 * change all wake on a send and compare versions.
 *
 * Lifetime: `refs` counts the sender (while alive) and the receivers and
 * is dropped last in a release (see oneshot.c). */
#include <stdlib.h>
#include <string.h>

#include "sync/core.h"

struct eddy_watch_tx { char unused; };

typedef struct watch {
    sync_core core;
    size_t elem_size;
    uint64_t version;   /* sends so far */
    bool tx_done;       /* sender released */
    size_t receivers;
    size_t refs;
    sync_waitlist changed_waiters;
    sync_waitlist closed_waiters; /* tx_closed: every receiver gone */
    struct eddy_watch_tx tx;
    unsigned char value[];
} watch;

struct eddy_watch_rx {
    watch *ch;
    uint64_t seen; /* the version this receiver has seen */
};

#define OF_TX(p) ((watch *)((char *)(p) - offsetof(watch, tx)))

int eddy_watch_channel(const eddy_channel_opts *opts, const void *init, eddy_watch_tx **tx,
                       eddy_watch_rx **rx)
{
    eddy_sync_flavor flavor;
    size_t elem;
    if (!tx || !rx || eddy__sync_channel_opts(opts, &flavor, &elem) != 0)
        return -EINVAL;
    watch *ch = calloc(1, sizeof *ch + elem);
    eddy_watch_rx *r = malloc(sizeof *r);
    if (!ch || !r) {
        free(ch);
        free(r);
        return -ENOMEM;
    }
    eddy__sync_core_init(&ch->core, flavor);
    ch->elem_size = elem;
    if (init)
        memcpy(ch->value, init, elem);
    ch->receivers = 1;
    ch->refs = 2;
    r->ch = ch;
    r->seen = 0;
    *tx = &ch->tx;
    *rx = r;
    return 0;
}

static void destroy(watch *ch)
{
    free(ch);
}

/* ---- sender ---- */

int eddy_watch_send(eddy_watch_tx *tx, const void *value)
{
    if (!tx || !value)
        return -EINVAL;
    watch *ch = OF_TX(tx);
    if (!sync_here(&ch->core))
        return -EPERM;
    SYNC_WAKES(b);
    int rc = 0;
    sync_lock(&ch->core);
    if (ch->receivers == 0) {
        rc = -EPIPE;
    } else {
        memcpy(ch->value, value, ch->elem_size);
        ch->version++;
        eddy__sync_complete_all(&ch->core, &ch->changed_waiters, SYNC_GRANTED, &b);
    }
    sync_unlock(&ch->core);
    sync_wakes_fire(&b);
    return rc;
}

/* Under the lock: a new receiver that has seen `seen`. */
static eddy_watch_rx *new_rx(watch *ch, uint64_t seen)
{
    eddy_watch_rx *r = malloc(sizeof *r);
    if (!r) {
        errno = ENOMEM;
        return NULL;
    }
    r->ch = ch;
    r->seen = seen;
    ch->receivers++;
    ch->refs++;
    return r;
}

eddy_watch_rx *eddy_watch_tx_subscribe(eddy_watch_tx *tx)
{
    if (!tx) {
        errno = EINVAL;
        return NULL;
    }
    watch *ch = OF_TX(tx);
    if (!sync_here(&ch->core)) {
        errno = EPERM;
        return NULL;
    }
    sync_lock(&ch->core);
    eddy_watch_rx *r = new_rx(ch, ch->version);
    sync_unlock(&ch->core);
    return r;
}

ssize_t eddy_watch_tx_receiver_count(eddy_watch_tx *tx)
{
    if (!tx)
        return -EINVAL;
    watch *ch = OF_TX(tx);
    if (!sync_here(&ch->core))
        return -EPERM;
    sync_lock(&ch->core);
    size_t n = ch->receivers;
    sync_unlock(&ch->core);
    return (ssize_t)n;
}

static bool receivers_gone(const void *ch)
{
    return ((const watch *)ch)->receivers == 0;
}

int eddy_watch_tx_closed_until(eddy_watch_tx *tx, eddy_instant deadline)
{
    if (!tx)
        return -EINVAL;
    watch *ch = OF_TX(tx);
    return eddy__sync_wait_unless(&ch->core, &ch->closed_waiters, receivers_gone, ch,
                                  deadline);
}

int eddy_watch_tx_closed(eddy_watch_tx *tx)
{
    return eddy_watch_tx_closed_until(tx, EDDY_INSTANT_NEVER);
}

int eddy_watch_tx_release(eddy_watch_tx *tx)
{
    if (!tx)
        return -EINVAL;
    watch *ch = OF_TX(tx);
    if (!sync_here(&ch->core))
        return -EPERM;
    SYNC_WAKES(b);
    sync_lock(&ch->core);
    ch->tx_done = true;
    eddy__sync_complete_all(&ch->core, &ch->changed_waiters, SYNC_GRANTED, &b);
    eddy__sync_complete_all(&ch->core, &ch->closed_waiters, SYNC_GRANTED, &b);
    bool last = --ch->refs == 0;
    sync_unlock(&ch->core);
    sync_wakes_fire(&b);
    if (last)
        destroy(ch);
    return 0;
}

/* ---- receivers ---- */

static int borrow(eddy_watch_rx *rx, void *out, bool update)
{
    if (!rx || !out)
        return -EINVAL;
    watch *ch = rx->ch;
    if (!sync_here(&ch->core))
        return -EPERM;
    sync_lock(&ch->core);
    memcpy(out, ch->value, ch->elem_size);
    if (update)
        rx->seen = ch->version;
    sync_unlock(&ch->core);
    return 0;
}

int eddy_watch_borrow(eddy_watch_rx *rx, void *out)
{
    return borrow(rx, out, false);
}

int eddy_watch_borrow_and_update(eddy_watch_rx *rx, void *out)
{
    return borrow(rx, out, true);
}

int eddy_watch_has_changed(eddy_watch_rx *rx)
{
    if (!rx)
        return -EINVAL;
    watch *ch = rx->ch;
    if (!sync_here(&ch->core))
        return -EPERM;
    sync_lock(&ch->core);
    int rc = rx->seen != ch->version ? 1 : ch->tx_done ? -EPIPE : 0;
    sync_unlock(&ch->core);
    return rc;
}

int eddy_watch_changed_until(eddy_watch_rx *rx, eddy_instant deadline)
{
    if (!rx)
        return -EINVAL;
    watch *ch = rx->ch;
    int erc = sync_enter(&ch->core, true);
    if (erc)
        return erc;
    sync_lock(&ch->core);
    for (;;) {
        if (rx->seen != ch->version) {
            rx->seen = ch->version;
            sync_unlock(&ch->core);
            return 0;
        }
        if (ch->tx_done) {
            sync_unlock(&ch->core);
            return -EPIPE;
        }
        /* Every waiter is woken by a send: nothing to hand on. */
        sync_waiter w = { 0 };
        int rc = eddy__sync_wait(&ch->core, &ch->changed_waiters, &w, deadline);
        if (rc < 0)
            return rc;
        sync_lock(&ch->core);
    }
}

int eddy_watch_changed(eddy_watch_rx *rx)
{
    return eddy_watch_changed_until(rx, EDDY_INSTANT_NEVER);
}

eddy_watch_rx *eddy_watch_rx_clone(eddy_watch_rx *rx)
{
    if (!rx) {
        errno = EINVAL;
        return NULL;
    }
    watch *ch = rx->ch;
    if (!sync_here(&ch->core)) {
        errno = EPERM;
        return NULL;
    }
    sync_lock(&ch->core);
    eddy_watch_rx *r = new_rx(ch, rx->seen);
    sync_unlock(&ch->core);
    return r;
}

int eddy_watch_rx_release(eddy_watch_rx *rx)
{
    if (!rx)
        return -EINVAL;
    watch *ch = rx->ch;
    if (!sync_here(&ch->core))
        return -EPERM;
    SYNC_WAKES(b);
    sync_lock(&ch->core);
    if (--ch->receivers == 0)
        eddy__sync_complete_all(&ch->core, &ch->closed_waiters, SYNC_GRANTED, &b);
    bool last = --ch->refs == 0;
    sync_unlock(&ch->core);
    sync_wakes_fire(&b);
    free(rx);
    if (last)
        destroy(ch);
    return 0;
}
