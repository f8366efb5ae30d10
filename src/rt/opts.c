/* Runtime options: zero means Tokio's default. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "arch/stack.h"
#include "rt/rt.h"

#define DEFAULT_STACK_SIZE ((size_t)256 * 1024)

int eddy__config_from_opts(const eddy_runtime_opts *o, eddy_sched_config *cfg)
{
    static const eddy_runtime_opts defaults;
    if (!o)
        o = &defaults;
    if (o->stack_guard != EDDY_STACK_GUARDED && o->stack_guard != EDDY_STACK_UNGUARDED)
        return -EINVAL;
    memset(cfg, 0, sizeof *cfg);
    cfg->event_interval = o->event_interval ? o->event_interval : 61;
    cfg->global_queue_interval = o->global_queue_interval ? o->global_queue_interval : 31;
    cfg->stack_size = eddy__stack_round(o->stack_size ? o->stack_size : DEFAULT_STACK_SIZE);
    if (!cfg->stack_size)
        return -EINVAL;
    cfg->guarded_stacks = o->stack_guard == EDDY_STACK_GUARDED;
    cfg->start_paused = o->start_paused;
    cfg->max_blocking_threads = o->max_blocking_threads ? o->max_blocking_threads : 512;
    uint64_t keep_alive_ms = o->thread_keep_alive_ms ? o->thread_keep_alive_ms : 10000;
    if (keep_alive_ms > UINT64_MAX / 4 / 1000000u)
        keep_alive_ms = UINT64_MAX / 4 / 1000000u; /* "forever" */
    cfg->keep_alive_ns = keep_alive_ms * 1000000u;
    /* Linux thread names hold 15 bytes. */
    strncpy(cfg->thread_name, o->thread_name ? o->thread_name : "eddy-blocking",
            sizeof cfg->thread_name - 1);
    strncpy(cfg->worker_name, o->thread_name ? o->thread_name : "eddy-worker",
            sizeof cfg->worker_name - 1);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    cfg->worker_threads = o->worker_threads ? o->worker_threads : (cpus > 0 ? (unsigned)cpus : 1);
    if (cfg->worker_threads > 4096)
        return -EINVAL;
    cfg->thread_stack_size = o->thread_stack_size;
    cfg->on_thread_start = o->on_thread_start;
    cfg->on_thread_stop = o->on_thread_stop;
    cfg->on_thread_park = o->on_thread_park;
    cfg->on_thread_unpark = o->on_thread_unpark;
    cfg->hook_arg = o->hook_arg;
    return 0;
}
