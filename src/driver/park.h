/* The driver a scheduler parks in: an epoll instance with an eventfd that
 * other threads write to unpark the owner. I/O sources (driver/io.h)
 * register with the same epoll instance, and the time driver gives the
 * park its timeout, so one wait covers timers, readiness and remote wakes.
 * Linux-specific code stays behind this interface (kqueue would slot in
 * beside it).
 *
 * The driver is counted: its runtime holds a reference, and so does every
 * I/O source, which may outlive the runtime. eddy__driver_shutdown() closes
 * the epoll instance under the driver's lock; from then on registrations
 * fail and deregistrations do nothing. */
#ifndef EDDY_DRIVER_PARK_H
#define EDDY_DRIVER_PARK_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

typedef struct eddy_driver {
    atomic_size_t refs;
    int epfd;
    int wakefd;
    atomic_int state;        /* DRIVER_RUNNING or DRIVER_PARKED */
    atomic_uint sources;     /* I/O registrations */
    pthread_mutex_t lock;    /* guards registration against shutdown, and
                                the deferred releases */
    atomic_bool shut_down;
    atomic_bool polling;     /* a thread is in epoll_wait or dispatching */
    struct eddy_io_source *deferred; /* closed while polling: released after */
} eddy_driver;

/* A new driver with one reference; NULL with errno (EMFILE, ENFILE,
 * ENOMEM) when its fds cannot be made. */
eddy_driver *eddy__driver_new(void);
void eddy__driver_ref(eddy_driver *d);
void eddy__driver_unref(eddy_driver *d);

/* Closes the epoll instance (the runtime is ending). */
void eddy__driver_shutdown(eddy_driver *d);

/* The owner announces it is about to park. After this, it must re-check
 * every queue another thread may push to, then either park or cancel. */
void eddy__driver_prepare_park(eddy_driver *d);
void eddy__driver_cancel_park(eddy_driver *d);

/* Waits for an unpark or I/O events, dispatching them. timeout_ms < 0
 * waits without limit; 0 only polls. */
void eddy__driver_park(eddy_driver *d, int timeout_ms);

/* Polls for I/O events without blocking; no system call when nothing is
 * registered. */
void eddy__driver_poll(eddy_driver *d);

/* Wakes the owner if it is parked. Any thread. */
void eddy__driver_unpark(eddy_driver *d);

/* Registration of an I/O source (driver/io.c): 0 or a negative errno;
 * -ECANCELED once the driver is shut down. */
static inline bool eddy__driver_is_shut_down(eddy_driver *d)
{
    return atomic_load_explicit(&d->shut_down, memory_order_acquire);
}

int eddy__driver_add(eddy_driver *d, int fd, void *source);
void eddy__driver_del(eddy_driver *d, int fd);

/* Drops the owner's reference to a closed source, after any dispatch in
 * progress on another thread (which may still hold the source's address
 * from epoll) has finished. */
void eddy__driver_release(eddy_driver *d, struct eddy_io_source *src);

#endif /* EDDY_DRIVER_PARK_H */
