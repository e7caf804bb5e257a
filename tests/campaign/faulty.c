/*
 * libdbk-faulty: a driver's faults, after MINIX 3's fault injection, put
 * into any libdev driver with LD_PRELOAD.  It interposes libdev's register
 * and DMA calls and, at the rate DBK_FAULT_RATE (one call in N, default
 * 4), makes them wrong: another register offset, a flipped bit in the
 * value, a skipped write (a lost acknowledgement), a wrong DMA address, a
 * garbage unmask.  The seed is DBK_FAULT_SEED.  Nothing else changes: the
 * driver believes its calls went as asked.
 */

#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <devbroker/device.h>

static uint64_t state;

static unsigned int roll(void)
{
	if (!state) {
		const char *s = getenv("DBK_FAULT_SEED");

		state = (s ? strtoull(s, NULL, 0) : 1) * 0x9e3779b97f4a7c15ULL | 1;
	}
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return (unsigned int)state;
}

static int faulty(void)
{
	static int said;
	const char *r = getenv("DBK_FAULT_RATE");
	unsigned int rate = r ? (unsigned int)atoi(r) : 4;

	if (!rate || roll() % rate)
		return 0;
	if (!said++)	/* the proof, in the broker's log, that faults were made */
		dprintf(2, "dbk-faulty: injecting faults into pid %d\n", (int)getpid());
	return 1;
}

#define WRAP_WRITE(bits)								\
int dbk_write##bits(struct dbk_dev *dev, unsigned int bar, uint64_t off, uint##bits##_t v)	\
{											\
	static int (*real)(struct dbk_dev *, unsigned int, uint64_t, uint##bits##_t);	\
											\
	if (!real)									\
		real = dlsym(RTLD_NEXT, "dbk_write" #bits);				\
	if (faulty()) {									\
		switch (roll() % 3) {							\
		case 0:		/* another register */					\
			off = (off + (1 + roll() % 16) * (bits / 8)) & 0xfffff;		\
			break;								\
		case 1:		/* a wrong value: a low bit, which matters most */	\
			v ^= (uint##bits##_t)1 << (roll() % 8);				\
			break;								\
		default:	/* lost: an acknowledgement never written */		\
			return 0;							\
		}									\
	}										\
	return real(dev, bar, off, v);							\
}
WRAP_WRITE(8)
WRAP_WRITE(16)
WRAP_WRITE(32)
WRAP_WRITE(64)

uint64_t dbk_dma_buf_get_iova(const struct dbk_dma_buf *buf)
{
	static uint64_t (*real)(const struct dbk_dma_buf *);
	uint64_t iova;

	if (!real)
		real = dlsym(RTLD_NEXT, "dbk_dma_buf_get_iova");
	iova = real(buf);
	/* A DMA address off by pages, or someone else's. */
	return faulty() ? iova + ((uint64_t)(roll() % 32) - 16) * 4096 : iova;
}

int dbk_irq_unmask(struct dbk_dev *dev)
{
	static int (*real)(struct dbk_dev *);

	if (!real)
		real = dlsym(RTLD_NEXT, "dbk_irq_unmask");
	return faulty() ? 0 : real(dev);
}
