/* berthctl exec: a command in a running container, confined as the
 * container's own processes are. It must never be a way out, so it joins
 * what the container already has rather than rebuilding it:
 *
 *   berthd --clone3 into the container's cgroup--> helper
 *     helper: rlimit (needs the host's privilege), then setns(pidfd) into all
 *       seven namespaces of the container's PID 1 at once, close every
 *       descriptor but the three streams (pipes or a pty berthctl relays),
 *       the working directory, then the same steps as a container's own
 *       start: seccomp (without no_new_privs), capabilities and ids,
 *       no_new_privs, seccomp;
 *     helper --fork--> command (the fork is what enters the PID namespace),
 *       which takes a session of its own, resets signals and execs.
 *
 * The helper stays outside the PID namespace, waiting, so that berthd gets
 * the command's status; it is non-dumpable throughout, so the container
 * cannot ptrace it while it still holds berthd's memory. If berthd kills the
 * helper (the client went away), PDEATHSIG takes the command with it. */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "caps.h"
#include "cgroup.h"
#include "container.h"
#include "seccomp-berth.h"

#define EXEC_NS (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWUTS | CLONE_NEWIPC | \
		 CLONE_NEWCGROUP)

static _Noreturn void fail(int code, const char *what, int errnum)
{
	dprintf(2, "berth exec: %s: %s\n", what, strerror(errnum));
	_exit(code);
}

static _Noreturn void command_main(const struct berth_container *c, char *const argv[])
{
	sigset_t none;

	/* Die with the helper (set before anything else can happen to it). */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		_exit(125);
	/* A session of its own inside the container (the helper's lies
	 * outside its PID namespace and would read as 0). */
	if (setsid() < 0)
		_exit(125);
	sigemptyset(&none);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, &none, NULL);
	berth_exec_in_path(argv, c->env);
	dprintf(2, "berth exec: %s: %s\n", argv[0], strerror(errno));
	_exit(errno == ENOENT ? 127 : 126);
}

static _Noreturn void helper_main(const struct berth_container *c, int target, const struct berth_bpf *bpf,
				  uint64_t caps, char *const argv[], const int stdio[3], pid_t parent)
{
	struct berth_err err = { 0 };
	struct rlimit nofile = { c->nofile_soft, c->nofile_hard };
	int status;
	pid_t pid;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(125);
	if (getppid() != parent) /* berthd died before PDEATHSIG was armed */
		_exit(125);
	for (int i = 0; i < 3; i++)
		if (stdio[i] != i ? dup2(stdio[i], i) < 0 : fcntl(i, F_SETFD, 0) < 0)
			_exit(125);
	/* A session of its own, without a controlling terminal. */
	if (setsid() < 0)
		fail(125, "setsid", errno);
	if (setrlimit(RLIMIT_NOFILE, &nofile) < 0)
		fail(125, "setrlimit NOFILE", errno);
	if (setns(target, EXEC_NS) < 0)
		fail(125, "enter the container's namespaces", errno);
	/* Nothing of berthd's may reach the container (CVE-2024-21626): from
	 * here on only the three streams are open. */
	if (syscall(SYS_close_range, 3, ~0U, 0) < 0)
		fail(125, "close_range", errno);
	if (chdir(c->workdir[0] ? c->workdir : "/") < 0)
		fail(125, c->workdir[0] ? c->workdir : "/", errno);
	if (!c->no_new_privs && bpf->len && berth_seccomp_load(bpf, &err) < 0)
		fail(125, err.msg, err.errnum);
	if (berth_caps_apply(caps, c->uid, c->gid, c->groups, c->ngroups, &err) < 0)
		fail(125, err.msg, err.errnum);
	/* Changing ids cleared these two. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 || prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		_exit(125);
	if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail(125, "PR_SET_NO_NEW_PRIVS", errno);
	if (c->no_new_privs && bpf->len && berth_seccomp_load(bpf, &err) < 0)
		fail(125, err.msg, err.errnum);
	pid = fork();
	if (pid < 0)
		fail(125, "fork", errno);
	if (pid == 0)
		command_main(c, argv);
	/* The streams belong to the command: its end is EOF for the client. */
	for (int i = 0; i < 3; i++)
		close(i);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			_exit(125);
	_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
}

