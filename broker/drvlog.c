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
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"

/* One read per event: a driver that writes without pause cannot hold the loop. */
#define DBK_DRVLOG_READ		4096
/* What is read of a reaped driver's pipe at most (its buffer's default size). */
#define DBK_DRVLOG_DRAIN	65536

int dbk_drvlog_pipe(int fds[2])
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	/* The driver's end stays blocking: a driver outrunning the log waits, loses nothing. */
	if (fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0) {
		int ret = -errno;

		close(fds[0]);
		close(fds[1]);
		return ret;
	}
	return 0;
}

static void dbk_drvlog_emit(void *ctx, const char *line, unsigned int dropped)
{
	const struct dbk_entry *d = ctx;
	const char *name = d->driver[0] ? d->driver : "driver";

	if (line)
		dbk_log("%s: %s[%d]: %s", d->info.id, name, (int)d->log_pid, line);
	else
		dbk_log("%s: %s[%d]: %u lines not logged (more than %d in %d s)", d->info.id, name,
			(int)d->log_pid, dropped, DBK_OUTLOG_BURST, DBK_OUTLOG_WINDOW_MS / 1000);
}

void dbk_drvlog_started(struct dbk_daemon *dd, struct dbk_entry *d, int rd, pid_t pid)
{
	d->log_fd = rd;
	d->log_pid = pid;
	memset(&d->log, 0, sizeof(d->log));
	if (dbk_epoll_add(dd, rd, DBK_EP_DRVLOG) < 0)	/* out of memory: drained at its exit */
		dbk_log("%s: the driver's output is logged only when it exits: %s", d->info.id,
			strerror(ENOMEM));
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
}

void dbk_drvlog_event(struct dbk_daemon *dd, int fd)
{
	int i;

	for (i = 0; i < dd->nr_devs; i++) {
		struct dbk_entry *d = &dd->devs[i];

		if (d->log_fd != fd)
			continue;
		/* The end: the driver closed its output (or died, and is reaped soon). */
		if (dbk_drvlog_read(d) == 0)
			dbk_drvlog_end(dd, d);
		return;
	}
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
	 * group's SIGKILL) is not waited for.
	 */
	while (total < DBK_DRVLOG_DRAIN && (n = dbk_drvlog_read(d)) > 0)
		total += (size_t)n;
	dbk_drvlog_end(dd, d);
}
