/* berthctl: the operator's command line. Talks to berthd over its socket
 * (proto.h), except `verify`, which checks unit files offline. Exit codes:
 * 0 ok, 1 failure, 2 usage, 3 denied, 4 not found (berthctl(8)). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"
#include "lib/buf.h"
#include "lib/values.h"
#include "proto.h"
#include "score.h"
#include "unit.h"
#include "berthctl.h"

int json_out;

static void usage(FILE *f)
{
	fprintf(f, "usage: berthctl [--json] COMMAND [ARGS]\n"
		   "  list                     units and their states\n"
		   "  status [NAME]            state, pid, uptime, restarts, last exit, pids, memory\n"
		   "  stats                    cpu, memory and pids of every running container\n"
		   "  logs [-f] [-n N] NAME    the container's log (-f: follow); NAME events: berthd's\n"
		   "  start|stop|restart NAME\n"
		   "  reload                   re-read every unit file\n"
		   "  poweroff|reboot          stop every unit (reverse order), then the host\n"
		   "  inspect NAME             the resolved configuration\n"
		   "  cat NAME                 the unit file in force\n"
		   "  top [-d SECONDS] [-n N]  stats, refreshed (q or Ctrl-C to quit)\n"
		   "  metrics                  Prometheus text format: units and host\n"
		   "  deploy FILE...           check, install and apply NAME.container files\n"
		   "  edit NAME                edit a unit in $EDITOR; deployed once valid\n"
		   "  rm NAME                  stop and remove a deployed unit\n"
		   "  exec [-i] [-t] NAME [--] CMD...  run CMD in the running container, as confined\n"
		   "                           as it (-i: pass stdin on, -t: a terminal); exit: CMD's\n"
		   "                           status, 125 if it could not be run\n"
		   "  image import [--tag NAME:TAG] FILE|-  add an OCI or docker-save archive to the store\n"
		   "  image ls|inspect REF|rm REF...|prune  the image store (docs/images.md)\n"
		   "  trust show|update FILE   image trust: the delegation in force (docs/trust.md)\n"
		   "  verify FILE...           check unit files without berthd\n"
		   "  score [--threshold=N] FILE...  exposure score 0.0-10.0 (systemd-analyze security)\n"
		   "  --version\n"
		   "exit codes: 0 ok, 1 failure, 2 usage, 3 permission denied, 4 not found\n");
}

/* The request, with up to three descriptors as SCM_RIGHTS. */
static int send_request(int s, const char *req, size_t len, const int *pass, int npass)
{
	char ctl[CMSG_SPACE(sizeof(int) * 3)] = { 0 };
	struct iovec iov = { (void *)req, len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (npass > 0 && npass <= 3) {
		struct cmsghdr *cm;

		mh.msg_control = ctl;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)npass);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)npass);
		memcpy(CMSG_DATA(cm), pass, sizeof(int) * (size_t)npass);
	}
	return sendmsg(s, &mh, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -1;
}

int berthctl_send(const char *verb, const char *const *args, int nargs, const int *pass, int npass, char *msg,
		  size_t msglen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[BERTH_REQ_MAX];
	size_t len = berth_request_build(req, verb, args, nargs);
	int s;

	msg[0] = '\0';
	if (!len) {
		snprintf(msg, msglen, "request too long or not printable");
		return -BERTH_USAGE;
	}
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", BERTH_SOCKET);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		snprintf(msg, msglen, "cannot connect to berthd at %s: %s", BERTH_SOCKET, strerror(e));
		if (s >= 0)
			close(s);
		return e == EACCES ? -BERTH_DENIED : -BERTH_FAILED;
	}
	if (send_request(s, req, len, pass, npass) < 0) {
		snprintf(msg, msglen, "send: %s", strerror(errno));
		close(s);
		return -BERTH_FAILED;
	}
	return s;
}

int berthctl_call(const char *verb, const char *const *args, int nargs, const int *pass, int npass,
		  struct berth_buf *data, char *msg, size_t msglen, int *fd)
{
	int s = berthctl_send(verb, args, nargs, pass, npass, msg, msglen);

	if (fd)
		*fd = -1;
	if (s < 0)
		return -s;
	return berthctl_reply(s, data, msg, msglen, fd);
}

