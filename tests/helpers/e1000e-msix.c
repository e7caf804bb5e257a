/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * e1000e-msix: MSI-X through libdev on QEMU's e1000e (82574L, 8086:10d3),
 * run unprivileged on a grant from dbk-launch (fd 3), or with --vfio BDF on
 * the device bound to vfio-pci (libdev's VFIO backend).  Prints TAP points
 * and exits 1 if any failed.
 *
 *   e1000e-msix [--vfio BDF] [VECTORS]
 *   e1000e-msix --storm EITR [VECTORS]
 *
 * --storm raises every cause over and over, each vector throttled by
 * EITR (units of 256 ns; QEMU raises it to at least 500), until the grant
 * is revoked under it (the next register access is then a SIGBUS).
 *  - The MSI-X table and PBA (found through the MSI-X capability) are not
 *    in any mmap()able area, libdev mediates accesses there, and a raw
 *    mmap() of their pages fails with EINVAL or EACCES (on a grant only:
 *    vfio-pci lets them be mapped when interrupts are remapped).
 *  - Each MSI-X vector fires its own eventfd when the device raises the
 *    interrupt cause mapped to it.  82574 datasheet / QEMU
 *    hw/net/e1000e_core.c: IVAR (0xE4) maps the five MSI-X causes RxQ0,
 *    RxQ1, TxQ0, TxQ1 and Other (ICR bits 20-24) to vectors (3-bit vector +
 *    valid bit per 4-bit field); IMS (0xD0) unmasks causes; writing a cause
 *    to ICS (0xC8) raises it; writing it to ICR (0xC0) clears it, which
 *    re-arms it (QEMU sends a cause again only after it was cleared).
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

#define E1000_ICR	0xC0
#define E1000_ICS	0xC8
#define E1000_IMS	0xD0
#define E1000_IMC	0xD8
#define E1000_EIAC	0xDC
#define E1000_IVAR	0xE4
#define E1000_EITR(i)	(0xE8 + 4 * (i))
#define E1000_NR_CAUSES	5	/* RxQ0, RxQ1, TxQ0, TxQ1, Other */
#define E1000_CAUSE(i)	(1u << (20 + (i)))
#define IVAR_VALID	0x8u

#define PCI_STATUS		0x06
#define PCI_STATUS_CAP_LIST	0x10
#define PCI_CAPABILITY_LIST	0x34
#define PCI_CAP_ID_MSIX		0x11

static struct dbk_dev *dev;

static void die(const char *what, int r)
{
	printf("not ok - %s: %s\n", what, strerror(-r));
	exit(1);
}

/* Find the MSI-X capability: table size, table and PBA BAR and offset. */
static int find_msix(unsigned int *nvec, unsigned int *tbar, uint32_t *toff,
		     unsigned int *pbar, uint32_t *poff)
{
	uint16_t status, ctl;
	uint8_t pos, id;
	uint32_t t, p;
	int guard = 48, r;

	r = dbk_cfg_read16(dev, PCI_STATUS, &status);
	if (r < 0)
		return r;
	if (!(status & PCI_STATUS_CAP_LIST))
		return -ENOENT;
	r = dbk_cfg_read8(dev, PCI_CAPABILITY_LIST, &pos);
	while (r == 0 && pos >= 0x40 && guard--) {
		pos &= ~3;
		r = dbk_cfg_read8(dev, pos, &id);
		if (r < 0)
			return r;
		if (id == PCI_CAP_ID_MSIX) {
			r = dbk_cfg_read16(dev, pos + 2, &ctl);
			if (!r) r = dbk_cfg_read32(dev, pos + 4, &t);
			if (!r) r = dbk_cfg_read32(dev, pos + 8, &p);
			if (r < 0)
				return r;
			*nvec = (ctl & 0x7ff) + 1;
			*tbar = t & 7;
			*toff = t & ~7u;
			*pbar = p & 7;
			*poff = p & ~7u;
			return 0;
		}
		r = dbk_cfg_read8(dev, pos + 1, &pos);
	}
	return r < 0 ? r : -ENOENT;
}

/* The region's mmap()able areas must stay clear of [off, off + len). */
static void check_not_mappable(unsigned int bar, uint64_t off, uint64_t len,
			       const char *what)
{
	struct dbk_area areas[64];
	struct dbk_region_info ri = { .argsz = sizeof(ri) };
	uint64_t page = off & ~4095ULL, end = (off + len + 4095) & ~4095ULL;
	bool clear = true;
	uint32_t i;
	void *p;
	int r;

	r = dbk_dev_get_region_info(dev, bar, &ri, areas, 64);
	if (r < 0) {
		check(false, "%s: region info of BAR%u: %s", what, bar, strerror(-r));
		return;
	}
	for (i = 0; i < ri.nr_areas && i < 64; i++)
		if (areas[i].offset < end && page < areas[i].offset + areas[i].size)
			clear = false;
	check(clear, "%s (BAR%u 0x%" PRIx64 "+0x%" PRIx64 ") is in no mmap()able area"
	      " (%u areas, region flags 0x%x)", what, bar, off, len, ri.nr_areas, ri.flags);
	check(dbk_dev_access_is_mapped(dev, bar, off, 4) == 0,
	      "%s: libdev mediates accesses there", what);
	errno = 0;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, dbk_dev_get_fd(dev),
		 (off_t)(DBK_REGION_OFFSET(bar) + page));
	check(p == MAP_FAILED && (errno == EINVAL || errno == EACCES),
	      "%s: mmap() of its page fails with EINVAL or EACCES (got %s)", what,
	      p == MAP_FAILED ? strerror(errno) : "a mapping");
	if (p != MAP_FAILED)
		munmap(p, 4096);
}

