/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef DBK_SANDBOX_H
#define DBK_SANDBOX_H
#include <sys/types.h>
/** In a forked child: namespaces, mounts, credentials, no_new_privs, seccomp. */
int dbk_sandbox_enter(uid_t uid, gid_t gid);
#endif
