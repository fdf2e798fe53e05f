/* Starting a container: the parent prepares (cgroup, seccomp BPF), clones the
 * child into new namespaces and its cgroup, writes the id map, hands over the
 * idmapped root, and waits for either an error report or a successful execve.
 * The child's setup sequence is one flat function, in order. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "container.h"
#include "idmap.h"
#include "mounts.h"
#include "netlink.h"
#include "seccomp-berth.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* What a child that failed before execve tells its parent. */
struct child_report {
	char step[32];
	int errnum;
	char msg[BERTH_ERR_MSG];
};

struct spawn {
	const struct berth_container *c;
	int sock;                 /* the child's end of the socketpair (close-on-exec) */
	struct berth_bpf bpf;     /* compiled in the parent; empty when unconfined */
	uint64_t caps;
	int joined;               /* 0: cloned without CLONE_INTO_CGROUP (fallback) */
	struct berth_volume files[BERTH_MAX_FILES]; /* the runtime's file mounts */
	int nfiles;
};

/* Between clone and execve: report, then _exit (style.md #5). The exit code
 * tells the step even if the report is lost. */
static _Noreturn void child_fail(const struct spawn *s, int code, const char *step,
				 const struct berth_err *err)
{
	struct child_report rep = { .errnum = err->errnum };

	snprintf(rep.step, sizeof(rep.step), "%s", step);
	memcpy(rep.msg, err->msg, sizeof(rep.msg));
	if (send(s->sock, &rep, sizeof(rep), MSG_NOSIGNAL) < 0) {
		/* Nobody to tell: the exit code is all that is left. */
	}
	_exit(code);
}

#define MAX_FDS (1 + BERTH_MAX_VOLUMES + BERTH_MAX_FILES) /* root, volumes, runtime files */

/* Wait for the parent's "go", which carries N mount fds (the idmapped root,
 * then one per volume) as SCM_RIGHTS. */
static int receive_mounts(int sock, int *fds, int n, struct berth_err *err)
{
	char byte, ctl[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n) };
	struct cmsghdr *cm;

	if (recvmsg(sock, &mh, MSG_CMSG_CLOEXEC) != 1)
		return berth_err_set(err, errno ? errno : EPIPE, "no go-ahead from the parent");
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int) * (size_t)n))
		return berth_err_set(err, EPROTO, "no filesystems from the parent");
	memcpy(fds, CMSG_DATA(cm), sizeof(int) * (size_t)n);
	return 0;
}

void berth_exec_in_path(char *const argv[], char *const envp[])
{
	const char *path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
	char buf[512];
	int denied = 0;

	if (strchr(argv[0], '/')) {
		execve(argv[0], argv, envp);
		return;
	}
	for (char *const *e = envp; *e; e++)
		if (strncmp(*e, "PATH=", 5) == 0)
			path = *e + 5;
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, ":");

		if (n && snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, argv[0]) < (int)sizeof(buf)) {
			execve(buf, argv, envp);
			if (errno == EACCES)
				denied = 1;
			else if (errno != ENOENT && errno != ENOTDIR)
				return;
		}
		p += n + (p[n] == ':');
	}
	/* As execvp: EACCES if some candidate was there but not executable. */
	errno = denied ? EACCES : ENOENT;
}

/* A new network namespace starts with lo down; up, 127.0.0.1 works inside
 * (as in Docker, Network=none included). */
static int loopback_up(struct berth_err *err)
{
	struct ifreq ifr = { .ifr_name = "lo" };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return berth_err_sys(err, "socket");
	r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	if (r == 0) {
		ifr.ifr_flags |= IFF_UP;
		r = ioctl(fd, SIOCSIFFLAGS, &ifr);
	}
	close(fd);
	return r < 0 ? berth_err_sys(err, "bring lo up") : 0;
}

/* Inside, on the bridge: eth0 (the veth's peer, made by the parent) gets its
 * address, goes up, and the host's end of the bridge is the default route. */
static int eth0_up(const struct berth_container_net *n, struct berth_err *err)
{
	struct berth_nl nl;
	int r;

	if (berth_nl_open(&nl, err) < 0)
		return -1;
	r = berth_nl_addr_add(&nl, "eth0", n->ip, n->prefix, err) < 0 ||
	    berth_nl_link_set(&nl, "eth0", 1, 0, err) < 0 ||
	    berth_nl_route_add(&nl, 0, 0, n->gateway, "eth0", err) < 0 ? -1 : 0;
	berth_nl_close(&nl);
	return r;
}

