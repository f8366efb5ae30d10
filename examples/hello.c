/* hello.c — the smallest complete eddy program.
 *
 * A LocalRuntime belongs to the thread that creates it, and every one of its
 * tasks runs on that thread. So tasks may share plain, non-thread-safe state:
 * the counter below is an ordinary int, with no atomics and no locks. */
#include <eddy.h>
#include <stdio.h>

static int counter; /* shared by all tasks, safely: they never run at once */

/* A task: a plain C function running on its own stack. */
static void *worker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 1000; i++) {
        counter++;
        eddy_yield(); /* let the other tasks run */
    }
    return NULL;
}

/* The root task: spawns four workers and waits for them. */
static void *root(void *arg)
{
    (void)arg;
    eddy_task *tasks[4];
    for (int i = 0; i < 4; i++)
        tasks[i] = eddy_spawn(worker, NULL);
    for (int i = 0; i < 4; i++)
        eddy_join(tasks[i], NULL); /* suspends this task, not the thread */
    printf("counter = %d\n", counter); /* 4000 */
    return NULL;
}

int main(void)
{
    eddy_local_runtime *rt = eddy_local_runtime_new(NULL); /* bound to this thread */
    if (!rt) {
        perror("eddy_local_runtime_new");
        return 1;
    }
    int rc = eddy_local_runtime_block_on(rt, root, NULL, NULL); /* runs until root returns */
    if (rc != 0)
        fprintf(stderr, "block_on: %s\n", eddy_strerror(rc));
    eddy_local_runtime_free(rt); /* cancels leftovers, waits for blocking work */
    return rc == 0 ? 0 : 1;
}
