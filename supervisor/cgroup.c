/* cgroup v2: create berth/NAME with pids.max, memory.max, cpu.max and
 * cpu.weight before the container exists (so its first instruction already runs
 * under them), and remove it afterwards. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"

static int cg_set(int dirfd, const char *file, const char *value, struct berth_err *err)
{
	int fd = openat(dirfd, file, O_WRONLY | O_CLOEXEC);
	size_t len = strlen(value);

	if (fd < 0)
		return berth_err_sys(err, "cgroup: open %s", file);
	if (write(fd, value, len) != (ssize_t)len) {
		int e = errno;

		close(fd);
		return berth_err_set(err, e, "cgroup: write %s to %s", value, file);
	}
	close(fd);
	return 0;
}

static void limit_str(int64_t v, char *buf, size_t len)
{
	if (v < 0)
		snprintf(buf, len, "max");
	else
		snprintf(buf, len, "%" PRId64, v);
}

int berth_cgroup_create(const struct berth_container *c, char *path, size_t pathlen,
			struct berth_err *err)
{
	char buf[64];
	int fd;

	snprintf(path, pathlen, BERTH_CGROUP_PARENT "/%s", c->name);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return berth_err_sys(err, "cgroup: mkdir %s", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_sys(err, "cgroup: open %s", path);
	{
		char ev[256] = "";
		int efd = openat(fd, "cgroup.events", O_RDONLY | O_CLOEXEC);
		ssize_t n = efd >= 0 ? read(efd, ev, sizeof(ev) - 1) : -1;

		if (efd >= 0)
			close(efd);
		if (n > 0 && strstr(ev, "populated 1")) {
			close(fd);
			return berth_err_set(err, EBUSY, "cgroup %s is in use: is %s already running?", path,
					     c->name);
		}
	}
	limit_str(c->pids_max, buf, sizeof(buf));
	if (cg_set(fd, "pids.max", buf, err) < 0)
		goto fail;
	limit_str(c->memory_max, buf, sizeof(buf));
	if (cg_set(fd, "memory.max", buf, err) < 0)
		goto fail;
	if (c->cpu_quota_us >= 0)
		snprintf(buf, sizeof(buf), "%" PRId64 " 100000", c->cpu_quota_us);
	else
		snprintf(buf, sizeof(buf), "max 100000");
	if (cg_set(fd, "cpu.max", buf, err) < 0)
		goto fail;
	if (c->cpu_weight > 0) {
		snprintf(buf, sizeof(buf), "%d", c->cpu_weight);
		if (cg_set(fd, "cpu.weight", buf, err) < 0)
			goto fail;
	}
	return fd;
fail:
	close(fd);
	rmdir(path);
	return -1;
}

int berth_cgroup_remove(const char *path, struct berth_err *err)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	char kill_path[300];
	int fd;

	snprintf(kill_path, sizeof(kill_path), "%s/cgroup.kill", path);
	fd = open(kill_path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0) {
			/* An already empty cgroup is fine; rmdir below says if not. */
		}
		close(fd);
	}
	/* Killed processes leave the cgroup asynchronously: retry for up to 5 s. */
	for (int i = 0; i < 500; i++) {
		if (rmdir(path) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			break;
		nanosleep(&tick, NULL);
	}
	return berth_err_sys(err, "cgroup: remove %s", path);
}

int64_t berth_cgroup_read(const char *name, const char *file, const char *key)
{
	char path[300], buf[4096];
	int fd;
	ssize_t n;

	snprintf(path, sizeof(path), BERTH_CGROUP_PARENT "/%s/%s", name, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	if (key) {
		char *p = strstr(buf, key);

		if (!p)
			return -1;
		return strtoll(p + strlen(key), NULL, 10);
	}
	if (strncmp(buf, "max", 3) == 0)
		return -2;
	return strtoll(buf, NULL, 10);
}
