/* Which sanitizer is compiled in, for gcc and clang alike. */
#ifndef EDDY_ARCH_SANITIZER_H
#define EDDY_ARCH_SANITIZER_H

#if defined(__SANITIZE_ADDRESS__)
#define EDDY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define EDDY_ASAN 1
#endif
#endif

#if defined(__SANITIZE_THREAD__)
#define EDDY_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define EDDY_TSAN 1
#endif
#endif

#endif /* EDDY_ARCH_SANITIZER_H */
