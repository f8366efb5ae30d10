#!/usr/bin/env bash
# The shared library loads with dlopen() after start-up, as a plugin or a
# language binding would load it: its thread-locals use the initial-exec
# model (fast, but they must fit in the static TLS space glibc keeps for
# such libraries). The program spawns and joins tasks on two threads, so
# that each one's thread-locals are used.
set -euo pipefail
lib=${1:?usage: dlopen.sh path/to/libeddy.so include-dir}
inc=${2:?usage: dlopen.sh path/to/libeddy.so include-dir}
cc=${CC:-cc}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/load.c" <<'C'
#include <dlfcn.h>
#include <eddy.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

static eddy_local_runtime *(*rt_new)(const eddy_runtime_opts *);
static int (*rt_block_on)(eddy_local_runtime *, eddy_task_fn, void *, void **);
static int (*rt_free)(eddy_local_runtime *);
static eddy_task *(*spawn)(eddy_task_fn, void *);
static int (*join)(eddy_task *, void **);

static void *plus_one(void *arg) { return (void *)((uintptr_t)arg + 1); }

static void *root(void *arg)
{
    (void)arg;
    uintptr_t sum = 0;
    for (uintptr_t i = 0; i < 100; i++) {
        void *r = NULL;
        eddy_task *t = spawn(plus_one, (void *)i);
        if (!t || join(t, &r) != 0)
            return NULL;
        sum += (uintptr_t)r;
    }
    return (void *)sum;
}

static void *run_one(void *arg)
{
    (void)arg;
    eddy_local_runtime *rt = rt_new(NULL);
    void *r = NULL;
    int ok = rt && rt_block_on(rt, root, NULL, &r) == 0 && (uintptr_t)r == 5050;
    if (rt)
        ok &= rt_free(rt) == 0;
    return (void *)(uintptr_t)ok;
}

int main(int argc, char **argv)
{
    void *h = dlopen(argc > 1 ? argv[1] : "libeddy.so", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        fprintf(stderr, "dlopen: %s\n", dlerror());
        return 1;
    }
    *(void **)&rt_new = dlsym(h, "eddy_local_runtime_new");
    *(void **)&rt_block_on = dlsym(h, "eddy_local_runtime_block_on");
    *(void **)&rt_free = dlsym(h, "eddy_local_runtime_free");
    *(void **)&spawn = dlsym(h, "eddy_spawn");
    *(void **)&join = dlsym(h, "eddy_join");
    if (!rt_new || !rt_block_on || !rt_free || !spawn || !join) {
        fprintf(stderr, "dlsym: %s\n", dlerror());
        return 1;
    }
    pthread_t th;
    void *other = NULL;
    if (pthread_create(&th, NULL, run_one, NULL) != 0)
        return 1;
    void *here = run_one(NULL);
    pthread_join(th, &other);
    if (!here || !other) {
        fprintf(stderr, "tasks did not run as expected\n");
        return 1;
    }
    printf("dlopen: loaded after start-up, tasks ran on two threads\n");
    return 0;
}
C

"$cc" -std=c11 -Wall -Wextra -I"$inc" "$work/load.c" -o "$work/load" -ldl -lpthread
"$work/load" "$(realpath "$lib")"
