/* Stack overflow detection: a fault in the guard page below the running
 * task's stack (or, unguarded, a task suspending with its stack pointer
 * below its stack) ends the process
 * with a message naming the task, instead of corrupting memory silently. */
#ifndef EDDY_TASK_OVERFLOW_H
#define EDDY_TASK_OVERFLOW_H

#include "task/task.h"

/* Installs the fault handler (once per process) and an alternate signal
 * stack for the calling thread (once per thread), so that the handler can
 * run when a task's stack is exhausted. Called by every thread that starts
 * driving tasks. */
void eddy__overflow_thread_init(void);

/* Writes the overflow message for t and aborts. Async-signal-safe. */
_Noreturn void eddy__overflow_report(const eddy_task *t);

#endif /* EDDY_TASK_OVERFLOW_H */
