/* Unit files: the keys. One setter per key checks and stores a value (the
 * parse pass); the table maps [Section] Key= to its setter. Pure code. */
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
#include "imgmeta.h"
#include "lib/cleanup.h"
#include "lib/values.h"
#include "unit-keys.h"

#define MSG BERTH_UNIT_MSG
#define MAX_TMPFS_SIZE (INT64_C(1) << 40)

/* --- string lists --- */

int berth_strv_add(struct berth_strv *l, const char *s)
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

void berth_strv_clear(struct berth_strv *l)
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
	/* Its log would be berthd's events log, /var/log/berth/events.log. */
	return strcmp(name, "events") != 0;
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

int berth_env_name_valid(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_')
			return 0;
	return 1;
}

/* A DNS name of at most MAX characters: labels of 1 to 63 letters, digits and
 * '-', neither starting nor ending with '-' (RFC 1123 section 2.1). */
static int dns_name_valid(const char *s, size_t max)
{
	size_t n = strlen(s), label = 0;

	if (n == 0 || n > max)
		return 0;
	for (size_t i = 0; i <= n; i++) {
		if (s[i] == '.' || s[i] == '\0') {
			if (label == 0 || label > 63 || s[i - 1] == '-')
				return 0;
			label = 0;
		} else if (isalnum((unsigned char)s[i]) || (s[i] == '-' && label > 0)) {
			label++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* The container's host name: the kernel takes at most 64 bytes. */
static int hostname_valid(const char *s)
{
	return dns_name_valid(s, 63);
}

/* --- setters: one per key; -1 with a message in MSG on a bad value --- */


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
		if (berth_strv_add(&u->documentation, w[i]) < 0)
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
		if (berth_strv_add(l, w[i]) < 0)
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
	if (strpbrk(v, ":@")) {
		/* NAME:TAG or NAME@sha256:HEX: an image of the store, resolved
		 * when the unit is loaded (berth_unit_from_text). */
		char name[129], tag[129], digest[BERTH_DIGEST_LEN + 1];
		struct berth_err err = { 0 };

		if (berth_image_ref_parse(v, name, tag, digest, &err) < 0)
			FAIL("%s", err.msg);
		if (strlen(v) >= sizeof(u->image_ref))
			FAIL("image reference too long");
		strcpy(u->image_ref, v);
		return 0;
	}
	if (strchr(v, '/'))
		FAIL("'%s': an image of the store needs a tag or a digest (%s:TAG or %s@sha256:...); a bare "
		     "name is an image baked in %s", v, v, v, BERTH_IMAGES_DIR);
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
	if (!berth_path_clean(v) || strcmp(v, "/") == 0 || strpbrk(v, ",:\\") || strlen(v) >= sizeof(u->c.rootfs))
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
		if (berth_strv_add(l, w[i]) < 0)
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
	if (!berth_path_clean(v) || strlen(v) >= sizeof(u->c.workdir))
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
		if (berth_strv_add(&u->group_add, w[i]) < 0)
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

		if (!eq || !berth_env_name_valid(w[i], (size_t)(eq - w[i])))
			FAIL("'%s' is not NAME=VALUE with NAME of letters, digits and '_'", w[i]);
		if (u->env.n >= BERTH_MAX_ENV - 1)
			FAIL("more than %d variables", BERTH_MAX_ENV - 1);
		if (berth_strv_add(&u->env, w[i]) < 0)
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
	if (berth_strv_add(&u->env_files, v) < 0)
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
		if (!berth_path_clean(buf))
			FAIL("source '%s' is not a clean absolute path", buf);
		if (strcmp(buf, "/") == 0)
			FAIL("the host's root cannot be a volume");
		for (size_t i = 0; i < sizeof(forbidden_sources) / sizeof(forbidden_sources[0]); i++) {
			if (path_under(buf, forbidden_sources[i]))
				FAIL("source '%s' is under %s, which no container may see", buf,
				     forbidden_sources[i]);
			if (path_under(forbidden_sources[i], buf))
				FAIL("source '%s' contains %s, which no container may see", buf,
				     forbidden_sources[i]);
		}
		if (path_under(BERTH_VOLUMES_DIR, buf) || path_under("/var/log/berth", buf))
			FAIL("source '%s' is or contains Berth's own state (%s, /var/log/berth); use a "
			     "volume name", buf, BERTH_VOLUMES_DIR);
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
	if (!berth_path_clean(dst) || strcmp(dst, "/") == 0 || strlen(dst) >= sizeof(vol->target))
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
	if (!berth_path_clean(buf) || strcmp(buf, "/") == 0 || strlen(buf) >= sizeof(t->target) ||
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
		if (!berth_path_clean(v) || strlen(v) >= sizeof(u->c.seccomp_profile))
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

/* --- networking (docs/networking.md) --- */

char *berth_net_port_str(const struct berth_net_port *p, int with_container, char *buf, size_t len)
{
	char ip[16] = "";

	if (p->host_ip)
		strcat(berth_format_ipv4(p->host_ip, ip), ":");
	if (with_container)
		snprintf(buf, len, "%s%u:%u/%s", ip, p->host_port, p->container_port,
			 p->proto == BERTH_PROTO_UDP ? "udp" : "tcp");
	else
		snprintf(buf, len, "%s%u/%s", ip, p->host_port, p->proto == BERTH_PROTO_UDP ? "udp" : "tcp");
	return buf;
}

/* An IPv4 address; IPv6 is named in the message, as people will try it. */
static int ipv4(const char *v, uint32_t *a, char *msg)
{
	if (berth_parse_ipv4(v, a) < 0)
		FAIL("'%.64s%s' is not an IPv4 address (a.b.c.d)%s", v, strlen(v) > 64 ? "..." : "",
		     strchr(v, ':') ? "; IPv6 is not supported" : "");
	return 0;
}

/* In the order of enum berth_net_mode. */
static const char *const net_modes[] = { "bridge", "none", "host", "container" };

const char *berth_net_mode_name(enum berth_net_mode m)
{
	return (unsigned)m < sizeof(net_modes) / sizeof(net_modes[0]) ? net_modes[m] : "?";
}

static int set_network(struct berth_unit *u, const char *v, char *msg)
{
	/* The values that are a mode alone: those before "container". */
	const size_t nmodes = BERTH_NET_CONTAINER;
	size_t n = strlen(v), sl = strlen(BERTH_UNIT_SUFFIX);
	enum berth_net_mode mode = BERTH_NET_CONTAINER;
	char name[BERTH_NAME_MAX] = "";

	for (size_t i = 0; i < nmodes; i++)
		if (strcasecmp(v, net_modes[i]) == 0)
			mode = (enum berth_net_mode)i;
	if (mode == BERTH_NET_CONTAINER) {
		/* container:NAME, or Quadlet's NAME.container for the same. */
		const char *t = strncasecmp(v, "container:", 10) == 0 ? v + 10 : v;
		size_t tl = strlen(t);

		if (t == v && !(n > sl && strcmp(v + n - sl, BERTH_UNIT_SUFFIX) == 0)) {
			const char *best = berth_did_you_mean(v, net_modes, nmodes);

			if (n > 8 && strcmp(v + n - 8, ".network") == 0)
				FAIL("'%s': Quadlet's named networks are not supported; the units with "
				     "Network=bridge share one bridge", v);
			if (best)
				FAIL("'%s' is not bridge, none, host or container:NAME; did you mean '%s'?", v, best);
			FAIL("'%s' is not bridge, none, host or container:NAME", v);
		}
		if (tl > sl && strcmp(t + tl - sl, BERTH_UNIT_SUFFIX) == 0)
			tl -= sl;
		if (tl >= sizeof(name))
			FAIL("'%.*s' is not a unit name", (int)tl, t);
		memcpy(name, t, tl);
		name[tl] = '\0';
		if (!berth_unit_name_valid(name))
			FAIL("'%s' is not a unit name", name);
		if (strcmp(name, u->name) == 0)
			FAIL("a unit cannot join its own network");
	}
	u->net.mode = mode;
	strcpy(u->net.container, name);
	return 0;
}

/* IPAddress= and its Quadlet spelling IP=: one setting. */
static int set_ip_key(struct berth_unit *u, const char *v, const char *key, char *msg)
{
	uint32_t a;

	u->net.ip_key = key;
	if (ipv4(v, &a, msg) < 0)
		return -1;
	if (a >> 24 == 0 || a >> 24 == 127 || a >> 24 >= 224)
		FAIL("'%s' cannot be a container's address (0.0.0.0/8, 127.0.0.0/8 and 224.0.0.0 and "
		     "above are refused)", v);
	u->net.ip = a;
	return 0;
}

static int set_ip_address(struct berth_unit *u, const char *v, char *msg)
{
	return set_ip_key(u, v, "IPAddress", msg);
}

static int set_ip(struct berth_unit *u, const char *v, char *msg)
{
	return set_ip_key(u, v, "IP", msg);
}

/* DNS= and AddHost=: a line is taken whole or not at all. */
static int set_dns(struct berth_unit *u, const char *v, char *msg)
{
	cleanup_free char **w = NULL;
	uint32_t a[BERTH_NET_MAX_DNS];
	size_t n;

	if (words(v, 64, &w, &n, msg) < 0)
		return -1;
	if ((size_t)u->net.ndns + n > BERTH_NET_MAX_DNS)
		FAIL("more than %d DNS servers (the resolver uses %d)", BERTH_NET_MAX_DNS, BERTH_NET_MAX_DNS);
	for (size_t i = 0; i < n; i++)
		if (ipv4(w[i], &a[i], msg) < 0)
			return -1;
	if (!u->net.ndns)
		u->net.dns_line = u->parse_line;
	for (size_t i = 0; i < n; i++)
		u->net.dns[u->net.ndns++] = a[i];
	return 0;
}

static int set_add_host(struct berth_unit *u, const char *v, char *msg)
{
	cleanup_free char **w = NULL;
	struct berth_unit_net *net = &u->net;
	struct berth_net_host h[BERTH_NET_MAX_HOSTS];
	size_t n;

	if (words(v, 64, &w, &n, msg) < 0)
		return -1;
	if ((size_t)net->nhosts + n > BERTH_NET_MAX_HOSTS)
		FAIL("more than %d AddHost= entries", BERTH_NET_MAX_HOSTS);
	for (size_t i = 0; i < n; i++) {
		char *ip = strchr(w[i], ':');

		/* Names are cut short in messages: the whole value is in front. */
		if (!ip)
			FAIL("'%.64s%s' is not NAME:IP", w[i], strlen(w[i]) > 64 ? "..." : "");
		*ip++ = '\0';
		if (!dns_name_valid(w[i], BERTH_NET_HOSTNAME_MAX))
			FAIL("'%.64s%s' is not a host name (RFC 1123: labels of letters, digits and '-', at most "
			     "253 characters)", w[i], strlen(w[i]) > 64 ? "..." : "");
		if (ipv4(ip, &h[i].ip, msg) < 0)
			return -1;
		/* /etc/hosts would use the first line only. */
		for (int j = 0; j < net->nhosts; j++)
			if (strcasecmp(net->hosts[j].name, w[i]) == 0)
				FAIL("'%.64s%s' is already in AddHost= on line %d", w[i], strlen(w[i]) > 64 ? "..." : "",
				     net->hosts[j].line);
		for (size_t j = 0; j < i; j++)
			if (strcasecmp(h[j].name, w[i]) == 0)
				FAIL("'%.64s%s' is given twice", w[i], strlen(w[i]) > 64 ? "..." : "");
		strcpy(h[i].name, w[i]);
		h[i].line = u->parse_line;
	}
	memcpy(net->hosts + net->nhosts, h, n * sizeof(h[0]));
	net->nhosts += (int)n;
	return 0;
}

/* [IP:]HOSTPORT:CONTAINERPORT[/PROTO] */
static int set_publish(struct berth_unit *u, const char *v, char *msg)
{
	static const char syntax[] = "[IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]";
	struct berth_unit_net *net = &u->net;
	struct berth_net_port p = { .proto = BERTH_PROTO_TCP, .line = u->parse_line };
	char buf[64], *f[4], *proto, *cur = buf;
	const char *hp, *cp;
	uint64_t x;
	int nf = 0;

	if (snprintf(buf, sizeof(buf), "%s", v) >= (int)sizeof(buf))
		FAIL("'%.40s...' is not %s", v, syntax);
	if (strchr(buf, '['))
		FAIL("'%s': IPv6 is not supported", v);
	proto = strchr(buf, '/');
	if (proto) {
		*proto++ = '\0';
		if (strcasecmp(proto, "udp") == 0)
			p.proto = BERTH_PROTO_UDP;
		else if (strcasecmp(proto, "tcp") != 0)
			FAIL("protocol '%s' is not tcp or udp", proto);
	}
	while (cur && nf < 4) {
		f[nf++] = cur;
		cur = strchr(cur, ':');
		if (cur)
			*cur++ = '\0';
	}
	if (cur || nf == 4)
		FAIL("'%s' is not %s", v, syntax);
	hp = nf >= 2 ? f[nf - 2] : "";
	cp = f[nf - 1];
	if (strchr(hp, '-') || strchr(cp, '-'))
		FAIL("port ranges are not supported; one PublishPort= per port");
	if (!hp[0])
		FAIL("'%s' has no host port: give %s (no random host ports on an appliance)", v, syntax);
	if (nf == 3) {
		if (!f[0][0])
			FAIL("'%s' is not %s: the address is empty", v, syntax);
		if (ipv4(f[0], &p.host_ip, msg) < 0)
			return -1;
	}
	if (berth_parse_uint(hp, 1, 65535, &x) < 0)
		FAIL("host port '%s' is not a port (1..65535)", hp);
	p.host_port = (uint16_t)x;
	/* The host's own services are not a container's to take over. */
	if (p.host_port == 22 && p.proto == BERTH_PROTO_TCP)
		FAIL("host port 22/tcp is the appliance's SSH port; publish another host port");
	if (p.host_port == 68 && p.proto == BERTH_PROTO_UDP)
		FAIL("host port 68/udp is the appliance's DHCP client; publish another host port");
	/* Published ports are translated as packets arrive from outside: the
	 * host's own loopback traffic never passes there. */
	if (p.host_ip >> 24 == 127)
		FAIL("'%s': a published port is reached from outside the host, never on a loopback address", v);
	if (berth_parse_uint(cp, 1, 65535, &x) < 0)
		FAIL("container port '%s' is not a port (1..65535)", cp);
	p.container_port = (uint16_t)x;
	for (int i = 0; i < net->npublish; i++) {
		const struct berth_net_port *q = &net->publish[i];

		if (q->proto == p.proto && q->host_port == p.host_port &&
		    (q->host_ip == p.host_ip || !q->host_ip || !p.host_ip))
			FAIL("host port %s is already published on line %d",
			     berth_net_port_str(&p, 0, buf, sizeof(buf)), q->line);
	}
	if (net->npublish >= BERTH_NET_MAX_PUBLISH)
		FAIL("more than %d published ports", BERTH_NET_MAX_PUBLISH);
	net->publish[net->npublish++] = p;
	return 0;
}

static int set_isolation(struct berth_unit *u, const char *v, char *msg)
{
	return set_bool(&u->net.isolation, v, msg);
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


static struct berth_strv *l_after(struct berth_unit *u) { return &u->after; }
static struct berth_strv *l_requires(struct berth_unit *u) { return &u->requires; }
static struct berth_strv *l_wants(struct berth_unit *u) { return &u->wants; }
static struct berth_strv *l_doc(struct berth_unit *u) { return &u->documentation; }
static struct berth_strv *l_env(struct berth_unit *u) { return &u->env; }
static struct berth_strv *l_envfile(struct berth_unit *u) { return &u->env_files; }
static struct berth_strv *l_groups(struct berth_unit *u) { return &u->group_add; }

const struct berth_unit_key berth_unit_keys[] = {
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
	{ "Container", "IPAddress", set_ip_address, SCALAR, 32, NULL },
	{ "Container", "IP", set_ip, SCALAR, 32, NULL },
	{ "Container", "PublishPort", set_publish, LIST, 0, NULL },
	{ "Container", "DNS", set_dns, LIST, 0, NULL },
	{ "Container", "AddHost", set_add_host, LIST, 0, NULL },
	{ "Container", "NetworkIsolation", set_isolation, SCALAR, 33, NULL },
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
const size_t berth_unit_nkeys = sizeof(berth_unit_keys) / sizeof(berth_unit_keys[0]);

/* Keys of other tools that Berth refuses on purpose, with the reason. */
const struct berth_unit_refused berth_unit_refused[] = {
	{ "PodmanArgs", "raw runtime arguments cannot be reviewed; use the unit's keys" },
	{ "GlobalArgs", "raw runtime arguments cannot be reviewed; use the unit's keys" },
	{ "ContainersConfModule", "there is no containers.conf on Berth" },
	{ "SecurityLabelDisable", "there is no SELinux on Berth" },
	{ "SecurityLabelType", "there is no SELinux on Berth" },
	{ "SecurityLabelLevel", "there is no SELinux on Berth" },
	{ "SecurityLabelFileType", "there is no SELinux on Berth" },
	{ "SecurityLabelNested", "there is no SELinux on Berth" },
	{ "Privileged", "privileged containers do not exist on Berth" },
	{ "IP6", "IPv6 is not supported: the bridge is IPv4 only" },
	{ "NetworkAlias", "network aliases are not supported" },
	{ "DNSSearch", "the container's resolv.conf lists only the DNS= servers" },
	{ "DNSOption", "the container's resolv.conf lists only the DNS= servers" },
	{ "ExposeHostPort", "exposing a port without publishing it does nothing; use PublishPort=" },
};

const size_t berth_unit_nrefused = sizeof(berth_unit_refused) / sizeof(berth_unit_refused[0]);

const char *const berth_unit_sections[3] = { "Unit", "Container", "Service" };

void berth_unit_key_clear(struct berth_unit *u, const struct berth_unit_key *k)
{
	if (k->list) {
		berth_strv_clear(k->list(u));
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
	} else if (k->set == set_publish) {
		u->net.npublish = 0;
	} else if (k->set == set_dns) {
		u->net.ndns = 0;
		u->net.dns_line = 0;
	} else if (k->set == set_add_host) {
		u->net.nhosts = 0;
	}
}
