/* Mount setup of a container, in the order runc and crun use: everything is
 * mounted under the new root first, masked and read-only paths last, then
 * pivot_root and the old root detached. All of it happens in the container's
 * own mount namespace, so nothing is left on the host when it ends. */
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* <linux/mount.h> and musl's <sys/mount.h> clash; declare the two calls we use. */
extern int mount(const char *, const char *, const char *, unsigned long, const void *);
extern int umount2(const char *, int);
#ifndef MNT_DETACH
#define MNT_DETACH 2
#endif

#include "idmap.h"
#include "mounts.h"

#define NOSUID MS_NOSUID
#define NODEV MS_NODEV
#define NOEXEC MS_NOEXEC

/* Docker's masked paths (moby DefaultLinuxSpec) and read-only paths. */
static const char *const masked_paths[] = {
	"proc/acpi",	    "proc/asound",	  "proc/interrupts", "proc/kcore",
	"proc/keys",	    "proc/latency_stats", "proc/sched_debug", "proc/scsi",
	"proc/timer_list",  "proc/timer_stats",	  "sys/devices/virtual/powercap",
	"sys/firmware",
};
static const char *const readonly_paths[] = {
	"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};
static const char *const devices[] = { "null", "zero", "full", "random", "urandom", "tty" };

int berth_rootfs_open(const struct berth_container *c, int userns_fd, int *idmapped,
		      struct berth_err *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NODEV | MOUNT_ATTR_IDMAP,
				   .userns_fd = (uint64_t)userns_fd };
	int fd = (int)syscall(SYS_open_tree, AT_FDCWD, c->rootfs,
			      OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);

	if (fd < 0)
		return berth_err_sys(err, "open_tree %s", c->rootfs);
	/* Read-only either way: with ReadOnly=no it is the overlay's lower layer. */
	attr.attr_set |= MOUNT_ATTR_RDONLY;
	*idmapped = 1;
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		/* EINVAL: this filesystem cannot idmap (tmpfs before 6.3, overlay):
		 * the image's files then show as nobody inside. */
		if (errno != EINVAL)
			goto fail;
		attr.attr_set &= ~(uint64_t)MOUNT_ATTR_IDMAP;
		attr.userns_fd = 0;
		*idmapped = 0;
		if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0)
			goto fail;
	}
	return fd;
fail:
	berth_err_sys(err, "mount_setattr %s", c->rootfs);
	close(fd);
	return -1;
}

/* The image decides what its paths are: refuse a mount target that is, or
 * passes through, a symlink, so no mount lands outside the new root. REL is
 * relative to the new root (the current directory). */
static int check_target(const char *rel, struct berth_err *err)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s", rel);
	for (char *p = path;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (lstat(path, &st) < 0)
				return berth_err_sys(err, "mount point /%s", path);
			if (S_ISLNK(st.st_mode))
				return berth_err_set(err, ELOOP, "mount point /%s is a symlink", path);
			*p = saved;
			if (!saved)
				return 0;
		}
	}
}

static int mnt(const char *src, const char *rel, const char *type, unsigned long flags,
	       const char *data, struct berth_err *err)
{
	if (check_target(rel, err) < 0)
		return -1;
	if (mount(src, rel, type, flags, data) < 0)
		return berth_err_sys(err, "mount %s on /%s", type ? type : src, rel);
	return 0;
}

/* Bind REL onto itself and make it read-only, keeping the flags the kernel
 * locks on mounts inherited from a more privileged namespace. */
