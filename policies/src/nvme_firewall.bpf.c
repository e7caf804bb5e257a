// SPDX-License-Identifier: GPL-2.0-only
/*
 * nvme_firewall: the NVMe controller registers drivers/nvme uses, in the
 * states the specification allows them, and nothing else.  Shipped with
 * the driver's manifest (Policy=nvme_firewall).  "Spec" is the NVM Express
 * Base Specification 1.4, as in drivers/nvme/nvme-regs.h: §3.1 lays out
 * the controller registers of BAR0 (MLBAR/MUBAR, §2.1.10).
 *
 * Which grants: those devbrokerd makes for the driver named nvme, by their
 * policy cookie (dbk_policy_cookie("nvme"), an FNV-1a hash of the name:
 * broker/launch.c).  The hook's ctx carries no PCI class, and NVMe
 * controllers come from every vendor (the manifest matches class
 * 01 08 02), so the driver's name is what says "this grant is drivers/
 * nvme's".  Another driver of an NVMe controller is not held to this
 * driver's list; a manifest copied under another Name= loses the firewall.
 *
 * The registers page, BAR0 0x000-0xfff, is mediated (the grant hook), even
 * though the manifest maps BAR0 (MapBARs=0): every access there is a
 * pread/pwrite that meets the rules below.  Allowed, 4-byte accesses only
 * (the driver reads and writes the 64-bit registers as two 32-bit halves,
 * low first, as §3.1 permits):
 *  - reads of CAP (0x00, 0x04; §3.1.1), VS (0x08; §3.1.2), CC (0x14;
 *    §3.1.5) and CSTS (0x1c; §3.1.6);
 *  - writes of CC (§3.1.5), in these states ("last CC write": the last
 *    one this policy let through on this grant):
 *      - EN = 0: always (disabling is how every bring-up and reset
 *        starts, §7.6.1, §7.3.2; the configuration fields are set while
 *        the controller is disabled).  The driver disables with CC as it
 *        reads it, which may carry what another host set, 2.0's CRIME
 *        (bit 24) among them;
 *      - EN = 1: no reserved bit (3:1, 31:24), and only after a CC write
 *        on this grant, with CSS, MPS, AMS,
 *        IOSQES and IOCQES as that write left them: §3.1.5 says CSS, MPS
 *        and AMS "shall only be changed when the controller is disabled",
 *        and the queue entry sizes are held to the same rule.  So an
 *        enable carries what the disabled controller was configured with,
 *        and an enabled controller's configuration never moves; SHN may
 *        be 00b or 01b (normal shutdown, §7.6.2), never 10b (abrupt,
 *        which the driver never asks for) or 11b (reserved);
 *  - writes of AQA (0x24; §3.1.8), ASQ (0x28, 0x2c; §3.1.9) and ACQ
 *    (0x30, 0x34; §3.1.10) only while the last CC write had EN = 0: the
 *    admin queue is set up while the controller is disabled (§7.6.1, step
 *    3).  A grant starts with no CC write seen (the controller's state is
 *    whatever the last owner left), so the driver disables the controller
 *    first, always with a CC write (drivers/nvme/ctrl.c, ctrl_disable()).
 * Refused (EPERM, reported: devbrokerctl events): everything else of the
 * page, among them INTMS/INTMC (0x0c, 0x10; §3.1.3-4: for pin-based and
 * MSI interrupts only, "undefined" under MSI-X, which the driver uses),
 * NSSR (0x20, §3.1.7: an NVM Subsystem Reset reaches every controller of
 * the subsystem, beyond this grant), CMBLOC/CMBSZ/CMBMSC/CMBSTS (the
 * Controller Memory Buffer, §3.1.11-12, §3.1.16-17), BPINFO/BPRSEL/BPMBL
 * (Boot Partitions, §3.1.13-15), the PMR registers (0xe00-0xe1b,
 * §3.1.18-23), the command-set-specific 0xf00-0xfff, reads of AQA, ASQ,
 * ACQ (the driver never reads them back), and 1-, 2- and 8-byte accesses.
 * Any BAR but 0: refused through pread/pwrite, and a grant that would map
 * one is refused (EPERM): the manifest grants BAR0 alone.
 *
 * The doorbells, 0x1000 onward (§3.1.24-25), stay mapped: every I/O is a
 * doorbell store (an SQ tail per batch, a CQ head per batch of
 * completions), and a system call for each would add to every I/O what
 * mapping BAR0 (the manifest's MapBARs=0) is there to save.  What that
 * leaves open: the
 * doorbells are the driver's whole, checked by nothing.  The admin SQ
 * tail doorbell (SQ0TDBL, 0x1000) shares its page with the I/O queues'
 * doorbells (one page holds 512 of them at CAP.DSTRD = 0), so it cannot
 * be mediated alone, and no rule says "only while enabled" of it.  What
 * the admin commands do (create queues, abort, identify, ...) is the
 * driver's too: they are in memory, where no register rule can read them.
 * Through pread/pwrite (a grant that does not map BAR0) doorbell writes
 * are allowed as well: 4 bytes, aligned, never read.
 *
 * State and its limits: one record per device (dbk_dev_key()), reset by
 * the grant hook (no CC write seen); a device has at most one grant at a
 * time, and the module runs the hook only while no other grant is live
 * (a creation that fails after it leaves a reset record: harmless).  The
 * record is what the policy allowed, not what the device holds: it never
 * sees the values read back (CSTS.RDY), so "disabled" means "the host
 * wrote EN = 0", as the rules above say.  It records only writes no
 * program before it denied; a policy attached after it that denies a CC
 * write leaves the record ahead of the device (none of the shipped
 * policies denies NVMe register writes).  BAR accesses run under a shared
 * lock: two threads of the driver could reach the device in another
 * order than this policy saw them, a race only the driver itself can run
 * (drivers/nvme writes CC, AQA, ASQ and ACQ from one thread at a time: at
 * bring-up, in a reset under its admin lock, at shutdown).  If the
 * record cannot be kept (the map full: 256 devices), grants are refused
 * (ENOSPC) and writes of the stateful registers too: never an open grant.
 */
