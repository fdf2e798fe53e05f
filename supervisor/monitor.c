/* The per-container monitor (monitor.h): start, log, wait, report, stop. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "lib/cleanup.h"
#include "logs.h"
#include "monitor.h"

static char *cmdline_area;
static size_t cmdline_len;

void berth_monitor_set_cmdline_area(char *start, size_t len)
{
	cmdline_area = start;
	cmdline_len = len;
}

int64_t berth_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int mon_path(const char *name, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	return snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s.sock", BERTH_MON_DIR, name) <
			       (int)sizeof(sa->sun_path)
		       ? 0
		       : -1;
}

struct mon {
	const struct berth_monitor_args *a;
	struct berth_mon_msg st; /* what the monitor reports */
	struct berth_running r;
	struct berth_log log;
	int conn, listen, out, timer;
	char cgroup[256];
};

static void report(struct mon *m)
{
	m->st.type = BERTH_MON_STATE;
	if (m->conn >= 0 && send(m->conn, &m->st, sizeof(m->st), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* berthd is gone or stuck: it reads the state again when it connects. */
		close(m->conn);
		m->conn = -1;
	}
}

/* Kill what is left of the container: every process of its cgroup. */
static void kill_all(struct mon *m)
{
	char path[300];
	int fd;

	snprintf(path, sizeof(path), "%s/cgroup.kill", m->r.cgroup);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (write(fd, "1", 1) < 0)
			berth_log_note(&m->log, "cgroup.kill: %s", strerror(errno));
		close(fd);
	}
}

static void on_stop(struct mon *m, const struct berth_mon_msg *req)
{
	struct itimerspec its = { 0 };

	if (m->st.phase != BERTH_MON_RUNNING)
		return;
	berth_log_note(&m->log, "stopping: signal %d, SIGKILL after %lld ms", req->signal,
		       req->timeout_us == INT64_MAX ? -1LL : (long long)(req->timeout_us / 1000));
	if (syscall(SYS_pidfd_send_signal, m->r.pidfd, req->signal, NULL, 0) < 0 && errno != ESRCH)
		berth_log_note(&m->log, "signal %d: %s", req->signal, strerror(errno));
	syscall(SYS_pidfd_send_signal, m->r.pidfd, SIGCONT, NULL, 0);
	if (req->timeout_us != INT64_MAX) {
		its.it_value.tv_sec = req->timeout_us / 1000000;
		its.it_value.tv_nsec = (req->timeout_us % 1000000) * 1000;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
		timerfd_settime(m->timer, 0, &its, NULL);
	}
}

/* Copy what the container wrote to its log, for at most BUDGET_MS (a
 * container that writes without pause cannot starve the monitor's other
 * duties: stops, exits, berthd), or with WAIT_MS until EOF or that deadline. */
static void drain(struct mon *m, int wait_ms, int budget_ms)
{
	char buf[65536];
	int64_t start = berth_now_us(), deadline = start + (int64_t)wait_ms * 1000;

	while (m->out >= 0) {
		int64_t t = berth_now_us(), left = (deadline - t) / 1000;
		struct pollfd p = { m->out, POLLIN, 0 };
		ssize_t n;

		if (budget_ms > 0 && t - start > (int64_t)budget_ms * 1000)
			return;
		if (poll(&p, 1, left > 0 ? (int)left : 0) <= 0)
			return;
		n = read(m->out, buf, sizeof(buf));
		if (n > 0) {
			berth_log_data(&m->log, buf, (size_t)n);
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close(m->out);
			m->out = -1;
		}
	}
}

