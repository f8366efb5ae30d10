/* The SIGSEGV/SIGBUS handler that recognises task stack overflows. It runs
 * on a per-thread alternate signal stack, since the faulting stack has no
 * room left. Faults that are not overflows go to the handler that was
 * installed before eddy's (a sanitizer's, or the default action). */
#include "task/overflow.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "task/thread.h"

#define ALTSTACK_SIZE (64 * 1024)

static struct sigaction prev_segv, prev_bus;
static pthread_once_t install_once = PTHREAD_ONCE_INIT;
static pthread_key_t altstack_key;
static _Thread_local void *tls_altstack;

static void put_str(char *buf, size_t *len, size_t cap, const char *s)
{
    while (*s && *len < cap)
        buf[(*len)++] = *s++;
}

static void put_u64(char *buf, size_t *len, size_t cap, uint64_t v)
{
    char digits[24];
    int n = 0;
    do {
        digits[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n && *len < cap)
        buf[(*len)++] = digits[--n];
}

_Noreturn void eddy__overflow_report(const eddy_task *t)
{
    char buf[512];
    size_t len = 0;
    put_str(buf, &len, sizeof buf, "eddy: stack overflow in task '");
    put_str(buf, &len, sizeof buf, t->named ? t->name : "(unnamed)");
    put_str(buf, &len, sizeof buf, "' (id ");
    put_u64(buf, &len, sizeof buf, t->id);
    put_str(buf, &len, sizeof buf, ", stack ");
    put_u64(buf, &len, sizeof buf, t->stack ? t->stack->size : 0);
    put_str(buf, &len, sizeof buf,
            " bytes); spawn it with a larger eddy_spawn_opts.stack_size\n");
    ssize_t ignored = write(STDERR_FILENO, buf, len);
    (void)ignored;
    abort();
}

static void chain(const struct sigaction *prev, int sig, siginfo_t *si, void *uc)
{
    if ((prev->sa_flags & SA_SIGINFO) && prev->sa_sigaction) {
        prev->sa_sigaction(sig, si, uc);
    } else if (prev->sa_handler != SIG_DFL && prev->sa_handler != SIG_IGN) {
        prev->sa_handler(sig);
    } else {
        /* Re-executing the faulting instruction now takes the default
         * action: the crash the program would have had without eddy. */
        signal(sig, SIG_DFL);
    }
}

static void on_fault(int sig, siginfo_t *si, void *uc)
{
    eddy_task *t = eddy__thread()->task;
    if (t && t->stack && eddy__stack_fault_is_overflow(t->stack, si->si_addr))
        eddy__overflow_report(t);
    chain(sig == SIGSEGV ? &prev_segv : &prev_bus, sig, si, uc);
}

static void altstack_thread_exit(void *mem)
{
    stack_t off = { .ss_flags = SS_DISABLE };
    sigaltstack(&off, NULL);
    munmap(mem, ALTSTACK_SIZE);
}

static void install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGSEGV, &sa, &prev_segv);
    sigaction(SIGBUS, &sa, &prev_bus);
    pthread_key_create(&altstack_key, altstack_thread_exit);
}

void eddy__overflow_thread_init(void)
{
    pthread_once(&install_once, install);
    if (tls_altstack)
        return;
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && !(cur.ss_flags & SS_DISABLE)) {
        tls_altstack = cur.ss_sp; /* the thread (or a sanitizer) has one */
        return;
    }
    void *mem = mmap(NULL, ALTSTACK_SIZE, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return; /* overflows then end in a plain SIGSEGV */
    stack_t ss = { .ss_sp = mem, .ss_size = ALTSTACK_SIZE, .ss_flags = 0 };
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(mem, ALTSTACK_SIZE);
        return;
    }
    tls_altstack = mem;
    pthread_setspecific(altstack_key, mem);
}
