/* Thread-local variables that stay right across a task switch.
 *
 * A task may suspend on one thread and resume on another, but compilers
 * take the thread pointer for a constant within a function, so an address
 * of a _Thread_local computed before a suspension may be used after it, on
 * the wrong thread. EDDY_TLS_ADDR(var) reads the thread pointer with a
 * volatile asm at every use instead; the variable's offset from it is the
 * same on every thread, and the compiler may compute it once. Where the
 * CPU is not known here, EDDY_HAVE_TLS_ADDR is not defined and callers go
 * through a function that is not inlined. */
#ifndef EDDY_UTIL_TLS_H
#define EDDY_UTIL_TLS_H

#include <stdint.h>

#if defined(__x86_64__) || defined(__aarch64__)
#define EDDY_HAVE_TLS_ADDR 1

static inline __attribute__((always_inline)) char *eddy__thread_pointer(void)
{
    char *tp;
#if defined(__x86_64__)
    __asm__ volatile("movq %%fs:0, %0" : "=r"(tp));
#else
    __asm__ volatile("mrs %0, tpidr_el0" : "=r"(tp));
#endif
    return tp;
}

#define EDDY_TLS_ADDR(var)                                                           \
    ((__typeof__(&(var)))(eddy__thread_pointer() +                                   \
                          ((uintptr_t)&(var) - (uintptr_t)__builtin_thread_pointer())))
#endif

#endif /* EDDY_UTIL_TLS_H */
