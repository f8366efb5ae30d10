/* The LOCAL flavor belongs to its creating thread: every function of every
 * primitive, called from another thread, refuses with -EPERM (or NULL with
 * errno = EPERM) and changes nothing; the owner then still uses it
 * normally, from plain code and from tasks. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

static eddy_channel_opts local_opts = { .flavor = EDDY_SYNC_LOCAL };

static struct {
    eddy_oneshot_tx *os_tx;
    eddy_oneshot_rx *os_rx;
    eddy_mpsc_tx *mp_tx;
    eddy_mpsc_rx *mp_rx;
    eddy_watch_tx *w_tx;
    eddy_watch_rx *w_rx;
    eddy_broadcast_tx *b_tx;
    eddy_broadcast_rx *b_rx;
    eddy_notify *n;
    eddy_semaphore *s;
    eddy_mutex *m;
    eddy_rwlock *rw;
    eddy_barrier *bar;
} P;

static void make_all(void)
{
    cr_assert_eq(eddy_oneshot_channel(&local_opts, &P.os_tx, &P.os_rx), 0);
    cr_assert_eq(eddy_mpsc_channel(&local_opts, 2, &P.mp_tx, &P.mp_rx), 0);
    cr_assert_eq(eddy_watch_channel(&local_opts, NULL, &P.w_tx, &P.w_rx), 0);
    cr_assert_eq(eddy_broadcast_channel(&local_opts, 2, &P.b_tx, &P.b_rx), 0);
    cr_assert_not_null(P.n = eddy_notify_new(EDDY_SYNC_LOCAL));
    cr_assert_not_null(P.s = eddy_semaphore_new(EDDY_SYNC_LOCAL, 1));
    cr_assert_not_null(P.m = eddy_mutex_new(EDDY_SYNC_LOCAL));
    cr_assert_not_null(P.rw = eddy_rwlock_new(EDDY_SYNC_LOCAL));
    cr_assert_not_null(P.bar = eddy_barrier_new(EDDY_SYNC_LOCAL, 1));
}

/* Counts calls that did not refuse. */
static int accepted, calls;
static char what[2048];

static void refused_rc(const char *name, long rc)
{
    calls++;
    if (rc != -EPERM) {
        accepted++;
        size_t l = strlen(what);
        snprintf(what + l, sizeof what - l, " %s=%ld", name, rc);
    }
}

static void refused_ptr(const char *name, const void *p)
{
    calls++;
    if (p || errno != EPERM) {
        accepted++;
        size_t l = strlen(what);
        snprintf(what + l, sizeof what - l, " %s=%p/%d", name, p, errno);
    }
}

#define RC(call) refused_rc(#call, (long)(call))
#define PTR(call) (errno = 0, refused_ptr(#call, (call)))

