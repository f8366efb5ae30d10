/* Path operations through the blocking pool: read and write whole files,
 * metadata, remove, rename, create_dir. Every operation owns copies of its
 * paths and data (see offload.h), so an aborted caller leaves nothing
 * dangling behind. */
#include <eddy/fs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/offload.h"

enum path_kind { P_READ_ALL, P_WRITE_ALL, P_METADATA, P_REMOVE, P_RENAME, P_MKDIR };

typedef struct path_op {
    eddy_offload op;
    enum path_kind kind;
    char *path;
    char *path2;    /* rename's target */
    mode_t mode;
    struct stat st;
    void *data;     /* read_all: the result; write_all: a copy of the input */
    size_t len;
} path_op;

static int close_checked(int fd, int rc)
{
    if (close(fd) < 0 && rc == 0 && errno != EINTR)
        rc = -errno;
    return rc;
}

/* Reads all of fd into a malloc'd buffer with a NUL after the data. */
static int read_fd(int fd, void **out, size_t *outlen)
{
    struct stat st;
    size_t cap = 4096;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        if ((uintmax_t)st.st_size >= SIZE_MAX - 1)
            return -EFBIG;
        cap = (size_t)st.st_size + 1; /* + 1: end of file is seen at once */
    }
    char *buf = malloc(cap + 1);
    if (!buf)
        return -ENOMEM;
    size_t len = 0;
    for (;;) {
        if (len == cap) {
            if (cap > (SIZE_MAX - 1) / 2) {
                free(buf);
                return -EFBIG;
            }
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) {
                free(buf);
                return -ENOMEM;
            }
            buf = bigger;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int err = errno;
            free(buf);
            return -err;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    *out = buf;
    *outlen = len;
    return 0;
}

static int open_retry(const char *path, int flags, mode_t mode)
{
    int fd;
    do
        fd = open(path, flags | O_CLOEXEC, mode);
    while (fd < 0 && errno == EINTR);
    return fd < 0 ? -errno : fd;
}

static int read_all(path_op *op)
{
    int fd = open_retry(op->path, O_RDONLY, 0);
    if (fd < 0)
        return fd;
    return close_checked(fd, read_fd(fd, &op->data, &op->len));
}

static int write_all(path_op *op)
{
    int fd = open_retry(op->path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
    if (fd < 0)
        return fd;
    int rc = 0;
    for (size_t put = 0; put < op->len;) {
        ssize_t n = write(fd, (const char *)op->data + put, op->len - put);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        put += (size_t)n;
    }
    return close_checked(fd, rc);
}

static void path_run(eddy_offload *o)
{
    path_op *op = (path_op *)o;
    int rc;
    switch (op->kind) {
    case P_READ_ALL:
        rc = read_all(op);
        break;
    case P_WRITE_ALL:
        rc = write_all(op);
        break;
    case P_METADATA:
        rc = stat(op->path, &op->st) < 0 ? -errno : 0;
        break;
    case P_REMOVE:
        rc = remove(op->path) < 0 ? -errno : 0;
        break;
    case P_RENAME:
        rc = rename(op->path, op->path2) < 0 ? -errno : 0;
        break;
    case P_MKDIR:
        rc = mkdir(op->path, op->mode) < 0 ? -errno : 0;
        break;
    default:
        rc = -EINVAL;
        break;
    }
    o->result = rc;
}

static void path_destroy(eddy_offload *o)
{
    path_op *op = (path_op *)o;
    free(op->path);
    free(op->path2);
    free(op->data);
    free(op);
}

/* A new operation with copies of the paths; NULL on ENOMEM. */
static path_op *path_op_new(enum path_kind kind, const char *path, const char *path2)
{
    path_op *op = calloc(1, sizeof *op);
    if (!op)
        return NULL;
    op->kind = kind;
    op->path = strdup(path);
    op->path2 = path2 ? strdup(path2) : NULL;
    if (!op->path || (path2 && !op->path2)) {
        free(op->path);
        free(op->path2);
        free(op);
        return NULL;
    }
    eddy__offload_init(&op->op, path_run, path_destroy);
    return op;
}

/* Runs op; 0 when it ran and succeeded (outputs valid), else an error.
 * Does not drop the caller's reference. */
static int path_call(path_op *op)
{
    int rc = eddy__offload_run(&op->op, EDDY_OFFLOAD_NO_DEADLINE);
    return rc < 0 ? rc : (int)op->op.result;
}

int eddy_fs_read_all(const char *path, void **data, size_t *len)
{
    if (!path || !data || !len)
        return -EINVAL;
    path_op *op = path_op_new(P_READ_ALL, path, NULL);
    if (!op)
        return -ENOMEM;
    int rc = path_call(op);
    if (rc == 0) {
        *data = op->data;
        *len = op->len;
        op->data = NULL;
    }
    eddy__offload_unref(&op->op);
    return rc;
}

int eddy_fs_write_all(const char *path, const void *data, size_t len)
{
    if (!path || (!data && len))
        return -EINVAL;
    path_op *op = path_op_new(P_WRITE_ALL, path, NULL);
    if (!op)
        return -ENOMEM;
    if (len) {
        op->data = malloc(len);
        if (!op->data) {
            eddy__offload_unref(&op->op);
            return -ENOMEM;
        }
        memcpy(op->data, data, len);
    }
    op->len = len;
    int rc = path_call(op);
    eddy__offload_unref(&op->op);
    return rc;
}

int eddy_fs_metadata(const char *path, struct stat *st)
{
    if (!path || !st)
        return -EINVAL;
    path_op *op = path_op_new(P_METADATA, path, NULL);
    if (!op)
        return -ENOMEM;
    int rc = path_call(op);
    if (rc == 0)
        *st = op->st;
    eddy__offload_unref(&op->op);
    return rc;
}

/* An operation with no output. */
static int simple(enum path_kind kind, const char *path, const char *path2, mode_t mode)
{
    path_op *op = path_op_new(kind, path, path2);
    if (!op)
        return -ENOMEM;
    op->mode = mode;
    int rc = path_call(op);
    eddy__offload_unref(&op->op);
    return rc;
}

int eddy_fs_remove(const char *path)
{
    if (!path)
        return -EINVAL;
    return simple(P_REMOVE, path, NULL, 0);
}

int eddy_fs_rename(const char *from, const char *to)
{
    if (!from || !to)
        return -EINVAL;
    return simple(P_RENAME, from, to, 0);
}

int eddy_fs_create_dir(const char *path, mode_t mode)
{
    if (!path)
        return -EINVAL;
    return simple(P_MKDIR, path, NULL, mode ? mode : 0777);
}
