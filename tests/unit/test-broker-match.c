/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbroker-core matching: the kernel's modalias format, globs, class/mask,
 * the deny list, invalid manifests skipped, the first by name.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "broker.h"

/* QEMU's edu device, as /sys/bus/pci/devices/.../modalias shows it. */
static const struct dbk_devinfo edu = {
	.bus = DBK_BUS_PCI, .id = "0000:00:04.0",
	.modalias = "pci:v00001234d000011E8sv00001AF4sd00001100bc00scFFi00",
	.vendor = 0x1234, .device = 0x11e8, .subvendor = 0x1af4, .subdevice = 0x1100,
	.class_code = 0x00ff00,
};

static void test_modalias(void **state)
{
	struct dbk_devinfo d = edu;
	char buf[DBK_PATH_MAX];

	dbk_pci_modalias(&d, buf, sizeof(buf));
	assert_string_equal(buf, edu.modalias);
	d = (struct dbk_devinfo){ .vendor = 0x8086, .device = 0x10d3, .subvendor = 0xffff,
				  .subdevice = 0xabcd, .class_code = 0x0c0330 };
	dbk_pci_modalias(&d, buf, sizeof(buf));
	assert_string_equal(buf, "pci:v00008086d000010D3sv0000FFFFsd0000ABCDbc0Csc03i30");
	assert_int_equal(strlen(buf), 53);
	/* truncates, terminated */
	dbk_pci_modalias(&d, buf, 10);
	assert_string_equal(buf, "pci:v0000");
}

static struct dbk_manifest mk(const char *name, const char *glob)
{
	struct dbk_manifest m;

	memset(&m, 0, sizeof(m));
	snprintf(m.name, sizeof(m.name), "%s", name);
	m.valid = true;
	m.bus = DBK_BUS_PCI;
	if (glob) {
		snprintf(m.match[0], sizeof(m.match[0]), "%s", glob);
		m.nr_match = 1;
	}
	return m;
}

static void test_globs(void **state)
{
	struct dbk_manifest m = mk("edu", "pci:v00001234d000011E8*");
	struct dbk_devinfo d = edu;

	assert_true(dbk_manifest_matches(&m, &d));
	strcpy(m.match[0], "pci:v00001234d000011E9*");
	assert_false(dbk_manifest_matches(&m, &d));
	strcpy(m.match[1], "pci:v00001234d*sv00001AF4sd*bc00sc??i*");
	m.nr_match = 2;
	assert_true(dbk_manifest_matches(&m, &d));
	strcpy(m.match[1], "pci:v0000[0-9]234d000011[DE]8*");
	assert_true(dbk_manifest_matches(&m, &d));
	strcpy(m.match[1], "pci:v00001234d000011e8*");	/* hex is upper case */
	assert_false(dbk_manifest_matches(&m, &d));
	/* no modalias given: made from the IDs */
	strcpy(m.match[1], "pci:v00001234d000011E8sv00001AF4sd00001100bc00scFFi00");
	d.modalias[0] = '\0';
	assert_true(dbk_manifest_matches(&m, &d));
	/* another bus */
	d = edu;
	d.bus = DBK_BUS_USB;
	assert_false(dbk_manifest_matches(&m, &d));
	/* an invalid manifest matches nothing */
	d = edu;
	m.valid = false;
	assert_false(dbk_manifest_matches(&m, &d));
}

