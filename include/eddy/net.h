/** @file
 * eddy — sockets: TCP, UDP, Unix stream and datagram sockets, and name
 * resolution that does not block the scheduler.
 *
 * Every socket is non-blocking underneath and registered with the I/O
 * driver of the runtime it was created in (edge-triggered epoll). A call
 * that would block suspends the calling task instead; called from a plain
 * thread it blocks that thread (the socket's runtime must then be running
 * for it to be woken). A socket belongs to the runtime it was made in: it
 * is made by a call from that runtime's tasks or under its enter guard, and
 * only that runtime's driver reports its readiness.
 *
 * Errors are negative errno values, as everywhere in eddy:
 *  - every suspending call returns -ECANCELED when its task is aborted (also
 *    when the task is already aborted on entry, without touching the
 *    socket), and after the socket's runtime has shut down (the data stays
 *    in the socket; only closing it is left to do);
 *  - every `_until` variant returns -ETIMEDOUT when `deadline` (an
 *    eddy_instant, see eddy_deadline_in()) passes first; the plain
 *    variants wait without limit (EDDY_INSTANT_NEVER). A call always tries
 *    its operation once before it looks at the deadline, so a deadline in
 *    the past means "only if it can be done now";
 *  - writes use MSG_NOSIGNAL: writing to a closed peer returns -EPIPE (or
 *    -ECONNRESET), never raises SIGPIPE;
 *  - NULL objects, or a NULL buffer with a non-zero length: -EINVAL;
 *  - constructors outside any runtime context: NULL with errno = EPERM.
 *
 * Thread safety: one task may read while another writes the same stream
 * (the two directions wait independently). Closing a socket fails the waits
 * of other tasks suspended on it with -ECANCELED; the close itself must not
 * race with a call that is not suspended (as with free()). Close functions
 * may be called from any thread, also after the runtime has ended.
 */
#ifndef EDDY_NET_H
#define EDDY_NET_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "common.h"
#include "time.h"

