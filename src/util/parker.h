/* A counted thread parker: how a plain thread (not a task) waits for a
 * waker. A token semantics as std::thread::park: an unpark before the park
 * makes the park return at once. Spurious returns are allowed; callers
 * loop on their condition. */
#ifndef EDDY_UTIL_PARKER_H
#define EDDY_UTIL_PARKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct eddy_parker {
    atomic_size_t refs;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool token;
} eddy_parker;

/* A new parker with one reference; NULL on ENOMEM. */
eddy_parker *eddy__parker_new(void);
void eddy__parker_ref(eddy_parker *p);
void eddy__parker_unref(eddy_parker *p);

/* Waits for the token (and consumes it). */
void eddy__parker_park(eddy_parker *p);
/* As park, but gives up at the monotonic deadline (ns); false on time-out. */
bool eddy__parker_park_until(eddy_parker *p, uint64_t deadline_ns);
void eddy__parker_unpark(eddy_parker *p);

#endif /* EDDY_UTIL_PARKER_H */
