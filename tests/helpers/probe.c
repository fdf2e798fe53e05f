/* probe: a static helper the tests run inside the guest and inside containers.
 * Each check tries one thing (often a forbidden one) and compares the exact
 * outcome with what Berth promises, printing "PASS name" or "FAIL name: got X,
 * want Y". Usage:
 *   probe write PATH                 print OK or the errno name of a write
 *   probe container [HOSTPID BASE]   the container checks (run as container root)
 *   probe user UID                   checks for a container started as UID
 *   probe euid                       print the effective uid (setuid test)
 *   probe fs mkdir|rmdir|chmod PATH  print OK or the errno name
 *   probe fork-until-fail            fork sleepers until fork fails; print the count and errno
 *   probe connect HOST PORT [MS]     TCP to HOST (a name goes through /etc/hosts): print OK and
 *                                    the first line the peer sends, or the errno name (MS: the
 *                                    connect timeout, default 3000)
 *   probe serve PORT TEXT            accept TCP on PORT forever, send TEXT and a newline to each
 *   probe links                      print each interface with its IPv4 address, one per line
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

static int failures;
/* "probe exec": run by `berthctl exec` inside a running container rather
 * than as its PID 1; the checks that differ by design say so. */
static int exec_mode;

static const char *errname(int e)
{
	static const struct { int e; const char *n; } names[] = {
		{ 0, "OK" },	      { EPERM, "EPERM" },   { ENOENT, "ENOENT" }, { ESRCH, "ESRCH" },
		{ EACCES, "EACCES" }, { EROFS, "EROFS" },   { EEXIST, "EEXIST" }, { EINVAL, "EINVAL" },
		{ ENOSYS, "ENOSYS" }, { ENOSPC, "ENOSPC" }, { EBUSY, "EBUSY" },	  { EAGAIN, "EAGAIN" },
		{ EISDIR, "EISDIR" }, { EAFNOSUPPORT, "EAFNOSUPPORT" },		  { EFAULT, "EFAULT" },
		{ EBADF, "EBADF" }, { ENXIO, "ENXIO" }, { ETIMEDOUT, "ETIMEDOUT" },
		{ ECONNREFUSED, "ECONNREFUSED" }, { EHOSTUNREACH, "EHOSTUNREACH" },
		{ ENETUNREACH, "ENETUNREACH" },
	};
	static char buf[32];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].e == e)
			return names[i].n;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

static void expect(const char *name, const char *got, const char *want)
{
	if (strcmp(got, want) == 0) {
		printf("PASS container-%s\n", name);
	} else {
		printf("FAIL container-%s: got %s, want %s\n", name, got, want);
		failures++;
	}
	fflush(stdout);
}

/* Run R (a syscall's return value) through errno: "OK" or the errno's name. */
static const char *res(long r)
{
	return r < 0 ? errname(errno) : "OK";
}

static int try_write(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0 || write(fd, "x", 1) != 1) {
		int e = errno;

		if (fd >= 0)
			close(fd);
		return e;
	}
	close(fd);
	return 0;
}

static void status_field(const char *key, char *out, size_t len)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "re");

	snprintf(out, len, "missing");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':') {
			char *v = line + strlen(key) + 1;

			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			snprintf(out, len, "%s", v);
		}
	}
	if (f)
		fclose(f);
}

/* Each row: check name, /proc/self/status field, expected value. */
static void expect_status(const char *const rows[][3])
{
	char buf[64];

	for (; rows[0][0]; rows++) {
		status_field(rows[0][1], buf, sizeof(buf));
		expect(rows[0][0], buf, rows[0][2]);
	}
}

