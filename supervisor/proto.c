/* Control requests: parsing (berthd) and building (berthctl). Fields are
 * printable ASCII: names and verbs are, and nothing else reaches a log. */
#include <stdio.h>
#include <string.h>

#include "proto.h"

static int field_ok(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

int berth_request_parse(const char *msg, size_t len, struct berth_request *req, char *why, size_t wlen)
{
	const char *fields[BERTH_REQ_ARGS + 2];
	size_t nf = 0, off = 0;

	memset(req, 0, sizeof(*req));
	if (len == 0 || len > BERTH_REQ_MAX || msg[len - 1] != '\0') {
		snprintf(why, wlen, "malformed request");
		return -1;
	}
	memcpy(req->buf, msg, len);
	while (off < len) {
		size_t n = strlen(req->buf + off);

		if (nf == BERTH_REQ_ARGS + 2) {
			snprintf(why, wlen, "more than %d arguments", BERTH_REQ_ARGS);
			return -1;
		}
		if (!field_ok(req->buf + off, n)) {
			snprintf(why, wlen, "a request field is not printable");
			return -1;
		}
		fields[nf++] = req->buf + off;
		off += n + 1;
	}
	if (strcmp(fields[0], BERTH_PROTO_VERSION) != 0) {
		snprintf(why, wlen, "protocol version '%.32s' is not %s", fields[0], BERTH_PROTO_VERSION);
		return -1;
	}
	if (nf < 2 || !fields[1][0]) {
		snprintf(why, wlen, "no verb");
		return -1;
	}
	req->verb = fields[1];
	for (size_t i = 2; i < nf; i++)
		req->args[req->nargs++] = fields[i];
	return 0;
}

size_t berth_request_build(char *out, const char *verb, const char *const *args, int nargs)
{
	size_t len = 0;
	const char *f[BERTH_REQ_ARGS + 2];
	int nf = 0;

	if (nargs > BERTH_REQ_ARGS)
		return 0;
	f[nf++] = BERTH_PROTO_VERSION;
	f[nf++] = verb;
	for (int i = 0; i < nargs; i++)
		f[nf++] = args[i];
	for (int i = 0; i < nf; i++) {
		size_t n = strlen(f[i]);

		if (!field_ok(f[i], n) || len + n + 1 > BERTH_REQ_MAX)
			return 0;
		memcpy(out + len, f[i], n + 1);
		len += n + 1;
	}
	return len;
}
