/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * devbroker: forward a PCI device's MMIO, interrupts and DMA to an
 * unprivileged userspace driver, and revoke all of it at any moment.
 */
#ifndef _DEVBROKER_H
#define _DEVBROKER_H

#define DBK_DRIVER_NAME "devbroker"

#endif /* _DEVBROKER_H */