int berthctl_reply(int s, struct berth_buf *data, char *msg, size_t msglen, int *fd)
{
	char buf[BERTH_REPLY_CHUNK + 2];

	if (fd)
		*fd = -1;
	for (;;) {
		char ctl[CMSG_SPACE(sizeof(int))];
		struct iovec iov = { buf, sizeof(buf) - 1 };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl,
				     .msg_controllen = sizeof(ctl) };
		ssize_t n = recvmsg(s, &mh, MSG_CMSG_CLOEXEC);
		struct cmsghdr *cm;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(msg, msglen, "berthd closed the connection without an answer");
			close(s);
			return BERTH_FAILED;
		}
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_type == SCM_RIGHTS && cm->cmsg_len == CMSG_LEN(sizeof(int))) {
				int got;

				memcpy(&got, CMSG_DATA(cm), sizeof(int));
				if (fd && *fd < 0)
					*fd = got;
				else
					close(got);
			}
		if (buf[0] == 'D') {
			berth_buf_printf(data, "%.*s", (int)(n - 1), buf + 1);
		} else if (buf[0] == 'E' && n >= 2) {
			buf[n] = '\0';
			snprintf(msg, msglen, "%.1000s", buf + 2);
			close(s);
			return (unsigned char)buf[1];
		}
	}
}

static int call(const char *verb, const char *const *args, int nargs, struct berth_buf *data, char *msg,
		size_t msglen, int *fd)
{
	return berthctl_call(verb, args, nargs, NULL, 0, data, msg, msglen, fd);
}

