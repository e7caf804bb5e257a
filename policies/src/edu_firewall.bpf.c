// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu_firewall: the registers of QEMU's edu device (1234:11e8) a driver
 * may touch, with their access widths.  Every other pread/pwrite of an
 * edu BAR fails with EPERM.  Only pread/pwrite reach the hook: pages a
 * grant lets the driver mmap() bypass it, so grant edu's BAR0 without
 * mmap_mask (or mediate it) when this firewall must hold for every access.
 *
 * Scope: scope[0] == 0 (the default): every edu device; 1: only the
 * devices with an entry in `devices` (key dbk_dev_key(), any value).
 *   dbk-policy load fw edu_firewall.bpf.o --map 'scope[0]=1' \
 *       --map 'devices[0000:00:04.0]=1'
 */
#include <devbroker/policy.h>

static const struct dbk_reg_rule edu_regs[] = {
	DBK_REG(0, 0x00, DBK_READ, DBK_SZ4),		/* identification */
	DBK_REG(0, 0x04, DBK_RDWR, DBK_SZ4),		/* liveness check */
	DBK_REG(0, 0x08, DBK_RDWR, DBK_SZ4),		/* factorial */
	DBK_REG(0, 0x20, DBK_RDWR, DBK_SZ4),		/* status */
	DBK_REG(0, 0x24, DBK_READ, DBK_SZ4),		/* interrupt status */
	DBK_REG(0, 0x60, DBK_WRITE, DBK_SZ4),		/* raise interrupt */
	DBK_REG(0, 0x64, DBK_WRITE, DBK_SZ4),		/* acknowledge interrupt */
	DBK_REG(0, 0x80, DBK_RDWR, DBK_SZ4 | DBK_SZ8),	/* DMA source */
	DBK_REG(0, 0x88, DBK_RDWR, DBK_SZ4 | DBK_SZ8),	/* DMA destination */
	DBK_REG(0, 0x90, DBK_RDWR, DBK_SZ4 | DBK_SZ8),	/* DMA count */
	DBK_REG(0, 0x98, DBK_RDWR, DBK_SZ4 | DBK_SZ8),	/* DMA command */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} scope SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, __u32);
} devices SEC(".maps");

static __always_inline int in_scope(const struct dbk_policy_access_ctx *ctx)
{
	__u32 zero = 0, *only_listed = bpf_map_lookup_elem(&scope, &zero);
	__u64 key = dbk_key(ctx);

	return !only_listed || !*only_listed || bpf_map_lookup_elem(&devices, &key);
}

DBK_HOOK(access, edu_firewall)
{
	if (!dbk_dev_is(ctx, 0x1234, 0x11e8) || !in_scope(ctx))
		return;
	if (!dbk_reg_allowed(ctx, edu_regs, DBK_ARRAY_SIZE(edu_regs)))
		dbk_deny(ctx, EPERM);
}

DBK_POLICY_LICENSE("GPL");
