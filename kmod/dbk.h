/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * devbroker: forward a PCI device's MMIO, interrupts and DMA to an
 * unprivileged userspace driver, and revoke all of it at any moment.
 *
 * Objects and lifetimes (two-phase, as in WireGuard):
 *
 *  dbk_device: one per PCI device bound to us.  kref held by probe (dropped in remove), by
 *    each open device fd and by each grant.  Phase one is remove(): the device is marked
 *    dead, its grant revoked and its node removed; phase two, the last put, frees the memory.
 *
 *  dbk_grant: the rights handed to a driver.  kref held by its file and, while live, by
 *    dev->grant.  Phase one is dbk_grant_revoke(): mappings zapped, bus mastering off, IRQs
 *    freed, DMA detached and freed, device reset; the object stays so that every later call
 *    returns -ENODEV.  Phase two, the last put (file release), frees it.
 *
 * Locking: dev->lock (mutex) protects dev->grant and dev->dead and orders grant creation
 * against revocation.  grant->lock (rwsem) protects grant->revoked and the grant's
 * resources: readers are accesses (pread, pwrite, page faults), writers change IRQ, DMA or
 * decode state or revoke.  Order: dev->lock before grant->lock.  No lock is held across a
 * user copy or a page pin, so a stopped or faulting driver can never stall revocation.
 */
#ifndef _DBK_H
#define _DBK_H

#include <linux/kref.h>
#include <linux/miscdevice.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/rwsem.h>
#include <linux/workqueue.h>
#include <linux/devbroker.h>

#define DBK_DRIVER_NAME		"devbroker"
#define DBK_NUM_REGIONS		(DBK_REGION_CONFIG + 1)
#define DBK_MAX_COHERENT	(PAGE_SIZE << (MAX_ORDER - 1))
#define DBK_MAX_SPURIOUS	50000		/* the kernel gives up at 99,900 */

struct dbk_device {
	struct kref kref;
	struct pci_dev *pdev;
	struct miscdevice misc;
	char nodename[40];		/* "devbroker/0000:00:04.0" */
	char name[40];			/* "devbroker!0000:00:04.0" */

	struct mutex lock;		/* grant, dead, counters */
	struct dbk_grant *grant;	/* the live grant (owns a ref), or NULL */
	bool dead;			/* removed: no new grants or calls */
	u32 grants_created;
	u32 grants_revoked;
	unsigned long quiet_at;		/* jiffies: no DMA left from a revoked grant */

	bool iommu;			/* DMA is translated by an IOMMU */
	struct pci_saved_state *saved;	/* config space as probed */
	void __iomem *bar[DBK_NUM_BARS];

	/* MSI-X table and PBA: never mapped, never accessed by a driver. */
	struct {
		int bar;		/* -1: none */
		u64 offset;
		u64 size;
	} msix[2];
	/* Config bytes a driver with DBK_GRANT_F_CONFIG_WRITE may write (config.c). */
	DECLARE_BITMAP(cfg_writable, PCI_CFG_SPACE_EXP_SIZE);
};

struct dbk_vec {
	struct dbk_grant *grant;
	int irq;
	bool disabled;			/* by the rate cap */
	struct eventfd_ctx *trigger;
	char name[48];
};

struct dbk_dma_slot {
	struct list_head node;		/* in grant->dma_bufs, sorted by iova */
	u64 iova;
	u64 size;
	int slot;			/* mmap region slot; -1: the driver's own memory */
	struct page **pages;		/* IOMMU: allocated or pinned pages */
	unsigned long npages;
	bool pinned;			/* pages are the driver's (DBK_GRANT_DMA_MAP) */
	struct mm_struct *mm;		/* whose pinned_vm counts them */
	bool dirty;			/* the device may write: dirty on unpin */
	void *cpu;			/* no IOMMU: coherent buffer */
	dma_addr_t bus;
};

struct dbk_grant {
	struct kref kref;
	struct dbk_device *dev;
	struct rw_semaphore lock;
	bool revoked;
	bool mem_off;			/* the driver turned memory decoding off */
	bool io_off;			/* ... or I/O decoding */
	struct inode *inode;		/* its file's, whose mapping is zapped */

	/* Rights, fixed at creation. */
	struct dbk_policy_dev policy_dev; /* every policy ctx's, copied (not rebuilt) per call */
	struct bpf_prog *guard;		/* DMA_GUARDED: the program named at creation */
	bool dma_guard;			/* ... which checks the DMA registers */
	struct mutex guard_lock;	/* orders guarded writes as the guard saw them */
	u32 flags;
	u32 bar_mask;
	u32 mmap_mask;
	u32 max_vectors;
	u32 irq_rate;
	u32 dma_bits;
	u64 dma_quota;
	u32 nr_mediated;
	struct dbk_range mediated[DBK_MAX_MEDIATED];

