/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libdev: USB on a usbfs fd that devbrokerd opened, detached and restricted
 * (USBDEVFS_DISCONNECT_CLAIM, then USBDEVFS_DROP_PRIVILEGES) for us.
 *
 * The driver never opens a device node: libusb gets the fd through
 * libusb_wrap_sys_device() in a context of its own with device discovery
 * off (the sandbox has no /dev/bus/usb and no netlink to enumerate with).
 *
 * Claiming: the broker has already claimed the granted interfaces for this
 * open file, so USBDEVFS_CLAIMINTERFACE on them is a no-op that succeeds;
 * on any other interface the kernel answers EACCES.  libusb 1.0.26 reports
 * that as LIBUSB_ERROR_OTHER (it only maps ENOENT, EBUSY and ENODEV), so
 * the ioctl is issued here first to learn the real errno, then
 * libusb_claim_interface() records the claim in libusb's own bookkeeping
 * (it issues the ioctl again, which succeeds on a claimed interface).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>
#include <linux/usbdevice_fs.h>

#include "libdev-private.h"

/* drivers/usb/core/devio.c: USB_DEVICE_MAJOR, the /dev/bus/usb nodes. */
#define USBFS_MAJOR	189
/* libusb (and its claimed_interfaces mask) handles interfaces 0-31. */
#define USB_MAX_IFACES	32

struct dbk_usb {
	libusb_context *ctx;
	libusb_device_handle *h;
	int fd;
	uint32_t interfaces;
};

DBK_EXPORT int dbk_usb_errno(int libusb_err)
{
	if (libusb_err >= 0)
		return libusb_err;
	switch (libusb_err) {
	case LIBUSB_ERROR_IO:		return -EIO;
	case LIBUSB_ERROR_INVALID_PARAM: return -EINVAL;
	case LIBUSB_ERROR_ACCESS:	return -EACCES;
	case LIBUSB_ERROR_NO_DEVICE:	return -ENODEV;
	case LIBUSB_ERROR_NOT_FOUND:	return -ENOENT;
	case LIBUSB_ERROR_BUSY:		return -EBUSY;
	case LIBUSB_ERROR_TIMEOUT:	return -ETIMEDOUT;
	case LIBUSB_ERROR_OVERFLOW:	return -EOVERFLOW;
	case LIBUSB_ERROR_PIPE:		return -EPIPE;
	case LIBUSB_ERROR_INTERRUPTED:	return -EINTR;
	case LIBUSB_ERROR_NO_MEM:	return -ENOMEM;
	case LIBUSB_ERROR_NOT_SUPPORTED: return -EOPNOTSUPP;
	default:			return -EIO;
	}
}

/* Is @fd a usbfs device node?  0, -ENOTTY, or the errno of fstat(). */
static int check_usbfs(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != USBFS_MAJOR)
		return -ENOTTY;
	return 0;
}

/* Claim interface @ifno for the fd: 0 or the kernel's -errno. */
static int claim_one(struct dbk_usb *usb, unsigned int ifno)
{
	unsigned int arg = ifno;
	int r;

	do
		r = ioctl(usb->fd, USBDEVFS_CLAIMINTERFACE, &arg);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;	/* EACCES outside the grant, ENOENT, EBUSY... */
	return dbk_usb_errno(libusb_claim_interface(usb->h, (int)ifno));
}

DBK_EXPORT int dbk_usb_adopt(int usb_fd, uint32_t interfaces,
			     struct dbk_usb **usbp)
{
	struct dbk_usb *usb;
	unsigned int i;
	int r;

	if (usb_fd < 0 || !usbp)
		return -EINVAL;
	r = check_usbfs(usb_fd);
	if (r < 0)
		return r;
	usb = calloc(1, sizeof(*usb));
	if (!usb)
		return -ENOMEM;
	usb->fd = usb_fd;

