/* Container logs: timestamped lines, a cap on line length, rotation by size. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "logs.h"

void berth_log_timestamp(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
		 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000);
}

static void reopen(struct berth_log *l)
{
	struct stat st;

	l->fd = openat(l->dirfd, l->name, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	l->size = l->fd >= 0 && fstat(l->fd, &st) == 0 ? st.st_size : 0;
}

int berth_log_open(struct berth_log *l, const char *dir, const char *name, int64_t max_size,
		   unsigned max_files, struct berth_err *err)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->max_size = max_size;
	l->max_files = max_files;
	snprintf(l->name, sizeof(l->name), "%.70s.log", name);
	l->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (l->dirfd < 0)
		return berth_err_sys(err, "open %s", dir);
	reopen(l);
	if (l->fd < 0) {
		int e = errno;

		close(l->dirfd);
		l->dirfd = -1;
		return berth_err_set(err, e, "open %s/%s", dir, l->name);
	}
	return 0;
}

/* NAME.log.(k) -> NAME.log.(k+1), the oldest dropped, NAME.log -> NAME.log.1. */
static void rotate(struct berth_log *l)
{
	char from[100], to[100];

	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	if (l->max_files == 0) {
		unlinkat(l->dirfd, l->name, 0);
	} else {
		snprintf(to, sizeof(to), "%s.%u", l->name, l->max_files);
		unlinkat(l->dirfd, to, 0);
		for (unsigned k = l->max_files - 1; k >= 1; k--) {
			snprintf(from, sizeof(from), "%s.%u", l->name, k);
			snprintf(to, sizeof(to), "%s.%u", l->name, k + 1);
			renameat(l->dirfd, from, l->dirfd, to);
		}
		snprintf(to, sizeof(to), "%s.1", l->name);
		renameat(l->dirfd, l->name, l->dirfd, to);
	}
	reopen(l);
}

static void write_line(struct berth_log *l, const char *prefix, const char *s, size_t n)
{
	char ts[40];
	struct iovec iov[4];
	size_t total;
	ssize_t w;

	berth_log_timestamp(ts, sizeof(ts) - 1);
	strcat(ts, " ");
	iov[0] = (struct iovec){ ts, strlen(ts) };
	iov[1] = (struct iovec){ (void *)prefix, strlen(prefix) };
	iov[2] = (struct iovec){ (void *)s, n };
	iov[3] = (struct iovec){ "\n", 1 };
	total = iov[0].iov_len + iov[1].iov_len + n + 1;
	if (l->size > 0 && l->size + (int64_t)total > l->max_size)
		rotate(l);
	if (l->fd < 0)
		reopen(l); /* /var may have come back */
	if (l->fd < 0) {
		l->lost += total;
		return;
	}
	w = writev(l->fd, iov, 4);
	if (w > 0)
		l->size += w;
	if (w != (ssize_t)total)
		l->lost += total - (w > 0 ? (size_t)w : 0);
}

/* A container line that looks like one of Berth's notes gets a backslash in
 * front: "[berth] ..." in a log is always Berth's. */
static const char *container_prefix(const struct berth_log *l)
{
	return l->len >= 7 && memcmp(l->line, "[berth]", 7) == 0 ? "\\" : "";
}

void berth_log_data(struct berth_log *l, const char *buf, size_t n)
{
	while (n > 0) {
		const char *nl;
		size_t take;

		/* Cap: what does not fit ends this line; the rest starts the next. A
		 * full line is written when the next byte is known, so that a newline
		 * right after the cap ends it whichever read brings it. */
		if (l->len == sizeof(l->line)) {
			write_line(l, container_prefix(l), l->line, l->len);
			l->len = 0;
			if (*buf == '\n') {
				buf++;
				n--;
			}
			continue;
		}
		nl = memchr(buf, '\n', n);
		take = nl ? (size_t)(nl - buf) : n;
		if (take > sizeof(l->line) - l->len)
			take = sizeof(l->line) - l->len;
		memcpy(l->line + l->len, buf, take);
		l->len += take;
		buf += take;
		n -= take;
		if (n > 0 && *buf == '\n') {
			write_line(l, container_prefix(l), l->line, l->len);
			l->len = 0;
			buf++;
			n--;
		}
	}
}

void berth_log_flush(struct berth_log *l)
{
	if (l->len) {
		write_line(l, container_prefix(l), l->line, l->len);
		l->len = 0;
	}
}

void berth_log_note(struct berth_log *l, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	write_line(l, "[berth] ", msg, strlen(msg));
}

void berth_log_close(struct berth_log *l)
{
	berth_log_flush(l);
	if (l->fd >= 0)
		close(l->fd);
	if (l->dirfd >= 0)
		close(l->dirfd);
	l->fd = l->dirfd = -1;
}
