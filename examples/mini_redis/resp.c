/* resp.c — RESP2 request parser and reply writers.
 *
 * The parser is incremental: a command may arrive one byte per read, or a
 * hundred commands in one read (pipelining). It never copies an argument;
 * it records where each one lies and hands out slices once the whole
 * command is in the buffer. The error texts are Redis's own, so clients
 * and people see what they would see from a real server. */
#include "resp.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Internal status: an empty command ("\r\n", "*0\r\n") was skipped. */
#define PARSE_EMPTY 2

void resp_parser_init(resp_parser *p)
{
    memset(p, 0, sizeof *p);
    p->want = -1;
    p->bulk = -1;
}

void resp_parser_free(resp_parser *p)
{
    free(p->span);
    free(p->argv);
    resp_parser_init(p);
}

/* Forgets the progress through a command (not the arrays). */
static void restart(resp_parser *p)
{
    p->pos = 0;
    p->scan = 0;
    p->want = -1;
    p->bulk = -1;
}

static int fail(resp_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(resp_parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->error, sizeof p->error, fmt, ap);
    va_end(ap);
    restart(p);
    p->argc = 0;
    return RESP_ERROR;
}

static void push_arg(resp_parser *p, size_t off, size_t len)
{
    if (p->argc == p->cap) {
        /* Grows with the arguments that actually arrived, not with the count
         * a header announced: "*1000000\r\n" alone allocates nothing. */
        p->cap = p->cap ? p->cap * 2 : 8;
        p->span = xrealloc(p->span, p->cap * sizeof *p->span);
        p->argv = xrealloc(p->argv, p->cap * sizeof *p->argv);
    }
    p->span[p->argc].off = off;
    p->span[p->argc].len = len;
    p->argc++;
}

/* Reads the number of a "*N\r\n" or "$N\r\n" line starting at d[at]
 * (d[at] is the type byte). Returns 1 with the number and the offset after
 * the line, 0 when the line is not complete yet, RESP_ERROR when it is too
 * long or not a number. */
static int header_line(resp_parser *p, const char *d, size_t len, size_t at, long long *num,
                       size_t *next, const char *too_big, const char *invalid)
{
    size_t from = p->scan > at ? p->scan : at;
    const char *cr = memchr(d + from, '\r', len - from);
    if (!cr) {
        if (len - at > RESP_MAX_INLINE)
            return fail(p, "%s", too_big);
        p->scan = len; /* resume the search here: a trickled line is scanned once */
        return 0;
    }
    size_t end = (size_t)(cr - d);
    if (end + 1 >= len)
        return 0; /* the '\n' has not arrived yet */
    if (d[end + 1] != '\n')
        return fail(p, "%s", invalid);
    slice digits = { d + at + 1, end - at - 1 };
    if (!parse_ll(digits, num))
        return fail(p, "%s", invalid);
    p->scan = 0;
    *next = end + 2;
    return 1;
}

