/* The unpacking sandbox of berth-image (imgsandbox.h). */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <linux/mount.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "imgsandbox.h"
#include "seccomp-berth.h"

/* The allowlist the unpacking child runs under: file system calls on its own
 * tree, memory, and exit. Everything else (sockets, exec, ptrace, mount,
 * namespaces, keyrings, ...) fails with EPERM. */
static int sandbox_filter(struct berth_bpf *out, struct berth_err *err)
{
	static const char *const allow[] = {
		"read", "write", "readv", "writev", "pread64", "pwrite64", "lseek", "close", "openat", "openat2",
		"newfstatat", "fstat", "statx", "mkdirat", "unlinkat", "symlinkat", "linkat", "renameat",
		"renameat2", "fchownat", "fchown", "fchmodat", "fchmod", "utimensat", "mknodat", "readlinkat",
		"getdents64", "fcntl", "dup", "dup2", "dup3", "brk", "mmap", "munmap", "mremap", "madvise",
		"mprotect", "exit", "exit_group", "rt_sigreturn", "rt_sigprocmask", "getpid", "gettid",
		"clock_gettime", "ftruncate", "fsync", "umask", "getuid", "geteuid",
		"getgid", "getegid", "close_range", "futex",
	};
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int rc;

	if (!ctx)
		return berth_err_set(err, ENOMEM, "seccomp_init");
	for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++) {
		int nr = seccomp_syscall_resolve_name(allow[i]);

		if (nr != __NR_SCMP_ERROR && seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0) {
			seccomp_release(ctx);
			return berth_err_set(err, EINVAL, "seccomp: cannot allow %s", allow[i]);
		}
	}
	rc = berth_seccomp_export(ctx, out, err);
	seccomp_release(ctx);
	return rc;
}

