/* commands.c — command table, argument checks, and the commands.
 *
 * Replies and error texts follow Redis 7, so that redis-cli and client
 * libraries behave as they would against a real server. */
#include "commands.h"

#include <limits.h>
#include <stdio.h>

#include "db.h"
#include "pubsub.h"
#include "resp.h"

typedef void cmd_fn(conn *c, size_t argc, const slice *argv);

typedef struct command {
    const char *name;
    int arity;       /* > 0: exactly that many words; < 0: at least -arity */
    cmd_fn *fn;
    bool in_pubsub;  /* allowed while the client is subscribed */
} command;

#define NOT_INT "ERR value is not an integer or out of range"

/* ---- strings ---- */

static void cmd_get(conn *c, size_t argc, const slice *argv)
{
    (void)argc;
    slice v;
    if (db_get(argv[1], &v))
        resp_bulk(&c->out, v.ptr, v.len);
    else
        resp_null(&c->out);
}

/* SET key value [NX | XX] [EX seconds | PX milliseconds] */
static void cmd_set(conn *c, size_t argc, const slice *argv)
{
    bool nx = false, xx = false;
    long long ttl_ms = 0; /* 0: no expiry */
    for (size_t i = 3; i < argc; i++) {
        slice opt = argv[i];
        if (slice_eq_nocase(opt, "nx") && !xx) {
            nx = true;
        } else if (slice_eq_nocase(opt, "xx") && !nx) {
            xx = true;
        } else if ((slice_eq_nocase(opt, "ex") || slice_eq_nocase(opt, "px")) && ttl_ms == 0 &&
                   i + 1 < argc) {
            bool seconds = slice_eq_nocase(opt, "ex");
            long long v;
            if (!parse_ll(argv[++i], &v)) {
                resp_error(&c->out, NOT_INT);
                return;
            }
            if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) {
                resp_error(&c->out, "ERR invalid expire time in 'set' command");
                return;
            }
            ttl_ms = seconds ? v * 1000 : v;
        } else {
            resp_error(&c->out, "ERR syntax error");
            return;
        }
    }
    eddy_instant deadline = 0;
    if (ttl_ms > 0) {
        /* The deadline is an instant on eddy's clock, in nanoseconds; it
         * must stay below EDDY_INSTANT_NEVER. */
        eddy_instant now = eddy_now();
        if ((unsigned long long)ttl_ms > (EDDY_INSTANT_NEVER - 1 - now) / 1000000u) {
            resp_error(&c->out, "ERR invalid expire time in 'set' command");
            return;
        }
        deadline = now + (eddy_instant)ttl_ms * 1000000u;
    }
    if (nx || xx) {
        bool exists = db_exists(argv[1]);
        if ((nx && exists) || (xx && !exists)) {
            resp_null(&c->out); /* condition not met: nothing set */
            return;
        }
    }
    db_set(argv[1], argv[2], deadline);
    resp_simple(&c->out, "OK");
}

static void cmd_del(conn *c, size_t argc, const slice *argv)
{
    long long n = 0;
    for (size_t i = 1; i < argc; i++)
        n += db_del(argv[i]);
    resp_int(&c->out, n);
}

/* Counts a key as often as it is named, as Redis does. */
static void cmd_exists(conn *c, size_t argc, const slice *argv)
{
    long long n = 0;
    for (size_t i = 1; i < argc; i++)
        n += db_exists(argv[i]);
    resp_int(&c->out, n);
}

static void cmd_incr(conn *c, size_t argc, const slice *argv)
{
    (void)argc;
    long long v;
    int rc = db_incr(argv[1], 1, &v);
    if (rc == -EINVAL)
        resp_error(&c->out, NOT_INT);
    else if (rc == -ERANGE)
        resp_error(&c->out, "ERR increment or decrement would overflow");
    else
        resp_int(&c->out, v);
}

/* ---- connection ---- */

static void cmd_ping(conn *c, size_t argc, const slice *argv)
{
    if (argc > 2) {
        resp_error(&c->out, "ERR wrong number of arguments for 'ping' command");
        return;
    }
    if (c->nsubs > 0) { /* in subscribe mode a PING is answered with a push */
        resp_array(&c->out, 2);
        resp_bulk(&c->out, "pong", 4);
        if (argc == 2)
            resp_bulk(&c->out, argv[1].ptr, argv[1].len);
        else
            resp_bulk(&c->out, "", 0);
    } else if (argc == 2) {
        resp_bulk(&c->out, argv[1].ptr, argv[1].len);
    } else {
        resp_simple(&c->out, "PONG");
    }
}

static void cmd_echo(conn *c, size_t argc, const slice *argv)
{
    (void)argc;
    resp_bulk(&c->out, argv[1].ptr, argv[1].len);
}

static void cmd_quit(conn *c, size_t argc, const slice *argv)
{
    (void)argc;
    (void)argv;
    resp_simple(&c->out, "OK");
    c->closing = true; /* the writer sends the +OK, then the connection closes */
}

/* redis-cli asks for the command table (COMMAND DOCS) to offer hints; an
 * empty answer means "no hints". */
static void cmd_command(conn *c, size_t argc, const slice *argv)
{
    (void)argc;
    (void)argv;
    resp_array(&c->out, 0);
}

/* CONFIG GET, only as much as redis-benchmark asks on start (save and
 * appendonly); every other parameter is unknown, an empty list. */
