/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/nvme's queue logic (io.c) against a controller played by the
 * test: what QEMU's controller cannot be made to do in the VM, or not at
 * the right moment.
 *  - A command the controller drops times out for a connection that only
 *    looks at a shared queue pair (nvme_io_check(): serve.c's poll_shared,
 *    whose owner may sleep with nothing of its own in flight): an Abort,
 *    then a reset.
 *  - A revoked grant's DMA windows read as zeros: once the CQ has wrapped
 *    (phase 0 expected), a zero entry looks like a success for CID 0.  It
 *    must end in -ENODEV, never in a read completed with zeroes.
 *  - An entry that names another SQ is taken only once the controller
 *    answers (one CSTS read), and taken then.
 * libdev and ctrl.c are the test's: the device is the CQ memory below.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "nvme.h"

/* ---- the device and libdev, as io.c sees them ---- */

struct dbk_dma_buf {
	void *p;
	size_t n;
};
static int revoked, aborts, resets, csts_reads;

int dbk_dma_buf_alloc(struct dbk_dev *d, size_t n, struct dbk_dma_buf **b)
{
	(void)d;
	*b = calloc(1, sizeof(**b));
	assert_non_null(*b);
	(*b)->n = n;
	(*b)->p = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);
	assert_non_null((*b)->p);
	memset((*b)->p, 0, n);
	return 0;
}

int dbk_dma_buf_free(struct dbk_dma_buf *b)
{
	if (b) {
		free(b->p);
		free(b);
	}
	return 0;
}

void *dbk_dma_buf_get_vaddr(const struct dbk_dma_buf *b) { return b->p; }
size_t dbk_dma_buf_get_size(const struct dbk_dma_buf *b) { return b->n; }
uint64_t dbk_dma_buf_get_iova(const struct dbk_dma_buf *b) { return (uintptr_t)b->p; }
int dbk_dev_is_revoked(const struct dbk_dev *d) { (void)d; return revoked; }
int dbk_irq_get_fd(const struct dbk_dev *d, uint32_t v) { (void)d; (void)v; return -EINVAL; }

int dbk_irq_wait(struct dbk_dev *d, uint32_t v, int ms)
{
	(void)d;
	(void)v;
	usleep((useconds_t)ms * 1000);
	return -ETIMEDOUT;
}

int dbk_read32(struct dbk_dev *d, unsigned int bar, uint64_t off, uint32_t *v)
{
	(void)d;
	(void)bar;
	assert_int_equal(off, NVME_REG_CSTS);
	csts_reads++;
	*v = NVME_CSTS_RDY;
	return revoked ? -ENODEV : 0;
}

int dbk_write32(struct dbk_dev *d, unsigned int bar, uint64_t off, uint32_t v)
{
	(void)d;
	(void)bar;
	(void)off;
	(void)v;
	return revoked ? -ENODEV : 0;
}

/* ctrl.c's: an Abort is counted (and "sent"), a reset is counted. */
int nvme_admin_cmd(struct nvme_ctrl *c, struct nvme_sqe *sqe, struct nvme_cqe *cqe)
{
	(void)c;
	assert_int_equal(sqe->opcode, NVME_ADM_ABORT);
	if (cqe)
		memset(cqe, 0, sizeof(*cqe));
	aborts++;
	return 0;
}

int nvme_ctrl_reset_after(struct nvme_ctrl *c, unsigned int seen, bool fatal)
{
	(void)c;
	(void)seen;
	(void)fatal;
	resets++;
	return 0;
}

void nvme_log(const char *fmt, ...)
{
	(void)fmt;
}

uint64_t nvme_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

struct nvme_ns *nvme_ns_get(struct nvme_ctrl *c, uint32_t nsid)
{
	return nsid == c->ns[0].nsid ? &c->ns[0] : NULL;
}

const char *nvme_status_str(uint16_t s)
{
	(void)s;
	return "?";
}

/* ---- the controller's side of one I/O queue pair ---- */

static struct nvme_ctrl ctrl;
static struct nvme_queue q;
static uint16_t dev_tail;	/* the controller's next CQ slot */
static uint8_t dev_phase;
static uint8_t buf[4096];
static int done_n, done_err;

static void done(struct nvme_req *r)
{
	done_n++;
	done_err = r->err;
}

/* The controller completes @cid, naming SQ @sqid. */
static void post(uint16_t cid, uint16_t sqid)
{
	struct nvme_cqe *e = &q.cq[dev_tail];

	e->cid = cid;
	e->sqid = sqid;
	e->sqhd = 0;
	e->dw0 = 0;
	__atomic_store_n(&e->status, (uint16_t)dev_phase, __ATOMIC_RELEASE);
	if (++dev_tail == q.depth) {
		dev_tail = 0;
		dev_phase ^= 1;
	}
}

