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
 * no restart brings it back; so is one formatted anew (another block
 * size: our offsets would land elsewhere).
 *
 * Other events are logged and their log page read (so that they are not
 * masked for good); the driver acts on none of them.
 *
 * What a notice or a reset asks of us (reading the list, identifying a
 * namespace) is done again, backing off from 200 ms to 10 s, until it
 * succeeds: a notice does not come twice.  A namespace that cannot be
 * identified does not keep the others from being, nor the next request
 * from being asked.
 *
 * One caller, serve.c's event thread: the log buffer and the fields of
 * struct nvme_ctrl marked so are its alone.  It sleeps between looks
 * rather than on vector 0, which is the admin commands' (and, with one
 * vector, every queue's): a wake-up it took would cost them a slice.  It
 * reaps the admin queue only under admin_lock (a trylock), so never while
 * a reset makes the queue anew or an admin command waits on it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nvme.h"

#define RETRY_MIN_MS	200
#define RETRY_MAX_MS	10000

/* An admin command of ours: 0, -EREMOTEIO if the controller failed it (said), or -errno. */
static int admin(struct nvme_ctrl *c, struct nvme_sqe *sqe, struct nvme_cqe *cqe, const char *what)
{
	int r = nvme_admin_cmd(c, sqe, cqe);

	if (r > 0)
		nvme_log("%s: %s", what, nvme_status_str((uint16_t)r));
	return r > 0 ? -EREMOTEIO : r;
}

/* Get Log Page (§5.14) of @bytes (a multiple of 4, at most 4096) into c->log_buf, RAE cleared. */
static int get_log(struct nvme_ctrl *c, uint8_t lid, uint32_t bytes)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_GET_LOG_PAGE, .nsid = 0xffffffffu };

	sqe.prp1 = dbk_dma_buf_get_iova(c->log_buf);
	sqe.cdw10 = NVME_LOG_CDW10(lid, bytes);
	memset(dbk_dma_buf_get_vaddr(c->log_buf), 0, NVME_PAGE_SIZE);
	return admin(c, &sqe, NULL, "Get Log Page");
}

/* Both give an identifier (non-zero) and they differ. */
static bool id_differs(const uint8_t *a, const uint8_t *b, size_t n)
{
	static const uint8_t zero[16];

	return memcmp(a, zero, n) && memcmp(b, zero, n) && memcmp(a, b, n);
}

/* Why @now is no longer what @ns served, or NULL if it still is. */
static const char *ns_gone_why(const struct nvme_ns *ns, const struct nvme_ns *now)
{
	if (!now->blocks)
		return "no longer active on this controller (detached or deleted)";
	if (id_differs(ns->nguid, now->nguid, sizeof(ns->nguid)) ||
	    id_differs(ns->eui64, now->eui64, sizeof(ns->eui64)))
		return "another namespace now (its NGUID or EUI-64 changed: deleted and made anew)";
	if (now->lba_shift != ns->lba_shift || now->ms != ns->ms)
		return "formatted anew (another block size or metadata size)";
	return NULL;
}

/*
 * Identify the namespaces marked for it again: the gone, the replaced, the
 * reformatted, the resized.  One that fails stays marked (0 or -errno of
 * the last failure); the number found gone otherwise.
 */
static int ns_recheck(struct nvme_ctrl *c, int *err)
{
	unsigned int j, gone = 0;
	struct nvme_ns now;
	const char *why;
	int r;

	*err = 0;
	for (j = 0; j < c->nr_ns; j++) {
		struct nvme_ns *ns = &c->ns[j];

		if (!ns->recheck)
			continue;
		if (__atomic_load_n(&ns->gone, __ATOMIC_ACQUIRE)) {
			ns->recheck = false;
			continue;
		}
		r = nvme_identify_ns(c, ns->nsid, c->log_buf, &now);
		if (r < 0) {
			*err = r;
			continue;
		}
		ns->recheck = false;
		why = ns_gone_why(ns, &now);
		if (why) {
			nvme_log("namespace %u is %s", ns->nsid, why);
			__atomic_store_n(&ns->gone, true, __ATOMIC_RELEASE);
			gone++;
		} else if (now.blocks != ns->nsze_seen) {
			/* The disk keeps the size it was connected with until the driver starts again. */
			nvme_log("namespace %u changed size: %" PRIu64 " blocks, was %" PRIu64, ns->nsid,
				 now.blocks, ns->nsze_seen);
			ns->nsze_seen = now.blocks;
		}
	}
	return (int)gone;
}

