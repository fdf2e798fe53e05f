/* Container descriptions: defaults (design.md "Containers") and validation. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/capability.h>

#include "caps.h"
#include "container.h"

static char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL
};

void berth_container_init(struct berth_container *c)
{
	memset(c, 0, sizeof(*c));
	c->readonly = 1;
	c->no_new_privs = 1;
	c->seccomp = BERTH_SECCOMP_DEFAULT;
	c->pids_max = 512;
	c->memory_max = -1;
	c->cpu_quota_us = -1;
	c->nofile_soft = 1024;
	c->nofile_hard = 524288;
	c->env[0] = default_env[0];
	c->stdio[0] = c->stdio[1] = c->stdio[2] = -1;
}

/* REL (no leading slash) is a regular file inside ROOTFS, reached without symlinks. */
static int image_has_file(const char *rootfs, const char *rel)
{
	struct open_how how = { .flags = O_PATH | O_CLOEXEC,
				.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS };
	int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC), fd = -1;
	struct stat st;
	int ok = 0;

	if (root >= 0)
		fd = (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
	ok = fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	if (fd >= 0)
		close(fd);
	if (root >= 0)
		close(root);
	return ok;
}

int berth_container_files(const struct berth_container *c, struct berth_volume out[BERTH_MAX_FILES])
{
	const struct {
		const char *source, *target;
		int optional;
	} f[BERTH_MAX_FILES] = {
		{ c->init_path, "/run/berth-init", 0 },
		{ c->hosts_path, "/etc/hosts", 1 },
		{ c->resolv_path, "/etc/resolv.conf", 1 },
	};
	int n = 0;

	for (int i = 0; i < BERTH_MAX_FILES; i++) {
		if (!f[i].source || (f[i].optional && !image_has_file(c->rootfs, f[i].target + 1)))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		snprintf(out[n].source, sizeof(out[n].source), "%s", f[i].source);
		snprintf(out[n].target, sizeof(out[n].target), "%s", f[i].target);
		n++;
	}
	return n;
}

int berth_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n >= BERTH_NAME_MAX || name[0] == '.' || name[0] == '-' || name[0] == '_')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '_' || ch == '.' || ch == '-'))
			return 0;
	}
	return 1;
}

