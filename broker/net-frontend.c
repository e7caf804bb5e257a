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
 * The driver may, through its fd and with no capability, set the carrier
 * and the MAC address (devbrokerd does not know the device's address:
 * the driver reads it from the device).  The tun ioctls that would keep
 * the interface beyond devbrokerd's say (TUNSETPERSIST, TUNSETOWNER,
 * TUNSETGROUP) or change its type (TUNSETLINK) are refused by the
 * sandbox's seccomp filter, and devbrokerd clears persistence before it
 * lets go all the same.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/if_tun.h>

#include "daemon.h"

#define DBK_TUN_FLAGS	(IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE)

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

/* A new open file of /dev/net/tun attached to (or creating) TAP @name. */
static int dbk_tun_attach(const char *name, int extra)
{
	struct ifreq ifr;
	int fd, ret;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = DBK_TUN_FLAGS | extra;
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
 * detached queue).  Attaching goes by name, and a name that is no longer
 * ours (the interface moved to another namespace) would make a new
 * interface: the ifindex tells.  The fd, or a negative errno.
 */
static int dbk_net_reattach(struct dbk_entry *d)
{
	struct ifreq ifr;
	int fd;

	memset(&ifr, 0, sizeof(ifr));
	if (ioctl(d->net_keeper, TUNGETIFF, &ifr) < 0)
		return -errno;
	ifr.ifr_name[IFNAMSIZ - 1] = 0;
	fd = dbk_tun_attach(ifr.ifr_name, 0);
	if (fd >= 0 && if_nametoindex(ifr.ifr_name) != d->net_ifindex) {
		close(fd);	/* the only queue of what it made: that goes */
		return -EXDEV;
	}
	return fd;
}

static int dbk_net_open(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_launch *l)
{
	char name[DBK_NAME_MAX];
	struct ifreq ifr;
	unsigned int off = 0;
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
		fd = dbk_net_reattach(d);
		if (fd >= 0) {
			dbk_event(dd, "frontend", d, "network interface %s (ifindex %u) kept for the restarted driver %s",
				  d->net_name, d->net_ifindex, l->m->name);
			return fd;
		}
		dbk_log("%s: network interface %s: a new queue for the restarted driver: %s; making a new interface",
			d->info.id, d->net_name,
			fd == -EXDEV ? "it is no longer in devbrokerd's namespace" : strerror(-fd));
	}
	dbk_net_settle(dd, d, true);	/* Network= changed, or the old one failed us */
	keeper = dbk_tun_attach(name, IFF_TUN_EXCL);
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
	fd = dbk_tun_attach(name, 0);
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
	d->net_ifindex = if_nametoindex(name);
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
	if (!d->net_open)
		return;
	/* A restart is coming: the interface waits for it. */
	if (!force && (d->pid > 0 || d->state == DBK_ST_BACKOFF))
		return;
	/* Never left behind persistent, whatever a driver tried. */
	if (ioctl(d->net_keeper, TUNSETPERSIST, 0UL) < 0)
		dbk_log("%s: %s: TUNSETPERSIST: %s", d->info.id, d->net_name, strerror(errno));
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
