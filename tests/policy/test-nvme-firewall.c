// SPDX-License-Identifier: GPL-2.0-only
/* nvme_firewall's table, its CC state rules and its grant hook, on the host (see shim.h). */
#include "shim.h"
#include "../../policies/src/nvme_firewall.bpf.c"

static struct dbk_policy_dev ctrl;

static int acc(int write, unsigned int width, __u64 off, __u32 bar, __u64 value)
{
	struct dbk_policy_access_ctx a = {
		.version = DBK_POLICY_VERSION, .flags = write ? DBK_POLICY_F_WRITE : 0,
		.dev = ctrl, .bar = bar, .width = width, .offset = off, .value = value,
	};

	RUN(nvme_firewall, &a);
	return a.verdict & DBK_POLICY_DENY ? a.error : 0;
}

#define R(off)		acc(0, 4, (off), 0, 0)
#define W(off, v)	acc(1, 4, (off), 0, (v))

static int grant(struct dbk_policy_grant_ctx *g, __u64 cookie, __u32 bars, __u32 mmap)
{
	memset(g, 0, sizeof(*g));
	g->version = DBK_POLICY_VERSION;
	g->dev = ctrl;
	g->dev.cookie = cookie;
	g->bar_mask = bars;
	g->mmap_mask = mmap;
	RUN(nvme_firewall_grant, g);
	return g->verdict & DBK_POLICY_DENY ? g->error : 0;
}

/* The broker's dbk_policy_cookie() (broker/launch.c), as devbrokerd computes it. */
static __u64 fnv1a(const char *s)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* drivers/nvme's CC for the enable: NVM, 4 KiB pages, round robin, IOSQES 6, IOCQES 4. */
#define CFG	((6u << 16) | (4u << 20))

/* The admin queue registers, as the driver writes them (low half first). */
static int admin_queue(void)
{
	return W(0x24, 31 | 31 << 16) | W(0x28, 0x100000) | W(0x2c, 0) | W(0x30, 0x101000) |
	       W(0x34, 0);
}

