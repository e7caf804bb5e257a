/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The USB-era frontends on the host, without a kernel device:
 *  - usb: dbk_usb_errno()'s table, argument checks, fds that are not usbfs
 *    nodes (left open), $DBK_USB_FD / $DBK_USB_INTERFACES parsing, and
 *    dbk_usb_interface_claimed() against faked USBDEVFS_GETDRIVER answers;
 *  - input: argument checks, a non-uinput fd left open and untouched;
 *  - fusefile: argument checks, the bounds and permission rules, and the
 *    server itself, spoken to in the FUSE protocol over a socketpair
 *    standing in for /dev/fuse (reads and writes clamped at the size,
 *    ENOSPC past it, permissions, flush, -ENODEV ending the loop, stop).
 * Real usbfs, uinput and FUSE mounts are tested in the VM (libdev-usb).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>
#include <linux/fuse.h>
#include <linux/usbdevice_fs.h>
#include <cmocka.h>
#include <libevdev/libevdev.h>

#include "libdev-private.h"
#include "frontend-private.h"
#include "handover-writer.h"
#include <devbroker/net.h>

static bool fd_open(int fd)
{
	return fcntl(fd, F_GETFD) >= 0;
}

/* ---- usb ---- */

static void test_usb_errno(void **state)
{
	static const struct { int in, out; } map[] = {
		{ 0, 0 }, { 7, 7 },
		{ LIBUSB_ERROR_IO, -EIO },
		{ LIBUSB_ERROR_INVALID_PARAM, -EINVAL },
		{ LIBUSB_ERROR_ACCESS, -EACCES },
		{ LIBUSB_ERROR_NO_DEVICE, -ENODEV },
		{ LIBUSB_ERROR_NOT_FOUND, -ENOENT },
		{ LIBUSB_ERROR_BUSY, -EBUSY },
		{ LIBUSB_ERROR_TIMEOUT, -ETIMEDOUT },
		{ LIBUSB_ERROR_OVERFLOW, -EOVERFLOW },
		{ LIBUSB_ERROR_PIPE, -EPIPE },
		{ LIBUSB_ERROR_INTERRUPTED, -EINTR },
		{ LIBUSB_ERROR_NO_MEM, -ENOMEM },
		{ LIBUSB_ERROR_NOT_SUPPORTED, -EOPNOTSUPP },
		{ LIBUSB_ERROR_OTHER, -EIO },
		{ -1000, -EIO },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		assert_int_equal(dbk_usb_errno(map[i].in), map[i].out);
}

static void test_usb_adopt_args(void **state)
{
	struct dbk_usb *usb = (struct dbk_usb *)0x1;
	int null_fd, p[2], fd;

	(void)state;
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(null_fd >= 0);
	assert_int_equal(dbk_usb_adopt(-1, 0, &usb), -EINVAL);
	assert_int_equal(dbk_usb_adopt(null_fd, 0, NULL), -EINVAL);
	/* /dev/null is a character device, but not usbfs (major 189). */
	assert_int_equal(dbk_usb_adopt(null_fd, 1, &usb), -ENOTTY);
	assert_true(fd_open(null_fd));
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(dbk_usb_adopt(p[0], 0, &usb), -ENOTTY);
	assert_true(fd_open(p[0]));
	fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
	assert_int_equal(dbk_usb_adopt(fd, 0, &usb), -ENOTTY);
	close(fd);
	assert_int_equal(dbk_usb_adopt(fd, 0, &usb), -EBADF);	/* closed */
	assert_ptr_equal(usb, (struct dbk_usb *)0x1);		/* untouched */
	close(p[0]);
	close(p[1]);
	close(null_fd);

	assert_null(dbk_usb_get_handle(NULL));
	assert_null(dbk_usb_get_context(NULL));
	assert_int_equal(dbk_usb_get_interfaces(NULL), 0);
	dbk_usb_free(NULL);
}

/* The kernel's USBDEVFS_GETDRIVER, faked through struct dbk_sys. */
#define GD_FD	42
static struct {
	int calls;
	int eintr;		/* fail with EINTR this many times first */
	int err;		/* then fail with this errno, if not 0 */
	const char *driver;	/* else answer this driver's name */
	unsigned int asked;	/* the interface asked about */
} gd;

static int fake_getdriver(int fd, unsigned long req, void *arg)
{
	struct usbdevfs_getdriver *g = arg;

	gd.calls++;
	assert_int_equal(fd, GD_FD);
	assert_int_equal(req, USBDEVFS_GETDRIVER);
	gd.asked = g->interface;
	if (gd.eintr > 0) {
		gd.eintr--;
		errno = EINTR;
		return -1;
	}
	if (gd.err) {
		errno = gd.err;
		return -1;
	}
	snprintf(g->driver, sizeof(g->driver), "%s", gd.driver);
	return 0;
}

static const struct dbk_sys gd_sys = { .ioctl = fake_getdriver };

/* One question to the fake: what it answers, and that it was asked about
 * @ifno once (plus the EINTRs), or not at all when refused. */
static int ask(uint32_t claimed, unsigned int ifno, int eintr, int err, const char *driver)
{
	int r;

	gd.calls = 0;
	gd.eintr = eintr;
	gd.err = err;
	gd.driver = driver;
	gd.asked = ~0u;
	r = dbk__usb_interface_claimed(GD_FD, claimed, ifno, &gd_sys);
	if (r == -EINVAL) {		/* refused before the ioctl */
		assert_int_equal(gd.calls, 0);
	} else {
		assert_int_equal(gd.calls, 1 + eintr);
		assert_int_equal(gd.asked, ifno);
	}
	return r;
}

static void test_usb_interface_claimed(void **state)
{
	int null_fd, p[2];

	(void)state;
	/* usbfs holds it; no driver (revoked); a kernel driver took it. */
	assert_int_equal(ask(0x8, 3, 0, 0, "usbfs"), 1);
	assert_int_equal(ask(UINT32_C(1) << 31, 31, 0, 0, "usbfs"), 1);
	assert_int_equal(ask(0x8, 3, 0, ENODATA, NULL), 0);
	assert_int_equal(ask(0x8, 3, 0, 0, "usbhid"), 0);
	assert_int_equal(ask(0x8, 3, 0, 0, "usbfs2"), 0);	/* the whole name */
	assert_int_equal(ask(0x8, 3, 0, 0, "usb"), 0);
	/* The device is gone; other errors pass through; EINTR is retried. */
	assert_int_equal(ask(0x8, 3, 0, ENODEV, NULL), -ENODEV);
	assert_int_equal(ask(0x8, 3, 0, EIO, NULL), -EIO);
	assert_int_equal(ask(0x8, 3, 2, 0, "usbfs"), 1);
	assert_int_equal(ask(0x8, 3, 1, ENODATA, NULL), 0);

	/* Not claimed at adoption: refused without asking the kernel,
	 * whose "usbfs" would be another fd's claim. */
	assert_int_equal(ask(0x8, 2, 0, 0, "usbfs"), -EINVAL);
	assert_int_equal(ask(0, 0, 0, 0, "usbfs"), -EINVAL);
	assert_int_equal(ask(0xffffffff, 32, 0, 0, "usbfs"), -EINVAL);
	assert_int_equal(dbk_usb_interface_claimed(NULL, 0), -EINVAL);

	/* The real ioctl on fds that are not usbfs nodes. */
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(null_fd >= 0);
	assert_int_equal(dbk__usb_interface_claimed(null_fd, 1, 0, &dbk__libc_sys), -ENOTTY);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(dbk__usb_interface_claimed(p[0], 1, 0, &dbk__libc_sys), -ENOTTY);
	close(p[0]);
	close(p[1]);
	close(null_fd);
	assert_int_equal(dbk__usb_interface_claimed(null_fd, 1, 0, &dbk__libc_sys), -EBADF);
}

static void test_usb_adopt_env(void **state)
{
	static const char *const bad_fds[] = {
		"", "abc", "3x", " 3", "+3", "-2", "99999999999", "0x3",
	};
	static const char *const bad_masks[] = {
		"", "0x", "0xg", "0x1g", "-1", " 1", "+1", "1 ", "0x100000000",
		"4294967296", "x1", "0x-1",
	};
	static const char *const good_masks[] = {
		"0", "1", "0x2", "0X1f", "0xffffffff", "4294967295", "010",
	};
	struct dbk_usb *usb = NULL;
	char num[16];
	size_t i;
	int fd;

	(void)state;
	unsetenv("DBK_HANDOVER");
	unsetenv("DBK_USB_FD");
	unsetenv("DBK_USB_INTERFACES");
	assert_int_equal(dbk_usb_adopt_env(NULL), -EINVAL);
	setenv("DBK_USB_FD", "7", 1);
	assert_int_equal(dbk_usb_adopt_env(&usb), -ENOENT);	/* no hand-over at all */
	setenv("DBK_HANDOVER", "2", 1);
	assert_int_equal(dbk_usb_adopt_env(&usb), -EINVAL);	/* another protocol */
	setenv("DBK_HANDOVER", "1", 1);
	unsetenv("DBK_USB_FD");
	assert_int_equal(dbk_usb_adopt_env(&usb), -ENOENT);
	setenv("DBK_USB_FD", "-1", 1);		/* the broker's "not given" */
	assert_int_equal(dbk_usb_adopt_env(&usb), -ENOENT);
	setenv("DBK_USB_INTERFACES", "0x1", 1);
	for (i = 0; i < sizeof(bad_fds) / sizeof(bad_fds[0]); i++) {
		setenv("DBK_USB_FD", bad_fds[i], 1);
		assert_int_equal(dbk_usb_adopt_env(&usb), -EINVAL);
	}

	/* A well-formed pair reaches dbk_usb_adopt(), which refuses
	 * /dev/null with -ENOTTY: that is how parsing shows it passed. */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 0);
	snprintf(num, sizeof(num), "%d", fd);
	setenv("DBK_USB_FD", num, 1);
	for (i = 0; i < sizeof(bad_masks) / sizeof(bad_masks[0]); i++) {
		setenv("DBK_USB_INTERFACES", bad_masks[i], 1);
		assert_int_equal(dbk_usb_adopt_env(&usb), -EINVAL);
	}
	for (i = 0; i < sizeof(good_masks) / sizeof(good_masks[0]); i++) {
		setenv("DBK_USB_INTERFACES", good_masks[i], 1);
		assert_int_equal(dbk_usb_adopt_env(&usb), -ENOTTY);
	}
	assert_null(usb);
	assert_true(fd_open(fd));
	close(fd);
	unsetenv("DBK_USB_FD");
	unsetenv("DBK_USB_INTERFACES");
	unsetenv("DBK_HANDOVER");
}

