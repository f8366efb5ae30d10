/* broadcast, both flavors: every receiver gets every value, subscribe sees
 * only later values, lag (-EOVERFLOW with the count missed), close by the
 * senders (drain, then -EPIPE), send with no receivers, abort while
 * waiting, deadlines, threads (received + missed == sent). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sync_util.h"

static eddy_sync_flavor flavor;
static eddy_broadcast_tx *tx;
static eddy_broadcast_rx *rx;

static void make(size_t capacity)
{
    eddy_channel_opts o = { .flavor = flavor, .elem_size = sizeof(int) };
    cr_expect_eq(eddy_broadcast_channel(&o, capacity, &tx, &rx), 0);
}

/* ---- everyone gets everything ---- */

enum { RECEIVERS = 4, VALUES = 30 };

static void *reader(void *arg)
{
    eddy_broadcast_rx *r = arg;
    int expect = 0, rc, v;
    while ((rc = eddy_broadcast_recv(r, &v, NULL)) == 0) {
        if (v != expect)
            break;
        expect++;
    }
    eddy_broadcast_rx_release(r);
    return T_PTR(rc == -EPIPE ? expect : -1000 + rc);
}

static void *root_fanout(void *arg)
{
    (void)arg;
    make(VALUES); /* nobody lags */
    eddy_task *t[RECEIVERS];
    for (int i = 0; i < RECEIVERS; i++) {
        eddy_broadcast_rx *r = i == 0 ? rx : eddy_broadcast_tx_subscribe(tx);
        t[i] = spawn(reader, r);
    }
    yield_n(2);
    eddy_broadcast_tx *tx2 = eddy_broadcast_tx_clone(tx);
    for (int v = 0; v < VALUES; v++) {
        cr_expect_eq(eddy_broadcast_send(v % 2 ? tx2 : tx, &v), RECEIVERS,
                     "send returns the receiver count");
        if (v % 4 == 0)
            yield_n(1);
    }
    cr_expect_eq(eddy_broadcast_tx_release(tx), 0);
    yield_n(2);
    cr_expect(!eddy_is_finished(t[0]), "closed with a sender left");
    cr_expect_eq(eddy_broadcast_tx_release(tx2), 0);
    for (int i = 0; i < RECEIVERS; i++)
        cr_expect_eq(join_int(t[i], 0), VALUES, "receiver %d", i);
    return NULL;
}

static void fanout(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_fanout, NULL);
}
BOTH_FLAVORS(broadcast, every_receiver_gets_every_value, fanout)

/* ---- subscribe sees later values only; send without receivers ---- */

static void *root_subscribe(void *arg)
{
    (void)arg;
    make(4);
    int v;
    cr_expect_eq(eddy_broadcast_send(tx, &(int){ 1 }), 1);
    eddy_broadcast_rx *late = eddy_broadcast_tx_subscribe(tx);
    eddy_broadcast_rx *re = eddy_broadcast_rx_resubscribe(rx);
    cr_expect_eq(eddy_broadcast_send(tx, &(int){ 2 }), 3);
    cr_expect_eq(eddy_broadcast_try_recv(late, &v, NULL), 0);
    cr_expect_eq(v, 2, "a subscriber saw a value from before");
    cr_expect_eq(eddy_broadcast_try_recv(re, &v, NULL), 0);
    cr_expect_eq(v, 2);
    cr_expect_eq(eddy_broadcast_try_recv(rx, &v, NULL), 0);
    cr_expect_eq(v, 1);
    cr_expect_eq(eddy_broadcast_try_recv(rx, &v, NULL), 0);
    cr_expect_eq(v, 2);
    cr_expect_eq(eddy_broadcast_try_recv(rx, &v, NULL), -EAGAIN);
    cr_expect_eq(eddy_broadcast_recv_until(rx, &v, NULL, eddy_deadline_in(5)), -ETIMEDOUT);
    eddy_broadcast_rx_release(late);
    eddy_broadcast_rx_release(re);
    eddy_broadcast_rx_release(rx);
    cr_expect_eq(eddy_broadcast_send(tx, &(int){ 3 }), -EPIPE, "no receiver");
    rx = eddy_broadcast_tx_subscribe(tx);
    cr_expect_eq(eddy_broadcast_try_recv(rx, &v, NULL), -EAGAIN, "the failed send was stored");
    eddy_broadcast_rx_release(rx);
    eddy_broadcast_tx_release(tx);
    return NULL;
}

static void subscribe(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_subscribe, NULL);
}
BOTH_FLAVORS(broadcast, subscribe_and_no_receivers, subscribe)

/* ---- lag ---- */

static void *root_lag(void *arg)
{
    (void)arg;
    make(3);
    for (int v = 0; v < 10; v++)
        cr_expect_eq(eddy_broadcast_send(tx, &v), 1);
    int v = -1;
    uint64_t missed = 0;
    cr_expect_eq(eddy_broadcast_recv(rx, &v, &missed), -EOVERFLOW);
    cr_expect_eq(missed, 7, "missed %llu", (unsigned long long)missed);
    for (int want = 7; want < 10; want++) {
        cr_expect_eq(eddy_broadcast_recv(rx, &v, &missed), 0);
        cr_expect_eq(v, want, "after the lag: the oldest kept value first");
    }
    cr_expect_eq(eddy_broadcast_try_recv(rx, &v, NULL), -EAGAIN);
    /* Lag then close: the kept values, then -EPIPE. */
    for (int k = 0; k < 5; k++)
        eddy_broadcast_send(tx, &k);
    eddy_broadcast_tx_release(tx);
    cr_expect_eq(eddy_broadcast_recv(rx, &v, NULL), -EOVERFLOW);
    for (int want = 2; want < 5; want++) {
        cr_expect_eq(eddy_broadcast_recv(rx, &v, NULL), 0);
        cr_expect_eq(v, want);
    }
    cr_expect_eq(eddy_broadcast_recv(rx, &v, NULL), -EPIPE);
    eddy_broadcast_rx_release(rx);
    return NULL;
}

