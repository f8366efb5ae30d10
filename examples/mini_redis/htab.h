/* htab.h — a hash table of byte-string keys, intrusive: the caller's
 * struct embeds an htab_node, so one allocation holds the node, the key and
 * the payload. Used for the key space and for pub/sub channels.
 *
 * Keys are hashed with SipHash-1-3 under a random per-process key, so a
 * client cannot pick keys that all land in one bucket (hash flooding).
 * Not thread-safe, and it need not be: everything runs on the one thread
 * of the LocalRuntime. */
#ifndef MINI_REDIS_HTAB_H
#define MINI_REDIS_HTAB_H

#include <stddef.h>
#include <stdint.h>

typedef struct htab_node {
    struct htab_node *next;
    uint64_t hash;
    const char *key; /* owned by the embedding struct */
    size_t klen;
} htab_node;

typedef struct htab {
    htab_node **buckets;
    size_t mask;  /* buckets - 1; the count of buckets is a power of two */
    size_t count;
} htab;

void htab_init(htab *t);
/* Calls free_node on every node (if not NULL), then frees the table. */
void htab_destroy(htab *t, void (*free_node)(htab_node *));

uint64_t htab_hash(const void *key, size_t len);
/* The node with this key (and its hash from htab_hash), or NULL. */
htab_node *htab_find(const htab *t, const void *key, size_t klen, uint64_t hash);
/* Adds a node whose key, klen and hash are set; the key must be absent. */
void htab_insert(htab *t, htab_node *n);
/* Unlinks a node that is in the table (the caller frees it). */
void htab_remove(htab *t, htab_node *n);

#endif
