/* berth-init stage 2 (/sbin/init on the read-only root, PID 1): the host's
 * mounts, cgroup2 tree, sysctl hardening, hostname and loopback, then hand over
 * to supervision. Each step logs its failure and boot goes on: an appliance that
 * powers off over a missing sysctl is worse than one that boots and says so. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "init.h"

#define CGROUP_ROOT "/sys/fs/cgroup"
#define CONTROLLERS "+cpu +memory +pids +io"
#define TMPFS_MAGIC_ 0x01021994

static void mount_api_filesystems(void)
{
	const unsigned long nsde = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	init_mount_kernel_fs();
	init_mount("devpts", "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC,
		   "newinstance,ptmxmode=0666,mode=0620,gid=5");
	init_mount("tmpfs", "/dev/shm", "tmpfs", nsde, "mode=1777");
	init_mount("tmpfs", "/run", "tmpfs", nsde, "mode=0755");
	init_mount("tmpfs", "/tmp", "tmpfs", nsde, "mode=1777");
	/* nsdelegate: a cgroup namespace is a delegation boundary for containers. */
	init_mount("cgroup2", CGROUP_ROOT, "cgroup2", nsde, "nsdelegate");
	symlink("pts/ptmx", "/dev/ptmx");
	symlink("/proc/self/fd", "/dev/fd");
	symlink("/proc/self/fd/0", "/dev/stdin");
	symlink("/proc/self/fd/1", "/dev/stdout");
	symlink("/proc/self/fd/2", "/dev/stderr");
}

/* Write VALUE to CGROUP_ROOT/REL, or with VALUE NULL create the directory REL. */
static void cg(const char *rel, const char *value)
{
	char path[256];

	snprintf(path, sizeof(path), CGROUP_ROOT "/%s", rel);
	int r = value ? init_write_file(path, value) : mkdir(path, 0755);

	if (r < 0 && (value || errno != EEXIST))
		init_log(LOG_ERR_, "cgroup: %s %s: %s", value ? value : "mkdir", path, strerror(errno));
}

/* berth/ holds one child per container; system/ one per host service. Both
 * delegate the controllers to their children, so neither holds processes itself. */
static void setup_cgroups(const struct init_conf *conf)
{
	char pids[32];

	cg("cgroup.subtree_control", CONTROLLERS);
	cg("berth", NULL);
	cg("system", NULL);
	if (conf->parent_pids_max < 0)
		snprintf(pids, sizeof(pids), "max");
	else
		snprintf(pids, sizeof(pids), "%ld", conf->parent_pids_max);
	cg("berth/pids.max", pids);
	cg("berth/cgroup.subtree_control", CONTROLLERS);
	cg("system/cgroup.subtree_control", CONTROLLERS);
	init_log(LOG_INFO_, "cgroup2: berth/pids.max=%s", pids);
}

struct sysctl_ctx {
	const char *list;
	int applied;
};

/* One sysctl.conf line; returns 1 for a failure. */
static int apply_sysctl(void *arg, const char *line, int lineno)
{
	struct sysctl_ctx *sc = arg;
	char path[256], value[256], data[258];
	int optional, r = line ? init_sysctl_parse_line(line, path, sizeof(path), value, sizeof(value),
							&optional) : -1;

	if (r == 0)
		return 0;
	if (r < 0) {
		init_log(LOG_ERR_, "sysctl: %s:%d: malformed or over-long line", sc->list, lineno);
		return 1;
	}
	/* With the newline, as sysctl(8) writes: some handlers insist on it. */
	snprintf(data, sizeof(data), "%s\n", value);
	if (init_write_file(path, data) == 0) {
		sc->applied++;
		return 0;
	}
	if (optional && errno == ENOENT)
		return 0;
	init_log(LOG_ERR_, "sysctl: %s:%d: %s = %s: %s", sc->list, lineno, path, value, strerror(errno));
	return 1;
}

static void apply_sysctls(const char *list)
{
	struct sysctl_ctx sc = { list, 0 };
	int failed = init_each_line(list, apply_sysctl, &sc);

	if (failed < 0)
		init_log(LOG_ERR_, "sysctl: %s: %s", list, strerror(errno));
	else
		init_log(failed ? LOG_ERR_ : LOG_INFO_, "sysctl: %d applied, %d failed", sc.applied, failed);
}

static void set_hostname(void)
{
	char name[65];
	long n = init_read_file("/etc/hostname", name, sizeof(name));

	if (n < 0)
		n = snprintf(name, sizeof(name), "berth");
	name[strcspn(name, " \t\r\n")] = '\0';
	if (sethostname(name, strlen(name)) < 0)
		init_log(LOG_ERR_, "sethostname %s: %s", name, strerror(errno));
}

static void loopback_up(void)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(fd, SIOCSIFFLAGS, &ifr) < 0))
		init_log(LOG_ERR_, "loopback up: %s", strerror(errno));
	if (fd >= 0)
		close(fd);
}

/* berthd and the runtime create their own state directories; PID 1 only says
 * loudly, once more, when /var will not keep them. */
static void warn_volatile_var(void)
{
	struct statfs sfs;

	if (statfs("/var", &sfs) == 0 && sfs.f_type == TMPFS_MAGIC_)
		init_log(LOG_CRIT_, "WARNING: /var is a tmpfs: state, units and logs are lost at reboot");
}

_Noreturn void init_stage2(void)
{
	struct init_conf conf;
	char cmdline[4096], err[512];

	/* Ctrl-Alt-Del becomes SIGINT to us instead of an immediate reboot. */
	reboot(RB_DISABLE_CAD);
	umask(022);
	mount_api_filesystems();
	init_log(LOG_INFO_, "stage 2 (PID 1) starting, version " BERTH_VERSION);
	if (init_read_file("/proc/cmdline", cmdline, sizeof(cmdline)) < 0)
		cmdline[0] = '\0';
	if (init_load_modules("/etc/berth/modules", "/lib/modules/berth", 0) > 0)
		init_log(LOG_ERR_, "some modules failed to load");
	if (init_conf_load(INIT_CONF_PATH, &conf, err, sizeof(err)) < 0)
		init_log(LOG_ERR_, "%s (ParentPidsMax stays %ld)", err, conf.parent_pids_max);
	setup_cgroups(&conf);
	apply_sysctls("/etc/berth/sysctl.conf");
	set_hostname();
	loopback_up();
	warn_volatile_var();
	init_supervise_start(cmdline);
	init_supervise_loop();
}
