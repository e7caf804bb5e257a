/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * e1000e-fwtest: the register firewall policies/src/e1000e_firewall.bpf.c
 * seen from a driver, run unprivileged on a grant from dbk-launch (fd 3)
 * with BAR0 mapped, as the e1000e manifest grants it.  Prints TAP points,
 * exits 1 if any failed.
 *
 *  - The registers the driver uses answer; the two pages of queue 0's
 *    registers (0x2000-0x3fff) are mapped, the rest of BAR0 mediated (the
 *    policy's grant hook), so that no access there escapes the hook.
 *  - Registers the driver does not use are refused with EPERM: EEC (NVM
 *    bit-banging), CTRL_EXT, MDIC (the PHY), WUC (wake-up), a write to
 *    RAL0 (the MAC is read only), a read of a statistics counter (but
 *    MPC's, which the driver reports) and a write of MPC.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <devbroker/device.h>

#include "tap.h"

static struct dbk_dev *dev;

static void expect(int want, int got, const char *what)
{
	check(got == want, "%s: %s (want %s)", what, got ? strerror(-got) : "allowed",
	      want ? strerror(-want) : "allowed");
}

int main(void)
{
	uint32_t v;
	int r;

	r = dbk_dev_adopt(3, &dev);
	if (r < 0) {
		printf("not ok - adopting the grant: %s\n", strerror(-r));
		return 1;
	}
	check(dbk_dev_access_is_mapped(dev, 0, 0x3818, 4) == 1, "TDT's page (0x3000) is mapped");
	check(dbk_dev_access_is_mapped(dev, 0, 0x2818, 4) == 1, "RDT's page (0x2000) is mapped");
	check(dbk_dev_access_is_mapped(dev, 0, 0x0000, 4) == 0, "CTRL's page (0x0000) is mediated");
	check(dbk_dev_access_is_mapped(dev, 0, 0x5400, 4) == 0, "RAL0's page (0x5000) is mediated");
	expect(0, dbk_read32(dev, 0, 0x00008, &v), "read STATUS");
	expect(0, dbk_read32(dev, 0, 0x05404, &v), "read RAH0");
	expect(0, dbk_write32(dev, 0, 0x000D8, 0xffffffff), "write IMC");
	expect(0, dbk_write32(dev, 0, 0x05200, 0), "write MTA[0]");
	expect(0, dbk_write32(dev, 0, 0x000E8, 195), "write EITR0 (interrupt moderation)");
	expect(-EPERM, dbk_write32(dev, 0, 0x000FC, 0), "write past EITR4");
	expect(-EPERM, dbk_write32(dev, 0, 0x00010, 0), "write EEC (NVM bit-banging)");
	expect(-EPERM, dbk_write32(dev, 0, 0x00018, 0), "write CTRL_EXT");
	expect(-EPERM, dbk_write32(dev, 0, 0x00020, 0x08000000), "write MDIC (a PHY read)");
	expect(-EPERM, dbk_write32(dev, 0, 0x05800, 0), "write WUC (wake-up)");
	expect(-EPERM, dbk_write32(dev, 0, 0x05400, 0x12345678), "write RAL0 (read only)");
	expect(0, dbk_read32(dev, 0, 0x04010, &v), "read MPC (missed packets, the one statistic allowed)");
	expect(-EPERM, dbk_write32(dev, 0, 0x04010, 0), "write MPC (read only)");
	expect(-EPERM, dbk_read32(dev, 0, 0x04074, &v), "read GPRC (statistics)");
	expect(0, dbk_write32(dev, 0, 0x05000, 0x300), "write RXCSUM (receive checksum offload)");
	expect(-EPERM, dbk_read32(dev, 0, 0x05000, &v), "read RXCSUM (write only)");
	expect(-EPERM, dbk_write16(dev, 0, 0x00000, 0), "a 2-byte write of CTRL (32-bit only)");
	dbk_dev_free(dev);
	return failures ? 1 : 0;
}
