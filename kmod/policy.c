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
	/*
	 * The checks bpf_probe_register() makes at attach time, for our buffer; and no
	 * freplace program in its place (its code is not checked against the buffer).
	 */
	if (calls || READ_ONCE(prog->aux->is_extended) ||
	    prog->aux->max_tp_access > sizeof(union dbk_policy_guard_ctx) ||
	    prog->aux->max_ctx_offset > DBK_GUARD_ARGS * sizeof(u64)) {
		bpf_prog_put(prog);
		return -EINVAL;
	}
	g->guard = prog;
	return 0;
}

/*
 * A hook's call as the module holds it, whence its ctx is filled for the attached
 * programs and, once they returned, afresh for the guard: what they wrote in theirs
 * is never shown to the guard (past it, through a tail call, see dbk_policy_run()).
 */
struct dbk_policy_call {
	u32 hook;			/* DBK_GUARD_* */
	u32 denied;			/* DBK_DENIED_* */
	u64 off;			/* access, config; dma: the IOVA */
	u64 val;			/* a write's value; dma: the size */
	u32 flags;			/* access: DBK_POLICY_F_WRITE */
	u32 bar;			/* access */
	u32 width;			/* access, config */
	u32 op;				/* dma: DBK_POLICY_DMA_* */
};

/*
 * @c's ctx, from the module's own state: what a guarded call reads of
 * the grant cannot change under it (DMA buffers and dma_used change with
 * g->lock held for writing; the ranges and quota are fixed once the grant
 * is live).  Every ctx begins as master's: version, verdict, error, a word, dev.
 * No byte bpf_probe_register() lets a program read is left as the stack had it
 * (@guard: the whole union); notrace, so no fentry program sees it half-filled.
 * (Tail-call targets and extensions are not bounded: a kernel gap, R5-2.)
 */
static notrace void dbk_policy_fill(struct dbk_grant *g, const struct dbk_policy_call *c,
				    union dbk_policy_guard_ctx *u, bool guard)
{
	struct dbk_dma_slot *buf;

	/* The hot hook: its programs are bound to its ctx (DECLARE_TRACE_WRITABLE). */
	memset(u, 0, c->hook == DBK_GUARD_ACCESS && !guard ? sizeof(u->access) : sizeof(*u));
	u->master.version = DBK_POLICY_VERSION;
	u->master.dev = g->policy_dev;
	switch (c->hook) {
	case DBK_GUARD_GRANT:
		u->grant.bar_mask = g->bar_mask;
		u->grant.mmap_mask = g->mmap_mask;
		u->grant.max_vectors = g->max_vectors;
		u->grant.irq_rate = g->irq_rate;
		u->grant.dma_quota = g->dma_quota;
		u->grant.has_iommu = g->dev->iommu;
		u->grant.nr_mediated = g->nr_mediated;
		memcpy(u->grant.mediated, g->mediated, sizeof(u->grant.mediated));
		break;
	case DBK_GUARD_ACCESS:
		u->access.flags = c->flags;
		u->access.bar = c->bar;
		u->access.width = c->width;
		u->access.offset = c->off;
		u->access.value = c->val;
		u->access.mediated = dbk_mmio_mediated(g, c->bar, c->off, c->width);
		list_for_each_entry(buf, &g->dma_bufs, node) {
			if (u->access.nr_windows == DBK_POLICY_MAX_WINDOWS)
				break;
			u->access.windows[u->access.nr_windows].iova = buf->iova;
			u->access.windows[u->access.nr_windows++].size = buf->size;
		}
		break;
	case DBK_GUARD_CONFIG:
		u->config.offset = c->off;
		u->config.width = c->width;
		u->config.value = c->val;
		break;
	case DBK_GUARD_DMA:
		u->dma.op = c->op;
		u->dma.iova = c->off;
		u->dma.size = c->val;
		u->dma.dma_used = READ_ONCE(g->dma_used);
		u->dma.dma_quota = g->dma_quota;
		break;
	}
}

/* The guard on @u, filled afresh, run as a tracepoint would (RCU, no preemption). */
static bool dbk_policy_guard_run(struct dbk_grant *g, u32 hook, union dbk_policy_guard_ctx *u)
{
	u64 args[DBK_GUARD_ARGS] = { (unsigned long)u, hook };

	rcu_read_lock();
	preempt_disable();
	bpf_prog_run(g->guard, args);
	preempt_enable();
	rcu_read_unlock();
	/*
	 * Extended since the grant took it: an extension replaces the guard's code
	 * unchecked.  6.1 sets is_extended before it patches the code, so a run that
	 * was already the extension's sees it set afterwards.
	 */
	if (READ_ONCE(g->guard->aux->is_extended))
		return false;
	return (u->master.verdict & (DBK_POLICY_APPROVE | DBK_POLICY_DENY)) == DBK_POLICY_APPROVE;
}

/* A denial: reported, and the program's errno if it is a real one (not ERESTART*, say). */
static int dbk_policy_denied(struct dbk_grant *g, u32 op, u64 what, u64 value, s32 err)
{
	struct dbk_policy_denied_ctx ctx = { .version = DBK_POLICY_VERSION, .op = op,
					     .what = what, .value = value };

	ctx.error = err > 0 && err <= EHWPOISON ? err : EPERM;
	ctx.dev = g->policy_dev;
	trace_dbk_policy_denied(&ctx);
	return -ctx.error;
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
	struct dbk_policy_call c = { .hook = DBK_GUARD_GRANT };
	union dbk_policy_guard_ctx u __uninitialized;
	struct dbk_policy_grant_ctx *ctx = &u.grant;
	int ret;

	if (!trace_dbk_policy_grant_enabled() && !g->guard)
		return 0;
	dbk_policy_fill(g, &c, &u, false);
	trace_dbk_policy_grant(ctx);
	if (ctx->verdict & DBK_POLICY_DENY)
		return dbk_policy_denied(g, DBK_DENIED_GRANT, g->flags, g->bar_mask, ctx->error);
	ret = dbk_policy_grant_ranges(g, ctx);
	if (ret || !g->guard)
		return ret;
	/* The guard sees the grant as the module holds it, and mediates what it guards. */
	dbk_policy_fill(g, &c, &u, true);
	if (!dbk_policy_guard_run(g, DBK_GUARD_GRANT, &u) || ctx->dma_guard != 1 ||
	    !ctx->nr_mediated)
		return dbk_policy_denied(g, DBK_DENIED_GRANT, ctx->dma_guard, ctx->nr_mediated,
					 ctx->error);
	ret = dbk_policy_grant_ranges(g, ctx);
	g->dma_guard = !ret;
	return ret;
}

