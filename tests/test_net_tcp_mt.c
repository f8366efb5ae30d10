/* TCP on the multi-thread runtime: tasks that wait on sockets migrate
 * between workers, and readiness found by one worker's driver wakes tasks
 * that run on another. Loopback only. */
#include "test_net_util.h"

#define CONNS 200
#define ROUNDS 20

static eddy_tcp_listener *listener;
static atomic_int ok;

static void *echo_conn(void *arg)
{
    eddy_tcp_stream *s = arg;
    char buf[256];
    ssize_t n;
    while ((n = eddy_tcp_read(s, buf, sizeof buf)) > 0)
        if (eddy_tcp_write_all(s, buf, (size_t)n, NULL) != 0)
            break;
    eddy_tcp_stream_close(s);
    return NULL;
}

static void *server(void *arg)
{
    (void)arg;
    eddy_join_set *set = eddy_join_set_new();
    for (int i = 0; i < CONNS; i++) {
        eddy_tcp_stream *s = NULL;
        int rc = eddy_tcp_accept(listener, &s, NULL);
        if (rc != 0) {
            cr_log_error("accept: %s", eddy_strerror(rc));
            break;
        }
        eddy_join_set_spawn(set, NULL, echo_conn, s);
    }
    while (eddy_join_set_join_next(set, NULL, NULL) != -ENOENT) {
    }
    eddy_join_set_free(set);
    return NULL;
}

static void *client(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    eddy_tcp_stream *c = NULL;
    if (eddy_tcp_connect("127.0.0.1", (uint16_t)eddy_tcp_listener_port(listener), &c) != 0)
        return NULL;
    bool good = true;
    for (unsigned r = 0; r < ROUNDS && good; r++) {
        unsigned char out[100], in[100];
        t_pattern(out, sizeof out, id * ROUNDS + r);
        good = eddy_tcp_write_all(c, out, sizeof out, NULL) == 0 &&
               eddy_tcp_read_exact(c, in, sizeof in, NULL) == 0 &&
               memcmp(in, out, sizeof out) == 0;
    }
    if (good)
        atomic_fetch_add(&ok, 1);
    eddy_tcp_stream_close(c);
    return NULL;
}

static void *root(void *arg)
{
    (void)arg;
    eddy_tcp_listen_opts o = { 0 };
    listener = eddy_tcp_listen("127.0.0.1", 0, &o);
    if (!listener)
        return T_PTR(0);
    eddy_task *srv = eddy_spawn(server, NULL);
    eddy_join_set *set = eddy_join_set_new();
    for (unsigned i = 0; i < CONNS; i++)
        eddy_join_set_spawn(set, NULL, client, (void *)(uintptr_t)i);
    while (eddy_join_set_join_next(set, NULL, NULL) != -ENOENT) {
    }
    eddy_join_set_free(set);
    eddy_join(srv, NULL);
    eddy_tcp_listener_close(listener);
    return T_PTR(atomic_load(&ok));
}

Test(tcp_mt, echo_on_the_multi_thread_runtime, .timeout = 60)
{
    eddy_runtime_opts o = { .flavor = EDDY_FLAVOR_MULTI_THREAD, .worker_threads = 4 };
    eddy_runtime *rt = eddy_runtime_new(&o);
    cr_assert_not_null(rt, "eddy_runtime_new(multi_thread): %s", strerror(errno));
    void *res = NULL;
    int rc = eddy_runtime_block_on(rt, root, NULL, &res);
    cr_assert_eq(rc, 0, "block_on: %s", eddy_strerror(rc));
    cr_assert_eq(eddy_runtime_free(rt), 0);
    cr_assert_eq(T_INT(res), CONNS);
}
