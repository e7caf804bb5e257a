/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/e1000e's frame logic (frame.c), which needs no device: parsing,
 * the receive checksum's verdict and rewrite, and what a frame from the
 * system asks of the device (checksum offload, TSO, the software
 * checksum).  The checksums are checked against a reference written
 * here the plain way (RFC 1071 over a pseudo-header buffer), and the
 * rewrite by completing it as the kernel would (skb_checksum_help()).
 * The rest runs against QEMU's NIC in the VM (tests/vm/e1000e-net.sh).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "frame.h"

/* RFC 1071 over the bytes, folded, not inverted. */
static uint16_t ref_sum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The TCP/UDP checksum of the L4 bytes at @l4 (@l4len), over a pseudo-header buffer. */
static uint16_t ref_l4_csum(const uint8_t *f, unsigned int l3, bool v4, unsigned int l4,
			    unsigned int l4len, uint8_t proto, unsigned int field)
{
	static uint8_t buf[40 + 70000];
	unsigned int n;

	memset(buf, 0, sizeof(buf));
	if (v4) {
		memcpy(buf, f + l3 + 12, 8);
		buf[9] = proto;
		buf[10] = (uint8_t)(l4len >> 8);
		buf[11] = (uint8_t)l4len;
		n = 12;
	} else {
		memcpy(buf, f + l3 + 8, 32);
		buf[34] = (uint8_t)(l4len >> 8);
		buf[35] = (uint8_t)l4len;
		buf[39] = proto;
		n = 40;
	}
	memcpy(buf + n, f + l4, l4len);
	buf[n + field - l4] = buf[n + field - l4 + 1] = 0;
	return (uint16_t)~ref_sum(buf, n + l4len);
}

/*
 * An Ethernet frame: @vlan an 802.1Q tag, IPv4 or IPv6, TCP (20-byte
 * header) or UDP, @payload bytes of a pattern, its checksum right; @pad
 * bytes of @padbyte after the IP packet.  Returns its length.
 */
static unsigned int build(uint8_t *f, bool vlan, bool v4, uint8_t proto, unsigned int payload,
			  unsigned int pad, uint8_t padbyte)
{
	unsigned int l3 = vlan ? 18 : 14, l4 = l3 + (v4 ? 20 : 40);
	unsigned int l4h = proto == E1000E_IPPROTO_TCP ? 20 : 8, l4len = l4h + payload, i;
	unsigned int field = l4 + (proto == E1000E_IPPROTO_TCP ? 16 : 6);

	memset(f, 0, l4 + l4len + pad);
	memset(f, 0xaa, 12);
	if (vlan) {
		e1000e_put16(f + 12, 0x8100);
		e1000e_put16(f + 14, 7);
	}
	e1000e_put16(f + l3 - 2, v4 ? E1000E_ETH_P_IPV4 : E1000E_ETH_P_IPV6);
	if (v4) {
		f[l3] = 0x45;
		e1000e_put16(f + l3 + 2, (uint16_t)(20 + l4len));
		e1000e_put16(f + l3 + 6, 0x4000);	/* DF, not a fragment */
		f[l3 + 8] = 64;
		f[l3 + 9] = proto;
		memcpy(f + l3 + 12, "\x0a\x58\x00\x02\x0a\x58\x00\x01", 8);
		e1000e_put16(f + l3 + 10, (uint16_t)~ref_sum(f + l3, 20));
	} else {
		f[l3] = 0x60;
		e1000e_put16(f + l3 + 4, (uint16_t)l4len);
		f[l3 + 6] = proto;
		f[l3 + 7] = 64;
		f[l3 + 8] = 0xfd;
		f[l3 + 23] = 2;
		f[l3 + 24] = 0xfd;
		f[l3 + 39] = 1;
	}
	e1000e_put16(f + l4, 40000);
	e1000e_put16(f + l4 + 2, 5001);
	if (proto == E1000E_IPPROTO_TCP)
		f[l4 + 12] = 5 << 4;
	else
		e1000e_put16(f + l4 + 4, (uint16_t)l4len);
	for (i = 0; i < payload; i++)
		f[l4 + l4h + i] = (uint8_t)(i * 7 + 3);
	e1000e_put16(f + field, ref_l4_csum(f, l3, v4, l4, l4len, proto, field));
	memset(f + l4 + l4len, padbyte, pad);
	return l4 + l4len + pad;
}

