/* LocalRuntime: a current-thread scheduler bound to the thread that made
 * it. Every entry point checks the calling thread first. */
#include <errno.h>
#include <stdlib.h>

#include "rt/rt.h"

static int check_owner(const eddy_local_runtime *rt)
{
    if (!rt)
        return -EINVAL;
    if (rt->owner != eddy__thread()->id)
        return -EPERM;
    return 0;
}

eddy_local_runtime *eddy_local_runtime_new(const eddy_runtime_opts *opts)
{
    if (opts && opts->flavor != EDDY_FLAVOR_DEFAULT &&
        opts->flavor != EDDY_FLAVOR_CURRENT_THREAD) {
        errno = EINVAL; /* a LocalRuntime is current-thread by nature */
        return NULL;
    }
    eddy_sched_config cfg;
    int rc = eddy__config_from_opts(opts, &cfg);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    eddy_local_runtime *rt = malloc(sizeof *rt);
    if (!rt) {
        errno = ENOMEM;
        return NULL;
    }
    rc = eddy__ct_init(&rt->sched, &cfg, true);
    if (rc < 0) {
        free(rt);
        errno = -rc;
        return NULL;
    }
    rt->owner = eddy__thread()->id;
    eddy__sched_own(&rt->sched.base);
    return rt;
}

int eddy__block_on_owned(eddy_ct_sched *s, eddy_task_fn fn, void *arg, void **result)
{
    eddy_task *root = eddy__task_new(NULL, fn, arg);
    if (!root)
        return -errno;
    int rc = s->base.ops->spawn(&s->base, root);
    if (rc < 0) {
        eddy_detach(root);
        eddy__task_cancel_unstarted(root);
        return rc;
    }
    eddy__ct_drive(s, root);
    return eddy__task_take_output(root, result);
}

int eddy_local_runtime_block_on(eddy_local_runtime *rt, eddy_task_fn fn, void *arg,
                                void **result)
{
    int rc = check_owner(rt);
    if (rc < 0)
        return rc;
    if (!fn)
        return -EINVAL;
    if (eddy__thread()->driving)
        return -EBUSY;
    return eddy__block_on_owned(&rt->sched, fn, arg, result);
}

eddy_task *eddy_local_runtime_spawn_local(eddy_local_runtime *rt, eddy_task_fn fn, void *arg)
{
    int rc = check_owner(rt);
    if (rc == 0 && !fn)
        rc = -EINVAL;
    eddy_task *t = rc == 0 ? eddy__task_new(NULL, fn, arg) : NULL;
    if (t && (rc = rt->sched.base.ops->spawn(&rt->sched.base, t)) < 0) {
        eddy_detach(t);
        eddy__task_cancel_unstarted(t);
        t = NULL;
    }
    if (!t && rc < 0)
        errno = -rc;
    return t;
}

eddy_enter_guard *eddy_local_runtime_enter(eddy_local_runtime *rt)
{
    int rc = check_owner(rt);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return eddy__enter(&rt->sched.base, &rt->sched.enter_guards);
}

eddy_handle *eddy_local_runtime_handle(eddy_local_runtime *rt)
{
    int rc = check_owner(rt);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return eddy__handle_new(rt->sched.base.shared);
}

static int end(eddy_local_runtime *rt, eddy_pool_wait how, uint64_t timeout_ms)
{
    int rc = check_owner(rt);
    if (rc < 0)
        return rc;
    if (eddy__thread()->driving || atomic_load(&rt->sched.enter_guards) > 0)
        return -EBUSY;
    eddy__ct_shutdown(&rt->sched);
    rc = eddy__pool_shutdown(&rt->sched.base.shared->pool, how, timeout_ms);
    eddy__ct_destroy(&rt->sched);
    eddy__sched_disown(&rt->sched.base);
    free(rt);
    return rc;
}

int eddy_local_runtime_shutdown_timeout(eddy_local_runtime *rt, uint64_t timeout_ms)
{
    return end(rt, POOL_WAIT_TIMEOUT, timeout_ms);
}

int eddy_local_runtime_shutdown_background(eddy_local_runtime *rt)
{
    return end(rt, POOL_WAIT_NONE, 0);
}

int eddy_local_runtime_free(eddy_local_runtime *rt)
{
    return end(rt, POOL_WAIT_ALL, 0);
}
