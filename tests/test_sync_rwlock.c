/* RwLock, both flavors: shared readers, exclusive writer, writer not
 * starved (FIFO), unlock misuse, abort while waiting, deadlines, threads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sync_util.h"

static eddy_sync_flavor flavor;
static eddy_rwlock *rw;

/* ---- readers share, writers exclude ---- */

enum { READERS = 6, WRITERS = 3, ROUNDS = 20 };
static int readers_in, writers_in, max_readers, bad_overlap, written;

static void *reader(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        if (eddy_rwlock_read(rw) != 0)
            return T_PTR(-1);
        readers_in++;
        if (readers_in > max_readers)
            max_readers = readers_in;
        if (writers_in)
            bad_overlap++;
        eddy_yield();
        readers_in--;
        eddy_rwlock_read_unlock(rw);
        eddy_yield();
    }
    return NULL;
}

static void *writer(void *arg)
{
    (void)arg;
    for (int r = 0; r < ROUNDS; r++) {
        if (eddy_rwlock_write(rw) != 0)
            return T_PTR(-1);
        writers_in++;
        if (writers_in > 1 || readers_in)
            bad_overlap++;
        eddy_yield();
        written++;
        writers_in--;
        eddy_rwlock_write_unlock(rw);
        eddy_yield();
    }
    return NULL;
}

static void *root_mix(void *arg)
{
    (void)arg;
    rw = eddy_rwlock_new(flavor);
    cr_expect_not_null(rw);
    eddy_task *t[READERS + WRITERS];
    for (int i = 0; i < READERS + WRITERS; i++)
        t[i] = spawn(i % 3 == 2 ? writer : reader, NULL);
    for (int i = 0; i < READERS + WRITERS; i++)
        cr_expect_eq(join_int(t[i], 0), 0);
    cr_expect_eq(bad_overlap, 0);
    cr_expect_gt(max_readers, 1, "readers never shared the lock");
    cr_expect_eq(written, WRITERS * ROUNDS);
    cr_expect_eq(eddy_rwlock_free(rw), 0);
    return NULL;
}

static void mix(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_mix, NULL);
}
BOTH_FLAVORS(rwlock, readers_share_writers_exclude, mix)

/* ---- a waiting writer holds back later readers ---- */

static int events[8], nevents;

static void *read_once(void *arg)
{
    int rc = eddy_rwlock_read(rw);
    if (rc == 0) {
        events[nevents++] = T_INT(arg);
        eddy_rwlock_read_unlock(rw);
    }
    return T_PTR(rc);
}

static void *write_once(void *arg)
{
    int rc = eddy_rwlock_write(rw);
    if (rc == 0) {
        events[nevents++] = T_INT(arg);
        eddy_rwlock_write_unlock(rw);
    }
    return T_PTR(rc);
}

static void *root_writer_not_starved(void *arg)
{
    (void)arg;
    rw = eddy_rwlock_new(flavor);
    cr_expect_eq(eddy_rwlock_read(rw), 0);
    eddy_task *w = spawn(write_once, T_PTR(100));
    eddy_yield();
    cr_expect_eq(eddy_rwlock_try_read(rw), -EAGAIN, "a reader overtook the waiting writer");
    eddy_task *r = spawn(read_once, T_PTR(1));
    eddy_yield();
    cr_expect_eq(nevents, 0);
    cr_expect_eq(eddy_rwlock_read_unlock(rw), 0);
    cr_expect_eq(join_int(w, 0), 0);
    cr_expect_eq(join_int(r, 0), 0);
    cr_expect_eq(nevents, 2);
    cr_expect_eq(events[0], 100);
    cr_expect_eq(events[1], 1);
    cr_expect_eq(eddy_rwlock_free(rw), 0);
    return NULL;
}

FLAVOR_TEST(rwlock, writer_not_starved)

/* ---- abort of the waiting writer lets the readers behind it in ---- */

static void *root_abort_writer(void *arg)
{
    (void)arg;
    rw = eddy_rwlock_new(flavor);
    cr_expect_eq(eddy_rwlock_read(rw), 0);
    eddy_task *w = spawn(write_once, T_PTR(100));
    eddy_task *r = spawn(read_once, T_PTR(1));
    for (int i = 0; i < 3; i++)
        eddy_yield();
    cr_expect_eq(nevents, 0);
    eddy_abort(w);
    cr_expect_eq(join_int(w, -ECANCELED), -ECANCELED);
    cr_expect_eq(join_int(r, 0), 0, "the reader behind the aborted writer");
    cr_expect_eq(nevents, 1);
    cr_expect_eq(eddy_rwlock_read_unlock(rw), 0);
    cr_expect_eq(eddy_rwlock_try_write(rw), 0, "left inconsistent");
    cr_expect_eq(eddy_rwlock_write_unlock(rw), 0);
    cr_expect_eq(eddy_rwlock_free(rw), 0);
    return NULL;
}

static void abort_writer(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_abort_writer, NULL);
}
BOTH_FLAVORS(rwlock, abort_waiting_writer, abort_writer)

