/* Files and the file system through the blocking pool: every call, its
 * errors, use from a plain thread, and abort while an operation blocks
 * (on a FIFO, which blocks opens and reads until the other end acts). */
#include "test_net_util.h"

#include <fcntl.h>
#include <sys/stat.h>

static char dir[64];

static void setup_dir(void)
{
    t_tmpdir(dir, sizeof dir);
}

static void teardown_dir(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

static char *path_of(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
    return buf;
}

/* ---- whole files, metadata, directories, rename, remove ---- */

static void *whole_files(void *arg)
{
    (void)arg;
    char p[128], q[128], d[128];
    path_of(p, sizeof p, "hello.txt");
    cr_expect_eq(eddy_fs_write_all(p, "hello, world", 12), 0);
    void *data = NULL;
    size_t len = 0;
    cr_expect_eq(eddy_fs_read_all(p, &data, &len), 0);
    cr_expect_eq(len, 12);
    cr_expect_str_eq((char *)data, "hello, world", "NUL-terminated");
    free(data);

    struct stat st;
    cr_expect_eq(eddy_fs_metadata(p, &st), 0);
    cr_expect(S_ISREG(st.st_mode));
    cr_expect_eq(st.st_size, 12);

    /* Overwrite with less: truncated. Empty files read as empty. */
    cr_expect_eq(eddy_fs_write_all(p, "hi", 2), 0);
    cr_expect_eq(eddy_fs_read_all(p, &data, &len), 0);
    cr_expect_eq(len, 2);
    free(data);
    cr_expect_eq(eddy_fs_write_all(p, NULL, 0), 0);
    cr_expect_eq(eddy_fs_read_all(p, &data, &len), 0);
    cr_expect_eq(len, 0);
    cr_expect_eq(((char *)data)[0], '\0');
    free(data);

    /* Larger than one chunk. */
    size_t big = EDDY_FS_MAX_CHUNK + 12345;
    unsigned char *out = malloc(big);
    t_pattern(out, big, 5);
    cr_expect_eq(eddy_fs_write_all(p, out, big), 0);
    cr_expect_eq(eddy_fs_read_all(p, &data, &len), 0);
    cr_expect_eq(len, big);
    cr_expect(memcmp(data, out, big) == 0);
    free(data);
    free(out);

    /* Files that do not say their size (procfs) are read to the end too. */
    cr_expect_eq(eddy_fs_read_all("/proc/self/status", &data, &len), 0);
    cr_expect(len > 0 && strstr(data, "Name:") != NULL);
    free(data);

    /* Directories, rename, remove. */
    path_of(d, sizeof d, "sub");
    cr_expect_eq(eddy_fs_create_dir(d, 0755), 0);
    cr_expect_eq(eddy_fs_metadata(d, &st), 0);
    cr_expect(S_ISDIR(st.st_mode));
    cr_expect_eq(st.st_mode & 0777, 0755, "mode (umask 022)");
    path_of(q, sizeof q, "sub/moved.txt");
    cr_expect_eq(eddy_fs_rename(p, q), 0);
    cr_expect_eq(eddy_fs_metadata(p, &st), -ENOENT);
    cr_expect_eq(eddy_fs_metadata(q, &st), 0);
    cr_expect_eq(eddy_fs_remove(d), -ENOTEMPTY);
    cr_expect_eq(eddy_fs_remove(q), 0);
    cr_expect_eq(eddy_fs_remove(d), 0, "an empty directory");
    cr_expect_eq(eddy_fs_metadata(d, &st), -ENOENT);
    cr_expect_eq(eddy_fs_create_dir(d, 0), 0, "mode 0 means 0777");
    cr_expect_eq(eddy_fs_remove(d), 0);
    return T_PTR(1);
}

Test(fs, whole_files_metadata_dirs_rename_remove, .init = setup_dir, .fini = teardown_dir,
     .timeout = T_TIMEOUT)
{
    umask(022);
    cr_assert_eq(T_INT(t_run_local(whole_files, NULL)), 1);
}

static void *errors(void *arg)
{
    (void)arg;
    char p[128], missing[128], d[128];
    path_of(missing, sizeof missing, "missing");
    path_of(p, sizeof p, "file");
    path_of(d, sizeof d, "dir");
    void *data = (void *)1;
    size_t len = 99;
    struct stat st;
    eddy_file *f = NULL;
    cr_expect_eq(eddy_fs_read_all(missing, &data, &len), -ENOENT);
    cr_expect_eq(data, (void *)1, "untouched on error");
    cr_expect_eq(eddy_fs_metadata(missing, &st), -ENOENT);
    cr_expect_eq(eddy_fs_remove(missing), -ENOENT);
    cr_expect_eq(eddy_fs_rename(missing, p), -ENOENT);
    cr_expect_eq(eddy_file_open(missing, O_RDONLY, 0, &f), -ENOENT);
    cr_expect_null(f);
    char deep[160];
    snprintf(deep, sizeof deep, "%s/a/b", missing);
    cr_expect_eq(eddy_fs_create_dir(deep, 0700), -ENOENT);
    cr_expect_eq(eddy_fs_write_all(deep, "x", 1), -ENOENT);

    cr_expect_eq(eddy_fs_create_dir(d, 0700), 0);
    cr_expect_eq(eddy_fs_create_dir(d, 0700), -EEXIST);
    cr_expect_eq(eddy_fs_read_all(d, &data, &len), -EISDIR);
    cr_expect_eq(eddy_fs_write_all(d, "x", 1), -EISDIR);
    cr_expect_eq(eddy_fs_write_all(p, "x", 1), 0);
    cr_expect_eq(eddy_file_open(p, O_WRONLY | O_CREAT | O_EXCL, 0600, &f), -EEXIST);
    char below[160];
    snprintf(below, sizeof below, "%s/x", p);
    cr_expect_eq(eddy_fs_metadata(below, &st), -ENOTDIR);
    cr_expect_eq(eddy_fs_rename(d, p), -ENOTDIR);

    /* Invalid arguments. */
    cr_expect_eq(eddy_fs_read_all(NULL, &data, &len), -EINVAL);
    cr_expect_eq(eddy_fs_read_all(p, NULL, &len), -EINVAL);
    cr_expect_eq(eddy_fs_write_all(NULL, "x", 1), -EINVAL);
    cr_expect_eq(eddy_fs_write_all(p, NULL, 1), -EINVAL);
    cr_expect_eq(eddy_fs_metadata(p, NULL), -EINVAL);
    cr_expect_eq(eddy_fs_remove(NULL), -EINVAL);
    cr_expect_eq(eddy_fs_rename(p, NULL), -EINVAL);
    cr_expect_eq(eddy_fs_create_dir(NULL, 0), -EINVAL);
    cr_expect_eq(eddy_file_open(NULL, O_RDONLY, 0, &f), -EINVAL);
    cr_expect_eq(eddy_file_open(p, O_RDONLY, 0, NULL), -EINVAL);
    char b;
    cr_expect_eq(eddy_file_read(NULL, &b, 1), -EINVAL);
    cr_expect_eq(eddy_file_write(NULL, &b, 1), -EINVAL);
    cr_expect_eq(eddy_file_close(NULL), -EINVAL);
    cr_expect_eq(eddy_file_sync(NULL), -EINVAL);
    cr_expect_eq(eddy_file_fd(NULL), -1);
    return T_PTR(1);
}

Test(fs, errors, .init = setup_dir, .fini = teardown_dir, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(errors, NULL)), 1);
}

