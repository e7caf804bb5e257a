/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * usb-hid: an unprivileged userspace driver for USB boot keyboards and
 * boot mice, built on libdev, libusb and libevdev.  It turns the device's
 * reports into an ordinary evdev input device (/dev/input/eventN) through
 * uinput, like the kernel's usbhid + hid-input do.
 *
 * References (section numbers of these documents appear below):
 *  - "HID 1.11": Device Class Definition for HID 1.11 (usb.org): 4.2-4.3
 *    (boot interface subclass and protocols), 7.2 (class requests),
 *    B.1 and B.2 (the boot keyboard and boot mouse reports, which
 *    hid-boot.c turns into events);
 *  - "HUT": HID Usage Tables 1.12: 10 (Keyboard/Keypad page 0x07, see
 *    usb-hid-keys.h) and 11 (LED page 0x08).
 *
 * The broker (devbrokerd, manifest usb-hid.conf) passes a usbfs fd of the
 * device on which the granted interfaces are already detached from the
 * kernel driver and claimed, restricted with USBDEVFS_DROP_PRIVILEGES, and
 * a /dev/uinput fd.  We run as an unprivileged user in a sandbox, single
 * threaded: libusb's fds and the uinput fd are polled in one loop, and
 * every transfer is asynchronous.
 *
 * One uinput fd makes one input device: when a device has both a boot
 * keyboard and a boot mouse interface, both feed the same input device.
 *
 * Exit status: 0 when stopped (SIGTERM/SIGINT, device unplugged, or the
 * interfaces revoked), 1 on failure (the broker restarts us), 2 on usage.
 *
 * usage: usb-hid [--usb-fd N] [--interfaces MASK] [--uinput-fd N] [--verbose]
 * Without options, what devbrokerd handed over (<devbroker/handover.h>).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libevdev/libevdev.h>
#include <devbroker/handover.h>
#include <devbroker/frontend.h>
#include <devbroker/usb.h>

#include "hid-boot.h"

/* HID 1.11, 4.2 and 4.3: the boot interface subclass and its protocols. */
#define HID_CLASS		0x03
#define HID_SUBCLASS_BOOT	0x01
#define HID_PROTO_KEYBOARD	0x01
#define HID_PROTO_MOUSE		0x02

/* HID 1.11, 7.2: class requests (bmRequestType 0x21: class, interface). */
#define HID_REQ_SET_REPORT	0x09
#define HID_REQ_SET_IDLE	0x0a
#define HID_REQ_SET_PROTOCOL	0x0b
#define HID_REPORT_OUTPUT	0x02	/* 7.2.2: report type, wValue high byte */
#define HID_PROTOCOL_BOOT	0	/* 7.2.6: wValue 0 boot, 1 report */
#define HID_REQTYPE_OUT		(LIBUSB_ENDPOINT_OUT | LIBUSB_REQUEST_TYPE_CLASS | \
				 LIBUSB_RECIPIENT_INTERFACE)

/* Our one-packet reports: a full-speed interrupt endpoint's maximum. */
#define MAX_PACKET		64
#define CTRL_TIMEOUT_MS		1000
/* Failed transfers in a row before we give up (the broker restarts us). */
#define MAX_ERRORS		5

struct hid_if {
	struct usb_hid *drv;
	int ifnum;
	int protocol;			/* HID_PROTO_KEYBOARD or _MOUSE */
	uint8_t ep_in;
	int packet;			/* wMaxPacketSize */
	int interval;			/* bInterval */
	struct libusb_transfer *in;	/* the interrupt-IN transfer */
	bool in_busy;
	unsigned char in_buf[MAX_PACKET];
	int errors;			/* failed transfers in a row */
	uint8_t prev[HID_BOOT_KBD_LEN];	/* keyboard: what the reports left held */
	uint8_t prev_buttons;		/* mouse: the previous report's buttons */
	/* Keyboard LEDs: the output report in flight (wanted: usb_hid.leds). */
	struct libusb_transfer *led;
	bool led_busy;
	uint8_t led_sent;
	unsigned char led_buf[LIBUSB_CONTROL_SETUP_SIZE + 1];
};