/* The writer's environment, read back: every field, and the fds checked open. */
static void test_handover_roundtrip(void **state)
{
	struct dbk_handover_spec s = { .device = "0000:00:04.0", .instance = 3,
				       .usb_interfaces = 0x5, .usb_serial = "SN1",
				       .fuse_mount = "/run/devbroker/x" };
	char buf[1024], *env[DBK_HANDOVER_ENV_MAX];
	int i, n, fd, fds[DBK_HANDOVER_BLOCK_MAX];
	struct dbk_handover *h;

	(void)state;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 3);
	for (i = 0; i < DBK_HANDOVER_NR_FDS; i++)
		s.fd[i] = -1;
	s.fd[DBK_HANDOVER_CUSE] = fd;
	s.fd[DBK_HANDOVER_GRANT] = 1000;	/* announced, not open */
	assert_int_equal(dbk_handover_env(&s, buf, 8, env, DBK_HANDOVER_ENV_MAX), -ENOSPC);
	assert_int_equal(dbk_handover_env(&s, buf, sizeof(buf), env, 2), -EINVAL);
	n = dbk_handover_env(&s, buf, sizeof(buf), env, DBK_HANDOVER_ENV_MAX);
	assert_true(n > 0 && n <= DBK_HANDOVER_ENV_MAX);
	for (i = 0; i < n; i++)
		assert_int_equal(putenv(env[i]), 0);
	assert_int_equal(dbk_handover_get(NULL), -EINVAL);
	assert_int_equal(dbk_handover_get(&h), 0);
	assert_string_equal(dbk_handover_device(h), "0000:00:04.0");
	assert_int_equal(dbk_handover_instance(h), 3);
	assert_int_equal(dbk_handover_usb_interfaces(h), 0x5);
	assert_string_equal(dbk_handover_usb_serial(h), "SN1");
	assert_string_equal(dbk_handover_fuse_mount(h), "/run/devbroker/x");
	assert_int_equal(dbk_handover_take_fd(h, DBK_HANDOVER_CUSE), fd);
	assert_int_equal(dbk_handover_take_fd(h, DBK_HANDOVER_CUSE), -ENOENT);	/* once */
	assert_int_equal(dbk_handover_take_fd(h, DBK_HANDOVER_GRANT), -EBADF);
	assert_int_equal(dbk_handover_take_fd(h, DBK_HANDOVER_USB), -ENOENT);
	assert_int_equal(dbk_handover_take_fd(h, DBK_HANDOVER_NR_FDS), -EINVAL);
	/* No block fds announced: the list is written empty. */
	assert_int_equal(dbk_handover_take_block_fds(h, fds, DBK_HANDOVER_BLOCK_MAX), -ENOENT);
	assert_string_equal(getenv("DBK_BLOCK_FDS"), "");
	dbk_handover_free(h);
	assert_true(fd_open(fd));		/* freeing closes nothing */
	/* fds 0-2 are never handed over. */
	setenv("DBK_CUSE_FD", "2", 1);
	assert_int_equal(dbk_handover_get(&h), -EINVAL);
	for (i = 0; i < n; i++)
		unsetenv(strtok(env[i], "="));
	close(fd);
}

