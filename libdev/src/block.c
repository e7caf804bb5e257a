// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The block frontend (<devbroker/block.h>): the NBD server side of
 * nbd-proto.h, one thread per connection.  Each thread does the handshake,
 * then reads requests, checks them and hands them to the driver; replies
 * are written by whoever completes a request, under the connection's write
 * lock (the count of requests in flight has its own), except that those a
 * poller completes in its connection's thread wait for it to return and
 * go together (poller_run()).
 * The peer is the kernel's nbd, but nothing it sends is trusted: a request
 * the server can answer gets an error reply (a write longer than
 * max_transfer too: its payload is skipped), one it cannot skip safely
 * (bad magic) ends the connection.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "devbroker/block.h"
#include "nbd-proto.h"

#ifndef DBK_EXPORT
#define DBK_EXPORT __attribute__((visibility("default")))
#endif

#define MAX_QUEUES		16		/* DBK_HANDOVER_BLOCK_MAX */
#define DEFAULT_TRANSFER	(128u << 10)
#define MAX_TRANSFER		(32u << 20)
/* Requests in flight per connection before the reader waits (nbd's queue depth). */
#define MAX_INFLIGHT		128
#define BUF_ALIGN		4096
/*
 * Request buffers up to POOL_BUF_MAX are kept for reuse, POOL_KEEP per
 * connection: a fresh buffer per request cost, for a 128 KiB one (which
 * glibc maps), an mmap, 32 page faults and a munmap with its TLB
 * shootdown; measured, a third of the driver's CPU on 128 KiB reads.
 */
#define POOL_BUF_MAX		(1u << 20)
#define POOL_KEEP		64

/* A poller's thread waiting for its requests in flight looks again this often. */
#define OTHERS_MS		50

/* How a read ended short of an error: the peer closed, or stop was asked. */
#define ENDED			1

#define KNOWN_FLAGS	(DBK_BLOCK_F_FLUSH | DBK_BLOCK_F_FUA | DBK_BLOCK_F_TRIM |	\
			 DBK_BLOCK_F_WRITE_ZEROES | DBK_BLOCK_F_READ_ONLY |		\
			 DBK_BLOCK_F_ROTATIONAL)

/*
 * A request's state: a driver that completes one twice (or a pointer that
 * is no request in flight) is caught, as a double free is, not followed
 * into a use after free.
 */
#define REQ_INFLIGHT	0xdb10c1a5u	/* between submit() and dbk_block_complete() */
#define REQ_FREE	0xdeadb10cu	/* in the pool, or being completed */

struct dbk_block_req {
	struct conn *c;
	_Atomic uint32_t state;	/* REQ_INFLIGHT or REQ_FREE */
	enum dbk_block_op op;
	uint8_t cookie[8];
	uint64_t offset;
	uint32_t length;
	uint16_t flags;
	void *buf;
	bool lent;		/* @buf is the driver's (dbk_block_set_buffers()) */
	uint32_t nbd_err;	/* the reply's error, NBD's (set on completion) */
	uint8_t reply[DBK_NBD_REPLY_LEN];	/* the reply's header (req_reply_iov()) */
};

struct conn {
	struct dbk_block *b;
	unsigned int queue;
	int fd;
	pthread_t thread;
	/* dbk_block_set_poller(): the driver reaps completions in this thread. */
	dbk_block_poll_fn poll;
	int poll_fd;
	/* dbk_block_set_buffers(): the driver lends reads' and writes' buffers. */
	dbk_block_buf_get_fn lend;
	dbk_block_buf_put_fn give_back;
	/*
	 * Two locks: a completer blocked writing to a slow peer (wlock) must
	 * not hold up the reader or the other completers' accounting (lock).
	 * Never both at once.
	 */
	pthread_mutex_t wlock;	/* the fd's writes, broken */
	pthread_mutex_t lock;	/* inflight, the free slots */
	pthread_cond_t cond;	/* inflight went down */
	unsigned int inflight;
	/*
	 * The requests: MAX_INFLIGHT slots, never freed while the disk lives
	 * (so that a second completion reads a REQ_FREE state, not freed
	 * memory), reused in FIFO order (so that a stale pointer is unlikely
	 * to be a live request again soon).  MAX_INFLIGHT - inflight free.
	 */
	struct dbk_block_req slot[MAX_INFLIGHT];
	uint8_t free_slot[MAX_INFLIGHT];	/* a ring of indices into slot[] */
	unsigned int free_head;
	/*
	 * Buffers of pool_size bytes for reuse, the last freed first (few
	 * pages in use, and warm), under lock.
	 */
	void *pool[POOL_KEEP];
	unsigned int npool;
	/*
	 * Replies completed in this connection's poller, in its own thread:
	 * sent together when the poller returns (send_deferred()), in as few
	 * sendmsg()s as the socket allows, so the kernel's receiver is woken
	 * once for all of them.
	 * Only the connection's thread touches them.
	 */
	struct dbk_block_req *deferred[MAX_INFLIGHT];
	unsigned int ndeferred;
	bool broken;		/* a reply failed: drop the others */
	bool no_zeroes;
	int err;		/* how the connection ended */
};

