/* Records of one number per name (a container's id range, its address),
 * id range allocation (one file per container under BERTH_USERNS_DIR holding
 * its base) and uid_map/gid_map writing. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"
#include "idmap.h"

int berth_idmap_pick(const struct berth_idpool *pool, const uint32_t *used, size_t nused,
		     uint32_t *base)
{
	for (uint64_t b = pool->start; b + BERTH_USERNS_SIZE <= (uint64_t)pool->start + pool->count;
	     b += BERTH_USERNS_SIZE) {
		size_t i;

		/* Overlap, not equality: a record from another pool or grid counts too. */
		for (i = 0; i < nused; i++)
			if (used[i] < b + BERTH_USERNS_SIZE && b < (uint64_t)used[i] + BERTH_USERNS_SIZE)
				break;
		if (i == nused) {
			*base = (uint32_t)b;
			return 0;
		}
	}
	return -1;
}

static int read_base(int dirfd, const char *name, uint32_t *base)
{
	char buf[32];
	int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	ssize_t n;
	char *end;
	unsigned long v;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	errno = 0;
	v = strtoul(buf, &end, 10);
	if (errno || (*end && *end != '\n') || v > UINT32_MAX)
		return -1;
	*base = (uint32_t)v;
	return 0;
}

/* mkdir -p: the runtime owns its state tree under /var/lib/berth. */
int berth_mkdir_p(const char *path, mode_t mode, struct berth_err *err)
{
	char buf[256];

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return berth_err_set(err, ENAMETOOLONG, "mkdir %s", path);
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;

			*p = '\0';
			if (mkdir(buf, saved ? 0755 : mode) < 0 && errno != EEXIST)
				return berth_err_sys(err, "mkdir %s", buf);
			if (!(*p = saved))
				return 0;
		}
	}
}

int berth_record_get(const char *dir, const char *name, const struct berth_record_rules *rules,
		     uint32_t *value, int *fresh, struct berth_err *err)
{
	uint32_t used[4096];
	size_t nused = 0;
	char tmp[128], buf[32];
	int dirfd, lockfd, fd, rc = -1;
	DIR *d;
	struct dirent *e;

	*fresh = 0;
	if (berth_mkdir_p(dir, 0700, err) < 0)
		return -1;
	dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return berth_err_sys(err, "open %s", dir);
	lockfd = openat(dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) < 0) {
		berth_err_sys(err, "lock %s/.lock", dir);
		goto out;
	}
	if (read_base(dirfd, name, value) == 0 && (!rules->keep || rules->keep(rules->ctx, *value))) {
		rc = 0;
		goto out;
	}
	d = opendir(dir);
	if (!d) {
		berth_err_sys(err, "read %s", dir);
		goto out;
	}
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, name) == 0 ||
		    read_base(dirfd, e->d_name, &used[nused]) < 0)
			continue;
		if (++nused == sizeof(used) / sizeof(used[0])) {
			closedir(d);
			berth_err_set(err, ENOSPC, "more than %zu records in %s", nused - 1, dir);
			goto out;
		}
	}
	closedir(d);
	if (rules->pick(rules->ctx, used, nused, value, err) < 0)
		goto out;
	/* Write then rename: a crash leaves either no record or a whole one. */
	snprintf(tmp, sizeof(tmp), ".%s.tmp", name);
	snprintf(buf, sizeof(buf), "%" PRIu32 "\n", *value);
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, buf, strlen(buf)) != (ssize_t)strlen(buf) || fsync(fd) < 0 ||
	    renameat(dirfd, tmp, dirfd, name) < 0) {
		berth_err_sys(err, "record the %s of %s in %s", rules->what, name, dir);
		if (fd >= 0)
			close(fd);
		unlinkat(dirfd, tmp, 0);
		goto out;
	}
	close(fd);
	fsync(dirfd);
	*fresh = 1;
	rc = 0;
out:
	if (lockfd >= 0)
		close(lockfd);
	close(dirfd);
	return rc;
}

int berth_record_read(const char *dir, const char *name, uint32_t *value)
{
	int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

	if (dirfd < 0)
		return -1;
	r = read_base(dirfd, name, value);
	close(dirfd);
	return r;
}

int berth_record_release(const char *dir, const char *name, struct berth_err *err)
{
	char path[512], lock[512];
	int lockfd, rc = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	snprintf(lock, sizeof(lock), "%s/.lock", dir);
	/* Under the same lock as allocation: no one reads a half-removed record. */
	lockfd = open(lock, O_RDWR | O_CLOEXEC);
	if (lockfd >= 0)
		flock(lockfd, LOCK_EX);
	if (unlink(path) < 0 && errno != ENOENT)
		rc = berth_err_sys(err, "remove %s", path);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}

static int pick_range(const void *ctx, const uint32_t *used, size_t nused, uint32_t *base,
		      struct berth_err *err)
{
	const struct berth_idpool *pool = ctx;

	if (berth_idmap_pick(pool, used, nused, base) < 0)
		return berth_err_set(err, ENOSPC, "user namespace pool %" PRIu32 "+%" PRIu32 " is full",
				     pool->start, pool->count);
	return 0;
}

int berth_idmap_get(const char *dir, const char *name, const struct berth_idpool *pool,
		    uint32_t *base, int *fresh, struct berth_err *err)
{
	struct berth_record_rules rules = { .pick = pick_range, .ctx = pool, .what = "id range" };

	return berth_record_get(dir, name, &rules, base, fresh, err);
}

int berth_idmap_release(const char *dir, const char *name, struct berth_err *err)
{
	return berth_record_release(dir, name, err);
}

static int write_map(pid_t pid, const char *file, const char *map, struct berth_err *err)
{
	char path[64];
	int fd;
	size_t len = strlen(map);

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_sys(err, "open %s", path);
	if (write(fd, map, len) != (ssize_t)len) {
		int e = errno;

		close(fd);
		return berth_err_set(err, e, "write %s", path);
	}
	close(fd);
	return 0;
}

static void format_map(const struct berth_idmap_line *m, int n, uint32_t base, char *buf, size_t len)
{
	size_t used = 0;

	buf[0] = '\0';
	if (n == 0)
		snprintf(buf, len, "0 %" PRIu32 " %u\n", base, BERTH_USERNS_SIZE);
	for (int i = 0; i < n && used < len; i++)
		used += (size_t)snprintf(buf + used, len - used, "%" PRIu32 " %" PRIu32 " %" PRIu32 "\n",
					 m[i].inside, m[i].outside, m[i].count);
}

int berth_idmap_write(pid_t pid, const struct berth_container *c, struct berth_err *err)
{
	char map[BERTH_MAX_IDMAP * 40];
	const struct berth_idmap_line *m;
	int n;

	/* gid_map first, as crun does; setgroups stays "allow" (we are root). */
	m = berth_container_idmap(c, 1, &n);
	format_map(m, n, c->uid_base, map, sizeof(map));
	if (write_map(pid, "gid_map", map, err) < 0)
		return -1;
	m = berth_container_idmap(c, 0, &n);
	format_map(m, n, c->uid_base, map, sizeof(map));
	return write_map(pid, "uid_map", map, err);
}