int main(int argc, char **argv)
{
	unsigned int nvec = 0, tbar = 0, pbar = 0, want, i, round;
	struct dbk_device_info di = { .argsz = sizeof(di) };
	struct dbk_irq_info ii = { .argsz = sizeof(ii) };
	uint32_t toff = 0, poff = 0, ivar = 0;
	const char *vfio = NULL;
	long storm = -1;
	int r;

	if (argc > 2 && !strcmp(argv[1], "--vfio")) {
		vfio = argv[2];
		argc -= 2;
		argv += 2;
	}
	if (argc > 2 && !strcmp(argv[1], "--storm")) {
		storm = strtol(argv[2], NULL, 0);
		argc -= 2;
		argv += 2;
	}
	want = argc > 1 ? (unsigned int)atoi(argv[1]) : E1000_NR_CAUSES;
	if (vfio) {
		r = dbk_dev_open_vfio(vfio, &dev);
		if (r < 0)
			die("dbk_dev_open_vfio", r);
	} else {
		r = dbk_dev_adopt(3, &dev);
		if (r < 0)
			die("dbk_dev_adopt(3)", r);
	}
	r = dbk_dev_get_device_info(dev, &di);
	if (r < 0)
		die("device info", r);
	check(di.vendor == 0x8086 && di.device == 0x10d3,
	      "the grant is for an e1000e (%04x:%04x)", di.vendor, di.device);

	r = find_msix(&nvec, &tbar, &toff, &pbar, &poff);
	if (r < 0)
		die("MSI-X capability", r);
	printf("# MSI-X: %u vectors, table BAR%u+0x%x, PBA BAR%u+0x%x\n",
	       nvec, tbar, toff, pbar, poff);
	if (!vfio) {
		check_not_mappable(tbar, toff, (uint64_t)nvec * 16, "the MSI-X table");
		check_not_mappable(pbar, poff, ((nvec + 63) / 64) * 8, "the MSI-X PBA");
	} else {
		printf("# VFIO: the MSI-X table is %s\n",
		       dbk_dev_access_is_mapped(dev, tbar, toff, 4) == 1 ? "mapped" : "mediated");
	}
	check(dbk_dev_access_is_mapped(dev, 0, E1000_ICS, 4) == 1,
	      "BAR0 registers are mmap()ed");

	r = dbk_dev_get_irq_info(dev, DBK_IRQ_INDEX_MSIX, &ii);
	if (r < 0)
		die("MSI-X irq info", r);
	if (want > ii.count)
		want = ii.count;
	if (want > E1000_NR_CAUSES)
		want = E1000_NR_CAUSES;
	check(want >= 1, "the grant allows %u MSI-X vectors; using %u", ii.count, want);
	if (want < 1)
		return 1;

	r = dbk_dev_set_bus_master(dev, 1);
	if (r < 0)
		die("bus master", r);
	r = dbk_irq_enable(dev, DBK_IRQ_INDEX_MSIX, want);
	check(r == 0, "enable %u MSI-X vectors: %s", want, r ? strerror(-r) : "ok");
	if (r < 0)
		return 1;
	r = dbk_dev_get_irq_info(dev, DBK_IRQ_INDEX_MSIX, &ii);
	check(r == 0 && (ii.flags & DBK_IRQ_INFO_F_ENABLED) && ii.enabled == want,
	      "irq info says MSI-X enabled with %u vectors (flags 0x%x, enabled %u)",
	      want, ii.flags, ii.enabled);

	/* Quiet the device, then route cause i to vector i % want. */
	r = dbk_write32(dev, 0, E1000_IMC, 0xffffffff);
	if (!r) r = dbk_write32(dev, 0, E1000_EIAC, 0);
	if (!r) r = dbk_write32(dev, 0, E1000_ICR, 0xffffffff);
	for (i = 0; i < E1000_NR_CAUSES && !r; i++) {
		ivar |= (IVAR_VALID | (i % want)) << (4 * i);
		r = dbk_write32(dev, 0, E1000_EITR(i), storm > 0 ? (uint32_t)storm : 0);
	}
	if (!r) r = dbk_write32(dev, 0, E1000_IVAR, ivar);
	if (!r) r = dbk_write32(dev, 0, E1000_IMS, 0x01f00000);
	if (r < 0)
		die("programming IVAR/IMS", r);
	for (i = 0; i < want; i++)
		(void)dbk_irq_wait(dev, i, 0);	/* drop anything stale */
	if (storm >= 0) {
		printf("# storm: every cause, EITR %ld, until revoked\n", storm);
		fflush(stdout);
		for (;;) {
			if (dbk_write32(dev, 0, E1000_ICS, 0x01f00000) < 0 ||
			    dbk_write32(dev, 0, E1000_ICR, 0x01f00000) < 0)
				return 3;
		}
	}

	for (round = 0; round < 2; round++) {
		for (i = 0; i < want; i++) {
			unsigned int v, others = 0;
			int got;

			r = dbk_write32(dev, 0, E1000_ICS, E1000_CAUSE(i));
			if (r < 0)
				die("write ICS", r);
			got = dbk_irq_wait(dev, i, 5000);
			for (v = 0; v < want; v++)
				if (v != i && dbk_irq_wait(dev, v, 0) > 0)
					others++;
			check(got >= 1 && others == 0,
			      "round %u: ICS cause bit %u fires MSI-X vector %u's eventfd"
			      " (%s; %u other vectors fired)", round + 1, 20 + i, i,
			      got >= 1 ? "fired" : strerror(-got), others);
			r = dbk_write32(dev, 0, E1000_ICR, E1000_CAUSE(i));
			if (r < 0)
				die("write ICR", r);
		}
	}
	if (!vfio) {	/* VFIO counts no interrupts */
		r = dbk_dev_get_irq_info(dev, DBK_IRQ_INDEX_MSIX, &ii);
		check(r == 0 && ii.delivered >= 2 * want,
		      "irq info counts the interrupts delivered (%" PRIu64 ")",
		      (uint64_t)ii.delivered);
	}
	/*
	 * QEMU 7.2's e1000e starts a throttling timer (EITR, at least 128 us,
	 * up to 16.8 ms) for every message a vector sends, and aborts the whole
	 * VM if one fires after MSI-X was turned off (hw/net/e1000e_core.c:169).
	 * vfio-pci turns it off at once when asked, and so does the grant's
	 * explicit disable; only a revocation drains first (kmod/grant.c).  So
	 * the device is quieted here the same way: no new causes, no
	 * mastering (no messages), the timers left to run out.
	 */
	dbk_write32(dev, 0, E1000_IMC, 0xffffffff);
	(void)dbk_dev_set_bus_master(dev, 0);
	usleep(20 * 1000);
	r = dbk_irq_disable(dev);
	check(r == 0, "disable MSI-X: %s", r ? strerror(-r) : "ok");
	dbk_dev_free(dev);
	printf("# %d failure(s)\n", failures);
	return failures ? 1 : 0;
}
