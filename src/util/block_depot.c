/* The block depot (see block_depot.h). */
#include "util/block_depot.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>

/* users and count change under the lock only; they are atomic so that
 * eddy__block_depot_has_room may read them without it. */
static struct {
    pthread_mutex_t lock;
    atomic_uint users; /* live runtimes */
    struct {
        eddy_free_block *batches;
        atomic_size_t count;
    } cls[EDDY_BLOCK_CLASSES];
} depot = { .lock = PTHREAD_MUTEX_INITIALIZER };

static unsigned users(void)
{
    return atomic_load_explicit(&depot.users, memory_order_relaxed);
}

static size_t count(unsigned k)
{
    return atomic_load_explicit(&depot.cls[k].count, memory_order_relaxed);
}

static void set_count(unsigned k, size_t n)
{
    atomic_store_explicit(&depot.cls[k].count, n, memory_order_relaxed);
}

/* The link to the next batch: the second word of a batch's first block. */
static eddy_free_block **next_batch(eddy_free_block *batch)
{
    return (eddy_free_block **)((char *)batch + sizeof(eddy_free_block *));
}

static size_t max_batches(unsigned k)
{
    return EDDY_BLOCK_DEPOT_BYTES / ((size_t)(k + 1) * EDDY_BLOCK_CLASS * EDDY_BLOCK_BATCH);
}

void eddy__block_depot_ref(void)
{
    pthread_mutex_lock(&depot.lock);
    atomic_store_explicit(&depot.users, users() + 1, memory_order_relaxed);
    pthread_mutex_unlock(&depot.lock);
}

void eddy__block_depot_unref(void)
{
    pthread_mutex_lock(&depot.lock);
    atomic_store_explicit(&depot.users, users() - 1, memory_order_relaxed);
    if (users() == 0) {
        for (unsigned k = 0; k < EDDY_BLOCK_CLASSES; k++) {
            eddy_free_block *batch = depot.cls[k].batches;
            while (batch) {
                eddy_free_block *next = *next_batch(batch);
                for (eddy_free_block *b = batch; b;) {
                    eddy_free_block *after = b->next;
                    free(b);
                    b = after;
                }
                batch = next;
            }
            depot.cls[k].batches = NULL;
            set_count(k, 0);
        }
    }
    pthread_mutex_unlock(&depot.lock);
}

eddy_free_block *eddy__block_depot_take(unsigned k)
{
    pthread_mutex_lock(&depot.lock);
    eddy_free_block *batch = depot.cls[k].batches;
    if (batch) {
        depot.cls[k].batches = *next_batch(batch);
        set_count(k, count(k) - 1);
    }
    pthread_mutex_unlock(&depot.lock);
    return batch;
}

bool eddy__block_depot_give(unsigned k, eddy_free_block *batch)
{
    pthread_mutex_lock(&depot.lock);
    bool ok = users() > 0 && count(k) < max_batches(k);
    if (ok) {
        *next_batch(batch) = depot.cls[k].batches;
        depot.cls[k].batches = batch;
        set_count(k, count(k) + 1);
    }
    pthread_mutex_unlock(&depot.lock);
    return ok;
}

bool eddy__block_depot_has_room(unsigned k)
{
    return users() > 0 && count(k) < max_batches(k);
}
