/* berthd: Berth's supervisor. Reads the unit files, runs each unit's container
 * through a monitor process (monitor.h), applies restart policies, and answers
 * operators on BERTH_SOCKET. One epoll loop: signalfd, the socket and its
 * clients, one connection per monitor, one timerfd for the earliest restart.
 * An idle berthd makes no wakeups. Started and restarted by berth-init. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "authz.h"
#include "conf.h"
#include "idmap.h"
#include "imgstore.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/values.h"
#include "logs.h"
#include "monitor.h"
#include "proto.h"
#include "service.h"
#include "trust.h"
#include "unit.h"

#include "berthd.h"

struct unit_rt *units[MAX_UNITS];
struct berth_authz authz;
int authz_ok;
int epfd = -1, shutting_down;
static int timerfd = -1, listenfd = -1;
static struct berth_conf conf; /* berth.conf; defaults where it is missing or wrong */

/* --- logging: stderr (the console) and the events log --- */

/* events.log: one timestamped line per line of an event, rotated at 1 MiB
 * with 3 older files (events.log.1 is the newest of them). */
#define EVENTS_MAX_SIZE (1 << 20)
#define EVENTS_MAX_FILES 3
static struct berth_log events_log = { .fd = -1, .dirfd = -1 };

static void open_events(int quiet)
{
	struct berth_err err = { 0 };

	if (berth_log_open(&events_log, BERTH_LOG_DIR, "events", EVENTS_MAX_SIZE, EVENTS_MAX_FILES, &err) < 0 &&
	    !quiet)
		fprintf(stderr, "berthd: %s (events go to the console until it works)\n", err.msg);
}

void berthd_event(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(msg) - 2)
		n = (int)sizeof(msg) - 2;
	fprintf(stderr, "berthd: %s\n", msg);
	msg[n++] = '\n';
	if (events_log.dirfd < 0)
		open_events(1); /* /var/log/berth may have come back */
	berth_log_data(&events_log, msg, (size_t)n);
}

/* --- units: the set, its files, its saved state --- */

struct unit_rt *berthd_find(const char *name)
{
	for (int i = 0; i < MAX_UNITS; i++)
		if (units[i] && strcmp(units[i]->name, name) == 0)
			return units[i];
	return NULL;
}

int berthd_slot_of(const struct unit_rt *r)
{
	for (int i = 0; i < MAX_UNITS; i++)
		if (units[i] == r)
			return i;
	return -1;
}

static struct unit_rt *add_unit(const char *name)
{
	for (int i = 0; i < MAX_UNITS; i++)
		if (!units[i]) {
			struct unit_rt *r = calloc(1, sizeof(*r));

			if (!r)
				return NULL;
			snprintf(r->name, sizeof(r->name), "%s", name);
			r->mon_fd = -1;
			units[i] = r;
			return r;
		}
	return NULL;
}

static void drop_unit(struct unit_rt *r)
{
	char path[300];

	snprintf(path, sizeof(path), STATE_DIR "/%s", r->name);
	unlink(path);
	units[berthd_slot_of(r)] = NULL;
	berthd_net_forget(r->name);
	berth_unit_free(r->u);
	berth_unit_free(r->next);
	free(r->errors);
	free(r);
}

/* The bookkeeping a restarted berthd needs, on /run (gone at reboot, as it should be). */
void berthd_save_state(const struct unit_rt *r)
{
	char path[300], tmp[310];
	FILE *f;

	snprintf(path, sizeof(path), STATE_DIR "/%s", r->name);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return;
	fprintf(f, "%s %u %u %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64 " %u %d %d %d %d %d\n",
		berth_svc_state_name(r->svc.state), r->svc.restarts, r->svc.consecutive, r->svc.started_at,
		r->svc.exited_at, r->svc.next_at, r->svc.limit_begin, r->svc.limit_count, r->svc.last_kind,
		r->svc.last_status, r->svc.has_exited, r->svc.stop_requested, r->restart_after_stop);
	fprintf(f, "%s\n", r->svc.reason);
	if (fclose(f) == 0)
		rename(tmp, path);
}

static int load_state(struct unit_rt *r)
{
	char path[300], st[32], reason[128] = "";
	FILE *f;
	int kind, ok;

	snprintf(path, sizeof(path), STATE_DIR "/%s", r->name);
	f = fopen(path, "re");
	if (!f)
		return -1;
	ok = fscanf(f, "%31s %u %u %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %u %d %d %d %d %d\n", st,
		    &r->svc.restarts, &r->svc.consecutive, &r->svc.started_at, &r->svc.exited_at,
		    &r->svc.next_at, &r->svc.limit_begin, &r->svc.limit_count, &kind, &r->svc.last_status,
		    &r->svc.has_exited, &r->svc.stop_requested, &r->restart_after_stop) == 13;
	if (fgets(reason, sizeof(reason), f))
		reason[strcspn(reason, "\n")] = '\0';
	fclose(f);
	if (!ok || berth_svc_state_from_name(st) < 0)
		return -1;
	r->svc.state = (enum berth_svc_state)berth_svc_state_from_name(st);
	r->svc.last_kind = (enum berth_exit_kind)kind;
	snprintf(r->svc.reason, sizeof(r->svc.reason), "%s", reason);
	return 0;
}

void berthd_set_state(struct unit_rt *r, enum berth_svc_state s)
{
	r->svc.state = s;
	berthd_save_state(r);
}

/* Read every unit file: deployed ones first (they win on a name clash).
 * Fills NEWU/NERR by name; returns the count. */
struct loaded {
	char name[BERTH_NAME_MAX];
	struct berth_unit *u;
	char *errors;
	int borrowed; /* U is the running definition of a unit whose new file is invalid */
};

