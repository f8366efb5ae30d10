/* local_set.c — a LocalSet inside a current-thread Runtime.
 *
 * Some objects must only ever be used from the thread that made them: a
 * GUI widget, a handle from a C library that is not thread-safe, anything
 * with a plain (non-atomic) reference count. A LocalSet is a group of tasks
 * that all run on the thread that owns the set, so they can share such an
 * object freely. It runs inside an ordinary eddy_runtime, here the
 * current-thread flavor, whose other features (timers, blocking pool) its
 * tasks use as usual.
 *
 * The "widget" below stands for such an object: every function on it
 * checks it is called on its owner thread and aborts the program if not.
 * It never trips, because every task touching it is a task of the set.
 *
 * It shows the two ways to drive a set:
 *   1. eddy_local_set_block_on(set, rt, fn, ...): block_on with the set
 *      around fn, from plain code;
 *   2. eddy_local_set_wait(set) from a task of the runtime: drive the set
 *      until all its tasks are done;
 * and what happens when the set is used from the wrong place.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <eddy.h>

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PTR(i) ((void *)(intptr_t)(i))
#define INT(p) ((long)(intptr_t)(p))

/* ---- a thread-affine object ------------------------------------------- */

typedef struct widget {
    pthread_t owner;
    int refs;          /* plain int: only its owner thread touches it */
    int updates;
    char text[512];
} widget;

static void widget_check(const widget *w)
{
    if (!pthread_equal(w->owner, pthread_self())) {
        fprintf(stderr, "widget used off its owner thread!\n");
        abort();
    }
}

static widget *widget_new(void)
{
    widget *w = calloc(1, sizeof *w);
    if (w) {
        w->owner = pthread_self();
        w->refs = 1;
    }
    return w;
}

static widget *widget_ref(widget *w)
{
    widget_check(w);
    w->refs++;
    return w;
}

static void widget_unref(widget *w)
{
    widget_check(w);
    if (--w->refs == 0)
        free(w);
}

static void widget_append(widget *w, const char *word)
{
    widget_check(w);
    size_t len = strlen(w->text);
    snprintf(w->text + len, sizeof w->text - len, "%s%s", len ? " " : "", word);
    w->updates++;
}

/* ---- tasks of the set ------------------------------------------------- */

typedef struct typist {
    widget *w;     /* a reference of its own */
    char letter;
    int period_ms;
} typist;

/* Appends "<letter><i>" three times, sleeping in between so that the
 * typists interleave. */
static void *typist_main(void *arg)
{
    typist *t = arg;
    for (int i = 1; i <= 3; i++) {
        if (eddy_sleep((uint64_t)t->period_ms) < 0)
            break; /* cancelled: still drop the reference below */
        char word[8];
        snprintf(word, sizeof word, "%c%d", t->letter, i);
        widget_append(t->w, word);
    }
    widget_unref(t->w);
    return NULL;
}

/* CPU work for the blocking pool. It gets plain numbers, not the widget:
 * the pool runs on other threads. */
static void *sum_of_squares(void *arg)
{
    long n = INT(arg), sum = 0;
    for (long i = 1; i <= n; i++)
        sum += i * i;
    return PTR(sum);
}

static typist typists[6];
static eddy_task *early[2];
static int failures;

static void check(bool ok, const char *what)
{
    printf("  %-62s %s\n", what, ok ? "ok" : "FAILED");
    failures += !ok;
}

/* Phase 1's root: runs inside the set, on the owner thread. */
static void *phase1(void *arg)
{
    widget *w = arg;
    /* Inside a set task, eddy_spawn_local (and eddy_spawn) spawn into the
     * set: these also run on this thread. */
    eddy_task *tasks[3];
    for (int i = 0; i < 3; i++) {
        typists[2 + i] = (typist){ widget_ref(w), (char)('C' + i), 7 + 4 * i };
        tasks[i] = eddy_spawn_local(typist_main, &typists[2 + i]);
    }

    /* Heavy work goes to the blocking pool; its result is applied to the
     * widget back here, on the owner thread. */
    void *sum = NULL;
    eddy_join(eddy_spawn_blocking(sum_of_squares, PTR(1000)), &sum);
    char word[32];
    snprintf(word, sizeof word, "[pool:%ld]", INT(sum));
    widget_append(w, word);

    for (int i = 0; i < 3; i++)
        eddy_join(tasks[i], NULL);
    for (int i = 0; i < 2; i++) /* the two spawned before the set was driven */
        eddy_join(early[i], NULL);
    return PTR(w->updates);
}

/* Phase 2's driver: a task of the runtime, not of the set. */
static void *phase2(void *arg)
{
    eddy_local_set *set = arg;
    /* A current-thread Runtime cannot pin tasks, so outside the set
     * eddy_spawn_local refuses (it would not be local to anything). */
    errno = 0;
    eddy_task *t = eddy_spawn_local(typist_main, NULL);
    check(!t && errno == EPERM, "eddy_spawn_local in a plain runtime task: EPERM");
    /* Runs the set's tasks until none is left. */
    return PTR(eddy_local_set_wait(set));
}

static void *foreign_thread(void *arg)
{
    errno = 0;
    eddy_task *t = eddy_local_set_spawn_local(arg, typist_main, NULL);
    return PTR(t == NULL && errno == EPERM);
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    eddy_runtime_opts opts = { .flavor = EDDY_FLAVOR_CURRENT_THREAD };
    eddy_runtime *rt = eddy_runtime_new(&opts);
    eddy_local_set *set = eddy_local_set_new(); /* owned by this thread */
    widget *w = widget_new();
    if (!rt || !set || !w) {
        perror("local_set: setup");
        return 1;
    }

    printf("1. eddy_local_set_block_on: the set inside a current-thread runtime\n");
    /* Tasks may be put in the set before it is driven; they start when it
     * is. */
    for (int i = 0; i < 2; i++) {
        typists[i] = (typist){ widget_ref(w), (char)('A' + i), 5 + 4 * i };
        early[i] = eddy_local_set_spawn_local(set, typist_main, &typists[i]);
    }
    void *updates = NULL;
    int rc = eddy_local_set_block_on(set, rt, phase1, w, &updates);
    printf("  widget: %s\n", w->text);
    check(rc == 0 && INT(updates) == 5 * 3 + 1, "5 typists x 3 words + 1 pool result");

    printf("2. eddy_local_set_wait from a runtime task\n");
    w->text[0] = '\0';
    typists[5] = (typist){ widget_ref(w), 'F', 3 };
    eddy_detach(eddy_local_set_spawn_local(set, typist_main, &typists[5]));
    void *wait_rc = NULL;
    rc = eddy_runtime_block_on(rt, phase2, set, &wait_rc);
    printf("  widget: %s\n", w->text);
    check(rc == 0 && INT(wait_rc) == 0 && strcmp(w->text, "F1 F2 F3") == 0,
          "the set ran its task to the end");

    printf("3. the set belongs to this thread\n");
    pthread_t th;
    void *refused = NULL;
    pthread_create(&th, NULL, foreign_thread, set);
    pthread_join(th, &refused);
    check(INT(refused), "eddy_local_set_spawn_local from another thread: EPERM");

    check(w->refs == 1, "every task dropped its widget reference");
    widget_unref(w);
    eddy_local_set_free(set);
    eddy_runtime_free(rt);
    printf("%s\n", failures ? "some checks FAILED" : "all checks passed");
    return failures ? 1 : 0;
}
