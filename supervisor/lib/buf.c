/* Growing text buffers and JSON strings. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static int reserve(struct berth_buf *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (b->oom)
		return -1;
	while (b->len + more + 1 > cap)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void berth_buf_printf(struct berth_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(b, (size_t)n) < 0)
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void berth_buf_json_str(struct berth_buf *b, const char *s)
{
	if (reserve(b, strlen(s) * 6 + 2) < 0)
		return;
	b->p[b->len++] = '"';
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = (char)ch;
		} else if (ch < 0x20 || ch == 0x7f) {
			b->len += (size_t)snprintf(b->p + b->len, 7, "\\u%04x", ch);
		} else {
			b->p[b->len++] = (char)ch;
		}
	}
	b->p[b->len++] = '"';
	b->p[b->len] = '\0';
}

void berth_buf_free(struct berth_buf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}
