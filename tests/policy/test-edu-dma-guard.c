// SPDX-License-Identifier: GPL-2.0-only
/* edu_dma_guard's rules, on the host (see shim.h). */
#include "shim.h"
#include "../../policies/src/edu_dma_guard.bpf.c"

#define WIN	0x1230000ULL	/* the grant's DMA buffer */
#define WIN2	0x2000000ULL	/* a second one, 8 KiB */
#define OTHER	0x3450000ULL	/* somebody else's buffer */
#define MS	1000000ULL

static struct dbk_policy_dev edu;

static void grant(void)
{
	struct dbk_policy_grant_ctx g = { .version = DBK_POLICY_VERSION, .dev = edu };

	RUN_GUARD(edu_dma_guard, DBK_GUARD_GRANT, &g);
	shim_now += DEFAULT_BUSY_NS;
}

/* One BAR0 access; returns 0 (allowed) or the errno. */
static int acc(int write, unsigned int width, __u64 off, __u64 value)
{
	struct dbk_policy_access_ctx a = {
		.version = DBK_POLICY_VERSION, .flags = write ? DBK_POLICY_F_WRITE : 0,
		.dev = edu, .bar = 0, .width = width, .offset = off, .value = value,
		.mediated = off >= 0x80 && off < 0xa0, .nr_windows = 2,
		.windows = { { WIN, 4096 }, { WIN2, 8192 } },
	};

	RUN_GUARD(edu_dma_guard, DBK_GUARD_ACCESS, &a);
	if (a.verdict & DBK_POLICY_REWRITE)
		return -1;	/* the guard never rewrites */
	if (a.verdict & DBK_POLICY_DENY)
		return a.error;
	/* The module runs the guard on mediated writes alone, and needs its approval. */
	return !write || a.mediated ? (write && !(a.verdict & DBK_POLICY_APPROVE) ? -2 : 0) : -3;
}

#define W(off, v)	acc(1, 8, off, v)

/* Program a whole transfer and start it. */
static int xfer(__u64 src, __u64 dst, __u64 cnt, int to_ram)
{
	int r;

	if ((r = W(0x80, src)) || (r = W(0x88, dst)) || (r = W(0x90, cnt)))
		return r;
	r = W(0x98, 1 | (to_ram ? 2 : 0));
	if (!r)
		shim_now += DEFAULT_BUSY_NS;
	return r;
}

static void test_grant(void)
{
	struct dbk_policy_grant_ctx g = { .version = DBK_POLICY_VERSION, .dev = edu, .nr_mediated = 1,
					  .mediated = { { .bar = 0, .offset = 0x1000, .size = 0x100 } } };
	int i;

	RUN_GUARD(edu_dma_guard, DBK_GUARD_GRANT, &g);
	CHECK(g.verdict == DBK_POLICY_APPROVE && g.dma_guard == 1 && g.nr_mediated == 2 && g.mediated[1].bar == 0 &&
	      g.mediated[1].offset == 0x80 && g.mediated[1].size == 0x20,
	      "grant: dma_guard set, BAR0 0x80+0x20 added after the driver's range");

	memset(&g, 0, sizeof(g));
	g.version = DBK_POLICY_VERSION;
	g.dev = edu;
	g.nr_mediated = 1;
	g.mediated[0].size = 0x1000;
	RUN_GUARD(edu_dma_guard, DBK_GUARD_GRANT, &g);
	CHECK(g.verdict == DBK_POLICY_APPROVE && g.dma_guard == 1 && g.nr_mediated == 1,
	      "grant: a range covering 0x80..0x9f already there: nothing added");

	memset(&g, 0, sizeof(g));
	g.version = DBK_POLICY_VERSION;
	g.dev = edu;
	g.nr_mediated = DBK_MAX_MEDIATED;
	for (i = 0; i < DBK_MAX_MEDIATED; i++) {
		g.mediated[i].offset = 0x1000 * (i + 1);
		g.mediated[i].size = 4;
	}
	RUN_GUARD(edu_dma_guard, DBK_GUARD_GRANT, &g);
	CHECK((g.verdict & DBK_POLICY_DENY) && g.error == ENOSPC && !g.dma_guard,
	      "grant: no room for the range: denied with ENOSPC");

	memset(&g, 0, sizeof(g));
	g.version = DBK_POLICY_VERSION;
	g.dev = shim_dev(0x8086, 0x10d3, 0x18);
	RUN_GUARD(edu_dma_guard, DBK_GUARD_GRANT, &g);
	CHECK((g.verdict & DBK_POLICY_DENY) && g.error == EPERM && !g.dma_guard && !g.nr_mediated,
	      "grant: another device is refused (this guard guards edu alone)");

	memset(&g, 0, sizeof(g));
	g.version = DBK_POLICY_VERSION;
	g.dev = edu;
	g.dev.grant_flags &= ~DBK_GRANT_F_DMA;
	g.nr_mediated = 1;
	g.mediated[0].size = 0x100;
	RUN_GUARD(edu_dma_guard, DBK_GUARD_GRANT, &g);
	CHECK((g.verdict & DBK_POLICY_DENY) && !g.dma_guard && g.nr_mediated == 1,
	      "grant: an edu grant without DMA is refused, its ranges untouched");

	memset(&g, 0, sizeof(g));
	g.version = DBK_POLICY_VERSION + 1;
	g.dev = edu;
	RUN_GUARD(edu_dma_guard, DBK_GUARD_GRANT, &g);
	CHECK((g.verdict & DBK_POLICY_DENY) && g.error == EPROTO && !g.dma_guard,
	      "grant: a ctx of another version: EPROTO, fail closed");
}

