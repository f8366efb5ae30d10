/* Per-thread caches of small blocks for objects made and dropped at a high
 * rate (a oneshot channel per request, say), so that the common case costs
 * a list pop instead of a trip through malloc's slower bins, which is where
 * thousands of such objects alive at once send it.
 *
 * Blocks come in 16-byte size classes; a block may be freed on another thread
 * than the one that allocated it (it joins that thread's cache). Each
 * thread keeps at most BLOCK_CACHE_MAX blocks per class and frees them when
 * it exits. Under ASan the cache is bypassed, so that use-after-free is
 * still caught. */
#ifndef EDDY_UTIL_BLOCK_CACHE_H
#define EDDY_UTIL_BLOCK_CACHE_H

#include <stddef.h>

/* Largest block served from the cache; larger sizes go to malloc. */
#define EDDY_BLOCK_MAX 256

/* A zeroed block of `size` bytes (like calloc(1, size)), or NULL. */
void *eddy__block_alloc_zeroed(size_t size);

/* Frees a block from eddy__block_alloc_zeroed; `size` as allocated. */
void eddy__block_free(void *p, size_t size);

#endif /* EDDY_UTIL_BLOCK_CACHE_H */
