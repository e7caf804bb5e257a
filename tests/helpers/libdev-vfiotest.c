/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libdev-vfiotest: libdev's VFIO backend (dbk_dev_open_vfio()) on QEMU's
 * edu device bound to vfio-pci, run unprivileged (the group node chowned
 * to the user).  Prints TAP points, exits 1 if any failed.
 *
 *   libdev-vfiotest BDF
 *
 * Opening errors; the information calls answered from VFIO; registers
 * (mapped) and the BAR and config regions at the offsets reported
 * (pread() of the VFIO device fd); MSI and INTx through the raise
 * register; DMA buffers (IOVAs first fit from 1 MiB) and dbk_dma_map_mem()
 * of the caller's memory, each checked with a transfer by the device.
 *
 * Registers: /usr/share/doc/qemu-system-data/specs/edu.txt.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <devbroker/device.h>

#include "libdev-edu.h"
#include "tap.h"

static struct dbk_dev *dev;

/* @src's bytes go to the device and come back into @dst: byte-exact? */
static bool round_trip(uint64_t src, uint64_t dst, const void *in, void *out, size_t len)
{
	if (edu_dma(dev, src, len, false) < 0 || edu_dma(dev, dst, len, true) < 0)
		return false;
	return memcmp(in, out, len) == 0;
}

