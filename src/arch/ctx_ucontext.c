/* The portable fallback: makecontext/swapcontext, for CPUs without an
 * assembly switch. Slower (swapcontext saves the signal mask with a system
 * call) but correct everywhere glibc runs. */
#include "arch/ctx.h"

#ifdef EDDY_CTX_UCONTEXT

#include <stdint.h>
#include <stdlib.h>

/* makecontext passes int arguments only, so the two pointers travel split
 * into 32-bit halves. */
static void ucontext_entry(unsigned e_hi, unsigned e_lo, unsigned a_hi, unsigned a_lo)
{
    uintptr_t e = ((uintptr_t)e_hi << 16 << 16) | (uintptr_t)e_lo;
    uintptr_t a = ((uintptr_t)a_hi << 16 << 16) | (uintptr_t)a_lo;
    ((void (*)(void *))e)((void *)a);
    abort(); /* entry never returns */
}

void eddy__ctx_init(eddy_ctx *ctx, void *stack_lo, size_t size,
                    void (*entry)(void *), void *arg)
{
    uintptr_t e = (uintptr_t)entry, a = (uintptr_t)arg;
    getcontext(&ctx->uc);
    ctx->uc.uc_stack.ss_sp = stack_lo;
    ctx->uc.uc_stack.ss_size = size;
    ctx->uc.uc_link = NULL;
#if defined(__x86_64__)
    /* getcontext took the starting thread's control words; a fresh task
     * starts with the defaults, as with the assembly switch. */
    ctx->uc.uc_mcontext.fpregs->cwd = EDDY_CTX_X87CW_DEFAULT;
    ctx->uc.uc_mcontext.fpregs->mxcsr = EDDY_CTX_MXCSR_DEFAULT;
#endif
    makecontext(&ctx->uc, (void (*)(void))ucontext_entry, 4,
                (unsigned)(e >> 16 >> 16), (unsigned)e,
                (unsigned)(a >> 16 >> 16), (unsigned)a);
}

void eddy__ctx_switch(eddy_ctx *from, const eddy_ctx *to)
{
    swapcontext(&from->uc, &to->uc);
}

void eddy__ctx_jump(const eddy_ctx *to)
{
    setcontext(&to->uc);
    abort(); /* setcontext returns only on an invalid context */
}

#endif /* EDDY_CTX_UCONTEXT */
