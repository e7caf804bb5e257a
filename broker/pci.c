// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The PCI bus for devbrokerd (dbk_bus_pci): discovery through libpci;
 * handing a device to devbroker.ko (or back) through sysfs, the way
 * vfio-pci users do; and the module's grants and forced revocation.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/devbroker.h>

#include <pci/pci.h>

#include "daemon.h"
#include "policyload.h"

#define SYSPCI "/sys/bus/pci"
/* The module's device node of a PCI address (<linux/devbroker.h>: the DEVICE fd). */
#define DBK_PCI_NODE "/dev/devbroker/%s"

static int dbk_pci_cmp(const void *a, const void *b)
{
	return strcmp(((const struct dbk_devinfo *)a)->id, ((const struct dbk_devinfo *)b)->id);
}

/* Report every PCI device, in bus order (so that instance numbers follow it). */
static int dbk_pci_scan(struct dbk_daemon *dd,
			void (*found)(struct dbk_daemon *dd, const struct dbk_devinfo *info))
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
		found(dd, &all[i]);
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

/* Is devbroker.ko loaded (its PCI driver registered)? */
static bool dbk_pci_module_present(void)
{
	return access(SYSPCI "/drivers/devbroker", F_OK) == 0;
}

/* Hand @bdf to devbroker.ko: driver_override, unbind the current driver, probe. */
static int dbk_pci_bind(const char *bdf)
{
	char path[128], drv[64];
	int ret;

	dbk_pci_driver(bdf, drv, sizeof(drv));
	if (!strcmp(drv, "devbroker"))
		return 0;
	/*
	 * Without the module (not loaded, or refused under Secure Boot) the
	 * device would be left with no driver at all: keep the kernel's.
	 */
	if (!dbk_pci_module_present())
		return -ENODEV;
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
static int dbk_pci_unbind(const char *bdf)
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
static int dbk_pci_open_node(const char *bdf)
{
	char path[128];
	int i, fd;

	snprintf(path, sizeof(path), DBK_PCI_NODE, bdf);
	for (i = 0; i < 200; i++) {
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			return fd < 0 ? -errno : fd;
		usleep(10000);
	}
	return -ENOENT;
}

void dbk_pci_revoke_fd(int devfd)
{
	struct dbk_revoke rv = { .argsz = sizeof(rv) };

	if (devfd >= 0)
		ioctl(devfd, DBK_DEVICE_REVOKE, &rv);
}

static int dbk_pci_create_grant(struct dbk_entry *d)
{
	const struct dbk_rights *r = &d->rights;
	struct dbk_range ranges[DBK_MAX_MEDIATED];
	struct dbk_grant_spec spec = { .argsz = sizeof(spec) };
	unsigned int i;
	int fd;

	for (i = 0; i < r->nr_mediated; i++)
		ranges[i] = (struct dbk_range){ .bar = r->mediated[i].bar,
			.offset = r->mediated[i].offset, .size = r->mediated[i].size };
	spec.flags = ((r->irqs & DBK_IRQ_INTX) ? DBK_GRANT_F_INTX : 0) |
		     ((r->irqs & DBK_IRQ_MSI) ? DBK_GRANT_F_MSI : 0) |
		     ((r->irqs & DBK_IRQ_MSIX) ? DBK_GRANT_F_MSIX : 0) |
		     (r->config_write ? DBK_GRANT_F_CONFIG_WRITE : 0) |
		     (r->dma ? DBK_GRANT_F_DMA : 0) |
		     (r->dma && r->unsafe_dma ? DBK_GRANT_F_UNSAFE_DMA : 0) |
		     /* The module heeds a policy's DMA guard only with this flag. */
		     (r->dma && r->dma_guard[0] ? DBK_GRANT_F_DMA_GUARDED : 0);
	spec.bar_mask = r->bars;
	spec.mmap_mask = r->map_bars & r->bars;
	spec.max_vectors = (r->irqs & (DBK_IRQ_MSI | DBK_IRQ_MSIX)) ? r->vectors : 0;
	spec.irq_rate = r->irq_rate;
	spec.dma_quota = r->dma;
	spec.dma_bits = r->dma ? r->dma_bits : 0;
	spec.nr_mediated = r->nr_mediated;
	spec.mediated = (uintptr_t)ranges;
	spec.policy_cookie = dbk_policy_cookie(d->driver);
	/* The module runs this program, and no other, as the grant's guard. */
	spec.guard_fd = -1;
	if (spec.flags & DBK_GRANT_F_DMA_GUARDED) {
		spec.guard_fd = dbk_policy_guard_open(r->dma_guard);
		if (spec.guard_fd < 0) {
			dbk_log("%s: DMAGuard=%s: no guard program pinned for the policy (%s); one an"
				" older release loaded has none: dbk-policy unload %s", d->info.id,
				r->dma_guard, strerror(-spec.guard_fd), r->dma_guard);
			return spec.guard_fd;
		}
	}
	fd = ioctl(d->devfd, DBK_DEVICE_CREATE_GRANT, &spec);
	if (fd < 0 && errno == EBUSY) {
		/* A previous driver's straggler still holds the old grant: take it back. */
		dbk_pci_revoke_fd(d->devfd);
		fd = ioctl(d->devfd, DBK_DEVICE_CREATE_GRANT, &spec);
	}
	fd = fd < 0 ? -errno : fd;
	if (spec.guard_fd >= 0)
		close(spec.guard_fd);
	return fd;
}

/*
 * Why the module is not there, when it is not: under Secure Boot (module
 * signatures enforced, or the kernel locked down) the kernel refuses a
 * module DKMS signed with a key that is not enrolled, and modprobe says
 * only "Key was rejected by service" (EKEYREJECTED) or "Operation not
 * permitted".  Say what to do instead (README.md, "Secure Boot").
 */
static const char *dbk_pci_module_hint(void)
{
	char buf[128] = "";
	bool enforced = false;
	FILE *f;

	if (dbk_pci_module_present())
		return "";
	f = fopen("/sys/module/module/parameters/sig_enforce", "re");
	if (f) {
		enforced = fgets(buf, sizeof(buf), f) && buf[0] == 'Y';
		fclose(f);
	}
	f = fopen("/sys/kernel/security/lockdown", "re");
	if (f) {
		enforced |= fgets(buf, sizeof(buf), f) && !strstr(buf, "[none]");
		fclose(f);
	}
	if (enforced)
		return " (devbroker.ko is not loaded, and this kernel loads only signed modules, as under"
		       " Secure Boot: if `modprobe devbroker` says \"Key was rejected by service\", enrol the"
		       " DKMS signing key with `mokutil --import /var/lib/dkms/mok.pub` and reboot)";
	return " (devbroker.ko is not loaded: modprobe devbroker)";
}

/* Bind to devbroker.ko if needed, then a grant with exactly d->rights. */
static int dbk_pci_grant(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_manifest *m)
{
	int ret, grant;

	if (d->devfd < 0) {
		ret = dbk_pci_bind(d->info.id);
		if (ret) {
			dbk_log("%s: cannot bind to devbroker: %s%s", d->info.id, strerror(-ret),
				dbk_pci_module_hint());
			return ret;
		}
		dbk_event(dd, "bound", d, "bound to devbroker");
		d->devfd = dbk_pci_open_node(d->info.id);
		if (d->devfd < 0) {
			ret = d->devfd;
			d->devfd = -1;
			dbk_log("%s: /dev/devbroker node: %s", d->info.id, strerror(-ret));
			return ret;
		}
	}
	grant = dbk_pci_create_grant(d);
	if (grant < 0)
		dbk_log("%s: creating the grant for %s: %s", d->info.id, m->name, strerror(-grant));
	return grant;
}

/* The module's forced revocation: the driver loses the device at once. */
static void dbk_pci_revoke(struct dbk_daemon *dd, struct dbk_entry *d)
{
	(void)dd;
	dbk_pci_revoke_fd(d->devfd);
}

static void dbk_pci_unbind_entry(struct dbk_daemon *dd, struct dbk_entry *d)
{
	(void)dd;
	dbk_pci_unbind(d->info.id);
}

static const struct dbk_manifest *dbk_pci_match(struct dbk_daemon *dd,
						const struct dbk_devinfo *info)
{
	return dbk_match(dd->manifests, dd->nr_manifests, &dd->limits, info);
}

/* PCI ids are "0000:00:04.0"; USB ids are sysfs names with a '-' ("1-2:1.0"). */
static bool dbk_pci_owns_id(const char *id)
{
	return !strchr(id, '-');
}

/* A previous devbrokerd's grant on @id: revoked through the device node. */
static void dbk_pci_recover(const char *id, uint32_t mask)
{
	char path[128];
	int fd;

	(void)mask;
	snprintf(path, sizeof(path), DBK_PCI_NODE, id);
	fd = open(path, O_RDWR | O_CLOEXEC);
	dbk_pci_revoke_fd(fd);
	if (fd >= 0)
		close(fd);
}

const struct dbk_bus_ops dbk_bus_pci = {
	.name = "pci",
	.handover = DBK_HANDOVER_GRANT,
	.scan = dbk_pci_scan,
	.match = dbk_pci_match,
	.grant = dbk_pci_grant,
	.revoke = dbk_pci_revoke,
	.release = dbk_pci_revoke,	/* a straggler the driver forked loses the grant too */
	.unbind = dbk_pci_unbind_entry,
	.owns_id = dbk_pci_owns_id,
	.recover = dbk_pci_recover,
};
