/* Unit files: the line checks inih cannot do, the key table (one setter per
 * key), validation of a unit on its own, the file and image checks of a load,
 * and the dependency checks across units. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/capability.h>

#include "caps.h"
#include "ini.h"
#include "lib/cleanup.h"
#include "lib/values.h"
#include "unit.h"

#define MSG 256
#define MAX_TMPFS_SIZE (INT64_C(1) << 40)

/* --- string lists --- */

static int strv_add(struct berth_strv *l, const char *s)
{
	char **v;
	char *d = strdup(s);

	if (!d)
		return -1;
	v = realloc(l->v, (l->n + 2) * sizeof(*v));
	if (!v) {
		free(d);
		return -1;
	}
	v[l->n++] = d;
	v[l->n] = NULL;
	l->v = v;
	return 0;
}

static void strv_clear(struct berth_strv *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* --- value checks shared by several keys --- */

int berth_unit_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > 63 || !(islower((unsigned char)name[0]) || isdigit((unsigned char)name[0])))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!islower((unsigned char)name[i]) && !isdigit((unsigned char)name[i]) &&
		    !strchr("_.-", name[i]))
			return 0;
	return 1;
}

int berth_unit_name_of(const char *file, char *name, size_t len)
{
	size_t n = strlen(file), sl = strlen(BERTH_UNIT_SUFFIX);

	if (n <= sl || strcmp(file + n - sl, BERTH_UNIT_SUFFIX) != 0 || n - sl >= len)
		return -1;
	memcpy(name, file, n - sl);
	name[n - sl] = '\0';
	return berth_unit_name_valid(name) ? 0 : -1;
}

