/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/usb-hid/hid-boot.c: boot keyboard and boot mouse reports (HID
 * 1.11, B.1 and B.2) -> evdev events, checked as exact event sequences:
 * presses, releases and modifiers, the phantom state (Appendix C), short
 * reports, buttons and signed motion.  The driver itself runs against
 * QEMU's usb-kbd and usb-mouse in the VM (tests/vm/).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <linux/input-event-codes.h>

#include "hid-boot.h"

#define SCAN(u)		{ EV_MSC, MSC_SCAN, 0x70000 | (u) }
#define KEY(c, v)	{ EV_KEY, (c), (v) }
#define REL(c, v)	{ EV_REL, (c), (v) }
/* A key of the Keyboard page: its scan code, then the key (hid-input's order). */
#define PRESS(u, c)	SCAN(u), KEY(c, 1)
#define RELEASE(u, c)	SCAN(u), KEY(c, 0)
#define N(a)		(sizeof(a) / sizeof((a)[0]))

static void expect(const struct hid_boot_events *ev, const struct hid_boot_event *want,
		   unsigned int n)
{
	unsigned int i;

	assert_int_equal(ev->n, n);
	for (i = 0; i < n; i++) {
		assert_int_equal(ev->ev[i].type, want[i].type);
		assert_int_equal(ev->ev[i].code, want[i].code);
		assert_int_equal(ev->ev[i].value, want[i].value);
	}
}

/* Decode one 8-byte keyboard report into @ev, which starts as garbage. */
static void kbd(uint8_t *prev, const uint8_t report[8], struct hid_boot_events *ev)
{
	memset(ev, 0xa5, sizeof(*ev));
	assert_int_equal(hid_boot_keyboard(prev, report, 8, ev), 0);
}

static void mouse(uint8_t *buttons, const uint8_t *report, size_t len,
		  struct hid_boot_events *ev)
{
	memset(ev, 0xa5, sizeof(*ev));
	assert_int_equal(hid_boot_mouse(buttons, report, len, ev), 0);
	assert_false(ev->rollover);
	assert_int_equal(ev->unmapped, 0);
}

/* ---- keyboard ---- */

static void test_kbd_press_release(void **state)
{
	static const struct hid_boot_event a_down[] = { PRESS(0x04, KEY_A) };
	static const struct hid_boot_event b_down[] = { PRESS(0x05, KEY_B) };
	static const struct hid_boot_event a_up[] = { RELEASE(0x04, KEY_A) };
	/* Released before pressed, whatever the positions in the array. */
	static const struct hid_boot_event b_to_esc[] = {
		RELEASE(0x05, KEY_B), PRESS(0x29, KEY_ESC),
	};
	uint8_t prev[HID_BOOT_KBD_LEN] = { 0 };
	struct hid_boot_events ev;

	(void)state;
	kbd(prev, (const uint8_t[8]){ 0, 0, 0x04 }, &ev);
	expect(&ev, a_down, N(a_down));
	assert_false(ev.rollover);
	assert_int_equal(ev.unmapped, 0);
	kbd(prev, (const uint8_t[8]){ 0, 0, 0x04 }, &ev);	/* the same again */
	expect(&ev, NULL, 0);
	kbd(prev, (const uint8_t[8]){ 0, 0, 0x04, 0x05 }, &ev);
	expect(&ev, b_down, N(b_down));
	kbd(prev, (const uint8_t[8]){ 0, 0, 0x05 }, &ev);	/* B moved: not an event */
	expect(&ev, a_up, N(a_up));
	kbd(prev, (const uint8_t[8]){ 0, 0, 0, 0, 0, 0, 0, 0x29 }, &ev);
	expect(&ev, b_to_esc, N(b_to_esc));
	kbd(prev, (const uint8_t[8]){ 0 }, &ev);
	expect(&ev, (const struct hid_boot_event[]){ RELEASE(0x29, KEY_ESC) }, 2);
	/* Byte 1 is reserved (B.1): whatever is in it, nothing happens. */
	kbd(prev, (const uint8_t[8]){ 0, 0xff }, &ev);
	expect(&ev, NULL, 0);
	kbd(prev, (const uint8_t[8]){ 0 }, &ev);
	expect(&ev, NULL, 0);
}

