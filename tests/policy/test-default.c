// SPDX-License-Identifier: GPL-2.0-only
/* default's limits, on the host (see shim.h). */
#include "shim.h"
#include "../../policies/src/default.bpf.c"

static struct dbk_policy_grant_ctx spec(__u64 cookie, __u32 flags, __u32 bars, __u32 mmap,
					__u32 vectors, __u64 quota)
{
	struct dbk_policy_grant_ctx g = {
		.version = DBK_POLICY_VERSION, .dev = shim_dev(0x1234, 0x11e8, 0x20),
		.bar_mask = bars, .mmap_mask = mmap, .max_vectors = vectors, .dma_quota = quota,
	};

	g.dev.cookie = cookie;
	g.dev.grant_flags = flags;
	return g;
}

static int run(struct dbk_policy_grant_ctx g)
{
	RUN(default_grant, &g);
	return g.verdict & DBK_POLICY_DENY ? g.error : 0;
}

int main(void)
{
	struct dbk_limits l = { .bar_mask = 1, .max_vectors = 1, .dma_quota = 8192,
				.flags = DBK_GRANT_F_MSI | DBK_GRANT_F_DMA };
	__u64 cookie = 7;

	shim_init();
	SHIM_MAP(limits);
	CHECK(run(spec(7, DBK_GRANT_F_ALL, 0x3f, 0x3f, 32, 1 << 30)) == 0,
	      "no limits for the cookie: anything the module allows");
	shim_update(&limits, &cookie, &l, BPF_ANY);
	CHECK(run(spec(7, DBK_GRANT_F_MSI | DBK_GRANT_F_DMA, 1, 1, 1, 8192)) == 0, "exactly the limits: allowed");
	CHECK(run(spec(7, 0, 0, 0, 0, 0)) == 0, "less than the limits: allowed");
	CHECK(run(spec(7, DBK_GRANT_F_MSI, 3, 0, 1, 0)) == EPERM, "BAR1 beyond bar_mask: EPERM");
	CHECK(run(spec(7, DBK_GRANT_F_MSI, 1, 2, 1, 0)) == EPERM, "mmap of BAR1 beyond bar_mask: EPERM");
	CHECK(run(spec(7, DBK_GRANT_F_MSI, 1, 1, 2, 0)) == EPERM, "2 vectors of 1: EPERM");
	CHECK(run(spec(7, DBK_GRANT_F_DMA, 1, 1, 0, 8193)) == EPERM, "DMA quota 1 byte over: EPERM");
	CHECK(run(spec(7, DBK_GRANT_F_DMA | DBK_GRANT_F_UNSAFE_DMA, 1, 1, 0, 4096)) == EPERM,
	      "the unsafe-DMA flag when not listed: EPERM");
	CHECK(run(spec(7, DBK_GRANT_F_CONFIG_WRITE, 1, 1, 0, 0)) == EPERM,
	      "config writes when not listed: EPERM");
	CHECK(run(spec(8, DBK_GRANT_F_ALL, 0x3f, 0, 0, 0)) == 0, "another cookie: not limited");
	return tap_done();
}
