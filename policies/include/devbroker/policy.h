/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file devbroker/policy.h
 * @brief The devbroker policy SDK: write eBPF policies for devbroker.ko.
 *
 * A policy is an eBPF object with one program per hook it cares about.
 * Each hook is a writable raw tracepoint of devbroker.ko whose first
 * argument points to one of the ctx structs of <linux/devbroker.h>
 * ("Policy hooks").  A program reads the request and ORs a verdict in;
 * with several programs on one hook, any deny wins.
 *
 * With this header a policy reads like a short list of rules:
 *
 * @code
 * #include <devbroker/policy.h>
 *
 * DBK_HOOK(access, no_wide_writes)
 * {
 *	if (!dbk_dev_is(ctx, 0x1234, 0x11e8))
 *		return;
 *	if (dbk_is_write(ctx) && ctx->width == 8)
 *		dbk_deny(ctx, EPERM);
 * }
 *
 * DBK_POLICY_LICENSE("GPL");
 * @endcode
 *
 * Build it with
 * `clang -target bpf -O2 -g $(pkg-config --cflags devbroker-policy) -c x.bpf.c`
 * and load it with `dbk-policy load NAME x.bpf.o`.
 *
 * Verifier notes, which every helper here respects:
 *  - The ctx is a tracepoint buffer: only constant offsets may be read or
 *    written ("invalid variable buffer offset" otherwise).  Loops over ctx
 *    arrays are therefore fully unrolled (DBK_UNROLL) with a constant
 *    bound, and written with a single exit (no break, no return inside),
 *    which is what clang can unroll.
 *  - Never assign ctx->verdict: OR into it (dbk_deny(), dbk_rewrite()), or
 *    another program's deny could be undone.
 */
#ifndef DEVBROKER_POLICY_H
#define DEVBROKER_POLICY_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/errno.h>
#include <linux/devbroker.h>
#include <bpf/bpf_helpers.h>

/**
 * The ctx layout (DBK_POLICY_VERSION of <linux/devbroker.h>) this SDK was
 * written for.  Building against a header of another version is an error:
 * the helpers below know the field layout.
 */
#define DBK_POLICY_SDK_VERSION	1

#if !defined(DBK_POLICY_VERSION) || DBK_POLICY_VERSION != DBK_POLICY_SDK_VERSION
#error "devbroker/policy.h: <linux/devbroker.h> has another DBK_POLICY_VERSION than this SDK"
#endif

/** @name Program boilerplate */
/**@{*/

/**
 * Fully unroll the following loop (its bound must be a constant).  Empty
 * for compilers other than clang (host-side unit tests of policy logic).
 */
#ifdef __clang__
#define DBK_UNROLL	_Pragma("clang loop unroll(full)")
#else
#define DBK_UNROLL
#endif

/** The license section every policy needs; "GPL" unlocks every helper. */
#define DBK_POLICY_LICENSE(lic)	char _license[] SEC("license") = lic

/**
 * The typed ctx of hook @p hook (grant, access, config, irq, dma, master)
 * from a raw tracepoint's arguments.
 */
