// SPDX-License-Identifier: GPL-2.0-only
/*
 * DMA for a driver, bounded by the grant's quota.
 *
 * With an IOMMU the grant owns an IOMMU domain: the device reaches only
 * what the driver mapped there, module-allocated buffers or the driver's
 * own pinned pages.  Without one, the module hands out coherent buffers
 * and their bus addresses; nothing stops the driver from programming any
 * other address into the device, which is why bus mastering then needs
 * DBK_GRANT_F_UNSAFE_DMA.
 */
#include <linux/dma-mapping.h>
#include <linux/iommu.h>
#include <linux/mm.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "dbk.h"

/* Leave low IOVAs unmapped, so that a stray zero address faults. */
#define DBK_IOVA_BASE	SZ_1M

/*
 * Behind an IOMMU every grant gets a domain of its own, empty unless it has
 * the DMA right: bus mastering (which MSI needs) then reaches only what
 * the grant mapped, never the kernel's default domain.  DMA nothing
 * confines is refused here (dbk_grant_dma_check()).
 */
int dbk_dma_attach(struct dbk_grant *g)
{
	struct pci_dev *pdev = g->dev->pdev;
	int ret;

	lockdep_assert_held(&g->dev->lock);
	if (!g->dev->iommu) {
		ret = dbk_grant_dma_check(g);
		return ret || !(g->flags & DBK_GRANT_F_DMA) ? ret :
			dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(g->dma_bits));
	}
	g->group = iommu_group_get(&pdev->dev);
	if (!g->group)
		return -ENODEV;
	/* Fails with -EPERM if a kernel driver holds another device of the group. */
	ret = iommu_group_claim_dma_owner(g->group, g);
	if (ret)
		goto err_put;
	g->domain = iommu_domain_alloc(&pci_bus_type);
	if (!g->domain) {
		ret = -ENOMEM;
		goto err_release;
	}
	ret = iommu_attach_group(g->domain, g->group);
	if (ret)
		goto err_domain;
	/* IOVAs that never reach memory (the interrupt window): never handed out or mapped. */
	ret = iommu_get_group_resv_regions(g->group, &g->resv);
	if (ret)
		goto err_detach;
	/*
	 * The MSI window is not translated: without interrupt remapping a
	 * mastering device could write any interrupt message (as vfio's
	 * allow_unsafe_interrupts): then bus mastering needs consent too.
	 */
	g->intr_remap = device_iommu_capable(&pdev->dev, IOMMU_CAP_INTR_REMAP);
	ret = dbk_grant_dma_check(g);
	if (!ret)
		return 0;

err_detach:
	iommu_put_resv_regions(&pdev->dev, &g->resv);
	INIT_LIST_HEAD(&g->resv);
	iommu_detach_group(g->domain, g->group);
err_domain:
	iommu_domain_free(g->domain);
	g->domain = NULL;
err_release:
	iommu_group_release_dma_owner(g->group);
err_put:
	iommu_group_put(g->group);
	g->group = NULL;
	return ret;
}

static u64 dbk_dma_limit(struct dbk_grant *g)
{
	u64 limit = DMA_BIT_MASK(g->dma_bits);

	return g->domain ? min_t(u64, limit, g->domain->geometry.aperture_end) : limit;
}

/* Release a buffer's memory.  No lock held: unpinning may wait on a folio lock. */
static void dbk_dma_slot_release(struct device *dev, struct dbk_dma_slot *buf)
{
	unsigned long i;

	if (buf->pinned)
		unpin_user_pages_dirty_lock(buf->pages, buf->npages, buf->dirty);
	else if (buf->pages)
		for (i = 0; i < buf->npages && buf->pages[i]; i++)
			__free_page(buf->pages[i]);
	else if (buf->cpu)
		dma_free_coherent(dev, buf->size, buf->cpu, buf->bus);
	if (buf->mm) {
		atomic64_sub(buf->npages, &buf->mm->pinned_vm);
		mmdrop(buf->mm);
	}
	kvfree(buf->pages);
	kfree(buf);
}