/* The child's setup sequence. The order is the contract:
 * - the go-ahead comes after the parent wrote the id map: before it we are
 *   nobody in our namespace;
 * - mounts before pivot_root, masked/read-only paths last (mounts.c);
 * - capabilities after everything that needs them (mounts, hostname);
 * - no_new_privs before seccomp, and seccomp last, right before execve: it
 *   denies syscalls the setup needs. */
static _Noreturn void child_main(struct spawn *s)
{
	const struct berth_container *c = s->c;
	struct berth_err err = { 0 };
	int rootfd, fds[MAX_FDS];

	/* If the parent dies during setup, so do we; cleared before execve so a
	 * running container outlives a berthd restart. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(120);
	/* Standard streams first, so that what the container writes (and a
	 * shell's error about its command) reaches its log. */
	for (int i = 0; i < 3; i++)
		if (c->stdio[i] >= 0 && c->stdio[i] != i && dup2(c->stdio[i], i) < 0)
			child_fail(s, 120, "stdio", (berth_err_sys(&err, "dup2 stdio"), &err));
	/* A session of its own: no controlling terminal shared with whoever
	 * started us, so no TIOCSTI into their shell (CVE-2017-5226) and no
	 * signals to their process group. */
	if (setsid() < 0)
		child_fail(s, 120, "setsid", (berth_err_sys(&err, "setsid"), &err));
	if (receive_mounts(s->sock, fds, 1 + c->nvolumes + s->nfiles, &err) < 0)
		child_fail(s, 121, "sync", &err);
	rootfd = fds[0];
	/* Fallback clone: now that the parent has moved us into our cgroup. */
	if (!s->joined && unshare(CLONE_NEWCGROUP) < 0)
		child_fail(s, 121, "cgroup namespace", (berth_err_sys(&err, "unshare CLONE_NEWCGROUP"), &err));
	if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
		child_fail(s, 122, "become root in the user namespace", (berth_err_sys(&err, "setresuid 0"), &err));
	/* Changing ids clears the parent-death signal: arm it again. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(120);
	if (sethostname(c->hostname, strlen(c->hostname)) < 0)
		child_fail(s, 123, "hostname", (berth_err_sys(&err, "sethostname %s", c->hostname), &err));
	/* A stack of its own: ours to set up (a joined or the host's one is not). */
	if (c->net.ns == BERTH_NETNS_OWN && loopback_up(&err) < 0)
		child_fail(s, 123, "loopback", &err);
	if (c->net.ns == BERTH_NETNS_OWN && c->net.bridge[0] && eth0_up(&c->net, &err) < 0)
		child_fail(s, 123, "network", &err);
	if (berth_mounts_setup(c, rootfd, fds + 1, s->files, s->nfiles, &err) < 0)
		child_fail(s, 124, "mounts", &err);
	for (int i = 0; i < 1 + c->nvolumes + s->nfiles; i++)
		close(fds[i]);
	if (c->workdir[0] && chdir(c->workdir) < 0)
		child_fail(s, 125, "workdir", (berth_err_sys(&err, "chdir %s", c->workdir), &err));
	/* Without no_new_privs the kernel wants CAP_SYS_ADMIN to load a filter:
	 * then it goes on before the capabilities are dropped. */
	if (!c->no_new_privs && s->bpf.len && berth_seccomp_load(&s->bpf, &err) < 0)
		child_fail(s, 130, "seccomp", &err);
	if (berth_caps_apply(s->caps, c->uid, c->gid, c->groups, c->ngroups, &err) < 0)
		child_fail(s, 126, "capabilities", &err);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(120);
	if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		child_fail(s, 127, "no_new_privs", (berth_err_sys(&err, "PR_SET_NO_NEW_PRIVS"), &err));
	/* No descriptor of ours may reach the container (CVE-2024-21626). */
	if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
		child_fail(s, 128, "close fds", (berth_err_sys(&err, "close_range"), &err));
	if (prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0) < 0)
		child_fail(s, 129, "pdeathsig", (berth_err_sys(&err, "clear PDEATHSIG"), &err));
	if (c->no_new_privs && s->bpf.len && berth_seccomp_load(&s->bpf, &err) < 0)
		child_fail(s, 130, "seccomp", &err);
	berth_exec_in_path(c->argv, c->env);
	child_fail(s, 131, "execve", (berth_err_sys(&err, "execve %s", c->argv[0]), &err));
}

