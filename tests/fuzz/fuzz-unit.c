/* libFuzzer target: unit file parsing and validation (supervisor/unit.c) on
 * arbitrary bytes, with the network runtime off and on, then the checks
 * across units on a set of the parsed unit and two fixed ones that depend on
 * it, so the dependency, order, cycle and host-port code runs on fuzzed
 * names and ports. The sanitizers catch memory errors; the checks
 * below catch broken contracts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* "db" comes after "web" (a Requires=db in the input makes a cycle); "cache"
 * wants both and joins db's network. db claims a host port and an address,
 * for the conflict checks; they are parsed with the network runtime on. */
static const char db_text[] = "[Unit]\nAfter=web\n[Container]\nImage=base\nExec=/bin/db\n"
			      "PublishPort=192.168.7.1:5432:5432\nPublishPort=53:53/udp\nIPAddress=10.88.0.5\n";
static const char cache_text[] = "[Unit]\nWants=db web\n[Container]\nRootfs=/srv/cache\nExec=/bin/cache\n"
				 "Network=container:db\n";

static struct berth_unit *fixed(const char *name, const char *text)
{
	struct berth_unit *u = calloc(1, sizeof(*u));
	struct berth_diag d = { 0 };
	char path[64];

	if (!u)
		abort();
	strcpy(path, "/t/");
	strcat(path, name);
	strcat(path, ".container");
	if (berth_unit_parse(text, strlen(text), path, name, u, &d) != 0)
		abort();
	berth_diag_free(&d);
	return u;
}

/* A valid unit's network: addresses, ports and names only on the bridge; the limits; no host port
 * twice. */
static void check_net(const struct berth_unit_net *n)
{
	int other = n->ip || n->ndns || n->nhosts || n->npublish || n->isolation;

	if (n->mode != BERTH_NET_BRIDGE && other)
		abort();
	if ((n->mode == BERTH_NET_CONTAINER) != (n->container[0] != '\0'))
		abort();
	if (n->ndns > BERTH_NET_MAX_DNS || n->nhosts > BERTH_NET_MAX_HOSTS || n->npublish > BERTH_NET_MAX_PUBLISH)
		abort();
	for (int i = 0; i < n->npublish; i++) {
		const struct berth_net_port *p = &n->publish[i];

		if (!p->host_port || !p->container_port || p->line <= 0)
			abort();
		for (int j = 0; j < i; j++)
			if (n->publish[j].proto == p->proto && n->publish[j].host_port == p->host_port &&
			    (!n->publish[j].host_ip || !p->host_ip || n->publish[j].host_ip == p->host_ip))
				abort();
	}
	for (int i = 0; i < n->nhosts; i++)
		if (!n->hosts[i].name[0] || strlen(n->hosts[i].name) > BERTH_NET_HOSTNAME_MAX)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct berth_unit *db, *cache;
	struct berth_unit *u = calloc(1, sizeof(*u)), *set[3];
	struct berth_diag d = { 0 };
	size_t order[3];
	int r;

	if (!db) {
		db = fixed("db", db_text);
		cache = fixed("cache", cache_text);
	}
	if (!u)
		return 0;
	r = berth_unit_parse((const char *)data, size, "/t/web.container", "web", u, &d);
	/* Success and failure are what DIAG says; every line names the file. */
	if ((r == 0) != (d.errors == 0) || (r != 0 && r != -1))
		abort();
	if (d.errors && !d.oom && strncmp(berth_diag_text(&d), "/t/web.container", 16) != 0)
		abort();
	if (r == 0) {
		/* A valid unit has a command, an environment with PATH, a root and
		 * a host name, and the runtime's view matches the unit's. */
		int path = 0;

		if (!u->argv || !u->argv[0] || !u->envp || u->c.argv[0] != u->argv[0] || !u->c.rootfs[0] ||
		    !u->c.hostname[0] || strcmp(u->name, "web") != 0)
			abort();
		for (size_t i = 0; u->envp[i]; i++)
			path |= strncmp(u->envp[i], "PATH=", 5) == 0;
		if (!path || u->restart_max_us < u->restart_us || (u->c.cap_add & u->c.cap_drop))
			abort();
		check_net(&u->net);
	}
	/* The checks across units, on what was parsed (valid or not). */
	set[0] = u;
	set[1] = db;
	set[2] = cache;
	if (berth_units_check(set, 3, order, &d) == 0) {
		/* ORDER is a permutation with every dependency before its dependent. */
		size_t pos[3] = { 3, 3, 3 };

		for (size_t i = 0; i < 3; i++) {
			if (order[i] >= 3 || pos[order[i]] != 3)
				abort();
			pos[order[i]] = i;
		}
		if (pos[0] > pos[1] || pos[1] > pos[2] || pos[0] > pos[2])
			abort();
	}
	berth_unit_free(u);
	berth_diag_free(&d);
	return 0;
}