struct usb_hid {
	struct dbk_usb *usb;
	libusb_context *ctx;
	libusb_device_handle *h;
	char device[64];		/* the USB device id devbrokerd named, or "" */
	struct dbk_input *input;
	struct hid_if ifs[32];
	int nifs;
	uint8_t leds;			/* HID 1.11 B.1 output report bits */
	bool verbose;
	bool stop;
	int status;			/* exit status once stop is set */
};

static volatile sig_atomic_t got_signal;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One write() a line: our stderr is the broker's log, shared. */
static void logmsg(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	n = snprintf(line, sizeof(line), "usb-hid: ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	fputs(line, stderr);
}

static void stop(struct usb_hid *d, int status)
{
	if (!d->stop || status > d->status)
		d->status = status;
	d->stop = true;
}

static void device_gone(struct usb_hid *d, const char *what)
{
	if (!d->stop)
		logmsg("%s: the device is gone (unplugged or revoked); stopping", what);
	stop(d, 0);
}

/* ---- evdev output ---- */

static void emit(struct usb_hid *d, unsigned int type, unsigned int code, int value)
{
	int r = dbk_input_emit(d->input, type, code, value);

	if (r < 0) {
		logmsg("writing an input event: %s", strerror(-r));
		stop(d, 1);
	}
}

static void sync_frame(struct usb_hid *d)
{
	int r = dbk_input_sync(d->input);

	if (r < 0) {
		logmsg("writing an input event: %s", strerror(-r));
		stop(d, 1);
	}
}

/*
 * One interrupt-IN report: hid-boot.c turns it into events (HID 1.11, B.1
 * or B.2), which we write as one frame.  A short one is ignored.
 */
static void report(struct hid_if *hi, const uint8_t *r, int len)
{
	struct usb_hid *d = hi->drv;
	bool kbd = hi->protocol == HID_PROTO_KEYBOARD;
	struct hid_boot_events ev;
	unsigned int i;
	int ret;

	if (kbd)
		ret = hid_boot_keyboard(hi->prev, r, (size_t)len, &ev);
	else
		ret = hid_boot_mouse(&hi->prev_buttons, r, (size_t)len, &ev);
	if (ret < 0) {
		if (d->verbose)
			logmsg("interface %d: short %s report (%d bytes); ignored",
			       hi->ifnum, kbd ? "keyboard" : "mouse", len);
		return;
	}
	if (d->verbose && ev.unmapped)
		logmsg("usage 0x%02x has no key code; ignored", ev.unmapped);
	if (d->verbose && ev.rollover)
		logmsg("interface %d: rollover (too many keys held); key array ignored",
		       hi->ifnum);
	for (i = 0; i < ev.n; i++)
		emit(d, ev.ev[i].type, ev.ev[i].code, ev.ev[i].value);
	sync_frame(d);
}

/* ---- transfers ---- */

static void submit_in(struct hid_if *hi)
{
	struct usb_hid *d = hi->drv;
	int r;

	if (d->stop)
		return;
	r = libusb_submit_transfer(hi->in);
	if (r == 0) {
		hi->in_busy = true;
	} else if (r == LIBUSB_ERROR_NO_DEVICE) {
		device_gone(d, "submitting a transfer");
	} else {
		logmsg("interface %d: submitting the interrupt transfer: %s",
		       hi->ifnum, libusb_strerror(r));
		stop(d, 1);
	}
}

/*
 * Is the interface still ours?  When the broker revokes it
 * (USBDEVFS_DISCONNECT on its own fd), usbfs kills our URB with -ENOENT,
 * which libusb reports as a *completed* transfer of 0 bytes; and a new URB
 * would quietly claim the interface again (usbfs checkintf()).  So after
 * an empty completion we ask usbfs, through the SDK, which driver has the
 * interface; an error (-ENODEV: unplugged) means gone too.
 */
static bool still_claimed(struct hid_if *hi)
{
	return dbk_usb_interface_claimed(hi->drv->usb, (unsigned int)hi->ifnum) == 1;
}

static void LIBUSB_CALL in_done(struct libusb_transfer *t)
{
	struct hid_if *hi = t->user_data;
	struct usb_hid *d = hi->drv;

	hi->in_busy = false;
	switch (t->status) {
	case LIBUSB_TRANSFER_COMPLETED:
		if (t->actual_length == 0 && !still_claimed(hi)) {
			device_gone(d, "interrupt transfer");
			return;
		}
		hi->errors = 0;
		if (d->verbose) {
			char hex[3 * MAX_PACKET + 1] = "";
			int i;

			for (i = 0; i < t->actual_length; i++)
				sprintf(hex + 3 * i, " %02x", t->buffer[i]);
			logmsg("interface %d: report%s", hi->ifnum, hex);
		}
		if (t->actual_length > 0)
			report(hi, t->buffer, t->actual_length);
		break;
	case LIBUSB_TRANSFER_NO_DEVICE:
		device_gone(d, "interrupt transfer");
		return;
	case LIBUSB_TRANSFER_CANCELLED:
		return;			/* only when we stop */
	default:
		/* A stalled endpoint needs CLEAR_FEATURE(ENDPOINT_HALT)
		 * (USB 2.0, 9.4.1) before it answers again. */
		logmsg("interface %d: interrupt transfer: %s%s", hi->ifnum,
		       libusb_error_name(t->status),
		       hi->errors + 1 < MAX_ERRORS ? "; retrying" : "; giving up");
		if (++hi->errors >= MAX_ERRORS) {
			stop(d, 1);
			return;
		}
		if (t->status == LIBUSB_TRANSFER_STALL) {
			int r = libusb_clear_halt(d->h, hi->ep_in);

			if (r == LIBUSB_ERROR_NO_DEVICE) {
				device_gone(d, "clearing the stall");
				return;
			}
		}
		break;
	}
	submit_in(hi);
}

static void led_send(struct hid_if *hi);

static void LIBUSB_CALL led_done(struct libusb_transfer *t)
{
	struct hid_if *hi = t->user_data;
	struct usb_hid *d = hi->drv;

	hi->led_busy = false;
	switch (t->status) {
	case LIBUSB_TRANSFER_COMPLETED:
		break;
	case LIBUSB_TRANSFER_NO_DEVICE:
		device_gone(d, "setting the LEDs");
		return;
	case LIBUSB_TRANSFER_CANCELLED:
		return;
	default:
		/* LEDs are only a display: say so, and carry on. */
		logmsg("interface %d: SET_REPORT (LEDs): %s", hi->ifnum,
		       libusb_error_name(t->status));
		break;
	}
	/* The LEDs changed again while this one was in flight. */
	if (hi->led_sent != d->leds)
		led_send(hi);
}

/* HID 1.11, 7.2.2 SET_REPORT of the boot keyboard's output report (B.1:
 * one byte, bit 0 Num Lock, 1 Caps Lock, 2 Scroll Lock, 3 Compose, 4 Kana),
 * asynchronously; one at a time per interface, the newest state wins. */
static void led_send(struct hid_if *hi)
{
	struct usb_hid *d = hi->drv;
	int r;

	if (hi->led_busy || d->stop)
		return;
	libusb_fill_control_setup(hi->led_buf, HID_REQTYPE_OUT, HID_REQ_SET_REPORT,
				  HID_REPORT_OUTPUT << 8, (uint16_t)hi->ifnum, 1);
	hi->led_buf[LIBUSB_CONTROL_SETUP_SIZE] = d->leds;
	libusb_fill_control_transfer(hi->led, d->h, hi->led_buf, led_done, hi,
				     CTRL_TIMEOUT_MS);
	r = libusb_submit_transfer(hi->led);
	if (r == LIBUSB_ERROR_NO_DEVICE) {
		device_gone(d, "setting the LEDs");
		return;
	}
	if (r < 0) {
		logmsg("interface %d: SET_REPORT (LEDs): %s", hi->ifnum, libusb_strerror(r));
		return;
	}
	hi->led_busy = true;
	hi->led_sent = d->leds;
	if (d->verbose)
		logmsg("interface %d: LEDs 0x%02x", hi->ifnum, d->leds);
}

/* Events the kernel sends to our input device: EV_LED when a program (a
 * console, an X server) writes one to /dev/input/eventN.  HUT 11: LED
 * usages 1-5 are the output report's bits 0-4. */
static void input_events(struct usb_hid *d)
{
	static const unsigned int led_bit[LED_CNT] = {
		[LED_NUML] = 0x01, [LED_CAPSL] = 0x02, [LED_SCROLLL] = 0x04,
		[LED_COMPOSE] = 0x08, [LED_KANA] = 0x10,
	};
	struct input_event ev;
	uint8_t leds = d->leds;
	int i, r;

	while ((r = dbk_input_read(d->input, &ev)) == 1) {
		if (ev.type != EV_LED || ev.code >= LED_CNT || !led_bit[ev.code])
			continue;	/* EV_REP settings, EV_SYN...: not ours */
		if (ev.value)
			leds |= led_bit[ev.code];
		else
			leds &= ~led_bit[ev.code];
	}
	if (r < 0) {
		logmsg("reading from uinput: %s", strerror(-r));
		stop(d, 1);
		return;
	}
	if (leds == d->leds)
		return;
	d->leds = leds;
	for (i = 0; i < d->nifs; i++)
		if (d->ifs[i].protocol == HID_PROTO_KEYBOARD)
			led_send(&d->ifs[i]);
}

/* ---- setup ---- */

/* A synchronous class request to an interface, at setup time only. */
static int class_request(struct usb_hid *d, struct hid_if *hi, uint8_t req,
			 uint16_t value, const char *what)
{
	int r = libusb_control_transfer(d->h, HID_REQTYPE_OUT, req, value,
					(uint16_t)hi->ifnum, NULL, 0, CTRL_TIMEOUT_MS);

	if (r < 0)
		logmsg("interface %d: %s: %s", hi->ifnum, what, libusb_strerror(r));
	return r;
}

/* Find the granted interface's descriptors and check that it is a boot
 * keyboard or mouse with an interrupt-IN endpoint we can read. */
static int describe_if(struct usb_hid *d, const struct libusb_config_descriptor *cfg,
		       struct hid_if *hi)
{
	const struct libusb_interface_descriptor *id = NULL;
	int i;

	for (i = 0; i < cfg->bNumInterfaces; i++) {
		const struct libusb_interface *itf = &cfg->interface[i];

		/* HID devices have one alternate setting; use the first. */
		if (itf->num_altsetting > 0 &&
		    itf->altsetting[0].bInterfaceNumber == hi->ifnum)
			id = &itf->altsetting[0];
	}
	if (!id) {
		logmsg("interface %d: not in the configuration descriptor", hi->ifnum);
		return -ENOENT;
	}
	if (id->bInterfaceClass != HID_CLASS || id->bInterfaceSubClass != HID_SUBCLASS_BOOT ||
	    (id->bInterfaceProtocol != HID_PROTO_KEYBOARD &&
	     id->bInterfaceProtocol != HID_PROTO_MOUSE)) {
		logmsg("interface %d: class %02x/%02x/%02x is not a boot keyboard (03/01/01)"
		       " or boot mouse (03/01/02)", hi->ifnum, id->bInterfaceClass,
		       id->bInterfaceSubClass, id->bInterfaceProtocol);
		return -EINVAL;
	}
	hi->protocol = id->bInterfaceProtocol;
	for (i = 0; i < id->bNumEndpoints; i++) {
		const struct libusb_endpoint_descriptor *ep = &id->endpoint[i];

		if ((ep->bEndpointAddress & LIBUSB_ENDPOINT_DIR_MASK) == LIBUSB_ENDPOINT_IN &&
		    (ep->bmAttributes & LIBUSB_TRANSFER_TYPE_MASK) ==
		    LIBUSB_ENDPOINT_TRANSFER_TYPE_INTERRUPT) {
			hi->ep_in = ep->bEndpointAddress;
			/* USB 2.0, 9.6.6: bits 10..0 are the size. */
			hi->packet = ep->wMaxPacketSize & 0x7ff;
			hi->interval = ep->bInterval;
			break;
		}
	}
	if (!hi->ep_in) {
		logmsg("interface %d: no interrupt-IN endpoint (HID 1.11, 4.4: it is required)",
		       hi->ifnum);
		return -EINVAL;
	}
	if (hi->packet == 0 || hi->packet > MAX_PACKET) {
		logmsg("interface %d: endpoint 0x%02x: wMaxPacketSize %d is not in 1..%d",
		       hi->ifnum, hi->ep_in, hi->packet, MAX_PACKET);
		return -EINVAL;
	}
	if (hi->packet < (hi->protocol == HID_PROTO_KEYBOARD ? HID_BOOT_KBD_LEN :
			  HID_BOOT_MOUSE_MIN)) {
		logmsg("interface %d: endpoint 0x%02x: wMaxPacketSize %d is shorter than the"
		       " boot %s report (HID 1.11, %s)", hi->ifnum, hi->ep_in, hi->packet,
		       hi->protocol == HID_PROTO_KEYBOARD ? "keyboard" : "mouse",
		       hi->protocol == HID_PROTO_KEYBOARD ? "B.1" : "B.2");
		return -EINVAL;
	}
	return 0;
}

static int setup_if(struct usb_hid *d, struct hid_if *hi)
{
	/* HID 1.11, 7.2.6: boot devices power up in report protocol; the
	 * reports we parse are the boot ones. */
	int r = class_request(d, hi, HID_REQ_SET_PROTOCOL, HID_PROTOCOL_BOOT,
			      "SET_PROTOCOL(boot)");

	if (r < 0)
		return dbk_usb_errno(r);
	/* HID 1.11, 7.2.4: idle rate 0, report only on change (the kernel
	 * repeats keys itself).  Optional for mice, so keyboards only, as
	 * usbhid does; a keyboard that stalls it still works. */
	if (hi->protocol == HID_PROTO_KEYBOARD) {
		r = class_request(d, hi, HID_REQ_SET_IDLE, 0, "SET_IDLE(0)");
		if (r == LIBUSB_ERROR_NO_DEVICE)
			return -ENODEV;
	}
	hi->in = libusb_alloc_transfer(0);
	hi->led = libusb_alloc_transfer(0);
	if (!hi->in || !hi->led)
		return -ENOMEM;
	libusb_fill_interrupt_transfer(hi->in, d->h, hi->ep_in, hi->in_buf, hi->packet,
				       in_done, hi, 0);
	return 0;
}

/* The input device's name, ids and capabilities (evdev), from the USB
 * device descriptor and what the interfaces are. */
static int create_input(struct usb_hid *d, int uinput_fd)
{
	static const unsigned int leds[] = { LED_NUML, LED_CAPSL, LED_SCROLLL,
					     LED_COMPOSE, LED_KANA };
	struct libusb_device_descriptor dd;
	struct libevdev *tmpl;
	bool kbd = false, mouse = false, wheel = false;
	char product[64] = "", name[80];
	const char *dev = d->device[0] ? d->device : NULL;
	unsigned int i;
	int r;

	r = libusb_get_device_descriptor(libusb_get_device(d->h), &dd);
	if (r < 0) {
		logmsg("device descriptor: %s", libusb_strerror(r));
		return dbk_usb_errno(r);
	}
	/* A standard GET_DESCRIPTOR(string); a device without one gets ids. */
	if (!dd.iProduct || libusb_get_string_descriptor_ascii(d->h, dd.iProduct,
			(unsigned char *)product, sizeof(product)) <= 0)
		snprintf(product, sizeof(product), "%04x:%04x", dd.idVendor, dd.idProduct);
	for (i = 0; i < (unsigned int)d->nifs; i++) {
		if (d->ifs[i].protocol == HID_PROTO_KEYBOARD)
			kbd = true;
		else
			mouse = true;
		if (d->ifs[i].protocol == HID_PROTO_MOUSE && d->ifs[i].packet > HID_BOOT_MOUSE_WHEEL)
			wheel = true;
	}
	snprintf(name, sizeof(name), "devbroker usb-hid %s (%s)",
		 kbd && mouse ? "keyboard+mouse" : kbd ? "keyboard" : "mouse", product);

	tmpl = libevdev_new();
	if (!tmpl)
		return -ENOMEM;
	libevdev_set_name(tmpl, name);
	libevdev_set_id_bustype(tmpl, BUS_USB);
	libevdev_set_id_vendor(tmpl, dd.idVendor);
	libevdev_set_id_product(tmpl, dd.idProduct);
	libevdev_set_id_version(tmpl, dd.bcdDevice);
	if (dev)
		libevdev_set_phys(tmpl, dev);
	if (kbd) {
		for (i = 0; i < 256; i++)
			if (hid_boot_keycode((uint8_t)i))
				libevdev_enable_event_code(tmpl, EV_KEY,
							   hid_boot_keycode((uint8_t)i), NULL);
		libevdev_enable_event_code(tmpl, EV_MSC, MSC_SCAN, NULL);
		for (i = 0; i < sizeof(leds) / sizeof(leds[0]); i++)
			libevdev_enable_event_code(tmpl, EV_LED, leds[i], NULL);
		/* The kernel's software autorepeat (250 ms, then every 33 ms):
		 * boot keyboards do not repeat, and SET_IDLE(0) keeps them
		 * from resending a held key. */
		libevdev_enable_event_type(tmpl, EV_REP);
	}
	if (mouse) {
		libevdev_enable_event_code(tmpl, EV_KEY, BTN_LEFT, NULL);
		libevdev_enable_event_code(tmpl, EV_KEY, BTN_RIGHT, NULL);
		libevdev_enable_event_code(tmpl, EV_KEY, BTN_MIDDLE, NULL);
		libevdev_enable_event_code(tmpl, EV_REL, REL_X, NULL);
		libevdev_enable_event_code(tmpl, EV_REL, REL_Y, NULL);
		if (wheel)
			libevdev_enable_event_code(tmpl, EV_REL, REL_WHEEL, NULL);
	}
	r = dbk_input_new(uinput_fd, tmpl, &d->input);
	libevdev_free(tmpl);
	if (r < 0) {
		logmsg("creating the input device through uinput: %s", strerror(-r));
		return r;
	}
	logmsg("%s: %s, %04x:%04x", dbk_input_get_devnode(d->input) ?
	       dbk_input_get_devnode(d->input) : "input device", name, dd.idVendor,
	       dd.idProduct);
	return 0;
}

/* ---- the loop ---- */

static void on_signal(int sig)
{
	got_signal = sig;
}

/*
 * One thread: poll libusb's fds (its event fd, timer fd and the usbfs fd)
 * and the uinput fd together, with the signals we stop on blocked except
 * inside ppoll(), so that none slips in between the check and the wait.
 */
static int run(struct usb_hid *d, const sigset_t *waitmask)
{
	while (!d->stop) {
		/* Asked again each time: libusb may add or drop an fd. */
		const struct libusb_pollfd **ufds = libusb_get_pollfds(d->ctx);
		struct pollfd fds[16];
		struct timeval tv, zero = { 0, 0 };
		struct timespec ts, *tsp = NULL;
		nfds_t n = 0;
		int r;

		if (!ufds) {
			logmsg("libusb_get_pollfds failed");
			return 1;
		}
		for (; ufds[n] && n < 15; n++) {
			fds[n].fd = ufds[n]->fd;
			fds[n].events = ufds[n]->events;
		}
		libusb_free_pollfds(ufds);
		fds[n].fd = dbk_input_get_fd(d->input);
		fds[n].events = POLLIN;
		/* Only a backend without timerfd has timeouts of its own. */
		if (libusb_get_next_timeout(d->ctx, &tv) == 1) {
			ts.tv_sec = tv.tv_sec;
			ts.tv_nsec = tv.tv_usec * 1000;
			tsp = &ts;
		}
		r = ppoll(fds, n + 1, tsp, waitmask);
		if (r < 0 && errno != EINTR) {
			logmsg("ppoll: %s", strerror(errno));
			return 1;
		}
		if (got_signal) {
			if (d->verbose)
				logmsg("signal %d: stopping", (int)got_signal);
			stop(d, 0);
			break;
		}
		if (r > 0 && (fds[n].revents & POLLIN))
			input_events(d);
		/* Completions (our callbacks run here) and libusb's timeouts. */
		r = libusb_handle_events_timeout_completed(d->ctx, &zero, NULL);
		if (r < 0 && r != LIBUSB_ERROR_INTERRUPTED) {
			logmsg("handling USB events: %s", libusb_strerror(r));
			stop(d, 1);
		}
	}
	return d->status;
}

/* Cancel what is in flight and wait (a bounded time) for libusb to hand
 * the transfers back: freeing a transfer in flight is not allowed. */
static void cancel_all(struct usb_hid *d)
{
	struct timespec end, now;
	int i, busy;

	for (i = 0; i < d->nifs; i++) {
		if (d->ifs[i].in_busy)
			libusb_cancel_transfer(d->ifs[i].in);
		if (d->ifs[i].led_busy)
			libusb_cancel_transfer(d->ifs[i].led);
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += 2;
	for (;;) {
		struct timeval tv = { 0, 100000 };

		busy = 0;
		for (i = 0; i < d->nifs; i++)
			busy += d->ifs[i].in_busy + d->ifs[i].led_busy;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (!busy || now.tv_sec > end.tv_sec ||
		    (now.tv_sec == end.tv_sec && now.tv_nsec > end.tv_nsec))
			break;
		libusb_handle_events_timeout_completed(d->ctx, &tv, NULL);
	}
	for (i = 0; i < d->nifs; i++) {
		/* Still in flight: leaked on purpose, we are exiting. */
		if (!d->ifs[i].in_busy)
			libusb_free_transfer(d->ifs[i].in);
		if (!d->ifs[i].led_busy)
			libusb_free_transfer(d->ifs[i].led);
	}
}

static void usage(FILE *f)
{
	fputs("usage: usb-hid [--usb-fd N] [--interfaces MASK] [--uinput-fd N] [--verbose]\n"
	      "Without options: the usbfs fd, interfaces and uinput fd devbrokerd handed over.\n", f);
}

/* A decimal or 0x-prefixed number, all of it. */
static int parse_num(const char *s, unsigned long max, unsigned long *v)
{
	char *end;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	*v = strtoul(s, &end, 0);
	if (errno || *end || *v > max || s[0] == '-')
		return -EINVAL;
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "usb-fd", required_argument, NULL, 'u' },
		{ "interfaces", required_argument, NULL, 'i' },
		{ "uinput-fd", required_argument, NULL, 'U' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct usb_hid d = { 0 };
	const char *usb_fd_s = NULL, *mask_s = NULL, *uinput_s = NULL;
	struct libusb_config_descriptor *cfg = NULL;
	unsigned long usb_fd = ULONG_MAX, mask = ULONG_MAX, uinput_fd = ULONG_MAX;
	sigset_t block, waitmask;
	struct sigaction sa;
	uint32_t granted;
	struct dbk_handover *ho;
	int c, i, r, status = 1;

	while ((c = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (c) {
		case 'u': usb_fd_s = optarg; break;
		case 'i': mask_s = optarg; break;
		case 'U': uinput_s = optarg; break;
		case 'v': d.verbose = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* Options override what devbrokerd handed over (<devbroker/handover.h>). */
	r = dbk_handover_get(&ho);
	if (r < 0 && r != -ENOENT)
		logmsg("the hand-over from devbrokerd: %s", strerror(-r));
	if (r == 0) {
		snprintf(d.device, sizeof(d.device), "%s", dbk_handover_device(ho));
		if (!usb_fd_s && (r = dbk_handover_take_fd(ho, DBK_HANDOVER_USB)) >= 0)
			usb_fd = (unsigned long)r;
		if (!mask_s)
			mask = dbk_handover_usb_interfaces(ho);
		if (!uinput_s && (r = dbk_handover_take_fd(ho, DBK_HANDOVER_UINPUT)) >= 0)
			uinput_fd = (unsigned long)r;
		dbk_handover_free(ho);
	}
	if ((usb_fd_s && parse_num(usb_fd_s, INT32_MAX, &usb_fd) < 0) ||
	    (mask_s && parse_num(mask_s, UINT32_MAX, &mask) < 0) || usb_fd == ULONG_MAX ||
	    mask == ULONG_MAX || mask == 0) {
		logmsg("need the USB fd and a non-empty interface mask (--usb-fd, --interfaces,"
		       " or handed over by devbrokerd); got '%s', '%s'",
		       usb_fd_s ? usb_fd_s : "", mask_s ? mask_s : "");
		return 2;
	}
	if ((uinput_s && parse_num(uinput_s, INT32_MAX, &uinput_fd) < 0) ||
	    uinput_fd == ULONG_MAX) {
		logmsg("need a /dev/uinput fd (--uinput-fd, or UInput=yes in the manifest"
		       " for devbrokerd to hand one over); got '%s'", uinput_s ? uinput_s : "");
		return 2;
	}

	/* Block the stop signals; ppoll() in run() takes them. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);

	r = dbk_usb_adopt((int)usb_fd, (uint32_t)mask, &d.usb);
	if (r < 0) {
		logmsg("adopting USB fd %lu (interfaces 0x%lx): %s", usb_fd, mask, strerror(-r));
		close((int)uinput_fd);
		return r == -ENODEV ? 0 : 1;
	}
	d.ctx = dbk_usb_get_context(d.usb);
	d.h = dbk_usb_get_handle(d.usb);
	granted = dbk_usb_get_interfaces(d.usb);

	r = libusb_get_active_config_descriptor(libusb_get_device(d.h), &cfg);
	if (r < 0) {
		logmsg("configuration descriptor: %s", libusb_strerror(r));
		status = r == LIBUSB_ERROR_NO_DEVICE ? 0 : 1;
		close((int)uinput_fd);
		goto out_usb;
	}
	for (i = 0; i < 32; i++) {
		struct hid_if *hi = &d.ifs[d.nifs];

		if (!(granted & (1u << i)))
			continue;
		hi->drv = &d;
		hi->ifnum = i;
		d.nifs++;
		r = describe_if(&d, cfg, hi);
		if (r < 0)
			break;
	}
	libusb_free_config_descriptor(cfg);
	if (r < 0) {
		close((int)uinput_fd);
		goto out_usb;
	}
	for (i = 0; i < d.nifs; i++) {
		r = setup_if(&d, &d.ifs[i]);
		if (r < 0)
			break;
		logmsg("interface %d: boot %s, endpoint 0x%02x, %d-byte reports, interval %d",
		       d.ifs[i].ifnum, d.ifs[i].protocol == HID_PROTO_KEYBOARD ? "keyboard" : "mouse",
		       d.ifs[i].ep_in, d.ifs[i].packet, d.ifs[i].interval);
	}
	if (r < 0) {
		status = r == -ENODEV ? 0 : 1;
		close((int)uinput_fd);
		goto out_xfers;
	}
	r = create_input(&d, (int)uinput_fd);
	if (r < 0) {
		status = r == -ENODEV ? 0 : 1;
		close((int)uinput_fd);
		goto out_xfers;
	}
	for (i = 0; i < d.nifs; i++)
		submit_in(&d.ifs[i]);

	status = run(&d, &waitmask);

out_xfers:
	cancel_all(&d);
	dbk_input_free(d.input);
out_usb:
	dbk_usb_free(d.usb);
	if (d.verbose || status)
		logmsg("exiting with status %d", status);
	return status;
}
