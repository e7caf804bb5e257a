// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The block frontend (Block=): the kernel's nbd in front of a driver that
 * serves the NBD protocol through libdev (<devbroker/block.h>), over
 * socket pairs, with no kernel code of ours (docs/design.md, "Block devices").
 *
 * A start, in order:
 *  1. launch.c asks for the frontend: BlockQueues= socket pairs; the
 *     driver gets one end of each (DBK_BLOCK_FDS), d->nbd_socks keeps ours.
 *  2. Once the driver is forked, a helper child makes the NBD handshake
 *     on our ends (libdev's dbk_nbd_client_handshake(), which trusts
 *     nothing), loading nbd first if need be, then as the driver's user:
 *     the daemon's loop is single-threaded and never waits on a driver.
 *     The helper writes one struct dbk_nbd_result to a pipe the loop
 *     watches, or dies and the pipe says EOF.  The daemon's timer ends
 *     a helper that has not reported by DBK_NBD_HELPER_MS (the driver,
 *     the helper's uid, can SIGSTOP it: a stopped process does not die
 *     of its own alarm).
 *  3. The loop (dbk_nbd_event) checks what the driver announced and gives
 *     our ends to the kernel: NBD_CMD_CONNECT the first time, then the
 *     links /dev/devbroker/block/NAME and /dev/disk/by-id/devbroker-NAME
 *     to ../../nbdN (and /dev/disk/by-id/devbroker-DRIVER+ID when the
 *     driver announced its disk's identity); after a restart,
 *     NBD_CMD_RECONFIGURE into the same device when the size, block size,
 *     flags and queues are unchanged, else DISCONNECT and CONNECT anew.
 *     A handshake or a connect that fails is logged and the driver
 *     killed: a crash, restarted with backoff, quarantined in the end.
 *  4. Our ends, now the kernel's too, are kept: when nbd announces a
 *     connection of the device dead (a request timed out, a reply it
 *     could not take, the driver died), the one that hung up says it was
 *     this driver's, and a driver still running then is killed
 *     (dbk_nbd_listen, dbk_nbd_look).
 *  5. The device outlives a driver that is restarted (BlockDeadConnSec=
 *     holds its I/O meanwhile); it is disconnected and its links removed
 *     whenever no restart follows (dbk_nbd_settle).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/nbd.h>

#include "daemon.h"
#include "nbd-proto.h"
#include "nbd.h"
#include "sandbox.h"

_Static_assert(DBK_BLOCK_QUEUES_MAX == DBK_HANDOVER_BLOCK_MAX,
	       "BlockQueues= and the hand-over's block fds must agree");

/* The whole handshake, every queue: a driver that takes longer has failed. */
#define DBK_NBD_HANDSHAKE_MS	15000
/* The helper's whole life, modprobe included: then the daemon's timer SIGKILLs it. */
#define DBK_NBD_HELPER_MS	(DBK_NBD_HANDSHAKE_MS + 10000)

/* /sys/block/nbdN/backend of our disks: this, then the device's id. */
#define DBK_NBD_BACKEND		"devbroker:"

/*
 * nbd announces a connection dead before it shuts the socket down (a work
 * item it queues first): we look at our ends this much later, and when
 * none hung up yet, DBK_NBD_LOOKS times more (1 s, then 5 s later).
 */
#define DBK_NBD_CHECK_MS	100
#define DBK_NBD_LOOKS		2
/* A driver whose connection ended has StopTimeoutSec= to exit, but never less than this. */
#define DBK_NBD_GRACE_MIN_S	2u

/* The kernel's nbd takes logical block sizes from 512 to PAGE_SIZE (blk_validate_block_size). */
#define DBK_NBD_KERNEL_BLOCK_MAX	4096u

/* What the helper reports: one write, under PIPE_BUF. */
struct dbk_nbd_result {
	int err;			/* 0, or the first failure's negative errno */
	unsigned int queue;		/* the queue it failed on */
	struct dbk_nbd_export ex;	/* queue 0's export; every queue's is the same */
};

static bool dbk_nbd_wanted(const struct dbk_manifest *m)
{
	return m->frontend.block[0];
}

static void dbk_nbd_close_socks(struct dbk_entry *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_nbd_socks; i++)
		close(d->nbd_socks[i]);
	d->nr_nbd_socks = 0;
	d->nbd_watched = false;
	d->nbd_check_at = 0;
	d->nbd_looks = 0;
}

/*
 * Is @name another entry's disk: connected, or reserved by a start in
 * progress (from dbk_nbd_add to dbk_nbd_close)?  Two entries starting at
 * once must not both get it: the second's links would replace the first's.
 */
static bool dbk_nbd_name_taken(struct dbk_daemon *dd, const struct dbk_entry *d, const char *name)
{
	int i;

	for (i = 0; i < dd->nr_devs; i++)
		if (&dd->devs[i] != d && (dd->devs[i].nbd_index >= 0 || dd->devs[i].nbd_reserved) &&
		    !strcmp(dd->devs[i].block_name, name))
			return true;
	return false;
}