static void *foreign(void *arg)
{
    (void)arg;
    void *v = NULL;
    uint64_t u = 0;
    eddy_instant soon = eddy_deadline_in(1);

    RC(eddy_oneshot_send(P.os_tx, &v));
    RC(eddy_oneshot_tx_release(P.os_tx));
    RC(eddy_oneshot_tx_is_closed(P.os_tx));
    RC(eddy_oneshot_tx_closed(P.os_tx));
    RC(eddy_oneshot_tx_closed_until(P.os_tx, soon));
    RC(eddy_oneshot_recv(P.os_rx, &v));
    RC(eddy_oneshot_recv_until(P.os_rx, &v, soon));
    RC(eddy_oneshot_try_recv(P.os_rx, &v));
    RC(eddy_oneshot_rx_close(P.os_rx));
    RC(eddy_oneshot_rx_release(P.os_rx));

    RC(eddy_mpsc_send(P.mp_tx, &v));
    RC(eddy_mpsc_send_until(P.mp_tx, &v, soon));
    RC(eddy_mpsc_try_send(P.mp_tx, &v));
    PTR(eddy_mpsc_tx_clone(P.mp_tx));
    RC(eddy_mpsc_tx_release(P.mp_tx));
    RC(eddy_mpsc_tx_is_closed(P.mp_tx));
    RC(eddy_mpsc_tx_closed(P.mp_tx));
    RC(eddy_mpsc_tx_closed_until(P.mp_tx, soon));
    RC(eddy_mpsc_recv(P.mp_rx, &v));
    RC(eddy_mpsc_recv_until(P.mp_rx, &v, soon));
    RC(eddy_mpsc_try_recv(P.mp_rx, &v));
    RC(eddy_mpsc_recv_many(P.mp_rx, &v, 1));
    RC(eddy_mpsc_recv_many_until(P.mp_rx, &v, 1, soon));
    RC(eddy_mpsc_rx_len(P.mp_rx));
    RC(eddy_mpsc_rx_close(P.mp_rx));
    RC(eddy_mpsc_rx_release(P.mp_rx));

    RC(eddy_watch_send(P.w_tx, &v));
    PTR(eddy_watch_tx_subscribe(P.w_tx));
    RC(eddy_watch_tx_receiver_count(P.w_tx));
    RC(eddy_watch_tx_closed(P.w_tx));
    RC(eddy_watch_tx_closed_until(P.w_tx, soon));
    RC(eddy_watch_tx_release(P.w_tx));
    RC(eddy_watch_borrow(P.w_rx, &v));
    RC(eddy_watch_borrow_and_update(P.w_rx, &v));
    RC(eddy_watch_has_changed(P.w_rx));
    RC(eddy_watch_changed(P.w_rx));
    RC(eddy_watch_changed_until(P.w_rx, soon));
    PTR(eddy_watch_rx_clone(P.w_rx));
    RC(eddy_watch_rx_release(P.w_rx));

    RC(eddy_broadcast_send(P.b_tx, &v));
    PTR(eddy_broadcast_tx_clone(P.b_tx));
    PTR(eddy_broadcast_tx_subscribe(P.b_tx));
    RC(eddy_broadcast_tx_release(P.b_tx));
    RC(eddy_broadcast_recv(P.b_rx, &v, &u));
    RC(eddy_broadcast_recv_until(P.b_rx, &v, &u, soon));
    RC(eddy_broadcast_try_recv(P.b_rx, &v, &u));
    PTR(eddy_broadcast_rx_resubscribe(P.b_rx));
    RC(eddy_broadcast_rx_release(P.b_rx));

    RC(eddy_notify_one(P.n));
    RC(eddy_notify_waiters(P.n));
    RC(eddy_notify_wait(P.n));
    RC(eddy_notify_wait_until(P.n, soon));
    RC(eddy_notify_epoch(P.n, &u));
    RC(eddy_notify_wait_since(P.n, 0));
    RC(eddy_notify_wait_since_until(P.n, 0, soon));
    RC(eddy_notify_free(P.n));

    RC(eddy_semaphore_acquire(P.s, 1));
    RC(eddy_semaphore_acquire_until(P.s, 1, soon));
    RC(eddy_semaphore_try_acquire(P.s, 1));
    RC(eddy_semaphore_release(P.s, 1));
    RC(eddy_semaphore_close(P.s));
    RC(eddy_semaphore_is_closed(P.s));
    RC(eddy_semaphore_available(P.s));
    RC(eddy_semaphore_free(P.s));

    RC(eddy_mutex_lock(P.m));
    RC(eddy_mutex_lock_until(P.m, soon));
    RC(eddy_mutex_try_lock(P.m));
    RC(eddy_mutex_unlock(P.m));
    RC(eddy_mutex_free(P.m));

    RC(eddy_rwlock_read(P.rw));
    RC(eddy_rwlock_read_until(P.rw, soon));
    RC(eddy_rwlock_try_read(P.rw));
    RC(eddy_rwlock_read_unlock(P.rw));
    RC(eddy_rwlock_write(P.rw));
    RC(eddy_rwlock_write_until(P.rw, soon));
    RC(eddy_rwlock_try_write(P.rw));
    RC(eddy_rwlock_write_unlock(P.rw));
    RC(eddy_rwlock_free(P.rw));

    RC(eddy_barrier_wait(P.bar));
    RC(eddy_barrier_wait_until(P.bar, soon));
    RC(eddy_barrier_free(P.bar));
    return NULL;
}

/* The owner: everything still works (and was not changed by the foreign
 * calls: the semaphore still has its one permit, the mutex is unlocked,
 * no value was sent...). */
