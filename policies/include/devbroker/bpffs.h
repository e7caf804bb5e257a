/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file devbroker/bpffs.h
 * @brief Where loaded devbroker policies live in bpffs: the one
 * definition of the pin layout.
 *
 * `dbk-policy load NAME FILE` writes it (policies/src/dbk-policy.c); the
 * daemon and the tools read it.  A loaded policy is a directory
 * DBK_POLICY_PIN_ROOT/NAME holding:
 *  - links/PROGRAM: one BPF link per program, its attachment (removing
 *    the pin detaches the program);
 *  - maps/MAP: the object's maps, so that they can be read and updated
 *    (`dbk-policy set` and `show`, the daemon's marks and ring buffers);
 *  - guard: the policy's DMA guard program (DBK_GUARD()), if it has one,
 *    attached nowhere: devbrokerd hands it to the module with each grant
 *    whose manifest names the policy in DMAGuard=.
 *
 * A load or unload in progress lives in DBK_POLICY_STAGING/NAME-PID (and
 * NAME-unload-PID) and is renamed into place, so that a policy is either
 * wholly there or absent.  Both directories are mode 0700: root only.
 * Every path here is under bpffs's usual mount point; dbk-policy takes
 * --bpffs DIR for another.
 */
#ifndef DEVBROKER_BPFFS_H
#define DEVBROKER_BPFFS_H

/** Where bpffs is mounted (systemd's mount point). */
#define DBK_BPFFS		"/sys/fs/bpf"

/** Under it: the loaded policies, and the ones being (un)loaded. */
#define DBK_BPFFS_POLICIES	"devbroker"
#define DBK_BPFFS_STAGING	"devbroker-staging"

/** In a policy's directory: its links and its maps. */
#define DBK_POLICY_LINKS	"links"
#define DBK_POLICY_MAPS		"maps"
#define DBK_POLICY_GUARD	"guard"

#define DBK_POLICY_PIN_ROOT	DBK_BPFFS "/" DBK_BPFFS_POLICIES
#define DBK_POLICY_STAGING	DBK_BPFFS "/" DBK_BPFFS_STAGING

/** The directory of the policy @p name, a string literal. */
#define DBK_POLICY_PIN_DIR(name)	DBK_POLICY_PIN_ROOT "/" name
/** Map @p map of the policy @p name, both string literals. */
#define DBK_POLICY_MAP_PIN(name, map)	DBK_POLICY_PIN_DIR(name) "/" DBK_POLICY_MAPS "/" map

#ifndef __bpf__	/* for the loaders, not for BPF programs that include this */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200112L	/* lstat() */

/**
 * Is @p dir fit to hold policies: a directory itself (not a symbolic
 * link), owned by the caller's effective uid, and private (mode 0700 or
 * narrower)?  bpffs may be mounted world-writable (the kernel's default
 * mode is 1777, systemd mounts it 0700): whoever made the directory could
 * swap pins or plant symbolic links in it.  Returns 0, -errno of lstat(),
 * or -EPERM.
 */
static inline int dbk_bpffs_dir_private(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st))
		return -errno;
	return S_ISDIR(st.st_mode) && st.st_uid == geteuid() && !(st.st_mode & 077) ? 0 : -EPERM;
}
#endif
#if defined(_POSIX_C_SOURCE) && _POSIX_C_SOURCE >= 200809L	/* openat(), O_DIRECTORY */
#include <fcntl.h>

/**
 * dbk_bpffs_dir_private() without the gap between check and use: opens
 * @p dir (relative to the directory fd @p at, or AT_FDCWD) with
 * O_DIRECTORY|O_NOFOLLOW and checks the directory it got.  Use the fd
 * (openat(), or "/proc/self/fd/N/..." for the calls that take only a path,
 * such as bpf_obj_get()): renaming another directory into @p dir's place
 * afterwards changes nothing.  Returns the fd (O_CLOEXEC), -errno of
 * openat(), or -EPERM (not a directory, a symbolic link, not private).
 */
static inline int dbk_bpffs_dir_open(int at, const char *dir)
{
	struct stat st;
	int fd = openat(at, dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ELOOP || errno == ENOTDIR ? -EPERM : -errno;
	if (!fstat(fd, &st) && st.st_uid == geteuid() && !(st.st_mode & 077))
		return fd;
	close(fd);
	return -EPERM;
}

/**
 * A loaded policy's directory, @p root/@p name, or its subdirectory
 * @p sub (DBK_POLICY_LINKS, DBK_POLICY_MAPS; NULL for the policy's own),
 * each step opened with dbk_bpffs_dir_open() from the one before, so that
 * a directory swapped in or a symbolic link on the way is refused, and
 * what was checked is what is read.  Returns the fd, -ENOENT, -EPERM (a
 * step not private, or not a directory) or -errno.
 */
static inline int dbk_bpffs_policy_dir_open(const char *root, const char *name, const char *sub)
{
	int r = dbk_bpffs_dir_open(AT_FDCWD, root), d;

	if (r < 0)
		return r;
	d = dbk_bpffs_dir_open(r, name);
	close(r);
	if (d < 0 || !sub)
		return d;
	r = dbk_bpffs_dir_open(d, sub);
	close(d);
	return r;
}
#endif
#endif

#endif /* DEVBROKER_BPFFS_H */