static void on_exit_status(struct mon *m)
{
	siginfo_t si = { 0 };
	struct berth_err err = { 0 };

	if (waitid(P_PIDFD, (id_t)m->r.pidfd, &si, WEXITED) < 0)
		return;
	m->st.code = si.si_code;
	m->st.status = si.si_status;
	m->st.exited_at = berth_now_us();
	/* What the container wrote last; its other processes die with its
	 * PID 1, and their ends of the pipe with them (2 s at most). */
	drain(m, 2000, 2000);
	berth_log_flush(&m->log);
	if (si.si_code == CLD_EXITED)
		berth_log_note(&m->log, "exited with code %d%s", si.si_status,
			       m->st.timed_out ? " (killed after the stop timeout)" : "");
	else
		berth_log_note(&m->log, "killed by signal %d%s", si.si_status,
			       m->st.timed_out ? " (after the stop timeout)" : "");
	{
		int64_t oom = berth_cgroup_read(m->a->c->name, "memory.events", "oom_kill ");

		m->st.oom_kills = oom > 0 ? (int32_t)oom : 0;
		if (oom > 0)
			berth_log_note(&m->log, "out of memory: the kernel killed %lld process%s at MemoryMax",
				       (long long)oom, oom == 1 ? "" : "es");
	}
	if (berth_container_cleanup(m->a->c, &err) < 0)
		berth_log_note(&m->log, "cleanup: %s", err.msg);
	close(m->r.pidfd);
	m->r.pidfd = -1;
	m->st.phase = BERTH_MON_EXITED;
	report(m);
}

