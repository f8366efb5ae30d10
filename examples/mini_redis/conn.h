/* conn.h — one client connection, served by two tasks.
 *
 * A Redis connection has two sources of output: replies to the client's
 * own commands, and messages other clients PUBLISH to a channel it is
 * subscribed to, which may arrive at any moment, also while the client is
 * silent. A task cannot wait for "a command or a message" in one call, so
 * each connection has two:
 *
 *   reader: reads, parses and executes commands, appending the replies to
 *           `out`; it wakes the writer once per read, so the replies to a
 *           pipeline leave in one write;
 *   writer: sleeps on a local Notify until `out` has data, takes the whole
 *           buffer and writes it, and is the only task that writes to the
 *           socket, so replies and messages never interleave mid-frame.
 *
 * PUBLISH from any connection appends the message frame straight to each
 * subscriber's `out` and wakes its writer. The buffer is plain memory
 * shared by tasks with no lock: they all run on the LocalRuntime's thread.
 */
#ifndef MINI_REDIS_CONN_H
#define MINI_REDIS_CONN_H

#include <eddy.h>
#include <stdbool.h>

#include "util.h"

struct sub;

typedef struct conn {
    eddy_tcp_stream *stream;
    buf out;                  /* replies and messages not yet taken by the writer */
    size_t inflight;          /* bytes the writer is writing now */
    eddy_notify *writer_wake; /* `out` has data, or the connection is ending */
    eddy_notify *room;        /* the writer took `out`: a waiting reader may go on */
    struct sub *subs;         /* this client's subscriptions (pubsub.c) */
    size_t nsubs;
    bool closing;             /* no more commands: flush the replies, then close */
    bool dead;                /* close now and drop unsent output */
    int refs;                 /* one per task: the last one frees the connection */
} conn;

/* Limits on what a connection may make the server hold. */
#define CONN_OUT_HIGH    (1u << 20)   /* reader pauses while this much output waits */
#define CONN_PUBSUB_MAX  (32u << 20)  /* a subscriber this far behind is dropped,
                                         as Redis's client-output-buffer-limit pubsub */
#define CONN_QUERY_MAX   (1u << 30)   /* one request, buffered (client-query-buffer-limit) */

/* Serves a new connection: spawns its two tasks and takes over the stream.
 * Returns 0, or a negative errno when a task could not be spawned (the
 * stream is closed then). */
int conn_start(eddy_tcp_stream *s);

/* Wakes the writer: what is in `out` should go out now. */
void conn_flush(conn *c);

/* Queues a pushed (pub/sub) frame and wakes the writer. Returns false when
 * the client is dead, or is dropped now because it fell too far behind. */
bool conn_push(conn *c, const void *frame, size_t len);

/* Connections being served now. */
size_t conn_live(void);

#endif
