// SPDX-License-Identifier: GPL-2.0-only
/* e1000e_firewall's table and its grant hook, on the host (see shim.h). */
#include "shim.h"
#include "../../policies/src/e1000e_firewall.bpf.c"

static struct dbk_policy_dev nic;

static int acc(int write, unsigned int width, __u64 off, __u32 bar)
{
	struct dbk_policy_access_ctx a = {
		.version = DBK_POLICY_VERSION, .flags = write ? DBK_POLICY_F_WRITE : 0,
		.dev = nic, .bar = bar, .width = width, .offset = off,
	};

	RUN(e1000e_firewall, &a);
	return a.verdict & DBK_POLICY_DENY ? a.error : 0;
}

#define R(off)	acc(0, 4, (off), 0)
#define W(off)	acc(1, 4, (off), 0)

int main(void)
{
	/*
	 * What drivers/e1000e/main.c touches, read and written, through
	 * pread/pwrite.  The table's rules for 0x2000-0x3fff (queue 0's
	 * registers allowed, RXDCTL and TXDCTL denied below) hold for a grant
	 * that maps nothing only: the grant hook leaves those two pages
	 * unmediated, so with BAR0 mapped (the manifest's MapBARs=0) every
	 * register in them, queue 1's and the FIFO diagnostics included, is
	 * the driver's and no hook sees it.
	 */
	static const __u64 rw[] = { 0x0, 0x14, 0xc0, 0x2810, 0x2818, 0x3810, 0x3818 };
	static const __u64 wo[] = { 0xd0, 0xd8, 0xdc, 0xe4, 0xe8, 0xec, 0xf0, 0xf4, 0xf8, 0x100,
				    0x400, 0x410, 0x2800, 0x2804,
				    0x2808, 0x2820, 0x282c, 0x3800, 0x3804, 0x3808, 0x3820, 0x382c,
				    0x5000, 0x5200, 0x53fc };
	static const __u64 ro[] = { 0x8, 0x4010, 0x5400, 0x5404 };
	/* EEC, CTRL_EXT, FLA, MDIC, ITR, ICS, past EITR4, PBA, RXDCTL, TXDCTL (pread/pwrite only), CRCERRS, the statistic after MPC, GPRC, RFCTL, WUC, MANC, SWSM, RAL1, packet buffer. */
	static const __u64 never[] = { 0x10, 0x18, 0x1c, 0x20, 0xc4, 0xc8, 0xfc, 0x1000, 0x2828,
				       0x3828, 0x4000, 0x4014, 0x4074, 0x5008, 0x5800, 0x5820, 0x5b50, 0x5408,
				       0x10000 };
	struct dbk_policy_grant_ctx g;
	unsigned int i, bad = 0;

	shim_init();
	nic = shim_dev(0x8086, 0x10d3, 0x18);
	for (i = 0; i < DBK_ARRAY_SIZE(rw); i++)
		bad += R(rw[i]) || W(rw[i]);
	for (i = 0; i < DBK_ARRAY_SIZE(wo); i++)
		bad += W(wo[i]) || R(wo[i]) != EPERM;
	for (i = 0; i < DBK_ARRAY_SIZE(ro); i++)
		bad += R(ro[i]) || W(ro[i]) != EPERM;
	CHECK(!bad, "the driver's registers: each allowed in its direction only");
	for (i = bad = 0; i < DBK_ARRAY_SIZE(never); i++)
		bad += R(never[i]) != EPERM || W(never[i]) != EPERM;
	CHECK(!bad, "EEC, CTRL_EXT, FLA, MDIC, ... the packet buffer: EPERM either way (through pread/pwrite)");
	CHECK(acc(1, 2, 0x0, 0) == EPERM && acc(1, 8, 0x2818, 0) == EPERM && acc(0, 1, 0x8, 0) == EPERM,
	      "32-bit accesses only");
	CHECK(acc(1, 4, 0x5202, 0) == EPERM && W(0x5400 - 4) == 0 && W(0x5200 - 4) == EPERM,
	      "the MTA: aligned words from 0x5200 to 0x53fc");
	CHECK(acc(0, 4, 0x8, 3) == EPERM, "BAR3 (MSI-X): EPERM");
	nic = shim_dev(0x1234, 0x11e8, 0x20);
	CHECK(W(0x10) == 0, "another device: untouched");

	memset(&g, 0, sizeof(g));
	g.version = DBK_POLICY_VERSION;
	g.dev = shim_dev(0x8086, 0x10d3, 0x18);
	g.bar_mask = g.mmap_mask = 1;
	RUN(e1000e_firewall_grant, &g);
	CHECK(!(g.verdict & DBK_POLICY_DENY) && g.nr_mediated == 2 &&
	      g.mediated[0].bar == 0 && g.mediated[0].offset == 0 && g.mediated[0].size == 0x2000 &&
	      g.mediated[1].bar == 0 && g.mediated[1].offset == 0x4000 && g.mediated[1].size == 0x1c000,
	      "grant: BAR0 mediated but 0x2000-0x3fff (left to the driver whole: both queues' registers, FIFO diagnostics)");
	for (i = 1, bad = 0; i < 6; i++) {
		memset(&g, 0, sizeof(g));
		g.version = DBK_POLICY_VERSION;
		g.dev = shim_dev(0x8086, 0x10d3, 0x18);
		g.bar_mask = 1u | 1u << i;
		RUN(e1000e_firewall_grant, &g);
		bad += !(g.verdict & DBK_POLICY_DENY) || g.error != EPERM || g.nr_mediated;
	}
	CHECK(!bad, "grant: BAR0 only: BAR1 to BAR5 in the grant, denied with EPERM");
	memset(&g, 0, sizeof(g));
	g.version = DBK_POLICY_VERSION;
	g.dev = shim_dev(0x8086, 0x10d3, 0x18);
	g.bar_mask = 1;
	g.nr_mediated = DBK_MAX_MEDIATED;
	for (i = 0; i < DBK_MAX_MEDIATED; i++) {
		g.mediated[i].bar = 1;
		g.mediated[i].size = 4;
	}
	RUN(e1000e_firewall_grant, &g);
	CHECK((g.verdict & DBK_POLICY_DENY) && g.error == ENOSPC,
	      "grant: no room to mediate: denied with ENOSPC, never left open");
	memset(&g, 0, sizeof(g));
	g.version = DBK_POLICY_VERSION;
	g.dev = shim_dev(0x8086, 0x10d3, 0x18);
	RUN(e1000e_firewall_grant, &g);
	CHECK((g.verdict & DBK_POLICY_DENY) && g.error == EPERM && !g.nr_mediated,
	      "grant: no BAR0 (its driver could not quiesce the NIC's rings): denied with EPERM");
	memset(&g, 0, sizeof(g));
	g.version = DBK_POLICY_VERSION;
	g.dev = shim_dev(0x1234, 0x11e8, 0x20);
	RUN(e1000e_firewall_grant, &g);
	CHECK(!g.verdict && !g.nr_mediated, "grant: another device's untouched");
	return tap_done();
}
