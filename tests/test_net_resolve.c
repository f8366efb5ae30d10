/* Name resolution (getaddrinfo on the blocking pool) and eddy_sockaddr. */
#include "test_net_util.h"

#include <arpa/inet.h>
#include <net/if.h>
#include <sys/un.h>

static bool is_loopback(const eddy_sockaddr *a)
{
    if (a->ss.ss_family == AF_INET)
        return ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr) >> 24 == 127;
    if (a->ss.ss_family == AF_INET6)
        return IN6_IS_ADDR_LOOPBACK(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
    return false;
}

static void *resolve_localhost(void *arg)
{
    (void)arg;
    eddy_sockaddr addrs[8];
    ssize_t n = eddy_resolve("localhost", 8080, addrs, 8);
    cr_expect(n >= 1, "resolve localhost: %zd (%s)", n, eddy_strerror((int)n));
    for (ssize_t i = 0; i < n; i++) {
        cr_expect(is_loopback(&addrs[i]), "address %zd is not loopback", i);
        cr_expect_eq(eddy_sockaddr_port(&addrs[i]), 8080);
        for (ssize_t j = 0; j < i; j++)
            cr_expect(addrs[i].len != addrs[j].len ||
                          memcmp(&addrs[i].ss, &addrs[j].ss, addrs[i].len) != 0,
                      "duplicates removed");
    }
    /* At most max. */
    cr_expect_eq(eddy_resolve("localhost", 1, addrs, 1), 1);
    return T_PTR(n >= 1);
}

Test(resolve, localhost_from_a_task, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(resolve_localhost, NULL)), 1);
}

Test(resolve, localhost_from_a_plain_thread, .timeout = T_TIMEOUT)
{
    eddy_sockaddr a;
    ssize_t n = eddy_resolve("localhost", 1, &a, 1);
    cr_assert_eq(n, 1, "%zd", n);
    cr_assert(is_loopback(&a));
}

static void *many_at_once_one(void *arg)
{
    (void)arg;
    eddy_sockaddr a[4];
    return T_PTR(eddy_resolve("localhost", 80, a, 4) >= 1);
}

static void *many_at_once(void *arg)
{
    (void)arg;
    eddy_task *t[16];
    for (int i = 0; i < 16; i++)
        t[i] = eddy_spawn(many_at_once_one, NULL);
    int ok = 0;
    for (int i = 0; i < 16; i++) {
        void *r = NULL;
        cr_expect_eq(eddy_join(t[i], &r), 0);
        ok += T_INT(r);
    }
    return T_PTR(ok);
}

Test(resolve, concurrent_lookups, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(many_at_once, NULL)), 16);
}

static void *numeric(void *arg)
{
    (void)arg;
    eddy_sockaddr a[2];
    cr_expect_eq(eddy_resolve("127.0.0.1", 7, a, 2), 1);
    cr_expect_eq(a[0].ss.ss_family, AF_INET);
    cr_expect_eq(eddy_resolve("::1", 7, a, 2), 1);
    cr_expect_eq(a[0].ss.ss_family, AF_INET6);
    cr_expect_eq(eddy_resolve("[::1]", 7, a, 2), 1);
    cr_expect_eq(eddy_sockaddr_port(&a[0]), 7);
    cr_expect_eq(eddy_resolve(NULL, 7, a, 2), -EINVAL);
    cr_expect_eq(eddy_resolve("", 7, a, 2), -EINVAL);
    cr_expect_eq(eddy_resolve("localhost", 7, NULL, 2), -EINVAL);
    cr_expect_eq(eddy_resolve("localhost", 7, a, 0), -EINVAL);
    return T_PTR(1);
}

Test(resolve, numeric_and_invalid, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(numeric, NULL)), 1);
}

static void *aborted_lookup(void *arg)
{
    (void)arg;
    while (eddy_yield() == 0) {
    }
    eddy_sockaddr a;
    return T_PTR(eddy_resolve("localhost", 1, &a, 1));
}

static void *cancel_and_deadline(void *arg)
{
    (void)arg;
    eddy_task *t = eddy_spawn(aborted_lookup, NULL);
    eddy_yield();
    eddy_abort(t);
    void *r = NULL;
    eddy_join(t, &r);
    cr_expect_eq(T_INT(r), -ECANCELED);
    /* A deadline that has already passed: the lookup is given up (it
     * finishes in the background and is freed there) or was quick enough. */
    eddy_sockaddr a[4];
    ssize_t n = eddy_resolve_until("localhost", 1, a, 4, eddy_now());
    cr_expect(n == -ETIMEDOUT || n >= 1, "%zd", n);
    return T_PTR(1);
}

Test(resolve, cancellation_and_deadline, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(cancel_and_deadline, NULL)), 1);
}

/* ---- eddy_sockaddr ---- */

