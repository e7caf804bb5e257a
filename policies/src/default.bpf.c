// SPDX-License-Identifier: GPL-2.0-only
/*
 * default: the manifest's rights, enforced in the kernel.  devbrokerd
 * computes a driver's rights from its manifest and the administrator's
 * limits; this policy holds grants to them even if the broker (or anyone
 * with the device node) asks for more.
 *
 * limits maps a grant's policy_cookie to the most it may get:
 *   bar_mask	 BARs (bar_mask and mmap_mask must lie within it)
 *   max_vectors MSI/MSI-X vectors
 *   dma_quota	 DMA bytes
 *   flags	 DBK_GRANT_F_* the grant may carry
 * A grant asking for more is refused with EPERM.  A cookie without an
 * entry is not limited.
 *   dbk-policy load default default.bpf.o \
 *       --map 'limits[7]=bar_mask=1,max_vectors=1,dma_quota=0,flags=0x3'
 */
#include <devbroker/policy.h>

struct dbk_limits {
	__u32 bar_mask;
	__u32 max_vectors;
	__u64 dma_quota;
	__u32 flags;
	__u32 reserved;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct dbk_limits);
} limits SEC(".maps");

DBK_HOOK(grant, default_grant)
{
	__u64 cookie = ctx->dev.cookie;
	struct dbk_limits *l = bpf_map_lookup_elem(&limits, &cookie);

	if (!l)
		return;
	if ((ctx->bar_mask & ~l->bar_mask) || (ctx->mmap_mask & ~l->bar_mask) ||
	    ctx->max_vectors > l->max_vectors || ctx->dma_quota > l->dma_quota ||
	    (ctx->dev.grant_flags & ~l->flags))
		dbk_deny(ctx, EPERM);
}

DBK_POLICY_LICENSE("GPL");
