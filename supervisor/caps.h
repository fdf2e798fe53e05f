/* Capabilities: names, the default set, and applying them in the container. */
#ifndef BERTH_CAPS_H
#define BERTH_CAPS_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

#define BERTH_CAP_MASK(c) (1ULL << (c))

/* Podman's 11 (Docker's 14 minus MKNOD, NET_RAW, AUDIT_WRITE): design.md. */
uint64_t berth_caps_default(void);
/* "CAP_NET_ADMIN", "net_admin" or "NET_ADMIN" -> 12; "ALL" -> -2; unknown -> -1. */
int berth_cap_from_name(const char *name);
/* 12 -> "CAP_NET_ADMIN"; NULL for an unknown number. */
const char *berth_cap_name(int cap);
/* The container's bounding set: (default | add) & ~drop. */
uint64_t berth_caps_bounding(uint64_t add, uint64_t drop);

/* In the container, before execve (after mounts, before seccomp): drop the
 * bounding set to KEEP, switch to UID/GID with GROUPS, set permitted, effective
 * and inheritable (KEEP for uid 0, nothing otherwise), clear ambient. A non-root
 * user also gets SECBIT_NOROOT (locked): no way back to capabilities via uid 0. */
int berth_caps_apply(uint64_t keep, uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
		     struct berth_err *err);

#endif