/* Step 1: the socket pairs; the driver's ends go into @l, ours into d->nbd_socks. */
static int dbk_nbd_add(struct dbk_daemon *dd, struct dbk_entry *d, struct dbk_launch *l)
{
	const struct dbk_frontend *f = &l->m->frontend;
	char name[DBK_NAME_MAX];
	unsigned int i;
	int sv[2], ret;

	ret = dbk_template_expand(f->block, d->instance, d->info.id, d->info.serial, name,
				  sizeof(name));
	if (ret < 0) {
		dbk_log("%s: Block=%s: %s", d->info.id, f->block, strerror(-ret));
		return ret;
	}
	/*
	 * The manifest's characters, and a serial's (sanitized): never a path,
	 * nor a hidden name (".", "..", and ".NAME.new" is a link being made).
	 */
	if (!name[0] || name[0] == '.' || strchr(name, '/')) {
		dbk_log("%s: Block=%s expands to '%s', which is not a file name (or starts with '.')",
			d->info.id, f->block, name);
		return -EINVAL;
	}
	if (dbk_nbd_name_taken(dd, d, name)) {
		dbk_log("%s: Block=%s: the disk %s is another device's already (write %%i or %%d into Block=)",
			d->info.id, f->block, name);
		return -EEXIST;
	}
	/* A restart with the device still connected keeps its name: the links are its. */
	if (d->nbd_index >= 0 && strcmp(name, d->block_name))
		dbk_nbd_settle(dd, d, true);
	snprintf(d->block_name, sizeof(d->block_name), "%s", name);
	d->nbd_reserved = true;		/* until dbk_nbd_close */
	if (l->nfds + f->block_queues > DBK_LAUNCH_FDS) {
		dbk_log("%s: more fds than a driver is handed (%d)", d->info.id, DBK_LAUNCH_FDS);
		return -E2BIG;
	}
	l->block_at = l->nfds;
	for (i = 0; i < f->block_queues; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
			ret = -errno;
			dbk_log("%s: socketpair for the block frontend: %s", d->info.id, strerror(errno));
			dbk_nbd_close_socks(d);
			return ret;	/* launch.c closes the driver's ends in l->fds */
		}
		l->fds[l->nfds++] = sv[1];
		l->nr_block++;
		d->nbd_socks[d->nr_nbd_socks++] = sv[0];
	}
	return 0;
}

static uint64_t dbk_nbd_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* In the helper: close every fd but 0-2 and @keep (sorted, ascending). */
static void dbk_nbd_close_others(int *keep, unsigned int n)
{
	unsigned int i, j;
	int lo = 3, t;

	for (i = 1; i < n; i++)
		for (j = i; j > 0 && keep[j - 1] > keep[j]; j--) {
			t = keep[j];
			keep[j] = keep[j - 1];
			keep[j - 1] = t;
		}
	for (i = 0; i < n; i++) {
		if (keep[i] > lo)
			syscall(SYS_close_range, lo, keep[i] - 1, 0);
		if (keep[i] + 1 > lo)
			lo = keep[i] + 1;
	}
	syscall(SYS_close_range, lo, ~0U, 0);
}

/*
 * Step 2, in the helper child: load nbd (as root), then the handshake on
 * every queue as the driver's user, within DBK_NBD_HANDSHAKE_MS; the
 * alarm ends a helper stuck anywhere else, unless it is stopped: the
 * driver has the helper's uid and may SIGSTOP it, and the daemon's timer
 * (dbk_nbd_timer) is the deadline that holds.
 */
static void dbk_nbd_helper(int wfd, const int *socks, unsigned int n, uid_t uid, gid_t gid,
			   pid_t daemon)
{
	struct dbk_nbd_result r = { 0 };
	int keep[DBK_BLOCK_QUEUES_MAX + 1];
	struct dbk_nbd_export ex;
	uint64_t deadline;
	unsigned int i;
	sigset_t none;
	long left;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGALRM, SIG_DFL);
	alarm(DBK_NBD_HANDSHAKE_MS / 1000 + 10);
	memcpy(keep, socks, n * sizeof(*socks));
	keep[n] = wfd;
	dbk_nbd_close_others(keep, n + 1);
	if (dbk_nbd_modprobe() < 0)
		fprintf(stderr, "devbrokerd: modprobe nbd failed\n");
	r.err = dbk_sandbox_drop_privileges(uid, gid);
	if (r.err)
		goto out;
	/*
	 * After the uid change, which clears it; and the daemon may have died
	 * before it was set.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != daemon)
		_exit(1);
	deadline = dbk_nbd_now_ms() + DBK_NBD_HANDSHAKE_MS;
	for (i = 0; i < n; i++) {
		left = (long)(deadline - dbk_nbd_now_ms());
		r.queue = i;
		r.err = left <= 0 ? -ETIMEDOUT :
			dbk_nbd_client_handshake(socks[i], (int)left, i ? &ex : &r.ex);
		if (r.err)
			break;
		/* One export: every queue must announce what queue 0 did. */
		if (i && (ex.size != r.ex.size || ex.flags != r.ex.flags ||
			  ex.min_block != r.ex.min_block || strcmp(ex.description, r.ex.description))) {
			r.err = -EXDEV;
			break;
		}
	}
