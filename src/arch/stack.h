/* Task stacks: mmap'd, committed lazily by the kernel, with a PROT_NONE
 * guard page below (unless unguarded), handed out from a per-thread cache
 * so that a spawn after the first costs no system call. The stack's own
 * bookkeeping sits at its top, in the page its first frames use anyway, so
 * a parked task that stayed shallow costs one page. */
#ifndef EDDY_ARCH_STACK_H
#define EDDY_ARCH_STACK_H

#include <stdbool.h>
#include <stddef.h>

typedef struct eddy_stack eddy_stack;

/* The usable range of a stack, and how it is protected. */
struct eddy_stack {
    void *lo;            /* lowest usable byte */
    size_t size;         /* usable bytes (the header sits above them) */
    size_t shape;        /* the size asked for: what the cache matches on */
    void *map;           /* the whole mapping, guard page included */
    size_t map_size;
    bool guarded;
};

/* Largest stack a task may ask for. */
#define EDDY_STACK_MAX ((size_t)1 << 36)

/* Rounds a requested size up to whole pages, at least the minimum. Returns
 * 0 for a size above EDDY_STACK_MAX. */
size_t eddy__stack_round(size_t size);

/* A stack with at least `size` usable bytes (size already rounded), from
 * the calling thread's cache or a fresh mapping. NULL with errno = ENOMEM
 * when the mapping fails (memory, or vm.max_map_count). */
eddy_stack *eddy__stack_get(size_t size, bool guarded);

/* Returns a stack to the calling thread's cache, or unmaps it. shape and
 * guarded are what it was got with (eddy__stack_get's arguments): passed
 * in, so that giving a stack back does not read its header. */
void eddy__stack_put(eddy_stack *s, size_t shape, bool guarded);

/* Unmaps one stack at once (a thread's last stack, as it exits). */
void eddy__stack_free(eddy_stack *s);

/* Unmaps every stack cached by the calling thread. */
void eddy__stack_cache_drain(void);

/* The range a fault on which means the stack overflowed: its guard page
 * (and, for frames that skip it, a little below). */
bool eddy__stack_fault_is_overflow(const eddy_stack *s, const void *addr);

#endif /* EDDY_ARCH_STACK_H */
