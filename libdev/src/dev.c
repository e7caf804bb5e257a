/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libdev: adopting a grant fd, device information, teardown. */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"
#include "libdev-private.h"

static int libc_ioctl(int fd, unsigned long req, void *arg)
{
	return ioctl(fd, req, arg);
}

const struct dbk_sys dbk__libc_sys = {
	.pread = pread,
	.pwrite = pwrite,
	.ioctl = libc_ioctl,
};

DBK_EXPORT const char *dbk_sdk_version(void)
{
	return DBK_SDK_VERSION;	/* the library's, from libdev/meson.build */
}

int dbk__fail(struct dbk_dev *dev, int err)
{
	if (err == ENODEV)
		dbk__mark_revoked(dev);
	return -err;
}

int dbk__ioctl_sz(struct dbk_dev *dev, unsigned long req, void *arg, size_t size)
{
	int r;

	if (dbk__revoked(dev))
		return -ENODEV;
	if (dev->backend)
		return -EOPNOTSUPP;	/* not a grant fd: no devbroker ioctls */
	/* Every devbroker ioctl struct starts with argsz: our sizeof. */
	*(uint32_t *)arg = (uint32_t)size;
	do
		r = dev->sys->ioctl(dev->fd, req, arg);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return dbk__fail(dev, errno);
	return r;
}

int dbk__dev_new_raw(int fd, struct dbk_dev **devp)
{
	struct dbk_dev *dev;
	long ps;

	if (fd < 0 || !devp)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	ps = sysconf(_SC_PAGESIZE);
	dev->page_size = ps > 0 ? (size_t)ps : 4096;
	dev->fd = fd;
	dev->sys = &dbk__libc_sys;
	dev->irq_index = -1;
	*devp = dev;
	return 0;
}

int dbk__dev_set_region(struct dbk_dev *dev, uint32_t index, uint64_t size,
			uint32_t flags)
{
	struct dbk_region *r;

	if (index < DBK_NUM_BARS)
		r = &dev->bars[index];
	else if (index == DBK_REGION_CONFIG)
		r = &dev->config;
	else
		return -EINVAL;
	if (size >= (1ULL << DBK_REGION_SHIFT))
		return -EINVAL;
	r->size = size;
	r->flags = flags;
	return 0;
}

int dbk__dev_add_map(struct dbk_dev *dev, unsigned int bar, uint64_t offset,
		     uint64_t size, void *addr, bool owned)
{
	struct dbk_region *r;
	struct dbk_map *m;

	if (bar >= DBK_NUM_BARS || !addr || size == 0)
		return -EINVAL;
	r = &dev->bars[bar];
	if (offset > r->size || size > r->size - offset)
		return -EINVAL;
	if (r->nr_maps >= DBK_MAX_AREAS)
		return -ENOSPC;
	m = &r->maps[r->nr_maps];
	m->offset = offset;
	m->size = size;
	m->addr = addr;
	m->owned = owned;
	r->nr_maps++;
	/* A full registry only means that this mapping's SIGBUS is not caught. */
	(void)dbk__sigbus_register(addr, size, dev);
	return 0;
}

/* Query region @index, with its areas (malloc()ed into *areasp). */
static int query_region(struct dbk_dev *dev, uint32_t index,
			struct dbk_region_info *ri, struct dbk_area **areasp)
{
	struct dbk_area *areas = NULL;
	uint32_t n;
	int r;

	*areasp = NULL;
	memset(ri, 0, sizeof(*ri));
	ri->index = index;
	r = dbk__ioctl(dev, DBK_GRANT_GET_REGION_INFO, ri);
	if (r < 0 || !(ri->flags & DBK_REGION_INFO_F_MMAP) || ri->nr_areas == 0)
		return r < 0 ? r : 0;
	n = ri->nr_areas < DBK_MAX_AREAS ? ri->nr_areas : DBK_MAX_AREAS;
	areas = calloc(n, sizeof(*areas));
	if (!areas)
		return -ENOMEM;
	memset(ri, 0, sizeof(*ri));
	ri->index = index;
	ri->areas_max = n;
	ri->areas = (uintptr_t)areas;
	r = dbk__ioctl(dev, DBK_GRANT_GET_REGION_INFO, ri);
	if (r < 0) {
		free(areas);
		return r;
	}
	if (ri->nr_areas > n)
		ri->nr_areas = n;	/* the rest is mediated */
	*areasp = areas;
	return 0;
}

