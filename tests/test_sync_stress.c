/* Stress for the SHARED flavor (run it under TSan): several LocalRuntime
 * threads (more than there are cores, so all are busy) hammer one set of
 * primitives with a random mix of operations, deadlines included, while a
 * chaos thread spawns waiters into those runtimes and aborts them at random
 * moments. Afterwards every invariant and every count must hold exactly:
 * nothing lost, duplicated, or left locked or waiting. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

enum { WORKERS = 4, TASKS = 6, SEM_PERMITS = 3 };
static int iters = 2000, chaos_rounds = 2000;

static uint32_t rnd(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* ---- the shared world ---- */

static eddy_mutex *mu;
static long mu_counter;        /* guarded by mu */
static atomic_long mu_locks;   /* successful locks */

static eddy_semaphore *sem;
static atomic_int sem_in, sem_over;

static eddy_rwlock *rw;
static long rw_a, rw_b;        /* equal outside the write lock */
static atomic_int rw_torn;

static eddy_notify *nt;
static eddy_mpsc_rx *q_rx;
static atomic_long q_sent;

static eddy_watch_tx *stop_tx;
static eddy_watch_rx *stop_rx;
static eddy_handle *_Atomic handles[WORKERS];
static atomic_int chaos_done;

static int do_mutex(uint32_t *seed)
{
    int rc = rnd(seed) % 4 == 0 ? eddy_mutex_lock_until(mu, eddy_deadline_in(1))
                                : eddy_mutex_lock(mu);
    if (rc)
        return rc;
    long v = mu_counter;
    if (rnd(seed) % 2)
        eddy_yield();
    mu_counter = v + 1;
    atomic_fetch_add(&mu_locks, 1);
    return eddy_mutex_unlock(mu);
}

static int do_sem(uint32_t *seed)
{
    size_t n = 1 + rnd(seed) % 2;
    int rc = rnd(seed) % 4 == 0 ? eddy_semaphore_acquire_until(sem, n, eddy_deadline_in(1))
                                : eddy_semaphore_acquire(sem, n);
    if (rc)
        return rc;
    if (atomic_fetch_add(&sem_in, (int)n) + (int)n > SEM_PERMITS)
        atomic_fetch_add(&sem_over, 1);
    eddy_yield();
    atomic_fetch_sub(&sem_in, (int)n);
    return eddy_semaphore_release(sem, n);
}

static int do_rw(uint32_t *seed)
{
    int rc;
    if (rnd(seed) % 4 == 0) {
        if ((rc = eddy_rwlock_write(rw)))
            return rc;
        rw_a++;
        eddy_yield();
        rw_b++;
        return eddy_rwlock_write_unlock(rw);
    }
    if ((rc = eddy_rwlock_read(rw)))
        return rc;
    if (rw_a != rw_b)
        atomic_fetch_add(&rw_torn, 1);
    eddy_yield();
    return eddy_rwlock_read_unlock(rw);
}

static int do_notify(uint32_t *seed)
{
    if (rnd(seed) % 2) {
        eddy_notify_one(nt);
        return 0;
    }
    int rc = eddy_notify_wait_until(nt, eddy_deadline_in(1));
    return rc == -ETIMEDOUT ? 0 : rc;
}

/* Keeps a runtime up (for the chaos thread's tasks) until told to stop. */
static void *wait_for_stop(void *arg)
{
    (void)arg;
    eddy_watch_rx *stop = eddy_watch_rx_clone(stop_rx);
    while (eddy_watch_changed(stop) == 0) {
        int v = 0;
        eddy_watch_borrow(stop, &v);
        if (v)
            break;
    }
    eddy_watch_rx_release(stop);
    return NULL;
}

struct worker_task {
    eddy_mpsc_tx *q;
    uint32_t seed;
};

