/* The validated description of one container, as the runtime consumes it, and
 * the runtime's entry points. berthd fills it from a unit file; berth-run from
 * its command line. Every field has a safe default (berth_container_init). */
#ifndef BERTH_CONTAINER_H
#define BERTH_CONTAINER_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

#define BERTH_NAME_MAX 64
#define BERTH_MAX_ARGS 64
#define BERTH_MAX_ENV 64
#define BERTH_MAX_GROUPS 32
#define BERTH_MAX_VOLUMES 16
#define BERTH_MAX_TMPFS 8
#define BERTH_MAX_FILES 3 /* the runtime's own file mounts: init, /etc/hosts, /etc/resolv.conf */
#define BERTH_USERNS_SIZE 65536u
#define BERTH_VOLUMES_DIR "/var/lib/berth/volumes" /* named volumes */
#define BERTH_MAX_IDMAP 5 /* lines per uid_map/gid_map the kernel takes without CAP_SYS_ADMIN tricks */

/* One line of an explicit UIDMap=/GIDMap=: container ids INSIDE.. map to host
 * ids OUTSIDE.., COUNT of them. */
struct berth_idmap_line {
	uint32_t inside, outside, count;
};

struct berth_volume {
	char source[256]; /* host path */
	char target[256]; /* absolute path in the container */
	int writable;     /* default: read-only */
	int noexec;
	int named;        /* SOURCE is a named volume under /var/lib/berth/volumes: created
			   * at start, owned by the container's root */
};

struct berth_tmpfs {
	char target[256]; /* absolute path in the container */
	int64_t size;     /* bytes */
	unsigned mode;
};

/* The container's network namespace. */
enum berth_netns {
	BERTH_NETNS_OWN,  /* a new one: lo up, and with BRIDGE set a veth pair (the default) */
	BERTH_NETNS_HOST, /* the host's (Network=host) */
	BERTH_NETNS_JOIN, /* another container's (Network=container:NAME) */
};

struct berth_container_net {
	enum berth_netns ns;
	/* OWN with BRIDGE[0]: HOST_LINK on the bridge BRIDGE, its peer eth0 in the
	 * container with IP/PREFIX and a default route via GATEWAY (IPv4, host
	 * byte order). A stale HOST_LINK (an earlier run's) is deleted first. */
	char bridge[16];
	char host_link[16];
	uint32_t ip, gateway;
	int prefix;
	/* JOIN: the PID 1 of the container whose namespace to join, and that
	 * container's name (its cgroup must hold JOIN_PID). */
	pid_t join_pid;
	char join_name[64];
};

enum berth_seccomp_mode { BERTH_SECCOMP_DEFAULT, BERTH_SECCOMP_UNCONFINED, BERTH_SECCOMP_PROFILE };

struct berth_container {
	char name[BERTH_NAME_MAX];  /* [a-zA-Z0-9][a-zA-Z0-9_.-]* */
	char rootfs[256];           /* directory holding the image's root */
	char *argv[BERTH_MAX_ARGS + 1];
	char *env[BERTH_MAX_ENV + 1];
	char workdir[256];
	char hostname[65];
	uid_t uid;                  /* inside the container */
	gid_t gid;
	gid_t groups[BERTH_MAX_GROUPS];
	int ngroups;
	uint64_t cap_add, cap_drop; /* masks over the default set */
	int readonly;               /* 1: rootfs read-only (default) */
	int no_new_privs;           /* 1 (default) */
	enum berth_seccomp_mode seccomp;
	char seccomp_profile[256];  /* Docker/OCI JSON profile, with BERTH_SECCOMP_PROFILE */
	struct berth_volume volumes[BERTH_MAX_VOLUMES];
	int nvolumes;
	struct berth_tmpfs tmpfs[BERTH_MAX_TMPFS]; /* nosuid, nodev, after /tmp and /run */
	int ntmpfs;
	const char *init_path;      /* non-NULL: bind this host file (berth-init) read-only at
				     * /run/berth-init for RunInit=yes */
	const char *hosts_path;     /* non-NULL: this host file read-only at /etc/hosts */
	const char *resolv_path;    /* non-NULL: this host file read-only at /etc/resolv.conf
				     * (each only where the image has a regular file there) */
	struct berth_container_net net;
	int stdio[3];               /* the container's stdin, stdout, stderr; -1: inherit ours */
	uint32_t uid_base;          /* host id of container id 0; set by the id allocator */
	struct berth_idmap_line uidmap[BERTH_MAX_IDMAP], gidmap[BERTH_MAX_IDMAP];
	int nuidmap, ngidmap;       /* 0: "0 uid_base 65536" (UserNS=auto) */
	int64_t pids_max;           /* -1: "max" */
	int64_t memory_max;         /* bytes; -1: "max" */
	int64_t cpu_quota_us;       /* per 100 ms period; -1: no quota */
	int cpu_weight;             /* 1..10000; 0: leave default */
	uint64_t nofile_soft, nofile_hard;
	int clone_fallback;         /* tests only: behave as if clone3 were missing */
};