static int make_readonly(const char *rel, struct berth_err *err)
{
	struct stat st;

	if (lstat(rel, &st) < 0)
		return errno == ENOENT ? 0 : berth_err_sys(err, "read-only path /%s", rel);
	if (mount(rel, rel, NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    mount(NULL, rel, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | NOSUID | NODEV | NOEXEC, NULL) < 0)
		return berth_err_sys(err, "read-only path /%s", rel);
	return 0;
}

/* Hide REL: /dev/null over a file, an empty read-only tmpfs over a directory. */
static int mask(const char *rel, struct berth_err *err)
{
	struct stat st;
	int r;

	if (lstat(rel, &st) < 0)
		return errno == ENOENT ? 0 : berth_err_sys(err, "masked path /%s", rel);
	if (S_ISDIR(st.st_mode))
		r = mount("tmpfs", rel, "tmpfs", MS_RDONLY | NOSUID | NODEV | NOEXEC, "size=0,mode=0555");
	else
		r = mount("dev/null", rel, NULL, MS_BIND, NULL);
	return r < 0 ? berth_err_sys(err, "mask /%s", rel) : 0;
}

static int setup_dev(struct berth_err *err)
{
	static const char *const links[][2] = {
		{ "pts/ptmx", "dev/ptmx" },	   { "/proc/self/fd", "dev/fd" },
		{ "/proc/self/fd/0", "dev/stdin" }, { "/proc/self/fd/1", "dev/stdout" },
		{ "/proc/self/fd/2", "dev/stderr" },
	};
	char src[32], dst[32];

	if (mnt("tmpfs", "dev", "tmpfs", NOSUID | NOEXEC, "mode=0755,size=64k", err) < 0)
		return -1;
	/* No mknod in a user namespace: bind the host's nodes (runc does the same). */
	for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
		int fd;

		snprintf(src, sizeof(src), "/dev/%s", devices[i]);
		snprintf(dst, sizeof(dst), "dev/%s", devices[i]);
		fd = open(dst, O_WRONLY | O_CREAT | O_CLOEXEC, 0666);
		if (fd < 0)
			return berth_err_sys(err, "create /%s", dst);
		close(fd);
		if (mount(src, dst, NULL, MS_BIND, NULL) < 0)
			return berth_err_sys(err, "bind %s", src);
	}
	for (size_t i = 0; i < sizeof(links) / sizeof(links[0]); i++)
		if (symlink(links[i][0], links[i][1]) < 0)
			return berth_err_sys(err, "symlink /%s", links[i][1]);
	if (mkdir("dev/pts", 0755) < 0 || mkdir("dev/shm", 01777) < 0 || mkdir("dev/mqueue", 0755) < 0)
		return berth_err_sys(err, "mkdir in /dev");
	if (mnt("devpts", "dev/pts", "devpts", NOSUID | NOEXEC,
		"newinstance,ptmxmode=0666,mode=0620,gid=5", err) < 0 ||
	    mnt("shm", "dev/shm", "tmpfs", NOSUID | NODEV | NOEXEC, "mode=1777,size=65536k", err) < 0 ||
	    mnt("mqueue", "dev/mqueue", "mqueue", NOSUID | NODEV | NOEXEC, NULL, err) < 0)
		return -1;
	return 0;
}

int berth_volume_open(const struct berth_volume *v, struct berth_err *err)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					       (v->writable ? 0 : MOUNT_ATTR_RDONLY) |
					       (v->noexec ? MOUNT_ATTR_NOEXEC : 0) };
	int src, fd;

	/* No symlink anywhere in the source: a directory another container can
	 * write must not be able to point a later volume at the host's tree. */
	src = (int)syscall(SYS_openat2, AT_FDCWD, v->source, &how, sizeof(how));
	if (src < 0)
		return berth_err_sys(err, "volume %s: source %s", v->target, v->source);
	fd = (int)syscall(SYS_open_tree, src, "", AT_EMPTY_PATH | OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC |
						      AT_RECURSIVE);
	close(src);
	if (fd < 0)
		return berth_err_sys(err, "volume %s: open_tree %s", v->target, v->source);
	/* Recursive: a read-only volume's submounts are read-only too. */
	if (syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
		close(fd);
		return berth_err_sys(err, "volume %s: mount_setattr", v->target);
	}
	return fd;
}

int berth_volume_prepare(const struct berth_container *c, const struct berth_volume *v,
			 struct berth_err *err)
{
	int n;
	const struct berth_idmap_line *um = berth_container_idmap(c, 0, &n);
	const struct berth_idmap_line *gm;
	uid_t uid = c->uid_base;
	gid_t gid = c->uid_base;

	if (!v->named)
		return 0;
	if (berth_mkdir_p(BERTH_VOLUMES_DIR, 0700, err) < 0)
		return -1;
	int fd;

