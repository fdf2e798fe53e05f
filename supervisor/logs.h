/* A container's log: what it writes to stdout and stderr, one timestamped line
 * per line it writes (lines longer than BERTH_LOG_LINE_MAX are split), in
 * DIR/NAME.log, rotated by size to NAME.log.1 ... NAME.log.FILES. Only the
 * container's monitor writes it, so rotation needs no locking. */
#ifndef BERTH_LOGS_H
#define BERTH_LOGS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define BERTH_LOG_DIR "/var/log/berth"
#define BERTH_LOG_LINE_MAX 8192

struct berth_log {
	int dirfd;
	char name[80];          /* NAME.log */
	int fd;                 /* -1 while the file cannot be opened */
	int64_t size, max_size;
	unsigned max_files;
	char line[BERTH_LOG_LINE_MAX];
	size_t len;             /* bytes of a line not yet ended */
	uint64_t lost;          /* bytes that could not be written */
};

/* Open (append) DIR/NAME.log. */
int berth_log_open(struct berth_log *l, const char *dir, const char *name, int64_t max_size,
		   unsigned max_files, struct berth_err *err);
/* Take N bytes the container wrote. */
void berth_log_data(struct berth_log *l, const char *buf, size_t n);
/* End a partial last line (at the container's exit). */
void berth_log_flush(struct berth_log *l);
/* A line of Berth's own about the container ("[berth] exited with code 3"). */
void berth_log_note(struct berth_log *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void berth_log_close(struct berth_log *l);

/* "2026-11-23T16:53:23.123Z" for the realtime clock now. */
void berth_log_timestamp(char *buf, size_t len);

#endif
