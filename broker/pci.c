// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * PCI for devbrokerd: discovery through libpci, and handing a device to
 * devbroker.ko (or back) through sysfs, the way vfio-pci users do.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <pci/pci.h>

#include "daemon.h"

#define SYSPCI "/sys/bus/pci"

static int dbk_pci_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dbk_devinfo *)a)->id, ((const struct dbk_devinfo *)b)->id);
}

/* Report every PCI device, in bus order (so that instance numbers follow it). */
int dbk_pci_scan(void (*found)(const struct dbk_devinfo *info))
{
	struct pci_access *pacc = pci_alloc();
	struct dbk_devinfo *all = NULL, *na;
	struct pci_dev *p;
	int n = 0, i;

	if (!pacc)
		return -ENOMEM;
	pci_init(pacc);
	pci_scan_bus(pacc);
	for (p = pacc->devices; p; p = p->next) {
		struct dbk_devinfo info = { .bus = DBK_BUS_PCI };

		pci_fill_info(p, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_SUBSYS);
		snprintf(info.id, sizeof(info.id), "%04x:%02x:%02x.%d", p->domain, p->bus, p->dev, p->func);
		info.vendor = p->vendor_id;
		info.device = p->device_id;
		info.subvendor = p->subsys_vendor_id;
		info.subdevice = p->subsys_id;
		info.class_code = ((uint32_t)p->device_class << 8) | pci_read_byte(p, PCI_CLASS_PROG);
		dbk_pci_modalias(&info, info.modalias, sizeof(info.modalias));
		na = realloc(all, (n + 1) * sizeof(*all));
		if (!na)
			break;
		all = na;
		all[n++] = info;
	}
	pci_cleanup(pacc);
	if (n)
		qsort(all, n, sizeof(*all), dbk_pci_cmp);
	for (i = 0; i < n; i++)
		found(&all[i]);
	free(all);
	return n;
}

static int dbk_sysfs_write(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0)
		return -errno;
	r = write(fd, val, strlen(val));
	close(fd);
	return r < 0 ? -errno : 0;
}

/* The driver the device is bound to now, "" if none. */
static void dbk_pci_driver(const char *bdf, char *buf, size_t len)
{
	char path[128], link[256];
	ssize_t n;

	snprintf(path, sizeof(path), SYSPCI "/devices/%s/driver", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	buf[0] = 0;
	if (n > 0) {
		link[n] = 0;
		snprintf(buf, len, "%s", strrchr(link, '/') + 1);
	}
}

/* Hand @bdf to devbroker.ko: driver_override, unbind the current driver, probe. */
int dbk_pci_bind(const char *bdf)
{
	char path[128], drv[64];
	int ret;

	dbk_pci_driver(bdf, drv, sizeof(drv));
	if (!strcmp(drv, "devbroker"))
		return 0;
	snprintf(path, sizeof(path), SYSPCI "/devices/%s/driver_override", bdf);
	ret = dbk_sysfs_write(path, "devbroker");
	if (ret)
		return ret;
	if (drv[0]) {
		snprintf(path, sizeof(path), SYSPCI "/devices/%s/driver/unbind", bdf);
		ret = dbk_sysfs_write(path, bdf);
		if (ret)
			return ret;
	}
	ret = dbk_sysfs_write(SYSPCI "/drivers_probe", bdf);
	dbk_pci_driver(bdf, drv, sizeof(drv));
	if (strcmp(drv, "devbroker"))
		return ret ? ret : -ENODEV;	/* is devbroker.ko loaded? */
	return 0;
}

/* Give @bdf back to the kernel: unbind from devbroker, clear the override, probe. */
int dbk_pci_unbind(const char *bdf)
{
	char path[128], drv[64];

	dbk_pci_driver(bdf, drv, sizeof(drv));
	if (!strcmp(drv, "devbroker"))
		dbk_sysfs_write(SYSPCI "/drivers/devbroker/unbind", bdf);
	snprintf(path, sizeof(path), SYSPCI "/devices/%s/driver_override", bdf);
	dbk_sysfs_write(path, "\n");
	dbk_sysfs_write(SYSPCI "/drivers_probe", bdf);
	return 0;
}

/* devtmpfs creates the node asynchronously: wait up to 2 s for it. */
int dbk_pci_open_node(const char *bdf)
{
	char path[128];
	int i, fd;

	snprintf(path, sizeof(path), "/dev/devbroker/%s", bdf);
	for (i = 0; i < 200; i++) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			return fd < 0 ? -errno : fd;
		usleep(10000);
	}
	return -ENOENT;
}
