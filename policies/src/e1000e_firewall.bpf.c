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
 * memory and diagnostic FIFO registers, the statistics, the PCIe and
 * power registers: what could outlive the driver (an EEPROM that holds
 * the MAC address and the NIC's configuration on real hardware) or reach
 * beyond its rings.  A denied access fails with EPERM and is reported
 * (devbrokerctl events).
 *
 * The access hook sees pread/pwrite only, and the manifest maps BAR0
 * (MapBARs=0: a tail write is one store).  So the grant hook mediates all
 * of BAR0 but the two pages of queue 0's descriptor registers,
 * 0x2000-0x3fff (RDBAL..RADV at 0x2800, TDBAL..TADV at 0x3800, §10.2),
 * which the driver writes per frame: every other access is a pread or
 * pwrite, which this allow-list checks.  Those two pages stay the
 * driver's whole: ring addresses (confined by the IOMMU, or UnsafeDMA's
 * trust without one, as the descriptors themselves are), interrupt
 * delays, flow-control thresholds and the receive/transmit data FIFO
 * pointers, none of which outlives the device reset that ends every
 * grant.
 */
#include <devbroker/policy.h>

#define E1000E_VENDOR	0x8086
#define E1000E_DEVICE	0x10d3
#define E1000E_BAR0_SIZE	0x20000		/* 128 KiB (§10.1) */
#define E1000E_DIRECT	0x2000		/* queue 0's RX and TX pages: mapped */
#define E1000E_DIRECT_END	0x4000

static const struct dbk_reg_rule e1000e_regs[] = {
	/* General (§10.2): reset and link-up (CTRL.RST, CTRL.SLU), link state. */
	DBK_REG(0, 0x00000, DBK_RDWR, DBK_SZ4),		/* CTRL */
	DBK_REG(0, 0x00008, DBK_READ, DBK_SZ4),		/* STATUS */
	DBK_REG(0, 0x00014, DBK_RDWR, DBK_SZ4),		/* EERD: EEPROM reads only (words 0-2, the MAC) */
	/* Interrupts (§10.2, §7.4): causes, masks, MSI-X mapping and auto-clear. */
	DBK_REG(0, 0x000C0, DBK_RDWR, DBK_SZ4),		/* ICR (read, or write 1s to clear) */
	DBK_REG(0, 0x000D0, DBK_WRITE, DBK_SZ4),	/* IMS */
	DBK_REG(0, 0x000D8, DBK_WRITE, DBK_SZ4),	/* IMC */
	DBK_REG(0, 0x000DC, DBK_WRITE, DBK_SZ4),	/* EIAC */
	DBK_REG(0, 0x000E4, DBK_WRITE, DBK_SZ4),	/* IVAR */
	/* Receive and transmit control (§10.2, §7.1, §7.2). */
	DBK_REG(0, 0x00100, DBK_WRITE, DBK_SZ4),	/* RCTL */
	DBK_REG(0, 0x00400, DBK_WRITE, DBK_SZ4),	/* TCTL */
	DBK_REG(0, 0x00410, DBK_WRITE, DBK_SZ4),	/* TIPG */
	/* Queue 0 (§10.2): mapped, listed for a grant that maps nothing. */
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
