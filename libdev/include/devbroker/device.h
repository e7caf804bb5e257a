/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file device.h
 * @brief A PCI device on a devbroker grant fd: registers, config space,
 * interrupts, DMA and revocation.
 *
 * A userspace PCI driver receives a devbroker *grant fd* (see
 * <linux/devbroker.h>; devbrokerd hands it over, <devbroker/handover.h>)
 * and gives it to dbk_dev_adopt().  From then on it reaches the device
 * only through these calls:
 *
 *  - registers: dbk_read32(), dbk_write32() and friends work on (BAR,
 *    offset) whether that page is mmap()ed or mediated by the kernel;
 *  - PCI configuration space: dbk_cfg_read32() and friends;
 *  - interrupts: dbk_irq_enable(), dbk_irq_wait(), dbk_irq_get_fd();
 *  - DMA: dbk_dma_buf_alloc(), and with an IOMMU dbk_dma_map_mem();
 *  - revocation: every call returns -ENODEV once the grant is revoked;
 *    dbk_catch_revocation() turns the SIGBUS of a revoked mapping into that.
 *
 * The same calls also drive a device bound to vfio-pci, opened with
 * dbk_dev_open_vfio() instead of adopted from a grant.
 *
 * Thread safety: one struct dbk_dev may be used from several threads for
 * register and config accesses and for waiting on distinct vectors;
 * everything else (enable/disable interrupts, allocate/free DMA, free the
 * device) must be serialized by the caller.
 *
 * The SDK's conventions: <devbroker/sdk.h>.  Example: libdev/examples/info.c.
 */
#ifndef DEVBROKER_DEVICE_H
#define DEVBROKER_DEVICE_H

#include <stddef.h>
#include <stdint.h>
#include <linux/devbroker.h>
#include <devbroker/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

/** An adopted grant: one device, as far as the grant allows. Opaque. */
struct dbk_dev;

/** A DMA buffer allocated by the kernel for a grant. Opaque. */
struct dbk_dma_buf;


/** @defgroup dev Device lifetime and information
 * @{ */

/**
 * Adopt a grant fd and describe the device behind it.
 *
 * Queries the device, the grant and every BAR, and mmap()s every area the
 * kernel reports as mmap()able (DBK_GRANT_GET_REGION_INFO).  Accesses
 * elsewhere in a BAR are mediated with pread()/pwrite().  If an mmap()
 * fails (other than with ENODEV) that area is simply mediated.
 *
 * On success the device takes ownership of @p grant_fd: dbk_dev_free()
 * closes it.  On failure @p grant_fd is left open and untouched.
 *
 * @param grant_fd a devbroker grant fd (not a device fd)
 * @param[out] devp the new device; set only on success
 * @return 0, -EINVAL (NULL @p devp, negative fd, or a devbroker *device*
 *         fd rather than a grant fd), -ENOTTY (not a devbroker fd),
 *         -ENODEV (already revoked), -ENOMEM, or another negative errno
 *         from the kernel.
 */
int dbk_dev_adopt(int grant_fd, struct dbk_dev **devp);

