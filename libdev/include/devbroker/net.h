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
 * **Offloads.**  A driver whose device computes TCP/UDP checksums and
 * segments TCP (TSO) says so with dbk_net_set_offloads().  The system then
 * hands it frames whose checksum is still to be completed, and TCP frames
 * of up to 64 KiB for the device to cut into segments; dbk_net_read_meta()
 * says which (struct dbk_net_meta, the kernel's struct virtio_net_hdr).  A
 * driver passes checksums its device verified with dbk_net_write_meta()
 * (DBK_NET_META_NEEDS_CSUM: see there), so that the system need not verify
 * them again.  The offloads are reset whenever the driver starts (a
 * restarted driver sets its own).  They need an interface made with the
 * header, which devbrokerd makes where the manifest says
 * NetworkOffloads=yes (devbroker-manifest(5)); elsewhere
 * dbk_net_set_offloads() says -EOPNOTSUPP.
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

/**
 * A read buffer for any frame the system may hand over with
 * DBK_NET_OFFLOAD_TSO4/6: 64 KiB and an 802.1Q tag.
 */
#define DBK_NET_GSO_FRAME_MAX	(65536 + 4)

/** @name Offloads (dbk_net_set_offloads())
 * @{ */
/** The device completes TCP and UDP checksums (frames may come with DBK_NET_META_NEEDS_CSUM). */
#define DBK_NET_OFFLOAD_CSUM	0x01u
/** The device segments TCP over IPv4 (DBK_NET_GSO_TCPV4; needs CSUM). */
#define DBK_NET_OFFLOAD_TSO4	0x02u
/** The device segments TCP over IPv6 (DBK_NET_GSO_TCPV6; needs CSUM). */
#define DBK_NET_OFFLOAD_TSO6	0x04u
/** @} */

/** @name struct dbk_net_meta's flags and gso_type
 * @{ */
/** The checksum at csum_start + csum_offset is to be completed over [csum_start, end). */
#define DBK_NET_META_NEEDS_CSUM	0x01u
#define DBK_NET_GSO_NONE	0	/**< one frame as it is */
#define DBK_NET_GSO_TCPV4	1	/**< TCP over IPv4, to be cut into gso_size segments */
#define DBK_NET_GSO_TCPV6	4	/**< TCP over IPv6, the same */
/** @} */

/**
 * What a frame asks of the device, or tells the system: the kernel's
 * struct virtio_net_hdr (<linux/virtio_net.h>), in native byte order.
 *
 * From the system (dbk_net_read_meta()):
 *  - flags & DBK_NET_META_NEEDS_CSUM: the checksum field, at csum_start
 *    + csum_offset from the frame's start, holds the pseudo-header's sum
 *    (folded, not inverted); the device (or the driver) completes it over
 *    the bytes from csum_start to the end.  csum_start may point at an
 *    inner header, or at a protocol the device does not know: the driver
 *    must then complete it itself;
 *  - gso_type DBK_NET_GSO_TCPV4/TCPV6 (always with NEEDS_CSUM): segment
 *    the TCP payload into gso_size bytes each.  hdr_len is only a hint:
 *    the headers' length is csum_start plus the TCP header's.
 *
 * To the system (dbk_net_write_meta()): DBK_NET_META_NEEDS_CSUM with
 * csum_start at a TCP or UDP header and csum_offset 16 or 6 says the
 * device verified the frame's checksum; the checksum field must then hold
 * the pseudo-header's sum, as the system's own such frames do (should
 * the frame be forwarded, the egress completes it).  The system does not
 * verify such a frame: a driver that marks a corrupt frame so has it
 * delivered (as a NIC with broken receive offload would), which gives it
 * nothing it could not do with a correct checksum.  The kernel checks the
 * header against the frame, and refuses a frame whose header does not fit
 * it (-EINVAL).
 */
struct dbk_net_meta {
	uint8_t flags;		/**< DBK_NET_META_NEEDS_CSUM */
	uint8_t gso_type;	/**< DBK_NET_GSO_* */
	uint16_t hdr_len;	/**< the headers' length (a hint) */
	uint16_t gso_size;	/**< the segments' payload (TCP MSS) */
	uint16_t csum_start;	/**< where the checksummed bytes start */
	uint16_t csum_offset;	/**< the checksum field, from csum_start */
};

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
 *         waiting), -EMSGSIZE (the frame was longer than @p len,
 *         shorter than an Ethernet header, or asked for an offload:
 *         dropped, the next one is read by the next call), -EINVAL (a
 *         NULL argument), -EOPNOTSUPP (offloads are on: use
 *         dbk_net_read_meta()), or
 *         another negative errno of read()
 */
int dbk_net_read(struct dbk_net *net, void *buf, size_t len);

/**
 * The next frame the system sends out, and what it asks of the device
 * (struct dbk_net_meta; all zero without offloads).
 *
 * @param net the interface
 * @param[out] meta the frame's metadata
 * @param buf where the frame goes: DBK_NET_GSO_FRAME_MAX bytes take any
 *        frame with TSO on
 * @param len the room in @p buf
 * @return as dbk_net_read(), never -EOPNOTSUPP
 */
int dbk_net_read_meta(struct dbk_net *net, struct dbk_net_meta *meta, void *buf, size_t len);

/**
 * Give the system a frame the device received (without its FCS).
 *
 * @return 0, -EMSGSIZE (shorter than DBK_NET_FRAME_MIN or longer than
 *         65535 bytes: not written), -EINVAL (a NULL argument), or a
 *         negative errno of write() (-EIO: the interface is down)
 */
int dbk_net_write(struct dbk_net *net, const void *frame, size_t len);

/**
 * Give the system a frame the device received, with its metadata
 * (struct dbk_net_meta: what the device verified).
 *
 * @param meta the metadata, or NULL for none (as dbk_net_write())
 * @return as dbk_net_write(); -EINVAL also for flags or a gso_type
 *         struct dbk_net_meta does not define, or a header the kernel
 *         refused as not fitting the frame; -EOPNOTSUPP for metadata on
 *         an interface made without the header (not by devbrokerd)
 */
int dbk_net_write_meta(struct dbk_net *net, const struct dbk_net_meta *meta,
		       const void *frame, size_t len);

/**
 * The offloads the device does (DBK_NET_OFFLOAD_*), for the system to
 * use from the next frame on; 0 turns them off.  Once any is on, read
 * with dbk_net_read_meta().
 *
 * @return 0, -EINVAL (an unknown bit, or TSO without CSUM),
 *         -EOPNOTSUPP (the interface was made without the header, not by
 *         devbrokerd), or another negative errno
 */
int dbk_net_set_offloads(struct dbk_net *net, unsigned int offloads);

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
