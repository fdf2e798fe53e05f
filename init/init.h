/* berth-init: shared declarations of PID 1 (stage 1, stage 2, supervision). */
#ifndef BERTH_INIT_H
#define BERTH_INIT_H

#include <stddef.h>
#include <stdint.h>

#define INIT_CONF_PATH "/etc/berth/berth.conf"
#define INIT_DEFAULT_PARENT_PIDS_MAX 4096L
#define INIT_PIDS_MAX_LIMIT 4194304L /* PID_MAX_LIMIT on 64-bit */
/* argv[0] that selects container mode: where the supervisor bind-mounts
 * berth-init for RunInit=yes. The kernel starts the host's PID 1 as /init or
 * /sbin/init and the command line only adds argv[1..], so the host never gets here. */
#define BERTH_CONTAINER_INIT_PATH "/run/berth-init"

/* --- parse.c: pure helpers (no system calls; unit tested) --- */

/* Find KEY=VALUE in a kernel command line; the last occurrence wins, as in the
 * kernel. Double quotes around a value are removed; a bare KEY yields "".
 * Parameters after a lone "--" belong to init's argv and are not searched.
 * Returns 1 if found, 0 if not, -1 if the value does not fit in OUT. */
int init_cmdline_get(const char *cmdline, const char *key, char *out, size_t outlen);

/* Parse one sysctl.conf line ("key = value", "-key = value" for keys that may
 * be absent). Returns 1 for an entry, 0 for a blank or comment line, -1 for a
 * malformed line. PATH receives "/proc/sys/..." with dots turned into slashes. */
int init_sysctl_parse_line(const char *line, char *path, size_t pathlen, char *value,
			   size_t valuelen, int *optional);

/* Parse a pids.max value: a decimal in 1..INIT_PIDS_MAX_LIMIT, or "max" (-1). */
int init_parse_pids_max(const char *s, long *out);

/* Parse one line of a module list: strips comments and blanks; NAME must be
 * [A-Za-z0-9_-]+. Returns 1 for a module name, 0 for nothing, -1 if invalid. */
int init_module_parse_line(const char *line, char *name, size_t namelen);

/* Map a berth.debug_shell= value to a tty path: "1"/"yes" -> /dev/ttyS0,
 * a device name such as "ttyS1" or "hvc0" -> /dev/NAME; "0"/"no"/"" -> 0.
 * Returns 1 when a shell is wanted, 0 when not, -1 for an invalid value. */
int init_debug_shell_tty(const char *value, char *path, size_t pathlen);

/* --- conf.c: /etc/berth/berth.conf, the keys PID 1 needs --- */
struct init_conf {
	long parent_pids_max; /* -1 means "max" */
};
/* Fill CONF from PATH. Defaults apply for absent keys and a missing file.
 * Returns 0, or -1 with ERR ("FILE:LINE: message") for an invalid value;
 * CONF then still holds usable defaults for every invalid key. */
int init_conf_load(const char *path, struct init_conf *conf, char *err, size_t errlen);

/* --- util.c --- */
void init_log_open(void);
void init_log(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define LOG_CRIT_ 2
#define LOG_ERR_ 3
#define LOG_WARN_ 4
#define LOG_INFO_ 6
int init_write_file(const char *path, const char *data);
long init_read_file(const char *path, char *buf, size_t len);
void init_console_reopen(void);
int init_mount(const char *src, const char *target, const char *type, unsigned long flags,
	       const char *data);
int64_t init_now_ms(void);
/* Call FN for each line of the list file PATH with its number; a line of 511
 * bytes or more is passed as NULL (and skipped whole). Returns the sum of FN's
 * results, or -1 with errno if PATH cannot be opened. */
int init_each_line(const char *path, int (*fn)(void *arg, const char *line, int lineno), void *arg);
/* Mount /proc, /sys and devtmpfs on /dev (nosuid, noexec; nodev but /dev),
 * reopen the console as stdio and start logging to /dev/kmsg. Both stages. */
void init_mount_kernel_fs(void);
_Noreturn void init_fatal(const char *what);
int init_load_modules(const char *list, const char *dir, int remove);

/* --- stage1.c / stage2.c / supervise.c --- */
_Noreturn void init_stage1(void);
_Noreturn void init_stage2(void);
void init_supervise_start(const char *cmdline);
_Noreturn void init_supervise_loop(void);
void init_block_signals(void);

/* --- cinit.c: container mode, argv "/run/berth-init -- COMMAND [ARG...]" ---
 * Run COMMAND as the only child, forward every signal but SIGCHLD to it, reap
 * all orphans, and exit with its status (128+N if killed by signal N). Exits 2
 * on a usage error, 1 if its own setup fails; the child exits 127/126 if exec fails. */
_Noreturn void init_container(int argc, char **argv);

#endif