/* Absolute, no empty, "." or ".." components, no trailing slash (except "/"). */
static int clean_path(const char *p)
{
	if (p[0] != '/')
		return 0;
	if (p[1] == '\0')
		return 1;
	for (const char *s = p + 1; *s;) {
		size_t n = strcspn(s, "/");

		if (n == 0 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
			return 0;
		s += n;
		if (*s == '/' && !*++s)
			return 0;
	}
	return 1;
}

/* P is Q or below Q. */
static int path_under(const char *p, const char *q)
{
	size_t n = strlen(q);

	return strncmp(p, q, n) == 0 && (p[n] == '\0' || p[n] == '/' || strcmp(q, "/") == 0);
}

static int printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* A user or group name as shadow-utils allows it. */
static int id_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 32 || !(islower((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) && !strchr("_-", s[i]))
			return 0;
	return 1;
}

static int env_name_valid(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

static int hostname_valid(const char *s)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > 63 || s[0] == '.' || s[0] == '-' || s[n - 1] == '.' || s[n - 1] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || s[i] == '-') {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* --- setters: one per key; -1 with a message in MSG on a bad value --- */

typedef int setter_fn(struct berth_unit *u, const char *v, char *msg);

/* A setter's error; messages are truncated at MSG bytes. */
static int __attribute__((format(printf, 2, 3))) fail(char *msg, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, MSG, fmt, ap);
	va_end(ap);
	return -1;
}
#define FAIL(...) return fail(msg, __VA_ARGS__)

static int words(const char *v, size_t max, char ***w, size_t *n, char *msg)
{
	char why[128];

	if (berth_split_words(v, max, w, n, why, sizeof(why)) < 0)
		FAIL("%s", why);
	return 0;
}

static int set_bool(int *out, const char *v, char *msg)
{
	if (berth_parse_bool(v, out) < 0)
		FAIL("'%s' is not a boolean (yes/no, true/false, on/off, 1/0)", v);
	return 0;
}

static int set_description(struct berth_unit *u, const char *v, char *msg)
{
	if (strlen(v) >= sizeof(u->description) || !printable(v))
		FAIL("must be printable and at most %zu bytes", sizeof(u->description) - 1);
	strcpy(u->description, v);
	return 0;
}

static int set_documentation(struct berth_unit *u, const char *v, char *msg)
{
	cleanup_free char **w = NULL;
	size_t n;

	if (words(v, 16, &w, &n, msg) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (strncmp(w[i], "http://", 7) && strncmp(w[i], "https://", 8) && strncmp(w[i], "file:", 5) &&
		    strncmp(w[i], "man:", 4))
			FAIL("'%s' is not an http(s)://, file: or man: reference", w[i]);
		if (strv_add(&u->documentation, w[i]) < 0)
			FAIL("out of memory");
	}
	return 0;
}

static int add_deps(struct berth_strv *l, const char *v, char *msg)
{
	cleanup_free char **w = NULL;
	size_t n;

	if (words(v, 64, &w, &n, msg) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(w[i]), sl = strlen(BERTH_UNIT_SUFFIX);

		if (len > sl && strcmp(w[i] + len - sl, BERTH_UNIT_SUFFIX) == 0)
			w[i][len - sl] = '\0';
		if (!berth_unit_name_valid(w[i]))
			FAIL("'%s' is not a unit name", w[i]);
		if (strv_add(l, w[i]) < 0)
			FAIL("out of memory");
	}
	return 0;
}

static int set_after(struct berth_unit *u, const char *v, char *msg)
{
	return add_deps(&u->after, v, msg);
}
static int set_requires(struct berth_unit *u, const char *v, char *msg)
{
	return add_deps(&u->requires, v, msg);
}
static int set_wants(struct berth_unit *u, const char *v, char *msg)
{
	return add_deps(&u->wants, v, msg);
}
static int set_autostart(struct berth_unit *u, const char *v, char *msg)
{
	return set_bool(&u->autostart, v, msg);
}

static int set_time(int64_t *out, const char *v, int infinity, int64_t min, char *msg)
{
	char m[32];

	if (berth_parse_time_us(v, infinity, out) < 0)
		FAIL("'%s' is not a time span (e.g. 10s, 1min 30s, 500ms%s)", v, infinity ? ", infinity" : "");
	if (*out < min) {
		berth_format_time_us(min, m, sizeof(m));
		FAIL("'%s' is below the minimum of %s", v, m);
	}
	return 0;
}

static int set_start_limit_interval(struct berth_unit *u, const char *v, char *msg)
{
	return set_time(&u->start_limit_interval_us, v, 0, 0, msg);
}

static int set_uint(unsigned *out, const char *v, uint64_t min, uint64_t max, char *msg)
{
	uint64_t x;

	if (berth_parse_uint(v, min, max, &x) < 0)
		FAIL("'%s' is not a number in %llu..%llu", v, (unsigned long long)min, (unsigned long long)max);
	*out = (unsigned)x;
	return 0;
}

static int set_start_limit_burst(struct berth_unit *u, const char *v, char *msg)
{
	return set_uint(&u->start_limit_burst, v, 1, 1000, msg);
}

static int set_image(struct berth_unit *u, const char *v, char *msg)
{
	if (strchr(v, '/') || strchr(v, ':') || strchr(v, '@'))
		FAIL("'%s': only images baked into the root image are supported (Image=NAME for %s/NAME)",
		     v, BERTH_IMAGES_DIR);
	if (!berth_unit_name_valid(v))
		FAIL("'%s' is not an image name ([a-z0-9][a-z0-9_.-]*)", v);
	strcpy(u->image, v);
	return snprintf(u->c.rootfs, sizeof(u->c.rootfs), "%s/%s", BERTH_IMAGES_DIR, v) <
			       (int)sizeof(u->c.rootfs)
		       ? 0
		       : (snprintf(msg, MSG, "image name too long"), -1);
}

static int set_rootfs(struct berth_unit *u, const char *v, char *msg)
{
	if (!clean_path(v) || strcmp(v, "/") == 0 || strpbrk(v, ",:\\") || strlen(v) >= sizeof(u->c.rootfs))
		FAIL("'%s' is not a clean absolute path below / (without ',', ':' or '\\')", v);
	strcpy(u->c.rootfs, v);
	return 0;
}

static int set_argv(struct berth_strv *l, const char *v, char *msg)
{
	cleanup_free char **w = NULL;
	size_t n;

	if (words(v, BERTH_MAX_ARGS, &w, &n, msg) < 0)
		return -1;
	if (n == 0)
		FAIL("empty command");
	for (size_t i = 0; i < n; i++)
		if (strv_add(l, w[i]) < 0)
			FAIL("out of memory");
	return 0;
}

static int set_exec(struct berth_unit *u, const char *v, char *msg)
{
	return set_argv(&u->exec, v, msg);
}

static int set_entrypoint(struct berth_unit *u, const char *v, char *msg)
{
	if (set_argv(&u->entrypoint, v, msg) < 0)
		return -1;
	if (u->entrypoint.v[0][0] != '/' && strchr(u->entrypoint.v[0], '/'))
		FAIL("'%s' must be an absolute path or a bare name found on PATH", u->entrypoint.v[0]);
	return 0;
}

static int set_workdir(struct berth_unit *u, const char *v, char *msg)
{
	if (!clean_path(v) || strlen(v) >= sizeof(u->c.workdir))
		FAIL("'%s' is not a clean absolute path", v);
	strcpy(u->c.workdir, v);
	return 0;
}

/* A numeric id below 2^32-1, or a name for the image's /etc/passwd or /etc/group. */
static int set_id(char *out, size_t outlen, uint32_t *id, const char *v, char *msg)
{
	uint64_t x;

	if (berth_parse_uint(v, 0, UINT32_MAX - 1, &x) == 0) {
		*id = (uint32_t)x;
		snprintf(out, outlen, "%s", v);
		return 0;
	}
	if (!id_name_valid(v))
		FAIL("'%s' is neither a number below 4294967295 nor a valid name", v);
	snprintf(out, outlen, "%s", v);
	return 0;
}

static int set_user(struct berth_unit *u, const char *v, char *msg)
{
	uint32_t id = 0;

	if (set_id(u->user, sizeof(u->user), &id, v, msg) < 0)
		return -1;
	u->c.uid = id;
	return 0;
}

static int set_group(struct berth_unit *u, const char *v, char *msg)
{
	uint32_t id = 0;

	if (set_id(u->group, sizeof(u->group), &id, v, msg) < 0)
		return -1;
	u->c.gid = id;
	return 0;
}

static int set_group_add(struct berth_unit *u, const char *v, char *msg)
{
	cleanup_free char **w = NULL;
	size_t n;
	char tmp[64];
	uint32_t id;

	if (words(v, BERTH_MAX_GROUPS, &w, &n, msg) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (set_id(tmp, sizeof(tmp), &id, w[i], msg) < 0)
			return -1;
		if (u->group_add.n >= BERTH_MAX_GROUPS)
			FAIL("more than %d groups", BERTH_MAX_GROUPS);
		if (strv_add(&u->group_add, w[i]) < 0)
			FAIL("out of memory");
	}
	return 0;
}

static int set_hostname(struct berth_unit *u, const char *v, char *msg)
{
	if (!hostname_valid(v))
		FAIL("'%s' is not a host name (RFC 1123, at most 63 characters)", v);
	strcpy(u->c.hostname, v);
	return 0;
}

static int set_environment(struct berth_unit *u, const char *v, char *msg)
{
	cleanup_free char **w = NULL;
	size_t n;

	if (words(v, BERTH_MAX_ENV, &w, &n, msg) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(w[i], '=');

		if (!eq || !env_name_valid(w[i], (size_t)(eq - w[i])))
			FAIL("'%s' is not NAME=VALUE with NAME of letters, digits and '_'", w[i]);
		if (u->env.n >= BERTH_MAX_ENV - 1)
			FAIL("more than %d variables", BERTH_MAX_ENV - 1);
		if (strv_add(&u->env, w[i]) < 0)
			FAIL("out of memory");
	}
	return 0;
}

static int set_env_file(struct berth_unit *u, const char *v, char *msg)
{
	const char *p = v[0] == '-' ? v + 1 : v;

	if (!p[0] || strlen(p) >= 256 || !printable(p))
		FAIL("'%s' is not a file name", v);
	if (u->env_files.n >= 16)
		FAIL("more than 16 environment files");
	if (strv_add(&u->env_files, v) < 0)
		FAIL("out of memory");
	return 0;
}

/* Host paths no volume may come from: the kernel's views and Berth's own
 * control plane (the socket, units and state, images' store). */
static const char *const forbidden_sources[] = { "/proc", "/sys", "/dev", "/run/berth", "/etc/berth",
						 "/var/lib/berth/units", "/var/lib/berth/userns" };

static int set_volume(struct berth_unit *u, const char *v, char *msg)
{
	char buf[600], *dst, *opts;
	struct berth_volume *vol;

	if (u->c.nvolumes >= BERTH_MAX_VOLUMES)
		FAIL("more than %d volumes", BERTH_MAX_VOLUMES);
	vol = &u->c.volumes[u->c.nvolumes];
	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		FAIL("too long");
	dst = strchr(buf, ':');
	if (!dst)
		FAIL("'%s' is not SOURCE:DESTINATION[:OPTIONS]", v);
	*dst++ = '\0';
	opts = strchr(dst, ':');
	if (opts)
		*opts++ = '\0';
	memset(vol, 0, sizeof(*vol));
	if (buf[0] == '/') {
		if (!clean_path(buf))
			FAIL("source '%s' is not a clean absolute path", buf);
		if (strcmp(buf, "/") == 0)
			FAIL("the host's root cannot be a volume");
		for (size_t i = 0; i < sizeof(forbidden_sources) / sizeof(forbidden_sources[0]); i++)
			if (path_under(buf, forbidden_sources[i]))
				FAIL("source '%s' is under %s, which no container may see", buf,
				     forbidden_sources[i]);
		if (strlen(buf) >= sizeof(vol->source))
			FAIL("source too long");
		strcpy(vol->source, buf);
	} else {
		if (!berth_unit_name_valid(buf))
			FAIL("source '%s' is neither an absolute path nor a volume name ([a-z0-9][a-z0-9_.-]*)",
			     buf);
		if (snprintf(vol->source, sizeof(vol->source), "%s/%.200s", BERTH_VOLUMES_DIR, buf) >=
		    (int)sizeof(vol->source))
			FAIL("volume name too long");
		vol->named = 1;
	}
	if (!clean_path(dst) || strcmp(dst, "/") == 0 || strlen(dst) >= sizeof(vol->target))
		FAIL("destination '%s' is not a clean absolute path below /", dst);
	if (path_under(dst, "/proc") || path_under(dst, "/sys") || path_under(dst, "/dev"))
		FAIL("destination '%s' is under /proc, /sys or /dev", dst);
	strcpy(vol->target, dst);
	for (char *o = opts; o && *o;) {
		size_t n = strcspn(o, ",");

		if (n == 2 && strncmp(o, "ro", 2) == 0)
			vol->writable = 0;
		else if (n == 2 && strncmp(o, "rw", 2) == 0)
			vol->writable = 1;
		else if ((n == 6 && strncmp(o, "nosuid", 6) == 0) || (n == 5 && strncmp(o, "nodev", 5) == 0))
			; /* always so */
		else if (n == 6 && strncmp(o, "noexec", 6) == 0)
			vol->noexec = 1;
		else if (n == 1 && strchr("zZU", o[0]))
			; /* SELinux relabel and chown: nothing to do here (no SELinux; ids are mapped) */
		else
			FAIL("unknown volume option '%.*s' (ro, rw, noexec, nosuid, nodev)", (int)n, o);
		o += n + (o[n] == ',');
	}
	for (int i = 0; i < u->c.nvolumes; i++)
		if (strcmp(u->c.volumes[i].target, vol->target) == 0)
			FAIL("destination '%s' is already a volume", dst);
	u->c.nvolumes++;
	return 0;
}

static int set_tmpfs(struct berth_unit *u, const char *v, char *msg)
{
	char buf[300], *opts;
	struct berth_tmpfs *t;

	if (u->c.ntmpfs >= BERTH_MAX_TMPFS)
		FAIL("more than %d tmpfs mounts", BERTH_MAX_TMPFS);
	t = &u->c.tmpfs[u->c.ntmpfs];
	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		FAIL("too long");
	opts = strchr(buf, ':');
	if (opts)
		*opts++ = '\0';
	if (!clean_path(buf) || strcmp(buf, "/") == 0 || strlen(buf) >= sizeof(t->target) ||
	    path_under(buf, "/proc") || path_under(buf, "/sys") || path_under(buf, "/dev"))
		FAIL("'%s' is not a clean absolute path below / (and not under /proc, /sys or /dev)", buf);
	strcpy(t->target, buf);
	t->size = 64 << 20;
	t->mode = 01777;
	for (char *o = opts; o && *o;) {
		size_t n = strcspn(o, ",");
		char one[64];

		if (n >= sizeof(one)) /* cut short, "size=1G" + junk could pass as "size=1G" */
			FAIL("tmpfs %s: option '%.20s...' is too long", buf, o);
		snprintf(one, sizeof(one), "%.*s", (int)n, o);
		if (strncmp(one, "size=", 5) == 0) {
			if (berth_parse_size(one + 5, 0, &t->size) < 0 || t->size < 4096 || t->size > MAX_TMPFS_SIZE)
				FAIL("tmpfs %s: size '%s' is not a size from 4K to 1T", buf, one + 5);
		} else if (strncmp(one, "mode=", 5) == 0) {
			char *end;
			unsigned long m = strtoul(one + 5, &end, 8);

			if (!one[5] || *end || m > 07777)
				FAIL("tmpfs %s: mode '%s' is not octal 0..7777", buf, one + 5);
			t->mode = (unsigned)m;
		} else {
			FAIL("tmpfs %s: unknown option '%s' (size=, mode=)", buf, one);
		}
		o += n + (o[n] == ',');
	}
	u->c.ntmpfs++;
	return 0;
}

static int set_readonly(struct berth_unit *u, const char *v, char *msg)
{
	return set_bool(&u->c.readonly, v, msg);
}
static int set_nnp(struct berth_unit *u, const char *v, char *msg)
{
	return set_bool(&u->c.no_new_privs, v, msg);
}
static int set_run_init(struct berth_unit *u, const char *v, char *msg)
{
	return set_bool(&u->run_init, v, msg);
}

static int set_caps(uint64_t *mask, const char *v, int allow_all, char *msg)
{
	cleanup_free char **w = NULL;
	size_t n;

	if (words(v, 64, &w, &n, msg) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int c = berth_cap_from_name(w[i]);

		if (c == -1)
			FAIL("unknown capability '%s'", w[i]);
		if (c == -2 && !allow_all)
			FAIL("'%s' is not allowed here: name each capability", w[i]);
		*mask |= c == -2 ? (1ULL << (CAP_LAST_CAP + 1)) - 1 : BERTH_CAP_MASK(c);
	}
	return 0;
}

static int set_add_cap(struct berth_unit *u, const char *v, char *msg)
{
	uint64_t add = 0;

	/* Checked apart from the lines before: a refused line must not make
	 * every later AddCapability= line fail too. */
	if (set_caps(&add, v, 0, msg) < 0)
		return -1;
	if (add & BERTH_CAP_MASK(CAP_SYS_ADMIN))
		FAIL("CAP_SYS_ADMIN is refused: it would let the container remount its image writable");
	u->c.cap_add |= add;
	return 0;
}

static int set_drop_cap(struct berth_unit *u, const char *v, char *msg)
{
	return set_caps(&u->c.cap_drop, v, 1, msg);
}

static int set_seccomp(struct berth_unit *u, const char *v, char *msg)
{
	if (strcmp(v, "default") == 0) {
		u->c.seccomp = BERTH_SECCOMP_DEFAULT;
	} else if (strcmp(v, "unconfined") == 0) {
		u->c.seccomp = BERTH_SECCOMP_UNCONFINED;
	} else {
		if (!clean_path(v) || strlen(v) >= sizeof(u->c.seccomp_profile))
			FAIL("'%s' is not default, unconfined or the absolute path of a JSON profile", v);
		u->c.seccomp = BERTH_SECCOMP_PROFILE;
		strcpy(u->c.seccomp_profile, v);
	}
	return 0;
}

static int set_userns(struct berth_unit *u, const char *v, char *msg)
{
	if (strcmp(v, "auto") == 0)
		return 0;
	if (strcmp(v, "manual") == 0) {
		u->userns_manual = 1;
		return 0;
	}
	if (strcmp(v, "host") == 0)
		FAIL("'host' is refused: every container has its own user namespace, so root in a container "
		     "is never root on the host");
	FAIL("'%s' is not auto or manual", v);
}

static int set_map(struct berth_idmap_line *m, int *n, const char *v, char *msg)
{
	uint64_t x[3];
	char buf[100], *p = buf, *f[3];

	if (*n >= BERTH_MAX_IDMAP)
		FAIL("more than %d lines", BERTH_MAX_IDMAP);
	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		FAIL("'%s' is not CONTAINER:HOST:LENGTH", v);
	for (int i = 0; i < 3; i++) {
		f[i] = p;
		p = strchr(p, ':');
		if ((i < 2) != (p != NULL))
			FAIL("'%s' is not CONTAINER:HOST:LENGTH", v);
		if (p)
			*p++ = '\0';
	}
	if (berth_parse_uint(f[0], 0, UINT32_MAX - 1, &x[0]) < 0 ||
	    berth_parse_uint(f[1], 0, UINT32_MAX - 1, &x[1]) < 0 ||
	    berth_parse_uint(f[2], 1, UINT32_MAX, &x[2]) < 0 || x[0] + x[2] > UINT32_MAX ||
	    x[1] + x[2] > UINT32_MAX)
		FAIL("'%s' is not CONTAINER:HOST:LENGTH within 32-bit ids", v);
	if (x[1] == 0)
		FAIL("'%s' maps host root into the container", v);
	for (int i = 0; i < *n; i++)
		if (x[0] < (uint64_t)m[i].inside + m[i].count && m[i].inside < x[0] + x[2])
			FAIL("'%s' overlaps an earlier line inside the container", v);
	m[*n] = (struct berth_idmap_line){ (uint32_t)x[0], (uint32_t)x[1], (uint32_t)x[2] };
	(*n)++;
	return 0;
}

static int set_uidmap(struct berth_unit *u, const char *v, char *msg)
{
	return set_map(u->c.uidmap, &u->c.nuidmap, v, msg);
}
static int set_gidmap(struct berth_unit *u, const char *v, char *msg)
{
	return set_map(u->c.gidmap, &u->c.ngidmap, v, msg);
}

static int set_network(struct berth_unit *u, const char *v, char *msg)
{
	(void)u;
	if (strcmp(v, "none") == 0)
		return 0;
	if (strcmp(v, "bridge") == 0 || strcmp(v, "host") == 0 || strncmp(v, "container:", 10) == 0)
		FAIL("'%s' is not available yet: a container has its own network namespace with only "
		     "loopback (Network=none)", v);
	FAIL("'%s' is not none", v);
}

static int set_type(struct berth_unit *u, const char *v, char *msg)
{
	if (strcasecmp(v, "simple") == 0)
		u->type = BERTH_TYPE_SIMPLE;
	else if (strcasecmp(v, "oneshot") == 0)
		u->type = BERTH_TYPE_ONESHOT;
	else
		FAIL("'%s' is not simple or oneshot", v);
	return 0;
}

static const char *const restart_names[] = { "no", "on-success", "on-failure", "on-abnormal",
					     "on-watchdog", "on-abort", "always" };

const char *berth_restart_name(enum berth_restart r)
{
	return (unsigned)r < sizeof(restart_names) / sizeof(restart_names[0]) ? restart_names[r] : "?";
}

static int set_restart(struct berth_unit *u, const char *v, char *msg)
{
	for (size_t i = 0; i < sizeof(restart_names) / sizeof(restart_names[0]); i++)
		if (strcasecmp(v, restart_names[i]) == 0) {
			u->restart = (enum berth_restart)i;
			return 0;
		}
	if (strcasecmp(v, "unless-stopped") == 0)
		FAIL("'unless-stopped' is Docker's spelling: use 'always' (a stop you ask for is never "
		     "undone by a restart)");
	if (strncasecmp(v, "on-failure:", 11) == 0)
		FAIL("'%s' is Docker's spelling: use 'on-failure' with [Unit] StartLimitBurst=", v);
	FAIL("'%s' is not one of no, on-success, on-failure, on-abnormal, on-watchdog, on-abort, always", v);
}

static int set_restart_sec(struct berth_unit *u, const char *v, char *msg)
{
	return set_time(&u->restart_us, v, 0, 100000, msg);
}
static int set_restart_max(struct berth_unit *u, const char *v, char *msg)
{
	return set_time(&u->restart_max_us, v, 0, 100000, msg);
}
static int set_restart_reset(struct berth_unit *u, const char *v, char *msg)
{
	return set_time(&u->restart_reset_us, v, 0, 0, msg);
}
static int set_timeout_stop(struct berth_unit *u, const char *v, char *msg)
{
	return set_time(&u->timeout_stop_us, v, 1, 1000, msg);
}

static int set_kill_signal(struct berth_unit *u, const char *v, char *msg)
{
	if (berth_parse_signal(v, &u->kill_signal) < 0)
		FAIL("'%s' is not a signal (TERM, SIGTERM or 1..64)", v);
	return 0;
}

static int set_pids(struct berth_unit *u, const char *v, char *msg)
{
	uint64_t x;

	if (strcmp(v, "infinity") == 0 || strcmp(v, "max") == 0) {
		u->c.pids_max = -1;
		return 0;
	}
	if (berth_parse_uint(v, 1, 4194304, &x) < 0)
		FAIL("'%s' is not a number in 1..4194304 or infinity", v);
	u->c.pids_max = (int64_t)x;
	return 0;
}

static int set_memory_max(struct berth_unit *u, const char *v, char *msg)
{
	int64_t x;

	if (berth_parse_size(v, 1, &x) < 0)
		FAIL("'%s' is not a size (e.g. 512M, 2G) or infinity", v);
	if (x != BERTH_INFINITY && x < (4 << 20))
		FAIL("'%s' is below 4M: not enough to start a container", v);
	u->c.memory_max = x == BERTH_INFINITY ? -1 : x;
	return 0;
}

static int set_cpu_quota(struct berth_unit *u, const char *v, char *msg)
{
	uint64_t x;
	size_t n = strlen(v);
	char num[16];

	if (n < 2 || n > sizeof(num) || v[n - 1] != '%')
		FAIL("'%s' is not a percentage (e.g. 50%%, 200%% for two CPUs)", v);
	memcpy(num, v, n - 1);
	num[n - 1] = '\0';
	if (berth_parse_uint(num, 1, 100000, &x) < 0)
		FAIL("'%s' is not a percentage in 1%%..100000%%", v);
	u->c.cpu_quota_us = (int64_t)x * 1000; /* of each 100 ms period */
	return 0;
}

static int set_cpu_weight(struct berth_unit *u, const char *v, char *msg)
{
	unsigned w = 0;

	if (set_uint(&w, v, 1, 10000, msg) < 0)
		return -1;
	u->c.cpu_weight = (int)w;
	return 0;
}

#define NR_OPEN_DEFAULT 1048576 /* fs.nr_open: what "infinity" can mean */

static int set_nofile(struct berth_unit *u, const char *v, char *msg)
{
	uint64_t s, h;
	char buf[64], *colon;

	if (strcmp(v, "infinity") == 0) {
		u->c.nofile_soft = u->c.nofile_hard = NR_OPEN_DEFAULT;
		return 0;
	}
	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		FAIL("'%s' is not N, SOFT:HARD or infinity", v);
	colon = strchr(buf, ':');
	if (colon)
		*colon = '\0';
	if (berth_parse_uint(buf, 1, NR_OPEN_DEFAULT, &s) < 0 ||
	    (colon && berth_parse_uint(colon + 1, 1, NR_OPEN_DEFAULT, &h) < 0))
		FAIL("'%s' is not N, SOFT:HARD (1..%d) or infinity", v, NR_OPEN_DEFAULT);
	if (!colon)
		h = s;
	if (s > h)
		FAIL("soft limit %llu is above the hard limit %llu", (unsigned long long)s, (unsigned long long)h);
	u->c.nofile_soft = s;
	u->c.nofile_hard = h;
	return 0;
}

static int set_log_max_size(struct berth_unit *u, const char *v, char *msg)
{
	if (berth_parse_size(v, 0, &u->log_max_size) < 0 || u->log_max_size < 4096 ||
	    u->log_max_size > (256 << 20))
		FAIL("'%s' is not a size from 4K to 256M", v);
	return 0;
}

static int set_log_max_files(struct berth_unit *u, const char *v, char *msg)
{
	return set_uint(&u->log_max_files, v, 0, 1000, msg);
}

/* --- the key table --- */

enum { SCALAR, LIST };

struct key {
	const char *section, *name;
	setter_fn *set;
	int kind;
	int slot; /* scalars: index in seen_line; aliases share one */
	struct berth_strv *(*list)(struct berth_unit *); /* lists: what "Key=" clears */
};

static struct berth_strv *l_after(struct berth_unit *u) { return &u->after; }
static struct berth_strv *l_requires(struct berth_unit *u) { return &u->requires; }
static struct berth_strv *l_wants(struct berth_unit *u) { return &u->wants; }
static struct berth_strv *l_doc(struct berth_unit *u) { return &u->documentation; }
static struct berth_strv *l_env(struct berth_unit *u) { return &u->env; }
static struct berth_strv *l_envfile(struct berth_unit *u) { return &u->env_files; }
static struct berth_strv *l_groups(struct berth_unit *u) { return &u->group_add; }

static const struct key keys[] = {
	{ "Unit", "Description", set_description, SCALAR, 0, NULL },
	{ "Unit", "Documentation", set_documentation, LIST, 0, l_doc },
	{ "Unit", "After", set_after, LIST, 0, l_after },
	{ "Unit", "Requires", set_requires, LIST, 0, l_requires },
	{ "Unit", "Wants", set_wants, LIST, 0, l_wants },
	{ "Unit", "AutoStart", set_autostart, SCALAR, 1, NULL },
	{ "Unit", "StartLimitIntervalSec", set_start_limit_interval, SCALAR, 2, NULL },
	{ "Unit", "StartLimitBurst", set_start_limit_burst, SCALAR, 3, NULL },
	{ "Container", "Image", set_image, SCALAR, 4, NULL },
	{ "Container", "Rootfs", set_rootfs, SCALAR, 5, NULL },
	{ "Container", "Exec", set_exec, SCALAR, 6, NULL },
	{ "Container", "Entrypoint", set_entrypoint, SCALAR, 7, NULL },
	{ "Container", "WorkingDir", set_workdir, SCALAR, 8, NULL },
	{ "Container", "User", set_user, SCALAR, 9, NULL },
	{ "Container", "Group", set_group, SCALAR, 10, NULL },
	{ "Container", "GroupAdd", set_group_add, LIST, 0, l_groups },
	{ "Container", "HostName", set_hostname, SCALAR, 11, NULL },
	{ "Container", "Environment", set_environment, LIST, 0, l_env },
	{ "Container", "EnvironmentFile", set_env_file, LIST, 0, l_envfile },
	{ "Container", "Volume", set_volume, LIST, 0, NULL },
	{ "Container", "Tmpfs", set_tmpfs, LIST, 0, NULL },
	{ "Container", "ReadOnly", set_readonly, SCALAR, 12, NULL },
	{ "Container", "AddCapability", set_add_cap, LIST, 0, NULL },
	{ "Container", "DropCapability", set_drop_cap, LIST, 0, NULL },
	{ "Container", "NoNewPrivileges", set_nnp, SCALAR, 13, NULL },
	{ "Container", "SeccompProfile", set_seccomp, SCALAR, 14, NULL },
	{ "Container", "UserNS", set_userns, SCALAR, 15, NULL },
	{ "Container", "UIDMap", set_uidmap, LIST, 0, NULL },
	{ "Container", "GIDMap", set_gidmap, LIST, 0, NULL },
	{ "Container", "Network", set_network, SCALAR, 16, NULL },
	{ "Container", "RunInit", set_run_init, SCALAR, 17, NULL },
	{ "Container", "PidsLimit", set_pids, SCALAR, 18, NULL },
	{ "Service", "Type", set_type, SCALAR, 19, NULL },
	{ "Service", "Restart", set_restart, SCALAR, 20, NULL },
	{ "Service", "RestartSec", set_restart_sec, SCALAR, 21, NULL },
	{ "Service", "RestartMaxDelaySec", set_restart_max, SCALAR, 22, NULL },
	{ "Service", "RestartResetSec", set_restart_reset, SCALAR, 23, NULL },
	{ "Service", "TimeoutStopSec", set_timeout_stop, SCALAR, 24, NULL },
	{ "Service", "KillSignal", set_kill_signal, SCALAR, 25, NULL },
	{ "Service", "PidsLimit", set_pids, SCALAR, 18, NULL },
	{ "Service", "TasksMax", set_pids, SCALAR, 18, NULL },
	{ "Service", "MemoryMax", set_memory_max, SCALAR, 26, NULL },
	{ "Service", "CPUQuota", set_cpu_quota, SCALAR, 27, NULL },
	{ "Service", "CPUWeight", set_cpu_weight, SCALAR, 28, NULL },
	{ "Service", "LimitNOFILE", set_nofile, SCALAR, 29, NULL },
	{ "Service", "LogMaxSize", set_log_max_size, SCALAR, 30, NULL },
	{ "Service", "LogMaxFiles", set_log_max_files, SCALAR, 31, NULL },
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

/* Keys of other tools that Berth refuses on purpose, with the reason. */
static const struct {
	const char *name, *why;
} refused[] = {
	{ "PodmanArgs", "raw runtime arguments cannot be reviewed; use the unit's keys" },
	{ "GlobalArgs", "raw runtime arguments cannot be reviewed; use the unit's keys" },
	{ "ContainersConfModule", "there is no containers.conf on Berth" },
	{ "SecurityLabelDisable", "there is no SELinux on Berth" },
	{ "SecurityLabelType", "there is no SELinux on Berth" },
	{ "SecurityLabelLevel", "there is no SELinux on Berth" },
	{ "SecurityLabelFileType", "there is no SELinux on Berth" },
	{ "SecurityLabelNested", "there is no SELinux on Berth" },
	{ "Privileged", "privileged containers do not exist on Berth" },
};

static const char *const sections[] = { "Unit", "Container", "Service" };

/* --- parsing --- */

struct parse {
	struct berth_unit *u;
	struct berth_diag *d;
	const char *path;
	const unsigned char *bad_line; /* lines the pre-scan reported: inih skips them */
	size_t nlines;
};

static void unknown_key(struct parse *p, int line, const char *section, const char *name)
{
	const char *cand[NKEYS];
	const char *best;
	size_t n = 0;

	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0) {
			berth_diag_error(p->d, p->path, line, "%s= belongs in [%s], not [%s]", name,
					 keys[i].section, section);
			return;
		}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (strcmp(refused[i].name, name) == 0) {
			berth_diag_error(p->d, p->path, line, "%s= is not supported: %s", name, refused[i].why);
			return;
		}
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].section, section) == 0)
			cand[n++] = keys[i].name;
	best = berth_did_you_mean(name, cand, n);
	if (!best) {
		/* A near miss in another section. */
		for (size_t i = 0; i < NKEYS; i++)
			cand[i] = keys[i].name;
		best = berth_did_you_mean(name, cand, NKEYS);
		for (size_t i = 0; best && i < NKEYS; i++)
			if (strcmp(keys[i].name, best) == 0) {
				berth_diag_error(p->d, p->path, line,
						 "unknown key '%s' in [%s]; did you mean [%s] %s=?", name,
						 section, keys[i].section, best);
				return;
			}
	}
	if (best)
		berth_diag_error(p->d, p->path, line, "unknown key '%s' in [%s]; did you mean '%s'?", name,
				 section, best);
	else
		berth_diag_error(p->d, p->path, line, "unknown key '%s' in [%s]", name, section);
}

