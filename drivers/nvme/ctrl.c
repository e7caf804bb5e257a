/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/nvme: the controller.  Bring-up follows the spec's
 * "Initialization" (§7.6.1; 2.0 §3.5.1):
 *
 *  1. read CAP; we need the NVM command set and 4 KiB pages;
 *  2. CC.EN = 0, wait for CSTS.RDY = 0 (at most CAP.TO * 500 ms);
 *  3. the admin queue: AQA, ASQ, ACQ (§3.1.8-10) on DMA memory;
 *  4. CC: NVM command set, 4 KiB pages, round robin, IOSQES = 6,
 *     IOCQES = 4, EN = 1; wait for CSTS.RDY = 1, failing on CSTS.CFS;
 *  5. Identify Controller (CNS 01h), the active namespace list (CNS 02h)
 *     and each namespace (CNS 00h), §5.15;
 *  6. Set Features, Number of Queues (§5.21.1.7): what the controller
 *     grants may be fewer than we ask;
 *  7. per I/O queue pair: Create I/O CQ (§5.3) on its own MSI-X vector,
 *     then Create I/O SQ (§5.4) bound to it.
 *
 * Shutdown (§7.6.2): delete the I/O SQs, then the CQs, then CC.SHN = 01b
 * and wait for CSTS.SHST = 10b.  Reset (§7.3.2, "Controller Level
 * Reset"): CC.EN = 0 ends every command and deletes every I/O queue; we
 * then build everything again on the same memory.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "nvme.h"

void nvme_log(const char *fmt, ...)
{
	va_list ap;

	fputs("nvme: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * The coarse clock: every deadline here is milliseconds to seconds, and
 * it is read from memory (the vDSO), where CLOCK_MONOTONIC reads the
 * clocksource: under TCG the HPET, a trap to QEMU each time, which a
 * profile showed as the driver's largest cost per 4 KiB I/O.
 */
uint64_t nvme_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * 64-bit registers as two 32-bit accesses, low half first: §3.1 lets the
 * host use 32-bit accesses for them, and not every controller (nor every
 * mediated path) takes 8-byte ones.
 */
int nvme_reg_read64(struct nvme_ctrl *c, uint32_t off, uint64_t *v)
{
	uint32_t lo, hi;
	int r = dbk_read32(c->dev, NVME_BAR, off, &lo);

	if (r == 0)
		r = dbk_read32(c->dev, NVME_BAR, off + 4, &hi);
	if (r == 0)
		*v = (uint64_t)hi << 32 | lo;
	return r;
}

int nvme_reg_write64(struct nvme_ctrl *c, uint32_t off, uint64_t v)
{
	int r = dbk_write32(c->dev, NVME_BAR, off, (uint32_t)v);

	return r ? r : dbk_write32(c->dev, NVME_BAR, off + 4, (uint32_t)(v >> 32));
}

const char *nvme_status_str(uint16_t status)
{
	static __thread char buf[64];
	const char *what = NULL;

	if (NVME_SCT(status) == 0) {
		switch (NVME_SC(status)) {
		case NVME_SC_SUCCESS: what = "Successful Completion"; break;
		case NVME_SC_INVALID_OPCODE: what = "Invalid Command Opcode"; break;
		case NVME_SC_INVALID_FIELD: what = "Invalid Field in Command"; break;
		case NVME_SC_DATA_XFER_ERROR: what = "Data Transfer Error"; break;
		case NVME_SC_ABORT_REQ: what = "Command Abort Requested"; break;
		case NVME_SC_SQ_DELETED: what = "Command Aborted due to SQ Deletion"; break;
		case NVME_SC_INVALID_NS: what = "Invalid Namespace or Format"; break;
		case NVME_SC_LBA_RANGE: what = "LBA Out of Range"; break;
		case NVME_SC_CAP_EXCEEDED: what = "Capacity Exceeded"; break;
		}
	} else if (NVME_SCT(status) == NVME_SCT_CMD_SPECIFIC) {
		switch (NVME_SC(status)) {
		case NVME_SC_QID_INVALID: what = "Invalid Queue Identifier"; break;
		case NVME_SC_QSIZE_INVALID: what = "Invalid Queue Size"; break;
		case NVME_SC_ABORT_LIMIT: what = "Abort Command Limit Exceeded"; break;
		case NVME_SC_IV_INVALID: what = "Invalid Interrupt Vector"; break;
		}
	}
	snprintf(buf, sizeof(buf), "%s (SCT %u SC 0x%02x%s)", what ? what : "status",
		 NVME_SCT(status), NVME_SC(status), NVME_DNR(status) ? ", DNR" : "");
	return buf;
}

struct nvme_ns *nvme_ns_get(struct nvme_ctrl *c, uint32_t nsid)
{
	unsigned int i;

	for (i = 0; i < c->nr_ns; i++)
		if (c->ns[i].nsid == nsid && c->ns[i].usable)
			return &c->ns[i];
	return NULL;
}

/* Wait until (CSTS & mask) == want, for at most CAP.TO (or @ms). */
static int wait_csts(struct nvme_ctrl *c, uint32_t mask, uint32_t want, uint32_t ms,
		     const char *what)
{
	uint64_t end = nvme_now_ns() + (uint64_t)ms * 1000000u;
	uint32_t csts;
	int r;

	for (;;) {
		r = dbk_read32(c->dev, NVME_BAR, NVME_REG_CSTS, &csts);
		if (r < 0)
			return r;
		if (csts == 0xffffffffu) {
			nvme_log("%s: CSTS reads all ones: the device is gone", what);
			return -ENODEV;
		}
		if ((csts & mask) == want)
			return 0;
		/* A fatal controller status ends a wait for readiness (§3.1.6). */
		if ((csts & NVME_CSTS_CFS) && (mask & NVME_CSTS_RDY) && want) {
			nvme_log("%s: controller fatal status (CSTS 0x%x)", what, csts);
			return -EIO;
		}
		if (nvme_now_ns() >= end) {
			nvme_log("%s: timed out after %u ms (CSTS 0x%x)", what, ms, csts);
			return -ETIMEDOUT;
		}
		usleep(1000);
	}
}

/* §7.6.1 step 2 (and the first step of a reset, §7.3.2). */
static int ctrl_disable(struct nvme_ctrl *c)
{
	uint32_t cc;
	int r = dbk_read32(c->dev, NVME_BAR, NVME_REG_CC, &cc);

	if (r < 0)
		return r;
	/*
	 * Written even when EN is 0 already (a no-op for the controller): the
	 * register firewall (policies/src/nvme_firewall.bpf.c) lets AQA, ASQ
	 * and ACQ be written only after this grant's CC write with EN = 0.
	 */
	r = dbk_write32(c->dev, NVME_BAR, NVME_REG_CC, cc & ~NVME_CC_EN);
	if (r < 0)
		return r;
	return wait_csts(c, NVME_CSTS_RDY, 0, c->timeout_ms, "disabling the controller (CC.EN=0)");
}

/* §7.6.1 steps 3-4: the admin queue, then CC.EN = 1. */
static int ctrl_enable(struct nvme_ctrl *c)
{
	struct nvme_queue *a = &c->admin;
	uint32_t cc;
	int r;

	/* Under its lock: serve.c's event thread reaps the admin CQ under it. */
	pthread_mutex_lock(&a->lock);
	nvme_queue_reset(a);
	pthread_mutex_unlock(&a->lock);
	r = dbk_write32(c->dev, NVME_BAR, NVME_REG_AQA, NVME_AQA(a->depth, a->depth));
	if (r == 0)
		r = nvme_reg_write64(c, NVME_REG_ASQ, a->sq_iova);
	if (r == 0)
		r = nvme_reg_write64(c, NVME_REG_ACQ, a->cq_iova);
	if (r < 0)
		return r;
	cc = NVME_CC_CSS_NVM | NVME_CC_MPS(NVME_PAGE_SHIFT) | NVME_CC_AMS_RR |
	     NVME_CC_IOSQES(6) | NVME_CC_IOCQES(4);
	/* CC's other fields first, then EN (§3.1.5: set them before EN). */
	r = dbk_write32(c->dev, NVME_BAR, NVME_REG_CC, cc);
	if (r == 0)
		r = dbk_write32(c->dev, NVME_BAR, NVME_REG_CC, cc | NVME_CC_EN);
	if (r < 0)
		return r;
	r = wait_csts(c, NVME_CSTS_RDY, NVME_CSTS_RDY, c->timeout_ms,
		      "enabling the controller (CC.EN=1)");
	if (r == 0) {
		pthread_mutex_lock(&a->lock);
		a->live = true;
		pthread_mutex_unlock(&a->lock);
	}
	return r;
}

/*
 * One admin command, synchronously: the caller holds c->admin_lock.
 * Returns 0, the NVMe status (> 0) when the controller failed it, or a
 * negative errno (-ETIMEDOUT: no completion within cmd_timeout; -EIO: no
 * live admin queue, after a shutdown or a failed reset).
 */
static int admin_cmd_locked(struct nvme_ctrl *c, struct nvme_sqe *sqe, struct nvme_cqe *cqe)
{
	struct nvme_queue *a = &c->admin;
	uint64_t end = nvme_now_ns() + (uint64_t)c->cmd_timeout_ms * 1000000u;
	struct nvme_req req = { .op = NVME_OP_FLUSH };	/* op: anything but a read */
	int slot, r;

	if (!a->live)	/* changed under admin_lock, which we hold, once threads run */
		return -EIO;
	slot = nvme_queue_submit_sqe(a, sqe, &req);
	if (slot < 0)
		return slot;
	while (!req.completed) {
		r = nvme_queue_poll(a);
		if (r < 0) {
			nvme_queue_orphan(a, slot);	/* req is on our stack */
			return r;
		}
		if (req.completed)
			break;
		if (nvme_now_ns() >= end) {
			nvme_log("admin command 0x%02x: no completion in %d ms", sqe->opcode,
				 c->cmd_timeout_ms);
			nvme_queue_orphan(a, slot);
			return -ETIMEDOUT;
		}
		if (c->use_irq) {
			r = dbk_irq_wait(c->dev, 0, 100);
			if (r < 0 && r != -ETIMEDOUT) {
				nvme_queue_orphan(a, slot);
				return r;
			}
		} else {
			usleep(100);
		}
	}
	if (cqe) {
		memset(cqe, 0, sizeof(*cqe));
		cqe->dw0 = req.result;
		cqe->status = (uint16_t)(req.status << 1);
	}
	/* No status but an error: a reset's fail_all() ended it, nothing was done. */
	return req.status ? (int)req.status : req.err;
}

int nvme_admin_cmd(struct nvme_ctrl *c, struct nvme_sqe *sqe, struct nvme_cqe *cqe)
{
	int r;

	pthread_mutex_lock(&c->admin_lock);
	r = admin_cmd_locked(c, sqe, cqe);
	pthread_mutex_unlock(&c->admin_lock);
	return r;
}

/* Identify (§5.15) into @buf (a page), the caller holding admin_lock: as admin_cmd_locked(). */
static int identify_into(struct nvme_ctrl *c, uint32_t cns, uint32_t nsid, struct dbk_dma_buf *buf)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_IDENTIFY, .nsid = nsid };

	sqe.prp1 = dbk_dma_buf_get_iova(buf);
	sqe.cdw10 = cns;
	memset(dbk_dma_buf_get_vaddr(buf), 0, NVME_PAGE_SIZE);
	return admin_cmd_locked(c, &sqe, NULL);
}

/* Identify (§5.15) into c->id_buf. */
static int identify(struct nvme_ctrl *c, uint32_t cns, uint32_t nsid)
{
	int r = identify_into(c, cns, nsid, c->id_buf);

	if (r > 0)
		nvme_log("Identify CNS %u NSID %u: %s", cns, nsid, nvme_status_str((uint16_t)r));
	return r > 0 ? -EIO : r;
}

static void copy_ascii(char *dst, const uint8_t *src, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		dst[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '?';
	while (n && dst[n - 1] == ' ')
		n--;
	dst[n] = '\0';
}

static int identify_ctrl(struct nvme_ctrl *c)
{
	const uint8_t *id = dbk_dma_buf_get_vaddr(c->id_buf);
	uint32_t mpsmin = NVME_PAGE_SIZE << NVME_CAP_MPSMIN(c->cap);
	int r = identify(c, NVME_CNS_CTRL, 0);

	if (r < 0)
		return r;
	memcpy(c->idc, id, NVME_PAGE_SIZE);
	copy_ascii(c->sn, id + NVME_IDC_SN, 20);
	copy_ascii(c->mn, id + NVME_IDC_MN, 40);
	copy_ascii(c->fr, id + NVME_IDC_FR, 8);
	/* MDTS is in units of CAP.MPSMIN (§5.15.2.2); 0 means no limit. */
	c->mdts_bytes = id[NVME_IDC_MDTS] ? (id[NVME_IDC_MDTS] >= 20 ? 0 : mpsmin << id[NVME_IDC_MDTS]) : 0;
	c->oncs = nvme_le16(id + NVME_IDC_ONCS);
	c->vwc = id[NVME_IDC_VWC] & 1;
	c->nn = nvme_le32(id + NVME_IDC_NN);
	c->acl = id[NVME_IDC_ACL];
	c->cntlid = nvme_le16(id + NVME_IDC_CNTLID);
	c->oaes = nvme_le32(id + NVME_IDC_OAES);
	if ((id[NVME_IDC_SQES] & 0xf) > 6 || (id[NVME_IDC_SQES] >> 4) < 6 ||
	    (id[NVME_IDC_CQES] & 0xf) > 4 || (id[NVME_IDC_CQES] >> 4) < 4) {
		nvme_log("the controller does not take 64-byte SQ and 16-byte CQ entries "
			 "(SQES 0x%02x, CQES 0x%02x)", id[NVME_IDC_SQES], id[NVME_IDC_CQES]);
		return -EOPNOTSUPP;
	}
	return 0;
}

/* @ns from its Identify Namespace data structure @id (§5.15.2.1). */
void nvme_ns_parse(struct nvme_ns *ns, uint32_t nsid, const uint8_t *id)
{
	/* Formats 16..63 (2.0) put the index's high bits in FLBAS 6:5; 1.4 leaves them 0. */
	uint8_t fmt = (id[NVME_IDNS_FLBAS] & 0xf) | ((id[NVME_IDNS_FLBAS] >> 5) & 3) << 4;
	uint32_t lbaf = nvme_le32(id + NVME_IDNS_LBAF(fmt));

	memset(ns, 0, sizeof(*ns));
	ns->nsid = nsid;
	ns->blocks = ns->nsze_seen = nvme_le64(id + NVME_IDNS_NSZE);
	memcpy(ns->nguid, id + NVME_IDNS_NGUID, sizeof(ns->nguid));
	memcpy(ns->eui64, id + NVME_IDNS_EUI64, sizeof(ns->eui64));
	ns->lba_shift = (lbaf >> 16) & 0xff;
	ns->ms = lbaf & 0xffff;
	/* 512 B .. 4 KiB blocks and no metadata: what a bounce slot can carry. */
	ns->usable = ns->blocks && ns->lba_shift >= 9 && ns->lba_shift <= 12 && !ns->ms;
}

/*
 * Identify Namespace @nsid again, into @buf (a page: c->id_buf is
 * bring-up's, under admin_lock throughout), parsed into @ns; ns->blocks 0
 * if it is not active on this controller.  0, or -EIO (the controller
 * failed it: said) or another -errno.
 */
int nvme_identify_ns(struct nvme_ctrl *c, uint32_t nsid, struct dbk_dma_buf *buf, struct nvme_ns *ns)
{
	int r;

	pthread_mutex_lock(&c->admin_lock);
	r = identify_into(c, NVME_CNS_NS, nsid, buf);
	pthread_mutex_unlock(&c->admin_lock);
	/* Invalid Namespace: some controllers say so of an inactive NSID (others return zeroes). */
	if (r > 0 && NVME_SCT(r) == 0 && NVME_SC(r) == NVME_SC_INVALID_NS) {
		memset(ns, 0, sizeof(*ns));
		ns->nsid = nsid;
		return 0;
	}
	if (r > 0) {
		nvme_log("Identify Namespace %u: %s", nsid, nvme_status_str((uint16_t)r));
		return -EIO;
	}
	if (r == 0)
		nvme_ns_parse(ns, nsid, dbk_dma_buf_get_vaddr(buf));
	return r;
}

/* The active namespace list (CNS 02h), then Identify Namespace for each. */
static int identify_namespaces(struct nvme_ctrl *c)
{
	const uint8_t *id = dbk_dma_buf_get_vaddr(c->id_buf);
	uint32_t list[NVME_MAX_NS];
	unsigned int n = 0, i;
	int r;

	r = identify(c, NVME_CNS_NS_ACTIVE, 0);
	if (r < 0)
		return r;
	for (i = 0; i < 1024 && n < NVME_MAX_NS; i++) {
		uint32_t nsid = nvme_le32(id + 4 * i);

		if (!nsid)
			break;	/* the list ends with zeroes */
		list[n++] = nsid;
	}
	c->nr_ns = 0;
	for (i = 0; i < n; i++) {
		struct nvme_ns *ns = &c->ns[c->nr_ns];

		r = identify(c, NVME_CNS_NS, list[i]);
		if (r < 0)
			return r;
		nvme_ns_parse(ns, list[i], id);
		if (!ns->usable)
			nvme_log("namespace %u: format (FLBAS 0x%02x: LBADS %u, %u metadata bytes, %llu blocks) "
				 "is not supported; ignored", ns->nsid, id[NVME_IDNS_FLBAS],
				 ns->lba_shift, ns->ms, (unsigned long long)ns->blocks);
		c->nr_ns++;
	}
	return 0;
}

/* Set Features, Number of Queues (§5.21.1.7): returns how many pairs we got. */
static int set_num_queues(struct nvme_ctrl *c, unsigned int want)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_SET_FEATURES };
	struct nvme_cqe cqe;
	unsigned int nsq, ncq;
	int r;

	sqe.cdw10 = NVME_FEAT_NUM_QUEUES;
	sqe.cdw11 = (want - 1u) | (want - 1u) << 16;
	r = admin_cmd_locked(c, &sqe, &cqe);
	if (r > 0) {
		nvme_log("Set Features (Number of Queues, %u): %s", want, nvme_status_str((uint16_t)r));
		return -EIO;
	}
	if (r < 0)
		return r;
	nsq = (cqe.dw0 & 0xffff) + 1u;
	ncq = (cqe.dw0 >> 16) + 1u;
	if (c->verbose)
		nvme_log("Number of Queues: asked %u, the controller allocated %u SQs and %u CQs",
			 want, nsq, ncq);
	return (int)(nsq < ncq ? (nsq < want ? nsq : want) : (ncq < want ? ncq : want));
}

