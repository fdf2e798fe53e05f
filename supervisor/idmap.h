/* User-namespace id ranges: one 65536-id range per container, allocated from
 * the [userns] pool and persisted so a container keeps its range (and its
 * volumes their owners) across restarts and reboots. */
#ifndef BERTH_IDMAP_H
#define BERTH_IDMAP_H

#include <stddef.h>
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

/* A store of one number per name, a file DIR/NAME each, for values a name
 * keeps across restarts and reboots (its id range, its address). */
struct berth_record_rules {
	/* The value for a name that has none: free given the OTHER names' USED
	 * values; -1 with ERR when there is none left. */
	int (*pick)(const void *ctx, const uint32_t *used, size_t nused, uint32_t *value,
		    struct berth_err *err);
	/* NULL, or whether a recorded value still holds (a changed pool): if not,
	 * the name gets a new one. */
	int (*keep)(const void *ctx, uint32_t value);
	const void *ctx;
	const char *what; /* "id range", "address": for messages */
};

/* NAME's value under DIR, picking and persisting one if NAME has none (or one
 * RULES no longer keep): *FRESH is then 1. Serialised with flock on
 * DIR/.lock; a crash leaves no record or a whole one. */
int berth_record_get(const char *dir, const char *name, const struct berth_record_rules *rules,
		     uint32_t *value, int *fresh, struct berth_err *err);
/* NAME's value if it has one (0), without picking one (-1). */
int berth_record_read(const char *dir, const char *name, uint32_t *value);
/* Forget NAME's value. */
int berth_record_release(const char *dir, const char *name, struct berth_err *err);

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