static void *worker_task(void *arg)
{
    struct worker_task *w = arg;
    int failures = 0;
    /* At least `iters` operations, and on until the chaos is over, so that
     * the chaos thread's waiters always meet contention. */
    for (int i = 0; i < iters || !atomic_load(&chaos_done); i++) {
        int rc = 0;
        switch (rnd(&w->seed) % 6) {
        case 0: rc = do_mutex(&w->seed); break;
        case 1: rc = do_sem(&w->seed); break;
        case 2: rc = do_rw(&w->seed); break;
        case 3: rc = do_notify(&w->seed); break;
        case 4: {
            uint64_t v = ((uint64_t)w->seed << 16) | (uint64_t)i;
            rc = eddy_mpsc_send(w->q, &v);
            if (rc == 0)
                atomic_fetch_add(&q_sent, 1);
            break;
        }
        default: rc = eddy_yield(); break;
        }
        if (rc && rc != -ETIMEDOUT)
            failures++;
    }
    return T_PTR(failures);
}

static void *worker_root(void *arg)
{
    eddy_mpsc_tx *q = arg;
    struct worker_task wt[TASKS];
    eddy_task *t[TASKS];
    int bad = 0;
    for (int i = 0; i < TASKS; i++) {
        wt[i] = (struct worker_task){ q, (uint32_t)(eddy_current_task_id() * 7919 + i + 1) };
        t[i] = eddy_spawn(worker_task, &wt[i]);
    }
    for (int i = 0; i < TASKS; i++) {
        void *r = NULL;
        if (!t[i] || eddy_join(t[i], &r) != 0 || r)
            bad++;
    }
    eddy_mpsc_tx_release(q);
    wait_for_stop(NULL);
    return T_PTR(bad);
}

struct worker_arg {
    int index;
    eddy_mpsc_tx *q;
};

static void *worker_thread(void *arg)
{
    struct worker_arg *wa = arg;
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    if (!rt)
        return T_PTR(-1);
    atomic_store(&handles[wa->index], eddy_local_runtime_handle(rt));
    void *res = T_PTR(-1);
    if (eddy_local_runtime_block_on(rt, worker_root, wa->q, &res) != 0)
        res = T_PTR(-1);
    eddy_local_runtime_free(rt);
    return res;
}

/* ---- chaos: waiters spawned into the runtimes, aborted at random ---- */

static atomic_uint chaos_started; /* the round whose task has started */

static void *chaos_mutex(void *arg)
{
    uint32_t seed = (uint32_t)(uintptr_t)arg;
    atomic_store(&chaos_started, (unsigned)seed);
    int rc = do_mutex(&seed);
    return T_PTR(rc);
}

static void *chaos_sem(void *arg)
{
    atomic_store(&chaos_started, (unsigned)(uintptr_t)arg);
    int rc = eddy_semaphore_acquire(sem, SEM_PERMITS); /* the whole thing */
    if (rc)
        return T_PTR(rc);
    if (atomic_fetch_add(&sem_in, SEM_PERMITS) != 0)
        atomic_fetch_add(&sem_over, 1);
    atomic_fetch_sub(&sem_in, SEM_PERMITS);
    return T_PTR(eddy_semaphore_release(sem, SEM_PERMITS));
}

static void *chaos_rw(void *arg)
{
    uint32_t seed = (uint32_t)(uintptr_t)arg;
    atomic_store(&chaos_started, (unsigned)seed);
    return T_PTR(do_rw(&seed));
}

static void *chaos_notify(void *arg)
{
    atomic_store(&chaos_started, (unsigned)(uintptr_t)arg);
    return T_PTR(eddy_notify_wait(nt));
}

static atomic_int chaos_bad, chaos_bad_rc, chaos_bad_body;

