/* berthctl deploy and rm: the only writers of /var/lib/berth/units.
 *
 * A deploy arrives as an open file (SCM_RIGHTS), never as a path berthd would
 * open on the caller's behalf. berthd reads it once, checks the copy alone
 * (berth_unit_from_text) and against the unit set (only problems the change
 * brings refuse it), and only then writes it: a temporary file, fsync,
 * rename, fsync of the directory. After a power cut the directory holds the
 * old file or the new one, never a mix; a left-over temporary (a dot file)
 * is never read as a unit and is replaced by the next deploy. Then the same
 * reload as `berthctl reload` applies it. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berthd.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/diag.h"
#include "proto.h"
#include "unit.h"

/* The definitions in force by name, with unit NAME replaced by REPL (or left
 * out when REPL is NULL); *N gets the count. */
static void unit_set(struct berth_unit **set, size_t *n, const char *name, struct berth_unit *repl)
{
	*n = 0;
	for (int i = 0; i < MAX_UNITS; i++) {
		struct unit_rt *r = units[i];
		struct berth_unit *u = r ? (r->next ? r->next : r->u) : NULL;

		if (u && strcmp(r->name, name) != 0)
			set[(*n)++] = u;
	}
	if (repl)
		set[(*n)++] = repl;
}

/* 1 if TEXT has the line LINE (LEN bytes, without its newline). */
static int has_line(const char *text, const char *line, size_t len)
{
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");

		if (n == len && memcmp(p, line, len) == 0)
			return 1;
		p += n + (p[n] == '\n');
	}
	return 0;
}

/* The errors of berth_units_check on the set with NAME replaced by REPL that
 * the set as it is does not have: what the change would break. Appended to
 * OUT; returns how many. Warnings never refuse a change. */
static int new_dep_errors(const char *name, struct berth_unit *repl, struct berth_buf *out)
{
	static struct berth_unit *set[MAX_UNITS + 1];
	static size_t order[MAX_UNITS + 1];
	struct berth_diag before = { 0 }, after = { 0 };
	size_t n;
	int count = 0;

	unit_set(set, &n, "", NULL);
	berth_units_check(set, n, order, &before);
	unit_set(set, &n, name, repl);
	berth_units_check(set, n, order, &after);
	for (const char *p = berth_diag_text(&after); *p;) {
		size_t len = strcspn(p, "\n");

		if (!has_line(berth_diag_text(&before), p, len) && !memmem(p, len, "warning: ", 9)) {
			berth_buf_printf(out, "%.*s\n", (int)len, p);
			count++;
		}
		p += len + (p[len] == '\n');
	}
	berth_diag_free(&before);
	berth_diag_free(&after);
	return count;
}

/* Write TEXT as DIR/FILE so that a crash leaves the old file or the new one.
 * 0; 1: in place, but the directory's fsync failed; -1: nothing changed. */
