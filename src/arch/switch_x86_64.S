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
    .text
    .p2align 4
    .globl  eddy__ctx_switch
    .hidden eddy__ctx_switch
    .type   eddy__ctx_switch, @function
eddy__ctx_switch:
    .cfi_startproc
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
    stmxcsr (%rsp)
    fnstcw  4(%rsp)
    movq    56(%rsp), %rax      /* where the caller's call returns */

    movq    %rsp, (%rdi)
    movq    (%rsi), %rsp

    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
    popq    %r15
    popq    %r14
    popq    %r13
    popq    %r12
    popq    %rbx
    popq    %rbp
    cmpq    %rax, (%rsp)        /* resumed at that same call site? */
    jne     1f
    ret
1:  popq    %rcx
    jmpq    *%rcx
    .cfi_endproc
    .size   eddy__ctx_switch, .-eddy__ctx_switch

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
