/* Offloading a blocking system call to the blocking pool, safely under
 * cancellation.
 *
 * An operation is a heap object with a reference count: one reference for
 * the caller, one for the completion of the blocking task that runs it.
 * The caller suspends until that task completes; if the caller is aborted
 * (or its deadline passes) it returns at once and the operation finishes
 * alone, on its own buffers. An operation whose caller gave up before a
 * pool thread picked it up is skipped (its `run` never starts).
 *
 * The completion is observed through the task's join waker (a custom
 * waker, as JoinSet does), which fires whether the task ran, or was dropped
 * unstarted by a pool shutting down. So the operation is freed in every
 * case, by whichever side lets go last.
 *
 * Used by src/fs (files) and src/net/resolve.c (getaddrinfo). */
#ifndef EDDY_FS_OFFLOAD_H
#define EDDY_FS_OFFLOAD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "task/waker.h"

typedef struct eddy_offload eddy_offload;

/* The deadline of an operation that waits as long as it takes. */
#define EDDY_OFFLOAD_NO_DEADLINE UINT64_MAX

struct eddy_offload {
    /* Does the work (on a pool thread, or on the calling thread when that
     * is not a task). Must set `result`. */
    void (*run)(eddy_offload *op);
    /* Frees the operation and whatever it still owns (called once, by
     * whichever side drops the last reference). */
    void (*destroy)(eddy_offload *op);
    ssize_t result;                      /* >= 0 or a negative errno */

    /* Private to offload.c. */
    atomic_uint refs;
    atomic_int state;                    /* pending, running, done, abandoned */
    struct eddy_task *task;              /* the blocking task */
    pthread_mutex_t lock;                /* guards the three below */
    eddy_waker waiter;                   /* the caller while it waits */
    bool finished;                       /* the blocking task completed */
    int status;                          /* its join status, once finished */
};

/* Initialises the header: one reference (the caller's). */
void eddy__offload_init(eddy_offload *op, void (*run)(eddy_offload *),
                        void (*destroy)(eddy_offload *));

/* Runs op->run: on the blocking pool from a task (the task suspends), or
 * directly on a plain thread. Returns 0 when `run` finished (op->result
 * and the operation's outputs are valid), or -ECANCELED / -ETIMEDOUT (the
 * caller gave up; the operation finishes or is skipped in the background),
 * or the error of eddy_spawn_blocking (-ENOMEM, -EPERM), or the status of
 * a blocking task completed without running (-ECANCELED: the pool shut
 * down; -EAGAIN: no pool thread could be started). In every case the
 * caller still holds its reference: drop it with eddy__offload_unref once
 * it has taken what it wants out of op. */
int eddy__offload_run(eddy_offload *op, uint64_t deadline);

void eddy__offload_unref(eddy_offload *op);

#endif /* EDDY_FS_OFFLOAD_H */
