/* SPDX-License-Identifier: LGPL-2.1-or-later */
/**
 * @file devbroker/net.h
 * @brief The network frontend: an ordinary network interface (a TAP)
 * served by the driver.
 *
 * devbrokerd creates the interface (the manifest's [Frontend] Network=,
 * e.g. dbk0: `ip link` shows it, and the administrator configures it as
 * usual) and hands the driver one /dev/net/tun fd attached to it
 * (DBK_HANDOVER_NET of <devbroker/handover.h>).  Creating an interface
 * needs CAP_NET_ADMIN, which a driver never has; the fd itself is the
 * right to serve that one interface.  The driver moves whole Ethernet
 * frames (destination, source, type, payload; no FCS, no packet
 * information header) between the fd and its device:
 *
 *  - dbk_net_read(): the next frame the system sends out through the
 *    interface, for the driver to put on the wire;
 *  - dbk_net_write(): a frame the device received, for the system.
 *
 * The driver also says what the system cannot know: whether the link is
 * up (dbk_net_set_carrier(); the interface shows NO-CARRIER until then)
 * and the device's MAC address (dbk_net_set_mac(); until then the
 * interface has a random one).  Neither needs a privilege: the tun fd
 * carries them.  Nothing else about the interface is the driver's to
 * change (its name, MTU, addresses, persistence and owner): the sandbox
 * refuses the tun ioctls that would, and devbrokerd, which keeps a queue
 * of its own on the interface, ends it once the driver is gone.
 *
 * @code
 * struct dbk_net *net;
 * uint8_t frame[DBK_NET_FRAME_MAX];
 * int n, r = dbk_net_new(dbk_handover_take_fd(h, DBK_HANDOVER_NET), &net);
 *
 * dbk_net_set_mac(net, mac);
 * dbk_net_set_carrier(net, true);
 * for (;;) {	// poll(dbk_net_fd(net)) for POLLIN between the reads
 *	n = dbk_net_read(net, frame, sizeof(frame));
 *	if (n > 0)
 *		put_on_the_wire(frame, n);
 * }
 * @endcode
 *
 * The SDK's conventions: <devbroker/sdk.h>.
 */
#ifndef DEVBROKER_NET_H
#define DEVBROKER_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <devbroker/sdk.h>

#ifdef __cplusplus
extern "C" {
#endif

/** The shortest frame: an Ethernet header (destination, source, type). */
#define DBK_NET_FRAME_MIN	14
/**
 * The longest frame at the standard MTU of 1500: the header, 1500 bytes
 * and an 802.1Q tag.  An administrator may raise the interface's MTU; a
 * frame longer than the caller's buffer is dropped (dbk_net_read()).
 */
#define DBK_NET_FRAME_MAX	1518
/** An Ethernet address's length. */
#define DBK_NET_ALEN		6

/** A network interface served by this driver (opaque). */
struct dbk_net;

/**
 * Adopt the hand-over's tun fd (dbk_handover_take_fd(h, DBK_HANDOVER_NET)),
 * which @p out then owns (closed by dbk_net_free(), also on failure).  The
 * fd is made non-blocking: poll dbk_net_fd() for POLLIN.
 *
 * @param fd the fd, or a negative errno from dbk_handover_take_fd()
 *        (returned as is)
 * @param[out] out the interface
 * @return 0, -EBADF (not a tun fd, or not attached to an interface),
 *         -EPROTO (not a TAP without packet information, as devbrokerd
 *         makes), -ENOMEM, or @p fd if it is negative
 */
int dbk_net_new(int fd, struct dbk_net **out);

/** Close the fd: the interface ends once devbrokerd lets go of it too. */
void dbk_net_free(struct dbk_net *net);

/** The fd, to poll for POLLIN (a frame to read).  Still owned by @p net. */
int dbk_net_fd(const struct dbk_net *net);

/** The interface's name ("dbk0"), as it was when adopted. */
const char *dbk_net_name(const struct dbk_net *net);

/**
 * The next frame the system sends out through the interface.
 *
 * @param net the interface
 * @param buf where the frame goes
 * @param len the room in @p buf
 * @return the frame's length (DBK_NET_FRAME_MIN or more), -EAGAIN (none
 *         waiting), -EMSGSIZE (the frame was longer than @p len, or
 *         shorter than an Ethernet header: dropped, the next one is
 *         read by the next call), -EINVAL (a NULL argument), or another
 *         negative errno of read()
 */
int dbk_net_read(struct dbk_net *net, void *buf, size_t len);

/**
 * Give the system a frame the device received (without its FCS).
 *
 * @return 0, -EMSGSIZE (shorter than DBK_NET_FRAME_MIN or longer than
 *         65535 bytes: not written), -EINVAL (a NULL argument), or a
 *         negative errno of write() (-EIO: the interface is down)
 */
int dbk_net_write(struct dbk_net *net, const void *frame, size_t len);

/**
 * The link's state, as the system sees it (the interface's carrier:
 * `ip link` shows NO-CARRIER while it is off, and nothing is sent then).
 *
 * @return 0 or a negative errno
 */
int dbk_net_set_carrier(struct dbk_net *net, bool up);

/**
 * The interface's MAC address: the device's own, as the driver read it.
 *
 * @return 0, -EINVAL (a multicast or all-zero address, or NULL), or
 *         another negative errno
 */
int dbk_net_set_mac(struct dbk_net *net, const uint8_t mac[DBK_NET_ALEN]);

/**
 * The interface's MAC address now (an administrator may have changed it:
 * `ip link set dbk0 address ...`).
 *
 * @return 0 or a negative errno
 */
int dbk_net_get_mac(struct dbk_net *net, uint8_t mac[DBK_NET_ALEN]);

#ifdef __cplusplus
}
#endif

#endif /* DEVBROKER_NET_H */
