/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * devbrokerd's side of <devbroker/handover.h>, in the same file as the
 * driver's side (handover.c) so that the two cannot drift.  Not exported
 * by libdev: the broker and the test launcher link handover.c themselves.
 */
#ifndef DBK_HANDOVER_WRITER_H
#define DBK_HANDOVER_WRITER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "devbroker/handover.h"

/* What a driver is handed: each fd as the driver will see it, or -1. */
struct dbk_handover_spec {
	const char *device;
	int instance;
	int fd[DBK_HANDOVER_NR_FDS];
	int block_fd[DBK_HANDOVER_BLOCK_MAX];	/* the first nr_block, in queue order */
	unsigned int nr_block;
	uint32_t usb_interfaces;
	const char *usb_serial;		/* NULL: none */
	const char *fuse_mount;		/* NULL: none */
};

/* @s with nothing handed over yet: every fd -1, instance -1. */
void dbk_handover_spec_init(struct dbk_handover_spec *s);

/* The most environment entries dbk_handover_env() writes. */
#define DBK_HANDOVER_ENV_MAX	(DBK_HANDOVER_NR_FDS + 7)
/*
 * Room for them all: a mount point the reader takes (under PATH_MAX), a
 * device id (under 64) and a serial (under 256), and the names and numbers
 * (the block fds: up to DBK_HANDOVER_BLOCK_MAX of 11 characters each).
 */
#define DBK_HANDOVER_ENV_LEN	(PATH_MAX + 1024 + DBK_HANDOVER_BLOCK_MAX * 12)

/*
 * The environment entries that announce @s to the driver ("NAME=value"),
 * written into @buf (@len bytes) and pointed to by envp[0..n-1].
 * Returns n, or -ENOSPC (too little room), -EINVAL (@max too small, or
 * nr_block above DBK_HANDOVER_BLOCK_MAX).
 */
int dbk_handover_env(const struct dbk_handover_spec *s, char *buf, size_t len,
		     char **envp, size_t max);

/*
 * The same entries set in this process's environment (setenv), for a
 * launcher about to exec the driver itself.  0, or a negative errno.
 */
int dbk_handover_setenv(const struct dbk_handover_spec *s);

#endif /* DBK_HANDOVER_WRITER_H */