/**
 * Open a PCI device bound to vfio-pci instead of devbroker, and describe
 * it as dbk_dev_adopt() does a grant: the same driver then runs on either.
 *
 * Uses the VFIO container/group API with the type1 (v2) IOMMU driver, so
 * the device must be behind an IOMMU, and every device of its IOMMU group
 * bound to vfio-pci (or to no driver).  The caller needs read-write access
 * to /dev/vfio/vfio and to the group's node /dev/vfio/N (an administrator
 * chowns the latter to the driver's user), and an RLIMIT_MEMLOCK large
 * enough for its DMA: type1 counts pinned pages against it.
 *
 * The operations map onto VFIO as follows:
 *  - BARs: every area VFIO_DEVICE_GET_REGION_INFO reports as mmap()able
 *    (the whole BAR, or the areas of its sparse-mmap capability) is mapped
 *    and reached directly; other accesses are one pread()/pwrite() of the
 *    region at its VFIO offset;
 *  - config space: the config region, virtualized by vfio-pci;
 *  - interrupts: VFIO_DEVICE_SET_IRQS with eventfds (INTx is masked each
 *    time it fires, until dbk_irq_unmask(), as with devbroker);
 *  - DMA: dbk_dma_buf_alloc() maps anonymous shared memory with
 *    VFIO_IOMMU_MAP_DMA at the lowest free IOVA from 1 MiB up (as
 *    devbroker.ko chooses), within the IOMMU's usable ranges;
 *    dbk_dma_map_mem() maps the caller's memory at the caller's IOVA.
 *
 * The information calls answer from what VFIO reports: the device info has
 * DBK_DEVICE_INFO_F_GRANT and DBK_DEVICE_INFO_F_IOMMU set and api_version
 * 0; the grant info lists the interrupt types the device has,
 * DBK_GRANT_F_CONFIG_WRITE, DBK_GRANT_F_DMA and DBK_GRANT_INFO_F_IOMMU,
 * with dma_quota the RLIMIT_MEMLOCK at open (UINT64_MAX if unlimited); the
 * region info's offset is the region's offset in the VFIO device fd
 * (dbk_dev_get_fd()).  There is no policy, no rate cap and no revocation:
 * vfio-pci has none of them (a device removed under it makes calls fail
 * with -ENODEV).  dbk_dev_free() closes the device, group and container
 * fds, which releases the IOMMU mappings.
 *
 * @param bdf the device's PCI address, "DDDD:BB:DD.F" or "BB:DD.F" (hex)
 * @param[out] devp the new device; set only on success
 * @return 0, -EINVAL (NULL argument or malformed address), -ENODEV (no such
 *         device, or not bound to vfio-pci), -EOPNOTSUPP (no IOMMU group, or
 *         no type1 v2 IOMMU), -EBUSY (the group is not viable: another of
 *         its devices has a host driver; or the group is already open),
 *         -EACCES (no access to /dev/vfio/...), -ENOMEM, or another
 *         negative errno from VFIO.
 * @since SDK 1.3 (DEVBROKER_1.3)
 */
int dbk_dev_open_vfio(const char *bdf, struct dbk_dev **devp);

/**
 * As dbk_dev_open_vfio(), on a VFIO group fd someone else opened: the way
 * a privileged launcher hands a vfio-pci device over, as it hands over a
 * grant fd for dbk_dev_adopt() (the device's address then comes with it,
 * as dbk_handover_device() gives it).  The driver needs no access to the
 * group's node, only to /dev/vfio/vfio (mode 0666 by default), where it
 * opens its own container.
 *
 * On success the device takes ownership of @p group_fd: dbk_dev_free()
 * closes it.  On failure @p group_fd is left open, and no longer attached
 * to a container of ours.
 *
 * @param group_fd an open /dev/vfio/N of the device's IOMMU group, not
 *        attached to a container
 * @param bdf the device's PCI address, as for dbk_dev_open_vfio()
 * @param[out] devp the new device; set only on success
 * @return 0, -EINVAL (negative fd, NULL argument, malformed address, or
 *         not a VFIO group fd), -EBUSY (the group is not viable, or already
 *         has a container), -ENODEV (the device is not in that group), or
 *         the errors of dbk_dev_open_vfio()
 * @since SDK 1.3 (DEVBROKER_1.3)
 */
int dbk_dev_adopt_vfio(int group_fd, const char *bdf, struct dbk_dev **devp);

/**
 * Release a device: disable its interrupts, unmap and free its DMA buffers,
 * unmap its BARs and close the grant fd.
 *
 * DMA buffers still allocated become invalid (their handles are freed too).
 *
 * @param dev the device, or NULL (then nothing happens)
 */
void dbk_dev_free(struct dbk_dev *dev);

/**
 * Return the grant fd the device owns, for poll() or for tests.  Do not
 * close it.
 *
 * @param dev the device
 * @return the fd, or -EINVAL if @p dev is NULL
 */
int dbk_dev_get_fd(const struct dbk_dev *dev);

/**
 * Tell whether the grant is known to be revoked.
 *
 * The library learns about a revocation when a call fails with ENODEV, or
 * when the handler of dbk_catch_revocation() catches the SIGBUS of a
 * revoked mapping.  Once revoked, every call on @p dev returns -ENODEV.
 *
 * @param dev the device
 * @return 1 if revoked, 0 if not (as far as known), -EINVAL if @p dev is NULL
 */
