/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libbroker-core limits: defaults, limits.conf parsed in full, its errors,
 * and dbk_rights_intersect() field by field with the text of each cut.
 */
#include <errno.h>
#include <fcntl.h>
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

static void check_defaults(const struct dbk_limits *l)
{
	assert_int_equal(l->max.bars, 0x3f);
	assert_int_equal(l->max.map_bars, 0x3f);
	assert_int_equal(l->max.irqs, DBK_IRQ_INTX | DBK_IRQ_MSI | DBK_IRQ_MSIX);
	assert_int_equal(l->max.vectors, 32);
	assert_int_equal(l->max.irq_rate, 100000);
	assert_int_equal(l->max.dma, 16 << 20);
	assert_int_equal(l->max.dma_bits, 64);
	assert_false(l->max.unsafe_dma);
	assert_false(l->max.config_write);
	assert_int_equal(l->cuse_mode_mask, 0666);
	assert_true(l->auto_bind);
	assert_int_equal(l->nr_deny, 0);
	assert_int_equal(l->max.usb_types, DBK_USB_STANDARD | DBK_USB_CLASS | DBK_USB_VENDOR);
	assert_int_equal(l->max.nr_usb_deny, 0);
	assert_int_equal(l->nr_dma_guards, 1);
	assert_string_equal(l->dma_guards[0], "edu_dma_guard");
}

/* A broken file: the defaults, but no consent the file may have withdrawn. */
static void check_fallback(const struct dbk_limits *l)
{
	struct dbk_limits d;

	dbk_limits_load(NULL, &d, NULL, 0);
	d.nr_dma_guards = 0;
	memset(d.dma_guards, 0, sizeof(d.dma_guards));
	assert_false(l->max.unsafe_dma);
	assert_int_equal(l->nr_dma_guards, 0);
	assert_memory_equal(l, &d, sizeof(d));
}

static void test_defaults(void **state)
{
	struct dbk_limits l;
	char err[256] = "junk";

	memset(&l, 0xa5, sizeof(l));
	assert_int_equal(dbk_limits_load(NULL, &l, err, sizeof(err)), 0);
	check_defaults(&l);
	assert_string_equal(err, "");
	memset(&l, 0xa5, sizeof(l));
	assert_int_equal(dbk_limits_load("/nonexistent/limits.conf", &l, err, sizeof(err)), 0);
	check_defaults(&l);
	assert_string_equal(err, "");
}

