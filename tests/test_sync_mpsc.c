/* mpsc, both flavors: FIFO, bounded backpressure, unbounded, many senders,
 * recv_many, try_*, closing from either side (every value sent before the
 * close is received), abort of a waiting sender (its slot goes to the next
 * sender) or receiver (the value stays), deadlines, element sizes, and many
 * producers on many threads into one channel with nothing lost or
 * duplicated. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "sync_util.h"

#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#endif
#endif
#ifndef RUNNING_ON_VALGRIND
#define RUNNING_ON_VALGRIND 0
#endif

static eddy_sync_flavor flavor;
static eddy_mpsc_tx *tx;
static eddy_mpsc_rx *rx;

/* Channels of uint64_t values. capacity 0: unbounded. */
static void make(size_t capacity)
{
    eddy_channel_opts o = { .flavor = flavor, .elem_size = sizeof(uint64_t) };
    int rc = capacity ? eddy_mpsc_channel(&o, capacity, &tx, &rx)
                      : eddy_mpsc_unbounded_channel(&o, &tx, &rx);
    cr_expect_eq(rc, 0);
}

static int send_u64(eddy_mpsc_tx *t, uint64_t v)
{
    return eddy_mpsc_send(t, &v);
}

/* ---- FIFO, bounded and unbounded ---- */

static void *root_fifo(void *arg)
{
    (void)arg;
    for (int bounded = 0; bounded < 2; bounded++) {
        make(bounded ? 100 : 0);
        for (uint64_t i = 0; i < 100; i++)
            cr_expect_eq(send_u64(tx, i), 0);
        cr_expect_eq(eddy_mpsc_rx_len(rx), 100);
        for (uint64_t i = 0; i < 100; i++) {
            uint64_t v = 999;
            cr_expect_eq(eddy_mpsc_recv(rx, &v), 0);
            cr_expect_eq(v, i);
        }
        uint64_t v;
        cr_expect_eq(eddy_mpsc_try_recv(rx, &v), -EAGAIN);
        cr_expect_eq(eddy_mpsc_tx_release(tx), 0);
        cr_expect_eq(eddy_mpsc_recv(rx, &v), -EPIPE);
        cr_expect_eq(eddy_mpsc_rx_release(rx), 0);
    }
    return NULL;
}

FLAVOR_TEST(mpsc, fifo)

/* The ring wraps and grows with values in it: order survives. */
static void *root_wrap(void *arg)
{
    (void)arg;
    make(0);
    uint64_t next_in = 0, next_out = 0;
    for (int round = 0; round < 40; round++) {
        for (int k = 0; k < round * 3 + 1; k++)
            cr_expect_eq(send_u64(tx, next_in++), 0);
        for (int k = 0; k < round * 2 + 1; k++) {
            uint64_t v;
            cr_expect_eq(eddy_mpsc_try_recv(rx, &v), 0);
            cr_expect_eq(v, next_out++);
        }
    }
    uint64_t v;
    while (eddy_mpsc_try_recv(rx, &v) == 0)
        cr_expect_eq(v, next_out++);
    cr_expect_eq(next_out, next_in);
    eddy_mpsc_tx_release(tx);
    eddy_mpsc_rx_release(rx);
    return NULL;
}

static void wrap(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_wrap, NULL);
}
BOTH_FLAVORS(mpsc, ring_wraps_and_grows, wrap)

/* ---- bounded: backpressure ---- */

enum { CAP = 4, BP_TOTAL = 40 };
static int bp_sent;

static void *bp_producer(void *arg)
{
    (void)arg;
    for (int i = 0; i < BP_TOTAL; i++) {
        int rc = send_u64(tx, (uint64_t)i);
        if (rc)
            return T_PTR(rc);
        bp_sent++;
    }
    return NULL;
}