int main(int argc, char **argv)
{
	struct dbk_device_info di = { .argsz = sizeof(di) };
	struct dbk_grant_info gi = { .argsz = sizeof(gi) };
	struct dbk_region_info ri = { .argsz = sizeof(ri) };
	struct dbk_irq_info ii = { .argsz = sizeof(ii) };
	struct dbk_dma_buf *a = NULL, *b = NULL, *c = NULL;
	struct dbk_dev *other = NULL;
	struct dbk_area areas[4];
	uint64_t size = 0, v64 = 0, iova_a = 0, iova_b = 0;
	uint32_t v = 0, raw = 0;
	uint16_t vendor = 0;
	const char *bdf;
	unsigned char *mine;
	ssize_t n;
	int r, i;

	if (argc != 2) {
		fprintf(stderr, "usage: libdev-vfiotest BDF\n");
		return 2;
	}
	bdf = argv[1];

	check(dbk_dev_open_vfio(NULL, &dev) == -EINVAL, "NULL address: -EINVAL");
	check(dbk_dev_open_vfio(bdf, NULL) == -EINVAL, "NULL devp: -EINVAL");
	check(dbk_dev_open_vfio("00:zz.0", &dev) == -EINVAL, "malformed address: -EINVAL");
	check(dbk_dev_open_vfio("0000:00:1f.9", &dev) == -EINVAL, "function 9: -EINVAL");
	r = dbk_dev_open_vfio("0000:00:1e.7", &dev);
	check(r == -ENODEV, "no such device: -ENODEV (%s)", err(r));

	r = dbk_dev_open_vfio(bdf, &dev);
	check(r == 0, "dbk_dev_open_vfio(%s): %s", bdf, err(r));
	if (r < 0)
		return 1;
	r = dbk_dev_open_vfio(bdf, &other);
	check(r == -EBUSY, "a second open of the same group: -EBUSY (%s)", err(r));

	r = dbk_dev_get_device_info(dev, &di);
	check(r == 0 && di.vendor == 0x1234 && di.device == 0x11e8 &&
	      (di.flags & DBK_DEVICE_INFO_F_IOMMU) && di.class_code == 0x00ff00 &&
	      di.num_regions == DBK_REGION_CONFIG + 1,
	      "device info: %04x:%04x class %06x flags 0x%x at %04x:%02x:%02x.%u (%s)",
	      di.vendor, di.device, di.class_code, di.flags, di.domain, di.bus,
	      di.devfn >> 3, di.devfn & 7, err(r));
	{
		char want[32];

		snprintf(want, sizeof(want), "%04x:%02x:%02x.%x", di.domain, di.bus,
			 di.devfn >> 3, di.devfn & 7);
		check(strcmp(want, bdf) == 0, "its address is %s (%s)", want, bdf);
	}
	{
		size_t minsz = offsetof(struct dbk_device_info, reserved) + sizeof(di.reserved);
		union {
			struct dbk_device_info di;
			unsigned char raw[sizeof(struct dbk_device_info) + 16];
		} u;
		bool ok = true;
		size_t k;

		memset(&u, 0xa5, sizeof(u));
		u.di.argsz = minsz;
		ok = dbk_dev_get_device_info(dev, &u.di) == 0 && u.di.vendor == 0x1234;
		for (k = minsz; k < sizeof(u.raw); k++)
			ok = ok && u.raw[k] == 0xa5;
		check(ok, "a shorter caller's device info is filled within its argsz only");
	}
	r = dbk_dev_get_grant_info(dev, &gi);
	check(r == 0 && gi.bar_mask == 1 && gi.mmap_mask == 1 &&
	      (gi.flags & DBK_GRANT_F_MSI) && (gi.flags & DBK_GRANT_F_INTX) &&
	      !(gi.flags & DBK_GRANT_F_MSIX) && (gi.flags & DBK_GRANT_F_DMA) &&
	      (gi.flags & DBK_GRANT_INFO_F_IOMMU) && gi.dma_used == 0,
	      "grant info: bars 0x%x mmap 0x%x flags 0x%x quota %" PRIu64 " (%s)",
	      gi.bar_mask, gi.mmap_mask, gi.flags, (uint64_t)gi.dma_quota, err(r));
	r = dbk_dev_get_region_info(dev, 0, &ri, areas, 4);
	check(r == 0 && ri.size == 1 << 20 && (ri.flags & DBK_REGION_INFO_F_MMAP) &&
	      ri.nr_areas == 1 && areas[0].offset == 0 && areas[0].size == 1 << 20,
	      "BAR0 region: size 0x%" PRIx64 " flags 0x%x offset 0x%" PRIx64 " %u area(s) (%s)",
	      (uint64_t)ri.size, ri.flags, (uint64_t)ri.offset, ri.nr_areas, err(r));
	r = dbk_dev_get_bar_size(dev, 0, &size);
	check(r == 0 && size == 1 << 20, "BAR0 is 1 MiB");
	check(dbk_dev_access_is_mapped(dev, 0, 0x08, 4) == 1, "BAR0 registers are mmap()ed");
	/* The reported offset is VFIO's: a pread() of the device fd there. */
	n = pread(dbk_dev_get_fd(dev), &raw, 4, (off_t)ri.offset);
	check(n == 4 && (raw & 0xffff) == 0x00ed, "pread() at BAR0's offset: id 0x%08x", raw);
	{
		struct dbk_region_info cri = { .argsz = sizeof(cri) };

		r = dbk_dev_get_region_info(dev, DBK_REGION_CONFIG, &cri, NULL, 0);
		n = r == 0 ? pread(dbk_dev_get_fd(dev), &raw, 4, (off_t)cri.offset) : -1;
		check(r == 0 && cri.size >= 256 && n == 4 && raw == 0x11e81234,
		      "config region: size %" PRIu64 ", pread() at its offset 0x%08x", (uint64_t)cri.size, raw);
	}
	r = dbk_dev_get_irq_info(dev, DBK_IRQ_INDEX_MSI, &ii);
	check(r == 0 && ii.count == 1, "irq info: %u MSI vector(s) (%s)", ii.count, err(r));

	r = dbk_read32(dev, EDU_BAR, EDU_ID, &v);
	check(r == 0 && (v & 0xffff) == 0x00ed, "identification 0x%08x (%s)", v, err(r));
	r = dbk_write32(dev, EDU_BAR, EDU_LIVENESS, 0xdeadbeef);
	if (!r)
		r = dbk_read32(dev, EDU_BAR, EDU_LIVENESS, &v);
	check(r == 0 && v == ~0xdeadbeefu, "liveness register inverts (0x%08x)", v);
	r = dbk_write64(dev, EDU_BAR, EDU_DMA_SRC, 0x0123456789abcdefULL);
	if (!r)
		r = dbk_read64(dev, EDU_BAR, EDU_DMA_SRC, &v64);
	check(r == 0 && v64 == 0x0123456789abcdefULL, "64-bit register round trip");
	check(dbk_read32(dev, 0, 1 << 20, &v) == -EINVAL, "read32 past BAR0: -EINVAL");
	check(dbk_read32(dev, 1, 0, &v) == -EINVAL, "read32 of absent BAR1: -EINVAL");
	r = dbk_cfg_read16(dev, 0, &vendor);
	check(r == 0 && vendor == 0x1234, "config read: vendor %04x", vendor);
	check(dbk_cfg_read32(dev, 4096, &v) == -EINVAL, "config read past 4 KiB: -EINVAL");
	r = dbk_dev_set_bus_master(dev, 1);
	{
		uint16_t cmd = 0;

		if (!r)
			r = dbk_cfg_read16(dev, 4, &cmd);
		check(r == 0 && (cmd & 4), "bus master on through the config region (0x%04x)", cmd);
	}

	r = dbk_irq_enable(dev, DBK_IRQ_INDEX_MSIX, 1);
	check(r < 0, "MSI-X, which edu lacks, is refused (%s)", err(r));
	r = dbk_irq_enable(dev, DBK_IRQ_INDEX_MSI, 1);
	check(r == 0, "enable MSI: %s", err(r));
	r = dbk_dev_get_irq_info(dev, DBK_IRQ_INDEX_MSI, &ii);
	check(r == 0 && ii.enabled == 1 && (ii.flags & DBK_IRQ_INFO_F_ENABLED),
	      "irq info says MSI is enabled");
	edu_raise_and_wait(dev, "MSI", false);
	edu_raise_and_wait(dev, "MSI", false);

	/* DMA buffers: IOVAs first fit from 1 MiB, as devbroker.ko picks. */
	r = dbk_dma_buf_alloc(dev, 4096, &a);
	if (!r)
		r = dbk_dma_buf_alloc(dev, 3 * 4096, &b);
	check(r == 0, "two DMA buffers: %s", err(r));
	if (r)
		goto out;
	iova_a = dbk_dma_buf_get_iova(a);
	iova_b = dbk_dma_buf_get_iova(b);
	check(iova_a == 1 << 20 && iova_b == (1 << 20) + 4096 && dbk_dma_buf_get_size(b) == 3 * 4096,
	      "IOVAs 0x%" PRIx64 " and 0x%" PRIx64, iova_a, iova_b);
	r = dbk_dev_get_grant_info(dev, &gi);
	check(r == 0 && gi.dma_used == 4 * 4096, "dma_used %" PRIu64, (uint64_t)gi.dma_used);
	for (i = 0; i < 4096; i++)
		((unsigned char *)dbk_dma_buf_get_vaddr(a))[i] = (unsigned char)(i * 7 + 3);
	check(round_trip(iova_a, iova_b + 8192, dbk_dma_buf_get_vaddr(a),
			 (char *)dbk_dma_buf_get_vaddr(b) + 8192, 4000),
	      "device DMA from one buffer to the other, byte-exact");
	r = dbk_dma_buf_free(a);
	a = NULL;
	check(r == 0, "free the first: %s", err(r));
	r = dbk_dma_buf_alloc(dev, 4096, &c);
	check(r == 0 && dbk_dma_buf_get_iova(c) == 1 << 20,
	      "a new buffer reuses the lowest free IOVA (0x%" PRIx64 ")", dbk_dma_buf_get_iova(c));

	/* The caller's own memory at its IOVA. */
	mine = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	check(mine != MAP_FAILED, "8 KiB of our own memory");
	if (mine == MAP_FAILED)
		goto out;
	for (i = 0; i < 4096; i++)
		mine[i] = (unsigned char)(i * 13 + 1);
	r = dbk_dma_map_mem(dev, mine, 0x4000000, 8192, DBK_DMA_MAP_F_READ | DBK_DMA_MAP_F_WRITE);
	check(r == 0, "dbk_dma_map_mem at IOVA 0x4000000: %s", err(r));
	r = dbk_dma_map_mem(dev, mine, iova_b, 4096, DBK_DMA_MAP_F_READ);
	check(r == -EEXIST, "mapping over a buffer's IOVA: -EEXIST (%s)", err(r));
	check(round_trip(0x4000000, 0x4000000 + 4096, mine, mine + 4096, 4000),
	      "device DMA within our own mapped memory, byte-exact");
	r = dbk_dma_unmap_mem(dev, 0x4000000, 4096);
	check(r == -ENOENT, "unmapping half of it: -ENOENT (%s)", err(r));
	r = dbk_dma_unmap_mem(dev, 0x4000000, 8192);
	check(r == 0, "dbk_dma_unmap_mem: %s", err(r));
	r = dbk_dma_unmap_mem(dev, 0x4000000, 8192);
	check(r == -ENOENT, "again: -ENOENT (%s)", err(r));
	munmap(mine, 8192);

	/* INTx, masked each time it fires until unmasked. */
	r = dbk_irq_enable(dev, DBK_IRQ_INDEX_INTX, 1);
	check(r == 0, "enable INTx (MSI disabled first): %s", err(r));
	r = dbk_dev_get_irq_info(dev, DBK_IRQ_INDEX_MSI, &ii);
	check(r == 0 && ii.enabled == 0, "MSI is no longer enabled");
	if (r == 0) {
		edu_raise_and_wait(dev, "INTx", true);
		edu_raise_and_wait(dev, "INTx", true);
	}
	r = dbk_irq_disable(dev);
	check(r == 0 && dbk_irq_get_fd(dev, 0) == -EINVAL, "disable: %s", err(r));
out:
	dbk_dma_buf_free(b);
	dbk_dma_buf_free(c);
	dbk_dev_free(dev);
	/* Everything was released: the group opens again. */
	r = dbk_dev_open_vfio(bdf, &dev);
	check(r == 0, "after dbk_dev_free() the device opens again: %s", err(r));
	if (r == 0)
		dbk_dev_free(dev);
	printf("# %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
