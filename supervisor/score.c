/* Exposure score: systemd's checks mapped onto Berth's unit keys. Checks that
 * no unit can change (own user, pid, mount, ipc namespaces; masked /proc
 * paths; read-only cgroup and sysctl views) are counted too, at badness 0, so
 * that scores compare with systemd's. */
#include <stdio.h>
#include <string.h>

#include <linux/capability.h>

#include "caps.h"
#include "score.h"

static struct berth_finding *add(struct berth_score *s, const char *name, const char *what,
				 unsigned weight, unsigned range, int badness, const char *note)
{
	struct berth_finding *f;

	if (s->n >= BERTH_SCORE_MAX_FINDINGS)
		return NULL;
	f = &s->f[s->n++];
	*f = (struct berth_finding){ .name = name, .what = what, .weight = weight, .range = range,
				     .badness = badness };
	snprintf(f->note, sizeof(f->note), "%s", note);
	return f;
}

/* systemd's weights for the capability bounding set. */
static const struct {
	int cap;
	unsigned weight;
	const char *name;
} cap_weights[] = {
	{ CAP_SYS_ADMIN, 1500, "CapabilityBoundingSet=~CAP_SYS_ADMIN" },
	{ CAP_SETUID, 1500, "CapabilityBoundingSet=~CAP_SETUID" },
	{ CAP_SETGID, 1500, "CapabilityBoundingSet=~CAP_SETGID" },
	{ CAP_SETPCAP, 1500, "CapabilityBoundingSet=~CAP_SETPCAP" },
	{ CAP_SYS_PTRACE, 1500, "CapabilityBoundingSet=~CAP_SYS_PTRACE" },
	{ CAP_SYS_TIME, 1000, "CapabilityBoundingSet=~CAP_SYS_TIME" },
	{ CAP_NET_ADMIN, 1000, "CapabilityBoundingSet=~CAP_NET_ADMIN" },
	{ CAP_SYS_RAWIO, 1000, "CapabilityBoundingSet=~CAP_SYS_RAWIO" },
	{ CAP_SYS_MODULE, 1000, "CapabilityBoundingSet=~CAP_SYS_MODULE" },
	{ CAP_CHOWN, 1000, "CapabilityBoundingSet=~CAP_CHOWN" },
	{ CAP_FSETID, 1000, "CapabilityBoundingSet=~CAP_FSETID" },
	{ CAP_SETFCAP, 1000, "CapabilityBoundingSet=~CAP_SETFCAP" },
	{ CAP_DAC_OVERRIDE, 1000, "CapabilityBoundingSet=~CAP_DAC_OVERRIDE" },
	{ CAP_DAC_READ_SEARCH, 1000, "CapabilityBoundingSet=~CAP_DAC_READ_SEARCH" },
	{ CAP_FOWNER, 1000, "CapabilityBoundingSet=~CAP_FOWNER" },
	{ CAP_IPC_OWNER, 1000, "CapabilityBoundingSet=~CAP_IPC_OWNER" },
	{ CAP_AUDIT_CONTROL, 500, "CapabilityBoundingSet=~CAP_AUDIT_CONTROL" },
	{ CAP_AUDIT_READ, 500, "CapabilityBoundingSet=~CAP_AUDIT_READ" },
	{ CAP_AUDIT_WRITE, 500, "CapabilityBoundingSet=~CAP_AUDIT_WRITE" },
	{ CAP_SYSLOG, 500, "CapabilityBoundingSet=~CAP_SYSLOG" },
	{ CAP_SYS_NICE, 500, "CapabilityBoundingSet=~CAP_SYS_NICE" },
	{ CAP_SYS_RESOURCE, 500, "CapabilityBoundingSet=~CAP_SYS_RESOURCE" },
	{ CAP_MKNOD, 500, "CapabilityBoundingSet=~CAP_MKNOD" },
	{ CAP_KILL, 500, "CapabilityBoundingSet=~CAP_KILL" },
	{ CAP_NET_BIND_SERVICE, 500, "CapabilityBoundingSet=~CAP_NET_BIND_SERVICE" },
	{ CAP_NET_BROADCAST, 500, "CapabilityBoundingSet=~CAP_NET_BROADCAST" },
	{ CAP_NET_RAW, 500, "CapabilityBoundingSet=~CAP_NET_RAW" },
	{ CAP_SYS_BOOT, 100, "CapabilityBoundingSet=~CAP_SYS_BOOT" },
	{ CAP_MAC_ADMIN, 100, "CapabilityBoundingSet=~CAP_MAC_ADMIN" },
	{ CAP_MAC_OVERRIDE, 100, "CapabilityBoundingSet=~CAP_MAC_OVERRIDE" },
	{ CAP_LINUX_IMMUTABLE, 75, "CapabilityBoundingSet=~CAP_LINUX_IMMUTABLE" },
	{ CAP_IPC_LOCK, 50, "CapabilityBoundingSet=~CAP_IPC_LOCK" },
	{ CAP_SYS_CHROOT, 50, "CapabilityBoundingSet=~CAP_SYS_CHROOT" },
	{ CAP_BLOCK_SUSPEND, 25, "CapabilityBoundingSet=~CAP_BLOCK_SUSPEND" },
	{ CAP_WAKE_ALARM, 25, "CapabilityBoundingSet=~CAP_WAKE_ALARM" },
	{ CAP_LEASE, 25, "CapabilityBoundingSet=~CAP_LEASE" },
	{ CAP_SYS_TTY_CONFIG, 25, "CapabilityBoundingSet=~CAP_SYS_TTY_CONFIG" },
	{ CAP_SYS_PACCT, 25, "CapabilityBoundingSet=~CAP_SYS_PACCT" },
	{ CAP_BPF, 25, "CapabilityBoundingSet=~CAP_BPF" },
};