static void test_kbd_modifiers(void **state)
{
	static const struct hid_boot_event ctrl[] = { PRESS(0xe0, KEY_LEFTCTRL) };
	static const struct hid_boot_event shift_meta[] = {
		PRESS(0xe1, KEY_LEFTSHIFT), PRESS(0xe7, KEY_RIGHTMETA),
	};
	/* Modifiers first (bit order), then the key array. */
	static const struct hid_boot_event then_a[] = {
		RELEASE(0xe0, KEY_LEFTCTRL), RELEASE(0xe1, KEY_LEFTSHIFT),
		PRESS(0x04, KEY_A),
	};
	static const struct hid_boot_event all_up[] = {
		RELEASE(0xe7, KEY_RIGHTMETA), RELEASE(0x04, KEY_A),
	};
	static const struct hid_boot_event eight[] = {
		PRESS(0xe0, KEY_LEFTCTRL), PRESS(0xe1, KEY_LEFTSHIFT),
		PRESS(0xe2, KEY_LEFTALT), PRESS(0xe3, KEY_LEFTMETA),
		PRESS(0xe4, KEY_RIGHTCTRL), PRESS(0xe5, KEY_RIGHTSHIFT),
		PRESS(0xe6, KEY_RIGHTALT), PRESS(0xe7, KEY_RIGHTMETA),
	};
	uint8_t prev[HID_BOOT_KBD_LEN] = { 0 };
	struct hid_boot_events ev;

	(void)state;
	kbd(prev, (const uint8_t[8]){ 0x01 }, &ev);
	expect(&ev, ctrl, N(ctrl));
	kbd(prev, (const uint8_t[8]){ 0x83 }, &ev);
	expect(&ev, shift_meta, N(shift_meta));
	kbd(prev, (const uint8_t[8]){ 0x80, 0, 0x04 }, &ev);
	expect(&ev, then_a, N(then_a));
	kbd(prev, (const uint8_t[8]){ 0 }, &ev);
	expect(&ev, all_up, N(all_up));
	kbd(prev, (const uint8_t[8]){ 0xff }, &ev);
	expect(&ev, eight, N(eight));
}

/* HID 1.11, Appendix C: too many keys held: ErrorRollOver in every slot.
 * The keys are unknown then: no key event, the held ones stay held; the
 * modifier byte is still valid. */
static void test_kbd_rollover(void **state)
{
	static const uint8_t held[8] = { 0x01, 0, 0x04, 0x05 };
	static const struct hid_boot_event shift[] = { PRESS(0xe1, KEY_LEFTSHIFT) };
	static const struct hid_boot_event c_only[] = { PRESS(0x06, KEY_C) };
	static const struct hid_boot_event all_up[] = {
		RELEASE(0xe0, KEY_LEFTCTRL), RELEASE(0xe1, KEY_LEFTSHIFT),
		RELEASE(0x05, KEY_B), RELEASE(0x06, KEY_C), RELEASE(0x04, KEY_A),
	};
	uint8_t prev[HID_BOOT_KBD_LEN] = { 0 }, before[HID_BOOT_KBD_LEN];
	struct hid_boot_events ev;

	(void)state;
	kbd(prev, held, &ev);
	assert_int_equal(ev.n, 6);		/* LeftControl, A, B */
	memcpy(before, prev, sizeof(prev));
	kbd(prev, (const uint8_t[8]){ 0x01, 0, 1, 1, 1, 1, 1, 1 }, &ev);
	expect(&ev, NULL, 0);
	assert_true(ev.rollover);
	assert_memory_equal(prev, before, sizeof(prev));
	/* POSTFail and ErrorUndefined (HUT 10) too, in any one slot. */
	kbd(prev, (const uint8_t[8]){ 0x01, 0, 0x04, 0x02, 0x07 }, &ev);
	expect(&ev, NULL, 0);
	assert_true(ev.rollover);
	kbd(prev, (const uint8_t[8]){ 0x01, 0, 0x03 }, &ev);
	expect(&ev, NULL, 0);
	assert_true(ev.rollover);
	assert_memory_equal(prev, before, sizeof(prev));
	/* A modifier change in the phantom state counts. */
	kbd(prev, (const uint8_t[8]){ 0x03, 0, 1, 1, 1, 1, 1, 1 }, &ev);
	expect(&ev, shift, N(shift));
	assert_true(ev.rollover);
	/* Out of it: A and B were held all along; only C is new. */
	kbd(prev, (const uint8_t[8]){ 0x03, 0, 0x05, 0x06, 0x04 }, &ev);
	expect(&ev, c_only, N(c_only));
	assert_false(ev.rollover);
	kbd(prev, (const uint8_t[8]){ 0 }, &ev);
	expect(&ev, all_up, N(all_up));
}