int dbk_dev_is_revoked(const struct dbk_dev *dev);

/**
 * Describe the device (DBK_DEVICE_GET_INFO).
 *
 * @param dev the device
 * @param[in,out] info in: @c argsz, sizeof(*info); out: the rest, at most
 *        @c argsz bytes
 * @return 0, -EINVAL (NULL argument, @c argsz too small), -E2BIG
 *         (@c argsz above DBK_ARGSZ_MAX), -ENODEV, or a negative errno
 */
int dbk_dev_get_device_info(struct dbk_dev *dev, struct dbk_device_info *info);

/**
 * Describe the grant's rights and DMA accounting (DBK_GRANT_GET_INFO).
 *
 * @param dev the device
 * @param[in,out] info in: @c argsz, sizeof(*info); out: the rest, at most
 *        @c argsz bytes
 * @return 0, -EINVAL (NULL argument, @c argsz too small), -E2BIG
 *         (@c argsz above DBK_ARGSZ_MAX), -ENODEV, or a negative errno
 */
int dbk_dev_get_grant_info(struct dbk_dev *dev, struct dbk_grant_info *info);

/**
 * Describe region @p index (DBK_GRANT_GET_REGION_INFO): a BAR
 * (0-5) or DBK_REGION_CONFIG.
 *
 * @param dev the device
 * @param index the region index
 * @param[in,out] info in: @c argsz, sizeof(*info); out: the rest (at most
 *        @c argsz bytes); info->nr_areas says how many areas exist
 * @param[out] areas room for @p areas_max areas, or NULL if @p areas_max is 0
 * @param areas_max how many areas fit in @p areas
 * @return 0, -EINVAL (NULL argument, bad index, @c argsz too small),
 *         -E2BIG (@c argsz above DBK_ARGSZ_MAX), -ENODEV, or a negative
 *         errno
 */
int dbk_dev_get_region_info(struct dbk_dev *dev, uint32_t index,
			    struct dbk_region_info *info,
			    struct dbk_area *areas, uint32_t areas_max);

/**
 * Describe interrupt index @p index (DBK_GRANT_GET_IRQ_INFO).
 *
 * @param dev the device
 * @param index DBK_IRQ_INDEX_INTX, DBK_IRQ_INDEX_MSI or DBK_IRQ_INDEX_MSIX
 * @param[in,out] info in: @c argsz, sizeof(*info); out: the rest, at most
 *        @c argsz bytes
 * @return 0, -EINVAL (bad index, @c argsz too small), -E2BIG
 *         (@c argsz above DBK_ARGSZ_MAX), -ENODEV, or a
 *         negative errno
 */
int dbk_dev_get_irq_info(struct dbk_dev *dev, uint32_t index,
			 struct dbk_irq_info *info);

/**
 * Return the size of BAR @p bar as seen at adoption.
 *
 * @param dev the device
 * @param bar 0-5
 * @param[out] size the size in bytes; 0 if the BAR is absent
 * @return 0 or -EINVAL
 */
int dbk_dev_get_bar_size(const struct dbk_dev *dev, unsigned int bar,
			 uint64_t *size);

/**
 * Tell how an access would be carried out.
 *
 * @param dev the device
 * @param bar 0-5
 * @param offset byte offset in the BAR
 * @param width 1, 2, 4 or 8
 * @return 1 if the access goes through an mmap()ed page, 0 if it is
 *         mediated (pread/pwrite), or -EINVAL if the access is invalid
 *         (bad width, unaligned, outside the BAR, BAR absent or not granted)
 */
int dbk_dev_access_is_mapped(const struct dbk_dev *dev, unsigned int bar,
			     uint64_t offset, unsigned int width);

/** @} */


