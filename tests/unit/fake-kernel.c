/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fake-kernel.h"

struct fake fk;

void fake_init(void)
{
	memset(&fk, 0, sizeof(fk));
	fk.fd = memfd_create("fake-grant", MFD_CLOEXEC);
	if (fk.fd < 0 || ftruncate(fk.fd, (off_t)DBK_REGION_OFFSET(32)) < 0)
		abort();
	fk.num_regions = 8;
	fk.bar_size[0] = 0x4000;
	fk.bar_flags[0] = DBK_REGION_INFO_F_READ | DBK_REGION_INFO_F_WRITE |
			  DBK_REGION_INFO_F_MMAP;
	fk.areas[0][0].offset = 0x1000;
	fk.areas[0][0].size = 0x2000;
	fk.nr_areas[0] = 1;
	fk.bar_size[2] = 0x100;		/* an I/O BAR, read-only for the test */
	fk.bar_flags[2] = DBK_REGION_INFO_F_READ | DBK_REGION_INFO_F_IO;
	fk.cfg_size = 256;
	fk.grant_flags = DBK_GRANT_F_MSI | DBK_GRANT_F_INTX | DBK_GRANT_F_DMA;
	fk.bar_mask = 0x5;
	fk.mmap_mask = 0x1;
	fk.irq_enabled_index = ~0u;
}

void fake_fini(void)
{
	if (fk.fd >= 0)
		close(fk.fd);
	fk.fd = -1;
}

void fake_fire(unsigned int i)
{
	uint64_t one = 1;

	if (i < fk.irq_enabled_count && fk.irq_fds[i] >= 0)
		if (write(fk.irq_fds[i], &one, sizeof(one)) != sizeof(one))
			abort();
}

static ssize_t fake_pread(int fd, void *buf, size_t n, off_t off)
{
	fk.npread++;
	fk.last_rw_off = (uint64_t)off;
	fk.last_rw_len = n;
	if (fk.fail_errno) {
		errno = fk.fail_errno;
		return -1;
	}
	return pread(fd, buf, n, off);
}

static ssize_t fake_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	fk.npwrite++;
	fk.last_rw_off = (uint64_t)off;
	fk.last_rw_len = n;
	if (fk.fail_errno) {
		errno = fk.fail_errno;
		return -1;
	}
	return pwrite(fd, buf, n, off);
}

static int fail(int e)
{
	errno = e;
	return -1;
}

static int region_info(struct dbk_region_info *ri)
{
	uint32_t i = ri->index;

	if (ri->argsz < sizeof(*ri))
		return fail(EINVAL);
	if (i == DBK_REGION_CONFIG) {
		ri->flags = DBK_REGION_INFO_F_READ | DBK_REGION_INFO_F_WRITE;
		ri->size = fk.cfg_size;
		ri->offset = DBK_REGION_OFFSET(i);
		ri->nr_areas = 0;
		return 0;
	}
	if (i >= 6)
		return fail(EINVAL);
	ri->size = fk.bar_size[i];
	ri->offset = DBK_REGION_OFFSET(i);
	ri->flags = fk.bar_flags[i];
	ri->nr_areas = (ri->flags & DBK_REGION_INFO_F_MMAP) ? fk.nr_areas[i] : 0;
	if (ri->areas_max && ri->areas) {
		uint32_t n = ri->nr_areas < ri->areas_max ? ri->nr_areas : ri->areas_max;

		memcpy((void *)(uintptr_t)ri->areas, fk.areas[i], n * sizeof(struct dbk_area));
	}
	return 0;
}

/* The struct each ioctl takes (the numbers are _IO(): they do not say). */
static size_t fake_argsz(unsigned long req)
{
	switch (req) {
	case DBK_DEVICE_GET_INFO:	return sizeof(struct dbk_device_info);
	case DBK_GRANT_GET_INFO:	return sizeof(struct dbk_grant_info);
	case DBK_GRANT_GET_REGION_INFO:	return sizeof(struct dbk_region_info);
	case DBK_GRANT_GET_IRQ_INFO:	return sizeof(struct dbk_irq_info);
	case DBK_GRANT_SET_IRQS:	return sizeof(struct dbk_irq_set);
	case DBK_GRANT_DMA_ALLOC:	return sizeof(struct dbk_dma_alloc);
	case DBK_GRANT_DMA_UNMAP:	return sizeof(struct dbk_dma_unmap);
	case DBK_GRANT_DMA_MAP:		return sizeof(struct dbk_dma_map);
	}
	return 0;
}