/* Detach @buf from the device and every process; its memory goes on @dead. */
static void dbk_dma_slot_unlink(struct dbk_grant *g, struct dbk_dma_slot *buf,
				struct list_head *dead)
{
	lockdep_assert_held_write(&g->lock);
	list_del(&buf->node);
	if (buf->slot >= 0) {
		/* Gone from every process before the memory is. */
		unmap_mapping_range(g->inode->i_mapping,
				    DBK_REGION_OFFSET(DBK_REGION_DMA_FIRST + buf->slot),
				    buf->size, true);
		clear_bit(buf->slot, g->dma_slots);
	}
	if (g->domain)
		iommu_unmap(g->domain, buf->iova, buf->size);
	g->dma_used -= buf->size;
	g->dma_nr--;
	list_add_tail(&buf->node, dead);
}

/* The guard's verdict and the unlink under one lock: no guarded start comes between. */
static int dbk_dma_unlink_guarded(struct dbk_grant *g, struct dbk_dma_slot *buf,
				  struct list_head *dead)
{
	int ret = dbk_policy_dma(g, DBK_POLICY_DMA_UNMAP, buf->iova, buf->size);

	if (!ret)
		dbk_dma_slot_unlink(g, buf, dead);
	return ret;
}

void dbk_dma_release_list(struct dbk_grant *g, struct list_head *dead)
{
	struct dbk_dma_slot *buf, *tmp;

	list_for_each_entry_safe(buf, tmp, dead, node)
		dbk_dma_slot_release(&g->dev->pdev->dev, buf);
}

/*
 * Revocation: bus mastering is already off.  The buffers leave the device
 * and every process here; their memory is released by the caller, after
 * dropping g->lock, with dbk_dma_release_list().
 */
void dbk_dma_detach(struct dbk_grant *g, struct list_head *dead)
{
	struct dbk_dma_slot *buf, *tmp;

	lockdep_assert_held_write(&g->lock);
	list_for_each_entry_safe(buf, tmp, &g->dma_bufs, node)
		dbk_dma_slot_unlink(g, buf, dead);
	if (g->domain) {
		iommu_put_resv_regions(&g->dev->pdev->dev, &g->resv);
		INIT_LIST_HEAD(&g->resv);
		iommu_detach_group(g->domain, g->group);
		iommu_domain_free(g->domain);
		g->domain = NULL;
		iommu_group_release_dma_owner(g->group);
	}
	if (g->group) {
		iommu_group_put(g->group);
		g->group = NULL;
	}
}

struct dbk_dma_slot *dbk_dma_find_slot(struct dbk_grant *g, int slot)
{
	struct dbk_dma_slot *buf;

	lockdep_assert_held(&g->lock);
	list_for_each_entry(buf, &g->dma_bufs, node)
		if (buf->slot == slot && slot >= 0)
			return buf;
	return NULL;
}

/* Does [iova, iova + size) overlap a mapping?  Else where does it go in the list? */
static struct list_head *dbk_dma_insert_pos(struct dbk_grant *g, u64 iova, u64 size)
{
	struct dbk_dma_slot *buf;

	list_for_each_entry(buf, &g->dma_bufs, node) {
		if (iova < buf->iova + buf->size && buf->iova < iova + size)
			return NULL;
		if (buf->iova >= iova + size)
			return &buf->node;
	}
	return &g->dma_bufs;
}

/* Where a reserved region overlapping [iova, iova + size) ends, or 0. */
static u64 dbk_dma_resv_end(struct dbk_grant *g, u64 iova, u64 size)
{
	struct iommu_resv_region *r;

	list_for_each_entry(r, &g->resv, list)
		if (r->type != IOMMU_RESV_DIRECT_RELAXABLE && iova < r->start + r->length &&
		    r->start < iova + size)
			return PAGE_ALIGN(r->start + r->length);
	return 0;
}

