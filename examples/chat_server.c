/* chat_server.c — a line-based chat room on a LocalRuntime.
 *
 *   chat_server [--port N] [--seconds S]
 *       serves on 127.0.0.1:N (default 7008) until SIGINT/SIGTERM or for S
 *       seconds; connect a few terminals with `nc 127.0.0.1 7008`
 *   chat_server --selftest
 *       binds a free port, has three clients (tasks) chat, checks what each
 *       one receives, and exits (0 when all is well)
 *
 * Every line a client sends goes to every other client. Each connection
 * has two tasks: a reader, which reads lines and fans them out, and a
 * writer, which sends what arrives in the client's outbox: a LOCAL-flavor
 * mpsc channel (no locks, no atomics: every task runs on this thread).
 * A slow client therefore never holds up the others: the fan-out only
 * queues (try_send), and a client whose outbox is full is disconnected.
 *
 * Shared state is plain C: a linked list of clients, messages with a plain
 * int refcount (one copy of a message, referenced by every outbox it is
 * in), and a client refcount shared by its reader and writer tasks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <eddy.h>

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

enum { OUTBOX = 64, LINE_MAX_LEN = 512 };

/* A message, shared by every outbox it was queued in. */
typedef struct msg {
    int refs;
    size_t len;
    char text[];
} msg;

static void msg_unref(msg *m)
{
    if (--m->refs == 0)
        free(m);
}

typedef struct client {
    struct client *prev, *next;
    int refs;              /* the reader's and the writer's */
    char name[24];
    bool joined;           /* welcomed: from now on it gets the others' lines */
    eddy_tcp_stream *s;
    eddy_mpsc_tx *outbox;  /* the reader's end: NULL once it left */
    eddy_mpsc_rx *inbox;   /* the writer's end */
} client;

static struct {
    eddy_tcp_listener *listener;
    client *clients;      /* every connected client */
    int live;             /* clients not yet freed */
    int next_id;
    bool stopping;
    eddy_notify *all_gone; /* LOCAL: the last client was freed */
} chat;

static void client_unref(client *c)
{
    if (--c->refs > 0)
        return;
    eddy_mpsc_tx_release(c->outbox); /* NULL is refused harmlessly */
    eddy_mpsc_rx_release(c->inbox);
    eddy_tcp_stream_close(c->s);
    free(c);
    if (--chat.live == 0)
        eddy_notify_one(chat.all_gone);
}

/* Queues a copy of the formatted line in the outbox of every client but
 * `from`. It never suspends, so the list cannot change under it. */
__attribute__((format(printf, 2, 3)))
static void broadcast(client *from, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    msg *m = malloc(sizeof *m + (size_t)n + 1);
    if (!m)
        return;
    va_start(ap, fmt);
    vsnprintf(m->text, (size_t)n + 1, fmt, ap);
    va_end(ap);
    m->len = (size_t)n;
    m->refs = 1; /* ours, for the loop */
    for (client *c = chat.clients; c; c = c->next) {
        if (c == from || !c->joined || !c->outbox)
            continue;
        m->refs++;
        int rc = eddy_mpsc_try_send(c->outbox, &m); /* sends the pointer */
        if (rc < 0) {
            m->refs--;
            if (rc == -EAGAIN) /* outbox full: this client does not keep up */
                eddy_tcp_shutdown(c->s, SHUT_RDWR);
        }
    }
    msg_unref(m);
}

/* The writer: sends what arrives in the outbox, until the reader releases
 * the sending end (recv then returns -EPIPE once the outbox is empty), a
 * write fails, or the task is cancelled. */
static void *writer_main(void *arg)
{
    client *c = arg;
    msg *m;
    while (eddy_mpsc_recv(c->inbox, &m) == 0) {
        int rc = eddy_tcp_write_all(c->s, m->text, m->len, NULL);
        msg_unref(m);
        if (rc < 0)
            break;
    }
    /* The channel does not free what its values point to: take back the
     * references still queued. rx_close first, so nothing new comes in. */
    eddy_mpsc_rx_close(c->inbox);
    while (eddy_mpsc_try_recv(c->inbox, &m) == 0)
        msg_unref(m);
    client_unref(c);
    return NULL;
}

