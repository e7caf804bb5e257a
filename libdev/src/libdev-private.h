/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdev internals, shared by the library's sources and its unit tests
 * (which link the static archive and may call the dbk__ functions).
 */
#ifndef LIBDEV_PRIVATE_H
#define LIBDEV_PRIVATE_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "devbroker/handover.h"
#include "devbroker/device.h"
#include "devbroker/fdpass.h"
#include "devbroker/frontend.h"
#include "devbroker/usb.h"

struct fuse_session;

/*
 * fuseloop.c: serve @se in the calling thread until @stop_fd (an eventfd)
 * is written, the kernel ends the connection (then *@ended, if given, is
 * set) or, after a request, *@gone is true (-ENODEV).  Returns 0, -ENODEV
 * or a negative errno of the fd.
 */
int dbk__fuse_serve(struct fuse_session *se, int stop_fd, const bool *gone, bool *ended);

#define DBK_EXPORT __attribute__((visibility("default")))

#define DBK_MAX_AREAS		64	/* mmap()able areas per BAR we track */

/* The syscalls that reach the grant fd; unit tests replace them. */
struct dbk_sys {
	ssize_t (*pread)(int fd, void *buf, size_t n, off_t off);
	ssize_t (*pwrite)(int fd, const void *buf, size_t n, off_t off);
	int (*ioctl)(int fd, unsigned long req, void *arg);
};
extern const struct dbk_sys dbk__libc_sys;

/* One mmap()ed area of a region. */
struct dbk_map {
	uint64_t offset;		/* within the region, page aligned */
	uint64_t size;
	uint8_t *addr;			/* the mapping */
	bool owned;			/* munmap() it on free */
};

struct dbk_region {
	uint64_t size;			/* 0: absent */
	uint32_t flags;			/* DBK_REGION_INFO_F_* */
	uint32_t nr_maps;
	struct dbk_map maps[DBK_MAX_AREAS];
};

struct dbk_dma_buf {
	struct dbk_dev *dev;
	struct dbk_dma_buf *next;
	void *vaddr;
	uint64_t iova;
	uint64_t offset;
	size_t size;
};

struct dbk_backend;

struct dbk_dev {
	int fd;				/* the grant fd, or VFIO's device fd */
	int revoked;			/* __atomic; also set by the SIGBUS handler */
	size_t page_size;
	const struct dbk_sys *sys;
	struct dbk_device_info devinfo;
	struct dbk_grant_info grantinfo;
	struct dbk_region bars[DBK_NUM_BARS];
	struct dbk_region config;
	/* interrupts */
	int irq_index;			/* -1: none enabled */
	uint32_t irq_count;
	int *irq_fds;
	/* DMA buffers */
	struct dbk_dma_buf *bufs;
	/*
	 * NULL: a devbroker grant fd, reached directly (ioctls, pread/pwrite
	 * at DBK_REGION_OFFSET()).  Otherwise another kernel interface (VFIO):
	 * the calls that are not mapped MMIO go through it.  Mapped BAR pages
	 * (dev->bars[].maps) are reached directly in either case.
	 */
	const struct dbk_backend *backend;
	void *backend_data;
};

/*
 * A second way to reach a device (vfio.c): everything but mapped MMIO.
 * Each returns 0 (or a count) or a negative errno.
 */
