/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * drivers/e1000e's frame logic, apart from the device and the loop (so
 * that it is tested on its own: tests/unit/test-e1000e-frame.c): where a
 * frame's headers are, what a received frame's checksum status means for
 * the system, and what a frame from the system asks of the device.
 */
#include <errno.h>
#include <string.h>

#include "frame.h"

/* Big-endian 16-bit fields of a frame. */
uint16_t e1000e_get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

void e1000e_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The Internet checksum (RFC 1071): a ones' complement sum, folded. */
static uint32_t csum_add(const uint8_t *p, size_t len, uint32_t sum)
{
	for (; len > 1; p += 2, len -= 2)
		sum += e1000e_get16(p);
	if (len)
		sum += (uint32_t)p[0] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}


/* See frame.h. */
bool e1000e_parse_frame(const uint8_t *f, unsigned int len, struct e1000e_hdrs *h)
{
	unsigned int off = 14, ihl, tot;
	uint16_t type = e1000e_get16(f + 12);

	if (type == 0x8100 || type == 0x88a8) {
		if (len < 18)
			return false;
		type = e1000e_get16(f + 16);
		off = 18;
	}
	h->l3 = off;
	if (type == E1000E_ETH_P_IPV4) {
		if (len < off + 20 || f[off] >> 4 != 4)
			return false;
		ihl = (f[off] & 0xfu) * 4;
		tot = e1000e_get16(f + off + 2);
		if (ihl < 20 || tot < ihl || off + tot > len || (e1000e_get16(f + off + 6) & 0x3fff))
			return false;
		h->v4 = true;
		h->proto = f[off + 9];
		h->l4 = off + ihl;
		h->l4len = tot - ihl;
	} else if (type == E1000E_ETH_P_IPV6) {
		if (len < off + 40 || f[off] >> 4 != 6)
			return false;
		h->v4 = false;
		h->proto = f[off + 6];
		h->l4 = off + 40;
		h->l4len = e1000e_get16(f + off + 4);
		if (h->l4 + h->l4len > len)
			return false;
	} else {
		return false;
	}
	if (h->proto == E1000E_IPPROTO_TCP)
		return h->l4len >= 20;
	return h->proto == E1000E_IPPROTO_UDP && h->l4len >= 8;
}

/* The pseudo-header's sum (RFC 793, RFC 8200 §8.1) for an L4 length of @l4len, folded. */
static uint16_t pseudo_sum(const uint8_t *f, const struct e1000e_hdrs *h, unsigned int l4len)
{
	uint32_t sum = h->v4 ? csum_add(f + h->l3 + 12, 8, 0) : csum_add(f + h->l3 + 8, 32, 0);

	return csum_fold(sum + h->proto + l4len);
}

/* See frame.h; §7.1 for the descriptor's status and errors. */
enum e1000e_rx_csum e1000e_rx_meta(uint8_t st, uint8_t err, uint8_t *f, unsigned int len,
				   struct dbk_net_meta *m)
{
	struct e1000e_hdrs h;
	unsigned int field, i;

	memset(m, 0, sizeof(*m));
	if ((st & E1000_RXD_STAT_IXSM) || !(st & (E1000_RXD_STAT_TCPCS | E1000_RXD_STAT_UDPCS)))
		return E1000E_RX_CSUM_NONE;
	if (err & (E1000_RXD_ERR_TCPE | E1000_RXD_ERR_IPE))
		return E1000E_RX_CSUM_BAD;
	if (!e1000e_parse_frame(f, len, &h))
		return E1000E_RX_CSUM_NONE;
	field = h.l4 + (h.proto == E1000E_IPPROTO_TCP ? 16 : 6);
	if (h.proto == E1000E_IPPROTO_UDP && !e1000e_get16(f + field))
		return E1000E_RX_CSUM_NONE;	/* UDP without a checksum: nothing was verified */
	/* The device checksummed UDP's own length: only where it is the IP payload's. */
	if (h.proto == E1000E_IPPROTO_UDP && e1000e_get16(f + h.l4 + 4) != h.l4len)
		return E1000E_RX_CSUM_NONE;
	/*
	 * A system that forwards the frame completes this checksum over all
	 * of it: bytes after the IP packet (Ethernet padding, a trailer) must
	 * add nothing.  Zeros add nothing; anything else, and the frame goes
	 * plain, whole, for the system to verify.
	 */
	for (i = h.l4 + h.l4len; i < len; i++)
		if (f[i])
			return E1000E_RX_CSUM_NONE;
	e1000e_put16(f + field, pseudo_sum(f, &h, h.l4len));
	m->flags = DBK_NET_META_NEEDS_CSUM;
	m->csum_start = (uint16_t)h.l4;
	m->csum_offset = (uint16_t)(field - h.l4);
	return E1000E_RX_CSUM_GOOD;
}

