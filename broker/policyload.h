/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The broker's one launcher of the policy loader, dbk-policy
 * (policies/src/dbk-policy.c), which pins a policy where
 * <devbroker/bpffs.h> says: the manifests' Policy= and the USB request
 * policy both load through it.
 */
#ifndef DBK_POLICYLOAD_H
#define DBK_POLICYLOAD_H

#include <stdbool.h>
#include <stddef.h>

/* Is policy @name loaded (its directory pinned)? */
bool dbk_policy_loaded(const char *name);

/*
 * The loaded policy @name's DMA guard program (its pin in bpffs), for a
 * grant's guard_fd: an fd, -ENOENT when it is not loaded or has none, or
 * -EPERM when the pin root or the policy's directory is not private.
 * This and dbk_policy_map_open() read the pin through the directory's fd
 * (/proc/self/fd): what was checked is what is read.
 */
int dbk_policy_guard_open(const char *name);

/*
 * The loaded policy @name's pinned map @map, from directories only root
 * can change (as the guard is): an fd, -ENOENT when it is not there, or
 * -EPERM when a directory on the way is not private.
 */
int dbk_policy_map_open(const char *name, const char *map);

/*
 * `LOADER load NAME POLICY_DIR/NAME.bpf.o`, waited for.  0, or -ENOENT
 * (no such object), -ENOEXEC (the loader failed: it said why on stderr),
 * -errno (fork, waitpid); @msg then says what failed, in one line.
 */
int dbk_policy_load(const char *loader, const char *policy_dir, const char *name,
		    char *msg, size_t msglen);

#endif /* DBK_POLICYLOAD_H */
