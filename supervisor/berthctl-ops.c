/* berthctl's commands that change what runs: deploy, edit, rm, and exec, plus
 * cat (the unit file in force), which edit starts from.
 *
 * deploy and edit check a file here first, offline, so that errors name the
 * operator's own file; berthd checks its own copy again (and against the
 * other units) before it writes anything. The file travels as an open
 * descriptor: berthd never opens a path on a caller's behalf. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "berthctl.h"
#include "lib/cleanup.h"
#include "lib/diag.h"
#include "proto.h"
#include "unit.h"

/* Exit status of exec when berthctl or berthd could not run the command (as
 * podman exec); 126 and 127 come from the container's side. */
#define EXEC_FAILED 125

/* Read a unit file from FD as berthd will (regular file, size limit). */
static char *read_text(int fd, const char *shown, size_t *len)
{
	struct berth_diag d = { 0 };
	char *t = berth_unit_read_fd(fd, shown, NULL, len, &d);

	fputs(berth_diag_text(&d), stderr);
	berth_diag_free(&d);
	return t;
}

/* Offline check of TEXT as the unit NAME, errors naming SHOWN. 0 if valid. */
static int check_text(const char *text, size_t len, const char *shown, const char *name)
{
	struct berth_diag d = { 0 };
	struct berth_unit *u = berth_unit_from_text(text, len, shown, name, NULL, &d);
	int bad = !u;

	fputs(berth_diag_text(&d), stderr);
	berth_diag_free(&d);
	berth_unit_free(u);
	return bad ? -1 : 0;
}

/* berthd's answer to deploy or rm: the reload's report (or the errors), else
 * its message. */
static void report(int st, const struct berth_buf *data, const char *msg)
{
	if (data->p && data->len)
		fputs(data->p, st == BERTH_OK ? stdout : stderr);
	if (st != BERTH_OK)
		fprintf(stderr, "berthctl: %s\n", msg);
	else if (!data->len)
		printf("%s\n", msg);
}

/* Send FD to berthd as FILE (NAME.container). Prints berthd's report; errors
 * in its data go to stderr (*CHECKED: there were such errors). Returns the
 * status. */
static int send_deploy(const char *file, int fd, int *checked)
{
	struct berth_buf data = { 0 };
	char msg[1024];
	const char *args[1] = { file };
	int st = berthctl_call("deploy", args, 1, &fd, 1, &data, msg, sizeof(msg), NULL);

	report(st, &data, msg);
	if (checked)
		*checked = st == BERTH_FAILED && data.len > 0;
	berth_buf_free(&data);
	return st;
}

