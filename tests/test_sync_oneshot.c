/* oneshot, both flavors: send/recv, closed detection both ways, try_recv,
 * abort while receiving (the value stays for a later receive), deadlines,
 * element sizes, threads. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sync_util.h"

static eddy_sync_flavor flavor;
static eddy_oneshot_tx *tx;
static eddy_oneshot_rx *rx;
static void *got;

static void make(void)
{
    eddy_channel_opts o = { .flavor = flavor };
    cr_expect_eq(eddy_oneshot_channel(&o, &tx, &rx), 0);
}

static void *receiver(void *arg)
{
    (void)arg;
    return T_PTR(eddy_oneshot_recv(rx, &got));
}

/* ---- send, receive ---- */

static void *root_send_recv(void *arg)
{
    (void)arg;
    make();
    eddy_task *r = spawn(receiver, NULL);
    eddy_yield();
    void *v = &got;
    cr_expect_eq(eddy_oneshot_tx_is_closed(tx), 0);
    cr_expect_eq(eddy_oneshot_send(tx, &v), 0);
    cr_expect_eq(join_int(r, 0), 0);
    cr_expect_eq(got, &got);
    cr_expect_eq(eddy_oneshot_recv(rx, &got), -EPIPE, "a second receive");
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);

    /* Sent before anyone receives: try_recv gets it. */
    make();
    cr_expect_eq(eddy_oneshot_try_recv(rx, &got), -EAGAIN);
    v = NULL;
    cr_expect_eq(eddy_oneshot_send(tx, &v), 0);
    got = &got;
    cr_expect_eq(eddy_oneshot_try_recv(rx, &got), 0);
    cr_expect_null(got);
    cr_expect_eq(eddy_oneshot_try_recv(rx, &got), -EPIPE);
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);
    return NULL;
}

FLAVOR_TEST(oneshot, send_recv)

/* ---- closed detection, both ways ---- */

static void *closed_waiter(void *arg)
{
    (void)arg;
    return T_PTR(eddy_oneshot_tx_closed(tx));
}

static void *root_closed(void *arg)
{
    (void)arg;
    /* Sender dropped: the waiting receiver learns. */
    make();
    eddy_task *r = spawn(receiver, NULL);
    eddy_yield();
    cr_expect_eq(eddy_oneshot_tx_release(tx), 0);
    cr_expect_eq(join_int(r, 0), -EPIPE);
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);

    /* Receiver closed: the sender's closed() returns and sends fail. */
    make();
    eddy_task *c = spawn(closed_waiter, NULL);
    eddy_yield();
    cr_expect_eq(eddy_oneshot_rx_close(rx), 0);
    cr_expect_eq(join_int(c, 0), 0);
    cr_expect_eq(eddy_oneshot_tx_is_closed(tx), 1);
    void *v = &v;
    cr_expect_eq(eddy_oneshot_send(tx, &v), -EPIPE, "send after the receiver closed");
    cr_expect_eq(eddy_oneshot_recv(rx, &got), -EPIPE);
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);

    /* Receiver released first. */
    make();
    c = spawn(closed_waiter, NULL);
    eddy_yield();
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);
    cr_expect_eq(join_int(c, 0), 0);
    cr_expect_eq(eddy_oneshot_tx_closed(tx), 0, "already closed: at once");
    cr_expect_eq(eddy_oneshot_send(tx, &v), -EPIPE);

    /* A value sent before the close is still received. */
    make();
    cr_expect_eq(eddy_oneshot_send(tx, &v), 0);
    cr_expect_eq(eddy_oneshot_rx_close(rx), 0);
    cr_expect_eq(eddy_oneshot_recv(rx, &got), 0);
    cr_expect_eq(got, &v);
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);

    /* A value never received is dropped with the receiver. */
    make();
    cr_expect_eq(eddy_oneshot_send(tx, &v), 0);
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);
    return NULL;
}

static void closed(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_closed, NULL);
}
BOTH_FLAVORS(oneshot, closed_both_ways, closed)

/* ---- abort while receiving; deadlines ---- */

static void *root_abort(void *arg)
{
    (void)arg;
    make();
    eddy_task *r = spawn(receiver, NULL);
    eddy_yield();
    eddy_abort(r);
    cr_expect_eq(join_int(r, -ECANCELED), -ECANCELED);
    void *v = &v;
    cr_expect_eq(eddy_oneshot_send(tx, &v), 0, "the receiver is still there");
    r = spawn(receiver, NULL);
    cr_expect_eq(join_int(r, 0), 0);
    cr_expect_eq(got, &v);
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);

    /* Sent to the waiting receiver, which is aborted before it runs: the
     * value stays for the next receive. */
    make();
    got = NULL;
    r = spawn(receiver, NULL);
    eddy_yield();
    cr_expect_eq(eddy_oneshot_send(tx, &v), 0);
    eddy_abort(r);
    cr_expect_eq(join_int(r, -ECANCELED), -ECANCELED);
    cr_expect_eq(eddy_oneshot_try_recv(rx, &got), 0, "the value was lost");
    cr_expect_eq(got, &v);
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);

    make();
    cr_expect_eq(eddy_oneshot_recv_until(rx, &got, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_oneshot_tx_closed_until(tx, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_oneshot_send(tx, &v), 0);
    cr_expect_eq(eddy_oneshot_recv_until(rx, &got, eddy_deadline_in(5)), 0);
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);
    return NULL;
}

