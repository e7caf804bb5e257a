/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdev: the VFIO backend.  The same struct dbk_dev, on a PCI device bound
 * to vfio-pci, reached through the container/group API of Linux 6.1 with
 * the type1 (v2) IOMMU driver:
 *
 *  - BARs: VFIO_DEVICE_GET_REGION_INFO gives each region's offset in the
 *    device fd; mmap()able areas (the whole BAR, or the sparse-mmap
 *    capability's areas) are mapped at adoption and reached directly, as
 *    on a grant fd; the rest is one pread()/pwrite() of the access's width;
 *  - config space: the config region, pread()/pwrite() (vfio-pci
 *    virtualizes it, as devbroker does);
 *  - interrupts: VFIO_DEVICE_SET_IRQS, eventfd triggers for INTx, MSI and
 *    MSI-X, and ACTION_UNMASK for INTx (vfio-pci masks the line when it
 *    fires, as devbroker does);
 *  - DMA: anonymous shared memory mapped with VFIO_IOMMU_MAP_DMA at IOVAs
 *    chosen as devbroker.ko chooses them (first fit from 1 MiB), inside
 *    the IOVA ranges the IOMMU reports; dbk_dma_map_mem() is MAP_DMA of
 *    the caller's memory at the caller's IOVA.
 *
 * Nothing here is on the path of mapped MMIO: regs.c reaches mapped BAR
 * pages itself, whichever backend mapped them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/vfio.h>

#include "libdev-private.h"

#define VFIO_IOVA_BASE		(1ULL << 20)	/* as devbroker.ko's DBK_IOVA_BASE */
#define VFIO_MAX_RANGES		32
#define VFIO_BDF_MAX		32

/* A dbk_dma_map_mem() mapping: the allocator keeps clear of it. */
struct vfio_usermap {
	uint64_t iova;
	uint64_t size;
};

struct vfio_region {
	uint64_t offset;		/* in the device fd */
	uint64_t size;
	uint32_t flags;			/* VFIO_REGION_INFO_FLAG_* */
};

struct vfio_data {
	int container;
	int group;
	char bdf[VFIO_BDF_MAX];
	struct vfio_region bars[DBK_NUM_BARS];
	struct vfio_region config;
	uint32_t irq_count[DBK_IRQ_INDEX_COUNT];
	uint32_t irq_enabled[DBK_IRQ_INDEX_COUNT];
	/* The IOVA ranges the IOMMU can map, ascending. */
	struct vfio_iova_range ranges[VFIO_MAX_RANGES];
	uint32_t nr_ranges;
	struct vfio_usermap *usermaps;
	size_t nr_usermaps;
	uint64_t dma_used;		/* bytes mapped, ours and the caller's */
};

static struct vfio_data *vd(const struct dbk_dev *dev)
{
	return dev->backend_data;
}

static int xioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

/* The devbroker interrupt index as VFIO's; -EINVAL for others. */
static int vfio_irq_index(uint32_t index)
{
	switch (index) {
	case DBK_IRQ_INDEX_INTX: return VFIO_PCI_INTX_IRQ_INDEX;
	case DBK_IRQ_INDEX_MSI: return VFIO_PCI_MSI_IRQ_INDEX;
	case DBK_IRQ_INDEX_MSIX: return VFIO_PCI_MSIX_IRQ_INDEX;
	default: return -EINVAL;
	}
}

static struct vfio_region *region_of(struct dbk_dev *dev, uint32_t index)
{
	if (index < DBK_NUM_BARS)
		return &vd(dev)->bars[index];
	if (index == DBK_REGION_CONFIG)
		return &vd(dev)->config;
	return NULL;
}

/* ---- the backend's operations ---- */

static int vfio_rw(struct dbk_dev *dev, uint32_t index, uint64_t off, void *buf,
		   unsigned int width, bool write)
{
	struct vfio_region *r = region_of(dev, index);
	ssize_t n;

	if (!r || r->size < width || off > r->size - width)
		return -EINVAL;
	do {
		if (write)
			n = pwrite(dev->fd, buf, width, (off_t)(r->offset + off));
		else
			n = pread(dev->fd, buf, width, (off_t)(r->offset + off));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return dbk__fail(dev, errno);
	return (size_t)n == width ? 0 : -EIO;
}

/* Copy the answer @src (@size bytes) to the caller's @info, within its argsz. */
static void answer(void *info, const void *src, size_t size)
{
	uint32_t argsz = *(uint32_t *)info;
	size_t n = argsz < size ? argsz : size;

	memcpy((char *)info + sizeof(argsz), (const char *)src + sizeof(argsz),
	       n - sizeof(argsz));
}

static int vfio_info(struct dbk_dev *dev, unsigned long req, void *info)
{
	struct vfio_data *v = vd(dev);

	if (req == DBK_DEVICE_GET_INFO) {
		answer(info, &dev->devinfo, sizeof(dev->devinfo));
		return 0;
	}
	if (req == DBK_GRANT_GET_INFO) {
		struct dbk_grant_info gi = dev->grantinfo;

		gi.dma_used = v->dma_used;
		answer(info, &gi, sizeof(gi));
		return 0;
	}
	if (req == DBK_GRANT_GET_REGION_INFO) {
		struct dbk_region_info ri, *in = info;
		struct vfio_region *vr = region_of(dev, in->index);
		const struct dbk_region *r;
		uint32_t i;

		if (!vr)
			return -EINVAL;
		r = in->index < DBK_NUM_BARS ? &dev->bars[in->index] : &dev->config;
		memset(&ri, 0, sizeof(ri));
		ri.index = in->index;
		ri.areas_max = in->areas_max;
		ri.areas = in->areas;
		ri.size = r->size;
		ri.flags = r->flags;
		ri.offset = vr->offset;
		ri.nr_areas = in->index < DBK_NUM_BARS ? r->nr_maps : 0;
		if (ri.nr_areas)
			ri.flags |= DBK_REGION_INFO_F_MMAP;
		for (i = 0; i < ri.nr_areas && i < ri.areas_max; i++) {
			struct dbk_area a = { r->maps[i].offset, r->maps[i].size };

			memcpy((struct dbk_area *)(uintptr_t)ri.areas + i, &a, sizeof(a));
		}
		answer(info, &ri, sizeof(ri));
		return 0;
	}
	if (req == DBK_GRANT_GET_IRQ_INFO) {
		struct dbk_irq_info ii, *in = info;

		if (in->index >= DBK_IRQ_INDEX_COUNT)
			return -EINVAL;
		memset(&ii, 0, sizeof(ii));
		ii.index = in->index;
		ii.count = v->irq_count[in->index];
		ii.enabled = v->irq_enabled[in->index];
		if (ii.enabled)
			ii.flags |= DBK_IRQ_INFO_F_ENABLED;
		answer(info, &ii, sizeof(ii));
		return 0;
	}
	return -ENOTTY;
}

static int vfio_set_irqs(struct dbk_dev *dev, uint32_t flags, uint32_t index,
			 uint32_t count, const int *fds)
{
	struct vfio_data *v = vd(dev);
	struct vfio_irq_set *set;
	int vindex = vfio_irq_index(index);
	size_t sz;
	int r;

	if (vindex < 0)
		return vindex;
	if (flags == DBK_IRQ_SET_TRIGGER && count > v->irq_count[index])
		return v->irq_count[index] ? -ENOSPC : -EPERM;
	sz = sizeof(*set) + (flags == DBK_IRQ_SET_TRIGGER ? count * sizeof(int32_t) : 0);
	set = calloc(1, sz);
	if (!set)
		return -ENOMEM;
	set->argsz = (uint32_t)sz;
	set->index = (uint32_t)vindex;
	set->start = 0;
	if (flags == DBK_IRQ_SET_TRIGGER) {
		set->count = count;
		if (count) {
			set->flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
			for (uint32_t i = 0; i < count; i++) {
				int32_t fd = fds[i];

				memcpy(set->data + i * sizeof(fd), &fd, sizeof(fd));
			}
		} else {
			set->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
		}
	} else if (flags == DBK_IRQ_SET_UNMASK && index == DBK_IRQ_INDEX_INTX) {
		set->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
		set->count = 1;
	} else {
		free(set);
		return -EINVAL;
	}
	r = xioctl(dev->fd, VFIO_DEVICE_SET_IRQS, set);
	free(set);
	if (r < 0)
		return dbk__fail(dev, -r);
	if (flags == DBK_IRQ_SET_TRIGGER)
		v->irq_enabled[index] = count;
	return 0;
}

static bool overlaps(uint64_t a, uint64_t asz, uint64_t b, uint64_t bsz)
{
	return a < b + bsz && b < a + asz;
}

/*
 * First fit of @size bytes from VFIO_IOVA_BASE, inside one of the IOMMU's
 * ranges, around our buffers and the caller's mappings (as devbroker.ko
 * does around its buffers and reserved regions).  0 if there is no room.
 */
static uint64_t find_iova(struct dbk_dev *dev, uint64_t size)
{
	struct vfio_data *v = vd(dev);
	uint32_t i;

	for (i = 0; i < v->nr_ranges; i++) {
		uint64_t lo = v->ranges[i].start, hi = v->ranges[i].end;	/* inclusive */
		uint64_t iova = lo > VFIO_IOVA_BASE ? lo : VFIO_IOVA_BASE;
		uint64_t mask = dev->page_size - 1;
		bool moved;

		iova = (iova + mask) & ~mask;
		do {
			const struct dbk_dma_buf *b;
			size_t k;

			moved = false;
			if (iova + size < iova || iova + size - 1 > hi)
				break;
			for (b = dev->bufs; b; b = b->next)
				if (overlaps(iova, size, b->iova, b->size)) {
					iova = b->iova + b->size;
					moved = true;
				}
			for (k = 0; k < v->nr_usermaps; k++)
				if (overlaps(iova, size, v->usermaps[k].iova, v->usermaps[k].size)) {
					iova = v->usermaps[k].iova + v->usermaps[k].size;
					moved = true;
				}
			if (!moved)
				return iova;
		} while (moved);
	}
	return 0;
}

static int map_dma(struct dbk_dev *dev, void *vaddr, uint64_t iova, uint64_t size,
		   uint32_t flags)
{
	struct vfio_iommu_type1_dma_map m;
	int r;

	memset(&m, 0, sizeof(m));
	m.argsz = sizeof(m);
	m.flags = flags;
	m.vaddr = (uintptr_t)vaddr;
	m.iova = iova;
	m.size = size;
	r = xioctl(vd(dev)->container, VFIO_IOMMU_MAP_DMA, &m);
	if (r < 0)
		return dbk__fail(dev, -r);
	vd(dev)->dma_used += size;
	return 0;
}

/* 0, -ENOENT (nothing mapped there) or -errno. */
static int unmap_dma(struct dbk_dev *dev, uint64_t iova, uint64_t size)
{
	struct vfio_iommu_type1_dma_unmap um;
	int r;

	memset(&um, 0, sizeof(um));
	um.argsz = sizeof(um);
	um.iova = iova;
	um.size = size;
	r = xioctl(vd(dev)->container, VFIO_IOMMU_UNMAP_DMA, &um);
	if (r < 0)
		return dbk__fail(dev, -r);
	if (um.size == 0)
		return -ENOENT;
	vd(dev)->dma_used -= um.size < vd(dev)->dma_used ? um.size : vd(dev)->dma_used;
	return 0;
}

static int vfio_dma_alloc(struct dbk_dev *dev, struct dbk_dma_buf *buf)
{
	uint64_t iova;
	void *p;
	int r;

	iova = find_iova(dev, buf->size);
	if (!iova)
		return -ENOSPC;
	/* Shared, as a grant's buffer is: a fork() does not copy it. */
	p = mmap(NULL, buf->size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	r = map_dma(dev, p, iova, buf->size,
		    VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE);
	if (r < 0) {
		munmap(p, buf->size);
		return r == -ENOMEM ? -EDQUOT : r;	/* type1: over RLIMIT_MEMLOCK */
	}
	buf->vaddr = p;
	buf->iova = iova;
	buf->offset = 0;
	return 0;
}

static int vfio_dma_free(struct dbk_dev *dev, struct dbk_dma_buf *buf)
{
	int r = dbk__revoked(dev) ? -ENODEV : unmap_dma(dev, buf->iova, buf->size);

	munmap(buf->vaddr, buf->size);
	return r;
}

static int vfio_dma_map(struct dbk_dev *dev, void *vaddr, uint64_t iova,
			uint64_t size, uint32_t flags)
{
	struct vfio_data *v = vd(dev);
	struct vfio_usermap *um;
	uint32_t vflags = 0;
	int r;

	if (flags & DBK_DMA_MAP_F_READ)
		vflags |= VFIO_DMA_MAP_FLAG_READ;
	if (flags & DBK_DMA_MAP_F_WRITE)
		vflags |= VFIO_DMA_MAP_FLAG_WRITE;
	if (!vflags)
		return -EINVAL;
	um = realloc(v->usermaps, (v->nr_usermaps + 1) * sizeof(*um));
	if (!um)
		return -ENOMEM;
	v->usermaps = um;
	r = map_dma(dev, vaddr, iova, size, vflags);
	if (r < 0)
		return r == -ENOMEM ? -EDQUOT : r;
	um[v->nr_usermaps].iova = iova;
	um[v->nr_usermaps].size = size;
	v->nr_usermaps++;
	return 0;
}

static int vfio_dma_unmap(struct dbk_dev *dev, uint64_t iova, uint64_t size)
{
	struct vfio_data *v = vd(dev);
	size_t k;
	int r;

	/* Exactly a mapping dbk_dma_map_mem() made, as on a grant. */
	for (k = 0; k < v->nr_usermaps; k++)
		if (v->usermaps[k].iova == iova && v->usermaps[k].size == size)
			break;
	if (k == v->nr_usermaps)
		return -ENOENT;
	r = unmap_dma(dev, iova, size);
	if (r < 0 && r != -ENOENT)
		return r;
	v->usermaps[k] = v->usermaps[--v->nr_usermaps];
	return r;
}

static void vfio_release(struct dbk_dev *dev)
{
	struct vfio_data *v = vd(dev);

	if (!v)
		return;
	/* Closing the container tears down what is still mapped. */
	if (v->group >= 0)
		close(v->group);
	if (v->container >= 0)
		close(v->container);
	free(v->usermaps);
	free(v);
	dev->backend_data = NULL;
}

static const struct dbk_backend vfio_backend = {
	.name = "vfio",
	.rw = vfio_rw,
	.info = vfio_info,
	.set_irqs = vfio_set_irqs,
	.dma_alloc = vfio_dma_alloc,
	.dma_free = vfio_dma_free,
	.dma_map = vfio_dma_map,
	.dma_unmap = vfio_dma_unmap,
	.release = vfio_release,
};

/* ---- opening ---- */

/* Hex digits only (no sign, space or 0x, which scanf would take), at most @max. */
static const char *hex_field(const char *s, unsigned int max_digits, unsigned int *val)
{
	unsigned int v = 0, n = 0;

	for (; n < max_digits; n++, s++) {
		int d;

		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			break;
		v = v * 16 + (unsigned int)d;
	}
	if (n == 0)
		return NULL;
	*val = v;
	return s;
}

/* "DDDD:BB:DD.F" or "BB:DD.F" (hex), put in the kernel's spelling. */
static int parse_bdf(const char *s, char *out, uint32_t *domain, uint8_t *bus,
		     uint8_t *devfn)
{
	unsigned int f[4], n = 0;
	const char *p = s;

	/* Up to three ':'-separated fields, then '.' and the function. */
	for (;;) {
		p = hex_field(p, 4, &f[n]);
		if (!p || n == 3)
			return -EINVAL;
		n++;
		if (*p == ':') {
			p++;
			continue;
		}
		if (*p != '.')
			return -EINVAL;
		p = hex_field(p + 1, 1, &f[n]);
		if (!p || *p)
			return -EINVAL;
		break;
	}
	if (n == 2) {		/* BB:DD */
		f[3] = f[2];
		f[2] = f[1];
		f[1] = f[0];
		f[0] = 0;
	} else if (n != 3) {
		return -EINVAL;
	}
	if (f[1] > 0xff || f[2] > 0x1f || f[3] > 7)
		return -EINVAL;
	snprintf(out, VFIO_BDF_MAX, "%04x:%02x:%02x.%x", f[0], f[1], f[2], f[3]);
	*domain = f[0];
	*bus = (uint8_t)f[1];
	*devfn = (uint8_t)(f[2] << 3 | f[3]);
	return 0;
}

/* The IOMMU group number of @bdf: -ENODEV (no such device), -EOPNOTSUPP (no group). */
static int iommu_group_of(const char *bdf, int *group)
{
	char path[128], link[PATH_MAX];
	const char *base;
	struct stat st;
	ssize_t n;
	char *end;
	long g;

	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s", bdf);
	if (stat(path, &st) < 0)
		return -ENODEV;
	snprintf(path, sizeof(path), "/sys/bus/pci/devices/%s/iommu_group", bdf);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0)
		return errno == ENOENT ? -EOPNOTSUPP : -errno;
	link[n] = '\0';
	base = strrchr(link, '/');
	base = base ? base + 1 : link;
	errno = 0;
	g = strtol(base, &end, 10);
	if (errno || *end || end == base || g < 0 || g > INT_MAX)
		return -EINVAL;
	*group = (int)g;
	return 0;
}

/* VFIO_DEVICE_GET_REGION_INFO with its capabilities (malloc()ed into *infop). */
static int region_info(int fd, uint32_t index, struct vfio_region_info **infop)
{
	struct vfio_region_info *ri;
	uint32_t argsz = sizeof(*ri);
	int r;

	for (;;) {
		ri = calloc(1, argsz);
		if (!ri)
			return -ENOMEM;
		ri->argsz = argsz;
		ri->index = index;
		r = xioctl(fd, VFIO_DEVICE_GET_REGION_INFO, ri);
		if (r < 0) {
			free(ri);
			return r;
		}
		if (ri->argsz <= argsz || ri->argsz > 65536)
			break;
		argsz = ri->argsz;	/* room for the capabilities */
		free(ri);
	}
	*infop = ri;
	return 0;
}

/* The sparse-mmap capability of @ri, or NULL. */
static const struct vfio_region_info_cap_sparse_mmap *sparse_cap(const struct vfio_region_info *ri)
{
	uint32_t off;
	int hops = 0;

	if (!(ri->flags & VFIO_REGION_INFO_FLAG_CAPS) || ri->argsz <= sizeof(*ri))
		return NULL;
	for (off = ri->cap_offset; off && off + sizeof(struct vfio_info_cap_header) <= ri->argsz &&
	     hops < 64; hops++) {
		const struct vfio_info_cap_header *h = (const void *)((const char *)ri + off);

		if (h->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP &&
		    off + sizeof(struct vfio_region_info_cap_sparse_mmap) <= ri->argsz) {
			const struct vfio_region_info_cap_sparse_mmap *sp = (const void *)h;

			if (off + sizeof(*sp) + (uint64_t)sp->nr_areas * sizeof(sp->areas[0]) <= ri->argsz)
				return sp;
			return NULL;
		}
		if (h->next <= off)
			break;
		off = h->next;
	}
	return NULL;
}

/* mmap() one page-aligned area of BAR @bar; failures leave it mediated. */
static void map_area(struct dbk_dev *dev, unsigned int bar, uint64_t off, uint64_t size)
{
	struct vfio_region *vr = &vd(dev)->bars[bar];
	uint64_t mask = dev->page_size - 1;
	int prot = 0;
	void *p;

	if (size == 0 || (off & mask) || (size & mask) || off > vr->size ||
	    size > vr->size - off || size > SIZE_MAX)
		return;
	if (vr->flags & VFIO_REGION_INFO_FLAG_READ)
		prot |= PROT_READ;
	if (vr->flags & VFIO_REGION_INFO_FLAG_WRITE)
		prot |= PROT_WRITE;
	p = mmap(NULL, (size_t)size, prot, MAP_SHARED, dev->fd, (off_t)(vr->offset + off));
	if (p == MAP_FAILED)
		return;
	if (dbk__dev_add_map(dev, bar, off, size, p, true) < 0)
		munmap(p, (size_t)size);
}

static int cfg_read(struct dbk_dev *dev, uint32_t off, unsigned int width, uint32_t *val)
{
	unsigned char b[4] = { 0 };
	int r = vfio_rw(dev, DBK_REGION_CONFIG, off, b, width, false);

	*val = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return r;
}

/* Describe the device and map its BARs; dev->fd is VFIO's device fd. */
static int vfio_adopt(struct dbk_dev *dev, uint32_t domain, uint8_t bus, uint8_t devfn)
{
	struct vfio_data *v = vd(dev);
	struct vfio_device_info di = { .argsz = sizeof(di) };
	struct dbk_device_info *info = &dev->devinfo;
	struct dbk_grant_info *gi = &dev->grantinfo;
	struct rlimit rl;
	uint32_t i, val;
	int r;

	r = xioctl(dev->fd, VFIO_DEVICE_GET_INFO, &di);
	if (r < 0)
		return r;
	if (!(di.flags & VFIO_DEVICE_FLAGS_PCI) || di.num_regions <= VFIO_PCI_CONFIG_REGION_INDEX)
		return -ENODEV;

	/* Config space first: the BARs' kinds are read from it. */
	{
		struct vfio_region_info *ri;

		r = region_info(dev->fd, VFIO_PCI_CONFIG_REGION_INDEX, &ri);
		if (r < 0)
			return r;
		v->config.offset = ri->offset;
		v->config.size = ri->size > 4096 ? 4096 : ri->size;
		v->config.flags = ri->flags;
		free(ri);
		if (v->config.size < 64)
			return -ENODEV;
		dev->config.size = v->config.size;
		dev->config.flags = DBK_REGION_INFO_F_READ | DBK_REGION_INFO_F_WRITE;
	}

	for (i = VFIO_PCI_BAR0_REGION_INDEX; i <= VFIO_PCI_BAR5_REGION_INDEX; i++) {
		const struct vfio_region_info_cap_sparse_mmap *sp;
		struct vfio_region_info *ri;
		uint32_t flags = 0, bar = i - VFIO_PCI_BAR0_REGION_INDEX;

		if (bar >= DBK_NUM_BARS)
			break;
		r = region_info(dev->fd, i, &ri);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			continue;
		if (ri->size == 0 || ri->size >= (1ULL << DBK_REGION_SHIFT)) {
			free(ri);
			continue;
		}
		v->bars[bar].offset = ri->offset;
		v->bars[bar].size = ri->size;
		v->bars[bar].flags = ri->flags;
		if (ri->flags & VFIO_REGION_INFO_FLAG_READ)
			flags |= DBK_REGION_INFO_F_READ;
		if (ri->flags & VFIO_REGION_INFO_FLAG_WRITE)
			flags |= DBK_REGION_INFO_F_WRITE;
		if (cfg_read(dev, 0x10 + 4 * bar, 4, &val) == 0 && (val & 1))
			flags |= DBK_REGION_INFO_F_IO;
		dev->bars[bar].size = ri->size;
		dev->bars[bar].flags = flags;
		gi->bar_mask |= 1U << bar;
		if ((ri->flags & VFIO_REGION_INFO_FLAG_MMAP) && !(flags & DBK_REGION_INFO_F_IO)) {
			sp = sparse_cap(ri);
			if (sp) {
				uint32_t k;

				for (k = 0; k < sp->nr_areas; k++)
					map_area(dev, bar, sp->areas[k].offset, sp->areas[k].size);
			} else {
				map_area(dev, bar, 0, ri->size);
			}
			if (dev->bars[bar].nr_maps)
				gi->mmap_mask |= 1U << bar;
		}
		free(ri);
	}

	for (i = 0; i < DBK_IRQ_INDEX_COUNT; i++) {
		struct vfio_irq_info ii = { .argsz = sizeof(ii) };

		ii.index = (uint32_t)vfio_irq_index(i);
		if (ii.index >= di.num_irqs || xioctl(dev->fd, VFIO_DEVICE_GET_IRQ_INFO, &ii) < 0)
			continue;
		if (!(ii.flags & VFIO_IRQ_INFO_EVENTFD))
			continue;
		v->irq_count[i] = ii.count;
		if (ii.count)
			gi->flags |= i == DBK_IRQ_INDEX_INTX ? DBK_GRANT_F_INTX :
				     i == DBK_IRQ_INDEX_MSI ? DBK_GRANT_F_MSI : DBK_GRANT_F_MSIX;
		if (ii.count > gi->max_vectors)
			gi->max_vectors = ii.count;
	}

	/* What devbroker would report, as far as VFIO knows it. */
	info->argsz = sizeof(*info);
	info->flags = DBK_DEVICE_INFO_F_IOMMU | DBK_DEVICE_INFO_F_GRANTED | DBK_DEVICE_INFO_F_GRANT;
	if (di.flags & VFIO_DEVICE_FLAGS_RESET)
		info->flags |= DBK_DEVICE_INFO_F_RESET;
	r = cfg_read(dev, 0x00, 4, &val);
	if (r < 0)
		return r;
	info->vendor = (uint16_t)val;
	info->device = (uint16_t)(val >> 16);
	if (cfg_read(dev, 0x08, 4, &val) == 0)
		info->class_code = val >> 8;
	if (cfg_read(dev, 0x2c, 4, &val) == 0) {
		info->subsystem_vendor = (uint16_t)val;
		info->subsystem_device = (uint16_t)(val >> 16);
	}
	info->num_regions = DBK_REGION_CONFIG + 1;
	info->num_irqs = DBK_IRQ_INDEX_COUNT;
	info->api_version = 0;		/* not devbroker's */
	info->domain = domain;
	info->bus = bus;
	info->devfn = devfn;

	gi->argsz = sizeof(*gi);
	/* vfio-pci virtualizes config writes; type1 translates DMA. */
	gi->flags |= DBK_GRANT_F_CONFIG_WRITE | DBK_GRANT_F_DMA | DBK_GRANT_INFO_F_IOMMU;
	gi->dma_quota = getrlimit(RLIMIT_MEMLOCK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY ?
			(uint64_t)rl.rlim_cur : UINT64_MAX;
	return 0;
}

/* The IOVA ranges type1 can map (VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE). */
static int iova_ranges(struct vfio_data *v)
{
	struct vfio_iommu_type1_info *info;
	uint32_t argsz = sizeof(*info), off;
	int r, hops = 0;

	for (;;) {
		info = calloc(1, argsz);
		if (!info)
			return -ENOMEM;
		info->argsz = argsz;
		r = xioctl(v->container, VFIO_IOMMU_GET_INFO, info);
		if (r < 0) {
			free(info);
			return r;
		}
		if (info->argsz <= argsz || info->argsz > 65536)
			break;
		argsz = info->argsz;
		free(info);
	}
	v->nr_ranges = 0;
	if ((info->flags & VFIO_IOMMU_INFO_CAPS) && argsz > sizeof(*info)) {
		for (off = info->cap_offset;
		     off && off + sizeof(struct vfio_info_cap_header) <= argsz && hops < 64; hops++) {
			const struct vfio_info_cap_header *h = (const void *)((const char *)info + off);

			if (h->id == VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE &&
			    off + sizeof(struct vfio_iommu_type1_info_cap_iova_range) <= argsz) {
				const struct vfio_iommu_type1_info_cap_iova_range *c = (const void *)h;
				uint32_t k;

				for (k = 0; k < c->nr_iovas && v->nr_ranges < VFIO_MAX_RANGES &&
				     off + sizeof(*c) + (k + 1) * sizeof(c->iova_ranges[0]) <= argsz; k++)
					v->ranges[v->nr_ranges++] = c->iova_ranges[k];
				break;
			}
			if (h->next <= off)
				break;
			off = h->next;
		}
	}
	if (v->nr_ranges == 0) {
		/* No capability: the 32-bit space but the x86 MSI window. */
		v->ranges[0].start = 0;
		v->ranges[0].end = 0xfedfffffULL;
		v->ranges[1].start = 0xfef00000ULL;
		v->ranges[1].end = 0xffffffffULL;
		v->nr_ranges = 2;
	}
	free(info);
	return 0;
}

/*
 * Attach @group_fd (the group of the device @name) to a new container with
 * type1 v2, open the device and describe it.  On failure the group is
 * detached again and left open.
 */
static int vfio_attach(int group_fd, const char *name, uint32_t domain, uint8_t bus,
		       uint8_t devfn, struct dbk_dev **devp)
{
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	struct dbk_dev *dev = NULL;
	struct vfio_data *v;
	bool attached = false;
	int fd, r;

	r = xioctl(group_fd, VFIO_GROUP_GET_STATUS, &gs);
	if (r < 0)
		return r == -ENOTTY ? -EINVAL : r;	/* not a VFIO group fd */
	if (!(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return -EBUSY;	/* another device of the group has a host driver */
	if (gs.flags & VFIO_GROUP_FLAGS_CONTAINER_SET)
		return -EBUSY;	/* someone else's container */
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->group = group_fd;
	snprintf(v->bdf, sizeof(v->bdf), "%s", name);
	v->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (v->container < 0) {
		r = -errno;
		goto fail;
	}
	r = xioctl(v->container, VFIO_GET_API_VERSION, NULL);
	if (r < 0)
		goto fail;
	if (r != VFIO_API_VERSION) {
		r = -EPROTO;
		goto fail;
	}
	r = xioctl(v->container, VFIO_CHECK_EXTENSION, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
	if (r <= 0) {
		r = r < 0 ? r : -EOPNOTSUPP;
		goto fail;
	}
	r = xioctl(group_fd, VFIO_GROUP_SET_CONTAINER, &v->container);
	if (r < 0)
		goto fail;
	attached = true;
	r = xioctl(v->container, VFIO_SET_IOMMU, (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU);
	if (r < 0)
		goto fail;
	r = iova_ranges(v);
	if (r < 0)
		goto fail;
	fd = xioctl(group_fd, VFIO_GROUP_GET_DEVICE_FD, (void *)name);
	if (fd < 0) {
		r = fd;		/* -ENODEV: not in this group */
		goto fail;
	}
	(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
	r = dbk__dev_new_raw(fd, &dev);
	if (r < 0) {
		close(fd);
		goto fail;
	}
	dev->backend = &vfio_backend;
	dev->backend_data = v;
	r = vfio_adopt(dev, domain, bus, devfn);
	if (r < 0) {
		dbk__dev_free_raw(dev);	/* the BAR mappings */
		close(fd);
		goto fail;
	}
	*devp = dev;
	return 0;
fail:
	if (attached)
		(void)xioctl(group_fd, VFIO_GROUP_UNSET_CONTAINER, NULL);
	if (v->container >= 0)
		close(v->container);
	free(v);
	return r;
}

DBK_EXPORT int dbk_dev_open_vfio(const char *bdf, struct dbk_dev **devp)
{
	char name[VFIO_BDF_MAX], path[64];
	uint32_t domain;
	uint8_t bus, devfn;
	int group, group_fd, r;

	if (!bdf || !devp)
		return -EINVAL;
	r = parse_bdf(bdf, name, &domain, &bus, &devfn);
	if (r < 0)
		return r;
	r = iommu_group_of(name, &group);
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/dev/vfio/%d", group);
	group_fd = open(path, O_RDWR | O_CLOEXEC);
	if (group_fd < 0)
		return errno == ENOENT ? -ENODEV : -errno;	/* no node: not bound to vfio-pci */
	r = vfio_attach(group_fd, name, domain, bus, devfn, devp);
	if (r < 0)
		close(group_fd);
	return r;
}

DBK_EXPORT int dbk_dev_adopt_vfio(int group_fd, const char *bdf, struct dbk_dev **devp)
{
	char name[VFIO_BDF_MAX];
	uint32_t domain;
	uint8_t bus, devfn;
	int r;

	if (group_fd < 0 || !bdf || !devp)
		return -EINVAL;
	r = parse_bdf(bdf, name, &domain, &bus, &devfn);
	if (r < 0)
		return r;
	return vfio_attach(group_fd, name, domain, bus, devfn, devp);
}