#include <devbroker/policy.h>

/* dbk_policy_cookie("nvme"): FNV-1a 64 of the driver's name (broker/launch.c). */
#define NVME_FW_COOKIE		0x74f268ba60acc467ULL

#define NVME_FW_PAGE		0x1000		/* the registers page: mediated */

/* §3.1, figure "Controller Registers" */
#define NVME_FW_CAP		0x00
#define NVME_FW_VS		0x08
#define NVME_FW_INTMS		0x0c
#define NVME_FW_INTMC		0x10
#define NVME_FW_CC		0x14
#define NVME_FW_CSTS		0x1c
#define NVME_FW_NSSR		0x20
#define NVME_FW_AQA		0x24
#define NVME_FW_ASQ		0x28
#define NVME_FW_ACQ		0x30

/* CC, §3.1.5 */
#define NVME_FW_CC_EN		0x00000001U
#define NVME_FW_CC_RSVD		0xff00000eU	/* 3:1, 31:24 */
#define NVME_FW_CC_CONFIG	0x00ff3ff0U	/* CSS 6:4, MPS 10:7, AMS 13:11, IOSQES 19:16, IOCQES 23:20 */
#define NVME_FW_CC_SHN		0x0000c000U	/* 15:14 */
#define NVME_FW_CC_SHN_NORMAL	0x00004000U

/* The record: bit 32 set once a CC write was let through; its value below. */
#define NVME_FW_SEEN		(1ULL << 32)

static const struct dbk_reg_rule nvme_regs[] = {
	DBK_REG(0, NVME_FW_CAP, DBK_READ, DBK_SZ4),		/* CAP, low half */
	DBK_REG(0, NVME_FW_CAP + 4, DBK_READ, DBK_SZ4),		/* CAP, high half */
	DBK_REG(0, NVME_FW_VS, DBK_READ, DBK_SZ4),		/* VS */
	DBK_REG(0, NVME_FW_CC, DBK_RDWR, DBK_SZ4),		/* CC: writes checked below */
	DBK_REG(0, NVME_FW_CSTS, DBK_READ, DBK_SZ4),		/* CSTS */
	DBK_REG(0, NVME_FW_AQA, DBK_WRITE, DBK_SZ4),		/* AQA: while disabled */
	DBK_REG(0, NVME_FW_ASQ, DBK_WRITE, DBK_SZ4),		/* ASQ, low: while disabled */
	DBK_REG(0, NVME_FW_ASQ + 4, DBK_WRITE, DBK_SZ4),	/* ASQ, high */
	DBK_REG(0, NVME_FW_ACQ, DBK_WRITE, DBK_SZ4),		/* ACQ, low */
	DBK_REG(0, NVME_FW_ACQ + 4, DBK_WRITE, DBK_SZ4),	/* ACQ, high */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, __u64);
} nvme_cc SEC(".maps");

