/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdev: a device served as one regular file in a FUSE filesystem that
 * the broker mounted for the driver (a driver may not mount).
 *
 * The filesystem has two inodes: 1, the root directory, and 2, the file.
 * libfuse's low-level API takes the inherited /dev/fuse fd as the
 * "mountpoint" /dev/fd/N (fuse_session_mount() then only adopts it).  The
 * loop is our own, polling the fuse fd and a stop eventfd, so that
 * dbk_fuse_file_stop() is async-signal-safe and a callback's -ENODEV can
 * end it; libfuse's fuse_session_loop() blocks in read() on the fd and
 * could only be woken by a signal.  One request at a time: drivers need no
 * locking and stay single-threaded.
 *
 * Permissions: the broker mounts with allow_other and without
 * default_permissions, so the kernel checks nothing and every check is
 * ours: the file belongs to the serving process's euid/egid, with the
 * permission bits it was created with, and root may use it (losetup).
 *
 * Caching: writes are write-through (no FUSE writeback cache), so a
 * device's write error reaches the writer; reads go through the page
 * cache, which stays valid because all data passes through this file.
 * O_DIRECT reaches the callbacks directly.
 */
#define FUSE_USE_VERSION 35
#include <fuse3/fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "libdev-private.h"
#include "frontend-private.h"

#define ROOT_INO	FUSE_ROOT_ID	/* 1 */
#define FILE_INO	2
#define ROOT_MODE	0755
/* Nothing about the two inodes ever changes: let the kernel cache them. */
#define ATTR_TIMEOUT	3600.0
/* /dev/fuse is misc device 10:229 (Documentation/admin-guide/devices.txt). */
#define FUSE_DEV	makedev(10, 229)

struct dbk_fuse_file {
	struct fuse_session *se;
	struct dbk_fuse_file_ops ops;
	void *data;
	char *name;
	uint64_t size;
	unsigned int mode;
	uid_t uid;
	gid_t gid;
	struct timespec time;	/* all three times: the creation time */
	int stop_fd;
	bool dirty;		/* written to since the last flush callback */
	bool gone;		/* a callback said -ENODEV: the loop ends */
	bool ended;		/* the kernel ended the connection (unmount) */
	void *buf;		/* read buffer, grown on demand */
	size_t buf_size;
};

int dbk__fuse_span(uint64_t fsize, int64_t off, size_t size, bool write,
		   size_t *n)
{
	if (off < 0)
		return -EINVAL;
	if ((uint64_t)off >= fsize) {
		*n = 0;
		return write && size ? -ENOSPC : 0;
	}
	*n = size < fsize - (uint64_t)off ? size : (size_t)(fsize - (uint64_t)off);
	return 0;
}

int dbk__fuse_access(unsigned int mode, uid_t owner, gid_t group, uid_t uid,
		     gid_t gid, int mask)
{
	unsigned int need = 0, bits;

	if (mask & R_OK)
		need |= 4;
	if (mask & W_OK)
		need |= 2;
	if (mask & X_OK)
		need |= 1;
	if (uid == 0)
		return (need & 1) && !(mode & 0111) ? -EACCES : 0;
	if (uid == owner)
		bits = mode >> 6;
	else if (gid == group)
		bits = mode >> 3;
	else
		bits = mode;
	return (bits & need) == need ? 0 : -EACCES;
}

static struct dbk_fuse_file *req_file(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* A callback's negative result as the errno to answer: -ENODEV (the
 * device is gone) answers EIO and ends the loop; nonsense answers EIO. */
static int cb_errno(struct dbk_fuse_file *f, long r)
{
	if (r == -ENODEV) {
		f->gone = true;
		return EIO;
	}
	return r < 0 && r >= -4095 ? (int)-r : EIO;
}

