/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/nvme: serve one namespace as a disk through the block frontend
 * (<devbroker/block.h>: devbrokerd connected /dev/nbdN to the sockets it
 * handed over; libdev speaks NBD on them, we only see requests).
 *
 * Connection i is served on I/O queue pair i % nr_io: one each when the
 * controller, the vectors and the DMA quota allowed as many queues as
 * connections, shared otherwise (nvme.h's queues have their own lock).
 *
 * One thread per queue pair does all of its work: libdev's connection
 * thread (dbk_block_set_poller()) sleeps on its socket and on the queue's
 * MSI-X eventfd at once.
 *
 *   submit(): dbk_block_req -> nvme_req(s), nvme_io_submit
 *   poll_queue(), before each sleep and when the vector fires:
 *     kick(): the SQ doorbell, once for the requests read since the last
 *     nvme_io_service(): reap the CQ, check timeouts (abort, reset: io.c)
 *     -> cmd_done() -> dbk_block_complete(): the reply, from this thread
 *
 *   event thread (one): the controller's asynchronous events (event.c)
 *
 * A completion thread per queue, as the driver first had, costs every
 * request a second wakeup in the driver and the reply a hop between
 * threads; under TCG that put drivers/nvme at 0.4x the kernel's IOPS at
 * QD32, against 0.85x to 0.96x now (bench/results/poller/).  A
 * connection that shares its queue pair with another (fewer queues than
 * connections) looks at the CQ and the timeouts between naps: the pair's
 * own connection is the one that waits on the vector.
 *
 * Zero copy: a queue pair lends its command slots' bounce buffers (DMA
 * memory) to the connections it serves (dbk_block_set_buffers()), so
 * libdev receives a write's data where the controller reads it, and
 * sends a read's reply from where the controller wrote it; a request
 * takes the slot whose buffer it has (nvme_io_lend()).  When every slot
 * is lent, a request gets libdev's memory and is copied through a free
 * slot's buffer, as all were before (and all are with --copy).
 *
 * A controller reset (a command's timeout after its Abort, CSTS.CFS, or
 * SIGUSR1: io.c, ctrl.c) ends every command outstanding: the one that
 * timed out with -ETIMEDOUT (the client gets EIO), the others with
 * -ECANCELED.  When the controller came back, cmd_done() puts each of
 * those on its queue pair's retry list and wakes the pair's poller, which
 * sends it again, as Linux's nvme requeues a request a reset cancelled:
 * the client sees no error.  A command sent again keeps the deadline it
 * was given when first queued (nvme_req.expires), so that none lives longer
 * than one never reset: its timeout, its Abort's, then a reset, within
 * the kernel's BlockTimeoutSec= (after which nbd sends the request
 * elsewhere, and a write of ours landing later could bury a newer one);
 * one cancelled past that first deadline is not sent again, nor one sent
 * MAX_RETRIES times.  A disk that is dead instead fails them with EIO.
 *
 * A full SQ (depth - 1 commands, §4.1) makes submit() reap that queue
 * until a slot is free: the connection thread stops reading requests,
 * which is the back-pressure the kernel's nbd expects.
 *
 * The end: dbk_block_run() returns when the kernel disconnected or
 * dbk_block_stop() was called (SIGTERM), after every request in flight
 * completed (each connection thread keeps reaping until its own are);
 * then the controller is shut down (CC.SHN, §7.6.2).  A revoked grant (every libdev call -ENODEV)
 * fails what is in flight and all that follows with EIO and stops the
 * disk; there is no controller to shut down then.  A namespace that is
 * no longer active on the controller (detached by another controller of
 * its subsystem, or deleted: the event thread learns it from a Namespace
 * Attribute Changed notice) fails all that follows with EIO and stops the
 * disk; what is in flight ends as the controller ends it (an error
 * status: EIO), the controller is shut down, and the driver exits with
 * DBK_HANDOVER_EXIT_GONE: devbrokerd must not restart it, and ends the
 * disk (<devbroker/handover.h>).
 */
#include <errno.h>
#include <inttypes.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <devbroker/block.h>
#include <devbroker/handover.h>

#include "serve.h"

#define WAIT_MS		200	/* the event thread's wait */
#define DEAD_WAIT_MS	50	/* a dead queue's poller: between failing what raced in */
#define FULL_WAIT_MS	100	/* a full SQ's submitter: its longest sleep between looks */
#define SHARED_WAIT_MS	10	/* a shared queue pair's other connection: between looks */
#define MAX_RETRIES	5	/* times a request is sent again after resets (Linux's nvme_max_retries) */