static void *root_backpressure(void *arg)
{
    (void)arg;
    make(CAP);
    eddy_task *p = spawn(bp_producer, NULL);
    yield_n(5);
    cr_expect_eq(bp_sent, CAP, "the sender did not stop at the capacity");
    cr_expect_eq(eddy_mpsc_rx_len(rx), CAP);
    cr_expect_eq(eddy_mpsc_try_send(tx, &(uint64_t){ 1 }), -EAGAIN);
    int received = 0;
    while (received < BP_TOTAL) {
        uint64_t v;
        cr_expect_eq(eddy_mpsc_recv(rx, &v), 0);
        cr_expect_eq(v, (uint64_t)received);
        received++;
        cr_expect_leq(bp_sent - received, CAP, "more than capacity in flight");
        yield_n(2);
    }
    cr_expect_eq(join_int(p, 0), 0);
    eddy_mpsc_tx_release(tx);
    eddy_mpsc_rx_release(rx);
    return NULL;
}

static void backpressure(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_backpressure, NULL);
}
BOTH_FLAVORS(mpsc, bounded_backpressure, backpressure)

/* A slot freed while a sender waits is that sender's: a send made after it
 * (even one that could take a slot at once) queues behind it. The short
 * path of a LOCAL send relies on this: it looks only at the free slots. */
static void *late_sender(void *arg)
{
    return T_PTR(send_u64(tx, (uint64_t)(uintptr_t)arg));
}

static void *root_waiting_sender_first(void *arg)
{
    (void)arg;
    make(1);
    cr_expect_eq(send_u64(tx, 1), 0);
    eddy_task *early = spawn(late_sender, (void *)(uintptr_t)2);
    yield_n(3); /* early waits for room */
    uint64_t v = 0;
    cr_expect_eq(eddy_mpsc_recv(rx, &v), 0);
    cr_expect_eq(v, 1);
    /* The freed slot went to early, which has not run yet. */
    cr_expect_eq(eddy_mpsc_try_send(tx, &(uint64_t){ 9 }), -EAGAIN);
    eddy_task *late = spawn(late_sender, (void *)(uintptr_t)3);
    for (uint64_t want = 2; want <= 3; want++) {
        cr_expect_eq(eddy_mpsc_recv(rx, &v), 0);
        cr_expect_eq(v, want, "a later sender overtook the one waiting");
    }
    cr_expect_eq(join_int(early, 0), 0);
    cr_expect_eq(join_int(late, 0), 0);
    eddy_mpsc_tx_release(tx);
    eddy_mpsc_rx_release(rx);
    return NULL;
}

FLAVOR_TEST(mpsc, waiting_sender_first)

/* ---- many senders, recv_many, sender-side close ---- */

enum { SENDERS = 6, PER_SENDER = 50 };

static void *sender_task(void *arg)
{
    eddy_mpsc_tx *t = arg;
    uint64_t id = eddy_current_task_id();
    for (uint64_t i = 0; i < PER_SENDER; i++) {
        int rc = send_u64(t, (id << 32) | i);
        if (rc) {
            eddy_mpsc_tx_release(t);
            return T_PTR(rc);
        }
        if (i % 7 == 0)
            eddy_yield();
    }
    eddy_mpsc_tx_release(t); /* the last one closes the channel */
    return NULL;
}

static void *root_many_senders(void *arg)
{
    (void)arg;
    make(8);
    eddy_task *t[SENDERS];
    for (int i = 0; i < SENDERS; i++)
        t[i] = spawn(sender_task, eddy_mpsc_tx_clone(tx));
    cr_expect_eq(eddy_mpsc_tx_release(tx), 0); /* only the tasks' clones left */
    uint64_t next[SENDERS] = { 0 };
    uint64_t first_id = eddy_task_id(t[0]);
    int total = 0;
    for (;;) {
        uint64_t buf[5];
        ssize_t n = eddy_mpsc_recv_many(rx, buf, 5);
        if (n == -EPIPE)
            break;
        cr_expect_gt(n, 0);
        cr_expect_leq(n, 5);
        if (n <= 0)
            break;
        for (ssize_t k = 0; k < n; k++) {
            size_t s = (size_t)((buf[k] >> 32) - first_id);
            cr_expect_lt(s, SENDERS);
            if (s >= SENDERS)
                continue;
            cr_expect_eq(buf[k] & 0xffffffffu, next[s], "sender %zu out of order", s);
            next[s]++;
            total++;
        }
    }
    cr_expect_eq(total, SENDERS * PER_SENDER, "the receiver saw -EPIPE before the end");
    for (int i = 0; i < SENDERS; i++)
        cr_expect_eq(join_int(t[i], 0), 0);
    cr_expect_eq(eddy_mpsc_rx_release(rx), 0);
    return NULL;
}

