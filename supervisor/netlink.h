/* rtnetlink, as much as container networking needs: a bridge, veth pairs,
 * links up and into a bridge or another network namespace, IPv4 addresses
 * and routes. No iproute2 on the appliance: the kernel is configured over
 * NETLINK_ROUTE directly. Every request waits for the kernel's
 * acknowledgement, and a refusal names the operation and the kernel's error.
 *
 * A socket acts in the network namespace it was opened in. Addresses are
 * IPv4 in host byte order. */
#ifndef BERTH_NETLINK_H
#define BERTH_NETLINK_H

#include <stdint.h>
#include <sys/types.h>

#include "lib/err.h"

struct berth_nl {
	int fd;
	uint32_t seq;
};

int berth_nl_open(struct berth_nl *nl, struct berth_err *err);
void berth_nl_close(struct berth_nl *nl);

/* A bridge NAME, down. EEXIST if a link of that name exists. */
int berth_nl_bridge_add(struct berth_nl *nl, const char *name, struct berth_err *err);

/* The MAC address of the container with IPv4 address IP on the bridge:
 * 0a:58 and the address, locally administered and unique on the bridge (the
 * port rules of nft.c let only this one in from its port). */
void berth_net_mac(uint32_t ip, uint8_t mac[6]);

/* A veth pair: NAME here, PEER in the network namespace of process
 * PEER_PID (0: here too), with PEER_MAC as its address unless NULL. */
int berth_nl_veth_add(struct berth_nl *nl, const char *name, const char *peer, const uint8_t *peer_mac, pid_t peer_pid,
		      struct berth_err *err);

/* Move link NAME into the network namespace NSFD (an open /proc/PID/ns/net). */
int berth_nl_link_netns(struct berth_nl *nl, const char *name, int nsfd, struct berth_err *err);

/* Link NAME: up (UP 1) or down (0); MASTER > 0 puts it in that bridge
 * (ifindex), 0 leaves it where it is. */
int berth_nl_link_set(struct berth_nl *nl, const char *name, int up, int master, struct berth_err *err);

/* As a bridge port: ISOLATED 1 stops it from talking to other isolated ports. */
int berth_nl_brport_isolate(struct berth_nl *nl, const char *name, int isolated, struct berth_err *err);

/* Delete link NAME (a veth takes its peer with it). ENODEV if there is none. */
int berth_nl_link_del(struct berth_nl *nl, const char *name, struct berth_err *err);

/* ADDR/PREFIX on link NAME (EEXIST if it is there already). */
int berth_nl_addr_add(struct berth_nl *nl, const char *name, uint32_t addr, int prefix, struct berth_err *err);

/* A route to DST/PREFIX (0/0: the default route) via GATEWAY (0: on link NAME
 * directly). */
int berth_nl_route_add(struct berth_nl *nl, uint32_t dst, int prefix, uint32_t gateway, const char *name,
		       struct berth_err *err);

#endif
