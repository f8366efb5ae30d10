/* Intervals, with Tokio's three answers to missed ticks. */
#include <eddy/time.h>
#include <errno.h>
#include <stdlib.h>

#define NS_PER_MS 1000000u
/* A tick later than this is "missed" (as Tokio: scheduling jitter below it
 * is not worth a change of schedule). */
#define LATE_NS (5 * NS_PER_MS)

struct eddy_interval {
    eddy_instant next;
    uint64_t period;
    eddy_missed_tick behavior;
};

eddy_interval *eddy_interval_new_at(eddy_instant start, uint64_t period_ms,
                                    eddy_missed_tick behavior)
{
    if (period_ms == 0 || period_ms > UINT64_MAX / 4 / NS_PER_MS ||
        (behavior != EDDY_MISSED_TICK_BURST && behavior != EDDY_MISSED_TICK_DELAY &&
         behavior != EDDY_MISSED_TICK_SKIP)) {
        errno = EINVAL;
        return NULL;
    }
    eddy_interval *iv = malloc(sizeof *iv);
    if (!iv) {
        errno = ENOMEM;
        return NULL;
    }
    iv->next = start;
    iv->period = period_ms * NS_PER_MS;
    iv->behavior = behavior;
    return iv;
}

eddy_interval *eddy_interval_new(uint64_t period_ms, eddy_missed_tick behavior)
{
    return eddy_interval_new_at(eddy_now(), period_ms, behavior);
}

/* The tick after `due`, which fired at `now`. */
static eddy_instant following(const eddy_interval *iv, eddy_instant due, eddy_instant now)
{
    if (now <= due + LATE_NS)
        return due + iv->period;
    switch (iv->behavior) {
    case EDDY_MISSED_TICK_DELAY:
        return now + iv->period;
    case EDDY_MISSED_TICK_SKIP:
        return now + iv->period - (now - due) % iv->period;
    case EDDY_MISSED_TICK_BURST:
    default:
        return due + iv->period;
    }
}

int eddy_interval_tick(eddy_interval *iv, eddy_instant *at)
{
    if (!iv)
        return -EINVAL;
    int rc = eddy_sleep_until(iv->next);
    if (rc < 0)
        return rc;
    eddy_instant due = iv->next;
    iv->next = following(iv, due, eddy_now());
    if (at)
        *at = due;
    return 0;
}

void eddy_interval_reset(eddy_interval *iv)
{
    if (iv)
        iv->next = eddy_now() + iv->period;
}

void eddy_interval_free(eddy_interval *iv)
{
    free(iv);
}
