/* The default seccomp policy (Docker's default profile on x86_64 with the
 * conditions resolved the way dockerd resolves them) and its compilation. The
 * table is data; tests/unit/test-seccomp-docker compares it with the reference
 * JSON syscall by syscall. */
#include <linux/capability.h>
#include <linux/seccomp.h>
#include <errno.h>
#include <seccomp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "caps.h"
#include "seccomp-berth.h"

/* Allowed with any arguments. Docker's unconditional group, plus what it allows
 * on x86_64 under arch and kernel conditions that always hold for us
 * (arch_prctl and modify_ldt on amd64; ptrace and process_vm_* since 4.8). */
static const char *const allow_always[] = {
	"accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk", "cachestat", "capget",
	"capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime", "clock_adjtime64",
	"clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
	"clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
	"copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
	"eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat",
	"faccessat2", "fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod",
	"fchmodat", "fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync",
	"fgetxattr", "flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64",
	"fstatat64", "fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex",
	"futex_requeue", "futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat",
	"getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32", "geteuid",
	"geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer", "getpeername",
	"getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom", "getresgid",
	"getresgid32", "getresuid", "getresuid32", "getrlimit", "get_robust_list", "getrusage",
	"getsid", "getsockname", "getsockopt", "get_thread_area", "gettid", "gettimeofday",
	"getuid", "getuid32", "getxattr", "getxattrat", "inotify_add_watch", "inotify_init",
	"inotify_init1", "inotify_rm_watch", "io_cancel", "ioctl", "io_destroy", "io_getevents",
	"io_pgetevents", "io_pgetevents_time64", "ioprio_get", "ioprio_set", "io_setup",
	"io_submit", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
	"landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
	"listmount", "listxattr", "listxattrat", "llistxattr", "_llseek", "lremovexattr", "lseek",
	"lsetxattr", "lstat", "lstat64", "madvise", "map_shadow_stack", "membarrier",
	"memfd_create", "memfd_secret", "mincore", "mkdir", "mkdirat", "mknod", "mknodat", "mlock",
	"mlock2", "mlockall", "mmap", "mmap2", "mprotect", "mq_getsetattr", "mq_notify", "mq_open",
	"mq_timedreceive", "mq_timedreceive_time64", "mq_timedsend", "mq_timedsend_time64",
	"mq_unlink", "mremap", "mseal", "msgctl", "msgget", "msgrcv", "msgsnd", "msync", "munlock",
	"munlockall", "munmap", "name_to_handle_at", "nanosleep", "newfstatat", "_newselect",
	"open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
	"pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
	"pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
	"pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
	"readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
	"remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
	"restart_syscall", "riscv_hwprobe", "rmdir", "rseq", "rt_sigaction", "rt_sigpending",
	"rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_getaffinity", "sched_getattr",
	"sched_getparam", "sched_get_priority_max", "sched_get_priority_min", "sched_getscheduler",
	"sched_rr_get_interval", "sched_rr_get_interval_time64", "sched_setaffinity",
	"sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield", "seccomp", "select",
	"semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send", "sendfile",
	"sendfile64", "sendmmsg", "sendmsg", "sendto", "setfsgid", "setfsgid32", "setfsuid",
	"setfsuid32", "setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid",
	"setpriority", "setregid", "setregid32", "setresgid", "setresgid32", "setresuid",
	"setresuid32", "setreuid", "setreuid32", "setrlimit", "set_robust_list", "setsid",
	"setsockopt", "set_thread_area", "set_tid_address", "setuid", "setuid32", "setxattr",
	"setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
	"signalfd4", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice", "stat",
	"stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync",
	"sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
	"timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
	"timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
	"timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
	"ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
	"utimensat_time64", "utimes", "vfork", "vmsplice", "wait4", "waitid", "waitpid", "write",
	"writev",
	"arch_prctl", "modify_ldt", "ptrace", "process_vm_readv", "process_vm_writev",
};