int berth_path_clean(const char *p)
{
	if (p[0] != '/')
		return 0;
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

/* Explicit maps: well-formed, no overlap inside, never host id 0 (a container id
 * that is host root would undo the user namespace). */
static int check_map(const char *name, const char *what, const struct berth_idmap_line *m, int n,
		     struct berth_err *err)
{
	for (int i = 0; i < n; i++) {
		if (m[i].count == 0 || (uint64_t)m[i].inside + m[i].count > 0xFFFFFFFFull ||
		    (uint64_t)m[i].outside + m[i].count > 0xFFFFFFFFull)
			return berth_err_set(err, EINVAL, "%s: %s %u:%u:%u is out of range", name, what,
					     m[i].inside, m[i].outside, m[i].count);
		if (m[i].outside == 0)
			return berth_err_set(err, EINVAL, "%s: %s %u:%u:%u maps host root into the container",
					     name, what, m[i].inside, m[i].outside, m[i].count);
		for (int j = 0; j < i; j++)
			if (m[i].inside < m[j].inside + m[j].count && m[j].inside < m[i].inside + m[i].count)
				return berth_err_set(err, EINVAL, "%s: %s lines overlap inside the container",
						     name, what);
	}
	return 0;
}

static int id_mapped(const struct berth_idmap_line *m, int n, uint32_t id)
{
	if (n == 0)
		return id < BERTH_USERNS_SIZE;
	for (int i = 0; i < n; i++)
		if (id >= m[i].inside && id - m[i].inside < m[i].count)
			return 1;
	return 0;
}

const struct berth_idmap_line *berth_container_idmap(const struct berth_container *c, int gid, int *n)
{
	int own = gid ? c->ngidmap : c->nuidmap;

	*n = own ? own : (gid ? c->nuidmap : c->ngidmap);
	return (own ? gid : !gid) ? c->gidmap : c->uidmap;
}

int berth_container_validate(const struct berth_container *c, struct berth_err *err)
{
	int nu, ng;
	const struct berth_idmap_line *um = berth_container_idmap(c, 0, &nu);
	const struct berth_idmap_line *gm = berth_container_idmap(c, 1, &ng);

	if (!berth_name_valid(c->name))
		return berth_err_set(err, EINVAL, "invalid container name '%s'", c->name);
	/* ',' ':' and '\\' separate overlay options (ReadOnly=no): never in the path. */
	if (!berth_path_clean(c->rootfs) || strcmp(c->rootfs, "/") == 0 || strpbrk(c->rootfs, ",:\\"))
		return berth_err_set(err, EINVAL, "%s: root filesystem '%s' is not a clean absolute path "
					       "below /", c->name, c->rootfs);
	if (!c->argv[0] || !c->argv[0][0])
		return berth_err_set(err, EINVAL, "%s: no command to run", c->name);
	if (c->workdir[0] && !berth_path_clean(c->workdir) && strcmp(c->workdir, "/") != 0)
		return berth_err_set(err, EINVAL, "%s: working directory '%s' is not absolute", c->name,
				     c->workdir);
	/* Container id 0 must never be host root. */
	if (nu == 0 &&
	    (c->uid_base == 0 || (uint64_t)c->uid_base + BERTH_USERNS_SIZE > 0xFFFFFFFFull))
		return berth_err_set(err, EINVAL, "%s: invalid user namespace base %u", c->name,
				     (unsigned)c->uid_base);
	if (c->nuidmap > BERTH_MAX_IDMAP || c->ngidmap > BERTH_MAX_IDMAP ||
	    check_map(c->name, "UIDMap", c->uidmap, c->nuidmap, err) < 0 ||
	    check_map(c->name, "GIDMap", c->gidmap, c->ngidmap, err) < 0)
		return c->nuidmap > BERTH_MAX_IDMAP || c->ngidmap > BERTH_MAX_IDMAP
			       ? berth_err_set(err, EINVAL, "%s: more than %d id map lines", c->name,
					       BERTH_MAX_IDMAP)
			       : -1;
	if (!id_mapped(um, nu, c->uid) || !id_mapped(gm, ng, c->gid))
		return berth_err_set(err, EINVAL, "%s: user %u:%u is outside the container's id range",
				     c->name, (unsigned)c->uid, (unsigned)c->gid);
	for (int i = 0; i < c->ngroups; i++)
		if (!id_mapped(gm, ng, c->groups[i]))
			return berth_err_set(err, EINVAL, "%s: group %u is outside the container's id range",
					     c->name, (unsigned)c->groups[i]);
	for (int i = 0; i < c->nvolumes; i++) {
		const struct berth_volume *v = &c->volumes[i];

		if (!berth_path_clean(v->source) || !berth_path_clean(v->target) || strcmp(v->target, "/") == 0)
			return berth_err_set(err, EINVAL, "%s: volume %s:%s needs clean absolute paths",
					     c->name, v->source, v->target);
		/* The runtime's own view of the kernel must stay the kernel's. */
		for (const char *const *k2 = (const char *const[]){ "/proc", "/sys", "/dev", NULL }; *k2; k2++)
			if (strncmp(v->target, *k2, strlen(*k2)) == 0 &&
			    (v->target[strlen(*k2)] == '/' || v->target[strlen(*k2)] == '\0'))
				return berth_err_set(err, EINVAL, "%s: volume target %s is under %s", c->name,
						     v->target, *k2);
	}
	if (c->seccomp == BERTH_SECCOMP_PROFILE && !berth_path_clean(c->seccomp_profile))
		return berth_err_set(err, EINVAL, "%s: seccomp profile '%s' is not a clean absolute path",
				     c->name, c->seccomp_profile);
	if (c->pids_max == 0 || c->pids_max < -1)
		return berth_err_set(err, EINVAL, "%s: pids limit must be positive or max", c->name);
	if (c->cpu_weight < 0 || c->cpu_weight > 10000)
		return berth_err_set(err, EINVAL, "%s: cpu weight must be 1..10000", c->name);
	if (c->nofile_soft > c->nofile_hard)
		return berth_err_set(err, EINVAL, "%s: NOFILE soft limit above the hard limit", c->name);
	if (c->cap_add & ~((1ULL << 41) - 1))
		return berth_err_set(err, EINVAL, "%s: unknown capability", c->name);
	/* With CAP_SYS_ADMIN the default filter allows mount(2) (as Docker's does),
	 * and the image's read-only, idmapped mount is not flag-locked: root in the
	 * container could remount it writable and change a shared image. */
	if (berth_caps_bounding(c->cap_add, c->cap_drop) & BERTH_CAP_MASK(CAP_SYS_ADMIN))
		return berth_err_set(err, EPERM, "%s: CAP_SYS_ADMIN is refused: it would let the container "
					       "remount its image writable", c->name);
	return 0;
}
