/* Monotonic time for deadlines, and condition variables that wait on it. */
#ifndef EDDY_UTIL_CLOCK_H
#define EDDY_UTIL_CLOCK_H

#include <pthread.h>
#include <stdint.h>
#include <time.h>

static inline uint64_t eddy__mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline struct timespec eddy__timespec_from_ns(uint64_t ns)
{
    struct timespec ts = { (time_t)(ns / 1000000000u), (long)(ns % 1000000000u) };
    return ts;
}

/* The time-out to park with (ms, -1: none) when something falls due at
 * `due` (ns; UINT64_MAX: nothing): timeout_ms, or less, so that the park
 * ends by then (rounded up, at least 1 ms). */
static inline int eddy__park_timeout_until(int timeout_ms, uint64_t due, uint64_t now)
{
    if (due == UINT64_MAX)
        return timeout_ms;
    uint64_t due_ms = due > now ? (due - now) / 1000000 + 1 : 1;
    return timeout_ms >= 0 && (uint64_t)timeout_ms <= due_ms ? timeout_ms : (int)due_ms;
}

/* A deadline `ms` from now, saturating instead of overflowing. */
static inline uint64_t eddy__deadline_after_ms(uint64_t ms)
{
    uint64_t now = eddy__mono_ns();
    if (ms > (UINT64_MAX - now) / 1000000u)
        return UINT64_MAX / 2;
    return now + ms * 1000000u;
}

/* Initialises a condition variable whose timed waits use CLOCK_MONOTONIC. */
static inline void eddy__cond_init_monotonic(pthread_cond_t *c)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(c, &attr);
    pthread_condattr_destroy(&attr);
}

#endif /* EDDY_UTIL_CLOCK_H */
