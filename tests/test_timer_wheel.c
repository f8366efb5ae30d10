/* The timer wheel against a brute-force model: random deadlines over every
 * level, random cancellations, random advances. */
#include "util.h"

#include "driver/time_wheel.h"

#define N 2000

static eddy_timer timers[N];
static bool fired[N];
static uint64_t fired_at[N];
static uint64_t now_ms;

static void on_fire(eddy_timer *t)
{
    size_t i = (size_t)(t - timers);
    fired[i] = true;
    fired_at[i] = now_ms;
}

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

Test(timer_wheel, matches_a_brute_force_model, .timeout = T_TIMEOUT)
{
    eddy_wheel w;
    eddy__wheel_init(&w);
    uint64_t seed = 0x9E3779B97F4A7C15ull;
    bool armed[N] = { false };
    uint64_t deadline[N];
    now_ms = 0;
    for (int round = 0; round < 400; round++) {
        for (int k = 0; k < 20; k++) {
            int i = (int)(rnd(&seed) % N);
            if (armed[i] || fired[i])
                continue;
            /* spans: same ms up to beyond the wheel's range */
            static const uint64_t spans[] = { 1, 64, 4096, 262144, 16777216, 1ull << 40 };
            deadline[i] = now_ms + rnd(&seed) % spans[rnd(&seed) % 6];
            timers[i] = (eddy_timer){ .deadline = deadline[i], .fire = on_fire };
            eddy__wheel_insert(&w, &timers[i]);
            armed[i] = true;
        }
        for (int k = 0; k < 3; k++) {
            int i = (int)(rnd(&seed) % N);
            if (armed[i] && !fired[i]) {
                eddy__wheel_remove(&w, &timers[i]);
                armed[i] = false;
            }
        }
        /* The next expiration is never later than the earliest deadline. */
        uint64_t earliest = UINT64_MAX;
        for (int i = 0; i < N; i++)
            if (armed[i] && !fired[i] && deadline[i] < earliest)
                earliest = deadline[i];
        uint64_t next = eddy__wheel_next_expiration(&w);
        cr_assert_leq(next, earliest < now_ms ? now_ms : earliest);
        now_ms += rnd(&seed) % (round % 50 == 0 ? 100000000ull : 3000);
        eddy__wheel_advance(&w, now_ms);
        for (int i = 0; i < N; i++) {
            if (!armed[i])
                continue;
            if (deadline[i] <= now_ms) {
                cr_assert(fired[i], "timer %d (deadline %llu) not fired at %llu", i,
                          (unsigned long long)deadline[i], (unsigned long long)now_ms);
                armed[i] = false;
            } else {
                cr_assert(!fired[i], "timer %d fired early", i);
            }
        }
    }
    /* Everything left fires once the clock passes all deadlines. */
    now_ms = UINT64_MAX / 2;
    eddy__wheel_advance(&w, now_ms);
    cr_assert_eq(w.count, 0);
}

Test(timer_wheel, removing_is_idempotent, .timeout = T_TIMEOUT)
{
    eddy_wheel w;
    eddy__wheel_init(&w);
    timers[0] = (eddy_timer){ .deadline = 100, .fire = on_fire };
    eddy__wheel_insert(&w, &timers[0]);
    eddy__wheel_remove(&w, &timers[0]);
    eddy__wheel_remove(&w, &timers[0]);
    cr_assert_eq(w.count, 0);
    cr_assert_eq(eddy__wheel_next_expiration(&w), UINT64_MAX);
    now_ms = 1000;
    cr_assert_eq(eddy__wheel_advance(&w, now_ms), 0);
    cr_assert(!fired[0]);
}
