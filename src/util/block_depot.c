/* The block depot (see block_depot.h). */
#include "util/block_depot.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "util/clock.h"

/* A batch given and not taken back for this long is freed. */
#define DEPOT_DECAY_NS ((uint64_t)1000000000)

typedef struct depot_batch {
    eddy_free_block *first;
    uint64_t when; /* given at (eddy__mono_ns) */
} depot_batch;

/* A class's batches, oldest first: gives push and takes pop at the end,
 * so the batches at the front are the ones nobody has needed longest,
 * and decay frees from there. n changes under the lock only; it is atomic
 * so that eddy__block_depot_has_room may read it without it, as are users
 * and due. */
static struct {
    pthread_mutex_t lock;
    atomic_uint users; /* live runtimes */
    struct {
        depot_batch *v;
        atomic_size_t n;
        size_t cap;
    } cls[EDDY_BLOCK_CLASSES];
    /* When the oldest batch of any class is due (UINT64_MAX: none). */
    atomic_uint_fast64_t due;
} depot = { .lock = PTHREAD_MUTEX_INITIALIZER, .due = UINT64_MAX };

static unsigned users(void)
{
    return atomic_load_explicit(&depot.users, memory_order_relaxed);
}

static size_t count(unsigned k)
{
    return atomic_load_explicit(&depot.cls[k].n, memory_order_relaxed);
}

static void set_count(unsigned k, size_t n)
{
    atomic_store_explicit(&depot.cls[k].n, n, memory_order_relaxed);
}

static size_t max_batches(unsigned k)
{
    return EDDY_BLOCK_DEPOT_BYTES / ((size_t)(k + 1) * EDDY_BLOCK_CLASS * EDDY_BLOCK_BATCH);
}

/* The link to the next batch in a chain of batches on their way to
 * free(): the second word of a batch's first block (every block has at
 * least two). */
static eddy_free_block **next_batch(eddy_free_block *batch)
{
    return (eddy_free_block **)((char *)batch + sizeof(eddy_free_block *));
}

static void free_chain(eddy_free_block *batch)
{
    while (batch) {
        eddy_free_block *next = *next_batch(batch);
        for (eddy_free_block *b = batch; b;) {
            eddy_free_block *after = b->next;
            free(b);
            b = after;
        }
        batch = next;
    }
}

/* Under the lock. */
static void update_due(void)
{
    uint64_t due = UINT64_MAX;
    for (unsigned k = 0; k < EDDY_BLOCK_CLASSES; k++)
        if (count(k) && depot.cls[k].v[0].when + DEPOT_DECAY_NS < due)
            due = depot.cls[k].v[0].when + DEPOT_DECAY_NS;
    atomic_store_explicit(&depot.due, due, memory_order_relaxed);
}

/* Takes the first `old` batches of class k out of the depot, chained for
 * free_chain (pushed in front of *chain). Under the lock. */
static void unlink_oldest(unsigned k, size_t old, eddy_free_block **chain)
{
    depot_batch *v = depot.cls[k].v;
    size_t n = count(k);
    for (size_t i = 0; i < old; i++) {
        *next_batch(v[i].first) = *chain;
        *chain = v[i].first;
    }
    for (size_t i = old; i < n; i++)
        v[i - old] = v[i];
    set_count(k, n - old);
}

void eddy__block_depot_ref(void)
{
    pthread_mutex_lock(&depot.lock);
    atomic_store_explicit(&depot.users, users() + 1, memory_order_relaxed);
    pthread_mutex_unlock(&depot.lock);
}

void eddy__block_depot_unref(void)
{
    eddy_free_block *chain = NULL;
    pthread_mutex_lock(&depot.lock);
    atomic_store_explicit(&depot.users, users() - 1, memory_order_relaxed);
    if (users() == 0) {
        for (unsigned k = 0; k < EDDY_BLOCK_CLASSES; k++) {
            unlink_oldest(k, count(k), &chain);
            free(depot.cls[k].v);
            depot.cls[k].v = NULL;
            depot.cls[k].cap = 0;
        }
        update_due();
    }
    pthread_mutex_unlock(&depot.lock);
    free_chain(chain);
}

eddy_free_block *eddy__block_depot_take(unsigned k)
{
    eddy_free_block *batch = NULL;
    pthread_mutex_lock(&depot.lock);
    size_t n = count(k);
    if (n) {
        batch = depot.cls[k].v[n - 1].first;
        set_count(k, n - 1);
        if (n == 1)
            update_due();
    }
    pthread_mutex_unlock(&depot.lock);
    return batch;
}

bool eddy__block_depot_give(unsigned k, eddy_free_block *batch)
{
    uint64_t now = eddy__mono_ns();
    pthread_mutex_lock(&depot.lock);
    size_t n = count(k);
    bool ok = eddy__block_depot_has_room(k);
    if (ok && n == depot.cls[k].cap) {
        size_t cap = n ? 2 * n : 64;
        depot_batch *grown = realloc(depot.cls[k].v, cap * sizeof *grown);
        ok = grown != NULL;
        if (ok) {
            depot.cls[k].v = grown;
            depot.cls[k].cap = cap;
        }
    }
    if (ok) {
        depot.cls[k].v[n] = (depot_batch){ batch, now };
        set_count(k, n + 1);
        if (atomic_load_explicit(&depot.due, memory_order_relaxed) == UINT64_MAX)
            update_due();
    }
    pthread_mutex_unlock(&depot.lock);
    return ok;
}

bool eddy__block_depot_has_room(unsigned k)
{
    return users() > 0 && count(k) < max_batches(k);
}

int eddy__block_depot_trim(int timeout_ms)
{
    uint64_t due = atomic_load_explicit(&depot.due, memory_order_relaxed);
    if (due == UINT64_MAX)
        return timeout_ms;
    uint64_t now = eddy__mono_ns();
    if (now >= due) {
        eddy_free_block *chain = NULL;
        pthread_mutex_lock(&depot.lock);
        /* `now` was read before the lock: batches given since are younger. */
        for (unsigned k = 0; k < EDDY_BLOCK_CLASSES; k++) {
            size_t old = 0, n = count(k);
            while (old < n && depot.cls[k].v[old].when + DEPOT_DECAY_NS <= now)
                old++;
            unlink_oldest(k, old, &chain);
        }
        update_due();
        due = atomic_load_explicit(&depot.due, memory_order_relaxed);
        pthread_mutex_unlock(&depot.lock);
        free_chain(chain); /* after unlocking: many blocks, many calls */
    }
    return eddy__park_timeout_until(timeout_ms, due, now);
}

size_t eddy__block_depot_batches(void)
{
    size_t n = 0;
    for (unsigned k = 0; k < EDDY_BLOCK_CLASSES; k++)
        n += count(k);
    return n;
}