out:
	if (write(wfd, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
	_exit(0);
}

/* Step 2, in the daemon: the helper, its pipe in the loop. */
static void dbk_nbd_started(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_launch *l,
			    pid_t driver)
{
	pid_t pid, self = getpid();
	int p[2];

	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
		goto fail;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		goto fail;
	}
	if (pid == 0) {
		close(p[0]);
		/* Blocking writes: the result is one small record. */
		fcntl(p[1], F_SETFL, 0);
		dbk_nbd_helper(p[1], d->nbd_socks, d->nr_nbd_socks, l->uid, l->gid, self);
	}
	close(p[1]);
	d->nbd_helper = pid;
	d->nbd_pipe = p[0];
	d->nbd_deadline = dbk_now_ms() + DBK_NBD_HELPER_MS;
	dbk_timer_arm(dd);
	if (dbk_epoll_add(dd, p[0], DBK_EP_NBD) < 0)
		dbk_log("%s: epoll: %s", d->info.id, strerror(errno));	/* the loop's own fd: never */
	return;
fail:
	/* The driver waits for a handshake that never comes: a crash. */
	dbk_log("%s: the block frontend's handshake could not start: %s; stopping driver %s",
		d->info.id, strerror(errno), d->driver);
	dbk_nbd_close_socks(d);
	kill(-driver, SIGKILL);
	kill(driver, SIGKILL);
}

/* The helper is done, or gone: its pipe out of the loop. */
static void dbk_nbd_helper_end(struct dbk_daemon *dd, struct dbk_entry *d)
{
	/*
	 * Not reaped yet (dbk_nbd_reaped clears it), so the pid is still our
	 * child's, never another process's.
	 */
	if (d->nbd_helper > 0)
		kill(d->nbd_helper, SIGKILL);
	d->nbd_helper = 0;
	d->nbd_deadline = 0;
	if (d->nbd_pipe >= 0) {
		dbk_epoll_del(dd, d->nbd_pipe);
		close(d->nbd_pipe);
	}
	d->nbd_pipe = -1;
}

/* The driver is gone or did not start: its handshake ends, the device stays (dbk_nbd_settle). */
static void dbk_nbd_close(struct dbk_daemon *dd, struct dbk_entry *d)
{
	dbk_nbd_helper_end(dd, d);
	dbk_nbd_close_socks(d);
	d->nbd_drop_at = 0;
	d->nbd_reserved = false;	/* a connected disk keeps its name (nbd_index) */
}

/* /dev/devbroker/block/NAME and /dev/disk/by-id/devbroker-NAME: ours, NAME is the manifest's. */
static void dbk_nbd_link_path(const struct dbk_entry *d, int which, char *path, size_t len)
{
	if (which == 0)
		snprintf(path, len, "/dev/devbroker/block/%s", d->block_name);
	else
		snprintf(path, len, "/dev/disk/by-id/devbroker-%s", d->block_name);
}

/* @path, if it is still a link to @target. */
static void dbk_nbd_unlink_if(const char *path, const char *target)
{
	char buf[32];
	ssize_t n;

	n = readlink(path, buf, sizeof(buf) - 1);
	if (n < 0)
		return;
	buf[n] = 0;
	if (!strcmp(buf, target))
		unlink(path);
}

/*
 * The identity's link, /dev/disk/by-id/devbroker-DRIVER+ID: the driver's
 * word.  '+' is in no manifest name, no Block= name and no sanitized
 * identity, so the name can be no other link of ours, nor another
 * driver's identity.  Made unless a link of that name is there already,
 * which is left alone (another disk's: two drives that claim one serial,
 * first come).  Its path is kept (d->block_id_link) and removed as made,
 * whatever becomes of d->driver (cleared when the manifest goes).
 */
_Static_assert(sizeof("/dev/disk/by-id/devbroker-+") + DBK_NAME_MAX + DBK_BLOCK_ID_MAX <=
	       DBK_PATH_MAX, "an identity's link is never cut short");

static void dbk_nbd_link_id(struct dbk_entry *d, const char *target)
{
	char path[sizeof(d->block_id_link)], buf[32];
	ssize_t n;

	d->block_id_link[0] = 0;
	if (!d->block_id[0] || !d->driver[0])
		return;
	snprintf(path, sizeof(path), "/dev/disk/by-id/devbroker-%s+%s", d->driver, d->block_id);
	if (symlink(target, path) < 0) {
		if (errno != EEXIST) {
			dbk_log("%s: the link %s -> %s: %s", d->info.id, path, target, strerror(errno));
			return;
		}
		n = readlink(path, buf, sizeof(buf) - 1);
		if (n < 0) {
			dbk_log("%s: %s is there, and not a link we can read (%s): left alone",
				d->info.id, path, strerror(errno));
			return;
		}
		buf[n] = 0;
		if (strcmp(buf, target)) {
			dbk_log("%s: %s is another disk's (%s): left to it", d->info.id, path, buf);
			return;
		}
	}
	memcpy(d->block_id_link, path, sizeof(path));
}

