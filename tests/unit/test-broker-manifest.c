/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbroker-core manifests: a file with every key parsed in full, the
 * shipped edu.conf, defaults, every class of error with its PATH:LINE,
 * the sys/etc directory merge, and template expansion.
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
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "broker.h"

static char tmpdir[512];

/* Write @content to TMPDIR/@file; returns the path (static buffer). */
static const char *write_file(const char *file, const char *content)
{
	static char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, file);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
	return path;
}

static int group_setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/dbk-manifest-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int group_teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

#define HEAD(name) "[Driver]\nName=" name "\nExec=/usr/libexec/devbroker/drivers/x --grant-fd 3\n" \
		   "User=nobody\n[Match]\nPCI=pci:v00001234d*\n"	/* lines 1-6 */
#define USBHEAD(name) "[Driver]\nName=" name "\nExec=/x\nUser=nobody\n[Match]\nUSBInterface=03/01/01\n" /* lines 1-6 */

static void test_full(void **state)
{
	struct dbk_manifest m;
	const struct dbk_rights *r = &m.rights;

	assert_int_equal(dbk_manifest_parse(BROKER_DATA "/full.conf", &m), 0);
	assert_true(m.valid);
	assert_string_equal(m.error, "");
	assert_string_equal(m.name, "full");
	assert_string_equal(m.path, BROKER_DATA "/full.conf");
	assert_int_equal(m.argc, 9);
	assert_string_equal(m.argv[0], "/usr/libexec/devbroker/drivers/full-driver");
	assert_string_equal(m.argv[1], "--grant-fd");
	assert_string_equal(m.argv[2], "3");
	assert_string_equal(m.argv[6], "full%i");
	assert_string_equal(m.argv[8], "%d");
	assert_null(m.argv[9]);
	assert_string_equal(m.user, "nobody");
	assert_string_equal(m.group, "nogroup");
	/* User=nobody, from when User= was required: a dynamic user all the same. */
	assert_true(m.dynamic_user);
	assert_int_equal(m.restart, DBK_RESTART_ALWAYS);
	assert_int_equal(m.restart_burst, 3);
	assert_int_equal(m.restart_window, 60);
	assert_int_equal(m.stop_timeout, 20);
	assert_string_equal(m.policy, "full-firewall");
	assert_int_equal(m.bus, DBK_BUS_PCI);
	assert_int_equal(m.nr_match, 3);
	assert_string_equal(m.match[0], "pci:v00001234d000011E8*");
	assert_string_equal(m.match[1], "pci:v00008086d000010D3sv*");
	assert_string_equal(m.match[2], "pci:v*d*sv*sd*bc01sc08i02");
	assert_int_equal(r->bars, 0x15);
	assert_int_equal(r->map_bars, 0x11);
	assert_int_equal(r->nr_mediated, 3);
	assert_int_equal(r->mediated[0].bar, 0);
	assert_int_equal(r->mediated[0].offset, 0x80);
	assert_int_equal(r->mediated[0].size, 0x20);
	assert_int_equal(r->mediated[1].bar, 2);
	assert_int_equal(r->mediated[1].offset, 0x1000);
	assert_int_equal(r->mediated[1].size, 4096);
	assert_int_equal(r->mediated[2].bar, 4);
	assert_int_equal(r->mediated[2].offset, 16);
	assert_int_equal(r->mediated[2].size, 8);
	assert_int_equal(r->irqs, DBK_IRQ_INTX | DBK_IRQ_MSI | DBK_IRQ_MSIX);
	assert_int_equal(r->vectors, 8);
	assert_int_equal(r->irq_rate, 1000);
	assert_int_equal(r->dma, 1 << 20);
	assert_int_equal(r->dma_bits, 40);
	assert_true(r->unsafe_dma);
	assert_true(r->config_write);
	assert_string_equal(m.frontend.cuse, "full%i");
	assert_int_equal(m.frontend.cuse_mode, 0660);
	assert_int_equal(m.frontend.cuse_uid, 0);
	assert_int_equal(m.frontend.cuse_gid, 0);
	assert_true(m.frontend.uinput);
	assert_string_equal(m.frontend.fuse_mount, "/run/devbroker/full/%d");
	dbk_manifest_free(&m);
	assert_int_equal(m.argc, 0);
	assert_null(m.argv[0]);
	dbk_manifest_free(&m);		/* twice is harmless */
}

static void test_edu(void **state)
{
	struct dbk_manifest m;

	assert_int_equal(dbk_manifest_parse(EDU_CONF, &m), 0);
	assert_true(m.valid);
	assert_string_equal(m.name, "edu");
	assert_string_equal(m.argv[0], EDU_DRIVER);	/* the configured libexecdir */
	assert_int_equal(m.argc, 3);		/* no fd numbers: libdev's hand-over */
	assert_string_equal(m.argv[2], "edu%i");
	assert_true(m.dynamic_user);	/* the shipped manifest: a user of its own */
	assert_int_equal(m.rights.bars, 1);
	assert_int_equal(m.rights.irqs, DBK_IRQ_MSI);
	assert_int_equal(m.rights.vectors, 1);
	assert_int_equal(m.rights.dma, 65536);
	assert_int_equal(m.rights.dma_bits, 28);
	assert_false(m.rights.unsafe_dma);	/* confined: the IOMMU or the guard */
	assert_string_equal(m.policy, "edu_dma_guard");
	assert_string_equal(m.rights.dma_guard, "edu_dma_guard");	/* and trusted as such */
	assert_false(m.rights.config_write);
	assert_string_equal(m.frontend.cuse, "edu%i");
	assert_int_equal(m.frontend.cuse_mode, 0666);
	dbk_manifest_free(&m);
}

/* The shipped nvme manifest: class match, MSI-X, the DMA it asks, never on sight. */
static void test_nvme(void **state)
{
	struct dbk_manifest m;

	(void)state;
	assert_int_equal(dbk_manifest_parse(NVME_CONF, &m), 0);
	assert_string_equal(m.error, "");
	assert_true(m.valid);
	assert_string_equal(m.name, "nvme");
	assert_string_equal(m.argv[0], NVME_DRIVER);
	assert_string_equal(m.match[0], "pci:v*d*sv*sd*bc01sc08i02");
	assert_int_equal(m.rights.bars, 1);
	assert_int_equal(m.rights.map_bars, 1);
	assert_int_equal(m.rights.irqs, DBK_IRQ_MSIX);
	assert_int_equal(m.rights.vectors, 3);
	assert_int_equal(m.rights.dma, 12u << 20);
	assert_int_equal(m.rights.dma_bits, 64);
	assert_true(m.rights.unsafe_dma);	/* no guard can check PRPs: limits.conf decides */
	assert_string_equal(m.policy, "nvme_firewall");	/* its register firewall, not a DMA guard */
	assert_string_equal(m.rights.dma_guard, "");
	assert_false(m.auto_bind);
	dbk_manifest_free(&m);
}

