/* The cold stack pool, shared by every thread of the process.
 *
 * Each thread keeps a hot tier of stacks (arch/stack.c); stacks beyond it
 * come here in batches instead of being unmapped, and threads whose hot
 * tier runs dry take them back in batches. Sharing matters on a
 * multi-thread runtime: tasks spawned on one worker often finish on
 * another, so one worker's tier fills while another's empties; a pool per
 * thread would map on one side and unmap on the other.
 *
 * Only addresses are kept (a stack's header sits in its own top page,
 * which may be reclaimed): the taker writes the header again. A batch's
 * pages stay as they are for POOL_DECAY_NS, so that the next burst of
 * tasks reuses them without a page fault (a fault and a zeroed page cost
 * microseconds; running a short task, tens of nanoseconds). Then they are
 * handed back with MADV_FREE (the kernel reclaims them when it needs the
 * memory), the way allocators decay their free pages; parking schedulers
 * run that decay (eddy__stack_pool_trim). The pool holds one stack shape
 * (size, guard) at a time and at most POOL_MAX stacks, and is unmapped
 * when the last runtime goes (eddy__stack_pool_unref). */
#ifndef EDDY_ARCH_STACK_POOL_H
#define EDDY_ARCH_STACK_POOL_H

#include <stdbool.h>
#include <stddef.h>

/* A runtime starts, or ends, using stacks. The pool takes stacks only
 * while some runtime lives, and the last unref unmaps it. */
void eddy__stack_pool_ref(void);
void eddy__stack_pool_unref(void);

/* Gives n stack mappings of one shape (size usable bytes asked, guarded
 * or not), as one batch. All or nothing: false (the caller unmaps them)
 * when no runtime lives, the pool holds another shape, or it is full. */
bool eddy__stack_pool_give(char *const *maps, size_t n, size_t size, bool guarded);

/* Takes up to n mappings of that shape, most recently given first (their
 * pages are likeliest still there), into out. Returns how many. */
size_t eddy__stack_pool_take(char **out, size_t n, size_t size, bool guarded);

/* Called by a scheduler about to park for timeout_ms (-1: no limit):
 * hands back the pages of batches that are due, and returns the time-out
 * to park with, shortened so that the next batch is handed back on time. */
int eddy__stack_pool_trim(int timeout_ms);

#endif /* EDDY_ARCH_STACK_POOL_H */
