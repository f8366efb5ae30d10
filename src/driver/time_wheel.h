/* A hierarchical timer wheel in Tokio's shape: 6 levels of 64 slots at
 * 1 ms resolution. Level l has slots of 64^l ms, so the wheel spans
 * 64^6 ms (about 2.2 years); later deadlines wait in the last level and
 * are re-filed as time passes.
 *
 * Inserting and removing a timer is O(1); finding the next deadline looks
 * at one 64-bit occupancy mask per level. Entries are intrusive (a sleeping
 * task keeps its timer on its own stack), and the wheel belongs to one
 * thread: the one driving its scheduler. */
#ifndef EDDY_DRIVER_TIME_WHEEL_H
#define EDDY_DRIVER_TIME_WHEEL_H

#include <stdbool.h>
#include <stdint.h>

#include "task/timer.h"

#define WHEEL_LEVELS 6
#define WHEEL_SLOTS 64

/* An armed timer's slot is WHEEL_SLOTS while it waits in the overflow
 * list. */
typedef struct eddy_timer_list {
    eddy_timer *head;
} eddy_timer_list;

typedef struct eddy_wheel {
    uint64_t elapsed;          /* ms: everything up to here has fired */
    uint64_t occupied[WHEEL_LEVELS];
    eddy_timer_list slots[WHEEL_LEVELS][WHEEL_SLOTS];
    eddy_timer_list overflow;  /* deadlines beyond the wheel's range */
    unsigned count;
} eddy_wheel;

void eddy__wheel_init(eddy_wheel *w);

/* Arms t (deadline and fire set by the caller). A deadline at or before
 * `elapsed` is filed to fire at the next advance. */
void eddy__wheel_insert(eddy_wheel *w, eddy_timer *t);

/* Disarms t if it is armed; harmless otherwise. Returns whether it was. */
bool eddy__wheel_remove(eddy_wheel *w, eddy_timer *t);

/* The earliest instant (ms) at which some timer may fire, UINT64_MAX when
 * none is armed. Timers in upper levels are reported at their slot's start,
 * so the answer may be early, never late. */
uint64_t eddy__wheel_next_expiration(const eddy_wheel *w);

/* Fires every timer whose deadline is at or before `now` (ms) and moves the
 * wheel to `now`. Returns the number fired. */
unsigned eddy__wheel_advance(eddy_wheel *w, uint64_t now);

#endif /* EDDY_DRIVER_TIME_WHEEL_H */
