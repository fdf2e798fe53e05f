/* supervisor/nft.c against the real kernel, in network namespaces of this
 * test (root only; the host's own network is never touched). The topology,
 * one namespace each:
 *   host   berth0 10.88.0.1/16, uplink up0 192.168.77.1/24, forwarding on
 *   c1     eth0 10.88.0.2 on berth0 (a container)
 *   c2     eth0 10.88.0.3 on berth0 (a container, isolated in one check)
 *   out    eth0 192.168.77.2 on up0 (the world beyond the uplink)
 *   lan2   eth0 192.168.78.2 on up1 (a second network the host is on)
 * The test process moves between them with setns: a socket stays in the
 * namespace it was made in. Every expectation is a connection that must be
 * made, or must not be (no answer within 1.5 s). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/values.h"
#include "netlink.h"
#include "nft.h"
#include "t.h"

enum { HOST, C1, C2, OUT, LAN2, NNS };
static int ns[NNS];

static void enter(int which)
{
	if (setns(ns[which], CLONE_NEWNET) < 0) {
		printf("FAIL setns: %s\n", strerror(errno));
		exit(1);
	}
}

static uint32_t ip(const char *s)
{
	uint32_t a = 0;

	berth_parse_ipv4(s, &a);
	return a;
}

/* A listening TCP socket in namespace WHICH on ADDR:PORT. */
static int listen_in(int which, const char *addr, int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(ip(addr)) };
	int s, one = 1;

	enter(which);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (s < 0 || bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(s, 8) < 0) {
		printf("FAIL listen %s:%d: %s\n", addr, port, strerror(errno));
		exit(1);
	}
	enter(HOST);
	return s;
}

/* From namespace WHICH (from source address SRC, which it must have, unless
 * NULL), connect to ADDR:PORT; 1 if LISTENER accepted it within 1.5 s (and
 * *PEER is the source address it saw), else 0. */
static int connect_from(int which, const char *src, const char *addr, int port, int listener, uint32_t *peer)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				  .sin_addr.s_addr = htonl(ip(addr)) },
			   me = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(src ? ip(src) : 0) }, from;
	socklen_t fl = sizeof(from);
	struct pollfd p = { .fd = listener, .events = POLLIN };
	int s, c, ok = 0;

	enter(which);
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	enter(HOST);
	if (s < 0)
		return 0;
	if ((src && bind(s, (struct sockaddr *)&me, sizeof(me)) < 0) ||
	    (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 && errno != EINPROGRESS)) {
		close(s);
		return 0;
	}
	if (poll(&p, 1, 1500) == 1 && (c = accept(listener, (struct sockaddr *)&from, &fl)) >= 0) {
		ok = 1;
		if (peer)
			*peer = ntohl(from.sin_addr.s_addr);
		close(c);
	}
	close(s);
	return ok;
}

static int reaches(int which, const char *addr, int port, int listener, uint32_t *peer)
{
	return connect_from(which, NULL, addr, port, listener, peer);
}

/* The same from source address SRC, seen as such by the listener. */
static int reaches_from(int which, const char *src, const char *addr, int port, int listener)
{
	uint32_t seen = 0;

	return connect_from(which, src, addr, port, listener, &seen) && seen == ip(src);
}

static int sysctl_write(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	int ok = fd >= 0 && write(fd, v, strlen(v)) == (ssize_t)strlen(v);

	if (fd >= 0)
		close(fd);
	return ok ? 0 : -1;
}

/* Namespace WHICH gets link PEER (made here as NAME/PEER) as ITS_NAME... kept
 * as PEER's name, with ADDR/PREFIX and a default route via GW. */
