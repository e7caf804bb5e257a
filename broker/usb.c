// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The USB bus for devbrokerd (dbk_bus_usb): discovery through libusb, and handing interfaces to a
 * driver (or back to the kernel) through usbfs, with no kernel code of
 * ours.
 *
 * A driver gets one /dev/bus/usb/BBB/DDD fd on which the broker has
 * claimed the granted interfaces (USBDEVFS_DISCONNECT_CLAIM detaches
 * usbhid, usb-storage... and claims for that fd in one step, so the kernel
 * driver cannot re-probe in between) and which it has then restricted to
 * them (USBDEVFS_DROP_PRIVILEGES): the fd can claim no other interface and
 * detach no kernel driver, and the mask only shrinks.  A dropped fd cannot
 * give an interface back either, so that is done on a fresh, undropped fd:
 * USBDEVFS_DISCONNECT takes the interface from whoever holds it through
 * usbfs (forced revocation), USBDEVFS_CONNECT lets the kernel driver probe
 * it again (the kernel never does that by itself when a usbfs claim ends).
 *
 * Discovery creates a fresh libusb context per scan: Debian's libusb
 * learns of hotplug through udevd, which devbrokerd must not depend on
 * (early boot, busybox), while the kernel's uevents, which devbrokerd
 * reads anyway for PCI, say when to scan again.  libusb reads descriptors
 * from sysfs: a scan does no I/O to any device.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <libusb.h>
#include <linux/usbdevice_fs.h>

#include "daemon.h"

#define SYSUSB "/sys/bus/usb/devices"
#define DBK_USB_MAX_IFACES 32		/* USBDEVFS_DROP_PRIVILEGES takes a 32-bit mask */

static int dbk_usb_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dbk_devinfo *)a)->id, ((const struct dbk_devinfo *)b)->id);
}

/* A small sysfs attribute of the device, "" if absent. */
static void dbk_usb_attr(const char *port, const char *attr, char *buf, size_t len)
{
	char path[128];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), SYSUSB "/%s/%s", port, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, len - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

/* The driver bound to interface @ifnum now ("usbhid", "usbfs"), "" if none. */
static void dbk_usb_iface_driver(const struct dbk_devinfo *info, unsigned int ifnum,
				 char *buf, size_t len)
{
	char path[128], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), SYSUSB "/%s:%u.%u/driver", info->usb_port, info->config, ifnum);
	n = readlink(path, link, sizeof(link) - 1);
	buf[0] = '\0';
	if (n > 0) {
		link[n] = '\0';
		snprintf(buf, len, "%.63s", strrchr(link, '/') ? strrchr(link, '/') + 1 : link);
	}
}

/* Is the device at @info's port still the one of that bus and address (not replugged)? */
static bool dbk_usb_same_device(const struct dbk_devinfo *info)
{
	char busnum[8], devnum[8];

	dbk_usb_attr(info->usb_port, "busnum", busnum, sizeof(busnum));
	dbk_usb_attr(info->usb_port, "devnum", devnum, sizeof(devnum));
	return atoi(busnum) == info->busnum && atoi(devnum) == info->devnum;
}

static int dbk_usb_add(struct dbk_devinfo **all, int *n, const struct dbk_devinfo *info)
{
	struct dbk_devinfo *na = realloc(*all, (*n + 1) * sizeof(**all));

	if (!na)
		return -ENOMEM;
	*all = na;
	na[(*n)++] = *info;
	return 0;
}

/*
 * One device's entries: its interfaces grouped by the manifest that
 * matches each (one driver per group), or the whole device when none
 * matches.
 */
