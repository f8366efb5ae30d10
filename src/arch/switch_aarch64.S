/* Context switch for AArch64 (AAPCS64).
 *
 * void eddy__ctx_switch(eddy_ctx *from, const eddy_ctx *to);
 *
 * Saves x19-x28, the frame pointer, the link register and d8-d15 (the
 * callee-saved registers) on the current stack, stores sp in from->sp,
 * loads to->sp and restores the same frame. As on x86-64 (see there), the
 * exit is chosen for the return-address predictor: `ret` when the context
 * being resumed stopped at the caller's own call site, where the predictor
 * is right, and `br` otherwise, so that it is not trained on a return into
 * a different place. (Only the x86-64 version has been timed.)
 *
 * Frame layout (160 bytes, 16-byte aligned): x19..x28 at 0..72, x29 at 80,
 * x30 at 88, d8..d15 at 96..152.
 */
/* Restores the frame at sp, resume address into x30, and pops it. */
.macro RESTORE_FRAME
    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8,  d9,  [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #160
.endm

    .text
    .p2align 4
    .globl  eddy__ctx_switch
    .hidden eddy__ctx_switch
    .type   eddy__ctx_switch, %function
eddy__ctx_switch:
    .cfi_startproc
    sub     sp, sp, #160
    .cfi_adjust_cfa_offset 160
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    mov     x10, x30            /* where the caller's bl returns */
    stp     d8,  d9,  [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]

    mov     x9, sp
    str     x9, [x0]
    ldr     x9, [x1]
    mov     sp, x9

    RESTORE_FRAME
    cmp     x30, x10            /* resumed at that same call site? */
    b.ne    1f
    ret
1:  br      x30
    .cfi_endproc
    .size   eddy__ctx_switch, .-eddy__ctx_switch

/* void eddy__ctx_jump(const eddy_ctx *to);
 *
 * Resumes `to` without saving anything: for a context that is finished and
 * will never be resumed. */
    .p2align 4
    .globl  eddy__ctx_jump
    .hidden eddy__ctx_jump
    .type   eddy__ctx_jump, %function
eddy__ctx_jump:
    .cfi_startproc
    .cfi_undefined x30
    ldr     x9, [x0]
    mov     sp, x9
    RESTORE_FRAME
    br      x30
    .cfi_endproc
    .size   eddy__ctx_jump, .-eddy__ctx_jump

/* First code run on a fresh stack: x19 holds the argument, x20 the entry
 * function, which never returns. */
    .p2align 4
    .globl  eddy__ctx_trampoline
    .hidden eddy__ctx_trampoline
    .type   eddy__ctx_trampoline, %function
eddy__ctx_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov     x29, #0
    mov     x0, x19
    blr     x20
    brk     #0
    .cfi_endproc
    .size   eddy__ctx_trampoline, .-eddy__ctx_trampoline

    .section .note.GNU-stack,"",%progbits
