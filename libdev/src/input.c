/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdev: an evdev input device served through a /dev/uinput fd that the
 * broker opened (only root may open /dev/uinput).
 *
 * libevdev does the uinput setup on the inherited fd (not
 * LIBEVDEV_UINPUT_OPEN_MANAGED, which would open /dev/uinput itself).  The
 * same fd carries the events the kernel sends *to* the device (EV_LED,
 * EV_SND, EV_UINPUT for force feedback): it is made non-blocking so that
 * dbk_input_read() can be called whenever poll() says so, or just polled.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
#include <libevdev/libevdev.h>
#include <libevdev/libevdev-uinput.h>

#include "libdev-private.h"

struct dbk_input {
	struct libevdev_uinput *uidev;
	int fd;
};

DBK_EXPORT int dbk_input_new(int uinput_fd, const struct libevdev *tmpl,
			     struct dbk_input **inputp)
{
	struct dbk_input *in;
	int fl, r;

	if (uinput_fd < 0 || !tmpl || !inputp)
		return -EINVAL;
	fl = fcntl(uinput_fd, F_GETFL);
	if (fl < 0)
		return -EINVAL;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->fd = uinput_fd;
	r = libevdev_uinput_create_from_device(tmpl, uinput_fd, &in->uidev);
	if (r < 0) {
		free(in);
		return r;	/* -ENOTTY for a non-uinput fd, -EINVAL, ... */
	}
	/* Only now: on failure the fd is left as it came. */
	if (!(fl & O_NONBLOCK) && fcntl(uinput_fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		r = -errno;
		libevdev_uinput_destroy(in->uidev);
		free(in);
		return r;
	}
	*inputp = in;
	return 0;
}

DBK_EXPORT int dbk_input_emit(struct dbk_input *input, unsigned int type,
			      unsigned int code, int value)
{
	if (!input || type > EV_MAX || code > KEY_MAX)
		return -EINVAL;
	return libevdev_uinput_write_event(input->uidev, type, code, value);
}

DBK_EXPORT int dbk_input_sync(struct dbk_input *input)
{
	return dbk_input_emit(input, EV_SYN, SYN_REPORT, 0);
}

DBK_EXPORT int dbk_input_get_fd(const struct dbk_input *input)
{
	return input ? input->fd : -EINVAL;
}

DBK_EXPORT int dbk_input_read(struct dbk_input *input, struct input_event *ev)
{
	ssize_t n;

	if (!input || !ev)
		return -EINVAL;
	do
		n = read(input->fd, ev, sizeof(*ev));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	/* uinput hands out whole events only. */
	return n == (ssize_t)sizeof(*ev) ? 1 : -EIO;
}

DBK_EXPORT const char *dbk_input_get_devnode(const struct dbk_input *input)
{
	/* libevdev finds it in sysfs the first time, then caches it. */
	return input ? libevdev_uinput_get_devnode(input->uidev) : NULL;
}

DBK_EXPORT void dbk_input_free(struct dbk_input *input)
{
	if (!input)
		return;
	/* UI_DEV_DESTROY; a fd libevdev did not open is not closed. */
	libevdev_uinput_destroy(input->uidev);
	close(input->fd);
	free(input);
}
