/* watch, both flavors: latest value, changed(), borrow_and_update, many
 * receivers, sender gone (unseen value first, then -EPIPE), receivers gone
 * (send fails, tx_closed returns), abort while waiting, deadlines,
 * threads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sync_util.h"

static eddy_sync_flavor flavor;
static eddy_watch_tx *tx;
static eddy_watch_rx *rx;

static void make(int init)
{
    eddy_channel_opts o = { .flavor = flavor, .elem_size = sizeof(int) };
    cr_expect_eq(eddy_watch_channel(&o, &init, &tx, &rx), 0);
}

static int get(eddy_watch_rx *r)
{
    int v = -1;
    cr_expect_eq(eddy_watch_borrow(r, &v), 0);
    return v;
}

/* ---- latest value and change notification ---- */

static void *root_basics(void *arg)
{
    (void)arg;
    make(10);
    cr_expect_eq(get(rx), 10);
    cr_expect_eq(eddy_watch_has_changed(rx), 0, "the initial value counts as seen");
    cr_expect_eq(eddy_watch_changed_until(rx, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_watch_send(tx, &(int){ 11 }), 0);
    cr_expect_eq(eddy_watch_send(tx, &(int){ 12 }), 0);
    cr_expect_eq(eddy_watch_has_changed(rx), 1);
    cr_expect_eq(eddy_watch_changed(rx), 0, "unseen: at once");
    cr_expect_eq(get(rx), 12, "only the latest value is kept");
    cr_expect_eq(eddy_watch_has_changed(rx), 0);
    cr_expect_eq(eddy_watch_send(tx, &(int){ 13 }), 0);
    int v = 0;
    cr_expect_eq(eddy_watch_borrow_and_update(rx, &v), 0);
    cr_expect_eq(v, 13);
    cr_expect_eq(eddy_watch_has_changed(rx), 0, "borrow_and_update marks seen");
    cr_expect_eq(eddy_watch_tx_receiver_count(tx), 1);
    cr_expect_eq(eddy_watch_tx_release(tx), 0);
    cr_expect_eq(get(rx), 13, "the value outlives the sender");
    cr_expect_eq(eddy_watch_has_changed(rx), -EPIPE);
    cr_expect_eq(eddy_watch_changed(rx), -EPIPE);
    cr_expect_eq(eddy_watch_rx_release(rx), 0);
    return NULL;
}

static void basics(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_basics, NULL);
}
BOTH_FLAVORS(watch, latest_value_and_changed, basics)

/* ---- many receivers each woken, each with its own "seen" ---- */

static int woke_with[6];

static void *watcher(void *arg)
{
    eddy_watch_rx *r = arg;
    int rc, last = -1, count = 0;
    while ((rc = eddy_watch_changed(r)) == 0) {
        eddy_watch_borrow(r, &last);
        count++;
    }
    eddy_watch_rx_release(r);
    return T_PTR(rc == -EPIPE ? last : -1000 + rc);
}

static void *root_many(void *arg)
{
    (void)arg;
    make(0);
    eddy_task *t[6];
    for (int i = 0; i < 6; i++) {
        eddy_watch_rx *r = i % 2 ? eddy_watch_rx_clone(rx) : eddy_watch_tx_subscribe(tx);
        cr_expect_not_null(r);
        t[i] = spawn(watcher, r);
    }
    cr_expect_eq(eddy_watch_tx_receiver_count(tx), 7);
    yield_n(2);
    for (int v = 1; v <= 20; v++) {
        cr_expect_eq(eddy_watch_send(tx, &v), 0);
        if (v % 3 == 0)
            yield_n(2);
    }
    cr_expect_eq(eddy_watch_tx_release(tx), 0);
    for (int i = 0; i < 6; i++) {
        woke_with[i] = join_int(t[i], 0);
        cr_expect_eq(woke_with[i], 20, "watcher %d ended on %d", i, woke_with[i]);
    }
    cr_expect_eq(eddy_watch_rx_release(rx), 0);
    return NULL;
}

static void many(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_many, NULL);
}
BOTH_FLAVORS(watch, many_receivers_see_the_last_value, many)

/* ---- receivers gone ---- */

static void *tx_closed_task(void *arg)
{
    (void)arg;
    return T_PTR(eddy_watch_tx_closed(tx));
}

