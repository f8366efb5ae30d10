/* The driver a scheduler parks in: for now an epoll instance with an
 * eventfd that other threads write to unpark the owner. The time and I/O
 * drivers register with the same epoll instance, so that one wait covers
 * timers, readiness and remote wake-ups alike. Linux-specific code stays
 * behind this interface (kqueue would slot in beside it). */
#ifndef EDDY_DRIVER_PARK_H
#define EDDY_DRIVER_PARK_H

#include <stdatomic.h>
#include <stdbool.h>

typedef struct eddy_driver {
    int epfd;
    int wakefd;
    atomic_int state; /* DRIVER_RUNNING or DRIVER_PARKED */
    unsigned sources; /* registrations besides the wake fd */
} eddy_driver;

/* 0, or a negative errno (EMFILE, ENFILE, ENOMEM) when the fds cannot be
 * made. */
int eddy__driver_init(eddy_driver *d);
void eddy__driver_destroy(eddy_driver *d);

/* The owner announces it is about to park. After this, it must re-check
 * every queue another thread may push to, then either park or cancel. */
void eddy__driver_prepare_park(eddy_driver *d);
void eddy__driver_cancel_park(eddy_driver *d);

/* Waits for an unpark (or, later, I/O and timers). timeout_ms < 0 waits
 * without limit; 0 only polls. */
void eddy__driver_park(eddy_driver *d, int timeout_ms);

/* Polls for events without blocking; cheap when nothing is registered. */
void eddy__driver_poll(eddy_driver *d);

/* Wakes the owner if it is parked. Any thread. */
void eddy__driver_unpark(eddy_driver *d);

#endif /* EDDY_DRIVER_PARK_H */