static void test_registers(void)
{
	grant();
	shim_now -= DEFAULT_BUSY_NS;
	CHECK(W(0x80, WIN) == EBUSY, "right after the grant a transfer may still run: EBUSY");
	shim_now += DEFAULT_BUSY_NS;
	CHECK(W(0x80, WIN) == 0, "DMA source inside the grant's buffer: allowed");
	CHECK(W(0x80, WIN + 4095) == 0, "DMA source at the buffer's last byte: allowed");
	CHECK(W(0x80, WIN + 4096) == EPERM, "DMA source one past the buffer: EPERM");
	CHECK(W(0x88, OTHER) == EPERM, "DMA destination in another driver's buffer: EPERM");
	CHECK(W(0x88, 0) == EPERM, "DMA destination 0: EPERM");
	CHECK(W(0x88, 0x40000) == 0, "DMA destination the device buffer: allowed");
	CHECK(W(0x88, 0x40ffe) == 0, "DMA destination 0x40ffe: allowed");
	CHECK(W(0x88, 0x40fff) == EPERM, "DMA destination 0x40fff (QEMU aborts on it): EPERM");
	CHECK(W(0x80, 0x3ffff) == EPERM, "DMA source below the device buffer: EPERM");
	CHECK(W(0x80, ~0ULL) == EPERM, "DMA source 2^64-1: EPERM");
	CHECK(acc(1, 4, 0x80, WIN) == 0, "4-byte write of a buffer address: allowed");
	CHECK(acc(1, 4, 0x80, (1ULL << 32) | 0x40000) == 0,
	      "4-byte write: only the low 32 bits count (the device zero-extends)");
	CHECK(acc(1, 2, 0x80, WIN) == EPERM, "2-byte write to the DMA source: EPERM");
	CHECK(acc(1, 1, 0x98, 1) == EPERM, "1-byte write to the DMA command: EPERM");
	CHECK(acc(1, 4, 0x84, 0) == EPERM, "write to 0x84 (upper half of the source): EPERM");
	CHECK(acc(1, 4, 0x9c, 0) == EPERM, "write to 0x9c: EPERM");
	CHECK(W(0x90, 0xffffffffffffULL) == 0, "any count may be written (the start checks it)");
}

static void test_start(void)
{
	grant();
	CHECK(W(0x98, 1) == EPERM, "start with nothing programmed in this grant: EPERM");
	W(0x80, WIN);
	W(0x88, 0x40000);
	CHECK(W(0x98, 1) == EPERM, "start with the count never written: EPERM");
	CHECK(xfer(WIN, 0x40000, 4095, 0) == 0, "RAM -> EDU, 4095 bytes of the buffer: allowed");
	CHECK(xfer(0x40000, WIN, 4095, 1) == 0, "EDU -> RAM, 4095 bytes into the buffer: allowed");
	CHECK(xfer(0x40000, WIN, 4096, 1) == EPERM,
	      "4096 bytes (the device side would reach 0x40fff): EPERM");
	CHECK(xfer(0x40001, WIN, 4095, 1) == EPERM, "device side 0x40001 + 4095: EPERM");
	CHECK(xfer(0x40ffe, WIN, 1, 1) == 0, "the last usable device byte, 1 byte: allowed");
	CHECK(xfer(0x40000, WIN, 0, 1) == EPERM, "count 0 (QEMU aborts on it): EPERM");
	CHECK(xfer(0x40000, WIN + 8, 4095, 1) == EPERM, "RAM side 8 bytes past the buffer's end: EPERM");
	CHECK(xfer(0x40000, WIN2 + 4096, 4095, 1) == 0, "inside the second, 8 KiB buffer: allowed");
	CHECK(xfer(0x40000, WIN + 4000, 200, 1) == EPERM,
	      "a range straddling two buffers' gap: EPERM");
	CHECK(xfer(WIN, 0x40000, 16, 1) == EPERM,
	      "EDU -> RAM with a RAM source and device destination (direction swapped): EPERM");
	CHECK(xfer(0x40000, 0x40800, 16, 1) == EPERM, "EDU -> RAM into the device buffer: EPERM");
	CHECK(xfer(WIN, WIN2, 16, 0) == EPERM, "RAM -> EDU into RAM: EPERM");
	CHECK(xfer(0x40000, WIN, 0x10000000000ULL + 16, 1) == EPERM, "a count over 2^40: EPERM");

	/* The busy window. */
	xfer(WIN, 0x40000, 64, 0);
	shim_now -= DEFAULT_BUSY_NS;
	CHECK(W(0x80, WIN) == EBUSY, "write to the source while the transfer may run: EBUSY");
	CHECK(W(0x98, 1) == EBUSY, "second start while the transfer may run: EBUSY");
	CHECK(acc(1, 8, 0x98, 0) == 0, "command without the start bit: passes (ignored by the device)");
	shim_now += 100 * MS;
	CHECK(W(0x88, 0x40000) == EBUSY, "100 ms later: still EBUSY");
	shim_now += DEFAULT_BUSY_NS - 100 * MS;
	CHECK(W(0x88, 0x40000) == 0, "busy_ns later: allowed again");
	CHECK(W(0x98, 3) == EPERM, "a start reusing recorded values is re-checked (EDU -> RAM, RAM source)");
	CHECK(W(0x98, 1) == 0, "the same values RAM -> EDU: allowed");
}

