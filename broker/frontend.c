// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The frontends the broker opens for a driver, which may open none itself:
 * a CUSE character device (/dev/cuse), an input device (/dev/uinput), a
 * FUSE file system the broker mounts, a block device (nbd-frontend.c) and
 * a network interface (net-frontend.c).
 * Each is one entry of
 * dbk_frontends[]; launch.c hands over what the manifest asks for.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon.h"

static bool dbk_cuse_wanted(const struct dbk_manifest *m)
{
	return m->frontend.cuse[0];
}

/* /dev/cuse; the node's name (CUSE=) is watched for until it appears. */
static int dbk_cuse_open(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_launch *l)
{
	char name[DBK_NAME_MAX];
	int fd, ret;

	(void)dd;
	ret = dbk_template_expand(l->m->frontend.cuse, d->instance, d->info.id, d->info.serial,
				  name, sizeof(name));
	if (ret < 0) {
		dbk_log("%s: CUSE=%s: %s", d->info.id, l->m->frontend.cuse, strerror(-ret));
		return ret;
	}
	fd = open("/dev/cuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		dbk_log("%s: /dev/cuse: %s (modprobe cuse)", d->info.id, strerror(errno));
		return ret;
	}
	snprintf(d->frontend, sizeof(d->frontend), "/dev/%s", name);
	return fd;
}

static void dbk_cuse_close(struct dbk_daemon *dd, struct dbk_entry *d)
{
	(void)dd;
	d->frontend[0] = 0;
	d->frontend_ready = false;
}

static bool dbk_uinput_wanted(const struct dbk_manifest *m)
{
	return m->frontend.uinput;
}

static int dbk_uinput_open(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_launch *l)
{
	int fd = open("/dev/uinput", O_RDWR | O_CLOEXEC);

	(void)dd;
	(void)l;
	if (fd < 0) {
		fd = -errno;
		dbk_log("%s: /dev/uinput: %s (modprobe uinput)", d->info.id, strerror(-fd));
	}
	return fd;
}

int dbk_mkdirs(const char *path)
{
	char tmp[DBK_PATH_MAX], *p;

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

#ifndef MS_NOSYMFOLLOW
#define MS_NOSYMFOLLOW	256	/* Linux 5.10 */
#endif

/* Is d->fuse_mount another entry's mount point, or a mount point at all? */
static bool dbk_mount_busy(struct dbk_daemon *dd, const struct dbk_entry *d)
{
	char parent[DBK_PATH_MAX], *slash;
	struct stat st, pst;
	int i;

	for (i = 0; i < dd->nr_devs; i++)
		if (&dd->devs[i] != d && !strcmp(dd->devs[i].fuse_mount, d->fuse_mount))
			return true;
	snprintf(parent, sizeof(parent), "%s", d->fuse_mount);
	slash = strrchr(parent, '/');
	if (!slash)
		return true;
	slash[slash == parent] = '\0';
	/* lstat: a mount of a dead server would make stat() fail, and that also means busy. */
	return lstat(d->fuse_mount, &st) < 0 || lstat(parent, &pst) < 0 || !S_ISDIR(st.st_mode) ||
	       st.st_dev != pst.st_dev;
}

static bool dbk_fuse_wanted(const struct dbk_manifest *m)
{
	return m->frontend.fuse_mount[0];
}

/*
 * A FUSE filesystem for the driver to serve: the broker opens /dev/fuse and
 * mounts it (the driver may not mount), then passes the fd; libfuse takes
 * it with fuse_session_mount(se, "/dev/fd/N").
 */
static int dbk_fuse_open(struct dbk_daemon *dd, struct dbk_entry *d, const struct dbk_launch *l)
{
	char opts[160];
	int fd, ret;

	ret = dbk_template_expand(l->m->frontend.fuse_mount, d->instance, d->info.id,
				  d->info.serial, d->fuse_mount, sizeof(d->fuse_mount));
	if (ret >= 0)
		ret = dbk_mkdirs(d->fuse_mount);
	/*
	 * The path may come from the device (%s, its serial number): never
	 * mount over another driver's mount (an unmount would then remove
	 * the wrong one) or over any mount point.
	 */
	if (!ret && dbk_mount_busy(dd, d))
		ret = -EBUSY;
	if (ret)
		goto err;
	fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto err;
	}
	snprintf(opts, sizeof(opts), "fd=%d,rootmode=40000,user_id=%u,group_id=%u,allow_other",
		 fd, (unsigned int)l->uid, (unsigned int)l->gid);
	/* nosymfollow: root may write to a file in it; the driver could plant a symlink. */
	if (mount(l->m->name, d->fuse_mount, "fuse.devbroker",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOSYMFOLLOW, opts) < 0) {
		ret = -errno;
		close(fd);
		goto err;
	}
	return fd;
err:
	dbk_log("%s: FUSE mount at %s: %s", d->info.id, d->fuse_mount,
		ret == -EBUSY ? "another driver's mount, or a mount point, is there already" :
		ret == -ENODEV ? "no FUSE in the kernel (modprobe fuse)" : strerror(-ret));
	d->fuse_mount[0] = 0;
	return ret;
}