static int dbk_usb_device(struct dbk_daemon *dd, libusb_device *dev, struct dbk_devinfo **all,
			  int *n)
{
	const struct dbk_manifest *drv[DBK_USB_MAX_IFACES] = { NULL };
	char aliases[DBK_USB_MAX_IFACES][DBK_PATH_MAX], serial[128];
	struct dbk_usb_iface ifs[DBK_USB_MAX_IFACES];
	struct libusb_config_descriptor *cfg = NULL;
	struct libusb_device_descriptor desc;
	struct dbk_devinfo base = { .bus = DBK_BUS_USB }, info;
	uint8_t ports[8];
	int np, nifs = 0, i, j, ret = 0;
	size_t len;

	if (libusb_get_device_descriptor(dev, &desc) < 0)
		return 0;
	/* Hubs stay with the kernel's hub driver; root hubs have no port path. */
	np = libusb_get_port_numbers(dev, ports, sizeof(ports));
	if (desc.bDeviceClass == LIBUSB_CLASS_HUB || np <= 0)
		return 0;
	len = (size_t)snprintf(base.usb_port, sizeof(base.usb_port), "%u-%u",
			       libusb_get_bus_number(dev), ports[0]);
	for (i = 1; i < np && len < sizeof(base.usb_port); i++)
		len += (size_t)snprintf(base.usb_port + len, sizeof(base.usb_port) - len, ".%u", ports[i]);
	/* A cut name would name another port: leave such a device alone. */
	if (len >= sizeof(base.usb_port) - sizeof(":255.31"))
		return 0;
	base.busnum = libusb_get_bus_number(dev);
	base.devnum = libusb_get_device_address(dev);
	base.vendor = desc.idVendor;
	base.device = desc.idProduct;
	base.class_code = (uint32_t)desc.bDeviceClass << 16 | desc.bDeviceSubClass << 8 | desc.bDeviceProtocol;
	/* The kernel's copy of the serial string: untrusted, so sanitized. */
	dbk_usb_attr(base.usb_port, "serial", serial, sizeof(serial));
	dbk_sanitize_name(serial, base.serial, sizeof(base.serial));

	if (libusb_get_active_config_descriptor(dev, &cfg) == 0) {
		base.config = cfg->bConfigurationValue;
		for (i = 0; i < cfg->bNumInterfaces && nifs < DBK_USB_MAX_IFACES; i++) {
			const struct libusb_interface_descriptor *alt;
			struct dbk_devinfo tmp = { .bus = DBK_BUS_USB };

			if (cfg->interface[i].num_altsetting < 1)
				continue;
			alt = &cfg->interface[i].altsetting[0];
			ifs[nifs] = (struct dbk_usb_iface){ .number = alt->bInterfaceNumber,
				.cls = alt->bInterfaceClass, .subclass = alt->bInterfaceSubClass,
				.protocol = alt->bInterfaceProtocol };
			dbk_usb_modalias(desc.idVendor, desc.idProduct, desc.bcdDevice, desc.bDeviceClass,
					 desc.bDeviceSubClass, desc.bDeviceProtocol, &ifs[nifs],
					 aliases[nifs], sizeof(aliases[nifs]));
			memcpy(tmp.modalias, aliases[nifs], sizeof(tmp.modalias));
			/* Only interfaces 0-31 fit the mask usbfs restricts a fd to. */
			if (alt->bInterfaceNumber < DBK_USB_MAX_IFACES)
				drv[nifs] = dbk_match(dd->manifests, dd->nr_manifests, &dd->limits, &tmp);
			nifs++;
		}
		libusb_free_config_descriptor(cfg);
	}

	for (i = 0; i < nifs; i++) {
		if (!drv[i])
			continue;
		for (j = 0; j < i && drv[j] != drv[i]; j++)
			;
		if (j < i)
			continue;	/* this manifest's group began at interface j */
		info = base;
		if (snprintf(info.id, sizeof(info.id), "%s:%u.%u", base.usb_port, base.config,
			     ifs[i].number) >= (int)sizeof(info.id))
			continue;	/* cannot happen: the port name was checked */
		memcpy(info.modalias, aliases[i], sizeof(info.modalias));
		info.class_code = (uint32_t)ifs[i].cls << 16 | ifs[i].subclass << 8 | ifs[i].protocol;
		for (j = i; j < nifs; j++)
			if (drv[j] == drv[i])
				info.usb_ifaces |= 1u << ifs[j].number;
		ret = dbk_usb_add(all, n, &info);
		if (ret)
			return ret;
	}
	for (i = 0; i < nifs && !drv[i]; i++)
		;
	if (i < nifs)
		return 0;
	/* Nothing matches: one entry for the device, which the kernel keeps. */
	info = base;
	snprintf(info.id, sizeof(info.id), "%s", base.usb_port);
	if (nifs) {
		memcpy(info.modalias, aliases[0], sizeof(info.modalias));
		info.class_code = (uint32_t)ifs[0].cls << 16 | ifs[0].subclass << 8 | ifs[0].protocol;
	}
	return dbk_usb_add(all, n, &info);
}

