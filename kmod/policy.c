// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy hooks: each fills its ctx only when a program is attached (or a
 * guard runs), runs the tracepoint, and turns the verdict into an errno.
 * Programs OR their verdict in, so any deny wins.  A policy can only
 * narrow what the module already allows: every hook runs after the
 * module's own checks, and what a program writes is checked against what
 * the administrator granted.  On a guarded grant what the guard vouches
 * for needs its own approval: attached programs cannot give it.
 */
#include <linux/bpf.h>
#include <linux/filter.h>
#include <linux/pci.h>

#include "dbk.h"

#define CREATE_TRACE_POINTS
#include "dbk_trace.h"

/* The guard reads its ctx through args[0] and the hook in args[1], no further. */
#define DBK_GUARD_ARGS 2

/*
 * DBK_GRANT_F_DMA_GUARDED's program, which the grant holds to its end: no
 * policy loaded or unloaded later changes who guards it.
 */
int dbk_policy_guard_get(struct dbk_grant *g, int fd)
{
	struct bpf_prog *prog = bpf_prog_get_type(fd, BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE);

	bool calls = false;
	u32 i;

	if (IS_ERR(prog))
		return PTR_ERR(prog);
	/* A tail call's target is not bounded by its caller's checks: none. */
	mutex_lock(&prog->aux->used_maps_mutex);
	for (i = 0; i < prog->aux->used_map_cnt; i++)
		calls |= prog->aux->used_maps[i]->map_type == BPF_MAP_TYPE_PROG_ARRAY ||
			 prog->aux->used_maps[i]->map_type == BPF_MAP_TYPE_ARRAY_OF_MAPS ||
			 prog->aux->used_maps[i]->map_type == BPF_MAP_TYPE_HASH_OF_MAPS;
	mutex_unlock(&prog->aux->used_maps_mutex);
	/* The checks bpf_probe_register() makes at attach time, for our buffer. */
	if (calls || prog->aux->max_tp_access > sizeof(union dbk_policy_guard_ctx) ||
	    prog->aux->max_ctx_offset > DBK_GUARD_ARGS * sizeof(u64)) {
		bpf_prog_put(prog);
		return -EINVAL;
	}
	g->guard = prog;
	return 0;
}

/*
 * The guard's say on a call the attached programs allowed in @u.  They
 * may have written every byte of it: the guard runs on @gu, the module's
 * own ctx (a copy made before they ran, or filled afresh), its verdict
 * cleared, as a tracepoint would run it (RCU, no preemption).  Unless it
 * approves without denying, @u is denied with its errno.  Every ctx
 * begins with version, verdict and error.
 */
static void dbk_policy_guard_run(struct dbk_grant *g, u32 hook, union dbk_policy_guard_ctx *u,
				 union dbk_policy_guard_ctx *gu)
{
	u64 args[DBK_GUARD_ARGS] = { (unsigned long)gu, hook };

	if (u->master.verdict & DBK_POLICY_DENY)
		return;
	gu->master.verdict = 0;
	gu->master.error = 0;
	rcu_read_lock();
	preempt_disable();
	bpf_prog_run(g->guard, args);
	preempt_enable();
	rcu_read_unlock();
	if ((gu->master.verdict & (DBK_POLICY_APPROVE | DBK_POLICY_DENY)) != DBK_POLICY_APPROVE) {
		u->master.error = gu->master.error;
		u->master.verdict |= DBK_POLICY_DENY;
	}
}

static void dbk_policy_dev(struct dbk_grant *g, struct dbk_policy_dev *d)
{
	struct pci_dev *pdev = g->dev->pdev;

	d->cookie = g->cookie;
	d->domain = pci_domain_nr(pdev->bus);
	d->bus = pdev->bus->number;
	d->devfn = pdev->devfn;
	d->vendor = pdev->vendor;
	d->device = pdev->device;
	d->grant_flags = g->flags;
}

/* A denial: reported, and the program's errno if it is a real one (not ERESTART*, say). */
static int dbk_policy_denied(struct dbk_grant *g, u32 op, u64 what, u64 value, s32 err)
{
	struct dbk_policy_denied_ctx ctx = { .version = DBK_POLICY_VERSION, .op = op,
					     .what = what, .value = value };

	ctx.error = err > 0 && err <= EHWPOISON ? err : EPERM;
	dbk_policy_dev(g, &ctx.dev);
	trace_dbk_policy_denied(&ctx);
	return -ctx.error;
}

