/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The block frontend's two ends of NBD over socketpairs, on the host:
 *  - the client handshake (nbd-client.c) against the server (block.c):
 *    size, flags and block sizes round trip, one and two connections;
 *  - the client against canned malicious servers: -EPROTO (or the error
 *    reply's errno, or -ETIMEDOUT), never a hang;
 *  - the server against hand-written clients, in the handshake and in
 *    transmission: error replies, or the connection closed, never a crash;
 *  - data round trips, completed from another thread with several
 *    requests in flight and out of order; dbk_block_stop() waits for them;
 *  - a poller: completions reaped in the queue's own thread, on its fd or
 *    its timeout, and through a stop.
 * The kernel's nbd on the other end is tested in the VM.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <time.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "devbroker/block.h"
#include "nbd-proto.h"

#define DISK_SIZE	(1u << 20)
#define TIMEOUT_MS	5000

/*
 * poll(), overridden for the whole test program (the library is linked
 * statically): a long poll can be made to "time out" at once, as a real
 * one would after that long, without waiting for it.  Everything else is
 * ppoll().
 */
static atomic_int fake_expire;		/* long polls left to time out at once */
static atomic_int longest_poll;		/* the longest timeout asked for, in ms */

int poll(struct pollfd *fds, nfds_t n, int timeout)
{
	struct timespec ts = { timeout / 1000, (timeout % 1000) * 1000000L };

	if (timeout > 100000) {
		if (timeout > atomic_load(&longest_poll))
			atomic_store(&longest_poll, timeout);
		if (atomic_load(&fake_expire) > 0) {
			atomic_fetch_sub(&fake_expire, 1);
			return 0;
		}
	}
	return ppoll(fds, n, timeout < 0 ? NULL : &ts, NULL);
}

/* ---- a memory disk, completing at once or from a worker thread ---- */

struct disk {
	uint8_t mem[DISK_SIZE];
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct dbk_block_req *q[64];
	unsigned int n;
	unsigned int batch;		/* 0: complete inside submit */
	unsigned int submits;
	unsigned int queues;		/* bit q: a request came on queue q */
	bool fua_seen, no_hole_seen, quit;
	bool lazy;			/* reads complete without filling the buffer */
	unsigned int nr_queues;
	pthread_t worker;
};

static void do_io(struct disk *d, struct dbk_block_req *req)
{
	uint64_t off = dbk_block_req_offset(req);
	uint32_t len = dbk_block_req_length(req);

	assert_true(off + len <= DISK_SIZE);
	switch (dbk_block_req_op(req)) {
	case DBK_BLOCK_READ:
		if (!d->lazy)
			memcpy(dbk_block_req_buf(req), d->mem + off, len);
		break;
	case DBK_BLOCK_WRITE:
		memcpy(d->mem + off, dbk_block_req_buf(req), len);
		break;
	case DBK_BLOCK_TRIM:
	case DBK_BLOCK_WRITE_ZEROES:
		assert_null(dbk_block_req_buf(req));
		memset(d->mem + off, 0, len);
		break;
	case DBK_BLOCK_FLUSH:
		assert_int_equal(off, 0);
		assert_int_equal(len, 0);
		break;
	}
	/* An odd offset is the test's way of asking for an error. */
	dbk_block_complete(req, off == 4096 * 3 && dbk_block_req_op(req) == DBK_BLOCK_READ ?
			   -EIO : 0);
}

static void submit(void *ctx, unsigned int queue, struct dbk_block_req *req)
{
	struct disk *d = ctx;
	sigset_t cur;

	/*
	 * The connection threads leave signals to the driver's own threads,
	 * but for the faults: a blocked SIGBUS on a revoked mapping kills the
	 * process instead of reaching dbk_catch_revocation()'s handler.  (One
	 * queue is served in dbk_block_run()'s caller, whose mask it keeps.)
	 */
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	assert_false(sigismember(&cur, SIGBUS));
	assert_false(sigismember(&cur, SIGSEGV));
	if (d->nr_queues > 1)
		assert_true(sigismember(&cur, SIGTERM));
	pthread_mutex_lock(&d->lock);
	d->submits++;
	d->queues |= 1u << queue;
	assert_int_equal(dbk_block_req_queue(req), queue);
	if (dbk_block_req_fua(req))
		d->fua_seen = true;
	if (dbk_block_req_no_hole(req))
		d->no_hole_seen = true;
	if (d->batch) {
		assert_true(d->n < 64);
		d->q[d->n++] = req;
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
		return;
	}
	pthread_mutex_unlock(&d->lock);
	do_io(d, req);
}

/*
 * Completes each batch in reverse order, once it is all in flight (or
 * what it holds, once told to quit).  The batch is taken out first: a
 * request that arrives while it completes (the client may send the next
 * batch on seeing the last reply) waits for the next.
 */
static void *worker(void *arg)
{
	struct disk *d = arg;
	struct dbk_block_req *held[64];
	unsigned int m;

	pthread_mutex_lock(&d->lock);
	for (;;) {
		while (!d->quit && d->n < d->batch)
			pthread_cond_wait(&d->cond, &d->lock);
		if (d->n == 0)		/* told to quit, nothing held */
			break;
		m = d->n;
		memcpy(held, d->q, m * sizeof(held[0]));
		d->n = 0;
		pthread_mutex_unlock(&d->lock);
		while (m)
			do_io(d, held[--m]);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

static struct disk *disk_new(unsigned int batch)
{
	struct disk *d = calloc(1, sizeof(*d));

	assert_non_null(d);
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->cond, NULL);
	d->batch = batch;
	if (batch)
		assert_int_equal(pthread_create(&d->worker, NULL, worker, d), 0);
	return d;
}

static void disk_free(struct disk *d)
{
	if (d->batch) {
		pthread_mutex_lock(&d->lock);
		d->quit = true;
		pthread_cond_broadcast(&d->cond);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->worker, NULL);
	}
	free(d);
}

/* ---- the server, run in a thread ---- */

struct server {
	struct dbk_block *b;
	struct disk *d;
	pthread_t thread;
	int result;
	int cfd[2];		/* the client ends */
	unsigned int nr;
};

static void *run_thread(void *arg)
{
	struct server *s = arg;

	s->result = dbk_block_run(s->b);
	return NULL;
}

static const struct dbk_block_ops ops = { .submit = submit };

struct run {
	struct dbk_block *b;
	int result;
};

static void *run_poller(void *arg)
{
	struct run *r = arg;

	r->result = dbk_block_run(r->b);
	return NULL;
}

/* The identity server_start() gives its disk (dbk_block_set_id()), or NULL. */
static const char *server_id;

static void server_start(struct server *s, unsigned int nr, const struct dbk_block_params *p,
			 unsigned int batch)
{
	int sv[2], sfd[2];
	unsigned int i;

	memset(s, 0, sizeof(*s));
	s->nr = nr;
	s->d = disk_new(batch);
	s->d->nr_queues = nr;
	for (i = 0; i < nr; i++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		s->cfd[i] = sv[0];
		sfd[i] = sv[1];
	}
	assert_int_equal(dbk_block_new(sfd, nr, p, &ops, s->d, &s->b), 0);
	if (server_id)
		assert_int_equal(dbk_block_set_id(s->b, server_id), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, run_thread, s), 0);
}

/* Close the client ends, wait for the server; its result. */
static int server_end(struct server *s)
{
	unsigned int i;

	for (i = 0; i < s->nr; i++)
		close(s->cfd[i]);
	pthread_join(s->thread, NULL);
	dbk_block_free(s->b);
	disk_free(s->d);
	return s->result;
}

static const struct dbk_block_params params = {
	.size = DISK_SIZE, .block_size = 512, .max_transfer = 64 << 10,
	.flags = DBK_BLOCK_F_FLUSH | DBK_BLOCK_F_FUA | DBK_BLOCK_F_TRIM |
		 DBK_BLOCK_F_WRITE_ZEROES,
};

/* ---- a hand-written client ---- */