/* What the kernel does with NEEDS_CSUM (skb_checksum_help()): the sum from csum_start on, inverted, 0 as 0xffff. */
static void complete(uint8_t *f, unsigned int len, const struct dbk_net_meta *m)
{
	uint16_t s = (uint16_t)~ref_sum(f + m->csum_start, len - m->csum_start);

	if (!s)
		s = 0xffff;
	e1000e_put16(f + m->csum_start + m->csum_offset, s);
}

static uint8_t frame[70000], orig[70000];

static void test_parse(void **state)
{
	struct e1000e_hdrs h;
	unsigned int len, i;

	(void)state;
	len = build(frame, false, true, E1000E_IPPROTO_TCP, 100, 0, 0);
	assert_true(e1000e_parse_frame(frame, len, &h));
	assert_true(h.l3 == 14 && h.l4 == 34 && h.l4len == 120 && h.v4 &&
		    h.proto == E1000E_IPPROTO_TCP);
	len = build(frame, true, false, E1000E_IPPROTO_UDP, 10, 0, 0);
	assert_true(e1000e_parse_frame(frame, len, &h));
	assert_true(h.l3 == 18 && h.l4 == 58 && h.l4len == 18 && !h.v4 &&
		    h.proto == E1000E_IPPROTO_UDP);
	/* Every truncation of a good frame: no header beyond the bytes. */
	for (i = 14; i < len; i++)
		assert_false(e1000e_parse_frame(frame, i, &h));
	/* An IPv4 fragment, IPv4 options too short, IPv6 with an extension header, ARP. */
	len = build(frame, false, true, E1000E_IPPROTO_TCP, 100, 0, 0);
	e1000e_put16(frame + 20, 0x2000);	/* MF */
	assert_false(e1000e_parse_frame(frame, len, &h));
	e1000e_put16(frame + 20, 0x0001);	/* offset 8 */
	assert_false(e1000e_parse_frame(frame, len, &h));
	len = build(frame, false, true, E1000E_IPPROTO_TCP, 100, 0, 0);
	frame[14] = 0x44;			/* IHL 16 bytes */
	assert_false(e1000e_parse_frame(frame, len, &h));
	len = build(frame, false, false, E1000E_IPPROTO_TCP, 100, 0, 0);
	frame[14 + 6] = 0;			/* hop-by-hop */
	assert_false(e1000e_parse_frame(frame, len, &h));
	e1000e_put16(frame + 12, 0x0806);
	assert_false(e1000e_parse_frame(frame, len, &h));
}

/* A verified checksum: rewritten to the pseudo-header's sum, which the kernel completes to the original. */
static void test_rx_good(void **state)
{
	static const struct { bool vlan, v4; uint8_t proto; unsigned int payload, pad; } c[] = {
		{ false, true, E1000E_IPPROTO_TCP, 1000, 0 },
		{ true, true, E1000E_IPPROTO_TCP, 1, 0 },
		{ false, false, E1000E_IPPROTO_TCP, 1400, 0 },
		{ false, true, E1000E_IPPROTO_UDP, 18, 0 },
		{ false, false, E1000E_IPPROTO_UDP, 77, 0 },
		{ false, true, E1000E_IPPROTO_TCP, 0, 6 },	/* a bare ACK, zero padding */
		{ true, true, E1000E_IPPROTO_UDP, 5, 0 },	/* 802.1ad below, UDPCS alone */
	};
	struct dbk_net_meta m;
	unsigned int i, len;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		len = build(frame, c[i].vlan, c[i].v4, c[i].proto, c[i].payload, c[i].pad, 0);
		if (i == sizeof(c) / sizeof(c[0]) - 1)
			e1000e_put16(frame + 12, 0x88a8);	/* an 802.1ad (QinQ outer) tag */
		memcpy(orig, frame, len);
		assert_int_equal(e1000e_rx_meta(E1000_RXD_STAT_DD | E1000_RXD_STAT_EOP |
						(i == sizeof(c) / sizeof(c[0]) - 1 ? E1000_RXD_STAT_UDPCS :
						 E1000_RXD_STAT_TCPCS), 0, frame, len, &m),
				 E1000E_RX_CSUM_GOOD);
		assert_int_equal(m.flags, DBK_NET_META_NEEDS_CSUM);
		assert_int_equal(m.gso_type, DBK_NET_GSO_NONE);
		assert_int_equal(m.csum_offset, c[i].proto == E1000E_IPPROTO_TCP ? 16 : 6);
		assert_int_equal(m.csum_start, (c[i].vlan ? 18 : 14) + (c[i].v4 ? 20 : 40));
		assert_memory_not_equal(frame, orig, len);	/* the field now holds the pseudo sum */
		complete(frame, len, &m);
		assert_memory_equal(frame, orig, len);
	}
}