#define dbk_ctx(hook, raw)						\
	((struct dbk_policy_##hook##_ctx *)(unsigned long)(raw)->args[0])

/** @cond */
#define DBK__CTX_ACCESSOR(hook)						\
static __always_inline struct dbk_policy_##hook##_ctx *			\
dbk_##hook##_ctx(struct bpf_raw_tracepoint_args *raw)			\
{									\
	return dbk_ctx(hook, raw);					\
}
/** @endcond */
/**
 * Typed accessors for programs written without DBK_HOOK():
 * dbk_grant_ctx(raw), dbk_access_ctx(raw), dbk_config_ctx(raw),
 * dbk_irq_ctx(raw), dbk_dma_ctx(raw), dbk_master_ctx(raw).
 */
DBK__CTX_ACCESSOR(grant)
DBK__CTX_ACCESSOR(access)
DBK__CTX_ACCESSOR(config)
DBK__CTX_ACCESSOR(irq)
DBK__CTX_ACCESSOR(dma)
DBK__CTX_ACCESSOR(master)

/**
 * Does the module fill the ctx in the layout this program was built for?
 * The kernel refuses to attach a program that reads past its ctx, so an
 * older module is caught at attach time; this catches a newer one.
 */
#define dbk_version_ok(ctx)	((ctx)->version == DBK_POLICY_VERSION)

/**
 * Define the program @p name on hook @p hook.  The body that follows is a
 * function of `ctx`, a pointer to struct dbk_policy_<hook>_ctx, and
 * returns nothing: it denies with dbk_deny(), rewrites with dbk_rewrite(),
 * or just returns (no objection).  A ctx of another version is denied
 * with EPROTO before the body runs: a policy fails closed.
 *
 * @code
 * DBK_HOOK(config, cfg_rules)
 * {
 *	if (ctx->offset != 4)
 *		dbk_deny(ctx, EPERM);
 * }
 * @endcode
 */
#define DBK_HOOK(hook, name)						\
static __always_inline void						\
____##name(struct dbk_policy_##hook##_ctx *ctx);			\
SEC("raw_tp.w/dbk_policy_" #hook)					\
int name(struct bpf_raw_tracepoint_args *raw)				\
{									\
	struct dbk_policy_##hook##_ctx *ctx = dbk_ctx(hook, raw);	\
									\
	if (!dbk_version_ok(ctx))					\
		dbk_deny(ctx, EPROTO);					\
	else								\
		____##name(ctx);					\
	return 0;							\
}									\
static __always_inline void						\
____##name(struct dbk_policy_##hook##_ctx *ctx)

/**
 * Define the DMA guard @p name: one program, never attached, that the
 * module runs itself on each grant created with DBK_GRANT_F_DMA_GUARDED
 * and this program's fd (devbrokerd: the manifest's DMAGuard=), after the
 * attached programs allowed the call.  Its approval (dbk_approve()) alone
 * vouches for what it guards; see "Policy hooks" in <linux/devbroker.h>.
 * The body is a function of `ctx` (union dbk_policy_guard_ctx *) and
 * `hook` (DBK_GUARD_*): pass &ctx->grant, &ctx->access, ... on to
 * per-hook functions.  `dbk-policy load` pins it as the policy's guard.
 *
 * @code
 * DBK_GUARD(my_guard)
 * {
 *	if (hook == DBK_GUARD_MASTER)
 *		dbk_approve(&ctx->master);
 * }
 * @endcode
 */
#define DBK_GUARD(name)							\
static __always_inline void						\
____##name(union dbk_policy_guard_ctx *ctx, __u64 hook);		\
SEC("raw_tp.w")								\
int name(struct bpf_raw_tracepoint_args *raw)				\
{									\
	union dbk_policy_guard_ctx *ctx =				\
		(union dbk_policy_guard_ctx *)(unsigned long)raw->args[0]; \
									\
	if (!dbk_version_ok(&ctx->master))				\
		dbk_deny(&ctx->master, EPROTO);				\
	else								\
		____##name(ctx, raw->args[1]);				\
	return 0;							\
}									\
static __always_inline void						\
____##name(union dbk_policy_guard_ctx *ctx, __u64 hook)

/**@}*/

/** @name Verdicts */
/**@{*/

/**
 * Object: the call fails with @p err (a positive errno; anything else
 * means EPERM).  The first denier's errno is kept.  Works on every ctx.
 */
#define dbk_deny(ctx, err) do {						\
	if (!((ctx)->verdict & DBK_POLICY_DENY)) {			\
		int e_ = (err);						\
		(ctx)->error = e_ > 0 && e_ < 4096 ? e_ : EPERM;	\
	}								\
	(ctx)->verdict |= DBK_POLICY_DENY;				\
} while (0)

/** No objection.  Never writes the verdict: another program's deny stands. */
#define dbk_allow(ctx)	do { (void)(ctx); } while (0)

/** Has a program before this one on the hook denied already? */
#define dbk_denied(ctx)	(((ctx)->verdict & DBK_POLICY_DENY) != 0)

/**
 * Access hook, writes only: write @p v to the device instead of the
 * driver's value.  A deny by any program still wins; if two programs
 * rewrite, the last one's value is written.
 */
static __always_inline void dbk_rewrite(struct dbk_policy_access_ctx *ctx, __u64 v)
{
	if (ctx->flags & DBK_POLICY_F_WRITE) {
		ctx->value = v;
		ctx->verdict |= DBK_POLICY_REWRITE;
	}
}

/**
 * A DMA guard (DBK_GUARD()) vouches for this call.  On a grant it guards
 * the module refuses, unless the guard approved without denying: a write
 * to a mediated range (access; the value must be the one the programs
 * were shown), a DMA_UNMAP (dma), a config write past the command
 * register (config) and bus mastering turned on (master, MSI included).
 * An attached program's approval means nothing.  Works on the access,
 * dma, config and master ctx.
 */
#define dbk_approve(ctx)	((ctx)->verdict |= DBK_POLICY_APPROVE)

/**@}*/

/** @name The device and grant */
/**@{*/

/** Is the hook about a device @p vendor:@p device?  Works on every ctx. */
#define dbk_dev_is(ctx, vendor_, device_)				\
	((ctx)->dev.vendor == (vendor_) && (ctx)->dev.device == (device_))

/**
 * A per-device map key: domain << 16 | bus << 8 | devfn, the number
 * `dbk-policy` also accepts as DDDD:BB:DD.F.  Stable across grants of the
 * device (use ctx->dev.cookie to tell drivers apart).
 */
static __always_inline __u64 dbk_dev_key(const struct dbk_policy_dev *d)
{
	return ((__u64)d->domain << 16) | ((__u64)d->bus << 8) | d->devfn;
}

/** dbk_dev_key() of the device a ctx is about. */
#define dbk_key(ctx)	dbk_dev_key(&(ctx)->dev)

/** Does the grant hold right @p f (DBK_GRANT_F_*)?  Works on every ctx. */
#define dbk_grant_has(ctx, f)	(((ctx)->dev.grant_flags & (f)) == (f))

/**@}*/

/** @name BAR accesses (access hook) */
/**@{*/

/** Is the access a write? */
#define dbk_is_write(ctx)	(((ctx)->flags & DBK_POLICY_F_WRITE) != 0)

/** Access modes for dbk_reg_is() and struct dbk_reg_rule. */
#define DBK_READ	1U
#define DBK_WRITE	2U
#define DBK_RDWR	(DBK_READ | DBK_WRITE)

/** Access widths, as a mask: a rule allowing 4- and 8-byte accesses says DBK_SZ4 | DBK_SZ8. */
#define DBK_SZ1		1U
#define DBK_SZ2		2U
#define DBK_SZ4		4U
#define DBK_SZ8		8U

/**
 * Is the access exactly register @p off of BAR @p bar, in one of the
 * widths @p widths (DBK_SZ* mask) and one of the modes @p modes
 * (DBK_READ, DBK_WRITE)?
 */
static __always_inline int dbk_reg_is(const struct dbk_policy_access_ctx *ctx, __u32 bar,
				      __u64 off, __u32 modes, __u32 widths)
{
	__u32 mode = (ctx->flags & DBK_POLICY_F_WRITE) ? DBK_WRITE : DBK_READ;

	return ctx->bar == bar && ctx->offset == off && (ctx->width & widths) &&
	       (mode & modes);
}

/** One line of a register allow-list (see dbk_reg_allowed()). */
struct dbk_reg_rule {
	__u32 bar;
	__u32 offset;
	__u16 modes;		/**< DBK_READ | DBK_WRITE */
	__u16 widths;		/**< DBK_SZ* mask */
};

/** A struct dbk_reg_rule, e.g. DBK_REG(0, 0x80, DBK_RDWR, DBK_SZ4 | DBK_SZ8). */
#define DBK_REG(bar_, off_, modes_, widths_)				\
	{ .bar = (bar_), .offset = (off_), .modes = (modes_), .widths = (widths_) }

/** The number of elements of an array. */
#define DBK_ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/**
 * Does a rule of the table @p rules (a constant array, at most 64 lines)
 * allow the access?  Use with DBK_ARRAY_SIZE(rules).
 */
#define dbk_reg_allowed(ctx, rules, n) ({				\
	int ok_ = 0;							\
	__u32 i_;							\
	_Static_assert((n) <= 64, "dbk_reg_allowed: at most 64 rules");	\
	DBK_UNROLL							\
	for (i_ = 0; i_ < (n); i_++)					\
		ok_ |= dbk_reg_is((ctx), (rules)[i_].bar, (rules)[i_].offset, \
				  (rules)[i_].modes, (rules)[i_].widths); \
	ok_;								\
})