static int setup(void **state)
{
	(void)state;
	memset(&ctrl, 0, sizeof(ctrl));
	ctrl.ns[0] = (struct nvme_ns){ .nsid = 1, .blocks = 1 << 20, .lba_shift = 9, .usable = true };
	ctrl.nr_ns = 1;
	ctrl.max_transfer = 4096;
	ctrl.cmd_timeout_ms = 1;
	ctrl.use_irq = true;
	memset(&q, 0, sizeof(q));
	assert_int_equal(nvme_queue_alloc(&ctrl, &q, 1, 4, 1, true), 0);
	q.live = true;
	dev_tail = 0;
	dev_phase = 1;
	revoked = aborts = resets = csts_reads = done_n = 0;
	done_err = 99;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nvme_queue_free(&q);
	return 0;
}

static int submit_read(struct nvme_req *r)
{
	*r = (struct nvme_req){ .op = NVME_OP_READ, .nsid = 1, .length = sizeof(buf), .buf = buf,
				.done = done };
	assert_int_equal(nvme_io_submit(&q, r), 0);
	return nvme_io_kick(&q);
}

static void test_check_times_out(void **state)
{
	struct nvme_req r;
	int i;

	(void)state;
	assert_int_equal(submit_read(&r), 0);
	/* Dropped by the controller: no completion, no interrupt. */
	for (i = 0; i < 100 && !resets; i++) {
		usleep(2000);
		assert_true(nvme_io_check(&q) >= 0);
	}
	assert_int_equal(aborts, 1);
	assert_int_equal(resets, 1);
	assert_int_equal(done_n, 0);	/* the reset (the test's: none) ends it */
}

static void test_revoked_zero_entry(void **state)
{
	struct nvme_req r;
	int i;

	(void)state;
	/* Once around the CQ (depth 4): the phase expected is 0 now. */
	for (i = 0; i < 4; i++) {
		assert_int_equal(submit_read(&r), 0);
		post((uint16_t)0, q.qid);
		assert_int_equal(nvme_io_check(&q), 1);
	}
	assert_int_equal(q.phase, 0);
	assert_int_equal(done_n, 4);
	assert_int_equal(csts_reads, 0);	/* entries naming our SQ: no register read */
	memset(buf, 0xaa, sizeof(buf));
	assert_int_equal(submit_read(&r), 0);
	done_n = 0;
	done_err = 99;
	/* Revoked: the CQ (and the bounce buffer) read as zeros. */
	revoked = 1;
	memset(q.cq, 0, q.depth * sizeof(*q.cq));
	memset(q.slots[0].bounce, 0, sizeof(buf));
	assert_int_equal(nvme_io_check(&q), -ENODEV);
	/* Reaped without that first check (nvme_io_poll()): the entry itself is refused. */
	assert_int_equal(nvme_io_poll(&q), -ENODEV);
	assert_int_equal(csts_reads, 1);
	assert_int_equal(done_n, 0);
	assert_int_equal(buf[0], 0xaa);
}

static void test_other_sqid(void **state)
{
	struct nvme_req r;

	(void)state;
	assert_int_equal(submit_read(&r), 0);
	post(0, (uint16_t)(q.qid + 1));
	assert_int_equal(nvme_io_check(&q), 1);
	assert_int_equal(csts_reads, 1);
	assert_int_equal(done_n, 1);
	assert_int_equal(done_err, 0);
}

/* The SQ entry submitted last. */
static struct nvme_sqe *last_sqe(void)
{
	return &q.sq[(q.sq_tail + q.depth - 1u) % q.depth];
}

/*
 * Zero copy (nvme_io_lend()): a lent buffer's request takes that buffer's
 * slot, so the controller is pointed at the request's own memory; lent
 * slots are no one else's until given back, a reset included.
 */