static int send_fd(int sock, int fd)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 }, b = 'F';
	struct iovec iov = { &b, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	return sendmsg(sock, &mh, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int recv_fd(int sock)
{
	char ctl[CMSG_SPACE(sizeof(int))], b;
	struct iovec iov = { &b, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm;
	int fd = -1;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return -1;
	cm = CMSG_FIRSTHDR(&mh);
	if (cm && cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int)))
		memcpy(&fd, CMSG_DATA(cm), sizeof(int));
	return fd;
}

/* In the child: its namespaces are made; become root of its user namespace
 * (host id UID_BASE), make TREEFD (the idmapped staging directory) the only
 * writable thing in an otherwise empty, read-only root, and return a
 * descriptor of it. SCRATCH is an empty directory to build that root on. */
static int sandbox_enter(int treefd, const char *scratch, const struct berth_bpf *filter, struct berth_err *err)
{
	/* What unpacking needs inside its own namespace: set owners and modes
	 * (setuid/setgid bits included) as the archive says, whatever the
	 * directory permissions the archive set before. */
	uint64_t keep = (1ull << CAP_CHOWN) | (1ull << CAP_DAC_OVERRIDE) | (1ull << CAP_FOWNER) |
			(1ull << CAP_FSETID);
	int rootfd;

	/* Still host uid 0 (unmapped here, but the owner of the 0700 store
	 * directories on the way): reach SCRATCH and cover it with the
	 * sandbox's root, a tmpfs owned by the namespace's root. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return berth_err_sys(err, "make / private");
	if (mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755,size=16k,uid=0,gid=0") < 0)
		return berth_err_sys(err, "mount the sandbox's root");
	if (chdir(scratch) < 0)
		return berth_err_sys(err, "enter the sandbox's root");
	/* Then become that root (host id UID_BASE): what it creates has ids
	 * the idmapped staging directory can hold. */
	if (setgroups(0, NULL) < 0 || setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		return berth_err_sys(err, "become root of the sandbox's user namespace");
	if (mkdir("target", 0755) < 0)
		return berth_err_sys(err, "sandbox root");
	if (syscall(SYS_move_mount, treefd, "", AT_FDCWD, "target", MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return berth_err_sys(err, "attach the staging directory");
	close(treefd);
	if (syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return berth_err_sys(err, "pivot_root into the sandbox");
	if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		return berth_err_sys(err, "make the sandbox's root read-only");
	rootfd = open("/target", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		return berth_err_sys(err, "open the staging directory");
	umask(0);
	if (berth_caps_apply(keep, 0, 0, NULL, 0, err) < 0)
		return -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return berth_err_sys(err, "no_new_privs");
	if (berth_seccomp_load(filter, err) < 0)
		return -1;
	return rootfd;
}

int berth_sandbox_run(const char *target, const char *scratch, uint32_t uid_base, berth_sandbox_fn *fn, void *arg,
		      const int *keep, int nkeep, struct berth_err *err)
{
	struct berth_bpf filter = { 0 };
	int sv[2], status, treefd = -1, userns = -1;
	char path[64], map[64], msg[BERTH_ERR_MSG + 2];
	ssize_t n;
	pid_t pid;

	if (!uid_base)
		return berth_err_set(err, EINVAL, "no id range for the import sandbox (--uid-base)");
	if (sandbox_filter(&filter, err) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		berth_bpf_free(&filter);
		return berth_err_sys(err, "socketpair");
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		berth_bpf_free(&filter);
		close(sv[0]);
		close(sv[1]);
		return berth_err_sys(err, "fork");
	}
	if (pid == 0) {
		struct berth_err cerr = { 0 };
		int fd, rootfd, rc;

		close(sv[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Nothing of the parent's but what FN needs. */
		for (fd = 3; fd < 65536; fd++) {
			int k = fd == sv[1];

			for (int i = 0; i < nkeep && !k; i++)
				k = keep[i] == fd;
			if (!k)
				close(fd);
		}
		fd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (fd >= 0) {
			int keep0 = 0;

			for (int i = 0; i < nkeep; i++)
				keep0 |= keep[i] == 0;
			if (!keep0)
				dup2(fd, 0);
			dup2(fd, 1); /* not berthd's client */
			close(fd);
		}
		if (unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS |
			    CLONE_NEWCGROUP) < 0) {
			berth_err_sys(&cerr, "unshare");
			goto child_fail;
		}
		if (write(sv[1], "R", 1) != 1 || (fd = recv_fd(sv[1])) < 0) {
			berth_err_set(&cerr, EPIPE, "the parent did not set the sandbox up");
			goto child_fail;
		}
		rootfd = sandbox_enter(fd, scratch, &filter, &cerr);
		if (rootfd < 0)
			goto child_fail;
		rc = fn(rootfd, arg, &cerr);
		if (rc < 0)
			goto child_fail;
		_exit(0);
child_fail:
		msg[0] = 'E';
		berth_err_str(&cerr, msg + 1, sizeof(msg) - 1);
		if (write(sv[1], msg, strlen(msg)) < 0)
			_exit(2);
		_exit(1);
	}
	close(sv[1]);
	berth_bpf_free(&filter);
	/* The child has its user namespace: map it, and hand it the staging
	 * directory idmapped into it. */
	if (read(sv[0], msg, 1) != 1) {
		berth_err_set(err, EPIPE, "the sandbox did not start");
		goto kill;
	}
	snprintf(map, sizeof(map), "0 %" PRIu32 " 65536\n", uid_base);
	for (int i = 0; i < 2; i++) {
		int fd;

		snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, i ? "gid_map" : "uid_map");
		fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd < 0 || write(fd, map, strlen(map)) != (ssize_t)strlen(map)) {
			berth_err_sys(err, "write %s", path);
			if (fd >= 0)
				close(fd);
			goto kill;
		}
		close(fd);
	}
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	userns = open(path, O_RDONLY | O_CLOEXEC);
	treefd = (int)syscall(SYS_open_tree, AT_FDCWD, target, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (userns < 0 || treefd < 0) {
		berth_err_sys(err, "open_tree %s", target);
		goto kill;
	}
	{
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_IDMAP | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
						       MOUNT_ATTR_NOEXEC,
					   .userns_fd = (uint64_t)userns };

		if (syscall(SYS_mount_setattr, treefd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0) {
			berth_err_sys(err, "idmap %s for the sandbox", target);
			goto kill;
		}
	}
	if (send_fd(sv[0], treefd) < 0) {
		berth_err_sys(err, "pass the staging directory to the sandbox");
		goto kill;
	}
	close(treefd);
	close(userns);
	treefd = userns = -1;
	n = read(sv[0], msg, sizeof(msg) - 1);
	close(sv[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && n <= 0)
		return 0;
	if (n > 1 && msg[0] == 'E') {
		/* The child's words: it unpacked hostile input, so keep them
		 * printable and bounded. */
		msg[n] = '\0';
		for (char *p = msg + 1; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
				*p = '?';
		return berth_err_set(err, 0, "%s", msg + 1);
	}
	if (WIFSIGNALED(status))
		return berth_err_set(err, 0, "the unpacking sandbox was killed by signal %d", WTERMSIG(status));
	return berth_err_set(err, 0, "the unpacking sandbox failed (status %d)", WEXITSTATUS(status));
kill:
	kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	close(sv[0]);
	if (treefd >= 0)
		close(treefd);
	if (userns >= 0)
		close(userns);
	return -1;
}

/* --- the self-check (berth-image sandbox-check) --- */

/* Each forbidden thing the sandbox is tried with, and the errno it must get. */
static const struct probe {
	const char *name;
	int want;
} probes[] = {
	{ "socket-inet", EPERM },    /* no network: seccomp */
	{ "socket-unix", EPERM },    /* nor a local socket to pass descriptors on */
	{ "read-host-file", ENOENT }, /* the host's files are not in its root */
	{ "proc-absent", ENOENT },   /* no /proc: no /proc/self/fd route out */
	{ "write-root", EROFS },     /* its root is read-only */
	{ "write-dotdot", EROFS },   /* ".." from the staging directory lands there too */
	{ "mount", EPERM },          /* seccomp */
	{ "unshare", EPERM },        /* seccomp */
	{ "fork", EPERM },           /* seccomp: no helper outlives the check */
	{ "execve", EPERM },         /* seccomp */
	{ "ptrace", EPERM },         /* seccomp */
	{ "kill", EPERM },           /* seccomp */
	{ "chown-unmapped", EINVAL }, /* ids beyond its 65536 are not its to give */
	{ "write-staging", 0 },      /* and the one thing it may do */
};
#define NPROBES (sizeof(probes) / sizeof(probes[0]))

static int attempt(int rootfd, size_t i)
{
	long r = -1;
	int fd;

	errno = 0;
	switch (i) {
	case 0: r = socket(AF_INET, SOCK_STREAM, 0); break;
	case 1: r = socket(AF_UNIX, SOCK_STREAM, 0); break;
	/* openat and mkdirat: what the sandbox is allowed (musl's open and
	 * mkdir are other system calls, which seccomp refuses anyway). */
	case 2: r = openat(AT_FDCWD, "/etc/passwd", O_RDONLY | O_CLOEXEC); break;
	case 3: r = openat(AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC); break;
	case 4: r = mkdirat(AT_FDCWD, "/escape", 0755); break;
	case 5: r = openat(rootfd, "../escape", O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644); break;
	case 6: r = mount("none", "/", "tmpfs", 0, NULL); break;
	case 7: r = unshare(CLONE_NEWUSER); break;
	case 8: r = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0); break;
	case 9: r = syscall(SYS_execve, "/bin/sh", (char *[]){ "sh", NULL }, (char *[]){ NULL }); break;
	case 10: r = syscall(SYS_ptrace, 0 /* PTRACE_TRACEME */, 0, 0, 0); break;
	case 11: r = syscall(SYS_kill, 1, 0); break;
	case 12:
		fd = openat(rootfd, "owned", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			return errno ? errno : -1;
		r = fchown(fd, 70000, 70000);
		close(fd);
		break;
	case 13:
		fd = openat(rootfd, "written", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		r = fd < 0 ? -1 : write(fd, "ok\n", 3) == 3 ? 0 : -1;
		if (fd >= 0)
			close(fd);
		break;
	}
	if (r >= 0 && i < 12) {
		if (i < 4)
			close((int)r);
		if (i == 8 && r == 0)
			_exit(0); /* a child that should not exist: gone at once */
		return 0;
	}
	return r < 0 ? errno : 0;
}

/* In the sandbox: every probe, its errno written to ROOTFD/results as
 * "NAME ERRNO" lines (the only way out it has). */
static int run_probes(int rootfd, void *arg, struct berth_err *err)
{
	char line[64];
	int out = openat(rootfd, "results", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	(void)arg;
	if (out < 0)
		return berth_err_sys(err, "create results");
	for (size_t i = 0; i < NPROBES; i++) {
		int n = snprintf(line, sizeof(line), "%s %d\n", probes[i].name, attempt(rootfd, i));

		if (write(out, line, (size_t)n) != n)
			return berth_err_sys(err, "write results");
	}
	close(out);
	return 0;
}

static const char *errname(int e, char *buf, size_t len)
{
	static const struct {
		int e;
		const char *name;
	} names[] = { { EPERM, "EPERM" }, { ENOENT, "ENOENT" }, { EROFS, "EROFS" }, { EINVAL, "EINVAL" },
		      { EACCES, "EACCES" }, { EEXIST, "EEXIST" }, { ENOSYS, "ENOSYS" }, { EXDEV, "EXDEV" } };

	if (e == 0)
		return "allowed";
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].name;
	snprintf(buf, len, e < 0 ? "no result" : "errno %d", e);
	return buf;
}

int berth_sandbox_check(const char *dir, uint32_t uid_base, char *report, size_t len, struct berth_err *err)
{
	char target[600], scratch[600], results[700], text[2048];
	int fd, bad = 0;
	ssize_t n;
	size_t off = 0;

	snprintf(target, sizeof(target), "%s/target", dir);
	snprintf(scratch, sizeof(scratch), "%s/sandbox", dir);
	if ((mkdir(target, 0755) < 0 && errno != EEXIST) || (mkdir(scratch, 0755) < 0 && errno != EEXIST))
		return berth_err_sys(err, "create %s", dir);
	if (berth_sandbox_run(target, scratch, uid_base, run_probes, NULL, NULL, 0, err) < 0)
		return -1;
	snprintf(results, sizeof(results), "%s/results", target);
	fd = open(results, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return berth_err_sys(err, "%s", results);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n < 0)
		return berth_err_sys(err, "read %s", results);
	text[n] = '\0';
	report[0] = '\0';
	for (size_t i = 0; i < NPROBES; i++) {
		char key[64], *p;
		int got = -2;

		snprintf(key, sizeof(key), "%s ", probes[i].name);
		p = strstr(text, key);
		if (p)
			got = atoi(p + strlen(key));
		bad += got != probes[i].want;
		{
			char b1[24], b2[24];
			int ok = got == probes[i].want;

			off += (size_t)snprintf(report + off, off < len ? len - off : 0, "%s %-16s %s%s%s\n",
						ok ? "ok  " : "BAD ", probes[i].name, errname(got, b1, sizeof(b1)),
						ok ? "" : ", want ", ok ? "" : errname(probes[i].want, b2, sizeof(b2)));
		}
		if (off >= len)
			off = len - 1;
	}
	return bad;
}
