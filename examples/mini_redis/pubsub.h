/* pubsub.h — channels and their subscribers, for PUBLISH / SUBSCRIBE.
 *
 * A subscription links one connection and one channel, and sits on two
 * lists: the channel's subscribers (walked by PUBLISH) and the
 * connection's subscriptions (walked by UNSUBSCRIBE without arguments, and
 * when the connection closes). A channel exists while it has subscribers. */
#ifndef MINI_REDIS_PUBSUB_H
#define MINI_REDIS_PUBSUB_H

#include <stdbool.h>

#include "conn.h"
#include "util.h"

void pubsub_init(void);
void pubsub_free(void);

/* Subscribes c to channel ch; false if it already was. c->nsubs counts. */
bool pubsub_subscribe(conn *c, slice ch);
/* Unsubscribes c from ch; false if it was not subscribed. */
bool pubsub_unsubscribe(conn *c, slice ch);
/* Unsubscribes c from everything, silently (the connection is closing). */
void pubsub_unsubscribe_all(conn *c);
/* The name of one channel c is subscribed to; c->nsubs must be > 0. The
 * slice is valid until c unsubscribes from it. */
slice pubsub_any_channel(const conn *c);

/* Sends ["message", ch, msg] to every subscriber of ch. Returns the number
 * of clients that received it. */
size_t pubsub_publish(slice ch, slice msg);

#endif
