/* berth_err: fixed-size error values with context (see lib/err.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "err.h"

int berth_err_set(struct berth_err *err, int errnum, const char *fmt, ...)
{
	va_list ap;

	err->errnum = errnum;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int berth_err_prefix(struct berth_err *err, const char *fmt, ...)
{
	char old[BERTH_ERR_MSG];
	va_list ap;
	int n;

	memcpy(old, err->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* Append ": old", truncating the old text if it does not fit: the new
	 * context comes first, which is what a reader needs most. */
	if (n >= 0 && (size_t)n + 3 < sizeof(err->msg)) {
		size_t room = sizeof(err->msg) - (size_t)n - 3, olen = strnlen(old, sizeof(old));

		memcpy(err->msg + n, ": ", 2);
		memcpy(err->msg + n + 2, old, olen < room ? olen : room);
		err->msg[(size_t)n + 2 + (olen < room ? olen : room)] = '\0';
	}
	return -1;
}

const char *berth_err_str(const struct berth_err *err, char *buf, unsigned long len)
{
	if (err->errnum)
		snprintf(buf, len, "%s: %s", err->msg, strerror(err->errnum));
	else
		snprintf(buf, len, "%s", err->msg);
	return buf;
}