/* TARGET is the container's PID 1 (not a reused pid): it is alive and sits in
 * the container's cgroup as seen from the host. */
static int check_target(const struct berth_container *c, pid_t target, int pidfd, struct berth_err *err)
{
	char path[64], want[300], got[300];
	int fd;
	ssize_t n;
	const char *rel = BERTH_CGROUP_PARENT + strlen("/sys/fs/cgroup");

	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)target);
	snprintf(want, sizeof(want), "0::%s/%s\n", rel, c->name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berth_err_set(err, ESRCH, "%s is not running", c->name);
	n = read(fd, got, sizeof(got) - 1);
	close(fd);
	got[n > 0 ? n : 0] = '\0';
	if (strcmp(got, want) != 0)
		return berth_err_set(err, ESRCH, "%s is not running", c->name);
	/* In the container's cgroup is not enough: so is an exec helper before
	 * its setns (a recycled pid could name one). The container's PID 1 is
	 * in user and PID namespaces other than ours. */
	for (const char *const *ns = (const char *const[]){ "user", "pid", NULL }; *ns; ns++) {
		struct stat theirs, ours;

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)target, *ns);
		snprintf(want, sizeof(want), "/proc/self/ns/%s", *ns);
		if (stat(path, &theirs) < 0 || stat(want, &ours) < 0 ||
		    (theirs.st_ino == ours.st_ino && theirs.st_dev == ours.st_dev))
			return berth_err_set(err, ESRCH, "%s is not running", c->name);
	}
	/* Still alive now: /proc/PID above was the process the pidfd holds. */
	if (syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) < 0)
		return berth_err_set(err, ESRCH, "%s is not running", c->name);
	return 0;
}

pid_t berth_container_exec(const struct berth_container *c, pid_t target, char *const argv[],
			   const int stdio[3], int *pidfd, struct berth_err *err)
{
	struct berth_bpf bpf = { 0 };
	uint64_t caps = berth_caps_bounding(c->cap_add, c->cap_drop);
	char cgpath[300];
	int tfd, cgfd;
	pid_t pid;
	struct clone_args args = { .flags = CLONE_INTO_CGROUP | CLONE_PIDFD, .exit_signal = SIGCHLD };
	pid_t parent = getpid();

	*pidfd = -1;
	if (!argv[0] || !argv[0][0])
		return berth_err_set(err, EINVAL, "no command");
	tfd = (int)syscall(SYS_pidfd_open, target, 0);
	if (tfd < 0)
		return berth_err_set(err, ESRCH, "%s is not running", c->name);
	if (check_target(c, target, tfd, err) < 0) {
		close(tfd);
		return -1;
	}
	if ((c->seccomp == BERTH_SECCOMP_DEFAULT && berth_seccomp_default_filter(caps, &bpf, err) < 0) ||
	    (c->seccomp == BERTH_SECCOMP_PROFILE &&
	     berth_seccomp_compile_profile(c->seccomp_profile, caps, &bpf, err) < 0)) {
		close(tfd);
		return -1;
	}
	snprintf(cgpath, sizeof(cgpath), BERTH_CGROUP_PARENT "/%s", c->name);
	cgfd = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		berth_err_sys(err, "open %s", cgpath);
		close(tfd);
		berth_bpf_free(&bpf);
		return -1;
	}
	args.cgroup = (uint64_t)cgfd;
	args.pidfd = (uint64_t)(uintptr_t)pidfd;
	pid = (pid_t)syscall(SYS_clone3, &args, sizeof(args));
	if (pid == 0)
		helper_main(c, tfd, &bpf, caps, argv, stdio, parent);
	if (pid < 0)
		berth_err_sys(err, "clone3 into %s", cgpath);
	close(cgfd);
	close(tfd);
	berth_bpf_free(&bpf);
	return pid < 0 ? -1 : pid;
}