static void *owner_uses_all(void *arg)
{
    (void)arg;
    void *v = &v, *out = NULL;
    uint64_t u;
    cr_expect_eq(eddy_oneshot_try_recv(P.os_rx, &out), -EAGAIN, "a foreign send went through");
    cr_expect_eq(eddy_oneshot_send(P.os_tx, &v), 0);
    cr_expect_eq(eddy_oneshot_recv(P.os_rx, &out), 0);
    cr_expect_eq(out, &v);
    cr_expect_eq(eddy_oneshot_rx_release(P.os_rx), 0);

    cr_expect_eq(eddy_mpsc_rx_len(P.mp_rx), 0);
    cr_expect_eq(eddy_mpsc_send(P.mp_tx, &v), 0);
    cr_expect_eq(eddy_mpsc_recv(P.mp_rx, &out), 0);
    cr_expect_eq(eddy_mpsc_tx_release(P.mp_tx), 0);
    cr_expect_eq(eddy_mpsc_recv(P.mp_rx, &out), -EPIPE, "the foreign clone counted");
    cr_expect_eq(eddy_mpsc_rx_release(P.mp_rx), 0);

    cr_expect_eq(eddy_watch_has_changed(P.w_rx), 0);
    cr_expect_eq(eddy_watch_tx_receiver_count(P.w_tx), 1);
    cr_expect_eq(eddy_watch_send(P.w_tx, &v), 0);
    cr_expect_eq(eddy_watch_changed(P.w_rx), 0);
    cr_expect_eq(eddy_watch_tx_release(P.w_tx), 0);
    cr_expect_eq(eddy_watch_rx_release(P.w_rx), 0);

    cr_expect_eq(eddy_broadcast_send(P.b_tx, &v), 1, "a foreign subscribe counted");
    cr_expect_eq(eddy_broadcast_recv(P.b_rx, &out, &u), 0);
    cr_expect_eq(eddy_broadcast_tx_release(P.b_tx), 0);
    cr_expect_eq(eddy_broadcast_recv(P.b_rx, &out, &u), -EPIPE);
    cr_expect_eq(eddy_broadcast_rx_release(P.b_rx), 0);

    cr_expect_eq(eddy_notify_wait_until(P.n, eddy_deadline_in(1)), -ETIMEDOUT,
                 "a foreign notify_one stored a permit");
    cr_expect_eq(eddy_notify_free(P.n), 0);

    cr_expect_eq(eddy_semaphore_available(P.s), 1);
    cr_expect_eq(eddy_semaphore_acquire(P.s, 1), 0);
    cr_expect_eq(eddy_semaphore_release(P.s, 1), 0);
    cr_expect_eq(eddy_semaphore_free(P.s), 0);

    cr_expect_eq(eddy_mutex_lock(P.m), 0);
    cr_expect_eq(eddy_mutex_unlock(P.m), 0);
    cr_expect_eq(eddy_mutex_free(P.m), 0);

    cr_expect_eq(eddy_rwlock_write(P.rw), 0);
    cr_expect_eq(eddy_rwlock_write_unlock(P.rw), 0);
    cr_expect_eq(eddy_rwlock_free(P.rw), 0);

    cr_expect_eq(eddy_barrier_wait(P.bar), 1);
    cr_expect_eq(eddy_barrier_free(P.bar), 0);
    return NULL;
}

Test(sync_affinity, local_flavor_refuses_other_threads, .timeout = T_TIMEOUT)
{
    make_all();
    pthread_t th = t_thread_start(foreign, NULL);
    t_thread_join(th);
    cr_assert_eq(accepted, 0, "%d of %d foreign calls were accepted:%s", accepted, calls, what);
    cr_assert_gt(calls, 80);
    t_run_local(owner_uses_all, NULL);
}

/* The same with values waiting, where the owner's receives take a
 * shorter path: a foreign receive still refuses and takes nothing. */
static void *foreign_receives(void *arg)
{
    (void)arg;
    void *v = NULL;
    RC(eddy_oneshot_recv(P.os_rx, &v));
    RC(eddy_oneshot_try_recv(P.os_rx, &v));
    RC(eddy_oneshot_rx_release(P.os_rx));
    RC(eddy_mpsc_recv(P.mp_rx, &v));
    RC(eddy_mpsc_try_recv(P.mp_rx, &v));
    RC(eddy_mpsc_send(P.mp_tx, &v));
    return NULL;
}

Test(sync_affinity, local_flavor_refuses_other_threads_with_values_waiting,
     .timeout = T_TIMEOUT)
{
    cr_assert_eq(eddy_oneshot_channel(&local_opts, &P.os_tx, &P.os_rx), 0);
    cr_assert_eq(eddy_mpsc_channel(&local_opts, 2, &P.mp_tx, &P.mp_rx), 0);
    void *v = &v, *out = NULL;
    cr_assert_eq(eddy_oneshot_send(P.os_tx, &v), 0);
    cr_assert_eq(eddy_mpsc_send(P.mp_tx, &v), 0); /* room for one more */
    pthread_t th = t_thread_start(foreign_receives, NULL);
    t_thread_join(th);
    cr_assert_eq(accepted, 0, "%d of %d foreign calls were accepted:%s", accepted, calls, what);
    cr_assert_eq(eddy_oneshot_try_recv(P.os_rx, &out), 0, "a foreign receive took the value");
    cr_assert_eq(out, &v);
    cr_assert_eq(eddy_oneshot_rx_release(P.os_rx), 0);
    cr_assert_eq(eddy_mpsc_rx_len(P.mp_rx), 1);
    cr_assert_eq(eddy_mpsc_try_recv(P.mp_rx, &out), 0);
    cr_assert_eq(eddy_mpsc_tx_release(P.mp_tx), 0);
    cr_assert_eq(eddy_mpsc_rx_release(P.mp_rx), 0);
}