/* The identity's link, if we made it and it is still ours. */
static void dbk_nbd_unlink_id(struct dbk_entry *d, const char *target)
{
	if (d->block_id_link[0])
		dbk_nbd_unlink_if(d->block_id_link, target);
	d->block_id_link[0] = 0;
}

static void dbk_nbd_target(const struct dbk_entry *d, char *buf, size_t len)
{
	snprintf(buf, len, "../../nbd%d", d->nbd_index);
}

/* The links, made as udev would (atomically replaced): 0 or a negative errno. */
static int dbk_nbd_links(struct dbk_entry *d)
{
	char path[DBK_PATH_MAX], tmp[DBK_PATH_MAX + 8], target[32], *slash;
	int which, ret = 0;

	dbk_nbd_target(d, target, sizeof(target));
	for (which = 0; which < 2; which++) {
		dbk_nbd_link_path(d, which, path, sizeof(path));
		snprintf(tmp, sizeof(tmp), "%s", path);
		slash = strrchr(tmp, '/');
		*slash = 0;
		ret = dbk_mkdirs(tmp);
		*slash = '/';
		slash[1] = '.';
		snprintf(slash + 2, sizeof(tmp) - (size_t)(slash + 2 - tmp), "%s.new", d->block_name);
		unlink(tmp);
		if (!ret && (symlink(target, tmp) < 0 || rename(tmp, path) < 0))
			ret = -errno;
		if (ret) {
			dbk_log("%s: the link %s -> %s: %s", d->info.id, path, target, strerror(-ret));
			unlink(tmp);
			return ret;
		}
	}
	dbk_nbd_link_id(d, target);
	return 0;
}

/* Remove the links, those that are still ours. */
static void dbk_nbd_unlink(struct dbk_entry *d)
{
	char path[DBK_PATH_MAX], target[32];
	int which;

	dbk_nbd_target(d, target, sizeof(target));
	for (which = 0; which < 2; which++) {
		dbk_nbd_link_path(d, which, path, sizeof(path));
		dbk_nbd_unlink_if(path, target);
	}
	dbk_nbd_unlink_id(d, target);
}

static void dbk_nbd_backend(const struct dbk_entry *d, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", DBK_NBD_BACKEND, d->info.id);
}

/*
 * Is /dev/nbd<d->nbd_index> still the disk we connected?  Root may have
 * disconnected it (nbd-client -d) and another program connected the
 * device since: RECONFIGURE would then put our driver's connections into
 * its disk (the kernel checks the backend only when the disk has one),
 * DISCONNECT would end it.
 */
static bool dbk_nbd_ours(const struct dbk_entry *d)
{
	char path[64], want[sizeof(DBK_NBD_BACKEND) + sizeof(d->info.id)], buf[sizeof(want) + 2];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/block/nbd%d/backend", d->nbd_index);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	dbk_nbd_backend(d, want, sizeof(want));
	return !strcmp(buf, want);
}

void dbk_nbd_settle(struct dbk_daemon *dd, struct dbk_entry *d, bool force)
{
	int ret;

	if (d->nbd_index < 0)
		return;
	/* A restart is coming: the device waits for it (BlockDeadConnSec=). */
	if (!force && (d->pid > 0 || d->state == DBK_ST_BACKOFF))
		return;
	if (!dbk_nbd_ours(d)) {
		dbk_log("%s: /dev/nbd%d was disconnected by someone else", d->info.id, d->nbd_index);
	} else {
		ret = dbk_nbd_disconnect(d->nbd_index);
		if (ret)
			dbk_log("%s: disconnecting /dev/nbd%d: %s", d->info.id, d->nbd_index,
				strerror(-ret));
	}
	dbk_nbd_unlink(d);
	dbk_event(dd, "frontend", d, "block %s (/dev/nbd%d) disconnected", d->block_name,
		  d->nbd_index);
	d->nbd_index = -1;
	d->block_id[0] = 0;
}

/* Why a handshake failed, for the log. */
static const char *dbk_nbd_why(int err)
{
	switch (err) {
	case -ETIMEDOUT:
		return "the driver did not answer in time";
	case -EPROTO:
		return "the driver's answer is not valid NBD (malformed, or values out of range)";
	case -ECONNRESET:
		return "the driver closed the connection";
	case -EXDEV:
		return "the driver announced different exports on different queues";
	default:
		return strerror(-err);
	}
}