static void send_line(client *c, const char *text)
{
    msg *m = malloc(sizeof *m + strlen(text) + 1);
    if (!m)
        return;
    m->refs = 1;
    m->len = strlen(text);
    memcpy(m->text, text, m->len + 1);
    if (eddy_mpsc_try_send(c->outbox, &m) < 0)
        msg_unref(m);
}

static void client_unlink(client *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        chat.clients = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->prev = c->next = NULL;
}

/* The reader: the connection's main task. */
static void *reader_main(void *arg)
{
    client *c = arg;
    c->refs++; /* the writer's reference */
    eddy_task *w = eddy_spawn(writer_main, c);
    if (!w)
        c->refs--;
    eddy_detach(w);

    if (w && !chat.stopping) {
        char hello[96];
        snprintf(hello, sizeof hello, "welcome, %s! (/quit to leave)\n",
                 c->name);
        send_line(c, hello);
        c->joined = true;
        broadcast(c, "* %s joined\n", c->name);

        char buf[LINE_MAX_LEN];
        size_t len = 0;
        bool quit = false;
        ssize_t n;
        while (!quit && (n = eddy_tcp_read(c->s, buf + len, sizeof buf - len)) > 0) {
            len += (size_t)n;
            char *start = buf, *nl;
            while (!quit && (nl = memchr(start, '\n', len - (size_t)(start - buf)))) {
                *nl = '\0';
                if (nl > start && nl[-1] == '\r')
                    nl[-1] = '\0';
                if (strcmp(start, "/quit") == 0)
                    quit = true;
                else if (*start)
                    broadcast(c, "%s: %s\n", c->name, start);
                start = nl + 1;
            }
            len -= (size_t)(start - buf);
            memmove(buf, start, len);
            if (len == sizeof buf) { /* a line longer than the buffer: send it in parts */
                broadcast(c, "%s: %.*s\n", c->name, (int)len, buf);
                len = 0;
            }
        }
    }

    client_unlink(c);
    if (!chat.stopping)
        broadcast(c, "* %s left\n", c->name);
    /* Releasing the outbox's sending end lets the writer send what is
     * queued and then stop; it drops its reference when done. */
    eddy_mpsc_tx_release(c->outbox);
    c->outbox = NULL;
    client_unref(c);
    return NULL;
}

static void *accept_loop(void *arg)
{
    (void)arg;
    eddy_channel_opts local = { .flavor = EDDY_SYNC_LOCAL }; /* values: a msg pointer */
    for (;;) {
        eddy_tcp_stream *s;
        int rc = eddy_tcp_accept(chat.listener, &s, NULL);
        if (rc == -ECANCELED)
            break;
        if (rc < 0) {
            if (eddy_sleep(50) < 0)
                break;
            continue;
        }
        client *c = calloc(1, sizeof *c);
        if (!c || eddy_mpsc_channel(&local, OUTBOX, &c->outbox, &c->inbox) < 0) {
            eddy_tcp_stream_close(s);
            free(c);
            continue;
        }
        c->s = s;
        c->refs = 1; /* the reader's */
        snprintf(c->name, sizeof c->name, "guest%d", ++chat.next_id);
        /* In the list from now on, so a shutdown reaches it even before its
         * reader runs. */
        c->next = chat.clients;
        if (c->next)
            c->next->prev = c;
        chat.clients = c;
        chat.live++;
        eddy_task *t = eddy_spawn(reader_main, c);
        if (!t) {
            client_unlink(c);
            client_unref(c);
            continue;
        }
        eddy_detach(t);
    }
    eddy_tcp_listener_close(chat.listener);
    return NULL;
}

