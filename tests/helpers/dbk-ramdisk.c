// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A test block driver for devbrokerd's block frontend (Block=): a disk on
 * a file (in the guest's tmpfs, so that it outlives a SIGKILLed driver and
 * the restarted one serves the same data), served through libdev's
 * dbk_block_* on the sockets devbrokerd hands over.
 *
 * Usage: dbk-ramdisk DIR   (DIR/disk.img: the disk, its size the file's;
 * DIR/mode, read at each start, one word):
 *   normal   serve the disk
 *   garbage  answer every read with 16 bytes of junk on the socket (the
 *            kernel must fail the I/O, never hang)
 *   stall    never answer a read (a driver hung in its I/O path: the
 *            kernel times the request out and drops the connection, and
 *            devbrokerd must kill and restart the driver, whose thread
 *            waits for that read to complete forever)
 *   stranger answer every read with a well-formed reply to a request the
 *            kernel never sent (an unknown handle)
 *   silent   take the sockets and never answer the handshake
 *   lie      answer the handshake with junk
 *   noterm   serve the disk, ignoring SIGTERM (an orderly stop must
 *            end in revocation and SIGKILL after StopTimeoutSec=)
 * DIR/id, when there, read at each start too: its first line is the
 * disk's identity (dbk_block_set_id(): devbrokerd's by-id link).
 * It says its mode on stderr (devbrokerd's log).  Serving, SIGTERM stops
 * it in order: the requests in flight complete, then exit 0.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <linux/nbd.h>

#include <devbroker/block.h>
#include <devbroker/handover.h>


struct disk {
	int fd;			/* the backing file */
	int socks[DBK_HANDOVER_BLOCK_MAX];
	enum { SERVE, GARBAGE, STALL, STRANGER } mode;
};

static struct dbk_block *volatile the_disk;

static void on_term(int sig)
{
	(void)sig;
	if (the_disk)
		dbk_block_stop(the_disk);	/* async-signal-safe: an eventfd write */
}

static void submit(void *ctx, unsigned int queue, struct dbk_block_req *req)
{
	static const unsigned char junk[16] = { 0xde, 0xad, 0xbe, 0xef, 0xde, 0xad, 0xbe, 0xef,
						0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08 };
	struct disk *d = ctx;
	uint64_t off = dbk_block_req_offset(req);
	uint32_t len = dbk_block_req_length(req);
	void *buf = dbk_block_req_buf(req);
	ssize_t n = 0;
	int err = 0;

	switch (dbk_block_req_op(req)) {
	case DBK_BLOCK_READ:
		if (d->mode == GARBAGE) {
			/* Not a reply: the kernel must drop the connection. */
			if (write(d->socks[queue], junk, sizeof(junk)) < 0)
				err = -errno;
			dbk_block_complete(req, -EIO);
			return;
		}
		if (d->mode == STRANGER) {
			/* A reply, but to no request of the kernel's: it must drop the connection. */
			struct nbd_reply r = { .magic = htonl(NBD_REPLY_MAGIC) };

			memset(r.handle, 0xff, sizeof(r.handle));
			if (write(d->socks[queue], &r, sizeof(r)) < 0)
				err = -errno;
			dbk_block_complete(req, -EIO);
			return;
		}
		if (d->mode == STALL)
			return;		/* never completed: its connection's end waits for it */
		n = pread(d->fd, buf, len, (off_t)off);
		break;
	case DBK_BLOCK_WRITE:
		n = pwrite(d->fd, buf, len, (off_t)off);
		break;
	case DBK_BLOCK_FLUSH:
		/* The file outlives this process: written is durable enough. */
		break;
	default:
		err = -EOPNOTSUPP;
		break;
	}
	if (n < 0)
		err = -errno;
	else if (!err && (uint32_t)n != len && dbk_block_req_op(req) != DBK_BLOCK_FLUSH)
		err = -EIO;
	dbk_block_complete(req, err);
}

int main(int argc, char **argv)
{
	static const struct dbk_block_ops ops = { .submit = submit };
	struct dbk_block_params p = { .block_size = 512, .flags = DBK_BLOCK_F_FLUSH };
	struct disk d = { .fd = -1 };
	struct dbk_handover *h;
	struct dbk_block *b;
	char path[4096], mode[32] = "normal";
	struct stat st;
	int n, r, i;
	FILE *f;

	if (argc != 2) {
		fprintf(stderr, "usage: dbk-ramdisk DIR\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/mode", argv[1]);
	f = fopen(path, "re");
	if (f) {
		if (fscanf(f, "%31s", mode) != 1)
			strcpy(mode, "normal");
		fclose(f);
	}
	fprintf(stderr, "dbk-ramdisk: mode %s\n", mode);
	r = dbk_handover_get(&h);
	if (r) {
		fprintf(stderr, "dbk-ramdisk: hand-over: %s\n", strerror(-r));
		return 1;
	}
	n = dbk_handover_take_block_fds(h, d.socks, DBK_HANDOVER_BLOCK_MAX);
	dbk_handover_free(h);
	if (n < 0) {
		fprintf(stderr, "dbk-ramdisk: block fds: %s\n", strerror(-n));
		return 1;
	}
	if (!strcmp(mode, "silent")) {
		for (;;)
			pause();
	}
	if (!strcmp(mode, "lie")) {
		for (i = 0; i < n; i++)
			if (write(d.socks[i], "NOTMAGIC, NOT NBD AT ALL", 24) < 0)
				perror("dbk-ramdisk: write");
		for (;;)
			pause();
	}
	d.mode = !strcmp(mode, "garbage") ? GARBAGE : !strcmp(mode, "stall") ? STALL :
		 !strcmp(mode, "stranger") ? STRANGER : SERVE;
	snprintf(path, sizeof(path), "%s/disk.img", argv[1]);
	d.fd = open(path, O_RDWR | O_CLOEXEC);
	if (d.fd < 0 || fstat(d.fd, &st) < 0) {
		fprintf(stderr, "dbk-ramdisk: %s: %s\n", path, strerror(errno));
		return 1;
	}
	p.size = (uint64_t)st.st_size;
	r = dbk_block_new(d.socks, (unsigned int)n, &p, &ops, &d, &b);
	if (r) {
		fprintf(stderr, "dbk-ramdisk: dbk_block_new: %s\n", strerror(-r));
		return 1;
	}
	snprintf(path, sizeof(path), "%s/id", argv[1]);
	f = fopen(path, "re");
	if (f) {
		char id[DBK_BLOCK_ID_MAX + 2];

		if (fgets(id, sizeof(id), f)) {
			id[strcspn(id, "\n")] = 0;
			r = dbk_block_set_id(b, id);
			fprintf(stderr, "dbk-ramdisk: identity '%s': %s\n", id, r ? strerror(-r) : "set");
		}
		fclose(f);
	}
	if (!strcmp(mode, "noterm")) {
		signal(SIGTERM, SIG_IGN);
	} else {
		struct sigaction sa = { .sa_handler = on_term };

		sigemptyset(&sa.sa_mask);
		the_disk = b;
		sigaction(SIGTERM, &sa, NULL);
	}
	r = dbk_block_run(b);
	signal(SIGTERM, SIG_DFL);
	the_disk = NULL;
	fprintf(stderr, "dbk-ramdisk: dbk_block_run: %s\n", r ? strerror(-r) : "done");
	dbk_block_free(b);
	close(d.fd);
	return r ? 1 : 0;
}
