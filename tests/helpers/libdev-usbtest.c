/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * libdev-usbtest: libdev's USB, input (uinput) and FUSE-file frontends on
 * real kernel parts, in the VM (tests/vm/libdev-usb.sh).  The driver side
 * always runs unprivileged, on fds that root prepared the way devbrokerd
 * does.  Prints TAP points ("ok - ..."), exits 1 if any failed.
 *
 *   libdev-usbtest grant-usb DEVNODE MASK -- PROGRAM ARGS...    (root)
 *	The broker's part: open DEVNODE, detach and claim each interface of
 *	MASK for that fd (USBDEVFS_DISCONNECT_CLAIM), restrict the fd to them
 *	(USBDEVFS_DROP_PRIVILEGES), and exec PROGRAM with the fd, handed over
 *	as devbrokerd does (libdev's writer, <devbroker/handover.h>).
 *   libdev-usbtest usb VID:PID DEVNODE                 (the driver, unprivileged)
 *	dbk_usb_adopt_env() on a fd granted interface 1 only (mask 0x2) of a
 *	QEMU usb-net, then transfers and refusals.
 *   libdev-usbtest input                               (root)
 *	Opens /dev/uinput and forks: the child drops to nobody and serves a
 *	keyboard with dbk_input_*; the parent, root, is its user: it reads
 *	the keys from /dev/input/eventN with libevdev and sets a LED.
 *   libdev-usbtest fuse SIZE --expect stop|unmount|gone [--dump FILE]
 *                  [--gone-at OFFSET] [--expect-flush]   (the driver, unprivileged)
 *	Serves an in-memory disk of SIZE bytes on $DBK_FUSE_FD (a FUSE mount
 *	root made) with dbk_fuse_file_*, until SIGTERM (dbk_fuse_file_stop()
 *	from the handler), an unmount, or a read touching OFFSET (the read
 *	callback says -ENODEV); checks that the way it ended is the expected
 *	one, then writes the disk to FILE.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/usbdevice_fs.h>
#include <libevdev/libevdev.h>

#include <devbroker/handover.h>
#include <devbroker/frontend.h>
#include <devbroker/usb.h>

#include "handover-writer.h"

#include "tap.h"

#define NOBODY		65534

static const char *err(int r)
{
	return r < 0 ? strerror(-r) : "ok";
}

static bool fd_closed(int fd)
{
	return fcntl(fd, F_GETFD) < 0 && errno == EBADF;
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* ------------------------------------------------------------------ */
/* grant-usb: what devbrokerd does before it starts a USB driver */

static int grant_usb(int argc, char **argv)
{
	unsigned long mask;
	unsigned int i;
	uint32_t m;
	char num[16];
	int fd;

	if (argc < 6 || strcmp(argv[4], "--")) {
		fprintf(stderr, "usage: libdev-usbtest grant-usb DEVNODE MASK -- PROGRAM ARGS...\n");
		return 2;
	}
	mask = strtoul(argv[3], NULL, 0);
	fd = open(argv[2], O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "grant-usb: open %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	for (i = 0; i < 32; i++) {
		struct usbdevfs_disconnect_claim dc = { .interface = i };

		if (!(mask & (1UL << i)))
			continue;
		/* flags 0: detach whatever kernel driver is bound, then claim */
		if (ioctl(fd, USBDEVFS_DISCONNECT_CLAIM, &dc) < 0) {
			fprintf(stderr, "grant-usb: DISCONNECT_CLAIM %u: %s\n", i, strerror(errno));
			return 1;
		}
	}
	m = (uint32_t)mask;
	if (ioctl(fd, USBDEVFS_DROP_PRIVILEGES, &m) < 0) {
		fprintf(stderr, "grant-usb: DROP_PRIVILEGES: %s\n", strerror(errno));
		return 1;
	}
	if (fcntl(fd, F_SETFD, 0) < 0)
		return 1;
	{
		/* Announced as devbrokerd does: libdev's writer. */
		struct dbk_handover_spec hs;

		dbk_handover_spec_init(&hs);
		hs.device = argv[2];
		hs.usb_interfaces = (uint32_t)mask;
		hs.fd[DBK_HANDOVER_USB] = fd;
		if (dbk_handover_setenv(&hs) < 0)
			return 1;
	}
	(void)num;
	execvp(argv[5], argv + 5);
	fprintf(stderr, "grant-usb: exec %s: %s\n", argv[5], strerror(errno));
	return 127;
}

/* ------------------------------------------------------------------ */
/* usb: the driver side */

/* The first alternate setting of @ifno with a bulk IN endpoint. */
static int find_bulk_in(libusb_device_handle *h, int ifno, int *alt, unsigned char *ep)
{
	struct libusb_config_descriptor *cfg;
	int a, e, r;

	r = libusb_get_active_config_descriptor(libusb_get_device(h), &cfg);
	if (r < 0)
		return dbk_usb_errno(r);
	r = -ENOENT;
	for (a = 0; ifno < cfg->bNumInterfaces && a < cfg->interface[ifno].num_altsetting; a++) {
		const struct libusb_interface_descriptor *d = &cfg->interface[ifno].altsetting[a];

		for (e = 0; e < d->bNumEndpoints; e++) {
			const struct libusb_endpoint_descriptor *epd = &d->endpoint[e];

			if ((epd->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) == LIBUSB_TRANSFER_TYPE_BULK &&
			    (epd->bEndpointAddress & LIBUSB_ENDPOINT_IN)) {
				*alt = d->bAlternateSetting;
				*ep = epd->bEndpointAddress;
				r = 0;
				goto out;
			}
		}
	}
out:
	libusb_free_config_descriptor(cfg);
	return r;
}

static int usb_driver(int argc, char **argv)
{
	struct libusb_device_descriptor dd;
	struct dbk_usb *usb = NULL, *other = NULL;
	libusb_device_handle *h;
	unsigned int vid, pid;
	unsigned char buf[512], ep = 0;
	const char *s;
	int fd, dupfd, nullfd, r, n, alt = 0, got = 0;

	if (argc != 4 || sscanf(argv[2], "%x:%x", &vid, &pid) != 2) {
		fprintf(stderr, "usage: libdev-usbtest usb VID:PID DEVNODE\n");
		return 2;
	}
	{
		struct dbk_handover *ho;

		fd = -1;
		if (dbk_handover_get(&ho) == 0) {
			fd = dbk_handover_take_fd(ho, DBK_HANDOVER_USB);
			dbk_handover_free(ho);
		}
		s = fd >= 0 ? "handed over" : "-";
	}
	check(geteuid() != 0 && getuid() != 0, "usb: the driver runs unprivileged (uid %u)",
	      (unsigned int)geteuid());
	n = open(argv[3], O_RDWR | O_CLOEXEC);
	check(n < 0 && errno == EACCES, "usb: it cannot open %s itself (%s)", argv[3],
	      n < 0 ? strerror(errno) : "opened!");

	r = dbk_usb_adopt_env(&usb);
	check(r == 0, "usb: dbk_usb_adopt_env (fd %d %s): %s", fd, s, err(r));
	if (r < 0)
		return 1;
	h = dbk_usb_get_handle(usb);
	check(h && dbk_usb_get_context(usb) && dbk_usb_get_interfaces(usb) == 0x2,
	      "usb: handle, context, interfaces 0x%x", dbk_usb_get_interfaces(usb));
	/* No discovery, so no hotplug thread: a request policy may rely on
	 * a single-threaded driver. */
	n = count_threads();
	check(n == 1, "usb: the process is still single-threaded (%d)", n);

	/* A standard request to the device, answered by the device. */
	memset(buf, 0, sizeof(buf));
	n = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN | LIBUSB_REQUEST_TYPE_STANDARD |
				    LIBUSB_RECIPIENT_DEVICE, LIBUSB_REQUEST_GET_DESCRIPTOR,
				    LIBUSB_DT_DEVICE << 8, 0, buf, LIBUSB_DT_DEVICE_SIZE, 1000);
	check(n == LIBUSB_DT_DEVICE_SIZE && buf[1] == LIBUSB_DT_DEVICE &&
	      (buf[8] | buf[9] << 8) == (int)vid && (buf[10] | buf[11] << 8) == (int)pid,
	      "usb: GET_DESCRIPTOR(device) control transfer: %d bytes, %02x%02x:%02x%02x",
	      n, buf[9], buf[8], buf[11], buf[10]);
	r = libusb_get_device_descriptor(libusb_get_device(h), &dd);
	check(r == 0 && dd.idVendor == vid && dd.idProduct == pid,
	      "usb: libusb's device descriptor agrees (%04x:%04x)", dd.idVendor, dd.idProduct);

	/* The granted interface is usable: its data alt setting, a bulk
	 * read (nothing arrives from a usb-net without a backend: timeout). */
	r = find_bulk_in(h, 1, &alt, &ep);
	check(r == 0, "usb: interface 1 has a bulk IN endpoint (alt %d, ep 0x%02x): %s",
	      alt, ep, err(r));
	if (r == 0) {
		r = dbk_usb_errno(libusb_set_interface_alt_setting(h, 1, alt));
		check(r == 0, "usb: SET_INTERFACE 1 alt %d: %s", alt, err(r));
		n = libusb_bulk_transfer(h, ep, buf, sizeof(buf), &got, 300);
		check(n == 0 || dbk_usb_errno(n) == -ETIMEDOUT,
		      "usb: bulk IN on ep 0x%02x is not refused (%s, %d bytes)", ep,
		      n ? err(dbk_usb_errno(n)) : "data", got);
		r = dbk_usb_errno(libusb_set_interface_alt_setting(h, 1, 0));
		check(r == 0, "usb: back to alt 0: %s", err(r));
	}

	/* Interface 0 is not in the grant: refused, the fd left open. */
	dupfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	r = dbk_usb_adopt(dupfd, 0x1, &other);
	check(r == -EACCES && !other, "usb: adopting interface 0 outside the grant: %s", err(r));
	r = dbk_usb_adopt(dupfd, 0x3, &other);
	check(r == -EACCES && !other, "usb: adopting interfaces 0x3: %s", err(r));
	check(!fd_closed(dupfd), "usb: the fd is left open after a failed adoption");
	close(dupfd);
	r = libusb_claim_interface(h, 0);
	check(r < 0, "usb: libusb_claim_interface(0) on the adopted handle fails (%s)",
	      libusb_error_name(r));
	/* The device still answers after the refusals. */
	n = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN, LIBUSB_REQUEST_GET_DESCRIPTOR,
				    LIBUSB_DT_DEVICE << 8, 0, buf, LIBUSB_DT_DEVICE_SIZE, 1000);
	check(n == LIBUSB_DT_DEVICE_SIZE, "usb: the device still answers (%d)", n);

	/* Not a usbfs fd. */
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	r = dbk_usb_adopt(nullfd, 0x1, &other);
	check(r == -ENOTTY && !fd_closed(nullfd), "usb: dbk_usb_adopt(/dev/null): %s", err(r));
	close(nullfd);
	r = dbk_usb_adopt(-1, 0x1, &other);
	check(r == -EINVAL, "usb: dbk_usb_adopt(-1): %s", err(r));

	dbk_usb_free(usb);
	check(fd_closed(fd), "usb: dbk_usb_free() closed fd %d", fd);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* input: a keyboard served by an unprivileged child, used by root */

static void drop_to_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	    setresuid(NOBODY, NOBODY, NOBODY) < 0 ||
	    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		perror("drop privileges");
		_exit(1);
	}
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