/* ------------------------------------------------------------------ */
/** @defgroup regs Register access
 *
 * All accessors take a BAR number (0-5) and a byte offset within it.  The
 * access is carried out with exactly @c width bytes: through the mapping
 * when the page is mmap()ed, else with one pread()/pwrite() of that width
 * at DBK_REGION_OFFSET(bar) + offset.  Values are in CPU byte order
 * (PCI registers are little-endian; on big-endian CPUs the mediated path
 * converts).
 *
 * Every accessor returns 0, or:
 *  - -EINVAL: NULL @p dev or @p val, a width other than 1/2/4/8, an offset
 *    not aligned to the width, a BAR other than 0-5, or an access reaching
 *    past the end of the BAR;
 *  - -EACCES: the grant does not allow reading (or writing) that BAR;
 *  - -ENODEV: the grant was revoked;
 *  - -EIO: a short mediated transfer;
 *  - another negative errno from the kernel (e.g. -EPERM for a mediated
 *    access the kernel refused).
 * @{ */

/**
 * Read a register of any width.
 *
 * @param dev the device
 * @param bar 0-5
 * @param offset byte offset within the BAR, aligned to @p width
 * @param width 1, 2, 4 or 8
 * @param[out] val the value, zero-extended
 * @return 0 or a negative errno (see above)
 */
int dbk_reg_read(struct dbk_dev *dev, unsigned int bar, uint64_t offset,
		 unsigned int width, uint64_t *val);

/**
 * Write a register of any width.
 *
 * @param dev the device
 * @param bar 0-5
 * @param offset byte offset within the BAR, aligned to @p width
 * @param width 1, 2, 4 or 8
 * @param val the value; bits above @p width are ignored
 * @return 0 or a negative errno (see above)
 */
int dbk_reg_write(struct dbk_dev *dev, unsigned int bar, uint64_t offset,
		  unsigned int width, uint64_t val);

/** Read an 8-bit register. @param dev device @param bar 0-5
 * @param offset byte offset @param[out] val value @return 0 or -errno */
int dbk_read8(struct dbk_dev *dev, unsigned int bar, uint64_t offset, uint8_t *val);
/** Read a 16-bit register. @param dev device @param bar 0-5
 * @param offset byte offset, 2-aligned @param[out] val value @return 0 or -errno */
int dbk_read16(struct dbk_dev *dev, unsigned int bar, uint64_t offset, uint16_t *val);
/** Read a 32-bit register. @param dev device @param bar 0-5
 * @param offset byte offset, 4-aligned @param[out] val value @return 0 or -errno */
int dbk_read32(struct dbk_dev *dev, unsigned int bar, uint64_t offset, uint32_t *val);
/** Read a 64-bit register with one 8-byte access. @param dev device
 * @param bar 0-5 @param offset byte offset, 8-aligned @param[out] val value
 * @return 0 or -errno */
int dbk_read64(struct dbk_dev *dev, unsigned int bar, uint64_t offset, uint64_t *val);
/** Write an 8-bit register. @param dev device @param bar 0-5
 * @param offset byte offset @param val value @return 0 or -errno */
int dbk_write8(struct dbk_dev *dev, unsigned int bar, uint64_t offset, uint8_t val);
/** Write a 16-bit register. @param dev device @param bar 0-5
 * @param offset byte offset, 2-aligned @param val value @return 0 or -errno */
int dbk_write16(struct dbk_dev *dev, unsigned int bar, uint64_t offset, uint16_t val);
/** Write a 32-bit register. @param dev device @param bar 0-5
 * @param offset byte offset, 4-aligned @param val value @return 0 or -errno */
int dbk_write32(struct dbk_dev *dev, unsigned int bar, uint64_t offset, uint32_t val);
/** Write a 64-bit register with one 8-byte access. @param dev device
 * @param bar 0-5 @param offset byte offset, 8-aligned @param val value
 * @return 0 or -errno */
int dbk_write64(struct dbk_dev *dev, unsigned int bar, uint64_t offset, uint64_t val);

/** @} */

/* ------------------------------------------------------------------ */
/** @defgroup cfg PCI configuration space
 *
 * Config space is region DBK_REGION_CONFIG, always mediated: the kernel
 * virtualizes reads and filters writes (see DBK_GRANT_F_CONFIG_WRITE).
 * Same errors as the register accessors.
 * @{ */

/** Read a config byte. @param dev device @param offset config offset
 * @param[out] val value @return 0 or -errno */
int dbk_cfg_read8(struct dbk_dev *dev, uint32_t offset, uint8_t *val);
/** Read a config word. @param dev device @param offset 2-aligned offset
 * @param[out] val value @return 0 or -errno */
