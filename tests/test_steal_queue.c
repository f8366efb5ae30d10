/* A multi-thread worker's run queue (sched/steal_queue.h): first in, first
 * out for its owner, half taken by a thief, nothing lost or run twice when
 * both race; and each slot's resume hint (the saved stack pointer a pop
 * prefetches, marked for a task that parked) follows its task, through
 * steals too. */
#include "util.h"

#include "sched/steal_queue.h"

enum { N = 100 };

static eddy_task *tasks_new(int n)
{
    eddy_task *v = calloc((size_t)n, sizeof *v);
    cr_assert_not_null(v);
    for (int i = 0; i < n; i++) {
        /* Every other task has run and so has a saved frame to resume
         * (any address will do: a hint is only ever prefetched); of those,
         * every other one parked rather than yielded. */
        v[i].started = i % 2 == 0;
        v[i].exit = i % 4 == 0 ? TASK_PARKED : TASK_YIELDED;
#ifndef EDDY_CTX_UCONTEXT
        v[i].fiber.ctx.sp = &v[i];
#endif
    }
    return v;
}

/* A task that has not run has no frame; one that yielded resumes at its
 * saved sp; any other (here, one that parked) too, with bit 0 set to ask
 * for the wider fetch of a stack that may have gone cold. */
static const void *expected_hint(const eddy_task *t)
{
    if (!t->started)
        return NULL;
    uintptr_t sp = (uintptr_t)eddy__ctx_sp(&t->fiber.ctx);
    return (const void *)(t->exit == TASK_YIELDED ? sp : sp | 1);
}

static eddy_steal_queue *queue_new(void)
{
    eddy_steal_queue *q = calloc(1, sizeof *q);
    cr_assert_not_null(q);
    eddy__steal_queue_init(q);
    return q;
}

Test(steal_queue, owner_pops_in_order_and_hints_follow_tasks, .timeout = T_TIMEOUT)
{
    eddy_task *v = tasks_new(N);
    eddy_steal_queue *q = queue_new();
    eddy_task_queue overflow = { NULL, NULL };
    for (int i = 0; i < N; i++) {
        cr_assert_not(eddy__steal_queue_push(q, &v[i], &overflow));
        cr_assert_eq(q->hint[i], expected_hint(&v[i]), "hint of slot %d", i);
    }
    cr_assert_eq(eddy__steal_queue_len(q), N);
    for (int i = 0; i < N; i++)
        cr_assert_eq(eddy__steal_queue_pop(q), &v[i], "pop %d", i);
    cr_assert_null(eddy__steal_queue_pop(q));
    free(q);
    free(v);
}

Test(steal_queue, a_steal_takes_half_with_their_hints, .timeout = T_TIMEOUT)
{
    eddy_task *v = tasks_new(N);
    eddy_steal_queue *src = queue_new(), *dst = queue_new();
    eddy_task_queue overflow = { NULL, NULL };
    for (int i = 0; i < N; i++)
        eddy__steal_queue_push(src, &v[i], &overflow);
    eddy_task *run = eddy__steal_queue_steal(src, dst);
    /* The oldest half: 0..48 queued in dst, 49 to run at once. */
    cr_assert_eq(run, &v[N / 2 - 1]);
    cr_assert_eq(eddy__steal_queue_len(dst), N / 2 - 1);
    for (int i = 0; i < N / 2 - 1; i++) {
        cr_assert_eq(dst->hint[i], expected_hint(&v[i]), "stolen slot %d", i);
        cr_assert_eq(eddy__steal_queue_pop(dst), &v[i]);
    }
    for (int i = N / 2; i < N; i++)
        cr_assert_eq(eddy__steal_queue_pop(src), &v[i]);
    free(src);
    free(dst);
    free(v);
}

/* ---- the owner pushes and pops while a thief steals ---- */

enum { RACE_TASKS = 200000 };

static eddy_steal_queue *race_src;
static atomic_bool race_done;
static atomic_int *race_seen;
static eddy_task *race_tasks;

static void seen(eddy_task *t)
{
    atomic_fetch_add(&race_seen[t - race_tasks], 1);
}

static void *thief(void *arg)
{
    eddy_steal_queue *mine = arg;
    while (!atomic_load(&race_done) || eddy__steal_queue_len(race_src) > 0) {
        eddy_task *t = eddy__steal_queue_steal(race_src, mine);
        if (!t) {
            sched_yield();
            continue;
        }
        seen(t);
        while ((t = eddy__steal_queue_pop(mine)))
            seen(t);
    }
    return NULL;
}

Test(steal_queue, owner_and_thief_race_and_each_task_comes_out_once, .timeout = 120)
{
    race_tasks = calloc(RACE_TASKS, sizeof *race_tasks);
    race_seen = calloc(RACE_TASKS, sizeof *race_seen);
    cr_assert(race_tasks && race_seen);
    for (int i = 0; i < RACE_TASKS; i += 3) {
        race_tasks[i].started = true;
#ifndef EDDY_CTX_UCONTEXT
        race_tasks[i].fiber.ctx.sp = &race_tasks[i];
#endif
    }
    race_src = queue_new();
    eddy_steal_queue *thief_ring = queue_new();
    pthread_t th = t_thread_start(thief, thief_ring);
    for (int i = 0; i < RACE_TASKS; i++) {
        eddy_task_queue overflow = { NULL, NULL };
        if (eddy__steal_queue_push(race_src, &race_tasks[i], &overflow))
            for (eddy_task *t; (t = eddy__queue_pop(&overflow));)
                seen(t);
        /* Pop about one in three: the ring fills, wraps and overflows. */
        if (i % 3 == 0) {
            eddy_task *t = eddy__steal_queue_pop(race_src);
            if (t)
                seen(t);
        }
    }
    for (eddy_task *t; (t = eddy__steal_queue_pop(race_src));)
        seen(t);
    atomic_store(&race_done, true);
    t_thread_join(th);
    for (eddy_task *t; (t = eddy__steal_queue_pop(race_src));)
        seen(t);
    for (int i = 0; i < RACE_TASKS; i++)
        cr_assert_eq(atomic_load(&race_seen[i]), 1, "task %d came out %d times", i,
                     atomic_load(&race_seen[i]));
    free(thief_ring);
    free(race_src);
    free(race_seen);
    free(race_tasks);
}