static int fake_ioctl(int fd, unsigned long req, void *arg)
{
	(void)fd;
	fk.nioctl++;
	if (fk.fail_errno)
		return fail(fk.fail_errno);
	/* libdev passes its own sizeof: exactly the struct's size. */
	if (fake_argsz(req) && *(uint32_t *)arg != fake_argsz(req))
		return fail(EINVAL);
	switch (req) {
	case DBK_DEVICE_GET_INFO: {
		struct dbk_device_info *di = arg;

		di->flags = fk.is_device_fd ? 0 : DBK_DEVICE_INFO_F_GRANT;
		di->vendor = 0x1234;
		di->device = 0x11e8;
		di->num_regions = fk.num_regions;
		di->num_irqs = DBK_IRQ_INDEX_COUNT;
		di->api_version = DBK_API_VERSION;
		return 0;
	}
	case DBK_GRANT_GET_INFO: {
		struct dbk_grant_info *gi = arg;

		gi->flags = fk.grant_flags;
		gi->bar_mask = fk.bar_mask;
		gi->mmap_mask = fk.mmap_mask;
		gi->max_vectors = 4;
		gi->dma_quota = 1 << 20;
		return 0;
	}
	case DBK_GRANT_GET_REGION_INFO:
		return region_info(arg);
	case DBK_GRANT_GET_IRQ_INFO: {
		struct dbk_irq_info *ii = arg;

		if (ii->index >= DBK_IRQ_INDEX_COUNT)
			return fail(EINVAL);
		ii->count = ii->index == DBK_IRQ_INDEX_INTX ? 1 : 4;
		ii->enabled = ii->index == fk.irq_enabled_index ? fk.irq_enabled_count : 0;
		return 0;
	}
	case DBK_GRANT_SET_IRQS: {
		struct dbk_irq_set *s = arg;

		fk.last_irq_set = *s;
		if (s->flags == DBK_IRQ_SET_UNMASK)
			return s->index == DBK_IRQ_INDEX_INTX ? 0 : fail(EINVAL);
		if (s->flags != DBK_IRQ_SET_TRIGGER || s->start || s->index >= DBK_IRQ_INDEX_COUNT)
			return fail(EINVAL);
		if (s->count > (s->index == DBK_IRQ_INDEX_INTX ? 1u : 4u))
			return fail(EINVAL);
		if (s->count == 0) {
			fk.irq_enabled_index = ~0u;
			fk.irq_enabled_count = 0;
			return 0;
		}
		memcpy(fk.irq_fds, (void *)(uintptr_t)s->fds, s->count * sizeof(int));
		fk.irq_enabled_index = s->index;
		fk.irq_enabled_count = s->count;
		return 0;
	}
	case DBK_GRANT_DMA_ALLOC: {
		struct dbk_dma_alloc *a = arg;

		if (a->size == 0 || a->flags)
			return fail(EINVAL);
		if (!(fk.grant_flags & DBK_GRANT_F_DMA))
			return fail(EPERM);
		fk.last_alloc_size = a->size;
		a->iova = 0x100000ULL * (fk.nr_allocs + 1);
		a->offset = DBK_REGION_OFFSET(DBK_REGION_DMA_FIRST + fk.nr_allocs);
		fk.nr_allocs++;
		return 0;
	}
	case DBK_GRANT_DMA_UNMAP:
		fk.last_unmap = *(struct dbk_dma_unmap *)arg;
		return 0;
	case DBK_GRANT_DMA_MAP:
		fk.last_map = *(struct dbk_dma_map *)arg;
		return 0;
	default:
		return fail(ENOTTY);
	}
}

const struct dbk_sys fake_sys = {
	.pread = fake_pread,
	.pwrite = fake_pwrite,
	.ioctl = fake_ioctl,
};
