/* The runtime's shared (inject) queue: a worker's share is split off
 * outside the lock, and what it leaves goes back in front, so the queue
 * stays first in, first out and loses nothing to pushes made meanwhile. */
#include "util.h"

#include <pthread.h>

#include "driver/park.h"
#include "sched/shared.h"

/* Queue entries: only the run-queue link of a task is used here. */
#define N 300

static eddy_shared *shared_new(void)
{
    eddy_sched_config cfg = { .max_blocking_threads = 1 };
    eddy_driver *d = eddy__driver_new();
    cr_assert_not_null(d);
    eddy_shared *sh = eddy__shared_new(&cfg, NULL, d);
    cr_assert_not_null(sh);
    eddy__driver_unref(d); /* the shared part holds its own reference */
    return sh;
}

static eddy_task_queue batch_of(eddy_task *v, int from, int to)
{
    eddy_task_queue q = { NULL, NULL };
    for (int i = from; i < to; i++)
        eddy__queue_push(&q, &v[i]);
    return q;
}

Test(shared_queue, share_is_taken_in_order_and_the_rest_stays_in_order, .timeout = T_TIMEOUT)
{
    eddy_shared *sh = shared_new();
    eddy_task *v = calloc(N, sizeof *v);
    cr_assert_not_null(v);
    eddy_task_queue b = batch_of(v, 0, N);
    eddy__shared_push_batch(sh, &b);

    /* Two ways: half the queue plus one, but at most 128. */
    eddy_task_queue rest = { NULL, NULL };
    eddy_task *first = eddy__shared_pop_share(sh, 2, 128, &rest);
    cr_assert_eq(first, &v[0]);
    cr_assert_null(first->next);
    int i = 1;
    for (eddy_task *t; (t = eddy__queue_pop(&rest)); i++)
        cr_assert_eq(t, &v[i], "share: task %d out of order", i);
    cr_assert_eq(i, 128);

    /* A push after the split goes behind what was left. */
    eddy_task extra = { 0 };
    eddy__shared_push(sh, &extra);
    for (; i < N; i++)
        cr_assert_eq(eddy__shared_pop(sh), &v[i], "left: task %d out of order", i);
    cr_assert_eq(eddy__shared_pop(sh), &extra);
    cr_assert_null(eddy__shared_pop(sh));
    cr_assert_not(eddy__shared_has_work(sh));

    /* A small queue: one task is a share of its own. */
    eddy__shared_push(sh, &v[0]);
    rest = (eddy_task_queue){ NULL, NULL };
    cr_assert_eq(eddy__shared_pop_share(sh, 2, 128, &rest), &v[0]);
    cr_assert(eddy__queue_empty(&rest));
    cr_assert_null(eddy__shared_pop_share(sh, 2, 128, &rest));

    eddy__shared_unref(sh);
    free(v);
}

/* One thread pushes batches while another takes shares: every task comes
 * out once, in the order it went in. */
#define ROUNDS 2000
#define BATCH 7

static eddy_shared *racing;
static eddy_task *racing_tasks;

static void *pusher(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        eddy_task_queue b = batch_of(racing_tasks, r * BATCH, (r + 1) * BATCH);
        eddy__shared_push_batch(racing, &b);
    }
    return NULL;
}

Test(shared_queue, shares_taken_during_pushes_lose_nothing, .timeout = T_TIMEOUT)
{
    racing = shared_new();
    racing_tasks = calloc(ROUNDS * BATCH, sizeof *racing_tasks);
    cr_assert_not_null(racing_tasks);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, pusher, NULL), 0);
    int next = 0;
    while (next < ROUNDS * BATCH) {
        eddy_task_queue rest = { NULL, NULL };
        eddy_task *t = eddy__shared_pop_share(racing, 2, 16, &rest);
        if (!t)
            continue;
        do {
            cr_assert_eq(t, &racing_tasks[next], "task %d out of order", next);
            next++;
        } while ((t = eddy__queue_pop(&rest)));
    }
    pthread_join(th, NULL);
    cr_assert_null(eddy__shared_pop(racing));
    eddy__shared_unref(racing);
    free(racing_tasks);
}
