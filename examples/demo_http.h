/* demo_http.h — just enough HTTP/1.1 for the showcase (examples/demo.c).
 *
 * Both sides of the demo use it: the server on its LocalRuntime and the
 * load clients on the multi-thread runtime. It is a few static functions
 * over eddy's TCP calls, not a general HTTP library: GET requests without
 * bodies, responses with Content-Length, keep-alive, and "Connection: close".
 *
 * Every read takes a deadline (an eddy_instant; EDDY_INSTANT_NEVER for
 * none) and every call that waits may return -ECANCELED when its task is
 * aborted, so callers leave through their ordinary error paths.
 */
#ifndef DEMO_HTTP_H
#define DEMO_HTTP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, strncasecmp */
#endif
#include <eddy.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A connection with its read buffer. The buffer keeps what was read past
 * the end of one message, and the server looks at `len` to tell a
 * connection that is half-way through a request from an idle one. */
typedef struct http_conn {
    eddy_tcp_stream *s;
    size_t len;      /* bytes in buf not yet consumed */
    char buf[8192];  /* a request or response head must fit in here */
} http_conn;

/* Drops the first n buffered bytes: a message that has been dealt with. */
static void http_consume(http_conn *c, size_t n)
{
    if (n > c->len)
        n = c->len;
    memmove(c->buf, c->buf + n, c->len - n);
    c->len -= n;
}

/* Reads until the buffer holds `want` bytes. 0, -EPROTO when the peer
 * closes first, or the error of eddy_tcp_read_until. */
static int http_fill(http_conn *c, size_t want, eddy_instant deadline)
{
    while (c->len < want) {
        ssize_t n = eddy_tcp_read_until(c->s, c->buf + c->len, sizeof c->buf - c->len,
                                        deadline);
        if (n < 0)
            return (int)n;
        if (n == 0)
            return -EPROTO;
        c->len += (size_t)n;
    }
    return 0;
}

/* Reads until a whole head (up to and including the blank line) is
 * buffered, and returns its length. 0 when the peer closed the connection
 * between messages (the normal end of a keep-alive connection); -EPROTO
 * when it closed half-way through one; -EMSGSIZE for a head larger than
 * the buffer; or the error of eddy_tcp_read_until (-ECANCELED, ...). */
static ssize_t http_read_head(http_conn *c, eddy_instant deadline)
{
    for (;;) {
        char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
        if (end)
            return end + 4 - c->buf;
        if (c->len == sizeof c->buf)
            return -EMSGSIZE;
        ssize_t n = eddy_tcp_read_until(c->s, c->buf + c->len, sizeof c->buf - c->len,
                                        deadline);
        if (n < 0)
            return n;
        if (n == 0)
            return c->len ? -EPROTO : 0;
        c->len += (size_t)n;
    }
}

/* Finds header `name` in a head; returns its value (not NUL-terminated)
 * and its length in *vlen, or NULL. */
static const char *http_header(const char *head, size_t len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    const char *end = head + len;
    const char *line = memchr(head, '\n', len); /* skip the first line */
    while (line && ++line < end) {
        const char *eol = memchr(line, '\r', (size_t)(end - line));
        if (!eol || eol == line)
            break; /* the blank line: end of the head */
        if ((size_t)(eol - line) > nlen && line[nlen] == ':' &&
            strncasecmp(line, name, nlen) == 0) {
            const char *v = line + nlen + 1;
            while (v < eol && (*v == ' ' || *v == '\t'))
                v++;
            *vlen = (size_t)(eol - v);
            return v;
        }
        line = memchr(eol, '\n', (size_t)(end - eol));
    }
    return NULL;
}

/* True when header `name` is there and its value contains `token`. */
static bool http_header_has(const char *head, size_t len, const char *name, const char *token)
{
    size_t vlen;
    const char *v = http_header(head, len, name, &vlen);
    size_t tlen = strlen(token);
    for (size_t i = 0; v && i + tlen <= vlen; i++)
        if (strncasecmp(v + i, token, tlen) == 0)
            return true;
    return false;
}

