/* Execution contexts: the saved registers of a suspended stack, and the
 * switch between two of them. The assembly switch is used on x86-64 and
 * AArch64; other CPUs (or EDDY_CTX_UCONTEXT) fall back to ucontext. */
#ifndef EDDY_ARCH_CTX_H
#define EDDY_ARCH_CTX_H

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

/* Prepares ctx so that the first switch to it calls entry(arg) on the stack
 * [stack_lo, stack_lo + size). entry must never return. */
void eddy__ctx_init(eddy_ctx *ctx, void *stack_lo, size_t size,
                    void (*entry)(void *), void *arg);

/* Saves the running context in from and resumes to. Returns when something
 * switches back to from. */
void eddy__ctx_switch(eddy_ctx *from, const eddy_ctx *to);

#endif /* EDDY_ARCH_CTX_H */
