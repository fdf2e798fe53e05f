/* berth-init container mode (RunInit=yes): PID 1 of a container's pid namespace,
 * like tini. Run one command, forward every signal to it, reap every orphan, and
 * exit with the command's status. Logs go to stderr (init_log without kmsg). */
#include <errno.h>
#include <signal.h>
#include <sys/syscall.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init.h"

static _Noreturn void usage(void)
{
	init_log(LOG_ERR_, "usage: " BERTH_CONTAINER_INIT_PATH " -- COMMAND [ARG...]");
	exit(2);
}

static _Noreturn void fail(const char *what)
{
	init_log(LOG_ERR_, "%s: %s", what, strerror(errno));
	exit(1);
}

/* Between fork and execve: a failure reports and _exits, 127 as a shell does
 * for a command not found, 126 for one that cannot be run. */
static _Noreturn void exec_command(char **argv, const sigset_t *mask)
{
	int e;

	if (sigprocmask(SIG_SETMASK, mask, NULL) < 0) {
		init_log(LOG_ERR_, "restore signal mask: %s", strerror(errno));
		_exit(126);
	}
	execvp(argv[0], argv);
	e = errno;
	init_log(LOG_ERR_, "exec %s: %s", argv[0], strerror(e));
	_exit(e == ENOENT ? 127 : 126);
}

/* Reap every child that has exited (tini's reap_zombies); return the main
 * child's exit code once it has been reaped, else -1. */
static int reap(pid_t child)
{
	int code = -1, st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid != child)
			continue;
		code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
	}
	if (pid < 0 && errno != ECHILD)
		fail("waitpid");
	return code;
}

_Noreturn void init_container(int argc, char **argv)
{
	sigset_t all, orig;
	siginfo_t info;
	pid_t child;
	int sig, code;

	if (argc < 3 || strcmp(argv[1], "--") != 0)
		usage();
	/* Outside a pid namespace of its own, orphans would skip it: adopt them. */
	if (getpid() != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0)
		fail("PR_SET_CHILD_SUBREAPER");
	/* Block first, so that no signal is lost or acts by default before the
	 * loop waits for it. Then reset every disposition: an inherited SIG_IGN
	 * for SIGCHLD would auto-reap the command and lose its status, and the
	 * command must start with defaults; blocked, none of them can act here. */
	sigfillset(&all);
	if (sigprocmask(SIG_BLOCK, &all, &orig) < 0)
		fail("block signals");
	for (sig = 1; sig < NSIG; sig++)
		if (sig != SIGKILL && sig != SIGSTOP && sigismember(&all, sig) == 1 &&
		    signal(sig, SIG_DFL) == SIG_ERR)
			fail("reset signal disposition");
	/* libc keeps 32..34 for itself (sigfillset and signal() skip them), but
	 * an ignored one would still be passed on to the command: reset them
	 * with the raw system call (kernel sigaction: handler, flags, restorer,
	 * mask; SIG_DFL needs no restorer). */
	for (sig = 32; sig < 35; sig++) {
		struct {
			void (*handler)(int);
			unsigned long flags;
			void (*restorer)(void);
			unsigned long mask;
		} ksa = { SIG_DFL, 0, 0, 0 };

		if (syscall(SYS_rt_sigaction, sig, &ksa, NULL, 8) < 0)
			fail("reset signal disposition");
	}
	child = fork();
	if (child < 0)
		fail("fork");
	if (child == 0)
		exec_command(argv + 2, &orig);
	for (;;) {
		sig = sigwaitinfo(&all, &info);
		if (sig < 0) {
			if (errno == EINTR)
				continue;
			fail("sigwaitinfo");
		}
		if (sig != SIGCHLD) {
			if (kill(child, sig) < 0)
				init_log(LOG_WARN_, "forward signal %d: %s", sig, strerror(errno));
			continue;
		}
		code = reap(child);
		if (code >= 0)
			exit(code);
	}
}
