// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The network frontend (Network=): a TAP interface the driver serves
 * (<devbroker/net.h>).  Creating an interface needs CAP_NET_ADMIN, which
 * a driver never has, so devbrokerd creates it and hands over an fd
 * attached to it (DBK_HANDOVER_NET).
 *
 * The interface is multi-queue, made of two open files of /dev/net/tun:
 *  - devbrokerd's own, which creates it (IFF_TUN_EXCL: never another
 *    program's interface of that name) and is then detached
 *    (TUNSETQUEUE IFF_DETACH_QUEUE): a disabled queue, which the kernel
 *    sends nothing to but which keeps the interface alive
 *    (drivers/net/tun.c __tun_detach(): an interface ends when it has no
 *    queue, enabled or not, and is not persistent);
 *  - the driver's, the one enabled queue, which carries every frame.
 * So the interface is never persistent and never ownerless: it lives as
 * long as devbrokerd's fd (and ends with devbrokerd, whatever kills it).
 *
 * A restart keeps the interface, as the block frontend keeps its disk
 * (nbd-frontend.c): when the driver is gone, its queue closed, our fd
 * stays while a restart is coming (backoff), the carrier off meanwhile
 * (the kernel drops what the system sends: no queue is enabled).  The
 * restarted driver gets a new queue attached to the same interface: same
 * ifindex, its addresses, routes and MTU kept, the same MAC set again by
 * the driver.  Our fd is closed, and the interface goes, whenever no
 * restart follows (dbk_net_settle, from the same places as the block
 * frontend's): the device removed, the driver revoked, unbound, exited
 * for good or quarantined, its manifest gone, devbrokerd stopping.
 *
 * The driver may, through its fd and with no capability, set the carrier,
 * the MAC address (devbrokerd does not know the device's address: the
 * driver reads it from the device) and the offloads its device can do
 * (TUNSETOFFLOAD: checksum and TCP segmentation; only the driver knows
 * them).  The tun ioctls that would keep the interface beyond
 * devbrokerd's say (TUNSETPERSIST, TUNSETOWNER, TUNSETGROUP), change its
 * type (TUNSETLINK) or leave other state on the device for the next
 * driver (filters, send buffer, vnet header size and byte order) are
 * refused by the sandbox's seccomp filter; devbrokerd clears persistence
 * before it lets go, and resets that state, the offloads included, before
 * a restarted driver's queue is attached (dbk_net_reattach): the new
 * driver sets its own.
 *
 * Who else may attach a queue: /dev/net/tun is world-writable and the
 * kernel refuses TUNSETIFF on an existing interface only when it has an
 * owner or a group the caller does not match and the caller lacks
 * CAP_NET_ADMIN (drivers/net/tun.c tun_not_capable()).  So the interface
 * is made owned by devbrokerd's euid (0) right after it is created
 * (TUNSETOWNER on our fd): no unprivileged process can attach to it, nor
 * set its owner or persistence (that takes an attached fd).  Between the
 * TUNSETIFF that creates it and that TUNSETOWNER another local user could
 * attach a queue by name; so, the owner set, devbrokerd asks rtnetlink
 * how many queues the interface has (IFLA_TUN_NUM_QUEUES and
 * IFLA_TUN_NUM_DISABLED_QUEUES): anything but our one means someone got
 * in, and the interface is deleted (RTM_DELLINK, which detaches every
 * queue) and made again, once.  A restart checks again, before attaching
 * the new queue, that the interface is still devbrokerd's: in its network
 * namespace (TUNGETDEVNETNS), under the recorded ifindex, owned by euid
 * 0, with our detached queue its only one; otherwise it is let go (and
 * deleted when it still is in our namespace) and a new one is made.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/filter.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>

#include "daemon.h"

#define DBK_TUN_FLAGS	(IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE)

/*
 * NetworkOffloads=yes adds IFF_VNET_HDR: every frame carries a struct
 * virtio_net_hdr, so that the driver may take checksum and segmentation
 * offloads (libdev's dbk_net_set_offloads()).  Only where the manifest
 * asks: it opens the kernel's header parsing (virtio_net_hdr_to_skb(),
 * GSO frames) to the driver's writes, which a driver that offloads
 * nothing has no use for.  The flag is the device's, fixed by the
 * creating TUNSETIFF: a restarted driver's queue inherits it.
 */
static int dbk_tun_flags(const struct dbk_manifest *m)
{
	return DBK_TUN_FLAGS | (m->frontend.network_offloads ? IFF_VNET_HDR : 0);
}

static bool dbk_net_wanted(const struct dbk_manifest *m)
{
	return m->frontend.network[0];
}

/* An expanded Network=: what dev_valid_name() takes, with no '%' left. */
static bool dbk_net_name_ok(const char *name)
{
	size_t len = strlen(name);

	return len && len < IFNAMSIZ && strcmp(name, ".") && strcmp(name, "..") &&
	       strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == len;
}

/* What rtnetlink says of a tun interface (RTM_GETLINK, IFLA_LINKINFO). */
struct dbk_tun_info {
	char name[IFNAMSIZ];
	bool tun, counted;
	uint32_t owner, group;		/* (uint32_t)-1: none */
	uint32_t queues, disabled;
};

static void dbk_tun_parse_data(struct rtattr *rta, int len, struct dbk_tun_info *ti)
{
	unsigned int q = 0;

	for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
		if (RTA_PAYLOAD(rta) < sizeof(uint32_t))
			continue;
		uint32_t v;

		memcpy(&v, RTA_DATA(rta), sizeof(v));
		switch (rta->rta_type) {
		case IFLA_TUN_OWNER: ti->owner = v; break;
		case IFLA_TUN_GROUP: ti->group = v; break;
		case IFLA_TUN_NUM_QUEUES: ti->queues = v; q |= 1; break;
		case IFLA_TUN_NUM_DISABLED_QUEUES: ti->disabled = v; q |= 2; break;
		}
	}
	ti->counted = q == 3;
}

