/* 1,000 concurrent TCP connections echoing through one LocalRuntime: a
 * server task, a handler task per connection and 1,000 client tasks, all on
 * the one thread. Every connection stays open until all of them have
 * echoed, so the 1,000 are really open (and waited on) at the same time. */
#include "test_net_util.h"

#include <sys/resource.h>

#define N 1000
#define MSG 64

static eddy_tcp_listener *listener;
static eddy_tcp_stream *server_side[N];
static atomic_int accepted, echoed, clients_ok;

static void *handler(void *arg)
{
    eddy_tcp_stream *s = arg;
    unsigned char buf[MSG];
    int rc = eddy_tcp_read_exact(s, buf, MSG, NULL);
    cr_expect_eq(rc, 0, "server read_exact: %s", eddy_strerror(rc));
    rc = eddy_tcp_write_all(s, buf, MSG, NULL);
    cr_expect_eq(rc, 0, "server write_all: %s", eddy_strerror(rc));
    atomic_fetch_add(&echoed, 1);
    /* Wait for the client to finish; its close is our end of stream. */
    char b;
    ssize_t n = eddy_tcp_read(s, &b, 1);
    cr_expect_eq(n, 0, "server: expected end of stream, got %zd", n);
    eddy_tcp_stream_close(s);
    return NULL;
}

static void *server(void *arg)
{
    (void)arg;
    eddy_join_set *set = eddy_join_set_new();
    for (int i = 0; i < N; i++) {
        eddy_tcp_stream *s = NULL;
        int rc = eddy_tcp_accept(listener, &s, NULL);
        cr_expect_eq(rc, 0, "accept #%d: %s", i, eddy_strerror(rc));
        if (rc != 0)
            break;
        server_side[i] = s;
        atomic_fetch_add(&accepted, 1);
        cr_expect(eddy_join_set_spawn(set, NULL, handler, s) > 0);
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
    int rc = eddy_tcp_connect("127.0.0.1", (uint16_t)eddy_tcp_listener_port(listener), &c);
    cr_expect_eq(rc, 0, "client %u connect: %s", id, eddy_strerror(rc));
    if (rc != 0)
        return NULL;
    unsigned char out[MSG], in[MSG];
    t_pattern(out, MSG, id);
    rc = eddy_tcp_write_all(c, out, MSG, NULL);
    cr_expect_eq(rc, 0, "client %u write_all: %s", id, eddy_strerror(rc));
    rc = eddy_tcp_read_exact(c, in, MSG, NULL);
    cr_expect_eq(rc, 0, "client %u read_exact: %s", id, eddy_strerror(rc));
    bool same = rc == 0 && memcmp(in, out, MSG) == 0;
    cr_expect(same, "client %u: echo differs", id);
    /* Stay connected until every connection has echoed: the go byte. */
    char go = 0;
    rc = eddy_tcp_read_exact(c, &go, 1, NULL);
    cr_expect(rc == 0 && go == 'g', "client %u: go: %d", id, rc);
    if (same && go == 'g')
        atomic_fetch_add(&clients_ok, 1);
    eddy_tcp_stream_close(c);
    return NULL;
}

static void *root(void *arg)
{
    (void)arg;
    listener = t_listen("127.0.0.1", 0);
    if (!listener)
        return T_PTR(0);
    eddy_task *srv = eddy_spawn(server, NULL);
    eddy_join_set *clients = eddy_join_set_new();
    for (unsigned i = 0; i < N; i++)
        cr_expect(eddy_join_set_spawn(clients, NULL, client, (void *)(uintptr_t)i) > 0);
    /* Every connection is open and has echoed: let the clients go. */
    while (atomic_load(&echoed) < N && eddy_sleep(1) == 0) {
    }
    cr_expect_eq(atomic_load(&accepted), N);
    cr_expect_eq(atomic_load(&echoed), N);
    for (int i = 0; i < N && i < atomic_load(&accepted); i++)
        cr_expect_eq(eddy_tcp_write(server_side[i], "g", 1), 1);
    while (eddy_join_set_join_next(clients, NULL, NULL) != -ENOENT) {
    }
    eddy_join_set_free(clients);
    cr_expect_eq(eddy_join(srv, NULL), 0);
    eddy_tcp_listener_close(listener);
    return T_PTR(atomic_load(&clients_ok));
}

Test(tcp_many, thousand_concurrent_connections_on_one_local_runtime, .timeout = 100)
{
    /* Two fds per connection, plus the runtime's and Criterion's. */
    struct rlimit rl;
    cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
    if (rl.rlim_cur < 2 * N + 64) {
        rl.rlim_cur = rl.rlim_max;
        cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
    }
    cr_assert_geq(rl.rlim_cur, 2 * N + 64, "RLIMIT_NOFILE hard limit %lu is too low",
                  (unsigned long)rl.rlim_max);
    cr_assert_eq(T_INT(t_run_local(root, NULL)), N);
}