/* The Changed Namespace List (which also lets the next notice through): mark ours in it. */
static int ns_read_list(struct nvme_ctrl *c)
{
	const uint8_t *log = dbk_dma_buf_get_vaddr(c->log_buf);
	unsigned int i, j;
	int r;

	r = get_log(c, NVME_LOG_CHANGED_NS, NVME_PAGE_SIZE);
	if (r < 0) {
		/* Without the list, every namespace is looked at; a refusal is not asked again. */
		for (j = 0; j < c->nr_ns; j++)
			c->ns[j].recheck = true;
		if (r == -EREMOTEIO)
			c->ns_log_pending = false;
		return r;
	}
	c->ns_log_pending = false;
	for (i = 0; i < NVME_PAGE_SIZE / 4; i++) {
		uint32_t nsid = nvme_le32(log + 4 * i);
		bool ours = false;

		if (!nsid)
			break;	/* the list ends with zeroes */
		for (j = 0; j < c->nr_ns; j++) {
			if (nsid == NVME_LOG_CHANGED_NS_MANY || c->ns[j].nsid == nsid) {
				c->ns[j].recheck = true;
				ours = true;
			}
		}
		if (nsid == NVME_LOG_CHANGED_NS_MANY)
			break;	/* more than 1024 changed: look at all of ours */
		if (!ours)
			nvme_log("namespace %u changed (not one this driver found at start: ignored)", nsid);
	}
	return 0;
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

	if (!(c->oaes & NVME_OAES_NS_ATTR))
		return 0;
	sqe.cdw10 = NVME_FEAT_ASYNC_EVENT;
	r = admin(c, &sqe, &cqe, "Get Features (Asynchronous Event Configuration)");
	if (r == 0) {
		memset(&sqe, 0, sizeof(sqe));
		sqe.opcode = NVME_ADM_SET_FEATURES;
		sqe.cdw10 = NVME_FEAT_ASYNC_EVENT;
		sqe.cdw11 = cqe.dw0 | NVME_AEC_NS_ATTR;
		r = admin(c, &sqe, NULL, "Set Features (Asynchronous Event Configuration)");
	}
	if (r == -EREMOTEIO)
		nvme_log("no Namespace Attribute Notices: a namespace that goes is seen at a reset, or "
			 "as failed I/O");
	return r;
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
	/*
	 * Configured by the first nvme_events_poll() (aec_resets differs);
	 * then every namespace is identified again, for one that went
	 * between the driver's start and the notices'.
	 */
	c->aec_resets = c->nr_resets - 1u;
	c->retry_at = 0;
	c->retry_ms = RETRY_MIN_MS;
	c->events_on = true;
	return 0;
}

/*
 * What is owed: after a reset, configure again and look at every
 * namespace (the reset may have swallowed a notice); the Changed
 * Namespace List of a notice, the namespaces to identify.  The number
 * found gone; a failure backs off (what is left stays owed).
 */
static int follow_up(struct nvme_ctrl *c)
{
	unsigned int resets, j;
	int r = 0, err = 0, gone = 0;

	pthread_mutex_lock(&c->admin_lock);
	resets = c->nr_resets;
	pthread_mutex_unlock(&c->admin_lock);
	if (resets != c->aec_resets) {
		r = configure(c);
		/*
		 * Refused (a status): the controller will not send the notices
		 * (said once, in configure()), but other events, and the
		 * namespaces' second look, still are; asked again after a reset.
		 */
		if (r == 0 || r == -EREMOTEIO) {
			c->aec_resets = resets;
			c->ns_log_pending = r == 0 && (c->oaes & NVME_OAES_NS_ATTR);
			for (j = 0; j < c->nr_ns; j++)
				c->ns[j].recheck = true;
			r = 0;
		}
	}
	if (r == 0 && c->ns_log_pending)
		r = ns_read_list(c);
	gone = ns_recheck(c, &err);	/* whatever was marked, even if the list was not read */
	if (r == 0)
		r = err;
	if (r < 0) {
		c->retry_at = nvme_now_ns() + (uint64_t)c->retry_ms * 1000000u;
		c->retry_ms = c->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : c->retry_ms * 2;
	} else {
		c->retry_at = 0;
		c->retry_ms = RETRY_MIN_MS;
	}
	return gone;
}

