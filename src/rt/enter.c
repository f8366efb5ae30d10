/* Enter guards: make a runtime the spawn target of plain code on a thread. */
#include <errno.h>
#include <stdlib.h>

#include "rt/rt.h"

eddy_enter_guard *eddy__enter(eddy_sched *s, atomic_uint *guards)
{
    eddy_enter_guard *g = malloc(sizeof *g);
    if (!g) {
        errno = ENOMEM;
        return NULL;
    }
    eddy_thread *th = eddy__thread();
    g->ctx.sched = s;
    g->ctx.shared = s->shared;
    g->ctx.thread = th->id;
    g->ctx.prev = th->enter;
    g->guards = guards;
    th->enter = &g->ctx;
    atomic_fetch_add(guards, 1);
    return g;
}

int eddy_enter_guard_drop(eddy_enter_guard *g)
{
    if (!g)
        return -EINVAL;
    eddy_thread *th = eddy__thread();
    if (g->ctx.thread != th->id)
        return -EPERM;
    if (th->enter != &g->ctx)
        return -EINVAL;
    th->enter = g->ctx.prev;
    atomic_fetch_sub(g->guards, 1);
    free(g);
    return 0;
}
