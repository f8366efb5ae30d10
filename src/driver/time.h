/* The time driver of one scheduler: its clock (real, or paused and
 * advanced by hand) and its timer wheel, in milliseconds since the clock's
 * origin. Owned by the thread driving the scheduler. */
#ifndef EDDY_DRIVER_TIME_H
#define EDDY_DRIVER_TIME_H

#include <stdbool.h>
#include <stdint.h>

#include "driver/time_wheel.h"

typedef struct eddy_time_driver {
    eddy_wheel wheel;
    uint64_t origin;  /* ns of the monotonic clock at wheel time 0 */
    bool paused;
    uint64_t virtual_now; /* ns, while paused */
} eddy_time_driver;

void eddy__time_init(eddy_time_driver *td, bool start_paused);

/* The driver's clock, in ns (monotonic, or virtual while paused). */
uint64_t eddy__time_now(const eddy_time_driver *td);

/* Arms t to fire at `deadline` (ns), rounded up to the next millisecond. */
void eddy__time_arm(eddy_time_driver *td, eddy_timer *t, uint64_t deadline);
/* Takes t back if it is armed; returns whether it had fired instead. */
bool eddy__time_disarm(eddy_time_driver *td, eddy_timer *t);

/* How long the scheduler may park before the next timer is due, in ms
 * (rounded up); -1 when no timer is armed. */
int eddy__time_park_timeout(const eddy_time_driver *td);
/* The same for an instant `next` in wheel ms on td's clock (UINT64_MAX:
 * none), for schedulers that keep several wheels on one clock. */
int eddy__time_timeout_until(const eddy_time_driver *td, uint64_t next);

/* Fires every timer due by now. Returns how many fired. */
unsigned eddy__time_process(eddy_time_driver *td);

/* With the clock paused: moves it to the next timer's deadline and fires
 * what is due. False when no timer is armed (nothing to advance to). */
bool eddy__time_auto_advance(eddy_time_driver *td);

static inline bool eddy__time_has_timers(const eddy_time_driver *td)
{
    return td->wheel.count != 0;
}

#endif /* EDDY_DRIVER_TIME_H */