/*
 * One request to NETLINK_ROUTE about interface @ifindex in devbrokerd's
 * namespace: RTM_GETLINK (@ti filled) or RTM_DELLINK.  0 or a negative errno.
 */
static int dbk_rtnl_link(int type, unsigned int ifindex, struct dbk_tun_info *ti)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req;
	union {
		struct nlmsghdr nh;
		char buf[16384];
	} u;
	struct nlmsghdr *nh;
	int s, n, ret = -EIO;

	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
	req.nh.nlmsg_type = (uint16_t)type;
	req.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	req.nh.nlmsg_seq = 1;
	req.ifi.ifi_family = AF_UNSPEC;
	req.ifi.ifi_index = (int)ifindex;
	if (send(s, &req, req.nh.nlmsg_len, 0) < 0) {
		ret = -errno;
		goto out;
	}
	if (ti) {
		memset(ti, 0, sizeof(*ti));
		ti->owner = ti->group = (uint32_t)-1;
	}
	for (;;) {
		n = (int)recv(s, u.buf, sizeof(u.buf), 0);
		if (n < 0) {
			ret = -errno;
			goto out;
		}
		for (nh = &u.nh; NLMSG_OK(nh, (unsigned int)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					goto out;
				ret = e->error;	/* 0: the ACK, after RTM_NEWLINK if any */
				goto out;
			}
			if (nh->nlmsg_type == RTM_NEWLINK && ti) {
				struct ifinfomsg *ifi = NLMSG_DATA(nh);
				struct rtattr *rta = IFLA_RTA(ifi);
				int len = (int)IFLA_PAYLOAD(nh);

				if (ifi->ifi_index != (int)ifindex)
					continue;
				for (; RTA_OK(rta, len); rta = RTA_NEXT(rta, len)) {
					if (rta->rta_type == IFLA_IFNAME) {
						snprintf(ti->name, sizeof(ti->name), "%.*s",
							 (int)RTA_PAYLOAD(rta), (char *)RTA_DATA(rta));
					} else if (rta->rta_type == IFLA_LINKINFO) {
						struct rtattr *li = RTA_DATA(rta);
						int llen = (int)RTA_PAYLOAD(rta);

						for (; RTA_OK(li, llen); li = RTA_NEXT(li, llen)) {
							if (li->rta_type == IFLA_INFO_KIND)
								ti->tun = RTA_PAYLOAD(li) >= 3 &&
									  !memcmp(RTA_DATA(li), "tun", 3);
							else if (li->rta_type == IFLA_INFO_DATA)
								dbk_tun_parse_data(RTA_DATA(li),
										   (int)RTA_PAYLOAD(li), ti);
						}
					}
				}
			}
		}
	}