static void xwrite(int fd, const void *buf, size_t len)
{
	assert_int_equal(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Read @len bytes within TIMEOUT_MS; false at end of stream. */
static bool xread(int fd, void *buf, size_t len)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	uint8_t *d = buf;
	ssize_t n;

	while (len) {
		assert_int_equal(poll(&p, 1, TIMEOUT_MS), 1);
		n = read(fd, d, len);
		if (n <= 0)
			return false;
		d += n;
		len -= (size_t)n;
	}
	return true;
}

/* The connection was closed by the server (nothing more to read). */
static void assert_closed(int fd)
{
	uint8_t b;

	assert_false(xread(fd, &b, 1));
}

static void send_req(int fd, uint16_t flags, uint16_t type, uint64_t cookie,
		     uint64_t off, uint32_t len)
{
	uint8_t h[DBK_NBD_REQUEST_LEN];

	dbk_nbd_put32(h, NBD_REQUEST_MAGIC);
	dbk_nbd_put16(h + 4, flags);
	dbk_nbd_put16(h + 6, type);
	dbk_nbd_put64(h + 8, cookie);
	dbk_nbd_put64(h + 16, off);
	dbk_nbd_put32(h + 24, len);
	xwrite(fd, h, sizeof(h));
}

/* A simple reply: its error; its cookie in *cookie. */
static uint32_t recv_reply(int fd, uint64_t *cookie)
{
	uint8_t h[DBK_NBD_REPLY_LEN];

	assert_true(xread(fd, h, sizeof(h)));
	assert_int_equal(dbk_nbd_get32(h), NBD_REPLY_MAGIC);
	*cookie = dbk_nbd_get64(h + 8);
	return dbk_nbd_get32(h + 4);
}

/* One request, its reply (which must carry @cookie): the error. */
static uint32_t request(int fd, uint16_t flags, uint16_t type, uint64_t off, uint32_t len,
			const void *data, void *out)
{
	static uint64_t next = 100;
	uint64_t cookie = next++, got;
	uint32_t err;

	send_req(fd, flags, type, cookie, off, len);
	if (type == NBD_CMD_WRITE)
		xwrite(fd, data, len);
	err = recv_reply(fd, &got);
	assert_int_equal(got, cookie);
	if (type == NBD_CMD_READ && !err)
		assert_true(xread(fd, out, len));
	return err;
}

static void handshake(int fd, struct dbk_nbd_export *ex)
{
	assert_int_equal(dbk_nbd_client_handshake(fd, TIMEOUT_MS, ex), 0);
}

/* ---- the client handshake against the server ---- */

static void test_roundtrip(void **state)
{
	struct dbk_block_params p = { .size = 8 << 20, .block_size = 4096,
				      .flags = DBK_BLOCK_F_FLUSH | DBK_BLOCK_F_READ_ONLY |
					       DBK_BLOCK_F_ROTATIONAL };
	struct dbk_nbd_export ex;
	struct server s;

	(void)state;
	server_start(&s, 1, &p, 0);
	handshake(s.cfd[0], &ex);
	assert_int_equal(ex.size, 8 << 20);
	assert_int_equal(ex.flags, NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
				   NBD_FLAG_READ_ONLY | NBD_FLAG_ROTATIONAL);
	assert_int_equal(ex.min_block, 4096);
	assert_int_equal(ex.pref_block, 4096);
	assert_int_equal(ex.max_block, 128 << 10);	/* the default */
	/* Transmission follows at once: a read of zeroes, NBD_CMD_DISC. */
	{
		uint8_t buf[4096];

		assert_int_equal(request(s.cfd[0], 0, NBD_CMD_READ, 0, 4096, NULL, buf), 0);
		send_req(s.cfd[0], 0, NBD_CMD_DISC, 1, 0, 0);
		assert_closed(s.cfd[0]);
	}
	assert_int_equal(server_end(&s), 0);

	server_start(&s, 1, &params, 0);
	handshake(s.cfd[0], &ex);
	assert_int_equal(ex.size, DISK_SIZE);
	assert_int_equal(ex.flags, NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH | NBD_FLAG_SEND_FUA |
				   NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES);
	assert_int_equal(ex.min_block, 512);
	assert_int_equal(ex.max_block, 64 << 10);
	assert_int_equal(server_end(&s), 0);

	/* The smallest and an odd max_transfer the server takes, the client too. */
	p.block_size = 512;
	p.max_transfer = 4096;
	server_start(&s, 1, &p, 0);
	handshake(s.cfd[0], &ex);
	assert_int_equal(ex.max_block, 4096);
	assert_int_equal(server_end(&s), 0);
	p.max_transfer = 5120;
	server_start(&s, 1, &p, 0);
	handshake(s.cfd[0], &ex);
	assert_int_equal(ex.max_block, 5120);
	assert_int_equal(server_end(&s), 0);
}

/* Two connections: each handshakes, may take several; requests carry their queue. */
static void test_multi_conn(void **state)
{
	uint8_t a[8192], b[8192];
	struct dbk_nbd_export ex0, ex1;
	struct server s;

	(void)state;
	server_start(&s, 2, &params, 0);
	handshake(s.cfd[1], &ex1);
	handshake(s.cfd[0], &ex0);
	assert_memory_equal(&ex0, &ex1, sizeof(ex0));
	assert_true(ex0.flags & NBD_FLAG_CAN_MULTI_CONN);
	memset(a, 0x5a, sizeof(a));
	assert_int_equal(request(s.cfd[0], 0, NBD_CMD_WRITE, 8192, sizeof(a), a, NULL), 0);
	assert_int_equal(request(s.cfd[1], 0, NBD_CMD_FLUSH, 0, 0, NULL, NULL), 0);
	assert_int_equal(request(s.cfd[1], 0, NBD_CMD_READ, 8192, sizeof(b), NULL, b), 0);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(s.d->queues, 3);
	assert_int_equal(server_end(&s), 0);
}

/* ---- data: asynchronous completion, several in flight, out of order ---- */

static void test_async_inflight(void **state)
{
	enum { N = 8, LEN = 4096 };
	uint8_t data[N][LEN], back[LEN];
	struct dbk_nbd_export ex;
	struct server s;
	uint64_t cookie;
	int i, j, fd;

	(void)state;
	server_start(&s, 1, &params, N);	/* completes once N are in flight */
	fd = s.cfd[0];
	handshake(fd, &ex);
	for (i = 0; i < N; i++) {
		memset(data[i], 'a' + i, LEN);
		send_req(fd, i == 2 ? DBK_NBD_CMD_FLAG_FUA : 0, NBD_CMD_WRITE, 1000 + i,
			 (uint64_t)i * LEN, LEN);
		xwrite(fd, data[i], LEN);
	}
	/* The worker completes in reverse: the replies come out of order. */
	for (i = N - 1; i >= 0; i--) {
		assert_int_equal(recv_reply(fd, &cookie), 0);
		assert_int_equal(cookie, 1000 + i);
	}
	assert_true(s.d->fua_seen);
	for (i = 0; i < N; i++)
		send_req(fd, 0, NBD_CMD_READ, 2000 + i, (uint64_t)i * LEN, LEN);
	for (i = N - 1; i >= 0; i--) {
		assert_int_equal(recv_reply(fd, &cookie), i == 3 ? EIO : 0);
		assert_int_equal(cookie, 2000 + i);
		if (i != 3) {	/* a failed read has no data */
			assert_true(xread(fd, back, LEN));
			assert_memory_equal(back, data[i], LEN);
		}
	}
	/* Write zeroes (NO_HOLE passed on) and trim: N of them again. */
	for (i = 0; i < N; i++)
		send_req(fd, i ? 0 : DBK_NBD_CMD_FLAG_NO_HOLE,
			 i % 2 ? NBD_CMD_TRIM : DBK_NBD_CMD_WRITE_ZEROES, 3000 + i,
			 (uint64_t)i * LEN, LEN);
	for (i = 0; i < N; i++)
		assert_int_equal(recv_reply(fd, &cookie), 0);
	assert_true(s.d->no_hole_seen);
	assert_int_equal(s.d->mem[0], 0);
	assert_int_equal(s.d->mem[LEN], 0);
	assert_int_equal(s.d->submits, 3 * N);
	/* Many more than the library's request slots, still out of order. */
	for (j = 0; j < 40; j++) {
		for (i = 0; i < N; i++)
			send_req(fd, 0, NBD_CMD_FLUSH, 4000 + i, 0, 0);
		for (i = N - 1; i >= 0; i--) {
			assert_int_equal(recv_reply(fd, &cookie), 0);
			assert_int_equal(cookie, 4000 + i);
		}
	}
	assert_int_equal(server_end(&s), 0);
}

/* ---- dbk_block_set_poller(): completions reaped in the queue's own thread ---- */

/*
 * A device per queue: submit() holds the request; the poller completes what
 * its queue holds once the queue's "interrupt" (an eventfd the test writes)
 * fired, or, for a queue without an fd, at every call (it asks to be called
 * again within 5 ms while it holds any).  Replies wait for the poller to
 * return, all sent at once: what the peer (@peer) has to read does not grow
 * while it runs (only the queue's own thread sends on its socket here).
 */
struct pdev {
	int efd;			/* -1: no fd, the poller's timeout only */
	int peer;			/* the client's end, to look for early replies */
	unsigned int early;		/* completions after which the peer had more to read */
	struct dbk_block_req *held[16];
	unsigned int n;
	pthread_t submitter;		/* the queue's thread, as submit() saw it */
	unsigned int polls, completed, foreign;
};
static struct pdev pdevs[2];

static void psubmit(void *ctx, unsigned int queue, struct dbk_block_req *req)
{
	struct pdev *d = &((struct pdev *)ctx)[queue];

	assert_true(d->n < 16);
	d->submitter = pthread_self();
	d->held[d->n++] = req;	/* only this queue's thread touches d */
}

static int ppoll_queue(void *ctx, unsigned int queue)
{
	struct pdev *d = &((struct pdev *)ctx)[queue];
	uint64_t cnt;
	int before = 0, now = 0;

	d->polls++;
	assert_int_equal(ioctl(d->peer, FIONREAD, &before), 0);
	if (d->n && !pthread_equal(d->submitter, pthread_self()))
		d->foreign++;
	if (d->efd >= 0 && read(d->efd, &cnt, sizeof(cnt)) != (ssize_t)sizeof(cnt))
		return -1;	/* no interrupt: sleep until one, or a request */
	while (d->n) {
		struct dbk_block_req *req = d->held[--d->n];

		/* A read's data: its block number, in every byte. */
		if (dbk_block_req_op(req) == DBK_BLOCK_READ)
			memset(dbk_block_req_buf(req), (int)(dbk_block_req_offset(req) / 4096),
			       dbk_block_req_length(req));
		dbk_block_complete(req, 0);
		d->completed++;
		assert_int_equal(ioctl(d->peer, FIONREAD, &now), 0);
		if (now > before)
			d->early++;
	}
	return d->efd >= 0 ? -1 : 5;
}

static void test_poller(void **state)
{
	static const struct dbk_block_ops pops = { .submit = psubmit };
	struct dbk_nbd_export ex;
	struct dbk_block *b;
	pthread_t th;
	uint64_t cookie, one = 1;
	int sv[2][2], sfd[2], cfd[2], i, q, r;
	struct run run;

	(void)state;
	memset(pdevs, 0, sizeof(pdevs));
	pdevs[0].efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	pdevs[1].efd = -1;
	assert_true(pdevs[0].efd >= 0);
	for (q = 0; q < 2; q++) {
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv[q]), 0);
		cfd[q] = sv[q][0];
		sfd[q] = sv[q][1];
		pdevs[q].peer = cfd[q];
	}
	assert_int_equal(dbk_block_new(sfd, 2, &params, &pops, pdevs, &b), 0);
	assert_int_equal(dbk_block_set_poller(NULL, 0, -1, ppoll_queue), -EINVAL);
	assert_int_equal(dbk_block_set_poller(b, 0, -1, NULL), -EINVAL);
	assert_int_equal(dbk_block_set_poller(b, 2, -1, ppoll_queue), -EINVAL);
	for (q = 0; q < 2; q++)
		assert_int_equal(dbk_block_set_poller(b, (unsigned int)q, pdevs[q].efd, ppoll_queue), 0);
	run.b = b;
	assert_int_equal(pthread_create(&th, NULL, run_poller, &run), 0);
	for (q = 0; q < 2; q++)
		handshake(cfd[q], &ex);

	/*
	 * Queue 0: nothing completes until its interrupt; then all, from its
	 * own thread (in the reverse order of their arrival), each reply with
	 * its own data.
	 */
	for (i = 0; i < 8; i++)
		send_req(cfd[0], 0, NBD_CMD_READ, 500 + i, (uint64_t)(i + 1) * 4096, 4096);
	usleep(100 * 1000);
	{
		struct pollfd p = { .fd = cfd[0], .events = POLLIN };

		assert_int_equal(poll(&p, 1, 0), 0);	/* no reply yet */
	}
	assert_int_equal(write(pdevs[0].efd, &one, sizeof(one)), sizeof(one));
	/* Not one read before all 8 replies are there: the poller's count must see any it sends. */
	for (i = 0; i < 10000; i++) {
		int avail = 0;

		assert_int_equal(ioctl(cfd[0], FIONREAD, &avail), 0);
		if (avail >= 8 * (DBK_NBD_REPLY_LEN + 4096))
			break;
		usleep(1000);
	}
	for (i = 7; i >= 0; i--) {
		uint8_t data[4096], want[4096];

		assert_int_equal(recv_reply(cfd[0], &cookie), 0);
		assert_int_equal(cookie, 500 + i);
		assert_true(xread(cfd[0], data, sizeof(data)));
		memset(want, i + 1, sizeof(want));
		assert_memory_equal(data, want, sizeof(data));
	}
	/* Queue 1, no fd: its poller's own timeout brings the completions. */
	for (i = 0; i < 4; i++)
		send_req(cfd[1], 0, NBD_CMD_FLUSH, 600 + i, 0, 0);
	for (i = 0; i < 4; i++)
		assert_int_equal(recv_reply(cfd[1], &cookie), 0);

	/* Stopped with requests in flight: the thread keeps polling until they end. */
	for (i = 0; i < 3; i++)
		send_req(cfd[0], 0, NBD_CMD_FLUSH, 700 + i, 0, 0);
	usleep(100 * 1000);
	assert_int_equal(dbk_block_stop(b), 0);
	usleep(100 * 1000);
	assert_int_equal(pthread_tryjoin_np(th, NULL), EBUSY);
	assert_int_equal(write(pdevs[0].efd, &one, sizeof(one)), sizeof(one));
	for (i = 0; i < 3; i++)
		assert_int_equal(recv_reply(cfd[0], &cookie), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(run.result, 0);
	assert_int_equal(pdevs[0].completed, 11);
	assert_int_equal(pdevs[1].completed, 4);
	assert_int_equal(pdevs[0].foreign + pdevs[1].foreign, 0);
	assert_int_equal(pdevs[0].early + pdevs[1].early, 0);
	assert_true(pdevs[0].polls > 2);
	/* Once it ran, a poller can no longer be set. */
	r = dbk_block_set_poller(b, 0, -1, ppoll_queue);
	assert_int_equal(r, -EINVAL);
	dbk_block_free(b);
	for (q = 0; q < 2; q++)
		close(cfd[q]);
	close(pdevs[0].efd);
}