struct dbk_backend {
	const char *name;
	/* One access of @width bytes at @off in region @index (a BAR or
	 * DBK_REGION_CONFIG); @buf holds the bytes, little-endian. */
	int (*rw)(struct dbk_dev *dev, uint32_t index, uint64_t off, void *buf,
		  unsigned int width, bool write);
	/* Answer DBK_DEVICE_GET_INFO, DBK_GRANT_GET_INFO,
	 * DBK_GRANT_GET_REGION_INFO or DBK_GRANT_GET_IRQ_INFO into @info,
	 * whose argsz (at most DBK_ARGSZ_MAX) says how much may be written. */
	int (*info)(struct dbk_dev *dev, unsigned long req, void *info);
	/* DBK_GRANT_SET_IRQS's DBK_IRQ_SET_TRIGGER (@count eventfds at @fds,
	 * or 0 to disable) and DBK_IRQ_SET_UNMASK. */
	int (*set_irqs)(struct dbk_dev *dev, uint32_t flags, uint32_t index,
			uint32_t count, const int *fds);
	/* Allocate, map and make reachable buf->size bytes: set vaddr, iova. */
	int (*dma_alloc)(struct dbk_dev *dev, struct dbk_dma_buf *buf);
	/* Undo dma_alloc (also unmaps buf->vaddr). */
	int (*dma_free)(struct dbk_dev *dev, struct dbk_dma_buf *buf);
	int (*dma_map)(struct dbk_dev *dev, void *vaddr, uint64_t iova,
		       uint64_t size, uint32_t flags);
	int (*dma_unmap)(struct dbk_dev *dev, uint64_t iova, uint64_t size);
	/* Last: release backend_data (dev->fd is already closed). */
	void (*release)(struct dbk_dev *dev);
};

/* ---- dev.c ---- */
/* dbk_dev_adopt() with the grant fd's syscalls replaced (tests). */
int dbk__dev_adopt_sys(int grant_fd, const struct dbk_sys *sys,
		       struct dbk_dev **devp);
/* A device with no regions on @fd (not adopted: no ioctls); for tests. */
int dbk__dev_new_raw(int fd, struct dbk_dev **devp);
/* Describe region @index (a BAR 0-5 or DBK_REGION_CONFIG) by hand. */
int dbk__dev_set_region(struct dbk_dev *dev, uint32_t index, uint64_t size,
			uint32_t flags);
/* Record an existing mapping of [@offset, @offset + @size) of BAR @bar. */
int dbk__dev_add_map(struct dbk_dev *dev, unsigned int bar, uint64_t offset,
		     uint64_t size, void *addr, bool owned);
/* Turn a failed call's errno into the result; ENODEV marks revocation. */
int dbk__fail(struct dbk_dev *dev, int err);
static inline bool dbk__revoked(const struct dbk_dev *dev)
{
	return __atomic_load_n(&dev->revoked, __ATOMIC_ACQUIRE) != 0;
}
static inline void dbk__mark_revoked(struct dbk_dev *dev)
{
	__atomic_store_n(&dev->revoked, 1, __ATOMIC_RELEASE);
}
/* The ioctl with argsz set, retried on EINTR; 0 or -errno. */
int dbk__ioctl_sz(struct dbk_dev *dev, unsigned long req, void *arg, size_t size);
/* The ioctl numbers are _IO(): argsz, set to sizeof(*arg) here, says the size. */
#define dbk__ioctl(dev, req, arg) dbk__ioctl_sz(dev, req, arg, sizeof(*(arg)))

/* Free a device half built (no DMA buffers, no interrupts): its BAR
 * mappings and the struct; the fd stays open. */
void dbk__dev_free_raw(struct dbk_dev *dev);

/* ---- regs.c: region arithmetic ---- */
/* Is a @width access at @off of a region of @size valid?  0 or -EINVAL. */
int dbk__check_range(uint64_t size, uint64_t off, unsigned int width);
/* The grant-fd file offset of @off in region @index, or -EINVAL. */
int dbk__file_offset(uint32_t index, uint64_t off, uint64_t *foff);
/* The mapping an access falls in entirely, or NULL (mediated). */
const struct dbk_map *dbk__find_map(const struct dbk_region *r, uint64_t off,
				    unsigned int width);

/* ---- revoke.c: the SIGBUS mapping registry ---- */
int dbk__sigbus_register(void *addr, size_t len, struct dbk_dev *dev);
void dbk__sigbus_unregister(void *addr);
/* Forget the installed handler (tests). */
void dbk__sigbus_reset(void);

/* ---- usb.c ---- */
/* dbk_usb_interface_claimed() on a bare fd whose adoption claimed
 * @claimed (bit N: interface N), through @sys (unit tests fake the
 * kernel's USBDEVFS_GETDRIVER answers). */
int dbk__usb_interface_claimed(int fd, uint32_t claimed, unsigned int ifno,
			       const struct dbk_sys *sys);

#endif /* LIBDEV_PRIVATE_H */