/* The most one report makes: every modifier and six keys for six others. */
static void test_kbd_most_events(void **state)
{
	uint8_t prev[HID_BOOT_KBD_LEN] = { 0 };
	struct hid_boot_events ev;
	unsigned int i;

	(void)state;
	kbd(prev, (const uint8_t[8]){ 0, 0, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09 }, &ev);
	assert_int_equal(ev.n, 12);
	kbd(prev, (const uint8_t[8]){ 0xff, 0, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f }, &ev);
	assert_int_equal(ev.n, HID_BOOT_MAX_EVENTS);
	for (i = 0; i < ev.n; i += 2) {
		assert_int_equal(ev.ev[i].type, EV_MSC);
		assert_int_equal(ev.ev[i + 1].type, EV_KEY);
		/* 8 modifier presses, 6 releases, 6 presses. */
		assert_int_equal(ev.ev[i + 1].value, i < 16 || i >= 28);
	}
	assert_int_equal(ev.ev[17].code, KEY_A);
	assert_int_equal(ev.ev[39].code, KEY_L);
}

/* A usage the Keyboard page has but Linux has no key for: no event. */
static void test_kbd_unmapped(void **state)
{
	uint8_t prev[HID_BOOT_KBD_LEN] = { 0 };
	struct hid_boot_events ev;

	(void)state;
	assert_int_equal(hid_boot_keycode(0x84), 0);	/* Keypad Equal Sign (AS/400) */
	kbd(prev, (const uint8_t[8]){ 0, 0, 0x84 }, &ev);
	expect(&ev, NULL, 0);
	assert_int_equal(ev.unmapped, 0x84);
	kbd(prev, (const uint8_t[8]){ 0, 0, 0x84 }, &ev);
	assert_int_equal(ev.unmapped, 0);		/* unchanged: not looked up */
	kbd(prev, (const uint8_t[8]){ 0, 0, 0x04 }, &ev);
	expect(&ev, (const struct hid_boot_event[]){ PRESS(0x04, KEY_A) }, 2);
	assert_int_equal(ev.unmapped, 0x84);		/* its release */
}

static void test_kbd_bad_length(void **state)
{
	static const uint8_t nine[9] = { 0, 0, 0x04, 0, 0, 0, 0, 0, 0x05 };
	uint8_t prev[HID_BOOT_KBD_LEN] = { 0 }, before[HID_BOOT_KBD_LEN];
	uint8_t r[8] = { 0x01, 0, 0x05 };
	struct hid_boot_events ev;

	(void)state;
	kbd(prev, (const uint8_t[8]){ 0x02, 0, 0x04 }, &ev);
	memcpy(before, prev, sizeof(prev));
	/* Short (B.1 is 8 bytes): refused, nothing changes. */
	memset(&ev, 0xa5, sizeof(ev));
	assert_int_equal(hid_boot_keyboard(prev, r, 7, &ev), -EMSGSIZE);
	assert_int_equal(ev.n, 0);
	assert_int_equal(hid_boot_keyboard(prev, r, 1, &ev), -EMSGSIZE);
	assert_int_equal(hid_boot_keyboard(prev, r, 0, &ev), -EMSGSIZE);
	assert_int_equal(ev.n, 0);
	assert_memory_equal(prev, before, sizeof(prev));
	assert_int_equal(hid_boot_keyboard(NULL, r, 8, &ev), -EINVAL);
	assert_int_equal(hid_boot_keyboard(prev, NULL, 8, &ev), -EINVAL);
	assert_int_equal(hid_boot_keyboard(prev, r, 8, NULL), -EINVAL);
	assert_memory_equal(prev, before, sizeof(prev));
	/* Longer: the first 8 bytes count, the 9th is not a key. */
	memset(&ev, 0xa5, sizeof(ev));
	assert_int_equal(hid_boot_keyboard(prev, nine, sizeof(nine), &ev), 0);
	expect(&ev, (const struct hid_boot_event[]){ RELEASE(0xe1, KEY_LEFTSHIFT) }, 2);
}

static void test_keycode(void **state)
{
	(void)state;
	/* HUT 10: 0 is "no event", 1-3 errors: no key. */
	assert_int_equal(hid_boot_keycode(0x00), 0);
	assert_int_equal(hid_boot_keycode(0x01), 0);
	assert_int_equal(hid_boot_keycode(0x02), 0);
	assert_int_equal(hid_boot_keycode(0x03), 0);
	assert_int_equal(hid_boot_keycode(0x04), KEY_A);
	assert_int_equal(hid_boot_keycode(0x1d), KEY_Z);
	assert_int_equal(hid_boot_keycode(0x1e), KEY_1);
	assert_int_equal(hid_boot_keycode(0x27), KEY_0);
	assert_int_equal(hid_boot_keycode(0x28), KEY_ENTER);
	assert_int_equal(hid_boot_keycode(0x64), KEY_102ND);
	assert_int_equal(hid_boot_keycode(0xe0), KEY_LEFTCTRL);
	assert_int_equal(hid_boot_keycode(0xe7), KEY_RIGHTMETA);
	assert_int_equal(hid_boot_keycode(0xff), 0);
}

/* ---- mouse ---- */