static void test_threads_and_order(void)
{
	struct dbk_policy_access_ctx a = {
		.version = DBK_POLICY_VERSION, .flags = DBK_POLICY_F_WRITE, .dev = edu,
		.width = 8, .offset = 0x80, .value = WIN, .nr_windows = 1, .windows = { { WIN, 4096 } },
		.verdict = DBK_POLICY_DENY, .error = EACCES,
	};
	__u64 key;
	struct edu_dma_state *s;

	grant();
	shim_tid = 100;
	CHECK(W(0x80, WIN) == 0, "thread 100 writes first: it programs this grant's DMA");
	shim_tid = 101;
	CHECK(W(0x80, WIN) == EPERM, "thread 101 writing a DMA register: EPERM");
	CHECK(acc(1, 8, 0x98, 0) == 0 && W(0x80, WIN) == EPERM,
	      "thread 101 writing a command without start: passes, but hands nothing over");
	shim_tid = 100;
	CHECK(acc(1, 4, 0x98, 0) == 0, "thread 100 writes a command without start: hands over");
	shim_tid = 101;
	CHECK(W(0x80, WIN) == 0, "now thread 101 may program the DMA registers");
	shim_tid = 100;
	CHECK(W(0x80, WIN) == EPERM, "and thread 100 no longer");
	grant();
	CHECK(W(0x80, WIN) == 0, "a new grant: the first thread to write owns it again");

	/* The module clears the verdict: what policies decided is not the guard's. */
	grant();
	RUN_GUARD(edu_dma_guard, DBK_GUARD_ACCESS, &a);
	key = dbk_dev_key(&edu);
	s = shim_lookup(&dma_state, &key);
	CHECK(a.verdict == DBK_POLICY_APPROVE && s && s->valid == V_SRC,
	      "the guard decides on its own verdict, cleared before it runs");

	/* Version and device checks. */
	a.verdict = 0;
	a.error = 0;
	a.version = 7;
	RUN_GUARD(edu_dma_guard, DBK_GUARD_ACCESS, &a);
	CHECK((a.verdict & DBK_POLICY_DENY) && a.error == EPROTO, "access ctx of another version: EPROTO");
	a.version = DBK_POLICY_VERSION;
	a.verdict = 0;
	a.dev = shim_dev(0x1234, 0x11e9, 0x20);
	a.value = OTHER;
	RUN_GUARD(edu_dma_guard, DBK_GUARD_ACCESS, &a);
	CHECK(!a.verdict, "another device id: not guarded");
}

static void test_no_grant_seen(void)
{
	/* Loaded after the grant: no record yet. */
	shim_clear(&dma_state);
	CHECK(W(0x80, WIN) == EBUSY, "no record (loaded after the grant): starts busy");
	shim_now += DEFAULT_BUSY_NS;
	CHECK(W(0x80, WIN) == 0 && W(0x98, 1) == EPERM,
	      "then the registers must be written before a start");
}

