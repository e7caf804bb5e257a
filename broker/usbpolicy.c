// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The broker's side of the USB request policy: see usbpolicy.h and
 * docs/usb-request-policy.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/usbdevice_fs.h>

#include "broker.h"
#include "policyload.h"
#include "usbpolicy.h"

#define SECURITYFS	"/sys/kernel/security"
#define LSM_FILE	SECURITYFS "/lsm"

static void __attribute__((format(printf, 3, 4))) say(char *msg, size_t n, const char *fmt, ...)
{
	va_list ap;

	if (!msg || !n)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, n, fmt, ap);
	va_end(ap);
}

static int read_small(const char *path, char *buf, size_t n)
{
	ssize_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	len = read(fd, buf, n - 1);
	if (len < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	close(fd);
	buf[len] = 0;
	while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
		buf[--len] = 0;
	return 0;
}

int dbk_usb_lsm_active(char *msg, size_t msglen)
{
	char lsm[512], *tok, *save = NULL;
	int ret;

	ret = read_small(LSM_FILE, lsm, sizeof(lsm));
	if (ret == -ENOENT) {
		/* securityfs is not mounted (a minimal system): mount it where it belongs. */
		if (mount("securityfs", SECURITYFS, "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL) && errno != EBUSY) {
			ret = -errno;
			say(msg, msglen, "cannot mount securityfs on %s to see the active LSMs: %s",
			    SECURITYFS, strerror(-ret));
			return ret;
		}
		ret = read_small(LSM_FILE, lsm, sizeof(lsm));
	}
	if (ret) {
		say(msg, msglen, "%s: %s", LSM_FILE, strerror(-ret));
		return ret;
	}
	for (tok = strtok_r(lsm, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
		if (!strcmp(tok, "bpf"))
			return 1;
	say(msg, msglen, "the BPF LSM is not active (%s: %s): add bpf to the kernel's lsm= "
	    "list to enforce USB request rules", LSM_FILE, lsm);
	return 0;
}

/* DBK_USB_TASKS_PIN, only from private directories (as the policies' pins). */
static int tasks_map(void)
{
	return dbk_policy_map_open(DBK_USB_POLICY_NAME, DBK_USB_TASKS_MAP);
}

int dbk_usb_policy_ensure(const char *loader, const char *policy_dir, char *msg, size_t msglen)
{
	int ret, fd;

	ret = dbk_usb_lsm_active(msg, msglen);
	if (ret <= 0)
		return ret ? ret : -EOPNOTSUPP;
	/* Loaded already (by us, an earlier broker or the administrator)? */
	fd = tasks_map();
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	ret = dbk_policy_load(loader, policy_dir, DBK_USB_POLICY_NAME, msg, msglen);
	if (ret == -ENOENT || ret == -EACCES)
		say(msg, msglen, "the USB request policy %s/%s.bpf.o is missing (%s): USB drivers "
		    "cannot be restricted", policy_dir, DBK_USB_POLICY_NAME, strerror(-ret));
	if (ret)
		return ret;
	fd = tasks_map();
	if (fd < 0) {
		ret = fd;
		say(msg, msglen, "the USB request policy loaded, but %s is missing: %s",
		    DBK_USB_TASKS_PIN, strerror(-ret));
		return ret;
	}
	close(fd);
	return 0;
}

static int pidfd_of(pid_t pid)
{
	int fd = syscall(SYS_pidfd_open, pid, 0);

	return fd < 0 ? -errno : fd;
}

int dbk_usb_policy_mark_self(const struct dbk_usb_rules *r)
{
	struct dbk_usb_rules v = *r;
	int map, pidfd, ret = 0;

	if (v.nr_deny > DBK_USB_MAX_DENY)
		return -EINVAL;
	v.version = DBK_USB_RULES_VERSION;
	/* Who shares this mm now is unknown: trusted from the next exec on. */
	v.flags |= DBK_USB_F_MM_SHARED;
	map = tasks_map();
	if (map < 0)
		return map;
	pidfd = pidfd_of(getpid());
	if (pidfd < 0) {
		close(map);
		return pidfd;
	}
	if (bpf_map_update_elem(map, &pidfd, &v, BPF_NOEXIST))
		ret = -errno;
	close(pidfd);
	close(map);
	return ret;
}

int dbk_usb_policy_get(pid_t pid, struct dbk_usb_rules *r)
{
	int map, pidfd, ret = 0;

	map = tasks_map();
	if (map < 0)
		return map;
	pidfd = pidfd_of(pid);
	if (pidfd < 0) {
		close(map);
		return pidfd;
	}
	if (bpf_map_lookup_elem(map, &pidfd, r))
		ret = -errno;
	close(pidfd);
	close(map);
	return ret;
}

/* ------------------------------------------------------------ rules */

int dbk_usb_rules_from_rights(const struct dbk_rights *r, uint64_t cookie,
			      struct dbk_usb_rules *out)
{
	unsigned int i;

	/* Never a rule dropped: that would fail open. */
	if (r->nr_usb_deny > DBK_USB_MAX_DENY)
		return -E2BIG;
	memset(out, 0, sizeof(*out));
	out->version = DBK_USB_RULES_VERSION;
	out->allowed = ((r->usb_types & DBK_USB_STANDARD) ? DBK_USB_REQ_STANDARD : 0) |
		       ((r->usb_types & DBK_USB_CLASS) ? DBK_USB_REQ_CLASS : 0) |
		       ((r->usb_types & DBK_USB_VENDOR) ? DBK_USB_REQ_VENDOR : 0);
	out->cookie = cookie;
	for (i = 0; i < r->nr_usb_deny; i++) {
		out->deny[i].type_mask = r->usb_deny[i].type_mask;
		out->deny[i].type_value = r->usb_deny[i].type_val;
		out->deny[i].request = r->usb_deny[i].request;
		out->deny[i].flags = r->usb_deny[i].any_request ? DBK_USB_DENY_ANY_REQUEST : 0;
	}
	out->nr_deny = i;
	return 0;
}

const char *dbk_usb_reason_name(uint32_t reason)
{
	switch (reason) {
	case DBK_USB_R_IOCTL:	return "ioctl not allowed";
	case DBK_USB_R_TYPE:	return "type not allowed";
	case DBK_USB_R_RULE:	return "deny rule";
	case DBK_USB_R_RACY:	return "racy";
	case DBK_USB_R_FAULT:	return "unreadable argument";
	case DBK_USB_R_VERSION:	return "rules of another version";
	case DBK_USB_R_COMPAT:	return "32-bit ioctl";
	case DBK_USB_R_PTRACE:	return "memory access by another process";
	case DBK_USB_R_OPEN:	return "opening a USB device node";
	case DBK_USB_R_CLONE:	return "a memory-sharing clone from a vfork child";
	}
	return "unknown reason";
}

static const char *ioctl_name(uint32_t cmd)
{
	switch (cmd) {
	case USBDEVFS_CONTROL:		return "CONTROL";
	case USBDEVFS_SUBMITURB:	return "SUBMITURB";
	case USBDEVFS_RESET:		return "RESET";
	case USBDEVFS_SETCONFIGURATION:	return "SETCONFIGURATION";
	case USBDEVFS_IOCTL:		return "IOCTL";
	case USBDEVFS_DISCONNECT_CLAIM:	return "DISCONNECT_CLAIM";
	case USBDEVFS_CLAIM_PORT:	return "CLAIM_PORT";
	case USBDEVFS_RELEASE_PORT:	return "RELEASE_PORT";
	case USBDEVFS_HUB_PORTINFO:	return "HUB_PORTINFO";
	}
	return NULL;
}

int dbk_usb_denial_format(const struct dbk_denial *rec, char *buf, size_t n)
{
	const struct dbk_usb_denial *d = &rec->u.usb;
	static const char *const types[] = { "standard", "class", "vendor", "reserved" };
	const char *name = ioctl_name(d->cmd);
	char rule[32] = "";
	int m;

	if (d->reason == DBK_USB_R_RULE)
		snprintf(rule, sizeof(rule), " %u", d->rule);
	if (d->reason == DBK_USB_R_PTRACE)
		m = snprintf(buf, n, "pid %u: write access to its memory by pid %u refused",
			     rec->pid, d->other_pid);
	else if (d->reason == DBK_USB_R_OPEN)
		m = snprintf(buf, n, "pid %u: opening USB device node (usb minor %u) refused",
			     rec->pid, d->minor);
	else if (d->reason == DBK_USB_R_CLONE)
		m = snprintf(buf, n, "pid %u: a memory-sharing clone from a vfork child refused",
			     rec->pid);
	else if (d->has_setup)
		m = snprintf(buf, n, "pid %u: %s request 0x%02x/0x%02x wValue 0x%04x wIndex 0x%04x "
			     "wLength %u on usb minor %u: %s%s", rec->pid,
			     types[(d->bRequestType >> 5) & 3], d->bRequestType, d->bRequest,
			     d->wValue, d->wIndex, d->wLength, d->minor, dbk_usb_reason_name(d->reason),
			     rule);
	else if (name)
		m = snprintf(buf, n, "pid %u: USBDEVFS_%s on usb minor %u: %s", rec->pid, name,
			     d->minor, dbk_usb_reason_name(d->reason));
	else
		m = snprintf(buf, n, "pid %u: ioctl 0x%08x on usb minor %u: %s", rec->pid, d->cmd,
			     d->minor, dbk_usb_reason_name(d->reason));
	return m >= 0 && (size_t)m < n ? 0 : -ENOSPC;
}