/*
 * dbk_block_set_buffers(): reads and writes in the driver's buffers, taken
 * before the request and given back exactly once after it, refused ones
 * included; a lent read buffer is passed as it is (not zeroed); a lender
 * out of buffers falls back to the library's.
 */
#define LEND_NR	2
static struct lender {
	uint8_t mem[LEND_NR][64 << 10] __attribute__((aligned(4096)));
	bool lent[LEND_NR];
	bool dry;			/* lend nothing */
	unsigned int gets, puts, nulls, in_arena, foreign;
	pthread_mutex_t lock;
} lender = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void *lget(void *ctx, unsigned int queue, uint32_t len)
{
	void *buf = NULL;
	unsigned int i;

	assert_non_null(ctx);
	assert_int_equal(queue, 0);
	assert_true(len > 0 && len <= sizeof(lender.mem[0]));
	pthread_mutex_lock(&lender.lock);
	for (i = 0; !lender.dry && i < LEND_NR && !buf; i++)
		if (!lender.lent[i]) {
			lender.lent[i] = true;
			buf = lender.mem[i];
		}
	if (buf)
		lender.gets++;
	else
		lender.nulls++;
	pthread_mutex_unlock(&lender.lock);
	return buf;
}

static void lput(void *ctx, unsigned int queue, void *buf)
{
	unsigned int i;

	assert_non_null(ctx);
	assert_int_equal(queue, 0);
	pthread_mutex_lock(&lender.lock);
	for (i = 0; i < LEND_NR; i++)
		if (buf == lender.mem[i])
			break;
	assert_true(i < LEND_NR);
	assert_true(lender.lent[i]);	/* given back once */
	lender.lent[i] = false;
	lender.puts++;
	pthread_mutex_unlock(&lender.lock);
}

static void lsubmit(void *ctx, unsigned int queue, struct dbk_block_req *req)
{
	uint8_t *buf = dbk_block_req_buf(req);
	unsigned int i;

	for (i = 0; buf && i < LEND_NR && buf != lender.mem[i]; i++)
		;
	pthread_mutex_lock(&lender.lock);
	if (buf && i < LEND_NR)
		lender.in_arena++;
	else if (buf)
		lender.foreign++;	/* the library's own (nothing else may come) */
	pthread_mutex_unlock(&lender.lock);
	submit(ctx, queue, req);
}