out:
	close(s);
	return ret;
}

/*
 * Is the interface @keeper is a queue of in devbrokerd's network namespace
 * (TUNGETDEVNETNS), its name there @name and its ifindex @ifindex?
 */
static bool dbk_tun_ours(int keeper, const char *name, unsigned int ifindex)
{
	struct stat a, b;
	int ns;
	bool ours;

	ns = ioctl(keeper, TUNGETDEVNETNS);
	if (ns < 0)
		return false;
	ours = !fstat(ns, &a) && !stat("/proc/self/ns/net", &b) && a.st_ino == b.st_ino &&
	       a.st_dev == b.st_dev;
	close(ns);
	return ours && ifindex && if_nametoindex(name) == ifindex;
}

/* The socket default send buffer of a new interface (TUNGETSNDBUF at creation). */
static int dbk_tun_sndbuf = INT_MAX;

/*
 * The device state a driver's queue could have set and the kernel keeps
 * on the interface, for the next queue to inherit, back to a new
 * interface's: the offloads, which are the driver's to set, and the rest,
 * which the sandbox refuses to drivers already.  0 or a negative errno.
 */
static int dbk_tun_reset(int keeper)
{
	struct tun_filter txf = { .flags = 0, .count = 0 };
	int hdrsz = (int)sizeof(struct virtio_net_hdr), zero = 0, none = -1;
	int sndbuf = dbk_tun_sndbuf;

	if (ioctl(keeper, TUNDETACHFILTER, NULL) < 0 ||
	    ioctl(keeper, TUNSETTXFILTER, &txf) < 0 ||
	    ioctl(keeper, TUNSETOFFLOAD, 0UL) < 0 ||
	    ioctl(keeper, TUNSETSNDBUF, &sndbuf) < 0 ||
	    ioctl(keeper, TUNSETVNETHDRSZ, &hdrsz) < 0 ||
	    ioctl(keeper, TUNSETSTEERINGEBPF, &none) < 0 ||
	    ioctl(keeper, TUNSETFILTEREBPF, &none) < 0 ||
	    ioctl(keeper, TUNSETDEBUG, 0UL) < 0)
		return -errno;
	/* Without CONFIG_TUN_VNET_CROSS_LE these are EINVAL: nothing to reset. */
	if (ioctl(keeper, TUNSETVNETLE, &zero) < 0 && errno != EINVAL)
		return -errno;
	if (ioctl(keeper, TUNSETVNETBE, &zero) < 0 && errno != EINVAL)
		return -errno;
	return 0;
}

/* A new open file of /dev/net/tun attached to (or creating) TAP @name, with @flags. */
static int dbk_tun_attach(const char *name, int flags)
{
	struct ifreq ifr;
	int fd, ret;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = (short)flags;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	/* The kernel took our name, never one of its own choice. */
	if (strncmp(ifr.ifr_name, name, IFNAMSIZ)) {
		close(fd);
		return -EINVAL;
	}
	return fd;
}

/*
 * A restart: a new queue on the interface our fd kept, by the name it has
 * now (the administrator may have renamed it; TUNGETIFF works on a
 * detached queue).  Attaching goes by name, so the name must still be
 * that of our interface in our namespace (the interface may have moved
 * to another namespace, another taken its name here); the interface must
 * still be owned by euid 0 and have no queue but our detached one (none
 * left by the last driver or anyone else).  Its state reset, the new
 * queue is attached with IFF_NOFILTER (no socket filter inherited).  The
 * fd, or a negative errno: -EXDEV not ours any more, -EPERM not as we
 * left it.
 */
