/** @file
 * eddy — readiness of any file descriptor (Tokio's AsyncFd).
 *
 * An eddy_async_fd registers a descriptor with the I/O driver of the
 * current runtime (edge-triggered epoll). A task waits for readiness with
 * eddy_async_fd_wait(), tries its operation, and when the operation says
 * EAGAIN, clears the readiness it acted on with eddy_async_fd_clear() and
 * waits again. Readiness carries an event counter internally, so an event
 * that arrives between the failed operation and the clear is never lost.
 *
 * Errors and hang-ups wake every waiter: EDDY_IO_ERROR (EPOLLERR) and
 * EDDY_IO_READ_CLOSED / EDDY_IO_WRITE_CLOSED (peer hang-up) count as ready
 * for both directions they affect, so the next operation reports the
 * error (or end of file) itself.
 */
#ifndef EDDY_IO_H
#define EDDY_IO_H

#include "common.h"
#include "time.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A file descriptor registered with a runtime's I/O driver. */
typedef struct eddy_async_fd eddy_async_fd;

#define EDDY_IO_READABLE     0x01u /**< data (or a connection) can be read */
#define EDDY_IO_WRITABLE     0x02u /**< data can be written */
#define EDDY_IO_READ_CLOSED  0x04u /**< the peer will send nothing more */
#define EDDY_IO_WRITE_CLOSED 0x08u /**< the peer accepts nothing more */
#define EDDY_IO_ERROR        0x10u /**< an error is pending on the fd */

/** Registers fd with the I/O driver of the current runtime context (the
 * calling task's runtime, or the innermost entered one) and makes it
 * non-blocking. The fd stays the caller's: eddy_async_fd_free() does not
 * close it. NULL with errno = EPERM outside a runtime context, EBADF for a
 * bad fd, EINVAL for NULL/negative, ENOMEM, or what epoll_ctl reports (e.g.
 * EPERM for a regular file, which is always ready: use the fs functions). */
EDDY_API eddy_async_fd *eddy_async_fd_new(int fd);

/** The descriptor. -1 for NULL. Any thread. */
EDDY_API int eddy_async_fd_fd(const eddy_async_fd *afd);

/** Waits until the fd is ready for `interest` (EDDY_IO_READABLE and/or
 * EDDY_IO_WRITABLE) or `deadline` passes (EDDY_INSTANT_NEVER: no limit).
 * Returns the ready mask (> 0: the interest bits that are ready, plus any
 * of CLOSED/ERROR), -ETIMEDOUT, -ECANCELED (task aborted, or the runtime
 * shut down), -EINVAL. Suspends a task; blocks a plain thread. Several
 * tasks (on any threads) may wait on one fd at once: an event wakes all
 * whose interest it meets. */
EDDY_API int eddy_async_fd_wait(eddy_async_fd *afd, unsigned interest, eddy_instant deadline);

/** Forgets readiness the caller found stale (its operation said EAGAIN):
 * clears the given bits as last reported by eddy_async_fd_wait, unless a
 * new event arrived since. Any thread. */
EDDY_API void eddy_async_fd_clear(eddy_async_fd *afd, unsigned ready);

/** Deregisters and frees (waiters get -ECANCELED first). Does not close the
 * fd. NULL is ignored. */
EDDY_API void eddy_async_fd_free(eddy_async_fd *afd);

#ifdef __cplusplus
}
#endif

#endif /* EDDY_IO_H */
