/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdev internals of the USB-era frontends (fusefile.c), shared with the
 * unit tests, which link the static archive and may call these.
 */
#ifndef LIBDEV_FRONTEND_PRIVATE_H
#define LIBDEV_FRONTEND_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "devbroker/frontend.h"

/*
 * The part of a @size-byte access at @off that lies inside a file of
 * @fsize bytes, in *@n.  Reads: *@n is 0 at or past the end (end of file).
 * Writes: -ENOSPC when a non-empty write starts at or past the end (the
 * file never grows), else *@n may be short.  -EINVAL for a negative @off.
 */
int dbk__fuse_span(uint64_t fsize, int64_t off, size_t size, bool write,
		   size_t *n);

/*
 * May a caller (@uid, @gid) access a node of permission bits @mode owned by
 * @owner:@group for @mask (R_OK | W_OK | X_OK)?  uid 0 may do anything but
 * execute a node without any x bit (as with CAP_DAC_OVERRIDE); supplementary
 * groups are not considered.  0 or -EACCES.
 */
int dbk__fuse_access(unsigned int mode, uid_t owner, gid_t group, uid_t uid,
		     gid_t gid, int mask);

/* dbk_fuse_file_new() without the check that @fd is /dev/fuse, so that a
 * test can speak the FUSE protocol over a socketpair. */
int dbk__fuse_file_new_any(int fd, const char *name, uint64_t size,
			   unsigned int mode, const struct dbk_fuse_file_ops *ops,
			   void *data, struct dbk_fuse_file **filep);

#endif /* LIBDEV_FRONTEND_PRIVATE_H */
