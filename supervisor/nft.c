/* nf_tables over netlink (nft.h): one batch (begin, messages, end) per
 * change, which the kernel applies all or nothing. Each message asks for an
 * acknowledgement; the first error names the message it answers.
 *
 * Expressions load values into registers and compare them, as nft's own
 * bytecode does ("nft --debug=netlink" shows the same shapes):
 *   meta nfproto ipv4     meta load nfproto => reg 1; cmp eq reg 1 2
 *   ip saddr 10.88/16     payload load 4b @ network + 12 => reg 1;
 *                         bitwise reg 1 = (reg 1 & mask) ^ 0; cmp eq reg 1 net
 *   tcp dport 8080        meta load l4proto => reg 1; cmp eq reg 1 6;
 *                         payload load 2b @ transport + 2 => reg 1; cmp eq
 *   dnat to ip:port       immediate reg 1 ip; immediate reg 2 port; nat dnat */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/cleanup.h"
#include "lib/values.h"
#include "netlink.h"
#include "nft.h"

/* linux/netfilter_bridge.h has it, but clashes with net/if.h. */
#ifndef NF_BR_FORWARD
#define NF_BR_PRE_ROUTING 0
#define NF_BR_FORWARD 2
#endif
#ifndef ETH_P_IP
#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#endif

/* Room for BERTH_NET_PUBLISH_TOTAL ports (about 530 bytes each) and every
 * unit on the bridge with its port rules and isolated (MAX_UNITS, about 1.7
 * KiB each); test-nft builds that set. */
#define BATCH_MAX (4 * 1024 * 1024)
#define TABLE "berth"

struct batch {
	char *buf;
	size_t len;
	uint32_t seq, first_seq;
	int overflow;
	char what[64][48]; /* what the first messages were, by seq - first_seq */
	int nmsg;          /* messages of the transaction (between begin and end) */
	size_t last;       /* offset of the last one: the only one acknowledged */
};

static struct nlmsghdr *msg_begin(struct batch *b, uint16_t type, uint16_t flags, uint8_t family, uint16_t res_id,
				  const char *what)
{
	struct nlmsghdr *h = (struct nlmsghdr *)(b->buf + b->len);
	struct nfgenmsg *g;

	if (b->len + NLMSG_SPACE(sizeof(*g)) > BATCH_MAX) {
		b->overflow = 1;
		return NULL;
	}
	memset(h, 0, NLMSG_SPACE(sizeof(*g)));
	h->nlmsg_type = type;
	h->nlmsg_flags = NLM_F_REQUEST | flags;
	h->nlmsg_seq = b->seq++;
	h->nlmsg_len = (uint32_t)NLMSG_LENGTH(sizeof(*g));
	g = NLMSG_DATA(h);
	g->nfgen_family = family;
	g->version = NFNETLINK_V0;
	g->res_id = htons(res_id);
	if (what && b->nmsg < 64)
		snprintf(b->what[b->nmsg], sizeof(b->what[0]), "%s", what);
	if (what) {
		b->nmsg++;
		b->last = (size_t)((char *)h - b->buf);
	}
	return h;
}

static void msg_end(struct batch *b, struct nlmsghdr *h)
{
	if (h)
		b->len += NLMSG_ALIGN(h->nlmsg_len);
}

static struct nlattr *put(struct batch *b, struct nlmsghdr *h, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(h->nlmsg_len);
	struct nlattr *a = (struct nlattr *)((char *)h + off);

	if (!h || (char *)h - b->buf + off + NLA_ALIGN(NLA_HDRLEN + len) > BATCH_MAX) {
		b->overflow = 1;
		return NULL;
	}
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((char *)a + NLA_HDRLEN, data, len);
	memset((char *)a + NLA_HDRLEN + len, 0, NLA_ALIGN(a->nla_len) - a->nla_len);
	h->nlmsg_len = (uint32_t)(off + NLA_ALIGN(a->nla_len));
	return a;
}

static void put_str(struct batch *b, struct nlmsghdr *h, uint16_t type, const char *s)
{
	put(b, h, type, s, strlen(s) + 1);
}

