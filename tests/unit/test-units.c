/* Unit tests of the supervisor's pure parts: unit files (parsing, every error
 * with its exact FILE:LINE text, loading with the file and image checks, the
 * checks across units, the network keys with the runtime off and on, the
 * environment of a start), the lifecycle state machine with a fake clock, the
 * control protocol, and the log writer (in a temporary directory). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/capability.h>

#include "caps.h"
#include "lib/diag.h"
#include "lib/values.h"
#include "logs.h"
#include "proto.h"
#include "conf.h"
#include "score.h"
#include "service.h"
#include "unit.h"
#include "t.h"

/* --- helpers --- */

#define UPATH "/t/web.container"
#define L(n) UPATH ":" #n ": "
#define NOLINE UPATH ": "
/* What every unit needs, appended after the lines under test so that their
 * line numbers count from the top. */
#define TAIL "[Container]\nImage=base\nExec=/bin/true\n"
#define DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static char got[16384];
static int got_errors, got_warnings;

/* Parse LEN bytes of TEXT as the unit "web" read from /t/web.container. The
 * diagnostics land in GOT (counts in GOT_ERRORS, GOT_WARNINGS); the unit goes
 * to *UP, or is freed when UP is NULL. Returns what berth_unit_parse did. */
static int parse_len(const char *text, size_t len, struct berth_unit **up)
{
	struct berth_unit *u = calloc(1, sizeof(*u));
	struct berth_diag d = { 0 };
	/* An exact copy, not NUL-terminated: ASan sees any read past the end. */
	char *exact = malloc(len ? len : 1);
	int r;

	if (!u || !exact)
		abort();
	memcpy(exact, text, len);
	r = berth_unit_parse(exact, len, UPATH, "web", u, &d);
	free(exact);
	snprintf(got, sizeof(got), "%s", berth_diag_text(&d));
	got_errors = d.errors;
	got_warnings = d.warnings;
	berth_diag_free(&d);
	if (up)
		*up = u;
	else
		berth_unit_free(u);
	return r;
}

/* The diagnostics of TEXT ("" when it is a valid unit). */
static const char *diag_of(const char *text)
{
	parse_len(text, strlen(text), NULL);
	return got;
}

/* A unit NAME with PATH /t/NAME.container; aborts on a parse error. */
static struct berth_unit *mk(const char *name, const char *text)
{
	struct berth_unit *u = calloc(1, sizeof(*u));
	struct berth_diag d = { 0 };
	char path[128];

	if (!u)
		abort();
	snprintf(path, sizeof(path), "/t/%s.container", name);
	if (berth_unit_parse(text, strlen(text), path, name, u, &d) < 0) {
		printf("# %s", berth_diag_text(&d));
		abort();
	}
	berth_diag_free(&d);
	return u;
}

static int write_file(const char *dir, const char *name, const char *text, size_t len, mode_t mode)
{
	char path[512];
	int fd;
	ssize_t w;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -1;
	w = write(fd, text, len);
	if (fchmod(fd, mode) < 0 || close(fd) < 0 || w != (ssize_t)len)
		return -1;
	return 0;
}

static int write_str(const char *dir, const char *name, const char *text)
{
	return write_file(dir, name, text, strlen(text), 0644);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(p);
}