/* mmap() every valid area of BAR @bar; failures leave the area mediated. */
static int map_bar(struct dbk_dev *dev, unsigned int bar,
		   const struct dbk_region_info *ri, const struct dbk_area *areas)
{
	struct dbk_region *reg = &dev->bars[bar];
	uint64_t mask = dev->page_size - 1;
	uint32_t i;

	for (i = 0; i < ri->nr_areas; i++) {
		const struct dbk_area *a = &areas[i];
		uint64_t foff;
		void *p;
		int r;

		if (a->size == 0 || (a->offset & mask) || (a->size & mask) ||
		    a->offset > reg->size || a->size > reg->size - a->offset ||
		    a->size > SIZE_MAX)
			continue;
		if (dbk__file_offset(bar, a->offset, &foff) < 0)
			continue;
		p = mmap(NULL, (size_t)a->size, PROT_READ | PROT_WRITE,
			 MAP_SHARED, dev->fd, (off_t)foff);
		if (p == MAP_FAILED) {
			if (errno == ENODEV)
				return dbk__fail(dev, ENODEV);
			continue;
		}
		r = dbk__dev_add_map(dev, bar, a->offset, a->size, p, true);
		if (r < 0) {
			munmap(p, (size_t)a->size);
			continue;
		}
	}
	return 0;
}

static void unmap_all(struct dbk_dev *dev)
{
	unsigned int b, i;

	for (b = 0; b < DBK_NUM_BARS; b++) {
		struct dbk_region *reg = &dev->bars[b];

		for (i = 0; i < reg->nr_maps; i++) {
			struct dbk_map *m = &reg->maps[i];

			dbk__sigbus_unregister(m->addr);
			if (m->owned)
				munmap(m->addr, (size_t)m->size);
		}
		reg->nr_maps = 0;
	}
}

static void free_dev(struct dbk_dev *dev)
{
	unmap_all(dev);
	free(dev->irq_fds);
	free(dev);
}

void dbk__dev_free_raw(struct dbk_dev *dev)
{
	if (dev)
		free_dev(dev);
}

DBK_EXPORT int dbk_dev_adopt(int grant_fd, struct dbk_dev **devp)
{
	return dbk__dev_adopt_sys(grant_fd, &dbk__libc_sys, devp);
}

int dbk__dev_adopt_sys(int grant_fd, const struct dbk_sys *sys,
		       struct dbk_dev **devp)
{
	struct dbk_dev *dev;
	unsigned int b, nbars;
	int r;

	if (grant_fd < 0 || !devp || !sys)
		return -EINVAL;
	r = dbk__dev_new_raw(grant_fd, &dev);
	if (r < 0)
		return r;
	dev->sys = sys;

	r = dbk__ioctl(dev, DBK_DEVICE_GET_INFO, &dev->devinfo);
	if (r < 0)
		goto fail;
	if (!(dev->devinfo.flags & DBK_DEVICE_INFO_F_GRANT)) {
		r = -EINVAL;	/* a device fd: the driver must get a grant */
		goto fail;
	}
	r = dbk__ioctl(dev, DBK_GRANT_GET_INFO, &dev->grantinfo);
	if (r < 0)
		goto fail;

	nbars = dev->devinfo.num_regions < DBK_NUM_BARS ?
		dev->devinfo.num_regions : DBK_NUM_BARS;
	for (b = 0; b < nbars; b++) {
		struct dbk_region_info ri;
		struct dbk_area *areas;

		r = query_region(dev, b, &ri, &areas);
		if (r == -ENODEV || r == -ENOMEM)
			goto fail;
		if (r < 0 || ri.size == 0)
			continue;	/* absent, or not ours to know */
		if (ri.size >= (1ULL << DBK_REGION_SHIFT)) {
			free(areas);
			continue;
		}
		dev->bars[b].size = ri.size;
		dev->bars[b].flags = ri.flags;
		if (!(dev->grantinfo.mmap_mask & (1U << b)))
			ri.nr_areas = 0;
		if (areas)
			r = map_bar(dev, b, &ri, areas);
		free(areas);
		if (r < 0)
			goto fail;
	}

	{
		struct dbk_region_info ri;
		struct dbk_area *areas;

		r = query_region(dev, DBK_REGION_CONFIG, &ri, &areas);
		free(areas);
		if (r == -ENODEV || r == -ENOMEM)
			goto fail;
		if (r == 0 && ri.size > 0 && ri.size <= 4096) {
			dev->config.size = ri.size;
			dev->config.flags = ri.flags;
		} else {
			/* Unreported: the standard header; the kernel decides. */
			dev->config.size = 256;
			dev->config.flags = DBK_REGION_INFO_F_READ | DBK_REGION_INFO_F_WRITE;
		}
	}
	*devp = dev;
	return 0;
fail:
	free_dev(dev);
	return r;
}