static void check_syscalls(pid_t hostpid)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { { 0 } };
	char buf[64];
	long r;

	expect("mount", res(mount("tmpfs", "/tmp", "tmpfs", 0, NULL)), "EPERM");
	expect("umount2", res(umount2("/proc", MNT_DETACH)), "EPERM");
	expect("unshare-user", res(unshare(CLONE_NEWUSER)), "EPERM");
	{
		int fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);

		expect("setns", res(syscall(SYS_setns, fd, 0)), "EPERM");
		if (fd >= 0)
			close(fd);
	}
	expect("keyctl", res(syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -1, 0)), "EPERM");
	expect("add_key", res(syscall(SYS_add_key, "user", "berth", "x", 1, -2)), "EPERM");
	expect("bpf", res(syscall(SYS_bpf, 0, NULL, 0)), "EPERM");
	expect("perf_event_open", res(syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0)), "EPERM");
	expect("kexec_load", res(syscall(SYS_kexec_load, 0, 0, NULL, 0)), "EPERM");
	expect("init_module", res(syscall(SYS_init_module, NULL, 0, "")), "EPERM");
	expect("finit_module", res(syscall(SYS_finit_module, -1, "", 0)), "EPERM");
	expect("reboot", res(syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, NULL)), "EPERM");
	expect("swapon", res(syscall(SYS_swapon, "/tmp/swap", 0)), "EPERM");
	expect("open_by_handle_at", res(syscall(SYS_open_by_handle_at, AT_FDCWD, NULL, 0)), "EPERM");
	expect("userfaultfd", res(syscall(SYS_userfaultfd, 0)), "EPERM");
	expect("io_uring_setup", res(syscall(SYS_io_uring_setup, 1, NULL)), "EPERM");
	expect("personality-addr-no-randomize", res(personality(ADDR_NO_RANDOMIZE)), "EPERM");
	expect("personality-query", res(personality(0xffffffff)), "OK");
	expect("clone-newns", res(syscall(SYS_clone, CLONE_NEWNS | SIGCHLD, 0, NULL, NULL, 0)), "EPERM");
	expect("clone-newuser", res(syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, NULL, NULL, 0)), "EPERM");
	expect("clone3", res(syscall(SYS_clone3, NULL, 0)), "ENOSYS");
	/* The x32 ABI: out of Berth's filter (EPERM); Docker's profile lets it
	 * through to the kernel, which has no x32 (PROBE_SECCOMP=docker-json). */
	{
		const char *sc = getenv("PROBE_SECCOMP");

		expect("x32-abi", res(syscall(0x40000000 /* __X32_SYSCALL_BIT */ | SYS_getppid)),
		       sc && strcmp(sc, "docker-json") == 0 ? "ENOSYS" : "EPERM");
	}
	expect("socket-vsock", res(socket(40 /* AF_VSOCK */, SOCK_STREAM, 0)), "EPERM");
	expect("socket-alg", res(socket(38 /* AF_ALG */, SOCK_SEQPACKET, 0)), "EPERM");
	expect("socket-packet", res(socket(AF_PACKET, SOCK_RAW, 0)), "EPERM");
	r = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	expect("socket-inet-allowed", res(r), "OK");
	if (r >= 0)
		close((int)r);
	expect("mknod", res(mknod("/tmp/null", S_IFCHR | 0666, makedev(1, 3))), "EPERM");
	/* Processes outside are not even visible: the host pid names nothing here
	 * (or, by chance, one of our own, which ptrace would still refuse as EPERM). */
	if (hostpid > 1) {
		r = ptrace(PTRACE_ATTACH, hostpid, NULL, NULL);
		snprintf(buf, sizeof(buf), "%s", res(r));
		expect("ptrace-outside", strcmp(buf, "EPERM") == 0 ? "ESRCH" : buf, "ESRCH");
	}
	/* Keystrokes into the terminal of whoever started us: not our controlling
	 * terminal (own session), so TIOCSTI needs CAP_SYS_ADMIN in the initial
	 * namespace. Checked when our stdin is a terminal at all. */
	if (isatty(0)) {
		char ch = ' ';

		expect("tiocsti-host-terminal", res(ioctl(0, TIOCSTI, &ch)), "EPERM");
		expect("no-controlling-terminal", res(open("/dev/tty", O_RDWR | O_CLOEXEC)), "ENXIO");
	}
	/* Host processes cannot be signalled (they are not even visible). */
	if (hostpid > 1)
		expect("kill-host-process", res(kill(hostpid, 0)), "ESRCH");
	/* Raising a capability we do not have: CAP_SYS_ADMIN into permitted and effective. */
	syscall(SYS_capget, &hdr, data);
	data[0].effective |= 1U << CAP_SYS_ADMIN;
	data[0].permitted |= 1U << CAP_SYS_ADMIN;
	expect("capset-raise", res(syscall(SYS_capset, &hdr, data)), "EPERM");
}

