/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdev: register and config-space accessors.
 *
 * An access goes through a mapping when the whole access lies inside one
 * mmap()ed area, else it is one pread()/pwrite() of exactly its width at
 * DBK_REGION_OFFSET(region) + offset: the kernel then carries out (and may
 * check) a single access of that width.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "libdev-private.h"

int dbk__check_range(uint64_t size, uint64_t off, unsigned int width)
{
	if (width != 1 && width != 2 && width != 4 && width != 8)
		return -EINVAL;
	if (off & (width - 1))
		return -EINVAL;
	/* off + width <= size, without overflow */
	if (size < width || off > size - width)
		return -EINVAL;
	return 0;
}

int dbk__file_offset(uint32_t index, uint64_t off, uint64_t *foff)
{
	if (index >= (1U << (63 - DBK_REGION_SHIFT)) ||
	    off >= (1ULL << DBK_REGION_SHIFT))
		return -EINVAL;
	*foff = DBK_REGION_OFFSET(index) + off;
	return 0;
}

const struct dbk_map *dbk__find_map(const struct dbk_region *r, uint64_t off,
				    unsigned int width)
{
	uint32_t i;

	for (i = 0; i < r->nr_maps; i++) {
		const struct dbk_map *m = &r->maps[i];

		if (off >= m->offset && off - m->offset < m->size &&
		    m->size - (off - m->offset) >= width)
			return m;
	}
	return NULL;
}

static uint64_t le_to_cpu(const void *buf, unsigned int width)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (width) {
	case 1:
		return *(const uint8_t *)buf;
	case 2:
		memcpy(&v16, buf, 2);
		return le16toh(v16);
	case 4:
		memcpy(&v32, buf, 4);
		return le32toh(v32);
	default:
		memcpy(&v64, buf, 8);
		return le64toh(v64);
	}
}

static void cpu_to_le(void *buf, uint64_t val, unsigned int width)
{
	uint16_t v16;
	uint32_t v32;
	uint64_t v64;

	switch (width) {
	case 1:
		*(uint8_t *)buf = (uint8_t)val;
		break;
	case 2:
		v16 = htole16((uint16_t)val);
		memcpy(buf, &v16, 2);
		break;
	case 4:
		v32 = htole32((uint32_t)val);
		memcpy(buf, &v32, 4);
		break;
	default:
		v64 = htole64(val);
		memcpy(buf, &v64, 8);
		break;
	}
}