static void *chaos_thread(void *arg)
{
    (void)arg;
    uint32_t seed = 12345;
    for (int w = 0; w < WORKERS; w++)
        while (!atomic_load(&handles[w]))
            t_sleep_ms(1);
    static const eddy_task_fn fns[] = { chaos_mutex, chaos_sem, chaos_rw, chaos_notify };
    for (int i = 0; i < chaos_rounds; i++) {
        eddy_handle *h = atomic_load(&handles[rnd(&seed) % WORKERS]);
        eddy_task *t = eddy_handle_spawn(h, fns[rnd(&seed) % 4], (void *)(uintptr_t)(i + 1));
        if (!t) {
            atomic_fetch_add(&chaos_bad, 1);
            atomic_store(&chaos_bad_rc, -errno);
            continue;
        }
        /* Mostly let it start first, so that the abort meets it inside
         * (or just out of) its call; sometimes abort at once. */
        if (rnd(&seed) % 4) {
            struct timespec d = t_deadline(T_WAIT_SECONDS);
            while (atomic_load(&chaos_started) != (unsigned)(i + 1) && !t_past(&d))
                sched_yield();
        }
        unsigned spin = rnd(&seed) % 4000;
        for (volatile unsigned k = 0; k < spin; k++) {
        }
        eddy_abort(t);
        void *res = NULL;
        int rc = eddy_join(t, &res);
        int body = T_INT(res);
        /* Either it finished (0, or -ETIMEDOUT from a lock_until) or it
         * was aborted (-ECANCELED from join, and from its own call if it
         * was in one). */
        if (!(rc == 0 || rc == -ECANCELED) ||
            !(body == 0 || body == -ECANCELED || body == -ETIMEDOUT)) {
            atomic_fetch_add(&chaos_bad, 1);
            atomic_store(&chaos_bad_rc, rc);
            atomic_store(&chaos_bad_body, body);
        }
    }
    atomic_store(&chaos_done, 1);
    return NULL;
}

/* ---- the consumer, on the test thread ---- */

static long q_received;

static void *consumer_root(void *arg)
{
    (void)arg;
    for (;;) {
        uint64_t buf[4];
        ssize_t n = eddy_mpsc_recv_many(q_rx, buf, 4);
        if (n < 0)
            return T_PTR(n);
        q_received += n;
        if (q_received % 64 == 0)
            eddy_yield();
    }
}