struct dbk_block {
	struct dbk_block_params p;
	struct dbk_block_ops ops;
	void *ctx;
	uint16_t tflags;	/* NBD transmission flags */
	int stop_fd;		/* eventfd: readable once stopped */
	atomic_bool stopping;	/* set before stop_fd: seen without a poll() */
	uint32_t pool_size;	/* the pooled buffers' size: requests up to it use one */
	bool ran;
	char id[DBK_BLOCK_ID_MAX + 1];	/* NBD_INFO_DESCRIPTION; "": none */
	unsigned int nr;
	struct conn conn[];
};

/* ---------------------------------------------------------------- I/O */

/* The connection whose poller this thread runs, if any: its replies wait (poller_run()). */
static _Thread_local struct conn *in_poller;

static void send_deferred(struct conn *c);

/*
 * The poller's turn: how long the thread may sleep (-1: as long as it
 * takes).  What it completes of this connection's requests is replied to
 * together when it returns: under load the poller reaps several at a
 * time, and nbd's receiver, woken per write, then reads them all in one
 * wakeup (a wakeup, and the preemption of this thread it brings, cost more
 * than the reply itself).
 */
static int poller_run(struct conn *c)
{
	int t;

	if (!c->poll)
		return -1;
	in_poller = c;
	t = c->poll(c->b->ctx, c->queue);
	in_poller = NULL;
	send_deferred(c);
	return t;
}

/*
 * Read @len bytes.  0, ENDED (stopped, or the peer closed before the first
 * byte when @boundary), -EPROTO (closed in the middle), or -errno; *@got
 * (if not NULL): how many were read.
 */
static int recv_some(struct conn *c, void *buf, size_t len, bool boundary, size_t *got)
{
	struct pollfd p[3] = {
		{ .fd = c->fd, .events = POLLIN },
		{ .fd = c->b->stop_fd, .events = POLLIN },
		{ .fd = c->poll ? c->poll_fd : -1, .events = POLLIN },	/* poll() skips -1 */
	};
	uint8_t *d = buf;
	ssize_t n;
	int t;

	/* recv() first, poll() only when nothing is there: one call, not two. */
	if (got)
		*got = 0;
	while (len) {
		if (atomic_load_explicit(&c->b->stopping, memory_order_acquire))
			return ENDED;
		n = recv(c->fd, d, len, MSG_DONTWAIT);
		if (n > 0) {
			d += n;
			len -= (size_t)n;
			if (got)
				*got += (size_t)n;
			continue;
		}
		if (n == 0)
			return boundary && d == buf ? ENDED : -EPROTO;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		/* Nothing more to read for now: what was submitted is reaped. */
		t = poller_run(c);
		if (t == 0)
			continue;	/* busy polling: straight back to recv() */
		if (poll(p, 3, t) < 0 && errno != EINTR)
			return -errno;
	}
	return 0;
}

static int recv_all(struct conn *c, void *buf, size_t len, bool boundary)
{
	return recv_some(c, buf, len, boundary, NULL);
}

/*
 * Wait until fewer than @max requests are in flight on @c.  With a poller
 * their ends are (mostly) its to find: it runs between sleeps on its fd,
 * which are capped, for completions made by other threads (seen through
 * inflight, not the fd).  Not on stop_fd: this wait outlasts a stop.
 */
static void wait_inflight_below(struct conn *c, unsigned int max)
{
	struct pollfd p = { .fd = c->poll_fd, .events = POLLIN };
	int t;

	pthread_mutex_lock(&c->lock);
	while (c->inflight >= max) {
		if (!c->poll) {
			pthread_cond_wait(&c->cond, &c->lock);
			continue;
		}
		pthread_mutex_unlock(&c->lock);
		t = poller_run(c);
		pthread_mutex_lock(&c->lock);
		if (c->inflight < max)
			break;
		pthread_mutex_unlock(&c->lock);
		if (t != 0)
			(void)poll(&p, 1, t < 0 || t > OTHERS_MS ? OTHERS_MS : t);
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
}

/*
 * Write @n pieces (modified).  Once stopped, only while the socket takes
 * them at once: a peer that stopped reading cannot hold up
 * dbk_block_stop().
 */
static int send_iov(struct conn *c, struct iovec *iov, int n)
{
	struct pollfd p[2] = {
		{ .fd = c->fd, .events = POLLOUT },
		{ .fd = c->b->stop_fd, .events = POLLIN },
	};
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)n };
	ssize_t done;

	/* sendmsg() first, poll() only when the socket is full. */
	while (m.msg_iovlen) {
		done = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (done < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				return -errno;
			if (poll(p, 2, -1) < 0 && errno != EINTR)
				return -errno;
			if (!p[0].revents && p[1].revents)
				return -ESHUTDOWN;
			continue;
		}
		while (m.msg_iovlen && (size_t)done >= m.msg_iov->iov_len) {
			done -= (ssize_t)m.msg_iov->iov_len;
			m.msg_iov++;
			m.msg_iovlen--;
		}
		if (m.msg_iovlen) {
			m.msg_iov->iov_base = (uint8_t *)m.msg_iov->iov_base + done;
			m.msg_iov->iov_len -= (size_t)done;
		}
	}
	return 0;
}