static int known_section(const char *s)
{
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
		if (strcmp(sections[i], s) == 0)
			return 1;
	return 0;
}

static void clear_list(struct berth_unit *u, const struct key *k)
{
	if (k->list) {
		strv_clear(k->list(u));
	} else if (k->set == set_volume) {
		u->c.nvolumes = 0;
	} else if (k->set == set_tmpfs) {
		u->c.ntmpfs = 0;
	} else if (k->set == set_add_cap) {
		u->c.cap_add = 0;
	} else if (k->set == set_drop_cap) {
		u->c.cap_drop = 0;
	} else if (k->set == set_uidmap) {
		u->c.nuidmap = 0;
	} else if (k->set == set_gidmap) {
		u->c.ngidmap = 0;
	}
}

static int handler(void *user, const char *section, const char *name, const char *value, int line)
{
	struct parse *p = user;
	char msg[MSG];

	if (line > 0 && (size_t)line <= p->nlines && p->bad_line[line - 1])
		return 1;
	if (!section[0]) {
		berth_diag_error(p->d, p->path, line, "%s= is outside any section ([Unit], [Container], "
						      "[Service])", name);
		return 1;
	}
	if (strncmp(section, "X-", 2) == 0 || strncmp(name, "X-", 2) == 0)
		return 1; /* extensions: ignored, as systemd does */
	if (!known_section(section))
		return 1; /* reported once, at its header */
	for (size_t i = 0; i < NKEYS; i++) {
		const struct key *k = &keys[i];

		if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0)
			continue;
		if (k->kind == LIST && value[0] == '\0') {
			clear_list(p->u, k);
			return 1;
		}
		if (k->kind == SCALAR) {
			int *seen = &p->u->seen_line[k->slot];

			if (*seen) {
				berth_diag_error(p->d, p->path, line, "%s= is already set on line %d", name, *seen);
				return 1;
			}
			*seen = line;
			if (value[0] == '\0') {
				berth_diag_error(p->d, p->path, line, "%s= needs a value", name);
				return 1;
			}
		}
		if (k->set(p->u, value, msg) < 0)
			berth_diag_error(p->d, p->path, line, "%s=%s: %s", name, value, msg);
		return 1;
	}
	unknown_key(p, line, section, name);
	return 1;
}

