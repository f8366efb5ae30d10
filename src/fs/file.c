/* eddy_file: an open file whose system calls run on the blocking pool.
 *
 * The file is reference-counted: its owner holds one reference and every
 * operation in flight another, so an operation abandoned by an aborted
 * task still has a valid descriptor until it ends, and the descriptor is
 * closed only after the last one. Data moves through a buffer owned by the
 * operation; the caller's buffer is used only before the operation is
 * handed to the pool (writes) or after it came back (reads). */
#include <eddy/fs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/offload.h"

struct eddy_file {
    atomic_uint refs; /* the owner, plus each operation holding it */
    int fd;           /* -1 once closed by eddy_file_close */
};

static void file_unref(eddy_file *f)
{
    if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) != 1)
        return;
    if (f->fd >= 0)
        close(f->fd);
    free(f);
}

/* ---- open ---- */

typedef struct open_op {
    eddy_offload op;
    char *path;
    int flags;
    mode_t mode;
    int fd; /* the opened descriptor until the caller takes it */
} open_op;

static void open_run(eddy_offload *o)
{
    open_op *op = (open_op *)o;
    do
        op->fd = open(op->path, op->flags, op->mode);
    while (op->fd < 0 && errno == EINTR);
    o->result = op->fd < 0 ? -errno : 0;
}

static void open_destroy(eddy_offload *o)
{
    open_op *op = (open_op *)o;
    if (op->fd >= 0)
        close(op->fd); /* nobody took it: the caller gave up */
    free(op->path);
    free(op);
}

int eddy_file_open(const char *path, int flags, mode_t mode, eddy_file **out)
{
    if (!path || !out)
        return -EINVAL;
    eddy_file *f = malloc(sizeof *f);
    open_op *op = calloc(1, sizeof *op);
    char *p = strdup(path);
    if (!f || !op || !p) {
        free(f);
        free(op);
        free(p);
        return -ENOMEM;
    }
    op->path = p;
    op->flags = flags | O_CLOEXEC;
    op->mode = mode;
    op->fd = -1;
    eddy__offload_init(&op->op, open_run, open_destroy);
    int rc = eddy__offload_run(&op->op, EDDY_OFFLOAD_NO_DEADLINE);
    if (rc == 0)
        rc = (int)op->op.result;
    if (rc == 0) {
        atomic_init(&f->refs, 1);
        f->fd = op->fd;
        op->fd = -1;
        *out = f;
        f = NULL;
    }
    eddy__offload_unref(&op->op);
    free(f);
    return rc;
}

/* ---- read, write, pread, pwrite, sync, stat, close ---- */

enum file_kind { F_READ, F_WRITE, F_PREAD, F_PWRITE, F_SYNC, F_STAT, F_CLOSE };

typedef struct file_op {
    eddy_offload op;
    eddy_file *f; /* a reference of the operation's own */
    enum file_kind kind;
    off_t off;
    size_t len;
    char *buf;    /* the operation's own copy of the data */
    struct stat st;
} file_op;

static ssize_t retry_eintr(file_op *op)
{
    int fd = op->f->fd;
    for (;;) {
        ssize_t n;
        switch (op->kind) {
        case F_READ:
            n = read(fd, op->buf, op->len);
            break;
        case F_WRITE:
            n = write(fd, op->buf, op->len);
            break;
        case F_PREAD:
            n = pread(fd, op->buf, op->len, op->off);
            break;
        case F_PWRITE:
            n = pwrite(fd, op->buf, op->len, op->off);
            break;
        case F_SYNC:
            n = fsync(fd);
            break;
        case F_STAT:
            n = fstat(fd, &op->st);
            break;
        default:
            n = -1;
            errno = EINVAL;
            break;
        }
        if (n >= 0)
            return n;
        if (errno != EINTR)
            return -errno;
    }
}

