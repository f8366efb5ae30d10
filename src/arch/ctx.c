/* Building the first frame of a fresh context for the assembly switches
 * (switch_x86_64.S, switch_aarch64.S): a frame shaped exactly like the one
 * eddy__ctx_switch saves, whose resume address is the trampoline. */
#include "arch/ctx.h"

#ifndef EDDY_CTX_UCONTEXT

#include <stdint.h>
#include <string.h>

void eddy__ctx_trampoline(void);

void eddy__ctx_init(eddy_ctx *ctx, void *stack_lo, size_t size,
                    void (*entry)(void *), void *arg)
{
    uintptr_t top = ((uintptr_t)stack_lo + size) & ~(uintptr_t)15;
#if defined(__x86_64__)
    /* 8 slots: control words, r15, r14, r13, r12, rbx, rbp, resume. After
     * they are popped the stack pointer is `top`, 16-byte aligned, as the
     * trampoline's call requires. */
    uint64_t *frame = (uint64_t *)(top - 8 * sizeof(uint64_t));
    memset(frame, 0, 8 * sizeof(uint64_t));
    uint32_t mxcsr = EDDY_CTX_MXCSR_DEFAULT;
    uint16_t fpucw = EDDY_CTX_X87CW_DEFAULT;
    memcpy((char *)frame, &mxcsr, sizeof mxcsr);
    memcpy((char *)frame + 4, &fpucw, sizeof fpucw);
    frame[3] = (uint64_t)(uintptr_t)entry; /* r13 */
    frame[4] = (uint64_t)(uintptr_t)arg;   /* r12 */
    frame[7] = (uint64_t)(uintptr_t)eddy__ctx_trampoline;
    ctx->sp = frame;
#elif defined(__aarch64__)
    uint64_t *frame = (uint64_t *)(top - 160);
    memset(frame, 0, 160);
    frame[0] = (uint64_t)(uintptr_t)arg;   /* x19 */
    frame[1] = (uint64_t)(uintptr_t)entry; /* x20 */
    frame[11] = (uint64_t)(uintptr_t)eddy__ctx_trampoline; /* x30 */
    ctx->sp = frame;
#endif
}

#endif /* !EDDY_CTX_UCONTEXT */