/* What the kernel gets from what the driver announced: 0, or -EPROTO with @why set. */
static int dbk_nbd_check(const struct dbk_nbd_export *ex, unsigned int queues, char *why, size_t len)
{
	if (!ex->size || !dbk_nbd_is_pow2(ex->min_block) || ex->min_block < 512 ||
	    ex->min_block > DBK_NBD_KERNEL_BLOCK_MAX)
		snprintf(why, len, "size %llu, block size %u: the kernel's nbd takes a size above 0 and a block size from 512 to %u, a power of two",
			 (unsigned long long)ex->size, ex->min_block, DBK_NBD_KERNEL_BLOCK_MAX);
	else if (ex->size % ex->min_block)
		snprintf(why, len, "size %llu is not a multiple of the block size %u",
			 (unsigned long long)ex->size, ex->min_block);
	else if (queues > 1 && !(ex->flags & NBD_FLAG_CAN_MULTI_CONN))
		snprintf(why, len, "%u queues, without NBD_FLAG_CAN_MULTI_CONN (the kernel needs it for more than one connection)",
			 queues);
	else
		return 0;
	return -EPROTO;
}

/* A number from a sysfs file of nbd @index's queue, or 0. */
static unsigned long dbk_nbd_queue_get(const struct dbk_entry *d, const char *attr)
{
	char path[96], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/block/nbd%d/queue/%s", d->nbd_index, attr);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	return strtoul(buf, NULL, 10);
}

/*
 * The kernel's nbd has no attribute for the server's maximum request
 * (NBD_INFO_BLOCK_SIZE's maximum), and sends up to max_sectors_kb (128
 * KiB, raisable to max_hw_sectors_kb, 32 MiB): set it to what the driver
 * takes.  Lower, so that no larger write ends the connection (the
 * administrator may raise it again, at the disk's peril); higher, so that
 * a driver that takes 1 MiB gets 1 MiB, in fewer device commands (a USB
 * stick's READ(10)s: 1 MiB ones ran at 10 times the speed of 128 KiB
 * ones under TCG).
 */
static void dbk_nbd_tune_queue(const struct dbk_entry *d, uint32_t max_block)
{
	unsigned long cur = dbk_nbd_queue_get(d, "max_sectors_kb"), want = max_block / 1024,
		      hw = dbk_nbd_queue_get(d, "max_hw_sectors_kb");
	char path[96], buf[32];
	ssize_t n;
	int fd;

	if (hw && want > hw)
		want = hw;
	/* The kernel's floor is a page; UINT32_MAX: no limit. */
	if (max_block >= 4096 && max_block != UINT32_MAX && cur && cur != want) {
		snprintf(path, sizeof(path), "/sys/block/nbd%d/queue/max_sectors_kb", d->nbd_index);
		fd = open(path, O_WRONLY | O_CLOEXEC);
		n = snprintf(buf, sizeof(buf), "%lu\n", want);
		if (fd < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
			dbk_log("%s: %s: %s", d->info.id, path, strerror(errno));
		if (fd >= 0)
			close(fd);
	}
	/*
	 * No I/O scheduler, as the kernel gives NVMe: the driver has its own
	 * queues, and mq-deadline's work (kblockd) was CPU spent per request
	 * on our side only (bench/nvme-bench.sh).
	 */
	snprintf(path, sizeof(path), "/sys/block/nbd%d/queue/scheduler", d->nbd_index);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "none\n", 5) != 5)
		dbk_log("%s: %s: %s", d->info.id, path, strerror(errno));
	if (fd >= 0)
		close(fd);
}

/*
 * Step 3: RECONFIGURE into the device a previous run connected, when it
 * is the same disk; else (or when that fails) a new CONNECT.  0 or a
 * negative errno; our ends are the kernel's (referenced) after a success.
 */