static void test_rx_not_marked(void **state)
{
	struct dbk_net_meta m;
	unsigned int len;

	(void)state;
	/* The device's error bits: bad, passed plain and untouched. */
	len = build(frame, false, true, E1000E_IPPROTO_TCP, 100, 0, 0);
	memcpy(orig, frame, len);
	assert_int_equal(e1000e_rx_meta(E1000_RXD_STAT_TCPCS, E1000_RXD_ERR_TCPE, frame, len, &m),
			 E1000E_RX_CSUM_BAD);
	assert_int_equal(m.flags, 0);
	assert_memory_equal(frame, orig, len);
	assert_int_equal(e1000e_rx_meta(E1000_RXD_STAT_TCPCS, E1000_RXD_ERR_IPE, frame, len, &m),
			 E1000E_RX_CSUM_BAD);
	/* Nothing verified, or IXSM. */
	assert_int_equal(e1000e_rx_meta(E1000_RXD_STAT_DD, 0, frame, len, &m), E1000E_RX_CSUM_NONE);
	assert_int_equal(e1000e_rx_meta(E1000_RXD_STAT_TCPCS | E1000_RXD_STAT_IXSM, 0, frame, len, &m),
			 E1000E_RX_CSUM_NONE);
	assert_memory_equal(frame, orig, len);
	/* A non-zero trailer after the IP packet: plain, whole. */
	len = build(frame, false, true, E1000E_IPPROTO_TCP, 0, 6, 0x5a);
	memcpy(orig, frame, len);
	assert_int_equal(e1000e_rx_meta(E1000_RXD_STAT_TCPCS, 0, frame, len, &m), E1000E_RX_CSUM_NONE);
	assert_int_equal(m.flags, 0);
	assert_memory_equal(frame, orig, len);
	/* UDP: no checksum (0), and a UDP length short of the IP payload. */
	len = build(frame, false, true, E1000E_IPPROTO_UDP, 40, 0, 0);
	e1000e_put16(frame + 34 + 6, 0);
	assert_int_equal(e1000e_rx_meta(E1000_RXD_STAT_TCPCS | E1000_RXD_STAT_UDPCS, 0, frame, len, &m),
			 E1000E_RX_CSUM_NONE);
	len = build(frame, false, true, E1000E_IPPROTO_UDP, 40, 0, 0);
	e1000e_put16(frame + 34 + 4, 30);
	assert_int_equal(e1000e_rx_meta(E1000_RXD_STAT_TCPCS | E1000_RXD_STAT_UDPCS, 0, frame, len, &m),
			 E1000E_RX_CSUM_NONE);
	/* An IPv4 total length past the frame. */
	len = build(frame, false, true, E1000E_IPPROTO_TCP, 100, 0, 0);
	assert_int_equal(e1000e_rx_meta(E1000_RXD_STAT_TCPCS, 0, frame, len - 1, &m),
			 E1000E_RX_CSUM_NONE);
}

/* The system's partial checksum, as tun hands it: the pseudo-header's sum in the field. */
static void partial(uint8_t *f, unsigned int l3, bool v4, unsigned int l4, unsigned int l4len,
		    uint8_t proto, unsigned int field, struct dbk_net_meta *m)
{
	uint16_t full = ref_l4_csum(f, l3, v4, l4, l4len, proto, field);

	e1000e_put16(f + field, 0);
	/* ~(pseudo + data) == full, so pseudo == ~full - data (ones' complement). */
	{
		uint32_t s = (uint16_t)~full + (uint16_t)~ref_sum(f + l4, l4len);

		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		e1000e_put16(f + field, (uint16_t)s);
	}
	memset(m, 0, sizeof(*m));
	m->flags = DBK_NET_META_NEEDS_CSUM;
	m->csum_start = (uint16_t)l4;
	m->csum_offset = (uint16_t)(field - l4);
}