static void test_buffers(void **state)
{
	static const struct dbk_block_ops lops = { .submit = lsubmit };
	static uint8_t data[64 << 10], back[64 << 10], zero[64 << 10];
	struct dbk_nbd_export ex;
	struct disk *d = disk_new(0);
	struct dbk_block *b;
	struct run run;
	pthread_t th;
	int sv[2];

	(void)state;
	memset(lender.lent, 0, sizeof(lender.lent));
	lender.dry = false;
	lender.gets = lender.puts = lender.nulls = lender.in_arena = lender.foreign = 0;
	memset(lender.mem, 0x77, sizeof(lender.mem));
	d->nr_queues = 1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(dbk_block_new(&sv[1], 1, &params, &lops, d, &b), 0);
	assert_int_equal(dbk_block_set_buffers(NULL, 0, lget, lput), -EINVAL);
	assert_int_equal(dbk_block_set_buffers(b, 1, lget, lput), -EINVAL);
	assert_int_equal(dbk_block_set_buffers(b, 0, lget, NULL), -EINVAL);
	assert_int_equal(dbk_block_set_buffers(b, 0, NULL, lput), -EINVAL);
	assert_int_equal(dbk_block_set_buffers(b, 0, NULL, NULL), 0);
	assert_int_equal(dbk_block_set_buffers(b, 0, lget, lput), 0);
	run.b = b;
	assert_int_equal(pthread_create(&th, NULL, run_poller, &run), 0);
	handshake(sv[0], &ex);

	/* A write and a read through lent buffers: the data goes both ways. */
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7 + 3);
	assert_int_equal(request(sv[0], 0, NBD_CMD_WRITE, 64 << 10, sizeof(data), data, NULL), 0);
	assert_memory_equal(d->mem + (64 << 10), data, sizeof(data));
	assert_int_equal(request(sv[0], 0, NBD_CMD_READ, 64 << 10, sizeof(back), NULL, back), 0);
	assert_memory_equal(back, data, sizeof(back));
	/* Not zeroed: a read completed unfilled sends what the driver's buffer held. */
	d->lazy = true;
	assert_int_equal(request(sv[0], 0, NBD_CMD_READ, 0, 4096, NULL, back), 0);
	assert_true(memcmp(back, zero, 4096) != 0);	/* a write's data, or the 0x77 it began with */
	/* No buffer to lend: the library's own, zeroed as ever. */
	lender.dry = true;
	assert_int_equal(request(sv[0], 0, NBD_CMD_READ, 0, sizeof(back), NULL, back), 0);
	assert_memory_equal(back, zero, sizeof(back));
	assert_int_equal(request(sv[0], 0, NBD_CMD_WRITE, 0, 4096, data, NULL), 0);
	assert_memory_equal(d->mem, data, 4096);
	lender.dry = false;
	d->lazy = false;
	/* Refused after its buffer was lent (beyond the disk): given back all the same. */
	assert_int_equal(request(sv[0], 0, NBD_CMD_WRITE, DISK_SIZE, 4096, data, NULL), EINVAL);
	/* No payload, no buffer. */
	assert_int_equal(request(sv[0], 0, NBD_CMD_FLUSH, 0, 0, NULL, NULL), 0);
	assert_int_equal(request(sv[0], 0, NBD_CMD_TRIM, 0, 4096, NULL, NULL), 0);

	close(sv[0]);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(run.result, 0);
	assert_int_equal(lender.gets, 4);
	assert_int_equal(lender.puts, 4);
	assert_int_equal(lender.nulls, 2);
	assert_int_equal(lender.in_arena, 3);	/* the refused write never reached submit() */
	assert_int_equal(lender.foreign, 2);	/* the two while dry */
	assert_false(lender.lent[0] || lender.lent[1]);
	assert_int_equal(dbk_block_set_buffers(b, 0, lget, lput), -EINVAL);	/* it ran */
	dbk_block_free(b);
	disk_free(d);
}

/*
 * A lent buffer the kernel cannot copy into (a revoked DMA mapping:
 * EFAULT, here PROT_NONE): the write fails with EIO, its payload skipped,
 * and the connection goes on.
 */
static void *fault_map;
static unsigned int fault_puts;

static void *fget(void *ctx, unsigned int queue, uint32_t len)
{
	(void)ctx;
	(void)queue;
	(void)len;
	return fault_map;
}

static void fput(void *ctx, unsigned int queue, void *buf)
{
	(void)ctx;
	(void)queue;
	assert_ptr_equal(buf, fault_map);
	fault_puts++;
}

static void test_buffers_fault(void **state)
{
	static uint8_t data[64 << 10];
	struct dbk_nbd_export ex;
	struct disk *d = disk_new(0);
	struct dbk_block *b;
	struct run run;
	pthread_t th;
	int sv[2];

	(void)state;
	fault_puts = 0;
	fault_map = mmap(NULL, sizeof(data), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(fault_map != MAP_FAILED);
	d->nr_queues = 1;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(dbk_block_new(&sv[1], 1, &params, &ops, d, &b), 0);
	assert_int_equal(dbk_block_set_buffers(b, 0, fget, fput), 0);
	run.b = b;
	assert_int_equal(pthread_create(&th, NULL, run_poller, &run), 0);
	handshake(sv[0], &ex);
	memset(data, 0x3c, sizeof(data));
	assert_int_equal(request(sv[0], 0, NBD_CMD_WRITE, 0, sizeof(data), data, NULL), EIO);
	assert_int_equal(request(sv[0], 0, NBD_CMD_WRITE, 0, 4096, data, NULL), EIO);
	assert_int_equal(fault_puts, 2);
	assert_int_equal(d->submits, 0);
	/* The stream is intact: the next request is understood. */
	assert_int_equal(request(sv[0], 0, NBD_CMD_FLUSH, 0, 0, NULL, NULL), 0);
	assert_int_equal(dbk_block_set_buffers(b, 0, fget, fput), -EINVAL);	/* it runs */
	close(sv[0]);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(run.result, 0);
	dbk_block_free(b);
	disk_free(d);
	munmap(fault_map, sizeof(data));
}

/* dbk_block_stop(): before dbk_block_run(), and with a request in flight. */
static void test_stop(void **state)
{
	struct dbk_nbd_export ex;
	struct server s;
	uint64_t cookie;
	int fd;

	(void)state;
	server_start(&s, 1, &params, 0);
	handshake(s.cfd[0], &ex);
	assert_int_equal(dbk_block_stop(s.b), 0);
	assert_closed(s.cfd[0]);		/* the thread ends, the socket shut */
	assert_int_equal(server_end(&s), 0);

	/* Stopped before it runs: returns at once. */
	server_start(&s, 2, &params, 0);
	assert_int_equal(dbk_block_stop(s.b), 0);
	pthread_join(s.thread, NULL);
	assert_int_equal(s.result, 0);
	assert_int_equal(dbk_block_run(s.b), -EALREADY);
	for (fd = 0; fd < 2; fd++)
		close(s.cfd[fd]);
	dbk_block_free(s.b);
	disk_free(s.d);

	/* In flight when stopped: run waits for it, and its reply still goes out. */
	server_start(&s, 1, &params, 2);	/* the worker waits for two */
	fd = s.cfd[0];
	handshake(fd, &ex);
	send_req(fd, 0, NBD_CMD_FLUSH, 7, 0, 0);
	pthread_mutex_lock(&s.d->lock);
	while (s.d->n == 0)
		pthread_cond_wait(&s.d->cond, &s.d->lock);
	pthread_mutex_unlock(&s.d->lock);
	assert_int_equal(dbk_block_stop(s.b), 0);
	usleep(50 * 1000);
	assert_int_equal(pthread_tryjoin_np(s.thread, NULL), EBUSY);
	disk_free(s.d);			/* the worker completes what it holds */
	s.d = disk_new(0);
	assert_int_equal(recv_reply(fd, &cookie), 0);
	assert_int_equal(cookie, 7);
	assert_closed(fd);
	assert_int_equal(server_end(&s), 0);
}

/*
 * A driver that completes a read with 0 without filling its buffer (a bug
 * in an error path) returns zeroes, not what an earlier request left in
 * the library's memory.
 */
static void test_read_buffer_zeroed(void **state)
{
	static uint8_t secret[64 << 10], back[64 << 10], zero[64 << 10];
	struct dbk_nbd_export ex;
	struct server s;
	int i, fd;

	(void)state;
	server_start(&s, 1, &params, 0);
	s.d->lazy = true;
	fd = s.cfd[0];
	handshake(fd, &ex);
	memset(secret, 0x5e, sizeof(secret));
	for (i = 0; i < 8; i++) {
		assert_int_equal(request(fd, 0, NBD_CMD_WRITE, 512 << 10, sizeof(secret), secret,
					 NULL), 0);
		memset(back, 0xaa, sizeof(back));
		assert_int_equal(request(fd, 0, NBD_CMD_READ, 0, sizeof(back), NULL, back), 0);
		assert_memory_equal(back, zero, sizeof(back));
	}
	assert_int_equal(server_end(&s), 0);
}

/*
 * A peer slow to read its replies: a completer blocked writing one must
 * not hold up the reader, which goes on taking requests.
 */
static void test_slow_reader(void **state)
{
	enum { N = 8, LEN = 64 << 10 };
	static uint8_t back[LEN];
	struct dbk_nbd_export ex;
	struct server s;
	uint64_t cookie;
	unsigned int submits = 0, got = 0, i;
	int fd, ms;

	(void)state;
	server_start(&s, 1, &params, 1);	/* a worker completes each at once */
	fd = s.cfd[0];
	handshake(fd, &ex);
	/* 512 KiB of read replies: more than the socket holds; none read. */
	for (i = 0; i < N; i++)
		send_req(fd, 0, NBD_CMD_READ, 1 + i, (uint64_t)i * LEN, LEN);
	usleep(100 * 1000);			/* the worker blocks in a reply */
	send_req(fd, 0, NBD_CMD_FLUSH, 100, 0, 0);
	for (ms = 0; ms < TIMEOUT_MS; ms += 10) {
		pthread_mutex_lock(&s.d->lock);
		submits = s.d->submits;
		pthread_mutex_unlock(&s.d->lock);
		if (submits == N + 1)
			break;
		usleep(10 * 1000);
	}
	assert_int_equal(submits, N + 1);	/* the flush reached the driver */
	/* Now read: every reply comes. */
	while (got < N + 1) {
		assert_int_equal(recv_reply(fd, &cookie), 0);
		assert_true((cookie >= 1 && cookie <= N) || cookie == 100);
		if (cookie != 100)
			assert_true(xread(fd, back, LEN));
		got++;
	}
	assert_int_equal(server_end(&s), 0);
}

/*
 * A driver that completes a request twice: a programming error, like a
 * double free.  The library aborts, saying so on stderr, rather than
 * reading freed memory, miscounting and hanging.  In a child process.
 */
static void complete_twice(void *ctx, unsigned int queue, struct dbk_block_req *req)
{
	(void)ctx;
	(void)queue;
	dbk_block_complete(req, 0);
	dbk_block_complete(req, -EIO);
}

static void test_complete_twice(void **state)
{
	static const struct dbk_block_ops twice = { .submit = complete_twice };
	struct dbk_nbd_export ex;
	char msg[1024] = "";
	int sv[2], err[2], status = 0, ms;
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(err, O_CLOEXEC), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {		/* no cmocka here: only _exit() or the abort */
		struct dbk_block *b;

		dup2(err[1], 2);
		close(sv[0]);
		if (dbk_block_new(&sv[1], 1, &params, &twice, NULL, &b))
			_exit(2);
		dbk_block_run(b);
		_exit(3);
	}
	close(sv[1]);
	close(err[1]);
	handshake(sv[0], &ex);
	send_req(sv[0], 0, NBD_CMD_FLUSH, 1, 0, 0);
	for (ms = 0; ms < TIMEOUT_MS && waitpid(pid, &status, WNOHANG) == 0; ms += 10)
		usleep(10 * 1000);
	if (ms >= TIMEOUT_MS) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	while (got < sizeof(msg) - 1 && (n = read(err[0], msg + got, sizeof(msg) - 1 - got)) > 0)
		got += (size_t)n;
	msg[got] = 0;
	close(err[0]);
	close(sv[0]);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGABRT);
	assert_non_null(strstr(msg, "dbk_block_complete("));
	assert_non_null(strstr(msg, "completed twice"));
}