/* Graceful stop: no new clients, a goodbye to everyone, then each reader
 * is made to see end of stream (shutdown of the read side), so it leaves
 * through its ordinary path; writers send what is queued and stop. */
static void stop_chat(eddy_task *acceptor)
{
    eddy_abort(acceptor);
    eddy_join(acceptor, NULL);
    broadcast(NULL, "* server shutting down\n"); /* to every client welcomed */
    chat.stopping = true;
    for (client *c = chat.clients; c; c = c->next)
        eddy_tcp_shutdown(c->s, SHUT_RD);
    /* A client that does not read can keep its writer waiting: give up
     * after a while; ending the runtime then cancels what is left. */
    eddy_instant deadline = eddy_deadline_in(2000);
    while (chat.live > 0 && eddy_notify_wait_until(chat.all_gone, deadline) == 0) {
    }
}

/* Waits for SIGINT or SIGTERM through a signalfd (see echo_server.c). */
static void *wait_for_signal(void *arg)
{
    (void)arg;
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    int fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    eddy_async_fd *afd = fd >= 0 ? eddy_async_fd_new(fd) : NULL;
    while (afd) {
        int ready = eddy_async_fd_wait(afd, EDDY_IO_READABLE, EDDY_INSTANT_NEVER);
        if (ready < 0)
            break;
        struct signalfd_siginfo si;
        if (read(fd, &si, sizeof si) == (ssize_t)sizeof si)
            break;
        eddy_async_fd_clear(afd, (unsigned)ready);
    }
    eddy_async_fd_free(afd);
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* ---- --selftest ---------------------------------------------------------- */

typedef struct test_client {
    eddy_tcp_stream *s;
    size_t len;
    char buf[1024];
} test_client;

static int failures;

/* Reads one line (without its newline) into line; "" at end of stream. */
static void read_line(test_client *t, char *line, size_t size)
{
    eddy_instant deadline = eddy_deadline_in(5000); /* a test never hangs */
    char *nl;
    while (!(nl = memchr(t->buf, '\n', t->len))) {
        ssize_t n = t->len < sizeof t->buf
                        ? eddy_tcp_read_until(t->s, t->buf + t->len, sizeof t->buf - t->len,
                                              deadline)
                        : -EMSGSIZE;
        if (n <= 0) {
            line[0] = '\0';
            return;
        }
        t->len += (size_t)n;
    }
    size_t l = (size_t)(nl - t->buf);
    snprintf(line, size, "%.*s", (int)l, t->buf);
    memmove(t->buf, nl + 1, t->len - l - 1);
    t->len -= l + 1;
}

static void expect(test_client *t, const char *who, const char *want)
{
    char line[256];
    read_line(t, line, sizeof line);
    bool ok = *want ? strncmp(line, want, strlen(want)) == 0 : *line == '\0';
    printf("  %s got %-44s %s\n", who, *line ? line : "(end of stream)", ok ? "ok" : "WRONG");
    if (!ok) {
        printf("    (expected \"%s\")\n", want);
        failures++;
    }
}

static void say_line(test_client *t, const char *who, const char *text)
{
    printf("  %s says %.*s\n", who, (int)strcspn(text, "\r\n"), text);
    if (eddy_tcp_write_all(t->s, text, strlen(text), NULL) < 0)
        failures++;
}

/* Three clients chat; the checks rely only on the order of lines on each
 * connection, which TCP keeps. Alice and Bob stay connected: main checks
 * that the shutdown says goodbye to them. */
static void selftest_chat(int port, test_client *alice, test_client *bob)
{
    test_client carol = { 0 };
    if (eddy_tcp_connect("127.0.0.1", (uint16_t)port, &alice->s) < 0 ||
        eddy_tcp_connect("127.0.0.1", (uint16_t)port, &bob->s) < 0 ||
        eddy_tcp_connect("127.0.0.1", (uint16_t)port, &carol.s) < 0) {
        printf("  cannot connect\n");
        failures++;
        return;
    }
    /* Connections are accepted in order, but let each greeting arrive
     * before the next client's "joined" notice can be sent. */
    expect(alice, "alice", "welcome, guest1!");
    expect(bob, "bob  ", "welcome, guest2!");
    expect(alice, "alice", "* guest2 joined");
    expect(&carol, "carol", "welcome, guest3!");
    expect(alice, "alice", "* guest3 joined");
    expect(bob, "bob  ", "* guest3 joined");

    say_line(alice, "alice", "hello everyone\n");
    expect(bob, "bob  ", "guest1: hello everyone");
    expect(&carol, "carol", "guest1: hello everyone");
    say_line(bob, "bob  ", "hi alice\r\n");
    expect(alice, "alice", "guest2: hi alice");
    expect(&carol, "carol", "guest2: hi alice");

    say_line(&carol, "carol", "/quit\n");
    expect(&carol, "carol", ""); /* the server closes carol's connection */
    expect(alice, "alice", "* guest3 left");
    expect(bob, "bob  ", "* guest3 left");
    eddy_tcp_stream_close(carol.s);
}

/* ---- the program --------------------------------------------------------- */

typedef struct options {
    int port;
    long seconds;
    bool selftest;
} options;

static void *root(void *arg)
{
    options *o = arg;
    chat.all_gone = eddy_notify_new(EDDY_SYNC_LOCAL);
    chat.listener = eddy_tcp_listen("127.0.0.1", (uint16_t)o->port, NULL);
    if (!chat.listener || !chat.all_gone) {
        fprintf(stderr, "chat_server: 127.0.0.1:%d: %s\n", o->port, eddy_strerror(errno));
        failures++;
        return NULL;
    }
    int port = eddy_tcp_listener_port(chat.listener);
    printf("chat server on 127.0.0.1:%d\n", port);
    eddy_task *acceptor = eddy_spawn(accept_loop, NULL);

    test_client alice = { 0 }, bob = { 0 };
    if (o->selftest)
        selftest_chat(port, &alice, &bob);
    else if (o->seconds > 0)
        eddy_timeout((uint64_t)o->seconds * 1000, wait_for_signal, NULL, NULL);
    else
        eddy_join(eddy_spawn(wait_for_signal, NULL), NULL);

    printf("stopping\n");
    stop_chat(acceptor);

    if (o->selftest && alice.s && bob.s) {
        expect(&alice, "alice", "* server shutting down");
        expect(&alice, "alice", "");
        expect(&bob, "bob  ", "* server shutting down");
        expect(&bob, "bob  ", "");
    }
    eddy_tcp_stream_close(alice.s);
    eddy_tcp_stream_close(bob.s);
    printf("%d clients still connected at exit\n", chat.live);
    return NULL;
}

int main(int argc, char **argv)
{
    options o = { .port = 7008 };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--selftest") == 0) {
            o.selftest = true;
            o.port = 0;
        } else if (strcmp(argv[i], "--port") == 0 && i + 1 < argc) {
            o.port = atoi(argv[++i]);
        } else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc) {
            o.seconds = atol(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--port N] [--seconds S] | --selftest\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    sigset_t mask; /* blocked before any thread exists: see wait_for_signal */
    sigemptyset(&mask);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigprocmask(SIG_BLOCK, &mask, NULL);

    eddy_local_runtime *rt = eddy_local_runtime_new(NULL);
    if (!rt) {
        perror("eddy_local_runtime_new");
        return 1;
    }
    eddy_local_runtime_block_on(rt, root, &o, NULL);
    /* Cancels any client task that outlived the stop's deadline; those
     * still call client_unref, hence the Notify is freed only after. */
    eddy_local_runtime_free(rt);
    eddy_notify_free(chat.all_gone);
    return failures ? 1 : 0;
}
