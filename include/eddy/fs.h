/** @file
 * eddy — files and the file system, through the blocking pool.
 *
 * Regular files are always "ready" to epoll, yet their reads and writes may
 * block on the disk, so every call here runs its system call(s) on the
 * runtime's blocking pool (eddy_spawn_blocking) and suspends only the
 * calling task until they are done. Called from a plain thread (or from
 * blocking-pool code), the system call simply runs on the calling thread.
 *
 * Cancellation: when the calling task is aborted while its operation runs
 * on the pool, the call returns -ECANCELED at once and the operation runs
 * to its end in the background on buffers of its own (the caller's buffer
 * is never touched after the call returned); its result is discarded. So
 * an aborted write may still have happened, an aborted read may still have
 * moved the file offset, and a file opened by an aborted eddy_file_open is
 * closed again. An operation aborted before a pool thread picked it up is
 * not run at all.
 *
 * Errors are negative errno values of the system call (-ENOENT, -EACCES,
 * -EEXIST, -EISDIR, ...), plus -ECANCELED, -EINVAL for NULL arguments,
 * -ENOMEM, and -EAGAIN when no blocking-pool thread can be started.
 * Files belong to no runtime: one opened in a task may be used from a plain
 * thread, also after its runtime has ended (the calls then run directly).
 *
 * Reads and writes move at most EDDY_FS_MAX_CHUNK bytes per call (through
 * a buffer of the operation's own), so, as read(2) and write(2) may, they
 * can return fewer bytes than asked for; eddy_fs_read_all and
 * eddy_fs_write_all loop for you.
 */
#ifndef EDDY_FS_H
#define EDDY_FS_H

#include <sys/stat.h>
#include <sys/types.h>

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

/** An open file whose operations run on the blocking pool. */
typedef struct eddy_file eddy_file;

/** The most one eddy_file_read/write/pread/pwrite moves (2 MiB). */
#define EDDY_FS_MAX_CHUNK ((size_t)2 << 20)

/** Opens `path` as open(2) does (flags O_RDONLY, O_WRONLY|O_CREAT|O_TRUNC,
 * O_APPEND, ...; mode for O_CREAT/O_TMPFILE; O_CLOEXEC is always added).
 * Stores the file in *out. 0, -ENOENT, -EACCES, -EEXIST, -EISDIR,
 * -EMFILE, ..., -EINVAL, -ECANCELED. Suspends. */
EDDY_API int eddy_file_open(const char *path, int flags, mode_t mode, eddy_file **out);

/** Reads up to len bytes (at most EDDY_FS_MAX_CHUNK) at the file offset.
 * Returns the count, 0 at end of file, or a negative errno. Suspends. */
EDDY_API ssize_t eddy_file_read(eddy_file *f, void *buf, size_t len);

/** Writes up to len bytes (at most EDDY_FS_MAX_CHUNK) at the file offset
 * (at the end with O_APPEND). Returns the count or a negative errno
 * (-EBADF on a file opened read-only, -ENOSPC, ...). Suspends. */
EDDY_API ssize_t eddy_file_write(eddy_file *f, const void *buf, size_t len);

/**@{*/
/** As read/write at offset `off`, leaving the file offset alone. -EINVAL
 * for a negative offset. Suspends. */
EDDY_API ssize_t eddy_file_pread(eddy_file *f, void *buf, size_t len, off_t off);
EDDY_API ssize_t eddy_file_pwrite(eddy_file *f, const void *buf, size_t len, off_t off);
/**@}*/

/** fsync(2): 0 or a negative errno. Suspends. */
EDDY_API int eddy_file_sync(eddy_file *f);

/** fstat(2) of the open file. 0 or a negative errno. Suspends. */
EDDY_API int eddy_file_stat(eddy_file *f, struct stat *st);

/** The file's descriptor (still owned by the eddy_file), -1 for NULL. */
EDDY_API int eddy_file_fd(const eddy_file *f);

/** Closes the file and frees it, in every case (the file must not be used
 * afterwards, and no other call on it may be in progress). Returns close's
 * error (0, -EIO, ...), or -ECANCELED if the calling task was aborted (the
 * descriptor is closed anyway), -EINVAL for NULL. When an aborted
 * operation on the file is still running in the background, the
 * descriptor is closed when it ends and 0 is returned. Suspends. */
EDDY_API int eddy_file_close(eddy_file *f);

/** Reads the whole file at `path` into a new buffer: *data (free() it) and
 * its length *len. The buffer has a NUL byte after the last one (not
 * counted), so text can be used as a string. 0, -ENOENT, -EISDIR, -EFBIG
 * (larger than memory can hold), -ENOMEM, ..., -ECANCELED. Suspends. */
EDDY_API int eddy_fs_read_all(const char *path, void **data, size_t *len);

/** Writes len bytes of data as the whole content of `path` (created with
 * mode 0666 & ~umask, or truncated). The data is copied first, so an
 * aborted call never reads the caller's buffer later. 0 or a negative
 * errno. Suspends. */
EDDY_API int eddy_fs_write_all(const char *path, const void *data, size_t len);

/** stat(2) of `path` (following symlinks). 0, -ENOENT, -ENOTDIR, -EACCES,
 * ... Suspends. */
EDDY_API int eddy_fs_metadata(const char *path, struct stat *st);

/** Removes a file, or an empty directory (as remove(3)). 0, -ENOENT,
 * -ENOTEMPTY, -EACCES, ... Suspends. */
EDDY_API int eddy_fs_remove(const char *path);

/** rename(2): moves `from` to `to`, replacing `to` if it exists. 0,
 * -ENOENT, -EXDEV, -EISDIR, ... Suspends. */
EDDY_API int eddy_fs_rename(const char *from, const char *to);

/** mkdir(2) with `mode` (0: 0777), minus the umask. 0, -EEXIST, -ENOENT
 * (a parent is missing), -EACCES, ... Suspends. */
EDDY_API int eddy_fs_create_dir(const char *path, mode_t mode);

#ifdef __cplusplus
}
#endif

#endif /* EDDY_FS_H */
