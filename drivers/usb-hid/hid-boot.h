/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The boot protocol's input reports (HID 1.11, Appendix B) turned into
 * evdev events: pure code, no libusb, uinput or SDK, so that the host's
 * unit tests (tests/unit/test-hid-boot.c) can check it byte by byte.
 *
 * Each call decodes one report against the state the previous ones left
 * and fills a list of (type, code, value) events, without the EV_SYN that
 * ends the frame: the caller writes them, then the SYN_REPORT.
 */
#ifndef HID_BOOT_H
#define HID_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* HID 1.11, B.1: the boot keyboard input report is 8 bytes. */
#define HID_BOOT_KBD_LEN	8
/* HID 1.11, B.2: the boot mouse report is buttons, X, Y (3 bytes); many
 * mice, QEMU's usb-mouse among them, add the wheel in byte 3. */
#define HID_BOOT_MOUSE_MIN	3
#define HID_BOOT_MOUSE_WHEEL	3

/*
 * The most events one report makes: a keyboard report that flips the 8
 * modifiers, releases 6 keys and presses 6 others, two events each
 * (MSC_SCAN, then EV_KEY).  A mouse report makes at most 6.
 */
#define HID_BOOT_MAX_EVENTS	((8 + 6 + 6) * 2)

struct hid_boot_event {
	uint16_t type;			/* EV_KEY, EV_MSC, EV_REL */
	uint16_t code;
	int32_t value;
};

struct hid_boot_events {
	unsigned int n;			/* events in ev[] */
	struct hid_boot_event ev[HID_BOOT_MAX_EVENTS];
	bool rollover;			/* keyboard: phantom state, keys kept */
	uint8_t unmapped;		/* keyboard: a usage that changed but has
					 * no key code (ignored), or 0 */
};

/*
 * A boot keyboard report (@len bytes; bytes past the 8th are ignored)
 * against @prev, the state the previous reports left, which it updates.
 * @prev starts zeroed (nothing held).  Returns 0, or -EMSGSIZE for a
 * report shorter than 8 bytes (then @prev is untouched and @out empty),
 * -EINVAL for a NULL pointer.
 */
int hid_boot_keyboard(uint8_t prev[HID_BOOT_KBD_LEN], const uint8_t *report,
		      size_t len, struct hid_boot_events *out);

/*
 * A boot mouse report (@len bytes: 3, or 4 and more with the wheel)
 * against *@buttons, the previous report's buttons byte, which it
 * updates.  Returns 0, or -EMSGSIZE for a report shorter than 3 bytes
 * (then *@buttons is untouched and @out empty), -EINVAL for a NULL
 * pointer.
 */
int hid_boot_mouse(uint8_t *buttons, const uint8_t *report, size_t len,
		   struct hid_boot_events *out);

/* The evdev key code of a Keyboard page usage (HUT 10), 0 if none. */
unsigned int hid_boot_keycode(uint8_t usage);

#endif /* HID_BOOT_H */