/*
 * §5.3 Create I/O Completion Queue, then §5.4 Create I/O Submission Queue.
 * The CQ is at @cq_iova (q->cq_iova but for the self-test's CSTS.CFS
 * step), with its vector's interrupt if @irq.
 */
static int create_io_queue(struct nvme_ctrl *c, struct nvme_queue *q, uint64_t cq_iova, bool irq)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_CREATE_CQ };
	int r;

	sqe.prp1 = cq_iova;
	sqe.cdw10 = NVME_QUEUE_CDW10(q->qid, q->depth);
	sqe.cdw11 = NVME_CQ_PC | (irq ? NVME_CQ_IEN | NVME_CQ_IV(q->vector) : 0);
	r = admin_cmd_locked(c, &sqe, NULL);
	if (r > 0) {
		nvme_log("Create I/O CQ %u (vector %u): %s", q->qid, q->vector,
			 nvme_status_str((uint16_t)r));
		return -EIO;
	}
	if (r < 0)
		return r;
	memset(&sqe, 0, sizeof(sqe));
	sqe.opcode = NVME_ADM_CREATE_SQ;
	sqe.prp1 = q->sq_iova;
	sqe.cdw10 = NVME_QUEUE_CDW10(q->qid, q->depth);
	sqe.cdw11 = NVME_SQ_PC | NVME_SQ_CQID(q->qid);
	r = admin_cmd_locked(c, &sqe, NULL);
	if (r > 0) {
		nvme_log("Create I/O SQ %u: %s", q->qid, nvme_status_str((uint16_t)r));
		return -EIO;
	}
	if (r == 0)
		q->live = true;
	return r;
}

