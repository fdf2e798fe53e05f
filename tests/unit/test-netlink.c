/* supervisor/netlink.c against the real kernel, in private network and mount
 * namespaces of this test (root only; the host's network is never touched):
 * a bridge with an address, a veth pair whose peer lands in a child's own
 * network namespace, the child's address and default route, and a TCP
 * connection across them; bridge-port isolation; deletion; the errors. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "netlink.h"
#include "t.h"

#define GW 0x0a580001u   /* 10.88.0.1 */
#define PEER 0x0a580002u /* 10.88.0.2 */

static int listener = -1;

static int read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n > 0 ? 0 : -1;
}

static void bridge_with_address(void)
{
	struct berth_nl nl;
	struct berth_err err = { 0 };
	char buf[64];

	CHECK(berth_nl_open(&nl, &err) == 0);
	CHECK(berth_nl_bridge_add(&nl, "berth0", &err) == 0);
	CHECK(berth_nl_bridge_add(&nl, "berth0", &err) < 0 && err.errnum == EEXIST);
	CHECK_STR(err.msg, "create bridge berth0: File exists");
	CHECK(berth_nl_addr_add(&nl, "berth0", GW, 16, &err) == 0);
	CHECK(berth_nl_addr_add(&nl, "berth0", GW, 33, &err) < 0 && err.errnum == EINVAL);
	CHECK(berth_nl_link_set(&nl, "berth0", 1, 0, &err) == 0);
	CHECK(berth_nl_link_set(&nl, "nosuch0", 1, 0, &err) < 0 && err.errnum == ENODEV);
	CHECK_STR(err.msg, "set link nosuch0 up: no link nosuch0");
	CHECK(read_file("/sys/class/net/berth0/bridge/stp_state", buf, sizeof(buf)) == 0);
	berth_nl_close(&nl);
}

/* The child: its own network namespace, then eth0 from the parent, set up
 * here as a container's runtime would, then a connection to the gateway. */
static int child(int ready, int go)
{
	struct berth_nl nl;
	struct berth_err err = { 0 };
	struct sockaddr_in gw = { .sin_family = AF_INET, .sin_port = htons(4242), .sin_addr.s_addr = htonl(GW) };
	char c = 'r', route[4096];
	int s;

	if (unshare(CLONE_NEWNET) < 0 || write(ready, &c, 1) != 1 || read(go, &c, 1) != 1)
		return 10;
	if (berth_nl_open(&nl, &err) < 0 || berth_nl_link_set(&nl, "lo", 1, 0, &err) < 0 ||
	    berth_nl_addr_add(&nl, "eth0", PEER, 16, &err) < 0 || berth_nl_link_set(&nl, "eth0", 1, 0, &err) < 0 ||
	    berth_nl_route_add(&nl, 0, 0, GW, "eth0", &err) < 0) {
		fprintf(stderr, "child: %s\n", err.msg);
		return 11;
	}
	/* The default route, as the kernel shows it (gateway in network order). */
	if (read_file("/proc/net/route", route, sizeof(route)) < 0 || !strstr(route, "eth0\t00000000\t0100580A"))
		return 12;
	s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&gw, sizeof(gw)) < 0)
		return 13;
	return write(s, "hi", 2) == 2 ? 0 : 14;
}

static void veth_into_another_namespace(void)
{
	struct berth_nl nl;
	struct berth_err err = { 0 };
	int ready[2], go[2], status, conn;
	struct pollfd p = { .events = POLLIN };
	char c, buf[16];
	pid_t pid;

	CHECK(pipe2(ready, O_CLOEXEC) == 0 && pipe2(go, O_CLOEXEC) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		_exit(child(ready[1], go[0]));
	CHECK(read(ready[0], &c, 1) == 1);
	CHECK(berth_nl_open(&nl, &err) == 0);
	CHECK(berth_nl_veth_add(&nl, "bv-test", "eth0", NULL, pid, &err) == 0);
	CHECK(berth_nl_veth_add(&nl, "bv-test", "eth0", NULL, pid, &err) < 0 && err.errnum == EEXIST);
	CHECK(if_nametoindex("eth0") == 0); /* the peer is over there */
	CHECK(berth_nl_link_set(&nl, "bv-test", 1, (int)if_nametoindex("berth0"), &err) == 0);
	CHECK(read_file("/sys/class/net/bv-test/brport/isolated", buf, sizeof(buf)) == 0 && buf[0] == '0');
	CHECK(berth_nl_brport_isolate(&nl, "bv-test", 1, &err) == 0);
	CHECK(read_file("/sys/class/net/bv-test/brport/isolated", buf, sizeof(buf)) == 0 && buf[0] == '1');
	CHECK(berth_nl_brport_isolate(&nl, "bv-test", 0, &err) == 0);
	CHECK(write(go[1], "g", 1) == 1);
	p.fd = listener;
	CHECK(poll(&p, 1, 20000) == 1);
	conn = accept(listener, NULL, NULL);
	CHECK(conn >= 0 && read(conn, buf, 2) == 2 && memcmp(buf, "hi", 2) == 0);
	close(conn);
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	/* Its namespace gone, the peer is gone, and so is our end. */
	for (int i = 0; i < 200 && if_nametoindex("bv-test"); i++)
		usleep(10000);
	CHECK(if_nametoindex("bv-test") == 0);
	CHECK(berth_nl_link_del(&nl, "bv-test", &err) < 0 && err.errnum == ENODEV);
	berth_nl_close(&nl);
}

static void delete_veth(void)
{
	struct berth_nl nl;
	struct berth_err err = { 0 };

	CHECK(berth_nl_open(&nl, &err) == 0);
	CHECK(berth_nl_veth_add(&nl, "bv-a", "bv-b", NULL, 0, &err) == 0);
	CHECK(if_nametoindex("bv-a") && if_nametoindex("bv-b"));
	CHECK(berth_nl_link_del(&nl, "bv-a", &err) == 0);
	CHECK(if_nametoindex("bv-a") == 0 && if_nametoindex("bv-b") == 0);
	CHECK(berth_nl_route_add(&nl, 0x0a630000u, 16, 0, "berth0", &err) == 0);
	CHECK(berth_nl_route_add(&nl, 0x0a630000u, 16, 0, "berth0", &err) < 0 && err.errnum == EEXIST);
	CHECK_STR(err.msg, "add route 10.99.0.0/16 via 0.0.0.0 dev berth0: File exists");
	berth_nl_close(&nl);
}

int main(void)
{
	struct sockaddr_in any = { .sin_family = AF_INET, .sin_port = htons(4242), .sin_addr.s_addr = htonl(GW) };

	if (geteuid() != 0 || unshare(CLONE_NEWNET | CLONE_NEWNS) < 0) {
		printf("SKIP netlink: needs root and namespaces (%s)\n", strerror(errno));
		return 0;
	}
	/* sysfs of this network namespace, in our own mount namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || mount("sysfs", "/sys", "sysfs", 0, NULL) < 0) {
		printf("SKIP netlink: cannot mount a private sysfs (%s)\n", strerror(errno));
		return 0;
	}
	RUN(bridge_with_address);
	listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (listener < 0 || bind(listener, (struct sockaddr *)&any, sizeof(any)) < 0 || listen(listener, 4) < 0) {
		printf("FAIL listen: %s\n", strerror(errno));
		return 1;
	}
	RUN(veth_into_another_namespace);
	RUN(delete_veth);
	return t_failed_total ? 1 : 0;
}
