/* berth-init supervision: start berthd (and the optional debug shell), restart
 * them when they exit (at least 1 s apart), reap every orphan, and run the
 * shutdown sequence on a signal. The loop blocks in sigwaitinfo: an idle PID 1
 * makes no wakeups. No allocation happens in here. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "init.h"

#define RESTART_MIN_MS 1000     /* between two starts of a service */
#define RESTART_MAX_MS 60000    /* backoff cap for a service that keeps failing */
#define RESTART_HEALTHY_MS 10000 /* a run this long resets the backoff */
#define BERTHD_STOP_MS 120000 /* berthd stops each unit within its own timeout */
#define TERM_GRACE_MS 5000
#define KILL_GRACE_MS 2000

struct service {
	const char *name;
	char *const *argv;
	const char *cgroup;
	const char *tty; /* controlling terminal, or NULL for the console */
	int enabled;
	pid_t pid;
	int64_t last_start_ms;
	int64_t restart_at_ms; /* 0: no restart pending */
	int64_t backoff_ms;
};

static char *const berthd_argv[] = { "/sbin/berthd", NULL };
static char *const shell_argv[] = { "/bin/sh", "-l", NULL };
/* SSH for operators: keys only (built so), no root login, only members of
 * berth-ops, host keys made at the first connection on /var (docs/ssh.md). */
static char *const ssh_argv[] = {
	"/bin/sh", "-c",
	"mkdir -p /var/lib/berth/ssh && chmod 0700 /var/lib/berth/ssh && "
	"exec /sbin/dropbear -F -R -w -G berth-ops -p 22 -P /run/dropbear.pid",
	NULL
};
static char shell_tty[64];
static char *const child_env[] = { "PATH=/sbin:/bin:/usr/sbin:/usr/bin", "HOME=/root",
				   "TERM=vt100", "SHELL=/bin/sh", NULL };

/* The host's uplink, for SSH: DHCP on eth0 (busybox udhcpc; the lease is
 * applied by /etc/berth/udhcpc.script and renewed while it runs). */
static char *const net_argv[] = { "/sbin/udhcpc", "-f", "-i", "eth0", "-s", "/etc/berth/udhcpc.script", NULL };

static struct service services[] = {
	{ .name = "berthd", .argv = berthd_argv, .cgroup = "/sys/fs/cgroup/system/berthd" },
	{ .name = "debug-shell", .argv = shell_argv, .cgroup = "/sys/fs/cgroup/system/debug-shell",
	  .tty = shell_tty },
	{ .name = "ssh", .argv = ssh_argv, .cgroup = "/sys/fs/cgroup/system/ssh" },
	{ .name = "network", .argv = net_argv, .cgroup = "/sys/fs/cgroup/system/network" },
};
#define NSERVICES (sizeof(services) / sizeof(services[0]))

static sigset_t handled;
static int shutting_down;

/* Between fork and execve: set up the child, and on failure report and _exit. */
static _Noreturn void exec_service(const struct service *s)
{
	sigset_t none;
	char procs[128];
	int fd;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	/* A shell gets its tty as controlling terminal and stdio; berthd reads
	 * nothing from the console and keeps it only for output. */
	fd = open(s->tty ? s->tty : "/dev/null", O_RDWR | O_NOCTTY);
	if (fd < 0 || (s->tty && ioctl(fd, TIOCSCTTY, 1) < 0)) {
		init_log(LOG_ERR_, "%s: open %s: %s", s->name, s->tty, strerror(errno));
		_exit(126);
	}
	if (s->tty) {
		struct termios t;

		/* A serial console has no modem lines worth obeying: without CLOCAL
		 * a change of the (emulated) carrier hangs the shell up. */
		if (tcgetattr(fd, &t) == 0) {
			t.c_cflag |= CLOCAL;
			tcsetattr(fd, TCSANOW, &t);
		}
	}
	for (int i = 0; i < (s->tty ? 3 : 1); i++)
		dup2(fd, i);
	if (fd > 2)
		close(fd);
	/* Join the service's cgroup before exec so nothing it forks escapes it. */
	snprintf(procs, sizeof(procs), "%s/cgroup.procs", s->cgroup);
	if (init_write_file(procs, "0") < 0) {
		init_log(LOG_ERR_, "%s: join %s: %s", s->name, s->cgroup, strerror(errno));
		_exit(126);
	}
	execve(s->argv[0], s->argv, child_env);
	init_log(LOG_ERR_, "%s: exec %s: %s", s->name, s->argv[0], strerror(errno));
	_exit(127);
}

