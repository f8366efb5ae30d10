/* The timer wheel's arithmetic. */
#include "driver/time_wheel.h"

#include <string.h>

#define SLOT_BITS 6
#define MAX_SPAN (((uint64_t)1 << (SLOT_BITS * WHEEL_LEVELS)) - 1)
/* Deadlines at least this far ahead wait in the overflow list. */
#define HORIZON ((uint64_t)1 << (SLOT_BITS * WHEEL_LEVELS - 1))

void eddy__wheel_init(eddy_wheel *w)
{
    memset(w, 0, sizeof *w);
}

/* The level a deadline belongs to: the highest 6-bit group in which it
 * differs from `elapsed`. Deadlines beyond the wheel's span go to the top
 * level and are re-filed when their slot comes up. */
static unsigned level_for(uint64_t elapsed, uint64_t deadline)
{
    uint64_t masked = (elapsed ^ deadline) | (WHEEL_SLOTS - 1);
    if (masked > MAX_SPAN)
        masked = MAX_SPAN;
    unsigned significant = 63u - (unsigned)__builtin_clzll(masked);
    return significant / SLOT_BITS;
}

static unsigned slot_for(uint64_t deadline, unsigned level)
{
    return (unsigned)(deadline >> (level * SLOT_BITS)) & (WHEEL_SLOTS - 1);
}

static void list_push(eddy_timer_list *l, eddy_timer *t)
{
    t->prev = NULL;
    t->next = l->head;
    if (l->head)
        l->head->prev = t;
    l->head = t;
}

static void list_unlink(eddy_timer_list *l, eddy_timer *t)
{
    if (t->prev)
        t->prev->next = t->next;
    else
        l->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    t->prev = t->next = NULL;
}

static void file(eddy_wheel *w, eddy_timer *t)
{
    /* A deadline already passed fires with the next advance. */
    uint64_t d = t->deadline > w->elapsed ? t->deadline : w->elapsed;
    if (d - w->elapsed >= HORIZON) {
        t->level = WHEEL_LEVELS - 1;
        t->slot = WHEEL_SLOTS;
        list_push(&w->overflow, t);
        return;
    }
    unsigned level = level_for(w->elapsed, d);
    unsigned slot = slot_for(d, level);
    t->level = (uint8_t)level;
    t->slot = (uint8_t)slot;
    list_push(&w->slots[level][slot], t);
    w->occupied[level] |= (uint64_t)1 << slot;
}

void eddy__wheel_insert(eddy_wheel *w, eddy_timer *t)
{
    file(w, t);
    atomic_store_explicit(&t->armed, true, memory_order_relaxed);
    w->count++;
}

bool eddy__wheel_remove(eddy_wheel *w, eddy_timer *t)
{
    if (!atomic_load_explicit(&t->armed, memory_order_relaxed))
        return false;
    if (t->slot == WHEEL_SLOTS) {
        list_unlink(&w->overflow, t);
    } else {
        eddy_timer_list *l = &w->slots[t->level][t->slot];
        list_unlink(l, t);
        if (!l->head)
            w->occupied[t->level] &= ~((uint64_t)1 << t->slot);
    }
    atomic_store_explicit(&t->armed, false, memory_order_relaxed);
    w->count--;
    return true;
}

/* The start (ms) of the first occupied slot of `level` at or after the
 * slot holding `elapsed`, or UINT64_MAX. */
static uint64_t level_next(const eddy_wheel *w, unsigned level)
{
    uint64_t occ = w->occupied[level];
    if (!occ)
        return UINT64_MAX;
    unsigned shift = level * SLOT_BITS;
    uint64_t slot_range = (uint64_t)1 << shift;
    uint64_t level_range = slot_range << SLOT_BITS;
    unsigned now_slot = slot_for(w->elapsed, level);
    /* Rotate so that bit 0 is the current slot, then find the first set. */
    uint64_t rotated = (occ >> now_slot) | (now_slot ? occ << (WHEEL_SLOTS - now_slot) : 0);
    unsigned ahead = (unsigned)__builtin_ctzll(rotated);
    unsigned slot = (now_slot + ahead) % WHEEL_SLOTS;
    uint64_t level_start = w->elapsed & ~(level_range - 1);
    uint64_t start = level_start + (uint64_t)slot * slot_range;
    if (start + slot_range <= w->elapsed) /* wrapped: the slot is in the next round */
        start += level_range;
    return start;
}

/* When the earliest overflow timer must move into the wheel. */
static uint64_t overflow_next(const eddy_wheel *w)
{
    uint64_t at = UINT64_MAX;
    for (const eddy_timer *t = w->overflow.head; t; t = t->next)
        if (t->deadline - HORIZON + 1 < at)
            at = t->deadline - HORIZON + 1;
    return at;
}

uint64_t eddy__wheel_next_expiration(const eddy_wheel *w)
{
    uint64_t at = UINT64_MAX;
    for (unsigned level = 0; level < WHEEL_LEVELS; level++) {
        at = level_next(w, level);
        if (at != UINT64_MAX)
            break;
    }
    if (w->overflow.head) {
        uint64_t o = overflow_next(w);
        if (o < at)
            at = o;
    }
    if (at == UINT64_MAX)
        return at;
    return at > w->elapsed ? at : w->elapsed;
}

/* Files the overflow timers that came within the wheel's range. */
static void migrate_overflow(eddy_wheel *w)
{
    eddy_timer *t = w->overflow.head;
    while (t) {
        eddy_timer *next = t->next;
        if (t->deadline - w->elapsed < HORIZON) {
            list_unlink(&w->overflow, t);
            file(w, t);
        }
        t = next;
    }
}

/* Empties one slot: timers due by `now` fire, the others are re-filed on
 * lower levels (they are nearer now). */
static unsigned process_slot(eddy_wheel *w, unsigned level, unsigned slot, uint64_t now)
{
    eddy_timer_list l = w->slots[level][slot];
    w->slots[level][slot].head = NULL;
    w->occupied[level] &= ~((uint64_t)1 << slot);
    unsigned fired = 0;
    eddy_timer *t;
    while ((t = l.head)) {
        list_unlink(&l, t);
        if (t->deadline <= now) {
            w->count--;
            t->fire(t);
            /* Cleared once `fire` has returned, with release: whoever sees
             * it cleared may reuse the entry, and the object holding it. */
            atomic_store_explicit(&t->armed, false, memory_order_release);
            fired++;
        } else {
            file(w, t);
        }
    }
    return fired;
}

static unsigned advance_slots(eddy_wheel *w, uint64_t now)
{
    unsigned fired = 0;
    for (;;) {
        /* The lowest level with an occupied slot starting by `now`. */
        unsigned level;
        uint64_t at = UINT64_MAX;
        for (level = 0; level < WHEEL_LEVELS; level++) {
            at = level_next(w, level);
            if (at != UINT64_MAX)
                break;
        }
        if (at == UINT64_MAX || at > now)
            break;
        if (at > w->elapsed)
            w->elapsed = at;
        fired += process_slot(w, level, slot_for(at, level), now);
    }
    if (now > w->elapsed)
        w->elapsed = now;
    return fired;
}

unsigned eddy__wheel_advance(eddy_wheel *w, uint64_t now)
{
    unsigned fired = 0;
    uint64_t at;
    /* Far timers coming within range: move the wheel to where they must be
     * filed (every slot before is processed on the way), file them, go on. */
    while (w->overflow.head && (at = overflow_next(w)) <= now) {
        fired += advance_slots(w, at);
        migrate_overflow(w);
    }
    return fired + advance_slots(w, now);
}
