/* eddy_local_set_block_on: a current-thread runtime driven on the calling
 * thread, with a LocalSet inside it. */
#include <eddy/local_set.h>
#include <errno.h>

#include "rt/rt.h"

struct set_call {
    eddy_local_set *set;
    eddy_task_fn fn;
    void *arg;
    void *result;
    int rc;
};

static void *run_set(void *arg)
{
    struct set_call *c = arg;
    c->rc = eddy_local_set_run_until(c->set, c->fn, c->arg, &c->result);
    return NULL;
}

int eddy_local_set_block_on(eddy_local_set *set, eddy_runtime *rt, eddy_task_fn fn, void *arg,
                            void **result)
{
    if (!set || !rt || !fn)
        return -EINVAL;
    if (rt->multi)
        return -ENOTSUP;
    struct set_call c = { set, fn, arg, NULL, 0 };
    int rc = eddy_runtime_block_on(rt, run_set, &c, NULL);
    if (rc < 0)
        return rc;
    if (result)
        *result = c.result;
    return c.rc;
}
