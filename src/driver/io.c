/* I/O sources: readiness with an event tick, and the waiters on it. */
#include "driver/io.h"

#include <errno.h>
#include <eddy/io.h>
#include <sys/epoll.h>

#define READY_MASK 0xffffu
#define TICK_SHIFT 16

struct io_waiter {
    eddy_waker waker;
    unsigned mask;    /* ready bits that satisfy this waiter */
    bool woken;
    io_waiter *prev, *next;
};

/* The ready bits that satisfy an interest: the direction itself, its
 * hang-up, and errors. */
static unsigned mask_for(unsigned interest)
{
    unsigned m = EDDY_IO_ERROR;
    if (interest & EDDY_IO_READABLE)
        m |= EDDY_IO_READABLE | EDDY_IO_READ_CLOSED;
    if (interest & EDDY_IO_WRITABLE)
        m |= EDDY_IO_WRITABLE | EDDY_IO_WRITE_CLOSED;
    return m;
}

static unsigned from_epoll(uint32_t ev)
{
    unsigned r = 0;
    if (ev & EPOLLIN)
        r |= EDDY_IO_READABLE;
    if (ev & EPOLLOUT)
        r |= EDDY_IO_WRITABLE;
    if (ev & (EPOLLRDHUP | EPOLLHUP))
        r |= EDDY_IO_READ_CLOSED;
    if (ev & EPOLLHUP)
        r |= EDDY_IO_WRITE_CLOSED;
    if (ev & EPOLLERR)
        r |= EDDY_IO_ERROR;
    return r;
}

static bool snapshot(eddy_io_source *src, unsigned mask, eddy_io_event *ev)
{
    uint64_t s = atomic_load_explicit(&src->readiness, memory_order_acquire);
    ev->ready = (unsigned)(s & READY_MASK) & mask;
    ev->tick = s >> TICK_SHIFT;
    return ev->ready != 0;
}

int eddy__io_register(eddy_io_source *src, eddy_driver *d, int fd,
                      void (*release)(eddy_io_source *))
{
    atomic_init(&src->refs, 1);
    src->release = release;
    src->fd = fd;
    src->driver = d;
    atomic_init(&src->readiness, 0);
    pthread_mutex_init(&src->lock, NULL);
    src->waiters = NULL;
    src->closed = false;
    int rc = eddy__driver_add(d, fd, src);
    if (rc < 0) {
        pthread_mutex_destroy(&src->lock);
        return rc;
    }
    eddy__driver_ref(d);
    return 0;
}

/* Wakes the waiters satisfied by `ready` (every waiter if `all`). The
 * wakers are moved out under the lock: once a waiter is marked woken, its
 * node (on the waiting task's stack) may vanish at any moment. */
static void wake_matching(eddy_io_source *src, unsigned ready, bool all)
{
    for (;;) {
        eddy_waker batch[16];
        unsigned n = 0;
        bool more = false;
        pthread_mutex_lock(&src->lock);
        if (all)
            src->closed = true;
        for (io_waiter *w = src->waiters, *next; w; w = next) {
            next = w->next;
            if (!all && !(w->mask & ready))
                continue;
            if (n == 16) {
                more = true;
                break;
            }
            if (w->prev)
                w->prev->next = w->next;
            else
                src->waiters = w->next;
            if (w->next)
                w->next->prev = w->prev;
            batch[n++] = w->waker;
            w->waker.vt = NULL;
            w->woken = true;
        }
        pthread_mutex_unlock(&src->lock);
        for (unsigned i = 0; i < n; i++)
            eddy__waker_wake(batch[i]);
        if (!more)
            return;
    }
}

void eddy__io_unref(eddy_io_source *src)
{
    if (atomic_fetch_sub_explicit(&src->refs, 1, memory_order_acq_rel) != 1)
        return;
    eddy__driver_unref(src->driver);
    pthread_mutex_destroy(&src->lock);
    src->release(src);
}

