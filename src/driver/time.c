/* The scheduler's clock and timers. */
#include "driver/time.h"

#include "util/clock.h"

#define NS_PER_MS 1000000u

void eddy__time_init(eddy_time_driver *td, bool start_paused)
{
    eddy__wheel_init(&td->wheel);
    td->origin = eddy__mono_ns();
    td->paused = start_paused;
    td->virtual_now = td->origin;
}

uint64_t eddy__time_now(const eddy_time_driver *td)
{
    return td->paused ? td->virtual_now : eddy__mono_ns();
}

/* ns -> wheel ms, rounded down (for "now") or up (for deadlines). */
static uint64_t to_ms_floor(const eddy_time_driver *td, uint64_t ns)
{
    return ns <= td->origin ? 0 : (ns - td->origin) / NS_PER_MS;
}

static uint64_t to_ms_ceil(const eddy_time_driver *td, uint64_t ns)
{
    if (ns <= td->origin)
        return 0;
    uint64_t d = ns - td->origin;
    return d / NS_PER_MS + (d % NS_PER_MS != 0);
}

void eddy__time_arm(eddy_time_driver *td, eddy_timer *t, uint64_t deadline)
{
    t->deadline = to_ms_ceil(td, deadline);
    eddy__wheel_insert(&td->wheel, t);
}

bool eddy__time_disarm(eddy_time_driver *td, eddy_timer *t)
{
    return !eddy__wheel_remove(&td->wheel, t);
}

int eddy__time_park_timeout(const eddy_time_driver *td)
{
    return eddy__time_timeout_until(td, eddy__wheel_next_expiration(&td->wheel));
}

int eddy__time_timeout_until(const eddy_time_driver *td, uint64_t next)
{
    if (next == UINT64_MAX)
        return -1;
    uint64_t now_ns = eddy__time_now(td);
    uint64_t next_ns = td->origin + next * NS_PER_MS;
    if (next_ns <= now_ns)
        return 0;
    uint64_t ms = (next_ns - now_ns + NS_PER_MS - 1) / NS_PER_MS;
    return ms > 0x7fffffff ? 0x7fffffff : (int)ms;
}

unsigned eddy__time_process(eddy_time_driver *td)
{
    if (!td->wheel.count)
        return 0;
    return eddy__wheel_advance(&td->wheel, to_ms_floor(td, eddy__time_now(td)));
}

bool eddy__time_auto_advance(eddy_time_driver *td)
{
    uint64_t next = eddy__wheel_next_expiration(&td->wheel);
    if (next == UINT64_MAX)
        return false;
    uint64_t next_ns = td->origin + next * NS_PER_MS;
    if (next_ns > td->virtual_now)
        td->virtual_now = next_ns;
    eddy__time_process(td);
    return true;
}