/* §5.6 Delete I/O Submission Queue (@sq) or §5.5 Delete I/O Completion Queue. */
static int delete_io_queue(struct nvme_ctrl *c, struct nvme_queue *q, bool sq)
{
	struct nvme_sqe sqe = { .opcode = sq ? NVME_ADM_DELETE_SQ : NVME_ADM_DELETE_CQ };
	int r;

	sqe.cdw10 = q->qid;
	r = admin_cmd_locked(c, &sqe, NULL);
	if (r > 0)
		nvme_log("Delete I/O %s %u: %s", sq ? "SQ" : "CQ", q->qid, nvme_status_str((uint16_t)r));
	return r > 0 ? -EIO : r;
}

/*
 * Delete @q's SQ and CQ and create them again, the CQ at @cq_iova with no
 * interrupt, and @q's ring state from 0.  For the self-test: it puts a
 * CQ where the controller's writes fail (CSTS.CFS).  @q must be idle.
 */
int nvme_ctrl_remake_queue(struct nvme_ctrl *c, struct nvme_queue *q, uint64_t cq_iova)
{
	int r;

	pthread_mutex_lock(&c->admin_lock);
	pthread_mutex_lock(&q->lock);
	q->live = false;
	pthread_mutex_unlock(&q->lock);
	r = delete_io_queue(c, q, true);
	if (r == 0)
		r = delete_io_queue(c, q, false);
	if (r == 0) {
		nvme_queue_reset(q);	/* the controller's new queue starts at 0 */
		r = create_io_queue(c, q, cq_iova, false);
	}
	pthread_mutex_unlock(&c->admin_lock);
	return r;
}

