/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/nvme: asynchronous events (§5.2), what a serving driver learns
 * of its controller between its own commands.
 *
 * One Asynchronous Event Request is kept outstanding on the admin queue;
 * it completes only when the controller has something to say, and a
 * reset ends it (ECANCELED: it is asked again).  We ask (Asynchronous
 * Event Configuration, §5.21.1.11) for Namespace Attribute Notices, sent
 * when a namespace is detached from this controller (Namespace
 * Attachment by another controller of the subsystem), deleted or resized.
 * The Changed Namespace List (§5.14.1.4) says which; reading it with RAE
 * cleared lets the next notice through (§5.2: an event type stays masked
 * until its log page is read).  A namespace whose Identify Namespace comes
 * back zero-filled is no longer active here (§5.15.2.1): it is gone, and
 * no restart brings it back.
 *
 * Other events are logged and their log page read (so that they are not
 * masked for good); the driver acts on none of them.
 *
 * One caller, serve.c's event thread: the log buffer is its alone.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvme.h"

/* Get Log Page (§5.14) of @bytes (a multiple of 4, at most 4096) into c->log_buf, RAE cleared. */
static int get_log(struct nvme_ctrl *c, uint8_t lid, uint32_t bytes)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_GET_LOG_PAGE, .nsid = 0xffffffffu };
	int r;

	sqe.prp1 = dbk_dma_buf_get_iova(c->log_buf);
	sqe.cdw10 = NVME_LOG_CDW10(lid, bytes);
	memset(dbk_dma_buf_get_vaddr(c->log_buf), 0, NVME_PAGE_SIZE);
	r = nvme_admin_cmd(c, &sqe, NULL);
	if (r > 0)
		nvme_log("Get Log Page 0x%02x: %s", lid, nvme_status_str((uint16_t)r));
	return r > 0 ? -EIO : r;
}

/* Identify Namespace (§5.15.2.1) @nsid: its NSZE, 0 if it is not active here. */
static int ns_size(struct nvme_ctrl *c, uint32_t nsid, uint64_t *nsze)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_IDENTIFY, .nsid = nsid };
	const uint8_t *id = dbk_dma_buf_get_vaddr(c->log_buf);
	int r;

	sqe.prp1 = dbk_dma_buf_get_iova(c->log_buf);
	sqe.cdw10 = NVME_CNS_NS;
	memset(dbk_dma_buf_get_vaddr(c->log_buf), 0, NVME_PAGE_SIZE);
	r = nvme_admin_cmd(c, &sqe, NULL);
	/* Invalid Namespace: some controllers say so of an inactive NSID. */
	if (r > 0 && NVME_SCT(r) == 0 && NVME_SC(r) == NVME_SC_INVALID_NS) {
		*nsze = 0;
		return 0;
	}
	if (r > 0)
		nvme_log("Identify Namespace %u: %s", nsid, nvme_status_str((uint16_t)r));
	if (r)
		return r > 0 ? -EIO : r;
	*nsze = nvme_le64(id + NVME_IDNS_NSZE);
	return 0;
}

/* Identify each namespace of ours flagged in @changed again: the gone, the resized. */
static int ns_recheck(struct nvme_ctrl *c, const bool *changed)
{
	unsigned int j, gone = 0;
	uint64_t nsze;
	int r;

	for (j = 0; j < c->nr_ns; j++) {
		struct nvme_ns *ns = &c->ns[j];

		if (!changed[j] || __atomic_load_n(&ns->gone, __ATOMIC_ACQUIRE))
			continue;
		r = ns_size(c, ns->nsid, &nsze);
		if (r < 0)
			return r;
		if (!nsze) {
			nvme_log("namespace %u is no longer active on this controller (detached or deleted)",
				 ns->nsid);
			__atomic_store_n(&ns->gone, true, __ATOMIC_RELEASE);
			gone++;
		} else if (nsze != ns->blocks) {
			/* The disk keeps the size it was connected with until the driver starts again. */
			nvme_log("namespace %u changed size: %" PRIu64 " blocks, was %" PRIu64, ns->nsid, nsze,
				 ns->blocks);
		}
	}
	return (int)gone;
}

/* A Namespace Attribute Changed notice: which of ours changed, and how. */
static int ns_changed(struct nvme_ctrl *c)
{
	const uint8_t *log = dbk_dma_buf_get_vaddr(c->log_buf);
	bool changed[NVME_MAX_NS] = { false };
	unsigned int i, j;
	int r;

	r = get_log(c, NVME_LOG_CHANGED_NS, NVME_PAGE_SIZE);
	if (r < 0)
		return r;
	for (i = 0; i < NVME_PAGE_SIZE / 4; i++) {
		uint32_t nsid = nvme_le32(log + 4 * i);
		bool ours = false;

		if (!nsid)
			break;	/* the list ends with zeroes */
		for (j = 0; j < c->nr_ns; j++) {
			if (nsid == NVME_LOG_CHANGED_NS_MANY || c->ns[j].nsid == nsid) {
				changed[j] = true;
				ours = true;
			}
		}
		if (nsid == NVME_LOG_CHANGED_NS_MANY)
			break;	/* more than 1024 changed: look at all of ours */
		if (!ours)
			nvme_log("namespace %u changed (not one this driver found at start: ignored)", nsid);
	}
	return ns_recheck(c, changed);
}

/*
 * Asynchronous Event Configuration: Get Features, then Set Features with
 * Namespace Attribute Notices added, the rest as it was.  Again after
 * every reset, which returns features to their defaults (§7.3.2).
 */
