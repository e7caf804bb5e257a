/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file devbroker/usb-policy.h
 * @brief The USB request policy (usb_requests.bpf.o): the rules a marked
 * driver process runs under, and the denial records it reports.
 *
 * Shared by the eBPF program (policies/src/usb_requests.bpf.c) and
 * userspace (broker/usbpolicy.c).  docs/usb-request-policy.md explains
 * the policy.  In short:
 *
 *  - A task is *marked* when the task-storage map `dbk_usb_tasks` holds a
 *    struct dbk_usb_rules for it.  The broker marks a driver in its forked
 *    child before exec: bpf_map_update_elem(map, &pidfd, &rules,
 *    BPF_NOEXIST), the key being a pidfd of the task.  Children inherit
 *    the mark (fork, clone, threads); it persists across exec.
 *  - A marked task's ioctls on USB device nodes (usbfs, char major 189)
 *    are limited to the usbfs calls a driver needs, and its control
 *    requests (USBDEVFS_CONTROL, and control URBs through
 *    USBDEVFS_SUBMITURB) must be of an allowed type and match no deny
 *    rule.  Refused: -EPERM, and a struct dbk_denial
 *    (<devbroker/denial.h>) in the ring buffer `dbk_usb_denials`.
 *
 * The maps are pinned by `dbk-policy load usb_requests usb_requests.bpf.o`
 * (DBK_POLICY_MAP_PIN of <devbroker/bpffs.h>).
 */
#ifndef DEVBROKER_USB_POLICY_H
#define DEVBROKER_USB_POLICY_H

#include <linux/types.h>

#include <devbroker/bpffs.h>

/** The layout of struct dbk_usb_rules; other versions are refused (fail closed). */
#define DBK_USB_RULES_VERSION	1

/** The policy's name for dbk-policy, and its pinned maps. */
#define DBK_USB_POLICY_NAME	"usb_requests"
#define DBK_USB_TASKS_MAP	"dbk_usb_tasks"
#define DBK_USB_DENIALS_MAP	"dbk_usb_denials"
#define DBK_USB_TASKS_PIN	DBK_POLICY_MAP_PIN(DBK_USB_POLICY_NAME, DBK_USB_TASKS_MAP)
#define DBK_USB_DENIALS_PIN	DBK_POLICY_MAP_PIN(DBK_USB_POLICY_NAME, DBK_USB_DENIALS_MAP)

/** Request types (bits 5-6 of bmRequestType) for dbk_usb_rules.allowed. */
#define DBK_USB_REQ_STANDARD	(1U << 0)	/**< type 0 */
#define DBK_USB_REQ_CLASS	(1U << 1)	/**< type 1 */
#define DBK_USB_REQ_VENDOR	(1U << 2)	/**< type 2 */
#define DBK_USB_REQ_ALL		(DBK_USB_REQ_STANDARD | DBK_USB_REQ_CLASS | DBK_USB_REQ_VENDOR)
/* Type 3 is reserved by the USB specification: always refused. */

/** The most deny rules a task can carry (a manifest's 16, limits.conf's 16, the broker's 4). */
#define DBK_USB_MAX_DENY	40

/** dbk_usb_deny_rule.flags: the rule matches every bRequest. */
#define DBK_USB_DENY_ANY_REQUEST	(1U << 0)

/**
 * One deny rule: a request is refused when
 * (bmRequestType & type_mask) == type_value and (the rule has
 * DBK_USB_DENY_ANY_REQUEST or bRequest == request).
 * E.g. DFU_DNLOAD exactly: { 0xff, 0x21, 0x01, 0 }; every class request
 * from host to device, any recipient, bRequest 1: { 0xe0, 0x20, 0x01, 0 }.
 */
struct dbk_usb_deny_rule {
	__u8 type_mask;
	__u8 type_value;
	__u8 request;
	__u8 flags;		/**< DBK_USB_DENY_* */
};

/**
 * dbk_usb_rules.flags.  DBK_USB_F_MM_SHARED is the policy's own state:
 * "another process may share this task's memory", so the argument of an
 * ioctl could change between the check and usbfs's copy, and every
 * request that needs checking is refused ("racy").  It is set when a
 * task is marked (dbk_usb_policy_mark_self() sets it: who shares the mm
 * at marking time is unknown) and by clone(CLONE_VM) without
 * CLONE_THREAD; exec (a new mm) clears it.
 */
#define DBK_USB_F_MM_SHARED	(1U << 0)

/** The value of `dbk_usb_tasks`: what one marked task may do. */
struct dbk_usb_rules {
	__u32 version;		/**< DBK_USB_RULES_VERSION */
	__u32 allowed;		/**< DBK_USB_REQ_* types allowed */
	__u32 nr_deny;		/**< valid entries of deny[] (<= DBK_USB_MAX_DENY) */
	__u32 flags;		/**< DBK_USB_F_* */
	__u64 cookie;		/**< names the driver in denial records */
	struct dbk_usb_deny_rule deny[DBK_USB_MAX_DENY];
};

/** Why a call was refused (dbk_usb_denial.reason). */
enum dbk_usb_reason {
	DBK_USB_R_IOCTL = 1,	/**< a usbfs ioctl outside the driver allowlist */
	DBK_USB_R_TYPE = 2,	/**< the request type is not allowed (or reserved) */
	DBK_USB_R_RULE = 3,	/**< a deny rule matched (dbk_usb_denial.rule) */
	DBK_USB_R_RACY = 4,	/**< the argument could change before usbfs reads it */
	DBK_USB_R_FAULT = 5,	/**< the argument could not be read */
	DBK_USB_R_VERSION = 6,	/**< the task's rules have another layout */
	DBK_USB_R_COMPAT = 7,	/**< a 32-bit (compat) ioctl on usbfs */
	DBK_USB_R_PTRACE = 8,	/**< another process tried to write the task's memory */
	DBK_USB_R_OPEN = 9,	/**< the task tried to open a USB device node (e.g. /proc/self/fd/N) */
	DBK_USB_R_CLONE = 10,	/**< a memory-sharing clone from a vfork child (refused: fork fails) */
};

/**
 * The USB part of a denial: the ring buffer `dbk_usb_denials` holds struct
 * dbk_denial records (<devbroker/denial.h>) with bus DBK_DENIAL_USB, whose
 * pid, tid and cookie are the marked task's and uid the caller's.
 */
struct dbk_usb_denial {
	__u32 cmd;		/**< the ioctl number (0 for DBK_USB_R_PTRACE) */
	__u32 reason;		/**< enum dbk_usb_reason */
	__u32 minor;		/**< the usbfs node's minor: (bus - 1) * 128 + devnum - 1 */
	__u32 other_pid;	/**< DBK_USB_R_PTRACE: the process that tried */
	__u8 bRequestType;	/**< the setup packet, if one was read */
	__u8 bRequest;
	__u16 wValue;
	__u16 wIndex;
	__u16 wLength;
	__u32 rule;		/**< DBK_USB_R_RULE: the index of the matching rule */
	__u32 has_setup;	/**< 1 if the setup packet fields are valid */
};

#endif /* DEVBROKER_USB_POLICY_H */
