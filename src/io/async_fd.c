/* eddy_async_fd: the public face of an I/O source. */
#include <eddy/io.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "driver/io.h"
#include "rt/rt.h"

struct eddy_async_fd {
    eddy_io_source src; /* first: the source's release frees the whole */
    /* Tick of the last readable / writable report. Atomic: tasks on
     * several threads may wait on one fd at once. */
    _Atomic uint64_t tick[2];
};

static void release(eddy_io_source *src)
{
    free((eddy_async_fd *)src);
}

eddy_async_fd *eddy_async_fd_new(int fd)
{
    if (fd < 0) {
        errno = EINVAL;
        return NULL;
    }
    eddy_driver *d = eddy__current_driver();
    if (!d)
        return NULL;
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0))
        return NULL; /* EBADF */
    eddy_async_fd *afd = calloc(1, sizeof *afd);
    if (!afd) {
        errno = ENOMEM;
        return NULL;
    }
    int rc = eddy__io_register(&afd->src, d, fd, release);
    if (rc < 0) {
        free(afd);
        errno = rc == -ECANCELED ? EPERM : -rc;
        return NULL;
    }
    return afd;
}

int eddy_async_fd_fd(const eddy_async_fd *afd)
{
    return afd ? afd->src.fd : -1;
}

int eddy_async_fd_wait(eddy_async_fd *afd, unsigned interest, eddy_instant deadline)
{
    if (!afd || !(interest & (EDDY_IO_READABLE | EDDY_IO_WRITABLE)))
        return -EINVAL;
    eddy_io_event ev;
    int rc = eddy__io_wait(&afd->src, interest, deadline, &ev);
    if (rc < 0)
        return rc;
    if (ev.ready & EDDY_IO_READABLE)
        atomic_store_explicit(&afd->tick[0], ev.tick, memory_order_relaxed);
    if (ev.ready & EDDY_IO_WRITABLE)
        atomic_store_explicit(&afd->tick[1], ev.tick, memory_order_relaxed);
    return (int)ev.ready;
}

void eddy_async_fd_clear(eddy_async_fd *afd, unsigned ready)
{
    if (!afd)
        return;
    if (ready & EDDY_IO_READABLE)
        eddy__io_clear(&afd->src, (eddy_io_event){
            EDDY_IO_READABLE, atomic_load_explicit(&afd->tick[0], memory_order_relaxed) });
    if (ready & EDDY_IO_WRITABLE)
        eddy__io_clear(&afd->src, (eddy_io_event){
            EDDY_IO_WRITABLE, atomic_load_explicit(&afd->tick[1], memory_order_relaxed) });
}

void eddy_async_fd_free(eddy_async_fd *afd)
{
    if (afd)
        eddy__io_close(&afd->src);
}