static int configure(struct nvme_ctrl *c)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_GET_FEATURES };
	struct nvme_cqe cqe;
	int r;

	sqe.cdw10 = NVME_FEAT_ASYNC_EVENT;
	r = nvme_admin_cmd(c, &sqe, &cqe);
	if (r == 0) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.opcode = NVME_ADM_SET_FEATURES;
		sqe.cdw10 = NVME_FEAT_ASYNC_EVENT;
		sqe.cdw11 = cqe.dw0 | NVME_AEC_NS_ATTR;
		r = nvme_admin_cmd(c, &sqe, NULL);
	}
	if (r > 0)
		nvme_log("Asynchronous Event Configuration: %s", nvme_status_str((uint16_t)r));
	return r > 0 ? -EIO : r;
}

int nvme_events_start(struct nvme_ctrl *c)
{
	int r;

	if (!c->log_buf) {
		r = dbk_dma_buf_alloc(c->dev, NVME_PAGE_SIZE, &c->log_buf);
		if (r < 0) {
			nvme_log("allocating the log page buffer: %s", strerror(-r));
			return r;
		}
	}
	if (!(c->oaes & NVME_OAES_NS_ATTR))
		nvme_log("the controller sends no Namespace Attribute Notices (OAES 0x%x): a namespace "
			 "that goes is seen only as failed I/O", c->oaes);
	c->aec_resets = c->nr_resets;
	r = c->oaes & NVME_OAES_NS_ATTR ? configure(c) : 0;
	c->events_on = r == 0;
	return r;
}

/*
 * Ask for the next event, unless one is asked already.  After a reset:
 * configure again, and look at every namespace, for a notice the reset
 * may have swallowed.
 */
static int aer_arm(struct nvme_ctrl *c)
{
	bool all[NVME_MAX_NS];
	unsigned int resets;
	int r = 0, gone = 0;

	if (c->aer_armed)
		return 0;
	if (c->failed)
		return -EIO;
	pthread_mutex_lock(&c->admin_lock);
	resets = c->nr_resets;
	pthread_mutex_unlock(&c->admin_lock);
	if (resets != c->aec_resets) {
		c->aec_resets = resets;	/* before: a reset meanwhile brings us here again */
		r = c->oaes & NVME_OAES_NS_ATTR ? configure(c) : 0;
		if (r < 0)
			return r;
		memset(all, 1, sizeof(all));
		gone = ns_recheck(c, all);
		if (gone < 0)
			return gone;
	}
	/* Under admin_lock: a reset (which holds it throughout) is not half done. */
	pthread_mutex_lock(&c->admin_lock);
	if (c->admin.live && !c->shut_down) {
		struct nvme_sqe sqe = { .opcode = NVME_ADM_ASYNC_EVENT };

		c->aer.op = NVME_OP_FLUSH;	/* anything but a read: no data */
		r = nvme_queue_submit_sqe(&c->admin, &sqe, &c->aer);
		if (r >= 0) {
			c->aer_armed = true;
			r = 0;
		}
	}
	pthread_mutex_unlock(&c->admin_lock);
	return r < 0 ? r : gone;
}

int nvme_events_poll(struct nvme_ctrl *c, int timeout_ms)
{
	uint32_t dw0;
	int r, gone = 0;

	if (c->events_on) {
		gone = aer_arm(c);
		if (gone == -EAGAIN)	/* the admin queue is full: again next time */
			gone = 0;
		if (gone < 0)
			return gone;
	}
	/*
	 * Vector 0 is the admin queue's own when there are others; shared
	 * with the I/O queues otherwise, where sleeping on it would take
	 * their wake-ups: then look every @timeout_ms.
	 */
	if (c->use_irq && c->nr_vectors > 1) {
		r = dbk_irq_wait(c->dev, 0, timeout_ms);
		if (r < 0 && r != -ETIMEDOUT)
			return r;
	} else {
		nanosleep(&(struct timespec){ .tv_sec = timeout_ms / 1000,
					      .tv_nsec = (timeout_ms % 1000) * 1000000L }, NULL);
		if (dbk_dev_is_revoked(c->dev) == 1)
			return -ENODEV;
	}
	(void)nvme_queue_poll(&c->admin);	/* or an admin command's wait reaped it */
	if (!c->aer_armed || !__atomic_load_n(&c->aer.completed, __ATOMIC_ACQUIRE))
		return gone;
	c->aer_armed = false;
	if (c->aer.err == -ECANCELED)
		return gone;	/* a reset ended it: asked again next time */
	if (c->aer.err) {
		/* Asked again at every poll it would fail again: no more events. */
		nvme_log("Asynchronous Event Request: %s; no more asynchronous events",
			 c->aer.status ? nvme_status_str(c->aer.status) : strerror(-c->aer.err));
		c->events_on = false;
		return gone;
	}
	dw0 = c->aer.result;
	if (NVME_AER_TYPE(dw0) == NVME_AER_TYPE_NOTICE && NVME_AER_INFO(dw0) == NVME_AER_NOTICE_NS_CHANGED) {
		r = ns_changed(c);
		return r < 0 ? r : gone + r;
	}
	nvme_log("asynchronous event: type %u, information 0x%02x, log page 0x%02x", NVME_AER_TYPE(dw0),
		 NVME_AER_INFO(dw0), NVME_AER_LOG(dw0));
	/* 64 bytes: within every log page, and enough to unmask the event. */
	if (NVME_AER_LOG(dw0))
		(void)get_log(c, (uint8_t)NVME_AER_LOG(dw0), 64);
	return gone;
}
