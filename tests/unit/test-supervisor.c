/* Unit tests of the runtime's pure parts: capability names and sets, id range
 * allocation (with a temporary directory), container validation, errors. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "caps.h"
#include "container.h"
#include "idmap.h"
#include "lib/err.h"
#include "t.h"

static void cap_names(void)
{
	CHECK(berth_cap_from_name("CAP_NET_ADMIN") == 12);
	CHECK(berth_cap_from_name("net_admin") == 12);
	CHECK(berth_cap_from_name("NET_ADMIN") == 12);
	CHECK(berth_cap_from_name("cap_chown") == 0);
	CHECK(berth_cap_from_name("CAP_CHECKPOINT_RESTORE") == 40);
	CHECK(berth_cap_from_name("ALL") == -2);
	CHECK(berth_cap_from_name("CAP_NOPE") == -1);
	CHECK(berth_cap_from_name("") == -1);
	CHECK(berth_cap_from_name("CAP_") == -1);
	CHECK_STR(berth_cap_name(21), "CAP_SYS_ADMIN");
	CHECK(berth_cap_name(41) == NULL);
	CHECK(berth_cap_name(-1) == NULL);
}

static void cap_default_set(void)
{
	/* Podman's 11 (design.md): the mask the probe checks in CapBnd. */
	CHECK(berth_caps_default() == 0x800405fbULL);
	CHECK(__builtin_popcountll(berth_caps_default()) == 11);
	CHECK(berth_caps_bounding(BERTH_CAP_MASK(13), BERTH_CAP_MASK(0)) == 0x800425faULL);
	CHECK(berth_caps_bounding(0, ~0ULL) == 0);
}

static void idmap_pick(void)
{
	struct berth_idpool pool = { 100000, 3 * 65536 };
	uint32_t used[3], base;

	CHECK(berth_idmap_pick(&pool, used, 0, &base) == 0 && base == 100000);
	used[0] = 100000;
	CHECK(berth_idmap_pick(&pool, used, 1, &base) == 0 && base == 165536);
	used[1] = 231072;
	CHECK(berth_idmap_pick(&pool, used, 2, &base) == 0 && base == 165536);
	used[2] = 165536;
	CHECK(berth_idmap_pick(&pool, used, 3, &base) == -1);
	/* A range recorded off the grid still blocks the slots it overlaps. */
	used[0] = 100001;
	CHECK(berth_idmap_pick(&pool, used, 1, &base) == 0 && base == 231072);
	/* A pool that ends near 2^32 must not wrap around. */
	struct berth_idpool top = { 0xFFFF0000u, 0xFFFFu };
	CHECK(berth_idmap_pick(&top, used, 0, &base) == -1);
}

static void idmap_persisted(void)
{
	char dir[] = "/tmp/berth-idmap-XXXXXX";
	struct berth_idpool pool = { 1000000, 2 * 65536 };
	struct berth_err err;
	uint32_t a, b, a2;
	int fresh;

	CHECK(mkdtemp(dir));
	CHECK(berth_idmap_get(dir, "web", &pool, &a, &fresh, &err) == 0 && fresh == 1 && a == 1000000);
	CHECK(berth_idmap_get(dir, "db", &pool, &b, &fresh, &err) == 0 && fresh == 1 && b == 1065536);
	CHECK(berth_idmap_get(dir, "web", &pool, &a2, &fresh, &err) == 0 && fresh == 0 && a2 == a);
	/* The pool is full now: a third name gets a clear error. */
	CHECK(berth_idmap_get(dir, "cache", &pool, &a2, &fresh, &err) == -1);
	CHECK(strstr(err.msg, "pool") != NULL);
	/* Releasing a range makes it available again. */
	CHECK(berth_idmap_release(dir, "web", &err) == 0);
	CHECK(berth_idmap_get(dir, "cache", &pool, &a2, &fresh, &err) == 0 && a2 == 1000000);
	CHECK(berth_idmap_release(dir, "cache", &err) == 0 && berth_idmap_release(dir, "db", &err) == 0);
	CHECK(berth_idmap_release(dir, "never", &err) == 0);
	{
		char lock[64];

		snprintf(lock, sizeof(lock), "%s/.lock", dir);
		unlink(lock);
	}
	CHECK(rmdir(dir) == 0);
}

