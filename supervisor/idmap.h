/* User-namespace id ranges: one 65536-id range per container, allocated from
 * the [userns] pool and persisted so a container keeps its range (and its
 * volumes their owners) across restarts and reboots. */
#ifndef BERTH_IDMAP_H
#define BERTH_IDMAP_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

#define BERTH_USERNS_DIR "/var/lib/berth/userns"

struct berth_idpool {
	uint32_t start; /* first host id of the pool */
	uint32_t count; /* ids in the pool (a multiple of 65536) */
};

/* mkdir -p PATH (the last component with MODE, parents 0755). */
int berth_mkdir_p(const char *path, mode_t mode, struct berth_err *err);

/* Pure: the lowest slot base in POOL not in USED[0..NUSED); 0 and -1 if full. */
int berth_idmap_pick(const struct berth_idpool *pool, const uint32_t *used, size_t nused,
		     uint32_t *base);

/* The base of NAME's range under DIR, allocating and persisting one if NAME has
 * none yet (*FRESH is then set to 1). Serialised with flock on DIR/.lock. */
int berth_idmap_get(const char *dir, const char *name, const struct berth_idpool *pool,
		    uint32_t *base, int *fresh, struct berth_err *err);
/* Forget NAME's range (the unit was removed). */
int berth_idmap_release(const char *dir, const char *name, struct berth_err *err);

struct berth_container;
/* From the parent: write C's uid_map and gid_map for process PID: the explicit
 * UIDMap/GIDMap lines, or container ids 0..65535 to C->uid_base.. */
int berth_idmap_write(pid_t pid, const struct berth_container *c, struct berth_err *err);

#endif