static void fill_attr(const struct dbk_fuse_file *f, fuse_ino_t ino,
		      struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_uid = f->uid;
	st->st_gid = f->gid;
	st->st_atim = st->st_mtim = st->st_ctim = f->time;
	st->st_blksize = 4096;
	if (ino == ROOT_INO) {
		st->st_mode = S_IFDIR | ROOT_MODE;
		st->st_nlink = 2;
	} else {
		st->st_mode = S_IFREG | f->mode;
		st->st_nlink = 1;
		st->st_size = (off_t)f->size;
		st->st_blocks = (blkcnt_t)((f->size + 511) / 512);
	}
}

static int check_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct dbk_fuse_file *f = req_file(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);

	return dbk__fuse_access(ino == ROOT_INO ? ROOT_MODE : f->mode, f->uid,
				f->gid, ctx->uid, ctx->gid, mask);
}

static void ff_init(void *data, struct fuse_conn_info *conn)
{
	(void)data;
	/* Write-through: see the top of the file. */
	conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

static void ff_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct dbk_fuse_file *f = req_file(req);
	struct fuse_entry_param e;

	if (parent != ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	if (strcmp(name, f->name)) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = FILE_INO;
	e.generation = 1;
	e.attr_timeout = ATTR_TIMEOUT;
	e.entry_timeout = ATTR_TIMEOUT;
	fill_attr(f, FILE_INO, &e.attr);
	fuse_reply_entry(req, &e);
}

static void ff_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	(void)fi;
	if (ino != ROOT_INO && ino != FILE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(req_file(req), ino, &st);
	fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

/* Owner, mode and size are the device's: only (ignored) time updates pass. */
static void ff_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct dbk_fuse_file *f = req_file(req);
	struct stat st;

	(void)fi;
	if (ino != ROOT_INO && ino != FILE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if ((to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID)) ||
	    ((to_set & FUSE_SET_ATTR_SIZE) &&
	     (ino != FILE_INO || (uint64_t)attr->st_size != f->size))) {
		fuse_reply_err(req, EPERM);
		return;
	}
	fill_attr(f, ino, &st);
	fuse_reply_attr(req, &st, ATTR_TIMEOUT);
}

static void ff_access(fuse_req_t req, fuse_ino_t ino, int mask)
{
	struct dbk_fuse_file *f = req_file(req);

	if (ino == FILE_INO && (mask & W_OK) && !f->ops.write)
		fuse_reply_err(req, EROFS);
	else
		fuse_reply_err(req, -check_access(req, ino, mask));
}

static void ff_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dbk_fuse_file *f = req_file(req);
	int acc = fi->flags & O_ACCMODE, mask = 0, r;

	if (ino == ROOT_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (ino != FILE_INO) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	if (acc == O_RDONLY || acc == O_RDWR)
		mask |= R_OK;
	if (acc == O_WRONLY || acc == O_RDWR)
		mask |= W_OK;
	r = check_access(req, ino, mask);
	if (r == 0 && (mask & W_OK) && !f->ops.write)
		r = -EROFS;
	/* With FUSE_CAP_ATOMIC_O_TRUNC (libfuse's default) O_TRUNC comes
	 * here instead of as a setattr: the size is the device's. */
	if (r == 0 && (fi->flags & O_TRUNC) && f->size)
		r = -EPERM;
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fi->direct_io = 0;
	fi->keep_cache = 0;
	fi->noflush = !(mask & W_OK);	/* no FUSE_FLUSH on closing a reader */
	fuse_reply_open(req, fi);
}

static void ff_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct dbk_fuse_file *f = req_file(req);
	ssize_t got;
	size_t n;
	int r;

	(void)fi;
	if (ino != FILE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	r = dbk__fuse_span(f->size, off, size, false, &n);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (n == 0) {
		fuse_reply_buf(req, NULL, 0);
		return;
	}
	if (!f->ops.read) {
		fuse_reply_err(req, EIO);
		return;
	}
	if (n > f->buf_size) {
		void *b = realloc(f->buf, n);

		if (!b) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		f->buf = b;
		f->buf_size = n;
	}
	got = f->ops.read(f->data, f->buf, n, (uint64_t)off);
	if (got < 0) {
		fuse_reply_err(req, cb_errno(f, got));
		return;
	}
	fuse_reply_buf(req, f->buf, (size_t)got < n ? (size_t)got : n);
}

static void ff_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		     size_t size, off_t off, struct fuse_file_info *fi)
{
	struct dbk_fuse_file *f = req_file(req);
	ssize_t put;
	size_t n;
	int r;

	(void)fi;
	if (ino != FILE_INO) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	if (!f->ops.write) {
		fuse_reply_err(req, EROFS);
		return;
	}
	r = dbk__fuse_span(f->size, off, size, true, &n);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	if (n == 0) {
		fuse_reply_write(req, 0);
		return;
	}
	f->dirty = true;
	put = f->ops.write(f->data, buf, n, (uint64_t)off);
	/* Writing nothing would have the writer retry forever. */
	if (put <= 0) {
		fuse_reply_err(req, put ? cb_errno(f, put) : EIO);
		return;
	}
	fuse_reply_write(req, (size_t)put < n ? (size_t)put : n);
}