static void start_service(struct service *s)
{
	pid_t pid;

	s->restart_at_ms = 0;
	if (access(s->argv[0], X_OK) < 0) {
		init_log(LOG_WARN_, "%s: %s: %s; not started", s->name, s->argv[0], strerror(errno));
		s->enabled = 0;
		return;
	}
	if (mkdir(s->cgroup, 0755) < 0 && errno != EEXIST)
		init_log(LOG_ERR_, "%s: mkdir %s: %s", s->name, s->cgroup, strerror(errno));
	s->last_start_ms = init_now_ms();
	pid = fork();
	if (pid < 0) {
		init_log(LOG_ERR_, "%s: fork: %s", s->name, strerror(errno));
		s->restart_at_ms = s->last_start_ms + RESTART_MIN_MS;
		return;
	}
	if (pid == 0)
		exec_service(s);
	s->pid = pid;
	init_log(LOG_INFO_, "%s: started, pid %d", s->name, (int)pid);
}

/* SIGKILL everything left in S's cgroup, by pid. Not cgroup.kill: on the 6.1
 * kernel a process of a cgroup that went through cgroup.kill gets every child
 * it later clone3()s with CLONE_INTO_CGROUP killed at birth (seen: berth-run
 * under a restarted shell), which would leave a restarted berthd unable to
 * start any container. A few rounds catch processes forked meanwhile. */
static void kill_leftovers(const struct service *s)
{
	static char buf[65536];
	char path[160];

	snprintf(path, sizeof(path), "%s/cgroup.procs", s->cgroup);
	for (int round = 0; round < 5; round++) {
		long n = init_read_file(path, buf, sizeof(buf));
		int killed = 0;

		for (char *p = buf; n > 0 && *p;) {
			long pid = strtol(p, &p, 10);

			if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
				killed++;
			while (*p == '\n')
				p++;
		}
		if (!killed)
			return;
	}
}

static void service_exited(struct service *s, int status)
{
	int64_t now = init_now_ms(), at = s->last_start_ms + RESTART_MIN_MS;

	s->pid = 0;
	if (WIFSIGNALED(status))
		init_log(LOG_WARN_, "%s: killed by signal %d", s->name, WTERMSIG(status));
	else
		init_log(LOG_WARN_, "%s: exited with status %d", s->name, WEXITSTATUS(status));
	if (shutting_down || !s->enabled)
		return;
	/* What the old instance left in its cgroup must not meet the new one
	 * (containers live in berth/, not here). */
	kill_leftovers(s);
	/* At least RESTART_MIN_MS between starts; a service that keeps failing
	 * soon after starting waits twice as long each time, up to RESTART_MAX_MS. */
	if (now - s->last_start_ms >= RESTART_HEALTHY_MS)
		s->backoff_ms = 0;
	if (s->backoff_ms && now + s->backoff_ms > at)
		at = now + s->backoff_ms;
	s->backoff_ms = s->backoff_ms ? s->backoff_ms * 2 : RESTART_MIN_MS;
	if (s->backoff_ms > RESTART_MAX_MS)
		s->backoff_ms = RESTART_MAX_MS;
	s->restart_at_ms = at > now ? at : now;
	init_log(LOG_WARN_, "%s: restarting in %lld ms", s->name, (long long)(s->restart_at_ms - now));
}

/* Reap every exited child. Returns 1 while children remain, 0 when none do. */
static int reap(void)
{
	for (;;) {
		int status;
		pid_t pid = waitpid(-1, &status, WNOHANG);

		if (pid == 0)
			return 1;
		if (pid < 0)
			return errno == ECHILD ? 0 : 1;
		for (size_t i = 0; i < NSERVICES; i++)
			if (services[i].pid == pid)
				service_exited(&services[i], status);
	}
}

/* Wait for SIGCHLD until service S (or, with S NULL, every child) is gone or
 * MS pass. S is watched through our own record: its pid may already be reused. */
