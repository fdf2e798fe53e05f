/* A container's monitor: a small process per running container, forked from
 * berthd, that starts the container, writes its log, keeps its exit status and
 * carries out stops. It outlives berthd: a berthd that was killed (even with
 * SIGKILL) and restarted by PID 1 finds each monitor's socket in
 * BERTH_MON_DIR, connects, and learns the container's state, so containers
 * keep running and no exit goes unseen (docs/architecture.md "Monitors").
 *
 * The protocol is fixed-size messages over SOCK_SEQPACKET. The monitor sends
 * its state on every connection and on every change; berthd sends STOP and,
 * once it has recorded an exit, RELEASE, on which the monitor exits. */
#ifndef BERTH_MONITOR_H
#define BERTH_MONITOR_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "container.h"
#include "lib/err.h"

#define BERTH_RUN_DIR "/run/berth"
#define BERTH_MON_DIR "/run/berth/mon"
#define BERTH_MON_CGROUP "/sys/fs/cgroup/system/monitors"

enum berth_mon_type { BERTH_MON_STATE = 1, BERTH_MON_STOP, BERTH_MON_RELEASE };
enum berth_mon_phase { BERTH_MON_STARTING, BERTH_MON_RUNNING, BERTH_MON_EXITED, BERTH_MON_START_FAILED };

struct berth_mon_msg {
	uint32_t type;
	uint32_t phase;
	int32_t pid;          /* the container's PID 1, host pid */
	int32_t code;         /* CLD_EXITED, CLD_KILLED or CLD_DUMPED */
	int32_t status;       /* exit code or signal */
	int32_t timed_out;    /* SIGKILLed after the stop timeout */
	int32_t signal;       /* STOP: the signal to send first */
	int32_t oom_kills;    /* EXITED: processes of the run the OOM killer ended (memory.events) */
	int64_t timeout_us;   /* STOP: then SIGKILL to the whole cgroup; INT64_MAX: never */
	int64_t started_at;   /* CLOCK_BOOTTIME, microseconds */
	int64_t exited_at;
	uint64_t hash;        /* of the unit file the container was started from */
	char name[64];
	char msg[384];        /* START_FAILED: why */
};

struct berth_monitor_args {
	const struct berth_container *c; /* uid_base set, env built */
	uint64_t hash;
	int64_t log_max_size;
	unsigned log_max_files;
};

/* berthd: fork the monitor of A->c and return its pid, with *FD the connected
 * socket to it (close-on-exec, non-blocking). */
pid_t berth_monitor_spawn(const struct berth_monitor_args *a, int *fd, struct berth_err *err);

/* berthd: connect to the monitor of NAME an earlier berthd left, and read its
 * state into M (waits at most 2 s; a monitor that has not answered by then is
 * alive but busy: M->type is then 0 and its state comes later on the socket).
 * Returns the socket; -1 with errno ECONNREFUSED or ENOENT when there is no
 * monitor behind the socket. */
int berth_monitor_connect(const char *name, struct berth_mon_msg *m, struct berth_err *err);

/* berthd, at startup: the memory of its command line (argv[0] to the end of
 * the last argument), which each monitor overwrites with "berth-mon" so that
 * `ps`, `pidof berthd` and `killall berthd` never take a monitor for berthd. */
void berth_monitor_set_cmdline_area(char *start, size_t len);

/* CLOCK_BOOTTIME in microseconds: survives a berthd restart, counts suspend. */
int64_t berth_now_us(void);

#endif
