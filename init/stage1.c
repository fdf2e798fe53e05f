/* berth-init stage 1 (/init in the initramfs): load the boot modules, mount the
 * read-only root and the /var disk, switch to the root and exec /sbin/init. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

#define NEWROOT "/sysroot"
#define DEVICE_WAIT_MS 10000

/* virtio devices are probed while their module loads, but a slow host may take a
 * moment to create the node: poll with an upper bound instead of sleeping blindly. */
static int wait_for_device(const char *dev, int64_t timeout_ms)
{
	int64_t deadline = init_now_ms() + timeout_ms;
	struct timespec tick = { 0, 20 * 1000 * 1000 };
	struct stat st;

	while (stat(dev, &st) < 0) {
		if (init_now_ms() >= deadline)
			return -1;
		nanosleep(&tick, NULL);
	}
	return S_ISBLK(st.st_mode) ? 0 : -1;
}

static void cmdline_or(const char *cmdline, const char *key, const char *dflt, char *out,
		       size_t len)
{
	int r = init_cmdline_get(cmdline, key, out, len);

	if (r < 0)
		init_log(LOG_ERR_, "%s=: value too long; using %s", key, dflt);
	if (r != 1 || out[0] == '\0')
		snprintf(out, len, "%s", dflt);
}

static void mount_var(const char *dev)
{
	static const char target[] = NEWROOT "/var";
	const unsigned long flags = MS_NOSUID | MS_NODEV;

	if (strcmp(dev, "none") != 0) {
		/* The var disk enumerates with the root disk: a short wait is plenty. */
		if (wait_for_device(dev, 2000) == 0) {
			if (mount(dev, target, "ext4", flags, NULL) == 0) {
				init_log(LOG_INFO_, "mounted %s on /var (ext4)", dev);
				return;
			}
			init_log(LOG_CRIT_, "cannot mount %s on /var as ext4: %s", dev, strerror(errno));
		} else {
			init_log(LOG_CRIT_, "no /var disk %s", dev);
		}
	}
	init_log(LOG_CRIT_, "WARNING: /var is a tmpfs: NOTHING WRITTEN TO /var SURVIVES A REBOOT");
	if (mount("tmpfs", target, "tmpfs", flags, "mode=0755") < 0)
		init_log(LOG_CRIT_, "mount tmpfs on /var: %s", strerror(errno));
}

_Noreturn void init_stage1(void)
{
	static const char modlist[] = "/etc/berth/modules.boot", moddir[] = "/lib/modules";
	char cmdline[4096], root[256], var[256], fstype[32];
	char *const argv[] = { "/sbin/init", NULL };
	char *const envp[] = { NULL };

	init_mount_kernel_fs();
	init_log(LOG_INFO_, "stage 1 (initramfs) starting");

	if (init_read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = '\0';
	cmdline_or(cmdline, "berth.root", "/dev/vda", root, sizeof(root));
	cmdline_or(cmdline, "berth.rootfstype", "erofs", fstype, sizeof(fstype));
	cmdline_or(cmdline, "berth.var", "/dev/vdb", var, sizeof(var));

	if (init_load_modules(modlist, moddir, 1) > 0)
		init_log(LOG_ERR_, "some boot modules failed to load; trying to mount the root anyway");
	if (wait_for_device(root, DEVICE_WAIT_MS) < 0)
		init_fatal("root device did not appear (berth.root=)");
	if (init_mount(root, NEWROOT, fstype, MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
		init_fatal("cannot mount the root filesystem");
	init_log(LOG_INFO_, "mounted %s on / (%s, read-only)", root, fstype);
	mount_var(var);
	unlink("/init");

	/* Stage 2 mounts its own /proc, /sys and /dev; these belong to the initramfs. */
	umount2("/proc", MNT_DETACH);
	umount2("/sys", MNT_DETACH);
	umount2("/dev", MNT_DETACH);
	if (chdir(NEWROOT) < 0 || mount(".", "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0 ||
	    chdir("/") < 0)
		init_fatal("switch to the root filesystem failed");
	execve(argv[0], argv, envp);
	init_fatal("exec /sbin/init on the root filesystem failed");
}