static int send_all(struct conn *c, const void *buf, size_t len)
{
	struct iovec v = { .iov_base = (void *)buf, .iov_len = len };

	return send_iov(c, &v, 1);
}

/* Skip @len bytes of payload. */
static int discard(struct conn *c, uint32_t len)
{
	uint8_t junk[4096];
	uint32_t n;
	int r;

	for (; len; len -= n) {
		n = len < sizeof(junk) ? len : sizeof(junk);
		r = recv_all(c, junk, n, false);
		if (r)
			return r == ENDED ? -ESHUTDOWN : r;
	}
	return 0;
}

/* ---------------------------------------------------------------- handshake */

static int send_rep(struct conn *c, uint32_t opt, uint32_t type, const void *data,
		    uint32_t len)
{
	uint8_t h[DBK_NBD_REP_HDR_LEN];
	int r;

	dbk_nbd_put64(h, NBD_REP_MAGIC);
	dbk_nbd_put32(h + 8, opt);
	dbk_nbd_put32(h + 12, type);
	dbk_nbd_put32(h + 16, len);
	r = send_all(c, h, sizeof(h));
	return r || !len ? r : send_all(c, data, len);
}

/*
 * NBD_OPT_INFO and NBD_OPT_GO: any name is the one export.  0 (the export
 * was sent, and acknowledged), 1 (refused with an error reply) or -errno.
 */
static int send_info(struct conn *c, uint32_t opt, const uint8_t *d, uint32_t len)
{
	const struct dbk_block *b = c->b;
	uint8_t ex[12], bs[14], desc[2 + DBK_BLOCK_ID_MAX];
	uint32_t name, i;
	bool want_desc = false;
	int r;

	if (len < 6 || (name = dbk_nbd_get32(d)) > len - 6 ||
	    len != 6 + name + 2u * dbk_nbd_get16(d + 4 + name)) {
		r = send_rep(c, opt, NBD_REP_ERR_INVALID, NULL, 0);
		return r ? r : 1;
	}
	for (i = 6 + name; i < len; i += 2)
		want_desc |= dbk_nbd_get16(d + i) == NBD_INFO_DESCRIPTION;
	dbk_nbd_put16(ex, NBD_INFO_EXPORT);
	dbk_nbd_put64(ex + 2, b->p.size);
	dbk_nbd_put16(ex + 10, b->tflags);
	/* Block sizes are sent whether asked or not, as proto.md allows. */
	dbk_nbd_put16(bs, NBD_INFO_BLOCK_SIZE);
	dbk_nbd_put32(bs + 2, b->p.block_size);
	dbk_nbd_put32(bs + 6, b->p.block_size > 4096 ? b->p.block_size : 4096);
	dbk_nbd_put32(bs + 10, b->p.max_transfer);
	r = send_rep(c, opt, NBD_REP_INFO, ex, sizeof(ex));
	if (!r)
		r = send_rep(c, opt, NBD_REP_INFO, bs, sizeof(bs));
	/* The identity only when asked: proto.md lets a client not know it. */
	if (!r && want_desc && b->id[0]) {
		dbk_nbd_put16(desc, NBD_INFO_DESCRIPTION);
		memcpy(desc + 2, b->id, strlen(b->id));
		r = send_rep(c, opt, NBD_REP_INFO, desc, 2 + (uint32_t)strlen(b->id));
	}
	return r ? r : send_rep(c, opt, NBD_REP_ACK, NULL, 0);
}

