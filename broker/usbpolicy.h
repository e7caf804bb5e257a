/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The broker's side of the USB request policy (policies/src/usb_requests.bpf.c,
 * docs/usb-request-policy.md): load it, mark a driver process with its
 * rules (from its rights: manifest and limits.conf), and read the
 * denials the policy reports.
 *
 * Functions return 0 (or a count) on success and a negative errno on
 * failure; those taking msg/msglen put a one-line explanation there.
 */
#ifndef DBK_USBPOLICY_H
#define DBK_USBPOLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <devbroker/denial.h>
#include <devbroker/usb-policy.h>

/*
 * Make sure the policy is loaded: the BPF LSM must be active (checked in
 * /sys/kernel/security/lsm; securityfs is mounted there if it is not
 * yet), since without it an attached LSM program never runs; then, unless
 * the policy is pinned already, `LOADER load usb_requests
 * POLICY_DIR/usb_requests.bpf.o`.  Fails closed: -EOPNOTSUPP without the
 * BPF LSM, -ENOENT without the object, -ENOEXEC if the loader failed.
 */
int dbk_usb_policy_ensure(const char *loader, const char *policy_dir, char *msg, size_t msglen);

/* Is the BPF LSM active?  1 yes, 0 no (msg says why), or a negative errno. */
int dbk_usb_lsm_active(char *msg, size_t msglen);

/*
 * Mark the calling process with @r: its usbfs ioctls are checked from now
 * on, in its children too, across exec.  Call it in the forked child,
 * before dropping privileges (it needs the pinned map, root-only) and
 * before the seccomp filter (which refuses bpf()).  The version is set
 * here, and DBK_USB_F_MM_SHARED: the mark is fully trusted after the
 * next exec (a new mm nobody shares).  -EEXIST if already marked.
 */
int dbk_usb_policy_mark_self(const struct dbk_usb_rules *r);

/* The rules process @pid is marked with: 0, -ENOENT if not marked, or a negative errno. */
int dbk_usb_policy_get(pid_t pid, struct dbk_usb_rules *r);

struct dbk_rights;
/*
 * The policy's rules for a driver with rights @r (its usb_types and
 * usb_deny, from the manifest and limits.conf) and cookie @cookie (names
 * it in denial records: dbk_policy_cookie() of the driver's name).
 * -E2BIG if they do not fit (never a rule dropped).
 */
int dbk_usb_rules_from_rights(const struct dbk_rights *r, uint64_t cookie,
			      struct dbk_usb_rules *out);

/*
 * A USB denial record (read with denials.h, from DBK_USB_DENIALS_PIN):
 * "pid 7: vendor request 0x40/0x01 wValue 0x0000 wIndex 0x0000 wLength 0
 * on usb minor 3: type not allowed".
 */
int dbk_usb_denial_format(const struct dbk_denial *d, char *buf, size_t n);
/* "ioctl", "type", "rule", "racy", ... */
const char *dbk_usb_reason_name(uint32_t reason);

#endif /* DBK_USBPOLICY_H */
