// SPDX-License-Identifier: GPL-2.0-only
/*
 * edu_dma_guard: DMA safety for QEMU's edu device (1234:11e8) without an
 * IOMMU.  Every address the device could be told to reach is checked
 * against the grant's own DMA buffers, so a guarded grant may master the
 * bus without DBK_GRANT_F_UNSAFE_DMA.
 *
 * edu's DMA engine (QEMU hw/misc/edu.c): 0x80 source, 0x88 destination,
 * 0x90 count, 0x98 command (bit 0 start, bit 1 direction: 0 RAM -> EDU,
 * 1 EDU -> RAM, bit 2 interrupt on completion).  The device side of a
 * transfer is its internal buffer at 0x40000.  The device takes 4- and
 * 8-byte accesses; a 4-byte write at 0x80, 0x88, 0x90 or 0x98 sets the
 * whole 64-bit register to the zero-extended value.  While a transfer
 * runs (100 ms of virtual time after the start) it ignores writes to all
 * four registers; the transfer uses the registers as they were at the start.
 *
 * It is a guard (DBK_GUARD()): devbrokerd hands this program to the module
 * when it creates a grant whose manifest says DMAGuard=edu_dma_guard (and
 * limits.conf allows it), and the module runs it itself on that grant
 * alone, after the attached policies allowed the call.  Only its approval
 * opens what it guards; nothing another policy does can.
 *
 * Grant, edu grants with DMA only: dma_guard = 1, approved, and BAR0 [0x80, 0xa0)
 * is made a mediated range (never mmap()ed: every write reaches the access
 * hook).  Any other grant is refused: this guard guards edu alone.
 *
 * Access, edu only, BAR0 [0x80, 0xa0) writes (the mediated range):
 *  - writes must be 4 or 8 bytes at 0x80, 0x88, 0x90 or 0x98 (EPERM);
 *  - 0x80/0x88: the address must lie in one of the grant's DMA windows
 *    (below edu's 28-bit DMA mask) or in the device buffer (EPERM);
 *  - 0x98 without the start bit: passes (the device ignores it), and
 *    releases the registers (see below);
 *  - 0x98 with the start bit re-checks the whole transfer from the values
 *    recorded for 0x80/0x88/0x90 in this grant: each must have been
 *    written, 0 < count, the device side [a, a + count) within
 *    [0x40000, 0x40fff) (QEMU 7.2 aborts the VM on a range reaching
 *    0x40fff), the RAM side [a, a + count) within one DMA window (EPERM).
 *  - One thread programs a grant's DMA registers: the first that writes
 *    one, until it writes a command without the start bit (a no-op for
 *    the device), which hands them over.  Others get EPERM.  (The module
 *    runs BAR accesses under a shared lock, so two threads' writes could
 *    reach the device in another order than this policy saw them.)
 *  - The module runs the guard last, once every attached policy allowed
 *    the write, so an approved write reaches the device and the record
 *    stays the device's.
 *  - For busy_ns after an allowed start (and after the grant is created),
 *    writes to 0x80..0x98 fail with EBUSY: the device would ignore them
 *    while the transfer runs, and the recorded values would no longer be
 *    the device's.  Drivers wait for completion and retry on EBUSY.
 *    Soundness assumption: a transfer completes within busy_ns of its
 *    start (edu: 100 ms of virtual time plus timer latency).
 *
 * Dma, edu only: DMA_UNMAP is approved outside the busy window, and
 * refused with EBUSY within it (and for a busy window when the guard knows
 * no state).  The module asks with the grant locked against guarded writes.
 *
 * Master, edu grants with DMA only: approved.  The module turns bus
 * mastering on for a guarded grant (command write, MSI) only with this
 * guard's approval.  Config writes past the command register: never
 * approved (edu has no use for them).
 *
 * Maps: dma_state (per device, dbk_dev_key()), config[0] { busy_ns,
 * dma_mask } (0: 500 ms, 2^28 - 1).
 */
#include <devbroker/policy.h>

#include "edu-regs.h"

#define EDU_DMA_REGS	EDU_DMA_SRC	/* the DMA engine: SRC, DST, CNT, CMD */
#define EDU_DMA_REGS_SIZE (EDU_DMA_CMD + 8 - EDU_DMA_SRC)

