/* SPDX-License-Identifier: MIT */
/*
 * acme-edu: what the driver (acme-edu-driver.c), its policy
 * (acme_edu_fw.bpf.c) and the build's test share.  Plain #defines only, so
 * that BPF C can include it too.
 */
#ifndef ACME_EDU_H
#define ACME_EDU_H

/* QEMU's edu device (QEMU docs/specs/edu.txt): PCI 1234:11e8. */
#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8

/* The registers this driver uses, all 32 bits wide, in BAR0. */
#define EDU_BAR			0
#define EDU_ID			0x00	/* RO: 0xRRrr00ed */
#define EDU_FACT		0x08	/* RW: write n, read n! when done */
#define EDU_STATUS		0x20	/* RW */
#define  EDU_STATUS_IRQFACT	0x80	/*   interrupt when a factorial is done */
#define EDU_IRQ_STATUS		0x24	/* RO: what raised the interrupt */
#define EDU_IRQ_ACK		0x64	/* WO: clear these interrupt bits */
#define EDU_IRQ_FACT		0x001	/* a factorial is done */

/*
 * The policy cookie devbrokerd gives this driver's grants: the 64-bit
 * FNV-1a hash of the manifest's Name= ("acme-edu"), which
 * `devbrokerctl status` also shows.  The policy rules only on grants with
 * this cookie, so it never touches another driver of the same device.
 * The build's test (cookie-test.c) checks it against the manifest's name.
 */
#define ACME_EDU_COOKIE		0x9592966dc73d3176ULL

#endif
