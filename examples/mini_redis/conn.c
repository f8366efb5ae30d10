/* conn.c — the reader and writer tasks of a connection.
 *
 * Lifetime: the connection is counted by its two tasks and freed by the
 * last one to end, so neither waits for the other (a join would return at
 * once with -ECANCELED when the runtime shuts down and cancels both).
 *
 * Ending: the reader ends on end of stream, a read error, QUIT or a
 * protocol error; it then sets `closing`, and the writer sends what is left
 * (so "+OK" to QUIT and the protocol error reply do reach the client) and
 * ends. `dead` is the hard stop: a failed write, or a subscriber too far
 * behind; the socket is shut down so that a task waiting in a read or a
 * write wakes up with an error at once. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "commands.h"
#include "pubsub.h"
#include "resp.h"

#define READ_MIN (16u * 1024)   /* free space offered to each read */
#define BUF_KEEP (64u * 1024)   /* buffers larger than this are freed when empty */

static size_t live;

size_t conn_live(void)
{
    return live;
}

static void conn_release(conn *c)
{
    if (--c->refs > 0)
        return;
    eddy_tcp_stream_close(c->stream); /* unsent data still goes out */
    buf_free(&c->out);
    eddy_notify_free(c->writer_wake);
    eddy_notify_free(c->room);
    free(c);
    live--;
}

void conn_flush(conn *c)
{
    if (c->out.len > 0 || c->closing || c->dead)
        eddy_notify_one(c->writer_wake);
}

/* Stops the connection at once: both tasks wake up and end. */
static void conn_kill(conn *c, const char *why)
{
    if (c->dead)
        return;
    if (why)
        fprintf(stderr, "mini-redis: dropping a client: %s\n", why);
    c->dead = true;
    eddy_tcp_shutdown(c->stream, SHUT_RDWR); /* a read returns 0, a write fails */
    eddy_notify_one(c->writer_wake);
    eddy_notify_one(c->room);
}

bool conn_push(conn *c, const void *frame, size_t len)
{
    if (c->dead)
        return false;
    if (c->out.len + c->inflight + len > CONN_PUBSUB_MAX) {
        conn_kill(c, "subscriber output buffer over its limit");
        return false;
    }
    buf_append(&c->out, frame, len);
    conn_flush(c);
    return true;
}

static void *writer_main(void *arg)
{
    conn *c = arg;
    buf w = { 0 }; /* what is being written; `out` keeps filling meanwhile */
    while (!c->dead) {
        if (c->out.len == 0) {
            if (c->closing)
                break; /* everything the client was owed has gone out */
            if (eddy_notify_wait(c->writer_wake) < 0)
                break; /* cancelled: the server is shutting down */
            continue;
        }
        buf t = w;
        w = c->out;
        c->out = t;
        c->inflight = w.len;
        eddy_notify_one(c->room);
        int rc = eddy_tcp_write_all(c->stream, w.data, w.len, NULL);
        c->inflight = 0;
        w.len = 0;
        buf_shrink(&w, BUF_KEEP);
        if (rc < 0) {
            /* The peer is gone (-EPIPE, -ECONNRESET) or we were cancelled:
             * the reader must not wait for us any more. */
            conn_kill(c, NULL);
            break;
        }
    }
    buf_free(&w);
    if (!c->closing)
        conn_kill(c, NULL); /* ended first (cancelled or failed): stop the reader too */
    conn_release(c);
    return NULL;
}

/* Lets the writer catch up when a client has a lot of replies pending
 * (a long pipeline of large GETs, or a client that does not read): the
 * reader stops executing commands until the writer has taken the output,
 * which bounds the memory a connection can pin. */
static int wait_for_room(conn *c)
{
    conn_flush(c);
    while (c->out.len >= CONN_OUT_HIGH && !c->dead) {
        int rc = eddy_notify_wait(c->room);
        if (rc < 0)
            return rc;
    }
    return c->dead ? -EPIPE : 0;
}

/* Executes every complete command in in->data; returns the bytes used. */
static size_t run_commands(conn *c, resp_parser *p, buf *in)
{
    size_t off = 0;
    while (!c->closing && !c->dead) {
        size_t used;
        resp_status st = resp_parse(p, in->data + off, in->len - off, &used);
        off += used;
        if (st == RESP_INCOMPLETE)
            break;
        if (st == RESP_ERROR) {
            /* The stream cannot be resynchronised after garbage: say why and
             * close, as Redis does. */
            resp_error(&c->out, "ERR Protocol error: %s", p->error);
            c->closing = true;
            break;
        }
        commands_exec(c, p->argc, p->argv);
        if (c->out.len >= CONN_OUT_HIGH && wait_for_room(c) < 0)
            break;
    }
    return off;
}

static void *reader_main(void *arg)
{
    conn *c = arg;
    resp_parser p;
    resp_parser_init(&p);
    buf in = { 0 };
    while (!c->closing && !c->dead) {
        if (in.cap - in.len < READ_MIN) {
            if (in.len + READ_MIN > CONN_QUERY_MAX) {
                resp_error(&c->out, "ERR Protocol error: query buffer limit exceeded");
                c->closing = true;
                break;
            }
            buf_reserve(&in, READ_MIN);
        }
        ssize_t n = eddy_tcp_read(c->stream, in.data + in.len, in.cap - in.len);
        if (n <= 0)
            break; /* end of stream, an error, or cancelled */
        in.len += (size_t)n;
        size_t used = run_commands(c, &p, &in);
        /* Keep only the start of the next command; it is usually small, as
         * a read rarely ends exactly between two commands. */
        memmove(in.data, in.data + used, in.len - used);
        in.len -= used;
        buf_shrink(&in, BUF_KEEP);
        conn_flush(c); /* one write for all the replies of this read */
    }
    c->closing = true;
    /* No pub/sub message may reach this connection once its reader is gone. */
    pubsub_unsubscribe_all(c);
    conn_flush(c);
    resp_parser_free(&p);
    buf_free(&in);
    conn_release(c);
    return NULL;
}

int conn_start(eddy_tcp_stream *s)
{
    conn *c = xmalloc(sizeof *c);
    memset(c, 0, sizeof *c);
    c->stream = s;
    c->writer_wake = eddy_notify_new(EDDY_SYNC_LOCAL);
    c->room = eddy_notify_new(EDDY_SYNC_LOCAL);
    if (!c->writer_wake || !c->room) {
        int err = errno;
        eddy_notify_free(c->writer_wake);
        eddy_notify_free(c->room);
        free(c);
        eddy_tcp_stream_close(s);
        return -err;
    }
    /* Small replies must leave at once, not wait for Nagle's algorithm. */
    eddy_tcp_set_nodelay(s, true);
    live++;
    c->refs = 2;
    eddy_task *w = eddy_spawn_with(&(eddy_spawn_opts){ .name = "conn-writer" }, writer_main, c);
    if (!w) {
        int err = errno;
        c->refs = 1;
        conn_release(c);
        return -err;
    }
    eddy_detach(w);
    eddy_task *r = eddy_spawn_with(&(eddy_spawn_opts){ .name = "conn-reader" }, reader_main, c);
    if (!r) {
        int err = errno;
        c->closing = true; /* the writer finds nothing to send, ends and frees */
        conn_flush(c);
        conn_release(c);
        return -err;
    }
    eddy_detach(r);
    return 0;
}
