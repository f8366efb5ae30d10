/* eddy_timeout: a task with a time limit. */
#include <eddy/time.h>
#include <errno.h>

#include "rt/rt.h"

int eddy_timeout(uint64_t ms, eddy_task_fn fn, void *arg, void **result)
{
    if (!fn)
        return -EINVAL;
    if (!eddy__thread_can_wait(eddy__thread()))
        return -ENOMEM;
    eddy_instant deadline = eddy_deadline_in(ms);
    eddy_task *t = eddy_spawn(fn, arg);
    if (!t)
        return -errno;
    int rc = eddy_join_until(t, result, deadline);
    if (rc != -ETIMEDOUT)
        return rc;
    /* Abort it and wait until it has unwound, so that nothing it uses is
     * still in use when this returns. If the caller is aborted meanwhile,
     * the join detaches it instead. */
    eddy_abort(t);
    rc = eddy_join(t, result);
    if (rc == 0) /* it finished just before the abort: keep its result */
        return 0;
    if (eddy_current_task_cancelled())
        return -ECANCELED;
    return rc == -ECANCELED ? -ETIMEDOUT : rc;
}