struct serve;

struct squeue {
	struct serve *s;
	struct nvme_queue *q;
	pthread_mutex_t retry_lock;
	struct nvme_req *retry, **retry_tail;	/* commands a reset ended, to send again (oldest first) */
	int wake_fd;			/* without MSI-X, the poller's: requeue() wakes it; else -1 */
};

struct serve {
	struct nvme_ctrl *c;
	struct nvme_ns *ns;
	struct dbk_block *b;
	struct squeue sq[NVME_MAX_IO_QUEUES];
	unsigned int nr_sq;
	pthread_t events;
	bool events_started;
	int dead;	/* atomic: revoked (or the controller failed); fail everything with EIO */
	int stop;	/* atomic: the event thread ends */
	unsigned long requeued;	/* atomic: commands a reset ended, put on a retry list */
	unsigned long retried;	/* atomic: commands sent again after a reset */
};

/* One dbk_block request: one NVMe command, several for a long Write Zeroes. */
struct breq {
	struct dbk_block_req *req;
	struct squeue *sq;
	int pending;		/* atomic: commands not completed, + 1 while submitting */
	int err;		/* atomic: the first error */
	int retries;		/* atomic: its commands sent again after resets */
	unsigned int nr;
	struct nvme_req cmd[];
};

static struct dbk_block *volatile the_disk;
static volatile sig_atomic_t reset_asked;	/* SIGUSR1: the event thread resets the controller */

static void on_term(int sig)
{
	(void)sig;
	if (the_disk)
		dbk_block_stop(the_disk);	/* async-signal-safe: an eventfd write */
}

static void on_usr1(int sig)
{
	(void)sig;
	reset_asked = 1;
}

static void breq_put(struct breq *br)
{
	if (__atomic_sub_fetch(&br->pending, 1, __ATOMIC_ACQ_REL) == 0) {
		dbk_block_complete(br->req, __atomic_load_n(&br->err, __ATOMIC_ACQUIRE));
		free(br);
	}
}