/* First fit in [DBK_IOVA_BASE, limit], around mappings and reserved regions; 0 if no room. */
static u64 dbk_dma_find_iova(struct dbk_grant *g, u64 size)
{
	struct dbk_dma_slot *buf;
	u64 iova = DBK_IOVA_BASE, end;

	while (iova + size > iova && iova + size - 1 <= dbk_dma_limit(g)) {
		end = dbk_dma_resv_end(g, iova, size);
		list_for_each_entry(buf, &g->dma_bufs, node) {
			if (buf->iova >= iova + size)
				break;
			if (iova < buf->iova + buf->size)
				end = max(end, buf->iova + buf->size);
		}
		if (!end)
			return iova;
		if (end <= iova)
			break;
		iova = end;
	}
	return 0;
}

/*
 * Unmap what is mapped in [@iova, @iova + @size), a mapping at a time:
 * intel-iommu reports nothing of a map that failed part way (PTEs written),
 * and widens an iommu_unmap() of a range not wholly mapped (other buffers').
 */
static void dbk_dma_unmap_present(struct dbk_grant *g, u64 iova, u64 size)
{
	u64 off, sz;

	for (off = 0; off < size; off += max_t(u64, sz, PAGE_SIZE))
		sz = iommu_iova_to_phys(g->domain, iova + off) ?
		     iommu_unmap(g->domain, iova + off, PAGE_SIZE) : PAGE_SIZE;
}

/*
 * Each physically contiguous run of pages in one iommu_map(), as type1's
 * vfio_pin_map_dma() does: the IOMMU driver then uses its large pages and
 * pays its per-call cost once a run, not once a page (bench/side-bench:
 * 64 MiB took 1.6 times type1's time page by page, a quarter of it by
 * runs).  A large page is made inside one call: never over another buffer.
 */
static int dbk_dma_iommu_map(struct dbk_grant *g, struct dbk_dma_slot *buf, int prot)
{
	unsigned long i, n;
	int ret;

	for (i = 0; i < buf->npages; i += n) {
		phys_addr_t phys = page_to_phys(buf->pages[i]);

		for (n = 1; i + n < buf->npages &&
		     page_to_phys(buf->pages[i + n]) == phys + n * PAGE_SIZE; n++)
			;
		ret = iommu_map(g->domain, buf->iova + i * PAGE_SIZE, phys, n * PAGE_SIZE,
				prot | IOMMU_CACHE);
		if (ret) {
			dbk_dma_unmap_present(g, buf->iova, (i + n) * PAGE_SIZE);
			return ret;
		}
	}
	return 0;
}

/* Count @size against the quota before allocating or pinning anything. */
static int dbk_dma_reserve(struct dbk_grant *g, u64 size)
{
	int ret = 0;

	down_write(&g->lock);
	if (g->revoked)
		ret = -ENODEV;
	else if (g->dma_nr >= DBK_MAX_DMA_MAPS)
		ret = -ENOSPC;
	else if (size > g->dma_quota - g->dma_used)
		ret = -EDQUOT;
	if (!ret) {
		g->dma_used += size;
		g->dma_nr++;
	}
	up_write(&g->lock);
	return ret;
}

static void dbk_dma_unreserve(struct dbk_grant *g, u64 size)
{
	lockdep_assert_held_write(&g->lock);
	if (g->revoked)
		return;		/* revocation reset the accounting */
	g->dma_used -= size;
	g->dma_nr--;
}

/* Under g->lock: place and map @buf, whose size is already reserved. */
static int dbk_dma_insert(struct dbk_grant *g, struct dbk_dma_slot *buf, int prot)
{
	struct list_head *pos;
	int ret;

	lockdep_assert_held_write(&g->lock);
	if (g->revoked)
		return -ENODEV;
	if (buf->iova + buf->size - 1 > dbk_dma_limit(g) || buf->iova + buf->size < buf->iova ||
	    dbk_dma_resv_end(g, buf->iova, buf->size))
		return -EINVAL;
	pos = dbk_dma_insert_pos(g, buf->iova, buf->size);
	if (!pos)
		return -EEXIST;
	if (g->domain) {
		ret = dbk_dma_iommu_map(g, buf, prot);
		if (ret)
			return ret;
	}
	list_add_tail(&buf->node, pos);
	return 0;
}