/* DMA_UNMAP: approved outside a busy window only (the module fails closed without approval). */
static int unmap(void)
{
	struct dbk_policy_dma_ctx d = { .version = DBK_POLICY_VERSION, .dev = edu,
					.op = DBK_POLICY_DMA_UNMAP, .iova = WIN, .size = 4096 };

	RUN_GUARD(edu_dma_guard, DBK_GUARD_DMA, &d);
	if (d.verdict & DBK_POLICY_DENY)
		return d.error;
	return d.verdict & DBK_POLICY_APPROVE ? 0 : -1;
}

static void test_unmap(void)
{
	struct dbk_policy_dma_ctx d = { .version = DBK_POLICY_VERSION, .dev = edu,
					.op = DBK_POLICY_DMA_ALLOC, .size = 4096 };

	grant();
	CHECK(unmap() == 0, "unmap: idle: approved");
	CHECK(xfer(0x40000, WIN, 64, 1) == 0, "unmap: a transfer started");
	shim_now -= DEFAULT_BUSY_NS;
	CHECK(unmap() == EBUSY, "unmap: while it may run: EBUSY, not approved");
	shim_now += DEFAULT_BUSY_NS;
	CHECK(unmap() == 0, "unmap: busy_ns after the start: approved");
	shim_clear(&dma_state);
	CHECK(unmap() == EBUSY, "unmap: no record (loaded after the grant): EBUSY");
	CHECK(unmap() == EBUSY, "unmap: and a busy window from then on");
	shim_now += DEFAULT_BUSY_NS;
	CHECK(unmap() == 0, "unmap: approved after it");
	RUN_GUARD(edu_dma_guard, DBK_GUARD_DMA, &d);
	CHECK(!d.verdict, "alloc: no verdict (nothing to approve)");
}

static void test_windows(void)
{
	struct dbk_policy_access_ctx a = { .nr_windows = 16 };
	int i;

	for (i = 0; i < 16; i++) {
		a.windows[i].iova = 0x100000ULL * (i + 1);
		a.windows[i].size = 4096;
	}
	CHECK(dbk_in_windows(&a, 0x1000000, 4096), "dbk_in_windows: the 16th window matches");
	a.nr_windows = 15;
	CHECK(!dbk_in_windows(&a, 0x1000000, 4096), "dbk_in_windows: only nr_windows count");
	a.nr_windows = 1000;
	CHECK(dbk_in_windows(&a, 0x100000, 1) && !dbk_in_windows(&a, 0x2000000, 1),
	      "dbk_in_windows: nr_windows past 16 reads 16 slots only");
	CHECK(!dbk_in_windows(&a, 0x100000, 0), "dbk_in_windows: an empty range is never inside");
	a.windows[0].iova = ~0ULL - 8191;
	CHECK(dbk_in_windows(&a, ~0ULL - 8191, 4096) && !dbk_in_windows(&a, ~0ULL - 10, 4096) &&
	      !dbk_in_windows(&a, ~0ULL - 4095, ~0ULL),
	      "dbk_in_windows: ranges at the top of the address space, overflow-safe");
	CHECK(dbk_dev_key(&(struct dbk_policy_dev){ .domain = 1, .bus = 2, .devfn = 0x18 }) ==
	      0x10218, "dbk_dev_key: domain << 16 | bus << 8 | devfn");
}

/* The module turns mastering on for a guarded grant only with the guard's approval. */
static void test_master(void)
{
	struct dbk_policy_master_ctx m = { .version = DBK_POLICY_VERSION, .dev = edu };

	RUN_GUARD(edu_dma_guard, DBK_GUARD_MASTER, &m);
	CHECK(m.verdict == DBK_POLICY_APPROVE, "master: an edu grant with DMA: approved");
	m = (struct dbk_policy_master_ctx){ .version = DBK_POLICY_VERSION, .dev = edu };
	m.dev.grant_flags = DBK_GRANT_F_MSI;
	RUN_GUARD(edu_dma_guard, DBK_GUARD_MASTER, &m);
	CHECK(!m.verdict, "master: an edu grant without DMA (MSI): no verdict");
	m = (struct dbk_policy_master_ctx){ .version = DBK_POLICY_VERSION,
					    .dev = shim_dev(0x8086, 0x10d3, 0x20) };
	m.dev.grant_flags = DBK_GRANT_F_DMA;
	RUN_GUARD(edu_dma_guard, DBK_GUARD_MASTER, &m);
	CHECK(!m.verdict, "master: another device: no verdict");
}

int main(void)
{
	shim_init();
	SHIM_MAP(dma_state);
	SHIM_MAP(config);
	edu = shim_dev(0x1234, 0x11e8, 0x20);
	edu.grant_flags = DBK_GRANT_F_DMA;	/* a grant the guard watches */
	test_grant();
	test_registers();
	test_start();
	test_threads_and_order();
	test_no_grant_seen();
	test_unmap();
	test_windows();
	test_master();
	return tap_done();
}
