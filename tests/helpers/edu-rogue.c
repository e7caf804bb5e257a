/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * edu-rogue: a compromised edu driver, for the demo.  On a grant from
 * dbk-launch (fd 3), with one 4 KiB DMA buffer of its own, it tells the
 * device to write into memory it was not given and says, for each try, who
 * stopped it:
 *  - "refused": a register write failed (the DMA guard policy, without or
 *    with an IOMMU: the transfer never starts);
 *  - "started": the device ran the transfer; with an IOMMU the write was
 *    dropped (the kernel logs a DMAR fault), without one it landed.
 * A transfer into its own buffer, the control, must land.  Exits 0 when
 * the control landed and no stray transfer was left unconfined (refused,
 * or started under an IOMMU).  Device reference: QEMU's docs/specs/edu.rst.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <devbroker/device.h>

#include "edu-regs.h"

#define PAGE	4096
#define LEN	64

static struct dbk_dev *dev;

/* A guarded register is EBUSY while a transfer may run: retry, as drivers do. */
static int reg(uint64_t off, uint64_t v)
{
	struct timespec ms50 = { 0, 50000000 };
	int r, i;

	for (i = 0; i < 40; i++) {
		r = dbk_write64(dev, EDU_BAR, off, v);
		if (r != -EBUSY)
			return r;
		nanosleep(&ms50, NULL);
	}
	return r;
}

/* LEN bytes EDU -> RAM at @iova (or RAM -> EDU); 1 when completed, or -errno. */
static int xfer(bool to_ram, uint64_t iova, const char **where)
{
	static const char *const names[] = { "source", "destination", "count", "command" };
	const uint64_t offs[] = { EDU_DMA_SRC, EDU_DMA_DST, EDU_DMA_CNT, EDU_DMA_CMD };
	const uint64_t vals[] = { to_ram ? EDU_DMA_BASE : iova, to_ram ? iova : EDU_DMA_BASE, LEN,
				  EDU_DMA_START | EDU_DMA_IRQ | (to_ram ? EDU_DMA_TO_RAM : 0) };
	uint32_t st = 0;
	int r, i;

	for (i = 0; i < 4; i++) {
		r = reg(offs[i], vals[i]);
		if (r < 0) {
			*where = names[i];
			return r;
		}
	}
	do {
		r = dbk_irq_wait(dev, 0, 5000);	/* the events counted, or -errno */
		if (r >= 0)
			r = dbk_read32(dev, EDU_BAR, EDU_IRQ_STATUS, &st);
		if (r < 0) {
			*where = "completion";
			return r;
		}
		dbk_write32(dev, EDU_BAR, EDU_IRQ_ACK, st);
	} while (!(st & EDU_IRQ_DMA));
	/* The guard holds the registers until the driver hands them back. */
	reg(EDU_DMA_CMD, 0);
	return 1;
}

int main(void)
{
	struct dbk_grant_info gi = { .argsz = sizeof(gi) };
	struct dbk_dma_buf *buf;
	const char *where = "";
	unsigned char *p;
	uint64_t own, tries[2];
	const char *what[2];
	bool iommu, landed, ok = true;
	int r, i;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* each finding as it happens, through a pipe too */
	if ((r = dbk_dev_adopt(3, &dev)) < 0 || (r = dbk_dev_get_grant_info(dev, &gi)) < 0 ||
	    (r = dbk_dev_set_bus_master(dev, 1)) < 0 ||
	    (r = dbk_irq_enable(dev, DBK_IRQ_INDEX_MSI, 1)) < 0 ||
	    (r = dbk_dma_buf_alloc(dev, PAGE, &buf)) < 0) {
		printf("edu-rogue: setting up: %s\n", strerror(-r));
		return 1;
	}
	iommu = gi.flags & DBK_GRANT_INFO_F_IOMMU;
	own = dbk_dma_buf_get_iova(buf);
	p = dbk_dma_buf_get_vaddr(buf);
	printf("its DMA window: one page at 0x%" PRIx64 " (IOMMU: %s)\n", own, iommu ? "yes" : "no");
	/* The device buffer's first bytes: a pattern, for the control. */
	memset(p, 0x5a, LEN);
	if ((r = xfer(false, own, &where)) < 0) {
		printf("edu-rogue: RAM->EDU from its own buffer: %s at the %s register\n",
		       strerror(-r), where);
		return 1;
	}

	tries[0] = own + 16 * PAGE, what[0] = "past its window";
	tries[1] = 0x1000, what[1] = "low memory, the kernel's";
	for (i = 0; i < 2; i++) {
		r = xfer(true, tries[i], &where);
		if (r < 0)
			printf("EDU->RAM into 0x%" PRIx64 " (%s): refused at the %s register: %s\n",
			       tries[i], what[i], where, strerror(-r));
		else
			printf("EDU->RAM into 0x%" PRIx64 " (%s): started; %s\n", tries[i], what[i],
			       iommu ? "the IOMMU dropped it" : "NOTHING STOPPED IT");
		ok &= r < 0 || iommu;
	}
	memset(p, 0, LEN);
	r = xfer(true, own, &where);
	landed = r == 1 && p[0] == 0x5a && !memcmp(p, p + 1, LEN - 1);
	printf("EDU->RAM into its own buffer, the control: %s\n",
	       r < 0 ? strerror(-r) : landed ? "landed" : "did not land");
	ok &= landed;
	return ok ? 0 : 1;
}
