/* Errors that carry context up (style.md #4): a fallible function returns a
 * negative value and fills a caller-owned struct berth_err; callers prefix
 * context ("web: mount /data: ..."). Fixed-size buffers: no allocation on
 * failure paths, so the same code works between clone and execve. */
#ifndef BERTH_ERR_H
#define BERTH_ERR_H

#include <errno.h>

#define BERTH_ERR_MSG 384

struct berth_err {
	int errnum;              /* errno value, 0 when not a system error */
	char msg[BERTH_ERR_MSG]; /* human-readable, without the strerror text */
};

/* Set ERR to ERRNUM and a formatted message; returns -1 for "return berth_err_set(...)". */
int berth_err_set(struct berth_err *err, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* As berth_err_set with the current errno. */
#define berth_err_sys(err, ...) berth_err_set((err), errno, __VA_ARGS__)
/* Prefix ERR's message with formatted context and ": ". Returns -1. */
int berth_err_prefix(struct berth_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Format "msg: strerror" (or just msg) into BUF. */
const char *berth_err_str(const struct berth_err *err, char *buf, unsigned long len);

#endif
