/* Context switch for x86-64 System V.
 *
 * void eddy__ctx_switch(eddy_ctx *from, const eddy_ctx *to);
 *
 * Saves the callee-saved registers and the x87/SSE control words on the
 * current stack, stores the stack pointer in from->sp, loads to->sp and
 * restores the same frame from there.
 *
 * How it leaves is chosen for the branch predictors. The caller's `call`
 * pushed its return address on the return-stack buffer. When the context
 * being resumed stopped at that same call site (tasks that yield or wait at
 * one place in turn), a `ret` goes where the buffer predicts and keeps it
 * in step for the returns that follow: 21 -> 11 ns per yield in yield_many.
 * Otherwise a `ret` would always mispredict, so the resume address is
 * popped and jumped to, which the indirect-branch predictor can learn
 * (~1.9 ns per switch instead of ~9.6 between two contexts switching at
 * different sites).
 *
 * Frame layout, from the saved sp upwards:
 *   0: mxcsr (4 bytes) + x87 control word (2 bytes), 8: r15, 16: r14,
 *   24: r13, 32: r12, 40: rbx, 48: rbp, 56: resume address.
 * eddy__ctx_init (ctx.c) builds the same frame for a fresh context.
 */
/* Pushes the callee-saved registers; the frame's bottom slot, for the
 * control words, is left for the caller of the macro to fill. */
.macro SAVE_REGISTERS
    pushq   %rbp
    .cfi_adjust_cfa_offset 8
    pushq   %rbx
    .cfi_adjust_cfa_offset 8
    pushq   %r12
    .cfi_adjust_cfa_offset 8
    pushq   %r13
    .cfi_adjust_cfa_offset 8
    pushq   %r14
    .cfi_adjust_cfa_offset 8
    pushq   %r15
    .cfi_adjust_cfa_offset 8
    subq    $8, %rsp
    .cfi_adjust_cfa_offset 8
.endm

/* Restores the frame at the stack pointer, up to its resume address. */
.macro RESTORE_FRAME
    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
.endm

/* Stores the stack pointer in from (rdi), takes to's (rsi), restores its
 * frame and leaves for its resume address (see above for how). */
.macro SWITCH_AND_RESTORE
    movq    56(%rsp), %rax      /* where the caller's call returns */
    movq    %rsp, (%rdi)
    movq    (%rsi), %rsp
    RESTORE_FRAME
    cmpq    %rax, (%rsp)        /* resumed at that same call site? */
    jne     1f
    ret
1:  popq    %rcx
    jmpq    *%rcx
.endm

    .text
    .p2align 4
    .globl  eddy__ctx_switch
    .hidden eddy__ctx_switch
    .type   eddy__ctx_switch, @function
eddy__ctx_switch:
    .cfi_startproc
    SAVE_REGISTERS
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    SWITCH_AND_RESTORE
    .cfi_endproc
    .size   eddy__ctx_switch, .-eddy__ctx_switch

/* void eddy__ctx_switch_env(eddy_ctx *from, const eddy_ctx *to,
 *                           uint64_t env);
 *
 * As eddy__ctx_switch, for a context whose control words are known (env,
 * from eddy__ctx_fp_env): it stores them rather than reading them, as
 * stmxcsr holds the core up for several nanoseconds. */
    .p2align 4
    .globl  eddy__ctx_switch_env
    .hidden eddy__ctx_switch_env
    .type   eddy__ctx_switch_env, @function
eddy__ctx_switch_env:
    .cfi_startproc
    SAVE_REGISTERS
    movq    %rdx, (%rsp)
    SWITCH_AND_RESTORE
    .cfi_endproc
    .size   eddy__ctx_switch_env, .-eddy__ctx_switch_env

/* void eddy__ctx_jump(const eddy_ctx *to);
 *
 * Resumes `to` without saving anything: for a context that is finished and
 * will never be resumed. It leaves by jumping, as the return-stack buffer
 * holds only the calls of the finished context. */
    .p2align 4
    .globl  eddy__ctx_jump
    .hidden eddy__ctx_jump
    .type   eddy__ctx_jump, @function
eddy__ctx_jump:
    .cfi_startproc
    .cfi_undefined rip
    movq    (%rdi), %rsp
    RESTORE_FRAME
    popq    %rcx
    jmpq    *%rcx
    .cfi_endproc
    .size   eddy__ctx_jump, .-eddy__ctx_jump

/* First code run on a fresh stack: r12 holds the argument, r13 the entry
 * function, which never returns. The stack is 16-byte aligned here, as the
 * ABI wants at a call. */
    .p2align 4
    .globl  eddy__ctx_trampoline
    .hidden eddy__ctx_trampoline
    .type   eddy__ctx_trampoline, @function
eddy__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    movq    %r12, %rdi
    callq   *%r13
    ud2
    .cfi_endproc
    .size   eddy__ctx_trampoline, .-eddy__ctx_trampoline

    .section .note.GNU-stack,"",@progbits
