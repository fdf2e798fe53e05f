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
