/* berthd's side of container networking (docs/networking.md): the bridge
 * berth0 with the first address of [network] Subnet=, an address per unit
 * (persisted, or IPAddress=), the packet filter (nft.c) for the units on
 * the bridge, and the /etc/hosts and /etc/resolv.conf each container gets.
 * The veth pairs are the runtime's (spawn.c): it makes one per start, and
 * the kernel or the runtime deletes it when the container ends. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "berthd.h"
#include "idmap.h"
#include "lib/values.h"
#include "netlink.h"
#include "nft.h"
#include "unit-keys.h"

#define NET_RUN_DIR BERTH_RUN_DIR "/net"
#define HOST_RESOLV BERTH_RUN_DIR "/resolv.conf" /* the uplink's, from udhcpc */

static struct berth_conf conf_in_force; /* berth.conf, with the subnet berth0 has since boot */
static const struct berth_conf *cf;
static char net_error[BERTH_ERR_MSG]; /* non-empty: the bridge is not usable, and why */
static int forwarding;                /* ip_forward is on (only once rules are in force) */

static uint32_t gateway(void)
{
	return cf->subnet + 1;
}

static uint32_t mask(void)
{
	return cf->prefix ? ~0u << (32 - cf->prefix) : 0;
}

/* An address a container may have on the bridge: in the subnet, and not its
 * network, gateway (the host) or broadcast address. */
static int usable(uint32_t a)
{
	return (a & mask()) == cf->subnet && a != cf->subnet && a != gateway() && a != (cf->subnet | ~mask());
}

static int active(const struct unit_rt *r)
{
	return r->mon_fd >= 0 || r->svc.state == BERTH_SVC_STARTING || r->svc.state == BERTH_SVC_RUNNING ||
	       r->svc.state == BERTH_SVC_STOPPING;
}

static int on_bridge(const struct unit_rt *r)
{
	return r->u && r->u->net.mode == BERTH_NET_BRIDGE;
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	size_t len = strlen(text);
	int r = 0;

	if (fd < 0)
		return -1;
	/* In place, not renamed: the container holds a bind mount of this inode. */
	if (pwrite(fd, text, len, 0) != (ssize_t)len || ftruncate(fd, (off_t)len) < 0)
		r = -1;
	close(fd);
	return r;
}

/* --- addresses --- */

struct pick_ctx {
	const char *self;
};

/* Another loaded unit's IPAddress= is never handed out. */
static int fixed_elsewhere(const char *self, uint32_t a)
{
	for (int i = 0; i < MAX_UNITS; i++)
		if (units[i] && units[i]->u && strcmp(units[i]->name, self) != 0 && units[i]->u->net.ip == a)
			return 1;
	return 0;
}

static int keep_ip(const void *ctx, uint32_t a)
{
	return usable(a) && !fixed_elsewhere(((const struct pick_ctx *)ctx)->self, a);
}

static int pick_ip(const void *ctx, const uint32_t *used, size_t nused, uint32_t *v, struct berth_err *err)
{
	char net[16];

	for (uint32_t a = cf->subnet + 2; usable(a); a++) {
		size_t i = 0;

		while (i < nused && used[i] != a)
			i++;
		if (i == nused && keep_ip(ctx, a)) {
			*v = a;
			return 0;
		}
	}
	return berth_err_set(err, ENOSPC, "no free address left in %s/%d", berth_format_ipv4(cf->subnet, net),
			     cf->prefix);
}

/* --- the network of a run, kept on /run for a berthd that adopts it --- */

struct run_record {
	uint32_t magic, ip;
	int isolation, npublish;
	struct berth_net_port publish[BERTH_NET_MAX_PUBLISH];
};
#define RUN_MAGIC 0x62726e31u /* "brn1" */

static void run_path(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, NET_RUN_DIR "/%s/run", name);
}

