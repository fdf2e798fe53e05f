/* A growing text buffer, with JSON string quoting: how berthd builds replies. */
#ifndef BERTH_BUF_H
#define BERTH_BUF_H

#include <stddef.h>

struct berth_buf {
	char *p;     /* NUL-terminated; NULL while empty */
	size_t len, cap;
	int oom;     /* an append failed: the text is incomplete */
};

void berth_buf_printf(struct berth_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* S as a JSON string literal, quotes included; bytes below 0x20, '"' and '\\'
 * escaped, other bytes as they are (units and logs are UTF-8 or ASCII). */
void berth_buf_json_str(struct berth_buf *b, const char *s);
void berth_buf_free(struct berth_buf *b);

#endif
