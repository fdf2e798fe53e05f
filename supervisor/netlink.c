/* rtnetlink requests (netlink.h). One request at a time: build it in a
 * buffer, send it with NLM_F_ACK, read the acknowledgement. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/values.h"
#include "netlink.h"

#define NL_BUF 4096

struct req {
	struct nlmsghdr *h;
	char buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	int overflow;
};

static void *req_init(struct req *r, uint16_t type, uint16_t flags, size_t body)
{
	memset(r, 0, sizeof(*r));
	r->h = (struct nlmsghdr *)r->buf;
	r->h->nlmsg_type = type;
	r->h->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	r->h->nlmsg_len = (uint32_t)NLMSG_LENGTH(body);
	return NLMSG_DATA(r->h);
}

static struct rtattr *attr(struct req *r, uint16_t type, const void *data, size_t len)
{
	size_t off = NLMSG_ALIGN(r->h->nlmsg_len);
	struct rtattr *a = (struct rtattr *)(r->buf + off);

	if (off + RTA_SPACE(len) > sizeof(r->buf)) {
		r->overflow = 1;
		return NULL;
	}
	a->rta_type = type;
	a->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(a), data, len);
	r->h->nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
	return a;
}

static void attr_str(struct req *r, uint16_t type, const char *s)
{
	attr(r, type, s, strlen(s) + 1);
}

static void attr_u32(struct req *r, uint16_t type, uint32_t v)
{
	attr(r, type, &v, sizeof(v));
}

/* A nested attribute: begin returns it, end fixes its length. */
static struct rtattr *nest(struct req *r, uint16_t type)
{
	return attr(r, type, NULL, 0);
}

static void nest_end(struct req *r, struct rtattr *a)
{
	if (a)
		a->rta_len = (unsigned short)(r->buf + r->h->nlmsg_len - (char *)a);
}

int berth_nl_open(struct berth_nl *nl, struct berth_err *err)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };

	nl->seq = 0;
	nl->fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl->fd < 0)
		return berth_err_sys(err, "netlink socket");
	if (bind(nl->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		berth_err_sys(err, "netlink bind");
		close(nl->fd);
		nl->fd = -1;
		return -1;
	}
	return 0;
}

void berth_nl_close(struct berth_nl *nl)
{
	if (nl->fd >= 0)
		close(nl->fd);
	nl->fd = -1;
}