static int dbk_usb_scan(struct dbk_daemon *dd,
			void (*found)(struct dbk_daemon *dd, const struct dbk_devinfo *info))
{
	struct dbk_devinfo *all = NULL;
	libusb_device **list;
	libusb_context *ctx;
	ssize_t nd, k;
	int n = 0, i, ret;

	ret = libusb_init(&ctx);
	if (ret < 0)
		return -EIO;
	nd = libusb_get_device_list(ctx, &list);
	for (k = 0; k < nd; k++)
		if (dbk_usb_device(dd, list[k], &all, &n))
			break;
	if (nd >= 0)
		libusb_free_device_list(list, 1);
	libusb_exit(ctx);
	if (n)
		qsort(all, n, sizeof(*all), dbk_usb_cmp);
	for (i = 0; i < n; i++)
		found(dd, &all[i]);
	free(all);
	return n;
}

/*
 * A fresh fd on the device's node, if it is still the device we scanned.
 * usbfs refuses to open a device being disconnected (ENODEV).
 */
static int dbk_usb_open(const struct dbk_devinfo *info)
{
	char path[64];
	int fd;

	/* A replug reuses the port but gets a new address: then this entry is stale. */
	if (!dbk_usb_same_device(info))
		return -ENODEV;
	snprintf(path, sizeof(path), "/dev/bus/usb/%03u/%03u", info->busnum, info->devnum);
	fd = open(path, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* USBDEVFS_IOCTL on interface @ifnum: USBDEVFS_DISCONNECT or USBDEVFS_CONNECT. */
static int dbk_usb_iface_ioctl(int fd, unsigned int ifnum, int code)
{
	struct usbdevfs_ioctl cmd = { .ifno = (int)ifnum, .ioctl_code = code };
	int r = ioctl(fd, USBDEVFS_IOCTL, &cmd);

	return r < 0 ? -errno : r;
}

static bool dbk_usb_present(const struct dbk_devinfo *info)
{
	int fd = dbk_usb_open(info);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

/*
 * The interfaces of @d's device that another entry's live driver holds
 * (after the device's interfaces were regrouped between manifests): never
 * ours to take or give back.
 */
static uint32_t dbk_usb_others(struct dbk_daemon *dd, const struct dbk_entry *d)
{
	uint32_t mask = 0;
	int i;

	for (i = 0; i < dd->nr_devs; i++) {
		const struct dbk_entry *e = &dd->devs[i];

		if (e != d && e->pid > 0 && e->info.bus == DBK_BUS_USB &&
		    !strcmp(e->info.usb_port, d->info.usb_port) && e->info.devnum == d->info.devnum)
			mask |= e->info.usb_ifaces;
	}
	return mask;
}

/*
 * Through one fresh fd, for each interface of @mask: with @take, take it
 * from a usbfs claim (our driver's, or a straggler's it left: forced
 * revocation); with @give, let its kernel driver probe it if nothing
 * holds it.
 */
static void dbk_usb_release(const struct dbk_devinfo *info, uint32_t mask, bool take, bool give)
{
	char drv[64];
	unsigned int i;
	int fd, r;

	if (!mask)
		return;
	fd = dbk_usb_open(info);
	if (fd < 0)
		return;		/* unplugged: nothing to take or give back */
	for (i = 0; i < DBK_USB_MAX_IFACES; i++) {
		if (!(mask & (1u << i)))
			continue;
		dbk_usb_iface_driver(info, i, drv, sizeof(drv));
		if (take && !strcmp(drv, "usbfs")) {
			r = dbk_usb_iface_ioctl(fd, i, USBDEVFS_DISCONNECT);
			if (r < 0 && r != -ENODATA)
				dbk_log("%s: interface %u: USBDEVFS_DISCONNECT: %s", info->id, i, strerror(-r));
			dbk_usb_iface_driver(info, i, drv, sizeof(drv));
		}
		if (!give || drv[0])
			continue;	/* someone has it already */
		/* 1: a driver bound; 0 or -ENODATA-ish: none wants it (not an error). */
		r = dbk_usb_iface_ioctl(fd, i, USBDEVFS_CONNECT);
		dbk_usb_iface_driver(info, i, drv, sizeof(drv));
		if (r < 0)
			dbk_log("%s: interface %u: USBDEVFS_CONNECT: %s", info->id, i, strerror(-r));
		else
			dbk_log("%s: interface %u given back to the kernel (%s)", info->id, i,
				drv[0] ? drv : "no driver wants it");
	}
	close(fd);
}

/*
 * Ownership: each of these acts only on @d's interfaces that no other
 * entry's live driver holds.  Revoke: take them from whoever holds them
 * through usbfs (forced revocation).
 */
static void dbk_usb_revoke(struct dbk_daemon *dd, struct dbk_entry *d)
{
	dbk_usb_release(&d->info, d->info.usb_ifaces & ~dbk_usb_others(dd, d), true, false);
}

/* The same, then let the kernel drivers probe the driverless ones again. */
static void dbk_usb_giveback(struct dbk_daemon *dd, struct dbk_entry *d)
{
	dbk_usb_release(&d->info, d->info.usb_ifaces & ~dbk_usb_others(dd, d), true, true);
}

/* Unbind: only the second step (no usbfs claim is taken from anyone), once no driver runs. */
static void dbk_usb_unbind(struct dbk_daemon *dd, struct dbk_entry *d)
{
	if (d->pid <= 0)	/* else when the driver's exit is reaped (giveback) */
		dbk_usb_release(&d->info, d->info.usb_ifaces & ~dbk_usb_others(dd, d), false, true);
}

/* The driver's usbfs fd: its interfaces claimed for it and restricted to them. */
static int dbk_usb_grant(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_manifest *m)
{
	const struct dbk_devinfo *info = &d->info;
	struct usbdevfs_disconnect_claim dc = {
		/* Never steal an interface another usbfs program holds. */
		.flags = USBDEVFS_DISCONNECT_CLAIM_EXCEPT_DRIVER,
		.driver = "usbfs",
	};
	uint32_t mask = info->usb_ifaces, claimed = 0;
	unsigned int i;
	int fd, ret;

	(void)dd;
	(void)m;
	if (!mask)
		return -EINVAL;
	fd = dbk_usb_open(info);
	if (fd < 0)
		return fd;
	for (i = 0; i < DBK_USB_MAX_IFACES; i++) {
		if (!(mask & (1u << i)))
			continue;
		dc.interface = i;
		if (ioctl(fd, USBDEVFS_DISCONNECT_CLAIM, &dc) < 0) {
			ret = -errno;
			dbk_log("%s: interface %u: %s", info->id, i, ret == -EBUSY ?
				"another program holds it through usbfs" : strerror(-ret));
			goto err;
		}
		claimed |= 1u << i;
	}
	/* From here on the fd can neither claim another interface nor detach a driver. */
	if (ioctl(fd, USBDEVFS_DROP_PRIVILEGES, &mask) < 0) {
		ret = -errno;
		dbk_log("%s: USBDEVFS_DROP_PRIVILEGES: %s", info->id, strerror(-ret));
		goto err;
	}
	return fd;
err:
	/* Our claims end with the fd; the kernel drivers we detached get theirs back. */
	close(fd);
	dbk_usb_release(info, claimed, false, true);
	return ret;
}

/*
 * After a previous devbrokerd's driver on @id ("1-2:1.0") was killed:
 * its interfaces (@mask; 0: unknown, any) left without a driver get their
 * kernel driver back (those another program holds are left alone).
 */
static void dbk_usb_recover(const char *id, uint32_t mask)
{
	struct dbk_entry d = { 0 };
	const char *colon = strchr(id, ':');
	char busnum[8], devnum[8], cfg[8];
	unsigned int i;

	if (!colon || (size_t)(colon - id) >= sizeof(d.info.usb_port))
		return;
	memcpy(d.info.usb_port, id, (size_t)(colon - id));
	snprintf(d.info.id, sizeof(d.info.id), "%s", id);
	dbk_usb_attr(d.info.usb_port, "busnum", busnum, sizeof(busnum));
	dbk_usb_attr(d.info.usb_port, "devnum", devnum, sizeof(devnum));
	dbk_usb_attr(d.info.usb_port, "bConfigurationValue", cfg, sizeof(cfg));
	d.info.busnum = (uint8_t)atoi(busnum);
	d.info.devnum = (uint8_t)atoi(devnum);
	d.info.config = (uint8_t)atoi(cfg);
	for (i = 0; i < DBK_USB_MAX_IFACES; i++) {
		char path[128];

		snprintf(path, sizeof(path), SYSUSB "/%s:%u.%u", d.info.usb_port, d.info.config, i);
		if (access(path, F_OK) == 0 && (!mask || (mask & (1u << i))))
			d.info.usb_ifaces |= 1u << i;
	}
	/* Only those left without a driver: another program's usbfs claim stays. */
	if (d.info.busnum && d.info.devnum)
		dbk_usb_release(&d.info, d.info.usb_ifaces, false, true);
}

/*
 * A USB driver runs under the usb_requests policy, whatever its rights:
 * besides its request rules, the policy keeps it to the usbfs calls a
 * driver needs and keeps other processes out of its memory.  Without the
 * policy (or the BPF LSM) it does not start.  The child marks itself with
 * the rules (launch.c).
 */
static int dbk_usb_prepare(struct dbk_daemon *dd, struct dbk_entry *d, struct dbk_launch *l)
{
	char msg[512];
	int ret;

	ret = dbk_usb_deny_builtin(&d->rights);
	if (!ret)
		ret = dbk_usb_rules_from_rights(&d->rights, dbk_policy_cookie(d->driver), &l->usb_rules);
	if (ret) {
		dbk_log("%s: too many refused USB requests for %s: the driver stays off",
			d->info.id, d->driver);
		return ret;
	}
	ret = dbk_usb_policy_ensure(dd->policy_loader, dd->policy_dir, msg, sizeof(msg));
	if (ret) {
		dbk_log("%s: %s: the driver %s stays off", d->info.id, msg, d->driver);
		return ret;
	}
	l->usb_marked = true;
	dbk_denied_follow_usb(dd);
	return 0;
}

/* An entry without interfaces is the unmatched rest of a device: never driven. */
static const struct dbk_manifest *dbk_usb_match(struct dbk_daemon *dd,
						const struct dbk_devinfo *info)
{
	if (!info->usb_ifaces)
		return NULL;
	return dbk_match(dd->manifests, dd->nr_manifests, &dd->limits, info);
}

/* USB ids are sysfs names: "1-2:1.0", "1-2" (PCI ids have no '-'). */
static bool dbk_usb_owns_id(const char *id)
{
	return strchr(id, '-') != NULL;
}

const struct dbk_bus_ops dbk_bus_usb = {
	.name = "usb",
	.handover = DBK_HANDOVER_USB,
	.scan = dbk_usb_scan,
	.match = dbk_usb_match,
	.prepare = dbk_usb_prepare,
	.grant = dbk_usb_grant,
	.revoke = dbk_usb_revoke,
	.revoke_after_kill = true,
	.release = dbk_usb_giveback,
	.unbind = dbk_usb_unbind,
	.present = dbk_usb_present,
	.unplug_grace_ms = 2000,	/* a USB driver sees the unplug itself and exits */
	.owns_id = dbk_usb_owns_id,
	.recover = dbk_usb_recover,
};