/* Fixed newstyle: 0 (transmission follows), ENDED or a negative errno. */
static int handshake(struct conn *c)
{
	uint8_t buf[DBK_NBD_OPT_MAX], hdr[DBK_NBD_OPT_HDR_LEN + 124];
	uint32_t flags, opt, len;
	int r;

	dbk_nbd_put64(hdr, NBD_MAGIC);
	dbk_nbd_put64(hdr + 8, NBD_IHAVEOPT);
	dbk_nbd_put16(hdr + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	r = send_all(c, hdr, 18);
	if (!r)
		r = recv_all(c, buf, 4, true);
	if (r)
		return r;
	flags = dbk_nbd_get32(buf);
	if (flags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES))
		return -EPROTO;		/* proto.md: the server MUST drop it */
	c->no_zeroes = flags & NBD_FLAG_C_NO_ZEROES;
	for (;;) {
		r = recv_all(c, hdr, DBK_NBD_OPT_HDR_LEN, true);
		if (r)
			return r;
		if (dbk_nbd_get64(hdr) != NBD_IHAVEOPT)
			return -EPROTO;
		opt = dbk_nbd_get32(hdr + 8);
		len = dbk_nbd_get32(hdr + 12);
		if (len > DBK_NBD_OPT_MAX)
			return -EPROTO;
		r = recv_all(c, buf, len, false);
		if (r)
			return r;
		switch (opt) {
		case NBD_OPT_EXPORT_NAME:
			dbk_nbd_put64(hdr, c->b->p.size);
			dbk_nbd_put16(hdr + 8, c->b->tflags);
			memset(hdr + 10, 0, 124);
			return send_all(c, hdr, c->no_zeroes ? 10 : 134);
		case NBD_OPT_ABORT:
			r = send_rep(c, opt, NBD_REP_ACK, NULL, 0);
			return r ? r : ENDED;
		case NBD_OPT_INFO:
		case NBD_OPT_GO:
			r = send_info(c, opt, buf, len);
			if (r == 0 && opt == NBD_OPT_GO)
				return 0;
			r = r < 0 ? r : 0;
			break;
		default:	/* structured replies, TLS, lists...: only the basics */
			r = send_rep(c, opt, NBD_REP_ERR_UNSUP, NULL, 0);
			break;
		}
		if (r)
			return r;
	}
}

/* ---------------------------------------------------------------- transmission */

/* Replies' pieces, under the write lock; a failure breaks the stream. */
static void send_locked_iov(struct conn *c, struct iovec *v, int n)
{
	pthread_mutex_lock(&c->wlock);
	if (!c->broken && send_iov(c, v, n)) {
		/* The stream is lost: wake the reader, drop later replies. */
		c->broken = true;
		shutdown(c->fd, SHUT_RDWR);
	}
	pthread_mutex_unlock(&c->wlock);
}

/* A simple reply's header: magic, @err (NBD's), the request's cookie. */
static void reply_header(uint8_t h[DBK_NBD_REPLY_LEN], uint32_t err, const uint8_t cookie[8])
{
	dbk_nbd_put32(h, NBD_REPLY_MAGIC);
	dbk_nbd_put32(h + 4, err);
	memcpy(h + 8, cookie, 8);
}

/* A reply without data (a request refused before submit()), under the write lock. */
static void reply(struct conn *c, const uint8_t cookie[8], uint32_t err)
{
	uint8_t h[DBK_NBD_REPLY_LEN];
	struct iovec v = { .iov_base = h, .iov_len = sizeof(h) };

	reply_header(h, err, cookie);
	send_locked_iov(c, &v, 1);
}

/* The NBD error of a driver's errno (the same numbers as Linux's). */
static uint32_t nbd_error(int err)
{
	switch (err) {
	case 0:
		return 0;
	case -EROFS:
		return EPERM;
	case -EPERM: case -EIO: case -ENOMEM: case -EINVAL: case -ENOSPC:
	case -EOVERFLOW: case -EOPNOTSUPP: case -ESHUTDOWN:
		return (uint32_t)-err;
	default:
		return EIO;
	}
}

/* 0, or the NBD error with which a well-framed request is refused. */
static uint32_t check(const struct dbk_block *b, uint16_t type, uint16_t flags,
		      uint64_t off, uint32_t len, enum dbk_block_op *op)
{
	uint32_t need = 0;

	switch (type) {
	case NBD_CMD_READ:	*op = DBK_BLOCK_READ; break;
	case NBD_CMD_WRITE:	*op = DBK_BLOCK_WRITE; break;
	case NBD_CMD_FLUSH:	*op = DBK_BLOCK_FLUSH; need = DBK_BLOCK_F_FLUSH; break;
	case NBD_CMD_TRIM:	*op = DBK_BLOCK_TRIM; need = DBK_BLOCK_F_TRIM; break;
	case DBK_NBD_CMD_WRITE_ZEROES:
		*op = DBK_BLOCK_WRITE_ZEROES;
		need = DBK_BLOCK_F_WRITE_ZEROES;
		break;
	default:
		return EINVAL;
	}
	if ((need && !(b->p.flags & need)) ||
	    (flags & ~(DBK_NBD_CMD_FLAG_FUA | DBK_NBD_CMD_FLAG_NO_HOLE)))
		return EINVAL;
	if (*op == DBK_BLOCK_FLUSH)
		return 0;
	if (*op != DBK_BLOCK_READ && (b->p.flags & DBK_BLOCK_F_READ_ONLY))
		return EPERM;
	if ((*op == DBK_BLOCK_READ && len > b->p.max_transfer) ||
	    off % b->p.block_size || len % b->p.block_size ||
	    off > b->p.size || len > b->p.size - off)
		return EINVAL;
	return 0;
}

