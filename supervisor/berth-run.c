/* berth-run: start one container in the foreground with Berth's runtime, the
 * way `crun run` does for OCI bundles. For operators' debugging, the tests and
 * the benchmarks; berthd uses the same runtime for units. Root only. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "container.h"
#include "idmap.h"

static pid_t child = -1;

static void forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: berth-run [options] NAME ROOTFS [--] COMMAND [ARG...]\n"
		   "  -u, --user UID[:GID]     user inside the container (default 0:0)\n"
		   "  -G, --group-add GID      supplementary group (repeatable)\n"
		   "  -h, --hostname NAME      (default: NAME)\n"
		   "  -e, --env KEY=VALUE      (repeatable; PATH has a default)\n"
		   "  -w, --workdir DIR\n"
		   "      --cap-add CAP, --cap-drop CAP   adjust the default capabilities (ALL allowed)\n"
		   "      --seccomp default|unconfined|/PROFILE.json  (a Docker/OCI profile)\n"
		   "      --read-write          writable root: overlay with a tmpfs upper layer\n"
		   "  -v, --volume SRC:DST[:rw] bind SRC at DST, read-only unless :rw\n"
		   "      --pids-limit N|max    (default 512)\n"
		   "      --memory-max BYTES|max, --cpu-quota USEC-PER-100MS, --cpu-weight 1..10000\n"
		   "      --uid-base N          host id of container id 0 (default: allocated)\n"
		   "      --uidmap IN:OUT:N, --gidmap IN:OUT:N  explicit id map lines (up to 5 each;\n"
		   "                            one given alone serves for both)\n"
		   "      --pool START:COUNT    id pool to allocate from (default 1000000:67108864)\n"
		   "      --version\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	errno = 0;
	*out = strtoull(s, &end, 10);
	return (errno || end == s || *end || s[0] == '-') ? -1 : 0;
}

static int parse_limit(const char *s, int64_t *out)
{
	uint64_t v;

	if (strcmp(s, "max") == 0) {
		*out = -1;
		return 0;
	}
	if (parse_u64(s, &v) < 0 || v > INT64_MAX)
		return -1;
	*out = (int64_t)v;
	return 0;
}

static int parse_cap(const char *s, uint64_t *mask)
{
	int c = berth_cap_from_name(s);

	if (c == -1)
		return -1;
	*mask |= c == -2 ? ~0ULL >> (64 - 41) : BERTH_CAP_MASK(c);
	return 0;
}

int main(int argc, char **argv)
{
	enum { O_CAPADD = 256, O_CAPDROP, O_SECCOMP, O_PIDS, O_MEM, O_CPUQ, O_CPUW, O_BASE, O_POOL, O_VER,
	       O_RW, O_UIDMAP, O_GIDMAP };
	static const struct option opts[] = {
		{ "user", 1, 0, 'u' },	     { "group-add", 1, 0, 'G' },  { "hostname", 1, 0, 'h' },
		{ "env", 1, 0, 'e' },	     { "workdir", 1, 0, 'w' },	  { "volume", 1, 0, 'v' },
		{ "cap-add", 1, 0, O_CAPADD }, { "cap-drop", 1, 0, O_CAPDROP }, { "seccomp", 1, 0, O_SECCOMP },
		{ "pids-limit", 1, 0, O_PIDS }, { "memory-max", 1, 0, O_MEM }, { "cpu-quota", 1, 0, O_CPUQ },
		{ "cpu-weight", 1, 0, O_CPUW }, { "uid-base", 1, 0, O_BASE }, { "pool", 1, 0, O_POOL },
		{ "version", 0, 0, O_VER },     { "help", 0, 0, 'H' },	  { "read-write", 0, 0, O_RW },
		{ "uidmap", 1, 0, O_UIDMAP },   { "gidmap", 1, 0, O_GIDMAP },
		{ 0, 0, 0, 0 },
	};
	struct berth_container c;
	struct berth_running r;
	struct berth_idpool pool = { 1000000, 1024 * BERTH_USERNS_SIZE };
	struct berth_err err = { 0 };
	char buf[BERTH_ERR_MSG + 128];
	int opt, nenv = 1, have_base = 0, fresh = 0, status;
	uint64_t v, w;

	berth_container_init(&c);
	/* For the tests of the clone fallback on kernels that have clone3. */
	c.clone_fallback = getenv("BERTH_TEST_CLONE_FALLBACK") != NULL;
	while ((opt = getopt_long(argc, argv, "+u:G:h:e:w:v:", opts, NULL)) != -1) {
		int bad = 0;

		switch (opt) {
		case 'u': {
			char *colon = strchr(optarg, ':');

			if (colon)
				*colon = '\0';
			bad = parse_u64(optarg, &v) < 0 || (colon && parse_u64(colon + 1, &w) < 0) ||
			      v > UINT32_MAX - 1 || (colon && w > UINT32_MAX - 1);
			c.uid = (uid_t)v;
			c.gid = colon ? (gid_t)w : (gid_t)v;
			break;
		}
		case 'G':
			bad = c.ngroups >= BERTH_MAX_GROUPS || parse_u64(optarg, &v) < 0;
			if (!bad)
				c.groups[c.ngroups++] = (gid_t)v;
			break;
		case 'h':
			bad = snprintf(c.hostname, sizeof(c.hostname), "%s", optarg) >= (int)sizeof(c.hostname);
			break;
		case 'e':
			bad = nenv >= BERTH_MAX_ENV || !strchr(optarg, '=');
			if (!bad) {
				if (strncmp(optarg, "PATH=", 5) == 0)
					c.env[0] = optarg;
				else
					c.env[nenv++] = optarg;
			}
			break;
		case 'w':
			bad = snprintf(c.workdir, sizeof(c.workdir), "%s", optarg) >= (int)sizeof(c.workdir);
			break;
		case 'v': {
			/* SRC:DST[:ro|rw], exactly; no field empty, nothing truncated. */
			struct berth_volume *vol = &c.volumes[c.nvolumes];
			char *b = strchr(optarg, ':'), *mode = b ? strchr(b + 1, ':') : NULL;

			if (b)
				*b++ = '\0';
			if (mode)
				*mode++ = '\0';
			bad = c.nvolumes >= BERTH_MAX_VOLUMES || !b || !optarg[0] || !b[0] ||
			      (mode && strcmp(mode, "rw") && strcmp(mode, "ro")) ||
			      strlen(optarg) >= sizeof(vol->source) || strlen(b) >= sizeof(vol->target);
			if (!bad) {
				snprintf(vol->source, sizeof(vol->source), "%s", optarg);
				snprintf(vol->target, sizeof(vol->target), "%s", b);
				vol->writable = mode && strcmp(mode, "rw") == 0;
				c.nvolumes++;
			}
			break;
		}
		case O_CAPADD:
			bad = parse_cap(optarg, &c.cap_add) < 0;
			break;
		case O_CAPDROP:
			bad = parse_cap(optarg, &c.cap_drop) < 0;
			break;
		case O_SECCOMP:
			if (strcmp(optarg, "unconfined") == 0) {
				c.seccomp = BERTH_SECCOMP_UNCONFINED;
			} else if (optarg[0] == '/') {
				c.seccomp = BERTH_SECCOMP_PROFILE;
				bad = snprintf(c.seccomp_profile, sizeof(c.seccomp_profile), "%s", optarg) >=
				      (int)sizeof(c.seccomp_profile);
			} else {
				bad = strcmp(optarg, "default") != 0;
			}
			break;
		case O_PIDS:
			bad = parse_limit(optarg, &c.pids_max) < 0;
			break;
		case O_MEM:
			bad = parse_limit(optarg, &c.memory_max) < 0;
			break;
		case O_CPUQ:
			bad = parse_limit(optarg, &c.cpu_quota_us) < 0;
			break;
		case O_CPUW:
			bad = parse_u64(optarg, &v) < 0 || v < 1 || v > 10000;
			c.cpu_weight = (int)v;
			break;
		case O_BASE:
			bad = parse_u64(optarg, &v) < 0 || v > UINT32_MAX;
			c.uid_base = (uint32_t)v;
			have_base = 1;
			break;
		case O_POOL: {
			char *colon = strchr(optarg, ':');

			if (colon)
				*colon = '\0';
			bad = !colon || parse_u64(optarg, &v) < 0 || parse_u64(colon + 1, &w) < 0 ||
			      v == 0 || v > UINT32_MAX || w < BERTH_USERNS_SIZE || v + w - 1 > UINT32_MAX;
			pool.start = (uint32_t)v;
			pool.count = (uint32_t)w;
			break;
		}
		case O_UIDMAP:
		case O_GIDMAP: {
			struct berth_idmap_line *m = opt == O_UIDMAP ? c.uidmap : c.gidmap;
			int *n = opt == O_UIDMAP ? &c.nuidmap : &c.ngidmap;
			char extra;

			bad = *n >= BERTH_MAX_IDMAP ||
			      sscanf(optarg, "%u:%u:%u%c", &m[*n].inside, &m[*n].outside, &m[*n].count, &extra) != 3;
			if (!bad)
				(*n)++;
			break;
		}
		case O_RW:
			c.readonly = 0;
			break;
		case O_VER:
			puts("berth-run " BERTH_VERSION);
			return 0;
		case 'H':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (bad) {
			const char *oname = "?";

			for (const struct option *o = opts; o->name; o++)
				if (o->val == opt)
					oname = o->name;
			fprintf(stderr, "berth-run: invalid value for --%s: %s\n", oname, optarg);
			return 2;
		}
	}
	if (argc - optind < 3) {
		usage(stderr);
		return 2;
	}
	if (snprintf(c.name, sizeof(c.name), "%s", argv[optind]) >= (int)sizeof(c.name) ||
	    snprintf(c.rootfs, sizeof(c.rootfs), "%s", argv[optind + 1]) >= (int)sizeof(c.rootfs)) {
		fprintf(stderr, "berth-run: name or root filesystem path too long\n");
		return 2;
	}
	if (argc - optind - 2 > BERTH_MAX_ARGS) {
		fprintf(stderr, "berth-run: more than %d arguments\n", BERTH_MAX_ARGS);
		return 2;
	}
	for (int i = optind + 2; i < argc; i++)
		c.argv[i - optind - 2] = argv[i];
	if (!c.hostname[0])
		snprintf(c.hostname, sizeof(c.hostname), "%.64s", c.name);
	if (!berth_name_valid(c.name)) {
		fprintf(stderr, "berth-run: invalid container name '%s'\n", c.name);
		return 2;
	}
	if (c.nuidmap || c.ngidmap)
		have_base = 1; /* explicit maps: nothing to allocate */
	if (!have_base && berth_idmap_get(BERTH_USERNS_DIR, c.name, &pool, &c.uid_base, &fresh, &err) < 0) {
		fprintf(stderr, "berth-run: %s: %s\n", c.name, berth_err_str(&err, buf, sizeof(buf)));
		return 1;
	}
	if (berth_container_start(&c, &r, &err) < 0) {
		fprintf(stderr, "berth-run: %s\n", berth_err_str(&err, buf, sizeof(buf)));
		if (fresh)
			berth_idmap_release(BERTH_USERNS_DIR, c.name, &err);
		return 1;
	}
	child = r.pid;
	signal(SIGTERM, forward);
	signal(SIGINT, forward);
	signal(SIGHUP, forward);
	status = 0;
	while (waitpid(r.pid, &status, 0) < 0) {
		if (errno != EINTR) {
			perror("berth-run: waitpid");
			status = 1 << 8;
			break;
		}
	}
	if (berth_container_cleanup(&c, &err) < 0)
		fprintf(stderr, "berth-run: %s\n", berth_err_str(&err, buf, sizeof(buf)));
	close(r.pidfd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
