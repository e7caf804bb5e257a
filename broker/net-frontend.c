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
 * long as devbrokerd's fd, which is closed when the driver is gone (its
 * queue closed with it), and then the kernel removes the interface.  It
 * does not outlive a driver's restart: the restarted driver gets a new
 * one, under the same name (addresses and routes set on the old one are
 * gone with it).
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
	dbk_event(dd, "frontend", d, "network interface %s (TAP) for driver %s", name, l->m->name);
	return fd;
err:
	dbk_log("%s: network interface %s: %s", d->info.id, name, strerror(-ret));
	if (fd >= 0)
		close(fd);
	close(keeper);		/* the interface goes with it */
	return ret;
}

/* The driver is gone (its queue closed): the interface goes now. */
static void dbk_net_close(struct dbk_daemon *dd, struct dbk_entry *d)
{
	if (!d->net_open)
		return;
	/* Never left behind persistent, whatever the driver tried. */
	if (ioctl(d->net_keeper, TUNSETPERSIST, 0UL) < 0)
		dbk_log("%s: %s: TUNSETPERSIST: %s", d->info.id, d->net_name, strerror(errno));
	close(d->net_keeper);
	d->net_keeper = -1;
	d->net_open = false;
	dbk_event(dd, "frontend", d, "network interface %s removed", d->net_name);
	d->net_name[0] = 0;
}

const struct dbk_frontend_ops dbk_frontend_net = {
	.name = "network", .handover = DBK_HANDOVER_NET,
	.wanted = dbk_net_wanted, .open = dbk_net_open, .close = dbk_net_close,
};
