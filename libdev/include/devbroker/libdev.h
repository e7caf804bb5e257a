/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file libdev.h
 * @brief libdev: the devbroker driver SDK.
 *
 * A userspace PCI driver receives a devbroker *grant fd* (see
 * <linux/devbroker.h>) and hands it to dbk_dev_adopt().  From then on it
 * reaches the device only through this library:
 *
 *  - registers: dbk_read32(), dbk_write32() and friends work on (BAR,
 *    offset) whether that page is mmap()ed or mediated by the kernel;
 *  - PCI configuration space: dbk_cfg_read32() and friends;
 *  - interrupts: dbk_irq_enable(), dbk_irq_wait(), dbk_irq_get_fd();
 *  - DMA: dbk_dma_buf_alloc(), and with an IOMMU dbk_dma_map_mem();
 *  - revocation: every call returns -ENODEV once the grant is revoked;
 *    dbk_catch_revocation() turns the SIGBUS of a revoked mapping into that;
 *  - a character-device frontend on CUSE: dbk_cuse_new(), dbk_cuse_run();
 *  - fd passing over AF_UNIX sockets: dbk_send_fds(), dbk_recv_fds().
 *
 * A userspace USB driver receives a usbfs fd instead, already restricted
 * by devbrokerd to the interfaces it was granted, and hands it to
 * dbk_usb_adopt_env(); it does its transfers with libusb.  Its frontends,
 * like those of a PCI driver, come as fds the broker opened:
 *  - USB: dbk_usb_adopt(), dbk_usb_get_handle(), dbk_usb_errno();
 *  - an input device (keyboard, mouse...) on uinput: dbk_input_new(),
 *    dbk_input_emit(), dbk_input_sync(), dbk_input_read();
 *  - a disk (or any fixed-size file) on FUSE, usable with losetup(8) and
 *    mount(8): dbk_fuse_file_new(), dbk_fuse_file_run().
 *
 * Conventions (as in libevdev and libfuse):
 *  - objects are opaque and created and freed by the library;
 *  - functions that can fail return 0 (or a non-negative count) on success
 *    and a negative errno on failure; errno itself is not part of the API;
 *  - the library never exits the process, never prints to stdout and
 *    installs no signal handler unless asked (dbk_catch_revocation());
 *  - every fd the library creates is O_CLOEXEC.
 *
 * Thread safety: one struct dbk_dev may be used from several threads for
 * register and config accesses and for waiting on distinct vectors;
 * everything else (enable/disable interrupts, allocate/free DMA, free the
 * device) must be serialized by the caller.
 *
 * Building a driver:
 * @code
 *   cc -o mydriver mydriver.c $(pkg-config --cflags --libs devbroker-libdev)
 * @endcode
 * (add libevdev to the pkg-config line when the driver calls it itself;
 * libusb-1.0 comes with devbroker-libdev), or with meson:
 * dependency('devbroker-libdev').  See libdev/examples/ (info.c for PCI,
 * usb-describe.c for USB).
 */
#ifndef DEVBROKER_LIBDEV_H
#define DEVBROKER_LIBDEV_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/devbroker.h>
#include <devbroker/cuse-client.h>
#include <linux/input.h>
#include <libusb.h>

struct libevdev;