/* Class= lines, through the parser: they become globs. */
static void test_class(void **state)
{
	char path[] = "/tmp/dbk-match-XXXXXX", file[64];
	const char *content = "[Driver]\nName=cls\nExec=/x\nUser=nobody\n[Match]\n"
			      "Class=0x0c0330/0xffffff\nClass=0x010000/0xff0000\nClass=0x000080/0x0000f0\n";
	struct dbk_devinfo d = edu;
	struct dbk_manifest m;
	FILE *f;

	assert_non_null(mkdtemp(path));
	snprintf(file, sizeof(file), "%s/cls.conf", path);
	f = fopen(file, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	assert_int_equal(dbk_manifest_parse(file, &m), 0);
	unlink(file);
	rmdir(path);

	d.modalias[0] = '\0';
	d.class_code = 0x0c0330;		/* xHCI */
	assert_true(dbk_manifest_matches(&m, &d));
	d.class_code = 0x0c0320;		/* EHCI */
	assert_false(dbk_manifest_matches(&m, &d));
	d.class_code = 0x010802;		/* any mass storage */
	assert_true(dbk_manifest_matches(&m, &d));
	d.class_code = 0x020000;
	assert_false(dbk_manifest_matches(&m, &d));
	d.class_code = 0x05008f;		/* progif 0x8_ */
	assert_true(dbk_manifest_matches(&m, &d));
	d.class_code = 0x05007f;
	assert_false(dbk_manifest_matches(&m, &d));
	/* against a modalias given by the daemon, too */
	d.class_code = 0;
	strcpy(d.modalias, "pci:v00008086d00001E31sv00001028sd00000540bc0Csc03i30");
	assert_true(dbk_manifest_matches(&m, &d));
	dbk_manifest_free(&m);
}

static void test_match(void **state)
{
	struct dbk_manifest ms[5];
	struct dbk_limits l;
	const struct dbk_manifest *r;

	dbk_limits_load(NULL, &l, NULL, 0);
	/* not in name order on purpose */
	ms[0] = mk("zeta", "pci:v00001234*");
	ms[1] = mk("edu", "pci:v00001234d000011E8*");
	ms[2] = mk("beta", "pci:v00008086*");
	ms[3] = mk("alpha", "pci:v00001234d000011E8*");
	ms[4] = mk("aaa", "pci:*");
	ms[4].valid = false;	/* invalid: skipped */

	r = dbk_match(ms, 5, &l, &edu);
	assert_ptr_equal(r, &ms[3]);		/* alpha: first by name */
	strcpy(l.deny_drivers[l.nr_deny++], "alpha");
	r = dbk_match(ms, 5, &l, &edu);
	assert_ptr_equal(r, &ms[1]);		/* edu */
	strcpy(l.deny_drivers[l.nr_deny++], "edu");
	r = dbk_match(ms, 5, &l, &edu);
	assert_ptr_equal(r, &ms[0]);		/* zeta */
	strcpy(l.deny_drivers[l.nr_deny++], "zeta");
	assert_null(dbk_match(ms, 5, &l, &edu));
	/* no limits: nothing denied */
	assert_ptr_equal(dbk_match(ms, 5, NULL, &edu), &ms[3]);
	assert_null(dbk_match(ms, 0, NULL, &edu));
	assert_null(dbk_match(NULL, 0, NULL, &edu));
}

/*
 * USB: interface modaliases as the kernel writes them (QEMU's usb-kbd and
 * usb-storage, read from /sys/bus/usb/devices/.../modalias), and the
 * globs the manifest's USB keys become.
 */
static void test_usb(void **state)
{
	const struct dbk_usb_iface kbd_if = { .number = 0, .cls = 3, .subclass = 1, .protocol = 1 };
	const struct dbk_usb_iface msd_if = { .number = 0, .cls = 8, .subclass = 6, .protocol = 0x50 };
	const struct dbk_usb_iface net_if = { .number = 1, .cls = 0x0a, .subclass = 0, .protocol = 0 };
	struct dbk_devinfo kbd = { .bus = DBK_BUS_USB, .id = "1-1:1.0" };
	struct dbk_devinfo msd = { .bus = DBK_BUS_USB, .id = "2-3:1.0" };
	struct dbk_devinfo net = { .bus = DBK_BUS_USB, .id = "1-4.1:1.1" };
	struct dbk_manifest ms[4];
	struct dbk_limits l;

	dbk_usb_modalias(0x0627, 0x0001, 0x0000, 0, 0, 0, &kbd_if, kbd.modalias, sizeof(kbd.modalias));
	assert_string_equal(kbd.modalias, "usb:v0627p0001d0000dc00dsc00dp00ic03isc01ip01in00");
	dbk_usb_modalias(0x46f4, 0x0001, 0x0000, 0, 0, 0, &msd_if, msd.modalias, sizeof(msd.modalias));
	assert_string_equal(msd.modalias, "usb:v46F4p0001d0000dc00dsc00dp00ic08isc06ip50in00");
	dbk_usb_modalias(0x0525, 0xa4a2, 0x0000, 2, 0, 0, &net_if, net.modalias, sizeof(net.modalias));
	assert_string_equal(net.modalias, "usb:v0525pA4A2d0000dc02dsc00dp00ic0Aisc00ip00in01");

	dbk_limits_load(NULL, &l, NULL, 0);
	ms[0] = mk("usb-hid", "usb:v*p*d*dc*dsc*dp*ic03isc01ip01in*");	/* USBInterface=03/01/01 */
	ms[1] = mk("usb-storage", "usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*");
	ms[2] = mk("qemu-any", "usb:v0627p*");				/* USBDevice=0627:* */
	ms[3] = mk("pci-all", "*");					/* a PCI manifest never matches USB */
	ms[0].bus = ms[1].bus = ms[2].bus = DBK_BUS_USB;
	assert_true(dbk_manifest_matches(&ms[0], &kbd));
	assert_false(dbk_manifest_matches(&ms[0], &msd));
	assert_true(dbk_manifest_matches(&ms[1], &msd));
	assert_true(dbk_manifest_matches(&ms[2], &kbd));
	assert_false(dbk_manifest_matches(&ms[3], &kbd));
	assert_false(dbk_manifest_matches(&ms[0], &edu));	/* a USB manifest never matches PCI */
	assert_ptr_equal(dbk_match(ms, 4, &l, &kbd), &ms[2]);	/* qemu-any < usb-hid */
	assert_ptr_equal(dbk_match(ms, 4, &l, &msd), &ms[1]);
	assert_null(dbk_match(ms, 4, &l, &net));
	/* The interface number field cannot be confused with another: only "in" ends it. */
	ms[0] = mk("if1", "usb:v*p*d*dc*dsc*dp*ic*isc*ip*in01");
	ms[0].bus = DBK_BUS_USB;
	assert_true(dbk_manifest_matches(&ms[0], &net));
	assert_false(dbk_manifest_matches(&ms[0], &kbd));
}

/* A deny entry is a whole name, not a prefix. */
static void test_deny_exact(void **state)
{
	struct dbk_manifest ms[1] = { mk("edu", "pci:*") };
	struct dbk_limits l;

	dbk_limits_load(NULL, &l, NULL, 0);
	strcpy(l.deny_drivers[0], "ed");
	strcpy(l.deny_drivers[1], "edu2");
	l.nr_deny = 2;
	assert_ptr_equal(dbk_match(ms, 1, &l, &edu), &ms[0]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_modalias),
		cmocka_unit_test(test_globs),
		cmocka_unit_test(test_class),
		cmocka_unit_test(test_match),
		cmocka_unit_test(test_deny_exact),
		cmocka_unit_test(test_usb),
	};

	return cmocka_run_group_tests_name("broker matching", tests, NULL, NULL);
}