	/* Interrupts (grant->lock held for writing to change). */
	int irq_index;			/* DBK_IRQ_INDEX_*, or -1 */
	u32 nvec;
	struct dbk_vec *vecs;
	bool intx_maskable;		/* INTx masked with DisINTx, line shared */
	bool msi_unmaskable;		/* MSI without per-vector mask bits */
	spinlock_t rate_lock;		/* the rate window and PCI_COMMAND, taken in hard IRQ */
	unsigned long rate_window;	/* jiffies when the window ends */
	u32 rate_count;
	u32 spurious;			/* INTx not ours, none 100 ms apart */
	unsigned long last_spurious;	/* jiffies */
	bool throttled;
	bool stopping;			/* being freed: no more throttling */
	bool intx_masked;
	u64 delivered;
	u64 throttles;
	struct delayed_work unthrottle;

	/* DMA (grant->lock held for writing to change). */
	struct iommu_domain *domain;
	bool intr_remap;		/* stray writes cannot forge interrupts */
	struct iommu_group *group;
	struct list_head resv;		/* the group's reserved IOVA regions */
	struct list_head dma_bufs;
	u64 dma_used;			/* reserved or mapped bytes */
	u32 dma_nr;			/* reserved or mapped buffers */
	DECLARE_BITMAP(dma_slots, DBK_MAX_DMA_BUFS);
};

/* main.c */
struct file *dbk_file_create(const char *name, const struct file_operations *fops,
			     void *priv);
void dbk_file_unpin(void);
int dbk_copy_arg(void *arg, size_t minsz, size_t size, const void __user *uarg);

/* config.c */
void dbk_config_map(struct dbk_device *dev);
int dbk_config_read(struct dbk_grant *g, unsigned int off, unsigned int size, u32 *val);
int dbk_config_write(struct dbk_grant *g, unsigned int off, unsigned int size, u32 val);

/* device.c */
int dbk_device_create(struct pci_dev *pdev);
void dbk_device_destroy(struct pci_dev *pdev);
void dbk_device_suspend(struct pci_dev *pdev);
void dbk_device_put(struct dbk_device *dev);
int dbk_device_info(struct dbk_device *dev, struct dbk_grant *g, void __user *uarg);
bool dbk_device_msix_overlap(struct dbk_device *dev, int bar, u64 off, u64 len);

/* grant.c */
int dbk_grant_create(struct dbk_device *dev, const void __user *uarg);
void dbk_grant_revoke(struct dbk_grant *g, bool dev_locked);
void dbk_grant_put(struct dbk_grant *g);
bool dbk_grant_dma_allowed(struct dbk_grant *g);
int dbk_grant_dma_check(struct dbk_grant *g);
void dbk_grant_unsettle(struct dbk_device *dev);
bool dbk_grant_master_allowed(struct dbk_grant *g);
bool dbk_grant_range_valid(struct dbk_grant *g, const struct dbk_range *r);

/* policy.c: the eBPF hooks (UAPI "Policy hooks"), each 0 or -errno */
int dbk_policy_guard_get(struct dbk_grant *g, int fd);
int dbk_policy_grant(struct dbk_grant *g);
int dbk_policy_access(struct dbk_grant *g, int bar, u64 off, unsigned int width, u64 *val,
		      bool write);
int dbk_policy_config(struct dbk_grant *g, unsigned int off, unsigned int width, u32 val);
int dbk_policy_irq(struct dbk_grant *g, u32 index, u32 count);
int dbk_policy_dma(struct dbk_grant *g, u32 op, u64 iova, u64 size);
int dbk_policy_master(struct dbk_grant *g);

/* mmio.c */
bool dbk_mmio_mediated(struct dbk_grant *g, int bar, u64 off, u64 len);
int dbk_mmio_region_info(struct dbk_grant *g, void __user *uarg);
ssize_t dbk_mmio_rw(struct dbk_grant *g, char __user *buf, size_t count,
		    loff_t pos, bool write);
int dbk_mmio_mmap(struct dbk_grant *g, struct vm_area_struct *vma);

/* irq.c */
int dbk_irq_info(struct dbk_grant *g, void __user *uarg);
int dbk_irq_set(struct dbk_grant *g, const void __user *uarg);
void dbk_irq_init(struct dbk_grant *g);
void dbk_irq_release(struct dbk_grant *g);

/* dma.c */
int dbk_dma_attach(struct dbk_grant *g);
void dbk_dma_detach(struct dbk_grant *g, struct list_head *dead);
void dbk_dma_release_list(struct dbk_grant *g, struct list_head *dead);
int dbk_dma_alloc(struct dbk_grant *g, void __user *uarg);
int dbk_dma_map(struct dbk_grant *g, const void __user *uarg);
int dbk_dma_unmap(struct dbk_grant *g, const void __user *uarg);
struct dbk_dma_slot *dbk_dma_find_slot(struct dbk_grant *g, int slot);

#endif /* _DBK_H */
