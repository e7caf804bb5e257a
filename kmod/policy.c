// SPDX-License-Identifier: GPL-2.0-only
/*
 * Policy hooks: each fills its ctx only when a program is attached, runs
 * the tracepoint, and turns the verdict into an errno.  Programs OR their
 * verdict in, so any deny wins.  A policy can only narrow what the module
 * already allows: every hook runs after the module's own checks.
 */
#include <linux/pci.h>
#include <linux/cred.h>

#include "dbk.h"

#define CREATE_TRACE_POINTS
#include "dbk_trace.h"

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

/* A denial: traced, and the program's errno if it is a sane one. */
static int dbk_policy_denied(struct dbk_grant *g, const char *hook, u64 what, u64 value, s32 err)
{
	if (err <= 0 || err >= MAX_ERRNO)
		err = EPERM;
	trace_dbk_policy_denied(hook, pci_name(g->dev->pdev), g->cookie, what, value, err);
	return -err;
}

/* At grant creation, before the grant is live.  May add mediated ranges and set dma_guard. */
int dbk_policy_grant(struct dbk_grant *g)
{
	struct dbk_policy_grant_ctx ctx = { .version = DBK_POLICY_VERSION };
	u32 i;

	if (!trace_dbk_policy_grant_enabled())
		return 0;
	dbk_policy_dev(g, &ctx.dev);
	ctx.bar_mask = g->bar_mask;
	ctx.mmap_mask = g->mmap_mask;
	ctx.max_vectors = g->max_vectors;
	ctx.irq_rate = g->irq_rate;
	ctx.dma_quota = g->dma_quota;
	ctx.has_iommu = g->dev->iommu;
	ctx.nr_mediated = g->nr_mediated;
	memcpy(ctx.mediated, g->mediated, sizeof(ctx.mediated));
	trace_dbk_policy_grant(&ctx);
	if (ctx.verdict & DBK_POLICY_DENY)
		return dbk_policy_denied(g, "grant", g->flags, g->bar_mask, ctx.error);
	/* Ranges may be added, never removed; the added ones must be valid. */
	if (ctx.nr_mediated < g->nr_mediated || ctx.nr_mediated > DBK_MAX_MEDIATED)
		return dbk_policy_denied(g, "grant", ctx.nr_mediated, 0, EINVAL);
	for (i = g->nr_mediated; i < ctx.nr_mediated; i++)
		if (!dbk_grant_range_valid(g, &ctx.mediated[i]))
			return dbk_policy_denied(g, "grant", ctx.mediated[i].offset, i, EINVAL);
	memcpy(g->mediated, ctx.mediated, sizeof(g->mediated));
	g->nr_mediated = ctx.nr_mediated;
	g->dma_guard = ctx.dma_guard == 1;
	return 0;
}

/* Each BAR pread/pwrite, g->lock held.  @val may be rewritten. */
int dbk_policy_access(struct dbk_grant *g, int bar, u64 off, unsigned int width, u64 *val,
		      bool write)
{
	struct dbk_policy_access_ctx ctx = { .version = DBK_POLICY_VERSION };
	bool mediated = dbk_mmio_mediated(g, bar, off, width);
	struct dbk_dma_buf *buf;

	lockdep_assert_held(&g->lock);
	if (!trace_dbk_policy_access_enabled()) {
		/* The guard went away: its registers stay shut (fail closed). */
		return g->dma_guard && write && mediated ?
			dbk_policy_denied(g, "access", off, *val, EPERM) : 0;
	}
	dbk_policy_dev(g, &ctx.dev);
	ctx.flags = write ? DBK_POLICY_F_WRITE : 0;
	ctx.bar = bar;
	ctx.width = width;
	ctx.offset = off;
	ctx.value = write ? *val : 0;
	ctx.mediated = mediated;
	list_for_each_entry(buf, &g->dma_bufs, node) {
		if (ctx.nr_windows == DBK_POLICY_MAX_WINDOWS)
			break;
		ctx.windows[ctx.nr_windows].iova = buf->iova;
		ctx.windows[ctx.nr_windows++].size = buf->size;
	}
	trace_dbk_policy_access(&ctx);
	/* On a guarded grant only the guard's approval opens a mediated register. */
	if (g->dma_guard && write && mediated && !(ctx.verdict & DBK_POLICY_APPROVE))
		ctx.verdict |= DBK_POLICY_DENY;
	if (ctx.verdict & DBK_POLICY_DENY)
		return dbk_policy_denied(g, write ? "write" : "read", off, write ? *val : 0,
					 ctx.error);
	if (write && (ctx.verdict & DBK_POLICY_REWRITE))
		*val = ctx.value;
	return 0;
}

int dbk_policy_config(struct dbk_grant *g, unsigned int off, unsigned int width, u32 val)
{
	struct dbk_policy_config_ctx ctx = { .version = DBK_POLICY_VERSION };

	if (!trace_dbk_policy_config_enabled())
		return 0;
	dbk_policy_dev(g, &ctx.dev);
	ctx.offset = off;
	ctx.width = width;
	ctx.value = val;
	trace_dbk_policy_config(&ctx);
	return ctx.verdict & DBK_POLICY_DENY ?
		dbk_policy_denied(g, "config", off, val, ctx.error) : 0;
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
		return dbk_policy_denied(g, "irq", index, count, ctx.error);
	if (ctx.rate && ctx.rate < g->irq_rate)
		WRITE_ONCE(g->irq_rate, ctx.rate);
	return 0;
}

int dbk_policy_dma(struct dbk_grant *g, u32 op, u64 iova, u64 size)
{
	struct dbk_policy_dma_ctx ctx = { .version = DBK_POLICY_VERSION };

	if (!trace_dbk_policy_dma_enabled())
		return 0;
	dbk_policy_dev(g, &ctx.dev);
	ctx.op = op;
	ctx.iova = iova;
	ctx.size = size;
	ctx.dma_used = READ_ONCE(g->dma_used);
	ctx.dma_quota = g->dma_quota;
	trace_dbk_policy_dma(&ctx);
	return ctx.verdict & DBK_POLICY_DENY ?
		dbk_policy_denied(g, "dma", iova, size, ctx.error) : 0;
}

/* Bus mastering about to be turned on (by a command write or for MSI). */
int dbk_policy_master(struct dbk_grant *g)
{
	struct dbk_policy_master_ctx ctx = { .version = DBK_POLICY_VERSION };

	if (!trace_dbk_policy_master_enabled())
		return 0;
	dbk_policy_dev(g, &ctx.dev);
	trace_dbk_policy_master(&ctx);
	return ctx.verdict & DBK_POLICY_DENY ?
		dbk_policy_denied(g, "master", 0, 0, ctx.error) : 0;
}
