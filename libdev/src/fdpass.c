/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdev: passing fds with SCM_RIGHTS.
 *
 * Wire format of one message: a 16-byte header, then hdr.len payload bytes;
 * the fds travel as one SCM_RIGHTS control message attached to the first
 * byte.  The header lets the receiver check that it got exactly what was
 * sent: a message that disagrees with its header is rejected and every fd
 * that came with it is closed, so a confused or hostile peer cannot leave
 * fds behind in the receiver.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "libdev-private.h"

#define FDPASS_MAGIC	0x464b4244u	/* "DBKF" */
#define FDPASS_VERSION	1

struct fdpass_hdr {
	uint32_t magic;
	uint16_t version;
	uint16_t nfds;
	uint32_t len;
	uint32_t reserved;
};

/* Room for the most fds we accept plus credentials, suitably aligned. */
union fdpass_cmsg {
	struct cmsghdr align;
	char buf[CMSG_SPACE(sizeof(int) * DBK_FDPASS_MAX_FDS) +
		 CMSG_SPACE(sizeof(struct ucred))];
};

DBK_EXPORT int dbk_send_fds(int sock, const void *data, size_t len,
			    const int *fds, size_t nfds)
{
	struct fdpass_hdr hdr;
	union fdpass_cmsg cm;
	struct iovec iov[2];
	struct msghdr msg;
	size_t total, sent = 0;
	size_t i;

	if (sock < 0 || (len && !data) || (nfds && !fds))
		return -EINVAL;
	if (len > DBK_FDPASS_MAX_PAYLOAD || nfds > DBK_FDPASS_MAX_FDS)
		return -EMSGSIZE;
	for (i = 0; i < nfds; i++)
		if (fds[i] < 0)
			return -EINVAL;

	memset(&hdr, 0, sizeof(hdr));
	hdr.magic = FDPASS_MAGIC;
	hdr.version = FDPASS_VERSION;
	hdr.nfds = (uint16_t)nfds;
	hdr.len = (uint32_t)len;
	total = sizeof(hdr) + len;

	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov[0].iov_base = &hdr;
	iov[0].iov_len = sizeof(hdr);
	iov[1].iov_base = (void *)data;
	iov[1].iov_len = len;
	msg.msg_iov = iov;
	msg.msg_iovlen = len ? 2 : 1;
	if (nfds) {
		struct cmsghdr *c;

		msg.msg_control = cm.buf;
		msg.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}

	/* A stream socket may take it in pieces; the fds go with the first. */
	while (sent < total) {
		ssize_t n = sendmsg(sock, &msg, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		sent += (size_t)n;
		msg.msg_control = NULL;
		msg.msg_controllen = 0;
		while (msg.msg_iovlen && (size_t)n >= msg.msg_iov[0].iov_len) {
			n -= (ssize_t)msg.msg_iov[0].iov_len;
			msg.msg_iov++;
			msg.msg_iovlen--;
		}
		if (msg.msg_iovlen) {
			msg.msg_iov[0].iov_base = (char *)msg.msg_iov[0].iov_base + n;
			msg.msg_iov[0].iov_len -= (size_t)n;
		}
	}
	return 0;
}

static void close_all(const int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

static ssize_t recv_full(int sock, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(sock, (char *)buf + got, len - got, MSG_WAITALL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

DBK_EXPORT ssize_t dbk_recv_fds(int sock, void *data, size_t len, int *fds,
				size_t *nfds)
{
	struct {
		struct fdpass_hdr hdr;
		char payload[DBK_FDPASS_MAX_PAYLOAD];
	} m;
	union fdpass_cmsg cm;
	int got[DBK_FDPASS_MAX_FDS];
	size_t ngot = 0, payload;
	struct cmsghdr *c;
	struct iovec iov;
	struct msghdr msg;
	int type, err = 0;
	socklen_t tl = sizeof(type);
	bool stream;
	ssize_t n;

	if (sock < 0 || !nfds || (*nfds && !fds) || (len && !data))
		return -EINVAL;
	if (getsockopt(sock, SOL_SOCKET, SO_TYPE, &type, &tl) < 0)
		return -errno;
	stream = type == SOCK_STREAM;

	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = &m;
	/* On a stream read the header alone first: never into the next message. */
	iov.iov_len = stream ? sizeof(m.hdr) : sizeof(m);
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | (stream ? MSG_WAITALL : 0));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	/* Collect every fd that arrived, whatever else is wrong. */
	for (c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			size_t k, cnt = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			const unsigned char *p = CMSG_DATA(c);

			for (k = 0; k < cnt; k++) {
				int fd;

				memcpy(&fd, p + k * sizeof(int), sizeof(int));
				if (ngot < DBK_FDPASS_MAX_FDS)
					got[ngot++] = fd;
				else
					close(fd);	/* more than we accept: the room for
							 * credentials took extra fds */
			}
		} else if (!(c->cmsg_level == SOL_SOCKET &&
			     c->cmsg_type == SCM_CREDENTIALS)) {
			err = -EBADMSG;
		}
	}

	if (msg.msg_flags & MSG_CTRUNC) {
		err = -EMSGSIZE;	/* more fds than we accept: some were dropped */
		goto fail;
	}
	if (n == 0 && ngot == 0 && !(msg.msg_flags & MSG_TRUNC)) {
		err = -ENOTCONN;	/* end of file */
		goto fail;
	}
	if (msg.msg_flags & MSG_TRUNC) {
		err = -EMSGSIZE;
		goto fail;
	}
	if (err)
		goto fail;
	if ((size_t)n < sizeof(m.hdr) || m.hdr.magic != FDPASS_MAGIC ||
	    m.hdr.version != FDPASS_VERSION || m.hdr.reserved != 0 ||
	    m.hdr.len > DBK_FDPASS_MAX_PAYLOAD || m.hdr.nfds != ngot) {
		err = -EBADMSG;
		goto fail;
	}
	payload = (size_t)n - sizeof(m.hdr);
	if (stream && m.hdr.len) {
		ssize_t r = recv_full(sock, m.payload, m.hdr.len);

		if (r < 0) {
			err = (int)r;
			goto fail;
		}
		payload = (size_t)r;
	}
	if (payload != m.hdr.len) {
		err = -EBADMSG;
		goto fail;
	}
	if (m.hdr.len > len || ngot > *nfds) {
		err = -EMSGSIZE;
		goto fail;
	}
	if (m.hdr.len)
		memcpy(data, m.payload, m.hdr.len);
	if (ngot)
		memcpy(fds, got, ngot * sizeof(int));
	*nfds = ngot;
	return (ssize_t)m.hdr.len;
fail:
	close_all(got, ngot);
	*nfds = 0;
	return err;
}
