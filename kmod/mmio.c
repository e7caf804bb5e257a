// SPDX-License-Identifier: GPL-2.0-only
/*
 * MMIO for a driver: BAR pages mapped through a fault handler (so that
 * revocation can zap them), and mediated single accesses through
 * pread/pwrite for everything a grant keeps unmapped.
 */
#include <linux/io.h>
#include <linux/mm.h>
#include <linux/uaccess.h>

#include "dbk.h"

bool dbk_mmio_mediated(struct dbk_grant *g, int bar, u64 off, u64 len)
{
	u32 i;

	for (i = 0; i < g->nr_mediated; i++) {
		const struct dbk_range *r = &g->mediated[i];

		if (r->bar == bar && off < r->offset + r->size && r->offset < off + len)
			return true;
	}
	return false;
}

/* Can the BAR as a whole be mapped at all? */
static bool dbk_mmio_bar_mappable(struct dbk_grant *g, int bar)
{
	struct pci_dev *pdev = g->dev->pdev;

	/* A BAR smaller than a page would expose its neighbour's registers. */
	return (g->mmap_mask & BIT(bar)) &&
	       (pci_resource_flags(pdev, bar) & IORESOURCE_MEM) &&
	       pci_resource_len(pdev, bar) >= PAGE_SIZE &&
	       PAGE_ALIGNED(pci_resource_start(pdev, bar));
}

/* May the page-aligned [off, off + len) of @bar be mapped? */
static bool dbk_mmio_mappable(struct dbk_grant *g, int bar, u64 off, u64 len)
{
	return dbk_mmio_bar_mappable(g, bar) &&
	       !dbk_mmio_mediated(g, bar, off, len) &&
	       !dbk_device_msix_overlap(g->dev, bar, off, len);
}

int dbk_mmio_region_info(struct dbk_grant *g, void __user *uarg)
{
	struct dbk_region_info ri;
	struct dbk_area __user *uareas;
	struct pci_dev *pdev = g->dev->pdev;
	struct dbk_area area = { 0 };
	u64 p;
	int ret;

	ret = dbk_copy_arg(&ri, sizeof(ri), sizeof(ri), uarg);
	if (ret)
		return ret;
	if (ri.flags || ri.index >= DBK_NUM_REGIONS || ri.reserved)
		return -EINVAL;
	uareas = u64_to_user_ptr(ri.areas);
	ri.size = 0;
	ri.nr_areas = 0;
	ri.offset = DBK_REGION_OFFSET(ri.index);
	if (READ_ONCE(g->revoked))
		return -ENODEV;
	/* Rights and BAR layout are fixed for the grant's life: no lock needed. */
	if (ri.index < DBK_NUM_BARS && (g->bar_mask & BIT(ri.index))) {
		ri.size = pci_resource_len(pdev, ri.index);
		ri.flags = DBK_REGION_INFO_F_READ | DBK_REGION_INFO_F_WRITE;
		if (pci_resource_flags(pdev, ri.index) & IORESOURCE_IO)
			ri.flags |= DBK_REGION_INFO_F_IO;
		if (dbk_mmio_bar_mappable(g, ri.index))
			ri.flags |= DBK_REGION_INFO_F_MMAP;
	} else if (ri.index == DBK_REGION_CONFIG) {
		ri.size = pdev->cfg_size;
		ri.flags = DBK_REGION_INFO_F_READ | DBK_REGION_INFO_F_WRITE;
	}
	/* Coalesce the mappable pages into areas. */
	for (p = 0; (ri.flags & DBK_REGION_INFO_F_MMAP) && p <= ri.size; p += PAGE_SIZE) {
		if (p < ri.size && dbk_mmio_mappable(g, ri.index, p, PAGE_SIZE)) {
			if (!area.size)
				area.offset = p;
			area.size += PAGE_SIZE;
			continue;
		}
		if (area.size) {
			if (ri.nr_areas < ri.areas_max &&
			    copy_to_user(&uareas[ri.nr_areas], &area, sizeof(area)))
				return -EFAULT;
			ri.nr_areas++;
			area.size = 0;
		}
		cond_resched();
	}
	return copy_to_user(uarg, &ri, ri.argsz) ? -EFAULT : 0;
}

