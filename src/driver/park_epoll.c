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
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

enum { DRIVER_RUNNING = 0, DRIVER_PARKED = 1 };

int eddy__driver_init(eddy_driver *d)
{
    d->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (d->epfd < 0)
        return -errno;
    d->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (d->wakefd < 0) {
        int err = errno;
        close(d->epfd);
        return -err;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
    if (epoll_ctl(d->epfd, EPOLL_CTL_ADD, d->wakefd, &ev) != 0) {
        int err = errno;
        close(d->wakefd);
        close(d->epfd);
        return -err;
    }
    atomic_init(&d->state, DRIVER_RUNNING);
    d->sources = 0;
    return 0;
}

void eddy__driver_destroy(eddy_driver *d)
{
    close(d->wakefd);
    close(d->epfd);
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

static void wait_events(eddy_driver *d, int timeout_ms)
{
    struct epoll_event evs[64];
    int n;
    do {
        n = epoll_wait(d->epfd, evs, 64, timeout_ms);
    } while (n < 0 && errno == EINTR && timeout_ms < 0);
    for (int i = 0; i < n; i++) {
        if (evs[i].data.ptr == NULL)
            drain_wakefd(d);
    }
}

void eddy__driver_park(eddy_driver *d, int timeout_ms)
{
    wait_events(d, timeout_ms);
    atomic_store(&d->state, DRIVER_RUNNING);
}

void eddy__driver_poll(eddy_driver *d)
{
    if (d->sources)
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