#ifdef __cplusplus
extern "C" {
#endif

/** A listening TCP socket. */
typedef struct eddy_tcp_listener eddy_tcp_listener;
/** A connected TCP socket. */
typedef struct eddy_tcp_stream eddy_tcp_stream;
/** A UDP socket. */
typedef struct eddy_udp_socket eddy_udp_socket;
/** A listening Unix stream socket. */
typedef struct eddy_unix_listener eddy_unix_listener;
/** A connected Unix stream socket. */
typedef struct eddy_unix_stream eddy_unix_stream;
/** A Unix datagram socket. */
typedef struct eddy_unix_datagram eddy_unix_datagram;

/* ---- Addresses ---- */

/** A socket address of any family (IPv4, IPv6, Unix) with its length. */
typedef struct eddy_sockaddr {
    socklen_t len;               /**< bytes of `ss` in use; 0: no address */
    struct sockaddr_storage ss; /**< the address itself */
} eddy_sockaddr;

/** A buffer size that fits any text eddy_sockaddr_format() writes, with
 * its terminating NUL ("[v6%scope]:port", a Unix path, "@abstract"). */
#define EDDY_SOCKADDR_STRLEN 112

/** Fills *out from a numeric IPv4 ("127.0.0.1") or IPv6 ("::1", "[::1]",
 * "fe80::1%lo") address and a port. Does not resolve names (see
 * eddy_resolve). 0, or -EINVAL for NULL or a string that is not a numeric
 * address. Any thread. */
EDDY_API int eddy_sockaddr_ip(eddy_sockaddr *out, const char *ip, uint16_t port);

/** Fills *out with a Unix socket path. 0, -EINVAL for NULL or an empty path,
 * -ENAMETOOLONG when the path does not fit sun_path (107 bytes). Any thread. */
EDDY_API int eddy_sockaddr_unix(eddy_sockaddr *out, const char *path);

/** The port of an IPv4/IPv6 address (0..65535); -EAFNOSUPPORT for other
 * families, -EINVAL for NULL. Any thread. */
EDDY_API int eddy_sockaddr_port(const eddy_sockaddr *addr);

/** Writes the address as text into buf: "127.0.0.1:80", "[::1]:80", a Unix
 * path, or "(unnamed)". Returns the length written (without the NUL),
 * -ENOSPC when buf is too small (EDDY_SOCKADDR_STRLEN bytes always
 * suffice), -EINVAL for NULL, -EAFNOSUPPORT for an unknown family. Any
 * thread. */
EDDY_API int eddy_sockaddr_format(const eddy_sockaddr *addr, char *buf, size_t size);

/* ---- Name resolution ---- */

/**@{*/
/** Resolves `host` (a name such as "localhost", or a numeric address) to at
 * most `max` socket addresses with `port`, IPv4 and IPv6, in the order
 * getaddrinfo() returns them (duplicates removed). A numeric address is
 * converted at once; a name is looked up with getaddrinfo() on the blocking
 * pool, so that only the calling task waits. Returns the number of
 * addresses stored (>= 1), or -ENXIO when the name has no address,
 * -EAGAIN for a temporary failure of the name service, -EINVAL for NULL
 * or max 0, -ENOMEM, -EMFILE or -ENFILE when the lookup ran out of file
 * descriptors, -EIO for other resolver failures, -ECANCELED,
 * -ETIMEDOUT (_until: the lookup may then still finish in the background;
 * its result is discarded). Suspends a task; called from a plain thread it
 * calls getaddrinfo() directly on that thread. */
EDDY_API ssize_t eddy_resolve(const char *host, uint16_t port, eddy_sockaddr *addrs, size_t max);
EDDY_API ssize_t eddy_resolve_until(const char *host, uint16_t port, eddy_sockaddr *addrs,
                                    size_t max, eddy_instant deadline);
/**@}*/

/* ---- TCP listener ---- */

/** Options of eddy_tcp_listen(); zero-initialised means the defaults. */
typedef struct eddy_tcp_listen_opts {
    int backlog;       /**< the listen() backlog; 0 (or < 0): SOMAXCONN */
    bool no_reuseaddr; /**< do not set SO_REUSEADDR (set by default) */
    bool reuseport;    /**< set SO_REUSEPORT: several listeners share a port */
    bool v6only;       /**< an IPv6 listener takes IPv6 connections only */
} eddy_tcp_listen_opts;

/** Creates a TCP socket bound to the numeric address `host` ("0.0.0.0",
 * "::", "127.0.0.1", "::1"; NULL means "0.0.0.0") and `port` (0: any free
 * port, see eddy_tcp_listener_port), listening. NULL opts means defaults.
 * NULL with errno = EPERM outside a runtime context, EINVAL for a host
 * that is not a numeric address, EADDRINUSE, EACCES, EMFILE, ENOMEM, ...
 * Does not suspend. */
EDDY_API eddy_tcp_listener *eddy_tcp_listen(const char *host, uint16_t port,
                                            const eddy_tcp_listen_opts *opts);

/** As eddy_tcp_listen, for an address (IPv4 or IPv6). */
EDDY_API eddy_tcp_listener *eddy_tcp_listen_addr(const eddy_sockaddr *addr,
                                                 const eddy_tcp_listen_opts *opts);

/** Takes over `fd`, a listening TCP socket (made non-blocking and
 * close-on-exec here; closed by eddy_tcp_listener_close). NULL with errno =
 * EBADF, ENOTSOCK, EINVAL (not a listening stream socket), EPERM (no
 * runtime); the fd is then still the caller's. Does not suspend. */
EDDY_API eddy_tcp_listener *eddy_tcp_listener_from_fd(int fd);

/**@{*/
/** Waits for a connection and stores the new stream in *out and, if `peer`
 * is not NULL, the peer's address in *peer. Returns 0, -ECANCELED,
 * -ETIMEDOUT (_until), -EINVAL, or the error accept(2) reports, notably
 * -EMFILE / -ENFILE when the process is out of descriptors: the connection
 * then stays queued and the listener stays usable; back off (eddy_sleep),
 * free descriptors, and call again. Connections that died in the queue
 * (ECONNABORTED) are skipped. Suspends. */
EDDY_API int eddy_tcp_accept(eddy_tcp_listener *l, eddy_tcp_stream **out, eddy_sockaddr *peer);
EDDY_API int eddy_tcp_accept_until(eddy_tcp_listener *l, eddy_tcp_stream **out,
                                   eddy_sockaddr *peer, eddy_instant deadline);
/**@}*/

/** The address the listener is bound to. 0, -EINVAL, or getsockname's
 * error. Does not suspend. Any thread. */
EDDY_API int eddy_tcp_listener_local_addr(const eddy_tcp_listener *l, eddy_sockaddr *out);

/** The port the listener is bound to (handy after binding port 0), or a
 * negative errno. Any thread. */
EDDY_API int eddy_tcp_listener_port(const eddy_tcp_listener *l);

/** The listener's descriptor (still owned by the listener), -1 for NULL. */
EDDY_API int eddy_tcp_listener_fd(const eddy_tcp_listener *l);

/** Closes the listener: tasks suspended in accept on it get -ECANCELED; the
 * descriptor is closed once the last of them has returned. NULL is
 * ignored. Any thread. */
EDDY_API void eddy_tcp_listener_close(eddy_tcp_listener *l);

/* ---- TCP stream ---- */

/**@{*/
/** Connects to `host` (a numeric address or a name, resolved as
 * eddy_resolve_until) and `port`, trying each address in turn until one
 * connects, all within the one deadline. Stores the stream in *out.
 * Returns 0, or the error of the last address tried (-ECONNREFUSED,
 * -ENETUNREACH, ...), or as eddy_resolve; -ETIMEDOUT (_until),
 * -ECANCELED, -EPERM outside a runtime context, -EINVAL. Suspends. */
EDDY_API int eddy_tcp_connect(const char *host, uint16_t port, eddy_tcp_stream **out);
EDDY_API int eddy_tcp_connect_until(const char *host, uint16_t port, eddy_tcp_stream **out,
                                    eddy_instant deadline);
/**@}*/

/**@{*/
/** Connects to one address (IPv4 or IPv6). As eddy_tcp_connect. */
EDDY_API int eddy_tcp_connect_addr(const eddy_sockaddr *addr, eddy_tcp_stream **out);
EDDY_API int eddy_tcp_connect_addr_until(const eddy_sockaddr *addr, eddy_tcp_stream **out,
                                         eddy_instant deadline);
/**@}*/

/** Takes over `fd`, a connected TCP (or other stream) socket, e.g. from
 * another library. Made non-blocking and close-on-exec; closed by
 * eddy_tcp_stream_close. NULL with errno = EBADF, ENOTSOCK, EINVAL (not a
 * stream socket), EPERM (no runtime), ENOMEM; the fd is then still the
 * caller's. Does not suspend. */
EDDY_API eddy_tcp_stream *eddy_tcp_stream_from_fd(int fd);

/**@{*/
/** Reads up to len bytes. Returns the count (> 0), 0 at end of stream (the
 * peer shut down its side) or for len 0, -ECONNRESET when the peer reset
 * the connection, -ECANCELED, -ETIMEDOUT (_until), -EINVAL, or recv's
 * error (-EBADF when the fd was closed behind eddy's back). Waits only
 * while nothing can be read. Suspends. */
EDDY_API ssize_t eddy_tcp_read(eddy_tcp_stream *s, void *buf, size_t len);
EDDY_API ssize_t eddy_tcp_read_until(eddy_tcp_stream *s, void *buf, size_t len,
                                     eddy_instant deadline);
/**@}*/

/**@{*/
/** Writes up to len bytes (at least one, unless len is 0). Returns the count
 * written, -EPIPE or -ECONNRESET when the peer is gone, -ECANCELED,
 * -ETIMEDOUT (_until), -EINVAL, or send's error. Suspends while the socket
 * buffer is full. */
EDDY_API ssize_t eddy_tcp_write(eddy_tcp_stream *s, const void *buf, size_t len);
EDDY_API ssize_t eddy_tcp_write_until(eddy_tcp_stream *s, const void *buf, size_t len,
                                      eddy_instant deadline);
/**@}*/

/**@{*/
/** Reads exactly len bytes. Returns 0, -ENODATA when the stream ended
 * before len bytes came, or the errors of eddy_tcp_read. In every case
 * *done (if not NULL) receives how many bytes were stored in buf, so
 * nothing read is lost. With _until the deadline covers the whole call.
 * Suspends. */
EDDY_API int eddy_tcp_read_exact(eddy_tcp_stream *s, void *buf, size_t len, size_t *done);
EDDY_API int eddy_tcp_read_exact_until(eddy_tcp_stream *s, void *buf, size_t len,
                                       size_t *done, eddy_instant deadline);
/**@}*/

/**@{*/
/** Writes all len bytes. Returns 0 or the errors of eddy_tcp_write; *done
 * (if not NULL) receives how many bytes were written in every case. With
 * _until the deadline covers the whole call. Suspends. */
EDDY_API int eddy_tcp_write_all(eddy_tcp_stream *s, const void *buf, size_t len, size_t *done);
EDDY_API int eddy_tcp_write_all_until(eddy_tcp_stream *s, const void *buf, size_t len,
                                      size_t *done, eddy_instant deadline);
/**@}*/

/** shutdown(2): SHUT_RD, SHUT_WR (sends FIN: the peer reads end of stream)
 * or SHUT_RDWR. 0, -EINVAL, -ENOTCONN. Does not suspend. Any thread. */
EDDY_API int eddy_tcp_shutdown(eddy_tcp_stream *s, int how);

/**@{*/
/** Local and peer address. 0, -EINVAL, -ENOTCONN (peer). Any thread. */
EDDY_API int eddy_tcp_local_addr(const eddy_tcp_stream *s, eddy_sockaddr *out);
EDDY_API int eddy_tcp_peer_addr(const eddy_tcp_stream *s, eddy_sockaddr *out);
/**@}*/

/**@{*/
/** TCP_NODELAY (disable Nagle's algorithm): set, and read back (1/0, or a
 * negative errno). Any thread. */
EDDY_API int eddy_tcp_set_nodelay(eddy_tcp_stream *s, bool on);
EDDY_API int eddy_tcp_nodelay(const eddy_tcp_stream *s);
/**@}*/

/**@{*/
/** SO_KEEPALIVE on or off; with idle_secs > 0 also TCP_KEEPIDLE (seconds of
 * silence before the first probe; 0 keeps the system's default). Read it
 * back with eddy_tcp_keepalive (1/0, or a negative errno). Any thread. */
EDDY_API int eddy_tcp_set_keepalive(eddy_tcp_stream *s, bool on, unsigned idle_secs);
EDDY_API int eddy_tcp_keepalive(const eddy_tcp_stream *s);
/**@}*/

/** The stream's descriptor (still owned by the stream), -1 for NULL. */
EDDY_API int eddy_tcp_stream_fd(const eddy_tcp_stream *s);

/** Closes the stream (tasks suspended on it get -ECANCELED; the descriptor
 * is closed once they have returned). Unsent data is still delivered by
 * the kernel. NULL is ignored. Any thread. */
EDDY_API void eddy_tcp_stream_close(eddy_tcp_stream *s);

/* ---- UDP ---- */

/**@{*/
/** A UDP socket bound to the numeric address `host` (NULL: "0.0.0.0") and
 * `port` (0: any free port). NULL with errno = EPERM (no runtime), EINVAL
 * (not a numeric address), EADDRINUSE, ... Does not suspend. */
EDDY_API eddy_udp_socket *eddy_udp_bind(const char *host, uint16_t port);
EDDY_API eddy_udp_socket *eddy_udp_bind_addr(const eddy_sockaddr *addr);
/**@}*/

/**@{*/
/** Sets the default peer: eddy_udp_send() goes there and only its
 * datagrams are received. `host` may be a name (resolved as eddy_resolve;
 * the first address of the socket's family is used). 0, -EAFNOSUPPORT
 * when no address of the socket's family was found, errors of
 * eddy_resolve, connect's error. Suspends only to resolve a name. */
EDDY_API int eddy_udp_connect(eddy_udp_socket *u, const char *host, uint16_t port);
EDDY_API int eddy_udp_connect_addr(eddy_udp_socket *u, const eddy_sockaddr *addr);
/**@}*/

/**@{*/
/** Sends one datagram to `to` / to the connected peer. Returns the bytes
 * sent (all of them), -EMSGSIZE when too large, -EDESTADDRREQ (send on an
 * unconnected socket), -ECONNREFUSED (an earlier datagram to a connected
 * peer found no receiver), -ECANCELED, -ETIMEDOUT (_until), -EINVAL.
 * Suspends while the send buffer is full. */
EDDY_API ssize_t eddy_udp_send_to(eddy_udp_socket *u, const void *buf, size_t len,
                                  const eddy_sockaddr *to);
EDDY_API ssize_t eddy_udp_send_to_until(eddy_udp_socket *u, const void *buf, size_t len,
                                        const eddy_sockaddr *to, eddy_instant deadline);
EDDY_API ssize_t eddy_udp_send(eddy_udp_socket *u, const void *buf, size_t len);
EDDY_API ssize_t eddy_udp_send_until(eddy_udp_socket *u, const void *buf, size_t len,
                                     eddy_instant deadline);
/**@}*/

/**@{*/
/** Receives one datagram into buf; a datagram longer than len is truncated
 * (the rest is discarded). Returns the bytes stored, and the sender in
 * *from (if not NULL); -ECONNREFUSED (see send), -ECANCELED, -ETIMEDOUT
 * (_until), -EINVAL. Suspends until a datagram arrives. */
EDDY_API ssize_t eddy_udp_recv_from(eddy_udp_socket *u, void *buf, size_t len,
                                    eddy_sockaddr *from);
EDDY_API ssize_t eddy_udp_recv_from_until(eddy_udp_socket *u, void *buf, size_t len,
                                          eddy_sockaddr *from, eddy_instant deadline);
EDDY_API ssize_t eddy_udp_recv(eddy_udp_socket *u, void *buf, size_t len);
EDDY_API ssize_t eddy_udp_recv_until(eddy_udp_socket *u, void *buf, size_t len,
                                     eddy_instant deadline);
/**@}*/

/**@{*/
/** Local and connected peer address. 0, -EINVAL, -ENOTCONN. Any thread. */
EDDY_API int eddy_udp_local_addr(const eddy_udp_socket *u, eddy_sockaddr *out);
EDDY_API int eddy_udp_peer_addr(const eddy_udp_socket *u, eddy_sockaddr *out);
/**@}*/

/** The socket's descriptor (still owned by the socket), -1 for NULL. */
EDDY_API int eddy_udp_socket_fd(const eddy_udp_socket *u);

/** Closes the socket (waiters get -ECANCELED). NULL is ignored. Any thread. */
EDDY_API void eddy_udp_close(eddy_udp_socket *u);

/* ---- Unix stream sockets ---- */

/** A Unix stream socket bound to `path` and listening (backlog 0 or < 0:
 * SOMAXCONN). The socket file is not removed on close: unlink it yourself.
 * NULL with errno = EPERM (no runtime), EINVAL, ENAMETOOLONG,
 * EADDRINUSE (the file exists), ENOENT, EACCES, ... Does not suspend. */
EDDY_API eddy_unix_listener *eddy_unix_listen(const char *path, int backlog);

/**@{*/
/** As eddy_tcp_accept, for a Unix listener (*peer is usually unnamed). */
EDDY_API int eddy_unix_accept(eddy_unix_listener *l, eddy_unix_stream **out,
                              eddy_sockaddr *peer);
EDDY_API int eddy_unix_accept_until(eddy_unix_listener *l, eddy_unix_stream **out,
                                    eddy_sockaddr *peer, eddy_instant deadline);
/**@}*/

/** The bound address (path). 0, -EINVAL. Any thread. */
EDDY_API int eddy_unix_listener_local_addr(const eddy_unix_listener *l, eddy_sockaddr *out);

/** The listener's descriptor (still owned by it), -1 for NULL. */
EDDY_API int eddy_unix_listener_fd(const eddy_unix_listener *l);

/** As eddy_tcp_listener_close. */
EDDY_API void eddy_unix_listener_close(eddy_unix_listener *l);

/** Connects to the Unix stream socket at `path`. Returns 0 and the stream
 * in *out; -ENOENT (no such socket), -ECONNREFUSED (nobody listens),
 * -EAGAIN (the listener's backlog is full: the kernel offers no readiness
 * for that, so back off and retry), -ECANCELED, -EPERM (no runtime),
 * -EINVAL, -ENAMETOOLONG. Does not wait otherwise: a Unix connect
 * completes at once. */
EDDY_API int eddy_unix_connect(const char *path, eddy_unix_stream **out);

/** A connected pair of Unix streams (socketpair). 0, -EPERM (no runtime),
 * -EINVAL, -EMFILE, -ENOMEM. Does not suspend. */
EDDY_API int eddy_unix_pair(eddy_unix_stream **a, eddy_unix_stream **b);

/** Takes over a connected Unix stream socket fd; as eddy_tcp_stream_from_fd. */
EDDY_API eddy_unix_stream *eddy_unix_stream_from_fd(int fd);

/**@{*/
/** As the TCP stream functions of the same names. */
EDDY_API ssize_t eddy_unix_read(eddy_unix_stream *s, void *buf, size_t len);
EDDY_API ssize_t eddy_unix_read_until(eddy_unix_stream *s, void *buf, size_t len,
                                      eddy_instant deadline);
EDDY_API ssize_t eddy_unix_write(eddy_unix_stream *s, const void *buf, size_t len);
EDDY_API ssize_t eddy_unix_write_until(eddy_unix_stream *s, const void *buf, size_t len,
                                       eddy_instant deadline);
EDDY_API int eddy_unix_read_exact(eddy_unix_stream *s, void *buf, size_t len, size_t *done);
EDDY_API int eddy_unix_read_exact_until(eddy_unix_stream *s, void *buf, size_t len,
                                        size_t *done, eddy_instant deadline);
EDDY_API int eddy_unix_write_all(eddy_unix_stream *s, const void *buf, size_t len,
                                 size_t *done);
EDDY_API int eddy_unix_write_all_until(eddy_unix_stream *s, const void *buf, size_t len,
                                       size_t *done, eddy_instant deadline);
EDDY_API int eddy_unix_shutdown(eddy_unix_stream *s, int how);
EDDY_API int eddy_unix_local_addr(const eddy_unix_stream *s, eddy_sockaddr *out);
EDDY_API int eddy_unix_peer_addr(const eddy_unix_stream *s, eddy_sockaddr *out);
EDDY_API int eddy_unix_stream_fd(const eddy_unix_stream *s);
EDDY_API void eddy_unix_stream_close(eddy_unix_stream *s);
/**@}*/

/* ---- Unix datagram sockets ---- */

/** A Unix datagram socket bound to `path` (not removed on close), or, with
 * path NULL, an unbound one (it can send, and receive replies only once
 * connected or when the peer sends to it through a pair). NULL with errno
 * as eddy_unix_listen. Does not suspend. */
EDDY_API eddy_unix_datagram *eddy_unix_datagram_bind(const char *path);

/** A connected pair of Unix datagram sockets (socketpair). 0 or as
 * eddy_unix_pair. */
EDDY_API int eddy_unix_datagram_pair(eddy_unix_datagram **a, eddy_unix_datagram **b);

/** Sets the default peer to the socket at `path`. 0, -ENOENT,
 * -ECONNREFUSED, -EINVAL, -ENAMETOOLONG. Does not suspend. */
EDDY_API int eddy_unix_datagram_connect(eddy_unix_datagram *d, const char *path);

/**@{*/
/** As the UDP calls: one datagram to `path` / to the connected peer.
 * -ENOENT / -ECONNREFUSED when no socket is bound there. send (to the
 * connected peer) suspends while the peer's queue is full; send_to
 * returns -EAGAIN then instead, because the kernel reports no readiness
 * for a destination the socket is not connected to (back off and retry,
 * or connect). */
EDDY_API ssize_t eddy_unix_datagram_send_to(eddy_unix_datagram *d, const void *buf,
                                            size_t len, const char *path);
EDDY_API ssize_t eddy_unix_datagram_send_to_until(eddy_unix_datagram *d, const void *buf,
                                                  size_t len, const char *path,
                                                  eddy_instant deadline);
EDDY_API ssize_t eddy_unix_datagram_send(eddy_unix_datagram *d, const void *buf, size_t len);
EDDY_API ssize_t eddy_unix_datagram_send_until(eddy_unix_datagram *d, const void *buf,
                                               size_t len, eddy_instant deadline);
/**@}*/

/**@{*/
/** As the UDP calls: one datagram (truncated to len), sender in *from. */
EDDY_API ssize_t eddy_unix_datagram_recv_from(eddy_unix_datagram *d, void *buf, size_t len,
                                              eddy_sockaddr *from);
EDDY_API ssize_t eddy_unix_datagram_recv_from_until(eddy_unix_datagram *d, void *buf,
                                                    size_t len, eddy_sockaddr *from,
                                                    eddy_instant deadline);
EDDY_API ssize_t eddy_unix_datagram_recv(eddy_unix_datagram *d, void *buf, size_t len);
EDDY_API ssize_t eddy_unix_datagram_recv_until(eddy_unix_datagram *d, void *buf, size_t len,
                                               eddy_instant deadline);
/**@}*/

/**@{*/
/** Local and connected peer address; descriptor; close. As for UDP. */
EDDY_API int eddy_unix_datagram_local_addr(const eddy_unix_datagram *d, eddy_sockaddr *out);
EDDY_API int eddy_unix_datagram_peer_addr(const eddy_unix_datagram *d, eddy_sockaddr *out);
EDDY_API int eddy_unix_datagram_fd(const eddy_unix_datagram *d);
EDDY_API void eddy_unix_datagram_close(eddy_unix_datagram *d);
/**@}*/

#ifdef __cplusplus
}
#endif

#endif /* EDDY_NET_H */