/* After the driver is gone: its mount goes too. */
static void dbk_fuse_close(struct dbk_daemon *dd, struct dbk_entry *d)
{
	(void)dd;
	if (d->fuse_mount[0] && umount2(d->fuse_mount, MNT_DETACH) < 0 && errno != EINVAL)
		dbk_log("%s: umount %s: %s", d->info.id, d->fuse_mount, strerror(errno));
	d->fuse_mount[0] = 0;
}

static const struct dbk_frontend_ops dbk_frontend_cuse = {
	.name = "cuse", .handover = DBK_HANDOVER_CUSE,
	.wanted = dbk_cuse_wanted, .open = dbk_cuse_open, .close = dbk_cuse_close,
};
static const struct dbk_frontend_ops dbk_frontend_uinput = {
	.name = "uinput", .handover = DBK_HANDOVER_UINPUT,
	.wanted = dbk_uinput_wanted, .open = dbk_uinput_open,
};
static const struct dbk_frontend_ops dbk_frontend_fuse = {
	.name = "fuse", .handover = DBK_HANDOVER_FUSE,
	.wanted = dbk_fuse_wanted, .open = dbk_fuse_open, .close = dbk_fuse_close,
};

const struct dbk_frontend_ops *const dbk_frontends[] = {
	&dbk_frontend_cuse, &dbk_frontend_uinput, &dbk_frontend_fuse, &dbk_frontend_nbd,
	&dbk_frontend_net, NULL,
};

void dbk_frontends_close(struct dbk_daemon *dd, struct dbk_entry *d)
{
	const struct dbk_frontend_ops *const *f;

	for (f = dbk_frontends; *f; f++)
		if ((*f)->close)
			(*f)->close(dd, d);
}

void dbk_frontends_settle(struct dbk_daemon *dd, struct dbk_entry *d, bool force)
{
	dbk_nbd_settle(dd, d, force);
	dbk_net_settle(dd, d, force);
	dbk_dynuser_settle(dd, d, force);	/* not a frontend, but it waits for the restart the same way */
}

void dbk_frontend_appeared(struct dbk_daemon *dd, const char *devname)
{
	const struct dbk_manifest *m;
	char path[128];
	int i, mode;

	snprintf(path, sizeof(path), "/dev/%s", devname);
	for (i = 0; i < dd->nr_devs; i++) {
		struct dbk_entry *d = &dd->devs[i];

		if (d->frontend_ready || strcmp(d->frontend, path))
			continue;
		m = dbk_manifest_by_name(dd, d->driver);
		if (!m)
			continue;
		mode = m->frontend.cuse_mode & dd->limits.cuse_mode_mask;
		if (chown(path, m->frontend.cuse_uid, m->frontend.cuse_gid) < 0 || chmod(path, mode) < 0)
			dbk_log("%s: %s: %s", d->info.id, path, strerror(errno));
		d->frontend_ready = true;
		dbk_event(dd, "frontend", d, "%s ready (mode %04o)", path, mode);
	}
}

void dbk_frontend_poll(struct dbk_daemon *dd)
{
	struct stat st;
	int i;

	for (i = 0; i < dd->nr_devs; i++)
		if (dd->devs[i].pid > 0 && dd->devs[i].frontend[0] && !dd->devs[i].frontend_ready &&
		    stat(dd->devs[i].frontend, &st) == 0)
			dbk_frontend_appeared(dd, dd->devs[i].frontend + 5);
}