/* The memory of a new buffer, allocated with no lock held. */
static int dbk_dma_alloc_mem(struct dbk_grant *g, struct dbk_dma_slot *buf)
{
	struct device *dev = &g->dev->pdev->dev;
	unsigned long i;

	if (g->dev->iommu) {
		buf->pages = kvcalloc(buf->npages, sizeof(*buf->pages), GFP_KERNEL_ACCOUNT);
		if (!buf->pages)
			return -ENOMEM;
		for (i = 0; i < buf->npages; i++) {
			buf->pages[i] = alloc_page(GFP_KERNEL_ACCOUNT | __GFP_ZERO);
			if (!buf->pages[i])
				return -ENOMEM;
			if (fatal_signal_pending(current))
				return -EINTR;
		}
		return 0;
	}
	buf->cpu = dma_alloc_coherent(dev, buf->size, &buf->bus,
				      GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!buf->cpu)
		return -ENOMEM;
	/* The fault handler maps it through the linear map. */
	return is_vmalloc_addr(buf->cpu) ? -EOPNOTSUPP : 0;
}

int dbk_dma_alloc(struct dbk_grant *g, void __user *uarg)
{
	struct dbk_dma_alloc a;
	struct dbk_dma_slot *buf;
	int ret;

	ret = dbk_copy_arg(&a, sizeof(a), sizeof(a), uarg);
	if (ret)
		return ret;
	if (a.flags || !a.size || a.size > DBK_MAX_DMA_QUOTA)
		return -EINVAL;
	/* One coherent buffer is one physically contiguous block. */
	if (!g->dev->iommu && a.size > DBK_MAX_COHERENT)
		return -EINVAL;
	if (!(g->flags & DBK_GRANT_F_DMA))
		return -EPERM;
	ret = dbk_policy_dma(g, DBK_POLICY_DMA_ALLOC, 0, a.size);
	if (ret)
		return ret;
	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	buf->size = PAGE_ALIGN(a.size);
	buf->npages = buf->size >> PAGE_SHIFT;
	buf->dirty = true;
	INIT_LIST_HEAD(&buf->node);
	ret = dbk_dma_reserve(g, buf->size);
	if (ret) {
		kfree(buf);
		return ret;
	}
	ret = dbk_dma_alloc_mem(g, buf);

	down_write(&g->lock);
	if (!ret && g->revoked)
		ret = -ENODEV;
	if (!ret) {
		buf->slot = find_first_zero_bit(g->dma_slots, DBK_MAX_DMA_BUFS);
		if (buf->slot >= DBK_MAX_DMA_BUFS)
			ret = -ENOSPC;
	}
	if (!ret) {
		buf->iova = g->domain ? dbk_dma_find_iova(g, buf->size) : buf->bus;
		ret = buf->iova ? dbk_dma_insert(g, buf, IOMMU_READ | IOMMU_WRITE) : -ENOSPC;
	}
	if (!ret) {
		set_bit(buf->slot, g->dma_slots);
		a.iova = buf->iova;
		a.offset = DBK_REGION_OFFSET(DBK_REGION_DMA_FIRST + buf->slot);
	} else {
		dbk_dma_unreserve(g, buf->size);
	}
	up_write(&g->lock);
	if (ret) {
		dbk_dma_slot_release(&g->dev->pdev->dev, buf);
		return ret;
	}
	/* Live, maybe aimed at by a guarded start already: it stays, whatever this copy. */
	return copy_to_user(uarg, &a, a.argsz) ? -EFAULT : 0;
}

