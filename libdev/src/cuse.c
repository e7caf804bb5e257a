/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdev: a character device served through CUSE on an inherited fd.
 *
 * The driver never opens /dev/cuse (only root may): a privileged party
 * opens it and hands the fd over.  libfuse accepts such an fd as the
 * "mountpoint" /dev/fd/N (fuse_session_mount), after cuse_lowlevel_new().
 * The session loop is our own (poll on the fuse fd and a stop eventfd), so
 * that dbk_cuse_stop() works from any thread or signal handler.
 */
#define FUSE_USE_VERSION 31
#include <fuse3/cuse_lowlevel.h>
#include <fuse3/fuse_lowlevel.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "libdev-private.h"

struct dbk_cuse {
	struct fuse_session *se;
	struct dbk_cuse_ops ops;
	void *data;
	int fd;
	int stop_fd;
	char *devname_arg;	/* "DEVNAME=<name>" */
};

/* What fi->fh points to: one per open file. */
struct cuse_file {
	uint64_t pos;
	void *fh;
};

static struct dbk_cuse *req_cuse(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

static struct cuse_file *file_of(struct fuse_file_info *fi)
{
	return (struct cuse_file *)(uintptr_t)fi->fh;
}

static void cuse_open(fuse_req_t req, struct fuse_file_info *fi)
{
	struct dbk_cuse *c = req_cuse(req);
	struct cuse_file *f = calloc(1, sizeof(*f));
	int r = 0;

	if (!f) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (c->ops.open)
		r = c->ops.open(c->data, fi->flags, &f->fh);
	if (r < 0) {
		free(f);
		fuse_reply_err(req, -r);
		return;
	}
	fi->fh = (uintptr_t)f;
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

static void cuse_read(fuse_req_t req, size_t size, off_t off,
		      struct fuse_file_info *fi)
{
	struct dbk_cuse *c = req_cuse(req);
	struct cuse_file *f = file_of(fi);
	ssize_t n;
	void *buf;

	(void)off;	/* always 0 from the kernel's CUSE: use our position */
	if (!c->ops.read) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	buf = malloc(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	n = c->ops.read(c->data, f->fh, buf, size, f->pos);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
	} else {
		if ((size_t)n > size)
			n = (ssize_t)size;
		f->pos += (uint64_t)n;
		fuse_reply_buf(req, buf, (size_t)n);
	}
	free(buf);
}

static void cuse_write(fuse_req_t req, const char *buf, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	struct dbk_cuse *c = req_cuse(req);
	struct cuse_file *f = file_of(fi);
	ssize_t n;

	(void)off;
	if (!c->ops.write) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	n = c->ops.write(c->data, f->fh, buf, size, f->pos);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	if ((size_t)n > size)
		n = (ssize_t)size;
	f->pos += (uint64_t)n;
	fuse_reply_write(req, (size_t)n);
}

static void cuse_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct dbk_cuse *c = req_cuse(req);
	struct cuse_file *f = file_of(fi);

	if (c->ops.release)
		c->ops.release(c->data, f ? f->fh : NULL);
	free(f);
	fuse_reply_err(req, 0);
}

static void cuse_ioctl(fuse_req_t req, int cmd, void *arg,
		       struct fuse_file_info *fi, unsigned int flags,
		       const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct dbk_cuse *c = req_cuse(req);
	struct cuse_file *f = file_of(fi);
	unsigned int ucmd = (unsigned int)cmd;
	void *out = NULL;
	int r;

	(void)arg;
	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if (ucmd == DBK_CUSE_IOC_SEEK) {
		uint64_t pos;

		if (in_bufsz < sizeof(pos)) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		memcpy(&pos, in_buf, sizeof(pos));
		f->pos = pos;
		fuse_reply_ioctl(req, 0, NULL, 0);
		return;
	}
	if (ucmd == DBK_CUSE_IOC_TELL) {
		if (out_bufsz < sizeof(f->pos)) {
			fuse_reply_err(req, EINVAL);
			return;
		}
		fuse_reply_ioctl(req, 0, &f->pos, sizeof(f->pos));
		return;
	}
	if (!c->ops.ioctl) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	if (out_bufsz) {
		out = calloc(1, out_bufsz);
		if (!out) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
	}
	r = c->ops.ioctl(c->data, f->fh, ucmd, in_buf, in_bufsz, out, out_bufsz);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_ioctl(req, r, out, out_bufsz);
	free(out);
}

static const struct cuse_lowlevel_ops cuse_ops = {
	.open = cuse_open,
	.read = cuse_read,
	.write = cuse_write,
	.release = cuse_release,
	.ioctl = cuse_ioctl,
};

static bool valid_name(const char *name)
{
	size_t i, n = strlen(name);

	if (n == 0 || n > 64 || name[0] == '.')
		return false;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' || ch == '.'))
			return false;
	}
	return true;
}

DBK_EXPORT int dbk_cuse_new(int cuse_fd, const char *name,
			    const struct dbk_cuse_ops *ops, void *data,
			    struct dbk_cuse **cusep)
{
	char *argv[] = { (char *)"libdev-cuse", NULL };
	struct fuse_args args = FUSE_ARGS_INIT(1, argv);
	const char *dev_info[1];
	struct cuse_info ci;
	struct dbk_cuse *c;
	char mnt[32];

	if (cuse_fd < 0 || !name || !ops || !cusep || !valid_name(name))
		return -EINVAL;
	if (fcntl(cuse_fd, F_GETFD) < 0)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ops = *ops;
	c->data = data;
	c->fd = cuse_fd;
	c->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->stop_fd < 0) {
		int e = -errno;

		free(c);
		return e;
	}
	if (asprintf(&c->devname_arg, "DEVNAME=%s", name) < 0) {
		close(c->stop_fd);
		free(c);
		return -ENOMEM;
	}
	dev_info[0] = c->devname_arg;
	memset(&ci, 0, sizeof(ci));
	ci.dev_info_argc = 1;
	ci.dev_info_argv = dev_info;
	ci.flags = 0;		/* restricted ioctls only */

	c->se = cuse_lowlevel_new(&args, &ci, &cuse_ops, c);
	fuse_opt_free_args(&args);
	if (!c->se)
		goto fail;
	snprintf(mnt, sizeof(mnt), "/dev/fd/%d", cuse_fd);
	if (fuse_session_mount(c->se, mnt) != 0) {
		fuse_session_destroy(c->se);	/* fd not yet taken: not closed */
		goto fail;
	}
	*cusep = c;
	return 0;
fail:
	close(c->stop_fd);
	free(c->devname_arg);
	free(c);
	return -EIO;
}

DBK_EXPORT int dbk_cuse_run(struct dbk_cuse *c)
{
	if (!c)
		return -EINVAL;
	return dbk__fuse_serve(c->se, c->stop_fd, NULL, NULL);
}

DBK_EXPORT int dbk_cuse_stop(struct dbk_cuse *c)
{
	uint64_t one = 1;

	if (!c)
		return -EINVAL;
	if (write(c->stop_fd, &one, sizeof(one)) < 0) { /* already pending */ }
	return 0;
}

DBK_EXPORT void dbk_cuse_free(struct dbk_cuse *c)
{
	if (!c)
		return;
	fuse_session_destroy(c->se);	/* closes the /dev/cuse fd */
	close(c->stop_fd);
	free(c->devname_arg);
	free(c);
}