#define DEFAULT_BUSY_NS		500000000ULL
#define DEFAULT_DMA_MASK	((1ULL << 28) - 1)

#define V_SRC	1U
#define V_DST	2U
#define V_CNT	4U
#define V_ALL	(V_SRC | V_DST | V_CNT)

struct edu_dma_state {
	__u64 src;
	__u64 dst;
	__u64 cnt;
	__u64 busy_until;	/* ktime (ns) until which a transfer may run */
	__u32 valid;		/* V_*: written (and allowed) in this grant */
	__u32 owner;		/* thread id programming the registers, 0: none yet */
};

struct edu_dma_config {
	__u64 busy_ns;		/* 0: DEFAULT_BUSY_NS */
	__u64 dma_mask;		/* 0: DEFAULT_DMA_MASK */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, __u64);
	__type(value, struct edu_dma_state);
} dma_state SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct edu_dma_config);
} config SEC(".maps");

static __always_inline __u64 busy_ns(void)
{
	__u32 zero = 0;
	struct edu_dma_config *c = bpf_map_lookup_elem(&config, &zero);

	return c && c->busy_ns ? c->busy_ns : DEFAULT_BUSY_NS;
}

static __always_inline __u64 dma_mask(void)
{
	__u32 zero = 0;
	struct edu_dma_config *c = bpf_map_lookup_elem(&config, &zero);

	return c && c->dma_mask ? c->dma_mask : DEFAULT_DMA_MASK;
}

/* A fresh record: nothing written yet, and a transfer may still run. */
static __always_inline void state_reset(__u64 key)
{
	struct edu_dma_state s = { .busy_until = bpf_ktime_get_ns() + busy_ns() };

	bpf_map_update_elem(&dma_state, &key, &s, BPF_ANY);
}

static __always_inline void edu_dma_guard_grant(struct dbk_policy_grant_ctx *ctx)
{
	/* Only edu with DMA: a grant without never masters the bus. */
	if (!dbk_dev_is(ctx, EDU_VENDOR, EDU_DEVICE) || !dbk_grant_has(ctx, DBK_GRANT_F_DMA)) {
		dbk_deny(ctx, EPERM);	/* not a device this guard knows */
		return;
	}
	if (dbk_grant_mediate(ctx, 0, EDU_DMA_REGS, EDU_DMA_REGS_SIZE)) {
		dbk_deny(ctx, ENOSPC);	/* no room to mediate the DMA registers */
		return;
	}
	ctx->dma_guard = 1;
	dbk_approve(ctx);
	state_reset(dbk_key(ctx));
}

/* [a, a + n) inside the device buffer the guard allows. */
static __always_inline int in_devbuf(__u64 a, __u64 n)
{
	return dbk_range_in(a, n, EDU_DMA_BASE, EDU_DMA_USABLE);
}

/* [a, a + n) inside one DMA window, and below the device's DMA mask. */
static __always_inline int in_ram(const struct dbk_policy_access_ctx *ctx, __u64 a, __u64 n)
{
	__u64 mask = dma_mask();

	return dbk_in_windows(ctx, a, n) && a <= mask && n - 1 <= mask - a;
}

