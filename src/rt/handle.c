/* Handle: a counted reference to a runtime's shared part, the only runtime
 * object meant for other threads. */
#include <errno.h>
#include <stdlib.h>

#include "rt/rt.h"

eddy_handle *eddy__handle_new(eddy_shared *sh)
{
    eddy_handle *h = malloc(sizeof *h);
    if (!h) {
        errno = ENOMEM;
        return NULL;
    }
    atomic_init(&h->refs, 1);
    h->shared = sh;
    eddy__shared_ref(sh);
    return h;
}

eddy_handle *eddy_handle_clone(eddy_handle *h)
{
    if (h)
        atomic_fetch_add_explicit(&h->refs, 1, memory_order_relaxed);
    return h;
}

void eddy_handle_release(eddy_handle *h)
{
    if (!h || atomic_fetch_sub_explicit(&h->refs, 1, memory_order_acq_rel) != 1)
        return;
    eddy__shared_unref(h->shared);
    free(h);
}

eddy_task *eddy_handle_spawn(eddy_handle *h, eddy_task_fn fn, void *arg)
{
    if (!h || !fn) {
        errno = EINVAL;
        return NULL;
    }
    eddy_task *t = eddy__task_new(NULL, fn, arg);
    if (t)
        eddy__shared_spawn(h->shared, t);
    return t;
}

eddy_task *eddy_handle_spawn_blocking(eddy_handle *h, eddy_task_fn fn, void *arg)
{
    if (!h || !fn) {
        errno = EINVAL;
        return NULL;
    }
    eddy_task *t = eddy__task_new(NULL, fn, arg);
    if (t)
        eddy__pool_spawn(&h->shared->pool, t);
    return t;
}