/* The write lock handed to an aborted writer goes to the readers after. */
static void *root_abort_after_handoff(void *arg)
{
    (void)arg;
    rw = eddy_rwlock_new(flavor);
    cr_expect_eq(eddy_rwlock_read(rw), 0);
    eddy_task *w = spawn(write_once, T_PTR(100));
    eddy_task *r1 = spawn(read_once, T_PTR(1));
    eddy_task *r2 = spawn(read_once, T_PTR(2));
    for (int i = 0; i < 3; i++)
        eddy_yield();
    cr_expect_eq(eddy_rwlock_read_unlock(rw), 0); /* handed to w */
    eddy_abort(w);
    cr_expect_eq(join_int(w, -ECANCELED), -ECANCELED);
    cr_expect_eq(join_int(r1, 0), 0);
    cr_expect_eq(join_int(r2, 0), 0);
    cr_expect_eq(nevents, 2);
    cr_expect_eq(eddy_rwlock_free(rw), 0, "left locked");
    return NULL;
}

FLAVOR_TEST(rwlock, abort_after_handoff)

/* ---- try, misuse, deadlines ---- */

static void *root_try(void *arg)
{
    (void)arg;
    rw = eddy_rwlock_new(flavor);
    cr_expect_eq(eddy_rwlock_read_unlock(rw), -EINVAL);
    cr_expect_eq(eddy_rwlock_write_unlock(rw), -EINVAL);
    cr_expect_eq(eddy_rwlock_try_read(rw), 0);
    cr_expect_eq(eddy_rwlock_try_read(rw), 0);
    cr_expect_eq(eddy_rwlock_try_write(rw), -EAGAIN);
    cr_expect_eq(eddy_rwlock_write_unlock(rw), -EINVAL, "write unlock while read-locked");
    cr_expect_eq(eddy_rwlock_write_until(rw, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_rwlock_free(rw), -EBUSY);
    cr_expect_eq(eddy_rwlock_read_unlock(rw), 0);
    cr_expect_eq(eddy_rwlock_read_unlock(rw), 0);
    cr_expect_eq(eddy_rwlock_try_write(rw), 0);
    cr_expect_eq(eddy_rwlock_try_read(rw), -EAGAIN);
    cr_expect_eq(eddy_rwlock_read_unlock(rw), -EINVAL, "read unlock while write-locked");
    cr_expect_eq(eddy_rwlock_read_until(rw, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_rwlock_write_unlock(rw), 0);
    cr_expect_eq(eddy_rwlock_free(rw), 0);
    return NULL;
}

static void try_(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_try, NULL);
}
BOTH_FLAVORS(rwlock, try_misuse_deadline, try_)

/* ---- threads (shared) ---- */

enum { THREADS = 3, TASKS = 6, ITER = 100 };
static long pair_a, pair_b; /* written together under the write lock */
static atomic_int torn;

static void *mt_task(void *arg)
{
    int id = T_INT(arg);
    for (int i = 0; i < ITER; i++) {
        if (id % 3 == 0) {
            if (eddy_rwlock_write(rw) != 0)
                return T_PTR(-1);
            pair_a++;
            eddy_yield();
            pair_b++;
            eddy_rwlock_write_unlock(rw);
        } else {
            if (eddy_rwlock_read(rw) != 0)
                return T_PTR(-1);
            if (pair_a != pair_b)
                atomic_fetch_add(&torn, 1);
            eddy_rwlock_read_unlock(rw);
            eddy_yield();
        }
    }
    return NULL;
}

static void *mt_root(void *arg)
{
    (void)arg;
    eddy_task *t[TASKS];
    int bad = 0;
    for (int i = 0; i < TASKS; i++)
        t[i] = eddy_spawn(mt_task, T_PTR(i));
    for (int i = 0; i < TASKS; i++) {
        void *r = NULL;
        if (!t[i] || eddy_join(t[i], &r) != 0 || r)
            bad++;
    }
    return T_PTR(bad);
}

static void *mt_thread(void *arg)
{
    (void)arg;
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    void *res = T_PTR(-1);
    if (rt && eddy_local_runtime_block_on(rt, mt_root, NULL, &res) != 0)
        res = T_PTR(-1);
    if (rt)
        eddy_local_runtime_free(rt);
    return res;
}

Test(rwlock, many_threads_shared, .timeout = T_TIMEOUT)
{
    rw = eddy_rwlock_new(EDDY_SYNC_SHARED);
    pthread_t th[THREADS];
    for (int i = 0; i < THREADS; i++)
        th[i] = t_thread_start(mt_thread, NULL);
    for (int i = 0; i < THREADS; i++)
        cr_assert_eq(T_INT(t_thread_join(th[i])), 0);
    cr_assert_eq(atomic_load(&torn), 0);
    cr_assert_eq(pair_a, (long)THREADS * 2 * ITER); /* ids 0 and 3 write */
    cr_assert_eq(pair_b, pair_a);
    cr_assert_eq(eddy_rwlock_free(rw), 0);
}