static void human_time(int64_t us, char *b, size_t len)
{
	int64_t s = us / 1000000;

	if (s < 60)
		snprintf(b, len, "%llds", (long long)s);
	else if (s < 3600)
		snprintf(b, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
	else if (s < 86400)
		snprintf(b, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else
		snprintf(b, len, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

static double num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : "";
}

static void last_exit(const cJSON *u, char *b, size_t len)
{
	const cJSON *le = cJSON_GetObjectItemCaseSensitive(u, "last_exit");
	char ago[32];
	const char *kind;

	if (!le) {
		snprintf(b, len, "-");
		return;
	}
	kind = str(le, "kind");
	human_time((int64_t)num(le, "ago_us"), ago, sizeof(ago));
	if (strcmp(kind, "start-failed") == 0)
		snprintf(b, len, "start failed, %s ago", ago);
	else if (strcmp(kind, "timeout") == 0)
		snprintf(b, len, "killed at the stop timeout, %s ago", ago);
	else if (strcmp(kind, "signal") == 0)
		snprintf(b, len, "signal %d, %s ago", (int)num(le, "status"), ago);
	else
		snprintf(b, len, "%s %d, %s ago", strcmp(kind, "code") == 0 || num(le, "status") == 0 ? "code" : "signal",
			 (int)num(le, "status"), ago);
}

static int print_table(const char *verb, const char *data, int detail_one)
{
	cJSON *root = cJSON_Parse(data), *u;

	if (!cJSON_IsArray(root)) {
		fprintf(stderr, "berthctl: %s: berthd sent something that is not a list\n", verb);
		cJSON_Delete(root);
		return BERTH_FAILED;
	}
	if (strcmp(verb, "list") == 0) {
		printf("%-24s %-9s %-8s %s\n", "UNIT", "STATE", "PID", "DESCRIPTION");
		cJSON_ArrayForEach(u, root)
		{
			char pid[16] = "-";

			if (num(u, "pid") > 0)
				snprintf(pid, sizeof(pid), "%d", (int)num(u, "pid"));
			printf("%-24s %-9s %-8s %s\n", str(u, "name"), str(u, "state"), pid, str(u, "description"));
		}
	} else if (detail_one) {
		cJSON_ArrayForEach(u, root)
		{
			char up[32], le[96], mem[32], pids[48];

			human_time((int64_t)num(u, "uptime_us"), up, sizeof(up));
			last_exit(u, le, sizeof(le));
			berth_format_size(num(u, "memory_bytes"), mem, sizeof(mem));
			if (num(u, "pids_max") == -2)
				snprintf(pids, sizeof(pids), "%d / max", (int)num(u, "pids_current"));
			else
				snprintf(pids, sizeof(pids), "%d / %d", (int)num(u, "pids_current"), (int)num(u, "pids_max"));
			printf("%s - %s\n", str(u, "name"), str(u, "description"));
			if (str(u, "reason")[0])
				printf("  state:     %s (%s)\n", str(u, "state"), str(u, "reason"));
			else
				printf("  state:     %s\n", str(u, "state"));
			if (num(u, "pid") > 0)
				printf("  pid:       %d\n  uptime:    %s\n", (int)num(u, "pid"), up);
			if (num(u, "restart_in_us") >= 0) {
				human_time((int64_t)num(u, "restart_in_us"), up, sizeof(up));
				printf("  restart in %s\n", up);
			}
			printf("  restarts:  %d\n  last exit: %s\n", (int)num(u, "restarts"), le);
			if (num(u, "pid") > 0)
				printf("  pids:      %s\n  memory:    %s\n", pids, mem);
			printf("  file:      %s%s\n", str(u, "file"),
			       cJSON_IsTrue(cJSON_GetObjectItem(u, "restart_pending")) ? " (changed: restart pending)" : "");
			if (str(u, "config_errors")[0])
				printf("  errors in the unit file (the running definition is kept):\n%s",
				       str(u, "config_errors"));
		}
	} else {
		printf("%-24s %-9s %-8s %-9s %-8s %-11s %-10s %s\n", "UNIT", "STATE", "PID", "UPTIME", "RESTARTS",
		       "PIDS", "MEMORY", "LAST EXIT");
		cJSON_ArrayForEach(u, root)
		{
			char up[32] = "-", le[96], mem[32], pid[16] = "-", pids[32] = "-";

			if (num(u, "pid") > 0) {
				snprintf(pid, sizeof(pid), "%d", (int)num(u, "pid"));
				human_time((int64_t)num(u, "uptime_us"), up, sizeof(up));
				if (num(u, "pids_max") == -2)
					snprintf(pids, sizeof(pids), "%d/max", (int)num(u, "pids_current"));
				else
					snprintf(pids, sizeof(pids), "%d/%d", (int)num(u, "pids_current"),
						 (int)num(u, "pids_max"));
			}
			last_exit(u, le, sizeof(le));
			berth_format_size(num(u, "pid") > 0 ? num(u, "memory_bytes") : -1, mem, sizeof(mem));
			printf("%-24s %-9s %-8s %-9s %-8d %-11s %-10s %s\n", str(u, "name"), str(u, "state"), pid, up,
			       (int)num(u, "restarts"), pids, mem, le);
			if (str(u, "config_errors")[0])
				printf("%s", str(u, "config_errors"));
		}
	}
	cJSON_Delete(root);
	return BERTH_OK;
}

static int cmd_table(const char *verb, const char *name)
{
	struct berth_buf data = { 0 };
	char msg[1024];
	const char *args[1] = { name };
	int st = call(verb, args, name ? 1 : 0, &data, msg, sizeof(msg), NULL);

	if (st == BERTH_OK) {
		if (json_out)
			printf("%s\n", data.p ? data.p : "[]");
		else
			st = print_table(verb, data.p ? data.p : "[]", name != NULL);
	} else {
		fprintf(stderr, "berthctl: %s\n", msg);
	}
	berth_buf_free(&data);
	return st;
}

/* The rows of `stats` from two snapshots A and B taken WALL µs apart. */
static void print_stats(const cJSON *a, const cJSON *b, double wall)
{
	const cJSON *u;
	int first = 1;

	if (json_out)
		printf("[");
	else
		printf("%-24s %-9s %7s %10s %11s\n", "UNIT", "STATE", "CPU %", "MEMORY", "PIDS");
	cJSON_ArrayForEach(u, b)
	{
		const cJSON *prev = NULL, *p;
		double cpu = -1;
		char mem[32], pids[32] = "-";

		if (num(u, "pid") <= 0)
			continue;
		cJSON_ArrayForEach(p, a) if (strcmp(str(p, "name"), str(u, "name")) == 0) prev = p;
		if (prev && num(prev, "cpu_usec") >= 0 && num(u, "cpu_usec") >= 0 && wall > 0)
			cpu = (num(u, "cpu_usec") - num(prev, "cpu_usec")) * 100.0 / wall;
		if (json_out) {
			printf("%s{\"name\":\"%s\",\"cpu_percent\":%.1f,\"memory_bytes\":%.0f,\"pids_current\":%.0f,"
			       "\"pids_max\":%.0f}",
			       first ? "" : ",", str(u, "name"), cpu, num(u, "memory_bytes"), num(u, "pids_current"),
			       num(u, "pids_max"));
		} else {
			berth_format_size(num(u, "memory_bytes"), mem, sizeof(mem));
			if (num(u, "pids_max") == -2)
				snprintf(pids, sizeof(pids), "%d/max", (int)num(u, "pids_current"));
			else
				snprintf(pids, sizeof(pids), "%d/%d", (int)num(u, "pids_current"), (int)num(u, "pids_max"));
			printf("%-24s %-9s %7.1f %10s %11s\n", str(u, "name"), str(u, "state"), cpu, mem, pids);
		}
		first = 0;
	}
	if (json_out)
		printf("]\n");
}

/* One `stats` snapshot, parsed, and when it was taken (µs, monotonic). */
static cJSON *snapshot(double *at, int *st)
{
	struct berth_buf d = { 0 };
	char msg[1024];
	struct timespec t;
	cJSON *j = NULL;

	*st = call("stats", NULL, 0, &d, msg, sizeof(msg), NULL);
	clock_gettime(CLOCK_MONOTONIC, &t);
	*at = (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
	if (*st == BERTH_OK && !(j = cJSON_Parse(d.p ? d.p : "[]"))) {
		snprintf(msg, sizeof(msg), "berthd sent stats that are not JSON");
		*st = BERTH_FAILED;
	}
	if (*st != BERTH_OK)
		fprintf(stderr, "berthctl: %s\n", msg);
	berth_buf_free(&d);
	return j;
}

/* `docker stats`, once: cpu over a half-second window. */
static int cmd_stats(void)
{
	struct timespec half = { 0, 500000000 };
	double t1, t2;
	int st;
	cJSON *a = snapshot(&t1, &st), *b = NULL;

	if (a) {
		nanosleep(&half, NULL);
		b = snapshot(&t2, &st);
	}
	if (a && b)
		print_stats(a, b, t2 - t1);
	cJSON_Delete(a);
	cJSON_Delete(b);
	return st;
}

static struct termios saved_tty;
static int tty_raw;

static void tty_restore(void)
{
	if (tty_raw)
		tcsetattr(0, TCSANOW, &saved_tty);
	tty_raw = 0;
}

static void on_quit(int sig)
{
	(void)sig;
	tty_restore();
	_exit(0);
}

/* The host line of `top`: time, uptime, load, memory. */
static void top_header(void)
{
	double up = 0, l1 = 0, l5 = 0, l15 = 0;
	long long total = 0, avail = 0;
	char line[256], now[16];
	time_t t = time(NULL);
	FILE *f;

	if ((f = fopen("/proc/uptime", "re"))) {
		if (fscanf(f, "%lf", &up) != 1)
			up = 0;
		fclose(f);
	}
	if ((f = fopen("/proc/loadavg", "re"))) {
		if (fscanf(f, "%lf %lf %lf", &l1, &l5, &l15) != 3)
			l1 = l5 = l15 = 0;
		fclose(f);
	}
	if ((f = fopen("/proc/meminfo", "re"))) {
		while (fgets(line, sizeof(line), f)) {
			sscanf(line, "MemTotal: %lld", &total);
			sscanf(line, "MemAvailable: %lld", &avail);
		}
		fclose(f);
	}
	strftime(now, sizeof(now), "%H:%M:%S", localtime(&t));
	printf("berth top - %s up %dd %02d:%02d, load %.2f %.2f %.2f, memory %lld/%lld MiB used\n\n", now,
	       (int)(up / 86400), (int)up % 86400 / 3600, (int)up % 3600 / 60, l1, l5, l15, (total - avail) / 1024,
	       total / 1024);
}

/* `stats` again every DELAY seconds: on a terminal the screen is redrawn
 * and q quits; elsewhere one block per round, N rounds (-n). */
static int cmd_top(int argc, char **argv)
{
	double delay = 2, t1, t2;
	long rounds = 0;
	int opt, st, tty = isatty(1) && !json_out;
	cJSON *prev;

	optind = 1;
	while ((opt = getopt(argc, argv, "d:n:")) != -1) {
		char *end = NULL;

		if (opt == 'd')
			delay = strtod(optarg, &end);
		else if (opt == 'n')
			rounds = strtol(optarg, &end, 10);
		if (!end || *end || end == optarg || delay < 0.1 || delay > 3600 || rounds < 0) {
			fprintf(stderr, "usage: berthctl top [-d SECONDS (0.1-3600)] [-n ROUNDS]\n");
			return BERTH_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "usage: berthctl top [-d SECONDS (0.1-3600)] [-n ROUNDS]\n");
		return BERTH_USAGE;
	}
	prev = snapshot(&t1, &st);
	if (!prev)
		return st;
	if (tty && isatty(0) && tcgetattr(0, &saved_tty) == 0) {
		struct termios raw = saved_tty;

		raw.c_lflag &= (tcflag_t) ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 1;
		raw.c_cc[VTIME] = 0;
		signal(SIGINT, on_quit);
		signal(SIGTERM, on_quit);
		signal(SIGHUP, on_quit);
		tty_raw = tcsetattr(0, TCSANOW, &raw) == 0;
	}
	/* The first round comes after half a second (cpu needs a window). */
	for (long r = 0, wait_ms = 500; rounds == 0 || r < rounds; r++, wait_ms = (long)(delay * 1000)) {
		struct pollfd p = { .fd = tty_raw ? 0 : -1, .events = POLLIN };
		cJSON *cur;
		char c;

		if (poll(&p, 1, (int)wait_ms) > 0 && read(0, &c, 1) == 1 && (c == 'q' || c == 'Q'))
			break;
		cur = snapshot(&t2, &st);
		if (!cur)
			break;
		if (tty)
			printf("\033[H\033[2J");
		if (!json_out)
			top_header();
		print_stats(prev, cur, t2 - t1);
		if (!tty && !json_out)
			printf("\n");
		fflush(stdout);
		cJSON_Delete(prev);
		prev = cur;
		t1 = t2;
	}
	tty_restore();
	cJSON_Delete(prev);
	return st;
}

static int cmd_metrics(void)
{
	struct berth_buf data = { 0 };
	char msg[1024];
	int st = call("metrics", NULL, 0, &data, msg, sizeof(msg), NULL);

	if (st == BERTH_OK)
		fputs(data.p ? data.p : "", stdout);
	else
		fprintf(stderr, "berthctl: %s\n", msg);
	berth_buf_free(&data);
	return st;
}

static int cmd_simple(const char *verb, const char *name)
{
	struct berth_buf data = { 0 };
	char msg[1024];
	const char *args[1] = { name };
	int st = call(verb, args, name ? 1 : 0, &data, msg, sizeof(msg), NULL);

	if (data.p)
		fputs(data.p, st == BERTH_OK ? stdout : stderr);
	if (st != BERTH_OK)
		fprintf(stderr, "berthctl: %s\n", msg);
	else if (name && msg[0])
		printf("%s: %s\n", name, msg);
	else if (msg[0])
		printf("%s\n", msg);
	berth_buf_free(&data);
	return st;
}

static int cmd_inspect(const char *name)
{
	struct berth_buf data = { 0 };
	char msg[1024];
	const char *args[1] = { name };
	int st = call("inspect", args, 1, &data, msg, sizeof(msg), NULL);

	if (st == BERTH_OK) {
		cJSON *j = cJSON_Parse(data.p ? data.p : "");
		char *pretty = j ? cJSON_Print(j) : NULL;

		printf("%s\n", pretty ? pretty : (data.p ? data.p : ""));
		free(pretty);
		cJSON_Delete(j);
	} else {
		fprintf(stderr, "berthctl: %s\n", msg);
	}
	berth_buf_free(&data);
	return st;
}

/* Print the last N lines of FD (with N < 0: from where it is) and leave it at its end. */
static void tail(int fd, long n)
{
	struct stat st;
	off_t start = 0;
	char buf[65536];
	ssize_t r;

	if (n == 0 && fstat(fd, &st) == 0) {
		start = st.st_size;
	} else if (n > 0 && fstat(fd, &st) == 0) {
		long lines = 0;
		off_t pos = st.st_size;

		/* Back to the Nth newline before the last one: the lines after it. */
		while (pos > 0 && lines < n) {
			size_t chunk = pos > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)pos;

			pos -= (off_t)chunk;
			if (pread(fd, buf, chunk, pos) != (ssize_t)chunk)
				break;
			for (size_t i = chunk; i-- > 0;)
				if (buf[i] == '\n' && pos + (off_t)i != st.st_size - 1 && ++lines == n) {
					start = pos + (off_t)i + 1;
					break;
				}
		}
	}
	if (n >= 0)
		lseek(fd, start, SEEK_SET);
	while ((r = read(fd, buf, sizeof(buf))) > 0) {
		/* A container's bytes must not drive the operator's terminal
		 * (escape sequences): control characters show as '?' on a tty. */
		if (isatty(STDOUT_FILENO))
			for (ssize_t i = 0; i < r; i++) {
				unsigned char ch = (unsigned char)buf[i];

				/* C0 controls and DEL, and the C1 controls (U+0080..U+009F,
				 * 0xC2 0x80..0x9F in UTF-8: CSI, OSC...). */
				if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f)
					buf[i] = '?';
				else if (ch == 0xc2 && i + 1 < r && (unsigned char)buf[i + 1] >= 0x80 &&
					 (unsigned char)buf[i + 1] <= 0x9f)
					buf[i] = buf[i + 1] = '?';
			}
		fwrite(buf, 1, (size_t)r, stdout);
	}
	fflush(stdout);
}

static int cmd_logs(int argc, char **argv)
{
	long n = -1;
	int follow = 0, opt, fd, st;
	char msg[1024];
	struct berth_buf data = { 0 };
	const char *args[1];

	optind = 1;
	while ((opt = getopt(argc, argv, "+fn:")) != -1) {
		char *end;

		switch (opt) {
		case 'f':
			follow = 1;
			break;
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*end || n < 0) {
				fprintf(stderr, "berthctl: logs: -n needs a number\n");
				return BERTH_USAGE;
			}
			break;
		default:
			return BERTH_USAGE;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "usage: berthctl logs [-f] [-n N] NAME\n");
		return BERTH_USAGE;
	}
	args[0] = argv[optind];
	st = call("logs", args, 1, &data, msg, sizeof(msg), &fd);
	berth_buf_free(&data);
	if (st != BERTH_OK || fd < 0) {
		fprintf(stderr, "berthctl: %s\n", msg[0] ? msg : "no log file received");
		return st != BERTH_OK ? st : BERTH_FAILED;
	}
	if (n < 0)
		lseek(fd, 0, SEEK_SET);
	tail(fd, n);
	while (follow) {
		char path[64], ev[4096];
		int in = inotify_init1(IN_CLOEXEC);
		int moved = 0;

		/* Watch the open file itself: writes, and its rotation away. A
		 * watch needs read permission on the path, which only root has:
		 * others poll (4 times a second), and ask berthd again each second
		 * to see whether the file was rotated (another inode). */
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		if (in < 0 || inotify_add_watch(in, path, IN_MODIFY | IN_MOVE_SELF | IN_DELETE_SELF) < 0) {
			struct stat a, b;
			int nfd;

			if (in >= 0)
				close(in);
			in = -1;
			if (fstat(fd, &a) < 0)
				return BERTH_FAILED;
			for (int i = 1; !moved; i++) {
				usleep(250000);
				tail(fd, -1);
				if (i % 4)
					continue;
				st = call("logs", args, 1, &data, msg, sizeof(msg), &nfd);
				berth_buf_free(&data);
				if (st != BERTH_OK || nfd < 0)
					continue; /* berthd restarting: try again */
				if (fstat(nfd, &b) == 0 && (b.st_ino != a.st_ino || b.st_dev != a.st_dev)) {
					tail(fd, -1); /* the rest of the old file, then the new one */
					close(fd);
					fd = nfd;
					a = b;
					lseek(fd, 0, SEEK_SET);
					tail(fd, -1);
				} else {
					close(nfd);
				}
			}
		}
		while (!moved) {
			ssize_t r = read(in, ev, sizeof(ev));

			for (char *p = ev; r > 0 && p < ev + r;) {
				struct inotify_event *e = (struct inotify_event *)p;

				moved |= (e->mask & (IN_MOVE_SELF | IN_DELETE_SELF)) != 0;
				p += sizeof(*e) + e->len;
			}
			tail(fd, -1);
		}
		if (in >= 0)
			close(in);
		tail(fd, -1); /* what was written before the rotation */
		close(fd);
		/* Rotated: the new file (it may take a moment to appear). */
		for (int tries = 0;; tries++) {
			st = call("logs", args, 1, &data, msg, sizeof(msg), &fd);
			berth_buf_free(&data);
			if (st == BERTH_OK && fd >= 0)
				break;
			if (tries > 50) {
				fprintf(stderr, "berthctl: %s\n", msg);
				return st;
			}
			usleep(100000);
		}
		lseek(fd, 0, SEEK_SET);
		tail(fd, -1);
	}
	close(fd);
	return BERTH_OK;
}

/* Offline: each FILE on its own, then the dependencies among them and the
 * installed units (an installed unit of the same name is replaced). */
static int cmd_verify(int argc, char **argv)
{
	struct berth_unit *set[1024];
	size_t n = 0, order[1024];
	int bad = 0;
	struct berth_diag diag = { 0 };
	const char *dirs[] = { BERTH_UNITS_DEPLOYED, BERTH_UNITS_BAKED };

	if (argc < 2) {
		fprintf(stderr, "usage: berthctl verify FILE...\n");
		return BERTH_USAGE;
	}
	for (int i = 1; i < argc && n < 512; i++) {
		struct berth_unit *u = berth_unit_load(argv[i], NULL, &diag);

		if (u)
			set[n++] = u;
		else
			bad = 1;
	}
	for (size_t d = 0; d < 2 && !bad; d++) {
		struct berth_diag quiet = { 0 };
		DIR *dd = opendir(dirs[d]);
		struct dirent *e;

		while (dd && (e = readdir(dd)) && n < 1024) {
			char name[BERTH_NAME_MAX], path[600];
			int dup = 0;
			struct berth_unit *u;

			if (berth_unit_name_of(e->d_name, name, sizeof(name)) < 0)
				continue;
			for (size_t k = 0; k < n; k++)
				dup |= strcmp(set[k]->name, name) == 0;
			if (dup)
				continue;
			snprintf(path, sizeof(path), "%s/%s", dirs[d], e->d_name);
			u = berth_unit_load(path, NULL, &quiet);
			if (u)
				set[n++] = u;
		}
		if (dd)
			closedir(dd);
		berth_diag_free(&quiet);
	}
	if (!bad && berth_units_check(set, n, order, &diag) < 0)
		bad = 1;
	fputs(berth_diag_text(&diag), stderr);
	for (int i = 1; i < argc && !bad; i++)
		printf("%s: ok\n", argv[i]);
	for (size_t i = 0; i < n; i++)
		berth_unit_free(set[i]);
	berth_diag_free(&diag);
	return bad ? BERTH_FAILED : BERTH_OK;
}

/* Offline: each FILE's exposure, with every check; exit 1 above THRESHOLD. */
static int cmd_score(int argc, char **argv)
{
	double threshold = 100;
	int rc = BERTH_OK, first = 1;

	if (argc > 1 && strncmp(argv[1], "--threshold=", 12) == 0) {
		char *end;

		threshold = strtod(argv[1] + 12, &end);
		if (*end || end == argv[1] + 12 || threshold < 0 || threshold > 10) {
			fprintf(stderr, "berthctl: score: --threshold takes 0.0 to 10.0\n");
			return BERTH_USAGE;
		}
		argv++;
		argc--;
	}
	if (argc < 2) {
		fprintf(stderr, "usage: berthctl score [--threshold=N] FILE...\n");
		return BERTH_USAGE;
	}
	if (json_out)
		printf("[");
	for (int i = 1; i < argc; i++) {
		struct berth_diag diag = { 0 };
		struct berth_unit *u = berth_unit_load(argv[i], NULL, &diag);
		struct berth_score sc;

		if (!u) {
			fputs(berth_diag_text(&diag), stderr);
			berth_diag_free(&diag);
			rc = BERTH_FAILED;
			continue;
		}
		berth_score_unit(u, &sc);
		if (json_out) {
			struct berth_buf b = { 0 };

			berth_buf_printf(&b, "%s{\"file\":", first ? "" : ",");
			berth_buf_json_str(&b, argv[i]);
			berth_buf_printf(&b, ",\"exposure\":%.1f,\"label\":\"%s\",\"checks\":[", sc.exposure / 10.0,
					 berth_score_label(sc.exposure));
			for (int k = 0; k < sc.n; k++) {
				berth_buf_printf(&b, "%s{\"name\":", k ? "," : "");
				berth_buf_json_str(&b, sc.f[k].name);
				berth_buf_printf(&b, ",\"weight\":%u,\"range\":%u,\"badness\":%d,\"note\":", sc.f[k].weight,
						 sc.f[k].range, sc.f[k].badness);
				berth_buf_json_str(&b, sc.f[k].note);
				berth_buf_printf(&b, "}");
			}
			berth_buf_printf(&b, "]}");
			fputs(b.p ? b.p : "", stdout);
			berth_buf_free(&b);
		} else {
			printf("  %-45s %-50s %s\n", "CHECK", "DESCRIPTION", "BADNESS");
			for (int k = 0; k < sc.n; k++) {
				const struct berth_finding *f = &sc.f[k];
				char bad[16] = "n/a";

				if (f->badness >= 0)
					snprintf(bad, sizeof(bad), "%d/%u", f->badness, f->range);
				printf("%s %-45s %-50s %-6s %s\n", f->badness < 0 ? "-" : f->badness ? "x" : "+", f->name,
				       f->what, bad, f->note);
			}
			printf("-> Overall exposure level for %s: %.1f %s\n", argv[i], sc.exposure / 10.0,
			       berth_score_label(sc.exposure));
		}
		first = 0;
		if (sc.exposure / 10.0 > threshold)
			rc = BERTH_FAILED;
		berth_unit_free(u);
		berth_diag_free(&diag);
	}
	if (json_out)
		printf("]\n");
	return rc;
}

int main(int argc, char **argv)
{
	const char *cmd;
	int k = 1;

	/* --json anywhere before a "--" (unit names never start with '-'). */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0)
			while (i < argc)
				argv[k++] = argv[i++];
		else if (strcmp(argv[i], "--json") == 0)
			json_out = 1;
		else
			argv[k++] = argv[i];
	argc = k;
	argv[argc] = NULL;
	while (argc > 1 && argv[1][0] == '-' && argv[1][1] == '-') {
		if (strcmp(argv[1], "--json") == 0) {
			json_out = 1;
		} else if (strcmp(argv[1], "--version") == 0) {
			puts("berthctl " BERTH_VERSION);
			return 0;
		} else if (strcmp(argv[1], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return BERTH_USAGE;
		}
		argv++;
		argc--;
	}
	if (argc < 2) {
		usage(stderr);
		return BERTH_USAGE;
	}
	cmd = argv[1];
	if (strcmp(cmd, "list") == 0 && argc == 2)
		return cmd_table("list", NULL);
	if (strcmp(cmd, "status") == 0 && argc <= 3)
		return cmd_table("status", argc == 3 ? argv[2] : NULL);
	if (strcmp(cmd, "stats") == 0 && argc == 2)
		return cmd_stats();
	if (strcmp(cmd, "logs") == 0)
		return cmd_logs(argc - 1, argv + 1);
	if ((strcmp(cmd, "start") == 0 || strcmp(cmd, "stop") == 0 || strcmp(cmd, "restart") == 0) && argc == 3)
		return cmd_simple(cmd, argv[2]);
	if ((strcmp(cmd, "reload") == 0 || strcmp(cmd, "poweroff") == 0 || strcmp(cmd, "reboot") == 0) && argc == 2)
		return cmd_simple(cmd, NULL);
	if (strcmp(cmd, "inspect") == 0 && argc == 3)
		return cmd_inspect(argv[2]);
	if (strcmp(cmd, "top") == 0)
		return cmd_top(argc - 1, argv + 1);
	if (strcmp(cmd, "metrics") == 0 && argc == 2)
		return cmd_metrics();
	if (strcmp(cmd, "cat") == 0)
		return berthctl_cat(argc - 1, argv + 1);
	if (strcmp(cmd, "deploy") == 0)
		return berthctl_deploy(argc - 1, argv + 1);
	if (strcmp(cmd, "edit") == 0)
		return berthctl_edit(argc - 1, argv + 1);
	if (strcmp(cmd, "rm") == 0)
		return berthctl_rm(argc - 1, argv + 1);
	if (strcmp(cmd, "exec") == 0)
		return berthctl_exec(argc - 1, argv + 1);
	if (strcmp(cmd, "verify") == 0)
		return cmd_verify(argc - 1, argv + 1);
	if (strcmp(cmd, "image") == 0)
		return berthctl_image(argc - 1, argv + 1);
	if (strcmp(cmd, "trust") == 0)
		return berthctl_trust(argc - 1, argv + 1);
	if (strcmp(cmd, "score") == 0)
		return cmd_score(argc - 1, argv + 1);
	usage(stderr);
	return BERTH_USAGE;
}
