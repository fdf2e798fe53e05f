/* The unit lifecycle: restart decisions, backoff and the start limit. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "service.h"

static const char *const state_names[BERTH_SVC_NSTATES] = {
	"inactive", "waiting", "starting", "running", "stopping", "backoff", "exited", "failed",
};

const char *berth_svc_state_name(enum berth_svc_state s)
{
	return (unsigned)s < BERTH_SVC_NSTATES ? state_names[s] : "?";
}

int berth_svc_state_from_name(const char *name)
{
	for (int i = 0; i < BERTH_SVC_NSTATES; i++)
		if (strcmp(state_names[i], name) == 0)
			return i;
	return -1;
}

enum berth_exit_kind berth_exit_classify(int code, int status)
{
	if (code == CLD_EXITED)
		return status == 0 ? BERTH_EXIT_CLEAN : BERTH_EXIT_CODE;
	if (code == CLD_KILLED && (status == SIGHUP || status == SIGINT || status == SIGTERM ||
				   status == SIGPIPE))
		return BERTH_EXIT_CLEAN;
	return BERTH_EXIT_SIGNAL;
}

/* systemd.service(5), table 2: which exit causes each Restart= value restarts
 * on. A start failure counts as an unclean exit code; there is no watchdog yet. */
int berth_restart_wanted(enum berth_restart policy, enum berth_exit_kind kind)
{
	static const unsigned char table[][5] = {
		/*                 clean code signal timeout start */
		[BERTH_RESTART_NO] = { 0, 0, 0, 0, 0 },
		[BERTH_RESTART_ON_SUCCESS] = { 1, 0, 0, 0, 0 },
		[BERTH_RESTART_ON_FAILURE] = { 0, 1, 1, 1, 1 },
		[BERTH_RESTART_ON_ABNORMAL] = { 0, 0, 1, 1, 0 },
		[BERTH_RESTART_ON_WATCHDOG] = { 0, 0, 0, 0, 0 },
		[BERTH_RESTART_ON_ABORT] = { 0, 0, 1, 0, 0 },
		[BERTH_RESTART_ALWAYS] = { 1, 1, 1, 1, 1 },
	};

	if ((unsigned)policy >= sizeof(table) / sizeof(table[0]) || (unsigned)kind > BERTH_EXIT_START)
		return 0;
	return table[policy][kind];
}

int berth_svc_want(struct berth_svc *s)
{
	switch (s->state) {
	case BERTH_SVC_INACTIVE:
	case BERTH_SVC_EXITED:
	case BERTH_SVC_FAILED:
		/* An operator's start is a fresh start: like `systemctl reset-failed; start`. */
		s->restarts = 0;
		s->consecutive = 0;
		s->limit_count = 0;
		s->reason[0] = '\0';
		s->state = BERTH_SVC_WAITING;
		return 1;
	case BERTH_SVC_BACKOFF:
		s->state = BERTH_SVC_WAITING; /* start now instead of after the delay */
		return 1;
	default:
		return 0;
	}
}

void berth_svc_started(struct berth_svc *s, int64_t now)
{
	s->state = BERTH_SVC_RUNNING;
	s->started_at = now;
	s->stop_requested = 0;
}

int64_t berth_backoff_us(const struct berth_unit *u, unsigned consecutive)
{
	int64_t d = u->restart_us;

	for (unsigned i = 1; i < consecutive && d < u->restart_max_us; i++)
		d *= 2;
	return d < u->restart_max_us ? d : u->restart_max_us;
}

void berth_svc_exited(struct berth_svc *s, const struct berth_unit *u, enum berth_exit_kind kind,
		      int status, int64_t now)
{
	int ran_long = kind != BERTH_EXIT_START && now - s->started_at >= u->restart_reset_us;

	s->exited_at = now;
	s->last_kind = kind;
	s->last_status = status;
	s->has_exited = 1;
	if (s->stop_requested) {
		s->stop_requested = 0;
		s->state = BERTH_SVC_INACTIVE;
		snprintf(s->reason, sizeof(s->reason), "stopped");
		return;
	}
	if (!berth_restart_wanted(u->restart, kind)) {
		s->state = kind == BERTH_EXIT_CLEAN ? BERTH_SVC_EXITED : BERTH_SVC_FAILED;
		snprintf(s->reason, sizeof(s->reason), "%s", kind == BERTH_EXIT_CLEAN ? "exited" : "exited, Restart= says no");
		return;
	}
	/* The start limit (systemd's: at most BURST starts per INTERVAL). */
	if (u->start_limit_interval_us > 0) {
		if (s->limit_count == 0 || now - s->limit_begin > u->start_limit_interval_us) {
			s->limit_begin = now;
			s->limit_count = 0;
		}
		if (++s->limit_count > u->start_limit_burst) {
			s->state = BERTH_SVC_FAILED;
			snprintf(s->reason, sizeof(s->reason), "start limit hit");
			return;
		}
	}
	/* A run as long as RestartResetSec ends the streak (Docker: 10 s). */
	s->consecutive = ran_long ? 1 : s->consecutive + 1;
	s->restarts++;
	s->next_at = now + berth_backoff_us(u, s->consecutive);
	s->state = BERTH_SVC_BACKOFF;
	s->reason[0] = '\0';
}

int berth_svc_timer(struct berth_svc *s, int64_t now)
{
	if (s->state != BERTH_SVC_BACKOFF || now < s->next_at)
		return 0;
	s->state = BERTH_SVC_WAITING;
	return 1;
}