/* ---- open files ---- */

static void *files(void *arg)
{
    (void)arg;
    char p[128];
    path_of(p, sizeof p, "data.bin");
    eddy_file *f = NULL;
    cr_expect_eq(eddy_file_open(p, O_RDWR | O_CREAT | O_TRUNC, 0600, &f), 0);
    if (!f)
        return T_PTR(0);
    cr_expect(eddy_file_fd(f) >= 0);
    int fdfl = fcntl(eddy_file_fd(f), F_GETFD);
    cr_expect(fdfl >= 0 && (fdfl & FD_CLOEXEC), "close-on-exec");
    cr_expect_eq(eddy_file_write(f, "0123456789", 10), 10);
    cr_expect_eq(eddy_file_pwrite(f, "AB", 2, 4), 2);
    char buf[16] = { 0 };
    cr_expect_eq(eddy_file_read(f, buf, sizeof buf), 0, "at the end of the file");
    cr_expect_eq(eddy_file_pread(f, buf, sizeof buf, 0), 10);
    cr_expect(memcmp(buf, "0123AB6789", 10) == 0);
    cr_expect_eq(eddy_file_pread(f, buf, 4, 8), 2);
    cr_expect_eq(eddy_file_pread(f, buf, 4, -1), -EINVAL);
    cr_expect_eq(eddy_file_pwrite(f, buf, 4, -1), -EINVAL);
    cr_expect_eq(eddy_file_sync(f), 0);
    struct stat st;
    cr_expect_eq(eddy_file_stat(f, &st), 0);
    cr_expect_eq(st.st_size, 10);
    cr_expect_eq(st.st_mode & 0777, 0600);
    cr_expect_eq(eddy_file_stat(f, NULL), -EINVAL);
    cr_expect_eq(eddy_file_close(f), 0);

    /* Reading from the start; a big read is capped at one chunk. */
    cr_expect_eq(eddy_file_open(p, O_RDONLY, 0, &f), 0);
    cr_expect_eq(eddy_file_read(f, buf, 3), 3);
    cr_expect(memcmp(buf, "012", 3) == 0);
    cr_expect_eq(eddy_file_write(f, "x", 1), -EBADF, "opened read-only");
    cr_expect_eq(eddy_file_close(f), 0);

    size_t big = EDDY_FS_MAX_CHUNK * 2;
    char *mem = calloc(1, big);
    cr_expect_eq(eddy_fs_write_all(p, mem, big), 0);
    cr_expect_eq(eddy_file_open(p, O_RDONLY, 0, &f), 0);
    cr_expect_eq(eddy_file_read(f, mem, big), (ssize_t)EDDY_FS_MAX_CHUNK);
    cr_expect_eq(eddy_file_close(f), 0);
    cr_expect_eq(eddy_file_open(p, O_WRONLY | O_APPEND, 0, &f), 0);
    cr_expect_eq(eddy_file_write(f, mem, big), (ssize_t)EDDY_FS_MAX_CHUNK);
    cr_expect_eq(eddy_file_close(f), 0);
    struct stat st2;
    cr_expect_eq(eddy_fs_metadata(p, &st2), 0);
    cr_expect_eq((size_t)st2.st_size, big + EDDY_FS_MAX_CHUNK);
    free(mem);
    return T_PTR(1);
}

