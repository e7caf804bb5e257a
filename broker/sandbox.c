// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The driver's sandbox, built in the forked child before exec:
 *  - its own mount, IPC and network namespaces where the kernel allows,
 *    without the file systems on devbrokerd's nbd disks (they would stay
 *    alive in it);
 *  - for a dynamic user, every file system read-only: its uid goes to
 *    another driver next, so it must leave no file behind (systemd's
 *    DynamicUser= implies ProtectSystem=strict and PrivateTmp= for that);
 *    only the fresh /dev below, and its /dev/shm, are writable, and they
 *    go with the namespace;
 *  - /dev replaced by a tmpfs holding only null, zero, full, random and
 *    urandom, and /run/devbroker hidden, so no other device node and not
 *    the control socket can be opened (seccomp cannot see paths);
 *  - no capabilities (bounding set emptied), its own uid and gid, no
 *    supplementary groups, PR_SET_NO_NEW_PRIVS;
 *  - a seccomp filter (libseccomp) refusing what a driver never needs,
 *    and leaving its process group (so that killing the group, on
 *    revocation, reaches every process that may hold a device fd).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/capability.h>
#include <linux/if_tun.h>
#include <linux/usbdevice_fs.h>
#include <seccomp.h>

#include "mountinfo.h"
#include "sandbox.h"

static const char *const dbk_entry_keep[] = { "null", "zero", "full", "random", "urandom" };

#define DBK_NBD_MAJOR	43	/* <linux/major.h> NBD_MAJOR */

/* /sys/block/nbdN/backend of devbrokerd's disks starts with this (nbd-frontend.c). */
#define DBK_NBD_BACKEND	"devbroker:"

/*
 * Is 43:@minor one of devbrokerd's disks, or a partition of one?  Its
 * backend identifier says so; another program's nbd disk (an nbd root
 * file system) is not ours to take from the driver's view.
 */
static bool dbk_sandbox_nbd_ours(unsigned int minor)
{
	static const char *const rel[] = { "backend", "../backend" };	/* a disk, a partition */
	char path[64], buf[64];
	unsigned int i;
	ssize_t n;
	int fd;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/%s", DBK_NBD_MAJOR, minor, rel[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			return false;
		buf[n] = 0;
		return !strncmp(buf, DBK_NBD_BACKEND, strlen(DBK_NBD_BACKEND));
	}
	return false;
}

/*
 * Detach the mount @mi names, if its mount point still leads to exactly
 * that mount: the mount point is a path anyone may have made (a user's
 * FUSE mount below one of ours, a symlink), so it is opened without
 * following a last symlink, the fd checked to be the mount's root
 * (statx's mount ID; st_dev before Linux 5.8), and the unmount made
 * through the fd (/proc/self/fd/N): no path is looked up twice.  The
 * namespace is this process's alone by now: nothing can be mounted on top
 * in between.
 */
static void dbk_sandbox_detach(const struct dbk_mountinfo *mi)
{
	struct statx stx;
	char fdpath[32];
	bool same;
	int fd = open(mi->mount_point, O_PATH | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return;		/* gone with a parent detached before it */
	if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MNT_ID,
		  &stx) < 0) {
		fprintf(stderr, "devbrokerd: sandbox: statx %s: %s\n", mi->mount_point,
			strerror(errno));
		close(fd);
		return;
	}
	if (stx.stx_mask & STATX_MNT_ID)
		same = stx.stx_mnt_id == mi->id;
	else
		same = stx.stx_dev_major == mi->major && stx.stx_dev_minor == mi->minor;
	if (!same || S_ISLNK(stx.stx_mode)) {
		fprintf(stderr, "devbrokerd: sandbox: %s is not the mount of %u:%u (mount %llu) any more: left\n",
			mi->mount_point, mi->major, mi->minor, (unsigned long long)mi->id);
		close(fd);
		return;
	}
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", fd);
	if (umount2(fdpath, MNT_DETACH) < 0)
		fprintf(stderr, "devbrokerd: sandbox: umount %s: %s\n", mi->mount_point,
			strerror(errno));
	close(fd);
}

