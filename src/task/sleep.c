/* The clock and sleeps, for tasks and plain threads alike. */
#include <eddy/time.h>
#include <errno.h>
#include <time.h>

#include "task/thread.h"
#include "util/clock.h"

eddy_instant eddy_now(void)
{
    eddy_task *t = eddy__current_task();
    if (t && t->sched)
        return t->sched->ops->now(t->sched);
    return eddy__mono_ns();
}

eddy_instant eddy_deadline_in(uint64_t ms)
{
    eddy_instant now = eddy_now();
    if (ms >= (EDDY_INSTANT_NEVER - now) / 1000000u)
        return EDDY_INSTANT_NEVER;
    return now + ms * 1000000u;
}

int eddy_sleep_until(eddy_instant deadline)
{
    if (eddy__current_task()) {
        for (;;) {
            int rc = eddy__wait_current_until(deadline);
            if (rc == -ETIMEDOUT)
                return 0;
            if (rc < 0)
                return rc;
            /* Woken early (a stale waker): sleep on. */
        }
    }
    struct timespec ts = eddy__timespec_from_ns(deadline);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
    }
    return 0;
}

int eddy_sleep(uint64_t ms)
{
    eddy_instant deadline = eddy_deadline_in(ms);
    if (ms == 0 || deadline == EDDY_INSTANT_NEVER || !eddy__current_task())
        return eddy_sleep_until(deadline);
    /* The deadline is at least a millisecond ahead of the clock just read:
     * the first wait need not read it again (a clock read is a sizeable
     * part of a short sleep). */
    int rc = eddy__task_wait_until_future(deadline);
    if (rc == -ETIMEDOUT)
        return 0;
    if (rc < 0)
        return rc;
    return eddy_sleep_until(deadline); /* woken early (a stale waker) */
}