static int input_driver(int uinput_fd, int from_parent, int to_parent)
{
	struct dbk_input *in = NULL;
	struct input_event ev;
	struct libevdev *tmpl;
	const char *node;
	bool led = false;
	char c;
	int r, n, fd;

	drop_to_nobody();
	fd = open("/dev/uinput", O_RDWR | O_CLOEXEC);
	check(fd < 0 && errno == EACCES, "input: the driver (uid %u) cannot open /dev/uinput (%s)",
	      (unsigned int)geteuid(), fd < 0 ? strerror(errno) : "opened!");

	tmpl = libevdev_new();
	libevdev_set_name(tmpl, "devbroker test keyboard");
	libevdev_set_id_bustype(tmpl, BUS_USB);
	libevdev_set_id_vendor(tmpl, 0x0525);
	libevdev_set_id_product(tmpl, 0xa4a2);
	libevdev_enable_event_code(tmpl, EV_KEY, KEY_A, NULL);
	libevdev_enable_event_code(tmpl, EV_LED, LED_CAPSL, NULL);
	r = dbk_input_new(uinput_fd, tmpl, &in);
	libevdev_free(tmpl);		/* only read at creation */
	check(r == 0, "input: dbk_input_new on the inherited uinput fd: %s", err(r));
	if (r < 0)
		return 1;
	check(dbk_input_get_fd(in) == uinput_fd && (fcntl(uinput_fd, F_GETFL) & O_NONBLOCK),
	      "input: dbk_input_get_fd is the uinput fd, non-blocking");
	node = dbk_input_get_devnode(in);
	check(node && !strncmp(node, "/dev/input/event", 16), "input: devnode %s",
	      node ? node : "(none)");
	if (!node)
		return 1;
	/* Whatever the console sent at connection, then 0: never blocks. */
	alarm(10);
	n = 0;
	while ((r = dbk_input_read(in, &ev)) == 1 && n < 100)
		n++;
	alarm(0);
	check(r == 0, "input: dbk_input_read returns 0 when nothing is pending (%d after %d)", r, n);

	dprintf(to_parent, "%s\n", node);
	if (read(from_parent, &c, 1) != 1)
		return 1;
	r = dbk_input_emit(in, EV_KEY, KEY_A, 1);
	if (r == 0)
		r = dbk_input_sync(in);
	if (r == 0)
		r = dbk_input_emit(in, EV_KEY, KEY_A, 0);
	if (r == 0)
		r = dbk_input_sync(in);
	check(r == 0, "input: emit KEY_A press, release, sync: %s", err(r));
	r = dbk_input_emit(in, EV_MAX + 1, 0, 0);
	check(r == -EINVAL, "input: an event type beyond EV_MAX: %s", err(r));

	/* The user sets Caps Lock: the kernel sends EV_LED to the device. */
	for (n = 0; n < 50 && !led; n++) {
		if (!wait_readable(dbk_input_get_fd(in), 100))
			continue;
		while ((r = dbk_input_read(in, &ev)) == 1)
			if (ev.type == EV_LED && ev.code == LED_CAPSL && ev.value == 1)
				led = true;
	}
	check(led, "input: dbk_input_read got EV_LED LED_CAPSL 1 written to %s", node);
	dbk_input_free(in);
	check(fd_closed(uinput_fd), "input: dbk_input_free closed the uinput fd");
	return failures ? 1 : 0;
}