/* Run the flush callback; 0 or the errno to answer. */
static int do_flush(struct dbk_fuse_file *f)
{
	int r;

	if (!f->ops.flush) {
		f->dirty = false;
		return 0;
	}
	r = f->ops.flush(f->data);
	if (r < 0)
		return cb_errno(f, r);
	f->dirty = false;
	return 0;
}

/* close(2) of a file descriptor: report a failed flush to the closer. */
static void ff_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dbk_fuse_file *f = req_file(req);

	(void)ino;
	(void)fi;
	fuse_reply_err(req, f->dirty ? do_flush(f) : 0);
}

static void ff_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	(void)ino;
	(void)datasync;
	(void)fi;
	fuse_reply_err(req, do_flush(req_file(req)));
}

/* The last close of an open file: a flush that failed at close is retried;
 * the kernel ignores the answer. */
static void ff_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct dbk_fuse_file *f = req_file(req);

	(void)ino;
	(void)fi;
	if (f->dirty)
		do_flush(f);
	fuse_reply_err(req, 0);
}

static void ff_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino != ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	fuse_reply_open(req, fi);
}

static void ff_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dbk_fuse_file *f = req_file(req);
	const char *names[3] = { ".", "..", f->name };
	const fuse_ino_t inos[3] = { ROOT_INO, ROOT_INO, FILE_INO };
	size_t len = 0;
	char *buf;
	int i;

	(void)fi;
	if (ino != ROOT_INO) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	/* The entry offset is the index of the next entry. */
	for (i = off < 0 ? 3 : (int)(off < 3 ? off : 3); i < 3; i++) {
		struct stat st;
		size_t need;

		fill_attr(f, inos[i], &st);
		need = fuse_add_direntry(req, buf + len, size - len, names[i],
					 &st, i + 1);
		if (need > size - len)
			break;
		len += need;
	}
	fuse_reply_buf(req, buf, len);
	free(buf);
}

static void ff_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct dbk_fuse_file *f = req_file(req);
	struct statvfs sv;

	(void)ino;
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = (fsblkcnt_t)((f->size + 4095) / 4096);
	sv.f_files = 2;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static const struct fuse_lowlevel_ops ff_ops = {
	.init = ff_init,
	.lookup = ff_lookup,
	.getattr = ff_getattr,
	.setattr = ff_setattr,
	.access = ff_access,
	.open = ff_open,
	.read = ff_read,
	.write = ff_write,
	.flush = ff_flush,
	.fsync = ff_fsync,
	.release = ff_release,
	.opendir = ff_opendir,
	.readdir = ff_readdir,
	.statfs = ff_statfs,
};

static bool valid_name(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 255 && !strchr(name, '/') &&
	       strcmp(name, ".") && strcmp(name, "..");
}

