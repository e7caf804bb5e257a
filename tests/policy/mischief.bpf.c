// SPDX-License-Identifier: GPL-2.0-only
/*
 * mischief: a test policy that tries to widen rights or to stretch the
 * module's race windows, never shipped.  Each trick applies only to grants
 * whose policy cookie names it (tests/policy/policy-test.c), so that other
 * grants of the same boot are left alone:
 *
 *  UNMEDIATE  grant: shrink the administrator's first mediated range to nothing
 *  BAREGUARD  grant: claim a DMA guard that mediates nothing
 *  REWRITE    access: rewrite writes to edu's DMA destination (0x88) to 0x1000
 *  EDIT       access: show the next programs the first DMA window as the value
 *             written to 0x88, without REWRITE (the module writes the original)
 *  ERRNO      access: deny reads of register 0 with errno[0] (any number)
 *  SPIN       dma: spin 200 ms on DMA_UNMAP before any verdict;
 *             config: spin 200 ms on a command register write
 *  APPROVE    grant: claim a guard; access, config, dma, master: approve
 *             (only the grant's own guard may: R4-1)
 */
#include <devbroker/policy.h>

#include "mischief.h"

/*
 * Long enough that the racing call, made 50 ms after the spinning one's
 * thread was started, meets it inside the hook even on a loaded TCG host
 * (a 20 ms hold with a 5 ms start lost the race once in CI).
 */
#define SPIN_NS			200000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __s32);
} errno_val SEC(".maps");

static long spin_step(__u32 i, void *deadline)
{
	return bpf_ktime_get_ns() > *(__u64 *)deadline;
}

static __always_inline void spin(void)
{
	__u64 deadline = bpf_ktime_get_ns() + SPIN_NS;

	bpf_loop(1 << 23, spin_step, &deadline, 0);
}

DBK_HOOK(grant, mischief_grant)
{
	if (ctx->dev.cookie == MISCHIEF_UNMEDIATE && ctx->nr_mediated)
		ctx->mediated[0].size = 0;
	if (ctx->dev.cookie == MISCHIEF_BAREGUARD || ctx->dev.cookie == MISCHIEF_APPROVE)
		ctx->dma_guard = 1;
}

DBK_HOOK(access, mischief_access)
{
	__u32 zero = 0;
	__s32 *e;

	if (ctx->dev.cookie == MISCHIEF_APPROVE)
		dbk_approve(ctx);
	if (ctx->dev.cookie == MISCHIEF_REWRITE && dbk_is_write(ctx) && ctx->offset == 0x88)
		dbk_rewrite(ctx, 0x1000);
	if (ctx->dev.cookie == MISCHIEF_EDIT && dbk_is_write(ctx) && ctx->offset == 0x88 &&
	    ctx->nr_windows)
		ctx->value = ctx->windows[0].iova;
	/* R5: widen the DMA windows the guard checks against (all of edu's 28 bits) */
	if (ctx->dev.cookie == MISCHIEF_WIDEN && dbk_is_write(ctx)) {
		ctx->nr_windows = 1;
		ctx->windows[0].iova = 0;
		ctx->windows[0].size = 1ULL << 28;
	}
	/* R5: show the guard a DMA destination write as a count write */
	if (ctx->dev.cookie == MISCHIEF_OFFSET && dbk_is_write(ctx) && ctx->offset == 0x88 &&
	    !dbk_in_windows(ctx, ctx->value, 1) && !dbk_range_in(ctx->value, 1, 0x40000, 0x1000))
		ctx->offset = 0x90;
	if (ctx->dev.cookie == MISCHIEF_ERRNO && !dbk_is_write(ctx) && ctx->offset == 0) {
		e = bpf_map_lookup_elem(&errno_val, &zero);
		ctx->error = e ? *e : 0;
		ctx->verdict |= DBK_POLICY_DENY;
	}
}

DBK_HOOK(dma, mischief_dma)
{
	if (ctx->dev.cookie == MISCHIEF_SPIN && ctx->op == DBK_POLICY_DMA_UNMAP)
		spin();
	/* R5: make the guard look up another device's record (dbk_dev_key) */
	if (ctx->dev.cookie == MISCHIEF_REKEY)
		ctx->dev.devfn ^= 0x80;
	if (ctx->dev.cookie == MISCHIEF_APPROVE)
		dbk_approve(ctx);
}

DBK_HOOK(config, mischief_config)
{
	if (ctx->dev.cookie == MISCHIEF_SPIN && ctx->offset == 4)
		spin();
	if (ctx->dev.cookie == MISCHIEF_APPROVE)
		dbk_approve(ctx);
}

DBK_HOOK(master, mischief_master)
{
	if (ctx->dev.cookie == MISCHIEF_APPROVE)
		dbk_approve(ctx);
}

DBK_POLICY_LICENSE("GPL");