static void dbk_mmio_io(void __iomem *io, unsigned int size, u64 *val, bool write)
{
	if (write && size == 1)
		iowrite8(*val, io);
	else if (write && size == 2)
		iowrite16(*val, io);
	else if (write && size == 4)
		iowrite32(*val, io);
	else if (write)
		writeq(*val, io);
	else
		*val = size == 1 ? ioread8(io) : size == 2 ? ioread16(io) :
		       size == 4 ? ioread32(io) : readq(io);
}

/* One access of @size bytes to a BAR.  Mediated ranges end up here too. */
static int dbk_mmio_bar_access(struct dbk_grant *g, int bar, u64 off, unsigned int size,
			       u64 *val, bool write)
{
	struct dbk_device *dev = g->dev;
	void __iomem *io = dev->bar[bar];
	u64 len = pci_resource_len(dev->pdev, bar);
	bool serial;
	int ret;

	lockdep_assert_held(&g->lock);
	if (!(g->bar_mask & BIT(bar)) || !io)
		return -EACCES;
	if (off >= len || size > len - off)
		return -EINVAL;
	if (dbk_device_msix_overlap(dev, bar, off, size))
		return -EACCES;
	if ((pci_resource_flags(dev->pdev, bar) & IORESOURCE_IO) ? g->io_off : g->mem_off)
		return -EIO;	/* decoding is off: the access would be an Unsupported Request */
	if (size == 8 && (pci_resource_flags(dev->pdev, bar) & IORESOURCE_IO))
		return -EINVAL;
	/*
	 * The guard reasons about the sequence of writes to the DMA registers:
	 * they must reach the device in the order it approved them.
	 */
	serial = g->dma_guard && write && dbk_mmio_mediated(g, bar, off, size);
	if (serial)
		mutex_lock(&g->guard_lock);
	ret = dbk_policy_access(g, bar, off, size, val, write);
	if (!ret)
		dbk_mmio_io(io + off, size, val, write);
	if (serial)
		mutex_unlock(&g->guard_lock);
	return ret;
}

/*
 * pread/pwrite: exactly one aligned access of 1, 2, 4 or 8 bytes, with
 * the value in the caller's native byte order.  No lock is held across
 * the user copies.
 */
ssize_t dbk_mmio_rw(struct dbk_grant *g, char __user *buf, size_t count, loff_t pos,
		    bool write)
{
	u32 index = DBK_OFFSET_TO_REGION((u64)pos);
	u64 off = DBK_OFFSET_IN_REGION((u64)pos);
	union { u8 b; u16 w; u32 l; u64 q; } v = { 0 };
	u64 val = 0;
	u32 cval = 0;
	bool excl;
	int ret;

	if (pos < 0 || (count != 1 && count != 2 && count != 4 && count != 8) ||
	    (off & (count - 1)))
		return -EINVAL;
	if (write) {
		if (copy_from_user(&v, buf, count))
			return -EFAULT;
		val = count == 1 ? v.b : count == 2 ? v.w : count == 4 ? v.l : v.q;
	}
	/* A command-register write may zap mappings: it excludes faults. */
	excl = write && index == DBK_REGION_CONFIG &&
	       off < PCI_COMMAND + 2 && off + count > PCI_COMMAND;
	if (excl)
		down_write(&g->lock);
	else
		down_read(&g->lock);
	if (g->revoked) {
		ret = -ENODEV;
	} else if (index == DBK_REGION_CONFIG) {
		if (count == 8 || off >= PCI_CFG_SPACE_EXP_SIZE) {
			ret = -EINVAL;
		} else if (write) {
			ret = dbk_config_write(g, off, count, val);
		} else {
			ret = dbk_config_read(g, off, count, &cval);
			val = cval;
		}
	} else if (index < DBK_NUM_BARS) {
		ret = dbk_mmio_bar_access(g, index, off, count, &val, write);
	} else {
		ret = -EINVAL;
	}
	if (excl)
		up_write(&g->lock);
	else
		up_read(&g->lock);
	if (ret)
		return ret;
	if (!write) {
		if (count == 1)
			v.b = val;
		else if (count == 2)
			v.w = val;
		else if (count == 4)
			v.l = val;
		else
			v.q = val;
		if (copy_to_user(buf, &v, count))
			return -EFAULT;
	}
	return count;
}

