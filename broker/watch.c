// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The manifest directories, watched: installing or removing a driver
 * package (or editing /etc/devbroker/drivers.d) takes effect without
 * restarting devbrokerd.  inotify, not a dpkg trigger, so that a manual
 * edit and any package manager count the same.
 *
 * Each directory's parent is watched too, for the directory itself: the
 * first driver package creates /usr/share/devbroker/drivers.d, purging the
 * last one removes it.  A manifest that is a symlink is not followed: an
 * edit of its target needs SIGHUP.
 *
 * dpkg unpacks NAME.conf as NAME.conf.dpkg-new and renames it, and removes
 * files one by one; an editor may write a file in several goes.  Changes
 * are collected until none came for DBK_WATCH_SETTLE_MS (but no longer
 * than DBK_WATCH_MAX_MS), and the manifests reloaded once, by the timer
 * (entry.c).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "daemon.h"

#define DBK_WATCH_SETTLE_MS	300
#define DBK_WATCH_MAX_MS	2000
#define DBK_WATCH_MASK	(IN_CLOSE_WRITE | IN_MODIFY | IN_MOVED_TO | IN_MOVED_FROM | \
			 IN_DELETE | IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF)
#define DBK_WATCH_PARENT_MASK	(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)

/* A manifest's file name: NAME.conf, not hidden (manifest.c reads only those). */
static bool dbk_watch_is_manifest(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".conf");
}

/* The last component of a manifest directory: what its parent's events name. */
static const char *dbk_watch_base(const char *dir)
{
	const char *b = strrchr(dir, '/');

	return b ? b + 1 : dir;
}

static bool dbk_watch_is_dir(struct dbk_daemon *dd, const char *name)
{
	return !strcmp(name, dbk_watch_base(dd->sysdir)) || !strcmp(name, dbk_watch_base(dd->etcdir));
}

void dbk_watch_refresh(struct dbk_daemon *dd)
{
	const char *dirs[] = { dd->sysdir, dd->etcdir };
	char parent[DBK_PATH_MAX], *slash;
	int i;

	if (dd->watchfd < 0)
		return;
	for (i = 0; i < 2; i++) {
		/* Adding a watch again only updates it: no need to track which exist. */
		if (inotify_add_watch(dd->watchfd, dirs[i], DBK_WATCH_MASK | IN_ONLYDIR) < 0 &&
		    errno != ENOENT)
			dbk_log("cannot watch %s: %s (reload with SIGHUP)", dirs[i], strerror(errno));
		snprintf(parent, sizeof(parent), "%s", dirs[i]);
		slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = 0;
		inotify_add_watch(dd->watchfd, parent, DBK_WATCH_PARENT_MASK | IN_ONLYDIR);
	}
}

int dbk_watch_open(struct dbk_daemon *dd)
{
	dd->watchfd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (dd->watchfd < 0)
		return -errno;
	dbk_watch_refresh(dd);
	return dd->watchfd;
}

/* Drain the fd; if a manifest changed, have the timer reload them once they settle. */
void dbk_watch_event(struct dbk_daemon *dd)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	uint64_t now = dbk_now_ms();
	bool changed = false;
	ssize_t n;

	while ((n = read(dd->watchfd, buf, sizeof(buf))) > 0) {
		const struct inotify_event *ev;
		char *p;

		for (p = buf; p < buf + n; p += sizeof(*ev) + ev->len) {
			ev = (const struct inotify_event *)p;
			if ((ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW)) ||
			    (ev->len && (dbk_watch_is_manifest(ev->name) || dbk_watch_is_dir(dd, ev->name))))
				changed = true;
		}
	}
	if (!changed)
		return;
	if (!dd->reload_at)
		dd->reload_first = now;
	dd->reload_at = now + DBK_WATCH_SETTLE_MS;
	if (dd->reload_at > dd->reload_first + DBK_WATCH_MAX_MS)
		dd->reload_at = dd->reload_first + DBK_WATCH_MAX_MS;
	dbk_timer_arm(dd);
}
