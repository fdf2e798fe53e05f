/* berth-init: read the keys of /etc/berth/berth.conf that PID 1 acts on, and
 * the line reader for PID 1's other lists (sysctl, modules).
 * berthd validates the whole file (supervisor/conf.c); PID 1 only needs [cgroup] ParentPidsMax and
 * must boot even when the file is bad, so an invalid value is reported and the
 * default is kept. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <ini.h>

#include "init.h"

struct conf_ctx {
	const char *path;
	struct init_conf *conf;
	char *err;
	size_t errlen;
	int failed;
};

static int conf_handler(void *user, const char *section, const char *name, const char *value,
			int lineno)
{
	struct conf_ctx *ctx = user;

	if (strcasecmp(section, "cgroup") == 0 && strcasecmp(name, "ParentPidsMax") == 0) {
		long v;

		if (init_parse_pids_max(value, &v) < 0) {
			if (!ctx->failed)
				snprintf(ctx->err, ctx->errlen,
					 "%s:%d: ParentPidsMax=%s: expected 1..%ld or \"max\"", ctx->path,
					 lineno, value, INIT_PIDS_MAX_LIMIT);
			ctx->failed = 1;
		} else {
			ctx->conf->parent_pids_max = v;
		}
	}
	return 1;
}

int init_each_line(const char *path, int (*fn)(void *arg, const char *line, int lineno), void *arg)
{
	char line[512];
	int lineno = 0, sum = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		size_t n = strlen(line);
		int c;

		lineno++;
		/* A line that did not fit is one error, never read as two lines. */
		if (n + 1 == sizeof(line) && line[n - 1] != '\n' && !feof(f)) {
			while ((c = getc(f)) != EOF && c != '\n')
				;
			sum += fn(arg, NULL, lineno);
		} else {
			sum += fn(arg, line, lineno);
		}
	}
	fclose(f);
	return sum;
}

int init_conf_load(const char *path, struct init_conf *conf, char *err, size_t errlen)
{
	struct conf_ctx ctx = { .path = path, .conf = conf, .err = err, .errlen = errlen };
	FILE *f;
	int rc;

	conf->parent_pids_max = INIT_DEFAULT_PARENT_PIDS_MAX;
	err[0] = '\0';
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	rc = ini_parse_file(f, conf_handler, &ctx);
	fclose(f);
	if (rc > 0 && !ctx.failed) {
		snprintf(err, errlen, "%s:%d: syntax error", path, rc);
		return -1;
	}
	return ctx.failed ? -1 : 0;
}