/*
 * DBK_NET_FD: the TAP's fd, taken once; dbk_net_new() takes only a tun fd
 * attached to a TAP (a VM test, broker-net, has the real one) and closes
 * what it refuses.
 */
static void test_handover_net(void **state)
{
	struct dbk_handover_spec s;
	char buf[DBK_HANDOVER_ENV_LEN], *env[DBK_HANDOVER_ENV_MAX];
	uint8_t mac[DBK_NET_ALEN] = { 0 }, frame[DBK_NET_FRAME_MIN] = { 0 };
	struct dbk_handover *h;
	struct dbk_net *net = NULL;
	int fd, i, n;

	(void)state;
	dbk_handover_spec_init(&s);
	assert_int_equal(s.fd[DBK_HANDOVER_NET], -1);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(fd >= 3);
	s.fd[DBK_HANDOVER_NET] = fd;
	n = dbk_handover_env(&s, buf, sizeof(buf), env, DBK_HANDOVER_ENV_MAX);
	assert_true(n > 0 && n <= DBK_HANDOVER_ENV_MAX);
	for (i = 0; i < n; i++)
		assert_int_equal(putenv(env[i]), 0);
	assert_int_equal(dbk_handover_get(&h), 0);
	assert_int_equal(dbk_handover_take_fd(h, DBK_HANDOVER_GRANT), -ENOENT);
	assert_int_equal(dbk_handover_take_fd(h, DBK_HANDOVER_NET), fd);
	assert_int_equal(dbk_handover_take_fd(h, DBK_HANDOVER_NET), -ENOENT);	/* once */
	/* A missing fd passes through; /dev/null is no tun fd, and is closed. */
	assert_int_equal(dbk_net_new(dbk_handover_take_fd(h, DBK_HANDOVER_NET), &net), -ENOENT);
	assert_int_equal(dbk_net_new(fd, &net), -EBADF);
	assert_null(net);
	assert_false(fd_open(fd));
	dbk_handover_free(h);
	for (i = 0; i < n; i++)
		unsetenv(strtok(env[i], "="));
	/* NULL everywhere: -EINVAL, "", never a crash. */
	assert_int_equal(dbk_net_fd(NULL), -EINVAL);
	assert_string_equal(dbk_net_name(NULL), "");
	assert_int_equal(dbk_net_read(NULL, frame, sizeof(frame)), -EINVAL);
	assert_int_equal(dbk_net_write(NULL, frame, sizeof(frame)), -EINVAL);
	assert_int_equal(dbk_net_set_carrier(NULL, true), -EINVAL);
	assert_int_equal(dbk_net_set_mac(NULL, mac), -EINVAL);
	assert_int_equal(dbk_net_get_mac(NULL, mac), -EINVAL);
	{
		struct dbk_net_meta meta = { 0 };

		assert_int_equal(dbk_net_read_meta(NULL, &meta, frame, sizeof(frame)), -EINVAL);
		assert_int_equal(dbk_net_write_meta(NULL, &meta, frame, sizeof(frame)), -EINVAL);
		assert_int_equal(dbk_net_set_offloads(NULL, DBK_NET_OFFLOAD_CSUM), -EINVAL);
	}
	dbk_net_free(NULL);
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_int_equal(dbk_net_new(fd, NULL), -EINVAL);
	assert_false(fd_open(fd));
}