/* The entries of directory PATH, comma-separated, without "." names and
 * without the directory's own descriptor (for /proc/self/fd); "" if none. */
static const char *list_dir(const char *path)
{
	static char buf[256];
	DIR *d = opendir(path);
	struct dirent *e;

	buf[0] = '\0';
	while (d && (e = readdir(d)))
		if (e->d_name[0] != '.' && !(strcmp(path, "/proc/self/fd") == 0 && atoi(e->d_name) == dirfd(d)) &&
		    strlen(buf) + strlen(e->d_name) + 2 < sizeof(buf)) {
			if (buf[0])
				strcat(buf, ",");
			strcat(buf, e->d_name);
		}
	if (d)
		closedir(d);
	return buf;
}

/* Nothing of the runtime reaches the container: only 0, 1 and 2 are open; it
 * leads a session of its own; no parent-death signal survives into it (a
 * container outlives a supervisor restart). */
static void check_fds(void)
{
	char buf[32];
	int sig = -1;

	char want[32];

	expect("only-stdio-fds", list_dir("/proc/self/fd"), "0,1,2");
	snprintf(buf, sizeof(buf), "%d", (int)getsid(0));
	snprintf(want, sizeof(want), "%d", (int)getpid());
	expect("own-session", buf, want);
	prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0);
	snprintf(buf, sizeof(buf), "%d", sig);
	/* An exec'd command dies with its session (berthctl gone: killed). */
	if (exec_mode)
		expect("exec-dies-with-session", buf, "9");
	else
		expect("no-parent-death-signal", buf, "0");
}

/* Docker's masked paths (the reference list, kept here apart from the
 * runtime's own): each one that exists reads as empty, file or directory. */
static void check_masked(void)
{
	static const char *const paths[] = {
		"/proc/acpi", "/proc/asound", "/proc/interrupts", "/proc/kcore", "/proc/keys",
		"/proc/latency_stats", "/proc/sched_debug", "/proc/scsi", "/proc/timer_list",
		"/proc/timer_stats", "/sys/devices/virtual/powercap", "/sys/firmware",
		"/sys/devices/system/cpu/cpu0/thermal_throttle",
	};
	char name[80], buf[64];
	struct stat st;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		if (lstat(paths[i], &st) < 0)
			continue;
		snprintf(name, sizeof(name), "masked%s", paths[i]);
		for (char *c = name; *c; c++)
			*c = *c == '/' ? '-' : *c;
		if (S_ISDIR(st.st_mode)) {
			expect(name, list_dir(paths[i])[0] ? "has entries" : "empty", "empty");
		} else {
			int fd = open(paths[i], O_RDONLY | O_CLOEXEC);
			ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

			expect(name, fd < 0 ? errname(errno) : n == 0 ? "empty" : "readable", "empty");
			if (fd >= 0)
				close(fd);
		}
	}
}