/* systemd's system-call groups, and what Docker's default profile (ours)
 * does with each: 0 where it denies the group, 9 where its allow-list lets
 * the group's calls through (systemd's rule for allow-lists). */
static const struct {
	const char *name;
	unsigned weight;
	int with_default;
	const char *note;
} syscall_groups[] = {
	{ "SystemCallFilter=~@swap", 1000, 0, "denied by the default profile" },
	{ "SystemCallFilter=~@clock", 1000, 0, "denied by the default profile" },
	{ "SystemCallFilter=~@debug", 1000, 9, "ptrace and process_vm_* allowed (as by Docker), within the container" },
	{ "SystemCallFilter=~@mount", 1000, 0, "needs CAP_SYS_ADMIN, which Berth refuses" },
	{ "SystemCallFilter=~@module", 1000, 0, "denied by the default profile" },
	{ "SystemCallFilter=~@raw-io", 1000, 0, "denied by the default profile" },
	{ "SystemCallFilter=~@reboot", 1000, 0, "denied by the default profile" },
	{ "SystemCallFilter=~@privileged", 700, 9, "setuid family allowed inside the user namespace" },
	{ "SystemCallFilter=~@resources", 700, 9, "setrlimit, sched_setattr... allowed (bounded by cgroups)" },
	{ "SystemCallFilter=~@obsolete", 250, 0, "denied by the default profile" },
	{ "SystemCallFilter=~@cpu-emulation", 250, 0, "denied by the default profile" },
};