static void put_be32(struct batch *b, struct nlmsghdr *h, uint16_t type, uint32_t v)
{
	uint32_t be = htonl(v);

	put(b, h, type, &be, sizeof(be));
}

static struct nlattr *nest(struct batch *b, struct nlmsghdr *h, uint16_t type)
{
	return put(b, h, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct nlmsghdr *h, struct nlattr *a)
{
	if (a)
		a->nla_len = (uint16_t)((char *)h + h->nlmsg_len - (char *)a);
}

/* --- expressions, appended inside NFTA_RULE_EXPRESSIONS --- */

static struct nlattr *expr_begin(struct batch *b, struct nlmsghdr *h, const char *name, struct nlattr **data)
{
	struct nlattr *e = nest(b, h, NFTA_LIST_ELEM);

	put_str(b, h, NFTA_EXPR_NAME, name);
	*data = nest(b, h, NFTA_EXPR_DATA);
	return e;
}

static void expr_end(struct nlmsghdr *h, struct nlattr *e, struct nlattr *data)
{
	nest_end(h, data);
	nest_end(h, e);
}

static void e_meta(struct batch *b, struct nlmsghdr *h, uint32_t key, uint32_t reg)
{
	struct nlattr *d, *e = expr_begin(b, h, "meta", &d);

	put_be32(b, h, NFTA_META_KEY, key);
	put_be32(b, h, NFTA_META_DREG, reg);
	expr_end(h, e, d);
}

static void e_payload(struct batch *b, struct nlmsghdr *h, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nlattr *d, *e = expr_begin(b, h, "payload", &d);

	put_be32(b, h, NFTA_PAYLOAD_DREG, NFT_REG_1);
	put_be32(b, h, NFTA_PAYLOAD_BASE, base);
	put_be32(b, h, NFTA_PAYLOAD_OFFSET, offset);
	put_be32(b, h, NFTA_PAYLOAD_LEN, len);
	expr_end(h, e, d);
}

static void put_data(struct batch *b, struct nlmsghdr *h, uint16_t type, const void *v, size_t len)
{
	struct nlattr *n = nest(b, h, type);

	put(b, h, NFTA_DATA_VALUE, v, len);
	nest_end(h, n);
}

static void e_cmp(struct batch *b, struct nlmsghdr *h, uint32_t op, const void *v, size_t len)
{
	struct nlattr *d, *e = expr_begin(b, h, "cmp", &d);

	put_be32(b, h, NFTA_CMP_SREG, NFT_REG_1);
	put_be32(b, h, NFTA_CMP_OP, op);
	put_data(b, h, NFTA_CMP_DATA, v, len);
	expr_end(h, e, d);
}

/* reg 1 = (reg 1 & MASK) ^ 0, LEN bytes. */
static void e_mask(struct batch *b, struct nlmsghdr *h, const void *mask, size_t len)
{
	static const char zero[16];
	struct nlattr *d, *e = expr_begin(b, h, "bitwise", &d);

	put_be32(b, h, NFTA_BITWISE_SREG, NFT_REG_1);
	put_be32(b, h, NFTA_BITWISE_DREG, NFT_REG_1);
	put_be32(b, h, NFTA_BITWISE_LEN, (uint32_t)len);
	put_data(b, h, NFTA_BITWISE_MASK, mask, len);
	put_data(b, h, NFTA_BITWISE_XOR, zero, len);
	expr_end(h, e, d);
}

static void e_verdict(struct batch *b, struct nlmsghdr *h, int verdict)
{
	struct nlattr *d, *e = expr_begin(b, h, "immediate", &d), *data, *v;

	put_be32(b, h, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
	data = nest(b, h, NFTA_IMMEDIATE_DATA);
	v = nest(b, h, NFTA_DATA_VERDICT);
	put_be32(b, h, NFTA_VERDICT_CODE, (uint32_t)verdict);
	nest_end(h, v);
	nest_end(h, data);
	expr_end(h, e, d);
}

static void e_immediate(struct batch *b, struct nlmsghdr *h, uint32_t reg, const void *v, size_t len)
{
	struct nlattr *d, *e = expr_begin(b, h, "immediate", &d);

	put_be32(b, h, NFTA_IMMEDIATE_DREG, reg);
	put_data(b, h, NFTA_IMMEDIATE_DATA, v, len);
	expr_end(h, e, d);
}

static void e_simple(struct batch *b, struct nlmsghdr *h, const char *name)
{
	struct nlattr *d, *e = expr_begin(b, h, name, &d);

	expr_end(h, e, d);
}

/* ct state (KEY NFT_CT_STATE) or status (NFT_CT_STATUS) has any of BITS. */
static void match_ct(struct batch *b, struct nlmsghdr *h, uint32_t key, uint32_t bits)
{
	struct nlattr *d, *e = expr_begin(b, h, "ct", &d);
	uint32_t zero = 0;

	put_be32(b, h, NFTA_CT_KEY, key);
	put_be32(b, h, NFTA_CT_DREG, NFT_REG_1);
	expr_end(h, e, d);
	e_mask(b, h, &bits, sizeof(bits));
	e_cmp(b, h, NFT_CMP_NEQ, &zero, sizeof(zero));
}

static void match_ipv4(struct batch *b, struct nlmsghdr *h)
{
	uint8_t v4 = NFPROTO_IPV4;

	e_meta(b, h, NFT_META_NFPROTO, NFT_REG_1);
	e_cmp(b, h, NFT_CMP_EQ, &v4, sizeof(v4));
}

/* The interface name compare: the full IFNAMSIZ bytes, NUL-padded. */
static void match_ifname(struct batch *b, struct nlmsghdr *h, uint32_t key, uint32_t op, const char *name)
{
	char buf[IFNAMSIZ] = { 0 };

	snprintf(buf, sizeof(buf), "%s", name);
	e_meta(b, h, key, NFT_REG_1);
	e_cmp(b, h, op, buf, sizeof(buf));
}

/* ip saddr (OFFSET 12) or daddr (16) in NET/PREFIX. */
static void match_addr(struct batch *b, struct nlmsghdr *h, uint32_t offset, uint32_t net, int prefix)
{
	uint32_t mask = htonl(prefix ? 0xffffffffu << (32 - prefix) : 0), v = htonl(net);

	e_payload(b, h, NFT_PAYLOAD_NETWORK_HEADER, offset, 4);
	if (prefix < 32)
		e_mask(b, h, &mask, sizeof(mask));
	v &= mask;
	e_cmp(b, h, NFT_CMP_EQ, &v, sizeof(v));
}

/* --- tables, chains, rules --- */

static void table(struct batch *b, uint16_t type, uint8_t family, uint16_t flags)
{
	struct nlmsghdr *h = msg_begin(b, (NFNL_SUBSYS_NFTABLES << 8) | type, flags, family, 0,
				       type == NFT_MSG_DELTABLE ? "delete table" : "create table");

	if (!h)
		return;
	put_str(b, h, NFTA_TABLE_NAME, TABLE);
	msg_end(b, h);
}

static void chain(struct batch *b, uint8_t family, const char *name, const char *type, uint32_t hook, int prio,
		  uint32_t policy)
{
	char what[48];
	struct nlmsghdr *h;
	struct nlattr *hk;

	snprintf(what, sizeof(what), "chain %s", name);
	h = msg_begin(b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWCHAIN, NLM_F_CREATE, family, 0, what);
	if (!h)
		return;
	put_str(b, h, NFTA_CHAIN_TABLE, TABLE);
	put_str(b, h, NFTA_CHAIN_NAME, name);
	hk = nest(b, h, NFTA_CHAIN_HOOK);
	put_be32(b, h, NFTA_HOOK_HOOKNUM, hook);
	put_be32(b, h, NFTA_HOOK_PRIORITY, (uint32_t)prio);
	nest_end(h, hk);
	put_be32(b, h, NFTA_CHAIN_POLICY, policy);
	put_str(b, h, NFTA_CHAIN_TYPE, type);
	msg_end(b, h);
}

/* A rule: its expressions go between rule_begin and rule_end. */
static struct nlmsghdr *rule_begin(struct batch *b, uint8_t family, const char *chain_name, const char *what,
				   struct nlattr **list)
{
	struct nlmsghdr *h = msg_begin(b, (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_NEWRULE,
				       NLM_F_CREATE | NLM_F_APPEND, family, 0, what);

	if (!h)
		return NULL;
	put_str(b, h, NFTA_RULE_TABLE, TABLE);
	put_str(b, h, NFTA_RULE_CHAIN, chain_name);
	*list = nest(b, h, NFTA_RULE_EXPRESSIONS);
	return h;
}

static void rule_end(struct batch *b, struct nlmsghdr *h, struct nlattr *list)
{
	if (!h)
		return;
	nest_end(h, list);
	msg_end(b, h);
}

static void rule_publish(struct batch *b, const struct berth_nft_publish *p)
{
	struct nlattr *list, *d, *e;
	struct nlmsghdr *h;
	uint32_t ip = htonl(p->ip), local = RTN_LOCAL;
	uint16_t port = htons(p->port), hport = htons(p->host_port);
	char what[48], s[16];

	snprintf(what, sizeof(what), "publish %u/%s -> %s:%u", p->host_port, p->proto == IPPROTO_UDP ? "udp" : "tcp",
		 berth_format_ipv4(p->ip, s), p->port);
	h = rule_begin(b, NFPROTO_INET, "prerouting", what, &list);
	if (!h)
		return;
	match_ipv4(b, h);
	if (p->host_ip)
		match_addr(b, h, 16, p->host_ip, 32);
	e_meta(b, h, NFT_META_L4PROTO, NFT_REG_1);
	e_cmp(b, h, NFT_CMP_EQ, &p->proto, 1);
	e_payload(b, h, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	e_cmp(b, h, NFT_CMP_EQ, &hport, sizeof(hport));
	/* fib daddr type local: to this host, whichever of its addresses. */
	e = expr_begin(b, h, "fib", &d);
	put_be32(b, h, NFTA_FIB_DREG, NFT_REG_1);
	put_be32(b, h, NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
	put_be32(b, h, NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR);
	expr_end(h, e, d);
	e_cmp(b, h, NFT_CMP_EQ, &local, sizeof(local));
	e_immediate(b, h, NFT_REG_1, &ip, sizeof(ip));
	e_immediate(b, h, NFT_REG_2, &port, sizeof(port));
	e = expr_begin(b, h, "nat", &d);
	put_be32(b, h, NFTA_NAT_TYPE, NFT_NAT_DNAT);
	put_be32(b, h, NFTA_NAT_FAMILY, NFPROTO_IPV4);
	put_be32(b, h, NFTA_NAT_REG_ADDR_MIN, NFT_REG_1);
	put_be32(b, h, NFTA_NAT_REG_PROTO_MIN, NFT_REG_2);
	expr_end(h, e, d);
	rule_end(b, h, list);
}

/* A filter rule on the bridge's name: in CHAIN, traffic whose KEY (iif or
 * oif) is (or is not) the bridge, optionally with the other one not the bridge, or a
 * conntrack state or status bit, gets VERDICT. */
struct iface_rule {
	const char *chain, *what;
	uint32_t key;      /* NFT_META_IIFNAME or NFT_META_OIFNAME */
	int key_not;       /* KEY is not the bridge (instead of: is) */
	int other_not;     /* also: the other interface is not the bridge */
	uint32_t ct_key;   /* NFT_CT_STATE (which is 0) or NFT_CT_STATUS */
	uint32_t ct_bits;  /* 0: no conntrack match */
	int verdict;
};

#define CT_REPLY (NF_CT_STATE_BIT(IP_CT_ESTABLISHED) | NF_CT_STATE_BIT(IP_CT_RELATED))

static const struct iface_rule iface_rules[] = {
	{ "forward", "forward replies", NFT_META_OIFNAME, 0, 0, NFT_CT_STATE, CT_REPLY, NF_ACCEPT },
	{ "forward", "forward published", NFT_META_OIFNAME, 0, 0, NFT_CT_STATUS, IPS_DST_NAT, NF_ACCEPT },
	{ "forward", "forward drop", NFT_META_OIFNAME, 0, 1, 0, 0, NF_DROP },
	/* The host routes for its containers only: forwarding between two
	 * other interfaces would make the appliance a router for its LAN
	 * (Docker's FORWARD policy is DROP for the same reason). */
	{ "forward", "forward not ours", NFT_META_IIFNAME, 1, 1, 0, 0, NF_DROP },
	{ "input", "input replies", NFT_META_IIFNAME, 0, 0, NFT_CT_STATE, CT_REPLY, NF_ACCEPT },
	{ "input", "input drop", NFT_META_IIFNAME, 0, 0, 0, 0, NF_DROP },
};

static void rule_iface(struct batch *b, const char *bridge, const struct iface_rule *r)
{
	struct nlattr *list;
	struct nlmsghdr *h = rule_begin(b, NFPROTO_INET, r->chain, r->what, &list);

	if (!h)
		return;
	match_ifname(b, h, r->key, r->key_not ? NFT_CMP_NEQ : NFT_CMP_EQ, bridge);
	if (r->other_not)
		match_ifname(b, h, r->key == NFT_META_OIFNAME ? NFT_META_IIFNAME : NFT_META_OIFNAME, NFT_CMP_NEQ,
			     bridge);
	if (r->ct_bits)
		match_ct(b, h, r->ct_key, r->ct_bits);
	e_verdict(b, h, r->verdict);
	rule_end(b, h, list);
}

/* Anti-spoofing on the port of container P (bridge prerouting), where
 * frames enter before the bridge learns their source: a frame whose
 * Ethernet source is not P's MAC (berth_net_mac: the bridge would move
 * another container's address to this port), an IPv4 frame whose source is
 * not P's address, an ARP frame whose sender is not P (address or MAC), and
 * any frame that is neither IPv4 nor ARP, are dropped. */
static void rules_port(struct batch *b, const struct berth_nft_isolated *p)
{
	static const struct {
		const char *what;
		uint16_t type;     /* ether type to match; 0: any; 1: neither IPv4 nor ARP */
		uint32_t base, offset, len; /* the sender field that must be P's */
		int mac;           /* the field is the MAC (else the IPv4 address) */
	} kinds[] = {
		{ "port: Ethernet source", 0, NFT_PAYLOAD_LL_HEADER, 6, 6, 1 },
		{ "port: IPv4 source", ETH_P_IP, NFT_PAYLOAD_NETWORK_HEADER, 12, 4, 0 },
		{ "port: ARP sender address", ETH_P_ARP, NFT_PAYLOAD_NETWORK_HEADER, 14, 4, 0 },
		{ "port: ARP sender MAC", ETH_P_ARP, NFT_PAYLOAD_NETWORK_HEADER, 8, 6, 1 },
		{ "port: other protocols", 1, 0, 0, 0, 0 },
	};
	uint32_t ip = htonl(p->ip);
	uint8_t mac[6];

	berth_net_mac(p->ip, mac);
	for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
		struct nlattr *list;
		struct nlmsghdr *h = rule_begin(b, NFPROTO_BRIDGE, "prerouting", kinds[k].what, &list);
		uint16_t ip4 = htons(ETH_P_IP), arp = htons(ETH_P_ARP), type = htons(kinds[k].type);

		if (!h)
			continue;
		match_ifname(b, h, NFT_META_IIFNAME, NFT_CMP_EQ, p->link);
		if (kinds[k].type == 1) {
			e_payload(b, h, NFT_PAYLOAD_LL_HEADER, 12, 2);
			e_cmp(b, h, NFT_CMP_NEQ, &ip4, sizeof(ip4));
			e_cmp(b, h, NFT_CMP_NEQ, &arp, sizeof(arp));
		} else {
			if (kinds[k].type) {
				e_payload(b, h, NFT_PAYLOAD_LL_HEADER, 12, 2);
				e_cmp(b, h, NFT_CMP_EQ, &type, sizeof(type));
			}
			e_payload(b, h, kinds[k].base, kinds[k].offset, kinds[k].len);
			if (kinds[k].mac)
				e_cmp(b, h, NFT_CMP_NEQ, mac, sizeof(mac));
			else
				e_cmp(b, h, NFT_CMP_NEQ, &ip, sizeof(ip));
		}
		e_verdict(b, h, NF_DROP);
		rule_end(b, h, list);
	}
}

static void build(struct batch *b, const struct berth_nft_config *c)
{
	struct nlattr *list;
	struct nlmsghdr *h;

	/* Chains; the filter ones accept by default and drop what is listed. */
	chain(b, NFPROTO_INET, "prerouting", "nat", NF_INET_PRE_ROUTING, -100, NF_ACCEPT);
	chain(b, NFPROTO_INET, "postrouting", "nat", NF_INET_POST_ROUTING, 100, NF_ACCEPT);
	chain(b, NFPROTO_INET, "forward", "filter", NF_INET_FORWARD, 0, NF_ACCEPT);
	chain(b, NFPROTO_INET, "input", "filter", NF_INET_LOCAL_IN, 0, NF_ACCEPT);
	for (size_t i = 0; i < c->npublish; i++)
		rule_publish(b, &c->publish[i]);
	/* Outbound NAT. */
	h = rule_begin(b, NFPROTO_INET, "postrouting", "masquerade", &list);
	if (h) {
		match_ipv4(b, h);
		match_addr(b, h, 12, c->subnet, c->prefix);
		match_ifname(b, h, NFT_META_OIFNAME, NFT_CMP_NEQ, c->bridge);
		e_simple(b, h, "masq");
		rule_end(b, h, list);
	}
	/* A container to a peer's published port through the host's address:
	 * the peer would answer straight over the bridge, to a source that
	 * never sent to it; from the host's address, the answer comes back
	 * here and is translated back (hairpin). */
	h = rule_begin(b, NFPROTO_INET, "postrouting", "hairpin", &list);
	if (h) {
		match_ipv4(b, h);
		match_addr(b, h, 12, c->subnet, c->prefix);
		match_ifname(b, h, NFT_META_OIFNAME, NFT_CMP_EQ, c->bridge);
		match_ct(b, h, NFT_CT_STATUS, IPS_DST_NAT);
		e_simple(b, h, "masq");
		rule_end(b, h, list);
	}
	/* Isolated: nothing between its address and the subnet's others. */
	for (size_t i = 0; i < c->nisolated; i++)
		for (int dir = 0; dir < 2; dir++) {
			h = rule_begin(b, NFPROTO_INET, "forward", "isolate", &list);
			if (!h)
				continue;
			match_ipv4(b, h);
			match_addr(b, h, dir ? 16 : 12, c->isolated[i].ip, 32);
			match_addr(b, h, dir ? 12 : 16, c->subnet, c->prefix);
			e_verdict(b, h, NF_DROP);
			rule_end(b, h, list);
		}
	/* Into the bridge from elsewhere: replies and published ports only.
	 * From the bridge to the host: replies only. */
	for (size_t i = 0; i < sizeof(iface_rules) / sizeof(iface_rules[0]); i++)
		rule_iface(b, c->bridge, &iface_rules[i]);
	/* Layer 2, as frames enter from a container's port: its own address
	 * only (IPv4 source, ARP sender), and nothing but IPv4 and ARP. */
	chain(b, NFPROTO_BRIDGE, "prerouting", "filter", NF_BR_PRE_ROUTING, -300, NF_ACCEPT);
	for (size_t i = 0; i < c->nports; i++)
		rules_port(b, &c->ports[i]);
	/* Layer 2: an isolated container's port talks to no other port. */
	chain(b, NFPROTO_BRIDGE, "forward", "filter", NF_BR_FORWARD, 0, NF_ACCEPT);
	for (size_t i = 0; i < c->nisolated; i++)
		for (int dir = 0; dir < 2; dir++) {
			h = rule_begin(b, NFPROTO_BRIDGE, "forward", "isolate port", &list);
			if (!h)
				continue;
			match_ifname(b, h, dir ? NFT_META_OIFNAME : NFT_META_IIFNAME, NFT_CMP_EQ, c->isolated[i].link);
			e_verdict(b, h, NF_DROP);
			rule_end(b, h, list);
		}
}

/* Send the batch. The kernel applies all of it or none, and answers after:
 * an error for each message that failed, then the acknowledgement of the
 * last message (the only one that asks for one: acknowledging every rule
 * cost a receive per rule at every start). The first error wins. */
static int commit(struct batch *b, struct berth_err *err)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	cleanup_close int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	char buf[8192] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct timeval tv = { .tv_sec = 30 };
	struct nlmsghdr *last = (struct nlmsghdr *)(b->buf + b->last);
	int done = 0;

	if (b->overflow)
		return berth_err_set(err, EMSGSIZE, "nftables: ruleset too large");
	if (fd < 0)
		return berth_err_sys(err, "nftables: netlink socket");
	if (b->nmsg == 0)
		return berth_err_set(err, EINVAL, "nftables: an empty transaction");
	last->nlmsg_flags |= NLM_F_ACK;
	/* The batch is one message, which must fit the socket's send buffer:
	 * past wmem_max as nft does, which needs CAP_NET_ADMIN. An answer that
	 * never comes is an error, not a berthd stuck for ever. */
	if (b->len > 65536) {
		int snd = (int)b->len + 4096;

		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
			return berth_err_sys(err, "nftables: a send buffer for %d messages", b->nmsg);
	}
	/* Errors without the request echoed: never longer than the buffer. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_NETLINK, NETLINK_CAP_ACK, &(int){ 1 }, sizeof(int)) < 0)
		return berth_err_sys(err, "nftables: socket options");
	if (sendto(fd, b->buf, b->len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return berth_err_sys(err, "nftables: send");
	while (!done) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return berth_err_set(err, ETIMEDOUT, "nftables: no answer from the kernel in %d s", (int)tv.tv_sec);
		if (n < 0)
			return berth_err_sys(err, "nftables: receive");
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct nlmsgerr *e = NLMSG_DATA(h);
			uint32_t k = h->nlmsg_seq - b->first_seq;

			if (h->nlmsg_type != NLMSG_ERROR || h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				continue;
			if (e->error)
				return berth_err_set(err, -e->error, "nftables: %s: %s",
						     h->nlmsg_seq < b->first_seq		    ? "the batch"
						     : k < 64 && k < (uint32_t)b->nmsg ? b->what[k]
											: "a rule",
						     strerror(-e->error));
			if (h->nlmsg_seq == last->nlmsg_seq)
				done = 1;
		}
	}
	return 0;
}

/* begin; (create table, delete it, create it again: empty whatever was
 * there); BODY; end. */
static int transaction(const struct berth_nft_config *c, struct berth_err *err)
{
	/* Mapped for the transaction only: a static buffer this size stayed in
	 * berthd's memory (and its monitors') once touched, as a huge page. */
	char *space = mmap(NULL, BATCH_MAX, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	struct batch b = { .buf = space, .seq = 1 };
	int r;
	struct nlmsghdr *h;
	static const uint8_t families[] = { NFPROTO_INET, NFPROTO_BRIDGE };

	if (space == MAP_FAILED)
		return berth_err_sys(err, "nftables: a batch buffer");
	h = msg_begin(&b, NFNL_MSG_BATCH_BEGIN, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, NULL);
	msg_end(&b, h);
	b.first_seq = b.seq;
	for (size_t i = 0; i < sizeof(families); i++) {
		table(&b, NFT_MSG_NEWTABLE, families[i], NLM_F_CREATE);
		table(&b, NFT_MSG_DELTABLE, families[i], 0);
		if (c)
			table(&b, NFT_MSG_NEWTABLE, families[i], NLM_F_CREATE);
	}
	if (c)
		build(&b, c);
	h = msg_begin(&b, NFNL_MSG_BATCH_END, 0, AF_UNSPEC, NFNL_SUBSYS_NFTABLES, NULL);
	msg_end(&b, h);
	r = commit(&b, err);
	munmap(space, BATCH_MAX);
	return r;
}

int berth_nft_apply(const struct berth_nft_config *c, struct berth_err *err)
{
	if (c->prefix < 8 || c->prefix > 30)
		return berth_err_set(err, EINVAL, "nftables: subnet prefix /%d (8 to 30)", c->prefix);
	return transaction(c, err);
}

int berth_nft_remove(struct berth_err *err)
{
	return transaction(NULL, err);
}
