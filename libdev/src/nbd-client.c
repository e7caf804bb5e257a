// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The NBD client's handshake (nbd-proto.h), which devbrokerd runs on its
 * end of each socketpair before giving it to the kernel's nbd.  The server
 * is a driver: nothing it sends is trusted, every read is bounded by the
 * one deadline, and every length is checked before anything is read.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "nbd-proto.h"

/* The most option replies one NBD_OPT_GO may take (infos, then the ACK). */
#define MAX_REPLIES	32

struct conn {
	int fd;
	struct timespec deadline;
};

static int remaining_ms(const struct conn *c)
{
	struct timespec now;
	long long ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (c->deadline.tv_sec - now.tv_sec) * 1000LL +
	     (c->deadline.tv_nsec - now.tv_nsec) / 1000000;
	/* The deadline is at most INT_MAX ms away (timeout_ms is an int). */
	return ms < 0 ? 0 : ms > INT_MAX ? INT_MAX : (int)ms;
}

/*
 * Wait for @events on the socket until the deadline.  A poll that times
 * out is only the end if the deadline has passed: poll may be woken early
 * (a signal, a clock step) and the deadline is what bounds the handshake.
 */
static int wait_for(const struct conn *c, short events)
{
	struct pollfd p = { .fd = c->fd, .events = events };
	int ms, r;

	for (;;) {
		ms = remaining_ms(c);
		r = poll(&p, 1, ms);
		if (r < 0 && errno == EINTR)
			continue;
		if (r != 0 || ms == 0)
			break;
	}
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	if (p.revents & POLLNVAL)
		return -EBADF;
	return 0;
}

