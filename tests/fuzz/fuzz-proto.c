/* libFuzzer target: control requests (supervisor/proto.c). A request that
 * parses is rebuilt and parsed again, and must come back the same (verb,
 * arguments, and the very bytes: the format has one spelling per request).
 * The input is also taken as fields to build from: what build accepts, parse
 * must accept too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void same(const struct berth_request *a, const struct berth_request *b)
{
	if (strcmp(a->verb, b->verb) != 0 || a->nargs != b->nargs)
		abort();
	for (int i = 0; i < a->nargs; i++)
		if (strcmp(a->args[i], b->args[i]) != 0)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct berth_request req, again;
	static char out[BERTH_REQ_MAX], copy[BERTH_REQ_MAX + 64], why[128];
	const char *fields[BERTH_REQ_ARGS + 2];
	size_t n, nf = 0;

	why[0] = '\0';
	if (berth_request_parse((const char *)data, size, &req, why, sizeof(why)) == 0) {
		if (!req.verb || !req.verb[0] || req.nargs < 0 || req.nargs > BERTH_REQ_ARGS)
			abort();
		n = berth_request_build(out, req.verb, req.args, req.nargs);
		if (n != size || memcmp(out, data, size) != 0)
			abort();
		if (berth_request_parse(out, n, &again, why, sizeof(why)) != 0)
			abort();
		same(&req, &again);
	} else if (!why[0] || strlen(why) >= sizeof(why)) {
		abort();
	}

	/* The input as NUL-separated fields: the verb, then the arguments. */
	if (size >= sizeof(copy))
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t off = 0; off <= size && nf < BERTH_REQ_ARGS + 1; off += strlen(copy + off) + 1)
		fields[nf++] = copy + off;
	n = berth_request_build(out, fields[0], fields + 1, (int)nf - 1);
	if (n > BERTH_REQ_MAX)
		abort();
	if (n > 0 && fields[0][0]) {
		if (berth_request_parse(out, n, &req, why, sizeof(why)) != 0)
			abort();
		if (strcmp(req.verb, fields[0]) != 0 || req.nargs != (int)nf - 1)
			abort();
		for (int i = 0; i < req.nargs; i++)
			if (strcmp(req.args[i], fields[i + 1]) != 0)
				abort();
	}
	return 0;
}
