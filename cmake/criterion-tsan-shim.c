/* Linked into the tests of ThreadSanitizer builds on x86_64 only (see
 * CMakeLists.txt); not part of the library.
 *
 * Criterion 2.4 (through BoxFort) maps its inheritable arena at
 *     0x200000000000 + ((rand_r() & 0x3fffff) << 24)
 * and gives up after 10 tries. ThreadSanitizer reserves nearly all of that
 * range for its shadow and metadata; only [0x550000000000, 0x568000000000),
 * where PIE executables are loaded, is application memory. So a TSan test
 * binary usually aborts with "Could not initialize inheritable arena"
 * (upstream: Snaipe/Criterion issue 274).
 *
 * This rand_r takes precedence over libc's for libcriterion, and when called
 * from libcriterion returns a value that puts the arena in
 * [0x566000000000, 0x568000000000): TSan application memory above where the
 * executable and its heap are placed (PIE base 0x555555554000 plus at most
 * 2^40 bytes of randomisation). Any other caller gets libc's rand_r. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

int rand_r(unsigned int *seed);

static int called_from_criterion(const void *ret)
{
    Dl_info info;
    return dladdr(ret, &info) && info.dli_fname
        && strstr(info.dli_fname, "libcriterion") != NULL;
}

int rand_r(unsigned int *seed)
{
    static int (*real_rand_r)(unsigned int *);
    if (!real_rand_r)
        real_rand_r = (int (*)(unsigned int *))dlsym(RTLD_NEXT, "rand_r");
    int r = real_rand_r(seed);
    if (called_from_criterion(__builtin_return_address(0)))
        r = 0x366000 + (r & 0x1fff);
    return r;
}
