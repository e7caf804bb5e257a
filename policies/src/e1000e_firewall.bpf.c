// SPDX-License-Identifier: GPL-2.0-only
/*
 * e1000e_firewall: the registers of the Intel 82574L (8086:10d3, QEMU's
 * -device e1000e) that drivers/e1000e uses, and nothing else.  Shipped
 * with the driver's manifest (Policy=e1000e_firewall).  Sections are those
 * of the "Intel 82574 GbE Controller Family Datasheet", as in
 * drivers/e1000e/e1000e-regs.h: §10.2 describes every register of BAR0.
 *
 * What it keeps from a driver (every register it does not list): the
 * NVM and flash (EEC's bit-banged EEPROM writes, FLA, §10.2; the flash
 * BAR is never granted), the PHY (MDIC), manageability and wake-up (WUC,
 * MANC, the firmware semaphores SWSM and EXTCNF_CTRL), the packet buffer
 * memory and diagnostic FIFO registers, the statistics (but MPC, read
 * only), the PCIe and power registers: what could outlive the driver
 * (an EEPROM that holds the MAC address and the NIC's configuration on
 * real hardware) or reach beyond its rings.  A denied access fails with EPERM and is reported
 * (devbrokerctl events).
 *
 * The access hook sees pread/pwrite only, and the manifest maps BAR0
 * (MapBARs=0: a tail write is one store).  So the grant hook mediates all
 * of BAR0 but the two pages 0x2000-0x3fff, which the driver writes per
 * frame: every other access is a pread or pwrite, which this allow-list
 * checks.  Those two pages belong to the driver entirely, whatever the
 * table below says of them: they hold every queue register of both
 * queues, queue 0's and queue 1's (RDBAL..RXDCTL at 0x2800 and 0x2900,
 * TDBAL..TXDCTL and TARC at 0x3800 and 0x3900, §10.2), the receive and
 * transmit data FIFO head/tail and diagnostic registers (RDFH, RDFT,
 * RDFHS, RDFTS, RDFPC at 0x24xx; TDFH, TDFT, TDFHS, TDFTS, TDFPC at
 * 0x34xx), and flow-control thresholds; a store there is not seen by any
 * hook.  The rules of the table for 0x28xx and 0x38xx (and the EPERM the
 * table gives to anything else in those pages) therefore never run when
 * BAR0 is mapped: they apply only to a grant that maps nothing (no
 * MapBARs=), where every access is a pread or pwrite.  What a driver can
 * do there: ring addresses (confined by the IOMMU, or UnsafeDMA's trust
 * without one, as the descriptors themselves are), interrupt delays, the
 * FIFO pointers, none of which outlives the device reset that ends every
 * grant.
 *
 * BAR0 must be in the grant, alone (the manifest's BARs=0): a grant with
 * any other BAR (BAR1's flash, BAR2's I/O window onto every register,
 * BAR3's MSI-X table) is refused with EPERM rather than left unmediated,
 * and so is one without BAR0, whose driver could not stop the rings a
 * previous driver left running.
  */
#include <devbroker/policy.h>

#define E1000E_VENDOR	0x8086
#define E1000E_DEVICE	0x10d3
#define E1000E_BAR0_SIZE	0x20000		/* 128 KiB (§10.1) */
#define E1000E_DIRECT	0x2000		/* the RX and TX queue pages: mapped, the driver's */
#define E1000E_DIRECT_END	0x4000