int main(void)
{
	/* INTMS, INTMC, reserved 0x18, NSSR, CMBLOC, CMBSZ, BPINFO, BPRSEL, BPMBL, CMBMSC, CMBSTS, PMRCAP, PMRCTL, PMRSTS, 0xf00. */
	static const __u64 never[] = { 0x0c, 0x10, 0x18, 0x20, 0x38, 0x3c, 0x40, 0x44, 0x48, 0x50,
				       0x58, 0xe00, 0xe04, 0xe08, 0xf00, 0xffc };
	struct dbk_policy_grant_ctx g;
	unsigned int i, bad = 0;

	shim_init();
	SHIM_MAP(nvme_cc);
	CHECK(NVME_FW_COOKIE == fnv1a("nvme"), "the cookie is devbrokerd's for driver nvme (0x%llx)",
	      (unsigned long long)fnv1a("nvme"));
	ctrl = shim_dev(0x1b36, 0x0010, 0x20);
	ctrl.cookie = NVME_FW_COOKIE;

	CHECK(grant(&g, NVME_FW_COOKIE, 1, 1) == 0 && g.nr_mediated == 1 && g.mediated[0].bar == 0 &&
	      g.mediated[0].offset == 0 && g.mediated[0].size == 0x1000,
	      "grant: BAR0's registers page (0x0-0xfff) mediated, the doorbells (0x1000-) left mapped");

	/* Reads the driver makes: CAP in halves, VS, CC, CSTS. */
	CHECK(!R(0x00) && !R(0x04) && !R(0x08) && !R(0x14) && !R(0x1c), "reads of CAP (both halves), VS, CC, CSTS");
	CHECK(R(0x24) == EPERM && R(0x28) == EPERM && R(0x30) == EPERM && R(0x20) == EPERM,
	      "reads of AQA, ASQ, ACQ and NSSR: EPERM (the driver never reads them)");
	for (i = 0; i < DBK_ARRAY_SIZE(never); i++)
		bad += R(never[i]) != EPERM || W(never[i], 1) != EPERM;
	CHECK(!bad, "INTMS, INTMC, NSSR, the CMB, boot partition and PMR registers, 0xf00-0xfff: EPERM either way");
	CHECK(W(0x20, 0x4E564D65) == EPERM, "NSSR: an NVM Subsystem Reset (\"NVMe\") is refused");
	CHECK(acc(0, 8, 0x00, 0, 0) == EPERM && acc(0, 2, 0x08, 0, 0) == EPERM &&
	      acc(0, 1, 0x1c, 0, 0) == EPERM && acc(1, 8, 0x28, 0, 0) == EPERM,
	      "32-bit accesses only (CAP, ASQ and ACQ in halves, as the driver reads and writes them)");
	CHECK(acc(0, 4, 0x0, 2, 0) == EPERM && acc(1, 4, 0x0, 4, 0) == EPERM, "BAR2, BAR4: EPERM");

	/* The state: a fresh grant has seen no CC write. */
	CHECK(W(0x28, 0x100000) == EPERM && W(0x24, 0) == EPERM && W(0x30, 0) == EPERM,
	      "fresh grant, no CC write yet: AQA, ASQ, ACQ refused (the controller's state is unknown)");
	CHECK(W(0x14, CFG | NVME_FW_CC_EN) == EPERM,
	      "fresh grant: an enable before any CC write refused");
	CHECK(W(0x14, 0) == 0, "CC.EN = 0 (the driver's disable, CC as read back): allowed");
	CHECK(admin_queue() == 0, "disabled: AQA, ASQ (both halves), ACQ (both halves) allowed");
	CHECK(W(0x14, CFG) == 0, "disabled: CC with the configuration, EN = 0, allowed");
	CHECK(W(0x14, CFG | (1u << 16) | NVME_FW_CC_EN) == EPERM,
	      "an enable whose IOSQES differs from the disabled controller's: refused");
	CHECK(W(0x14, CFG | (1u << 24) | NVME_FW_CC_EN) == EPERM, "an enable with a reserved bit (24): refused");
	CHECK(W(0x14, CFG | NVME_FW_CC_EN) == 0, "the enable (EN = 1, the same configuration): allowed");
	CHECK(W(0x28, 0x200000) == EPERM && W(0x2c, 0) == EPERM && W(0x24, 0) == EPERM &&
	      W(0x30, 0) == EPERM && W(0x34, 0) == EPERM,
	      "enabled: AQA, ASQ, ACQ writes refused (§3.1.8-10: set while disabled)");
	bad = W(0x14, (CFG & ~(0xfu << 16)) | (7u << 16) | NVME_FW_CC_EN) != EPERM;	/* IOSQES */
	bad += W(0x14, (CFG & ~(0xfu << 20)) | (5u << 20) | NVME_FW_CC_EN) != EPERM;	/* IOCQES */
	bad += W(0x14, CFG | (1u << 7) | NVME_FW_CC_EN) != EPERM;			/* MPS */
	bad += W(0x14, CFG | (6u << 4) | NVME_FW_CC_EN) != EPERM;			/* CSS */
	bad += W(0x14, CFG | (1u << 11) | NVME_FW_CC_EN) != EPERM;			/* AMS */
	CHECK(!bad, "enabled: CC writes changing IOSQES, IOCQES, MPS, CSS or AMS refused");
	CHECK(W(0x14, CFG | NVME_FW_CC_EN | (2u << 14)) == EPERM && W(0x14, CFG | NVME_FW_CC_EN | (3u << 14)) == EPERM,
	      "enabled: an abrupt (SHN 10b) or reserved (11b) shutdown refused");
	CHECK(W(0x14, CFG | NVME_FW_CC_EN | NVME_FW_CC_SHN_NORMAL) == 0,
	      "enabled: the normal shutdown (SHN 01b, §7.6.2) allowed");
	CHECK(W(0x28, 0) == EPERM, "... still enabled after it: ASQ refused");
	CHECK(W(0x14, CFG | NVME_FW_CC_SHN_NORMAL) == 0 && admin_queue() == 0,
	      "CC.EN = 0 after the shutdown (CC as read back): the admin queue may be set again");
	CHECK(W(0x14, 0xfffffffe) == 0, "CC.EN = 0 with whatever another host left (reserved bits too): allowed");
	CHECK(W(0x14, (CFG & ~0xf0000u) | 0xfe000000u | NVME_FW_CC_EN) == EPERM,
	      "... but no enable carrying its reserved bits");
	CHECK(W(0x14, CFG) == 0 && W(0x14, CFG | NVME_FW_CC_EN) == 0 && W(0x24, 0) == EPERM,
	      "a reset's bring-up again: disable with the configuration, enable, then AQA refused");

	/* The doorbells: mapped; through pread/pwrite too, writes only. */
	CHECK(!W(0x1000, 1) && !W(0x1004, 0) && !W(0x1008, 3) && !W(0x2ffc, 3),
	      "doorbell writes (SQ0 tail, CQ0 head, SQ1 tail, ...): allowed");
	CHECK(R(0x1000) == EPERM && acc(1, 2, 0x1000, 0, 0) == EPERM && W(0x1002, 0) == EPERM &&
	      acc(1, 8, 0x1000, 0, 0) == EPERM,
	      "doorbells: no reads, no 2- or 8-byte or unaligned writes");

	/* A new grant forgets the last one's state. */
	CHECK(grant(&g, NVME_FW_COOKIE, 1, 1) == 0 && W(0x14, CFG | NVME_FW_CC_EN) == EPERM &&
	      W(0x28, 0) == EPERM, "a new grant: no CC write seen, so no enable and no ASQ until a disable");

	/* Denied by an earlier program: not recorded. */
	{
		struct dbk_policy_access_ctx a = {
			.version = DBK_POLICY_VERSION, .flags = DBK_POLICY_F_WRITE, .dev = ctrl,
			.bar = 0, .width = 4, .offset = 0x14, .value = 0,
			.verdict = DBK_POLICY_DENY, .error = EACCES,
		};

		RUN(nvme_firewall, &a);
		CHECK(a.error == EACCES && W(0x28, 0) == EPERM,
		      "a CC write another program denied is not recorded (ASQ still refused)");
	}

	/* Scope: the nvme driver's grants only. */
	ctrl.cookie = fnv1a("e1000e");
	CHECK(W(0x20, 0x4E564D65) == 0 && R(0x48) == 0, "another driver's grant of the controller: untouched");
	ctrl.cookie = 0;
	CHECK(W(0x0c, 1) == 0, "a grant without a cookie (not devbrokerd's nvme): untouched");
	CHECK(grant(&g, 0, 0x3f, 0x3f) == 0 && !g.nr_mediated, "grant: another cookie's untouched");
	ctrl.cookie = NVME_FW_COOKIE;

	CHECK(grant(&g, NVME_FW_COOKIE, 0x5, 0x5) == EPERM, "grant: BAR2 mapped beside BAR0: refused");
	CHECK(grant(&g, NVME_FW_COOKIE, 0x5, 0x1) == 0 && g.nr_mediated == 1,
	      "grant: BAR2 by pread/pwrite only: made (and every access there refused)");
	CHECK(grant(&g, NVME_FW_COOKIE, 0x1, 0x0) == 0 && g.nr_mediated == 1,
	      "grant: BAR0 unmapped: made, the registers page still mediated");
	CHECK(grant(&g, NVME_FW_COOKIE, 0x4, 0x0) == 0 && g.nr_mediated == 0,
	      "grant: no BAR0: nothing to mediate (a range outside the grant would be refused)");

	memset(&g, 0, sizeof(g));
	g.version = DBK_POLICY_VERSION;
	g.dev = ctrl;
	g.bar_mask = g.mmap_mask = 1;
	g.nr_mediated = DBK_MAX_MEDIATED;
	for (i = 0; i < DBK_MAX_MEDIATED; i++) {
		g.mediated[i].bar = 0;
		g.mediated[i].offset = 0x2000 + i * 4;
		g.mediated[i].size = 4;
	}
	RUN(nvme_firewall_grant, &g);
	CHECK((g.verdict & DBK_POLICY_DENY) && g.error == ENOSPC,
	      "grant: no room to mediate: denied with ENOSPC, never left open");

	/* A full map: no record, no grant; and a grant with no record refuses the stateful writes. */
	shim_clear(&nvme_cc);
	for (i = 0; i < 256 && i < 64; i++) {
		__u64 k = 0x10000 + i, v = 0;

		shim_update(&nvme_cc, &k, &v, BPF_ANY);
	}
	CHECK(grant(&g, NVME_FW_COOKIE, 1, 1) == ENOSPC, "grant: the state map full: denied with ENOSPC");
	CHECK(W(0x14, 0) == ENOSPC && W(0x28, 0) == EPERM,
	      "no record: a CC write that cannot be recorded refused (ENOSPC), ASQ refused");
	return tap_done();
}