/*
 * A buffer for @len bytes: the driver's when it lends one (*@lent), else a
 * pooled one when it fits (pool_size bytes, then).
 */
static void *buf_get(struct conn *c, uint32_t len, bool *lent)
{
	void *buf = NULL;
	size_t size = len;

	*lent = false;
	if (c->lend && (buf = c->lend(c->b->ctx, c->queue, len))) {
		*lent = true;
		return buf;
	}
	if (len <= c->b->pool_size) {
		pthread_mutex_lock(&c->lock);
		if (c->npool)
			buf = c->pool[--c->npool];
		pthread_mutex_unlock(&c->lock);
		if (buf)
			return buf;
		size = c->b->pool_size;
	}
	return posix_memalign(&buf, BUF_ALIGN, size) ? NULL : buf;
}

/* Under c->lock: keep buf_get(@len)'s @buf; NULL if kept, else @buf to free. */
static void *buf_keep_locked(struct conn *c, void *buf, uint32_t len)
{
	if (buf && len <= c->b->pool_size && c->npool < POOL_KEEP) {
		c->pool[c->npool++] = buf;
		return NULL;
	}
	return buf;
}

static void buf_put(struct conn *c, void *buf, uint32_t len, bool lent)
{
	if (lent) {
		c->give_back(c->b->ctx, c->queue, buf);
		return;
	}
	pthread_mutex_lock(&c->lock);
	buf = buf_keep_locked(c, buf, len);
	pthread_mutex_unlock(&c->lock);
	free(buf);
}

/* One request whose header was read: 0, or how the connection ends. */
static int take(struct conn *c, const uint8_t *h)
{
	struct dbk_block *b = c->b;
	struct dbk_block_req *req;
	void *buf = NULL;
	uint16_t flags = dbk_nbd_get16(h + 4), type = dbk_nbd_get16(h + 6);
	uint64_t off = dbk_nbd_get64(h + 16);
	uint32_t len = dbk_nbd_get32(h + 24), err;
	enum dbk_block_op op = DBK_BLOCK_READ;
	bool data, lent = false;
	int r;

	if (type == NBD_CMD_WRITE && len > b->p.max_transfer) {
		/*
		 * A payload we will not buffer.  6.1's nbd cannot be told
		 * max_transfer (devbrokerd sets max_sectors_kb after connecting,
		 * and an admin may raise it): fail this write, keep the disk.
		 */
		r = discard(c, len);
		if (r)
			return r;
		err = check(b, type, flags, off, len, &op);
		reply(c, h + 8, err ? err : EINVAL);
		return 0;
	}
	data = type == NBD_CMD_WRITE || (type == NBD_CMD_READ && len <= b->p.max_transfer);
	if (data && len && !(buf = buf_get(c, len, &lent))) {
		if (type == NBD_CMD_WRITE && (r = discard(c, len)))
			return r;
		reply(c, h + 8, ENOMEM);
		return 0;
	}
	/*
	 * A read's buffer starts zeroed: a driver that completes it without
	 * filling it (a bug) must not send the kernel what an earlier request
	 * left in this memory (a pooled buffer holds one).  Cheap: a warm
	 * 128 KiB memset is ~1 us (sending the reply ~15-20 us).  Not the
	 * driver's own: it fills a read before completing it with 0, and a
	 * device is about to (block.h).
	 */
	if (type == NBD_CMD_READ && buf && !lent)
		memset(buf, 0, len);
	if (type == NBD_CMD_WRITE) {
		size_t got = 0;

		r = recv_some(c, buf, len, false, &got);
		if (r)
			buf_put(c, buf, len, lent);
		if (r == -EFAULT && lent) {
			/*
			 * The driver's buffer cannot be written: a revoked DMA
			 * mapping (the kernel's copy gets EFAULT, where a store
			 * of ours would have raised SIGBUS for
			 * dbk_catch_revocation() to repair).  The rest of the
			 * payload is still in the socket: skip it, fail the write.
			 */
			r = discard(c, (uint32_t)(len - got));
			if (r == 0)
				reply(c, h + 8, EIO);
			return r;
		}
		if (r)
			return r;
	}
	err = check(b, type, flags, off, len, &op);
	if (err || (len == 0 && op != DBK_BLOCK_FLUSH)) {
		buf_put(c, buf, len, lent);
		reply(c, h + 8, err);
		return 0;
	}
	/* A free slot: serve() waited for inflight < MAX_INFLIGHT. */
	pthread_mutex_lock(&c->lock);
	req = &c->slot[c->free_slot[c->free_head]];
	c->free_head = (c->free_head + 1) % MAX_INFLIGHT;
	c->inflight++;
	pthread_mutex_unlock(&c->lock);
	req->buf = buf;
	req->lent = lent;
	req->op = op;
	memcpy(req->cookie, h + 8, 8);
	req->offset = op == DBK_BLOCK_FLUSH ? 0 : off;
	req->length = op == DBK_BLOCK_FLUSH ? 0 : len;
	req->flags = flags;
	if (!(b->p.flags & DBK_BLOCK_F_FUA))
		req->flags &= (uint16_t)~DBK_NBD_CMD_FLAG_FUA;
	atomic_store(&req->state, REQ_INFLIGHT);
	b->ops.submit(b->ctx, c->queue, req);
	return 0;
}

