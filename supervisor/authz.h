/* Authorization of control requests (design.md "Control"): which users and
 * groups may call which verbs on which units, from /etc/berth/authz.conf.
 * Parsing and decisions are pure (names are resolved through a callback), so
 * unit tests and the fuzzer reach all of it.
 *
 * File format, one rule per line of at most 1024 bytes, three fields separated by
 * spaces or tabs; a line whose first non-blank character is '#' is a comment (there
 * are no comments after a rule), blank lines are ignored:
 *     PRINCIPAL  VERBS  UNITS
 *   PRINCIPAL  a user name, or @GROUP for every member of a group (primary or
 *              supplementary group of the peer, as the kernel reports them)
 *   VERBS      comma-separated verb names, "read" (every read-only verb) or "*"
 *   UNITS      comma-separated unit-name patterns (fnmatch(3), no flags) made of
 *              A-Z a-z 0-9 _ . * ? [ ] ! - only, or "*"
 * Rules only grant; a request is allowed when any rule matching the peer grants
 * the verb for the unit. Verbs that act on no single unit (metrics, reload, deploy,
 * poweroff, reboot, images, image) need a rule whose UNITS is exactly "*". uid 0 is always allowed: root owns the
 * host anyway, and a broken policy file must not lock the operator out. */
#ifndef BERTH_AUTHZ_H
#define BERTH_AUTHZ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lib/diag.h"

enum berth_verb {
	/* read-only */
	BERTH_VERB_LIST,
	BERTH_VERB_STATUS,
	BERTH_VERB_LOGS,
	BERTH_VERB_STATS,
	BERTH_VERB_INSPECT,
	BERTH_VERB_CAT,
	BERTH_VERB_METRICS,
	/* changing */
	BERTH_VERB_START,
	BERTH_VERB_STOP,
	BERTH_VERB_RESTART,
	BERTH_VERB_RELOAD,
	BERTH_VERB_DEPLOY,
	BERTH_VERB_RM,
	BERTH_VERB_EXEC,
	BERTH_VERB_POWEROFF,
	BERTH_VERB_REBOOT,
	BERTH_VERB_IMAGES, /* image ls, image inspect, trust show: read the image store */
	BERTH_VERB_IMAGE,  /* image import, rm, prune, trust update: change it */
	BERTH_VERB_COUNT
};

/* "list" -> BERTH_VERB_LIST; -1 for an unknown name. */
int berth_verb_from_name(const char *name);
const char *berth_verb_name(enum berth_verb v);
int berth_verb_is_read(enum berth_verb v);
/* Verbs that name no unit (reload, metrics, deploy: see authz.c's table). */
int berth_verb_is_global(enum berth_verb v);

struct berth_authz_rule {
	int group;          /* 0: ID is a uid; 1: ID is a gid */
	uint32_t id;
	uint32_t verbs;     /* bit (1 << enum berth_verb) */
	char **units;       /* patterns; NULL-terminated, one allocation */
	int all_units;      /* UNITS was exactly "*" */
	int line;
};

struct berth_authz {
	struct berth_authz_rule *rules;
	size_t n;
};

/* Resolve a user (GROUP 0) or group (GROUP 1) name to its id: 0, or -1 if unknown. */
typedef int (*berth_authz_lookup_fn)(const char *name, int group, uint32_t *id, void *ctx);

/* Parse TEXT (LEN bytes, may contain anything) read from FILE. Every error goes
 * to DIAG as FILE:LINE: message (unknown verb with a did-you-mean hint, unknown
 * user or group, a line with too few or too many fields, a bad pattern, a NUL
 * byte, a line longer than 1024 bytes). Returns 0 and fills OUT when there was no
 * error; -1 otherwise (OUT is then empty: a policy with errors is never used in
 * part). */
int berth_authz_parse(const char *text, size_t len, const char *file, berth_authz_lookup_fn lookup,
		      void *ctx, struct berth_authz *out, struct berth_diag *diag);

/* The peer as SO_PEERCRED and SO_PEERGROUPS describe it. */
struct berth_peer {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t ngroups;
};

/* 1 if PEER may call VERB on UNIT, else 0. UNIT is ignored for a global verb; NULL
 * for a per-unit verb asks about all units (needs UNITS "*", as a global verb). */
int berth_authz_allowed(const struct berth_authz *a, const struct berth_peer *peer, enum berth_verb verb,
			const char *unit);

/* Free every rule and empty A; safe to call again. */
void berth_authz_free(struct berth_authz *a);

#endif
