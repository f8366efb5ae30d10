/* eddy_strerror and eddy_version. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "util.h"

#include <limits.h>

static const int codes[] = {
    EPERM, EBUSY, EDEADLK, ECANCELED, ETIMEDOUT, ENOENT,
    EINVAL, ENOMEM, ENOTSUP, EMFILE, ENFILE,
};
#define NCODES (sizeof codes / sizeof codes[0])

Test(errors, strerror_names_every_code, .timeout = T_TIMEOUT)
{
    for (size_t i = 0; i < NCODES; i++) {
        const char *pos = eddy_strerror(codes[i]);
        const char *neg = eddy_strerror(-codes[i]);
        cr_assert_not_null(pos, "eddy_strerror(%d)", codes[i]);
        cr_assert_not_null(neg, "eddy_strerror(%d)", -codes[i]);
        cr_assert_gt(strlen(pos), 0, "empty text for %d", codes[i]);
        cr_assert_str_eq(pos, neg, "positive and negative forms of %d differ", codes[i]);
    }
}

Test(errors, strerror_texts_are_distinct, .timeout = T_TIMEOUT)
{
    /* the codes the runtime returns must be told apart */
    static const int core[] = { EPERM, EBUSY, EDEADLK, ECANCELED, ETIMEDOUT, ENOENT,
                                EINVAL, ENOMEM };
    size_t n = sizeof core / sizeof core[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            cr_assert_str_neq(eddy_strerror(-core[i]), eddy_strerror(-core[j]),
                              "%d and %d share the text \"%s\"", core[i], core[j],
                              eddy_strerror(-core[i]));
}

Test(errors, strerror_never_null, .timeout = T_TIMEOUT)
{
    static const int odd[] = { 0, 1, -1, 4095, -4095, 123456, -123456, INT_MAX, INT_MIN };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        const char *s = eddy_strerror(odd[i]);
        cr_assert_not_null(s, "eddy_strerror(%d) returned NULL", odd[i]);
    }
}

static void *strerror_thread(void *arg)
{
    (void)arg;
    int bad = 0;
    for (int k = 0; k < 10000; k++) {
        const char *s = eddy_strerror(-ECANCELED);
        if (!s || !*s)
            bad++;
    }
    return T_PTR(bad);
}

Test(errors, strerror_any_thread, .timeout = T_TIMEOUT)
{
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        th[i] = t_thread_start(strerror_thread, NULL);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(T_INT(t_thread_join(th[i])), 0);
}

Test(errors, version, .timeout = T_TIMEOUT)
{
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", EDDY_VERSION_MAJOR, EDDY_VERSION_MINOR,
             EDDY_VERSION_PATCH);
    cr_assert_not_null(eddy_version());
    cr_assert_str_eq(eddy_version(), want);
}
