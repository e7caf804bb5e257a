/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The smallest USB driver: adopt the usbfs fd devbrokerd handed over
 * (<devbroker/handover.h>), then describe the device:
 * its device descriptor, read from the device with a GET_DESCRIPTOR
 * control transfer, and its product string.
 *
 * Build it outside the tree with pkg-config:
 *
 *   cc -o usb-describe usb-describe.c $(pkg-config --cflags --libs devbroker)
 *
 * (with PKG_CONFIG_PATH=<prefix>/lib/x86_64-linux-gnu/pkgconfig if the SDK is
 * installed under a non-standard prefix), or in a meson project with
 * dependency('devbroker').
 *
 * devbrokerd starts it as a manifest's Exec=; by hand, as root, open the
 * device node on some fd and say which interfaces that fd has claimed:
 *   DBK_HANDOVER=1 DBK_USB_FD=5 DBK_USB_INTERFACES=0 ./usb-describe 5<>/dev/bus/usb/001/002
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <devbroker/usb.h>

int main(void)
{
	struct libusb_device_descriptor d;
	libusb_device_handle *h;
	struct dbk_usb *usb;
	unsigned char buf[LIBUSB_DT_DEVICE_SIZE];
	unsigned char product[128];
	int r;

	r = dbk_usb_adopt_env(&usb);
	if (r == -ENOENT) {
		fprintf(stderr, "usb-describe: no USB fd handed over: run it under devbrokerd, "
			"or see the comment at the top of usb-describe.c\n");
		return 2;
	}
	if (r < 0) {
		fprintf(stderr, "usb-describe: dbk_usb_adopt_env: %s\n", strerror(-r));
		return 1;
	}
	h = dbk_usb_get_handle(usb);
	/* Ask the device itself (libusb_get_device_descriptor() would answer
	 * from what libusb read at adoption). */
	r = libusb_control_transfer(h, LIBUSB_ENDPOINT_IN | LIBUSB_REQUEST_TYPE_STANDARD |
				    LIBUSB_RECIPIENT_DEVICE, LIBUSB_REQUEST_GET_DESCRIPTOR,
				    LIBUSB_DT_DEVICE << 8, 0, buf, sizeof(buf), 1000);
	if (r < (int)sizeof(buf)) {
		fprintf(stderr, "usb-describe: GET_DESCRIPTOR(device): %s\n",
			r < 0 ? strerror(-dbk_usb_errno(r)) : "short answer");
		dbk_usb_free(usb);
		return 1;
	}
	/* The descriptor is little-endian (USB 2.0, 9.6.1). */
	d.bLength = buf[0];
	d.bDescriptorType = buf[1];
	d.bcdUSB = (uint16_t)(buf[2] | buf[3] << 8);
	d.bDeviceClass = buf[4];
	d.idVendor = (uint16_t)(buf[8] | buf[9] << 8);
	d.idProduct = (uint16_t)(buf[10] | buf[11] << 8);
	d.iProduct = buf[15];
	d.bNumConfigurations = buf[17];
	if (d.bDescriptorType != LIBUSB_DT_DEVICE) {
		fprintf(stderr, "usb-describe: not a device descriptor (type %u)\n",
			d.bDescriptorType);
		dbk_usb_free(usb);
		return 1;
	}
	printf("device %04x:%04x, USB %x.%02x, class %02x, %u configuration(s), "
	       "interfaces 0x%x claimed\n", d.idVendor, d.idProduct,
	       d.bcdUSB >> 8, d.bcdUSB & 0xff, d.bDeviceClass,
	       d.bNumConfigurations, dbk_usb_get_interfaces(usb));
	if (d.iProduct &&
	    libusb_get_string_descriptor_ascii(h, d.iProduct, product,
					       sizeof(product)) > 0)
		printf("product: %s\n", product);
	dbk_usb_free(usb);	/* releases the interfaces and closes the fd */
	return 0;
}