static void check_filesystem(void)
{
	char buf[64];

	expect("write-root", errname(try_write("/berth-probe")), "EROFS");
	expect("write-etc", errname(try_write("/etc/berth-probe")), "EROFS");
	expect("write-proc-sys", errname(try_write("/proc/sys/kernel/hostname")), "EROFS");
	expect("write-sysrq-trigger", errname(try_write("/proc/sysrq-trigger")), "EROFS");
	expect("write-sys", errname(try_write("/sys/kernel/profiling")), "EROFS");
	expect("write-cgroup", errname(try_write("/sys/fs/cgroup/pids.max")), "EROFS");
	expect("write-tmp", errname(try_write("/tmp/berth-probe")), "OK");
	expect("write-dev-shm", errname(try_write("/dev/shm/berth-probe")), "OK");
	/* The image's files belong to the container's root (idmapped mount). */
	{
		struct stat st;

		snprintf(buf, sizeof(buf), "%s", stat("/bin/busybox", &st) < 0 ? errname(errno) : "");
		if (!buf[0])
			snprintf(buf, sizeof(buf), "%u:%u", (unsigned)st.st_uid, (unsigned)st.st_gid);
		expect("image-files-root-owned", buf, "0:0");
	}
}

static void check_identity(const char *base)
{
	char buf[256], want[128];
	FILE *f;
	DIR *d;
	struct dirent *e;
	int pids = 0, others = 0;

	f = fopen("/proc/self/uid_map", "re");
	buf[0] = '\0';
	if (f && fgets(buf, sizeof(buf), f)) {
		unsigned a, b, c;

		if (sscanf(buf, "%u %u %u", &a, &b, &c) == 3)
			snprintf(buf, sizeof(buf), "%u %u %u", a, b, c);
	}
	if (f)
		fclose(f);
	snprintf(want, sizeof(want), "0 %s 65536", base);
	if (base[0])
		expect("uid-map", buf, want);
	/* Only lo in the network namespace; on Berth's bridge (PROBE_NET=bridge,
	 * set by the unit) lo and the veth end eth0, nothing of the host's. */
	{
		const char *ifs = list_dir("/sys/class/net"), *net = getenv("PROBE_NET");

		if (net && strcmp(net, "bridge") == 0)
			expect("bridge-only-lo-and-eth0",
			       strcmp(ifs, "lo,eth0") == 0 || strcmp(ifs, "eth0,lo") == 0 ? "lo+eth0" : ifs, "lo+eth0");
		else
			expect("only-loopback", ifs, "lo");
	}
	{
		struct ifreq ifr = { .ifr_name = "lo" };
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		expect("loopback-up",
		       fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0 ? errname(errno) : ifr.ifr_flags & IFF_UP ? "up" : "down",
		       "up");
		if (fd >= 0)
			close(fd);
	}
	/* Only our own processes: we are PID 1 and alone. */
	d = opendir("/proc");
	while (d && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		pids++;
		others += strcmp(e->d_name, "1") != 0;
	}
	if (d)
		closedir(d);
	if (exec_mode) {
		/* In the container's PID namespace (its PID 1 is there, we are not
		 * it) and in its cgroup, at the root of its cgroup namespace. */
		char self[64] = "", init[64] = "";

		f = fopen("/proc/self/cgroup", "re");
		if (f && !fgets(self, sizeof(self), f))
			self[0] = '\0';
		if (f)
			fclose(f);
		f = fopen("/proc/1/cgroup", "re");
		if (f && !fgets(init, sizeof(init), f))
			init[0] = '\0';
		if (f)
			fclose(f);
		snprintf(buf, sizeof(buf), "pid 1 %s, we are %s", access("/proc/1/stat", R_OK) == 0 ? "seen" : "unseen",
			 getpid() == 1 ? "1" : "not 1");
		expect("pid-namespace-container", buf, "pid 1 seen, we are not 1");
		expect("cgroup-container", strcmp(self, init) == 0 ? self : "differs from pid 1", "0::/\n");
	} else {
		snprintf(buf, sizeof(buf), "pid %d, %d others", (int)getpid(), others);
		expect("pid-namespace-alone", buf, "pid 1, 0 others");
	}
	/* The default 11: CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
	 * NET_BIND_SERVICE SYS_CHROOT SETFCAP. */
	expect_status((const char *const[][3]){
		{ "no-new-privs", "NoNewPrivs", "1" },
		{ "seccomp-filter", "Seccomp", "2" },
		{ "cap-bounding", "CapBnd", "00000000800405fb" },
		{ "cap-effective", "CapEff", "00000000800405fb" },
		{ "cap-inheritable", "CapInh", "0000000000000000" },
		{ "cap-ambient", "CapAmb", "0000000000000000" },
		{ NULL, NULL, NULL } });
}