static int dbk_nbd_attach(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_manifest *m,
			  const struct dbk_nbd_export *ex)
{
	char backend[sizeof(DBK_NBD_BACKEND) + sizeof(d->info.id)], id[sizeof(d->block_id)];
	char target[32];
	struct dbk_nbd_settings s = {
		.size = ex->size, .block_size = ex->min_block, .server_flags = ex->flags,
		.timeout_s = m->frontend.block_timeout, .dead_conn_s = m->frontend.block_dead_conn,
		.backend = backend,
	};
	int ret, index;

	dbk_nbd_backend(d, backend, sizeof(backend));
	if (d->nbd_index >= 0) {
		if (!dbk_nbd_ours(d)) {
			dbk_log("%s: /dev/nbd%d was disconnected by someone else: connecting anew",
				d->info.id, d->nbd_index);
		} else if (ex->size == d->nbd_size && ex->min_block == d->nbd_block &&
		    ex->flags == d->nbd_flags && d->nr_nbd_socks == d->nbd_queues) {
			ret = dbk_nbd_reconfigure(d->nbd_index, d->nbd_socks, d->nr_nbd_socks, &s);
			if (!ret) {
				dbk_nbd_tune_queue(d, ex->max_block);
				/* The same disk; a driver that now names it otherwise moves its link. */
				dbk_sanitize_name(ex->description, id, sizeof(id));
				if (strcmp(id, d->block_id)) {
					dbk_nbd_target(d, target, sizeof(target));
					dbk_nbd_unlink_id(d, target);
					memcpy(d->block_id, id, sizeof(id));
					dbk_nbd_link_id(d, target);
				}
				dbk_event(dd, "frontend", d, "block %s (/dev/nbd%d) reconnected to the restarted driver",
					  d->block_name, d->nbd_index);
				return 0;
			}
			dbk_log("%s: reconnecting /dev/nbd%d: %s; connecting anew", d->info.id,
				d->nbd_index, strerror(-ret));
		} else {
			dbk_log("%s: the restarted driver serves another disk (%llu bytes, block %u, flags 0x%x, %u queues; was %llu, %u, 0x%x, %u): /dev/nbd%d is disconnected and a new one connected",
				d->info.id, (unsigned long long)ex->size, ex->min_block, ex->flags,
				d->nr_nbd_socks, (unsigned long long)d->nbd_size, d->nbd_block,
				d->nbd_flags, d->nbd_queues, d->nbd_index);
		}
		dbk_nbd_settle(dd, d, true);
	}
	ret = dbk_nbd_connect(d->nbd_socks, d->nr_nbd_socks, &s, &index);
	if (ret) {
		dbk_log("%s: connecting the block frontend: %s", d->info.id,
			ret == -ENOENT ? "nbd is not loaded (modules-load.d/devbroker-nbd.conf loads it at boot, `modprobe nbd` now; devbrokerd.service cannot load modules; CONFIG_BLK_DEV_NBD?)" :
			ret == -EPERM ? "devbrokerd lacks CAP_SYS_ADMIN" : strerror(-ret));
		return ret;
	}
	d->nbd_index = index;
	d->nbd_size = ex->size;
	d->nbd_block = ex->min_block;
	d->nbd_flags = ex->flags;
	d->nbd_queues = d->nr_nbd_socks;
	dbk_sanitize_name(ex->description, d->block_id, sizeof(d->block_id));
	dbk_nbd_tune_queue(d, ex->max_block);
	dbk_nbd_links(d);	/* logged; the disk works without them */
	dbk_event(dd, "frontend", d, "block %s ready: /dev/nbd%d, %llu bytes, block size %u, %u queue%s%s%s%s",
		  d->block_name, index, (unsigned long long)ex->size, ex->min_block, d->nbd_queues,
		  d->nbd_queues > 1 ? "s" : "", ex->flags & NBD_FLAG_READ_ONLY ? ", read-only" : "",
		  d->block_id[0] ? ", identity " : "", d->block_id);
	return 0;
}

/* Every link in @dir (whose names start with @prefix) to an nbd device: removed. */
static void dbk_nbd_unlink_all(const char *dir, const char *prefix)
{
	char path[DBK_PATH_MAX + 256], buf[32];
	struct dirent *e;
	DIR *dp = opendir(dir);
	ssize_t n;

	if (!dp)
		return;
	while ((e = readdir(dp))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) || e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		n = readlink(path, buf, sizeof(buf) - 1);
		if (n < 0)
			continue;
		buf[n] = 0;
		if (!strncmp(buf, "../../nbd", 9))
			unlink(path);
	}
	closedir(dp);
}

/*
 * A previous devbrokerd (killed, crashed) may have left disks connected,
 * their drivers gone (dbk_state_recover() stopped them): each waits for a
 * restart that will not come, holding its /dev/nbdN.  They are
 * disconnected, found by their backend identifier, and every link of
 * ours removed: this instance connects its drivers anew.
 */
void dbk_nbd_recover(void)
{
	char path[64], buf[256];
	struct dirent *e;
	DIR *dp = opendir("/sys/block");
	ssize_t n;
	int fd, index, ret;

	while (dp && (e = readdir(dp))) {
		if (sscanf(e->d_name, "nbd%d", &index) != 1)
			continue;
		snprintf(path, sizeof(path), "/sys/block/nbd%d/backend", index);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = 0;
		buf[strcspn(buf, "\n")] = 0;
		if (strncmp(buf, DBK_NBD_BACKEND, strlen(DBK_NBD_BACKEND)))
			continue;
		ret = dbk_nbd_disconnect(index);
		dbk_log("%s: disconnecting /dev/nbd%d of the previous devbrokerd%s%s",
			buf + strlen(DBK_NBD_BACKEND), index, ret ? ": " : "",
			ret ? strerror(-ret) : "");
	}
	if (dp)
		closedir(dp);
	dbk_nbd_unlink_all("/dev/devbroker/block", "");
	dbk_nbd_unlink_all("/dev/disk/by-id", "devbroker-");
}

static struct dbk_entry *dbk_nbd_entry_of(struct dbk_daemon *dd, int fd)
{
	int i;

	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].nbd_pipe == fd)
			return &dd->devs[i];
	return NULL;
}

/*
 * The kernel has the connections and its own references to our ends.  We
 * keep ours, to tell which connection ended when nbd's multicast group
 * announces one of the device's dead (NBD_CMD_LINK_DEAD): nbd marks a
 * connection dead when a request goes unanswered for BlockTimeoutSec=,
 * when the driver sends what it cannot take, or when the driver's end
 * closes, and shuts our end down with it (a hang-up, seen by poll()).
 * A driver that crashed is reaped as ever; one that still runs is hung,
 * or serves the kernel's other queues while this one's requests wait for
 * a reconnection that only a restart brings: dbk_nbd_timer kills it.
 * Nothing of this is on the I/O path: the sockets are never in the epoll
 * set (the kernel's every read of a reply would wake its waiters), and
 * the announcements are rare.
 *
 * The announcements' socket, opened anew (a reloaded nbd forgets who listened).
 */