/* Read events from @dev for up to 5 s until @want of them arrived. */
static int read_events(struct libevdev *dev, int fd, struct input_event *evs, int want)
{
	int n = 0, i, rc;

	for (i = 0; i < 50 && n < want; i++) {
		if (!wait_readable(fd, 100))
			continue;
		for (;;) {
			struct input_event ev;

			rc = libevdev_next_event(dev, LIBEVDEV_READ_FLAG_NORMAL, &ev);
			if (rc != LIBEVDEV_READ_STATUS_SUCCESS)
				break;
			if (n < want)
				evs[n++] = ev;
		}
	}
	return n;
}

static int input_test(void)
{
	struct input_event evs[4], led[2] = {
		{ .type = EV_LED, .code = LED_CAPSL, .value = 1 },
		{ .type = EV_SYN, .code = SYN_REPORT, .value = 0 },
	};
	struct libevdev *dev = NULL;
	int uinput_fd, down[2], up[2], status, n, r, evfd = -1;
	char node[64] = "";
	pid_t pid;
	FILE *f;

	uinput_fd = open("/dev/uinput", O_RDWR | O_CLOEXEC);
	check(uinput_fd >= 0, "input: root opens /dev/uinput: %s",
	      uinput_fd < 0 ? strerror(errno) : "ok");
	if (uinput_fd < 0 || pipe2(down, O_CLOEXEC) < 0 || pipe2(up, O_CLOEXEC) < 0)
		return 1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(down[1]);
		close(up[0]);
		_exit(input_driver(uinput_fd, down[0], up[1]));
	}
	/* The broker keeps no copy of a frontend fd. */
	close(uinput_fd);
	close(down[0]);
	close(up[1]);

	f = fdopen(up[0], "r");
	if (!f || !fgets(node, sizeof(node), f)) {
		check(false, "input: the driver reported its devnode");
		goto out;
	}
	node[strcspn(node, "\n")] = '\0';
	evfd = open(node, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	r = evfd < 0 ? -errno : libevdev_new_from_fd(evfd, &dev);
	check(r == 0, "input: root opens %s with libevdev: %s", node, err(r));
	if (r < 0)
		goto out;
	check(!strcmp(libevdev_get_name(dev), "devbroker test keyboard") &&
	      libevdev_get_id_vendor(dev) == 0x0525 &&
	      libevdev_has_event_code(dev, EV_KEY, KEY_A) &&
	      libevdev_has_event_code(dev, EV_LED, LED_CAPSL) &&
	      !libevdev_has_event_code(dev, EV_KEY, KEY_B),
	      "input: %s is \"%s\" with exactly the template's keys and LED", node,
	      libevdev_get_name(dev));

	if (write(down[1], "g", 1) != 1)
		goto out;
	n = read_events(dev, evfd, evs, 4);
	check(n == 4 &&
	      evs[0].type == EV_KEY && evs[0].code == KEY_A && evs[0].value == 1 &&
	      evs[1].type == EV_SYN && evs[1].code == SYN_REPORT &&
	      evs[2].type == EV_KEY && evs[2].code == KEY_A && evs[2].value == 0 &&
	      evs[3].type == EV_SYN && evs[3].code == SYN_REPORT,
	      "input: the reader got KEY_A 1, SYN, KEY_A 0, SYN (%d events)", n);
	n = (int)write(evfd, led, sizeof(led));
	check(n == (int)sizeof(led), "input: root writes EV_LED LED_CAPSL 1 to %s", node);

out:
	close(down[1]);
	if (waitpid(pid, &status, 0) != pid)
		status = -1;
	check(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "input: the driver side exits 0 (status 0x%x)", status);
	/* dbk_input_free() destroyed the device: its node went with it. */
	if (node[0])
		check(access(node, F_OK) < 0 && errno == ENOENT, "input: %s is gone", node);
	libevdev_free(dev);
	if (evfd >= 0)
		close(evfd);
	if (f)
		fclose(f);
	return failures ? 1 : 0;
}

