/* Spawning into the current context: the running task's scheduler, or the
 * innermost entered runtime, or (on a blocking-pool thread) the runtime
 * that owns the pool. */
#include <errno.h>

#include "rt/rt.h"

int eddy__current_context(eddy_enter_ctx *out)
{
    eddy_thread *th = eddy__thread();
    if (th->task && th->task->sched) {
        out->sched = th->task->sched;
        out->shared = th->task->sched->shared;
        return 0;
    }
    if (th->enter) {
        *out = *th->enter;
        return 0;
    }
    return -EPERM;
}

/* Hands a new task to sched; on failure drops it and returns NULL with
 * errno set. */
static eddy_task *spawn_on(eddy_sched *sched, eddy_task *t)
{
    int rc = sched->ops->spawn(sched, t);
    if (rc < 0) {
        eddy_detach(t);
        eddy__task_cancel_unstarted(t);
        errno = -rc;
        return NULL;
    }
    return t;
}

eddy_task *eddy_spawn_with(const eddy_spawn_opts *opts, eddy_task_fn fn, void *arg)
{
    if (!fn) {
        errno = EINVAL;
        return NULL;
    }
    eddy_enter_ctx ctx;
    int rc = eddy__current_context(&ctx);
    /* Pinned tasks need a scheduler that can keep them on this thread. */
    if (rc == 0 && opts && opts->local &&
        !(ctx.sched && (ctx.sched = ctx.sched->ops->local_sched(ctx.sched))))
        rc = -EPERM;
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    eddy_task *t = eddy__task_new(opts, fn, arg);
    if (!t)
        return NULL;
    if (!ctx.sched) {
        eddy__shared_spawn(ctx.shared, t);
        return t;
    }
    return spawn_on(ctx.sched, t);
}

eddy_task *eddy_spawn(eddy_task_fn fn, void *arg)
{
    /* The common case first, with nothing to look up or copy: a task
     * spawning onto its own scheduler. */
    eddy_task *cur = eddy__thread()->task;
    if (!fn || !cur || !cur->sched)
        return eddy_spawn_with(NULL, fn, arg);
    eddy_task *t = eddy__task_new(NULL, fn, arg);
    return t ? spawn_on(cur->sched, t) : NULL;
}

eddy_task *eddy_spawn_local(eddy_task_fn fn, void *arg)
{
    eddy_spawn_opts opts = { .local = true };
    return eddy_spawn_with(&opts, fn, arg);
}

eddy_task *eddy_spawn_blocking(eddy_task_fn fn, void *arg)
{
    if (!fn) {
        errno = EINVAL;
        return NULL;
    }
    eddy_enter_ctx ctx;
    int rc = eddy__current_context(&ctx);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    eddy_task *t = eddy__task_new(NULL, fn, arg);
    if (t)
        eddy__pool_spawn(&ctx.shared->pool, t);
    return t;
}

eddy_driver *eddy__current_driver(void)
{
    eddy_enter_ctx ctx;
    int rc = eddy__current_context(&ctx);
    if (rc < 0) {
        errno = -rc;
        return NULL;
    }
    return ctx.shared->driver;
}