/* As a non-root container user: no capabilities, and a setuid-root binary
 * gains nothing (no_new_privs). */
static void check_user(const char *uid)
{
	char buf[64];
	FILE *p;

	expect_status((const char *const[][3]){
		{ "user-cap-effective", "CapEff", "0000000000000000" },
		{ "user-cap-permitted", "CapPrm", "0000000000000000" },
		{ NULL, NULL, NULL } });
	/* SECBIT_NOROOT, locked: becoming uid 0 would not bring capabilities back. */
	snprintf(buf, sizeof(buf), "%#x", (unsigned)prctl(PR_GET_SECUREBITS, 0, 0, 0, 0) & 0x3);
	expect("user-securebits-noroot-locked", buf, "0x3");
	snprintf(buf, sizeof(buf), "%u", (unsigned)geteuid());
	expect("user-euid", buf, uid);
	p = popen("/usr/bin/probe-suid euid", "r");
	buf[0] = '\0';
	if (p && fgets(buf, sizeof(buf), p))
		buf[strcspn(buf, "\n")] = '\0';
	if (p)
		pclose(p);
	expect("setuid-binary-gains-nothing", buf, uid);
}

static int fork_until_fail(void)
{
	int n = 0;

	for (;;) {
		pid_t pid = fork();

		if (pid == 0) {
			pause();
			_exit(0);
		}
		if (pid < 0) {
			printf("forked %d, then %s\n", n, errname(errno));
			break;
		}
		if (++n > 100000)
			break;
	}
	fflush(stdout);
	kill(0, SIGKILL);
	return 0;
}

/* A fork bomb that holds its ground: children sleep, the parent forks again
 * whenever it can (every 10 ms once at the limit) and says once where the
 * limit hit. Never returns. */
static _Noreturn void fork_bomb(void)
{
	long n = 0;
	int told = 0;

	for (;;) {
		pid_t pid = fork();

		if (pid == 0)
			for (;;)
				pause();
		if (pid > 0) {
			n++;
			continue;
		}
		if (!told) {
			printf("at the limit after %ld forks: %s\n", n, errname(errno));
			fflush(stdout);
			told = 1;
		}
		usleep(10000);
	}
}

/* As a client of berthd that does not play by berthctl's rules: ask for
 * `exec UNIT true` with a regular file and a directory as the command's
 * streams. Prints berthd's status byte and text (it must refuse). */
static int exec_stream(const char *unit)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX, .sun_path = "/run/berth/berthd.sock" };
	char req[128], reply[1024], ctl[CMSG_SPACE(3 * sizeof(int))] = { 0 };
	int fds[3] = { open("/etc/passwd", O_RDONLY | O_CLOEXEC), open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC),
		       open("/etc/passwd", O_RDONLY | O_CLOEXEC) };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	/* Fields end with a NUL, the last one too. */
	size_t n = (size_t)snprintf(req, sizeof(req), "berth/1%cexec%c%s%ctrue", 0, 0, unit, 0) + 1;
	struct iovec iov = { req, n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	ssize_t got;

	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(fds));
	memcpy(CMSG_DATA(cm), fds, sizeof(fds));
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || sendmsg(s, &mh, 0) != (ssize_t)n) {
		printf("client: %s\n", errname(errno));
		return 1;
	}
	while ((got = recv(s, reply, sizeof(reply) - 1, 0)) > 0 && reply[0] != 'E')
		;
	if (got < 2) {
		printf("no answer\n");
		return 1;
	}
	reply[got] = '\0';
	printf("%d %s\n", reply[1], reply + 2);
	return 0;
}