static int listen_on(const char *name)
{
	struct sockaddr_un sa;
	int fd;

	if (mon_path(name, &sa) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	unlink(sa.sun_path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || chmod(sa.sun_path, 0600) < 0 ||
	    listen(fd, 4) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static _Noreturn void monitor_main(const struct berth_monitor_args *a, int conn)
{
	struct mon m = { .a = a, .conn = conn, .listen = -1, .out = -1, .timer = -1 };
	struct berth_container c = *a->c;
	struct berth_err err = { 0 };
	struct sockaddr_un sa;
	sigset_t none;
	int pfd[2], devnull, fd;

	/* Not berthd: its own name, no signal of berthd's, out of berthd's
	 * session and cgroup (PID 1 kills what is left in system/berthd when
	 * berthd dies), and none of berthd's descriptors. */
	prctl(PR_SET_NAME, "berth-mon", 0, 0, 0);
	if (cmdline_area && cmdline_len > 0) {
		memset(cmdline_area, 0, cmdline_len);
		snprintf(cmdline_area, cmdline_len, "berth-mon");
	}
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	setsid();
	fd = open(BERTH_MON_CGROUP "/cgroup.procs", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "0", 1) != 1)
		_exit(120);
	close(fd);
	if (dup2(conn, 3) < 0)
		_exit(120);
	m.conn = 3;
	syscall(SYS_close_range, 4, ~0U, 0);
	fcntl(3, F_SETFD, FD_CLOEXEC);
	memset(&m.st, 0, sizeof(m.st));
	snprintf(m.st.name, sizeof(m.st.name), "%s", c.name);
	m.st.hash = a->hash;
	m.st.phase = BERTH_MON_STARTING;
	m.listen = listen_on(c.name);
	m.timer = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	if (berth_log_open(&m.log, BERTH_LOG_DIR, c.name, a->log_max_size, a->log_max_files, &err) < 0)
		fprintf(stderr, "berth-mon: %s: log: %s\n", c.name, err.msg);
	devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (m.listen < 0 || m.timer < 0 || devnull < 0 || pipe2(pfd, O_CLOEXEC) < 0) {
		snprintf(m.st.msg, sizeof(m.st.msg), "monitor setup: %s", strerror(errno));
		m.st.phase = BERTH_MON_START_FAILED;
	} else {
		c.stdio[0] = devnull;
		c.stdio[1] = c.stdio[2] = pfd[1];
		m.st.started_at = berth_now_us();
		if (berth_container_start(&c, &m.r, &err) < 0) {
			berth_err_str(&err, m.st.msg, sizeof(m.st.msg));
			berth_log_note(&m.log, "%s", m.st.msg);
			m.st.phase = BERTH_MON_START_FAILED;
			close(pfd[0]);
		} else {
			m.out = pfd[0];
			fcntl(m.out, F_SETFL, O_NONBLOCK);
			m.st.pid = m.r.pid;
			m.st.phase = BERTH_MON_RUNNING;
			berth_log_note(&m.log, "started, pid %d", (int)m.r.pid);
		}
		close(pfd[1]);
		close(devnull);
	}
	report(&m);
	for (;;) {
		struct pollfd p[5] = {
			{ m.listen, POLLIN, 0 },
			{ m.conn, POLLIN, 0 },
			{ m.out, POLLIN, 0 },
			{ m.st.phase == BERTH_MON_RUNNING ? m.r.pidfd : -1, POLLIN, 0 },
			{ m.timer, POLLIN, 0 },
		};

		if (poll(p, 5, -1) < 0)
			continue;
		if (p[0].revents & POLLIN) {
			int c2 = accept4(m.listen, NULL, NULL, SOCK_CLOEXEC);

			if (c2 >= 0) {
				/* A new berthd: it replaces any earlier connection. */
				if (m.conn >= 0)
					close(m.conn);
				m.conn = c2;
				report(&m);
			}
		}
		if (p[1].revents) {
			struct berth_mon_msg req;
			ssize_t n = recv(m.conn, &req, sizeof(req), MSG_DONTWAIT);

			if (n == (ssize_t)sizeof(req) && req.type == BERTH_MON_STOP) {
				on_stop(&m, &req);
			} else if (n == (ssize_t)sizeof(req) && req.type == BERTH_MON_RELEASE &&
				   m.st.phase >= BERTH_MON_EXITED) {
				break;
			} else if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
				close(m.conn);
				m.conn = -1; /* berthd went away; the next one connects */
			}
		}
		if (p[2].revents)
			drain(&m, 0, 20);
		if (p[3].revents & POLLIN)
			on_exit_status(&m);
		if (p[4].revents & POLLIN) {
			uint64_t ticks;

			if (read(m.timer, &ticks, sizeof(ticks)) > 0 && m.st.phase == BERTH_MON_RUNNING) {
				berth_log_note(&m.log, "stop timeout: SIGKILL to every process of the container");
				m.st.timed_out = 1;
				kill_all(&m);
			}
		}
	}
	if (mon_path(c.name, &sa) == 0)
		unlink(sa.sun_path);
	berth_log_close(&m.log);
	_exit(0);
}

pid_t berth_monitor_spawn(const struct berth_monitor_args *a, int *fd, struct berth_err *err)
{
	int sp[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
		return berth_err_sys(err, "%s: socketpair", a->c->name);
	pid = fork();
	if (pid < 0) {
		close(sp[0]);
		close(sp[1]);
		return berth_err_sys(err, "%s: fork the monitor", a->c->name);
	}
	if (pid == 0) {
		close(sp[0]);
		monitor_main(a, sp[1]);
	}
	close(sp[1]);
	fcntl(sp[0], F_SETFL, O_NONBLOCK);
	*fd = sp[0];
	return pid;
}

int berth_monitor_connect(const char *name, struct berth_mon_msg *m, struct berth_err *err)
{
	struct sockaddr_un sa;
	struct timeval tv = { 2, 0 };
	cleanup_close int fd = -1;

	if (mon_path(name, &sa) < 0)
		return berth_err_set(err, ENAMETOOLONG, "%s: monitor socket path", name);
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return berth_err_sys(err, "%s: connect to its monitor", name);
	memset(m, 0, sizeof(*m));
	{
		ssize_t n = recv(fd, m, sizeof(*m), 0);

		/* A busy monitor (a container flooding its log) accepts late: it is
		 * alive, and its state arrives on this socket later (type 0 here). */
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			m->type = 0;
			fcntl(fd, F_SETFL, O_NONBLOCK);
			return berth_take_fd(&fd);
		}
		if (n != (ssize_t)sizeof(*m) || m->type != BERTH_MON_STATE)
			return berth_err_set(err, EPROTO, "%s: no state from its monitor", name);
	}
	m->name[sizeof(m->name) - 1] = m->msg[sizeof(m->msg) - 1] = '\0';
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return berth_take_fd(&fd);
}