/**
 * Does [@p addr, @p addr + @p len) lie inside one DMA window (one DMA
 * buffer of the grant, ctx->windows)?  False for @p len 0 and for ranges
 * that wrap around 2^64.  The loop is unrolled over the
 * DBK_POLICY_MAX_WINDOWS slots, as the verifier wants.
 */
static __always_inline int dbk_in_windows(const struct dbk_policy_access_ctx *ctx, __u64 addr,
					  __u64 len)
{
	__u32 i, n = ctx->nr_windows;
	int found = 0;

	if (len == 0 || addr + len < addr)
		return 0;
	/* One exit, no break: what clang unrolls fully. */
	DBK_UNROLL
	for (i = 0; i < DBK_POLICY_MAX_WINDOWS; i++) {
		if (i < n && addr >= ctx->windows[i].iova && len <= ctx->windows[i].size &&
		    addr - ctx->windows[i].iova <= ctx->windows[i].size - len)
			found = 1;
	}
	return found;
}

/** Does [@p addr, @p addr + @p len) lie inside [@p base, @p base + @p size)?  Overflow-safe; false for len 0. */
static __always_inline int dbk_range_in(__u64 addr, __u64 len, __u64 base, __u64 size)
{
	return len != 0 && addr >= base && len <= size && addr - base <= size - len;
}