static void abort_(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_abort, NULL);
}
BOTH_FLAVORS(oneshot, abort_and_deadline, abort_)

/* In an aborted task, a receive fails with -ECANCELED even with the value
 * there, and leaves it; a send never suspends, so it still goes through. */
static void *aborted_calls(void *arg)
{
    eddy_oneshot_tx *reply = arg;
    while (!eddy_current_task_cancelled())
        eddy_yield();
    cr_expect_eq(eddy_oneshot_recv(rx, &got), -ECANCELED, "received in an aborted task");
    void *v = &got;
    return T_PTR(eddy_oneshot_send(reply, &v));
}

static void *root_aborted_calls(void *arg)
{
    (void)arg;
    make();
    eddy_oneshot_tx *reply_tx;
    eddy_oneshot_rx *reply_rx;
    eddy_channel_opts o = { .flavor = flavor };
    cr_expect_eq(eddy_oneshot_channel(&o, &reply_tx, &reply_rx), 0);
    void *v = &v;
    cr_expect_eq(eddy_oneshot_send(tx, &v), 0);
    got = NULL;
    eddy_task *a = spawn(aborted_calls, reply_tx);
    eddy_yield();
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), 0);
    cr_expect_null(got);
    cr_expect_eq(eddy_oneshot_try_recv(rx, &got), 0, "the value went with the aborted task");
    cr_expect_eq(got, &v);
    cr_expect_eq(eddy_oneshot_try_recv(reply_rx, &got), 0);
    cr_expect_eq(got, &got);
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);
    cr_expect_eq(eddy_oneshot_rx_release(reply_rx), 0);
    return NULL;
}

static void aborted_task_calls(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_aborted_calls, NULL);
}
BOTH_FLAVORS(oneshot, calls_in_an_aborted_task, aborted_task_calls)

/* ---- several receivers at once ---- */

/* A LOCAL receiver with no deadline waits in the channel itself, and only
 * one fits there: the others wait as the SHARED ones do. Whichever way
 * they wait, one receiver gets the value and the others learn that none
 * is left; and the place is free again after its receiver was aborted. */
static void *receive_into(void *out)
{
    return T_PTR(eddy_oneshot_recv(rx, out));
}

static void *receive_until_into(void *out)
{
    return T_PTR(eddy_oneshot_recv_until(rx, out, eddy_deadline_in(20000)));
}

static void *root_several_receivers(void *arg)
{
    (void)arg;
    make();
    void *out[3] = { NULL, NULL, NULL };
    eddy_task *r[3] = { spawn(receive_into, &out[0]), spawn(receive_into, &out[1]),
                        spawn(receive_until_into, &out[2]) };
    eddy_yield(); /* all three wait */
    void *v = &v;
    cr_expect_eq(eddy_oneshot_send(tx, &v), 0);
    int got_value = 0, got_epipe = 0;
    for (int i = 0; i < 3; i++) {
        int rc = join_int(r[i], 0);
        if (rc == 0 && out[i] == &v)
            got_value++;
        else if (rc == -EPIPE)
            got_epipe++;
    }
    cr_expect_eq(got_value, 1);
    cr_expect_eq(got_epipe, 2);
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);

    /* An aborted receiver leaves the place for the next one. */
    make();
    eddy_task *a = spawn(receive_into, &out[0]);
    eddy_yield();
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    out[1] = NULL;
    eddy_task *b = spawn(receive_into, &out[1]);
    eddy_yield(); /* b waits */
    cr_expect_eq(eddy_oneshot_send(tx, &v), 0);
    cr_expect_eq(join_int(b, 0), 0);
    cr_expect_eq(out[1], &v);
    cr_expect_eq(eddy_oneshot_rx_release(rx), 0);
    return NULL;
}

FLAVOR_TEST(oneshot, several_receivers)

/* ---- values of other sizes ---- */

struct big {
    uint64_t a[5];
    char s[13];
};

Test(oneshot, element_size, .timeout = T_TIMEOUT)
{
    eddy_channel_opts o = { .elem_size = sizeof(struct big) };
    eddy_oneshot_tx *t;
    eddy_oneshot_rx *r;
    cr_assert_eq(eddy_oneshot_channel(&o, &t, &r), 0);
    struct big in, out;
    memset(&in, 0, sizeof in); /* padding too: compared with memcmp */
    memset(&out, 0xff, sizeof out);
    for (int i = 0; i < 5; i++)
        in.a[i] = (uint64_t)i + 1;
    strcpy(in.s, "hello, world");
    cr_assert_eq(eddy_oneshot_send(t, &in), 0);
    cr_assert_eq(eddy_oneshot_try_recv(r, &out), 0);
    cr_assert_eq(memcmp(&in, &out, sizeof in), 0);
    cr_assert_eq(eddy_oneshot_rx_release(r), 0);
}