/*
 * The new mount namespace is a copy of the daemon's, with every file
 * system mounted at the driver's start: a file system on an nbd disk
 * (Block=) would stay alive in the driver's copy after the administrator
 * unmounted it, and be written back only when the driver exits, through
 * that driver itself (dying: the exit hangs in D state until the disk's
 * dead-connection timeout).  Those mounts, on devbrokerd's disks only,
 * are detached from the copy.
 */
static void dbk_sandbox_drop_nbd_mounts(void)
{
	struct dbk_mountinfo_reader r = { .f = fopen("/proc/self/mountinfo", "re") };
	struct dbk_mountinfo mi;

	if (!r.f)
		return;
	while (dbk_mountinfo_next(&r, &mi) > 0)
		if (mi.major == DBK_NBD_MAJOR && dbk_sandbox_nbd_ours(mi.minor))
			dbk_sandbox_detach(&mi);
	if (r.skipped)
		fprintf(stderr, "devbrokerd: sandbox: %lu malformed lines in /proc/self/mountinfo, ignored\n",
			r.skipped);
	dbk_mountinfo_done(&r);
	fclose(r.f);
}

/*
 * Best effort: a kernel without namespaces still gets the rest of the
 * sandbox.  @read_only: every file system read-only, or -errno.
 */