static void test_file(void **state)
{
	struct dbk_limits l;
	char err[256];

	assert_int_equal(dbk_limits_load(BROKER_DATA "/limits.conf", &l, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(l.max.bars, 0x7);
	assert_int_equal(l.max.map_bars, 0x1);
	assert_int_equal(l.max.irqs, DBK_IRQ_MSI | DBK_IRQ_MSIX);
	assert_int_equal(l.max.vectors, 4);
	assert_int_equal(l.max.irq_rate, 5000);
	assert_int_equal(l.max.dma, 256 << 10);
	assert_int_equal(l.max.dma_bits, 32);
	assert_true(l.max.unsafe_dma);
	assert_false(l.max.config_write);
	assert_int_equal(l.cuse_mode_mask, 0660);
	assert_false(l.auto_bind);
	assert_int_equal(l.nr_deny, 3);
	assert_string_equal(l.deny_drivers[0], "evil");
	assert_string_equal(l.deny_drivers[1], "bad-driver");
	assert_string_equal(l.deny_drivers[2], "worse");
}

static void check_bad(const char *content, unsigned int line, const char *msg)
{
	char path[] = "/tmp/dbk-limits-XXXXXX", prefix[64], err[256];
	struct dbk_limits l;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	assert_int_equal(dbk_limits_load(path, &l, err, sizeof(err)), -EINVAL);
	unlink(path);
	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	if (strncmp(err, prefix, strlen(prefix)) || !strstr(err, msg))
		fail_msg("got \"%s\", want \"%s...%s...\"", err, prefix, msg);
	check_fallback(&l);	/* never half a file, never the default consent */
}

static void test_errors(void **state)
{
	check_bad("[Limits]\nMaxDMA=lots\n", 2, "MaxDMA=lots is not a size");
	check_bad("[Limits]\nMaxVectors=4096\n", 2, "MaxVectors=4096 is out of range; write a number from 0 to 2048");
	check_bad("[Limits]\nAllowUnsafeDMA=perhaps\n", 2, "AllowUnsafeDMA=perhaps is not a boolean");
	check_bad("[Limits]\nMaxDMA=1M\nMaxDMA=2M\n", 3, "duplicate MaxDMA= (already set on line 2)");
	check_bad("[Limits]\nAutoBind=no\n", 2, "AutoBind= belongs in [Broker], not in [Limits]");
	check_bad("[Limits]\nMaxDMA=1M\n[Policy]\n", 3,
		  "unknown section [Policy]; the sections are [Limits] and [Broker]");
	check_bad("[Broker]\nDenyDrivers=ok Not/Ok\n", 2, "DenyDrivers=: 'Not/Ok' is not a driver name");
	check_bad("[Limits]\nCUSEModeMask=666\n\n[Limits]\nBARs=0 9\n", 5, "'9' is not a BAR index");
	check_bad("MaxDMA=1M\n", 1, "MaxDMA= is outside any section; put it under [Limits]");
	check_bad("[Limits]\nMaxDMABits=16\n", 2, "MaxDMABits=16 is out of range");
	check_bad("[Limits]\nUSBRequests=standard all\n", 2, "USBRequests=: unknown request type 'all'");
	check_bad("[Limits]\nUSBDenyRequests=dfu\n", 2, "USBDenyRequests=: 'dfu' is not a request");
	check_bad("[Limits]\nAllowDMAGuards=edu_dma_guard Bad/Guard\n", 2,
		  "AllowDMAGuards=: 'Bad/Guard' is not a policy name");
	/* R4-5: an error after AllowDMAGuards= (empty) never restores edu_dma_guard. */
	check_bad("[Limits]\nAllowDMAGuards=\nMaxDMA=bogus\n", 3, "MaxDMA=bogus is not a size");
	check_bad("[Limits]\nAllowUnsafeDMA=yes\nMaxDMA=bogus\n", 3, "MaxDMA=bogus is not a size");
	/* A duplicated AllowDMAGuards= is an error, not the last (or first) one winning. */
	check_bad("[Limits]\nAllowDMAGuards=\nAllowDMAGuards=edu_dma_guard\n", 3,
		  "duplicate AllowDMAGuards= (already set on line 2)");
	check_bad("[Limits]\nAllowDMAGuards=acme_guard\nAllowDMAGuards=\n", 3,
		  "duplicate AllowDMAGuards= (already set on line 2)");
}

static void write_conf(const char *path, const char *content)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(content, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* dbk_limits_update(): a reload keeps what it had on an error; a start takes the fallback. */
static void test_update(void **state)
{
	char path[] = "/tmp/dbk-limits-XXXXXX", err[256];
	struct dbk_limits l, before;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	write_conf(path, "[Limits]\nAllowDMAGuards=\nMaxDMA=1M\nAllowUnsafeDMA=yes\n");
	memset(&l, 0xa5, sizeof(l));
	assert_int_equal(dbk_limits_update(path, &l, false, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_int_equal(l.nr_dma_guards, 0);
	assert_int_equal(l.max.dma, 1 << 20);
	assert_true(l.max.unsafe_dma);
	memcpy(&before, &l, sizeof(l));

	/* SIGHUP on a broken file: nothing changes, not even the good keys before the error. */
	write_conf(path, "[Limits]\nAllowDMAGuards=\nMaxDMA=2M\nMaxDMA=bogus\n");
	assert_int_equal(dbk_limits_update(path, &l, true, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "duplicate MaxDMA="));
	assert_memory_equal(&l, &before, sizeof(l));
	write_conf(path, "[Limits]\nAllowDMAGuards=\nAllowDMAGuards=edu_dma_guard\n");
	assert_int_equal(dbk_limits_update(path, &l, true, err, sizeof(err)), -EINVAL);
	assert_memory_equal(&l, &before, sizeof(l));

	/* The same broken file at the start: the defaults, consent keys refused. */
	assert_int_equal(dbk_limits_update(path, &l, false, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "duplicate AllowDMAGuards="));
	check_fallback(&l);

	/* A good file on the next reload is taken whole. */
	write_conf(path, "[Limits]\nMaxDMA=4M\n");
	assert_int_equal(dbk_limits_update(path, &l, true, err, sizeof(err)), 0);
	assert_int_equal(l.max.dma, 4 << 20);
	assert_int_equal(l.nr_dma_guards, 1);
	assert_string_equal(l.dma_guards[0], "edu_dma_guard");

	/* A file gone on a reload: the documented defaults, as at the start. */
	unlink(path);
	assert_int_equal(dbk_limits_update(path, &l, true, err, sizeof(err)), 0);
	check_defaults(&l);
}

/* A manifest's DMAGuard= is kept only for a policy AllowDMAGuards= lists, and with DMA. */
static void test_dma_guards(void **state)
{
	char path[] = "/tmp/dbk-limits-XXXXXX", cuts[256], err[256];
	const char *content = "[Limits]\nAllowDMAGuards=acme_guard, edu_dma_guard\n";
	struct dbk_rights w = { .dma = 4096, .dma_guard = "edu_dma_guard" }, out;
	struct dbk_limits l;
	int fd;

	dbk_limits_load(NULL, &l, NULL, 0);
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 0);
	assert_string_equal(out.dma_guard, "edu_dma_guard");
	strcpy(w.dma_guard, "acme_guard");
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 1);
	assert_string_equal(cuts, "dma_guard acme_guard -> none\n");
	assert_string_equal(out.dma_guard, "");
	l.max.dma = 0;	/* no DMA left: no guard either */
	strcpy(w.dma_guard, "edu_dma_guard");
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 2);
	assert_string_equal(out.dma_guard, "");

	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	assert_int_equal(dbk_limits_load(path, &l, err, sizeof(err)), 0);
	assert_int_equal(l.nr_dma_guards, 2);
	strcpy(w.dma_guard, "acme_guard");
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 0);
	assert_string_equal(out.dma_guard, "acme_guard");
	/* Empty: the administrator trusts no policy as a guard. */
	fd = open(path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "[Limits]\nAllowDMAGuards=\n", 26), 26);
	close(fd);
	assert_int_equal(dbk_limits_load(path, &l, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(l.nr_dma_guards, 0);
	strcpy(w.dma_guard, "edu_dma_guard");
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 1);
	assert_string_equal(cuts, "dma_guard edu_dma_guard -> none\n");
}

/* The administrator bounds USB request types and adds refused requests. */
static void test_usb(void **state)
{
	char path[] = "/tmp/dbk-limits-XXXXXX", cuts[512], err[256];
	const char *content = "[Limits]\nUSBRequests=standard class\n"
			      "USBDenyRequests=dfu-dnload\nUSBDenyRequests=0xC0:*\n";
	struct dbk_rights w = { .usb_types = DBK_USB_ALL_TYPES }, out;
	struct dbk_limits l;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	close(fd);
	assert_int_equal(dbk_limits_load(path, &l, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(l.max.usb_types, DBK_USB_STANDARD | DBK_USB_CLASS);
	assert_int_equal(l.max.nr_usb_deny, 2);
	/* The manifest refuses dfu-dnload already: not added twice. */
	w.usb_deny[0] = (struct dbk_usb_deny){ .type_mask = 0xe0, .type_val = 0x20, .request = 0x01 };
	w.nr_usb_deny = 1;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 2);
	assert_string_equal(cuts, "usb_requests standard,class,vendor -> standard,class\n"
				  "usb_deny + 0xc0:*\n");
	assert_int_equal(out.usb_types, DBK_USB_STANDARD | DBK_USB_CLASS);
	assert_int_equal(out.nr_usb_deny, 2);
	assert_true(out.usb_deny[1].any_request);
	assert_int_equal(out.usb_deny[1].type_val, 0xc0);
	/* A PCI driver (no USB request types) gets no USB cut. */
	w = (struct dbk_rights){ 0 };
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 0);
	assert_int_equal(out.nr_usb_deny, 0);
	/* None left: "none". */
	w.usb_types = DBK_USB_VENDOR;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 1);
	assert_string_equal(cuts, "usb_requests vendor -> none\n");
}

