// SPDX-License-Identifier: GPL-2.0-only
/*
 * usb_requests' rules on the host: the ioctl allowlist, the verdict on a
 * setup packet, and which mappings an argument may live in.  The kernel
 * parts (LSM hooks, task storage, bpf_find_vma) run in the VM test
 * (tests/vm/usb-policy.sh).
 */
#include "shim.h"
#define DBK_USB_HOST_TEST
#include "../../policies/src/usb_requests.bpf.c"

/* The 32-bit numbers (their structs are kernel-internal). */
struct ctrltransfer32 { __u8 t, r; __u16 v, i, l; __u32 timeout, data; };
struct bulktransfer32 { __u32 ep, len, timeout, data; };
struct urb32 { __u8 type, ep; __s32 status; __u32 flags, buffer; __s32 len, actual, start, npk, err;
	       __u32 signr, ctx; };
struct ioctl32 { __s32 ifno, code; __u32 data; };
struct discsignal32 { __u32 signr, context; };

static struct dbk_usb_rules rules(__u32 allowed)
{
	struct dbk_usb_rules r = { .version = DBK_USB_RULES_VERSION, .allowed = allowed };

	return r;
}

static void add(struct dbk_usb_rules *r, __u8 mask, __u8 value, __u8 req, __u8 flags)
{
	r->deny[r->nr_deny++] = (struct dbk_usb_deny_rule){ mask, value, req, flags };
}

static __u32 verdict(const struct dbk_usb_rules *r, __u8 type, __u8 req, __u32 *rule)
{
	__u32 dummy = 99;

	return dbk_usb_setup_verdict(r, type, req, rule ? rule : &dummy);
}

