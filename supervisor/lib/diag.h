/* Diagnostics of a configuration file: every error of a file is collected (not
 * only the first), each as one "FILE:LINE: message" line, so an operator fixes
 * a file in one pass. Warnings are kept apart and never fail a file. */
#ifndef BERTH_DIAG_H
#define BERTH_DIAG_H

#include <stddef.h>

struct berth_diag {
	char *text;       /* "FILE:LINE: message\n"..., NUL-terminated; NULL when empty */
	size_t len, cap;
	int errors;       /* lines added with berth_diag_error */
	int warnings;     /* lines added with berth_diag_warn (prefixed "warning: ") */
	int oom;          /* an allocation failed: some lines are missing */
};

/* Add an error; LINE 0 leaves the line number out ("FILE: message"). */
void berth_diag_error(struct berth_diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void berth_diag_warn(struct berth_diag *d, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* The collected text ("" when none). */
const char *berth_diag_text(const struct berth_diag *d);
void berth_diag_free(struct berth_diag *d);

#endif
