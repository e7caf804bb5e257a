/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libdev: DMA buffers (DBK_GRANT_DMA_ALLOC) and IOMMU mappings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "libdev-private.h"

static int dma_unmap(struct dbk_dev *dev, uint64_t iova, uint64_t size)
{
	struct dbk_dma_unmap um;

	if (dev->backend)
		return dbk__revoked(dev) ? -ENODEV : dev->backend->dma_unmap(dev, iova, size);
	memset(&um, 0, sizeof(um));
	um.iova = iova;
	um.size = size;
	return dbk__ioctl(dev, DBK_GRANT_DMA_UNMAP, &um);
}

DBK_EXPORT int dbk_dma_buf_alloc(struct dbk_dev *dev, size_t size,
				 struct dbk_dma_buf **bufp)
{
	struct dbk_dma_alloc req;
	struct dbk_dma_buf *buf;
	size_t rounded;
	void *p;
	int r;

	if (!dev || !bufp || size == 0 || size > SIZE_MAX - dev->page_size)
		return -EINVAL;
	/* Round here, so that the size we later unmap is the one allocated. */
	rounded = (size + dev->page_size - 1) & ~(dev->page_size - 1);
	buf = calloc(1, sizeof(*buf));
	if (!buf)
		return -ENOMEM;
	if (dev->backend) {
		buf->dev = dev;
		buf->size = rounded;
		r = dbk__revoked(dev) ? -ENODEV : dev->backend->dma_alloc(dev, buf);
		if (r < 0) {
			free(buf);
			return r;
		}
		p = buf->vaddr;
		goto done;
	}
	memset(&req, 0, sizeof(req));
	req.size = rounded;
	r = dbk__ioctl(dev, DBK_GRANT_DMA_ALLOC, &req);
	if (r < 0) {
		free(buf);
		return r;
	}
	p = mmap(NULL, rounded, PROT_READ | PROT_WRITE, MAP_SHARED, dev->fd,
		 (off_t)req.offset);
	if (p == MAP_FAILED) {
		r = dbk__fail(dev, errno);
		(void)dma_unmap(dev, req.iova, rounded);
		free(buf);
		return r;
	}
	buf->dev = dev;
	buf->vaddr = p;
	buf->iova = req.iova;
	buf->offset = req.offset;
	buf->size = rounded;
done:
	(void)dbk__sigbus_register(p, rounded, dev);
	buf->next = dev->bufs;
	dev->bufs = buf;
	*bufp = buf;
	return 0;
}

DBK_EXPORT int dbk_dma_buf_free(struct dbk_dma_buf *buf)
{
	struct dbk_dev *dev;
	struct dbk_dma_buf **pp;
	int r;

	if (!buf)
		return 0;
	dev = buf->dev;
	for (pp = &dev->bufs; *pp; pp = &(*pp)->next) {
		if (*pp == buf) {
			*pp = buf->next;
			break;
		}
	}
	dbk__sigbus_unregister(buf->vaddr);
	if (dev->backend) {
		r = dev->backend->dma_free(dev, buf);
		free(buf);
		return r < 0 ? r : 0;
	}
	munmap(buf->vaddr, buf->size);
	r = dma_unmap(dev, buf->iova, buf->size);
	free(buf);
	return r < 0 ? r : 0;
}

DBK_EXPORT void *dbk_dma_buf_get_vaddr(const struct dbk_dma_buf *buf)
{
	return buf ? buf->vaddr : NULL;
}

DBK_EXPORT uint64_t dbk_dma_buf_get_iova(const struct dbk_dma_buf *buf)
{
	return buf ? buf->iova : 0;
}

DBK_EXPORT size_t dbk_dma_buf_get_size(const struct dbk_dma_buf *buf)
{
	return buf ? buf->size : 0;
}

DBK_EXPORT int dbk_dma_map_mem(struct dbk_dev *dev, void *vaddr, uint64_t iova,
			       size_t size, uint32_t flags)
{
	struct dbk_dma_map map;
	uint64_t mask;
	int r;

	if (!dev || !vaddr || size == 0)
		return -EINVAL;
	mask = dev->page_size - 1;
	if (((uintptr_t)vaddr & mask) || (iova & mask) || (size & mask))
		return -EINVAL;
	if (iova + size < iova || (uintptr_t)vaddr + size < (uintptr_t)vaddr)
		return -EINVAL;
	if (flags & ~(uint32_t)(DBK_DMA_MAP_F_READ | DBK_DMA_MAP_F_WRITE))
		return -EINVAL;
	if (dev->backend) {
		if (dbk__revoked(dev))
			return -ENODEV;
		r = dev->backend->dma_map(dev, vaddr, iova, size, flags);
		return r < 0 ? r : 0;
	}
	memset(&map, 0, sizeof(map));
	map.flags = flags;
	map.vaddr = (uintptr_t)vaddr;
	map.iova = iova;
	map.size = size;
	r = dbk__ioctl(dev, DBK_GRANT_DMA_MAP, &map);
	return r < 0 ? r : 0;
}

DBK_EXPORT int dbk_dma_unmap_mem(struct dbk_dev *dev, uint64_t iova, size_t size)
{
	int r;

	if (!dev || size == 0)
		return -EINVAL;
	r = dma_unmap(dev, iova, size);
	return r < 0 ? r : 0;
}