/* Bring the enabled controller's I/O queues up (init and after a reset). */
static int setup_io_queues(struct nvme_ctrl *c, bool reset)
{
	unsigned int i;
	int n, r;

	n = set_num_queues(c, c->nr_io);
	if (n < 0)
		return n;
	if ((unsigned int)n < c->nr_io) {
		/*
		 * After a reset the queues are in use (serve.c's threads hold
		 * them): they cannot be freed under them.  The controller
		 * fails; the driver's restart brings it up with what it grants.
		 */
		if (reset) {
			nvme_log("after the reset the controller grants %d I/O queue pairs, fewer than the %u in use",
				 n, c->nr_io);
			return -EIO;
		}
		nvme_log("the controller grants %d I/O queue pairs of the %u asked; using %d", n,
			 c->nr_io, n);
		for (i = (unsigned int)n; i < c->nr_io; i++) {
			nvme_queue_free(c->io[i]);
			free(c->io[i]);
			c->io[i] = NULL;
		}
		c->nr_io = (unsigned int)n;
	}
	for (i = 0; i < c->nr_io; i++) {
		nvme_queue_reset(c->io[i]);
		r = create_io_queue(c, c->io[i], c->io[i]->cq_iova, c->use_irq);
		if (r < 0)
			return r;
	}
	return 0;
}

