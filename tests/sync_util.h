/* What the sync tests share: running a test in both flavors, and spawning
 * and joining tasks with the result checked. */
#ifndef EDDY_TESTS_SYNC_UTIL_H
#define EDDY_TESTS_SYNC_UTIL_H

#include "util.h"

/* Defines suite::name_local and suite::name_shared, calling fn(flavor). */
#define BOTH_FLAVORS(suite, name, fn)                                        \
    Test(suite, name##_local, .timeout = T_TIMEOUT) { fn(EDDY_SYNC_LOCAL); } \
    Test(suite, name##_shared, .timeout = T_TIMEOUT) { fn(EDDY_SYNC_SHARED); }

/* The usual case: name(flavor) sets the file's `flavor` and runs
 * root_name as the root task of a LocalRuntime, in both flavors. */
#define FLAVOR_TEST(suite, name)                     \
    static void name(eddy_sync_flavor f)             \
    {                                                \
        flavor = f;                                  \
        t_run_local(root_##name, NULL);              \
    }                                                \
    BOTH_FLAVORS(suite, name, name)

static inline eddy_task *spawn(eddy_task_fn fn, void *arg)
{
    eddy_task *t = eddy_spawn(fn, arg);
    cr_expect_not_null(t, "spawn: %s", strerror(errno));
    return t;
}

/* Joins t, expecting expect_rc; returns its result as an int. */
static inline int join_int(eddy_task *t, int expect_rc)
{
    void *res = NULL;
    int rc = eddy_join(t, &res);
    cr_expect_eq(rc, expect_rc, "join: %d", rc);
    return T_INT(res);
}

static inline void yield_n(int n)
{
    for (int i = 0; i < n; i++)
        eddy_yield();
}

#endif /* EDDY_TESTS_SYNC_UTIL_H */
