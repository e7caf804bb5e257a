// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * usb-probe: a USB "driver" for the broker's VM tests.  Started by
 * devbrokerd with a restricted usbfs fd, it reports as TAP lines into
 * OUTFILE what that fd and its sandbox let it do, then keeps the device
 * busy with interrupt-IN transfers until they fail with
 * LIBUSB_ERROR_NO_DEVICE (revocation or unplug), which it reports, and
 * exits 0 (a clean stop).
 *
 *   usb-probe OUTFILE [UNGRANTED_INTERFACE]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <libusb.h>
#include <linux/usbdevice_fs.h>

#include <devbroker/handover.h>

static FILE *out;
static int n;

static void check(int ok, const char *what, int err)
{
	fprintf(out, "%sok %d - usb-probe: %s%s%s\n", ok ? "" : "not ", ++n, what,
		ok ? "" : " -- error: ", ok ? "" : strerror(err));
	fflush(out);
}


/* The first interrupt-IN endpoint of a granted interface, or 0. */
static unsigned char intr_in(libusb_device_handle *h, unsigned int mask)
{
	struct libusb_config_descriptor *cfg;
	unsigned char ep = 0;
	int i, e;

	if (libusb_get_active_config_descriptor(libusb_get_device(h), &cfg))
		return 0;
	for (i = 0; i < cfg->bNumInterfaces && !ep; i++) {
		const struct libusb_interface_descriptor *alt = &cfg->interface[i].altsetting[0];

		if (!(mask & (1u << alt->bInterfaceNumber)))
			continue;
		for (e = 0; e < alt->bNumEndpoints && !ep; e++)
			if ((alt->endpoint[e].bmAttributes & 3) == LIBUSB_TRANSFER_TYPE_INTERRUPT &&
			    (alt->endpoint[e].bEndpointAddress & 0x80))
				ep = alt->endpoint[e].bEndpointAddress;
	}
	libusb_free_config_descriptor(cfg);
	return ep;
}

int main(int argc, char **argv)
{
	struct dbk_handover *ho = NULL;
	int fd = -1, mask = -1;
	struct usbdevfs_ioctl disc = { .ifno = 0, .ioctl_code = USBDEVFS_DISCONNECT };
	struct libusb_device_descriptor dd;
	libusb_device_handle *h = NULL;
	libusb_context *ctx = NULL;
	unsigned char buf[64], ep;
	unsigned int ifnum;
	int r, len, i;
	char what[128];

	if (argc < 2 || !(out = fopen(argv[1], "ae")))
		return 2;
	/* What devbrokerd handed over, read as a driver reads it (libdev). */
	if (dbk_handover_get(&ho) == 0) {
		fd = dbk_handover_take_fd(ho, DBK_HANDOVER_USB);
		mask = (int)dbk_handover_usb_interfaces(ho);
	}
	check(ho && fd >= 3 && mask > 0 && dbk_handover_device(ho)[0] &&
	      dbk_handover_usb_serial(ho)[0],
	      "handed over: the usbfs fd, its interfaces, the device and its serial", EINVAL);
	fprintf(out, "# device %s interfaces 0x%x serial '%s'\n", dbk_handover_device(ho), mask,
		dbk_handover_usb_serial(ho));
	check(getuid() != 0, "not root", EPERM);
	errno = 0;
	check(opendir("/dev/bus/usb") == NULL && errno == ENOENT,
	      "no /dev/bus/usb in the sandbox: no other USB node to open", errno);

	libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
	r = libusb_init(&ctx);
	if (!r)
		r = libusb_wrap_sys_device(ctx, (intptr_t)fd, &h);
	check(r == 0, "libusb_wrap_sys_device adopts the fd", r);
	if (r)
		return 1;
	for (ifnum = 0; ifnum < 32; ifnum++) {
		if (!(mask & (1u << ifnum)))
			continue;
		r = libusb_claim_interface(h, (int)ifnum);
		snprintf(what, sizeof(what), "granted interface %u: claimed", ifnum);
		check(r == 0, what, r);
	}
	r = libusb_get_device_descriptor(libusb_get_device(h), &dd);
	len = libusb_control_transfer(h, 0x80, LIBUSB_REQUEST_GET_DESCRIPTOR, 0x0100, 0, buf, 18, 1000);
	check(r == 0 && len == 18 && (buf[8] | buf[9] << 8) == dd.idVendor,
	      "a standard GET_DESCRIPTOR through the fd", len < 0 ? -len : EIO);
	/* Under the usb_requests policy: standard and class requests only, and never these. */
	{
		struct usbdevfs_ctrltransfer ct = { .bRequestType = 0x40, .bRequest = 0x01,
						    .timeout = 500 };

		errno = 0;
		r = ioctl(fd, USBDEVFS_CONTROL, &ct);
		check(r < 0 && errno == EPERM, "a vendor request 0x40/0x01 refused (EPERM)", errno);
		ct = (struct usbdevfs_ctrltransfer){ .bRequestType = 0x00, .bRequest = 0x09,
						     .wValue = 1, .timeout = 500 };
		errno = 0;
		r = ioctl(fd, USBDEVFS_CONTROL, &ct);
		check(r < 0 && errno == EPERM, "a raw SET_CONFIGURATION refused (EPERM)", errno);
	}
	if (argc > 2) {
		ifnum = (unsigned int)atoi(argv[2]);
		errno = 0;
		r = ioctl(fd, USBDEVFS_CLAIMINTERFACE, &ifnum);
		snprintf(what, sizeof(what), "ungranted interface %u: claim refused with EACCES", ifnum);
		check(r < 0 && errno == EACCES, what, errno);
	}
	/* usbfs says EACCES on a dropped fd; the usb_requests policy refuses it first (EPERM). */
	errno = 0;
	r = ioctl(fd, USBDEVFS_IOCTL, &disc);
	snprintf(what, sizeof(what), "the fd cannot detach a kernel driver (%s)",
		 errno == EPERM ? "EPERM: usb_requests policy" : "EACCES: usbfs");
	check(r < 0 && (errno == EACCES || errno == EPERM), what, errno);
	errno = 0;
	r = ioctl(fd, USBDEVFS_RESET, NULL);
	check(r < 0 && errno == EPERM, "a raw USBDEVFS_RESET is refused (EPERM)", errno);
	fprintf(out, "# usb-probe: ready\n");
	fflush(out);

	/* Keep the device busy until it is taken away. */
	ep = intr_in(h, (unsigned int)mask);
	for (i = 0;; i++) {
		if (ep)
			r = libusb_interrupt_transfer(h, ep, buf, sizeof(buf), &len, 200);
		else
			r = libusb_control_transfer(h, 0x80, LIBUSB_REQUEST_GET_STATUS, 0, 0, buf, 2, 200);
		if (r == LIBUSB_ERROR_NO_DEVICE || r == LIBUSB_ERROR_IO)
			break;
		if (!ep && r >= 0)
			usleep(100000);
	}
	fprintf(out, "# usb-probe: transfers fail: %s\n", libusb_error_name(r));
	fflush(out);
	libusb_close(h);
	libusb_exit(ctx);
	return 0;
}