/*
 * Vectors: 0 for the admin queue, 1..n for the I/O queues.  Ask for
 * want_io + 1, and fewer if the grant or the platform gives fewer; with a
 * single vector every queue shares it; without MSI-X we poll.
 */
static unsigned int setup_irqs(struct nvme_ctrl *c, unsigned int want)
{
	struct dbk_irq_info ii = { .argsz = sizeof(ii), .index = DBK_IRQ_INDEX_MSIX };
	uint32_t n;
	int r;

	r = dbk_dev_get_irq_info(c->dev, DBK_IRQ_INDEX_MSIX, &ii);
	n = r == 0 ? ii.count : 0;
	if (n > want)
		n = want;
	while (n > 0) {
		r = dbk_irq_enable(c->dev, DBK_IRQ_INDEX_MSIX, n);
		if (r == 0)
			break;
		nvme_log("enabling %u MSI-X vectors: %s%s", n, strerror(-r), n > 1 ? "; trying fewer" : "");
		if (r == -ENODEV)
			return 0;
		n--;
	}
	if (n == 0) {
		nvme_log("no MSI-X (the grant has %u vectors): polling the completion queues", ii.count);
		c->use_irq = false;
		return 0;
	}
	c->use_irq = true;
	c->nr_vectors = n;
	return n;
}