/* Every USB driver is refused the standard requests that change the whole device. */
static void test_usb_builtin(void **state)
{
	struct dbk_rights r = { .usb_types = DBK_USB_ALL_TYPES };
	char text[32];
	unsigned int i;

	r.usb_deny[r.nr_usb_deny++] = (struct dbk_usb_deny){ .type_mask = 0x60, .request = 0x09 };
	assert_int_equal(dbk_usb_deny_builtin(&r), 0);
	assert_int_equal(r.nr_usb_deny, 4);	/* SET_CONFIGURATION was there: not twice */
	assert_int_equal(dbk_usb_deny_builtin(&r), 0);
	assert_int_equal(r.nr_usb_deny, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(r.usb_deny[i].type_val, 0x00);
		assert_false(r.usb_deny[i].any_request);
	}
	/* Any direction and recipient: firmware may ignore those bits. */
	assert_int_equal(r.usb_deny[1].request, 0x05);	/* SET_ADDRESS */
	assert_int_equal(r.usb_deny[1].type_mask, 0x60);
	assert_int_equal(r.usb_deny[2].request, 0x07);	/* SET_DESCRIPTOR */
	assert_int_equal(r.usb_deny[2].type_mask, 0x60);
	/* SET_FEATURE to the device only (to an endpoint it is HALT), either direction. */
	assert_int_equal(r.usb_deny[3].request, 0x03);
	assert_int_equal(r.usb_deny[3].type_mask, 0x7f);
	dbk_usb_deny_text(&r.usb_deny[3], text, sizeof(text));
	assert_string_equal(text, "0x00/0x7f:0x03");
	r.usb_deny[0] = (struct dbk_usb_deny){ .type_mask = 0xff, .type_val = 0x40, .any_request = true };
	dbk_usb_deny_text(&r.usb_deny[0], text, sizeof(text));
	assert_string_equal(text, "0x40:*");
	/* No room: an error, never a dropped rule. */
	r.nr_usb_deny = DBK_MAX_USB_DENY - 1;
	memset(r.usb_deny, 0x77, sizeof(r.usb_deny));
	assert_int_equal(dbk_usb_deny_builtin(&r), -E2BIG);
}

