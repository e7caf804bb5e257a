/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * --selftest: the driver against the real controller, through the same
 * I/O API the block frontend uses.  TAP on stdout ("ok N - ..."), the
 * driver's log on stderr.  What it checks:
 *
 *  - data: patterns written at many LBAs in 4 KiB .. max_transfer pieces
 *    (one page: PRP1 only; two pages: PRP2; more: a PRP list), on every
 *    I/O queue, many commands per doorbell, read back and compared;
 *  - every queue's completions come through its own MSI-X vector;
 *  - several threads, one per queue, at once;
 *  - Flush; Write Zeroes and Dataset Management (deallocate) when ONCS
 *    has them, and that they leave the neighbouring blocks alone;
 *  - errors come back as NVMe status, not as a crash: a read at and
 *    across the end of the namespace (LBA Out of Range), Identify of a
 *    namespace that does not exist (Invalid Namespace or Format), and our
 *    own checks (too long, misaligned, unknown namespace, queue full);
 *  - a command that never reaches the controller (its doorbell is never
 *    rung) times out, is aborted, then the controller is reset, and I/O
 *    works again with the data intact;
 *  - a controller that cannot post a completion (behind an IOMMU: its CQ
 *    made again at an unmapped IOVA) sets CSTS.CFS; the command times out
 *    and the driver resets the controller at once, without an Abort;
 *  - an explicit reset with commands queued (-ECANCELED);
 *  - finally a signature block at LBA 0 of the first namespace
 *    (NVME_SELFTEST_SIGNATURE), which the VM test reads back through the
 *    kernel's own nvme driver once the device is handed back.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvme.h"
#include "selftest.h"

struct st {
	struct nvme_ctrl *c;
	struct nvme_ns *ns;
	int n, failed;
	pthread_mutex_t lock;
};