DBK_EXPORT void dbk_dev_free(struct dbk_dev *dev)
{
	struct dbk_dma_buf *b, *next;

	if (!dev)
		return;
	if (dev->irq_index >= 0)
		(void)dbk_irq_disable(dev);
	for (b = dev->bufs; b; b = next) {
		next = b->next;
		dbk__sigbus_unregister(b->vaddr);
		if (dev->backend)
			(void)dev->backend->dma_free(dev, b);
		else
			munmap(b->vaddr, b->size);
		free(b);	/* closing the grant fd releases the memory */
	}
	dev->bufs = NULL;
	unmap_all(dev);
	close(dev->fd);
	if (dev->backend)
		dev->backend->release(dev);
	free_dev(dev);
}

DBK_EXPORT int dbk_dev_get_fd(const struct dbk_dev *dev)
{
	return dev ? dev->fd : -EINVAL;
}

DBK_EXPORT int dbk_dev_is_revoked(const struct dbk_dev *dev)
{
	return dev ? (int)dbk__revoked(dev) : -EINVAL;
}

/*
 * The info ioctls fill the caller's struct, which is as long as the UAPI
 * header the caller was built with said (its argsz, as with
 * <linux/vfio.h>): a library built against a newer, longer struct must not
 * write past it, and one built against an older struct passes a newer
 * caller's argsz on (the kernel fills what it knows and checks the rest is
 * zero).  @minsz is the shortest struct UAPI 2 defines; the input fields
 * the library sets (index...) all lie before it.  Zeroes what the library
 * knows of the struct but argsz, never more than argsz: an argsz that is
 * garbage (a caller that forgot it) cannot make the library write past
 * @size.  A longer caller's tail is its own, which the kernel checks.
 */
static int dbk_dev_info_prepare(void *info, size_t minsz, size_t size)
{
	uint32_t argsz = *(uint32_t *)info;

	if (argsz < minsz)
		return -EINVAL;
	if (argsz > DBK_ARGSZ_MAX)
		return -E2BIG;
	memset((char *)info + sizeof(argsz), 0, (argsz < size ? argsz : size) - sizeof(argsz));
	return 0;
}

static int dbk_dev_info_ioctl(struct dbk_dev *dev, unsigned long req, void *info)
{
	int r;

	if (dev->backend) {
		if (dbk__revoked(dev))
			return -ENODEV;
		r = dev->backend->info(dev, req, info);
		return r < 0 ? r : 0;
	}
	r = dbk__ioctl_sz(dev, req, info, *(uint32_t *)info);

	return r < 0 ? r : 0;
}

DBK_EXPORT int dbk_dev_get_device_info(struct dbk_dev *dev,
				       struct dbk_device_info *info)
{
	size_t minsz = offsetof(struct dbk_device_info, reserved) + sizeof(info->reserved);
	int r;

	if (!dev || !info)
		return -EINVAL;
	r = dbk_dev_info_prepare(info, minsz, sizeof(*info));
	return r ? r : dbk_dev_info_ioctl(dev, DBK_DEVICE_GET_INFO, info);
}

DBK_EXPORT int dbk_dev_get_grant_info(struct dbk_dev *dev,
				      struct dbk_grant_info *info)
{
	int r;

	if (!dev || !info)
		return -EINVAL;
	r = dbk_dev_info_prepare(info, sizeof(*info), sizeof(*info));
	return r ? r : dbk_dev_info_ioctl(dev, DBK_GRANT_GET_INFO, info);
}

DBK_EXPORT int dbk_dev_get_region_info(struct dbk_dev *dev, uint32_t index,
				       struct dbk_region_info *info,
				       struct dbk_area *areas, uint32_t areas_max)
{
	int r;

	if (!dev || !info || (areas_max && !areas) || index >= DBK_REGION_DMA_FIRST)
		return -EINVAL;
	r = dbk_dev_info_prepare(info, sizeof(*info), sizeof(*info));
	if (r)
		return r;
	info->index = index;
	info->areas_max = areas ? areas_max : 0;
	info->areas = (uintptr_t)areas;
	return dbk_dev_info_ioctl(dev, DBK_GRANT_GET_REGION_INFO, info);
}

DBK_EXPORT int dbk_dev_get_irq_info(struct dbk_dev *dev, uint32_t index,
				    struct dbk_irq_info *info)
{
	int r;

	if (!dev || !info || index >= DBK_IRQ_INDEX_COUNT)
		return -EINVAL;
	r = dbk_dev_info_prepare(info, sizeof(*info), sizeof(*info));
	if (r)
		return r;
	info->index = index;
	return dbk_dev_info_ioctl(dev, DBK_GRANT_GET_IRQ_INFO, info);
}

DBK_EXPORT int dbk_dev_get_bar_size(const struct dbk_dev *dev, unsigned int bar,
				    uint64_t *size)
{
	if (!dev || !size || bar >= DBK_NUM_BARS)
		return -EINVAL;
	*size = dev->bars[bar].size;
	return 0;
}