static void test_unreadable(void **state)
{
	struct dbk_limits l;
	char err[256];

	assert_int_equal(dbk_limits_load("/", &l, err, sizeof(err)), -EISDIR);
	assert_string_equal(err, "/:0: cannot read the file: Is a directory");
	check_fallback(&l);
}

/* -------- intersection -------- */

static struct dbk_rights want_all(void)
{
	struct dbk_rights w = {
		.bars = 0x3f, .map_bars = 0x05, .irqs = DBK_IRQ_INTX | DBK_IRQ_MSI | DBK_IRQ_MSIX,
		.vectors = 64, .irq_rate = 200000, .dma = 1 << 20, .dma_bits = 64,
		.unsafe_dma = true, .config_write = true,
		.nr_mediated = 2,
		.mediated = { { 0, 0x80, 0x20 }, { 5, 0, 8 } },
	};
	return w;
}

static void check_mediated(const struct dbk_rights *out, const struct dbk_rights *w)
{
	unsigned int i;

	assert_int_equal(out->nr_mediated, w->nr_mediated);
	for (i = 0; i < w->nr_mediated; i++) {
		assert_int_equal(out->mediated[i].bar, w->mediated[i].bar);
		assert_int_equal(out->mediated[i].offset, w->mediated[i].offset);
		assert_int_equal(out->mediated[i].size, w->mediated[i].size);
	}
}

