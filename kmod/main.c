// SPDX-License-Identifier: GPL-2.0-only
/*
 * devbroker module entry: the PCI driver with no ID table, the pseudo
 * filesystem that gives each grant file its own inode, and the ioctl
 * argument convention shared by every ioctl.
 */
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/mount.h>
#include <linux/pseudo_fs.h>
#include <linux/uaccess.h>

#include "dbk.h"

#define DBK_FS_MAGIC	0x6462726b	/* "dbrk" */

/*
 * Each grant file gets a private inode so that revocation can zap every
 * mapping of that grant, in every process, with one unmap_mapping_range()
 * on the inode's address space.  The shared anon inode cannot serve: its
 * mapping is common to all anon files.
 */
static struct vfsmount *dbk_mnt;
static int dbk_mnt_count;

static int dbk_fs_init_fs_context(struct fs_context *fc)
{
	return init_pseudo(fc, DBK_FS_MAGIC) ? 0 : -ENOMEM;
}

static struct file_system_type dbk_fs_type = {
	.owner = THIS_MODULE,
	.name = "devbroker",
	.init_fs_context = dbk_fs_init_fs_context,
	.kill_sb = kill_anon_super,
};

/* Each file from dbk_file_create() pins the filesystem until this is called. */
void dbk_file_unpin(void)
{
	simple_release_fs(&dbk_mnt, &dbk_mnt_count);
}

/*
 * Returns a file holding a module reference (dropped by the VFS at fput)
 * and a pin on the pseudo filesystem (dropped with dbk_file_unpin()).
 */
struct file *dbk_file_create(const char *name, const struct file_operations *fops,
			     void *priv)
{
	struct inode *inode;
	struct file *file;
	int ret;

	ret = simple_pin_fs(&dbk_fs_type, &dbk_mnt, &dbk_mnt_count);
	if (ret)
		return ERR_PTR(ret);
	inode = alloc_anon_inode(dbk_mnt->mnt_sb);
	if (IS_ERR(inode)) {
		file = ERR_CAST(inode);
		goto err_fs;
	}
	__module_get(fops->owner);
	file = alloc_file_pseudo(inode, dbk_mnt, name, O_RDWR, fops);
	if (IS_ERR(file)) {
		module_put(fops->owner);
		iput(inode);
		goto err_fs;
	}
	file->f_mode |= FMODE_LSEEK | FMODE_PREAD | FMODE_PWRITE;
	file->private_data = priv;
	return file;
err_fs:
	dbk_file_unpin();
	return file;
}

/*
 * argsz first, at least @minsz, growing both ways (the UAPI header's
 * conventions).  @arg's argsz becomes the bytes to copy back.
 */
int dbk_copy_arg(void *arg, size_t minsz, size_t size, const void __user *uarg)
{
	u32 argsz;
	int ret;

	if (get_user(argsz, (const u32 __user *)uarg))
		return -EFAULT;
	if (argsz < minsz)
		return -EINVAL;
	if (argsz > DBK_ARGSZ_MAX)
		return -E2BIG;
	ret = argsz > size ? check_zeroed_user(uarg + size, argsz - size) : 1;
	if (ret <= 0)
		return ret ?: -E2BIG;
	memset(arg, 0, size);
	if (copy_from_user(arg, uarg, min_t(size_t, argsz, size)))
		return -EFAULT;
	*(u32 *)arg = min_t(size_t, argsz, size);
	return 0;
}

static int dbk_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	/* Only devices an administrator handed over with driver_override. */
	if (!pdev->driver_override)
		return -ENODEV;
	return dbk_device_create(pdev);
}

static void dbk_pci_remove(struct pci_dev *pdev)
{
	dbk_device_destroy(pdev);
}

/*
 * System sleep ends the live grant, as an unplug would: the device may
 * come back reset (D3hot, power loss) with bus mastering restored, its
 * registers no longer what its driver or its DMA guard last saw.  devbrokerd
 * restarts the driver after resume.  No resume callback: config space
 * comes back as saved, not as pci_pm_reenable_device() would make it
 * (INTx, decoding and mastering on).
 */
static int dbk_pci_suspend(struct device *d)
{
	dbk_device_suspend(to_pci_dev(d));
	return 0;
}

static const struct dev_pm_ops dbk_pm_ops = {
	.suspend = dbk_pci_suspend,
	.freeze = dbk_pci_suspend,
	.poweroff = dbk_pci_suspend,
};

static struct pci_driver dbk_pci_driver = {
	.name = DBK_DRIVER_NAME,
	.id_table = NULL,
	.probe = dbk_pci_probe,
	.remove = dbk_pci_remove,
	/* We claim the IOMMU group ourselves when a grant gets DMA. */
	.driver_managed_dma = true,
	.driver.pm = &dbk_pm_ops,
};

static int __init dbk_init(void)
{
	return pci_register_driver(&dbk_pci_driver);
}

/*
 * Only once no grant file, mapping or policy holds the module: unbind or
 * DBK_DEVICE_REVOKE revoke grants, and remove() runs for every device.
 */
static void __exit dbk_exit(void)
{
	pci_unregister_driver(&dbk_pci_driver);
}

module_init(dbk_init);
module_exit(dbk_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("devbroker: brokered PCI access for unprivileged userspace drivers");
MODULE_ALIAS_FS("devbroker");