static void test_defaults(void **state)
{
	struct dbk_manifest m;
	const char *p = write_file("min.conf", HEAD("min") "[Rights]\nInterrupts=msi\n");

	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_true(m.valid);
	assert_int_equal(m.restart, DBK_RESTART_ON_FAILURE);
	assert_int_equal(m.restart_burst, 5);
	assert_int_equal(m.restart_window, 600);
	assert_int_equal(m.stop_timeout, 5);
	assert_string_equal(m.group, "");
	assert_string_equal(m.policy, "");
	assert_int_equal(m.rights.bars, 0);
	assert_int_equal(m.rights.vectors, 1);	/* MSI without Vectors= */
	assert_int_equal(m.rights.dma, 0);
	assert_false(m.rights.unsafe_dma);
	assert_string_equal(m.rights.dma_guard, "");
	assert_string_equal(m.frontend.cuse, "");
	assert_string_equal(m.frontend.fuse_mount, "");
	assert_false(m.frontend.uinput);
	assert_string_equal(m.frontend.block, "");
	assert_int_equal(m.frontend.block_queues, 1);
	assert_int_equal(m.frontend.block_timeout, 30);
	assert_int_equal(m.frontend.block_dead_conn, 60);
	assert_string_equal(m.frontend.network, "");
	assert_true(m.dynamic_user);
	dbk_manifest_free(&m);
}

/* The network frontend's key: a name with %i, the longest there may be. */
static void test_network(void **state)
{
	struct dbk_manifest m;
	const char *p = write_file("net.conf", HEAD("net") "[Frontend]\nNetwork=dbk%i\n");

	(void)state;
	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_string_equal(m.error, "");
	assert_string_equal(m.frontend.network, "dbk%i");
	assert_false(m.frontend.network_offloads);
	dbk_manifest_free(&m);
	p = write_file("net2.conf", HEAD("net2") "[Frontend]\nNetwork=e1000e_lan-0.%i\nNetworkOffloads=yes\n");
	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_string_equal(m.error, "");
	assert_string_equal(m.frontend.network, "e1000e_lan-0.%i");
	assert_true(m.frontend.network_offloads);
	dbk_manifest_free(&m);
}

/* The block frontend's keys: Block= alone takes the defaults; every key given. */
static void test_block(void **state)
{
	struct dbk_manifest m;
	const char *p = write_file("blk.conf", HEAD("blk") "[Frontend]\nBlock=ramdisk%i\n");

	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_string_equal(m.error, "");
	assert_string_equal(m.frontend.block, "ramdisk%i");
	assert_int_equal(m.frontend.block_queues, 1);
	assert_int_equal(m.frontend.block_timeout, 30);
	assert_int_equal(m.frontend.block_dead_conn, 60);
	dbk_manifest_free(&m);

	p = write_file("blk2.conf", HEAD("blk2") "[Frontend]\nBlock=disk-%d.%s\nBlockQueues=16\n"
		       "BlockTimeoutSec=5\nBlockDeadConnSec=0\nUInput=yes\n");
	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_string_equal(m.error, "");
	assert_string_equal(m.frontend.block, "disk-%d.%s");
	assert_int_equal(m.frontend.block_queues, DBK_BLOCK_QUEUES_MAX);
	assert_int_equal(m.frontend.block_timeout, 5);
	assert_int_equal(m.frontend.block_dead_conn, 0);
	assert_true(m.frontend.uinput);
	dbk_manifest_free(&m);

	p = write_file("blk3.conf", USBHEAD("blk3") "[Frontend]\nBlock=stick%s\nBlockQueues=0x2\n"
		       "BlockTimeoutSec=86400\nBlockDeadConnSec=86400\n");
	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_string_equal(m.error, "");
	assert_int_equal(m.frontend.block_queues, 2);
	assert_int_equal(m.frontend.block_timeout, 86400);
	assert_int_equal(m.frontend.block_dead_conn, 86400);
	dbk_manifest_free(&m);
}

