// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The request loop the CUSE and FUSE-file frontends share: one thread,
 * libfuse's low-level session, and an eventfd that stops it from a signal
 * handler (fuse_session_loop() would need a signal to interrupt it).
 */
#define FUSE_USE_VERSION 31
#include <fuse3/fuse_lowlevel.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libdev-private.h"

int dbk__fuse_serve(struct fuse_session *se, int stop_fd, const bool *gone, bool *ended)
{
	struct fuse_buf fbuf;
	int r = 0;

	memset(&fbuf, 0, sizeof(fbuf));
	while (!fuse_session_exited(se)) {
		struct pollfd p[2] = {
			{ .fd = fuse_session_fd(se), .events = POLLIN },
			{ .fd = stop_fd, .events = POLLIN },
		};
		uint64_t v;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		if (p[1].revents & POLLIN) {
			if (read(stop_fd, &v, sizeof(v)) < 0) { /* drained */ }
			break;
		}
		/* POLLERR: the connection was aborted (unmounted, or the device node went). */
		if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
			if (ended)
				*ended = true;
			break;
		}
		if (!(p[0].revents & POLLIN))
			continue;
		r = fuse_session_receive_buf(se, &fbuf);
		if (r == -EINTR || r == -EAGAIN) {
			r = 0;
			continue;
		}
		if (r == 0 && ended)
			*ended = true;	/* ENODEV: the kernel ended the connection */
		if (r <= 0)
			break;
		fuse_session_process_buf(se, &fbuf);
		r = 0;
		if (gone && *gone) {
			r = -ENODEV;
			break;
		}
	}
	free(fbuf.mem);
	return r < 0 ? r : 0;
}