static __always_inline int nvme_fw_ours(__u64 cookie)
{
	return cookie == NVME_FW_COOKIE;
}

DBK_HOOK(grant, nvme_firewall_grant)
{
	__u64 key = dbk_key(ctx), none = 0;

	if (!nvme_fw_ours(ctx->dev.cookie))
		return;
	if (ctx->mmap_mask & ~1U) {
		dbk_deny(ctx, EPERM);	/* a BAR the driver never uses, mapped */
		return;
	}
	if ((ctx->bar_mask & 1U) && dbk_grant_mediate(ctx, 0, 0, NVME_FW_PAGE)) {
		dbk_deny(ctx, ENOSPC);	/* no room left to mediate: no grant rather than an open one */
		return;
	}
	if (bpf_map_update_elem(&nvme_cc, &key, &none, BPF_ANY))
		dbk_deny(ctx, ENOSPC);	/* no record: no grant */
}

/* A doorbell, through pread/pwrite (a grant that does not map BAR0). */
static __always_inline int nvme_fw_doorbell(const struct dbk_policy_access_ctx *ctx)
{
	return ctx->bar == 0 && ctx->offset >= NVME_FW_PAGE && !(ctx->offset & 3) &&
	       ctx->width == 4 && dbk_is_write(ctx);
}

/* Is the write @v of CC allowed after the record @rec?  (See the header.) */
static __always_inline int nvme_fw_cc_ok(__u64 rec, __u32 v)
{
	__u32 last = (__u32)rec, shn = v & NVME_FW_CC_SHN;

	if (!(v & NVME_FW_CC_EN))
		return 1;
	return !(v & NVME_FW_CC_RSVD) && (rec & NVME_FW_SEEN) && (v & NVME_FW_CC_CONFIG) == (last & NVME_FW_CC_CONFIG) &&
	       (shn == 0 || shn == NVME_FW_CC_SHN_NORMAL);
}

DBK_HOOK(access, nvme_firewall)
{
	__u64 key, off = ctx->offset, *rec, cur;
	__u32 v;

	if (!nvme_fw_ours(ctx->dev.cookie))
		return;
	if (nvme_fw_doorbell(ctx))
		return;
	if (!dbk_reg_allowed(ctx, nvme_regs, DBK_ARRAY_SIZE(nvme_regs))) {
		dbk_deny(ctx, EPERM);
		return;
	}
	if (!dbk_is_write(ctx))
		return;
	/* The stateful writes: CC, AQA, ASQ, ACQ (4 bytes, BAR0: the table said). */
	key = dbk_key(ctx);
	rec = bpf_map_lookup_elem(&nvme_cc, &key);
	cur = rec ? *rec : 0;
	if (off != NVME_FW_CC) {
		/* AQA, ASQ, ACQ: while the last CC write had EN = 0. */
		if (!(cur & NVME_FW_SEEN) || (cur & NVME_FW_CC_EN))
			dbk_deny(ctx, EPERM);
		return;
	}
	v = (__u32)ctx->value;
	if (!nvme_fw_cc_ok(cur, v)) {
		dbk_deny(ctx, EPERM);
		return;
	}
	if (dbk_denied(ctx))
		return;		/* another program's deny: the device keeps the old CC */
	cur = NVME_FW_SEEN | v;
	if (rec)
		*rec = cur;	/* one aligned 64-bit store: never seen torn */
	else if (bpf_map_update_elem(&nvme_cc, &key, &cur, BPF_ANY))
		dbk_deny(ctx, ENOSPC);	/* no record: no CC write the policy cannot follow */
}

DBK_POLICY_LICENSE("GPL");