static void *root_receivers_gone(void *arg)
{
    (void)arg;
    make(0);
    eddy_watch_rx *r2 = eddy_watch_rx_clone(rx);
    eddy_task *c = spawn(tx_closed_task, NULL);
    yield_n(2);
    cr_expect_eq(eddy_watch_rx_release(rx), 0);
    yield_n(2);
    cr_expect(!eddy_is_finished(c), "one receiver is left");
    cr_expect_eq(eddy_watch_send(tx, &(int){ 1 }), 0);
    cr_expect_eq(eddy_watch_rx_release(r2), 0);
    cr_expect_eq(join_int(c, 0), 0);
    cr_expect_eq(eddy_watch_tx_receiver_count(tx), 0);
    cr_expect_eq(eddy_watch_send(tx, &(int){ 2 }), -EPIPE);
    eddy_watch_rx *r3 = eddy_watch_tx_subscribe(tx);
    cr_expect_eq(get(r3), 1, "a failed send stores nothing");
    cr_expect_eq(eddy_watch_has_changed(r3), 0);
    cr_expect_eq(eddy_watch_tx_closed_until(tx, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_watch_rx_release(r3), 0);
    cr_expect_eq(eddy_watch_tx_release(tx), 0);
    return NULL;
}

FLAVOR_TEST(watch, receivers_gone)

/* ---- abort while waiting ---- */

static void *changed_task(void *arg)
{
    return T_PTR(eddy_watch_changed(arg));
}

static void *root_abort(void *arg)
{
    (void)arg;
    make(0);
    eddy_task *a = spawn(changed_task, rx);
    yield_n(2);
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    cr_expect_eq(eddy_watch_send(tx, &(int){ 5 }), 0);
    cr_expect_eq(eddy_watch_has_changed(rx), 1, "the change is still unseen");
    eddy_task *b = spawn(changed_task, rx);
    cr_expect_eq(join_int(b, 0), 0);
    cr_expect_eq(get(rx), 5);
    cr_expect_eq(eddy_watch_tx_release(tx), 0);
    cr_expect_eq(eddy_watch_rx_release(rx), 0);
    return NULL;
}

static void abort_(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_abort, NULL);
}
BOTH_FLAVORS(watch, abort_while_waiting, abort_)

Test(watch, misuse_and_sizes, .timeout = T_TIMEOUT)
{
    eddy_watch_tx *t;
    eddy_watch_rx *r;
    cr_assert_eq(eddy_watch_channel(NULL, NULL, NULL, &r), -EINVAL);
    cr_assert_eq(eddy_watch_send(NULL, &t), -EINVAL);
    cr_assert_eq(eddy_watch_changed(NULL), -EINVAL);
    cr_assert_null(eddy_watch_rx_clone(NULL));
    /* default: a pointer; NULL init means zeroes */
    cr_assert_eq(eddy_watch_channel(NULL, NULL, &t, &r), 0);
    void *p = &p;
    cr_assert_eq(eddy_watch_borrow(r, &p), 0);
    cr_assert_null(p);
    cr_assert_eq(eddy_watch_send(t, &r), 0);
    cr_assert_eq(eddy_watch_borrow(r, &p), 0);
    cr_assert_eq(p, r);
    eddy_watch_tx_release(t);
    eddy_watch_rx_release(r);
    eddy_channel_opts local = { .flavor = EDDY_SYNC_LOCAL };
    cr_assert_eq(eddy_watch_channel(&local, NULL, &t, &r), 0);
    cr_assert_eq(eddy_watch_changed(r), -EDEADLK, "LOCAL wait outside a task");
    eddy_watch_rx_release(r);
    eddy_watch_tx_release(t);
}

/* ---- threads (shared): a config published from a plain thread ---- */

struct config {
    uint64_t version;
    uint64_t check; /* version * 7: a torn read would break it */
};

enum { THREADS = 3, UPDATES = 500 };
static atomic_int torn;

static void *cfg_watcher(void *arg)
{
    eddy_watch_rx *r = arg;
    struct config c = { 0 };
    uint64_t last = 0;
    int rc;
    while ((rc = eddy_watch_changed(r)) == 0) {
        eddy_watch_borrow(r, &c);
        if (c.check != c.version * 7 || c.version < last)
            atomic_fetch_add(&torn, 1);
        last = c.version;
    }
    eddy_watch_rx_release(r);
    return rc == -EPIPE && last == UPDATES ? NULL : T_PTR(-1);
}

static void *cfg_thread(void *arg)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    void *res = T_PTR(-1);
    if (rt && eddy_local_runtime_block_on(rt, cfg_watcher, arg, &res) != 0)
        res = T_PTR(-1);
    if (rt)
        eddy_local_runtime_free(rt);
    return res;
}

Test(watch, publish_across_threads, .timeout = T_TIMEOUT)
{
    eddy_channel_opts o = { .elem_size = sizeof(struct config) };
    eddy_watch_tx *t;
    eddy_watch_rx *r;
    cr_assert_eq(eddy_watch_channel(&o, NULL, &t, &r), 0);
    pthread_t th[THREADS + 1];
    for (int i = 0; i < THREADS; i++)
        th[i] = t_thread_start(cfg_thread, eddy_watch_rx_clone(r));
    th[THREADS] = t_thread_start(cfg_watcher, eddy_watch_rx_clone(r)); /* plain */
    cr_assert_eq(eddy_watch_rx_release(r), 0);
    for (uint64_t v = 1; v <= UPDATES; v++) {
        struct config c = { v, v * 7 };
        cr_assert_eq(eddy_watch_send(t, &c), 0);
        if (v % 50 == 0)
            t_sleep_ms(1);
    }
    cr_assert_eq(eddy_watch_tx_release(t), 0);
    for (int i = 0; i <= THREADS; i++)
        cr_assert_eq(T_INT(t_thread_join(th[i])), 0, "watcher %d", i);
    cr_assert_eq(atomic_load(&torn), 0);
}