/* ---- the server against malformed clients ---- */

static void test_bad_requests(void **state)
{
	static uint8_t big[(64 << 10) + 512], huge[128 << 10];
	struct dbk_block_params ro = params;
	struct dbk_nbd_export ex;
	struct server s;
	uint8_t buf[4096];
	int fd;

	(void)state;
	server_start(&s, 1, &params, 0);
	fd = s.cfd[0];
	handshake(fd, &ex);
	/* Answered with EINVAL; the connection goes on. */
	assert_int_equal(request(fd, 0, 9, 0, 512, NULL, NULL), EINVAL);		/* unknown */
	assert_int_equal(request(fd, 0, 5, 0, 512, NULL, NULL), EINVAL);		/* CACHE */
	assert_int_equal(request(fd, 0, NBD_CMD_READ, UINT64_MAX - 511, 1024, NULL, buf),
			 EINVAL);							/* overflow */
	assert_int_equal(request(fd, 0, NBD_CMD_READ, DISK_SIZE - 512, 1024, NULL, buf),
			 EINVAL);							/* past the end */
	assert_int_equal(request(fd, 0, NBD_CMD_READ, DISK_SIZE, 0, NULL, buf), 0);	/* empty */
	assert_int_equal(request(fd, 0, NBD_CMD_READ, 100, 512, NULL, buf), EINVAL);	/* unaligned */
	assert_int_equal(request(fd, 0, NBD_CMD_READ, 0, 100, NULL, buf), EINVAL);
	assert_int_equal(request(fd, 0, NBD_CMD_READ, 0, sizeof(big), NULL, big), EINVAL);
	assert_int_equal(request(fd, 0, NBD_CMD_WRITE, DISK_SIZE, 512, buf, NULL), EINVAL);
	assert_int_equal(request(fd, 1u << 7, NBD_CMD_READ, 0, 512, NULL, buf), EINVAL);	/* flag */
	assert_int_equal(request(fd, 0, NBD_CMD_TRIM, UINT64_MAX - 511, 1024, NULL, NULL),
			 EINVAL);
	assert_int_equal(s.d->submits, 0);
	assert_int_equal(request(fd, 0, NBD_CMD_READ, 0, 512, NULL, buf), 0);	/* still in sync */
	/*
	 * A write longer than max_transfer (6.1's nbd cannot be told it):
	 * its payload skipped, EINVAL, the connection goes on.
	 */
	memset(big, 0x77, sizeof(big));
	assert_int_equal(request(fd, 0, NBD_CMD_WRITE, 0, sizeof(big), big, NULL), EINVAL);
	assert_int_equal(request(fd, DBK_NBD_CMD_FLAG_FUA, NBD_CMD_WRITE, 4096, sizeof(huge),
				 huge, NULL), EINVAL);		/* 6.1's default 128 KiB */
	assert_int_equal(s.d->submits, 1);
	assert_int_equal(request(fd, 0, NBD_CMD_READ, 0, 512, NULL, buf), 0);	/* in sync */
	assert_int_equal(buf[0], 0);						/* not written */
	/* A trim (no payload) longer than max_transfer is not refused for it. */
	assert_int_equal(request(fd, 0, NBD_CMD_TRIM, 0, DISK_SIZE, NULL, NULL), 0);
	assert_int_equal(request(fd, 0, DBK_NBD_CMD_WRITE_ZEROES, 0, DISK_SIZE, NULL, NULL), 0);
	assert_int_equal(s.d->submits, 4);
	assert_int_equal(server_end(&s), 0);

	/* Bad request magic: closed. */
	server_start(&s, 1, &params, 0);
	handshake(s.cfd[0], &ex);
	memset(buf, 0xff, DBK_NBD_REQUEST_LEN);
	xwrite(s.cfd[0], buf, DBK_NBD_REQUEST_LEN);
	assert_closed(s.cfd[0]);
	assert_int_equal(server_end(&s), -EPROTO);

	/* Disconnect in the middle of a write's payload. */
	server_start(&s, 1, &params, 0);
	handshake(s.cfd[0], &ex);
	send_req(s.cfd[0], 0, NBD_CMD_WRITE, 1, 0, 4096);
	xwrite(s.cfd[0], buf, 1000);
	assert_int_equal(server_end(&s), -EPROTO);
	/* ... and in the middle of a request header. */
	server_start(&s, 1, &params, 0);
	handshake(s.cfd[0], &ex);
	xwrite(s.cfd[0], buf, 10);
	assert_int_equal(s.d->submits, 0);
	assert_int_equal(server_end(&s), -EPROTO);

	/* Read-only: writes of every kind are refused; unadvertised commands too. */
	ro.flags = DBK_BLOCK_F_READ_ONLY | DBK_BLOCK_F_TRIM;
	server_start(&s, 1, &ro, 0);
	fd = s.cfd[0];
	handshake(fd, &ex);
	assert_int_equal(request(fd, 0, NBD_CMD_WRITE, 0, 512, buf, NULL), EPERM);
	assert_int_equal(request(fd, 0, NBD_CMD_WRITE, 0, sizeof(big), big, NULL), EPERM);
	assert_int_equal(request(fd, 0, NBD_CMD_TRIM, 0, 512, NULL, NULL), EPERM);
	assert_int_equal(request(fd, 0, NBD_CMD_FLUSH, 0, 0, NULL, NULL), EINVAL);
	assert_int_equal(request(fd, 0, DBK_NBD_CMD_WRITE_ZEROES, 0, 512, NULL, NULL), EINVAL);
	assert_int_equal(s.d->submits, 0);
	assert_int_equal(server_end(&s), 0);
}

/* An option from the client: IHAVEOPT, @opt, @len bytes of @data. */
static void send_opt(int fd, uint32_t opt, const void *data, uint32_t len)
{
	uint8_t h[DBK_NBD_OPT_HDR_LEN];

	dbk_nbd_put64(h, NBD_IHAVEOPT);
	dbk_nbd_put32(h + 8, opt);
	dbk_nbd_put32(h + 12, len);
	xwrite(fd, h, sizeof(h));
	if (len)
		xwrite(fd, data, len);
}

/* An option reply: its type; its data skipped. */
static uint32_t recv_rep(int fd, uint32_t opt)
{
	uint8_t h[DBK_NBD_REP_HDR_LEN], d[64];
	uint32_t len;

	assert_true(xread(fd, h, sizeof(h)));
	assert_true(dbk_nbd_get64(h) == NBD_REP_MAGIC);
	assert_int_equal(dbk_nbd_get32(h + 8), opt);
	len = dbk_nbd_get32(h + 16);
	assert_true(len <= sizeof(d));
	assert_true(xread(fd, d, len));
	return dbk_nbd_get32(h + 12);
}

