// SPDX-License-Identifier: GPL-2.0-only
/*
 * Grants: the capability a driver holds.  Creation fixes its rights;
 * revocation takes every resource back without the driver's cooperation.
 */
#include <linux/bpf.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/security.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dbk.h"

static unsigned int settle_ms = 500;
module_param(settle_ms, uint, 0444);
MODULE_PARM_DESC(settle_ms, "ms a device without a reset method settles, after a revocation or probe, before a grant may master it (default 500)");

static void dbk_grant_free(struct kref *kref)
{
	struct dbk_grant *g = container_of(kref, struct dbk_grant, kref);

	dbk_device_put(g->dev);
	if (g->guard)
		bpf_prog_put(g->guard);
	kfree(g);
}

void dbk_grant_put(struct dbk_grant *g)
{
	kref_put(&g->kref, dbk_grant_free);
}

/*
 * Without an IOMMU, bus mastering needs a policy guarding the DMA registers
 * or the administrator's explicit consent.
 */
bool dbk_grant_dma_allowed(struct dbk_grant *g)
{
	return (g->flags & DBK_GRANT_F_DMA) &&
	       ((g->domain && g->intr_remap) || g->dma_guard ||
		(g->flags & DBK_GRANT_F_UNSAFE_DMA));
}

/*
 * DMA no IOMMU confines (none, or without interrupt remapping) needs a guard
 * or the administrator's consent; under lockdown, as sysfs mmap, a guard.
 */
int dbk_grant_dma_check(struct dbk_grant *g)
{
	if (!(g->flags & DBK_GRANT_F_DMA) || (g->domain && g->intr_remap) || g->dma_guard)
		return 0;
	if (!(g->flags & DBK_GRANT_F_UNSAFE_DMA))
		return -EPERM;
	return security_locked_down(LOCKDOWN_PCI_ACCESS);
}

/* May the device master the bus at all (MSI included)?  Its own domain, or consent. */
bool dbk_grant_master_allowed(struct dbk_grant *g)
{
	return (g->domain && g->intr_remap) || dbk_grant_dma_allowed(g);
}

/*
 * Phase one of teardown.  Called with dev->lock held, by DBK_DEVICE_REVOKE,
 * by remove() (unbind, hot-unplug, rmmod; @dev_locked: the driver core
 * holds the device lock) and by the last close of the grant file.  It
 * takes grant->lock for writing, which no path holds across anything a
 * driver controls, so a stopped or blocked driver cannot delay it.
 */
void dbk_grant_revoke(struct dbk_grant *g, bool dev_locked)
{
	struct dbk_device *dev = g->dev;
	struct pci_dev *pdev = dev->pdev;
	LIST_HEAD(dead);
	int ret = -ENODEV;
	u16 cmd;

	lockdep_assert_held(&dev->lock);
	WARN_ON_ONCE(dev->grant != g);

	down_write(&g->lock);
	WRITE_ONCE(g->revoked, true);
	/* Every mapping of this grant, in every process: the next access faults to SIGBUS. */
	unmap_mapping_range(g->inode->i_mapping, 0, 0, true);
	/* The device can no longer reach memory (read back: flushed); only then is it freed. */
	spin_lock_irq(&g->rate_lock);	/* the INTx handler writes the command register too */
	pci_clear_master(pdev);
	spin_unlock_irq(&g->rate_lock);
	pci_read_config_word(pdev, PCI_COMMAND, &cmd);
	/* Throttled messages drain before the vectors go (QEMU's e1000e: EITR up to 16.8 ms). */
	if (g->irq_index > DBK_IRQ_INDEX_INTX)
		msleep(20);
	dbk_irq_release(g);
	dbk_dma_detach(g, &dead);
	g->dma_used = 0;
	g->dma_nr = 0;
	up_write(&g->lock);
	/* The device cannot reach the memory any more: release it, no lock held. */
	dbk_dma_release_list(g, &dead);

	/* A surprise-removed device would only be polled for a minute. */
	if (pci_device_is_present(pdev)) {
		ret = dev_locked ? pci_reset_function_locked(pdev) : pci_try_reset_function(pdev);

		if (ret && ret != -ENOTTY)
			pci_notice(pdev, "reset after revocation failed: %d\n", ret);
		/* Undo whatever the driver wrote to config space (INTx and mastering off). */
		if (dev->saved && !pci_load_saved_state(pdev, dev->saved))
			pci_restore_state(pdev);
	}
	pci_clear_master(pdev);		/* also absent: one that comes back must not master */
	/* Not reset, it may hold transfers told through any BAR: they end, mastering off. */
	if (ret)
		dbk_grant_unsettle(dev);

	dev->grant = NULL;
	dev->grants_revoked++;
	pci_info(pdev, "devbroker: grant revoked\n");
	dbk_grant_put(g);
}

/* A mediated range lies within a granted BAR. */
bool dbk_grant_range_valid(struct dbk_grant *g, const struct dbk_range *r)
{
	struct pci_dev *pdev = g->dev->pdev;

	return r->bar < DBK_NUM_BARS && (g->bar_mask & BIT(r->bar)) && !r->reserved &&
	       r->size && r->offset < pci_resource_len(pdev, r->bar) &&
	       r->size <= pci_resource_len(pdev, r->bar) - r->offset;
}

