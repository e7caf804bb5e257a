/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/e1000e's frame logic (frame.c), apart from the device and the
 * loop: unit-tested on its own (tests/unit/test-e1000e-frame.c).
 */
#ifndef E1000E_FRAME_H
#define E1000E_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <devbroker/net.h>

#include "e1000e-regs.h"

/* The longest frame the 82574 sends unsegmented: a jumbo frame (Linux's e1000e, DEFAULT_JUMBO). */
#define E1000E_MAX_FRAME	9234
#define E1000E_ETH_P_IPV4	0x0800
#define E1000E_ETH_P_IPV6	0x86dd
#define E1000E_IPPROTO_TCP	6
#define E1000E_IPPROTO_UDP	17

/* Big-endian 16-bit fields of a frame. */
uint16_t e1000e_get16(const uint8_t *p);
void e1000e_put16(uint8_t *p, uint16_t v);

/* Where a frame's headers are: Ethernet, one optional VLAN tag, IPv4 or IPv6, TCP or UDP. */
struct e1000e_hdrs {
	unsigned int l3, l4, l4len;
	uint8_t proto;
	bool v4;
};

/*
 * The frame's IP and TCP/UDP headers, if it has them where a device
 * looks: no IPv4 fragment (whose L4 checksum the device cannot know), no
 * IPv6 extension header, the lengths inside the frame's @len bytes.
 * @len is at least DBK_NET_FRAME_MIN (an Ethernet header), as for the
 * two functions below.
 */
bool e1000e_parse_frame(const uint8_t *f, unsigned int len, struct e1000e_hdrs *h);

enum e1000e_rx_csum {
	E1000E_RX_CSUM_NONE,	/* nothing verified (or not usable): *m all zero */
	E1000E_RX_CSUM_GOOD,	/* verified: *m says NEEDS_CSUM, the field rewritten */
	E1000E_RX_CSUM_BAD,	/* the device found it wrong: *m zero, the frame untouched */
};

/*
 * What the device verified of a received frame (the descriptor's status
 * @st and errors @err), for the system (*@m); only for a device with
 * RXCSUM.TUOFLD on, which the caller knows and this does not: a good
 * TCP or UDP checksum is passed on as one to complete (NEEDS_CSUM, with
 * the pseudo-header's sum in the field, as the system's own frames have
 * it), so that the system need not verify it again.  A bad one is passed
 * plain: the system verifies it, drops the frame and counts it (as
 * Linux's e1000e lets the stack do).  So is a UDP datagram whose length
 * is not its IP payload's, and a frame with non-zero bytes after its IP
 * packet (a forwarding system would checksum them too).
 */
enum e1000e_rx_csum e1000e_rx_meta(uint8_t st, uint8_t err, uint8_t *f, unsigned int len,
				   struct dbk_net_meta *m);

enum e1000e_tx_kind {
	E1000E_TX_PLAIN,	/* nothing asked: a legacy descriptor */
	E1000E_TX_CSUM_SW,	/* a checksum the device cannot place, completed here: legacy */
	E1000E_TX_CSUM_HW,	/* the device completes it: *c and *popts */
	E1000E_TX_TSO,		/* the device segments (§7.3): *c and *popts */
};

/*
 * What frame @f (@len bytes, metadata @m) asks of the device, given the
 * @offloads (DBK_NET_OFFLOAD_*) the interface took: an e1000e_tx_kind,
 * with the context descriptor *@c and the data descriptors' options
 * *@popts for CSUM_HW and TSO, or -EINVAL for a request we cannot honour
 * (the frame is to be dropped).  TSO rewrites the IP length and the
 * checksums' fields as the device wants them; CSUM_SW writes the checksum.
 */
int e1000e_tx_offload(unsigned int offloads, const struct dbk_net_meta *m, uint8_t *f,
		      unsigned int len, struct e1000_ctx_desc *c, uint8_t *popts);

#endif /* E1000E_FRAME_H */
