/* A fiber: an execution context plus what the sanitizers need to follow a
 * switch (the stack bounds for ASan, a fiber object for TSan). Every switch
 * in eddy goes through eddy__fiber_switch so that ASan and TSan always know
 * which stack is running. */
#ifndef EDDY_ARCH_FIBER_H
#define EDDY_ARCH_FIBER_H

#include <stdbool.h>
#include <stddef.h>

#include "arch/ctx.h"
#include "arch/sanitizer.h"

/* A task's fiber sits in the hot first lines of the task object: only
 * what a plain build uses is there. */
typedef struct eddy_fiber {
    eddy_ctx ctx;
    void *stack_lo;   /* lowest usable byte of the fiber's stack (for a thread's
                         own stack, ASan tells it at the first switch away) */
#ifdef EDDY_ASAN
    size_t stack_size;
    void *asan_fake;  /* ASan's fake-stack handle while switched out */
#endif
#ifdef EDDY_TSAN
    void *tsan_fiber; /* TSan's fiber object */
#endif
    unsigned vg_stack;/* valgrind's id for the stack */
} eddy_fiber;

/* Makes f the fiber of the calling thread's own stack. */
void eddy__fiber_init_thread(eddy_fiber *f);

/* Prepares f to run entry(arg) on [stack_lo, stack_lo + size). The entry
 * must call eddy__fiber_started() first and must never return. */
void eddy__fiber_init(eddy_fiber *f, void *stack_lo, size_t size,
                      void (*entry)(void *), void *arg);

/* Releases what the sanitizers hold for a fiber that finished. Call from
 * another fiber, after the last switch away from f. */
void eddy__fiber_destroy(eddy_fiber *f);

/* Switches from the running fiber `from` to `to`; returns when something
 * switches back. Inlined into its callers when no sanitizer needs to hear
 * of it: every return executed after a stack switch is mispredicted (the
 * return-stack buffer holds the other stack's calls), so the fewer call
 * levels around a switch, the cheaper it is. */
#if defined(EDDY_ASAN) || defined(EDDY_TSAN)
void eddy__fiber_switch_annotated(eddy_fiber *from, eddy_fiber *to);
static inline void eddy__fiber_switch(eddy_fiber *from, eddy_fiber *to)
{
    eddy__fiber_switch_annotated(from, to);
}
#else
static inline __attribute__((always_inline)) void eddy__fiber_switch(eddy_fiber *from,
                                                                     eddy_fiber *to)
{
    eddy__ctx_switch(&from->ctx, &to->ctx);
}
#endif

/* As eddy__fiber_switch, from a scheduler loop whose FP control words
 * are env (eddy__ctx_fp_env, read when the loop started). */
#if defined(EDDY_ASAN) || defined(EDDY_TSAN)
static inline void eddy__fiber_switch_env(eddy_fiber *from, eddy_fiber *to, uint64_t env)
{
    (void)env;
    eddy__fiber_switch_annotated(from, to);
}
#else
static inline __attribute__((always_inline)) void eddy__fiber_switch_env(eddy_fiber *from,
                                                                         eddy_fiber *to,
                                                                         uint64_t env)
{
    eddy__ctx_switch_env(&from->ctx, &to->ctx, env);
}
#endif

/* The last switch away from a finished fiber, to `to`: saves nothing and
 * never returns. The finished fiber's object is not touched (its task
 * may be freed already); eddy__fiber_destroy it later, from elsewhere. */
_Noreturn void eddy__fiber_exit(eddy_fiber *to);

/* First call on a fresh fiber's stack. */
void eddy__fiber_started(void);

#endif /* EDDY_ARCH_FIBER_H */