static int parse_multibulk(resp_parser *p, const char *d, size_t len, size_t *used)
{
    int r;
    if (p->want < 0) {
        long long n;
        size_t next;
        r = header_line(p, d, len, 0, &n, &next, "too big mbulk count string",
                        "invalid multibulk length");
        if (r != 1)
            return r;
        if (n <= 0) { /* Redis ignores "*0" and "*-1" requests */
            *used = next;
            return PARSE_EMPTY;
        }
        if (n > (long long)RESP_MAX_ARGS)
            return fail(p, "invalid multibulk length");
        p->want = n;
        p->pos = next;
    }
    while ((long long)p->argc < p->want) {
        if (p->bulk < 0) {
            if (p->pos >= len)
                return RESP_INCOMPLETE;
            unsigned char c = (unsigned char)d[p->pos];
            if (c != '$') {
                if (c >= 0x20 && c < 0x7f)
                    return fail(p, "expected '$', got '%c'", c);
                return fail(p, "expected '$', got byte 0x%02x", c);
            }
            long long n;
            size_t next;
            r = header_line(p, d, len, p->pos, &n, &next, "too big bulk count string",
                            "invalid bulk length");
            if (r != 1)
                return r;
            if (n < 0 || n > (long long)RESP_MAX_BULK)
                return fail(p, "invalid bulk length");
            p->bulk = n;
            p->pos = next;
        }
        size_t blen = (size_t)p->bulk;
        if (len - p->pos < blen + 2)
            return RESP_INCOMPLETE;
        if (d[p->pos + blen] != '\r' || d[p->pos + blen + 1] != '\n')
            return fail(p, "bulk string not terminated by CRLF");
        push_arg(p, p->pos, blen);
        p->pos += blen + 2;
        p->bulk = -1;
    }
    *used = p->pos;
    return RESP_COMMAND;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* An inline command: one line, arguments separated by blanks. Quoting
 * ("a b") is not supported: inline commands are for people typing PING
 * into netcat and for redis-benchmark's PING_INLINE. */
static int parse_inline(resp_parser *p, const char *d, size_t len, size_t *used)
{
    const char *nl = memchr(d + p->scan, '\n', len - p->scan);
    size_t end = nl ? (size_t)(nl - d) : len;
    if (end > RESP_MAX_INLINE)
        return fail(p, "too big inline request");
    if (!nl) {
        p->scan = len;
        return RESP_INCOMPLETE;
    }
    for (size_t i = 0; i < end;) {
        while (i < end && is_space(d[i]))
            i++;
        size_t start = i;
        while (i < end && !is_space(d[i]))
            i++;
        if (i > start)
            push_arg(p, start, i - start);
    }
    *used = end + 1;
    return p->argc ? RESP_COMMAND : PARSE_EMPTY;
}

resp_status resp_parse(resp_parser *p, const char *data, size_t len, size_t *consumed)
{
    size_t skipped = 0;
    if (p->delivered) { /* the previous command has been used: start afresh */
        p->argc = 0;
        p->delivered = false;
    }
    for (;;) {
        const char *d = data + skipped;
        size_t n = len - skipped;
        size_t used = 0;
        int r;
        if (n == 0)
            r = RESP_INCOMPLETE;
        else if (p->want >= 0 || d[0] == '*')
            r = parse_multibulk(p, d, n, &used);
        else
            r = parse_inline(p, d, n, &used);
        if (r == PARSE_EMPTY) {
            skipped += used;
            restart(p);
            p->argc = 0;
            continue;
        }
        *consumed = skipped;
        if (r == RESP_COMMAND) {
            for (size_t i = 0; i < p->argc; i++)
                p->argv[i] = (slice){ d + p->span[i].off, p->span[i].len };
            *consumed += used;
            restart(p);
            p->delivered = true;
        }
        return (resp_status)r;
    }
}

/* ---- reply writers ---- */

/* Appends "<type><n>\r\n". */
static void header(buf *b, char type, long long n)
{
    buf_reserve(b, 24);
    b->data[b->len++] = type;
    b->len += fmt_ll(b->data + b->len, n);
    b->data[b->len++] = '\r';
    b->data[b->len++] = '\n';
}

void resp_simple(buf *b, const char *s)
{
    size_t n = strlen(s);
    buf_reserve(b, n + 3);
    b->data[b->len++] = '+';
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len++] = '\r';
    b->data[b->len++] = '\n';
}

void resp_error(buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        n = 0;
    buf_reserve(b, (size_t)n + 4); /* '-', text, its NUL, then "\r\n" over the NUL */
    b->data[b->len++] = '-';
    char *text = b->data + b->len;
    va_start(ap, fmt);
    vsnprintf(text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    /* An error reply is one line: a client-supplied CR or LF in it (an
     * unknown command's name, say) would end it early and desynchronise
     * the client, so they become spaces, as in Redis. */
    for (int i = 0; i < n; i++)
        if (text[i] == '\r' || text[i] == '\n')
            text[i] = ' ';
    b->len += (size_t)n;
    b->data[b->len++] = '\r';
    b->data[b->len++] = '\n';
}

void resp_int(buf *b, long long v)
{
    header(b, ':', v);
}

void resp_bulk(buf *b, const void *p, size_t n)
{
    buf_reserve(b, n + 26); /* header, data, CRLF at once: one growth at most */
    header(b, '$', (long long)n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len++] = '\r';
    b->data[b->len++] = '\n';
}

void resp_bulk_str(buf *b, const char *s)
{
    resp_bulk(b, s, strlen(s));
}

void resp_null(buf *b)
{
    buf_append(b, "$-1\r\n", 5);
}

void resp_array(buf *b, size_t n)
{
    header(b, '*', (long long)n);
}
