/* berthctl metrics: the Prometheus text exposition format (version 0.0.4),
 * one scrape per request. Per unit: its state (one series per state, 1 for
 * the current one, as node_exporter's systemd collector does), restarts, and
 * while it runs its cgroup's cpu, memory, OOM kills and pids. The host: load,
 * memory, processes, uptime. Unit names need no escaping in a label value
 * ([a-z0-9_.-]). Only units PEER may read are listed. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "berthd.h"
#include "cgroup.h"

static void help(struct berth_buf *b, const char *name, const char *type, const char *text)
{
	berth_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, text, name, type);
}

/* A cgroup value of the running unit R as a sample; nothing when unreadable.
 * KEY selects a "key value" line; -2 ("max") is written as +Inf. */
static void cg_sample(struct berth_buf *b, const char *metric, const struct unit_rt *r, const char *file,
		      const char *key, double scale)
{
	int64_t v = berth_cgroup_read(r->name, file, key);

	if (v == -2)
		berth_buf_printf(b, "%s{unit=\"%s\"} +Inf\n", metric, r->name);
	else if (v >= 0 && scale == 1)
		berth_buf_printf(b, "%s{unit=\"%s\"} %" PRId64 "\n", metric, r->name, v);
	else if (v >= 0)
		berth_buf_printf(b, "%s{unit=\"%s\"} %.6f\n", metric, r->name, (double)v * scale);
}

static int live(const struct unit_rt *r)
{
	return r->svc.state == BERTH_SVC_RUNNING || r->svc.state == BERTH_SVC_STOPPING;
}

/* The value after KEY in the text file PATH ("MemTotal:" in /proc/meminfo). */
static int64_t file_value(const char *path, const char *key)
{
	char buf[4096], *p;
	FILE *f = fopen(path, "re");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	p = strstr(buf, key);
	return p ? strtoll(p + strlen(key), NULL, 10) : -1;
}

void berthd_metrics(struct berth_buf *b, const struct berth_peer *peer)
{
	const struct {
		const char *name, *type, *help, *file, *key;
		double scale;
	} cg[] = {
		{ "berth_unit_cpu_seconds_total", "counter", "CPU time of the unit's cgroup.", "cpu.stat",
		  "usage_usec ", 1e-6 },
		{ "berth_unit_memory_bytes", "gauge", "Memory charged to the unit's cgroup.", "memory.current", NULL, 1 },
		{ "berth_unit_memory_max_bytes", "gauge", "MemoryMax of the running unit.", "memory.max", NULL, 1 },
		{ "berth_unit_oom_kills_total", "counter", "Processes of the unit killed by the OOM killer.",
		  "memory.events", "oom_kill ", 1 },
		{ "berth_unit_pids", "gauge", "Tasks in the unit's cgroup.", "pids.current", NULL, 1 },
		{ "berth_unit_pids_max", "gauge", "The unit's task limit (pids.max).", "pids.max", NULL, 1 },
	};
	double load[3] = { 0 };
	unsigned running = 0, total = 0;
	FILE *f;

	berth_buf_printf(b, "# HELP berth_build_info Berth's version.\n# TYPE berth_build_info gauge\n"
			    "berth_build_info{version=\"%s\"} 1\n", BERTH_VERSION);
	help(b, "berth_unit_state", "gauge", "1 for the state the unit is in, 0 for the others.");
	for (int i = 0; i < MAX_UNITS; i++) {
		const struct unit_rt *r = units[i];

		if (!r || !berth_authz_allowed(&authz, peer, BERTH_VERB_METRICS, r->name))
			continue;
		for (int s = 0; s < BERTH_SVC_NSTATES; s++)
			berth_buf_printf(b, "berth_unit_state{unit=\"%s\",state=\"%s\"} %d\n", r->name,
					 berth_svc_state_name((enum berth_svc_state)s), r->svc.state == (unsigned)s);
	}
	help(b, "berth_unit_restarts_total", "counter", "Automatic restarts in the current streak.");
	for (int i = 0; i < MAX_UNITS; i++)
		if (units[i] && berth_authz_allowed(&authz, peer, BERTH_VERB_METRICS, units[i]->name))
			berth_buf_printf(b, "berth_unit_restarts_total{unit=\"%s\"} %u\n", units[i]->name,
					 units[i]->svc.restarts);
	for (size_t k = 0; k < sizeof(cg) / sizeof(cg[0]); k++) {
		help(b, cg[k].name, cg[k].type, cg[k].help);
		for (int i = 0; i < MAX_UNITS; i++)
			if (units[i] && live(units[i]) &&
			    berth_authz_allowed(&authz, peer, BERTH_VERB_METRICS, units[i]->name))
				cg_sample(b, cg[k].name, units[i], cg[k].file, cg[k].key, cg[k].scale);
	}
	f = fopen("/proc/loadavg", "re");
	if (f) {
		if (fscanf(f, "%lf %lf %lf %u/%u", &load[0], &load[1], &load[2], &running, &total) != 5)
			total = 0;
		fclose(f);
	}
	help(b, "berth_host_load1", "gauge", "Load average over 1 minute.");
	berth_buf_printf(b, "berth_host_load1 %.2f\n", load[0]);
	help(b, "berth_host_load5", "gauge", "Load average over 5 minutes.");
	berth_buf_printf(b, "berth_host_load5 %.2f\n", load[1]);
	help(b, "berth_host_load15", "gauge", "Load average over 15 minutes.");
	berth_buf_printf(b, "berth_host_load15 %.2f\n", load[2]);
	help(b, "berth_host_tasks", "gauge", "Tasks (threads) on the host.");
	berth_buf_printf(b, "berth_host_tasks %u\n", total);
	help(b, "berth_host_memory_total_bytes", "gauge", "MemTotal.");
	berth_buf_printf(b, "berth_host_memory_total_bytes %" PRId64 "\n",
			 file_value("/proc/meminfo", "MemTotal:") * 1024);
	help(b, "berth_host_memory_available_bytes", "gauge", "MemAvailable.");
	berth_buf_printf(b, "berth_host_memory_available_bytes %" PRId64 "\n",
			 file_value("/proc/meminfo", "MemAvailable:") * 1024);
	help(b, "berth_host_uptime_seconds", "gauge", "Time since boot.");
	berth_buf_printf(b, "berth_host_uptime_seconds %.3f\n", (double)berthd_now() / 1e6);
}