#ifdef __cplusplus
extern "C" {
#endif

/** An adopted grant: one device, as far as the grant allows. Opaque. */
struct dbk_dev;

/** A DMA buffer allocated by the kernel for a grant. Opaque. */
struct dbk_dma_buf;

/** A character device served through CUSE. Opaque. */
struct dbk_cuse;

/* ------------------------------------------------------------------ */
/** @defgroup dev Device lifetime and information
 * @{ */

/**
 * Return the library version as a string such as "0.1.0".
 *
 * @return a static string; never NULL.
 */
const char *dbk_libdev_version(void);

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
 * @param[out] info filled in; argsz is set by the library
 * @return 0, -EINVAL (NULL argument), -ENODEV, or a negative errno
 */
int dbk_dev_get_device_info(struct dbk_dev *dev, struct dbk_device_info *info);

/**
 * Describe the grant's rights and DMA accounting (DBK_GRANT_GET_INFO).
 *
 * @param dev the device
 * @param[out] info filled in; argsz is set by the library
 * @return 0, -EINVAL, -ENODEV, or a negative errno
 */
int dbk_dev_get_grant_info(struct dbk_dev *dev, struct dbk_grant_info *info);

/**
 * Describe region @p index (DBK_GRANT_GET_REGION_INFO): a BAR
 * (0-5) or DBK_REGION_CONFIG.
 *
 * @param dev the device
 * @param index the region index
 * @param[out] info filled in; info->nr_areas says how many areas exist
 * @param[out] areas room for @p areas_max areas, or NULL if @p areas_max is 0
 * @param areas_max how many areas fit in @p areas
 * @return 0, -EINVAL (NULL argument, bad index), -ENODEV, or a negative errno
 */
int dbk_dev_get_region_info(struct dbk_dev *dev, uint32_t index,
			    struct dbk_region_info *info,
			    struct dbk_area *areas, uint32_t areas_max);

/**
 * Describe interrupt index @p index (DBK_GRANT_GET_IRQ_INFO).
 *
 * @param dev the device
 * @param index DBK_IRQ_INDEX_INTX, DBK_IRQ_INDEX_MSI or DBK_IRQ_INDEX_MSIX
 * @param[out] info filled in
 * @return 0, -EINVAL, -ENODEV, or a negative errno
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

/* ------------------------------------------------------------------ */
/** @defgroup fdpass Passing fds over AF_UNIX sockets
 *
 * One message carries a small header (magic, version, fd count, payload
 * length), up to DBK_FDPASS_MAX_PAYLOAD payload bytes and up to
 * DBK_FDPASS_MAX_FDS fds as one SCM_RIGHTS control message.  Works on
 * SOCK_SEQPACKET, SOCK_DGRAM and SOCK_STREAM sockets (on a stream, the
 * receiver reads exactly one message).  Received fds are O_CLOEXEC.
 * @{ */

/** The most fds one message may carry. */
#define DBK_FDPASS_MAX_FDS	16
/** The most payload bytes one message may carry. */
#define DBK_FDPASS_MAX_PAYLOAD	4096

/**
 * Send a payload and fds in one message.
 *
 * @param sock a connected AF_UNIX socket
 * @param data the payload, or NULL if @p len is 0
 * @param len payload bytes, at most DBK_FDPASS_MAX_PAYLOAD
 * @param fds the fds to pass, or NULL if @p nfds is 0
 * @param nfds at most DBK_FDPASS_MAX_FDS
 * @return 0, -EINVAL (bad arguments, negative fd), -EMSGSIZE, or the
 *         negative errno of sendmsg() (e.g. -EPIPE, -EBADF)
 */
int dbk_send_fds(int sock, const void *data, size_t len,
		 const int *fds, size_t nfds);

/**
 * Receive one message sent with dbk_send_fds().
 *
 * Validation is strict: a truncated control message (MSG_CTRUNC), a
 * truncated payload (MSG_TRUNC), a bad header, a control message other
 * than SCM_RIGHTS/SCM_CREDENTIALS, or an fd count that differs from the
 * header's all fail, and then every fd that did arrive is closed.
 *
 * @param sock a connected AF_UNIX socket
 * @param data room for the payload (may be NULL if @p len is 0)
 * @param len size of @p data
 * @param[out] fds room for @p *nfds fds
 * @param[in,out] nfds in: room in @p fds; out: fds received
 * @return the payload length (>= 0), or -ENOTCONN (the peer closed the
 *         connection), -EMSGSIZE (payload larger than @p len, more fds than
 *         room, or control data truncated), -EBADMSG (malformed message),
 *         -EINVAL (bad arguments), or the negative errno of recvmsg()
 */
ssize_t dbk_recv_fds(int sock, void *data, size_t len, int *fds, size_t *nfds);

/** @} */

/* ------------------------------------------------------------------ */
/** @defgroup cuse Character device frontend (CUSE)
 *
 * Serves /dev/<name> from a /dev/cuse fd that a privileged party opened and
 * handed over (the library never opens /dev/cuse).  The node appears as
 * root:root 0600; whoever handed over the fd sets its owner and mode.
 *
 * Offsets: the kernel's CUSE always sends offset 0 with reads and writes
 * (fs/fuse/cuse.c), so the library keeps a file position for each open
 * file.  It starts at 0, each read or write advances it by the bytes
 * transferred, and callers move it with the DBK_CUSE_IOC_SEEK ioctl (and
 * read it with DBK_CUSE_IOC_TELL).  That position is the @c off passed to
 * the callbacks.
 *
 * Requests are served one at a time, in the thread that calls
 * dbk_cuse_run(); callbacks may block (for example on dbk_irq_wait()).
 * @{ */

/* DBK_CUSE_IOC_SEEK and DBK_CUSE_IOC_TELL: <devbroker/cuse-client.h>. */

/** Callbacks of a CUSE device; any may be NULL. */
struct dbk_cuse_ops {
	/**
	 * A process opened the device.
	 * @param data the @c data of dbk_cuse_new()
	 * @param flags the open flags (O_RDONLY, O_NONBLOCK, ...)
	 * @param[out] fh a per-open pointer passed to the other callbacks
	 *        (preset to NULL)
	 * @return 0 or a negative errno for the open() caller
	 */
	int (*open)(void *data, int flags, void **fh);
	/**
	 * Read up to @p size bytes at position @p off.
	 * @return bytes read (0 for end of file) or a negative errno
	 */
	ssize_t (*read)(void *data, void *fh, void *buf, size_t size, uint64_t off);
	/**
	 * Write @p size bytes at position @p off.
	 * @return bytes written or a negative errno
	 */
	ssize_t (*write)(void *data, void *fh, const void *buf, size_t size,
			 uint64_t off);
	/**
	 * An ioctl other than DBK_CUSE_IOC_SEEK/TELL.  Only "restricted"
	 * ioctls work: the size and direction encoded in @p cmd say how many
	 * bytes are copied in (@p in, @p in_size) and out (@p out, @p out_size).
	 * @return a non-negative ioctl() result, or a negative errno
	 */
	int (*ioctl)(void *data, void *fh, unsigned int cmd, const void *in,
		     size_t in_size, void *out, size_t out_size);
	/**
	 * The last fd of an open file was closed.
	 * @param data the @c data of dbk_cuse_new()
	 * @param fh the pointer set by open
	 */
	void (*release)(void *data, void *fh);
};

/**
 * Create a CUSE device on an inherited /dev/cuse fd.
 *
 * Nothing appears in /dev until dbk_cuse_run() has answered the kernel's
 * CUSE_INIT.  On success the device owns @p cuse_fd (dbk_cuse_free()
 * closes it, which removes the node); on failure the fd is left open.
 *
 * @param cuse_fd an open /dev/cuse fd
 * @param name the device name: /dev/<name> (letters, digits, '-', '_', '.')
 * @param ops the callbacks (copied)
 * @param data passed to every callback
 * @param[out] cusep the device; set only on success
 * @return 0, -EINVAL (bad fd, NULL argument, bad name), -ENOMEM, -EIO
 *         (libfuse refused)
 */
int dbk_cuse_new(int cuse_fd, const char *name, const struct dbk_cuse_ops *ops,
		 void *data, struct dbk_cuse **cusep);

/**
 * Serve requests until dbk_cuse_stop() is called or the connection ends.
 *
 * @param cuse the device
 * @return 0 when stopped or when the kernel ended the connection,
 *         -EINVAL, or a negative errno of the /dev/cuse fd
 */
int dbk_cuse_run(struct dbk_cuse *cuse);

/**
 * Make dbk_cuse_run() return soon.  Async-signal-safe and thread-safe: it
 * only writes to an eventfd.
 *
 * @param cuse the device
 * @return 0 or -EINVAL
 */
int dbk_cuse_stop(struct dbk_cuse *cuse);

/**
 * Destroy the device: close the /dev/cuse fd (the node disappears and
 * blocked clients get an error) and free everything.
 *
 * @param cuse the device, or NULL
 */
void dbk_cuse_free(struct dbk_cuse *cuse);

/** @} */

/* ------------------------------------------------------------------ */
/** @defgroup usb USB on a brokered fd
 *
 * devbrokerd hands a USB driver one usbfs fd (/dev/bus/usb/BBB/DDD,
 * opened by the broker), on which the kernel drivers of the granted
 * interfaces are already detached, those interfaces already claimed for
 * the fd, and which is restricted with USBDEVFS_DROP_PRIVILEGES to them:
 * the driver can neither claim another interface nor detach a kernel
 * driver, and it never opens a device node itself.  The broker passes
 * the fd number in $DBK_USB_FD and the granted interfaces' bit mask (bit
 * N: interface N) in $DBK_USB_INTERFACES.
 *
 * dbk_usb_adopt() wraps the fd in a libusb context of its own
 * (LIBUSB_OPTION_NO_DEVICE_DISCOVERY, libusb_wrap_sys_device()) and
 * claims the granted interfaces; the driver then does its transfers with
 * libusb on dbk_usb_get_handle().  Once the device is unplugged or the
 * broker revokes the interfaces, transfers fail with
 * LIBUSB_ERROR_NO_DEVICE (dbk_usb_errno(): -ENODEV).
 *
 * The raw USBDEVFS_RESET ioctl (and so libusb_reset_device()) is refused
 * in the sandbox: a reset would let the kernel driver take the interface
 * back.
 *
 * Link with libusb-1.0 too: pkg-config --cflags --libs devbroker-libdev
 * libusb-1.0.
 * @{ */

/** An adopted USB fd. Opaque. */
struct dbk_usb;

/**
 * Adopt a brokered usbfs fd.
 *
 * Creates a private libusb context with device discovery off, wraps
 * @p usb_fd with libusb_wrap_sys_device() and claims every interface in
 * @p interfaces (bit N: interface N) with libusb_claim_interface().
 * Claiming an interface the broker already claimed for the fd is a no-op.
 *
 * libusb 1.0.26 keeps LIBUSB_OPTION_NO_DEVICE_DISCOVERY process-wide: once
 * this is called, no libusb context of the process enumerates devices
 * (a brokered driver has none to enumerate).
 *
 * On success the object owns @p usb_fd (dbk_usb_free() closes it; libusb
 * itself never closes a wrapped fd).  On failure @p usb_fd is left open;
 * interfaces claimed before the failing one stay claimed by it.
 *
 * @param usb_fd an open usbfs device fd
 * @param interfaces the interfaces to claim; 0 claims none
 * @param[out] usbp the object; set only on success
 * @return 0, -EINVAL (negative fd, NULL @p usbp), -EBADF (@p usb_fd is
 *         not open), -ENOTTY (not a usbfs fd), -EACCES (an interface
 *         outside the fd's grant), -ENOENT (no such interface), -EBUSY
 *         (claimed by another fd or driver), -ENODEV (the device is gone),
 *         -ENOMEM, or another negative errno
 */
int dbk_usb_adopt(int usb_fd, uint32_t interfaces, struct dbk_usb **usbp);

/**
 * Adopt the usbfs fd devbrokerd handed over, claiming the interfaces it
 * was granted (<devbroker/handover.h>: DBK_HANDOVER_USB and
 * dbk_handover_usb_interfaces()).
 *
 * @param[out] usbp the object; set only on success
 * @return 0, -ENOENT (not started by devbrokerd, or no USB fd handed
 *         over), -EINVAL (NULL @p usbp, a malformed hand-over), -EBADF,
 *         or what dbk_usb_adopt() returns
 */
int dbk_usb_adopt_env(struct dbk_usb **usbp);

/**
 * Release the claimed interfaces, close the libusb handle and context,
 * and close the fd.
 *
 * @param usb the object, or NULL (then nothing happens)
 */
void dbk_usb_free(struct dbk_usb *usb);

/**
 * The libusb handle for transfers.  Owned by @p usb: do not close it.
 * @param usb the object @return the handle, or NULL if @p usb is NULL
 */
libusb_device_handle *dbk_usb_get_handle(const struct dbk_usb *usb);

/**
 * The private libusb context, for libusb_handle_events() and friends.
 * Owned by @p usb.
 * @param usb the object @return the context, or NULL if @p usb is NULL
 */
libusb_context *dbk_usb_get_context(const struct dbk_usb *usb);

/**
 * The interfaces claimed at adoption (bit N: interface N).
 * @param usb the object @return the mask, 0 if @p usb is NULL
 */
uint32_t dbk_usb_get_interfaces(const struct dbk_usb *usb);

/**
 * Map a libusb error code (enum libusb_error) to a negative errno, so that
 * drivers report errors the libdev way: LIBUSB_ERROR_IO -EIO,
 * _INVALID_PARAM -EINVAL, _ACCESS -EACCES, _NO_DEVICE -ENODEV,
 * _NOT_FOUND -ENOENT, _BUSY -EBUSY, _TIMEOUT -ETIMEDOUT, _OVERFLOW
 * -EOVERFLOW, _PIPE -EPIPE, _INTERRUPTED -EINTR, _NO_MEM -ENOMEM,
 * _NOT_SUPPORTED -EOPNOTSUPP, anything else -EIO.  A value >= 0 is
 * returned as is.
 *
 * @param libusb_err a libusb return value
 * @return the value itself if >= 0, else a negative errno
 */
int dbk_usb_errno(int libusb_err);

/** @} */

/* ------------------------------------------------------------------ */
/** @defgroup input Input device frontend (uinput)
 *
 * Makes the device an ordinary evdev input device (/dev/input/eventN)
 * through a /dev/uinput fd that the broker opened and passed
 * ($DBK_UINPUT_FD); the library never opens /dev/uinput.  The device's
 * capabilities come from a libevdev template (libevdev_new(),
 * libevdev_set_name(), libevdev_enable_event_code()...).  Enabling EV_REP
 * gives the kernel's software key repeat.
 * @{ */

/** An input device served through uinput. Opaque. */
struct dbk_input;

/**
 * Create the input device (libevdev_uinput_create_from_device()).
 *
 * On success the object owns @p uinput_fd and has made it O_NONBLOCK (for
 * dbk_input_read()); on failure it is left open and unchanged.
 *
 * @param uinput_fd an open /dev/uinput fd
 * @param tmpl the capabilities, name and ids (only read)
 * @param[out] inputp the device; set only on success
 * @return 0, -EINVAL (bad fd, NULL argument), -ENOMEM, or the negative
 *         errno of the uinput ioctls
 */
int dbk_input_new(int uinput_fd, const struct libevdev *tmpl,
		  struct dbk_input **inputp);

/**
 * Queue one event (libevdev_uinput_write_event()); nothing is delivered
 * to readers before dbk_input_sync().
 *
 * @param input the device
 * @param type EV_KEY, EV_REL, EV_LED, ...
 * @param code KEY_A, REL_X, ...
 * @param value 1 pressed / 0 released for keys, a delta for EV_REL, ...
 * @return 0, -EINVAL (NULL @p input, @p type above EV_MAX or @p code
 *         above KEY_MAX), or a negative errno of write()
 */
int dbk_input_emit(struct dbk_input *input, unsigned int type,
		   unsigned int code, int value);

/**
 * Emit SYN_REPORT: the queued events reach readers as one frame.
 * @param input the device @return 0, -EINVAL or a negative errno
 */
int dbk_input_sync(struct dbk_input *input);

/**
 * The uinput fd, to poll() for events the kernel sends *to* the device
 * (EV_LED when a program or the console sets a keyboard LED, EV_UINPUT
 * force-feedback requests...).  Owned by @p input: do not close it.
 * @param input the device @return the fd, or -EINVAL
 */
int dbk_input_get_fd(const struct dbk_input *input);

/**
 * Read one event sent to the device without blocking.
 *
 * @param input the device
 * @param[out] ev the event
 * @return 1 with @p ev filled, 0 if none is pending, -EINVAL, or a
 *         negative errno of read()
 */
int dbk_input_read(struct dbk_input *input, struct input_event *ev);

/**
 * The device node, "/dev/input/eventN".
 * @param input the device
 * @return a string owned by @p input, or NULL (@p input NULL, or the
 *         kernel did not say)
 */
const char *dbk_input_get_devnode(const struct dbk_input *input);

/**
 * Destroy the input device (it disappears from /dev/input) and close the
 * uinput fd.
 * @param input the device, or NULL
 */
void dbk_input_free(struct dbk_input *input);

/** @} */

/* ------------------------------------------------------------------ */
/** @defgroup fusefile File frontend (FUSE)
 *
 * Serves the device as one regular file, <mount point>/<name>, in a FUSE
 * filesystem that the broker mounted for the driver (the driver may not
 * mount) and passed as a /dev/fuse fd ($DBK_FUSE_FD; the mount point is in
 * $DBK_FUSE_MOUNT).  A disk served this way works with losetup(8) and
 * mount(8).
 *
 * Requests are served one at a time, in the thread that calls
 * dbk_fuse_file_run(): a driver needs no locking, and stays
 * single-threaded (which a USB request policy may require).
 *
 * The broker mounts without default_permissions, so the library checks
 * access itself: the file belongs to the serving process's effective uid
 * and gid, with the permission bits given to dbk_fuse_file_new(); uid 0
 * may read and write it (losetup); supplementary groups are not
 * considered.  Owner, mode and size cannot be changed (EPERM, also for
 * O_TRUNC); the times are fixed.  Writes are write-through (no FUSE
 * writeback cache), so a write error reaches the writer; O_DIRECT reads
 * and writes reach the callbacks as they are.
 * @{ */

/** A file served through FUSE. Opaque. */
struct dbk_fuse_file;

/** The file's callbacks.  Any may be NULL: then the operation fails with
 * EIO (read) or EROFS (write, and opening for writing), or succeeds doing
 * nothing (flush). */
struct dbk_fuse_file_ops {
	/**
	 * Read @p size bytes at @p off.  The library never asks beyond the
	 * file's size.
	 * @param data the @c data of dbk_fuse_file_new()
	 * @return bytes read (short only at the end or on error after some
	 *         bytes) or a negative errno (-EIO reaches the reader as EIO)
	 */
	ssize_t (*read)(void *data, void *buf, size_t size, uint64_t off);
	/**
	 * Write @p size bytes at @p off (never beyond the file's size: the
	 * file does not grow; a write starting at or past the end gets
	 * ENOSPC from the library, one crossing it is cut short).
	 * @return bytes written (a short count reaches the writer as a short
	 *         write; 0 is answered EIO) or a negative errno
	 */
	ssize_t (*write)(void *data, const void *buf, size_t size, uint64_t off);
	/**
	 * Make written data durable: on fsync(2) and fdatasync(2) (the loop
	 * driver's flushes too), and on the close(2) that follows writes
	 * (its error is close()'s).
	 * @return 0 or a negative errno
	 */
	int (*flush)(void *data);
};

/**
 * Create the file server on a mounted /dev/fuse fd.
 *
 * Nothing is served before dbk_fuse_file_run(); until then the mount's
 * users wait.  On success the server owns @p fuse_fd and has made it
 * O_NONBLOCK; on failure it is left open and unchanged.
 *
 * @param fuse_fd the /dev/fuse fd of a mount made for this process
 * @param name the file's name in the mount's root (no '/', not "." or
 *        "..", at most 255 bytes), e.g. "disk"
 * @param size the file's size in bytes (at most INT64_MAX)
 * @param mode its permission bits (at most 0777), e.g. 0600
 * @param ops the callbacks (copied)
 * @param data passed to every callback
 * @param[out] filep the server; set only on success
 * @return 0, -EINVAL (bad or closed fd, not /dev/fuse, NULL argument, bad
 *         name, mode or size), -ENOMEM, -EIO (libfuse refused)
 */
int dbk_fuse_file_new(int fuse_fd, const char *name, uint64_t size,
		      unsigned int mode, const struct dbk_fuse_file_ops *ops,
		      void *data, struct dbk_fuse_file **filep);

/**
 * Serve requests until dbk_fuse_file_stop() is called, the filesystem is
 * unmounted, or a callback returns -ENODEV (the device is gone: the
 * request fails with EIO and the loop ends).  After a stop it may be
 * called again; after an unmount it returns 0 and after -ENODEV it
 * returns -ENODEV at once.
 *
 * @param file the server
 * @return 0 when stopped or unmounted, -ENODEV when the device went away,
 *         -EINVAL, or a negative errno of the /dev/fuse fd
 */
int dbk_fuse_file_run(struct dbk_fuse_file *file);

/**
 * Make dbk_fuse_file_run() return soon (after the request it is serving,
 * if any; at once if called before it).  Async-signal-safe and
 * thread-safe: it only writes to an eventfd.
 * @param file the server @return 0 or -EINVAL
 */
int dbk_fuse_file_stop(struct dbk_fuse_file *file);

/**
 * Destroy the server and close the /dev/fuse fd (the broker unmounts).
 * @param file the server, or NULL
 */
void dbk_fuse_file_free(struct dbk_fuse_file *file);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* DEVBROKER_LIBDEV_H */
