/* htab.c — chained hash table with SipHash-1-3.
 *
 * The table doubles when it holds more nodes than buckets and halves when
 * it falls below an eighth, rehashing everything at once. Redis rehashes
 * incrementally to avoid the pause; at a few nanoseconds per node a full
 * rehash of a million keys is a ~10 ms hiccup, acceptable for an example. */
#include "htab.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util.h"

#define MIN_BUCKETS 16

static uint64_t sip_k0, sip_k1;
static bool seeded;

static void seed(void)
{
    uint64_t k[2];
    if (getrandom(k, sizeof k, 0) != (ssize_t)sizeof k) {
        /* No entropy source: a weaker seed still beats a fixed one. */
        k[0] = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL;
        k[1] = (uint64_t)(uintptr_t)k ^ (uint64_t)clock();
    }
    sip_k0 = k[0];
    sip_k1 = k[1];
    seeded = true;
}

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND                                                          \
    do {                                                                  \
        v0 += v1; v1 = ROTL(v1, 13); v1 ^= v0; v0 = ROTL(v0, 32);         \
        v2 += v3; v3 = ROTL(v3, 16); v3 ^= v2;                            \
        v0 += v3; v3 = ROTL(v3, 21); v3 ^= v0;                            \
        v2 += v1; v1 = ROTL(v1, 17); v1 ^= v2; v2 = ROTL(v2, 32);         \
    } while (0)

/* SipHash-1-3 (one compression round, three finalisation rounds: what
 * Redis and Rust's HashMap use). Words are read in host byte order: the
 * value only has to be a good hash here, not match other implementations. */
uint64_t htab_hash(const void *key, size_t len)
{
    const unsigned char *in = key;
    uint64_t v0 = 0x736f6d6570736575ULL ^ sip_k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ sip_k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ sip_k0;
    uint64_t v3 = 0x7465646279746573ULL ^ sip_k1;
    size_t whole = len - len % 8;
    for (size_t i = 0; i < whole; i += 8) {
        uint64_t m;
        memcpy(&m, in + i, 8);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }
    uint64_t last = (uint64_t)len << 56;
    for (size_t i = 0; i < len % 8; i++)
        last |= (uint64_t)in[whole + i] << (8 * i);
    v3 ^= last;
    SIPROUND;
    v0 ^= last;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

static void alloc_buckets(htab *t, size_t n)
{
    t->buckets = xmalloc(n * sizeof *t->buckets);
    memset(t->buckets, 0, n * sizeof *t->buckets);
    t->mask = n - 1;
}

void htab_init(htab *t)
{
    if (!seeded)
        seed();
    t->count = 0;
    alloc_buckets(t, MIN_BUCKETS);
}

void htab_destroy(htab *t, void (*free_node)(htab_node *))
{
    if (!t->buckets)
        return;
    for (size_t i = 0; i <= t->mask; i++) {
        htab_node *n = t->buckets[i];
        while (n) {
            htab_node *next = n->next;
            if (free_node)
                free_node(n);
            n = next;
        }
    }
    free(t->buckets);
    t->buckets = NULL;
    t->mask = 0;
    t->count = 0;
}

static void resize(htab *t, size_t n)
{
    htab_node **old = t->buckets;
    size_t old_n = t->mask + 1;
    alloc_buckets(t, n);
    for (size_t i = 0; i < old_n; i++) {
        htab_node *node = old[i];
        while (node) {
            htab_node *next = node->next;
            htab_node **head = &t->buckets[node->hash & t->mask];
            node->next = *head;
            *head = node;
            node = next;
        }
    }
    free(old);
}

htab_node *htab_find(const htab *t, const void *key, size_t klen, uint64_t hash)
{
    for (htab_node *n = t->buckets[hash & t->mask]; n; n = n->next)
        if (n->hash == hash && n->klen == klen && (klen == 0 || memcmp(n->key, key, klen) == 0))
            return n;
    return NULL;
}

void htab_insert(htab *t, htab_node *n)
{
    htab_node **head = &t->buckets[n->hash & t->mask];
    n->next = *head;
    *head = n;
    if (++t->count > t->mask + 1)
        resize(t, (t->mask + 1) * 2);
}

void htab_remove(htab *t, htab_node *n)
{
    htab_node **pp = &t->buckets[n->hash & t->mask];
    while (*pp != n)
        pp = &(*pp)->next;
    *pp = n->next;
    n->next = NULL;
    t->count--;
    /* Give memory back after mass deletion (e.g. many keys expiring). */
    if (t->mask + 1 > MIN_BUCKETS && t->count < (t->mask + 1) / 8)
        resize(t, (t->mask + 1) / 2);
}
