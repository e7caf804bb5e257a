/* SPDX-License-Identifier: MIT */
/*
 * QEMU's edu device (1234:11e8): its registers, from QEMU's
 * docs/specs/edu.txt and hw/misc/edu.c (7.2).  The one copy: the edu
 * driver, its DMA guard policy (clang -target bpf), the benchmarks and the
 * tests include it.  Plain #defines only, so that BPF C can use it.
 */
#ifndef EDU_REGS_H
#define EDU_REGS_H

#define EDU_VENDOR		0x1234
#define EDU_DEVICE		0x11e8

/* edu.txt, "MMIO area spec": all in BAR0. */
#define EDU_BAR			0
#define EDU_ID			0x00	/* RO: 0xRRrr00ed */
#define EDU_LIVENESS		0x04	/* RW: reads back ~value */
#define EDU_FACT		0x08	/* RW: factorial computation */
#define EDU_STATUS		0x20	/* RW: status, bitwise OR */
#define  EDU_STATUS_COMPUTING	0x01	/*   computing factorial (RO) */
#define  EDU_STATUS_IRQFACT	0x80	/*   raise interrupt when done */
#define EDU_IRQ_STATUS		0x24	/* RO: what raised the interrupt */
#define EDU_IRQ_RAISE		0x60	/* WO */
#define EDU_IRQ_ACK		0x64	/* WO: clear these interrupt bits */
#define EDU_DMA_SRC		0x80	/* RW, 8-byte access allowed from 0x80 */
#define EDU_DMA_DST		0x88
#define EDU_DMA_CNT		0x90
#define EDU_DMA_CMD		0x98
#define  EDU_DMA_START		0x01
#define  EDU_DMA_TO_RAM		0x02	/* direction: 0 RAM->EDU, 1 EDU->RAM */
#define  EDU_DMA_IRQ		0x04	/* raise interrupt 0x100 when done */

/* Interrupt status bits (QEMU hw/misc/edu.c: FACT_IRQ, DMA_IRQ). */
#define EDU_IRQ_FACT		0x001
#define EDU_IRQ_DMA		0x100

/*
 * edu.txt: "One 4096 bytes long buffer at offset 0x40000".  But QEMU 7.2's
 * range check (hw/misc/edu.c, edu_check_range) wants the transfer's end
 * address strictly below 0x41000 and calls hw_error() otherwise, which
 * aborts the whole machine: a transfer that includes the buffer's last
 * byte kills QEMU ("EDU: DMA range 0x40000-0x40fff out of bounds
 * (0x40000-0x40fff)!").  So only the first 4095 bytes are usable.
 * (Upstream fixed the check later; a zero-length transfer trips it too.)
 */
#define EDU_DMA_BASE		0x40000
#define EDU_DMA_USABLE		4095

/* The DMA engine's address width (hw/misc/edu.c, dma_mask default). */
#define EDU_DMA_MASK_BITS	28

#endif