static int dbk_net_reattach(struct dbk_entry *d, int flags)
{
	struct dbk_tun_info ti;
	struct ifreq ifr;
	int fd, ret;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(d->net_keeper, TUNGETIFF, &ifr) < 0)
		return -errno;
	/* Made with other flags (NetworkOffloads= changed): a new one. */
	if ((ifr.ifr_flags & (DBK_TUN_FLAGS | IFF_VNET_HDR)) != flags)
		return -EPERM;
	ifr.ifr_name[IFNAMSIZ - 1] = 0;
	if (!dbk_tun_ours(d->net_keeper, ifr.ifr_name, d->net_ifindex))
		return -EXDEV;
	ret = dbk_rtnl_link(RTM_GETLINK, d->net_ifindex, &ti);
	if (ret < 0)
		return ret;
	if (!ti.tun || !ti.counted || strcmp(ti.name, ifr.ifr_name))
		return -EXDEV;
	if (ti.owner != 0 || ti.group != (uint32_t)-1 || ti.queues != 0 || ti.disabled != 1) {
		dbk_log("%s: network interface %s: owner %d group %d, %u queue(s) and %u detached: not as devbrokerd left it",
			d->info.id, ifr.ifr_name, (int)ti.owner, (int)ti.group, ti.queues,
			ti.disabled);
		return -EPERM;
	}
	ret = dbk_tun_reset(d->net_keeper);
	if (ret < 0)
		return ret;
	fd = dbk_tun_attach(ifr.ifr_name, flags | IFF_NOFILTER);
	if (fd >= 0 && !dbk_tun_ours(d->net_keeper, ifr.ifr_name, d->net_ifindex)) {
		close(fd);	/* renamed meanwhile: whatever it attached to, let go */
		return -EXDEV;
	}
	return fd;
}

/*
 * Make TAP @name, owned by euid 0, our fd its only queue (see the top of
 * the file): the fd, or a negative errno.  *@ifindex set.
 */
static int dbk_net_create(struct dbk_entry *d, const char *name, int flags, unsigned int *ifindex)
{
	struct dbk_tun_info ti;
	int keeper, ret, attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		keeper = dbk_tun_attach(name, flags | IFF_TUN_EXCL);
		if (keeper < 0)
			return keeper;
		if (ioctl(keeper, TUNSETOWNER, 0UL) < 0) {
			ret = -errno;
			close(keeper);
			return ret;
		}
		*ifindex = if_nametoindex(name);
		ret = dbk_rtnl_link(RTM_GETLINK, *ifindex, &ti);
		if (ret < 0) {
			close(keeper);
			return ret;
		}
		if (!ti.counted) {
			close(keeper);
			return -EOPNOTSUPP;	/* a kernel before 4.20: cannot tell */
		}
		if (ti.tun && !strcmp(ti.name, name) && ti.owner == 0 &&
		    ti.group == (uint32_t)-1 && ti.queues == 1 && ti.disabled == 0) {
			if (ioctl(keeper, TUNGETSNDBUF, &dbk_tun_sndbuf) < 0 || dbk_tun_sndbuf <= 0)
				dbk_tun_sndbuf = INT_MAX;
			return keeper;
		}
		/* Someone attached before the owner was set: nobody keeps it. */
		dbk_log("%s: network interface %s: %u queue(s) and %u detached besides ours right after creating it: deleting it",
			d->info.id, name, ti.queues ? ti.queues - 1 : 0, ti.disabled);
		if (ti.tun && !strcmp(ti.name, name))
			dbk_rtnl_link(RTM_DELLINK, *ifindex, NULL);
		close(keeper);
	}
	return -EBUSY;
}

