// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The manifest directories, watched: installing or removing a driver
 * package (or editing /etc/devbroker/drivers.d) takes effect without
 * restarting devbrokerd.  inotify, not a dpkg trigger, so that a manual
 * edit and any package manager count the same.
 *
 * dpkg unpacks NAME.conf as NAME.conf.dpkg-new and renames it, and removes
 * files one by one: changes are collected for a moment (DBK_WATCH_SETTLE_MS)
 * and the manifests reloaded once, by the timer (entry.c).
 */
#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "daemon.h"

#define DBK_WATCH_SETTLE_MS	300
#define DBK_WATCH_MASK	(IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | \
			 IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF)

/* A manifest's file name: NAME.conf, not hidden (manifest.c reads only those). */
static bool dbk_watch_is_manifest(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".conf");
}

int dbk_watch_open(struct dbk_daemon *dd)
{
	const char *dirs[] = { dd->sysdir, dd->etcdir };
	int fd, i, watched = 0;

	fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (i = 0; i < 2; i++) {
		/* A directory that does not exist has no manifests to change: SIGHUP after creating it. */
		if (inotify_add_watch(fd, dirs[i], DBK_WATCH_MASK | IN_ONLYDIR) >= 0)
			watched++;
		else if (errno != ENOENT)
			dbk_log("cannot watch %s: %s (reload with SIGHUP)", dirs[i], strerror(errno));
	}
	if (!watched) {
		close(fd);
		return -ENOENT;
	}
	return fd;
}

/* Drain @fd; if a manifest changed, have the timer reload them a moment later. */
void dbk_watch_event(struct dbk_daemon *dd, int fd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	bool changed = false;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		const struct inotify_event *ev;
		char *p;

		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW)) ||
			    (ev->len && dbk_watch_is_manifest(ev->name)))
				changed = true;
		}
	}
	if (changed) {
		dd->reload_at = dbk_now_ms() + DBK_WATCH_SETTLE_MS;
		dbk_timer_arm(dd);
	}
}