/* probe connect: what a client in the container gets. */
static int net_connect(const char *host, const char *port, int ms)
{
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_STREAM }, *ai;
	char line[256];
	int fd, err = 0, r;
	socklen_t len = sizeof(err);
	struct pollfd p;
	ssize_t n;

	if ((r = getaddrinfo(host, port, &hints, &ai)) != 0) {
		printf("NONAME %s\n", gai_strerror(r));
		return 1;
	}
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS)) {
		puts(errname(errno));
		return 1;
	}
	freeaddrinfo(ai);
	p = (struct pollfd){ fd, POLLOUT, 0 };
	if (poll(&p, 1, ms) == 0) {
		puts("ETIMEDOUT");
		return 1;
	}
	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
	if (err) {
		puts(errname(err));
		return 1;
	}
	p = (struct pollfd){ fd, POLLIN, 0 };
	n = poll(&p, 1, ms) == 1 ? read(fd, line, sizeof(line) - 1) : 0;
	line[n > 0 ? n : 0] = '\0';
	line[strcspn(line, "\r\n")] = '\0';
	printf("OK %s\n", line);
	return 0;
}

static int net_serve(const char *port, const char *text)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port)) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
		printf("serve: %s\n", errname(errno));
		return 1;
	}
	printf("serving on %s\n", port);
	fflush(stdout);
	for (;;) {
		int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		dprintf(c, "%s\n", text);
		close(c);
	}
}

static int net_links(void)
{
	struct ifaddrs *ifa, *i;
	char a[INET_ADDRSTRLEN];

	if (getifaddrs(&ifa) < 0) {
		printf("getifaddrs: %s\n", errname(errno));
		return 1;
	}
	for (i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			printf("%s\n", i->ifa_name);
		else if (i->ifa_addr->sa_family == AF_INET)
			printf("%s %s\n", i->ifa_name,
			       inet_ntop(AF_INET, &((struct sockaddr_in *)i->ifa_addr)->sin_addr, a, sizeof(a)));
	}
	freeifaddrs(ifa);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "write") == 0) {
		puts(errname(try_write(argv[2])));
		return 0;
	}
	if (argc == 4 && strcmp(argv[1], "fs") == 0) {
		const char *op = argv[2], *path = argv[3];
		long r = strcmp(op, "mkdir") == 0   ? mkdir(path, 0755)
			 : strcmp(op, "rmdir") == 0 ? rmdir(path)
			 : strcmp(op, "chmod") == 0 ? chmod(path, 0700)
						    : (errno = EINVAL, -1);

		puts(res(r));
		return 0;
	}
	if (argc == 2 && strcmp(argv[1], "euid") == 0) {
		printf("%u\n", (unsigned)geteuid());
		return 0;
	}
	if (argc >= 2 && (strcmp(argv[1], "container") == 0 || strcmp(argv[1], "exec") == 0)) {
		exec_mode = strcmp(argv[1], "exec") == 0;
		check_syscalls(argc > 2 ? (pid_t)atoi(argv[2]) : 0);
		check_filesystem();
		check_fds();
		check_masked();
		check_identity(argc > 3 ? argv[3] : "");
		return failures ? 1 : 0;
	}
	if (argc == 3 && strcmp(argv[1], "user") == 0) {
		check_user(argv[2]);
		return failures ? 1 : 0;
	}
	if (argc == 2 && strcmp(argv[1], "fork-until-fail") == 0)
		return fork_until_fail();
	if (argc == 3 && strcmp(argv[1], "exec-stream") == 0)
		return exec_stream(argv[2]);
	if (argc == 2 && strcmp(argv[1], "fork-bomb") == 0)
		fork_bomb();
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "connect") == 0)
		return net_connect(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 3000);
	if (argc == 4 && strcmp(argv[1], "serve") == 0)
		return net_serve(argv[2], argv[3]);
	if (argc == 2 && strcmp(argv[1], "links") == 0)
		return net_links();
	fprintf(stderr, "usage: probe write PATH | euid | container|exec [HOSTPID BASE] | user UID | "
			"fork-until-fail | fork-bomb | exec-stream UNIT | connect HOST PORT [MS] | serve PORT TEXT | "
			"links\n");
	return 2;
}
