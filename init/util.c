/* berth-init: logging to /dev/kmsg, small file helpers, module loading and the
 * fatal path. Nothing here allocates: PID 1 must keep working when memory is short. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "init.h"

static int kmsg_fd = -1;

void init_log_open(void)
{
	if (kmsg_fd >= 0)
		close(kmsg_fd);
	kmsg_fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);
}

void init_log(int prio, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	n = snprintf(buf, sizeof(buf), "<%d>berth-init: ", prio);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	n = (int)strlen(buf);
	buf[n++] = '\n';
	/* /dev/kmsg reaches the console at the kernel's log level; without it
	 * (very early, or /dev gone) fall back to stderr. */
	if (kmsg_fd < 0 || write(kmsg_fd, buf, (size_t)n) < 0) {
		const char *plain = strchr(buf, '>') + 1;

		if (write(STDERR_FILENO, plain, (size_t)(buf + n - plain)) < 0)
			return;
	}
}

int init_write_file(const char *path, const char *data)
{
	size_t len = strlen(data);
	int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, data, len);
	if (w < 0 || (size_t)w != len) {
		int e = w < 0 ? errno : EIO;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

long init_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, len - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = '\0';
	return r;
}

void init_console_reopen(void)
{
	/* Not O_CLOEXEC: if 0-2 were closed, open() may return one of them and
	 * dup2 onto itself would keep the flag. These are the children's stdio. */
	int fd = open("/dev/console", O_RDWR | O_NOCTTY);

	if (fd < 0)
		return;
	for (int i = 0; i < 3; i++)
		dup2(fd, i);
	if (fd > 2)
		close(fd);
}

int init_mount(const char *src, const char *target, const char *type, unsigned long flags,
	       const char *data)
{
	if (mkdir(target, 0755) < 0 && errno != EEXIST) {
		init_log(LOG_ERR_, "mkdir %s: %s", target, strerror(errno));
		return -1;
	}
	if (mount(src, target, type, flags, data) < 0) {
		init_log(LOG_ERR_, "mount %s on %s (%s): %s", src, target, type, strerror(errno));
		return -1;
	}
	return 0;
}

int64_t init_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

_Noreturn void init_fatal(const char *what)
{
	/* PID 1 must never exit (the kernel would panic): report and power off. */
	init_log(LOG_CRIT_, "fatal: %s; powering off", what);
	/* Stage 1 may fail after mounting /var: leave its journal clean. */
	umount2("/sysroot/var", 0);
	sync();
	reboot(RB_POWER_OFF);
	for (;;)
		pause();
}

struct modules_ctx {
	const char *list, *dir;
	int remove;
};

static int load_module(void *arg, const char *line, int lineno)
{
	const struct modules_ctx *m = arg;
	char name[64], path[256];
	int fd, r = line ? init_module_parse_line(line, name, sizeof(name)) : -1;

	if (r <= 0) {
		if (r < 0)
			init_log(LOG_ERR_, "%s:%d: invalid module name", m->list, lineno);
		return r < 0;
	}
	snprintf(path, sizeof(path), "%s/%s.ko", m->dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	r = fd < 0 || (syscall(SYS_finit_module, fd, "", 0) < 0 && errno != EEXIST);
	if (r)
		init_log(LOG_ERR_, "load module %s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
	if (m->remove)
		unlink(path);
	return r;
}

/* Load every module named in LIST from DIR/NAME.ko, in order. A module that is
 * already present (built in or loaded) is fine. With REMOVE, delete each file and
 * LIST afterwards (initramfs memory is only freed with its files). Returns the
 * number of failures; a missing LIST is none. */
int init_load_modules(const char *list, const char *dir, int remove)
{
	struct modules_ctx m = { list, dir, remove };
	int failed = init_each_line(list, load_module, &m);

	if (failed < 0) {
		if (errno == ENOENT)
			return 0;
		init_log(LOG_ERR_, "%s: %s", list, strerror(errno));
		return 1;
	}
	if (remove)
		unlink(list);
	return failed;
}

void init_mount_kernel_fs(void)
{
	const unsigned long nsde = MS_NOSUID | MS_NODEV | MS_NOEXEC;

	init_mount("proc", "/proc", "proc", nsde, NULL);
	init_mount("sysfs", "/sys", "sysfs", nsde, NULL);
	init_mount("devtmpfs", "/dev", "devtmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755");
	init_console_reopen();
	init_log_open();
}