int nvme_ctrl_init(struct nvme_ctrl *c, struct dbk_dev *dev, unsigned int want_io,
		   unsigned int io_depth, uint32_t max_transfer)
{
	struct dbk_device_info di = { .argsz = sizeof(di) };
	unsigned int nvec, i;
	uint32_t maxq;
	int r;

	c->dev = dev;
	/*
	 * 10 s: a command that times out is aborted, and reset after another
	 * 10 s (io.c), both inside the block frontend's 30 s request timeout
	 * (BlockTimeoutSec=), so that the kernel's nbd does not give up on a
	 * request the driver can still recover.
	 */
	c->cmd_timeout_ms = c->cmd_timeout_ms ? c->cmd_timeout_ms : 10000;
	pthread_mutex_init(&c->admin_lock, NULL);
	r = dbk_dev_get_device_info(dev, &di);
	if (r < 0)
		return r;
	/* PCI class 01 08 02: mass storage, NVM, NVM Express (§2.1.5). */
	if ((di.class_code & 0xffffff) != 0x010802) {
		nvme_log("class 0x%06x is not an NVMe controller (0x010802)", di.class_code & 0xffffff);
		return -ENODEV;
	}
	r = nvme_reg_read64(c, NVME_REG_CAP, &c->cap);
	if (r == 0)
		r = dbk_read32(dev, NVME_BAR, NVME_REG_VS, &c->vs);
	if (r < 0) {
		nvme_log("reading CAP and VS: %s", strerror(-r));
		return r;
	}
	if (c->cap == ~0ULL)
		return -ENODEV;
	c->dstrd = NVME_CAP_DSTRD(c->cap);
	c->timeout_ms = NVME_CAP_TO(c->cap) ? NVME_CAP_TO(c->cap) * 500u : 500u;
	if (!NVME_CAP_CSS_NVM(c->cap)) {
		nvme_log("CAP 0x%016llx: no NVM command set", (unsigned long long)c->cap);
		return -EOPNOTSUPP;
	}
	if (NVME_CAP_MPSMIN(c->cap) > 0) {
		nvme_log("CAP.MPSMIN %u: the controller needs pages above 4 KiB", NVME_CAP_MPSMIN(c->cap));
		return -EOPNOTSUPP;
	}
	if (c->verbose)
		nvme_log("CAP 0x%016llx (MQES %u, CQR %u, TO %u ms, DSTRD %u), VS %u.%u.%u",
			 (unsigned long long)c->cap, NVME_CAP_MQES(c->cap) + 1, (unsigned int)NVME_CAP_CQR(c->cap),
			 c->timeout_ms, c->dstrd, c->vs >> 16, (c->vs >> 8) & 0xff, c->vs & 0xff);

	/* Bus mastering: the queues, the data and MSI-X are the device's memory writes. */
	r = dbk_dev_set_bus_master(dev, 1);
	if (r < 0) {
		nvme_log("enabling bus mastering: %s", strerror(-r));
		return r;
	}
	r = ctrl_disable(c);
	if (r < 0)
		return r;

	if (want_io < 1)
		want_io = 1;
	if (want_io > NVME_MAX_IO_QUEUES)
		want_io = NVME_MAX_IO_QUEUES;
	nvec = setup_irqs(c, want_io + 1);
	if (c->use_irq && nvec > 1 && nvec - 1 < want_io) {
		nvme_log("%u MSI-X vectors: %u I/O queue pairs instead of %u", nvec, nvec - 1, want_io);
		want_io = nvec - 1;
	}

	c->idc = calloc(1, NVME_PAGE_SIZE);
	if (!c->idc)
		return -ENOMEM;
	r = dbk_dma_buf_alloc(dev, NVME_PAGE_SIZE, &c->id_buf);
	if (r < 0) {
		nvme_log("allocating the identify buffer: %s", strerror(-r));
		return r;
	}
	r = nvme_queue_alloc(c, &c->admin, 0, NVME_ADMIN_DEPTH, 0, false);
	if (r < 0)
		return r;
	r = ctrl_enable(c);
	if (r < 0)
		return r;

	pthread_mutex_lock(&c->admin_lock);
	r = identify_ctrl(c);
	if (r == 0)
		r = identify_namespaces(c);
	pthread_mutex_unlock(&c->admin_lock);
	if (r < 0)
		return r;

	/* Our transfer limit: the caller's, MDTS, and one PRP list page per command. */
	if (!max_transfer)
		max_transfer = 128 * 1024;
	if (c->mdts_bytes && max_transfer > c->mdts_bytes)
		max_transfer = c->mdts_bytes;
	if (max_transfer > (NVME_PAGE_SIZE / 8) * NVME_PAGE_SIZE)
		max_transfer = (NVME_PAGE_SIZE / 8) * NVME_PAGE_SIZE;
	max_transfer &= ~(NVME_PAGE_SIZE - 1);
	if (max_transfer < NVME_PAGE_SIZE)
		max_transfer = NVME_PAGE_SIZE;
	c->max_transfer = max_transfer;

	/* Queue size: at most CAP.MQES + 1 entries (§3.1.1), at least 2. */
	maxq = NVME_CAP_MQES(c->cap) + 1u;
	if (io_depth < 2)
		io_depth = 32;
	if (io_depth > maxq)
		io_depth = maxq;
	if (io_depth > 1024)
		io_depth = 1024;
	c->io_depth = io_depth;
	c->want_io = want_io;
	for (i = 0; i < want_io; i++) {
		c->io[i] = calloc(1, sizeof(*c->io[i]));
		if (!c->io[i])
			return -ENOMEM;
		c->nr_io = i + 1;
		r = nvme_queue_alloc(c, c->io[i], (uint16_t)(i + 1), (uint16_t)io_depth,
				     c->use_irq && c->nr_vectors > 1 ? i + 1 : 0, true);
		if (r < 0) {
			if (i == 0)
				return r;
			nvme_log("I/O queue %u: %s; going on with %u queue pairs", i + 1,
				 strerror(-r), i);
			nvme_queue_free(c->io[i]);
			free(c->io[i]);
			c->io[i] = NULL;
			c->nr_io = i;
			break;
		}
	}
	pthread_mutex_lock(&c->admin_lock);
	r = setup_io_queues(c, false);
	pthread_mutex_unlock(&c->admin_lock);
	return r;
}

