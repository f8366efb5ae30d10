/* Fiber switches with sanitizer annotations. Without sanitizers every
 * helper here reduces to the bare context switch. */
#include "arch/fiber.h"

#include <stdlib.h>

#include "arch/sanitizer.h"

#ifdef EDDY_ASAN
#include <sanitizer/common_interface_defs.h>
#endif
#ifdef EDDY_TSAN
#include <sanitizer/tsan_interface.h>
#endif
/* Under valgrind, task stacks must be declared as stacks, or memcheck
 * takes each switch for a huge stack-pointer move. The client requests cost
 * a few no-op instructions when not under valgrind. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define EDDY_VALGRIND 1
#endif
#endif

#ifdef EDDY_ASAN
/* The fiber that switched to the one now running, so that the arriving side
 * can record the bounds ASan reports for the stack it left. Written just
 * before a switch and read just after it, on the same thread. */
static _Thread_local eddy_fiber *asan_switch_from;

__attribute__((noinline)) static eddy_fiber **asan_from_slot(void)
{
    return &asan_switch_from;
}

static void asan_arrived(void *fake)
{
    eddy_fiber *from = *asan_from_slot();
    const void *lo = NULL;
    size_t size = 0;
    __sanitizer_finish_switch_fiber(fake, &lo, &size);
    if (from && !from->stack_lo) {
        from->stack_lo = (void *)lo;
        from->stack_size = size;
    }
}
#endif

void eddy__fiber_init_thread(eddy_fiber *f)
{
    f->stack_lo = NULL;
#ifdef EDDY_ASAN
    f->stack_size = 0;
    f->asan_fake = NULL;
#endif
#ifdef EDDY_TSAN
    f->tsan_fiber = __tsan_get_current_fiber();
#endif
}

void eddy__fiber_init(eddy_fiber *f, void *stack_lo, size_t size,
                      void (*entry)(void *), void *arg)
{
    f->stack_lo = stack_lo;
#ifdef EDDY_ASAN
    f->stack_size = size;
    f->asan_fake = NULL;
#endif
#ifdef EDDY_VALGRIND
    f->vg_stack = VALGRIND_STACK_REGISTER(stack_lo, (char *)stack_lo + size);
#endif
#ifdef EDDY_TSAN
    f->tsan_fiber = __tsan_create_fiber(0);
#endif
    eddy__ctx_init(&f->ctx, stack_lo, size, entry, arg);
}

void eddy__fiber_destroy(eddy_fiber *f)
{
#ifdef EDDY_VALGRIND
    VALGRIND_STACK_DEREGISTER(f->vg_stack);
#endif
#ifdef EDDY_TSAN
    if (f->tsan_fiber)
        __tsan_destroy_fiber(f->tsan_fiber);
    f->tsan_fiber = NULL;
#else
    (void)f;
#endif
}

#if defined(EDDY_ASAN) || defined(EDDY_TSAN)
void eddy__fiber_switch_annotated(eddy_fiber *from, eddy_fiber *to)
{
#ifdef EDDY_ASAN
    *asan_from_slot() = from;
    __sanitizer_start_switch_fiber(&from->asan_fake, to->stack_lo, to->stack_size);
#endif
#ifdef EDDY_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    eddy__ctx_switch(&from->ctx, &to->ctx);
#ifdef EDDY_ASAN
    asan_arrived(from->asan_fake);
#endif
}
#endif

_Noreturn void eddy__fiber_exit(eddy_fiber *to)
{
#ifdef EDDY_ASAN
    /* No fiber for the arriving side to read (a task's fiber knows its
     * stack's bounds from the start, and its task may be freed by now);
     * and no slot for the fake stack of the finishing one: it is freed. */
    *asan_from_slot() = NULL;
    __sanitizer_start_switch_fiber(NULL, to->stack_lo, to->stack_size);
#endif
#ifdef EDDY_TSAN
    __tsan_switch_to_fiber(to->tsan_fiber, 0);
#endif
    eddy__ctx_jump(&to->ctx);
}

void eddy__fiber_started(void)
{
#ifdef EDDY_ASAN
    asan_arrived(NULL);
#endif
}