	if (mkdir(v->source, 0755) < 0) {
		if (errno == EEXIST)
			return 0;
		return berth_err_sys(err, "volume %s: mkdir %s", v->target, v->source);
	}
	/* Explicit maps: the host id of container id 0, or leave it root's. */
	for (int i = 0; n && i < n; i++)
		if (um[i].inside == 0)
			uid = um[i].outside;
	gm = berth_container_idmap(c, 1, &n);
	for (int i = 0; n && i < n; i++)
		if (gm[i].inside == 0)
			gid = gm[i].outside;
	/* The directory itself, never what a symlink put in its place points to. */
	fd = open(v->source, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0 || fchown(fd, uid, gid) < 0) {
		berth_err_sys(err, "volume %s: chown %s", v->target, v->source);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Attach each volume's prepared mount at its target, resolved inside the new
 * root with no symlinks followed (earlier rw volumes may be the container's);
 * then the runtime's files (FILES): the init on a file made for it in the
 * container's own /run, /etc/hosts and /etc/resolv.conf over the image's. */
static int setup_volumes(const struct berth_container *c, const int *volfds,
			 const struct berth_volume *files, int nfiles, struct berth_err *err)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int root = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (root < 0)
		return berth_err_sys(err, "open the new root");
	for (int i = 0; i < c->nvolumes + nfiles; i++) {
		const struct berth_volume *v = i < c->nvolumes ? &c->volumes[i] : &files[i - c->nvolumes];
		int t;

		if (i >= c->nvolumes && strncmp(v->target, "/run/", 5) == 0) {
			int f = openat(root, v->target + 1, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				       0500);

			if (f < 0) {
				close(root);
				return berth_err_sys(err, "create %s", v->target);
			}
			close(f);
		}
		t = (int)syscall(SYS_openat2, root, v->target + 1, &how, sizeof(how));
		if (t < 0 || syscall(SYS_move_mount, volfds[i], "", t, "",
				     MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
			berth_err_sys(err, "volume %s: %s", v->target, t < 0 ? "mount point" : "attach");
			if (t >= 0)
				close(t);
			close(root);
			return -1;
		}
		close(t);
	}
	close(root);
	return 0;
}

/* Tmpfs= mounts: made with the new mount API (nosuid, nodev, bounded size) and
 * attached at their targets resolved inside the new root, no symlinks followed. */
static int setup_tmpfs(const struct berth_container *c, struct berth_err *err)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };

	for (int i = 0; i < c->ntmpfs; i++) {
		const struct berth_tmpfs *t = &c->tmpfs[i];
		char size[32], mode[16];
		int fs = -1, mnt = -1, target = -1, r = -1;

		snprintf(size, sizeof(size), "%lld", (long long)t->size);
		snprintf(mode, sizeof(mode), "%o", t->mode);
		fs = (int)syscall(SYS_fsopen, "tmpfs", FSOPEN_CLOEXEC);
		if (fs < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "size", size, 0) < 0 ||
		    syscall(SYS_fsconfig, fs, FSCONFIG_SET_STRING, "mode", mode, 0) < 0 ||
		    syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
			berth_err_sys(err, "tmpfs %s: create", t->target);
		else if ((mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC,
					     MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV)) < 0)
			berth_err_sys(err, "tmpfs %s: fsmount", t->target);
		else if ((target = (int)syscall(SYS_openat2, AT_FDCWD, t->target + 1, &how, sizeof(how))) < 0)
			berth_err_sys(err, "tmpfs %s: mount point", t->target);
		else if (syscall(SYS_move_mount, mnt, "", target, "",
				 MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
			berth_err_sys(err, "tmpfs %s: attach", t->target);
		else
			r = 0;
		for (int *fd = (int[]){ fs, mnt, target }, k = 0; k < 3; k++)
			if (fd[k] >= 0)
				close(fd[k]);
		if (r < 0)
			return -1;
	}
	return 0;
}

/* ReadOnly=no: an overlay whose lower layer is the (idmapped, read-only)
 * image and whose upper layer is a tmpfs private to this container, so writes
 * succeed and vanish with it. Overlayfs cannot be idmapped itself, but it takes
 * idmapped lower layers. The tmpfs is staged on the image's own /tmp mount
 * point (a mount over the read-only image, not a write into it): overlayfs
 * keeps private clones of its layers, and the staging place disappears with
 * the old root after pivot_root. No path of the host is covered. */
static int setup_overlay(struct berth_err *err)
{
	char stage[300], opts[1000];

	if (snprintf(stage, sizeof(stage), "%s/tmp", BERTH_ROOT_MOUNT) >= (int)sizeof(stage) ||
	    snprintf(opts, sizeof(opts), "lowerdir=%s,upperdir=%s/upper,workdir=%s/work", BERTH_ROOT_MOUNT, stage,
		     stage) >= (int)sizeof(opts))
		return berth_err_set(err, ENAMETOOLONG, "overlay options");
	if (chdir(BERTH_ROOT_MOUNT) < 0 || check_target("tmp", err) < 0)
		return -1;
	if (mount("tmpfs", stage, "tmpfs", NOSUID | NODEV, "mode=0755,size=512m") < 0)
		return berth_err_sys(err, "mount the overlay's tmpfs");
	if (chdir(stage) < 0 || mkdir("upper", 0755) < 0 || mkdir("work", 0755) < 0)
		return berth_err_sys(err, "overlay directories");
	if (mount("overlay", BERTH_ROOT_MOUNT, "overlay", NODEV, opts) < 0)
		return berth_err_sys(err, "mount overlay on the image");
	return 0;
}

/* A sysfs instance belongs to the network namespace of whoever mounts it,
 * and the kernel lets only a process privileged over that namespace mount
 * one: a container on the host's or another container's stack gets the
 * host's /sys bound read-only instead (as runc and crun do). Its /sys/fs
 * (the host's cgroup tree, bpf, pstore) is covered by an empty read-only
 * tmpfs holding only the mount point of the container's own cgroup2 (which
 * the kernel will not mount over the host's: same superblock). */
static int setup_sys(const struct berth_container *c, struct berth_err *err)
{
	struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
					       MOUNT_ATTR_NOEXEC };

	if (c->net.ns == BERTH_NETNS_OWN)
		return mnt("sysfs", "sys", "sysfs", MS_RDONLY | NOSUID | NODEV | NOEXEC, NULL, err);
	if (check_target("sys", err) < 0)
		return -1;
	if (mount("/sys", "sys", NULL, MS_BIND | MS_REC, NULL) < 0 ||
	    syscall(SYS_mount_setattr, AT_FDCWD, "sys", AT_RECURSIVE, &attr, sizeof(attr)) < 0)
		return berth_err_sys(err, "bind the host's /sys read-only");
	if (check_target("sys/fs", err) < 0)
		return -1;
	if (mount("tmpfs", "sys/fs", "tmpfs", NOSUID | NODEV | NOEXEC, "mode=0755,size=4k") < 0 ||
	    mkdir("sys/fs/cgroup", 0755) < 0 ||
	    mount(NULL, "sys/fs", NULL, MS_REMOUNT | MS_RDONLY | NOSUID | NODEV | NOEXEC, NULL) < 0)
		return berth_err_sys(err, "cover the host's /sys/fs");
	return 0;
}

int berth_mounts_setup(const struct berth_container *c, int rootfd, const int *volfds,
		       const struct berth_volume *files, int nfiles, struct berth_err *err)
{
	/* Nothing we mount may propagate back to the host. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return berth_err_sys(err, "make / private");
	/* Attached on a neutral empty directory of this (private) mount
	 * namespace, not on the image's own path: the child, already in its
	 * user namespace, need not be able to reach where the image lives
	 * (the image store is root's alone, 0700). */
	if (syscall(SYS_move_mount, rootfd, "", AT_FDCWD, BERTH_ROOT_MOUNT, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return berth_err_sys(err, "attach the root filesystem");
	if (!c->readonly && setup_overlay(err) < 0)
		return -1;
	if (chdir(BERTH_ROOT_MOUNT) < 0)
		return berth_err_sys(err, "chdir %s", BERTH_ROOT_MOUNT);
	if (mnt("proc", "proc", "proc", NOSUID | NODEV | NOEXEC, NULL, err) < 0 ||
	    setup_sys(c, err) < 0 ||
	    mnt("cgroup2", "sys/fs/cgroup", "cgroup2", MS_RDONLY | NOSUID | NODEV | NOEXEC, NULL, err) < 0 ||
	    setup_dev(err) < 0 ||
	    /* Bounded: tmpfs pages are charged to the container's memory cgroup,
	     * but memory.max is unlimited unless the unit sets MemoryMax=. */
	    mnt("tmpfs", "tmp", "tmpfs", NOSUID | NODEV, "mode=1777,size=256m", err) < 0 ||
	    mnt("tmpfs", "run", "tmpfs", NOSUID | NODEV | NOEXEC, "mode=0755,size=64m", err) < 0 ||
	    setup_volumes(c, volfds, files, nfiles, err) < 0 || setup_tmpfs(c, err) < 0)
		return -1;
	for (size_t i = 0; i < sizeof(masked_paths) / sizeof(masked_paths[0]); i++)
		if (mask(masked_paths[i], err) < 0)
			return -1;
	/* Docker also masks each CPU's thermal_throttle (GHSA-6fw5-f8r9-fgfm). */
	for (int cpu = 0; cpu < 4096; cpu++) {
		char path[64];
		struct stat st;

		snprintf(path, sizeof(path), "sys/devices/system/cpu/cpu%d", cpu);
		if (lstat(path, &st) < 0)
			break;
		snprintf(path, sizeof(path), "sys/devices/system/cpu/cpu%d/thermal_throttle", cpu);
		if (mask(path, err) < 0)
			return -1;
	}
	for (size_t i = 0; i < sizeof(readonly_paths) / sizeof(readonly_paths[0]); i++)
		if (make_readonly(readonly_paths[i], err) < 0)
			return -1;
	/* pivot_root(".", "."): the old root ends up on top; detach it. */
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return berth_err_sys(err, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return berth_err_sys(err, "detach the old root");
	if (chdir("/") < 0)
		return berth_err_sys(err, "chdir /");
	return 0;
}