static void cmd_config(conn *c, size_t argc, const slice *argv)
{
    static const char *const known[][2] = { { "save", "" }, { "appendonly", "no" } };
    if (!slice_eq_nocase(argv[1], "get")) {
        resp_error(&c->out, "ERR unknown subcommand '%.*s'. Try CONFIG GET.",
                   (int)(argv[1].len > 128 ? 128 : argv[1].len), argv[1].ptr);
        return;
    }
    if (argc < 3) {
        resp_error(&c->out, "ERR wrong number of arguments for 'config|get' command");
        return;
    }
    size_t found[2], n = 0;
    for (size_t k = 0; k < 2; k++)
        for (size_t i = 2; i < argc; i++)
            if (slice_eq_nocase(argv[i], known[k][0])) {
                found[n++] = k;
                break;
            }
    resp_array(&c->out, 2 * n);
    for (size_t i = 0; i < n; i++) {
        resp_bulk_str(&c->out, known[found[i]][0]);
        resp_bulk_str(&c->out, known[found[i]][1]);
    }
}

/* ---- pub/sub ---- */

static void cmd_publish(conn *c, size_t argc, const slice *argv)
{
    (void)argc;
    resp_int(&c->out, (long long)pubsub_publish(argv[1], argv[2]));
}

/* Each channel gets its own ["subscribe", channel, count] reply, count
 * being how many channels the client is now subscribed to. */
static void cmd_subscribe(conn *c, size_t argc, const slice *argv)
{
    for (size_t i = 1; i < argc; i++) {
        pubsub_subscribe(c, argv[i]);
        resp_array(&c->out, 3);
        resp_bulk(&c->out, "subscribe", 9);
        resp_bulk(&c->out, argv[i].ptr, argv[i].len);
        resp_int(&c->out, (long long)c->nsubs);
    }
}

static void unsubscribe_reply(conn *c, const void *name, size_t len, bool nil)
{
    resp_array(&c->out, 3);
    resp_bulk(&c->out, "unsubscribe", 11);
    if (nil)
        resp_null(&c->out);
    else
        resp_bulk(&c->out, name, len);
    resp_int(&c->out, (long long)c->nsubs);
}

/* UNSUBSCRIBE [channel ...]: without channels, from every channel; a
 * client subscribed to nothing gets one reply with a nil channel. */
static void cmd_unsubscribe(conn *c, size_t argc, const slice *argv)
{
    if (argc > 1) {
        for (size_t i = 1; i < argc; i++) {
            pubsub_unsubscribe(c, argv[i]);
            unsubscribe_reply(c, argv[i].ptr, argv[i].len, false);
        }
        return;
    }
    if (c->nsubs == 0) {
        unsubscribe_reply(c, NULL, 0, true);
        return;
    }
    while (c->nsubs > 0) {
        /* Reply before unsubscribing: the name belongs to the channel,
         * which is freed with its last subscriber. */
        slice ch = pubsub_any_channel(c);
        resp_array(&c->out, 3);
        resp_bulk(&c->out, "unsubscribe", 11);
        resp_bulk(&c->out, ch.ptr, ch.len);
        pubsub_unsubscribe(c, ch);
        resp_int(&c->out, (long long)c->nsubs);
    }
}

static const command table[] = {
    { "get", 2, cmd_get, false },
    { "set", -3, cmd_set, false },
    { "del", -2, cmd_del, false },
    { "exists", -2, cmd_exists, false },
    { "incr", 2, cmd_incr, false },
    { "ping", -1, cmd_ping, true },
    { "echo", 2, cmd_echo, false },
    { "quit", -1, cmd_quit, true },
    { "command", -1, cmd_command, false },
    { "config", -2, cmd_config, false },
    { "publish", 3, cmd_publish, false },
    { "subscribe", -2, cmd_subscribe, true },
    { "unsubscribe", -1, cmd_unsubscribe, true },
};

static const command *lookup(slice name)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (slice_eq_nocase(name, table[i].name))
            return &table[i];
    return NULL;
}

/* "ERR unknown command 'foo', with args beginning with: 'a' 'b' ", with
 * the arguments cut at about 128 bytes, exactly as Redis 7 words it. */
static void unknown_command(conn *c, size_t argc, const slice *argv)
{
    char args[160];
    size_t len = 0;
    args[0] = '\0';
    for (size_t i = 1; i < argc && len < 128; i++) {
        size_t take = argv[i].len < 128 - len ? argv[i].len : 128 - len;
        int n = snprintf(args + len, sizeof args - len, "'%.*s' ", (int)take, argv[i].ptr);
        if (n < 0)
            break;
        len += (size_t)n < sizeof args - len ? (size_t)n : sizeof args - len - 1;
    }
    int name_len = (int)(argv[0].len > 128 ? 128 : argv[0].len);
    resp_error(&c->out, "ERR unknown command '%.*s', with args beginning with: %s", name_len,
               argv[0].ptr, args);
}

void commands_exec(conn *c, size_t argc, const slice *argv)
{
    const command *cmd = lookup(argv[0]);
    if (!cmd) {
        unknown_command(c, argc, argv);
        return;
    }
    if ((cmd->arity > 0 && argc != (size_t)cmd->arity) ||
        (cmd->arity < 0 && argc < (size_t)-cmd->arity)) {
        resp_error(&c->out, "ERR wrong number of arguments for '%s' command", cmd->name);
        return;
    }
    if (c->nsubs > 0 && !cmd->in_pubsub) {
        resp_error(&c->out,
                   "ERR Can't execute '%s': only SUBSCRIBE / UNSUBSCRIBE / PING / QUIT "
                   "are allowed in this context",
                   cmd->name);
        return;
    }
    cmd->fn(c, argc, argv);
}