void eddy__io_close(eddy_io_source *src)
{
    eddy__driver_del(src->driver, src->fd);
    wake_matching(src, 0, true);
    eddy__driver_release(src->driver, src);
}

void eddy__io_dispatch(eddy_io_source *src, uint32_t epoll_events)
{
    unsigned ready = from_epoll(epoll_events);
    uint64_t s = atomic_load_explicit(&src->readiness, memory_order_relaxed);
    uint64_t next;
    do {
        uint64_t tick = (s >> TICK_SHIFT) + 1;
        next = (tick << TICK_SHIFT) | (s & READY_MASK) | ready;
    } while (!atomic_compare_exchange_weak_explicit(&src->readiness, &s, next,
                                                    memory_order_acq_rel,
                                                    memory_order_relaxed));
    wake_matching(src, ready, false);
}


static int wait_ready(eddy_io_source *src, unsigned interest, uint64_t deadline,
                      eddy_io_event *ev)
{
    unsigned mask = mask_for(interest);
    io_waiter w = { .mask = mask };
    for (;;) {
        if (snapshot(src, mask, ev))
            return 0;
        w.waker = eddy__waker_current();
        if (!eddy__waker_is_set(w.waker))
            return -ENOMEM;
        w.woken = false;
        pthread_mutex_lock(&src->lock);
        if (src->closed || eddy__driver_is_shut_down(src->driver)) {
            pthread_mutex_unlock(&src->lock);
            eddy__waker_drop(w.waker);
            return -ECANCELED;
        }
        /* Re-check under the lock: dispatch sets readiness before it takes
         * the lock, so an event is either seen here or wakes us. */
        if (snapshot(src, mask, ev)) {
            pthread_mutex_unlock(&src->lock);
            eddy__waker_drop(w.waker);
            return 0;
        }
        w.prev = NULL;
        w.next = src->waiters;
        if (w.next)
            w.next->prev = &w;
        src->waiters = &w;
        pthread_mutex_unlock(&src->lock);

        int rc = eddy__wait_current_until(deadline);

        pthread_mutex_lock(&src->lock);
        if (!w.woken) {
            if (w.prev)
                w.prev->next = w.next;
            else
                src->waiters = w.next;
            if (w.next)
                w.next->prev = w.prev;
            eddy__waker_drop(w.waker);
        }
        bool closed = src->closed;
        pthread_mutex_unlock(&src->lock);
        if (rc < 0)
            return rc;
        if (closed)
            return -ECANCELED;
    }
}

int eddy__io_wait(eddy_io_source *src, unsigned interest, uint64_t deadline, eddy_io_event *ev)
{
    atomic_fetch_add_explicit(&src->refs, 1, memory_order_relaxed);
    int rc = wait_ready(src, interest, deadline, ev);
    eddy__io_unref(src);
    return rc;
}


eddy_io_event eddy__io_readiness(eddy_io_source *src)
{
    eddy_io_event ev;
    snapshot(src, READY_MASK, &ev);
    return ev;
}

void eddy__io_clear_error(eddy_io_source *src)
{
    /* Racing with the driver is harmless: a newer error stays pending in
     * the socket, and every operation tries its system call first. */
    atomic_fetch_and_explicit(&src->readiness, ~(uint_fast64_t)EDDY_IO_ERROR,
                              memory_order_acq_rel);
}

void eddy__io_clear(eddy_io_source *src, eddy_io_event ev)
{
    /* Only the direction bits are cleared: hang-up and error are final. */
    uint64_t clear = ev.ready & (EDDY_IO_READABLE | EDDY_IO_WRITABLE);
    uint64_t s = atomic_load_explicit(&src->readiness, memory_order_relaxed);
    while ((s >> TICK_SHIFT) == ev.tick) {
        if (atomic_compare_exchange_weak_explicit(&src->readiness, &s, s & ~clear,
                                                  memory_order_acq_rel,
                                                  memory_order_relaxed))
            return;
    }
}
