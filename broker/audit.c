// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Policy denials, for `devbrokerctl events`: the module traces each one
 * (devbroker:dbk_policy_denied); the daemon reads them from a tracefs
 * instance of its own, so that nobody else's tracing is disturbed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"

static const char *const dbk_tracefs[] = { "/sys/kernel/tracing", "/sys/kernel/debug/tracing" };
static char dbk_audit_dir[128];

static int dbk_audit_write(const char *file, const char *val)
{
	char path[256];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/%s", dbk_audit_dir, file);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) < 0)
		ret = -errno;
	close(fd);
	return ret;
}

/* Returns the trace_pipe fd, or -errno (no tracefs, or the module is not loaded yet). */
int dbk_audit_open(void)
{
	char path[256];
	struct stat st;
	unsigned int i;
	int fd;

	if (stat("/sys/kernel/tracing/instances", &st) < 0)
		mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL);
	for (i = 0; i < sizeof(dbk_tracefs) / sizeof(dbk_tracefs[0]); i++) {
		snprintf(dbk_audit_dir, sizeof(dbk_audit_dir), "%s/instances/devbroker", dbk_tracefs[i]);
		if (mkdir(dbk_audit_dir, 0700) == 0 || errno == EEXIST)
			break;
	}
	if (i == sizeof(dbk_tracefs) / sizeof(dbk_tracefs[0]))
		return -ENOENT;
	if (dbk_audit_write("events/devbroker/dbk_policy_denied/enable", "1"))
		return -ENOENT;
	snprintf(path, sizeof(path), "%s/trace_pipe", dbk_audit_dir);
	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* "... dbk_policy_denied: write denied on 0000:00:04.0 to pid ...": one event each. */
void dbk_audit_read(int fd)
{
	static char buf[8192];
	static size_t len;
	char *line, *nl, *p, id[32];
	ssize_t n;

	while ((n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += n;
		buf[len] = 0;
		for (line = buf; (nl = strchr(line, '\n')); line = nl + 1) {
			struct dbk_dev *d = NULL;

			*nl = 0;
			p = strstr(line, "dbk_policy_denied: ");
			if (!p)
				continue;
			p += strlen("dbk_policy_denied: ");
			if (sscanf(p, "%*s denied on %31s", id) == 1)
				d = dbk_dev_find(id);
			dbk_event("denied", d, "%s", p);
		}
		len -= line - buf;
		memmove(buf, line, len);
		if (len == sizeof(buf) - 1)
			len = 0;	/* a line longer than the buffer: drop it */
	}
}