static int wire(struct berth_nl *host, int which, const char *name, const char *peer, const char *addr,
		int prefix, const char *gw, int master)
{
	struct berth_nl nl;
	struct berth_err err = { 0 };

	uint8_t mac[6];

	berth_net_mac(ip(addr), mac);
	if (berth_nl_veth_add(host, name, peer, mac, 0, &err) < 0 || berth_nl_link_netns(host, peer, ns[which], &err) < 0 ||
	    berth_nl_link_set(host, name, 1, master, &err) < 0) {
		printf("FAIL wire %s: %s\n", name, err.msg);
		return -1;
	}
	enter(which);
	if (berth_nl_open(&nl, &err) < 0 || berth_nl_link_set(&nl, "lo", 1, 0, &err) < 0 ||
	    berth_nl_addr_add(&nl, peer, ip(addr), prefix, &err) < 0 || berth_nl_link_set(&nl, peer, 1, 0, &err) < 0 ||
	    berth_nl_route_add(&nl, 0, 0, ip(gw), peer, &err) < 0) {
		printf("FAIL wire %s inside: %s\n", peer, err.msg);
		enter(HOST);
		return -1;
	}
	berth_nl_close(&nl);
	enter(HOST);
	return 0;
}

static int topology(void)
{
	struct berth_nl nl;
	struct berth_err err = { 0 };

	for (int i = 0; i < NNS; i++) {
		if (unshare(CLONE_NEWNET) < 0 || (ns[i] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)) < 0)
			return -1;
	}
	enter(HOST);
	if (berth_nl_open(&nl, &err) < 0 || berth_nl_link_set(&nl, "lo", 1, 0, &err) < 0 ||
	    berth_nl_bridge_add(&nl, "berth0", &err) < 0 || berth_nl_addr_add(&nl, "berth0", ip("10.88.0.1"), 16, &err) < 0 ||
	    berth_nl_link_set(&nl, "berth0", 1, 0, &err) < 0) {
		printf("FAIL bridge: %s\n", err.msg);
		return -1;
	}
	if (wire(&nl, C1, "bv-c1", "c1-eth0", "10.88.0.2", 16, "10.88.0.1", (int)if_nametoindex("berth0")) < 0 ||
	    wire(&nl, C2, "bv-c2", "c2-eth0", "10.88.0.3", 16, "10.88.0.1", (int)if_nametoindex("berth0")) < 0 ||
	    wire(&nl, OUT, "up0", "out-eth0", "192.168.77.2", 24, "192.168.77.1", 0) < 0 ||
	    wire(&nl, LAN2, "up1", "lan2-eth0", "192.168.78.2", 24, "192.168.78.1", 0) < 0)
		return -1;
	if (berth_nl_addr_add(&nl, "up0", ip("192.168.77.1"), 24, &err) < 0 ||
	    berth_nl_addr_add(&nl, "up1", ip("192.168.78.1"), 24, &err) < 0) {
		printf("FAIL uplink: %s\n", err.msg);
		return -1;
	}
	berth_nl_close(&nl);
	return sysctl_write("/proc/sys/net/ipv4/ip_forward", "1");
}

static int c1_web, c1_other, c2_web, host_ssh, out_srv, lan2_srv;

static const struct berth_nft_publish publish[] = {
	{ .host_port = 9090, .proto = IPPROTO_TCP, .ip = 0x0a580002u, .port = 8080 },
};

static void published_port(void)
{
	struct berth_err err = { 0 };
	const struct berth_nft_config c = { .bridge = "berth0", .subnet = 0x0a580000u, .prefix = 16,
					    .publish = publish, .npublish = 1 };

	CHECK(berth_nft_apply(&c, &err) == 0);
	/* Applying again replaces the table: still one DNAT, still working. */
	CHECK(berth_nft_apply(&c, &err) == 0);
	CHECK(reaches(OUT, "192.168.77.1", 9090, c1_web, NULL));
	/* From a peer container through the host's address too. */
	CHECK(reaches(C2, "10.88.0.1", 9090, c1_web, NULL));
}

/* A batch the kernel refuses (here: from a process without CAP_NET_ADMIN
 * over the namespace) is an error, not a wait for answers that never come,
 * and the rules in force stay as they were. */
