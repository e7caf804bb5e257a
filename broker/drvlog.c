// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A driver's standard output and error.  Each driver writes into a pipe of
 * its own, which devbrokerd reads in its loop and logs line by line as
 * "ID: DRIVER[PID]: text" (outlog.c cuts, cleans and rate-limits them).
 *
 * Why not hand the driver devbrokerd's own stderr, as a fork would: under
 * systemd that stream is the daemon's in the journal, so an unprivileged
 * driver could write lines that read as devbrokerd's ("devbrokerd: ...:
 * started: ..."), escape sequences for whoever reads the log on a
 * terminal, or enough lines for journald's rate limit to drop the
 * daemon's own.
 *
 * Once a driver has spent its window's lines, its pipe leaves the loop
 * until the window ends (the timer): devbrokerd spends no CPU on a flood,
 * and a driver that keeps writing blocks once its pipe (a megabyte) is
 * full, its own doing.  Once a driver is asked to stop (SIGTERM), its pipe
 * is read however much it writes (what is over the budget dropped and
 * counted): a driver blocked on its log must still be able to exit within
 * its StopTimeoutSec=.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

/* One read per event: a driver that writes without pause cannot hold the loop. */
#define DBK_DRVLOG_READ		4096
/* The pipe's size, and what is read of a reaped driver's pipe at most. */
#define DBK_DRVLOG_PIPE		(1 << 20)
#define DBK_DRVLOG_DRAIN	DBK_DRVLOG_PIPE

/* The manifest's name in the driver's lines ("driver" once its manifest is gone). */
static const char *dbk_drvlog_name(const struct dbk_entry *d)
{
	return d->driver[0] ? d->driver : "driver";
}

static void dbk_drvlog_emit(void *ctx, const char *line, unsigned int dropped)
{
	const struct dbk_entry *d = ctx;
	const char *name = dbk_drvlog_name(d);

	if (line)
		dbk_log("%s: %s[%d]: %s", d->info.id, name, (int)d->log_pid, line);
	else
		dbk_log("%s: %s[%d]: %u lines not logged (more than %d in %d s)", d->info.id, name,
			(int)d->log_pid, dropped, DBK_OUTLOG_BURST, DBK_OUTLOG_WINDOW_MS / 1000);
}

/* Out of the loop until the window ends, if its lines are spent: true if so. */
static bool dbk_drvlog_pause(struct dbk_daemon *dd, struct dbk_entry *d, uint64_t now)
{
	uint64_t until = dbk_outlog_spent(&d->log, now);

	if (!until || d->log_draining)
		return false;
	dbk_epoll_del(dd, d->log_fd);
	d->log_resume_at = until;
	dbk_timer_arm(dd);
	return true;
}

int dbk_drvlog_open(struct dbk_daemon *dd, struct dbk_entry *d, int *wr)
{
	int fds[2], ret;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	/* The driver's end stays blocking: a driver outrunning the log waits, loses nothing. */
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
		ret = -errno;
		goto fail;
	}
	/*
	 * Room for a burst while the pipe is out of the loop: a driver blocks
	 * on its log only past a megabyte in one window (pages are taken as
	 * they fill; the size may be refused, /proc/sys/fs/pipe-max-size).
	 */
	fcntl(fds[1], F_SETPIPE_SZ, DBK_DRVLOG_PIPE);
	d->log_fd = fds[0];
	d->log_pid = 0;
	d->log_resume_at = 0;
	d->log_draining = false;
	d->log.len = 0;		/* the window, and what it spent, stay: no fresh budget per start */
	if (!dbk_drvlog_pause(dd, d, dbk_now_ms())) {
		ret = dbk_epoll_add(dd, fds[0], DBK_EP_DRVLOG);
		if (ret < 0) {
			d->log_fd = -1;
			goto fail;
		}
	}
	*wr = fds[1];
	return 0;
fail:
	close(fds[0]);
	close(fds[1]);
	return ret;
}

/* Read once: > 0 bytes fed, 0 at the end (every writer gone), < 0 nothing now. */
static ssize_t dbk_drvlog_read(struct dbk_entry *d)
{
	char buf[DBK_DRVLOG_READ];
	ssize_t n = read(d->log_fd, buf, sizeof(buf));

	if (n > 0)
		dbk_outlog_feed(&d->log, buf, (size_t)n, dbk_now_ms(), dbk_drvlog_emit, d);
	return n;
}

static void dbk_drvlog_end(struct dbk_daemon *dd, struct dbk_entry *d)
{
	dbk_outlog_flush(&d->log, dbk_now_ms(), dbk_drvlog_emit, d);
	dbk_epoll_del(dd, d->log_fd);
	close(d->log_fd);
	d->log_fd = -1;
	d->log_resume_at = 0;
}

void dbk_drvlog_event(struct dbk_daemon *dd, int fd)
{
	int i;

	for (i = 0; i < dd->nr_devs; i++) {
		struct dbk_entry *d = &dd->devs[i];
		uint64_t now;

		if (d->log_fd != fd || d->log_resume_at)
			continue;
		/* The end: the driver closed its output (or died, and is reaped soon). */
		if (dbk_drvlog_read(d) == 0) {
			dbk_drvlog_end(dd, d);
			return;
		}
		now = dbk_now_ms();
		if (dbk_drvlog_pause(dd, d, now))
			dbk_log("%s: %s[%d]: more than %d lines in %d s: its output is read again in %llu ms",
				d->info.id, dbk_drvlog_name(d), (int)d->log_pid,
				DBK_OUTLOG_BURST, DBK_OUTLOG_WINDOW_MS / 1000,
				(unsigned long long)(d->log_resume_at - now));
		return;
	}
}

void dbk_drvlog_timer(struct dbk_daemon *dd, struct dbk_entry *d, uint64_t now)
{
	if (d->log_fd < 0 || !d->log_resume_at || d->log_resume_at > now)
		return;
	d->log_resume_at = 0;
	dbk_outlog_tick(&d->log, now, dbk_drvlog_emit, d);
	if (dbk_epoll_add(dd, d->log_fd, DBK_EP_DRVLOG) < 0) {
		/* Out of memory for the fd table: try again in a window. */
		d->log_resume_at = now + DBK_OUTLOG_WINDOW_MS;
	}
}

void dbk_drvlog_stopping(struct dbk_daemon *dd, struct dbk_entry *d)
{
	if (d->log_fd < 0)
		return;
	d->log_draining = true;
	if (d->log_resume_at && dbk_epoll_add(dd, d->log_fd, DBK_EP_DRVLOG) == 0)
		d->log_resume_at = 0;
}

void dbk_drvlog_close(struct dbk_daemon *dd, struct dbk_entry *d)
{
	size_t total = 0;
	ssize_t n;

	if (d->log_fd < 0)
		return;
	/*
	 * Its last words are in the pipe already (written before it exited);
	 * whatever else holds the write end (a child that escaped the process
	 * group's SIGKILL) is not waited for.  A pipe paused for flooding is
	 * read too: what is logged of it stays within the budget.
	 */
	while (total < DBK_DRVLOG_DRAIN && (n = dbk_drvlog_read(d)) > 0)
		total += (size_t)n;
	dbk_drvlog_end(dd, d);
}
