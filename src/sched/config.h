/* Scheduler settings, resolved from eddy_runtime_opts (zero = default). */
#ifndef EDDY_SCHED_CONFIG_H
#define EDDY_SCHED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct eddy_sched_config {
    unsigned event_interval;        /* ticks between driver polls */
    unsigned global_queue_interval; /* ticks between forced remote checks */
    size_t stack_size;              /* default task stack, page-rounded */
    bool guarded_stacks;
    unsigned max_blocking_threads;
    uint64_t keep_alive_ns;         /* blocking-pool idle lifetime */
    char thread_name[16];           /* blocking-pool thread name */
    bool start_paused;              /* virtual clock, auto-advanced */
    unsigned worker_threads;        /* multi-thread workers */
    char worker_name[16];
    size_t thread_stack_size;       /* 0: the system default */
    void (*on_thread_start)(void *);
    void (*on_thread_stop)(void *);
    void (*on_thread_park)(void *);
    void (*on_thread_unpark)(void *);
    void *hook_arg;
} eddy_sched_config;

#endif /* EDDY_SCHED_CONFIG_H */