/* Numeric user, mixed case booleans, hex sizes, an empty list value. */
static void test_usb(void **state)
{
	struct dbk_manifest m;
	const struct dbk_rights *r = &m.rights;
	const char *p = write_file("stick.conf",
		"[Driver]\nName=stick\nExec=/usr/libexec/devbroker/drivers/usb-storage --serial %s\n"
		"User=nobody\nAutoBind=no\n"
		"[Match]\nUSBInterface=08/06/50\nUSBInterface=03\nUSBInterface=fe/01\n"
		"USBDevice=46f4:0001\nUSBDevice=0627:*\nUSB=usb:v*p*d*dc*dsc*dp*ic0Aisc00ip*in*\n"
		"[Rights]\nUSBRequests=standard class vendor\n"
		"USBDenyRequests=dfu-dnload 0x40:* 0xC0:0x05\nUSBDenyRequests=0x21:0x01 0x40:* 0x20/0xE0:1\n"
		"[Frontend]\nFUSEMount=/run/devbroker/usb-storage/%s\n");

	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_string_equal(m.error, "");
	assert_int_equal(m.bus, DBK_BUS_USB);
	assert_int_equal(m.nr_match, 6);
	assert_string_equal(m.match[0], "usb:v*p*d*dc*dsc*dp*ic08isc06ip50in*");
	assert_string_equal(m.match[1], "usb:v*p*d*dc*dsc*dp*ic03isc*ip*in*");
	assert_string_equal(m.match[2], "usb:v*p*d*dc*dsc*dp*icFEisc01ip*in*");
	assert_string_equal(m.match[3], "usb:v46F4p0001d*");
	assert_string_equal(m.match[4], "usb:v0627p*");
	assert_string_equal(m.match[5], "usb:v*p*d*dc*dsc*dp*ic0Aisc00ip*in*");
	assert_int_equal(r->usb_types, DBK_USB_STANDARD | DBK_USB_CLASS | DBK_USB_VENDOR);
	/* Duplicates dropped: dfu-dnload is 0x20/0xe0:0x01 (any recipient). */
	assert_int_equal(r->nr_usb_deny, 4);
	assert_int_equal(r->usb_deny[0].type_mask, 0xe0);
	assert_int_equal(r->usb_deny[0].type_val, 0x20);
	assert_int_equal(r->usb_deny[0].request, 0x01);
	assert_false(r->usb_deny[0].any_request);
	assert_int_equal(r->usb_deny[3].type_mask, 0xff);
	assert_int_equal(r->usb_deny[3].type_val, 0x21);
	assert_int_equal(r->usb_deny[3].request, 0x01);
	assert_int_equal(r->usb_deny[1].type_val, 0x40);
	assert_true(r->usb_deny[1].any_request);
	assert_int_equal(r->usb_deny[2].type_val, 0xc0);
	assert_int_equal(r->usb_deny[2].request, 0x05);
	assert_string_equal(m.frontend.fuse_mount, "/run/devbroker/usb-storage/%s");
	assert_false(m.auto_bind);
	dbk_manifest_free(&m);

	/* Without USBRequests=: standard and class requests, never vendor ones. */
	p = write_file("kbd.conf", "[Driver]\nName=kbd\nExec=/x\nUser=nobody\n"
			"[Match]\nUSBInterface=03/01/01\n[Frontend]\nUInput=yes\n");
	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_int_equal(m.bus, DBK_BUS_USB);
	assert_int_equal(m.rights.usb_types, DBK_USB_STANDARD | DBK_USB_CLASS);
	assert_int_equal(m.rights.nr_usb_deny, 0);
	assert_true(m.auto_bind);	/* the default */
	dbk_manifest_free(&m);

	/* USBRequests= empty: no control request at all. */
	p = write_file("none.conf", "[Driver]\nName=none\nExec=/x\nUser=nobody\n"
			"[Match]\nUSBDevice=1234:5678\n[Rights]\nUSBRequests=\n");
	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_int_equal(m.rights.usb_types, 0);
	dbk_manifest_free(&m);

	/* A PCI manifest has no USB rights. */
	assert_int_equal(dbk_manifest_parse(EDU_CONF, &m), 0);
	assert_int_equal(m.rights.usb_types, 0);
	dbk_manifest_free(&m);
}

/* Who the driver runs as: a user of its own unless DynamicUser=no names an account. */
static void test_dynamic_user(void **state)
{
	struct dbk_manifest m;
	const char *p = write_file("anon.conf", "[Driver]\nName=anon\nExec=/x\n[Match]\nPCI=pci:*\n");

	(void)state;
	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_true(m.valid);
	assert_true(m.dynamic_user);
	assert_string_equal(m.user, "");
	dbk_manifest_free(&m);
	p = write_file("static.conf", "[Driver]\nName=static\nExec=/x\nDynamicUser=no\nUser=4242\n"
		       "[Match]\nPCI=pci:*\n");
	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_true(m.valid);
	assert_false(m.dynamic_user);
	assert_string_equal(m.user, "4242");
	dbk_manifest_free(&m);
	p = write_file("legacy.conf", "[Driver]\nName=legacy\nExec=/x\nUser=nobody\nDynamicUser=yes\n"
		       "[Match]\nPCI=pci:*\n");
	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_true(m.valid);
	assert_true(m.dynamic_user);
	dbk_manifest_free(&m);
}

static void test_value_forms(void **state)
{
	struct dbk_manifest m;
	const char *p = write_file("forms.conf",
		"[Driver]\nName=forms\nExec=/x\nUser=4242\nGroup=4243\n"
		"[Match]\nClass=010000/ff0000\nClass=0x0c0030/0xfff0f0\nClass=80/80\n"
		"[Rights]\nBARs=\nDMA=0x10000\nDMABits=64\nUnsafeDMA=No\nConfigWrite=OFF\n"
		"Interrupts=MSI-X\nVectors=2048\nIRQRate=10000000\n"
		"[Frontend]\nCUSE=x-%d%%\nCUSEOwner=4242\nCUSEGroup=nogroup\nUInput=1\n");

	assert_int_equal(dbk_manifest_parse(p, &m), 0);
	assert_string_equal(m.error, "");
	assert_string_equal(m.user, "4242");
	assert_string_equal(m.group, "4243");
	assert_string_equal(m.match[0], "pci:v*d*sv*sd*bc01sc??i??");
	assert_string_equal(m.match[1], "pci:v*d*sv*sd*bc0Csc0?i3?");
	assert_string_equal(m.match[2], "pci:v*d*sv*sd*bc??sc??i[89ABCDEF]?");
	assert_int_equal(m.rights.bars, 0);
	assert_int_equal(m.rights.dma, 0x10000);
	assert_int_equal(m.rights.irqs, DBK_IRQ_MSIX);
	assert_int_equal(m.rights.vectors, 2048);
	assert_int_equal(m.rights.irq_rate, 10000000);
	assert_int_equal(m.frontend.cuse_uid, 4242);
	assert_int_equal(m.frontend.cuse_gid, 65534);
	assert_true(m.frontend.uinput);
	dbk_manifest_free(&m);
}

/* -------- errors -------- */

struct err_case {
	const char *name;	/* the test's name */
	const char *file;	/* file name in tmpdir */
	const char *content;
	unsigned int line;
	const char *msg;	/* a substring of the message */
};

