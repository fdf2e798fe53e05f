/* The sandbox berth-image unpacks untrusted archives in (docs/images.md): a
 * child in its own user, mount, network, IPC, UTS and cgroup namespaces, root
 * of a user namespace mapped to a host id range of its own, whose only
 * writable path is one directory (idmapped, so that what it writes as its ids
 * 0..65535 is on disk as 0..65535), inside an otherwise empty read-only root;
 * four capabilities that count in its namespace only (CHOWN, DAC_OVERRIDE,
 * FOWNER, FSETID), no_new_privs, and an allowlist seccomp filter (file calls,
 * memory, exit; everything else fails with EPERM). */
#ifndef BERTH_IMGSANDBOX_H
#define BERTH_IMGSANDBOX_H

#include <stdint.h>

#include "lib/err.h"

/* What runs inside: ROOTFD is the writable directory. 0, or -1 with ERR
 * (sent back to the parent, printable characters only). */
typedef int berth_sandbox_fn(int rootfd, void *arg, struct berth_err *err);

/* Run FN(rootfd, ARG, err) in a sandboxed child whose only writable path is
 * TARGET, seen through an idmapped mount so that its ids 0..65535 are the
 * on-disk ids 0..65535 while the process runs as host ids UID_BASE... (which
 * own nothing anywhere else). SCRATCH is an empty directory. The child keeps
 * the descriptors in KEEP[0..NKEEP) (at the same numbers) and fd 2. Returns 0, or
 * -1 with ERR (the child's own error, if it reported one). */
int berth_sandbox_run(const char *target, const char *scratch, uint32_t uid_base, berth_sandbox_fn *fn, void *arg,
		      const int *keep, int nkeep, struct berth_err *err);

/* Try, from inside a sandbox made in DIR (an empty directory), what it must
 * not do (open a socket, read a host file, write outside its directory,
 * mount, unshare, fork, exec, ptrace, kill, give away unmapped ids) and the
 * one thing it may; a line per probe into REPORT ("ok   socket-inet EPERM").
 * Returns how many did not get the errno they must, or -1 with ERR. */
int berth_sandbox_check(const char *dir, uint32_t uid_base, char *report, size_t len, struct berth_err *err);

#endif