static __always_inline void edu_dma_guard_access(struct dbk_policy_access_ctx *ctx)
{
	struct edu_dma_state *s;
	__u64 key, off = ctx->offset, v, now, cnt, ram, dev;
	__u32 tid, owner;

	if (!dbk_dev_is(ctx, EDU_VENDOR, EDU_DEVICE) || ctx->bar != 0 ||
	    off < EDU_DMA_REGS || off >= EDU_DMA_REGS + EDU_DMA_REGS_SIZE || !dbk_is_write(ctx))
		return;
	if ((off != EDU_DMA_SRC && off != EDU_DMA_DST && off != EDU_DMA_CNT &&
	     off != EDU_DMA_CMD) || (ctx->width != 4 && ctx->width != 8)) {
		dbk_deny(ctx, EPERM);
		return;
	}
	v = ctx->width == 4 ? (__u32)ctx->value : ctx->value;
	key = dbk_key(ctx);
	tid = (__u32)bpf_get_current_pid_tgid();
	/*
	 * A command without the start bit is ignored by the device; from the
	 * thread programming the registers it hands them over.
	 */
	if (off == EDU_DMA_CMD && !(v & EDU_DMA_START)) {
		s = bpf_map_lookup_elem(&dma_state, &key);
		if (s)
			__sync_val_compare_and_swap(&s->owner, tid, 0);
		dbk_approve(ctx);
		return;
	}

	s = bpf_map_lookup_elem(&dma_state, &key);
	if (!s) {
		/* No record (the map was full at the grant): start from nothing known. */
		state_reset(key);
		s = bpf_map_lookup_elem(&dma_state, &key);
		if (!s) {
			dbk_deny(ctx, EPERM);
			return;
		}
	}
	owner = __sync_val_compare_and_swap(&s->owner, 0, tid);
	if (owner && owner != tid) {
		dbk_deny(ctx, EPERM);
		return;
	}
	now = bpf_ktime_get_ns();
	if (now < s->busy_until) {
		dbk_deny(ctx, EBUSY);
		return;
	}

	switch (off) {
	case EDU_DMA_SRC:
	case EDU_DMA_DST:
		if (!in_devbuf(v, 1) && !in_ram(ctx, v, 1)) {
			dbk_deny(ctx, EPERM);
			return;
		}
		if (off == EDU_DMA_SRC) {
			s->src = v;
			s->valid |= V_SRC;
		} else {
			s->dst = v;
			s->valid |= V_DST;
		}
		dbk_approve(ctx);
		return;
	case EDU_DMA_CNT:
		s->cnt = v;
		s->valid |= V_CNT;
		dbk_approve(ctx);
		return;
	}

	/* The start: the whole transfer, from what the device holds. */
	if ((s->valid & V_ALL) != V_ALL) {
		dbk_deny(ctx, EPERM);
		return;
	}
	cnt = s->cnt;
	if (v & EDU_DMA_TO_RAM) {
		dev = s->src;
		ram = s->dst;
	} else {
		ram = s->src;
		dev = s->dst;
	}
	if (!in_devbuf(dev, cnt) || !in_ram(ctx, ram, cnt)) {
		dbk_deny(ctx, EPERM);
		return;
	}
	s->busy_until = now + busy_ns();
	dbk_approve(ctx);
}

/*
 * No buffer is freed while a transfer into or out of it may still run
 * (the module asks with the grant's lock held, so no start can come in
 * between): the unmap is approved only outside the busy window.  Without
 * a record, the guard knows of no transfer: it waits one busy window out.
 */
static __always_inline void edu_dma_guard_dma(struct dbk_policy_dma_ctx *ctx)
{
	struct edu_dma_state *s;
	__u64 key;

	if (!dbk_dev_is(ctx, EDU_VENDOR, EDU_DEVICE) || ctx->op != DBK_POLICY_DMA_UNMAP)
		return;
	key = dbk_key(ctx);
	s = bpf_map_lookup_elem(&dma_state, &key);
	if (!s) {
		state_reset(key);
		dbk_deny(ctx, EBUSY);
	} else if (bpf_ktime_get_ns() < s->busy_until) {
		dbk_deny(ctx, EBUSY);
	} else {
		dbk_approve(ctx);
	}
}

/* The registers are this guard's to check: mastering is, for a grant it guards. */
static __always_inline void edu_dma_guard_master(struct dbk_policy_master_ctx *ctx)
{
	if (dbk_dev_is(ctx, EDU_VENDOR, EDU_DEVICE) && dbk_grant_has(ctx, DBK_GRANT_F_DMA))
		dbk_approve(ctx);
}

DBK_GUARD(edu_dma_guard)
{
	switch (hook) {
	case DBK_GUARD_GRANT:
		edu_dma_guard_grant(&ctx->grant);
		break;
	case DBK_GUARD_ACCESS:
		edu_dma_guard_access(&ctx->access);
		break;
	case DBK_GUARD_DMA:
		edu_dma_guard_dma(&ctx->dma);
		break;
	case DBK_GUARD_MASTER:
		edu_dma_guard_master(&ctx->master);
		break;
	}
}

DBK_POLICY_LICENSE("GPL");