/* Requests until NBD_CMD_DISC, the end or an error. */
static int serve(struct conn *c)
{
	uint8_t h[DBK_NBD_REQUEST_LEN];
	int r;

	for (;;) {
		wait_inflight_below(c, MAX_INFLIGHT);
		r = recv_all(c, h, sizeof(h), true);
		if (r)
			return r;
		if (dbk_nbd_get32(h) != NBD_REQUEST_MAGIC)
			return -EPROTO;
		if (dbk_nbd_get16(h + 6) == NBD_CMD_DISC)
			return ENDED;
		r = take(c, h);
		if (r)
			return r;
	}
}

static void *conn_main(void *arg)
{
	struct conn *c = arg;
	int r;

	r = handshake(c);
	if (r == 0)
		r = serve(c);
	wait_inflight_below(c, 1);
	/* The kernel sees the connection dead at once. */
	shutdown(c->fd, SHUT_RDWR);
	/* Stopped (-ESHUTDOWN), or the peer went away: a clean end. */
	c->err = r == ENDED || r == -ESHUTDOWN || r == -EPIPE || r == -ECONNRESET ? 0 : r;
	return NULL;
}

/* ---------------------------------------------------------------- API */

DBK_EXPORT enum dbk_block_op dbk_block_req_op(const struct dbk_block_req *req)
{
	return req->op;
}

DBK_EXPORT uint64_t dbk_block_req_offset(const struct dbk_block_req *req)
{
	return req->offset;
}

DBK_EXPORT uint32_t dbk_block_req_length(const struct dbk_block_req *req)
{
	return req->length;
}

DBK_EXPORT void *dbk_block_req_buf(struct dbk_block_req *req)
{
	return req->buf;
}

DBK_EXPORT bool dbk_block_req_fua(const struct dbk_block_req *req)
{
	return req->flags & DBK_NBD_CMD_FLAG_FUA;
}

DBK_EXPORT bool dbk_block_req_no_hole(const struct dbk_block_req *req)
{
	return req->op == DBK_BLOCK_WRITE_ZEROES && (req->flags & DBK_NBD_CMD_FLAG_NO_HOLE);
}

DBK_EXPORT unsigned int dbk_block_req_queue(const struct dbk_block_req *req)
{
	return req->c->queue;
}

/* A driver's misuse of a request: a programming error, like a double free. */
static void __attribute__((noreturn)) misuse(const struct dbk_block_req *req, const char *what)
{
	fprintf(stderr, "libdevbroker: dbk_block_complete(%p): %s; "
		"each request is completed exactly once (a driver bug): aborting\n",
		(const void *)req, what);
	abort();
}

/*
 * @req's reply is sent (or dropped): its buffer and slot go back.  A lent
 * buffer goes back before the request stops counting: once none is in
 * flight, the queue's thread may end, and the driver may free what it
 * lends from.
 */
static void req_release(struct conn *c, struct dbk_block_req *req)
{
	void *buf;
	bool lent;

	lent = req->lent;
	if (lent)
		c->give_back(c->b->ctx, c->queue, req->buf);
	/* The last touch of @c: its thread may end (and the disk be freed) after. */
	pthread_mutex_lock(&c->lock);
	if (c->inflight == 0)
		misuse(req, "no request in flight on its queue");
	buf = lent ? NULL : buf_keep_locked(c, req->buf, req->length);
	req->buf = NULL;
	c->free_slot[(c->free_head + MAX_INFLIGHT - c->inflight) % MAX_INFLIGHT] =
		(uint8_t)(req - c->slot);
	c->inflight--;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	free(buf);
}