static void refused_batch_changes_nothing(void)
{
	const struct berth_nft_config none = { .bridge = "berth0", .subnet = 0x0a580000u, .prefix = 16 };
	int fd[2], st = 0;
	char got[200] = "";
	pid_t pid;

	CHECK(pipe(fd) == 0);
	pid = fork();
	if (pid == 0) {
		struct berth_err err = { 0 };

		close(fd[0]);
		if (unshare(CLONE_NEWUSER) < 0)
			_exit(2);
		berth_nft_apply(&none, &err);
		dprintf(fd[1], "%d %s", err.errnum, err.msg);
		_exit(0);
	}
	close(fd[1]);
	CHECK(read(fd[0], got, sizeof(got) - 1) > 0);
	close(fd[0]);
	CHECK(waitpid(pid, &st, 0) == pid && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	CHECK_STR(got, "1 nftables: the batch: Operation not permitted");
	CHECK(reaches(OUT, "192.168.77.1", 9090, c1_web, NULL));
}

static void unpublished_blocked(void)
{
	struct berth_nl nl;
	struct berth_err err = { 0 };

	/* The world routes to the subnet through us: still only published ports. */
	enter(OUT);
	CHECK(berth_nl_open(&nl, &err) == 0);
	CHECK(berth_nl_route_add(&nl, 0x0a580000u, 16, ip("192.168.77.1"), "out-eth0", &err) == 0);
	berth_nl_close(&nl);
	enter(HOST);
	CHECK(!reaches(OUT, "10.88.0.2", 8081, c1_other, NULL));
	CHECK(!reaches(OUT, "10.88.0.2", 8080, c1_web, NULL));
}

static void containers_cannot_reach_host(void)
{
	/* A host service ("SSH" on the bridge address and on the uplink's). */
	CHECK(!reaches(C1, "10.88.0.1", 22, host_ssh, NULL));
	CHECK(!reaches(C1, "192.168.77.1", 22, host_ssh, NULL));
}

/* The host forwards for its containers only: not between two networks it
 * is on (it is no router for its LAN). */
static void not_a_router(void)
{
	CHECK(!reaches(OUT, "192.168.78.2", 7071, lan2_srv, NULL));
	CHECK(!reaches(LAN2, "192.168.77.2", 7070, out_srv, NULL));
}

static void outbound_masquerade(void)
{
	uint32_t from = 0;

	CHECK(reaches(C1, "192.168.77.2", 7070, out_srv, &from));
	CHECK(from == ip("192.168.77.1"));
}

static void peers_and_isolation(void)
{
	struct berth_err err = { 0 };
	const struct berth_nft_isolated iso[] = { { "bv-c2", 0x0a580003u } };
	const struct berth_nft_config c = { .bridge = "berth0", .subnet = 0x0a580000u, .prefix = 16,
					    .publish = publish, .npublish = 1, .isolated = iso, .nisolated = 1 };
	const struct berth_nft_config open_ = { .bridge = "berth0", .subnet = 0x0a580000u, .prefix = 16,
						.publish = publish, .npublish = 1 };

	/* Peers on the bridge reach each other. */
	CHECK(reaches(C2, "10.88.0.2", 8081, c1_other, NULL));
	CHECK(reaches(C1, "10.88.0.3", 8080, c2_web, NULL));
	if (berth_nft_apply(&c, &err) < 0)
		printf("# %s\n", err.msg);
	CHECK(err.msg[0] == '\0');
	/* c2 isolated: not to c1, not from c1, not through c1's published
	 * port either; out through the uplink still. */
	CHECK(!reaches(C2, "10.88.0.2", 8081, c1_other, NULL));
	CHECK(!reaches(C1, "10.88.0.3", 8080, c2_web, NULL));
	CHECK(!reaches(C2, "10.88.0.1", 9090, c1_web, NULL));
	CHECK(reaches(C2, "192.168.77.2", 7070, out_srv, NULL));
	CHECK(berth_nft_apply(&open_, &err) == 0);
	CHECK(reaches(C2, "10.88.0.2", 8081, c1_other, NULL));
}

/* In namespace WHICH, give link NAME the MAC address MAC (6 bytes). */
static int set_mac(int which, const char *name, const char *mac)
{
	struct ifreq ifr = { 0 };
	int fd, r;

	enter(which);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_hwaddr.sa_family = 1; /* ARPHRD_ETHER */
	memcpy(ifr.ifr_hwaddr.sa_data, mac, 6);
	r = fd < 0 || ioctl(fd, SIOCSIFHWADDR, &ifr) < 0 ? -1 : 0;
	if (r < 0)
		printf("# set MAC of %s: %s\n", name, strerror(errno));
	if (fd >= 0)
		close(fd);
	enter(HOST);
	return r;
}

/* In namespace WHICH, drop the neighbour entry of ADDR on DEV, so the next
 * packet asks again (and sees a changed MAC). */
static void forget_neighbour(int which, const char *dev, const char *addr)
{
	struct arpreq req = { 0 };
	struct sockaddr_in *sa = (struct sockaddr_in *)&req.arp_pa;
	int fd;

	enter(which);
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	sa->sin_family = AF_INET;
	sa->sin_addr.s_addr = htonl(ip(addr));
	snprintf(req.arp_dev, sizeof(req.arp_dev), "%s", dev);
	if (fd >= 0) {
		ioctl(fd, SIOCDARP, &req); /* ENXIO: there was none */
		close(fd);
	}
	enter(HOST);
}

/* A container that takes another address (a unit may grant NET_ADMIN) gets
 * nowhere with it: its port passes only its own address. The control: the
 * same connection without the port rules gets through. */
static void spoofed_source_dropped(void)
{
	struct berth_err err = { 0 };
	struct berth_nl nl;
	const struct berth_nft_isolated ports[] = { { "bv-c1", 0x0a580002u }, { "bv-c2", 0x0a580003u } };
	const struct berth_nft_config with = { .bridge = "berth0", .subnet = 0x0a580000u, .prefix = 16,
					       .publish = publish, .npublish = 1, .ports = ports, .nports = 2 };
	const struct berth_nft_config without = { .bridge = "berth0", .subnet = 0x0a580000u, .prefix = 16,
						   .publish = publish, .npublish = 1 };

	enter(C2);
	CHECK(berth_nl_open(&nl, &err) == 0 && berth_nl_addr_add(&nl, "c2-eth0", ip("10.88.0.99"), 16, &err) == 0);
	berth_nl_close(&nl);
	enter(HOST);
	CHECK(berth_nft_apply(&with, &err) == 0);
	/* Its own address works, on the bridge, through the host and out. */
	CHECK(reaches_from(C2, "10.88.0.3", "10.88.0.2", 8081, c1_other));
	CHECK(reaches(C2, "10.88.0.1", 9090, c1_web, NULL));
	CHECK(reaches(C2, "192.168.77.2", 7070, out_srv, NULL));
	/* Another one: not to a peer, not out. */
	CHECK(!reaches_from(C2, "10.88.0.99", "10.88.0.2", 8081, c1_other));
	CHECK(!reaches_from(C2, "10.88.0.99", "192.168.77.2", 7070, out_srv));
	/* Its own address from another MAC (the bridge would learn a peer's
	 * MAC on this port and send it the peer's traffic): nowhere either. */
	CHECK(set_mac(C2, "c2-eth0", "\x0a\x58\x0a\x58\x00\x77") == 0);
	forget_neighbour(C1, "c1-eth0", "10.88.0.3");
	CHECK(!reaches_from(C2, "10.88.0.3", "10.88.0.2", 8081, c1_other));
	CHECK(berth_nft_apply(&without, &err) == 0);
	forget_neighbour(C1, "c1-eth0", "10.88.0.3");
	CHECK(reaches_from(C2, "10.88.0.3", "10.88.0.2", 8081, c1_other));
	CHECK(set_mac(C2, "c2-eth0", "\x0a\x58\x0a\x58\x00\x03") == 0);
	forget_neighbour(C1, "c1-eth0", "10.88.0.3");
	CHECK(reaches_from(C2, "10.88.0.99", "10.88.0.2", 8081, c1_other));
}

static void removed(void)
{
	struct berth_err err = { 0 };

	CHECK(berth_nft_remove(&err) == 0);
	CHECK(berth_nft_remove(&err) == 0);
	CHECK(!reaches(OUT, "192.168.77.1", 9090, c1_web, NULL));
	/* The control: without the rules, what they refused gets through (so
	 * the refusals above were the rules' doing, not the topology's). */
	CHECK(reaches(OUT, "10.88.0.2", 8081, c1_other, NULL));
	CHECK(reaches(C1, "10.88.0.1", 22, host_ssh, NULL));
	CHECK(reaches(C1, "192.168.77.1", 22, host_ssh, NULL));
	CHECK(reaches(OUT, "192.168.78.2", 7071, lan2_srv, NULL));
}

/* The largest set units may ask for: every published port there may be
 * (BERTH_NET_PUBLISH_TOTAL) and every unit on the bridge and isolated
 * (MAX_UNITS, 1024), in one transaction; the rules still work after it. */
static void largest_ruleset(void)
{
	static struct berth_nft_publish pub[256];
	static struct berth_nft_isolated iso[1024];
	static char names[1024][16];
	struct berth_err err = { 0 };
	struct berth_nft_config c = { .bridge = "berth0", .subnet = 0x0a580000u, .prefix = 16,
				      .publish = pub, .npublish = 256, .isolated = iso, .nisolated = 1024,
				      .ports = iso, .nports = 1024 };

	for (int i = 0; i < 256; i++)
		pub[i] = (struct berth_nft_publish){ .host_port = (uint16_t)(20000 + i), .proto = IPPROTO_TCP,
						     .ip = 0x0a580100u + (uint32_t)i, .port = 80 };
	pub[0] = publish[0];
	for (int i = 0; i < 1024; i++) {
		snprintf(names[i], sizeof(names[i]), "bv%d", i);
		iso[i] = (struct berth_nft_isolated){ names[i], 0x0a580400u + (uint32_t)i };
	}
	if (berth_nft_apply(&c, &err) < 0)
		printf("# %s\n", err.msg);
	CHECK(err.msg[0] == '\0');
	CHECK(reaches(OUT, "192.168.77.1", 9090, c1_web, NULL));
	CHECK(!reaches(C1, "10.88.0.1", 22, host_ssh, NULL));
}

static void bad_prefix(void)
{
	struct berth_err err = { 0 };
	const struct berth_nft_config c = { .bridge = "berth0", .subnet = 0x0a580000u, .prefix = 31 };

	CHECK(berth_nft_apply(&c, &err) < 0 && err.errnum == EINVAL);
	CHECK_STR(err.msg, "nftables: subnet prefix /31 (8 to 30)");
}

int main(void)
{
	struct berth_err err = { 0 };

	if (geteuid() != 0 || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		printf("SKIP nftables: needs root and namespaces (%s)\n", strerror(errno));
		return 0;
	}
	if (topology() < 0) {
		printf("SKIP nftables: cannot build the test topology (%s)\n", strerror(errno));
		return 0;
	}
	/* The kernel may lack nf_tables (or its NAT and fib parts). */
	if (berth_nft_remove(&err) < 0) {
		printf("SKIP nftables: %s\n", err.msg);
		return 0;
	}
	c1_web = listen_in(C1, "0.0.0.0", 8080);
	c1_other = listen_in(C1, "0.0.0.0", 8081);
	c2_web = listen_in(C2, "0.0.0.0", 8080);
	host_ssh = listen_in(HOST, "0.0.0.0", 22);
	out_srv = listen_in(OUT, "0.0.0.0", 7070);
	lan2_srv = listen_in(LAN2, "0.0.0.0", 7071);
	RUN(bad_prefix);
	RUN(published_port);
	RUN(refused_batch_changes_nothing);
	RUN(unpublished_blocked);
	RUN(containers_cannot_reach_host);
	RUN(outbound_masquerade);
	RUN(not_a_router);
	RUN(peers_and_isolation);
	RUN(spoofed_source_dropped);
	RUN(largest_ruleset);
	RUN(removed);
	return t_failed_total ? 1 : 0;
}
