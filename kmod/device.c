// SPDX-License-Identifier: GPL-2.0-only
/*
 * The device object and its root-only node, /dev/devbroker/<bdf>: the fd
 * that creates and revokes grants.
 */
#include <linux/fs.h>
#include <linux/iommu.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dbk.h"

static void dbk_device_free(struct kref *kref)
{
	struct dbk_device *dev = container_of(kref, struct dbk_device, kref);

	pci_dev_put(dev->pdev);
	kfree(dev);
}

void dbk_device_put(struct dbk_device *dev)
{
	kref_put(&dev->kref, dbk_device_free);
}

/* Does [off, off + len) of @bar touch the MSI-X table or PBA? */
bool dbk_device_msix_overlap(struct dbk_device *dev, int bar, u64 off, u64 len)
{
	int i;

	for (i = 0; i < 2; i++) {
		if (dev->msix[i].bar == bar && off < dev->msix[i].offset + dev->msix[i].size &&
		    dev->msix[i].offset < off + len)
			return true;
	}
	return false;
}

static void dbk_device_find_msix(struct dbk_device *dev)
{
	struct pci_dev *pdev = dev->pdev;
	int nvec = pci_msix_vec_count(pdev);
	u32 table, pba;

	dev->msix[0].bar = -1;
	dev->msix[1].bar = -1;
	if (!pdev->msix_cap || nvec <= 0)
		return;
	pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_TABLE, &table);
	pci_read_config_dword(pdev, pdev->msix_cap + PCI_MSIX_PBA, &pba);
	dev->msix[0].bar = table & PCI_MSIX_TABLE_BIR;
	dev->msix[0].offset = table & PCI_MSIX_TABLE_OFFSET;
	dev->msix[0].size = nvec * PCI_MSIX_ENTRY_SIZE;
	dev->msix[1].bar = pba & PCI_MSIX_PBA_BIR;
	dev->msix[1].offset = pba & PCI_MSIX_PBA_OFFSET;
	dev->msix[1].size = DIV_ROUND_UP(nvec, 64) * 8;
}

static int dbk_device_open(struct inode *inode, struct file *file)
{
	/* misc_open() set private_data and holds misc_mtx, so we cannot race remove(). */
	struct dbk_device *dev = container_of(file->private_data, struct dbk_device, misc);

	kref_get(&dev->kref);
	file->private_data = dev;
	return 0;
}

static int dbk_device_release(struct inode *inode, struct file *file)
{
	dbk_device_put(file->private_data);
	return 0;
}

/* DBK_DEVICE_GET_INFO, on the device fd (@g NULL) or a grant fd. */
int dbk_device_info(struct dbk_device *dev, struct dbk_grant *g, void __user *uarg)
{
	struct pci_dev *pdev = dev->pdev;
	struct dbk_device_info info;
	int ret;

	ret = dbk_copy_arg(&info, offsetofend(typeof(info), reserved), sizeof(info), uarg);
	if (ret)
		return ret;
	if (info.flags || info.reserved)
		return -EINVAL;
	mutex_lock(&dev->lock);
	if (dev->dead) {
		mutex_unlock(&dev->lock);
		return -ENODEV;
	}
	info.flags = (dev->iommu ? DBK_DEVICE_INFO_F_IOMMU : 0) |
		     (dev->grant ? DBK_DEVICE_INFO_F_GRANTED : 0) |
		     (g ? DBK_DEVICE_INFO_F_GRANT : 0) |
		     (pdev->reset_methods[0] ? DBK_DEVICE_INFO_F_RESET : 0);
	info.grants_created = dev->grants_created;
	info.grants_revoked = dev->grants_revoked;
	mutex_unlock(&dev->lock);
	info.vendor = pdev->vendor;
	info.device = pdev->device;
	info.subsystem_vendor = pdev->subsystem_vendor;
	info.subsystem_device = pdev->subsystem_device;
	info.class_code = pdev->class;
	info.num_regions = DBK_NUM_REGIONS;
	info.num_irqs = DBK_IRQ_INDEX_COUNT;
	info.api_version = DBK_API_VERSION;
	info.domain = pci_domain_nr(pdev->bus);
	info.bus = pdev->bus->number;
	info.devfn = pdev->devfn;
	return copy_to_user(uarg, &info, info.argsz) ? -EFAULT : 0;
}

static int dbk_device_revoke(struct dbk_device *dev, const void __user *uarg)
{
	struct dbk_revoke rv;
	struct dbk_grant *g;
	int ret;

	ret = dbk_copy_arg(&rv, sizeof(rv), sizeof(rv), uarg);
	if (ret)
		return ret;
	if (rv.flags)
		return -EINVAL;
	mutex_lock(&dev->lock);
	g = dev->grant;
	ret = dev->dead ? -ENODEV : g ? 0 : -ENOENT;
	if (!ret)
		dbk_grant_revoke(g, false);
	mutex_unlock(&dev->lock);
	return ret;
}