static int recv_all(const struct conn *c, void *buf, size_t len)
{
	uint8_t *p = buf;
	ssize_t n;
	int r;

	while (len) {
		r = wait_for(c, POLLIN);
		if (r < 0)
			return r;
		n = recv(c->fd, p, len, MSG_DONTWAIT);
		if (n == 0)
			return -EPROTO;		/* the server closed mid-handshake */
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int send_all(const struct conn *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	ssize_t n;
	int r;

	while (len) {
		r = wait_for(c, POLLOUT);
		if (r < 0)
			return r;
		n = send(c->fd, p, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int rep_errno(uint32_t type)
{
	switch (type) {
	case NBD_REP_ERR_UNSUP:
	case NBD_REP_ERR_PLATFORM:	return -EOPNOTSUPP;
	case NBD_REP_ERR_POLICY:	return -EACCES;
	case NBD_REP_ERR_INVALID:	return -EINVAL;
	case NBD_REP_ERR_UNKNOWN:	return -ENOENT;
	case NBD_REP_ERR_SHUTDOWN:	return -ESHUTDOWN;
	case NBD_REP_ERR_TOO_BIG:	return -E2BIG;
	default:			return -EPROTO;
	}
}

/* The rules of proto.md, and the ranges the kernel's nbd can serve. */
static int check_export(const struct dbk_nbd_export *ex)
{
	if (!dbk_nbd_is_pow2(ex->min_block) || ex->min_block < DBK_NBD_BLOCK_MIN ||
	    ex->min_block > DBK_NBD_BLOCK_MAX)
		return -EPROTO;
	if (!dbk_nbd_is_pow2(ex->pref_block) || ex->pref_block < ex->min_block ||
	    ex->pref_block > DBK_NBD_BLOCK_MAX)
		return -EPROTO;
	/* max_block: what max_sectors_kb can hold (see nbd-proto.h), or no limit. */
	if (ex->max_block != UINT32_MAX &&
	    (ex->max_block < ex->pref_block || ex->max_block < DBK_NBD_XFER_MIN ||
	     ex->max_block % DBK_NBD_XFER_ALIGN || ex->max_block % ex->min_block))
		return -EPROTO;
	if (ex->size == 0 || ex->size > INT64_MAX || ex->size % ex->min_block)
		return -EPROTO;
	if (!(ex->flags & NBD_FLAG_HAS_FLAGS) || (ex->flags & ~DBK_NBD_FLAGS_KNOWN))
		return -EPROTO;
	return 0;
}

/* One NBD_REP_INFO's data (@len bytes, at most DBK_NBD_OPT_MAX). */
static int take_info(const uint8_t *d, uint32_t len, struct dbk_nbd_export *ex,
		     bool *have_export)
{
	if (len < 2)
		return -EPROTO;
	switch (dbk_nbd_get16(d)) {
	case NBD_INFO_EXPORT:
		if (len != 12)
			return -EPROTO;
		ex->size = dbk_nbd_get64(d + 2);
		ex->flags = dbk_nbd_get16(d + 10);
		*have_export = true;
		return 0;
	case NBD_INFO_BLOCK_SIZE:
		if (len != 14)
			return -EPROTO;
		ex->min_block = dbk_nbd_get32(d + 2);
		ex->pref_block = dbk_nbd_get32(d + 6);
		ex->max_block = dbk_nbd_get32(d + 10);
		return 0;
	case NBD_INFO_DESCRIPTION:
		/*
		 * Free text to proto.md (UTF-8, any length): an identity for
		 * devbrokerd's link only when dbk_block_set_id() could have
		 * sent it, else none (an NBD server of another make is not
		 * refused for its description).
		 */
		ex->description[0] = 0;
		if (!dbk_nbd_id_ok((const char *)d + 2, len - 2))
			return 0;
		memcpy(ex->description, d + 2, len - 2);
		ex->description[len - 2] = 0;
		return 0;
	default:
		return 0;	/* names, newer infos: ignored */
	}
}

/*
 * After the final ACK the server speaks only in replies to the kernel's
 * requests: bytes already queued would be fed to the kernel's reply parser.
 * (Bytes sent later reach it anyway, which it survives by dropping the
 * connection; this only refuses a server that is broken from the start.)
 * A server that has closed is not refused: the kernel sees it dead at once.
 */
static int nothing_queued(const struct conn *c)
{
	uint8_t b;
	ssize_t n;

	do {
		n = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	return n > 0 ? -EPROTO : 0;
}

static int handshake(const struct conn *c, struct dbk_nbd_export *ex)
{
	uint8_t buf[DBK_NBD_OPT_MAX], *p;
	bool have_export = false;
	uint32_t type, len;
	uint16_t hflags;
	int i, r;

	/* S: NBDMAGIC, IHAVEOPT, handshake flags. */
	r = recv_all(c, buf, 18);
	if (r < 0)
		return r;
	if (dbk_nbd_get64(buf) != NBD_MAGIC || dbk_nbd_get64(buf + 8) != NBD_IHAVEOPT)
		return -EPROTO;
	hflags = dbk_nbd_get16(buf + 16);
	if (!(hflags & NBD_FLAG_FIXED_NEWSTYLE))
		return -EPROTO;

	/* C: client flags, then NBD_OPT_GO: no name, two info requests. */
	p = buf;
	dbk_nbd_put32(p, NBD_FLAG_C_FIXED_NEWSTYLE |
		      (hflags & NBD_FLAG_NO_ZEROES ? NBD_FLAG_C_NO_ZEROES : 0));
	dbk_nbd_put64(p + 4, NBD_IHAVEOPT);
	dbk_nbd_put32(p + 12, NBD_OPT_GO);
	dbk_nbd_put32(p + 16, 4 + 2 + 2 * 2);
	dbk_nbd_put32(p + 20, 0);			/* name length */
	dbk_nbd_put16(p + 24, 2);			/* info requests */
	dbk_nbd_put16(p + 26, NBD_INFO_BLOCK_SIZE);
	dbk_nbd_put16(p + 28, NBD_INFO_DESCRIPTION);
	r = send_all(c, buf, 30);
	if (r < 0)
		return r;

	/* S: NBD_REP_INFO..., then NBD_REP_ACK or an error. */
	ex->min_block = DBK_NBD_BLOCK_MIN;
	ex->pref_block = 4096;
	ex->max_block = 32u << 20;
	for (i = 0; i < MAX_REPLIES; i++) {
		r = recv_all(c, buf, DBK_NBD_REP_HDR_LEN);
		if (r < 0)
			return r;
		if (dbk_nbd_get64(buf) != NBD_REP_MAGIC ||
		    dbk_nbd_get32(buf + 8) != NBD_OPT_GO)
			return -EPROTO;
		type = dbk_nbd_get32(buf + 12);
		len = dbk_nbd_get32(buf + 16);
		if (len > DBK_NBD_OPT_MAX)
			return -EPROTO;
		r = recv_all(c, buf, len);
		if (r < 0)
			return r;
		if (type & NBD_REP_FLAG_ERROR)
			return rep_errno(type);
		if (type == NBD_REP_ACK) {
			if (len || !have_export)
				return -EPROTO;
			r = check_export(ex);
			return r ? r : nothing_queued(c);
		}
		if (type != NBD_REP_INFO)
			return -EPROTO;
		r = take_info(buf, len, ex, &have_export);
		if (r < 0)
			return r;
	}
	return -EPROTO;		/* a server that never ends its replies */
}

int dbk_nbd_client_handshake(int fd, int timeout_ms, struct dbk_nbd_export *ex)
{
	struct dbk_nbd_export tmp;
	struct conn c = { .fd = fd };
	int r;

	if (fd < 0 || timeout_ms < 0 || !ex)
		return -EINVAL;
	clock_gettime(CLOCK_MONOTONIC, &c.deadline);
	c.deadline.tv_sec += timeout_ms / 1000;
	c.deadline.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (c.deadline.tv_nsec >= 1000000000L) {
		c.deadline.tv_sec++;
		c.deadline.tv_nsec -= 1000000000L;
	}
	memset(&tmp, 0, sizeof(tmp));
	r = handshake(&c, &tmp);
	if (r == 0)
		*ex = tmp;
	return r;
}
