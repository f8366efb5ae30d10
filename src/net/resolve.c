/* Name resolution: getaddrinfo() on the blocking pool. */
#include <eddy/net.h>
#include <eddy/task.h>

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#include "fs/offload.h"

/* At most this many addresses are looked up per call. */
#define RESOLVE_MAX 64

typedef struct resolve_op {
    eddy_offload op;
    char *host;
    uint16_t port;
    size_t max;
    eddy_sockaddr addrs[]; /* max of them; op.result says how many are set */
} resolve_op;

static int from_gai(int rc, int err)
{
    /* glibc reports a lookup that could not open /etc/hosts or a socket for
     * want of descriptors as an unknown name, with errno saying why; an
     * unknown name it would not be. */
    if (err == EMFILE || err == ENFILE)
        return -err;
    switch (rc) {
    case EAI_NONAME:
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
        return -ENXIO;
    case EAI_AGAIN:
        return -EAGAIN;
    case EAI_MEMORY:
        return -ENOMEM;
    case EAI_SYSTEM:
        return err ? -err : -EIO;
    case EAI_BADFLAGS:
    case EAI_FAMILY:
    case EAI_SOCKTYPE:
    case EAI_SERVICE:
        return -EINVAL;
    default:
        return -EIO;
    }
}

static bool seen(const eddy_sockaddr *a, size_t n, const eddy_sockaddr *x)
{
    for (size_t i = 0; i < n; i++)
        if (a[i].len == x->len && memcmp(&a[i].ss, &x->ss, x->len) == 0)
            return true;
    return false;
}

static void resolve_run(eddy_offload *o)
{
    resolve_op *r = (resolve_op *)o;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    struct addrinfo *res = NULL;
    errno = 0;
    int rc = getaddrinfo(r->host, NULL, &hints, &res);
    if (rc != 0) {
        o->result = from_gai(rc, errno);
        return;
    }
    size_t n = 0;
    for (struct addrinfo *ai = res; ai && n < r->max; ai = ai->ai_next) {
        if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
            ai->ai_addrlen > sizeof r->addrs[0].ss)
            continue;
        eddy_sockaddr a;
        memset(&a, 0, sizeof a);
        memcpy(&a.ss, ai->ai_addr, ai->ai_addrlen);
        a.len = ai->ai_addrlen;
        if (ai->ai_family == AF_INET)
            ((struct sockaddr_in *)&a.ss)->sin_port = htons(r->port);
        else
            ((struct sockaddr_in6 *)&a.ss)->sin6_port = htons(r->port);
        if (!seen(r->addrs, n, &a))
            r->addrs[n++] = a;
    }
    freeaddrinfo(res);
    o->result = n ? (ssize_t)n : -ENXIO;
}

static void resolve_destroy(eddy_offload *o)
{
    resolve_op *r = (resolve_op *)o;
    free(r->host);
    free(r);
}

ssize_t eddy_resolve_until(const char *host, uint16_t port, eddy_sockaddr *addrs,
                           size_t max, eddy_instant deadline)
{
    if (!host || !*host || !addrs || max == 0)
        return -EINVAL;
    if (eddy_current_task_cancelled())
        return -ECANCELED;
    if (eddy_sockaddr_ip(&addrs[0], host, port) == 0)
        return 1; /* numeric: nothing to look up */
    if (max > RESOLVE_MAX)
        max = RESOLVE_MAX;
    resolve_op *r = calloc(1, sizeof *r + max * sizeof r->addrs[0]);
    if (!r)
        return -ENOMEM;
    r->host = strdup(host);
    if (!r->host) {
        free(r);
        return -ENOMEM;
    }
    r->port = port;
    r->max = max;
    eddy__offload_init(&r->op, resolve_run, resolve_destroy);
    ssize_t rc = eddy__offload_run(&r->op, deadline);
    if (rc == 0) {
        rc = r->op.result;
        if (rc > 0)
            memcpy(addrs, r->addrs, (size_t)rc * sizeof addrs[0]);
    }
    eddy__offload_unref(&r->op);
    return rc;
}

ssize_t eddy_resolve(const char *host, uint16_t port, eddy_sockaddr *addrs, size_t max)
{
    return eddy_resolve_until(host, port, addrs, max, EDDY_INSTANT_NEVER);
}