static int dbk_grant_parse(struct dbk_device *dev, struct dbk_grant *g,
			   const struct dbk_grant_spec *s)
{
	u32 i;

	if (s->flags & ~DBK_GRANT_F_ALL)
		return -EINVAL;
	if ((s->bar_mask & ~GENMASK(DBK_NUM_BARS - 1, 0)) || (s->mmap_mask & ~s->bar_mask))
		return -EINVAL;
	for (i = 0; i < DBK_NUM_BARS; i++)
		if ((s->bar_mask & BIT(i)) && !dev->bar[i])
			return -EINVAL;
	if (s->max_vectors > DBK_MAX_VECTORS ||
	    (s->max_vectors && !(s->flags & (DBK_GRANT_F_MSI | DBK_GRANT_F_MSIX))))
		return -EINVAL;
	if (s->irq_rate > DBK_MAX_IRQ_RATE)
		return -EINVAL;
	if (s->flags & DBK_GRANT_F_DMA) {
		if (!s->dma_quota || s->dma_quota > DBK_MAX_DMA_QUOTA ||
		    (s->dma_bits && (s->dma_bits < 24 || s->dma_bits > 64)))
			return -EINVAL;
	} else if (s->dma_quota || s->dma_bits ||
		   (s->flags & (DBK_GRANT_F_UNSAFE_DMA | DBK_GRANT_F_DMA_GUARDED))) {
		return -EINVAL;
	}
	if ((s->flags & DBK_GRANT_F_DMA_GUARDED) &&
	    (s->argsz < offsetofend(typeof(*s), reserved) || s->reserved))
		return -EINVAL;
	if (s->nr_mediated > DBK_MAX_MEDIATED)
		return -EINVAL;
	if (s->nr_mediated && copy_from_user(g->mediated, u64_to_user_ptr(s->mediated),
					     s->nr_mediated * sizeof(g->mediated[0])))
		return -EFAULT;
	g->bar_mask = s->bar_mask;
	for (i = 0; i < s->nr_mediated; i++)
		if (!dbk_grant_range_valid(g, &g->mediated[i]))
			return -EINVAL;

	g->flags = s->flags;
	g->policy_dev = (struct dbk_policy_dev){ .cookie = s->policy_cookie,
		.domain = pci_domain_nr(dev->pdev->bus), .bus = dev->pdev->bus->number,
		.devfn = dev->pdev->devfn, .vendor = dev->pdev->vendor,
		.device = dev->pdev->device, .grant_flags = s->flags };
	g->mmap_mask = s->mmap_mask;
	g->max_vectors = s->max_vectors;
	g->irq_rate = s->irq_rate ?: DBK_IRQ_RATE_DEFAULT;
	g->dma_quota = s->dma_quota;
	g->dma_bits = s->dma_bits ?: 32;
	g->nr_mediated = s->nr_mediated;
	return 0;
}

static int dbk_grant_info(struct dbk_grant *g, void __user *uarg)
{
	struct dbk_grant_info info;
	int ret;

	ret = dbk_copy_arg(&info, sizeof(info), sizeof(info), uarg);
	if (ret)
		return ret;
	if (info.flags)
		return -EINVAL;
	down_read(&g->lock);
	ret = g->revoked ? -ENODEV : 0;
	info.flags = g->flags | (g->domain ? DBK_GRANT_INFO_F_IOMMU : 0);
	info.bar_mask = g->bar_mask;
	info.mmap_mask = g->mmap_mask;
	info.max_vectors = g->max_vectors;
	info.irq_rate = g->irq_rate;
	info.dma_quota = g->dma_quota;
	info.dma_used = g->dma_used;
	up_read(&g->lock);
	if (ret)
		return ret;
	return copy_to_user(uarg, &info, info.argsz) ? -EFAULT : 0;
}

static long dbk_grant_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct dbk_grant *g = file->private_data;
	void __user *uarg = (void __user *)arg;

	/* Racy but only a shortcut: each handler checks again under g->lock. */
	if (READ_ONCE(g->revoked))
		return -ENODEV;
	switch (cmd) {
	case DBK_DEVICE_GET_INFO:
		return dbk_device_info(g->dev, g, uarg);
	case DBK_GRANT_GET_INFO:
		return dbk_grant_info(g, uarg);
	case DBK_GRANT_GET_REGION_INFO:
		return dbk_mmio_region_info(g, uarg);
	case DBK_GRANT_GET_IRQ_INFO:
		return dbk_irq_info(g, uarg);
	case DBK_GRANT_SET_IRQS:
		return dbk_irq_set(g, uarg);
	case DBK_GRANT_DMA_ALLOC:
		return dbk_dma_alloc(g, uarg);
	case DBK_GRANT_DMA_MAP:
		return dbk_dma_map(g, uarg);
	case DBK_GRANT_DMA_UNMAP:
		return dbk_dma_unmap(g, uarg);
	}
	return -ENOTTY;
}

