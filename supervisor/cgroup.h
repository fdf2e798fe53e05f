/* The container's cgroup under the default container parent. */
#ifndef BERTH_CGROUP_H
#define BERTH_CGROUP_H

#include <stdint.h>

#include "container.h"

#define BERTH_CGROUP_PARENT "/sys/fs/cgroup/berth"

/* Create BERTH_CGROUP_PARENT/NAME with C's limits and return an O_DIRECTORY fd
 * for clone3(CLONE_INTO_CGROUP); PATH receives the directory. A populated
 * cgroup of that name is an error ("already running"); an empty one is reused. */
int berth_cgroup_create(const struct berth_container *c, char *path, size_t pathlen,
			struct berth_err *err);
/* Kill whatever is left in PATH and remove it, waiting (bounded) for it to empty. */
int berth_cgroup_remove(const char *path, struct berth_err *err);

/* A number from NAME's cgroup file FILE: the whole file, or the value after
 * KEY ("usage_usec " in cpu.stat). -2 for "max", -1 when unreadable. */
int64_t berth_cgroup_read(const char *name, const char *file, const char *key);

#endif