/* Allowed when the capability is in the bounding set (Docker's "includes.caps"). */
static const struct {
	int cap;
	const char *names[27];
} allow_with_cap[] = {
	{ CAP_DAC_READ_SEARCH, { "open_by_handle_at" } },
	{ CAP_SYS_ADMIN, { "bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
			   "fspick", "lookup_dcookie", "lsm_get_self_attr", "lsm_list_modules",
			   "lsm_set_self_attr", "mount", "mount_setattr", "move_mount", "open_tree",
			   "perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname",
			   "setns", "syslog", "umount", "umount2", "unshare" } },
	{ CAP_SYS_BOOT, { "reboot" } },
	{ CAP_SYS_CHROOT, { "chroot" } },
	{ CAP_SYS_MODULE, { "delete_module", "init_module", "finit_module" } },
	{ CAP_SYS_PACCT, { "acct" } },
	{ CAP_SYS_PTRACE, { "kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv",
			    "process_vm_writev", "ptrace" } },
	{ CAP_SYS_RAWIO, { "iopl", "ioperm" } },
	{ CAP_SYS_TIME, { "settimeofday", "stime", "clock_settime", "clock_settime64" } },
	{ CAP_SYS_TTY_CONFIG, { "vhangup" } },
	{ CAP_SYS_NICE, { "get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node" } },
	{ CAP_SYSLOG, { "syslog" } },
	{ CAP_BPF, { "bpf" } },
	{ CAP_PERFMON, { "perf_event_open" } },
};

/* Namespace flags clone may not use without CAP_SYS_ADMIN: NEWNS, NEWCGROUP,
 * NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET (Docker's mask 0x7E020000). */
#define CLONE_NS_MASK 0x7E020000ULL

void berth_seccomp_default_rules(uint64_t caps, void (*fn)(const struct berth_seccomp_rule *, void *),
				 void *arg)
{
	const int sys_admin = !!(caps & BERTH_CAP_MASK(CAP_SYS_ADMIN));
	struct berth_seccomp_rule r;

	for (size_t i = 0; i < sizeof(allow_always) / sizeof(allow_always[0]); i++) {
		r = (struct berth_seccomp_rule){ .name = allow_always[i] };
		fn(&r, arg);
	}
	for (size_t i = 0; i < sizeof(allow_with_cap) / sizeof(allow_with_cap[0]); i++) {
		if (!(caps & BERTH_CAP_MASK(allow_with_cap[i].cap)))
			continue;
		for (size_t j = 0; j < 27 && allow_with_cap[i].names[j]; j++) {
			r = (struct berth_seccomp_rule){ .name = allow_with_cap[i].names[j] };
			fn(&r, arg);
		}
	}
	/* socket: every family but AF_ALG (38) and AF_VSOCK (40). */
	r = (struct berth_seccomp_rule){ "socket", 0, 1, 0, SCMP_CMP_LT, 38, 0 };
	fn(&r, arg);
	r = (struct berth_seccomp_rule){ "socket", 0, 1, 0, SCMP_CMP_EQ, 39, 0 };
	fn(&r, arg);
	r = (struct berth_seccomp_rule){ "socket", 0, 1, 0, SCMP_CMP_GT, 40, 0 };
	fn(&r, arg);
	/* personality: PER_LINUX, PER_LINUX32, UNAME26 (|PER_LINUX32) and the query. */
	static const uint64_t personas[] = { 0x0, 0x8, 0x20000, 0x20008, 0xffffffff };
	for (size_t i = 0; i < sizeof(personas) / sizeof(personas[0]); i++) {
		r = (struct berth_seccomp_rule){ "personality", 0, 1, 0, SCMP_CMP_EQ, personas[i], 0 };
		fn(&r, arg);
	}
	if (!sys_admin) {
		r = (struct berth_seccomp_rule){ "clone", 0, 1, 0, SCMP_CMP_MASKED_EQ, CLONE_NS_MASK, 0 };
		fn(&r, arg);
		/* clone3's flags sit behind a pointer seccomp cannot read: ENOSYS makes
		 * libc fall back to clone, where the mask above applies. */
		r = (struct berth_seccomp_rule){ .name = "clone3", .action_errno = ENOSYS };
		fn(&r, arg);
	}
}

struct compile_ctx {
	scmp_filter_ctx ctx;
	int skipped;
	int failed;
	struct berth_err *err;
};