/**@}*/

/** @name Interrupt hook */
/**@{*/

/**
 * Cap the grant's interrupt rate (interrupts per second, all vectors) at
 * @p rate.  Only ever lowers it; the module keeps the lower cap for the
 * rest of the grant's life.  0 is ignored.
 */
static __always_inline void dbk_irq_cap(struct dbk_policy_irq_ctx *ctx, __u32 rate)
{
	if (rate && (!ctx->rate || rate < ctx->rate))
		ctx->rate = rate;
}

/**@}*/

/** @name Grant hook */
/**@{*/

/**
 * Make sure [@p offset, @p offset + @p size) of BAR @p bar is a mediated
 * range of the grant (pread/pwrite only, never mmap()ed, so that every
 * access reaches the access hook).  Returns 0 if it is already one (an
 * existing range covers it) or was added, -1 if the table is full.
 */
static __always_inline int dbk_grant_mediate(struct dbk_policy_grant_ctx *ctx, __u32 bar,
					     __u64 offset, __u64 size)
{
	__u32 i, n = ctx->nr_mediated;
	int covered = 0, added = 0;

	DBK_UNROLL
	for (i = 0; i < DBK_MAX_MEDIATED; i++) {
		if (i < n && ctx->mediated[i].bar == bar &&
		    dbk_range_in(offset, size, ctx->mediated[i].offset, ctx->mediated[i].size))
			covered = 1;
	}
	if (covered)
		return 0;
	DBK_UNROLL
	for (i = 0; i < DBK_MAX_MEDIATED; i++) {
		if (i == n) {
			ctx->mediated[i].bar = bar;
			ctx->mediated[i].reserved = 0;
			ctx->mediated[i].offset = offset;
			ctx->mediated[i].size = size;
			added = 1;
		}
	}
	if (!added)
		return -1;
	ctx->nr_mediated = n + 1;
	return 0;
}

/**@}*/

#endif /* DEVBROKER_POLICY_H */