static int read_dir(const char *dir, struct loaded *out, int n)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	const struct berth_unit_load_opts o = { .check_owner = 1 };

	if (!d)
		return n;
	while ((e = readdir(d)) && n < MAX_UNITS) {
		char name[BERTH_NAME_MAX], path[512];
		struct berth_diag diag = { 0 };
		int dup = 0;
		size_t len = strlen(e->d_name);

		if (e->d_name[0] == '.' || len <= strlen(BERTH_UNIT_SUFFIX) ||
		    strcmp(e->d_name + len - strlen(BERTH_UNIT_SUFFIX), BERTH_UNIT_SUFFIX) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (berth_unit_name_of(e->d_name, name, sizeof(name)) < 0) {
			berthd_event("%s: not a valid unit name; ignored", path);
			continue;
		}
		for (int i = 0; i < n; i++)
			dup |= strcmp(out[i].name, name) == 0;
		if (dup)
			continue;
		snprintf(out[n].name, sizeof(out[n].name), "%s", name);
		out[n].u = berth_unit_load(path, &o, &diag);
		out[n].errors = diag.errors ? strdup(berth_diag_text(&diag)) : NULL;
		berth_diag_free(&diag);
		n++;
	}
	closedir(d);
	return n;
}

/* Dependency problems (a missing Requires=, a cycle) make the units involved
 * invalid; the check is repeated on the rest until it passes. */
static void check_deps(struct loaded *l, int n)
{
	for (int round = 0; round < n; round++) {
		struct berth_unit *set[MAX_UNITS];
		size_t order[MAX_UNITS], k = 0;
		struct berth_diag diag = { 0 };
		int removed = 0;

		for (int i = 0; i < n; i++)
			if (l[i].u)
				set[k++] = l[i].u;
		if (berth_units_check(set, k, order, &diag) == 0) {
			berth_diag_free(&diag);
			return;
		}
		for (int i = 0; i < n; i++) {
			const char *t = berth_diag_text(&diag);
			size_t pl;

			if (!l[i].u)
				continue;
			pl = strlen(l[i].u->path);
			for (const char *p = t; *p; p = strchr(p, '\n') + 1) {
				if (strncmp(p, l[i].u->path, pl) == 0 && p[pl] == ':' && !strstr(p, "warning:") &&
				    !l[i].borrowed) {
					const char *eol = strchr(p, '\n');
					struct berth_buf b = { 0 };

					berth_buf_printf(&b, "%s%.*s\n", l[i].errors ? l[i].errors : "", (int)(eol - p), p);
					free(l[i].errors);
					l[i].errors = b.p;
					berth_unit_free(l[i].u);
					l[i].u = NULL;
					removed = 1;
					break;
				}
				if (!strchr(p, '\n'))
					break;
			}
		}
		berth_diag_free(&diag);
		if (!removed)
			return;
	}
}

static int lookup_name(const char *name, int group, uint32_t *id, void *ctx)
{
	(void)ctx;
	if (group) {
		struct group *g = getgrnam(name);

		if (!g)
			return -1;
		*id = g->gr_gid;
	} else {
		struct passwd *p = getpwnam(name);

		if (!p)
			return -1;
		*id = p->pw_uid;
	}
	return 0;
}

static void load_conf(void)
{
	struct berth_diag diag = { 0 };
	char buf[65536];
	size_t len = 0;
	FILE *f = fopen(BERTH_CONF_FILE, "re");

	berth_conf_defaults(&conf);
	if (!f)
		return; /* no file: the defaults */
	len = fread(buf, 1, sizeof(buf), f);
	if (!feof(f) || ferror(f))
		berth_diag_error(&diag, BERTH_CONF_FILE, 0, "larger than %zu bytes or unreadable", sizeof(buf) - 1);
	else
		berth_conf_parse(buf, len, BERTH_CONF_FILE, &conf, &diag);
	fclose(f);
	if (diag.errors)
		berthd_event("%s has errors; the defaults apply for those keys:\n%s", BERTH_CONF_FILE,
		      berth_diag_text(&diag));
	berth_diag_free(&diag);
}

static void load_authz(void)
{
	struct berth_authz a = { 0 };
	struct berth_diag diag = { 0 };
	char *text = NULL;
	size_t len = 0;
	FILE *f = fopen(AUTHZ_FILE, "re");

	if (!f) {
		berthd_event("%s: %s; only root may use the control socket", AUTHZ_FILE, strerror(errno));
		berth_authz_free(&authz);
		authz_ok = 0;
		return;
	}
	{
		char buf[65536];

		len = fread(buf, 1, sizeof(buf), f);
		if (!feof(f) || ferror(f)) {
			/* A policy cut short could grant more than it says. */
			berthd_event("%s: larger than %zu bytes or unreadable; only root may use the control socket",
			      AUTHZ_FILE, sizeof(buf) - 1);
			fclose(f);
			berth_authz_free(&authz);
			authz_ok = 0;
			return;
		}
		text = malloc(len + 1);
		if (text)
			memcpy(text, buf, len);
	}
	fclose(f);
	if (!text)
		return;
	if (berth_authz_parse(text, len, AUTHZ_FILE, lookup_name, NULL, &a, &diag) < 0) {
		berthd_event("%s has errors; only root may use the control socket:\n%s", AUTHZ_FILE,
		      berth_diag_text(&diag));
		berth_authz_free(&authz);
		authz_ok = 0;
	} else {
		berth_authz_free(&authz);
		authz = a;
		authz_ok = 1;
	}
	berth_diag_free(&diag);
	free(text);
}

/* --- starting and stopping --- */

int64_t berthd_now(void)
{
	return berth_now_us();
}

static void arm_timer(void)
{
	int64_t next = INT64_MAX, t = berthd_now();
	struct itimerspec its = { 0 };

	for (int i = 0; i < MAX_UNITS; i++)
		if (units[i] && units[i]->svc.state == BERTH_SVC_BACKOFF && units[i]->svc.next_at < next)
			next = units[i]->svc.next_at;
	if (next != INT64_MAX) {
		int64_t d = next > t ? next - t : 1;

		its.it_value.tv_sec = d / 1000000;
		its.it_value.tv_nsec = (d % 1000000) * 1000;
	}
	timerfd_settime(timerfd, 0, &its, NULL);
}