static void test_lend(void **state)
{
	struct nvme_req w, rd, fl;
	void *b[3], *extra;
	unsigned int i, j;

	(void)state;
	/* Depth 4: 3 slots, each lent once; too long a request gets none. */
	assert_null(nvme_io_lend(&q, ctrl.max_transfer + 1));
	for (i = 0; i < 3; i++) {
		b[i] = nvme_io_lend(&q, 4096);
		assert_non_null(b[i]);
		for (j = 0; j < i; j++)
			assert_ptr_not_equal(b[i], b[j]);
	}
	assert_null(nvme_io_lend(&q, 512));
	/* Every slot lent: a command without a lent buffer waits (SQ "full"). */
	fl = (struct nvme_req){ .op = NVME_OP_FLUSH, .nsid = 1, .done = done };
	assert_int_equal(nvme_io_submit(&q, &fl), -EAGAIN);

	/* A write from b[1]: its own slot, the controller pointed at it. */
	memset(b[1], 0x5a, 4096);
	w = (struct nvme_req){ .op = NVME_OP_WRITE, .nsid = 1, .length = 4096, .buf = b[1], .done = done };
	assert_int_equal(nvme_io_submit(&q, &w), 0);
	assert_int_equal(q.sq[0].prp1, (uintptr_t)b[1]);
	assert_ptr_equal(q.slots[q.sq[0].cid].bounce, b[1]);
	/* A read into b[2]: the "controller" writes there, nothing is copied over it. */
	rd = (struct nvme_req){ .op = NVME_OP_READ, .nsid = 1, .length = 4096, .buf = b[2], .done = done };
	assert_int_equal(nvme_io_submit(&q, &rd), 0);
	assert_int_equal(q.sq[1].prp1, (uintptr_t)b[2]);
	assert_int_equal(nvme_io_kick(&q), 0);
	memset(b[2], 0xc3, 4096);
	post(q.sq[0].cid, q.qid);
	post(q.sq[1].cid, q.qid);
	assert_int_equal(nvme_io_check(&q), 2);
	assert_int_equal(done_n, 2);
	assert_int_equal(((uint8_t *)b[2])[4095], 0xc3);
	assert_int_equal(((uint8_t *)b[1])[0], 0x5a);
	assert_int_equal(q.nr_copied, 0);	/* neither was copied */

	/* Completed, still lent: the flush still finds no slot. */
	assert_int_equal(nvme_io_submit(&q, &fl), -EAGAIN);
	/* A reset fails a lent slot's command; the slot stays lent. */
	assert_int_equal(nvme_io_submit(&q, &w), 0);
	pthread_mutex_lock(&q.lock);
	assert_int_equal(nvme_queue_fail_all(&q, -ECANCELED, NULL), 1);
	nvme_queue_stopped(&q);		/* the controller disabled: nothing stale */
	pthread_mutex_unlock(&q.lock);
	assert_int_equal(nvme_io_submit(&q, &fl), -EAGAIN);

	/* Given back: free for anyone, and lent again. */
	nvme_io_give_back(&q, b[0]);
	assert_int_equal(nvme_io_submit(&q, &fl), 0);
	assert_ptr_equal(q.slots[last_sqe()->cid].bounce, b[0]);
	nvme_io_give_back(&q, (char *)b[1] + 512);	/* not a lent buffer: ignored */
	nvme_io_give_back(&q, buf);
	assert_null(nvme_io_lend(&q, 4096));		/* b[0]'s slot has the flush */
	nvme_io_give_back(&q, b[2]);
	extra = nvme_io_lend(&q, 4096);
	assert_ptr_equal(extra, b[2]);
	/* A buffer not lent (the library's own) is copied through a free slot. */
	nvme_io_give_back(&q, b[1]);
	memset(buf, 0x11, sizeof(buf));
	w = (struct nvme_req){ .op = NVME_OP_WRITE, .nsid = 1, .length = 4096, .buf = buf, .done = done };
	assert_int_equal(nvme_io_submit(&q, &w), 0);
	assert_ptr_equal(q.slots[last_sqe()->cid].bounce, b[1]);
	assert_int_equal(last_sqe()->prp1, (uintptr_t)b[1]);
	assert_int_equal(((uint8_t *)b[1])[100], 0x11);
	assert_int_equal(q.nr_copied, 1);
}

/*
 * A command failed without the controller's word (a dead disk, a reset
 * whose disable timed out) may still be transferring: its slot's buffer is
 * not lent again until the controller is known to have stopped; nor is
 * any while the queue is down or the controller failed.
 */
static void test_lend_stale(void **state)
{
	struct nvme_req w, *list = NULL;
	void *b, *again[3];
	unsigned int i;

	(void)state;
	b = nvme_io_lend(&q, 4096);
	assert_non_null(b);
	w = (struct nvme_req){ .op = NVME_OP_WRITE, .nsid = 1, .length = 4096, .buf = b, .done = done };
	assert_int_equal(nvme_io_submit(&q, &w), 0);
	assert_int_equal(nvme_io_kick(&q), 0);
	pthread_mutex_lock(&q.lock);
	assert_int_equal(nvme_queue_fail_all(&q, -EIO, &list), 1);
	pthread_mutex_unlock(&q.lock);
	nvme_run_callbacks(list);
	assert_int_equal(done_n, 1);
	nvme_io_give_back(&q, b);
	for (i = 0; i < 3; i++) {
		again[i] = nvme_io_lend(&q, 4096);
		assert_ptr_not_equal(again[i], b);
	}
	assert_null(again[2]);		/* 2 slots left to lend, not the stale one */
	nvme_io_give_back(&q, again[0]);
	nvme_io_give_back(&q, again[1]);
	/* Down, or failed: nothing is lent. */
	q.live = false;
	assert_null(nvme_io_lend(&q, 4096));
	q.live = true;
	ctrl.failed = true;
	assert_null(nvme_io_lend(&q, 4096));
	ctrl.failed = false;
	/* Reset (disabled): the stale slot is free again. */
	pthread_mutex_lock(&q.lock);
	nvme_queue_stopped(&q);
	pthread_mutex_unlock(&q.lock);
	for (i = 0; i < 3; i++)
		again[i] = nvme_io_lend(&q, 4096);
	assert_true(again[0] == b || again[1] == b || again[2] == b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_check_times_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_revoked_zero_entry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_other_sqid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lend, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lend_stale, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