Test(sync_stress, shared_primitives_under_chaos, .timeout = T_TIMEOUT)
{
    if (RUNNING_ON_VALGRIND) {
        iters = 60;
        chaos_rounds = 40;
    }
    cr_assert_not_null(mu = eddy_mutex_new(EDDY_SYNC_SHARED));
    cr_assert_not_null(sem = eddy_semaphore_new(EDDY_SYNC_SHARED, SEM_PERMITS));
    cr_assert_not_null(rw = eddy_rwlock_new(EDDY_SYNC_SHARED));
    cr_assert_not_null(nt = eddy_notify_new(EDDY_SYNC_SHARED));
    eddy_channel_opts o = { .elem_size = sizeof(uint64_t) };
    eddy_mpsc_tx *q_tx;
    cr_assert_eq(eddy_mpsc_channel(&o, 8, &q_tx, &q_rx), 0);
    eddy_channel_opts wo = { .elem_size = sizeof(int) };
    cr_assert_eq(eddy_watch_channel(&wo, &(int){ 0 }, &stop_tx, &stop_rx), 0);

    struct worker_arg wa[WORKERS];
    pthread_t th[WORKERS];
    for (int i = 0; i < WORKERS; i++) {
        wa[i] = (struct worker_arg){ i, eddy_mpsc_tx_clone(q_tx) };
        th[i] = t_thread_start(worker_thread, &wa[i]);
    }
    eddy_mpsc_tx_release(q_tx);
    pthread_t chaos = t_thread_start(chaos_thread, NULL);

    /* The consumer runs until every worker released its sender. */
    cr_assert_eq(T_INT(t_run_local(consumer_root, NULL)), -EPIPE);
    t_thread_join(chaos);
    cr_assert_eq(eddy_watch_send(stop_tx, &(int){ 1 }), 0);
    for (int i = 0; i < WORKERS; i++)
        cr_assert_eq(T_INT(t_thread_join(th[i])), 0, "worker %d had failures", i);
    for (int i = 0; i < WORKERS; i++)
        eddy_handle_release(handles[i]);

    cr_assert_eq(atomic_load(&chaos_bad), 0, "%d chaos tasks ended oddly, e.g. join %d, body %d",
                 atomic_load(&chaos_bad), atomic_load(&chaos_bad_rc),
                 atomic_load(&chaos_bad_body));
    cr_assert_eq(mu_counter, atomic_load(&mu_locks), "mutual exclusion broken");
    cr_assert_eq(eddy_mutex_try_lock(mu), 0, "the mutex was left locked");
    cr_assert_eq(eddy_mutex_unlock(mu), 0);
    cr_assert_eq(atomic_load(&sem_over), 0, "more holders than permits");
    cr_assert_eq(eddy_semaphore_available(sem), SEM_PERMITS, "permits lost or made up");
    cr_assert_eq(atomic_load(&rw_torn), 0);
    cr_assert_eq(rw_a, rw_b);
    cr_assert_eq(eddy_rwlock_try_write(rw), 0, "the rwlock was left held");
    cr_assert_eq(eddy_rwlock_write_unlock(rw), 0);
    cr_assert_eq(q_received, atomic_load(&q_sent), "messages lost or duplicated");

    cr_assert_eq(eddy_mutex_free(mu), 0, "a waiter was left behind");
    cr_assert_eq(eddy_semaphore_free(sem), 0, "a waiter was left behind");
    cr_assert_eq(eddy_rwlock_free(rw), 0, "a waiter was left behind");
    cr_assert_eq(eddy_notify_free(nt), 0, "a waiter was left behind");
    cr_assert_eq(eddy_mpsc_rx_release(q_rx), 0);
    cr_assert_eq(eddy_watch_tx_release(stop_tx), 0);
    cr_assert_eq(eddy_watch_rx_release(stop_rx), 0);
}

/* ---- abort storm on a bounded channel: a send that returned 0 is received
 * exactly once; an aborted send is never received ---- */

enum { STORM_SENDERS = 1000 };
static int storm_n = STORM_SENDERS;
static atomic_int send_rc[STORM_SENDERS];
static int received_times[STORM_SENDERS];
static eddy_mpsc_tx *storm_tx[STORM_SENDERS];

static void *storm_sender(void *arg)
{
    int id = T_INT(arg);
    uint64_t v = (uint64_t)id;
    int rc = eddy_mpsc_send(storm_tx[id], &v);
    atomic_store(&send_rc[id], rc == 0 ? 1 : rc);
    eddy_mpsc_tx_release(storm_tx[id]);
    return NULL;
}

/* A runtime thread that only runs what the chaos thread spawns into it. */
static void *storm_thread(void *arg)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    if (!rt)
        return T_PTR(-1);
    atomic_store(&handles[(uintptr_t)arg], eddy_local_runtime_handle(rt));
    eddy_local_runtime_block_on(rt, wait_for_stop, NULL, NULL);
    eddy_local_runtime_free(rt);
    return NULL;
}

static eddy_notify *storm_gate;

static void *storm_root(void *arg)
{
    (void)arg;
    /* The consumer starts only once the senders have piled up on the one
     * slot; then it drains while the chaos thread aborts them. */
    eddy_notify_wait(storm_gate);
    for (;;) {
        uint64_t v;
        int rc = eddy_mpsc_recv(q_rx, &v);
        if (rc)
            return T_PTR(rc);
        if (v < (uint64_t)storm_n)
            received_times[v]++;
        eddy_yield();
    }
}