static void check(struct st *t, bool ok, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void check(struct st *t, bool ok, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&t->lock);
	t->n++;
	if (!ok)
		t->failed++;
	printf("%sok %d - ", ok ? "" : "not ", t->n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	pthread_mutex_unlock(&t->lock);
}

static void diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void diag(const char *fmt, ...)
{
	va_list ap;

	fputs("# ", stdout);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

/* The pattern: each 8-byte word names its byte offset on the disk and a seed. */
static void fill(void *buf, uint64_t off, uint32_t len, uint64_t seed)
{
	uint64_t *w = buf;
	uint32_t i;

	for (i = 0; i < len / 8; i++)
		w[i] = (off + 8u * i) ^ (seed * 0x9e3779b97f4a7c15ULL);
}

static bool verify(const void *buf, uint64_t off, uint32_t len, uint64_t seed)
{
	const uint64_t *w = buf;
	uint32_t i;

	for (i = 0; i < len / 8; i++)
		if (w[i] != ((off + 8u * i) ^ (seed * 0x9e3779b97f4a7c15ULL)))
			return false;
	return true;
}

static bool all_zero(const void *buf, uint32_t len)
{
	const uint8_t *p = buf;
	uint32_t i;

	for (i = 0; i < len; i++)
		if (p[i])
			return false;
	return true;
}

/* One request to completion (submit, kick, wait): its err. */
static int do_req(struct nvme_queue *q, struct nvme_req *req)
{
	int r = nvme_io_submit(q, req);

	if (r < 0)
		return r;
	r = nvme_io_kick(q);
	while (r >= 0 && !req->completed)
		r = nvme_io_wait(q, 1000);
	if (r < 0)
		nvme_io_forget(q);	/* *req is the caller's: never complete into it later */
	return r < 0 ? r : req->err;
}

static int rw(struct st *t, struct nvme_queue *q, enum nvme_op op, uint64_t off, uint32_t len,
	      void *buf, struct nvme_req *out)
{
	struct nvme_req req = { .op = op, .nsid = t->ns->nsid, .offset = off, .length = len, .buf = buf };
	int r = do_req(q, &req);

	if (out)
		*out = req;
	return r;
}

/*
 * A batch on one queue: @n writes of @len bytes at spread LBAs, one
 * doorbell; then the reads, one doorbell; then compare.
 */
static bool batch(struct st *t, struct nvme_queue *q, uint32_t len, unsigned int n, uint64_t base,
		  uint64_t seed, char *why, size_t whylen)
{
	struct nvme_req *reqs = calloc(n, sizeof(*reqs));
	uint8_t *bufs = malloc((size_t)n * len);
	uint64_t db_before;
	unsigned int i, done;
	bool ok = reqs && bufs;
	int r = 0, pass;

	for (pass = 0; ok && pass < 2; pass++) {
		db_before = q->nr_doorbells;
		for (i = 0; i < n; i++) {
			struct nvme_req *req = &reqs[i];
			uint64_t off = base + (uint64_t)i * len;

			memset(req, 0, sizeof(*req));
			req->op = pass == 0 ? NVME_OP_WRITE : NVME_OP_READ;
			req->nsid = t->ns->nsid;
			req->offset = off;
			req->length = len;
			req->buf = bufs + (size_t)i * len;
			if (pass == 0)
				fill(req->buf, off, len, seed);
			else
				memset(req->buf, 0xa5, len);
			r = nvme_io_submit(q, req);
			if (r < 0) {
				snprintf(why, whylen, "submit %u: %s", i, strerror(-r));
				ok = false;
				break;
			}
		}
		if (!ok)
			break;
		r = nvme_io_kick(q);
		for (done = 0; r >= 0 && done < n; ) {
			r = nvme_io_wait(q, 2000);
			for (done = 0, i = 0; i < n; i++)
				done += reqs[i].completed;
		}
		if (r < 0) {
			nvme_io_forget(q);	/* reqs[] goes below */
			snprintf(why, whylen, "waiting: %s", strerror(-r));
			ok = false;
			break;
		}
		if (q->nr_doorbells - db_before != 1) {
			snprintf(why, whylen, "%u commands took %" PRIu64 " SQ doorbells, not 1", n,
				 q->nr_doorbells - db_before);
			ok = false;
		}
		for (i = 0; i < n; i++) {
			if (reqs[i].err) {
				snprintf(why, whylen, "%s %u: %s, %s", pass ? "read" : "write", i,
					 strerror(-reqs[i].err), nvme_status_str(reqs[i].status));
				ok = false;
				break;
			}
			if (pass == 1 && !verify(reqs[i].buf, reqs[i].offset, len, seed)) {
				snprintf(why, whylen, "read %u at byte %" PRIu64 ": data differs", i,
					 reqs[i].offset);
				ok = false;
				break;
			}
		}
	}
	free(reqs);
	free(bufs);
	return ok;
}

/* ---- threads: one per queue, at once ---- */

struct worker {
	struct st *t;
	struct nvme_queue *q;
	uint64_t base;
	bool ok;
	char why[160];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	unsigned int round;

	w->ok = true;
	for (round = 0; round < 8 && w->ok; round++)
		w->ok = batch(w->t, w->q, 16384, 8, w->base + (uint64_t)round * 8 * 16384,
			      1000 + w->q->qid * 16 + round, w->why, sizeof(w->why));
	return NULL;
}

/*
 * A completion on @q raises its own MSI-X vector, and no other: drain
 * every vector, do one read, wait on the queue's eventfd directly.
 */
static void irq_check(struct st *t, struct nvme_queue *q, void *buf)
{
	struct nvme_ctrl *c = t->c;
	struct nvme_req req = { .op = NVME_OP_READ, .nsid = t->ns->nsid, .length = 4096, .buf = buf };
	unsigned int v, others = 0;
	int r, got;

	for (v = 0; v < c->nr_vectors; v++)
		while (dbk_irq_wait(c->dev, v, 0) > 0)
			;
	r = nvme_io_submit(q, &req);
	if (r == 0)
		r = nvme_io_kick(q);
	got = r < 0 ? r : dbk_irq_wait(c->dev, q->vector, 5000);
	for (v = 0; v < c->nr_vectors; v++)
		if (v != q->vector && dbk_irq_wait(c->dev, v, 0) > 0)
			others++;
	while (r >= 0 && !req.completed)
		r = nvme_io_wait(q, 1000);
	if (r < 0)
		nvme_io_forget(q);
	check(t, got > 0 && others == 0 && r >= 0 && req.err == 0,
	      "queue %u: its completion raises MSI-X vector %u%s (%s; %u other vector(s) fired)", q->qid,
	      q->vector, q->vector ? ", its own" : ", shared with the admin queue",
	      got > 0 ? "interrupt seen" : strerror(-got), others);
}

/*
 * Throughput: @len-byte reads at depth @qd for @dur ns, in sequence over
 * the namespace's first quarter (the self-test's record, and --bench).
 * I/Os per second, or 0 with *@err set: a failed I/O ends the run.  *@ops
 * counts the reads that completed, those drained after the deadline too
 * (the time covers them).  Reads still queued after an error are taken
 * back by a controller reset before their memory goes: a completion
 * reaped later would write into it.
 */
static double measure_ns(struct nvme_ns *ns, struct nvme_queue *q, uint32_t len, unsigned int qd,
			 uint64_t dur, uint64_t *ops, int *err)
{
	struct nvme_req reqs[32];
	bool queued[32] = { false };
	uint64_t span = (ns->blocks << ns->lba_shift) / 4, t0 = nvme_now_ns(), next = 0, done = 0, wall;
	unsigned int i, n = 0, busy = 0;
	bool more = true;
	uint8_t *bufs;
	int r = 0;

	*ops = 0;
	*err = -EINVAL;
	if (qd == 0 || qd > 32 || qd >= q->depth || span < len)
		return 0;
	span -= span % len;	/* every offset a multiple of len, so of the block size */
	bufs = malloc((size_t)qd * len);
	if (!bufs) {
		*err = -ENOMEM;
		return 0;
	}
	for (i = 0; i < qd && r >= 0; i++) {
		reqs[i] = (struct nvme_req){ .op = NVME_OP_READ, .nsid = ns->nsid,
					    .offset = (next++ * len) % span, .length = len,
					    .buf = bufs + (size_t)i * len };
		r = nvme_io_submit(q, &reqs[i]);
		if (r == 0) {
			queued[i] = true;
			busy++;
		}
		n++;
	}
	if (r >= 0)
		r = nvme_io_kick(q);
	while (r >= 0 && busy) {
		r = nvme_io_wait(q, 1000);
		more = nvme_now_ns() - t0 < dur;
		for (i = 0; r >= 0 && i < n; i++) {
			if (!queued[i] || !reqs[i].completed)
				continue;
			queued[i] = false;
			busy--;
			if (reqs[i].err) {
				r = reqs[i].err;
				break;
			}
			done++;
			if (!more)
				continue;
			reqs[i].offset = (next++ * len) % span;
			r = nvme_io_submit(q, &reqs[i]);
			if (r == 0) {
				queued[i] = true;
				busy++;
			}
		}
		if (r >= 0 && more)
			r = nvme_io_kick(q);
	}
	wall = nvme_now_ns() - t0;
	if (busy)
		nvme_ctrl_reset(q->c);	/* reqs[] and bufs are about to go */
	free(bufs);
	*ops = done;
	*err = r < 0 ? r : 0;
	return r < 0 || !wall ? 0 : (double)done * 1e9 / (double)wall;
}

/* For the record (TCG: not a benchmark): about a second. */
static double measure(struct st *t, struct nvme_queue *q, uint32_t len, unsigned int qd, uint64_t *ops)
{
	int err;

	return measure_ns(t->ns, q, len, qd, 1000000000ULL, ops, &err);
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static const struct { const char *name; uint32_t len; unsigned int qd; } bench_cases[] = {
	{ "read-4k-qd1", 4096, 1 },
	{ "read-4k-qd16", 4096, 16 },
	{ "read-128k-qd8", 131072, 8 },
};
#define NR_BENCH_CASES (sizeof(bench_cases) / sizeof(bench_cases[0]))

bool nvme_bench_case_known(const char *name)
{
	unsigned int i;

	for (i = 0; i < NR_BENCH_CASES; i++)
		if (!strcmp(bench_cases[i].name, name))
			return true;
	return false;
}

int nvme_bench(struct nvme_ctrl *c, unsigned int seconds, const char *only)
{
	struct nvme_queue *q = c->nr_io ? c->io[0] : NULL;
	struct nvme_ns *ns = NULL;
	unsigned int i;
	int rc = 0;

	for (i = 0; i < c->nr_ns && !ns; i++)
		if (c->ns[i].usable)
			ns = &c->ns[i];
	if (!ns || !q) {
		nvme_log("--bench: no usable namespace or I/O queue");
		rc = 1;
		goto out;
	}
	for (i = 0; i < NR_BENCH_CASES; i++) {
		uint32_t len = bench_cases[i].len < c->max_transfer ? bench_cases[i].len : c->max_transfer;
		uint64_t irqs, polled, ios, c0, t0, wall, cpu;
		double iops;
		int err;

		if (only && strcmp(only, bench_cases[i].name))
			continue;
		irqs = q->nr_irqs;
		polled = q->nr_polled;
		c0 = cpu_ns();
		t0 = nvme_now_ns();
		iops = measure_ns(ns, q, len, bench_cases[i].qd, (uint64_t)seconds * 1000000000ULL, &ios,
				  &err);
		wall = nvme_now_ns() - t0;
		cpu = cpu_ns() - c0;

		if (err || !ios) {
			nvme_log("--bench %s (%u-byte reads at depth %u, queue depth %u): %s after %" PRIu64
				 " reads", bench_cases[i].name, len, bench_cases[i].qd, q->depth,
				 err ? strerror(-err) : "none completed", ios);
			rc = 1;
			break;		/* the controller may have been reset under it */
		}
		printf("{\"case\": \"%s\", \"len\": %u, \"qd\": %u, \"ios\": %" PRIu64
		       ", \"wall_ms\": %.1f, \"iops\": %.1f, \"mbps\": %.3f, \"drv_us_per_io\": %.3f"
		       ", \"irqs\": %" PRIu64 ", \"polled\": %" PRIu64 "}\n",
		       bench_cases[i].name, len, bench_cases[i].qd, ios, wall / 1e6, iops, iops * len / 1e6,
		       cpu / 1e3 / (double)ios, q->nr_irqs - irqs, q->nr_polled - polled);
		fflush(stdout);
	}
out:
	return nvme_ctrl_shutdown(c) < 0 ? 1 : rc;
}

/* ---- the test ---- */

int nvme_selftest(struct nvme_ctrl *c)
{
	struct st t = { .c = c };
	struct nvme_ns *ns = NULL;
	struct nvme_queue *q0;
	uint64_t nbytes, half;
	uint32_t bs, sizes[8], nsizes = 0, s;
	unsigned int i;
	uint8_t *buf, *buf2;
	char why[200];
	int r;

	pthread_mutex_init(&t.lock, NULL);
	for (i = 0; i < c->nr_ns; i++)
		if (c->ns[i].usable) {
			ns = &c->ns[i];
			break;
		}
	diag("controller: %s, serial %s, firmware %s, NVMe %u.%u.%u", c->mn, c->sn, c->fr,
	     c->vs >> 16, (c->vs >> 8) & 0xff, c->vs & 0xff);
	diag("MDTS %u bytes (0: none), our max transfer %u, ONCS 0x%04x, VWC %u, NN %u, ACL %u",
	     c->mdts_bytes, c->max_transfer, c->oncs, c->vwc, c->nn, c->acl + 1u);
	for (i = 0; i < c->nr_ns; i++)
		diag("namespace %u: %" PRIu64 " blocks of %u bytes (%" PRIu64 " MiB)%s", c->ns[i].nsid,
		     c->ns[i].blocks, 1u << c->ns[i].lba_shift,
		     (c->ns[i].blocks << c->ns[i].lba_shift) >> 20, c->ns[i].usable ? "" : ", unusable");
	diag("%u I/O queue pairs of %u entries, %s", c->nr_io, c->io_depth,
	     c->use_irq ? "one MSI-X vector each" : "polled");
	check(&t, true, "the controller comes up (CC.EN=1, CSTS.RDY=1): %s, serial %s, firmware %s, "
	      "NVMe %u.%u.%u, MDTS %u KiB, ONCS 0x%04x, VWC %u, %u namespace(s)", c->mn, c->sn, c->fr,
	      c->vs >> 16, (c->vs >> 8) & 0xff, c->vs & 0xff, c->mdts_bytes >> 10, c->oncs, c->vwc, c->nr_ns);
	check(&t, ns != NULL, "an active namespace with a usable format: nsid %u, %" PRIu64
	      " blocks of %u bytes", ns ? ns->nsid : 0, ns ? ns->blocks : 0, ns ? 1u << ns->lba_shift : 0);
	check(&t, c->nr_io >= 1, "%u I/O queue pair(s) of %u entries, %s, max transfer %u bytes",
	      c->nr_io, c->io_depth, c->use_irq ? "MSI-X" : "polled", c->max_transfer);
	if (!ns || !c->nr_io)
		goto out;
	/* The layout below: [0, 1/4) single commands, [1/4, 1/2) batches, [3/8..) WZ/DSM, [1/2, 1) threads. */
	if ((ns->blocks << ns->lba_shift) < (16u << 20) ||
	    (ns->blocks << ns->lba_shift) / 2 < (uint64_t)c->nr_io << 20) {
		check(&t, false, "namespace %u is large enough for the test (16 MiB, 1 MiB per queue)", ns->nsid);
		goto out;
	}
	t.ns = ns;
	q0 = c->io[0];
	bs = 1u << ns->lba_shift;
	nbytes = ns->blocks << ns->lba_shift;
	half = nbytes / 2;
	buf = aligned_alloc(4096, c->max_transfer);
	buf2 = aligned_alloc(4096, c->max_transfer);
	if (!buf || !buf2)
		return 1;

	/* Sizes: 4 KiB (PRP1), 8 KiB (PRP2), 12 KiB (a 2-entry PRP list), ... max. */
	for (s = 4096; s <= c->max_transfer && nsizes < 8; s = s == 8192 ? 12288 : s == 12288 ? 65536 : s * 2)
		sizes[nsizes++] = s;
	if (sizes[nsizes - 1] != c->max_transfer && nsizes < 8)
		sizes[nsizes++] = c->max_transfer;

	/* 1. single commands of every size, on queue 1, at unaligned-to-the-size LBAs */
	for (i = 0; i < nsizes; i++) {
		uint64_t off = (nbytes / 32 * i & ~(uint64_t)(bs - 1)) + (uint64_t)bs * 17;
		int r2;

		fill(buf, off, sizes[i], i + 1);
		r = rw(&t, q0, NVME_OP_WRITE, off, sizes[i], buf, NULL);
		memset(buf2, 0x5a, sizes[i]);
		r2 = rw(&t, q0, NVME_OP_READ, off, sizes[i], buf2, NULL);
		check(&t, r == 0 && r2 == 0 && verify(buf2, off, sizes[i], i + 1),
		      "write and read back %u bytes at LBA %" PRIu64 " (%s)%s%s", sizes[i], off / bs,
		      sizes[i] <= 4096 ? "PRP1" : sizes[i] <= 8192 ? "PRP1+PRP2" : "PRP list",
		      r || r2 ? ": " : "", r ? strerror(-r) : r2 ? strerror(-r2) : "");
	}

	/* 2. batches on every queue: many commands, one doorbell, own vector */
	for (i = 0; i < c->nr_io; i++) {
		struct nvme_queue *q = c->io[i];
		unsigned int n = q->depth - 1u < 16 ? q->depth - 1u : 16;
		uint32_t len = c->max_transfer >= 32768 ? 32768 : c->max_transfer;
		bool ok;

		why[0] = '\0';
		ok = batch(&t, q, len, n, nbytes / 4 + (uint64_t)i * n * len, 77 + i, why, sizeof(why));
		check(&t, ok, "queue %u: %u writes then %u reads of %u bytes, one doorbell each%s%s",
		      q->qid, n, n, len, why[0] ? ": " : "", why);
		if (c->use_irq)
			irq_check(&t, q, buf);
	}

	/* 3. every queue at once, one thread each */
	{
		struct worker w[NVME_MAX_IO_QUEUES];
		pthread_t th[NVME_MAX_IO_QUEUES];
		bool ok = true;

		for (i = 0; i < c->nr_io; i++) {
			w[i] = (struct worker){ .t = &t, .q = c->io[i],
						.base = half + (uint64_t)i * 8 * 8 * 16384 };
			if (pthread_create(&th[i], NULL, worker_main, &w[i]))
				w[i].q = NULL;
		}
		for (i = 0; i < c->nr_io; i++) {
			if (!w[i].q) {
				ok = false;
				continue;
			}
			pthread_join(th[i], NULL);
			if (!w[i].ok) {
				ok = false;
				diag("queue %u: %s", w[i].q->qid, w[i].why);
			}
		}
		check(&t, ok, "%u threads, one per queue, 64 writes and reads of 16 KiB each", c->nr_io);
	}

	/* 4. the last block, the whole way through the namespace's end */
	fill(buf, nbytes - bs, bs, 9);
	r = rw(&t, q0, NVME_OP_WRITE, nbytes - bs, bs, buf, NULL);
	memset(buf2, 0, bs);
	if (r == 0)
		r = rw(&t, q0, NVME_OP_READ, nbytes - bs, bs, buf2, NULL);
	check(&t, r == 0 && verify(buf2, nbytes - bs, bs, 9), "the last block (LBA %" PRIu64 ")%s%s",
	      ns->blocks - 1, r ? ": " : "", r ? strerror(-r) : "");

	/* 5. Flush (§6.8) */
	{
		struct nvme_req req = { .op = NVME_OP_FLUSH, .nsid = ns->nsid };

		r = do_req(q0, &req);
		check(&t, r == 0, "Flush (volatile write cache %s)%s%s", c->vwc ? "present" : "absent",
		      r ? ": " : "", r ? nvme_status_str(req.status) : "");
	}

	/* 6. Write Zeroes (§6.17): 8 blocks inside a written 16 */
	if (c->oncs & NVME_ONCS_WRITE_ZEROES) {
		uint64_t off = (nbytes / 8 * 3) & ~(uint64_t)(bs - 1);
		struct nvme_req req = { .op = NVME_OP_WRITE_ZEROES, .nsid = ns->nsid,
					.offset = off + 4u * bs, .length = 8u * bs };

		fill(buf, off, 16u * bs, 31);
		r = rw(&t, q0, NVME_OP_WRITE, off, 16u * bs, buf, NULL);
		if (r == 0)
			r = do_req(q0, &req);
		if (r == 0)
			r = rw(&t, q0, NVME_OP_READ, off, 16u * bs, buf2, NULL);
		check(&t, r == 0 && verify(buf2, off, 4u * bs, 31) && all_zero(buf2 + 4u * bs, 8u * bs) &&
		      verify(buf2 + 12u * bs, off + 12u * bs, 4u * bs, 31),
		      "Write Zeroes zeroes 8 blocks and leaves their neighbours%s%s", r ? ": " : "",
		      r ? strerror(-r) : "");
	} else {
		check(&t, true, "# SKIP Write Zeroes: not in ONCS");
	}

	/* 7. Dataset Management, deallocate (§6.7) */
	if (c->oncs & NVME_ONCS_DSM) {
		uint64_t off = ((nbytes / 8 * 3) & ~(uint64_t)(bs - 1)) + 64u * bs;
		struct nvme_req req = { .op = NVME_OP_TRIM, .nsid = ns->nsid,
					.offset = off + 4u * bs, .length = 8u * bs };

		fill(buf, off, 16u * bs, 41);
		r = rw(&t, q0, NVME_OP_WRITE, off, 16u * bs, buf, NULL);
		if (r == 0)
			r = do_req(q0, &req);
		if (r == 0)
			r = rw(&t, q0, NVME_OP_READ, off, 16u * bs, buf2, NULL);
		check(&t, r == 0 && verify(buf2, off, 4u * bs, 41) &&
		      verify(buf2 + 12u * bs, off + 12u * bs, 4u * bs, 41),
		      "Dataset Management (deallocate 8 blocks) succeeds and leaves the neighbours%s%s",
		      r ? ": " : "", r ? strerror(-r) : "");
		if (r == 0)
			diag("deallocated blocks read back as %s", all_zero(buf2 + 4u * bs, 8u * bs) ?
			     "zeroes" : "something else (DLFEAT allows it)");
	} else {
		check(&t, true, "# SKIP Dataset Management: not in ONCS");
	}

	/* 8. errors as NVMe status */
	{
		struct nvme_req req;

		r = rw(&t, q0, NVME_OP_READ, nbytes, bs, buf, &req);
		check(&t, r == -EIO && NVME_SCT(req.status) == 0 && NVME_SC(req.status) == NVME_SC_LBA_RANGE,
		      "a read at LBA %" PRIu64 " (= NSZE) fails with LBA Out of Range: %s, %s", ns->blocks,
		      strerror(-r), nvme_status_str(req.status));
		r = rw(&t, q0, NVME_OP_READ, nbytes - bs, 2u * bs, buf, &req);
		check(&t, r == -EIO && NVME_SC(req.status) == NVME_SC_LBA_RANGE,
		      "a read across the end fails with LBA Out of Range: %s", nvme_status_str(req.status));
		r = rw(&t, q0, NVME_OP_WRITE, (uint64_t)1 << 62 & ~(uint64_t)(bs - 1), bs, buf, &req);
		check(&t, r == -EIO && NVME_SC(req.status) == NVME_SC_LBA_RANGE,
		      "a write at a huge LBA fails with LBA Out of Range: %s", nvme_status_str(req.status));
	}
	{
		struct nvme_sqe sqe = { .opcode = NVME_ADM_IDENTIFY, .nsid = 0xfffffffeu };
		struct dbk_dma_buf *b = NULL;

		r = dbk_dma_buf_alloc(c->dev, 4096, &b);
		if (r == 0) {
			sqe.prp1 = dbk_dma_buf_get_iova(b);
			sqe.cdw10 = NVME_CNS_NS;
			r = nvme_admin_cmd(c, &sqe, NULL);
			dbk_dma_buf_free(b);
		}
		check(&t, r > 0 && NVME_SC((uint16_t)r) == NVME_SC_INVALID_NS,
		      "Identify of namespace 0xfffffffe fails with %s",
		      r > 0 ? nvme_status_str((uint16_t)r) : strerror(-r));
	}
	{
		struct nvme_req req = { .op = NVME_OP_READ, .nsid = ns->nsid, .length = c->max_transfer + bs,
					.buf = buf };

		check(&t, nvme_io_submit(q0, &req) == -EINVAL, "a read above max_transfer is refused (EINVAL)");
		req.length = bs;
		req.offset = 1;
		check(&t, nvme_io_submit(q0, &req) == -EINVAL, "a misaligned offset is refused (EINVAL)");
		req.offset = 0;
		req.nsid = 0xdead;
		check(&t, nvme_io_submit(q0, &req) == -ENXIO, "an unknown namespace is refused (ENXIO)");
	}

	/* 9. the queue fills up: depth - 1 commands, then EAGAIN */
	{
		unsigned int n = q0->depth - 1u, got = 0;
		struct nvme_req *reqs = calloc(n + 1, sizeof(*reqs));
		bool full = false;

		for (i = 0; reqs && i <= n; i++) {
			reqs[i] = (struct nvme_req){ .op = NVME_OP_READ, .nsid = ns->nsid,
						    .offset = (uint64_t)i * bs, .length = bs, .buf = buf };
			r = nvme_io_submit(q0, &reqs[i]);
			if (r == 0)
				got++;
			else
				full = r == -EAGAIN;
		}
		check(&t, got == n && full, "queue %u takes %u commands, the next gets EAGAIN", q0->qid, n);
		r = nvme_io_kick(q0);
		while (r >= 0) {
			unsigned int done = 0;

			for (i = 0; i < got; i++)
				done += reqs[i].completed;
			if (done == got)
				break;
			r = nvme_io_wait(q0, 1000);
		}
		for (i = 0; i < got && r >= 0; i++)
			if (reqs[i].err)
				r = reqs[i].err;
		check(&t, r >= 0, "a full queue completes%s%s", r < 0 ? ": " : "", r < 0 ? strerror(-r) : "");
		nvme_io_forget(q0);	/* any left (a failed wait): reqs[] goes */
		free(reqs);
	}

	/*
	 * 10. a lost command: queued but its doorbell never rung.  After
	 * cmd_timeout we abort it (the controller never saw it, so the abort
	 * finds nothing), after another cmd_timeout we reset the controller,
	 * and the request fails with ETIMEDOUT.
	 */
	{
		int saved = c->cmd_timeout_ms;
		unsigned int resets = c->nr_resets;
		struct nvme_req req = { .op = NVME_OP_READ, .nsid = ns->nsid, .length = bs, .buf = buf };
		uint64_t t0;

		c->cmd_timeout_ms = 500;
		t0 = nvme_now_ns();
		r = nvme_io_submit(q0, &req);
		while (r >= 0 && !req.completed && nvme_now_ns() - t0 < 10000000000ULL)
			r = nvme_io_wait(q0, 200);
		if (!req.completed)
			nvme_io_forget(q0);	/* req is about to go */
		c->cmd_timeout_ms = saved;
		check(&t, r >= 0 && req.completed && req.err == -ETIMEDOUT && c->nr_resets == resets + 1,
		      "a lost command times out, is aborted, the controller is reset (%s after %" PRIu64 " ms)",
		      req.completed ? strerror(-req.err) : "not completed",
		      (nvme_now_ns() - t0) / 1000000u);
		fill(buf, 0, 4096, 3);
		r = rw(&t, q0, NVME_OP_WRITE, 0, 4096, buf, NULL);
		memset(buf2, 0, 4096);
		if (r == 0)
			r = rw(&t, q0, NVME_OP_READ, 0, 4096, buf2, NULL);
		check(&t, r == 0 && verify(buf2, 0, 4096, 3), "I/O works after the reset%s%s",
		      r ? ": " : "", r ? strerror(-r) : "");
		r = rw(&t, q0, NVME_OP_READ, (uint64_t)bs * 17, sizes[0], buf2, NULL);
		check(&t, r == 0 && verify(buf2, (uint64_t)bs * 17, sizes[0], 1),
		      "data written before the reset is still there");
	}

	/*
	 * 10b. a controller that cannot post a completion (the spec's
	 * "Controller Fatal Status Condition"): the last I/O queue is made
	 * again with its CQ at an IOVA we have just unmapped, so the
	 * controller's write of the completion fails; it sets CSTS.CFS, and
	 * the command times out.  The driver must find CSTS.CFS and reset at
	 * once, without an Abort, and the reset's queues, at their own
	 * IOVAs, work again.  Behind an IOMMU only: without one there is no
	 * address a controller's write is sure to fail at and harm nothing.
	 * QEMU's controller (1b36:0010) sees its write fail and must say so;
	 * on a real bus the write is posted, the IOMMU drops it and the
	 * controller may never know: then the command's Abort and reset
	 * recover the queue, and CFS is skipped.
	 */
	{
		struct dbk_device_info di = { .argsz = sizeof(di) };
		struct nvme_queue *ql = c->io[c->nr_io - 1];
		struct nvme_req req = { .op = NVME_OP_READ, .nsid = ns->nsid, .length = bs, .buf = buf };
		unsigned int resets = c->nr_resets, fatal = c->nr_fatal;
		int saved = c->cmd_timeout_ms;
		struct dbk_dma_buf *gone = NULL;
		uint32_t csts = 0;
		uint64_t iova = 0, t0;

		r = dbk_dev_get_device_info(c->dev, &di);
		if (r < 0) {
			check(&t, false, "CSTS.CFS: the device's info: %s", strerror(-r));
			goto cfs_done;
		}
		if (!(di.flags & DBK_DEVICE_INFO_F_IOMMU)) {
			check(&t, true, "# SKIP CSTS.CFS: no IOMMU to fail the controller's write safely");
			goto cfs_done;
		}
		r = dbk_dma_buf_alloc(c->dev, 4096, &gone);
		if (r == 0) {
			iova = dbk_dma_buf_get_iova(gone);
			r = dbk_dma_buf_free(gone);	/* unmapped, or the step proves nothing */
		}
		if (r == 0)
			r = nvme_ctrl_remake_queue(c, ql, iova);
		check(&t, r == 0, "I/O queue %u made again with its CQ at IOVA 0x%" PRIx64 ", just unmapped%s%s",
		      ql->qid, iova, r ? ": " : "", r < 0 ? strerror(-r) : r > 0 ? nvme_status_str((uint16_t)r) : "");
		if (r) {
			(void)nvme_ctrl_reset(c);	/* the queue as it was, whatever was done of it */
			goto cfs_done;
		}
		c->cmd_timeout_ms = 500;
		t0 = nvme_now_ns();
		r = nvme_io_submit(ql, &req);
		if (r >= 0)
			r = nvme_io_kick(ql);
		while (r >= 0 && !req.completed && nvme_now_ns() - t0 < 10000000000ULL) {
			if (!(csts & NVME_CSTS_CFS))
				(void)dbk_read32(c->dev, NVME_BAR, NVME_REG_CSTS, &csts);
			r = nvme_io_wait(ql, 50);
		}
		if (!req.completed)
			nvme_io_forget(ql);	/* req is about to go */
		c->cmd_timeout_ms = saved;
		/* Seen by the test between waits, or by the driver itself. */
		if (c->nr_fatal == fatal + 1)
			csts |= NVME_CSTS_CFS;
		if (!(csts & NVME_CSTS_CFS) && di.vendor != 0x1b36) {
			check(&t, r >= 0 && req.completed && req.err == -ETIMEDOUT && c->nr_resets == resets + 1,
			      "CSTS.CFS never set (a posted write, dropped by the IOMMU): the command timed out, "
			      "the controller was reset (%s)", req.completed ? strerror(-req.err) : "not completed");
			goto cfs_done;
		}
		check(&t, csts & NVME_CSTS_CFS, "the controller could not post the completion: CSTS.CFS (CSTS 0x%x)",
		      csts);
		check(&t, r >= 0 && req.completed && req.err == -ETIMEDOUT && c->nr_resets == resets + 1 &&
			  c->nr_fatal == fatal + 1,
		      "the command times out; CSTS.CFS found, the controller is reset at once, no Abort (%s after %" PRIu64
		      " ms; %u reset(s), %u for CFS)",
		      req.completed ? strerror(-req.err) : "not completed", (nvme_now_ns() - t0) / 1000000u,
		      c->nr_resets - resets, c->nr_fatal - fatal);
		r = dbk_read32(c->dev, NVME_BAR, NVME_REG_CSTS, &csts);
		check(&t, r == 0 && !(csts & NVME_CSTS_CFS) && (csts & NVME_CSTS_RDY),
		      "after the reset the controller is ready, CSTS.CFS clear (CSTS 0x%x)", csts);
		/* Where step 10 wrote: a block the signature takes last. */
		fill(buf, 0, 4096, 4);
		r = rw(&t, ql, NVME_OP_WRITE, 0, 4096, buf, NULL);
		memset(buf2, 0, 4096);
		if (r == 0)
			r = rw(&t, ql, NVME_OP_READ, 0, 4096, buf2, NULL);
		check(&t, r == 0 && verify(buf2, 0, 4096, 4), "queue %u works again, at its own CQ%s%s", ql->qid,
		      r ? ": " : "", r ? strerror(-r) : "");
cfs_done:;
	}

	/* 11. an explicit reset with queued commands: they end with ECANCELED */
	{
		struct nvme_req a = { .op = NVME_OP_READ, .nsid = ns->nsid, .length = bs, .buf = buf };
		struct nvme_req b = a;

		b.offset = bs;
		r = nvme_io_submit(q0, &a);
		if (r == 0)
			r = nvme_io_submit(q0, &b);
		if (r == 0)
			r = nvme_ctrl_reset(c);
		check(&t, r == 0 && a.completed && b.completed && a.err == -ECANCELED && b.err == -ECANCELED,
		      "a reset ends queued commands with ECANCELED (%s)", strerror(-(r ? r : a.err)));
		if (!a.completed || !b.completed)
			nvme_io_forget(q0);	/* a and b are about to go */
		r = 0;
		for (i = 0; i < c->nr_io && r == 0; i++) {
			fill(buf, half + 4096u * i, 4096, 50 + i);
			r = rw(&t, c->io[i], NVME_OP_WRITE, half + 4096u * i, 4096, buf, NULL);
			if (r == 0)
				r = rw(&t, c->io[i], NVME_OP_READ, half + 4096u * i, 4096, buf2, NULL);
			if (r == 0 && !verify(buf2, half + 4096u * i, 4096, 50 + i))
				r = -EILSEQ;
		}
		check(&t, r == 0, "every queue works after the reset%s%s", r ? ": " : "", r ? strerror(-r) : "");
	}

	/*
	 * 11b. asynchronous events (event.c) across a reset: the request kept
	 * outstanding ends with the reset (ETIMEDOUT here: its deadline made
	 * past, as 10 s on would), which is no error of its own: it is asked
	 * again, the events configured anew, every namespace identified again
	 * and none taken for gone.
	 */
	{
		unsigned int k, slot;
		int err = 0;

		r = nvme_events_start(c);
		for (k = 0; k < 10 && r >= 0 && !c->aer_armed; k++)
			r = nvme_events_poll(c, 10);
		check(&t, r == 0 && c->events_on && c->aer_armed && c->aec_resets == c->nr_resets,
		      "asynchronous events configured (OAES 0x%x), a request outstanding%s%s", c->oaes,
		      r ? ": " : "", r ? strerror(-r) : "");
		pthread_mutex_lock(&c->admin.lock);
		for (slot = 0; slot + 1u < c->admin.depth; slot++)
			if (c->admin.slots[slot].req == &c->aer)
				c->admin.slots[slot].deadline = 0;
		pthread_mutex_unlock(&c->admin.lock);
		r = nvme_ctrl_reset(c);
		if (c->aer.completed)
			err = c->aer.err;
		for (k = 0; k < 10 && r >= 0 && !(c->aer_armed && c->aec_resets == c->nr_resets); k++)
			r = nvme_events_poll(c, 10);
		check(&t, r == 0 && err == -ETIMEDOUT && c->events_on && c->aer_armed &&
			  c->aec_resets == c->nr_resets && !ns->gone,
		      "a reset ends it (%s), it is asked again, configured anew, no namespace gone%s%s",
		      err ? strerror(-err) : "not ended", r ? ": " : "", r ? strerror(-r) : "");
	}

	/* 12. a second namespace, if any: its own blocks, the first's untouched */
	for (i = 0; i < c->nr_ns; i++) {
		struct nvme_ns *ns2 = &c->ns[i];
		uint64_t off = (uint64_t)bs * 17;	/* where step 1 wrote 4 KiB on the first */
		struct nvme_req req = { .op = NVME_OP_WRITE, .nsid = ns2->nsid, .offset = off,
					.length = 4096, .buf = buf };
		int r2;

		if (ns2 == ns || !ns2->usable || (ns2->blocks << ns2->lba_shift) < off + 4096 ||
		    (off & ((1u << ns2->lba_shift) - 1)))
			continue;
		fill(buf, off, 4096, 0xbeef + ns2->nsid);
		r = do_req(q0, &req);
		memset(buf2, 0, 4096);
		req = (struct nvme_req){ .op = NVME_OP_READ, .nsid = ns2->nsid, .offset = off,
					 .length = 4096, .buf = buf2 };
		if (r == 0)
			r = do_req(q0, &req);
		r2 = r == 0 && verify(buf2, off, 4096, 0xbeef + ns2->nsid) ? 0 : -EILSEQ;
		check(&t, r2 == 0, "namespace %u (%" PRIu64 " blocks of %u bytes) keeps its own data%s%s",
		      ns2->nsid, ns2->blocks, 1u << ns2->lba_shift, r ? ": " : "", r ? strerror(-r) : "");
		r = rw(&t, q0, NVME_OP_READ, off, 4096, buf2, NULL);
		check(&t, r == 0 && verify(buf2, off, 4096, 1),
		      "namespace %u's write left namespace %u alone", ns2->nsid, ns->nsid);
	}

	/* 13. numbers: deep queues, then depth 1 (how dd measures the kernel's driver in tests/vm/nvme.sh) */
	{
		uint32_t len = c->max_transfer < 131072 ? c->max_transfer : 131072;
		uint64_t n4, n128, quiet, irqs, polled = q0->nr_polled, sw = q0->nr_poll_switches;
		bool was_polling = q0->polling;
		double iops, big;

		irqs = q0->nr_irqs;
		iops = measure(&t, q0, 4096, 16, &n4);
		big = measure(&t, q0, c->max_transfer, 8, &n128);
		check(&t, iops > 0 && big > 0, "throughput under TCG, one queue: 4 KiB reads at depth 16: "
		      "%.0f IOPS; %u KiB reads at depth 8: %.1f MiB/s", iops, c->max_transfer >> 10,
		      big * c->max_transfer / 1048576.0);
		/*
		 * The waits' mode (--poll): at depth 16 a wait finds several
		 * completions, which switches adaptive polling on.  Usually
		 * after an interrupt; on a slow kernel (the debug one) the
		 * queue may still poll from the steps before, or find four
		 * completions at its first look, and then no interrupt is
		 * waited for at all.
		 */
		polled = q0->nr_polled - polled;
		sw = q0->nr_poll_switches - sw;
		irqs = q0->nr_irqs - irqs;
		if (c->use_irq)
			check(&t, c->poll_mode == NVME_POLL_IRQ ? polled == 0 && sw == 0 && irqs > 0 :
			      c->poll_mode == NVME_POLL_ALWAYS ? polled > 0 && irqs == 0 :
			      polled > 0 && (sw > 0 || was_polling),
			      "waits %s: %" PRIu64 " completions of %" PRIu64 " reaped by polling, %" PRIu64
			      " switches to polling, %" PRIu64 " interrupts waited for%s",
			      c->poll_mode == NVME_POLL_IRQ ? "on the interrupt only" :
			      c->poll_mode == NVME_POLL_ALWAYS ? "always polling" :
			      "adaptive (polling while busy)", polled, n4 + n128, sw, irqs,
			      was_polling ? " (polling already)" : "");
		quiet = q0->nr_quiet_slices;
		irqs = q0->nr_irqs;
		iops = measure(&t, q0, 4096, 1, &n4);
		big = measure(&t, q0, len, 1, &n128);
		check(&t, iops > 0 && big > 0, "throughput under TCG at depth 1: 4 KiB reads %.0f IOPS "
		      "(%.1f MB/s); %u KiB reads %.1f MB/s (%" PRIu64 " commands, %" PRIu64
		      " interrupts, %" PRIu64 " waits of %d ms without one)", iops, iops * 4096 / 1e6,
		      len >> 10, big * len / 1e6, n4 + n128, q0->nr_irqs - irqs,
		      q0->nr_quiet_slices - quiet, 100);
	}

	/* 14. the signature for the kernel's driver to find */
	memset(buf, 0, bs > 4096 ? bs : 4096);
	snprintf((char *)buf, 4096, "%s nsid %u blocks %" PRIu64 "\n", NVME_SELFTEST_SIGNATURE,
		 ns->nsid, ns->blocks);
	r = rw(&t, q0, NVME_OP_WRITE, 0, 4096, buf, NULL);
	if (r == 0) {
		struct nvme_req req = { .op = NVME_OP_FLUSH, .nsid = ns->nsid };

		r = do_req(q0, &req);
	}
	check(&t, r == 0, "the signature written at LBA 0 and flushed%s%s", r ? ": " : "",
	      r ? strerror(-r) : "");
	for (i = 0; i < c->nr_io; i++)
		diag("queue %u: %" PRIu64 " commands, %" PRIu64 " SQ doorbells, %" PRIu64 " interrupts",
		     c->io[i]->qid, c->io[i]->nr_submitted, c->io[i]->nr_doorbells, c->io[i]->nr_irqs);
	free(buf);
	free(buf2);
out:
	r = nvme_ctrl_shutdown(c);
	{
		uint32_t csts = 0;

		(void)dbk_read32(c->dev, NVME_BAR, NVME_REG_CSTS, &csts);
		check(&t, r == 0 && (csts & NVME_CSTS_SHST_MASK) == NVME_CSTS_SHST_CMPLT,
		      "shutdown: I/O queues deleted, CC.SHN=01b, CSTS.SHST=10b (CSTS 0x%x)%s%s", csts,
		      r ? ": " : "", r ? strerror(-r) : "");
	}
	printf("1..%d\n", t.n);
	diag("%d failure(s)", t.failed);
	fflush(stdout);
	return t.failed ? 1 : 0;
}
