/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/nvme: queue pairs and the I/O API (nvme.h).
 *
 * A queue pair is an SQ and a CQ of @depth entries each in DMA memory
 * (§4.1: a queue is full when tail + 1 == head, so depth - 1 commands
 * are outstanding at most; that is also how many command slots we keep,
 * and a slot's index is the command's CID).  The controller fetches SQ
 * entries after we write the SQ tail doorbell, and posts CQ entries with
 * the Phase Tag inverted on every pass through the queue (§4.6: "the
 * Phase Tag ... is inverted each pass"): an entry is new while its phase
 * equals ours.  We then write the CQ head doorbell, once per batch.
 *
 * Data goes through bounce buffers: each command slot owns max_transfer
 * bytes of DMA memory (in a few large DMA buffers) and a PRP list.  A
 * slot's bounce buffer may be lent out as a request's own buffer
 * (nvme_io_lend(), for the block frontend's dbk_block_set_buffers()):
 * that request then takes that slot, and its data is not copied.  DMA
 * buffers are contiguous in device address space (one coherent block
 * without an IOMMU, one IOVA range with one), so a slot's pages are
 * iova, iova + 4K, ...; PRP rules, §4.3: PRP1 the first page, PRP2 the
 * second page when the transfer spans exactly two, else the address of a
 * PRP list holding pages 2..n.  A slot's list never crosses a page, so no
 * list chaining is needed (max_transfer is capped to make it so).
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nvme.h"

#define BOUNCE_CHUNK	(1u << 20)	/* bytes per bounce DMA buffer, at least */
#define WAIT_SLICE_MS	100		/* how long a wait sleeps before checking timeouts */
/*
 * Adaptive polling, as ixy switches on its packet rate: an interrupt
 * that finds POLL_ENTER or more completions means the queue is busy
 * enough that the next one is due before a sleep and a wakeup would
 * pay off, so the waiter polls the CQ (yielding the CPU between empty
 * polls) until POLL_IDLE empty polls in a row, then sleeps on the vector
 * again.  Interrupts stay enabled meanwhile (the CQ's IEN is fixed when
 * it is created, §5.3, and INTMS/INTMC are not for MSI-X, §3.1.3): their
 * counts pile up in the eventfd, read at the next sleep.
 */
#define POLL_ENTER	4
#define POLL_IDLE	1000

/* A slot whose waiter gave up (admin timeout): its late completion is dropped. */
static struct nvme_req orphan;

static uint32_t roundup_pow2(uint32_t v)
{
	uint32_t p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static size_t page_round(size_t v)
{
	return (v + NVME_PAGE_SIZE - 1) & ~(size_t)(NVME_PAGE_SIZE - 1);
}

/* Bytes of PRP list a slot needs: one entry per page after the first. */
static uint32_t prp_slot_size(uint32_t max_transfer)
{
	uint32_t n = (max_transfer + NVME_PAGE_SIZE - 1) / NVME_PAGE_SIZE;

	return roundup_pow2(n * 8 < 64 ? 64 : n * 8);
}

static int dma_alloc(struct nvme_ctrl *c, size_t size, struct dbk_dma_buf **b, const char *what)
{
	int r = dbk_dma_buf_alloc(c->dev, page_round(size), b);

	if (r < 0)
		nvme_log("allocating %zu bytes of DMA memory for %s: %s", page_round(size), what,
			 strerror(-r));
	return r;
}

int nvme_queue_alloc(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid,
		     uint16_t depth, uint32_t vector, bool io)
{
	unsigned int nslots = depth - 1u, i;
	size_t sq_size, cq_size, prp_size;
	uint64_t iova;
	uint8_t *base;
	int r;

	memset(q, 0, sizeof(*q));
	q->c = c;
	q->qid = qid;
	q->depth = depth;
	q->vector = vector;
	pthread_mutex_init(&q->lock, NULL);
	q->slots = calloc(nslots, sizeof(*q->slots));
	if (!q->slots)
		return -ENOMEM;
	/*
	 * One DMA buffer for the SQ, the CQ and the PRP lists (each part page
	 * aligned): a grant has at most DBK_MAX_DMA_BUFS (64) buffers, and
	 * the bounce buffers need most of them.
	 */
	sq_size = page_round(depth * sizeof(struct nvme_sqe));
	cq_size = page_round(depth * sizeof(struct nvme_cqe));
	prp_size = io ? page_round((size_t)prp_slot_size(c->max_transfer) * nslots) : 0;
	r = dma_alloc(c, sq_size + cq_size + prp_size, &q->ring_buf, "a queue pair");
	if (r < 0)
		return r;
	base = dbk_dma_buf_get_vaddr(q->ring_buf);
	iova = dbk_dma_buf_get_iova(q->ring_buf);
	q->sq = (struct nvme_sqe *)base;
	q->sq_iova = iova;
	q->cq = (struct nvme_cqe *)(base + sq_size);
	q->cq_iova = iova + sq_size;
	if (io) {
		uint32_t psz = prp_slot_size(c->max_transfer);
		/* At most 8 bounce buffers per queue, each BOUNCE_CHUNK or more. */
		unsigned int per = BOUNCE_CHUNK / c->max_transfer, left;

		if (per < (nslots + 7) / 8)
			per = (nslots + 7) / 8;
		if (per == 0)
			per = 1;
		q->bounce_per = per;
		for (i = 0; i < nslots; i++) {
			q->slots[i].prp = (uint64_t *)(base + sq_size + cq_size + (size_t)psz * i);
			q->slots[i].prp_iova = iova + sq_size + cq_size + (uint64_t)psz * i;
		}
		for (i = 0, left = nslots; left; ) {
			unsigned int n = left < per ? left : per, j;
			struct dbk_dma_buf *b;

			r = dma_alloc(c, (size_t)c->max_transfer * n, &b, "bounce buffers");
			if (r < 0)
				return r;
			q->bounce_buf[q->nr_bounce_buf++] = b;
			for (j = 0; j < n; j++, i++) {
				q->slots[i].bounce = (char *)dbk_dma_buf_get_vaddr(b) + (size_t)c->max_transfer * j;
				q->slots[i].bounce_iova = dbk_dma_buf_get_iova(b) + (uint64_t)c->max_transfer * j;
			}
			left -= n;
		}
	}
	nvme_queue_reset(q);
	return 0;
}

void nvme_queue_free(struct nvme_queue *q)
{
	unsigned int i;

	if (!q->c)
		return;
	dbk_dma_buf_free(q->ring_buf);
	for (i = 0; i < q->nr_bounce_buf; i++)
		dbk_dma_buf_free(q->bounce_buf[i]);
	free(q->slots);
	pthread_mutex_destroy(&q->lock);
	memset(q, 0, sizeof(*q));
}

/* Back to the state of a freshly created queue: empty, phase 1 (§4.6). */
void nvme_queue_reset(struct nvme_queue *q)
{
	memset(q->cq, 0, q->depth * sizeof(struct nvme_cqe));
	q->sq_tail = q->sq_rung = q->sq_head = q->cq_head = 0;
	q->phase = 1;
	q->inflight = 0;
	memset(q->sq, 0, q->depth * sizeof(struct nvme_sqe));
}

/*
 * Take every outstanding request out of @q (reset), chained on *@list (may
 * be NULL).  Their slots are stale until nvme_queue_stopped(): nothing says
 * the controller is done with their buffers.
 */
unsigned int nvme_queue_fail_all(struct nvme_queue *q, int err, struct nvme_req **list)
{
	uint64_t now = nvme_now_ns();
	unsigned int i, n = 0;

	for (i = 0; i + 1u < q->depth; i++) {
		struct nvme_req *req = q->slots[i].req;

		if (!req)
			continue;
		q->slots[i].req = NULL;
		q->slots[i].stale = true;
		if (req == &orphan)
			continue;
		req->err = now >= q->slots[i].deadline ? -ETIMEDOUT : err;
		req->status = 0;
		n++;
		if (list) {
			req->next = *list;	/* completed by nvme_run_callbacks() */
			*list = req;
		} else {
			__atomic_store_n(&req->completed, true, __ATOMIC_RELEASE);
		}
	}
	q->inflight = 0;
	return n;
}

/* Under q->lock: the controller was reset (CSTS.RDY 0): no transfer is left in @q's buffers. */
void nvme_queue_stopped(struct nvme_queue *q)
{
	unsigned int i;

	for (i = 0; i + 1u < q->depth; i++)
		q->slots[i].stale = false;
}

static int sq_doorbell(struct nvme_queue *q)
{
	int r;

	if (q->sq_tail == q->sq_rung)
		return 0;
	/* The entries must be in memory before the controller hears of them. */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	r = dbk_write32(q->c->dev, NVME_BAR, NVME_SQ_DB(q->qid, q->c->dstrd), q->sq_tail);
	if (r == 0) {
		q->sq_rung = q->sq_tail;
		q->nr_doorbells++;
	}
	return r;
}

/* Under q->lock: put @sqe in the SQ for @req (its CID is chosen here). */
static int submit_locked(struct nvme_queue *q, struct nvme_sqe *sqe, struct nvme_req *req,
			 int slot)
{
	struct nvme_slot *s = &q->slots[slot];

	sqe->cid = (uint16_t)slot;
	s->req = req;
	s->abort_sent = false;
	s->deadline = req->deadline ? req->deadline :
		      nvme_now_ns() + (uint64_t)q->c->cmd_timeout_ms * 1000000u;
	req->expires = s->deadline;
	req->completed = false;
	req->err = 0;
	req->status = 0;
	req->result = 0;
	memcpy(&q->sq[q->sq_tail], sqe, sizeof(*sqe));
	q->sq_tail = (uint16_t)((q->sq_tail + 1u) % q->depth);
	q->inflight++;
	q->nr_submitted++;
	return 0;
}

static int free_slot(struct nvme_queue *q)
{
	unsigned int i;

	if (q->inflight + 1u >= q->depth)
		return -EAGAIN;
	for (i = 0; i + 1u < q->depth; i++)
		if (!q->slots[i].req && !q->slots[i].lent)
			return (int)i;
	return -EAGAIN;
}

/* The slot whose bounce buffer @buf is, or -1. */
static int slot_of_buf(const struct nvme_queue *q, const void *buf)
{
	size_t mt = q->c->max_transfer;
	unsigned int k;

	for (k = 0; buf && k < q->nr_bounce_buf; k++) {
		const char *base = dbk_dma_buf_get_vaddr(q->bounce_buf[k]);
		size_t off = (size_t)((const char *)buf - base);

		if ((const char *)buf >= base && off < dbk_dma_buf_get_size(q->bounce_buf[k]) &&
		    off % mt == 0) {
			size_t i = (size_t)k * q->bounce_per + off / mt;

			return i + 1u < q->depth ? (int)i : -1;
		}
	}
	return -1;
}

void *nvme_io_lend(struct nvme_queue *q, uint32_t len)
{
	void *buf = NULL;
	unsigned int i;

	if (!q->nr_bounce_buf || len == 0 || len > q->c->max_transfer)
		return NULL;
	pthread_mutex_lock(&q->lock);
	/*
	 * Not while the queue is down or the controller failed: a slot whose
	 * command was failed then may still be written by the controller, and
	 * a revoked grant's buffers fault (libdev copes, but a copy is cheaper).
	 */
	for (i = 0; q->live && !q->c->failed && i + 1u < q->depth; i++)
		if (!q->slots[i].req && !q->slots[i].lent && !q->slots[i].stale) {
			q->slots[i].lent = true;
			buf = q->slots[i].bounce;
			break;
		}
	pthread_mutex_unlock(&q->lock);
	return buf;
}

void nvme_io_give_back(struct nvme_queue *q, void *buf)
{
	int i = slot_of_buf(q, buf);

	if (i < 0) {
		nvme_log("queue %u: a buffer given back that was not lent (%p); ignored", q->qid, buf);
		return;
	}
	pthread_mutex_lock(&q->lock);
	q->slots[i].lent = false;
	pthread_mutex_unlock(&q->lock);
}

/* Admin commands (ctrl.c): submit and ring at once. */
int nvme_queue_submit_sqe(struct nvme_queue *q, struct nvme_sqe *sqe, struct nvme_req *req)
{
	int slot, r;

	pthread_mutex_lock(&q->lock);
	slot = free_slot(q);
	if (slot < 0) {
		pthread_mutex_unlock(&q->lock);
		return slot;
	}
	submit_locked(q, sqe, req, slot);
	r = sq_doorbell(q);
	if (r < 0)
		q->slots[slot].req = &orphan;	/* the caller returns: never complete into it */
	pthread_mutex_unlock(&q->lock);
	return r < 0 ? r : slot;
}

/*
 * Forget every waiter on @q (the caller gives up on its requests, which
 * are about to go: a revoked device, a wait that failed); completions,
 * a reset's included, are dropped, and orphans never time out.  For a
 * queue with one user (the self-test's): it forgets everyone's.
 */
void nvme_io_forget(struct nvme_queue *q)
{
	unsigned int i;

	pthread_mutex_lock(&q->lock);
	for (i = 0; i + 1u < q->depth; i++)
		if (q->slots[i].req)
			q->slots[i].req = &orphan;
	pthread_mutex_unlock(&q->lock);
}

/* Forget the waiter of @slot (it gave up); its completion, if any, is dropped. */
void nvme_queue_orphan(struct nvme_queue *q, int slot)
{
	pthread_mutex_lock(&q->lock);
	if (slot >= 0 && slot + 1 < q->depth && q->slots[slot].req)
		q->slots[slot].req = &orphan;
	pthread_mutex_unlock(&q->lock);
}

/*
 * Under q->lock: consume every new CQ entry, then write the CQ head
 * doorbell once.  Completed requests are chained on *@done.
 */
static int reap_locked(struct nvme_queue *q, struct nvme_req **done)
{
	int n = 0;

	for (;;) {
		struct nvme_cqe *e = &q->cq[q->cq_head];
		uint16_t st = __atomic_load_n(&e->status, __ATOMIC_ACQUIRE);
		struct nvme_slot *s;
		struct nvme_req *req;
		uint16_t cid;

		if (NVME_CQE_PHASE(st) != q->phase)
			break;
		/*
		 * A revoked grant's DMA windows read as zeros, which after the
		 * first pass through the CQ (phase 0 expected) is an entry that
		 * completes CID 0 with success.  Every entry names its SQ (§4.6,
		 * DW2): one that does not name ours, or is zero throughout, is
		 * taken only once the controller answers (CSTS: -ENODEV once
		 * revoked, all ones once surprise-removed).  A controller's own
		 * entries name their SQ: no register read on the hot path.
		 */
		if (e->sqid != q->qid || !(e->dw0 | e->sqhd | e->cid | st)) {
			uint32_t csts;

			if (dbk_read32(q->c->dev, NVME_BAR, NVME_REG_CSTS, &csts) < 0 || csts == ~0u)
				return -ENODEV;
		}
		cid = e->cid;
		q->sq_head = e->sqhd;
		if (++q->cq_head == q->depth) {
			q->cq_head = 0;
			q->phase ^= 1;
		}
		n++;
		if (cid + 1u >= q->depth || !q->slots[cid].req) {
			uint32_t csts;

			/*
			 * A revoked grant's DMA windows read as zeros: an entry
			 * of phase 0 then, not a completion.  Ask the controller
			 * (-ENODEV once revoked, all ones once surprise-removed)
			 * before taking the controller for a liar.
			 */
			if (dbk_read32(q->c->dev, NVME_BAR, NVME_REG_CSTS, &csts) < 0 || csts == ~0u)
				return -ENODEV;
			nvme_log("queue %u: completion for CID %u, which is not outstanding; ignored",
				 q->qid, cid);
			continue;
		}
		s = &q->slots[cid];
		req = s->req;
		s->req = NULL;
		q->inflight--;
		q->nr_completed++;
		if (req == &orphan)
			continue;
		req->status = NVME_CQE_STATUS(st);
		req->result = e->dw0;
		if (NVME_STATUS_CODE(req->status) == NVME_SC_SUCCESS)
			req->err = 0;
		else if (NVME_SCT(req->status) == 0 && NVME_SC(req->status) == NVME_SC_ABORT_REQ)
			req->err = -ETIMEDOUT;	/* we asked for it: the command timed out */
		else
			req->err = -EIO;
		if (req->err == 0 && req->op == NVME_OP_READ && q->qid && req->buf &&
		    req->buf != s->bounce) {
			memcpy(req->buf, s->bounce, req->length);
			q->nr_copied++;
		}
		req->next = *done;	/* completed by nvme_run_callbacks() */
		*done = req;
	}
	if (n) {
		int r = dbk_write32(q->c->dev, NVME_BAR, NVME_CQ_DB(q->qid, q->c->dstrd), q->cq_head);

		if (r < 0)
			return r;
	}
	return n;
}

void nvme_run_callbacks(struct nvme_req *done)
{
	/* Oldest first: the chain is newest first. */
	struct nvme_req *rev = NULL;

	while (done) {
		struct nvme_req *next = done->next;

		done->next = rev;
		rev = done;
		done = next;
	}
	/*
	 * `completed` last, after the walk's last look at the request: a
	 * waiter on another thread (a reset fails every queue's requests)
	 * may free it as soon as it sees the flag.
	 */
	while (rev) {
		struct nvme_req *next = rev->next;
		nvme_done_fn fn = rev->done;

		rev->next = NULL;
		__atomic_store_n(&rev->completed, true, __ATOMIC_RELEASE);
		if (fn)
			fn(rev);
		rev = next;
	}
}

/* Reap @q; run the callbacks of what completed.  Admin queue too. */
int nvme_queue_poll(struct nvme_queue *q)
{
	struct nvme_req *done = NULL;
	int n;

	pthread_mutex_lock(&q->lock);
	n = q->live || q->qid == 0 ? reap_locked(q, &done) : 0;
	pthread_mutex_unlock(&q->lock);
	nvme_run_callbacks(done);
	return n;
}

/* ---- the I/O API ---- */

int nvme_io_submit(struct nvme_queue *q, struct nvme_req *req)
{
	struct nvme_ctrl *c = q->c;
	struct nvme_ns *ns = nvme_ns_get(c, req->nsid);
	struct nvme_sqe sqe;
	int slot, r;

	r = nvme_check_req(ns, c->max_transfer, c->oncs, req);
	if (r < 0)
		return r;
	pthread_mutex_lock(&q->lock);
	if (!q->live) {
		pthread_mutex_unlock(&q->lock);
		return c->shut_down ? -ESHUTDOWN : c->failed ? -EIO : -EAGAIN;
	}
	/* A lent buffer's own slot (free: its request is not in flight), else any free one. */
	slot = req->buf ? slot_of_buf(q, req->buf) : -1;
	if (slot < 0 || !q->slots[slot].lent || q->slots[slot].req)
		slot = free_slot(q);
	if (slot < 0) {
		pthread_mutex_unlock(&q->lock);
		return slot;
	}
	if (nvme_build_cmd(ns, req, &q->slots[slot], &sqe))
		q->nr_copied++;
	submit_locked(q, &sqe, req, slot);
	pthread_mutex_unlock(&q->lock);
	return 0;
}

int nvme_io_kick(struct nvme_queue *q)
{
	int r;

	pthread_mutex_lock(&q->lock);
	r = q->live ? sq_doorbell(q) : 0;
	pthread_mutex_unlock(&q->lock);
	return r;
}

int nvme_io_poll(struct nvme_queue *q)
{
	return nvme_queue_poll(q);
}

int nvme_io_get_fd(struct nvme_queue *q)
{
	return q->c->use_irq ? dbk_irq_get_fd(q->c->dev, q->vector) : -EOPNOTSUPP;
}

/*
 * Timeouts: the first expiry of a command sends an Abort (§5.1) and gives
 * it another cmd_timeout; the second resets the controller (§7.3).  With
 * CSTS.CFS set the first resets it at once.
 */
static int check_timeouts(struct nvme_queue *q)
{
	struct nvme_ctrl *c = q->c;
	uint16_t abort_cid[8];
	struct nvme_req *abort_req[8];
	unsigned int nabort = 0, i, k, seen;
	bool reset = false;
	uint64_t now = nvme_now_ns();

	pthread_mutex_lock(&q->lock);
	/* Every WAIT_SLICE_MS at most, not at every wakeup: deadlines are seconds. */
	if (now < q->next_timeout_check) {
		pthread_mutex_unlock(&q->lock);
		return 0;
	}
	q->next_timeout_check = now + WAIT_SLICE_MS * 1000000ull;
	seen = c->nr_resets;
	for (i = 0; i + 1u < q->depth; i++) {
		struct nvme_slot *s = &q->slots[i];

		if (!s->req || s->req == &orphan || now < s->deadline)
			continue;
		if (s->abort_sent) {
			reset = true;
		} else if (nabort < 8) {
			abort_req[nabort] = s->req;
			abort_cid[nabort++] = (uint16_t)i;
		}
	}
	pthread_mutex_unlock(&q->lock);
	/*
	 * A controller that can no longer post completions sets CSTS.CFS
	 * (the spec's "Controller Fatal Status Condition"), and the host is
	 * to reset it: an Abort would only wait for a completion that cannot
	 * come, a command timeout longer.
	 */
	if (nabort || reset) {
		uint32_t csts;

		if (dbk_read32(c->dev, NVME_BAR, NVME_REG_CSTS, &csts) == 0 && csts != 0xffffffffu &&
		    (csts & NVME_CSTS_CFS)) {
			nvme_log("queue %u: a command timed out with CSTS.CFS set (CSTS 0x%x): the controller failed; resetting it",
				 q->qid, csts);
			return nvme_ctrl_reset_after(c, seen, true);	/* the expired end with ETIMEDOUT */
		}
	}
	if (reset)
		goto reset;
	/* An Abort and another cmd_timeout for each still outstanding. */
	pthread_mutex_lock(&q->lock);
	for (i = k = 0; i < nabort; i++) {
		struct nvme_slot *s = &q->slots[abort_cid[i]];

		if (s->req != abort_req[i] || now < s->deadline)
			continue;	/* completed meanwhile (and the slot maybe taken again) */
		s->abort_sent = true;
		s->deadline = now + (uint64_t)c->cmd_timeout_ms * 1000000u;
		abort_cid[k++] = abort_cid[i];
	}
	nabort = k;
	pthread_mutex_unlock(&q->lock);
	for (i = 0; i < nabort && !reset; i++) {
		struct nvme_sqe sqe = { .opcode = NVME_ADM_ABORT };
		struct nvme_cqe cqe;
		int r;

		/* Reset meanwhile by another queue: the CID may be a new command's. */
		if (__atomic_load_n(&c->nr_resets, __ATOMIC_RELAXED) != seen)
			return 0;
		sqe.cdw10 = q->qid | ((uint32_t)abort_cid[i] << 16);
		nvme_log("queue %u: command %u timed out after %d ms; aborting it", q->qid,
			 abort_cid[i], c->cmd_timeout_ms);
		r = nvme_admin_cmd(c, &sqe, &cqe);
		if (r < 0)
			reset = true;	/* the admin queue is stuck too */
		else if (c->verbose)
			nvme_log("abort: %s, command %saborted", r > 0 ? nvme_status_str((uint16_t)r) : "ok",
				 cqe.dw0 & 1 ? "not " : "");
	}
	if (!reset)
		return 0;
reset:
	nvme_log("queue %u: a command did not complete after its abort; resetting the controller", q->qid);
	return nvme_ctrl_reset_after(c, seen, false);
}

/*
 * Timeouts first, at every look (check_timeouts() walks the slots every
 * WAIT_SLICE_MS at most): under steady load every poll finds completions,
 * and a check made only when one found none never came, so a command the
 * controller dropped stayed outstanding (seen: 15 minutes, until the grant
 * was revoked).  Then the CQ.  Completions reaped, or -errno.
 */
static int check_and_reap(struct nvme_queue *q)
{
	int r = check_timeouts(q);

	return r < 0 ? r : nvme_queue_poll(q);
}

/* One look at @q for its waiter, with the adaptive switch's bookkeeping. */
static int look(struct nvme_queue *q)
{
	struct nvme_ctrl *c = q->c;
	bool was_polling = q->polling;
	int n = check_and_reap(q);

	if (n > 0 && c->use_irq) {
		if (was_polling) {
			q->nr_polled += (uint64_t)n;
			q->idle_polls = 0;
		} else if (c->poll_mode == NVME_POLL_ALWAYS ||
			   (c->poll_mode == NVME_POLL_ADAPTIVE && n >= POLL_ENTER)) {
			q->polling = true;
			q->idle_polls = 0;
			q->nr_poll_switches++;
		}
	}
	return n;
}

/* After a look that found nothing: poll again (true), or sleep on the vector. */
static bool keep_polling(struct nvme_queue *q)
{
	struct nvme_ctrl *c = q->c;

	if (c->use_irq && q->polling &&
	    (c->poll_mode == NVME_POLL_ALWAYS || ++q->idle_polls < POLL_IDLE))
		return true;
	q->polling = false;
	return false;
}

static void always_poll(struct nvme_queue *q)
{
	struct nvme_ctrl *c = q->c;

	if (c->use_irq && c->poll_mode == NVME_POLL_ALWAYS && !q->polling) {
		q->polling = true;
		q->nr_poll_switches++;
	}
}

int nvme_io_wait(struct nvme_queue *q, int timeout_ms)
{
	struct nvme_ctrl *c = q->c;
	uint64_t end = nvme_now_ns() + (uint64_t)(timeout_ms < 0 ? 0 : timeout_ms) * 1000000u;
	int n, r;

	always_poll(q);
	for (;;) {
		n = look(q);
		if (n != 0 || (timeout_ms >= 0 && nvme_now_ns() >= end))
			return n;
		if (keep_polling(q)) {
			sched_yield();
			if (dbk_dev_is_revoked(c->dev) == 1)
				return -ENODEV;
		} else if (c->use_irq) {
			r = dbk_irq_wait(c->dev, q->vector, WAIT_SLICE_MS);
			if (r > 0)
				q->nr_irqs += (uint64_t)r;
			else if (r != -ETIMEDOUT)
				return r;
			else if (q->inflight)
				q->nr_quiet_slices++;	/* a lost interrupt, or a slow device */
		} else {
			usleep(100);
			if (dbk_dev_is_revoked(c->dev) == 1)
				return -ENODEV;
		}
	}
}

int nvme_io_service(struct nvme_queue *q, int *sleep_ms)
{
	struct nvme_ctrl *c = q->c;
	int n;

	if (dbk_dev_is_revoked(c->dev) == 1)
		return -ENODEV;
	always_poll(q);
	/*
	 * The vector's count first, when the caller sleeps on it: an
	 * interrupt after this read is seen at the next look.  While polling
	 * the caller does not sleep, and the read (a system call per look)
	 * waits for the first look back on the vector; what piled up then
	 * wakes the caller once, for nothing.
	 */
	if (!q->polling)
		nvme_io_ack(q);
	n = look(q);
	if (n < 0)
		return n;
	if ((n > 0 && q->polling) || (n == 0 && keep_polling(q))) {
		*sleep_ms = 0;
	} else if (!__atomic_load_n(&q->inflight, __ATOMIC_RELAXED)) {
		*sleep_ms = -1;		/* until a request, or the vector */
	} else if (c->use_irq) {
		*sleep_ms = WAIT_SLICE_MS;	/* for the timeouts */
	} else {
		/* Without MSI-X: looks 100 us apart, as nvme_io_wait()'s (poll() counts in ms). */
		if (n == 0)
			usleep(100);
		*sleep_ms = 0;
	}
	return n;
}

int nvme_io_check(struct nvme_queue *q)
{
	if (dbk_dev_is_revoked(q->c->dev) == 1)
		return -ENODEV;
	return check_and_reap(q);
}

void nvme_io_ack(struct nvme_queue *q)
{
	uint64_t cnt;
	int fd = nvme_io_get_fd(q);

	if (fd >= 0 && read(fd, &cnt, sizeof(cnt)) == (ssize_t)sizeof(cnt))
		q->nr_irqs += cnt;
}
