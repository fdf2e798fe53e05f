/* Capabilities: the name table (pure) and the drop sequence run in the child. */
#include <linux/capability.h>
#include <linux/securebits.h>
#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"

static const char *const cap_names[] = {
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE",
	"CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK",
	"CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
	"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
	"CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE",
	"CAP_AUDIT_CONTROL", "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG",
	"CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
	"CAP_CHECKPOINT_RESTORE",
};
#define NCAPS ((int)(sizeof(cap_names) / sizeof(cap_names[0])))

uint64_t berth_caps_default(void)
{
	static const int dflt[] = { CAP_CHOWN,  CAP_DAC_OVERRIDE, CAP_FOWNER,	      CAP_FSETID,
				    CAP_KILL,   CAP_NET_BIND_SERVICE, CAP_SETFCAP,    CAP_SETGID,
				    CAP_SETPCAP, CAP_SETUID,	      CAP_SYS_CHROOT };
	uint64_t m = 0;

	for (size_t i = 0; i < sizeof(dflt) / sizeof(dflt[0]); i++)
		m |= BERTH_CAP_MASK(dflt[i]);
	return m;
}

int berth_cap_from_name(const char *name)
{
	if (strcasecmp(name, "ALL") == 0)
		return -2;
	if (strncasecmp(name, "CAP_", 4) == 0)
		name += 4;
	for (int i = 0; i < NCAPS; i++)
		if (strcasecmp(cap_names[i] + 4, name) == 0)
			return i;
	return -1;
}

const char *berth_cap_name(int cap)
{
	return cap >= 0 && cap < NCAPS ? cap_names[cap] : NULL;
}

uint64_t berth_caps_bounding(uint64_t add, uint64_t drop)
{
	return (berth_caps_default() | add) & ~drop;
}

int berth_caps_apply(uint64_t keep, uid_t uid, gid_t gid, const gid_t *groups, int ngroups,
		     struct berth_err *err)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	/* Bounding first: it needs CAP_SETPCAP, which the uid switch may take away.
	 * Walk until the kernel says EINVAL (past its last capability) rather than
	 * read cap_last_cap from a /proc the container could shape. */
	for (int c = 0; c < 64; c++) {
		if (keep & BERTH_CAP_MASK(c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0) {
			if (errno == EINVAL)
				break;
			return berth_err_sys(err, "drop %s from the bounding set",
					     berth_cap_name(c) ? berth_cap_name(c) : "capability");
		}
	}
	if (uid != 0 && prctl(PR_SET_SECUREBITS, SECBIT_NOROOT | SECBIT_NOROOT_LOCKED, 0, 0, 0) < 0)
		return berth_err_sys(err, "set securebits");
	if (setgroups((size_t)ngroups, groups) < 0)
		return berth_err_sys(err, "setgroups");
	if (setresgid(gid, gid, gid) < 0)
		return berth_err_sys(err, "setresgid %u", (unsigned)gid);
	/* Without KEEPCAPS, leaving uid 0 empties permitted and effective. */
	if (setresuid(uid, uid, uid) < 0)
		return berth_err_sys(err, "setresuid %u", (unsigned)uid);
	if (uid == 0) {
		data[0].permitted = data[0].effective = (uint32_t)keep;
		data[1].permitted = data[1].effective = (uint32_t)(keep >> 32);
	}
	if (syscall(SYS_capset, &hdr, data) < 0)
		return berth_err_sys(err, "capset");
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0)
		return berth_err_sys(err, "clear ambient capabilities");
	return 0;
}
