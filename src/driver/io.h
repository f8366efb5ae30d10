/* I/O readiness: a registered descriptor (a "source") and the tasks
 * waiting on it. The epoll instance is the scheduler's park driver; events
 * are dispatched by whichever thread polls it, so a source is thread-safe:
 * its readiness is one atomic word (bits + an event tick) and its waiters
 * sit in a list under a small lock.
 *
 * A source holds a reference to its driver. When the runtime ends, it
 * shuts the driver down and fails every source's waits (-ECANCELED) as it
 * cancels their tasks; a source outliving its runtime stays valid memory
 * and reports -ECANCELED from then on. */
#ifndef EDDY_DRIVER_IO_H
#define EDDY_DRIVER_IO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "task/waker.h"

#include "driver/park.h"

typedef struct io_waiter io_waiter;

typedef struct eddy_io_source eddy_io_source;

struct eddy_io_source {
    atomic_size_t refs;             /* the owner, plus each wait in progress */
    void (*release)(eddy_io_source *); /* frees the owning object */
    int fd;
    eddy_driver *driver;
    atomic_uint_fast64_t readiness; /* ready bits (low 16), tick above */
    pthread_mutex_t lock;
    io_waiter *waiters;
    bool closed;                    /* deregistered: waits fail */
    eddy_io_source *deferred_next;  /* in the driver's deferred releases */
};

/* A readiness snapshot: the bits seen and the tick they were seen at. */
typedef struct eddy_io_event {
    unsigned ready;
    uint64_t tick;
} eddy_io_event;

/* Registers fd (already non-blocking) with driver d. On success the
 * source holds one reference (the owner's) and `release` is called when
 * the last one goes. 0 or a negative errno (-ECANCELED when the driver is
 * shut down); nothing to undo on failure. */
int eddy__io_register(eddy_io_source *src, eddy_driver *d, int fd,
                      void (*release)(eddy_io_source *));

/* The owner is done: removes the registration, fails pending waits with
 * -ECANCELED, and drops the owner's reference. A wait still in progress
 * keeps the source's memory valid until it returns. */
void eddy__io_close(eddy_io_source *src);

/* Waits until (ready & interest-derived mask) != 0; fills *ev. 0,
 * -ECANCELED, -ETIMEDOUT. */
int eddy__io_wait(eddy_io_source *src, unsigned interest, uint64_t deadline, eddy_io_event *ev);

/* The readiness now, without waiting: every ready bit, and the tick (0
 * until the driver has reported anything for the source). */
eddy_io_event eddy__io_readiness(eddy_io_source *src);

/* Clears ev.ready's READABLE/WRITABLE bits if no event came since ev. */
void eddy__io_clear(eddy_io_source *src, eddy_io_event ev);

/* Forgets a pending-error indication once a system call has reported the
 * error itself. For sockets whose errors are not final (datagrams: an ICMP
 * error is reported once and the socket works on); stream errors stay. */
void eddy__io_clear_error(eddy_io_source *src);

/* Driver side: an epoll event for src. */
void eddy__io_dispatch(eddy_io_source *src, uint32_t epoll_events);

/* Driver side: drops a reference (the owner's, deferred). */
void eddy__io_unref(eddy_io_source *src);

#endif /* EDDY_DRIVER_IO_H */