static void file_run(eddy_offload *o)
{
    file_op *op = (file_op *)o;
    if (op->kind != F_CLOSE) {
        o->result = retry_eintr(op);
        return;
    }
    /* Close now only if no abandoned operation still uses the fd; else
     * the last of them closes it (file_unref) and the error is lost. */
    eddy_file *f = op->f;
    o->result = 0;
    if (atomic_load_explicit(&f->refs, memory_order_acquire) == 1) {
        int fd = f->fd;
        f->fd = -1;
        /* After close(2) the fd is gone even on EINTR (Linux): no retry. */
        if (close(fd) < 0 && errno != EINTR)
            o->result = -errno;
    }
}

static void file_destroy(eddy_offload *o)
{
    file_op *op = (file_op *)o;
    if (op->f)
        file_unref(op->f);
    free(op->buf);
    free(op);
}

/* Runs one operation; for reads, copies the data out to `out`. */
static ssize_t file_call(eddy_file *f, enum file_kind kind, void *out, const void *in,
                         size_t len, off_t off, struct stat *st)
{
    if (!f)
        return -EINVAL;
    if (len > EDDY_FS_MAX_CHUNK)
        len = EDDY_FS_MAX_CHUNK;
    file_op *op = calloc(1, sizeof *op);
    if (!op)
        return -ENOMEM;
    if (len && (out || in)) {
        op->buf = malloc(len);
        if (!op->buf) {
            free(op);
            return -ENOMEM;
        }
        if (in)
            memcpy(op->buf, in, len);
    }
    atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
    op->f = f;
    op->kind = kind;
    op->off = off;
    op->len = len;
    eddy__offload_init(&op->op, file_run, file_destroy);
    ssize_t rc = eddy__offload_run(&op->op, EDDY_OFFLOAD_NO_DEADLINE);
    if (rc == 0) {
        rc = op->op.result;
        if (rc > 0 && out)
            memcpy(out, op->buf, (size_t)rc);
        if (rc == 0 && st)
            *st = op->st;
    }
    eddy__offload_unref(&op->op);
    return rc;
}

ssize_t eddy_file_read(eddy_file *f, void *buf, size_t len)
{
    if (!buf && len)
        return -EINVAL;
    return file_call(f, F_READ, buf, NULL, len, 0, NULL);
}

ssize_t eddy_file_write(eddy_file *f, const void *buf, size_t len)
{
    if (!buf && len)
        return -EINVAL;
    return file_call(f, F_WRITE, NULL, buf, len, 0, NULL);
}

ssize_t eddy_file_pread(eddy_file *f, void *buf, size_t len, off_t off)
{
    if ((!buf && len) || off < 0)
        return -EINVAL;
    return file_call(f, F_PREAD, buf, NULL, len, off, NULL);
}

ssize_t eddy_file_pwrite(eddy_file *f, const void *buf, size_t len, off_t off)
{
    if ((!buf && len) || off < 0)
        return -EINVAL;
    return file_call(f, F_PWRITE, NULL, buf, len, off, NULL);
}

int eddy_file_sync(eddy_file *f)
{
    return (int)file_call(f, F_SYNC, NULL, NULL, 0, 0, NULL);
}

int eddy_file_stat(eddy_file *f, struct stat *st)
{
    if (!st)
        return -EINVAL;
    return (int)file_call(f, F_STAT, NULL, NULL, 0, 0, st);
}

int eddy_file_fd(const eddy_file *f)
{
    return f ? f->fd : -1;
}

int eddy_file_close(eddy_file *f)
{
    if (!f)
        return -EINVAL;
    file_op *op = calloc(1, sizeof *op);
    if (!op) {
        file_unref(f); /* closes on this thread */
        return 0;
    }
    op->f = f; /* takes over the owner's reference */
    op->kind = F_CLOSE;
    eddy__offload_init(&op->op, file_run, file_destroy);
    int rc = (int)eddy__offload_run(&op->op, EDDY_OFFLOAD_NO_DEADLINE);
    if (rc == 0)
        rc = (int)op->op.result;
    /* On failure to offload (-ECANCELED, -ENOMEM, ...) the operation was
     * skipped or runs on; either way dropping it closes the fd. */
    eddy__offload_unref(&op->op);
    return rc;
}
