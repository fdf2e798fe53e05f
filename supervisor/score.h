/* `berthctl score`: an exposure score for a unit, 0.0 (safest) to 10.0, with
 * systemd-analyze security's formula and weights (reference/unit-semantics.md
 * §2.7, §6.6) applied to what a Berth container can and cannot do. Pure. */
#ifndef BERTH_SCORE_H
#define BERTH_SCORE_H

#include "unit.h"

struct berth_finding {
	const char *name;     /* "NoNewPrivileges=", "CapabilityBoundingSet=~CAP_NET_ADMIN", ... */
	const char *what;     /* what the check is about */
	unsigned weight, range;
	int badness;          /* 0..range; -1: not assessed (left out of the sums) */
	char note[96];        /* why this badness */
};

#define BERTH_SCORE_MAX_FINDINGS 96

struct berth_score {
	struct berth_finding f[BERTH_SCORE_MAX_FINDINGS];
	int n;
	unsigned exposure;    /* tenths: 0..100 */
};

void berth_score_unit(const struct berth_unit *u, struct berth_score *s);
/* systemd's labels: PERFECT, SAFE, OK, MEDIUM, EXPOSED, UNSAFE, DANGEROUS. */
const char *berth_score_label(unsigned exposure);

#endif