int main(void)
{
	static const struct { unsigned int cmd; const char *name; } plain[] = {
		{ USBDEVFS_BULK, "BULK" }, { USBDEVFS_RESETEP, "RESETEP" },
		{ USBDEVFS_SETINTERFACE, "SETINTERFACE" }, { USBDEVFS_GETDRIVER, "GETDRIVER" },
		{ USBDEVFS_DISCARDURB, "DISCARDURB" }, { USBDEVFS_REAPURB, "REAPURB" },
		{ USBDEVFS_REAPURBNDELAY, "REAPURBNDELAY" }, { USBDEVFS_DISCSIGNAL, "DISCSIGNAL" },
		{ USBDEVFS_CLAIMINTERFACE, "CLAIMINTERFACE" },
		{ USBDEVFS_RELEASEINTERFACE, "RELEASEINTERFACE" },
		{ USBDEVFS_CONNECTINFO, "CONNECTINFO" }, { USBDEVFS_CLEAR_HALT, "CLEAR_HALT" },
		{ USBDEVFS_GET_CAPABILITIES, "GET_CAPABILITIES" },
		{ USBDEVFS_ALLOC_STREAMS, "ALLOC_STREAMS" }, { USBDEVFS_FREE_STREAMS, "FREE_STREAMS" },
		{ USBDEVFS_DROP_PRIVILEGES, "DROP_PRIVILEGES" }, { USBDEVFS_GET_SPEED, "GET_SPEED" },
		{ USBDEVFS_FORBID_SUSPEND, "FORBID_SUSPEND" }, { USBDEVFS_ALLOW_SUSPEND, "ALLOW_SUSPEND" },
		{ USBDEVFS_WAIT_FOR_RESUME, "WAIT_FOR_RESUME" },
		{ USBDEVFS_CONNINFO_EX(0), "CONNINFO_EX(0)" }, { USBDEVFS_CONNINFO_EX(24), "CONNINFO_EX(24)" },
		{ USBDEVFS_CONNINFO_EX(4096), "CONNINFO_EX(4096)" },
		{ FIOCLEX, "FIOCLEX" }, { FIONCLEX, "FIONCLEX" }, { FIONBIO, "FIONBIO" },
		{ FIOASYNC, "FIOASYNC" },
	};
	static const struct { unsigned int cmd; const char *name; } refused[] = {
		{ USBDEVFS_RESET, "RESET" }, { USBDEVFS_SETCONFIGURATION, "SETCONFIGURATION" },
		{ USBDEVFS_IOCTL, "IOCTL" }, { USBDEVFS_HUB_PORTINFO, "HUB_PORTINFO" },
		{ USBDEVFS_DISCONNECT, "DISCONNECT" }, { USBDEVFS_CONNECT, "CONNECT" },
		{ USBDEVFS_DISCONNECT_CLAIM, "DISCONNECT_CLAIM" },
		{ USBDEVFS_CLAIM_PORT, "CLAIM_PORT" }, { USBDEVFS_RELEASE_PORT, "RELEASE_PORT" },
		{ _IOWR('U', 0, struct ctrltransfer32), "CONTROL32" },
		{ _IOWR('U', 2, struct bulktransfer32), "BULK32" },
		{ _IOR('U', 10, struct urb32), "SUBMITURB32" },
		{ USBDEVFS_REAPURB32, "REAPURB32" }, { USBDEVFS_REAPURBNDELAY32, "REAPURBNDELAY32" },
		{ _IOR('U', 14, struct discsignal32), "DISCSIGNAL32" },
		{ _IOWR('U', 18, struct ioctl32), "IOCTL32" },
		{ _IOC(_IOC_WRITE, 'U', 32, 8), "CONNINFO_EX with the wrong direction" },
		{ 0x5401, "TCGETS" }, { 0, "0" }, { 0xffffffff, "0xffffffff" },
	};
	struct dbk_usb_rules r;
	__u32 rule, i;

	for (i = 0; i < DBK_ARRAY_SIZE(plain); i++)
		CHECK(dbk_usb_ioctl_kind(plain[i].cmd) == DBK_USB_IOC_PLAIN, "ioctl %s allowed",
		      plain[i].name);
	CHECK(dbk_usb_ioctl_kind(USBDEVFS_CONTROL) == DBK_USB_IOC_CONTROL, "CONTROL is checked");
	CHECK(dbk_usb_ioctl_kind(USBDEVFS_SUBMITURB) == DBK_USB_IOC_SUBMITURB, "SUBMITURB is checked");
	for (i = 0; i < DBK_ARRAY_SIZE(refused); i++)
		CHECK(dbk_usb_ioctl_kind(refused[i].cmd) == DBK_USB_IOC_DENY, "ioctl %s refused",
		      refused[i].name);

	r = rules(DBK_USB_REQ_ALL);
	CHECK(!dbk_usb_rules_restrict(&r), "every type, no rule: nothing to check (no setup packet read)");
	r = rules(DBK_USB_REQ_STANDARD | DBK_USB_REQ_CLASS);
	CHECK(dbk_usb_rules_restrict(&r), "a type missing: control requests are checked");
	r = rules(DBK_USB_REQ_ALL);
	add(&r, 0xff, 0x21, 0x01, 0);
	CHECK(dbk_usb_rules_restrict(&r), "every type and one rule: checked");

	r = rules(DBK_USB_REQ_STANDARD | DBK_USB_REQ_CLASS);
	CHECK(verdict(&r, 0x80, 0x06, NULL) == 0, "standard class: GET_DESCRIPTOR 0x80/0x06");
	CHECK(verdict(&r, 0x00, 0x09, NULL) == 0, "standard class: SET_CONFIGURATION 0x00/0x09");
	CHECK(verdict(&r, 0x21, 0x0a, NULL) == 0, "standard class: SET_IDLE 0x21/0x0a");
	CHECK(verdict(&r, 0xa1, 0x01, NULL) == 0, "standard class: GET_REPORT 0xa1/0x01");
	CHECK(verdict(&r, 0x40, 0x01, NULL) == DBK_USB_R_TYPE, "standard class: vendor 0x40 refused");
	CHECK(verdict(&r, 0xc1, 0x00, NULL) == DBK_USB_R_TYPE, "standard class: vendor 0xc1 refused");
	r = rules(DBK_USB_REQ_ALL);
	CHECK(verdict(&r, 0x60, 0x00, NULL) == DBK_USB_R_TYPE, "every type: reserved 0x60 still refused");
	CHECK(verdict(&r, 0xff, 0xff, NULL) == DBK_USB_R_TYPE, "every type: reserved 0xff still refused");
	r = rules(0);
	CHECK(verdict(&r, 0x80, 0x06, NULL) == DBK_USB_R_TYPE, "no type: GET_DESCRIPTOR refused");
	r = rules(DBK_USB_REQ_VENDOR);
	CHECK(verdict(&r, 0x80, 0x06, NULL) == DBK_USB_R_TYPE, "vendor only: standard refused");
	CHECK(verdict(&r, 0xc0, 0x33, NULL) == 0, "vendor only: vendor 0xc0 allowed");

	/* DFU_DNLOAD exactly, as manifests spell dfu-dnload. */
	r = rules(DBK_USB_REQ_STANDARD | DBK_USB_REQ_CLASS);
	add(&r, 0xff, 0x21, 0x01, 0);
	CHECK(verdict(&r, 0x21, 0x01, &rule) == DBK_USB_R_RULE && rule == 0,
	      "deny 0x21:0x01: 0x21/0x01 refused by rule 0");
	CHECK(verdict(&r, 0x21, 0x0a, NULL) == 0, "deny 0x21:0x01: 0x21/0x0a allowed");
	CHECK(verdict(&r, 0xa1, 0x01, NULL) == 0, "deny 0x21:0x01: 0xa1/0x01 (IN) allowed");
	CHECK(verdict(&r, 0x22, 0x01, NULL) == 0, "deny 0x21:0x01: 0x22/0x01 (endpoint recipient) allowed");
	/* With a mask: class, host to device, any recipient. */
	r = rules(DBK_USB_REQ_STANDARD | DBK_USB_REQ_CLASS);
	add(&r, 0xe0, 0x20, 0x01, 0);
	CHECK(verdict(&r, 0x21, 0x01, NULL) == DBK_USB_R_RULE, "deny 0x20/0xe0:0x01: 0x21/0x01 refused");
	CHECK(verdict(&r, 0x22, 0x01, NULL) == DBK_USB_R_RULE, "deny 0x20/0xe0:0x01: 0x22/0x01 refused");
	CHECK(verdict(&r, 0x23, 0x01, NULL) == DBK_USB_R_RULE, "deny 0x20/0xe0:0x01: 0x23/0x01 refused");
	CHECK(verdict(&r, 0xa1, 0x01, NULL) == 0, "deny 0x20/0xe0:0x01: 0xa1/0x01 (IN) allowed");
	CHECK(verdict(&r, 0x00, 0x01, NULL) == 0, "deny 0x20/0xe0:0x01: standard 0x00/0x01 allowed");
	/* Any request; the first match is reported; rules past nr_deny do not count. */
	r = rules(DBK_USB_REQ_ALL);
	add(&r, 0xff, 0x41, 0x07, 0);
	add(&r, 0xff, 0x40, 0, DBK_USB_DENY_ANY_REQUEST);
	add(&r, 0xff, 0x40, 0x07, 0);
	CHECK(verdict(&r, 0x40, 0x07, &rule) == DBK_USB_R_RULE && rule == 1,
	      "deny 0x41:0x07 0x40:* 0x40:0x07: 0x40/0x07 refused by the first match, rule 1");
	CHECK(verdict(&r, 0x40, 0x00, NULL) == DBK_USB_R_RULE, "deny 0x40:*: 0x40/0x00 refused");
	CHECK(verdict(&r, 0xc0, 0x00, NULL) == 0, "deny 0x40:*: 0xc0/0x00 allowed");
	r.nr_deny = 1;
	CHECK(verdict(&r, 0x40, 0x00, NULL) == 0, "a rule past nr_deny is ignored");
	r = rules(DBK_USB_REQ_ALL);
	for (i = 0; i < DBK_USB_MAX_DENY; i++)
		add(&r, 0xff, 0x40, i, 0);
	CHECK(verdict(&r, 0x40, DBK_USB_MAX_DENY - 1, &rule) == DBK_USB_R_RULE &&
	      rule == DBK_USB_MAX_DENY - 1, "the last rule of a full table counts");
	r.nr_deny = 1000;
	CHECK(verdict(&r, 0x40, DBK_USB_MAX_DENY, NULL) == 0,
	      "a bogus nr_deny reads no rule past the table");

	/* Mappings: private anonymous only, covering the whole argument. */
	CHECK(dbk_usb_vma_ok(0x1000, 0x3000, 0x73, 0, 0, 0x1000, 0x1018),
	      "private anonymous rw mapping, argument inside: trusted");
	CHECK(dbk_usb_vma_ok(0x1000, 0x3000, 0x73, 0, 0, 0x2fe8, 0x3000),
	      "argument ending at the mapping's end: trusted");
	CHECK(!dbk_usb_vma_ok(0x1000, 0x3000, 0x73, 0, 0, 0x2ff0, 0x3008),
	      "argument crossing the mapping's end: not trusted");
	CHECK(!dbk_usb_vma_ok(0x1000, 0x3000, 0x73, 0, 0, 0x0ff8, 0x1010),
	      "argument starting below the mapping: not trusted");
	CHECK(!dbk_usb_vma_ok(0x1000, 0x3000, 0x73, 0, 0, 0x2000, 0x2000), "empty range: not trusted");
	CHECK(!dbk_usb_vma_ok(0x1000, 0x3000, 0x73, 1, 0, 0x1000, 0x1018),
	      "a file mapping (even private): not trusted");
	CHECK(!dbk_usb_vma_ok(0x1000, 0x3000, 0x73, 0, 1, 0x1000, 0x1018),
	      "a mapping with vm_ops (special, device): not trusted");
	{
		static const struct { unsigned long flag; const char *name; } bad[] = {
			{ DBK_VM_SHARED, "VM_SHARED" }, { DBK_VM_MAYSHARE, "VM_MAYSHARE" },
			{ DBK_VM_IO, "VM_IO" }, { DBK_VM_PFNMAP, "VM_PFNMAP" },
			{ DBK_VM_MIXEDMAP, "VM_MIXEDMAP" }, { DBK_VM_UFFD_MISSING, "VM_UFFD_MISSING" },
			{ DBK_VM_UFFD_WP, "VM_UFFD_WP" }, { DBK_VM_UFFD_MINOR, "VM_UFFD_MINOR" },
		};

		for (i = 0; i < DBK_ARRAY_SIZE(bad); i++)
			CHECK(!dbk_usb_vma_ok(0x1000, 0x3000, 0x73 | bad[i].flag, 0, 0, 0x1000, 0x1018),
			      "%s: not trusted", bad[i].name);
	}
	return tap_done();
}