static void test_tx_csum(void **state)
{
	struct e1000_ctx_desc c;
	struct dbk_net_meta m;
	unsigned int len, i;
	uint8_t popts = 0;

	(void)state;
	/* Outer TCP over IPv4: the device's (TXSM), the context where the checksum goes. */
	len = build(frame, false, true, E1000E_IPPROTO_TCP, 500, 0, 0);
	partial(frame, 14, true, 34, 520, E1000E_IPPROTO_TCP, 50, &m);
	memcpy(orig, frame, len);
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM, &m, frame, len, &c, &popts),
			 E1000E_TX_CSUM_HW);
	assert_memory_equal(frame, orig, len);	/* the device's to write, untouched here */
	assert_int_equal(c.tucss, 34);
	assert_int_equal(c.tucso, 50);
	assert_int_equal(c.tucse, 0);
	assert_true(c.cmd_and_length == (E1000_TXC_DEXT | E1000_TXC_TCP | E1000_TXC_IP));
	assert_int_equal(popts, E1000_TXD_POPTS_TXSM);
	/* UDP over IPv6 with a VLAN tag: the device's too. */
	len = build(frame, true, false, E1000E_IPPROTO_UDP, 33, 0, 0);
	partial(frame, 18, false, 58, 41, E1000E_IPPROTO_UDP, 64, &m);
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM, &m, frame, len, &c, &popts),
			 E1000E_TX_CSUM_HW);
	assert_int_equal(c.tucso, 64);
	assert_true(c.cmd_and_length == E1000_TXC_DEXT);
	/* A checksum the device cannot place (IPv6 with a hop-by-hop header): completed here, right. */
	len = build(frame, false, false, E1000E_IPPROTO_TCP, 300, 0, 0);
	memcpy(orig, frame, len);
	partial(frame, 14, false, 54, 320, E1000E_IPPROTO_TCP, 70, &m);
	frame[14 + 6] = 0;		/* the parser now sees an extension header */
	orig[14 + 6] = 0;
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM, &m, frame, len, &c, &popts),
			 E1000E_TX_CSUM_SW);
	assert_memory_equal(frame, orig, len);
	/*
	 * A checksum elsewhere than the outer TCP/UDP header's (an inner
	 * header at the payload's start; the wrong field for the protocol):
	 * completed here, as the kernel would.
	 */
	for (i = 0; i < 2; i++) {
		len = build(frame, false, true, E1000E_IPPROTO_TCP, 200, 0, 0);
		memset(&m, 0, sizeof(m));
		m.flags = DBK_NET_META_NEEDS_CSUM;
		m.csum_start = i ? 34 : 34 + 20;
		m.csum_offset = i ? 6 : 16;
		memcpy(orig, frame, len);
		complete(orig, len, &m);
		assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM, &m, frame, len, &c, &popts),
				 E1000E_TX_CSUM_SW);
		assert_memory_equal(frame, orig, len);
	}
	/* UDP whose checksum comes to 0: sent as 0xffff (0 means none, RFC 768). */
	len = build(frame, false, false, E1000E_IPPROTO_UDP, 40, 0, 0);
	partial(frame, 14, false, 54, 48, E1000E_IPPROTO_UDP, 60, &m);
	frame[14 + 6] = 0;		/* an extension header: the driver's to complete */
	{
		uint16_t rest;

		e1000e_put16(frame + len - 2, 0);
		rest = ref_sum(frame + 54, len - 54);
		e1000e_put16(frame + len - 2, (uint16_t)(0xffff - rest));
	}
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM, &m, frame, len, &c, &popts),
			 E1000E_TX_CSUM_SW);
	assert_int_equal(e1000e_get16(frame + 60), 0xffff);
	/* Nothing asked. */
	memset(&m, 0, sizeof(m));
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM, &m, frame, len, &c, &popts),
			 E1000E_TX_PLAIN);
	/* The field past the frame; a GSO frame without NEEDS_CSUM. */
	m.flags = DBK_NET_META_NEEDS_CSUM;
	m.csum_start = (uint16_t)(len - 10);
	m.csum_offset = 16;
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM, &m, frame, len, &c, &popts), -EINVAL);
	memset(&m, 0, sizeof(m));
	m.gso_type = DBK_NET_GSO_TCPV4;
	m.gso_size = 1448;
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4, &m, frame, len,
					   &c, &popts), -EINVAL);
}

