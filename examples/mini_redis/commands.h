/* commands.h — the Redis commands mini-redis understands. */
#ifndef MINI_REDIS_COMMANDS_H
#define MINI_REDIS_COMMANDS_H

#include <stddef.h>

#include "conn.h"
#include "util.h"

/* Executes one command (argv[0] is its name, any case) for connection c
 * and appends the reply to c->out. Never suspends: a command runs from
 * start to end without any other task running in between, which is what
 * makes the lock-free key space safe. */
void commands_exec(conn *c, size_t argc, const slice *argv);

#endif
