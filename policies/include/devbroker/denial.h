/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file devbroker/denial.h
 * @brief The one record of a policy denial, PCI and USB alike, as
 * devbrokerd reads it from BPF ring buffers and reports it
 * (`devbrokerctl events`, event "denied").
 *
 * Two programs write it:
 *  - PCI: devbrokerd's own program (policies/src/denials.bpf.c) on the
 *    module's raw tracepoint dbk_policy_denied, which runs after every
 *    denial by a PCI policy hook (<linux/devbroker.h>, "Policy hooks");
 *    its ring buffer `dbk_denials` belongs to the daemon.
 *  - USB: the usb_requests policy, into its ring buffer `dbk_usb_denials`
 *    (<devbroker/usb-policy.h>).
 *
 * A reader skips a record of another size or bus, or a PCI record of
 * another DBK_POLICY_VERSION (a writer of another devbroker still loaded):
 * the layout grows only with a new size.
 */
#ifndef DEVBROKER_DENIAL_H
#define DEVBROKER_DENIAL_H

#include <linux/types.h>
#include <linux/devbroker.h>

#include <devbroker/usb-policy.h>

/** dbk_denial.bus */
#define DBK_DENIAL_PCI	1
#define DBK_DENIAL_USB	2

/** A denial. */
struct dbk_denial {
	__u32 bus;		/**< DBK_DENIAL_PCI or DBK_DENIAL_USB */
	__u32 pid;		/**< the driver refused: its process (thread group) id */
	__u32 tid;		/**< its thread */
	__u32 uid;		/**< the caller's real uid (initial user namespace) */
	__u64 cookie;		/**< the driver's policy cookie */
	union {
		struct dbk_policy_denied_ctx pci;	/**< DBK_DENIAL_PCI: device, op, errno */
		struct dbk_usb_denial usb;		/**< DBK_DENIAL_USB: request, reason */
	} u;
};

#endif /* DEVBROKER_DENIAL_H */
