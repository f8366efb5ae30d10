/* resp.h — the Redis serialization protocol, version 2 (RESP2): an
 * incremental parser for requests and the writers for replies.
 *
 * Requests are either arrays of bulk strings ("*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
 * what redis-cli and redis-benchmark send) or inline commands ("PING\r\n",
 * what a person types into netcat). Arguments are handed out as slices into
 * the caller's buffer: nothing is copied while parsing. */
#ifndef MINI_REDIS_RESP_H
#define MINI_REDIS_RESP_H

#include <stdbool.h>
#include <stddef.h>

#include "util.h"

/* Limits that keep a hostile client from making us allocate without bound.
 * A request is only buffered as its bytes actually arrive, so these bound
 * what one connection can make the server hold, not what it allocates up
 * front. The bulk and inline limits are Redis's own defaults. */
#define RESP_MAX_BULK   (512u * 1024 * 1024) /* one argument (proto-max-bulk-len) */
#define RESP_MAX_ARGS   (1024u * 1024)       /* arguments of one command */
#define RESP_MAX_INLINE (64u * 1024)         /* an inline command or a header line */

typedef enum resp_status {
    RESP_INCOMPLETE = 0, /* need more bytes */
    RESP_COMMAND = 1,    /* a command is ready in p->argc / p->argv */
    RESP_ERROR = -1,     /* malformed: p->error says why; close the connection */
} resp_status;

/* Parser state for one connection. Progress through a command that arrives
 * in many reads is kept here, so each byte is scanned once, however the
 * command is split. Positions are offsets from the command's first byte, so
 * they survive the caller moving or growing its buffer. */
typedef struct resp_parser {
    size_t pos;        /* where the next part of the command starts */
    size_t scan;       /* where the search for the end of a line resumes */
    long long want;    /* arguments announced by the "*N" header; -1: none yet */
    long long bulk;    /* length announced by the current "$N" line; -1: none */
    size_t argc;       /* arguments complete so far */
    size_t cap;        /* allocated entries of span and argv */
    struct resp_span { size_t off, len; } *span;
    slice *argv;       /* valid after RESP_COMMAND, until the next call */
    bool delivered;    /* argv was handed out; the next call starts afresh */
    char error[64];    /* after RESP_ERROR: the reason, for "-ERR Protocol error: ..." */
} resp_parser;

void resp_parser_init(resp_parser *p);
void resp_parser_free(resp_parser *p);

/* Parses the next command from data[0..len), which starts where the
 * previous command ended. On RESP_COMMAND, p->argv[0..p->argc) point into
 * data. *consumed receives the bytes the caller may drop from the front of
 * its buffer: the whole command on RESP_COMMAND, and any empty commands
 * skipped on the way ("\r\n", "*0\r\n") in every case. */
resp_status resp_parse(resp_parser *p, const char *data, size_t len, size_t *consumed);

/* Reply writers: each appends one RESP2 value to b. */
void resp_simple(buf *b, const char *s);             /* +OK */
void resp_error(buf *b, const char *fmt, ...)        /* -ERR ... (CR/LF become spaces) */
    __attribute__((format(printf, 2, 3)));
void resp_int(buf *b, long long v);                  /* :42 */
void resp_bulk(buf *b, const void *p, size_t n);     /* $3\r\nfoo */
void resp_bulk_str(buf *b, const char *s);           /* a bulk string from a C string */
void resp_null(buf *b);                              /* $-1: the nil reply */
void resp_array(buf *b, size_t n);                   /* *n, followed by n values */

#endif
