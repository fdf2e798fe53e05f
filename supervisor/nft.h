/* The host's packet filter for container networking: one nftables table,
 * "berth" (family inet), built from a description and replaced as a whole in
 * one nf_tables transaction, so the rules in force are always either the old
 * set or the new one. Written over NETLINK_NETFILTER directly: no nft or
 * iptables binary on the appliance.
 *
 * The rules (IPv4; docs/networking.md has the model):
 *   prerouting (nat)   each published port: traffic to a local address of the
 *                      host (or to the given one) on HOSTPORT/PROTO is DNATed
 *                      to the container's address and port;
 *   postrouting (nat)  traffic from the subnet leaving by another link than
 *                      the bridge is masqueraded (outbound NAT), and so is a
 *                      container's connection to a peer's published port
 *                      through the host (hairpin);
 *   forward (filter)   into the bridge from elsewhere: replies and DNATed
 *                      connections only; between an isolated container's
 *                      address and the rest of the subnet: nothing (not even
 *                      through a published port);
 *   input (filter)     from the bridge to the host itself: replies only (no
 *                      host service, SSH and the rest, is reachable from a
 *                      container unless published).
 * And one table "berth" of family bridge: frames between an isolated
 * container's port (its host-side veth) and any other port are dropped, so
 * it cannot reach its peers on the bridge either; it still reaches the host
 * as its gateway, and through it the uplink. And as frames enter the bridge
 * from a container's port (prerouting, before the bridge learns their
 * source): only frames from the container's own MAC (berth_net_mac), IPv4
 * from its own address and ARP for itself; every other frame (another MAC or
 * address, IPv6, VLAN tags, other protocols) is dropped, so no container can
 * pass for a peer or the gateway, whatever capabilities its unit grants. */
#ifndef BERTH_NFT_H
#define BERTH_NFT_H

#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

struct berth_nft_publish {
	uint32_t host_ip;   /* 0: every local address of the host */
	uint16_t host_port;
	uint8_t proto;      /* IPPROTO_TCP or IPPROTO_UDP */
	uint32_t ip;        /* the container's address */
	uint16_t port;
};

struct berth_nft_isolated {
	const char *link;   /* the container's host-side veth */
	uint32_t ip;
};

struct berth_nft_config {
	const char *bridge;  /* "berth0" */
	uint32_t subnet;     /* network address, host order */
	int prefix;
	const struct berth_nft_publish *publish;
	size_t npublish;
	const struct berth_nft_isolated *isolated;
	size_t nisolated;
	const struct berth_nft_isolated *ports; /* every container on the bridge: its link and address */
	size_t nports;
};

/* Replace the tables inet berth and bridge berth with the rules for C. */
int berth_nft_apply(const struct berth_nft_config *c, struct berth_err *err);

/* Remove both tables (no error if there are none). */
int berth_nft_remove(struct berth_err *err);

#endif