/* ------------------------------------------------------------------ */
/* fuse: an in-memory disk */

struct disk {
	uint8_t *mem;
	uint64_t size;
	uint64_t gone_at;	/* UINT64_MAX: never */
	int flushes, reads, writes;
	bool bad_request;	/* the library asked beyond the size */
};

static struct dbk_fuse_file *served;
static volatile sig_atomic_t got_term;

static void on_term(int sig)
{
	(void)sig;
	got_term = 1;
	dbk_fuse_file_stop(served);
}

static ssize_t disk_read(void *data, void *buf, size_t size, uint64_t off)
{
	struct disk *d = data;

	d->reads++;
	if (off + size > d->size) {
		d->bad_request = true;
		return -EINVAL;
	}
	if (d->gone_at >= off && d->gone_at < off + size)
		return -ENODEV;
	memcpy(buf, d->mem + off, size);
	return (ssize_t)size;
}

static ssize_t disk_write(void *data, const void *buf, size_t size, uint64_t off)
{
	struct disk *d = data;

	d->writes++;
	if (off + size > d->size) {
		d->bad_request = true;
		return -EINVAL;
	}
	memcpy(d->mem + off, buf, size);
	return (ssize_t)size;
}

static int disk_flush(void *data)
{
	((struct disk *)data)->flushes++;
	return 0;
}