static int run_save(const struct unit_rt *r, struct berth_err *err)
{
	struct run_record rec = { .magic = RUN_MAGIC, .ip = r->net_ip, .isolation = r->net_isolation,
				  .npublish = r->net_npublish };
	char path[320];
	int fd;

	memcpy(rec.publish, r->net_publish, sizeof(rec.publish));
	snprintf(path, sizeof(path), NET_RUN_DIR "/%s", r->name);
	if (berth_mkdir_p(path, 0700, err) < 0)
		return -1;
	run_path(path, sizeof(path), r->name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, &rec, sizeof(rec)) != (ssize_t)sizeof(rec)) {
		berth_err_sys(err, "%s", path);
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static int run_load(struct unit_rt *r)
{
	struct run_record rec;
	char path[320];
	int fd;
	ssize_t n;

	run_path(path, sizeof(path), r->name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	n = read(fd, &rec, sizeof(rec));
	close(fd);
	if (n != (ssize_t)sizeof(rec) || rec.magic != RUN_MAGIC || !rec.ip || rec.npublish < 0 ||
	    rec.npublish > BERTH_NET_MAX_PUBLISH)
		return -1;
	r->net_ip = rec.ip;
	r->net_isolation = rec.isolation;
	r->net_npublish = rec.npublish;
	memcpy(r->net_publish, rec.publish, sizeof(rec.publish));
	return 0;
}

static void run_clear(struct unit_rt *r)
{
	char path[320];

	run_path(path, sizeof(path), r->name);
	unlink(path);
	r->net_ip = 0;
	r->net_isolation = r->net_npublish = 0;
}

/* R's address: IPAddress=, else the one recorded for it (picked at its first start). */
static int unit_ip(struct unit_rt *r, uint32_t *ip, struct berth_err *err)
{
	struct pick_ctx ctx = { r->name };
	struct berth_record_rules rules = { .pick = pick_ip, .keep = keep_ip, .ctx = &ctx, .what = "address" };
	int fresh;

	if (r->u->net.ip) {
		*ip = r->u->net.ip;
		return berth_record_release(BERTH_NET_DIR, r->name, err);
	}
	return berth_record_get(BERTH_NET_DIR, r->name, &rules, ip, &fresh, err);
}

/* --- the files a container gets --- */

#define add berth_buf_printf

static void hosts_text(const struct unit_rt *r, struct berth_buf *b)
{
	const struct berth_unit *u = r->u;
	const char *host = u->c.hostname;
	char a[16];

	add(b, "# %s's hosts, written by berthd (docs/networking.md); changes are overwritten.\n", r->name);
	add(b, "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n");
	if (u->net.mode != BERTH_NET_BRIDGE) {
		add(b, "127.0.1.1\t%s\n", host);
		return;
	}
	add(b, "%s\t%s", berth_format_ipv4(r->net_ip, a), host);
	if (strcmp(host, r->name) != 0)
		add(b, " %s", r->name);
	add(b, "\n");
	/* Peers: the other units on the bridge now, unless one side is isolated. */
	for (int i = 0; i < MAX_UNITS && !u->net.isolation; i++) {
		const struct unit_rt *o = units[i];

		if (!o || o == r || !on_bridge(o) || !active(o) || !o->net_ip || o->u->net.isolation)
			continue;
		add(b, "%s\t%s", berth_format_ipv4(o->net_ip, a), o->name);
		if (strcmp(o->u->c.hostname, o->name) != 0)
			add(b, " %s", o->u->c.hostname);
		add(b, "\n");
	}
	for (int i = 0; i < u->net.nhosts; i++)
		add(b, "%s\t%s\n", berth_format_ipv4(u->net.hosts[i].ip, a), u->net.hosts[i].name);
}

static void resolv_text(const struct unit_rt *r, struct berth_buf *b)
{
	const struct berth_unit_net *n = &r->u->net;
	char a[16], line[256];
	FILE *f;

	add(b, "# %s's resolv.conf, written by berthd (docs/networking.md).\n", r->name);
	for (int i = 0; i < n->ndns; i++)
		add(b, "nameserver %s\n", berth_format_ipv4(n->dns[i], a));
	if (n->ndns)
		return;
	/* The host's servers; on the bridge, not its loopback ones (not reachable from there). */
	f = fopen(HOST_RESOLV, "re");
	while (f && fgets(line, sizeof(line), f)) {
		uint32_t ip;
		char *v = line + strlen("nameserver");

		if (strncmp(line, "nameserver", strlen("nameserver")) != 0)
			continue;
		v += strspn(v, " \t");
		v[strcspn(v, " \t\n")] = '\0';
		if (berth_parse_ipv4(v, &ip) < 0 || (n->mode == BERTH_NET_BRIDGE && ip >> 24 == 127))
			continue;
		add(b, "nameserver %s\n", v);
	}
	if (f)
		fclose(f);
}

static void file_path(char *buf, size_t len, const char *unit, const char *file)
{
	snprintf(buf, len, NET_RUN_DIR "/%s/%s", unit, file);
}

static int write_unit_files(const struct unit_rt *r, struct berth_err *err)
{
	struct berth_buf b = { 0 };
	char dir[300], path[320];
	int rc = 0;

	snprintf(dir, sizeof(dir), NET_RUN_DIR "/%s", r->name);
	if (berth_mkdir_p(dir, 0700, err) < 0)
		return -1;
	hosts_text(r, &b);
	file_path(path, sizeof(path), r->name, "hosts");
	if (!b.p || write_file(path, b.p) < 0)
		rc = berth_err_sys(err, "write %s", path);
	berth_buf_free(&b);
	if (rc < 0 || r->u->net.mode == BERTH_NET_NONE)
		return rc;
	resolv_text(r, &b);
	file_path(path, sizeof(path), r->name, "resolv.conf");
	if (!b.p || write_file(path, b.p) < 0)
		rc = berth_err_sys(err, "write %s", path);
	berth_buf_free(&b);
	return rc;
}

/* --- the packet filter --- */

static int apply_rules(const struct unit_rt *extra, struct berth_err *err)
{
	static struct berth_nft_publish pub[MAX_UNITS];
	static struct berth_nft_isolated iso[MAX_UNITS], ports[MAX_UNITS];
	static char links[MAX_UNITS][16];
	struct berth_nft_config c = { .bridge = BERTH_NET_BRIDGE_NAME, .subnet = cf->subnet, .prefix = cf->prefix,
				      .publish = pub, .isolated = iso, .ports = ports };

	for (int i = 0; i < MAX_UNITS; i++) {
		const struct unit_rt *r = units[i];

		/* Every run on the bridge, by the network it started with. */
		if (!r || !r->net_ip || (r != extra && !active(r)))
			continue;
		for (int k = 0; k < r->net_npublish && c.npublish < MAX_UNITS; k++) {
			const struct berth_net_port *p = &r->net_publish[k];

			pub[c.npublish++] = (struct berth_nft_publish){
				.host_ip = p->host_ip, .host_port = p->host_port,
				.proto = p->proto == BERTH_PROTO_UDP ? IPPROTO_UDP : IPPROTO_TCP,
				.ip = r->net_ip, .port = p->container_port };
		}
		berthd_net_link_name(r->net_ip, links[c.nports], sizeof(links[0]));
		ports[c.nports] = (struct berth_nft_isolated){ links[c.nports], r->net_ip };
		if (r->net_isolation)
			iso[c.nisolated++] = ports[c.nports];
		c.nports++;
	}
	if (berth_nft_apply(&c, err) < 0)
		return -1;
	/* Routing for the containers only once the rules that confine it are in force. */
	if (!forwarding) {
		if (write_file("/proc/sys/net/ipv4/ip_forward", "1\n") < 0)
			return berth_err_sys(err, "turn on IPv4 forwarding");
		forwarding = 1;
	}
	return 0;
}

/* --- what berthd calls --- */

void berthd_net_link_name(uint32_t ip, char *buf, size_t len)
{
	snprintf(buf, len, "bv%08x", ip);
}

/* The subnet berth0 got at this boot stays until the next: a berthd that
 * starts again with another Subnet= would otherwise give running containers'
 * addresses to others and aim their rules at addresses they do not have. */
static void keep_subnet(void)
{
	char text[32], a[16];
	uint32_t ip;
	int fd = open(NET_RUN_DIR "/subnet", O_RDONLY | O_CLOEXEC | O_NOFOLLOW), prefix;
	ssize_t n = fd >= 0 ? read(fd, text, sizeof(text) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n > 0) {
		char *slash;

		text[n] = '\0';
		slash = strchr(text, '/');
		if (slash) {
			*slash = '\0';
			prefix = atoi(slash + 1);
			if (berth_parse_ipv4(text, &ip) == 0 && prefix >= 8 && prefix <= 30 &&
			    (ip != conf_in_force.subnet || prefix != conf_in_force.prefix)) {
				berthd_event("network: Subnet= changed to %s/%d; %s/%d stays until the next boot",
					     berth_format_ipv4(conf_in_force.subnet, a), conf_in_force.prefix, text,
					     prefix);
				conf_in_force.subnet = ip;
				conf_in_force.prefix = prefix;
			}
			return;
		}
	}
	snprintf(text, sizeof(text), "%s/%d\n", berth_format_ipv4(cf->subnet, a), cf->prefix);
	write_file(NET_RUN_DIR "/subnet", text);
}

void berthd_net_start(const struct berth_conf *conf)
{
	struct berth_err err = { 0 };
	struct berth_nl nl;
	char a[16];

	conf_in_force = *conf;
	cf = &conf_in_force;
	if (berth_mkdir_p(NET_RUN_DIR, 0700, &err) < 0)
		goto fail;
	keep_subnet();
	if (berth_nl_open(&nl, &err) < 0)
		goto fail;
	/* berthd may be starting again: what is there already is fine. */
	if ((berth_nl_bridge_add(&nl, BERTH_NET_BRIDGE_NAME, &err) < 0 && err.errnum != EEXIST) ||
	    (berth_nl_addr_add(&nl, BERTH_NET_BRIDGE_NAME, gateway(), cf->prefix, &err) < 0 && err.errnum != EEXIST) ||
	    berth_nl_link_set(&nl, BERTH_NET_BRIDGE_NAME, 1, 0, &err) < 0) {
		berth_nl_close(&nl);
		goto fail;
	}
	berth_nl_close(&nl);
	/* IPv4 only: no link-local IPv6 path between containers and the host.
	 * Fail closed: only a kernel without IPv6 (no such file) is fine. */
	if (write_file("/proc/sys/net/ipv6/conf/" BERTH_NET_BRIDGE_NAME "/disable_ipv6", "1\n") < 0 &&
	    errno != ENOENT) {
		berth_err_sys(&err, "disable IPv6 on " BERTH_NET_BRIDGE_NAME);
		goto fail;
	}
	net_error[0] = '\0';
	berthd_event("network: bridge %s, %s/%d", BERTH_NET_BRIDGE_NAME, berth_format_ipv4(gateway(), a), cf->prefix);
	return;
fail:
	snprintf(net_error, sizeof(net_error), "%s", err.msg);
	berthd_event("network: the bridge is not available: %s", net_error);
}

int berthd_net_prepare(struct unit_rt *r, struct berth_container *c, struct berth_err *err)
{
	const struct berth_unit_net *n = &r->u->net;
	static char hosts[320], resolv[320];
	char a[16], b[16];

	c->net = (struct berth_container_net){ .ns = BERTH_NETNS_OWN };
	c->hosts_path = c->resolv_path = NULL;
	/* A record of an earlier run (whatever its mode) is not this run's. */
	run_clear(r);
	switch (n->mode) {
	case BERTH_NET_HOST:
		c->net.ns = BERTH_NETNS_HOST;
		break;
	case BERTH_NET_CONTAINER: {
		struct unit_rt *t = berthd_find(n->container);

		if (!t || !t->pid || t->svc.state != BERTH_SVC_RUNNING)
			return berth_err_set(err, ESRCH, "Network=container:%s: %s is not running", n->container,
					     n->container);
		c->net.ns = BERTH_NETNS_JOIN;
		c->net.join_pid = t->pid;
		snprintf(c->net.join_name, sizeof(c->net.join_name), "%s", t->name);
		/* Its stack, its names. */
		file_path(hosts, sizeof(hosts), t->name, "hosts");
		file_path(resolv, sizeof(resolv), t->name, "resolv.conf");
		c->hosts_path = access(hosts, F_OK) == 0 ? hosts : NULL;
		c->resolv_path = access(resolv, F_OK) == 0 ? resolv : NULL;
		return 0;
	}
	case BERTH_NET_BRIDGE: {
		uint32_t ip;

		if (net_error[0])
			return berth_err_set(err, ENETDOWN, "the bridge %s is not available: %s", BERTH_NET_BRIDGE_NAME,
					     net_error);
		if (n->ip && !usable(n->ip))
			return berth_err_set(err, EINVAL, "%s=%s is not an address for a container in %s/%d "
					     "(berth.conf [network] Subnet=)", n->ip_key ? n->ip_key : "IPAddress",
					     berth_format_ipv4(n->ip, a), berth_format_ipv4(cf->subnet, b), cf->prefix);
		if (unit_ip(r, &ip, err) < 0)
			return -1;
		for (int i = 0; i < MAX_UNITS; i++)
			if (units[i] && units[i] != r && active(units[i]) && units[i]->net_ip == ip)
				return berth_err_set(err, EADDRINUSE, "address %s is in use by %s",
						     berth_format_ipv4(ip, a), units[i]->name);
		r->net_ip = ip;
		r->net_isolation = n->isolation;
		r->net_npublish = n->npublish;
		memcpy(r->net_publish, n->publish, sizeof(r->net_publish));
		if (run_save(r, err) < 0)
			return -1;
		snprintf(c->net.bridge, sizeof(c->net.bridge), "%s", BERTH_NET_BRIDGE_NAME);
		berthd_net_link_name(ip, c->net.host_link, sizeof(c->net.host_link));
		c->net.ip = ip;
		c->net.gateway = gateway();
		c->net.prefix = cf->prefix;
		/* Its rules before it runs: an isolated container is never unconfined. */
		if (apply_rules(r, err) < 0)
			return berth_err_prefix(err, "network rules");
		break;
	}
	case BERTH_NET_NONE:
		break;
	}
	if (write_unit_files(r, err) < 0)
		return -1;
	file_path(hosts, sizeof(hosts), r->name, "hosts");
	c->hosts_path = hosts;
	if (n->mode != BERTH_NET_NONE) {
		file_path(resolv, sizeof(resolv), r->name, "resolv.conf");
		c->resolv_path = resolv;
	}
	return 0;
}

static int changed; /* a run on the bridge started or ended since the last update */

void berthd_net_changed(void)
{
	changed = 1;
}

void berthd_net_flush(void)
{
	if (changed) {
		changed = 0;
		berthd_net_update();
	}
}

void berthd_net_update(void)
{
	struct berth_err err = { 0 };

	if (net_error[0] || !cf)
		return;
	for (int i = 0; i < MAX_UNITS; i++) {
		struct unit_rt *r = units[i];

		if (!r || !active(r))
			continue;
		/* A container berthd adopted after a restart: its network as it
		 * started is on record (berthd_net_adopted); without the record
		 * (a run older than it), the unit's address. */
		if (!r->net_ip && run_load(r) < 0) {
			if (!on_bridge(r))
				continue;
			if (unit_ip(r, &r->net_ip, &err) < 0) {
				berthd_event("%s: network: %s", r->name, err.msg);
				continue;
			}
			r->net_isolation = r->u->net.isolation;
			r->net_npublish = r->u->net.npublish;
			memcpy(r->net_publish, r->u->net.publish, sizeof(r->net_publish));
		}
		if (on_bridge(r) && write_unit_files(r, &err) < 0)
			berthd_event("%s: network: %s", r->name, err.msg);
	}
	if (apply_rules(NULL, &err) < 0)
		berthd_event("network rules: %s", err.msg);
}

void berthd_net_adopted(struct unit_rt *r)
{
	run_load(r);
}

void berthd_net_stopped(struct unit_rt *r)
{
	struct berth_container c;

	if (!r->net_ip)
		return;
	/* Normally gone with its namespace (or deleted by the monitor). */
	berth_container_init(&c);
	berthd_net_link_name(r->net_ip, c.net.host_link, sizeof(c.net.host_link));
	berth_container_net_cleanup(&c);
	run_clear(r);
	berthd_net_changed();
}

void berthd_net_forget(const char *name)
{
	struct berth_err err;
	char path[320];

	berth_record_release(BERTH_NET_DIR, name, &err);
	file_path(path, sizeof(path), name, "hosts");
	unlink(path);
	file_path(path, sizeof(path), name, "resolv.conf");
	unlink(path);
	run_path(path, sizeof(path), name);
	unlink(path);
	snprintf(path, sizeof(path), NET_RUN_DIR "/%s", name);
	rmdir(path);
}

uint32_t berthd_net_address(const struct unit_rt *r)
{
	uint32_t ip = 0;

	if (r->net_ip || !r->u || r->u->net.mode != BERTH_NET_BRIDGE)
		return r->net_ip;
	if (r->u->net.ip)
		return r->u->net.ip;
	return berth_record_read(BERTH_NET_DIR, r->name, &ip) == 0 ? ip : 0;
}

void berthd_net_json(struct berth_buf *b, const struct unit_rt *r, const struct berth_unit *u)
{
	const struct berth_unit_net *n = &u->net;
	uint32_t ip = berthd_net_address(r);
	char a[64];

	berth_buf_printf(b, ",\"network\":{\"mode\":\"%s\"", berth_net_mode_name(n->mode));
	if (n->mode == BERTH_NET_CONTAINER) {
		berth_buf_printf(b, ",\"container\":");
		berth_buf_json_str(b, n->container);
	}
	if (n->mode == BERTH_NET_BRIDGE) {
		berth_buf_printf(b, ",\"bridge\":\"%s\",\"address\":", BERTH_NET_BRIDGE_NAME);
		if (ip)
			berth_buf_printf(b, "\"%s\"", berth_format_ipv4(ip, a));
		else
			berth_buf_printf(b, "null");
		berth_buf_printf(b, ",\"fixed\":%s,\"host_link\":", n->ip ? "true" : "false");
		if (ip) {
			berthd_net_link_name(ip, a, sizeof(a));
			berth_buf_printf(b, "\"%s\"", a);
		} else {
			berth_buf_printf(b, "null");
		}
		if (cf)
			berth_buf_printf(b, ",\"gateway\":\"%s\",\"prefix\":%d", berth_format_ipv4(gateway(), a),
					 cf->prefix);
		berth_buf_printf(b, ",\"isolation\":%s,\"publish\":[", n->isolation ? "true" : "false");
		for (int i = 0; i < n->npublish; i++)
			berth_buf_printf(b, "%s\"%s\"", i ? "," : "", berth_net_port_str(&n->publish[i], 1, a, sizeof(a)));
		berth_buf_printf(b, "],\"dns\":[");
		for (int i = 0; i < n->ndns; i++)
			berth_buf_printf(b, "%s\"%s\"", i ? "," : "", berth_format_ipv4(n->dns[i], a));
		berth_buf_printf(b, "],\"add_host\":[");
		for (int i = 0; i < n->nhosts; i++) {
			berth_buf_printf(b, "%s", i ? "," : "");
			berth_buf_printf(b, "\"%s:%s\"", n->hosts[i].name, berth_format_ipv4(n->hosts[i].ip, a));
		}
		berth_buf_printf(b, "]");
	}
	berth_buf_printf(b, "}");
}

const char *berthd_net_error(void)
{
	return net_error;
}