/* The same from a task of another thread's LocalRuntime. */
static void *foreign_rt(void *arg)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    if (!rt)
        return T_PTR(-1);
    eddy_local_runtime_block_on(rt, foreign, arg, NULL);
    eddy_local_runtime_free(rt);
    return NULL;
}

Test(sync_affinity, local_flavor_refuses_other_runtime_tasks, .timeout = T_TIMEOUT)
{
    make_all();
    pthread_t th = t_thread_start(foreign_rt, NULL);
    cr_assert_null(t_thread_join(th));
    cr_assert_eq(accepted, 0, "%d of %d foreign calls were accepted:%s", accepted, calls, what);
    t_run_local(owner_uses_all, NULL);
}

/* Created inside the owner's runtime, by a task: owned by that thread. */
static void *make_in_task(void *arg)
{
    (void)arg;
    make_all();
    return NULL;
}

Test(sync_affinity, created_in_a_task, .timeout = T_TIMEOUT)
{
    eddy_local_runtime *rt = t_local_rt();
    t_block_on(rt, make_in_task, NULL);
    pthread_t th = t_thread_start(foreign, NULL);
    t_thread_join(th);
    cr_assert_eq(accepted, 0, "%d foreign calls were accepted:%s", accepted, what);
    t_block_on(rt, owner_uses_all, NULL);
    t_free_rt(rt);
}

/* The SHARED flavor, for contrast, is usable from anywhere. */
static eddy_mutex *shared_m;

static void *foreign_locks(void *arg)
{
    (void)arg;
    int rc = eddy_mutex_lock(shared_m);
    if (rc == 0)
        rc = eddy_mutex_unlock(shared_m);
    return T_PTR(rc);
}

Test(sync_affinity, shared_flavor_is_not_bound, .timeout = T_TIMEOUT)
{
    shared_m = eddy_mutex_new(EDDY_SYNC_SHARED);
    pthread_t th = t_thread_start(foreign_locks, NULL);
    cr_assert_eq(T_INT(t_thread_join(th)), 0);
    cr_assert_eq(eddy_mutex_free(shared_m), 0);
}

/* ---- multi-thread runtime: LOCAL waits need a task pinned to the owner ---- */

static eddy_semaphore *mt_sem;

static void *pinned_waits(void *arg)
{
    (void)arg;
    /* Pinned to the owner's worker: may wait (and time out). */
    int rc = eddy_semaphore_acquire_until(mt_sem, 1, eddy_deadline_in(2));
    int freed = eddy_semaphore_free(mt_sem);
    return T_PTR(rc == -ETIMEDOUT && freed == 0 ? 0 : rc ? rc : -1);
}

static void *migratable_root(void *arg)
{
    (void)arg;
    /* A migratable task: create a LOCAL semaphore (owned by this worker),
     * then, still on it (nothing suspended), try to wait on it. */
    mt_sem = eddy_semaphore_new(EDDY_SYNC_LOCAL, 0);
    if (!mt_sem)
        return T_PTR(-100);
    eddy_task *p = eddy_spawn_local(pinned_waits, NULL);
    if (!p)
        return T_PTR(-101);
    int wait_rc = eddy_semaphore_acquire(mt_sem, 1); /* would wait: refused */
    int try_rc = eddy_semaphore_try_acquire(mt_sem, 1); /* no wait: fine */
    void *res = NULL;
    int jrc = eddy_join(p, &res);
    if (wait_rc != -EPERM)
        return T_PTR(-200 + wait_rc);
    if (try_rc != -EAGAIN)
        return T_PTR(-300 + try_rc);
    return jrc ? T_PTR(jrc) : res;
}

static void *spawn_migratable(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(migratable_root, NULL);
    void *res = T_PTR(-1);
    if (!t || eddy_join(t, &res) != 0)
        return T_PTR(-2);
    return res;
}

Test(sync_affinity, local_wait_refused_to_migratable_tasks, .timeout = T_TIMEOUT)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_MULTI_THREAD, .worker_threads = 2 };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt, "eddy_runtime_new: %s", strerror(errno));
    void *res = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, spawn_migratable, NULL, &res), 0);
    cr_assert_eq(T_INT(res), 0, "got %d", T_INT(res));
    cr_assert_eq(eddy_runtime_free(rt), 0);
}
