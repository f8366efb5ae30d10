/* The block depot: a process-wide tier behind the per-thread block caches
 * (block_cache.h), holding batches of free blocks per size class.
 *
 * Why: blocks are often freed on another thread than the one that made
 * them. A task spawned from a blocking-pool thread through a Handle is
 * allocated there and freed by the runtime's thread; once the freeing
 * thread's cache is full, the blocks went back to malloc, into the arena
 * of the thread that made them, whose heap glibc then trimmed and grew
 * again, with fresh page faults, on every burst (remote spawns ran 2-4
 * times slower). Now a full cache hands a batch to the depot, and an empty
 * one takes a batch from it before it calls malloc, so blocks circulate
 * between the threads that free them and the threads that need them.
 *
 * Batches are EDDY_BLOCK_BATCH blocks chained through their first word.
 * The depot holds them only while a runtime is alive: runtimes take a
 * reference (ref/unref), and the last one to go frees what it holds.
 *
 * How much it holds: a batch nobody has taken back for a second is freed
 * (parking schedulers run that decay, eddy__block_depot_trim, beside the
 * stack pool's), and at most EDDY_BLOCK_DEPOT_BYTES per class wait at
 * once. A fixed cap alone was either small or forever: at 16 MiB, a
 * program with 300,000 tasks alive sent most of them back to malloc on
 * every burst, and glibc trimmed its heap and faulted it in again (a
 * spawn cost 2.5 times as much as with 10,000 tasks, and more than
 * Tokio's), while what the depot held was never given back. */
#ifndef EDDY_UTIL_BLOCK_DEPOT_H
#define EDDY_UTIL_BLOCK_DEPOT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/block_cache.h"

#define EDDY_BLOCK_BATCH 64
#define EDDY_BLOCK_DEPOT_BYTES ((size_t)256 << 20)

void eddy__block_depot_ref(void);
void eddy__block_depot_unref(void);

/* A NULL-terminated chain of EDDY_BLOCK_BATCH blocks of class k, or NULL
 * when the depot has none. */
eddy_free_block *eddy__block_depot_take(unsigned k);

/* Takes a chain of EDDY_BLOCK_BATCH blocks of class k; false (the caller
 * keeps them) when the depot is full or no runtime is alive. */
bool eddy__block_depot_give(unsigned k, eddy_free_block *batch);

/* Whether a give of class k would be taken now, read without the lock: a
 * hint (another thread may fill or drain the depot meanwhile), for a
 * caller that would otherwise gather a batch only to have it refused. */
bool eddy__block_depot_has_room(unsigned k);

/* Called by a scheduler about to park for timeout_ms (-1: no limit): frees
 * the batches that are due, and returns the time-out to park with,
 * shortened so that the next ones are freed on time. One atomic load when
 * the depot is empty. */
int eddy__block_depot_trim(int timeout_ms);

/* How many batches the depot holds now, of every class (read without the
 * lock): for tests. */
size_t eddy__block_depot_batches(void);

#endif /* EDDY_UTIL_BLOCK_DEPOT_H */
