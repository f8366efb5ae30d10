/** @file
 * eddy — an async runtime for C, in the mould of Tokio.
 * Include this header to get the whole public API. */
#ifndef EDDY_H
#define EDDY_H

#include "eddy/common.h"
#include "eddy/task.h"
#include "eddy/rt.h"
#include "eddy/time.h"
#include "eddy/sync.h"
#include "eddy/io.h"
#include "eddy/local_set.h"
#include "eddy/net.h"
#include "eddy/fs.h"

#endif /* EDDY_H */
