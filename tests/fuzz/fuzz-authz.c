/* libFuzzer target: authz.conf parsing (supervisor/authz.c) on arbitrary bytes,
 * then decisions for a few peers, verbs and units. The sanitizers catch memory
 * errors; the checks below catch broken contracts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Users root=0, admin=1000, ops=1001; groups berth-ops=900, berth-admin=901. */
static int lookup(const char *name, int group, uint32_t *id, void *ctx)
{
	static const struct {
		const char *name;
		int group;
		uint32_t id;
	} db[] = {
		{ "root", 0, 0 },	    { "admin", 0, 1000 },	 { "ops", 0, 1001 },
		{ "berth-ops", 1, 900 }, { "berth-admin", 1, 901 },
	};

	(void)ctx;
	for (size_t i = 0; i < sizeof(db) / sizeof(db[0]); i++)
		if (db[i].group == group && strcmp(db[i].name, name) == 0) {
			*id = db[i].id;
			return 0;
		}
	return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const gid_t ops_groups[] = { 1001, 900 }, admin_groups[] = { 1000, 901 };
	static const struct berth_peer peers[] = {
		{ 0, 0, NULL, 0 },
		{ 1001, 1001, ops_groups, 2 },
		{ 1000, 1000, admin_groups, 2 },
		{ 2000, 900, NULL, 0 },
	};
	static const char *const units[] = { NULL, "web-1", "db", "a[b" };
	struct berth_authz a = { (struct berth_authz_rule *)&a, 7 };
	struct berth_diag d = { 0 };
	int r = berth_authz_parse((const char *)data, size, "f.conf", lookup, NULL, &a, &d);

	/* Success and failure are what DIAG says; a failed parse leaves OUT empty. */
	if ((r == 0) != (d.errors == 0) || (r != 0 && (a.rules || a.n)) || (r != 0 && r != -1))
		abort();
	if (d.errors && (!d.oom && strncmp(berth_diag_text(&d), "f.conf:", 7) != 0))
		abort();
	for (size_t i = 0; i < a.n; i++) {
		const struct berth_authz_rule *rule = &a.rules[i];

		if (!rule->units || !rule->units[0] || rule->line < 1 || rule->verbs == 0 ||
		    rule->verbs >> BERTH_VERB_COUNT)
			abort();
		if (rule->all_units != (strcmp(rule->units[0], "*") == 0 && !rule->units[1]))
			abort();
	}
	for (size_t p = 0; p < sizeof(peers) / sizeof(peers[0]); p++)
		for (int v = 0; v <= BERTH_VERB_COUNT; v++)
			for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
				int ok = berth_authz_allowed(&a, &peers[p], v, units[u]);

				/* root always; nobody else for an unknown verb; a global
				 * verb does not depend on the unit named. */
				if ((peers[p].uid == 0 && !ok) || (peers[p].uid && v == BERTH_VERB_COUNT && ok))
					abort();
				if (berth_verb_is_global(v) && ok != berth_authz_allowed(&a, &peers[p], v, NULL))
					abort();
			}
	berth_authz_free(&a);
	if (a.rules || a.n)
		abort();
	berth_diag_free(&d);
	return 0;
}
