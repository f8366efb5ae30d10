/* db.h — the key space: binary-safe string keys mapped to string values,
 * each with an optional expiry time.
 *
 * One plain hash table shared by every connection task with no lock at
 * all: the LocalRuntime runs all of them on this one thread, and a task
 * only loses the CPU inside an eddy call that suspends, never in the
 * middle of a db_* function. That is the point of the example.
 *
 * Expiry works two ways, as in Redis: a key reads as absent from the
 * moment its deadline is reached (checked on every access), and one
 * background task (db_expiry_task) sleeps on eddy's timer until the
 * earliest deadline and deletes the keys that are due, so expired keys do
 * not hold memory for ever. */
#ifndef MINI_REDIS_DB_H
#define MINI_REDIS_DB_H

#include <eddy.h>
#include <stdbool.h>

#include "util.h"

/* Sets up the key space; must be called on the runtime's thread (its
 * Notify is a local one). */
void db_init(void);
/* Frees every key; after the runtime (and so the expiry task) has ended. */
void db_free(void);

/* The expiry task: deletes keys as their deadlines pass. Spawn it once; it
 * runs until it is cancelled (at runtime shutdown). */
void *db_expiry_task(void *arg);

/* Looks a key up; the value stays valid until the next db_* call. */
bool db_get(slice key, slice *val);
/* Sets a key to a value; `expires` is an eddy_instant deadline, or 0 for a
 * key that never expires. Replaces any previous value and expiry. */
void db_set(slice key, slice val, eddy_instant expires);
/* Deletes a key; true if it existed. */
bool db_del(slice key);
bool db_exists(slice key);
/* Adds `by` to the integer stored at key (a missing key counts as 0), and
 * stores the result in *result. Returns 0, -EINVAL when the value is not
 * an integer, -ERANGE when the result would overflow. Keeps the expiry. */
int db_incr(slice key, long long by, long long *result);

#endif