static void *storm_chaos(void *arg)
{
    (void)arg;
    uint32_t seed = 777;
    eddy_task *t[STORM_SENDERS];
    for (int w = 0; w < 2; w++)
        while (!atomic_load(&handles[w]))
            t_sleep_ms(1);
    for (int i = 0; i < storm_n; i++)
        t[i] = eddy_handle_spawn(atomic_load(&handles[i % 2]), storm_sender, T_PTR(i));
    /* Some aborted at once (before or as they start waiting), the rest
     * while they wait or just after their slot was granted. */
    for (int i = 0; i < storm_n; i++)
        if (rnd(&seed) % 8 == 0 && t[i])
            eddy_abort(t[i]);
    t_sleep_ms(5);
    eddy_notify_one(storm_gate);
    for (int i = 0; i < storm_n; i++) {
        if (rnd(&seed) % 3 == 0 && t[i])
            eddy_abort(t[i]);
        unsigned spin = rnd(&seed) % 5000;
        for (volatile unsigned k = 0; k < spin; k++) {
        }
    }
    for (int i = 0; i < storm_n; i++) {
        if (t[i])
            eddy_join(t[i], NULL);
        /* Aborted before it ever ran: its sender is still ours to drop. */
        if (atomic_load(&send_rc[i]) == 0) {
            atomic_store(&send_rc[i], -ECANCELED);
            eddy_mpsc_tx_release(storm_tx[i]);
        }
    }
    return NULL;
}

Test(sync_stress, mpsc_abort_storm_no_message_lost_or_ghosted, .timeout = T_TIMEOUT)
{
    if (RUNNING_ON_VALGRIND)
        storm_n = 60;
    eddy_channel_opts o = { .elem_size = sizeof(uint64_t) };
    eddy_mpsc_tx *tx0;
    cr_assert_eq(eddy_mpsc_channel(&o, 1, &tx0, &q_rx), 0);
    cr_assert_not_null(storm_gate = eddy_notify_new(EDDY_SYNC_SHARED));
    for (int i = 0; i < storm_n; i++)
        storm_tx[i] = eddy_mpsc_tx_clone(tx0);
    eddy_mpsc_tx_release(tx0);
    eddy_channel_opts wo = { .elem_size = sizeof(int) };
    cr_assert_eq(eddy_watch_channel(&wo, &(int){ 0 }, &stop_tx, &stop_rx), 0);
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        th[i] = t_thread_start(storm_thread, (void *)(uintptr_t)i);
    pthread_t chaos = t_thread_start(storm_chaos, NULL);
    cr_assert_eq(T_INT(t_run_local(storm_root, NULL)), -EPIPE);
    t_thread_join(chaos);
    eddy_watch_send(stop_tx, &(int){ 1 });
    for (int i = 0; i < 2; i++)
        t_thread_join(th[i]);
    for (int i = 0; i < 2; i++)
        eddy_handle_release(handles[i]);
    int delivered = 0, cancelled = 0;
    for (int i = 0; i < storm_n; i++) {
        int rc = atomic_load(&send_rc[i]);
        if (rc == 1) {
            delivered++;
            cr_assert_eq(received_times[i], 1, "sent value %d received %d times", i,
                         received_times[i]);
        } else {
            cancelled++;
            cr_assert_eq(rc, -ECANCELED, "sender %d: %d", i, rc);
            cr_assert_eq(received_times[i], 0, "aborted send %d was received", i);
        }
    }
    cr_assert_eq(delivered + cancelled, storm_n);
    eddy_mpsc_rx_release(q_rx);
    eddy_watch_tx_release(stop_tx);
    eddy_watch_rx_release(stop_rx);
    cr_assert_eq(eddy_notify_free(storm_gate), 0);
}

/* ---- the SHARED flavor on the multi-thread runtime: waiters migrate
 * between workers while they hold and wait for primitives ---- */

enum { MT_TASKS = 64 };
static int mt_iters = 300;
static eddy_mpsc_tx *mt_tx;

static eddy_mpsc_tx *mt_q[MT_TASKS]; /* each task's sender clone */

