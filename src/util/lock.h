/* The library's locks: how its mutexes are set up, and a spinlock. */
#ifndef EDDY_UTIL_LOCK_H
#define EDDY_UTIL_LOCK_H

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>

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

/* A spinlock, for critical sections of a few instructions that run on
 * every task (linking it into a list): taking it is one atomic exchange
 * and releasing it a plain store, where a mutex costs an atomic operation
 * each way. A waiter spins politely, and yields its core after a while in
 * case the holder was preempted. */
typedef struct eddy_spinlock {
    atomic_bool held;
} eddy_spinlock;

static inline void eddy__spin_init(eddy_spinlock *l)
{
    atomic_init(&l->held, false);
}

static inline void eddy__spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static inline void eddy__spin_lock(eddy_spinlock *l)
{
    unsigned spins = 0;
    while (atomic_exchange_explicit(&l->held, true, memory_order_acquire)) {
        while (atomic_load_explicit(&l->held, memory_order_relaxed)) {
            if (++spins < 100)
                eddy__spin_pause();
            else
                sched_yield();
        }
    }
}

static inline void eddy__spin_unlock(eddy_spinlock *l)
{
    atomic_store_explicit(&l->held, false, memory_order_release);
}

#endif /* EDDY_UTIL_LOCK_H */
