/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Intel 82574 GbE controller (8086:10d3, QEMU's -device e1000e): the
 * registers and descriptors this driver uses.  Sections are those of the
 * "Intel 82574 GbE Controller Family Datasheet": chapter 7 (inline
 * functions: §7.1 receive, §7.2 transmit, §7.4 interrupts) and chapter 10
 * (§10.2, the register descriptions), cited to the section, not the
 * subsection; QEMU's hw/net/e1000e_core.c and e1000_regs.h model the same.
 * All registers are 32 bits wide, in BAR0 (128 KiB of MMIO, §10.1).
 */
#ifndef E1000E_REGS_H
#define E1000E_REGS_H

#include <stdint.h>

#define E1000E_BAR		0

/* §10.2 General registers */
#define E1000_CTRL		0x00000		/* §10.2 Device Control */
#define  E1000_CTRL_SLU		(1u << 6)	/* Set Link Up */
#define  E1000_CTRL_RST		(1u << 26)	/* Device Reset (self-clearing) */
#define E1000_STATUS		0x00008		/* §10.2 Device Status */
#define  E1000_STATUS_FD	(1u << 0)	/* full duplex */
#define  E1000_STATUS_LU	(1u << 1)	/* link up */
#define  E1000_STATUS_SPEED(s)	(((s) >> 6) & 3)	/* 0: 10, 1: 100, 2/3: 1000 Mb/s */
#define E1000_EERD		0x00014		/* §10.2 EEPROM Read */
#define  E1000_EERD_START	(1u << 0)
#define  E1000_EERD_DONE	(1u << 1)
#define  E1000_EERD_ADDR_SHIFT	2
#define  E1000_EERD_DATA_SHIFT	16
#define E1000_CTRL_EXT		0x00018		/* §10.2 Extended Device Control */

/* §10.2 Interrupt registers */
#define E1000_ICR		0x000C0		/* §10.2 Interrupt Cause Read (write 1 to clear) */
#define E1000_ITR		0x000C4		/* §10.2 Interrupt Throttling (INTx, MSI) */
#define E1000_ICS		0x000C8		/* §10.2 Interrupt Cause Set */
#define E1000_IMS		0x000D0		/* §10.2 Interrupt Mask Set */
#define E1000_IMC		0x000D8		/* §10.2 Interrupt Mask Clear */
#define E1000_EIAC		0x000DC		/* §10.2 Extended Interrupt Auto Clear */
#define E1000_IVAR		0x000E4		/* §10.2 Interrupt Vector Allocation */
#define E1000_EITR(v)		(0x000E8 + 4 * (v))	/* §10.2 Extended Interrupt Throttling */
#define  E1000_NR_MSIX		5		/* §10.2 EITR0-4: the vectors the 82574 has */
#define  E1000_XITR_NS		256		/* ITR/EITR interval unit, in ns (§10.2.4.2) */
#define  E1000_ICR_LSC		(1u << 2)	/* link status change */
#define  E1000_ICR_RXQ0		(1u << 20)	/* MSI-X causes (§7.4): receive queue 0 */
#define  E1000_ICR_TXQ0		(1u << 22)	/* transmit queue 0 */
#define  E1000_ICR_OTHER	(1u << 24)	/* any other cause (link) */
/* IVAR: a 4-bit field per cause, vector number and a valid bit (§10.2). */
#define  E1000_IVAR_VALID	0x8u
#define  E1000_IVAR_RXQ0(v)	((E1000_IVAR_VALID | (v)) << 0)
#define  E1000_IVAR_TXQ0(v)	((E1000_IVAR_VALID | (v)) << 8)
#define  E1000_IVAR_OTHER(v)	((E1000_IVAR_VALID | (v)) << 16)
#define  E1000_IVAR_TX_EVERY_WB	(1u << 31)	/* a TX interrupt on every write-back */

/* §10.2 Receive registers */
#define E1000_RCTL		0x00100		/* §10.2 Receive Control */
#define  E1000_RCTL_EN		(1u << 1)
#define  E1000_RCTL_UPE		(1u << 3)	/* unicast promiscuous */
#define  E1000_RCTL_MPE		(1u << 4)	/* multicast promiscuous */
#define  E1000_RCTL_BAM		(1u << 15)	/* accept broadcast */
#define  E1000_RCTL_BSIZE_2048	(0u << 16)	/* buffer size 2048 (BSEX 0) */
#define  E1000_RCTL_SECRC	(1u << 26)	/* strip the Ethernet CRC */
#define E1000_RDBAL		0x02800		/* §10.2 RX descriptor base, ring length, head, tail */
#define E1000_RDBAH		0x02804
#define E1000_RDLEN		0x02808		/* bytes, a multiple of 128 */
#define E1000_RDH		0x02810
#define E1000_RDT		0x02818
#define E1000_RDTR		0x02820		/* receive delay timer */
#define E1000_RADV		0x0282C		/* absolute receive delay */
#define E1000_RXCSUM		0x05000		/* §10.2 Receive Checksum Control */
#define  E1000_RXCSUM_IPOFLD	(1u << 8)	/* verify IPv4 header checksums */
#define  E1000_RXCSUM_TUOFLD	(1u << 9)	/* verify TCP and UDP checksums */
#define E1000_MTA(i)		(0x05200 + 4 * (i))	/* §10.2 multicast table, 128 words */
#define E1000_RAL0		0x05400		/* §10.2 Receive Address 0 low */
#define E1000_RAH0		0x05404		/* ... high: bytes 4-5, and AV */
#define  E1000_RAH_AV		(1u << 31)	/* address valid */

/* §10.2 Transmit registers */
#define E1000_TCTL		0x00400		/* §10.2 Transmit Control */
#define  E1000_TCTL_EN		(1u << 1)
#define  E1000_TCTL_PSP		(1u << 3)	/* pad short packets */
#define  E1000_TCTL_CT(x)	((x) << 4)	/* collision threshold */
#define  E1000_TCTL_COLD(x)	((x) << 12)	/* collision distance */
#define E1000_TIPG		0x00410		/* §10.2 Transmit IPG */
#define  E1000_TIPG_82574	0x00602008u	/* IPGT 8, IPGR1 8, IPGR2 6: the datasheet's value */
#define E1000_TDBAL		0x03800		/* TX descriptor base, ring length, head, tail */
#define E1000_TDBAH		0x03804
#define E1000_TDLEN		0x03808
#define E1000_TDH		0x03810
#define E1000_TDT		0x03818
#define E1000_TIDV		0x03820		/* transmit interrupt delay */
#define E1000_TADV		0x0382C

/* §10.2 Statistics (clear on read) */
#define E1000_CRCERRS		0x04000
#define E1000_MPC		0x04010		/* missed packets: no RX descriptor free */
#define E1000_GPRC		0x04074		/* good packets received */
#define E1000_GPTC		0x04080		/* good packets transmitted */

/* §7.1 Legacy receive descriptor (16 bytes) */
struct e1000_rx_desc {
	uint64_t addr;
	uint16_t length;
	uint16_t csum;
	uint8_t status;
	uint8_t errors;
	uint16_t special;
};
#define E1000_RXD_STAT_DD	0x01	/* descriptor done */
#define E1000_RXD_STAT_EOP	0x02	/* end of packet */
#define E1000_RXD_STAT_IXSM	0x04	/* ignore the checksum bits */
#define E1000_RXD_STAT_UDPCS	0x10	/* UDP checksum verified (RXCSUM.TUOFLD) */
#define E1000_RXD_STAT_TCPCS	0x20	/* TCP (or UDP) checksum verified */
#define E1000_RXD_ERR_FRAME	0x97	/* CE, SE, SEQ, CXE, RXE: a bad frame */
#define E1000_RXD_ERR_TCPE	0x20	/* the TCP/UDP checksum is wrong */
#define E1000_RXD_ERR_IPE	0x40	/* the IPv4 header checksum is wrong */

/*
 * §7.2 Legacy transmit descriptor (16 bytes).  The extended data
 * descriptor (§7.2, DEXT set) has the same layout in the bytes used here:
 * DTALEN's low 16 bits in `length`, DTYP in `cso`'s high nibble, DCMD in
 * `cmd`, STA in `status` and POPTS in `css`.
 */
struct e1000_tx_desc {
	uint64_t addr;
	uint16_t length;
	uint8_t cso;
	uint8_t cmd;
	uint8_t status;
	uint8_t css;
	uint16_t special;
};
#define E1000_TXD_CMD_EOP	0x01	/* end of packet */
#define E1000_TXD_CMD_IFCS	0x02	/* insert FCS */
#define E1000_TXD_CMD_TSE	0x04	/* extended: TCP segmentation (§7.3) */
#define E1000_TXD_CMD_RS	0x08	/* report status (DD) */
#define E1000_TXD_CMD_DEXT	0x20	/* an extended descriptor (data or context) */
#define E1000_TXD_STAT_DD	0x01
#define E1000_TXD_DTYP_D	0x10	/* in `cso`: an extended data descriptor */
#define E1000_TXD_POPTS_IXSM	0x01	/* in `css`: insert the IPv4 header checksum */
#define E1000_TXD_POPTS_TXSM	0x02	/* insert the TCP/UDP checksum */

/*
 * §7.2 TCP/IP context descriptor (16 bytes, DEXT set, DTYP 0): where the
 * checksums of the data descriptors after it start, go and end (0: the
 * packet's end), and for TCP segmentation (§7.3) the headers' length,
 * the MSS and the payload's length.  DD comes back in `status`, at the
 * same byte as a data descriptor's.
 */
struct e1000_ctx_desc {
	uint8_t ipcss, ipcso;
	uint16_t ipcse;
	uint8_t tucss, tucso;
	uint16_t tucse;
	uint32_t cmd_and_length;	/* PAYLEN (bits 0-19), DTYP (20-23), TUCMD (24-31) */
	uint8_t status;
	uint8_t hdr_len;
	uint16_t mss;
};
#define E1000_TXC_TCP		(1u << 24)	/* TUCMD: the L4 protocol is TCP (else UDP) */
#define E1000_TXC_IP		(1u << 25)	/* IPv4 (else IPv6) */
#define E1000_TXC_TSE		(1u << 26)	/* TCP segmentation */
#define E1000_TXC_RS		(1u << 27)	/* report status */
#define E1000_TXC_DEXT		(1u << 29)	/* extended (a context descriptor with DTYP 0) */
#define E1000_TXC_PAYLEN_MAX	0xfffffu

#endif /* E1000E_REGS_H */