static int dbk_net_open(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_launch *l)
{
	char name[DBK_NAME_MAX];
	struct ifreq ifr;
	unsigned int off = 0, ifindex = 0;
	int keeper = -1, fd = -1, ret;

	ret = dbk_template_expand(l->m->frontend.network, d->instance, d->info.id, d->info.serial,
				  name, sizeof(name));
	if (ret >= 0 && !dbk_net_name_ok(name))
		ret = -EINVAL;
	if (ret < 0) {
		dbk_log("%s: Network=%s: not an interface name once expanded ('%s'; at most %d characters)",
			d->info.id, l->m->frontend.network, ret == -EINVAL ? name : "",
			IFNAMSIZ - 1);
		return ret;
	}
	/* A restart, Network= unchanged: the interface the last run had. */
	if (d->net_open && !strcmp(name, d->net_name)) {
		fd = dbk_net_reattach(d, dbk_tun_flags(l->m));
		if (fd >= 0) {
			dbk_event(dd, "frontend", d, "network interface %s (ifindex %u) kept for the restarted driver %s",
				  d->net_name, d->net_ifindex, l->m->name);
			return fd;
		}
		dbk_log("%s: network interface %s: a new queue for the restarted driver: %s; making a new interface",
			d->info.id, d->net_name,
			fd == -EXDEV ? "it is no longer devbrokerd's (another namespace or ifindex)" :
			fd == -EPERM ? "it is not as devbrokerd left it (owner or queues), or NetworkOffloads= changed" :
			strerror(-fd));
	}
	dbk_net_settle(dd, d, true);	/* Network= changed, or the old one failed us */
	keeper = dbk_net_create(d, name, dbk_tun_flags(l->m), &ifindex);
	if (keeper < 0) {
		ret = keeper;
		dbk_log("%s: network interface %s: %s", d->info.id, name,
			ret == -EBUSY ? "an interface of that name exists already" :
			ret == -ENOENT ? "no /dev/net/tun (modprobe tun)" : strerror(-ret));
		return ret;
	}
	/* No carrier until the driver says its link is up. */
	if (ioctl(keeper, TUNSETCARRIER, &off) < 0)
		dbk_log("%s: %s: TUNSETCARRIER: %s", d->info.id, name, strerror(errno));
	fd = dbk_tun_attach(name, dbk_tun_flags(l->m));
	if (fd < 0) {
		ret = fd;
		goto err;
	}
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_DETACH_QUEUE;
	if (ioctl(keeper, TUNSETQUEUE, &ifr) < 0) {
		ret = -errno;
		goto err;
	}
	d->net_keeper = keeper;
	d->net_open = true;
	snprintf(d->net_name, sizeof(d->net_name), "%s", name);
	/* Just made, under a name the kernel gave no other (IFF_TUN_EXCL): ours. */
	d->net_ifindex = ifindex;
	dbk_event(dd, "frontend", d, "network interface %s (TAP, ifindex %u) for driver %s", name,
		  d->net_ifindex, l->m->name);
	return fd;
err:
	dbk_log("%s: network interface %s: %s", d->info.id, name, strerror(-ret));
	if (fd >= 0)
		close(fd);
	close(keeper);		/* the interface goes with it */
	return ret;
}

/*
 * The driver is gone (its queue closed with it) or did not start: the
 * interface stays for a restart (dbk_net_settle decides), without a
 * carrier until the next driver finds its link up.  The kernel turns it
 * off only once no queue is left at all.
 */
static void dbk_net_close(struct dbk_daemon *dd, struct dbk_entry *d)
{
	unsigned int off = 0;

	(void)dd;
	if (d->net_open && ioctl(d->net_keeper, TUNSETCARRIER, &off) < 0)
		dbk_log("%s: %s: TUNSETCARRIER: %s", d->info.id, d->net_name, strerror(errno));
}

void dbk_net_settle(struct dbk_daemon *dd, struct dbk_entry *d, bool force)
{
	struct dbk_tun_info ti;
	struct ifreq ifr;

	if (!d->net_open)
		return;
	/* A restart is coming: the interface waits for it. */
	if (!force && (d->pid > 0 || d->state == DBK_ST_BACKOFF))
		return;
	/* Never left behind persistent, whatever a driver tried. */
	if (ioctl(d->net_keeper, TUNSETPERSIST, 0UL) < 0)
		dbk_log("%s: %s: TUNSETPERSIST: %s", d->info.id, d->net_name, strerror(errno));
	/*
	 * Still ours, in our namespace: deleted, whoever else holds a queue
	 * (RTM_DELLINK detaches them all).  Moved elsewhere: only let go.
	 */
	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(d->net_keeper, TUNGETIFF, &ifr) == 0) {
		ifr.ifr_name[IFNAMSIZ - 1] = 0;
		if (dbk_tun_ours(d->net_keeper, ifr.ifr_name, d->net_ifindex) &&
		    dbk_rtnl_link(RTM_GETLINK, d->net_ifindex, &ti) == 0 && ti.tun &&
		    !strcmp(ti.name, ifr.ifr_name) && (ti.queues || ti.disabled != 1))
			dbk_rtnl_link(RTM_DELLINK, d->net_ifindex, NULL);
	}
	close(d->net_keeper);	/* the last queue, if no driver runs: the interface goes */
	d->net_keeper = -1;
	d->net_open = false;
	dbk_event(dd, "frontend", d, "network interface %s removed", d->net_name);
	d->net_name[0] = 0;
	d->net_ifindex = 0;
}

const struct dbk_frontend_ops dbk_frontend_net = {
	.name = "network", .handover = DBK_HANDOVER_NET,
	.wanted = dbk_net_wanted, .open = dbk_net_open, .close = dbk_net_close,
};
