/* pubsub.c — channel registry and message fan-out.
 *
 * PUBLISH never waits for a subscriber: the message frame is built once and
 * appended to each subscriber's output buffer, whose writer task sends it
 * when it can. A subscriber that stops reading is dropped once it is
 * CONN_PUBSUB_MAX behind, so a publisher cannot make the server buffer
 * without bound. */
#include "pubsub.h"

#include <stdlib.h>
#include <string.h>

#include "htab.h"
#include "resp.h"

typedef struct channel {
    htab_node node;       /* first member: a node pointer is a channel pointer */
    struct sub *subs;     /* its subscribers */
    char name[];
} channel;

struct sub {
    channel *ch;
    conn *c;
    struct sub *ch_prev, *ch_next; /* in ch->subs */
    struct sub *c_prev, *c_next;   /* in c->subs */
};

static htab channels;
static buf frame; /* scratch: the message being published */

void pubsub_init(void)
{
    htab_init(&channels);
}

static void free_channel(htab_node *n)
{
    /* Only reached with subscribers left if connections were not closed
     * before the end; their subscriptions die with them. */
    channel *ch = (channel *)n;
    while (ch->subs) {
        struct sub *s = ch->subs;
        ch->subs = s->ch_next;
        free(s);
    }
    free(ch);
}

void pubsub_free(void)
{
    htab_destroy(&channels, free_channel);
    buf_free(&frame);
}

static channel *find(slice name)
{
    return (channel *)htab_find(&channels, name.ptr, name.len, htab_hash(name.ptr, name.len));
}

static struct sub *find_sub(const conn *c, const channel *ch)
{
    for (struct sub *s = c->subs; s; s = s->c_next)
        if (s->ch == ch)
            return s;
    return NULL;
}

bool pubsub_subscribe(conn *c, slice name)
{
    channel *ch = find(name);
    if (ch && find_sub(c, ch))
        return false;
    if (!ch) {
        ch = xmalloc(sizeof *ch + name.len);
        if (name.len)
            memcpy(ch->name, name.ptr, name.len);
        ch->node.key = ch->name;
        ch->node.klen = name.len;
        ch->node.hash = htab_hash(name.ptr, name.len);
        ch->subs = NULL;
        htab_insert(&channels, &ch->node);
    }
    struct sub *s = xmalloc(sizeof *s);
    s->ch = ch;
    s->c = c;
    s->ch_prev = NULL;
    s->ch_next = ch->subs;
    if (ch->subs)
        ch->subs->ch_prev = s;
    ch->subs = s;
    s->c_prev = NULL;
    s->c_next = c->subs;
    if (c->subs)
        c->subs->c_prev = s;
    c->subs = s;
    c->nsubs++;
    return true;
}

static void unlink_sub(struct sub *s)
{
    channel *ch = s->ch;
    conn *c = s->c;
    if (s->ch_prev)
        s->ch_prev->ch_next = s->ch_next;
    else
        ch->subs = s->ch_next;
    if (s->ch_next)
        s->ch_next->ch_prev = s->ch_prev;
    if (s->c_prev)
        s->c_prev->c_next = s->c_next;
    else
        c->subs = s->c_next;
    if (s->c_next)
        s->c_next->c_prev = s->c_prev;
    c->nsubs--;
    free(s);
    if (!ch->subs) { /* a channel lives only while someone listens */
        htab_remove(&channels, &ch->node);
        free(ch);
    }
}

bool pubsub_unsubscribe(conn *c, slice name)
{
    channel *ch = find(name);
    struct sub *s = ch ? find_sub(c, ch) : NULL;
    if (!s)
        return false;
    unlink_sub(s);
    return true;
}

void pubsub_unsubscribe_all(conn *c)
{
    while (c->subs)
        unlink_sub(c->subs);
}

slice pubsub_any_channel(const conn *c)
{
    const channel *ch = c->subs->ch;
    return (slice){ ch->name, ch->node.klen };
}

size_t pubsub_publish(slice name, slice msg)
{
    channel *ch = find(name);
    if (!ch)
        return 0;
    frame.len = 0;
    resp_array(&frame, 3);
    resp_bulk(&frame, "message", 7);
    resp_bulk(&frame, name.ptr, name.len);
    resp_bulk(&frame, msg.ptr, msg.len);
    size_t n = 0;
    /* conn_push may drop a slow subscriber, but it only marks it dead: the
     * subscription goes when its reader task ends, not under our feet. */
    for (struct sub *s = ch->subs; s; s = s->ch_next)
        if (conn_push(s->c, frame.data, frame.len))
            n++;
    frame.len = 0;
    buf_shrink(&frame, 64 * 1024);
    return n;
}