/* See frame.h; §7.2 (checksum offload) and §7.3 (TCP segmentation). */
int e1000e_tx_offload(unsigned int offloads, const struct dbk_net_meta *m, uint8_t *f,
		      unsigned int len, struct e1000_ctx_desc *c, uint8_t *popts)
{
	unsigned int field = (unsigned int)m->csum_start + m->csum_offset, hdrlen;
	bool parsed, mapped;
	struct e1000e_hdrs h;
	uint16_t sum;

	if (!(m->flags & DBK_NET_META_NEEDS_CSUM) && m->gso_type == DBK_NET_GSO_NONE)
		return E1000E_TX_PLAIN;
	if (!(m->flags & DBK_NET_META_NEEDS_CSUM) || field + 2 > len)
		return -EINVAL;
	parsed = e1000e_parse_frame(f, len, &h);
	mapped = parsed && m->csum_start == h.l4 &&
		 m->csum_offset == (h.proto == E1000E_IPPROTO_TCP ? 16 : 6) && field < 256;
	memset(c, 0, sizeof(*c));
	if (m->gso_type != DBK_NET_GSO_NONE) {
		if (!mapped || h.proto != E1000E_IPPROTO_TCP || !m->gso_size ||
		    m->gso_type != (h.v4 ? DBK_NET_GSO_TCPV4 : DBK_NET_GSO_TCPV6) ||
		    !(offloads & (h.v4 ? DBK_NET_OFFLOAD_TSO4 : DBK_NET_OFFLOAD_TSO6)))
			return -EINVAL;
		hdrlen = h.l4 + (f[h.l4 + 12] >> 4) * 4u;
		/* Each segment must be a frame the device may send (a bridge does not check them). */
		if (hdrlen < h.l4 + 20 || hdrlen > 255 || hdrlen >= len ||
		    hdrlen + m->gso_size > E1000E_MAX_FRAME)
			return -EINVAL;
		/*
		 * §7.3: the device writes each segment's lengths and
		 * checksums; it wants the IP length 0 and the TCP checksum
		 * the pseudo-header's sum without a length (as Linux's e1000e
		 * prepares them, e1000_tso()).
		 */
		/* IPCSS also for IPv6: where the device finds the length it writes. */
		c->ipcss = (uint8_t)h.l3;
		if (h.v4) {
			e1000e_put16(f + h.l3 + 2, 0);
			e1000e_put16(f + h.l3 + 10, 0);
			c->ipcso = (uint8_t)(h.l3 + 10);
			c->ipcse = (uint16_t)(h.l4 - 1);
		} else {
			e1000e_put16(f + h.l3 + 4, 0);
		}
		e1000e_put16(f + field, pseudo_sum(f, &h, 0));
		c->tucss = (uint8_t)h.l4;
		c->tucso = (uint8_t)field;
		c->cmd_and_length = E1000_TXC_DEXT | E1000_TXC_TSE | E1000_TXC_TCP |
				    (h.v4 ? E1000_TXC_IP : 0) | (len - hdrlen);
		c->hdr_len = (uint8_t)hdrlen;
		c->mss = m->gso_size;
		*popts = E1000_TXD_POPTS_TXSM | (h.v4 ? E1000_TXD_POPTS_IXSM : 0);
		return E1000E_TX_TSO;
	}
	if (mapped) {
		/* The IP header's checksum is the system's, already final. */
		c->tucss = (uint8_t)h.l4;
		c->tucso = (uint8_t)field;
		c->cmd_and_length = E1000_TXC_DEXT |
				    (h.proto == E1000E_IPPROTO_TCP ? E1000_TXC_TCP : 0) |
				    (h.v4 ? E1000_TXC_IP : 0);
		*popts = E1000_TXD_POPTS_TXSM;
		return E1000E_TX_CSUM_HW;
	}
	/* The field holds the pseudo-header's sum: the sum of the rest completes it. */
	sum = (uint16_t)~csum_fold(csum_add(f + m->csum_start, len - m->csum_start, 0));
	if (!sum)
		sum = 0xffff;	/* as the kernel writes it: UDP's 0 means none (RFC 768) */
	e1000e_put16(f + field, sum);
	return E1000E_TX_CSUM_SW;
}
