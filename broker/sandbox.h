/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef DBK_SANDBOX_H
#define DBK_SANDBOX_H
#include <stdbool.h>
#include <sys/types.h>
/**
 * In a forked child: namespaces, mounts, credentials, no_new_privs, seccomp.
 * @read_only: every file system read-only but the driver's own /dev (a
 * dynamic user's), else the start fails.  @net_offloads: the manifest's
 * NetworkOffloads=yes, which lets the driver set its TAP's offloads
 * (TUNSETOFFLOAD).  0 or a negative errno.
 */
int dbk_sandbox_enter(uid_t uid, gid_t gid, bool read_only, bool net_offloads);
/**
 * The credentials part alone: no capabilities (bounding set emptied), @uid
 * and @gid, no supplementary groups, no_new_privs.  0 or a negative errno.
 * Also for the NBD handshake helper, which talks to the driver as its uid.
 */
int dbk_sandbox_drop_privileges(uid_t uid, gid_t gid);
#endif