static ssize_t dbk_grant_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	return dbk_mmio_rw(file->private_data, buf, count, *ppos, false);
}

static ssize_t dbk_grant_write(struct file *file, const char __user *buf, size_t count,
			       loff_t *ppos)
{
	return dbk_mmio_rw(file->private_data, (char __user *)buf, count, *ppos, true);
}

static int dbk_grant_mmap(struct file *file, struct vm_area_struct *vma)
{
	return dbk_mmio_mmap(file->private_data, vma);
}

/* The driver closed its last reference (or died): the grant ends. */
static int dbk_grant_release(struct inode *inode, struct file *file)
{
	struct dbk_grant *g = file->private_data;
	struct dbk_device *dev = g->dev;

	mutex_lock(&dev->lock);
	if (dev->grant == g)
		dbk_grant_revoke(g, false);
	mutex_unlock(&dev->lock);
	dbk_grant_put(g);
	dbk_file_unpin();
	return 0;
}

static const struct file_operations dbk_grant_fops = {
	.owner = THIS_MODULE,
	.release = dbk_grant_release,
	.unlocked_ioctl = dbk_grant_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.read = dbk_grant_read,
	.write = dbk_grant_write,
	.mmap = dbk_grant_mmap,
	.llseek = default_llseek,
};

/* From now, no grant that could master for settle_ms (device.c: also at probe). */
void dbk_grant_unsettle(struct dbk_device *dev)
{
	WRITE_ONCE(dev->quiet_at, jiffies + msecs_to_jiffies(settle_ms));
}

/* Could the grant turn bus mastering on (MSI is a memory write too)? */
static bool dbk_grant_settling(struct dbk_device *dev, struct dbk_grant *g)
{
	return (g->flags & (DBK_GRANT_F_DMA | DBK_GRANT_F_MSI | DBK_GRANT_F_MSIX)) &&
	       time_before(jiffies, READ_ONCE(dev->quiet_at));
}

/* A device not reset keeps its transfers: they end, mastering off, within settle_ms. */
static int dbk_grant_settle(struct dbk_device *dev, struct dbk_grant *g)
{
	long left = (long)(READ_ONCE(dev->quiet_at) - jiffies);

	if (left <= 0 || !dbk_grant_settling(dev, g))
		return 0;
	return msleep_interruptible(jiffies_to_msecs(left)) ? -EINTR : 0;
}

/* DBK_DEVICE_CREATE_GRANT: returns the new grant fd. */
int dbk_grant_create(struct dbk_device *dev, const void __user *uarg)
{
	struct dbk_grant_spec spec;
	struct dbk_grant *g;
	struct file *file;
	int ret, fd;
	u16 cmd;

	ret = dbk_copy_arg(&spec, offsetofend(typeof(spec), mediated), sizeof(spec), uarg);
	if (ret)
		return ret;
	g = kzalloc(sizeof(*g), GFP_KERNEL);
	if (!g)
		return -ENOMEM;
	g->dev = dev;			/* no reference yet: freed right here on error */
	ret = dbk_grant_parse(dev, g, &spec);
	if (ret) {
		kfree(g);
		return ret;
	}
	kref_init(&g->kref);
	init_rwsem(&g->lock);
	mutex_init(&g->guard_lock);
	INIT_LIST_HEAD(&g->dma_bufs);
	INIT_LIST_HEAD(&g->resv);
	dbk_irq_init(g);
	kref_get(&dev->kref);
	g->dev = dev;
	ret = spec.flags & DBK_GRANT_F_DMA_GUARDED ? dbk_policy_guard_get(g, spec.guard_fd) : 0;
	if (ret) {
		dbk_grant_put(g);
		return ret;
	}

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		dbk_grant_put(g);
		return fd;
	}
	file = dbk_file_create("[devbroker-grant]", &dbk_grant_fops, g);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		dbk_grant_put(g);
		return PTR_ERR(file);
	}
	g->inode = file_inode(file);

	ret = dbk_grant_settle(dev, g);
	mutex_lock(&dev->lock);
	if (!ret)
		ret = dev->dead ? -ENODEV : dev->grant ? -EBUSY :
		      dbk_grant_settling(dev, g) ? -EAGAIN : 0;
	/* No IOMMU, no DMA right: it begins not mastering, read back, not assumed. */
	if (!ret && !dev->iommu && !(g->flags & DBK_GRANT_F_DMA)) {
		pci_clear_master(dev->pdev);
		pci_read_config_word(dev->pdev, PCI_COMMAND, &cmd);
		ret = cmd & PCI_COMMAND_MASTER ? -EIO : 0;
	}
	/* Policies see only grants that would otherwise be made. */
	if (!ret)
		ret = dbk_policy_grant(g);
	if (!ret)
		ret = dbk_dma_attach(g);
	if (!ret) {
		kref_get(&g->kref);
		dev->grant = g;
		dev->grants_created++;
	}
	mutex_unlock(&dev->lock);
	if (ret) {
		/* Not live: its release only drops the file's reference. */
		put_unused_fd(fd);
		fput(file);
		return ret;
	}
	fd_install(fd, file);
	return fd;
}
