/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef NVME_SERVE_H
#define NVME_SERVE_H

#include "nvme.h"

/*
 * Serve namespace @nsid (0: the first usable one) of the controller @c,
 * brought up with its I/O queues, on the @nr_fds NBD sockets devbrokerd
 * handed over (they become the disk's, closed on return), until the
 * kernel disconnects, SIGTERM, or the grant is revoked; the controller is
 * shut down on a clean end.  Returns the exit status: 0, 1 (an error),
 * 3 (revoked or the controller failed: requests got EIO).
 */
int nvme_serve(struct nvme_ctrl *c, const int *fds, unsigned int nr_fds, uint32_t nsid);

#endif