static int file_new(int fuse_fd, bool any_fd, const char *name, uint64_t size,
		    unsigned int mode, const struct dbk_fuse_file_ops *ops,
		    void *data, struct dbk_fuse_file **filep)
{
	char *argv[] = { (char *)"libdev-fusefile", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	struct dbk_fuse_file *f;
	struct stat st;
	char mnt[32];
	int fl, r = -EIO;

	if (fuse_fd < 0 || !name || !ops || !filep || !valid_name(name) ||
	    (mode & ~0777u) || size > INT64_MAX)
		return -EINVAL;
	fl = fcntl(fuse_fd, F_GETFL);
	if (fl < 0 || fstat(fuse_fd, &st) < 0)
		return -EINVAL;
	if (!any_fd && (!S_ISCHR(st.st_mode) || st.st_rdev != FUSE_DEV))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->ops = *ops;
	f->data = data;
	f->size = size;
	f->mode = mode;
	f->uid = geteuid();
	f->gid = getegid();
	clock_gettime(CLOCK_REALTIME, &f->time);
	f->name = strdup(name);
	if (!f->name) {
		r = -ENOMEM;
		goto fail_free;
	}
	f->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (f->stop_fd < 0) {
		r = -errno;
		goto fail_free;
	}
	f->se = fuse_session_new(&args, &ff_ops, sizeof(ff_ops), f);
	fuse_opt_free_args(&args);
	if (!f->se)
		goto fail_stop;
	/* "/dev/fd/N": libfuse adopts the fd instead of mounting. */
	snprintf(mnt, sizeof(mnt), "/dev/fd/%d", fuse_fd);
	if (fuse_session_mount(f->se, mnt) != 0) {
		fuse_session_destroy(f->se);	/* fd not yet taken: not closed */
		goto fail_stop;
	}
	/*
	 * Poll, then read: a request can be withdrawn in between (its caller
	 * was interrupted), and a blocking read would then sleep past
	 * dbk_fuse_file_stop().  Set only now: on failure the fd is as it came.
	 */
	if (!(fl & O_NONBLOCK))
		fcntl(fuse_fd, F_SETFL, fl | O_NONBLOCK);
	*filep = f;
	return 0;

fail_stop:
	close(f->stop_fd);
fail_free:
	free(f->name);
	free(f);
	return r;
}

DBK_EXPORT int dbk_fuse_file_new(int fuse_fd, const char *name, uint64_t size,
				 unsigned int mode,
				 const struct dbk_fuse_file_ops *ops, void *data,
				 struct dbk_fuse_file **filep)
{
	return file_new(fuse_fd, false, name, size, mode, ops, data, filep);
}

int dbk__fuse_file_new_any(int fd, const char *name, uint64_t size,
			   unsigned int mode, const struct dbk_fuse_file_ops *ops,
			   void *data, struct dbk_fuse_file **filep)
{
	return file_new(fd, true, name, size, mode, ops, data, filep);
}

DBK_EXPORT int dbk_fuse_file_run(struct dbk_fuse_file *f)
{
	if (!f)
		return -EINVAL;
	if (f->gone)
		return -ENODEV;
	if (f->ended)
		return 0;
	return dbk__fuse_serve(f->se, f->stop_fd, &f->gone, &f->ended);
}

DBK_EXPORT int dbk_fuse_file_stop(struct dbk_fuse_file *f)
{
	uint64_t one = 1;

	if (!f)
		return -EINVAL;
	/* Only a write(2): async-signal-safe.  EAGAIN: already pending. */
	if (write(f->stop_fd, &one, sizeof(one)) < 0) { /* nothing to do */ }
	return 0;
}

DBK_EXPORT void dbk_fuse_file_free(struct dbk_fuse_file *f)
{
	if (!f)
		return;
	fuse_session_destroy(f->se);	/* closes the /dev/fuse fd */
	close(f->stop_fd);
	free(f->buf);
	free(f->name);
	free(f);
}