/* Remove what is left of NAME's container (its cgroup, every process in it). */
static int cleanup_by_name(const char *name, struct berth_err *err)
{
	struct berth_container c;

	berth_container_init(&c);
	snprintf(c.name, sizeof(c.name), "%s", name);
	return berth_container_cleanup(&c, err);
}

static void watch_monitor(struct unit_rt *r)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = ((uint64_t)EV_MONITOR << 32) | (uint32_t)berthd_slot_of(r) };

	epoll_ctl(epfd, EPOLL_CTL_ADD, r->mon_fd, &ev);
}

static void exited(struct unit_rt *r, enum berth_exit_kind kind, int status, int64_t at);
void berthd_want(struct unit_rt *r, int depth);

pid_t berthd_image_helper(const char *sub, const char *const *args, int nargs, int in_fd, int out_fd, int *pidfd,
			  char *msg, size_t mlen)
{
	static char in_use[4 * MAX_UNITS][400];
	const char *argv[16 + 8 * MAX_UNITS + 40];
	char base[16];
	struct berth_err err = { 0 };
	uint32_t b = 0;
	int fresh = 0, n = 0, nu = 0;
	pid_t pid;

	if (berth_idmap_get(BERTH_USERNS_DIR, BERTH_IMAGE_IDMAP_NAME, &conf.pool, &b, &fresh, &err) < 0) {
		snprintf(msg, mlen, "id range for the import sandbox: %s", err.msg);
		return -1;
	}
	snprintf(base, sizeof(base), "%" PRIu32, b);
	argv[n++] = BERTH_IMAGE_HELPER;
	argv[n++] = "--require-signed";
	argv[n++] = conf.require_signed ? "yes" : "no";
	argv[n++] = "--uid-base";
	argv[n++] = base;
	/* Every image a unit definition names, in force or waiting for the
	 * next start: rm and prune leave those alone. */
	for (int i = 0; i < MAX_UNITS; i++) {
		const struct berth_unit *d[2] = { units[i] ? units[i]->u : NULL, units[i] ? units[i]->next : NULL };

		for (int k = 0; k < 2; k++)
			if (d[k] && d[k]->image_digest[0]) {
				snprintf(in_use[nu], sizeof(in_use[nu]), "%s=%s", d[k]->image_digest, units[i]->name);
				argv[n++] = "--in-use";
				argv[n++] = in_use[nu++];
				if (!strchr(d[k]->image_ref, '@')) {
					/* and its tag, which rm must not take away */
					snprintf(in_use[nu], sizeof(in_use[nu]), "ref:%s=%s", d[k]->image_ref,
						 units[i]->name);
					argv[n++] = "--in-use";
					argv[n++] = in_use[nu++];
				}
			}
	}
	argv[n++] = sub;
	for (int i = 0; i < nargs && i < 36; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	pid = fork();
	if (pid < 0) {
		snprintf(msg, mlen, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDONLY | O_CLOEXEC);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (dup2(in_fd >= 0 ? in_fd : null, 0) < 0 || dup2(out_fd, 1) < 0)
			_exit(127);
		/* The client socket is non-blocking for berthd; the helper writes
		 * its answer at its own pace. */
		fcntl(1, F_SETFL, fcntl(1, F_GETFL) & ~O_NONBLOCK);
		execv(BERTH_IMAGE_HELPER, (char *const *)argv);
		_exit(127);
	}
	*pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	return pid;
}

/* A store image must still pass the trust policy when it starts: a key
 * revoked since its import, an expired signature or delegation, or a higher
 * version of its name seen since, refuse it. */
static int image_trusted(const struct berth_unit *u, struct berth_err *err)
{
	struct berth_pubkey root;
	struct berth_imgsig sig;
	char path[600];
	cleanup_free char *bundle = NULL;
	cleanup_close int tfd = -1;
	size_t len;

	char name[129], tag[129], dg[BERTH_DIGEST_LEN + 1], sigfile[160];

	if (!u->image_ref[0] || !conf.require_signed)
		return 0;
	if (berth_image_ref_parse(u->image_ref, name, tag, dg, err) < 0)
		return -1;
	berth_store_sig_file(name, sigfile);
	if (berth_store_path(BERTH_STORE_DIR, "images", u->image_digest, sigfile, path, sizeof(path)) < 0)
		return berth_err_set(err, ENAMETOOLONG, "store path too long");
	bundle = berth_store_read(path, BERTH_TRUST_DOC_MAX, &len, err);
	if (!bundle)
		return berth_err_set(err, EPERM, "image %s is unsigned ([trust] RequireSignedImages=yes)",
				     u->image_ref);
	if (berth_pubkey_load(BERTH_TRUST_ROOT, &root, err) < 0)
		return berth_err_prefix(err, "image %s: the root key", u->image_ref);
	tfd = open(BERTH_TRUST_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (tfd < 0)
		return berth_err_sys(err, "image %s: %s", u->image_ref, BERTH_TRUST_DIR);
	if (berth_trust_check(tfd, &root, bundle, len, u->image_digest, (int64_t)time(NULL), 0, &sig, err) < 0)
		return berth_err_prefix(err, "image %s", u->image_ref);
	if (strcmp(sig.name, name) != 0)
		return berth_err_set(err, EPERM, "image %s: signed as %s, not %s", u->image_ref, sig.name, name);
	return 0;
}

static void spawn(struct unit_rt *r)
{
	struct berth_unit *u;
	struct berth_container c;
	struct berth_monitor_args a;
	struct berth_err err = { 0 };
	struct berth_diag diag = { 0 };
	char **env;
	int fresh = 0, fd = -1;
	pid_t pid;

	if (r->next) {
		berth_unit_free(r->u);
		r->u = r->next;
		r->next = NULL;
	}
	u = r->u;
	c = u->c;
	c.init_path = u->run_init ? "/sbin/init" : NULL;
	if (!u->seen_line[18]) /* no PidsLimit=/TasksMax=: berth.conf's default */
		c.pids_max = conf.default_pids_limit;
	if (!c.nuidmap && !c.ngidmap &&
	    berth_idmap_get(BERTH_USERNS_DIR, r->name, &conf.pool, &c.uid_base, &fresh, &err) < 0) {
		snprintf(r->svc.reason, sizeof(r->svc.reason), "%.191s", err.msg);
		berthd_event("%s: start failed: %s", r->name, err.msg);
		exited(r, BERTH_EXIT_START, 0, berthd_now());
		return;
	}
	if (image_trusted(u, &err) < 0) {
		snprintf(r->svc.reason, sizeof(r->svc.reason), "%.191s", err.msg);
		berthd_event("%s: start failed: %s", r->name, err.msg);
		exited(r, BERTH_EXIT_START, 0, berthd_now());
		return;
	}
	env = berth_unit_start_env(u, &diag);
	if (!env) {
		berthd_event("%s: start failed: %s", r->name, berth_diag_text(&diag));
		berth_diag_free(&diag);
		exited(r, BERTH_EXIT_START, 0, berthd_now());
		return;
	}
	for (int i = 0; i <= BERTH_MAX_ENV; i++) {
		c.env[i] = env[i];
		if (!env[i])
			break;
	}
	if (berthd_net_prepare(r, &c, &err) < 0) {
		free(env);
		snprintf(r->svc.reason, sizeof(r->svc.reason), "%.191s", err.msg);
		berthd_event("%s: start failed: %s", r->name, err.msg);
		exited(r, BERTH_EXIT_START, 0, berthd_now());
		return;
	}
	a = (struct berth_monitor_args){ .c = &c, .hash = u->hash, .log_max_size = u->log_max_size,
					 .log_max_files = u->log_max_files };
	pid = berth_monitor_spawn(&a, &fd, &err);
	free(env);
	if (pid < 0) {
		berthd_event("%s: start failed: %s", r->name, err.msg);
		exited(r, BERTH_EXIT_START, 0, berthd_now());
		return;
	}
	r->mon_fd = fd;
	r->svc.started_at = berthd_now();
	r->svc.stop_requested = 0;
	berthd_set_state(r, BERTH_SVC_STARTING);
	watch_monitor(r);
	berthd_net_changed(); /* its peers learn its name (once this round of events is done) */
}

static void send_stop(struct unit_rt *r)
{
	struct berth_mon_msg m = { .type = BERTH_MON_STOP };

	r->stopped_by_shutdown = shutting_down;
	m.signal = r->u ? r->u->kill_signal : SIGTERM;
	m.timeout_us = r->u ? r->u->timeout_stop_us : 10000000;
	r->svc.stop_requested = 1;
	berthd_set_state(r, BERTH_SVC_STOPPING);
	if (r->mon_fd < 0 || send(r->mon_fd, &m, sizeof(m), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		berthd_event("%s: cannot reach its monitor to stop it", r->name);
}

/* Ask R to stop, whatever it is doing. */
void berthd_stop(struct unit_rt *r)
{
	switch (r->svc.state) {
	case BERTH_SVC_STARTING:
	case BERTH_SVC_RUNNING:
		send_stop(r);
		break;
	case BERTH_SVC_WAITING:
	case BERTH_SVC_BACKOFF:
		berthd_set_state(r, BERTH_SVC_INACTIVE);
		break;
	default:
		break;
	}
}

/* R is wanted (boot, operator): so is everything it Requires=, as with
 * systemd's start jobs; a required unit that failed gets a fresh start. */
void berthd_want(struct unit_rt *r, int depth)
{
	if (berth_svc_want(&r->svc))
		berthd_save_state(r);
	/* WAITING now: a Requires= cycle between old and new definitions ends here. */
	for (size_t i = 0; r->u && depth < 64 && i < r->u->requires.n; i++) {
		struct unit_rt *d = berthd_find(r->u->requires.v[i]);

		if (d && d->u && (d->svc.state == BERTH_SVC_INACTIVE || d->svc.state == BERTH_SVC_EXITED ||
				  d->svc.state == BERTH_SVC_FAILED))
			berthd_want(d, depth + 1);
	}
}

static int active(const struct unit_rt *o)
{
	return o->svc.state != BERTH_SVC_INACTIVE && o->svc.state != BERTH_SVC_EXITED &&
	       o->svc.state != BERTH_SVC_FAILED;
}

static int requires_unit(const struct unit_rt *o, const char *name)
{
	for (size_t k = 0; o->u && k < o->u->requires.n; k++)
		if (strcmp(o->u->requires.v[k], name) == 0)
			return 1;
	return 0;
}

/* Mark in SEEN (by slot) R and every active unit that Requires= it, transitively. */
void berthd_mark_dependents(struct unit_rt *r, unsigned char *seen)
{
	int s = berthd_slot_of(r);

	if (s < 0 || seen[s])
		return;
	seen[s] = 1;
	for (int i = 0; i < MAX_UNITS; i++)
		if (units[i] && units[i] != r && active(units[i]) && requires_unit(units[i], r->name))
			berthd_mark_dependents(units[i], seen);
}

/* Mark R and the units a start of R pulls in (Requires=, not running), transitively. */
void berthd_mark_required(struct unit_rt *r, unsigned char *seen)
{
	int s = berthd_slot_of(r);

	if (s < 0 || seen[s])
		return;
	seen[s] = 1;
	for (size_t i = 0; r->u && i < r->u->requires.n; i++) {
		struct unit_rt *d = berthd_find(r->u->requires.v[i]);

		if (d && !active(d))
			berthd_mark_required(d, seen);
	}
}

/* An operator's stop of R also stops what Requires= it (systemd's
 * propagation of explicit stops); a crash of R does not. */
void berthd_stop_with_dependents(struct unit_rt *r)
{
	static unsigned char seen[MAX_UNITS];

	memset(seen, 0, sizeof(seen));
	berthd_mark_dependents(r, seen);
	for (int i = 0; i < MAX_UNITS; i++)
		if (seen[i] && units[i] != r) {
			berthd_event("%s: stopping: it requires %s", units[i]->name, r->name);
			units[i]->restart_after_stop = 0;
			berthd_stop(units[i]);
		}
	berthd_stop(r);
}

/* The dependencies of R allow it to start: 1 yes, 0 not yet, -1 never (a
 * Requires= target failed or is stopped). */
static int deps_ready(struct unit_rt *r)
{
	const struct berth_strv *lists[3] = { &r->u->requires, &r->u->wants, &r->u->after };

	for (int l = 0; l < 3; l++)
		for (size_t i = 0; i < lists[l]->n; i++) {
			struct unit_rt *d = berthd_find(lists[l]->v[i]);

			if (!d || !d->u)
				continue;
			switch (d->svc.state) {
			case BERTH_SVC_RUNNING:
				if (d->u->type == BERTH_TYPE_ONESHOT)
					return 0;
				break;
			case BERTH_SVC_EXITED:
				break;
			case BERTH_SVC_FAILED:
				if (l == 0)
					return -1;
				break;
			case BERTH_SVC_INACTIVE:
				if (l == 0)
					return -1;
				break;
			default:
				return 0; /* waiting, starting, stopping, backoff */
			}
		}
	return 1;
}

/* Start what can start; during shutdown, stop what nothing depends on any more. */
void berthd_tick(void)
{
	int again = 1;

	while (again) {
		again = 0;
		for (int i = 0; i < MAX_UNITS; i++) {
			struct unit_rt *r = units[i];
			int ready;

			if (!r || r->svc.state != BERTH_SVC_WAITING || shutting_down || !r->u)
				continue;
			ready = deps_ready(r);
			if (ready < 0) {
				snprintf(r->svc.reason, sizeof(r->svc.reason), "a required unit failed or is stopped");
				berthd_event("%s: not started: a unit it requires failed or is stopped", r->name);
				berthd_set_state(r, BERTH_SVC_FAILED);
				again = 1;
			} else if (ready > 0) {
				spawn(r);
				again = 1;
			}
		}
	}
	if (shutting_down) {
		int busy = 0;

		for (int i = 0; i < MAX_UNITS; i++) {
			struct unit_rt *r = units[i];
			int needed = 0;

			if (!r)
				continue;
			if (r->svc.state == BERTH_SVC_WAITING || r->svc.state == BERTH_SVC_BACKOFF) {
				r->stopped_by_shutdown = 1;
				berthd_set_state(r, BERTH_SVC_INACTIVE);
			}
			if (r->mon_fd >= 0)
				busy = 1;
			if (r->svc.state != BERTH_SVC_RUNNING && r->svc.state != BERTH_SVC_STARTING)
				continue;
			/* Reverse order: only once every unit ordered after it has stopped. */
			for (int j = 0; j < MAX_UNITS && !needed; j++) {
				struct unit_rt *o = units[j];
				const struct berth_strv *lists[3];

				if (!o || !o->u || o == r || o->mon_fd < 0)
					continue;
				lists[0] = &o->u->requires;
				lists[1] = &o->u->wants;
				lists[2] = &o->u->after;
				for (int l = 0; l < 3; l++)
					for (size_t k = 0; k < lists[l]->n; k++)
						needed |= strcmp(lists[l]->v[k], r->name) == 0;
			}
			if (!needed)
				send_stop(r);
		}
		if (!busy) {
			/* Units the shutdown stopped are not "stopped by an operator":
			 * if PID 1 starts berthd again (a SIGTERM outside a system
			 * shutdown), they start as at boot. */
			for (int i = 0; i < MAX_UNITS; i++)
				if (units[i] && units[i]->stopped_by_shutdown) {
					char path[300];

					snprintf(path, sizeof(path), STATE_DIR "/%s", units[i]->name);
					unlink(path);
				}
			berthd_net_flush();
			berthd_event("all units stopped; exiting");
			exit(0);
		}
	}
	arm_timer();
}

/* R's container ended on its own or for a restart: the units running in its
 * network namespace (Network=container:R) are left with an empty stack, so
 * they restart too, once R runs again (their implicit Requires=). An
 * operator's stop of R has stopped them already. */
static void restart_joiners(const struct unit_rt *r)
{
	for (int i = 0; i < MAX_UNITS; i++) {
		struct unit_rt *o = units[i];

		if (!o || !o->u || o->u->net.mode != BERTH_NET_CONTAINER || strcmp(o->u->net.container, r->name) != 0 ||
		    (o->svc.state != BERTH_SVC_RUNNING && o->svc.state != BERTH_SVC_STARTING))
			continue;
		berthd_event("%s: restarting: the network it joined (%s) ended", o->name, r->name);
		o->restart_after_stop = 1;
		berthd_stop(o);
	}
}

/* A run of R ended (or never began). */
static void exited(struct unit_rt *r, enum berth_exit_kind kind, int status, int64_t at)
{
	int restart = r->restart_after_stop;

	r->pid = 0;
	r->restart_after_stop = 0;
	berthd_net_stopped(r);
	if ((!r->svc.stop_requested || restart) && !shutting_down)
		restart_joiners(r);
	if (!r->u) {
		if (r->removed) {
			berthd_event("%s: removed", r->name);
			drop_unit(r);
			return;
		}
		berthd_set_state(r, BERTH_SVC_INACTIVE);
		return;
	}
	{
		char why[sizeof(r->svc.reason)];

		/* A start failure stays visible while the unit backs off. */
		memcpy(why, r->svc.reason, sizeof(why));
		berth_svc_exited(&r->svc, r->u, kind, status, at);
		if (kind == BERTH_EXIT_START && r->svc.state == BERTH_SVC_BACKOFF)
			memcpy(r->svc.reason, why, sizeof(why));
	}
	if (r->svc.state == BERTH_SVC_FAILED)
		berthd_event("%s: failed (%s)", r->name, r->svc.reason);
	else if (r->svc.state == BERTH_SVC_BACKOFF)
		/* The policy's delay, counted from the exit: the time berthd took
		 * to see the exit (network teardown included) is not subtracted. */
		berthd_event("%s: restarting in %lld ms (restart %u)", r->name,
		      (long long)((r->svc.next_at - at) / 1000), r->svc.restarts);
	if (r->removed) {
		berthd_event("%s: removed", r->name);
		drop_unit(r);
		return;
	}
	if (restart && !shutting_down)
		berthd_want(r, 0);
	berthd_save_state(r);
}

/* Once per berthd start: the moment every unit that starts by itself has
 * started or settled otherwise (failed, exited, stopped), with the time since
 * boot, so that boot can be measured from the system's own records
 * (docs/benchmarks.md). A unit that keeps restarting, or waits for its
 * requirements, delays it. */
static void report_ready(void)
{
	static int reported;
	int running = 0, done = 0, failed = 0;

	if (reported || shutting_down)
		return;
	for (int i = 0; i < MAX_UNITS; i++) {
		struct unit_rt *r = units[i];

		if (!r || !r->u || !r->u->autostart || r->removed)
			continue;
		if (r->svc.state == BERTH_SVC_RUNNING)
			running++;
		else if (r->svc.state == BERTH_SVC_EXITED || r->svc.state == BERTH_SVC_INACTIVE)
			done++;
		else if (r->svc.state == BERTH_SVC_FAILED)
			failed++;
		else
			return;
	}
	reported = 1;
	berthd_event("ready: %d units running, %d done, %d failed, %.3f s after boot", running, done, failed,
		     (double)berthd_now() / 1e6);
}

static void on_monitor(struct unit_rt *r)
{
	struct berth_mon_msg m;
	ssize_t n = recv(r->mon_fd, &m, sizeof(m), MSG_DONTWAIT);

	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != (ssize_t)sizeof(m) || m.type != BERTH_MON_STATE) {
		/* The monitor died: the container went with it (PDEATHSIG during
		 * setup) or is orphaned; its cgroup is killed either way. */
		struct berth_err err = { 0 };

		berthd_event("%s: lost its monitor", r->name);
		epoll_ctl(epfd, EPOLL_CTL_DEL, r->mon_fd, NULL);
		close(r->mon_fd);
		r->mon_fd = -1;
		cleanup_by_name(r->name, &err);
		if (r->svc.state == BERTH_SVC_STARTING || r->svc.state == BERTH_SVC_RUNNING ||
		    r->svc.state == BERTH_SVC_STOPPING)
			exited(r, BERTH_EXIT_SIGNAL, SIGKILL, berthd_now());
		berthd_tick();
		return;
	}
	m.msg[sizeof(m.msg) - 1] = '\0';
	switch (m.phase) {
	case BERTH_MON_RUNNING:
		r->pid = m.pid;
		if (r->svc.state == BERTH_SVC_STARTING) {
			berth_svc_started(&r->svc, m.started_at);
			berthd_save_state(r);
			berthd_event("%s: started, pid %d", r->name, m.pid);
		}
		break;
	case BERTH_MON_START_FAILED:
	case BERTH_MON_EXITED: {
		struct berth_mon_msg rel = { .type = BERTH_MON_RELEASE };
		enum berth_exit_kind kind = m.phase == BERTH_MON_START_FAILED ? BERTH_EXIT_START
						: m.timed_out ? BERTH_EXIT_TIMEOUT
							      : berth_exit_classify(m.code, m.status);

		if (m.phase == BERTH_MON_START_FAILED) {
			berthd_event("%s", m.msg); /* "NAME: start failed at STEP: ..." */
			snprintf(r->svc.reason, sizeof(r->svc.reason), "%.191s", m.msg);
		} else {
			berthd_event("%s: %s %d%s%s", r->name, m.code == CLD_EXITED ? "exited with code" : "killed by signal",
				     m.status, m.timed_out ? " after the stop timeout" : "",
				     m.oom_kills > 0 ? " (out of memory: MemoryMax)" : "");
		}
		if (send(r->mon_fd, &rel, sizeof(rel), MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
			/* It exits when the next berthd releases it. */
		}
		epoll_ctl(epfd, EPOLL_CTL_DEL, r->mon_fd, NULL);
		close(r->mon_fd);
		r->mon_fd = -1;
		if (m.phase == BERTH_MON_EXITED)
			r->svc.started_at = m.started_at;
		exited(r, kind, m.phase == BERTH_MON_EXITED ? m.status : 0,
		       m.phase == BERTH_MON_EXITED ? m.exited_at : berthd_now());
		break;
	}
	default:
		break;
	}
	berthd_tick();
}

/* --- reload and the first read --- */

struct berth_buf reload_report;

void berthd_reload(int boot)
{
	static struct loaded l[MAX_UNITS];
	int n = read_dir(BERTH_UNITS_DEPLOYED, l, 0);

	n = read_dir(BERTH_UNITS_BAKED, l, n);
	/* A unit whose new file is invalid keeps running on its old definition:
	 * it still counts for the others' dependencies. */
	for (int j = 0; j < n; j++) {
		struct unit_rt *r = berthd_find(l[j].name);

		l[j].borrowed = !l[j].u && r && r->u;
		if (l[j].borrowed)
			l[j].u = r->u;
	}
	check_deps(l, n);
	for (int j = 0; j < n; j++)
		if (l[j].borrowed) {
			l[j].u = NULL;
			l[j].borrowed = 0;
		}
	berth_buf_free(&reload_report);
	load_conf();
	load_authz();
	/* Units whose file is gone. */
	for (int i = 0; i < MAX_UNITS; i++) {
		struct unit_rt *r = units[i];
		int present = 0;

		for (int j = 0; r && j < n; j++)
			present |= strcmp(l[j].name, r->name) == 0;
		if (!r || present)
			continue;
		berth_buf_printf(&reload_report, "%s: removed\n", r->name);
		if (r->mon_fd >= 0) {
			r->removed = 1;
			berthd_stop(r);
		} else {
			berthd_event("%s: removed", r->name);
			drop_unit(r);
		}
	}
	/* Wanted after the loop, once every unit is known (Requires= pulls in
	 * units that may come later in directory order). */
	struct unit_rt *to_want[MAX_UNITS];
	int nwant = 0;

	for (int j = 0; j < n; j++) {
		struct unit_rt *r = berthd_find(l[j].name);

		if (l[j].errors)
			berth_buf_printf(&reload_report, "%s", l[j].errors);
		if (r)
			r->removed = 0; /* its file is back */
		if (!r) {
			r = add_unit(l[j].name);
			if (!r) {
				berth_unit_free(l[j].u);
				free(l[j].errors);
				continue;
			}
			if (!boot)
				berth_buf_printf(&reload_report, "%s: added\n", r->name);
			r->u = l[j].u;
			r->errors = l[j].errors;
			if (r->u && (boot ? load_state(r) < 0 : 1) && r->u->autostart)
				to_want[nwant++] = r;
			if (l[j].errors)
				berthd_event("%s: invalid unit file:\n%s", r->name, l[j].errors);
			continue;
		}
		free(r->errors);
		r->errors = l[j].errors;
		if (!l[j].u) {
			/* Invalid: the old definition keeps running. */
			berthd_event("%s: invalid unit file; keeping the running definition:\n%s", r->name, l[j].errors);
			continue;
		}
		if (r->u && r->u->hash == l[j].u->hash && !r->next) {
			berth_unit_free(l[j].u);
			continue;
		}
		berth_buf_printf(&reload_report, "%s: changed\n", r->name);
		berth_unit_free(r->next);
		r->next = l[j].u;
		if (!r->u || r->mon_fd < 0) {
			/* Not running: the new definition is in force at once
			 * (dependencies, status, the next start). */
			berth_unit_free(r->u);
			r->u = r->next;
			r->next = NULL;
		}
		if (r->mon_fd >= 0) {
			berthd_event("%s: unit file changed; restarting", r->name);
			r->restart_after_stop = 1;
			berthd_stop(r);
		} else if (r->svc.state == BERTH_SVC_INACTIVE && r->u->autostart && !r->svc.has_exited) {
			to_want[nwant++] = r;
		}
	}
	for (int i = 0; i < nwant; i++)
		berthd_want(to_want[i], 0);
	if (!boot)
		berthd_tick(); /* at boot: after adopt() has found the running containers */
}

/* After a berthd restart: find the monitors the previous one left. */
static void adopt(void)
{
	DIR *d = opendir(BERTH_MON_DIR);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char name[BERTH_NAME_MAX];
		size_t len = strlen(e->d_name);
		struct berth_mon_msg m;
		struct berth_err err = { 0 };
		struct unit_rt *r;
		int fd;

		if (len <= 5 || strcmp(e->d_name + len - 5, ".sock") != 0 || len - 5 >= sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(len - 5), e->d_name);
		fd = berth_monitor_connect(name, &m, &err);
		if (fd < 0 && err.errnum != ECONNREFUSED && err.errnum != ENOENT) {
			/* Something answered but not as a monitor should: leave the
			 * socket; the unit's run counts as unknown below. */
			char why[BERTH_ERR_MSG + 64];

			berthd_event("%s", berth_err_str(&err, why, sizeof(why)));
			continue;
		}
		if (fd < 0) {
			char path[300];

			char why[BERTH_ERR_MSG + 64];

			berthd_event("%s; removing its stale socket", berth_err_str(&err, why, sizeof(why)));
			snprintf(path, sizeof(path), BERTH_MON_DIR "/%s", e->d_name);
			unlink(path);
			continue;
		}
		r = berthd_find(name);
		if (!r) {
			/* Its unit file went away while berthd was down. */
			r = add_unit(name);
			if (!r) {
				close(fd);
				continue;
			}
			r->removed = 1;
		}
		r->mon_fd = fd;
		watch_monitor(r);
		if (m.type == 0) {
			/* Alive but busy: its state comes through on_monitor; its
			 * network's rules from now on. */
			berthd_net_adopted(r);
			berthd_event("%s: its monitor is busy; waiting for its state", name);
			if (r->svc.state != BERTH_SVC_STOPPING)
				r->svc.state = BERTH_SVC_STARTING;
			continue;
		}
		r->pid = m.pid;
		berthd_net_adopted(r);
		berthd_event("%s: re-adopted its container (pid %d, %u restarts so far)", name, m.pid, r->svc.restarts);
		if (r->svc.state != BERTH_SVC_STOPPING)
			r->svc.state = m.phase == BERTH_MON_RUNNING ? BERTH_SVC_RUNNING : BERTH_SVC_STARTING;
		r->svc.started_at = m.started_at;
		berthd_save_state(r);
		if (m.phase == BERTH_MON_EXITED || m.phase == BERTH_MON_START_FAILED) {
			/* It ended meanwhile: the restart policy still applies. */
			struct berth_mon_msg rel = { .type = BERTH_MON_RELEASE };
			enum berth_exit_kind kind = m.phase == BERTH_MON_START_FAILED ? BERTH_EXIT_START
							: m.timed_out ? BERTH_EXIT_TIMEOUT
								      : berth_exit_classify(m.code, m.status);

			berthd_event("%s: ended while berthd was away (%s %d)", name,
			      m.code == CLD_EXITED ? "exit code" : "signal", m.status);
			send(fd, &rel, sizeof(rel), MSG_NOSIGNAL | MSG_DONTWAIT);
			epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
			close(fd);
			r->mon_fd = -1;
			exited(r, kind, m.status, m.phase == BERTH_MON_EXITED ? m.exited_at : berthd_now());
		} else if (r->removed) {
			berthd_stop(r);
		} else if (r->u && r->u->hash != m.hash) {
			berthd_event("%s: unit file changed while berthd was away; restarting", name);
			r->restart_after_stop = 1;
			berthd_stop(r);
		} else if (r->svc.state == BERTH_SVC_STOPPING) {
			send_stop(r);
		}
	}
	if (d)
		closedir(d);
	/* Units that were running under a monitor that is gone. */
	for (int i = 0; i < MAX_UNITS; i++) {
		struct unit_rt *r = units[i];

		if (!r || r->mon_fd >= 0)
			continue;
		if (r->svc.state == BERTH_SVC_RUNNING || r->svc.state == BERTH_SVC_STARTING ||
		    r->svc.state == BERTH_SVC_STOPPING) {
			struct berth_err err = { 0 };

			/* Whatever is left of the container has no monitor: end it. */
			berthd_event("%s: its monitor is gone; the run counts as killed", r->name);
			if (cleanup_by_name(r->name, &err) < 0)
				berthd_event("%s: %s", r->name, err.msg);
			berthd_net_adopted(r); /* so that its link and record go with it */
			exited(r, BERTH_EXIT_SIGNAL, SIGKILL, berthd_now());
		}
	}
}

static int watch(int fd, int kind)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)kind << 32 };

	return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

static void on_signal(int sfd)
{
	struct signalfd_siginfo si;

	while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD: {
			int st;
			pid_t pid;

			/* Monitors (their containers' exits come over their
			 * sockets) and exec helpers. */
			while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
				berthd_control_reaped(pid, st);
			break;
		}
		case SIGHUP:
			berthd_event("SIGHUP: reloading");
			berthd_reload(0);
			break;
		case SIGTERM:
		case SIGINT:
			if (!shutting_down)
				berthd_event("stopping every unit (signal %u)", si.ssi_signo);
			shutting_down = 1;
			break;
		default:
			break;
		}
	}
	berthd_tick();
}