Test(fs, open_read_write_pread_pwrite_sync_stat_close, .init = setup_dir,
     .fini = teardown_dir, .timeout = T_TIMEOUT)
{
    umask(022);
    cr_assert_eq(T_INT(t_run_local(files, NULL)), 1);
}

/* ---- many tasks at once ---- */

static void *one_of_many(void *arg)
{
    int i = T_INT(arg);
    char p[128], name[32];
    snprintf(name, sizeof name, "f%d", i);
    path_of(p, sizeof p, name);
    unsigned char out[5000];
    t_pattern(out, sizeof out, (unsigned)i);
    if (eddy_fs_write_all(p, out, sizeof out) != 0)
        return T_PTR(0);
    void *data = NULL;
    size_t len = 0;
    int rc = eddy_fs_read_all(p, &data, &len);
    bool ok = rc == 0 && len == sizeof out && memcmp(data, out, len) == 0;
    free(data);
    return T_PTR(ok && eddy_fs_remove(p) == 0);
}

static void *many(void *arg)
{
    (void)arg;
    enum { M = 64 };
    eddy_task *t[M];
    for (int i = 0; i < M; i++)
        t[i] = eddy_spawn(one_of_many, T_PTR(i));
    int ok = 0;
    for (int i = 0; i < M; i++) {
        void *r = NULL;
        cr_expect_eq(eddy_join(t[i], &r), 0);
        ok += T_INT(r);
    }
    return T_PTR(ok);
}

Test(fs, many_tasks_at_once, .init = setup_dir, .fini = teardown_dir, .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(many, NULL)), 64);
}

/* ---- a plain thread, and a file outliving its runtime ---- */

Test(fs, from_a_plain_thread_the_calls_run_directly, .init = setup_dir, .fini = teardown_dir,
     .timeout = T_TIMEOUT)
{
    char p[128], q[128];
    path_of(p, sizeof p, "plain");
    path_of(q, sizeof q, "plain2");
    cr_assert_eq(eddy_fs_write_all(p, "abc", 3), 0);
    void *data;
    size_t len;
    cr_assert_eq(eddy_fs_read_all(p, &data, &len), 0);
    cr_assert_eq(len, 3);
    free(data);
    eddy_file *f;
    cr_assert_eq(eddy_file_open(p, O_RDWR, 0, &f), 0);
    char b[3];
    cr_assert_eq(eddy_file_read(f, b, 3), 3);
    cr_assert_eq(eddy_file_close(f), 0);
    cr_assert_eq(eddy_fs_rename(p, q), 0);
    struct stat st;
    cr_assert_eq(eddy_fs_metadata(q, &st), 0);
    cr_assert_eq(eddy_fs_remove(q), 0);
}

static void *open_in_runtime(void *arg)
{
    char p[128];
    eddy_file **f = arg;
    return T_PTR(eddy_file_open(path_of(p, sizeof p, "kept"), O_RDWR | O_CREAT, 0600, f) == 0);
}