static long dbk_device_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct dbk_device *dev = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case DBK_DEVICE_GET_INFO:
		return dbk_device_info(dev, NULL, uarg);
	case DBK_DEVICE_CREATE_GRANT:
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return dbk_grant_create(dev, uarg);
	case DBK_DEVICE_REVOKE:
		if (!(file->f_mode & FMODE_WRITE))
			return -EBADF;
		return dbk_device_revoke(dev, uarg);
	}
	return -ENOTTY;
}

static const struct file_operations dbk_device_fops = {
	.owner = THIS_MODULE,
	.open = dbk_device_open,
	.release = dbk_device_release,
	.unlocked_ioctl = dbk_device_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

int dbk_device_create(struct pci_dev *pdev)
{
	struct dbk_device *dev;
	int ret, bar;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return -ENOMEM;
	kref_init(&dev->kref);
	mutex_init(&dev->lock);
	dev->pdev = pci_dev_get(pdev);
	dev->iommu = device_iommu_mapped(&pdev->dev);
	dbk_grant_unsettle(dev);	/* whatever the device was told before */

	ret = pci_enable_device(pdev);
	if (ret)
		goto err_put;
	ret = pci_request_regions(pdev, DBK_DRIVER_NAME);
	if (ret)
		goto err_disable;
	/* Mastering and INTx are a grant's to enable: off here, and in the state restored after. */
	pci_clear_master(pdev);
	pci_intx(pdev, 0);
	/* A BAR past the file offset encoding (2^40) cannot be granted. */
	for (bar = 0; bar < DBK_NUM_BARS; bar++) {
		if (pci_resource_len(pdev, bar) &&
		    pci_resource_len(pdev, bar) <= BIT_ULL(DBK_REGION_SHIFT) &&
		    !(pci_resource_flags(pdev, bar) & IORESOURCE_UNSET))
			dev->bar[bar] = pci_iomap(pdev, bar, 0);
	}
	dbk_device_find_msix(dev);
	dbk_config_map(dev);
	pci_save_state(pdev);
	dev->saved = pci_store_saved_state(pdev);

	snprintf(dev->nodename, sizeof(dev->nodename), "devbroker/%s", pci_name(pdev));
	snprintf(dev->name, sizeof(dev->name), "devbroker!%s", pci_name(pdev));
	dev->misc.minor = MISC_DYNAMIC_MINOR;
	dev->misc.name = dev->name;
	dev->misc.nodename = dev->nodename;
	dev->misc.mode = 0600;
	dev->misc.fops = &dbk_device_fops;
	dev->misc.parent = &pdev->dev;
	pci_set_drvdata(pdev, dev);
	ret = misc_register(&dev->misc);
	if (ret)
		goto err_unmap;
	pci_info(pdev, "devbroker: /dev/%s%s\n", dev->nodename, dev->iommu ? " (IOMMU)" : "");
	return 0;

err_unmap:
	pci_set_drvdata(pdev, NULL);
	kfree(dev->saved);
	for (bar = 0; bar < DBK_NUM_BARS; bar++)
		if (dev->bar[bar])
			pci_iounmap(pdev, dev->bar[bar]);
	pci_release_regions(pdev);
err_disable:
	pci_disable_device(pdev);
err_put:
	dbk_device_put(dev);
	return ret;
}

/* System sleep: the live grant ends, as at an unplug (the device may lose its state). */
void dbk_device_suspend(struct pci_dev *pdev)
{
	struct dbk_device *dev = pci_get_drvdata(pdev);

	mutex_lock(&dev->lock);
	if (dev->grant)
		dbk_grant_revoke(dev->grant, true);
	mutex_unlock(&dev->lock);
}

/* Phase one: unbind, hot-unplug or rmmod.  Never waits for a driver. */
void dbk_device_destroy(struct pci_dev *pdev)
{
	struct dbk_device *dev = pci_get_drvdata(pdev);
	int bar;

	mutex_lock(&dev->lock);
	dev->dead = true;
	if (dev->grant)
		dbk_grant_revoke(dev->grant, true);
	mutex_unlock(&dev->lock);

	misc_deregister(&dev->misc);
	for (bar = 0; bar < DBK_NUM_BARS; bar++)
		if (dev->bar[bar])
			pci_iounmap(pdev, dev->bar[bar]);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
	kfree(dev->saved);
	dev->saved = NULL;
	pci_set_drvdata(pdev, NULL);
	pci_info(pdev, "devbroker: released\n");
	dbk_device_put(dev);
}