static void idmap_creates_state_dirs(void)
{
	char dir[] = "/tmp/berth-idmap-XXXXXX", nested[96], path[160];
	struct berth_idpool pool = { 1000000, 65536 };
	struct berth_err err;
	uint32_t base;
	int fresh;

	CHECK(mkdtemp(dir));
	/* A fresh /var has no /var/lib/berth: the runtime makes its own tree. */
	snprintf(nested, sizeof(nested), "%s/lib/berth/userns", dir);
	CHECK(berth_idmap_get(nested, "web", &pool, &base, &fresh, &err) == 0 && fresh && base == 1000000);
	CHECK(berth_idmap_release(nested, "web", &err) == 0);
	snprintf(path, sizeof(path), "%s/.lock", nested);
	CHECK(unlink(path) == 0 && rmdir(nested) == 0);
	snprintf(path, sizeof(path), "%s/lib/berth", dir);
	CHECK(rmdir(path) == 0);
	snprintf(path, sizeof(path), "%s/lib", dir);
	CHECK(rmdir(path) == 0 && rmdir(dir) == 0);
}

static void base_container(struct berth_container *c)
{
	static char prog[] = "/bin/true";

	berth_container_init(c);
	snprintf(c->name, sizeof(c->name), "web");
	snprintf(c->rootfs, sizeof(c->rootfs), "/var/lib/berth/images/base");
	c->argv[0] = prog;
	c->uid_base = 1000000;
}

static void container_defaults(void)
{
	struct berth_container c;
	struct berth_err err;

	base_container(&c);
	CHECK(c.readonly == 1 && c.no_new_privs == 1 && c.pids_max == 512);
	CHECK(c.seccomp == BERTH_SECCOMP_DEFAULT && c.memory_max == -1);
	CHECK(berth_container_validate(&c, &err) == 0);
}

#define EXPECT_INVALID(mutation, text)                                         \
	do {                                                                   \
		struct berth_container c;                                      \
		struct berth_err err;                                          \
		base_container(&c);                                            \
		mutation;                                                      \
		CHECK(berth_container_validate(&c, &err) == -1);               \
		if (!strstr(err.msg, text)) {                                  \
			printf("FAIL %s: message \"%s\" lacks \"%s\"\n", t_cur, err.msg, text); \
			t_cur_failed = 1;                                      \
			return;                                                \
		}                                                              \
	} while (0)

static void container_invalid(void)
{
	EXPECT_INVALID(snprintf(c.name, sizeof(c.name), "../x"), "invalid container name");
	EXPECT_INVALID(snprintf(c.name, sizeof(c.name), "-x"), "invalid container name");
	EXPECT_INVALID(c.name[0] = 0, "invalid container name");
	EXPECT_INVALID(snprintf(c.rootfs, sizeof(c.rootfs), "relative"), "root filesystem");
	EXPECT_INVALID(snprintf(c.rootfs, sizeof(c.rootfs), "/"), "root filesystem");
	EXPECT_INVALID(snprintf(c.rootfs, sizeof(c.rootfs), "/a/../etc"), "root filesystem");
	EXPECT_INVALID(snprintf(c.rootfs, sizeof(c.rootfs), "/a//b"), "root filesystem");
	EXPECT_INVALID(c.argv[0] = NULL, "no command");
	EXPECT_INVALID(c.uid_base = 0, "user namespace base");
	EXPECT_INVALID(c.uid_base = 0xFFFFFFF0u, "user namespace base");
	EXPECT_INVALID(c.uid = 65536, "outside the container's id range");
	EXPECT_INVALID((c.ngroups = 1, c.groups[0] = 70000), "outside the container's id range");
	EXPECT_INVALID((c.nvolumes = 1, snprintf(c.volumes[0].source, 256, "/data"),
			snprintf(c.volumes[0].target, 256, "/")), "volume");
	EXPECT_INVALID((c.nvolumes = 1, snprintf(c.volumes[0].source, 256, "/data"),
			snprintf(c.volumes[0].target, 256, "/mnt/../etc")), "volume");
	EXPECT_INVALID(c.pids_max = 0, "pids limit");
	EXPECT_INVALID(c.cpu_weight = 10001, "cpu weight");
	EXPECT_INVALID(c.nofile_soft = c.nofile_hard + 1, "NOFILE");
	EXPECT_INVALID(snprintf(c.workdir, sizeof(c.workdir), "rel"), "working directory");
	EXPECT_INVALID((c.nuidmap = c.ngidmap = 1, c.uidmap[0] = c.gidmap[0] =
			(struct berth_idmap_line){ 0, 0, 10 }), "maps host root into the container");
	EXPECT_INVALID((c.nuidmap = c.ngidmap = 1, c.uidmap[0] = (struct berth_idmap_line){ 0, 5000, 10 },
			c.gidmap[0] = (struct berth_idmap_line){ 0, 5000, 0 }), "out of range");
	EXPECT_INVALID((c.nuidmap = c.ngidmap = 2, c.uidmap[0] = c.gidmap[0] =
			(struct berth_idmap_line){ 0, 5000, 10 }, c.uidmap[1] = c.gidmap[1] =
			(struct berth_idmap_line){ 5, 9000, 10 }), "overlap");
	EXPECT_INVALID((c.nuidmap = c.ngidmap = 1, c.uidmap[0] = c.gidmap[0] =
			(struct berth_idmap_line){ 0, 5000, 10 }, c.uid = 10), "outside the container's id range");
}