/* Send R; 0 on the kernel's acknowledgement, else -1 with WHAT and its error. */
static int talk(struct berth_nl *nl, struct req *r, const char *what, struct berth_err *err)
{
	char buf[NL_BUF] __attribute__((aligned(NLMSG_ALIGNTO)));
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };

	if (r->overflow)
		return berth_err_set(err, EMSGSIZE, "%s: request too large", what);
	r->h->nlmsg_seq = ++nl->seq;
	if (sendto(nl->fd, r->buf, r->h->nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
		return berth_err_sys(err, "%s: netlink send", what);
	for (;;) {
		ssize_t n = recv(nl->fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return berth_err_sys(err, "%s: netlink receive", what);
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			const struct nlmsgerr *e;

			if (h->nlmsg_seq != nl->seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			if (h->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return berth_err_set(err, EPROTO, "%s: short netlink answer", what);
			e = NLMSG_DATA(h);
			if (e->error == 0)
				return 0;
			return berth_err_set(err, -e->error, "%s: %s", what, strerror(-e->error));
		}
	}
}

static int link_index(const char *name, const char *what, struct berth_err *err)
{
	unsigned idx = if_nametoindex(name);

	if (!idx)
		return berth_err_set(err, ENODEV, "%s: no link %s", what, name);
	return (int)idx;
}

int berth_nl_bridge_add(struct berth_nl *nl, const char *name, struct berth_err *err)
{
	struct req r;
	struct rtattr *info;
	char what[64];

	snprintf(what, sizeof(what), "create bridge %s", name);
	req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	attr_str(&r, IFLA_IFNAME, name);
	info = nest(&r, IFLA_LINKINFO);
	attr_str(&r, IFLA_INFO_KIND, "bridge");
	nest_end(&r, info);
	return talk(nl, &r, what, err);
}

void berth_net_mac(uint32_t ip, uint8_t mac[6])
{
	mac[0] = 0x0a;
	mac[1] = 0x58;
	for (int i = 0; i < 4; i++)
		mac[2 + i] = (uint8_t)(ip >> (24 - 8 * i));
}

int berth_nl_veth_add(struct berth_nl *nl, const char *name, const char *peer, const uint8_t *peer_mac, pid_t peer_pid,
		      struct berth_err *err)
{
	struct req r;
	struct rtattr *info, *data, *pinfo;
	struct ifinfomsg pifm = { .ifi_family = AF_UNSPEC };
	char what[96];

	snprintf(what, sizeof(what), "create veth pair %s/%s", name, peer);
	req_init(&r, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, sizeof(struct ifinfomsg));
	attr_str(&r, IFLA_IFNAME, name);
	info = nest(&r, IFLA_LINKINFO);
	attr_str(&r, IFLA_INFO_KIND, "veth");
	data = nest(&r, IFLA_INFO_DATA);
	/* The peer: an ifinfomsg, then its own attributes. */
	pinfo = attr(&r, VETH_INFO_PEER, &pifm, sizeof(pifm));
	attr_str(&r, IFLA_IFNAME, peer);
	if (peer_mac)
		attr(&r, IFLA_ADDRESS, peer_mac, 6);
	if (peer_pid > 0)
		attr_u32(&r, IFLA_NET_NS_PID, (uint32_t)peer_pid);
	nest_end(&r, pinfo);
	nest_end(&r, data);
	nest_end(&r, info);
	return talk(nl, &r, what, err);
}

int berth_nl_link_set(struct berth_nl *nl, const char *name, int up, int master, struct berth_err *err)
{
	struct req r;
	struct ifinfomsg *ifm;
	char what[64];
	int idx;

	snprintf(what, sizeof(what), "set link %s %s", name, up ? "up" : "down");
	if ((idx = link_index(name, what, err)) < 0)
		return -1;
	ifm = req_init(&r, RTM_NEWLINK, 0, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = idx;
	ifm->ifi_change = IFF_UP;
	ifm->ifi_flags = up ? IFF_UP : 0;
	if (master > 0)
		attr_u32(&r, IFLA_MASTER, (uint32_t)master);
	return talk(nl, &r, what, err);
}

int berth_nl_link_netns(struct berth_nl *nl, const char *name, int nsfd, struct berth_err *err)
{
	struct req r;
	struct ifinfomsg *ifm;
	char what[64];
	int idx;

	snprintf(what, sizeof(what), "move link %s to another network namespace", name);
	if ((idx = link_index(name, what, err)) < 0)
		return -1;
	ifm = req_init(&r, RTM_NEWLINK, 0, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = idx;
	attr_u32(&r, IFLA_NET_NS_FD, (uint32_t)nsfd);
	return talk(nl, &r, what, err);
}

int berth_nl_brport_isolate(struct berth_nl *nl, const char *name, int isolated, struct berth_err *err)
{
	struct req r;
	struct ifinfomsg *ifm;
	struct rtattr *pro;
	uint8_t on = isolated ? 1 : 0;
	char what[64];
	int idx;

	snprintf(what, sizeof(what), "isolate bridge port %s", name);
	if ((idx = link_index(name, what, err)) < 0)
		return -1;
	ifm = req_init(&r, RTM_SETLINK, 0, sizeof(*ifm));
	ifm->ifi_family = AF_BRIDGE;
	ifm->ifi_index = idx;
	pro = nest(&r, IFLA_PROTINFO | NLA_F_NESTED);
	attr(&r, IFLA_BRPORT_ISOLATED, &on, sizeof(on));
	nest_end(&r, pro);
	return talk(nl, &r, what, err);
}

int berth_nl_link_del(struct berth_nl *nl, const char *name, struct berth_err *err)
{
	struct req r;
	struct ifinfomsg *ifm;
	char what[64];
	int idx;

	snprintf(what, sizeof(what), "delete link %s", name);
	if ((idx = link_index(name, what, err)) < 0)
		return -1;
	ifm = req_init(&r, RTM_DELLINK, 0, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = idx;
	return talk(nl, &r, what, err);
}

int berth_nl_addr_add(struct berth_nl *nl, const char *name, uint32_t addr, int prefix, struct berth_err *err)
{
	struct req r;
	struct ifaddrmsg *ifa;
	uint32_t a = htonl(addr);
	char what[96], s[16];
	int idx;

	snprintf(what, sizeof(what), "add address %s/%d to %s", berth_format_ipv4(addr, s), prefix, name);
	if (prefix < 0 || prefix > 32)
		return berth_err_set(err, EINVAL, "%s: bad prefix length", what);
	if ((idx = link_index(name, what, err)) < 0)
		return -1;
	ifa = req_init(&r, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, sizeof(*ifa));
	ifa->ifa_family = AF_INET;
	ifa->ifa_prefixlen = (unsigned char)prefix;
	ifa->ifa_index = (unsigned)idx;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	attr(&r, IFA_LOCAL, &a, sizeof(a));
	attr(&r, IFA_ADDRESS, &a, sizeof(a));
	if (prefix < 31) {
		uint32_t bcast = htonl(addr | (prefix ? 0xffffffffu >> prefix : 0xffffffffu));

		attr(&r, IFA_BROADCAST, &bcast, sizeof(bcast));
	}
	return talk(nl, &r, what, err);
}

int berth_nl_route_add(struct berth_nl *nl, uint32_t dst, int prefix, uint32_t gateway, const char *name,
		       struct berth_err *err)
{
	struct req r;
	struct rtmsg *rt;
	uint32_t d = htonl(dst), gw = htonl(gateway);
	char what[128], s1[16], s2[16];
	int idx;

	snprintf(what, sizeof(what), "add route %s/%d via %s dev %s", berth_format_ipv4(dst, s1), prefix,
		 berth_format_ipv4(gateway, s2), name);
	if (prefix < 0 || prefix > 32)
		return berth_err_set(err, EINVAL, "%s: bad prefix length", what);
	if ((idx = link_index(name, what, err)) < 0)
		return -1;
	rt = req_init(&r, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, sizeof(*rt));
	rt->rtm_family = AF_INET;
	rt->rtm_dst_len = (unsigned char)prefix;
	rt->rtm_table = RT_TABLE_MAIN;
	rt->rtm_protocol = RTPROT_STATIC;
	rt->rtm_scope = gateway ? RT_SCOPE_UNIVERSE : RT_SCOPE_LINK;
	rt->rtm_type = RTN_UNICAST;
	if (prefix)
		attr(&r, RTA_DST, &d, sizeof(d));
	if (gateway)
		attr(&r, RTA_GATEWAY, &gw, sizeof(gw));
	attr_u32(&r, RTA_OIF, (uint32_t)idx);
	return talk(nl, &r, what, err);
}
