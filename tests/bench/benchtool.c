/* benchtool: the measuring half of make bench (docs/benchmarks.md). Static,
 * runs both on the guest host and inside the containers being measured.
 *
 *   benchtool stamp                 print CLOCK_MONOTONIC in ns and exit 0: the
 *                                   "/bin/true" whose first instruction is timed
 *   benchtool start N LABEL CMD... [:: LABEL CMD...]...
 *                                   run each command N times, round-robin (one
 *                                   round runs every command once, each round
 *                                   starting with the next, so each ratio
 *                                   compares runs made side by side); each run's
 *                                   stdout must end with a stamp. Prints one JSON
 *                                   object: per label the median and p95 of
 *                                   request->first instruction and request->exit,
 *                                   and per label the median of its ratio to the
 *                                   first label, round by round.
 *   benchtool getppid N             N getppid(2) calls; prints ns per call
 *   benchtool flood SECONDS         write numbered lines to stdout as fast as
 *                                   the pipe takes them; the last line says how
 *                                   many were written
 *   benchtool latency N CMD...      run CMD N times; prints median, p95 and max
 *                                   wall time in microseconds as JSON
 *
 * CLOCK_MONOTONIC is not namespaced by the containers measured (no time
 * namespace), so a stamp taken inside a container compares with one taken here. */

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CMDS 8

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "benchtool: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The nearest-rank percentile P (0..100) of V[N], sorted in place. */
static int64_t pct(int64_t *v, int n, int p)
{
	int k = (p * n + 99) / 100;

	qsort(v, (size_t)n, sizeof(*v), cmp_i64);
	return v[k > 0 ? k - 1 : 0];
}

static double median_dbl(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_dbl);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Run ARGV with stdout on a pipe; the stamp is the last number it printed.
 * Returns the exit time, or -1 when the command failed. */