static void breq_fail(struct breq *br, int err)
{
	int zero = 0;

	/* dbk_block_complete() sends what NBD cannot say (-ETIMEDOUT, -ECANCELED) as EIO. */
	__atomic_compare_exchange_n(&br->err, &zero, err, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
}

/*
 * A command a reset ended, to be sent again?  Only if the controller came
 * back (c->failed is set before a reset's callbacks run) and the disk
 * lives; not after a shutdown, nor once its request has been sent
 * MAX_RETRIES times.
 */
static bool retry_ok(struct breq *br, const struct nvme_req *cmd)
{
	struct serve *s = br->sq->s;

	return cmd->err == -ECANCELED && !s->c->failed &&
	       !__atomic_load_n(&s->dead, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&s->ns->gone, __ATOMIC_ACQUIRE) &&
	       nvme_now_ns() < cmd->expires &&
	       __atomic_add_fetch(&br->retries, 1, __ATOMIC_ACQ_REL) <= MAX_RETRIES * (int)br->nr;
}

/* Onto its pair's retry list; the pair's poller is woken through its vector's eventfd, or its own. */
static void requeue(struct squeue *sq, struct nvme_req *cmd)
{
	int fd = sq->wake_fd >= 0 ? sq->wake_fd : nvme_io_get_fd(sq->q);

	__atomic_add_fetch(&sq->s->requeued, 1, __ATOMIC_RELAXED);
	cmd->deadline = cmd->expires;	/* its first: see the top of the file */
	cmd->err = 0;
	cmd->status = 0;
	cmd->completed = false;
	cmd->next = NULL;
	pthread_mutex_lock(&sq->retry_lock);
	*sq->retry_tail = cmd;
	sq->retry_tail = &cmd->next;
	pthread_mutex_unlock(&sq->retry_lock);
	if (fd >= 0)
		(void)eventfd_write(fd, 1);
}

/* nvme.h's callback: runs in the thread that reaped it (or a reset's, or a shutdown's). */
static void cmd_done(struct nvme_req *cmd)
{
	struct breq *br = cmd->priv;

	if (cmd->err && retry_ok(br, cmd)) {
		requeue(br->sq, cmd);
		return;
	}
	if (cmd->err) {
		if (cmd->status)
			nvme_log("queue %u: %s at byte %" PRIu64 ", %u bytes: %s", br->sq->q->qid,
				 cmd->op == NVME_OP_READ ? "read" : cmd->op == NVME_OP_WRITE ? "write" : "command",
				 cmd->offset, cmd->length, nvme_status_str(cmd->status));
		breq_fail(br, cmd->err);
	}
	breq_put(br);
}

/* Every command outstanding on @sq completes with -EIO (the grant is gone). */
static void fail_queue(struct squeue *sq)
{
	struct nvme_req *list = NULL;

	pthread_mutex_lock(&sq->q->lock);
	nvme_queue_fail_all(sq->q, -EIO, &list);
	pthread_mutex_unlock(&sq->q->lock);
	nvme_run_callbacks(list);
}

static void set_dead(struct serve *s, const char *why)
{
	if (__atomic_exchange_n(&s->dead, 1, __ATOMIC_ACQ_REL))
		return;
	nvme_log("%s: failing the requests in flight and all that follow with EIO, stopping the disk",
		 why);
	dbk_block_stop(s->b);
}

/*
 * Queue @cmd on @sq; while the SQ is full, reap it until a slot is free.
 * The queue pair's own connection (@queue < nr_sq) is its one waiter and
 * sleeps on its vector; another that shares it only looks, between naps:
 * the owner's poller is the one that waits on the vector.
 */
static int submit_cmd(struct squeue *sq, unsigned int queue, struct nvme_req *cmd)
{
	struct serve *s = sq->s;
	int r;

	for (;;) {
		if (__atomic_load_n(&s->dead, __ATOMIC_ACQUIRE))
			return -EIO;
		r = nvme_io_submit(sq->q, cmd);
		if (r != -EAGAIN)	/* full, or the queue is being reset: wait */
			return r;
		/* What we queued so far must reach the controller for slots to free up. */
		if (nvme_io_kick(sq->q) < 0)
			return -EIO;
		/* A failure: the poller, next, says why and fails the queue. */
		if (queue < s->nr_sq) {
			r = nvme_io_wait(sq->q, FULL_WAIT_MS);
			if (r < 0 && r != -EAGAIN)
				return -EIO;
		} else {
			r = nvme_io_check(sq->q);
			if (r < 0 && r != -EAGAIN)
				return -EIO;
			if (r <= 0)
				usleep(1000);
		}
	}
}

static void submit(void *ctx, unsigned int queue, struct dbk_block_req *req)
{
	static const enum nvme_op ops[] = {
		[DBK_BLOCK_READ] = NVME_OP_READ, [DBK_BLOCK_WRITE] = NVME_OP_WRITE,
		[DBK_BLOCK_FLUSH] = NVME_OP_FLUSH, [DBK_BLOCK_TRIM] = NVME_OP_TRIM,
		[DBK_BLOCK_WRITE_ZEROES] = NVME_OP_WRITE_ZEROES,
	};
	struct serve *s = ctx;
	struct squeue *sq = &s->sq[queue % s->nr_sq];
	enum dbk_block_op op = dbk_block_req_op(req);
	uint64_t off = dbk_block_req_offset(req);
	uint32_t len = dbk_block_req_length(req), chunk = len, i;
	unsigned int nr = 1;
	struct breq *br;
	int r;

	/* ns->gone: event.c found the namespace gone (the event thread stops the disk). */
	if (__atomic_load_n(&s->dead, __ATOMIC_ACQUIRE) || __atomic_load_n(&s->ns->gone, __ATOMIC_ACQUIRE)) {
		dbk_block_complete(req, -EIO);
		return;
	}
	/*
	 * Write Zeroes says NLB in 16 bits (§6.17: 65536 blocks at most);
	 * the kernel's nbd sends longer ones: split them.  Read and write are
	 * within max_transfer (libdev checked), a DSM range's NLB has 32 bits
	 * (§6.7) like the request's length.
	 */
	if (op == DBK_BLOCK_WRITE_ZEROES) {
		chunk = NVME_RW_MAX_NLB << s->ns->lba_shift;
		nr = (len + chunk - 1) / chunk;
	}
	br = calloc(1, sizeof(*br) + nr * sizeof(br->cmd[0]));
	if (!br) {
		dbk_block_complete(req, -ENOMEM);
		return;
	}
	br->req = req;
	br->sq = sq;
	br->nr = nr;
	br->pending = (int)nr + 1;	/* + 1: ours, until every command is queued */
	for (i = 0; i < nr; i++) {
		struct nvme_req *cmd = &br->cmd[i];

		cmd->op = ops[op];
		cmd->nsid = s->ns->nsid;
		cmd->offset = off + (uint64_t)i * chunk;
		cmd->length = len - i * chunk < chunk ? len - i * chunk : chunk;
		cmd->buf = dbk_block_req_buf(req);
		cmd->fua = dbk_block_req_fua(req);
		cmd->done = cmd_done;
		cmd->priv = br;
		r = submit_cmd(sq, queue, cmd);
		if (r < 0) {
			/* This one and the rest will never complete: count them off. */
			breq_fail(br, r);
			__atomic_sub_fetch(&br->pending, (int)(nr - i), __ATOMIC_ACQ_REL);
			break;
		}
	}
	/*
	 * No doorbell here: the poller rings it (kick()) before the thread
	 * next sleeps, once for every request that arrived together.
	 */
	breq_put(br);
}

/* dbk_block_set_buffers()'s lender: connection @queue's requests go to its pair. */
static void *lend(void *ctx, unsigned int queue, uint32_t len)
{
	struct serve *s = ctx;

	if (__atomic_load_n(&s->dead, __ATOMIC_ACQUIRE))
		return NULL;	/* an early out: io.c's checks are the ones that hold */
	return nvme_io_lend(s->sq[queue % s->nr_sq].q, len);
}

static void give_back(void *ctx, unsigned int queue, void *buf)
{
	struct serve *s = ctx;

	nvme_io_give_back(s->sq[queue % s->nr_sq].q, buf);
}

/*
 * The SQ tail doorbell (§3.1.24), once for what was queued since the last:
 * every request the connection thread read before its socket ran dry (as
 * blk-mq's last request of a batch rings it).  Under TCG each doorbell is
 * a trap into QEMU.  0, or the queue failed (dead, what is in it failed).
 */
static int kick(struct squeue *sq)
{
	struct serve *s = sq->s;

	if (nvme_io_kick(sq->q) == 0)
		return 0;
	set_dead(s, dbk_dev_is_revoked(s->c->dev) == 1 ? "the grant was revoked" :
		 "the SQ doorbell cannot be written");
	fail_queue(sq);
	return -EIO;
}

static bool retry_pending(struct squeue *sq)
{
	bool r;

	pthread_mutex_lock(&sq->retry_lock);
	r = sq->retry != NULL;
	pthread_mutex_unlock(&sq->retry_lock);
	return r;
}

/*
 * The commands on @sq's retry list, queued again in the order they were
 * first sent (the poller then rings the doorbell), or failed with EIO when
 * the disk is dead.  A full or resetting queue keeps the rest for the next
 * look: true then.
 */
static bool resubmit(struct squeue *sq)
{
	struct serve *s = sq->s;
	struct nvme_req *list, *cmd, *next, *t;
	bool dead = __atomic_load_n(&s->dead, __ATOMIC_ACQUIRE) || s->c->failed;
	int r;

	pthread_mutex_lock(&sq->retry_lock);
	list = sq->retry;
	sq->retry = NULL;
	sq->retry_tail = &sq->retry;
	pthread_mutex_unlock(&sq->retry_lock);
	while ((cmd = list)) {
		struct breq *br = cmd->priv;

		/* Once queued, the command is the controller's: a completion or a reset may take it at once. */
		next = cmd->next;
		r = dead ? -EIO : nvme_io_submit(sq->q, cmd);
		if (r == -EAGAIN) {
			/* The rest back in front, older than what a reset put there meanwhile. */
			for (t = cmd; t->next; t = t->next)
				;
			pthread_mutex_lock(&sq->retry_lock);
			t->next = sq->retry;
			if (!sq->retry)
				sq->retry_tail = &t->next;
			sq->retry = cmd;
			pthread_mutex_unlock(&sq->retry_lock);
			return true;
		}
		list = next;
		if (r < 0) {
			breq_fail(br, r);
			breq_put(br);
		} else {
			__atomic_add_fetch(&s->retried, 1, __ATOMIC_RELAXED);
		}
	}
	return false;
}

/*
 * A look at @sq ended in @r (< 0), or found the controller failed (0): the
 * disk is dead (set_dead() says why, once).  Fails what is in the queue,
 * again at each look while the connections drain, for a submit() that
 * raced with us.
 */
static int queue_dead(struct squeue *sq, int r)
{
	struct serve *s = sq->s;

	set_dead(s, !r ? "the controller did not come back from a reset" :
		 r == -ENODEV || dbk_dev_is_revoked(s->c->dev) == 1 ? "the grant was revoked" :
		 "the controller failed");
	fail_queue(sq);
	return DEAD_WAIT_MS;
}

/*
 * The poller of connection @queue (dbk_block_set_poller()), in its thread:
 * rings the doorbell, reaps, checks timeouts (abort, then reset: io.c),
 * runs cmd_done(); says how long the thread may sleep.  Connection
 * @queue < nr_sq owns queue pair @queue: the vector and the polling state
 * are its (nvme_io_service()).  One that shares pair @queue % nr_sq with
 * its owner looks at the CQ and the timeouts itself (nvme_io_check()),
 * often enough that its own requests end (or time out) even while the
 * owner sleeps with nothing of its own in flight, or once the owner's
 * connection has ended (the kernel may close one and not the other).
 */
static int poll_queue(void *ctx, unsigned int queue)
{
	struct serve *s = ctx;
	struct squeue *sq = &s->sq[queue % s->nr_sq];
	bool owner = queue < s->nr_sq, more;
	int r, sleep_ms = -1;

	if (owner && sq->wake_fd >= 0) {
		eventfd_t v;

		(void)eventfd_read(sq->wake_fd, &v);	/* consumed before the list is looked at */
	}
	more = resubmit(sq);
	if (__atomic_load_n(&s->dead, __ATOMIC_ACQUIRE)) {
		if (owner)
			nvme_io_ack(sq->q);	/* the poller consumes its fd, even now */
		return queue_dead(sq, 0);
	}
	if (kick(sq) < 0)
		return DEAD_WAIT_MS;
	if (owner) {
		r = nvme_io_service(sq->q, &sleep_ms);
	} else {
		r = nvme_io_check(sq->q);
		if (__atomic_load_n(&sq->q->inflight, __ATOMIC_RELAXED))
			sleep_ms = SHARED_WAIT_MS;
	}
	if (r == -EAGAIN)
		r = 0;
	if (r < 0 || s->c->failed)
		return queue_dead(sq, r);
	/*
	 * Commands left to send again (the queue was full, or resetting): a
	 * look soon.  Commands a reset put on the list since resubmit() (its
	 * wakeup maybe consumed by nvme_io_service()'s read of the vector's
	 * eventfd): a look at once.
	 */
	if (more && (sleep_ms < 0 || sleep_ms > SHARED_WAIT_MS))
		sleep_ms = SHARED_WAIT_MS;
	else if (retry_pending(sq))
		sleep_ms = 0;
	return sleep_ms;
}

static void *event_thread(void *arg)
{
	struct serve *s = arg;
	int r;

	while (!__atomic_load_n(&s->stop, __ATOMIC_ACQUIRE) && !__atomic_load_n(&s->dead, __ATOMIC_ACQUIRE)) {
		/* What fails in there (a command of ours) is tried again, backing off. */
		r = nvme_events_poll(s->c, WAIT_MS);
		if (reset_asked) {
			/*
			 * The administrator's reset (as the kernel's
			 * /sys/class/nvme/nvmeN/reset_controller): what is
			 * outstanding is sent again once the controller is back.
			 */
			unsigned long before = __atomic_load_n(&s->requeued, __ATOMIC_RELAXED);

			reset_asked = 0;
			nvme_log("SIGUSR1: resetting the controller");
			if (nvme_ctrl_reset(s->c) < 0)
				r = -EIO;
			else
				nvme_log("SIGUSR1: the controller is back; %lu command(s) the reset ended are sent again",
					 __atomic_load_n(&s->requeued, __ATOMIC_RELAXED) - before);
		}
		if (__atomic_load_n(&s->ns->gone, __ATOMIC_ACQUIRE)) {
			nvme_log("namespace %u is gone: failing the requests that follow with EIO, stopping the disk",
				 s->ns->nsid);
			dbk_block_stop(s->b);
			break;
		}
		/*
		 * Revoked, or the controller failed: said here too, for an idle
		 * disk, whose pollers sleep until a request comes.
		 */
		if (r < 0) {
			set_dead(s, r == -ENODEV ? "the grant was revoked" : "the controller failed");
			break;
		}
	}
	return NULL;
}

/* @nsid, usable or not, or the first we can serve; NULL: none active. */
static struct nvme_ns *pick_ns(struct nvme_ctrl *c, uint32_t nsid)
{
	unsigned int i;

	for (i = 0; i < c->nr_ns; i++)
		if (nsid ? c->ns[i].nsid == nsid : c->ns[i].usable)
			return &c->ns[i];
	return nsid || !c->nr_ns ? NULL : &c->ns[0];
}

int nvme_serve(struct nvme_ctrl *c, const int *fds, unsigned int nr_fds, uint32_t nsid)
{
	static const struct dbk_block_ops ops = { .submit = submit };
	struct dbk_block_params p = { 0 };
	struct serve s = { .c = c };
	struct sigaction sa = { .sa_handler = on_term };
	unsigned int i;
	int r, rc = 0;

	s.ns = pick_ns(c, nsid);
	if (!s.ns) {
		/* Not one to fail on: restarting the driver would not make one. */
		nvme_log("no namespace to serve: %s", nsid ? "the one asked is not active on the controller (or not among its first 16)" :
			 "none is active on the controller");
		return DBK_HANDOVER_EXIT_GONE;
	}
	if (!s.ns->usable) {
		nvme_log("no namespace to serve (%s): the kernel's nbd takes blocks of 512 to 4096 "
			 "bytes without metadata", nsid ? "as asked" : "none usable");
		return DBK_HANDOVER_EXIT_GONE;	/* likewise */
	}
	if (!c->nr_io) {
		nvme_log("no I/O queue pair: nothing to serve on");
		return 1;
	}
	p.size = s.ns->blocks << s.ns->lba_shift;
	p.block_size = 1u << s.ns->lba_shift;
	p.max_transfer = c->max_transfer;
	/*
	 * A volatile write cache (Identify Controller VWC bit 0) needs Flush
	 * (§6.8), which covers every completed write of the namespace, from
	 * any queue: what several NBD connections need.  FUA is in every
	 * Read/Write (§6.15 CDW12 bit 30); DSM and Write Zeroes only when
	 * ONCS lists them (§5.15.2.2, Figure 247).
	 */
	p.flags = DBK_BLOCK_F_FUA;
	if (c->vwc)
		p.flags |= DBK_BLOCK_F_FLUSH;
	if (c->oncs & NVME_ONCS_DSM)
		p.flags |= DBK_BLOCK_F_TRIM;
	if (c->oncs & NVME_ONCS_WRITE_ZEROES)
		p.flags |= DBK_BLOCK_F_WRITE_ZEROES;

	s.nr_sq = c->nr_io < nr_fds ? c->nr_io : nr_fds;
	for (i = 0; i < s.nr_sq; i++) {
		s.sq[i].s = &s;
		s.sq[i].q = c->io[i];
		pthread_mutex_init(&s.sq[i].retry_lock, NULL);
		s.sq[i].retry_tail = &s.sq[i].retry;
		s.sq[i].wake_fd = -1;
	}
	for (i = 0; i < s.nr_sq; i++) {
		if (nvme_io_get_fd(c->io[i]) < 0) {
			s.sq[i].wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
			if (s.sq[i].wake_fd < 0) {
				nvme_log("eventfd: %s", strerror(errno));
				rc = 1;
				goto out;
			}
		}
	}
	r = dbk_block_new(fds, nr_fds, &p, &ops, &s, &s.b);
	if (r < 0) {
		nvme_log("dbk_block_new: %s", strerror(-r));
		rc = 1;
		goto out;
	}
	/*
	 * The disk's identity, as udev names the kernel's nvme namespaces
	 * (ID_SERIAL: model and serial number from Identify Controller, then
	 * the NSID): the same wherever the drive is plugged.  Without one
	 * (blank fields) the disk only has its manifest's names.
	 */
	if (c->mn[0] && c->sn[0]) {
		char id[DBK_BLOCK_ID_MAX + 1];

		snprintf(id, sizeof(id), "%s_%s_%u", c->mn, c->sn, s.ns->nsid);
		r = dbk_block_set_id(s.b, id);
		if (r < 0)
			nvme_log("the disk's identity %s: %s", id, strerror(-r));
	}
	/*
	 * Connection i < nr_sq owns queue pair i: it waits on its vector, or
	 * without MSI-X on its wake_fd (it polls the CQ then).
	 */
	for (i = 0; i < nr_fds; i++) {
		int fd = i >= s.nr_sq ? -1 : s.sq[i].wake_fd >= 0 ? s.sq[i].wake_fd :
			 nvme_io_get_fd(s.sq[i].q);

		r = dbk_block_set_poller(s.b, i, fd < 0 ? -1 : fd, poll_queue);
		if (r == 0 && !c->copy)
			r = dbk_block_set_buffers(s.b, i, lend, give_back);
		if (r < 0) {
			nvme_log("setting up connection %u: %s", i, strerror(-r));
			rc = 1;
			goto out;
		}
	}
	nvme_log("serving namespace %u: %" PRIu64 " bytes in blocks of %u, %u connection(s) on %u "
		 "I/O queue pair(s), max transfer %u bytes%s%s%s%s%s", s.ns->nsid, p.size, p.block_size,
		 nr_fds, s.nr_sq, p.max_transfer, c->copy ? ", data copied (--copy)" : "",
		 p.flags & DBK_BLOCK_F_FLUSH ? ", flush" : "",
		 p.flags & DBK_BLOCK_F_FUA ? ", FUA" : "", p.flags & DBK_BLOCK_F_TRIM ? ", trim" : "",
		 p.flags & DBK_BLOCK_F_WRITE_ZEROES ? ", write zeroes" : "");
	/* Without events the disk still works: a namespace that goes is then only failed I/O. */
	r = nvme_events_start(c);
	if (r < 0)
		nvme_log("asynchronous events: %s; a namespace that goes will be seen only as failed I/O",
			 strerror(-r));
	r = pthread_create(&s.events, NULL, event_thread, &s);
	if (r)
		nvme_log("starting the event thread: %s", strerror(r));
	else
		s.events_started = true;
	the_disk = s.b;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);

	r = dbk_block_run(s.b);
	if (r < 0) {
		nvme_log("the block frontend ended: %s", strerror(-r));
		rc = 1;
	} else {
		nvme_log("the block frontend ended");
	}
out:
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGUSR1, SIG_IGN);
	__atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
	if (s.events_started)
		pthread_join(s.events, NULL);
	the_disk = NULL;
	for (i = 0; i < s.nr_sq; i++) {
		struct nvme_queue *q = s.sq[i].q;

		nvme_log("queue %u: %" PRIu64 " commands, %" PRIu64 " interrupts, %" PRIu64
			 " completions reaped by polling (%" PRIu64 " switches to polling), %" PRIu64
			 " reads and writes copied", q->qid, q->nr_completed, q->nr_irqs, q->nr_polled,
			 q->nr_poll_switches, q->nr_copied);
	}
	if (s.retried || c->nr_resets)
		nvme_log("%u controller reset(s); %lu command(s) sent again after them", c->nr_resets,
			 s.retried);
	if (__atomic_load_n(&s.dead, __ATOMIC_ACQUIRE)) {
		rc = 3;
	} else if (nvme_ctrl_shutdown(c) < 0) {
		nvme_log("shutting the controller down failed");
		rc = rc ? rc : 1;
	} else {
		uint32_t csts = 0;

		/* §3.1.6: CSTS.SHST 10b, "shutdown processing complete". */
		(void)dbk_read32(c->dev, NVME_BAR, NVME_REG_CSTS, &csts);
		nvme_log("controller shut down (CC.SHN): CSTS 0x%x, CSTS.SHST=%u (shutdown processing complete)",
			 csts, (csts & NVME_CSTS_SHST_MASK) >> 2);
	}
	if (__atomic_load_n(&s.ns->gone, __ATOMIC_ACQUIRE) && rc != 3) {
		nvme_log("namespace %u is gone: exiting with status %d, not to be restarted", s.ns->nsid,
			 DBK_HANDOVER_EXIT_GONE);
		rc = DBK_HANDOVER_EXIT_GONE;
	}
	dbk_block_free(s.b);	/* closes the fds; on a failed dbk_block_new they are ours */
	for (i = 0; i < s.nr_sq; i++)
		if (s.sq[i].wake_fd >= 0)
			close(s.sq[i].wake_fd);
	if (!s.b)
		for (i = 0; i < nr_fds; i++)
			close(fds[i]);
	return rc;
}