Test(sockaddr, parse_and_format, .timeout = T_TIMEOUT)
{
    eddy_sockaddr a;
    char text[EDDY_SOCKADDR_STRLEN];
    cr_assert_eq(eddy_sockaddr_ip(&a, "127.0.0.1", 80), 0);
    cr_assert_eq(a.len, sizeof(struct sockaddr_in));
    cr_assert_eq(eddy_sockaddr_format(&a, text, sizeof text), 12);
    cr_assert_str_eq(text, "127.0.0.1:80");
    cr_assert_eq(eddy_sockaddr_ip(&a, "::1", 65535), 0);
    cr_assert_eq(a.len, sizeof(struct sockaddr_in6));
    cr_assert(eddy_sockaddr_format(&a, text, sizeof text) > 0);
    cr_assert_str_eq(text, "[::1]:65535");
    cr_assert_eq(eddy_sockaddr_port(&a), 65535);
    cr_assert_eq(eddy_sockaddr_ip(&a, "[::ffff:127.0.0.1]", 1), 0);
    cr_assert(eddy_sockaddr_format(&a, text, sizeof text) > 0);
    cr_assert_str_eq(text, "[::ffff:127.0.0.1]:1");
    /* Scopes, by number or interface name. */
    unsigned lo = if_nametoindex("lo");
    if (lo) {
        cr_assert_eq(eddy_sockaddr_ip(&a, "fe80::1%lo", 2), 0);
        cr_assert_eq(((struct sockaddr_in6 *)&a.ss)->sin6_scope_id, lo);
        cr_assert(eddy_sockaddr_format(&a, text, sizeof text) > 0);
        cr_assert_str_eq(text, "[fe80::1%lo]:2");
    }
    cr_assert_eq(eddy_sockaddr_ip(&a, "fe80::1%77", 2), 0);
    cr_assert_eq(((struct sockaddr_in6 *)&a.ss)->sin6_scope_id, 77);

    const char *bad[] = { "", "1.2.3", "localhost", "[::1", "[127.0.0.1]", "::1%",
                          "::1%no-such-interface", "1.2.3.4.5", "::g" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        cr_assert_eq(eddy_sockaddr_ip(&a, bad[i], 1), -EINVAL, "'%s'", bad[i]);
    cr_assert_eq(eddy_sockaddr_ip(NULL, "::1", 1), -EINVAL);
    cr_assert_eq(eddy_sockaddr_ip(&a, NULL, 1), -EINVAL);

    /* Too small a buffer. */
    cr_assert_eq(eddy_sockaddr_ip(&a, "127.0.0.1", 80), 0);
    cr_assert_eq(eddy_sockaddr_format(&a, text, 12), -ENOSPC);
    cr_assert_eq(eddy_sockaddr_format(&a, text, 13), 12);
    cr_assert_eq(eddy_sockaddr_format(NULL, text, 13), -EINVAL);
}

Test(sockaddr, unix_paths, .timeout = T_TIMEOUT)
{
    eddy_sockaddr a;
    char text[EDDY_SOCKADDR_STRLEN];
    cr_assert_eq(eddy_sockaddr_unix(&a, "/tmp/x.sock"), 0);
    cr_assert_eq(a.ss.ss_family, AF_UNIX);
    cr_assert(eddy_sockaddr_format(&a, text, sizeof text) > 0);
    cr_assert_str_eq(text, "/tmp/x.sock");
    cr_assert_eq(eddy_sockaddr_port(&a), -EAFNOSUPPORT);
    char longest[sizeof(((struct sockaddr_un *)0)->sun_path)];
    memset(longest, 'p', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    cr_assert_eq(eddy_sockaddr_unix(&a, longest), 0, "107 bytes fit");
    cr_assert_eq(eddy_sockaddr_format(&a, text, sizeof text), (int)sizeof longest - 1);
    char too_long[sizeof longest + 1];
    memset(too_long, 'p', sizeof too_long - 1);
    too_long[sizeof too_long - 1] = '\0';
    cr_assert_eq(eddy_sockaddr_unix(&a, too_long), -ENAMETOOLONG);
    cr_assert_eq(eddy_sockaddr_unix(&a, ""), -EINVAL);
    cr_assert_eq(eddy_sockaddr_unix(&a, NULL), -EINVAL);
    /* Abstract names print with '@'. */
    memset(&a, 0, sizeof a);
    struct sockaddr_un *un = (struct sockaddr_un *)&a.ss;
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, "\0abs", 4);
    a.len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 4);
    cr_assert(eddy_sockaddr_format(&a, text, sizeof text) > 0);
    cr_assert_str_eq(text, "@abs");
    a.ss.ss_family = AF_APPLETALK;
    cr_assert_eq(eddy_sockaddr_format(&a, text, sizeof text), -EAFNOSUPPORT);
}