/*
 * Controller Level Reset (§7.3.2) after a command that neither completed
 * nor aborted: CC.EN = 0 ends every outstanding command; their requests
 * complete with -ETIMEDOUT (past their deadline) or -ECANCELED; then the
 * controller comes up again with the same queues and memory.
 */
static int ctrl_reset(struct nvme_ctrl *c, const unsigned int *seen, bool fatal)
{
	struct nvme_req *failed = NULL;
	unsigned int i;
	int r;

	pthread_mutex_lock(&c->admin_lock);
	for (i = 0; i < c->nr_io; i++)
		pthread_mutex_lock(&c->io[i]->lock);
	if (seen && *seen != c->nr_resets) {
		/* Another queue's timeout reset it meanwhile: its commands are new. */
		for (i = 0; i < c->nr_io; i++)
			pthread_mutex_unlock(&c->io[i]->lock);
		pthread_mutex_unlock(&c->admin_lock);
		return 0;
	}
	c->nr_resets++;
	if (fatal)
		c->nr_fatal++;
	nvme_log("resetting the controller (reset %u)", c->nr_resets);
	r = ctrl_disable(c);
	for (i = 0; i < c->nr_io; i++) {
		c->io[i]->live = false;
		nvme_queue_fail_all(c->io[i], -ECANCELED, &failed);
		if (r == 0)
			nvme_queue_stopped(c->io[i]);	/* disabled: its buffers are free */
	}
	pthread_mutex_lock(&c->admin.lock);
	nvme_queue_fail_all(&c->admin, -ECANCELED, NULL);
	c->admin.live = false;
	pthread_mutex_unlock(&c->admin.lock);
	for (i = 0; i < c->nr_io; i++)
		pthread_mutex_unlock(&c->io[i]->lock);
	/* The queues are empty and not live: nothing else touches them now. */
	if (r == 0)
		r = ctrl_enable(c);
	if (r == 0)
		r = setup_io_queues(c, true);
	if (r < 0)
		c->failed = true;	/* before anyone waiting for admin_lock acts on it */
	pthread_mutex_unlock(&c->admin_lock);
	if (r < 0) {
		nvme_log("the controller did not come back after the reset: %s", strerror(-r));
	}
	nvme_run_callbacks(failed);
	return r;
}

