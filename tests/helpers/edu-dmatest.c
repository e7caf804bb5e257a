/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * edu-dmatest: DMA isolation checks with QEMU's edu device, through libdev,
 * run unprivileged on a grant from dbk-launch (fd 3).  Prints TAP points
 * ("ok - ..." / "not ok - ...") and exits 1 if any failed.
 *
 * Always:
 *  - a positive control: RAM -> EDU -> RAM through two DMA buffers is
 *    byte-exact.
 * With an IOMMU (the grant reports DBK_GRANT_INFO_F_IOMMU):
 *  - EDU -> RAM aimed at IOVAs the driver does not have mapped (a freed
 *    buffer's IOVA, and one far from every buffer) changes no buffer, and
 *    the interrupt still arrives (the device "completed": the IOMMU
 *    dropped the writes; the guest kernel logs a DMAR fault);
 *  - dbk_dma_map_mem(): the driver's own page mapped at a chosen IOVA
 *    receives a DMA; after dbk_dma_unmap_mem() it receives no more;
 *  - dbk_dma_map_mem() of MULTI pages at once: the device reads each page
 *    at its own IOVA (the module maps physically contiguous runs in one
 *    iommu_map(): a run's pages must not shift).
 *
 * Device reference: /usr/share/doc/qemu-system-data/specs/edu.txt.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <devbroker/device.h>

#include "tap.h"

#include "edu-regs.h"

#define PAGE		4096
/* QEMU 7.2's edu aborts on a transfer that includes its buffer's last
 * byte (see drivers/edu/edu.c, EDU_DMA_USABLE): move 4095 bytes. */
#define XFER		4095
#define MULTI		8	/* pages: within the grant's 64 KiB quota */

static struct dbk_dev *dev;

static void die(const char *what, int r)
{
	printf("not ok - %s: %s\n", what, strerror(-r));
	printf("# edu-dmatest: giving up\n");
	exit(1);
}

/* One transfer, then wait for the DMA interrupt (0x100) and acknowledge. */
static int dma(bool to_ram, uint64_t ram, uint64_t len)
{
	uint32_t st = 0;
	int r;

	r = dbk_write64(dev, 0, EDU_DMA_SRC, to_ram ? EDU_DMA_BASE : ram);
	if (!r) r = dbk_write64(dev, 0, EDU_DMA_DST, to_ram ? ram : EDU_DMA_BASE);
	if (!r) r = dbk_write64(dev, 0, EDU_DMA_CNT, len);
	if (!r) r = dbk_write64(dev, 0, EDU_DMA_CMD, 0x01 | 0x04 | (to_ram ? 0x02 : 0));
	if (r < 0)
		return r;
	for (;;) {
		r = dbk_irq_wait(dev, 0, 10000);
		if (r < 0)
			return r;
		r = dbk_read32(dev, 0, EDU_IRQ_STATUS, &st);
		if (r < 0)
			return r;
		if (st)
			dbk_write32(dev, 0, EDU_IRQ_ACK, st);
		if (st & EDU_IRQ_DMA)
			return 0;
	}
}

static bool all_bytes(const void *p, int c, size_t n)
{
	const unsigned char *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != (unsigned char)c)
			return false;
	return true;
}

int main(int argc, char **argv)
{
	struct dbk_dma_buf *src, *canary, *freed;
	struct dbk_grant_info gi = { .argsz = sizeof(gi) };
	unsigned char pattern[PAGE];
	uint64_t hole, freed_iova;
	bool iommu;
	size_t i;
	int r;

	(void)argc;
	(void)argv;
	r = dbk_catch_revocation();
	if (r < 0)
		die("dbk_catch_revocation", r);
	r = dbk_dev_adopt(3, &dev);
	if (r < 0)
		die("dbk_dev_adopt(3)", r);
	r = dbk_dev_get_grant_info(dev, &gi);
	if (r < 0)
		die("grant info", r);
	iommu = gi.flags & DBK_GRANT_INFO_F_IOMMU;
	printf("# grant flags 0x%x, dma quota %" PRIu64 ", IOMMU %s\n", gi.flags,
	       (uint64_t)gi.dma_quota, iommu ? "yes" : "no");
	r = dbk_dev_set_bus_master(dev, 1);
	if (r < 0)
		die("bus master", r);
	r = dbk_irq_enable(dev, DBK_IRQ_INDEX_MSI, 1);
	if (r < 0)
		die("enable MSI", r);

	r = dbk_dma_buf_alloc(dev, PAGE, &src);
	if (r < 0)
		die("alloc src", r);
	r = dbk_dma_buf_alloc(dev, PAGE, &canary);
	if (r < 0)
		die("alloc canary", r);
	r = dbk_dma_buf_alloc(dev, PAGE, &freed);
	if (r < 0)
		die("alloc third buffer", r);
	printf("# buffers at IOVA 0x%" PRIx64 ", 0x%" PRIx64 ", 0x%" PRIx64 "\n",
	       dbk_dma_buf_get_iova(src), dbk_dma_buf_get_iova(canary),
	       dbk_dma_buf_get_iova(freed));
	check(dbk_dma_buf_get_iova(src) + PAGE <= (1u << 28) &&
	      dbk_dma_buf_get_iova(canary) + PAGE <= (1u << 28),
	      "DMA buffers lie below 2^28 (dma_bits=28)");

	for (i = 0; i < PAGE; i++)
		pattern[i] = (unsigned char)(i * 7 + 3);
	memcpy(dbk_dma_buf_get_vaddr(src), pattern, PAGE);
	memset(dbk_dma_buf_get_vaddr(canary), 0xa5, PAGE);

	/* Positive control: RAM -> EDU, EDU -> RAM into the canary. */
	r = dma(false, dbk_dma_buf_get_iova(src), XFER);
	check(r == 0, "DMA RAM->EDU completes (%s)", r ? strerror(-r) : "interrupt 0x100");
	if (!iommu) {
		r = dma(true, dbk_dma_buf_get_iova(canary), XFER);
		check(r == 0 && !memcmp(dbk_dma_buf_get_vaddr(canary), pattern, XFER),
		      "DMA EDU->RAM into a mapped buffer is byte-exact");
		goto out;
	}

	/* An IOVA we had and gave back. */
	freed_iova = dbk_dma_buf_get_iova(freed);
	r = dbk_dma_buf_free(freed);
	check(r == 0, "dbk_dma_buf_free: %s", r ? strerror(-r) : "ok");
	r = dma(true, freed_iova, XFER);
	check(r == 0, "DMA EDU->RAM to the freed IOVA 0x%" PRIx64 " still completes",
	      freed_iova);
	check(all_bytes(dbk_dma_buf_get_vaddr(canary), 0xa5, PAGE) &&
	      !memcmp(dbk_dma_buf_get_vaddr(src), pattern, PAGE),
	      "no buffer changed after DMA to the freed IOVA");

	/* An IOVA never mapped: below 2^28 and far from every buffer. */
	hole = 0x0ff00000;
	if ((dbk_dma_buf_get_iova(src) >> 20) == (hole >> 20) ||
	    (dbk_dma_buf_get_iova(canary) >> 20) == (hole >> 20))
		hole = 0x07f00000;
	r = dma(true, hole, XFER);
	check(r == 0, "DMA EDU->RAM to the unmapped IOVA 0x%" PRIx64 " completes", hole);
	check(all_bytes(dbk_dma_buf_get_vaddr(canary), 0xa5, PAGE),
	      "the canary buffer is unchanged after DMA to an unmapped IOVA");

	/* Now the same DMA into the canary's IOVA must land. */
	r = dma(true, dbk_dma_buf_get_iova(canary), XFER);
	check(r == 0 && !memcmp(dbk_dma_buf_get_vaddr(canary), pattern, XFER),
	      "positive control: DMA EDU->RAM into the canary's own IOVA lands");

	/* The driver's own memory at a chosen IOVA. */
	{
		unsigned char *own = mmap(NULL, PAGE, PROT_READ | PROT_WRITE,
					  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint64_t iova = 0x0e000000;

		if (own == MAP_FAILED)
			die("mmap", -errno);
		memset(own, 0x5a, PAGE);
		r = dbk_dma_map_mem(dev, own, iova, PAGE,
				    DBK_DMA_MAP_F_READ | DBK_DMA_MAP_F_WRITE);
		check(r == 0, "dbk_dma_map_mem at IOVA 0x%" PRIx64 ": %s", iova,
		      r ? strerror(-r) : "ok");
		if (r == 0) {
			r = dma(true, iova, XFER);
			check(r == 0 && !memcmp(own, pattern, XFER),
			      "DMA EDU->RAM into the driver's own mapped page lands");
			r = dbk_dma_map_mem(dev, own, iova, PAGE, DBK_DMA_MAP_F_WRITE);
			check(r == -EEXIST, "mapping the same IOVA again gives -EEXIST (%s)",
			      strerror(-r));
			r = dbk_dma_unmap_mem(dev, iova, PAGE);
			check(r == 0, "dbk_dma_unmap_mem: %s", r ? strerror(-r) : "ok");
			r = dbk_dma_unmap_mem(dev, iova, PAGE);
			check(r == -ENOENT, "unmapping it again gives -ENOENT (%s)",
			      strerror(-r));
			memset(own, 0x5a, PAGE);
			r = dma(true, iova, XFER);
			check(r == 0 && all_bytes(own, 0x5a, PAGE),
			      "after unmapping, DMA to that IOVA no longer reaches the page");
		}
		r = dbk_dma_map_mem(dev, own + 1, iova, PAGE, DBK_DMA_MAP_F_WRITE);
		check(r == -EINVAL, "an unaligned vaddr gives -EINVAL");
		munmap(own, PAGE);
	}

	/* Several pages in one mapping: each page where its IOVA says. */
	{
		unsigned char *many = mmap(NULL, MULTI * PAGE, PROT_READ | PROT_WRITE,
					   MAP_SHARED | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		uint64_t iova = 0x0e000000;
		int p, bad = 0;

		if (many == MAP_FAILED)
			die("mmap", -errno);
		for (p = 0; p < MULTI; p++)
			memset(many + p * PAGE, 0x10 + p, PAGE);
		r = dbk_dma_map_mem(dev, many, iova, MULTI * PAGE, DBK_DMA_MAP_F_READ);
		check(r == 0, "dbk_dma_map_mem of %d pages at IOVA 0x%" PRIx64 ": %s", MULTI, iova,
		      r ? strerror(-r) : "ok");
		for (p = 0; r == 0 && p < MULTI; p++) {
			memset(dbk_dma_buf_get_vaddr(canary), 0xa5, PAGE);
			if (dma(false, iova + (uint64_t)p * PAGE, XFER) < 0 ||
			    dma(true, dbk_dma_buf_get_iova(canary), XFER) < 0 ||
			    !all_bytes(dbk_dma_buf_get_vaddr(canary), 0x10 + p, XFER))
				bad++;
		}
		if (r == 0) {
			check(bad == 0, "the device read each of the %d pages at its own IOVA "
			      "(%d wrong)", MULTI, bad);
			r = dbk_dma_unmap_mem(dev, iova, MULTI * PAGE);
			check(r == 0, "dbk_dma_unmap_mem of the %d pages: %s", MULTI,
			      r ? strerror(-r) : "ok");
		}
		munmap(many, MULTI * PAGE);
	}
out:
	dbk_dma_buf_free(src);
	dbk_dma_buf_free(canary);
	dbk_dev_free(dev);
	printf("# %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
