/* Parking on epoll with an eventfd for remote unparks.
 *
 * The unpark handshake is Dekker-style: the owner stores PARKED and then
 * re-checks its remote queue; a remote pusher enqueues and then loads the
 * state. With sequentially consistent accesses on both sides, at least one
 * sees the other, so a wake-up is never lost, and the eventfd is written
 * only when the owner really is (about to be) asleep. */
#include "driver/park.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "driver/io.h"

enum { DRIVER_RUNNING = 0, DRIVER_PARKED = 1 };

eddy_driver *eddy__driver_new(void)
{
    eddy_driver *d = calloc(1, sizeof *d);
    if (!d) {
        errno = ENOMEM;
        return NULL;
    }
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    d->wakefd = d->epfd < 0 ? -1 : eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    if (d->wakefd < 0 || epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->wakefd, &ev) != 0) {
        int err = errno;
        if (d->wakefd >= 0)
            close(d->wakefd);
        if (d->epfd >= 0)
            close(d->epfd);
        free(d);
        errno = err;
        return NULL;
    }
    atomic_init(&d->refs, 1);
    atomic_init(&d->state, DRIVER_RUNNING);
    atomic_init(&d->sources, 0);
    pthread_mutex_init(&d->lock, NULL);
    return d;
}

void eddy__driver_ref(eddy_driver *d)
{
    atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
}

void eddy__driver_unref(eddy_driver *d)
{
    if (atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) != 1)
        return;
    /* Deferred sources hold references, so none can be pending here. */
    eddy__driver_shutdown(d);
    pthread_mutex_destroy(&d->lock);
    free(d);
}

void eddy__driver_shutdown(eddy_driver *d)
{
    pthread_mutex_lock(&d->lock);
    if (!d->shut_down) {
        d->shut_down = true;
        close(d->wakefd);
        close(d->epfd);
    }
    pthread_mutex_unlock(&d->lock);
}

int eddy__driver_add(eddy_driver *d, int fd, void *source)
{
    struct epoll_event ev = {
        .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
        .data.ptr = source,
    };
    int rc = 0;
    pthread_mutex_lock(&d->lock);
    if (d->shut_down)
        rc = -ECANCELED;
    else if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) != 0)
        rc = -errno;
    else
        atomic_fetch_add(&d->sources, 1);
    pthread_mutex_unlock(&d->lock);
    return rc;
}

void eddy__driver_del(eddy_driver *d, int fd)
{
    pthread_mutex_lock(&d->lock);
    if (!d->shut_down) {
        epoll_ctl(d->epfd, EPOLL_CTL_DEL, fd, NULL);
        atomic_fetch_sub(&d->sources, 1);
    }
    pthread_mutex_unlock(&d->lock);
}

void eddy__driver_prepare_park(eddy_driver *d)
{
    atomic_store(&d->state, DRIVER_PARKED);
}

void eddy__driver_cancel_park(eddy_driver *d)
{
    atomic_store(&d->state, DRIVER_RUNNING);
}

static void drain_wakefd(eddy_driver *d)
{
    uint64_t n;
    ssize_t r = read(d->wakefd, &n, sizeof n);
    (void)r; /* EAGAIN: already drained */
}

void eddy__driver_release(eddy_driver *d, eddy_io_source *src)
{
    /* With epoll_ctl(DEL) done, a poll that starts from now on cannot
     * report the source; one already under way might. */
    if (atomic_load(&d->polling)) {
        pthread_mutex_lock(&d->lock);
        if (atomic_load(&d->polling)) {
            src->deferred_next = d->deferred;
            d->deferred = src;
            src = NULL;
        }
        pthread_mutex_unlock(&d->lock);
    }
    if (src)
        eddy__io_unref(src);
    else
        eddy__driver_unpark(d); /* the poller may sleep: the fd must close now */
}

static void wait_events(eddy_driver *d, int timeout_ms)
{
    struct epoll_event evs[128];
    atomic_store(&d->polling, true);
    int n = epoll_wait(d->epfd, evs, 128, timeout_ms);
    for (int i = 0; i < n; i++) {
        if (evs[i].data.ptr == NULL)
            drain_wakefd(d);
        else
            eddy__io_dispatch(evs[i].data.ptr, evs[i].events);
    }
    /* Under the lock, so that a closer either sees the poll over or has
     * queued its source before the list is taken. */
    pthread_mutex_lock(&d->lock);
    atomic_store(&d->polling, false);
    eddy_io_source *deferred = d->deferred;
    d->deferred = NULL;
    pthread_mutex_unlock(&d->lock);
    while (deferred) {
        eddy_io_source *next = deferred->deferred_next;
        eddy__io_unref(deferred);
        deferred = next;
    }
}

void eddy__driver_park(eddy_driver *d, int timeout_ms)
{
    wait_events(d, timeout_ms);
    atomic_store(&d->state, DRIVER_RUNNING);
}

void eddy__driver_poll(eddy_driver *d)
{
    if (atomic_load_explicit(&d->sources, memory_order_relaxed))
        wait_events(d, 0);
}

void eddy__driver_unpark(eddy_driver *d)
{
    if (atomic_load(&d->state) == DRIVER_PARKED &&
        atomic_exchange(&d->state, DRIVER_RUNNING) == DRIVER_PARKED) {
        uint64_t one = 1;
        ssize_t r = write(d->wakefd, &one, sizeof one);
        (void)r; /* EAGAIN: the counter is already non-zero */
    }
}