/* DBK_BLOCK_FDS: written, read back in queue order, taken once; bad lists refused. */
static void test_handover_block(void **state)
{
	static const char *const bad[] = {
		"3,", ",3", "3,,4", "2", "0", "-1", "3,3", "x", "3 ", " 3", "+3", "0x3",
		"99999999999", "3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19",
	};
	struct dbk_handover_spec s;
	char buf[DBK_HANDOVER_ENV_LEN], *env[DBK_HANDOVER_ENV_MAX];
	int fds[DBK_HANDOVER_BLOCK_MAX], got[DBK_HANDOVER_BLOCK_MAX], i, n;
	struct dbk_handover *h;
	unsigned int k;

	(void)state;
	dbk_handover_spec_init(&s);
	assert_int_equal(s.nr_block, 0);
	for (k = 0; k < DBK_HANDOVER_BLOCK_MAX; k++) {
		fds[k] = open("/dev/null", O_RDWR | O_CLOEXEC);
		assert_true(fds[k] >= 3);
		s.block_fd[k] = fds[k];
	}
	/* All sixteen, the most: the list fits the writer's room. */
	s.nr_block = DBK_HANDOVER_BLOCK_MAX;
	n = dbk_handover_env(&s, buf, sizeof(buf), env, DBK_HANDOVER_ENV_MAX);
	assert_true(n > 0 && n <= DBK_HANDOVER_ENV_MAX);
	for (i = 0; i < n; i++)
		assert_int_equal(putenv(env[i]), 0);
	assert_int_equal(dbk_handover_get(&h), 0);
	assert_int_equal(dbk_handover_take_block_fds(NULL, got, 16), -EINVAL);
	assert_int_equal(dbk_handover_take_block_fds(h, NULL, 16), -EINVAL);
	assert_int_equal(dbk_handover_take_block_fds(h, got, 15), -EINVAL);	/* too little room */
	assert_int_equal(dbk_handover_take_block_fds(h, got, 16), 16);
	assert_memory_equal(got, fds, sizeof(fds));
	assert_int_equal(dbk_handover_take_block_fds(h, got, 16), -ENOENT);	/* once */
	dbk_handover_free(h);
	for (i = 0; i < n; i++)
		unsetenv(strtok(env[i], "="));

	/* Three, one of them closed: -EBADF, and nothing is taken. */
	s.nr_block = 3;
	s.block_fd[1] = 1000;
	n = dbk_handover_env(&s, buf, sizeof(buf), env, DBK_HANDOVER_ENV_MAX);
	assert_true(n > 0);
	for (i = 0; i < n; i++)
		assert_int_equal(putenv(env[i]), 0);
	assert_int_equal(dbk_handover_get(&h), 0);
	assert_int_equal(dbk_handover_take_block_fds(h, got, 16), -EBADF);
	assert_int_equal(dbk_handover_take_block_fds(h, got, 16), -EBADF);
	dbk_handover_free(h);

	/* The reader by hand: absent or empty is none; malformed lists fail. */
	setenv("DBK_HANDOVER", "1", 1);
	unsetenv("DBK_BLOCK_FDS");
	assert_int_equal(dbk_handover_get(&h), 0);
	assert_int_equal(dbk_handover_take_block_fds(h, got, 16), -ENOENT);
	dbk_handover_free(h);
	setenv("DBK_BLOCK_FDS", "7", 1);
	assert_int_equal(dbk_handover_get(&h), 0);
	dbk_handover_free(h);
	for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
		setenv("DBK_BLOCK_FDS", bad[k], 1);
		assert_int_equal(dbk_handover_get(&h), -EINVAL);
	}
	for (i = 0; i < n; i++)
		unsetenv(strtok(env[i], "="));
	unsetenv("DBK_HANDOVER");

	/* The writer refuses what the reader would. */
	s.nr_block = DBK_HANDOVER_BLOCK_MAX + 1;
	assert_int_equal(dbk_handover_env(&s, buf, sizeof(buf), env, DBK_HANDOVER_ENV_MAX), -EINVAL);
	s.nr_block = 1;
	s.block_fd[0] = 2;
	assert_int_equal(dbk_handover_env(&s, buf, sizeof(buf), env, DBK_HANDOVER_ENV_MAX), -EINVAL);
	for (k = 0; k < DBK_HANDOVER_BLOCK_MAX; k++)
		close(fds[k]);
}

/* ---- input ---- */

