/** @file
 * eddy — shared definitions for every public header.
 *
 * Conventions used throughout the API:
 *  - Operations return int (or ssize_t for byte counts): 0 or a count on
 *    success, a negative errno value on failure (-ECANCELED, -EPERM, ...).
 *  - Constructors return a pointer, or NULL with errno set.
 *  - Every suspending call may return -ECANCELED once its task is aborted.
 *  - Option structs are zero-initialisable; a zero field means "the default".
 */
#ifndef EDDY_COMMON_H
#define EDDY_COMMON_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Marks the functions the shared library exports (the public API). */
#if defined(EDDY_BUILDING_LIBRARY) && defined(__GNUC__)
#define EDDY_API __attribute__((visibility("default")))
#else
#define EDDY_API
#endif

#define EDDY_VERSION_MAJOR 0 /**< Major version: incompatible API changes. */
#define EDDY_VERSION_MINOR 1 /**< Minor version: compatible additions. */
#define EDDY_VERSION_PATCH 0 /**< Patch version: fixes. */

/** The body of a task: runs on the task's own stack; its return value is what
 * eddy_join() hands back. */
typedef void *(*eddy_task_fn)(void *arg);

/** Describes an error code returned by eddy (negative or positive errno value).
 * Never returns NULL. Any thread. */
EDDY_API const char *eddy_strerror(int err);

/** The library's version as "MAJOR.MINOR.PATCH". Any thread. */
EDDY_API const char *eddy_version(void);

#ifdef __cplusplus
}
#endif

#endif /* EDDY_COMMON_H */
