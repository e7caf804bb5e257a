/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * nvme-fwtest: the register firewall policies/src/nvme_firewall.bpf.c seen
 * from a driver, run unprivileged on a grant of an NVMe controller from
 * dbk-launch (fd 3) with BAR0 mapped, as the nvme manifest grants it, and
 * the nvme driver's policy cookie (dbk-launch --driver-name nvme).  No DMA
 * right: the module keeps bus mastering off, so the controller enabled
 * here never reaches memory (no doorbell is rung either).  Prints TAP
 * points, exits 1 if any failed.  Leaves the controller disabled.
 *
 *  - The registers page (0x0-0xfff) is mediated, the doorbells (0x1000)
 *    mapped; the registers the driver reads answer.
 *  - What the driver never does is refused (EPERM): an NVM Subsystem
 *    Reset (NSSR), INTMS and INTMC writes, CMBSZ, an 8-byte CAP read, a
 *    read of AQA.
 *  - The states: ASQ before this grant's first CC write, the enable
 *    changing IOSQES, and, with the controller enabled (CSTS.RDY = 1),
 *    AQA and ASQ writes, a CC write changing IOCQES and an abrupt
 *    shutdown are refused; the driver's own sequence (disable, admin
 *    queue, configuration, enable, disable) is not.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <devbroker/device.h>

#include "tap.h"

#define CAP	0x00
#define VS	0x08
#define INTMS	0x0c
#define INTMC	0x10
#define CC	0x14
#define CSTS	0x1c
#define NSSR	0x20
#define AQA	0x24
#define ASQ	0x28
#define ACQ	0x30
#define CMBSZ	0x3c
#define CC_EN	1u
#define CFG	((6u << 16) | (4u << 20))	/* NVM, 4 KiB pages, round robin, IOSQES 6, IOCQES 4 */

static struct dbk_dev *dev;

static void expect(int want, int got, const char *what)
{
	check(got == want, "%s: %s (want %s)", what, got ? strerror(-got) : "allowed",
	      want ? strerror(-want) : "allowed");
}

/* Wait for CSTS.RDY == @rdy for at most @ms. */
static int wait_rdy(unsigned int rdy, unsigned int ms)
{
	uint32_t csts = 0;
	unsigned int i;

	for (i = 0; i <= ms; i++) {
		if (dbk_read32(dev, 0, CSTS, &csts) < 0 || csts == 0xffffffffu)
			return 0;
		if ((csts & 1u) == rdy)
			return 1;
		usleep(1000);
	}
	return 0;
}

int main(void)
{
	uint32_t lo, hi, vs, cc;
	uint64_t cap, v64;
	unsigned int to;
	int r;

	r = dbk_dev_adopt(3, &dev);
	if (r < 0) {
		printf("not ok - adopting the grant: %s\n", strerror(-r));
		return 1;
	}
	check(dbk_dev_access_is_mapped(dev, 0, 0x1000, 4) == 1, "the doorbells' page (0x1000) is mapped");
	check(dbk_dev_access_is_mapped(dev, 0, CC, 4) == 0 && dbk_dev_access_is_mapped(dev, 0, 0xffc, 4) == 0,
	      "the registers page (0x0-0xfff) is mediated");
	r = dbk_read32(dev, 0, CAP, &lo);
	if (r == 0)
		r = dbk_read32(dev, 0, CAP + 4, &hi);
	expect(0, r, "read CAP in two halves");
	cap = (uint64_t)hi << 32 | lo;
	to = ((cap >> 24) & 0xff) * 500u;
	to = to ? to : 500u;
	expect(0, dbk_read32(dev, 0, VS, &vs), "read VS");
	expect(0, dbk_read32(dev, 0, CC, &cc), "read CC");
	printf("# CAP 0x%016llx VS 0x%08x CC 0x%08x\n", (unsigned long long)cap, vs, cc);

	expect(-EPERM, dbk_write32(dev, 0, NSSR, 0x4E564D65), "write NSSR (\"NVMe\": an NVM Subsystem Reset)");
	expect(-EPERM, dbk_write32(dev, 0, INTMS, 1), "write INTMS (not under MSI-X, §3.1.3)");
	expect(-EPERM, dbk_write32(dev, 0, INTMC, 1), "write INTMC (§3.1.4)");
	expect(-EPERM, dbk_read32(dev, 0, CMBSZ, &lo), "read CMBSZ (the CMB)");
	expect(-EPERM, dbk_read64(dev, 0, CAP, &v64), "an 8-byte read of CAP (32-bit halves only)");
	expect(-EPERM, dbk_read32(dev, 0, AQA, &lo), "read AQA (never read back)");
	expect(-EPERM, dbk_write32(dev, 0, ASQ, 0x100000), "write ASQ before this grant's first CC write");

	/* The driver's bring-up: disable, the admin queue, the configuration, enable. */
	expect(0, dbk_write32(dev, 0, CC, cc & ~CC_EN), "write CC, EN = 0");
	check(wait_rdy(0, to), "CSTS.RDY = 0 within CAP.TO (%u ms)", to);
	expect(0, dbk_write32(dev, 0, AQA, 1u | 1u << 16), "disabled: write AQA");
	r = dbk_write32(dev, 0, ASQ, 0x100000);
	if (r == 0)
		r = dbk_write32(dev, 0, ASQ + 4, 0);
	if (r == 0)
		r = dbk_write32(dev, 0, ACQ, 0x101000);
	if (r == 0)
		r = dbk_write32(dev, 0, ACQ + 4, 0);
	expect(0, r, "disabled: write ASQ and ACQ (both halves)");
	expect(0, dbk_write32(dev, 0, CC, CFG), "disabled: write CC's configuration (EN = 0)");
	expect(-EPERM, dbk_write32(dev, 0, CC, (CFG & ~(0xfu << 16)) | (7u << 16) | CC_EN),
	       "an enable with another IOSQES than the disabled controller's");
	expect(0, dbk_write32(dev, 0, CC, CFG | CC_EN), "the enable (EN = 1, the same configuration)");
	check(wait_rdy(1, to), "CSTS.RDY = 1: the controller is enabled");
	expect(-EPERM, dbk_write32(dev, 0, ASQ, 0x200000), "enabled: write ASQ");
	expect(-EPERM, dbk_write32(dev, 0, AQA, 3u | 3u << 16), "enabled: write AQA");
	expect(-EPERM, dbk_write32(dev, 0, CC, (CFG & ~(0xfu << 20)) | (5u << 20) | CC_EN),
	       "enabled: a CC write changing IOCQES");
	expect(-EPERM, dbk_write32(dev, 0, CC, CFG | CC_EN | (2u << 14)), "enabled: an abrupt shutdown (SHN 10b)");
	expect(0, dbk_read32(dev, 0, CC, &cc), "read CC");
	check(cc == (CFG | CC_EN), "CC is still the enable's (0x%08x): the refused writes left no trace", cc);
	expect(0, dbk_write32(dev, 0, CC, CFG), "write CC, EN = 0 (a reset)");
	check(wait_rdy(0, to), "CSTS.RDY = 0 again");
	expect(0, dbk_write32(dev, 0, ASQ, 0), "disabled again: write ASQ");
	dbk_dev_free(dev);
	return failures ? 1 : 0;
}
