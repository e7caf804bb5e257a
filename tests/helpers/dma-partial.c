/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * dma-partial: a DMA_MAP whose iommu_map() fails part way must leave
 * nothing of itself in the IOMMU (review of the map-by-runs change: it left
 * the PTEs written before the failure, so the device could reach pages the
 * module unpinned, or freed).  Run unprivileged by dbk-launch (grant at fd
 * 3) on an edu behind intel-iommu, with tests/kmod/dbk-failpt.ko failing
 * one IOMMU page-table allocation of ours between the files DIR/armed and
 * DIR/disarmed (tests/vm/kmod-dma-partial.sh).  TAP points.
 *
 *   dma-partial DIR
 *
 * Page A is mapped at X + 1 MiB - 4 KiB, so the leaf table of [X, X + 2M)
 * exists; B, 2 MiB physically contiguous (a transparent huge page), is
 * mapped at X + 1 MiB: one iommu_map() of 512 pages, which needs a new
 * table at X + 2 MiB, the allocation that fails, after 256 PTEs are written.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <devbroker/device.h>

#include "libdev-edu.h"
#include "tap.h"

#define PAGE	4096u
#define MIB	(1ul << 20)
#define X	(64 * MIB)	/* a 2 MiB-aligned IOVA, far from the buffers' */
#define RW	(DBK_DMA_MAP_F_READ | DBK_DMA_MAP_F_WRITE)

static struct dbk_dev *dev;
static struct dbk_dma_buf *fill, *canary;

/*
 * The first byte the device reads at @iova (0 where the IOMMU maps
 * nothing: QEMU's edu then gets zeroes), or -1.
 */
static int device_reads(uint64_t iova)
{
	uint8_t *c = dbk_dma_buf_get_vaddr(canary);

	memset(dbk_dma_buf_get_vaddr(fill), 'Z', PAGE);
	memset(c, '?', PAGE);
	if (edu_dma(dev, dbk_dma_buf_get_iova(fill), EDU_DMA_USABLE, false) ||
	    edu_dma(dev, iova, EDU_DMA_USABLE, false) ||
	    edu_dma(dev, dbk_dma_buf_get_iova(canary), EDU_DMA_USABLE, true))
		return -1;
	return c[0];
}

static void wait_file(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	while (access(path, F_OK))
		usleep(20000);
}

int main(int argc, char **argv)
{
	uint8_t *a, *raw, *b, *c;
	int r, got;

	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc != 2)
		return 2;
	r = dbk_dev_adopt(3, &dev);
	if (!r)
		r = dbk_dev_set_bus_master(dev, 1);
	if (!r)
		r = dbk_irq_enable(dev, DBK_IRQ_INDEX_MSI, 1);
	if (!r)
		r = dbk_dma_buf_alloc(dev, PAGE, &fill);
	if (!r)
		r = dbk_dma_buf_alloc(dev, PAGE, &canary);
	check(r == 0, "a grant with MSI and two DMA buffers: %s", err(r));
	if (r)
		return 1;
	a = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	raw = mmap(NULL, 8 * MIB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a == MAP_FAILED || raw == MAP_FAILED || c == MAP_FAILED)
		return 1;
	b = (uint8_t *)(((uintptr_t)raw + 2 * MIB - 1) & ~(2 * MIB - 1));
	madvise(b, 2 * MIB, MADV_HUGEPAGE);
	memset(a, 'A', PAGE);
	memset(b, 'B', 2 * MIB);
	memset(c, 'C', PAGE);
	r = dbk_dma_map_mem(dev, a, X + MIB - PAGE, PAGE, RW);
	check(r == 0, "page A mapped at X + 1 MiB - 4 KiB: %s", err(r));

	printf("# ready\n");
	wait_file(argv[1], "armed");
	r = dbk_dma_map_mem(dev, b, X + MIB, 2 * MIB, RW);
	printf("# disarm\n");
	wait_file(argv[1], "disarmed");
	check(r == -ENOMEM, "DMA_MAP of B (2 MiB at X + 1 MiB) fails with the page-table allocation: %s",
	      err(r));

	got = device_reads(X + MIB);
	check(got == 0, "the device reads nothing of B at X + 1 MiB (%d; B's byte is %d)", got, 'B');
	got = device_reads(X + MIB + 100 * PAGE);
	check(got == 0, "... nor at X + 1 MiB + 400 KiB (%d)", got);
	got = device_reads(X + MIB - PAGE);
	check(got == 'A', "page A, mapped before, still reads 'A' ('%c')", got);
	memset(dbk_dma_buf_get_vaddr(fill), 'W', PAGE);
	r = edu_dma(dev, dbk_dma_buf_get_iova(fill), EDU_DMA_USABLE, false);
	if (!r)
		r = edu_dma(dev, X + MIB + PAGE, EDU_DMA_USABLE, true);
	check(r == 0 && b[PAGE] == 'B', "a device write at X + 1 MiB + 4 KiB reaches none of B's pages ('%c')",
	      b[PAGE]);
	r = dbk_dma_map_mem(dev, c, X + MIB, PAGE, RW);
	got = r ? -1 : device_reads(X + MIB);
	check(r == 0 && got == 'C', "page C mapped at X + 1 MiB afterwards: the device reads 'C' ('%c', %s)",
	      got, err(r));
	if (!r)
		dbk_dma_unmap_mem(dev, X + MIB, PAGE);
	munmap(raw, 8 * MIB);
	got = device_reads(X + MIB + 2 * PAGE);
	check(got == 0, "after B's memory is gone the device reads nothing at X + 1 MiB + 8 KiB (%d)", got);
	dbk_dev_free(dev);
	return failures ? 1 : 0;
}