static void dbk_nbd_events_reopen(struct dbk_daemon *dd)
{
	int ret;

	if (dd->nbd_events) {
		dbk_epoll_del(dd, dbk_nbd_events_fd(dd->nbd_events));
		dbk_nbd_events_close(dd->nbd_events);
		dd->nbd_events = NULL;
	}
	ret = dbk_nbd_events_open(&dd->nbd_events);
	if (ret == 0) {
		ret = dbk_epoll_add(dd, dbk_nbd_events_fd(dd->nbd_events), DBK_EP_NBD_EVENTS);
		if (ret < 0) {
			dbk_nbd_events_close(dd->nbd_events);
			dd->nbd_events = NULL;
		}
	}
	if (ret)
		dbk_log("nbd's announcements of dead connections: %s; a block driver that hangs will not be restarted",
			strerror(-ret));
}

/* Look at @d's ends @ms from now, unless a look is due sooner; @n: the looks after it. */
static void dbk_nbd_look_in(struct dbk_entry *d, uint64_t ms, unsigned int n)
{
	uint64_t at = dbk_now_ms() + ms;

	if (!d->nbd_check_at || d->nbd_check_at > at)
		d->nbd_check_at = at;
	if (n > d->nbd_looks)
		d->nbd_looks = n;
}

/*
 * The announcements' socket opened anew, and every watched disk's
 * connections looked at once, for an announcement lost in between (or in
 * an overrun, which is why it is reopened then).  Before each start's
 * attach too (the starting driver's ends are not watched yet): nbd may
 * have been unloaded and loaded again since the last (when no disk of
 * ours held it, or one disconnected behind our back), and a reloaded nbd
 * has no listeners.
 */
static void dbk_nbd_listen(struct dbk_daemon *dd)
{
	int i;

	dbk_nbd_events_reopen(dd);
	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].nbd_watched)
			dbk_nbd_look_in(&dd->devs[i], 0, DBK_NBD_LOOKS);
	dbk_timer_arm(dd);
}

static void dbk_nbd_link_dead(int index, void *arg)
{
	struct dbk_daemon *dd = arg;
	int i;

	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].nbd_index == index && dd->devs[i].nbd_watched)
			dbk_nbd_look_in(&dd->devs[i], DBK_NBD_CHECK_MS, DBK_NBD_LOOKS);
}

void dbk_nbd_events(struct dbk_daemon *dd)
{
	int ret;

	if (!dd->nbd_events)
		return;
	ret = dbk_nbd_events_read(dd->nbd_events, dbk_nbd_link_dead, dd);
	if (ret) {
		dbk_log("nbd's announcements could not be read (%s: some may be lost); looking at every disk's connections",
			strerror(-ret));
		dbk_nbd_listen(dd);
	}
	dbk_timer_arm(dd);
}

/*
 * At nbd_check_at: which of our ends hung up?  One that did is the
 * driver's connection lost: our ends are closed (the others need no
 * looking at) and a driver still running gets StopTimeoutSec= (2 s at
 * least) to exit by itself (a driver stopping on its own, its disk's
 * namespace gone say, shuts its connections first and its device down
 * after), then it is killed.  None: an announcement of a connection
 * before this driver's, or this one's shut down a little later than
 * announced (nbd queues the announcement first): looked at again, later.
 */
static void dbk_nbd_look(struct dbk_entry *d)
{
	static const unsigned int again_ms[] = { 1000, 5000 };
	struct pollfd p[DBK_BLOCK_QUEUES_MAX];
	unsigned int q;
	uint64_t grace;

	d->nbd_check_at = 0;
	if (!d->nbd_watched)
		return;
	for (q = 0; q < d->nr_nbd_socks; q++)
		p[q] = (struct pollfd){ .fd = d->nbd_socks[q] };	/* POLLHUP needs no asking */
	if (poll(p, d->nr_nbd_socks, 0) > 0)
		for (q = 0; q < d->nr_nbd_socks && !(p[q].revents & (POLLHUP | POLLERR)); q++)
			;
	else
		q = d->nr_nbd_socks;
	if (q == d->nr_nbd_socks) {
		if (d->nbd_looks) {
			d->nbd_looks--;
			dbk_nbd_look_in(d, again_ms[d->nbd_looks ? 0 : 1], 0);
		}
		return;
	}
	dbk_nbd_close_socks(d);
	if (d->pid > 0 && d->state == DBK_ST_RUNNING && !d->stopping && !d->stop_grace &&
	    !d->nbd_drop_at) {
		grace = d->stop_timeout > DBK_NBD_GRACE_MIN_S ? d->stop_timeout : DBK_NBD_GRACE_MIN_S;
		d->nbd_drop_at = dbk_now_ms() + grace * 1000;
		d->nbd_drop_pid = d->pid;
		d->nbd_drop_queue = q;
	}
}

