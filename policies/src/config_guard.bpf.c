// SPDX-License-Identifier: GPL-2.0-only
/*
 * config_guard: config-space writes, per device, from an allow-list.
 *
 * The module already refuses writes to what it owns (the standard header
 * but the command register, MSI/MSI-X, PM, PCIe and the other listed
 * capabilities) and everything else without DBK_GRANT_F_CONFIG_WRITE.
 * This policy narrows what is left: a write is allowed if it is the
 * command register (the module hands the hook the resulting 16-bit
 * command at offset 4), or if `allow` has an entry for the device (or
 * for any device, dev = DBK_ANY_DEV) at exactly the write's offset whose
 * value has the write's width bit (1, 2, 4: a DBK_SZ* mask).  Anything
 * else: EPERM.
 *   dbk-policy load cfg config_guard.bpf.o \
 *       --map 'allow[dev=0000:00:04.0,offset=0xc0]=4'
 */
#include <devbroker/policy.h>

#define DBK_ANY_DEV	0xffffffffffffffffULL
#define PCI_COMMAND_OFF	4

struct cfg_key {
	__u64 dev;		/* dbk_dev_key(), or DBK_ANY_DEV */
	__u32 offset;
	__u32 reserved;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct cfg_key);
	__type(value, __u32);	/* DBK_SZ* mask */
} allow SEC(".maps");

static __always_inline int allowed(__u64 dev, __u32 off, __u32 width)
{
	struct cfg_key k = { .dev = dev, .offset = off };
	__u32 *w = bpf_map_lookup_elem(&allow, &k);

	return w && (*w & width);
}

DBK_HOOK(config, config_guard)
{
	__u32 off = ctx->offset, width = ctx->width;

	if (off == PCI_COMMAND_OFF && width == 2)
		return;
	if (allowed(dbk_key(ctx), off, width) || allowed(DBK_ANY_DEV, off, width))
		return;
	dbk_deny(ctx, EPERM);
}

DBK_POLICY_LICENSE("GPL");