static unsigned long dbk_mmio_dma_pfn(struct dbk_dma_slot *buf, u64 off)
{
	if (buf->pages)
		return page_to_pfn(buf->pages[off >> PAGE_SHIFT]);
	return page_to_pfn(virt_to_page(buf->cpu + off));
}

/* Insert one page; anything revoked or gone is SIGBUS. */
static vm_fault_t dbk_mmio_fault(struct vm_fault *vmf)
{
	struct vm_area_struct *vma = vmf->vma;
	struct dbk_grant *g = vma->vm_private_data;
	u64 pos = (u64)vmf->pgoff << PAGE_SHIFT;
	u32 index = DBK_OFFSET_TO_REGION(pos);
	u64 off = DBK_OFFSET_IN_REGION(pos);
	vm_fault_t ret = VM_FAULT_SIGBUS;
	struct dbk_dma_slot *buf;
	unsigned long pfn;

	down_read(&g->lock);
	/* Never a page of another region than the mapping's, whatever its length. */
	if (g->revoked || (index < DBK_NUM_BARS && g->mem_off) ||
	    index != DBK_OFFSET_TO_REGION((u64)vma->vm_pgoff << PAGE_SHIFT))
		goto out;
	if (index < DBK_NUM_BARS) {
		pfn = (pci_resource_start(g->dev->pdev, index) + off) >> PAGE_SHIFT;
	} else {
		buf = dbk_dma_find_slot(g, index - DBK_REGION_DMA_FIRST);
		if (!buf || off >= buf->size)
			goto out;
		pfn = dbk_mmio_dma_pfn(buf, off);
	}
	ret = vmf_insert_pfn(vma, vmf->address, pfn);
out:
	up_read(&g->lock);
	return ret;
}

static const struct vm_operations_struct dbk_mmio_vm_ops = {
	.fault = dbk_mmio_fault,
};

int dbk_mmio_mmap(struct dbk_grant *g, struct vm_area_struct *vma)
{
	u64 len = vma->vm_end - vma->vm_start;
	struct dbk_dma_slot *buf;
	u64 pos, off;
	u32 index;
	int ret = 0;

	if (vma->vm_pgoff >= (1UL << (64 - PAGE_SHIFT)))
		return -EINVAL;
	pos = (u64)vma->vm_pgoff << PAGE_SHIFT;
	index = DBK_OFFSET_TO_REGION(pos);
	off = DBK_OFFSET_IN_REGION(pos);
	/* Shared only (a private copy of registers means nothing); never exec or write-only. */
	if (!(vma->vm_flags & VM_SHARED) || !(vma->vm_flags & VM_READ))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EACCES;

	down_read(&g->lock);
	if (g->revoked) {
		ret = -ENODEV;
	} else if (index < DBK_NUM_BARS) {
		if (!(g->bar_mask & BIT(index)) ||
		    off >= pci_resource_len(g->dev->pdev, index) ||
		    len > pci_resource_len(g->dev->pdev, index) - off)
			ret = -EINVAL;
		else if (!dbk_mmio_mappable(g, index, off, len))
			ret = -EACCES;
		vma->vm_page_prot = pgprot_noncached(vma->vm_page_prot);
	} else if (index >= DBK_REGION_DMA_FIRST) {
		buf = dbk_dma_find_slot(g, index - DBK_REGION_DMA_FIRST);
		if (!buf || off >= buf->size || len > buf->size - off)
			ret = -EINVAL;
	} else {
		ret = -EINVAL;
	}
	up_read(&g->lock);
	if (ret)
		return ret;
	vma->vm_flags |= VM_IO | VM_PFNMAP | VM_DONTEXPAND | VM_DONTDUMP;
	vma->vm_flags &= ~VM_MAYEXEC;
	vma->vm_ops = &dbk_mmio_vm_ops;
	vma->vm_private_data = g;
	return 0;
}