static const struct dbk_reg_rule e1000e_regs[] = {
	/*
	 * General (§10.2).  CTRL whole: the driver needs reset and link-up
	 * (CTRL.RST, CTRL.SLU), and a rule cannot allow some of its bits
	 * only, so every bit of it is the driver's (PHY reset, forced speed
	 * and duplex, flow control, software-definable pins, VLAN mode...);
	 * all of it is reset with the device when the grant ends.
	 */
	DBK_REG(0, 0x00000, DBK_RDWR, DBK_SZ4),		/* CTRL */
	DBK_REG(0, 0x00008, DBK_READ, DBK_SZ4),		/* STATUS */
	/*
	 * EERD reads the NVM, never writes it; but its address field is the
	 * driver's, so any NVM word can be read (the driver reads words 0-2,
	 * the MAC).
	 */
	DBK_REG(0, 0x00014, DBK_RDWR, DBK_SZ4),		/* EERD */
	/* Interrupts (§10.2, §7.4): causes, masks, MSI-X mapping and auto-clear. */
	DBK_REG(0, 0x000C0, DBK_RDWR, DBK_SZ4),		/* ICR (read, or write 1s to clear) */
	DBK_REG(0, 0x000D0, DBK_WRITE, DBK_SZ4),	/* IMS */
	DBK_REG(0, 0x000D8, DBK_WRITE, DBK_SZ4),	/* IMC */
	DBK_REG(0, 0x000DC, DBK_WRITE, DBK_SZ4),	/* EIAC */
	DBK_REG(0, 0x000E4, DBK_WRITE, DBK_SZ4),	/* IVAR */
	/* Interrupt moderation (§10.2 EITR0-4): how often a vector may fire, no more. */
	DBK_REG(0, 0x000E8, DBK_WRITE, DBK_SZ4),	/* EITR0 */
	DBK_REG(0, 0x000EC, DBK_WRITE, DBK_SZ4),	/* EITR1 */
	DBK_REG(0, 0x000F0, DBK_WRITE, DBK_SZ4),	/* EITR2 */
	DBK_REG(0, 0x000F4, DBK_WRITE, DBK_SZ4),	/* EITR3 */
	DBK_REG(0, 0x000F8, DBK_WRITE, DBK_SZ4),	/* EITR4 */
	/* Receive and transmit control (§10.2, §7.1, §7.2). */
	DBK_REG(0, 0x00100, DBK_WRITE, DBK_SZ4),	/* RCTL */
	DBK_REG(0, 0x00400, DBK_WRITE, DBK_SZ4),	/* TCTL */
	DBK_REG(0, 0x00410, DBK_WRITE, DBK_SZ4),	/* TIPG */
	/*
	 * Queue 0 (§10.2): in the mapped pages, so these rules (and the
	 * denial of the rest of 0x2000-0x3fff) apply only to a grant that
	 * maps nothing; with BAR0 mapped the driver stores there directly.
	 */
	DBK_REG(0, 0x02800, DBK_WRITE, DBK_SZ4),	/* RDBAL */
	DBK_REG(0, 0x02804, DBK_WRITE, DBK_SZ4),	/* RDBAH */
	DBK_REG(0, 0x02808, DBK_WRITE, DBK_SZ4),	/* RDLEN */
	DBK_REG(0, 0x02810, DBK_RDWR, DBK_SZ4),		/* RDH */
	DBK_REG(0, 0x02818, DBK_RDWR, DBK_SZ4),		/* RDT */
	DBK_REG(0, 0x02820, DBK_WRITE, DBK_SZ4),	/* RDTR */
	DBK_REG(0, 0x0282C, DBK_WRITE, DBK_SZ4),	/* RADV */
	DBK_REG(0, 0x03800, DBK_WRITE, DBK_SZ4),	/* TDBAL */
	DBK_REG(0, 0x03804, DBK_WRITE, DBK_SZ4),	/* TDBAH */
	DBK_REG(0, 0x03808, DBK_WRITE, DBK_SZ4),	/* TDLEN */
	DBK_REG(0, 0x03810, DBK_RDWR, DBK_SZ4),		/* TDH */
	DBK_REG(0, 0x03818, DBK_RDWR, DBK_SZ4),		/* TDT */
	DBK_REG(0, 0x03820, DBK_WRITE, DBK_SZ4),	/* TIDV */
	DBK_REG(0, 0x0382C, DBK_WRITE, DBK_SZ4),	/* TADV */
	/*
	 * MPC (§10.2 statistics, clear on read on the 82574; a plain read in
	 * QEMU 7.2, which never counts it): frames the device missed for want
	 * of a free receive descriptor, which tells a slow driver from losses
	 * elsewhere.  Reading it clears only the count the driver reports;
	 * the other counters stay out of reach.
	 */
	DBK_REG(0, 0x04010, DBK_READ, DBK_SZ4),		/* MPC */
	/*
	 * RXCSUM (§10.2): the device verifies IP, TCP and UDP checksums of
	 * what it receives and says so in the descriptor, which the driver
	 * passes on (the frontend's receive offload).  Write only.
	 */
	DBK_REG(0, 0x05000, DBK_WRITE, DBK_SZ4),	/* RXCSUM */
	/* Receive address 0 (§10.2): the MAC the EEPROM loaded, read only. */
	DBK_REG(0, 0x05400, DBK_READ, DBK_SZ4),		/* RAL0 */
	DBK_REG(0, 0x05404, DBK_READ, DBK_SZ4),		/* RAH0 */
};

/* §10.2 MTA: the multicast table, 128 words, cleared at bring-up. */
static __always_inline int e1000e_mta(const struct dbk_policy_access_ctx *ctx)
{
	return ctx->bar == 0 && ctx->offset >= 0x05200 && ctx->offset < 0x05400 &&
	       !(ctx->offset & 3) && ctx->width == 4 && dbk_is_write(ctx);
}

DBK_HOOK(grant, e1000e_firewall_grant)
{
	if (!dbk_dev_is(ctx, E1000E_VENDOR, E1000E_DEVICE))
		return;
	/* BAR0 and nothing else: another BAR would go unmediated, and
	 * without BAR0 a driver could not quiesce the rings a previous
	 * driver left running (RCTL, TCTL) before its interrupts turn bus
	 * mastering on (and the module would refuse, with a bare EINVAL,
	 * the mediation of a BAR the grant does not hold). */
	if (ctx->bar_mask != 1u) {
		dbk_deny(ctx, EPERM);
		return;
	}
	if (dbk_grant_mediate(ctx, 0, 0, E1000E_DIRECT) ||
	    dbk_grant_mediate(ctx, 0, E1000E_DIRECT_END, E1000E_BAR0_SIZE - E1000E_DIRECT_END))
		dbk_deny(ctx, ENOSPC);	/* no room left to mediate: no grant rather than an open one */
}

DBK_HOOK(access, e1000e_firewall)
{
	if (!dbk_dev_is(ctx, E1000E_VENDOR, E1000E_DEVICE))
		return;
	if (!dbk_reg_allowed(ctx, e1000e_regs, DBK_ARRAY_SIZE(e1000e_regs)) && !e1000e_mta(ctx))
		dbk_deny(ctx, EPERM);
}

DBK_POLICY_LICENSE("GPL");