Test(fs, a_file_outlives_its_runtime, .init = setup_dir, .fini = teardown_dir,
     .timeout = T_TIMEOUT)
{
    eddy_file *f = NULL;
    cr_assert_eq(T_INT(t_run_local(open_in_runtime, &f)), 1);
    /* Files are not tied to a runtime: here the calls run on this thread. */
    cr_assert_eq(eddy_file_write(f, "later", 5), 5);
    cr_assert_eq(eddy_file_close(f), 0);
}

/* ---- abort while an operation blocks on the pool ---- */

static atomic_long parked_rc = 1;

static void *open_fifo(void *arg)
{
    eddy_file *f = NULL;
    /* Blocks (on a pool thread) until a writer opens the FIFO. */
    atomic_store(&parked_rc, eddy_file_open(arg, O_RDONLY, 0, &f));
    if (f)
        eddy_file_close(f);
    return NULL;
}

static void *read_fifo(void *arg)
{
    char buf[64];
    atomic_store(&parked_rc, (long)eddy_file_read(arg, buf, sizeof buf));
    return NULL;
}

static void *abort_blocked(void *arg)
{
    (void)arg;
    char fifo[128];
    path_of(fifo, sizeof fifo, "fifo");
    cr_expect_eq(mkfifo(fifo, 0600), 0);

    /* 1. Abort a task whose open blocks on the pool. */
    eddy_task *t = eddy_spawn(open_fifo, fifo);
    eddy_sleep(20);
    eddy_abort(t);
    cr_expect_eq(eddy_join(t, NULL), -ECANCELED);
    cr_expect_eq(atomic_load(&parked_rc), -ECANCELED);
    /* Release the pool thread: the abandoned open completes and its fd is
     * closed by eddy (had the open not started yet, it is skipped and
     * nobody reads: ENXIO). */
    int w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    cr_expect(w >= 0 || errno == ENXIO, "open writer: %s", strerror(errno));
    if (w >= 0)
        close(w);

    /* 2. Abort a task whose read blocks on the pool, close the file while
     * the read still runs, then let the read finish. */
    eddy_file *f = NULL;
    cr_expect_eq(eddy_file_open(fifo, O_RDWR, 0, &f), 0);
    if (!f)
        return T_PTR(0);
    atomic_store(&parked_rc, 1);
    t = eddy_spawn(read_fifo, f);
    eddy_sleep(20);
    eddy_abort(t);
    cr_expect_eq(eddy_join(t, NULL), -ECANCELED);
    cr_expect_eq(atomic_load(&parked_rc), -ECANCELED);
    cr_expect_eq(eddy_file_close(f), 0, "the fd closes once the read ends");
    w = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    cr_expect(w >= 0, "the FIFO is still open for reading by the abandoned read");
    if (w >= 0) {
        cr_expect_eq(write(w, "wake", 4), 4);
        close(w);
    }
    return T_PTR(1);
}

Test(fs, abort_while_the_operation_blocks, .init = setup_dir, .fini = teardown_dir,
     .timeout = T_TIMEOUT)
{
    /* Freeing the runtime waits for the pool threads, i.e. for the
     * abandoned operations to finish and free themselves. */
    cr_assert_eq(T_INT(t_run_local(abort_blocked, NULL)), 1);
}

static void *aborted_first(void *arg)
{
    while (eddy_yield() == 0) {
    }
    char p[128];
    struct stat st;
    void *data;
    size_t len;
    int a = eddy_fs_metadata(path_of(p, sizeof p, "x"), &st);
    int b = eddy_fs_write_all(p, "x", 1);
    int c = eddy_fs_read_all(p, &data, &len);
    int d = eddy_file_close(arg); /* closes anyway */
    return T_PTR(a == -ECANCELED && b == -ECANCELED && c == -ECANCELED && d == -ECANCELED);
}

static void *aborted_calls(void *arg)
{
    (void)arg;
    char p[128];
    eddy_file *f = NULL;
    cr_expect_eq(eddy_file_open(path_of(p, sizeof p, "y"), O_WRONLY | O_CREAT, 0600, &f), 0);
    eddy_task *t = eddy_spawn(aborted_first, f);
    eddy_yield();
    eddy_abort(t);
    void *r = NULL;
    eddy_join(t, &r);
    cr_expect_eq(T_INT(r), 1);
    struct stat st;
    cr_expect_eq(eddy_fs_metadata(path_of(p, sizeof p, "x"), &st), -ENOENT,
                 "an aborted task's write did not happen");
    return T_PTR(1);
}

Test(fs, calls_of_an_aborted_task_return_ecanceled, .init = setup_dir, .fini = teardown_dir,
     .timeout = T_TIMEOUT)
{
    cr_assert_eq(T_INT(t_run_local(aborted_calls, NULL)), 1);
}
