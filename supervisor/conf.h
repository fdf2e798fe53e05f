/* berth.conf as berthd reads it (berth.conf(5)): every key checked, unknown
 * ones are errors. berth-init reads [cgroup] ParentPidsMax itself at boot;
 * berthd validates it too, so a typo there is reported somewhere. */
#ifndef BERTH_CONF_H
#define BERTH_CONF_H

#include <stddef.h>
#include <stdint.h>

#include "idmap.h"
#include "lib/diag.h"

#define BERTH_CONF_FILE "/etc/berth/berth.conf"

struct berth_conf {
	int64_t parent_pids_max;     /* -1: max; berth-init applies it */
	int64_t default_pids_limit;  /* pids.max of a unit without PidsLimit=; -1: max */
	struct berth_idpool pool;    /* [userns] Start=, Ranges= */
	uint32_t subnet;             /* [network] Subnet=: the bridge's network, host order */
	int prefix;                  /* its prefix length, 8..30 */
	int require_signed;          /* [trust] RequireSignedImages=: store images must be signed */
};

/* The defaults: ParentPidsMax 4096, DefaultPidsLimit 512, ids from 1000000,
 * 1024 ranges of 65536, Subnet 10.88.0.0/16, RequireSignedImages yes. */
void berth_conf_defaults(struct berth_conf *c);

/* Parse TEXT (LEN bytes) read from PATH into C (defaults first). Every error
 * goes to DIAG as PATH:LINE: message; returns 0 or -1 (C then holds the
 * defaults for every key that was in error). */
int berth_conf_parse(const char *text, size_t len, const char *path, struct berth_conf *c,
		     struct berth_diag *diag);

#endif
