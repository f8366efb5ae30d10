/* eddy_sockaddr: building, inspecting and printing socket addresses. */
#include <eddy/net.h>

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

/* The longest IP text accepted: an IPv6 address with a scope, in brackets. */
#define IP_TEXT_MAX (INET6_ADDRSTRLEN + IF_NAMESIZE + 3)

static int parse_scope(const char *scope, uint32_t *id)
{
    if (!*scope)
        return -EINVAL;
    char *end;
    unsigned long n = strtoul(scope, &end, 10);
    if (*end == '\0' && n <= UINT32_MAX) {
        *id = (uint32_t)n;
        return 0;
    }
    unsigned idx = if_nametoindex(scope);
    if (idx == 0)
        return -EINVAL;
    *id = idx;
    return 0;
}

int eddy_sockaddr_ip(eddy_sockaddr *out, const char *ip, uint16_t port)
{
    if (!out || !ip)
        return -EINVAL;
    size_t n = strlen(ip);
    if (n == 0 || n >= IP_TEXT_MAX)
        return -EINVAL;
    char text[IP_TEXT_MAX];
    memcpy(text, ip, n + 1);
    char *p = text;
    if (p[0] == '[') {
        if (p[n - 1] != ']')
            return -EINVAL;
        p[n - 1] = '\0';
        p++;
    }
    memset(out, 0, sizeof *out);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&out->ss;
    if (p == text && inet_pton(AF_INET, p, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        out->len = sizeof *v4;
        return 0;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&out->ss;
    char *pct = strchr(p, '%');
    if (pct) {
        *pct = '\0';
        if (parse_scope(pct + 1, &v6->sin6_scope_id) < 0)
            return -EINVAL;
    }
    if (inet_pton(AF_INET6, p, &v6->sin6_addr) != 1) {
        memset(out, 0, sizeof *out);
        return -EINVAL;
    }
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out->len = sizeof *v6;
    return 0;
}

int eddy_sockaddr_unix(eddy_sockaddr *out, const char *path)
{
    if (!out || !path || !*path)
        return -EINVAL;
    struct sockaddr_un *un = (struct sockaddr_un *)&out->ss;
    size_t n = strlen(path);
    if (n >= sizeof un->sun_path)
        return -ENAMETOOLONG;
    memset(out, 0, sizeof *out);
    un->sun_family = AF_UNIX;
    memcpy(un->sun_path, path, n + 1);
    out->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + 1);
    return 0;
}

int eddy_sockaddr_port(const eddy_sockaddr *addr)
{
    if (!addr)
        return -EINVAL;
    if (addr->ss.ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)&addr->ss)->sin_port);
    if (addr->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&addr->ss)->sin6_port);
    return -EAFNOSUPPORT;
}

/* snprintf into buf: the length, or -ENOSPC when it did not fit. */
static int put(size_t size, int n)
{
    if (n < 0)
        return -EINVAL;
    return (size_t)n >= size ? -ENOSPC : n;
}

static int format_unix(const eddy_sockaddr *addr, char *buf, size_t size)
{
    const struct sockaddr_un *un = (const struct sockaddr_un *)&addr->ss;
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (addr->len <= off)
        return put(size, snprintf(buf, size, "(unnamed)"));
    size_t n = addr->len - off;
    if (n > sizeof un->sun_path)
        n = sizeof un->sun_path;
    if (un->sun_path[0] == '\0') /* abstract: "@name" */
        return put(size, snprintf(buf, size, "@%.*s", (int)(n - 1), un->sun_path + 1));
    return put(size, snprintf(buf, size, "%.*s", (int)strnlen(un->sun_path, n),
                                   un->sun_path));
}

int eddy_sockaddr_format(const eddy_sockaddr *addr, char *buf, size_t size)
{
    if (!addr || !buf || size == 0)
        return -EINVAL;
    char ip[INET6_ADDRSTRLEN];
    switch (addr->ss.ss_family) {
    case AF_INET: {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)&addr->ss;
        inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
        return put(size, snprintf(buf, size, "%s:%u", ip, ntohs(v4->sin_port)));
    }
    case AF_INET6: {
        const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)&addr->ss;
        inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
        if (v6->sin6_scope_id) {
            char ifname[IF_NAMESIZE];
            if (if_indextoname(v6->sin6_scope_id, ifname))
                return put(size, snprintf(buf, size, "[%s%%%s]:%u", ip, ifname,
                                               ntohs(v6->sin6_port)));
            return put(size, snprintf(buf, size, "[%s%%%u]:%u", ip,
                                           (unsigned)v6->sin6_scope_id,
                                           ntohs(v6->sin6_port)));
        }
        return put(size, snprintf(buf, size, "[%s]:%u", ip, ntohs(v6->sin6_port)));
    }
    case AF_UNIX:
        return format_unix(addr, buf, size);
    default:
        return -EAFNOSUPPORT;
    }
}