static void test_within(void **state)
{
	struct dbk_rights w = want_all(), out;
	struct dbk_limits l;
	char cuts[256];

	dbk_limits_load(NULL, &l, NULL, 0);
	l.max.vectors = 64;
	l.max.irq_rate = 200000;
	l.max.unsafe_dma = true;
	l.max.config_write = true;
	l.max.dma = 1 << 20;
	strcpy(cuts, "stale");
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 0);
	assert_string_equal(cuts, "");
	assert_int_equal(out.bars, w.bars);
	assert_int_equal(out.map_bars, w.map_bars);
	assert_int_equal(out.irqs, w.irqs);
	assert_int_equal(out.vectors, w.vectors);
	assert_int_equal(out.irq_rate, w.irq_rate);
	assert_int_equal(out.dma, w.dma);
	assert_int_equal(out.dma_bits, w.dma_bits);
	assert_true(out.unsafe_dma);
	assert_true(out.config_write);
	check_mediated(&out, &w);
}

static void test_cuts(void **state)
{
	struct dbk_rights w = want_all(), out;
	struct dbk_limits l;
	char cuts[512];

	assert_int_equal(dbk_limits_load(BROKER_DATA "/limits.conf", &l, NULL, 0), 0);
	l.max.unsafe_dma = false;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 9);
	assert_string_equal(cuts,
			    "bars 0,1,2,3,4,5 -> 0,1,2\n"
			    "map_bars 0,2 -> 0\n"
			    "irqs intx,msi,msix -> msi,msix\n"
			    "vectors 64 -> 4\n"
			    "irq_rate 200000 -> 5000\n"
			    "dma 1048576 -> 262144\n"
			    "dma_bits 64 -> 32\n"
			    "unsafe_dma yes -> no\n"
			    "config_write yes -> no\n");
	assert_int_equal(out.bars, 0x7);
	assert_int_equal(out.map_bars, 0x1);
	assert_int_equal(out.irqs, DBK_IRQ_MSI | DBK_IRQ_MSIX);
	assert_int_equal(out.vectors, 4);
	assert_int_equal(out.irq_rate, 5000);
	assert_int_equal(out.dma, 262144);
	assert_int_equal(out.dma_bits, 32);
	assert_false(out.unsafe_dma);
	assert_false(out.config_write);
	/* mediated ranges are never cut, even on a BAR the limits took away */
	check_mediated(&out, &w);
	/* the want is untouched */
	assert_int_equal(w.bars, 0x3f);

	/* no buffer: still counted */
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, NULL, 0), 9);
	/* a short buffer: truncated, terminated */
	memset(cuts, 'x', sizeof(cuts));
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, 16), 9);
	assert_true(strlen(cuts) < 16);
	assert_int_equal(strncmp(cuts, "bars 0,1,2,3,4,", strlen(cuts)), 0);
}

static void test_examples(void **state)
{
	struct dbk_rights w = { 0 }, out;
	struct dbk_limits l;
	char cuts[256];

	dbk_limits_load(NULL, &l, NULL, 0);
	/* the brief's examples, one at a time */
	w.dma = 1 << 20;
	l.max.dma = 65536;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 1);
	assert_string_equal(cuts, "dma 1048576 -> 65536\n");

	dbk_limits_load(NULL, &l, NULL, 0);
	w = (struct dbk_rights){ .dma = 65536, .dma_bits = 28, .unsafe_dma = true };
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 1);
	assert_string_equal(cuts, "unsafe_dma yes -> no\n");
	assert_int_equal(out.dma, 65536);
	assert_int_equal(out.dma_bits, 28);

	w = (struct dbk_rights){ .irqs = DBK_IRQ_INTX | DBK_IRQ_MSI | DBK_IRQ_MSIX, .vectors = 1 };
	l.max.irqs = DBK_IRQ_MSI;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 1);
	assert_string_equal(cuts, "irqs intx,msi,msix -> msi\n");
	assert_int_equal(out.vectors, 1);
}