/*
 * Out of line, so that an unwatched call costs no ctx: the attached programs' verdict
 * on @c, then, if they allowed and @guarded, the guard's approval (without a deny).
 * @val: an access's, which REWRITE may change.
 */
static noinline int dbk_policy_run(struct dbk_grant *g, const struct dbk_policy_call *c,
				   bool guarded, u64 *val)
{
	union dbk_policy_guard_ctx u __uninitialized;	/* cleared once, by dbk_policy_fill() */
	u64 value;
	u32 verdict;
	s32 error;

	dbk_policy_fill(g, c, &u, false);
	if (c->hook == DBK_GUARD_ACCESS)
		trace_dbk_policy_access(&u.access);
	else if (c->hook == DBK_GUARD_CONFIG)
		trace_dbk_policy_config(&u.config);
	else if (c->hook == DBK_GUARD_DMA)
		trace_dbk_policy_dma(&u.dma);
	else
		trace_dbk_policy_master(&u.master);
	verdict = u.master.verdict;
	error = u.master.error;
	value = c->hook == DBK_GUARD_ACCESS ? u.access.value : 0;
	/*
	 * A guarded write goes through only with the guard's approval of the value written:
	 * the one it is shown (c->val) must be the ctx's and the caller's, which a tail-call
	 * target writing past the buffer could have changed.  (Such a target can write the
	 * whole stack above it: a kernel gap, that of any root BPF program, which no check
	 * here closes; dbk-policy refuses program arrays.)
	 */
	if (guarded && c->hook == DBK_GUARD_ACCESS && (value != c->val || *val != c->val))
		verdict |= DBK_POLICY_DENY;
	if (guarded && !(verdict & DBK_POLICY_DENY)) {
		dbk_policy_fill(g, c, &u, true);
		if (!dbk_policy_guard_run(g, c->hook, &u)) {
			verdict |= DBK_POLICY_DENY;
			error = u.master.error;
		}
	}
	if (verdict & DBK_POLICY_DENY)
		return dbk_policy_denied(g, c->denied, c->off, c->val, error);
	if ((c->flags & DBK_POLICY_F_WRITE) && (verdict & DBK_POLICY_REWRITE))
		*val = value;
	return 0;
}

/* Each BAR pread/pwrite, g->lock held.  @val may be rewritten. */
int dbk_policy_access(struct dbk_grant *g, int bar, u64 off, unsigned int width, u64 *val,
		      bool write)
{
	struct dbk_policy_call c = { .hook = DBK_GUARD_ACCESS, .off = off, .bar = bar,
				     .width = width, .val = write ? *val : 0,
				     .flags = write ? DBK_POLICY_F_WRITE : 0,
				     .denied = write ? DBK_DENIED_WRITE : DBK_DENIED_READ };
	bool guarded = g->dma_guard && write && dbk_mmio_mediated(g, bar, off, width);

	lockdep_assert_held(&g->lock);
	return trace_dbk_policy_access_enabled() || guarded ?
		dbk_policy_run(g, &c, guarded, val) : 0;
}

/* On a guarded grant config space may hold windows into the BARs (virtio's pci_cfg). */
int dbk_policy_config(struct dbk_grant *g, unsigned int off, unsigned int width, u32 val)
{
	struct dbk_policy_call c = { .hook = DBK_GUARD_CONFIG, .denied = DBK_DENIED_CONFIG,
				     .off = off, .val = val, .width = width };
	bool guarded = g->dma_guard && off != PCI_COMMAND;

	return trace_dbk_policy_config_enabled() || guarded ?
		dbk_policy_run(g, &c, guarded, NULL) : 0;
}

/* Enabling @count vectors of @index; a policy may lower the rate cap. */
int dbk_policy_irq(struct dbk_grant *g, u32 index, u32 count)
{
	struct dbk_policy_irq_ctx ctx = { .version = DBK_POLICY_VERSION };

	if (!trace_dbk_policy_irq_enabled())
		return 0;
	ctx.dev = g->policy_dev;
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
	struct dbk_policy_call c = { .hook = DBK_GUARD_DMA, .denied = DBK_DENIED_DMA,
				     .off = iova, .val = size, .op = op };
	bool guarded = g->dma_guard && op == DBK_POLICY_DMA_UNMAP;

	if (guarded)
		lockdep_assert_held_write(&g->lock);
	return trace_dbk_policy_dma_enabled() || guarded ? dbk_policy_run(g, &c, guarded, NULL) : 0;
}

/* Bus mastering about to be turned on (command write, MSI); a guard must approve. */
int dbk_policy_master(struct dbk_grant *g)
{
	struct dbk_policy_call c = { .hook = DBK_GUARD_MASTER, .denied = DBK_DENIED_MASTER };

	return trace_dbk_policy_master_enabled() || g->dma_guard ?
		dbk_policy_run(g, &c, g->dma_guard, NULL) : 0;
}