int berthctl_deploy(int argc, char **argv)
{
	int worst = BERTH_OK;

	if (argc < 2) {
		fprintf(stderr, "usage: berthctl deploy FILE...   (each FILE named NAME.container)\n");
		return BERTH_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		const char *base = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
		char name[BERTH_NAME_MAX];
		cleanup_close int fd = -1;
		cleanup_free char *text = NULL;
		size_t len;
		int st;

		if (berth_unit_name_of(base, name, sizeof(name)) < 0) {
			fprintf(stderr, "berthctl: %s: not a unit file name (NAME.container, NAME of [a-z0-9_.-] "
					"starting with a letter or digit, at most 63, not 'events')\n", argv[i]);
			worst = worst ? worst : BERTH_USAGE;
			continue;
		}
		/* O_NONBLOCK: a FIFO must not hang us (it fails the regular-file check). */
		fd = open(argv[i], O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		if (fd < 0) {
			fprintf(stderr, "berthctl: %s: %s\n", argv[i], strerror(errno));
			worst = worst ? worst : BERTH_FAILED;
			continue;
		}
		text = read_text(fd, argv[i], &len);
		if (!text || check_text(text, len, argv[i], name) < 0) {
			fprintf(stderr, "berthctl: %s not deployed: it has errors; nothing changed\n", argv[i]);
			worst = worst ? worst : BERTH_FAILED;
			continue;
		}
		st = send_deploy(base, fd, NULL);
		if (st != BERTH_OK && !worst)
			worst = st;
	}
	return worst;
}

int berthctl_rm(int argc, char **argv)
{
	struct berth_buf data = { 0 };
	char msg[1024];
	int st;

	if (argc != 2) {
		fprintf(stderr, "usage: berthctl rm NAME\n");
		return BERTH_USAGE;
	}
	st = berthctl_call("rm", (const char *const *)argv + 1, 1, NULL, 0, &data, msg, sizeof(msg), NULL);
	report(st, &data, msg);
	berth_buf_free(&data);
	return st;
}

/* The unit file in force for NAME, from berthd; NULL with *ST set. */
static char *fetch_unit(const char *name, size_t *len, int *st)
{
	struct berth_buf data = { 0 };
	char msg[1024];
	const char *args[1] = { name };
	cleanup_close int fd = -1;
	char *text = NULL;

	*st = berthctl_call("cat", args, 1, NULL, 0, &data, msg, sizeof(msg), &fd);
	berth_buf_free(&data);
	if (*st == BERTH_OK && fd >= 0)
		text = read_text(fd, msg, len);
	else if (*st != BERTH_NOT_FOUND)
		fprintf(stderr, "berthctl: %s\n", msg);
	if (*st == BERTH_OK && !text)
		*st = BERTH_FAILED;
	return text;
}

int berthctl_cat(int argc, char **argv)
{
	cleanup_free char *text = NULL;
	size_t len = 0;
	int st;

	if (argc != 2) {
		fprintf(stderr, "usage: berthctl cat NAME\n");
		return BERTH_USAGE;
	}
	text = fetch_unit(argv[1], &len, &st);
	if (text)
		fwrite(text, 1, len, stdout);
	else if (st == BERTH_NOT_FOUND)
		fprintf(stderr, "berthctl: no unit '%s'\n", argv[1]);
	return st;
}

static int run_editor(const char *path)
{
	const char *ed = getenv("VISUAL");
	int status;
	pid_t pid;

	if (!ed || !*ed)
		ed = getenv("EDITOR");
	if (!ed || !*ed)
		ed = "vi";
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		/* As git does: the variable may carry arguments ("vi -n"). */
		execl("/bin/sh", "sh", "-c", "exec $0 \"$1\"", ed, path, (char *)NULL);
		execl("/bin/sh", "sh", "-c", "$0 \"$1\"", ed, path, (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* After errors: on a terminal, wait for the operator (the editor would wipe
 * the errors off the screen); elsewhere (a scripted EDITOR), edit again at
 * once, 10 times at most. 0: give up. */
static int again(void)
{
	static int rounds;
	char line[64];

	if (!isatty(0)) {
		if (++rounds <= 10)
			return 1;
		fprintf(stderr, "berthctl: still invalid after %d edits; giving up\n", rounds);
		return 0;
	}
	fprintf(stderr, "Press Enter to edit again, or q and Enter to give up: ");
	if (!fgets(line, sizeof(line), stdin))
		return 0;
	return line[0] != 'q' && line[0] != 'Q';
}

static int write_file(const char *path, const char *text, size_t len)
{
	cleanup_close int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

	return fd >= 0 && write(fd, text, len) == (ssize_t)len ? 0 : -1;
}

static int same(const char *a, size_t alen, const char *b, size_t blen)
{
	return a && b && alen == blen && memcmp(a, b, alen) == 0;
}

int berthctl_edit(int argc, char **argv)
{
	const char *name = argc == 2 ? argv[1] : NULL;
	char dir[] = "/tmp/berthctl-edit-XXXXXX", path[sizeof(dir) + BERTH_NAME_MAX + 16],
	     file[BERTH_NAME_MAX + 16], tmpl[1024];
	cleanup_free char *orig = NULL, *bad = NULL;
	size_t olen = 0, blen = 0;
	int st, rc = BERTH_FAILED;

	if (!name || !berth_unit_name_valid(name)) {
		fprintf(stderr, "usage: berthctl edit NAME   (NAME of [a-z0-9_.-], starting with a letter or digit)\n");
		return BERTH_USAGE;
	}
	snprintf(file, sizeof(file), "%s" BERTH_UNIT_SUFFIX, name);
	orig = fetch_unit(name, &olen, &st);
	if (!orig && st != BERTH_NOT_FOUND)
		return st;
	if (!orig) {
		olen = (size_t)snprintf(tmpl, sizeof(tmpl),
					"# %s: a new unit (berth.container(5)). Save to deploy it; quit without\n"
					"# saving to deploy nothing.\n"
					"[Unit]\nDescription=%s\n\n"
					"[Container]\nImage=base\nExec=sleep 3600\nUser=1000\nDropCapability=all\n\n"
					"[Service]\nRestart=always\n",
					file, name);
		orig = strdup(tmpl);
		if (!orig)
			return BERTH_FAILED;
	}
	if (!mkdtemp(dir)) {
		fprintf(stderr, "berthctl: mkdtemp %s: %s\n", dir, strerror(errno));
		return BERTH_FAILED;
	}
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	if (write_file(path, orig, olen) < 0) {
		fprintf(stderr, "berthctl: %s: %s\n", path, strerror(errno));
		rmdir(dir);
		return BERTH_FAILED;
	}
	for (;;) {
		cleanup_close int fd = -1;
		cleanup_free char *text = NULL;
		size_t len;
		int ed = run_editor(path);

		if (ed != 0) {
			fprintf(stderr, "berthctl: the editor failed (%s%d); nothing deployed\n",
				ed < 0 ? "error " : "status ", ed < 0 ? errno : ed);
			break;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
		text = fd >= 0 ? read_text(fd, file, &len) : NULL;
		if (!text) {
			fprintf(stderr, "berthctl: %s: cannot read it back; nothing deployed\n", path);
			break;
		}
		if (same(text, len, orig, olen)) {
			printf("%s: no changes; nothing deployed\n", name);
			rc = BERTH_OK;
			break;
		}
		if (same(text, len, bad, blen)) {
			fprintf(stderr, "berthctl: %s: unchanged since the errors above; nothing deployed\n", file);
			break;
		}
		if (check_text(text, len, file, name) == 0) {
			int checked = 0;

			st = send_deploy(file, fd, &checked);
			if (st == BERTH_OK) {
				rc = BERTH_OK;
				break;
			}
			if (!checked) {
				/* Not the file's fault (denied, berthd away): stop here. */
				rc = st;
				break;
			}
		}
		free(bad);
		bad = text;
		blen = len;
		text = NULL;
		fprintf(stderr, "berthctl: %s has errors (above); nothing deployed yet\n", file);
		if (!again())
			break;
	}
	/* A change that was not deployed stays where the operator can get it. */
	if (rc != BERTH_OK) {
		fprintf(stderr, "berthctl: your copy is kept in %s\n", path);
		return rc;
	}
	unlink(path);
	rmdir(dir);
	return rc;
}

/* exec's standard streams. The command never gets our own descriptors
 * (a file or a terminal of the operator's inside the container): it gets
 * pipes, or a pseudo-terminal of its own when ours are a terminal, and
 * berthctl relays. When the session ends, closing our ends hangs up
 * whatever in the container still holds theirs. */
struct relay {
	int in, out, err; /* our ends: to its stdin, from its stdout/stderr (pty: all three the master) */
	int pass[3];      /* its ends */
	int pty;
	struct termios saved;
	int raw;
};

static void relay_close(struct relay *r)
{
	if (r->raw)
		tcsetattr(0, TCSAFLUSH, &r->saved);
	r->raw = 0;
	for (int i = 0; i < 3; i++)
		if (r->pass[i] >= 0 && (i == 0 || r->pass[i] != r->pass[i - 1]))
			close(r->pass[i]);
	if (r->in >= 0)
		close(r->in);
	if (r->out >= 0 && r->out != r->in)
		close(r->out);
	if (r->err >= 0 && r->err != r->out)
		close(r->err);
	r->in = r->out = r->err = r->pass[0] = r->pass[1] = r->pass[2] = -1;
}

/* PTY: a pseudo-terminal (our stdin must be a terminal); else pipes. */
static int relay_open(struct relay *r, int pty, int raw)
{
	*r = (struct relay){ .in = -1, .out = -1, .err = -1, .pass = { -1, -1, -1 } };
	r->pty = pty;
	if (r->pty) {
		struct winsize ws;
		struct termios t;
		int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC), sl = -1;

		if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0 ||
		    (sl = open(ptsname(m), O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
			if (m >= 0)
				close(m);
			return -1;
		}
		if (ioctl(0, TIOCGWINSZ, &ws) == 0)
			ioctl(sl, TIOCSWINSZ, &ws);
		r->in = r->out = r->err = m;
		r->pass[0] = r->pass[1] = r->pass[2] = sl;
		/* Keys go to the command as they are typed (Ctrl-C included). */
		if (raw && tcgetattr(0, &r->saved) == 0) {
			t = r->saved;
			cfmakeraw(&t);
			r->raw = tcsetattr(0, TCSANOW, &t) == 0;
		}
		return 0;
	}
	for (int i = 0; i < 3; i++) {
		int p[2];

		if (pipe2(p, O_CLOEXEC) < 0) {
			relay_close(r);
			return -1;
		}
		r->pass[i] = i == 0 ? p[0] : p[1];
		*(i == 0 ? &r->in : i == 1 ? &r->out : &r->err) = i == 0 ? p[1] : p[0];
	}
	return 0;
}

/* Copy what FROM has to TO; 0 at its end (EOF, or EIO: a pty's last holder
 * closed it). */
static int pump(int from, int to)
{
	char buf[16384];
	ssize_t n = read(from, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 1;
	if (n <= 0)
		return 0;
	for (ssize_t off = 0; off < n;) {
		ssize_t w = write(to, buf + off, (size_t)(n - off));

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return 0; /* our side is gone: stop copying */
		off += w;
	}
	return 1;
}

int berthctl_exec(int argc, char **argv)
{
	const char *args[BERTH_REQ_ARGS];
	struct berth_buf data = { 0 };
	struct relay r;
	char msg[1024], *end;
	int n = 0, st = BERTH_FAILED, s, stdin_open, done = 0, interactive = 0, tty = 0;
	long code;
	int64_t linger = -1;

	/* berthctl exec [-i] [-t] NAME [--] CMD [ARG...], as docker exec:
	 * -i passes our stdin on (else the command reads an empty pipe), -t
	 * gives it a terminal. */
	while (argc > 1 && argv[1][0] == '-' && argv[1][1] && strcmp(argv[1], "--") != 0) {
		for (const char *o = argv[1] + 1; *o; o++) {
			if (*o == 'i')
				interactive = 1;
			else if (*o == 't')
				tty = 1;
			else {
				fprintf(stderr, "usage: berthctl exec [-i] [-t] NAME [--] COMMAND [ARG...]\n");
				return BERTH_USAGE;
			}
		}
		argv++;
		argc--;
	}
	if (tty && !isatty(0)) {
		fprintf(stderr, "berthctl: exec -t: standard input is not a terminal\n");
		return BERTH_USAGE;
	}
	if (argc >= 3 && strcmp(argv[2], "--") == 0) {
		argv[2] = argv[1];
		argv++;
		argc--;
	}
	if (argc < 3) {
		fprintf(stderr, "usage: berthctl exec [-i] [-t] NAME [--] COMMAND [ARG...]\n");
		return BERTH_USAGE;
	}
	if (argc - 1 > BERTH_REQ_ARGS) {
		fprintf(stderr, "berthctl: exec: at most %d arguments\n", BERTH_REQ_ARGS - 2);
		return EXEC_FAILED;
	}
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	if (relay_open(&r, tty, interactive) < 0) {
		fprintf(stderr, "berthctl: exec: %s: %s\n", r.pty ? "pseudo-terminal" : "pipes", strerror(errno));
		return EXEC_FAILED;
	}
	s = berthctl_send("exec", args, n, r.pass, 3, msg, sizeof(msg));
	/* berthd has its copies: ours would keep the streams open. */
	for (int i = 0; i < 3; i++)
		if (r.pass[i] >= 0 && (i == 0 || r.pass[i] != r.pass[i - 1]))
			close(r.pass[i]);
	r.pass[0] = r.pass[1] = r.pass[2] = -1;
	if (s < 0) {
		relay_close(&r);
		fprintf(stderr, "berthctl: exec: %s\n", msg);
		return EXEC_FAILED;
	}
	signal(SIGPIPE, SIG_IGN);
	stdin_open = interactive;
	if (!interactive && !r.pty) {
		close(r.in); /* its stdin: an empty pipe */
		r.in = -1;
	}
	/* Relay until berthd answers (the command ended) and its streams are
	 * drained: to their end, or quiet for 200 ms (a background process of
	 * the command may hold them open). */
	while (!done) {
		struct pollfd p[4] = {
			{ .fd = linger < 0 ? s : -1, .events = POLLIN },
			{ .fd = stdin_open && r.in >= 0 ? 0 : -1, .events = POLLIN },
			{ .fd = r.out, .events = POLLIN },
			{ .fd = r.err != r.out ? r.err : -1, .events = POLLIN },
		};
		int k = poll(p, 4, linger < 0 ? -1 : 200);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break; /* quiet after the end, or poll failed */
		if (p[0].revents) {
			st = berthctl_reply(s, &data, msg, sizeof(msg), NULL);
			linger = 1;
		}
		if (p[1].revents && !pump(0, r.in)) {
			stdin_open = 0;
			if (!r.pty) {
				close(r.in);
				r.in = -1;
			}
		}
		if (p[2].revents && !pump(r.out, 1)) {
			if (r.err == r.out)
				r.err = -1;
			if (r.in == r.out)
				r.in = -1;
			close(r.out);
			r.out = -1;
		}
		if (p[3].revents && !pump(r.err, 2)) {
			close(r.err);
			r.err = -1;
		}
		done = linger > 0 && r.out < 0 && r.err < 0;
	}
	if (linger < 0) {
		/* poll failed before an answer */
		st = berthctl_reply(s, &data, msg, sizeof(msg), NULL);
	}
	relay_close(&r);
	berth_buf_free(&data);
	if (st != BERTH_OK) {
		fprintf(stderr, "berthctl: exec: %s\n", msg);
		return EXEC_FAILED;
	}
	code = strtol(msg, &end, 10);
	return *end || end == msg || code < 0 || code > 255 ? EXEC_FAILED : (int)code;
}