void berth_score_unit(const struct berth_unit *u, struct berth_score *s)
{
	const struct berth_container *c = &u->c;
	uint64_t bounding = berth_caps_bounding(c->cap_add, c->cap_drop);
	/* A non-root user with no_new_privs can never raise a capability. */
	int caps_matter = c->uid == 0 || !c->no_new_privs;
	uint64_t badness_sum = 0, weight_sum = 0;
	int rw_host = 0;

	memset(s, 0, sizeof(*s));
	add(s, "User=", "Runs as root inside its user namespace", 2000, 10, c->uid == 0 ? 2 : 0,
	    c->uid == 0 ? "container root, not root on the host" : "a non-root user");
	add(s, "PrivateUsers=", "Has its own user namespace", 1000, 1, 0, "always (UserNS=host is refused)");
	add(s, "PrivateNetwork=", "Shares the host's network stack", 2500, 1, u->net.mode == BERTH_NET_HOST,
	    u->net.mode == BERTH_NET_HOST	     ? "Network=host"
	    : u->net.mode == BERTH_NET_BRIDGE	     ? "own stack on the bridge (Network=bridge)"
	    : u->net.mode == BERTH_NET_CONTAINER ? "another unit's stack (Network=container:)"
						     : "only loopback (Network=none)");
	add(s, "NoNewPrivileges=", "May gain privileges through setuid binaries", 1000, 1, !c->no_new_privs,
	    c->no_new_privs ? "no_new_privs set" : "NoNewPrivileges=no");
	add(s, "ProtectSystem=", "Can write its image", 1000, 10, c->readonly ? 0 : 10,
	    c->readonly ? "ReadOnly=yes" : "ReadOnly=no (writes go to a private overlay)");
	add(s, "PrivateDevices=", "Sees host devices", 1000, 1, 0, "minimal /dev");
	add(s, "PrivateTmp=", "Shares /tmp with others", 1000, 1, 0, "private tmpfs");
	add(s, "PrivateMounts=", "Shares the host's mount namespace", 1000, 1, 0, "own mount namespace");
	add(s, "ProtectKernelTunables=", "Can change kernel tunables", 1000, 1, 0, "/proc/sys read-only");
	add(s, "ProtectControlGroups=", "Can change cgroups", 1000, 1, 0, "cgroup2 read-only");
	add(s, "ProtectKernelModules=", "Can load kernel modules", 1000, 1, 0,
	    "no CAP_SYS_MODULE in a user namespace");
	add(s, "ProtectKernelLogs=", "Can read the kernel log", 1000, 1, 0, "/dev/kmsg absent, syslog(2) denied");
	add(s, "ProtectClock=", "Can set the clock", 1000, 1, 0, "denied by the default profile");
	add(s, "ProtectProc=", "Sees sensitive /proc files", 1000, 3, 0, "Docker's masked paths");
	for (size_t i = 0; i < sizeof(cap_weights) / sizeof(cap_weights[0]); i++) {
		int has = (bounding & BERTH_CAP_MASK(cap_weights[i].cap)) != 0;

		add(s, cap_weights[i].name, "Capability in the bounding set", cap_weights[i].weight, 1,
		    has && caps_matter, !has ? "dropped" : caps_matter ? "kept" : "kept, but unusable (non-root with no_new_privs)");
	}
	for (size_t i = 0; i < sizeof(syscall_groups) / sizeof(syscall_groups[0]); i++) {
		int b = c->seccomp == BERTH_SECCOMP_DEFAULT      ? syscall_groups[i].with_default
			: c->seccomp == BERTH_SECCOMP_UNCONFINED ? 10
								 : -1;

		add(s, syscall_groups[i].name, "System call group allowed", syscall_groups[i].weight, 10, b,
		    c->seccomp == BERTH_SECCOMP_DEFAULT      ? syscall_groups[i].note
		    : c->seccomp == BERTH_SECCOMP_UNCONFINED ? "SeccompProfile=unconfined"
							     : "custom profile: not assessed");
	}
	for (int i = 0; i < c->nvolumes; i++)
		if (c->volumes[i].writable && !c->volumes[i].named)
			rw_host = 1;
	add(s, "Volume=", "Writes to a host directory", 1000, 10, rw_host ? 5 : 0,
	    rw_host ? "a host path mounted read-write" : "host paths read-only (named volumes are Berth's)");
	add(s, "TasksMax=", "Has no process limit", 500, 1, c->pids_max < 0,
	    c->pids_max < 0 ? "PidsLimit=infinity" : "pids.max set");
	add(s, "MemoryMax=", "Has no memory limit", 500, 1, c->memory_max < 0,
	    c->memory_max < 0 ? "no MemoryMax=" : "memory.max set");
	add(s, "Restart=", "Is not restarted when it fails", 100, 1, u->restart == BERTH_RESTART_NO,
	    u->restart == BERTH_RESTART_NO ? "Restart=no" : "restarted by policy");
	for (int i = 0; i < s->n; i++) {
		const struct berth_finding *f = &s->f[i];

		if (f->badness < 0)
			continue;
		badness_sum += ((uint64_t)f->badness * f->weight + f->range - 1) / f->range;
		weight_sum += f->weight;
	}
	s->exposure = weight_sum ? (unsigned)((badness_sum * 100 + weight_sum - 1) / weight_sum) : 0;
	if (s->exposure > 100)
		s->exposure = 100;
}

const char *berth_score_label(unsigned e)
{
	return e >= 100 ? "DANGEROUS" : e >= 90 ? "UNSAFE" : e >= 75 ? "EXPOSED" : e >= 50 ? "MEDIUM"
	       : e >= 10 ? "OK" : e >= 1 ? "SAFE" : "PERFECT";
}