static void lag(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_lag, NULL);
}
BOTH_FLAVORS(broadcast, lagging_receiver_told_how_many, lag)

/* ---- abort while waiting ---- */

static void *recv_task(void *arg)
{
    int v;
    return T_PTR(eddy_broadcast_recv(arg, &v, NULL));
}

static void *root_abort(void *arg)
{
    (void)arg;
    make(2);
    eddy_task *a = spawn(recv_task, rx);
    yield_n(2);
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    cr_expect_eq(eddy_broadcast_send(tx, &(int){ 4 }), 1);
    a = spawn(recv_task, rx); /* the receiver still works: gets 4 */
    cr_expect_eq(join_int(a, 0), 0);
    /* Woken by a send, aborted before it ran: the value stays. */
    a = spawn(recv_task, rx);
    yield_n(2);
    cr_expect_eq(eddy_broadcast_send(tx, &(int){ 5 }), 1);
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    int v;
    cr_expect_eq(eddy_broadcast_try_recv(rx, &v, NULL), 0, "the value went with the aborted receiver");
    cr_expect_eq(v, 5);
    eddy_broadcast_rx_release(rx);
    eddy_broadcast_tx_release(tx);
    return NULL;
}

static void abort_(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_abort, NULL);
}
BOTH_FLAVORS(broadcast, abort_while_waiting, abort_)

Test(broadcast, misuse, .timeout = T_TIMEOUT)
{
    eddy_broadcast_tx *t;
    eddy_broadcast_rx *r;
    cr_assert_eq(eddy_broadcast_channel(NULL, 0, &t, &r), -EINVAL, "capacity 0");
    cr_assert_eq(eddy_broadcast_channel(NULL, 1, NULL, &r), -EINVAL);
    cr_assert_eq(eddy_broadcast_send(NULL, &t), -EINVAL);
    cr_assert_eq(eddy_broadcast_recv(NULL, NULL, NULL), -EINVAL);
    cr_assert_null(eddy_broadcast_tx_subscribe(NULL));
    eddy_channel_opts local = { .flavor = EDDY_SYNC_LOCAL };
    cr_assert_eq(eddy_broadcast_channel(&local, 1, &t, &r), 0);
    cr_assert_eq(eddy_broadcast_recv(r, NULL, NULL), -EDEADLK, "LOCAL wait outside a task");
    cr_assert_eq(eddy_broadcast_send(t, &t), 1);
    void *p = NULL;
    cr_assert_eq(eddy_broadcast_recv(r, &p, NULL), 0);
    cr_assert_eq(p, (void *)t);
    eddy_broadcast_tx_release(t);
    eddy_broadcast_rx_release(r);
}

/* ---- threads (shared): every receiver accounts for every value ---- */

enum { THREADS = 3, PLAIN = 1, SENT = 3000, CAPACITY = 16 };
static atomic_int bad_order;

static void *counting_reader(void *arg)
{
    eddy_broadcast_rx *r = arg;
    uint64_t got = 0, missed_total = 0, expect = 0, v, missed;
    int rc;
    for (;;) {
        rc = eddy_broadcast_recv(r, &v, &missed);
        if (rc == -EOVERFLOW) {
            missed_total += missed;
            expect += missed;
            continue;
        }
        if (rc)
            break;
        if (v != expect)
            atomic_fetch_add(&bad_order, 1);
        expect = v + 1;
        got++;
    }
    eddy_broadcast_rx_release(r);
    return rc == -EPIPE && got + missed_total == SENT ? NULL : T_PTR(-1);
}

static void *reader_thread(void *arg)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    void *res = T_PTR(-1);
    if (rt && eddy_local_runtime_block_on(rt, counting_reader, arg, &res) != 0)
        res = T_PTR(-1);
    if (rt)
        eddy_local_runtime_free(rt);
    return res;
}

Test(broadcast, received_plus_missed_is_sent_across_threads, .timeout = T_TIMEOUT)
{
    eddy_channel_opts o = { .elem_size = sizeof(uint64_t) };
    eddy_broadcast_tx *t;
    eddy_broadcast_rx *r;
    cr_assert_eq(eddy_broadcast_channel(&o, CAPACITY, &t, &r), 0);
    pthread_t th[THREADS + PLAIN];
    for (int i = 0; i < THREADS; i++)
        th[i] = t_thread_start(reader_thread, eddy_broadcast_tx_subscribe(t));
    for (int i = THREADS; i < THREADS + PLAIN; i++)
        th[i] = t_thread_start(counting_reader, eddy_broadcast_tx_subscribe(t));
    eddy_broadcast_rx_release(r);
    for (uint64_t v = 0; v < SENT; v++) {
        cr_assert_eq(eddy_broadcast_send(t, &v), THREADS + PLAIN);
        if (v % 100 == 0)
            t_sleep_ms(1);
    }
    eddy_broadcast_tx_release(t);
    for (int i = 0; i < THREADS + PLAIN; i++)
        cr_assert_eq(T_INT(t_thread_join(th[i])), 0, "reader %d", i);
    cr_assert_eq(atomic_load(&bad_order), 0);
}