int dbk_dma_map(struct dbk_grant *g, const void __user *uarg)
{
	struct dbk_dma_map m;
	struct dbk_dma_slot *buf;
	unsigned long i;
	long pinned;
	int ret;

	ret = dbk_copy_arg(&m, sizeof(m), sizeof(m), uarg);
	if (ret)
		return ret;
	if (!m.flags || (m.flags & ~(DBK_DMA_MAP_F_READ | DBK_DMA_MAP_F_WRITE)) || !m.size ||
	    ((m.vaddr | m.iova | m.size) & ~PAGE_MASK) || m.size > DBK_MAX_DMA_QUOTA ||
	    m.vaddr + m.size < m.vaddr || m.iova + m.size < m.iova)
		return -EINVAL;
	if (!(g->flags & DBK_GRANT_F_DMA))
		return -EPERM;
	if (!g->dev->iommu)
		return -EOPNOTSUPP;
	ret = dbk_policy_dma(g, DBK_POLICY_DMA_MAP, m.iova, m.size);
	if (ret)
		return ret;
	buf = kzalloc(sizeof(*buf), GFP_KERNEL_ACCOUNT);
	if (!buf)
		return -ENOMEM;
	buf->iova = m.iova;
	buf->size = m.size;
	buf->npages = m.size >> PAGE_SHIFT;
	buf->slot = -1;
	buf->dirty = m.flags & DBK_DMA_MAP_F_WRITE;
	ret = dbk_dma_reserve(g, buf->size);
	if (ret) {
		kfree(buf);
		return ret;
	}
	/* Long-term pins count against RLIMIT_MEMLOCK, as RDMA's and io_uring's do. */
	buf->mm = current->mm;
	mmgrab(buf->mm);
	if (atomic64_add_return(buf->npages, &buf->mm->pinned_vm) >
	    rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT && !capable(CAP_IPC_LOCK)) {
		ret = -ENOMEM;
		goto err_unreserve;
	}
	buf->pages = kvcalloc(buf->npages, sizeof(*buf->pages), GFP_KERNEL_ACCOUNT);
	if (!buf->pages) {
		ret = -ENOMEM;
		goto err_unreserve;
	}
	/* Pinned outside every lock: a faulting driver cannot stall revocation. */
	pinned = pin_user_pages_fast(m.vaddr, buf->npages,
				     FOLL_LONGTERM | (buf->dirty ? FOLL_WRITE : 0), buf->pages);
	if (pinned != buf->npages) {
		/* The driver's pages, still mapped: unpinned, never freed. */
		if (pinned > 0)
			unpin_user_pages(buf->pages, pinned);
		kvfree(buf->pages);
		buf->pages = NULL;
		ret = pinned < 0 ? pinned : -EFAULT;
		goto err_unreserve;
	}
	buf->pinned = true;
	/* Anonymous or shmem memory only: file pages are not the driver's to pin. */
	for (i = 0; i < buf->npages; i++) {
		if (!PageSwapBacked(buf->pages[i])) {
			ret = -EINVAL;
			goto err_unreserve;
		}
	}
	down_write(&g->lock);
	ret = dbk_dma_insert(g, buf, ((m.flags & DBK_DMA_MAP_F_READ) ? IOMMU_READ : 0) |
				     ((m.flags & DBK_DMA_MAP_F_WRITE) ? IOMMU_WRITE : 0));
	if (ret)
		dbk_dma_unreserve(g, buf->size);
	up_write(&g->lock);
	if (!ret)
		return 0;
	dbk_dma_slot_release(&g->dev->pdev->dev, buf);
	return ret;

err_unreserve:
	down_write(&g->lock);
	dbk_dma_unreserve(g, buf->size);
	up_write(&g->lock);
	dbk_dma_slot_release(&g->dev->pdev->dev, buf);
	return ret;
}

int dbk_dma_unmap(struct dbk_grant *g, const void __user *uarg)
{
	struct dbk_dma_unmap u;
	struct dbk_dma_slot *buf;
	LIST_HEAD(dead);
	int ret;

	ret = dbk_copy_arg(&u, sizeof(u), sizeof(u), uarg);
	if (ret)
		return ret;
	if (u.flags || !u.size || u.size > DBK_MAX_DMA_QUOTA)
		return -EINVAL;
	down_write(&g->lock);
	ret = g->revoked ? -ENODEV : -ENOENT;
	list_for_each_entry(buf, &g->dma_bufs, node) {
		if (!g->revoked && buf->iova == u.iova && buf->size == PAGE_ALIGN(u.size)) {
			ret = dbk_dma_unlink_guarded(g, buf, &dead);
			break;
		}
	}
	up_write(&g->lock);
	dbk_dma_release_list(g, &dead);
	return ret;
}