	/*
	 * libusb 1.0.26 has no libusb_init_context(): the option must be set
	 * as the default for new contexts (NULL), and its Linux backend keeps
	 * it in a global, so it stays on for the whole process.  A brokered
	 * driver has nothing to discover anyway.
	 */
	r = libusb_set_option(NULL, LIBUSB_OPTION_NO_DEVICE_DISCOVERY);
	if (r < 0) {
		r = dbk_usb_errno(r);
		goto fail_free;
	}
	r = libusb_init(&usb->ctx);
	if (r < 0) {
		r = dbk_usb_errno(r);
		goto fail_free;
	}
	r = libusb_wrap_sys_device(usb->ctx, (intptr_t)usb_fd, &usb->h);
	if (r < 0) {
		/* It reads the descriptors from the fd: a vanished device
		 * shows as LIBUSB_ERROR_IO there, so ask the fd itself. */
		r = dbk_usb_errno(r);
		if (r == -EIO) {
			struct usbdevfs_connectinfo ci;

			if (ioctl(usb_fd, USBDEVFS_CONNECTINFO, &ci) < 0 &&
			    errno == ENODEV)
				r = -ENODEV;
		}
		goto fail_exit;
	}
	for (i = 0; i < USB_MAX_IFACES; i++) {
		if (!(interfaces & (UINT32_C(1) << i)))
			continue;
		r = claim_one(usb, i);
		if (r < 0)
			goto fail_close;
		usb->interfaces |= UINT32_C(1) << i;
	}
	*usbp = usb;
	return 0;

fail_close:
	/*
	 * libusb_close() neither releases the claims nor closes the wrapped
	 * fd.  Claims made here stay with the caller's open file, like the
	 * broker's own: releasing them could undo what the broker set up.
	 */
	libusb_close(usb->h);
fail_exit:
	libusb_exit(usb->ctx);
fail_free:
	free(usb);
	return r;
}

DBK_EXPORT int dbk_usb_adopt_env(struct dbk_usb **usbp)
{
	struct dbk_handover *h;
	int fd, r;

	if (!usbp)
		return -EINVAL;
	r = dbk_handover_get(&h);
	if (r < 0)
		return r;
	fd = dbk_handover_take_fd(h, DBK_HANDOVER_USB);
	r = fd < 0 ? fd : dbk_usb_adopt(fd, dbk_handover_usb_interfaces(h), usbp);
	dbk_handover_free(h);
	return r;
}

DBK_EXPORT void dbk_usb_free(struct dbk_usb *usb)
{
	unsigned int i;

	if (!usb)
		return;
	/* Fails harmlessly (NO_DEVICE) once the device is gone. */
	for (i = 0; i < USB_MAX_IFACES; i++)
		if (usb->interfaces & (UINT32_C(1) << i))
			libusb_release_interface(usb->h, (int)i);
	libusb_close(usb->h);
	libusb_exit(usb->ctx);
	close(usb->fd);
	free(usb);
}

DBK_EXPORT libusb_device_handle *dbk_usb_get_handle(const struct dbk_usb *usb)
{
	return usb ? usb->h : NULL;
}

DBK_EXPORT libusb_context *dbk_usb_get_context(const struct dbk_usb *usb)
{
	return usb ? usb->ctx : NULL;
}

DBK_EXPORT uint32_t dbk_usb_get_interfaces(const struct dbk_usb *usb)
{
	return usb ? usb->interfaces : 0;
}

/*
 * USBDEVFS_GETDRIVER, which only reads, never CLAIMINTERFACE: on an
 * interface this fd lost, a claim would succeed and take it back
 * (devio.c, claimintf()).  The kernel answers ENODATA for an interface
 * without a driver, the driver's name otherwise ("usbfs" for a usbfs
 * claim, whichever open file holds it: see usb.h), and ENODEV from the
 * fd of a device that is gone.
 */
int dbk__usb_interface_claimed(int fd, uint32_t claimed, unsigned int ifno,
			       const struct dbk_sys *sys)
{
	struct usbdevfs_getdriver gd = { .interface = ifno };
	int r;

	/* Not ours at adoption: usbfs's "usbfs" would be another fd's. */
	if (ifno >= USB_MAX_IFACES || !(claimed & (UINT32_C(1) << ifno)))
		return -EINVAL;
	do
		r = sys->ioctl(fd, USBDEVFS_GETDRIVER, &gd);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return errno == ENODATA ? 0 : -errno;
	gd.driver[sizeof(gd.driver) - 1] = '\0';
	return strcmp(gd.driver, "usbfs") == 0;
}

DBK_EXPORT int dbk_usb_interface_claimed(const struct dbk_usb *usb, unsigned int interface)
{
	if (!usb)
		return -EINVAL;
	return dbk__usb_interface_claimed(usb->fd, usb->interfaces, interface, &dbk__libc_sys);
}
