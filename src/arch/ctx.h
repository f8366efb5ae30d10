/* Execution contexts: the saved registers of a suspended stack, and the
 * switch between two of them. The assembly switch is used on x86-64 and
 * AArch64; other CPUs (or EDDY_CTX_UCONTEXT) fall back to ucontext. */
#ifndef EDDY_ARCH_CTX_H
#define EDDY_ARCH_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(EDDY_CTX_UCONTEXT) && !defined(__x86_64__) && !defined(__aarch64__)
#define EDDY_CTX_UCONTEXT 1
#endif

#ifdef EDDY_CTX_UCONTEXT
#include <ucontext.h>
typedef struct eddy_ctx {
    ucontext_t uc;
} eddy_ctx;
#else
typedef struct eddy_ctx {
    void *sp; /* the saved frame lives on the context's own stack */
} eddy_ctx;
#endif

/* The stack pointer a suspended context saved, to check it against its
 * stack's bounds; the highest address when the switch does not tell (a
 * ucontext on a CPU whose register layout is not known here). */
static inline const void *eddy__ctx_sp(const eddy_ctx *c)
{
#ifdef EDDY_CTX_UCONTEXT
#if defined(__x86_64__) && defined(REG_RSP)
    return (const void *)(uintptr_t)c->uc.uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    return (const void *)(uintptr_t)c->uc.uc_mcontext.sp;
#else
    (void)c;
    return (const void *)~(uintptr_t)0;
#endif
#else
    return c->sp;
#endif
}

/* Bytes a switch stores below its caller's stack pointer (the call's
 * return address included): where the saved sp will point. */
#if defined(EDDY_CTX_UCONTEXT)
#define EDDY_CTX_FRAME 0
#elif defined(__x86_64__)
#define EDDY_CTX_FRAME 64
#else
#define EDDY_CTX_FRAME 160
#endif

/* Bytes above the switch frame fetched for a context that may have gone
 * cold (eddy__ctx_prefetch_resume): the frames of the few functions a
 * resumed task returns through first (the wait it parked in, its caller).
 * Measured on ping_pong, whose parked rounds' stacks have gone cold: 128
 * bytes helped less, 512 no more. */
#define EDDY_CTX_RESUME_SPAN 256

/* Starts fetching what a context saved at sp (eddy__ctx_sp) reads first
 * when it resumes, ahead of the switch. One that may have gone cold (a
 * parked task, woken: `cold`) gets its switch frame, which seldom starts on
 * a cache line and so spans two, and the frames it returns through next,
 * just above. One that only yielded comes back after one pass of its run
 * queue with its stack still in cache; for it the wider fetch costs more
 * than it saves (yield_many), and one line at sp will do. A prefetch never
 * faults, so a stale sp, or a span past the stack's top, is harmless; the
 * addresses are computed as integers, as they may run past any object. */
static inline __attribute__((always_inline)) void eddy__ctx_prefetch_resume(const void *sp,
                                                                           bool cold)
{
    uintptr_t p = (uintptr_t)sp;
    if (!cold) {
        __builtin_prefetch(sp);
        return;
    }
    const unsigned len = EDDY_CTX_FRAME + EDDY_CTX_RESUME_SPAN;
    for (unsigned off = 0; off < len; off += 64)
        __builtin_prefetch((const void *)(p + off));
    __builtin_prefetch((const void *)(p + len - 1));
}

/* Prepares ctx so that the first switch to it calls entry(arg) on the stack
 * [stack_lo, stack_lo + size). entry must never return. */
void eddy__ctx_init(eddy_ctx *ctx, void *stack_lo, size_t size,
                    void (*entry)(void *), void *arg);

/* Saves the running context in from and resumes to. Returns when something
 * switches back to from. */
void eddy__ctx_switch(eddy_ctx *from, const eddy_ctx *to);

/* The calling thread's FP control words, as a switch's frame holds them
 * (x86-64: MXCSR in the low half, the x87 control word above it; the
 * other switches save no control words: 0).
 *
 * eddy__ctx_switch_env is eddy__ctx_switch for a context whose control
 * words are known to be env: it stores env instead of reading them. A
 * scheduler loop, which never changes them itself, reads them once when
 * it starts and switches into each task this way: reading MXCSR holds the
 * core up for ~13 cycles, the dearest part of a switch. */
#if !defined(EDDY_CTX_UCONTEXT) && defined(__x86_64__)
static inline uint64_t eddy__ctx_fp_env(void)
{
    uint32_t mxcsr;
    uint16_t x87;
    __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
    __asm__ volatile("fnstcw %0" : "=m"(x87));
    return mxcsr | (uint64_t)x87 << 32;
}

void eddy__ctx_switch_env(eddy_ctx *from, const eddy_ctx *to, uint64_t env);
#else
static inline uint64_t eddy__ctx_fp_env(void)
{
    return 0;
}

static inline void eddy__ctx_switch_env(eddy_ctx *from, const eddy_ctx *to, uint64_t env)
{
    (void)env;
    eddy__ctx_switch(from, to);
}
#endif

/* Sets the calling thread's FP control words to those a fresh context
 * starts with (x86-64: round to nearest, every exception masked): for a
 * task that starts on a stack without a switch (eddy_sched_ops.chain), so
 * that it does not inherit what the task before it set. */
#define EDDY_CTX_MXCSR_DEFAULT 0x1F80u
#define EDDY_CTX_X87CW_DEFAULT 0x037Fu
static inline void eddy__ctx_fp_reset(void)
{
#if defined(__x86_64__)
    const uint32_t mxcsr = EDDY_CTX_MXCSR_DEFAULT;
    const uint16_t x87 = EDDY_CTX_X87CW_DEFAULT;
    __asm__ volatile("ldmxcsr %0" : : "m"(mxcsr));
    __asm__ volatile("fldcw %0" : : "m"(x87));
#endif
}

/* Resumes to without saving the running context: the last switch away
 * from a context that is finished. Never returns. Saving would cost more
 * than the switch's loads, as reading MXCSR stalls the core. */
_Noreturn void eddy__ctx_jump(const eddy_ctx *to);

#endif /* EDDY_ARCH_CTX_H */
