/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * devbroker UAPI: the specification of the devbroker.ko interface.
 *
 * devbroker forwards a PCI device's MMIO, interrupts and DMA to an
 * unprivileged userspace driver, and can revoke all of it at any moment.
 *
 * Two kinds of file descriptor exist:
 *
 *  - The DEVICE fd: open("/dev/devbroker/<domain:bus:dev.fn>"), a node that
 *    exists for each PCI device an administrator bound to the "devbroker"
 *    driver (driver_override, as with vfio-pci).  The node is root-owned,
 *    mode 0600.  Its ioctls create and revoke grants.
 *
 *  - The GRANT fd: returned by DBK_DEVICE_CREATE_GRANT.  It carries a fixed
 *    subset of rights over the device and is what an unprivileged driver
 *    receives (inherited, or passed with SCM_RIGHTS).  A grant fd cannot
 *    create grants and its rights cannot be widened.  Its ioctls, pread,
 *    pwrite and mmap reach the device within those rights.
 *
 * At most one grant is live per device.  Revocation (DBK_DEVICE_REVOKE,
 * unbind, hot-unplug or rmmod) needs no cooperation from the driver: every
 * mapping of the grant, in every process, is zapped (the next access gets
 * SIGBUS), its interrupts are freed, bus mastering is cleared, its DMA is
 * detached and unpinned and the device is reset where a reset method
 * exists.  Every later call on the grant fd returns -ENODEV.
 *
 * Conventions, as in <linux/vfio.h>:
 *  - Ioctl numbers are _IO(DBK_TYPE, DBK_BASE + n): a struct grows, its
 *    number stays.  Each takes the struct its doc block names, which
 *    starts with argsz (the caller's sizeof) and flags.  An argsz short of
 *    the first version (the whole struct unless the doc block says) is
 *    -EINVAL; fields past it read as 0, and at most argsz bytes are written
 *    back (argsz then says how many).  A longer argsz whose tail is 0 is
 *    accepted up to DBK_ARGSZ_MAX, else -E2BIG, as in openat2().
 *  - Unknown flag bits give -EINVAL; an unknown ioctl gives -ENOTTY.
 *  - Variable-length data is passed through a __u64 user pointer and a
 *    count, never a flexible array, so that this header is C89.
 *
 * File offsets on the grant fd (for pread, pwrite and mmap) encode a
 * region index in bits 40 and up: offset = DBK_REGION_OFFSET(index) + off.
 *
 * pread/pwrite on a grant fd: exactly one aligned access of 1, 2, 4 or 8
 * bytes (config space: 1, 2 or 4), the value in native byte order.
 * Config space reads hide bus addresses (BARs, ROM) and the MSI message
 * address and data (0).  Of the command register a driver changes only
 * I/O, memory and bus-master; with DBK_GRANT_F_CONFIG_WRITE it may also
 * write the bytes between capabilities and the bodies of vendor-specific
 * ones, as mapped at probe; the rest of config space is read-only.
 * Errors: -EINVAL (size, alignment, offset past the region, unknown
 * region), -EACCES (a BAR outside the grant, the MSI-X table or PBA),
 * -EIO (the BAR's decoding is turned off), -EPERM (any other config
 * write, the status register included; bus mastering without a DMA
 * right), -EBUSY (memory decoding off while MSI-X is enabled: the kernel
 * masks vectors through the table), -ENODEV (revoked).
 * Turning memory decoding off through the command register zaps every BAR
 * mapping (SIGBUS on access) until it is turned on again.
 *
 * mmap on a grant fd: MAP_SHARED, readable, never executable.  Errors:
 * -EINVAL (private, write-only, past the region, unknown region or DMA
 * slot), -EACCES (PROT_EXEC, a mediated range, the MSI-X table or PBA, a
 * BAR not mappable), -ENODEV (revoked).
 */
#ifndef _UAPI_LINUX_DEVBROKER_H
#define _UAPI_LINUX_DEVBROKER_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* 2: _IO() numbers (1 encoded the struct's size in each number). */
#define DBK_API_VERSION		2

#define DBK_TYPE		0xDE
#define DBK_BASE		0x00

/* The largest argsz any ioctl accepts. */
#define DBK_ARGSZ_MAX		4096

/* -------- Limits of every grant (the only definition: include it) -------- */

#define DBK_NUM_BARS		6		/* BARs 0-5, regions 0-5 */
#define DBK_MAX_MEDIATED	16		/* mediated ranges */
#define DBK_MAX_VECTORS		2048		/* max_vectors (MSI-X's own limit) */
#define DBK_MAX_IRQ_RATE	10000000	/* irq_rate, interrupts a second */
#define DBK_MAX_DMA_QUOTA	(1ULL << 36)	/* dma_quota, and any one DMA size */
#define DBK_MAX_DMA_MAPS	4096		/* DMA mappings (MAP and ALLOC) */
#define DBK_MAX_DMA_BUFS	64		/* of which DMA_ALLOC buffers */

/* -------- Regions and file offsets -------- */

#define DBK_REGION_SHIFT	40
#define DBK_REGION_OFFSET(index)	((__u64)(index) << DBK_REGION_SHIFT)
#define DBK_OFFSET_TO_REGION(off)	((__u32)((off) >> DBK_REGION_SHIFT))
#define DBK_OFFSET_IN_REGION(off)	((off) & ((1ULL << DBK_REGION_SHIFT) - 1))

/* Region indexes 0 to DBK_NUM_BARS - 1 are the BARs. */
/* PCI configuration space, virtualized on read and filtered on write. */
#define DBK_REGION_CONFIG	7
/*
 * DMA buffers allocated with DBK_GRANT_DMA_ALLOC are mmap()ed at the offset
 * the allocation returns, within region indexes DBK_REGION_DMA_FIRST and up.
 */
#define DBK_REGION_DMA_FIRST	16

/* -------- Device fd ioctls (root) -------- */

/**
 * DBK_DEVICE_GET_INFO - _IO(DBK_TYPE, DBK_BASE + 0), struct dbk_device_info
 *
 * Describe the device behind a device fd.  Also valid on a grant fd, where
 * DBK_DEVICE_INFO_F_GRANT is set.  argsz may end after @reserved (the
 * counters are then not written).
 * Return: 0, or -EINVAL (argsz too small), -E2BIG (argsz too large),
 * -EFAULT, -ENODEV (device gone).
 */
struct dbk_device_info {
	__u32 argsz;
	__u32 flags;			/* in: 0; out: */
#define DBK_DEVICE_INFO_F_IOMMU		(1U << 0) /* DMA is translated by an IOMMU */
#define DBK_DEVICE_INFO_F_GRANTED	(1U << 1) /* a live grant exists */
#define DBK_DEVICE_INFO_F_GRANT		(1U << 2) /* asked through a grant fd */
#define DBK_DEVICE_INFO_F_RESET		(1U << 3) /* a reset method (else state survives grants) */
	__u16 vendor;
	__u16 device;
	__u16 subsystem_vendor;
	__u16 subsystem_device;
	__u32 class_code;		/* 24-bit class << 0: base, sub, prog-if */
	__u32 num_regions;		/* one past the highest region index */
	__u32 num_irqs;			/* DBK_IRQ_INDEX_* count */
	__u32 api_version;		/* DBK_API_VERSION */
	__u32 domain;			/* PCI address */
	__u8 bus;
	__u8 devfn;
	__u16 reserved;			/* must be 0 */
	__u32 grants_created;		/* lifetime counters, for the broker */
	__u32 grants_revoked;
};

#define DBK_DEVICE_GET_INFO	_IO(DBK_TYPE, DBK_BASE + 0)

/* A byte range within one BAR. */
struct dbk_range {
	__u32 bar;
	__u32 reserved;			/* must be 0 */
	__u64 offset;
	__u64 size;
};

/**
 * DBK_DEVICE_CREATE_GRANT - _IO(DBK_TYPE, DBK_BASE + 1), struct dbk_grant_spec
 *
 * Create the device's grant with exactly the rights in the spec, and return
 * a new grant fd (O_CLOEXEC) as the ioctl's return value.
 *
 * Rights:
 *  - bar_mask: BARs that may be read and written with pread/pwrite (none
 *    over 2^DBK_REGION_SHIFT bytes: the file offsets cannot address it).
 *  - mmap_mask: BARs (a subset of bar_mask) whose pages may be mmap()ed,
 *    except pages that hold a mediated range or the MSI-X table or PBA.
 *  - mediated/nr_mediated: ranges reachable only through pread/pwrite
 *    (aligned 1-, 2-, 4- or 8-byte accesses), so that each access can be
 *    checked.  At most DBK_MAX_MEDIATED ranges.  (A vendor capability
 *    written with DBK_GRANT_F_CONFIG_WRITE may be a window into a BAR.)
 *  - DBK_GRANT_F_INTX / _MSI / _MSIX and max_vectors: interrupt types and
 *    how many MSI/MSI-X vectors may be enabled.
 *  - irq_rate: interrupts per second the grant may receive (all vectors
 *    together, 0 = DBK_IRQ_RATE_DEFAULT).  Past it the vector is masked
 *    until the next second and the throttle is counted (DBK_GRANT_GET_IRQ_INFO).
 *    An MSI without mask bits is stopped at its MSI enable bit instead;
 *    each vector's eventfd is signalled once when it is back.  INTx seen
 *    not pending 50,000 times with no 100 ms pause (raised and acknowledged
 *    faster than the kernel looks) is masked 200 ms: no shared line is
 *    ever disabled for it.
 *  - DBK_GRANT_F_CONFIG_WRITE: config writes beyond the command register.
 *  - DBK_GRANT_F_DMA and dma_quota: DMA allowed, up to dma_quota bytes
 *    allocated or pinned at once.  dma_bits is the device's DMA address
 *    width (0 = 32).  Without an IOMMU, DMA needs DBK_GRANT_F_UNSAFE_DMA (the
 *    driver may program any bus address into the device) or _DMA_GUARDED
 *    with guard_fd: the grant's DMA guard, a BPF program that the module
 *    runs itself and that alone vouches for its DMA ("Policy hooks").
 *  - policy_cookie: an opaque value for eBPF policies (e.g. which driver);
 *    argsz may end before it (0).
 *  - guard_fd, with DBK_GRANT_F_DMA_GUARDED only (argsz must cover it, and
 *    reserved be 0): a BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE program, never
 *    attached; the grant holds it until its end (-EINVAL: another type, or
 *    one reading past union dbk_policy_guard_ctx or args[1]; -EBADF).
 *
 * Behind an IOMMU every grant owns an IOMMU domain (empty without
 * DBK_GRANT_F_DMA), so the device's IOMMU group must not be in use by a
 * kernel driver.  An IOMMU without interrupt remapping does not make bus
 * mastering safe (a stray write can forge any interrupt): it then counts
 * as no IOMMU for the DMA right.  Under kernel lockdown DMA no IOMMU
 * confines needs a guard: DBK_GRANT_F_UNSAFE_DMA is not enough.
 *
 * A device without a reset method keeps its state across grants, DMA it
 * was told to do included.  Revocation clears bus mastering before any
 * memory is freed, and a grant that may turn it on again (DMA, MSI,
 * MSI-X) is created only settle_ms (a module parameter, 500) after such a
 * revocation or the probe: transfers in flight have ended by then.  A
 * device with descriptor rings must be quiesced through its registers
 * before its next driver turns bus mastering on.
 *
 * Return: a grant fd, or -EINVAL (bad argsz, flags, masks or ranges),
 * -E2BIG, -EFAULT, -EBUSY (a live grant exists), -EPERM (DMA as above
 * without consent; or another device of the IOMMU group is bound to a
 * kernel driver), -EIO (DMA mask refused; bus mastering stuck on), -EINTR
 * (a signal while settling), -EAGAIN (revoked again), -ENODEV, -ENOMEM.
 */
struct dbk_grant_spec {
	__u32 argsz;
	__u32 flags;
#define DBK_GRANT_F_INTX		(1U << 0)
#define DBK_GRANT_F_MSI			(1U << 1)
#define DBK_GRANT_F_MSIX		(1U << 2)
#define DBK_GRANT_F_CONFIG_WRITE	(1U << 3)
#define DBK_GRANT_F_DMA			(1U << 4)
#define DBK_GRANT_F_UNSAFE_DMA		(1U << 5)
#define DBK_GRANT_F_DMA_GUARDED		(1U << 6)
#define DBK_GRANT_F_ALL			0x7fU
	__u32 bar_mask;
	__u32 mmap_mask;
	__u32 max_vectors;
	__u32 irq_rate;
#define DBK_IRQ_RATE_DEFAULT		100000
	__u32 dma_bits;
	__u32 nr_mediated;
	__u64 dma_quota;
	__u64 mediated;			/* user pointer: struct dbk_range[nr_mediated] */
	__u64 policy_cookie;		/* handed to policies in every hook's ctx */
	__s32 guard_fd;			/* DMA_GUARDED: the guard program */
	__u32 reserved;			/* must be 0 */
};

#define DBK_DEVICE_CREATE_GRANT	_IO(DBK_TYPE, DBK_BASE + 1)

/**
 * DBK_DEVICE_REVOKE - _IO(DBK_TYPE, DBK_BASE + 2), struct dbk_revoke
 *
 * Force-revoke the device's live grant, if any, as described above.  It
 * completes without the driver's cooperation, even if the driver is
 * stopped or blocked.  The device may then be granted again.
 * Return: 0 when a grant was revoked, -ENOENT when there was none,
 * -EINVAL, -E2BIG, -EFAULT, -ENODEV.
 */
struct dbk_revoke {
	__u32 argsz;
	__u32 flags;			/* none defined: must be 0 */
};

#define DBK_DEVICE_REVOKE	_IO(DBK_TYPE, DBK_BASE + 2)

/* -------- Grant fd ioctls (the driver) -------- */

/**
 * DBK_GRANT_GET_INFO - _IO(DBK_TYPE, DBK_BASE + 3), struct dbk_grant_info
 *
 * The grant's rights and its DMA accounting.
 * Return: 0, -EINVAL, -E2BIG, -EFAULT, -ENODEV (revoked).
 */
struct dbk_grant_info {
	__u32 argsz;
	__u32 flags;			/* in: 0; out: DBK_GRANT_F_* granted */
#define DBK_GRANT_INFO_F_IOMMU		(1U << 16) /* DMA goes through an IOMMU domain */
	__u32 bar_mask;
	__u32 mmap_mask;
	__u32 max_vectors;
	__u32 irq_rate;
	__u64 dma_quota;
	__u64 dma_used;
};

#define DBK_GRANT_GET_INFO	_IO(DBK_TYPE, DBK_BASE + 3)

/* An mmap()able byte range within a region, relative to the region start. */
struct dbk_area {
	__u64 offset;
	__u64 size;
};

/**
 * DBK_GRANT_GET_REGION_INFO - _IO(DBK_TYPE, DBK_BASE + 4), struct dbk_region_info
 *
 * Describe region @index (in).  @offset is the grant-fd file offset of the
 * region start.  If DBK_REGION_INFO_F_MMAP is set, @nr_areas (out) page
 * aligned areas may be mmap()ed; up to @areas_max (in) of them are written
 * to the user pointer @areas.  Everything else in a readable region is
 * reached with pread/pwrite only (mediated).
 * Return: 0, -EINVAL (bad index, argsz or flags), -E2BIG, -EFAULT, -ENODEV.
 */
struct dbk_region_info {
	__u32 argsz;
	__u32 flags;			/* in: 0; out: */
#define DBK_REGION_INFO_F_READ		(1U << 0)
#define DBK_REGION_INFO_F_WRITE		(1U << 1)
#define DBK_REGION_INFO_F_MMAP		(1U << 2)
#define DBK_REGION_INFO_F_IO		(1U << 3) /* an I/O-port BAR */
	__u32 index;			/* in */
	__u32 areas_max;		/* in: room at @areas */
	__u64 size;			/* out: region size in bytes (0: absent) */
	__u64 offset;			/* out: file offset of the region */
	__u32 nr_areas;			/* out: mmap()able areas */
	__u32 reserved;			/* must be 0 */
	__u64 areas;			/* user pointer: struct dbk_area[areas_max] */
};

#define DBK_GRANT_GET_REGION_INFO _IO(DBK_TYPE, DBK_BASE + 4)

/* Interrupt indexes. */
#define DBK_IRQ_INDEX_INTX	0
#define DBK_IRQ_INDEX_MSI	1
#define DBK_IRQ_INDEX_MSIX	2
#define DBK_IRQ_INDEX_COUNT	3

/**
 * DBK_GRANT_GET_IRQ_INFO - _IO(DBK_TYPE, DBK_BASE + 5), struct dbk_irq_info
 *
 * Describe interrupt index @index (in): how many vectors the grant may
 * enable (0 if the type is not granted or not supported), how many are
 * enabled, how many interrupts were delivered and how often the rate cap
 * masked a storm.
 * Return: 0, -EINVAL, -E2BIG, -EFAULT, -ENODEV.
 */
struct dbk_irq_info {
	__u32 argsz;
	__u32 flags;			/* in: 0; out: */
#define DBK_IRQ_INFO_F_ENABLED		(1U << 0)
#define DBK_IRQ_INFO_F_THROTTLED	(1U << 1) /* masked by the rate cap now */
	__u32 index;			/* in */
	__u32 count;			/* out: vectors the grant may enable */
	__u32 enabled;			/* out: vectors enabled now */
	__u32 reserved;			/* must be 0 */
	__u64 delivered;		/* out: interrupts signalled */
	__u64 throttled;		/* out: times the rate cap masked */
};

#define DBK_GRANT_GET_IRQ_INFO	_IO(DBK_TYPE, DBK_BASE + 5)

/**
 * DBK_GRANT_SET_IRQS - _IO(DBK_TYPE, DBK_BASE + 6), struct dbk_irq_set
 *
 * DBK_IRQ_SET_TRIGGER: enable @count vectors of @index, each signalling the
 * eventfd at the same position of the __s32 array at user pointer @fds,
 * straight from the hard interrupt handler.  Only one index is enabled at a
 * time; enabling another index first disables the current one.  @start
 * must be 0.  @count 0 disables @index.  An fd of -1 leaves that vector
 * enabled but unsignalled.  For INTx, @count is 1 and the line is masked
 * each time it fires, until DBK_IRQ_SET_UNMASK.
 *
 * MSI and MSI-X are device memory writes, so enabling them turns on bus
 * mastering: an IOMMU with interrupt remapping keeps it in the grant's own
 * domain; without one (or without remapping) the grant needs DBK_GRANT_F_DMA
 * and UNSAFE_DMA or its guard ("Policy hooks"), or -EPERM.
 *
 * DBK_IRQ_SET_UNMASK: unmask INTx (@index DBK_IRQ_INDEX_INTX, @count 0).
 *
 * Return: 0, -EINVAL (bad index, count, fd, or flags), -EBADF (fd is not
 * open), -EPERM (the type is not granted), -EIO (MSI-X with memory
 * decoding off), -E2BIG, -EFAULT, -ENOSPC (the device cannot allocate
 * that many vectors), -ENODEV.
 */
struct dbk_irq_set {
	__u32 argsz;
	__u32 flags;
#define DBK_IRQ_SET_TRIGGER		(1U << 0)
#define DBK_IRQ_SET_UNMASK		(1U << 1)
	__u32 index;
	__u32 start;
	__u32 count;
	__u32 reserved;			/* must be 0 */
	__u64 fds;			/* user pointer: __s32[count] */
};

#define DBK_GRANT_SET_IRQS	_IO(DBK_TYPE, DBK_BASE + 6)

/**
 * DBK_GRANT_DMA_ALLOC - _IO(DBK_TYPE, DBK_BASE + 7), struct dbk_dma_alloc
 *
 * Allocate a zeroed DMA buffer of @size bytes (rounded up to pages), counted
 * against the quota.  @iova (out) is the address the device uses; @offset
 * (out) is the grant-fd offset at which to mmap() it.  With an IOMMU the
 * buffer is mapped into the grant's own IOMMU domain at an IOVA below
 * 2^dma_bits, outside the group's reserved regions; without one it is a
 * coherent buffer and @iova its bus address.
 * Return: 0, -EINVAL (size 0, bad flags; without an IOMMU, larger than one
 * contiguous block, 4 MiB on x86), -EPERM (no DMA right), -EDQUOT (over
 * the quota), -ENOMEM, -ENOSPC (no IOVA, buffer slot or mapping left),
 * -EOPNOTSUPP, -E2BIG, -EFAULT (if only the result could not be written,
 * the buffer exists until DMA_UNMAP or revocation), -ENODEV.
 */
struct dbk_dma_alloc {
	__u32 argsz;
	__u32 flags;			/* none defined: must be 0 */
	__u64 size;			/* in */
	__u64 iova;			/* out */
	__u64 offset;			/* out */
};

#define DBK_GRANT_DMA_ALLOC	_IO(DBK_TYPE, DBK_BASE + 7)

/**
 * DBK_GRANT_DMA_MAP - _IO(DBK_TYPE, DBK_BASE + 8), struct dbk_dma_map
 *
 * IOMMU only: pin the driver's own memory [@vaddr, @vaddr + @size) and map
 * it at [@iova, @iova + @size) in the grant's IOMMU domain.  All three must
 * be page aligned, the memory anonymous or shared memory (not a file's
 * pages), and the IOVA range below 2^dma_bits and outside the IOMMU
 * group's reserved regions (the x86 interrupt window 0xfee00000-
 * 0xfeefffff).  The pinned bytes count against the quota, and as the
 * caller's pinned memory (VmPin) against its RLIMIT_MEMLOCK unless it has
 * CAP_IPC_LOCK; at most DBK_MAX_DMA_MAPS mappings.
 * Return: 0, -EINVAL (alignment, zero size, overflow, bad flags, reserved
 * IOVA), -EEXIST (overlaps a mapping), -EPERM (no DMA right), -EOPNOTSUPP
 * (no IOMMU), -EDQUOT, -EFAULT, -ENOMEM (also: over RLIMIT_MEMLOCK),
 * -E2BIG, -ENODEV (revoked).
 */
struct dbk_dma_map {
	__u32 argsz;
	__u32 flags;
#define DBK_DMA_MAP_F_READ		(1U << 0) /* device may read */
#define DBK_DMA_MAP_F_WRITE		(1U << 1) /* device may write */
	__u64 vaddr;
	__u64 iova;
	__u64 size;
};

#define DBK_GRANT_DMA_MAP	_IO(DBK_TYPE, DBK_BASE + 8)

/**
 * DBK_GRANT_DMA_UNMAP - _IO(DBK_TYPE, DBK_BASE + 9), struct dbk_dma_unmap
 *
 * Undo one DBK_GRANT_DMA_MAP or DBK_GRANT_DMA_ALLOC, named by its @iova
 * and its @size (as given, or rounded up to pages).  A buffer from
 * DBK_GRANT_DMA_ALLOC is also unmapped from every process (a later access
 * gets SIGBUS) and freed.
 * Return: 0, -ENOENT (no such mapping), -EINVAL, -E2BIG, -EFAULT, -ENODEV,
 * or a policy's refusal (see "Policy hooks").
 */
struct dbk_dma_unmap {
	__u32 argsz;
	__u32 flags;			/* none defined: must be 0 */
	__u64 iova;
	__u64 size;
};

#define DBK_GRANT_DMA_UNMAP	_IO(DBK_TYPE, DBK_BASE + 9)

/* -------- Policy hooks -------- */

/*
 * Policies are eBPF programs attached to the module's writable raw
 * tracepoints (libbpf: SEC("raw_tp.w/<name>")), whose first argument
 * points to one of the ctx structs below.  A program reads the request
 * and writes a verdict; with several programs on one hook, any deny wins.
 * With none attached, the module's own rules (above) are all there is.
 *
 *   dbk_policy_grant	struct dbk_policy_grant_ctx	DBK_DEVICE_CREATE_GRANT
 *   dbk_policy_access	struct dbk_policy_access_ctx	each BAR pread/pwrite
 *   dbk_policy_config	struct dbk_policy_config_ctx	each config-space write
 *   dbk_policy_irq	struct dbk_policy_irq_ctx	DBK_GRANT_SET_IRQS enabling
 *   dbk_policy_dma	struct dbk_policy_dma_ctx	DMA_ALLOC, DMA_MAP
 *   dbk_policy_master	struct dbk_policy_master_ctx	bus mastering turned on
 *
 * Every ctx starts with version, verdict and error.  Programs OR their
 * verdict bits in and never clear one, so any deny wins whatever the
 * order; @error (an errno from 1 to 133, else EPERM) is what a denied call
 * returns.  Each denial then runs dbk_policy_denied, a read-only raw
 * tracepoint (SEC("raw_tp/dbk_policy_denied")) with the struct
 * dbk_policy_denied_ctx below: devbrokerd reports it as an event.
 * A policy only narrows: a grant program may add mediated ranges, never
 * change the administrator's (else the grant fails with -EINVAL).
 *
 * DMA guard: one program, given by fd at grant creation (guard_fd), that
 * checks each value written to a device's DMA address registers against
 * the grant's DMA windows.  The module runs it itself (as cls_bpf runs a
 * classifier), after the attached programs allowed, on the module's own
 * ctx of the hook (what the attached programs wrote in theirs is not
 * shown) in a union dbk_policy_guard_ctx (args[0]) with the hook,
 * DBK_GUARD_* (args[1]), its verdict and error cleared: only its own
 * verdict vouches, so loading another policy never widens a guarded grant.
 * No tail calls (no program array or map of maps: -EINVAL).  At grant
 * creation it must APPROVE, set dma_guard to 1 and leave a mediated range
 * (else -EPERM); a guarded grant may then master the bus without an IOMMU
 * or UNSAFE_DMA.  IOMMU or not, it then needs the guard's APPROVE, without
 * DENY, for:
 *  - turning bus mastering on (master hook), for MSI too;
 *  - a write to a mediated range, whose value must not be changed by any
 *    program (REWRITE included); such writes are serialized per grant;
 *  - DMA_UNMAP (dma hook, DBK_POLICY_DMA_UNMAP), run with the grant locked
 *    against those writes: a guard refuses while a transfer may run;
 *  - a config write past the command register (config hook): config
 *    space may hold windows into the BARs.
 * Attached programs' dma_guard and APPROVE mean nothing.
 */
#define DBK_POLICY_VERSION	1
#define DBK_POLICY_ALLOW	0
#define DBK_POLICY_DENY		1
#define DBK_POLICY_REWRITE	2	/* access hook, writes only: write @value instead */
#define DBK_POLICY_APPROVE	4	/* a guard's, on access, dma, config, master */
#define DBK_POLICY_MAX_WINDOWS	16

/* Which device and grant a hook is about. */
struct dbk_policy_dev {
	__u64 cookie;			/* the grant's policy_cookie */
	__u32 domain;
	__u8 bus;
	__u8 devfn;
	__u16 reserved;
	__u16 vendor;
	__u16 device;
	__u32 grant_flags;		/* DBK_GRANT_F_* */
};

struct dbk_policy_window {
	__u64 iova;
	__u64 size;
};

struct dbk_policy_grant_ctx {
	__u32 version;
	__u32 verdict;			/* out: OR in DENY */
	__s32 error;			/* out */
	__u32 dma_guard;		/* out, the guard's: 1 = it guards the DMA registers */
	struct dbk_policy_dev dev;
	__u32 bar_mask;
	__u32 mmap_mask;
	__u32 max_vectors;
	__u32 irq_rate;
	__u64 dma_quota;
	__u32 has_iommu;
	__u32 nr_mediated;		/* in/out: a policy may add ranges, never remove */
	struct dbk_range mediated[16];
};

#define DBK_POLICY_F_WRITE	(1U << 0)

struct dbk_policy_access_ctx {
	__u32 version;
	__u32 verdict;			/* out: OR in DENY, REWRITE (writes), APPROVE */
	__s32 error;			/* out */
	__u32 flags;			/* DBK_POLICY_F_WRITE */
	struct dbk_policy_dev dev;
	__u32 bar;
	__u32 width;			/* 1, 2, 4 or 8 */
	__u64 offset;			/* within the BAR */
	__u64 value;			/* a write's value; out with REWRITE */
	__u32 mediated;			/* the access is within a mediated range */
	__u32 nr_windows;
	/* The grant's DMA buffers. */
	struct dbk_policy_window windows[DBK_POLICY_MAX_WINDOWS];
};

struct dbk_policy_config_ctx {
	__u32 version;
	__u32 verdict;
	__s32 error;
	__u32 width;
	struct dbk_policy_dev dev;
	__u32 offset;
	__u32 value;
};

struct dbk_policy_irq_ctx {
	__u32 version;
	__u32 verdict;
	__s32 error;
	__u32 index;			/* DBK_IRQ_INDEX_* */
	struct dbk_policy_dev dev;
	__u32 count;			/* vectors being enabled */
	__u32 rate;			/* the grant's cap; out: a policy may lower it */
};

#define DBK_POLICY_DMA_ALLOC	0
#define DBK_POLICY_DMA_MAP	1
#define DBK_POLICY_DMA_UNMAP	2

struct dbk_policy_dma_ctx {
	__u32 version;
	__u32 verdict;
	__s32 error;
	__u32 op;			/* DBK_POLICY_DMA_* */
	struct dbk_policy_dev dev;
	__u64 iova;			/* MAP, UNMAP: the driver's; ALLOC: 0 (not chosen yet) */
	__u64 size;
	__u64 dma_used;
	__u64 dma_quota;
};

struct dbk_policy_master_ctx {
	__u32 version;
	__u32 verdict;
	__s32 error;
	__u32 reserved;
	struct dbk_policy_dev dev;
};

/* A guard's second argument: the hook it runs for. */
#define DBK_GUARD_GRANT		0
#define DBK_GUARD_ACCESS	1
#define DBK_GUARD_CONFIG	2
#define DBK_GUARD_DMA		3
#define DBK_GUARD_MASTER	4

/* What a guard's first argument points to: large enough for any hook's ctx. */
union dbk_policy_guard_ctx {
	struct dbk_policy_grant_ctx grant;
	struct dbk_policy_access_ctx access;
	struct dbk_policy_config_ctx config;
	struct dbk_policy_dma_ctx dma;
	struct dbk_policy_master_ctx master;
};

/* What a denial refused (@what, @value). */
#define DBK_DENIED_GRANT	1	/* flags (or a bad range's offset), bar_mask */
#define DBK_DENIED_READ		2	/* BAR offset */
#define DBK_DENIED_WRITE	3	/* BAR offset, value */
#define DBK_DENIED_ACCESS	4	/* guarded write the guard did not approve: offset, value */
#define DBK_DENIED_CONFIG	5	/* config offset, value */
#define DBK_DENIED_IRQ		6	/* index, count */
#define DBK_DENIED_DMA		7	/* IOVA, size */
#define DBK_DENIED_MASTER	8

struct dbk_policy_denied_ctx {
	__u32 version;
	__u32 op;			/* DBK_DENIED_* */
	__s32 error;			/* what the call returns, negated */
	__u32 reserved;
	struct dbk_policy_dev dev;
	__u64 what;
	__u64 value;
};

#endif /* _UAPI_LINUX_DEVBROKER_H */