static int fuse_driver(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "expect", required_argument, NULL, 'e' },
		{ "dump", required_argument, NULL, 'd' },
		{ "gone-at", required_argument, NULL, 'g' },
		{ "expect-flush", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	const struct dbk_fuse_file_ops ops = {
		.read = disk_read, .write = disk_write, .flush = disk_flush,
	};
	struct sigaction sa;
	struct disk d = { .gone_at = UINT64_MAX };
	const char *expect = NULL, *dump = NULL;
	struct dbk_handover *ho;
	bool want_flush = false;
	int fd = -1, r, o;

	if (dbk_handover_get(&ho) == 0) {
		fd = dbk_handover_take_fd(ho, DBK_HANDOVER_FUSE);
		dbk_handover_free(ho);
	}
	optind = 2;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'e': expect = optarg; break;
		case 'd': dump = optarg; break;
		case 'g': d.gone_at = strtoull(optarg, NULL, 0); break;
		case 'f': want_flush = true; break;
		default: return 2;
		}
	}
	if (optind != argc - 1 || !expect) {
		fprintf(stderr, "usage: libdev-usbtest fuse SIZE --expect stop|unmount|gone ...\n");
		return 2;
	}
	d.size = strtoull(argv[optind], NULL, 0);
	d.mem = calloc(1, d.size);
	if (!d.mem)
		return 1;
	alarm(240);	/* never outlive the test */

	r = dbk_fuse_file_new(fd, "disk", d.size, 0600, &ops, &d, &served);
	check(r == 0 && geteuid() != 0,
	      "fuse %s: dbk_fuse_file_new on the FUSE fd handed over (%d) as uid %u: %s", expect,
	      fd, (unsigned int)geteuid(), err(r));
	if (r < 0)
		return 1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;	/* no SA_RESTART: poll() sees EINTR */
	sigaction(SIGTERM, &sa, NULL);

	r = dbk_fuse_file_run(served);
	if (!strcmp(expect, "stop"))
		check(r == 0 && got_term, "fuse stop: dbk_fuse_file_stop() from the SIGTERM handler "
		      "ends the loop with 0 (%s)", err(r));
	else if (!strcmp(expect, "unmount"))
		check(r == 0 && !got_term, "fuse unmount: the unmount ends the loop with 0 (%s)", err(r));
	else {
		check(r == -ENODEV, "fuse gone: a read callback's -ENODEV ends the loop with -ENODEV (%s)",
		      err(r));
		r = dbk_fuse_file_run(served);
		check(r == -ENODEV, "fuse gone: so does the next dbk_fuse_file_run (%s)", err(r));
	}
	check(!d.bad_request, "fuse %s: no callback asked beyond the size (%d reads, %d writes)",
	      expect, d.reads, d.writes);
	if (want_flush)
		check(d.flushes > 0, "fuse %s: the flush callback ran (%d times)", expect, d.flushes);
	dbk_fuse_file_free(served);
	check(fd_closed(fd), "fuse %s: dbk_fuse_file_free closed the /dev/fuse fd", expect);
	if (dump) {
		FILE *f = fopen(dump, "w");

		check(f && fwrite(d.mem, 1, d.size, f) == d.size && fclose(f) == 0,
		      "fuse %s: the disk is dumped to %s", expect, dump);
	}
	free(d.mem);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "grant-usb"))
		return grant_usb(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "usb"))
		return usb_driver(argc, argv);
	if (argc == 2 && !strcmp(argv[1], "input"))
		return input_test();
	if (argc >= 2 && !strcmp(argv[1], "fuse"))
		return fuse_driver(argc, argv);
	fprintf(stderr, "usage: libdev-usbtest grant-usb|usb|input|fuse ...\n");
	return 2;
}