/* irq_rate 0 is the module's default, 100000, on both sides. */
static void test_irq_rate_default(void **state)
{
	struct dbk_rights w = { 0 }, out;
	struct dbk_limits l;
	char cuts[256];

	dbk_limits_load(NULL, &l, NULL, 0);
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 0);
	assert_int_equal(out.irq_rate, 0);
	w.irq_rate = 100000;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 0);
	assert_int_equal(out.irq_rate, 100000);
	w.irq_rate = 100001;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 1);
	assert_string_equal(cuts, "irq_rate 100001 -> 100000\n");
	w.irq_rate = 0;
	l.max.irq_rate = 1000;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 1);
	assert_string_equal(cuts, "irq_rate 100000 -> 1000\n");
	assert_int_equal(out.irq_rate, 1000);
	w.irq_rate = 500;
	l.max.irq_rate = 0;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 0);
	assert_int_equal(out.irq_rate, 500);
}

/* What the module would refuse goes with the right it depends on. */
static void test_consequences(void **state)
{
	struct dbk_rights w = { .irqs = DBK_IRQ_INTX | DBK_IRQ_MSI, .vectors = 2,
				.dma = 4096, .dma_bits = 28, .unsafe_dma = true,
				.bars = 0x3, .map_bars = 0x3 }, out;
	struct dbk_limits l;
	char cuts[256];

	dbk_limits_load(NULL, &l, NULL, 0);
	l.max.irqs = DBK_IRQ_INTX;
	l.max.dma = 0;
	l.max.unsafe_dma = true;
	l.max.bars = 0x1;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 6);
	assert_string_equal(cuts,
			    "bars 0,1 -> 0\n"
			    "map_bars 0,1 -> 0\n"
			    "irqs intx,msi -> intx\n"
			    "vectors 2 -> 0\n"
			    "dma 4096 -> 0\n"
			    "unsafe_dma yes -> no\n");
	assert_int_equal(out.vectors, 0);
	assert_int_equal(out.dma, 0);
	assert_int_equal(out.dma_bits, 0);
	assert_false(out.unsafe_dma);
	assert_int_equal(out.map_bars, 0x1);

	/* dma_bits 0 means 32 */
	w = (struct dbk_rights){ .dma = 4096 };
	l.max.dma = 1 << 20;
	l.max.dma_bits = 24;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 1);
	assert_string_equal(cuts, "dma_bits 32 -> 24\n");
	l.max.dma_bits = 32;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 0);
	assert_int_equal(out.dma_bits, 0);
	/* no interrupts at all */
	w = (struct dbk_rights){ .irqs = DBK_IRQ_MSIX, .vectors = 8 };
	l.max.irqs = 0;
	assert_int_equal(dbk_rights_intersect(&w, &l, &out, cuts, sizeof(cuts)), 2);
	assert_string_equal(cuts, "irqs msix -> none\nvectors 8 -> 0\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_update),
		cmocka_unit_test(test_dma_guards),
		cmocka_unit_test(test_unreadable),
		cmocka_unit_test(test_within),
		cmocka_unit_test(test_cuts),
		cmocka_unit_test(test_examples),
		cmocka_unit_test(test_irq_rate_default),
		cmocka_unit_test(test_consequences),
		cmocka_unit_test(test_usb),
		cmocka_unit_test(test_usb_builtin),
	};

	return cmocka_run_group_tests_name("broker limits", tests, NULL, NULL);
}