static int dbk_sandbox_mounts(bool read_only)
{
	struct mount_attr ro = { .attr_set = MOUNT_ATTR_RDONLY };
	int keep[5], i;
	char path[64], src[64];

	if (unshare(CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET) < 0) {
		fprintf(stderr, "devbrokerd: sandbox: unshare: %s (continuing without namespaces)\n",
			strerror(errno));
		return read_only ? -errno : 0;
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return read_only ? -errno : 0;
	dbk_sandbox_drop_nbd_mounts();
	if (read_only && mount_setattr(AT_FDCWD, "/", AT_RECURSIVE, &ro, sizeof(ro)) < 0)
		return -errno;
	/* Reach the kept nodes through O_PATH fds once /dev is covered. */
	for (i = 0; i < 5; i++) {
		snprintf(path, sizeof(path), "/dev/%s", dbk_entry_keep[i]);
		keep[i] = open(path, O_PATH | O_CLOEXEC);
	}
	/* In a namespace of its own these fail only by a fault: then no driver. */
	if (mount("tmpfs", "/dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
		return -errno;
	for (i = 0; i < 5; i++) {
		if (keep[i] < 0)
			continue;
		snprintf(path, sizeof(path), "/dev/%s", dbk_entry_keep[i]);
		snprintf(src, sizeof(src), "/proc/self/fd/%d", keep[i]);
		close(open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0666));
		mount(src, path, NULL, MS_BIND, NULL);
	}
	if (symlink("/proc/self/fd", "/dev/fd") < 0)
		perror("devbrokerd: sandbox: /dev/fd");
	/* World-writable and sticky, as the system's (mkdir's mode goes through the umask). */
	if (mkdir("/dev/shm", 0) == 0)
		chmod("/dev/shm", 01777);
	for (i = 0; i < 5; i++)
		if (keep[i] >= 0)
			close(keep[i]);
	if (mount("tmpfs", "/run/devbroker", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755,size=4k") < 0)
		return -errno;
	return 0;
}

/* Syscalls a driver never needs; refused with EPERM. */
static const int dbk_denied[] = {
	/*
	 * Reaching into another process: its memory, its fds (pidfd_getfd),
	 * comparing its files with ours (kcmp), or a pidfd to do so with.
	 * A driver has its own uid (DynamicUser=) and is not dumpable
	 * (libdev), so another driver is out of reach already; these keep a
	 * compromised driver from trying anything of the kind at all.
	 */
	SCMP_SYS(ptrace), SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
	SCMP_SYS(pidfd_getfd), SCMP_SYS(pidfd_open), SCMP_SYS(kcmp), SCMP_SYS(process_madvise),
	SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
	SCMP_SYS(fsopen), SCMP_SYS(fsmount), SCMP_SYS(fspick), SCMP_SYS(move_mount),
	SCMP_SYS(open_tree), SCMP_SYS(mount_setattr), SCMP_SYS(setns), SCMP_SYS(unshare),
	SCMP_SYS(bpf), SCMP_SYS(perf_event_open), SCMP_SYS(userfaultfd),
	SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
	SCMP_SYS(add_key), SCMP_SYS(request_key), SCMP_SYS(keyctl),
	SCMP_SYS(mknod), SCMP_SYS(mknodat), SCMP_SYS(open_by_handle_at),
	SCMP_SYS(name_to_handle_at), SCMP_SYS(kexec_load), SCMP_SYS(kexec_file_load),
	SCMP_SYS(reboot), SCMP_SYS(swapon), SCMP_SYS(swapoff), SCMP_SYS(acct),
	SCMP_SYS(iopl), SCMP_SYS(ioperm), SCMP_SYS(settimeofday), SCMP_SYS(clock_settime),
	/*
	 * Asynchronous I/O lets the kernel write into the driver's memory
	 * while the driver is inside another system call: the USB request
	 * policy must be able to trust a setup packet it has read
	 * (docs/usb-request-policy.md).
	 */
	SCMP_SYS(io_uring_setup), SCMP_SYS(io_uring_enter), SCMP_SYS(io_uring_register),
	SCMP_SYS(io_setup), SCMP_SYS(io_submit),
};

/*
 * No set-user-ID or set-group-ID file or directory made (systemd's
 * RestrictSUIDSGID=), and no becoming dumpable again (libdev made the
 * driver non-dumpable).  A driver's files in a world-writable directory
 * (/tmp is the host's) outlive it: one set-user-ID to its uid would let
 * any local user become that uid, take the fds of the driver, and of
 * whichever driver gets the uid next (review R9).  openat2() passes its
 * mode in a struct seccomp cannot read: ENOSYS, glibc falls back to
 * openat().
 */
static int dbk_sandbox_no_suid(scmp_filter_ctx ctx)
{
	static const struct { int nr; unsigned int arg; } mode_arg[] = {
		{ SCMP_SYS(chmod), 1 }, { SCMP_SYS(fchmod), 1 }, { SCMP_SYS(fchmodat), 2 },
		{ SCMP_SYS(open), 2 }, { SCMP_SYS(openat), 3 }, { SCMP_SYS(creat), 1 },
		{ SCMP_SYS(mkdir), 1 }, { SCMP_SYS(mkdirat), 2 },
	};
	static const scmp_datum_t bits[] = { S_ISUID, S_ISGID };
	unsigned int i, j;
	int ret = 0;

	for (i = 0; i < sizeof(mode_arg) / sizeof(mode_arg[0]) && !ret; i++)
		for (j = 0; j < 2 && !ret; j++)
			ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), mode_arg[i].nr, 1,
					       SCMP_CMP(mode_arg[i].arg, SCMP_CMP_MASKED_EQ, bits[j], bits[j]));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(openat2), 0);
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(prctl), 2,
				       SCMP_A0(SCMP_CMP_EQ, PR_SET_DUMPABLE), SCMP_A1(SCMP_CMP_NE, 0));
	return ret;
}