Test(oneshot, misuse, .timeout = T_TIMEOUT)
{
    eddy_oneshot_tx *t;
    eddy_oneshot_rx *r;
    cr_assert_eq(eddy_oneshot_channel(NULL, NULL, &r), -EINVAL);
    eddy_channel_opts bad = { .flavor = (eddy_sync_flavor)9 };
    cr_assert_eq(eddy_oneshot_channel(&bad, &t, &r), -EINVAL);
    eddy_channel_opts huge = { .elem_size = EDDY_CHANNEL_MAX_ELEM + 1 };
    cr_assert_eq(eddy_oneshot_channel(&huge, &t, &r), -EINVAL);
    cr_assert_eq(eddy_oneshot_send(NULL, &t), -EINVAL);
    cr_assert_eq(eddy_oneshot_recv(NULL, NULL), -EINVAL);
    eddy_channel_opts local = { .flavor = EDDY_SYNC_LOCAL };
    cr_assert_eq(eddy_oneshot_channel(&local, &t, &r), 0);
    cr_assert_eq(eddy_oneshot_recv(r, NULL), -EDEADLK, "LOCAL wait outside a task");
    cr_assert_eq(eddy_oneshot_send(t, NULL), -EINVAL, "NULL value: not consumed");
    cr_assert_eq(eddy_oneshot_tx_release(t), 0);
    cr_assert_eq(eddy_oneshot_recv(r, NULL), -EPIPE);
    cr_assert_eq(eddy_oneshot_rx_release(r), 0);
}

/* ---- threads (shared): plain thread sends to a task and back ---- */

static eddy_oneshot_tx *reply_tx;

static void *plain_sender(void *arg)
{
    (void)arg;
    t_sleep_ms(2);
    void *v = T_PTR(42);
    eddy_oneshot_send(tx, &v);
    void *back = NULL;
    int rc = eddy_oneshot_recv(rx, &back); /* blocks: rx is the reply's here */
    return rc ? T_PTR(-1) : back;
}

static eddy_oneshot_rx *req_rx;

static void *root_threads(void *arg)
{
    (void)arg;
    void *v = NULL;
    cr_expect_eq(eddy_oneshot_recv(req_rx, &v), 0);
    cr_expect_eq(T_INT(v), 42);
    void *reply = T_PTR(43);
    cr_expect_eq(eddy_oneshot_send(reply_tx, &reply), 0);
    return NULL;
}

Test(oneshot, task_and_plain_thread, .timeout = T_TIMEOUT)
{
    eddy_oneshot_rx *reply_rx;
    cr_assert_eq(eddy_oneshot_channel(NULL, &tx, &req_rx), 0);
    cr_assert_eq(eddy_oneshot_channel(NULL, &reply_tx, &reply_rx), 0);
    rx = reply_rx;
    pthread_t th = t_thread_start(plain_sender, NULL);
    t_run_local(root_threads, NULL);
    cr_assert_eq(T_INT(t_thread_join(th)), 43);
    cr_assert_eq(eddy_oneshot_rx_release(req_rx), 0);
    cr_assert_eq(eddy_oneshot_rx_release(reply_rx), 0);
}

/* Many channels, sender and receiver on different threads, either end
 * released first: no leak (valgrind/ASan), no race (TSan). */
enum { PAIRS = 500 };
static eddy_oneshot_tx *txs[PAIRS];
static eddy_oneshot_rx *rxs[PAIRS];

static void *send_all(void *arg)
{
    (void)arg;
    for (int i = 0; i < PAIRS; i++) {
        void *v = T_PTR(i);
        if (i % 5 == 0)
            eddy_oneshot_tx_release(txs[i]);
        else
            eddy_oneshot_send(txs[i], &v);
    }
    return NULL;
}

static void *recv_all(void *arg)
{
    (void)arg;
    int bad = 0;
    for (int i = 0; i < PAIRS; i++) {
        void *v = NULL;
        int rc = eddy_oneshot_recv(rxs[i], &v);
        if (i % 5 == 0 ? rc != -EPIPE : (rc != 0 || T_INT(v) != i))
            bad++;
        eddy_oneshot_rx_release(rxs[i]);
    }
    return T_PTR(bad);
}

Test(oneshot, many_across_threads, .timeout = T_TIMEOUT)
{
    for (int i = 0; i < PAIRS; i++)
        cr_assert_eq(eddy_oneshot_channel(NULL, &txs[i], &rxs[i]), 0);
    pthread_t s = t_thread_start(send_all, NULL);
    cr_assert_eq(T_INT(t_run_local(recv_all, NULL)), 0);
    t_thread_join(s);
}
