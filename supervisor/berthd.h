/* Internal to berthd: the unit set and the functions the control socket
 * (control.c) shares with the supervision loop (berthd.c). */
#ifndef BERTHD_H
#define BERTHD_H

#include <stdint.h>
#include <sys/types.h>

#include "authz.h"
#include "conf.h"
#include "lib/buf.h"
#include "logs.h"
#include "monitor.h"
#include "service.h"
#include "unit.h"

#define MAX_UNITS 1024
#define STATE_DIR BERTH_RUN_DIR "/state"
#define AUTHZ_FILE "/etc/berth/authz.conf"
#define BERTH_NET_DIR "/var/lib/berth/network" /* each unit's address on the bridge */
#define BERTH_NET_BRIDGE_NAME "berth0"

enum { EV_SIGNAL, EV_LISTEN, EV_CLIENT, EV_MONITOR, EV_TIMER };

struct unit_rt {
	char name[BERTH_NAME_MAX];
	struct berth_unit *u;    /* the definition in force; NULL: it never parsed */
	struct berth_unit *next; /* reload: the definition for the next start */
	char *errors;            /* problems of the latest read of its file */
	struct berth_svc svc;
	int mon_fd;              /* -1: no monitor */
	pid_t pid;               /* the container's PID 1 */
	int removed;             /* its file is gone: stop, then forget it */
	int restart_after_stop;  /* restart or reload: start again once stopped */
	int stopped_by_shutdown; /* not by an operator: a later berthd starts it again */
	/* The network of the run in progress, as it started: its rules follow
	 * these, not a unit file that may have changed since (network.c keeps a
	 * copy on /run for a berthd that adopts the run). */
	uint32_t net_ip;         /* its address on the bridge while it has one (host order) */
	int net_isolation;
	int net_npublish;
	struct berth_net_port net_publish[BERTH_NET_MAX_PUBLISH];
};

extern struct unit_rt *units[MAX_UNITS];
extern struct berth_authz authz;
extern int authz_ok;
extern int epfd;
extern int shutting_down;
extern struct berth_buf reload_report; /* what the last reload did, for its caller */

/* berthd.c */
void berthd_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int64_t berthd_now(void);
struct unit_rt *berthd_find(const char *name);
int berthd_slot_of(const struct unit_rt *r);
void berthd_save_state(const struct unit_rt *r);
void berthd_set_state(struct unit_rt *r, enum berth_svc_state s);
void berthd_want(struct unit_rt *r, int depth);
void berthd_stop(struct unit_rt *r);
void berthd_stop_with_dependents(struct unit_rt *r);
void berthd_mark_dependents(struct unit_rt *r, unsigned char *seen);
void berthd_mark_required(struct unit_rt *r, unsigned char *seen);
void berthd_tick(void);
void berthd_reload(int boot);
/* Start berth-image SUB ARGS... for a client (its socket OUT_FD gets the
 * answer; IN_FD, or -1, is its stdin), with berth.conf's trust setting, the
 * import sandbox's id range and the images the units use. Returns the pid
 * (*PIDFD set), or -1 with MSG. */
pid_t berthd_image_helper(const char *sub, const char *const *args, int nargs, int in_fd, int out_fd, int *pidfd,
			  char *msg, size_t mlen);

/* control.c: the socket, its clients, the verbs */
int berthd_control_open(void);
void berthd_control_accept(int listenfd);
void berthd_control_client(int slot);
void berthd_control_reaped(pid_t pid, int status);

/* deploy.c: writing and removing deployed unit files; the BERTH_STATUS
 * of the reply, its text in MSG, details (FILE:LINE errors, the reload's
 * report) appended to OUT */
int berthd_deploy(const char *file, int fd, unsigned uid, struct berth_buf *out, char *msg, size_t mlen);
int berthd_rm(const char *name, unsigned uid, struct berth_buf *out, char *msg, size_t mlen);

/* network.c: the bridge, addresses, rules and each container's hosts and
 * resolv.conf (docs/networking.md) */
/* At startup: the bridge, up with the subnet's first address. If that fails,
 * units on the bridge fail to start with the reason (berthd_net_error). */
void berthd_net_start(const struct berth_conf *conf);
/* Before R's start: C's network (namespace, veth, address; the files at
 * /etc/hosts and /etc/resolv.conf), the rules with R in force already. */
int berthd_net_prepare(struct unit_rt *r, struct berth_container *c, struct berth_err *err);
/* Every active unit's hosts file and the rules, now. */
void berthd_net_update(void);
/* A run on the bridge started or ended: update at the next flush, which the
 * event loop does after each round of events. */
void berthd_net_changed(void);
void berthd_net_flush(void);
/* R's run, found running by a new berthd: its network as it started. */
void berthd_net_adopted(struct unit_rt *r);
/* R's run ended: its veth (if the kernel has not deleted it yet), then update. */
void berthd_net_stopped(struct unit_rt *r);
/* R's unit was removed: its address record and files. */
void berthd_net_forget(const char *name);
/* The host-side veth of the container with address IP. */
void berthd_net_link_name(uint32_t ip, char *buf, size_t len);
const char *berthd_net_error(void);
/* R's address: in use, else IPAddress=, else on record (0: none yet). */
uint32_t berthd_net_address(const struct unit_rt *r);
/* ,"network":{...} of inspect, for R with definition U. */
void berthd_net_json(struct berth_buf *b, const struct unit_rt *r, const struct berth_unit *u);

/* metrics.c: Prometheus text exposition of the units PEER may see and the host */
void berthd_metrics(struct berth_buf *out, const struct berth_peer *peer);

#endif
