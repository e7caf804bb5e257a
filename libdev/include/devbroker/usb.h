/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file usb.h
 * @brief A USB device on a brokered usbfs fd, driven with libusb.
 *
 * A userspace USB driver receives a usbfs fd, already restricted by
 * devbrokerd to the interfaces it was granted, and hands it to
 * dbk_usb_adopt_env(); it does its transfers with libusb.  This header
 * includes <libusb.h>: build with pkg-config's devbroker (which requires
 * libusb-1.0).
 *
 * The SDK's conventions: <devbroker/sdk.h>.  Example:
 * libdev/examples/usb-describe.c.
 */
#ifndef DEVBROKER_USB_H
#define DEVBROKER_USB_H

#include <stdint.h>
#include <libusb.h>
#include <devbroker/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/** @defgroup usb USB on a brokered fd
 *
 * devbrokerd hands a USB driver one usbfs fd (/dev/bus/usb/BBB/DDD,
 * opened by the broker), on which the kernel drivers of the granted
 * interfaces are already detached, those interfaces already claimed for
 * the fd, and which is restricted with USBDEVFS_DROP_PRIVILEGES to them:
 * the driver can neither claim another interface nor detach a kernel
 * driver, and it never opens a device node itself.  The broker hands
 * over the fd (DBK_HANDOVER_USB) and the granted interfaces' bit mask
 * (bit N: interface N; dbk_handover_usb_interfaces()).
 *
 * dbk_usb_adopt() wraps the fd in a libusb context of its own
 * (LIBUSB_OPTION_NO_DEVICE_DISCOVERY, libusb_wrap_sys_device()) and
 * claims the granted interfaces; the driver then does its transfers with
 * libusb on dbk_usb_get_handle().  Once the device is unplugged or the
 * broker revokes the interfaces, transfers fail with
 * LIBUSB_ERROR_NO_DEVICE (dbk_usb_errno(): -ENODEV); a transfer in flight
 * at a revocation may instead complete empty (dbk_usb_interface_claimed()).
 *
 * The raw USBDEVFS_RESET ioctl (and so libusb_reset_device()) is refused
 * in the sandbox: a reset would let the kernel driver take the interface
 * back.
 * @{ */

/** An adopted USB fd. Opaque. */
struct dbk_usb;

/**
 * Adopt a brokered usbfs fd.
 *
 * Creates a private libusb context with device discovery off, wraps
 * @p usb_fd with libusb_wrap_sys_device() and claims every interface in
 * @p interfaces (bit N: interface N) with libusb_claim_interface().
 * Claiming an interface the broker already claimed for the fd is a no-op.
 *
 * libusb 1.0.26 keeps LIBUSB_OPTION_NO_DEVICE_DISCOVERY process-wide: once
 * this is called, no libusb context of the process enumerates devices
 * (a brokered driver has none to enumerate).
 *
 * On success the object owns @p usb_fd (dbk_usb_free() closes it; libusb
 * itself never closes a wrapped fd).  On failure @p usb_fd is left open;
 * interfaces claimed before the failing one stay claimed by it.
 *
 * @param usb_fd an open usbfs device fd
 * @param interfaces the interfaces to claim; 0 claims none
 * @param[out] usbp the object; set only on success
 * @return 0, -EINVAL (negative fd, NULL @p usbp), -EBADF (@p usb_fd is
 *         not open), -ENOTTY (not a usbfs fd), -EACCES (an interface
 *         outside the fd's grant), -ENOENT (no such interface), -EBUSY
 *         (claimed by another fd or driver), -ENODEV (the device is gone),
 *         -ENOMEM, or another negative errno
 */
int dbk_usb_adopt(int usb_fd, uint32_t interfaces, struct dbk_usb **usbp);

/**
 * Adopt the usbfs fd devbrokerd handed over, claiming the interfaces it
 * was granted (<devbroker/handover.h>: DBK_HANDOVER_USB and
 * dbk_handover_usb_interfaces()).
 *
 * @param[out] usbp the object; set only on success
 * @return 0, -ENOENT (not started by devbrokerd, or no USB fd handed
 *         over), -EINVAL (NULL @p usbp, a malformed hand-over), -EBADF,
 *         or what dbk_usb_adopt() returns
 */
int dbk_usb_adopt_env(struct dbk_usb **usbp);

/**
 * Release the claimed interfaces, close the libusb handle and context,
 * and close the fd.
 *
 * @param usb the object, or NULL (then nothing happens)
 */
void dbk_usb_free(struct dbk_usb *usb);

/**
 * The libusb handle for transfers.  Owned by @p usb: do not close it.
 * @param usb the object @return the handle, or NULL if @p usb is NULL
 */
libusb_device_handle *dbk_usb_get_handle(const struct dbk_usb *usb);

/**
 * The private libusb context, for libusb_handle_events() and friends.
 * Owned by @p usb.
 * @param usb the object @return the context, or NULL if @p usb is NULL
 */
libusb_context *dbk_usb_get_context(const struct dbk_usb *usb);

/**
 * The interfaces claimed at adoption (bit N: interface N).
 * @param usb the object @return the mask, 0 if @p usb is NULL
 */
uint32_t dbk_usb_get_interfaces(const struct dbk_usb *usb);

/**
 * Does this fd still hold @p interface, or was it taken away?
 *
 * When devbrokerd revokes the interfaces (USBDEVFS_DISCONNECT on a fd of
 * its own), usbfs kills the fd's URBs with -ENOENT, which libusb
 * reports as a *completed* transfer of 0 bytes, not as
 * LIBUSB_ERROR_NO_DEVICE; and submitting another URB would quietly claim
 * the interface again.  A driver that gets an empty completion asks here
 * before it resubmits.
 *
 * The answer is usbfs's USBDEVFS_GETDRIVER, which does not claim anything:
 * held if the interface's driver is usbfs, taken away if it has none (a
 * revocation) or another one (a kernel driver bound after it).  usbfs
 * cannot say which of its open files holds a claim: under devbrokerd this
 * fd is the only one while the grant stands; once it is revoked, the
 * interface may be granted to another driver's fd, and 1 then means that
 * fd's claim (this fd's transfers fail: usbfs will not claim it back).
 *
 * @param usb the object
 * @param interface an interface claimed at adoption
 *        (dbk_usb_get_interfaces())
 * @return 1 if still held, 0 if taken away, -EINVAL (NULL @p usb,
 *         @p interface not claimed at adoption), -ENODEV (the device is
 *         gone), or another negative errno of the ioctl
 */
int dbk_usb_interface_claimed(const struct dbk_usb *usb, unsigned int interface);

/**
 * Map a libusb error code (enum libusb_error) to a negative errno, so that
 * drivers report errors the SDK's way: LIBUSB_ERROR_IO -EIO,
 * _INVALID_PARAM -EINVAL, _ACCESS -EACCES, _NO_DEVICE -ENODEV,
 * _NOT_FOUND -ENOENT, _BUSY -EBUSY, _TIMEOUT -ETIMEDOUT, _OVERFLOW
 * -EOVERFLOW, _PIPE -EPIPE, _INTERRUPTED -EINTR, _NO_MEM -ENOMEM,
 * _NOT_SUPPORTED -EOPNOTSUPP, anything else -EIO.  A value >= 0 is
 * returned as is.
 *
 * @param libusb_err a libusb return value
 * @return the value itself if >= 0, else a negative errno
 */
int dbk_usb_errno(int libusb_err);

/** @} */

#ifdef __cplusplus
}
#endif

#endif /* DEVBROKER_USB_H */