static void test_input_args(void **state)
{
	struct dbk_input *in = NULL;
	struct input_event ev;
	struct libevdev *tmpl;
	int p[2], fl;

	(void)state;
	tmpl = libevdev_new();
	assert_non_null(tmpl);
	libevdev_set_name(tmpl, "libdev unit test");
	assert_int_equal(libevdev_enable_event_code(tmpl, EV_KEY, KEY_A, NULL), 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	fl = fcntl(p[1], F_GETFL);

	assert_int_equal(dbk_input_new(-1, tmpl, &in), -EINVAL);
	assert_int_equal(dbk_input_new(p[1], NULL, &in), -EINVAL);
	assert_int_equal(dbk_input_new(p[1], tmpl, NULL), -EINVAL);
	/* Not /dev/uinput: the uinput ioctls fail; the fd stays as it was. */
	assert_true(dbk_input_new(p[1], tmpl, &in) < 0);
	assert_null(in);
	assert_true(fd_open(p[1]));
	assert_int_equal(fcntl(p[1], F_GETFL), fl);
	close(p[0]);
	close(p[1]);
	assert_int_equal(dbk_input_new(p[1], tmpl, &in), -EINVAL);	/* closed */

	assert_int_equal(dbk_input_emit(NULL, EV_KEY, KEY_A, 1), -EINVAL);
	assert_int_equal(dbk_input_sync(NULL), -EINVAL);
	assert_int_equal(dbk_input_read(NULL, &ev), -EINVAL);
	assert_int_equal(dbk_input_get_fd(NULL), -EINVAL);
	assert_null(dbk_input_get_devnode(NULL));
	dbk_input_free(NULL);
	libevdev_free(tmpl);
}

/* ---- fusefile: rules ---- */

static void test_fuse_span(void **state)
{
	size_t n = 99;

	(void)state;
	/* reads */
	assert_int_equal(dbk__fuse_span(4096, 0, 512, false, &n), 0);
	assert_int_equal(n, 512);
	assert_int_equal(dbk__fuse_span(4096, 4000, 512, false, &n), 0);
	assert_int_equal(n, 96);
	assert_int_equal(dbk__fuse_span(4096, 4095, 512, false, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(dbk__fuse_span(4096, 4096, 512, false, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dbk__fuse_span(4096, INT64_MAX, 512, false, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dbk__fuse_span(0, 0, 512, false, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dbk__fuse_span(4096, -1, 512, false, &n), -EINVAL);
	/* sizes beyond 32 bits */
	assert_int_equal(dbk__fuse_span(UINT64_C(1) << 40, (INT64_C(1) << 40) - 3,
					SIZE_MAX, false, &n), 0);
	assert_int_equal(n, 3);
	/* writes: short at the end, ENOSPC past it, empty writes are fine */
	assert_int_equal(dbk__fuse_span(4096, 0, 4096, true, &n), 0);
	assert_int_equal(n, 4096);
	assert_int_equal(dbk__fuse_span(4096, 4090, 100, true, &n), 0);
	assert_int_equal(n, 6);
	assert_int_equal(dbk__fuse_span(4096, 4096, 1, true, &n), -ENOSPC);
	assert_int_equal(dbk__fuse_span(4096, 1 << 20, 1, true, &n), -ENOSPC);
	assert_int_equal(dbk__fuse_span(4096, 4096, 0, true, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(dbk__fuse_span(4096, -4096, 1, true, &n), -EINVAL);
}

static void test_fuse_access(void **state)
{
	(void)state;
	/* owner 100:200, mode 0640 */
	assert_int_equal(dbk__fuse_access(0640, 100, 200, 100, 200, R_OK | W_OK), 0);
	assert_int_equal(dbk__fuse_access(0640, 100, 200, 100, 999, R_OK | W_OK), 0);
	assert_int_equal(dbk__fuse_access(0640, 100, 200, 100, 200, X_OK), -EACCES);
	assert_int_equal(dbk__fuse_access(0640, 100, 200, 101, 200, R_OK), 0);
	assert_int_equal(dbk__fuse_access(0640, 100, 200, 101, 200, W_OK), -EACCES);
	assert_int_equal(dbk__fuse_access(0640, 100, 200, 101, 201, R_OK), -EACCES);
	assert_int_equal(dbk__fuse_access(0644, 100, 200, 101, 201, R_OK), 0);
	assert_int_equal(dbk__fuse_access(0600, 100, 200, 101, 201, F_OK), 0);
	/* the owner class decides even when "other" would allow more */
	assert_int_equal(dbk__fuse_access(0066, 100, 200, 100, 200, R_OK), -EACCES);
	/* root: anything but executing a node without x bits */
	assert_int_equal(dbk__fuse_access(0000, 100, 200, 0, 0, R_OK | W_OK), 0);
	assert_int_equal(dbk__fuse_access(0600, 100, 200, 0, 0, X_OK), -EACCES);
	assert_int_equal(dbk__fuse_access(0755, 100, 200, 0, 0, X_OK), 0);
}

static ssize_t nop_read(void *data, void *buf, size_t size, uint64_t off)
{
	(void)data; (void)buf; (void)off;
	return (ssize_t)size;
}

static const struct dbk_fuse_file_ops nop_ops = { .read = nop_read };

static void test_fuse_args(void **state)
{
	struct dbk_fuse_file *f = NULL;
	char longname[300];
	int null_fd, p[2];

	(void)state;
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	assert_true(null_fd >= 0);
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(dbk_fuse_file_new(-1, "disk", 4096, 0600, &nop_ops, NULL, &f), -EINVAL);
	assert_int_equal(dbk_fuse_file_new(p[0], NULL, 4096, 0600, &nop_ops, NULL, &f), -EINVAL);
	assert_int_equal(dbk_fuse_file_new(p[0], "disk", 4096, 0600, NULL, NULL, &f), -EINVAL);
	assert_int_equal(dbk_fuse_file_new(p[0], "disk", 4096, 0600, &nop_ops, NULL, NULL), -EINVAL);
	/* names: one path component */
	assert_int_equal(dbk__fuse_file_new_any(p[0], "", 4096, 0600, &nop_ops, NULL, &f), -EINVAL);
	assert_int_equal(dbk__fuse_file_new_any(p[0], "a/b", 4096, 0600, &nop_ops, NULL, &f), -EINVAL);
	assert_int_equal(dbk__fuse_file_new_any(p[0], ".", 4096, 0600, &nop_ops, NULL, &f), -EINVAL);
	assert_int_equal(dbk__fuse_file_new_any(p[0], "..", 4096, 0600, &nop_ops, NULL, &f), -EINVAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(dbk__fuse_file_new_any(p[0], longname, 4096, 0600, &nop_ops, NULL, &f), -EINVAL);
	/* permission bits only; sizes an off_t can hold */
	assert_int_equal(dbk__fuse_file_new_any(p[0], "disk", 4096, 04600, &nop_ops, NULL, &f), -EINVAL);
	assert_int_equal(dbk__fuse_file_new_any(p[0], "disk", 4096, S_IFREG | 0600, &nop_ops, NULL, &f), -EINVAL);
	assert_int_equal(dbk__fuse_file_new_any(p[0], "disk", UINT64_MAX, 0600, &nop_ops, NULL, &f), -EINVAL);
	/* not /dev/fuse (10:229) */
	assert_int_equal(dbk_fuse_file_new(null_fd, "disk", 4096, 0600, &nop_ops, NULL, &f), -EINVAL);
	assert_int_equal(dbk_fuse_file_new(p[0], "disk", 4096, 0600, &nop_ops, NULL, &f), -EINVAL);
	assert_null(f);
	assert_true(fd_open(null_fd) && fd_open(p[0]));
	close(p[0]);
	close(p[1]);
	close(null_fd);
	assert_int_equal(dbk__fuse_file_new_any(p[0], "disk", 4096, 0600, &nop_ops, NULL, &f), -EINVAL);

	assert_int_equal(dbk_fuse_file_run(NULL), -EINVAL);
	assert_int_equal(dbk_fuse_file_stop(NULL), -EINVAL);
	dbk_fuse_file_free(NULL);
}

/* ---- fusefile: the server, over a socketpair ---- */

#define DISK_SIZE	10000		/* not a multiple of anything */
#define GONE_AT		8192		/* reading here: the device is gone */
#define EIO_AT		4096		/* reading here: an I/O error */
#define OTHER_UID	4242

struct disk {
	uint8_t mem[DISK_SIZE];
	int reads_past_end;	/* the library must never ask */
	int writes_past_end;
	int flushes;
};

static ssize_t disk_read(void *data, void *buf, size_t size, uint64_t off)
{
	struct disk *d = data;

	if (off == GONE_AT)
		return -ENODEV;
	if (off == EIO_AT)
		return -EIO;
	if (off + size > DISK_SIZE) {
		d->reads_past_end++;
		return -EFAULT;
	}
	memcpy(buf, d->mem + off, size);
	return (ssize_t)size;
}

static ssize_t disk_write(void *data, const void *buf, size_t size, uint64_t off)
{
	struct disk *d = data;

	if (off + size > DISK_SIZE) {
		d->writes_past_end++;
		return -EFAULT;
	}
	memcpy(d->mem + off, buf, size);
	return (ssize_t)size;
}

static int disk_flush(void *data)
{
	((struct disk *)data)->flushes++;
	return 0;
}

static const struct dbk_fuse_file_ops disk_ops = {
	.read = disk_read, .write = disk_write, .flush = disk_flush,
};

struct server {
	struct dbk_fuse_file *f;
	pthread_t thread;
	int result;
	int sock;		/* our end: we are the kernel */
	uint64_t unique;
	struct disk disk;
};

static void *serve(void *arg)
{
	struct server *s = arg;

	s->result = dbk_fuse_file_run(s->f);
	return NULL;
}

/* One request; the reply's payload lands in @out.  Returns the reply's
 * error (0 or a negative errno) and its payload length in *@olen. */
static int call(struct server *s, uint32_t opcode, uint64_t nodeid, uint32_t uid,
		const void *arg, size_t arglen, const void *arg2, size_t arg2len,
		void *out, size_t outsz, size_t *olen)
{
	static uint8_t reply[1 << 17];
	struct fuse_in_header in = {
		.len = (uint32_t)(sizeof(in) + arglen + arg2len),
		.opcode = opcode,
		.unique = ++s->unique,
		.nodeid = nodeid,
		.uid = uid,
		.gid = uid,
		.pid = (uint32_t)getpid(),
	};
	struct iovec iov[3] = {
		{ &in, sizeof(in) }, { (void *)arg, arglen }, { (void *)arg2, arg2len },
	};
	struct fuse_out_header oh;
	struct pollfd p = { .fd = s->sock, .events = POLLIN };
	ssize_t n;

	assert_int_equal(writev(s->sock, iov, 3), (ssize_t)in.len);
	assert_int_equal(poll(&p, 1, 5000), 1);	/* the server answers */
	n = read(s->sock, reply, sizeof(reply));
	assert_true(n >= (ssize_t)sizeof(oh));
	memcpy(&oh, reply, sizeof(oh));
	assert_int_equal(oh.len, n);
	assert_int_equal(oh.unique, in.unique);
	n -= (ssize_t)sizeof(oh);
	assert_true((size_t)n <= outsz);
	if (out)
		memcpy(out, reply + sizeof(oh), (size_t)n);
	if (olen)
		*olen = (size_t)n;
	return oh.error;
}

static void server_start(struct server *s, unsigned int mode)
{
	struct fuse_init_in init = {
		.major = FUSE_KERNEL_VERSION, .minor = 31, .max_readahead = 65536,
	};
	struct fuse_init_out io;
	int sv[2];
	size_t i;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < DISK_SIZE; i++)
		s->disk.mem[i] = (uint8_t)(i * 7);
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	s->sock = sv[1];
	assert_int_equal(dbk__fuse_file_new_any(sv[0], "disk", DISK_SIZE, mode,
						&disk_ops, &s->disk, &s->f), 0);
	assert_int_equal(pthread_create(&s->thread, NULL, serve, s), 0);
	memset(&io, 0, sizeof(io));
	assert_int_equal(call(s, FUSE_INIT, 0, 0, &init, sizeof(init), NULL, 0,
			      &io, sizeof(io), NULL), 0);
	assert_int_equal(io.major, FUSE_KERNEL_VERSION);
	/* write-through: the device's write errors reach the writer */
	assert_false(io.flags & FUSE_WRITEBACK_CACHE);
}

/* Stop the server (unless it already ended) and collect its result. */
static int server_end(struct server *s, bool stop)
{
	if (stop)
		assert_int_equal(dbk_fuse_file_stop(s->f), 0);
	assert_int_equal(pthread_join(s->thread, NULL), 0);
	dbk_fuse_file_free(s->f);	/* closes the server's end */
	close(s->sock);
	assert_int_equal(s->disk.reads_past_end, 0);
	assert_int_equal(s->disk.writes_past_end, 0);
	return s->result;
}

static int do_open(struct server *s, uint32_t uid, uint32_t flags, uint64_t *fh)
{
	struct fuse_open_in oi = { .flags = flags };
	struct fuse_open_out oo;
	int r;

	r = call(s, FUSE_OPEN, 2, uid, &oi, sizeof(oi), NULL, 0, &oo, sizeof(oo), NULL);
	if (r == 0 && fh)
		*fh = oo.fh;
	return r;
}

static int do_read(struct server *s, uint64_t fh, uint64_t off, uint32_t size,
		   void *out, size_t *got)
{
	struct fuse_read_in ri = { .fh = fh, .offset = off, .size = size };

	return call(s, FUSE_READ, 2, 0, &ri, sizeof(ri), NULL, 0, out, size, got);
}

static int do_write(struct server *s, uint64_t fh, uint64_t off, const void *buf,
		    uint32_t size, uint32_t *put)
{
	struct fuse_write_in wi = { .fh = fh, .offset = off, .size = size };
	struct fuse_write_out wo = { 0 };
	int r;

	r = call(s, FUSE_WRITE, 2, 0, &wi, sizeof(wi), buf, size, &wo, sizeof(wo), NULL);
	*put = wo.size;
	return r;
}

static void test_fuse_server(void **state)
{
	static uint8_t buf[1 << 16];
	struct fuse_entry_out eo;
	struct fuse_attr_out ao;
	struct fuse_getattr_in gi = { 0 };
	struct fuse_setattr_in si = { 0 };
	struct fuse_fsync_in fsi = { 0 };
	struct fuse_flush_in fli = { 0 };
	struct fuse_access_in ai = { 0 };
	struct fuse_kstatfs sfs[2];
	struct server s;
	uint64_t fh = 0;
	uint32_t put;
	size_t got, i;
	uid_t me = geteuid();

	(void)state;
	server_start(&s, 0600);

	/* the namespace: "/" and "/disk" */
	assert_int_equal(call(&s, FUSE_LOOKUP, 1, me, "disk", 5, NULL, 0, &eo, sizeof(eo), NULL), 0);
	assert_int_equal(eo.nodeid, 2);
	assert_int_equal(eo.attr.size, DISK_SIZE);
	assert_int_equal(eo.attr.mode, S_IFREG | 0600);
	assert_int_equal(eo.attr.uid, me);
	assert_int_equal(call(&s, FUSE_LOOKUP, 1, me, "disk2", 6, NULL, 0, &eo, sizeof(eo), NULL), -ENOENT);
	assert_int_equal(call(&s, FUSE_GETATTR, 1, me, &gi, sizeof(gi), NULL, 0, &ao, sizeof(ao), NULL), 0);
	assert_int_equal(ao.attr.mode, S_IFDIR | 0755);
	assert_int_equal(call(&s, FUSE_STATFS, 1, me, NULL, 0, NULL, 0, sfs, sizeof(sfs), &got), 0);
	assert_int_equal(sfs[0].blocks, (DISK_SIZE + 4095) / 4096);

	/* permissions: mode 0600 of our euid; uid 0 may */
	assert_int_equal(do_open(&s, OTHER_UID, O_RDONLY, NULL), -EACCES);
	ai.mask = R_OK;
	assert_int_equal(call(&s, FUSE_ACCESS, 2, OTHER_UID, &ai, sizeof(ai), NULL, 0, NULL, 0, NULL), -EACCES);
	assert_int_equal(call(&s, FUSE_ACCESS, 2, me, &ai, sizeof(ai), NULL, 0, NULL, 0, NULL), 0);
	assert_int_equal(do_open(&s, 0, O_RDWR, NULL), 0);
	/* the size is the device's */
	assert_int_equal(do_open(&s, me, O_RDWR | O_TRUNC, NULL), -EPERM);
	si.valid = FATTR_SIZE;
	si.size = 0;
	assert_int_equal(call(&s, FUSE_SETATTR, 2, me, &si, sizeof(si), NULL, 0, &ao, sizeof(ao), NULL), -EPERM);
	si.size = DISK_SIZE;
	assert_int_equal(call(&s, FUSE_SETATTR, 2, me, &si, sizeof(si), NULL, 0, &ao, sizeof(ao), NULL), 0);
	si.valid = FATTR_MODE;
	si.mode = 0666;
	assert_int_equal(call(&s, FUSE_SETATTR, 2, me, &si, sizeof(si), NULL, 0, &ao, sizeof(ao), NULL), -EPERM);
	assert_int_equal(do_open(&s, me, O_RDWR, &fh), 0);

	/* reads: whole, short at the end, EOF past it */
	assert_int_equal(do_read(&s, fh, 100, 1000, buf, &got), 0);
	assert_int_equal(got, 1000);
	assert_memory_equal(buf, s.disk.mem + 100, 1000);
	assert_int_equal(do_read(&s, fh, DISK_SIZE - 16, 4096, buf, &got), 0);
	assert_int_equal(got, 16);
	assert_memory_equal(buf, s.disk.mem + DISK_SIZE - 16, 16);
	assert_int_equal(do_read(&s, fh, DISK_SIZE, 4096, buf, &got), 0);
	assert_int_equal(got, 0);
	assert_int_equal(do_read(&s, fh, UINT64_C(1) << 40, 4096, buf, &got), 0);
	assert_int_equal(got, 0);
	/* a callback's error reaches the reader; the server goes on */
	assert_int_equal(do_read(&s, fh, EIO_AT, 512, buf, &got), -EIO);

	/* writes: whole, short at the end, ENOSPC past it */
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(0xa5 ^ i);
	assert_int_equal(s.disk.flushes, 0);
	assert_int_equal(do_write(&s, fh, 3, buf, 700, &put), 0);
	assert_int_equal(put, 700);
	assert_memory_equal(s.disk.mem + 3, buf, 700);
	assert_int_equal(do_write(&s, fh, DISK_SIZE - 5, buf, 512, &put), 0);
	assert_int_equal(put, 5);
	assert_memory_equal(s.disk.mem + DISK_SIZE - 5, buf, 5);
	assert_int_equal(do_write(&s, fh, DISK_SIZE, buf, 1, &put), -ENOSPC);
	assert_int_equal(do_write(&s, fh, DISK_SIZE + 4096, buf, 1, &put), -ENOSPC);

	/* flush: at close after writes, once; always at fsync */
	fli.fh = fh;
	assert_int_equal(call(&s, FUSE_FLUSH, 2, me, &fli, sizeof(fli), NULL, 0, NULL, 0, NULL), 0);
	assert_int_equal(s.disk.flushes, 1);
	assert_int_equal(call(&s, FUSE_FLUSH, 2, me, &fli, sizeof(fli), NULL, 0, NULL, 0, NULL), 0);
	assert_int_equal(s.disk.flushes, 1);
	fsi.fh = fh;
	assert_int_equal(call(&s, FUSE_FSYNC, 2, me, &fsi, sizeof(fsi), NULL, 0, NULL, 0, NULL), 0);
	assert_int_equal(s.disk.flushes, 2);

	/* dbk_fuse_file_stop() from another thread ends the loop with 0 */
	assert_int_equal(server_end(&s, true), 0);

	/* A read-only file: writers are refused, readers are not. */
	server_start(&s, 0400);
	assert_int_equal(do_open(&s, me, O_RDONLY, &fh), 0);
	assert_int_equal(do_open(&s, OTHER_UID, O_RDONLY, &fh), -EACCES);
	if (me != 0)
		assert_int_equal(do_open(&s, me, O_WRONLY, &fh), -EACCES);
	assert_int_equal(server_end(&s, true), 0);

	/* -ENODEV from a callback: EIO to the reader, the loop ends with
	 * -ENODEV, and run() says so again. */
	server_start(&s, 0600);
	assert_int_equal(do_open(&s, me, O_RDONLY, &fh), 0);
	assert_int_equal(do_read(&s, fh, GONE_AT, 512, buf, &got), -EIO);
	assert_int_equal(pthread_join(s.thread, NULL), 0);
	assert_int_equal(s.result, -ENODEV);
	assert_int_equal(dbk_fuse_file_run(s.f), -ENODEV);
	assert_int_equal(pthread_create(&s.thread, NULL, serve, &s), 0);
	assert_int_equal(server_end(&s, false), -ENODEV);

	/* The kernel hanging up (here: the peer closing) ends it with 0. */
	server_start(&s, 0600);
	shutdown(s.sock, SHUT_RDWR);
	assert_int_equal(server_end(&s, false), 0);
}

/* Stopped before it runs: run() returns at once. */
static void test_fuse_stop_first(void **state)
{
	struct dbk_fuse_file *f;
	int sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
	assert_int_equal(dbk__fuse_file_new_any(sv[0], "disk", 4096, 0600, &nop_ops,
						NULL, &f), 0);
	assert_true(fcntl(sv[0], F_GETFL) & O_NONBLOCK);
	assert_int_equal(dbk_fuse_file_stop(f), 0);
	assert_int_equal(dbk_fuse_file_stop(f), 0);
	assert_int_equal(dbk_fuse_file_run(f), 0);
	dbk_fuse_file_free(f);
	assert_false(fd_open(sv[0]));	/* the server owned it */
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usb_errno),
		cmocka_unit_test(test_usb_adopt_args),
		cmocka_unit_test(test_usb_adopt_env),
		cmocka_unit_test(test_usb_interface_claimed),
		cmocka_unit_test(test_handover_roundtrip),
		cmocka_unit_test(test_handover_block),
		cmocka_unit_test(test_handover_net),
		cmocka_unit_test(test_input_args),
		cmocka_unit_test(test_fuse_span),
		cmocka_unit_test(test_fuse_access),
		cmocka_unit_test(test_fuse_args),
		cmocka_unit_test(test_fuse_server),
		cmocka_unit_test(test_fuse_stop_first),
	};

	return cmocka_run_group_tests_name("libdev frontends", tests, NULL, NULL);
}