static int rm_tree(const char *dir)
{
	return nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The contents of DIR/NAME into BUF (NUL-terminated); its length or -1. */
static ssize_t read_file(const char *dir, const char *name, char *buf, size_t len)
{
	char path[512];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

static int exists(const char *dir, const char *name)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

/* --- parsing: a valid unit, with every key --- */

static const char full_unit[] =
	"# a unit with every key\n"
	"[Unit]\n"
	"Description=Web app\n"
	"Documentation=https://example.com/doc man:web(8)\n"
	"After=db\n"
	"Requires=db.container\n"
	"Wants=cache\n"
	"AutoStart=no\n"
	"StartLimitIntervalSec=30s\n"
	"StartLimitBurst=3\n"
	"[Container]\n"
	"Image=app\n"
	"Entrypoint=/usr/bin/tini -g\n"
	"Exec=/app/server --port 8080 \"two words\"\n"
	"WorkingDir=/srv\n"
	"User=1000\n"
	"Group=100\n"
	"GroupAdd=10 20\n"
	"HostName=web-1.example\n"
	"Environment=A=1 B=2\n"
	"Environment=PATH=/app/bin \"A=3 4\"\n"
	"EnvironmentFile=-web.env\n"
	"Volume=/srv/data:/data:rw,noexec\n"
	"Volume=appdata:/var/lib/app:Z\n"
	"Tmpfs=/cache:size=16M,mode=0700\n"
	"ReadOnly=no\n"
	"AddCapability=NET_ADMIN cap_net_bind_service\n"
	"DropCapability=CAP_CHOWN\n"
	"NoNewPrivileges=no\n"
	"SeccompProfile=/etc/berth/seccomp/web.json\n"
	"UserNS=manual\n"
	"UIDMap=0:200000:65536\n"
	"GIDMap=0:300000:65536\n"
	"Network=none\n"
	"RunInit=yes\n"
	"PidsLimit=100\n"
	"[Service]\n"
	"Type=simple\n"
	"Restart=always\n"
	"RestartSec=2s\n"
	"RestartMaxDelaySec=1min 30s\n"
	"RestartResetSec=500ms\n"
	"TimeoutStopSec=infinity\n"
	"KillSignal=SIGINT\n"
	"MemoryMax=512M\n"
	"CPUQuota=50%\n"
	"CPUWeight=200\n"
	"LimitNOFILE=4096:8192\n"
	"LogMaxSize=2M\n"
	"LogMaxFiles=3\n";

static void parse_full_unit(void)
{
	struct berth_unit *u;
	static const char *const argv[] = { "/run/berth-init", "--", "/usr/bin/tini", "-g", "/app/server",
					     "--port", "8080", "two words", NULL };
	static const char *const envp[] = { "B=2", "PATH=/app/bin", "A=3 4", NULL };

	CHECK(parse_len(full_unit, strlen(full_unit), &u) == 0);
	CHECK_STR(got, "");
	CHECK(got_warnings == 0);
	CHECK_STR(u->name, "web");
	CHECK_STR(u->path, UPATH);
	CHECK(u->hash != 0);
	/* [Unit] */
	CHECK_STR(u->description, "Web app");
	CHECK(u->documentation.n == 2);
	CHECK_STR(u->documentation.v[0], "https://example.com/doc");
	CHECK_STR(u->documentation.v[1], "man:web(8)");
	CHECK(u->after.n == 1 && u->requires.n == 1 && u->wants.n == 1);
	CHECK_STR(u->after.v[0], "db");
	CHECK_STR(u->requires.v[0], "db"); /* the suffix is dropped */
	CHECK_STR(u->wants.v[0], "cache");
	CHECK(u->autostart == 0);
	CHECK(u->start_limit_interval_us == 30000000 && u->start_limit_burst == 3);
	/* [Container] */
	CHECK_STR(u->image, "app");
	CHECK_STR(u->c.rootfs, "/usr/lib/berth/images/app");
	CHECK(u->run_init == 1);
	for (size_t i = 0; argv[i]; i++) {
		CHECK(u->argv[i] && u->c.argv[i]);
		CHECK_STR(u->argv[i], argv[i]);
		CHECK_STR(u->c.argv[i], argv[i]);
	}
	CHECK(u->argv[8] == NULL && u->c.argv[8] == NULL);
	CHECK(u->entrypoint.n == 2 && u->exec.n == 4);
	for (size_t i = 0; envp[i]; i++) {
		CHECK(u->envp[i] && u->c.env[i]);
		CHECK_STR(u->envp[i], envp[i]);
		CHECK_STR(u->c.env[i], envp[i]);
	}
	CHECK(u->envp[3] == NULL && u->c.env[3] == NULL);
	CHECK(u->env.n == 4);
	CHECK(u->env_files.n == 1);
	CHECK_STR(u->env_files.v[0], "-web.env");
	CHECK_STR(u->c.workdir, "/srv");
	CHECK_STR(u->user, "1000");
	CHECK_STR(u->group, "100");
	CHECK(u->c.uid == 1000 && u->c.gid == 100);
	CHECK(u->group_add.n == 2);
	CHECK_STR(u->group_add.v[0], "10");
	CHECK_STR(u->group_add.v[1], "20");
	CHECK_STR(u->c.hostname, "web-1.example");
	CHECK(u->c.nvolumes == 2);
	CHECK_STR(u->c.volumes[0].source, "/srv/data");
	CHECK_STR(u->c.volumes[0].target, "/data");
	CHECK(u->c.volumes[0].writable == 1 && u->c.volumes[0].noexec == 1 && u->c.volumes[0].named == 0);
	CHECK_STR(u->c.volumes[1].source, "/var/lib/berth/volumes/appdata");
	CHECK_STR(u->c.volumes[1].target, "/var/lib/app");
	CHECK(u->c.volumes[1].writable == 0 && u->c.volumes[1].noexec == 0 && u->c.volumes[1].named == 1);
	CHECK(u->c.ntmpfs == 1);
	CHECK_STR(u->c.tmpfs[0].target, "/cache");
	CHECK(u->c.tmpfs[0].size == 16 << 20 && u->c.tmpfs[0].mode == 0700);
	CHECK(u->c.readonly == 0 && u->c.no_new_privs == 0);
	CHECK(u->c.cap_add == (BERTH_CAP_MASK(CAP_NET_ADMIN) | BERTH_CAP_MASK(CAP_NET_BIND_SERVICE)));
	CHECK(u->c.cap_drop == BERTH_CAP_MASK(CAP_CHOWN));
	CHECK(u->c.seccomp == BERTH_SECCOMP_PROFILE);
	CHECK_STR(u->c.seccomp_profile, "/etc/berth/seccomp/web.json");
	CHECK(u->userns_manual == 1);
	CHECK(u->c.nuidmap == 1 && u->c.ngidmap == 1);
	CHECK(u->c.uidmap[0].inside == 0 && u->c.uidmap[0].outside == 200000 && u->c.uidmap[0].count == 65536);
	CHECK(u->c.gidmap[0].inside == 0 && u->c.gidmap[0].outside == 300000 && u->c.gidmap[0].count == 65536);
	CHECK(u->c.pids_max == 100);
	/* [Service] */
	CHECK(u->type == BERTH_TYPE_SIMPLE);
	CHECK(u->restart == BERTH_RESTART_ALWAYS);
	CHECK(u->restart_us == 2000000);
	CHECK(u->restart_max_us == 90000000);
	CHECK(u->restart_reset_us == 500000);
	CHECK(u->timeout_stop_us == BERTH_INFINITY);
	CHECK(u->kill_signal == SIGINT);
	CHECK(u->c.memory_max == 512LL << 20);
	CHECK(u->c.cpu_quota_us == 50000);
	CHECK(u->c.cpu_weight == 200);
	CHECK(u->c.nofile_soft == 4096 && u->c.nofile_hard == 8192);
	CHECK(u->log_max_size == 2 << 20 && u->log_max_files == 3);
	berth_unit_free(u);
}

/* The keys the full unit could not use: Rootfs (it excludes Image), the
 * [Service] spellings of the pids limit, and the other values of a few keys. */
static void parse_other_keys(void)
{
	struct berth_unit *u;

	const char *t = "[Container]\nRootfs=/srv/root\nEntrypoint=app\n[Service]\nTasksMax=infinity\n"
			"Type=oneshot\nMemoryMax=infinity\nLimitNOFILE=infinity\nKillSignal=9\n";

	CHECK(parse_len(t, strlen(t), &u) == 0);
	CHECK_STR(got, "");
	CHECK_STR(u->c.rootfs, "/srv/root");
	CHECK(u->image[0] == '\0');
	CHECK(u->c.argv[0] && u->c.argv[1] == NULL);
	CHECK_STR(u->c.argv[0], "app");
	CHECK(u->c.pids_max == -1 && u->c.memory_max == -1);
	CHECK(u->type == BERTH_TYPE_ONESHOT && u->restart == BERTH_RESTART_ON_FAILURE);
	CHECK(u->c.nofile_soft == 1048576 && u->c.nofile_hard == 1048576);
	CHECK(u->kill_signal == 9);
	berth_unit_free(u);

	t = TAIL "[Service]\nPidsLimit=7\nRestart=On-Abnormal\nCPUQuota=250%\nLimitNOFILE=64\n"
		 "[Container]\nSeccompProfile=unconfined\nDropCapability=all\n";
	CHECK(parse_len(t, strlen(t), &u) == 0);
	CHECK_STR(got, "");
	CHECK(u->c.pids_max == 7 && u->restart == BERTH_RESTART_ON_ABNORMAL);
	CHECK(u->c.cpu_quota_us == 250000);
	CHECK(u->c.nofile_soft == 64 && u->c.nofile_hard == 64);
	CHECK(u->c.seccomp == BERTH_SECCOMP_UNCONFINED);
	CHECK(u->c.cap_drop == (1ULL << (CAP_LAST_CAP + 1)) - 1);
	berth_unit_free(u);
}

static void parse_defaults(void)
{
	struct berth_unit *u;

	CHECK(parse_len(TAIL, strlen(TAIL), &u) == 0);
	CHECK_STR(got, "");
	CHECK(u->c.readonly == 1 && u->c.no_new_privs == 1);
	CHECK(u->restart == BERTH_RESTART_ON_FAILURE);
	CHECK(u->restart_us == 1000000);
	CHECK(u->restart_max_us == 60000000);
	CHECK(u->restart_reset_us == 10000000);
	CHECK(u->timeout_stop_us == 10000000);
	CHECK(u->kill_signal == 15);
	CHECK(u->c.pids_max == 512);
	CHECK_STR(u->c.hostname, "web");
	CHECK(u->autostart == 1);
	CHECK(u->start_limit_burst == 5 && u->start_limit_interval_us == 0);
	CHECK(u->type == BERTH_TYPE_SIMPLE);
	CHECK(u->log_max_size == 1 << 20 && u->log_max_files == 10);
	CHECK(u->c.seccomp == BERTH_SECCOMP_DEFAULT);
	CHECK(u->c.memory_max == -1 && u->c.cpu_quota_us == -1 && u->c.cpu_weight == 0);
	CHECK(u->c.nofile_soft == 1024 && u->c.nofile_hard == 524288);
	CHECK(u->c.cap_add == 0 && u->c.cap_drop == 0);
	CHECK(u->c.nvolumes == 0 && u->c.ntmpfs == 0 && u->c.nuidmap == 0);
	CHECK(u->userns_manual == 0 && u->run_init == 0);
	CHECK(u->c.uid == 0 && u->c.gid == 0 && u->c.workdir[0] == '\0');
	/* On the bridge, with an address allocated at start. */
	CHECK(u->net.mode == BERTH_NET_BRIDGE && u->net.ip == 0 && u->net.ndns == 0 && u->net.nhosts == 0 &&
	      u->net.npublish == 0 && u->net.isolation == 0);
	CHECK_STR(u->c.rootfs, "/usr/lib/berth/images/base");
	CHECK(u->argv[0] && u->argv[1] == NULL);
	CHECK_STR(u->argv[0], "/bin/true");
	CHECK(u->c.argv[0] == u->argv[0] && u->c.argv[1] == NULL);
	/* No Environment=: the default PATH alone. */
	CHECK(u->envp[0] && u->envp[1] == NULL);
	CHECK_STR(u->envp[0], DEFAULT_PATH);
	CHECK(u->c.env[0] == u->envp[0] && u->c.env[1] == NULL);
	berth_unit_free(u);

	/* Environment= without PATH: the default comes last. */
	CHECK(parse_len(TAIL "Environment=X=1\n", strlen(TAIL "Environment=X=1\n"), &u) == 0);
	CHECK(u->envp[0] && u->envp[1] && u->envp[2] == NULL);
	CHECK_STR(u->envp[0], "X=1");
	CHECK_STR(u->envp[1], DEFAULT_PATH);
	berth_unit_free(u);

	/* A tmpfs without options: 64M, 1777. */
	CHECK(parse_len(TAIL "Tmpfs=/scratch\n", strlen(TAIL "Tmpfs=/scratch\n"), &u) == 0);
	CHECK(u->c.ntmpfs == 1 && u->c.tmpfs[0].size == 64 << 20 && u->c.tmpfs[0].mode == 01777);
	berth_unit_free(u);
}

static void parse_lists(void)
{
	struct berth_unit *u;
	const char *t;

	/* Lists accumulate over lines and words. */
	t = TAIL "Environment=A=1\nEnvironment=B=2 C=3\nVolume=/srv/a:/a\nVolume=/srv/b:/b:ro\n"
		 "AddCapability=NET_ADMIN\nAddCapability=SYS_PTRACE\nGroupAdd=1\nGroupAdd=2\n";
	CHECK(parse_len(t, strlen(t), &u) == 0);
	CHECK_STR(got, "");
	CHECK(u->env.n == 3 && u->c.nvolumes == 2 && u->group_add.n == 2);
	CHECK(u->c.cap_add == (BERTH_CAP_MASK(CAP_NET_ADMIN) | BERTH_CAP_MASK(CAP_SYS_PTRACE)));
	berth_unit_free(u);

	/* "Key=" clears what came before; the same destination is free again. */
	t = TAIL "Environment=A=1\nEnvironment=B=2\nEnvironment=\nEnvironment=C=3\n"
		 "Volume=/srv/a:/a\nVolume=/srv/b:/b\nVolume=\nVolume=/srv/c:/a\n"
		 "AddCapability=NET_ADMIN\nAddCapability=\nAddCapability=SYS_PTRACE\n"
		 "Tmpfs=/x\nTmpfs=\nUIDMap=0:100000:10\nUIDMap=\nGroupAdd=5\nGroupAdd=\n"
		 "DropCapability=CHOWN\nDropCapability=\n";
	CHECK(parse_len(t, strlen(t), &u) == 0);
	CHECK_STR(got, "");
	CHECK(u->env.n == 1);
	CHECK_STR(u->env.v[0], "C=3");
	CHECK(u->envp[0] && u->envp[1] && !u->envp[2]);
	CHECK_STR(u->envp[0], "C=3");
	CHECK_STR(u->envp[1], DEFAULT_PATH);
	CHECK(u->c.nvolumes == 1);
	CHECK_STR(u->c.volumes[0].source, "/srv/c");
	CHECK_STR(u->c.volumes[0].target, "/a");
	CHECK(u->c.cap_add == BERTH_CAP_MASK(CAP_SYS_PTRACE));
	CHECK(u->c.cap_drop == 0 && u->c.ntmpfs == 0 && u->c.nuidmap == 0 && u->group_add.n == 0);
	berth_unit_free(u);

	/* The same destination twice without clearing is an error. */
	CHECK_STR(diag_of(TAIL "Volume=/srv/a:/a\nVolume=/srv/b:/a\n"),
		  L(5) "Volume=/srv/b:/a: destination '/a' is already a volume\n");
}

static void parse_ignored(void)
{
	struct berth_unit *u;
	const char *t = "# comment\n; another\n\n   \n[Container]\nX-Owner=team-a\n[X-Custom]\nAnything=1\n"
			"Image=not-this\n[Unit]\nX-Note=n\n" TAIL;

	CHECK(parse_len(t, strlen(t), &u) == 0);
	CHECK_STR(got, "");
	CHECK_STR(u->image, "base");
	berth_unit_free(u);
	/* A BOM, CRLF line ends and blanks around '=' are fine. */
	t = "\xEF\xBB\xBF[Container]\r\nImage = base\r\nExec=/bin/true\r\n";
	CHECK(parse_len(t, strlen(t), &u) == 0);
	CHECK_STR(got, "");
	CHECK_STR(u->image, "base");
	CHECK_STR(u->argv[0], "/bin/true");
	berth_unit_free(u);
}

/* --- parsing: every error, with its line --- */

static void error_keys(void)
{
	CHECK_STR(diag_of("[Service]\nType=simple\nRestrat=always\n" TAIL),
		  L(3) "unknown key 'Restrat' in [Service]; did you mean 'Restart'?\n");
	CHECK_STR(diag_of("[Service]\nExec=/bin/sh\n" TAIL), L(2) "Exec= belongs in [Container], not [Service]\n");
	CHECK_STR(diag_of(TAIL "Restart=always\n"), L(4) "Restart= belongs in [Service], not [Container]\n");
	/* A near miss of a key of another section names that section. */
	CHECK_STR(diag_of(TAIL "RestartSecs=5\n"),
		  L(4) "unknown key 'RestartSecs' in [Container]; did you mean [Service] RestartSec=?\n");
	CHECK_STR(diag_of(TAIL "Frobnicate=1\n"), L(4) "unknown key 'Frobnicate' in [Container]\n");
	/* Keys are case-sensitive. */
	CHECK_STR(diag_of(TAIL "image=x\n"), L(4) "unknown key 'image' in [Container]; did you mean 'Image'?\n");
	CHECK_STR(diag_of("Description=x\n" TAIL),
		  L(1) "Description= is outside any section ([Unit], [Container], [Service])\n");
	CHECK_STR(diag_of(TAIL "PodmanArgs=--privileged\nPrivileged=true\n"),
		  L(4) "PodmanArgs= is not supported: raw runtime arguments cannot be reviewed; use the "
		       "unit's keys\n" L(5) "Privileged= is not supported: privileged containers do not "
		       "exist on Berth\n");
	CHECK_STR(diag_of(TAIL "SecurityLabelDisable=true\n"),
		  L(4) "SecurityLabelDisable= is not supported: there is no SELinux on Berth\n");
}

static void error_sections(void)
{
	/* The header is reported once; the keys under it are not. */
	CHECK_STR(diag_of("[Servce]\nRestart=always\nBogus=1\n" TAIL),
		  L(1) "unknown section [Servce]; did you mean [Service]?\n");
	CHECK_STR(diag_of(TAIL "[Network]\nDNS=1.1.1.1\n"),
		  L(4) "unknown section [Network] (sections: [Unit], [Container], [Service])\n");
	CHECK_STR(diag_of(TAIL "[Unit\n"), L(4) "malformed section header\n");
	CHECK_STR(diag_of(TAIL "[]\n"), L(4) "malformed section header\n");
	/* Section names are case-sensitive too. */
	CHECK_STR(diag_of("[service]\n" TAIL), L(1) "unknown section [service]; did you mean [Service]?\n");
}

static void error_duplicates(void)
{
	CHECK_STR(diag_of(TAIL "Image=other\n"), L(4) "Image= is already set on line 2\n");
	CHECK_STR(diag_of("[Service]\nRestart=always\n\nRestart=no\n" TAIL),
		  L(4) "Restart= is already set on line 2\n");
	/* PidsLimit (both sections) and TasksMax are one setting. */
	CHECK_STR(diag_of(TAIL "PidsLimit=10\n[Service]\nTasksMax=20\nPidsLimit=30\n"),
		  L(6) "TasksMax= is already set on line 4\n" L(7) "PidsLimit= is already set on line 4\n");
	/* An empty scalar is an error (and counts as set). */
	CHECK_STR(diag_of(TAIL "WorkingDir=\nWorkingDir=/x\n"),
		  L(4) "WorkingDir= needs a value\n" L(5) "WorkingDir= is already set on line 4\n");
}

static void error_lines(void)
{
	static const char nul[] = "[Container]\nImage=base\nExec=/bin/true\nUser=r\0ot\nGroup=0\n";
	char *long_line;
	size_t n;

	CHECK_STR(diag_of(TAIL "Environment=A=1 \\\n"),
		  L(4) "continuation lines are not supported; use the key again on the next line\n");
	CHECK_STR(diag_of(TAIL "User: 1000\n"), L(4) "expected KEY=VALUE\n");
	CHECK_STR(diag_of(TAIL "Volume /a:/b\n"), L(4) "expected KEY=VALUE\n");
	CHECK_STR(diag_of(TAIL "ReadOnly\n"), L(4) "expected KEY=VALUE\n");
	/* The same on a last line without its newline. */
	CHECK_STR(diag_of(TAIL "ReadOnly"), L(4) "expected KEY=VALUE\n");
	CHECK_STR(diag_of(TAIL "ReadOnly=no"), "");
	CHECK(parse_len(nul, sizeof(nul) - 1, NULL) == -1);
	CHECK_STR(got, L(4) "NUL byte\n");
	/* The text after the NUL is not taken as another line. */
	CHECK(got_errors == 1);

	n = strlen(TAIL) + 12 + 4001 + 1;
	long_line = malloc(n + 1);
	CHECK(long_line);
	snprintf(long_line, n + 1, "%sDescription=", TAIL);
	memset(long_line + strlen(TAIL) + 12, 'x', 4001);
	long_line[n - 1] = '\n';
	long_line[n] = '\0';
	parse_len(long_line, n, NULL);
	free(long_line);
	CHECK_STR(got, L(4) "line longer than 4000 bytes\n");
	{
		char k[100];

		snprintf(k, sizeof(k), "%s%.49s=1\n", TAIL, "KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK");
		CHECK_STR(diag_of(k), L(4) "key name longer than 48 characters\n");
		snprintf(k, sizeof(k), "%s%.48s=1\n", TAIL, "KKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKKK");
		CHECK(strstr(diag_of(k), "unknown key 'KKKK") != NULL);
	}
}

static void error_values(void)
{
	CHECK_STR(diag_of("[Service]\nRestart=unless-stopped\n" TAIL),
		  L(2) "Restart=unless-stopped: 'unless-stopped' is Docker's spelling: use 'always' (a stop "
		       "you ask for is never undone by a restart)\n");
	CHECK_STR(diag_of("[Service]\nRestart=on-failure:5\n" TAIL),
		  L(2) "Restart=on-failure:5: 'on-failure:5' is Docker's spelling: use 'on-failure' with "
		       "[Unit] StartLimitBurst=\n");
	CHECK_STR(diag_of("[Service]\nRestart=sometimes\n" TAIL),
		  L(2) "Restart=sometimes: 'sometimes' is not one of no, on-success, on-failure, on-abnormal, "
		       "on-watchdog, on-abort, always\n");
	CHECK_STR(diag_of(TAIL "UserNS=host\n"),
		  L(4) "UserNS=host: 'host' is refused: every container has its own user namespace, so root "
		       "in a container is never root on the host\n");
	CHECK_STR(diag_of(TAIL "UserNS=private\n"), L(4) "UserNS=private: 'private' is not auto or manual\n");
	CHECK_STR(diag_of(TAIL "Network=lan\n"),
		  L(4) "Network=lan: 'lan' is not bridge, none, host or container:NAME\n");
	CHECK_STR(diag_of(TAIL "AddCapability=SYS_ADMIN\n"),
		  L(4) "AddCapability=SYS_ADMIN: CAP_SYS_ADMIN is refused: it would let the container "
		       "remount its image writable\n");
	/* A refused line does not taint the lines after it. */
	CHECK_STR(diag_of(TAIL "AddCapability=SYS_ADMIN\nAddCapability=NET_ADMIN\n"),
		  L(4) "AddCapability=SYS_ADMIN: CAP_SYS_ADMIN is refused: it would let the container "
		       "remount its image writable\n");
	CHECK_STR(diag_of(TAIL "AddCapability=ALL\n"),
		  L(4) "AddCapability=ALL: 'ALL' is not allowed here: name each capability\n");
	CHECK_STR(diag_of(TAIL "DropCapability=CAP_FLY\n"),
		  L(4) "DropCapability=CAP_FLY: unknown capability 'CAP_FLY'\n");
	CHECK_STR(diag_of(TAIL "AddCapability=NET_ADMIN\nDropCapability=net_admin\n"),
		  NOLINE "CAP_NET_ADMIN is both in AddCapability= and DropCapability=\n");
	CHECK_STR(diag_of(TAIL "Type=oneshot\n"), L(4) "Type= belongs in [Service], not [Container]\n");
	CHECK_STR(diag_of("[Service]\nType=forking\n" TAIL), L(2) "Type=forking: 'forking' is not simple or oneshot\n");
	CHECK_STR(diag_of(TAIL "Image=reg.example/app:1.2\n"),
		  L(4) "Image= is already set on line 2\n");
	/* A store image's reference is checked at parse, resolved at load. */
	CHECK_STR(diag_of("[Container]\nImage=reg.example/app:1.2\n"), "");
	CHECK_STR(diag_of("[Container]\nImage=acme/web\nExec=/bin/true\n"),
		  L(2) "Image=acme/web: 'acme/web': an image of the store needs a tag or a digest (acme/web:TAG "
		       "or acme/web@sha256:...); a bare name is an image baked in /usr/lib/berth/images\n");
	CHECK(strstr(diag_of("[Container]\nImage=acme/web:\n"), "Image=acme/web:: "));
	CHECK(strstr(diag_of("[Container]\nImage=Acme/web:1\n"), "Image=Acme/web:1: "));
	CHECK(strstr(diag_of("[Container]\nImage=acme/web@sha256:12\n"), "Image=acme/web@sha256:12: "));
	CHECK_STR(diag_of(TAIL "Entrypoint=bin/app\n"),
		  L(4) "Entrypoint=bin/app: 'bin/app' must be an absolute path or a bare name found on PATH\n");
	CHECK_STR(diag_of(TAIL "Exec=\"unterminated\n"),
		  L(4) "Exec= is already set on line 3\n");
	CHECK_STR(diag_of("[Container]\nImage=base\nExec=\"unterminated\n"),
		  L(3) "Exec=\"unterminated: unterminated quote\n"
		  NOLINE "[Container] needs Exec= (or Entrypoint=): baked images carry no default command\n");
	CHECK_STR(diag_of(TAIL "WorkingDir=srv\n"), L(4) "WorkingDir=srv: 'srv' is not a clean absolute path\n");
	CHECK_STR(diag_of(TAIL "User=Root\n"),
		  L(4) "User=Root: 'Root' is neither a number below 4294967295 nor a valid name\n");
	CHECK_STR(diag_of(TAIL "Documentation=ftp://x\n"),
		  L(4) "Documentation= belongs in [Unit], not [Container]\n");
	CHECK_STR(diag_of("[Unit]\nDocumentation=ftp://x\nRequires=Bad_Name\n" TAIL),
		  L(2) "Documentation=ftp://x: 'ftp://x' is not an http(s)://, file: or man: reference\n"
		  L(3) "Requires=Bad_Name: 'Bad_Name' is not a unit name\n");
	CHECK_STR(diag_of("[Unit]\nStartLimitBurst=0\n" TAIL),
		  L(2) "StartLimitBurst=0: '0' is not a number in 1..1000\n");
}

static void error_whole_unit(void)
{
	CHECK_STR(diag_of("[Container]\nImage=base\nRootfs=/srv/root\nExec=/bin/true\n"),
		  L(3) "Rootfs= and Image= (line 2) exclude each other\n");
	CHECK_STR(diag_of("[Container]\nExec=/bin/true\n"), NOLINE "[Container] needs Image= or Rootfs=\n");
	CHECK_STR(diag_of("[Container]\nImage=base\n"),
		  NOLINE "[Container] needs Exec= (or Entrypoint=): baked images carry no default command\n");
	CHECK_STR(diag_of(""), NOLINE "[Container] needs Image= or Rootfs=\n"
			       NOLINE "[Container] needs Exec= (or Entrypoint=): baked images carry no default command\n");
	CHECK_STR(diag_of("[Service]\nType=oneshot\nRestart=always\n" TAIL),
		  L(3) "Type=oneshot allows only Restart=no or Restart=on-failure\n");
	CHECK_STR(diag_of("[Service]\nRestart=on-success\nType=oneshot\n" TAIL),
		  L(2) "Type=oneshot allows only Restart=no or Restart=on-failure\n");
	CHECK_STR(diag_of("[Service]\nType=oneshot\nRestart=no\n" TAIL), "");
	CHECK_STR(diag_of("[Service]\nRestartSec=10s\nRestartMaxDelaySec=5s\n" TAIL),
		  L(3) "RestartMaxDelaySec= is below RestartSec=\n");
	/* Against the default maximum (60s): the line of RestartSec=. */
	CHECK_STR(diag_of("[Service]\n\nRestartSec=2min\n" TAIL), L(3) "RestartMaxDelaySec= is below RestartSec=\n");
	CHECK_STR(diag_of(TAIL "UserNS=manual\n"), L(4) "UserNS=manual needs UIDMap= (and GIDMap=) lines\n");
	CHECK_STR(diag_of(TAIL "Volume=/srv/t:/t\nTmpfs=/t\n"), NOLINE "/t is both a volume and a tmpfs\n");
	/* The runtime's own checks run last: a uid outside the 65536 ids. */
	CHECK_STR(diag_of(TAIL "User=70000\n"), NOLINE "web: user 70000:0 is outside the container's id range\n");
}

static void error_times_sizes(void)
{
	CHECK_STR(diag_of("[Service]\nRestartSec=soon\n" TAIL),
		  L(2) "RestartSec=soon: 'soon' is not a time span (e.g. 10s, 1min 30s, 500ms)\n");
	CHECK_STR(diag_of("[Service]\nTimeoutStopSec=-1\n" TAIL),
		  L(2) "TimeoutStopSec=-1: '-1' is not a time span (e.g. 10s, 1min 30s, 500ms, infinity)\n");
	CHECK_STR(diag_of("[Service]\nRestartSec=infinity\n" TAIL),
		  L(2) "RestartSec=infinity: 'infinity' is not a time span (e.g. 10s, 1min 30s, 500ms)\n");
	CHECK_STR(diag_of("[Service]\nRestartSec=50ms\n" TAIL),
		  L(2) "RestartSec=50ms: '50ms' is below the minimum of 100ms\n");
	CHECK_STR(diag_of("[Unit]\nStartLimitIntervalSec=10 parsecs\n" TAIL),
		  L(2) "StartLimitIntervalSec=10 parsecs: '10 parsecs' is not a time span (e.g. 10s, 1min 30s, "
		       "500ms)\n");
	CHECK_STR(diag_of("[Service]\nMemoryMax=lots\n" TAIL),
		  L(2) "MemoryMax=lots: 'lots' is not a size (e.g. 512M, 2G) or infinity\n");
	CHECK_STR(diag_of("[Service]\nMemoryMax=1M\n" TAIL),
		  L(2) "MemoryMax=1M: '1M' is below 4M: not enough to start a container\n");
	CHECK_STR(diag_of("[Service]\nKillSignal=SIGFOO\n" TAIL),
		  L(2) "KillSignal=SIGFOO: 'SIGFOO' is not a signal (TERM, SIGTERM or 1..64)\n");
	CHECK_STR(diag_of("[Service]\nKillSignal=65\n" TAIL),
		  L(2) "KillSignal=65: '65' is not a signal (TERM, SIGTERM or 1..64)\n");
	CHECK_STR(diag_of(TAIL "ReadOnly=maybe\n"),
		  L(4) "ReadOnly=maybe: 'maybe' is not a boolean (yes/no, true/false, on/off, 1/0)\n");
	CHECK_STR(diag_of("[Service]\nCPUQuota=50\nCPUWeight=0\nPidsLimit=0\n" TAIL),
		  L(2) "CPUQuota=50: '50' is not a percentage (e.g. 50%, 200% for two CPUs)\n"
		  L(3) "CPUWeight=0: '0' is not a number in 1..10000\n"
		  L(4) "PidsLimit=0: '0' is not a number in 1..4194304 or infinity\n");
	CHECK_STR(diag_of("[Service]\nCPUQuota=0%\n" TAIL),
		  L(2) "CPUQuota=0%: '0%' is not a percentage in 1%..100000%\n");
	CHECK_STR(diag_of("[Service]\nLimitNOFILE=10:5\n" TAIL),
		  L(2) "LimitNOFILE=10:5: soft limit 10 is above the hard limit 5\n");
	CHECK_STR(diag_of("[Service]\nLimitNOFILE=lots\n" TAIL),
		  L(2) "LimitNOFILE=lots: 'lots' is not N, SOFT:HARD (1..1048576) or infinity\n");
	CHECK_STR(diag_of("[Service]\nLogMaxSize=1K\nLogMaxFiles=1001\n" TAIL),
		  L(2) "LogMaxSize=1K: '1K' is not a size from 4K to 256M\n"
		  L(3) "LogMaxFiles=1001: '1001' is not a number in 0..1000\n");
}

static void error_mounts(void)
{
	CHECK_STR(diag_of(TAIL "Volume=/proc/sys:/x\n"),
		  L(4) "Volume=/proc/sys:/x: source '/proc/sys' is under /proc, which no container may see\n");
	CHECK_STR(diag_of(TAIL "Volume=/etc/berth:/cfg\n"),
		  L(4) "Volume=/etc/berth:/cfg: source '/etc/berth' is under /etc/berth, which no container "
		       "may see\n");
	CHECK_STR(diag_of(TAIL "Volume=/run/berth/berthd.sock:/s\n"),
		  L(4) "Volume=/run/berth/berthd.sock:/s: source '/run/berth/berthd.sock' is under /run/berth, "
		       "which no container may see\n");
	CHECK_STR(diag_of(TAIL "Volume=/var/lib/berth/units:/u\n"),
		  L(4) "Volume=/var/lib/berth/units:/u: source '/var/lib/berth/units' is under "
		       "/var/lib/berth/units, which no container may see\n");
	/* Only whole components count: /run/berthx and /procfs are fine. */
	CHECK_STR(diag_of(TAIL "Volume=/run/berthx:/x\nVolume=/procfs:/y\n"), "");
	CHECK_STR(diag_of(TAIL "Volume=/:/host\n"), L(4) "Volume=/:/host: the host's root cannot be a volume\n");
	CHECK_STR(diag_of(TAIL "Volume=/srv/../etc:/x\n"),
		  L(4) "Volume=/srv/../etc:/x: source '/srv/../etc' is not a clean absolute path\n");
	CHECK_STR(diag_of(TAIL "Volume=/srv:/srv:ro,bogus\n"),
		  L(4) "Volume=/srv:/srv:ro,bogus: unknown volume option 'bogus' (ro, rw, noexec, nosuid, nodev)\n");
	CHECK_STR(diag_of(TAIL "Volume=/srv\n"), L(4) "Volume=/srv: '/srv' is not SOURCE:DESTINATION[:OPTIONS]\n");
	CHECK_STR(diag_of(TAIL "Volume=Data:/d\n"),
		  L(4) "Volume=Data:/d: source 'Data' is neither an absolute path nor a volume name "
		       "([a-z0-9][a-z0-9_.-]*)\n");
	CHECK_STR(diag_of(TAIL "Volume=/srv:/proc/x\n"),
		  L(4) "Volume=/srv:/proc/x: destination '/proc/x' is under /proc, /sys or /dev\n");
	CHECK_STR(diag_of(TAIL "Volume=/srv:/\n"),
		  L(4) "Volume=/srv:/: destination '/' is not a clean absolute path below /\n");
	CHECK_STR(diag_of(TAIL "Tmpfs=/cache:size=1\n"),
		  L(4) "Tmpfs=/cache:size=1: tmpfs /cache: size '1' is not a size from 4K to 1T\n");
	CHECK_STR(diag_of(TAIL "Tmpfs=/cache:size=2T\n"),
		  L(4) "Tmpfs=/cache:size=2T: tmpfs /cache: size '2T' is not a size from 4K to 1T\n");
	CHECK_STR(diag_of(TAIL "Tmpfs=/cache:mode=0999\n"),
		  L(4) "Tmpfs=/cache:mode=0999: tmpfs /cache: mode '0999' is not octal 0..7777\n");
	CHECK_STR(diag_of(TAIL "Tmpfs=/cache:uid=0\n"),
		  L(4) "Tmpfs=/cache:uid=0: tmpfs /cache: unknown option 'uid=0' (size=, mode=)\n");
	/* An option is never cut short to something valid. */
	CHECK_STR(diag_of(TAIL "Tmpfs=/c:size=0000000000000000000000000000000000000000000000000000004096G\n"),
		  L(4) "Tmpfs=/c:size=0000000000000000000000000000000000000000000000000000004096G: tmpfs /c: "
		       "option 'size=000000000000000...' is too long\n");
	CHECK_STR(diag_of(TAIL "Tmpfs=/c:size=0000000000000000000000000000000000000000000000000000004096\n"), "");
	CHECK_STR(diag_of(TAIL "Tmpfs=/dev/shm\n"),
		  L(4) "Tmpfs=/dev/shm: '/dev/shm' is not a clean absolute path below / (and not under /proc, "
		       "/sys or /dev)\n");
}

static void error_ids_env_host(void)
{
	CHECK_STR(diag_of(TAIL "UserNS=manual\nUIDMap=0:200000:1000\nUIDMap=500:300000:10\n"),
		  L(6) "UIDMap=500:300000:10: '500:300000:10' overlaps an earlier line inside the container\n");
	/* The refused line leaves UserNS=manual without a map. */
	CHECK_STR(diag_of(TAIL "UserNS=manual\nUIDMap=0:0:10\n"),
		  L(5) "UIDMap=0:0:10: '0:0:10' maps host root into the container\n"
		  L(4) "UserNS=manual needs UIDMap= (and GIDMap=) lines\n");
	CHECK_STR(diag_of(TAIL "GIDMap=0:100000\n"), L(4) "GIDMap=0:100000: '0:100000' is not CONTAINER:HOST:LENGTH\n");
	CHECK_STR(diag_of(TAIL "GIDMap=0:100000:0\n"),
		  L(4) "GIDMap=0:100000:0: '0:100000:0' is not CONTAINER:HOST:LENGTH within 32-bit ids\n");
	CHECK_STR(diag_of(TAIL "Environment=1A=x\n"),
		  L(4) "Environment=1A=x: '1A=x' is not NAME=VALUE with NAME of letters, digits and '_'\n");
	CHECK_STR(diag_of(TAIL "Environment=NOVALUE\n"),
		  L(4) "Environment=NOVALUE: 'NOVALUE' is not NAME=VALUE with NAME of letters, digits and '_'\n");
	CHECK_STR(diag_of(TAIL "HostName=-bad\n"),
		  L(4) "HostName=-bad: '-bad' is not a host name (RFC 1123, at most 63 characters)\n");
	CHECK_STR(diag_of(TAIL "HostName=a..b\n"),
		  L(4) "HostName=a..b: 'a..b' is not a host name (RFC 1123, at most 63 characters)\n");
	/* A label neither starts nor ends with '-'. */
	CHECK_STR(diag_of(TAIL "HostName=a.-b\n"),
		  L(4) "HostName=a.-b: 'a.-b' is not a host name (RFC 1123, at most 63 characters)\n");
	CHECK_STR(diag_of(TAIL "HostName=a-.b\n"),
		  L(4) "HostName=a-.b: 'a-.b' is not a host name (RFC 1123, at most 63 characters)\n");
	CHECK_STR(diag_of(TAIL "HostName=a-b.c-d\n"), "");
	CHECK_STR(diag_of(TAIL "HostName=under_score\n"),
		  L(4) "HostName=under_score: 'under_score' is not a host name (RFC 1123, at most 63 characters)\n");
	CHECK_STR(diag_of(TAIL "EnvironmentFile=-\n"), L(4) "EnvironmentFile=-: '-' is not a file name\n");
}

/* Every error of a file is reported, each with its own line. */
static void error_many(void)
{
	const char *t = "[Unit]\n"                    /* 1 */
			"Restrat=always\n"            /* 2 */
			"[Container]\n"               /* 3 */
			"Image=base\n"                /* 4 */
			"Exec=/bin/true\n"            /* 5 */
			"User: 0\n"                   /* 6 */
			"Volume=/proc:/p\n"           /* 7 */
			"Image=again\n"               /* 8 */
			"HostName=-x\n"               /* 9 */
			"[Bogus]\n"                   /* 10 */
			"[Service]\n"                 /* 11 */
			"Restart=unless-stopped\n"    /* 12 */
			"KillSignal=NOPE\n"           /* 13 */
			"Exec=/bin/false\n"           /* 14 */
			"RestartSec=5 \\\n";          /* 15 */

	CHECK(parse_len(t, strlen(t), NULL) == -1);
	CHECK_STR(got,
		  L(6) "expected KEY=VALUE\n"
		  L(10) "unknown section [Bogus] (sections: [Unit], [Container], [Service])\n"
		  L(15) "continuation lines are not supported; use the key again on the next line\n"
		  L(2) "unknown key 'Restrat' in [Unit]; did you mean [Service] Restart=?\n"
		  L(7) "Volume=/proc:/p: source '/proc' is under /proc, which no container may see\n"
		  L(8) "Image= is already set on line 4\n"
		  L(9) "HostName=-x: '-x' is not a host name (RFC 1123, at most 63 characters)\n"
		  L(12) "Restart=unless-stopped: 'unless-stopped' is Docker's spelling: use 'always' (a stop "
			"you ask for is never undone by a restart)\n"
		  L(13) "KillSignal=NOPE: 'NOPE' is not a signal (TERM, SIGTERM or 1..64)\n"
		  L(14) "Exec= belongs in [Container], not [Service]\n");
	CHECK(got_errors == 10);
}

/* A diag shared by several parses (berthctl verify FILE...): the second unit's
 * errors, including the runtime's own last checks, are reported too. */
static void error_shared_diag(void)
{
	struct berth_diag d = { 0 };
	struct berth_unit *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	const char *ta = "[Container]\nImage=base\n", *tb = TAIL "User=70000\n";

	CHECK(a && b);
	CHECK(berth_unit_parse(ta, strlen(ta), "/t/a.container", "a", a, &d) == -1);
	CHECK(berth_unit_parse(tb, strlen(tb), "/t/b.container", "b", b, &d) == -1);
	CHECK_STR(berth_diag_text(&d),
		  "/t/a.container: [Container] needs Exec= (or Entrypoint=): baked images carry no default "
		  "command\n/t/b.container: b: user 70000:0 is outside the container's id range\n");
	CHECK(d.errors == 2);
	berth_unit_free(a);
	berth_unit_free(b);
	berth_diag_free(&d);
}

static void unit_names(void)
{
	char name[BERTH_NAME_MAX + 1];

	CHECK(berth_unit_name_valid("web") && berth_unit_name_valid("0db_1.a-b"));
	CHECK(!berth_unit_name_valid("") && !berth_unit_name_valid(".web") && !berth_unit_name_valid("-w"));
	CHECK(!berth_unit_name_valid("Web") && !berth_unit_name_valid("a/b") && !berth_unit_name_valid("a b"));
	memset(name, 'a', 63);
	name[63] = '\0';
	CHECK(berth_unit_name_valid(name));
	memset(name, 'a', 64);
	name[64] = '\0';
	CHECK(!berth_unit_name_valid(name));
	CHECK(berth_unit_name_of("web.container", name, sizeof(name)) == 0);
	CHECK_STR(name, "web");
	CHECK(berth_unit_name_of(".container", name, sizeof(name)) == -1);
	CHECK(berth_unit_name_of("web.conf", name, sizeof(name)) == -1);
	CHECK(berth_unit_name_of("Web.container", name, sizeof(name)) == -1);
	CHECK(berth_unit_name_of("web.container", name, 3) == -1);
	CHECK_STR(berth_restart_name(BERTH_RESTART_ON_ABNORMAL), "on-abnormal");
	CHECK_STR(berth_restart_name((enum berth_restart)99), "?");
	CHECK_STR(berth_net_mode_name(BERTH_NET_BRIDGE), "bridge");
	CHECK_STR(berth_net_mode_name(BERTH_NET_NONE), "none");
	CHECK_STR(berth_net_mode_name(BERTH_NET_HOST), "host");
	CHECK_STR(berth_net_mode_name(BERTH_NET_CONTAINER), "container");
	CHECK_STR(berth_net_mode_name((enum berth_net_mode)9), "?");
	/* A bad name is refused before anything else. */
	{
		struct berth_unit *u = calloc(1, sizeof(*u));
		struct berth_diag d = { 0 };

		CHECK(u);
		CHECK(berth_unit_parse(TAIL, strlen(TAIL), "/t/X.container", "X", u, &d) == -1);
		CHECK_STR(berth_diag_text(&d),
			  "/t/X.container: 'X' is not a unit name ([a-z0-9][a-z0-9_.-]*, at most 63)\n");
		berth_unit_free(u);
		berth_diag_free(&d);
	}
}

/* --- loading files --- */

static char tmpdir[64];
static char dpath[512];

static const char *in_dir(const char *name)
{
	snprintf(dpath, sizeof(dpath), "%s/%s", tmpdir, name);
	return dpath;
}

/* Load DIR/NAME; the diagnostics in GOT. */
static struct berth_unit *load(const char *name, const struct berth_unit_load_opts *o)
{
	struct berth_diag d = { 0 };
	struct berth_unit *u = berth_unit_load(in_dir(name), o, &d);

	snprintf(got, sizeof(got), "%s", berth_diag_text(&d));
	got_errors = d.errors;
	berth_diag_free(&d);
	return u;
}

static const char *expect_in_dir(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char expected[2048];
static const char *expect_in_dir(const char *fmt, ...)
{
	char tail[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tail, sizeof(tail), fmt, ap);
	va_end(ap);
	snprintf(expected, sizeof(expected), "%s/%s", tmpdir, tail);
	return expected;
}

static void load_files(void)
{
	struct berth_unit_load_opts owner = { .check_owner = 1 };
	struct berth_unit *u;
	char *big, target[600];

	snprintf(tmpdir, sizeof(tmpdir), "/tmp/berth-units-XXXXXX");
	CHECK(mkdtemp(tmpdir));
	snprintf(target, sizeof(target), "%s/rootfs", tmpdir);
	CHECK(mkdir(target, 0755) == 0);
	snprintf(target, sizeof(target), "[Container]\nRootfs=%s/rootfs\nExec=/bin/true\n", tmpdir);
	CHECK(write_str(tmpdir, "good.container", target) == 0);

	/* A good file, with the owner check (root's, 0644). */
	u = load("good.container", geteuid() == 0 ? &owner : NULL);
	CHECK_STR(got, "");
	CHECK(u);
	CHECK_STR(u->name, "good");
	CHECK_STR(u->path, in_dir("good.container"));
	berth_unit_free(u);

	CHECK(symlink("good.container", in_dir("link.container")) == 0);
	CHECK(load("link.container", NULL) == NULL);
	CHECK_STR(got, expect_in_dir("link.container: is a symbolic link\n"));

	CHECK(mkdir(in_dir("dir.container"), 0755) == 0);
	CHECK(load("dir.container", NULL) == NULL);
	CHECK_STR(got, expect_in_dir("dir.container: not a regular file\n"));
	CHECK(mkfifo(in_dir("fifo.container"), 0644) == 0);
	CHECK(load("fifo.container", NULL) == NULL);
	CHECK_STR(got, expect_in_dir("fifo.container: not a regular file\n"));

	CHECK(load("absent.container", NULL) == NULL);
	CHECK_STR(got, expect_in_dir("absent.container: No such file or directory\n"));
	CHECK(load("Bad.container", NULL) == NULL);
	CHECK_STR(got, expect_in_dir("Bad.container: not a unit file name (NAME.container, NAME other than 'events', of [a-z0-9_.-], "
				     "starting with a letter or digit, at most 63)\n"));

	big = malloc(BERTH_UNIT_MAX_BYTES + 1);
	CHECK(big);
	memset(big, '#', BERTH_UNIT_MAX_BYTES + 1);
	CHECK(write_file(tmpdir, "big.container", big, BERTH_UNIT_MAX_BYTES + 1, 0644) == 0);
	free(big);
	CHECK(load("big.container", NULL) == NULL);
	CHECK_STR(got, expect_in_dir("big.container: larger than 65536 bytes\n"));

	/* Group-writable: refused with the owner check, taken without. */
	CHECK(write_file(tmpdir, "gw.container", target, strlen(target), 0664) == 0);
	CHECK(load("gw.container", &owner) == NULL);
	CHECK_STR(got, expect_in_dir("gw.container: must be owned by root and not writable by group or others "
				     "(owner %u, mode 0664)\n", (unsigned)geteuid()));
	u = load("gw.container", NULL);
	CHECK(u);
	berth_unit_free(u);
	CHECK(write_file(tmpdir, "ww.container", target, strlen(target), 0602) == 0);
	CHECK(load("ww.container", &owner) == NULL);
	CHECK_STR(got, expect_in_dir("ww.container: must be owned by root and not writable by group or others "
				     "(owner %u, mode 0602)\n", (unsigned)geteuid()));

	/* A parse error: the unit is not returned, the error has its line. */
	CHECK(write_str(tmpdir, "err.container", "[Container]\nImage=base\nExec=/bin/true\nBogus=1\n") == 0);
	CHECK(load("err.container", NULL) == NULL);
	CHECK_STR(got, expect_in_dir("err.container:4: unknown key 'Bogus' in [Container]\n"));

	/* Rootfs= must be a directory. */
	snprintf(target, sizeof(target), "[Container]\nRootfs=%s/good.container\nExec=/bin/true\n", tmpdir);
	CHECK(write_str(tmpdir, "rf.container", target) == 0);
	errno = ENOENT;
	CHECK(load("rf.container", NULL) == NULL);
	CHECK_STR(got, expect_in_dir("rf.container:2: root filesystem %s/good.container: not a directory\n", tmpdir));
	snprintf(target, sizeof(target), "[Container]\nRootfs=%s/nothere\nExec=/bin/true\n", tmpdir);
	CHECK(write_str(tmpdir, "rn.container", target) == 0);
	CHECK(load("rn.container", NULL) == NULL);
	CHECK_STR(got, expect_in_dir("rn.container:2: root filesystem %s/nothere: not found\n", tmpdir));
}

static void load_foreign_owner(void)
{
	struct berth_unit_load_opts owner = { .check_owner = 1 };

	CHECK(write_str(tmpdir, "uid1.container", TAIL) == 0);
	CHECK(chown(in_dir("uid1.container"), 1, 0) == 0);
	CHECK(load("uid1.container", &owner) == NULL);
	CHECK_STR(got, expect_in_dir("uid1.container: must be owned by root and not writable by group or "
				     "others (owner 1, mode 0644)\n"));
}

/* An image of the store (imgstore.h): a tag, a record, a config, a root. */
static void store_image_files(const char *digest_hex, const char *config)
{
	char p[600];

	snprintf(p, sizeof(p), "%s/store", tmpdir);
	mkdir(p, 0700);
	mkdir(in_dir("store/tags"), 0700);
	mkdir(in_dir("store/tags/acme%web"), 0700);
	mkdir(in_dir("store/images"), 0700);
	mkdir(in_dir("store/rootfs"), 0700);
	snprintf(p, sizeof(p), "store/images/%s", digest_hex);
	mkdir(in_dir(p), 0700);
	snprintf(p, sizeof(p), "store/rootfs/%s", digest_hex);
	mkdir(in_dir(p), 0755);
	snprintf(p, sizeof(p), "store/rootfs/%s/etc", digest_hex);
	mkdir(in_dir(p), 0755);
	snprintf(p, sizeof(p), "store/rootfs/%s/etc/passwd", digest_hex);
	write_str(tmpdir, p, "root:x:0:0::/:/bin/sh\nweb:x:80:81::/:/bin/sh\n");
	snprintf(p, sizeof(p), "store/images/%s/info", digest_hex);
	write_str(tmpdir, p, "berth-image 1\nname acme/web\n");
	snprintf(p, sizeof(p), "store/images/%s/config.json", digest_hex);
	write_str(tmpdir, p, config);
	{
		char line[100];

		snprintf(line, sizeof(line), "sha256:%s\n", digest_hex);
		write_str(tmpdir, "store/tags/acme%web/1", line);
	}
}

static void load_store_images(void)
{
	static const char hex[] = "5c1f00000000000000000000000000000000000000000000000000000000aa01";
	struct berth_unit_load_opts o = { .images_dir = NULL };
	struct berth_unit *u;
	char store[300], want[600];

	snprintf(store, sizeof(store), "%s/store", tmpdir);
	o.store_dir = store;
	store_image_files(hex, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"config\":{"
			       "\"Entrypoint\":[\"/bin/app\"],\"Cmd\":[\"--serve\",\"80\"],"
			       "\"Env\":[\"PATH=/bin\",\"MODE=image\"],\"WorkingDir\":\"/srv\",\"User\":\"web\"},"
			       "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
	/* Everything from the image. */
	CHECK(write_str(tmpdir, "s1.container", "[Container]\nImage=acme/web:1\n") == 0);
	u = load("s1.container", &o);
	CHECK_STR(got, "");
	CHECK(u);
	snprintf(want, sizeof(want), "%s/rootfs/%s", store, hex);
	CHECK_STR(u->c.rootfs, want);
	CHECK_STR(u->image_digest + 7, hex);
	CHECK(u->c.argv[0] && u->c.argv[1] && u->c.argv[2] && !u->c.argv[3]);
	CHECK_STR(u->c.argv[0], "/bin/app");
	CHECK_STR(u->c.argv[2], "80");
	CHECK_STR(u->c.workdir, "/srv");
	CHECK(u->c.uid == 80 && u->c.gid == 81);
	CHECK_STR(u->c.env[0], "PATH=/bin");
	CHECK_STR(u->c.env[1], "MODE=image");
	berth_unit_free(u);
	/* The unit's Exec= replaces Cmd under the image's Entrypoint; its
	 * Environment= overrides the image's Env; its User= and WorkingDir= win. */
	CHECK(write_str(tmpdir, "s2.container", "[Container]\nImage=acme/web@sha256:5c1f000000000000000000000000"
						"00000000000000000000000000000000aa01\nExec=--check\n"
						"Environment=MODE=unit\nUser=7\nWorkingDir=/tmp\n") == 0);
	u = load("s2.container", &o);
	CHECK_STR(got, "");
	CHECK(u);
	CHECK_STR(u->c.argv[0], "/bin/app");
	CHECK_STR(u->c.argv[1], "--check");
	CHECK(!u->c.argv[2]);
	CHECK(u->c.uid == 7 && u->c.gid == 7);
	CHECK_STR(u->c.workdir, "/tmp");
	{
		int mode_unit = 0, mode_image = 0;

		for (int i = 0; u->c.env[i]; i++) {
			mode_unit |= strcmp(u->c.env[i], "MODE=unit") == 0;
			mode_image |= strcmp(u->c.env[i], "MODE=image") == 0;
		}
		CHECK(mode_unit && !mode_image);
	}
	berth_unit_free(u);
	/* The unit's Entrypoint= drops the image's Cmd too (as Docker). */
	CHECK(write_str(tmpdir, "s3.container", "[Container]\nImage=acme/web:1\nEntrypoint=/bin/other\n") == 0);
	u = load("s3.container", &o);
	CHECK_STR(got, "");
	CHECK(u);
	CHECK_STR(u->c.argv[0], "/bin/other");
	CHECK(!u->c.argv[1]);
	berth_unit_free(u);
	/* Not in the store; a digest imported under another name. */
	CHECK(write_str(tmpdir, "s4.container", "[Container]\nImage=acme/web:2\n") == 0);
	CHECK(load("s4.container", &o) == NULL);
	CHECK_STR(got, expect_in_dir("s4.container:2: Image=acme/web:2: image acme/web:2 is not in the store "
				     "(berthctl image import)\n"));
	CHECK(write_str(tmpdir, "s5.container", "[Container]\nImage=other/app@sha256:5c1f0000000000000000000000"
						"0000000000000000000000000000000000aa01\n") == 0);
	CHECK(load("s5.container", &o) == NULL);
	CHECK(strstr(got, "was not imported as other/app"));
	/* An image without Entrypoint or Cmd needs the unit's. */
	store_image_files(hex, "{\"config\":{},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[]}}");
	CHECK(write_str(tmpdir, "s6.container", "[Container]\nImage=acme/web:1\n") == 0);
	CHECK(load("s6.container", &o) == NULL);
	CHECK_STR(got, expect_in_dir("s6.container: [Container] needs Exec= (or Entrypoint=): image acme/web:1 "
				     "has neither Entrypoint nor Cmd\n"));
}

static void load_images(void)
{
	struct berth_unit_load_opts o = { .images_dir = NULL };
	struct berth_unit *u;
	char images[300];

	snprintf(images, sizeof(images), "%s/images", tmpdir);
	o.images_dir = images;
	CHECK(mkdir(images, 0755) == 0);
	CHECK(mkdir(in_dir("images/app"), 0755) == 0);
	CHECK(mkdir(in_dir("images/app/etc"), 0755) == 0);
	CHECK(write_str(tmpdir, "images/app/etc/passwd",
			"root:x:0:0:root:/root:/bin/sh\n"
			"app:x:1000:1001:App:/srv:/bin/sh\n"
			"svc::2000:2001::/:/bin/false\n") == 0);
	CHECK(write_str(tmpdir, "images/app/etc/group",
			"root:x:0:\n"
			"appgrp:x:1001:\n"
			"web:x:1500:app,svc\n"
			"audio::29:\n") == 0);

	/* User= by name: its uid and primary group; GroupAdd= names and numbers. */
	CHECK(write_str(tmpdir, "u1.container", "[Container]\nImage=app\nUser=app\nGroupAdd=web audio 7\n"
						"Exec=/bin/true\n") == 0);
	u = load("u1.container", &o);
	CHECK_STR(got, "");
	CHECK(u);
	CHECK_STR(u->c.rootfs, in_dir("images/app"));
	CHECK(u->c.uid == 1000 && u->c.gid == 1001);
	CHECK(u->c.ngroups == 3 && u->c.groups[0] == 1500 && u->c.groups[1] == 29 && u->c.groups[2] == 7);
	berth_unit_free(u);

	/* Group= by name; an empty password field is still a field. */
	CHECK(write_str(tmpdir, "u2.container", "[Container]\nImage=app\nUser=svc\nGroup=web\nExec=/bin/true\n") == 0);
	u = load("u2.container", &o);
	CHECK_STR(got, "");
	CHECK(u);
	CHECK(u->c.uid == 2000 && u->c.gid == 1500 && u->c.ngroups == 0);
	berth_unit_free(u);

	/* Numbers need no lookup; no Group=: the gid is the uid. */
	CHECK(write_str(tmpdir, "u3.container", "[Container]\nImage=app\nUser=33\nExec=/bin/true\n") == 0);
	u = load("u3.container", &o);
	CHECK_STR(got, "");
	CHECK(u);
	CHECK(u->c.uid == 33 && u->c.gid == 33);
	berth_unit_free(u);

	CHECK(write_str(tmpdir, "u4.container", "[Container]\nImage=app\nUser=nobody\nGroup=staff\n"
						"GroupAdd=wheel\nExec=/bin/true\n") == 0);
	CHECK(load("u4.container", &o) == NULL);
	CHECK_STR(got, expect_in_dir("u4.container:3: User=nobody: no such user in %s/images/app/etc/passwd\n"
				     "%s/u4.container:4: Group=staff: no such group in %s/images/app/etc/group\n"
				     "%s/u4.container: GroupAdd=wheel: no such group in %s/images/app/etc/group\n",
				     tmpdir, tmpdir, tmpdir, tmpdir, tmpdir));
	CHECK(got_errors == 3);

	/* An image's /etc/passwd that is a FIFO, or a link out of the image:
	 * no user found, and no hang. */
	CHECK(mkdir(in_dir("images/odd"), 0755) == 0);
	CHECK(mkdir(in_dir("images/odd/etc"), 0755) == 0);
	CHECK(mkfifo(in_dir("images/odd/etc/passwd"), 0644) == 0);
	CHECK(symlink("/etc/group", in_dir("images/odd/etc/group")) == 0);
	CHECK(write_str(tmpdir, "odd.container", "[Container]\nImage=odd\nUser=root\nGroup=root\n"
						 "Exec=/bin/true\n") == 0);
	CHECK(load("odd.container", &o) == NULL);
	CHECK(strstr(got, "User=root: no such user") && strstr(got, "Group=root: no such group"));

	CHECK(write_str(tmpdir, "m.container", "[Container]\nImage=ghost\nExec=/bin/true\n") == 0);
	CHECK(load("m.container", &o) == NULL);
	CHECK_STR(got, expect_in_dir("m.container:2: image ghost: not found\n"));
	/* Without images_dir: BERTH_IMAGES_DIR, which this host does not have. */
	CHECK(load("m.container", NULL) == NULL);
	CHECK_STR(got, expect_in_dir("m.container:2: image ghost: not found\n"));
}

/* --- the environment of a start --- */

static void start_env(void)
{
	struct berth_unit *u = calloc(1, sizeof(*u));
	struct berth_diag d = { 0 };
	char path[300], **env;
	const char *t = TAIL "Environment=A=1 B=2\nEnvironmentFile=web.env\nEnvironmentFile=-missing.env\n";
	static const char *const want_env[] = { "A=1", DEFAULT_PATH, "B=3", "C=4 5", "D=", NULL };

	CHECK(u);
	snprintf(path, sizeof(path), "%s/web.container", tmpdir);
	CHECK(berth_unit_parse(t, strlen(t), path, "web", u, &d) == 0);
	CHECK(write_str(tmpdir, "web.env", "# comment\n\n  ; another\nexport B=3\n  C=4 5\r\nD=\n") == 0);
	env = berth_unit_start_env(u, &d);
	CHECK_STR(berth_diag_text(&d), "");
	CHECK(env);
	for (size_t i = 0; want_env[i]; i++) {
		CHECK(env[i]);
		CHECK_STR(env[i], want_env[i]);
	}
	CHECK(env[5] == NULL);
	free(env);

	/* A bad line: FILE:LINE. */
	CHECK(write_str(tmpdir, "web.env", "A=1\nNOT VALID\n9X=1\n") == 0);
	CHECK(berth_unit_start_env(u, &d) == NULL);
	CHECK_STR(berth_diag_text(&d), expect_in_dir("web.env:2: expected NAME=VALUE\n%s/web.env:3: expected "
						     "NAME=VALUE\n", tmpdir));
	berth_diag_free(&d);

	/* A required file that is missing. */
	CHECK(unlink(in_dir("web.env")) == 0);
	CHECK(berth_unit_start_env(u, &d) == NULL);
	CHECK_STR(berth_diag_text(&d), expect_in_dir("web.env: EnvironmentFile: No such file or directory\n"));
	berth_diag_free(&d);
	berth_unit_free(u);

	/* Absolute paths; a diag with earlier errors does not fail the call. */
	u = calloc(1, sizeof(*u));
	CHECK(u);
	snprintf(path, sizeof(path), TAIL "EnvironmentFile=%s/abs.env\n", tmpdir);
	CHECK(berth_unit_parse(path, strlen(path), "/t/web.container", "web", u, &d) == 0);
	CHECK(write_str(tmpdir, "abs.env", "PATH=/x\n") == 0);
	berth_diag_error(&d, "earlier", 1, "an earlier error");
	env = berth_unit_start_env(u, &d);
	CHECK(env && env[0] && !env[1]);
	CHECK_STR(env[0], "PATH=/x");
	free(env);
	CHECK(d.errors == 1);
	berth_diag_free(&d);
	berth_unit_free(u);
}

/* --- checks across units --- */

static void units_order(void)
{
	struct berth_unit *u[3];
	struct berth_diag d = { 0 };
	size_t order[3];

	u[0] = mk("a", "[Unit]\nRequires=b\n" TAIL);
	u[1] = mk("b", "[Unit]\nAfter=c\n" TAIL);
	u[2] = mk("c", TAIL);
	CHECK(berth_units_check(u, 3, order, &d) == 0);
	CHECK_STR(berth_diag_text(&d), "");
	CHECK(order[0] == 2 && order[1] == 1 && order[2] == 0);
	/* The same with the set in another order. */
	{
		struct berth_unit *v[3] = { u[2], u[0], u[1] };

		CHECK(berth_units_check(v, 3, order, &d) == 0);
		CHECK(order[0] == 0 && order[1] == 2 && order[2] == 1);
	}
	/* Wants= orders too. */
	{
		struct berth_unit *w = mk("w", "[Unit]\nWants=a\n" TAIL);
		struct berth_unit *v[4] = { w, u[0], u[1], u[2] };
		size_t o4[4];

		CHECK(berth_units_check(v, 4, o4, &d) == 0);
		CHECK(o4[0] == 3 && o4[1] == 2 && o4[2] == 1 && o4[3] == 0);
		berth_unit_free(w);
	}
	CHECK(berth_units_check(u, 0, order, &d) == 0);
	for (int i = 0; i < 3; i++)
		berth_unit_free(u[i]);
	berth_diag_free(&d);
}

static void units_errors(void)
{
	struct berth_unit *u[3];
	struct berth_diag d = { 0 };
	size_t order[3];

	u[0] = mk("a", "[Unit]\nRequires=zz\nWants=yy\n" TAIL);
	CHECK(berth_units_check(u, 1, order, &d) == -1);
	CHECK_STR(berth_diag_text(&d), "/t/a.container: Requires=zz: no such unit\n"
				       "/t/a.container: warning: Wants=yy: no such unit\n");
	CHECK(d.errors == 1 && d.warnings == 1);
	berth_diag_free(&d);
	berth_unit_free(u[0]);

	/* Wants= on a missing unit alone is only a warning. */
	u[0] = mk("a", "[Unit]\nWants=yy\nAfter=xx\n" TAIL);
	CHECK(berth_units_check(u, 1, order, &d) == 0);
	CHECK_STR(berth_diag_text(&d), "/t/a.container: warning: Wants=yy: no such unit\n");
	CHECK(d.errors == 0 && d.warnings == 1);
	berth_diag_free(&d);
	berth_unit_free(u[0]);

	u[0] = mk("a", "[Unit]\nAfter=a\n" TAIL);
	CHECK(berth_units_check(u, 1, order, &d) == -1);
	CHECK_STR(berth_diag_text(&d), "/t/a.container: After=a: a unit cannot depend on itself\n");
	berth_diag_free(&d);
	berth_unit_free(u[0]);

	/* A 3-cycle, named in full. */
	u[0] = mk("a", "[Unit]\nAfter=b\n" TAIL);
	u[1] = mk("b", "[Unit]\nRequires=c\n" TAIL);
	u[2] = mk("c", "[Unit]\nWants=a\n" TAIL);
	CHECK(berth_units_check(u, 3, order, &d) == -1);
	CHECK_STR(berth_diag_text(&d), "/t/a.container: dependency cycle: a -> b -> c -> a\n");
	CHECK(d.errors == 1);
	berth_diag_free(&d);
	/* Entered elsewhere, the cycle is named from where it was entered. */
	{
		struct berth_unit *v[3] = { u[1], u[2], u[0] };

		CHECK(berth_units_check(v, 3, order, &d) == -1);
		CHECK_STR(berth_diag_text(&d), "/t/b.container: dependency cycle: b -> c -> a -> b\n");
		berth_diag_free(&d);
	}
	for (int i = 0; i < 3; i++)
		berth_unit_free(u[i]);

	/* A 2-cycle behind a unit that is not part of it. */
	u[0] = mk("x", "[Unit]\nRequires=y\n" TAIL);
	u[1] = mk("y", "[Unit]\nAfter=z\n" TAIL);
	u[2] = mk("z", "[Unit]\nAfter=y\n" TAIL);
	CHECK(berth_units_check(u, 3, order, &d) == -1);
	CHECK_STR(berth_diag_text(&d), "/t/y.container: dependency cycle: y -> z -> y\n");
	berth_diag_free(&d);
	for (int i = 0; i < 3; i++)
		berth_unit_free(u[i]);
}

/* --- networking --- */

static void net_keys(void)
{
	struct berth_unit *u;
	const char *t = TAIL
		"Network=bridge\n"                                   /* 4 */
		"IPAddress=10.88.0.5\n"                              /* 5 */
		"DNS=1.1.1.1 9.9.9.9\n"                              /* 6 */
		"DNS=10.88.0.1\n"                                    /* 7 */
		"AddHost=db:10.88.0.2 cache.internal.example:10.88.0.3\n" /* 8 */
		"AddHost=gw:192.168.1.1\n"                           /* 9 */
		"PublishPort=8080:80\n"                              /* 10 */
		"PublishPort=192.168.7.1:8443:443/tcp\n"             /* 11 */
		"PublishPort=5353:53/UDP\n"                          /* 12 */
		"PublishPort=8080:80/udp\n"                          /* 13 */
		"PublishPort=10.0.0.1:9000:9000\n"                   /* 14 */
		"PublishPort=10.0.0.2:9000:9001\n"                   /* 15 */
		"NetworkIsolation=yes\n";                            /* 16 */
	const struct berth_net_port *p;

	CHECK(parse_len(t, strlen(t), &u) == 0);
	CHECK_STR(got, "");
	CHECK(u->net.mode == BERTH_NET_BRIDGE && u->net.container[0] == '\0');
	CHECK(u->net.ip == 0x0a580005);
	CHECK_STR(u->net.ip_key, "IPAddress");
	CHECK(u->net.ndns == 3 && u->net.dns_line == 6);
	CHECK(u->net.dns[0] == 0x01010101 && u->net.dns[1] == 0x09090909 && u->net.dns[2] == 0x0a580001);
	CHECK(u->net.nhosts == 3);
	CHECK_STR(u->net.hosts[0].name, "db");
	CHECK(u->net.hosts[0].ip == 0x0a580002 && u->net.hosts[0].line == 8);
	CHECK_STR(u->net.hosts[1].name, "cache.internal.example");
	CHECK(u->net.hosts[1].ip == 0x0a580003 && u->net.hosts[1].line == 8);
	CHECK_STR(u->net.hosts[2].name, "gw");
	CHECK(u->net.hosts[2].ip == 0xc0a80101 && u->net.hosts[2].line == 9);
	CHECK(u->net.npublish == 6);
	p = u->net.publish;
	CHECK(p[0].host_ip == 0 && p[0].host_port == 8080 && p[0].container_port == 80 &&
	      p[0].proto == BERTH_PROTO_TCP && p[0].line == 10);
	CHECK(p[1].host_ip == 0xc0a80701 && p[1].host_port == 8443 && p[1].container_port == 443 &&
	      p[1].proto == BERTH_PROTO_TCP && p[1].line == 11);
	CHECK(p[2].host_port == 5353 && p[2].container_port == 53 && p[2].proto == BERTH_PROTO_UDP);
	/* The same port number over another protocol, or on another address. */
	CHECK(p[3].host_port == 8080 && p[3].proto == BERTH_PROTO_UDP);
	CHECK(p[4].host_ip == 0x0a000001 && p[5].host_ip == 0x0a000002 && p[5].container_port == 9001);
	CHECK(u->net.isolation == 1);
	berth_unit_free(u);

	/* The default is the bridge, with nothing fixed. */
	CHECK(parse_len(TAIL, strlen(TAIL), &u) == 0);
	CHECK(u->net.mode == BERTH_NET_BRIDGE && u->net.ip == 0 && u->net.ndns == 0 && u->net.nhosts == 0 &&
	      u->net.npublish == 0 && u->net.isolation == 0);
	berth_unit_free(u);

	/* IP= is Quadlet's name for IPAddress=: the same setting. */
	CHECK(parse_len(TAIL "IP=172.16.5.4\n", strlen(TAIL "IP=172.16.5.4\n"), &u) == 0);
	CHECK(u->net.ip == 0xac100504);
	CHECK_STR(u->net.ip_key, "IP");
	berth_unit_free(u);

	/* The other modes; values are case-insensitive, unit names are not. */
	t = TAIL "Network=HOST\n";
	CHECK(parse_len(t, strlen(t), &u) == 0 && u->net.mode == BERTH_NET_HOST);
	berth_unit_free(u);
	t = TAIL "Network=None\n";
	CHECK(parse_len(t, strlen(t), &u) == 0 && u->net.mode == BERTH_NET_NONE);
	berth_unit_free(u);
	t = TAIL "Network=container:db\n";
	CHECK(parse_len(t, strlen(t), &u) == 0 && u->net.mode == BERTH_NET_CONTAINER);
	CHECK_STR(u->net.container, "db");
	berth_unit_free(u);
	/* Quadlet's spelling, and the suffix dropped from container:NAME. */
	t = TAIL "Network=db.container\n";
	CHECK(parse_len(t, strlen(t), &u) == 0 && u->net.mode == BERTH_NET_CONTAINER);
	CHECK_STR(u->net.container, "db");
	berth_unit_free(u);
	t = TAIL "Network=container:db.container\n";
	CHECK(parse_len(t, strlen(t), &u) == 0);
	CHECK_STR(u->net.container, "db");
	berth_unit_free(u);

	/* "Key=" clears the lists; a port and a name are free again. */
	t = TAIL "PublishPort=8080:80\nPublishPort=\nPublishPort=8080:81\nDNS=1.1.1.1 1.0.0.1 8.8.8.8\nDNS=\n"
		 "DNS=9.9.9.9\nAddHost=db:10.88.0.2\nAddHost=\nAddHost=db:10.88.0.9\n";
	CHECK(parse_len(t, strlen(t), &u) == 0);
	CHECK_STR(got, "");
	CHECK(u->net.npublish == 1 && u->net.publish[0].container_port == 81 && u->net.publish[0].line == 6);
	CHECK(u->net.ndns == 1 && u->net.dns[0] == 0x09090909 && u->net.dns_line == 9);
	CHECK(u->net.nhosts == 1 && u->net.hosts[0].ip == 0x0a580009 && u->net.hosts[0].line == 12);
	berth_unit_free(u);

	/* The limits: 3 servers, 16 names, 16 ports. */
	{
		char big[2048];
		size_t off = (size_t)snprintf(big, sizeof(big), "%sDNS=1.1.1.1\nDNS=2.2.2.2 3.3.3.3\n", TAIL);

		for (int i = 0; i < 16; i++)
			off += (size_t)snprintf(big + off, sizeof(big) - off, "PublishPort=%d:80\nAddHost=h%d:10.0.0.%d\n",
						1000 + i, i, i + 1);
		CHECK(parse_len(big, off, &u) == 0);
		CHECK(u->net.ndns == 3 && u->net.npublish == 16 && u->net.nhosts == 16);
		berth_unit_free(u);
		snprintf(big + off, sizeof(big) - off, "PublishPort=2000:80\nAddHost=h99:10.0.0.99\nDNS=4.4.4.4\n");
		CHECK_STR(diag_of(big), L(38) "PublishPort=2000:80: more than 16 published ports\n"
					L(39) "AddHost=h99:10.0.0.99: more than 16 AddHost= entries\n"
					L(40) "DNS=4.4.4.4: more than 3 DNS servers (the resolver uses 3)\n");
	}
}

#define A70 "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

static void net_errors(void)
{
	char name[320];

	/* Network= */
	CHECK_STR(diag_of(TAIL "Network=lan\n"), L(4) "Network=lan: 'lan' is not bridge, none, host or container:NAME\n");
	CHECK_STR(diag_of(TAIL "Network=brige\n"),
		  L(4) "Network=brige: 'brige' is not bridge, none, host or container:NAME; did you mean 'bridge'?\n");
	CHECK_STR(diag_of(TAIL "Network=backend.network\n"),
		  L(4) "Network=backend.network: 'backend.network': Quadlet's named networks are not supported; "
		       "the units with Network=bridge share one bridge\n");
	CHECK_STR(diag_of(TAIL "Network=container:web\n"),
		  L(4) "Network=container:web: a unit cannot join its own network\n");
	CHECK_STR(diag_of(TAIL "Network=web.container\n"),
		  L(4) "Network=web.container: a unit cannot join its own network\n");
	CHECK_STR(diag_of(TAIL "Network=container:DB\n"), L(4) "Network=container:DB: 'DB' is not a unit name\n");
	CHECK_STR(diag_of(TAIL "Network=container:\n"), L(4) "Network=container:: '' is not a unit name\n");
	CHECK_STR(diag_of(TAIL "Network=container:events\n"),
		  L(4) "Network=container:events: 'events' is not a unit name\n");
	CHECK_STR(diag_of(TAIL "Network=none\nNetwork=host\n"), L(5) "Network= is already set on line 4\n");
	/* IPAddress= and IP= */
	CHECK_STR(diag_of(TAIL "IPAddress=10.88.0\n"),
		  L(4) "IPAddress=10.88.0: '10.88.0' is not an IPv4 address (a.b.c.d)\n");
	CHECK_STR(diag_of(TAIL "IPAddress=010.88.0.5\n"),
		  L(4) "IPAddress=010.88.0.5: '010.88.0.5' is not an IPv4 address (a.b.c.d)\n");
	CHECK_STR(diag_of(TAIL "IP=fd00::5\n"),
		  L(4) "IP=fd00::5: 'fd00::5' is not an IPv4 address (a.b.c.d); IPv6 is not supported\n");
	CHECK_STR(diag_of(TAIL "IPAddress=127.0.0.2\n"),
		  L(4) "IPAddress=127.0.0.2: '127.0.0.2' cannot be a container's address (0.0.0.0/8, "
		       "127.0.0.0/8 and 224.0.0.0 and above are refused)\n");
	CHECK(strstr(diag_of(TAIL "IPAddress=0.0.0.0\n"), "cannot be a container's address"));
	CHECK(strstr(diag_of(TAIL "IPAddress=224.0.0.1\n"), "cannot be a container's address"));
	CHECK(strstr(diag_of(TAIL "IPAddress=255.255.255.255\n"), "cannot be a container's address"));
	CHECK_STR(diag_of(TAIL "IPAddress=223.255.255.254\n"), "");
	CHECK_STR(diag_of(TAIL "IPAddress=1.0.0.1\n"), "");
	/* Both names: one setting, set twice. */
	CHECK_STR(diag_of(TAIL "IPAddress=10.88.0.5\nIP=10.88.0.6\n"), L(5) "IP= is already set on line 4\n");
	CHECK_STR(diag_of(TAIL "IP=10.88.0.5\n\nIPAddress=10.88.0.5\n"), L(6) "IPAddress= is already set on line 4\n");
	/* DNS= */
	CHECK_STR(diag_of(TAIL "DNS=one.one.one.one\n"),
		  L(4) "DNS=one.one.one.one: 'one.one.one.one' is not an IPv4 address (a.b.c.d)\n");
	CHECK_STR(diag_of(TAIL "DNS=2606:4700::1111\n"),
		  L(4) "DNS=2606:4700::1111: '2606:4700::1111' is not an IPv4 address (a.b.c.d); IPv6 is not "
		       "supported\n");
	CHECK_STR(diag_of(TAIL "DNS=1.1.1.1 1.0.0.1 8.8.8.8 8.8.4.4\n"),
		  L(4) "DNS=1.1.1.1 1.0.0.1 8.8.8.8 8.8.4.4: more than 3 DNS servers (the resolver uses 3)\n");
	/* A refused line adds nothing: the next one still fits. */
	CHECK_STR(diag_of(TAIL "DNS=1.1.1.1 bad\nDNS=1.1.1.1 1.0.0.1 8.8.8.8\n"),
		  L(4) "DNS=1.1.1.1 bad: 'bad' is not an IPv4 address (a.b.c.d)\n");
	CHECK_STR(diag_of(TAIL "DNS=\"1.1.1.1\n"), L(4) "DNS=\"1.1.1.1: unterminated quote\n");
	/* AddHost= */
	CHECK_STR(diag_of(TAIL "AddHost=db\n"), L(4) "AddHost=db: 'db' is not NAME:IP\n");
	CHECK_STR(diag_of(TAIL "AddHost=-db:10.0.0.1\n"),
		  L(4) "AddHost=-db:10.0.0.1: '-db' is not a host name (RFC 1123: labels of letters, digits and "
		       "'-', at most 253 characters)\n");
	CHECK(strstr(diag_of(TAIL "AddHost=db-.x:10.0.0.1\n"), "'db-.x' is not a host name"));
	CHECK(strstr(diag_of(TAIL "AddHost=a.-b:10.0.0.1\n"), "'a.-b' is not a host name"));
	CHECK(strstr(diag_of(TAIL "AddHost=a..b:10.0.0.1\n"), "'a..b' is not a host name"));
	CHECK(strstr(diag_of(TAIL "AddHost=under_score:10.0.0.1\n"), "'under_score' is not a host name"));
	CHECK(strstr(diag_of(TAIL "AddHost=:10.0.0.1\n"), "'' is not a host name"));
	CHECK_STR(diag_of(TAIL "AddHost=db:10.0.0\n"), L(4) "AddHost=db:10.0.0: '10.0.0' is not an IPv4 address (a.b.c.d)\n");
	CHECK_STR(diag_of(TAIL "AddHost=db:host-gateway\n"),
		  L(4) "AddHost=db:host-gateway: 'host-gateway' is not an IPv4 address (a.b.c.d)\n");
	CHECK_STR(diag_of(TAIL "AddHost=db:::1\n"),
		  L(4) "AddHost=db:::1: '::1' is not an IPv4 address (a.b.c.d); IPv6 is not supported\n");
	CHECK_STR(diag_of(TAIL "AddHost=db:10.0.0.1\nAddHost=DB:10.0.0.2\n"),
		  L(5) "AddHost=DB:10.0.0.2: 'DB' is already in AddHost= on line 4\n");
	CHECK_STR(diag_of(TAIL "AddHost=db:10.0.0.1 db:10.0.0.2\n"),
		  L(4) "AddHost=db:10.0.0.1 db:10.0.0.2: 'db' is given twice\n");
	/* Labels of 63, names of 253 characters at most. */
	snprintf(name, sizeof(name), TAIL "AddHost=%.63s.%.63s.%.63s.%.61s:10.0.0.1\n", A70, A70, A70, A70);
	CHECK_STR(diag_of(name), "");
	snprintf(name, sizeof(name), TAIL "AddHost=%.63s.%.63s.%.63s.%.62s:10.0.0.1\n", A70, A70, A70, A70);
	CHECK(strstr(diag_of(name), "is not a host name"));
	snprintf(name, sizeof(name), TAIL "AddHost=%.64s:10.0.0.1\n", A70);
	CHECK(strstr(diag_of(name), "is not a host name"));
	/* PublishPort= */
	CHECK_STR(diag_of(TAIL "PublishPort=80\n"),
		  L(4) "PublishPort=80: '80' has no host port: give [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp] (no "
		       "random host ports on an appliance)\n");
	CHECK(strstr(diag_of(TAIL "PublishPort=:80\n"), "':80' has no host port"));
	CHECK(strstr(diag_of(TAIL "PublishPort=127.0.0.1::80\n"), "'127.0.0.1::80' has no host port"));
	CHECK_STR(diag_of(TAIL "PublishPort=8080-8081:80-81\n"),
		  L(4) "PublishPort=8080-8081:80-81: port ranges are not supported; one PublishPort= per port\n");
	CHECK_STR(diag_of(TAIL "PublishPort=8080:80-81/udp\n"),
		  L(4) "PublishPort=8080:80-81/udp: port ranges are not supported; one PublishPort= per port\n");
	CHECK_STR(diag_of(TAIL "PublishPort=8080:80/sctp\n"),
		  L(4) "PublishPort=8080:80/sctp: protocol 'sctp' is not tcp or udp\n");
	/* The host's SSH port, and loopback addresses published ports never see. */
	CHECK_STR(diag_of(TAIL "PublishPort=22:2222\n"),
		  L(4) "PublishPort=22:2222: host port 22/tcp is the appliance's SSH port; publish another host port\n");
	CHECK_STR(diag_of(TAIL "PublishPort=22:53/udp\n"), "");
	CHECK_STR(diag_of(TAIL "PublishPort=68:68/udp\n"),
		  L(4) "PublishPort=68:68/udp: host port 68/udp is the appliance's DHCP client; publish another host port\n");
	CHECK_STR(diag_of(TAIL "PublishPort=68:68\n"), "");
	CHECK_STR(diag_of(TAIL "PublishPort=127.0.0.2:8080:80\n"),
		  L(4) "PublishPort=127.0.0.2:8080:80: '127.0.0.2:8080:80': a published port is reached from outside "
		       "the host, never on a loopback address\n");
	CHECK_STR(diag_of(TAIL "PublishPort=0:80\n"), L(4) "PublishPort=0:80: host port '0' is not a port (1..65535)\n");
	CHECK_STR(diag_of(TAIL "PublishPort=8080:65536\n"),
		  L(4) "PublishPort=8080:65536: container port '65536' is not a port (1..65535)\n");
	CHECK_STR(diag_of(TAIL "PublishPort=http:80\n"),
		  L(4) "PublishPort=http:80: host port 'http' is not a port (1..65535)\n");
	CHECK_STR(diag_of(TAIL "PublishPort=1.2.3:8080:80\n"),
		  L(4) "PublishPort=1.2.3:8080:80: '1.2.3' is not an IPv4 address (a.b.c.d)\n");
	CHECK_STR(diag_of(TAIL "PublishPort=:8080:80\n"),
		  L(4) "PublishPort=:8080:80: ':8080:80' is not [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]: the "
		       "address is empty\n");
	CHECK_STR(diag_of(TAIL "PublishPort=[::1]:8080:80\n"),
		  L(4) "PublishPort=[::1]:8080:80: '[::1]:8080:80': IPv6 is not supported\n");
	CHECK_STR(diag_of(TAIL "PublishPort=1:2:3:4\n"),
		  L(4) "PublishPort=1:2:3:4: '1:2:3:4' is not [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]\n");
	CHECK_STR(diag_of(TAIL "PublishPort=1:2:3:4:5\n"),
		  L(4) "PublishPort=1:2:3:4:5: '1:2:3:4:5' is not [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]\n");
	CHECK(strstr(diag_of(TAIL "PublishPort=100000000000000000000000000000000000000000000000000000000000000:80\n"),
		     "is not [IP:]HOSTPORT:CONTAINERPORT[/tcp|udp]"));
	/* A host port once per protocol; 0.0.0.0 (no address) overlaps every address. */
	CHECK_STR(diag_of(TAIL "PublishPort=8080:80\nPublishPort=8080:81/tcp\n"),
		  L(5) "PublishPort=8080:81/tcp: host port 8080/tcp is already published on line 4\n");
	CHECK_STR(diag_of(TAIL "PublishPort=192.168.7.1:8080:80\nPublishPort=8080:81\n"),
		  L(5) "PublishPort=8080:81: host port 8080/tcp is already published on line 4\n");
	CHECK_STR(diag_of(TAIL "PublishPort=53:53/udp\nPublishPort=10.0.0.1:53:54/udp\n"),
		  L(5) "PublishPort=10.0.0.1:53:54/udp: host port 10.0.0.1:53/udp is already published on line 4\n");
	CHECK_STR(diag_of(TAIL "PublishPort=8080:80\nPublishPort=0.0.0.0:8080:80\n"),
		  L(5) "PublishPort=0.0.0.0:8080:80: host port 8080/tcp is already published on line 4\n");
	/* NetworkIsolation= */
	CHECK_STR(diag_of(TAIL "NetworkIsolation=maybe\n"),
		  L(4) "NetworkIsolation=maybe: 'maybe' is not a boolean (yes/no, true/false, on/off, 1/0)\n");
	/* Refused Quadlet keys. */
	CHECK_STR(diag_of(TAIL "IP6=fd00::5\nNetworkAlias=www\nDNSSearch=example.com\nDNSOption=ndots:1\n"
			       "ExposeHostPort=80\n"),
		  L(4) "IP6= is not supported: IPv6 is not supported: the bridge is IPv4 only\n"
		  L(5) "NetworkAlias= is not supported: network aliases are not supported\n"
		  L(6) "DNSSearch= is not supported: the container's resolv.conf lists only the DNS= servers\n"
		  L(7) "DNSOption= is not supported: the container's resolv.conf lists only the DNS= servers\n"
		  L(8) "ExposeHostPort= is not supported: exposing a port without publishing it does nothing; "
		       "use PublishPort=\n");
	CHECK_STR(diag_of(TAIL "PublishPorts=80:80\n"),
		  L(4) "unknown key 'PublishPorts' in [Container]; did you mean 'PublishPort'?\n");
	CHECK_STR(diag_of("[Service]\nPublishPort=80:80\n" TAIL),
		  L(2) "PublishPort= belongs in [Container], not [Service]\n");
}

/* The keys of the container's own stack, with another Network=: one error per
 * key, at its first line, naming the line of Network=. */
static void net_mode_conflicts(void)
{
	const char *t = TAIL
		"NetworkIsolation=no\n"    /* 4 */
		"PublishPort=8080:80\n"    /* 5 */
		"Network=none\n"           /* 6 */
		"DNS=1.1.1.1\n"            /* 7 */
		"IPAddress=10.88.0.5\n"    /* 8 */
		"AddHost=db:10.88.0.2\n"   /* 9 */
		"PublishPort=8081:81\n"    /* 10 */
		"DNS=8.8.8.8\n";           /* 11 */

	CHECK_STR(diag_of(t),
		  L(4) "NetworkIsolation= is not allowed with Network=none (line 6): the container has only loopback\n"
		  L(5) "PublishPort= is not allowed with Network=none (line 6): the container has only loopback\n"
		  L(7) "DNS= is not allowed with Network=none (line 6): the container has only loopback\n"
		  L(8) "IPAddress= is not allowed with Network=none (line 6): the container has only loopback\n"
		  L(9) "AddHost= is not allowed with Network=none (line 6): the container has only loopback\n");
	CHECK(got_errors == 5);
	CHECK_STR(diag_of(TAIL "Network=host\nPublishPort=80:80\n"),
		  L(5) "PublishPort= is not allowed with Network=host (line 4): the container uses the host's "
		       "network stack\n");
	CHECK_STR(diag_of(TAIL "IP=10.88.0.7\nNetwork=container:db\nDNS=1.1.1.1\n"),
		  L(4) "IP= is not allowed with Network=container:db (line 5): the network stack is the other "
		       "unit's; set it there\n"
		  L(6) "DNS= is not allowed with Network=container:db (line 5): the network stack is the other "
		       "unit's; set it there\n");
	/* A bad value is reported as such, and the key still does not belong. */
	CHECK_STR(diag_of(TAIL "Network=host\nIPAddress=nope\nNetworkIsolation=maybe\n"),
		  L(5) "IPAddress=nope: 'nope' is not an IPv4 address (a.b.c.d)\n"
		  L(6) "NetworkIsolation=maybe: 'maybe' is not a boolean (yes/no, true/false, on/off, 1/0)\n"
		  L(5) "IPAddress= is not allowed with Network=host (line 4): the container uses the host's "
		       "network stack\n"
		  L(6) "NetworkIsolation= is not allowed with Network=host (line 4): the container uses the "
		       "host's network stack\n");
	/* Cleared lists are not there; an explicit bridge takes them all. */
	CHECK_STR(diag_of(TAIL "Network=none\nDNS=1.1.1.1\nDNS=\n"), "");
	CHECK_STR(diag_of(TAIL "Network=bridge\nIP=10.88.0.5\nNetworkIsolation=yes\nDNS=1.1.1.1\n"), "");
}

/* Across units: Network=container:NAME, host ports, fixed addresses. */
static void net_units(void)
{
	struct berth_unit *u[3];
	struct berth_diag d = { 0 };
	size_t order[3];

	/* Joining a unit's network orders after it, as Requires= does. */
	u[0] = mk("web", "[Container]\nImage=base\nExec=/bin/true\nNetwork=container:db\n");
	u[1] = mk("db", TAIL);
	CHECK(berth_units_check(u, 2, order, &d) == 0);
	CHECK_STR(berth_diag_text(&d), "");
	CHECK(order[0] == 1 && order[1] == 0);
	/* The unit must exist. */
	CHECK(berth_units_check(u, 1, order, &d) == -1);
	CHECK_STR(berth_diag_text(&d), "/t/web.container:4: Network=container:db: no such unit\n");
	berth_diag_free(&d);
	berth_unit_free(u[1]);
	/* Joining a unit on the host's stack is Network=host, and must say so. */
	u[1] = mk("db", TAIL "Network=host\n");
	CHECK(berth_units_check(u, 2, order, &d) == -1);
	CHECK_STR(berth_diag_text(&d), "/t/web.container:4: Network=container:db: db has Network=host; "
				       "say Network=host here\n");
	berth_diag_free(&d);
	berth_unit_free(u[1]);
	/* And it closes cycles. */
	u[1] = mk("db", "[Unit]\nAfter=web\n" TAIL);
	CHECK(berth_units_check(u, 2, order, &d) == -1);
	CHECK_STR(berth_diag_text(&d), "/t/web.container: dependency cycle: web -> db -> web\n");
	berth_diag_free(&d);
	berth_unit_free(u[0]);
	berth_unit_free(u[1]);

	/* A host port twice: the error is on the unit whose name sorts later,
	 * whatever the order of the set, and names the other's line. */
	u[0] = mk("b", TAIL "PublishPort=8080:80/udp\nPublishPort=192.168.7.1:8080:81\n");
	u[1] = mk("a", TAIL "\nPublishPort=8080:80\n");
	u[2] = mk("c", TAIL "PublishPort=10.0.0.1:9000:9000\nPublishPort=10.0.0.2:9000:9000\n");
	CHECK(berth_units_check(u, 3, order, &d) == -1);
	CHECK_STR(berth_diag_text(&d), "/t/b.container:5: PublishPort=192.168.7.1:8080:81/tcp: host port "
				       "192.168.7.1:8080/tcp is already published by /t/a.container:5 "
				       "(PublishPort=8080:80/tcp)\n");
	CHECK(d.errors == 1);
	berth_diag_free(&d);
	{
		struct berth_unit *v[3] = { u[2], u[1], u[0] };

		CHECK(berth_units_check(v, 3, order, &d) == -1);
		CHECK(strncmp(berth_diag_text(&d), "/t/b.container:5: ", 18) == 0 && d.errors == 1);
		berth_diag_free(&d);
	}
	/* Without b: distinct addresses, ports and protocols do not conflict. */
	{
		struct berth_unit *v[2] = { u[1], u[2] };
		struct berth_unit *e = mk("e", TAIL "PublishPort=8080:80/udp\nPublishPort=10.0.0.3:9000:1\n");
		struct berth_unit *w[3] = { u[1], u[2], e };

		CHECK(berth_units_check(v, 2, order, &d) == 0);
		CHECK(berth_units_check(w, 3, order, &d) == 0);
		CHECK_STR(berth_diag_text(&d), "");
		berth_unit_free(e);
	}
	/* More than 256 published ports in all: an error on the unit that
	 * crosses the limit in name order, whatever the order of the set. */
	{
		struct berth_unit *many[17], *rev[17];
		char text[2048], name[16];
		size_t ord[17];

		for (int i = 0; i < 17; i++) {
			size_t off = (size_t)snprintf(text, sizeof(text), "%s", TAIL);

			for (int j = 0; j < 16; j++)
				off += (size_t)snprintf(text + off, sizeof(text) - off, "PublishPort=%d:80\n",
							10000 + i * 16 + j);
			snprintf(name, sizeof(name), "p%02d", i);
			many[i] = mk(name, text);
			rev[16 - i] = many[i];
		}
		CHECK(berth_units_check(many, 16, ord, &d) == 0);
		CHECK(berth_units_check(many, 17, ord, &d) == -1);
		CHECK_STR(berth_diag_text(&d), "/t/p16.container:4: PublishPort=: more than 256 published ports "
					       "across all units (272)\n");
		berth_diag_free(&d);
		CHECK(berth_units_check(rev, 17, ord, &d) == -1);
		CHECK(strncmp(berth_diag_text(&d), "/t/p16.container:4: ", 20) == 0 && d.errors == 1);
		berth_diag_free(&d);
		for (int i = 0; i < 17; i++)
			berth_unit_free(many[i]);
	}
	/* Three claims of one port: each later one names the first. */
	{
		struct berth_unit *x = mk("x", TAIL "PublishPort=10.0.0.1:9000:1\n");
		struct berth_unit *y = mk("y", TAIL "PublishPort=9000:2\n");
		struct berth_unit *w[3] = { y, x, u[2] };

		CHECK(berth_units_check(w, 3, order, &d) == -1);
		CHECK_STR(berth_diag_text(&d),
			  "/t/x.container:4: PublishPort=10.0.0.1:9000:1/tcp: host port 10.0.0.1:9000/tcp is "
			  "already published by /t/c.container:4 (PublishPort=10.0.0.1:9000:9000/tcp)\n"
			  "/t/y.container:4: PublishPort=9000:2/tcp: host port 9000/tcp is already published by "
			  "/t/c.container:4 (PublishPort=10.0.0.1:9000:9000/tcp)\n");
		berth_diag_free(&d);
		berth_unit_free(x);
		berth_unit_free(y);
	}
	for (int i = 0; i < 3; i++)
		berth_unit_free(u[i]);

	/* A fixed address twice. */
	u[0] = mk("b", TAIL "IP=10.88.0.5\n");
	u[1] = mk("a", TAIL "\n\nIPAddress=10.88.0.5\n");
	u[2] = mk("c", TAIL "IPAddress=10.88.0.6\n");
	CHECK(berth_units_check(u, 3, order, &d) == -1);
	CHECK_STR(berth_diag_text(&d), "/t/b.container:4: IP=10.88.0.5: already the address of /t/a.container:6 "
				       "(IPAddress=)\n");
	berth_diag_free(&d);
	for (int i = 0; i < 3; i++)
		berth_unit_free(u[i]);
}

/* berthctl score: Network=host is systemd's PrivateNetwork=no (2500). */
static void net_score(void)
{
	struct berth_unit *u = NULL;
	struct berth_score sc;
	const char *modes[] = { "bridge", "none", "host", "container:db" };
	unsigned e[4];

	for (int m = 0; m < 4; m++) {
		char t[128];
		int found = 0;

		snprintf(t, sizeof(t), TAIL "Network=%s\n", modes[m]);
		CHECK(parse_len(t, strlen(t), &u) == 0);
		berth_score_unit(u, &sc);
		berth_unit_free(u);
		e[m] = sc.exposure;
		for (int i = 0; i < sc.n; i++)
			if (strcmp(sc.f[i].name, "PrivateNetwork=") == 0) {
				CHECK(sc.f[i].weight == 2500 && sc.f[i].range == 1);
				CHECK(sc.f[i].badness == (m == 2));
				found = 1;
			}
		CHECK(found);
	}
	printf("# score: bridge %u, none %u, host %u, container %u\n", e[0], e[1], e[2], e[3]);
	CHECK(e[0] == e[1] && e[1] == e[3]);
	CHECK(e[2] > e[0]);
}

/* --- the lifecycle --- */

static void restart_table(void)
{
	/* systemd.service(5), "Restart=": columns clean, code, signal, timeout, start
	 * (a start failure counts as an unclean exit code). */
	static const int want[7][5] = {
		[BERTH_RESTART_NO] = { 0, 0, 0, 0, 0 },
		[BERTH_RESTART_ON_SUCCESS] = { 1, 0, 0, 0, 0 },
		[BERTH_RESTART_ON_FAILURE] = { 0, 1, 1, 1, 1 },
		[BERTH_RESTART_ON_ABNORMAL] = { 0, 0, 1, 1, 0 },
		[BERTH_RESTART_ON_WATCHDOG] = { 0, 0, 0, 0, 0 },
		[BERTH_RESTART_ON_ABORT] = { 0, 0, 1, 0, 0 },
		[BERTH_RESTART_ALWAYS] = { 1, 1, 1, 1, 1 },
	};

	for (int p = 0; p < 7; p++)
		for (int k = 0; k < 5; k++)
			if (berth_restart_wanted((enum berth_restart)p, (enum berth_exit_kind)k) != want[p][k]) {
				printf("FAIL %s: Restart=%s, kind %d\n", t_cur, berth_restart_name(p), k);
				t_cur_failed = 1;
				return;
			}
	CHECK(berth_restart_wanted((enum berth_restart)7, BERTH_EXIT_CODE) == 0);
	CHECK(berth_restart_wanted(BERTH_RESTART_ALWAYS, (enum berth_exit_kind)5) == 0);
}

static void exit_classify(void)
{
	CHECK(berth_exit_classify(CLD_EXITED, 0) == BERTH_EXIT_CLEAN);
	CHECK(berth_exit_classify(CLD_EXITED, 3) == BERTH_EXIT_CODE);
	CHECK(berth_exit_classify(CLD_EXITED, 255) == BERTH_EXIT_CODE);
	CHECK(berth_exit_classify(CLD_KILLED, SIGTERM) == BERTH_EXIT_CLEAN);
	CHECK(berth_exit_classify(CLD_KILLED, SIGHUP) == BERTH_EXIT_CLEAN);
	CHECK(berth_exit_classify(CLD_KILLED, SIGINT) == BERTH_EXIT_CLEAN);
	CHECK(berth_exit_classify(CLD_KILLED, SIGPIPE) == BERTH_EXIT_CLEAN);
	CHECK(berth_exit_classify(CLD_KILLED, SIGKILL) == BERTH_EXIT_SIGNAL);
	CHECK(berth_exit_classify(CLD_KILLED, SIGSEGV) == BERTH_EXIT_SIGNAL);
	CHECK(berth_exit_classify(CLD_DUMPED, SIGABRT) == BERTH_EXIT_SIGNAL);
	CHECK(berth_exit_classify(CLD_DUMPED, SIGTERM) == BERTH_EXIT_SIGNAL);
}

static void state_names(void)
{
	for (int s = 0; s < BERTH_SVC_NSTATES; s++)
		CHECK(berth_svc_state_from_name(berth_svc_state_name((enum berth_svc_state)s)) == s);
	CHECK_STR(berth_svc_state_name(BERTH_SVC_BACKOFF), "backoff");
	CHECK_STR(berth_svc_state_name(BERTH_SVC_NSTATES), "?");
	CHECK(berth_svc_state_from_name("running") == BERTH_SVC_RUNNING);
	CHECK(berth_svc_state_from_name("nope") == -1);
}

#define S(x) ((int64_t)(x) * 1000000)

static void crash_loop(void)
{
	struct berth_unit *u = mk("web", TAIL);
	struct berth_svc s = { 0 };
	static const int delays[] = { 1, 2, 4, 8, 16, 32, 60, 60 };
	int64_t now = S(100);

	CHECK(berth_svc_want(&s) == 1 && s.state == BERTH_SVC_WAITING);
	for (size_t i = 0; i < sizeof(delays) / sizeof(delays[0]); i++) {
		berth_svc_started(&s, now);
		CHECK(s.state == BERTH_SVC_RUNNING);
		now += S(1) / 2;
		berth_svc_exited(&s, u, BERTH_EXIT_CODE, 1, now);
		CHECK(s.state == BERTH_SVC_BACKOFF);
		if (s.next_at - now != S(delays[i])) {
			printf("FAIL %s: restart %zu: delay %lld us, want %d s\n", t_cur, i + 1,
			       (long long)(s.next_at - now), delays[i]);
			t_cur_failed = 1;
			return;
		}
		CHECK(s.restarts == i + 1 && s.consecutive == i + 1);
		CHECK(s.last_kind == BERTH_EXIT_CODE && s.last_status == 1 && s.has_exited);
		/* The timer fires at next_at, not before. */
		CHECK(berth_svc_timer(&s, s.next_at - 1) == 0 && s.state == BERTH_SVC_BACKOFF);
		now = s.next_at;
		CHECK(berth_svc_timer(&s, now) == 1 && s.state == BERTH_SVC_WAITING);
		CHECK(berth_svc_timer(&s, now + 1) == 0 && s.state == BERTH_SVC_WAITING);
	}
	/* A run as long as RestartResetSec (10s) resets the delay. */
	berth_svc_started(&s, now);
	now += S(10);
	berth_svc_exited(&s, u, BERTH_EXIT_SIGNAL, SIGSEGV, now);
	CHECK(s.state == BERTH_SVC_BACKOFF && s.next_at - now == S(1) && s.consecutive == 1);
	/* A late timer still fires. */
	CHECK(berth_svc_timer(&s, now + S(5)) == 1 && s.state == BERTH_SVC_WAITING);
	berth_svc_started(&s, now + S(5));
	berth_svc_exited(&s, u, BERTH_EXIT_CODE, 2, now + S(6));
	CHECK(s.next_at - (now + S(6)) == S(2));
	/* A start failure has no run to measure: the streak goes on. */
	berth_svc_want(&s);
	berth_svc_exited(&s, u, BERTH_EXIT_START, 0, now + S(100));
	CHECK(s.state == BERTH_SVC_BACKOFF && s.consecutive == 3 && s.next_at == now + S(104));
	/* The operator starts it at once from BACKOFF, counters kept. */
	CHECK(berth_svc_want(&s) == 1 && s.state == BERTH_SVC_WAITING && s.consecutive == 3);
	CHECK(berth_svc_timer(&s, now + S(200)) == 0);
	berth_unit_free(u);
}

static void backoff_values(void)
{
	struct berth_unit *u = mk("web", "[Service]\nRestartSec=3s\nRestartMaxDelaySec=3s\n" TAIL);

	CHECK(berth_backoff_us(u, 0) == S(3) && berth_backoff_us(u, 1) == S(3) && berth_backoff_us(u, 50) == S(3));
	berth_unit_free(u);
	u = mk("web", "[Service]\nRestartSec=100ms\nRestartMaxDelaySec=1d\n" TAIL);
	CHECK(berth_backoff_us(u, 1) == 100000 && berth_backoff_us(u, 4) == 800000);
	CHECK(berth_backoff_us(u, 1000000) == S(86400));
	berth_unit_free(u);
}

static void start_limit(void)
{
	struct berth_unit *u = mk("web", "[Unit]\nStartLimitIntervalSec=10s\nStartLimitBurst=3\n" TAIL);
	struct berth_svc s = { 0 };
	int64_t now = S(1000);

	berth_svc_want(&s);
	for (int i = 1; i <= 4; i++) {
		berth_svc_started(&s, now);
		now += S(1) / 10;
		berth_svc_exited(&s, u, BERTH_EXIT_CODE, 1, now);
		if (i < 4) {
			CHECK(s.state == BERTH_SVC_BACKOFF);
			CHECK(berth_svc_timer(&s, s.next_at) == 1);
			now = s.next_at;
		}
	}
	CHECK(s.state == BERTH_SVC_FAILED);
	CHECK_STR(s.reason, "start limit hit");
	CHECK(s.restarts == 3);
	CHECK(berth_svc_timer(&s, now + S(1000)) == 0 && s.state == BERTH_SVC_FAILED);
	/* The operator's start resets the counters. */
	CHECK(berth_svc_want(&s) == 1 && s.state == BERTH_SVC_WAITING);
	CHECK(s.restarts == 0 && s.consecutive == 0 && s.limit_count == 0 && s.reason[0] == '\0');
	berth_svc_started(&s, now);
	berth_svc_exited(&s, u, BERTH_EXIT_CODE, 1, now + 1);
	CHECK(s.state == BERTH_SVC_BACKOFF && s.next_at == now + 1 + S(1));
	/* Exits spread wider than the interval never hit it. */
	for (int i = 0; i < 10; i++) {
		now += S(20);
		berth_svc_started(&s, now);
		berth_svc_exited(&s, u, BERTH_EXIT_CODE, 1, now + 1);
		CHECK(s.state == BERTH_SVC_BACKOFF);
	}
	/* Without StartLimitIntervalSec=, no limit at all. */
	berth_unit_free(u);
	u = mk("web", TAIL);
	memset(&s, 0, sizeof(s));
	berth_svc_want(&s);
	for (int i = 0; i < 100; i++) {
		berth_svc_started(&s, now);
		berth_svc_exited(&s, u, BERTH_EXIT_CODE, 1, now + 1);
		CHECK(s.state == BERTH_SVC_BACKOFF);
		now = s.next_at;
	}
	berth_unit_free(u);
}

static void stop_and_no_restart(void)
{
	struct berth_unit *u = mk("web", "[Service]\nRestart=always\n" TAIL);
	struct berth_svc s = { 0 };

	/* A requested stop is never restarted, whatever the exit. */
	for (int k = 0; k < 5; k++) {
		memset(&s, 0, sizeof(s));
		berth_svc_want(&s);
		berth_svc_started(&s, S(1));
		s.state = BERTH_SVC_STOPPING;
		s.stop_requested = 1;
		berth_svc_exited(&s, u, (enum berth_exit_kind)k, 0, S(2));
		CHECK(s.state == BERTH_SVC_INACTIVE && s.stop_requested == 0);
		CHECK_STR(s.reason, "stopped");
		CHECK(berth_svc_timer(&s, S(1000)) == 0 && s.state == BERTH_SVC_INACTIVE);
	}
	/* The next start clears a stale stop request. */
	s.stop_requested = 1;
	berth_svc_want(&s);
	berth_svc_started(&s, S(3));
	CHECK(s.stop_requested == 0 && s.started_at == S(3));
	CHECK(berth_svc_want(&s) == 0 && s.state == BERTH_SVC_RUNNING);
	berth_unit_free(u);

	u = mk("web", "[Service]\nRestart=no\n" TAIL);
	memset(&s, 0, sizeof(s));
	berth_svc_want(&s);
	berth_svc_started(&s, S(1));
	berth_svc_exited(&s, u, berth_exit_classify(CLD_EXITED, 0), 0, S(2));
	CHECK(s.state == BERTH_SVC_EXITED && s.restarts == 0);
	CHECK_STR(s.reason, "exited");
	CHECK(berth_svc_want(&s) == 1 && s.state == BERTH_SVC_WAITING && s.reason[0] == '\0');
	berth_svc_started(&s, S(3));
	berth_svc_exited(&s, u, berth_exit_classify(CLD_EXITED, 1), 1, S(4));
	CHECK(s.state == BERTH_SVC_FAILED && s.last_status == 1);
	CHECK_STR(s.reason, "exited, Restart= says no");
	berth_unit_free(u);

	/* on-failure: a clean exit stays down, as EXITED. */
	u = mk("web", TAIL);
	memset(&s, 0, sizeof(s));
	berth_svc_want(&s);
	berth_svc_started(&s, S(1));
	berth_svc_exited(&s, u, berth_exit_classify(CLD_KILLED, SIGTERM), SIGTERM, S(2));
	CHECK(s.state == BERTH_SVC_EXITED);
	berth_unit_free(u);
}

/* --- the control protocol --- */

static void proto_round_trip(void)
{
	static const char *const args[] = { "web", "--json", "", "a b" };
	struct berth_request r;
	char out[BERTH_REQ_MAX], why[128];
	size_t n = berth_request_build(out, "status", args, 4);

	CHECK(n == sizeof("berth/1\0status\0web\0--json\0\0a b"));
	CHECK(memcmp(out, "berth/1\0status\0web\0--json\0\0a b", n) == 0);
	CHECK(berth_request_parse(out, n, &r, why, sizeof(why)) == 0);
	CHECK_STR(r.verb, "status");
	CHECK(r.nargs == 4);
	for (int i = 0; i < 4; i++)
		CHECK_STR(r.args[i], args[i]);
	/* No arguments; BERTH_REQ_ARGS arguments, and one more. */
	n = berth_request_build(out, "list", NULL, 0);
	CHECK(n == 13 && berth_request_parse(out, n, &r, why, sizeof(why)) == 0);
	CHECK_STR(r.verb, "list");
	CHECK(r.nargs == 0);
	{
		const char *many[BERTH_REQ_ARGS + 1];

		for (int i = 0; i <= BERTH_REQ_ARGS; i++)
			many[i] = "x";
		n = berth_request_build(out, "start", many, BERTH_REQ_ARGS);
		CHECK(n > 0 && berth_request_parse(out, n, &r, why, sizeof(why)) == 0 && r.nargs == BERTH_REQ_ARGS);
		CHECK(berth_request_build(out, "start", many, BERTH_REQ_ARGS + 1) == 0);
		/* A peer that builds its own message with one field too many. */
		memcpy(out + n, "x", 2);
		CHECK(berth_request_parse(out, n + 2, &r, why, sizeof(why)) < 0);
		CHECK_STR(why, "more than 64 arguments");
	}
	/* Fields are printable ASCII: unit names are, and a byte >= 0x7f could
	 * be a terminal control (C1) once logged. */
	CHECK(berth_request_build(out, "logs", (const char *const[]){ "caf\xc3\xa9" }, 1) == 0);
	CHECK(berth_request_parse("berth/1\0logs\0caf\xc3\xa9", 19, &r, why, sizeof(why)) < 0);
	CHECK_STR(why, "a request field is not printable");
}

#define REJECT(msg, len, reason)                                                          \
	do {                                                                              \
		struct berth_request r_;                                                  \
		char why_[128] = "";                                                      \
		CHECK(berth_request_parse(msg, len, &r_, why_, sizeof(why_)) == -1);      \
		CHECK_STR(why_, reason);                                                  \
	} while (0)

static void proto_rejects(void)
{
	static char big[BERTH_REQ_MAX + 2];
	char many[256];
	size_t n = 0;

	REJECT("berth/2\0status", 15, "protocol version 'berth/2' is not berth/1");
	REJECT("\0status", 8, "protocol version '' is not berth/1");
	REJECT("berth/1\0status", 14, "malformed request");
	REJECT("", 0, "malformed request");
	REJECT("berth/1\0", 8, "no verb");
	REJECT("berth/1\0\0web", 13, "no verb");
	REJECT("berth/1\0sta\ttus", 16, "a request field is not printable");
	REJECT("berth/1\0status\0w\x7f", 18, "a request field is not printable");
	REJECT("berth/1\0status\0w\x1b[m", 20, "a request field is not printable");
	/* The length limit: 4096 bytes are fine, 4097 are not. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "berth/1\0status\0", 15);
	big[BERTH_REQ_MAX - 1] = '\0';
	{
		struct berth_request r;
		char why[64];

		CHECK(berth_request_parse(big, BERTH_REQ_MAX, &r, why, sizeof(why)) == 0);
		CHECK(r.nargs == 1 && strlen(r.args[0]) == BERTH_REQ_MAX - 16);
	}
	big[BERTH_REQ_MAX] = '\0';
	REJECT(big, BERTH_REQ_MAX + 1, "malformed request");
	/* BERTH_REQ_ARGS + 1 arguments. */
	memcpy(many, "berth/1\0start\0", 14);
	n = 14;
	for (int i = 0; i < BERTH_REQ_ARGS + 1; i++) {
		many[n++] = (char)('a' + i % 26);
		many[n++] = '\0';
	}
	REJECT(many, n, "more than 64 arguments");
	/* Build refuses what parse would refuse. */
	{
		char out[BERTH_REQ_MAX];
		char *long_arg = malloc(BERTH_REQ_MAX);

		CHECK(long_arg);
		memset(long_arg, 'a', BERTH_REQ_MAX - 1);
		long_arg[BERTH_REQ_MAX - 1] = '\0';
		CHECK(berth_request_build(out, "status", (const char *const *)&long_arg, 1) == 0);
		long_arg[BERTH_REQ_MAX - 16] = '\0'; /* exactly 4096 bytes in all */
		CHECK(berth_request_build(out, "status", (const char *const *)&long_arg, 1) == BERTH_REQ_MAX);
		long_arg[BERTH_REQ_MAX - 17] = '\0';
		CHECK(berth_request_build(out, "status", (const char *const *)&long_arg, 1) == BERTH_REQ_MAX - 1);
		free(long_arg);
		CHECK(berth_request_build(out, "status", (const char *const[]){ "a\nb" }, 1) == 0);
		CHECK(berth_request_build(out, "sta\x01tus", NULL, 0) == 0);
		CHECK(berth_request_build(out, "status", (const char *const[]){ "\x7f" }, 1) == 0);
	}
}

/* --- logs --- */

/* Each line of TEXT is "YYYY-MM-DDTHH:MM:SS.mmmZ " and a payload; the payloads
 * go to PAY (joined with '\n'), their count is returned, -1 on a bad line. */
static int log_lines(const char *text, char *pay, size_t plen, size_t *maxlen)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ ";
	int n = 0;
	size_t off = 0;

	*maxlen = 0;
	pay[0] = '\0';
	for (const char *s = text; *s; n++) {
		const char *nl = strchr(s, '\n');
		size_t len;

		if (!nl)
			return -1;
		for (size_t i = 0; i < sizeof(shape) - 1; i++)
			if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
				return -1;
		s += sizeof(shape) - 1;
		len = (size_t)(nl - s);
		if (len > *maxlen)
			*maxlen = len;
		if (off + len + 2 > plen)
			return -1;
		memcpy(pay + off, s, len);
		off += len;
		pay[off++] = '\n';
		pay[off] = '\0';
		s = nl + 1;
	}
	return n;
}

static void log_timestamp(void)
{
	char ts[40];
	size_t m;

	berth_log_timestamp(ts, sizeof(ts));
	CHECK(strlen(ts) == 24);
	strcat(ts, " x\n");
	{
		char pay[16];

		CHECK(log_lines(ts, pay, sizeof(pay), &m) == 1);
		CHECK_STR(pay, "x\n");
	}
}

static void log_lines_and_notes(void)
{
	static struct berth_log l;
	static char text[65536], pay[65536];
	struct berth_err err;
	char dir[] = "/tmp/berth-logs-XXXXXX";
	size_t maxlen;
	char *big;

	CHECK(mkdtemp(dir));
	CHECK(berth_log_open(&l, dir, "web", 1 << 20, 2, &err) == 0);
	/* Lines split across writes are joined; an empty line is a line. */
	berth_log_data(&l, "hel", 3);
	berth_log_data(&l, "lo\nwor", 6);
	berth_log_data(&l, "ld\n\nlast", 8);
	CHECK(read_file(dir, "web.log", text, sizeof(text)) > 0);
	CHECK(log_lines(text, pay, sizeof(pay), &maxlen) == 3);
	CHECK_STR(pay, "hello\nworld\n\n");
	berth_log_note(&l, "exited with code %d", 3);
	/* A note does not end a partial line of the container; the flush does. */
	berth_log_flush(&l);
	berth_log_flush(&l);
	CHECK(read_file(dir, "web.log", text, sizeof(text)) > 0);
	CHECK(log_lines(text, pay, sizeof(pay), &maxlen) == 5);
	CHECK_STR(pay, "hello\nworld\n\n[berth] exited with code 3\nlast\n");

	/* 20000 bytes without a newline, then one: lines of at most 8192 bytes. */
	big = malloc(20001);
	CHECK(big);
	memset(big, 'x', 20000);
	big[20000] = '\n';
	berth_log_data(&l, big, 20001);
	/* Exactly 8192 and a newline: one line, no empty one after it. */
	big[8192] = '\n';
	berth_log_data(&l, big, 8193);
	/* The same with the newline in the next read. */
	berth_log_data(&l, big, 8192);
	berth_log_data(&l, "\nz\n", 3);
	free(big);
	CHECK(read_file(dir, "web.log", text, sizeof(text)) > 0);
	CHECK(log_lines(text, pay, sizeof(pay), &maxlen) == 11);
	CHECK(maxlen == BERTH_LOG_LINE_MAX);
	{
		const char *p = pay;
		static const size_t want[] = { 5, 5, 0, 26, 4, 8192, 8192, 3616, 8192, 8192, 1 };

		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			const char *nl = strchr(p, '\n');

			CHECK(nl && (size_t)(nl - p) == want[i]);
			p = nl + 1;
		}
	}
	CHECK(l.lost == 0);
	berth_log_close(&l);
	CHECK(l.fd == -1 && l.dirfd == -1);
	CHECK(rm_tree(dir) == 0);
}

/* Write COUNT lines of 99 bytes (100 with the newline) to a fresh log. */
static int log_fill(const char *dir, int64_t max_size, unsigned max_files, int count)
{
	static struct berth_log l;
	struct berth_err err;
	char line[100];

	if (berth_log_open(&l, dir, "web", max_size, max_files, &err) < 0)
		return -1;
	memset(line, 'y', sizeof(line));
	line[99] = '\n';
	for (int i = 0; i < count; i++)
		berth_log_data(&l, line, sizeof(line));
	berth_log_close(&l);
	return l.lost ? -1 : 0;
}

static void log_rotation(void)
{
	char dir[] = "/tmp/berth-logs-XXXXXX";
	static char text[8192];
	struct stat st;

	CHECK(mkdtemp(dir));
	/* Each line is 125 bytes with its timestamp: 32 fit in 4096 bytes. */
	CHECK(log_fill(dir, 4096, 2, 200) == 0);
	CHECK(exists(dir, "web.log") && exists(dir, "web.log.1") && exists(dir, "web.log.2"));
	CHECK(!exists(dir, "web.log.3") && !exists(dir, "web.log.0"));
	{
		const char *names[] = { "web.log", "web.log.1", "web.log.2" };

		for (int i = 0; i < 3; i++) {
			char p[300];

			snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
			CHECK(stat(p, &st) == 0 && st.st_size > 0 && st.st_size <= 4096);
		}
	}
	/* The archives are full files; the current one has the rest: 200 = 6*32 + 8. */
	CHECK(read_file(dir, "web.log.1", text, sizeof(text)) == 32 * 125);
	CHECK(read_file(dir, "web.log", text, sizeof(text)) == 8 * 125);
	/* More rotations keep the same set. */
	CHECK(log_fill(dir, 4096, 2, 100) == 0);
	CHECK(exists(dir, "web.log.2") && !exists(dir, "web.log.3"));
	CHECK(rm_tree(dir) == 0);

	/* max_files 0: only web.log, truncated when full. */
	CHECK(mkdtemp(strcpy(dir, "/tmp/berth-logs-XXXXXX")));
	CHECK(log_fill(dir, 4096, 0, 100) == 0);
	CHECK(exists(dir, "web.log") && !exists(dir, "web.log.1"));
	CHECK(read_file(dir, "web.log", text, sizeof(text)) == 4 * 125);
	CHECK(rm_tree(dir) == 0);

	/* A missing directory is an error at open. */
	{
		static struct berth_log l;
		struct berth_err err;

		CHECK(berth_log_open(&l, "/nonexistent/berth", "web", 4096, 1, &err) == -1);
	}
}

/* berthctl score: a default unit is SAFE, and each weakening raises the
 * exposure by what systemd's formula says. */
static unsigned exposure_of(const char *text)
{
	struct berth_unit *u = NULL;
	struct berth_score sc;

	if (parse_len(text, strlen(text), &u) < 0) {
		berth_unit_free(u);
		return 999;
	}
	berth_score_unit(u, &sc);
	berth_unit_free(u);
	return sc.exposure;
}

static void score_values(void)
{
	const char *base = "[Container]\nImage=probe\nExec=/bin/true\n";
	char buf[512];
	unsigned def, nonroot, unconfined, weak, limited;

	def = exposure_of(base);
	snprintf(buf, sizeof(buf), "%sUser=1000\n", base);
	nonroot = exposure_of(buf);
	snprintf(buf, sizeof(buf), "%sSeccompProfile=unconfined\n", base);
	unconfined = exposure_of(buf);
	snprintf(buf, sizeof(buf), "%sNoNewPrivileges=no\nReadOnly=no\nAddCapability=NET_ADMIN\n"
		 "[Service]\nRestart=no\nPidsLimit=infinity\n", base);
	weak = exposure_of(buf);
	snprintf(buf, sizeof(buf), "%sUser=1000\nDropCapability=all\n[Service]\nMemoryMax=64M\n", base);
	limited = exposure_of(buf);
	/* Root in its own namespace, 11 capabilities, no memory limit, and
	 * the allow-listed @debug/@privileged/@resources: low, not zero. */
	printf("# score: default %u, non-root %u, limited %u, unconfined %u, weakened %u\n", def, nonroot,
	       limited, unconfined, weak);
	CHECK(def > 0 && def < 50);
	CHECK(nonroot < def);
	CHECK(limited < nonroot);
	CHECK(unconfined > def + 10);
	CHECK(weak > def);
	CHECK(weak <= 100 && unconfined <= 100);
	CHECK_STR(berth_score_label(0), "PERFECT");
	CHECK_STR(berth_score_label(5), "SAFE");
	CHECK_STR(berth_score_label(10), "OK");
	CHECK_STR(berth_score_label(50), "MEDIUM");
	CHECK_STR(berth_score_label(75), "EXPOSED");
	CHECK_STR(berth_score_label(90), "UNSAFE");
	CHECK_STR(berth_score_label(100), "DANGEROUS");
}

static void score_formula(void)
{
	struct berth_unit *u = NULL;
	struct berth_score sc;
	uint64_t bsum = 0, wsum = 0;
	int found_nnp = 0;

	const char *text = "[Container]\nImage=probe\nExec=/bin/true\nNoNewPrivileges=no\n";

	CHECK(parse_len(text, strlen(text), &u) == 0);
	berth_score_unit(u, &sc);
	berth_unit_free(u);
	/* Recompute ceil(sum(ceil(b*w/r)) * 100 / sum(w)) from the findings. */
	for (int i = 0; i < sc.n; i++) {
		if (sc.f[i].badness < 0)
			continue;
		CHECK((unsigned)sc.f[i].badness <= sc.f[i].range);
		bsum += ((uint64_t)sc.f[i].badness * sc.f[i].weight + sc.f[i].range - 1) / sc.f[i].range;
		wsum += sc.f[i].weight;
		if (strcmp(sc.f[i].name, "NoNewPrivileges=") == 0)
			found_nnp = sc.f[i].badness == 1;
	}
	CHECK(found_nnp);
	CHECK(sc.exposure == (unsigned)((bsum * 100 + wsum - 1) / wsum));
}

static void conf_file(void)
{
	struct berth_conf c;
	struct berth_diag d = { 0 };
	const char *good = "[cgroup]\nParentPidsMax = 1234\nDefaultPidsLimit=max\n[userns]\nStart=2000000\nRanges=16\n";
	const char *bad = "[cgroup]\nDefaultPidLimit=5\nParentPidsMax=0\n[userns]\nStart=4294000000\nRanges=20\n"
			  "Start=100000\n[other]\nX=1\n";

	CHECK(berth_conf_parse(good, strlen(good), "/e/berth.conf", &c, &d) == 0);
	CHECK(c.parent_pids_max == 1234 && c.default_pids_limit == -1);
	CHECK(c.pool.start == 2000000 && c.pool.count == 16 * 65536);
	CHECK(berth_conf_parse("", 0, "/e/berth.conf", &c, &d) == 0);
	CHECK(c.default_pids_limit == 512 && c.pool.start == 1000000 && c.pool.count == 1024u * 65536);
	CHECK(berth_conf_parse(bad, strlen(bad), "/e/berth.conf", &c, &d) < 0);
	CHECK_STR(berth_diag_text(&d),
		  "/e/berth.conf:2: unknown key 'DefaultPidLimit' in [cgroup]; did you mean 'DefaultPidsLimit'?\n"
		  "/e/berth.conf:3: ParentPidsMax=0: expected 1..4194304 or \"max\"\n"
		  "/e/berth.conf:7: Start= is already set on line 5\n"
		  "/e/berth.conf:9: unknown key 'X' in [other]\n"
		  "/e/berth.conf:6: [userns] Start= plus Ranges= x 65536 goes beyond host id 4294967295\n");
	/* Keys in error keep their defaults. */
	CHECK(c.parent_pids_max == 4096 && c.pool.start == 1000000);
	berth_diag_free(&d);
	/* [network] Subnet=. */
	CHECK(c.subnet == 0x0a580000u && c.prefix == 16);
	CHECK(berth_conf_parse("[network]\nSubnet=172.30.0.0/24\n", 31, "/e/berth.conf", &c, &d) == 0);
	CHECK(c.subnet == 0xac1e0000u && c.prefix == 24);
	{
		const char *net = "[network]\nSubnet=10.88.0.1/16\n[network]\nSubnet=10.0.0.0/31\n";
		const char *more = "[network]\nSubnet=127.0.0.0/8\n";
		const char *none = "[network]\nSubnet=10.88.0.0\n";

		CHECK(berth_conf_parse(net, strlen(net), "/e/berth.conf", &c, &d) < 0);
		CHECK(berth_conf_parse(more, strlen(more), "/e/c", &c, &d) < 0);
		CHECK(berth_conf_parse(none, strlen(none), "/e/c", &c, &d) < 0);
		CHECK_STR(berth_diag_text(&d),
			  "/e/berth.conf:2: Subnet=10.88.0.1/16: host bits are set (the network address has them all zero)\n"
			  "/e/berth.conf:4: Subnet= is already set on line 2\n"
			  "/e/c:2: Subnet=127.0.0.0/8: not a usable network (0/8, loopback, link-local, multicast or "
			  "reserved)\n"
			  "/e/c:2: Subnet=10.88.0.0: expected NETWORK/PREFIX with a prefix of 8 to 30 (10.88.0.0/16)\n");
		CHECK(c.subnet == 0x0a580000u && c.prefix == 16);
		berth_diag_free(&d);
	}
}

int main(void)
{
	RUN(parse_full_unit);
	RUN(parse_other_keys);
	RUN(parse_defaults);
	RUN(parse_lists);
	RUN(parse_ignored);
	RUN(error_keys);
	RUN(error_sections);
	RUN(error_duplicates);
	RUN(error_lines);
	RUN(error_values);
	RUN(error_whole_unit);
	RUN(error_times_sizes);
	RUN(error_mounts);
	RUN(error_ids_env_host);
	RUN(error_many);
	RUN(error_shared_diag);
	RUN(unit_names);
	RUN(load_files);
	if (tmpdir[0]) {
		if (geteuid() == 0)
			RUN(load_foreign_owner);
		else
			printf("SKIP load_foreign_owner: chown to uid 1 needs root\n");
		RUN(load_images);
		RUN(load_store_images);
		RUN(start_env);
		rm_tree(tmpdir);
	}
	RUN(units_order);
	RUN(units_errors);
	RUN(net_keys);
	RUN(net_errors);
	RUN(net_mode_conflicts);
	RUN(net_units);
	RUN(net_score);
	RUN(restart_table);
	RUN(exit_classify);
	RUN(state_names);
	RUN(crash_loop);
	RUN(backoff_values);
	RUN(start_limit);
	RUN(stop_and_no_restart);
	RUN(proto_round_trip);
	RUN(proto_rejects);
	RUN(log_timestamp);
	RUN(log_lines_and_notes);
	RUN(log_rotation);
	RUN(score_values);
	RUN(score_formula);
	RUN(conf_file);
	return t_failed_total ? 1 : 0;
}
