/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mountinfo.c: /proc/PID/mountinfo (proc(5)), read strictly.  Pure: the
 * sandbox (sandbox.c) decides what to do with each mount.
 */
#ifndef DBK_MOUNTINFO_H
#define DBK_MOUNTINFO_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct dbk_mountinfo {
	uint64_t id;			/* field 1: the mount ID (statx's stx_mnt_id) */
	uint64_t parent;		/* field 2 */
	unsigned int major, minor;	/* field 3: st_dev of its file system */
	const char *mount_point;	/* field 5, its \ooo escapes undone; in the reader's buffer */
};

struct dbk_mountinfo_reader {
	FILE *f;
	char *line;			/* getline()'s: whole lines, however long */
	size_t len;
	unsigned long skipped;		/* lines that were not well formed */
};

/*
 * The next well-formed line: 1, or 0 at the end (or on a read error).
 * A line is one getline() line, never a piece of one; every field up to
 * the mount point must be exactly what the kernel writes (digits only
 * for the numbers, single spaces, an absolute mount point), or the line
 * is skipped and counted.  @mi stays valid until the next call.
 */
int dbk_mountinfo_next(struct dbk_mountinfo_reader *r, struct dbk_mountinfo *mi);
void dbk_mountinfo_done(struct dbk_mountinfo_reader *r);

#endif /* DBK_MOUNTINFO_H */
