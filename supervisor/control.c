/* berthd's control socket (proto.h): accepting clients, reading one request
 * each, authorizing it against authz.conf (SO_PEERCRED, SO_PEERGROUPS) and
 * answering. Every verb that changes something goes through berthd.c. */
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
#include <sys/timerfd.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "authz.h"
#include "cgroup.h"
#include "conf.h"
#include "container.h"
#include "idmap.h"
#include "lib/buf.h"
#include "lib/cleanup.h"
#include "lib/values.h"
#include "logs.h"
#include "monitor.h"
#include "proto.h"
#include "service.h"
#include "berthd.h"
#include "unit.h"

#define MAX_CLIENTS 64

#define MAX_EXEC 16
#define MAX_EXEC_USER 4
#define MAX_PASSED_FDS 3

struct client {
	int fd;          /* -1: free (or an exec whose client went away) */
	int64_t since;
	pid_t exec_pid;  /* > 0: an exec session; the reply waits for this helper */
	int exec_pidfd;
	uid_t exec_uid;
	int image;       /* the helper is berth-image: it sends the end message itself */
};

static struct client clients[MAX_CLIENTS] = { [0 ... MAX_CLIENTS - 1] = { .fd = -1, .exec_pidfd = -1 } };

static void reply_chunks(int fd, const char *data, size_t len)
{
	char msg[BERTH_REPLY_CHUNK + 1];

	for (size_t off = 0; off < len;) {
		size_t n = len - off < BERTH_REPLY_CHUNK ? len - off : BERTH_REPLY_CHUNK;

		msg[0] = 'D';
		memcpy(msg + 1, data + off, n);
		if (send(fd, msg, n + 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
			return;
		off += n;
	}
}

static void reply_end(int fd, enum berth_status st, const char *text, int pass_fd)
{
	char msg[1024];
	size_t n;
	char ctl[CMSG_SPACE(sizeof(int))];
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	msg[0] = 'E';
	msg[1] = (char)st;
	n = (size_t)snprintf(msg + 2, sizeof(msg) - 2, "%s", text);
	if (n > sizeof(msg) - 3)
		n = sizeof(msg) - 3;
	iov = (struct iovec){ msg, n + 2 };
	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		memset(ctl, 0, sizeof(ctl));
		mh.msg_control = ctl;
		mh.msg_controllen = sizeof(ctl);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

static void json_unit(struct berth_buf *b, struct unit_rt *r, int detail)
{
	int64_t t = berthd_now();
	int live = r->svc.state == BERTH_SVC_RUNNING || r->svc.state == BERTH_SVC_STOPPING;

	berth_buf_printf(b, "{\"name\":");
	berth_buf_json_str(b, r->name);
	berth_buf_printf(b, ",\"state\":\"%s\",\"pid\":%d", berth_svc_state_name(r->svc.state), live ? r->pid : 0);
	berth_buf_printf(b, ",\"description\":");
	berth_buf_json_str(b, r->u ? r->u->description : "");
	if (!detail) {
		berth_buf_printf(b, "}");
		return;
	}
	berth_buf_printf(b, ",\"uptime_us\":%" PRId64 ",\"restarts\":%u", live ? t - r->svc.started_at : 0,
			 r->svc.restarts);
	if (r->svc.has_exited)
		berth_buf_printf(b, ",\"last_exit\":{\"kind\":\"%s\",\"status\":%d,\"ago_us\":%" PRId64 "}",
				 (const char *[]){ "clean", "code", "signal", "timeout", "start-failed" }[r->svc.last_kind],
				 r->svc.last_status, t - r->svc.exited_at);
	if (r->svc.state == BERTH_SVC_BACKOFF)
		berth_buf_printf(b, ",\"restart_in_us\":%" PRId64, r->svc.next_at > t ? r->svc.next_at - t : 0);
	berth_buf_printf(b, ",\"pids_current\":%" PRId64 ",\"pids_max\":%" PRId64 ",\"memory_bytes\":%" PRId64
			    ",\"cpu_usec\":%" PRId64,
			 live ? berth_cgroup_read(r->name, "pids.current", NULL) : -1,
			 live ? berth_cgroup_read(r->name, "pids.max", NULL)
			      : (r->u && r->u->c.pids_max < 0 ? -2 : r->u ? r->u->c.pids_max : -1),
			 live ? berth_cgroup_read(r->name, "memory.current", NULL) : -1,
			 live ? berth_cgroup_read(r->name, "cpu.stat", "usage_usec ") : -1);
	berth_buf_printf(b, ",\"reason\":");
	berth_buf_json_str(b, r->svc.reason);
	berth_buf_printf(b, ",\"file\":");
	berth_buf_json_str(b, r->u ? r->u->path : "");
	berth_buf_printf(b, ",\"restart_pending\":%s,\"config_errors\":", r->next ? "true" : "false");
	berth_buf_json_str(b, r->errors ? r->errors : "");
	berth_buf_printf(b, "}");
}

static void json_strv(struct berth_buf *b, const char *key, char *const *v)
{
	berth_buf_printf(b, ",\"%s\":[", key);
	for (size_t i = 0; v && v[i]; i++) {
		berth_buf_printf(b, "%s", i ? "," : "");
		berth_buf_json_str(b, v[i]);
	}
	berth_buf_printf(b, "]");
}

static void json_inspect(struct berth_buf *b, const struct unit_rt *r, const struct berth_unit *u)
{
	const struct berth_container *c = &u->c;
	char t[4][32];

	berth_buf_printf(b, "{\"name\":");
	berth_buf_json_str(b, u->name);
	berth_buf_printf(b, ",\"file\":");
	berth_buf_json_str(b, u->path);
	berth_buf_printf(b, ",\"rootfs\":");
	berth_buf_json_str(b, c->rootfs);
	json_strv(b, "argv", u->argv);
	json_strv(b, "environment", u->envp);
	json_strv(b, "after", u->after.v);
	json_strv(b, "requires", u->requires.v);
	json_strv(b, "wants", u->wants.v);
	berth_buf_printf(b, ",\"user\":%u,\"group\":%u,\"hostname\":", (unsigned)c->uid, (unsigned)c->gid);
	berth_buf_json_str(b, c->hostname);
	berth_buf_printf(b, ",\"workdir\":");
	berth_buf_json_str(b, c->workdir[0] ? c->workdir : "/");
	berth_buf_printf(b, ",\"read_only\":%s,\"no_new_privileges\":%s,\"run_init\":%s,\"seccomp\":",
			 c->readonly ? "true" : "false", c->no_new_privs ? "true" : "false",
			 u->run_init ? "true" : "false");
	berth_buf_json_str(b, c->seccomp == BERTH_SECCOMP_DEFAULT      ? "default"
			      : c->seccomp == BERTH_SECCOMP_UNCONFINED ? "unconfined"
								       : c->seccomp_profile);
	berth_buf_printf(b, ",\"capability_add\":\"%#llx\",\"capability_drop\":\"%#llx\"",
			 (unsigned long long)c->cap_add, (unsigned long long)c->cap_drop);
	berth_buf_printf(b, ",\"volumes\":[");
	for (int i = 0; i < c->nvolumes; i++) {
		berth_buf_printf(b, "%s{\"source\":", i ? "," : "");
		berth_buf_json_str(b, c->volumes[i].source);
		berth_buf_printf(b, ",\"target\":");
		berth_buf_json_str(b, c->volumes[i].target);
		berth_buf_printf(b, ",\"writable\":%s}", c->volumes[i].writable ? "true" : "false");
	}
	berth_format_time_us(u->restart_us, t[0], sizeof(t[0]));
	berth_format_time_us(u->restart_max_us, t[1], sizeof(t[1]));
	berth_format_time_us(u->timeout_stop_us, t[2], sizeof(t[2]));
	berth_format_time_us(u->start_limit_interval_us, t[3], sizeof(t[3]));
	berth_buf_printf(b, "],\"type\":\"%s\",\"restart\":\"%s\",\"restart_sec\":\"%s\","
			    "\"restart_max_delay_sec\":\"%s\",\"timeout_stop_sec\":\"%s\",\"kill_signal\":%d,"
			    "\"start_limit_interval_sec\":\"%s\",\"start_limit_burst\":%u,\"pids_max\":%" PRId64
			    ",\"memory_max\":%" PRId64 ",\"cpu_quota_us\":%" PRId64 ",\"cpu_weight\":%d"
			    ",\"log_max_size\":%" PRId64 ",\"log_max_files\":%u,\"autostart\":%s",
			 u->type == BERTH_TYPE_ONESHOT ? "oneshot" : "simple", berth_restart_name(u->restart), t[0],
			 t[1], t[2], u->kill_signal, t[3], u->start_limit_burst, c->pids_max, c->memory_max,
			 c->cpu_quota_us, c->cpu_weight, u->log_max_size, u->log_max_files,
			 u->autostart ? "true" : "false");
	berthd_net_json(b, r, u);
	berth_buf_printf(b, "}");
}

/* Denials are logged, but at most 20 per 10 s: a loop of denied requests
 * must not flood the console and /var (the rest are counted). */
static void denied_event(const struct berth_peer *p, const char *verb, const char *unit)
{
	static int64_t window;
	static unsigned logged, suppressed;
	int64_t t = berthd_now();

	if (t - window > 10000000) {
		if (suppressed)
			berthd_event("denied: %u more denials in the last 10 s not logged", suppressed);
		window = t;
		logged = suppressed = 0;
	}
	if (++logged > 20) {
		suppressed++;
		return;
	}
	if (unit)
		berthd_event("denied: uid %u: %.32s %.64s", (unsigned)p->uid, verb, unit);
	else
		berthd_event("denied: uid %u: %.32s", (unsigned)p->uid, verb);
}

static int allowed(const struct berth_peer *p, enum berth_verb v, const char *unit)
{
	if (p->uid == 0)
		return 1;
	return authz_ok && berth_authz_allowed(&authz, p, v, unit);
}

/* A request on R also acts on other units (a stop on what requires R, a start
 * on what R requires): the peer needs VERB on each. The first it lacks, or NULL. */
static const char *also_denied(const struct berth_peer *peer, enum berth_verb v, struct unit_rt *r)
{
	static unsigned char seen[MAX_UNITS];

	memset(seen, 0, sizeof(seen));
	if (v == BERTH_VERB_STOP || v == BERTH_VERB_RESTART)
		berthd_mark_dependents(r, seen);
	if (v == BERTH_VERB_START || v == BERTH_VERB_RESTART)
		berthd_mark_required(r, seen);
	for (int i = 0; i < MAX_UNITS; i++)
		if (seen[i] && units[i] != r && !allowed(peer, v, units[i]->name))
			return units[i]->name;
	return NULL;
}

/* Pass the first of PATHS[0..N) that exists, opened read-only, to the client;
 * else answer why not. */
static void file_reply(int fd, const char *const *paths, int n)
{
	char msg[400];
	cleanup_close int f = -1;
	int i;

	for (i = 0; i < n; i++) {
		f = open(paths[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (f >= 0 || errno != ENOENT)
			break;
	}
	if (f < 0) {
		i -= i == n;
		snprintf(msg, sizeof(msg), "%s: %s", paths[i], strerror(errno));
		reply_end(fd, errno == ENOENT ? BERTH_NOT_FOUND : BERTH_FAILED, msg, -1);
	} else {
		reply_end(fd, BERTH_OK, paths[i], f);
	}
}

/* The log file of NAME (a unit, or "events"). */
static void log_reply(int fd, const char *name)
{
	char path[300];
	const char *paths[1] = { path };

	snprintf(path, sizeof(path), BERTH_LOG_DIR "/%s.log", name);
	file_reply(fd, paths, 1);
}

static void rm_reply(int fd, const char *name, const struct berth_peer *peer)
{
	struct berth_buf b = { 0 };
	char msg[512];
	int st = berthd_rm(name, (unsigned)peer->uid, &b, msg, sizeof(msg));

	reply_chunks(fd, b.p ? b.p : "", b.len);
	reply_end(fd, (enum berth_status)st, msg, -1);
	berth_buf_free(&b);
}

/* Exec sessions running, all of them or UID's. */
static int exec_count(int all, uid_t uid)
{
	int n = 0;

	for (int i = 0; i < MAX_CLIENTS; i++)
		n += clients[i].exec_pid > 0 && (all || clients[i].exec_uid == uid);
	return n;
}

/* berthctl exec NAME CMD...: the client passed its three standard streams. */
static void start_exec(struct client *c, struct unit_rt *r, const struct berth_request *req,
		       const struct berth_peer *peer, const int *fds, int nfds)
{
	struct berth_container cont;
	struct berth_diag diag = { 0 };
	struct berth_err err = { 0 };
	char *argv[BERTH_REQ_ARGS + 1], **env, msg[BERTH_ERR_MSG + 64];
	int pidfd;
	pid_t pid;

	if (req->nargs < 2 || nfds != 3) {
		reply_end(c->fd, BERTH_USAGE, "exec takes a unit name, a command and the three standard streams", -1);
		return;
	}
	if (!r->u || r->svc.state != BERTH_SVC_RUNNING || r->pid <= 0) {
		snprintf(msg, sizeof(msg), "%s is not running (%s)", r->name, berth_svc_state_name(r->svc.state));
		reply_end(c->fd, BERTH_FAILED, msg, -1);
		return;
	}
	/* A few sessions per user; root keeps MAX_EXEC_USER slots of its own. */
	if (exec_count(0, peer->uid) >= MAX_EXEC_USER ||
	    exec_count(1, 0) >= MAX_EXEC - (peer->uid == 0 ? 0 : MAX_EXEC_USER)) {
		reply_end(c->fd, BERTH_FAILED, "too many exec sessions at once; try again later", -1);
		return;
	}
	for (int i = 0; i < 3; i++) {
		/* Pipes or a terminal (berthctl relays): never a file or a
		 * directory of the caller's inside the container. */
		struct stat st;

		if (fstat(fds[i], &st) < 0 ||
		    !(S_ISFIFO(st.st_mode) || (S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143)) ||
		    (fcntl(fds[i], F_GETFL) & O_PATH)) {
			reply_end(c->fd, BERTH_USAGE, "exec: the standard streams must be pipes or a pseudo-terminal", -1);
			return;
		}
	}
	cont = r->u->c;
	env = berth_unit_start_env(r->u, &diag);
	if (!env) {
		snprintf(msg, sizeof(msg), "%s", berth_diag_text(&diag));
		berth_diag_free(&diag);
		reply_end(c->fd, BERTH_FAILED, msg, -1);
		return;
	}
	for (int i = 0; i <= BERTH_MAX_ENV; i++) {
		cont.env[i] = env[i];
		if (!env[i])
			break;
	}
	for (int i = 1; i < req->nargs; i++)
		argv[i - 1] = (char *)req->args[i];
	argv[req->nargs - 1] = NULL;
	pid = berth_container_exec(&cont, r->pid, argv, fds, &pidfd, &err);
	free(env);
	if (pid < 0) {
		reply_end(c->fd, BERTH_FAILED, err.msg, -1);
		return;
	}
	berthd_event("%s: exec by uid %u: %s%s (pid %d)", r->name, (unsigned)peer->uid, argv[0],
		     req->nargs > 2 ? " ..." : "", (int)pid);
	c->exec_pid = pid;
	c->exec_pidfd = pidfd;
	c->exec_uid = peer->uid;
}

/* berthctl image|images|trust ...: berth-image does the work, its output
 * going straight to the client; berthd checks the request's shape (the
 * helper trusts its arguments) and keeps the slot until it ends. */
static void start_image(struct client *c, enum berth_verb v, const struct berth_request *req,
			const struct berth_peer *peer, const int *fds, int nfds)
{
	static const struct {
		const char *sub;
		enum berth_verb verb;
		int min, max; /* arguments after the subcommand */
		int fd;       /* 1: the client passes one descriptor (the archive, the document) */
	} subs[] = {
		{ "ls", BERTH_VERB_IMAGES, 0, 1, 0 },     { "inspect", BERTH_VERB_IMAGES, 1, 1, 0 },
		{ "trust-show", BERTH_VERB_IMAGES, 0, 0, 0 }, { "import", BERTH_VERB_IMAGE, 0, 2, 1 },
		{ "rm", BERTH_VERB_IMAGE, 1, 32, 0 },     { "prune", BERTH_VERB_IMAGE, 0, 0, 0 },
		{ "trust-update", BERTH_VERB_IMAGE, 0, 0, 1 },
	};
	const char *args[40];
	char msg[512];
	int n = 0, k = -1, pidfd = -1;
	pid_t pid;

	for (size_t i = 0; req->nargs > 0 && i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(req->args[0], subs[i].sub) == 0 && subs[i].verb == v)
			k = (int)i;
	if (k < 0 || req->nargs - 1 < subs[k].min || req->nargs - 1 > subs[k].max || nfds != subs[k].fd) {
		reply_end(c->fd, BERTH_USAGE, "usage: image import|ls|inspect|rm|prune, trust show|update", -1);
		return;
	}
	for (int i = 1; i < req->nargs; i++) {
		const char *a = req->args[i];

		/* Only what each subcommand takes: never an option of the helper. */
		if ((strcmp(subs[k].sub, "import") == 0 && i == 1 && strcmp(a, "--tag") != 0) ||
		    (strcmp(subs[k].sub, "import") == 0 && req->nargs == 2) ||
		    (strcmp(subs[k].sub, "ls") == 0 && strcmp(a, "--json") != 0) ||
		    (a[0] == '-' && !(i == 1 && (strcmp(a, "--tag") == 0 || strcmp(a, "--json") == 0)))) {
			snprintf(msg, sizeof(msg), "%s: unexpected argument '%.64s'", subs[k].sub, a);
			reply_end(c->fd, BERTH_USAGE, msg, -1);
			return;
		}
	}
	if (nfds == 1) {
		struct stat st;

		if (fstat(fds[0], &st) < 0 || !(S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)) ||
		    (fcntl(fds[0], F_GETFL) & O_PATH)) {
			reply_end(c->fd, BERTH_USAGE, "the input must be a regular file or a pipe", -1);
			return;
		}
	}
	/* The same budget as exec sessions: a few per user, root's reserve kept. */
	if (exec_count(0, peer->uid) >= MAX_EXEC_USER ||
	    exec_count(1, 0) >= MAX_EXEC - (peer->uid == 0 ? 0 : MAX_EXEC_USER)) {
		reply_end(c->fd, BERTH_FAILED, "too many sessions at once; try again later", -1);
		return;
	}
	for (int i = 1; i < req->nargs && n < 36; i++)
		args[n++] = req->args[i];
	pid = berthd_image_helper(subs[k].sub, args, n, nfds == 1 ? fds[0] : -1, c->fd, &pidfd, msg, sizeof(msg));
	if (pid < 0) {
		reply_end(c->fd, BERTH_FAILED, msg, -1);
		return;
	}
	if (v == BERTH_VERB_IMAGE)
		berthd_event("image %s by uid %u (pid %d)", subs[k].sub, (unsigned)peer->uid, (int)pid);
	c->exec_pid = pid;
	c->exec_pidfd = pidfd;
	c->exec_uid = peer->uid;
	c->image = 1;
}

static void handle(struct client *c, const struct berth_request *req, const struct berth_peer *peer,
		   const int *fds, int nfds)
{
	int fd = c->fd;
	int v = berth_verb_from_name(req->verb);
	const char *name = req->nargs > 0 ? req->args[0] : NULL;
	struct unit_rt *r = NULL;
	struct berth_buf b = { 0 };
	char msg[512];

	if (v < 0) {
		snprintf(msg, sizeof(msg), "unknown verb '%.64s'", req->verb);
		reply_end(fd, BERTH_USAGE, msg, -1);
		return;
	}
	if (berth_verb_is_global(v) || v == BERTH_VERB_LIST || v == BERTH_VERB_STATS ||
	    (v == BERTH_VERB_STATUS && !name)) {
		if (v == BERTH_VERB_DEPLOY) {
			if (req->nargs != 1) {
				reply_end(fd, BERTH_USAGE, "deploy takes one file name", -1);
				return;
			}
			name = NULL;
		} else if (v == BERTH_VERB_IMAGE || v == BERTH_VERB_IMAGES) {
			name = NULL;
		} else if (berth_verb_is_global(v) && req->nargs != 0) {
			reply_end(fd, BERTH_USAGE, "this verb takes no arguments", -1);
			return;
		}
		/* Set-wide verbs: a global one needs a rule for all units; the
		 * listing ones show what the peer may see. */
		if (berth_verb_is_global(v) && !allowed(peer, v, NULL)) {
			denied_event(peer, req->verb, NULL);
			reply_end(fd, BERTH_DENIED, "permission denied", -1);
			return;
		}
	} else {
		if (!name || (req->nargs != 1 && v != BERTH_VERB_EXEC)) {
			reply_end(fd, BERTH_USAGE, "this verb takes one unit name", -1);
			return;
		}
		if (!allowed(peer, v, name)) {
			denied_event(peer, req->verb, name);
			snprintf(msg, sizeof(msg), "permission denied: %s %.64s", req->verb, name);
			reply_end(fd, BERTH_DENIED, msg, -1);
			return;
		}
		r = berthd_find(name);
		if (!r && v == BERTH_VERB_RM) {
			/* rm also answers for a file that never became a unit. */
			rm_reply(fd, name, peer);
			return;
		}
		if (!r && v == BERTH_VERB_LOGS && strcmp(name, "events") == 0) {
			/* `logs events`: berthd's own log ("events" is no unit
			 * name). It tells of every unit: a rule for all units
			 * ("*") is needed, as for a global verb. */
			if (!allowed(peer, v, NULL)) {
				denied_event(peer, req->verb, name);
				reply_end(fd, BERTH_DENIED, "permission denied: logs events", -1);
				return;
			}
			log_reply(fd, "events");
			return;
		}
		if (!r) {
			snprintf(msg, sizeof(msg), "no unit '%.64s'", name);
			reply_end(fd, BERTH_NOT_FOUND, msg, -1);
			return;
		}
		{
			const char *other = r ? also_denied(peer, (enum berth_verb)v, r) : NULL;

			if (other) {
				denied_event(peer, req->verb, other);
				snprintf(msg, sizeof(msg), "permission denied: %s %.64s also acts on %.64s", req->verb,
					 name, other);
				reply_end(fd, BERTH_DENIED, msg, -1);
				return;
			}
		}
	}
	switch (v) {
	case BERTH_VERB_LIST:
	case BERTH_VERB_STATS:
	case BERTH_VERB_STATUS: {
		int first = 1;

		berth_buf_printf(&b, "[");
		for (int i = 0; i < MAX_UNITS; i++) {
			struct unit_rt *u = units[i];

			if (!u || (r && u != r) || !allowed(peer, v, u->name))
				continue;
			berth_buf_printf(&b, "%s", first ? "" : ",");
			json_unit(&b, u, v != BERTH_VERB_LIST);
			first = 0;
		}
		berth_buf_printf(&b, "]");
		reply_chunks(fd, b.p, b.len);
		reply_end(fd, b.oom ? BERTH_FAILED : BERTH_OK, b.oom ? "out of memory" : "", -1);
		break;
	}
	case BERTH_VERB_INSPECT:
		if (!r->u) {
			reply_end(fd, BERTH_FAILED, r->errors ? r->errors : "no valid definition", -1);
			break;
		}
		json_inspect(&b, r, r->next ? r->next : r->u);
		reply_chunks(fd, b.p, b.len);
		reply_end(fd, BERTH_OK, "", -1);
		break;
	case BERTH_VERB_CAT: {
		/* The file in force for the name: deployed, else the image's. */
		char deployed[300], baked[300];
		const char *paths[2] = { deployed, baked };

		snprintf(deployed, sizeof(deployed), BERTH_UNITS_DEPLOYED "/%s" BERTH_UNIT_SUFFIX, r->name);
		snprintf(baked, sizeof(baked), BERTH_UNITS_BAKED "/%s" BERTH_UNIT_SUFFIX, r->name);
		file_reply(fd, paths, 2);
		break;
	}
	case BERTH_VERB_LOGS:
		log_reply(fd, r->name);
		break;
	case BERTH_VERB_START:
		if (!r->u) {
			reply_end(fd, BERTH_FAILED, r->errors ? r->errors : "no valid definition", -1);
			break;
		}
		if (shutting_down) {
			reply_end(fd, BERTH_FAILED, "shutting down", -1);
			break;
		}
		berthd_event("%s: start requested by uid %u", r->name, (unsigned)peer->uid);
		if (r->svc.state == BERTH_SVC_STOPPING) {
			r->restart_after_stop = 1;
			berthd_save_state(r);
		} else
			berthd_want(r, 0);
		berthd_tick();
		reply_end(fd, BERTH_OK, berth_svc_state_name(r->svc.state), -1);
		break;
	case BERTH_VERB_STOP:
		berthd_event("%s: stop requested by uid %u", r->name, (unsigned)peer->uid);
		r->restart_after_stop = 0;
		berthd_stop_with_dependents(r);
		berthd_tick();
		reply_end(fd, BERTH_OK, berth_svc_state_name(r->svc.state), -1);
		break;
	case BERTH_VERB_RESTART:
		if (!r->u || shutting_down) {
			reply_end(fd, BERTH_FAILED, shutting_down ? "shutting down" : "no valid definition", -1);
			break;
		}
		berthd_event("%s: restart requested by uid %u", r->name, (unsigned)peer->uid);
		if (r->mon_fd >= 0) {
			r->restart_after_stop = 1;
			berthd_stop(r);
		} else {
			if (r->svc.state == BERTH_SVC_WAITING)
				berthd_set_state(r, BERTH_SVC_INACTIVE);
			berthd_want(r, 0);
		}
		berthd_tick();
		reply_end(fd, BERTH_OK, berth_svc_state_name(r->svc.state), -1);
		break;
	case BERTH_VERB_RELOAD: {
		int bad = 0;

		berthd_event("reload requested by uid %u", (unsigned)peer->uid);
		berthd_reload(0);
		for (int i = 0; i < MAX_UNITS; i++)
			bad |= units[i] && units[i]->errors;
		reply_chunks(fd, reload_report.p ? reload_report.p : "", reload_report.len);
		reply_end(fd, bad ? BERTH_FAILED : BERTH_OK, bad ? "some unit files have errors" : "", -1);
		break;
	}
	case BERTH_VERB_DEPLOY: {
		int st = berthd_deploy(req->args[0], nfds == 1 ? fds[0] : -1, (unsigned)peer->uid, &b, msg,
				       sizeof(msg));

		reply_chunks(fd, b.p ? b.p : "", b.len);
		reply_end(fd, (enum berth_status)st, msg, -1);
		break;
	}
	case BERTH_VERB_RM:
		rm_reply(fd, r->name, peer);
		break;
	case BERTH_VERB_EXEC:
		start_exec(c, r, req, peer, fds, nfds);
		break;
	case BERTH_VERB_IMAGE:
	case BERTH_VERB_IMAGES:
		start_image(c, (enum berth_verb)v, req, peer, fds, nfds);
		break;
	case BERTH_VERB_POWEROFF:
	case BERTH_VERB_REBOOT:
		/* PID 1 does it (busybox's signals): it stops berthd, which stops
		 * every unit in reverse order, then the rest. */
		berthd_event("%s requested by uid %u", req->verb, (unsigned)peer->uid);
		if (kill(1, v == BERTH_VERB_POWEROFF ? SIGUSR2 : SIGTERM) < 0) {
			snprintf(msg, sizeof(msg), "signal PID 1: %s", strerror(errno));
			reply_end(fd, BERTH_FAILED, msg, -1);
		} else {
			reply_end(fd, BERTH_OK, v == BERTH_VERB_POWEROFF ? "powering off" : "rebooting", -1);
		}
		break;
	case BERTH_VERB_METRICS:
		berthd_metrics(&b, peer);
		reply_chunks(fd, b.p ? b.p : "", b.len);
		reply_end(fd, b.oom ? BERTH_FAILED : BERTH_OK, b.oom ? "out of memory" : "", -1);
		break;
	default:
		snprintf(msg, sizeof(msg), "'%s' is not served by this berthd", req->verb);
		reply_end(fd, BERTH_USAGE, msg, -1);
		break;
	}
	berth_buf_free(&b);
}

static void client_close(struct client *c)
{
	if (c->fd >= 0) {
		epoll_ctl(epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
}

void berthd_control_client(int slot)
{
	struct client *c = &clients[slot];
	char buf[BERTH_REQ_MAX + 1], why[128], ctl[CMSG_SPACE(sizeof(int) * MAX_PASSED_FDS)];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof(ctl) };
	struct berth_request req;
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	gid_t groups[256];
	socklen_t gl = sizeof(groups);
	int fds[MAX_PASSED_FDS], nfds = 0;
	ssize_t n;

	if (c->exec_pid > 0) {
		/* The client of an exec went away (it sends nothing more): end the
		 * command; the reaper clears the slot. */
		syscall(SYS_pidfd_send_signal, c->exec_pidfd, SIGKILL, NULL, 0);
		client_close(c);
		return;
	}
	n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	/* Descriptors the kernel could not fit (MSG_CTRUNC) it has closed. */
	for (struct cmsghdr *cm = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; cm; cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t k = 0; k < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + k * sizeof(int), sizeof(int));
			if (nfds < MAX_PASSED_FDS)
				fds[nfds++] = f;
			else
				close(f);
		}
	}
	if (n > 0 && getsockopt(c->fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) == 0) {
		struct berth_peer peer = { .uid = cred.uid, .gid = cred.gid, .groups = groups };

		if (getsockopt(c->fd, SOL_SOCKET, SO_PEERGROUPS, groups, &gl) == 0)
			peer.ngroups = gl / sizeof(gid_t);
		if (berth_request_parse(buf, (size_t)n, &req, why, sizeof(why)) < 0)
			reply_end(c->fd, BERTH_USAGE, why, -1);
		else
			handle(c, &req, &peer, fds, nfds);
	}
	/* berthd keeps none of them: an exec's helper has its own copies. */
	for (int i = 0; i < nfds; i++)
		close(fds[i]);
	if (c->exec_pid <= 0)
		client_close(c);
}

/* A child of berthd ended: if it was an exec helper, its status is the
 * command's, which its client (if still there) gets as the reply. */
void berthd_control_reaped(pid_t pid, int status)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		struct client *c = &clients[i];
		char msg[64];

		if (c->exec_pid != pid)
			continue;
		if (c->fd >= 0 && c->image) {
			/* berth-image ends its answer itself; only a helper that died
			 * without one needs it said. */
			if (!WIFEXITED(status) || WEXITSTATUS(status) > BERTH_NOT_FOUND) {
				snprintf(msg, sizeof(msg), "berth-image %s %d", WIFEXITED(status) ? "exited" : "killed by signal",
					 WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
				reply_end(c->fd, BERTH_FAILED, msg, -1);
			}
		} else if (c->fd >= 0) {
			snprintf(msg, sizeof(msg), "%d",
				 WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
			reply_end(c->fd, BERTH_OK, msg, -1);
		}
		client_close(c);
		close(c->exec_pidfd);
		c->exec_pidfd = -1;
		c->exec_pid = 0;
		c->image = 0;
		return;
	}
}

void berthd_control_accept(int listenfd)
{
	int fd = accept4(listenfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	int slot = -1, oldest = -1, sndbuf = 4 << 20;
	struct epoll_event ev = { .events = EPOLLIN };

	if (fd < 0)
		return;
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i].fd < 0 && clients[i].exec_pid <= 0) {
			slot = i;
			break;
		}
		if (clients[i].exec_pid <= 0 && (oldest < 0 || clients[i].since < clients[oldest].since))
			oldest = i;
	}
	if (slot < 0 && oldest < 0) {
		close(fd); /* every slot is an exec session (MAX_EXEC < MAX_CLIENTS: not reached) */
		return;
	}
	if (slot < 0) {
		/* Full: a silent client must not lock everyone out. An exec
		 * session is never evicted. */
		slot = oldest;
		client_close(&clients[slot]);
	}
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof(sndbuf));
	clients[slot].fd = fd;
	clients[slot].since = berthd_now();
	ev.data.u64 = ((uint64_t)EV_CLIENT << 32) | (uint32_t)slot;
	epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

int berthd_control_open(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct group *g = getgrnam("berth-ops");
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	mode_t old;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", BERTH_SOCKET);
	if (fd < 0)
		return -1;
	unlink(BERTH_SOCKET);
	old = umask(0177);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		umask(old);
		close(fd);
		return -1;
	}
	umask(old);
	/* 0660 root:berth-ops: only operators can connect at all; authz.conf
	 * decides what each may do. */
	if ((g && chown(BERTH_SOCKET, 0, g->gr_gid) < 0) || chmod(BERTH_SOCKET, 0660) < 0 ||
	    listen(fd, 64) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

