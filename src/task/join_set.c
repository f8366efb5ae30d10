/* JoinSet: tasks joined in the order they finish.
 *
 * Each member task gets the set as its join waker; when it completes, the
 * waker moves it from the pending list to the ready queue and wakes
 * whoever waits in join_next. The set is counted: one reference for the
 * set itself and one per registered member waker, so that a member that
 * completes while the set is being freed still finds it valid. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include <eddy/rt.h>

#include "task/task.h"
#include "task/thread.h"

typedef struct member {
    eddy_task *task;
    struct eddy_join_set *set;
    struct member *prev, *next; /* pending list, or ready queue (next only) */
} member;

struct eddy_join_set {
    pthread_mutex_t lock;
    member *pending;
    member *ready_head, *ready_tail;
    size_t len;
    eddy_waker waiter;
    atomic_size_t refs;
    bool dead;
};

static void set_unref(eddy_join_set *set)
{
    if (atomic_fetch_sub_explicit(&set->refs, 1, memory_order_acq_rel) != 1)
        return;
    pthread_mutex_destroy(&set->lock);
    free(set);
}

static void unlink_pending(eddy_join_set *set, member *m)
{
    if (m->prev)
        m->prev->next = m->next;
    else
        set->pending = m->next;
    if (m->next)
        m->next->prev = m->prev;
    m->prev = m->next = NULL;
}

static void push_ready(eddy_join_set *set, member *m)
{
    unlink_pending(set, m);
    if (set->ready_tail)
        set->ready_tail->next = m;
    else
        set->ready_head = m;
    set->ready_tail = m;
}

static member *pop_ready(eddy_join_set *set)
{
    member *m = set->ready_head;
    if (m) {
        set->ready_head = m->next;
        if (!set->ready_head)
            set->ready_tail = NULL;
        m->next = NULL;
    }
    return m;
}

static void member_wake(void *data)
{
    member *m = data;
    eddy_join_set *set = m->set;
    eddy_waker waiter = { NULL, NULL };
    pthread_mutex_lock(&set->lock);
    if (set->dead) {
        pthread_mutex_unlock(&set->lock);
        eddy_detach(m->task);
        free(m);
    } else {
        push_ready(set, m);
        waiter = set->waiter;
        set->waiter.vt = NULL;
        pthread_mutex_unlock(&set->lock);
    }
    eddy__waker_wake(waiter);
    set_unref(set);
}

static void member_drop(void *data)
{
    set_unref(((member *)data)->set);
}

static const eddy_waker_vtable member_vt = { member_wake, member_drop };

eddy_join_set *eddy_join_set_new(void)
{
    eddy_join_set *set = calloc(1, sizeof *set);
    if (!set) {
        errno = ENOMEM;
        return NULL;
    }
    pthread_mutex_init(&set->lock, NULL);
    atomic_init(&set->refs, 1);
    return set;
}

int eddy_join_set_add(eddy_join_set *set, eddy_task *t)
{
    if (!set || !t)
        return -EINVAL;
    member *m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->task = t;
    m->set = set;
    pthread_mutex_lock(&set->lock);
    m->next = set->pending;
    if (m->next)
        m->next->prev = m;
    set->pending = m;
    set->len++;
    pthread_mutex_unlock(&set->lock);

    atomic_fetch_add_explicit(&set->refs, 1, memory_order_relaxed);
    eddy_waker w = { &member_vt, m };
    if (!eddy__task_set_join_waker(t, w)) {
        /* Already finished (the waker was dropped): ready at once. */
        pthread_mutex_lock(&set->lock);
        push_ready(set, m);
        pthread_mutex_unlock(&set->lock);
    }
    return 0;
}

int64_t eddy_join_set_spawn(eddy_join_set *set, const eddy_spawn_opts *opts,
                            eddy_task_fn fn, void *arg)
{
    if (!set)
        return -EINVAL;
    eddy_task *t = eddy_spawn_with(opts, fn, arg);
    if (!t)
        return -errno;
    uint64_t id = t->id;
    int rc = eddy_join_set_add(set, t);
    if (rc < 0) {
        eddy_abort(t);
        eddy_detach(t);
        return rc;
    }
    return (int64_t)id;
}

/* A plain thread must not block on tasks it has to drive itself. */
static bool join_next_would_deadlock(eddy_join_set *set)
{
    eddy_thread *th = eddy__thread();
    if (th->task)
        return false;
    for (member *m = set->pending; m; m = m->next) {
        eddy_sched *s = eddy__task_sched_peek(m->task);
        if (s && eddy__thread_owns(th, s))
            return true;
    }
    return false;
}

int eddy_join_set_join_next(eddy_join_set *set, void **result, uint64_t *id)
{
    if (!set)
        return -EINVAL;
    pthread_mutex_lock(&set->lock);
    for (;;) {
        member *m = pop_ready(set);
        if (m) {
            set->len--;
            eddy_waker stale = set->waiter;
            set->waiter.vt = NULL;
            pthread_mutex_unlock(&set->lock);
            eddy__waker_drop(stale);
            if (id)
                *id = m->task->id;
            int rc = eddy__task_take_output(m->task, result);
            free(m);
            return rc;
        }
        if (set->len == 0) {
            pthread_mutex_unlock(&set->lock);
            return -ENOENT;
        }
        if (join_next_would_deadlock(set)) {
            pthread_mutex_unlock(&set->lock);
            return -EDEADLK;
        }
        eddy_waker me = eddy__waker_current();
        if (!eddy__waker_is_set(me)) {
            pthread_mutex_unlock(&set->lock);
            return -ENOMEM;
        }
        eddy_waker old = set->waiter;
        set->waiter = me;
        pthread_mutex_unlock(&set->lock);
        eddy__waker_drop(old);
        int rc = eddy__wait_current();
        pthread_mutex_lock(&set->lock);
        if (rc < 0) {
            eddy_waker mine = set->waiter;
            set->waiter.vt = NULL;
            pthread_mutex_unlock(&set->lock);
            eddy__waker_drop(mine);
            return rc;
        }
    }
}

size_t eddy_join_set_len(const eddy_join_set *cset)
{
    if (!cset)
        return 0;
    eddy_join_set *set = (eddy_join_set *)cset;
    pthread_mutex_lock(&set->lock);
    size_t len = set->len;
    pthread_mutex_unlock(&set->lock);
    return len;
}

void eddy_join_set_abort_all(eddy_join_set *set)
{
    if (!set)
        return;
    pthread_mutex_lock(&set->lock);
    for (member *m = set->pending; m; m = m->next)
        eddy_abort(m->task);
    pthread_mutex_unlock(&set->lock);
}

void eddy_join_set_free(eddy_join_set *set)
{
    if (!set)
        return;
    pthread_mutex_lock(&set->lock);
    set->dead = true;
    member *m = set->pending;
    while (m) {
        member *next = m->next;
        eddy_abort(m->task);
        /* If the task completes first, its waker finds the set dead and
         * detaches it then. */
        if (eddy__task_unset_join_waker(m->task)) {
            unlink_pending(set, m);
            eddy_detach(m->task);
            free(m);
        }
        m = next;
    }
    while ((m = pop_ready(set))) {
        eddy_detach(m->task);
        free(m);
    }
    eddy_waker waiter = set->waiter;
    set->waiter.vt = NULL;
    pthread_mutex_unlock(&set->lock);
    eddy__waker_drop(waiter);
    set_unref(set);
}