static void explicit_maps_valid(void)
{
	struct berth_container c;
	struct berth_err err;

	base_container(&c);
	c.uid_base = 0; /* unused with explicit maps */
	c.nuidmap = c.ngidmap = 2;
	c.uidmap[0] = c.gidmap[0] = (struct berth_idmap_line){ 0, 200000, 1000 };
	c.uidmap[1] = c.gidmap[1] = (struct berth_idmap_line){ 1000, 300000, 1 };
	c.uid = c.gid = 1000;
	CHECK(berth_container_validate(&c, &err) == 0);
}

static void one_map_serves_both(void)
{
	struct berth_container c;
	struct berth_err err;
	int n;

	base_container(&c);
	c.uid_base = 0;
	c.nuidmap = 1;
	c.uidmap[0] = (struct berth_idmap_line){ 0, 200000, 1000 };
	CHECK(berth_container_idmap(&c, 1, &n) == c.uidmap && n == 1);
	CHECK(berth_container_idmap(&c, 0, &n) == c.uidmap && n == 1);
	c.gid = 999;
	CHECK(berth_container_validate(&c, &err) == 0);
	c.gid = 1000; /* outside the map the gid map inherits */
	CHECK(berth_container_validate(&c, &err) == -1);
	c.gid = 0;
	c.ngidmap = 1;
	c.gidmap[0] = (struct berth_idmap_line){ 0, 300000, 5 };
	CHECK(berth_container_idmap(&c, 1, &n) == c.gidmap && n == 1);
	c.nuidmap = 0;
	CHECK(berth_container_idmap(&c, 0, &n) == c.gidmap && n == 1);
	c.nuidmap = c.ngidmap = 0;
	CHECK(berth_container_idmap(&c, 0, &n) && n == 0);
}

static void err_context(void)
{
	struct berth_err err;
	char buf[600];

	CHECK(berth_err_set(&err, 2, "mount %s", "/data") == -1);
	CHECK(berth_err_prefix(&err, "%s", "web") == -1);
	CHECK_STR(berth_err_str(&err, buf, sizeof(buf)), "web: mount /data: No such file or directory");
	berth_err_set(&err, 0, "plain");
	CHECK_STR(berth_err_str(&err, buf, sizeof(buf)), "plain");
}

int main(void)
{
	RUN(cap_names);
	RUN(cap_default_set);
	RUN(idmap_pick);
	RUN(idmap_persisted);
	RUN(idmap_creates_state_dirs);
	RUN(container_defaults);
	RUN(container_invalid);
	RUN(explicit_maps_valid);
	RUN(one_map_serves_both);
	RUN(err_context);
	return t_failed_total ? 1 : 0;
}