static void many_senders(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_many_senders, NULL);
}
BOTH_FLAVORS(mpsc, many_senders_recv_many_close_by_senders, many_senders)

/* A receiver waiting when the last sender goes learns at once. */
static void *recv_one(void *arg)
{
    uint64_t *out = arg;
    return T_PTR(eddy_mpsc_recv(rx, out));
}

static void *root_last_sender_wakes(void *arg)
{
    (void)arg;
    make(2);
    uint64_t v;
    eddy_task *r = spawn(recv_one, &v);
    yield_n(2);
    eddy_mpsc_tx *t2 = eddy_mpsc_tx_clone(tx);
    cr_expect_eq(t2, tx, "a clone is the same handle");
    eddy_mpsc_tx_release(tx);
    yield_n(2);
    cr_expect(!eddy_is_finished(r), "one sender is left");
    eddy_mpsc_tx_release(t2);
    cr_expect_eq(join_int(r, 0), -EPIPE);
    eddy_mpsc_rx_release(rx);
    return NULL;
}

static void last_sender_wakes(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_last_sender_wakes, NULL);
}
BOTH_FLAVORS(mpsc, last_sender_release_wakes_receiver, last_sender_wakes)

/* ---- receiver-side close ---- */

static void *send_one(void *arg)
{
    return T_PTR(send_u64(tx, (uint64_t)(uintptr_t)arg));
}

static void *tx_closed_task(void *arg)
{
    (void)arg;
    return T_PTR(eddy_mpsc_tx_closed(tx));
}

static void *root_rx_close(void *arg)
{
    (void)arg;
    make(2);
    cr_expect_eq(send_u64(tx, 1), 0);
    cr_expect_eq(send_u64(tx, 2), 0);
    eddy_task *w1 = spawn(send_one, (void *)3); /* both wait: full */
    eddy_task *w2 = spawn(send_one, (void *)4);
    eddy_task *c = spawn(tx_closed_task, NULL);
    yield_n(3);
    cr_expect_eq(eddy_mpsc_tx_is_closed(tx), 0);
    cr_expect_eq(eddy_mpsc_rx_close(rx), 0);
    cr_expect_eq(join_int(w1, 0), -EPIPE, "a waiting sender outlived the close");
    cr_expect_eq(join_int(w2, 0), -EPIPE);
    cr_expect_eq(join_int(c, 0), 0);
    cr_expect_eq(eddy_mpsc_tx_is_closed(tx), 1);
    cr_expect_eq(send_u64(tx, 5), -EPIPE);
    cr_expect_eq(eddy_mpsc_try_send(tx, &(uint64_t){ 5 }), -EPIPE);
    uint64_t v;
    cr_expect_eq(eddy_mpsc_recv(rx, &v), 0, "values sent before the close are kept");
    cr_expect_eq(v, 1);
    cr_expect_eq(eddy_mpsc_recv(rx, &v), 0);
    cr_expect_eq(v, 2);
    cr_expect_eq(eddy_mpsc_recv(rx, &v), -EPIPE);
    cr_expect_eq(eddy_mpsc_try_recv(rx, &v), -EPIPE);
    cr_expect_eq(eddy_mpsc_rx_release(rx), 0);
    cr_expect_eq(eddy_mpsc_tx_release(tx), 0);

    /* Releasing the receiver drops what is queued; senders learn. */
    make(0);
    cr_expect_eq(send_u64(tx, 1), 0);
    cr_expect_eq(eddy_mpsc_rx_release(rx), 0);
    cr_expect_eq(eddy_mpsc_tx_is_closed(tx), 1);
    cr_expect_eq(send_u64(tx, 2), -EPIPE);
    cr_expect_eq(eddy_mpsc_tx_closed(tx), 0);
    cr_expect_eq(eddy_mpsc_tx_release(tx), 0);
    return NULL;
}

