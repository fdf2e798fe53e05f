/* berth.conf for berthd: [cgroup] ParentPidsMax and DefaultPidsLimit,
 * [userns] Start and Ranges, [network] Subnet, [trust] RequireSignedImages. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "container.h"
#include "ini.h"
#include "lib/values.h"

struct ctx {
	struct berth_conf *c;
	struct berth_diag *d;
	const char *path;
	uint64_t start, ranges;
	int seen[6];
};

#define NKEYS 6

static const char *const keys[][2] = {
	{ "cgroup", "ParentPidsMax" },
	{ "cgroup", "DefaultPidsLimit" },
	{ "userns", "Start" },
	{ "userns", "Ranges" },
	{ "network", "Subnet" },
	{ "trust", "RequireSignedImages" },
};

/* "10.88.0.0/16": a network of 8 to 30 prefix bits (the bridge takes .1,
 * containers the rest), host bits clear, not loopback, link-local,
 * multicast or reserved. */
static const char *subnet(const char *v, uint32_t *net, int *prefix)
{
	char addr[16];
	const char *slash = strchr(v, '/');
	uint64_t p;
	uint32_t a, mask;

	if (!slash || (size_t)(slash - v) >= sizeof(addr) || berth_parse_uint(slash + 1, 8, 30, &p) < 0)
		return "expected NETWORK/PREFIX with a prefix of 8 to 30 (10.88.0.0/16)";
	memcpy(addr, v, (size_t)(slash - v));
	addr[slash - v] = '\0';
	if (berth_parse_ipv4(addr, &a) < 0)
		return "expected NETWORK/PREFIX with a prefix of 8 to 30 (10.88.0.0/16)";
	mask = 0xffffffffu << (32 - p);
	if (a & ~mask)
		return "host bits are set (the network address has them all zero)";
	if ((a >> 24) == 0 || (a >> 24) == 127 || (a >> 16) == 0xa9fe || (a >> 28) >= 0xe)
		return "not a usable network (0/8, loopback, link-local, multicast or reserved)";
	*net = a;
	*prefix = (int)p;
	return NULL;
}

static int limit(const char *v, int64_t *out)
{
	uint64_t x;

	if (strcmp(v, "max") == 0) {
		*out = -1;
		return 0;
	}
	if (berth_parse_uint(v, 1, 4194304, &x) < 0)
		return -1;
	*out = (int64_t)x;
	return 0;
}

static int handler(void *user, const char *section, const char *name, const char *value, int line)
{
	struct ctx *x = user;
	int k = -1;

	for (int i = 0; i < NKEYS; i++)
		if (strcmp(section, keys[i][0]) == 0 && strcmp(name, keys[i][1]) == 0)
			k = i;
	if (k < 0) {
		const char *cand[NKEYS];
		const char *best;

		for (int i = 0; i < NKEYS; i++)
			cand[i] = keys[i][1];
		best = berth_did_you_mean(name, cand, NKEYS);

		if (best)
			berth_diag_error(x->d, x->path, line, "unknown key '%s' in [%s]; did you mean '%s'?", name,
					 section, best);
		else
			berth_diag_error(x->d, x->path, line, "unknown key '%s' in [%s]", name, section);
		return 1;
	}
	if (x->seen[k]) {
		berth_diag_error(x->d, x->path, line, "%s= is already set on line %d", name, x->seen[k]);
		return 1;
	}
	x->seen[k] = line;
	switch (k) {
	case 0:
	case 1:
		if (limit(value, k == 0 ? &x->c->parent_pids_max : &x->c->default_pids_limit) < 0)
			berth_diag_error(x->d, x->path, line, "%s=%s: expected 1..4194304 or \"max\"", name, value);
		break;
	case 2:
		/* Below 65536 are the host's own users; 0 would be host root. */
		if (berth_parse_uint(value, 65536, UINT32_MAX - BERTH_USERNS_SIZE, &x->start) < 0)
			berth_diag_error(x->d, x->path, line, "%s=%s: expected a host id from 65536", name, value);
		break;
	case 3:
		if (berth_parse_uint(value, 1, 65535, &x->ranges) < 0)
			berth_diag_error(x->d, x->path, line, "%s=%s: expected 1..65535 ranges of 65536 ids", name,
					 value);
		break;
	case 4: {
		const char *why = subnet(value, &x->c->subnet, &x->c->prefix);

		if (why)
			berth_diag_error(x->d, x->path, line, "%s=%s: %s", name, value, why);
		break;
	}
	case 5:
		if (berth_parse_bool(value, &x->c->require_signed) < 0)
			berth_diag_error(x->d, x->path, line, "%s=%s: expected yes or no", name, value);
		break;
	}
	return 1;
}

void berth_conf_defaults(struct berth_conf *c)
{
	c->parent_pids_max = 4096;
	c->default_pids_limit = 512;
	c->pool.start = 1000000;
	c->pool.count = 1024 * BERTH_USERNS_SIZE;
	c->subnet = 0x0a580000u; /* 10.88.0.0 */
	c->prefix = 16;
	c->require_signed = 1;
}

int berth_conf_parse(const char *text, size_t len, const char *path, struct berth_conf *c,
		     struct berth_diag *diag)
{
	struct ctx x = { .c = c, .d = diag, .path = path, .start = 1000000, .ranges = 1024 };
	int before = diag->errors, r;
	char *copy = malloc(len + 1);

	berth_conf_defaults(c);
	if (!copy) {
		berth_diag_error(diag, path, 0, "out of memory");
		return -1;
	}
	memcpy(copy, text, len);
	copy[len] = '\0';
	if (strlen(copy) != len)
		berth_diag_error(diag, path, 0, "NUL byte in the file");
	else if ((r = ini_parse_string(copy, handler, &x)) != 0)
		berth_diag_error(diag, path, r, "syntax error (expected [section] or KEY=VALUE)");
	free(copy);
	if (x.start + x.ranges * BERTH_USERNS_SIZE - 1 > UINT32_MAX) {
		berth_diag_error(diag, path, x.seen[3] ? x.seen[3] : x.seen[2],
				 "[userns] Start= plus Ranges= x 65536 goes beyond host id 4294967295");
	} else {
		c->pool.start = (uint32_t)x.start;
		c->pool.count = (uint32_t)(x.ranges * BERTH_USERNS_SIZE);
	}
	return diag->errors > before ? -1 : 0;
}
