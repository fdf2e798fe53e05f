/* Diagnostics: a growing text of "FILE:LINE: message" lines. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"

static void __attribute__((format(printf, 5, 0))) add(struct berth_diag *d, const char *file, int line, const char *kind, const char *fmt,
		va_list ap)
{
	char msg[1024], head[512];
	size_t need;
	int n;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (line > 0)
		snprintf(head, sizeof(head), "%s:%d: %s", file, line, kind);
	else
		snprintf(head, sizeof(head), "%s: %s", file, kind);
	need = strlen(head) + strlen(msg) + 2;
	if (d->len + need + 1 > d->cap) {
		size_t cap = d->cap ? d->cap : 256;
		char *t;

		while (d->len + need + 1 > cap)
			cap *= 2;
		t = realloc(d->text, cap);
		if (!t) {
			d->oom = 1;
			return;
		}
		d->text = t;
		d->cap = cap;
	}
	n = snprintf(d->text + d->len, d->cap - d->len, "%s%s\n", head, msg);
	d->len += (size_t)n;
}

void berth_diag_error(struct berth_diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, file, line, "", fmt, ap);
	va_end(ap);
	d->errors++;
}

void berth_diag_warn(struct berth_diag *d, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	add(d, file, line, "warning: ", fmt, ap);
	va_end(ap);
	d->warnings++;
}

const char *berth_diag_text(const struct berth_diag *d)
{
	return d->text ? d->text : "";
}

void berth_diag_free(struct berth_diag *d)
{
	free(d->text);
	memset(d, 0, sizeof(*d));
}