/*
 * @req's reply into @v (2 entries at most): its header, and a successful
 * read's data after it (one sendmsg() for both).  How many entries.
 */
static int req_reply_iov(struct dbk_block_req *req, struct iovec *v)
{
	reply_header(req->reply, req->nbd_err, req->cookie);
	v[0] = (struct iovec){ .iov_base = req->reply, .iov_len = sizeof(req->reply) };
	if (req->op != DBK_BLOCK_READ || req->nbd_err || !req->length)
		return 1;
	v[1] = (struct iovec){ .iov_base = req->buf, .iov_len = req->length };
	return 2;
}

/*
 * The replies the poller completed (poller_run()), in as few sendmsg()s
 * as the socket allows.  Then their buffers and slots go back, as
 * dbk_block_complete()'s own.
 */
static void send_deferred(struct conn *c)
{
	struct iovec v[2 * MAX_INFLIGHT];
	unsigned int i;
	int n = 0;

	if (!c->ndeferred)
		return;
	for (i = 0; i < c->ndeferred; i++)
		n += req_reply_iov(c->deferred[i], v + n);
	send_locked_iov(c, v, n);
	for (i = 0; i < c->ndeferred; i++)
		req_release(c, c->deferred[i]);
	c->ndeferred = 0;
}

DBK_EXPORT void dbk_block_complete(struct dbk_block_req *req, int err)
{
	struct conn *c;

	if (!req)
		return;
	/* Exactly one completion wins, even two racing on other threads. */
	if (atomic_exchange(&req->state, REQ_FREE) != REQ_INFLIGHT)
		misuse(req, "not a request in flight (completed twice?)");
	c = req->c;
	req->nbd_err = nbd_error(err);
	if (in_poller == c && c->ndeferred < MAX_INFLIGHT) {
		c->deferred[c->ndeferred++] = req;
	} else {
		struct iovec v[2];

		send_locked_iov(c, v, req_reply_iov(req, v));
		req_release(c, req);
	}
}

static int check_params(const struct dbk_block_params *p, uint32_t *max_transfer)
{
	uint32_t bs = p->block_size, mt = p->max_transfer ? p->max_transfer : DEFAULT_TRANSFER;

	if (!dbk_nbd_is_pow2(bs) || bs < 512 || bs > 4096 ||
	    p->size == 0 || p->size > INT64_MAX || p->size % bs ||
	    mt < bs || mt % bs || mt > MAX_TRANSFER || (p->flags & ~KNOWN_FLAGS) ||
	    /* What devbrokerd can write to max_sectors_kb (nbd-proto.h). */
	    mt < DBK_NBD_XFER_MIN || mt % DBK_NBD_XFER_ALIGN)
		return -EINVAL;
	*max_transfer = mt;
	return 0;
}

DBK_EXPORT int dbk_block_new(const int *fds, unsigned int nr,
			     const struct dbk_block_params *p,
			     const struct dbk_block_ops *ops, void *ctx,
			     struct dbk_block **out)
{
	struct dbk_block *b;
	uint32_t mt;
	struct stat st;
	unsigned int i, j;

	if (!fds || nr == 0 || nr > MAX_QUEUES || !p || !ops || !ops->submit || !out ||
	    check_params(p, &mt))
		return -EINVAL;
	for (i = 0; i < nr; i++) {
		if (fds[i] < 0 || fstat(fds[i], &st) < 0)
			return -EBADF;
		if (!S_ISSOCK(st.st_mode))
			return -ENOTSOCK;
		for (j = 0; j < i; j++)
			if (fds[j] == fds[i])
				return -EINVAL;
	}
	b = calloc(1, sizeof(*b) + nr * sizeof(b->conn[0]));
	if (!b)
		return -ENOMEM;
	b->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (b->stop_fd < 0) {
		free(b);
		return -ENOMEM;
	}
	b->p = *p;
	b->p.max_transfer = mt;
	b->pool_size = mt < POOL_BUF_MAX ? mt : POOL_BUF_MAX;
	b->ops = *ops;
	b->ctx = ctx;
	b->nr = nr;
	b->tflags = NBD_FLAG_HAS_FLAGS;
	if (p->flags & DBK_BLOCK_F_FLUSH)
		b->tflags |= NBD_FLAG_SEND_FLUSH;
	if (p->flags & DBK_BLOCK_F_FUA)
		b->tflags |= NBD_FLAG_SEND_FUA;
	if (p->flags & DBK_BLOCK_F_TRIM)
		b->tflags |= NBD_FLAG_SEND_TRIM;
	if (p->flags & DBK_BLOCK_F_WRITE_ZEROES)
		b->tflags |= NBD_FLAG_SEND_WRITE_ZEROES;
	if (p->flags & DBK_BLOCK_F_READ_ONLY)
		b->tflags |= NBD_FLAG_READ_ONLY;
	if (p->flags & DBK_BLOCK_F_ROTATIONAL)
		b->tflags |= NBD_FLAG_ROTATIONAL;
	if (nr > 1)
		b->tflags |= NBD_FLAG_CAN_MULTI_CONN;
	for (i = 0; i < nr; i++) {
		b->conn[i].b = b;
		b->conn[i].queue = i;
		b->conn[i].fd = fds[i];
		b->conn[i].poll_fd = -1;
		pthread_mutex_init(&b->conn[i].wlock, NULL);
		pthread_mutex_init(&b->conn[i].lock, NULL);
		pthread_cond_init(&b->conn[i].cond, NULL);
		for (j = 0; j < MAX_INFLIGHT; j++) {
			b->conn[i].slot[j].c = &b->conn[i];
			atomic_init(&b->conn[i].slot[j].state, REQ_FREE);
			b->conn[i].free_slot[j] = (uint8_t)j;
		}
	}
	*out = b;
	return 0;
}