static const struct err_case err_cases[] = {
	{ "bad number", "num.conf", HEAD("num") "[Driver]\nRestartBurst=five\n", 8,
	  "RestartBurst=five is not a number; write RestartBurst=5" },
	{ "number out of range", "range.conf", HEAD("range") "[Rights]\nVectors=2049\n", 8,
	  "Vectors=2049 is out of range; write a number from 0 to 2048" },
	{ "bad size", "size.conf", HEAD("size") "[Rights]\nDMA=64Q\n", 8,
	  "DMA=64Q is not a size" },
	{ "size too large", "big.conf", HEAD("big") "[Rights]\nDMA=65G\n", 8, "too large" },
	{ "unknown key", "key.conf", HEAD("key") "[Rights]\nBARs=0\nFrobnicate=1\n", 9,
	  "unknown key Frobnicate= in [Rights]; the keys of [Rights] are BARs= MapBARs=" },
	{ "key case", "kcase.conf", HEAD("kcase") "[Rights]\nbars=0\n", 8,
	  "unknown key bars= in [Rights]; write BARs=" },
	{ "key in the wrong section", "wsect.conf", HEAD("wsect") "Vectors=1\n", 7,
	  "Vectors= belongs in [Rights], not in [Match]" },
	{ "unknown section", "sect.conf", HEAD("sect") "\n[Hardware]\nBARs=0\n", 8,
	  "unknown section [Hardware]; the sections are [Driver], [Match], [Rights] and [Frontend]" },
	{ "empty unknown section", "esect.conf", HEAD("esect") "[Frontend]\nUInput=no\n[rights]\n", 9,
	  "unknown section [rights]; write [Rights]" },
	{ "key outside any section", "nosect.conf", "Name=nosect\n" HEAD("nosect"), 1,
	  "Name= is outside any section; put it under [Driver]" },
	{ "missing Name", "noname.conf",
	  "[Driver]\nExec=/x\nUser=nobody\n[Match]\nPCI=pci:*\n", 0, "missing Name= in [Driver]; add Name=" },
	{ "missing Exec", "noexec.conf",
	  "[Driver]\nName=noexec\nUser=nobody\n[Match]\nPCI=pci:*\n", 0, "missing Exec= in [Driver]; add Exec=/" },
	{ "DynamicUser=no without User", "nouser.conf",
	  "[Driver]\nName=nouser\nExec=/x\nDynamicUser=no\n[Match]\nPCI=pci:*\n", 4,
	  "DynamicUser=no without User=; add User=ACCOUNT (a dedicated account) or write DynamicUser=yes" },
	{ "DynamicUser=no, User=nobody", "nodyn.conf",
	  "[Driver]\nName=nodyn\nExec=/x\nDynamicUser=no\nUser=nobody\n[Match]\nPCI=pci:*\n", 5,
	  "User=nobody with DynamicUser=no: every nobody process could then take this driver's device" },
	{ "DynamicUser=yes beside User=", "dynuser.conf",
	  "[Driver]\nName=dynuser\nExec=/x\nDynamicUser=yes\nUser=4242\n[Match]\nPCI=pci:*\n", 5,
	  "User=4242 beside DynamicUser=yes: the driver gets a user of its own" },
	{ "no Match line", "nomatch.conf",
	  "[Driver]\nName=nomatch\nExec=/x\nUser=nobody\n[Match]\n", 0, "no [Match] line; add e.g. PCI=" },
	{ "User=root", "root.conf",
	  "[Driver]\nName=root\nExec=/x\nUser=root\n[Match]\nPCI=pci:*\n", 4,
	  "User=root: drivers never run as root; write an unprivileged user, e.g. User=ACCOUNT" },
	{ "User=0", "uid0.conf",
	  "[Driver]\nName=uid0\nExec=/x\nUser=0\n[Match]\nPCI=pci:*\n", 4, "never run as root" },
	{ "User=000", "uid00.conf",
	  "[Driver]\nName=uid00\nExec=/x\nUser=000\n[Match]\nPCI=pci:*\n", 4, "never run as root" },
	{ "Group=root", "groot.conf", HEAD("groot") "[Driver]\nGroup=root\n", 8,
	  "Group=root: drivers never run as root" },
	{ "bad user name", "baduser.conf",
	  "[Driver]\nName=baduser\nExec=/x\nUser=no body\n[Match]\nPCI=pci:*\n", 4,
	  "User=no body is not a valid user name or number" },
	{ "MapBARs not a subset", "subset.conf", HEAD("subset") "[Rights]\nMapBARs=0 3\nBARs=0 2\n", 8,
	  "MapBARs=0 3 is not a subset of BARs=0 2" },
	{ "bad BAR index", "bar6.conf", HEAD("bar6") "[Rights]\nBARs=0 6\n", 8,
	  "BARs=: '6' is not a BAR index; write indexes from 0 to 5" },
	{ "bad Mediated syntax", "med.conf", HEAD("med") "[Rights]\nBARs=0\nMediated=0x80+0x20\n", 9,
	  "Mediated=0x80+0x20: write BAR:OFFSET+SIZE ranges, e.g. Mediated=0:0x80+0x20" },
	{ "Mediated without size", "med2.conf", HEAD("med2") "[Rights]\nBARs=0\nMediated=0:0x80\n", 9,
	  "write BAR:OFFSET+SIZE" },
	{ "Mediated empty range", "med3.conf", HEAD("med3") "[Rights]\nBARs=0\nMediated=0:0x80+0\n", 9,
	  "is empty or wraps" },
	{ "Mediated BAR not granted", "med4.conf", HEAD("med4") "[Rights]\nBARs=0\nMediated=2:0+4\n", 9,
	  "Mediated= range in BAR 2, which BARs= does not grant; add 2 to BARs=" },
	{ "too many Mediated ranges", "med5.conf", HEAD("med5") "[Rights]\nBARs=0\n"
	  "Mediated=0:0+1 0:1+1 0:2+1 0:3+1 0:4+1 0:5+1 0:6+1 0:7+1\n"
	  "Mediated=0:8+1 0:9+1 0:10+1 0:11+1 0:12+1 0:13+1 0:14+1 0:15+1\n"
	  "Mediated=0:16+1\n", 11, "more than 16 Mediated= ranges" },
	{ "too many arguments", "args.conf",
	  "[Driver]\nName=args\nUser=nobody\nExec=/bin/x 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 "
	  "21 22 23 24 25 26 27 28 29 30 31 32\n[Match]\nPCI=pci:*\n", 4,
	  "Exec= has more than 32 words" },
	{ "relative Exec path", "rel.conf",
	  "[Driver]\nName=rel\nUser=nobody\nExec=edu-driver --grant-fd 3\n[Match]\nPCI=pci:*\n", 4,
	  "Exec=edu-driver: the program needs an absolute path, e.g. Exec=/usr/libexec/devbroker/drivers/edu-driver" },
	{ "quotes in Exec", "quote.conf",
	  "[Driver]\nName=quote\nUser=nobody\nExec=/bin/x \"a b\"\n[Match]\nPCI=pci:*\n", 4,
	  "Exec= does not support quotes" },
	{ "unknown specifier", "spec.conf",
	  "[Driver]\nName=spec\nUser=nobody\nExec=/bin/x --unit %u\n[Match]\nPCI=pci:*\n", 4,
	  "Exec=: unknown specifier %u; use %i (instance), %d (device id), %s (serial number) or %% (a %)" },
	{ "Name does not match the file", "other.conf", HEAD("edu"), 2,
	  "Name=edu does not match the file name other.conf; write Name=other or rename the file to edu.conf" },
	{ "bad Name", "Bad.conf", "[Driver]\nName=Bad\n", 2, "Name=Bad is not a valid name" },
	{ "not NAME.conf", "manifest.ini", HEAD("manifest"), 0,
	  "a manifest file is named NAME.conf, NAME being its Name=; rename it" },
	{ "duplicate key", "dup.conf", HEAD("dup") "[Driver]\nUser=nogroup\n", 8,
	  "duplicate User= (already set on line 4); set it once" },
	{ "syntax error", "syntax.conf", HEAD("syntax") "[Rights]\nthis line means nothing\n", 8,
	  "cannot parse this line; write [Section], KEY=VALUE, or a comment" },
	{ "unterminated section", "syn2.conf", HEAD("syn2") "[Rights\nBARs=0\n", 7, "cannot parse this line" },
	{ "earlier syntax error wins", "first1.conf", "[Driver]\nName first1\n" HEAD("first1") "Foo=1\n", 2,
	  "cannot parse this line" },
	{ "earlier key error wins", "first2.conf", "[Driver]\nFoo=1\n" HEAD("first2") "junk\n", 2,
	  "unknown key Foo=" },
	{ "bad boolean", "bool.conf", HEAD("bool") "[Rights]\nConfigWrite=maybe\n", 8,
	  "ConfigWrite=maybe is not a boolean; write ConfigWrite=yes or ConfigWrite=no" },
	{ "inline # comment", "hash.conf", HEAD("hash") "[Rights]\nDMA=64K # the quota\n", 8,
	  "DMA=64K # the quota is not a size; write bytes with an optional K, M or G suffix, e.g. DMA=64K (a # comment must be on a line of its own)" },
	{ "empty value", "empty.conf", HEAD("empty") "[Rights]\nDMA=\n", 8,
	  "DMA= is empty; write DMA=64K, or leave the line out" },
	{ "bad Restart", "restart.conf", HEAD("restart") "[Driver]\nRestart=sometimes\n", 8,
	  "Restart=sometimes is not a restart policy; write Restart=no, on-failure or always" },
	{ "bad interrupt type", "irq.conf", HEAD("irq") "[Rights]\nInterrupts=msi legacy\n", 8,
	  "unknown interrupt type 'legacy'; write any of intx msi msix" },
	{ "Vectors without MSI", "vec.conf", HEAD("vec") "[Rights]\nInterrupts=intx\nVectors=2\n", 9,
	  "Vectors=2 needs Interrupts=msi or msix" },
	{ "DMABits without DMA", "bits.conf", HEAD("bits") "[Rights]\nDMABits=32\n", 8,
	  "DMABits= without DMA=" },
	{ "DMABits out of range", "bits2.conf", HEAD("bits2") "[Rights]\nDMA=4K\nDMABits=16\n", 9,
	  "DMABits=16 is out of range; write a number from 24 to 64" },
	{ "UnsafeDMA without DMA", "unsafe.conf", HEAD("unsafe") "[Rights]\nUnsafeDMA=yes\n", 8,
	  "UnsafeDMA=yes without DMA=" },
	{ "DMAGuard without DMA", "guard1.conf", HEAD("guard1") "[Driver]\nPolicy=g\n[Rights]\nDMAGuard=g\n", 10,
	  "DMAGuard=g without DMA=" },
	{ "DMAGuard without Policy", "guard2.conf", HEAD("guard2") "[Rights]\nDMA=4K\nDMAGuard=edu_dma_guard\n", 9,
	  "DMAGuard=edu_dma_guard is not this manifest's Policy=(none); a DMA guard must be the policy it names: write Policy=edu_dma_guard" },
	{ "DMAGuard another policy", "guard3.conf", HEAD("guard3") "[Driver]\nPolicy=mine\n[Rights]\nDMA=4K\nDMAGuard=edu_dma_guard\n", 11,
	  "DMAGuard=edu_dma_guard is not this manifest's Policy=mine" },
	{ "DMAGuard not a name", "guard4.conf", HEAD("guard4") "[Rights]\nDMA=4K\nDMAGuard=a/b\n", 9,
	  "DMAGuard=" },
	{ "lower case modalias hex", "lower.conf",
	  "[Driver]\nName=lower\nExec=/x\nUser=nobody\n[Match]\nPCI=pci:v00001234d000011e8*\n", 6,
	  "modalias hex digits are upper case" },
	{ "not a modalias", "alias.conf",
	  "[Driver]\nName=alias\nExec=/x\nUser=nobody\n[Match]\nPCI=1234:11e8\n", 6,
	  "PCI=1234:11e8 is not a PCI modalias pattern" },
	{ "Class bits outside the mask", "cls.conf", HEAD("cls") "Class=0x0c0330/0xffff00\n", 7,
	  "Class=0x0c0330/0xffff00: the class has bits outside the mask; write Class=0x0c0300/0xffff00" },
	{ "bad Class", "cls2.conf", HEAD("cls2") "Class=serial\n", 7, "is not CLASS[/MASK] in hex" },
	{ "too many Match lines", "many.conf", HEAD("many")
	  "PCI=pci:1\nPCI=pci:2\nPCI=pci:3\nPCI=pci:4\nPCI=pci:5\nPCI=pci:6\nPCI=pci:7\nPCI=pci:8\n"
	  "PCI=pci:9\nPCI=pci:10\nPCI=pci:11\nPCI=pci:12\nPCI=pci:13\nPCI=pci:14\nPCI=pci:15\nPCI=pci:16\n",
	  22, "more than 16 [Match] lines" },
	{ "bad CUSE name", "cuse.conf", HEAD("cuse") "[Frontend]\nCUSE=dev/edu\n", 8,
	  "CUSE=dev/edu is not a device name" },
	{ "bad CUSEMode", "mode.conf", HEAD("mode") "[Frontend]\nCUSE=x\nCUSEMode=0888\n", 9,
	  "CUSEMode=0888 is not an octal permission mode" },
	{ "CUSEMode too wide", "mode2.conf", HEAD("mode2") "[Frontend]\nCUSE=x\nCUSEMode=04755\n", 9,
	  "not an octal permission mode" },
	{ "CUSEMode without CUSE", "mode3.conf", HEAD("mode3") "[Frontend]\nCUSEMode=0600\n", 8,
	  "CUSEMode= without CUSE=" },
	{ "unknown CUSEOwner", "owner.conf", HEAD("owner") "[Frontend]\nCUSE=x\nCUSEOwner=no-such-user-dbk\n", 9,
	  "CUSEOwner=no-such-user-dbk: no such user on this system" },
	{ "relative FUSEMount", "fuse.conf", HEAD("fuse") "[Frontend]\nFUSEMount=run/x\n", 8,
	  "FUSEMount=run/x: write an absolute path" },
	{ "FUSEMount with ..", "fuse2.conf", HEAD("fuse2") "[Frontend]\nFUSEMount=/run/../etc\n", 8,
	  "without .." },
	{ "line too long", "long.conf", HEAD("long") "[Driver]\nPolicy=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	  8, "line too long (at most 198 characters)" },
	{ "bad Policy", "pol.conf", HEAD("pol") "[Driver]\nPolicy=Edu Firewall\n", 8,
	  "Policy=Edu Firewall is not a valid name" },
	{ "PCI and USB matches mixed", "mixed.conf", HEAD("mixed") "USBInterface=03/01/01\n", 7,
	  "USBInterface= is a USB match but this manifest already matches PCI devices; a manifest drives one bus" },
	{ "USB and PCI matches mixed", "mixed2.conf", USBHEAD("mixed2") "PCI=pci:*\n", 7,
	  "PCI= is a PCI match but this manifest already matches USB devices" },
	{ "PCI right in a USB manifest", "usbbars.conf", USBHEAD("usbbars") "[Rights]\nBARs=0\n", 8,
	  "BARs= is a PCI right, and this manifest matches USB devices" },
	{ "USB right in a PCI manifest", "pciusb.conf", HEAD("pciusb") "[Rights]\nUSBRequests=vendor\n", 8,
	  "USBRequests= is a USB right, and this manifest matches PCI devices; remove it" },
	{ "bad USBInterface", "usbif.conf", USBHEAD("usbif") "USBInterface=3/1/1\n", 7,
	  "USBInterface=3/1/1 is not CLASS[/SUBCLASS[/PROTOCOL]] in hex; write e.g. USBInterface=03/01/01" },
	{ "USBInterface with four parts", "usbif2.conf", USBHEAD("usbif2") "USBInterface=03/01/01/00\n", 7,
	  "is not CLASS[/SUBCLASS[/PROTOCOL]]" },
	{ "USBInterface with a trailing slash", "usbif3.conf", USBHEAD("usbif3") "USBInterface=03/\n", 7,
	  "is not CLASS[/SUBCLASS[/PROTOCOL]]" },
	{ "bad USBDevice", "usbdev.conf", USBHEAD("usbdev") "USBDevice=627:1\n", 7,
	  "USBDevice=627:1 is not VENDOR:PRODUCT in hex; write e.g. USBDevice=0627:0001" },
	{ "USBDevice any vendor", "usbdev2.conf", USBHEAD("usbdev2") "USBDevice=*:0001\n", 7,
	  "is not VENDOR:PRODUCT" },
	{ "USB= not a modalias", "usbalias.conf", USBHEAD("usbalias") "USB=0627:0001\n", 7,
	  "USB=0627:0001 is not a USB interface modalias pattern" },
	{ "USB= lower case hex", "usblower.conf", USBHEAD("usblower") "USB=usb:v04f3p*\n", 7,
	  "modalias hex digits are upper case" },
	{ "unknown USB request type", "usbreq.conf", USBHEAD("usbreq") "[Rights]\nUSBRequests=standard firmware\n", 8,
	  "USBRequests=: unknown request type 'firmware'; write any of standard class vendor" },
	{ "bad USBDenyRequests", "usbdeny.conf", USBHEAD("usbdeny") "[Rights]\nUSBDenyRequests=0x21:0x100\n", 8,
	  "USBDenyRequests=: '0x21:0x100' is not a request; write bmRequestType[/MASK]:bRequest in hex (0x21:0x01, 0x20/0xe0:0x01), TYPE:* for any bRequest, or dfu-dnload" },
	{ "USBDenyRequests type outside its mask", "usbdeny4.conf", USBHEAD("usbdeny4") "[Rights]\nUSBDenyRequests=0x21/0xe0:0x01\n", 8,
	  "'0x21/0xe0:0x01' is not a request" },
	{ "USBDenyRequests zero mask", "usbdeny5.conf", USBHEAD("usbdeny5") "[Rights]\nUSBDenyRequests=0x00/0:*\n", 8,
	  "'0x00/0:*' is not a request" },
	{ "USBDenyRequests without a request", "usbdeny2.conf", USBHEAD("usbdeny2") "[Rights]\nUSBDenyRequests=0x21\n", 8,
	  "'0x21' is not a request" },
	{ "too many USBDenyRequests", "usbdeny3.conf", USBHEAD("usbdeny3") "[Rights]\n"
	  "USBDenyRequests=0x40:1 0x40:2 0x40:3 0x40:4 0x40:5 0x40:6 0x40:7 0x40:8 0x40:9\n"
	  "USBDenyRequests=0x40:10 0x40:11 0x40:12 0x40:13 0x40:14 0x40:15 0x40:16 0x40:17\n", 9,
	  "more than 16 refused requests" },
	{ "Block= with a slash", "blks.conf", HEAD("blks") "[Frontend]\nBlock=disk/0\n", 8,
	  "Block=disk/0 is not a disk name; write a name without '/', e.g. Block=ramdisk%i" },
	{ "Block= dot dot", "blkd.conf", HEAD("blkd") "[Frontend]\nBlock=..\n", 8,
	  "Block=.. is not a disk name" },
	{ "Block= leading dash", "blkm.conf", HEAD("blkm") "[Frontend]\nBlock=-x\n", 8,
	  "Block=-x is not a disk name" },
	{ "Block= empty", "blke.conf", HEAD("blke") "[Frontend]\nBlock=\n", 8, "Block=" },
	{ "Block= unknown specifier", "blkt.conf", HEAD("blkt") "[Frontend]\nBlock=disk%x\n", 8,
	  "%x" },
	{ "BlockQueues=0", "blkq0.conf", HEAD("blkq0") "[Frontend]\nBlock=d\nBlockQueues=0\n", 9,
	  "BlockQueues=0 is out of range; write a number from 1 to 16" },
	{ "BlockQueues=17", "blkq17.conf", HEAD("blkq17") "[Frontend]\nBlock=d\nBlockQueues=17\n", 9,
	  "BlockQueues=17 is out of range; write a number from 1 to 16" },
	{ "BlockQueues not a number", "blkqn.conf", HEAD("blkqn") "[Frontend]\nBlock=d\nBlockQueues=two\n", 9,
	  "BlockQueues=two is not a number; write BlockQueues=1" },
	{ "BlockTimeoutSec=0", "blkt0.conf", HEAD("blkt0") "[Frontend]\nBlock=d\nBlockTimeoutSec=0\n", 9,
	  "BlockTimeoutSec=0 is out of range; write a number from 1 to 86400" },
	{ "BlockDeadConnSec too large", "blkdc.conf", HEAD("blkdc") "[Frontend]\nBlock=d\nBlockDeadConnSec=86401\n", 9,
	  "BlockDeadConnSec=86401 is out of range; write a number from 0 to 86400" },
	{ "BlockDeadConnSec negative", "blkdn.conf", HEAD("blkdn") "[Frontend]\nBlock=d\nBlockDeadConnSec=-1\n", 9,
	  "BlockDeadConnSec=-1" },
	{ "BlockQueues without Block", "blknob.conf", HEAD("blknob") "[Frontend]\nBlockQueues=2\n", 8,
	  "BlockQueues= without Block=; add Block=NAME%i or remove BlockQueues=" },
	{ "BlockTimeoutSec without Block", "blknot.conf", HEAD("blknot") "[Frontend]\nCUSE=x\nBlockTimeoutSec=2\n", 9,
	  "BlockTimeoutSec= without Block=" },
	{ "BlockDeadConnSec without Block", "blknod.conf", HEAD("blknod") "[Frontend]\nBlockDeadConnSec=2\n", 8,
	  "BlockDeadConnSec= without Block=" },
	{ "Block key in another section", "blksec.conf", HEAD("blksec") "[Rights]\nBlock=d\n", 8,
	  "Block" },
	{ "NetworkOffloads= without Network=", "neto.conf", HEAD("neto") "[Frontend]\nNetworkOffloads=yes\n", 8,
	  "NetworkOffloads= without Network=; add Network=NAME%i or remove NetworkOffloads=" },
	{ "NetworkOffloads= not a boolean", "netob.conf", HEAD("netob") "[Frontend]\nNetwork=dbk%i\nNetworkOffloads=maybe\n", 9,
	  "NetworkOffloads=maybe" },
	{ "Network= with a colon", "netc.conf", HEAD("netc") "[Frontend]\nNetwork=dbk:0\n", 8,
	  "Network=dbk:0 is not an interface name" },
	{ "Network= with a slash", "nets.conf", HEAD("nets") "[Frontend]\nNetwork=dbk/0\n", 8,
	  "Network=dbk/0 is not an interface name" },
	{ "Network= dot dot", "netd.conf", HEAD("netd") "[Frontend]\nNetwork=..\n", 8,
	  "Network=.. is not an interface name" },
	{ "Network= empty", "nete.conf", HEAD("nete") "[Frontend]\nNetwork=\n", 8, "Network=" },
	{ "Network= with the device id", "netdd.conf", HEAD("netdd") "[Frontend]\nNetwork=dbk%d\n", 8,
	  "Network=dbk%d: only %i (the instance) may be used in an interface name" },
	{ "Network= with the serial", "netss.conf", HEAD("netss") "[Frontend]\nNetwork=dbk%s\n", 8,
	  "only %i" },
	{ "Network= with a %", "netpp.conf", HEAD("netpp") "[Frontend]\nNetwork=dbk%%\n", 8,
	  "only %i" },
	{ "Network= too long", "netl.conf", HEAD("netl") "[Frontend]\nNetwork=abcdefghijklmno%i\n", 8,
	  "Network=abcdefghijklmno%i is too long for an interface name (15 characters" },
	{ "RestartBurst out of range", "burst.conf", HEAD("burst") "[Driver]\nRestartBurst=17\n", 8,
	  "RestartBurst=17 is out of range; write a number from 1 to 16" },
	{ "StopTimeoutSec out of range", "stoptmo.conf", HEAD("stoptmo") "[Driver]\nStopTimeoutSec=61\n", 8,
	  "StopTimeoutSec=61 is out of range; write a number from 0 to 60" },
};

static void check_error(void **state)
{
	const struct err_case *c = *state;
	struct dbk_manifest m;
	char prefix[PATH_MAX + 32];
	const char *p = write_file(c->file, c->content);
	int r;

	r = dbk_manifest_parse(p, &m);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", p, c->line);
	if (!strstr(m.error, c->msg) || strncmp(m.error, prefix, strlen(prefix)))
		fail_msg("%s: got \"%s\", want \"%s...%s...\"", c->name, m.error, prefix, c->msg);
	assert_false(m.valid);
	assert_int_equal(r, -EINVAL);
	dbk_manifest_free(&m);
}

static void test_unreadable(void **state)
{
	struct dbk_manifest m;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/absent.conf", tmpdir);
	assert_int_equal(dbk_manifest_parse(path, &m), -ENOENT);
	assert_false(m.valid);
	assert_string_equal(m.name, "absent");
	assert_true(strstr(m.error, ":0: cannot read the file: No such file or directory") != NULL);
	assert_int_equal(strncmp(m.error, path, strlen(path)), 0);

	/* a directory named like a manifest */
	snprintf(path, sizeof(path), "%s/dir.conf", tmpdir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(dbk_manifest_parse(path, &m), -EISDIR);
	assert_false(m.valid);
	assert_true(strstr(m.error, ":0: cannot read the file") != NULL);
	assert_int_equal(rmdir(path), 0);
}

/* The name of an invalid manifest is its file's, for listings. */
static void test_invalid_keeps_name(void **state)
{
	struct dbk_manifest m;
	const char *p = write_file("broken.conf", "[Driver]\nName=other\nExec=/x\n");

	assert_int_equal(dbk_manifest_parse(p, &m), -EINVAL);
	assert_string_equal(m.name, "broken");
	dbk_manifest_free(&m);
}

/* -------- directories -------- */

static const struct dbk_manifest *find(const struct dbk_manifest *ms, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(ms[i].name, name))
			return &ms[i];
	return NULL;
}

static void free_all(struct dbk_manifest *ms, int n)
{
	int i;

	for (i = 0; i < n; i++)
		dbk_manifest_free(&ms[i]);
	free(ms);
}

static void test_load_dirs(void **state)
{
	struct dbk_manifest *ms;
	const struct dbk_manifest *m;
	int n = dbk_manifest_load_dirs(BROKER_DATA "/sys", BROKER_DATA "/etc", &ms);

	assert_int_equal(n, 5);
	assert_non_null(ms);
	/* sorted by name, README skipped */
	assert_string_equal(ms[0].name, "alpha");
	assert_string_equal(ms[1].name, "bravo");
	assert_string_equal(ms[2].name, "charlie");
	assert_string_equal(ms[3].name, "delta");
	assert_string_equal(ms[4].name, "echo");
	/* an invalid file is kept, with its error, and loading went on */
	assert_false(ms[1].valid);
	assert_true(strstr(ms[1].error, "/sys/bravo.conf:4: Exec=bravo-driver: the program needs an absolute path") != NULL);
	assert_true(ms[0].valid && ms[2].valid && ms[3].valid && ms[4].valid);
	/* etc replaces sys */
	m = find(ms, n, "charlie");
	assert_string_equal(m->argv[1], "from-etc");
	assert_string_equal(m->path, BROKER_DATA "/etc/charlie.conf");
	assert_string_equal(ms[0].path, BROKER_DATA "/sys/alpha.conf");
	free_all(ms, n);
}

static void test_load_dirs_missing(void **state)
{
	struct dbk_manifest *ms = (void *)1;
	int n;

	n = dbk_manifest_load_dirs("/nonexistent/dbk/sys", "/nonexistent/dbk/etc", &ms);
	assert_int_equal(n, 0);
	free(ms);
	n = dbk_manifest_load_dirs(NULL, BROKER_DATA "/etc", &ms);
	assert_int_equal(n, 2);
	free_all(ms, n);
	n = dbk_manifest_load_dirs(BROKER_DATA "/sys", "/nonexistent/dbk/etc", &ms);
	assert_int_equal(n, 4);
	assert_string_equal(find(ms, n, "charlie")->argv[1], "from-sys");
	free_all(ms, n);
}

/* A /dev/null symlink in etc masks the package's manifest. */
static void test_load_dirs_mask(void **state)
{
	char etc[PATH_MAX], link[PATH_MAX + 16];
	struct dbk_manifest *ms;
	int n;

	snprintf(etc, sizeof(etc), "%s/etc", tmpdir);
	assert_int_equal(mkdir(etc, 0755), 0);
	snprintf(link, sizeof(link), "%s/delta.conf", etc);
	assert_int_equal(symlink("/dev/null", link), 0);
	n = dbk_manifest_load_dirs(BROKER_DATA "/sys", etc, &ms);
	assert_int_equal(n, 3);
	assert_null(find(ms, n, "delta"));
	assert_non_null(find(ms, n, "alpha"));
	free_all(ms, n);
	unlink(link);
	rmdir(etc);
}

/* -------- templates -------- */

static void test_template(void **state)
{
	char buf[64];

	assert_int_equal(dbk_template_expand("edu%i", 3, "0000:00:04.0", NULL, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "edu3");
	assert_int_equal(dbk_template_expand("/run/x/%d/%i%%", 12, "0000:00:04.0", NULL, buf, sizeof(buf)), 23);
	assert_string_equal(buf, "/run/x/0000:00:04.0/12%");
	assert_int_equal(dbk_template_expand("plain", 0, NULL, NULL, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "plain");
	assert_int_equal(dbk_template_expand("a%x", 0, NULL, NULL, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(dbk_template_expand("edu%i", 100, NULL, NULL, buf, 6), -ENAMETOOLONG);
	assert_int_equal(dbk_template_expand("edu%i", 10, NULL, NULL, buf, 6), 5);
	/* %s: the serial number, or the device id when the device has none. */
	assert_int_equal(dbk_template_expand("/run/s/%s/%i", 1, "1-2:1.0", "DBK0STICK", buf, sizeof(buf)), 18);
	assert_string_equal(buf, "/run/s/DBK0STICK/1");
	assert_int_equal(dbk_template_expand("/run/s/%s", 1, "1-2:1.0", "", buf, sizeof(buf)), 14);
	assert_string_equal(buf, "/run/s/1-2:1.0");
}

static void test_sanitize(void **state)
{
	char buf[16];

	dbk_sanitize_name("DBK0STICK", buf, sizeof(buf));
	assert_string_equal(buf, "DBK0STICK");
	/* A hostile serial number: no path separator, no parent directory, no spaces. */
	dbk_sanitize_name("../../etc/passwd", buf, sizeof(buf));
	assert_string_equal(buf, ".._.._etc_passw");
	dbk_sanitize_name("..", buf, sizeof(buf));
	assert_string_equal(buf, "__");
	dbk_sanitize_name(".", buf, sizeof(buf));
	assert_string_equal(buf, "_");
	dbk_sanitize_name("a b\n\xff=$", buf, sizeof(buf));
	assert_string_equal(buf, "a_b____");
	dbk_sanitize_name("", buf, sizeof(buf));
	assert_string_equal(buf, "");
	dbk_sanitize_name(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "");
	dbk_sanitize_name("-rf", buf, sizeof(buf));
	assert_string_equal(buf, "_rf");	/* never an option in Exec= */
	dbk_sanitize_name("68284-0000:00:03.0-1", buf, sizeof(buf));
	assert_string_equal(buf, "68284-0000_00_0");	/* cut at 15 */
}

int main(void)
{
	static const struct CMUnitTest fixed[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_edu),
		cmocka_unit_test(test_nvme),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_network),
		cmocka_unit_test(test_dynamic_user),
		cmocka_unit_test(test_value_forms),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_invalid_keeps_name),
		cmocka_unit_test(test_load_dirs),
		cmocka_unit_test(test_load_dirs_missing),
		cmocka_unit_test(test_load_dirs_mask),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_sanitize),
		cmocka_unit_test(test_usb),
	};
	enum { NF = sizeof(fixed) / sizeof(fixed[0]), NE = sizeof(err_cases) / sizeof(err_cases[0]) };
	struct CMUnitTest tests[NF + NE];
	size_t i;

	memcpy(tests, fixed, sizeof(fixed));
	for (i = 0; i < NE; i++)
		tests[NF + i] = (struct CMUnitTest){
			.name = err_cases[i].name,
			.test_func = check_error,
			.initial_state = (void *)&err_cases[i],
		};
	return _cmocka_run_group_tests("broker manifests", tests, NF + NE, group_setup, group_teardown);
}