/* One mediated access of @width bytes. */
static int mediated(struct dbk_dev *dev, uint32_t index, uint64_t off,
		    unsigned int width, uint64_t *val, bool write)
{
	unsigned char buf[8];
	uint64_t foff;
	ssize_t n;

	if (write)
		cpu_to_le(buf, *val, width);
	if (dev->backend) {
		int r = dev->backend->rw(dev, index, off, buf, width, write);

		if (r < 0)
			return r;
		if (!write)
			*val = le_to_cpu(buf, width);
		return 0;
	}
	if (dbk__file_offset(index, off, &foff) < 0)
		return -EINVAL;
	do {
		if (write)
			n = dev->sys->pwrite(dev->fd, buf, width, (off_t)foff);
		else
			n = dev->sys->pread(dev->fd, buf, width, (off_t)foff);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return dbk__fail(dev, errno);
	if ((size_t)n != width)
		return -EIO;
	if (!write)
		*val = le_to_cpu(buf, width);
	return 0;
}

/* MMIO through the mapping: a single access of exactly @width bytes. */
static void mapped(const struct dbk_map *m, uint64_t off, unsigned int width,
		   uint64_t *val, bool write)
{
	volatile void *p = m->addr + (off - m->offset);

	if (write) {
		switch (width) {
		case 1: *(volatile uint8_t *)p = (uint8_t)*val; break;
		case 2: *(volatile uint16_t *)p = htole16((uint16_t)*val); break;
		case 4: *(volatile uint32_t *)p = htole32((uint32_t)*val); break;
		default: *(volatile uint64_t *)p = htole64(*val); break;
		}
	} else {
		switch (width) {
		case 1: *val = *(volatile uint8_t *)p; break;
		case 2: *val = le16toh(*(volatile uint16_t *)p); break;
		case 4: *val = le32toh(*(volatile uint32_t *)p); break;
		default: *val = le64toh(*(volatile uint64_t *)p); break;
		}
	}
}

static int access_bar(struct dbk_dev *dev, unsigned int bar, uint64_t off,
		      unsigned int width, uint64_t *val, bool write)
{
	const struct dbk_region *r;
	const struct dbk_map *m;
	int ret;

	if (!dev || !val || bar >= DBK_NUM_BARS)
		return -EINVAL;
	r = &dev->bars[bar];
	ret = dbk__check_range(r->size, off, width);
	if (ret < 0)
		return ret;
	if (!(r->flags & (write ? DBK_REGION_INFO_F_WRITE : DBK_REGION_INFO_F_READ)))
		return -EACCES;
	if (dbk__revoked(dev))
		return -ENODEV;
	m = dbk__find_map(r, off, width);
	if (!m)
		return mediated(dev, bar, off, width, val, write);
	mapped(m, off, width, val, write);
	/* The SIGBUS handler may have caught a revoked page under us. */
	if (dbk__revoked(dev))
		return -ENODEV;
	return 0;
}

DBK_EXPORT int dbk_dev_access_is_mapped(const struct dbk_dev *dev,
					unsigned int bar, uint64_t offset,
					unsigned int width)
{
	const struct dbk_region *r;

	if (!dev || bar >= DBK_NUM_BARS)
		return -EINVAL;
	r = &dev->bars[bar];
	if (dbk__check_range(r->size, offset, width) < 0 ||
	    !(r->flags & (DBK_REGION_INFO_F_READ | DBK_REGION_INFO_F_WRITE)))
		return -EINVAL;
	return dbk__find_map(r, offset, width) != NULL;
}

DBK_EXPORT int dbk_reg_read(struct dbk_dev *dev, unsigned int bar,
			    uint64_t offset, unsigned int width, uint64_t *val)
{
	uint64_t v = 0;
	int r;

	if (!val)
		return -EINVAL;
	r = access_bar(dev, bar, offset, width, &v, false);
	if (r == 0)
		*val = v;
	return r;
}

DBK_EXPORT int dbk_reg_write(struct dbk_dev *dev, unsigned int bar,
			     uint64_t offset, unsigned int width, uint64_t val)
{
	return access_bar(dev, bar, offset, width, &val, true);
}

#define READER(bits)							\
DBK_EXPORT int dbk_read##bits(struct dbk_dev *dev, unsigned int bar,	\
			      uint64_t offset, uint##bits##_t *val)	\
{									\
	uint64_t v = 0;							\
	int r;								\
									\
	if (!val)							\
		return -EINVAL;						\
	r = access_bar(dev, bar, offset, (bits) / 8, &v, false);	\
	if (r == 0)							\
		*val = (uint##bits##_t)v;				\
	return r;							\
}
#define WRITER(bits)							\
DBK_EXPORT int dbk_write##bits(struct dbk_dev *dev, unsigned int bar,	\
			       uint64_t offset, uint##bits##_t val)	\
{									\
	uint64_t v = val;						\
									\
	return access_bar(dev, bar, offset, (bits) / 8, &v, true);	\
}
READER(8) READER(16) READER(32) READER(64)
WRITER(8) WRITER(16) WRITER(32) WRITER(64)

static int access_cfg(struct dbk_dev *dev, uint32_t off, unsigned int width,
		      uint64_t *val, bool write)
{
	const struct dbk_region *r;
	int ret;

	if (!dev || !val)
		return -EINVAL;
	r = &dev->config;
	ret = dbk__check_range(r->size, off, width);
	if (ret < 0)
		return ret;
	if (!(r->flags & (write ? DBK_REGION_INFO_F_WRITE : DBK_REGION_INFO_F_READ)))
		return -EACCES;
	if (dbk__revoked(dev))
		return -ENODEV;
	return mediated(dev, DBK_REGION_CONFIG, off, width, val, write);
}

#define CFG_READER(bits)						\
DBK_EXPORT int dbk_cfg_read##bits(struct dbk_dev *dev, uint32_t offset,	\
				  uint##bits##_t *val)			\
{									\
	uint64_t v = 0;							\
	int r;								\
									\
	if (!val)							\
		return -EINVAL;						\
	r = access_cfg(dev, offset, (bits) / 8, &v, false);		\
	if (r == 0)							\
		*val = (uint##bits##_t)v;				\
	return r;							\
}
#define CFG_WRITER(bits)						\
DBK_EXPORT int dbk_cfg_write##bits(struct dbk_dev *dev, uint32_t offset,	\
				   uint##bits##_t val)			\
{									\
	uint64_t v = val;						\
									\
	return access_cfg(dev, offset, (bits) / 8, &v, true);		\
}
CFG_READER(8) CFG_READER(16) CFG_READER(32)
CFG_WRITER(8) CFG_WRITER(16) CFG_WRITER(32)

#define PCI_COMMAND		0x04
#define PCI_COMMAND_MASTER	0x4

DBK_EXPORT int dbk_dev_set_bus_master(struct dbk_dev *dev, int enable)
{
	uint16_t cmd;
	int r;

	r = dbk_cfg_read16(dev, PCI_COMMAND, &cmd);
	if (r < 0)
		return r;
	if (!!(cmd & PCI_COMMAND_MASTER) == !!enable)
		return 0;
	cmd = enable ? (cmd | PCI_COMMAND_MASTER) : (cmd & ~PCI_COMMAND_MASTER);
	return dbk_cfg_write16(dev, PCI_COMMAND, cmd);
}