static void add_rule(const struct berth_seccomp_rule *r, void *arg)
{
	struct compile_ctx *cc = arg;
	int nr, rc;
	uint32_t action = r->action_errno ? SCMP_ACT_ERRNO((uint32_t)r->action_errno) : SCMP_ACT_ALLOW;

	if (cc->failed)
		return;
	nr = seccomp_syscall_resolve_name(r->name);
	if (nr == __NR_SCMP_ERROR) {
		cc->skipped++;
		return;
	}
	if (r->nargs == 0)
		rc = seccomp_rule_add(cc->ctx, action, nr, 0);
	else
		rc = seccomp_rule_add(cc->ctx, action, nr, 1,
				      SCMP_CMP((unsigned)r->arg, (enum scmp_compare)r->op, r->datum_a,
					       r->datum_b));
	/* -EOPNOTSUPP: the rule equals the default action; fine. */
	if (rc < 0 && rc != -EOPNOTSUPP) {
		berth_err_set(cc->err, -rc, "seccomp: add rule for %s", r->name);
		cc->failed = 1;
	}
}

int berth_seccomp_export(void *ctx, struct berth_bpf *out, struct berth_err *err)
{
	off_t size;
	int rc, fd = memfd_create("berth-seccomp", MFD_CLOEXEC);

	out->insns = NULL;
	out->len = 0;
	if (fd < 0)
		return berth_err_sys(err, "seccomp: memfd_create");
	if ((rc = seccomp_export_bpf(ctx, fd)) < 0) {
		close(fd);
		return berth_err_set(err, -rc, "seccomp: export BPF");
	}
	size = lseek(fd, 0, SEEK_END);
	if (size <= 0 || size % (off_t)sizeof(struct sock_filter) != 0 ||
	    !(out->insns = malloc((size_t)size)) || pread(fd, out->insns, (size_t)size, 0) != size) {
		close(fd);
		berth_bpf_free(out);
		return berth_err_set(err, EIO, "seccomp: read exported BPF");
	}
	close(fd);
	out->len = (size_t)size / sizeof(struct sock_filter);
	return 0;
}

int berth_seccomp_compile_default(uint64_t caps, struct berth_bpf *out, int *skipped,
				  struct berth_err *err)
{
	struct compile_ctx cc = { .err = err };
	int rc = -1;

	out->insns = NULL;
	out->len = 0;
	cc.ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	if (!cc.ctx)
		return berth_err_set(err, ENOMEM, "seccomp: init");
	/* x86_64 and i386, as Docker. Not x32, which Docker allows too: Debian's
	 * kernel is built without it (CONFIG_X86_X32_ABI is not set), so its
	 * rules were dead weight, 30% of the program; an x32 call fails with
	 * EPERM here, like any other call the policy does not allow. */
	if (seccomp_arch_add(cc.ctx, SCMP_ARCH_X86) < 0 ||
	    seccomp_attr_set(cc.ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_ERRNO(EPERM)) < 0) {
		berth_err_set(err, EINVAL, "seccomp: add the i386 ABI");
		goto out;
	}
	/* We set no_new_privs ourselves. libseccomp's default layout (as runc's
	 * and crun's), not its binary tree: 1,001 instructions instead of 1,246
	 * (with x32),
	 * and with bpf_jit_harden=2 every instruction's constant is blinded at
	 * each load, which made the tree 12 ms of a 67 ms start under QEMU, for
	 * no measurable gain per syscall (docs/benchmarks.md). */
	seccomp_attr_set(cc.ctx, SCMP_FLTATR_CTL_NNP, 0);
	seccomp_attr_set(cc.ctx, SCMP_FLTATR_CTL_OPTIMIZE, 1);
	berth_seccomp_default_rules(caps, add_rule, &cc);
	if (cc.failed || berth_seccomp_export(cc.ctx, out, err) < 0)
		goto out;
	if (skipped)
		*skipped = cc.skipped;
	rc = 0;
out:
	seccomp_release(cc.ctx);
	return rc;
}

void berth_bpf_free(struct berth_bpf *b)
{
	free(b->insns);
	b->insns = NULL;
	b->len = 0;
}

int berth_seccomp_load(const struct berth_bpf *prog, struct berth_err *err)
{
	struct sock_fprog fprog = { .len = (unsigned short)prog->len, .filter = prog->insns };

	if (prog->len == 0 || prog->len > BPF_MAXINSNS)
		return berth_err_set(err, EINVAL, "seccomp: filter of %zu instructions", prog->len);
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &fprog) < 0)
		return berth_err_sys(err, "seccomp: load filter");
	return 0;
}