static void *mt_task(void *arg)
{
    int id = T_INT(arg);
    uint32_t seed = (uint32_t)id * 2654435761u + 1;
    eddy_mpsc_tx *q = mt_q[id];
    int failures = 0;
    for (int i = 0; i < mt_iters; i++) {
        int rc;
        switch (rnd(&seed) % 4) {
        case 0: rc = do_mutex(&seed); break;
        case 1: rc = do_sem(&seed); break;
        case 2: rc = do_rw(&seed); break;
        default: {
            uint64_t v = i;
            rc = eddy_mpsc_send(q, &v);
            if (rc == 0)
                atomic_fetch_add(&q_sent, 1);
        }
        }
        if (rc && rc != -ETIMEDOUT)
            failures++;
    }
    eddy_mpsc_tx_release(q);
    return T_PTR(failures);
}

static void *mt_consumer(void *arg)
{
    (void)arg;
    uint64_t v;
    long n = 0;
    int rc;
    while ((rc = eddy_mpsc_recv(q_rx, &v)) == 0)
        n++;
    return rc == -EPIPE ? (void *)(intptr_t)n : T_PTR(-1);
}

static void *mt_root(void *arg)
{
    (void)arg;
    eddy_task *c = eddy_spawn(mt_consumer, NULL);
    eddy_task *t[MT_TASKS];
    for (int i = 0; i < MT_TASKS; i++)
        mt_q[i] = eddy_mpsc_tx_clone(mt_tx);
    eddy_mpsc_tx_release(mt_tx); /* the channel closes with the last task */
    for (int i = 0; i < MT_TASKS; i++)
        t[i] = eddy_spawn(mt_task, T_PTR(i));
    int bad = 0;
    for (int i = 0; i < MT_TASKS; i++) {
        void *r = NULL;
        if (!t[i] || eddy_join(t[i], &r) != 0 || r)
            bad++;
    }
    void *n = NULL;
    if (!c || eddy_join(c, &n) != 0)
        bad++;
    q_received = (long)(intptr_t)n;
    return T_PTR(bad);
}

Test(sync_stress, shared_primitives_on_multi_thread_runtime, .timeout = T_TIMEOUT)
{
    if (RUNNING_ON_VALGRIND)
        mt_iters = 40;
    eddy_runtime_opts ro = { .flavor = EDDY_FLAVOR_MULTI_THREAD, .worker_threads = 2 };
    eddy_runtime *rt = eddy_runtime_new(&ro);
    cr_assert_not_null(rt, "eddy_runtime_new: %s", strerror(errno));
    cr_assert_not_null(mu = eddy_mutex_new(EDDY_SYNC_SHARED));
    cr_assert_not_null(sem = eddy_semaphore_new(EDDY_SYNC_SHARED, SEM_PERMITS));
    cr_assert_not_null(rw = eddy_rwlock_new(EDDY_SYNC_SHARED));
    eddy_channel_opts o = { .elem_size = sizeof(uint64_t) };
    cr_assert_eq(eddy_mpsc_channel(&o, 4, &mt_tx, &q_rx), 0);
    void *res = NULL;
    cr_assert_eq(eddy_runtime_block_on(rt, mt_root, NULL, &res), 0);
    cr_assert_eq(T_INT(res), 0, "%d tasks failed", T_INT(res));
    cr_assert_eq(mu_counter, atomic_load(&mu_locks));
    cr_assert_eq(atomic_load(&sem_over), 0);
    cr_assert_eq(atomic_load(&rw_torn), 0);
    cr_assert_eq(rw_a, rw_b);
    cr_assert_eq(q_received, atomic_load(&q_sent));
    cr_assert_eq(eddy_semaphore_available(sem), SEM_PERMITS);
    cr_assert_eq(eddy_mutex_free(mu), 0);
    cr_assert_eq(eddy_semaphore_free(sem), 0);
    cr_assert_eq(eddy_rwlock_free(rw), 0);
    cr_assert_eq(eddy_mpsc_rx_release(q_rx), 0);
    cr_assert_eq(eddy_runtime_free(rt), 0);
}