static void test_mouse_buttons(void **state)
{
	static const struct hid_boot_event left[] = { KEY(BTN_LEFT, 1) };
	static const struct hid_boot_event right_middle[] = {
		KEY(BTN_RIGHT, 1), KEY(BTN_MIDDLE, 1),
	};
	static const struct hid_boot_event left_up[] = { KEY(BTN_LEFT, 0) };
	static const struct hid_boot_event others_up[] = {
		KEY(BTN_RIGHT, 0), KEY(BTN_MIDDLE, 0),
	};
	uint8_t buttons = 0;
	struct hid_boot_events ev;

	(void)state;
	mouse(&buttons, (const uint8_t[]){ 0x01, 0, 0 }, 3, &ev);
	expect(&ev, left, N(left));
	mouse(&buttons, (const uint8_t[]){ 0x01, 0, 0 }, 3, &ev);
	expect(&ev, NULL, 0);
	mouse(&buttons, (const uint8_t[]){ 0x07, 0, 0 }, 3, &ev);
	expect(&ev, right_middle, N(right_middle));
	mouse(&buttons, (const uint8_t[]){ 0x06, 0, 0 }, 3, &ev);
	expect(&ev, left_up, N(left_up));
	/* Bits 3-7 are device-specific (B.2): no events. */
	mouse(&buttons, (const uint8_t[]){ 0xf8, 0, 0 }, 3, &ev);
	expect(&ev, others_up, N(others_up));
	mouse(&buttons, (const uint8_t[]){ 0x08, 0, 0 }, 3, &ev);
	expect(&ev, NULL, 0);
}

/* X, Y and the wheel are signed 8-bit displacements; 0 makes no event. */
static void test_mouse_motion(void **state)
{
	static const struct hid_boot_event xy[] = { REL(REL_X, 5), REL(REL_Y, -5) };
	static const struct hid_boot_event extremes[] = {
		REL(REL_X, -128), REL(REL_Y, 127), REL(REL_WHEEL, -1),
	};
	static const struct hid_boot_event y_only[] = { REL(REL_Y, -1) };
	static const struct hid_boot_event all[] = {
		KEY(BTN_LEFT, 1), REL(REL_X, 1), REL(REL_Y, 2), REL(REL_WHEEL, 3),
	};
	uint8_t buttons = 0;
	struct hid_boot_events ev;

	(void)state;
	mouse(&buttons, (const uint8_t[]){ 0, 0x05, 0xfb }, 3, &ev);
	expect(&ev, xy, N(xy));
	mouse(&buttons, (const uint8_t[]){ 0, 0x80, 0x7f, 0xff }, 4, &ev);
	expect(&ev, extremes, N(extremes));
	mouse(&buttons, (const uint8_t[]){ 0, 0, 0xff, 0 }, 4, &ev);
	expect(&ev, y_only, N(y_only));
	/* A 3-byte report has no wheel, whatever follows it in memory. */
	mouse(&buttons, (const uint8_t[]){ 0, 0, 0, 0x01 }, 3, &ev);
	expect(&ev, NULL, 0);
	/* Buttons first, then X, Y, the wheel; bytes past the 4th ignored. */
	mouse(&buttons, (const uint8_t[]){ 0x01, 1, 2, 3, 4, 5 }, 6, &ev);
	expect(&ev, all, N(all));
}

static void test_mouse_bad_length(void **state)
{
	const uint8_t r[4] = { 0x07, 1, 1, 1 };
	uint8_t buttons = 0x01;
	struct hid_boot_events ev;

	(void)state;
	memset(&ev, 0xa5, sizeof(ev));
	assert_int_equal(hid_boot_mouse(&buttons, r, 2, &ev), -EMSGSIZE);
	assert_int_equal(ev.n, 0);
	assert_int_equal(hid_boot_mouse(&buttons, r, 0, &ev), -EMSGSIZE);
	assert_int_equal(buttons, 0x01);
	assert_int_equal(hid_boot_mouse(NULL, r, 3, &ev), -EINVAL);
	assert_int_equal(hid_boot_mouse(&buttons, NULL, 3, &ev), -EINVAL);
	assert_int_equal(hid_boot_mouse(&buttons, r, 3, NULL), -EINVAL);
	assert_int_equal(buttons, 0x01);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kbd_press_release),
		cmocka_unit_test(test_kbd_modifiers),
		cmocka_unit_test(test_kbd_rollover),
		cmocka_unit_test(test_kbd_most_events),
		cmocka_unit_test(test_kbd_unmapped),
		cmocka_unit_test(test_kbd_bad_length),
		cmocka_unit_test(test_keycode),
		cmocka_unit_test(test_mouse_buttons),
		cmocka_unit_test(test_mouse_motion),
		cmocka_unit_test(test_mouse_bad_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