static void dbk_policy_grant_fill(struct dbk_grant *g, struct dbk_policy_grant_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->version = DBK_POLICY_VERSION;
	dbk_policy_dev(g, &ctx->dev);
	ctx->bar_mask = g->bar_mask;
	ctx->mmap_mask = g->mmap_mask;
	ctx->max_vectors = g->max_vectors;
	ctx->irq_rate = g->irq_rate;
	ctx->dma_quota = g->dma_quota;
	ctx->has_iommu = g->dev->iommu;
	ctx->nr_mediated = g->nr_mediated;
	memcpy(ctx->mediated, g->mediated, sizeof(ctx->mediated));
}

/* Ranges may be added, never removed or changed; the added ones must be valid.  Kept. */
static int dbk_policy_grant_ranges(struct dbk_grant *g, const struct dbk_policy_grant_ctx *ctx)
{
	u32 i;

	if (ctx->nr_mediated < g->nr_mediated || ctx->nr_mediated > DBK_MAX_MEDIATED ||
	    memcmp(ctx->mediated, g->mediated, g->nr_mediated * sizeof(g->mediated[0])))
		return dbk_policy_denied(g, DBK_DENIED_GRANT, ctx->nr_mediated, 0, EINVAL);
	for (i = g->nr_mediated; i < ctx->nr_mediated; i++)
		if (!dbk_grant_range_valid(g, &ctx->mediated[i]))
			return dbk_policy_denied(g, DBK_DENIED_GRANT, ctx->mediated[i].offset, i,
						 EINVAL);
	memcpy(g->mediated, ctx->mediated, sizeof(g->mediated));
	g->nr_mediated = ctx->nr_mediated;
	return 0;
}

/* At grant creation, before the grant is live: ranges added, then the guard's claim. */
int dbk_policy_grant(struct dbk_grant *g)
{
	union dbk_policy_guard_ctx u;
	struct dbk_policy_grant_ctx *ctx = &u.grant;
	int ret;

	if (!trace_dbk_policy_grant_enabled() && !g->guard)
		return 0;
	dbk_policy_grant_fill(g, ctx);
	trace_dbk_policy_grant(ctx);
	if (ctx->verdict & DBK_POLICY_DENY)
		return dbk_policy_denied(g, DBK_DENIED_GRANT, g->flags, g->bar_mask, ctx->error);
	ret = dbk_policy_grant_ranges(g, ctx);
	if (ret || !g->guard)
		return ret;
	/* The guard sees the grant as the module holds it, and mediates what it guards. */
	dbk_policy_grant_fill(g, ctx);
	dbk_policy_guard_run(g, DBK_GUARD_GRANT, &u, &u);
	if ((ctx->verdict & DBK_POLICY_DENY) || ctx->dma_guard != 1 || !ctx->nr_mediated)
		return dbk_policy_denied(g, DBK_DENIED_GRANT, ctx->dma_guard, ctx->nr_mediated,
					 ctx->error);
	ret = dbk_policy_grant_ranges(g, ctx);
	g->dma_guard = !ret;
	return ret;
}

/* Each BAR pread/pwrite, g->lock held.  @val may be rewritten. */
int dbk_policy_access(struct dbk_grant *g, int bar, u64 off, unsigned int width, u64 *val,
		      bool write)
{
	union dbk_policy_guard_ctx u = { .access.version = DBK_POLICY_VERSION }, gu;
	struct dbk_policy_access_ctx *ctx = &u.access;
	bool guarded = g->dma_guard && write && dbk_mmio_mediated(g, bar, off, width);
	struct dbk_dma_slot *buf;

	lockdep_assert_held(&g->lock);
	if (!trace_dbk_policy_access_enabled() && !guarded)
		return 0;
	dbk_policy_dev(g, &ctx->dev);
	ctx->flags = write ? DBK_POLICY_F_WRITE : 0;
	ctx->bar = bar;
	ctx->width = width;
	ctx->offset = off;
	ctx->value = write ? *val : 0;
	ctx->mediated = dbk_mmio_mediated(g, bar, off, width);
	list_for_each_entry(buf, &g->dma_bufs, node) {
		if (ctx->nr_windows == DBK_POLICY_MAX_WINDOWS)
			break;
		ctx->windows[ctx->nr_windows].iova = buf->iova;
		ctx->windows[ctx->nr_windows++].size = buf->size;
	}
	if (guarded)
		gu = u;
	trace_dbk_policy_access(ctx);
	/*
	 * A guarded write goes through only with the guard's approval, of
	 * the value written: none may be shown or written another.
	 */
	if (guarded && ctx->value != *val)
		ctx->verdict |= DBK_POLICY_DENY;
	if (guarded)
		dbk_policy_guard_run(g, DBK_GUARD_ACCESS, &u, &gu);
	if (ctx->verdict & DBK_POLICY_DENY)
		return dbk_policy_denied(g, write ? DBK_DENIED_WRITE : DBK_DENIED_READ,
					 off, write ? *val : 0, ctx->error);
	if (write && (ctx->verdict & DBK_POLICY_REWRITE))
		*val = ctx->value;
	return 0;
}

