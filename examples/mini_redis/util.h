/* util.h — the small things every other file of mini-redis uses: memory
 * allocation that cannot fail, byte strings, a growable byte buffer, and
 * Redis's strict integer parsing. */
#ifndef MINI_REDIS_UTIL_H
#define MINI_REDIS_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* A byte string that is not NUL-terminated (keys and values are binary). */
typedef struct slice {
    const char *ptr;
    size_t len;
} slice;

/* Allocation that aborts with a message when memory runs out, as Redis's
 * zmalloc does: a server that cannot allocate a reply has no sensible way
 * to carry on, and checking every small allocation would bury the example. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xmemdup(const void *p, size_t n);

/* A growable byte buffer: data[0..len) is in use, cap bytes are allocated. */
typedef struct buf {
    char *data;
    size_t len, cap;
} buf;

/* Makes room for at least `extra` more bytes (capacity at least doubles). */
void buf_reserve(buf *b, size_t extra);
void buf_append(buf *b, const void *p, size_t n);
/* Gives the memory back if the (empty) buffer grew past `keep` bytes, so a
 * single large request does not pin a large buffer for a connection's life. */
void buf_shrink(buf *b, size_t keep);
void buf_free(buf *b);

/* Parses a whole slice as a signed 64-bit decimal the way Redis does
 * (string2ll): optional '-', no '+', no spaces, no leading zeros, no
 * overflow. Returns false when it is not such a number. */
bool parse_ll(slice s, long long *out);

/* Writes v in decimal to out (at least 21 bytes); returns the length. */
size_t fmt_ll(char *out, long long v);

/* Case-insensitive comparison of a slice with a NUL-terminated word. */
bool slice_eq_nocase(slice s, const char *word);

#endif
