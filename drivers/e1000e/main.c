/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * e1000e: an unprivileged userspace driver for the Intel 82574L GbE
 * controller (8086:10d3; QEMU's -device e1000e), built on libdev only,
 * serving an ordinary network interface through the network frontend
 * (<devbroker/net.h>: devbrokerd made the TAP, dbk0, and handed its fd).
 * Registers and descriptors: e1000e-regs.h, which cites the 82574
 * datasheet; the DPDK em PMD and QEMU's hw/net/e1000e_core.c were the
 * references for the ring set-up.
 *
 * One thread, one loop:
 *  - frames the system sends out (the TAP fd readable) are copied into
 *    the transmit ring's buffers and the tail is moved (§7.2);
 *  - frames the device received (the RX vector, or the loop's timeout)
 *    are handed to the system and their descriptors given back (§7.1);
 *  - the TX vector reclaims sent descriptors; the "other" vector (link
 *    status change, §7.4) sets the TAP's carrier from STATUS.LU.
 * MSI-X: three vectors, RX queue 0, TX queue 0 and other, each to its
 * own eventfd through the grant (IVAR, §10.2), their causes cleared and
 * masked by the device when the message is sent (EIAC; §7.4), unmasked
 * (IMS) once handled, as Linux's e1000e does after its NAPI poll.  IMS and
 * IMC are mediated registers (a system call and the policy each), so the
 * loop writes them only to re-arm a vector that fired, never "just in
 * case":
 *  - the TX vector is armed only while the transmit ring is full (the
 *    loop reclaims sent descriptors whenever it runs; it needs waking
 *    only to make room);
 *  - the link is read (STATUS) when the other vector fires and at the
 *    idle timeout, not on every pass.
 * Interrupt moderation (§10.2 EITR): --itr N caps each vector at N
 * interrupts a second.  By default EITR stays as the reset left it (QEMU
 * 7.2 resets it to 500 units, 7,813 a second, and raises any value
 * written to at least that); the adaptive polling below bounds the rate
 * under load anyway.  (QEMU 7.2's e1000e aborts the VM when MSI-X goes
 * off while a vector's throttling timer runs; devbroker.ko's revocation
 * lets those timers run out first, tests/vm/kmod-revoke-storm.sh.)
 * Adaptive polling, after ixy: a pass
 * that moves POLL_ENTER frames or more leaves the RX vector masked and
 * the loop polls the rings and the TAP instead of sleeping, yielding the
 * CPU between empty passes; POLL_IDLE empty passes in a row re-arm the
 * vector and the loop sleeps again.  --poll irq never polls, --poll
 * always never sleeps.  Without MSI-X in the grant the driver polls
 * every 10 ms.
 *
 * Offloads (--offload, default tso): the device completes TCP and UDP
 * checksums and segments TCP over IPv4 (§7.2, §7.3), so the system hands
 * over frames of up to 64 KiB with their checksums to complete, each read
 * once (libdev's dbk_net_read_meta()); such a frame takes a context
 * descriptor and extended data descriptors, a plain one legacy
 * descriptors.  A checksum the device cannot place (an inner header) is
 * completed by the driver.  On receipt, checksums the device verified
 * (RXCSUM) are passed on as such (dbk_net_write_meta()), so the system
 * does not verify them again; bad ones are passed plain, for the system
 * to drop and count.  TSO over IPv6 only with --tso6 (see main()).
 *
 * Checks on what the system hands over: a frame shorter than an Ethernet
 * header, longer than a jumbo frame (unless it is for TSO) or than 64 KiB
 * is dropped and counted, never put on the wire; so is one asking an
 * offload we cannot do (TSO of anything but TCP at the outer header,
 * headers beyond 255 bytes).
 * What the device hands back: a received length above the buffer, a
 * frame spanning descriptors (no EOP: the buffers are 2048 bytes, the MTU
 * 1500) or one with errors is dropped and counted.
 *
 * usage: e1000e [--grant-fd N --net-fd N] [--poll adaptive|irq|always] [--itr N]
 *               [--offload none|csum|tso] [--tso6] [--verbose]
 * Exit: 0 on SIGTERM, 3 if the grant was revoked, 1 on a device error.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <devbroker/device.h>
#include <devbroker/handover.h>
#include <devbroker/net.h>

#include "e1000e-regs.h"
#include "frame.h"

#define NR_RX		128		/* descriptors: a ring of 2 KiB, a multiple of 128 bytes */
#define NR_TX		128
#define BUF_SIZE	2048		/* RCTL.BSIZE 2048 */
/*
 * Transmit memory: a frame is read whole into TX_SLOT-sized pieces from
 * the slot of the ring's tail on, and each piece is one data descriptor
 * (8 KiB: the most Linux's e1000e puts in one, E1000_MAX_PER_TXD).  A
 * TSO frame of 64 KiB takes TX_FRAME_SLOTS of them and, with its context
 * descriptor, TX_NEED descriptors: the ring must have that many free
 * before a read.  A frame's pieces sit behind its own descriptors' slots
 * (a context takes a descriptor, no memory), so they never reach a frame
 * still in flight; the TX_FRAME_SLOTS slots past the ring's last keep a
 * frame read near the end contiguous.
 */
#define TX_SLOT		8192
#define TX_FRAME_SLOTS	((DBK_NET_GSO_FRAME_MAX + TX_SLOT - 1) / TX_SLOT)
#define TX_NEED		(1 + TX_FRAME_SLOTS)
_Static_assert(NR_TX <= 256, "tx_eop[] holds descriptor indices in a byte");
#define POLL_MS		10		/* without MSI-X */
#define IDLE_MS		1000		/* with MSI-X: a look at the rings and the link anyway */
#define TX_HANG_MS	5000		/* descriptors pending, TDH not moving, link up: a hang */
#define ITR_DEFAULT	0		/* interrupts a second per vector (EITR); 0: as reset (see above) */
#define POLL_ENTER	4		/* frames moved in one pass: poll */
#define POLL_IDLE	1000		/* empty passes in a row: back to sleeping on the vector */

enum poll_mode { POLL_ADAPTIVE, POLL_IRQ, POLL_ALWAYS };

enum { VEC_RX, VEC_TX, VEC_OTHER, NR_VEC };
/* The cause each vector's message auto-masks (EIAC), by vector. */
static const uint32_t vec_cause[NR_VEC] = {
	[VEC_RX] = E1000_ICR_RXQ0, [VEC_TX] = E1000_ICR_TXQ0, [VEC_OTHER] = E1000_ICR_OTHER,
};

struct nic {
	struct dbk_dev *dev;
	struct dbk_net *net;
	struct dbk_dma_buf *rx_ring_buf, *tx_ring_buf, *rx_bufs, *tx_bufs;
	volatile struct e1000_rx_desc *rx;
	volatile struct e1000_tx_desc *tx;
	uint8_t *rx_mem, *tx_mem;
	uint64_t rx_iova, tx_iova;
	unsigned int rx_next;		/* the next descriptor the device fills */
	bool rx_partial;		/* inside a frame spanning descriptors: dropping it */
	unsigned int tx_tail, tx_clean;	/* next to fill; oldest not yet reclaimed */
	unsigned int tx_used, tx_inflight;	/* descriptors, frames */
	uint8_t tx_eop[NR_TX];		/* at a frame's first descriptor: its last's index */
	bool msix, link, verbose;
	unsigned int offloads;		/* DBK_NET_OFFLOAD_*, as the TAP took them (CSUM: RXCSUM on too) */
	enum poll_mode mode;
	unsigned int itr;		/* interrupts a second per vector; 0: EITR not written */
	bool polling;			/* the RX vector masked, the loop not sleeping */
	uint32_t armed;			/* of vec_cause[]: unmasked in IMS, as far as we know */
	uint8_t mac[6];
	uint64_t tx_progress_ms;	/* when TX last moved */
	/* Counted, reported at exit. */
	unsigned long rx_frames, tx_frames, rx_dropped, tx_dropped, resets;
	unsigned long rx_missed;	/* MPC: frames the device had no descriptor for */
	unsigned long tx_oversized;	/* of tx_dropped: refused by dbk_net_read() */
	unsigned long rx_irq_frames, rx_polled_frames, rx_wakeups, poll_switches;
	unsigned long tx_tso, tx_csum_hw, tx_csum_sw;	/* offloaded frames sent */
	unsigned long tx_refused;	/* of tx_dropped: offload requests we cannot honour */
	unsigned long rx_csum_good, rx_csum_err;	/* as the device's descriptor said */
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void logf_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logf_(const char *fmt, ...)
{
	va_list ap;

	fputs("e1000e: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	/* Coarse: under QEMU TCG a precise read is an HPET access, trapped. */
	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t rd(struct nic *n, uint32_t reg)
{
	uint32_t v = 0xffffffff;

	(void)dbk_read32(n->dev, E1000E_BAR, reg, &v);
	return v;
}

static void wr(struct nic *n, uint32_t reg, uint32_t v)
{
	(void)dbk_write32(n->dev, E1000E_BAR, reg, v);
}

/*
 * §10.2 MPC, clear on read: received frames the device dropped because no
 * descriptor was free (the driver fell behind; the other losses are ours
 * or the TAP's: rx_dropped).  Read before every reset and at exit.
 * QEMU 7.2's model never counts it (hw/net/e1000e_core.c: with no free
 * descriptor it holds the frame back in its own queue, and the register
 * is a plain read), so under QEMU it stays 0.
 */
static void count_missed(struct nic *n)
{
	uint32_t v;

	if (dbk_read32(n->dev, E1000E_BAR, E1000_MPC, &v) == 0)
		n->rx_missed += v;
}

/* §10.2 EERD: one 16-bit word of the EEPROM, or -1. */
static int eeprom_word(struct nic *n, unsigned int addr)
{
	uint32_t v;
	int i;

	wr(n, E1000_EERD, (addr << E1000_EERD_ADDR_SHIFT) | E1000_EERD_START);
	for (i = 0; i < 1000; i++) {
		v = rd(n, E1000_EERD);
		if (v & E1000_EERD_DONE)
			return (int)(v >> E1000_EERD_DATA_SHIFT);
		usleep(10);
	}
	return -1;
}

/* The MAC address: RAL0/RAH0, which the device loads from its EEPROM at reset; else the EEPROM's words 0-2. */
static int read_mac(struct nic *n)
{
	uint32_t lo = rd(n, E1000_RAL0), hi = rd(n, E1000_RAH0);
	int i, w;

	if ((hi & E1000_RAH_AV) && (lo || (hi & 0xffff))) {
		for (i = 0; i < 4; i++)
			n->mac[i] = (uint8_t)(lo >> (8 * i));
		n->mac[4] = (uint8_t)hi;
		n->mac[5] = (uint8_t)(hi >> 8);
		return 0;
	}
	for (i = 0; i < 3; i++) {
		w = eeprom_word(n, (unsigned int)i);
		if (w < 0)
			return -EIO;
		n->mac[2 * i] = (uint8_t)w;
		n->mac[2 * i + 1] = (uint8_t)(w >> 8);
	}
	return 0;
}

/*
 * §4.6 (initialization), CTRL.RST: everything but PCI configuration back to
 * defaults.  Interrupts, receive and transmit are turned off by hand first:
 * QEMU 7.2's CTRL.RST resets only the MAC address (hw/net/e1000e_core.c,
 * e1000e_set_ctrl()), and a NIC a killed driver left still holds its rings.
 */
static int reset(struct nic *n)
{
	int i;

	wr(n, E1000_IMC, 0xffffffff);
	wr(n, E1000_RCTL, 0);
	wr(n, E1000_TCTL, 0);
	wr(n, E1000_CTRL, rd(n, E1000_CTRL) | E1000_CTRL_RST);
	usleep(1000);		/* no register access for 1 ms after the reset starts */
	for (i = 0; i < 100; i++) {
		if (!(rd(n, E1000_CTRL) & E1000_CTRL_RST))
			break;
		usleep(1000);
	}
	if (i == 100)
		return -ETIMEDOUT;
	wr(n, E1000_IMC, 0xffffffff);
	(void)rd(n, E1000_ICR);
	wr(n, E1000_ICR, 0xffffffff);
	(void)rd(n, E1000_MPC);		/* clears a previous driver's count (real 82574s) */
	return 0;
}

static int dma_alloc(struct nic *n, size_t size, struct dbk_dma_buf **b, void **va, uint64_t *iova)
{
	int r = dbk_dma_buf_alloc(n->dev, size, b);

	if (r < 0)
		return r;
	*va = dbk_dma_buf_get_vaddr(*b);
	if (iova)
		*iova = dbk_dma_buf_get_iova(*b);
	return 0;
}

/* The rings and their buffers: the device only ever gets these addresses. */
static int alloc_rings(struct nic *n)
{
	void *rx, *tx, *rxm, *txm;
	uint64_t rx_ring, tx_ring;
	int r;

	r = dma_alloc(n, NR_RX * sizeof(struct e1000_rx_desc), &n->rx_ring_buf, &rx, &rx_ring);
	if (!r)
		r = dma_alloc(n, NR_TX * sizeof(struct e1000_tx_desc), &n->tx_ring_buf, &tx, &tx_ring);
	if (!r)
		r = dma_alloc(n, (size_t)NR_RX * BUF_SIZE, &n->rx_bufs, &rxm, &n->rx_iova);
	if (!r)
		r = dma_alloc(n, (size_t)(NR_TX + TX_FRAME_SLOTS) * TX_SLOT, &n->tx_bufs, &txm,
			      &n->tx_iova);
	if (r)
		return r;
	n->rx = rx;
	n->tx = tx;
	n->rx_mem = rxm;
	n->tx_mem = txm;
	return 0;
}

/* §7.1: every descriptor owned by the device, legacy format, 2048-byte buffers. */
static void setup_rx(struct nic *n)
{
	uint64_t ring = dbk_dma_buf_get_iova(n->rx_ring_buf);
	unsigned int i;

	for (i = 0; i < NR_RX; i++) {
		memset((void *)&n->rx[i], 0, sizeof(n->rx[i]));
		n->rx[i].addr = n->rx_iova + (uint64_t)i * BUF_SIZE;
	}
	n->rx_next = 0;
	n->rx_partial = false;
	wr(n, E1000_RDBAL, (uint32_t)ring);
	wr(n, E1000_RDBAH, (uint32_t)(ring >> 32));
	wr(n, E1000_RDLEN, NR_RX * sizeof(struct e1000_rx_desc));
	wr(n, E1000_RDH, 0);
	wr(n, E1000_RDT, NR_RX - 1);	/* one stays empty: head == tail means empty */
	wr(n, E1000_RDTR, 0);
	wr(n, E1000_RADV, 0);
	for (i = 0; i < 128; i++)
		wr(n, E1000_MTA(i), 0);
	/*
	 * Checksums verified by the device, or not at all: written either
	 * way, as the reset may not clear what a driver before us set.
	 */
	wr(n, E1000_RXCSUM, (n->offloads & DBK_NET_OFFLOAD_CSUM) ?
			    E1000_RXCSUM_IPOFLD | E1000_RXCSUM_TUOFLD : 0);
	/*
	 * Our address (RAL0/RAH0, kept from the EEPROM), broadcasts, and
	 * every multicast (IPv6 neighbour discovery and whatever the system
	 * joins: the system filters them again).
	 */
	wr(n, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_MPE | E1000_RCTL_BSIZE_2048 |
			  E1000_RCTL_SECRC);
}

/* §7.2: an empty ring, padding of short frames, the datasheet's IPG. */
static void setup_tx(struct nic *n)
{
	uint64_t ring = dbk_dma_buf_get_iova(n->tx_ring_buf);

	memset((void *)n->tx, 0, NR_TX * sizeof(*n->tx));
	n->tx_tail = n->tx_clean = n->tx_used = n->tx_inflight = 0;
	wr(n, E1000_TDBAL, (uint32_t)ring);
	wr(n, E1000_TDBAH, (uint32_t)(ring >> 32));
	wr(n, E1000_TDLEN, NR_TX * sizeof(struct e1000_tx_desc));
	wr(n, E1000_TDH, 0);
	wr(n, E1000_TDT, 0);
	wr(n, E1000_TIDV, 0);
	wr(n, E1000_TADV, 0);
	wr(n, E1000_TIPG, E1000_TIPG_82574);
	wr(n, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP | E1000_TCTL_CT(0x0f) |
			  E1000_TCTL_COLD(0x3f));
}

/* Unmask (IMS) or mask (IMC) one vector's cause, if it is not so already. */
static void irq_arm(struct nic *n, uint32_t cause, bool on)
{
	if (!n->msix || !!(n->armed & cause) == on)
		return;
	wr(n, on ? E1000_IMS : E1000_IMC, cause);
	n->armed = on ? n->armed | cause : n->armed & ~cause;
}

/*
 * §7.4, §10.2 IVAR: RX queue 0, TX queue 0 and other causes, each to its
 * vector; EITR, the interval between two messages of a vector, in units
 * of 256 ns (§10.2.4.2).
 */
static void setup_irqs(struct nic *n)
{
	uint32_t eitr = n->itr ? (uint32_t)(1000000000ull / ((uint64_t)E1000_XITR_NS * n->itr)) : 0;
	unsigned int i;

	if (!n->msix)
		return;
	wr(n, E1000_IVAR, E1000_IVAR_RXQ0(VEC_RX) | E1000_IVAR_TXQ0(VEC_TX) |
			  E1000_IVAR_OTHER(VEC_OTHER) | E1000_IVAR_TX_EVERY_WB);
	/* Only if asked: see the top of the file. */
	for (i = 0; n->itr && i < NR_VEC; i++)
		wr(n, E1000_EITR(i), eitr);
	/* The device clears (and masks) a cause once its message is sent. */
	wr(n, E1000_EIAC, E1000_ICR_RXQ0 | E1000_ICR_TXQ0 | E1000_ICR_OTHER);
	/* LSC stays unmasked: it reaches us through the other vector's cause. */
	n->armed = 0;
	wr(n, E1000_IMS, E1000_ICR_LSC);
	irq_arm(n, E1000_ICR_OTHER, true);
	irq_arm(n, E1000_ICR_RXQ0, !n->polling);
}

static void update_link(struct nic *n)
{
	uint32_t st = rd(n, E1000_STATUS);
	bool up = st & E1000_STATUS_LU;
	static const unsigned int mbps[4] = { 10, 100, 1000, 1000 };

	if (up == n->link)
		return;
	n->link = up;
	(void)dbk_net_set_carrier(n->net, up);
	if (up)
		logf_("%s: link up, %u Mb/s %s duplex", dbk_net_name(n->net),
		      mbps[E1000_STATUS_SPEED(st)], (st & E1000_STATUS_FD) ? "full" : "half");
	else
		logf_("%s: link down", dbk_net_name(n->net));
}

/* Bring-up: reset, MAC, rings, bus mastering, interrupts, link. */
static int bring_up(struct nic *n)
{
	int r;

	r = reset(n);
	if (r) {
		logf_("the reset did not complete: %s", strerror(-r));
		return r;
	}
	if (!n->mac[0] && !n->mac[1] && !n->mac[2] && !n->mac[3] && !n->mac[4] && !n->mac[5]) {
		r = read_mac(n);
		if (r) {
			logf_("reading the MAC address: %s", strerror(-r));
			return r;
		}
	}
	setup_tx(n);
	/* The device receives (and sends MSI-X) only with bus mastering on. */
	r = dbk_dev_set_bus_master(n->dev, 1);
	if (r) {
		logf_("enabling bus mastering: %s", strerror(-r));
		return r;
	}
	setup_rx(n);
	setup_irqs(n);
	wr(n, E1000_CTRL, rd(n, E1000_CTRL) | E1000_CTRL_SLU);
	n->link = false;
	(void)dbk_net_set_carrier(n->net, false);
	update_link(n);
	n->tx_progress_ms = now_ms();
	return 0;
}

/* The frame's receive metadata (frame.c), counted. */
static void rx_meta(struct nic *n, uint8_t st, uint8_t err, uint8_t *f, unsigned int len,
		    struct dbk_net_meta *m)
{
	if (!(n->offloads & DBK_NET_OFFLOAD_CSUM)) {	/* RXCSUM off: nothing verified */
		memset(m, 0, sizeof(*m));
		return;
	}
	switch (e1000e_rx_meta(st, err, f, len, m)) {
	case E1000E_RX_CSUM_GOOD: n->rx_csum_good++; break;
	case E1000E_RX_CSUM_BAD: n->rx_csum_err++; break;
	case E1000E_RX_CSUM_NONE: break;
	}
}

/* What a frame asks of the device (frame.c), counted: 1 with a context descriptor, 0 without, -EINVAL. */
static int tx_offload(struct nic *n, const struct dbk_net_meta *m, uint8_t *f, unsigned int len,
		      struct e1000_ctx_desc *c, uint8_t *popts)
{
	int r = e1000e_tx_offload(n->offloads, m, f, len, c, popts);

	switch (r) {
	case E1000E_TX_TSO: n->tx_tso++; return 1;
	case E1000E_TX_CSUM_HW: n->tx_csum_hw++; return 1;
	case E1000E_TX_CSUM_SW: n->tx_csum_sw++; return 0;
	case E1000E_TX_PLAIN: return 0;
	default: return r;	/* -EINVAL */
	}
}

/*
 * §7.1: frames the device wrote back, to the system; their descriptors
 * back to the device.  Returns the number of descriptors taken.
 */
static int rx_clean(struct nic *n)
{
	unsigned int last = NR_RX, budget = NR_RX;
	int done = 0;

	while (budget--) {
		volatile struct e1000_rx_desc *d = &n->rx[n->rx_next];
		uint8_t st = d->status;
		uint16_t len;

		if (!(st & E1000_RXD_STAT_DD))
			break;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);	/* the frame after its DD */
		len = d->length;
		/*
		 * A frame spanning descriptors (no EOP: longer than our
		 * buffers) is dropped whole, its last piece included, which
		 * alone would look like a frame.
		 */
		if (!(st & E1000_RXD_STAT_EOP)) {
			if (!n->rx_partial)
				n->rx_dropped++;
			n->rx_partial = true;
		} else if (n->rx_partial) {
			n->rx_partial = false;
		} else if ((d->errors & E1000_RXD_ERR_FRAME) || len < DBK_NET_FRAME_MIN ||
			   len > BUF_SIZE) {
			n->rx_dropped++;
		} else {
			uint8_t *f = n->rx_mem + (size_t)n->rx_next * BUF_SIZE;
			struct dbk_net_meta m;

			rx_meta(n, st, d->errors, f, len, &m);
			if (dbk_net_write_meta(n->net, &m, f, len) < 0)
				n->rx_dropped++;
			else
				n->rx_frames++;
		}
		d->status = 0;
		d->addr = n->rx_iova + (uint64_t)n->rx_next * BUF_SIZE;
		last = n->rx_next;
		n->rx_next = (n->rx_next + 1) % NR_RX;
		done++;
	}
	if (last != NR_RX) {
		__atomic_thread_fence(__ATOMIC_RELEASE);	/* descriptors before the tail */
		wr(n, E1000_RDT, last);
	}
	return done;
}

/*
 * §7.2: frames the device is done with (DD on their last descriptor, the
 * one with RS); how many descriptors they free.  Whole frames only, as
 * Linux's e1000e reclaims them: a TSO frame's header is read again for
 * each segment, so its memory is ours again only once the last is sent.
 */
static int tx_clean(struct nic *n)
{
	int done = 0;

	while (n->tx_used) {
		unsigned int first = n->tx_clean, eop = n->tx_eop[first];
		unsigned int k = (eop + NR_TX - first) % NR_TX + 1;

		if (!(n->tx[eop].status & E1000_TXD_STAT_DD))
			break;
		n->tx[eop].status = 0;
		n->tx_clean = (eop + 1) % NR_TX;
		n->tx_used -= k;
		n->tx_inflight--;
		done += (int)k;
	}
	if (done || !n->tx_used)
		n->tx_progress_ms = now_ms();
	return done;
}

/* Room in the transmit ring for any frame (one descriptor always stays empty). */
static bool tx_room(const struct nic *n)
{
	return NR_TX - 1 - n->tx_used >= TX_NEED;
}

/* Frames from the system, while the ring has room for any: how many were queued, or -errno. */
static int tx_fill(struct nic *n)
{
	struct dbk_net_meta m;
	struct e1000_ctx_desc ctx;
	int len, r, queued = 0;

	while (tx_room(n)) {
		unsigned int t = n->tx_tail, off, chunk;
		uint8_t *buf = n->tx_mem + (size_t)t * TX_SLOT, popts = 0;
		uint64_t iova = n->tx_iova + (uint64_t)t * TX_SLOT;

		len = dbk_net_read_meta(n->net, &m, buf, TX_FRAME_SLOTS * TX_SLOT);
		if (len == -EAGAIN)
			break;
		if (len > E1000E_MAX_FRAME && m.gso_type == DBK_NET_GSO_NONE)
			len = -EMSGSIZE;
		if (len == -EMSGSIZE) {		/* runt or too long: never to the wire */
			if (n->tx_oversized++ % 1000 == 0)
				logf_("%s: dropped a frame shorter than %d or longer than %d bytes (%lu so far): is the MTU above %d?",
				      dbk_net_name(n->net), DBK_NET_FRAME_MIN, E1000E_MAX_FRAME,
				      n->tx_oversized, E1000E_MAX_FRAME - 18);
			n->tx_dropped++;
			continue;
		}
		if (len == -EINVAL) {		/* a frame tun could not describe: consumed, dropped */
			n->tx_dropped++;
			break;
		}
		if (len < 0)
			return len;
		if (!n->link) {			/* no carrier: the system should not send; drop */
			n->tx_dropped++;
			continue;
		}
		r = tx_offload(n, &m, buf, (unsigned int)len, &ctx, &popts);
		if (r < 0) {
			if (n->tx_refused++ % 1000 == 0)
				logf_("%s: dropped a frame asking offloads we cannot do (flags %#x, gso %u, csum %u+%u; %lu so far)",
				      dbk_net_name(n->net), m.flags, m.gso_type, m.csum_start,
				      m.csum_offset, n->tx_refused);
			n->tx_dropped++;
			continue;
		}
		if (r) {
			ctx.status = 0;
			memcpy((void *)&n->tx[n->tx_tail], &ctx, sizeof(ctx));
			t = (t + 1) % NR_TX;
			n->tx_used++;
		}
		for (off = 0; off < (unsigned int)len; off += chunk) {
			volatile struct e1000_tx_desc *d = &n->tx[t];

			chunk = (unsigned int)len - off < TX_SLOT ? (unsigned int)len - off : TX_SLOT;
			d->addr = iova + off;
			d->length = (uint16_t)chunk;
			d->special = 0;
			d->status = 0;
			if (r) {	/* extended data descriptors after the context */
				d->cso = E1000_TXD_DTYP_D;
				d->css = popts;
				d->cmd = E1000_TXD_CMD_DEXT | E1000_TXD_CMD_IFCS |
					 ((ctx.cmd_and_length & E1000_TXC_TSE) ? E1000_TXD_CMD_TSE : 0);
			} else {
				d->cso = d->css = 0;
				d->cmd = E1000_TXD_CMD_IFCS;
			}
			/* The last: its status reports the whole frame (tx_clean()). */
			if (off + chunk == (unsigned int)len)
				d->cmd |= E1000_TXD_CMD_EOP | E1000_TXD_CMD_RS;
			t = (t + 1) % NR_TX;
			n->tx_used++;
		}
		n->tx_eop[n->tx_tail] = (uint8_t)((t + NR_TX - 1) % NR_TX);
		n->tx_inflight++;
		n->tx_tail = t;
		n->tx_frames++;
		queued++;
	}
	if (queued) {
		__atomic_thread_fence(__ATOMIC_RELEASE);
		wr(n, E1000_TDT, n->tx_tail);
	}
	return queued;
}

static void drain_eventfd(int fd)
{
	uint64_t v;

	if (fd >= 0)
		(void)read(fd, &v, sizeof(v));
}

/*
 * After a pass that moved `moved` frames: sleep on the RX vector or poll
 * (see the top of the file).  `idle` counts empty passes while polling.
 */
static void poll_or_sleep(struct nic *n, int rx, int moved, unsigned int *idle)
{
	if (!n->msix)
		return;
	if (n->polling) {
		n->rx_polled_frames += (unsigned long)rx;
		if (moved) {
			*idle = 0;
		} else if (n->mode == POLL_ADAPTIVE && ++*idle >= POLL_IDLE) {
			/* A frame that came meanwhile left its cause set: the unmask sends it. */
			n->polling = false;
			irq_arm(n, E1000_ICR_RXQ0, true);
		} else {
			sched_yield();
		}
		return;
	}
	n->rx_irq_frames += (unsigned long)rx;
	if (n->mode == POLL_ADAPTIVE && moved >= POLL_ENTER) {
		n->polling = true;
		n->poll_switches++;
		*idle = 0;
		irq_arm(n, E1000_ICR_RXQ0, false);	/* a write only if it was armed */
	} else {
		irq_arm(n, E1000_ICR_RXQ0, true);
	}
}

static int run(struct nic *n)
{
	struct pollfd p[1 + NR_VEC];
	bool fired[NR_VEC] = { false };
	unsigned int i, np, idle = 0;
	int r, rx, moved, timeout;

	while (!stop) {
		if (dbk_dev_is_revoked(n->dev) == 1)
			return 3;
		np = 0;
		p[np].fd = dbk_net_fd(n->net);
		/* A full ring: leave the frames in the TAP's queue (back-pressure). */
		p[np++].events = tx_room(n) ? POLLIN : 0;
		if (n->msix)
			for (i = 0; i < NR_VEC; i++) {
				p[np].fd = dbk_irq_get_fd(n->dev, i);
				p[np++].events = POLLIN;
			}
		timeout = n->polling ? 0 : n->msix ? IDLE_MS : POLL_MS;
		r = poll(p, np, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		for (i = 0; i < NR_VEC; i++) {
			fired[i] = n->msix && (p[1 + i].revents & POLLIN);
			if (fired[i]) {
				drain_eventfd(p[1 + i].fd);
				n->armed &= ~vec_cause[i];	/* masked by the device as it went */
			}
		}
		if (fired[VEC_RX])
			n->rx_wakeups++;
		if (fired[VEC_OTHER])
			wr(n, E1000_ICR, E1000_ICR_LSC | E1000_ICR_OTHER);
		/* The link: on its vector, and at the idle timeout (or every poll without MSI-X). */
		if (fired[VEC_OTHER] || (r == 0 && !n->polling))
			update_link(n);
		irq_arm(n, E1000_ICR_OTHER, true);
		/* A look at DD bits in our memory: no register access unless there is work. */
		rx = rx_clean(n);
		moved = rx + tx_clean(n);
		if (p[0].revents & POLLIN) {
			r = tx_fill(n);
			if (r < 0) {
				logf_("reading the TAP: %s", strerror(-r));
				return 1;
			}
			moved += r;
		}
		/* Woken only to make room: the TX vector is armed while the ring is full. */
		irq_arm(n, E1000_ICR_TXQ0, !tx_room(n));
		poll_or_sleep(n, rx, moved, &idle);
		/*
		 * A TX hang: descriptors pending and none written back (DD,
		 * §7.2) for TX_HANG_MS with the link up.  Write-back, not TDH:
		 * a device whose DMA is lost (bus mastering gone) may still
		 * move its head (QEMU's does, reading zeros) and never finish.
		 * The answer is the bring-up again: reset, rings anew.
		 */
		if (n->tx_used && n->link && now_ms() - n->tx_progress_ms > TX_HANG_MS) {
			logf_("transmit hang (TDH %u, TDT %u, %u pending): resetting the device",
			      rd(n, E1000_TDH), rd(n, E1000_TDT), n->tx_used);
			n->resets++;
			n->tx_dropped += n->tx_inflight;
			count_missed(n);
			r = bring_up(n);
			if (r)
				return 1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "grant-fd", required_argument, NULL, 'g' },
		{ "net-fd", required_argument, NULL, 'n' },
		{ "poll", required_argument, NULL, 'p' },
		{ "itr", required_argument, NULL, 'i' },
		{ "offload", required_argument, NULL, 'o' },
		{ "tso6", no_argument, NULL, '6' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct nic n;
	int grant_fd = -1, net_fd = -1, ch, r, rc;
	unsigned int offloads = DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4;
	struct dbk_irq_info ii = { .argsz = sizeof(ii), .index = DBK_IRQ_INDEX_MSIX };

	memset(&n, 0, sizeof(n));
	n.itr = ITR_DEFAULT;
	setvbuf(stderr, NULL, _IOLBF, 0);
	while ((ch = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (ch) {
		case 'g': grant_fd = atoi(optarg); break;
		case 'n': net_fd = atoi(optarg); break;
		case 'v': n.verbose = true; break;
		case 'p':
			if (!strcmp(optarg, "adaptive"))
				n.mode = POLL_ADAPTIVE;
			else if (!strcmp(optarg, "irq"))
				n.mode = POLL_IRQ;
			else if (!strcmp(optarg, "always"))
				n.mode = POLL_ALWAYS;
			else {
				logf_("--poll %s: want adaptive, irq or always", optarg);
				return 2;
			}
			break;
		case 'i': {
			char *end;
			unsigned long v = strtoul(optarg, &end, 10);

			/* 0: as reset; else at least one per 65535 units of 256 ns (EITR's 16 bits) */
			if (*end || end == optarg || (v && v < 60) || v > 1000000) {
				logf_("--itr %s: want 0 (EITR as reset) or 60 to 1000000 interrupts a second", optarg);
				return 2;
			}
			n.itr = (unsigned int)v;
			break;
		}
		case 'o':
			if (!strcmp(optarg, "none"))
				offloads = 0;
			else if (!strcmp(optarg, "csum"))
				offloads = DBK_NET_OFFLOAD_CSUM;
			else if (!strcmp(optarg, "tso"))
				offloads = DBK_NET_OFFLOAD_CSUM | DBK_NET_OFFLOAD_TSO4 |
					   (offloads & DBK_NET_OFFLOAD_TSO6);
			else {
				logf_("--offload %s: want none, csum or tso", optarg);
				return 2;
			}
			break;
		case '6':
			offloads |= DBK_NET_OFFLOAD_TSO6;
			break;
		case 'h':
			puts("usage: e1000e [--grant-fd N --net-fd N] [--poll adaptive|irq|always] [--itr N]\n"
			     "              [--offload none|csum|tso] [--tso6] [--verbose]");
			return 0;
		default:
			return 2;
		}
	}
	if (grant_fd < 0 || net_fd < 0) {
		struct dbk_handover *h;

		r = dbk_handover_get(&h);
		if (r < 0) {
			logf_("nothing handed over (%s): run under devbrokerd, or give --grant-fd and --net-fd",
			      strerror(-r));
			return 2;
		}
		if (grant_fd < 0)
			grant_fd = dbk_handover_take_fd(h, DBK_HANDOVER_GRANT);
		if (net_fd < 0)
			net_fd = dbk_handover_take_fd(h, DBK_HANDOVER_NET);
		dbk_handover_free(h);
	}
	if (grant_fd < 0 || net_fd < 0) {
		logf_("no %s handed over (the manifest needs [Frontend] Network=)",
		      grant_fd < 0 ? "grant" : "network interface");
		return 2;
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	r = dbk_catch_revocation();
	if (r < 0)
		logf_("cannot catch revocation: %s", strerror(-r));
	r = dbk_net_new(net_fd, &n.net);
	if (r < 0) {
		logf_("the network interface: %s", strerror(-r));
		return 1;
	}
	/*
	 * TSO6 only if asked: QEMU 7.2's e1000e, on a backend without a vnet
	 * header (a hub, a socket), "segments" by IPv4 fragmentation and
	 * corrupts IPv6 (hw/net/net_tx_pkt.c).  TSO needs the checksum.
	 */
	if (!(offloads & DBK_NET_OFFLOAD_CSUM))
		offloads = 0;
	r = dbk_net_set_offloads(n.net, offloads);
	if (r < 0) {
		logf_("%s: offloads %#x: %s; sending and receiving without", dbk_net_name(n.net),
		      offloads, strerror(-r));
		offloads = 0;
	}
	n.offloads = offloads;
	r = dbk_dev_adopt(grant_fd, &n.dev);
	if (r < 0) {
		logf_("adopting grant fd %d: %s", grant_fd, strerror(-r));
		return 1;
	}
	r = alloc_rings(&n);
	if (r < 0) {
		logf_("DMA memory for the rings: %s (the manifest asks DMA=2M)", strerror(-r));
		rc = 1;
		goto out;
	}
	n.polling = n.mode == POLL_ALWAYS;
	/*
	 * The NIC may still hold the rings of a driver before us (killed,
	 * revoked: its buffers are gone; a PM reset may not have reset it):
	 * reset it before MSI-X, which turns bus mastering on, lets it DMA.
	 */
	r = reset(&n);
	if (r) {
		logf_("the reset did not complete: %s", strerror(-r));
		rc = 1;
		goto out;
	}
	/* Three vectors, or polling. */
	if (dbk_dev_get_irq_info(n.dev, DBK_IRQ_INDEX_MSIX, &ii) == 0 && ii.count >= NR_VEC &&
	    dbk_irq_enable(n.dev, DBK_IRQ_INDEX_MSIX, NR_VEC) == 0)
		n.msix = true;
	else
		logf_("no %u MSI-X vectors in the grant: polling every %d ms", NR_VEC, POLL_MS);
	r = bring_up(&n);
	if (r) {
		rc = 1;
		goto out;
	}
	r = dbk_net_set_mac(n.net, n.mac);
	if (r)
		logf_("setting %s's MAC address: %s", dbk_net_name(n.net), strerror(-r));
	logf_("%s: 82574L up, MAC %02x:%02x:%02x:%02x:%02x:%02x, %s, offloads:%s%s%s%s",
	      dbk_net_name(n.net), n.mac[0], n.mac[1], n.mac[2], n.mac[3], n.mac[4], n.mac[5],
	      n.msix ? "MSI-X" : "polling", n.offloads ? "" : " none",
	      (n.offloads & DBK_NET_OFFLOAD_CSUM) ? " csum" : "",
	      (n.offloads & DBK_NET_OFFLOAD_TSO4) ? " tso4" : "",
	      (n.offloads & DBK_NET_OFFLOAD_TSO6) ? " tso6" : "");
	rc = run(&n);
	if (dbk_dev_is_revoked(n.dev) == 1)
		rc = 3;
out:
	if (rc != 3)
		count_missed(&n);
	logf_("%lu frames received, %lu sent; dropped %lu received, %lu to send; %lu resets; "
	      "%lu missed by the device (MPC: no free receive descriptor)",
	      n.rx_frames, n.tx_frames, n.rx_dropped, n.tx_dropped, n.resets, n.rx_missed);
	logf_("offloads: sent %lu TSO frames, %lu checksums by the device, %lu by the driver, %lu refused; "
	      "received %lu checksums verified by the device, %lu bad",
	      n.tx_tso, n.tx_csum_hw, n.tx_csum_sw, n.tx_refused, n.rx_csum_good, n.rx_csum_err);
	if (n.msix)
		logf_("poll %s: %lu frames received by interrupt (%lu RX wakeups), %lu by polling; %lu switches to polling",
		      n.mode == POLL_ADAPTIVE ? "adaptive" : n.mode == POLL_IRQ ? "irq" : "always",
		      n.rx_irq_frames, n.rx_wakeups, n.rx_polled_frames, n.poll_switches);
	if (rc != 3) {
		/* Quiet the device before its memory goes: no DMA after this. */
		wr(&n, E1000_IMC, 0xffffffff);
		wr(&n, E1000_RCTL, 0);
		wr(&n, E1000_TCTL, 0);
		/*
		 * Masked causes send no message; let the throttling timers of
		 * those sent run out (EITR, at most 65535 x 256 ns) before MSI-X
		 * goes: QEMU 7.2's e1000e aborts the VM if one finds it off.
		 */
		usleep(17000);
		(void)dbk_irq_disable(n.dev);
		(void)dbk_dev_set_bus_master(n.dev, 0);
	}
	(void)dbk_net_set_carrier(n.net, false);
	dbk_dma_buf_free(n.rx_bufs);
	dbk_dma_buf_free(n.tx_bufs);
	dbk_dma_buf_free(n.rx_ring_buf);
	dbk_dma_buf_free(n.tx_ring_buf);
	dbk_dev_free(n.dev);
	dbk_net_free(n.net);
	return rc;
}