static int send_mounts(int sock, const int *fds, int n, struct berth_err *err)
{
	char byte = 'g', ctl[CMSG_SPACE(sizeof(int) * MAX_FDS)];
	struct iovec iov = { &byte, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
			     .msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n) };
	struct cmsghdr *cm;

	memset(ctl, 0, sizeof(ctl));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * (size_t)n);
	if (sendmsg(sock, &mh, MSG_NOSIGNAL) != 1)
		return berth_err_sys(err, "send the root filesystem to the container");
	return 0;
}

#define NS_FLAGS                                                                              \
	(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | \
	 CLONE_NEWCGROUP)

/* clone3 straight into the cgroup with every namespace; a pidfd comes back.
 * Where clone3 is missing (ENOSYS: kernels before 5.7, or a seccomp filter
 * around us), clone without CLONE_INTO_CGROUP: *JOINED is then 0 and the
 * parent moves the child into its cgroup before letting it run anything, and
 * the child makes its cgroup namespace only then (a namespace made at clone
 * time would be rooted at the parent's cgroup). */
static pid_t clone_container(uint64_t ns, int cgfd, int *pidfd, int force_fallback, int *joined)
{
	struct clone_args args = {
		.flags = ns | CLONE_INTO_CGROUP | CLONE_PIDFD,
		.pidfd = (uint64_t)(uintptr_t)pidfd,
		.exit_signal = SIGCHLD,
		.cgroup = (uint64_t)cgfd,
	};
	pid_t pid;

	*joined = 1; /* the child reads its copy of this: set before cloning */
	pid = force_fallback ? (errno = ENOSYS, -1) : (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid >= 0 || errno != ENOSYS)
		return pid;
	*joined = 0;
	/* x86_64 raw clone: flags, stack, parent_tid (the pidfd with CLONE_PIDFD), child_tid, tls. */
	return (pid_t)syscall(SYS_clone, (ns & ~(uint64_t)CLONE_NEWCGROUP) | CLONE_PIDFD | SIGCHLD, NULL,
			      pidfd, NULL, NULL);
}

