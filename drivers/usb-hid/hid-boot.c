/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Boot keyboard and boot mouse reports -> evdev events, as the kernel's
 * usbhid + hid-input report them.  See hid-boot.h.
 *
 * References:
 *  - "HID 1.11": Device Class Definition for HID 1.11 (usb.org): B.1 and
 *    B.2 (the boot keyboard and boot mouse reports), Appendix C (keyboard
 *    implementation: the phantom state);
 *  - "HUT": HID Usage Tables 1.12, 10 (Keyboard/Keypad page 0x07, see
 *    usb-hid-keys.h).
 */
#include <errno.h>
#include <string.h>
#include <linux/input-event-codes.h>

#include "hid-boot.h"
#include "usb-hid-keys.h"

/* HID 1.11, B.1: byte 0 the modifiers, byte 1 reserved, bytes 2-7 keys. */
#define KBD_MODIFIERS		0	/* bit i: usage 0xe0 + i (LeftControl...) */
#define KBD_KEYS		2	/* bytes 2-7: up to six pressed usages */
#define KBD_NKEYS		6
/* HUT 10: usages 1-3 are error states, not keys ("phantom state"). */
#define USAGE_ERR_ROLLOVER	0x01
#define USAGE_ERR_UNDEFINED	0x03
#define USAGE_MODIFIER0		0xe0
/* HID 1.11, B.2: byte 0 bits 0-2 the buttons; then X, Y, the wheel. */
#define MOUSE_BUTTONS		0x07

unsigned int hid_boot_keycode(uint8_t usage)
{
	return hid_kbd_keycode[usage];
}

static void clear(struct hid_boot_events *out)
{
	out->n = 0;
	out->rollover = false;
	out->unmapped = 0;
}

static void add(struct hid_boot_events *out, unsigned int type, unsigned int code,
		int value)
{
	struct hid_boot_event *e = &out->ev[out->n++];

	e->type = (uint16_t)type;
	e->code = (uint16_t)code;
	e->value = value;
}

/* One key of the Keyboard page, with the scan code hid-input reports too
 * (MSC_SCAN: usage page << 16 | usage ID), so that tools like evtest and
 * udev's keymaps see the same as with the kernel's driver. */
static void add_key(struct hid_boot_events *out, uint8_t usage, int value)
{
	unsigned int code = hid_kbd_keycode[usage];

	if (!code) {
		out->unmapped = usage;
		return;
	}
	add(out, EV_MSC, MSC_SCAN, 0x70000 | usage);
	add(out, EV_KEY, code, value);
}

static bool has_usage(const uint8_t *keys, uint8_t usage)
{
	return memchr(keys, usage, KBD_NKEYS) != NULL;
}

static bool is_key(uint8_t usage)
{
	return usage > USAGE_ERR_UNDEFINED;	/* 0: none; 1-3: errors */
}

/* HID 1.11, Appendix C: more keys held than the array holds (or keys the
 * matrix cannot tell apart) fill it with ErrorRollOver; HUT 10 names
 * usages 1-3 errors.  The keys held are unknown then. */
static bool phantom(const uint8_t *keys)
{
	int i;

	for (i = 0; i < KBD_NKEYS; i++)
		if (keys[i] >= USAGE_ERR_ROLLOVER && keys[i] <= USAGE_ERR_UNDEFINED)
			return true;
	return false;
}

static void modifier_changes(uint8_t *prev, uint8_t now, struct hid_boot_events *out)
{
	uint8_t changed = now ^ *prev;
	int i;

	for (i = 0; i < 8; i++)
		if (changed & (1u << i))
			add_key(out, USAGE_MODIFIER0 + i, (now >> i) & 1);
	*prev = now;
}

/* Presses and releases are the differences between two key arrays, in
 * any order.  Releases first, so that a key that moved in the array is
 * not seen as released after being pressed. */
static void key_changes(uint8_t *prev, const uint8_t *now, struct hid_boot_events *out)
{
	int i;

	for (i = 0; i < KBD_NKEYS; i++)
		if (is_key(prev[i]) && !has_usage(now, prev[i]))
			add_key(out, prev[i], 0);
	for (i = 0; i < KBD_NKEYS; i++)
		if (is_key(now[i]) && !has_usage(prev, now[i]))
			add_key(out, now[i], 1);
	memcpy(prev, now, KBD_NKEYS);
}

/*
 * HID 1.11, B.1.  In the phantom state we keep the keys of the last good
 * report, and only the modifier bits, which stay valid, count.
 */
int hid_boot_keyboard(uint8_t prev[HID_BOOT_KBD_LEN], const uint8_t *report,
		      size_t len, struct hid_boot_events *out)
{
	if (!prev || !report || !out)
		return -EINVAL;
	clear(out);
	if (len < HID_BOOT_KBD_LEN)
		return -EMSGSIZE;
	modifier_changes(&prev[KBD_MODIFIERS], report[KBD_MODIFIERS], out);
	if (phantom(report + KBD_KEYS))
		out->rollover = true;
	else
		key_changes(prev + KBD_KEYS, report + KBD_KEYS, out);
	return 0;
}

/* HID 1.11, B.2: byte 0 buttons (bit 0 left, 1 right, 2 middle), bytes 1
 * and 2 X and Y displacement (signed), byte 3 if present the wheel. */
int hid_boot_mouse(uint8_t *buttons, const uint8_t *report, size_t len,
		   struct hid_boot_events *out)
{
	static const unsigned int button[] = { BTN_LEFT, BTN_RIGHT, BTN_MIDDLE };
	uint8_t changed;
	unsigned int i;

	if (!buttons || !report || !out)
		return -EINVAL;
	clear(out);
	if (len < HID_BOOT_MOUSE_MIN)
		return -EMSGSIZE;
	changed = (report[0] ^ *buttons) & MOUSE_BUTTONS;
	for (i = 0; i < 3; i++)
		if (changed & (1u << i))
			add(out, EV_KEY, button[i], (report[0] >> i) & 1);
	*buttons = report[0];
	if (report[1])
		add(out, EV_REL, REL_X, (int8_t)report[1]);
	if (report[2])
		add(out, EV_REL, REL_Y, (int8_t)report[2]);
	if (len > HID_BOOT_MOUSE_WHEEL && report[HID_BOOT_MOUSE_WHEEL])
		add(out, EV_REL, REL_WHEEL, (int8_t)report[HID_BOOT_MOUSE_WHEEL]);
	return 0;
}
