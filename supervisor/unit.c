/* Unit files: the line checks inih cannot do, the parse pass over the key
 * table (unit-keys.c), validation of a unit on its own, the file and image
 * checks of a load, and the dependency checks across units. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/openat2.h>

#include <linux/capability.h>

#include "caps.h"
#include "imgmeta.h"
#include "imgstore.h"
#include "ini.h"
#include "lib/cleanup.h"
#include "lib/values.h"
#include "unit-keys.h"
#include "unit.h"

#define MSG BERTH_UNIT_MSG
#define MAX_TMPFS_SIZE (INT64_C(1) << 40)

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
	const char *cand[berth_unit_nkeys];
	const char *best;
	size_t n = 0;

	for (size_t i = 0; i < berth_unit_nkeys; i++)
		if (strcmp(berth_unit_keys[i].name, name) == 0) {
			berth_diag_error(p->d, p->path, line, "%s= belongs in [%s], not [%s]", name,
					 berth_unit_keys[i].section, section);
			return;
		}
	for (size_t i = 0; i < berth_unit_nrefused; i++)
		if (strcmp(berth_unit_refused[i].name, name) == 0) {
			berth_diag_error(p->d, p->path, line, "%s= is not supported: %s", name, berth_unit_refused[i].why);
			return;
		}
	for (size_t i = 0; i < berth_unit_nkeys; i++)
		if (strcmp(berth_unit_keys[i].section, section) == 0)
			cand[n++] = berth_unit_keys[i].name;
	best = berth_did_you_mean(name, cand, n);
	if (!best) {
		/* A near miss in another section. */
		for (size_t i = 0; i < berth_unit_nkeys; i++)
			cand[i] = berth_unit_keys[i].name;
		best = berth_did_you_mean(name, cand, berth_unit_nkeys);
		for (size_t i = 0; best && i < berth_unit_nkeys; i++)
			if (strcmp(berth_unit_keys[i].name, best) == 0) {
				berth_diag_error(p->d, p->path, line,
						 "unknown key '%s' in [%s]; did you mean [%s] %s=?", name,
						 section, berth_unit_keys[i].section, best);
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
	for (size_t i = 0; i < 3; i++)
		if (strcmp(berth_unit_sections[i], s) == 0)
			return 1;
	return 0;
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
	for (size_t i = 0; i < berth_unit_nkeys; i++) {
		const struct berth_unit_key *k = &berth_unit_keys[i];

		if (strcmp(k->section, section) != 0 || strcmp(k->name, name) != 0)
			continue;
		if (k->kind == LIST && value[0] == '\0') {
			berth_unit_key_clear(p->u, k);
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
		p->u->parse_line = line;
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
				const char *best = berth_did_you_mean(sec, berth_unit_sections, 3);

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
	u->net.mode = BERTH_NET_BRIDGE;
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

/* The other network keys belong to the container's own stack on the bridge:
 * with any other Network= they are errors, one per key, at the key's (first)
 * line. Without the runtime the setters have refused them already. */
static void validate_net(struct berth_unit *u, struct berth_diag *d)
{
	const struct berth_unit_net *n = &u->net;
	const int *seen = u->seen_line;
	struct net_key {
		const char *key;
		int line;
	} k[5], t;
	size_t nk = 0;
	char mode[BERTH_NAME_MAX + 16];
	const char *why;

	if (n->mode == BERTH_NET_BRIDGE)
		return;
	if (seen[32])
		k[nk++] = (struct net_key){ n->ip_key ? n->ip_key : "IPAddress", seen[32] };
	if (n->npublish)
		k[nk++] = (struct net_key){ "PublishPort", n->publish[0].line };
	if (n->ndns)
		k[nk++] = (struct net_key){ "DNS", n->dns_line };
	if (n->nhosts)
		k[nk++] = (struct net_key){ "AddHost", n->hosts[0].line };
	if (seen[33])
		k[nk++] = (struct net_key){ "NetworkIsolation", seen[33] };
	/* In file order, as the errors of the keys themselves. */
	for (size_t i = 1; i < nk; i++)
		for (size_t j = i; j > 0 && k[j - 1].line > k[j].line; j--) {
			t = k[j];
			k[j] = k[j - 1];
			k[j - 1] = t;
		}
	switch (n->mode) {
	case BERTH_NET_HOST:
		snprintf(mode, sizeof(mode), "host");
		why = "the container uses the host's network stack";
		break;
	case BERTH_NET_CONTAINER:
		snprintf(mode, sizeof(mode), "container:%s", n->container);
		why = "the network stack is the other unit's; set it there";
		break;
	default:
		snprintf(mode, sizeof(mode), "none");
		why = "the container has only loopback";
		break;
	}
	for (size_t i = 0; i < nk; i++)
		berth_diag_error(d, u->path, k[i].line, "%s= is not allowed with Network=%s (line %d): %s",
				 k[i].key, mode, seen[16], why);
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
	if (!u->exec.n && !u->entrypoint.n && !u->image_ref[0])
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
	validate_net(u, d);
	/* Joining another unit's network is Requires= and After= on it (as
	 * systemd adds implicit dependencies): it starts once that unit runs
	 * and stops when it is stopped. */
	if (u->net.mode == BERTH_NET_CONTAINER) {
		struct berth_strv *l[2] = { &u->requires, &u->after };

		for (int k = 0; k < 2; k++) {
			size_t i = 0;

			while (i < l[k]->n && strcmp(l[k]->v[i], u->net.container) != 0)
				i++;
			if (i == l[k]->n && berth_strv_add(l[k], u->net.container) < 0)
				berth_diag_error(d, f, 0, "out of memory");
		}
	}
	if (!u->c.hostname[0])
		snprintf(u->c.hostname, sizeof(u->c.hostname), "%s", u->name);
	if (build_vectors(u) < 0) {
		berth_diag_error(d, f, 0, "out of memory");
		return;
	}
	if (d->errors > before)
		return;
	/* The runtime's own checks, as a last net (with a stand-in id base;
	 * a store image's root is known once it is resolved at load). */
	c = u->c;
	c.uid_base = 1000000;
	if (u->image_ref[0] && !c.rootfs[0])
		snprintf(c.rootfs, sizeof(c.rootfs), "%s/rootfs", BERTH_STORE_DIR);
	if (u->image_ref[0] && !c.argv[0]) {
		/* The image's Entrypoint/Cmd, checked once it is resolved. */
		c.argv[0] = (char *)"/image-default";
		c.argv[1] = NULL;
	}
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
	berth_strv_clear(&u->after);
	berth_strv_clear(&u->requires);
	berth_strv_clear(&u->wants);
	berth_strv_clear(&u->documentation);
	berth_strv_clear(&u->entrypoint);
	berth_strv_clear(&u->exec);
	berth_strv_clear(&u->env);
	berth_strv_clear(&u->env_files);
	berth_strv_clear(&u->group_add);
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
	char line[1024];
	FILE *f;
	int found = -1, fd;
	struct stat st;

	/* The image's file, resolved inside the image (its symlinks lead
	 * nowhere else), a regular file of sane size: an image's FIFO or a
	 * link to a device must not hang berthd. */
	{
		int root = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
		struct open_how how = { .flags = O_RDONLY | O_CLOEXEC | O_NONBLOCK,
					.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV };

		if (root < 0)
			return -1;
		fd = (int)syscall(SYS_openat2, root, file, &how, sizeof(how));
		close(root);
	}
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (1 << 20) || !(f = fdopen(fd, "re"))) {
		close(fd);
		return -1;
	}
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

/* Prepend the NULL-terminated V to L. */
static int strv_prepend(struct berth_strv *l, char *const *v)
{
	struct berth_strv n = { 0 };

	for (size_t i = 0; v && v[i]; i++)
		if (berth_strv_add(&n, v[i]) < 0)
			goto oom;
	for (size_t i = 0; i < l->n; i++)
		if (berth_strv_add(&n, l->v[i]) < 0)
			goto oom;
	berth_strv_clear(l);
	*l = n;
	return 0;
oom:
	berth_strv_clear(&n);
	return -1;
}

/* Image=NAME:TAG or NAME@sha256:HEX: the store's image, and its configuration
 * as the unit's defaults, as Docker applies them: Entrypoint and Cmd when the
 * unit sets neither, the Entrypoint under the unit's Exec= (which replaces
 * Cmd), none of them under the unit's Entrypoint=; Env under the unit's
 * Environment=; WorkingDir and User when the unit has none. */
static void store_image(struct berth_unit *u, const char *store, struct berth_diag *d)
{
	struct berth_image_config cfg = { 0 };
	struct berth_err err = { 0 };
	int line = u->seen_line[4];
	int oom = 0;

	if (berth_store_resolve(store, u->image_ref, u->image_digest, &err) < 0 ||
	    berth_store_config(store, u->image_digest, &cfg, &err) < 0) {
		berth_diag_error(d, u->path, line, "Image=%s: %s", u->image_ref, err.msg);
		return;
	}
	if (berth_store_path(store, "rootfs", u->image_digest, NULL, u->c.rootfs, sizeof(u->c.rootfs)) < 0) {
		berth_diag_error(d, u->path, line, "Image=%s: store path too long", u->image_ref);
		goto out;
	}
	if (!u->entrypoint.n && !u->exec.n) {
		oom |= strv_prepend(&u->entrypoint, cfg.entrypoint) < 0 || strv_prepend(&u->exec, cfg.cmd) < 0;
	} else if (!u->entrypoint.n) {
		oom |= strv_prepend(&u->entrypoint, cfg.entrypoint) < 0;
	}
	oom |= strv_prepend(&u->env, cfg.env) < 0;
	if (oom) {
		berth_diag_error(d, u->path, line, "out of memory");
		goto out;
	}
	if (!u->entrypoint.n && !u->exec.n)
		berth_diag_error(d, u->path, 0, "[Container] needs Exec= (or Entrypoint=): image %s has neither "
						"Entrypoint nor Cmd", u->image_ref);
	if (u->entrypoint.n + u->exec.n + (u->run_init ? 2 : 0) > BERTH_MAX_ARGS)
		berth_diag_error(d, u->path, line, "more than %d arguments in the image's Entrypoint and Cmd "
						   "with the unit's", BERTH_MAX_ARGS);
	if (u->env.n > BERTH_MAX_ENV - 1)
		berth_diag_error(d, u->path, line, "more than %d variables in the image's Env with the unit's "
						   "Environment=", BERTH_MAX_ENV - 1);
	if (!u->c.workdir[0] && cfg.working_dir && cfg.working_dir[0]) {
		if (!berth_path_clean(cfg.working_dir) || strlen(cfg.working_dir) >= sizeof(u->c.workdir))
			berth_diag_error(d, u->path, line, "image %s: WorkingDir '%s' is not a clean absolute path",
					 u->image_ref, cfg.working_dir);
		else
			strcpy(u->c.workdir, cfg.working_dir);
	}
	if (!u->seen_line[9] && cfg.user && cfg.user[0]) {
		/* "uid", "uid:gid", "name" or "name:group" */
		char user[64], *group;
		uint64_t x;

		snprintf(user, sizeof(user), "%s", cfg.user);
		group = strchr(user, ':');
		if (group)
			*group++ = '\0';
		if (berth_parse_uint(user, 0, UINT32_MAX - 1, &x) == 0)
			u->c.uid = (uint32_t)x;
		snprintf(u->user, sizeof(u->user), "%s", user);
		if (group && !u->seen_line[10]) {
			if (berth_parse_uint(group, 0, UINT32_MAX - 1, &x) == 0)
				u->c.gid = (uint32_t)x;
			snprintf(u->group, sizeof(u->group), "%s", group);
		}
	}
	if (build_vectors(u) < 0)
		berth_diag_error(d, u->path, line, "out of memory");
	/* A tag moved to another image is a changed unit (reload restarts it). */
	for (const char *p = u->image_digest; *p; p++)
		u->hash = (u->hash ^ (unsigned char)*p) * 0x100000001b3ULL;
out:
	berth_image_config_free(&cfg);
}

struct berth_unit *berth_unit_from_text(const char *text, size_t len, const char *path, const char *name,
				       const struct berth_unit_load_opts *o, struct berth_diag *diag)
{
	struct berth_unit *u = calloc(1, sizeof(*u));
	int before = diag->errors;

	if (!u) {
		berth_diag_error(diag, path, 0, "out of memory");
		return NULL;
	}
	berth_unit_parse(text, len, path, name, u, diag);
	if (diag->errors == before && u->image_ref[0])
		store_image(u, o && o->store_dir ? o->store_dir : BERTH_STORE_DIR, diag);
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

char *berth_unit_read_fd(int fd, const char *path, const struct berth_unit_load_opts *o, size_t *len,
			 struct berth_diag *diag)
{
	char *text;
	struct stat st;

	*len = 0;
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
	if (!text) {
		berth_diag_error(diag, path, 0, "out of memory");
		return NULL;
	}
	/* pread from 0: a passed descriptor's offset is not ours to trust. */
	for (;;) {
		ssize_t r = pread(fd, text + *len, BERTH_UNIT_MAX_BYTES + 1 - *len, (off_t)*len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			berth_diag_error(diag, path, 0, "read: %s", strerror(errno));
			free(text);
			return NULL;
		}
		if (r == 0)
			break;
		*len += (size_t)r;
		if (*len > BERTH_UNIT_MAX_BYTES) {
			/* It grew while we read it. */
			berth_diag_error(diag, path, 0, "larger than %d bytes", BERTH_UNIT_MAX_BYTES);
			free(text);
			return NULL;
		}
	}
	text[*len] = '\0';
	return text;
}

struct berth_unit *berth_unit_load(const char *path, const struct berth_unit_load_opts *o,
				   struct berth_diag *diag)
{
	cleanup_close int fd = -1;
	cleanup_free char *text = NULL;
	const char *base = strrchr(path, '/');
	char name[BERTH_NAME_MAX];
	size_t len;

	base = base ? base + 1 : path;
	if (berth_unit_name_of(base, name, sizeof(name)) < 0) {
		berth_diag_error(diag, path, 0, "not a unit file name (NAME.container, NAME other than 'events', of [a-z0-9_.-], "
						"starting with a letter or digit, at most 63)");
		return NULL;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		berth_diag_error(diag, path, 0, "%s", errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return NULL;
	}
	text = berth_unit_read_fd(fd, path, o, &len, diag);
	if (!text)
		return NULL;
	return berth_unit_from_text(text, len, path, name, o, diag);
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

/* A host port or a fixed address claimed by a unit. */
struct claim {
	const struct berth_unit *u;
	const struct berth_net_port *p; /* NULL for the address */
};

static int cmp_int(long long a, long long b)
{
	return (a > b) - (a < b);
}

/* By protocol and host port, then unit name and line: in a run of one port,
 * the unit that sorts first keeps it. */
static int port_cmp(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;
	int c = cmp_int(x->p->proto, y->p->proto);

	if (!c)
		c = cmp_int(x->p->host_port, y->p->host_port);
	if (!c)
		c = strcmp(x->u->name, y->u->name);
	return c ? c : cmp_int(x->p->line, y->p->line);
}

static int unit_name_cmp(const void *a, const void *b)
{
	const struct berth_unit *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int ip_cmp(const void *a, const void *b)
{
	const struct claim *x = a, *y = b;
	int c = cmp_int(x->u->net.ip, y->u->net.ip);

	return c ? c : strcmp(x->u->name, y->u->name);
}

/* A host port (protocol, port, address; 0.0.0.0 overlaps every address) or
 * a fixed address claimed by two units: an error on the unit whose name
 * sorts later, naming the first claim, so which unit berthd drops does not
 * depend on the order of the set. Sorted, not pairwise: 1024 units with 16
 * ports each are 16384 claims. */
static void check_claims(struct berth_unit *const *u, size_t n, struct berth_diag *d)
{
	cleanup_free struct claim *ports = NULL, *ips = NULL;
	size_t np = 0, ni = 0, run = 0;

	for (size_t i = 0; i < n; i++) {
		np += (size_t)u[i]->net.npublish;
		ni += u[i]->net.ip != 0;
	}
	ports = calloc(np + 1, sizeof(*ports));
	ips = calloc(ni + 1, sizeof(*ips));
	if (!ports || !ips) {
		berth_diag_error(d, "units", 0, "out of memory");
		return;
	}
	np = ni = 0;
	for (size_t i = 0; i < n; i++) {
		for (int j = 0; j < u[i]->net.npublish; j++)
			ports[np++] = (struct claim){ u[i], &u[i]->net.publish[j] };
		if (u[i]->net.ip)
			ips[ni++] = (struct claim){ u[i], NULL };
	}
	/* The rules of every published port go to the kernel in one nftables
	 * batch of bounded size: past the total, refuse rather than fail every
	 * start later. */
	if (np > BERTH_NET_PUBLISH_TOTAL) {
		/* On the unit that crosses the limit in name order, whatever the
		 * order of the set (as for a port claimed twice). */
		size_t k = 0, nu = 0;
		cleanup_free const struct berth_unit **by_name = calloc(n + 1, sizeof(*by_name));

		if (!by_name) {
			berth_diag_error(d, "units", 0, "out of memory");
			return;
		}
		for (size_t i = 0; i < n; i++)
			if (u[i]->net.npublish)
				by_name[nu++] = u[i];
		qsort(by_name, nu, sizeof(*by_name), unit_name_cmp);
		for (size_t i = 0; i < nu; i++) {
			k += (size_t)by_name[i]->net.npublish;
			if (k > BERTH_NET_PUBLISH_TOTAL) {
				berth_diag_error(d, by_name[i]->path, by_name[i]->net.publish[0].line,
						 "PublishPort=: more than %d published ports across all units (%zu)",
						 BERTH_NET_PUBLISH_TOTAL, np);
				break;
			}
		}
	}
	qsort(ports, np, sizeof(*ports), port_cmp);
	qsort(ips, ni, sizeof(*ips), ip_cmp);
	for (size_t i = 0; i < np; i++) {
		const struct berth_net_port *p = ports[i].p;

		if (i == 0 || ports[i - 1].p->proto != p->proto || ports[i - 1].p->host_port != p->host_port)
			run = i;
		for (size_t j = run; j < i; j++) {
			const struct berth_net_port *q = ports[j].p;
			char a[48], b[48], h[32];

			if (ports[j].u == ports[i].u || (q->host_ip != p->host_ip && q->host_ip && p->host_ip))
				continue;
			berth_diag_error(d, ports[i].u->path, p->line,
					 "PublishPort=%s: host port %s is already published by %s:%d (PublishPort=%s)",
					 berth_net_port_str(p, 1, a, sizeof(a)), berth_net_port_str(p, 0, h, sizeof(h)),
					 ports[j].u->path, q->line, berth_net_port_str(q, 1, b, sizeof(b)));
			break;
		}
	}
	for (size_t i = 1; i < ni; i++) {
		const struct berth_unit *x = ips[i].u, *first = NULL;
		char a[16];

		for (size_t j = i; j-- > 0 && ips[j].u->net.ip == x->net.ip;)
			if (ips[j].u != x)
				first = ips[j].u;
		if (first)
			berth_diag_error(d, x->path, x->seen_line[32], "%s=%s: already the address of %s:%d (%s=)",
					 x->net.ip_key ? x->net.ip_key : "IPAddress", berth_format_ipv4(x->net.ip, a),
					 first->path, first->seen_line[32],
					 first->net.ip_key ? first->net.ip_key : "IPAddress");
	}
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
				else if (find_unit(u, n, t) < 0 && l == 0 &&
					 !(u[i]->net.mode == BERTH_NET_CONTAINER && strcmp(t, u[i]->net.container) == 0))
					berth_diag_error(diag, u[i]->path, 0, "Requires=%s: no such unit", t);
				else if (find_unit(u, n, t) < 0 && l == 1)
					berth_diag_warn(diag, u[i]->path, 0, "Wants=%s: no such unit", t);
			}
		if (u[i]->net.mode == BERTH_NET_CONTAINER) {
			const char *t = u[i]->net.container;

			if (strcmp(t, u[i]->name) == 0)
				berth_diag_error(diag, u[i]->path, u[i]->seen_line[16],
						 "Network=container:%s: a unit cannot join its own network", t);
			else if (find_unit(u, n, t) < 0)
				berth_diag_error(diag, u[i]->path, u[i]->seen_line[16],
						 "Network=container:%s: no such unit", t);
			else if (u[find_unit(u, n, t)]->net.mode == BERTH_NET_HOST)
				/* It would share the host's stack without saying so
				 * (and without Network=host's score). */
				berth_diag_error(diag, u[i]->path, u[i]->seen_line[16],
						 "Network=container:%s: %s has Network=host; say Network=host here", t, t);
		}
	}
	check_claims(u, n, diag);
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
		if (berth_strv_add(&all, u->envp[i]) < 0)
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
		{
			/* A regular file, not through a symlink and never a FIFO that
			 * would block berthd's loop. */
			int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
			struct stat st;

			if (fd < 0) {
				if (!(optional && errno == ENOENT))
					berth_diag_error(diag, path, 0, "EnvironmentFile: %s",
							 errno == ELOOP ? "is a symbolic link" : strerror(errno));
				continue;
			}
			if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || !(f = fdopen(fd, "r"))) {
				berth_diag_error(diag, path, 0, "EnvironmentFile: not a regular file");
				close(fd);
				continue;
			}
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
			if (!eq || !berth_env_name_valid(s, (size_t)(eq - s))) {
				berth_diag_error(diag, path, ln, "expected NAME=VALUE");
				continue;
			}
			if (all.n >= BERTH_MAX_ENV) {
				berth_diag_error(diag, path, ln, "more than %d variables", BERTH_MAX_ENV);
				break;
			}
			if (berth_strv_add(&all, s) < 0) {
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
	berth_strv_clear(&all);
	return out;
oom:
	berth_diag_error(diag, u->path, 0, "out of memory");
fail:
	berth_strv_clear(&all);
	return NULL;
}
