/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file devbroker/block.h
 * @brief The block frontend: a disk (/dev/nbdN) served by the driver.
 *
 * devbrokerd hands the driver one connected socket per queue
 * (dbk_handover_take_block_fds()); the other ends are the kernel's nbd.
 * The library speaks the NBD protocol on them as the server (the fixed
 * newstyle handshake, then simple replies), so the driver only sees
 * requests: reads, writes, flushes, trims and write-zeroes, each at a byte
 * offset and length that are multiples of the block size and inside the
 * disk.  Anything else is answered or refused by the library.
 *
 * Completion is asynchronous: submit() may complete the request at once
 * (a simple driver) or later, from any thread (a driver with hardware
 * queues), and many requests may be in flight on each queue.  Each queue
 * is served by its own thread, started by dbk_block_run() (one queue: the
 * caller's own): submit() runs in the thread of its queue, so it may run
 * for several queues at once.
 *
 * @code
 * static void submit(void *ctx, unsigned int queue, struct dbk_block_req *req)
 * {
 *	struct disk *d = ctx;
 *	uint64_t off = dbk_block_req_offset(req);
 *	uint32_t len = dbk_block_req_length(req);
 *
 *	switch (dbk_block_req_op(req)) {
 *	case DBK_BLOCK_READ:
 *		memcpy(dbk_block_req_buf(req), d->mem + off, len);
 *		break;
 *	case DBK_BLOCK_WRITE:
 *		memcpy(d->mem + off, dbk_block_req_buf(req), len);
 *		break;
 *	default:
 *		break;
 *	}
 *	dbk_block_complete(req, 0);
 * }
 * @endcode
 *
 * The SDK's conventions: <devbroker/sdk.h>.
 */
#ifndef DEVBROKER_BLOCK_H
#define DEVBROKER_BLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include <devbroker/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Flags of struct dbk_block_params: what the disk can do. */
enum dbk_block_flags {
	DBK_BLOCK_F_FLUSH = 1 << 0,		/**< has a volatile cache: accepts flushes */
	DBK_BLOCK_F_FUA = 1 << 1,		/**< honours dbk_block_req_fua() on writes */
	DBK_BLOCK_F_TRIM = 1 << 2,		/**< accepts DBK_BLOCK_TRIM */
	DBK_BLOCK_F_WRITE_ZEROES = 1 << 3,	/**< accepts DBK_BLOCK_WRITE_ZEROES */
	DBK_BLOCK_F_READ_ONLY = 1 << 4,		/**< refuses every write (EPERM) */
	DBK_BLOCK_F_ROTATIONAL = 1 << 5		/**< a spinning disk (a scheduling hint) */
};

/** The disk, as the kernel will see it. */
struct dbk_block_params {
	uint64_t size;		/**< bytes: > 0, a multiple of @c block_size */
	uint32_t block_size;	/**< the logical block size: a power of two, 512..4096 */
	/**
	 * The longest read or write, in bytes: a multiple of @c block_size
	 * and of 1024, 4096 to 32 MiB; 0 for 128 KiB.  The library allocates
	 * each request's buffer, so this bounds the memory of one request.
	 * (devbrokerd sets the disk's max_sectors_kb to it, hence whole KiB
	 * and at least a page.)
	 *
	 * Linux 6.1's nbd cannot be told this limit in the handshake, and
	 * max_sectors_kb is set only after the disk is connected (and may be
	 * raised by an administrator, up to 32 MiB): a longer read or write
	 * can still arrive.  The library fails it with EINVAL (a write's
	 * payload is read and dropped) without calling submit(), and the
	 * connection goes on.
	 *
	 * Trims (and write-zeroes) are not bounded by it: they carry no
	 * payload, and 6.1 sends trims of up to ~4 GiB whatever this is
	 * (max_discard_sectors = UINT_MAX).  The library passes them to
	 * submit() whole (dbk_block_req_length() up to 4 GiB - block_size);
	 * a driver whose hardware takes less splits them.
	 */
	uint32_t max_transfer;
	uint32_t flags;		/**< enum dbk_block_flags */
};

/** One request of the kernel (opaque); valid until dbk_block_complete(). */
struct dbk_block_req;

/** What a request asks. */
enum dbk_block_op {
	DBK_BLOCK_READ,		/**< fill dbk_block_req_buf() */
	DBK_BLOCK_WRITE,	/**< store dbk_block_req_buf() */
	DBK_BLOCK_FLUSH,	/**< make every completed write durable (offset and length 0) */
	DBK_BLOCK_TRIM,		/**< the range's data is no longer needed */
	DBK_BLOCK_WRITE_ZEROES	/**< the range reads back as zeroes */
};

/** The driver's side. */
struct dbk_block_ops {
	/**
	 * A request, already checked: in range, aligned, and of an operation
	 * the params allow.  Complete it exactly once with
	 * dbk_block_complete(), now or later, from any thread.
	 *
	 * @param ctx the @c ctx of dbk_block_new()
	 * @param queue the queue (the index of its fd in dbk_block_new())
	 * @param req the request
	 */
	void (*submit)(void *ctx, unsigned int queue, struct dbk_block_req *req);
};

/** A disk served on NBD connections (opaque). */
struct dbk_block;

/** The operation of @p req. */
enum dbk_block_op dbk_block_req_op(const struct dbk_block_req *req);

/** The byte offset of @p req (a multiple of the block size; 0 for a flush). */
uint64_t dbk_block_req_offset(const struct dbk_block_req *req);

/** The length in bytes of @p req (a multiple of the block size; 0 for a flush). */
uint32_t dbk_block_req_length(const struct dbk_block_req *req);

/**
 * The data of @p req (dbk_block_req_length() bytes, aligned to 4096): for a
 * read, the buffer to fill (zeroes until then: a read completed with 0 and
 * not filled returns zeroes, never older data; not so for a buffer the
 * driver lent, dbk_block_set_buffers()); for a write, the data.  NULL for
 * other operations.
 */
void *dbk_block_req_buf(struct dbk_block_req *req);

/**
 * Whether a write (or write-zeroes, or trim) must be durable before it
 * completes (Forced Unit Access).  Only set if DBK_BLOCK_F_FUA was given.
 */
bool dbk_block_req_fua(const struct dbk_block_req *req);

/**
 * Whether a DBK_BLOCK_WRITE_ZEROES must leave the range allocated (write
 * zeroes rather than deallocate).  Otherwise the driver may deallocate it,
 * as long as it reads back as zeroes.
 */
bool dbk_block_req_no_hole(const struct dbk_block_req *req);

/** The queue @p req arrived on. */
unsigned int dbk_block_req_queue(const struct dbk_block_req *req);

/**
 * Complete @p req and free it: the reply goes to the kernel (with the data
 * of a successful read), at once, or, for a request that a poller
 * (dbk_block_set_poller()) completes in its own queue's thread, when the
 * poller returns.  Exactly once per request; from any thread,
 * including inside submit().  Completing a request twice is a bug in the
 * driver, like a double free, and is treated like one: the library prints
 * a message on stderr and aborts.  (Best effort, as for free(): the
 * library reuses a request's memory, so a pointer kept long after its
 * completion may by then be another request's.)
 *
 * @param req the request; invalid afterwards
 * @param err 0, or a negative errno (the kernel fails the I/O; -EPERM,
 *        -EIO, -ENOMEM, -EINVAL, -ENOSPC, -EOVERFLOW, -EOPNOTSUPP and
 *        -ESHUTDOWN travel as themselves, others as -EIO)
 */
void dbk_block_complete(struct dbk_block_req *req, int err);

/**
 * Create a disk served on @p nr connected NBD sockets, one queue each.
 * Nothing is read or written before dbk_block_run().  On success the disk
 * owns the fds (dbk_block_free() closes them); on failure they stay open.
 *
 * @param fds the sockets, in queue order (dbk_handover_take_block_fds())
 * @param nr how many: 1..16 (the kernel is told the disk can take several
 *        connections when @p nr > 1: flushes and FUA writes must then be
 *        durable for every queue when they complete)
 * @param p the disk (copied)
 * @param ops the driver's side (copied)
 * @param ctx passed to submit()
 * @param[out] out the disk; set only on success
 * @return 0, -EINVAL (NULL argument, bad params or flags, an fd repeated),
 *         -EBADF (an fd not open), -ENOTSOCK (an fd not a socket), -ENOMEM
 */
int dbk_block_new(const int *fds, unsigned int nr, const struct dbk_block_params *p,
		  const struct dbk_block_ops *ops, void *ctx, struct dbk_block **out);

/**
 * A queue's poller (dbk_block_set_poller()): reap what the hardware
 * completed for @p queue and dbk_block_complete() it, without blocking.
 *
 * @param ctx the @c ctx of dbk_block_new()
 * @param queue the queue whose thread calls it
 * @return how long, in milliseconds, the queue's thread may sleep (on its
 *         socket, the poller's fd and dbk_block_stop()) before it calls the
 *         poller again: -1 for as long as it takes, 0 not at all (busy
 *         polling).  Return a finite time while requests are in flight
 *         that only the poller can see end (a command timeout to check).
 */
typedef int (*dbk_block_poll_fn)(void *ctx, unsigned int queue);

/**
 * Complete @p queue's requests in the queue's own thread.
 *
 * Without a poller, a driver with hardware queues completes requests from
 * a thread of its own, woken by the device's interrupt: every request then
 * costs two wakeups in the driver (the queue's thread for the request, the
 * driver's for its completion) and the reply crosses threads.  With one,
 * the queue's thread waits on the driver's @p fd (an interrupt's eventfd,
 * dbk_irq_get_fd()) beside its socket, and runs @p poll before every wait
 * (for the next request, for a free request slot, or for the requests in
 * flight to end when the connection ends) and whenever @p fd is readable:
 * requests that arrive together are submitted together, and their
 * completions are sent from where they were reaped: what @p poll completes
 * of @p queue's requests is replied to when it returns, in as few writes
 * as the socket allows (the kernel's receiver then reads them in one
 * wakeup), and buffers the driver lent them (dbk_block_set_buffers()) go
 * back only then.  Completions may still come from other threads
 * (dbk_block_complete() is thread-safe), but a thread waiting for its
 * requests in flight then sees them only at its next look, within 50 ms.
 *
 * @p poll must not block, and must consume @p fd's readiness (read the
 * eventfd), or it is called again at once.  The thread does not call it
 * while a reply waits for room in the socket (the kernel reads replies
 * independently of the requests it sends).  Call before dbk_block_run();
 * @p fd must stay open until dbk_block_run() has returned.
 *
 * @since SDK 1.5 (DEVBROKER_1.5)
 *
 * @param b the disk
 * @param queue the queue (0 to @c nr - 1 of dbk_block_new())
 * @param fd watched for reading, or -1 (then @p poll runs only before
 *        waits, and when the time it returned has passed); not closed by
 *        the library
 * @param poll the poller
 * @return 0, or -EINVAL (NULL @p b or @p poll, no such queue, or the disk
 *         already runs)
 */
int dbk_block_set_poller(struct dbk_block *b, unsigned int queue, int fd,
			 dbk_block_poll_fn poll);

/**
 * Lend a buffer for a read or write of @p len bytes on @p queue
 * (dbk_block_set_buffers()).  Called in the queue's thread when the
 * request's header has arrived (before a write's data is received into
 * the buffer); must not wait for long (a short lock is fine).
 *
 * @param ctx the @c ctx of dbk_block_new()
 * @param queue the queue
 * @param len the request's length: 1 to the disk's max_transfer
 * @return @p len bytes or more, aligned to 4096, until put() gets them
 *         back; or NULL, and the request gets the library's own buffer
 */
typedef void *(*dbk_block_buf_get_fn)(void *ctx, unsigned int queue, uint32_t len);

/**
 * Take back a buffer that @c get lent (dbk_block_set_buffers()): the
 * request it served is over (its reply sent, or it was refused before
 * submit()).  Called exactly once per lent buffer, from any thread that
 * completes a request, after dbk_block_complete() has returned for a
 * request a poller completed in its own queue's thread (once the poller
 * has returned and the reply is sent); must not wait for long.
 *
 * @param ctx the @c ctx of dbk_block_new()
 * @param queue the queue it was lent for
 * @param buf what @c get returned
 */
typedef void (*dbk_block_buf_put_fn)(void *ctx, unsigned int queue, void *buf);

/**
 * Serve @p queue's reads and writes from the driver's own buffers.
 *
 * By default a request's data lives in memory of the library's, so a
 * driver whose device moves data by DMA copies it between that memory
 * and its DMA buffers (a bounce).  With a lender, the library asks @p get
 * for each read or write's buffer before it takes the request, receives a
 * write's data straight into it and sends a read's reply straight from
 * it, and gives it back with @p put once the reply is sent; the driver
 * recognizes its own buffer in dbk_block_req_buf() and lets the device
 * transfer into or out of it.  A NULL from @p get is not an error: that
 * request uses the library's memory, as without a lender, so the driver
 * must serve both kinds.
 *
 * A lent buffer is passed on as it is: unlike the library's own, a read's
 * buffer is not zeroed first.  A read completed with 0 sends its whole
 * length to the kernel, so the driver must complete reads with 0 only
 * once every byte is the disk's data (for a device: once it reported the
 * transfer done, after which it must not write the buffer again).  A
 * buffer given back after a request the driver failed may still be the
 * target of a transfer the device was not seen to end (a controller that
 * stopped answering): the driver must not lend it again until the
 * device is known to have stopped.
 *
 * A lent buffer that the library's system calls cannot read or write
 * (EFAULT: a revoked grant's DMA mapping) fails a write with EIO; a read
 * whose reply cannot be sent from it ends its connection, as any failed
 * reply does.
 *
 * Call before dbk_block_run(); both NULL takes the lender away.
 *
 * @since SDK 1.6 (DEVBROKER_1.6)
 *
 * @param b the disk
 * @param queue the queue (0 to @c nr - 1 of dbk_block_new())
 * @param get the lender, or NULL
 * @param put its return, or NULL; given exactly when @p get is
 * @return 0, or -EINVAL (NULL @p b, no such queue, only one of @p get and
 *         @p put, or the disk already runs)
 */
int dbk_block_set_buffers(struct dbk_block *b, unsigned int queue, dbk_block_buf_get_fn get,
			  dbk_block_buf_put_fn put);

/** The longest identity of dbk_block_set_id(), in bytes. */
#define DBK_BLOCK_ID_MAX 128

/**
 * The disk's identity: what stays the same wherever the device is plugged
 * and whichever driver instance serves it, as udev's ID_SERIAL (an NVMe
 * drive: its model and serial number, "QEMU NVMe Ctrl_dbk0001").  It is
 * sent to the client in the handshake (NBD_INFO_DESCRIPTION), and
 * devbrokerd links /dev/disk/by-id/devbroker-MANIFEST+ID to the disk, with
 * each character other than letters, digits, '.', '_' and '-' made '_'
 * (a link another disk holds already is left to it).
 *
 * Call before dbk_block_run().
 *
 * @since SDK 1.7 (DEVBROKER_1.7)
 *
 * @param b the disk
 * @param id 1 to DBK_BLOCK_ID_MAX printable ASCII characters (0x20 to
 *        0x7e), copied; NULL takes the identity away
 * @return 0, or -EINVAL (NULL @p b, an empty, longer or unprintable @p id,
 *         or the disk already runs)
 */
int dbk_block_set_id(struct dbk_block *b, const char *id);

/**
 * Serve every queue, one thread each, until all connections have ended
 * (the kernel disconnected, or dbk_block_stop()).  A connection's thread
 * waits for its requests in flight before it ends.  Call once.  A disk of
 * one queue is served in the calling thread, which starts no other: a
 * driver that must stay single-threaded (a USB driver, whose usbfs
 * requests devbroker's policy refuses from a process with several
 * threads) completes each request inside submit().
 *
 * @param b the disk
 * @return 0 (every connection ended cleanly: stopped, NBD_CMD_DISC or
 *         NBD_OPT_ABORT, or the peer closed it between requests), the
 *         first connection error (-EPROTO: a peer broke the protocol or
 *         closed in the middle of a message, and that connection was
 *         closed; or a socket's errno), -EINVAL, -EALREADY (called
 *         before), or the errno of a failed thread start
 */
int dbk_block_run(struct dbk_block *b);

/**
 * Make dbk_block_run() return soon: each connection stops taking requests,
 * waits for its requests in flight, and ends.  Async-signal-safe and
 * thread-safe (it only writes to an eventfd).
 *
 * @param b the disk
 * @return 0 or -EINVAL
 */
int dbk_block_stop(struct dbk_block *b);

/**
 * Free the disk and close its fds.  Not while dbk_block_run() runs.
 *
 * @param b the disk, or NULL
 */
void dbk_block_free(struct dbk_block *b);

#ifdef __cplusplus
}
#endif

#endif /* DEVBROKER_BLOCK_H */