/* A client's start: the greeting read, client flags sent. */
static void client_hello(int fd, uint32_t flags)
{
	uint8_t g[18], f[4];

	assert_true(xread(fd, g, sizeof(g)));
	assert_true(dbk_nbd_get64(g) == NBD_MAGIC);
	assert_int_equal(dbk_nbd_get16(g + 16), NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	dbk_nbd_put32(f, flags);
	xwrite(fd, f, 4);
}

/*
 * The disk's identity (dbk_block_set_id()): checked; sent as
 * NBD_INFO_DESCRIPTION when the client asks for it, and only then; the
 * client takes it.
 */
static void test_identity(void **state)
{
	char id[DBK_BLOCK_ID_MAX + 2];
	struct dbk_nbd_export ex;
	uint8_t info[10] = { 0 };
	struct server s;
	int fd;

	(void)state;
	server_start(&s, 1, &params, 0);
	handshake(s.cfd[0], &ex);
	assert_string_equal(ex.description, "");		/* none set: none sent */
	assert_int_equal(dbk_block_set_id(s.b, "late"), -EINVAL);	/* it runs */
	assert_int_equal(server_end(&s), 0);

	/* The arguments: 1 to DBK_BLOCK_ID_MAX printable characters. */
	{
		struct dbk_block *b;
		int sv[2];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
		assert_int_equal(dbk_block_new(&sv[1], 1, &params, &ops, NULL, &b), 0);
		assert_int_equal(dbk_block_set_id(NULL, "x"), -EINVAL);
		assert_int_equal(dbk_block_set_id(b, ""), -EINVAL);
		assert_int_equal(dbk_block_set_id(b, "tab\there"), -EINVAL);
		assert_int_equal(dbk_block_set_id(b, "del\x7f"), -EINVAL);
		assert_int_equal(dbk_block_set_id(b, "\xc3\xa9"), -EINVAL);
		memset(id, 'a', sizeof(id));
		id[DBK_BLOCK_ID_MAX + 1] = 0;
		assert_int_equal(dbk_block_set_id(b, id), -EINVAL);
		id[DBK_BLOCK_ID_MAX] = 0;
		assert_int_equal(dbk_block_set_id(b, id), 0);
		assert_int_equal(dbk_block_set_id(b, NULL), 0);
		dbk_block_free(b);
		close(sv[0]);
	}

	/* The longest, through the client. */
	server_id = id;
	server_start(&s, 1, &params, 0);
	handshake(s.cfd[0], &ex);
	assert_string_equal(ex.description, id);
	assert_int_equal(server_end(&s), 0);

	/* Only when asked: NBD_OPT_INFO for the block sizes, then for it. */
	server_id = "QEMU NVMe Ctrl_dbk0001_1";
	server_start(&s, 1, &params, 0);
	fd = s.cfd[0];
	client_hello(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	dbk_nbd_put16(info + 4, 1);
	dbk_nbd_put16(info + 6, NBD_INFO_BLOCK_SIZE);
	send_opt(fd, NBD_OPT_INFO, info, 8);
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_INFO);	/* export */
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_INFO);	/* block sizes */
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_ACK);
	dbk_nbd_put16(info + 4, 2);
	dbk_nbd_put16(info + 8, NBD_INFO_DESCRIPTION);
	send_opt(fd, NBD_OPT_INFO, info, 10);
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_INFO);
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_INFO);
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_INFO);	/* the description */
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_ACK);
	send_opt(fd, NBD_OPT_ABORT, NULL, 0);
	assert_int_equal(recv_rep(fd, NBD_OPT_ABORT), NBD_REP_ACK);
	assert_closed(fd);
	assert_int_equal(server_end(&s), 0);
	server_id = NULL;
}

static void test_bad_handshakes(void **state)
{
	uint8_t info[8] = { 0 }, ex[134];
	struct server s;
	int fd;

	(void)state;
	/* Unknown client flags: closed. */
	server_start(&s, 1, &params, 0);
	client_hello(s.cfd[0], 1u << 5);
	assert_closed(s.cfd[0]);
	assert_int_equal(server_end(&s), -EPROTO);

	/* Options it does not know, or malformed, get errors; ABORT an ACK. */
	server_start(&s, 1, &params, 0);
	fd = s.cfd[0];
	client_hello(fd, NBD_FLAG_C_FIXED_NEWSTYLE);
	send_opt(fd, NBD_OPT_STRUCTURED_REPLY, NULL, 0);
	assert_int_equal(recv_rep(fd, NBD_OPT_STRUCTURED_REPLY), NBD_REP_ERR_UNSUP);
	send_opt(fd, NBD_OPT_LIST, NULL, 0);
	assert_int_equal(recv_rep(fd, NBD_OPT_LIST), NBD_REP_ERR_UNSUP);
	send_opt(fd, 0x12345, NULL, 0);
	assert_int_equal(recv_rep(fd, 0x12345), NBD_REP_ERR_UNSUP);
	send_opt(fd, NBD_OPT_GO, info, 5);				/* short */
	assert_int_equal(recv_rep(fd, NBD_OPT_GO), NBD_REP_ERR_INVALID);
	dbk_nbd_put32(info, 100);					/* name past the end */
	send_opt(fd, NBD_OPT_INFO, info, 8);
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_ERR_INVALID);
	dbk_nbd_put32(info, 0);
	dbk_nbd_put16(info + 4, 7);					/* 7 infos, 1 sent */
	send_opt(fd, NBD_OPT_INFO, info, 8);
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_ERR_INVALID);
	dbk_nbd_put16(info + 4, 1);
	dbk_nbd_put16(info + 6, NBD_INFO_BLOCK_SIZE);
	send_opt(fd, NBD_OPT_INFO, info, 8);				/* well formed */
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_INFO);
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_INFO);
	assert_int_equal(recv_rep(fd, NBD_OPT_INFO), NBD_REP_ACK);
	send_opt(fd, NBD_OPT_ABORT, NULL, 0);
	assert_int_equal(recv_rep(fd, NBD_OPT_ABORT), NBD_REP_ACK);
	assert_closed(fd);
	assert_int_equal(server_end(&s), 0);

	/* Bad option magic; an option too long to take: closed. */
	server_start(&s, 1, &params, 0);
	client_hello(s.cfd[0], NBD_FLAG_C_FIXED_NEWSTYLE);
	xwrite(s.cfd[0], "IHAVEOPX\0\0\0\7\0\0\0\0", 16);
	assert_closed(s.cfd[0]);
	assert_int_equal(server_end(&s), -EPROTO);
	server_start(&s, 1, &params, 0);
	client_hello(s.cfd[0], NBD_FLAG_C_FIXED_NEWSTYLE);
	send_opt(s.cfd[0], NBD_OPT_GO, NULL, 0);			/* header only... */
	assert_int_equal(recv_rep(s.cfd[0], NBD_OPT_GO), NBD_REP_ERR_INVALID);
	xwrite(s.cfd[0], "IHAVEOPT\0\0\0\7\xff\xff\xff\xff", 16);	/* 4 GiB */
	assert_closed(s.cfd[0]);
	assert_int_equal(server_end(&s), -EPROTO);

	/* The old way in: NBD_OPT_EXPORT_NAME, with and without the zeroes. */
	server_start(&s, 1, &params, 0);
	client_hello(s.cfd[0], NBD_FLAG_C_FIXED_NEWSTYLE);
	send_opt(s.cfd[0], NBD_OPT_EXPORT_NAME, "any", 3);
	assert_true(xread(s.cfd[0], ex, sizeof(ex)));
	assert_true(dbk_nbd_get64(ex) == DISK_SIZE);
	assert_int_equal(dbk_nbd_get16(ex + 8), NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH |
			 NBD_FLAG_SEND_FUA | NBD_FLAG_SEND_TRIM | NBD_FLAG_SEND_WRITE_ZEROES);
	assert_int_equal(request(s.cfd[0], 0, NBD_CMD_FLUSH, 0, 0, NULL, NULL), 0);
	assert_int_equal(server_end(&s), 0);
	server_start(&s, 1, &params, 0);
	client_hello(s.cfd[0], NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES);
	send_opt(s.cfd[0], NBD_OPT_EXPORT_NAME, NULL, 0);
	assert_true(xread(s.cfd[0], ex, 10));
	assert_int_equal(request(s.cfd[0], 0, NBD_CMD_FLUSH, 0, 0, NULL, NULL), 0);
	assert_int_equal(server_end(&s), 0);

	/* A client that goes away during the handshake. */
	server_start(&s, 1, &params, 0);
	assert_int_equal(server_end(&s), 0);
}

/* ---- the client against malicious servers ---- */

struct canned {
	uint8_t b[16384];
	size_t n;
};

static void put(struct canned *c, const void *d, size_t n)
{
	assert_true(c->n + n <= sizeof(c->b));
	memcpy(c->b + c->n, d, n);
	c->n += n;
}

static void put_greeting(struct canned *c, uint16_t hflags)
{
	uint8_t g[18];

	dbk_nbd_put64(g, NBD_MAGIC);
	dbk_nbd_put64(g + 8, NBD_IHAVEOPT);
	dbk_nbd_put16(g + 16, hflags);
	put(c, g, sizeof(g));
}

static void put_rep(struct canned *c, uint32_t opt, uint32_t type, const void *d, uint32_t len)
{
	uint8_t h[DBK_NBD_REP_HDR_LEN];

	dbk_nbd_put64(h, NBD_REP_MAGIC);
	dbk_nbd_put32(h + 8, opt);
	dbk_nbd_put32(h + 12, type);
	dbk_nbd_put32(h + 16, len);
	put(c, h, sizeof(h));
	if (d)
		put(c, d, len);
}

