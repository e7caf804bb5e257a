/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/nvme: the controller layer (ctrl.c) and the I/O layer (io.c).
 *
 * The I/O layer is a small internal API meant for the block frontend
 * (dbk_block, <devbroker/block.h>): one dbk_block request (op, offset,
 * length, buffer) becomes one struct nvme_req, which becomes exactly one
 * NVMe command on one I/O queue pair; its callback runs when the
 * completion arrives:
 *
 *	nvme_io_submit(q, req)    queue the command (no doorbell yet)
 *	nvme_io_kick(q)           ring the SQ tail doorbell once for the batch
 *	nvme_io_wait(q, ms)       sleep on the queue's MSI-X eventfd, then reap
 *	nvme_io_service(q, &ms)   reap without sleeping, and say how long the
 *	                          caller may sleep on nvme_io_get_fd() (serve.c)
 *	nvme_io_poll(q)           reap without sleeping
 *	nvme_io_get_fd(q)         the eventfd, for the caller's own poll()
 *
 * Each I/O queue pair has its own MSI-X vector (vector 0 is the admin
 * queue's).  Data travels through per-command bounce buffers in the
 * grant's DMA memory: the caller's buffer is ordinary memory.
 *
 * Locking: each queue has a mutex; submit, kick, poll and wait may be
 * called from several threads.  Callbacks run without any lock held and
 * may submit again.  Admin commands are serialized by their own mutex.
 * A controller reset takes every lock (admin first, then the I/O queues
 * in order).
 */
#ifndef NVME_H
#define NVME_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <devbroker/device.h>

#include "nvme-regs.h"

#define NVME_MAX_IO_QUEUES	16	/* like DBK_HANDOVER_BLOCK_MAX: one per NBD connection */
#define NVME_MAX_NS		16	/* namespaces we keep */
#define NVME_ADMIN_DEPTH	32	/* admin SQ and CQ entries */

enum nvme_op {
	NVME_OP_READ,
	NVME_OP_WRITE,
	NVME_OP_FLUSH,
	NVME_OP_WRITE_ZEROES,
	NVME_OP_TRIM,		/* Dataset Management, deallocate */
};

struct nvme_req;
typedef void (*nvme_done_fn)(struct nvme_req *req);

/* One request: one NVMe command.  The caller owns it until done() runs. */
struct nvme_req {
	/* in */
	enum nvme_op op;
	uint32_t nsid;
	uint64_t offset;	/* bytes, a multiple of the namespace's block size */
	uint32_t length;	/* bytes, likewise; at most max_transfer for read/write */
	void *buf;		/* read: filled on success; write: the data */
	bool fua;		/* Force Unit Access (read/write) */
	/*
	 * Its first expiry (nvme_now_ns()); 0: cmd_timeout after it is
	 * queued.  A command sent again after a reset is given the one it had
	 * (expires), so that it lives no longer than one never reset: its
	 * Abort, then another cmd_timeout, then a reset.
	 */
	uint64_t deadline;
	nvme_done_fn done;
	void *priv;
	/* out, valid in done() */
	int err;		/* 0, -EIO (NVMe error: see status), -ETIMEDOUT, -ECANCELED (reset), -ENODEV */
	uint16_t status;	/* the NVMe Status Field (NVME_SCT/NVME_SC), 0 on success */
	uint32_t result;	/* completion DW0 */
	uint64_t expires;	/* the first expiry it was given when queued */
	/* the I/O layer's */
	bool completed;
	struct nvme_req *next;
};

struct nvme_slot {
	struct nvme_req *req;	/* NULL: free */
	uint64_t deadline;	/* CLOCK_MONOTONIC ns */
	bool abort_sent;
	bool lent;		/* bounce is a request's buffer (nvme_io_lend()): the slot is its */
	/*
	 * Its last command was failed without the controller's word (a dead
	 * disk, a reset whose disable timed out): the controller may still
	 * transfer into the buffer, which is lent no more.
	 */
	bool stale;
	void *bounce;		/* max_transfer bytes of DMA memory */
	uint64_t bounce_iova;
	uint64_t *prp;		/* this command's PRP list */
	uint64_t prp_iova;
};

struct nvme_ctrl;

struct nvme_queue {
	struct nvme_ctrl *c;
	uint16_t qid;		/* 0: admin */
	uint16_t depth;		/* SQ and CQ entries; depth - 1 commands at once */
	uint32_t vector;	/* MSI-X vector */
	struct dbk_dma_buf *ring_buf;	/* SQ, CQ, PRP lists */
	uint64_t sq_iova, cq_iova;
	struct dbk_dma_buf *bounce_buf[8];
	unsigned int nr_bounce_buf;
	unsigned int bounce_per;	/* slots per bounce_buf (the last may have fewer) */
	struct nvme_sqe *sq;
	struct nvme_cqe *cq;
	uint16_t sq_tail, sq_rung;	/* next free SQ entry, and the tail the doorbell last got */
	uint16_t sq_head;		/* from the last completion's SQHD */
	uint16_t cq_head;
	uint8_t phase;
	bool live;			/* created in the controller */
	unsigned int inflight;
	struct nvme_slot *slots;	/* [depth - 1]; the CID is the index */
	pthread_mutex_t lock;
	/* statistics */
	uint64_t nr_submitted, nr_completed, nr_doorbells, nr_irqs;
	uint64_t nr_copied;		/* reads and writes copied through a bounce buffer */
	uint64_t nr_quiet_slices;	/* waits that slept a whole slice with commands outstanding */
	uint64_t next_timeout_check;	/* nvme_now_ns() of check_timeouts()' next walk, under lock */
	/* Adaptive polling (nvme_io_wait() or nvme_io_service(): one waiter per queue) */
	bool polling;			/* reaping by polling the CQ, not sleeping on the vector */
	unsigned int idle_polls;	/* empty polls in a row while polling */
	uint64_t nr_polled;		/* completions reaped while polling */
	uint64_t nr_poll_switches;	/* times the queue went from its interrupt to polling */
};

/*
 * How nvme_io_wait() waits for completions with MSI-X: on the queue's
 * vector, polling the CQ only while busy (the default), always on the
 * vector, or always polling (a core spent per queue, as SPDK does).
 */
enum nvme_poll_mode { NVME_POLL_ADAPTIVE, NVME_POLL_IRQ, NVME_POLL_ALWAYS };

struct nvme_ns {
	uint32_t nsid;
	uint64_t blocks;	/* NSZE */
	uint32_t lba_shift;	/* log2 of the block size */
	uint32_t ms;		/* metadata bytes per block (we need 0) */
	uint8_t nguid[16];	/* its identity, where the controller gives one (zeroes: none) */
	uint8_t eui64[8];
	bool usable;
	bool gone;		/* atomic: no longer active here (event.c) */
	/* event.c's */
	bool recheck;		/* to be identified again */
	uint64_t nsze_seen;	/* NSZE when last identified (blocks stays what is served) */
};

struct nvme_ctrl {
	struct dbk_dev *dev;
	uint64_t cap;
	uint32_t vs;
	uint32_t dstrd;
	uint32_t timeout_ms;	/* CAP.TO */
	int cmd_timeout_ms;	/* an I/O or admin command's */
	bool verbose;
	bool use_irq;		/* MSI-X enabled (else: polling only) */
	enum nvme_poll_mode poll_mode;
	bool copy;		/* --copy: serve.c lends no bounce buffer (every byte copied) */
	uint32_t nr_vectors;

	/* Identify Controller */
	uint8_t *idc;		/* 4096 bytes */
	char sn[21], mn[41], fr[9];
	uint32_t mdts_bytes;	/* 0: no limit */
	uint32_t max_transfer;	/* bytes per read/write command, ours */
	uint16_t oncs;
	uint8_t vwc;
	uint32_t nn;
	uint8_t acl;
	uint16_t cntlid;	/* our controller's ID in its subsystem */
	uint32_t oaes;		/* Optional Asynchronous Events Supported */

	struct nvme_ns ns[NVME_MAX_NS];
	unsigned int nr_ns;

	struct dbk_dma_buf *id_buf;	/* identify, DSM scratch for admin use */
	struct nvme_queue admin;
	pthread_mutex_t admin_lock;

	struct nvme_queue *io[NVME_MAX_IO_QUEUES];
	unsigned int nr_io;		/* created */
	unsigned int want_io;		/* asked for */
	unsigned int io_depth;
	unsigned int nr_resets;	/* under admin_lock and every I/O queue's lock */
	unsigned int nr_fatal;	/* of nr_resets: for a fatal status (CSTS.CFS); the same locks */
	bool shut_down;
	bool failed;		/* a reset did not bring it back: every request gets -EIO */

	/* event.c: one Asynchronous Event Request outstanding; its caller's alone */
	struct nvme_req aer;
	bool aer_armed;		/* submitted; its completion not yet looked at */
	bool events_on;
	bool ns_log_pending;	/* the Changed Namespace List still to be read */
	unsigned int aec_resets;	/* nr_resets when the events were last configured */
	uint64_t retry_at;	/* nvme_now_ns(): follow-ups that failed, tried again then */
	unsigned int retry_ms;	/* the backoff: 200 ms, doubling to 10 s */
	struct dbk_dma_buf *log_buf;	/* log pages, identify */
};

/* ctrl.c */
void nvme_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
uint64_t nvme_now_ns(void);
int nvme_ctrl_init(struct nvme_ctrl *c, struct dbk_dev *dev, unsigned int want_io,
		   unsigned int io_depth, uint32_t max_transfer);
int nvme_ctrl_reset(struct nvme_ctrl *c);
int nvme_ctrl_reset_after(struct nvme_ctrl *c, unsigned int seen, bool fatal);
int nvme_ctrl_shutdown(struct nvme_ctrl *c);
int nvme_ctrl_remake_queue(struct nvme_ctrl *c, struct nvme_queue *q, uint64_t cq_iova);
void nvme_ctrl_free(struct nvme_ctrl *c);
int nvme_admin_cmd(struct nvme_ctrl *c, struct nvme_sqe *sqe, struct nvme_cqe *cqe);
const char *nvme_status_str(uint16_t status);
struct nvme_ns *nvme_ns_get(struct nvme_ctrl *c, uint32_t nsid);
void nvme_ns_parse(struct nvme_ns *ns, uint32_t nsid, const uint8_t *id);
int nvme_identify_ns(struct nvme_ctrl *c, uint32_t nsid, struct dbk_dma_buf *buf, struct nvme_ns *ns);
int nvme_reg_read64(struct nvme_ctrl *c, uint32_t off, uint64_t *v);
int nvme_reg_write64(struct nvme_ctrl *c, uint32_t off, uint64_t v);

/*
 * event.c: asynchronous events, for one thread while the driver serves.
 * nvme_events_poll() waits up to @timeout_ms for one and handles it: the
 * number of namespaces it found gone (ns->gone set), or -ENODEV (revoked),
 * -EIO (the controller failed).
 */
int nvme_events_start(struct nvme_ctrl *c);
int nvme_events_poll(struct nvme_ctrl *c, int timeout_ms);

/* io.c: the queue machinery (admin and I/O) */
int nvme_queue_alloc(struct nvme_ctrl *c, struct nvme_queue *q, uint16_t qid,
		     uint16_t depth, uint32_t vector, bool io);
void nvme_queue_free(struct nvme_queue *q);
void nvme_queue_reset(struct nvme_queue *q);
int nvme_queue_submit_sqe(struct nvme_queue *q, struct nvme_sqe *sqe, struct nvme_req *req);
unsigned int nvme_queue_fail_all(struct nvme_queue *q, int err, struct nvme_req **list);
void nvme_queue_stopped(struct nvme_queue *q);
int nvme_queue_poll(struct nvme_queue *q);
void nvme_queue_orphan(struct nvme_queue *q, int slot);
void nvme_run_callbacks(struct nvme_req *list);

/* cmd.c: one request to one NVMe command (no device needed: unit-tested) */
int nvme_check_req(const struct nvme_ns *ns, uint32_t max_transfer, uint16_t oncs,
		   const struct nvme_req *req);
bool nvme_build_cmd(const struct nvme_ns *ns, const struct nvme_req *req, struct nvme_slot *s,
		    struct nvme_sqe *sqe);

/* io.c: the I/O API */
int nvme_io_submit(struct nvme_queue *q, struct nvme_req *req);
int nvme_io_kick(struct nvme_queue *q);
int nvme_io_poll(struct nvme_queue *q);
int nvme_io_wait(struct nvme_queue *q, int timeout_ms);
/*
 * One look without sleeping, by the queue's one waiter: the vector's
 * eventfd read (non-blocking), timeouts checked, the CQ reaped, callbacks
 * run.  *sleep_ms: how long the caller may sleep on nvme_io_get_fd() before
 * the next look: 0 (polling), -1 (nothing outstanding: until the vector or
 * a new command), else the slice that timeouts need.  Completions reaped,
 * or -errno (-ENODEV: revoked).
 */
int nvme_io_service(struct nvme_queue *q, int *sleep_ms);
/*
 * A look by another user of the queue than its waiter (serve.c's
 * connections that share a queue pair): timeouts checked (abort, reset),
 * the CQ reaped; neither the vector nor the polling state touched.
 * Completions reaped, or -errno (-ENODEV: revoked).
 */
int nvme_io_check(struct nvme_queue *q);
/* The waiter's: consume what the vector's eventfd counted (non-blocking). */
void nvme_io_ack(struct nvme_queue *q);
int nvme_io_get_fd(struct nvme_queue *q);
void nvme_io_forget(struct nvme_queue *q);
/*
 * Zero copy: lend a free slot's bounce buffer as the buffer of a request
 * of @len bytes to come (NULL: none free, or @len too long).  A request
 * submitted with it as its buf takes that slot, and the device transfers
 * straight into or out of it.  The slot stays the buffer's until
 * nvme_io_give_back(), whatever becomes of its commands.  Thread-safe.
 */
void *nvme_io_lend(struct nvme_queue *q, uint32_t len);
void nvme_io_give_back(struct nvme_queue *q, void *buf);

#endif /* NVME_H */