/* What inih would take silently or truncate: checked per line first. Lines
 * reported here are skipped by the handler, so each problem is told once. */
static void prescan(struct parse *p, const char *text, size_t len, unsigned char *bad)
{
	size_t line = 0;

	for (size_t off = 0; off < len; line++) {
		const char *s = text + off, *nl = memchr(s, '\n', len - off);
		size_t n = nl ? (size_t)(nl - s) : len - off, b = 0, e = n;
		int ln = (int)line + 1;

		off += n + (nl != NULL);
		if (memchr(s, '\0', n)) {
			berth_diag_error(p->d, p->path, ln, "NUL byte");
			bad[line] = 1;
			continue;
		}
		if (n > 4000) {
			berth_diag_error(p->d, p->path, ln, "line longer than 4000 bytes");
			bad[line] = 1;
			continue;
		}
		if (line == 0 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
			b = 3;
		while (b < e && (s[b] == ' ' || s[b] == '\t'))
			b++;
		while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t' || s[e - 1] == '\r'))
			e--;
		if (b == e || s[b] == '#' || s[b] == ';')
			continue;
		if (s[e - 1] == '\\') {
			berth_diag_error(p->d, p->path, ln, "continuation lines are not supported; use the key "
							    "again on the next line");
			bad[line] = 1;
			continue;
		}
		if (s[b] == '[') {
			char sec[64];
			size_t sn = e - b - 2;

			if (s[e - 1] != ']' || e - b < 3 || sn >= sizeof(sec)) {
				berth_diag_error(p->d, p->path, ln, "malformed section header");
				bad[line] = 1;
				continue;
			}
			memcpy(sec, s + b + 1, sn);
			sec[sn] = '\0';
			if (!known_section(sec) && strncmp(sec, "X-", 2) != 0) {
				const char *best = berth_did_you_mean(sec, sections, 3);

				if (best)
					berth_diag_error(p->d, p->path, ln, "unknown section [%s]; did you mean [%s]?",
							 sec, best);
				else
					berth_diag_error(p->d, p->path, ln, "unknown section [%s] (sections: [Unit], "
									    "[Container], [Service])", sec);
			}
			continue;
		}
		{
			size_t k = 0;

			/* Within the line: TEXT is not NUL-terminated. */
			while (b + k < e && s[b + k] != '=' && s[b + k] != ':')
				k++;
			if (b + k >= e || s[b + k] != '=') {
				berth_diag_error(p->d, p->path, ln, "expected KEY=VALUE");
				bad[line] = 1;
			} else if (k > 48) {
				berth_diag_error(p->d, p->path, ln, "key name longer than 48 characters");
				bad[line] = 1;
			}
		}
	}
}

static void unit_defaults(struct berth_unit *u, const char *path, const char *name)
{
	memset(u, 0, sizeof(*u));
	berth_container_init(&u->c);
	snprintf(u->name, sizeof(u->name), "%s", name);
	snprintf(u->path, sizeof(u->path), "%s", path);
	snprintf(u->c.name, sizeof(u->c.name), "%s", name);
	u->c.env[0] = NULL;
	u->autostart = 1;
	u->start_limit_burst = 5;
	u->type = BERTH_TYPE_SIMPLE;
	u->restart = BERTH_RESTART_ON_FAILURE;
	u->restart_us = 1000000;
	u->restart_max_us = 60000000;
	u->restart_reset_us = 10000000;
	u->timeout_stop_us = 10000000;
	u->kill_signal = 15;
	u->log_max_size = 1 << 20;
	u->log_max_files = 10;
}

/* The argv and environment the runtime gets. */
static int build_vectors(struct berth_unit *u)
{
	size_t n = 0, e = 0;

	free(u->argv);
	free(u->envp);
	u->argv = calloc(u->entrypoint.n + u->exec.n + 3, sizeof(char *));
	u->envp = calloc(u->env.n + 2, sizeof(char *));
	if (!u->argv || !u->envp)
		return -1;
	if (u->run_init) {
		u->argv[n++] = (char *)BERTH_CONTAINER_INIT;
		u->argv[n++] = (char *)"--";
	}
	for (size_t i = 0; i < u->entrypoint.n; i++)
		u->argv[n++] = u->entrypoint.v[i];
	for (size_t i = 0; i < u->exec.n; i++)
		u->argv[n++] = u->exec.v[i];
	/* The last definition of a name wins; PATH has a default. */
	for (size_t i = 0; i < u->env.n; i++) {
		size_t kl = strcspn(u->env.v[i], "=") + 1;
		int later = 0;

		for (size_t j = i + 1; j < u->env.n && !later; j++)
			later = strncmp(u->env.v[i], u->env.v[j], kl) == 0;
		if (!later)
			u->envp[e++] = u->env.v[i];
	}
	{
		int has_path = 0;

		for (size_t i = 0; i < e; i++)
			has_path |= strncmp(u->envp[i], "PATH=", 5) == 0;
		if (!has_path)
			u->envp[e++] = (char *)"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	}
	for (size_t i = 0; i <= n && i < BERTH_MAX_ARGS + 1; i++)
		u->c.argv[i] = u->argv[i];
	for (size_t i = 0; i <= e && i < BERTH_MAX_ENV + 1; i++)
		u->c.env[i] = u->envp[i];
	return 0;
}

/* Checks of the unit as a whole, after every key was read. */
static void validate(struct berth_unit *u, struct berth_diag *d, int before)
{
	const char *f = u->path;
	struct berth_err err = { 0 };
	struct berth_container c;
	int *seen = u->seen_line;

	if (!seen[4] && !seen[5])
		berth_diag_error(d, f, 0, "[Container] needs Image= or Rootfs=");
	if (seen[4] && seen[5])
		berth_diag_error(d, f, seen[5], "Rootfs= and Image= (line %d) exclude each other", seen[4]);
	if (!u->exec.n && !u->entrypoint.n)
		berth_diag_error(d, f, 0, "[Container] needs Exec= (or Entrypoint=): baked images carry "
					  "no default command");
	if (u->entrypoint.n + u->exec.n + (u->run_init ? 2 : 0) > BERTH_MAX_ARGS)
		berth_diag_error(d, f, seen[6], "more than %d arguments in Entrypoint= and Exec=",
				 BERTH_MAX_ARGS);
	if (u->restart_max_us < u->restart_us)
		berth_diag_error(d, f, seen[22] ? seen[22] : seen[21],
				 "RestartMaxDelaySec= is below RestartSec=");
	if (u->type == BERTH_TYPE_ONESHOT && u->restart != BERTH_RESTART_NO &&
	    u->restart != BERTH_RESTART_ON_FAILURE)
		berth_diag_error(d, f, seen[20] ? seen[20] : seen[19],
				 "Type=oneshot allows only Restart=no or Restart=on-failure");
	if (u->c.cap_add & u->c.cap_drop) {
		int cap = __builtin_ctzll(u->c.cap_add & u->c.cap_drop);

		berth_diag_error(d, f, 0, "%s is both in AddCapability= and DropCapability=",
				 berth_cap_name(cap));
	}
	if (u->userns_manual && !u->c.nuidmap && !u->c.ngidmap)
		berth_diag_error(d, f, seen[15], "UserNS=manual needs UIDMap= (and GIDMap=) lines");
	for (int i = 0; i < u->c.nvolumes; i++)
		for (int j = 0; j < u->c.ntmpfs; j++)
			if (strcmp(u->c.volumes[i].target, u->c.tmpfs[j].target) == 0)
				berth_diag_error(d, f, 0, "%s is both a volume and a tmpfs", u->c.tmpfs[j].target);
	if (!u->c.hostname[0])
		snprintf(u->c.hostname, sizeof(u->c.hostname), "%s", u->name);
	if (build_vectors(u) < 0) {
		berth_diag_error(d, f, 0, "out of memory");
		return;
	}
	if (d->errors > before)
		return;
	/* The runtime's own checks, as a last net (with a stand-in id base). */
	c = u->c;
	c.uid_base = 1000000;
	if (u->user[0] && !isdigit((unsigned char)u->user[0]))
		c.uid = 0;
	if (u->group[0] && !isdigit((unsigned char)u->group[0]))
		c.gid = 0;
	if (berth_container_validate(&c, &err) < 0)
		berth_diag_error(d, f, 0, "%s", err.msg);
}

int berth_unit_parse(const char *text, size_t len, const char *path, const char *name,
		     struct berth_unit *u, struct berth_diag *diag)
{
	struct parse p = { .u = u, .d = diag, .path = path };
	cleanup_free char *copy = NULL;
	cleanup_free unsigned char *bad = NULL;
	int before = diag->errors, r;

	unit_defaults(u, path, name);
	for (size_t i = 0; i < len; i++) /* FNV-1a */
		u->hash = (u->hash ^ (unsigned char)text[i]) * 0x100000001b3ULL;
	u->hash ^= 0xcbf29ce484222325ULL;
	if (!berth_unit_name_valid(name)) {
		berth_diag_error(diag, path, 0, "'%s' is not a unit name ([a-z0-9][a-z0-9_.-]*, at most 63)",
				 name);
		return -1;
	}
	if (len > BERTH_UNIT_MAX_BYTES) {
		berth_diag_error(diag, path, 0, "larger than %d bytes", BERTH_UNIT_MAX_BYTES);
		return -1;
	}
	copy = malloc(len + 1);
	bad = calloc(len + 1, 1);
	if (!copy || !bad) {
		berth_diag_error(diag, path, 0, "out of memory");
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	p.bad_line = bad;
	p.nlines = len + 1;
	prescan(&p, text, len, bad);
	/* inih stops a line at a NUL: blank those lines (already reported). */
	for (size_t off = 0, line = 0; off < len; line++) {
		char *nl = memchr(copy + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (copy + off)) : len - off;

		if (bad[line])
			memset(copy + off, ' ', n);
		off += n + (nl != NULL);
	}
	r = ini_parse_string(copy, handler, &p);
	if (r > 0 && diag->errors == before)
		berth_diag_error(diag, path, r, "syntax error");
	validate(u, diag, before);
	return diag->errors > before ? -1 : 0;
}

void berth_unit_free(struct berth_unit *u)
{
	if (!u)
		return;
	strv_clear(&u->after);
	strv_clear(&u->requires);
	strv_clear(&u->wants);
	strv_clear(&u->documentation);
	strv_clear(&u->entrypoint);
	strv_clear(&u->exec);
	strv_clear(&u->env);
	strv_clear(&u->env_files);
	strv_clear(&u->group_add);
	free(u->argv);
	free(u->envp);
	free(u);
}

/* --- loading: the file, and what needs the image --- */

/* Look NAME up in the image's /etc/passwd (FIELDS 7) or /etc/group (4): its
 * id, and for passwd the primary gid. 0 found, -1 not. */
static int image_lookup(const char *rootfs, const char *file, const char *name, uint32_t *id,
			uint32_t *gid)
{
	char path[512], line[1024];
	FILE *f;
	int found = -1;

	snprintf(path, sizeof(path), "%s/%s", rootfs, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (found < 0 && fgets(line, sizeof(line), f)) {
		char *rest = line, *fld[4] = { 0 };

		/* strsep, not strtok: an empty field ("svc::1000:...") is a field. */
		line[strcspn(line, "\n")] = '\0';
		for (int i = 0; rest && i < 4; i++)
			fld[i] = strsep(&rest, ":");
		if (fld[0] && fld[2] && strcmp(fld[0], name) == 0) {
			uint64_t x;

			if (berth_parse_uint(fld[2], 0, UINT32_MAX - 1, &x) == 0) {
				*id = (uint32_t)x;
				if (gid && fld[3] && berth_parse_uint(fld[3], 0, UINT32_MAX - 1, &x) == 0)
					*gid = (uint32_t)x;
				found = 0;
			}
		}
	}
	fclose(f);
	return found;
}

static void resolve_ids(struct berth_unit *u, struct berth_diag *d)
{
	uint32_t pgid = u->c.uid, id;
	int user_by_name = u->user[0] && !isdigit((unsigned char)u->user[0]);

	if (user_by_name) {
		if (image_lookup(u->c.rootfs, "etc/passwd", u->user, &u->c.uid, &pgid) < 0)
			berth_diag_error(d, u->path, u->seen_line[9], "User=%s: no such user in %s/etc/passwd",
					 u->user, u->c.rootfs);
	}
	if (u->group[0] && !isdigit((unsigned char)u->group[0])) {
		if (image_lookup(u->c.rootfs, "etc/group", u->group, &u->c.gid, NULL) < 0)
			berth_diag_error(d, u->path, u->seen_line[10], "Group=%s: no such group in %s/etc/group",
					 u->group, u->c.rootfs);
	} else if (!u->group[0]) {
		/* No Group=: the user's primary group from the image, else the uid. */
		u->c.gid = user_by_name ? pgid : u->c.uid;
	}
	u->c.ngroups = 0;
	for (size_t i = 0; i < u->group_add.n; i++) {
		const char *g = u->group_add.v[i];
		uint64_t x;

		if (berth_parse_uint(g, 0, UINT32_MAX - 1, &x) == 0)
			id = (uint32_t)x;
		else if (image_lookup(u->c.rootfs, "etc/group", g, &id, NULL) < 0) {
			berth_diag_error(d, u->path, 0, "GroupAdd=%s: no such group in %s/etc/group", g,
					 u->c.rootfs);
			continue;
		}
		u->c.groups[u->c.ngroups++] = id;
	}
}

struct berth_unit *berth_unit_load(const char *path, const struct berth_unit_load_opts *o,
				   struct berth_diag *diag)
{
	cleanup_close int fd = -1;
	cleanup_free char *text = NULL;
	struct berth_unit *u;
	const char *base = strrchr(path, '/');
	char name[BERTH_NAME_MAX];
	struct stat st;
	size_t len = 0;
	int before = diag->errors;

	base = base ? base + 1 : path;
	if (berth_unit_name_of(base, name, sizeof(name)) < 0) {
		berth_diag_error(diag, path, 0, "not a unit file name (NAME.container, NAME of [a-z0-9_.-], "
						"starting with a letter or digit, at most 63)");
		return NULL;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		berth_diag_error(diag, path, 0, "%s", errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		berth_diag_error(diag, path, 0, "not a regular file");
		return NULL;
	}
	if (st.st_size > BERTH_UNIT_MAX_BYTES) {
		berth_diag_error(diag, path, 0, "larger than %d bytes", BERTH_UNIT_MAX_BYTES);
		return NULL;
	}
	if (o && o->check_owner && (st.st_uid != 0 || (st.st_mode & 022))) {
		berth_diag_error(diag, path, 0, "must be owned by root and not writable by group or others "
						"(owner %u, mode %04o)", (unsigned)st.st_uid,
				 (unsigned)(st.st_mode & 07777));
		return NULL;
	}
	text = malloc(BERTH_UNIT_MAX_BYTES + 1);
	u = calloc(1, sizeof(*u));
	if (!text || !u) {
		free(u);
		berth_diag_error(diag, path, 0, "out of memory");
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, text + len, BERTH_UNIT_MAX_BYTES + 1 - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			berth_diag_error(diag, path, 0, "read: %s", strerror(errno));
			free(u);
			return NULL;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > BERTH_UNIT_MAX_BYTES)
			break;
	}
	berth_unit_parse(text, len, path, name, u, diag);
	if (diag->errors == before) {
		const char *images = o && o->images_dir ? o->images_dir : BERTH_IMAGES_DIR;
		struct stat rs;
		int sr;

		if (u->image[0])
			snprintf(u->c.rootfs, sizeof(u->c.rootfs), "%s/%s", images, u->image);
		sr = stat(u->c.rootfs, &rs);
		if (sr < 0 || !S_ISDIR(rs.st_mode))
			berth_diag_error(diag, path, u->seen_line[4] ? u->seen_line[4] : u->seen_line[5],
					 "%s %s: %s", u->image[0] ? "image" : "root filesystem",
					 u->image[0] ? u->image : u->c.rootfs,
					 sr < 0 ? "not found" : "not a directory");
		else
			resolve_ids(u, diag);
	}
	if (diag->errors == before) {
		/* Names resolved from the image: their ids must fit the map too. */
		struct berth_container c = u->c;
		struct berth_err err = { 0 };

		c.uid_base = 1000000;
		if (berth_container_validate(&c, &err) < 0)
			berth_diag_error(diag, path, u->seen_line[9], "%s", err.msg);
	}
	if (diag->errors > before) {
		berth_unit_free(u);
		return NULL;
	}
	return u;
}

/* --- across units --- */

static ssize_t find_unit(struct berth_unit *const *u, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(u[i]->name, name) == 0)
			return (ssize_t)i;
	return -1;
}

/* Depth-first search: 0 white, 1 on the stack, 2 done. */
struct dfs {
	struct berth_unit *const *u;
	size_t n, *order, norder, *stack, depth;
	unsigned char *mark;
	struct berth_diag *d;
	int cycle;
};

static void visit(struct dfs *s, size_t i)
{
	const struct berth_strv *lists[3] = { &s->u[i]->requires, &s->u[i]->wants, &s->u[i]->after };

	if (s->mark[i] == 2)
		return;
	if (s->mark[i] == 1) {
		char path[2048];
		size_t k = s->depth, off = 0;

		while (k > 0 && s->stack[k - 1] != i)
			k--;
		for (size_t j = k - 1; j < s->depth && off < sizeof(path); j++)
			off += (size_t)snprintf(path + off, sizeof(path) - off, "%s -> ", s->u[s->stack[j]]->name);
		if (off < sizeof(path))
			snprintf(path + off, sizeof(path) - off, "%s", s->u[i]->name);
		berth_diag_error(s->d, s->u[i]->path, 0, "dependency cycle: %s", path);
		s->cycle = 1;
		return;
	}
	s->mark[i] = 1;
	s->stack[s->depth++] = i;
	for (int l = 0; l < 3; l++)
		for (size_t j = 0; j < lists[l]->n; j++) {
			ssize_t t = find_unit(s->u, s->n, lists[l]->v[j]);

			if (t >= 0)
				visit(s, (size_t)t);
		}
	s->depth--;
	s->mark[i] = 2;
	s->order[s->norder++] = i;
}

int berth_units_check(struct berth_unit *const *u, size_t n, size_t *order, struct berth_diag *diag)
{
	cleanup_free unsigned char *mark = calloc(n + 1, 1);
	cleanup_free size_t *stack = calloc(n + 1, sizeof(size_t));
	struct dfs s = { .u = u, .n = n, .order = order, .stack = stack, .mark = mark, .d = diag };
	int before = diag->errors;

	if (!mark || !stack) {
		berth_diag_error(diag, "units", 0, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		const struct berth_strv *lists[3] = { &u[i]->requires, &u[i]->wants, &u[i]->after };
		const char *key[3] = { "Requires", "Wants", "After" };

		for (int l = 0; l < 3; l++)
			for (size_t j = 0; j < lists[l]->n; j++) {
				const char *t = lists[l]->v[j];

				if (strcmp(t, u[i]->name) == 0)
					berth_diag_error(diag, u[i]->path, 0, "%s=%s: a unit cannot depend on itself",
							 key[l], t);
				else if (find_unit(u, n, t) < 0 && l == 0)
					berth_diag_error(diag, u[i]->path, 0, "Requires=%s: no such unit", t);
				else if (find_unit(u, n, t) < 0 && l == 1)
					berth_diag_warn(diag, u[i]->path, 0, "Wants=%s: no such unit", t);
			}
	}
	if (diag->errors > before)
		return -1;
	for (size_t i = 0; i < n && !s.cycle; i++)
		visit(&s, i);
	return diag->errors > before ? -1 : 0;
}

/* --- the environment of one start --- */

char **berth_unit_start_env(const struct berth_unit *u, struct berth_diag *diag)
{
	struct berth_strv all = { 0 };
	char **out = NULL;
	size_t bytes = 0, n = 0;
	char dir[256];
	const char *slash = strrchr(u->path, '/');
	int before = diag->errors;

	snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - u->path) : 1, slash ? u->path : ".");
	for (size_t i = 0; u->envp[i]; i++)
		if (strv_add(&all, u->envp[i]) < 0)
			goto oom;
	for (size_t i = 0; i < u->env_files.n; i++) {
		const char *spec = u->env_files.v[i];
		int optional = spec[0] == '-';
		char path[600], line[4096];
		FILE *f;
		int ln = 0;

		spec += optional;
		if (spec[0] == '/')
			snprintf(path, sizeof(path), "%s", spec);
		else
			snprintf(path, sizeof(path), "%s/%s", dir, spec);
		f = fopen(path, "re");
		if (!f) {
			if (!(optional && errno == ENOENT))
				berth_diag_error(diag, path, 0, "EnvironmentFile: %s", strerror(errno));
			continue;
		}
		while (fgets(line, sizeof(line), f)) {
			size_t l = strcspn(line, "\r\n");
			char *s = line, *eq;

			ln++;
			line[l] = '\0';
			while (*s == ' ' || *s == '\t')
				s++;
			if (!*s || *s == '#' || *s == ';')
				continue;
			if (strncmp(s, "export ", 7) == 0)
				s += 7;
			eq = strchr(s, '=');
			if (!eq || !env_name_valid(s, (size_t)(eq - s))) {
				berth_diag_error(diag, path, ln, "expected NAME=VALUE");
				continue;
			}
			if (all.n >= BERTH_MAX_ENV) {
				berth_diag_error(diag, path, ln, "more than %d variables", BERTH_MAX_ENV);
				break;
			}
			if (strv_add(&all, s) < 0) {
				fclose(f);
				goto oom;
			}
		}
		fclose(f);
	}
	if (diag->errors > before)
		goto fail;
	/* Later definitions win: keep the last of each name, in order. */
	for (size_t i = 0; i < all.n; i++)
		bytes += strlen(all.v[i]) + 1;
	out = malloc((all.n + 1) * sizeof(char *) + bytes);
	if (!out)
		goto oom;
	{
		char *p = (char *)(out + all.n + 1);

		for (size_t i = 0; i < all.n; i++) {
			size_t kl = strcspn(all.v[i], "=") + 1;
			int later = 0;

			for (size_t j = i + 1; j < all.n && !later; j++)
				later = strncmp(all.v[i], all.v[j], kl) == 0;
			if (later)
				continue;
			out[n++] = strcpy(p, all.v[i]);
			p += strlen(p) + 1;
		}
		out[n] = NULL;
	}
	strv_clear(&all);
	return out;
oom:
	berth_diag_error(diag, u->path, 0, "out of memory");
fail:
	strv_clear(&all);
	return NULL;
}
