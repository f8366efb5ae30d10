/* eddy_strerror: what each code means in eddy's terms. */
#include <eddy/common.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

const char *eddy_strerror(int err)
{
    if (err == INT_MIN) /* no positive counterpart, and no errno either */
        return "unknown error";
    if (err < 0)
        err = -err;
    switch (err) {
    case 0:
        return "success";
    case ECANCELED:
        return "cancelled: the task was aborted or its runtime shut down";
    case ETIMEDOUT:
        return "timed out: the deadline passed first";
    case EPERM:
        return "not permitted here: wrong thread or no runtime context "
               "(a thread-bound call from another thread, or spawn_local "
               "outside a local context)";
    case EBUSY:
        return "busy: in use (a nested block_on, a runtime ended from its "
               "own task, or a primitive freed while held or waited on)";
    case EDEADLK:
        return "would deadlock: waiting here would block the thread that "
               "must make progress";
    case EINVAL:
        return "invalid argument";
    case ENOMEM:
        return "out of memory, or no stack could be mapped "
               "(see vm.max_map_count)";
    case ENOENT:
        return "not found: no such file or directory (or, from a JoinSet, "
               "nothing left to join)";
    case ENODATA:
        return "end of stream before the requested number of bytes";
    case ENXIO:
        return "no such host: the name does not resolve";
    case EPIPE:
        return "closed: the peer, the other end of the channel, or the "
               "primitive is gone or closed";
    case EOVERFLOW:
        return "overflow: a broadcast receiver lagged and missed values "
               "(or a count went past its maximum)";
    case ECONNRESET:
        return "connection reset by the peer";
    case EMFILE:
        return "too many open files in this process (RLIMIT_NOFILE)";
    case EAGAIN:
        return "try again: the operation would block or a resource is "
               "temporarily exhausted";
    case ENOTSUP:
        return "not supported (yet) by this build of eddy";
    default:
        return strerror(err);
    }
}

const char *eddy_version(void)
{
#define EDDY_STR2(x) #x
#define EDDY_STR(x) EDDY_STR2(x)
    return EDDY_STR(EDDY_VERSION_MAJOR) "." EDDY_STR(EDDY_VERSION_MINOR) "." EDDY_STR(
        EDDY_VERSION_PATCH);
}
