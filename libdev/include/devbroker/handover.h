/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file devbroker/handover.h
 * @brief The driver hand-over: what a driver receives from devbrokerd,
 * and how it finds each piece.
 *
 * devbrokerd starts a driver process with the fds of exactly what it was
 * granted, and tells it where each one is.  This header and the SDK own
 * that contract: devbrokerd writes it through the SDK's own code, and a
 * driver reads it only through the functions below, never by fd number or
 * environment variable.
 *
 * What a driver gets:
 *  - the access: a PCI grant fd (DBK_HANDOVER_GRANT, for dbk_dev_adopt())
 *    or a usbfs fd of a USB device and the interfaces it may claim
 *    (DBK_HANDOVER_USB, dbk_handover_usb_interfaces(), for dbk_usb_adopt());
 *  - its frontends, each already opened by the daemon, as the manifest's
 *    [Frontend] section asks: /dev/cuse (DBK_HANDOVER_CUSE), /dev/uinput
 *    (DBK_HANDOVER_UINPUT), a /dev/fuse fd already mounted at
 *    dbk_handover_fuse_mount() (DBK_HANDOVER_FUSE);
 *  - for a block device, one connected socket per queue, each the server
 *    end of an NBD connection that devbrokerd handshakes and gives to the
 *    kernel's nbd (dbk_handover_take_block_fds(), for dbk_block_new());
 *  - for a network interface, a /dev/net/tun fd attached to the TAP
 *    interface devbrokerd made for it (DBK_HANDOVER_NET, for dbk_net_new()
 *    of <devbroker/net.h>): Ethernet frames, no packet information header.
 *    devbrokerd keeps a queue of its own on that interface (another open
 *    file, never enabled), so the interface lives as long as devbrokerd
 *    lets it, and ends once the driver is gone;
 *  - its device's name (a PCI address or a USB device id), its instance
 *    number (the %i of the manifest) and, for USB, the serial number.
 *
 * What devbrokerd promises about the other fds: 0 is /dev/null; 1 and 2
 * are the daemon's log; nothing else is open but the fds handed over
 * (each refers to one open file, not shared with the daemon after the
 * start).
 *
 * The hand-over travels in the environment, which only the SDK writes and
 * reads: DBK_HANDOVER=1 (the protocol), DBK_GRANT_FD, DBK_USB_FD,
 * DBK_CUSE_FD, DBK_UINPUT_FD, DBK_FUSE_FD, DBK_NET_FD (fd numbers; -1 or
 * absent: none), DBK_BLOCK_FDS (a comma list of fd numbers, "5,6,7";
 * empty or absent: none),
 * DBK_DEVICE, DBK_INSTANCE, DBK_USB_INTERFACES, DBK_USB_SERIAL and
 * DBK_FUSE_MOUNT.  Set by hand, they start a driver outside devbrokerd.
 *
 * @code
 * struct dbk_handover *h;
 * struct dbk_dev *dev;
 * int r = dbk_handover_get(&h);
 *
 * if (r == 0)
 *	r = dbk_dev_adopt(dbk_handover_take_fd(h, DBK_HANDOVER_GRANT), &dev);
 * @endcode
 */
#ifndef DEVBROKER_HANDOVER_H
#define DEVBROKER_HANDOVER_H

#include <stdint.h>
#include <devbroker/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The fds a driver may be handed. */
enum dbk_handover_fd {
	DBK_HANDOVER_GRANT = 0,		/**< a PCI grant fd (<linux/devbroker.h>) */
	DBK_HANDOVER_USB = 1,		/**< a usbfs fd */
	DBK_HANDOVER_CUSE = 2,		/**< /dev/cuse, opened */
	DBK_HANDOVER_UINPUT = 3,	/**< /dev/uinput, opened */
	DBK_HANDOVER_FUSE = 4,		/**< /dev/fuse, mounted */
	DBK_HANDOVER_NET = 5,		/**< /dev/net/tun, attached to a TAP (SDK 1.2) */
	DBK_HANDOVER_NR_FDS = 6		/**< how many kinds (grows at the end) */
};

/** The most block fds (NBD connections, one per queue) a driver is handed. */
#define DBK_HANDOVER_BLOCK_MAX	16

/**
 * The exit status by which a driver says that what it serves is gone
 * while its device stays, or was never there: an NVMe namespace detached
 * or deleted, none it can serve, a medium taken out.  Starting it again
 * would not bring it back, so devbrokerd
 * does not, whatever the manifest's Restart= says: it ends the driver's
 * frontends (a disk is disconnected, and what was queued on it fails with
 * EIO) and leaves the device idle until `devbrokerctl bind`.  Any other
 * status is judged by Restart=.  (69 is EX_UNAVAILABLE of <sysexits.h>.)
 */
#define DBK_HANDOVER_EXIT_GONE	69

/** What this process was handed (opaque). */
struct dbk_handover;

/**
 * Read what devbrokerd handed this process (its environment, once).
 *
 * @param[out] out the hand-over, freed with dbk_handover_free()
 * @return 0, -ENOENT (not started by devbrokerd: nothing handed over),
 *         -EINVAL (a malformed hand-over), -ENOMEM
 */
int dbk_handover_get(struct dbk_handover **out);

/**
 * The fd of kind @p which, which the caller now owns (a second call on
 * @p h gives -ENOENT).  Checked to be open.
 *
 * @return the fd, -ENOENT (not handed over), -EBADF (announced, not open),
 *         -EINVAL (@p which unknown)
 */
int dbk_handover_take_fd(struct dbk_handover *h, enum dbk_handover_fd which);

/**
 * The block fds (one connected socket per queue, in queue order), which
 * the caller now owns (a second call on @p h gives -ENOENT).  Each is
 * checked to be open; if one is not, none is taken.
 *
 * @param h the hand-over
 * @param[out] fds room for @p max fds
 * @param max the room in @p fds (DBK_HANDOVER_BLOCK_MAX is always enough)
 * @return how many fds were written (1..DBK_HANDOVER_BLOCK_MAX), -ENOENT
 *         (none handed over, or already taken), -EBADF (one announced,
 *         not open), -EINVAL (NULL argument, or @p max too small)
 */
int dbk_handover_take_block_fds(struct dbk_handover *h, int *fds, unsigned int max);

/** The device: a PCI address (0000:00:04.0) or a USB device id (1-2). */
const char *dbk_handover_device(const struct dbk_handover *h);

/** The instance number (the manifest's %i), or -1. */
int dbk_handover_instance(const struct dbk_handover *h);

/** USB: the interfaces the driver may claim (bit n: interface n), or 0. */
uint32_t dbk_handover_usb_interfaces(const struct dbk_handover *h);

/** USB: the device's serial number, or "". */
const char *dbk_handover_usb_serial(const struct dbk_handover *h);

/** FUSE: where DBK_HANDOVER_FUSE is mounted, or "". */
const char *dbk_handover_fuse_mount(const struct dbk_handover *h);

/** Free @p h.  Its fds stay open, taken or not: the process owns them. */
void dbk_handover_free(struct dbk_handover *h);

#ifdef __cplusplus
}
#endif

#endif /* DEVBROKER_HANDOVER_H */