/*
 * A GSO frame (IPv4 or IPv6, TCP or UDP, @payload bytes; @doff, if not 0,
 * written where TCP's data offset is) with the system's partial checksum:
 * what e1000e_tx_offload() says of it, with every offload taken.
 */
static int gso(bool v4, uint8_t proto, unsigned int payload, uint8_t doff, uint8_t type,
	       uint16_t size)
{
	unsigned int l4 = v4 ? 34 : 54, l4len = (proto == E1000E_IPPROTO_TCP ? 20 : 8) + payload;
	unsigned int len = build(frame, false, v4, proto, payload, 0, 0);
	struct e1000_ctx_desc c;
	struct dbk_net_meta m;
	uint8_t popts;

	if (doff)
		frame[l4 + 12] = (uint8_t)(doff << 4);
	partial(frame, 14, v4, l4, l4len, proto, l4 + (proto == E1000E_IPPROTO_TCP ? 16 : 6), &m);
	m.gso_type = type;
	m.gso_size = size;
	return e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4 | DBK_NET_OFFLOAD_TSO6,
				 &m, frame, len, &c, &popts);
}

static void test_tx_tso(void **state)
{
	const unsigned int payload = 60000, l4len = 20 + payload;
	struct e1000_ctx_desc c;
	struct dbk_net_meta m;
	unsigned int len;
	uint8_t popts = 0;

	(void)state;
	len = build(frame, false, true, E1000E_IPPROTO_TCP, payload, 0, 0);
	partial(frame, 14, true, 34, l4len, E1000E_IPPROTO_TCP, 50, &m);
	m.gso_type = DBK_NET_GSO_TCPV4;
	m.gso_size = 1448;
	/* Not taken (TSO4 off): refused. */
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM, &m, frame, len, &c, &popts), -EINVAL);
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4, &m, frame, len,
					   &c, &popts), E1000E_TX_TSO);
	/* §7.3: the IP header's length and checksum 0, TCP's the pseudo sum without a length. */
	assert_int_equal(e1000e_get16(frame + 16), 0);
	assert_int_equal(e1000e_get16(frame + 24), 0);
	assert_int_equal(e1000e_get16(frame + 50), ref_sum((const uint8_t[]){ 0x0a, 0x58, 0x00, 0x02,
									     0x0a, 0x58, 0x00, 0x01,
									     0x00, 0x06 }, 10));
	assert_int_equal(c.ipcss, 14);
	assert_int_equal(c.ipcso, 24);
	assert_int_equal(c.ipcse, 33);
	assert_int_equal(c.tucss, 34);
	assert_int_equal(c.tucso, 50);
	assert_int_equal(c.hdr_len, 54);
	assert_int_equal(c.mss, 1448);
	assert_true(c.cmd_and_length == (E1000_TXC_DEXT | E1000_TXC_TSE | E1000_TXC_TCP | E1000_TXC_IP |
					 (len - 54)));
	assert_int_equal(popts, E1000_TXD_POPTS_TXSM | E1000_TXD_POPTS_IXSM);
	/* Segments up to a jumbo frame (54 + 9180 bytes), not one byte more; gso_size 0: refused. */
	len = build(frame, false, true, E1000E_IPPROTO_TCP, payload, 0, 0);
	partial(frame, 14, true, 34, l4len, E1000E_IPPROTO_TCP, 50, &m);
	m.gso_type = DBK_NET_GSO_TCPV4;
	m.gso_size = 9181;
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4, &m, frame, len,
					   &c, &popts), -EINVAL);
	m.gso_size = 0;
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4, &m, frame, len,
					   &c, &popts), -EINVAL);
	m.gso_size = 9180;
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4, &m, frame, len,
					   &c, &popts), E1000E_TX_TSO);
	/* A TCP header shorter than 20 bytes (data offset 4); a GSO frame of headers only. */
	assert_int_equal(gso(true, E1000E_IPPROTO_TCP, payload, 4, DBK_NET_GSO_TCPV4, 1448), -EINVAL);
	assert_int_equal(gso(true, E1000E_IPPROTO_TCP, 0, 0, DBK_NET_GSO_TCPV4, 1448), -EINVAL);
	/* GSO asked of a UDP datagram (a plausible data offset where TCP's would be), TCPV4 of IPv6. */
	assert_int_equal(gso(true, E1000E_IPPROTO_UDP, 3000, 5, DBK_NET_GSO_TCPV4, 1400), -EINVAL);
	assert_int_equal(gso(false, E1000E_IPPROTO_TCP, 3000, 0, DBK_NET_GSO_TCPV4, 1400), -EINVAL);
	assert_int_equal(gso(false, E1000E_IPPROTO_TCP, 3000, 0, DBK_NET_GSO_TCPV6, 1400), E1000E_TX_TSO);
	/* TSO6: IPCSS set too (the device finds the length there), no IP checksum. */
	len = build(frame, false, false, E1000E_IPPROTO_TCP, 20000, 0, 0);
	partial(frame, 14, false, 54, 20020, E1000E_IPPROTO_TCP, 70, &m);
	m.gso_type = DBK_NET_GSO_TCPV6;
	m.gso_size = 1428;
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4, &m, frame, len,
					   &c, &popts), -EINVAL);
	assert_int_equal(e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO6, &m, frame, len,
					   &c, &popts), E1000E_TX_TSO);
	assert_int_equal(c.ipcss, 14);
	assert_int_equal(c.hdr_len, 74);
	assert_int_equal(c.tucss, 54);
	assert_int_equal(c.tucso, 70);
	assert_true(c.cmd_and_length == (E1000_TXC_DEXT | E1000_TXC_TSE | E1000_TXC_TCP | (len - 74)));
	assert_int_equal(e1000e_get16(frame + 18), 0);	/* payload length */
	{
		uint8_t ph[34] = { 0 };		/* addresses, a length of 0, next header 6 */

		memcpy(ph, frame + 22, 32);
		ph[33] = 6;
		assert_int_equal(e1000e_get16(frame + 70), ref_sum(ph, sizeof(ph)));
	}
	assert_int_equal(popts, E1000_TXD_POPTS_TXSM);
}