/* A started container, as the supervisor keeps it. */
struct berth_running {
	pid_t pid;      /* host pid of the container's PID 1 */
	int pidfd;      /* for waiting and signalling without pid reuse races */
	char cgroup[256];
};

/* The uid (GID 0) or gid (GID 1) map in force: the explicit lines of that kind,
 * else those of the other kind (one map given alone serves for both, as in
 * Podman), else none (*N = 0: the allocated range at uid_base). */
const struct berth_idmap_line *berth_container_idmap(const struct berth_container *c, int gid, int *n);

/* Defaults: design.md "Containers". */
void berth_container_init(struct berth_container *c);

/* An absolute path with no empty, "." or ".." components and no trailing
 * slash ("/" itself is clean). */
int berth_path_clean(const char *p);

/* [a-zA-Z0-9][a-zA-Z0-9_.-]*, shorter than BERTH_NAME_MAX. */
int berth_name_valid(const char *name);

/* Check a description before anything touches the system. */
int berth_container_validate(const struct berth_container *c, struct berth_err *err);

/* Start C: cgroup, namespaces, id map, mounts, capabilities, seccomp, execve.
 * On success fills R and returns 0 once the container's execve has succeeded.
 * On failure returns -1 with ERR naming the failed step ("pivot_root: ..."),
 * and leaves nothing behind (process, cgroup). */
int berth_container_start(const struct berth_container *c, struct berth_running *r,
			  struct berth_err *err);

/* execve ARGV with a PATH lookup in ENVP's PATH (else the usual default), as
 * execvp does; returns only on failure, errno EACCES if a candidate was there
 * but not executable. */
void berth_exec_in_path(char *const argv[], char *const envp[]);

/* berthctl exec: start ARGV in the running container C whose PID 1 is
 * TARGET, confined exactly as the container's own processes (its
 * namespaces, uid map, cgroup, capabilities, no_new_privs, seccomp filter,
 * rlimit, working directory and environment). STDIO are the descriptors of
 * the command's standard streams. Returns the pid of a helper, a child of
 * ours in the container's cgroup, whose exit status is the command's (128+N
 * for signal N); *PIDFD gets its pidfd. Problems after the fork go to
 * STDIO[2] as text, with exit code 125 (entering the container), 126 (not
 * executable) or 127 (not found). */
pid_t berth_container_exec(const struct berth_container *c, pid_t target, char *const argv[],
			   const int stdio[3], int *pidfd, struct berth_err *err);

/* The runtime's file mounts of C, after its volumes and in this order: the
 * init at /run/berth-init (C->init_path), then C->hosts_path at /etc/hosts
 * and C->resolv_path at /etc/resolv.conf where the image has a regular file
 * there (no symlink on the way). All read-only. Fills OUT, returns how many. */
int berth_container_files(const struct berth_container *c, struct berth_volume out[BERTH_MAX_FILES]);

/* After the container's process is gone: delete its host-side veth, if it
 * has one and the kernel has not already (0 also when it was gone). */
int berth_container_net_cleanup(const struct berth_container *c);

/* After the container's process is gone (reaped): remove its cgroup and
 * its host-side veth. */
int berth_container_cleanup(const struct berth_container *c, struct berth_err *err);

#endif