static bool owed(const struct nvme_ctrl *c)
{
	unsigned int j;

	if (c->ns_log_pending || __atomic_load_n(&c->nr_resets, __ATOMIC_RELAXED) != c->aec_resets)
		return true;
	for (j = 0; j < c->nr_ns; j++)
		if (c->ns[j].recheck)
			return true;
	return false;
}

/* Ask for the next event, unless a reset came since the events were configured. */
static void aer_arm(struct nvme_ctrl *c)
{
	struct nvme_sqe sqe = { .opcode = NVME_ADM_ASYNC_EVENT };
	int r;

	pthread_mutex_lock(&c->admin_lock);
	if (c->admin.live && !c->shut_down && c->nr_resets == c->aec_resets) {
		c->aer.op = NVME_OP_FLUSH;	/* anything but a read: no data */
		r = nvme_queue_submit_sqe(&c->admin, &sqe, &c->aer);
		if (r >= 0)
			c->aer_armed = true;
		/* else -EAGAIN (the admin queue is full) or the doorbell failed: next time */
	}
	pthread_mutex_unlock(&c->admin_lock);
}

int nvme_events_poll(struct nvme_ctrl *c, int timeout_ms)
{
	int gone = 0;
	uint32_t dw0;

	if (c->failed)
		return -EIO;
	if (c->events_on) {
		if (owed(c) && nvme_now_ns() >= c->retry_at)
			gone = follow_up(c);
		if (!c->aer_armed)
			aer_arm(c);
	}
	nanosleep(&(struct timespec){ .tv_sec = timeout_ms / 1000,
				      .tv_nsec = (timeout_ms % 1000) * 1000000L }, NULL);
	if (dbk_dev_is_revoked(c->dev) == 1)
		return -ENODEV;
	/* Busy: an admin command reaps the queue itself, a reset makes it anew. */
	if (pthread_mutex_trylock(&c->admin_lock) == 0) {
		(void)nvme_queue_poll(&c->admin);
		pthread_mutex_unlock(&c->admin_lock);
	}
	if (!c->aer_armed || !__atomic_load_n(&c->aer.completed, __ATOMIC_ACQUIRE))
		return gone;
	c->aer_armed = false;
	if (c->aer.err && !c->aer.status)
		return gone;	/* a reset ended it (ECANCELED, or ETIMEDOUT past its deadline): ask again */
	if (c->aer.err) {
		/* Asked again, it would fail again: no more events. */
		nvme_log("Asynchronous Event Request: %s; no more asynchronous events",
			 nvme_status_str(c->aer.status));
		c->events_on = false;
		return gone;
	}
	dw0 = c->aer.result;
	if (NVME_AER_TYPE(dw0) == NVME_AER_TYPE_NOTICE && NVME_AER_INFO(dw0) == NVME_AER_NOTICE_NS_CHANGED) {
		c->ns_log_pending = true;
		return gone + follow_up(c);	/* at once, whatever the backoff */
	}
	nvme_log("asynchronous event: type %u, information 0x%02x, log page 0x%02x", NVME_AER_TYPE(dw0),
		 NVME_AER_INFO(dw0), NVME_AER_LOG(dw0));
	/* 64 bytes: within every log page, and enough to unmask the event. */
	if (NVME_AER_LOG(dw0))
		(void)get_log(c, (uint8_t)NVME_AER_LOG(dw0), 64);
	return gone;
}
