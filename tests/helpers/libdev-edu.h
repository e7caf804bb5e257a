/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the libdev test programs (libdev-granttest through a grant,
 * libdev-vfiotest through vfio-pci) check the same way on QEMU's edu
 * device, whichever backend opened it.  Header-only, after "tap.h".
 * Registers: drivers/edu/edu-regs.h (edu.txt).
 */
#ifndef DBK_TEST_LIBDEV_EDU_H
#define DBK_TEST_LIBDEV_EDU_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <devbroker/device.h>

#include "edu-regs.h"
#include "tap.h"

static inline const char *err(int r)
{
	return r < 0 ? strerror(-r) : "ok";
}

/*
 * One interrupt through the raise register (EDU_IRQ_RAISE, ORed into
 * EDU_IRQ_STATUS): it reaches the eventfd, and after the acknowledge (and
 * for INTx the unmask) no second one comes.
 */
static inline void edu_raise_and_wait(struct dbk_dev *dev, const char *what, bool intx)
{
	uint32_t st = 0;
	int r, got;

	r = dbk_write32(dev, EDU_BAR, EDU_IRQ_RAISE, 0x1000);
	got = dbk_irq_wait(dev, 0, 5000);
	if (r == 0)
		r = dbk_read32(dev, EDU_BAR, EDU_IRQ_STATUS, &st);
	check(r == 0 && got >= 1 && (st & 0x1000),
	      "%s: the raise register signals the eventfd (wait %d, status 0x%x)", what, got, st);
	dbk_write32(dev, EDU_BAR, EDU_IRQ_ACK, st);
	if (intx) {
		r = dbk_irq_unmask(dev);
		check(r == 0, "%s: unmask: %s", what, err(r));
	}
	got = dbk_irq_wait(dev, 0, 300);
	check(got == -ETIMEDOUT, "%s: no interrupt after the acknowledge (%d)", what, got);
}

/*
 * One edu DMA of @len bytes (at most EDU_DMA_USABLE) between IOVA @ram and
 * the device's buffer (EDU_DMA_BASE), waited for by its interrupt: 0, or
 * -EIO if the interrupt was not the DMA's, or a negative errno.
 */
static inline int edu_dma(struct dbk_dev *dev, uint64_t ram, uint64_t len, bool to_ram)
{
	uint32_t st = 0;
	int r, got;

	r = dbk_write64(dev, EDU_BAR, EDU_DMA_SRC, to_ram ? EDU_DMA_BASE : ram);
	if (!r)
		r = dbk_write64(dev, EDU_BAR, EDU_DMA_DST, to_ram ? ram : EDU_DMA_BASE);
	if (!r)
		r = dbk_write64(dev, EDU_BAR, EDU_DMA_CNT, len);
	if (!r)
		r = dbk_write64(dev, EDU_BAR, EDU_DMA_CMD,
				EDU_DMA_START | EDU_DMA_IRQ | (to_ram ? EDU_DMA_TO_RAM : 0));
	if (r)
		return r;
	got = dbk_irq_wait(dev, 0, 5000);
	if (got < 0)
		return got;
	r = dbk_read32(dev, EDU_BAR, EDU_IRQ_STATUS, &st);
	if (!r)
		r = dbk_write32(dev, EDU_BAR, EDU_IRQ_ACK, st);
	return r ? r : ((st & EDU_IRQ_DMA) ? 0 : -EIO);
}

#endif /* DBK_TEST_LIBDEV_EDU_H */
