/* db.c — the key space and its expiry.
 *
 * Keys live in an intrusive hash table (htab.c). Keys with an expiry are
 * also in a binary min-heap ordered by deadline; each entry knows its index
 * in the heap, so that overwriting, deleting or re-arming a key removes its
 * old deadline in O(log n). That is what guarantees that a key set again
 * without expiry is never deleted by its old deadline: the deadline is gone
 * from the heap, not left behind to be checked against a generation.
 *
 * One task serves the whole heap: it sleeps until the earliest deadline
 * (eddy_notify_wait_until: a local Notify plus eddy's timer wheel), and is
 * poked through the Notify when a new key takes the head of the heap. One
 * task and one timer however many keys expire, where a task per key would
 * cost a stack each. */
#include "db.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "htab.h"

#define NOT_IN_HEAP SIZE_MAX
/* Keys deleted by the expiry task between two yields. */
#define EXPIRE_BATCH 1000

typedef struct entry {
    htab_node node;        /* first member: a node pointer is an entry pointer */
    char *val;
    size_t vlen;
    eddy_instant expires;  /* 0: never */
    size_t heap_idx;       /* index in the expiry heap, or NOT_IN_HEAP */
    char key[];
} entry;

static htab keys;
static struct {
    entry **v;
    size_t len, cap;
} heap;
static eddy_notify *expiry_wake; /* a key became the earliest deadline */

/* ---- the expiry heap ---- */

static void heap_put(size_t i, entry *e)
{
    heap.v[i] = e;
    e->heap_idx = i;
}

static void sift_up(size_t i)
{
    entry *e = heap.v[i];
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (heap.v[parent]->expires <= e->expires)
            break;
        heap_put(i, heap.v[parent]);
        i = parent;
    }
    heap_put(i, e);
}

static void sift_down(size_t i)
{
    entry *e = heap.v[i];
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= heap.len)
            break;
        if (child + 1 < heap.len && heap.v[child + 1]->expires < heap.v[child]->expires)
            child++;
        if (heap.v[child]->expires >= e->expires)
            break;
        heap_put(i, heap.v[child]);
        i = child;
    }
    heap_put(i, e);
}

static void heap_add(entry *e)
{
    if (heap.len == heap.cap) {
        heap.cap = heap.cap ? heap.cap * 2 : 64;
        heap.v = xrealloc(heap.v, heap.cap * sizeof *heap.v);
    }
    heap_put(heap.len++, e);
    sift_up(heap.len - 1);
}

static void heap_remove(entry *e)
{
    size_t i = e->heap_idx;
    entry *last = heap.v[--heap.len];
    e->heap_idx = NOT_IN_HEAP;
    if (i < heap.len) { /* fill the hole with the last entry and restore order */
        heap_put(i, last);
        sift_up(i);
        sift_down(last->heap_idx);
    }
    if (heap.len == 0 && heap.cap > 1024) { /* give a big, empty heap back */
        free(heap.v);
        heap.v = NULL;
        heap.cap = 0;
    }
}

/* Replaces the key's deadline (0: none). */
static void set_expiry(entry *e, eddy_instant expires)
{
    if (e->heap_idx != NOT_IN_HEAP)
        heap_remove(e);
    e->expires = expires;
    if (expires) {
        heap_add(e);
        /* Only a new earliest deadline changes when the expiry task must
         * wake; a later one it will find on its own. */
        if (e->heap_idx == 0)
            eddy_notify_one(expiry_wake);
    }
}

/* ---- entries ---- */

static void free_entry(entry *e)
{
    free(e->val);
    free(e);
}

static void free_node(htab_node *n)
{
    free_entry((entry *)n);
}

static void delete_entry(entry *e)
{
    if (e->heap_idx != NOT_IN_HEAP)
        heap_remove(e);
    htab_remove(&keys, &e->node);
    free_entry(e);
}

static bool expired(const entry *e)
{
    return e->expires != 0 && eddy_now() >= e->expires;
}