static int dbk_sandbox_seccomp(bool net_offloads)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);	/* other ABIs: killed */
	unsigned int i;
	int ret = 0;

	if (!ctx)
		return -ENOMEM;
	for (i = 0; i < sizeof(dbk_denied) / sizeof(dbk_denied[0]) && !ret; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), dbk_denied[i], 0);
	/* No new namespaces: clone() with CLONE_NEW*, and clone3() (glibc falls back). */
	static const unsigned long ns_flags[] = { CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET,
		CLONE_NEWPID, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWCGROUP };
	for (i = 0; i < sizeof(ns_flags) / sizeof(ns_flags[0]) && !ret; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				       SCMP_A0(SCMP_CMP_MASKED_EQ, ns_flags[i], ns_flags[i]));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	/*
	 * The driver's process group is everything a revocation must kill:
	 * no leaving it (setsid, setpgid), and no handing a device fd to a
	 * process outside it over a named AF_UNIX socket: no socket(AF_UNIX),
	 * and of socketpair()s only stream and seqpacket ones (a datagram one
	 * can still send to any named socket, review R10).
	 */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setsid), 0);
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(setpgid), 0);
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
				       SCMP_A0(SCMP_CMP_EQ, AF_UNIX));
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socketpair), 2,
				       SCMP_A0(SCMP_CMP_EQ, AF_UNIX),
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_DGRAM));
	if (!ret)
		ret = dbk_sandbox_no_suid(ctx);
	/* A raw USB reset would let the kernel driver take a granted interface back. */
	if (!ret)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffff, USBDEVFS_RESET));
	/*
	 * The network frontend's tun fd (net-frontend.c) carries the carrier,
	 * the MAC address and, with NetworkOffloads=yes (a TAP with the vnet
	 * header), the offloads (TUNSETOFFLOAD: what the stack may hand this
	 * one interface unchecksummed or unsegmented; without the header
	 * nothing would tell the driver which frames those are), but not the
	 * interface's life, owner or type: a persistent TAP owned by the
	 * driver's user would outlive it, and any process of that user could
	 * attach to it.  Nor the other state the kernel keeps on the interface
	 * and hands to the next queue attached (a restarted driver's): socket
	 * and TX filters, the send buffer, the vnet header's size and byte
	 * order (libdev reads the header as devbrokerd made it), steering and
	 * filter eBPF, the debug messages (TUNSETDEBUG: a kernel log line per
	 * frame, unlimited).  A driver needs TUNGETIFF, TUNGETFEATURES,
	 * TUNGETVNETHDRSZ, TUNSETCARRIER, TUNSETOFFLOAD and SIOC[GS]IFHWADDR
	 * (libdev/src/net.c); devbrokerd resets the device's state, offloads
	 * included, before a restart all the same (dbk_net_reattach).
	 */
	static const unsigned long tun_denied[] = { TUNSETPERSIST, TUNSETOWNER, TUNSETGROUP,
						    TUNSETLINK, TUNATTACHFILTER, TUNDETACHFILTER,
						    TUNSETTXFILTER, TUNSETSNDBUF,
						    TUNSETVNETHDRSZ, TUNSETVNETLE, TUNSETVNETBE,
						    TUNSETSTEERINGEBPF, TUNSETFILTEREBPF,
						    TUNSETIFINDEX, TUNSETDEBUG };
	for (i = 0; i < sizeof(tun_denied) / sizeof(tun_denied[0]) && !ret; i++)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffff, tun_denied[i]));
	if (!ret && !net_offloads)
		ret = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(ioctl), 1,
				       SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffff, TUNSETOFFLOAD));
	if (!ret)
		ret = seccomp_load(ctx);
	seccomp_release(ctx);
	return ret;
}

int dbk_sandbox_drop_privileges(uid_t uid, gid_t gid)
{
	int cap;

	for (cap = 0; cap <= CAP_LAST_CAP; cap++)
		prctl(PR_CAPBSET_DROP, cap, 0, 0, 0);
	if (setgroups(0, NULL) < 0 || setresgid(gid, gid, gid) < 0 || setresuid(uid, uid, uid) < 0)
		return -errno;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	return 0;
}

int dbk_sandbox_enter(uid_t uid, gid_t gid, bool read_only, bool net_offloads)
{
	int ret = dbk_sandbox_mounts(read_only);

	if (ret) {
		fprintf(stderr, "devbrokerd: sandbox: mounts: %s\n", strerror(-ret));
		return ret;
	}
	/* No core dump the next holder of a dynamic uid could read (systemd-coredump's ACL). */
	setrlimit(RLIMIT_CORE, &(struct rlimit){ 0, 0 });
	ret = dbk_sandbox_drop_privileges(uid, gid);
	return ret ? ret : dbk_sandbox_seccomp(net_offloads);
}