static void wait_children(const struct service *s, int64_t ms)
{
	int64_t deadline = init_now_ms() + ms;
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		int left = reap();
		int64_t now = init_now_ms();
		struct timespec ts;

		if (s ? s->pid == 0 : !left)
			return;
		if (now >= deadline)
			return;
		ts.tv_sec = (deadline - now) / 1000;
		ts.tv_nsec = (long)((deadline - now) % 1000) * 1000000;
		sigtimedwait(&chld, NULL, &ts);
	}
}

static _Noreturn void shutdown_system(int how, const char *what)
{
	shutting_down = 1;
	init_log(LOG_WARN_, "shutdown: %s", what);
	/* berthd first: it stops the containers in order, each within its timeout. */
	if (services[0].pid > 0) {
		kill(services[0].pid, SIGTERM);
		wait_children(&services[0], BERTHD_STOP_MS);
	}
	/* An interactive shell ignores SIGTERM; a hangup is what ends a session. */
	if (services[1].pid > 0)
		kill(-services[1].pid, SIGHUP);
	kill(-1, SIGTERM);
	wait_children(NULL, TERM_GRACE_MS);
	if (reap()) {
		init_log(LOG_WARN_, "shutdown: sending SIGKILL to what is left");
		kill(-1, SIGKILL);
		wait_children(NULL, KILL_GRACE_MS);
	}
	sync();
	if (umount2("/var", 0) == 0) {
		init_log(LOG_INFO_, "shutdown: /var unmounted");
	} else {
		init_log(LOG_ERR_, "shutdown: umount /var: %s; remounting read-only", strerror(errno));
		if (mount(NULL, "/var", NULL, MS_REMOUNT | MS_RDONLY, NULL) < 0)
			init_log(LOG_CRIT_, "shutdown: remount /var read-only: %s", strerror(errno));
	}
	sync();
	reboot(how);
	init_fatal("reboot(2) returned");
}

void init_supervise_start(const char *cmdline)
{
	char value[64];
	int r;

	services[0].enabled = 1;
	services[2].enabled = access("/sbin/dropbear", X_OK) == 0;
	services[3].enabled = access("/sys/class/net/eth0", F_OK) == 0;
	r = init_cmdline_get(cmdline, "berth.debug_shell", value, sizeof(value));
	if (r == 1)
		r = init_debug_shell_tty(value, shell_tty, sizeof(shell_tty));
	if (r < 0)
		init_log(LOG_ERR_, "berth.debug_shell: invalid value; no shell started");
	if (r == 1) {
		init_log(LOG_CRIT_, "berth.debug_shell: root shell on %s (INSECURE, for debugging only)",
			 shell_tty);
		services[1].enabled = 1;
	}
	for (size_t i = 0; i < NSERVICES; i++)
		if (services[i].enabled)
			start_service(&services[i]);
}

_Noreturn void init_supervise_loop(void)
{
	for (;;) {
		int64_t next = 0, now = init_now_ms();
		siginfo_t info;
		int sig;

		for (size_t i = 0; i < NSERVICES; i++) {
			struct service *s = &services[i];

			if (s->restart_at_ms && s->restart_at_ms <= now)
				start_service(s);
			if (s->restart_at_ms && (!next || s->restart_at_ms < next))
				next = s->restart_at_ms;
		}
		if (next) {
			struct timespec ts = { (next - now) / 1000, (long)((next - now) % 1000) * 1000000 };

			sig = sigtimedwait(&handled, &info, &ts);
		} else {
			sig = sigwaitinfo(&handled, &info);
		}
		switch (sig) {
		case SIGCHLD:
			reap();
			break;
		case SIGUSR2: /* busybox poweroff */
			shutdown_system(RB_POWER_OFF, "power off");
		case SIGTERM: /* busybox reboot */
		case SIGINT:  /* Ctrl-Alt-Del */
			shutdown_system(RB_AUTOBOOT, "reboot");
		case SIGUSR1: /* busybox halt */
			shutdown_system(RB_HALT_SYSTEM, "halt");
		default:
			break;
		}
	}
}

void init_block_signals(void)
{
	sigemptyset(&handled);
	sigaddset(&handled, SIGCHLD);
	sigaddset(&handled, SIGTERM);
	sigaddset(&handled, SIGINT);
	sigaddset(&handled, SIGUSR1);
	sigaddset(&handled, SIGUSR2);
	sigprocmask(SIG_BLOCK, &handled, NULL);
}