static void put_export(struct canned *c, uint64_t size, uint16_t flags)
{
	uint8_t d[12];

	dbk_nbd_put16(d, NBD_INFO_EXPORT);
	dbk_nbd_put64(d + 2, size);
	dbk_nbd_put16(d + 10, flags);
	put_rep(c, NBD_OPT_GO, NBD_REP_INFO, d, sizeof(d));
}

static void put_bs(struct canned *c, uint32_t min, uint32_t pref, uint32_t max)
{
	uint8_t d[14];

	dbk_nbd_put16(d, NBD_INFO_BLOCK_SIZE);
	dbk_nbd_put32(d + 2, min);
	dbk_nbd_put32(d + 6, pref);
	dbk_nbd_put32(d + 10, max);
	put_rep(c, NBD_OPT_GO, NBD_REP_INFO, d, sizeof(d));
}

/*
 * The client against a server that sends @c (then closes, if @close_after),
 * in a socket buffer big enough to hold it: the client's result.
 */
static int against(const struct canned *c, bool close_after, int timeout_ms,
		   struct dbk_nbd_export *ex)
{
	struct dbk_nbd_export tmp;
	int sv[2], r, sz = 1 << 20;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	if (c->n)
		xwrite(sv[1], c->b, c->n);
	if (close_after)
		shutdown(sv[1], SHUT_WR);
	memset(&tmp, 0xee, sizeof(tmp));
	r = dbk_nbd_client_handshake(sv[0], timeout_ms, ex ? ex : &tmp);
	if (r && !ex) {
		uint8_t junk[sizeof(tmp)];

		memset(junk, 0xee, sizeof(junk));
		assert_memory_equal(&tmp, junk, sizeof(tmp));	/* untouched on failure */
	}
	close(sv[0]);
	close(sv[1]);
	return r;
}

static const uint16_t good_flags = NBD_FLAG_HAS_FLAGS | NBD_FLAG_SEND_FLUSH;

/* A good server, to which each case adds a defect. */
static void good_until_ack(struct canned *c)
{
	memset(c, 0, sizeof(*c));
	put_greeting(c, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
	put_export(c, 1 << 20, good_flags);
	put_bs(c, 512, 4096, 65536);
}

static void test_client_malicious(void **state)
{
	struct dbk_nbd_export ex;
	struct canned c;
	uint8_t d[64] = { 0 };
	int i;

	(void)state;
	/* The baseline: a well-behaved canned server is accepted. */
	good_until_ack(&c);
	put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
	assert_int_equal(against(&c, true, TIMEOUT_MS, &ex), 0);
	assert_true(ex.size == 1 << 20 && ex.flags == good_flags && ex.min_block == 512 &&
		    ex.pref_block == 4096 && ex.max_block == 65536);
	/* No block sizes: the defaults. */
	memset(&c, 0, sizeof(c));
	put_greeting(&c, NBD_FLAG_FIXED_NEWSTYLE);
	put_export(&c, 1 << 20, good_flags);
	put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
	assert_int_equal(against(&c, true, TIMEOUT_MS, &ex), 0);
	assert_true(ex.min_block == 512 && ex.pref_block == 4096 && ex.max_block == 32 << 20);

	/* Silence, or a closed connection. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(against(&c, false, 100, NULL), -ETIMEDOUT);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	/* Bad magic, no fixed newstyle. */
	put_greeting(&c, NBD_FLAG_FIXED_NEWSTYLE);
	c.b[0] = 'X';
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	memset(&c, 0, sizeof(c));
	put_greeting(&c, 0);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	/* Truncated everywhere: no ACK, then a reply cut short. */
	good_until_ack(&c);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	assert_int_equal(against(&c, false, 100, NULL), -ETIMEDOUT);	/* ...or stalled */
	for (i = 1; i < 18 + 32 + 34 + 20; i += 7) {
		good_until_ack(&c);
		put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
		c.n = (size_t)i;
		assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	}
	/* Huge lengths: refused before anything is read. */
	good_until_ack(&c);
	put_rep(&c, NBD_OPT_GO, NBD_REP_INFO, NULL, 0xffffffff);
	assert_int_equal(against(&c, false, TIMEOUT_MS, NULL), -EPROTO);
	good_until_ack(&c);
	put_rep(&c, NBD_OPT_GO, NBD_REP_ERR_POLICY, NULL, DBK_NBD_OPT_MAX + 1);
	assert_int_equal(against(&c, false, TIMEOUT_MS, NULL), -EPROTO);
	/* Bytes after the final ACK (they would reach the kernel's reply parser). */
	for (i = 1; i <= 20; i += 19) {
		good_until_ack(&c);
		put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
		put(&c, d, (size_t)i);
		assert_int_equal(against(&c, false, TIMEOUT_MS, NULL), -EPROTO);
		assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	}
	/* A reply to another option, a bad reply magic, an unknown reply type. */
	good_until_ack(&c);
	put_rep(&c, NBD_OPT_INFO, NBD_REP_ACK, NULL, 0);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	good_until_ack(&c);
	put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
	c.b[c.n - 20] ^= 1;
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	good_until_ack(&c);
	put_rep(&c, NBD_OPT_GO, NBD_REP_SERVER, d, 4);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	/* An ACK with data; an ACK before the export. */
	good_until_ack(&c);
	put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, d, 1);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	memset(&c, 0, sizeof(c));
	put_greeting(&c, NBD_FLAG_FIXED_NEWSTYLE);
	put_bs(&c, 512, 4096, 65536);
	put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	/* Info of the wrong length. */
	memset(&c, 0, sizeof(c));
	put_greeting(&c, NBD_FLAG_FIXED_NEWSTYLE);
	put_rep(&c, NBD_OPT_GO, NBD_REP_INFO, d, 13);		/* NBD_INFO_EXPORT, 13 */
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	good_until_ack(&c);
	dbk_nbd_put16(d, NBD_INFO_BLOCK_SIZE);
	put_rep(&c, NBD_OPT_GO, NBD_REP_INFO, d, 10);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	good_until_ack(&c);
	put_rep(&c, NBD_OPT_GO, NBD_REP_INFO, d, 1);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	/* Descriptions: taken when printable, 1 to DBK_BLOCK_ID_MAX bytes; else ignored. */
	{
		uint8_t desc[2 + DBK_BLOCK_ID_MAX + 1];

		dbk_nbd_put16(desc, NBD_INFO_DESCRIPTION);
		memset(desc + 2, 'x', sizeof(desc) - 2);
		good_until_ack(&c);
		put_rep(&c, NBD_OPT_GO, NBD_REP_INFO, desc, 2 + DBK_BLOCK_ID_MAX);
		put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
		assert_int_equal(against(&c, true, TIMEOUT_MS, &ex), 0);
		assert_int_equal(strlen(ex.description), DBK_BLOCK_ID_MAX);
		good_until_ack(&c);
		put_rep(&c, NBD_OPT_GO, NBD_REP_INFO, desc, 2 + DBK_BLOCK_ID_MAX + 1);	/* long */
		put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
		assert_int_equal(against(&c, true, TIMEOUT_MS, &ex), 0);
		assert_string_equal(ex.description, "");
		good_until_ack(&c);
		put_rep(&c, NBD_OPT_GO, NBD_REP_INFO, desc, 2);			/* empty */
		put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
		assert_int_equal(against(&c, true, TIMEOUT_MS, &ex), 0);
		assert_string_equal(ex.description, "");
		desc[5] = '/';
		desc[6] = 0;							/* a NUL */
		good_until_ack(&c);
		put_rep(&c, NBD_OPT_GO, NBD_REP_INFO, desc, 10);
		put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
		assert_int_equal(against(&c, true, TIMEOUT_MS, &ex), 0);
		assert_string_equal(ex.description, "");
		desc[6] = '\n';
		good_until_ack(&c);
		put_rep(&c, NBD_OPT_GO, NBD_REP_INFO, desc, 10);
		put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
		assert_int_equal(against(&c, true, TIMEOUT_MS, &ex), 0);
		assert_string_equal(ex.description, "");
		desc[6] = 'y';							/* '/' is printable: devbrokerd sanitizes */
		good_until_ack(&c);
		put_rep(&c, NBD_OPT_GO, NBD_REP_INFO, desc, 10);
		put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
		assert_int_equal(against(&c, true, TIMEOUT_MS, &ex), 0);
		assert_string_equal(ex.description, "xxx/yxxx");
	}
	/* Replies that never end. */
	good_until_ack(&c);
	for (i = 0; i < 40; i++)
		put_bs(&c, 512, 4096, 65536);
	put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	/* An error reply, with its message: its errno. */
	memset(&c, 0, sizeof(c));
	put_greeting(&c, NBD_FLAG_FIXED_NEWSTYLE);
	put_rep(&c, NBD_OPT_GO, NBD_REP_ERR_UNSUP, "no", 2);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EOPNOTSUPP);
	memset(&c, 0, sizeof(c));
	put_greeting(&c, NBD_FLAG_FIXED_NEWSTYLE);
	put_rep(&c, NBD_OPT_GO, NBD_REP_ERR_SHUTDOWN, NULL, 0);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -ESHUTDOWN);
	memset(&c, 0, sizeof(c));
	put_greeting(&c, NBD_FLAG_FIXED_NEWSTYLE);
	put_rep(&c, NBD_OPT_GO, NBD_REP_FLAG_ERROR | 77, NULL, 0);
	assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
}