/* The live entry for a key, deleting it first if its deadline has passed
 * (so a key reads as absent right at its deadline, whether or not the
 * expiry task has run yet). */
static entry *lookup(slice key, uint64_t hash)
{
    entry *e = (entry *)htab_find(&keys, key.ptr, key.len, hash);
    if (e && expired(e)) {
        delete_entry(e);
        return NULL;
    }
    return e;
}

static entry *create(slice key, uint64_t hash)
{
    entry *e = xmalloc(sizeof *e + key.len);
    if (key.len)
        memcpy(e->key, key.ptr, key.len);
    e->node.key = e->key;
    e->node.klen = key.len;
    e->node.hash = hash;
    e->val = NULL;
    e->vlen = 0;
    e->expires = 0;
    e->heap_idx = NOT_IN_HEAP;
    htab_insert(&keys, &e->node);
    return e;
}

static void set_value(entry *e, const char *p, size_t n)
{
    e->val = xrealloc(e->val, n);
    if (n)
        memcpy(e->val, p, n);
    e->vlen = n;
}

/* ---- the public operations ---- */

void db_init(void)
{
    htab_init(&keys);
    expiry_wake = eddy_notify_new(EDDY_SYNC_LOCAL);
    if (!expiry_wake) {
        perror("mini-redis: eddy_notify_new");
        exit(1);
    }
}

void db_free(void)
{
    htab_destroy(&keys, free_node);
    free(heap.v);
    heap.v = NULL;
    heap.len = heap.cap = 0;
    eddy_notify_free(expiry_wake);
    expiry_wake = NULL;
}

bool db_get(slice key, slice *val)
{
    entry *e = lookup(key, htab_hash(key.ptr, key.len));
    if (!e)
        return false;
    *val = (slice){ e->val, e->vlen };
    return true;
}

void db_set(slice key, slice val, eddy_instant expires)
{
    uint64_t hash = htab_hash(key.ptr, key.len);
    entry *e = lookup(key, hash);
    if (!e)
        e = create(key, hash);
    set_value(e, val.ptr, val.len);
    set_expiry(e, expires);
}

bool db_del(slice key)
{
    entry *e = lookup(key, htab_hash(key.ptr, key.len));
    if (!e)
        return false;
    delete_entry(e);
    return true;
}

bool db_exists(slice key)
{
    return lookup(key, htab_hash(key.ptr, key.len)) != NULL;
}

int db_incr(slice key, long long by, long long *result)
{
    uint64_t hash = htab_hash(key.ptr, key.len);
    entry *e = lookup(key, hash);
    long long v = 0;
    if (e && !parse_ll((slice){ e->val, e->vlen }, &v))
        return -EINVAL;
    if ((by > 0 && v > LLONG_MAX - by) || (by < 0 && v < LLONG_MIN - by))
        return -ERANGE;
    v += by;
    char text[24];
    size_t n = fmt_ll(text, v);
    if (!e)
        e = create(key, hash);
    set_value(e, text, n); /* the expiry, if any, stays: as Redis's INCR */
    *result = v;
    return 0;
}

void *db_expiry_task(void *arg)
{
    (void)arg;
    for (;;) {
        eddy_instant now = eddy_now();
        unsigned done = 0;
        while (heap.len > 0 && heap.v[0]->expires <= now) {
            delete_entry(heap.v[0]);
            /* A million keys may share one deadline: yield now and then so
             * that clients are served meanwhile. */
            if (++done % EXPIRE_BATCH == 0) {
                if (eddy_yield() < 0)
                    return NULL; /* cancelled: the runtime is shutting down */
                now = eddy_now();
            }
        }
        eddy_instant next = heap.len > 0 ? heap.v[0]->expires : EDDY_INSTANT_NEVER;
        int rc = eddy_notify_wait_until(expiry_wake, next);
        if (rc != 0 && rc != -ETIMEDOUT) {
            if (rc != -ECANCELED)
                fprintf(stderr, "mini-redis: expiry task: %s\n", eddy_strerror(rc));
            return NULL;
        }
    }
}