int dbk_cfg_read16(struct dbk_dev *dev, uint32_t offset, uint16_t *val);
/** Read a config dword. @param dev device @param offset 4-aligned offset
 * @param[out] val value @return 0 or -errno */
int dbk_cfg_read32(struct dbk_dev *dev, uint32_t offset, uint32_t *val);
/** Write a config byte. @param dev device @param offset config offset
 * @param val value @return 0 or -errno */
int dbk_cfg_write8(struct dbk_dev *dev, uint32_t offset, uint8_t val);
/** Write a config word. @param dev device @param offset 2-aligned offset
 * @param val value @return 0 or -errno */
int dbk_cfg_write16(struct dbk_dev *dev, uint32_t offset, uint16_t val);
/** Write a config dword. @param dev device @param offset 4-aligned offset
 * @param val value @return 0 or -errno */
int dbk_cfg_write32(struct dbk_dev *dev, uint32_t offset, uint32_t val);

/**
 * Set or clear Bus Master Enable in the PCI command register, which DMA
 * and MSI/MSI-X delivery need.
 *
 * @param dev the device
 * @param enable nonzero to set, 0 to clear
 * @return 0 or a negative errno (as for config writes)
 */
int dbk_dev_set_bus_master(struct dbk_dev *dev, int enable);

/** @} */

/* ------------------------------------------------------------------ */
/** @defgroup revoke Revocation
 * @{ */

/**
 * Opt in to surviving the SIGBUS of a revoked mapping (process-wide).
 *
 * Installs a SIGBUS handler (SA_SIGINFO | SA_NODEFER).  When the faulting
 * address lies inside a BAR or DMA mapping made by this library, the handler
 * maps an anonymous zero page over the faulting page (MAP_FIXED; only
 * async-signal-safe calls), marks the owning device revoked and returns:
 * the faulting access completes harmlessly (a load reads zero) and the
 * accessor that made it, and every later call, returns -ENODEV.  Any other
 * SIGBUS goes to the handler that was installed before (or the default
 * action, which kills the process).
 *
 * Calling it more than once is harmless.  Call it before starting threads
 * that might install their own SIGBUS handler.
 *
 * @return 0, or a negative errno from sigaction()
 */
int dbk_catch_revocation(void);

/** @} */

/* ------------------------------------------------------------------ */
/** @defgroup irq Interrupts
 *
 * Each enabled vector signals an eventfd (created by the library,
 * EFD_CLOEXEC | EFD_NONBLOCK) straight from the kernel's interrupt
 * handler.  Wait with dbk_irq_wait(), or poll/epoll the fd from
 * dbk_irq_get_fd() and read its 8-byte counter yourself.
 * @{ */

/**
 * Enable @p count vectors of interrupt index @p index (DBK_GRANT_SET_IRQS,
 * DBK_IRQ_SET_TRIGGER).  Any index enabled before is disabled first.
 *
 * @param dev the device
 * @param index DBK_IRQ_INDEX_INTX (then @p count must be 1),
 *        DBK_IRQ_INDEX_MSI or DBK_IRQ_INDEX_MSIX
 * @param count vectors to enable, at least 1
 * @return 0, -EINVAL (bad index or count), -EPERM (type not granted),
 *         -ENOSPC (the device cannot allocate that many vectors), -ENODEV,
 *         -ENOMEM, -EMFILE, or another negative errno
 */
int dbk_irq_enable(struct dbk_dev *dev, uint32_t index, uint32_t count);

/**
 * Disable the enabled interrupt index, if any, and close its eventfds.
 *
 * @param dev the device
 * @return 0 (also when nothing was enabled), -EINVAL, -ENODEV, or a
 *         negative errno.  The eventfds are closed in every case.
 */
int dbk_irq_disable(struct dbk_dev *dev);

/**
 * Return the eventfd of an enabled vector, for poll() or epoll.  The
 * library owns it: do not close it.
 *
 * @param dev the device
 * @param vector 0 .. count-1 of the enabled index
 * @return the fd, or -EINVAL (no such enabled vector)
 */
int dbk_irq_get_fd(const struct dbk_dev *dev, uint32_t vector);

