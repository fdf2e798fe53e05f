/* The container's filesystem view: the image root (idmapped where the
 * filesystem allows), /proc, /sys, a minimal /dev, tmpfs /tmp and /run,
 * volumes, Docker's masked and read-only paths, then pivot_root. */
#ifndef BERTH_MOUNTS_H
#define BERTH_MOUNTS_H

/* Where a container's child attaches its root in its own mount namespace: an
 * empty directory every container process can reach (the parent makes it). */
#define BERTH_ROOT_MOUNT "/run/berth/root"

#include "container.h"

/* Parent: a detached copy of C->rootfs, idmapped to USERNS_FD (container root
 * owns the image's root-owned files), read-only and nodev. With C->readonly 0
 * the child lays a tmpfs-backed overlay over it (berth_mounts_setup).
 * Where the filesystem cannot idmap, the copy is plain and *IDMAPPED is 0. */
int berth_rootfs_open(const struct berth_container *c, int userns_fd, int *idmapped,
		      struct berth_err *err);

/* Parent: a detached recursive copy of volume V's source (no symlinks followed
 * on the way), nosuid, nodev and, unless V is writable, read-only throughout. */
int berth_volume_open(const struct berth_volume *v, struct berth_err *err);

/* Parent: a named volume's directory is made on first use, owned by the
 * container's root (its host id under C's map), mode 0755. Others: nothing. */
int berth_volume_prepare(const struct berth_container *c, const struct berth_volume *v,
			 struct berth_err *err);

/* Child, inside its user and mount namespaces: build the tree on ROOTFD (and
 * VOLFDS, one per volume from berth_volume_open, then one per runtime file
 * of FILES, berth_container_files) and pivot into it. On return the process
 * is in the new root at "/". */
int berth_mounts_setup(const struct berth_container *c, int rootfd, const int *volfds,
		       const struct berth_volume *files, int nfiles, struct berth_err *err);

#endif