typedef struct http_request {
    char method[8];
    char path[256];
    bool keep_alive; /* HTTP/1.1 unless "Connection: close"; 1.0 only if asked */
} http_request;

/* Parses the request line and the Connection header of a head.
 * 0, or -EPROTO for something that is not an HTTP/1.x request line. */
static int http_parse_request(const char *head, size_t len, http_request *req)
{
    const char *eol = memchr(head, '\r', len);
    const char *sp1 = eol ? memchr(head, ' ', (size_t)(eol - head)) : NULL;
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
    if (!sp2 || sp1 - head >= (long)sizeof req->method ||
        sp2 - sp1 - 1 >= (long)sizeof req->path || eol - sp2 - 1 != 8 ||
        strncmp(sp2 + 1, "HTTP/1.", 7) != 0)
        return -EPROTO;
    memcpy(req->method, head, (size_t)(sp1 - head));
    req->method[sp1 - head] = '\0';
    memcpy(req->path, sp1 + 1, (size_t)(sp2 - sp1 - 1));
    req->path[sp2 - sp1 - 1] = '\0';
    if (sp2[8] == '1')
        req->keep_alive = !http_header_has(head, len, "Connection", "close");
    else
        req->keep_alive = http_header_has(head, len, "Connection", "keep-alive");
    return 0;
}

static const char *http_reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    default: return "Internal Server Error";
    }
}

/* Writes a whole response. A small body goes out in one write with the
 * head (one segment on the wire); a large one is written straight from the
 * caller's memory after the head, without a copy, so that memory must stay
 * valid until this returns (the writes may suspend). 0 or a negative errno. */
static int http_write_response(eddy_tcp_stream *s, int status, const char *body,
                               size_t body_len, bool keep_alive, eddy_instant deadline)
{
    char out[2048];
    int n = snprintf(out, sizeof out,
                     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
                     "Content-Length: %zu\r\n%s\r\n",
                     status, http_reason(status), body_len,
                     keep_alive ? "" : "Connection: close\r\n");
    if (body_len <= sizeof out - (size_t)n) {
        memcpy(out + n, body, body_len);
        return eddy_tcp_write_all_until(s, out, (size_t)n + body_len, NULL, deadline);
    }
    int rc = eddy_tcp_write_all_until(s, out, (size_t)n, NULL, deadline);
    return rc < 0 ? rc : eddy_tcp_write_all_until(s, body, body_len, NULL, deadline);
}

typedef struct http_response {
    int status;
    bool close;        /* the server said "Connection: close" */
    const char *body;  /* points into the connection's buffer */
    size_t body_len;
    size_t total;      /* head + body: http_consume() this much when done */
} http_response;

/* Reads one response (head and body) into the buffer. The body stays valid
 * until the caller consumes r->total bytes. 0, -EPROTO for a malformed
 * response, or the errors of http_read_head / http_fill. */
static int http_read_response(http_conn *c, http_response *r, eddy_instant deadline)
{
    ssize_t head = http_read_head(c, deadline);
    if (head <= 0)
        return head == 0 ? -EPROTO : (int)head;
    if (sscanf(c->buf, "HTTP/1.%*d %d", &r->status) != 1)
        return -EPROTO;
    size_t vlen;
    const char *cl = http_header(c->buf, (size_t)head, "Content-Length", &vlen);
    char *endp;
    unsigned long body = cl ? strtoul(cl, &endp, 10) : 0;
    if (!cl || endp == cl || body > sizeof c->buf - (size_t)head)
        return -EPROTO;
    r->close = http_header_has(c->buf, (size_t)head, "Connection", "close");
    int rc = http_fill(c, (size_t)head + body, deadline);
    if (rc < 0)
        return rc;
    r->body = c->buf + head;
    r->body_len = body;
    r->total = (size_t)head + body;
    return 0;
}

#endif /* DEMO_HTTP_H */