static int join_cgroup(int cgfd, pid_t pid, struct berth_err *err)
{
	char buf[16];
	int fd = openat(cgfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
	int n = snprintf(buf, sizeof(buf), "%d", (int)pid);

	if (fd < 0 || write(fd, buf, (size_t)n) != n) {
		berth_err_sys(err, "move the container into its cgroup");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Network=container:NAME: enter the network namespace of that container's
 * PID 1 (through a pidfd, after checking the process is in NAME's cgroup, so
 * a recycled pid is never joined), saving ours in *SAVED for leave_netns. */
static int enter_netns(const struct berth_container_net *n, int *saved, struct berth_err *err)
{
	char path[64], want[BERTH_NAME_MAX + 16], line[BERTH_NAME_MAX + 64] = "";
	int pidfd = (int)syscall(SYS_pidfd_open, n->join_pid, 0), ok = 0;
	FILE *f;

	*saved = -1;
	if (pidfd < 0)
		return berth_err_sys(err, "network of %s: its process %d", n->join_name, (int)n->join_pid);
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)n->join_pid);
	snprintf(want, sizeof(want), "0::/berth/%s\n", n->join_name);
	f = fopen(path, "re");
	if (f) {
		ok = fgets(line, sizeof(line), f) && strcmp(line, want) == 0;
		fclose(f);
	}
	if (!ok) {
		close(pidfd);
		return berth_err_set(err, ESRCH, "network of %s: process %d is not its container", n->join_name,
				     (int)n->join_pid);
	}
	*saved = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (*saved < 0 || setns(pidfd, CLONE_NEWNET) < 0) {
		berth_err_sys(err, "join the network of %s", n->join_name);
		close(pidfd);
		if (*saved >= 0)
			close(*saved);
		*saved = -1;
		return -1;
	}
	close(pidfd);
	return 0;
}

static int leave_netns(int *saved, struct berth_err *err)
{
	int r = 0;

	if (*saved < 0)
		return 0;
	if (setns(*saved, CLONE_NEWNET) < 0)
		r = berth_err_sys(err, "return to the host's network");
	close(*saved);
	*saved = -1;
	return r;
}

/* On the bridge: a veth pair, the host's end HOST_LINK in the bridge and up,
 * the other end eth0 in the namespace of PID (which configures it). A link
 * of that name left by an earlier run (the kernel deletes a veth when its
 * namespace goes, but not at once) is deleted first. */
static int veth_setup(const struct berth_container_net *n, pid_t pid, struct berth_err *err)
{
	struct berth_nl nl;
	struct berth_err ignored;
	unsigned bridge = if_nametoindex(n->bridge);
	uint8_t mac[6];
	int r;

	if (!bridge)
		return berth_err_sys(err, "bridge %s", n->bridge);
	if (berth_nl_open(&nl, err) < 0)
		return -1;
	berth_nl_link_del(&nl, n->host_link, &ignored);
	berth_net_mac(n->ip, mac);
	r = berth_nl_veth_add(&nl, n->host_link, "eth0", mac, pid, err) < 0 ||
	    berth_nl_link_set(&nl, n->host_link, 1, (int)bridge, err) < 0 ? -1 : 0;
	if (r < 0)
		berth_nl_link_del(&nl, n->host_link, &ignored);
	berth_nl_close(&nl);
	return r;
}

int berth_container_net_cleanup(const struct berth_container *c)
{
	struct berth_nl nl;
	struct berth_err err;
	int r;

	if (c->net.ns != BERTH_NETNS_OWN || !c->net.host_link[0])
		return 0;
	if (berth_nl_open(&nl, &err) < 0)
		return -1;
	r = berth_nl_link_del(&nl, c->net.host_link, &err);
	berth_nl_close(&nl);
	return r < 0 && err.errnum != ENODEV ? -1 : 0;
}

int berth_container_start(const struct berth_container *c, struct berth_running *r,
			  struct berth_err *err)
{
	struct spawn s = { .c = c, .sock = -1 };
	struct child_report rep;
	int sp[2] = { -1, -1 }, cgfd = -1, usernsfd = -1, rootfd = -1, idmapped = 0, status;
	char path[64];
	struct rlimit nofile = { c->nofile_soft, c->nofile_hard };
	ssize_t n;
	pid_t pid = -1;
	int reported = 0, joined = 1, mfds[MAX_FDS], nmfds = 0, hostns = -1, veth = 0;
	uint64_t ns = NS_FLAGS;

	r->pid = -1;
	r->pidfd = -1;
	if (berth_container_validate(c, err) < 0)
		return -1;
	s.caps = berth_caps_bounding(c->cap_add, c->cap_drop);
	if (c->seccomp == BERTH_SECCOMP_DEFAULT &&
	    berth_seccomp_default_filter(s.caps, &s.bpf, err) < 0)
		return berth_err_prefix(err, "%s: start failed", c->name);
	if (c->seccomp == BERTH_SECCOMP_PROFILE &&
	    berth_seccomp_compile_profile(c->seccomp_profile, s.caps, &s.bpf, err) < 0)
		return berth_err_prefix(err, "%s: start failed", c->name);
	if ((cgfd = berth_cgroup_create(c, r->cgroup, sizeof(r->cgroup), err)) < 0)
		goto fail;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
		berth_err_sys(err, "socketpair");
		goto fail;
	}
	s.sock = sp[1];
	s.nfiles = berth_container_files(c, s.files);
	if (c->net.ns != BERTH_NETNS_OWN)
		ns &= ~(uint64_t)CLONE_NEWNET;
	if (c->net.ns == BERTH_NETNS_JOIN && enter_netns(&c->net, &hostns, err) < 0)
		goto fail;
	pid = clone_container(ns, cgfd, &r->pidfd, c->clone_fallback, &s.joined);
	joined = s.joined;
	if (pid == 0) {
		close(sp[0]);
		child_main(&s);
	}
	if (leave_netns(&hostns, err) < 0)
		goto fail;
	if (pid < 0) {
		berth_err_sys(err, joined ? "clone3" : "clone");
		goto fail;
	}
	close(sp[1]);
	sp[1] = -1;
	r->pid = pid;
	/* The child waits for the go-ahead before it runs anything of its own. */
	if (!joined && join_cgroup(cgfd, pid, err) < 0)
		goto fail;
	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (berth_mkdir_p(BERTH_ROOT_MOUNT, 0755, err) < 0 || berth_idmap_write(pid, c, err) < 0 ||
	    (usernsfd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    (rootfd = berth_rootfs_open(c, usernsfd, &idmapped, err)) < 0) {
		if (usernsfd < 0 && !err->msg[0])
			berth_err_sys(err, "open %s", path);
		goto fail;
	}
	if (c->net.ns == BERTH_NETNS_OWN && c->net.bridge[0]) {
		if (veth_setup(&c->net, pid, err) < 0)
			goto fail;
		veth = 1;
	}
	/* From out here: raising a hard limit needs privilege in the initial namespace. */
	if (prlimit(pid, RLIMIT_NOFILE, &nofile, NULL) < 0) {
		berth_err_sys(err, "prlimit NOFILE");
		goto fail;
	}
	mfds[0] = rootfd;
	for (nmfds = 1; nmfds <= c->nvolumes; nmfds++)
		if (berth_volume_prepare(c, &c->volumes[nmfds - 1], err) < 0 ||
		    (mfds[nmfds] = berth_volume_open(&c->volumes[nmfds - 1], err)) < 0)
			goto fail;
	for (int i = 0; i < s.nfiles; i++, nmfds++)
		if ((mfds[nmfds] = berth_volume_open(&s.files[i], err)) < 0)
			goto fail;
	/* EPIPE: the child is already gone; its report (if any) is still queued. */
	if (send_mounts(sp[0], mfds, nmfds, err) < 0 && errno != EPIPE)
		goto fail;
	/* EOF: the child's end closed on a successful execve, or the child died
	 * before it could report (an exit code of ours, or killed during setup). */
	n = recv(sp[0], &rep, sizeof(rep), 0);
	if (n == 0) {
		siginfo_t si = { 0 };

		if (waitid(P_PIDFD, (id_t)r->pidfd, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid &&
		    ((si.si_code == CLD_EXITED && si.si_status >= 120 && si.si_status <= 131) ||
		     si.si_code == CLD_KILLED || si.si_code == CLD_DUMPED)) {
			if (si.si_code == CLD_EXITED)
				berth_err_set(err, 0, "%s: start failed during setup (exit code %d, no report)",
					      c->name, si.si_status);
			else
				berth_err_set(err, 0, "%s: start failed: killed by signal %d during setup",
					      c->name, si.si_status);
			reported = 1;
			goto fail;
		}
	}
	if (n != 0) {
		if (n == (ssize_t)sizeof(rep)) {
			rep.step[sizeof(rep.step) - 1] = rep.msg[sizeof(rep.msg) - 1] = '\0';
			berth_err_set(err, rep.errnum, "%s: start failed at %s: %s", c->name, rep.step,
				      rep.msg);
			reported = 1;
		} else {
			berth_err_set(err, n < 0 ? errno : EPROTO, "lost the container's setup report");
		}
		goto fail;
	}
	if (!idmapped)
		fprintf(stderr, "berth: %s: %s cannot be idmapped; image files show as nobody\n", c->name,
			c->rootfs);
	close(sp[0]);
	close(cgfd);
	close(usernsfd);
	close(rootfd);
	for (int i = 1; i < nmfds; i++)
		close(mfds[i]);
	berth_bpf_free(&s.bpf);
	return 0;
fail:
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (r->pidfd >= 0)
		close(r->pidfd);
	r->pidfd = -1;
	r->pid = -1;
	for (int i = 0; i < 2; i++)
		if (sp[i] >= 0)
			close(sp[i]);
	if (hostns >= 0) {
		struct berth_err e2;

		leave_netns(&hostns, &e2);
	}
	if (veth)
		berth_container_net_cleanup(c);
	if (cgfd >= 0) {
		struct berth_err e2;

		close(cgfd);
		berth_cgroup_remove(r->cgroup, &e2);
	}
	if (usernsfd >= 0)
		close(usernsfd);
	if (rootfd >= 0)
		close(rootfd);
	for (int i = 1; i < nmfds; i++)
		close(mfds[i]);
	berth_bpf_free(&s.bpf);
	return reported ? -1 : berth_err_prefix(err, "%s: start failed", c->name);
}

int berth_container_cleanup(const struct berth_container *c, struct berth_err *err)
{
	char path[256];

	berth_container_net_cleanup(c);
	snprintf(path, sizeof(path), BERTH_CGROUP_PARENT "/%s", c->name);
	return berth_cgroup_remove(path, err);
}