static void rx_close(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_rx_close, NULL);
}
BOTH_FLAVORS(mpsc, close_by_receiver, rx_close)

/* ---- abort of a waiting sender: its slot goes to the next sender ---- */

static void *root_abort_sender(void *arg)
{
    (void)arg;
    make(1);
    cr_expect_eq(send_u64(tx, 1), 0); /* full */
    eddy_task *a = spawn(send_one, (void *)2);
    eddy_task *b = spawn(send_one, (void *)3);
    yield_n(3);
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    uint64_t v;
    cr_expect_eq(eddy_mpsc_recv(rx, &v), 0);
    cr_expect_eq(v, 1);
    cr_expect_eq(join_int(b, 0), 0, "the next sender did not get the slot");
    cr_expect_eq(eddy_mpsc_recv(rx, &v), 0);
    cr_expect_eq(v, 3, "the aborted send went through");
    cr_expect_eq(eddy_mpsc_try_recv(rx, &v), -EAGAIN);

    /* The slot was granted to the sender, which is aborted before it ran:
     * the slot passes to the next one. */
    cr_expect_eq(send_u64(tx, 4), 0); /* full again */
    a = spawn(send_one, (void *)5);
    b = spawn(send_one, (void *)6);
    yield_n(3);
    cr_expect_eq(eddy_mpsc_recv(rx, &v), 0); /* frees the slot: granted to a */
    cr_expect_eq(v, 4);
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), -ECANCELED);
    cr_expect_eq(join_int(b, 0), 0, "the granted slot was lost");
    cr_expect_eq(eddy_mpsc_recv(rx, &v), 0);
    cr_expect_eq(v, 6);
    /* Capacity intact: exactly one fits. */
    cr_expect_eq(eddy_mpsc_try_send(tx, &(uint64_t){ 7 }), 0);
    cr_expect_eq(eddy_mpsc_try_send(tx, &(uint64_t){ 8 }), -EAGAIN);
    eddy_mpsc_tx_release(tx);
    eddy_mpsc_rx_release(rx);
    return NULL;
}

static void abort_sender(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_abort_sender, NULL);
}
BOTH_FLAVORS(mpsc, abort_waiting_sender, abort_sender)

/* ---- abort of a waiting receiver: the value stays queued ---- */

static void *root_abort_receiver(void *arg)
{
    (void)arg;
    make(4);
    uint64_t v = 0;
    eddy_task *r = spawn(recv_one, &v);
    yield_n(2);
    eddy_abort(r);
    cr_expect_eq(join_int(r, -ECANCELED), -ECANCELED);
    cr_expect_eq(send_u64(tx, 7), 0);
    cr_expect_eq(eddy_mpsc_recv(rx, &v), 0);
    cr_expect_eq(v, 7);

    /* Woken by the send, aborted before it ran: the value is not lost. */
    r = spawn(recv_one, &v);
    yield_n(2);
    cr_expect_eq(send_u64(tx, 8), 0);
    eddy_abort(r);
    cr_expect_eq(join_int(r, -ECANCELED), -ECANCELED);
    cr_expect_eq(eddy_mpsc_try_recv(rx, &v), 0, "the value went with the aborted receiver");
    cr_expect_eq(v, 8);
    eddy_mpsc_tx_release(tx);
    eddy_mpsc_rx_release(rx);
    return NULL;
}

static void abort_receiver(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_abort_receiver, NULL);
}
BOTH_FLAVORS(mpsc, abort_waiting_receiver, abort_receiver)

/* ---- deadlines ---- */