static int setup_dirs(void)
{
	struct berth_err err = { 0 };
	const char *dirs[] = { BERTH_RUN_DIR, STATE_DIR, BERTH_MON_DIR, BERTH_LOG_DIR, BERTH_UNITS_DEPLOYED,
			       BERTH_USERNS_DIR };

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (berth_mkdir_p(dirs[i], i == 0 ? 0755 : 0700, &err) < 0) {
			fprintf(stderr, "berthd: %s\n", err.msg);
			return -1;
		}
	/* The log directory is read through berthd (authorized): 0700. The
	 * monitors' cgroup lives beside berthd's, so PID 1's cleanup of
	 * system/berthd after a crash never reaches them. */
	if (mkdir(BERTH_MON_CGROUP, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "berthd: mkdir %s: %s\n", BERTH_MON_CGROUP, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	sigset_t mask;
	int sfd;

	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		puts("berthd " BERTH_VERSION);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "usage: berthd [--version]\n(started by berth-init; see berthd(8))\n");
		return 2;
	}
	if (geteuid() != 0) {
		fprintf(stderr, "berthd: must run as root\n");
		return 1;
	}
	umask(022);
	berth_monitor_set_cmdline_area(argv[0], (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) - argv[0]));
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (setup_dirs() < 0)
		return 1;
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
	epfd = epoll_create1(EPOLL_CLOEXEC);
	timerfd = timerfd_create(CLOCK_BOOTTIME, TFD_CLOEXEC | TFD_NONBLOCK);
	listenfd = berthd_control_open();
	if (sfd < 0 || epfd < 0 || timerfd < 0 || listenfd < 0) {
		fprintf(stderr, "berthd: setup: %s\n", strerror(errno));
		return 1;
	}
	watch(sfd, EV_SIGNAL);
	watch(listenfd, EV_LISTEN);
	watch(timerfd, EV_TIMER);
	open_events(0);
	berthd_event("berthd %s starting, %.3f s after boot", BERTH_VERSION, (double)berthd_now() / 1e6);
	berthd_reload(1);
	berthd_net_start(&conf);
	adopt();
	berthd_net_update();
	berthd_tick();
	for (;;) {
		struct epoll_event evs[32];
		int n;

		/* The hosts files and rules once per round of events (and after
		 * the starts at boot), not once per start or stop: a reload that
		 * starts N units would otherwise write N files N times. Each start's
		 * own rules are in force before it runs (berthd_net_prepare). */
		berthd_net_flush();
		report_ready();
		n = epoll_wait(epfd, evs, 32, -1);

		for (int i = 0; i < n; i++) {
			int kind = (int)(evs[i].data.u64 >> 32), idx = (int)(uint32_t)evs[i].data.u64;

			switch (kind) {
			case EV_SIGNAL:
				on_signal(sfd);
				break;
			case EV_LISTEN:
				berthd_control_accept(listenfd);
				break;
			case EV_CLIENT:
				berthd_control_client(idx);
				break;
			case EV_MONITOR:
				if (units[idx] && units[idx]->mon_fd >= 0)
					on_monitor(units[idx]);
				break;
			case EV_TIMER: {
				uint64_t ticks;
				int64_t t = berthd_now();

				if (read(timerfd, &ticks, sizeof(ticks)) < 0) {
					/* spurious: rearmed below */
				}
				for (int k = 0; k < MAX_UNITS; k++)
					if (units[k] && berth_svc_timer(&units[k]->svc, t))
						berthd_save_state(units[k]);
				berthd_tick();
				break;
			}
			}
		}
	}
}