/* Values out of range: size, flags and block sizes. */
static void test_client_values(void **state)
{
	static const struct { uint64_t size; uint16_t flags; uint32_t min, pref, max; } bad[] = {
		{ 0, NBD_FLAG_HAS_FLAGS, 512, 4096, 65536 },			/* size 0 */
		{ 1000, NBD_FLAG_HAS_FLAGS, 512, 4096, 65536 },			/* unaligned */
		{ UINT64_MAX - 511, NBD_FLAG_HAS_FLAGS, 512, 4096, 65536 },	/* > INT64_MAX */
		{ 1 << 20, 0, 512, 4096, 65536 },				/* no HAS_FLAGS */
		{ 1 << 20, NBD_FLAG_HAS_FLAGS | (1 << 15), 512, 4096, 65536 },	/* unknown flag */
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 1000, 4096, 65536 },		/* not a power of 2 */
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 512, 3000, 65536 },
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 256, 4096, 65536 },		/* below 512 */
		/* Above PAGE_SIZE: 6.1's blk_validate_block_size() refuses them. */
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 1 << 17, 1 << 17, 1 << 17 },
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 65536, 65536, 65536 },
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 8192, 8192, 1 << 20 },
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 512, 1 << 17, 1 << 17 },
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 512, 65536, 1 << 20 },
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 512, 8192, 1 << 20 },
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 4096, 512, 65536 },		/* pref < min */
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 4096, 4096, 6000 },		/* max not a multiple */
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 4096, 4096, 2048 },		/* max < min */
		/* A max that max_sectors_kb cannot hold (whole KiB, >= 4 KiB). */
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 512, 512, 512 },
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 512, 512, 3072 },
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 512, 512, 4608 },
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 512, 4096, 2048 },		/* max < pref */
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 512, 4096, UINT32_MAX - 1 },
		{ 1 << 20, NBD_FLAG_HAS_FLAGS, 0, 0, 0 },
	};
	struct dbk_nbd_export ex;
	struct canned c;
	unsigned int i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&c, 0, sizeof(c));
		put_greeting(&c, NBD_FLAG_FIXED_NEWSTYLE);
		put_bs(&c, bad[i].min, bad[i].pref, bad[i].max);
		put_export(&c, bad[i].size, bad[i].flags);
		put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
		assert_int_equal(against(&c, true, TIMEOUT_MS, NULL), -EPROTO);
	}
	/* The edges that pass: 4 KiB blocks, an unlimited maximum, unknown infos. */
	memset(&c, 0, sizeof(c));
	put_greeting(&c, NBD_FLAG_FIXED_NEWSTYLE);
	put_rep(&c, NBD_OPT_GO, NBD_REP_INFO, "\0\2desc", 6);		/* NBD_INFO_DESCRIPTION */
	put_bs(&c, 4096, 4096, UINT32_MAX);
	put_export(&c, 1 << 20, NBD_FLAG_HAS_FLAGS | NBD_FLAG_CAN_MULTI_CONN);
	put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
	assert_int_equal(against(&c, true, TIMEOUT_MS, &ex), 0);
	assert_int_equal(ex.max_block, UINT32_MAX);
	/* ...the smallest maximum, and one of whole KiB that is not a power of 2. */
	for (i = 0; i < 2; i++) {
		memset(&c, 0, sizeof(c));
		put_greeting(&c, NBD_FLAG_FIXED_NEWSTYLE);
		put_bs(&c, 512, i ? 512 : 4096, i ? 5120 : 4096);
		put_export(&c, 1 << 20, NBD_FLAG_HAS_FLAGS);
		put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
		assert_int_equal(against(&c, true, TIMEOUT_MS, &ex), 0);
		assert_int_equal(ex.max_block, i ? 5120 : 4096);
	}
	assert_int_equal(dbk_nbd_client_handshake(-1, 10, &ex), -EINVAL);
	assert_int_equal(dbk_nbd_client_handshake(0, -1, &ex), -EINVAL);
	assert_int_equal(dbk_nbd_client_handshake(0, 10, NULL), -EINVAL);
}

/*
 * A long handshake timeout: a poll that returns 0 before the deadline is
 * not the deadline.  poll() "times out" once at once (as a real one would
 * after its timeout, were it clamped below the deadline); the handshake
 * must poll again and succeed, and never ask for more than the deadline.
 */
static void test_client_long_timeout(void **state)
{
	struct dbk_nbd_export ex;
	struct canned c;

	(void)state;
	good_until_ack(&c);
	put_rep(&c, NBD_OPT_GO, NBD_REP_ACK, NULL, 0);
	atomic_store(&longest_poll, 0);
	atomic_store(&fake_expire, 1);
	assert_int_equal(against(&c, false, 3600 * 1000, &ex), 0);
	assert_int_equal(atomic_load(&fake_expire), 0);
	assert_true(atomic_load(&longest_poll) > 1000000);	/* not clamped to 1000 s */
	assert_true(atomic_load(&longest_poll) <= 3600 * 1000);
	atomic_store(&fake_expire, 3);
	assert_int_equal(against(&c, false, INT_MAX, &ex), 0);
	atomic_store(&fake_expire, 0);
	/* A short deadline still ends it. */
	memset(&c, 0, sizeof(c));
	assert_int_equal(against(&c, false, 50, NULL), -ETIMEDOUT);
}

/* ---- dbk_block_new()'s arguments ---- */

static void test_new_args(void **state)
{
	struct dbk_block_params p;
	struct dbk_block *b = NULL;
	int sv[2], fds[17], pfd[2], i;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
	assert_int_equal(dbk_block_new(NULL, 1, &params, &ops, NULL, &b), -EINVAL);
	assert_int_equal(dbk_block_new(sv, 0, &params, &ops, NULL, &b), -EINVAL);
	for (i = 0; i < 17; i++)
		fds[i] = sv[0];
	assert_int_equal(dbk_block_new(fds, 17, &params, &ops, NULL, &b), -EINVAL);
	assert_int_equal(dbk_block_new(fds, 2, &params, &ops, NULL, &b), -EINVAL);	/* twice */
	assert_int_equal(dbk_block_new(sv, 1, NULL, &ops, NULL, &b), -EINVAL);
	assert_int_equal(dbk_block_new(sv, 1, &params, NULL, NULL, &b), -EINVAL);
	assert_int_equal(dbk_block_new(sv, 1, &params, &ops, NULL, NULL), -EINVAL);
	{
		struct dbk_block_ops none = { 0 };

		assert_int_equal(dbk_block_new(sv, 1, &params, &none, NULL, &b), -EINVAL);
	}
	fds[0] = 1000;
	assert_int_equal(dbk_block_new(fds, 1, &params, &ops, NULL, &b), -EBADF);
	assert_int_equal(dbk_block_new(pfd, 1, &params, &ops, NULL, &b), -ENOTSOCK);
	for (i = 0; i < 13; i++) {
		p = params;
		switch (i) {
		/* A max_transfer that max_sectors_kb cannot hold. */
		case 10: p.max_transfer = 2048; break;
		case 11: p.max_transfer = 4608; break;
		case 12: p.block_size = 4096; p.max_transfer = 5120; break;
		case 0: p.size = 0; break;
		case 1: p.size = 1000; break;
		case 2: p.block_size = 256; break;
		case 3: p.block_size = 8192; break;
		case 4: p.block_size = 1000; break;
		case 5: p.max_transfer = 256; break;
		case 6: p.max_transfer = 1000; break;
		case 7: p.max_transfer = 64u << 20; break;
		case 8: p.flags = 1u << 6; break;
		case 9: p.size = UINT64_MAX - 511; break;
		}
		assert_int_equal(dbk_block_new(sv, 1, &p, &ops, NULL, &b), -EINVAL);
	}
	assert_null(b);
	assert_int_equal(dbk_block_run(NULL), -EINVAL);
	assert_int_equal(dbk_block_stop(NULL), -EINVAL);
	dbk_block_free(NULL);
	dbk_block_complete(NULL, 0);
	/* Failures leave the fds open; success owns them. */
	assert_true(fcntl(sv[0], F_GETFD) >= 0);
	assert_int_equal(dbk_block_new(sv, 2, &params, &ops, NULL, &b), 0);
	dbk_block_free(b);
	assert_true(fcntl(sv[0], F_GETFD) < 0);
	assert_true(fcntl(sv[1], F_GETFD) < 0);
	close(pfd[0]);
	close(pfd[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_args),
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_multi_conn),
		cmocka_unit_test(test_async_inflight),
		cmocka_unit_test(test_stop),
		cmocka_unit_test(test_poller),
		cmocka_unit_test(test_buffers),
		cmocka_unit_test(test_buffers_fault),
		cmocka_unit_test(test_read_buffer_zeroed),
		cmocka_unit_test(test_slow_reader),
		cmocka_unit_test(test_complete_twice),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_bad_handshakes),
		cmocka_unit_test(test_client_malicious),
		cmocka_unit_test(test_client_values),
		cmocka_unit_test(test_client_long_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