static int write_atomic(const char *dir, const char *file, const char *text, size_t len, char *msg, size_t mlen)
{
	char tmp[BERTH_NAME_MAX + 32];
	cleanup_close int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int fd;
	size_t off = 0;

	if (dfd < 0) {
		snprintf(msg, mlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	snprintf(tmp, sizeof(tmp), ".%s.tmp", file);
	if (unlinkat(dfd, tmp, 0) < 0 && errno != ENOENT) {
		snprintf(msg, mlen, "%s/%s: %s", dir, tmp, strerror(errno));
		return -1;
	}
	fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(msg, mlen, "%s/%s: %s", dir, tmp, strerror(errno));
		return -1;
	}
	while (off < len) {
		ssize_t w = write(fd, text + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	if (off < len || fsync(fd) < 0) {
		snprintf(msg, mlen, "%s/%s: %s", dir, tmp, strerror(errno ? errno : EIO));
		close(fd);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	close(fd);
	if (renameat(dfd, tmp, dfd, file) < 0) {
		snprintf(msg, mlen, "%s/%s: %s", dir, file, strerror(errno));
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	/* In place now; only its durability is in doubt. */
	if (fsync(dfd) < 0)
		return 1;
	return 0;
}

/* 1 if DIR/FILE holds exactly TEXT. */
static int same_file(const char *dir, const char *file, const char *text, size_t len)
{
	char path[512];
	struct berth_diag d = { 0 };
	cleanup_close int fd = -1;
	cleanup_free char *old = NULL;
	size_t olen;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0;
	old = berth_unit_read_fd(fd, path, NULL, &olen, &d);
	berth_diag_free(&d);
	return old && olen == len && memcmp(old, text, len) == 0;
}

int berthd_deploy(const char *file, int fd, unsigned uid, struct berth_buf *out, char *msg, size_t mlen)
{
	char name[BERTH_NAME_MAX], path[512];
	struct berth_diag diag = { 0 };
	struct berth_unit *u;
	cleanup_free char *text = NULL;
	size_t len;
	int bad, written;

	if (berth_unit_name_of(file, name, sizeof(name)) < 0) {
		snprintf(msg, mlen, "%.80s: not a unit file name (NAME.container, NAME of [a-z0-9_.-] starting "
				    "with a letter or digit, at most 63, not 'events')", file);
		return BERTH_USAGE;
	}
	if (fd < 0) {
		snprintf(msg, mlen, "deploy needs the file itself (berthctl deploy FILE)");
		return BERTH_USAGE;
	}
	if (shutting_down) {
		snprintf(msg, mlen, "shutting down");
		return BERTH_FAILED;
	}
	snprintf(path, sizeof(path), BERTH_UNITS_DEPLOYED "/%s", file);
	text = berth_unit_read_fd(fd, path, NULL, &len, &diag);
	u = text ? berth_unit_from_text(text, len, path, name, NULL, &diag) : NULL;
	bad = !u;
	if (u && new_dep_errors(name, u, out) > 0)
		bad = 1;
	if (bad) {
		berth_buf_printf(out, "%s", berth_diag_text(&diag));
		berth_diag_free(&diag);
		berth_unit_free(u);
		snprintf(msg, mlen, "%s not deployed: it has errors; nothing changed", file);
		return BERTH_FAILED;
	}
	/* Warnings (a Wants= on a missing unit) are shown, not refused. */
	berth_buf_printf(out, "%s", berth_diag_text(&diag));
	berth_diag_free(&diag);
	berth_unit_free(u);
	if (same_file(BERTH_UNITS_DEPLOYED, file, text, len)) {
		struct unit_rt *r = berthd_find(name);

		/* The file is as it was; what is in force may not be (an image
		 * that was missing at the last reload): reload if it had errors. */
		if (!r || !r->errors) {
			snprintf(msg, mlen, "%s: unchanged", name);
			return BERTH_OK;
		}
		written = 0;
	} else {
		written = write_atomic(BERTH_UNITS_DEPLOYED, file, text, len, msg, mlen);
		if (written < 0) {
			berthd_event("%s: deploy by uid %u failed: %s", name, uid, msg);
			return BERTH_FAILED;
		}
		berthd_event("%s: deployed by uid %u (%zu bytes)%s", name, uid, len,
			     written ? "; the directory's fsync failed" : "");
	}
	berthd_reload(0);
	berth_buf_printf(out, "%s", reload_report.p ? reload_report.p : "");
	snprintf(msg, mlen, "%s: deployed%s", name,
		 written ? " (but fsync of " BERTH_UNITS_DEPLOYED " failed: it may not survive a power cut)" : "");
	return BERTH_OK;
}

int berthd_rm(const char *name, unsigned uid, struct berth_buf *out, char *msg, size_t mlen)
{
	char file[BERTH_NAME_MAX + 16], baked[512];
	struct berth_diag diag = { 0 };
	struct berth_unit *repl = NULL;
	struct stat st;
	cleanup_close int dfd = -1;
	int synced;

	/* NAME comes from the request: it must not be a path. */
	if (!berth_unit_name_valid(name)) {
		snprintf(msg, mlen, "'%.64s' is not a unit name", name);
		return BERTH_USAGE;
	}
	snprintf(file, sizeof(file), "%s%s", name, BERTH_UNIT_SUFFIX);
	dfd = open(BERTH_UNITS_DEPLOYED, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(baked, sizeof(baked), BERTH_UNITS_BAKED "/%s", file);
	if (dfd < 0 || fstatat(dfd, file, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (lstat(baked, &st) == 0) {
			snprintf(msg, mlen, "%s is part of the image (%s) and cannot be removed; "
					    "`berthctl stop %s` stops it until the next boot",
				 name, baked, name);
			return BERTH_FAILED;
		}
		snprintf(msg, mlen, "no deployed unit '%s'", name);
		return BERTH_NOT_FOUND;
	}
	if (shutting_down) {
		snprintf(msg, mlen, "shutting down");
		return BERTH_FAILED;
	}
	/* With the deployed file gone, a unit of the same name in the image
	 * takes over; either way the others' dependencies must still hold. */
	if (lstat(baked, &st) == 0) {
		const struct berth_unit_load_opts o = { .check_owner = 1 };

		repl = berth_unit_load(baked, &o, &diag);
		berth_diag_free(&diag);
	}
	if (new_dep_errors(name, repl, out) > 0) {
		berth_unit_free(repl);
		snprintf(msg, mlen, "%s not removed: other units need it; nothing changed", name);
		return BERTH_FAILED;
	}
	berth_unit_free(repl);
	if (unlinkat(dfd, file, 0) < 0) {
		snprintf(msg, mlen, BERTH_UNITS_DEPLOYED "/%s: %s", file, strerror(errno));
		return BERTH_FAILED;
	}
	synced = fsync(dfd) == 0;
	berthd_event("%s: removed by uid %u%s", name, uid, synced ? "" : "; the directory's fsync failed");
	berthd_reload(0);
	berth_buf_printf(out, "%s", reload_report.p ? reload_report.p : "");
	snprintf(msg, mlen, "%s: removed%s", name,
		 synced ? "" : " (but fsync of " BERTH_UNITS_DEPLOYED " failed: it may come back after a power cut)");
	return BERTH_OK;
}