static void *root_deadlines(void *arg)
{
    (void)arg;
    make(1);
    uint64_t v;
    cr_expect_eq(eddy_mpsc_recv_until(rx, &v, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_mpsc_recv_many_until(rx, &v, 1, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_mpsc_send_until(tx, &(uint64_t){ 1 }, eddy_deadline_in(5)), 0);
    cr_expect_eq(eddy_mpsc_send_until(tx, &(uint64_t){ 2 }, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_mpsc_tx_closed_until(tx, eddy_deadline_in(5)), -ETIMEDOUT);
    cr_expect_eq(eddy_mpsc_recv_until(rx, &v, eddy_deadline_in(5)), 0);
    cr_expect_eq(v, 1);
    cr_expect_eq(eddy_mpsc_try_send(tx, &(uint64_t){ 3 }), 0, "the timed-out sender kept the slot");
    eddy_mpsc_tx_release(tx);
    eddy_mpsc_rx_release(rx);
    return NULL;
}

FLAVOR_TEST(mpsc, deadlines)

/* ---- values: pointers by default, any size ---- */

struct rec {
    uint32_t id;
    char name[27];
};

static void *root_sizes(void *arg)
{
    (void)arg;
    eddy_mpsc_tx *t;
    eddy_mpsc_rx *r;
    eddy_channel_opts o = { .flavor = flavor };
    cr_expect_eq(eddy_mpsc_channel(&o, 3, &t, &r), 0); /* void * values */
    int x;
    void *p = &x;
    cr_expect_eq(eddy_mpsc_send(t, &p), 0);
    p = NULL;
    cr_expect_eq(eddy_mpsc_recv(r, &p), 0);
    cr_expect_eq(p, &x);
    eddy_mpsc_tx_release(t);
    eddy_mpsc_rx_release(r);

    o.elem_size = sizeof(struct rec);
    cr_expect_eq(eddy_mpsc_unbounded_channel(&o, &t, &r), 0);
    for (uint32_t i = 0; i < 100; i++) {
        struct rec in = { .id = i };
        snprintf(in.name, sizeof in.name, "record %u", i);
        cr_expect_eq(eddy_mpsc_send(t, &in), 0);
    }
    for (uint32_t i = 0; i < 100; i++) {
        struct rec out;
        char want[27];
        snprintf(want, sizeof want, "record %u", i);
        cr_expect_eq(eddy_mpsc_recv(r, &out), 0);
        cr_expect_eq(out.id, i);
        cr_expect_str_eq(out.name, want);
    }
    cr_expect_eq(eddy_mpsc_send(t, &(struct rec){ 0 }), 0);
    cr_expect_eq(eddy_mpsc_recv(r, NULL), 0, "NULL discards");
    eddy_mpsc_tx_release(t);
    eddy_mpsc_rx_release(r);
    return NULL;
}

static void sizes(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_sizes, NULL);
}
BOTH_FLAVORS(mpsc, element_sizes, sizes)

Test(mpsc, misuse, .timeout = T_TIMEOUT)
{
    eddy_mpsc_tx *t;
    eddy_mpsc_rx *r;
    cr_assert_eq(eddy_mpsc_channel(NULL, 0, &t, &r), -EINVAL, "capacity 0");
    cr_assert_eq(eddy_mpsc_channel(NULL, 1, NULL, &r), -EINVAL);
    cr_assert_eq(eddy_mpsc_send(NULL, &t), -EINVAL);
    cr_assert_eq(eddy_mpsc_recv(NULL, NULL), -EINVAL);
    cr_assert_null(eddy_mpsc_tx_clone(NULL));
    cr_assert_eq(eddy_mpsc_channel(NULL, 1, &t, &r), 0);
    cr_assert_eq(eddy_mpsc_send(t, NULL), -EINVAL);
    cr_assert_eq(eddy_mpsc_recv_many(r, NULL, 0), -EINVAL);
    eddy_mpsc_tx_release(t);
    eddy_mpsc_rx_release(r);
    eddy_channel_opts local = { .flavor = EDDY_SYNC_LOCAL };
    cr_assert_eq(eddy_mpsc_channel(&local, 1, &t, &r), 0);
    void *p = NULL;
    cr_assert_eq(eddy_mpsc_recv(r, &p), -EDEADLK, "LOCAL wait outside a task");
    cr_assert_eq(eddy_mpsc_send(t, &p), 0);
    cr_assert_eq(eddy_mpsc_send(t, &p), -EDEADLK);
    cr_assert_eq(eddy_mpsc_recv(r, &p), 0);
    eddy_mpsc_tx_release(t);
    eddy_mpsc_rx_release(r);
}

/* In an aborted task, a bounded send and a receive fail with -ECANCELED
 * even when they could complete at once, and change nothing; an unbounded
 * send never suspends, so it still goes through (to report, say, that the
 * task was cancelled). */
static eddy_mpsc_tx *btx;
static eddy_mpsc_rx *brx;

static void *aborted_calls(void *arg)
{
    (void)arg;
    while (!eddy_current_task_cancelled())
        eddy_yield();
    uint64_t v = 0;
    cr_expect_eq(send_u64(btx, 5), -ECANCELED, "a bounded send went through in an aborted task");
    cr_expect_eq(eddy_mpsc_recv(brx, &v), -ECANCELED, "a receive went through in an aborted task");
    return T_PTR(send_u64(tx, 9));
}

static void *root_aborted_calls(void *arg)
{
    (void)arg;
    make(0);
    eddy_channel_opts o = { .flavor = flavor, .elem_size = sizeof(uint64_t) };
    cr_expect_eq(eddy_mpsc_channel(&o, 4, &btx, &brx), 0);
    cr_expect_eq(send_u64(btx, 7), 0); /* room left, and a value to receive */
    eddy_task *a = spawn(aborted_calls, NULL);
    eddy_yield();
    eddy_abort(a);
    cr_expect_eq(join_int(a, -ECANCELED), 0);
    uint64_t v;
    cr_expect_eq(eddy_mpsc_try_recv(brx, &v), 0);
    cr_expect_eq(v, 7, "the queued value was lost");
    cr_expect_eq(eddy_mpsc_try_recv(brx, &v), -EAGAIN, "the aborted send queued a value");
    cr_expect_eq(eddy_mpsc_try_recv(rx, &v), 0);
    cr_expect_eq(v, 9);
    eddy_mpsc_tx_release(btx);
    eddy_mpsc_rx_release(brx);
    eddy_mpsc_tx_release(tx);
    eddy_mpsc_rx_release(rx);
    return NULL;
}

static void aborted_task_calls(eddy_sync_flavor f)
{
    flavor = f;
    t_run_local(root_aborted_calls, NULL);
}
BOTH_FLAVORS(mpsc, calls_in_an_aborted_task, aborted_task_calls)

/* ---- many producers on many threads into one channel ---- */

enum { RT_THREADS = 4, RT_TASKS = 4, PLAIN_THREADS = 2,
       PRODUCERS = RT_THREADS * RT_TASKS + PLAIN_THREADS };
static int per_producer = 2500;
static eddy_mpsc_tx *mp_tx[PRODUCERS]; /* one sender clone per producer */

static void *produce(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg;
    eddy_mpsc_tx *t = mp_tx[id];
    int rc = 0;
    for (uint64_t i = 0; i < (uint64_t)per_producer && rc == 0; i++) {
        uint64_t v = (id << 32) | i;
        rc = (i % 3 == 2) ? eddy_mpsc_send_until(t, &v, EDDY_INSTANT_NEVER)
                          : eddy_mpsc_send(t, &v);
    }
    eddy_mpsc_tx_release(t);
    return T_PTR(rc);
}

static void *producer_root(void *arg)
{
    int base = T_INT(arg);
    eddy_task *t[RT_TASKS];
    int bad = 0;
    for (int i = 0; i < RT_TASKS; i++)
        t[i] = eddy_spawn(produce, (void *)(uintptr_t)(base + i));
    for (int i = 0; i < RT_TASKS; i++) {
        void *r = NULL;
        if (!t[i] || eddy_join(t[i], &r) != 0 || r)
            bad++;
    }
    return T_PTR(bad);
}

static void *producer_thread(void *arg)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    void *res = T_PTR(-1);
    if (rt && eddy_local_runtime_block_on(rt, producer_root, arg, &res) != 0)
        res = T_PTR(-1);
    if (rt)
        eddy_local_runtime_free(rt);
    return res;
}

static uint32_t mp_next[PRODUCERS]; /* per producer: next sequence number expected */
static long mp_total, mp_dups_or_gaps;

static void consume(uint64_t v)
{
    uint64_t id = v >> 32, seq = v & 0xffffffffu;
    if (id >= PRODUCERS || seq != mp_next[id]) {
        mp_dups_or_gaps++;
        return;
    }
    mp_next[id]++;
    mp_total++;
}

/* Receives until the channel closes; returns the code that ended it. */
static void *consumer_root(void *arg)
{
    eddy_mpsc_rx *r = arg;
    for (unsigned n = 0;; n++) {
        if (n % 2) {
            uint64_t buf[7];
            ssize_t k = eddy_mpsc_recv_many(r, buf, 7);
            if (k < 0)
                return T_PTR(k);
            for (ssize_t i = 0; i < k; i++)
                consume(buf[i]);
        } else {
            uint64_t v;
            int rc = eddy_mpsc_recv(r, &v);
            if (rc < 0)
                return T_PTR(rc);
            consume(v);
        }
    }
}

/* PRODUCERS producers (tasks on RT_THREADS LocalRuntime threads, and plain
 * threads) send per_producer numbered values each; the consumer (a task, or
 * this plain thread) checks that every producer's values arrive once each,
 * in order, and that the channel closes after the last one. */
static void many_producers(size_t capacity, bool consumer_is_plain)
{
    if (RUNNING_ON_VALGRIND)
        per_producer = 300;
    eddy_channel_opts o = { .elem_size = sizeof(uint64_t) };
    eddy_mpsc_tx *tx0;
    eddy_mpsc_rx *r;
    int rc = capacity ? eddy_mpsc_channel(&o, capacity, &tx0, &r)
                      : eddy_mpsc_unbounded_channel(&o, &tx0, &r);
    cr_assert_eq(rc, 0);
    for (int i = 0; i < PRODUCERS; i++)
        cr_assert_not_null(mp_tx[i] = eddy_mpsc_tx_clone(tx0));
    /* Only the producers' clones are left: the channel closes exactly when
     * the last producer is done. */
    cr_assert_eq(eddy_mpsc_tx_release(tx0), 0);
    pthread_t th[RT_THREADS + PLAIN_THREADS];
    for (int i = 0; i < RT_THREADS; i++)
        th[i] = t_thread_start(producer_thread, T_PTR(i * RT_TASKS));
    for (int i = 0; i < PLAIN_THREADS; i++)
        th[RT_THREADS + i] =
            t_thread_start(produce, (void *)(uintptr_t)(RT_THREADS * RT_TASKS + i));
    void *res = consumer_is_plain ? consumer_root(r) : t_run_local(consumer_root, r);
    for (int i = 0; i < RT_THREADS + PLAIN_THREADS; i++)
        cr_assert_eq(T_INT(t_thread_join(th[i])), 0, "producer thread %d failed", i);
    cr_assert_eq(T_INT(res), -EPIPE, "the consumer ended with %d", T_INT(res));
    cr_assert_eq(mp_dups_or_gaps, 0, "values lost, duplicated or reordered");
    cr_assert_eq(mp_total, (long)PRODUCERS * per_producer);
    for (int i = 0; i < PRODUCERS; i++)
        cr_assert_eq(mp_next[i], (uint32_t)per_producer, "producer %d", i);
    cr_assert_eq(eddy_mpsc_rx_release(r), 0);
}

Test(mpsc, many_producers_many_threads_bounded, .timeout = T_TIMEOUT)
{
    many_producers(16, false);
}

Test(mpsc, many_producers_many_threads_capacity_one, .timeout = T_TIMEOUT)
{
    many_producers(1, false);
}

Test(mpsc, many_producers_many_threads_unbounded, .timeout = T_TIMEOUT)
{
    many_producers(0, false);
}

Test(mpsc, many_producers_plain_thread_consumer, .timeout = T_TIMEOUT)
{
    many_producers(8, true);
}