/* On a guarded grant config space may hold windows into the BARs (virtio's pci_cfg). */
int dbk_policy_config(struct dbk_grant *g, unsigned int off, unsigned int width, u32 val)
{
	union dbk_policy_guard_ctx u = { .config.version = DBK_POLICY_VERSION }, gu;
	struct dbk_policy_config_ctx *ctx = &u.config;
	bool guarded = g->dma_guard && off != PCI_COMMAND;

	if (!trace_dbk_policy_config_enabled() && !guarded)
		return 0;
	dbk_policy_dev(g, &ctx->dev);
	ctx->offset = off;
	ctx->width = width;
	ctx->value = val;
	gu = u;
	trace_dbk_policy_config(ctx);
	if (guarded)
		dbk_policy_guard_run(g, DBK_GUARD_CONFIG, &u, &gu);
	return ctx->verdict & DBK_POLICY_DENY ?
		dbk_policy_denied(g, DBK_DENIED_CONFIG, off, val, ctx->error) : 0;
}

/* Enabling @count vectors of @index; a policy may lower the rate cap. */
int dbk_policy_irq(struct dbk_grant *g, u32 index, u32 count)
{
	struct dbk_policy_irq_ctx ctx = { .version = DBK_POLICY_VERSION };

	if (!trace_dbk_policy_irq_enabled())
		return 0;
	dbk_policy_dev(g, &ctx.dev);
	ctx.index = index;
	ctx.count = count;
	ctx.rate = g->irq_rate;
	trace_dbk_policy_irq(&ctx);
	if (ctx.verdict & DBK_POLICY_DENY)
		return dbk_policy_denied(g, DBK_DENIED_IRQ, index, count, ctx.error);
	if (ctx.rate && ctx.rate < g->irq_rate)
		WRITE_ONCE(g->irq_rate, ctx.rate);
	return 0;
}

/* DMA_ALLOC and DMA_MAP before any work; DMA_UNMAP with g->lock held for writing. */
int dbk_policy_dma(struct dbk_grant *g, u32 op, u64 iova, u64 size)
{
	union dbk_policy_guard_ctx u = { .dma.version = DBK_POLICY_VERSION }, gu;
	struct dbk_policy_dma_ctx *ctx = &u.dma;
	bool guarded = g->dma_guard && op == DBK_POLICY_DMA_UNMAP;

	if (guarded)
		lockdep_assert_held_write(&g->lock);
	if (!trace_dbk_policy_dma_enabled() && !guarded)
		return 0;
	dbk_policy_dev(g, &ctx->dev);
	ctx->op = op;
	ctx->iova = iova;
	ctx->size = size;
	ctx->dma_used = READ_ONCE(g->dma_used);
	ctx->dma_quota = g->dma_quota;
	gu = u;
	trace_dbk_policy_dma(ctx);
	if (guarded)
		dbk_policy_guard_run(g, DBK_GUARD_DMA, &u, &gu);
	return ctx->verdict & DBK_POLICY_DENY ?
		dbk_policy_denied(g, DBK_DENIED_DMA, iova, size, ctx->error) : 0;
}

/* Bus mastering about to be turned on (command write, MSI); a guard must approve. */
int dbk_policy_master(struct dbk_grant *g)
{
	union dbk_policy_guard_ctx u = { .master.version = DBK_POLICY_VERSION }, gu;
	struct dbk_policy_master_ctx *ctx = &u.master;

	if (!trace_dbk_policy_master_enabled() && !g->dma_guard)
		return 0;
	dbk_policy_dev(g, &ctx->dev);
	gu = u;
	trace_dbk_policy_master(ctx);
	if (g->dma_guard)
		dbk_policy_guard_run(g, DBK_GUARD_MASTER, &u, &gu);
	return ctx->verdict & DBK_POLICY_DENY ?
		dbk_policy_denied(g, DBK_DENIED_MASTER, 0, 0, ctx->error) : 0;
}
