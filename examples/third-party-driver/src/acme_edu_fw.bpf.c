// SPDX-License-Identifier: MIT OR GPL-2.0-only
/*
 * acme_edu_fw: the register firewall of acme-edu-driver, an eBPF policy
 * built with the installed policy SDK (pkg-config devbroker-policy).
 * devbrokerd loads it for the manifest's Policy=acme_edu_fw before it
 * creates the driver's grant.
 *
 * A policy sees every devbroker grant, so it rules only on this driver's:
 * edu devices whose grant carries ACME_EDU_COOKIE (devbrokerd's cookie of
 * the driver name "acme-edu").  Another driver of the same device is left
 * alone.  For acme-edu's grants:
 *  - grant: no DMA right (the driver does none, so an administrator's
 *    override asking for it is refused), and the register page of BAR0 is
 *    mediated, so that even with MapBARs=0 every register access reaches
 *    the access hook below (a mapped page would bypass it);
 *  - access: only the registers the driver uses, in 32-bit accesses;
 *    everything else (the DMA engine, raising interrupts by hand, the
 *    liveness register) fails with EPERM, and devbrokerd reports a
 *    "denied" event.
 */
#include <devbroker/policy.h>

#include "acme-edu.h"

static const struct dbk_reg_rule acme_edu_regs[] = {
	DBK_REG(EDU_BAR, EDU_ID, DBK_READ, DBK_SZ4),
	DBK_REG(EDU_BAR, EDU_FACT, DBK_RDWR, DBK_SZ4),
	DBK_REG(EDU_BAR, EDU_STATUS, DBK_WRITE, DBK_SZ4),
	DBK_REG(EDU_BAR, EDU_IRQ_STATUS, DBK_READ, DBK_SZ4),
	DBK_REG(EDU_BAR, EDU_IRQ_ACK, DBK_WRITE, DBK_SZ4),
};

#define acme_edu_grant(ctx) \
	(dbk_dev_is(ctx, EDU_VENDOR, EDU_DEVICE) && (ctx)->dev.cookie == ACME_EDU_COOKIE)

DBK_HOOK(grant, acme_edu_fw_grant)
{
	if (!acme_edu_grant(ctx))
		return;
	if (dbk_grant_has(ctx, DBK_GRANT_F_DMA))
		dbk_deny(ctx, EPERM);
	/* The registers are in BAR0's first 256 bytes; BAR0 must be granted. */
	else if (!(ctx->bar_mask & (1U << EDU_BAR)) || dbk_grant_mediate(ctx, EDU_BAR, 0, 0x100))
		dbk_deny(ctx, EINVAL);
}

DBK_HOOK(access, acme_edu_fw)
{
	if (!acme_edu_grant(ctx))
		return;
	if (!dbk_reg_allowed(ctx, acme_edu_regs, DBK_ARRAY_SIZE(acme_edu_regs)))
		dbk_deny(ctx, EPERM);
}

/* GPL-compatible: the kernel's GPL-only BPF helpers stay available. */
DBK_POLICY_LICENSE("Dual MIT/GPL");