static int64_t run_once(char *const argv[], int64_t *first)
{
	char buf[4096];
	size_t len = 0;
	int fd[2], st;
	pid_t pid;
	ssize_t n;
	int64_t end;
	char *p;

	if (pipe2(fd, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fd[1], 1);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	while ((n = read(fd[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	close(fd[0]);
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid: %s", strerror(errno));
	end = now_ns();
	buf[len] = '\0';
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	p = strrchr(buf, '\n');
	p = p ? p + 1 : buf;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || *p == '\0')
		return -1;
	*first = strtoll(p, NULL, 10);
	return end;
}

static int cmd_start(int argc, char **argv)
{
	char **cmd[MAX_CMDS];
	const char *label[MAX_CMDS];
	int ncmd = 0, n = atoi(argv[0]);
	int64_t *first[MAX_CMDS], *exitt[MAX_CMDS];
	double *ratio_first[MAX_CMDS], *ratio_exit[MAX_CMDS];

	if (n < 1)
		die("start: N must be at least 1 (got '%s')", argv[0]);
	for (int i = 1; i < argc;) {
		if (ncmd == MAX_CMDS)
			die("start: at most %d commands", MAX_CMDS);
		label[ncmd] = argv[i++];
		cmd[ncmd] = &argv[i];
		while (i < argc && strcmp(argv[i], "::") != 0)
			i++;
		if (&argv[i] == cmd[ncmd])
			die("start: %s has no command", label[ncmd]);
		if (i < argc)
			argv[i++] = NULL; /* the separator ends this command's argv */
		ncmd++;
	}
	if (ncmd == 0)
		die("start: no command");
	for (int c = 0; c < ncmd; c++) {
		first[c] = calloc((size_t)n, sizeof(int64_t));
		exitt[c] = calloc((size_t)n, sizeof(int64_t));
		ratio_first[c] = calloc((size_t)n, sizeof(double));
		ratio_exit[c] = calloc((size_t)n, sizeof(double));
		if (!first[c] || !exitt[c] || !ratio_first[c] || !ratio_exit[c])
			die("out of memory");
	}
	for (int r = 0; r < n; r++) {
		/* Each round starts with the next command, so none always follows
		 * the same one (and pays for what it left to the kernel). */
		for (int i = 0; i < ncmd; i++) {
			int c = (i + r) % ncmd;
			int64_t stamp = 0, t0 = now_ns(), t1 = run_once(cmd[c], &stamp);

			if (t1 < 0)
				die("start: %s failed or printed no stamp", label[c]);
			if (stamp < t0 || stamp > t1)
				die("start: %s: the stamp is outside the run", label[c]);
			first[c][r] = stamp - t0;
			exitt[c][r] = t1 - t0;
		}
		for (int c = 0; c < ncmd; c++) {
			ratio_first[c][r] = (double)first[c][r] / (double)first[0][r];
			ratio_exit[c][r] = (double)exitt[c][r] / (double)exitt[0][r];
		}
	}
	printf("{\"runs\": %d, \"unit\": \"us\", \"contenders\": [", n);
	for (int c = 0; c < ncmd; c++) {
		int64_t f50 = pct(first[c], n, 50), f95 = pct(first[c], n, 95);
		int64_t e50 = pct(exitt[c], n, 50), e95 = pct(exitt[c], n, 95);

		printf("%s{\"label\": \"%s\", \"first_median\": %.1f, \"first_p95\": %.1f, "
		       "\"exit_median\": %.1f, \"exit_p95\": %.1f, "
		       "\"first_ratio_median\": %.3f, \"exit_ratio_median\": %.3f}",
		       c ? ", " : "", label[c], f50 / 1e3, f95 / 1e3, e50 / 1e3, e95 / 1e3,
		       median_dbl(ratio_first[c], n), median_dbl(ratio_exit[c], n));
	}
	printf("]}\n");
	return 0;
}

static int cmd_getppid(const char *arg)
{
	long n = atol(arg);
	int64_t t0, t1;

	if (n < 1)
		die("getppid: N must be at least 1 (got '%s')", arg);
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid); /* not libc's getppid: never cached */
	t1 = now_ns();
	printf("%.1f\n", (double)(t1 - t0) / (double)n);
	return 0;
}

static int cmd_flood(const char *arg)
{
	int64_t end = now_ns() + (int64_t)atoi(arg) * 1000000000;
	unsigned long long i = 0;
	char line[128];

	if (atoi(arg) < 1)
		die("flood: SECONDS must be at least 1 (got '%s')", arg);
	while (now_ns() < end) {
		/* 256 lines between clock reads: the clock is not what is measured. */
		for (int k = 0; k < 256; k++) {
			int len = snprintf(line, sizeof(line), "flood line %llu of a container that writes fast\n", ++i);

			if (write(1, line, (size_t)len) != len)
				die("flood: write: %s", strerror(errno));
		}
	}
	printf("flood total %llu\n", i);
	return 0;
}

static int cmd_latency(int argc, char **argv)
{
	int n = atoi(argv[0]);
	int64_t *t;

	if (n < 1 || argc < 2)
		die("usage: benchtool latency N CMD...");
	t = calloc((size_t)n, sizeof(*t));
	if (!t)
		die("out of memory");
	for (int i = 0; i < n; i++) {
		int64_t t0 = now_ns();
		pid_t pid = fork();
		int st;

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			int null = open("/dev/null", O_WRONLY);

			dup2(null, 1);
			execv(argv[1], &argv[1]);
			_exit(127);
		}
		if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
			die("latency: %s failed", argv[1]);
		t[i] = now_ns() - t0;
	}
	printf("{\"runs\": %d, \"median_us\": %.1f, \"p95_us\": %.1f, \"max_us\": %.1f}\n", n,
	       pct(t, n, 50) / 1e3, pct(t, n, 95) / 1e3, pct(t, n, 100) / 1e3);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "stamp") == 0) {
		printf("%lld\n", (long long)now_ns());
		return 0;
	}
	if (argc >= 4 && strcmp(argv[1], "start") == 0)
		return cmd_start(argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[1], "getppid") == 0)
		return cmd_getppid(argv[2]);
	if (argc == 3 && strcmp(argv[1], "flood") == 0)
		return cmd_flood(argv[2]);
	if (argc >= 4 && strcmp(argv[1], "latency") == 0)
		return cmd_latency(argc - 2, argv + 2);
	fprintf(stderr, "usage: benchtool stamp | start N LABEL CMD... [:: LABEL CMD...] | getppid N | "
			"flood SECONDS | latency N CMD...\n");
	return 2;
}
