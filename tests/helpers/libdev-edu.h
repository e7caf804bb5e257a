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

#endif /* DBK_TEST_LIBDEV_EDU_H */