/*
 * Garbage of every short length, with every metadata a tun read may
 * carry: no crash, and, built with a sanitizer (-Db_sanitize=address), no
 * read past the frame (each is malloc'ed to its exact length).
 */
static void test_garbage(void **state)
{
	static const uint8_t gso[] = { DBK_NET_GSO_NONE, DBK_NET_GSO_TCPV4, DBK_NET_GSO_TCPV6 };
	struct e1000_ctx_desc c;
	struct dbk_net_meta m;
	unsigned int len, g, start, seed = 1;
	uint8_t popts, *f;

	(void)state;
	for (len = 14; len < 140; len++) {
		for (g = 0; g < 3; g++) {
			for (start = 0; start < len + 4; start += 3) {
				f = malloc(len);	/* exact: ASan, if on, sees a read past it */
				assert_non_null(f);
				for (unsigned int i = 0; i < len; i++)
					f[i] = (uint8_t)((seed = seed * 1103515245 + 12345) >> 16);
				if (len > 20)
					e1000e_put16(f + 12, (start & 1) ? E1000E_ETH_P_IPV4 : E1000E_ETH_P_IPV6);
				memset(&m, 0, sizeof(m));
				m.flags = DBK_NET_META_NEEDS_CSUM;
				m.gso_type = gso[g];
				m.gso_size = 536;
				m.csum_start = (uint16_t)start;
				m.csum_offset = (start & 2) ? 16 : 6;
				(void)e1000e_tx_offload(DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4 |
							DBK_NET_OFFLOAD_TSO6, &m, f, len, &c, &popts);
				(void)e1000e_rx_meta(E1000_RXD_STAT_TCPCS | E1000_RXD_STAT_UDPCS, 0, f, len,
						     &m);
				free(f);
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_rx_good),
		cmocka_unit_test(test_rx_not_marked),
		cmocka_unit_test(test_tx_csum),
		cmocka_unit_test(test_tx_tso),
		cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