/**
 * Wait for an interrupt on @p vector and consume it.
 *
 * @param dev the device
 * @param vector 0 .. count-1 of the enabled index
 * @param timeout_ms milliseconds to wait; 0 polls once; negative waits
 *        forever
 * @return the number of interrupts signalled since the last wait (at
 *         least 1), -ETIMEDOUT, -ENODEV (revoked: checked on timeout),
 *         -EINVAL (no such vector), or another negative errno
 */
int dbk_irq_wait(struct dbk_dev *dev, uint32_t vector, int timeout_ms);

/**
 * Unmask INTx (DBK_IRQ_SET_UNMASK) after the device's interrupt was
 * acknowledged: the kernel masks the line each time it fires.
 *
 * @param dev the device
 * @return 0, -EINVAL (INTx not enabled), -ENODEV, or a negative errno
 */
int dbk_irq_unmask(struct dbk_dev *dev);

/** @} */

/* ------------------------------------------------------------------ */
/** @defgroup dma DMA
 * @{ */

/**
 * Allocate a zeroed DMA buffer (DBK_GRANT_DMA_ALLOC) and mmap() it.
 *
 * @param dev the device
 * @param size bytes; rounded up to whole pages
 * @param[out] bufp the buffer; set only on success
 * @return 0, -EINVAL (size 0 or too large, NULL argument), -EPERM (no DMA
 *         right), -EDQUOT (over the grant's quota), -ENOSPC, -ENOMEM,
 *         -ENODEV, or another negative errno
 */
int dbk_dma_buf_alloc(struct dbk_dev *dev, size_t size,
		      struct dbk_dma_buf **bufp);

/**
 * Free a DMA buffer: munmap() it and release it (DBK_GRANT_DMA_UNMAP).
 * The handle is freed in every case.  The device must no longer use it.
 *
 * @param buf the buffer, or NULL (then 0 is returned)
 * @return 0, or the negative errno of the unmap ioctl (-ENODEV once
 *         revoked: the kernel already freed it)
 */
int dbk_dma_buf_free(struct dbk_dma_buf *buf);

/**
 * The buffer's address in this process.
 * @param buf the buffer @return the address, or NULL if @p buf is NULL
 */
void *dbk_dma_buf_get_vaddr(const struct dbk_dma_buf *buf);

/**
 * The buffer's device address (IOVA, or bus address without an IOMMU):
 * the value to program into the device.
 * @param buf the buffer @return the IOVA, or 0 if @p buf is NULL
 */
uint64_t dbk_dma_buf_get_iova(const struct dbk_dma_buf *buf);

/**
 * The buffer's size in bytes (whole pages).
 * @param buf the buffer @return the size, or 0 if @p buf is NULL
 */
size_t dbk_dma_buf_get_size(const struct dbk_dma_buf *buf);

/**
 * With an IOMMU, pin the caller's own memory and map it at a chosen IOVA
 * (DBK_GRANT_DMA_MAP).
 *
 * @param dev the device
 * @param vaddr page-aligned start of the caller's memory
 * @param iova page-aligned device address
 * @param size page-aligned, nonzero size
 * @param flags DBK_DMA_MAP_F_READ and/or DBK_DMA_MAP_F_WRITE
 * @return 0, -EINVAL (alignment, zero size, overflow, bad flags), -EEXIST,
 *         -EPERM, -EOPNOTSUPP (no IOMMU), -EDQUOT, -EFAULT, -ENOMEM,
 *         -ENODEV
 */
int dbk_dma_map_mem(struct dbk_dev *dev, void *vaddr, uint64_t iova,
		    size_t size, uint32_t flags);

/**
 * Undo dbk_dma_map_mem() for exactly that @p iova and @p size
 * (DBK_GRANT_DMA_UNMAP).
 *
 * @param dev the device
 * @param iova as passed to dbk_dma_map_mem()
 * @param size as passed to dbk_dma_map_mem()
 * @return 0, -EINVAL, -ENOENT (no such mapping), -ENODEV
 */
int dbk_dma_unmap_mem(struct dbk_dev *dev, uint64_t iova, size_t size);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* DEVBROKER_DEVICE_H */