int nvme_ctrl_reset(struct nvme_ctrl *c)
{
	return ctrl_reset(c, NULL, false);
}

/*
 * The same, unless the controller was reset since the caller saw
 * c->nr_resets == @seen (under a queue's lock): several queues' commands
 * time out together when the controller fails, and one reset serves them
 * all.  @fatal counts it in nr_fatal (CSTS.CFS).
 */
int nvme_ctrl_reset_after(struct nvme_ctrl *c, unsigned int seen, bool fatal)
{
	return ctrl_reset(c, &seen, fatal);
}

/* §7.6.2: delete the I/O queues (SQs first), then CC.SHN = 01b, wait for SHST = 10b. */
int nvme_ctrl_shutdown(struct nvme_ctrl *c)
{
	uint32_t cc;
	int i, r, ret = 0;

	if (c->shut_down || !c->admin.live)
		return 0;
	pthread_mutex_lock(&c->admin_lock);
	for (i = (int)c->nr_io - 1; i >= 0; i--) {
		if (!c->io[i]->live)
			continue;
		pthread_mutex_lock(&c->io[i]->lock);
		c->io[i]->live = false;
		pthread_mutex_unlock(&c->io[i]->lock);
		r = delete_io_queue(c, c->io[i], true);
		if (r < 0)
			ret = r;
	}
	for (i = (int)c->nr_io - 1; i >= 0; i--) {
		r = delete_io_queue(c, c->io[i], false);
		if (r < 0)
			ret = r;
	}
	pthread_mutex_unlock(&c->admin_lock);
	/* Whatever was still outstanding died with its SQ (§5.6): tell its owners. */
	for (i = 0; i < (int)c->nr_io; i++) {
		struct nvme_req *gone = NULL;

		pthread_mutex_lock(&c->io[i]->lock);
		nvme_queue_fail_all(c->io[i], -ESHUTDOWN, &gone);
		pthread_mutex_unlock(&c->io[i]->lock);
		nvme_run_callbacks(gone);
	}
	r = dbk_read32(c->dev, NVME_BAR, NVME_REG_CC, &cc);
	if (r == 0)
		r = dbk_write32(c->dev, NVME_BAR, NVME_REG_CC, (cc & ~NVME_CC_SHN_MASK) | NVME_CC_SHN_NORMAL);
	if (r == 0)
		/* RTD3E would say how long; 10 s is what Linux allows at least. */
		r = wait_csts(c, NVME_CSTS_SHST_MASK, NVME_CSTS_SHST_CMPLT,
			      c->timeout_ms > 10000 ? c->timeout_ms : 10000, "shutting down (CC.SHN)");
	if (r < 0)
		ret = r;
	pthread_mutex_lock(&c->admin_lock);
	c->shut_down = true;
	c->admin.live = false;
	pthread_mutex_unlock(&c->admin_lock);
	return ret;
}

void nvme_ctrl_free(struct nvme_ctrl *c)
{
	unsigned int i;

	if (!c->dev)
		return;
	/* Stop the device before its memory goes: CC.EN = 0 (after a shutdown too). */
	if (c->admin.c)
		(void)ctrl_disable(c);
	(void)dbk_irq_disable(c->dev);
	for (i = 0; i < c->nr_io; i++) {
		nvme_queue_free(c->io[i]);
		free(c->io[i]);
	}
	nvme_queue_free(&c->admin);
	dbk_dma_buf_free(c->id_buf);
	dbk_dma_buf_free(c->log_buf);
	free(c->idc);
	(void)dbk_dev_set_bus_master(c->dev, 0);
	pthread_mutex_destroy(&c->admin_lock);
	c->dev = NULL;
}
