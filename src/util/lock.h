/* Initialising the library's mutexes. */
#ifndef EDDY_UTIL_LOCK_H
#define EDDY_UTIL_LOCK_H

#include <pthread.h>

/* A mutex for short critical sections that threads on other cores contend
 * for (run queues, the timer wheel, channels): where glibc offers it, one
 * that spins briefly before sleeping in the kernel. The holder is almost
 * always running on another core and about to let go, so the spin usually
 * wins, and a futex sleep and wake-up (two system calls and a thread
 * switch) is saved. Elsewhere, a default mutex. */
static inline void eddy__lock_init(pthread_mutex_t *m)
{
#ifdef PTHREAD_ADAPTIVE_MUTEX_INITIALIZER_NP
    pthread_mutexattr_t a;
    if (pthread_mutexattr_init(&a) == 0) {
        int ok = pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ADAPTIVE_NP) == 0 &&
                 pthread_mutex_init(m, &a) == 0;
        pthread_mutexattr_destroy(&a);
        if (ok)
            return;
    }
#endif
    pthread_mutex_init(m, NULL);
}

#endif /* EDDY_UTIL_LOCK_H */