/*
 * Step 3: the helper's result @r (NULL: it reported nothing, @why says
 * what became of it), checked and given to the kernel; a failure is the
 * driver's crash.
 */
static void dbk_nbd_done(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_nbd_result *r,
			 const char *gone)
{
	const struct dbk_manifest *m;
	char why[200];
	int ret;

	dbk_nbd_helper_end(dd, d);
	m = dbk_manifest_by_name(dd, d->driver);
	if (!r) {
		snprintf(why, sizeof(why), "%s", gone);
		ret = -ETIMEDOUT;
	} else if (r->err) {
		snprintf(why, sizeof(why), "queue %u: %s", r->queue, dbk_nbd_why(r->err));
		ret = r->err;
	} else if (!m) {
		snprintf(why, sizeof(why), "its manifest is gone");
		ret = -ENOENT;
	} else if (dbk_nbd_name_taken(dd, d, d->block_name)) {
		snprintf(why, sizeof(why), "the disk name %s is another device's", d->block_name);
		ret = -EEXIST;
	} else {
		ret = dbk_nbd_check(&r->ex, d->nr_nbd_socks, why, sizeof(why));
	}
	if (ret) {
		dbk_event(dd, "frontend", d, "block %s: the NBD handshake with driver %s failed: %s",
			  d->block_name, d->driver, why);
	} else {
		dbk_nbd_listen(dd);
		ret = dbk_nbd_attach(dd, d, m, &r->ex);
	}
	/* Kept, to tell which connection died when nbd says one did (dbk_nbd_listen). */
	if (ret || d->pid <= 0)
		dbk_nbd_close_socks(d);
	else
		d->nbd_watched = true;
	if (ret && d->pid > 0) {
		/* A crash: restarted with backoff, quarantined if it keeps failing. */
		d->nbd_killed = "block handshake failed";
		kill(-d->pid, SIGKILL);
		kill(d->pid, SIGKILL);
	}
}

bool dbk_nbd_event(struct dbk_daemon *dd, int fd)
{
	struct dbk_entry *d = dbk_nbd_entry_of(dd, fd);
	struct dbk_nbd_result r;
	char why[200];
	ssize_t n;

	if (!d)
		return false;
	n = read(fd, &r, sizeof(r));
	if (n < 0 && errno == EAGAIN)
		return true;
	/* The helper ran as the driver's user: its string is ended here. */
	r.ex.description[sizeof(r.ex.description) - 1] = 0;
	snprintf(why, sizeof(why), "its helper died (after %d s at most, the handshake's time limit)",
		 DBK_NBD_HANDSHAKE_MS / 1000);
	dbk_nbd_done(dd, d, n == (ssize_t)sizeof(r) ? &r : NULL, why);
	return true;
}

void dbk_nbd_timer(struct dbk_daemon *dd, struct dbk_entry *d, uint64_t now)
{
	char why[200];

	if (d->nbd_check_at && d->nbd_check_at <= now)
		dbk_nbd_look(d);
	if (d->nbd_drop_at && d->nbd_drop_at <= now) {
		d->nbd_drop_at = 0;
		/* Not reaped, so the pid is still our child's; not stopping: an orderly stop ends its own way. */
		if (d->pid > 0 && d->pid == d->nbd_drop_pid && d->state == DBK_ST_RUNNING &&
		    !d->stopping && !d->stop_grace) {
			dbk_event(dd, "frontend", d, "block %s (/dev/nbd%d): queue %u's connection ended (the kernel's nbd drops one whose request goes unanswered for BlockTimeoutSec=, or whose reply it cannot take) and driver %s (pid %d) still runs StopTimeoutSec=%u later: killing it, to be restarted",
				  d->block_name, d->nbd_index, d->nbd_drop_queue, d->driver, (int)d->pid,
				  d->stop_timeout);
			d->nbd_killed = "block connection dropped";
			kill(-d->pid, SIGKILL);
			kill(d->pid, SIGKILL);
		}
	}
	if (d->nbd_pipe < 0 || !d->nbd_deadline || d->nbd_deadline > now)
		return;
	/* Its result may be in the pipe already: then it is taken. */
	if (dbk_nbd_event(dd, d->nbd_pipe) && d->nbd_pipe < 0)
		return;
	snprintf(why, sizeof(why), "its helper (pid %d) did not report within %d s (stopped?): killed",
		 (int)d->nbd_helper, DBK_NBD_HELPER_MS / 1000);
	dbk_nbd_done(dd, d, NULL, why);
}

bool dbk_nbd_reaped(struct dbk_daemon *dd, pid_t pid)
{
	int i;

	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].nbd_helper == pid) {
			dd->devs[i].nbd_helper = 0;	/* the pid may be anyone's from now on */
			return true;
		}
	return false;
}

const struct dbk_frontend_ops dbk_frontend_nbd = {
	.name = "block", .handover = DBK_HANDOVER_NR_FDS,	/* several: DBK_BLOCK_FDS */
	.wanted = dbk_nbd_wanted, .add = dbk_nbd_add, .started = dbk_nbd_started,
	.close = dbk_nbd_close,
};
