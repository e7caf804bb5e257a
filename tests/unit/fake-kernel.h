/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A fake devbroker grant for libdev's unit tests: a memfd stands for the
 * grant fd (its file offsets encode regions exactly as the real one's, so
 * pread/pwrite/mmap work on it), and fake_sys answers the ioctls the way
 * <linux/devbroker.h> specifies, recording what it was asked.
 */
#ifndef FAKE_KERNEL_H
#define FAKE_KERNEL_H

#include <stdbool.h>
#include <stdint.h>

#include "libdev-private.h"

#define FAKE_MAX_AREAS 4

struct fake {
	int fd;				/* the memfd */
	bool is_device_fd;		/* DBK_DEVICE_INFO_F_GRANT not set */
	uint32_t num_regions;
	uint64_t bar_size[6];
	uint32_t bar_flags[6];
	struct dbk_area areas[6][FAKE_MAX_AREAS];
	uint32_t nr_areas[6];
	uint64_t cfg_size;
	uint32_t grant_flags, bar_mask, mmap_mask;
	int fail_errno;			/* nonzero: every call fails with it */
	/* records */
	unsigned int npread, npwrite, nioctl;
	uint64_t last_rw_off;
	size_t last_rw_len;
	struct dbk_irq_set last_irq_set;
	int irq_fds[64];
	uint32_t irq_enabled_index, irq_enabled_count;
	uint64_t last_alloc_size;
	unsigned int nr_allocs;
	struct dbk_dma_unmap last_unmap;
	struct dbk_dma_map last_map;
};

extern struct fake fk;
extern const struct dbk_sys fake_sys;

/* An edu-like device: BAR0 16 KiB with [0x1000, 0x3000) mmap()able. */
void fake_init(void);
void fake_fini(void);
/* Signal vector @i of the enabled interrupt, as the kernel would. */
void fake_fire(unsigned int i);

#endif
