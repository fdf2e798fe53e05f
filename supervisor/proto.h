/* The control protocol between berthctl and berthd, on BERTH_SOCKET
 * (SOCK_SEQPACKET: every message arrives whole or not at all).
 *
 * Request: one message of at most BERTH_REQ_MAX bytes: NUL-terminated fields,
 *   "berth/1" VERB ARG... (at most BERTH_REQ_ARGS arguments), printable
 *   characters only. One request per connection.
 * Reply: zero or more data messages ('D' then bytes: JSON for the tabular
 *   verbs, text otherwise), then one end message ('E', the exit code as one
 *   byte (enum berth_status), then a text message), which may carry a file
 *   descriptor (SCM_RIGHTS: the log file for "logs"). */
#ifndef BERTH_PROTO_H
#define BERTH_PROTO_H

#include <stddef.h>

#define BERTH_SOCKET "/run/berth/berthd.sock"
#define BERTH_PROTO_VERSION "berth/1"
#define BERTH_REQ_MAX 4096
#define BERTH_REQ_ARGS 64
#define BERTH_REPLY_CHUNK 32768

/* berthctl's exit codes, and the status of a reply. */
enum berth_status {
	BERTH_OK = 0,
	BERTH_FAILED = 1,
	BERTH_USAGE = 2,
	BERTH_DENIED = 3,
	BERTH_NOT_FOUND = 4,
};

struct berth_request {
	const char *verb;
	const char *args[BERTH_REQ_ARGS];
	int nargs;
	char buf[BERTH_REQ_MAX + 1];
};

/* Parse one request message. Returns 0, or -1 with a reason in WHY (a bad
 * version is reported as such, so old clients learn why). */
int berth_request_parse(const char *msg, size_t len, struct berth_request *req, char *why, size_t wlen);

/* Build a request into OUT (at least BERTH_REQ_MAX bytes); returns its length,
 * or 0 if it does not fit or an argument is not printable. */
size_t berth_request_build(char *out, const char *verb, const char *const *args, int nargs);

#endif