DBK_EXPORT int dbk_block_set_poller(struct dbk_block *b, unsigned int queue, int fd,
				    dbk_block_poll_fn poll)
{
	if (!b || !poll || queue >= b->nr || b->ran)
		return -EINVAL;
	b->conn[queue].poll = poll;
	b->conn[queue].poll_fd = fd < 0 ? -1 : fd;
	return 0;
}

DBK_EXPORT int dbk_block_set_buffers(struct dbk_block *b, unsigned int queue,
				     dbk_block_buf_get_fn get, dbk_block_buf_put_fn put)
{
	if (!b || queue >= b->nr || !get != !put || b->ran)
		return -EINVAL;
	b->conn[queue].lend = get;
	b->conn[queue].give_back = put;
	return 0;
}

DBK_EXPORT int dbk_block_set_id(struct dbk_block *b, const char *id)
{
	size_t n = id ? strnlen(id, DBK_BLOCK_ID_MAX + 1) : 0;

	if (!b || b->ran || (id && !dbk_nbd_id_ok(id, n)))
		return -EINVAL;
	memcpy(b->id, id ? id : "", n);
	b->id[n] = 0;
	return 0;
}

DBK_EXPORT int dbk_block_run(struct dbk_block *b)
{
	sigset_t all, old;
	unsigned int i, started;
	int r = 0;

	if (!b)
		return -EINVAL;
	if (b->ran)
		return -EALREADY;
	b->ran = true;
	/*
	 * One queue is served in the caller's thread: a driver may have to
	 * stay single-threaded (a USB driver under devbroker's request policy,
	 * which refuses usbfs requests from a process with several threads).
	 */
	if (b->nr == 1) {
		conn_main(&b->conn[0]);
		return b->conn[0].err;
	}
	/*
	 * Signals stay with the driver's own threads, but for the faults the
	 * connection threads cause themselves: a submit() that touches a
	 * revoked BAR or DMA mapping raises SIGBUS, which the kernel forces
	 * through a blocked mask with its default action (the driver dies of
	 * SIGBUS) instead of running dbk_catch_revocation()'s handler (the
	 * accessors say -ENODEV, the driver fails its requests with EIO).
	 */
	sigfillset(&all);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGFPE);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (started = 0; started < b->nr; started++) {
		r = -pthread_create(&b->conn[started].thread, NULL, conn_main,
				    &b->conn[started]);
		if (r) {
			dbk_block_stop(b);
			break;
		}
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	for (i = 0; i < started; i++) {
		pthread_join(b->conn[i].thread, NULL);
		if (!r)
			r = b->conn[i].err;
	}
	return r;
}

DBK_EXPORT int dbk_block_stop(struct dbk_block *b)
{
	uint64_t one = 1;

	if (!b)
		return -EINVAL;
	/* Async-signal-safe: a lock-free atomic store, then an eventfd write. */
	atomic_store_explicit(&b->stopping, true, memory_order_release);
	return write(b->stop_fd, &one, sizeof(one)) == sizeof(one) || errno == EAGAIN ?
	       0 : -errno;
}

DBK_EXPORT void dbk_block_free(struct dbk_block *b)
{
	unsigned int i;

	if (!b)
		return;
	for (i = 0; i < b->nr; i++) {
		close(b->conn[i].fd);
		while (b->conn[i].npool)
			free(b->conn[i].pool[--b->conn[i].npool]);
		pthread_mutex_destroy(&b->conn[i].wlock);
		pthread_mutex_destroy(&b->conn[i].lock);
		pthread_cond_destroy(&b->conn[i].cond);
	}
	close(b->stop_fd);
	free(b);
}
