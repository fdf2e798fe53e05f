/* The lifecycle of one unit (style.md #9): states, the restart decision of
 * systemd's table (systemd.service(5) "Restart="), the doubling backoff and the
 * start limit. Pure: the caller passes the time (CLOCK_BOOTTIME, microseconds)
 * and performs what the returned action says, so the unit tests drive it with
 * a fake clock. */
#ifndef BERTH_SERVICE_H
#define BERTH_SERVICE_H

#include <stdint.h>
#include <sys/types.h>

#include "unit.h"

enum berth_svc_state {
	BERTH_SVC_INACTIVE,  /* not running and not wanted (never started, stopped, AutoStart=no) */
	BERTH_SVC_WAITING,   /* wanted: waiting for its dependencies to be ready */
	BERTH_SVC_STARTING,  /* its monitor is starting the container */
	BERTH_SVC_RUNNING,
	BERTH_SVC_STOPPING,  /* asked to stop: KillSignal sent, SIGKILL after TimeoutStopSec */
	BERTH_SVC_BACKOFF,   /* exited; restarts at next_at */
	BERTH_SVC_EXITED,    /* exited and stays down: clean exit, or Restart= said no */
	BERTH_SVC_FAILED,    /* stays down after a failure, or the start limit was hit */
	BERTH_SVC_NSTATES
};

/* How a run ended (systemd's terms). */
enum berth_exit_kind {
	BERTH_EXIT_CLEAN,       /* code 0, or killed by HUP, INT, TERM or PIPE */
	BERTH_EXIT_CODE,        /* non-zero exit code */
	BERTH_EXIT_SIGNAL,      /* killed by another signal (or dumped core) */
	BERTH_EXIT_TIMEOUT,     /* SIGKILLed after TimeoutStopSec */
	BERTH_EXIT_START,       /* the container could not be started */
};

struct berth_svc {
	enum berth_svc_state state;
	unsigned restarts;      /* automatic restarts since the operator last started it */
	unsigned consecutive;   /* short runs in a row: the backoff exponent */
	int64_t started_at;     /* of the current or last run */
	int64_t exited_at;
	int64_t next_at;        /* BACKOFF: when to start again */
	int64_t limit_begin;    /* start limit: window start and starts in it */
	unsigned limit_count;
	int stop_requested;     /* the current run ends because we asked */
	/* the last exit */
	enum berth_exit_kind last_kind;
	int last_status;        /* exit code or signal number */
	int has_exited;
	char reason[192];       /* why it is FAILED or EXITED, for status */
};

const char *berth_svc_state_name(enum berth_svc_state s);
/* The inverse, for the state files that survive a berthd restart; -1 if unknown. */
int berth_svc_state_from_name(const char *name);

/* Classify a wait status (si_code, si_status of waitid). */
enum berth_exit_kind berth_exit_classify(int code, int status);

/* Restart= says restart after an exit of KIND? */
int berth_restart_wanted(enum berth_restart policy, enum berth_exit_kind kind);

/* The operator (or boot) wants it running: WAITING, counters reset when it
 * was FAILED or EXITED. Returns 1 if the state changed. */
int berth_svc_want(struct berth_svc *s);
/* The monitor reports the container running since NOW. */
void berth_svc_started(struct berth_svc *s, int64_t now);
/* The run ended (or never started: KIND = BERTH_EXIT_START) at NOW. Decides
 * BACKOFF (with next_at), EXITED, FAILED (start limit or policy), or INACTIVE
 * when the stop was requested. */
void berth_svc_exited(struct berth_svc *s, const struct berth_unit *u, enum berth_exit_kind kind,
		      int status, int64_t now);
/* A BACKOFF timer fired at NOW: returns 1 and moves to WAITING if it was due. */
int berth_svc_timer(struct berth_svc *s, int64_t now);

/* The backoff delay before restart number CONSECUTIVE (1-based). */
int64_t berth_backoff_us(const struct berth_unit *u, unsigned consecutive);

#endif
